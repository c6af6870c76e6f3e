import { describe, expect, it } from "vitest";
import { DEVNET_ACCOUNTS, describeDevnetRole } from "./devnet.js";

describe("the devnet accounts' roles", () => {
  it("account #0 deployed the contracts; it cannot slash (deployPostbox deploys Disputes for that)", () => {
    const deployer = DEVNET_ACCOUNTS[0]!;
    expect(deployer.role.kind).toBe("deployer");
    expect(describeDevnetRole(deployer.role)).toBe("deployed the contracts and funded the others");
  });
});
