import type { Socket } from "node:net";
import type { MultiaddrConnection, Transport, Upgrader } from "@libp2p/interface";
import { tcp as libp2pTcp, type TCPComponents, type TCPOptions } from "@libp2p/tcp";
import type { Uint8ArrayList } from "uint8arraylist";

/** What `@libp2p/tcp`'s connection exposes to this module (an implementation detail, checked). */
interface SocketConnection {
  socket?: Socket;
  sendData?: (data: Uint8ArrayList) => { sentBytes: number; canSendMore: boolean };
}

/** Marks connections whose writes are coalesced, so that a connection is wrapped once. */
const COALESCED = Symbol.for("@postbox/net/coalesced");

/**
 * Makes a TCP connection hand each batch of bytes to the kernel in one `writev`. `@libp2p/tcp` writes
 * every piece of a batch with its own `socket.write`: a Noise message is its 2-byte length, its
 * ciphertext pieces and its tag, and a yamux frame adds a 12-byte header, so one 100 KB page took
 * about 18 write system calls and as many TCP segments, each waking the reader. Corking the
 * socket around the batch sends the same bytes, in the same order, in one call.
 *
 * Backpressure is the socket's: the batch is buffered whole, and more is accepted only while the
 * socket's buffer is under its high-water mark (when it is not, Node emits `drain` once it empties,
 * which is what the connection waits for).
 */
export function coalesceWrites(maConn: MultiaddrConnection): void {
  const conn = maConn as unknown as SocketConnection & { [COALESCED]?: true };
  const socket = conn.socket;
  if (conn[COALESCED] || socket === undefined || typeof conn.sendData !== "function") return;
  conn.sendData = (data) => {
    socket.cork();
    for (const part of data) socket.write(part);
    socket.uncork();
    return {
      sentBytes: data.byteLength,
      canSendMore: socket.writableLength < socket.writableHighWaterMark,
    };
  };
  conn[COALESCED] = true;
}

function coalescing(upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get(target, property) {
      if (property === "upgradeInbound" || property === "upgradeOutbound") {
        const upgrade = target[property].bind(target) as (
          maConn: MultiaddrConnection,
          ...rest: unknown[]
        ) => unknown;
        return (maConn: MultiaddrConnection, ...rest: unknown[]) => {
          coalesceWrites(maConn);
          return upgrade(maConn, ...rest);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** `@libp2p/tcp` whose connections write each batch with one system call ({@link coalesceWrites}). */
export function tcp(init: TCPOptions = {}): (components: TCPComponents) => Transport {
  const create = libp2pTcp(init);
  return (components) => {
    const transport = create(components);
    const dial = transport.dial.bind(transport);
    const createListener = transport.createListener.bind(transport);
    transport.dial = (ma, options) => dial(ma, { ...options, upgrader: coalescing(options.upgrader) });
    transport.createListener = (options) =>
      createListener({ ...options, upgrader: coalescing(options.upgrader) });
    return transport;
  };
}
