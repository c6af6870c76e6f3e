import { network } from "hardhat";
import { describe, expect, it } from "vitest";

describe("Probe", () => {
  it("increments on a simulated chain", async () => {
    const { viem } = await network.connect();
    const probe = await viem.deployContract("Probe");
    await probe.write.inc();
    expect(await probe.read.x()).toBe(1n);
  });
});
