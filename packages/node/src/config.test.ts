import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig, parseDuration, parseSize } from "./config.js";
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

  it("reports an unreadable or invalid file", () => {
    expect(() => loadConfig({ file: join(dir, "missing.json") })).toThrow(/cannot read/);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ nope");
    expect(() => loadConfig({ file: bad })).toThrow(/not valid JSON/);
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
