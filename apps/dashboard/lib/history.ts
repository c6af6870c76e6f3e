"use client";

import { mailboxRegistryAbi } from "@postbox/contracts";
import { useQuery } from "@tanstack/react-query";
import type { Address } from "viem";
import { usePublicClient } from "wagmi";
import { settings } from "./env";

export interface HistoryEntry {
  block: bigint;
  event: string;
  detail: Record<string, string>;
}

/** A mailbox's registry events (price and stake changes, exits…), oldest first. */
export function useRegistryHistory(operator: Address | undefined) {
  const client = usePublicClient();
  return useQuery({
    queryKey: ["registry-history", operator],
    enabled: !!client && !!operator,
    refetchInterval: 15_000,
    queryFn: async (): Promise<HistoryEntry[]> => {
      const logs = await client!.getContractEvents({
        address: settings.registry,
        abi: mailboxRegistryAbi,
        fromBlock: settings.fromBlock,
        toBlock: "latest",
      });
      return logs
        .filter((l) => (l.args as { operator?: string }).operator?.toLowerCase() === operator!.toLowerCase())
        .map((l) => ({
          block: l.blockNumber,
          event: l.eventName,
          detail: Object.fromEntries(
            Object.entries(l.args as Record<string, unknown>)
              .filter(([k]) => k !== "operator")
              .map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : String(v)]),
          ),
        }));
    },
  });
}

/** Buckets samples into `bucketMs` windows: share ok and median latency per window. */
export function bucket(
  samples: { at: number; ok: boolean; latencyMs: number | null }[],
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
