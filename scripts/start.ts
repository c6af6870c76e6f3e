// `npm start [-- --reset]`: a whole local Postbox network in the foreground, on embedded defaults.
//
// What runs today: a Hardhat chain (chain id 31337, RPC http://127.0.0.1:8545) with SNT, the
// registry and the payment channels deployed; funded accounts; three mailboxes (their own
// processes, `postbox node start`) registered on-chain with different prices and serving in paid
// mode (pay with `postbox channel open` and vouchers). Ctrl-C stops everything; --reset wipes the
// data folder.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { privateKeyFromProtobuf } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { deployPostbox, mailboxRegistryAbi, networkParameters, sntAbi } from "@postbox/contracts";
import {
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  formatEther,
  http,
  parseEther,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";

const args = process.argv.slice(2);
const root = resolve(import.meta.dirname, "..");
const dataDir = join(root, ".postbox", "devnet");
const RPC = "http://127.0.0.1:8545";
const log = (msg: string) => console.log(`start: ${msg}`);

// Hardhat's well-known development accounts (public test keys; never use them on a real network).
const KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
] as const;

if (args.includes("--help") || args.includes("-h")) {
  console.log(
    "Usage: npm start [-- --reset]\n\n  --reset   delete .postbox/devnet (mailbox keys and archives) first",
  );
  process.exit(0);
}
if (args.includes("--reset") && existsSync(dataDir)) {
  rmSync(dataDir, { recursive: true, force: true });
  log(`reset ${dataDir}`);
}
mkdirSync(dataDir, { recursive: true });

const build = spawnSync("node", ["scripts/build.ts"], { stdio: "inherit", cwd: root });
if (build.status !== 0) process.exit(build.status ?? 1);

const children: ChildProcess[] = [];
let stopping = false;
async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    log("stopping…");
    for (const c of [...children].reverse()) c.kill("SIGTERM");
    await Promise.all(
      children.map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : null)),
    );
    log("stopped");
  }
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));
// If this script dies some other way, do not leave the network running.
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

// ---------------------------------------------------------------- chain
// Children run in their own process groups: Ctrl-C reaches only this script, which stops them in
// order (each gets exactly one SIGTERM and stops cleanly).
const chain = spawn("hardhat", ["node", "--hostname", "127.0.0.1", "--port", "8545"], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
  detached: true,
});
children.push(chain);
chain.on("exit", (code) => {
  if (!stopping) {
    console.error(`start: the chain exited (${code}); is port 8545 in use?`);
    void stopAll(1);
  }
});
const publicClient = createPublicClient({ chain: hardhat, transport: http(RPC) });
for (let i = 0; ; i++) {
  try {
    await publicClient.getChainId();
    break;
  } catch {
    if (i > 300) {
      console.error("start: the chain did not answer on 8545 within 60 s");
      await stopAll(1);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
const wallet = (i: number) =>
  createWalletClient({ chain: hardhat, transport: http(RPC), account: privateKeyToAccount(KEYS[i]!) });
const deployer = wallet(0);
const addresses = await deployPostbox({
  publicClient,
  walletClient: deployer,
  parameters: networkParameters.local,
  initialSupply: parseEther("100000000"),
});
log(
  `contracts deployed: SNT ${addresses.snt}, registry ${addresses.registry}, channels ${addresses.channels}`,
);
const send = async (w: ReturnType<typeof wallet>, to: `0x${string}`, data: `0x${string}`) => {
  const hash = await w.sendTransaction({ to, data });
  const r = await publicClient.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`transaction ${hash} reverted`);
};
for (let i = 1; i < KEYS.length; i++) {
  await send(
    deployer,
    addresses.snt,
    encodeFunctionData({
      abi: sntAbi,
      functionName: "transfer",
      args: [wallet(i).account.address, parseEther("1000000")],
    }),
  );
}

// ---------------------------------------------------------------- mailboxes
const bin = join(root, "packages", "cli", "bin", "postbox.js");
const MAILBOXES = [
  { name: "alpha", operator: 1, pricePerQuery: "0.01", pricePerMessage: "0.0001" },
  { name: "beta", operator: 2, pricePerQuery: "0.02", pricePerMessage: "0.00005" },
  { name: "gamma", operator: 3, pricePerQuery: "0.005", pricePerMessage: "0.0002" },
];
const started: { name: string; peerId: string; addr: string; http: string; operator: string }[] = [];
for (const [i, m] of MAILBOXES.entries()) {
  const dir = join(dataDir, `mailbox-${m.name}`);
  const tcp = 60_001 + i * 10;
  const listen = [`/ip4/127.0.0.1/tcp/${tcp}`, `/ip4/127.0.0.1/tcp/${tcp + 1}/ws`];
  const keyFile = join(dir, "operator.key");
  mkdirSync(dir, { recursive: true });
  writeFileSync(keyFile, KEYS[m.operator]!, { mode: 0o600 });
  const flags = [
    "node",
    "start",
    "--data-dir",
    dir,
    "--http-port",
    String(9_465 + i),
    "--log-level",
    "warn",
    "--rpc-url",
    RPC,
    "--chain-id",
    "31337",
    "--registry",
    addresses.registry,
    "--channels",
    addresses.channels,
    "--operator-key-file",
    keyFile,
  ];
  for (const l of listen) flags.push("--listen", l);
  for (const s of started) flags.push("--bootstrap", s.addr);
  const child = spawn(process.execPath, [bin, ...flags], {
    stdio: ["ignore", "inherit", "inherit"],
    detached: true,
  });
  children.push(child);
  child.on("exit", (code) => {
    if (!stopping) {
      console.error(`start: mailbox ${m.name} exited (${code})`);
      void stopAll(1);
    }
  });
  const peerKeyFile = join(dir, "peer.key");
  for (let t = 0; !existsSync(peerKeyFile); t++) {
    if (t > 200) throw new Error(`mailbox ${m.name} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 100));
  const peerId = peerIdFromPrivateKey(privateKeyFromProtobuf(readFileSync(peerKeyFile))).toString();
  const operator = wallet(m.operator);
  const entry = await publicClient.readContract({
    address: addresses.registry,
    abi: mailboxRegistryAbi,
    functionName: "getMailbox",
    args: [operator.account.address],
  });
  if (entry.status === 0) {
    // Register in one transaction: SNT approveAndCall into the registry.
    const stake = networkParameters.local.minStake * 2n;
    const call = encodeFunctionData({
      abi: mailboxRegistryAbi,
      functionName: "register",
      args: [
        peerId,
        listen,
        `postbox-devnet:${m.name}`,
        0n,
        parseEther(m.pricePerQuery),
        parseEther(m.pricePerMessage),
        30n * 86_400n,
      ],
    });
    await send(
      operator,
      addresses.snt,
      encodeFunctionData({
        abi: sntAbi,
        functionName: "approveAndCall",
        args: [addresses.registry, stake, call],
      }),
    );
  }
  started.push({
    name: m.name,
    peerId,
    addr: `${listen[0]}/p2p/${peerId}`,
    http: `http://127.0.0.1:${9_465 + i}`,
    operator: operator.account.address,
  });
}

const count = await publicClient.readContract({
  address: addresses.registry,
  abi: mailboxRegistryAbi,
  functionName: "mailboxCount",
});
console.log(`
Postbox devnet is running (Ctrl-C stops everything; npm start -- --reset starts from scratch)

  chain       ${RPC}  (chain id 31337, Hardhat)
  SNT         ${addresses.snt}
  registry    ${addresses.registry}  (${count} mailboxes registered)
  channels    ${addresses.channels}
  parameters  price delay ${networkParameters.local.priceDelay}s, unbonding ${networkParameters.local.unbondingPeriod}s, close grace ${networkParameters.local.closeGrace}s

  mailboxes (paid mode: prices from the registry; metrics and health on their http port)
${started.map((s) => `    ${s.name.padEnd(6)} ${s.addr}\n           ${s.http}/health  operator ${s.operator}`).join("\n")}

  funded accounts (Hardhat's public test keys, ${formatEther(1_000_000n * 10n ** 18n)} SNT each; never use them elsewhere)
${KEYS.slice(1)
  .map((k, i) => `    #${i + 1} ${privateKeyToAccount(k).address}  ${k}`)
  .join("\n")}

  try:
    npx postbox node info ${started[0]?.addr}
    echo ${KEYS[4]} > /tmp/wallet.key
    npx postbox channel open --mailbox ${started[0]?.operator} --deposit 10 --wallet-key-file /tmp/wallet.key \\
      --rpc-url ${RPC} --chain-id 31337 --snt ${addresses.snt} --registry ${addresses.registry} --channels ${addresses.channels}
    curl -s ${started[0]?.http}/metrics | grep postbox_

  data: ${dataDir}
`);
await new Promise(() => undefined);
