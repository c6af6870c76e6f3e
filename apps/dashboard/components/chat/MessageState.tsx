"use client";

import type { StoredMessage } from "@postbox/client/browser";
import { useState } from "react";
import { useChat, useRuntime } from "../../lib/chat/hooks";
import { type Delivery, deliveredText, mailboxLabel } from "../../lib/chat/words";

/**
 * Where a sent message is: sending → stored (by which mailboxes: their signed receipts) →
 * delivered (the recipient's acknowledgement; in a group, how many members have it), or not stored,
 * with Retry.
 */
export function MessageState({
  message,
  delivery,
  group,
}: {
  message: StoredMessage | undefined;
  delivery: Delivery;
  group: boolean;
}) {
  const state = useChat();
  const rt = useRuntime();
  const [retrying, setRetrying] = useState(false);
  const names = new Map(state.mailboxes.map((m) => [m.id, m.name]));
  const storedBy = delivery.storedBy.map((id) => mailboxLabel(id, names)).join(", ");
  const until = delivery.retainUntil ? new Date(delivery.retainUntil).toLocaleDateString() : undefined;
  return (
    <span className={`chat-state ${delivery.state}`} data-testid="message-state" data-state={delivery.state}>
      {delivery.state === "sending" ? (
        "sending…"
      ) : delivery.state === "not-stored" ? (
        <>
          <span title={delivery.error}>
            not stored{delivery.error ? `: ${delivery.error}` : " (no mailbox confirmed it)"}
          </span>{" "}
          {message ? (
            <button
              type="button"
              className="link"
              data-testid="retry"
              disabled={retrying}
              onClick={() => {
                setRetrying(true);
                void rt.retry(message).finally(() => setRetrying(false));
              }}
            >
              Retry
            </button>
          ) : null}
        </>
      ) : (
        <>
          {delivery.state === "delivered" ? (
            <span
              data-testid="delivered-count"
              data-count={delivery.deliveredTo.length}
              data-members={delivery.members}
            >
              ✓✓ {deliveredText(delivery.deliveredTo.length, delivery.members, group)}
            </span>
          ) : (
            "✓ stored"
          )}
          {storedBy ? (
            <span className="muted" title={until ? `kept until ${until}` : undefined}>
              {delivery.state === "delivered" ? " · stored by " : " by "}
              <span data-testid="stored-by">{storedBy}</span>
            </span>
          ) : null}
        </>
      )}
    </span>
  );
}
