"use client";

import { DEFAULT_SCORE_WEIGHTS } from "@postbox/protocol";
import Link from "next/link";
import { useParams } from "next/navigation";
import { useMemo } from "react";
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { Address } from "viem";
import { formatMs, formatPct, formatSnt, scoreLabel } from "../../../lib/format";
import { bucket, useRegistryHistory } from "../../../lib/history";
import { referencePagePrice } from "../../../lib/mailboxes";
import { useMailboxes, useSamples } from "../../../lib/prober";

const time = (ms: number) => new Date(ms).toISOString().slice(11, 16);

export default function MailboxPage() {
  const { address } = useParams<{ address: string }>();
  const id = address.toLowerCase();
  const { data, error } = useMailboxes();
  const from = useMemo(() => Date.now() - 24 * 3_600_000, []);
  const samples = useSamples(id, from);
  const history = useRegistryHistory(id as Address);
  const m = data?.mailboxes.find((x) => x.address === id);
  const probes = (samples.data?.samples ?? []).filter((s) => s.kind === "probe");
  const series = bucket(probes, 10 * 60_000);

  if (error) return <p className="error">Cannot reach the prober: {error.message}</p>;
  if (!data) return <p className="muted">Loading…</p>;
  if (!m)
    return (
      <p className="notice">
        No mailbox {address} in the registry. <Link href="/">All mailboxes</Link>
      </p>
    );
  const score = scoreLabel(m.score);
  return (
    <>
      <h1>Mailbox {m.address}</h1>
      <p className="muted">
        peer {m.peerId} · {m.multiaddrs.join(" · ")}
      </p>
      <div className="grid">
        <div className="card">
          <h2>Score</h2>
          <p className={score.tone} data-testid="detail-score">
            {score.text}
          </p>
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
          <p>
            Uptime {formatPct(m.uptime24h)} (24 h) · {formatPct(m.uptime7d)} (7 d) · {formatPct(m.uptime30d)}{" "}
            (30 d)
          </p>
          <p>
            Latency p50 {formatMs(m.latencyP50Ms)} · p90 {formatMs(m.latencyP90Ms)}
          </p>
          <p>
            Canaries {m.canariesFound}/{m.canariesExpected} ({formatPct(m.completeness)})
          </p>
          <p>
            {formatSnt(referencePagePrice(m))} SNT per 50 messages · stake {formatSnt(m.stake, 0)} SNT
          </p>
        </div>
      </div>
      <div className="card">
        <h2>Uptime, last 24 h (per 10 min)</h2>
        <ResponsiveContainer width="100%" height={180}>
          <LineChart data={series}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="at" tickFormatter={time} />
            <YAxis domain={[0, 1]} tickFormatter={(v: number) => `${v * 100}%`} />
            <Tooltip labelFormatter={(v) => time(Number(v))} />
            <Line dataKey="uptime" stroke="#1a7f37" dot={false} isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      </div>
      <div className="card">
        <h2>Latency (median per 10 min, ms)</h2>
        <ResponsiveContainer width="100%" height={180}>
          <LineChart data={series.filter((s) => s.latencyMs !== null)}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="at" tickFormatter={time} />
            <YAxis />
            <Tooltip labelFormatter={(v) => time(Number(v))} />
            <Line dataKey="latencyMs" stroke="#1f6feb" dot={false} isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      </div>
      <div className="card">
        <h2>Price and stake history</h2>
        {history.error ? (
          <p className="error">Cannot read the registry: {history.error.message.split("\n")[0]}</p>
        ) : !history.data ? (
          <p className="muted">Loading…</p>
        ) : (
          <div className="table-wrap">
            <table data-testid="history">
              <thead>
                <tr>
                  <th>Block</th>
                  <th>Event</th>
                  <th>Details</th>
                </tr>
              </thead>
              <tbody>
                {history.data.map((h) => (
                  <tr key={`${h.block}-${h.event}-${JSON.stringify(h.detail)}`}>
                    <td>{h.block.toString()}</td>
                    <td>{h.event}</td>
                    <td className="muted">
                      {Object.entries(h.detail)
                        .map(([k, v]) => `${k}: ${v}`)
                        .join(" · ")}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </>
  );
}
