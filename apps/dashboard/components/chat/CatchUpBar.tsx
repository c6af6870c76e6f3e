"use client";

import { useChat, useRuntime } from "../../lib/chat/hooks";
import { feedName, mailboxLabel, progressText } from "../../lib/chat/words";

/**
 * What the chat is doing to bring you up to date: each followed feed's catch-up with its progress
 * ("3,400 of ≈ 10,000"), then how many new messages arrived, or why it stopped.
 */
export function CatchUpBar() {
  const state = useChat();
  const rt = useRuntime();
  const { catchUp } = state;
  const contacts = new Map(state.contacts.map((c) => [c.publicKey, c.name]));
  const groups = new Map(Object.entries(state.groupNames));
  const names = new Map(state.mailboxes.map((m) => [m.id, m.name]));

  if (catchUp.running) {
    return (
      <div className="chat-catchup" aria-live="polite">
        {catchUp.feeds.length === 0 ? (
          <p className="muted" data-testid="catchup-starting">
            Asking the mailboxes for what you missed…
          </p>
        ) : (
          catchUp.feeds.map((p) => (
            <div key={p.feed} className="chat-progress" data-testid="catchup-progress" data-feed={p.feed}>
              <span>
                Catching up {feedName(p.feed, contacts, groups)} from {mailboxLabel(p.mailbox, names)}:{" "}
                <strong data-testid="catchup-count">{progressText(p)}</strong>
              </span>
              <progress value={p.envelopes} max={Math.max(1, p.estimatedTotal, p.envelopes)} />
            </div>
          ))
        )}
      </div>
    );
  }
  if (catchUp.error) {
    const noWallet = /no wallet is configured/.test(catchUp.error);
    return (
      <div className="error chat-catchup" role="alert" data-testid="catchup-error" data-run={catchUp.run}>
        <span>
          {noWallet
            ? "Connect a wallet (top right) to pay the mailboxes for what you missed: the chat opens a channel to each from it."
            : `Could not catch up: ${catchUp.error}`}
        </span>{" "}
        <button type="button" onClick={() => void rt.catchUp()}>
          Try again
        </button>
      </div>
    );
  }
  if (catchUp.finishedAt && catchUp.results) {
    const added = catchUp.results.reduce((a, r) => a + r.added, 0);
    const busy = catchUp.results.filter((r) => r.added > 0);
    const served = [...new Set(catchUp.results.flatMap((r) => r.served))].map((id) =>
      mailboxLabel(id, names),
    );
    const seconds = ((catchUp.finishedAt - (catchUp.startedAt ?? catchUp.finishedAt)) / 1000).toFixed(1);
    return (
      <p className="muted chat-catchup" data-testid="catchup-done" data-run={catchUp.run}>
        Up to date: {added === 0 ? "nothing new" : `${added.toLocaleString("en-US")} new`}
        {busy.length > 0
          ? ` (${busy.map((r) => `${feedName(r.feed, contacts, groups)} ${r.added.toLocaleString("en-US")}`).join(", ")})`
          : ""}
        {served.length > 0 ? ` from ${served.join(", ")}` : ""} in {seconds} s.{" "}
        <button type="button" className="link" onClick={() => void rt.catchUp()}>
          Check again
        </button>
      </p>
    );
  }
  return (
    <p className="muted chat-catchup" data-testid="catchup-starting">
      Connecting to the mailboxes…
    </p>
  );
}
