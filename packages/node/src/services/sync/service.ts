import type { Connection, Libp2p, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { lpStream, RateLimiter, UnexpectedEOFError } from "@libp2p/utils";
import type { Multiaddr } from "@multiformats/multiaddr";
import { Envelope, framing, identify, LIMITS, validateEnvelope } from "@postbox/protocol";
import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Archive, RetentionPolicy, StoredEnvelope } from "../../archive/types.js";
import { SyncRange, SyncRequest, SyncResponse } from "../../pb/sync.js";
import {
  DEFAULT_PARAMS,
  firstRanges,
  fromWireBound,
  KEY_BYTES,
  nextRanges,
  type ReconcileParams,
  respond,
  SKETCH_WORK_PER_SESSION,
  SyncProtocolError,
} from "./reconcile.js";
import { type Bound, ID_BYTES, SyncIndex } from "./sync-index.js";

export const SYNC_PROTOCOL = "/postbox/sync/1";
/** Largest frame either side accepts. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Envelope bytes a response carries at most (then `pending` says how many are still queued). */
export const MAX_RESPONSE_ENVELOPE_BYTES = 1024 * 1024;
/** Ranges a request may carry (the Postbox initiator sends at most `maxRanges`, 2,048). */
export const MAX_REQUEST_RANGES = 8_192;
/** Ids (prefixes or full) a request's IDS ranges may carry in all. */
export const MAX_REQUEST_IDS = 65_536;
/** Messages each way in one session. */
export const MAX_ROUNDS = 256;
/** How long one side waits for the other's next message. */
const READ_TIMEOUT_MS = 30_000;
/** Rounds in a row a peer refuses sync before it is logged as a warning. */
const REFUSALS_BEFORE_WARNING = 3;

/** A mailbox to sync with (and to serve): its peer id and where to dial it. */
export interface SyncPeer {
  peerId: string;
  addrs: Multiaddr[];
  /**
   * Configured by the operator (`bootstrap`, `sync.peers`): dialled for a round. Other peers (the
   * registry's) are synced with only while connected, so that a round follows peering's choice.
   */
  configured?: boolean;
}

export interface SyncSettings {
  /** Seconds between rounds (each ± 20 %). */
  interval: number;
  /** Seconds from start to the first round. */
  startDelay: number;
  /** Peers synced with in a round, one after another. */
  peersPerRound: number;
  /** Sessions a peer may start here per minute. */
  sessionsPerMinute: number;
  /** Sessions served at once. */
  maxSessions: number;
  /** Envelopes sent to one initiator in one session (it starts another for the rest). */
  maxEnvelopesPerSession: number;
}

export interface MailboxSyncInit {
  archive: Archive;
  pubsubTopics: string[];
  registry: Registry;
  log: Logger;
  settings: SyncSettings;
  /** The mailboxes allowed to sync here, which are also the ones this mailbox syncs with. */
  peers: () => Promise<SyncPeer[]>;
  /**
   * Whether this mailbox's own registry entry is active (with a chain). While it is not, a round
   * syncs with configured peers only: registered mailboxes would refuse it (FORBIDDEN).
   */
  selfActive?: () => Promise<boolean>;
  /** The retention period (ms): the window synced starts that long ago. */
  retentionMs: number;
  /**
   * Retention also keeps at most a count or size: the window starts no earlier than the oldest
   * envelope held (what is older was deleted on purpose and would only be deleted again).
   */
  limitedBySize?: boolean;
  /** Re-read the whole index from the archive before each round (other nodes write to the same PostgreSQL). */
  reloadBeforeRound?: boolean;
  params?: ReconcileParams;
  now?: () => number;
}

/** What one session did, from the initiator's side. */
export interface SessionStats {
  peer: string;
  rounds: number;
  /** Bytes written and read on the stream (frames with their length prefixes). */
  sent: number;
  received: number;
  /** Encoded size of the envelopes received (their own bytes). */
  envelopeBytes: number;
  envelopes: number;
  /** Of them, new to the archive. */
  stored: number;
  invalid: number;
  /** Ranges sent, by mode. */
  ranges: { skip: number; fingerprint: number; ids: number; sketch: number };
  truncated: boolean;
  ms: number;
}

/** The responder refused the session. */
export class SyncRefused extends Error {
  constructor(
    readonly status: SyncResponse.Status,
    readonly desc: string,
  ) {
    super(`sync refused: ${SyncResponse.Status[status] ?? status}: ${desc}`);
  }
}

const varintBytes = (n: number) =>
  n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : n < 268_435_456 ? 4 : 5;
const sameTopics = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((t, i) => t === [...b].sort()[i]);

/**
 * `/postbox/sync/1`: keeps the sync index, serves reconciliation sessions to registered mailboxes,
 * and starts its own with them at start and every `interval`, pulling what it lacks.
 */
export class MailboxSync {
  readonly index = new SyncIndex();
  readonly #o: MailboxSyncInit;
  readonly #params: ReconcileParams;
  readonly #now: () => number;
  readonly #limiter: RateLimiter;
  #libp2p: Libp2p | undefined;
  #loaded: Promise<void> = Promise.resolve();
  /** Positions added while a load runs (the load replaces the index). */
  #during: { ts: number; id: Uint8Array }[] | undefined;
  #reloadWanted = false;
  #serving = 0;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<unknown> | undefined;
  #stopped = false;
  /** Aborted on stop: sessions in flight end at once instead of waiting out their timeouts. */
  #abort = new AbortController();
  #idleRounds = 0;
  #selfActive: boolean | undefined;
  /** Rounds in a row each peer refused (SyncRefused). */
  #refusals = new Map<string, number>();
  #allowed: { at: number; ids: Set<string> } | undefined;
  #lastRound: { at: number; sessions: number; stored: number; failed: number } | undefined;
  readonly #metrics: {
    sessions: Counter<"role" | "result">;
    bytes: Counter<"role" | "direction">;
    envelopes: Counter<"result">;
    indexSize: Gauge;
    indexBytes: Gauge;
  };

  constructor(init: MailboxSyncInit) {
    this.#o = init;
    // POSTBOX_SYNC_SKETCHES=off: no sketches (split down to id lists), for `npm run bench -- sync
    // --compare`; both sides of a session must agree for it to measure the algorithm without them.
    this.#params =
      init.params ??
      (process.env.POSTBOX_SYNC_SKETCHES === "off" ? { ...DEFAULT_PARAMS, sketchMax: 0 } : DEFAULT_PARAMS);
    this.#now = init.now ?? Date.now;
    this.#limiter = new RateLimiter({ points: init.settings.sessionsPerMinute, duration: 60 });
    const registers = [init.registry];
    this.#metrics = {
      sessions: new Counter({
        name: "postbox_sync_sessions_total",
        help: "Sync sessions, by role (initiator, responder) and result (ok, refused, error)",
        labelNames: ["role", "result"] as const,
        registers,
      }),
      bytes: new Counter({
        name: "postbox_sync_bytes_total",
        help: "Sync protocol bytes (frames and length prefixes), by role and direction (in, out)",
        labelNames: ["role", "direction"] as const,
        registers,
      }),
      envelopes: new Counter({
        name: "postbox_sync_envelopes_total",
        help: "Envelopes received by sync, by result (stored, duplicate, invalid)",
        labelNames: ["result"] as const,
        registers,
      }),
      indexSize: new Gauge({
        name: "postbox_sync_index_envelopes",
        help: "Positions in the sync index",
        registers,
        collect: () => this.#metrics.indexSize.set(this.index.size),
      }),
      indexBytes: new Gauge({
        name: "postbox_sync_index_bytes",
        help: "Memory of the sync index's arrays",
        registers,
        collect: () => this.#metrics.indexBytes.set(this.index.bytes),
      }),
    };
  }

  /** Registers the protocol, loads the index from the archive and schedules the rounds. */
  async start(libp2p: Libp2p): Promise<void> {
    this.#libp2p = libp2p;
    this.#stopped = false;
    this.#abort = new AbortController();
    await libp2p.handle(SYNC_PROTOCOL, (stream, connection) => this.handle(stream, connection), {
      maxInboundStreams: this.#o.settings.maxSessions,
    });
    this.#loaded = this.#load();
    this.#arm(this.#o.settings.startDelay * 1000);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort(new Error("the mailbox is stopping"));
    clearTimeout(this.#timer);
    await this.#libp2p?.unhandle(SYNC_PROTOCOL).catch(() => undefined);
    await this.#round?.catch(() => undefined);
    await this.#loaded.catch(() => undefined);
  }

  #signal(ms: number): AbortSignal {
    return AbortSignal.any([AbortSignal.timeout(ms), this.#abort.signal]);
  }

  /** For `/health`: the index, and what the last round did. */
  get status(): {
    indexEnvelopes: number;
    indexBytes: number;
    lastRound: { at: string; sessions: number; stored: number; failed: number } | null;
  } {
    const r = this.#lastRound;
    return {
      indexEnvelopes: this.index.size,
      indexBytes: this.index.bytes,
      lastRound: r ? { ...r, at: new Date(r.at).toISOString() } : null,
    };
  }

  /** Resolves once the index holds the archive (it is loaded at start). */
  get ready(): Promise<void> {
    return this.#loaded;
  }

  /**
   * The archive as the ingest and retention see it: what they insert goes into the index too, and
   * what retention deletes leaves it.
   */
  track(archive: Archive): Archive {
    return {
      kind: archive.kind,
      insert: async (envelopes) => {
        const fresh = await archive.insert(envelopes);
        for (const e of envelopes) this.#add(Number(e.timestamp), e.id);
        return fresh;
      },
      query: (q) => archive.query(q),
      position: (id) => archive.position(id),
      get: (id) => archive.get(id),
      presence: (ids) => archive.presence(ids),
      prune: async (policy, nowMs, batch) => {
        const n = await archive.prune(policy, nowMs, batch);
        if (n > 0) this.#pruned(policy, nowMs, n);
        return n;
      },
      stats: () => archive.stats(),
      scan: (batch) => archive.scan(batch),
      close: () => archive.close(),
    };
  }

  #add(ts: number, id: Uint8Array): void {
    this.index.insert(ts, id);
    this.#during?.push({ ts, id });
  }

  #pruned(policy: RetentionPolicy, nowMs: number, deleted: number): void {
    const removed = policy.maxAgeMs !== undefined ? this.index.removeBefore(nowMs - policy.maxAgeMs) : 0;
    // Count or size limits delete in arrival order, not by timestamp: read the index again.
    if (removed < deleted && !this.#reloadWanted) {
      this.#reloadWanted = true;
      setTimeout(() => {
        this.#reloadWanted = false;
        if (!this.#stopped) this.#loaded = this.#loaded.then(() => this.#load());
      }, 1_000).unref();
    }
  }

  async #load(): Promise<void> {
    const started = performance.now();
    this.#during = [];
    try {
      const parts: { ts: Float64Array; ids: Uint8Array; count: number }[] = [];
      let total = 0;
      for await (const b of this.#o.archive.scan(50_000)) {
        parts.push({ ts: b.ts.slice(0, b.count), ids: b.ids.slice(0, b.count * ID_BYTES), count: b.count });
        total += b.count;
      }
      const ts = new Float64Array(total);
      const ids = new Uint8Array(total * ID_BYTES);
      let at = 0;
      for (const p of parts) {
        ts.set(p.ts, at);
        ids.set(p.ids, at * ID_BYTES);
        at += p.count;
      }
      parts.length = 0;
      this.index.load(ts, ids, total);
      for (const x of this.#during) this.index.insert(x.ts, x.id);
      this.#o.log.info(
        {
          envelopes: this.index.size,
          indexBytes: this.index.bytes,
          ms: Math.round(performance.now() - started),
        },
        "sync index loaded",
      );
    } catch (err) {
      this.#o.log.error({ err }, "loading the sync index failed; sync waits for the next load");
      throw err;
    } finally {
      this.#during = undefined;
    }
  }

  #arm(delayMs: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#round = this.runRound()
        .then((stats) => {
          // Nobody to sync with yet (the registry not read, peers down): try again sooner.
          this.#idleRounds = stats.length > 0 ? 0 : this.#idleRounds + 1;
        })
        .catch((err) => this.#o.log.warn({ err }, "sync round failed"))
        .finally(() => {
          const interval = this.#o.settings.interval * 1000;
          const idle =
            this.#idleRounds > 0 ? Math.min(interval, 5_000 * 2 ** Math.min(this.#idleRounds, 8)) : interval;
          this.#arm(idle * (0.8 + 0.4 * Math.random()));
        });
    }, delayMs);
    this.#timer.unref();
  }

  /** One round: up to `peersPerRound` peers, in random order, each until it has nothing more to give. */
  async runRound(): Promise<SessionStats[]> {
    const self = this.#libp2p?.peerId.toString();
    const connected = new Set(this.#libp2p?.getConnections().map((c) => c.remotePeer.toString()));
    let peers = (await this.#o.peers()).filter(
      (p) => p.peerId !== self && (p.configured || connected.has(p.peerId)),
    );
    if (this.#o.selfActive && peers.some((p) => !p.configured)) {
      // Unreadable (the RPC down): try, and let the peers say.
      const active = await this.#o.selfActive().catch(() => true);
      if (active !== this.#selfActive)
        this.#o.log.info(
          active
            ? "this mailbox's registry entry is active: syncing with registered mailboxes"
            : "this mailbox's registry entry is not active: sync with registered mailboxes waits for it",
        );
      this.#selfActive = active;
      if (!active) peers = peers.filter((p) => p.configured);
    }
    if (peers.length === 0) return [];
    if (this.#o.reloadBeforeRound)
      this.#loaded = this.#loaded.catch(() => undefined).then(() => this.#load());
    await this.#loaded;
    for (let i = peers.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [peers[i], peers[j]] = [peers[j]!, peers[i]!];
    }
    const done: SessionStats[] = [];
    let failed = 0;
    for (const peer of peers.slice(0, this.#o.settings.peersPerRound)) {
      for (let session = 0; session < 16 && !this.#stopped; session++) {
        try {
          const s = await this.syncWith(peer);
          this.#refusals.delete(peer.peerId);
          done.push(s);
          this.#o.log.info(s, "sync session");
          if (!s.truncated) break;
        } catch (err) {
          failed++;
          // A refusal is the peer's policy, often passing: busy, rate-limited, or its registry
          // view not yet showing this mailbox (read every 10 s). Said at info until it persists.
          const refusals = err instanceof SyncRefused ? (this.#refusals.get(peer.peerId) ?? 0) + 1 : 0;
          if (refusals > 0) this.#refusals.set(peer.peerId, refusals);
          this.#o.log[refusals > 0 && refusals < REFUSALS_BEFORE_WARNING ? "info" : "warn"](
            { err, peer: peer.peerId, ...(refusals > 0 ? { refusals } : {}) },
            refusals > 0 ? "sync session refused" : "sync session failed",
          );
          break;
        }
      }
    }
    this.#lastRound = {
      at: Date.now(),
      sessions: done.length,
      stored: done.reduce((n, s) => n + s.stored, 0),
      failed,
    };
    return done;
  }

  /** Reconciles with one peer and stores what it had that this mailbox lacked. */
  async syncWith(peer: SyncPeer): Promise<SessionStats> {
    const libp2p = this.#libp2p;
    if (!libp2p) throw new Error("sync is not started");
    await this.#loaded;
    const started = performance.now();
    const stats: SessionStats = {
      peer: peer.peerId,
      rounds: 0,
      sent: 0,
      received: 0,
      envelopeBytes: 0,
      envelopes: 0,
      stored: 0,
      invalid: 0,
      ranges: { skip: 0, fingerprint: 0, ids: 0, sketch: 0 },
      truncated: false,
      ms: 0,
    };
    const id = peerIdFromString(peer.peerId);
    const connected = libp2p.getConnections(id).length > 0;
    const stream = await libp2p.dialProtocol(
      connected || peer.addrs.length === 0 ? id : peer.addrs,
      SYNC_PROTOCOL,
      {
        signal: this.#signal(10_000),
      },
    );
    const lp = lpStream(stream, framing(MAX_FRAME_BYTES));
    let startMs = this.#now() - this.#o.retentionMs;
    if (this.#o.limitedBySize && this.index.size > 0) startMs = Math.max(startMs, this.index.at(0).ts);
    const start: Bound = { ts: Math.max(0, startMs), id: new Uint8Array(0) };
    let result = "error";
    try {
      let request: SyncRequest = {
        pubsubTopics: [...this.#o.pubsubTopics].sort(),
        start: { timestamp: BigInt(start.ts), id: start.id },
        ranges: firstRanges(this.index, start, this.#params),
      };
      for (;;) {
        if (stats.rounds >= MAX_ROUNDS) throw new Error(`no agreement after ${MAX_ROUNDS} rounds`);
        stats.rounds++;
        for (const r of request.ranges) {
          if (r.mode === SyncRange.Mode.SKIP) stats.ranges.skip++;
          else if (r.mode === SyncRange.Mode.FINGERPRINT) stats.ranges.fingerprint++;
          else if (r.mode === SyncRange.Mode.SKETCH) stats.ranges.sketch++;
          else stats.ranges.ids++;
        }
        const out = SyncRequest.encode(request);
        await lp.write(out, { signal: this.#signal(READ_TIMEOUT_MS) });
        stats.sent += out.length + varintBytes(out.length);
        const frame = (await lp.read({ signal: this.#signal(READ_TIMEOUT_MS) })).subarray();
        stats.received += frame.length + varintBytes(frame.length);
        const response = SyncResponse.decode(frame);
        if (response.status !== SyncResponse.Status.OK) {
          result = "refused";
          throw new SyncRefused(response.status, response.statusDesc);
        }
        if (response.truncated) stats.truncated = true;
        await this.#store(response.envelopes, startMs, stats);
        const next = nextRanges(this.index, start, response.ranges, this.#params);
        if (next.done && response.pending === 0n) break;
        request = { pubsubTopics: [], ranges: next.ranges };
      }
      await stream.close({ signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
      result = "ok";
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      throw err;
    } finally {
      this.#metrics.sessions.inc({ role: "initiator", result });
      this.#metrics.bytes.inc({ role: "initiator", direction: "out" }, stats.sent);
      this.#metrics.bytes.inc({ role: "initiator", direction: "in" }, stats.received);
      stats.ms = Math.round(performance.now() - started);
    }
    return stats;
  }

  /**
   * Validates received envelopes as gossip is validated (format, size, the id recomputed), except
   * for the clock rule: an envelope may be old (not older than the window), never more than the
   * clock skew in the future. Stores the valid ones with the same idempotent insert.
   */
  async #store(encoded: Uint8Array[], startMs: number, stats: SessionStats): Promise<void> {
    if (encoded.length === 0) return;
    const now = this.#now();
    const valid: StoredEnvelope[] = [];
    let invalid = 0;
    for (const bytes of encoded) {
      try {
        const e = Envelope.decode(bytes);
        validateEnvelope(e);
        const ts = Number(e.timestamp);
        if (ts > now + LIMITS.maxClockSkewMs) throw new Error("in the future");
        if (ts < startMs) throw new Error("before the window");
        valid.push({ ...identify(e), receivedAt: now });
        stats.envelopeBytes += bytes.length;
      } catch {
        invalid++;
      }
    }
    stats.invalid += invalid;
    stats.envelopes += encoded.length;
    const fresh = valid.length > 0 ? (await this.#o.archive.insert(valid)).length : 0;
    for (const e of valid) this.#add(Number(e.timestamp), e.id);
    stats.stored += fresh;
    this.#metrics.envelopes.inc({ result: "stored" }, fresh);
    this.#metrics.envelopes.inc({ result: "duplicate" }, valid.length - fresh);
    this.#metrics.envelopes.inc({ result: "invalid" }, invalid);
  }

  /** Whether a peer operates an active registry entry (or is configured), read at most every 10 s on a miss. */
  async #isAllowed(peer: string): Promise<boolean> {
    const now = Date.now();
    const fresh = (maxAge: number) => this.#allowed && now - this.#allowed.at < maxAge;
    if (!fresh(60_000) || (!this.#allowed!.ids.has(peer) && !fresh(10_000))) {
      try {
        const ids = new Set((await this.#o.peers()).map((p) => p.peerId));
        this.#allowed = { at: now, ids };
      } catch (err) {
        // The registry unreadable (its RPC down): the last list read stands until it can be read.
        if (!this.#allowed) throw err;
        this.#allowed.at = now - 50_000; // tried again in 10 s
        this.#o.log.warn({ err }, "reading the sync peers failed; using the last list");
      }
    }
    return this.#allowed!.ids.has(peer);
  }

  /** Serves one session. */
  async handle(stream: Stream, connection: Pick<Connection, "remotePeer">): Promise<void> {
    const peer = connection.remotePeer.toString();
    const lp = lpStream(stream, framing(MAX_FRAME_BYTES));
    let sent = 0;
    let received = 0;
    let result = "error";
    const write = async (r: SyncResponse) => {
      const bytes = SyncResponse.encode(r);
      await lp.write(bytes, { signal: this.#signal(READ_TIMEOUT_MS) });
      sent += bytes.length + varintBytes(bytes.length);
    };
    const refuse = async (status: SyncResponse.Status, statusDesc: string) => {
      result = "refused";
      await write({ status, statusDesc, ranges: [], envelopes: [], pending: 0n, truncated: false });
      await stream.close({ signal: AbortSignal.timeout(5_000) });
    };
    let counted = false;
    try {
      if (!(await this.#isAllowed(peer).catch(() => false)))
        return await refuse(
          SyncResponse.Status.FORBIDDEN,
          "sync is served to active registered mailboxes only",
        );
      try {
        this.#limiter.consume(peer);
      } catch {
        return await refuse(SyncResponse.Status.RATE_LIMITED, "too many sync sessions; slow down");
      }
      if (this.#serving >= this.#o.settings.maxSessions)
        return await refuse(SyncResponse.Status.BUSY, "serving as many sync sessions as it can");
      this.#serving++;
      counted = true;
      await this.#loaded;
      const read = async () => {
        const frame = (await lp.read({ signal: this.#signal(READ_TIMEOUT_MS) })).subarray();
        received += frame.length + varintBytes(frame.length);
        return SyncRequest.decode(frame);
      };
      let request = await read();
      if (!sameTopics(request.pubsubTopics, this.#o.pubsubTopics))
        return await refuse(
          SyncResponse.Status.UNSUPPORTED_TOPICS,
          `this mailbox archives ${[...this.#o.pubsubTopics].sort().join(", ")}`,
        );
      if (!request.start)
        return await refuse(SyncResponse.Status.BAD_REQUEST, "the first request has no start");
      let start: Bound;
      try {
        start = fromWireBound(request.start);
      } catch (err) {
        return await refuse(SyncResponse.Status.BAD_REQUEST, (err as Error).message);
      }
      const queue: Uint8Array[] = [];
      const sketchBudget = { sketchWork: SKETCH_WORK_PER_SESSION };
      let next = 0;
      let truncated = false;
      for (let round = 0; ; round++) {
        if (round >= MAX_ROUNDS) return await refuse(SyncResponse.Status.BAD_REQUEST, "too many rounds");
        if (request.ranges.length > MAX_REQUEST_RANGES)
          return await refuse(SyncResponse.Status.BAD_REQUEST, `more than ${MAX_REQUEST_RANGES} ranges`);
        if (
          request.ranges.reduce((n, r) => n + r.ids.length / (r.keyBytes || KEY_BYTES), 0) > MAX_REQUEST_IDS
        )
          return await refuse(SyncResponse.Status.BAD_REQUEST, `more than ${MAX_REQUEST_IDS} ids`);
        let answer: ReturnType<typeof respond>;
        try {
          answer = respond(
            this.index,
            start,
            request.ranges,
            this.#params,
            this.#o.settings.maxEnvelopesPerSession - queue.length,
            sketchBudget,
          );
        } catch (err) {
          if (err instanceof SyncProtocolError)
            return await refuse(SyncResponse.Status.BAD_REQUEST, err.message);
          throw err;
        }
        for (const id of answer.missing) queue.push(id);
        if (answer.truncated) truncated = true;
        const envelopes: Uint8Array[] = [];
        let bytes = 0;
        while (next < queue.length && bytes < MAX_RESPONSE_ENVELOPE_BYTES) {
          const batch = queue.slice(next, next + 32);
          next += batch.length;
          for (const e of await Promise.all(batch.map((id) => this.#o.archive.get(id)))) {
            if (!e) continue; // deleted since
            const encoded = Envelope.encode({
              version: e.version,
              contentTopic: e.contentTopic,
              timestamp: e.timestamp,
              payload: e.payload,
            });
            envelopes.push(encoded);
            bytes += encoded.length;
          }
        }
        await write({
          status: SyncResponse.Status.OK,
          statusDesc: "",
          ranges: answer.ranges,
          envelopes,
          pending: BigInt(queue.length - next),
          truncated,
        });
        try {
          request = await read();
        } catch (err) {
          if (err instanceof UnexpectedEOFError || (err as Error).name === "UnexpectedEOFError") break;
          throw err;
        }
      }
      result = "ok";
      await stream.close({ signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
    } catch (err) {
      this.#o.log.debug({ err, peer }, "sync session failed");
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    } finally {
      if (counted) this.#serving--;
      this.#metrics.sessions.inc({ role: "responder", result });
      this.#metrics.bytes.inc({ role: "responder", direction: "out" }, sent);
      this.#metrics.bytes.inc({ role: "responder", direction: "in" }, received);
    }
  }
}
