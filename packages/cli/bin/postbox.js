#!/usr/bin/env node
// The `postbox` command. Plain JavaScript so that npm can link it before the first build and so
// that it can start on an older Node: below Node 22.12 it re-runs itself on the Node that the
// repository pins (node_modules/node, installed by `npm run setup`).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  const here = dirname(fileURLToPath(import.meta.url));
  const pinned = [
    join(here, "..", "..", "..", "node_modules", "node", "bin", "node"),
    join(here, "..", "node_modules", "node", "bin", "node"),
  ].find(existsSync);
  if (!pinned) {
    process.stderr.write(
      `postbox: needs Node >= 22.12 (this is ${process.versions.node}); run \`npm run setup\` in the repository\n`,
    );
    process.exit(1);
  }
  const r = spawnSync(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  process.exit(r.status ?? 1);
}

import("../dist/bin.js").catch((err) => {
  if (err && err.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("dist/bin.js")) {
    process.stderr.write("postbox: the CLI is not built yet; run `npm run build` in the repository first\n");
    process.exit(1);
  }
  throw err;
});
