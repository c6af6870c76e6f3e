import { describe, expect, it } from "vitest";
import { DEVNET_ACCOUNTS, describeDevnetRole } from "./devnet.js";

describe("the devnet accounts' roles", () => {
  it("account #0 deployed the contracts and is the disputes address that can slash and jail", () => {
    // deployPostbox makes its deployer `disputes` until the disputes contract exists (docs/contracts.md).
    const deployer = DEVNET_ACCOUNTS[0]!;
    expect(deployer.role.kind).toBe("deployer");
    expect(describeDevnetRole(deployer.role)).toBe(
      "deployed the contracts; stands in for the disputes contract (can slash and jail)",
    );
  });
});
