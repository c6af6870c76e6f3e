// `postbox node init` as an operator meets it, through the real binary: an empty data folder, the
// peer key created once and never replaced, the peer id and the addresses to register (public
// ones: 0.0.0.0 explained), the next command, and its settings from flags, environment and
// --config with the documented precedence. No chain and no ports: nothing here listens.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "packages", "cli", "bin", "postbox.js");

describe("postbox node init", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-node-init-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Without any POSTBOX_* setting of the test's own environment, so that only the test's count.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("POSTBOX_")));
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...clean, ...env } });

  it("on an empty folder: node info points to node init, which creates the key once and says what to register", () => {
    const data = join(dir, "mailbox");
    const before = run(["node", "info", "--data-dir", data]);
    expect(before.status).toBe(2);
    expect(before.stderr).toBe(
      `postbox: no mailbox in ${data} (no peer.key): create its key and see its peer id with: postbox node init --data-dir ${data}\n`,
    );

    const first = run(["node", "init", "--data-dir", data]);
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(`Created the mailbox's peer key ${join(data, "peer.key")} (mode 0600)`);
    expect(statSync(join(data, "peer.key")).mode & 0o777).toBe(0o600);
    const peerId = /^peer id +(12D3KooW\w+)$/m.exec(first.stdout)?.[1];
    expect(peerId).toBeDefined();
    // The default listen addresses are every interface: not registrable as they are.
    expect(first.stdout).toMatch(/^register +\/dns4\/PUBLIC_HOST\/tcp\/60001$/m);
    expect(first.stdout).toMatch(/^ +\/dns4\/PUBLIC_HOST\/tcp\/60002\/ws$/m);
    expect(first.stdout).toContain(
      '/ip4/0.0.0.0/tcp/60001, /ip4/0.0.0.0/tcp/60002/ws means "every interface',
    );
    expect(first.stdout).toContain("--announce");
    expect(first.stdout).toContain(
      `postbox node register --data-dir ${data} --multiaddr /dns4/PUBLIC_HOST/tcp/60001 --multiaddr /dns4/PUBLIC_HOST/tcp/60002/ws --operator-key-file OPERATOR_KEY_FILE`,
    );

    expect(first.stdout).toContain(
      `postbox node start --data-dir ${data} --announce /dns4/PUBLIC_HOST/tcp/60001 --announce /dns4/PUBLIC_HOST/tcp/60002/ws --operator-key-file OPERATOR_KEY_FILE`,
    );

    // Never replaced: the same key and peer id on a second run.
    const key = readFileSync(join(data, "peer.key"));
    const again = run(["node", "init", "--data-dir", data]);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`Kept the existing peer key ${join(data, "peer.key")}`);
    expect(again.stdout).toMatch(new RegExp(`^peer id +${peerId}$`, "m"));
    expect(readFileSync(join(data, "peer.key")).equals(key)).toBe(true);

    const after = JSON.parse(run(["node", "info", "--data-dir", data, "--json"]).stdout) as Record<
      string,
      unknown
    >;
    expect(after.peerId).toBe(peerId);
  });

  it("registers the announced addresses, and flags loopback ones as local only", () => {
    const data = join(dir, "announced");
    const r = run([
      "node",
      "init",
      "--data-dir",
      data,
      "--announce",
      "/dns4/mailbox.example/tcp/60001",
      "--announce",
      "/dns4/mailbox.example/tcp/60002/ws",
      "--json",
    ]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      dataDir: data,
      keyFile: join(data, "peer.key"),
      created: true,
      register: ["/dns4/mailbox.example/tcp/60001", "/dns4/mailbox.example/tcp/60002/ws"],
      ready: true,
      notes: [],
    });
    expect(out.start).toBe(
      `postbox node start --data-dir ${data} --announce /dns4/mailbox.example/tcp/60001 --announce /dns4/mailbox.example/tcp/60002/ws --operator-key-file OPERATOR_KEY_FILE`,
    );
    expect(out.next).toBe(
      `postbox node register --data-dir ${data} --multiaddr /dns4/mailbox.example/tcp/60001 --multiaddr /dns4/mailbox.example/tcp/60002/ws --operator-key-file OPERATOR_KEY_FILE --stake SNT --price-per-query SNT --price-per-message SNT`,
    );

    const local = run(["node", "init", "--data-dir", data, "--listen", "/ip4/127.0.0.1/tcp/60001"]);
    expect(local.stdout).toMatch(/^register +\/ip4\/127\.0\.0\.1\/tcp\/60001$/m);
    expect(local.stdout).toContain("/ip4/127.0.0.1/tcp/60001 is reachable only from this machine");
  });

  it("combines --config, the environment and flags: file < environment < flags", () => {
    const config = join(dir, "node.json");
    writeFileSync(
      config,
      JSON.stringify({ dataDir: join(dir, "from-file"), announce: ["/dns4/from-file.example/tcp/1"] }),
    );
    const init = (args: string[], env: Record<string, string> = {}) =>
      JSON.parse(run(["node", "init", "--config", config, ...args, "--json"], env).stdout) as {
        dataDir: string;
        register: string[];
      };
    // The file alone.
    expect(init([])).toMatchObject({
      dataDir: join(dir, "from-file"),
      register: ["/dns4/from-file.example/tcp/1"],
    });
    // The environment overrides the file's data folder; the file's announce still applies.
    expect(init([], { POSTBOX_DATA_DIR: join(dir, "from-env") })).toMatchObject({
      dataDir: join(dir, "from-env"),
      register: ["/dns4/from-file.example/tcp/1"],
    });
    // Flags override both.
    expect(
      init(["--data-dir", join(dir, "from-flag"), "--announce", "/dns4/from-flag.example/tcp/2"], {
        POSTBOX_DATA_DIR: join(dir, "from-env"),
        POSTBOX_ANNOUNCE: "/dns4/from-env.example/tcp/3",
      }),
    ).toMatchObject({ dataDir: join(dir, "from-flag"), register: ["/dns4/from-flag.example/tcp/2"] });
    // node info reads the same layers.
    const info = JSON.parse(
      run(["node", "info", "--config", config, "--json"], { POSTBOX_DATA_DIR: join(dir, "from-env") }).stdout,
    ) as { dataDir: string };
    expect(info.dataDir).toBe(join(dir, "from-env"));
  });

  it("a bad setting is one line naming it; chain settings it does not use are not checked", () => {
    const data = join(dir, "checked");
    const bad = run(["node", "init", "--data-dir", data, "--announce", "not-an-address"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("postbox: invalid setting announce.0: not a multiaddr\n");
    const chainless = run(["node", "init", "--data-dir", data, "--json"], {
      POSTBOX_RPC_URL: "not a url",
      POSTBOX_OPERATOR_KEY: "0x1234",
    });
    expect(chainless.stderr).toBe("");
    expect(chainless.status).toBe(0);
  });
});
