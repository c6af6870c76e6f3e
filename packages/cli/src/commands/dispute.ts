import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import {
  contractCommitment,
  contractReceipt,
  defaultPlatform,
  omissionProofArgs,
  type StoredCommitment,
  type StoredReceipt,
} from "@postbox/client";
import {
  disputeCustody,
  disputesAbi,
  finaliseCustody,
  type MailboxDispute,
  mailboxRegistryAbi,
  proveOmission,
  proveOmissionByPresence,
  proveOmissionByPresenceRequest,
  proveOmissionRequest,
  readMailboxDisputes,
  sntAbi,
} from "@postbox/contracts";
import { formatDuration, formatSnt, hashPageCommitment, hashReceipt } from "@postbox/protocol";
import { type Address, BaseError, ContractFunctionRevertedError, getAddress, type Hex } from "viem";
import { type ChainContext, CLIENT_HELP, CLIENT_OPTIONS, chainContext } from "../client-config.js";
import { type Output, UsageError } from "../output.js";
import { mailboxNames } from "./channel.js";

const ABOUT = `A mailbox with a chain signs its promises as EIP-712 evidence: a receipt for each message it
stores ("kept until retain_until"), a commitment for each history page ("this is all I hold in
this span") and a presence answer ("I hold these, kept until retain_until"). Your client keeps
the receipts, the presence answers of a mailbox that left out a message another mailbox returned,
and the page commitments that leave out a message it holds either for (docs/users.md, "Proving a
mailbox broke a promise").`;

export const DISPUTE_HELP: Record<string, string> = {
  list: `Usage: postbox dispute list [options]

${ABOUT}

Lists the receipts (and presence answers) kept, per mailbox, with whether each can still be disputed (before its
retain_until, in chain time, and not disputed yet) and whether a commitment proving it omitted is
held; then the disputes opened over this evidence or by your wallet, with their state (open, with
its deadline; answered; upheld, with the slash).

${CLIENT_HELP}`,
  custody: `Usage: postbox dispute custody ENVELOPE_ID [--mailbox NAME|ADDRESS] [--yes] [options]

Opens a custody dispute over a kept receipt: the mailbox must show the envelope on-chain before
the deadline (printed), or anyone may then finalise the dispute (postbox dispute finalise): a share
of its stake is slashed, part of it paid to you with your bond back. If it answers, the bond goes
to the mailbox. The bond (the Disputes contract's, in SNT) and the gas are paid by your wallet:
the cost is shown and confirmed first, unless --yes. ENVELOPE_ID: an envelope id (postbox dispute
list) or a message id as postbox chat send prints it (8 or more hex digits). --mailbox picks the
receipt when several mailboxes gave one.

${CLIENT_HELP}`,
  finalise: `Usage: postbox dispute finalise DISPUTE_ID [options]

After the deadline, upholds a custody dispute the mailbox did not answer: its stake is slashed and
you get your bond back and the reward (printed). Says so when the mailbox answered, or the
deadline has not passed yet (in chain time). Anyone may finalise; the gas is your wallet's.

${CLIENT_HELP}`,
  omission: `Usage: postbox dispute omission ENVELOPE_ID [--mailbox NAME|ADDRESS] [options]

Proves that a mailbox left out of a history page an envelope it had receipted, or had said it
held in a signed presence answer: from a kept page commitment of that mailbox whose span and
topics cover the envelope and whose list lacks it, the kept receipt or presence answer, and the
envelope. Upheld at once: the stake is slashed and you get the reward. No bond; the gas is your
wallet's. Such evidence is kept when postbox chat read catches up (from two or more mailboxes,
for a message you did not send: it says so).

${CLIENT_HELP}`,
};

const OPTS = {
  ...CLIENT_OPTIONS,
  mailbox: { type: "string" },
  yes: { type: "boolean" },
} as const;

/** A refusal of a dispute command: what is missing or why the chain would refuse, in words. */
export class DisputeError extends Error {
  override name = "DisputeError";
}

/** `IDisputes.State`. */
const STATES = ["none", "open", "answered", "upheld"] as const;

const isoOf = (chainSeconds: bigint) => new Date(Number(chainSeconds) * 1000).toISOString();
const isoMs = (ms: number | bigint) => new Date(Number(ms)).toISOString();
const hex0x = (bare: string) => `0x${bare.replace(/^0x/, "")}` as Hex;
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));

/** What the contract's own errors mean, for a person. */
const REVERTS: Record<string, string> = {
  DisputesReceiptExpired: "the receipt's promise has ended (its retain_until is past, in chain time)",
  DisputesAlreadyDisputed:
    "this evidence was disputed already (each receipt, each commitment once; for an omission, postbox chat read may keep a newer page)",
  DisputesWrongSigner:
    "the evidence was not signed by the operator's evidence key of the time (another chain or deployment, or forged)",
  DisputesInvalidSignature: "the evidence signature is malformed",
  DisputesUnregisteredOperator: "the operator is not registered (withdrawn, or another deployment)",
  DisputesNotHeldWhenServed: "the page was served before the receipt was made, or after its promise ended",
  DisputesOutOfRange: "the envelope is outside the page's span or topics",
  DisputesNotOmitted: "the page lists the envelope",
  DisputesWrongEnvelope: "the kept envelope does not match the receipt",
  DisputesOperatorMismatch: "the receipt and the commitment are of different operators",
  DisputesNotHeld: "the presence answer does not list the envelope",
};

/** A revert of the Disputes contract as a {@link DisputeError}; other errors as they are. */
function explain(err: unknown): unknown {
  if (err instanceof BaseError) {
    const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
    const name = (reverted as ContractFunctionRevertedError | null)?.data?.errorName;
    if (name && REVERTS[name]) return new DisputeError(`the chain refuses it: ${REVERTS[name]} (${name})`);
  }
  return err;
}

interface Chain {
  ctx: ChainContext;
  disputes: Address;
  domain: { chainId: number; verifyingContract: Address };
  /** The latest block's time (s). */
  now(): Promise<bigint>;
  names: Map<string, string>;
}

async function connect(ctx: ChainContext): Promise<Chain> {
  const disputes = await ctx.publicClient.readContract({
    address: ctx.registry,
    abi: mailboxRegistryAbi,
    functionName: "disputes",
  });
  return {
    ctx,
    disputes,
    domain: { chainId: ctx.chainId, verifyingContract: disputes },
    now: async () => (await ctx.publicClient.getBlock()).timestamp,
    names: await mailboxNames(ctx),
  };
}

const label = (chain: Chain, mailbox: string) => {
  const name = chain.names.get(mailbox.toLowerCase());
  return name ? `${name} (${mailbox})` : mailbox;
};

async function withStorage<T>(
  ctx: ChainContext,
  fn: (s: Awaited<ReturnType<ReturnType<typeof defaultPlatform>["openStorage"]>>) => Promise<T>,
) {
  const storage = await defaultPlatform().openStorage(ctx.dataDir);
  try {
    return await fn(storage);
  } finally {
    await storage.close();
  }
}

/**
 * The kept receipts of an envelope, given by its envelope id or a message id this client sent (a
 * unique prefix of 8 or more hex digits), narrowed to `--mailbox` (a name or an operator address).
 */
async function receiptsOf(
  storage: {
    evidenceReceipts(): Promise<StoredReceipt[]>;
    receipts(id: string): Promise<StoredReceipt[]>;
  } & {
    outgoing(): Promise<{ messageId: string; envelopeId: string }[]>;
  },
  chain: Chain,
  id: string | undefined,
  mailbox: string | undefined,
): Promise<{ envelopeId: string; receipts: StoredReceipt[] }> {
  const prefix = id?.replace(/^0x/, "").toLowerCase();
  if (!prefix || !/^[0-9a-f]{8,64}$/.test(prefix))
    throw new UsageError(
      `an envelope id (8 to 64 hex digits, as postbox dispute list prints it) is required${id ? `, got "${id}"` : ""}`,
    );
  const kept = await storage.evidenceReceipts();
  let ids = [...new Set(kept.map((r) => r.envelopeId).filter((e) => e.startsWith(prefix)))];
  if (ids.length === 0) {
    // A message id, as chat send prints it.
    ids = [
      ...new Set(
        (await storage.outgoing()).filter((o) => o.messageId.startsWith(prefix)).map((o) => o.envelopeId),
      ),
    ];
    if (ids.length === 1 && (await storage.receipts(ids[0]!)).length > 0)
      throw new DisputeError(
        `the receipts of ${prefix} carry no evidence (a mailbox without a chain, or a client before evidence was kept): it cannot be disputed`,
      );
    ids = ids.filter((e) => kept.some((r) => r.envelopeId === e));
  }
  if (ids.length === 0)
    throw new DisputeError(`no receipt with evidence is kept for ${prefix} (postbox dispute list)`);
  if (ids.length > 1)
    throw new UsageError(`${prefix} is the start of ${ids.length} envelope ids: give more of it`);
  const envelopeId = ids[0]!;
  let receipts = kept.filter((r) => r.envelopeId === envelopeId);
  if (mailbox !== undefined) {
    const m = mailbox.toLowerCase();
    receipts = receipts.filter(
      (r) =>
        r.mailbox.toLowerCase() === m ||
        r.evidence!.operator === m ||
        chain.names.get(r.evidence!.operator) === mailbox,
    );
    if (receipts.length === 0)
      throw new DisputeError(
        `no receipt of mailbox ${mailbox} is kept for ${envelopeId} (postbox dispute list)`,
      );
  }
  return { envelopeId, receipts };
}

/** Asks on a terminal; elsewhere --yes is required (nothing is paid without a yes). */
async function confirm(question: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY)
    throw new UsageError("this pays a bond and gas: confirm on a terminal, or add --yes");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await new Promise<string>((resolve) => rl.question(`${question} [y/N] `, resolve));
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError("cancelled: nothing was paid");
}

export function disputeCommand(sub: "list" | "custody" | "finalise" | "omission") {
  return async (argv: string[], io: Output): Promise<number> => {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: OPTS,
    });
    if (positionals.length > (sub === "list" ? 0 : 1))
      throw new UsageError(`unexpected argument "${positionals.at(-1)}" (postbox dispute ${sub} --help)`);
    const ctx = chainContext(values, { requireWallet: sub !== "list" });
    const chain = await connect(ctx);
    const out = (view: Record<string, unknown>, lines: string[]) => {
      if (values.json) io.out(json(view));
      else for (const l of lines) io.out(l);
    };
    try {
      if (sub === "list") return await list(chain, io, values.json ?? false);
      if (sub === "finalise") return await finalise(chain, positionals[0], out);
      return await withStorage(ctx, async (storage) => {
        const { envelopeId, receipts } = await receiptsOf(storage, chain, positionals[0], values.mailbox);
        return sub === "custody"
          ? custody(chain, envelopeId, receipts, values.yes, io, out)
          : omission(chain, envelopeId, receipts, storage, out);
      });
    } catch (err) {
      throw explain(err);
    }
  };
}

type Out = (view: Record<string, unknown>, lines: string[]) => void;

async function custody(
  chain: Chain,
  envelopeId: string,
  all: StoredReceipt[],
  yes: boolean | undefined,
  io: Output,
  out: Out,
): Promise<number> {
  const { ctx, disputes } = chain;
  // A presence answer proves omissions only: a custody dispute takes a push receipt.
  const receipts = all.filter((r) => !r.evidence!.presence);
  if (receipts.length === 0)
    throw new DisputeError(
      `only presence answers are kept for ${envelopeId} (a message another mailbox returned): they prove an omission (postbox dispute omission), they open no custody dispute`,
    );
  if (receipts.length > 1)
    throw new UsageError(
      `${receipts.length} mailboxes gave receipts for ${envelopeId}: choose one with --mailbox (${receipts.map((r) => label(chain, r.mailbox)).join(", ")})`,
    );
  const kept = receipts[0]!;
  const receipt = contractReceipt(kept);
  const now = await chain.now();
  if (BigInt(kept.retainUntil) <= now * 1000n)
    throw new DisputeError(
      `the receipt's promise ended at ${isoMs(kept.retainUntil)} (chain time is ${isoOf(now)}): a receipt is disputed before its retain_until`,
    );
  const disputeId = hashReceipt(chain.domain, receipt);
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    ctx.publicClient.readContract({
      address: disputes,
      abi: disputesAbi,
      functionName,
      args,
    } as never) as Promise<T>;
  const existing = await read<{ state: number }>("getDispute", [disputeId]);
  if (existing.state !== 0)
    throw new DisputeError(
      `this receipt was disputed already (dispute ${disputeId}, ${STATES[existing.state]}): each receipt once`,
    );
  const [bond, window] = await Promise.all([read<bigint>("bond"), read<bigint>("responseWindow")]);
  const wallet = ctx.wallet!;
  const balance = await ctx.publicClient.readContract({
    address: ctx.snt,
    abi: sntAbi,
    functionName: "balanceOf",
    args: [wallet.account.address],
  });
  if (balance < bond)
    throw new DisputeError(
      `the bond is ${formatSnt(bond)} and your wallet ${wallet.account.address} holds ${formatSnt(balance)}`,
    );
  // The contract's checks (signature, signer's term, expiry) before any money moves: only the bond
  // pull may fail here, as it is not approved yet.
  try {
    await ctx.publicClient.simulateContract({
      account: wallet.account,
      address: disputes,
      abi: disputesAbi,
      functionName: "disputeCustody",
      args: [receipt, kept.evidence!.signature],
    });
  } catch (err) {
    const e = explain(err);
    if (e instanceof DisputeError) throw e;
  }
  io.err(
    [
      `disputing custody of envelope ${envelopeId} with mailbox ${label(chain, kept.mailbox)}:`,
      `  its receipt says it keeps the envelope until ${isoMs(kept.retainUntil)}`,
      `  bond ${formatSnt(bond)} from ${wallet.account.address}, plus gas (two transactions if the bond is not approved yet)`,
      `  the mailbox has ${formatDuration(Number(window))} of chain time to show the envelope on-chain: then the bond is its`,
      "  if it does not, finalise the dispute: its stake is slashed, you get the bond back and a reward",
    ].join("\n"),
  );
  await confirm("Open the dispute?", yes);
  const r = await disputeCustody(
    { publicClient: ctx.publicClient, walletClient: wallet },
    { snt: ctx.snt, disputes, receipt, signature: kept.evidence!.signature, bond },
  );
  out(
    {
      disputeId: r.disputeId,
      envelopeId,
      mailbox: kept.mailbox,
      operator: receipt.operator,
      bond,
      deadline: r.deadline,
      deadlineIso: isoOf(r.deadline),
      tx: r.receipt.transactionHash,
    },
    [
      `opened custody dispute ${r.disputeId} (transaction ${r.receipt.transactionHash})`,
      `deadline ${isoOf(r.deadline)} (chain time): after it, if the mailbox has not answered, run postbox dispute finalise ${r.disputeId}`,
    ],
  );
  return 0;
}

async function finalise(chain: Chain, id: string | undefined, out: Out): Promise<number> {
  const { ctx, disputes } = chain;
  if (!id || !/^(0x)?[0-9a-fA-F]{64}$/.test(id))
    throw new UsageError(
      `a dispute id (0x and 64 hex digits, as postbox dispute custody prints it) is required${id ? `, got "${id}"` : ""}`,
    );
  const disputeId = hex0x(id.toLowerCase());
  const d = (await ctx.publicClient.readContract({
    address: disputes,
    abi: disputesAbi,
    functionName: "getDispute",
    args: [disputeId],
  })) as { state: number; deadline: bigint; operator: Address; bond: bigint };
  const state = STATES[d.state] ?? String(d.state);
  if (state === "none")
    throw new DisputeError(`no dispute ${disputeId} on the Disputes contract ${disputes}`);
  if (state === "answered") {
    out({ disputeId, state }, [
      `dispute ${disputeId} was answered: the mailbox showed the envelope in time, the bond went to it`,
    ]);
    return 0;
  }
  if (state === "upheld") {
    out({ disputeId, state }, [`dispute ${disputeId} is upheld already`]);
    return 0;
  }
  const now = await chain.now();
  if (now <= d.deadline)
    throw new DisputeError(
      `the mailbox may still answer until ${isoOf(d.deadline)} (chain time; ${formatDuration(Number(d.deadline - now))} left): finalise after that`,
    );
  const r = await finaliseCustody(
    { publicClient: ctx.publicClient, walletClient: ctx.wallet! },
    { disputes, disputeId },
  );
  out(
    {
      disputeId,
      state: "upheld",
      operator: r.operator,
      slashed: r.slashed,
      reward: r.reward,
      bond: r.bond,
      jailedUntil: r.jailedUntil,
      tx: r.receipt.transactionHash,
    },
    [
      `dispute ${disputeId} upheld: the mailbox did not answer (transaction ${r.receipt.transactionHash})`,
      `  slashed ${formatSnt(r.slashed)} from ${label(chain, r.operator.toLowerCase())}${r.slashed === 0n ? " (its slash allowance for this period was used up)" : ""}`,
      `  paid to ${r.challenger}: the bond ${formatSnt(r.bond)} back and a reward of ${formatSnt(r.reward)}`,
      ...(r.jailedUntil > 0n ? [`  the mailbox is jailed until ${isoOf(r.jailedUntil)}`] : []),
    ],
  );
  return 0;
}

async function omission(
  chain: Chain,
  envelopeId: string,
  receipts: StoredReceipt[],
  storage: { omissionProofs(id: string): Promise<StoredCommitment[]> },
  out: Out,
): Promise<number> {
  const { ctx, disputes } = chain;
  const proofs = await storage.omissionProofs(envelopeId);
  const pair = receipts
    .map((r) => ({ r, c: proofs.find((c) => c.operator === r.evidence!.operator) }))
    .find((p) => p.c !== undefined);
  if (!pair)
    throw new DisputeError(
      `no kept page commitment of ${receipts.map((r) => `mailbox ${label(chain, r.mailbox)}`).join(" or ")} covers envelope ${envelopeId} and leaves it out: every page kept listed it, or you have not caught up since (postbox chat read)`,
    );
  const { r, c } = pair as { r: StoredReceipt; c: StoredCommitment };
  const wallet = ctx.wallet!;
  const clients = { publicClient: ctx.publicClient, walletClient: wallet };
  const args = omissionProofArgs(r, c);
  // The contract's checks first: a refusal costs no gas and says why.
  let result: Awaited<ReturnType<typeof proveOmission>>;
  if (args.kind === "presence") {
    const request = proveOmissionByPresenceRequest({ disputes, ...args });
    await ctx.publicClient.simulateContract({ account: wallet.account, ...request });
    result = await proveOmissionByPresence(clients, { disputes, ...args });
  } else {
    const request = proveOmissionRequest({ disputes, ...args });
    await ctx.publicClient.simulateContract({ account: wallet.account, ...request });
    result = await proveOmission(clients, { disputes, ...args });
  }
  out(
    {
      disputeId: result.disputeId,
      envelopeId,
      mailbox: r.mailbox,
      operator: result.operator,
      state: "upheld",
      slashed: result.slashed,
      reward: result.reward,
      jailedUntil: result.jailedUntil,
      servedAt: c.servedAt,
      tx: result.receipt.transactionHash,
    },
    [
      `omission proved: mailbox ${label(chain, r.mailbox)} served a page at ${isoMs(c.servedAt)} that leaves out envelope ${envelopeId}, which it had ${r.evidence!.presence ? "said it held" : "receipted"} at ${isoMs(r.storedAt)} (dispute ${result.disputeId}, transaction ${result.receipt.transactionHash})`,
      `  slashed ${formatSnt(result.slashed)}${result.slashed === 0n ? " (its slash allowance for this period was used up)" : ""}; reward ${formatSnt(result.reward)} paid to ${result.challenger}`,
      ...(result.jailedUntil > 0n ? [`  the mailbox is jailed until ${isoOf(result.jailedUntil)}`] : []),
    ],
  );
  return 0;
}

async function list(chain: Chain, io: Output, asJson: boolean): Promise<number> {
  const { ctx, disputes, domain } = chain;
  const now = await chain.now();
  const { receipts, proofs } = await withStorage(ctx, async (s) => {
    const receipts = await s.evidenceReceipts();
    const proofs = new Map<string, StoredCommitment[]>();
    for (const id of new Set(receipts.map((r) => r.envelopeId))) proofs.set(id, await s.omissionProofs(id));
    return { receipts, proofs };
  });
  // Disputes over this evidence (by id: the receipts' and commitments' digests) or by this wallet.
  const ours = new Map<Hex, string>();
  for (const r of receipts)
    if (!r.evidence!.presence) ours.set(hashReceipt(domain, contractReceipt(r)), r.envelopeId);
  for (const [id, cs] of proofs)
    for (const c of cs) ours.set(hashPageCommitment(domain, contractCommitment(c)), id);
  const me = ctx.wallet?.account.address.toLowerCase();
  const found: (MailboxDispute & { operator: string })[] = [];
  for (const operator of new Set(receipts.map((r) => r.evidence!.operator)))
    for (const d of await readMailboxDisputes(ctx.publicClient, { disputes, operator: getAddress(operator) }))
      if (ours.has(d.id) || d.challenger.toLowerCase() === me) found.push({ ...d, operator });
  const states = new Map(found.map((d) => [d.id, d] as const));
  const rows = receipts.map((r) => {
    const presence = r.evidence!.presence !== undefined;
    const dispute = presence ? undefined : states.get(hashReceipt(domain, contractReceipt(r)));
    const live = BigInt(r.retainUntil) > now * 1000n;
    return {
      envelopeId: r.envelopeId,
      mailbox: r.mailbox,
      name: chain.names.get(r.evidence!.operator),
      operator: r.evidence!.operator,
      kind: presence ? "presence" : "receipt",
      storedAt: r.storedAt,
      retainUntil: r.retainUntil,
      disputable: live && !dispute && !presence,
      why: presence
        ? "a presence answer: it proves omissions only"
        : dispute
          ? `disputed (${dispute.state})`
          : live
            ? "before its retain_until"
            : "its retain_until is past",
      omissionProof: (proofs.get(r.envelopeId) ?? []).some((c) => c.operator === r.evidence!.operator),
    };
  });
  // An omission's envelope is in the contract's record of it (its event does not carry it).
  for (const d of found)
    if (d.envelopeId === null)
      d.envelopeId = (
        (await ctx.publicClient.readContract({
          address: disputes,
          abi: disputesAbi,
          functionName: "getDispute",
          args: [d.id],
        })) as { envelopeId: Hex }
      ).envelopeId;
  const disputesView = found.map((d) => ({
    ...d,
    envelopeId: d.envelopeId ? d.envelopeId.slice(2) : (ours.get(d.id) ?? null),
    finalisable: d.state === "open" && d.deadline !== null && now > d.deadline,
  }));
  if (asJson) {
    io.out(json({ chainTime: now, receipts: rows, disputes: disputesView }));
    return 0;
  }
  if (rows.length === 0)
    io.out("no receipt with evidence is kept (send a message through a mailbox with a chain)");
  const byMailbox = new Map<string, typeof rows>();
  for (const r of rows) byMailbox.set(r.mailbox, [...(byMailbox.get(r.mailbox) ?? []), r]);
  for (const [mailbox, rs] of byMailbox) {
    io.out(`mailbox ${label(chain, mailbox)}: ${rs.length} receipt${rs.length === 1 ? "" : "s"}`);
    for (const r of rs)
      io.out(
        `  ${r.envelopeId}${r.kind === "presence" ? " (presence)" : ""}  kept until ${isoMs(r.retainUntil)}  ${r.disputable ? "disputable" : `not disputable: ${r.why}`}${r.omissionProof ? "  omission proof held: postbox dispute omission" : ""}`,
      );
  }
  if (disputesView.length > 0) io.out("disputes:");
  for (const d of disputesView)
    io.out(
      `  ${d.id}  ${d.kind} ${d.state}  envelope ${d.envelopeId ?? "?"}  mailbox ${label(chain, d.operator)}${
        d.state === "open" && d.deadline !== null
          ? d.finalisable
            ? "  deadline passed: postbox dispute finalise"
            : `  deadline ${isoOf(d.deadline)}`
          : ""
      }${d.state === "upheld" ? `  slashed ${formatSnt(d.slashed)}` : ""}`,
    );
  return 0;
}
