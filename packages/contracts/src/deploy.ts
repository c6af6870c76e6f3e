import {
  type Account,
  type Address,
  type Chain,
  getAddress,
  getContractAddress,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import type { PostboxAddresses } from "./addresses.js";
import {
  disputesAbi,
  disputesBytecode,
  mailboxRegistryAbi,
  mailboxRegistryBytecode,
  paymentChannelsAbi,
  paymentChannelsBytecode,
  sntAbi,
  sntBytecode,
} from "./generated/artifacts.js";
import type { NetworkParameters } from "./parameters.js";

export interface DeployPostboxParameters {
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain, Account>;
  parameters: NetworkParameters;
  /** An existing token (the real SNT). When absent, the test SNT is deployed (local chains only). */
  token?: Address;
  /** Initial test SNT supply minted to the deployer (ignored with `token`). */
  initialSupply?: bigint;
  /** The registry's admin (it can only schedule a new treasury, after `adminDelay`); default: the deployer. */
  admin?: Address;
  /**
   * The only address that can slash and jail, fixed for the registry's life. Default: a `Disputes`
   * contract deployed here, after the channels, at the address the registry was given for it (the
   * deployer's nonce after the channels'), with the parameters' `disputeBond`, `responseWindow`,
   * `disputeSlashBps` and `jailTerm`. Given, nothing more is deployed and this address is returned
   * as `disputes`: tests that slash and jail by hand pass an account they hold.
   */
  disputes?: Address;
  /** Receives the non-reward part of slashes; default: the deployer. */
  treasury?: Address;
}

/** The deployment's addresses (`disputes` always set). */
export type DeployPostboxReturnType = PostboxAddresses;

/**
 * Deploys the test SNT (unless a token is given), the registry, the channels and (unless `disputes`
 * is given) the disputes contract, in that order; waits for each.
 */
export async function deployPostbox(args: DeployPostboxParameters): Promise<DeployPostboxReturnType> {
  const { publicClient, walletClient, parameters: p } = args;
  const deployer = walletClient.account.address;
  const deploy = async (hash: `0x${string}`) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (!receipt.contractAddress || receipt.status !== "success") {
      throw new Error(`deployment transaction ${hash} failed`);
    }
    return receipt;
  };
  let snt = args.token;
  let fromBlock: bigint | undefined;
  if (!snt) {
    const r = await deploy(
      await walletClient.deployContract({
        abi: sntAbi,
        bytecode: sntBytecode,
        args: [deployer, args.initialSupply ?? 0n],
      }),
    );
    snt = r.contractAddress!;
    fromBlock = r.blockNumber;
  }
  // The registry names the disputes contract before it exists: the deployer's next nonces go to the
  // registry, the channels, then Disputes (whose constructor refuses a registry naming another address).
  const predicted =
    args.disputes ??
    getContractAddress({
      from: deployer,
      nonce: BigInt((await publicClient.getTransactionCount({ address: deployer, blockTag: "pending" })) + 2),
    });
  const registryReceipt = await deploy(
    await walletClient.deployContract({
      abi: mailboxRegistryAbi,
      bytecode: mailboxRegistryBytecode,
      args: [
        snt,
        p.minStake,
        p.unbondingPeriod,
        p.priceDelay,
        p.maxSlashBps,
        p.slashPeriod,
        p.slashRewardBps,
        predicted,
        args.treasury ?? deployer,
        args.admin ?? deployer,
        Number(p.adminDelay),
      ],
    }),
  );
  const channelsReceipt = await deploy(
    await walletClient.deployContract({
      abi: paymentChannelsAbi,
      bytecode: paymentChannelsBytecode,
      args: [snt, p.closeGrace],
    }),
  );
  const registry = registryReceipt.contractAddress!;
  if (!args.disputes) {
    const r = await deploy(
      await walletClient.deployContract({
        abi: disputesAbi,
        bytecode: disputesBytecode,
        args: [registry, p.disputeBond, p.responseWindow, p.disputeSlashBps, p.jailTerm],
      }),
    );
    if (getAddress(r.contractAddress!) !== getAddress(predicted))
      throw new Error(
        `Disputes deployed at ${r.contractAddress}, not at ${predicted} that the registry names`,
      );
  }
  return {
    chainId: await publicClient.getChainId(),
    snt,
    registry,
    channels: channelsReceipt.contractAddress!,
    disputes: getAddress(predicted),
    fromBlock: fromBlock ?? registryReceipt.blockNumber,
  };
}
