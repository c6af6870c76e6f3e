"use client";

import { useQuery } from "@tanstack/react-query";
import { settings } from "./env";

/** One mailbox as the prober reports it (docs/methodology.md). */
export interface MailboxFigures {
  address: string;
  peerId: string;
  multiaddrs: string[];
  status: number;
  stake: string;
  pricePerQuery: string;
  pricePerMessage: string;
  pendingPrice: { pricePerQuery: string; pricePerMessage: string; effectiveAt: number } | null;
  registeredAt: number;
  withdrawableAt: number;
  probesOk: number;
  probesFailed: number;
  uptime24h: number | null;
  uptime7d: number | null;
  uptime30d: number | null;
  latencyP50Ms: number | null;
  latencyP90Ms: number | null;
  canariesExpected: number;
  canariesFound: number;
  completeness: number | null;
  availability: number;
  factors: { availability: number; latency: number; completeness: number; stake: number; price: number };
  score: number;
  sparkline: { at: number; uptime: number }[];
}

export interface Sample {
  at: number;
  kind: "probe" | "canary";
  ok: boolean;
  latencyMs: number | null;
  detail: string;
}

async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${settings.proberUrl}${path}`, { cache: "no-store" });
  if (!res.ok) throw new Error(`the prober answered ${res.status}`);
  return ((await res.json()) as { report: T }).report;
}

/** Every mailbox with its measured figures; refreshed every 10 s. */
export function useMailboxes() {
  return useQuery({
    queryKey: ["prober", "mailboxes"],
    queryFn: () => get<{ generatedAt: number; mailboxes: MailboxFigures[] }>("/mailboxes"),
    refetchInterval: 10_000,
  });
}

export function useSamples(address: string, fromMs: number) {
  return useQuery({
    queryKey: ["prober", "samples", address, fromMs],
    queryFn: () =>
      get<{ samples: Sample[] }>(`/mailboxes/${address}/samples?from=${fromMs}&to=${Date.now()}`),
    refetchInterval: 15_000,
  });
}
