"use client";

import { formatSnt, PRICE_REFERENCE_LABEL } from "@postbox/protocol";
import Link from "next/link";
import { useState } from "react";
import { UseMailboxButton } from "../components/chat/UseMailboxButton";
import { Field } from "../components/Field";
import { NetworkOverview } from "../components/NetworkOverview";
import { Sparkline } from "../components/Sparkline";
import { checkAmount, checkPercent } from "../lib/amount";
import { figuresOf, scoreLabel } from "../lib/figures";
import { countdown, formatAge, formatMs, shortAddress } from "../lib/format";
import { arrange, exact, referencePagePrice, type SortKey } from "../lib/mailboxes";
import { disputesOf, metadataOf, useMailboxes } from "../lib/prober";

const PRICE_HEADER = `Price ${PRICE_REFERENCE_LABEL}`;

const COLUMNS: { key: SortKey | null; label: string }[] = [
  { key: null, label: "Mailbox" },
  { key: "stake", label: "Stake" },
  { key: "price", label: PRICE_HEADER },
  { key: "uptime24h", label: "Up 24 h" },
  { key: null, label: "Up 7 d" },
  { key: "latency", label: "Latency" },
  { key: "completeness", label: "Canaries" },
  { key: "score", label: "Score" },
  { key: "age", label: "Age" },
  { key: null, label: "24 h" },
];

export default function MailboxesPage() {
  const { data, error, isPending } = useMailboxes();
  const [sort, setSort] = useState<SortKey>("score");
  const [maxPrice, setMaxPrice] = useState("");
  const [minUptime, setMinUptime] = useState("");
  const now = Math.floor(Date.now() / 1000);

  const price = maxPrice.trim() === "" ? undefined : checkAmount(maxPrice);
  const uptime = checkPercent(minUptime);
  const rows = data
    ? arrange(data.mailboxes, sort, {
        maxPagePrice: price?.ok ? price.value : undefined,
        minUptime: uptime.ok ? uptime.value : undefined,
      })
    : [];

  return (
    <>
      <h1>Mailboxes</h1>
      <NetworkOverview />
      <p className="muted">
        Every registered mailbox, measured by the prober: uptime, latency and canaries it stored and returned,
        each with the number of samples behind it. Prices are {PRICE_REFERENCE_LABEL}, as the CLI's{" "}
        <code>--max-page-cost</code>.
      </p>
      <div className="filters">
        <Field
          label={`Max SNT ${PRICE_REFERENCE_LABEL}`}
          name="maxPrice"
          inputMode="decimal"
          value={maxPrice}
          onChange={setMaxPrice}
          placeholder="any"
          error={price && !price.ok ? price.message : undefined}
        />
        <Field
          label="Min uptime 24 h (%)"
          name="minUptime"
          inputMode="decimal"
          value={minUptime}
          onChange={setMinUptime}
          placeholder="any"
          error={uptime.ok ? undefined : uptime.message}
        />
        <div className="field">
          <label htmlFor="sort">Sort by</label>
          <select id="sort" value={sort} onChange={(e) => setSort(e.target.value as SortKey)}>
            {COLUMNS.filter((c) => c.key).map((c) => (
              <option key={c.key} value={c.key!}>
                {c.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      {error ? (
        <p className="error">Cannot reach the prober: {error.message}</p>
      ) : isPending ? (
        <p className="muted">Loading measurements…</p>
      ) : rows.length === 0 ? (
        <p className="notice">
          No mailbox matches{data?.mailboxes.length ? " these filters" : " yet: none is registered"}.
        </p>
      ) : (
        <div className="table-wrap">
          <table data-testid="mailboxes" className="cards">
            <thead>
              <tr>
                {COLUMNS.map((c) => (
                  <th key={c.label} aria-sort={c.key && sort === c.key ? "descending" : undefined}>
                    {c.key ? (
                      <button type="button" onClick={() => setSort(c.key!)} aria-pressed={sort === c.key}>
                        {c.label}
                        {sort === c.key ? " ▾" : ""}
                      </button>
                    ) : (
                      c.label
                    )}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((m) => {
                const score = scoreLabel(m);
                const f = figuresOf(m);
                const name = metadataOf(m)?.name;
                const upheld = disputesOf(m)?.upheld ?? 0;
                return (
                  <tr key={m.address} data-address={m.address}>
                    <td data-label="Mailbox" className="title-cell">
                      <Link href={`/mailbox/${m.address}`}>{name ?? shortAddress(m.address)}</Link>
                      {name ? <div className="muted small">{shortAddress(m.address)}</div> : null}
                      {upheld > 0 ? (
                        <div>
                          <span
                            className="badge poor"
                            data-testid="upheld-disputes"
                            title="Disputes upheld on-chain: it lost or withheld messages it had signed for. Each lowers its score (see How the score is computed)."
                          >
                            {upheld} upheld dispute{upheld === 1 ? "" : "s"}
                          </span>
                        </div>
                      ) : null}
                      {m.status === 1 ? (
                        <UseMailboxButton address={m.address} name={name ?? shortAddress(m.address)} />
                      ) : null}
                    </td>
                    <td data-label="Stake">{formatSnt(m.stake, { digits: 0 })}</td>
                    <td data-label={PRICE_HEADER}>
                      {formatSnt(referencePagePrice(m), exact)}
                      {m.pendingPrice ? (
                        <div className="fair" data-testid="pending-price">
                          → {formatSnt(referencePagePrice(m.pendingPrice), exact)}{" "}
                          {countdown(m.pendingPrice.effectiveAt, now)}
                        </div>
                      ) : null}
                    </td>
                    <td data-label="Up 24 h" data-testid="uptime24h" className="figure">
                      {f.uptime24h}
                    </td>
                    <td data-label="Up 7 d" className="figure">
                      {f.uptime7d}
                    </td>
                    <td data-label="Latency">{formatMs(m.latencyP50Ms)}</td>
                    <td data-label="Canaries" data-testid="canaries" className="figure">
                      {f.canaries}
                    </td>
                    <td data-label="Score" className={score.tone} data-testid="score" title={score.title}>
                      {score.text}
                    </td>
                    <td data-label="Age">{formatAge(m.registeredAt, now)}</td>
                    <td data-label="24 h">
                      <Sparkline points={m.sparkline} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
