"use client";

import type { MailboxCandidate } from "@postbox/client/browser";
import { formatSnt, PRICE_REFERENCE_LABEL, PRICE_REFERENCE_PAGE, pageCost } from "@postbox/protocol";
import Link from "next/link";
import { useEffect, useState } from "react";
import { useAction } from "../../lib/chat/action";
import { useChat, useRuntime } from "../../lib/chat/hooks";
import type { MailboxLive } from "../../lib/chat/runtime";
import { agoText } from "../../lib/chat/words";
import { shortAddress } from "../../lib/format";

const exact = { digits: 18 } as const;
const clock = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

/** A mailbox's state in words, and its tone. */
export function mailboxState(
  m: Pick<MailboxCandidate, "reachable" | "unreachableReason" | "graylisted" | "graylistedUntil">,
  live: MailboxLive | undefined,
): { text: string; tone: "good" | "fair" | "poor" | "muted" } {
  if (!m.reachable)
    return { text: `unreachable from a browser: ${m.unreachableReason ?? "no address"}`, tone: "poor" };
  if (m.graylisted)
    return { text: `graylisted until ${clock(m.graylistedUntil)} (failed twice in a row)`, tone: "poor" };
  if (live?.state === "unreachable")
    return { text: `unreachable: ${live.error ?? "no answer"}`, tone: "poor" };
  if (live?.state === "connected")
    return {
      text: `connected${live.rttMs !== undefined ? ` · ${Math.round(live.rttMs)} ms` : ""}`,
      tone: "good",
    };
  return { text: "not used yet", tone: "muted" };
}

/**
 * The mailboxes the chat can use: each one's state (connected with its round trip, unreachable,
 * graylisted until …), last successful query, price, score and chance of being picked; pin one, or
 * read from k at once; and every failover as it happened.
 */
export function MailboxesPanel() {
  const state = useChat();
  const rt = useRuntime();
  const [now, setNow] = useState(() => Date.now());
  const { busy, error, run } = useAction();
  useEffect(() => {
    void rt.refreshMailboxes();
    const t = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(t);
  }, [rt]);
  const act = (fn: () => Promise<void>) => void run(fn);
  const pinned = state.mailboxes.find((m) => m.pinned);
  const { k } = state.settings;

  return (
    <div className="chat-mailboxes">
      <p className="muted">
        {pinned
          ? `Pinned: the chat always uses ${pinned.name ?? shortAddress(pinned.id)}${k > 1 ? `, and draws ${k - 1} more by score` : ""}.`
          : `The chat picks ${k === 1 ? "a mailbox" : `${k} mailboxes`} for each catch-up by score (docs: methodology), among the best quarter: the chance of each is shown. Pin one to always use it.`}{" "}
        Prices are {PRICE_REFERENCE_LABEL}.
      </p>
      <div className="row chat-k">
        <div className="field">
          <label htmlFor="chat-k">Read and send through</label>
          <select
            id="chat-k"
            value={k}
            disabled={busy}
            onChange={(e) => act(() => rt.setSettings({ k: Number(e.target.value) }))}
          >
            {[1, 2, 3].map((n) => (
              <option key={n} value={n}>
                {n === 1 ? "1 mailbox" : `${n} mailboxes at once (compares them: gaps are caught)`}
              </option>
            ))}
          </select>
        </div>
        {pinned ? (
          <button type="button" disabled={busy} onClick={() => act(() => rt.unpin())}>
            Unpin {pinned.name ?? shortAddress(pinned.id)}
          </button>
        ) : null}
      </div>
      {state.mailboxesError ? (
        <p className="error">Cannot list the mailboxes: {state.mailboxesError}</p>
      ) : null}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {state.mailboxes.length === 0 ? (
        <p className="muted">Reading the registry…</p>
      ) : (
        <div className="table-wrap">
          <table className="cards" data-testid="chat-mailboxes">
            <thead>
              <tr>
                <th>Mailbox</th>
                <th>State</th>
                <th>Last query</th>
                <th>Price {PRICE_REFERENCE_LABEL}</th>
                <th>Score</th>
                <th>Chance</th>
                <th>Choice</th>
              </tr>
            </thead>
            <tbody>
              {state.mailboxes.map((m) => {
                const s = mailboxState(m, state.live[m.id]);
                const address = s.tone === "good" ? rt.connectedAddress(m) : undefined;
                return (
                  <tr
                    key={m.id}
                    data-testid="mailbox-row"
                    data-mailbox={m.id}
                    data-pinned={m.pinned ? "true" : undefined}
                  >
                    <td data-label="Mailbox" className="title-cell">
                      {m.operator ? (
                        <Link href={`/mailbox/${m.id}`}>{m.name ?? shortAddress(m.id)}</Link>
                      ) : (
                        (m.name ?? shortAddress(m.id))
                      )}
                      {m.pinned ? <span className="badge good"> pinned</span> : null}
                    </td>
                    <td data-label="State" className={s.tone} data-testid="mailbox-state">
                      {s.text}
                      {address ? (
                        <div className="muted small address" data-testid="mailbox-address">
                          {address}
                        </div>
                      ) : null}
                    </td>
                    <td data-label="Last query">{agoText(m.lastOkAt, now)}</td>
                    <td data-label={`Price ${PRICE_REFERENCE_LABEL}`}>
                      {m.paid ? formatSnt(pageCost(m.price, PRICE_REFERENCE_PAGE), exact) : "free"}
                    </td>
                    <td data-label="Score">{m.score.toFixed(3)}</td>
                    <td data-label="Chance" data-testid="mailbox-chance">
                      {`${Math.round(m.chance * 100)} %`}
                    </td>
                    <td data-label="Choice" className="actions">
                      {m.pinned ? (
                        <button type="button" disabled={busy} onClick={() => act(() => rt.unpin())}>
                          Unpin
                        </button>
                      ) : (
                        <button
                          type="button"
                          disabled={busy || !m.reachable}
                          data-testid="pin"
                          onClick={() => act(() => rt.pin(m.id))}
                        >
                          Pin
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <h2>Failovers</h2>
      {state.failovers.length === 0 ? (
        <p className="muted">None since this page opened.</p>
      ) : (
        <ol className="events" data-testid="failover-log">
          {[...state.failovers].reverse().map((f) => (
            <li key={f.id} title={f.reason}>
              <time className="muted">{clock(f.at)}</time> {f.text}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
