// The SDK's browser entry in real Chromium against a paid devnet mailbox: a page built from
// `@postbox/client` (esbuild resolves the package's `browser` export condition) opens a channel
// from a devnet wallet through viem, catches up 1,000 room messages sent by two Node clients — in
// order, exactly once, verified on a Web Worker, paid with session-key vouchers — and shows a
// mailbox that lists no browser-dialable address as unreachable. The chain is then checked from
// Node: the mailbox redeemed exactly the page costs.
//
// Transports: plain WebSockets from an http://127.0.0.1 page. A mailbox on TLS (`/tls/ws`, issue
// 18's P5) is one more entry in TRANSPORTS: its devnet options and Chromium's certificate pin.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPostboxClient, type DialPolicy } from "@postbox/client";
import { mailboxRegistryAbi, paymentChannelsAbi } from "@postbox/contracts";
import { type Address, parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_KEYS, type Devnet, startDevnet } from "../../scripts/lib/devnet.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";
import { type BrowserHarness, RUN_BROWSER_TESTS, startBrowserHarness } from "../browser/harness.ts";

const PORT = await freePortBlock(28_000);
const MESSAGES = 1_000;
const ROOM = "#x";
const PQ = parseEther("0.01");
const PM = parseEther("0.0001");

/** What the page runs: the SDK exactly as an app imports it. */
const PAGE = `
import { createChannelManager, createPostboxClient } from "@postbox/client";
import { pinMailbox, pinnedMailbox, unpinMailbox } from "@postbox/client/settings";
import { createPublicClient, createWalletClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";

globalThis.postboxSuites = {};
globalThis.readRoom = async (p) => {
  const chain = { ...hardhat, rpcUrls: { default: { http: [p.rpc] } } };
  const publicClient = createPublicClient({ chain, transport: http(p.rpc) });
  const wallet = createWalletClient({ chain, account: privateKeyToAccount(p.walletKey), transport: http(p.rpc) });
  const channels = await createChannelManager({
    location: p.database, publicClient, wallet, chainId: p.chainId,
    snt: p.snt, registry: p.registry, channels: p.channels,
  });
  const channelEvents = [];
  channels.onEvent((e) => channelEvents.push(e.type));
  const client = await createPostboxClient({
    location: p.database, chain: { publicClient, registry: p.registry }, channels, channelDeposit: BigInt(p.deposit),
    dialPolicy: p.dialPolicy,
  });
  const events = [];
  client.onEvent((e) => events.push(e));
  await client.joinRoom(p.room, p.since);
  const started = performance.now();
  const [result] = await client.catchUp({ feed: "room:" + p.room.slice(1) });
  const catchUpMs = performance.now() - started;
  const messages = await client.messages("room:" + p.room.slice(1));
  const mailboxes = (await client.mailboxes()).map((m) => ({
    id: m.id, name: m.name, reachable: m.reachable, unreachableReason: m.unreachableReason ?? null, graylisted: m.graylisted,
  }));
  const connections = client.host.getConnections().map((c) => c.remoteAddr.toString());
  const record = channels.channelTo(p.payee);
  const out = {
    catchUpMs, pages: result.pages, envelopes: result.envelopes, added: result.added, skipped: result.skipped,
    served: result.served,
    messages: messages.map((m) => ({ id: m.id, messageId: m.messageId, version: m.version, timestamp: m.timestamp, text: m.text })),
    progress: events.filter((e) => e.type === "catch-up").map((e) => e.progress),
    mailboxEvents: events.filter((e) => e.type === "mailbox"),
    failovers: events.filter((e) => e.type === "failover"),
    mailboxes, connections, channelEvents,
    session: channels.session.address,
    record: record && { channelId: record.channelId, spent: record.spent, authorized: record.authorized },
  };
  await client.stop();
  await channels.close();
  // A discovery table's "Use this mailbox": written without the SDK, and what the client uses next.
  await pinMailbox(p.payee, p.database);
  const again = await createPostboxClient({ location: p.database, chain: { publicClient, registry: p.registry } });
  out.pin = { pinned: await again.directory.pinned(), listed: (await again.mailboxes()).filter((m) => m.pinned).map((m) => m.id) };
  await again.stop();
  await unpinMailbox(p.database);
  out.pin.after = (await pinnedMailbox(p.database)) ?? null;
  return out;
};
`;

interface Transport {
  name: string;
  /** What the page may dial: only this transport, so that each run proves its own. */
  dialPolicy: DialPolicy;
  /** The connections it made. */
  dialled: RegExp;
  /** Chromium flags (a wss mailbox: `--ignore-certificate-errors-spki-list=<pin>`). */
  chromiumArgs: string[];
}
const TRANSPORTS: Transport[] = [
  {
    name: "ws",
    dialPolicy: { tcp: false, ws: "any", wss: false, prefer: "wss" },
    dialled: /\/tcp\/\d+\/ws\/p2p\//,
    chromiumArgs: [],
  },
];
/** Each transport's reader pays from its own devnet wallet. */
const walletOf = (t: Transport) => 4 + TRANSPORTS.indexOf(t);

interface ReadRoomResult {
  catchUpMs: number;
  pages: number;
  envelopes: number;
  added: number;
  skipped: number;
  served: string[];
  messages: { id: string; messageId: string; version: number; timestamp: number; text: string }[];
  progress: { feed: string; mailbox: string; envelopes: number; fraction: number; estimatedTotal: number }[];
  mailboxEvents: { mailbox: string; state: string; error?: string }[];
  failovers: unknown[];
  mailboxes: {
    id: string;
    name: string | null;
    reachable: boolean;
    unreachableReason: string | null;
    graylisted: boolean;
  }[];
  connections: string[];
  channelEvents: string[];
  session: Address;
  record: { channelId: `0x${string}`; spent: string; authorized: string } | undefined;
  pin: { pinned: string; listed: string[]; after: string | null };
}

describe.skipIf(!RUN_BROWSER_TESTS)("the SDK in a browser, against a paid devnet mailbox", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-browser-sdk-"));
  let net: Devnet;
  let since: number;
  const sent: string[] = [];
  /** What each transport's reader paid: checked on-chain once alpha has redeemed. */
  const paid: { transport: string; record: NonNullable<ReadRoomResult["record"]>; costs: bigint }[] = [];
  const operator = (name: string) => net.mailboxes.find((m) => m.spec.name === name)!.operator;

  beforeAll(async () => {
    net = await startDevnet({
      dataDir: join(dir, "net"),
      basePort: PORT,
      mailboxes: [
        { name: "alpha", operator: 1, pricePerQuery: "0.01", pricePerMessage: "0.0001" },
        { name: "beta", operator: 2, pricePerQuery: "0.01", pricePerMessage: "0.0001" },
      ],
      stdio: "ignore",
    });
    // Beta lists only its TCP address: nothing a browser can dial.
    const beta = net.mailboxes.find((m) => m.spec.name === "beta")!;
    const wallet = net.wallet(beta.spec.operator);
    const entry = await net.publicClient.readContract({
      address: net.addresses.registry,
      abi: mailboxRegistryAbi,
      functionName: "getMailbox",
      args: [wallet.account.address],
    });
    const hash = await wallet.writeContract({
      address: net.addresses.registry,
      abi: mailboxRegistryAbi,
      functionName: "updateEndpoint",
      args: [entry.peerId, entry.multiaddrs.filter((a) => !a.endsWith("/ws")), entry.metadataURI],
    });
    await net.publicClient.waitForTransactionReceipt({ hash });

    // Two people post 1,000 messages to the room (the Node SDK, message format v2) while the
    // reader is away; both use alpha, which the reader will pay.
    since = Date.now() - 1_000;
    await Promise.all(
      [0, 1].map(async (s) => {
        const sender = await createPostboxClient({
          location: join(dir, `sender-${s}`),
          chain: { publicClient: net.publicClient, registry: net.addresses.registry },
        });
        try {
          await sender.directory.pin(operator("alpha"));
          const texts = Array.from({ length: MESSAGES / 2 }, (_, i) => `message ${s}-${i}`);
          sent.push(...texts);
          await sender.sendMany(ROOM, texts);
        } finally {
          await sender.stop();
        }
      }),
    );
  }, 300_000);

  afterAll(async () => {
    await net?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe.each(TRANSPORTS)("over $name", (transport) => {
    let h: BrowserHarness;
    let result: ReadRoomResult;

    beforeAll(async () => {
      h = await startBrowserHarness({
        entry: { contents: PAGE },
        // The pool's worker, where the page's module looks for it (next to it, as a bundler ships it).
        modules: { "open-page.worker": "packages/client/dist/platform/browser/open-page.worker.js" },
        args: transport.chromiumArgs,
      });
      const page = await h.newPage();
      const workers: string[] = [];
      page.on("worker", (w) => workers.push(new URL(w.url()).pathname));
      result = (await page.evaluate(
        (p) => (globalThis as never as { readRoom: (p: unknown) => unknown }).readRoom(p),
        {
          rpc: net.rpc,
          walletKey: DEV_KEYS[walletOf(transport)],
          chainId: net.addresses.chainId,
          snt: net.addresses.snt,
          registry: net.addresses.registry,
          channels: net.addresses.channels,
          payee: operator("alpha"),
          deposit: parseEther("10").toString(),
          database: `reader-${transport.name}`,
          room: ROOM,
          since,
          dialPolicy: transport.dialPolicy,
        },
      )) as ReadRoomResult;
      // The pages were opened on the SDK's Web Worker (started with the catch-up, stopped with the client).
      expect(workers).toContain("/open-page.worker.js");
    }, 300_000);
    afterAll(() => h?.close());

    it("catches up every message of the room, in order and exactly once, from the mailbox it can dial", () => {
      const { messages } = result;
      console.info(
        `browser catch-up over ${transport.name}: ${MESSAGES} messages in ${Math.round(result.catchUpMs)} ms (${result.pages} paid pages)`,
      );
      expect(messages).toHaveLength(MESSAGES);
      expect(new Set(messages.map((m) => m.id)).size).toBe(MESSAGES);
      expect(new Set(messages.map((m) => m.messageId)).size).toBe(MESSAGES);
      expect(messages.map((m) => m.text).sort()).toEqual([...sent].sort());
      expect(messages.every((m) => m.version === 2)).toBe(true);
      const order = [...messages].sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : 1));
      expect(messages.map((m) => m.id)).toEqual(order.map((m) => m.id));
      expect(result).toMatchObject({ added: MESSAGES, envelopes: MESSAGES, skipped: 0, failovers: [] });
      expect(new Set(result.served)).toEqual(new Set([operator("alpha").toLowerCase()]));
      // Over WebSockets, to alpha only.
      expect(result.connections.length).toBeGreaterThan(0);
      expect(result.connections.filter((a) => !transport.dialled.test(a))).toEqual([]);
      expect(h.problems, "the browser reported errors").toEqual([]);
    });

    it("reports progress with an estimate of the total, ending at every message", () => {
      const { progress } = result;
      expect(progress.length).toBe(result.pages);
      expect(progress.map((p) => p.envelopes)).toEqual(
        [...progress.map((p) => p.envelopes)].sort((a, b) => a - b),
      );
      expect(progress.at(-1)).toMatchObject({ fraction: 1, envelopes: MESSAGES, estimatedTotal: MESSAGES });
      // Along the way the estimate is of the whole, not of what arrived so far.
      const mid = progress.find((p) => p.fraction > 0 && p.fraction < 1);
      expect(mid!.estimatedTotal).toBeGreaterThan(mid!.envelopes);
      expect(result.mailboxEvents).toContainEqual(
        expect.objectContaining({ mailbox: operator("alpha").toLowerCase(), state: "connected" }),
      );
    });

    it("uses the mailbox pinned through @postbox/client/settings (without the SDK), until unpinned", () => {
      const alpha = operator("alpha").toLowerCase();
      expect(result.pin).toEqual({ pinned: alpha, listed: [alpha], after: null });
    });

    it("shows a mailbox with no browser-dialable address as unreachable, never graylisted", () => {
      const beta = result.mailboxes.find((m) => m.id === operator("beta").toLowerCase())!;
      expect(beta).toMatchObject({
        reachable: false,
        graylisted: false,
        unreachableReason: "no browser-reachable address: needs /tls/ws",
      });
      expect(result.mailboxes.find((m) => m.id === operator("alpha").toLowerCase())).toMatchObject({
        reachable: true,
      });
      expect(result.mailboxEvents).toContainEqual({
        type: "mailbox",
        mailbox: operator("beta").toLowerCase(),
        state: "unreachable",
        error: "no browser-reachable address: needs /tls/ws",
      });
    });

    it("pays with session-key vouchers on a channel its wallet opened, for exactly the page costs", async () => {
      const record = result.record!;
      expect(result.channelEvents).toEqual(["opening", "opened"]);
      const channel = await net.publicClient.readContract({
        address: net.addresses.channels,
        abi: paymentChannelsAbi,
        functionName: "getChannel",
        args: [record.channelId],
      });
      expect(channel.payer.toLowerCase()).toBe(net.wallet(walletOf(transport)).account.address.toLowerCase());
      expect(channel.payee.toLowerCase()).toBe(operator("alpha").toLowerCase());
      // The wallet opened it; the page's session key signed every voucher (no wallet prompt per page).
      expect(channel.signer).toBe(result.session);
      const costs = PQ * BigInt(result.pages) + PM * BigInt(MESSAGES);
      expect(BigInt(record.spent)).toBe(costs);
      paid.push({ transport: transport.name, record, costs });
    });
  });

  it("settles on-chain: the mailbox redeems exactly what each page's catch-up cost", async () => {
    expect(paid.map((p) => p.transport)).toEqual(TRANSPORTS.map((t) => t.name));
    // A mailbox redeems what it earned as it stops (SIGTERM).
    await net.mailboxes.find((m) => m.spec.name === "alpha")!.stop();
    for (const { record, costs } of paid) {
      const channel = await net.publicClient.readContract({
        address: net.addresses.channels,
        abi: paymentChannelsAbi,
        functionName: "getChannel",
        args: [record.channelId],
      });
      expect(channel.paid).toBe(costs);
    }
  });
});
