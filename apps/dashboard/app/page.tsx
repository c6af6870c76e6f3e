"use client";

import Link from "next/link";
import { useState } from "react";
import { parseEther } from "viem";
import { Sparkline } from "../components/Sparkline";
import {
  countdown,
  formatAge,
  formatMs,
  formatPct,
  formatSnt,
  scoreLabel,
  shortAddress,
} from "../lib/format";
import { arrange, referencePagePrice, type SortKey } from "../lib/mailboxes";
import { useMailboxes } from "../lib/prober";

const COLUMNS: { key: SortKey | null; label: string }[] = [
  { key: null, label: "Mailbox" },
  { key: "stake", label: "Stake" },
  { key: "price", label: "SNT / 50 msgs" },
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

  let maxPagePrice: bigint | undefined;
  try {
    maxPagePrice = maxPrice ? parseEther(maxPrice) : undefined;
  } catch {
    maxPagePrice = undefined;
  }
  const rows = data
    ? arrange(data.mailboxes, sort, {
        maxPagePrice,
        minUptime: minUptime ? Number(minUptime) / 100 : undefined,
      })
    : [];

  return (
    <>
      <h1>Mailboxes</h1>
      <p className="muted">
        Every registered mailbox, measured by the prober: uptime, latency and canaries it stored and returned.
        Click a column to sort.
      </p>
      <div className="filters">
        <label>
          Max SNT per 50 messages
          <input
            inputMode="decimal"
            value={maxPrice}
            onChange={(e) => setMaxPrice(e.target.value)}
            placeholder="any"
          />
        </label>
        <label>
          Min uptime 24 h (%)
          <input
            inputMode="numeric"
            value={minUptime}
            onChange={(e) => setMinUptime(e.target.value)}
            placeholder="any"
          />
        </label>
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
          <table data-testid="mailboxes">
            <thead>
              <tr>
                {COLUMNS.map((c) => (
                  <th key={c.label}>
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
                const score = scoreLabel(m.score);
                return (
                  <tr key={m.address} data-address={m.address}>
                    <td>
                      <Link href={`/mailbox/${m.address}`}>{shortAddress(m.address)}</Link>
                    </td>
                    <td>{formatSnt(m.stake, 0)}</td>
                    <td>
                      {formatSnt(referencePagePrice(m))}
                      {m.pendingPrice ? (
                        <div className="fair" data-testid="pending-price">
                          → {formatSnt(referencePagePrice(m.pendingPrice))}{" "}
                          {countdown(m.pendingPrice.effectiveAt, now)}
                        </div>
                      ) : null}
                    </td>
                    <td data-testid="uptime24h">{formatPct(m.uptime24h)}</td>
                    <td>{formatPct(m.uptime7d)}</td>
                    <td>{formatMs(m.latencyP50Ms)}</td>
                    <td>
                      {formatPct(m.completeness)}
                      <span className="muted">
                        {" "}
                        ({m.canariesFound}/{m.canariesExpected})
                      </span>
                    </td>
                    <td className={score.tone} data-testid="score">
                      {score.text}
                    </td>
                    <td>{formatAge(m.registeredAt, now)}</td>
                    <td>
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
