import { parseEther } from "viem";

/** Constructor parameters of the registry, the channels and the disputes contract for one network. */
export interface NetworkParameters {
  /** Least stake a registration needs (SNT base units); below it after a slash an entry is not Active. */
  minStake: bigint;
  /** Seconds between `requestExit` and `withdrawStake`; also the longest jail term (≤ 365 days). */
  unbondingPeriod: bigint;
  /** Seconds before a price increase applies (1 s … `unbondingPeriod`). */
  priceDelay: bigint;
  /** Largest share of a stake slashed per slash period, in basis points, however many slashes. */
  maxSlashBps: bigint;
  /** Seconds of one slash period (≤ 365 days). */
  slashPeriod: bigint;
  /** Share of a slash paid to the disputes contract (for the challenger), in basis points. */
  slashRewardBps: bigint;
  /** Seconds the payee keeps to redeem after a close request (1 min … 365 days; ≥ 24 h on real networks). */
  closeGrace: bigint;
  /** Seconds an admin transfer and a treasury change wait (≤ 365 days). */
  adminDelay: bigint;
  /** `Disputes`: SNT a custody dispute locks (base units, 1 … 2^96 − 1). */
  disputeBond: bigint;
  /** `Disputes`: seconds a mailbox has to answer a custody dispute (1 s … below `unbondingPeriod`). */
  responseWindow: bigint;
  /** `Disputes`: share of the stake an upheld dispute slashes, in basis points (capped per period by `maxSlashBps`). */
  disputeSlashBps: bigint;
  /** `Disputes`: seconds an upheld dispute jails the operator (0 … `unbondingPeriod`). */
  jailTerm: bigint;
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
    slashPeriod: 120n,
    slashRewardBps: 5_000n,
    closeGrace: 120n,
    adminDelay: 60n,
    disputeBond: parseEther("10"),
    responseWindow: 30n,
    disputeSlashBps: 1_000n,
    jailTerm: 30n,
  },
  production: {
    minStake: parseEther("10000"),
    unbondingPeriod: 14n * 24n * 3600n,
    priceDelay: 24n * 3600n,
    maxSlashBps: 1_000n,
    slashPeriod: 14n * 24n * 3600n,
    slashRewardBps: 5_000n,
    closeGrace: 24n * 3600n,
    adminDelay: 7n * 24n * 3600n,
    // Not chosen yet for a real network (docs/contracts.md, "Disputes"): placeholders within the rules.
    disputeBond: parseEther("100"),
    responseWindow: 24n * 3600n,
    disputeSlashBps: 1_000n,
    jailTerm: 7n * 24n * 3600n,
  },
} as const satisfies Record<string, NetworkParameters>;
