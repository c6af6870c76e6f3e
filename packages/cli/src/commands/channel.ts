import { parseArgs } from "node:util";
import {
  type ArchivedChannelRecord,
  type ChannelEvent,
  type ChannelManager,
  type ChannelRecord,
  type ChannelStatus,
  mailboxName,
} from "@postbox/client";
import { readMailboxes } from "@postbox/contracts";
import { formatDuration, formatSnt, PRICE_REFERENCE_LABEL } from "@postbox/protocol";
import type { Address } from "viem";
import {
  type ChainContext,
  CLIENT_HELP,
  CLIENT_OPTIONS,
  chainContext,
  channelManager,
  parseAmount,
} from "../client-config.js";
import { type Output, table, UsageError } from "../output.js";

const OPTIONS = `Options:
  --mailbox ADDRESS     the mailbox operator's on-chain address (the payee)

${CLIENT_HELP}`;

export const CHANNEL_HELP: Record<string, string> = {
  open: `Usage: postbox channel open --mailbox ADDRESS --deposit SNT [options]

Opens a payment channel to a mailbox in one transaction (SNT approveAndCall). Vouchers are signed
by a session key kept in the data folder, so paying for history needs no wallet pop-ups.

${OPTIONS}`,
  topup: `Usage: postbox channel topup --mailbox ADDRESS --amount SNT [options]

Adds to the channel's deposit (refused by the contract once a close is pending).

${OPTIONS}`,
  status: `Usage: postbox channel status [--mailbox ADDRESS] [options]

Every channel of the data folder with its state on the chain now (deposit, what the mailboxes
charged, what they redeemed, any close), then the archived records (channels that do not hold on
this chain, kept because they may hold a deposit where they were opened) and records of other
chains. With --mailbox, that mailbox's channel in detail.

${OPTIONS}`,
  close: `Usage: postbox channel close --mailbox ADDRESS [options]

Asks to close. The mailbox may still redeem until the close grace ends (printed, in chain time);
then withdraw.

${OPTIONS}`,
  withdraw: `Usage: postbox channel withdraw --mailbox ADDRESS [--wait] [options]

After the close grace: takes back everything the mailbox did not redeem. The grace is counted in
chain time; before it ends the command says how long is left, or with --wait waits for it.

${OPTIONS}`,
};

const OPTS = {
  ...CLIENT_OPTIONS,
  mailbox: { type: "string" },
  amount: { type: "string" },
  wait: { type: "boolean" },
} as const;

const short = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;

/** How the registry's operators name their mailboxes, best effort: none when it cannot be read. */
export async function mailboxNames(ctx: Pick<ChainContext, "publicClient" | "registry">) {
  const names = new Map<string, string>();
  try {
    for (const m of await readMailboxes(ctx.publicClient, ctx.registry)) {
      const name = mailboxName(m.metadataURI);
      if (name) names.set(m.operator.toLowerCase(), name);
    }
  } catch {
    // Addresses alone, then.
  }
  return names;
}

/** "postbox-devnet:alpha (0x7099…)", or the address alone. */
export function mailboxLabel(address: string, name: string | undefined): string {
  return name ? `${name} (${address.toLowerCase()})` : address.toLowerCase();
}

/** The one line that says a record was set aside, and why. */
export function archivedLine(record: ArchivedChannelRecord, name: string | undefined): string {
  return `your channel ${record.channelId} to mailbox ${mailboxLabel(record.payee, name)} is ${record.reason}; its record is set aside as archived in channels.db (it may still hold a deposit where it was opened: postbox channel status lists it)`;
}

/**
 * Prints what the channel manager does with the user's money on stderr (stdout stays for results
 * and --json): opening (what is paid, to whom, the deposit, the cap and how to change them) before
 * the transaction, then the channel opened; top-ups; records set aside.
 */
export function printChannelEvents(
  channels: ChannelManager,
  io: Output,
  context: {
    name: (payee: string) => string | undefined;
    /** The cost of a reference page at the mailbox, when known. */
    pageCost?: (payee: string) => bigint | undefined;
    maxPageCost?: bigint | undefined;
  },
): () => void {
  return channels.onEvent((e: ChannelEvent) => {
    if (e.type === "archived") io.err(archivedLine(e.record, context.name(e.record.payee)));
    else if (e.type === "opening") {
      const payee = e.payee.toLowerCase();
      const price = context.pageCost?.(payee);
      io.err(
        [
          `paying mailbox ${mailboxLabel(payee, context.name(payee))} for history through a payment channel:`,
          `  deposit ${formatSnt(e.deposit)} into a new channel (change it with --deposit SNT or POSTBOX_CHANNEL_DEPOSIT)`,
          `  ${price === undefined ? "" : `price ${formatSnt(price)} ${PRICE_REFERENCE_LABEL}; `}${
            context.maxPageCost === undefined
              ? "no cap on what a page may cost (set one with --max-page-cost SNT or POSTBOX_MAX_PAGE_COST)"
              : `your cap ${formatSnt(context.maxPageCost)} ${PRICE_REFERENCE_LABEL} (--max-page-cost SNT or POSTBOX_MAX_PAGE_COST)`
          }`,
          `  what is not spent comes back: postbox channel close --mailbox ${payee}, then postbox channel withdraw`,
        ].join("\n"),
      );
    } else if (e.type === "opened")
      io.err(
        `opened channel ${e.record.channelId} to mailbox ${mailboxLabel(e.record.payee, context.name(e.record.payee.toLowerCase()))} (deposit ${formatSnt(BigInt(e.record.deposit))}, transaction ${e.tx})`,
      );
    else if (e.type === "topping-up")
      io.err(
        `topping up channel ${e.record.channelId} to mailbox ${mailboxLabel(e.record.payee, context.name(e.record.payee.toLowerCase()))} by ${formatSnt(e.amount)}`,
      );
  });
}

/** Where a channel's close stands, in chain time. */
function closeState(s: Pick<ChannelStatus, "closesAt">, now: bigint): { state: string; words: string } {
  if (s.closesAt === 0n) return { state: "open", words: "open" };
  if (s.closesAt > now)
    return {
      state: "closing",
      words: `closing: withdraw in ${formatDuration(Number(s.closesAt - now))} of chain time`,
    };
  return { state: "withdrawable", words: "closed: withdraw now (postbox channel withdraw)" };
}

const isoOf = (chainSeconds: bigint) => new Date(Number(chainSeconds) * 1000).toISOString();

export function channelCommand(sub: "open" | "topup" | "status" | "close" | "withdraw") {
  return async (argv: string[], io: Output): Promise<number> => {
    const { values } = parseArgs({ args: argv, strict: true, options: OPTS });
    if (values.help) {
      io.out(CHANNEL_HELP[sub]!);
      return 0;
    }
    const mailbox = values.mailbox;
    if (mailbox !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(mailbox))
      throw new UsageError(`--mailbox takes the operator's address (0x and 40 hex digits), got "${mailbox}"`);
    if (!mailbox && sub !== "status")
      throw new UsageError("--mailbox ADDRESS (the operator's address) is required");
    const ctx = chainContext(values, { requireWallet: true });
    const channels = await channelManager(ctx);
    try {
      const names = await mailboxNames(ctx);
      printChannelEvents(channels, io, { name: (p) => names.get(p.toLowerCase()) });
      if (!mailbox) return await listChannels(channels, io, names, values.json ?? false);
      return await one(sub, mailbox as Address, channels, io, values);
    } finally {
      await channels.close();
    }
  };
}

async function one(
  sub: "open" | "topup" | "status" | "close" | "withdraw",
  payee: Address,
  channels: ChannelManager,
  io: Output,
  values: {
    json?: boolean | undefined;
    deposit?: string | undefined;
    amount?: string | undefined;
    wait?: boolean | undefined;
  },
): Promise<number> {
  const out = (view: Record<string, string>) => {
    if (values.json) io.out(JSON.stringify(view));
    else for (const [k, v] of Object.entries(view)) io.out(`${k.padEnd(12)} ${v}`);
  };
  if (sub === "open") {
    const r = await channels.open(payee, requiredAmount("deposit", values.deposit));
    out({
      channel: r.channelId,
      mailbox: payee,
      deposit: formatSnt(BigInt(r.deposit)),
      signer: channels.session.address,
    });
  } else if (sub === "topup") {
    const r = await channels.topUp(payee, requiredAmount("amount", values.amount));
    out({ channel: r.channelId, deposit: formatSnt(BigInt(r.deposit)) });
  } else if (sub === "status") {
    const s = await channels.status(payee);
    out({
      channel: s.channelId,
      deposit: formatSnt(s.depositOnChain),
      spent: formatSnt(BigInt(s.spent)),
      redeemed: formatSnt(s.paidOnChain),
      signer: channels.session.address,
      close: closeState(s, await channels.chainTime()).words,
    });
  } else if (sub === "close") {
    const tx = await channels.requestClose(payee);
    const s = await channels.status(payee);
    const left = s.closesAt - (await channels.chainTime());
    out({
      channel: s.channelId,
      close: `requested: the mailbox may redeem until ${isoOf(s.closesAt)}: withdraw in ${formatDuration(Number(left))} of chain time (postbox channel withdraw --mailbox ${payee} --wait)`,
      tx,
    });
  } else {
    const s = await channels.status(payee);
    if (s.closesAt === 0n) throw new UsageError("request a close first: postbox channel close");
    let now = await channels.chainTime();
    if (s.closesAt > now && !values.wait)
      throw new UsageError(
        `the close grace ends in ${formatDuration(Number(s.closesAt - now))} of chain time (at ${isoOf(s.closesAt)}): run this again then, or add --wait to wait for it`,
      );
    let said = -1;
    while (s.closesAt > now) {
      // Say it once, then every 10 s: chain time moves with blocks (a quiet chain's pending block
      // follows the clock).
      const left = Number(s.closesAt - now);
      if (said < 0 || said - left >= 10) {
        said = left;
        io.err(
          `waiting for the close grace to end: ${formatDuration(left)} of chain time left (Ctrl-C to stop)`,
        );
      }
      await new Promise((r) => setTimeout(r, 1_000));
      now = await channels.chainTime();
    }
    const r = await channels.withdraw(payee);
    out({ channel: s.channelId, refunded: formatSnt(r.refund), paid: formatSnt(r.paid), tx: r.tx });
  }
  return 0;
}

function requiredAmount(flag: "deposit" | "amount", v: string | undefined): bigint {
  if (v === undefined) throw new UsageError(`--${flag} SNT is required`);
  return parseAmount(flag, v, { positive: true });
}

/** `channel status` without --mailbox: every channel, with its chain state, then the archived ones. */
async function listChannels(
  channels: ChannelManager,
  io: Output,
  names: Map<string, string>,
  json: boolean,
): Promise<number> {
  const { channels: current, archived, elsewhere } = await channels.list();
  const now = await channels.chainTime();
  const name = (a: string) => names.get(a.toLowerCase());
  // One JSON line per record: formatted amounts for people, base units under `amounts`.
  const line = (r: ChannelRecord, state: string, extra: Record<string, unknown> = {}, redeemed?: bigint) =>
    JSON.stringify({
      channel: r.channelId,
      mailbox: r.payee.toLowerCase(),
      ...(name(r.payee) ? { name: name(r.payee) } : {}),
      chainId: r.chainId,
      channelsContract: r.channelsContract,
      state,
      deposit: formatSnt(BigInt(r.deposit)),
      spent: formatSnt(BigInt(r.spent)),
      ...(redeemed === undefined ? {} : { redeemed: formatSnt(redeemed) }),
      ...extra,
      amounts: {
        deposit: r.deposit,
        spent: r.spent,
        ...(redeemed === undefined ? {} : { redeemed: redeemed.toString() }),
      },
    });
  if (json) {
    for (const c of current)
      io.out(
        line(
          c,
          closeState(c, now).state,
          c.closesAt > 0n ? { closesAt: Number(c.closesAt) } : {},
          c.paidOnChain,
        ),
      );
    for (const r of archived) io.out(line(r, "archived", { reason: r.reason, archivedAt: r.archivedAt }));
    for (const r of elsewhere) io.out(line(r, "other deployment"));
    return 0;
  }
  if (current.length + archived.length + elsewhere.length === 0) {
    io.out("no channels yet: the first paid chat read opens one (or postbox channel open)");
    return 0;
  }
  const label = (a: string) => (name(a) ? `${short(a)} ${name(a)}` : a.toLowerCase());
  if (current.length > 0)
    for (const line of table(
      ["channel", "mailbox", "deposit", "spent", "redeemed", "state"],
      current.map((c) => [
        c.channelId,
        label(c.payee),
        formatSnt(c.depositOnChain),
        formatSnt(BigInt(c.spent)),
        formatSnt(c.paidOnChain),
        closeState(c, now).words,
      ]),
    ))
      io.out(line);
  else io.out("no channel on this chain yet");
  if (archived.length > 0) {
    io.out("");
    io.out(
      "archived (they do not hold on this chain; kept because they may hold a deposit where they were opened):",
    );
    for (const line of table(
      ["channel", "mailbox", "deposit", "spent", "chain", "archived", "why"],
      archived.map((r) => [
        r.channelId,
        label(r.payee),
        formatSnt(BigInt(r.deposit)),
        formatSnt(BigInt(r.spent)),
        String(r.chainId),
        new Date(r.archivedAt).toISOString().slice(0, 19).replace("T", " "),
        r.reason,
      ]),
    ))
      io.out(line);
  }
  if (elsewhere.length > 0) {
    io.out("");
    io.out("on other chains or deployments (used when the CLI points there):");
    for (const line of table(
      ["channel", "mailbox", "deposit", "spent", "chain", "channels contract"],
      elsewhere.map((r) => [
        r.channelId,
        label(r.payee),
        formatSnt(BigInt(r.deposit)),
        formatSnt(BigInt(r.spent)),
        String(r.chainId),
        r.channelsContract,
      ]),
    ))
      io.out(line);
  }
  return 0;
}
