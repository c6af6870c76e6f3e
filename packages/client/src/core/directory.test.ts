// Mailbox choice under a dial policy: no chain, no network (mailboxes configured by address).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { nodePlatform } from "../platform/node/index.js";
import type { ClientStorage } from "../storage/types.js";
import { browserDialPolicy, NODE_DIAL_POLICY } from "./addresses.js";
import { MailboxDirectory } from "./directory.js";
import type { ClientEvent } from "./events.js";

const A = "12D3KooWGzNzK6QvJ8H6sZyTRL1ssBPQa1mwzBDaGyDcLZPdpEf5";
const B = "12D3KooWCRn81TFnqE6WMAYNB7gG2YdNzUAwymzmmMcdCgh4A3zo";
const wsMailbox = { multiaddr: `/ip4/127.0.0.1/tcp/4002/ws/p2p/${A}` };
const tcpMailbox = { multiaddr: `/ip4/127.0.0.1/tcp/4011/p2p/${B}` };

const opened: { storage: ClientStorage; dir: string }[] = [];
afterEach(async () => {
  for (const { storage, dir } of opened.splice(0)) {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

async function directory(dialPolicy = browserDialPolicy("http:"), mailboxes = [wsMailbox, tcpMailbox]) {
  const dir = mkdtempSync(join(tmpdir(), "postbox-directory-"));
  const storage = await nodePlatform().openStorage(dir);
  opened.push({ storage, dir });
  const events: ClientEvent[] = [];
  const d = new MailboxDirectory({ storage, dialPolicy, mailboxes, emit: (e) => events.push(e) });
  return { d, events, storage };
}

describe("MailboxDirectory and what this client can dial", () => {
  it("lists a mailbox no address of which a page can dial as unreachable, never chooses it, never graylists it", async () => {
    const { d, events, storage } = await directory();
    const list = await d.list();
    expect(list.find((c) => c.peerId === B)).toMatchObject({
      reachable: false,
      unreachableReason: "no browser-reachable address: needs /tls/ws",
      chance: 0,
      graylisted: false,
    });
    expect(list.find((c) => c.peerId === A)).toMatchObject({ reachable: true, chance: 1 });
    for (let i = 0; i < 3; i++) expect((await d.choose(2)).map((c) => c.peerId)).toEqual([A]);
    // Said once, as an event; nothing recorded against it.
    expect(events).toEqual([
      {
        type: "mailbox",
        mailbox: B.toLowerCase(),
        state: "unreachable",
        error: "no browser-reachable address: needs /tls/ws",
      },
    ]);
    expect(await storage.mailboxHealth()).toEqual([]);
  });

  it("a pinned mailbox that cannot be dialled is not used either; with none reachable, says why", async () => {
    const { d } = await directory();
    await d.pin(B);
    expect((await d.choose(1)).map((c) => c.peerId)).toEqual([A]);
    const none = await directory(browserDialPolicy("https:"), [tcpMailbox]);
    await expect(none.d.choose(1)).rejects.toMatchObject({
      shortMessage: "no mailbox can be reached from here",
      details: expect.stringContaining("needs /tls/ws"),
    });
  });

  it("Node dials both; two failures in a row graylist a mailbox, said as an event with its end", async () => {
    const { d, events } = await directory(NODE_DIAL_POLICY);
    expect((await d.list()).every((c) => c.reachable)).toBe(true);
    expect(await d.failed(A, "Mailbox unreachable.")).toBe(false);
    expect(await d.failed(A, "Mailbox unreachable.")).toBe(true);
    expect(events).toEqual([
      expect.objectContaining({
        type: "mailbox",
        mailbox: A.toLowerCase(),
        state: "graylisted",
        until: expect.any(Number),
      }),
    ]);
    expect((await d.choose(1)).map((c) => c.peerId)).toEqual([B]);
    const a = (await d.list()).find((c) => c.peerId === A)!;
    expect(a.graylisted).toBe(true);
    expect(a.graylistedUntil).toBeGreaterThan(Date.now());
    await d.succeeded(A);
    expect((await d.list()).find((c) => c.peerId === A)).toMatchObject({
      graylisted: false,
      graylistedUntil: 0,
    });
  });
});
