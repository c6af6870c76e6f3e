// `npm start [-- --reset]`: a whole local Postbox network in the foreground, on embedded defaults.
//
// A Hardhat chain (chain id 31337, RPC http://127.0.0.1:8545) with SNT, the registry and the
// payment channels deployed; funded accounts; three mailboxes (their own processes, `postbox node
// start`) registered on-chain with different prices and serving in paid mode; the prober (HTTP on
// 127.0.0.1:8787) and the dashboard (http://localhost:3000, with the web chat at /chat; on 127.0.0.1
// like the rest). --reset wipes the data folder.
//
// Ctrl-C stops everything cleanly, in order, and says so: each mailbox redeems what it earned and
// closes its databases, then the prober and the dashboard stop, then the chain. A second Ctrl-C
// says what it is still waiting for; a third kills what is left. The terminal sends Ctrl-C to the
// whole process group and npm and setup.mjs may pass it on again: signals closer together than
// PRESS_MS count as one press.

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Devnet } from "./lib/devnet.ts";

// The workspace packages (and the devnet library, which uses them) are imported after the build
// below: on a fresh clone their dist/ folders do not exist until then, and a static import would
// fail before this file's first line runs.
const ROOT = resolve(import.meta.dirname, "..");

const args = process.argv.slice(2);
const dataDir = process.env.POSTBOX_DEVNET_DIR ?? join(ROOT, ".postbox", "devnet");
const log = (msg: string) => console.log(`start: ${msg}`);

if (args.includes("--help") || args.includes("-h")) {
  console.log(
    "Usage: npm start [-- --reset]\n\n  --reset   delete .postbox/devnet (mailbox keys, archives, client data) first\n\nPOSTBOX_DEVNET_DIR moves the data folder. Ctrl-C stops everything cleanly.",
  );
  process.exit(0);
}

// Once the terminal is gone (SIGHUP) writing to it fails: the stop goes on regardless.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);

/** Signals closer together than this are one press (the terminal's, passed on by npm and setup). */
const PRESS_MS = 1_000;
let presses = 0;
let lastPress = Number.NEGATIVE_INFINITY;
let build: ChildProcess | undefined;
let devnet: Devnet | undefined;
/** Aborted by the first press (or a failure): the start sequence stops where it is. */
const abort = new AbortController();
let exitCode = 0;

/** What the stop waits for, in words: "3 mailboxes alpha, beta, gamma to redeem and close their databases". */
function waitingFor(): string {
  if (build) return "the build to end";
  if (!devnet) return "what has started to stop";
  const pending = devnet.pending();
  const mailboxes = pending.filter((n) => n.startsWith("mailbox ")).map((n) => n.slice("mailbox ".length));
  if (mailboxes.length === 0) return pending.join(", ");
  const one = mailboxes.length === 1;
  return `${one ? "mailbox" : `${mailboxes.length} mailboxes`} ${mailboxes.join(", ")} to redeem and close ${one ? "its" : "their"} databases`;
}

function onSignal(signal: NodeJS.Signals): void {
  const now = performance.now();
  if (now - lastPress < PRESS_MS) return;
  lastPress = now;
  presses++;
  if (presses === 1) {
    // A build under way stops too (a signal from elsewhere than the terminal did not reach it).
    build?.kill(signal);
    stop(0);
    return;
  }
  if (presses === 2) {
    log(`stopping: waiting for ${waitingFor()}… press Ctrl-C again to force`);
    build?.kill(signal);
    return;
  }
  // Forced: the devnet's children run in their own process groups; its exit hook kills them.
  log(`forced: killing ${build ? "the build" : (devnet?.pending().join(", ") ?? "what has started")}`);
  build?.kill("SIGKILL");
  process.exit(130);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => onSignal(signal));

/** The first press, or a failure: stop everything in order, then exit with `code`. */
function stop(code: number): void {
  if (abort.signal.aborted) return;
  exitCode = code;
  abort.abort();
  log("stopping… (Ctrl-C again shows what it waits for)");
  // While building or starting, the start sequence sees the abort and finishes.
  if (devnet) void finish();
}

/** Stops the network (if it is up), says whether everything stopped cleanly, and exits. */
async function finish(): Promise<never> {
  const timer = setInterval(() => {
    if ((devnet?.pending().length ?? 0) > 0)
      log(`stopping: still waiting for ${waitingFor()}… press Ctrl-C again to force`);
  }, 10_000);
  const clean = devnet ? await devnet.stop({ killAfterMs: Number.POSITIVE_INFINITY }) : true;
  clearInterval(timer);
  log(clean ? "stopped" : "stopped, but not every process stopped cleanly (see above)");
  process.exit(clean ? exitCode : 1);
}

if (args.includes("--reset") && existsSync(dataDir)) {
  rmSync(dataDir, { recursive: true, force: true });
  log(`reset ${dataDir}`);
}

// The build is its own process (in this process group: a terminal's Ctrl-C reaches it directly).
build = spawn(process.execPath, [join(ROOT, "scripts", "build.ts")], { stdio: "inherit", cwd: ROOT });
const built = await new Promise<number>((resolve) =>
  build!.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1))),
);
build = undefined;
if (abort.signal.aborted) await finish();
if (built !== 0) process.exit(built);
const { DEVNET_ACCOUNTS, describeDevnetRole, mailboxRegistryAbi, networkParameters } = await import(
  "@postbox/contracts"
);
const { formatSnt } = await import("@postbox/protocol");
const { DEV_KEYS, startDevnet } = await import("./lib/devnet.ts");

try {
  devnet = await startDevnet({
    dataDir,
    log,
    signal: abort.signal,
    // A devnet's minute is long: probe every 10 s, a canary every 30 s bought back after 20 s.
    prober: {
      key: 6,
      port: 8787,
      flags: [
        "--probe-interval",
        "10s",
        "--canary-interval",
        "30s",
        "--canary-delay",
        "20s",
        "--registry-interval",
        "2s",
      ],
    },
    onUnexpectedExit: (what, code) => {
      console.error(`start: ${what} exited (${code})`);
      stop(1);
    },
  });
} catch (err) {
  // startDevnet stopped what it had started before rejecting.
  if (!abort.signal.aborted) {
    console.error(`start: ${(err as Error).message}`);
    exitCode = 1;
  }
  await finish();
}
if (abort.signal.aborted) await finish();
const { addresses, mailboxes, publicClient, rpc, proberUrl } = devnet!;

// The dashboard (built by scripts/build.ts), on the devnet's defaults. It listens on 127.0.0.1
// only, like the chain and the prober it talks to (a browser's "localhost" reaches it); its own
// banner is not shown (the summary below says where it is).
const dashboardUrl = "http://localhost:3000";
devnet!.spawnChild(
  "dashboard",
  [
    join(ROOT, "node_modules", "next", "dist", "bin", "next"),
    "start",
    join(ROOT, "apps", "dashboard"),
    "--hostname",
    "127.0.0.1",
    "--port",
    "3000",
  ],
  {
    // The Disputes contract this devnet deployed: the mailbox pages list each mailbox's disputes.
    env: {
      NEXT_TELEMETRY_DISABLED: "1",
      ...(addresses.disputes ? { NEXT_PUBLIC_DISPUTES: addresses.disputes } : {}),
    },
    stdout: "ignore",
  },
);
for (let i = 0; ; i++) {
  const up = await fetch("http://127.0.0.1:3000/methodology").then(
    (r) => r.ok,
    () => false,
  );
  if (up || abort.signal.aborted) break;
  if (i > 600) {
    console.error("start: the dashboard did not answer on port 3000 within 60 s");
    stop(1);
    break;
  }
  await new Promise((r) => setTimeout(r, 100));
}
if (abort.signal.aborted) await new Promise(() => undefined); // finish() exits
const count = await publicClient.readContract({
  address: addresses.registry,
  abi: mailboxRegistryAbi,
  functionName: "mailboxCount",
});
const clientEnv = `POSTBOX_RPC_URL=${rpc} POSTBOX_CLIENT_DIR=${join(dataDir, "client-you")}`;
console.log(`
Postbox devnet is running (Ctrl-C stops everything; npm start -- --reset starts from scratch)

  dashboard   ${dashboardUrl}  (wallets: an injected one, or the devnet accounts below)
  chat        ${dashboardUrl}/chat  (the web chat: pick devnet account #5 in the Wallet menu, then create an identity)
  chain       ${rpc}  (chain id 31337, Hardhat; a block at least every 5 s: chain time follows the clock)
  SNT         ${addresses.snt}
  registry    ${addresses.registry}  (${count} mailboxes registered)
  channels    ${addresses.channels}
  parameters  price delay ${networkParameters.local.priceDelay}s, unbonding ${networkParameters.local.unbondingPeriod}s, close grace ${networkParameters.local.closeGrace}s

  prober      ${proberUrl}/mailboxes  (signed figures: uptime, latency, canaries, score; key #6)

  mailboxes (paid mode: prices from the registry; metrics and health on their http port)
${mailboxes.map((s) => `    ${s.spec.name.padEnd(6)} ${s.addr}\n           ${s.http}/health  operator ${s.operator}`).join("\n")}

  funded accounts (Hardhat's public test keys, ${formatSnt(parseEther("1000000"))} each; never use them elsewhere)
${DEV_KEYS.slice(1)
  .map((k, i) => {
    const role = DEVNET_ACCOUNTS[i + 1]?.role;
    return `    #${i + 1} ${privateKeyToAccount(k).address}  ${k}${role ? `  ${describeDevnetRole(role)}` : ""}`;
  })
  .join("\n")}

  try (the CLI finds the devnet's contracts by itself):
    export ${clientEnv} POSTBOX_WALLET_KEY=${DEV_KEYS[4]} POSTBOX_PROBER_URL=${proberUrl}
    npx postbox mailboxes
    npx postbox room join '#x' && npx postbox chat send --to '#x' "hello"
    npx postbox chat read '#x'
    curl -s ${mailboxes[0]?.http}/metrics | grep postbox_

  data: ${dataDir}
`);
await new Promise(() => undefined);
