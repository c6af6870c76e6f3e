import type { Hex } from "viem";
import { describe, expect, it } from "vitest";
import { operatorHistory, type RegistryLog } from "./history";

process.env.TZ = "UTC";
const SNT = 10n ** 18n;
const OP = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const OTHER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const tx = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;

const log = (
  block: number,
  logIndex: number,
  eventName: string,
  args: Record<string, unknown>,
): RegistryLog => ({
  eventName,
  args,
  blockNumber: BigInt(block),
  transactionHash: tx(block),
  logIndex,
});

describe("an operator's history", () => {
  it("keeps its own events and the registry-wide treasury changes, newest first, in words", () => {
    const logs = [
      log(1, 0, "StakeAdded", { operator: OP, from: OP, amount: 1000n * SNT, stake: 1000n * SNT }),
      log(2, 0, "StakeAdded", { operator: OTHER, from: OTHER, amount: SNT, stake: SNT }),
      log(3, 0, "TreasuryScheduled", { oldTreasury: OP, newTreasury: OTHER, effectiveAt: 1_700_000_060n }),
      log(4, 0, "Slashed", {
        operator: OP.toLowerCase(),
        disputeId: `0x${"d1".repeat(32)}`,
        amount: 100n * SNT,
        reward: 50n * SNT,
        toTreasury: 50n * SNT,
        stake: 900n * SNT,
      }),
      log(4, 1, "Jailed", { operator: OP, previous: 1, until: 0n }),
      log(5, 0, "RoleGranted", { role: tx(1), account: OP, sender: OTHER }),
    ];
    const h = operatorHistory(logs, OP);
    expect(h.map((e) => [e.block, e.logIndex, e.title])).toEqual([
      [4n, 1, "Jailed"],
      [4n, 0, "Slashed"],
      [3n, 0, "Treasury change scheduled"],
      [1n, 0, "Stake added"],
    ]);
    expect(h[1]!.details).toContain("50 SNT to the treasury");
    expect(h[1]!.tx).toBe(tx(4));
  });
});
