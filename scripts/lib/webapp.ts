import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

// Not devnet.ts's ROOT: scripts/build.ts loads this module before any package is built.
const ROOT = resolve(import.meta.dirname, "..", "..");

const DASHBOARD = join(ROOT, "apps", "dashboard");
const NEXT = join(ROOT, "node_modules", ".bin", "next");

/** The newest modification time below `dir` (ms), skipping node_modules and build folders. */
function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".next")) continue;
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}

/**
 * Whether the dashboard's build in `dist` (default `.next`, what `npm run build` makes and
 * `npm start` serves) is newer than everything it is built from: its own sources and the packages
 * it imports.
 */
export function dashboardBuildCurrent(dist = ".next"): boolean {
  const buildId = join(DASHBOARD, dist, "BUILD_ID");
  if (!existsSync(buildId)) return false;
  const inputs = Math.max(
    newest(DASHBOARD),
    newest(join(ROOT, "packages", "protocol", "dist")),
    newest(join(ROOT, "packages", "contracts", "dist")),
  );
  return statSync(buildId).mtimeMs > inputs;
}

/**
 * `next build` of the dashboard with `env` (POSTBOX_DASHBOARD_DIST names its folder; `.next`
 * without it); rejects with the build's output when it fails.
 */
export function nextBuild(env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const build = spawn(NEXT, ["build", DASHBOARD], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    build.stdout.on("data", (d: Buffer) => (out += d));
    build.stderr.on("data", (d: Buffer) => (out += d));
    build.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`next build failed:\n${out}`))));
  });
}

/**
 * Makes sure the dashboard's default build is current (tests serve it with their own chain and
 * prober: its settings are read when it runs), building it when it is not — one build at a time
 * for every process of the machine (a lock folder), so two test files never write it together.
 */
export async function ensureDashboardBuilt(): Promise<void> {
  const lock = join(DASHBOARD, ".next-building");
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another process builds it; a lock older than 15 minutes was left by one that died.
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 15 * 60_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (dashboardBuildCurrent()) return;
    const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };
    delete env.POSTBOX_DASHBOARD_DIST;
    await nextBuild(env);
  } finally {
    rmdirSync(lock);
  }
}
