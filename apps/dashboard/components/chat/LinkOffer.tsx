"use client";

import { useEffect, useState } from "react";
import { useAction } from "../../lib/chat/action";
import { useChat, useRuntime } from "../../lib/chat/hooks";
import { type ChatLink, parseChatLink, suggestContactName } from "../../lib/chat/links";
import { Field } from "../Field";

/** A contact or group link the page was opened with (`/chat#contact=…`, `/chat#group=…&key=…`): add or join it. */
export function LinkOffer({ onOpen }: { onOpen: () => void }) {
  const state = useChat();
  const rt = useRuntime();
  const [offer, setOffer] = useState<ChatLink | undefined>(undefined);
  const [name, setName] = useState("");
  const { busy, error, run, clear } = useAction();

  useEffect(() => {
    const read = () => {
      const link = parseChatLink(window.location.hash);
      setOffer(link);
      clear();
      if (link?.kind === "contact") setName(suggestContactName(link.name, link.publicKey));
      if (link?.kind === "group") setName(link.name ?? "");
    };
    read();
    window.addEventListener("hashchange", read);
    return () => window.removeEventListener("hashchange", read);
  }, [clear]);

  if (!offer) return null;
  const done = (conversation?: string) => {
    // The fragment held the link (never sent to the server); drop it from the address bar.
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    setOffer(undefined);
    if (conversation) {
      rt.open(conversation);
      onOpen();
    }
  };
  const act = async (fn: () => Promise<string>) => {
    const conversation = await run(fn);
    if (conversation !== undefined) done(conversation);
  };
  /** Every offer ends with a way out, and what went wrong. */
  const tail = (
    <>
      <button type="button" onClick={() => done()}>
        Dismiss
      </button>
      {error ? <p className="error">{error}</p> : null}
    </>
  );

  if (offer.kind === "invalid")
    return (
      <div className="error" role="alert" data-testid="link-offer">
        {offer.message}{" "}
        <button type="button" onClick={() => done()}>
          Dismiss
        </button>
      </div>
    );
  if (offer.kind === "contact") {
    const known = state.contacts.find((c) => c.publicKey === offer.publicKey);
    if (offer.publicKey === state.publicKey)
      return (
        <div className="notice" data-testid="link-offer">
          This is your own contact link: send it to the people who should be able to write to you.{" "}
          <button type="button" onClick={() => done()}>
            Dismiss
          </button>
        </div>
      );
    const nameError = /^[\w.-]{1,64}$/.test(name)
      ? undefined
      : "A contact name is 1–64 letters, digits, . - or _.";
    return (
      <form
        className="notice row"
        data-testid="link-offer"
        onSubmit={(e) => {
          e.preventDefault();
          if (!nameError) void act(() => rt.addContact(name, offer.publicKey));
        }}
      >
        <p>
          {known
            ? `This link is ${known.name}'s, already one of your contacts.`
            : `Add ${offer.name ? `“${offer.name}”` : "this person"} as a contact?`}{" "}
          <span className="address">{offer.publicKey}</span>
        </p>
        {known ? (
          <button type="button" className="primary" onClick={() => done(`dm:${offer.publicKey}`)}>
            Open the conversation
          </button>
        ) : (
          <>
            <Field label="Name" name="linkName" value={name} onChange={setName} error={nameError} />
            <button type="submit" className="primary" disabled={busy || !!nameError}>
              Add contact
            </button>
          </>
        )}
        {tail}
      </form>
    );
  }
  const joined = state.feeds.some((f) => f.feed === `group:${offer.id}`);
  return (
    <form
      className="notice row"
      data-testid="link-offer"
      onSubmit={(e) => {
        e.preventDefault();
        void act(() => rt.joinGroup(offer.id, offer.key, name || undefined));
      }}
    >
      <p>
        {joined
          ? "You are already in this group."
          : `Join the group ${offer.name ? `“${offer.name}”` : offer.id.slice(0, 8)}? Its members will read what you write there, and you what they write from now on.`}
      </p>
      {joined ? (
        <button type="button" className="primary" onClick={() => done(`group:${offer.id}`)}>
          Open the group
        </button>
      ) : (
        <>
          <Field label="Group name (yours only)" name="linkGroupName" value={name} onChange={setName} />
          <button type="submit" className="primary" disabled={busy}>
            Join group
          </button>
        </>
      )}
      {tail}
    </form>
  );
}
