"use client";

import { useState } from "react";
import { useChat, useRuntime, useWalletBridge } from "../../lib/chat/hooks";
import { CatchUpBar } from "./CatchUpBar";
import { Conversations } from "./Conversations";
import { IdentityPanel, IdentitySetup } from "./IdentityPanel";
import { LinkOffer } from "./LinkOffer";
import { MailboxesPanel } from "./MailboxesPanel";
import { PaymentsPanel } from "./PaymentsPanel";

const TABS = [
  { id: "chats", label: "Conversations" },
  { id: "mailboxes", label: "Mailboxes" },
  { id: "payments", label: "Payments" },
  { id: "you", label: "You" },
] as const;
type Tab = (typeof TABS)[number]["id"];

/** The chat: conversations, the mailboxes it uses, what it pays them, and who you are. */
export default function ChatApp() {
  useWalletBridge();
  const state = useChat();
  const rt = useRuntime();
  const [tab, setTab] = useState<Tab>("chats");

  switch (state.phase) {
    case "starting":
      return (
        <p className="muted" data-testid="chat-starting">
          Opening your chat…
        </p>
      );
    case "other-tab":
    case "moved":
      return (
        <div className="notice" data-testid="chat-elsewhere">
          <p>
            {state.phase === "moved"
              ? "The chat moved to another tab of this browser."
              : "The chat is open in another tab of this browser."}{" "}
            One tab at a time runs it: two would both sign vouchers on the same channels.
          </p>
          <button type="button" className="primary" onClick={() => void rt.takeOver()}>
            Use it here
          </button>
        </div>
      );
    case "failed":
      return (
        <div className="error" role="alert" data-testid="chat-failed">
          <p>The chat could not start: {state.error}</p>
          <button type="button" onClick={() => window.location.reload()}>
            Try again
          </button>
        </div>
      );
    case "no-identity":
      return <IdentitySetup />;
    case "ready":
      break;
  }

  return (
    <div className="chat">
      <h1>Chat</h1>
      <LinkOffer onOpen={() => setTab("chats")} />
      <CatchUpBar />
      <div className="chat-tabs" role="tablist" aria-label="Chat sections">
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`chat-tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`chat-panel-${t.id}`}
            onClick={() => setTab(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`chat-panel-${tab}`} aria-labelledby={`chat-tab-${tab}`}>
        {tab === "chats" ? (
          <Conversations />
        ) : tab === "mailboxes" ? (
          <MailboxesPanel />
        ) : tab === "payments" ? (
          <PaymentsPanel />
        ) : (
          <IdentityPanel />
        )}
      </div>
    </div>
  );
}
