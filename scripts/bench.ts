// `npm run bench -- NAME [--json] [options]`: runs one benchmark (or all with no NAME).
// Each prints progress on stderr and, with --json, one JSON object on the last line of stdout.
// Results are recorded by hand in docs/BENCHMARKS.md with the machine they ran on.

import { spawnSync } from "node:child_process";
import { join } from "node:path";

const BENCHES: Record<string, string> = {
  store:
    "archive and /postbox/store/1 at 1M envelopes: cursor-chain pages/s, the mailbox's CPU per page, client latency over TCP + Noise, ingest/s, insert/s, the mailbox's memory (--cold: page cache dropped)",
  paid: "the cost of payment: paid vs free pages/s on the same mailbox, voucher verifications/s",
  client:
    "a returning user: time until 10,000 missed room messages are paid, decrypted, verified and ordered",
  cluster:
    "a mailbox of several nodes on one PostgreSQL: paid pages/s with 1 and 2 nodes, CPU per page of the nodes, PostgreSQL, readers and chain; disk per million envelopes; and the sync keys (as `sync`, contiguous and scattered)",
  sync: "mailbox-to-mailbox sync at 1M envelopes: bytes when already equal, missing envelopes/s and bytes beyond them, for a contiguous gap and scattered losses (--compare: also without sketches)",
};

const [name, ...rest] = process.argv.slice(2);
if (name === "--help" || name === "-h" || (name && !BENCHES[name])) {
  console.log(`Usage: npm run bench -- NAME [--json] [options]\n`);
  for (const [k, v] of Object.entries(BENCHES)) console.log(`  ${k.padEnd(8)} ${v}`);
  process.exit(name && !BENCHES[name] && name !== "--help" && name !== "-h" ? 2 : 0);
}
const build = spawnSync("node", ["scripts/build.ts"], { stdio: ["ignore", "inherit", "inherit"] });
if (build.status !== 0) process.exit(build.status ?? 1);
for (const bench of name ? [name] : Object.keys(BENCHES)) {
  const r = spawnSync("node", [join("scripts", "bench", `${bench}.ts`), ...rest], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
