// The local chain fixture, written once: a Hardhat chain (`hardhat node` over JSON-RPC, or Hardhat's
// in-process chain through its viem plugin), the Postbox contracts deployed, SNT sent to the
// accounts that need it, mailboxes registered and channels opened, each in one transaction.
// The devnet (scripts/lib/devnet.ts), the paid benchmark, the gas report and the tests
// (test/support/chain.ts and the end-to-end tests) all build on it; each says its own ports,
// accounts and amounts.

import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";
import {
  DEVNET_KEYS,
  deployPostbox,
  type NetworkParameters,
  networkParameters,
  openChannel,
  type PostboxAddresses,
  type RegisterMailboxParameters,
  registerMailbox,
  sntAbi,
} from "@postbox/contracts";
import {
  type Account,
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  type Hex,
  http,
  type PublicClient,
  pad,
  type TransactionReceipt,
  type Transport,
  toHex,
  type WalletClient,
} from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";

const ROOT = resolve(import.meta.dirname, "..", "..");

/** Hardhat's well-known development mnemonic (public test keys; never use them on a real network). */
export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

/** The private key of Hardhat's development account `i` (#0 deploys; #0…#7 are `DEVNET_KEYS`). */
export function hardhatKey(i: number): Hex {
  const known = DEVNET_KEYS[i];
  if (known) return known;
  return toHex(mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: i }).getHdKey().privateKey!);
}

/** A wallet client of Hardhat's development account `i` on the chain at `rpc`. */
export function hardhatWallet(rpc: string, i: number) {
  return createWalletClient({
    chain: hardhat,
    transport: http(rpc),
    account: privateKeyToAccount(hardhatKey(i)),
  });
}

/** A public client of the chain at `rpc` that notices a new block within 100 ms. */
export function hardhatPublicClient(rpc: string): PublicClient {
  return createPublicClient({ chain: hardhat, transport: http(rpc), pollingInterval: 100 }) as PublicClient;
}

export interface SpawnHardhatNodeOptions {
  /** Where the chain's standard error goes (default: nowhere); its standard output is never kept. */
  stderr?: "ignore" | "inherit";
  /** In its own process group (the devnet stops its children itself, in order). */
  detached?: boolean;
}

/**
 * Starts `hardhat node` on 127.0.0.1:`port` (the `node` network of hardhat.config.ts: a block on
 * every transaction and an empty one every 5 s). Not yet answering: see {@link waitForChain}.
 */
export function spawnHardhatNode(port: number, options: SpawnHardhatNodeOptions = {}): ChildProcess {
  return spawn(
    join(ROOT, "node_modules", ".bin", "hardhat"),
    ["node", "--hostname", "127.0.0.1", "--port", String(port)],
    {
      cwd: ROOT,
      stdio: ["ignore", "ignore", options.stderr ?? "ignore"],
      detached: options.detached ?? false,
    },
  );
}

/**
 * Resolves once the chain answers `eth_chainId`; rejects at once when `child` exits first (naming
 * the port, which is the usual reason), and after `timeoutMs`.
 */
export async function waitForChain(
  publicClient: PublicClient,
  child: ChildProcess,
  options: { port: number; timeoutMs?: number; signal?: AbortSignal },
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const until = Date.now() + timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `the chain exited (${child.exitCode ?? child.signalCode}); is port ${options.port} in use?`,
      );
    try {
      await publicClient.getChainId();
      return;
    } catch {
      // not yet listening
    }
    if (Date.now() > until)
      throw new Error(`the chain on ${options.port} did not come up within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface HardhatNode {
  port: number;
  rpc: string;
  process: ChildProcess;
  publicClient: PublicClient;
  /** Hardhat's development account `i` as a wallet on this chain. */
  wallet(i: number): ReturnType<typeof hardhatWallet>;
  /** SIGKILLs the chain (it keeps nothing) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * A fresh `hardhat node` on `port`, answering; killed when this process exits if not before
 * (`stop`).
 */
export async function startHardhatNode(
  port: number,
  options: SpawnHardhatNodeOptions & { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<HardhatNode> {
  const child = spawnHardhatNode(port, options);
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  const rpc = `http://127.0.0.1:${port}`;
  const publicClient = hardhatPublicClient(rpc);
  const stop = async () => {
    process.off("exit", kill);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    kill();
    await exited;
  };
  try {
    await waitForChain(publicClient, child, { port, ...options });
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, rpc, process: child, publicClient, wallet: (i) => hardhatWallet(rpc, i), stop };
}

/** A wallet client with its account (a `hardhat node` wallet, or one of Hardhat's viem plugin). */
export type FixtureWallet = WalletClient<Transport, Chain | undefined, Account>;

/** Where a mailbox is reached and what it charges, as {@link PostboxFixture.register} lists it. */
export type RegisterOptions = Omit<RegisterMailboxParameters, "snt" | "registry">;

export interface PostboxFixtureOptions {
  publicClient: PublicClient;
  /**
   * The deployer: deploys the contracts and sends the SNT. On a fresh chain with Hardhat's account
   * #0 that has sent nothing yet, the addresses are `knownDeployments[31337]`'s.
   */
  walletClient: WalletClient<Transport, Chain, Account>;
  /** Test SNT minted to the deployer. */
  initialSupply: bigint;
  /** Accounts that get `fundEach` SNT from the deployer, one transfer each, in order. */
  fund?: readonly Address[];
  fundEach?: bigint;
  /** The registry's disputes address (default: deployPostbox's). */
  disputes?: Address;
  parameters?: NetworkParameters;
}

export interface PostboxFixture {
  publicClient: PublicClient;
  addresses: PostboxAddresses;
  /** Sends `data` to `to` from `wallet`; resolves with the receipt, rejects when it reverted. */
  send(wallet: FixtureWallet, to: Address, data: Hex): Promise<TransactionReceipt>;
  /** Sends `amount` SNT from the deployer to `to`. */
  fund(to: Address, amount: bigint): Promise<TransactionReceipt>;
  /** `who`'s SNT balance. */
  balance(who: Address): Promise<bigint>;
  /** Registers `wallet` as a mailbox operator in one transaction (SNT approveAndCall into the registry). */
  register(wallet: FixtureWallet, options: RegisterOptions): Promise<TransactionReceipt>;
  /**
   * Opens a channel from `wallet` in one transaction (approveAndCall into the channels, `deposit`
   * moved); resolves with its id.
   */
  openChannel(
    wallet: FixtureWallet,
    options: { payee: Address; signer: Address; deposit: bigint; salt: Hex },
  ): Promise<Hex>;
}

/** A 32-byte channel salt from a counter. */
export const saltOf = (n: number): Hex => pad(toHex(n), { size: 32 });

/** Deploys the contracts on a chain, sends SNT to `fund`, and returns the helpers on them. */
export async function deployPostboxFixture(options: PostboxFixtureOptions): Promise<PostboxFixture> {
  const { publicClient, walletClient: deployer } = options;
  const addresses = await deployPostbox({
    publicClient,
    walletClient: deployer,
    parameters: options.parameters ?? networkParameters.local,
    initialSupply: options.initialSupply,
    ...(options.disputes ? { disputes: options.disputes } : {}),
  });
  const send = async (wallet: FixtureWallet, to: Address, data: Hex) => {
    const hash = await wallet.sendTransaction({ to, data, chain: wallet.chain ?? null });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
    return receipt;
  };
  const fund = (to: Address, amount: bigint) =>
    send(
      deployer,
      addresses.snt,
      encodeFunctionData({ abi: sntAbi, functionName: "transfer", args: [to, amount] }),
    );
  for (const to of options.fund ?? []) {
    if (options.fundEach === undefined) throw new Error("fund needs fundEach");
    await fund(to, options.fundEach);
  }
  return {
    publicClient,
    addresses,
    send,
    fund,
    balance: (who) =>
      publicClient.readContract({
        address: addresses.snt,
        abi: sntAbi,
        functionName: "balanceOf",
        args: [who],
      }),
    register: (wallet, r) => registerMailbox({ publicClient, walletClient: wallet }, { ...addresses, ...r }),
    openChannel: async (wallet, c) =>
      (await openChannel({ publicClient, walletClient: wallet }, { ...addresses, ...c })).channelId,
  };
}
