import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { disputesAbi, MailboxStatus, mailboxRegistryAbi } from "@postbox/contracts";
import { envelopeArgs } from "@postbox/protocol";
import type { Logger } from "pino";
import {
  type Account,
  type Address,
  bytesToHex,
  type Chain,
  type Hex,
  hexToBytes,
  isAddressEqual,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import type { Archive, StoredEnvelope } from "./archive/types.js";

/** The file in the data folder that keeps the disputes being answered, and how far the log was read. */
export const DISPUTES_FILE = "disputes.json";

/** The dispute states of `Disputes.getDispute` (`IDisputes.State`). */
const State = { None: 0, Open: 1, Answered: 2, Upheld: 3 } as const;

/** On a first start (no disputes file), how many blocks back to look for open disputes. */
const FIRST_LOOKBACK = 10_000n;
/** Largest block range asked of the RPC at once. */
const LOG_CHUNK = 5_000n;

interface HeldEnvelope {
  version: number;
  contentTopic: string;
  timestamp: string;
  payload: Hex;
}

interface PendingDispute {
  envelopeId: Hex;
  /** The last second (block time) an answer is accepted. */
  deadline: string;
  /** The envelope, copied out of the archive when the dispute was found: retention may delete the row. */
  envelope?: HeldEnvelope;
  /** Failed answers so far. */
  attempts: number;
  /** Said once: the archive does not hold it. */
  missingLogged?: boolean;
}

interface WatchState {
  /** The next block to read `CustodyDisputed` from. */
  fromBlock: string;
  disputes: Record<Hex, PendingDispute>;
}

export interface DisputeWatcherInit {
  client: PublicClient;
  wallet: WalletClient<Transport, Chain | undefined, Account>;
  registry: Address;
  disputes: Address;
  /** The operator whose disputes are answered (the wallet's account). */
  operator: Address;
  /** The evidence signer's address, which the registry must name for the operator. */
  evidenceSigner: Address;
  archive: Archive;
  dataDir: string;
  log: Logger;
  /** How often the chain is read (ms, default 2 s). */
  intervalMs?: number;
}

/**
 * The mailbox answering for its promises (docs/operators.md, "Disputes"). On every pass:
 * - while the registry does not name the mailbox's evidence key as its operator's evidence signer
 *   (and the operator is registered), it names it (`setEvidenceSigner`);
 * - it reads new `CustodyDisputed` events against its operator, copies each disputed envelope out of
 *   the archive into `disputes.json` (so that retention cannot take it while the dispute runs), and
 *   answers (`answerCustody`) every open dispute whose window has not closed; a failed answer is
 *   logged and tried again on the next pass, until the deadline;
 * - a dispute that is no longer open (answered, by this mailbox or anyone, or upheld) is dropped
 *   with its copy.
 * Every transaction is logged with its hash. Passes never overlap.
 */
export class DisputeWatcher {
  readonly #init: DisputeWatcherInit;
  readonly #path: string;
  #state: WatchState | undefined;
  #named = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(init: DisputeWatcherInit) {
    this.#init = init;
    this.#path = join(init.dataDir, DISPUTES_FILE);
  }

  start(): void {
    this.#stopped = false;
    this.#arm(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  /** Open disputes this mailbox is answering (their ids). */
  pending(): Hex[] {
    return Object.keys(this.#state?.disputes ?? {}) as Hex[];
  }

  /** One pass now (or waits for the running one, then runs another). */
  async runOnce(): Promise<void> {
    while (this.#running) await this.#running.catch(() => undefined);
    this.#running = this.#pass();
    try {
      await this.#running;
    } finally {
      this.#running = undefined;
    }
  }

  #arm(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.runOnce()
        .catch((err) => this.#init.log.warn({ err }, "dispute pass failed; trying again"))
        .finally(() => this.#arm(this.#init.intervalMs ?? 2_000));
    }, delay);
    this.#timer.unref();
  }

  async #pass(): Promise<void> {
    const { client, log } = this.#init;
    await this.#nameSigner();
    const state = this.#load();
    const head = await client.getBlockNumber();
    let from = BigInt(state.fromBlock === "" ? -1 : state.fromBlock);
    if (from < 0n) from = head > FIRST_LOOKBACK ? head - FIRST_LOOKBACK : 0n;
    for (let start = from; start <= head; start += LOG_CHUNK) {
      const end = start + LOG_CHUNK - 1n < head ? start + LOG_CHUNK - 1n : head;
      const events = await client.getContractEvents({
        address: this.#init.disputes,
        abi: disputesAbi,
        eventName: "CustodyDisputed",
        args: { operator: this.#init.operator },
        fromBlock: start,
        toBlock: end,
        strict: true,
      });
      for (const e of events) {
        const id = e.args.disputeId;
        if (state.disputes[id]) continue;
        state.disputes[id] = {
          envelopeId: e.args.envelopeId,
          deadline: e.args.deadline.toString(),
          attempts: 0,
        };
        log.warn(
          {
            disputeId: id,
            envelopeId: e.args.envelopeId,
            challenger: e.args.challenger,
            deadline: Number(e.args.deadline),
            tx: e.transactionHash,
          },
          "custody dispute opened against this mailbox",
        );
      }
      state.fromBlock = (end + 1n).toString();
    }
    // Copy each disputed envelope out of the archive before anything else.
    for (const d of Object.values(state.disputes)) {
      if (d.envelope) continue;
      const e = await this.#init.archive.get(hexToBytes(d.envelopeId));
      if (e) d.envelope = held(e);
    }
    this.#save(state);
    const now = (await client.getBlock()).timestamp;
    for (const [id, d] of Object.entries(state.disputes) as [Hex, PendingDispute][]) {
      await this.#settle(state, id, d, now);
    }
    this.#save(state);
  }

  /** Answers one dispute, or drops it once it is no longer open. */
  async #settle(state: WatchState, id: Hex, d: PendingDispute, now: bigint): Promise<void> {
    const { client, wallet, log } = this.#init;
    const onChain = await client.readContract({
      address: this.#init.disputes,
      abi: disputesAbi,
      functionName: "getDispute",
      args: [id],
    });
    if (onChain.state !== State.Open) {
      const outcome = onChain.state === State.Answered ? "answered" : "upheld";
      (onChain.state === State.Answered ? log.info : log.error).call(
        log,
        { disputeId: id, envelopeId: d.envelopeId, outcome },
        `custody dispute ${outcome}`,
      );
      delete state.disputes[id];
      return;
    }
    if (now > BigInt(d.deadline)) {
      // Too late to answer: it stays Open until someone finalises it (upheld); the next pass sees that.
      if (!d.missingLogged)
        log.error(
          { disputeId: id, envelopeId: d.envelopeId, deadline: Number(d.deadline) },
          "custody dispute's window closed unanswered: it will be upheld",
        );
      d.missingLogged = true;
      return;
    }
    if (!d.envelope) {
      if (!d.missingLogged)
        log.error(
          { disputeId: id, envelopeId: d.envelopeId, deadline: Number(d.deadline) },
          "custody dispute over an envelope the archive does not hold: it cannot be answered",
        );
      d.missingLogged = true;
      return;
    }
    const envelope = unheld(d.envelope);
    try {
      const hash = await wallet.writeContract({
        address: this.#init.disputes,
        abi: disputesAbi,
        functionName: "answerCustody",
        args: [id, envelopeArgs({ ...envelope, id: hexToBytes(d.envelopeId) })],
        chain: wallet.chain,
      });
      const receipt = await client.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`answerCustody ${hash} reverted`);
      log.info(
        { disputeId: id, envelopeId: d.envelopeId, tx: hash, gasUsed: Number(receipt.gasUsed) },
        "answered a custody dispute",
      );
      delete state.disputes[id];
    } catch (err) {
      d.attempts += 1;
      log.warn(
        { err, disputeId: id, envelopeId: d.envelopeId, attempt: d.attempts, deadline: Number(d.deadline) },
        "answering a custody dispute failed; trying again",
      );
    }
  }

  /** Names the evidence key in the registry, once the operator is registered and names another. */
  async #nameSigner(): Promise<void> {
    if (this.#named) return;
    const { client, wallet, log, registry, operator, evidenceSigner } = this.#init;
    const entry = await client.readContract({
      address: registry,
      abi: mailboxRegistryAbi,
      functionName: "getMailbox",
      args: [operator],
    });
    if (entry.status === MailboxStatus.None) return; // named once it registers
    const current = await client.readContract({
      address: registry,
      abi: mailboxRegistryAbi,
      functionName: "evidenceSigner",
      args: [operator],
    });
    if (isAddressEqual(current, evidenceSigner)) {
      this.#named = true;
      return;
    }
    const hash = await wallet.writeContract({
      address: registry,
      abi: mailboxRegistryAbi,
      functionName: "setEvidenceSigner",
      args: [evidenceSigner],
      chain: wallet.chain,
    });
    const receipt = await client.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`setEvidenceSigner ${hash} reverted`);
    this.#named = true;
    log.info(
      { signer: evidenceSigner, previous: current, tx: hash },
      "named this mailbox's evidence key as the operator's evidence signer",
    );
  }

  #load(): WatchState {
    if (this.#state) return this.#state;
    this.#state = existsSync(this.#path)
      ? (JSON.parse(readFileSync(this.#path, "utf8")) as WatchState)
      : { fromBlock: "", disputes: {} };
    return this.#state;
  }

  #save(state: WatchState): void {
    const tmp = `${this.#path}.tmp`;
    writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
    renameSync(tmp, this.#path);
  }
}

function held(e: StoredEnvelope): HeldEnvelope {
  return {
    version: e.version,
    contentTopic: e.contentTopic,
    timestamp: e.timestamp.toString(),
    payload: bytesToHex(e.payload),
  };
}

function unheld(e: HeldEnvelope) {
  return {
    version: e.version,
    contentTopic: e.contentTopic,
    timestamp: BigInt(e.timestamp),
    payload: hexToBytes(e.payload),
  };
}
