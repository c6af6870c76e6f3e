import type { Account, Address, Chain, PublicClient, Transport, WalletClient } from "viem";
import type { PostboxAddresses } from "./addresses.js";
import {
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
   * The only address that can slash and jail, fixed for the registry's life: the disputes contract.
   * Default: the deployer, an account the local devnet and the tests control until the disputes
   * contract exists. On a real network pass the disputes contract's (predicted) address.
   */
  disputes?: Address;
  /** Receives the non-reward part of slashes; default: the deployer. */
  treasury?: Address;
}

export type DeployPostboxReturnType = PostboxAddresses;

/** Deploys the test SNT (unless a token is given), the registry and the channels; waits for each. */
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
        args.disputes ?? deployer,
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
  return {
    chainId: await publicClient.getChainId(),
    snt,
    registry: registryReceipt.contractAddress!,
    channels: channelsReceipt.contractAddress!,
    fromBlock: fromBlock ?? registryReceipt.blockNumber,
  };
}
