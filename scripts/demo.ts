// `npm run demo`: plays story A (1:1 while offline), story B (a public room missed) and a group
// catch-up end to end on a local network of its own (a Hardhat chain, the contracts and two paid
// mailboxes, each its own process), as separate users with their own identities, data folders and
// wallets, narrating each step. It prints `story A: ok`, `story B: ok` and `group: ok`, and exits 0
// only when every message arrived once, in order, and every payment balances on-chain.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Address, formatEther, parseEther } from "viem";

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
const { ChannelManager, PostboxClient } = await import("@postbox/client");
const { paymentChannelsAbi } = await import("@postbox/contracts");
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
  const user = (name: string, key: number) => {
    const channels = new ChannelManager({
      dataDir: join(dir, name),
      publicClient: net.publicClient,
      wallet: net.wallet(key),
      chainId: net.addresses.chainId,
      snt: net.addresses.snt,
      registry: net.addresses.registry,
      channels: net.addresses.channels,
    });
    return {
      channels,
      client: new PostboxClient({
        dataDir: join(dir, name),
        chain,
        channels,
        channelDeposit: parseEther("20"),
      }),
    };
  };
  const names = { alice: 4, bob: 5, carol: 6, dave: 7 } as const;
  const people = Object.fromEntries(Object.entries(names).map(([n, k]) => [n, user(n, k)])) as Record<
    keyof typeof names,
    ReturnType<typeof user>
  >;
  for (const [n, p] of Object.entries(people))
    for (const [o, q] of Object.entries(people)) if (n !== o) p.client.addContact(o, q.client.publicKey);

  const expectTexts = (got: string[], want: string[], what: string) => {
    if (JSON.stringify(got) !== JSON.stringify(want))
      fail(`${what}: expected ${want.length} messages in order, got ${got.length}`);
  };
  // After a catch-up the reader's client settles (a voucher for exactly what it was charged) and
  // the mailbox redeems it; the chain must then show what the client counted, to the wei.
  const balance = async (who: keyof typeof names) => {
    const { channels } = people[who];
    for (const m of net.mailboxes) {
      const record = channels.channelTo(m.operator as Address);
      if (!record) continue;
      const spent = BigInt(record.spent);
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
        if (paid === spent) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      step(
        who,
        `paid mailbox ${m.spec.name} ${formatEther(spent)} SNT; redeemed on-chain: ${formatEther(paid)} SNT`,
      );
      if (paid !== spent) fail(`${who}'s channel to ${m.spec.name}: spent ${spent}, redeemed ${paid}`);
    }
  };

  // ------------------------------------------------------------ story A
  say("\nStory A: Bob writes to Alice while she is offline");
  step("alice", "is offline");
  const aTexts = ["Hi Alice!", "Lunch tomorrow?", "Call me when you're back."];
  for (const text of aTexts) {
    const r = await people.bob.client.send("alice", text);
    step(
      "bob",
      `sent "${text}" · stored by mailbox ${r.receipts.map((x) => x.mailbox).join(", ")} (signed receipt)`,
    );
  }
  step("bob", "goes offline");
  await people.bob.client.stop();
  step("alice", "comes back and catches up from her mailbox");
  const a = await people.alice.client.catchUp({ feed: "inbox" });
  step("alice", `${a[0]!.added} new messages in ${a[0]!.pages} paid page(s) from ${a[0]!.served.join(", ")}`);
  const fromBob = people.alice.client.messages(people.alice.client.conversationOf("bob"));
  for (const m of fromBob) step("alice", `  bob: ${m.text}`);
  expectTexts(
    fromBob.map((m) => m.text),
    aTexts,
    "story A",
  );
  await balance("alice");
  say("story A: ok");

  // ------------------------------------------------------------ story B
  const N = 500;
  say(`\nStory B: Alice misses ${N} messages in #x`);
  for (const p of ["alice", "carol", "dave"] as const) people[p].client.joinRoom("#x", Date.now() - 1_000);
  step("alice", "goes offline");
  await people.alice.client.stop();
  const alice2 = user("alice", names.alice);
  const sent: string[] = [];
  for (const who of ["carol", "dave"] as const) {
    const texts = Array.from({ length: N / 2 }, (_, i) => `${who} says ${i}`);
    const r = await people[who].client.sendMany("#x", texts);
    step(who, `posted ${r.sent} messages to #x (${r.confirmed} confirmed stored, ${r.pushed} pushed)`);
    sent.push(...texts);
  }
  step("alice", "comes back and catches up #x");
  let lastTenth = -1;
  const b = await alice2.client.catchUp({
    feed: "room:x",
    onProgress: (p) => {
      const tenth = Math.floor(p.fraction * 10);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        step("alice", `  … ${Math.round(p.fraction * 100)}% (${p.envelopes} envelopes, ${p.pages} pages)`);
      }
    },
  });
  const room = alice2.client.messages("room:x");
  step("alice", `${b[0]!.added} new messages in ${b[0]!.pages} paid pages`);
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
  people.alice = alice2;
  await balance("alice");
  say("story B: ok");

  // ------------------------------------------------------------ group
  say("\nA group: Carol and Dave talk while Bob is away");
  const group = people.carol.client.createGroup();
  people.dave.client.joinGroup(group.id, group.key);
  const bob2 = user("bob", names.bob);
  bob2.client.joinGroup(group.id, group.key, Date.now() - 1_000);
  step("carol", `created group ${group.id.slice(0, 8)}… and shared its key with Dave and Bob`);
  const gTexts = ["Party on Friday?", "Yes! I'll bring cake", "Bob, are you in?"];
  await people.carol.client.send(`group:${group.id}`, gTexts[0]!);
  await people.dave.client.send(`group:${group.id}`, gTexts[1]!);
  await people.carol.client.send(`group:${group.id}`, gTexts[2]!);
  step("bob", "comes back and catches up the group");
  await bob2.client.catchUp({ feed: `group:${group.id}` });
  const g = bob2.client.messages(`group:${group.id}`);
  for (const m of g)
    step("bob", `  ${m.sender === people.carol.client.publicKey ? "carol" : "dave"}: ${m.text}`);
  expectTexts(
    g.map((m) => m.text),
    gTexts,
    "group",
  );
  people.bob = bob2;
  await balance("bob");
  say("group: ok");
  for (const p of Object.values(people)) await p.client.stop();
} catch (err) {
  failed = true;
  console.error(`demo failed: ${(err as Error).message}`);
} finally {
  await net.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
