// `npm run bench -- paid [--json] [--envelopes N]`
//
// The cost of payment: the same mailbox, archive, pages and concurrency, first in paid mode (every
// page carries a voucher on a real channel — Hardhat's in-process chain — verified and committed
// with its charge), then in free mode. 16 readers, one channel each, 100-envelope pages, 10 s each.
// - paidPagesPerSec, freePagesPerSec, paidToFreeRatio (goal ≥ 0.9);
// - voucherVerifyPerSec: off-chain voucher verification (EIP-712 digest + ecrecover) on one core.
// The mailbox and the readers share this process (and its two cores) in both runs.

import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { ChannelManager, type ClientHost, createClientHost, queryStore } from "@postbox/client";
import { deployPostbox, mailboxRegistryAbi, networkParameters, sntAbi } from "@postbox/contracts";
import { loadConfig, MailboxNode, SqliteArchive, type StoredEnvelope } from "@postbox/node";
import { createEnvelope, StatusCode, signVoucher, verifyVoucher } from "@postbox/protocol";
import { network } from "hardhat";
import { pino } from "pino";
import { type Address, encodeFunctionData, type Hex, parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

const argv = process.argv.slice(2);
const opt = (name: string, def: number) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : def);
const N = opt("--envelopes", 100_000);
const TOPICS = 100;
const READERS = 16;
const DURATION_MS = 10_000;
const OPERATOR_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const log = (m: string) => process.stderr.write(`bench paid: ${m}\n`);
const topic = (i: number) => `/bench/paid/${i}`;

const dir = mkdtempSync(join(tmpdir(), "postbox-bench-paid-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------- chain and channels
const { viem } = await network.connect();
const publicClient = await viem.getPublicClient();
const [deployer, operatorWallet] = await viem.getWalletClients();
const a = await deployPostbox({
  publicClient,
  walletClient: deployer!,
  parameters: networkParameters.local,
  initialSupply: parseEther("10000000"),
});
const send = async (w: typeof deployer, to: Address, data: Hex) => {
  const r = await publicClient.waitForTransactionReceipt({ hash: await w!.sendTransaction({ to, data }) });
  if (r.status !== "success") throw new Error("transaction failed");
};
await send(
  deployer,
  a.snt,
  encodeFunctionData({
    abi: sntAbi,
    functionName: "transfer",
    args: [operatorWallet!.account.address, parseEther("10000")],
  }),
);
await send(
  operatorWallet,
  a.snt,
  encodeFunctionData({
    abi: sntAbi,
    functionName: "approveAndCall",
    args: [
      a.registry,
      parseEther("1000"),
      encodeFunctionData({
        abi: mailboxRegistryAbi,
        functionName: "register",
        args: ["p", ["/ip4/127.0.0.1/tcp/1"], "", 0n, parseEther("0.001"), parseEther("0.00001"), 86_400n],
      }),
    ],
  }),
);
const operator = operatorWallet!.account.address;

// ---------------------------------------------------------------- archive
const dataDir = join(dir, "mailbox");
{
  const archive = new SqliteArchive({ path: join(dataDir, "archive.sqlite") });
  const payload = new Uint8Array(1024);
  const now = Date.now();
  for (let done = 0; done < N; done += 10_000) {
    const batch: StoredEnvelope[] = [];
    for (let i = done; i < Math.min(N, done + 10_000); i++) {
      new DataView(payload.buffer).setUint32(0, i);
      batch.push({
        ...createEnvelope({
          contentTopic: topic(i % TOPICS),
          timestamp: BigInt(now - 86_400_000 + i),
          payload: payload.slice(),
        }),
        receivedAt: now,
      });
    }
    await archive.insert(batch);
  }
  await archive.close();
  log(`archive: ${N.toLocaleString()} envelopes over ${TOPICS} topics`);
}

async function run(paid: boolean): Promise<number> {
  const node = await MailboxNode.create(
    loadConfig({
      flags: {
        dataDir,
        listen: ["/ip4/127.0.0.1/tcp/0"],
        http: { port: 0 },
        logLevel: "silent",
        free: !paid,
        rateLimit: { queriesPerSecond: 100_000 },
        chain: {
          rpcUrl: "http://127.0.0.1:1",
          chainId: a.chainId,
          registry: a.registry,
          channels: a.channels,
          operatorKey: OPERATOR_KEY,
        },
        payments: { exposureCap: "1000000", redeemMin: "1000000" },
      },
    }),
    { logger: pino({ level: "silent" }), chainClients: { publicClient, walletClient: operatorWallet! } },
  );
  await node.start();
  const to = node.libp2p.getMultiaddrs();
  const wallets = await viem.getWalletClients();
  const readers: { host: ClientHost; channels?: ChannelManager }[] = [];
  for (let r = 0; r < READERS; r++) {
    const host = await createClientHost();
    await host.start();
    await host.dial(to);
    let channels: ChannelManager | undefined;
    if (paid) {
      // One payer per reader (Hardhat's funded accounts 2..), each with its own channel.
      const payer = wallets[2 + (r % (wallets.length - 2))]!;
      await send(
        deployer,
        a.snt,
        encodeFunctionData({
          abi: sntAbi,
          functionName: "transfer",
          args: [payer.account.address, parseEther("2000")],
        }),
      );
      channels = new ChannelManager({
        dataDir: join(dir, `reader-${r}`),
        publicClient,
        wallet: payer,
        chainId: a.chainId,
        snt: a.snt,
        registry: a.registry,
        channels: a.channels,
      });
      await channels.open(operator, parseEther("1000"));
    }
    readers.push({ host, ...(channels ? { channels } : {}) });
  }
  let pages = 0;
  const until = Date.now() + DURATION_MS;
  const started = performance.now();
  await Promise.all(
    readers.map(async ({ host, channels }, r) => {
      let t = r;
      while (Date.now() < until) {
        t = (t + READERS) % TOPICS;
        const res = await queryStore(host, node.libp2p.peerId, {
          contentTopics: [topic(t)],
          pageSize: 100,
          ...(channels ? { voucher: await channels.voucherFor(operator, 100) } : {}),
        });
        if (res.status !== StatusCode.OK || res.envelopes.length !== 100)
          throw new Error(`reader ${r}: ${res.statusDesc}`);
        channels?.record(operator, res);
        pages++;
      }
    }),
  );
  const perSec = Math.round(pages / ((performance.now() - started) / 1000));
  await Promise.all(readers.map(({ host }) => host.stop()));
  await node.stop();
  return perSec;
}

const paidPagesPerSec = await run(true);
log(`paid: ${paidPagesPerSec} pages/s`);
const freePagesPerSec = await run(false);
log(`free: ${freePagesPerSec} pages/s`);

// ---------------------------------------------------------------- voucher verification
const key = privateKeyToAccount(generatePrivateKey());
const domain = { chainId: a.chainId, verifyingContract: a.channels };
const vouchers = await Promise.all(
  Array.from({ length: 2_000 }, async (_, i) => {
    const voucher = {
      channelId: `0x${(i + 1).toString(16).padStart(64, "0")}` as Hex,
      cumulativeAmount: BigInt(i + 1),
    };
    return { voucher, signature: await signVoucher(key, domain, voucher) };
  }),
);
const t0 = performance.now();
for (const { voucher, signature } of vouchers) await verifyVoucher(domain, voucher, signature, key.address);
const voucherVerifyPerSec = Math.round(vouchers.length / ((performance.now() - t0) / 1000));
log(`${voucherVerifyPerSec} vouchers verified per second`);

const result = {
  envelopes: N,
  readers: READERS,
  paidPagesPerSec,
  freePagesPerSec,
  paidToFreeRatio: Math.round((paidPagesPerSec / freePagesPerSec) * 100) / 100,
  voucherVerifyPerSec,
  machine: `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.versions.node}`,
};
if (argv.includes("--json")) console.log(JSON.stringify(result));
else console.log(result);
process.exit(0);
