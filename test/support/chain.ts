// The shared chain fixture of the payment and contract tests: the contracts deployed on Hardhat's
// in-process chain, an operator registered with prices, a funded payer, and helpers to send, fund,
// register, read balances and open channels.

import {
  deployPostbox,
  mailboxRegistryAbi,
  networkParameters,
  paymentChannelsAbi,
  sntAbi,
} from "@postbox/contracts";
import { computeChannelId } from "@postbox/protocol";
import type { network } from "hardhat";
import { type Address, encodeFunctionData, type Hex, pad, parseEther, toHex } from "viem";
import { expect } from "vitest";

type Viem = Awaited<ReturnType<typeof network.connect>>["viem"];

export const PRICE = { pricePerQuery: parseEther("0.01"), pricePerMessage: parseEther("0.0001") };

/**
 * Deploys and funds the fixture. `disputes`: the registry's disputes address (default: the
 * deployer, as on the devnet).
 */
export async function postboxChain(viem: Viem, options: { disputes?: Address } = {}) {
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const [deployer, operatorWallet, payerWallet] = wallets as [
    (typeof wallets)[0],
    (typeof wallets)[0],
    (typeof wallets)[0],
  ];
  const addresses = await deployPostbox({
    publicClient,
    walletClient: deployer,
    parameters: networkParameters.local,
    initialSupply: parseEther("10000000"),
    ...(options.disputes ? { disputes: options.disputes } : {}),
  });
  const send = async (wallet: (typeof wallets)[0], to: Address, data: Hex) => {
    const receipt = await publicClient.waitForTransactionReceipt({
      hash: await wallet.sendTransaction({ to, data }),
    });
    expect(receipt.status).toBe("success");
    return receipt;
  };
  /** Sends `amount` SNT from the deployer to `to`. */
  const fund = (to: Address, amount: bigint) =>
    send(
      deployer,
      addresses.snt,
      encodeFunctionData({ abi: sntAbi, functionName: "transfer", args: [to, amount] }),
    );
  /** `who`'s SNT balance. */
  const balance = (who: Address) =>
    publicClient.readContract({
      address: addresses.snt,
      abi: sntAbi,
      functionName: "balanceOf",
      args: [who],
    });
  for (const w of wallets.slice(1, 4)) await fund(w.account.address, parseEther("10000"));
  /** Registers `wallet` as a mailbox operator (PRICE, one day's retention) at `endpoint`, staking `stake` of its SNT. */
  const register = async (
    wallet: (typeof wallets)[0],
    endpoint: { peerId: string; multiaddrs: string[]; metadataURI?: string } = {
      peerId: "12D3KooWTest",
      multiaddrs: ["/ip4/127.0.0.1/tcp/1"],
    },
    stake = parseEther("1000"),
  ) =>
    send(
      wallet,
      addresses.snt,
      encodeFunctionData({
        abi: sntAbi,
        functionName: "approveAndCall",
        args: [
          addresses.registry,
          stake,
          encodeFunctionData({
            abi: mailboxRegistryAbi,
            functionName: "register",
            args: [
              endpoint.peerId,
              endpoint.multiaddrs,
              endpoint.metadataURI ?? "",
              0n,
              PRICE.pricePerQuery,
              PRICE.pricePerMessage,
              86_400n,
            ],
          }),
        ],
      }),
    );
  await register(operatorWallet);
  let salt = 0;
  /** Opens a channel from the payer with one approveAndCall; returns its id. */
  const openChannel = async (payee: Address, signer: Address, deposit: bigint): Promise<Hex> => {
    const s = pad(toHex(++salt), { size: 32 });
    await send(
      payerWallet,
      addresses.snt,
      encodeFunctionData({
        abi: sntAbi,
        functionName: "approveAndCall",
        args: [
          addresses.channels,
          deposit,
          encodeFunctionData({ abi: paymentChannelsAbi, functionName: "open", args: [payee, signer, 0n, s] }),
        ],
      }),
    );
    return computeChannelId({ payer: payerWallet.account.address, payee, signer, salt: s });
  };
  return {
    publicClient,
    wallets,
    deployer,
    operatorWallet,
    payerWallet,
    operator: operatorWallet.account.address,
    payer: payerWallet.account.address,
    addresses,
    send,
    fund,
    balance,
    register,
    openChannel,
  };
}
