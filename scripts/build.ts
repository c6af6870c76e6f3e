// `npm run build`: compiles the contracts, regenerates the typed ABIs in packages/contracts from
// the artifacts, builds every TypeScript package (tsc -b) and the dashboard (next build).
// Idempotent and incremental.
//
// Each step shows that it is alive: on a terminal a spinner with the elapsed time, otherwise a line
// every 15 s. The tools' own output is passed through. A signal (Ctrl-C) is passed on to the
// step's tool, and the build then ends with 128 + the signal's number.

import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { dashboardBuildCurrent } from "./lib/webapp.ts";

const tty = process.stdout.isTTY === true && process.env.TERM !== "dumb";
const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

let current: ChildProcess | undefined;
let interrupted: NodeJS.Signals | undefined;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    // From a terminal the tool has the signal already (same process group): a second one is harmless.
    interrupted ??= signal;
    current?.kill(signal);
  });
}

/**
 * Compiler warnings about dependencies' code that the project uses as its authors intend, which a
 * user can do nothing about: OpenZeppelin's TransientSlot, behind ReentrancyGuardTransient (a guard
 * cleared at the end of each call: the use solc's warning itself calls safe). Our own code's
 * warnings are always shown.
 */
const DEPENDENCY_WARNINGS = [
  {
    message: "Warning: Transient storage as defined by EIP-1153",
    file: "node_modules/@openzeppelin/contracts/utils/TransientSlot.sol",
  },
];

/** `text` (a compiler's output) without the warnings of {@link DEPENDENCY_WARNINGS}. */
function withoutDependencyWarnings(text: string): string {
  const plain = (b: string) => stripVTControlCharacters(b);
  const kept = text
    .split(/\n[ \t]*\n/)
    .filter(
      (b) => !DEPENDENCY_WARNINGS.some((w) => plain(b).includes(w.message) && plain(b).includes(w.file)),
    );
  const out = kept.join("\n\n").trim();
  return out ? `${out}\n` : "";
}

/**
 * Runs one step's tool with a progress line; exits the build when it fails or was interrupted.
 * With `filter`, the tool's output is held until it ends and passed through `filter`.
 */
async function step(
  label: string,
  cmd: string,
  args: string[],
  detail = "",
  filter?: (text: string) => string,
): Promise<void> {
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 1000);
  process.stdout.write(`build: ${label}${detail ? ` (${detail})` : ""}…\n`);
  // The spinner lives on the last line; output from the tool is written above it.
  let frame = 0;
  let drawn = false;
  const clear = () => {
    if (drawn) process.stdout.write("\r\x1b[K");
    drawn = false;
  };
  const ticker = tty
    ? setInterval(() => {
        process.stdout.write(`\r\x1b[K${FRAMES[frame++ % FRAMES.length]} build: ${label}… ${seconds()} s`);
        drawn = true;
      }, 100)
    : setInterval(() => process.stdout.write(`build: ${label}… ${seconds()} s\n`), 15_000);
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  current = child;
  const held = { stdout: "", stderr: "" };
  child.stdout.on("data", (d: Buffer) => {
    if (filter) held.stdout += d;
    else {
      clear();
      process.stdout.write(d);
    }
  });
  child.stderr.on("data", (d: Buffer) => {
    if (filter) held.stderr += d;
    else {
      clear();
      process.stderr.write(d);
    }
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once("error", (err) => {
      process.stderr.write(`build: ${label}: ${err.message}\n`);
      resolve([1, null]);
    });
    child.once("close", (c, s) => resolve([c, s]));
  });
  clearInterval(ticker);
  clear();
  current = undefined;
  if (filter) {
    process.stdout.write(filter(held.stdout));
    process.stderr.write(filter(held.stderr));
  }
  if (interrupted) {
    process.stdout.write(`build: ${label} interrupted (${interrupted})\n`);
    process.exit(128 + (constants.signals[interrupted] ?? 0));
  }
  if (code !== 0) {
    console.error(`build: ${label} failed (exit ${code ?? signal})`);
    process.exit(1);
  }
  process.stdout.write(`build: ${label} done in ${((performance.now() - started) / 1000).toFixed(1)}s\n`);
}

/** "9 sources and 5 tests, solc 0.8.37": what the contracts step compiles (only what changed). */
function contractsDetail(): string {
  const count = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true, recursive: true }).filter(
      (e) => e.isFile() && e.name.endsWith(".sol"),
    ).length;
  const solc = (
    JSON.parse(readFileSync(join("node_modules", "solc", "package.json"), "utf8")) as { version: string }
  ).version;
  return `${count("contracts")} sources and ${count(join("test", "solidity"))} tests, solc ${solc}; a first build takes a minute or two`;
}

await step("contracts", "hardhat", ["build", "--quiet"], contractsDetail(), withoutDependencyWarnings);
await step("typed ABIs", process.execPath, ["scripts/generate-abis.ts"]);
await step("TypeScript packages", "tsc", ["-b", "tsconfig.build.json"]);

// The dashboard (Next.js production build), skipped when nothing it is built from changed since
// its last build (its settings are read when it runs, so a build serves any chain).
if (dashboardBuildCurrent()) {
  process.stdout.write("build: dashboard up to date\n");
} else {
  process.env.NEXT_TELEMETRY_DISABLED = "1";
  await step("dashboard", "next", ["build", join("apps", "dashboard")]);
}
