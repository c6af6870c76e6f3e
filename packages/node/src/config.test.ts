import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig, loadSettings, parseDuration, parseSize } from "./config.js";
import { ConfigError } from "./errors.js";

const dir = mkdtempSync(join(tmpdir(), "postbox-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("configuration", () => {
  it("layers defaults < file < environment < flags", () => {
    const file = join(dir, "node.json");
    writeFileSync(
      file,
      JSON.stringify({
        dataDir: "/from/file",
        db: "sqlite:/file.db",
        retention: { maxAge: "7d" },
        logLevel: "warn",
      }),
    );
    const c = loadConfig({
      file,
      env: {
        POSTBOX_DB: "postgres://u:p@h:5432/db",
        POSTBOX_RETENTION: "2d",
        POSTBOX_LISTEN: "/ip4/127.0.0.1/tcp/1, /ip4/127.0.0.1/tcp/2/ws",
      },
      flags: { retention: { maxAge: "12h" } },
    });
    expect(c.dataDir).toBe("/from/file");
    expect(c.db).toBe("postgres://u:p@h:5432/db");
    expect(c.retention.maxAge).toBe(12 * 3600);
    expect(c.listen).toEqual(["/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/2/ws"]);
    expect(c.logLevel).toBe("warn");
    expect(c.http.port).toBe(9464);
  });

  it.each([
    [{ flags: { retention: { maxAge: "soon" } } }, "retention.maxAge"],
    [{ flags: { listen: ["not-an-address"] } }, "listen.0"],
    [{ flags: { http: { port: 70_000 } } }, "http.port"],
    [{ flags: { unknownSetting: 1 } as never }, "config"],
    [{ env: { POSTBOX_HTTP_PORT: "abc" } }, "http.port"],
  ])("names the bad setting: %j", (args, setting) => {
    try {
      loadConfig(args);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).setting).toBe(setting);
      expect((e as Error).message.split("\n")).toHaveLength(1);
    }
  });

  const chain = {
    POSTBOX_RPC_URL: "http://127.0.0.1:8545",
    POSTBOX_CHAIN_ID: "31337",
    POSTBOX_REGISTRY: `0x${"1".repeat(40)}`,
    POSTBOX_CHANNELS: `0x${"2".repeat(40)}`,
  };
  const key = `0x${"3".repeat(64)}`;

  it("merges the chain from the file, the environment and the flags", () => {
    const file = join(dir, "chain.json");
    writeFileSync(file, JSON.stringify({ chain: { rpcUrl: "http://file:1", chainId: 1 } }));
    const c = loadConfig({
      file,
      env: { POSTBOX_RPC_URL: chain.POSTBOX_RPC_URL, POSTBOX_REGISTRY: chain.POSTBOX_REGISTRY },
      flags: { chain: { chainId: 31337, channels: chain.POSTBOX_CHANNELS, operatorKey: key } as never },
    });
    expect(c.chain).toEqual({
      rpcUrl: chain.POSTBOX_RPC_URL,
      chainId: 31337,
      registry: chain.POSTBOX_REGISTRY,
      channels: chain.POSTBOX_CHANNELS,
      operatorKey: key,
    });
    expect(loadConfig({ env: {} }).chain).toBeUndefined();
  });

  it("names every chain setting paid mode misses, and where the given ones came from", () => {
    expect(() => loadConfig({ env: { POSTBOX_RPC_URL: chain.POSTBOX_RPC_URL } })).toThrow(
      new ConfigError(
        "chain.chainId",
        "paid mode needs all five chain settings; missing chain.chainId (--chain-id or POSTBOX_CHAIN_ID), chain.registry (--registry or POSTBOX_REGISTRY), chain.channels (--channels or POSTBOX_CHANNELS), chain.operatorKey (--operator-key-file or POSTBOX_OPERATOR_KEY); given chain.rpcUrl (POSTBOX_RPC_URL). Without any of them the mailbox runs free",
      ),
    );
    try {
      loadConfig({ env: chain });
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).setting).toBe("chain.operatorKey");
      expect((e as Error).message).toMatch(
        /given chain.rpcUrl \(POSTBOX_RPC_URL\), .*chain.channels \(POSTBOX_CHANNELS\)\./,
      );
    }
  });

  it("checks only the settings a command uses", () => {
    // The local folder: no chain needed, whatever the environment holds.
    for (const env of [
      { POSTBOX_RPC_URL: chain.POSTBOX_RPC_URL },
      chain,
      { ...chain, POSTBOX_OPERATOR_KEY: "0x12" },
    ])
      expect(
        loadSettings({ env: { ...env, POSTBOX_DATA_DIR: "/d" } }, { settings: ["dataDir", "db"] }),
      ).toEqual({
        dataDir: "/d",
        db: "sqlite",
        chain: {},
      });
    // An operator's command: the chain from the environment, the key from a flag; the channels are
    // not its business (not required, not checked).
    const s = loadSettings(
      { env: { ...chain, POSTBOX_CHANNELS: "nonsense" }, flags: { chain: { operatorKey: key } as never } },
      { chain: ["rpcUrl", "chainId", "registry", "operatorKey"] },
    );
    expect(s.chain).toEqual({
      rpcUrl: chain.POSTBOX_RPC_URL,
      chainId: 31337,
      registry: chain.POSTBOX_REGISTRY,
      operatorKey: key,
    });
    expect(() => loadSettings({ env: chain }, { chain: ["rpcUrl", "operatorKey"] })).toThrow(
      new ConfigError(
        "chain.operatorKey",
        "required (--operator-key-file or POSTBOX_OPERATOR_KEY, or chain.operatorKey in --config FILE)",
      ),
    );
    expect(() =>
      loadSettings({ env: { ...chain, POSTBOX_OPERATOR_KEY: "0x12" } }, { chain: ["operatorKey"] }),
    ).toThrow(new ConfigError("chain.operatorKey", "not a 32-byte hex private key"));
    // A misspelt name is refused even by a command that would not read it.
    const typo = join(dir, "typo.json");
    writeFileSync(typo, JSON.stringify({ chain: { rpcURL: "http://x" } }));
    expect(() => loadSettings({ file: typo }, { settings: ["dataDir"] })).toThrow(
      /unknown setting\(s\) rpcURL/,
    );
    expect(() => loadConfig({ file: typo })).toThrow(/unknown setting\(s\) rpcURL/);
  });

  it("reports an unreadable or invalid file", () => {
    expect(() => loadConfig({ file: join(dir, "missing.json") })).toThrow(/cannot read/);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ nope");
    expect(() => loadConfig({ file: bad })).toThrow(/not valid JSON/);
  });

  describe("tls", () => {
    const TLS_LISTEN = ["/ip4/0.0.0.0/tcp/4443/tls/ws", "/ip4/0.0.0.0/tcp/60002/ws"];

    it("takes the certificate from the file, the environment or the flags, as absolute paths", () => {
      const file = join(dir, "tls.json");
      writeFileSync(
        file,
        JSON.stringify({ listen: TLS_LISTEN, tls: { cert: "certs/full.pem", key: "k.pem" } }),
      );
      const fromFile = loadConfig({ file });
      expect(fromFile.tls).toEqual({ cert: resolve("certs/full.pem"), key: resolve("k.pem") });
      const fromEnv = loadConfig({
        file,
        env: { POSTBOX_TLS_CERT: "/etc/le/fullchain.pem", POSTBOX_TLS_KEY: "/etc/le/privkey.pem" },
      });
      expect(fromEnv.tls).toEqual({ cert: "/etc/le/fullchain.pem", key: "/etc/le/privkey.pem" });
      const fromFlags = loadConfig({
        file,
        env: { POSTBOX_TLS_CERT: "/etc/le/fullchain.pem" },
        flags: { tls: { cert: "/x/c.pem", key: "/x/k.pem" } },
      });
      expect(fromFlags.tls).toEqual({ cert: "/x/c.pem", key: "/x/k.pem" });
      expect(loadConfig({}).tls).toBeUndefined();
    });

    it.each([
      ["/tls/ws", { listen: ["/ip4/0.0.0.0/tcp/4443/tls/ws"] }, "listen", /needs a certificate: --tls-cert/],
      ["/wss", { listen: ["/ip4/127.0.0.1/tcp/4443/wss"] }, "listen", /needs a certificate/],
      [
        "/tls/sni/HOST/ws",
        { listen: ["/ip4/127.0.0.1/tcp/4443/tls/sni/mbx.example.org/ws"] },
        "listen",
        /needs a certificate/,
      ],
      [
        "a certificate without a /tls/ws listen address",
        { tls: { cert: "/c.pem", key: "/k.pem" } },
        "tls",
        /no listen address serves it: add one such as --listen \/ip4\/0.0.0.0\/tcp\/4443\/tls\/ws/,
      ],
      [
        "a certificate without its key",
        { listen: TLS_LISTEN, tls: { cert: "/c.pem" } },
        "tls.key",
        /--tls-key/,
      ],
      [
        "a key without its certificate",
        { listen: TLS_LISTEN, tls: { key: "/k.pem" } },
        "tls.cert",
        /--tls-cert/,
      ],
    ])("refuses %s in one line naming the setting", (_, flags, setting, message) => {
      try {
        loadConfig({ flags: flags as never });
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).setting).toBe(setting);
        expect((e as Error).message).toMatch(message);
        expect((e as Error).message.split("\n")).toHaveLength(1);
      }
    });
  });

  it("parses durations and sizes", () => {
    expect(parseDuration("30d")).toBe(2_592_000);
    expect(parseDuration("90m")).toBe(5_400);
    expect(parseDuration(15)).toBe(15);
    expect(() => parseDuration("1y")).toThrow(/not a duration/);
    expect(parseSize("10GB")).toBe(10e9);
    expect(parseSize("512MiB")).toBe(512 * 1024 ** 2);
    expect(() => parseSize("lots")).toThrow(/not a size/);
  });
});
