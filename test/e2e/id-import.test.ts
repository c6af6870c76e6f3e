// `postbox id --import`: moving a chat identity between client folders (devices) with the real
// `postbox` command, each call a separate process. No chain or network: the identity lives in the
// folder's client.db.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fromBareHex, inboxTopic } from "@postbox/protocol";
import { afterAll, describe, expect, it } from "vitest";

const BIN = join(import.meta.dirname, "..", "..", "packages", "cli", "bin", "postbox.js");
const dir = mkdtempSync(join(tmpdir(), "postbox-id-import-"));
let folders = 0;
const folder = () => join(dir, `client-${++folders}`);

// Nothing from the shell running the tests (a wallet key, another client folder).
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("POSTBOX_")));

function postbox(dataDir: string, args: string[], input?: string) {
  return spawnSync(process.execPath, [BIN, ...args, "--data-dir", dataDir], {
    encoding: "utf8",
    env,
    ...(input === undefined ? {} : { input }),
  });
}

/** `postbox id`'s public key for a folder (made on first use if it has none). */
function publicKeyOf(dataDir: string): string {
  const r = postbox(dataDir, ["id"]);
  expect(r.status, r.stderr).toBe(0);
  const m = /^publicKey ([0-9a-f]{66})$/.exec(r.stdout.trim());
  expect(m, r.stdout).not.toBeNull();
  return m![1]!;
}

/** The inbox topic the folder's client follows (what catch-up fetches). */
function followedInbox(dataDir: string): { topic: string; since: number } {
  const db = new DatabaseSync(join(dataDir, "client.db"), { readOnly: true });
  try {
    const row = db.prepare("SELECT topic, since FROM feeds WHERE feed = 'inbox'").get();
    return { topic: String(row?.topic), since: Number(row?.since) };
  } finally {
    db.close();
  }
}

/** What `postbox id --export` writes into a file (both lines), and the key alone. */
function exported(dataDir: string): { text: string; publicKey: string; privateKey: string } {
  const r = postbox(dataDir, ["id", "--export"]);
  expect(r.status, r.stderr).toBe(0);
  const [pub, priv] = r.stdout.trim().split("\n");
  expect(pub).toMatch(/^publicKey [0-9a-f]{66}$/);
  expect(priv).toMatch(/^privateKey [0-9a-f]{64}$/);
  return { text: r.stdout, publicKey: pub!.slice(10), privateKey: priv!.slice(11) };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each call is a Node process (a few seconds on a loaded 2-core machine).
describe("postbox id --import", { timeout: 240_000 }, () => {
  it("imports what id --export wrote, from --key-file, and id then prints the same public key", () => {
    const a = exported(folder());
    const file = join(dir, "a.key");
    writeFileSync(file, a.text, { mode: 0o600 });
    const b = folder();
    const r = postbox(b, ["id", "--import", "--key-file", file]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`publicKey ${a.publicKey}`);
    expect(r.stderr).toContain("imported the identity");
    expect(r.stderr).not.toContain(a.privateKey);
    expect(publicKeyOf(b)).toBe(a.publicKey);
    expect(exported(b).privateKey).toBe(a.privateKey);
  });

  it("imports from standard input: the two lines of id --export, the key alone (as the web chat shows it), 0x and upper case", () => {
    const a = exported(folder());
    for (const input of [
      a.text,
      `${a.privateKey}\n`,
      a.privateKey,
      `0x${a.privateKey.toUpperCase()}\r\n`,
      `${JSON.stringify({ publicKey: a.publicKey, privateKey: a.privateKey })}\n`,
    ]) {
      const b = folder();
      const r = postbox(b, ["id", "--import"], input);
      expect(r.status, `${JSON.stringify(input.slice(0, 12))}: ${r.stderr}`).toBe(0);
      expect(r.stdout.trim()).toBe(`publicKey ${a.publicKey}`);
      expect(publicKeyOf(b)).toBe(a.publicKey);
    }
  });

  it("asks for the key on a terminal and does not show the paste", async () => {
    const a = exported(folder());
    const b = folder();
    // A pseudo-terminal (script): the key is typed once the prompt is shown, as a person pastes it.
    const child = spawn(
      "script",
      ["-qec", `${process.execPath} ${BIN} id --import --data-dir ${b}`, "/dev/null"],
      {
        env,
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    let screen = "";
    let typed = false;
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no prompt or no exit: ${screen}`)), 50_000);
      child.stdout.on("data", (d: Buffer) => {
        screen += d.toString();
        if (!typed && screen.includes("Paste the exported key (it is not shown)")) {
          typed = true;
          child.stdin.write(`${a.privateKey}\r`);
        }
      });
      child.on("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code, screen).toBe(0);
    expect(screen).toContain(`publicKey ${a.publicKey}`);
    expect(screen).not.toContain(a.privateKey);
    expect(publicKeyOf(b)).toBe(a.publicKey);
  });

  it("is a no-op when the same key is already there", () => {
    const b = folder();
    const a = exported(b);
    const r = postbox(b, ["id", "--import"], a.text);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`this identity is already the one in ${b}: nothing changed`);
    expect(r.stdout.trim()).toBe(`publicKey ${a.publicKey}`);
    expect(publicKeyOf(b)).toBe(a.publicKey);
  });

  it("refuses to replace another identity without --yes, and replaces it with --yes", () => {
    const a = exported(folder());
    const b = folder();
    const old = publicKeyOf(b);
    expect(old).not.toBe(a.publicKey);
    const refused = postbox(b, ["id", "--import"], a.text);
    expect(refused.status).toBe(2);
    expect(refused.stdout).toBe("");
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toContain(`already has another identity, ${old}`);
    expect(refused.stderr).toContain("can no longer be read here");
    expect(refused.stderr).toContain("Add --yes");
    expect(publicKeyOf(b)).toBe(old);

    const replaced = postbox(b, ["id", "--import", "--yes"], a.text);
    expect(replaced.status, replaced.stderr).toBe(0);
    expect(replaced.stderr).toContain(`replaced identity ${old}`);
    expect(replaced.stdout.trim()).toBe(`publicKey ${a.publicKey}`);
    expect(publicKeyOf(b)).toBe(a.publicKey);
    // Catch-up now fetches the imported key's inbox (from 7 days back), not the old key's.
    const inbox = followedInbox(b);
    expect(inbox.topic).toBe(inboxTopic(fromBareHex(a.publicKey)));
    expect(inbox.topic).not.toBe(inboxTopic(fromBareHex(old)));
    expect(Math.abs(Date.now() - 7 * 86_400_000 - inbox.since)).toBeLessThan(120_000);
  });

  const ORDER = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"; // secp256k1's n
  const bad: [string, string, RegExp][] = [
    ["empty standard input", "", /standard input is empty/],
    ["only blank lines", "\n \n", /standard input is empty/],
    ["too short", `${"ab".repeat(31)}\n`, /has 62 hexadecimal digits: a private key has 64/],
    ["too long", `${"ab".repeat(33)}\n`, /has 66 hexadecimal digits: a private key has 64/],
    ["a public key", "02".padEnd(66, "1"), /has 66 hexadecimal digits/],
    ["not hexadecimal", `${"g".repeat(64)}\n`, /is not hexadecimal/],
    ["zero", `${"0".repeat(64)}\n`, /not a valid secp256k1 private key/],
    ["the curve order", `${ORDER}\n`, /not a valid secp256k1 private key/],
    ["above the curve order", `${"f".repeat(64)}\n`, /not a valid secp256k1 private key/],
    ["two lines, no privateKey line", `${"1".repeat(64)}\n${"2".repeat(64)}\n`, /no privateKey line/],
  ];
  for (const [what, input, message] of bad)
    it(`refuses ${what}: one line, exit 2, nothing written`, () => {
      const b = folder();
      const r = postbox(b, ["id", "--import"], input);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/^postbox: [^\n]*\n$/);
      expect(r.stderr).not.toContain("    at ");
      expect(existsSync(join(b, "client.db"))).toBe(false);
    });

  it("refuses a paste whose publicKey line is not its privateKey's, keeping the identity there", () => {
    const a = exported(folder());
    const other = exported(folder());
    const b = folder();
    const old = publicKeyOf(b);
    const mixed = `publicKey ${other.publicKey}\nprivateKey ${a.privateKey}\n`;
    const r = postbox(b, ["id", "--import", "--yes"], mixed);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^postbox: the publicKey in standard input is not the privateKey's/);
    expect(publicKeyOf(b)).toBe(old);
  });

  it("takes no key on the command line, and says so for a missing key file", () => {
    const a = exported(folder());
    const b = folder();
    const onFlag = postbox(b, ["id", "--import", a.privateKey]);
    expect(onFlag.status).toBe(2);
    expect(onFlag.stderr).toContain("takes no key on the command line (shell history would keep it)");
    expect(onFlag.stderr).not.toContain(a.privateKey);
    const missing = postbox(b, ["id", "--import", "--key-file", join(dir, "nowhere.key")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^postbox: cannot read .*nowhere\.key \(ENOENT\)\n$/);
    expect(existsSync(join(b, "client.db"))).toBe(false);
  });
});
