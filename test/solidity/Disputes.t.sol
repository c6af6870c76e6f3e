// SPDX-License-Identifier: MIT
// solhint-disable one-contract-per-file
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Disputes} from "../../contracts/Disputes.sol";
import {IDisputes} from "../../contracts/interfaces/IDisputes.sol";
import {IMailboxRegistry} from "../../contracts/interfaces/IMailboxRegistry.sol";
import {MailboxRegistry} from "../../contracts/MailboxRegistry.sol";
import {DisputesFixture} from "./utils/DisputesFixture.sol";

/// @notice The registry's evidence signer, and the disputes contract's construction.
contract EvidenceSignerTest is DisputesFixture {
    function test_setEvidenceSigner_recordsTheTermAndRetiresThePrevious() public {
        assertEq(registry.evidenceSigner(operator), evidenceSigner, "signer");
        (uint256 since, uint256 until) = registry.evidenceSignerTerm(operator, evidenceSigner);
        assertEq(since, T0, "since");
        assertEq(until, type(uint64).max, "current");
        address next = vm.addr(OTHER_EVIDENCE_KEY);
        vm.warp(T0 + 100);
        vm.prank(operator);
        registry.setEvidenceSigner(next);
        assertEq(registry.evidenceSigner(operator), next, "rotated");
        (since, until) = registry.evidenceSignerTerm(operator, evidenceSigner);
        assertEq(until, T0 + 100, "retired");
        (since, until) = registry.evidenceSignerTerm(operator, next);
        assertEq(since, T0 + 100, "new since");
    }

    function test_setEvidenceSigner_refusesZeroReuseAndUnregistered() public {
        vm.prank(operator);
        vm.expectRevert(
            abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryInvalidEvidenceSigner.selector, address(0))
        );
        registry.setEvidenceSigner(address(0));
        vm.prank(operator);
        vm.expectRevert(
            abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryInvalidEvidenceSigner.selector, evidenceSigner)
        );
        registry.setEvidenceSigner(evidenceSigner);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMailboxRegistry.MailboxRegistryInvalidStatus.selector,
                stranger,
                IMailboxRegistry.Status.None
            )
        );
        registry.setEvidenceSigner(vm.addr(OTHER_EVIDENCE_KEY));
    }

    function test_constructor_refusesARegistryThatNamesAnotherDisputes() public {
        // The fixture's own registry names the stand-in.
        MailboxRegistry other = registryOn(IERC20(address(snt)));
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesRegistryMismatch.selector, address(disputes)));
        new Disputes(other, BOND, WINDOW, SLASH_BPS, JAIL);
    }

    function test_constructor_wiringAndParameters() public view {
        assertEq(registry.disputes(), address(dc), "registry names the disputes contract");
        assertEq(dc.registry(), address(registry), "disputes names the registry");
        assertEq(dc.token(), address(snt), "token");
        assertEq(dc.bond(), BOND, "bond");
        assertEq(dc.responseWindow(), WINDOW, "window");
        assertEq(dc.slashBps(), SLASH_BPS, "share");
        assertEq(dc.jailTerm(), JAIL, "jail");
    }

    /// The canonical-bytes id of a fixed envelope equals the one createEnvelope (in the TypeScript protocol package)
    /// computes (printed by TypeScript for this test).
    function test_envelopeId_matchesTheTypeScriptVector() public view {
        IDisputes.Envelope memory e = envelope(bytes("hello postbox"), 1_700_000_000_123);
        assertEq(
            uint256(dc.envelopeId(e)),
            uint256(0x4c4cb6c96590866cbb17fd0ddf531a706665194c6ed2ac519236a749a943c62c),
            "id"
        );
    }

    /// Fuzz: the contract's id equals SHA-256 of the canonical bytes written here byte by byte from
    /// docs/protocol.md (4-byte big-endian lengths, 8-byte big-endian integers).
    function test_fuzz_envelopeIdIsTheSpecsCanonicalBytes(
        uint64 version,
        bytes calldata topic,
        uint64 timestamp,
        bytes calldata payload
    ) public view {
        IDisputes.Envelope memory e = IDisputes.Envelope(version, string(topic), timestamp, payload);
        bytes memory out = new bytes(4 + 18 + 4 + 8 + 4 + topic.length + 4 + 8 + 4 + payload.length);
        uint256 pos = 0;
        pos = field(out, pos, bytes("postbox/envelope/1"));
        pos = field(out, pos, u64(version));
        pos = field(out, pos, topic);
        pos = field(out, pos, u64(timestamp));
        pos = field(out, pos, payload);
        assertEq(pos, out.length, "length");
        assertEq(uint256(dc.envelopeId(e)), uint256(sha256(out)), "id");
    }

    function u64(uint64 v) internal pure returns (bytes memory b) {
        b = new bytes(8);
        for (uint256 i = 0; i < 8; ++i) b[7 - i] = bytes1(uint8(v >> (8 * i)));
    }

    function field(bytes memory out, uint256 pos, bytes memory data) internal pure returns (uint256) {
        uint256 n = data.length;
        for (uint256 i = 0; i < 4; ++i) out[pos + 3 - i] = bytes1(uint8(n >> (8 * i)));
        for (uint256 i = 0; i < n; ++i) out[pos + 4 + i] = data[i];
        return pos + 4 + n;
    }
}

/// @notice Custody disputes: every path and every refusal.
contract CustodyTest is DisputesFixture {
    function test_open_locksTheBond() public {
        IDisputes.Envelope memory e = envelope("payload", ms(T0));
        uint256 before = snt.balanceOf(challenger);
        bytes32 id = openCustody(e);
        IDisputes.Dispute memory d = dc.getDispute(id);
        assertEq(uint256(d.state), uint256(IDisputes.State.Open), "open");
        assertEq(d.challenger, challenger, "challenger");
        assertEq(d.operator, operator, "operator");
        assertEq(d.deadline, T0 + WINDOW, "deadline");
        assertEq(uint256(d.envelopeId), uint256(dc.envelopeId(e)), "envelope");
        assertEq(snt.balanceOf(challenger), before - BOND, "bond taken");
        assertEq(snt.balanceOf(address(dc)), BOND, "bond held");
    }

    function test_answered_bondPaysTheOperator_noSlash() public {
        IDisputes.Envelope memory e = envelope("payload", ms(T0));
        bytes32 id = openCustody(e);
        uint256 before = snt.balanceOf(operator);
        vm.warp(T0 + WINDOW); // the last second of the window
        vm.prank(operator);
        dc.answerCustody(id, e);
        assertEq(uint256(dc.getDispute(id).state), uint256(IDisputes.State.Answered), "answered");
        assertEq(snt.balanceOf(operator), before + BOND, "bond to the operator");
        assertEq(stakeOf(operator), STAKE, "stake untouched");
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesNotOpen.selector, id, IDisputes.State.Answered));
        dc.finaliseCustody(id);
    }

    function test_anyoneMayAnswer_theBondStillGoesToTheOperator() public {
        IDisputes.Envelope memory e = envelope("payload", ms(T0));
        bytes32 id = openCustody(e);
        uint256 before = snt.balanceOf(operator);
        vm.prank(stranger);
        dc.answerCustody(id, e);
        assertEq(snt.balanceOf(operator), before + BOND, "bond to the operator");
    }

    function test_unanswered_finalised_slashesRewardsAndJails() public {
        IDisputes.Envelope memory e = envelope("payload", ms(T0));
        bytes32 id = openCustody(e);
        uint256 challengerBefore = snt.balanceOf(challenger);
        uint256 treasuryBefore = snt.balanceOf(treasury);
        vm.warp(T0 + WINDOW + 1);
        vm.prank(stranger);
        dc.finaliseCustody(id);
        uint256 slashed = (STAKE * SLASH_BPS) / 10_000;
        uint256 reward = (slashed * REWARD_BPS) / 10_000;
        assertEq(stakeOf(operator), STAKE - slashed, "slashed");
        assertEq(snt.balanceOf(challenger), challengerBefore + BOND + reward, "bond back plus reward");
        assertEq(snt.balanceOf(treasury), treasuryBefore + slashed - reward, "treasury share");
        assertEq(snt.balanceOf(address(dc)), 0, "nothing left behind");
        IMailboxRegistry.Mailbox memory m = registry.getMailbox(operator);
        assertEq(uint256(m.status), uint256(IMailboxRegistry.Status.Jailed), "jailed");
        assertEq(m.jailedUntil, T0 + WINDOW + 1 + JAIL, "jail term");
        assertEq(uint256(dc.getDispute(id).state), uint256(IDisputes.State.Upheld), "upheld");
    }

    function test_slashCappedByTheRegistrysPeriodAllowance() public {
        // Four upheld disputes in one slash period: 5 % of the stake each until the registry's 10 %
        // cap is reached (500, 475, then the 25 left); the fourth takes nothing and returns the bond.
        bytes32 a = openCustody(envelope("a", ms(T0)));
        bytes32 b = openCustody(envelope("b", ms(T0)));
        bytes32 c = openCustody(envelope("c", ms(T0)));
        bytes32 d = openCustody(envelope("d", ms(T0)));
        vm.warp(T0 + WINDOW + 1);
        dc.finaliseCustody(a);
        dc.finaliseCustody(b);
        dc.finaliseCustody(c);
        assertEq(stakeOf(operator), STAKE - (STAKE * MAX_SLASH_BPS) / 10_000, "exactly the period's cap");
        uint256 challengerBefore = snt.balanceOf(challenger);
        dc.finaliseCustody(d);
        assertEq(snt.balanceOf(challenger), challengerBefore + BOND, "bond only");
        assertEq(stakeOf(operator), STAKE - (STAKE * MAX_SLASH_BPS) / 10_000, "never above the cap");
        assertEq(snt.balanceOf(address(dc)), 0, "nothing left behind");
    }

    function test_operatorWithdrewBeforeFinalise_bondReturned() public {
        bytes32 id = openCustody(envelope("payload", ms(T0)));
        vm.prank(operator);
        registry.requestExit();
        vm.warp(T0 + EXIT);
        vm.prank(operator);
        registry.withdrawStake();
        uint256 before = snt.balanceOf(challenger);
        dc.finaliseCustody(id);
        assertEq(snt.balanceOf(challenger), before + BOND, "bond back");
    }

    function test_exitingOperatorStillSlashed() public {
        bytes32 id = openCustody(envelope("payload", ms(T0)));
        vm.prank(operator);
        registry.requestExit();
        vm.warp(T0 + WINDOW + 1);
        dc.finaliseCustody(id);
        assertEq(stakeOf(operator), STAKE - (STAKE * SLASH_BPS) / 10_000, "slashed while exiting");
    }

    // --- refusals --------------------------------------------------------------------------------

    function test_refuses_unregisteredOperator() public {
        IDisputes.Receipt memory r = receiptFor(stranger, envelope("payload", ms(T0)));
        bytes memory sig = signReceipt(EVIDENCE_KEY, r);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesUnregisteredOperator.selector, stranger));
        dc.disputeCustody(r, sig);
    }

    function test_refuses_expiredReceipt() public {
        IDisputes.Receipt memory r = receiptFor(operator, envelope("payload", ms(T0)));
        bytes memory sig = signReceipt(EVIDENCE_KEY, r);
        vm.warp(T0 + RETENTION);
        vm.prank(challenger);
        vm.expectRevert(
            abi.encodeWithSelector(IDisputes.DisputesReceiptExpired.selector, r.retainUntil, ms(T0 + RETENTION))
        );
        dc.disputeCustody(r, sig);
    }

    function test_refuses_malformedSignatures() public {
        IDisputes.Receipt memory r = receiptFor(operator, envelope("payload", ms(T0)));
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(EVIDENCE_KEY, dc.receiptDigest(r));
        bytes[] memory bad = new bytes[](3);
        bad[0] = abi.encodePacked(rr, s); // 64 bytes
        // The mirrored (high-s) signature of the same digest.
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bad[1] = abi.encodePacked(rr, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        bad[2] = abi.encodePacked(rr, s, uint8(5));
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.prank(challenger);
            vm.expectRevert(IDisputes.DisputesInvalidSignature.selector);
            dc.disputeCustody(r, bad[i]);
        }
    }

    function test_refuses_answerWithTheWrongEnvelope() public {
        IDisputes.Envelope memory e = envelope("payload", ms(T0));
        bytes32 id = openCustody(e);
        IDisputes.Envelope memory wrong = envelope("payloaD", ms(T0));
        vm.expectRevert(
            abi.encodeWithSelector(IDisputes.DisputesWrongEnvelope.selector, dc.envelopeId(e), dc.envelopeId(wrong))
        );
        dc.answerCustody(id, wrong);
        wrong = envelope("payload", ms(T0) + 1);
        vm.expectRevert();
        dc.answerCustody(id, wrong);
        wrong = e;
        wrong.version = 2;
        vm.expectRevert();
        dc.answerCustody(id, wrong);
        wrong = e;
        wrong.contentTopic = "/postbox/1/room-abd/proto";
        vm.expectRevert();
        dc.answerCustody(id, wrong);
    }

    function test_refuses_unknownDispute() public {
        bytes32 id = keccak256("nothing");
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesNotOpen.selector, id, IDisputes.State.None));
        dc.answerCustody(id, envelope("payload", ms(T0)));
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesNotOpen.selector, id, IDisputes.State.None));
        dc.finaliseCustody(id);
    }

    function test_refuses_withoutTheBond() public {
        IDisputes.Receipt memory r = receiptFor(operator, envelope("payload", ms(T0)));
        bytes memory sig = signReceipt(EVIDENCE_KEY, r);
        vm.prank(stranger); // has SNT, approved nothing
        vm.expectRevert();
        dc.disputeCustody(r, sig);
        assertEq(uint256(dc.getDispute(dc.receiptDigest(r)).state), 0, "nothing opened");
    }
}

/// @notice Omission proofs: the fraud proof and every refusal.
contract OmissionTest is DisputesFixture {
    IDisputes.Envelope internal held;
    IDisputes.Receipt internal receipt;
    bytes internal receiptSig;

    function setUp() public override {
        super.setUp();
        held = envelope("kept, then withheld", ms(T0));
        receipt = receiptFor(operator, held); // stored at T0, served at T0 + 10 min
        receiptSig = signReceipt(EVIDENCE_KEY, receipt);
    }

    /// Fuzz: the id list is found wherever the withheld id sits in it (the scan takes four ids a
    /// round, then the rest one by one), and the same list without it proves the omission.
    function test_fuzz_omission_idListedAnywhereIsNotOmitted(uint8 length, uint8 position, uint256 seed) public {
        uint256 n = 1 + (uint256(length) % 130);
        bytes32 id = dc.envelopeId(held);
        bytes32[] memory ids = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) ids[i] = keccak256(abi.encode(seed, i));
        ids[uint256(position) % n] = id;
        IDisputes.PageCommitment memory c = commitment(ids);
        bytes memory sig = signCommitment(EVIDENCE_KEY, c);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesNotOmitted.selector, id));
        dc.proveOmission(c, sig, receipt, receiptSig, held);
        ids[uint256(position) % n] = keccak256(abi.encode(seed, "another"));
        c = commitment(ids);
        prove(c);
        assertEq(stakeOf(operator), STAKE - (STAKE * SLASH_BPS) / 10_000, "slashed");
    }

    /// Fuzz: the contract's commitment digest is EIP-712's, computed here from the type string
    /// (the id list is hashed from one calldata copy in the contract).
    function test_fuzz_commitmentDigestIsEip712(
        string[] calldata topics,
        uint64 timeStart,
        uint64 timeEnd,
        bytes32[] calldata ids,
        bytes32 nextCursor,
        uint64 servedAt
    ) public view {
        IDisputes.PageCommitment memory c = IDisputes.PageCommitment(
            operator,
            topics,
            timeStart,
            timeEnd,
            ids,
            nextCursor,
            servedAt
        );
        bytes memory topicHashes = "";
        for (uint256 i = 0; i < topics.length; ++i) {
            topicHashes = abi.encodePacked(topicHashes, keccak256(bytes(topics[i])));
        }
        bytes memory idBytes = "";
        for (uint256 i = 0; i < ids.length; ++i) idBytes = abi.encodePacked(idBytes, ids[i]);
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    // solhint-disable-next-line max-line-length
                    "PageCommitment(address operator,string[] contentTopics,uint64 timeStart,uint64 timeEnd,bytes32[] ids,bytes32 nextCursor,uint64 servedAt)"
                ),
                operator,
                keccak256(topicHashes),
                timeStart,
                timeEnd,
                keccak256(idBytes),
                nextCursor,
                servedAt
            )
        );
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Postbox Disputes"),
                keccak256("1"),
                block.chainid,
                address(dc)
            )
        );
        bytes32 expected = keccak256(abi.encodePacked("\x19\x01", domain, structHash));
        assertEq(uint256(dc.commitmentDigest(c)), uint256(expected), "digest");
    }

    function prove(IDisputes.PageCommitment memory c) internal returns (bytes32) {
        return dc.proveOmission(c, signCommitment(EVIDENCE_KEY, c), receipt, receiptSig, held);
    }

    function test_omission_slashesAtOnceAndRewardsTheProver() public {
        IDisputes.PageCommitment memory c = commitment(ids2(keccak256("x"), keccak256("y")));
        uint256 before = snt.balanceOf(stranger);
        bytes memory sig = signCommitment(EVIDENCE_KEY, c);
        vm.prank(stranger);
        bytes32 id = dc.proveOmission(c, sig, receipt, receiptSig, held);
        assertEq(uint256(id), uint256(dc.commitmentDigest(c)), "dispute id = commitment digest");
        uint256 slashed = (STAKE * SLASH_BPS) / 10_000;
        assertEq(stakeOf(operator), STAKE - slashed, "slashed");
        assertEq(snt.balanceOf(stranger), before + (slashed * REWARD_BPS) / 10_000, "reward, no bond");
        assertEq(uint256(registry.getMailbox(operator).status), uint256(IMailboxRegistry.Status.Jailed), "jailed");
        IDisputes.Dispute memory d = dc.getDispute(id);
        assertEq(uint256(d.state), uint256(IDisputes.State.Upheld), "upheld");
        assertEq(d.challenger, stranger, "prover");
    }

    function test_omission_ofAPageWithANextCursorOverItsSpan() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        c.nextCursor = keccak256("more");
        c.timeEnd = held.timestamp; // the envelope is the span's last millisecond
        prove(c);
        assertEq(stakeOf(operator), STAKE - (STAKE * SLASH_BPS) / 10_000, "slashed");
    }

    function test_refuses_idActuallyInTheList() public {
        bytes32 id = dc.envelopeId(held);
        IDisputes.PageCommitment memory c = commitment(ids2(keccak256("x"), id));
        bytes memory sig = signCommitment(EVIDENCE_KEY, c);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesNotOmitted.selector, id));
        dc.proveOmission(c, sig, receipt, receiptSig, held);
    }

    function test_refuses_envelopeOutsideTheTimeSpan() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        c.timeStart = held.timestamp + 1;
        bytes memory sig = signCommitment(EVIDENCE_KEY, c);
        vm.expectRevert(IDisputes.DisputesOutOfRange.selector);
        dc.proveOmission(c, sig, receipt, receiptSig, held);
        c = commitment(new bytes32[](0));
        c.timeEnd = held.timestamp - 1;
        sig = signCommitment(EVIDENCE_KEY, c);
        vm.expectRevert(IDisputes.DisputesOutOfRange.selector);
        dc.proveOmission(c, sig, receipt, receiptSig, held);
    }

    function test_refuses_envelopeOnAnotherTopic() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        c.contentTopics[1] = "/postbox/1/room-other/proto";
        bytes memory sig = signCommitment(EVIDENCE_KEY, c);
        vm.expectRevert(IDisputes.DisputesOutOfRange.selector);
        dc.proveOmission(c, sig, receipt, receiptSig, held);
    }

    function test_refuses_receiptStoredAfterTheCommitment() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        IDisputes.Receipt memory late = receipt;
        late.storedAt = c.servedAt; // not before
        bytes memory lateSig = signReceipt(EVIDENCE_KEY, late);
        bytes memory sig = signCommitment(EVIDENCE_KEY, c);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputes.DisputesNotHeldWhenServed.selector,
                late.storedAt,
                late.retainUntil,
                c.servedAt
            )
        );
        dc.proveOmission(c, sig, late, lateSig, held);
    }

    function test_refuses_retentionOverWhenServed() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        IDisputes.Receipt memory shortLived = receipt;
        shortLived.retainUntil = c.servedAt;
        bytes memory shortSig = signReceipt(EVIDENCE_KEY, shortLived);
        bytes memory sig = signCommitment(EVIDENCE_KEY, c);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDisputes.DisputesNotHeldWhenServed.selector,
                shortLived.storedAt,
                shortLived.retainUntil,
                c.servedAt
            )
        );
        dc.proveOmission(c, sig, shortLived, shortSig, held);
    }

    function test_refuses_envelopeThatIsNotTheReceipts() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        bytes memory sig = signCommitment(EVIDENCE_KEY, c);
        IDisputes.Envelope memory other = envelope("another", ms(T0));
        vm.expectRevert(
            abi.encodeWithSelector(IDisputes.DisputesWrongEnvelope.selector, receipt.envelopeId, dc.envelopeId(other))
        );
        dc.proveOmission(c, sig, receipt, receiptSig, other);
    }

    function test_refuses_unregisteredOperator() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        c.operator = stranger;
        IDisputes.Receipt memory r = receipt;
        r.operator = stranger;
        bytes memory rs = signReceipt(EVIDENCE_KEY, r);
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesUnregisteredOperator.selector, stranger));
        dc.proveOmission(c, cs, r, rs, held);
    }
}

/// @notice Omission proofs from a presence answer (the mailbox's signed "at `servedAt` I hold these
/// ids, and keep each until `retainUntil`") in place of a receipt: the proof and every refusal.
contract PresenceOmissionTest is DisputesFixture {
    IDisputes.Envelope internal held;
    IDisputes.Presence internal presence;
    bytes internal presenceSig;

    function setUp() public override {
        super.setUp();
        held = envelope("answered present, then withheld", ms(T0));
        // Answered present a minute after it arrived; the page is served at T0 + 10 min.
        presence = presenceFor(operator, held, ms(T0 + 1 minutes));
        presenceSig = signPresence(EVIDENCE_KEY, presence);
    }

    function prove(IDisputes.PageCommitment memory c) internal returns (bytes32) {
        return dc.proveOmissionByPresence(c, signCommitment(EVIDENCE_KEY, c), presence, presenceSig, held);
    }

    function notHeldWhenServed(IDisputes.Presence memory p, uint64 servedAt) internal pure returns (bytes memory) {
        return
            abi.encodeWithSelector(IDisputes.DisputesNotHeldWhenServed.selector, p.servedAt, p.retainUntil, servedAt);
    }

    function test_presence_validProof_slashesAndJailsAtOnceAndPaysTheProver() public {
        IDisputes.PageCommitment memory c = commitment(ids2(keccak256("x"), keccak256("y")));
        uint256 before = snt.balanceOf(stranger);
        uint256 treasuryBefore = snt.balanceOf(treasury);
        bytes memory sig = signCommitment(EVIDENCE_KEY, c);
        vm.prank(stranger);
        bytes32 id = dc.proveOmissionByPresence(c, sig, presence, presenceSig, held);
        assertEq(uint256(id), uint256(dc.commitmentDigest(c)), "dispute id = commitment digest");
        uint256 slashed = (STAKE * SLASH_BPS) / 10_000;
        uint256 reward = (slashed * REWARD_BPS) / 10_000;
        assertEq(stakeOf(operator), STAKE - slashed, "slashed");
        assertEq(snt.balanceOf(stranger), before + reward, "reward to the prover, no bond");
        assertEq(snt.balanceOf(treasury), treasuryBefore + slashed - reward, "treasury share");
        assertEq(snt.balanceOf(address(dc)), 0, "nothing left behind");
        IMailboxRegistry.Mailbox memory m = registry.getMailbox(operator);
        assertEq(uint256(m.status), uint256(IMailboxRegistry.Status.Jailed), "jailed");
        assertEq(m.jailedUntil, T0 + JAIL, "jail term from now");
        IDisputes.Dispute memory d = dc.getDispute(id);
        assertEq(uint256(d.state), uint256(IDisputes.State.Upheld), "upheld");
        assertEq(d.challenger, stranger, "prover");
        assertEq(d.operator, operator, "operator");
        assertEq(uint256(d.envelopeId), uint256(dc.envelopeId(held)), "the omitted envelope");
    }

    function test_presence_emitsDisputeUpheldAsAnOmission() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        uint256 slashed = (STAKE * SLASH_BPS) / 10_000;
        vm.expectEmit();
        emit IDisputes.DisputeUpheld(
            dc.commitmentDigest(c),
            operator,
            address(this),
            true,
            slashed,
            (slashed * REWARD_BPS) / 10_000,
            0,
            T0 + JAIL
        );
        prove(c);
    }

    /// An honest mailbox that got the envelope after it served the page (by sync, say) answers
    /// present later: a presence served at or after the commitment proves nothing.
    function test_presence_refuses_servedAtOrAfterTheCommitment_envelopeArrivedLater() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        uint64[2] memory times = [c.servedAt, c.servedAt + 1 hours * 1000];
        for (uint256 i = 0; i < times.length; ++i) {
            IDisputes.Presence memory later = presenceFor(operator, held, times[i]);
            bytes memory laterSig = signPresence(EVIDENCE_KEY, later);
            vm.expectRevert(notHeldWhenServed(later, c.servedAt));
            dc.proveOmissionByPresence(c, cs, later, laterSig, held);
        }
        assertEq(stakeOf(operator), STAKE, "nothing slashed");
    }

    function test_presence_refuses_commitmentServedAtOrAfterRetainUntil() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        IDisputes.Presence memory shortLived = presence;
        shortLived.retainUntil = c.servedAt; // the promise ended as the page was served
        bytes memory shortSig = signPresence(EVIDENCE_KEY, shortLived);
        vm.expectRevert(notHeldWhenServed(shortLived, c.servedAt));
        dc.proveOmissionByPresence(c, cs, shortLived, shortSig, held);
        shortLived.retainUntil = c.servedAt - 1;
        shortSig = signPresence(EVIDENCE_KEY, shortLived);
        vm.expectRevert(notHeldWhenServed(shortLived, c.servedAt));
        dc.proveOmissionByPresence(c, cs, shortLived, shortSig, held);
        // One millisecond more and it proves.
        shortLived.retainUntil = c.servedAt + 1;
        shortSig = signPresence(EVIDENCE_KEY, shortLived);
        dc.proveOmissionByPresence(c, cs, shortLived, shortSig, held);
        assertEq(stakeOf(operator), STAKE - (STAKE * SLASH_BPS) / 10_000, "slashed");
    }

    function test_presence_refuses_envelopeIdNotInThePresenceList() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        // A presence answer that lists other envelopes, and the withheld envelope's fields.
        IDisputes.Presence memory others = presence;
        others.ids = ids2(keccak256("a"), keccak256("b"));
        bytes memory othersSig = signPresence(EVIDENCE_KEY, others);
        bytes32 id = dc.envelopeId(held);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesNotHeld.selector, id));
        dc.proveOmissionByPresence(c, cs, others, othersSig, held);
        // The genuine answer with another envelope (same topic and time): not the one it listed.
        IDisputes.Envelope memory other = envelope("another", ms(T0));
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesNotHeld.selector, dc.envelopeId(other)));
        dc.proveOmissionByPresence(c, cs, presence, presenceSig, other);
        // An empty answer ("none of them") shows nothing held.
        others.ids = new bytes32[](0);
        othersSig = signPresence(EVIDENCE_KEY, others);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesNotHeld.selector, id));
        dc.proveOmissionByPresence(c, cs, others, othersSig, held);
        assertEq(stakeOf(operator), STAKE, "nothing slashed");
    }

    function test_presence_refuses_signedByAnotherKey() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        bytes memory forged = signPresence(0xF0F0, presence);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesWrongSigner.selector, operator, vm.addr(0xF0F0)));
        dc.proveOmissionByPresence(c, cs, presence, forged, held);
        // A genuine signature over other fields does not carry over.
        IDisputes.Presence memory edited = presence;
        edited.retainUntil += 1000;
        vm.expectRevert();
        dc.proveOmissionByPresence(c, cs, edited, presenceSig, held);
        edited = presence;
        edited.ids = ids2(dc.envelopeId(held), keccak256("added after signing"));
        vm.expectRevert();
        dc.proveOmissionByPresence(c, cs, edited, presenceSig, held);
        assertEq(stakeOf(operator), STAKE, "nothing slashed");
    }

    function test_presence_refuses_signedByAnotherOperatorsKey() public {
        registerOperator2WithKey(OTHER_EVIDENCE_KEY);
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        // Names `operator`, signed by operator2's registered key.
        bytes memory sig2 = signPresence(OTHER_EVIDENCE_KEY, presence);
        vm.expectRevert(
            abi.encodeWithSelector(IDisputes.DisputesWrongSigner.selector, operator, vm.addr(OTHER_EVIDENCE_KEY))
        );
        dc.proveOmissionByPresence(c, cs, presence, sig2, held);
        assertEq(stakeOf(operator), STAKE, "nothing slashed");
    }

    function test_presence_refuses_namingAnotherOperator() public {
        registerOperator2WithKey(OTHER_EVIDENCE_KEY);
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        // operator2's genuine answer against operator's page.
        IDisputes.Presence memory theirs = presenceFor(operator2, held, ms(T0 + 1 minutes));
        bytes memory theirsSig = signPresence(OTHER_EVIDENCE_KEY, theirs);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesOperatorMismatch.selector, operator2, operator));
        dc.proveOmissionByPresence(c, cs, theirs, theirsSig, held);
        // operator's answer relabelled as operator2's: refused before any signature is read.
        IDisputes.Presence memory relabelled = presence;
        relabelled.operator = operator2;
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesOperatorMismatch.selector, operator2, operator));
        dc.proveOmissionByPresence(c, cs, relabelled, presenceSig, held);
        assertEq(stakeOf(operator), STAKE, "nothing slashed");
        assertEq(stakeOf(operator2), STAKE, "nor operator2");
    }

    /// A key retired at T0 + 1 h: its answers dated after are refused, those dated before stand
    /// (the page signed by the new key).
    function test_presence_refuses_retiredKeySignedAfterItsTerm_earlierAnswerStands() public {
        vm.warp(T0 + 1 hours);
        vm.prank(operator);
        registry.setEvidenceSigner(vm.addr(OTHER_EVIDENCE_KEY));
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        c.servedAt = ms(T0 + 2 hours);
        bytes memory cs = signCommitment(OTHER_EVIDENCE_KEY, c);
        IDisputes.Presence memory late = presenceFor(operator, held, ms(T0 + 1 hours));
        bytes memory lateSig = signPresence(EVIDENCE_KEY, late);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesWrongSigner.selector, operator, evidenceSigner));
        dc.proveOmissionByPresence(c, cs, late, lateSig, held);
        // The same key's answer from inside its term (T0 + 1 min): rotating does not escape it.
        dc.proveOmissionByPresence(c, cs, presence, presenceSig, held);
        assertEq(stakeOf(operator), STAKE - (STAKE * SLASH_BPS) / 10_000, "slashed");
    }

    function test_presence_refuses_sameCommitmentTwice_byEitherFunction() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        bytes32 id = dc.proveOmissionByPresence(c, cs, presence, presenceSig, held);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesAlreadyDisputed.selector, id));
        dc.proveOmissionByPresence(c, cs, presence, presenceSig, held);
        // A receipt for the same envelope against the same commitment.
        IDisputes.Receipt memory r = receiptFor(operator, held);
        bytes memory rs = signReceipt(EVIDENCE_KEY, r);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesAlreadyDisputed.selector, id));
        dc.proveOmission(c, cs, r, rs, held);
        // A second omitted envelope, presence-proven, against the same commitment.
        IDisputes.Envelope memory e2 = envelope("held too", ms(T0));
        IDisputes.Presence memory p2 = presenceFor(operator, e2, ms(T0 + 2 minutes));
        bytes memory ps2 = signPresence(EVIDENCE_KEY, p2);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesAlreadyDisputed.selector, id));
        dc.proveOmissionByPresence(c, cs, p2, ps2, e2);
        assertEq(stakeOf(operator), STAKE - (STAKE * SLASH_BPS) / 10_000, "slashed once");
    }

    function test_presence_refuses_commitmentAlreadyUsedByAReceiptProof() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        IDisputes.Receipt memory r = receiptFor(operator, held);
        bytes32 id = dc.proveOmission(c, cs, r, signReceipt(EVIDENCE_KEY, r), held);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesAlreadyDisputed.selector, id));
        dc.proveOmissionByPresence(c, cs, presence, presenceSig, held);
        assertEq(stakeOf(operator), STAKE - (STAKE * SLASH_BPS) / 10_000, "slashed once");
    }

    function test_presence_refuses_malformedSignatures() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(EVIDENCE_KEY, dc.presenceDigest(presence));
        bytes[] memory bad = new bytes[](3);
        bad[0] = abi.encodePacked(rr, s); // 64 bytes (EIP-2098 compact form: refused too)
        // The mirrored (high-s) signature of the same digest.
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bad[1] = abi.encodePacked(rr, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        bad[2] = abi.encodePacked(rr, s, uint8(5));
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(IDisputes.DisputesInvalidSignature.selector);
            dc.proveOmissionByPresence(c, cs, presence, bad[i], held);
        }
        // The commitment's signature by the same rules.
        (v, rr, s) = vm.sign(EVIDENCE_KEY, dc.commitmentDigest(c));
        vm.expectRevert(IDisputes.DisputesInvalidSignature.selector);
        dc.proveOmissionByPresence(c, abi.encodePacked(rr, s), presence, presenceSig, held);
        vm.expectRevert(IDisputes.DisputesInvalidSignature.selector);
        dc.proveOmissionByPresence(
            c,
            abi.encodePacked(rr, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27)),
            presence,
            presenceSig,
            held
        );
        assertEq(stakeOf(operator), STAKE, "nothing slashed");
    }

    /// The checks the two omission proofs share apply to this one: span, topic, listed.
    function test_presence_refuses_outOfSpanOffTopicOrListed() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        c.timeStart = held.timestamp + 1;
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        vm.expectRevert(IDisputes.DisputesOutOfRange.selector);
        dc.proveOmissionByPresence(c, cs, presence, presenceSig, held);
        c = commitment(new bytes32[](0));
        c.timeEnd = held.timestamp - 1;
        cs = signCommitment(EVIDENCE_KEY, c);
        vm.expectRevert(IDisputes.DisputesOutOfRange.selector);
        dc.proveOmissionByPresence(c, cs, presence, presenceSig, held);
        c = commitment(new bytes32[](0));
        c.contentTopics[1] = "/postbox/1/room-other/proto";
        cs = signCommitment(EVIDENCE_KEY, c);
        vm.expectRevert(IDisputes.DisputesOutOfRange.selector);
        dc.proveOmissionByPresence(c, cs, presence, presenceSig, held);
        bytes32 id = dc.envelopeId(held);
        c = commitment(ids2(keccak256("x"), id));
        cs = signCommitment(EVIDENCE_KEY, c);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesNotOmitted.selector, id));
        dc.proveOmissionByPresence(c, cs, presence, presenceSig, held);
        assertEq(stakeOf(operator), STAKE, "nothing slashed");
    }

    function test_presence_refuses_unregisteredOperator() public {
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        c.operator = stranger;
        IDisputes.Presence memory p = presenceFor(stranger, held, ms(T0 + 1 minutes));
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        bytes memory ps = signPresence(EVIDENCE_KEY, p);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesUnregisteredOperator.selector, stranger));
        dc.proveOmissionByPresence(c, cs, p, ps, held);
    }

    /// Fuzz: the contract's presence digest is EIP-712's, computed here from the type string.
    function test_fuzz_presenceDigestIsEip712(
        address op,
        bytes32[] calldata ids,
        uint64 servedAt,
        uint64 retainUntil
    ) public view {
        IDisputes.Presence memory p = IDisputes.Presence(op, ids, servedAt, retainUntil);
        bytes memory idBytes = "";
        for (uint256 i = 0; i < ids.length; ++i) idBytes = abi.encodePacked(idBytes, ids[i]);
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Presence(address operator,bytes32[] ids,uint64 servedAt,uint64 retainUntil)"),
                op,
                keccak256(idBytes),
                servedAt,
                retainUntil
            )
        );
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Postbox Disputes"),
                keccak256("1"),
                block.chainid,
                address(dc)
            )
        );
        bytes32 expected = keccak256(abi.encodePacked("\x19\x01", domain, structHash));
        assertEq(uint256(dc.presenceDigest(p)), uint256(expected), "digest");
    }

    /// Fuzz: the times alone decide, exactly as presence.servedAt < commitment.servedAt <
    /// presence.retainUntil says.
    function test_fuzz_presence_provesExactlyWhenServedBeforeAndStillRetained(
        uint64 presenceServedAt,
        uint64 retainUntil,
        uint64 commitmentServedAt
    ) public {
        IDisputes.Presence memory p = presence;
        p.servedAt = presenceServedAt;
        p.retainUntil = retainUntil;
        bytes memory ps = signPresence(EVIDENCE_KEY, p);
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        c.servedAt = commitmentServedAt;
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        if (presenceServedAt < commitmentServedAt && commitmentServedAt < retainUntil) {
            dc.proveOmissionByPresence(c, cs, p, ps, held);
            assertEq(stakeOf(operator), STAKE - (STAKE * SLASH_BPS) / 10_000, "slashed");
        } else {
            vm.expectRevert(notHeldWhenServed(p, commitmentServedAt));
            dc.proveOmissionByPresence(c, cs, p, ps, held);
            assertEq(stakeOf(operator), STAKE, "nothing slashed");
        }
    }

    /// Fuzz: the envelope's id is found wherever it sits in the presence answer's list (the scan
    /// takes four ids a round, then the rest one by one); the list without it shows nothing held.
    function test_fuzz_presence_idAnywhereInTheListIsHeld(uint8 length, uint8 position, uint256 seed) public {
        uint256 n = 1 + (uint256(length) % 130);
        bytes32 id = dc.envelopeId(held);
        bytes32[] memory ids = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) ids[i] = keccak256(abi.encode(seed, i));
        IDisputes.Presence memory p = presence;
        p.ids = ids;
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        bytes memory ps = signPresence(EVIDENCE_KEY, p);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesNotHeld.selector, id));
        dc.proveOmissionByPresence(c, cs, p, ps, held);
        p.ids[uint256(position) % n] = id;
        ps = signPresence(EVIDENCE_KEY, p);
        dc.proveOmissionByPresence(c, cs, p, ps, held);
        assertEq(stakeOf(operator), STAKE - (STAKE * SLASH_BPS) / 10_000, "slashed");
    }

    function registerOperator2WithKey(uint256 key) internal {
        snt.mint(operator2, STAKE);
        vm.startPrank(operator2);
        snt.approve(address(registry), STAKE);
        registry.register("12D3KooWOther", addrs(), "", STAKE, PQ, PM, RETENTION);
        registry.setEvidenceSigner(vm.addr(key));
        vm.stopPrank();
    }
}

/// @notice Attacks on the disputes contract, each named after the attack.
contract DisputesAttacksTest is DisputesFixture {
    /// A receipt made just before the exit promises RETENTION; before the exit covered it, the
    /// operator withdrew after UNBONDING and a dispute on the receipt's last day found no stake.
    function test_attack_exitThenWithdrawBeforeTheCustodyWindowEnds_refused() public {
        IDisputes.Envelope memory e = envelope("promised for 30 days", ms(T0));
        IDisputes.Receipt memory r = receiptFor(operator, e);
        bytes memory sig = signReceipt(EVIDENCE_KEY, r);
        vm.prank(operator);
        registry.requestExit();
        bytes memory stillUnbonding = abi.encodeWithSelector(
            IMailboxRegistry.MailboxRegistryStillUnbonding.selector,
            operator,
            T0 + RETENTION + UNBONDING
        );
        vm.warp(T0 + UNBONDING);
        vm.prank(operator);
        vm.expectRevert(stillUnbonding);
        registry.withdrawStake();
        // The receipt's last second: a dispute opens, nobody answers, the window ends.
        vm.warp(T0 + RETENTION - 1);
        vm.prank(challenger);
        bytes32 id = dc.disputeCustody(r, sig);
        vm.warp(T0 + RETENTION - 1 + WINDOW + 1);
        vm.prank(operator);
        vm.expectRevert(stillUnbonding);
        registry.withdrawStake();
        uint256 before = snt.balanceOf(challenger);
        dc.finaliseCustody(id);
        uint256 slashed = (STAKE * SLASH_BPS) / 10_000;
        assertEq(stakeOf(operator), STAKE - slashed, "slashed while still exiting");
        assertEq(snt.balanceOf(challenger), before + BOND + (slashed * REWARD_BPS) / 10_000, "bond and reward");
        vm.warp(T0 + EXIT);
        before = snt.balanceOf(operator);
        vm.prank(operator);
        registry.withdrawStake();
        assertEq(snt.balanceOf(operator) - before, STAKE - slashed, "the rest, after every promise");
    }

    /// Shortening the retention just before leaving does not shorten the exit: receipts made until
    /// then promised the old retention.
    function test_attack_shortenRetentionThenExit_refused() public {
        vm.warp(T0 + 1 days);
        vm.startPrank(operator);
        registry.setRetention(0);
        vm.warp(T0 + 2 days);
        registry.requestExit();
        vm.stopPrank();
        assertEq(registry.getMailbox(operator).withdrawableAt, T0 + 1 days + EXIT, "the old retention counts");
        // A retention raised again counts from the exit.
        vm.warp(T0 + 3 days);
        IDisputes.Envelope memory e = envelope("promised before the change", ms(T0));
        IDisputes.Receipt memory r = receiptFor(operator, e);
        bytes memory sig = signReceipt(EVIDENCE_KEY, r);
        vm.warp(T0 + RETENTION - 1);
        vm.prank(challenger);
        dc.disputeCustody(r, sig);
    }

    /// Raising the retention before leaving lengthens the exit by as much.
    function test_exit_coversTheRetentionAtTheExit() public {
        vm.startPrank(operator);
        registry.setRetention(RETENTION * 2);
        registry.requestExit();
        vm.stopPrank();
        assertEq(registry.getMailbox(operator).withdrawableAt, T0 + 2 * RETENTION + UNBONDING, "exit");
    }

    function test_attack_replayedCustodyDispute_refused() public {
        IDisputes.Envelope memory e = envelope("payload", ms(T0));
        IDisputes.Receipt memory r = receiptFor(operator, e);
        bytes memory sig = signReceipt(EVIDENCE_KEY, r);
        vm.prank(challenger);
        bytes32 id = dc.disputeCustody(r, sig);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesAlreadyDisputed.selector, id));
        dc.disputeCustody(r, sig);
        // Still refused once answered: the same receipt never opens a second dispute.
        dc.answerCustody(id, e);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesAlreadyDisputed.selector, id));
        dc.disputeCustody(r, sig);
    }

    function test_attack_forgedReceiptSignature_refused() public {
        IDisputes.Receipt memory r = receiptFor(operator, envelope("payload", ms(T0)));
        bytes memory forged = signReceipt(0xF0F0, r);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesWrongSigner.selector, operator, vm.addr(0xF0F0)));
        dc.disputeCustody(r, forged);
        // A valid signature over other fields does not carry over.
        bytes memory sig = signReceipt(EVIDENCE_KEY, r);
        r.retainUntil += 1000;
        vm.prank(challenger);
        vm.expectRevert();
        dc.disputeCustody(r, sig);
    }

    function test_attack_wrongSigner_crossMailboxEvidence_refused() public {
        // operator2 is registered with its own evidence key; a receipt that names `operator` but is
        // signed by operator2's key is refused, and so is operator2's key naming operator2 where
        // the evidence was made for `operator`.
        snt.mint(operator2, STAKE);
        vm.startPrank(operator2);
        snt.approve(address(registry), STAKE);
        registry.register("12D3KooWOther", addrs(), "", STAKE, PQ, PM, RETENTION);
        registry.setEvidenceSigner(vm.addr(OTHER_EVIDENCE_KEY));
        vm.stopPrank();
        IDisputes.Receipt memory r = receiptFor(operator, envelope("payload", ms(T0)));
        bytes memory sig2 = signReceipt(OTHER_EVIDENCE_KEY, r);
        vm.prank(challenger);
        vm.expectRevert(
            abi.encodeWithSelector(IDisputes.DisputesWrongSigner.selector, operator, vm.addr(OTHER_EVIDENCE_KEY))
        );
        dc.disputeCustody(r, sig2);
        // operator's receipt relabelled as operator2's: the signature no longer recovers to its key.
        bytes memory sig = signReceipt(EVIDENCE_KEY, r);
        r.operator = operator2;
        vm.prank(challenger);
        vm.expectRevert();
        dc.disputeCustody(r, sig);
        // Omission with operator's receipt against operator2's commitment.
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        c.operator = operator2;
        IDisputes.Receipt memory r1 = receiptFor(operator, envelope("payload", ms(T0)));
        bytes memory cs = signCommitment(OTHER_EVIDENCE_KEY, c);
        bytes memory rs = signReceipt(EVIDENCE_KEY, r1);
        IDisputes.Envelope memory e = envelope("payload", ms(T0));
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesOperatorMismatch.selector, operator, operator2));
        dc.proveOmission(c, cs, r1, rs, e);
    }

    function test_attack_retiredSignerSignsNewEvidence_refused_oldEvidenceStands() public {
        IDisputes.Envelope memory e = envelope("payload", ms(T0));
        IDisputes.Receipt memory old = receiptFor(operator, e);
        bytes memory oldSig = signReceipt(EVIDENCE_KEY, old);
        vm.warp(T0 + 1 hours);
        vm.prank(operator);
        registry.setEvidenceSigner(vm.addr(OTHER_EVIDENCE_KEY));
        // Rotating the key does not escape a receipt made before.
        vm.prank(challenger);
        dc.disputeCustody(old, oldSig);
        // The retired key's evidence dated after its retirement is refused.
        IDisputes.Receipt memory later = old;
        later.storedAt = ms(T0 + 1 hours);
        bytes memory laterSig = signReceipt(EVIDENCE_KEY, later);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesWrongSigner.selector, operator, evidenceSigner));
        dc.disputeCustody(later, laterSig);
    }

    function test_attack_answerAfterTheWindow_refused() public {
        IDisputes.Envelope memory e = envelope("payload", ms(T0));
        bytes32 id = openCustody(e);
        vm.warp(T0 + WINDOW + 1);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesWindowClosed.selector, id, T0 + WINDOW));
        dc.answerCustody(id, e);
    }

    function test_attack_finaliseBeforeTheWindowEnds_refused() public {
        bytes32 id = openCustody(envelope("payload", ms(T0)));
        vm.warp(T0 + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesWindowOpen.selector, id, T0 + WINDOW));
        dc.finaliseCustody(id);
        assertEq(stakeOf(operator), STAKE, "nothing slashed");
    }

    function test_attack_doubleFinalise_refused() public {
        bytes32 id = openCustody(envelope("payload", ms(T0)));
        vm.warp(T0 + WINDOW + 1);
        dc.finaliseCustody(id);
        uint256 stake = stakeOf(operator);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesNotOpen.selector, id, IDisputes.State.Upheld));
        dc.finaliseCustody(id);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesNotOpen.selector, id, IDisputes.State.Upheld));
        dc.answerCustody(id, envelope("payload", ms(T0)));
        assertEq(stakeOf(operator), stake, "slashed once");
    }

    function test_attack_replayedOmissionProof_refused() public {
        IDisputes.Envelope memory e = envelope("held", ms(T0));
        IDisputes.Receipt memory r = receiptFor(operator, e);
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        bytes memory rs = signReceipt(EVIDENCE_KEY, r);
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        bytes32 id = dc.proveOmission(c, cs, r, rs, e);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesAlreadyDisputed.selector, id));
        dc.proveOmission(c, cs, r, rs, e);
        // The same commitment with a second omitted envelope: still one slash per commitment.
        IDisputes.Envelope memory e2 = envelope("held too", ms(T0));
        IDisputes.Receipt memory r2 = receiptFor(operator, e2);
        bytes memory rs2 = signReceipt(EVIDENCE_KEY, r2);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesAlreadyDisputed.selector, id));
        dc.proveOmission(c, cs, r2, rs2, e2);
    }

    function test_attack_forgedCommitment_refused() public {
        IDisputes.Envelope memory e = envelope("held", ms(T0));
        IDisputes.Receipt memory r = receiptFor(operator, e);
        IDisputes.PageCommitment memory c = commitment(new bytes32[](0));
        bytes memory rs = signReceipt(EVIDENCE_KEY, r);
        bytes memory forged = signCommitment(0xF0F0, c);
        vm.expectRevert(abi.encodeWithSelector(IDisputes.DisputesWrongSigner.selector, operator, vm.addr(0xF0F0)));
        dc.proveOmission(c, forged, r, rs, e);
        // A genuine commitment with an id dropped from its list after signing.
        bytes32[] memory listed = new bytes32[](1);
        listed[0] = dc.envelopeId(e);
        c = commitment(listed);
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        c.ids = new bytes32[](0);
        vm.expectRevert();
        dc.proveOmission(c, cs, r, rs, e);
        assertEq(stakeOf(operator), STAKE, "nothing slashed");
    }

    function test_attack_slashOrJailDirectly_onlyTheDisputesContract() public {
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryNotDisputes.selector, challenger));
        registry.slash(operator, 1, bytes32(0));
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryNotDisputes.selector, admin));
        registry.jail(operator, T0 + 1);
    }
}
