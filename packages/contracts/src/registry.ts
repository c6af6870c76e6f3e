import type { Address, ContractFunctionReturnType, PublicClient } from "viem";
import { mailboxRegistryAbi } from "./generated/artifacts.js";

/** One registry entry, as `getMailboxes` returns it. */
export type RegistryMailbox = ContractFunctionReturnType<
  typeof mailboxRegistryAbi,
  "view",
  "getMailboxes"
>[number];

/**
 * Every mailbox in a registry, whatever its status, read `pageSize` entries per call. An entry at
 * every string limit costs about 322k gas to read, so the default page of 50 stays under 17M gas:
 * inside geth's default `eth_call` cap (50M) and the providers' usual ones.
 */
export async function readMailboxes(
  client: PublicClient,
  registry: Address,
  pageSize = 50n,
): Promise<RegistryMailbox[]> {
  const count = await client.readContract({
    address: registry,
    abi: mailboxRegistryAbi,
    functionName: "mailboxCount",
  });
  const out: RegistryMailbox[] = [];
  for (let offset = 0n; offset < count; offset += pageSize) {
    const page = await client.readContract({
      address: registry,
      abi: mailboxRegistryAbi,
      functionName: "getMailboxes",
      args: [offset, pageSize],
    });
    out.push(...page);
  }
  return out;
}
