// The contracts' write actions (@postbox/contracts actions.ts) on Hardhat's in-process chain: each
// request does what its name says, in one transaction, and the channel id an open reports is the
// one vouchers are signed for. The CLI, the client, the node and the dashboard send these.

import {
  addStake,
  announcePrice,
  cancelClose,
  createPostboxClients,
  mailboxRegistryAbi,
  openChannel,
  openChannelRequest,
  paymentChannelsAbi,
  registerMailbox,
  registerMailboxRequest,
  requestClose,
  requestExit,
  setRetention,
  topUpChannel,
  unjailRequest,
  updateEndpoint,
  withdrawChannel,
  withdrawStake,
} from "@postbox/contracts";
import { computeChannelId } from "@postbox/protocol";
import { network } from "hardhat";
import { decodeFunctionData, getAddress, keccak256, parseEther, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { deployPostboxFixture, hardhatKey } from "../../scripts/lib/chain.ts";

describe("contract actions", () => {
  it("register, add stake, announce a price, move, keep longer, exit and withdraw; open, top up, close, cancel the close and withdraw a channel", async () => {
    const { viem, networkHelpers } = await network.connect();
    const publicClient = await viem.getPublicClient();
    const [deployer, operatorWallet, payerWallet] = await viem.getWalletClients();
    const { addresses, balance } = await deployPostboxFixture({
      publicClient,
      walletClient: deployer!,
      initialSupply: parseEther("1000000"),
      fund: [operatorWallet!.account.address, payerWallet!.account.address],
      fundEach: parseEther("10000"),
    });
    // Checksummed, as the chain's answers are (Hardhat's wallets give lowercase addresses).
    const operator = getAddress(operatorWallet!.account.address);
    const payer = getAddress(payerWallet!.account.address);
    const asOperator = { publicClient, walletClient: operatorWallet! };
    const asPayer = { publicClient, walletClient: payerWallet! };
    const entry = () =>
      publicClient.readContract({
        address: addresses.registry,
        abi: mailboxRegistryAbi,
        functionName: "getMailbox",
        args: [operator],
      });

    const registration = {
      ...addresses,
      peerId: "12D3KooWActions",
      multiaddrs: ["/ip4/127.0.0.1/tcp/4001", "/dns4/localhost/tcp/4443/tls/ws"],
      metadataURI: "data:application/json,%7B%7D",
      stake: parseEther("1500"),
      pricePerQuery: parseEther("0.02"),
      pricePerMessage: parseEther("0.0002"),
      retentionSeconds: 7n * 86_400n,
    };
    // What wagmi's useWriteContract would send: SNT's approveAndCall with the register call inside.
    const request = registerMailboxRequest(registration);
    expect([request.address, request.functionName, request.args[0], request.args[1]]).toEqual([
      addresses.snt,
      "approveAndCall",
      addresses.registry,
      registration.stake,
    ]);
    expect(decodeFunctionData({ abi: mailboxRegistryAbi, data: request.args[2] }).functionName).toBe(
      "register",
    );
    const registered = await registerMailbox(asOperator, registration);
    expect(registered.status).toBe("success");
    expect(await balance(operator)).toBe(parseEther("8500"));
    expect(await entry()).toMatchObject({
      status: 1,
      peerId: registration.peerId,
      multiaddrs: registration.multiaddrs,
      metadataURI: registration.metadataURI,
      stake: registration.stake,
      pricePerQuery: registration.pricePerQuery,
      pricePerMessage: registration.pricePerMessage,
    });

    // Anyone may add to an operator's stake.
    await addStake(asPayer, { ...addresses, operator, amount: parseEther("10") });
    expect((await entry()).stake).toBe(parseEther("1510"));
    // A lower price applies at once.
    await announcePrice(asOperator, {
      ...addresses,
      pricePerQuery: parseEther("0.01"),
      pricePerMessage: parseEther("0.0001"),
    });
    expect(await entry()).toMatchObject({
      pricePerQuery: parseEther("0.01"),
      pricePerMessage: parseEther("0.0001"),
    });

    const session = privateKeyToAccount(keccak256(toHex("actions session key")));
    const salt = keccak256(toHex("actions salt"));
    const open = { ...addresses, payee: operator, signer: session.address, deposit: parseEther("25"), salt };
    expect(openChannelRequest(open).args[0]).toBe(addresses.channels);
    const { channelId } = await openChannel(asPayer, open);
    expect(channelId).toBe(computeChannelId({ payer, payee: operator, signer: session.address, salt }));
    const channel = () =>
      publicClient.readContract({
        address: addresses.channels,
        abi: paymentChannelsAbi,
        functionName: "getChannel",
        args: [channelId],
      });
    expect(await channel()).toMatchObject({
      payer,
      payee: operator,
      signer: session.address,
      deposit: parseEther("25"),
    });
    await topUpChannel(asPayer, { ...addresses, channelId, amount: parseEther("5") });
    expect((await channel()).deposit).toBe(parseEther("30"));
    expect(await balance(payer)).toBe(parseEther("10000") - parseEther("10") - parseEther("30"));
    await requestClose(asPayer, { ...addresses, channelId });
    expect((await channel()).closesAt).toBeGreaterThan(0);
    // Only the payer may ask: the action rejects when the transaction would revert.
    await expect(requestClose(asOperator, { ...addresses, channelId })).rejects.toThrow();
    await cancelClose(asPayer, { ...addresses, channelId });
    expect((await channel()).closesAt).toBe(0n);
    // Closed again, it can be withdrawn once the grace has passed, not before.
    await requestClose(asPayer, { ...addresses, channelId });
    await expect(withdrawChannel(asPayer, { ...addresses, channelId })).rejects.toThrow();
    await networkHelpers.time.increaseTo((await channel()).closesAt);
    const withdrawn = await withdrawChannel(asPayer, { ...addresses, channelId });
    expect(withdrawn.status).toBe("success");
    expect(await balance(payer)).toBe(parseEther("10000") - parseEther("10"));

    // The operator moves its mailbox and keeps envelopes longer.
    await updateEndpoint(asOperator, {
      ...addresses,
      peerId: "12D3KooWMoved",
      multiaddrs: ["/dns4/mbx.example.org/tcp/443/tls/ws"],
      metadataURI: "",
    });
    await setRetention(asOperator, { ...addresses, retentionSeconds: 14n * 86_400n });
    expect(await entry()).toMatchObject({
      peerId: "12D3KooWMoved",
      multiaddrs: ["/dns4/mbx.example.org/tcp/443/tls/ws"],
      metadataURI: "",
      retention: 14n * 86_400n,
    });
    // Not jailed: unjail reverts (its request is what the dashboard sends).
    await expect(
      operatorWallet!.writeContract({ ...unjailRequest(addresses), chain: operatorWallet!.chain }),
    ).rejects.toThrow();
    // It leaves: the stake stays until withdrawableAt, then comes back whole.
    await requestExit(asOperator, addresses);
    const exiting = await entry();
    expect(exiting.status).toBe(2);
    await expect(withdrawStake(asOperator, addresses)).rejects.toThrow();
    await networkHelpers.time.increaseTo(exiting.withdrawableAt);
    await withdrawStake(asOperator, addresses);
    expect(await balance(operator)).toBe(parseEther("10000") + parseEther("10"));
    expect((await entry()).stake).toBe(0n);
  });

  it("createPostboxClients sets up the chain, a public client and, with a key, a wallet", async () => {
    const none = createPostboxClients({ rpcUrl: "http://127.0.0.1:1", chainId: 10 });
    expect(none.chain).toMatchObject({
      id: 10,
      name: "chain 10",
      rpcUrls: { default: { http: ["http://127.0.0.1:1"] } },
    });
    expect(none.publicClient.chain?.id).toBe(10);
    expect(none.walletClient).toBeUndefined();
    const { walletClient, publicClient } = createPostboxClients({
      rpcUrl: "http://127.0.0.1:1",
      chainId: 31337,
      name: "Postbox devnet",
      privateKey: hardhatKey(4),
      pollingInterval: 100,
    });
    expect(walletClient!.account.address).toBe(privateKeyToAccount(hardhatKey(4)).address);
    expect(walletClient!.chain.name).toBe("Postbox devnet");
    expect(publicClient.pollingInterval).toBe(100);
  });
});
