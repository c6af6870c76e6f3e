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
import { disputesAbi, mailboxRegistryAbi, paymentChannelsAbi, sntAbi } from "./generated/artifacts.js";

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

export interface UpdateEndpointParameters {
  registry: Address;
  /** The peer id the mailbox now has (a new key replaces the registered one). */
  peerId: string;
  /** Where it is dialled, without `/p2p/` (replaces the registered list). */
  multiaddrs: readonly string[];
  /** The operator's card (docs/methodology.md); "" for none. */
  metadataURI: string;
}
export type UpdateEndpointReturnType = PostboxWriteReturnType;

/** The sender's mailbox moves: its peer id, addresses and card, at once. */
export function updateEndpointRequest(p: UpdateEndpointParameters) {
  return {
    address: p.registry,
    abi: mailboxRegistryAbi,
    functionName: "updateEndpoint",
    args: [p.peerId, [...p.multiaddrs], p.metadataURI],
  } as const;
}

/** {@link updateEndpointRequest}, sent; resolves with the receipt. */
export function updateEndpoint(
  clients: PostboxClients,
  p: UpdateEndpointParameters,
): Promise<UpdateEndpointReturnType> {
  return write(clients, updateEndpointRequest(p));
}

export interface SetRetentionParameters {
  registry: Address;
  /** How long the mailbox now keeps envelopes, in seconds. */
  retentionSeconds: bigint;
}
export type SetRetentionReturnType = PostboxWriteReturnType;

/** The sender's mailbox announces a new retention period. */
export function setRetentionRequest(p: SetRetentionParameters) {
  return {
    address: p.registry,
    abi: mailboxRegistryAbi,
    functionName: "setRetention",
    args: [p.retentionSeconds],
  } as const;
}

/** {@link setRetentionRequest}, sent; resolves with the receipt. */
export function setRetention(
  clients: PostboxClients,
  p: SetRetentionParameters,
): Promise<SetRetentionReturnType> {
  return write(clients, setRetentionRequest(p));
}

/** The registry, for the sender's own entry (exit, withdraw, unjail). */
export interface OwnEntryParameters {
  registry: Address;
}
export type RequestExitParameters = OwnEntryParameters;
export type RequestExitReturnType = PostboxWriteReturnType;

/**
 * The sender's mailbox leaves the registry: its stake stays for the mailbox's retention, then the
 * unbonding period (its promises can still be disputed), and is withdrawable after (`withdrawableAt`).
 */
export function requestExitRequest(p: RequestExitParameters) {
  return { address: p.registry, abi: mailboxRegistryAbi, functionName: "requestExit" } as const;
}

/** {@link requestExitRequest}, sent; resolves with the receipt. */
export function requestExit(
  clients: PostboxClients,
  p: RequestExitParameters,
): Promise<RequestExitReturnType> {
  return write(clients, requestExitRequest(p));
}

export type WithdrawStakeParameters = OwnEntryParameters;
export type WithdrawStakeReturnType = PostboxWriteReturnType;

/** After an exit's `withdrawableAt`, the sender takes its stake back. */
export function withdrawStakeRequest(p: WithdrawStakeParameters) {
  return { address: p.registry, abi: mailboxRegistryAbi, functionName: "withdrawStake" } as const;
}

/** {@link withdrawStakeRequest}, sent; resolves with the receipt. */
export function withdrawStake(
  clients: PostboxClients,
  p: WithdrawStakeParameters,
): Promise<WithdrawStakeReturnType> {
  return write(clients, withdrawStakeRequest(p));
}

export type UnjailParameters = OwnEntryParameters;
export type UnjailReturnType = PostboxWriteReturnType;

/** After its jail term, the sender's mailbox is Active again (if its stake is at least `minStake`). */
export function unjailRequest(p: UnjailParameters) {
  return { address: p.registry, abi: mailboxRegistryAbi, functionName: "unjail" } as const;
}

/** {@link unjailRequest}, sent; resolves with the receipt. */
export function unjail(clients: PostboxClients, p: UnjailParameters): Promise<UnjailReturnType> {
  return write(clients, unjailRequest(p));
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

/** A channel of the sender's (cancel a close, withdraw). */
export interface OwnChannelParameters {
  channels: Address;
  channelId: Hex;
}
export type CancelCloseParameters = OwnChannelParameters;
export type CancelCloseReturnType = PostboxWriteReturnType;

/** The payer takes back its close request: the channel stays open. */
export function cancelCloseRequest(p: CancelCloseParameters) {
  return {
    address: p.channels,
    abi: paymentChannelsAbi,
    functionName: "cancelClose",
    args: [p.channelId],
  } as const;
}

/** {@link cancelCloseRequest}, sent; resolves with the receipt. */
export function cancelClose(
  clients: PostboxClients,
  p: CancelCloseParameters,
): Promise<CancelCloseReturnType> {
  return write(clients, cancelCloseRequest(p));
}

export type WithdrawChannelParameters = OwnChannelParameters;
export type WithdrawChannelReturnType = PostboxWriteReturnType;

/** After the close grace, the payer withdraws what the payee has not redeemed; the channel ends. */
export function withdrawChannelRequest(p: WithdrawChannelParameters) {
  return {
    address: p.channels,
    abi: paymentChannelsAbi,
    functionName: "withdraw",
    args: [p.channelId],
  } as const;
}

/** {@link withdrawChannelRequest}, sent; resolves with the receipt. */
export function withdrawChannel(
  clients: PostboxClients,
  p: WithdrawChannelParameters,
): Promise<WithdrawChannelReturnType> {
  return write(clients, withdrawChannelRequest(p));
}

// ---------------------------------------------------------------- disputes

/** A mailbox's EIP-712 receipt as `Disputes` takes it (`@postbox/protocol`'s `Receipt`). */
export interface DisputeReceipt {
  operator: Address;
  envelopeId: Hex;
  contentTopic: string;
  timestamp: bigint;
  storedAt: bigint;
  retainUntil: bigint;
}

/** A history page's EIP-712 commitment as `Disputes` takes it (`@postbox/protocol`'s `PageCommitment`). */
export interface DisputePageCommitment {
  operator: Address;
  contentTopics: readonly string[];
  timeStart: bigint;
  timeEnd: bigint;
  ids: readonly Hex[];
  nextCursor: Hex;
  servedAt: bigint;
}

/**
 * A presence answer's EIP-712 promise as `Disputes` takes it (`@postbox/protocol`'s `Presence`): at
 * `servedAt` the mailbox held every one of `ids`, and keeps each until at least `retainUntil`.
 */
export interface DisputePresence {
  operator: Address;
  ids: readonly Hex[];
  servedAt: bigint;
  retainUntil: bigint;
}

/** An envelope's fields as `Disputes` takes them (`@postbox/protocol`'s `envelopeArgs`). */
export interface DisputeEnvelope {
  version: bigint;
  contentTopic: string;
  timestamp: bigint;
  payload: Hex;
}

/** What an upheld dispute did, from its `DisputeUpheld` event. */
export interface DisputeOutcome {
  disputeId: Hex;
  operator: Address;
  challenger: Address;
  /** SNT taken from the stake (0 when the slash period's allowance was used up). */
  slashed: bigint;
  /** The share of the slash paid to the challenger. */
  reward: bigint;
  /** The bond returned to the challenger (0 for an omission). */
  bond: bigint;
  /** The end of the operator's jail term (0 if none). */
  jailedUntil: bigint;
}

function upheldIn(receipt: TransactionReceipt): DisputeOutcome {
  const [e] = parseEventLogs({ abi: disputesAbi, eventName: "DisputeUpheld", logs: receipt.logs });
  if (!e) throw new Error(`transaction ${receipt.transactionHash} upheld no dispute`);
  const { disputeId, operator, challenger, slashed, reward, bond, jailedUntil } = e.args;
  return { disputeId, operator, challenger, slashed, reward, bond, jailedUntil };
}

export interface DisputeCustodyParameters {
  /** The SNT token (the bond is pulled from the sender: approved first) and the Disputes contract. */
  snt: Address;
  disputes: Address;
  receipt: DisputeReceipt;
  /** The receipt's 65-byte evidence signature. */
  signature: Hex;
  /** The bond (`Disputes.bond()`): approved to the contract before the dispute opens. */
  bond: bigint;
}
export interface DisputeCustodyReturnType {
  receipt: TransactionReceipt;
  /** The dispute's id (the receipt's EIP-712 digest) and the last second an answer is accepted. */
  disputeId: Hex;
  deadline: bigint;
}

/** Opens a custody dispute over a receipt (the bond must be approved: see {@link disputeCustody}). */
export function disputeCustodyRequest(p: DisputeCustodyParameters) {
  return {
    address: p.disputes,
    abi: disputesAbi,
    functionName: "disputeCustody",
    args: [p.receipt, p.signature],
  } as const;
}

/**
 * Approves the bond (to zero first when another allowance is left: MiniMe refuses non-zero →
 * non-zero) unless enough is approved, then sends {@link disputeCustodyRequest}; resolves with the
 * dispute's id and deadline from its `CustodyDisputed` event.
 */
export async function disputeCustody(
  clients: PostboxClients,
  p: DisputeCustodyParameters,
): Promise<DisputeCustodyReturnType> {
  const owner = clients.walletClient.account.address;
  const allowance = await clients.publicClient.readContract({
    address: p.snt,
    abi: sntAbi,
    functionName: "allowance",
    args: [owner, p.disputes],
  });
  if (allowance < p.bond) {
    const approve = (amount: bigint) =>
      write(clients, { address: p.snt, abi: sntAbi, functionName: "approve", args: [p.disputes, amount] });
    if (allowance > 0n) await approve(0n);
    await approve(p.bond);
  }
  const receipt = await write(clients, disputeCustodyRequest(p));
  const [opened] = parseEventLogs({ abi: disputesAbi, eventName: "CustodyDisputed", logs: receipt.logs });
  if (!opened) throw new Error(`transaction ${receipt.transactionHash} opened no dispute`);
  return { receipt, disputeId: opened.args.disputeId, deadline: opened.args.deadline };
}

export interface FinaliseCustodyParameters {
  disputes: Address;
  disputeId: Hex;
}
export interface FinaliseCustodyReturnType extends DisputeOutcome {
  receipt: TransactionReceipt;
}

/** Upholds an unanswered custody dispute after its deadline (anyone may send it). */
export function finaliseCustodyRequest(p: FinaliseCustodyParameters) {
  return {
    address: p.disputes,
    abi: disputesAbi,
    functionName: "finaliseCustody",
    args: [p.disputeId],
  } as const;
}

/** {@link finaliseCustodyRequest}, sent; resolves with what was slashed and paid. */
export async function finaliseCustody(
  clients: PostboxClients,
  p: FinaliseCustodyParameters,
): Promise<FinaliseCustodyReturnType> {
  const receipt = await write(clients, finaliseCustodyRequest(p));
  return { receipt, ...upheldIn(receipt) };
}

export interface ProveOmissionParameters {
  disputes: Address;
  commitment: DisputePageCommitment;
  commitmentSignature: Hex;
  receipt: DisputeReceipt;
  receiptSignature: Hex;
  /** The receipted envelope, whose id, topic and timestamp the contract checks. */
  envelope: DisputeEnvelope;
}
export interface ProveOmissionReturnType extends DisputeOutcome {
  receipt: TransactionReceipt;
}

/** Proves a mailbox left a receipted envelope out of a page it committed to: upheld at once. */
export function proveOmissionRequest(p: ProveOmissionParameters) {
  return {
    address: p.disputes,
    abi: disputesAbi,
    functionName: "proveOmission",
    args: [p.commitment, p.commitmentSignature, p.receipt, p.receiptSignature, p.envelope],
  } as const;
}

/** {@link proveOmissionRequest}, sent; resolves with what was slashed and paid. */
export async function proveOmission(
  clients: PostboxClients,
  p: ProveOmissionParameters,
): Promise<ProveOmissionReturnType> {
  const receipt = await write(clients, proveOmissionRequest(p));
  return { receipt, ...upheldIn(receipt) };
}

export interface ProveOmissionByPresenceParameters {
  disputes: Address;
  commitment: DisputePageCommitment;
  commitmentSignature: Hex;
  /** The same operator's presence answer listing the envelope, served before the commitment. */
  presence: DisputePresence;
  presenceSignature: Hex;
  /** The envelope the presence answer listed, whose id, topic and timestamp the contract checks. */
  envelope: DisputeEnvelope;
}
export interface ProveOmissionByPresenceReturnType extends DisputeOutcome {
  receipt: TransactionReceipt;
}

/**
 * Proves a mailbox left an envelope it had answered present out of a page it committed to later
 * (presence.servedAt < commitment.servedAt < presence.retainUntil): upheld at once.
 */
export function proveOmissionByPresenceRequest(p: ProveOmissionByPresenceParameters) {
  return {
    address: p.disputes,
    abi: disputesAbi,
    functionName: "proveOmissionByPresence",
    args: [p.commitment, p.commitmentSignature, p.presence, p.presenceSignature, p.envelope],
  } as const;
}

/** {@link proveOmissionByPresenceRequest}, sent; resolves with what was slashed and paid. */
export async function proveOmissionByPresence(
  clients: PostboxClients,
  p: ProveOmissionByPresenceParameters,
): Promise<ProveOmissionByPresenceReturnType> {
  const receipt = await write(clients, proveOmissionByPresenceRequest(p));
  return { receipt, ...upheldIn(receipt) };
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
