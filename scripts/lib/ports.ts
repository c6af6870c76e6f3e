import { createServer } from "node:net";

/**
 * A block of `size` consecutive TCP ports on 127.0.0.1 that are all free right now, starting at a
 * random base in `[from, from + 1_500)`.
 *
 * Test files that run at the same time each take their own 2,000-port band, all below Linux's
 * ephemeral range (32768–60999): ports there are handed to outgoing connections and to `tcp/0`
 * listeners, so a fixed port in that range can be taken between choosing it and binding it.
 */
export async function freePortBlock(from: number, size = 400): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = from + Math.floor(Math.random() * 1_500);
    let free = true;
    for (let p = base; p < base + size && free; p++) free = await bindable(p);
    if (free) return base;
  }
  throw new Error(`no block of ${size} free ports from ${from} to ${from + 1_500 + size}`);
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}
