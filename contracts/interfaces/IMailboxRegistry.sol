// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IMailboxRegistry
/// @notice The on-chain list of Postbox mailboxes. An operator stakes SNT to list one mailbox with
/// its libp2p endpoint and prices; clients, the prober and the dashboard read the list (or replay
/// its events) to choose a mailbox.
///
/// Timing rules that protect the other side:
/// - a price increase takes effect `priceDelay` after it is announced (a decrease at once), so a
///   client that opened a channel at one price is never charged a surprise increase;
/// - an exit takes `unbondingPeriod` before the stake can be withdrawn, so misbehaviour found in
///   that window can still be slashed;
/// - slashing and jailing need a role, and one slash takes at most `maxSlashBps` of the stake.
///
/// Prices and stakes are uint96 (at most 2^96 - 1 base units: about 7.9e10 tokens at 18 decimals,
/// above SNT's total supply), so an entry's numbers fit in three storage slots.
interface IMailboxRegistry {
    /// @notice A mailbox's lifecycle. `None`: never registered, or its stake was withdrawn.
    enum Status {
        None,
        Active,
        Exiting,
        Jailed
    }

    /// @notice Everything the registry knows about one operator's mailbox.
    /// @param operator The address that registered and is paid (the payment channels' payee).
    /// @param peerId The mailbox's libp2p peer id (base58 or CID text form).
    /// @param multiaddrs Where to dial it (without the /p2p/ suffix).
    /// @param metadataURI Optional human-facing metadata (name, contact, terms).
    /// @param stake SNT currently staked.
    /// @param pricePerQuery Price of one history page (before any pending change applies).
    /// @param pricePerMessage Price per envelope returned (before any pending change applies).
    /// @param pendingPricePerQuery Announced price per page, effective from `priceEffectiveAt`.
    /// @param pendingPricePerMessage Announced price per envelope, effective from `priceEffectiveAt`.
    /// @param priceEffectiveAt When the pending prices apply; zero when nothing is pending.
    /// @param retention Seconds the mailbox promises to keep envelopes.
    /// @param registeredAt When the current registration started.
    /// @param withdrawableAt When an exiting operator can withdraw; zero otherwise.
    /// @param status The lifecycle state.
    struct Mailbox {
        address operator;
        string peerId;
        string[] multiaddrs;
        string metadataURI;
        uint256 stake;
        uint256 pricePerQuery;
        uint256 pricePerMessage;
        uint256 pendingPricePerQuery;
        uint256 pendingPricePerMessage;
        uint256 priceEffectiveAt;
        uint256 retention;
        uint256 registeredAt;
        uint256 withdrawableAt;
        Status status;
    }

    /// @notice Emitted on registration, with everything an indexer needs to list the mailbox.
    event MailboxRegistered(
        address indexed operator,
        string peerId,
        string[] multiaddrs,
        string metadataURI,
        uint256 stake,
        uint256 pricePerQuery,
        uint256 pricePerMessage,
        uint256 retention
    );

    /// @notice Emitted when stake is added; `stake` is the new total.
    event StakeAdded(address indexed operator, address indexed from, uint256 amount, uint256 stake);

    /// @notice Emitted when prices change. Decreases apply at once: from now the prices are
    /// min(old, new) per component; the announced ones apply from `effectiveAt` (equal to the block
    /// time when nothing increased).
    event PriceAnnounced(
        address indexed operator,
        uint256 oldPricePerQuery,
        uint256 oldPricePerMessage,
        uint256 newPricePerQuery,
        uint256 newPricePerMessage,
        uint256 effectiveAt
    );

    /// @notice Emitted when the endpoint changes, with the old and new values.
    event EndpointUpdated(
        address indexed operator,
        string oldPeerId,
        string peerId,
        string[] multiaddrs,
        string metadataURI
    );

    /// @notice Emitted when the promised retention changes.
    event RetentionUpdated(address indexed operator, uint256 oldRetention, uint256 retention);

    /// @notice Emitted when an operator starts exiting.
    event ExitRequested(address indexed operator, uint256 stake, uint256 withdrawableAt);

    /// @notice Emitted when an exited operator withdraws its stake.
    event StakeWithdrawn(address indexed operator, uint256 amount);

    /// @notice Emitted on a slash; `stake` is what remains.
    event Slashed(
        address indexed operator,
        uint256 amount,
        uint256 toBeneficiary,
        uint256 toTreasury,
        bytes32 evidenceHash,
        uint256 stake
    );

    /// @notice Emitted when an operator is jailed; `previous` is the status it had.
    event Jailed(address indexed operator, Status previous);

    /// @notice Emitted when an operator is released from jail (back to Active).
    event Unjailed(address indexed operator);

    /// @notice Emitted when the slash payout addresses change.
    event SlashPayoutUpdated(address beneficiary, address treasury);

    /// @notice The operator already has a live registration.
    error MailboxRegistryAlreadyRegistered(address operator);

    /// @notice The operator has no registration, or not in the status required.
    error MailboxRegistryInvalidStatus(address operator, Status status);

    /// @notice The stake credited is below `minStake`.
    error MailboxRegistryStakeTooLow(uint256 stake, uint256 minStake);

    /// @notice An amount or price does not fit uint96.
    error MailboxRegistryAmountTooLarge(uint256 amount);

    /// @notice Zero amounts are refused.
    error MailboxRegistryZeroAmount();

    /// @notice The peer id is empty or longer than 128 bytes, or there are no or too many multiaddrs.
    error MailboxRegistryInvalidEndpoint();

    /// @notice The unbonding period has not ended.
    error MailboxRegistryStillUnbonding(address operator, uint256 withdrawableAt);

    /// @notice The slash exceeds the per-call cap.
    error MailboxRegistrySlashTooLarge(address operator, uint256 amount, uint256 cap);

    /// @notice A constructor parameter is out of range.
    error MailboxRegistryInvalidParameter(string name);

    /// @notice `receiveApproval` was called by a contract other than the token, or for another token.
    error MailboxRegistryInvalidApproval(address caller, address token);

    /// @notice `receiveApproval` data does not start with a supported selector.
    error MailboxRegistryUnsupportedCall(bytes4 selector);

    /// @notice The staking token (SNT).
    function token() external view returns (address);

    /// @notice The least stake a registration needs.
    function minStake() external view returns (uint256);

    /// @notice Seconds between `requestExit` and `withdrawStake`.
    function unbondingPeriod() external view returns (uint256);

    /// @notice Seconds before an announced price increase takes effect.
    function priceDelay() external view returns (uint256);

    /// @notice The largest share of a stake one slash may take, in basis points.
    function maxSlashBps() external view returns (uint256);

    /// @notice The share of a slash paid to the beneficiary, in basis points; the rest goes to the treasury.
    function slashBeneficiaryBps() external view returns (uint256);

    /// @notice Where slashes are paid.
    function slashPayout() external view returns (address beneficiary, address treasury);

    /// @notice The role allowed to slash.
    // solhint-disable-next-line func-name-mixedcase
    function SLASHER_ROLE() external view returns (bytes32);

    /// @notice The role allowed to jail and unjail.
    // solhint-disable-next-line func-name-mixedcase
    function JAILER_ROLE() external view returns (bytes32);

    /// @notice Registers `msg.sender`'s mailbox, pulling `stake` with `transferFrom`.
    /// @dev Emits {MailboxRegistered}. Requirements: no live registration; the measured stake is at
    /// least `minStake`; a non-empty peer id; 1 to 8 multiaddrs.
    function register(
        string calldata peerId,
        string[] calldata multiaddrs,
        string calldata metadataURI,
        uint256 stake,
        uint256 pricePerQuery,
        uint256 pricePerMessage,
        uint256 retention
    ) external;

    /// @notice Adds stake to `operator`'s Active or Jailed entry (anyone may add).
    /// @dev Emits {StakeAdded}.
    function addStake(address operator, uint256 amount) external;

    /// @notice MiniMe / ERC-20 `approveAndCall` hook: `data` is the ABI-encoded call to {register}
    /// or {addStake} (selector first); `from` is the operator (register) or the funder (addStake);
    /// the approved amount is what is staked.
    function receiveApproval(address from, uint256 amount, address token_, bytes calldata data) external;

    /// @notice Announces new prices: decreases apply at once, increases after `priceDelay`.
    /// @dev Emits {PriceAnnounced}. Requirements: Active.
    function announcePrice(uint256 pricePerQuery, uint256 pricePerMessage) external;

    /// @notice The prices a client pays now (pending prices once their time has come).
    function effectivePrice(address operator) external view returns (uint256 pricePerQuery, uint256 pricePerMessage);

    /// @notice Updates the peer id, multiaddrs and metadata URI. @dev Emits {EndpointUpdated}.
    function updateEndpoint(string calldata peerId, string[] calldata multiaddrs, string calldata metadataURI) external;

    /// @notice Updates the promised retention. @dev Emits {RetentionUpdated}.
    function setRetention(uint256 retention) external;

    /// @notice Starts leaving: the mailbox stops being Active; the stake unbonds.
    /// @dev Emits {ExitRequested}. Requirements: Active.
    function requestExit() external;

    /// @notice Withdraws the whole stake after `unbondingPeriod`; the entry returns to `None`.
    /// @dev Emits {StakeWithdrawn}. Requirements: Exiting and unbonded.
    function withdrawStake() external;

    /// @notice Takes `amount` of `operator`'s stake as a penalty for what `evidenceHash` commits to.
    /// @dev Emits {Slashed}. Requirements: SLASHER_ROLE; amount <= stake * maxSlashBps / 10000.
    function slash(address operator, uint256 amount, bytes32 evidenceHash) external;

    /// @notice Suspends an Active or Exiting operator (it cannot exit or withdraw while jailed).
    /// @dev Emits {Jailed}. Requirements: JAILER_ROLE.
    function jail(address operator) external;

    /// @notice Returns a Jailed operator to Active. @dev Emits {Unjailed}. Requirements: JAILER_ROLE.
    function unjail(address operator) external;

    /// @notice Sets where slashes are paid. Requirements: DEFAULT_ADMIN_ROLE.
    function setSlashPayout(address beneficiary, address treasury) external;

    /// @notice One operator's entry (status None and zeros if unknown).
    function getMailbox(address operator) external view returns (Mailbox memory);

    /// @notice How many operators ever registered (entries are never removed; see `status`).
    function mailboxCount() external view returns (uint256);

    /// @notice Up to `limit` entries from `offset`, in registration order.
    function getMailboxes(uint256 offset, uint256 limit) external view returns (Mailbox[] memory);
}
