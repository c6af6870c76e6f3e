#!/usr/bin/env node
// Postbox bootstrap. Plain JavaScript that runs on any Node >= 18, so that the README's commands
// work on a machine whose Node is older than the one the stack needs (Hardhat 3, vitest and
// node:sqlite need Node >= 22.12).
//
// 1. Pick a Node >= 22.12: the one running this script if it is recent enough, otherwise the
//    version pinned in package.json's devDependencies ("node"), provisioned from the npm registry
//    into .toolchain/ (the `node` package ships the real binary).
// 2. Run npm's install under that Node (so that optional native packages whose engines require
//    Node >= 22, such as Hardhat's EDR, are installed), whenever package-lock.json changed.
// 3. With `--npm ARGS…`, run npm itself under that Node (to add or update dependencies).
// 4. With `--run FILE [ARGS…]`, run FILE (TypeScript, type-stripped natively) on that Node, with
//    node_modules/.bin and that Node first on PATH; signals are passed on (see forward() below) and
//    the exit code kept.

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const MIN = [22, 12];
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const pinned = pkg.devDependencies?.node;

function log(msg) {
  process.stderr.write(`[setup] ${msg}\n`);
}

function fail(msg) {
  process.stderr.write(`[setup] error: ${msg}\n`);
  process.exit(1);
}

function versionOk(v) {
  const [major, minor] = v.replace(/^v/, "").split(".").map(Number);
  return major > MIN[0] || (major === MIN[0] && minor >= MIN[1]);
}

function npmCli() {
  const candidates = [
    process.env.npm_execpath,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "bin", "npm-cli.js"),
    join(dirname(process.execPath), "node_modules", "npm", "bin", "npm-cli.js"),
  ];
  for (const c of candidates) if (c?.endsWith(".js") && existsSync(c)) return c;
  fail("cannot find npm's npm-cli.js; run this through `npm run …` or install npm");
}

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: env ?? process.env });
  if (r.error) fail(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) fail(`\`${args.slice(1).join(" ")}\` exited with ${r.status ?? r.signal}`);
}

function withPath(nodeBin, extra = []) {
  const path = [...extra, dirname(nodeBin), process.env.PATH ?? ""].join(delimiter);
  return { ...process.env, PATH: path };
}

/** Returns the path of a Node binary >= 22.12, provisioning the pinned one if needed. */
function ensureNode() {
  if (versionOk(process.versions.node)) return process.execPath;
  if (!pinned || !/^\d+\.\d+\.\d+$/.test(pinned))
    fail("package.json must pin devDependencies.node to an exact version");
  const dir = join(root, ".toolchain");
  const bin = join(dir, "node_modules", "node", "bin", process.platform === "win32" ? "node.exe" : "node");
  if (existsSync(bin)) {
    const v = spawnSync(bin, ["-p", "process.versions.node"], { encoding: "utf8" }).stdout?.trim();
    if (v === pinned) return bin;
  }
  log(
    `Node ${process.versions.node} is older than ${MIN.join(".")}: provisioning node@${pinned} from the npm registry into .toolchain/`,
  );
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "package.json"),
    `${JSON.stringify({ private: true, allowScripts: { node: true } })}\n`,
  );
  run(process.execPath, [
    npmCli(),
    "install",
    "--prefix",
    dir,
    "--no-save",
    "--no-package-lock",
    "--no-audit",
    "--no-fund",
    `node@${pinned}`,
  ]);
  if (!existsSync(bin)) fail(`node@${pinned} did not install a binary at ${bin}`);
  return bin;
}

function installStamp(nodeBin) {
  const h = createHash("sha256");
  const lock = join(root, "package-lock.json");
  h.update(existsSync(lock) ? readFileSync(lock) : readFileSync(join(root, "package.json")));
  const major = spawnSync(nodeBin, ["-p", "process.versions.node.split('.')[0]"], {
    encoding: "utf8",
  }).stdout.trim();
  h.update(`node${major}`);
  return h.digest("hex");
}

function ensureInstall(nodeBin) {
  const stampFile = join(root, "node_modules", ".postbox-setup");
  const stamp = installStamp(nodeBin);
  if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) return;
  const lock = existsSync(join(root, "package-lock.json"));
  log(
    `installing dependencies with npm ${lock ? "ci" : "install"} under Node ${spawnSync(nodeBin, ["-v"], { encoding: "utf8" }).stdout.trim()}`,
  );
  run(nodeBin, [npmCli(), lock ? "ci" : "install", "--no-audit", "--no-fund"], withPath(nodeBin));
  // Hardhat's simulated chain is a native optional package: npm skips it silently when it cannot
  // install it, and every Hardhat command then fails. Check for it here, with a clear message.
  const probe = spawnSync(nodeBin, ["-e", "require('@nomicfoundation/edr')"], {
    cwd: root,
    encoding: "utf8",
  });
  if (probe.status !== 0) fail(`Hardhat's native EDR package did not install:\n${probe.stderr}`);
  mkdirSync(join(root, "node_modules"), { recursive: true });
  writeFileSync(stampFile, installStamp(nodeBin));
}

const argv = process.argv.slice(2);
const nodeBin = ensureNode();

// `npm run npm -- ARGS…`: npm itself under the right Node (to add or update dependencies).
if (argv[0] === "--npm") {
  const r = spawnSync(nodeBin, [npmCli(), ...argv.slice(1)], {
    cwd: root,
    stdio: "inherit",
    env: withPath(nodeBin),
  });
  process.exit(r.status ?? 1);
}
ensureInstall(nodeBin);

const at = argv.indexOf("--run");
if (at === -1) {
  log(`ready: Node ${spawnSync(nodeBin, ["-v"], { encoding: "utf8" }).stdout.trim()} at ${nodeBin}`);
  process.exit(0);
}
const [file, ...rest] = argv.slice(at + 1);
if (!file) fail("--run needs a file");
const env = withPath(nodeBin, [join(root, "node_modules", ".bin")]);
const child = spawn(nodeBin, [join(root, file), ...rest], { cwd: root, stdio: "inherit", env });

/**
 * Whether this process is in its terminal's foreground process group: then a SIGINT it receives
 * is the terminal's Ctrl-C (or npm passing that one on), which the terminal also sent to the child,
 * in the same group. Linux tells through /proc (pgrp and tpgid, fields 5 and 8 of stat); elsewhere
 * this says no, and the child takes a repeat that closely follows a signal as the same one.
 */
function inTerminalForeground() {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const [, , pgrp, , , tpgid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(tpgid) > 0 && tpgid === pgrp;
  } catch {
    return false;
  }
}

// Passing a terminal's Ctrl-C on would give the child the same keypress twice (three times under
// `npm run`, which passes it on too), and a second Ctrl-C means "hurry" to scripts/start.ts. So a
// SIGINT is passed on only when it cannot have come from the terminal; SIGTERM and SIGHUP always.
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    if (sig === "SIGINT" && inTerminalForeground()) return;
    child.kill(sig);
  });
}
child.on("exit", (code, signal) => {
  process.exit(signal ? 128 + (os.constants.signals[signal] ?? 0) : (code ?? 1));
});
