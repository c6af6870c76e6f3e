"use client";

import Link from "next/link";
import type { ReactNode } from "react";
import type { Hex } from "viem";
import type { HistoryEntry } from "../lib/chain";
import { settings } from "../lib/env";

/** Where a transaction is shown: the block explorer when one is set, else the dashboard's /tx page. */
export function txHref(hash: Hex): string {
  return settings.explorerUrl ? `${settings.explorerUrl}/tx/${hash}` : `/tx/${hash}`;
}

/** A link to a transaction (the explorer in a new tab, or the dashboard's own receipt page). */
export function TxLink({ hash, children }: { hash: Hex; children: ReactNode }) {
  const href = txHref(hash);
  return settings.explorerUrl ? (
    <a href={href} target="_blank" rel="noreferrer noopener">
      {children}
    </a>
  ) : (
    <Link href={href}>{children}</Link>
  );
}

/** Contract events in words, as given (newest first), each with its block and its transaction. */
export function EventList({ events, testId }: { events: readonly HistoryEntry[]; testId: string }) {
  return (
    <ol className="events" data-testid={testId}>
      {events.map((h) => (
        <li key={`${h.tx}-${h.logIndex}`} data-event={h.event}>
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
  );
}
