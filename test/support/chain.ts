// The shared chain fixture of the payment and contract tests, on Hardhat's in-process chain: the
// contracts deployed, an operator registered with prices, a funded payer, and helpers to send,
// fund, register, read balances and open channels. Built on the one chain fixture of the
// repository (scripts/lib/chain.ts), with these tests' accounts and amounts.

import type { network } from "hardhat";
import { type Address, type Hex, parseEther } from "viem";
import { deployPostboxFixture, saltOf } from "../../scripts/lib/chain.ts";

type Viem = Awaited<ReturnType<typeof network.connect>>["viem"];

export const PRICE = { pricePerQuery: parseEther("0.01"), pricePerMessage: parseEther("0.0001") };

/**
 * Deploys and funds the fixture: 10,000 SNT to accounts #1–#3, #1 registered as an operator.
 * `disputes`: the registry's disputes address (default: deployPostbox's).
 */
export async function postboxChain(viem: Viem, options: { disputes?: Address } = {}) {
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const [deployer, operatorWallet, payerWallet] = wallets as [
    (typeof wallets)[0],
    (typeof wallets)[0],
    (typeof wallets)[0],
  ];
  const fixture = await deployPostboxFixture({
    publicClient,
    walletClient: deployer,
    initialSupply: parseEther("10000000"),
    fund: wallets.slice(1, 4).map((w) => w.account.address),
    fundEach: parseEther("10000"),
    ...(options.disputes ? { disputes: options.disputes } : {}),
  });
  /** Registers `wallet` as a mailbox operator (PRICE, one day's retention) at `endpoint`, staking `stake` of its SNT. */
  const register = (
    wallet: (typeof wallets)[0],
    endpoint: { peerId: string; multiaddrs: string[]; metadataURI?: string } = {
      peerId: "12D3KooWTest",
      multiaddrs: ["/ip4/127.0.0.1/tcp/1"],
    },
    stake = parseEther("1000"),
  ) => fixture.register(wallet, { ...endpoint, stake, ...PRICE, retentionSeconds: 86_400n });
  await register(operatorWallet);
  let salt = 0;
  /** Opens a channel from the payer with one approveAndCall; returns its id. */
  const openChannel = (payee: Address, signer: Address, deposit: bigint): Promise<Hex> =>
    fixture.openChannel(payerWallet, { payee, signer, deposit, salt: saltOf(++salt) });
  return {
    publicClient,
    wallets,
    deployer,
    operatorWallet,
    payerWallet,
    operator: operatorWallet.account.address,
    payer: payerWallet.account.address,
    addresses: fixture.addresses,
    send: fixture.send,
    fund: fixture.fund,
    balance: fixture.balance,
    register,
    openChannel,
  };
}
