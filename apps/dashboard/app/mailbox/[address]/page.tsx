"use client";

import { type MailboxDispute, mailboxRegistryAbi } from "@postbox/contracts";
import type { MailboxMetadata } from "@postbox/protocol";
import { DEFAULT_SCORE_WEIGHTS, formatDuration, formatSnt } from "@postbox/protocol";
import Link from "next/link";
import { useParams } from "next/navigation";
import { useMemo } from "react";
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { type Address, isAddress } from "viem";
import { useReadContract } from "wagmi";
import { UseMailboxButton } from "../../../components/chat/UseMailboxButton";
import { StatusBadge } from "../../../components/StatusBadge";
import { TxLink } from "../../../components/TxLink";
import { useMailboxChain } from "../../../lib/chain";
import { useChainTime } from "../../../lib/chain-time";
import { type MailboxSlash, useMailboxDisputes } from "../../../lib/disputes";
import { settings } from "../../../lib/env";
import { figuresOf, scoreLabel } from "../../../lib/figures";
import { countdown, formatMs, formatTime, shortAddress } from "../../../lib/format";
import { bucket } from "../../../lib/history";
import { priceText } from "../../../lib/mailboxes";
import {
  disputesOf,
  infoOf,
  metadataErrorOf,
  metadataOf,
  safeHref,
  useMailboxes,
  useSamples,
} from "../../../lib/prober";

const time = (ms: number) => new Date(ms).toISOString().slice(11, 16);

/** Text an operator wrote: a link only when it is an https: or mailto: address. */
function OperatorText({ value }: { value: string }) {
  const href = safeHref(value);
  return href ? (
    <a
      href={href}
      rel="noreferrer noopener nofollow"
      target={href.startsWith("https:") ? "_blank" : undefined}
    >
      {value}
    </a>
  ) : (
    <span>{value}</span>
  );
}

function About({ meta, error }: { meta: MailboxMetadata | undefined; error: string | undefined }) {
  const icon = meta?.icon && safeHref(meta.icon)?.startsWith("https:") ? meta.icon : undefined;
  return (
    <div className="card" data-testid="about">
      <h2>About</h2>
      {!meta ? (
        <p className="muted">
          {error
            ? `Its metadata could not be read: ${error}`
            : "The operator has published no name, contact or terms (its registry entry has no metadata URI)."}
        </p>
      ) : (
        <dl className="facts">
          {icon ? (
            <>
              <dt>Icon</dt>
              <dd>
                {/* biome-ignore lint/performance/noImgElement: an operator's icon, from any https host */}
                <img src={icon} alt="" width={40} height={40} referrerPolicy="no-referrer" />
              </dd>
            </>
          ) : null}
          {meta.description ? (
            <>
              <dt>Description</dt>
              <dd>{meta.description}</dd>
            </>
          ) : null}
          {meta.contact ? (
            <>
              <dt>Contact</dt>
              <dd>
                <OperatorText value={meta.contact} />
              </dd>
            </>
          ) : null}
          {meta.terms ? (
            <>
              <dt>Terms</dt>
              <dd>
                <OperatorText value={meta.terms} />
              </dd>
            </>
          ) : null}
        </dl>
      )}
    </div>
  );
}

const KIND = { custody: "Custody dispute", omission: "Omission proved" } as const;

/** Where a dispute stands, in words (chain time `now`, seconds). */
function disputeState(d: MailboxDispute, now: number | undefined): string {
  if (d.state === "answered")
    return "answered: the mailbox showed the envelope, the bond went to its operator";
  if (d.state === "upheld")
    return d.kind === "omission"
      ? "upheld: its own page commitment left out an envelope it had receipted"
      : "upheld: not answered within the window";
  const deadline = Number(d.deadline ?? 0n);
  if (now !== undefined && now > deadline) return "open: the window has passed, anyone can finalise it";
  return `open: the mailbox has ${now === undefined ? "until the deadline" : countdown(deadline, now)} to answer`;
}

/** A dispute's facts in one line: challenger, envelope, bond, deadline, slashed, jail term. */
function disputeFacts(d: MailboxDispute): string[] {
  const facts = [
    `id ${shortAddress(d.id)}`,
    `${d.kind === "omission" ? "proved" : "opened"} by ${shortAddress(d.challenger)}`,
    d.envelopeId ? `envelope ${shortAddress(d.envelopeId)}` : "envelope: in the contract's record",
    d.kind === "custody" ? `bond ${formatSnt(d.bond)}` : "no bond",
  ];
  if (d.deadline !== null) facts.push(`deadline ${formatTime(d.deadline)}`);
  if (d.state === "upheld") {
    facts.push(
      d.slashed > 0n
        ? `slashed ${formatSnt(d.slashed)}`
        : "nothing slashed (the period's allowance was used up)",
    );
    facts.push(d.jailedUntil > 0n ? `jailed until ${formatTime(d.jailedUntil)}` : "not jailed");
  }
  return facts;
}

/** The mailbox's disputes and the slashes of its stake, from the chain. */
function Disputes({ operator, now }: { operator: Address; now: number | undefined }) {
  const q = useMailboxDisputes(operator);
  if (q.error)
    return (
      <div className="card">
        <h2>Disputes</h2>
        <p className="error">Cannot read the disputes: {q.error.message.split("\n")[0]}</p>
      </div>
    );
  if (!q.data)
    return (
      <div className="card">
        <h2>Disputes</h2>
        <p className="muted">Loading…</p>
      </div>
    );
  const { disputes, slashes, contract } = q.data;
  const count = (state: MailboxDispute["state"]) => disputes.filter((d) => d.state === state).length;
  return (
    <div className="card" data-testid="disputes-card">
      <h2>Disputes</h2>
      {!contract ? (
        <p className="muted">
          This registry's slasher is not a Disputes contract: there are no disputes to list.
        </p>
      ) : (
        <p data-testid="disputes-summary">
          {disputes.length === 0
            ? "No dispute against this mailbox."
            : `${count("upheld")} upheld · ${count("answered")} answered · ${count("open")} open`}{" "}
          <span className="muted small">
            Anyone holding its receipt or page commitment can dispute on-chain; an upheld dispute slashes its
            stake and lowers its score.
          </span>
        </p>
      )}
      {disputes.length > 0 ? (
        <ol className="events" data-testid="disputes">
          {disputes.map((d) => (
            <li key={d.id} data-testid="dispute" data-state={d.state} data-kind={d.kind}>
              <div>
                <strong className={d.state === "upheld" ? "poor" : d.state === "answered" ? "good" : "fair"}>
                  {KIND[d.kind]}
                </strong>{" "}
                <span data-testid="dispute-state">{disputeState(d, now)}</span>
              </div>
              <div className="muted" data-testid="dispute-facts">
                {disputeFacts(d).join(" · ")}
              </div>
              <div className="muted small">
                block {d.openedBlock.toString()} ·{" "}
                <TxLink hash={d.openedTx}>{d.kind === "omission" ? "proof" : "opened"}</TxLink>
                {d.resolvedTx && d.resolvedTx !== d.openedTx ? (
                  <>
                    {" "}
                    · <TxLink hash={d.resolvedTx}>{d.state}</TxLink>
                  </>
                ) : null}
              </div>
            </li>
          ))}
        </ol>
      ) : null}
      <h3>Slashes</h3>
      {slashes.length === 0 ? (
        <p className="muted" data-testid="slashes-none">
          Its stake was never slashed.
        </p>
      ) : (
        <ol className="events" data-testid="slashes">
          {slashes.map((x: MailboxSlash) => (
            <li key={`${x.tx}-${x.disputeId}`}>
              <div>
                <strong>{formatSnt(x.amount)} slashed</strong>{" "}
                <span className="muted small">
                  block {x.block.toString()} · <TxLink hash={x.tx}>transaction</TxLink>
                </span>
              </div>
              <div className="muted">
                dispute {shortAddress(x.disputeId)} · {formatSnt(x.reward)} reward · {formatSnt(x.toTreasury)}{" "}
                to the treasury · stake now {formatSnt(x.stake)}
              </div>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

export default function MailboxPage() {
  const { address } = useParams<{ address: string }>();
  const id = address.toLowerCase();
  const valid = isAddress(id);
  const { data, error } = useMailboxes();
  const from = useMemo(() => Date.now() - 24 * 3_600_000, []);
  const samples = useSamples(id, from);
  const chain = useMailboxChain(valid ? (id as Address) : undefined);
  const now = useChainTime();
  const entry = useReadContract({
    address: settings.registry,
    abi: mailboxRegistryAbi,
    functionName: "getMailbox",
    args: valid ? [id as Address] : undefined,
    query: { enabled: valid, refetchInterval: 10_000 },
  });
  const m = data?.mailboxes.find((x) => x.address === id);
  const probes = (samples.data?.samples ?? []).filter((s) => s.kind === "probe");
  const series = bucket(probes, 10 * 60_000);

  if (!valid) return <p className="error">"{address}" is not an address.</p>;
  if (entry.error)
    return <p className="error">Cannot read the registry: {entry.error.message.split("\n")[0]}</p>;
  const e = entry.data;
  if (!e) return <p className="muted">Loading…</p>;
  if (e.status === 0)
    return (
      <p className="notice">
        No mailbox is registered by {address}. <Link href="/">All mailboxes</Link>
      </p>
    );
  const meta = m ? metadataOf(m) : undefined;
  const info = m ? infoOf(m) : undefined;
  const f = m ? figuresOf(m) : undefined;
  const score = m ? scoreLabel(m) : undefined;
  const counted = m ? disputesOf(m) : undefined;
  const pending = e.priceEffectiveAt !== 0n && (now === undefined || Number(e.priceEffectiveAt) > now);
  return (
    <>
      <h1>
        {meta?.name ?? "Mailbox"} <StatusBadge status={e.status} />
      </h1>
      <p className="address muted" data-testid="operator">
        operator {e.operator}
      </p>
      {e.status === 1 ? (
        <p>
          <Link className="button primary" href={`/channels?payee=${id}`} data-testid="open-channel-here">
            Open a channel to this mailbox
          </Link>{" "}
          <UseMailboxButton address={id} name={meta?.name ?? "this mailbox"} />
        </p>
      ) : null}
      {error ? <p className="error">Cannot reach the prober: {error.message}</p> : null}
      <div className="grid">
        <About meta={meta} error={m ? metadataErrorOf(m) : undefined} />
        <div className="card">
          <h2>Registry</h2>
          <dl className="facts" data-testid="registry">
            <dt>Status</dt>
            <dd data-testid="registry-status">
              <StatusBadge status={e.status} />
              {e.status === 2
                ? ` · stake withdrawable ${now === undefined ? "…" : countdown(Number(e.withdrawableAt), now)} (${formatTime(e.withdrawableAt)})`
                : ""}
            </dd>
            <dt>Stake</dt>
            <dd>{formatSnt(e.stake)}</dd>
            <dt>Price</dt>
            <dd>{priceText(e)}</dd>
            {pending ? (
              <>
                <dt>Announced</dt>
                <dd className="fair">
                  {priceText({
                    pricePerQuery: e.pendingPricePerQuery,
                    pricePerMessage: e.pendingPricePerMessage,
                  })}
                  , applies {now === undefined ? "…" : countdown(Number(e.priceEffectiveAt), now)}
                </dd>
              </>
            ) : null}
            <dt>Retention</dt>
            <dd>{formatDuration(Number(e.retention))}</dd>
            <dt>Registered</dt>
            <dd>{formatTime(e.registeredAt)}</dd>
            <dt>Peer id</dt>
            <dd className="address">{e.peerId}</dd>
            <dt>Multiaddrs</dt>
            <dd className="address">
              {e.multiaddrs.map((a) => (
                <div key={a}>{a}</div>
              ))}
            </dd>
          </dl>
        </div>
        <div className="card">
          <h2>Earnings</h2>
          {chain.error ? (
            <p className="error">Cannot read the channels: {chain.error.message.split("\n")[0]}</p>
          ) : !chain.data ? (
            <p className="muted">Loading…</p>
          ) : (
            <dl className="facts">
              <dt>Redeemed</dt>
              <dd data-testid="earned">{formatSnt(chain.data.earnings.redeemed)}</dd>
              <dt>Paying channels</dt>
              <dd data-testid="paying-channels">
                {chain.data.earnings.payingChannels} of {chain.data.earnings.channels} opened to it
              </dd>
            </dl>
          )}
        </div>
        <div className="card">
          <h2>Software</h2>
          {!info ? (
            <p className="muted">Not reported yet: the prober reads it with each probe.</p>
          ) : (
            <dl className="facts" data-testid="info">
              <dt>Version</dt>
              <dd>{info.version}</dd>
              <dt>Keeps messages</dt>
              <dd>{formatDuration(info.retentionSeconds)}</dd>
              <dt>Page size</dt>
              <dd>up to {info.maxPageSize} messages</dd>
              <dt>Topics per query</dt>
              <dd>up to {info.maxContentTopics}</dd>
              <dt>Envelope size</dt>
              <dd>up to {Math.floor(info.maxEnvelopeBytes / 1024)} KiB</dd>
              <dt>Archive</dt>
              <dd>{info.envelopes.toLocaleString("en-US")} envelopes</dd>
              <dt>Access</dt>
              <dd>{info.free ? "free (no payment asked)" : "paid through payment channels"}</dd>
              {info.chainId !== settings.chainId ? (
                <>
                  <dt>Chain</dt>
                  <dd className="poor">
                    it charges on chain {info.chainId}, not this one ({settings.chainId})
                  </dd>
                </>
              ) : null}
            </dl>
          )}
        </div>
      </div>
      {!m || !f || !score ? (
        <p className="notice">The prober has not measured this mailbox yet.</p>
      ) : (
        <div className="grid">
          <div className="card">
            <h2>Score</h2>
            <p className={score.tone} data-testid="detail-score" title={score.title}>
              {score.text}
            </p>
            <p className="muted small">{score.title}</p>
            <table>
              <tbody>
                {(Object.keys(m.factors) as (keyof typeof m.factors)[]).map((k) => (
                  <tr key={k}>
                    <td>{k}</td>
                    <td>{(m.factors[k] ?? 1).toFixed(3)}</td>
                    <td className="muted">^ {DEFAULT_SCORE_WEIGHTS[k]}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {counted && counted.upheld > 0 ? (
              <p className="poor small" data-testid="score-disputes">
                {counted.upheld} upheld dispute{counted.upheld === 1 ? "" : "s"}: disputes factor{" "}
                {(m.factors.disputes ?? 1).toFixed(3)}
                {counted.upheldAt.length < counted.upheld ? " (only those of the last year count)" : ""}
              </p>
            ) : null}
            <p className="muted">
              <Link href="/methodology">How the score is computed</Link>
            </p>
          </div>
          <div className="card">
            <h2>Figures</h2>
            <dl className="facts" data-testid="figures">
              <dt>Uptime 24 h</dt>
              <dd>{f.uptime24h}</dd>
              <dt>Uptime 7 d</dt>
              <dd>{f.uptime7d}</dd>
              <dt>Uptime 30 d</dt>
              <dd>{f.uptime30d}</dd>
              <dt>Latency</dt>
              <dd>
                p50 {formatMs(m.latencyP50Ms)} · p90 {formatMs(m.latencyP90Ms)}
              </dd>
              <dt>Canaries</dt>
              <dd>
                {f.canaries} ({m.canariesFound} of {m.canariesExpected} returned)
              </dd>
            </dl>
          </div>
        </div>
      )}
      <Disputes operator={id as Address} now={now} />
      <div className="card chart">
        <h2>Uptime, last 24 h (per 10 min)</h2>
        <ResponsiveContainer width="100%" height={180}>
          <LineChart data={series}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="at" tickFormatter={time} />
            <YAxis width={44} domain={[0, 1]} tickFormatter={(v: number) => `${v * 100}%`} />
            <Tooltip labelFormatter={(v) => time(Number(v))} />
            <Line dataKey="uptime" stroke="#1a7f37" dot={false} isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      </div>
      <div className="card chart">
        <h2>Latency (median per 10 min, ms)</h2>
        <ResponsiveContainer width="100%" height={180}>
          <LineChart data={series.filter((s) => s.latencyMs !== null)}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="at" tickFormatter={time} />
            <YAxis width={44} />
            <Tooltip labelFormatter={(v) => time(Number(v))} />
            <Line dataKey="latencyMs" stroke="#1f6feb" dot={false} isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      </div>
      <div className="card">
        <h2>Price and stake history</h2>
        {chain.error ? (
          <p className="error">Cannot read the registry: {chain.error.message.split("\n")[0]}</p>
        ) : !chain.data ? (
          <p className="muted">Loading…</p>
        ) : (
          <ol className="events" data-testid="history">
            {chain.data.history.map((h) => (
              <li key={`${h.tx}-${h.logIndex}`}>
                <div>
                  <strong>{h.title}</strong>{" "}
                  <span className="muted small">
                    block {h.block.toString()} · <TxLink hash={h.tx}>transaction</TxLink>
                  </span>
                </div>
                <div className="muted">{h.details.join(" · ")}</div>
              </li>
            ))}
          </ol>
        )}
      </div>
    </>
  );
}
