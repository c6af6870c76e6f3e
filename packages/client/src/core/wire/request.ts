import type { AbortOptions, Libp2p, PeerId, Stream } from "@libp2p/interface";
import { pbStream } from "@libp2p/utils";
import type { Multiaddr } from "@multiformats/multiaddr";
import { framing, LIMITS } from "@postbox/protocol";
import type { Uint8ArrayList } from "uint8arraylist";
import { MailboxUnreachableError } from "../../errors.js";

/** Something to open a stream to: a peer id (already known to the libp2p node) or a multiaddr. */
export type MailboxAddress = PeerId | Multiaddr | Multiaddr[];

interface Encoder<T> {
  encode(v: T): Uint8Array;
}

interface Decoder<T> {
  decode(b: Uint8Array | Uint8ArrayList): T;
}

/** Opens a stream for `protocol`; a failure is a {@link MailboxUnreachableError}. */
async function open(
  libp2p: Pick<Libp2p, "dialProtocol">,
  to: MailboxAddress,
  protocol: string,
  signal: AbortSignal,
): Promise<Stream> {
  try {
    return await libp2p.dialProtocol(to, protocol, { signal });
  } catch (cause) {
    throw new MailboxUnreachableError(`cannot open ${protocol}: ${(cause as Error).message}`, cause);
  }
}

/** One request, one response on a fresh stream (`/postbox/push/1`, `/postbox/info/1`). */
export async function request<Req, Res>(
  libp2p: Pick<Libp2p, "dialProtocol">,
  to: MailboxAddress,
  protocol: string,
  req: Req,
  codecs: { request: Encoder<Req>; response: Decoder<Res> },
  options: AbortOptions & { timeoutMs?: number } = {},
): Promise<Res> {
  const signal = options.signal ?? AbortSignal.timeout(options.timeoutMs ?? 15_000);
  const stream = await open(libp2p, to, protocol, signal);
  try {
    const pb = pbStream(stream, framing(LIMITS.maxFrameBytes));
    await pb.write(req, codecs.request, { signal });
    const res = await pb.read(codecs.response, { signal });
    await stream.close({ signal }).catch(() => undefined);
    return res;
  } catch (cause) {
    stream.abort(cause instanceof Error ? cause : new Error(String(cause)));
    throw new MailboxUnreachableError(`${protocol} failed: ${(cause as Error).message}`, cause);
  }
}

/**
 * How long an idle stream is kept for the next query. Under the mailbox's default wait for a next
 * query (10 s), so that the client, not the mailbox, normally ends an idle stream.
 */
const IDLE_MS = 4_000;
/** Idle streams kept per host and mailbox: enough for the concurrency a catch-up uses. */
const MAX_IDLE = 16;

/** A stream with its reader, idle between requests or busy with one. */
class Session {
  readonly pb: ReturnType<typeof pbStream>;
  #idle: ReturnType<typeof setTimeout> | undefined;
  #pool: Session[] | undefined;

  constructor(readonly stream: Stream) {
    this.pb = pbStream(stream, framing(LIMITS.maxFrameBytes));
    // The mailbox ends an idle stream by closing its side: leave the pool and close ours.
    const end = () => this.#retire();
    stream.addEventListener("remoteCloseWrite", end, { once: true });
    stream.addEventListener("close", end, { once: true });
  }

  get usable(): boolean {
    const { stream } = this;
    return (
      stream.status === "open" && stream.writeStatus === "writable" && stream.remoteWriteStatus === "writable"
    );
  }

  /** Waits in `pool` for the next request, for at most {@link IDLE_MS}. */
  park(pool: Session[]): void {
    this.#pool = pool;
    pool.push(this);
    this.#idle = setTimeout(() => this.#retire(), IDLE_MS);
    this.#idle.unref?.();
  }

  /** Takes the session out of its pool for a request. */
  take(): void {
    clearTimeout(this.#idle);
    this.#idle = undefined;
    this.#pool = undefined;
  }

  #retire(): void {
    const at = this.#pool?.indexOf(this) ?? -1;
    if (at !== -1) this.#pool!.splice(at, 1);
    this.take();
    if (this.stream.status === "open") this.stream.close().catch(() => undefined);
  }
}

/** Idle sessions per host (weakly) and protocol and mailbox address. */
const sessions = new WeakMap<object, Map<string, Session[]>>();

function idleSessions(libp2p: object, protocol: string, to: MailboxAddress): Session[] {
  let byAddress = sessions.get(libp2p);
  if (!byAddress) {
    byAddress = new Map();
    sessions.set(libp2p, byAddress);
  }
  const key = `${protocol} ${Array.isArray(to) ? to.map(String).join(" ") : to.toString()}`;
  let idle = byAddress.get(key);
  if (!idle) {
    idle = [];
    byAddress.set(key, idle);
  }
  return idle;
}

/**
 * One request and its response on a stream kept open for the next one, for protocols whose
 * handler answers requests in sequence on one stream (`/postbox/store/1`). A stream costs both
 * sides more CPU to open and close than a page of history costs to serve, so a catch-up that
 * reads page after page, or topic after topic, reuses its streams; each waits at most
 * {@link IDLE_MS} for its next request, and leaves at once when the mailbox closes it. If a reused
 * stream fails before answering, the request is sent again once on a fresh stream when `retry` says
 * a repeat is harmless (the mailbox may or may not have read the first).
 */
export async function requestOnSession<Req, Res>(
  libp2p: Pick<Libp2p, "dialProtocol">,
  to: MailboxAddress,
  protocol: string,
  req: Req,
  codecs: { request: Encoder<Req>; response: Decoder<Res> },
  options: AbortOptions & { timeoutMs?: number; retry?: boolean } = {},
  fresh = false,
): Promise<Res> {
  const signal = options.signal ?? AbortSignal.timeout(options.timeoutMs ?? 15_000);
  const idle = idleSessions(libp2p, protocol, to);
  let session: Session | undefined;
  for (let next = fresh ? undefined : idle.pop(); next !== undefined; next = idle.pop()) {
    next.take();
    if (next.usable) {
      session = next;
      break;
    }
    next.stream.abort(new Error("stale session"));
  }
  const reused = session !== undefined;
  session ??= new Session(await open(libp2p, to, protocol, signal));
  let res: Res;
  try {
    await session.pb.write(req, codecs.request, { signal });
    res = await session.pb.read(codecs.response, { signal });
  } catch (cause) {
    session.stream.abort(cause instanceof Error ? cause : new Error(String(cause)));
    if (reused && options.retry === true && !signal.aborted) {
      return requestOnSession(libp2p, to, protocol, req, codecs, { ...options, signal, retry: false }, true);
    }
    throw new MailboxUnreachableError(`${protocol} failed: ${(cause as Error).message}`, cause);
  }
  if (session.usable && idle.length < MAX_IDLE) session.park(idle);
  else session.stream.close({ signal }).catch(() => undefined);
  return res;
}
