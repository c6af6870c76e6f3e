"use client";

import { mailboxRegistryAbi } from "@postbox/contracts";
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
import { settings } from "../../../lib/env";
import { figuresOf, scoreLabel } from "../../../lib/figures";
import { countdown, formatMs, formatTime } from "../../../lib/format";
import { bucket } from "../../../lib/history";
import { priceText } from "../../../lib/mailboxes";
import { infoOf, metadataErrorOf, metadataOf, safeHref, useMailboxes, useSamples } from "../../../lib/prober";

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
                    <td>{m.factors[k].toFixed(3)}</td>
                    <td className="muted">^ {DEFAULT_SCORE_WEIGHTS[k]}</td>
                  </tr>
                ))}
              </tbody>
            </table>
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
