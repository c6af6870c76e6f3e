import type { Address } from "viem";

/** Where the Postbox contracts live on one chain. */
export interface PostboxAddresses {
  chainId: number;
  snt: Address;
  registry: Address;
  channels: Address;
  /**
   * The `Disputes` contract: the registry's only slasher and jailer (`registry.disputes()`, which is
   * the authority). Absent where a program was given only the addresses it uses (the prober).
   */
  disputes?: Address;
  /** First block to read events from (the deployment block). */
  fromBlock: bigint;
}

/**
 * Deployments known in advance. The local devnet deploys from Hardhat's first funded account on a
 * fresh chain, so its addresses are deterministic; they are checked against the chain at startup.
 * Other networks are added here when deployed, or passed through configuration.
 */
export const knownDeployments: Record<number, PostboxAddresses> = {
  // Hardhat's local chain, deployed first thing by account #0 (nonces 0, 1, 2, 3) with
  // `deployPostbox`.
  31337: {
    chainId: 31337,
    snt: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    registry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    channels: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
    disputes: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
    fromBlock: 0n,
  },
};

/** The known deployment for `chainId`, or undefined. */
export function addressesFor(chainId: number): PostboxAddresses | undefined {
  return knownDeployments[chainId];
}
