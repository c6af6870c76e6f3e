import {
  addressesFor,
  deployPostbox,
  disputesAbi,
  mailboxRegistryAbi,
  networkParameters,
  paymentChannelsAbi,
} from "@postbox/contracts";
import { network } from "hardhat";
import { getAddress, parseEther } from "viem";
import { describe, expect, it } from "vitest";

describe("deployPostbox", () => {
  it("deploys at the local chain's known addresses with the devnet parameters, Disputes the registry's slasher", async () => {
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
      disputes: getAddress(deployed.disputes!),
    }).toEqual({
      snt: known.snt,
      registry: known.registry,
      channels: known.channels,
      disputes: known.disputes,
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
    // The registry's only slasher is the Disputes contract deployed with it, which names it back.
    const deployer = getAddress(wallet!.account.address);
    expect(await read("disputes")).toBe(known.disputes);
    const disputes = <F extends "registry" | "bond" | "responseWindow" | "slashBps" | "jailTerm">(
      functionName: F,
    ) => publicClient.readContract({ address: deployed.disputes!, abi: disputesAbi, functionName });
    expect(getAddress(await disputes("registry"))).toBe(known.registry);
    expect(await disputes("bond")).toBe(networkParameters.local.disputeBond);
    expect(await disputes("responseWindow")).toBe(networkParameters.local.responseWindow);
    expect(await disputes("slashBps")).toBe(networkParameters.local.disputeSlashBps);
    expect(await disputes("jailTerm")).toBe(networkParameters.local.jailTerm);
    expect(await read("treasury")).toBe(deployer);
    expect(await read("defaultAdmin")).toBe(deployer);
  });

  it("with a disputes address given, deploys no Disputes and returns that address", async () => {
    const { viem } = await network.connect();
    const publicClient = await viem.getPublicClient();
    const [wallet, , , , , , , , , stand] = await viem.getWalletClients();
    const deployed = await deployPostbox({
      publicClient,
      walletClient: wallet!,
      parameters: networkParameters.local,
      initialSupply: parseEther("1"),
      disputes: stand!.account.address,
    });
    expect(getAddress(deployed.disputes!)).toBe(getAddress(stand!.account.address));
    expect(
      await publicClient.readContract({
        address: deployed.registry,
        abi: mailboxRegistryAbi,
        functionName: "disputes",
      }),
    ).toBe(getAddress(stand!.account.address));
    // Three contracts: the deployer's next nonce is 3.
    expect(await publicClient.getTransactionCount({ address: wallet!.account.address })).toBe(3);
  });
});
