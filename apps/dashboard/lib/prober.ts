"use client";

import type { MailboxReport, SampleReport } from "@postbox/protocol";
import { useQuery } from "@tanstack/react-query";
import { settings } from "./env";

export type MailboxFigures = MailboxReport;
export type Sample = SampleReport;

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
