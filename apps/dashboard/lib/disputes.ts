"use client";

import { type MailboxDispute, mailboxRegistryAbi, readMailboxDisputes } from "@postbox/contracts";
import { useQuery } from "@tanstack/react-query";
import type { Address, Hex, PublicClient } from "viem";
import { usePublicClient } from "wagmi";
import { settings } from "./env";

/** One slash of a mailbox's stake (the registry's `Slashed` event). */
export interface MailboxSlash {
  disputeId: Hex;
  amount: bigint;
  reward: bigint;
  toTreasury: bigint;
  /** The stake left. */
  stake: bigint;
  block: bigint;
  tx: Hex;
}

/**
 * The Disputes contract: the dashboard's setting (`NEXT_PUBLIC_DISPUTES`, or the chain's known
 * deployment), else the one the registry names (`registry.disputes()`, the authority). Null when
 * that address holds no contract (a test that slashes by hand).
 */
export async function disputesAddress(client: PublicClient): Promise<Address | null> {
  const address =
    settings.disputes ??
    (await client.readContract({
      address: settings.registry,
      abi: mailboxRegistryAbi,
      functionName: "disputes",
    }));
  const code = await client.getCode({ address });
  return code && code !== "0x" ? address : null;
}

/**
 * A mailbox's disputes (newest first: kind, state, challenger, envelope, bond, deadline, slashed,
 * jail term, transactions), read from the Disputes contract's events with `readMailboxDisputes`,
 * and the slashes of its stake from the registry's `Slashed` events (newest first).
 */
export function useMailboxDisputes(operator: Address | undefined) {
  const client = usePublicClient();
  return useQuery({
    queryKey: ["mailbox-disputes", operator],
    enabled: !!client && !!operator,
    refetchInterval: 15_000,
    queryFn: async () => {
      const c = client as PublicClient;
      const disputes = await disputesAddress(c);
      const [list, slashed] = await Promise.all([
        disputes
          ? readMailboxDisputes(c, { disputes, operator: operator!, fromBlock: settings.fromBlock })
          : Promise.resolve([] as MailboxDispute[]),
        c.getContractEvents({
          address: settings.registry,
          abi: mailboxRegistryAbi,
          eventName: "Slashed",
          args: { operator: operator! },
          fromBlock: settings.fromBlock,
          toBlock: "latest",
        }),
      ]);
      const slashes: MailboxSlash[] = slashed.map((l) => ({
        disputeId: l.args.disputeId!,
        amount: l.args.amount!,
        reward: l.args.reward!,
        toTreasury: l.args.toTreasury!,
        stake: l.args.stake!,
        block: l.blockNumber,
        tx: l.transactionHash,
      }));
      return { contract: disputes, disputes: [...list].reverse(), slashes: slashes.reverse() };
    },
  });
}
