/**
 * @packageDocumentation
 * The TypeScript face of the Postbox contracts: ABIs typed `as const` (generated from the Hardhat
 * artifacts by `scripts/generate-abis.ts`), known addresses per chain id, the parameters each
 * network uses, a viem deploy helper used by the devnet, the tests and the gas report, the write
 * actions (register, stake, prices, endpoint, retention, exit, withdraw, unjail; open, top up, close,
 * cancel a close, withdraw; disputes: request builders for viem and wagmi and
 * actions that send them) and one chain set-up, a reader of the registry's entries and one of the
 * disputes against a mailbox.
 */

export {
  type AddStakeParameters,
  type AddStakeReturnType,
  type AnnouncePriceParameters,
  type AnnouncePriceReturnType,
  addStake,
  addStakeRequest,
  announcePrice,
  announcePriceRequest,
  type CancelCloseParameters,
  type CancelCloseReturnType,
  type CreatePostboxClientsParameters,
  type CreatePostboxClientsReturnType,
  cancelClose,
  cancelCloseRequest,
  createPostboxClients,
  type DisputeCustodyParameters,
  type DisputeCustodyReturnType,
  type DisputeEnvelope,
  type DisputeOutcome,
  type DisputePageCommitment,
  type DisputePresence,
  type DisputeReceipt,
  disputeCustody,
  disputeCustodyRequest,
  type FinaliseCustodyParameters,
  type FinaliseCustodyReturnType,
  finaliseCustody,
  finaliseCustodyRequest,
  type OpenChannelParameters,
  type OpenChannelReturnType,
  type OwnChannelParameters,
  type OwnEntryParameters,
  openChannel,
  openChannelRequest,
  type PostboxClients,
  type PostboxWriteReturnType,
  type ProveOmissionByPresenceParameters,
  type ProveOmissionByPresenceReturnType,
  type ProveOmissionParameters,
  type ProveOmissionReturnType,
  postboxChain,
  proveOmission,
  proveOmissionByPresence,
  proveOmissionByPresenceRequest,
  proveOmissionRequest,
  type RegisterMailboxParameters,
  type RegisterMailboxReturnType,
  type RequestCloseParameters,
  type RequestCloseReturnType,
  type RequestExitParameters,
  type RequestExitReturnType,
  registerMailbox,
  registerMailboxRequest,
  requestClose,
  requestCloseRequest,
  requestExit,
  requestExitRequest,
  type SetRetentionParameters,
  type SetRetentionReturnType,
  setRetention,
  setRetentionRequest,
  type TopUpChannelParameters,
  type TopUpChannelReturnType,
  topUpChannel,
  topUpChannelRequest,
  type UnjailParameters,
  type UnjailReturnType,
  type UpdateEndpointParameters,
  type UpdateEndpointReturnType,
  unjail,
  unjailRequest,
  updateEndpoint,
  updateEndpointRequest,
  type WithdrawChannelParameters,
  type WithdrawChannelReturnType,
  type WithdrawStakeParameters,
  type WithdrawStakeReturnType,
  withdrawChannel,
  withdrawChannelRequest,
  withdrawStake,
  withdrawStakeRequest,
} from "./actions.js";
export { addressesFor, knownDeployments, type PostboxAddresses } from "./addresses.js";
export { type DeployPostboxParameters, type DeployPostboxReturnType, deployPostbox } from "./deploy.js";
export {
  DEVNET_ACCOUNTS,
  DEVNET_KEYS,
  type DevnetAccount,
  type DevnetRole,
  describeDevnetRole,
} from "./devnet.js";
export {
  type MailboxDispute,
  type MailboxDisputeState,
  readMailboxDisputes,
} from "./disputes.js";
export {
  disputesAbi,
  disputesBytecode,
  mailboxRegistryAbi,
  mailboxRegistryBytecode,
  paymentChannelsAbi,
  paymentChannelsBytecode,
  sntAbi,
  sntBytecode,
} from "./generated/artifacts.js";
export { type NetworkParameters, networkParameters } from "./parameters.js";
export { type RegistryMailbox, readMailboxes } from "./registry.js";

/** The registry's `Status` enum, in declaration order. */
export const MailboxStatus = { None: 0, Active: 1, Exiting: 2, Jailed: 3 } as const;
export type MailboxStatus = (typeof MailboxStatus)[keyof typeof MailboxStatus];
