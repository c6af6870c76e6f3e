"use client";

import { mailboxRegistryAbi, paymentChannelsAbi, readMailboxes, sntAbi } from "@postbox/contracts";
import { useQuery } from "@tanstack/react-query";
import type { Address, Hex, PublicClient } from "viem";
import { usePublicClient, useReadContract } from "wagmi";
import { settings } from "./env";
import { type DescribedEvent, describeEvent } from "./events";

/** Chain reads the pages share: registry entries, balances, a mailbox's history and earnings. */

/** Every registry entry (any status), refreshed every 10 s. */
export function useRegistryEntries() {
  const client = usePublicClient();
  return useQuery({
    queryKey: ["registry", "entries"],
    enabled: !!client,
    refetchInterval: 10_000,
    queryFn: () => readMailboxes(client as PublicClient, settings.registry),
  });
}

/** The SNT balance of an account, refreshed every 5 s. */
export function useSntBalance(account: Address | undefined) {
  return useReadContract({
    address: settings.snt,
    abi: sntAbi,
    functionName: "balanceOf",
    args: account ? [account] : undefined,
    query: { enabled: !!account, refetchInterval: 5_000 },
  });
}

/** The registry's timing and stake rules (they never change after deployment). */
export function useRegistryRules() {
  const client = usePublicClient();
  return useQuery({
    queryKey: ["registry", "rules"],
    enabled: !!client,
    staleTime: Number.POSITIVE_INFINITY,
    queryFn: async () => {
      const read = (functionName: "minStake" | "unbondingPeriod" | "priceDelay") =>
        client!.readContract({ address: settings.registry, abi: mailboxRegistryAbi, functionName });
      const [minStake, unbondingPeriod, priceDelay] = await Promise.all([
        read("minStake"),
        read("unbondingPeriod"),
        read("priceDelay"),
      ]);
      return { minStake, unbondingPeriod, priceDelay };
    },
  });
}

export interface HistoryEntry extends DescribedEvent {
  block: bigint;
  tx: Hex;
  logIndex: number;
}

/** What a mailbox earned: SNT redeemed from channels paying it, and how many channels paid. */
export interface Earnings {
  redeemed: bigint;
  payingChannels: number;
  /** Channels opened to it, paying or not. */
  channels: number;
}

/** Sums Redeemed events (amounts paid to the mailbox) and counts the channels they came from. */
export function sumEarnings(
  redeemed: readonly { channelId: Hex; amount: bigint }[],
  opened: readonly { channelId: Hex }[],
): Earnings {
  const paying = new Set(redeemed.map((r) => r.channelId));
  return {
    redeemed: redeemed.reduce((a, r) => a + r.amount, 0n),
    payingChannels: paying.size,
    channels: new Set([...opened.map((o) => o.channelId), ...paying]).size,
  };
}

/**
 * A mailbox's on-chain story: its registry events (newest first, in words) and its earnings from
 * the payment channels, where it is the payee.
 */
export function useMailboxChain(operator: Address | undefined) {
  const client = usePublicClient();
  return useQuery({
    queryKey: ["mailbox-chain", operator],
    enabled: !!client && !!operator,
    refetchInterval: 15_000,
    queryFn: async () => {
      const c = client!;
      const range = { fromBlock: settings.fromBlock, toBlock: "latest" as const };
      const [registry, redeemed, opened] = await Promise.all([
        c.getContractEvents({ address: settings.registry, abi: mailboxRegistryAbi, ...range }),
        c.getContractEvents({
          address: settings.channels,
          abi: paymentChannelsAbi,
          eventName: "Redeemed",
          args: { payee: operator },
          ...range,
        }),
        c.getContractEvents({
          address: settings.channels,
          abi: paymentChannelsAbi,
          eventName: "ChannelOpened",
          args: { payee: operator },
          ...range,
        }),
      ]);
      const mine = (l: (typeof registry)[number]) =>
        (l.args as { operator?: string }).operator?.toLowerCase() === operator!.toLowerCase();
      const history: HistoryEntry[] = registry
        .filter(mine)
        .map((l) => ({
          block: l.blockNumber,
          tx: l.transactionHash,
          logIndex: l.logIndex,
          ...describeEvent(l.eventName, l.args as Record<string, unknown>),
        }))
        .reverse();
      const earnings = sumEarnings(
        redeemed.map((l) => ({ channelId: l.args.channelId!, amount: l.args.amount! })),
        opened.map((l) => ({ channelId: l.args.channelId! })),
      );
      return { history, earnings };
    },
  });
}

/** The first block at or after `timestamp` (chain seconds), by bisection between `from` and the head. */
export async function blockAtOrAfter(client: PublicClient, timestamp: bigint, from: bigint): Promise<bigint> {
  const head = await client.getBlock({ blockTag: "latest" });
  if (head.timestamp < timestamp) return head.number + 1n;
  let lo = from;
  let hi = head.number;
  while (lo < hi) {
    const mid = (lo + hi) / 2n;
    const b = await client.getBlock({ blockNumber: mid });
    if (b.timestamp < timestamp) lo = mid + 1n;
    else hi = mid;
  }
  return lo;
}

/** The network at a glance: stake, mailboxes by status, SNT redeemed over the last 24 h. */
export function useNetworkOverview() {
  const client = usePublicClient();
  return useQuery({
    queryKey: ["network-overview"],
    enabled: !!client,
    refetchInterval: 15_000,
    queryFn: async () => {
      const c = client as PublicClient;
      const entries = await readMailboxes(c, settings.registry);
      const head = await c.getBlock({ blockTag: "latest" });
      const since = await blockAtOrAfter(c, head.timestamp - 86_400n, settings.fromBlock);
      const redeemed =
        since > head.number
          ? []
          : await c.getContractEvents({
              address: settings.channels,
              abi: paymentChannelsAbi,
              eventName: "Redeemed",
              fromBlock: since,
              toBlock: head.number,
            });
      return {
        totalStake: entries.reduce((a, e) => (e.status === 0 ? a : a + e.stake), 0n),
        active: entries.filter((e) => e.status === 1).length,
        exiting: entries.filter((e) => e.status === 2).length,
        jailed: entries.filter((e) => e.status === 3).length,
        redeemed24h: redeemed.reduce((a, l) => a + (l.args.amount ?? 0n), 0n),
        payments24h: redeemed.length,
      };
    },
  });
}
