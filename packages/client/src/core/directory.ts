import { MailboxStatus, mailboxRegistryAbi, readMailboxes } from "@postbox/contracts";
import {
  combineScore,
  DEFAULT_SCORE_WEIGHTS,
  effectivePrice,
  type MailboxReport,
  medianAmount,
  PRICE_REFERENCE_PAGE,
  type Price,
  pageCost,
  pickMailboxes,
  type ScoreFactors,
  type ScoreWeights,
  scoreFactors,
  selectionChances,
} from "@postbox/protocol";
import type { Address, PublicClient } from "viem";
import { BaseError } from "../errors.js";
import type { ClientStorage } from "../storage/types.js";
import { type DialPolicy, dialableAddresses, NODE_DIAL_POLICY, unreachableReason } from "./addresses.js";
import type { ClientEvent } from "./events.js";

/**
 * The per-mailbox figures of a prober's report the client scores with (docs/methodology.md). The
 * sample counts and the metadata document are optional: a prober that predates them sends none.
 */
export type ProberFigures = Pick<
  MailboxReport,
  "address" | "probesOk" | "probesFailed" | "canariesExpected" | "canariesFound"
> &
  Partial<
    Pick<
      MailboxReport,
      | "latencyP50Ms"
      | "latencyP90Ms"
      | "uptime24h"
      | "uptime7d"
      | "uptime30d"
      | "samples"
      | "metadata"
      | "disputes"
    >
  >;

/** A mailbox as the client sees it: its registry entry, measured figures and score. */
export interface MailboxCandidate {
  /** The operator's address (the payee), or the peer id for a configured unregistered mailbox. */
  id: string;
  operator: Address | undefined;
  peerId: string;
  multiaddrs: string[];
  /** The registry entry's metadata URI ("" when unregistered). */
  metadataURI: string;
  /** The operator's name for it ({@link mailboxName}), when it gives one. */
  name: string | undefined;
  stake: bigint;
  /** The effective price now. */
  price: Price;
  /** A pending price change and when it applies (chain seconds). */
  pendingPrice: (Price & { effectiveAt: bigint }) | undefined;
  registeredAt: bigint;
  paid: boolean;
  figures: ProberFigures | undefined;
  factors: ScoreFactors;
  score: number;
  /**
   * Chance of being one of the k picked for the next catch-up, by the rule {@link choose} draws
   * with (`selectionChances` of `@postbox/protocol`; a pin takes one place for sure).
   */
  chance: number;
  pinned: boolean;
  graylisted: boolean;
  /** Skipped by the automatic choice until then (ms; 0 when not graylisted). */
  graylistedUntil: number;
  /** The last time it served us (ms), or null. */
  lastOkAt: number | null;
  /**
   * Whether this client can dial one of its addresses (a browser needs `/tls/ws`, or plain `/ws` to
   * this machine). An unreachable mailbox is never chosen and never graylisted for it.
   */
  reachable: boolean;
  /** Why it is not reachable from here, in words. */
  unreachableReason: string | undefined;
}

/** A mailbox configured by address, outside the registry (free mode, tests, private setups). */
export interface StaticMailbox {
  multiaddr: string;
  /** The operator's address when the mailbox is registered and paid. */
  operator?: Address;
}

export interface MailboxDirectoryInit {
  storage: ClientStorage;
  /** What this client can dial (default: Node's, everything). */
  dialPolicy?: DialPolicy | undefined;
  /** Where mailbox events go (failures, graylisting, mailboxes no address of which can be dialled). */
  emit?: ((event: ClientEvent) => void) | undefined;
  chain?: { publicClient: PublicClient; registry: Address } | undefined;
  /** A prober's base URL: its figures feed the score. */
  proberUrl?: string | undefined;
  mailboxes?: StaticMailbox[] | undefined;
  weights?: Partial<ScoreWeights> | undefined;
  /** Skip mailboxes whose 100-message page costs more (token base units). */
  maxPageCost?: bigint | undefined;
  /** How long a mailbox stays graylisted after two failures in a row (default 1 h). */
  graylistMs?: number | undefined;
  random?: (() => number) | undefined;
  fetch?: typeof globalThis.fetch | undefined;
  /** Re-read the registry and the prober at most this often (default 30 s). */
  refreshMs?: number | undefined;
}

/**
 * Finds mailboxes (the registry, plus any configured ones), scores them with the prober's figures
 * when a prober is configured (the formula of docs/methodology.md, weights configurable), and
 * chooses among the best quarter, keeping the user's pin and skipping graylisted ones and those
 * this client cannot dial.
 */
export class MailboxDirectory {
  readonly #init: MailboxDirectoryInit;
  readonly #weights: ScoreWeights;

  constructor(init: MailboxDirectoryInit) {
    this.#init = init;
    this.#weights = { ...DEFAULT_SCORE_WEIGHTS, ...init.weights };
  }

  /** The pinned mailbox's id, if any. */
  async pinned(): Promise<string | undefined> {
    return this.#init.storage.get("pin");
  }

  async pin(id: string): Promise<void> {
    await this.#init.storage.set("pin", id.toLowerCase());
  }

  async unpin(): Promise<void> {
    await this.#init.storage.set("pin", undefined);
  }

  /**
   * Records a failure of the mailbox's own (never one of the client's refusals); returns true when
   * this one graylists it, which is said as a `graylisted` mailbox event.
   */
  async failed(id: string, error?: string): Promise<boolean> {
    const mailbox = id.toLowerCase();
    const now = Date.now();
    const graylistMs = this.#init.graylistMs ?? 3_600_000;
    const graylisted = await this.#init.storage.mailboxFailed(mailbox, now, graylistMs);
    if (graylisted)
      this.#init.emit?.({
        type: "mailbox",
        mailbox,
        state: "graylisted",
        until: now + graylistMs,
        ...(error ? { error } : {}),
      });
    return graylisted;
  }

  async succeeded(id: string): Promise<void> {
    await this.#init.storage.mailboxSucceeded(id.toLowerCase(), Date.now());
  }

  /** Mailboxes already reported as not dialable from here (once per directory). */
  readonly #reported = new Set<string>();

  /** Registry entries, prober figures and the minimum stake, re-read at most every `refreshMs`. */
  #snapshot:
    | Promise<{
        registered: MailboxCandidate[];
        figures: Map<string, ProberFigures>;
        minStake: bigint;
        at: number;
      }>
    | undefined;

  async #read() {
    const [registered, figures, minStake] = await Promise.all([
      this.#registered(),
      this.#figures(),
      this.#minStake(),
    ]);
    return { registered, figures, minStake, at: Date.now() };
  }

  /** Forgets what was read from the registry and the prober. */
  refresh(): void {
    this.#snapshot = undefined;
  }

  /** Every known mailbox with its score and selection chance, best first. */
  async list(k = 1): Promise<MailboxCandidate[]> {
    let snap = this.#snapshot ? await this.#snapshot.catch(() => undefined) : undefined;
    if (!snap || Date.now() - snap.at > (this.#init.refreshMs ?? 30_000)) {
      this.#snapshot = this.#read();
      snap = await this.#snapshot.catch((err: unknown) => {
        this.#snapshot = undefined;
        throw err;
      });
    }
    const { figures, minStake } = snap;
    const registered = snap.registered.map((c) => ({ ...c, multiaddrs: [...c.multiaddrs] }));
    const byId = new Map<string, MailboxCandidate>();
    for (const c of registered) byId.set(c.id, c);
    for (const s of this.#init.mailboxes ?? []) {
      const peerId = s.multiaddr.split("/p2p/")[1];
      if (!peerId)
        throw new BaseError("a configured mailbox needs its /p2p/<peer id>", { details: s.multiaddr });
      const id = (s.operator ?? peerId).toLowerCase();
      const known = byId.get(id);
      if (known) known.multiaddrs = [s.multiaddr, ...known.multiaddrs];
      else byId.set(id, blankCandidate(id, s.operator, peerId, [s.multiaddr]));
    }
    const all = [...byId.values()].filter(
      (c) => this.#init.maxPageCost === undefined || pageCost(c.price, 100) <= this.#init.maxPageCost,
    );
    const median = medianAmount(all.map((c) => pageCost(c.price, PRICE_REFERENCE_PAGE)));
    const now = Date.now();
    const health = new Map((await this.#init.storage.mailboxHealth()).map((h) => [h.mailbox, h]));
    const pin = await this.pinned();
    const policy = this.#init.dialPolicy ?? NODE_DIAL_POLICY;
    for (const c of all) {
      c.figures = figures.get(c.id);
      c.name = mailboxName(c.metadataURI, c.figures);
      const f = c.figures;
      c.factors = scoreFactors({
        probesOk: f?.probesOk ?? 0,
        probesFailed: f?.probesFailed ?? 0,
        latencyP50Ms: f?.latencyP50Ms ?? undefined,
        canariesExpected: f?.canariesExpected ?? 0,
        canariesFound: f?.canariesFound ?? 0,
        stake: c.stake,
        minStake,
        pageCost: pageCost(c.price, PRICE_REFERENCE_PAGE),
        medianPageCost: median,
        // Disputes upheld against it (the prober follows the Disputes contract); none from an older prober.
        upheldDisputesAt: Array.isArray(f?.disputes?.upheldAt) ? f.disputes.upheldAt : undefined,
        now,
      });
      c.score = combineScore(c.factors, this.#weights);
      const h = health.get(c.id);
      c.graylistedUntil = h && h.graylistedUntil > now ? h.graylistedUntil : 0;
      c.graylisted = c.graylistedUntil > 0;
      c.lastOkAt = h?.lastOkAt ?? null;
      c.pinned = pin === c.id || pin === c.peerId.toLowerCase();
      c.reachable = dialableAddresses(c, policy).length > 0;
      c.unreachableReason = c.reachable ? undefined : unreachableReason(c.multiaddrs, policy);
      c.chance = 0;
    }
    // The chances of the draw `choose` makes: a pin takes one of the k places, the others are
    // drawn among the rest.
    const pool = choosable(all);
    const pinned = pool.find((c) => c.pinned);
    const rest = pool.filter((c) => c !== pinned);
    const places = k - (pinned ? 1 : 0);
    const chances =
      places > 0
        ? selectionChances(
            rest.map((c) => c.score),
            places,
          )
        : rest.map(() => 0);
    rest.forEach((c, i) => {
      c.chance = chances[i]!;
    });
    if (pinned) pinned.chance = 1;
    return all.sort((a, b) => b.score - a.score);
  }

  /**
   * The mailboxes to use, in order of preference: the pinned one first, then up to `k` drawn from
   * the best quarter, then every other eligible one (the failover order). Graylisted ones are
   * skipped unless nothing else is left; those this client cannot dial always are (each reported
   * once as an `unreachable` mailbox event, never graylisted).
   */
  async choose(k = 1): Promise<MailboxCandidate[]> {
    const all = await this.list(k);
    if (all.length === 0)
      throw new BaseError("no mailbox is known", { details: "none registered or configured" });
    for (const c of all)
      if (!c.reachable && !this.#reported.has(c.id)) {
        this.#reported.add(c.id);
        this.#init.emit?.({
          type: "mailbox",
          mailbox: c.id,
          state: "unreachable",
          error: c.unreachableReason!,
        });
      }
    const pool = choosable(all);
    if (pool.length === 0)
      throw new BaseError("no mailbox can be reached from here", {
        details: all.map((c) => `${c.name ?? c.id}: ${c.unreachableReason}`).join("; "),
      });
    const pinned = pool.find((c) => c.pinned);
    const rest = pool.filter((c) => c !== pinned);
    const picked = pickMailboxes(
      rest.map((c) => c.score),
      Math.max(0, k - (pinned ? 1 : 0)),
      this.#init.random,
    ).map((i) => rest[i]!);
    const chosen = [...(pinned ? [pinned] : []), ...picked];
    return [...chosen, ...rest.filter((c) => !chosen.includes(c))];
  }

  async #minStake(): Promise<bigint> {
    const chain = this.#init.chain;
    if (!chain) return 0n;
    return chain.publicClient.readContract({
      address: chain.registry,
      abi: mailboxRegistryAbi,
      functionName: "minStake",
    });
  }

  async #registered(): Promise<MailboxCandidate[]> {
    const chain = this.#init.chain;
    if (!chain) return [];
    const { publicClient, registry } = chain;
    const [entries, block] = await Promise.all([
      readMailboxes(publicClient, registry),
      publicClient.getBlock(),
    ]);
    const out: MailboxCandidate[] = [];
    for (const m of entries) {
      if (m.status !== MailboxStatus.Active) continue;
      const { price, pending } = effectivePrice(m, block.timestamp);
      const c = blankCandidate(m.operator.toLowerCase(), m.operator, m.peerId, [...m.multiaddrs]);
      c.metadataURI = m.metadataURI;
      c.stake = m.stake;
      c.price = price;
      c.paid = price.pricePerQuery > 0n || price.pricePerMessage > 0n;
      c.registeredAt = m.registeredAt;
      c.pendingPrice = pending && { ...pending, effectiveAt: BigInt(pending.effectiveAt) };
      out.push(c);
    }
    return out;
  }

  async #figures(): Promise<Map<string, ProberFigures>> {
    const url = this.#init.proberUrl;
    const map = new Map<string, ProberFigures>();
    if (!url) return map;
    try {
      const res = await (this.#init.fetch ?? fetch)(`${url.replace(/\/$/, "")}/mailboxes`, {
        signal: AbortSignal.timeout(5_000),
      });
      if (!res.ok) return map;
      const body = (await res.json()) as { report?: { mailboxes?: ProberFigures[] } };
      for (const f of body.report?.mailboxes ?? []) map.set(f.address.toLowerCase(), f);
    } catch {
      // No prober figures: every mailbox is scored on its prior, stake and price alone.
    }
    return map;
  }
}

/** A candidate with nothing measured yet (free until prices are set). */
export function blankCandidate(
  id: string,
  operator: Address | undefined,
  peerId: string,
  multiaddrs: string[],
): MailboxCandidate {
  return {
    id,
    operator,
    peerId,
    multiaddrs,
    metadataURI: "",
    name: undefined,
    stake: 0n,
    price: { pricePerQuery: 0n, pricePerMessage: 0n },
    pendingPrice: undefined,
    registeredAt: 0n,
    paid: false,
    figures: undefined,
    factors: { availability: 0, latency: 0, completeness: 0, stake: 0, price: 0 },
    score: 0,
    chance: 0,
    pinned: false,
    graylisted: false,
    graylistedUntil: 0,
    lastOkAt: null,
    reachable: true,
    unreachableReason: undefined,
  };
}

/** The mailboxes a choice draws from: the reachable ones not graylisted, else the reachable ones. */
function choosable(all: MailboxCandidate[]): MailboxCandidate[] {
  const reachable = all.filter((c) => c.reachable);
  const eligible = reachable.filter((c) => !c.graylisted);
  return eligible.length > 0 ? eligible : reachable;
}

/**
 * The name an operator gives its mailbox, as plain text fit for a terminal (control characters
 * dropped, at most 40 characters): from the prober's reading of its metadata document, else from a
 * `data:application/json` metadata URI read here (an `https:` one is not fetched: that would tell
 * the operator who looks), else a short plain label used as the URI itself.
 */
export function mailboxName(
  metadataURI: string,
  figures?: Pick<ProberFigures, "metadata">,
): string | undefined {
  const clean = (v: unknown) => {
    const text = typeof v === "string" ? v.replace(/\p{C}/gu, "").trim().slice(0, 40) : "";
    return text || undefined;
  };
  const measured = clean(figures?.metadata?.name);
  if (measured) return measured;
  const data = /^data:application\/json((?:;[^,;]*)*?)(;base64)?,(.*)$/is.exec(metadataURI);
  if (data) {
    try {
      const body = data[2]
        ? new TextDecoder().decode(Uint8Array.from(atob(data[3]!), (ch) => ch.charCodeAt(0)))
        : decodeURIComponent(data[3]!);
      return clean((JSON.parse(body) as { name?: unknown } | null)?.name);
    } catch {
      return undefined;
    }
  }
  return /^[\w.:-]{1,40}$/.test(metadataURI) ? metadataURI : undefined;
}
