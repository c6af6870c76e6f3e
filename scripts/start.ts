// `npm start [-- --reset]`: a whole local Postbox network in the foreground, on embedded defaults.
//
// A Hardhat chain (chain id 31337, RPC http://127.0.0.1:8545) with SNT, the registry and the
// payment channels deployed; funded accounts; three mailboxes (their own processes, `postbox node
// start`) registered on-chain with different prices and serving in paid mode; the prober (HTTP on
// 127.0.0.1:8787) and the dashboard (http://localhost:3000). Ctrl-C stops everything; --reset
// wipes the data folder.

import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { formatEther } from "viem";
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
    "Usage: npm start [-- --reset]\n\n  --reset   delete .postbox/devnet (mailbox keys, archives, client data) first\n\nPOSTBOX_DEVNET_DIR moves the data folder.",
  );
  process.exit(0);
}
if (args.includes("--reset") && existsSync(dataDir)) {
  rmSync(dataDir, { recursive: true, force: true });
  log(`reset ${dataDir}`);
}

const build = spawnSync("node", ["scripts/build.ts"], { stdio: "inherit", cwd: ROOT });
if (build.status !== 0) process.exit(build.status ?? 1);
const { mailboxRegistryAbi, networkParameters } = await import("@postbox/contracts");
const { DEV_KEYS, startDevnet } = await import("./lib/devnet.ts");

let devnet: Devnet | undefined;
let stopping = false;
async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    log("stopping…");
    await devnet?.stop();
    log("stopped");
  }
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

try {
  devnet = await startDevnet({
    dataDir,
    log,
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
      void stopAll(1);
    },
  });
} catch (err) {
  console.error(`start: ${(err as Error).message}`);
  await stopAll(1);
}
const { addresses, mailboxes, publicClient, rpc, proberUrl } = devnet!;

// The dashboard (built by scripts/build.ts), on the devnet's defaults.
const dashboardUrl = "http://localhost:3000";
devnet!.spawnChild(
  "dashboard",
  [
    join(ROOT, "node_modules", "next", "dist", "bin", "next"),
    "start",
    join(ROOT, "apps", "dashboard"),
    "--port",
    "3000",
  ],
  { env: { NEXT_TELEMETRY_DISABLED: "1" } },
);
for (let i = 0; ; i++) {
  const up = await fetch(`${dashboardUrl}/methodology`).then(
    (r) => r.ok,
    () => false,
  );
  if (up) break;
  if (i > 600) {
    console.error("start: the dashboard did not answer on port 3000 within 60 s");
    await stopAll(1);
  }
  await new Promise((r) => setTimeout(r, 100));
}
const count = await publicClient.readContract({
  address: addresses.registry,
  abi: mailboxRegistryAbi,
  functionName: "mailboxCount",
});
const clientEnv = `POSTBOX_RPC_URL=${rpc} POSTBOX_CLIENT_DIR=${join(dataDir, "client-you")}`;
console.log(`
Postbox devnet is running (Ctrl-C stops everything; npm start -- --reset starts from scratch)

  dashboard   ${dashboardUrl}  (wallets: an injected one, or the devnet accounts below)
  chain       ${rpc}  (chain id 31337, Hardhat)
  SNT         ${addresses.snt}
  registry    ${addresses.registry}  (${count} mailboxes registered)
  channels    ${addresses.channels}
  parameters  price delay ${networkParameters.local.priceDelay}s, unbonding ${networkParameters.local.unbondingPeriod}s, close grace ${networkParameters.local.closeGrace}s

  prober      ${proberUrl}/mailboxes  (signed figures: uptime, latency, canaries, score; key #6)

  mailboxes (paid mode: prices from the registry; metrics and health on their http port)
${mailboxes.map((s) => `    ${s.spec.name.padEnd(6)} ${s.addr}\n           ${s.http}/health  operator ${s.operator}`).join("\n")}

  funded accounts (Hardhat's public test keys, ${formatEther(1_000_000n * 10n ** 18n)} SNT each; never use them elsewhere)
${DEV_KEYS.slice(1)
  .map((k, i) => `    #${i + 1} ${privateKeyToAccount(k).address}  ${k}`)
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
