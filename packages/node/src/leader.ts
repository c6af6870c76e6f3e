import pg from "pg";
import type { Logger } from "pino";

/** The channel on which followers ask the leader to redeem a channel now (payload: its id). */
export const URGENT_CHANNEL = "postbox_redeem_urgent";

export interface LeaderLockInit {
  /** The PostgreSQL the mailbox's nodes share. */
  url: string;
  /**
   * The lock's name; the key is `hashtextextended(name || ':' || current_schema(), 0)`, so two
   * mailboxes in two schemas of one database do not share it.
   */
  name: string;
  log: Logger;
  /** How often a follower tries to take the lock, and the leader checks its connection (ms). */
  retryMs?: number;
  /** Called when this node becomes the leader. */
  onAcquire: () => void | Promise<void>;
  /**
   * Called when it stops being the leader: `stopping` true when the node stops (its jobs may
   * finish their work), false when its connection failed (another node may already lead).
   */
  onLose: (stopping: boolean) => void | Promise<void>;
  /** Called on the leader for each `NOTIFY` on {@link URGENT_CHANNEL}. */
  onUrgent?: (payload: string) => void;
}

/**
 * One leader among the nodes of a mailbox that share one PostgreSQL: the node holding a
 * session-level advisory lock on its own connection runs the jobs there must be one of (the
 * redeemer and the dispute watcher, which send from the operator's one account, and retention).
 * The lock belongs to the connection: when the leader dies, its connection drops and PostgreSQL
 * releases the lock, and the next follower to try (every `retryMs`) takes over. A leader whose
 * connection fails stops its jobs at once, before anyone else can have the lock.
 */
export class LeaderLock {
  readonly #init: LeaderLockInit;
  readonly #retryMs: number;
  #client: pg.Client | undefined;
  #held = false;
  #tries = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #busy: Promise<void> = Promise.resolve();

  constructor(init: LeaderLockInit) {
    this.#init = init;
    this.#retryMs = init.retryMs ?? 2_000;
  }

  /** Whether this node is the leader now. */
  get held(): boolean {
    return this.#held;
  }

  /** How many times this node has asked PostgreSQL for the lock (answered, taken or not). */
  get tries(): number {
    return this.#tries;
  }

  /** Tries once at once (so a single node leads from its start), then every `retryMs`. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#serial(() => this.#tick());
    this.#arm();
  }

  /** Stops the jobs if leading, releases the lock and closes the connection. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#serial(async () => {
      const client = this.#client;
      this.#client = undefined;
      if (this.#held) await this.#lose("stopping");
      if (client) {
        await client.query("SELECT pg_advisory_unlock_all()").catch(() => undefined);
        await client.end().catch(() => undefined);
      }
    });
  }

  #serial(step: () => Promise<void>): Promise<void> {
    this.#busy = this.#busy.then(step, step);
    return this.#busy;
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.#serial(() => this.#tick()).finally(() => this.#arm());
    }, this.#retryMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    try {
      const client = this.#client ?? (await this.#connect());
      if (this.#held) {
        // The leader checks that its connection, hence its lock, is still there.
        await client.query("SELECT 1");
        return;
      }
      const r = await client.query<{ ok: boolean }>(
        "SELECT pg_try_advisory_lock(hashtextextended($1 || ':' || current_schema(), 0)) AS ok",
        [this.#init.name],
      );
      this.#tries++;
      if (r.rows[0]?.ok && !this.#stopped && this.#client === client) {
        this.#held = true;
        this.#init.log.info({ lock: this.#init.name }, "leading: this node runs the mailbox's single jobs");
        await this.#init.onAcquire();
      }
    } catch (err) {
      this.#init.log.warn({ err, lock: this.#init.name }, "leader lock connection failed; reconnecting");
      await this.#drop();
    }
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.#init.url, keepAlive: true });
    client.on("error", (err) => {
      this.#init.log.warn({ err, lock: this.#init.name }, "leader lock connection lost");
      void this.#serial(() => (this.#client === client ? this.#drop() : Promise.resolve()));
    });
    client.on("notification", (n) => {
      if (n.channel === URGENT_CHANNEL && n.payload && this.#held) this.#init.onUrgent?.(n.payload);
    });
    await client.connect();
    if (this.#init.onUrgent) await client.query(`LISTEN ${URGENT_CHANNEL}`);
    this.#client = client;
    return client;
  }

  /** The connection failed: whatever it held is gone (PostgreSQL released it). */
  async #drop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (this.#held) await this.#lose("connection lost");
    if (client) await client.end().catch(() => undefined);
  }

  async #lose(reason: string): Promise<void> {
    this.#held = false;
    this.#init.log.info({ lock: this.#init.name, reason }, "no longer leading");
    try {
      await this.#init.onLose(reason === "stopping");
    } catch (err) {
      this.#init.log.error({ err }, "stopping the leader's jobs failed");
    }
  }
}

/** Asks the leader (through PostgreSQL) to redeem a channel now. */
export async function notifyUrgent(pool: pg.Pool, channelId: string): Promise<void> {
  await pool.query("SELECT pg_notify($1, $2)", [URGENT_CHANNEL, channelId]);
}
