"use client";

import { memo, useEffect, useMemo, useRef, useState } from "react";
import { useChat, useCopy, useRuntime, useThread } from "../../lib/chat/hooks";
import { groupLink } from "../../lib/chat/links";
import type { ThreadPage } from "../../lib/chat/runtime";
import type { Delivery } from "../../lib/chat/words";
import type { ConversationItem } from "./Conversations";
import { MessageState } from "./MessageState";
import { OmissionProofs } from "./OmissionProofs";

const PAGE = 200;
const MAX_TEXT = 4_000;

// Formatters made once: `toLocaleTimeString` builds a new one per call, which was most of the
// page's main-thread time while a catch-up re-rendered the thread (issue 18, BENCHMARKS "client").
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dateAndClock = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "short" });

const time = (ms: number) => {
  const d = new Date(ms);
  const now = new Date();
  const today =
    d.getDate() === now.getDate() && d.getMonth() === now.getMonth() && d.getFullYear() === now.getFullYear();
  return (today ? clock : dateAndClock).format(d);
};

/** One conversation: its messages in (timestamp, id) order, failover lines, and the composer. */
export function Thread({ item, onBack }: { item: ConversationItem; onBack: () => void }) {
  const state = useChat();
  const rt = useRuntime();
  const [limit, setLimit] = useState(PAGE);
  const { page, error } = useThread(item.id, limit, item.kind === "group" ? 3_000 : undefined);
  const { copied, copy } = useCopy();
  const bottom = useRef<HTMLDivElement>(null);
  const contacts = useMemo(() => new Map(state.contacts.map((c) => [c.publicKey, c.name])), [state.contacts]);
  const nameOf = (key: string) =>
    key === state.publicKey ? "me" : (contacts.get(key) ?? `${key.slice(0, 10)}…`);

  const notices = state.failovers.filter((f) => f.conversation === item.id);
  const gaps = state.gaps.filter((g) => g.conversation === item.id);
  const messages = page?.messages ?? [];
  // A send under way shows at once; once its message is in storage, that copy takes its place.
  const pending = state.pending.filter(
    (p) =>
      p.conversation === item.id &&
      !messages.some((m) => m.outgoing && m.text === p.text && m.timestamp >= p.startedAt - 1_000),
  );
  const rows = [
    ...messages.map((m) => ({ at: m.timestamp, kind: "message" as const, m })),
    ...notices.map((n) => ({ at: n.at, kind: "notice" as const, n })),
    ...gaps.map((g) => ({ at: g.at, kind: "gap" as const, g })),
  ].sort((a, b) => a.at - b.at);
  const last = messages.at(-1)?.id;
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll when a message arrives or is sent
  useEffect(() => {
    bottom.current?.scrollIntoView({ block: "end" });
  }, [last, pending.length, notices.length, gaps.length]);

  const key = item.kind === "group" ? rt.groupKey(item.id) : undefined;
  const link =
    key && typeof window !== "undefined"
      ? groupLink(window.location.origin, item.id.slice(6), key, state.groupNames[item.id.slice(6)])
      : undefined;
  const total = page?.total ?? item.count;

  return (
    <div className="chat-conversation" data-testid="thread" data-conversation={item.id}>
      <div className="chat-thread-head">
        <button type="button" className="chat-back" onClick={onBack} aria-label="All conversations">
          ←
        </button>
        <div>
          <h2 data-testid="thread-name">{item.name}</h2>
          <p className="muted small">
            <span data-testid="thread-count" data-count={total}>
              {total.toLocaleString("en-US")} message{total === 1 ? "" : "s"}
            </span>
            {item.kind === "room" ? (
              " · public room: anyone who knows its name can read it"
            ) : item.kind === "group" ? (
              <>
                {" · group: "}
                <span data-testid="group-members" data-count={page?.members?.length}>
                  {page?.members
                    ? `you and ${page.members.length} other${page.members.length === 1 ? "" : "s"} so far`
                    : "you"}
                </span>
                ; whoever has its link can read it
              </>
            ) : (
              ` · end-to-end encrypted · ${item.id.slice(3, 13)}…`
            )}
          </p>
        </div>
        {item.kind === "room" ? (
          <button type="button" className="chat-head-action" onClick={() => void rt.leaveRoom(item.id)}>
            Leave
          </button>
        ) : null}
      </div>
      {link ? (
        <div className="chat-share">
          <label htmlFor="group-link">
            Invite with this link (it holds the group's key: share it only with members)
          </label>
          <div className="row">
            <input
              id="group-link"
              data-testid="group-link"
              readOnly
              value={link}
              onFocus={(e) => e.target.select()}
            />
            <button type="button" onClick={() => copy("group", link)}>
              {copied === "group" ? "Copied" : "Copy"}
            </button>
          </div>
        </div>
      ) : null}
      <div className="chat-messages" data-testid="messages">
        {messages.length < total ? (
          <button
            type="button"
            className="link"
            data-testid="show-earlier"
            onClick={() => setLimit((l) => l + PAGE * 5)}
          >
            Show earlier messages ({(total - messages.length).toLocaleString("en-US")} more)
          </button>
        ) : null}
        {error ? <p className="error">Cannot read this conversation: {error}</p> : null}
        {!page && !error ? <p className="muted">Loading…</p> : null}
        {page && rows.length === 0 && pending.length === 0 ? <p className="muted">No message yet.</p> : null}
        <ol>
          {rows.map((r) =>
            r.kind === "gap" ? (
              <li
                key={`g${r.g.id}`}
                className="chat-notice chat-gap"
                role="status"
                data-testid="gap-notice"
                data-mailbox={r.g.mailbox}
              >
                {r.g.text}
              </li>
            ) : r.kind === "notice" ? (
              <li
                key={`n${r.n.id}`}
                className="chat-notice"
                role="status"
                data-testid="failover-notice"
                title={r.n.reason}
              >
                {r.n.text}
              </li>
            ) : (
              <MessageRow
                key={r.m.id}
                m={r.m}
                name={nameOf(r.m.sender)}
                delivery={r.m.outgoing ? (page?.deliveries[r.m.id] as Delivery | undefined) : undefined}
                group={item.kind === "group"}
              />
            ),
          )}
          {pending.map((p) => (
            <li key={`p${p.key}`} className="chat-message mine" data-testid="message" data-pending="true">
              <div className="chat-meta small">
                <span className="chat-sender">me</span> <time className="muted">{time(p.startedAt)}</time>
              </div>
              <div className="chat-text" data-testid="message-text">
                {p.text}
              </div>
              <MessageState
                message={undefined}
                delivery={{ state: "sending", storedBy: [], deliveredTo: [] }}
                group={item.kind === "group"}
              />
            </li>
          ))}
        </ol>
        <OmissionProofs conversation={item.id} />
        <div ref={bottom} />
      </div>
      {state.sendError?.conversation === item.id ? (
        <p className="error chat-send-error" role="alert" data-testid="send-error">
          Not sent: {state.sendError.text}
        </p>
      ) : null}
      <Composer conversation={item.id} />
    </div>
  );
}

type Message = ThreadPage["messages"][number];

/**
 * One message. Memoised: while a catch-up adds pages, the thread is read again every half second,
 * and a message already shown is not rendered again (its delivery state is compared by value).
 */
const MessageRow = memo(
  function MessageRow({
    m,
    name,
    delivery,
    group,
  }: {
    m: Message;
    name: string;
    delivery: Delivery | undefined;
    group: boolean;
  }) {
    return (
      <li
        className={`chat-message${m.outgoing ? " mine" : ""}`}
        data-testid="message"
        data-id={m.id}
        data-timestamp={m.timestamp}
      >
        <div className="chat-meta small">
          <span className="chat-sender">{name}</span>{" "}
          <time className="muted" dateTime={new Date(m.timestamp).toISOString()}>
            {time(m.timestamp)}
          </time>
        </div>
        <div className="chat-text" data-testid="message-text">
          {m.text}
        </div>
        {m.outgoing && delivery ? <MessageState message={m} delivery={delivery} group={group} /> : null}
      </li>
    );
  },
  (a, b) =>
    a.m.id === b.m.id &&
    a.m.text === b.m.text &&
    a.name === b.name &&
    a.group === b.group &&
    JSON.stringify(a.delivery) === JSON.stringify(b.delivery),
);

function Composer({ conversation }: { conversation: string }) {
  const rt = useRuntime();
  const [text, setText] = useState("");
  const tooLong = text.length > MAX_TEXT;
  const send = () => {
    const t = text.trim();
    if (!t || tooLong) return;
    setText("");
    void rt.send(conversation, t);
  };
  return (
    <form
      className="chat-composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label htmlFor="composer" className="visually-hidden">
        Message
      </label>
      <textarea
        id="composer"
        name="message"
        rows={2}
        value={text}
        placeholder="Write a message (Enter sends, Shift+Enter for a new line)"
        aria-invalid={tooLong ? true : undefined}
        aria-describedby={tooLong ? "composer-error" : undefined}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            send();
          }
        }}
      />
      <button type="submit" className="primary" disabled={!text.trim() || tooLong}>
        Send
      </button>
      {tooLong ? (
        <span id="composer-error" className="field-error" data-testid="field-error">
          A message is at most {MAX_TEXT.toLocaleString("en-US")} characters (
          {text.length.toLocaleString("en-US")} now).
        </span>
      ) : null}
    </form>
  );
}
