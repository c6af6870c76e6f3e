import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Blocks handed out on this machine: a file `BASE-SIZE.PID` each, kept while the process lives.
 * Test files run in parallel and their bands overlap; a block that is free now may still be
 * claimed by another file whose servers have not started yet, and the file says so.
 */
const RESERVED = join(tmpdir(), "postbox-ports");
const LOCK = join(RESERVED, ".lock");
/** A reservation older than this is let go: a test worker process runs file after file. */
const MAX_HOLD_MS = 10 * 60_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The blocks held on this machine, as [from, to) ranges (stale files are removed). */
function reserved(): [number, number][] {
  const out: [number, number][] = [];
  for (const name of readdirSync(RESERVED)) {
    const m = /^(\d+)-(\d+)\.(\d+)$/.exec(name);
    if (!m) continue;
    const [base, size, pid] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const at = statSync(join(RESERVED, name), { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (!alive(pid) || Date.now() - at > MAX_HOLD_MS) rmSync(join(RESERVED, name), { force: true });
    else out.push([base, base + size]);
  }
  return out;
}

/** Runs `fn` holding the machine-wide lock on the reservations (a folder; stale after 30 s). */
async function locked<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(RESERVED, { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      const held = statSync(LOCK, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 30_000) rmSync(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * A block of `size` consecutive TCP ports on 127.0.0.1 that are all free right now and not
 * reserved by a process of this machine (this one included), starting at a random base in `[from, from + 1_500)`;
 * it stays reserved until this process exits, or for 10 minutes.
 *
 * Test files that run at the same time each take their own band, all below Linux's ephemeral range
 * (32768–60999): ports there are handed to outgoing connections and to `tcp/0` listeners, so a
 * fixed port in that range can be taken between choosing it and binding it.
 */
export function freePortBlock(from: number, size = 400): Promise<number> {
  return locked(async () => {
    const others = reserved();
    // Reservations are respected for 50 tries; past them (a band crowded with reservations of
    // finished files), a block that is free is taken anyway, as before reservations existed.
    for (let attempt = 0; attempt < 100; attempt++) {
      const base = from + Math.floor(Math.random() * 1_500);
      if (attempt < 50 && others.some(([a, b]) => base < b && a < base + size)) continue;
      let free = true;
      for (let p = base; p < base + size && free; p++) free = await bindable(p);
      if (free) {
        writeFileSync(join(RESERVED, `${base}-${size}.${process.pid}`), "");
        return base;
      }
    }
    throw new Error(`no block of ${size} free ports from ${from} to ${from + 1_500 + size}`);
  });
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}
