import type { SampleReport } from "@postbox/protocol";
import type { Hex } from "viem";
import type { HistoryEntry } from "./chain";
import { describeEvent } from "./events";

/** Buckets samples into `bucketMs` windows: share ok and median latency per window. */
export function bucket(
  samples: readonly Pick<SampleReport, "at" | "ok" | "latencyMs">[],
  bucketMs: number,
): { at: number; uptime: number; latencyMs: number | null }[] {
  const groups = new Map<number, { ok: number; n: number; lat: number[] }>();
  for (const s of samples) {
    const b = Math.floor(s.at / bucketMs) * bucketMs;
    const g = groups.get(b) ?? { ok: 0, n: 0, lat: [] };
    g.n++;
    if (s.ok) g.ok++;
    if (s.latencyMs !== null) g.lat.push(s.latencyMs);
    groups.set(b, g);
  }
  return [...groups.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([at, g]) => {
      const lat = g.lat.sort((x, y) => x - y);
      return { at, uptime: g.ok / g.n, latencyMs: lat.length ? lat[Math.floor(lat.length / 2)]! : null };
    });
}

/**
 * Registry events that name no operator but concern every one: a new treasury receives the
 * non-reward part of every later slash.
 */
export const REGISTRY_WIDE_EVENTS: ReadonlySet<string> = new Set(["TreasuryScheduled"]);

/** A registry log as viem's getContractEvents returns it (the fields a history needs). */
export interface RegistryLog {
  eventName: string;
  args: unknown;
  blockNumber: bigint;
  transactionHash: Hex;
  logIndex: number;
}

/**
 * An operator's history, newest first, in words: the registry's events about its entry (slashes
 * with their dispute, reward and treasury share, jail terms, …) and the registry-wide ones that
 * bear on its stake ({@link REGISTRY_WIDE_EVENTS}).
 */
export function operatorHistory(logs: readonly RegistryLog[], operator: string): HistoryEntry[] {
  const me = operator.toLowerCase();
  return logs
    .filter((l) => {
      const named = (l.args as { operator?: unknown } | undefined)?.operator;
      return typeof named === "string" ? named.toLowerCase() === me : REGISTRY_WIDE_EVENTS.has(l.eventName);
    })
    .map((l) => ({
      block: l.blockNumber,
      tx: l.transactionHash,
      logIndex: l.logIndex,
      ...describeEvent(l.eventName, (l.args ?? {}) as Record<string, unknown>),
    }))
    .sort((a, b) => (a.block === b.block ? b.logIndex - a.logIndex : a.block < b.block ? 1 : -1));
}
