import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { bigintToBytes, type Quote, StatusCode } from "@postbox/protocol";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterEach, describe, expect, it } from "vitest";
import { nodePlatform } from "../platform/node/index.js";
import { ChannelManager, type ChannelManagerInit } from "./channels.js";

const open = (init: ChannelManagerInit) => ChannelManager.open(nodePlatform(), init);

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function init(dataDir: string): ChannelManagerInit {
  // Records only: nothing here touches the chain.
  return {
    location: dataDir,
    publicClient: undefined as never,
    wallet: undefined as never,
    chainId: 31337,
    snt: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    registry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    channels: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
  };
}

const payee = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

/** Writes a `channels.json` (an earlier version's records) with one channel to `payee`. */
function legacyRecords(dir: string, sessionKey: Hex, amounts: { spent: string; authorized: string }) {
  const record = {
    channelId: `0x${"ab".repeat(32)}` as Hex,
    payee,
    salt: `0x${"01".repeat(32)}` as Hex,
    deposit: "1000",
    ...amounts,
  };
  writeFileSync(
    join(dir, "channels.json"),
    JSON.stringify({ sessionKey, channels: { [payee.toLowerCase()]: record } }),
  );
  return record;
}

describe("ChannelManager records", () => {
  it("keeps its session key in a 0600 database across restarts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postbox-channels-"));
    dirs.push(dir);
    const a = await open(init(dir));
    const address = a.session.address;
    await a.close();
    expect(statSync(join(dir, "channels.db")).mode & 0o777).toBe(0o600);
    const b = await open(init(dir));
    expect(b.session.address).toBe(address);
    await b.close();
  });

  it("imports the channels.json of an earlier version once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postbox-channels-"));
    dirs.push(dir);
    const sessionKey = generatePrivateKey();
    const record = legacyRecords(dir, sessionKey, { spent: "120", authorized: "150" });
    const a = await open(init(dir));
    expect(a.session.address).toBe(privateKeyToAccount(sessionKey).address);
    // Its records did not name their chain: they are taken as this deployment's (checked on first use).
    const named = { ...record, chainId: 31337, channelsContract: init(dir).channels };
    expect(a.channelTo(payee)).toEqual(named);
    await a.close();
    expect(existsSync(join(dir, "channels.json"))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, "channels.json.imported"), "utf8")).sessionKey).toBe(sessionKey);
    const b = await open(init(dir));
    expect(b.channelTo(payee)).toEqual(named);
    await b.close();
  });

  it("names the chain of records kept by an earlier version, and keeps each deployment's records apart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postbox-channels-"));
    dirs.push(dir);
    // An earlier version's database: records keyed by payee alone, without their chain.
    const sessionKey = generatePrivateKey();
    const record = {
      channelId: `0x${"cd".repeat(32)}`,
      payee,
      salt: `0x${"02".repeat(32)}`,
      deposit: "1000",
      spent: "10",
      authorized: "20",
    };
    const db = new DatabaseSync(join(dir, "channels.db"));
    db.exec("CREATE TABLE records (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT");
    const put = db.prepare("INSERT INTO records (key, value) VALUES (?, ?)");
    put.run("sessionKey", sessionKey);
    put.run(`channel:${payee.toLowerCase()}`, JSON.stringify(record));
    db.close();

    const a = await open(init(dir));
    expect(a.channelTo(payee)).toEqual({ ...record, chainId: 31337, channelsContract: init(dir).channels });
    await a.close();
    const keys = () => {
      const d = new DatabaseSync(join(dir, "channels.db"));
      const rows = d.prepare("SELECT key FROM records ORDER BY key").all() as { key: string }[];
      d.close();
      return rows.map((r) => r.key);
    };
    expect(keys()).toEqual([
      `channel:31337:${init(dir).channels.toLowerCase()}:${payee.toLowerCase()}`,
      "sessionKey",
    ]);
    // Another chain (or another deployment on this one) does not see them, and leaves them be.
    const elsewhere = await open({ ...init(dir), chainId: 11155111 });
    expect(elsewhere.channelTo(payee)).toBeUndefined();
    await elsewhere.close();
    const moved = await open({
      ...init(dir),
      channels: "0x0000000000000000000000000000000000000bee",
    });
    expect(moved.channelTo(payee)).toBeUndefined();
    await moved.close();
    expect(keys()).toHaveLength(2);
    const back = await open(init(dir));
    expect(back.channelTo(payee)?.channelId).toBe(record.channelId);
    await back.close();
  });

  it("records a reported spent amount: once the current task ends, or at close", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postbox-channels-"));
    dirs.push(dir);
    legacyRecords(dir, generatePrivateKey(), { spent: "0", authorized: "150" });
    const ok = (spent: number) => ({ status: StatusCode.OK, spent: bigintToBytes(BigInt(spent)) });
    const refusal = (spent: number) => ({
      status: StatusCode.INSUFFICIENT_FUNDS,
      spent: new Uint8Array(),
      quote: { spent: bigintToBytes(BigInt(spent)) } as Quote,
    });
    const a = await open(init(dir));
    expect(a.record(payee, ok(100))).toBe(true);
    expect(a.record(payee, ok(100))).toBe(false);
    expect(a.record(payee, ok(151))).toBe(false); // above what was authorised: ours is kept
    expect(a.record(payee, refusal(90))).toBe(false); // a refusal never lowers it
    expect(a.record(payee, refusal(120))).toBe(true);
    expect(a.channelTo(payee)?.spent).toBe("120");
    await Promise.resolve(); // the end of this task
    const b = await open(init(dir));
    expect(b.channelTo(payee)?.spent).toBe("120");
    await b.close();
    expect(a.record(payee, ok(130))).toBe(true);
    await a.close(); // writes what is pending
    const c = await open(init(dir));
    expect(c.channelTo(payee)?.spent).toBe("130");
    await c.close();
  });
});
