"use client";

import { useMemo, useState } from "react";
import { useAction } from "../../lib/chat/action";
import { useChat, useRuntime } from "../../lib/chat/hooks";
import { parseChatLink, suggestContactName } from "../../lib/chat/links";
import type { ChatState } from "../../lib/chat/runtime";
import { conversationName } from "../../lib/chat/words";
import { Field } from "../Field";
import { Thread } from "./Thread";

export interface ConversationItem {
  id: string;
  name: string;
  kind: "dm" | "room" | "group";
  last?: string;
  lastAt: number;
  count: number;
  /** Someone who wrote to you but is not a contact. */
  stranger: boolean;
}

/** Every conversation: followed rooms and groups, contacts, and anyone who wrote to you; the latest first. */
export function conversationItems(state: ChatState): ConversationItem[] {
  const contacts = new Map(state.contacts.map((c) => [c.publicKey, c.name]));
  const groups = new Map(Object.entries(state.groupNames));
  const items = new Map<string, ConversationItem>();
  const add = (id: string) => {
    if (items.has(id)) return items.get(id)!;
    const kind = id.startsWith("room:") ? "room" : id.startsWith("group:") ? "group" : "dm";
    const item: ConversationItem = {
      id,
      kind,
      name: conversationName(id, contacts, groups),
      lastAt: 0,
      count: 0,
      stranger: kind === "dm" && !contacts.has(id.slice(3)),
    };
    items.set(id, item);
    return item;
  };
  for (const f of state.feeds) if (f.feed !== "inbox") add(f.feed);
  for (const c of state.contacts) add(`dm:${c.publicKey}`);
  for (const s of state.summaries) {
    const item = add(s.conversation);
    item.last = s.last.text;
    item.lastAt = s.lastTimestamp;
    item.count = s.count;
  }
  return [...items.values()].sort((a, b) => b.lastAt - a.lastAt || a.name.localeCompare(b.name));
}

/** The conversation list beside the open conversation (one of them at a time on a phone). */
export function Conversations() {
  const state = useChat();
  const rt = useRuntime();
  const items = useMemo(() => conversationItems(state), [state]);
  const open = state.open && items.some((i) => i.id === state.open) ? state.open : undefined;
  const current = items.find((i) => i.id === open);

  return (
    <div className={`chat-layout${open ? " has-open" : ""}`}>
      <aside className="chat-list" aria-label="Conversations">
        {items.length === 0 ? (
          <p className="notice">
            No conversation yet: add a contact, join a public room or start a group below, or share your
            contact link (tab "You").
          </p>
        ) : (
          <ul>
            {items.map((i) => (
              <li key={i.id}>
                <button
                  type="button"
                  data-testid="conversation"
                  data-conversation={i.id}
                  aria-current={i.id === open ? "true" : undefined}
                  onClick={() => rt.open(i.id)}
                >
                  <span className="chat-list-name">
                    {i.name}
                    {i.stranger ? <span className="muted small"> · not a contact</span> : null}
                  </span>
                  <span className="chat-list-last muted small">
                    {i.last ??
                      (i.kind === "room" ? "public room" : i.kind === "group" ? "group" : "no message yet")}
                  </span>
                  {i.count > 0 ? (
                    <span className="chat-list-count small">{i.count.toLocaleString("en-US")}</span>
                  ) : null}
                </button>
              </li>
            ))}
          </ul>
        )}
        <NewConversation />
      </aside>
      <section className="chat-thread" aria-label="Conversation">
        {current ? (
          <Thread key={current.id} item={current} onBack={() => rt.open(undefined)} />
        ) : (
          <p className="muted chat-empty">Choose a conversation.</p>
        )}
      </section>
    </div>
  );
}

const SINCE = [
  { label: "from now on", ms: 0 },
  { label: "and its last hour", ms: 3_600_000 },
  { label: "and its last 24 hours", ms: 86_400_000 },
  { label: "and its last 7 days", ms: 7 * 86_400_000 },
] as const;

/** Adding a contact, joining a room, creating or joining a group. */
function NewConversation() {
  const rt = useRuntime();
  const [what, setWhat] = useState<"contact" | "room" | "group" | "join" | undefined>(undefined);
  const [name, setName] = useState("");
  const [key, setKey] = useState("");
  const [since, setSince] = useState(0);
  const action = useAction();
  const { busy, error } = action;

  const reset = (w: typeof what) => {
    setWhat(w);
    setName("");
    setKey("");
    action.clear();
  };
  const run = async (fn: () => Promise<string>) => {
    const id = await action.run(fn);
    if (id === undefined) return;
    rt.open(id);
    reset(undefined);
  };

  // What the typed key or link says, checked as it is typed.
  const pastedContact = key.includes("#contact=") ? parseChatLink(key.slice(key.indexOf("#"))) : undefined;
  const publicKey =
    pastedContact?.kind === "contact"
      ? pastedContact.publicKey
      : key.trim().replace(/^0x/i, "").toLowerCase();
  const keyError =
    pastedContact?.kind === "invalid"
      ? pastedContact.message
      : /^0[23][0-9a-f]{64}$/.test(publicKey)
        ? undefined
        : "A public key is 66 hexadecimal digits starting 02 or 03 (or paste a contact link).";
  const contactName =
    name.trim() ||
    (pastedContact?.kind === "contact" ? suggestContactName(pastedContact.name, publicKey) : "");
  const nameError = /^[\w.-]{1,64}$/.test(contactName)
    ? undefined
    : "A contact name is 1–64 letters, digits, . - or _.";
  const roomError = /^#?[\p{L}\p{N}_.-]{1,64}$/u.test(name.trim())
    ? undefined
    : "A room name is 1–64 letters, digits, . - or _ (a leading # is fine).";
  const groupLink = parseChatLink(key.includes("#") ? key.slice(key.indexOf("#")) : `#${key}`);
  const groupError =
    groupLink?.kind === "group"
      ? undefined
      : groupLink?.kind === "invalid"
        ? groupLink.message
        : "Paste the group's link (…/chat#group=…&key=…).";

  return (
    <div className="card chat-new">
      <h2>Start a conversation</h2>
      <div className="row">
        <button type="button" aria-pressed={what === "contact"} onClick={() => reset("contact")}>
          Add a contact
        </button>
        <button type="button" aria-pressed={what === "room"} onClick={() => reset("room")}>
          Join a room
        </button>
        <button type="button" aria-pressed={what === "group"} onClick={() => reset("group")}>
          New group
        </button>
        <button type="button" aria-pressed={what === "join"} onClick={() => reset("join")}>
          Join a group
        </button>
      </div>
      {what === "contact" ? (
        <form
          className="column"
          onSubmit={(e) => {
            e.preventDefault();
            if (!keyError && !nameError) void run(() => rt.addContact(contactName, publicKey));
          }}
        >
          <Field
            label="Public key or contact link"
            name="contactKey"
            value={key}
            onChange={setKey}
            placeholder="02… or https://…/chat#contact=…"
            error={keyError}
          />
          <Field
            label="Name"
            name="contactName"
            value={name}
            onChange={setName}
            placeholder={contactName || "alice"}
            error={contactName === "" && name === "" ? undefined : nameError}
          />
          <button type="submit" className="primary" disabled={busy || !!keyError || !!nameError}>
            Add contact
          </button>
        </form>
      ) : what === "room" ? (
        <form
          className="column"
          onSubmit={(e) => {
            e.preventDefault();
            if (!roomError) void run(() => rt.joinRoom(name, Date.now() - since));
          }}
        >
          <Field
            label="Room"
            name="room"
            value={name}
            onChange={setName}
            placeholder="#general"
            error={roomError}
          />
          <div className="field">
            <label htmlFor="room-since">Read it</label>
            <select id="room-since" value={since} onChange={(e) => setSince(Number(e.target.value))}>
              {SINCE.map((s) => (
                <option key={s.ms} value={s.ms}>
                  {s.label}
                </option>
              ))}
            </select>
            <span className="field-hint">Earlier messages are bought from a mailbox, page by page.</span>
          </div>
          <button type="submit" className="primary" disabled={busy || !!roomError}>
            Join room
          </button>
          <p className="muted small">A public room: anyone who knows its name can read and write in it.</p>
        </form>
      ) : what === "group" ? (
        <form
          className="column"
          onSubmit={(e) => {
            e.preventDefault();
            void run(() => rt.createGroup(name));
          }}
        >
          <Field
            label="Group name (yours only)"
            name="groupName"
            value={name}
            onChange={setName}
            placeholder="family"
          />
          <button type="submit" className="primary" disabled={busy}>
            Create group
          </button>
          <p className="muted small">
            Then share the group's link with its members: whoever has it can read and write.
          </p>
        </form>
      ) : what === "join" ? (
        <form
          className="column"
          onSubmit={(e) => {
            e.preventDefault();
            if (groupLink?.kind === "group")
              void run(() => rt.joinGroup(groupLink.id, groupLink.key, name || groupLink.name));
          }}
        >
          <Field label="Group link" name="groupLink" value={key} onChange={setKey} error={groupError} />
          <Field label="Group name (yours only)" name="groupName" value={name} onChange={setName} />
          <button type="submit" className="primary" disabled={busy || !!groupError}>
            Join group
          </button>
        </form>
      ) : null}
      {error ? (
        <p className="error" role="alert" data-testid="new-conversation-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}
