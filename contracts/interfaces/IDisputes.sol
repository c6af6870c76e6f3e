// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IDisputes
/// @notice Holds mailboxes to their signed promises. A mailbox's operator names a secp256k1
/// "evidence signer" in the registry ({IMailboxRegistry-setEvidenceSigner}); that key signs two
/// kinds of EIP-712 evidence (domain `{name: "Postbox Disputes", version: "1", chainId,
/// verifyingContract: this contract}`):
/// - a {Receipt}: "I stored this envelope at `storedAt` and keep it until `retainUntil`";
/// - a {PageCommitment}: "on these topics, between `timeStart` and `timeEnd`, I hold exactly `ids`";
/// - a {Presence} (a presence answer): "at `servedAt` I hold every one of `ids`, and keep each
///   until at least `retainUntil`".
///
/// Two disputes follow from them:
/// - *custody*: anyone holding a receipt, before its `retainUntil`, opens a dispute with a bond of
///   `bond` SNT; within `responseWindow` anyone (the mailbox) answers with the envelope's fields and
///   the contract recomputes its id (SHA-256 of the protocol's canonical bytes). Answered: the bond
///   goes to the operator. Unanswered: after the window anyone finalises; `slashBps` of the stake is
///   slashed (at most the registry's `slashable`), the registry's reward share of it and the bond go
///   to the challenger, and the operator is jailed for `jailTerm`;
/// - *omission* (a fraud proof, no answer): a page commitment; a receipt or a presence answer from
///   the same operator, made before the commitment was served and still within its retention then
///   (the receipt's `storedAt`, the presence answer's `servedAt`, before the commitment's
///   `servedAt`, which is before their `retainUntil`), showing the operator held the envelope; and
///   the envelope's fields, whose topic and timestamp fall in the committed range and whose id is
///   not in the committed list. The operator is slashed and jailed at once, the reward to the prover.
///
/// Each receipt can be disputed for custody once, each commitment proves one omission (by either
/// path); both are identified by their EIP-712 digest (the registry's `disputeId`). Times in
/// evidence are milliseconds since the epoch, as on the wire; block time is seconds.
interface IDisputes {
    /// @notice The lifecycle of a custody dispute (an omission is `Upheld` at once).
    enum State {
        None,
        Open,
        Answered,
        Upheld
    }

    /// @notice A custody receipt, signed by the operator's evidence signer as EIP-712
    /// `Receipt(address operator,bytes32 envelopeId,string contentTopic,uint64 timestamp,uint64
    /// storedAt,uint64 retainUntil)`.
    /// @param operator The mailbox's registry entry (its operator address).
    /// @param envelopeId The envelope's id (docs/protocol.md, "Envelope").
    /// @param contentTopic The envelope's content topic.
    /// @param timestamp The envelope's timestamp (ms).
    /// @param storedAt When the mailbox committed it to its archive (ms).
    /// @param retainUntil Until when the mailbox promises to keep it (ms).
    struct Receipt {
        address operator;
        bytes32 envelopeId;
        string contentTopic;
        uint64 timestamp;
        uint64 storedAt;
        uint64 retainUntil;
    }

    /// @notice A history page's commitment, signed by the operator's evidence signer as EIP-712
    /// `PageCommitment(address operator,string[] contentTopics,uint64 timeStart,uint64 timeEnd,
    /// bytes32[] ids,bytes32 nextCursor,uint64 servedAt)`.
    /// @param operator The mailbox's registry entry.
    /// @param contentTopics The query's topics.
    /// @param timeStart The first millisecond (inclusive) of the span the page claims to be complete for.
    /// @param timeEnd The last millisecond (inclusive) of that span.
    /// @param ids Every envelope the mailbox holds on those topics within the span, in page order.
    /// @param nextCursor The page's next cursor (zero when the query is complete); informational:
    /// the span is what is promised.
    /// @param servedAt When the page was served (ms).
    // solhint-disable-next-line gas-struct-packing
    struct PageCommitment {
        address operator;
        string[] contentTopics;
        uint64 timeStart;
        uint64 timeEnd;
        bytes32[] ids;
        bytes32 nextCursor;
        uint64 servedAt;
    }

    /// @notice A presence answer, signed by the operator's evidence signer as EIP-712
    /// `Presence(address operator,bytes32[] ids,uint64 servedAt,uint64 retainUntil)`: "at `servedAt`
    /// I hold every one of `ids`, and keep each until at least `retainUntil`". The mailbox takes
    /// `servedAt` after it looked the ids up, so every id it lists was in its archive before
    /// `servedAt`; a page served later that leaves one out (within the retention) is an omission.
    /// @param operator The mailbox's registry entry.
    /// @param ids The envelopes the mailbox says it holds (the presence query's ids it found).
    /// @param servedAt When the answer was made, after the lookup (ms).
    /// @param retainUntil Until when the mailbox promises to keep every one of `ids`, at least (ms).
    struct Presence {
        address operator;
        bytes32[] ids;
        uint64 servedAt;
        uint64 retainUntil;
    }

    /// @notice An envelope's fields (docs/protocol.md, "Envelope").
    // solhint-disable-next-line gas-struct-packing
    struct Envelope {
        uint64 version;
        string contentTopic;
        uint64 timestamp;
        bytes payload;
    }

    /// @notice One custody dispute.
    /// @param challenger Who opened it (and receives the bond back and the reward if upheld).
    /// @param bond The SNT it holds.
    /// @param operator The disputed mailbox.
    /// @param deadline The last second (inclusive) an answer is accepted; finalisable after it.
    /// @param state Its lifecycle state.
    /// @param envelopeId The id the answer must match.
    struct Dispute {
        address challenger;
        uint96 bond;
        address operator;
        uint64 deadline;
        State state;
        bytes32 envelopeId;
    }

    /// @notice A custody dispute was opened; `disputeId` is the receipt's EIP-712 digest.
    event CustodyDisputed(
        bytes32 indexed disputeId,
        address indexed operator,
        address indexed challenger,
        bytes32 envelopeId,
        uint256 bond,
        uint256 deadline
    );

    /// @notice The envelope was produced in time; the bond went to the operator.
    event CustodyAnswered(bytes32 indexed disputeId, address indexed operator, address answeredBy, uint256 bond);

    /// @notice A dispute was upheld: `slashed` taken from the stake, `reward` (the registry's reward
    /// share) and `bond` paid to `challenger`, the operator jailed until `jailedUntil` (zero if not).
    event DisputeUpheld(
        bytes32 indexed disputeId,
        address indexed operator,
        address indexed challenger,
        bool omission,
        uint256 slashed,
        uint256 reward,
        uint256 bond,
        uint256 jailedUntil
    );

    /// @notice A constructor parameter is out of range.
    error DisputesInvalidParameter(string name);
    /// @notice The registry does not name this contract as its `disputes`.
    error DisputesRegistryMismatch(address registryDisputes);
    /// @notice The operator has no registration (status None).
    error DisputesUnregisteredOperator(address operator);
    /// @notice The signature is not 65 bytes, has a high `s`, or recovers to nothing.
    error DisputesInvalidSignature();
    /// @notice `signer` is not, and was not at the evidence's time, `operator`'s evidence signer.
    error DisputesWrongSigner(address operator, address signer);
    /// @notice The receipt's retention is over (`retainUntil` ms, `now` ms).
    error DisputesReceiptExpired(uint256 retainUntil, uint256 now);
    /// @notice This evidence was already used (`disputeId` exists).
    error DisputesAlreadyDisputed(bytes32 disputeId);
    /// @notice The dispute is not open.
    error DisputesNotOpen(bytes32 disputeId, State state);
    /// @notice The response window closed at `deadline`.
    error DisputesWindowClosed(bytes32 disputeId, uint256 deadline);
    /// @notice The response window is still open until `deadline`.
    error DisputesWindowOpen(bytes32 disputeId, uint256 deadline);
    /// @notice The envelope's id is `actual`, not `expected`.
    error DisputesWrongEnvelope(bytes32 expected, bytes32 actual);
    /// @notice The receipt (or presence answer) and the commitment name different operators.
    error DisputesOperatorMismatch(address receiptOperator, address commitmentOperator);
    /// @notice The receipt (or presence answer) was not made before the page was served (its
    /// `storedAt`, or the presence answer's `servedAt`), or its retention had ended by then.
    error DisputesNotHeldWhenServed(uint256 storedAt, uint256 retainUntil, uint256 servedAt);
    /// @notice The envelope's id is not among the presence answer's ids: it does not show the
    /// mailbox held it.
    error DisputesNotHeld(bytes32 envelopeId);
    /// @notice The envelope's topic or timestamp is outside the committed span.
    error DisputesOutOfRange();
    /// @notice The envelope's id is in the committed list: nothing was omitted.
    error DisputesNotOmitted(bytes32 envelopeId);

    /// @notice The registry whose stakes this contract slashes (its `disputes` is this contract).
    function registry() external view returns (address);

    /// @notice The bond token (the registry's staking token).
    function token() external view returns (address);

    /// @notice The SNT a custody dispute locks.
    function bond() external view returns (uint256);

    /// @notice Seconds the mailbox has to answer a custody dispute.
    function responseWindow() external view returns (uint256);

    /// @notice The share of the stake an upheld dispute slashes, in basis points (capped by the
    /// registry's `slashable`).
    function slashBps() external view returns (uint256);

    /// @notice Seconds an upheld dispute jails the operator (zero: no jail).
    function jailTerm() external view returns (uint256);

    /// @notice The EIP-712 digest of a receipt (its custody dispute id).
    function receiptDigest(Receipt calldata receipt) external view returns (bytes32);

    /// @notice The EIP-712 digest of a page commitment (its omission dispute id).
    function commitmentDigest(PageCommitment calldata commitment) external view returns (bytes32);

    /// @notice The EIP-712 digest of a presence answer.
    function presenceDigest(Presence calldata presence) external view returns (bytes32);

    /// @notice An envelope's id: SHA-256 of canonical("postbox/envelope/1", version, contentTopic,
    /// timestamp, payload) (docs/protocol.md, "Canonical bytes").
    function envelopeId(Envelope calldata envelope) external pure returns (bytes32);

    /// @notice One dispute's record.
    function getDispute(bytes32 disputeId) external view returns (Dispute memory);

    /// @notice Opens a custody dispute on `receipt`, pulling `bond` SNT from the caller (approve first).
    /// @dev Emits {CustodyDisputed}. Requirements: the operator is registered; `signature` (65 bytes,
    /// low `s`) recovers to a signer the operator named, dated before it was replaced; now (ms) is
    /// before `retainUntil`; the receipt was never disputed.
    function disputeCustody(Receipt calldata receipt, bytes calldata signature) external returns (bytes32 disputeId);

    /// @notice Answers an open custody dispute with the envelope; anyone may answer, the bond goes
    /// to the operator.
    /// @dev Emits {CustodyAnswered}. Requirements: Open; now ≤ deadline; the envelope's id is the
    /// receipt's.
    function answerCustody(bytes32 disputeId, Envelope calldata envelope) external;

    /// @notice Upholds an unanswered custody dispute after its window: slashes, jails, pays the
    /// challenger. Anyone may call.
    /// @dev Emits {DisputeUpheld}. Requirements: Open; now > deadline.
    function finaliseCustody(bytes32 disputeId) external;

    /// @notice Proves that a mailbox omitted an envelope it held from a page it claimed complete;
    /// slashes and jails at once and pays the reward to the caller.
    /// @dev Emits {DisputeUpheld}. Requirements: both signatures by signers the operator named, dated
    /// before they were replaced; the same operator, registered; storedAt < servedAt < retainUntil;
    /// the envelope's id is the receipt's, its topic among the commitment's and its timestamp in
    /// [timeStart, timeEnd]; its id not in `ids`; the commitment never used before.
    function proveOmission(
        PageCommitment calldata commitment,
        bytes calldata commitmentSignature,
        Receipt calldata receipt,
        bytes calldata receiptSignature,
        Envelope calldata envelope
    ) external returns (bytes32 disputeId);

    /// @notice As {proveOmission}, with the mailbox's signed presence answer in place of its receipt
    /// as the evidence that it held the envelope before it served the page.
    /// @dev Emits {DisputeUpheld}. Requirements: both signatures by signers the operator named, dated
    /// before they were replaced (the presence answer at its `servedAt`); the same operator,
    /// registered; presence.servedAt < commitment.servedAt < presence.retainUntil; the envelope's id
    /// among the presence answer's `ids`, its topic among the commitment's and its timestamp in
    /// [timeStart, timeEnd]; its id not in the commitment's `ids`; the commitment never used before
    /// (by either function).
    function proveOmissionByPresence(
        PageCommitment calldata commitment,
        bytes calldata commitmentSignature,
        Presence calldata presence,
        bytes calldata presenceSignature,
        Envelope calldata envelope
    ) external returns (bytes32 disputeId);
}
