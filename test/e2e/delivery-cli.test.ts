// Delivery states through the `postbox` CLI, each person a separate process with their own data
// folder and wallet, on a devnet (a real chain and two paid mailboxes, each its own process):
// sending → stored (by which mailbox) → delivered once the recipient has read it; a message no
// mailbox could store (both killed with SIGKILL), retried after they restart; "delivered to N of
// M" in a group of three; and no ack loops, counted on the mailboxes themselves. Port band 6,000.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import {
  type ChannelManager,
  type ClientHost,
  createChannelManager,
  createClientHost,
  queryStore,
} from "@postbox/client";
import {
  CertificateCache,
  type Envelope,
  fromBareHex,
  groupTopic,
  identify,
  nobleEd25519,
  nobleVerifier,
  openEnvelope,
  StatusCode,
  toBareHex,
} from "@postbox/protocol";
import { parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DEV_KEYS, type Devnet, POSTBOX_BIN, startDevnet } from "../../scripts/lib/devnet.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";

interface Line {
  id: string;
  messageId: string;
  text: string;
  senderName: string;
  outgoing: boolean;
  state?: string;
  storedBy?: string[];
  deliveredTo?: string[];
  members?: number;
  delivery?: string;
}

const USERS = { alice: 4, bob: 5, carol: 6 } as const;
type User = keyof typeof USERS;
/** The wallet that pays for the test's own store queries (counting envelopes on a topic). */
const COUNTER_KEY = 7;

describe("delivery states through the CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-delivery-"));
  let net: Devnet;
  let host: ClientHost | undefined;
  let channels: ChannelManager | undefined;

  const run = (user: User, args: string[], input?: string) =>
    spawnSync(process.execPath, [POSTBOX_BIN, ...args], {
      encoding: "utf8",
      env: {
        ...process.env,
        POSTBOX_CLIENT_DIR: join(dir, user),
        POSTBOX_RPC_URL: net.rpc,
        POSTBOX_WALLET_KEY: DEV_KEYS[USERS[user]]!,
        POSTBOX_CHANNEL_DEPOSIT: "50",
      },
      ...(input !== undefined ? { input } : {}),
      maxBuffer: 64 * 1024 * 1024,
    });
  const cli = (user: User, args: string[], input?: string) => {
    const r = run(user, args, input);
    if (r.status !== 0)
      throw new Error(`postbox ${args.join(" ")} (${user}) exited ${r.status}: ${r.stderr}`);
    return r;
  };
  const read = (user: User, args: string[]) =>
    cli(user, ["chat", "read", ...args, "--json"])
      .stdout.trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);
  const publicKey = (user: User) =>
    (JSON.parse(cli(user, ["id", "--json"]).stdout) as { publicKey: string }).publicKey;
  const keys = {} as Record<User, string>;

  beforeAll(async () => {
    net = await startDevnet({
      dataDir: join(dir, "net"),
      basePort: await freePortBlock(6_000),
      mailboxes: [
        { name: "alpha", operator: 1, pricePerQuery: "0.01", pricePerMessage: "0.0001" },
        { name: "beta", operator: 2, pricePerQuery: "0.02", pricePerMessage: "0.00005" },
      ],
      stdio: "ignore",
    });
    for (const u of Object.keys(USERS) as User[]) keys[u] = publicKey(u);
    for (const u of Object.keys(USERS) as User[])
      for (const other of Object.keys(USERS) as User[])
        if (other !== u) cli(u, ["contact", "add", other, keys[other]]);
    // Alice's messages go to alpha, so that "stored by alpha" is what the test expects.
    cli("alice", ["mailbox", "pin", net.mailboxes[0]!.operator]);
  }, 240_000);

  afterAll(async () => {
    await channels?.close();
    await host?.stop();
    await net?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Every envelope on `topic` since `from`, as the mailboxes hold it (paid history queries to
   * each, merged by envelope id): what the test counts acks on.
   */
  async function onMailboxes(topic: string, from: number): Promise<Envelope[]> {
    if (!host) {
      host = await createClientHost();
      await host.start();
    }
    channels ??= await createChannelManager({
      location: join(dir, "counter"),
      publicClient: net.publicClient,
      wallet: net.wallet(COUNTER_KEY),
      chainId: 31337,
      snt: net.addresses.snt,
      registry: net.addresses.registry,
      channels: net.addresses.channels,
    });
    const byId = new Map<string, Envelope>();
    for (const m of net.mailboxes) {
      await channels.open(m.operator, parseEther("20"));
      let cursor: Uint8Array | undefined;
      for (;;) {
        const res = await queryStore(host, multiaddr(m.addr), {
          contentTopics: [topic],
          timeStart: BigInt(from),
          pageSize: 100,
          voucher: await channels.voucherFor(m.operator, 100),
          ...(cursor ? { cursor } : {}),
        });
        expect(res.status, res.statusDesc).toBe(StatusCode.OK);
        channels.record(m.operator, res);
        for (const e of res.envelopes) byId.set(toBareHex(identify(e).id), e);
        cursor = res.nextCursor;
        if (!cursor) break;
      }
    }
    return [...byId.values()];
  }

  it("1:1: sending → stored by alpha → delivered once Bob has read it", () => {
    const sent = cli("alice", ["chat", "send", "--to", "bob", "Hi Bob"]);
    const id = /^sending ([0-9a-f]{16}) to bob$/m.exec(sent.stderr)?.[1];
    expect(id, sent.stderr).toBeDefined();
    expect(sent.stdout).toContain(`sent ${id} · stored by alpha\n`);
    expect(sent.stdout).toMatch(/receipt: stored by mailbox 0x[0-9a-f]{40} until .+ \(alpha\)/);
    expect(cli("alice", ["chat", "status", id!]).stdout).toMatch(
      new RegExp(`^${id} to dm:${keys.bob}: stored by alpha$`, "m"),
    );

    // Before Bob reads: stored, in Alice's conversation too.
    const before = read("alice", ["bob"]).find((l) => l.text === "Hi Bob");
    expect(before).toMatchObject({ state: "stored", storedBy: ["alpha"], delivery: "stored by alpha" });
    expect(cli("alice", ["chat", "read", "bob"]).stdout).toMatch(/me\s+Hi Bob {2}\[stored by alpha\]/);

    expect(read("bob", ["alice"]).map((l) => l.text)).toEqual(["Hi Bob"]);
    // Bob's ack is on Alice's inbox topic: her next catch-up finds it.
    const after = read("alice", ["bob"]).find((l) => l.text === "Hi Bob");
    expect(after).toMatchObject({ state: "delivered", deliveredTo: ["bob"], delivery: "delivered" });
    expect(cli("alice", ["chat", "read", "bob"]).stdout).toMatch(/me\s+Hi Bob {2}\[delivered\]/);
    const status = JSON.parse(cli("alice", ["chat", "status", id!, "--json"]).stdout) as {
      state: string;
      storedBy: string[];
    };
    expect(status).toMatchObject({
      state: "delivered",
      storedBy: [net.mailboxes[0]!.operator.toLowerCase()],
    });
    // The other way round: Alice's read acknowledges Bob's message.
    cli("bob", ["chat", "send", "--to", "alice", "Hi Alice"]);
    expect(read("alice", ["bob"]).map((l) => l.text)).toEqual(["Hi Bob", "Hi Alice"]);
    expect(read("bob", ["alice"]).find((l) => l.text === "Hi Alice")).toMatchObject({ state: "delivered" });
  }, 120_000);

  it("a group of three: delivered to 1 of 2, then 2 of 2", () => {
    const group = JSON.parse(cli("alice", ["group", "create", "--json"]).stdout) as {
      id: string;
      key: string;
    };
    const g = `group:${group.id}`;
    // Members announce themselves when they join (a join message on the group's topic).
    for (const u of ["bob", "carol"] as const) {
      const joined = cli(u, ["group", "join", group.id, group.key]);
      expect(joined.stdout).toContain(`following ${g}`);
      expect(joined.stderr).not.toContain("no mailbox took your join");
    }
    cli("alice", ["chat", "send", "--to", g, "lunch at noon?"]);
    const mine = () => read("alice", [g]).find((l) => l.text === "lunch at noon?");
    expect(mine()).toMatchObject({ state: "stored", members: 2, delivery: "stored by alpha" });

    expect(read("bob", [g]).map((l) => l.text)).toEqual(["lunch at noon?"]);
    expect(mine()).toMatchObject({
      state: "delivered",
      deliveredTo: ["bob"],
      members: 2,
      delivery: "delivered to 1 of 2",
    });
    expect(cli("alice", ["chat", "read", g]).stdout).toMatch(/lunch at noon\? {2}\[delivered to 1 of 2\]/);

    expect(read("carol", [g]).map((l) => l.text)).toEqual(["lunch at noon?"]);
    expect(mine()).toMatchObject({
      deliveredTo: ["bob", "carol"],
      members: 2,
      delivery: "delivered to 2 of 2",
    });
  }, 120_000);

  it("no ack loops: after two catch-ups each reader's acks on the topic number ⌈messages/100⌉", async () => {
    const group = JSON.parse(cli("alice", ["group", "create", "--json"]).stdout) as {
      id: string;
      key: string;
    };
    const g = `group:${group.id}`;
    cli("bob", ["group", "join", group.id, group.key]);
    cli("carol", ["group", "join", group.id, group.key]);
    const from = Date.now();
    const N = 150;
    cli(
      "alice",
      ["chat", "send", "--to", g, "--stdin"],
      Array.from({ length: N }, (_, i) => `m${i}`).join("\n"),
    );
    for (let round = 0; round < 2; round++)
      for (const u of ["bob", "carol", "alice"] as const) expect(read(u, [g])).toHaveLength(N);
    const sentIds = read("alice", [g]).map((l) => l.messageId);
    expect(new Set(sentIds).size).toBe(N);

    // Open what the mailboxes hold on the topic with the group key: texts, joins, acks.
    const certs = new CertificateCache();
    const opened = await Promise.all(
      (await onMailboxes(groupTopic(group.id), from - 1_000)).map((e) =>
        openEnvelope({ kind: "group", groupId: group.id, groupKey: fromBareHex(group.key) }, e, {
          certs,
          secp256k1: nobleVerifier,
          ed25519: nobleEd25519,
        }),
      ),
    );
    const acksBy = (u: User) => opened.filter((m) => m.type === "ack" && toBareHex(m.sender) === keys[u]);
    const expected = Math.ceil(N / 100);
    expect(acksBy("bob")).toHaveLength(expected);
    expect(acksBy("carol")).toHaveLength(expected);
    expect(acksBy("alice")).toHaveLength(0); // her own messages, and acks, are never acked
    for (const u of ["bob", "carol"] as const) {
      const ids = acksBy(u).flatMap((m) => m.acks.map((a) => toBareHex(a)));
      expect(ids.sort()).toEqual([...sentIds].sort()); // every message once
    }
    expect(opened.filter((m) => m.type === "text")).toHaveLength(N);
    // Every message reads "delivered to 2 of 2" for Alice.
    expect(new Set(read("alice", [g]).map((l) => l.delivery))).toEqual(new Set(["delivered to 2 of 2"]));
  }, 240_000);

  it("no mailbox reachable: not stored, exit 1; after they restart, chat retry stores it (again as it was, or sealed anew)", async () => {
    const [alpha, beta] = net.mailboxes as [Devnet["mailboxes"][0], Devnet["mailboxes"][0]];
    await Promise.all([alpha.stop("SIGKILL"), beta.stop("SIGKILL")]);
    const send = (text: string) => {
      const failed = run("alice", ["chat", "send", "--to", "bob", text]);
      expect(failed.status, failed.stderr).toBe(1);
      const id =
        /^not stored \(alpha: unreachable; beta: unreachable\) — retry: postbox chat retry ([0-9a-f]{16})$/m.exec(
          failed.stderr,
        )?.[1];
      expect(id, failed.stderr).toBeDefined();
      expect(failed.stderr).toContain(`sending ${id} to bob`);
      // Kept, and shown as not stored with the retry.
      expect(cli("alice", ["chat", "status", id!]).stdout).toContain(
        `not stored (alpha: unreachable; beta: unreachable) — retry: postbox chat retry ${id}`,
      );
      const { timestamp } = JSON.parse(cli("alice", ["chat", "status", id!, "--json"]).stdout) as {
        timestamp: number;
      };
      return { id: id!, timestamp };
    };
    const first = send("are you there?");
    const second = send("hello?");
    await Promise.all([alpha.restart(), beta.restart()]);

    /** Retries; returns the id the message is stored under. */
    const retry = (m: { id: string; timestamp: number }) => {
      const before = Date.now();
      const out = cli("alice", ["chat", "retry", m.id]).stdout;
      const fresh = /^sealed again as ([0-9a-f]{16}) \(the first copy, ([0-9a-f]{16}), was too old/m.exec(
        out,
      );
      // Sealed again only when the first copy had left the 15 s window when the retry ran.
      if (fresh) expect(Date.now() - m.timestamp).toBeGreaterThan(15_000);
      else expect(before - m.timestamp).toBeLessThanOrEqual(15_000);
      if (fresh) expect(fresh[2]).toBe(m.id);
      const now = fresh?.[1] ?? m.id;
      expect(out).toContain(`sent ${now} · stored by alpha`);
      expect(out).toMatch(/receipt: stored by mailbox 0x[0-9a-f]{40} until .+ \(alpha\)/);
      expect(cli("alice", ["chat", "status", now]).stdout).toMatch(/: stored by alpha$/m);
      // The replaced record is gone; retrying a stored message changes nothing.
      if (fresh)
        expect(run("alice", ["chat", "status", m.id]).stderr).toContain(
          `no message you sent has the id ${m.id}`,
        );
      expect(cli("alice", ["chat", "retry", now]).stdout).toContain(`${now} needs no retry: stored by alpha`);
      return { now, resealed: Boolean(fresh) };
    };
    // The first at once: pushed as it was while within 15 s of its timestamp, else sealed again.
    const { now: firstNow } = retry(first);
    // The second once it is too old for any mailbox: sealed again under a new id.
    await vi.waitFor(() => expect(Date.now() - second.timestamp).toBeGreaterThan(16_000), {
      timeout: 30_000,
    });
    const { now: secondNow, resealed } = retry(second);
    expect(resealed).toBe(true);

    // Bob gets each once; Alice's copies are the ones that were stored, and are delivered.
    const bob = read("bob", ["alice"]);
    for (const text of ["are you there?", "hello?"])
      expect(bob.filter((l) => l.text === text)).toHaveLength(1);
    const mine = read("alice", ["bob"]);
    for (const [text, now] of [
      ["are you there?", firstNow],
      ["hello?", secondNow],
    ] as const) {
      const copies = mine.filter((l) => l.text === text);
      expect(copies).toHaveLength(1);
      expect(copies[0]).toMatchObject({ state: "delivered" });
      expect(copies[0]!.messageId.startsWith(now)).toBe(true);
    }
  }, 180_000);
});
