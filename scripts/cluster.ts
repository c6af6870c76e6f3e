// Two (or more) nodes of one mailbox on one machine, on the system PostgreSQL (docs/operators.md,
// "Scaling out"): a local `hardhat node` with the contracts, Hardhat's account #1 registered as the
// operator, then N `postbox node start` processes — each its own data folder and peer key, all the
// same --db (a schema of its own in the database), operator key and evidence key — and the
// registry entry set, with the real `postbox node set-endpoint`, to list every node's address
// (each ending in its node's /p2p/ id). One node leads (redeemer, disputes, retention); kill it and
// another takes over within `cluster.leaderRetry` (2 s). Prints the nodes and the chain, then runs
// until Ctrl-C, which stops the nodes (the leader redeems what is left) and the chain.
//
//   node scripts/cluster.ts [--nodes 2] [--db postgres://…] [--schema postbox_cluster] [--port 4100]
//
// --db defaults to POSTBOX_TEST_POSTGRES_URL or postgres://postbox:postbox@127.0.0.1:5432/postbox_test
// (.ci/run creates that role and database; `pg_ctlcluster 15 main start` starts the server).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  type ClusterNode,
  DEFAULT_POSTGRES_URL,
  schemaUrl,
  setClusterEndpoint,
  startClusterChain,
  startClusterNode,
  stopClusterNode,
} from "./lib/cluster.ts";
import { freePortBlock } from "./lib/ports.ts";

const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "2" },
    db: { type: "string", default: DEFAULT_POSTGRES_URL },
    schema: { type: "string", default: "postbox_cluster" },
    port: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});
const count = Number(values.nodes);
if (!Number.isInteger(count) || count < 1 || count > 8) {
  console.error("cluster: --nodes is 1..8 (a registry entry lists at most 8 addresses)");
  process.exit(2);
}
const log = (m: string) => console.log(`cluster: ${m}`);
const dir = mkdtempSync(join(tmpdir(), "postbox-cluster-"));

const db = await schemaUrl(values.db!, values.schema!, !values.keep);
log(`PostgreSQL: ${values.db} (schema ${values.schema}${values.keep ? ", kept" : ", fresh"})`);
const chain = await startClusterChain(dir, await freePortBlock(8_600, 1));
log(
  `chain: ${chain.chain.rpc} — registry ${chain.registry}, channels ${chain.channels}, operator ${chain.operator}`,
);
const base = values.port ? Number(values.port) : await freePortBlock(4_100, count);
const nodes: ClusterNode[] = [];
for (let i = 0; i < count; i++)
  nodes.push(await startClusterNode({ name: `node-${i + 1}`, dir, port: base + i, db, chain }));
await setClusterEndpoint(chain, nodes);
for (const n of nodes) {
  const leads = n.out().includes("leading: this node runs");
  log(`${n.name}: ${n.addr}  (metrics ${n.http}/metrics, data ${n.data})${leads ? "  ← leader" : ""}`);
}
log(`the registry entry of ${chain.operator} lists all ${count} nodes; Ctrl-C stops everything`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  log("stopping the nodes (the leader redeems what is left), then the chain");
  for (const n of nodes) await stopClusterNode(n);
  await chain.chain.stop();
  rmSync(dir, { recursive: true, force: true });
  log("stopped");
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
