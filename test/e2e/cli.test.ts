// The `postbox` command as an operator runs it: a real process, real flags, real signals.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import { createClientHost, pushEnvelope, queryStore } from "@postbox/client";
import { createEnvelope, StatusCode, toBareHex } from "@postbox/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { freePortBlock } from "../../scripts/lib/ports.ts";

const BIN = join(import.meta.dirname, "..", "..", "packages", "cli", "bin", "postbox.js");

function run(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, POSTBOX_LOG_LEVEL: "" },
  });
}

/** Starts `postbox node start` and resolves with its peer id once it logs "mailbox started". */
function startNode(dataDir: string, port: number): Promise<{ child: ChildProcess; peerId: string }> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      "node",
      "start",
      "--data-dir",
      dataDir,
      "--listen",
      `/ip4/127.0.0.1/tcp/${port}`,
      "--http-port",
      "0",
      "--free",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`node did not start: ${buf}`)), 20_000);
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split("\n")) {
        if (line.includes('"mailbox started"')) {
          clearTimeout(timer);
          resolve({ child, peerId: (JSON.parse(line) as { peerId: string }).peerId });
        }
      }
    });
    child.on("exit", (code) => reject(new Error(`node exited with ${code}: ${buf}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe("postbox CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-cli-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("explains every flag of node start", () => {
    const r = run(["node", "start", "--help"]);
    expect(r.status).toBe(0);
    for (const flag of [
      "--config",
      "--data-dir",
      "--listen",
      "--db",
      "--retention",
      "--free",
      "--http-port",
    ]) {
      expect(r.stdout).toContain(flag);
    }
  });

  it.each([
    [
      ["node", "start", "--retention", "forever"],
      'postbox: invalid setting retention.maxAge: "forever" is not a duration (e.g. 30d, 12h, 90m, 45s)',
    ],
    [["node", "start", "--listen", "nonsense"], "postbox: invalid setting listen.0: not a multiaddr"],
    [
      ["node", "start", "--db", "mysql://x"],
      "postbox: invalid setting db: must be sqlite, sqlite:PATH or a postgres:// URL",
    ],
    [
      ["node", "start", "--config", "/nonexistent.json"],
      "postbox: invalid setting config: cannot read /nonexistent.json (ENOENT)",
    ],
  ])("a wrong value is one line naming the setting, exit 2: %j", (args, line) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(line);
  });

  it.each([
    ["node", ["init", "start", "info", "register", "set-price", "exit", "withdraw"]],
    ["channel", ["open", "topup", "status", "close", "withdraw"]],
    ["chat", ["send", "read"]],
    ["contact", ["add", "list"]],
    ["room", ["join", "leave"]],
    ["group", ["create", "join"]],
    ["mailbox", ["pin", "unpin"]],
    ["prober", ["start"]],
  ])("a command group prints its help: postbox %s --help, or alone", (group, subs) => {
    const help = run([group, "--help"]);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain(`Usage: postbox ${group} <command> [options]`);
    for (const sub of subs) expect(help.stdout).toMatch(new RegExp(`^  postbox ${group} ${sub}\\b`, "m"));
    expect(help.stdout).toContain(`Run "postbox ${group} <command> --help"`);
    // Alone it says the same, as a usage error (exit 2, like postbox alone).
    const alone = run([group]);
    expect(alone.status).toBe(2);
    expect(alone.stdout).toBe(help.stdout);
    // A subcommand it does not have names both words and shows the group's commands.
    const wrong = run([group, "nonsense"]);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain(`postbox: unknown command "${group} nonsense"`);
    expect(wrong.stderr).toContain(`Usage: postbox ${group} <command>`);
  });

  it("id --export warns on stderr, and refuses a terminal unless --yes", () => {
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("POSTBOX_"))),
      POSTBOX_CLIENT_DIR: join(dir, "identity"),
    };
    // Into a pipe (a file, another program): the key on stdout, the warning on stderr.
    const piped = spawnSync(process.execPath, [BIN, "id", "--export", "--json"], { encoding: "utf8", env });
    expect(piped.status, piped.stderr).toBe(0);
    const { publicKey, privateKey } = JSON.parse(piped.stdout) as { publicKey: string; privateKey: string };
    expect(privateKey).toMatch(/^[0-9a-f]{64}$/);
    expect(piped.stderr).toMatch(
      /^warning: this is your chat identity's private key: whoever has it reads your messages/,
    );
    // On a terminal (a pseudo-terminal, as `script` gives): refused, with what to do instead.
    const onTty = (args: string) =>
      spawnSync("script", ["-qec", `${process.execPath} ${BIN} ${args}`, "/dev/null"], {
        encoding: "utf8",
        env,
      });
    const refused = onTty("id --export");
    expect(refused.status).toBe(2);
    expect(refused.stdout).toContain("refusing to print a private key on a terminal");
    expect(refused.stdout).toContain("postbox id --export > identity.key");
    expect(refused.stdout).not.toContain(privateKey);
    const confirmed = onTty("id --export --yes");
    expect(confirmed.status).toBe(0);
    expect(confirmed.stdout).toContain(`privateKey ${privateKey}`);
    expect(confirmed.stdout).toContain("warning: this is your chat identity's private key");
    // Without --export, nothing secret and nothing to warn about.
    const plain = onTty("id");
    expect(plain.stdout).toContain(`publicKey ${publicKey}`);
    expect(plain.stdout).not.toContain("warning");
  });

  it("an acknowledged envelope survives SIGKILL; SIGTERM stops cleanly", async () => {
    const dataDir = join(dir, "crash");
    const port = await freePortBlock(12_000, 1);
    let { child, peerId } = await startNode(dataDir, port);
    const addr = multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`);
    const host = await createClientHost();
    await host.start();
    try {
      const envelopes = Array.from({ length: 20 }, (_, i) =>
        createEnvelope({
          contentTopic: "/t/crash",
          timestamp: BigInt(Date.now() + i),
          payload: new Uint8Array([i + 1]),
        }),
      );
      const receipts = await Promise.all(envelopes.map((e) => pushEnvelope(host, addr, e)));
      expect(receipts.map((r) => toBareHex(r.envelopeId))).toEqual(envelopes.map((e) => toBareHex(e.id)));
      // Kill it without warning right after the receipts came back.
      child.kill("SIGKILL");
      await exited(child);
      await host.hangUp(addr).catch(() => undefined);
      ({ child, peerId } = await startNode(dataDir, port));
      const res = await queryStore(host, addr, { contentTopics: ["/t/crash"], pageSize: 100 });
      expect(res.status).toBe(StatusCode.OK);
      expect(res.ids.map(toBareHex).sort()).toEqual(envelopes.map((e) => toBareHex(e.id)).sort());
      child.kill("SIGTERM");
      expect(await exited(child)).toBe(0);
    } finally {
      child.kill("SIGKILL");
      await host.stop();
    }
  });
});
