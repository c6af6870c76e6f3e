// SPDX-License-Identifier: MIT
// solhint-disable one-contract-per-file
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Disputes} from "../../contracts/Disputes.sol";
import {IDisputes} from "../../contracts/interfaces/IDisputes.sol";
import {IMailboxRegistry} from "../../contracts/interfaces/IMailboxRegistry.sol";
import {HookToken} from "../../contracts/test/QuirkyTokens.sol";
import {DisputesDeployment, DisputesFixture} from "./utils/DisputesFixture.sol";

/// @notice Called from the token's transfer hook: records the dispute's state as the transfer sees
/// it, then re-enters the disputes contract with `callData`, swallowing the outcome so that the
/// outer call completes and the test can see what the re-entry got.
contract Reenterer {
    Disputes public dc;
    bytes public callData;
    bytes32 public watched;
    uint256 public attempts;
    uint256 public successes;
    bytes public lastRevert;
    IDisputes.State public seenState;

    function arm(Disputes dc_, bytes calldata callData_, bytes32 watched_) external {
        dc = dc_;
        callData = callData_;
        watched = watched_;
    }

    function hook() external {
        ++attempts;
        seenState = dc.getDispute(watched).state;
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory ret) = address(dc).call(callData);
        if (ok) ++successes;
        else lastRevert = ret;
    }
}

/// @notice The disputes contract on a token whose every transfer calls back (an ERC-777-style hook,
/// or a MiniMe controller): re-entering `disputeCustody`, `answerCustody`, `finaliseCustody` or
/// `proveOmission` while a bond or a payout moves is refused by the guard, the state the hook sees
/// is already final, and each dispute still pays exactly once.
contract DisputesReentrancyTest is DisputesFixture {
    HookToken internal hook;
    Reenterer internal reenterer;

    function setUp() public override {
        super.setUp();
        hook = new HookToken();
        DisputesDeployment d = new DisputesDeployment(params(IERC20(address(hook))), BOND, WINDOW, SLASH_BPS, JAIL);
        registry = d.registry();
        dc = d.disputes();
        hook.mint(operator, STAKE);
        vm.startPrank(operator);
        hook.approve(address(registry), STAKE);
        registry.register(PEER_ID, addrs(), "", STAKE, PQ, PM, RETENTION);
        registry.setEvidenceSigner(evidenceSigner);
        vm.stopPrank();
        hook.mint(challenger, 1_000_000 ether);
        vm.prank(challenger);
        hook.approve(address(dc), type(uint256).max);
        reenterer = new Reenterer();
    }

    function armed(bytes memory callData, bytes32 watched) internal {
        reenterer.arm(dc, callData, watched);
        hook.setHook(address(reenterer), abi.encodeCall(Reenterer.hook, ()));
    }

    function assertRefusedByTheGuard() internal view {
        assertTrue(reenterer.attempts() != 0, "the hook ran");
        assertEq(reenterer.successes(), 0, "no re-entry succeeded");
        assertEq(
            uint256(bytes32(reenterer.lastRevert())),
            uint256(bytes32(abi.encodeWithSelector(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector))),
            "refused by the re-entrancy guard"
        );
    }

    function test_reentry_finaliseDuringItsOwnSlashAndPayout_refused_paysOnce() public {
        bytes32 id = openCustody(envelope("payload", ms(T0)));
        vm.warp(T0 + WINDOW + 1);
        armed(abi.encodeCall(IDisputes.finaliseCustody, (id)), id);
        uint256 before = hook.balanceOf(challenger);
        dc.finaliseCustody(id);
        assertRefusedByTheGuard();
        // The registry's reward and treasury transfers and the payout each called back.
        assertEq(reenterer.attempts(), 3, "three transfers, three attempts");
        assertEq(uint256(reenterer.seenState()), uint256(IDisputes.State.Upheld), "upheld before any transfer");
        uint256 slashed = (STAKE * SLASH_BPS) / 10_000;
        assertEq(stakeOf(operator), STAKE - slashed, "slashed once");
        assertEq(hook.balanceOf(challenger) - before, BOND + (slashed * REWARD_BPS) / 10_000, "paid once");
        assertEq(hook.balanceOf(address(dc)), 0, "nothing left behind");
    }

    function test_reentry_answerOrFinaliseDuringTheAnswersPayout_refused_bondPaidOnce() public {
        IDisputes.Envelope memory e = envelope("payload", ms(T0));
        bytes32 id = openCustody(e);
        uint256 before = hook.balanceOf(operator);
        armed(abi.encodeCall(IDisputes.answerCustody, (id, e)), id);
        vm.prank(operator);
        dc.answerCustody(id, e);
        assertRefusedByTheGuard();
        assertEq(uint256(reenterer.seenState()), uint256(IDisputes.State.Answered), "answered before the transfer");
        assertEq(hook.balanceOf(operator) - before, BOND, "bond paid once");

        // Answering one dispute while re-entering to finalise another (refused before its own checks).
        bytes32 other = openCustody(envelope("other", ms(T0)));
        bytes32 third = openCustody(envelope("third", ms(T0)));
        armed(abi.encodeCall(IDisputes.finaliseCustody, (third)), third);
        vm.prank(operator);
        dc.answerCustody(other, envelope("other", ms(T0)));
        assertRefusedByTheGuard();
        assertEq(uint256(dc.getDispute(third).state), uint256(IDisputes.State.Open), "the other dispute untouched");
        assertEq(hook.balanceOf(address(dc)), BOND, "the third bond still held");
    }

    function test_reentry_duringTheBondPull_answerAndOpen_refused_disputeAlreadyRecorded() public {
        IDisputes.Envelope memory e = envelope("payload", ms(T0));
        IDisputes.Receipt memory r = receiptFor(operator, e);
        bytes memory sig = signReceipt(EVIDENCE_KEY, r);
        bytes32 id = dc.receiptDigest(r);
        // Answer the dispute being opened while its bond is in flight (the answer would pay a
        // bond that has not arrived yet).
        armed(abi.encodeCall(IDisputes.answerCustody, (id, e)), id);
        vm.prank(challenger);
        dc.disputeCustody(r, sig);
        assertRefusedByTheGuard();
        assertEq(uint256(reenterer.seenState()), uint256(IDisputes.State.Open), "recorded before the pull");
        assertEq(uint256(dc.getDispute(id).state), uint256(IDisputes.State.Open), "still open");
        assertEq(hook.balanceOf(address(dc)), BOND, "one bond held");

        // Open a second dispute from inside the first one's pull.
        IDisputes.Receipt memory r2 = receiptFor(operator, envelope("second", ms(T0)));
        bytes memory sig2 = signReceipt(EVIDENCE_KEY, r2);
        hook.mint(address(reenterer), BOND);
        vm.prank(address(reenterer));
        hook.approve(address(dc), BOND);
        armed(abi.encodeCall(IDisputes.disputeCustody, (r2, sig2)), dc.receiptDigest(r2));
        IDisputes.Receipt memory r3 = receiptFor(operator, envelope("third", ms(T0)));
        bytes memory sig3 = signReceipt(EVIDENCE_KEY, r3);
        vm.prank(challenger);
        dc.disputeCustody(r3, sig3);
        assertRefusedByTheGuard();
        assertEq(uint256(dc.getDispute(dc.receiptDigest(r2)).state), uint256(IDisputes.State.None), "not opened");
        assertEq(hook.balanceOf(address(dc)), 2 * BOND, "two bonds held, no more");
    }

    function test_reentry_proveOmissionDuringItsSlashAndPayout_refused_slashedOnce() public {
        IDisputes.Envelope memory e = envelope("withheld", ms(T0));
        IDisputes.Receipt memory r = receiptFor(operator, e);
        bytes memory rs = signReceipt(EVIDENCE_KEY, r);
        IDisputes.PageCommitment memory c = commitment(ids2(keccak256("x"), keccak256("y")));
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        // The same commitment with the nextCursor changed: a second, distinct proof.
        IDisputes.PageCommitment memory c2 = commitment(ids2(keccak256("x"), keccak256("y")));
        c2.nextCursor = keccak256("more");
        bytes memory cs2 = signCommitment(EVIDENCE_KEY, c2);
        bytes32 id = dc.commitmentDigest(c);
        armed(abi.encodeCall(IDisputes.proveOmission, (c2, cs2, r, rs, e)), id);
        uint256 before = hook.balanceOf(stranger);
        vm.prank(stranger);
        dc.proveOmission(c, cs, r, rs, e);
        assertRefusedByTheGuard();
        assertEq(uint256(reenterer.seenState()), uint256(IDisputes.State.Upheld), "upheld before any transfer");
        uint256 slashed = (STAKE * SLASH_BPS) / 10_000;
        assertEq(stakeOf(operator), STAKE - slashed, "slashed once");
        assertEq(hook.balanceOf(stranger) - before, (slashed * REWARD_BPS) / 10_000, "reward paid once");
        assertEq(uint256(dc.getDispute(dc.commitmentDigest(c2)).state), 0, "the re-entered proof recorded nothing");
        assertTrue(registry.getMailbox(operator).status == IMailboxRegistry.Status.Jailed, "jailed");
    }

    function test_reentry_proveOmissionByPresenceDuringItsSlashAndPayout_refused_slashedOnce() public {
        IDisputes.Envelope memory e = envelope("answered present, then withheld", ms(T0));
        IDisputes.Presence memory p = presenceFor(operator, e, ms(T0 + 1 minutes));
        bytes memory ps = signPresence(EVIDENCE_KEY, p);
        IDisputes.PageCommitment memory c = commitment(ids2(keccak256("x"), keccak256("y")));
        bytes memory cs = signCommitment(EVIDENCE_KEY, c);
        IDisputes.PageCommitment memory c2 = commitment(ids2(keccak256("x"), keccak256("y")));
        c2.nextCursor = keccak256("more");
        bytes memory cs2 = signCommitment(EVIDENCE_KEY, c2);
        bytes32 id = dc.commitmentDigest(c);
        armed(abi.encodeCall(IDisputes.proveOmissionByPresence, (c2, cs2, p, ps, e)), id);
        uint256 before = hook.balanceOf(stranger);
        vm.prank(stranger);
        dc.proveOmissionByPresence(c, cs, p, ps, e);
        assertRefusedByTheGuard();
        assertEq(uint256(reenterer.seenState()), uint256(IDisputes.State.Upheld), "upheld before any transfer");
        uint256 slashed = (STAKE * SLASH_BPS) / 10_000;
        assertEq(stakeOf(operator), STAKE - slashed, "slashed once");
        assertEq(hook.balanceOf(stranger) - before, (slashed * REWARD_BPS) / 10_000, "reward paid once");
        assertEq(uint256(dc.getDispute(dc.commitmentDigest(c2)).state), 0, "the re-entered proof recorded nothing");
    }
}
