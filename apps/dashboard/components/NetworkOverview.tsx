"use client";

import { formatSnt } from "@postbox/protocol";
import { useNetworkOverview } from "../lib/chain";

/** The network at a glance, read from the chain: stake, mailboxes, SNT redeemed in 24 h. */
export function NetworkOverview() {
  const { data, error } = useNetworkOverview();
  if (error) return <p className="error">Cannot read the chain: {error.message.split("\n")[0]}</p>;
  const value = (x: string | undefined, testid: string) => <strong data-testid={testid}>{x ?? "…"}</strong>;
  const others = data
    ? [data.exiting ? `${data.exiting} exiting` : "", data.jailed ? `${data.jailed} jailed` : ""].filter(
        Boolean,
      )
    : [];
  return (
    <section className="overview" aria-label="Network overview">
      <div>
        <span className="muted">Total stake</span>
        {value(data ? formatSnt(data.totalStake, { digits: 0 }) : undefined, "total-stake")}
      </div>
      <div>
        <span className="muted">Active mailboxes</span>
        {value(data ? String(data.active) : undefined, "active-mailboxes")}
        {others.length ? <span className="muted small">{others.join(", ")}</span> : null}
      </div>
      <div>
        <span className="muted">Redeemed, last 24 h</span>
        {value(data ? formatSnt(data.redeemed24h) : undefined, "redeemed-24h")}
        {data ? (
          <span className="muted small">
            {data.payments24h} redemption{data.payments24h === 1 ? "" : "s"}
          </span>
        ) : null}
      </div>
    </section>
  );
}
