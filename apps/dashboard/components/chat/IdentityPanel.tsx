"use client";

import { useState } from "react";
import { useAction } from "../../lib/chat/action";
import { useChat, useCopy, useRuntime } from "../../lib/chat/hooks";
import { contactLink } from "../../lib/chat/links";
import { checkPrivateKey } from "../../lib/chat/runtime";
import { Field } from "../Field";

const SINCE = [
  { label: "the last 24 hours", ms: 86_400_000 },
  { label: "the last 7 days", ms: 7 * 86_400_000 },
  { label: "the last 30 days (a mailbox's usual retention)", ms: 30 * 86_400_000 },
  { label: "from now on", ms: 0 },
] as const;

/** The first screen of a browser without an identity: make one, or bring one from another device. */
export function IdentitySetup() {
  const rt = useRuntime();
  const [key, setKey] = useState("");
  const [since, setSince] = useState<number>(SINCE[1].ms);
  const { busy, error, run } = useAction();
  const check = checkPrivateKey(key);
  return (
    <div className="chat">
      <h1>Chat</h1>
      <p className="muted">
        Messages are end-to-end encrypted and kept by paid mailboxes while you are away: when you come back,
        this page fetches everything you missed. Your identity is a key kept in this browser; nobody else
        holds it.
      </p>
      <div className="grid">
        <div className="card">
          <h2>New identity</h2>
          <p>Make a new key in this browser. You can export it later to use it on another device.</p>
          <button
            type="button"
            className="primary"
            data-testid="create-identity"
            disabled={busy}
            onClick={() => void run(() => rt.createIdentity())}
          >
            Create my identity
          </button>
        </div>
        <div className="card">
          <h2>I already have one</h2>
          <form
            className="column"
            onSubmit={(e) => {
              e.preventDefault();
              if (check.ok) void run(() => rt.importIdentity(check.value, Date.now() - since));
            }}
          >
            <Field
              label="Exported key (from “Export your key”, or postbox id --export)"
              name="identityKey"
              value={key}
              onChange={setKey}
              rows={2}
              placeholder="64 hexadecimal digits, or both lines of postbox id --export"
              error={check.ok ? undefined : check.message}
            />
            <div className="field">
              <label htmlFor="import-since">Fetch my messages from</label>
              <select id="import-since" value={since} onChange={(e) => setSince(Number(e.target.value))}>
                {SINCE.map((s) => (
                  <option key={s.ms} value={s.ms}>
                    {s.label}
                  </option>
                ))}
              </select>
            </div>
            <button type="submit" className="primary" disabled={busy || !check.ok}>
              Import
            </button>
          </form>
        </div>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** Who you are: your public key, your contact link, and exporting your key (behind a warning). */
export function IdentityPanel() {
  const state = useChat();
  const rt = useRuntime();
  const { copied, copy } = useCopy();
  const [name, setName] = useState(state.profileName ?? "");
  const [exporting, setExporting] = useState<"no" | "warn" | "shown">("no");
  const [understood, setUnderstood] = useState(false);
  const publicKey = state.publicKey ?? "";
  const link =
    typeof window !== "undefined" ? contactLink(window.location.origin, publicKey, state.profileName) : "";
  return (
    <div className="grid chat-you">
      <div className="card">
        <h2>Your contact link</h2>
        <p className="muted small">
          Send it to people who should be able to write to you: it holds your public key only.
        </p>
        <div className="row">
          <input
            aria-label="Your contact link"
            data-testid="contact-link"
            readOnly
            value={link}
            onFocus={(e) => e.target.select()}
          />
          <button type="button" onClick={() => copy("link", link)}>
            {copied === "link" ? "Copied" : "Copy"}
          </button>
        </div>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void rt.setProfileName(name);
          }}
        >
          <Field
            label="Your name in the link (a suggestion to whoever adds you)"
            name="profileName"
            value={name}
            onChange={setName}
            placeholder="alice"
          />
          <button type="submit" disabled={name.trim() === (state.profileName ?? "")}>
            Save
          </button>
        </form>
        <h2>Public key</h2>
        <p className="address" data-testid="public-key">
          {publicKey}
        </p>
      </div>
      <div className="card">
        <h2>Export your key</h2>
        <p className="muted small">
          To use this identity on another device (or the CLI: postbox id --import). Your key stays in this
          browser's storage; clearing this site's data deletes it, and without an export it is gone.
        </p>
        {exporting === "no" ? (
          <button type="button" data-testid="export-identity" onClick={() => setExporting("warn")}>
            Export your key…
          </button>
        ) : (
          <div className="confirm" role="alertdialog" aria-labelledby="export-warning">
            <p id="export-warning">
              <strong>Anyone with this key reads your messages and writes as you.</strong> Never paste it into
              a website or a chat, never send it by e-mail; keep it where only you can read it.
            </p>
            {exporting === "warn" ? (
              <>
                <label className="check">
                  <input
                    type="checkbox"
                    checked={understood}
                    onChange={(e) => setUnderstood(e.target.checked)}
                  />{" "}
                  I understand
                </label>
                <div className="row">
                  <button
                    type="button"
                    className="danger"
                    data-testid="show-key"
                    disabled={!understood}
                    onClick={() => setExporting("shown")}
                  >
                    Show my key
                  </button>
                  <button type="button" onClick={() => setExporting("no")}>
                    Cancel
                  </button>
                </div>
              </>
            ) : (
              <>
                <input
                  aria-label="Your exported key"
                  data-testid="exported-key"
                  readOnly
                  value={rt.exportIdentity()}
                  onFocus={(e) => e.target.select()}
                />
                <div className="row">
                  <button type="button" onClick={() => copy("key", rt.exportIdentity())}>
                    {copied === "key" ? "Copied" : "Copy"}
                  </button>
                  <button
                    type="button"
                    onClick={() => {
                      setExporting("no");
                      setUnderstood(false);
                    }}
                  >
                    Hide
                  </button>
                </div>
              </>
            )}
          </div>
        )}
      </div>
    </div>
  );
}
