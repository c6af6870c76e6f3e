// Several mailbox nodes of one operator on one PostgreSQL, on this machine: what `scripts/cluster.ts`
// runs for an operator to try, and what `npm run bench -- cluster` measures. Each node is a real
// `postbox node start` process with its own data folder (its own peer key) and the same `--db`,
// operator key and evidence key; the registry entry lists every node's address, each ending in its
// node's /p2p/ id (set with the real `postbox node set-endpoint`).

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { type Address, parseEther } from "viem";
import { deployPostboxFixture, type HardhatNode, hardhatKey, startHardhatNode } from "./chain.ts";
import { POSTBOX_BIN, profileArgs } from "./devnet.ts";

/** The system PostgreSQL as .ci/run and the tests set it up. */
export const DEFAULT_POSTGRES_URL =
  process.env.POSTBOX_TEST_POSTGRES_URL ?? "postgres://postbox:postbox@127.0.0.1:5432/postbox_test";

/** `url` with `schema` as its search path (created empty: dropped first if `fresh`). */
export async function schemaUrl(url: string, schema: string, fresh = true): Promise<string> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    if (fresh) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } finally {
    await admin.end();
  }
  return `${url}${url.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/** Drops a schema made by {@link schemaUrl}. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => admin.end());
}

export interface ClusterNode {
  name: string;
  child: ChildProcess;
  peerId: string;
  /** Its address with /p2p/. */
  addr: string;
  http: string | undefined;
  data: string;
  port: number;
  /** Its stdout so far (JSON log lines). */
  out: () => string;
}

export interface ClusterChain {
  chain: HardhatNode;
  registry: Address;
  channels: Address;
  snt: Address;
  operator: Address;
  operatorKeyFile: string;
  evidenceKeyFile: string;
}

/**
 * A `hardhat node` with the contracts deployed, Hardhat's account #1 registered as the operator
 * (prices in SNT as given) and accounts #2… funded with 10,000 SNT each (payers).
 */
export async function startClusterChain(
  dir: string,
  port: number,
  options: { payers?: number; pricePerQuery?: string; pricePerMessage?: string } = {},
): Promise<ClusterChain> {
  const chain = await startHardhatNode(port);
  const { publicClient, wallet } = chain;
  const { addresses: a, register } = await deployPostboxFixture({
    publicClient,
    walletClient: wallet(0),
    initialSupply: parseEther("10000000"),
    fund: Array.from({ length: 1 + (options.payers ?? 1) }, (_, i) => wallet(i + 1).account.address),
    fundEach: parseEther("10000"),
  });
  await register(wallet(1), {
    peerId: "p",
    multiaddrs: ["/ip4/127.0.0.1/tcp/1"],
    stake: parseEther("1000"),
    pricePerQuery: parseEther(options.pricePerQuery ?? "0.001"),
    pricePerMessage: parseEther(options.pricePerMessage ?? "0.00001"),
    retentionSeconds: 86_400n,
  });
  const operatorKeyFile = join(dir, "operator.key");
  writeFileSync(operatorKeyFile, hardhatKey(1), { mode: 0o600 });
  // Every node signs evidence with the one key the registry names for the operator.
  const evidenceKeyFile = join(dir, "evidence.key");
  writeFileSync(evidenceKeyFile, hardhatKey(19), { mode: 0o600 });
  return {
    chain,
    registry: a.registry,
    channels: a.channels,
    snt: a.snt,
    operator: wallet(1).account.address,
    operatorKeyFile,
    evidenceKeyFile,
  };
}

export interface StartNodeOptions {
  name: string;
  dir: string;
  port: number;
  db: string;
  chain?: ClusterChain;
  /** A node config file (JSON) for settings without a flag. */
  configFile?: string;
}

/** Starts one node of the mailbox; resolves once it logs "mailbox started". */
export function startClusterNode(o: StartNodeOptions): Promise<ClusterNode> {
  const data = join(o.dir, o.name);
  const args = [
    ...profileArgs(),
    POSTBOX_BIN,
    "node",
    "start",
    "--data-dir",
    data,
    "--listen",
    `/ip4/127.0.0.1/tcp/${o.port}`,
    "--http-port",
    "0",
    "--db",
    o.db,
    ...(o.configFile ? ["--config", o.configFile] : []),
    ...(o.chain
      ? [
          "--rpc-url",
          o.chain.chain.rpc,
          "--chain-id",
          "31337",
          "--registry",
          o.chain.registry,
          "--channels",
          o.chain.channels,
          "--operator-key-file",
          o.chain.operatorKeyFile,
          "--evidence-key-file",
          o.chain.evidenceKeyFile,
        ]
      : ["--free"]),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    process.once("exit", () => child.kill("SIGKILL"));
    let buf = "";
    let started = false;
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      // A long run keeps the last MiB of its log.
      if (buf.length > 2 * 1024 * 1024) buf = buf.slice(-1024 * 1024);
      if (started) return;
      const line = buf.split("\n").find((l) => l.includes('"mailbox started"'));
      if (!line) return;
      started = true;
      const info = JSON.parse(line) as { peerId: string; http?: string };
      resolve({
        name: o.name,
        child,
        peerId: info.peerId,
        addr: `/ip4/127.0.0.1/tcp/${o.port}/p2p/${info.peerId}`,
        http: info.http,
        data,
        port: o.port,
        out: () => buf,
      });
    });
    child.on("exit", (code) => {
      if (!started) reject(new Error(`node ${o.name} exited ${code}: ${buf.slice(-2000)}`));
    });
  });
}

/** Lists every node in the operator's registry entry with the real `postbox node set-endpoint`. */
export function setClusterEndpoint(chain: ClusterChain, nodes: ClusterNode[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [
        POSTBOX_BIN,
        "node",
        "set-endpoint",
        "--data-dir",
        nodes[0]!.data,
        ...nodes.flatMap((n) => ["--multiaddr", n.addr]),
        "--rpc-url",
        chain.chain.rpc,
        "--chain-id",
        "31337",
        "--registry",
        chain.registry,
        "--operator-key-file",
        chain.operatorKeyFile,
        "--json",
      ],
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout)),
    ),
  );
}

/** Stops a node with SIGTERM (it finishes its work: the leader redeems what is left) and waits. */
export async function stopClusterNode(n: ClusterNode): Promise<void> {
  if (n.child.exitCode !== null || n.child.signalCode !== null) return;
  const exited = new Promise((r) => n.child.once("exit", r));
  n.child.kill("SIGTERM");
  await exited;
}
