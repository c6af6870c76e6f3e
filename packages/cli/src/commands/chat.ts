import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import {
  browserDialPolicy,
  type CatchUpProgress,
  defaultPlatform,
  dialableAddresses,
  failureText,
  type MailboxCandidate,
  NotStoredError,
  type OutgoingStatus,
  type PostboxClient,
  type SendResult,
  type StoredMessage,
} from "@postbox/client";
import {
  createIdentity,
  ExportedKeyError,
  FIGURE_MIN_SAMPLES,
  formatSnt,
  fromBareHex,
  PRICE_REFERENCE_LABEL,
  PRICE_REFERENCE_PAGE,
  pageCost,
  parseExportedKey,
  toBareHex,
} from "@postbox/protocol";
import {
  CLIENT_HELP,
  CLIENT_OPTIONS,
  chainContext,
  closeClient,
  openClient,
  paymentSettings,
} from "../client-config.js";
import { type Output, table, UsageError } from "../output.js";
import { printChannelEvents } from "./channel.js";

export const CHAT_HELP: Record<string, string> = {
  send: `Usage: postbox chat send --to CONTACT|#ROOM|group:ID "text"
       postbox chat send --to DEST --stdin       (one message per input line)

Sends a message: encrypted and signed, pushed to your mailbox(es), which answer with signed store
receipts. A contact is a name you added or a public key. Prints the message's state: "stored by
alpha" (with each receipt), or, when no mailbox stored it, "not stored (alpha: unreachable; …) —
retry: postbox chat retry ID" and exit code 1 (the message is kept). Once the recipient's client
has saved it, "chat read" and "chat status" say "delivered" ("delivered to N of M" in a group).

${CLIENT_HELP}`,
  retry: `Usage: postbox chat retry ID

Sends again a message no mailbox stored (ID: its message id, or the first 8 or more characters of
it, as "chat send" and "chat read" print it). If a mailbox holds it after all, it is marked stored;
otherwise the same envelope is pushed while it is less than 15 s old, and after that the message is
sealed again under a new id (mailboxes refuse envelopes more than 20 s off their clock). Exit code
1 when no mailbox stored it this time.

${CLIENT_HELP}`,
  status: `Usage: postbox chat status ID

Prints a sent message's delivery state (no network): sending, stored (by which mailboxes, with
their receipts), delivered (to whom; in a group "delivered to N of M"), or not stored (and why).
A state changes when you "chat read" (acks arrive on your inbox or the group) or "chat retry".

${CLIENT_HELP}`,
  read: `Usage: postbox chat read [CONVERSATION] [--last N] [--follow]

Catches up every conversation you follow (your inbox, joined rooms and groups) from your mailboxes
— paid through your channel, with a progress bar — then prints CONVERSATION's messages in order
(a contact, #room or group:ID), or every conversation's. Each of your messages shows its state:
[stored by alpha], [delivered], [delivered to 1 of 2] in a group, or [not stored … — retry:
postbox chat retry ID]. Reading tells the senders of what you saved that you have it (an encrypted
acknowledgement: one per conversation, 1:1 and groups, never rooms). --follow stays online and
prints new messages (and your messages' new states) as they arrive, until Ctrl-C.

A paid mailbox is paid through a payment channel, opened on first use: before it is opened, what is
paid, to whom, the deposit and your cap per page are printed on stderr (--deposit and
--max-page-cost change them; --spending-cap caps what one channel may authorise in all). A
channel record that does not hold on the chain you use (a local chain that was restarted, another
deployment) is set aside as archived and a new one opened.

${CLIENT_HELP}`,
  id: `Usage: postbox id [--export [--yes]]
       postbox id --import [--key-file FILE] [--yes]

Prints your public key (what others add as a contact). --export prints the private key too, with a
warning on stderr: whoever has it reads your messages and writes as you. It is refused on a
terminal unless --yes (screens, scrollback and recordings keep what is shown): redirect it to a
file only you can read instead, (umask 077; postbox id --export > identity.key).

--import makes an exported key this folder's identity (to use it on this device too): it reads
the key from --key-file FILE or standard input (postbox id --import < identity.key; on a terminal
it asks for a paste and does not show it), never from the command line, where shell history would
keep it. It takes what postbox id --export wrote (both lines: the privateKey line is used), or the
64 hexadecimal digits alone as the web chat's "Export your key" shows them (0x allowed). The inbox
is then fetched from 7 days back. A folder that already has another identity keeps it unless
--yes: replacing it means messages sent to the old key and not yet fetched, or sent later, can no
longer be read here (export it first if you may need it). The same key again changes nothing.
Prints the public key now used.

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

Every registered mailbox with its price ${PRICE_REFERENCE_LABEL} (in SNT), measured uptime over
24 h and 7 d, latency, canary completeness, score and chance of being picked for the next catch-up.
Each figure is followed by the number of samples it rests on, or reads "new" below
${FIGURE_MIN_SAMPLES}. Figures come from --prober; without one, scores rest on priors, stake and
price. --json prints every field, one mailbox per line.

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
  import: { type: "boolean" },
  "key-file": { type: "string" },
  yes: { type: "boolean" },
} as const;

function parse(argv: string[]) {
  return parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTS });
}

async function withClient<T>(
  values: ReturnType<typeof parse>["values"],
  fn: (c: PostboxClient) => Promise<T>,
) {
  const client = await openClient(values);
  try {
    return await fn(client);
  } finally {
    await closeClient(client);
  }
}

/** Names senders as the user knows them: "me", a contact's name, or a short key. */
async function namer(client: PostboxClient): Promise<(key: string) => string> {
  const names = new Map((await client.contacts()).map((c) => [c.publicKey, c.name] as const));
  return (key) => (key === client.publicKey ? "me" : (names.get(key) ?? `${key.slice(0, 10)}…`));
}

function printMessages(
  nameOf: (key: string) => string,
  io: Output,
  messages: StoredMessage[],
  json: boolean,
  states: Map<string, OutgoingStatus> = new Map(),
  mailboxName: (id: string) => string = (id) => id,
) {
  for (const m of messages) {
    const state = m.outgoing ? states.get(m.messageId) : undefined;
    if (json) {
      io.out(
        JSON.stringify({
          ...m,
          senderName: nameOf(m.sender),
          ...(state
            ? {
                state: state.state,
                storedBy: state.storedBy.map(mailboxName),
                deliveredTo: state.deliveredTo.map(nameOf),
                ...(state.members === undefined ? {} : { members: state.members }),
                delivery: stateText(state, mailboxName),
              }
            : {}),
        }),
      );
    } else {
      const when = new Date(m.timestamp).toISOString().replace("T", " ").slice(0, 19);
      io.out(
        `${when}  ${nameOf(m.sender).padEnd(12)} ${m.text}${state ? `  [${stateText(state, mailboxName)}]` : ""}`,
      );
    }
  }
}

/** The short id a person types: the first 16 hex digits of a message id. */
const shortMessageId = (messageId: string) => messageId.slice(0, 16);

/** `not stored (alpha: unreachable; beta: RATE_LIMITED) — retry: postbox chat retry ID` */
function notStoredText(messageId: string, why: string | undefined): string {
  return `not stored${why ? ` (${why})` : ""} — retry: postbox chat retry ${shortMessageId(messageId)}`;
}

/** A sent message's state in words: "stored by alpha", "delivered", "delivered to 1 of 2", … */
export function stateText(s: OutgoingStatus, mailboxName: (id: string) => string): string {
  switch (s.state) {
    case "sending":
      return "sending";
    case "stored":
      return `stored by ${s.storedBy.map(mailboxName).join(", ")}`;
    case "not-stored":
      return notStoredText(s.messageId, s.error);
    case "delivered":
      return s.members === undefined ? "delivered" : `delivered to ${s.deliveredTo.length} of ${s.members}`;
  }
}

/** Names mailboxes as the directory knows them ("alpha"), or by a short id. */
async function mailboxNamer(client: PostboxClient): Promise<(id: string) => string> {
  const names = new Map((await client.mailboxes().catch(() => [])).map((m) => [m.id, m.name] as const));
  return (id) => names.get(id) ?? (id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id);
}

/** A sent message by its message id or a unique prefix of it (8 hex digits or more). */
async function sentMessage(client: PostboxClient, id: string | undefined): Promise<OutgoingStatus> {
  const prefix = id?.replace(/^0x/, "").toLowerCase();
  if (!prefix || !/^[0-9a-f]{8,64}$/.test(prefix))
    throw new UsageError("a message id (8 to 64 hex digits, as chat send prints it) is required");
  const matches = (await client.outgoing()).filter((r) => r.messageId.startsWith(prefix));
  if (matches.length === 0) throw new UsageError(`no message you sent has the id ${prefix}`);
  if (matches.length > 1)
    throw new UsageError(`${prefix} is the start of ${matches.length} message ids: give more of it`);
  return matches[0]!;
}

/**
 * Prints what a send or a retry did: "sent ID · stored by alpha" and each receipt; or, when no
 * mailbox stored it, "not stored (why) — retry: …" on stderr and exit code 1.
 */
async function printSent(
  client: PostboxClient,
  io: Output,
  json: boolean,
  send: () => Promise<SendResult>,
): Promise<number> {
  const mailboxName = await mailboxNamer(client);
  let r: SendResult;
  try {
    r = await send();
  } catch (err) {
    if (!(err instanceof NotStoredError) || !err.messageId) throw err;
    const why =
      failureText(err.failures.map((f) => ({ ...f, name: f.name ?? mailboxName(f.mailbox) }))) || err.details;
    if (json) io.out(JSON.stringify({ messageId: err.messageId, state: "not-stored", error: why }));
    io.err(notStoredText(err.messageId, why));
    return 1;
  }
  const record = (await client.outgoing({ messageIds: [r.messageId] }))[0];
  if (json) {
    io.out(JSON.stringify({ ...r, state: record?.state ?? r.state, storedBy: record?.storedBy ?? [] }));
    return 0;
  }
  if (r.replaces)
    io.out(
      `sealed again as ${shortMessageId(r.messageId)} (the first copy, ${shortMessageId(r.replaces)}, was too old for the mailboxes' clock window)`,
    );
  io.out(`sent ${shortMessageId(r.messageId)} · ${record ? stateText(record, mailboxName) : r.state}`);
  for (const receipt of r.receipts)
    io.out(
      `  receipt: stored by mailbox ${receipt.mailbox} until ${new Date(receipt.retainUntil).toISOString()} (${mailboxName(receipt.mailbox)})`,
    );
  return 0;
}

/**
 * Says on stderr when a catch-up or a send moves from one mailbox to the next, as it happens, and
 * why (the mailbox failed, or the client's own rules refused to pay it).
 */
function printFailovers(client: PostboxClient, io: Output, names: Map<string, string | undefined>) {
  const name = (id: string) => names.get(id) ?? (id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id);
  client.onEvent((e) => {
    if (e.type === "failover")
      io.err(
        `mailbox ${name(e.from)} not used (${e.reason}) — ${e.to ? `using ${name(e.to)}` : "no other mailbox left"}`,
      );
  });
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
    const dest = await client.resolve(to);
    printFailovers(client, io, new Map((await client.mailboxes()).map((m) => [m.id, m.name] as const)));
    if (texts.length > 1) {
      const r = await client.sendMany(dest, texts, (done, total) => io.err(`sent ${done}/${total}`));
      io.err(`${r.confirmed} confirmed stored by a mailbox, ${r.pushed} pushed with a receipt`);
      if (values.json) io.out(JSON.stringify(r));
      return 0;
    }
    const off = client.onEvent((e) => {
      if (e.type === "message-state" && e.state === "sending" && !e.replaces)
        io.err(`sending ${shortMessageId(e.messageId)} to ${to}`);
    });
    try {
      return await printSent(client, io, values.json ?? false, () => client.send(dest, texts[0]!));
    } finally {
      off();
    }
  });
}

/** `postbox chat retry ID`: sends again a message no mailbox stored. */
export async function chatRetry(argv: string[], io: Output): Promise<number> {
  const { values, positionals } = parse(argv);
  return withClient(values, async (client) => {
    const record = await sentMessage(client, positionals[0]);
    const mailboxName = await mailboxNamer(client);
    if (record.state === "stored" || record.state === "delivered") {
      io.out(`${shortMessageId(record.messageId)} needs no retry: ${stateText(record, mailboxName)}`);
      return 0;
    }
    printFailovers(client, io, new Map((await client.mailboxes()).map((m) => [m.id, m.name] as const)));
    return printSent(client, io, values.json ?? false, () => client.retry(record.messageId));
  });
}

/** `postbox chat status ID`: a sent message's delivery state, from what this client knows. */
export async function chatStatus(argv: string[], io: Output): Promise<number> {
  const { values, positionals } = parse(argv);
  return withClient(values, async (client) => {
    const record = await sentMessage(client, positionals[0]);
    const mailboxName = await mailboxNamer(client);
    const nameOf = await namer(client);
    const receipts = await client.receipts(record.envelopeId);
    if (values.json) {
      io.out(JSON.stringify({ ...record, delivery: stateText(record, mailboxName), receipts }));
      return 0;
    }
    io.out(
      `${shortMessageId(record.messageId)} to ${record.conversation}: ${stateText(record, mailboxName)}`,
    );
    io.out(
      `  message id ${record.messageId}, sent ${new Date(record.timestamp).toISOString()}, ${record.attempts} attempt(s)`,
    );
    for (const r of receipts)
      io.out(
        `  receipt: stored by mailbox ${r.mailbox} until ${new Date(r.retainUntil).toISOString()} (${mailboxName(r.mailbox)})`,
      );
    if (record.deliveredTo.length > 0) io.out(`  delivered to ${record.deliveredTo.map(nameOf).join(", ")}`);
    if (record.members !== undefined && record.deliveredTo.length < record.members)
      io.out(`  waiting for ${record.members - record.deliveredTo.length} more member(s) to acknowledge it`);
    return 0;
  });
}

export async function chatRead(argv: string[], io: Output): Promise<number> {
  const { values, positionals } = parse(argv);
  const last = values.last === undefined ? undefined : Number(values.last);
  if (last !== undefined && (!Number.isInteger(last) || last < 1))
    throw new UsageError("--last must be a count");
  return withClient(values, async (client) => {
    const conversation = positionals[0] ? await client.conversationOf(positionals[0]) : undefined;
    const feed = conversation?.startsWith("dm:") ? "inbox" : conversation;
    const channels = client.channels;
    // The mailboxes as the directory reads them (read once; the catch-up reuses what was read).
    const known = new Map((await client.mailboxes()).map((m) => [m.id, m] as const));
    printFailovers(client, io, new Map([...known].map(([id, m]) => [id, m.name] as const)));
    if (channels) {
      // Say what is paid before paying.
      printChannelEvents(channels, io, {
        name: (payee) => known.get(payee.toLowerCase())?.name,
        pageCost: (payee) => {
          const m = known.get(payee.toLowerCase());
          return m && pageCost(m.price, PRICE_REFERENCE_PAGE);
        },
        maxPageCost: paymentSettings(values).maxPageCost,
      });
    }
    const results = await client.catchUp({ ...(feed ? { feed } : {}), onProgress: progressPrinter(io) });
    for (const r of results) {
      const gaps = r.gaps.filter((g) => g.missing.length + g.omitted.length > 0);
      io.err(
        `${r.feed}: ${r.added} new of ${r.envelopes} envelopes in ${r.pages} pages from ${[...new Set(r.served)].join(", ")}`,
      );
      for (const g of gaps) {
        io.err(
          `warning: mailbox ${g.mailbox} did not return ${g.missing.length + g.omitted.length} message(s) another mailbox had (${g.omitted.length} it admits holding)`,
        );
        // Its own signed answers prove it: filing costs gas, so it is the user's call.
        for (const id of g.proved)
          io.err(
            `  omission proof kept for ${id} (it said it held it, then left it out again): postbox dispute omission ${id} --mailbox ${g.mailbox}`,
          );
      }
    }
    const conversations = conversation
      ? [conversation]
      : (await client.conversations()).map((c) => c.conversation);
    const nameOf = await namer(client);
    const mailboxName = (id: string) =>
      known.get(id)?.name ?? (id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id);
    for (const c of conversations) {
      if (!conversation && !values.json) io.out(`— ${c}`);
      const states = new Map((await client.outgoing(c)).map((r) => [r.messageId, r] as const));
      printMessages(nameOf, io, await client.messages(c, last), values.json ?? false, states, mailboxName);
    }
    if (values.follow) {
      client.onMessage((m) => {
        if (!conversation || m.conversation === conversation)
          printMessages(nameOf, io, [m], values.json ?? false);
      });
      client.onEvent((e) => {
        if (e.type !== "message-state" || (conversation && e.conversation !== conversation)) return;
        const r: OutgoingStatus = {
          messageId: e.messageId,
          envelopeId: "",
          conversation: e.conversation ?? "",
          timestamp: 0,
          state: e.state,
          storedBy: e.storedBy,
          deliveredTo: e.deliveredTo,
          attempts: 0,
          ...(e.error === undefined ? {} : { error: e.error }),
          ...(e.members === undefined ? {} : { members: e.members }),
        };
        io.err(`${shortMessageId(e.messageId)}: ${stateText(r, mailboxName)}`);
      });
      await client.start();
      io.err("waiting for new messages… (Ctrl-C to stop)");
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
    }
    return 0;
  });
}

export async function identityCommand(argv: string[], io: Output): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.import) return importIdentity(values, positionals, io);
  if (values["key-file"] !== undefined) throw new UsageError("--key-file goes with --import");
  if (values.export) {
    // As wallets do: never shown without a warning, and not on a screen unless asked twice.
    if (process.stdout.isTTY && !values.yes)
      throw new UsageError(
        "refusing to print a private key on a terminal (screens, scrollback and recordings keep it): redirect it to a file only you can read, (umask 077; postbox id --export > identity.key), or add --yes",
      );
    io.err(
      "warning: this is your chat identity's private key: whoever has it reads your messages and writes as you. Keep it secret (it is not your wallet's key).",
    );
  }
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

/** How far back an imported identity's inbox is fetched (the web chat's default choice). */
const IMPORT_SINCE_MS = 7 * 86_400_000;

/**
 * `postbox id --import`: an exported key becomes this folder's identity. The key comes from a file
 * or standard input, never from the command line (shell history keeps what is typed there).
 */
async function importIdentity(
  values: ReturnType<typeof parse>["values"],
  positionals: string[],
  io: Output,
): Promise<number> {
  if (values.export) throw new UsageError("--import and --export do not go together");
  if (positionals.length > 0)
    throw new UsageError(
      "postbox id --import takes no key on the command line (shell history would keep it): give --key-file FILE, or the key on standard input (postbox id --import < identity.key)",
    );
  const keyFile = values["key-file"];
  let text: string;
  if (keyFile !== undefined) {
    try {
      text = readFileSync(keyFile, "utf8");
    } catch (e) {
      throw new UsageError(`cannot read ${keyFile} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
    }
  } else {
    text = process.stdin.isTTY ? await readHiddenLine() : await readAll(process.stdin);
  }
  const from = keyFile ?? "standard input";
  const key = exportedKey(text, from);
  const identity = createIdentity(fromBareHex(key));
  const publicKey = toBareHex(identity.publicKey);
  const { dataDir } = chainContext(values, { requireWallet: false });
  const storage = await defaultPlatform().openStorage(dataDir);
  try {
    const current = await storage.get("identity");
    if (current === key) {
      io.err(`this identity is already the one in ${dataDir}: nothing changed`);
    } else {
      const old = current ? toBareHex(createIdentity(fromBareHex(current)).publicKey) : undefined;
      if (old) {
        if (!values.yes)
          throw new UsageError(
            `${dataDir} already has another identity, ${old}: replacing it means messages sent to that key and not yet fetched, or sent later, can no longer be read here (unless you exported its key: postbox id --export). Add --yes to replace it`,
          );
        // Following the inbox again does not change its topic: stop following the old one first.
        await storage.unfollow("inbox");
      }
      await storage.set("identity", key);
      await storage.set("createdAt", String(Date.now() - IMPORT_SINCE_MS));
      io.err(
        `${old ? `replaced identity ${old} with the imported one` : "imported the identity"}: its inbox is fetched from 7 days back`,
      );
    }
  } finally {
    await storage.close();
  }
  io.out(values.json ? JSON.stringify({ publicKey }) : `publicKey ${publicKey}`);
  return 0;
}

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of input) text += chunk.toString();
  return text;
}

/** One line from the terminal, not echoed (a pasted key stays off the screen and scrollback). */
function readHiddenLine(): Promise<string> {
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  // The interface puts the terminal in raw mode (no echo) as it is made: only then the prompt, so a
  // paste that follows it at once is never echoed.
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  process.stderr.write("Paste the exported key (it is not shown), then Enter: ");
  const lines: string[] = [];
  return new Promise<string>((resolve, reject) => {
    // A paste of both lines of postbox id --export: wait past the publicKey line for the key.
    rl.on("line", (line) => {
      lines.push(line);
      if (!line.trim().startsWith("publicKey ")) resolve(lines.join("\n"));
    });
    rl.once("close", () => resolve(lines.join("\n")));
    rl.once("SIGINT", () => reject(new UsageError("cancelled: nothing imported")));
  }).finally(() => {
    rl.close();
    process.stderr.write("\n");
  });
}

/**
 * The 64 hexadecimal digits of an exported key, from what `postbox id --export` wrote (its two
 * lines, or its --json line) or the key alone (the web chat's "Export your key"; 0x allowed), by
 * the rules the web chat's import shares (`parseExportedKey`). Errors never quote the input.
 */
function exportedKey(text: string, from = "the input"): string {
  try {
    return parseExportedKey(text, from).privateKey;
  } catch (err) {
    if (err instanceof ExportedKeyError) throw new UsageError(err.shortMessage);
    throw err;
  }
}

export function contactCommand(sub: "add" | "list") {
  return async (argv: string[], io: Output): Promise<number> => {
    const { values, positionals } = parse(argv);
    return withClient(values, async (client) => {
      if (sub === "add") {
        const [name, key] = positionals;
        if (!name || !key) throw new UsageError("postbox contact add NAME PUBLIC_KEY");
        await client.addContact(name, key);
      }
      for (const c of await client.contacts())
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
      if (sub === "join") io.out(`following ${await client.joinRoom(name)}`);
      else {
        await client.leaveRoom(name);
        io.out(`left ${name}`);
      }
      return 0;
    });
  };
}

const JOIN_LATER =
  "note: no mailbox took your join message (members count each other by it); it is sent again after your next chat read";

export function groupCommand(sub: "create" | "join") {
  return async (argv: string[], io: Output): Promise<number> => {
    const { values, positionals } = parse(argv);
    return withClient(values, async (client) => {
      if (sub === "create") {
        const g = await client.createGroup();
        io.out(values.json ? JSON.stringify(g) : `group:${g.id}\nkey ${g.key}`);
        if (!(await client.joinAnnounced(`group:${g.id}`))) io.err(JOIN_LATER);
      } else {
        const [id, key] = positionals;
        if (!id || !key) throw new UsageError("postbox group join ID KEY");
        const conversation = await client.joinGroup(id.replace(/^group:/, ""), key);
        io.out(`following ${conversation}`);
        if (!(await client.joinAnnounced(conversation))) io.err(JOIN_LATER);
      }
      return 0;
    });
  };
}

const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`;

/** A measured figure with the number of samples it rests on, or "new" below FIGURE_MIN_SAMPLES. */
function measured(value: string, samples: number | undefined): string {
  if (samples === undefined) return value;
  return samples < FIGURE_MIN_SAMPLES ? `new (${samples})` : `${value} (${samples})`;
}

function mailboxRow(m: MailboxCandidate): string[] {
  const f = m.figures;
  const s = f?.samples;
  return [
    m.id.length > 14 ? `${m.id.slice(0, 8)}…${m.id.slice(-4)}` : m.id,
    m.name ?? "",
    `${formatSnt(pageCost(m.price, PRICE_REFERENCE_PAGE), { unit: false })}${m.pendingPrice ? "*" : ""}`,
    f ? measured(pct(f.uptime24h), s?.probes24h) : "—",
    f ? measured(pct(f.uptime7d), s?.probes7d ?? f.probesOk + f.probesFailed) : "—",
    f
      ? measured(
          f.latencyP50Ms == null ? "—" : `${Math.round(f.latencyP50Ms)} ms`,
          s?.probes24h ?? f.probesOk,
        )
      : "—",
    f
      ? measured(
          f.canariesExpected > 0 ? pct(f.canariesFound / f.canariesExpected) : "—",
          s?.canaries7d ?? f.canariesExpected,
        )
      : "—",
    m.score.toFixed(3),
    m.graylisted ? "graylisted" : m.reachable ? pct(m.chance) : "unreachable",
    [m.pinned ? "pinned" : "", browserReachable(m) ? "" : "no browser"].filter(Boolean).join(" "),
  ];
}

/** Whether a web page on https could dial the mailbox (a /tls/ws address: docs/operators.md). */
function browserReachable(m: MailboxCandidate): boolean {
  return dialableAddresses(m, browserDialPolicy("https:")).length > 0;
}

export async function mailboxesCommand(argv: string[], io: Output): Promise<number> {
  const { values } = parse(argv);
  return withClient(values, async (client) => {
    const list = await client.mailboxes();
    if (values.json) {
      for (const m of list)
        io.out(
          JSON.stringify(
            {
              ...m,
              referencePage: PRICE_REFERENCE_PAGE,
              pageCost: pageCost(m.price, PRICE_REFERENCE_PAGE),
              browserReachable: browserReachable(m),
            },
            (_, v) => (typeof v === "bigint" ? v.toString() : v),
          ),
        );
      return 0;
    }
    const head = [
      "mailbox",
      "name",
      `SNT ${PRICE_REFERENCE_LABEL}`,
      "up 24h (n)",
      "up 7d (n)",
      "latency (n)",
      "canaries (n)",
      "score",
      "chance",
      "",
    ];
    for (const line of table(head, list.map(mailboxRow))) io.out(line);
    if (list.some((m) => m.pendingPrice)) io.out("* a price change is pending");
    if (list.some((m) => !browserReachable(m)))
      io.out("no browser: no /tls/ws address, so web pages on https cannot reach it (docs/operators.md)");
    if (list.some((m) => m.figures))
      io.out(
        `(n): the samples a figure rests on (probes over 24 h for up 24h and latency, over 7 d for up 7d; canaries over 7 d); "new" below ${FIGURE_MIN_SAMPLES}`,
      );
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
        await client.directory.pin(known.id);
        io.out(`pinned ${known.id}`);
      } else {
        await client.directory.unpin();
        io.out("unpinned");
      }
      return 0;
    });
  };
}
