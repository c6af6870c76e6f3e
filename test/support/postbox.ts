// The `postbox` binary as a person runs it (a separate process), and the archive faults the
// dispute tests need, for the e2e tests.
import { type SpawnSyncReturns, spawn } from "node:child_process";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { expect } from "vitest";
import { POSTBOX_BIN } from "../../scripts/lib/devnet.ts";

export type CliResult = Pick<SpawnSyncReturns<string>, "status" | "stdout" | "stderr">;

/**
 * Runs `postbox` with `env` added to this process's environment (a function: read when each run
 * starts, e.g. once the devnet's RPC address is known), `input` on stdin; resolves with its exit
 * status and output.
 */
export function postboxCli(env: () => Record<string, string>) {
  const run = (args: string[], input?: string) =>
    new Promise<CliResult>((resolve, reject) => {
      const child = spawn(process.execPath, [POSTBOX_BIN, ...args], {
        env: { ...process.env, ...env() },
        stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      });
      if (input !== undefined) child.stdin!.end(input);
      let stdout = "";
      let stderr = "";
      child.stdout!.on("data", (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr!.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      child.once("error", reject);
      child.once("close", (status) => resolve({ status, stdout, stderr }));
    });
  /** As `run`, but a non-zero exit throws with its stderr. */
  const cli = async (args: string[], input?: string) => {
    const r = await run(args, input);
    if (r.status !== 0) throw new Error(`postbox ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
    return r;
  };
  /** As `cli` with `--json`, parsed. */
  const cliJson = async <T>(args: string[], input?: string) =>
    JSON.parse((await cli([...args, "--json"], input)).stdout) as T;
  return { run, cli, cliJson };
}

/** Checks that a mailbox's SQLite archive (in its data folder) holds each of `ids` (bare hex). */
export function expectArchiveHolds(dataDir: string, ids: readonly string[]): void {
  const db = new DatabaseSync(join(dataDir, "archive.sqlite"), { readOnly: true });
  try {
    for (const id of ids)
      expect(db.prepare("SELECT 1 AS x FROM envelopes WHERE id = ?").get(Buffer.from(id, "hex")), id).toEqual(
        {
          x: 1,
        },
      );
  } finally {
    db.close();
  }
}

/**
 * Files an envelope under another topic in a running mailbox's SQLite archive (in its data
 * folder): by id the mailbox still holds it (a presence query finds it), but no history page on
 * its topic returns it — a mailbox that withholds it.
 */
export function misfileEnvelope(dataDir: string, envelopeId: string): void {
  const db = new DatabaseSync(join(dataDir, "archive.sqlite"));
  try {
    db.prepare("INSERT OR IGNORE INTO topics (topic) VALUES (?)").run("/postbox/1/misfiled/proto");
    const moved = db
      .prepare("UPDATE envelopes SET tid = (SELECT tid FROM topics WHERE topic = ?) WHERE id = ?")
      .run("/postbox/1/misfiled/proto", Buffer.from(envelopeId, "hex"));
    expect(Number(moved.changes)).toBe(1);
  } finally {
    db.close();
  }
}
