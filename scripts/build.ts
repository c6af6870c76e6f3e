// `npm run build`: compiles the contracts, regenerates the typed ABIs in packages/contracts from
// the artifacts, builds every TypeScript package (tsc -b) and the dashboard (next build).
// Idempotent and incremental.

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

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

// The dashboard (Next.js production build), skipped when nothing it is built from changed since
// its last build: its own sources and the packages it imports.
function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".next")) continue;
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}
const dashboard = join("apps", "dashboard");
const buildId = join(dashboard, ".next", "BUILD_ID");
const inputs = Math.max(
  newest(dashboard),
  newest(join("packages", "protocol", "dist")),
  newest(join("packages", "contracts", "dist")),
);
if (existsSync(buildId) && statSync(buildId).mtimeMs > inputs && !process.env.NEXT_PUBLIC_RPC_URL) {
  process.stdout.write("build: dashboard up to date\n");
} else {
  process.env.NEXT_TELEMETRY_DISABLED = "1";
  step("dashboard", "next", ["build", dashboard]);
}
