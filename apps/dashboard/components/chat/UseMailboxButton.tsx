"use client";

import Link from "next/link";
import { useEffect, useState } from "react";
import { useAction } from "../../lib/chat/action";
import { chatMailbox, onPinChange, pinChatMailbox, unpinChatMailbox } from "../../lib/chat/bridge";

/**
 * "Use this mailbox": pins a mailbox for this browser's chat (the mailbox chosen here is the one the
 * chat uses), or says the chat already uses it. Loads no SDK: the pin is one IndexedDB write.
 */
export function UseMailboxButton({ address, name }: { address: string; name: string }) {
  const id = address.toLowerCase();
  // undefined: not read yet; null: no pin.
  const [pinned, setPinned] = useState<string | null | undefined>(undefined);
  const { busy, error, run } = useAction();
  useEffect(() => {
    let live = true;
    const read = () =>
      chatMailbox().then(
        (p) => live && setPinned(p ?? null),
        () => live && setPinned(null),
      );
    void read();
    const off = onPinChange(() => void read());
    return () => {
      live = false;
      off();
    };
  }, []);
  const act = (fn: () => Promise<void>) =>
    run(async () => {
      await fn();
      setPinned((await chatMailbox().catch(() => undefined)) ?? null);
    });
  if (pinned === undefined) return null;
  return (
    <span className="use-mailbox">
      {pinned === id ? (
        <>
          <span className="badge good" data-testid="chat-uses-mailbox">
            <Link href="/chat">your chat uses it</Link>
          </span>{" "}
          <button type="button" className="link" disabled={busy} onClick={() => void act(unpinChatMailbox)}>
            Stop using
          </button>
        </>
      ) : (
        <button
          type="button"
          data-testid="use-mailbox"
          disabled={busy}
          title={`Pin ${name} for your chat: it reads and sends through this mailbox`}
          onClick={() => void act(() => pinChatMailbox(id))}
        >
          Use this mailbox
        </button>
      )}
      {error ? (
        <span className="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </span>
  );
}
