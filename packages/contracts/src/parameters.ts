import { parseEther } from "viem";

/** Constructor parameters of the registry and the channels for one network. */
export interface NetworkParameters {
  /** Least stake a registration needs (SNT base units). */
  minStake: bigint;
  /** Seconds between `requestExit` and `withdrawStake`. */
  unbondingPeriod: bigint;
  /** Seconds before a price increase applies. */
  priceDelay: bigint;
  /** Largest share of a stake one slash may take, in basis points. */
  maxSlashBps: bigint;
  /** Share of a slash paid to the beneficiary, in basis points. */
  slashBeneficiaryBps: bigint;
  /** Seconds the payee keeps to redeem after a close request (≥ 24 h on real networks). */
  closeGrace: bigint;
}

/**
 * Parameters per chain id. The local devnet (31337) uses seconds-to-minutes delays so that every
 * timing rule can be watched in a demo; real networks use days.
 */
export const networkParameters = {
  local: {
    minStake: parseEther("1000"),
    unbondingPeriod: 120n,
    priceDelay: 60n,
    maxSlashBps: 1_000n,
    slashBeneficiaryBps: 5_000n,
    closeGrace: 120n,
  },
  production: {
    minStake: parseEther("10000"),
    unbondingPeriod: 14n * 24n * 3600n,
    priceDelay: 24n * 3600n,
    maxSlashBps: 1_000n,
    slashBeneficiaryBps: 5_000n,
    closeGrace: 24n * 3600n,
  },
} as const satisfies Record<string, NetworkParameters>;
