// People chatting through the `postbox` CLI, each a separate process with their own data folder
// and wallet, as a person would use it: a real JSON-RPC chain (`hardhat node`) and two registered
// paid mailboxes, each its own process. Stories A and B, a group, a mailbox stopped mid-catch-up,
// and a mailbox that omits messages, caught by comparing two mailboxes.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { roomTopic } from "@postbox/protocol";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DEV_KEYS, type Devnet, POSTBOX_BIN, startDevnet } from "../../scripts/lib/devnet.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";

interface Line {
  id: string;
  conversation: string;
  timestamp: number;
  sender: string;
  senderName: string;
  text: string;
}

const ROOM_MESSAGES = 10_000;

describe("chat through the CLI: stories A and B, groups, failover, omissions", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-chat-"));
  let port: number;
  let net: Devnet;

  const env = (user: string, key: number) => ({
    ...process.env,
    POSTBOX_CLIENT_DIR: join(dir, user),
    POSTBOX_RPC_URL: net.rpc,
    POSTBOX_WALLET_KEY: DEV_KEYS[key]!,
    POSTBOX_CHANNEL_DEPOSIT: "50",
  });
  const USERS = { alice: 4, bob: 5, carol: 6, dave: 7 } as const;
  type User = keyof typeof USERS;
  const cli = (user: User, args: string[], input?: string) => {
    const r = spawnSync(process.execPath, [POSTBOX_BIN, ...args], {
      encoding: "utf8",
      env: env(user, USERS[user]),
      ...(input !== undefined ? { input } : {}),
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0)
      throw new Error(`postbox ${args.join(" ")} (${user}) exited ${r.status}: ${r.stderr}`);
    return r;
  };
  const read = (user: User, args: string[]) => {
    const r = cli(user, ["chat", "read", ...args, "--json"]);
    return {
      lines: r.stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line),
      stderr: r.stderr,
    };
  };
  const publicKey = (user: User) =>
    (JSON.parse(cli(user, ["id", "--json"]).stdout) as { publicKey: string }).publicKey;
  const inOrder = (lines: Line[]) =>
    lines.every(
      (l, i) =>
        i === 0 ||
        lines[i - 1]!.timestamp < l.timestamp ||
        (lines[i - 1]!.timestamp === l.timestamp && lines[i - 1]!.id < l.id),
    );

  beforeAll(async () => {
    port = await freePortBlock(16_000);
    net = await startDevnet({
      dataDir: join(dir, "net"),
      basePort: port,
      mailboxes: [
        { name: "alpha", operator: 1, pricePerQuery: "0.01", pricePerMessage: "0.0001" },
        { name: "beta", operator: 2, pricePerQuery: "0.02", pricePerMessage: "0.00005" },
      ],
      stdio: "ignore",
    });
    // Everyone creates an identity and adds the others as contacts.
    const keys = Object.fromEntries((Object.keys(USERS) as User[]).map((u) => [u, publicKey(u)]));
    for (const u of Object.keys(USERS) as User[])
      for (const other of Object.keys(USERS) as User[])
        if (other !== u) cli(u, ["contact", "add", other, keys[other]!]);
  }, 240_000);

  afterAll(async () => {
    await net?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists both mailboxes with prices and scores, and pins one", () => {
    const table = cli("alice", ["mailboxes"]).stdout;
    expect(table).toMatch(/mailbox\s+name\s+SNT per 100-message page\s+up 24h \(n\)/);
    for (const m of net.mailboxes) expect(table).toContain(m.operator.toLowerCase().slice(0, 8));
    const alpha = net.mailboxes[0]!.operator.toLowerCase();
    expect(cli("carol", ["mailbox", "pin", alpha]).stdout).toContain(`pinned ${alpha}`);
    expect(cli("carol", ["mailboxes"]).stdout).toMatch(/pinned/);
    cli("carol", ["mailbox", "unpin"]);
    expect(cli("carol", ["mailboxes"]).stdout).not.toMatch(/pinned/);
  });

  it("story A: Bob writes to offline Alice; she reads three messages, in order, once", () => {
    const sent = ["Hi Alice", "Are you there?", "Call me when you are back"].map((text) => {
      const out = cli("bob", ["chat", "send", "--to", "alice", text]).stdout;
      expect(out).toMatch(/stored by mailbox 0x[0-9a-f]{40} until /);
      return text;
    });
    const { lines, stderr } = read("alice", ["bob"]);
    expect(lines.map((l) => l.text)).toEqual(sent);
    expect(lines.every((l) => l.senderName === "bob")).toBe(true);
    expect(stderr).toMatch(/inbox: 3 new/);
    // Reading again finds nothing new and prints the same conversation.
    const again = read("alice", ["bob"]);
    expect(again.lines.map((l) => l.text)).toEqual(sent);
    expect(again.stderr).toMatch(/inbox: 0 new/);
    // Bob's copy of the conversation holds what he sent.
    expect(read("bob", ["alice"]).lines.map((l) => l.text)).toEqual(sent);
  });

  it(`story B: Alice misses ${ROOM_MESSAGES} messages in #x; all arrive, in order, once`, () => {
    for (const u of ["alice", "bob", "carol", "dave"] as const) cli(u, ["room", "join", "#x"]);
    const half = ROOM_MESSAGES / 2;
    cli(
      "carol",
      ["chat", "send", "--to", "#x", "--stdin"],
      Array.from({ length: half }, (_, i) => `carol ${i}`).join("\n"),
    );
    cli(
      "dave",
      ["chat", "send", "--to", "#x", "--stdin"],
      Array.from({ length: half }, (_, i) => `dave ${i}`).join("\n"),
    );
    const { lines, stderr } = read("alice", ["#x"]);
    expect(stderr).toMatch(/catching up room:x \[#+\] 100%/);
    expect(lines).toHaveLength(ROOM_MESSAGES);
    expect(new Set(lines.map((l) => l.id)).size).toBe(ROOM_MESSAGES);
    expect(new Set(lines.map((l) => l.text))).toEqual(
      new Set([
        ...Array.from({ length: half }, (_, i) => `carol ${i}`),
        ...Array.from({ length: half }, (_, i) => `dave ${i}`),
      ]),
    );
    expect(inOrder(lines)).toBe(true);
    // Each sender's own messages keep the order they were sent in.
    const carol = lines.filter((l) => l.senderName === "carol").map((l) => Number(l.text.split(" ")[1]));
    expect(carol).toHaveLength(half);
  }, 180_000);

  it("a group chat: members catch up on what was said while they were away", () => {
    const group = JSON.parse(cli("alice", ["group", "create", "--json"]).stdout) as {
      id: string;
      key: string;
    };
    cli("bob", ["group", "join", group.id, group.key]);
    cli("carol", ["group", "join", group.id, group.key]);
    cli("bob", ["chat", "send", "--to", `group:${group.id}`, "lunch at noon?"]);
    cli("carol", ["chat", "send", "--to", `group:${group.id}`, "yes"]);
    cli("bob", ["chat", "send", "--to", `group:${group.id}`, "see you"]);
    const { lines } = read("alice", [`group:${group.id}`]);
    expect(lines.map((l) => `${l.senderName}: ${l.text}`)).toEqual([
      "bob: lunch at noon?",
      "carol: yes",
      "bob: see you",
    ]);
    // A non-member who follows the topic without the key reads nothing.
    expect(() => cli("dave", ["chat", "read", `group:${group.id}`])).toThrow(/unknown group/);
  });

  it("a mailbox stopped mid-catch-up: the client fails over, nothing missing or doubled", async () => {
    // Bob joined #x before the posts; his catch-up is served by alpha (pinned), which is killed
    // once the catch-up is under way.
    const alpha = net.mailboxes[0]!;
    cli("bob", ["mailbox", "pin", alpha.operator]);
    const child = spawn(process.execPath, [POSTBOX_BIN, "chat", "read", "#x", "--json"], {
      env: env("bob", USERS.bob),
    });
    let stdout = "";
    let stderr = "";
    let killed = false;
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on("data", (d) => {
        stderr += d;
        if (!killed && /room:x \[#*\.*\]\s+[1-9]\d%/.test(stderr)) {
          killed = true;
          void alpha.stop("SIGKILL");
        }
      });
      child.on("exit", resolve);
    });
    expect(code, stderr).toBe(0);
    expect(killed).toBe(true);
    const served = /room:x: \d+ new of \d+ envelopes in \d+ pages from (.*)/.exec(stderr)?.[1] ?? "";
    expect(served.split(", ")).toEqual([
      alpha.operator.toLowerCase(),
      net.mailboxes[1]!.operator.toLowerCase(),
    ]);
    // Said as it happened, by the mailboxes' names, not only in a log.
    expect(stderr).toMatch(/mailbox alpha not used \(.+\) — using beta/);
    const lines = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Line);
    expect(lines).toHaveLength(ROOM_MESSAGES);
    expect(new Set(lines.map((l) => l.id)).size).toBe(ROOM_MESSAGES);
    expect(inOrder(lines)).toBe(true);
    await alpha.restart();
    cli("bob", ["mailbox", "unpin"]);
  }, 120_000);

  it("a mailbox that omits messages is caught by a two-mailbox comparison", async () => {
    cli("dave", ["room", "join", "#omissions"]);
    cli("carol", ["room", "join", "#omissions"]);
    cli(
      "carol",
      ["chat", "send", "--to", "#omissions", "--stdin"],
      Array.from({ length: 120 }, (_, i) => `m${i}`).join("\n"),
    );
    // Beta (which heard them over gossip from alpha) loses 7 of them: rows deleted behind its back.
    const beta = net.mailboxes[1]!;
    const db = new DatabaseSync(join(beta.dir, "archive.sqlite"));
    db.exec("PRAGMA busy_timeout = 5000");
    const count = () =>
      (
        db
          .prepare("SELECT COUNT(*) AS n FROM envelopes e JOIN topics t USING (tid) WHERE t.topic = ?")
          .get(roomTopic("omissions")) as { n: number }
      ).n;
    await vi.waitFor(() => expect(count()).toBe(120), { timeout: 10_000, interval: 100 });
    const deleted = db
      .prepare(
        "DELETE FROM envelopes WHERE seq IN (SELECT seq FROM envelopes WHERE tid = (SELECT tid FROM topics WHERE topic = ?) ORDER BY ts LIMIT 7 OFFSET 50)",
      )
      .run(roomTopic("omissions"));
    db.close();
    expect(Number(deleted.changes)).toBe(7);
    const { lines, stderr } = read("dave", ["#omissions", "--k", "2"]);
    expect(lines).toHaveLength(120);
    expect(stderr).toContain(`warning: mailbox ${beta.operator.toLowerCase()} did not return 7 message(s)`);
    // Beta has been charged with a failure; one more and it is graylisted.
    expect(cli("dave", ["mailboxes"]).stdout).toMatch(/./);
  }, 120_000);
});
