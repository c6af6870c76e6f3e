// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IDisputes} from "./interfaces/IDisputes.sol";
import {IMailboxRegistry} from "./interfaces/IMailboxRegistry.sol";

/// @title Disputes
/// @notice Custody disputes and omission proofs over mailboxes' EIP-712 evidence; the registry's
/// only slasher and jailer. See {IDisputes}.
/// @dev The registry is deployed first with this contract's predicted address as its immutable
/// `disputes` (the deployer's next nonce); the constructor refuses a registry that names any other
/// address, so a wrong prediction fails at deployment. Every state change is written before the
/// external calls (the registry's slash and jail, token transfers), behind a re-entrancy guard.
contract Disputes is IDisputes, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 private constant _RECEIPT_TYPEHASH = keccak256(
        // solhint-disable-next-line max-line-length
        "Receipt(address operator,bytes32 envelopeId,string contentTopic,uint64 timestamp,uint64 storedAt,uint64 retainUntil)"
    );
    bytes32 private constant _PAGE_TYPEHASH = keccak256(
        // solhint-disable-next-line max-line-length
        "PageCommitment(address operator,string[] contentTopics,uint64 timeStart,uint64 timeEnd,bytes32[] ids,bytes32 nextCursor,uint64 servedAt)"
    );
    bytes32 private constant _PRESENCE_TYPEHASH = keccak256(
        "Presence(address operator,bytes32[] ids,uint64 servedAt,uint64 retainUntil)"
    );
    uint256 private constant _BPS = 10_000;

    IMailboxRegistry private immutable _registry;
    IERC20 private immutable _token;
    uint256 private immutable _bond;
    uint256 private immutable _responseWindow;
    uint256 private immutable _slashBps;
    uint256 private immutable _jailTerm;

    mapping(bytes32 disputeId => Dispute) private _disputes;

    /// @param registry_ The registry; its `disputes()` must be this contract's address.
    /// @param bond_ SNT locked by a custody dispute (1 .. 2^96 - 1).
    /// @param responseWindow_ Seconds to answer (1 s .. below the registry's `unbondingPeriod`, so an
    /// operator that starts exiting after a dispute opened is still registered when it finalises).
    /// @param slashBps_ Share of the stake an upheld dispute slashes (1 .. 10000; capped by the
    /// registry's per-period allowance).
    /// @param jailTerm_ Seconds an upheld dispute jails (0 .. the registry's `unbondingPeriod`).
    constructor(
        IMailboxRegistry registry_,
        uint256 bond_,
        uint256 responseWindow_,
        uint256 slashBps_,
        uint256 jailTerm_
    ) EIP712("Postbox Disputes", "1") {
        if (address(registry_) == address(0)) revert DisputesInvalidParameter("registry");
        address named = registry_.disputes();
        if (named != address(this)) revert DisputesRegistryMismatch(named);
        uint256 unbonding = registry_.unbondingPeriod();
        if (bond_ == 0 || bond_ > type(uint96).max) revert DisputesInvalidParameter("bond");
        if (responseWindow_ == 0 || responseWindow_ >= unbonding) revert DisputesInvalidParameter("responseWindow");
        if (slashBps_ == 0 || slashBps_ > _BPS) revert DisputesInvalidParameter("slashBps");
        if (jailTerm_ > unbonding) revert DisputesInvalidParameter("jailTerm");
        _registry = registry_;
        _token = IERC20(registry_.token());
        _bond = bond_;
        _responseWindow = responseWindow_;
        _slashBps = slashBps_;
        _jailTerm = jailTerm_;
    }

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IDisputes
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IDisputes
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IDisputes
    function bond() external view returns (uint256) {
        return _bond;
    }

    /// @inheritdoc IDisputes
    function responseWindow() external view returns (uint256) {
        return _responseWindow;
    }

    /// @inheritdoc IDisputes
    function slashBps() external view returns (uint256) {
        return _slashBps;
    }

    /// @inheritdoc IDisputes
    function jailTerm() external view returns (uint256) {
        return _jailTerm;
    }

    /// @inheritdoc IDisputes
    function receiptDigest(Receipt calldata receipt) public view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        _RECEIPT_TYPEHASH,
                        receipt.operator,
                        receipt.envelopeId,
                        keccak256(bytes(receipt.contentTopic)),
                        receipt.timestamp,
                        receipt.storedAt,
                        receipt.retainUntil
                    )
                )
            );
    }

    /// @inheritdoc IDisputes
    function commitmentDigest(PageCommitment calldata c) public view returns (bytes32) {
        uint256 n = c.contentTopics.length;
        bytes32[] memory topicHashes = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) topicHashes[i] = keccak256(bytes(c.contentTopics[i]));
        bytes32 idsHash = _hashIds(c.ids);
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        _PAGE_TYPEHASH,
                        c.operator,
                        keccak256(abi.encodePacked(topicHashes)),
                        c.timeStart,
                        c.timeEnd,
                        idsHash,
                        c.nextCursor,
                        c.servedAt
                    )
                )
            );
    }

    /// @inheritdoc IDisputes
    function presenceDigest(Presence calldata p) public view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(abi.encode(_PRESENCE_TYPEHASH, p.operator, _hashIds(p.ids), p.servedAt, p.retainUntil))
            );
    }

    /// @inheritdoc IDisputes
    function envelopeId(Envelope calldata e) public pure returns (bytes32) {
        // canonical(): each field as a 4-byte big-endian length then its bytes; integers as 8-byte
        // big-endian. "postbox/envelope/1" is 18 bytes.
        return
            sha256(
                abi.encodePacked(
                    uint32(18),
                    "postbox/envelope/1",
                    uint32(8),
                    e.version,
                    uint32(bytes(e.contentTopic).length),
                    e.contentTopic,
                    uint32(8),
                    e.timestamp,
                    uint32(e.payload.length),
                    e.payload
                )
            );
    }

    /// @inheritdoc IDisputes
    function getDispute(bytes32 disputeId) external view returns (Dispute memory) {
        return _disputes[disputeId];
    }

    // ---------------------------------------------------------------------------------------------
    // Custody
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IDisputes
    function disputeCustody(
        Receipt calldata receipt,
        bytes calldata signature
    ) external nonReentrant returns (bytes32 disputeId) {
        disputeId = receiptDigest(receipt);
        if (_disputes[disputeId].state != State.None) revert DisputesAlreadyDisputed(disputeId);
        address operator = receipt.operator;
        _requireSigner(operator, disputeId, signature, receipt.storedAt);
        uint256 nowMs = block.timestamp * 1000;
        if (nowMs >= receipt.retainUntil) revert DisputesReceiptExpired(receipt.retainUntil, nowMs);

        uint64 deadline = uint64(block.timestamp + _responseWindow);
        _record(disputeId, msg.sender, uint96(_bond), operator, deadline, State.Open, receipt.envelopeId);
        emit CustodyDisputed(disputeId, operator, msg.sender, receipt.envelopeId, _bond, deadline);
        // A short delivery (a fee-on-transfer token) is refused rather than under-bonded.
        uint256 before = _token.balanceOf(address(this));
        _token.safeTransferFrom(msg.sender, address(this), _bond);
        if (_token.balanceOf(address(this)) - before != _bond) revert DisputesInvalidParameter("bond transfer");
    }

    /// @inheritdoc IDisputes
    function answerCustody(bytes32 disputeId, Envelope calldata envelope) external nonReentrant {
        Dispute storage d = _disputes[disputeId];
        if (d.state != State.Open) revert DisputesNotOpen(disputeId, d.state);
        if (block.timestamp > d.deadline) revert DisputesWindowClosed(disputeId, d.deadline);
        bytes32 id = envelopeId(envelope);
        if (id != d.envelopeId) revert DisputesWrongEnvelope(d.envelopeId, id);
        d.state = State.Answered;
        uint256 amount = d.bond;
        address operator = d.operator;
        emit CustodyAnswered(disputeId, operator, msg.sender, amount);
        _token.safeTransfer(operator, amount);
    }

    /// @inheritdoc IDisputes
    function finaliseCustody(bytes32 disputeId) external nonReentrant {
        Dispute storage d = _disputes[disputeId];
        if (d.state != State.Open) revert DisputesNotOpen(disputeId, d.state);
        if (block.timestamp <= d.deadline) revert DisputesWindowOpen(disputeId, d.deadline);
        d.state = State.Upheld;
        _uphold(disputeId, d.operator, d.challenger, d.bond, false);
    }

    // ---------------------------------------------------------------------------------------------
    // Omission
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IDisputes
    function proveOmission(
        PageCommitment calldata commitment,
        bytes calldata commitmentSignature,
        Receipt calldata receipt,
        bytes calldata receiptSignature,
        Envelope calldata envelope
    ) external nonReentrant returns (bytes32 disputeId) {
        disputeId = commitmentDigest(commitment);
        if (_disputes[disputeId].state != State.None) revert DisputesAlreadyDisputed(disputeId);
        address operator = commitment.operator;
        if (receipt.operator != operator) revert DisputesOperatorMismatch(receipt.operator, operator);
        _requireSigners(
            operator,
            disputeId,
            commitmentSignature,
            commitment.servedAt,
            receiptDigest(receipt),
            receiptSignature,
            receipt.storedAt
        );
        // The mailbox held it when it served the page: stored before, and still promised.
        if (receipt.storedAt >= commitment.servedAt || commitment.servedAt >= receipt.retainUntil) {
            revert DisputesNotHeldWhenServed(receipt.storedAt, receipt.retainUntil, commitment.servedAt);
        }
        bytes32 id = envelopeId(envelope);
        if (id != receipt.envelopeId) revert DisputesWrongEnvelope(receipt.envelopeId, id);
        _upholdOmission(disputeId, commitment, operator, envelope, id);
    }

    /// @inheritdoc IDisputes
    function proveOmissionByPresence(
        PageCommitment calldata commitment,
        bytes calldata commitmentSignature,
        Presence calldata presence,
        bytes calldata presenceSignature,
        Envelope calldata envelope
    ) external nonReentrant returns (bytes32 disputeId) {
        disputeId = commitmentDigest(commitment);
        if (_disputes[disputeId].state != State.None) revert DisputesAlreadyDisputed(disputeId);
        address operator = commitment.operator;
        if (presence.operator != operator) revert DisputesOperatorMismatch(presence.operator, operator);
        _requireSigners(
            operator,
            disputeId,
            commitmentSignature,
            commitment.servedAt,
            presenceDigest(presence),
            presenceSignature,
            presence.servedAt
        );
        // The mailbox held it when it served the page: it had looked it up before (its presence
        // answer's `servedAt` is taken after the lookup), and still promised to keep it.
        if (presence.servedAt >= commitment.servedAt || commitment.servedAt >= presence.retainUntil) {
            revert DisputesNotHeldWhenServed(presence.servedAt, presence.retainUntil, commitment.servedAt);
        }
        bytes32 id = envelopeId(envelope);
        if (!_listed(presence.ids, id)) revert DisputesNotHeld(id);
        _upholdOmission(disputeId, commitment, operator, envelope, id);
    }

    // ---------------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------------

    /// @dev The half of an omission proof that does not depend on how the mailbox showed it held
    /// the envelope (`id`, already checked against that evidence): the envelope's timestamp and
    /// topic fall in the commitment's span and topics, its id is not in the committed list; then
    /// the dispute is recorded Upheld and the operator slashed and jailed, the prover paid.
    function _upholdOmission(
        bytes32 disputeId,
        PageCommitment calldata commitment,
        address operator,
        Envelope calldata envelope,
        bytes32 id
    ) private {
        if (envelope.timestamp < commitment.timeStart || envelope.timestamp > commitment.timeEnd) {
            revert DisputesOutOfRange();
        }
        bytes32 topic = keccak256(bytes(envelope.contentTopic));
        bool onTopic = false;
        uint256 n = commitment.contentTopics.length;
        for (uint256 i = 0; i < n && !onTopic; ++i) {
            onTopic = keccak256(bytes(commitment.contentTopics[i])) == topic;
        }
        if (!onTopic) revert DisputesOutOfRange();
        if (_listed(commitment.ids, id)) revert DisputesNotOmitted(id);

        _record(disputeId, msg.sender, 0, operator, uint64(block.timestamp), State.Upheld, id);
        _uphold(disputeId, operator, msg.sender, 0, true);
    }

    /// @dev EIP-712's hash of a bytes32[]: keccak256 of the elements concatenated, copied from
    /// calldata in one go (`abi.encodePacked` of a calldata array copies it element by element).
    function _hashIds(bytes32[] calldata ids) private pure returns (bytes32 idsHash) {
        assembly ("memory-safe") {
            let scratch := mload(0x40)
            let length := shl(5, ids.length)
            calldatacopy(scratch, ids.offset, length)
            idsHash := keccak256(scratch, length)
        }
    }

    /// @dev Whether `id` is in `ids`. A scan of the list in calldata (the ABI decoder has checked that
    /// it lies within it), four elements a round, then the rest one by one: less than half the gas
    /// of the indexed loop, which bounds-checks each element (~4k less for 100 ids).
    function _listed(bytes32[] calldata ids, bytes32 id) private pure returns (bool listed) {
        assembly ("memory-safe") {
            let p := ids.offset
            let end := add(p, shl(5, ids.length))
            let end4 := add(p, shl(7, shr(2, ids.length)))
            for {} lt(p, end4) {
                p := add(p, 0x80)
            } {
                if or(
                    or(eq(calldataload(p), id), eq(calldataload(add(p, 0x20)), id)),
                    or(eq(calldataload(add(p, 0x40)), id), eq(calldataload(add(p, 0x60)), id))
                ) {
                    listed := 1
                    break
                }
            }
            for {} and(iszero(listed), lt(p, end)) {
                p := add(p, 0x20)
            } {
                if eq(calldataload(p), id) {
                    listed := 1
                }
            }
        }
    }

    /// @dev Writes a whole record, one store per slot. (Assigning a {Dispute} writes it field by
    /// field, reading each slot back before every write.) Solidity's layout for {Dispute}:
    /// (challenger, bond), (operator, deadline, state), envelopeId.
    function _record(
        bytes32 disputeId,
        address challenger,
        uint96 bondAmount,
        address operator,
        uint64 deadline,
        State state,
        bytes32 id
    ) private {
        Dispute storage d = _disputes[disputeId];
        uint256 head = uint256(uint160(challenger)) | (uint256(bondAmount) << 160);
        uint256 tail = uint256(uint160(operator)) | (uint256(deadline) << 160) | (uint256(uint8(state)) << 224);
        assembly ("memory-safe") {
            let slot := d.slot
            sstore(slot, head)
            sstore(add(slot, 1), tail)
            sstore(add(slot, 2), id)
        }
    }

    /// @dev `operator` must be registered, `signature` over `digest` must recover (OpenZeppelin's
    /// rules: 65 bytes, low `s`) to a signer `operator` named, and `atMs` must be before that signer
    /// was replaced. One registry read for all three; returns the signer and the end of its term.
    function _requireSigner(
        address operator,
        bytes32 digest,
        bytes calldata signature,
        uint64 atMs
    ) private view returns (address signer, uint256 until) {
        signer = _recover(digest, signature);
        (IMailboxRegistry.Status status, uint256 since, uint256 until_) = _registry.evidenceCheck(operator, signer);
        if (status == IMailboxRegistry.Status.None) revert DisputesUnregisteredOperator(operator);
        if (since == 0 || atMs / 1000 >= until_) revert DisputesWrongSigner(operator, signer);
        until = until_;
    }

    /// @dev The commitment's signature and the held-before evidence's (a receipt dated `storedAt`
    /// or a presence answer dated `servedAt`: `heldAtMs`), each by a signer `operator` named and
    /// dated inside its term. Usually one key signed both: its term is read once.
    function _requireSigners(
        address operator,
        bytes32 commitmentDigest_,
        bytes calldata commitmentSignature,
        uint64 servedAt,
        bytes32 heldDigest,
        bytes calldata heldSignature,
        uint64 heldAtMs
    ) private view {
        (address signer, uint256 until) = _requireSigner(operator, commitmentDigest_, commitmentSignature, servedAt);
        address heldSigner = _recover(heldDigest, heldSignature);
        if (heldSigner != signer) {
            (, until) = _signerTerm(operator, heldSigner);
            signer = heldSigner;
        }
        if (heldAtMs / 1000 >= until) revert DisputesWrongSigner(operator, signer);
    }

    /// @dev The term of `signer` as `operator`'s evidence signer; a signer never named is refused.
    function _signerTerm(address operator, address signer) private view returns (uint256 since, uint256 until) {
        (, since, until) = _registry.evidenceCheck(operator, signer);
        if (since == 0) revert DisputesWrongSigner(operator, signer);
    }

    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        ECDSA.RecoverError err;
        (signer, err, ) = ECDSA.tryRecover(digest, signature);
        if (err != ECDSA.RecoverError.NoError) revert DisputesInvalidSignature();
    }

    /// @dev Slashes `slashBps` of the stake (at most what the registry allows now), jails, and pays
    /// the challenger the reward the registry sent here plus `bondAmount`. The dispute's state is
    /// already written. An operator that is no longer registered (withdrawn) cannot be slashed: the
    /// challenger gets the bond back.
    function _uphold(
        bytes32 disputeId,
        address operator,
        address challenger,
        uint256 bondAmount,
        bool omission
    ) private {
        (IMailboxRegistry.Status status, uint256 stake, uint256 allowed) = _registry.slashState(operator);
        uint256 slashed;
        uint256 reward;
        uint256 jailedUntil;
        if (status != IMailboxRegistry.Status.None) {
            slashed = (stake * _slashBps) / _BPS;
            if (slashed > allowed) slashed = allowed;
            if (slashed != 0) {
                uint256 before = _token.balanceOf(address(this));
                _registry.slash(operator, slashed, disputeId);
                reward = _token.balanceOf(address(this)) - before;
            }
            if (_jailTerm != 0) {
                jailedUntil = block.timestamp + _jailTerm;
                _registry.jail(operator, jailedUntil);
            }
        }
        emit DisputeUpheld(disputeId, operator, challenger, omission, slashed, reward, bondAmount, jailedUntil);
        uint256 payout = reward + bondAmount;
        if (payout != 0) _token.safeTransfer(challenger, payout);
    }
}
