import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalStore, type StoredMessage } from "./local-store.js";

const msg = (id: string, ts: number, conversation = "room:x"): StoredMessage => ({
  id,
  conversation,
  timestamp: ts,
  sender: "02aa",
  text: `t${id}`,
  outgoing: false,
});

describe("the client's local store", () => {
  let dir: string;
  let store: LocalStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "postbox-local-"));
    store = new LocalStore(dir);
    store.follow("room:x", "/t", 1_000);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps each message once and returns a conversation in (timestamp, id) order", () => {
    expect(store.saveMessages([msg("b2", 20), msg("a1", 10), msg("a2", 20)])).toBe(3);
    expect(store.saveMessages([msg("a1", 10), msg("c3", 5)])).toBe(1);
    expect(store.messages("room:x").map((m) => m.id)).toEqual(["c3", "a1", "a2", "b2"]);
    expect(store.messages("room:x", 2).map((m) => m.id)).toEqual(["a2", "b2"]);
  });

  it("moves a feed's last-seen mark forward only, with its messages in one transaction", () => {
    store.saveMessages([msg("b", 20)], { feed: "room:x", timestamp: 20, id: "b" });
    store.saveMessages([], { feed: "room:x", timestamp: 15, id: "z" });
    store.saveMessages([], { feed: "room:x", timestamp: 20, id: "a" });
    expect(store.feeds()[0]).toMatchObject({ lastTimestamp: 20, lastId: "b", since: 1_000 });
    store.saveMessages([], { feed: "room:x", timestamp: 20, id: "c" });
    expect(store.feeds()[0]).toMatchObject({ lastTimestamp: 20, lastId: "c" });
  });

  it("survives a reopen", () => {
    store.saveMessages([msg("a", 1)], { feed: "room:x", timestamp: 1, id: "a" });
    store.set("identity", "k");
    store.close();
    store = new LocalStore(dir);
    expect(store.get("identity")).toBe("k");
    expect(store.messages("room:x")).toHaveLength(1);
    expect(store.feeds()[0]!.lastId).toBe("a");
  });

  it("graylists a mailbox after two failures in a row, and forgives it on success", () => {
    expect(store.mailboxFailed("m", 0, 1_000)).toBe(false);
    store.mailboxSucceeded("m");
    expect(store.mailboxFailed("m", 0, 1_000)).toBe(false);
    expect(store.mailboxFailed("m", 0, 1_000)).toBe(true);
    expect(store.graylisted(500).has("m")).toBe(true);
    expect(store.graylisted(1_500).has("m")).toBe(false);
  });
});
