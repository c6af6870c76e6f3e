import type { AbortOptions, Libp2p, PeerId } from "@libp2p/interface";
import { pbStream } from "@libp2p/utils";
import type { Multiaddr } from "@multiformats/multiaddr";
import { framing, LIMITS } from "@postbox/protocol";
import type { Uint8ArrayList } from "uint8arraylist";
import { MailboxUnreachableError } from "../errors.js";

/** Something to open a stream to: a peer id (already known to the libp2p node) or a multiaddr. */
export type MailboxAddress = PeerId | Multiaddr | Multiaddr[];

interface Encoder<T> {
  encode(v: T): Uint8Array;
}

interface Decoder<T> {
  decode(b: Uint8Array | Uint8ArrayList): T;
}

/** One request, one response on a fresh stream: the shape of every Postbox protocol. */
export async function request<Req, Res>(
  libp2p: Pick<Libp2p, "dialProtocol">,
  to: MailboxAddress,
  protocol: string,
  req: Req,
  codecs: { request: Encoder<Req>; response: Decoder<Res> },
  options: AbortOptions & { timeoutMs?: number } = {},
): Promise<Res> {
  const signal = options.signal ?? AbortSignal.timeout(options.timeoutMs ?? 15_000);
  let stream: Awaited<ReturnType<Libp2p["dialProtocol"]>>;
  try {
    stream = await libp2p.dialProtocol(to, protocol, { signal });
  } catch (cause) {
    throw new MailboxUnreachableError(`cannot open ${protocol}: ${(cause as Error).message}`, cause);
  }
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
