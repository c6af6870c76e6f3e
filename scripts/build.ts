// `npm run build`: compiles the contracts, regenerates the typed ABIs in packages/contracts from
// the artifacts, and builds every TypeScript package (tsc -b). Idempotent and incremental.

import { spawnSync } from "node:child_process";

function step(label: string, cmd: string, args: string[]): void {
  const started = Date.now();
  process.stdout.write(`build: ${label}…\n`);
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`build: ${label} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
  process.stdout.write(`build: ${label} done in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
}

step("contracts", "hardhat", ["build", "--quiet"]);
step("typed ABIs", "node", ["scripts/generate-abis.ts"]);
step("TypeScript packages", "tsc", ["-b", "tsconfig.build.json"]);
