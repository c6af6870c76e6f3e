import {
  addressesFor,
  deployPostbox,
  mailboxRegistryAbi,
  networkParameters,
  paymentChannelsAbi,
} from "@postbox/contracts";
import { network } from "hardhat";
import { getAddress, parseEther } from "viem";
import { describe, expect, it } from "vitest";

describe("deployPostbox", () => {
  it("deploys at the local chain's known addresses with the devnet parameters", async () => {
    const { viem } = await network.connect();
    const publicClient = await viem.getPublicClient();
    const [wallet] = await viem.getWalletClients();
    const deployed = await deployPostbox({
      publicClient,
      walletClient: wallet!,
      parameters: networkParameters.local,
      initialSupply: parseEther("1"),
    });
    const known = addressesFor(31337)!;
    expect({
      snt: getAddress(deployed.snt),
      registry: getAddress(deployed.registry),
      channels: getAddress(deployed.channels),
    }).toEqual({
      snt: known.snt,
      registry: known.registry,
      channels: known.channels,
    });
    const closeGrace = await publicClient.readContract({
      address: deployed.channels,
      abi: paymentChannelsAbi,
      functionName: "closeGrace",
    });
    expect(closeGrace).toBe(networkParameters.local.closeGrace);
    const priceDelay = await publicClient.readContract({
      address: deployed.registry,
      abi: mailboxRegistryAbi,
      functionName: "priceDelay",
    });
    expect(priceDelay).toBe(networkParameters.local.priceDelay);
    const read = <
      F extends
        | "slashPeriod"
        | "slashRewardBps"
        | "defaultAdminDelay"
        | "disputes"
        | "treasury"
        | "defaultAdmin",
    >(
      functionName: F,
    ) => publicClient.readContract({ address: deployed.registry, abi: mailboxRegistryAbi, functionName });
    expect(await read("slashPeriod")).toBe(networkParameters.local.slashPeriod);
    expect(await read("slashRewardBps")).toBe(networkParameters.local.slashRewardBps);
    expect(BigInt(await read("defaultAdminDelay"))).toBe(networkParameters.local.adminDelay);
    // Until the disputes contract exists, the deployer (an account the devnet's tests hold) stands in.
    const deployer = getAddress(wallet!.account.address);
    expect(await read("disputes")).toBe(deployer);
    expect(await read("treasury")).toBe(deployer);
    expect(await read("defaultAdmin")).toBe(deployer);
  });
});
