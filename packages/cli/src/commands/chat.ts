import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import type { CatchUpProgress, PostboxClient, StoredMessage } from "@postbox/client";
import { PRICE_REFERENCE_PAGE, pageCost } from "@postbox/protocol";
import { formatEther } from "viem";
import { CLIENT_HELP, CLIENT_OPTIONS, openClient } from "../client-config.js";
import { type Output, UsageError } from "../output.js";

export const CHAT_HELP: Record<string, string> = {
  send: `Usage: postbox chat send --to CONTACT|#ROOM|group:ID "text"
       postbox chat send --to DEST --stdin       (one message per input line)

Sends a message: encrypted and signed, pushed to your mailbox(es), which answer with signed store
receipts (printed). A contact is a name you added or a public key.

${CLIENT_HELP}`,
  read: `Usage: postbox chat read [CONVERSATION] [--last N] [--follow]

Catches up every conversation you follow (your inbox, joined rooms and groups) from your mailboxes
— paid through your channel, with a progress bar — then prints CONVERSATION's messages in order
(a contact, #room or group:ID), or every conversation's. --follow stays online and prints new
messages as they arrive.

${CLIENT_HELP}`,
  id: `Usage: postbox id [--export]

Prints your public key (what others add as a contact); --export prints the private key too.

${CLIENT_HELP}`,
  contact: `Usage: postbox contact add NAME PUBLIC_KEY | postbox contact list

${CLIENT_HELP}`,
  room: `Usage: postbox room join #NAME | postbox room leave #NAME

Follows a public room from now on (or stops).

${CLIENT_HELP}`,
  group: `Usage: postbox group create | postbox group join ID KEY

Creates a group (prints its id and key: share them with its members) or joins one.

${CLIENT_HELP}`,
  mailboxes: `Usage: postbox mailboxes

Every registered mailbox with its price, measured uptime, latency, canary completeness, score and
chance of being picked (with --prober, measured figures; otherwise priors, stake and price).

${CLIENT_HELP}`,
  mailbox: `Usage: postbox mailbox pin ADDRESS|PEER_ID | postbox mailbox unpin

Pins a mailbox: it is always one of those used, whatever its score.

${CLIENT_HELP}`,
};

const OPTS = {
  ...CLIENT_OPTIONS,
  to: { type: "string" },
  stdin: { type: "boolean" },
  last: { type: "string" },
  follow: { type: "boolean" },
  export: { type: "boolean" },
} as const;

function parse(argv: string[]) {
  return parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTS });
}

async function withClient<T>(
  values: ReturnType<typeof parse>["values"],
  fn: (c: PostboxClient) => Promise<T>,
) {
  const client = openClient(values);
  try {
    return await fn(client);
  } finally {
    await client.stop();
  }
}

function nameOf(client: PostboxClient, key: string): string {
  if (key === client.publicKey) return "me";
  return client.contacts().find((c) => c.publicKey === key)?.name ?? `${key.slice(0, 10)}…`;
}

function printMessages(client: PostboxClient, io: Output, messages: StoredMessage[], json: boolean) {
  for (const m of messages) {
    if (json) {
      io.out(JSON.stringify({ ...m, senderName: nameOf(client, m.sender) }));
    } else {
      const when = new Date(m.timestamp).toISOString().replace("T", " ").slice(0, 19);
      io.out(`${when}  ${nameOf(client, m.sender).padEnd(12)} ${m.text}`);
    }
  }
}

/** A progress bar on a terminal; one line per tenth elsewhere (logs, tests). */
export function progressPrinter(io: Output) {
  const tty = process.stderr.isTTY;
  let lastTenth = -1;
  return (p: CatchUpProgress) => {
    const pct = Math.floor(p.fraction * 100);
    const bar = `${"#".repeat(Math.floor(pct / 5)).padEnd(20, ".")}`;
    const line = `catching up ${p.feed} [${bar}] ${String(pct).padStart(3)}% ${p.envelopes} envelopes, ${p.pages} pages from ${p.mailbox.slice(0, 12)}`;
    if (tty) process.stderr.write(`\r${line}`);
    else if (Math.floor(pct / 10) !== lastTenth) {
      lastTenth = Math.floor(pct / 10);
      io.err(line);
    }
    if (tty && p.fraction >= 1) process.stderr.write("\n");
  };
}

export async function chatSend(argv: string[], io: Output): Promise<number> {
  const { values, positionals } = parse(argv);
  if (!values.to) throw new UsageError("--to CONTACT|#ROOM|group:ID is required");
  const to = values.to;
  return withClient(values, async (client) => {
    const texts: string[] = [];
    if (values.stdin) {
      for await (const line of createInterface({ input: process.stdin })) if (line.trim()) texts.push(line);
    } else {
      const text = positionals.join(" ");
      if (!text) throw new UsageError('the message text is required: postbox chat send --to X "text"');
      texts.push(text);
    }
    const dest = client.resolve(to);
    if (texts.length > 1) {
      const r = await client.sendMany(dest, texts, (done, total) => io.err(`sent ${done}/${total}`));
      io.err(`${r.confirmed} confirmed stored by a mailbox, ${r.pushed} pushed with a receipt`);
      if (values.json) io.out(JSON.stringify(r));
    } else {
      const r = await client.send(dest, texts[0]!);
      if (values.json) io.out(JSON.stringify(r));
      else
        for (const receipt of r.receipts)
          io.out(
            `sent ${r.id.slice(0, 16)} · stored by mailbox ${receipt.mailbox} until ${new Date(receipt.retainUntil).toISOString()}`,
          );
    }
    return 0;
  });
}

export async function chatRead(argv: string[], io: Output): Promise<number> {
  const { values, positionals } = parse(argv);
  const last = values.last === undefined ? undefined : Number(values.last);
  if (last !== undefined && (!Number.isInteger(last) || last < 1))
    throw new UsageError("--last must be a count");
  return withClient(values, async (client) => {
    const conversation = positionals[0] ? client.conversationOf(positionals[0]) : undefined;
    const feed = conversation?.startsWith("dm:") ? "inbox" : conversation;
    const results = await client.catchUp({ ...(feed ? { feed } : {}), onProgress: progressPrinter(io) });
    for (const r of results) {
      const gaps = r.gaps.filter((g) => g.missing.length + g.omitted.length > 0);
      io.err(
        `${r.feed}: ${r.added} new of ${r.envelopes} envelopes in ${r.pages} pages from ${[...new Set(r.served)].join(", ")}`,
      );
      for (const g of gaps)
        io.err(
          `warning: mailbox ${g.mailbox} did not return ${g.missing.length + g.omitted.length} message(s) another mailbox had (${g.omitted.length} it admits holding)`,
        );
    }
    const conversations = conversation ? [conversation] : client.conversations().map((c) => c.conversation);
    for (const c of conversations) {
      if (!conversation && !values.json) io.out(`— ${c}`);
      printMessages(client, io, client.messages(c, last), values.json ?? false);
    }
    if (values.follow) {
      client.onMessage((m) => {
        if (!conversation || m.conversation === conversation)
          printMessages(client, io, [m], values.json ?? false);
      });
      await client.start();
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
    }
    return 0;
  });
}

export async function identityCommand(argv: string[], io: Output): Promise<number> {
  const { values } = parse(argv);
  return withClient(values, async (client) => {
    const view = {
      publicKey: client.publicKey,
      ...(values.export ? { privateKey: client.exportIdentity() } : {}),
    };
    io.out(
      values.json
        ? JSON.stringify(view)
        : Object.entries(view)
            .map(([k, v]) => `${k} ${v}`)
            .join("\n"),
    );
    return 0;
  });
}

export function contactCommand(sub: "add" | "list") {
  return async (argv: string[], io: Output): Promise<number> => {
    const { values, positionals } = parse(argv);
    return withClient(values, async (client) => {
      if (sub === "add") {
        const [name, key] = positionals;
        if (!name || !key) throw new UsageError("postbox contact add NAME PUBLIC_KEY");
        client.addContact(name, key);
      }
      for (const c of client.contacts())
        io.out(values.json ? JSON.stringify(c) : `${c.name.padEnd(16)} ${c.publicKey}`);
      return 0;
    });
  };
}

export function roomCommand(sub: "join" | "leave") {
  return async (argv: string[], io: Output): Promise<number> => {
    const { values, positionals } = parse(argv);
    const name = positionals[0];
    if (!name) throw new UsageError(`postbox room ${sub} #NAME`);
    return withClient(values, async (client) => {
      if (sub === "join") io.out(`following ${client.joinRoom(name)}`);
      else {
        client.leaveRoom(name);
        io.out(`left ${name}`);
      }
      return 0;
    });
  };
}

export function groupCommand(sub: "create" | "join") {
  return async (argv: string[], io: Output): Promise<number> => {
    const { values, positionals } = parse(argv);
    return withClient(values, async (client) => {
      if (sub === "create") {
        const g = client.createGroup();
        io.out(values.json ? JSON.stringify(g) : `group:${g.id}\nkey ${g.key}`);
      } else {
        const [id, key] = positionals;
        if (!id || !key) throw new UsageError("postbox group join ID KEY");
        io.out(`following ${client.joinGroup(id.replace(/^group:/, ""), key)}`);
      }
      return 0;
    });
  };
}

const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`;

export async function mailboxesCommand(argv: string[], io: Output): Promise<number> {
  const { values } = parse(argv);
  return withClient(values, async (client) => {
    const list = await client.mailboxes();
    if (values.json) {
      for (const m of list) io.out(JSON.stringify(m, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
      return 0;
    }
    const rows = list.map((m) => [
      m.id.length > 14 ? `${m.id.slice(0, 8)}…${m.id.slice(-4)}` : m.id,
      `${formatEther(pageCost(m.price, PRICE_REFERENCE_PAGE))}${m.pendingPrice ? "*" : ""}`,
      pct(m.figures?.uptime24h),
      pct(m.figures?.uptime7d),
      m.figures?.latencyP50Ms == null ? "—" : `${Math.round(m.figures.latencyP50Ms)} ms`,
      m.figures && m.figures.canariesExpected > 0
        ? pct(m.figures.canariesFound / m.figures.canariesExpected)
        : "—",
      m.score.toFixed(3),
      m.graylisted ? "graylisted" : pct(m.chance),
      m.pinned ? "pinned" : "",
    ]);
    const head = ["mailbox", "SNT/50 msgs", "up 24h", "up 7d", "latency", "canaries", "score", "chance", ""];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const fmt = (r: string[]) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd();
    io.out(fmt(head));
    for (const r of rows) io.out(fmt(r));
    if (list.some((m) => m.pendingPrice)) io.out("* a price change is pending");
    return 0;
  });
}

export function mailboxPinCommand(sub: "pin" | "unpin") {
  return async (argv: string[], io: Output): Promise<number> => {
    const { values, positionals } = parse(argv);
    return withClient(values, async (client) => {
      if (sub === "pin") {
        const id = positionals[0];
        if (!id) throw new UsageError("postbox mailbox pin ADDRESS|PEER_ID");
        const known = (await client.mailboxes()).find(
          (m) => m.id === id.toLowerCase() || m.peerId.toLowerCase() === id.toLowerCase(),
        );
        if (!known) throw new UsageError(`no such mailbox: ${id} (see postbox mailboxes)`);
        client.directory.pin(known.id);
        io.out(`pinned ${known.id}`);
      } else {
        client.directory.unpin();
        io.out("unpinned");
      }
      return 0;
    });
  };
}
