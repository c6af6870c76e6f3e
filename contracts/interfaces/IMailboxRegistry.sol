// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IMailboxRegistry
/// @notice The on-chain list of Postbox mailboxes. An operator stakes SNT to list one mailbox with
/// its libp2p endpoint and prices; clients, the prober and the dashboard read the list (or replay
/// its events) to choose a mailbox.
///
/// Timing rules that protect the other side:
/// - a price increase takes effect `priceDelay` after it is announced (a decrease at once), so a
///   client that opened a channel at one price is never charged a surprise increase; leaving and
///   registering again takes at least `unbondingPeriod`, which is never shorter than `priceDelay`;
/// - an exit takes `unbondingPeriod` after the operator's last promise (its retention from the exit)
///   before the stake can be withdrawn, so misbehaviour found in that window, and any receipt made
///   before the exit, can still be disputed and slashed.
///
/// Who can take a stake: only the disputes contract, an address fixed at construction (`disputes`),
/// and at most `maxSlashBps` of a stake per `slashPeriod` however many calls it makes. No admin and
/// no role can slash or jail. Jail is bounded (at most `unbondingPeriod`) and a jailed operator can
/// still exit. The admin (OpenZeppelin's AccessControlDefaultAdminRules: one admin, transferred
/// only after `defaultAdminDelay`) can only schedule a new treasury, which also waits that delay.
///
/// Prices and stakes are uint96 (at most 2^96 - 1 base units: about 7.9e10 tokens at 18 decimals,
/// above SNT's total supply), so an entry's numbers fit in three storage slots.
interface IMailboxRegistry {
    /// @notice A mailbox's lifecycle. `None`: never registered, or its stake was withdrawn.
    /// `Jailed`: suspended after an upheld dispute (a jail term, or a slash that left the stake below
    /// `minStake`); not to be used by clients; the operator returns with {unjail} or leaves with
    /// {requestExit}.
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
    /// @param jailedUntil The end of the latest jail term (zero if never jailed). Until then a Jailed
    /// operator cannot {unjail} and a withdrawn one cannot register again.
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
        uint256 jailedUntil;
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

    /// @notice Emitted on a slash: `reward` went to the disputes contract (for the challenger),
    /// `toTreasury` to the treasury; `stake` is what remains.
    event Slashed(
        address indexed operator,
        bytes32 indexed disputeId,
        uint256 amount,
        uint256 reward,
        uint256 toTreasury,
        uint256 stake
    );

    /// @notice Emitted when an operator is jailed (by the disputes contract, or by a slash that left
    /// its stake below `minStake`); `previous` is the status it had, `until` the end of its term
    /// (after a slash below `minStake`, the term it already had: zero or past if none runs).
    event Jailed(address indexed operator, Status previous, uint256 until);

    /// @notice Emitted when a Jailed operator returns to Active.
    event Unjailed(address indexed operator);

    /// @notice Emitted when the admin schedules a new treasury; it receives slashes from `effectiveAt`.
    event TreasuryScheduled(address oldTreasury, address newTreasury, uint256 effectiveAt);

    /// @notice Emitted when an operator names the secp256k1 key that signs its EIP-712 evidence
    /// (receipts and page commitments, see {IDisputes}); `previous` is retired from now.
    event EvidenceSignerSet(address indexed operator, address indexed previous, address indexed signer);

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

    /// @notice The peer id is empty, a multiaddr is empty, or there are no or too many multiaddrs.
    error MailboxRegistryInvalidEndpoint();

    /// @notice `field` ("peerId", "multiaddr" or "metadataURI") is `length` bytes, above `max`.
    error MailboxRegistryStringTooLong(string field, uint256 length, uint256 max);

    /// @notice The unbonding period has not ended.
    error MailboxRegistryStillUnbonding(address operator, uint256 withdrawableAt);

    /// @notice The slash exceeds what may still be taken from this stake in the current slash period.
    error MailboxRegistrySlashTooLarge(address operator, uint256 amount, uint256 slashable);

    /// @notice Only the disputes contract may slash or jail.
    error MailboxRegistryNotDisputes(address caller);

    /// @notice This dispute already slashed (each dispute slashes at most once).
    error MailboxRegistryDisputeAlreadySlashed(bytes32 disputeId);

    /// @notice A jail term must end after now and at most `unbondingPeriod` from now (`latest`).
    error MailboxRegistryInvalidJailTerm(uint256 until, uint256 latest);

    /// @notice The operator's jail term runs until `until`.
    error MailboxRegistryStillJailed(address operator, uint256 until);

    /// @notice A constructor parameter is out of range.
    error MailboxRegistryInvalidParameter(string name);

    /// @notice The treasury cannot be the zero address, the registry or the token (slashes would
    /// be stuck or revert).
    error MailboxRegistryInvalidTreasury(address treasury);

    /// @notice `receiveApproval` was called by a contract other than the token, or for another token.
    error MailboxRegistryInvalidApproval(address caller, address token);

    /// @notice `receiveApproval` data does not start with a supported selector.
    error MailboxRegistryUnsupportedCall(bytes4 selector);

    /// @notice The amount declared in `approveAndCall` data is neither zero nor the approved amount.
    error MailboxRegistryDeclaredAmountMismatch(uint256 declared, uint256 approved);

    /// @notice An evidence signer must be non-zero and never named by this operator before.
    error MailboxRegistryInvalidEvidenceSigner(address signer);

    /// @notice Longest peer id, in bytes (128).
    // solhint-disable-next-line func-name-mixedcase
    function MAX_PEER_ID_BYTES() external view returns (uint256);

    /// @notice Most multiaddrs per entry (8).
    // solhint-disable-next-line func-name-mixedcase
    function MAX_MULTIADDRS() external view returns (uint256);

    /// @notice Longest multiaddr, in bytes (256).
    // solhint-disable-next-line func-name-mixedcase
    function MAX_MULTIADDR_BYTES() external view returns (uint256);

    /// @notice Longest metadata URI, in bytes (2048: a `data:application/json` URI of a small card fits).
    // solhint-disable-next-line func-name-mixedcase
    function MAX_METADATA_URI_BYTES() external view returns (uint256);

    /// @notice The staking token (SNT).
    function token() external view returns (address);

    /// @notice The least stake a registration needs; below it (after a slash) an entry is not Active.
    function minStake() external view returns (uint256);

    /// @notice Seconds between the end of an exiting operator's last promise and `withdrawStake`
    /// (between `requestExit` and `withdrawStake` for a zero retention); also the longest jail term.
    function unbondingPeriod() external view returns (uint256);

    /// @notice Seconds before an announced price increase takes effect (at most `unbondingPeriod`).
    function priceDelay() external view returns (uint256);

    /// @notice The largest share of a stake that may be slashed per `slashPeriod`, in basis points.
    function maxSlashBps() external view returns (uint256);

    /// @notice Seconds of one slash period: the first slash after a period ended opens a new one,
    /// allowing `maxSlashBps` of the stake as it is then.
    function slashPeriod() external view returns (uint256);

    /// @notice The share of a slash paid to the disputes contract (for the challenger), in basis
    /// points; the rest goes to the treasury.
    function slashRewardBps() external view returns (uint256);

    /// @notice The only address that may slash and jail (the disputes contract), fixed at construction.
    function disputes() external view returns (address);

    /// @notice Where the non-reward part of slashes goes now.
    function treasury() external view returns (address);

    /// @notice A scheduled treasury and when it takes over (zeros when none is pending).
    function pendingTreasury() external view returns (address treasury_, uint256 effectiveAt);

    /// @notice What one slash could take from `operator` now (the rest of the period's allowance).
    function slashable(address operator) external view returns (uint256);

    /// @notice Registers `msg.sender`'s mailbox, pulling `stake` with `transferFrom`.
    /// @dev Emits {MailboxRegistered}. Requirements: no live registration and no jail term running;
    /// the measured stake is at least `minStake`; a peer id of 1 to 128 bytes; 1 to 8 multiaddrs of
    /// 1 to 256 bytes each; a metadata URI of at most 2048 bytes.
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
    /// @dev Emits {StakeAdded}. A Jailed entry stays Jailed until its operator calls {unjail}.
    function addStake(address operator, uint256 amount) external;

    /// @notice MiniMe / ERC-20 `approveAndCall` hook: `data` is the ABI-encoded call to {register}
    /// or {addStake} (selector first); `from` is the operator (register) or the funder (addStake);
    /// the approved amount is what is staked, and a non-zero declared amount must equal it.
    function receiveApproval(address from, uint256 amount, address token_, bytes calldata data) external;

    /// @notice Announces new prices: decreases apply at once, increases after `priceDelay`.
    /// @dev Emits {PriceAnnounced}. Requirements: Active.
    function announcePrice(uint256 pricePerQuery, uint256 pricePerMessage) external;

    /// @notice The prices a client pays now (pending prices once their time has come).
    function effectivePrice(address operator) external view returns (uint256 pricePerQuery, uint256 pricePerMessage);

    /// @notice Updates the peer id, multiaddrs and metadata URI (same limits as {register}).
    /// @dev Emits {EndpointUpdated}.
    function updateEndpoint(string calldata peerId, string[] calldata multiaddrs, string calldata metadataURI) external;

    /// @notice Updates the promised retention. A shorter one still counts the old retention from now
    /// when the operator exits (receipts already made promised it).
    /// @dev Emits {RetentionUpdated}.
    function setRetention(uint256 retention) external;

    /// @notice Starts leaving: the mailbox stops being Active; the stake unbonds. It is withdrawable
    /// `unbondingPeriod` after the last promise the operator's receipts can have made: now plus its
    /// retention, or later if a longer retention was promised before {setRetention} shortened it.
    /// So any receipt made before the exit can still be disputed, and the dispute finalised (the
    /// disputes contract's response window is shorter than `unbondingPeriod`), before the stake goes.
    /// @dev Emits {ExitRequested}. Requirements: Active or Jailed (a jailed operator can leave).
    function requestExit() external;

    /// @notice Withdraws the whole stake at `withdrawableAt` (see {requestExit}); the entry returns to `None` and its
    /// endpoint strings are deleted.
    /// @dev Emits {StakeWithdrawn}. Requirements: Exiting and unbonded (a jail term does not delay it).
    function withdrawStake() external;

    /// @notice Names `signer` as the key that signs `msg.sender`'s evidence from now; the previous
    /// signer is retired (evidence it made before now stays valid: see {evidenceSignerTerm}).
    /// @dev Emits {EvidenceSignerSet}. Requirements: registered (any status but None); `signer` not
    /// zero and never named by this operator before.
    function setEvidenceSigner(address signer) external;

    /// @notice The key that signs `operator`'s evidence now (zero if none was ever named). It stays
    /// named after a withdrawal.
    function evidenceSigner(address operator) external view returns (address);

    /// @notice When `operator` named `signer` (`since`, block time; zero if never) and when it was
    /// replaced (`until`; 2^64 - 1 while it is the current signer). The disputes contract accepts
    /// evidence signed by `signer` and dated (in seconds) before `until`.
    function evidenceSignerTerm(address operator, address signer) external view returns (uint256 since, uint256 until);

    /// @notice In one read, what the disputes contract checks of a piece of evidence: `operator`'s
    /// status and `signer`'s term as its evidence signer (as {evidenceSignerTerm}).
    function evidenceCheck(
        address operator,
        address signer
    ) external view returns (Status status, uint256 since, uint256 until);

    /// @notice In one read, what an upheld dispute needs: `operator`'s status, stake and {slashable}.
    function slashState(address operator) external view returns (Status status, uint256 stake, uint256 slashableNow);

    /// @notice Returns `msg.sender`'s Jailed entry to Active once its jail term is over and its stake
    /// is at least `minStake` (top up with {addStake} first if a slash left it below).
    /// @dev Emits {Unjailed}.
    function unjail() external;

    /// @notice Takes `amount` of `operator`'s stake for the upheld dispute `disputeId`: `slashRewardBps`
    /// of it to the caller (the disputes contract pays the challenger), the rest to the treasury. An
    /// Active operator left below `minStake` becomes Jailed.
    /// @dev Emits {Slashed} (and {Jailed}). Requirements: caller is `disputes`; the operator is
    /// registered (any status but None); 0 < amount <= {slashable}; `disputeId` never slashed before.
    function slash(address operator, uint256 amount, bytes32 disputeId) external;

    /// @notice Jails `operator` until `until` (a later term than the current one extends it). An
    /// Active operator becomes Jailed; an Exiting one keeps exiting (it cannot register again before
    /// `until`).
    /// @dev Emits {Jailed}. Requirements: caller is `disputes`; the operator is registered;
    /// now < until <= now + `unbondingPeriod`.
    function jail(address operator, uint256 until) external;

    /// @notice Schedules `newTreasury`; it receives slashes from `defaultAdminDelay()` from now.
    /// Scheduling again replaces a pending change.
    /// @dev Emits {TreasuryScheduled}. Requirements: DEFAULT_ADMIN_ROLE; not zero, the registry or
    /// the token.
    function scheduleTreasury(address newTreasury) external;

    /// @notice One operator's entry (status None and zeros if unknown).
    function getMailbox(address operator) external view returns (Mailbox memory);

    /// @notice How many operators ever registered (entries are never removed; see `status`).
    function mailboxCount() external view returns (uint256);

    /// @notice Up to `limit` entries from `offset`, in registration order.
    function getMailboxes(uint256 offset, uint256 limit) external view returns (Mailbox[] memory);
}
