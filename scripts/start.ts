// `npm start`: builds what exists and runs the local Postbox network in the foreground.
// Today: a local Hardhat chain (chain id 31337, RPC http://127.0.0.1:8545). Ctrl-C stops it.

import { spawn, spawnSync } from "node:child_process";

const build = spawnSync("node", ["scripts/build.ts"], { stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

console.log("start: local chain on http://127.0.0.1:8545 (chain id 31337); Ctrl-C stops it");
const chain = spawn("hardhat", ["node", "--hostname", "127.0.0.1", "--port", "8545"], { stdio: "inherit" });
const stop = () => chain.kill("SIGINT");
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
chain.on("exit", (code) => process.exit(code ?? 0));
