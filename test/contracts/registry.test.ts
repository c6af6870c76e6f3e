// The registry over viem on Hardhat's simulated chain: what the bounded endpoint strings cost a
// reader (a worst-case page must stay inside an eth_call's gas budget), and who can take a stake
// (the disputes address only, capped per period; never the admin).

import { mailboxRegistryAbi, networkParameters, readMailboxes } from "@postbox/contracts";
import { network } from "hardhat";
import { encodeFunctionData, getAddress, keccak256, parseEther, toHex } from "viem";
import { describe, expect, it } from "vitest";
import { postboxChain } from "../support/chain.js";

/** The fixture with a disputes address of its own (wallet 9), apart from the admin (the deployer). */
async function chain() {
  const { viem, networkHelpers } = await network.connect();
  const disputes = (await viem.getWalletClients())[9]!;
  const fixture = await postboxChain(viem, { disputes: disputes.account.address });
  const call = (account: typeof disputes, data: `0x${string}`) =>
    fixture.publicClient.call({ account: account.account, to: fixture.addresses.registry, data });
  return { ...fixture, networkHelpers, disputes, call };
}

describe("registry: bounded endpoint strings", () => {
  it("a page of worst-case entries stays inside an eth_call gas budget, and readMailboxes reads them all", async () => {
    const { publicClient, wallets, operatorWallet, addresses, fund, register } = await chain();
    const limits = await Promise.all(
      (["MAX_PEER_ID_BYTES", "MAX_MULTIADDRS", "MAX_MULTIADDR_BYTES", "MAX_METADATA_URI_BYTES"] as const).map(
        (functionName) =>
          publicClient.readContract({ address: addresses.registry, abi: mailboxRegistryAbi, functionName }),
      ),
    );
    expect(limits).toEqual([128n, 8n, 256n, 2048n]);
    const worst = {
      peerId: "p".repeat(128),
      multiaddrs: Array.from({ length: 8 }, (_, i) => String.fromCharCode(97 + i).repeat(256)),
      metadataURI: "m".repeat(2048),
    };
    const operators = wallets.slice(2, 8);
    for (const w of operators) {
      await fund(w.account.address, parseEther("1000"));
      await register(w, worst);
    }
    // Entry 0 is the fixture's own small one; entries 1… are worst cases.
    const cost = async (n: number) =>
      publicClient.estimateGas({
        to: addresses.registry,
        data: encodeFunctionData({
          abi: mailboxRegistryAbi,
          functionName: "getMailboxes",
          args: [1n, BigInt(n)],
        }),
      });
    const perEntry = Number((await cost(operators.length)) - (await cost(1))) / (operators.length - 1);
    // Cold reads of ~4.2 KB of strings per entry: about 322k gas. readMailboxes' default page of 50
    // then costs under 17M gas, inside geth's default eth_call cap (50M) and any provider's we know.
    expect(perEntry).toBeLessThan(340_000);
    expect(perEntry * 50).toBeLessThan(17_000_000);
    const all = await readMailboxes(publicClient, addresses.registry);
    expect(all.map((m) => m.operator)).toEqual(
      [operatorWallet, ...operators].map((w) => getAddress(w.account.address)),
    );
    expect(all[1]!.multiaddrs).toEqual(worst.multiaddrs);
    expect(all[1]!.metadataURI).toBe(worst.metadataURI);
  });

  it("refuses a string over its limit with a typed error", async () => {
    const { publicClient, wallets, addresses } = await chain();
    await expect(
      publicClient.simulateContract({
        account: wallets[3]!.account,
        address: addresses.registry,
        abi: mailboxRegistryAbi,
        functionName: "register",
        args: ["12D3KooWTest", ["/ip4/127.0.0.1/tcp/1"], "m".repeat(2049), 0n, 1n, 1n, 86_400n],
      }),
    ).rejects.toThrow(
      /MailboxRegistryStringTooLong\(string field, uint256 length, uint256 max\)[\s\S]*metadataURI, 2049, 2048/,
    );
  });
});

describe("registry: who can take a stake", () => {
  it("only the disputes address slashes, at most maxSlashBps per period; the admin cannot, and jail is bounded", async () => {
    const {
      publicClient,
      networkHelpers,
      wallets,
      deployer,
      disputes,
      addresses,
      send,
      fund,
      balance,
      register,
      call,
    } = await chain();
    const operator = wallets[4]!;
    const stake = parseEther("10000");
    await fund(operator.account.address, stake);
    await register(operator, { peerId: "12D3KooWTest", multiaddrs: ["/ip4/127.0.0.1/tcp/1"] }, stake);
    const read = () =>
      publicClient.readContract({
        address: addresses.registry,
        abi: mailboxRegistryAbi,
        functionName: "getMailbox",
        args: [operator.account.address],
      });
    expect(
      await publicClient.readContract({
        address: addresses.registry,
        abi: mailboxRegistryAbi,
        functionName: "disputes",
      }),
    ).toBe(getAddress(disputes.account.address));
    const slash = (amount: bigint, dispute: string) =>
      encodeFunctionData({
        abi: mailboxRegistryAbi,
        functionName: "slash",
        args: [operator.account.address, amount, keccak256(toHex(dispute))],
      });

    // The admin (the deployer) cannot slash, whatever role it grants itself.
    await send(
      deployer,
      addresses.registry,
      encodeFunctionData({
        abi: mailboxRegistryAbi,
        functionName: "grantRole",
        args: [keccak256(toHex("SLASHER_ROLE")), deployer.account.address],
      }),
    );
    await expect(call(deployer, slash(1n, "admin"))).rejects.toThrow(/MailboxRegistryNotDisputes/);

    // The disputes address takes 10 % in one call, then nothing more in the same period.
    await send(disputes, addresses.registry, slash(stake / 10n, "first"));
    expect((await read()).stake).toBe(stake - stake / 10n);
    await expect(call(disputes, slash(1n, "second"))).rejects.toThrow(/MailboxRegistrySlashTooLarge/);
    expect(await balance(disputes.account.address)).toBe(stake / 20n); // the reward share, for the challenger

    // A jail term longer than the unbonding period is refused; a jailed operator still leaves.
    const now = BigInt((await publicClient.getBlock()).timestamp);
    const jail = (until: bigint) =>
      encodeFunctionData({
        abi: mailboxRegistryAbi,
        functionName: "jail",
        args: [operator.account.address, until],
      });
    await expect(call(disputes, jail(now + networkParameters.local.unbondingPeriod + 10n))).rejects.toThrow(
      /MailboxRegistryInvalidJailTerm/,
    );
    await send(disputes, addresses.registry, jail(now + 60n));
    expect((await read()).status).toBe(3);
    await send(
      operator,
      addresses.registry,
      encodeFunctionData({ abi: mailboxRegistryAbi, functionName: "requestExit" }),
    );
    // Withdrawable after the operator's last promise (its retention from the exit) plus unbonding.
    const { withdrawableAt } = await read();
    await networkHelpers.time.increaseTo(withdrawableAt);
    const before = await balance(operator.account.address);
    await send(
      operator,
      addresses.registry,
      encodeFunctionData({ abi: mailboxRegistryAbi, functionName: "withdrawStake" }),
    );
    expect((await balance(operator.account.address)) - before).toBe(stake - stake / 10n);
  });
});
