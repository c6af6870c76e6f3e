// `npm run demo`: plays story A (1:1 while offline), story B (a public room missed) and a group
// catch-up end to end on a local network of its own (a Hardhat chain, the contracts and two paid
// mailboxes, each its own process), as separate users with their own identities, data folders and
// wallets, narrating each step. In story A the sender writes to mailbox alpha and the reader reads
// from mailbox beta: the messages cross between mailboxes over gossip. Each story prints its own
// cost (the sum of its pages at the mailbox's registry price, which must equal what the channel
// was charged), then each channel's running total, which must equal what was redeemed on-chain.
// It prints `story A: ok`, `story B: ok` and `group: ok`, and exits 0 only when every message
// arrived once, in order, and every payment balances.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Address } from "viem";
import type { RunningMailbox } from "./lib/devnet.ts";

// The workspace packages (and the devnet library, which uses them) are imported after the build
// below: on a fresh clone their dist/ folders do not exist until then.
const ROOT = resolve(import.meta.dirname, "..");

const say = (line: string) => console.log(line);
const step = (who: string, line: string) => console.log(`  ${who.padEnd(6)} ${line}`);
const fail = (why: string): never => {
  throw new Error(why);
};

if (process.argv.includes("--no-build") === false) {
  const build = spawnSync("node", ["scripts/build.ts"], {
    stdio: ["ignore", "ignore", "inherit"],
    cwd: ROOT,
  });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const { createChannelManager, createPostboxClient } = await import("@postbox/client");
const { mailboxRegistryAbi, paymentChannelsAbi } = await import("@postbox/contracts");
const { formatSnt, pageCost, parseSnt } = await import("@postbox/protocol");
const { startDevnet } = await import("./lib/devnet.ts");
const { freePortBlock } = await import("./lib/ports.ts");
const dir = mkdtempSync(join(tmpdir(), "postbox-demo-"));
const port = await freePortBlock(22_000);
// The mailboxes redeem whatever is settled every second (not after 1 SNT, every minute), so the
// demo can watch each payment land on-chain.
const config = join(dir, "mailbox.json");
writeFileSync(
  config,
  JSON.stringify({ payments: { redeemMin: "0.000000000000000001", redeemInterval: "1s" } }),
);
say("Starting a local network: a Hardhat chain, the contracts, two paid mailboxes…");
const net = await startDevnet({
  dataDir: join(dir, "net"),
  basePort: port,
  mailboxes: [
    {
      name: "alpha",
      operator: 1,
      pricePerQuery: "0.01",
      pricePerMessage: "0.0001",
      flags: ["--config", config],
    },
    {
      name: "beta",
      operator: 2,
      pricePerQuery: "0.02",
      pricePerMessage: "0.00005",
      flags: ["--config", config],
    },
  ],
  stdio: "ignore",
});
let failed = false;
try {
  for (const m of net.mailboxes)
    say(
      `  mailbox ${m.spec.name}: ${m.addr} (operator ${m.operator}, ${m.spec.pricePerQuery} SNT/page + ${m.spec.pricePerMessage} SNT/message)`,
    );

  const chain = { publicClient: net.publicClient, registry: net.addresses.registry };
  // A person's client and channels, opened from their data folder (again after going offline).
  const user = async (name: string, key: number) => {
    const channels = await createChannelManager({
      dataDir: join(dir, name),
      publicClient: net.publicClient,
      wallet: net.wallet(key),
      chainId: net.addresses.chainId,
      snt: net.addresses.snt,
      registry: net.addresses.registry,
      channels: net.addresses.channels,
    });
    const client = await createPostboxClient({
      dataDir: join(dir, name),
      chain,
      channels,
      channelDeposit: parseSnt("20"),
    });
    return {
      channels,
      client,
      /** Goes offline: the client stops and the channel records are written and closed. */
      stop: async () => {
        await client.stop();
        await channels.close();
      },
    };
  };
  type Person = Awaited<ReturnType<typeof user>>;
  const names = { alice: 4, bob: 5, carol: 6, dave: 7 } as const;
  const people = Object.fromEntries(
    await Promise.all(Object.entries(names).map(async ([n, k]) => [n, await user(n, k)] as const)),
  ) as Record<keyof typeof names, Person>;
  for (const [n, p] of Object.entries(people))
    for (const [o, q] of Object.entries(people))
      if (n !== o) await p.client.addContact(o, q.client.publicKey);

  const expectTexts = (got: string[], want: string[], what: string) => {
    if (JSON.stringify(got) !== JSON.stringify(want))
      fail(`${what}: expected ${want.length} messages in order, got ${got.length}`);
  };
  // Exact amounts: a page of beta's costs 0.02 + n × 0.00005 SNT, which four decimals would cut.
  const snt = (amount: bigint, unit = true) => formatSnt(amount, { digits: 18, unit });
  const byId = new Map(net.mailboxes.map((m) => [m.operator.toLowerCase(), m]));
  const nameOf = (id: string) => byId.get(id)?.spec.name ?? id;
  const prices = new Map<string, { pricePerQuery: bigint; pricePerMessage: bigint }>();
  for (const m of net.mailboxes) {
    const entry = await net.publicClient.readContract({
      address: net.addresses.registry,
      abi: mailboxRegistryAbi,
      functionName: "getMailbox",
      args: [m.operator],
    });
    prices.set(m.operator.toLowerCase(), entry);
  }

  // What each reader's channel to each mailbox has spent, from the client's own records.
  const spent = (who: keyof typeof names) =>
    new Map(
      net.mailboxes.map((m) => [m.spec.name, BigInt(people[who].channels.channelTo(m.operator)?.spent ?? 0)]),
    );
  // Which stories each channel paid for, to say what its running total covers.
  const paidFor = new Map<string, string[]>();

  /**
   * Records a catch-up's pages (mailbox, envelopes returned) from its progress, then checks that the
   * story cost its reader exactly the sum of its pages at the registry's prices, and prints both.
   */
  const pageLog = () => {
    const pages: { mailbox: string; envelopes: number }[] = [];
    let seen = 0;
    return {
      pages,
      record: (p: { mailbox: string; envelopes: number }) => {
        pages.push({ mailbox: p.mailbox, envelopes: p.envelopes - seen });
        seen = p.envelopes;
      },
    };
  };
  const storyCost = (
    story: string,
    who: keyof typeof names,
    before: Map<string, bigint>,
    pages: { mailbox: string; envelopes: number }[],
  ) => {
    const after = spent(who);
    let charged = 0n;
    for (const [name, amount] of after) {
      const delta = amount - (before.get(name) ?? 0n);
      charged += delta;
      if (delta > 0n) paidFor.set(`${who}:${name}`, [...(paidFor.get(`${who}:${name}`) ?? []), story]);
    }
    const costs = pages.map((p) => pageCost(prices.get(p.mailbox)!, p.envelopes));
    const sum = costs.reduce((a, b) => a + b, 0n);
    const from = [...new Set(pages.map((p) => nameOf(p.mailbox)))].join(" and ");
    step(
      who,
      `${story} cost ${snt(charged)} = ${pages.length} page${pages.length === 1 ? "" : "s"} from mailbox ${from}: ${costs.map((c) => snt(c, false)).join(" + ")}`,
    );
    if (charged !== sum) fail(`${story}: charged ${charged}, but its pages cost ${sum}`);
  };

  // After a catch-up the reader's client settles (a voucher for exactly what it was charged) and
  // the mailbox redeems it; the chain must then show the channel's running total, to the wei.
  const balance = async (who: keyof typeof names) => {
    const { channels } = people[who];
    for (const m of net.mailboxes) {
      const record = channels.channelTo(m.operator as Address);
      if (!record) continue;
      const total = BigInt(record.spent);
      let paid = 0n;
      for (let i = 0; i < 300; i++) {
        paid = (
          await net.publicClient.readContract({
            address: net.addresses.channels,
            abi: paymentChannelsAbi,
            functionName: "getChannel",
            args: [record.channelId],
          })
        ).paid;
        if (paid === total) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const stories = paidFor.get(`${who}:${m.spec.name}`) ?? [];
      step(
        who,
        `channel to mailbox ${m.spec.name}: ${snt(total)} spent in all (${stories.length ? stories.join(", ") : "nothing yet"}); redeemed on-chain: ${snt(paid)}`,
      );
      if (paid !== total) fail(`${who}'s channel to ${m.spec.name}: spent ${total}, redeemed ${paid}`);
    }
  };

  // The mailboxes archive what each other receives (a push is relayed over gossip): wait until
  // they all hold the same number of envelopes before a reader relies on one of them.
  const converged = async (): Promise<number> => {
    for (let i = 0; ; i++) {
      const counts = await Promise.all(
        net.mailboxes.map(
          async (m) => ((await (await fetch(`${m.http}/health`)).json()) as { envelopes: number }).envelopes,
        ),
      );
      if (counts.every((c) => c === counts[0])) return counts[0]!;
      if (i > 300) fail(`the mailboxes disagree after 30 s: ${counts.join(" vs ")} envelopes`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  // ------------------------------------------------------------ story A
  const [alpha, beta] = net.mailboxes as [RunningMailbox, RunningMailbox];
  say("\nStory A: Bob writes to Alice while she is offline, through mailbox alpha; she reads from beta");
  await people.bob.client.directory.pin(alpha.operator);
  await people.alice.client.directory.pin(beta.operator);
  step("bob", "uses mailbox alpha (pinned)");
  step("alice", "uses mailbox beta (pinned), and is offline");
  const aTexts = ["Hi Alice!", "Lunch tomorrow?", "Call me when you're back."];
  const aStoredBy = new Set<string>();
  for (const text of aTexts) {
    const r = await people.bob.client.send("alice", text);
    for (const x of r.receipts) aStoredBy.add(nameOf(x.mailbox));
    step(
      "bob",
      `sent "${text}" · stored by mailbox ${r.receipts.map((x) => nameOf(x.mailbox)).join(", ")} (signed receipt)`,
    );
  }
  step("bob", "goes offline");
  await people.bob.stop();
  const held = await converged();
  step("beta", `holds them too: alpha relayed them over gossip (both mailboxes hold ${held} envelopes)`);
  step("alice", "comes back and catches up from mailbox beta");
  const aBefore = spent("alice");
  const aPages = pageLog();
  const a = await people.alice.client.catchUp({ feed: "inbox", onProgress: aPages.record });
  const aServed = a[0]!.served.map(nameOf);
  step(
    "alice",
    `${a[0]!.added} new messages in ${a[0]!.pages} paid page(s) from mailbox ${aServed.join(", ")}`,
  );
  const fromBob = await people.alice.client.messages(await people.alice.client.conversationOf("bob"));
  for (const m of fromBob) step("alice", `  bob: ${m.text}`);
  expectTexts(
    fromBob.map((m) => m.text),
    aTexts,
    "story A",
  );
  if ([...aStoredBy].join() !== alpha.spec.name || aServed.join() !== beta.spec.name)
    fail(
      `story A: written to ${[...aStoredBy].join(", ")} and read from ${aServed.join(", ")}, not alpha then beta`,
    );
  say(`story A: crossed mailboxes (written to ${alpha.spec.name}, read from ${beta.spec.name})`);
  storyCost("story A", "alice", aBefore, aPages.pages);
  await balance("alice");
  say("story A: ok");

  // ------------------------------------------------------------ story B
  const N = 500;
  say(`\nStory B: Alice misses ${N} messages in #x`);
  for (const p of ["alice", "carol", "dave"] as const)
    await people[p].client.joinRoom("#x", Date.now() - 1_000);
  step("alice", "goes offline");
  await people.alice.stop();
  const sent: string[] = [];
  for (const who of ["carol", "dave"] as const) {
    const texts = Array.from({ length: N / 2 }, (_, i) => `${who} says ${i}`);
    const r = await people[who].client.sendMany("#x", texts);
    step(who, `posted ${r.sent} messages to #x (${r.confirmed} confirmed stored, ${r.pushed} pushed)`);
    sent.push(...texts);
  }
  await converged();
  step("alice", "comes back and catches up #x");
  people.alice = await user("alice", names.alice);
  const alice2 = people.alice;
  let lastTenth = -1;
  const bBefore = spent("alice");
  const bPages = pageLog();
  const b = await alice2.client.catchUp({
    feed: "room:x",
    onProgress: (p) => {
      bPages.record(p);
      const tenth = Math.floor(p.fraction * 10);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        step("alice", `  … ${Math.round(p.fraction * 100)}% (${p.envelopes} envelopes, ${p.pages} pages)`);
      }
    },
  });
  const room = await alice2.client.messages("room:x");
  step(
    "alice",
    `${b[0]!.added} new messages in ${b[0]!.pages} paid pages from mailbox ${b[0]!.served.map(nameOf).join(", ")}`,
  );
  if (room.length !== N || new Set(room.map((m) => m.id)).size !== N)
    fail(`story B: ${room.length} of ${N} arrived`);
  if (new Set(room.map((m) => m.text)).size !== N || !sent.every((t) => room.some((m) => m.text === t)))
    fail("story B: the messages differ from those sent");
  for (let i = 1; i < room.length; i++) {
    const x = room[i - 1]!;
    const y = room[i]!;
    if (x.timestamp > y.timestamp || (x.timestamp === y.timestamp && x.id > y.id))
      fail("story B: out of order");
  }
  storyCost("story B", "alice", bBefore, bPages.pages);
  await balance("alice");
  say("story B: ok");

  // ------------------------------------------------------------ group
  say("\nA group: Carol and Dave talk while Bob is away");
  const group = await people.carol.client.createGroup();
  await people.dave.client.joinGroup(group.id, group.key);
  people.bob = await user("bob", names.bob);
  const bob2 = people.bob;
  await bob2.client.joinGroup(group.id, group.key, Date.now() - 1_000);
  step("carol", `created group ${group.id.slice(0, 8)}… and shared its key with Dave and Bob`);
  const gTexts = ["Party on Friday?", "Yes! I'll bring cake", "Bob, are you in?"];
  await people.carol.client.send(`group:${group.id}`, gTexts[0]!);
  await people.dave.client.send(`group:${group.id}`, gTexts[1]!);
  await people.carol.client.send(`group:${group.id}`, gTexts[2]!);
  await converged();
  step("bob", "comes back and catches up the group");
  const gBefore = spent("bob");
  const gPages = pageLog();
  const gc = await bob2.client.catchUp({ feed: `group:${group.id}`, onProgress: gPages.record });
  step(
    "bob",
    `${gc[0]!.added} new messages in ${gc[0]!.pages} paid page(s) from mailbox ${gc[0]!.served.map(nameOf).join(", ")}`,
  );
  const g = await bob2.client.messages(`group:${group.id}`);
  for (const m of g)
    step("bob", `  ${m.sender === people.carol.client.publicKey ? "carol" : "dave"}: ${m.text}`);
  expectTexts(
    g.map((m) => m.text),
    gTexts,
    "group",
  );
  storyCost("group", "bob", gBefore, gPages.pages);
  await balance("bob");
  say("group: ok");
  for (const p of Object.values(people)) await p.stop();
} catch (err) {
  failed = true;
  console.error(`demo failed: ${(err as Error).message}`);
} finally {
  await net.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
