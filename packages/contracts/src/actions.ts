import {
  type Account,
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeFunctionData,
  type Hash,
  type Hex,
  http,
  type PublicClient,
  parseEventLogs,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { mailboxRegistryAbi, paymentChannelsAbi, sntAbi } from "./generated/artifacts.js";

// The Postbox contracts' write actions, written once, in viem's style: for each, a request builder
// (`…Request`: the `{ address, abi, functionName, args }` that viem's `writeContract` and wagmi's
// `useWriteContract` take) and an action that sends it and waits for its receipt, each with its
// `…Parameters` and `…ReturnType`. Payments into the registry and the channels are one transaction
// each: SNT's `approveAndCall` moves the amount and calls the contract with it (a declared amount
// of 0 in the inner call means "what was approved").

/** The clients an action needs: a public client to wait for the receipt, a wallet to send. */
export interface PostboxClients {
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
}

/** What every action resolves with: the transaction's successful receipt. */
export type PostboxWriteReturnType = TransactionReceipt;

/** A call's request (as built by a `…Request` function) to send. */
interface WriteRequest {
  address: Address;
  abi: readonly unknown[];
  functionName: string;
  args?: readonly unknown[];
}

/** Sends `request` from the wallet and waits for its receipt; rejects when it reverted. */
async function write(clients: PostboxClients, request: WriteRequest): Promise<TransactionReceipt> {
  const { walletClient, publicClient } = clients;
  const hash: Hash = await walletClient.sendTransaction({
    to: request.address,
    data: encodeFunctionData(request as Parameters<typeof encodeFunctionData>[0]),
    account: walletClient.account,
    chain: walletClient.chain ?? null,
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
  return receipt;
}

// ---------------------------------------------------------------- registry

export interface RegisterMailboxParameters {
  /** The SNT token (the registry's `token()`) and the registry. */
  snt: Address;
  registry: Address;
  peerId: string;
  /** Where the mailbox is dialled, without `/p2p/` (the registry lists the peer id beside them). */
  multiaddrs: readonly string[];
  /** The operator's card (docs/methodology.md); default none. */
  metadataURI?: string;
  /** SNT staked, at least the registry's `minStake`. */
  stake: bigint;
  pricePerQuery: bigint;
  pricePerMessage: bigint;
  retentionSeconds: bigint;
}
export type RegisterMailboxReturnType = PostboxWriteReturnType;

/** Lists the sender as a mailbox operator, staking `stake` (one approveAndCall into the registry). */
export function registerMailboxRequest(p: RegisterMailboxParameters) {
  return {
    address: p.snt,
    abi: sntAbi,
    functionName: "approveAndCall",
    args: [
      p.registry,
      p.stake,
      encodeFunctionData({
        abi: mailboxRegistryAbi,
        functionName: "register",
        args: [
          p.peerId,
          [...p.multiaddrs],
          p.metadataURI ?? "",
          0n,
          p.pricePerQuery,
          p.pricePerMessage,
          p.retentionSeconds,
        ],
      }),
    ],
  } as const;
}

/** {@link registerMailboxRequest}, sent; resolves with the receipt. */
export function registerMailbox(
  clients: PostboxClients,
  p: RegisterMailboxParameters,
): Promise<RegisterMailboxReturnType> {
  return write(clients, registerMailboxRequest(p));
}

export interface AddStakeParameters {
  snt: Address;
  registry: Address;
  /** Whose stake grows (anyone may add to any operator's). */
  operator: Address;
  amount: bigint;
}
export type AddStakeReturnType = PostboxWriteReturnType;

/** Adds `amount` SNT to `operator`'s stake (one approveAndCall into the registry). */
export function addStakeRequest(p: AddStakeParameters) {
  return {
    address: p.snt,
    abi: sntAbi,
    functionName: "approveAndCall",
    args: [
      p.registry,
      p.amount,
      encodeFunctionData({ abi: mailboxRegistryAbi, functionName: "addStake", args: [p.operator, 0n] }),
    ],
  } as const;
}

/** {@link addStakeRequest}, sent; resolves with the receipt. */
export function addStake(clients: PostboxClients, p: AddStakeParameters): Promise<AddStakeReturnType> {
  return write(clients, addStakeRequest(p));
}

export interface AnnouncePriceParameters {
  registry: Address;
  pricePerQuery: bigint;
  pricePerMessage: bigint;
}
export type AnnouncePriceReturnType = PostboxWriteReturnType;

/** The sender's new prices: decreases apply now, an increase after the registry's price delay. */
export function announcePriceRequest(p: AnnouncePriceParameters) {
  return {
    address: p.registry,
    abi: mailboxRegistryAbi,
    functionName: "announcePrice",
    args: [p.pricePerQuery, p.pricePerMessage],
  } as const;
}

/** {@link announcePriceRequest}, sent; resolves with the receipt. */
export function announcePrice(
  clients: PostboxClients,
  p: AnnouncePriceParameters,
): Promise<AnnouncePriceReturnType> {
  return write(clients, announcePriceRequest(p));
}

// ---------------------------------------------------------------- channels

export interface OpenChannelParameters {
  snt: Address;
  channels: Address;
  /** The mailbox's operator, paid by vouchers. */
  payee: Address;
  /** The key that signs vouchers (a session key, or the payer itself). */
  signer: Address;
  deposit: bigint;
  /** 32 bytes that make the channel's id unique among the payer's channels to `payee`. */
  salt: Hex;
}
export interface OpenChannelReturnType {
  receipt: TransactionReceipt;
  /** The new channel's id, from its `ChannelOpened` event. */
  channelId: Hex;
}

/** Opens a channel from the sender with `deposit` (one approveAndCall into the channels). */
export function openChannelRequest(p: OpenChannelParameters) {
  return {
    address: p.snt,
    abi: sntAbi,
    functionName: "approveAndCall",
    args: [
      p.channels,
      p.deposit,
      encodeFunctionData({
        abi: paymentChannelsAbi,
        functionName: "open",
        args: [p.payee, p.signer, 0n, p.salt],
      }),
    ],
  } as const;
}

/** {@link openChannelRequest}, sent; resolves with the receipt and the channel's id. */
export async function openChannel(
  clients: PostboxClients,
  p: OpenChannelParameters,
): Promise<OpenChannelReturnType> {
  const receipt = await write(clients, openChannelRequest(p));
  const [opened] = parseEventLogs({
    abi: paymentChannelsAbi,
    eventName: "ChannelOpened",
    logs: receipt.logs,
  });
  if (!opened) throw new Error(`transaction ${receipt.transactionHash} opened no channel`);
  return { receipt, channelId: opened.args.channelId };
}

export interface TopUpChannelParameters {
  snt: Address;
  channels: Address;
  channelId: Hex;
  amount: bigint;
}
export type TopUpChannelReturnType = PostboxWriteReturnType;

/** Adds `amount` to a channel's deposit (one approveAndCall into the channels). */
export function topUpChannelRequest(p: TopUpChannelParameters) {
  return {
    address: p.snt,
    abi: sntAbi,
    functionName: "approveAndCall",
    args: [
      p.channels,
      p.amount,
      encodeFunctionData({ abi: paymentChannelsAbi, functionName: "topUp", args: [p.channelId, 0n] }),
    ],
  } as const;
}

/** {@link topUpChannelRequest}, sent; resolves with the receipt. */
export function topUpChannel(
  clients: PostboxClients,
  p: TopUpChannelParameters,
): Promise<TopUpChannelReturnType> {
  return write(clients, topUpChannelRequest(p));
}

export interface RequestCloseParameters {
  channels: Address;
  channelId: Hex;
}
export type RequestCloseReturnType = PostboxWriteReturnType;

/** The payer asks to close a channel: it can withdraw the rest after the close grace. */
export function requestCloseRequest(p: RequestCloseParameters) {
  return {
    address: p.channels,
    abi: paymentChannelsAbi,
    functionName: "requestClose",
    args: [p.channelId],
  } as const;
}

/** {@link requestCloseRequest}, sent; resolves with the receipt. */
export function requestClose(
  clients: PostboxClients,
  p: RequestCloseParameters,
): Promise<RequestCloseReturnType> {
  return write(clients, requestCloseRequest(p));
}

// ---------------------------------------------------------------- chain setup

export interface CreatePostboxClientsParameters {
  rpcUrl: string;
  chainId: number;
  /** The chain's name in messages and wallets (default `chain <id>`). */
  name?: string;
  /** A private key to send from: adds the wallet client. */
  privateKey?: Hex;
  /** How often to poll for blocks and receipts (ms; default viem's). */
  pollingInterval?: number;
}
export interface CreatePostboxClientsReturnType {
  chain: Chain;
  publicClient: PublicClient;
  /** With `privateKey` only. */
  walletClient: WalletClient<Transport, Chain, Account> | undefined;
}

/** A chain at `rpcUrl` with id `chainId` (ETH for gas), as viem and wagmi take it. */
export function postboxChain(p: Pick<CreatePostboxClientsParameters, "rpcUrl" | "chainId" | "name">): Chain {
  return defineChain({
    id: p.chainId,
    name: p.name ?? `chain ${p.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [p.rpcUrl] } },
  });
}

/** The chain, a public client and (with a key) a wallet client over HTTP JSON-RPC. */
export function createPostboxClients(p: CreatePostboxClientsParameters): CreatePostboxClientsReturnType {
  const chain = postboxChain(p);
  const polling = p.pollingInterval === undefined ? {} : { pollingInterval: p.pollingInterval };
  const publicClient = createPublicClient({ chain, transport: http(p.rpcUrl), ...polling }) as PublicClient;
  const walletClient = p.privateKey
    ? createWalletClient({ chain, account: privateKeyToAccount(p.privateKey), transport: http(p.rpcUrl) })
    : undefined;
  return { chain, publicClient, walletClient };
}
