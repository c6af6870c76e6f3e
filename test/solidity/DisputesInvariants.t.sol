// SPDX-License-Identifier: MIT
// solhint-disable one-contract-per-file
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Disputes} from "../../contracts/Disputes.sol";
import {IDisputes} from "../../contracts/interfaces/IDisputes.sol";
import {IMailboxRegistry} from "../../contracts/interfaces/IMailboxRegistry.sol";
import {MailboxRegistry} from "../../contracts/MailboxRegistry.sol";
import {PaymentChannels} from "../../contracts/PaymentChannels.sol";
import {SNT} from "../../contracts/SNT.sol";
import {DisputesDeployment} from "./utils/DisputesFixture.sol";
import {Fixture} from "./utils/Fixture.sol";
import {TestBase} from "./utils/Vm.sol";

/// @notice Drives the registry, the real Disputes contract and the channels together: operators
/// register with evidence signers (and rotate them), challengers open custody disputes on receipts,
/// operators (or strangers) answer, anyone finalises, provers submit omission proofs, operators
/// exit, withdraw and unjail, payers open and close channels, time passes. Omission proofs come by
/// both paths: a receipt, or a presence answer, as the evidence the mailbox held the envelope. Replays of resolved
/// disputes and of used evidence are attempted and must fail. Ghost variables record what every
/// bond and every slash did, measured from balances, never from the contracts' own bookkeeping.
/// A ghost check never reverts (a reverting handler call is dropped silently): it counts.
contract DisputesHandler is TestBase {
    uint256 public constant MIN_STAKE = 1_000 ether;
    uint256 public constant MAX_SLASH_BPS = 1_000;
    uint256 public constant SLASH_PERIOD = 7 days;
    uint256 public constant REWARD_BPS = 5_000;
    uint256 public constant BOND = 100 ether;
    uint256 public constant SLASH_BPS = 500;
    uint256 public constant BPS = 10_000;
    /// Operators list a 2-day retention and their receipts promise as much: an exit then takes
    /// 2 days + the unbonding period, short enough for withdrawals to happen within a run's warps.
    uint256 public constant RETENTION = 2 days;
    uint256 public constant RETENTION_MS = RETENTION * 1000;
    uint256 internal constant SESSION_KEY = 0x5E55;
    string internal constant TOPIC = "/postbox/1/room-abc/proto";

    address public constant TREASURY = address(0x7EA5);
    address public constant STRANGER = address(0x5757);

    SNT public immutable snt;
    MailboxRegistry public registry;
    Disputes public dc;
    PaymentChannels public channels;

    address[] public operators;
    address[] public challengers;
    /// The evidence key each operator's current signer has.
    mapping(address => uint256) public keyOf;
    uint256 private _keys;
    uint256 private _nonce;

    struct Custody {
        bytes32 id;
        address operator;
        address challenger;
        uint256 key;
        uint256 nonce;
        uint64 t;
        uint8 outcome; // 0 open, 1 answered, 2 upheld
    }

    Custody[] internal _custodies;
    bytes32[] public channelIds;

    // ---- ghosts
    mapping(address => uint256) public expectedStake;
    mapping(bytes32 => uint256) public resolutions;
    uint256 public bondsIn;
    uint256 public bondsToOperators;
    uint256 public bondsReturned;
    uint256 public openBonds;
    /// The slash period each operator is in, as the registry's rules define it, and what it took.
    mapping(address => uint256) public periodEnd;
    mapping(address => uint256) public periodCap;
    mapping(address => uint256) public periodTaken;
    /// Payouts that were not exactly bond (+ reward), slashes above slashBps, attacks that worked.
    uint256 public payoutMismatches;
    uint256 public overSlashes;
    uint256 public breaches;
    uint256 public upheld;

    constructor(SNT snt_) {
        snt = snt_;
        for (uint160 i = 1; i <= 3; ++i) operators.push(address(0x2000 + i));
        for (uint160 i = 1; i <= 3; ++i) challengers.push(address(0x3000 + i));
    }

    function init(MailboxRegistry registry_, Disputes dc_, PaymentChannels channels_) external {
        registry = registry_;
        dc = dc_;
        channels = channels_;
        for (uint256 i = 0; i < operators.length; ++i) register(i, 10_000 ether);
    }

    function operatorCount() external view returns (uint256) {
        return operators.length;
    }

    function challengerCount() external view returns (uint256) {
        return challengers.length;
    }

    function custodyCount() external view returns (uint256) {
        return _custodies.length;
    }

    function custody(uint256 i) external view returns (Custody memory) {
        return _custodies[i];
    }

    function _op(uint256 seed) internal view returns (address) {
        return operators[seed % operators.length];
    }

    function _ch(uint256 seed) internal view returns (address) {
        return challengers[seed % challengers.length];
    }

    function _envelope(uint256 nonce, uint64 t) internal pure returns (IDisputes.Envelope memory) {
        return IDisputes.Envelope({version: 1, contentTopic: TOPIC, timestamp: t, payload: abi.encode(nonce)});
    }

    function _receipt(address op, IDisputes.Envelope memory e) internal view returns (IDisputes.Receipt memory) {
        return
            IDisputes.Receipt({
                operator: op,
                envelopeId: dc.envelopeId(e),
                contentTopic: e.contentTopic,
                timestamp: e.timestamp,
                storedAt: e.timestamp,
                retainUntil: uint64(e.timestamp + RETENTION_MS)
            });
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _fund(address who, address spender, uint256 amount) internal {
        snt.mint(who, amount);
        vm.startPrank(who);
        snt.approve(spender, 0);
        snt.approve(spender, amount);
        vm.stopPrank();
    }

    /// Records a slash measured as a stake drop, against the registry's rule: a period opens at
    /// the first slash after the last one ended and allows maxSlashBps of the stake as it then was.
    function _recordSlash(address op, uint256 stakeBefore, uint256 stakeAfter) internal returns (uint256 slashed) {
        if (stakeAfter > stakeBefore) {
            ++overSlashes;
            return 0;
        }
        slashed = stakeBefore - stakeAfter;
        if (slashed == 0) return 0;
        if (slashed > (stakeBefore * SLASH_BPS) / BPS) ++overSlashes;
        if (block.timestamp >= periodEnd[op]) {
            periodEnd[op] = block.timestamp + SLASH_PERIOD;
            periodCap[op] = (stakeBefore * MAX_SLASH_BPS) / BPS;
            periodTaken[op] = 0;
        }
        periodTaken[op] += slashed;
        expectedStake[op] -= slashed < expectedStake[op] ? slashed : expectedStake[op];
        ++upheld;
    }

    // ---- operators

    function register(uint256 seed, uint256 stake) public {
        address op = _op(seed);
        stake = bound(stake, MIN_STAKE, 100_000 ether);
        _fund(op, address(registry), stake);
        string[] memory a = new string[](1);
        a[0] = "/ip4/127.0.0.1/tcp/1";
        vm.prank(op);
        registry.register("peer", a, "", stake, 1, 1, RETENTION);
        expectedStake[op] = stake;
        if (registry.evidenceSigner(op) == address(0)) _rotate(op);
    }

    function _rotate(address op) internal {
        uint256 key = 0xE000 + ++_keys;
        vm.prank(op);
        registry.setEvidenceSigner(vm.addr(key));
        keyOf[op] = key;
    }

    function rotateSigner(uint256 seed) external {
        _rotate(_op(seed));
    }

    function requestExit(uint256 seed) external {
        vm.prank(_op(seed));
        registry.requestExit();
    }

    function withdrawStake(uint256 seed) external {
        address op = _op(seed);
        vm.prank(op);
        registry.withdrawStake();
        expectedStake[op] = 0;
        periodEnd[op] = 0; // the registry forgets the entry's period with it
    }

    function unjail(uint256 seed) external {
        vm.prank(_op(seed));
        registry.unjail();
    }

    // ---- custody disputes

    function openCustody(uint256 opSeed, uint256 chSeed) external {
        address op = _op(opSeed);
        address ch = _ch(chSeed);
        uint256 key = keyOf[op];
        if (key == 0) return;
        uint256 nonce = ++_nonce;
        uint64 t = uint64(block.timestamp * 1000);
        IDisputes.Receipt memory r = _receipt(op, _envelope(nonce, t));
        bytes memory sig = _sign(key, dc.receiptDigest(r));
        _fund(ch, address(dc), BOND);
        vm.prank(ch);
        bytes32 id = dc.disputeCustody(r, sig);
        _custodies.push(Custody({id: id, operator: op, challenger: ch, key: key, nonce: nonce, t: t, outcome: 0}));
        bondsIn += BOND;
        openBonds += BOND;
    }

    function answer(uint256 which, bool byStranger) external {
        if (_custodies.length == 0) return;
        Custody storage c = _custodies[which % _custodies.length];
        uint256 before = snt.balanceOf(c.operator);
        vm.prank(byStranger ? STRANGER : c.operator);
        dc.answerCustody(c.id, _envelope(c.nonce, c.t));
        uint256 gain = snt.balanceOf(c.operator) - before;
        if (gain != BOND) ++payoutMismatches;
        ++resolutions[c.id];
        c.outcome = 1;
        bondsToOperators += gain;
        openBonds = openBonds >= BOND ? openBonds - BOND : 0; // a second resolution shows below
    }

    function finalise(uint256 which) external {
        if (_custodies.length == 0) return;
        Custody storage c = _custodies[which % _custodies.length];
        uint256 stakeBefore = registry.getMailbox(c.operator).stake;
        uint256 before = snt.balanceOf(c.challenger);
        dc.finaliseCustody(c.id);
        uint256 slashed = _recordSlash(c.operator, stakeBefore, registry.getMailbox(c.operator).stake);
        uint256 reward = (slashed * REWARD_BPS) / BPS;
        uint256 gain = snt.balanceOf(c.challenger) - before;
        if (gain != BOND + reward) ++payoutMismatches;
        ++resolutions[c.id];
        c.outcome = 2;
        bondsReturned += gain > reward ? gain - reward : 0;
        openBonds = openBonds >= BOND ? openBonds - BOND : 0; // a second resolution shows below
    }

    // ---- omission proofs

    function proveOmission(uint256 opSeed, uint256 chSeed, uint256 listed) external {
        address op = _op(opSeed);
        address prover = _ch(chSeed);
        uint256 key = keyOf[op];
        if (key == 0) return;
        uint256 nonce = ++_nonce;
        uint64 t = uint64(block.timestamp * 1000);
        IDisputes.Envelope memory e = _envelope(nonce, t);
        IDisputes.Receipt memory r = _receipt(op, e);
        bytes32[] memory ids = new bytes32[](bound(listed, 0, 4));
        for (uint256 i = 0; i < ids.length; ++i) ids[i] = keccak256(abi.encode(nonce, i));
        IDisputes.PageCommitment memory c = _commitment(op, t, ids, nonce);
        bytes memory cs = _sign(key, dc.commitmentDigest(c));
        bytes memory rs = _sign(key, dc.receiptDigest(r));
        uint256 stakeBefore = registry.getMailbox(op).stake;
        uint256 before = snt.balanceOf(prover);
        vm.prank(prover);
        bytes32 id = dc.proveOmission(c, cs, r, rs, e);
        uint256 slashed = _recordSlash(op, stakeBefore, registry.getMailbox(op).stake);
        if (snt.balanceOf(prover) - before != (slashed * REWARD_BPS) / BPS) ++payoutMismatches;
        ++resolutions[id];
    }

    /// An omission proven from a presence answer (served just after the envelope arrived, listing it
    /// among `extra` others) instead of a receipt.
    function proveOmissionByPresence(uint256 opSeed, uint256 chSeed, uint256 listed, uint256 extra) external {
        address op = _op(opSeed);
        address prover = _ch(chSeed);
        uint256 key = keyOf[op];
        if (key == 0) return;
        uint256 nonce = ++_nonce;
        uint64 t = uint64(block.timestamp * 1000);
        IDisputes.Envelope memory e = _envelope(nonce, t);
        bytes32[] memory ids = new bytes32[](bound(listed, 0, 4));
        for (uint256 i = 0; i < ids.length; ++i) ids[i] = keccak256(abi.encode(nonce, i));
        IDisputes.PageCommitment memory c = _commitment(op, t, ids, nonce);
        IDisputes.Presence memory p = _presence(op, e, t, bound(extra, 0, 4));
        bytes memory cs = _sign(key, dc.commitmentDigest(c));
        bytes memory ps = _sign(key, dc.presenceDigest(p));
        uint256 stakeBefore = registry.getMailbox(op).stake;
        uint256 before = snt.balanceOf(prover);
        vm.prank(prover);
        bytes32 id = dc.proveOmissionByPresence(c, cs, p, ps, e);
        uint256 slashed = _recordSlash(op, stakeBefore, registry.getMailbox(op).stake);
        if (snt.balanceOf(prover) - before != (slashed * REWARD_BPS) / BPS) ++payoutMismatches;
        ++resolutions[id];
    }

    /// `op`'s presence answer for `e` (arrived at `t`), served at `t` (before the page at `t + 1`),
    /// listing `extra` other ids before it.
    function _presence(
        address op,
        IDisputes.Envelope memory e,
        uint64 t,
        uint256 extra
    ) internal view returns (IDisputes.Presence memory) {
        bytes32[] memory ids = new bytes32[](extra + 1);
        for (uint256 i = 0; i < extra; ++i) ids[i] = keccak256(abi.encode("other", e.payload, i));
        ids[extra] = dc.envelopeId(e);
        return IDisputes.Presence({operator: op, ids: ids, servedAt: t, retainUntil: uint64(t + RETENTION_MS)});
    }

    function _commitment(
        address op,
        uint64 t,
        bytes32[] memory ids,
        uint256 nonce
    ) internal pure returns (IDisputes.PageCommitment memory) {
        string[] memory topics = new string[](1);
        topics[0] = TOPIC;
        return
            IDisputes.PageCommitment({
                operator: op,
                contentTopics: topics,
                timeStart: t - 1000,
                timeEnd: t + 1000,
                ids: ids,
                nextCursor: bytes32(nonce),
                servedAt: t + 1
            });
    }

    // ---- attacks: each must revert

    /// Answers or finalises a dispute already resolved, or answers one with another envelope.
    function replayResolution(uint256 which) external {
        if (_custodies.length == 0) return;
        Custody storage c = _custodies[which % _custodies.length];
        try dc.answerCustody(c.id, _envelope(c.nonce + 1, c.t)) {
            ++breaches;
        } catch {}
        if (c.outcome == 0) return;
        try dc.answerCustody(c.id, _envelope(c.nonce, c.t)) {
            ++breaches;
        } catch {}
        try dc.finaliseCustody(c.id) {
            ++breaches;
        } catch {}
    }

    /// Opens a second dispute on a receipt already disputed (a funded, approved stranger).
    function replayOpen(uint256 which) external {
        if (_custodies.length == 0) return;
        Custody storage c = _custodies[which % _custodies.length];
        IDisputes.Receipt memory r = _receipt(c.operator, _envelope(c.nonce, c.t));
        bytes memory sig = _sign(c.key, dc.receiptDigest(r));
        _fund(STRANGER, address(dc), BOND);
        vm.prank(STRANGER);
        try dc.disputeCustody(r, sig) {
            ++breaches;
        } catch {}
        // Leave the stranger's SNT where conservation expects it; its allowance back to zero.
        vm.prank(STRANGER);
        snt.approve(address(dc), 0);
    }

    /// An "omission" of an envelope the commitment lists.
    function omitListed(uint256 opSeed) external {
        address op = _op(opSeed);
        uint256 key = keyOf[op];
        if (key == 0) return;
        uint256 nonce = ++_nonce;
        uint64 t = uint64(block.timestamp * 1000);
        IDisputes.Envelope memory e = _envelope(nonce, t);
        IDisputes.Receipt memory r = _receipt(op, e);
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = r.envelopeId;
        IDisputes.PageCommitment memory c = _commitment(op, t, ids, nonce);
        bytes memory cs = _sign(key, dc.commitmentDigest(c));
        bytes memory rs = _sign(key, dc.receiptDigest(r));
        try dc.proveOmission(c, cs, r, rs, e) {
            ++breaches;
        } catch {}
    }

    /// Presence-based "omissions" that must fail: a presence answer served at or after the page (the
    /// mailbox got the envelope later), one that does not list the envelope, and a commitment that
    /// lists it; each signed by the operator's current key.
    function omitByPresenceFalsely(uint256 opSeed, uint256 which) external {
        address op = _op(opSeed);
        uint256 key = keyOf[op];
        if (key == 0) return;
        uint256 nonce = ++_nonce;
        uint64 t = uint64(block.timestamp * 1000);
        IDisputes.Envelope memory e = _envelope(nonce, t);
        IDisputes.Presence memory p = _presence(op, e, t, 1);
        bytes32[] memory ids = new bytes32[](0);
        which %= 3;
        if (which == 0) p.servedAt = t + 1; // the commitment's servedAt
        if (which == 1) p.ids[1] = keccak256(abi.encode("not it", nonce));
        if (which == 2) {
            ids = new bytes32[](1);
            ids[0] = dc.envelopeId(e);
        }
        IDisputes.PageCommitment memory c = _commitment(op, t, ids, nonce);
        bytes memory cs = _sign(key, dc.commitmentDigest(c));
        bytes memory ps = _sign(key, dc.presenceDigest(p));
        try dc.proveOmissionByPresence(c, cs, p, ps, e) {
            ++breaches;
        } catch {}
    }

    // ---- channels (so that conservation spans all three contracts)

    function openChannel(uint256 seed, uint256 amount) external {
        amount = bound(amount, 1, 1_000 ether);
        _fund(address(this), address(channels), amount);
        bytes32 id = channels.open(_op(seed), vm.addr(SESSION_KEY), amount, bytes32(channelIds.length));
        channelIds.push(id);
    }

    function redeemAndClose(uint256 which, uint256 amount) external {
        if (channelIds.length == 0) return;
        bytes32 id = channelIds[which % channelIds.length];
        uint256 deposit = channels.getChannel(id).deposit;
        amount = bound(amount, 1, deposit);
        vm.prank(channels.getChannel(id).payee);
        channels.redeemAndClose(id, amount, _sign(SESSION_KEY, channels.voucherDigest(id, amount)));
    }

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 1, 3 days));
    }
}

contract DisputesInvariantTest is TestBase {
    SNT internal snt;
    MailboxRegistry internal registry;
    Disputes internal dc;
    PaymentChannels internal channels;
    DisputesHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        snt = new SNT(address(this), 0);
        handler = new DisputesHandler(snt);
        Fixture.RegistryParams memory p = Fixture.RegistryParams({
            token: IERC20(address(snt)),
            minStake: handler.MIN_STAKE(),
            unbondingPeriod: 7 days,
            priceDelay: 1 days,
            maxSlashBps: handler.MAX_SLASH_BPS(),
            slashPeriod: handler.SLASH_PERIOD(),
            rewardBps: handler.REWARD_BPS(),
            disputes: address(0), // DisputesDeployment names the address it predicts
            treasury: handler.TREASURY(),
            admin: address(0xAD),
            adminDelay: 2 days
        });
        DisputesDeployment d = new DisputesDeployment(p, handler.BOND(), 1 days, handler.SLASH_BPS(), 3 days);
        registry = d.registry();
        dc = d.disputes();
        channels = new PaymentChannels(IERC20(address(snt)), 1 days);
        snt.transferOwnership(address(handler));
        handler.init(registry, dc, channels);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// Every SNT minted is in the registry, the disputes contract, the channels, or with a holder.
    function invariant_sntConserved() public view {
        uint256 held = snt.balanceOf(address(registry)) + snt.balanceOf(address(dc)) + snt.balanceOf(address(channels));
        held += snt.balanceOf(address(handler)) + snt.balanceOf(handler.TREASURY()) + snt.balanceOf(handler.STRANGER());
        for (uint256 i = 0; i < handler.operatorCount(); ++i) held += snt.balanceOf(handler.operators(i));
        for (uint256 i = 0; i < handler.challengerCount(); ++i) held += snt.balanceOf(handler.challengers(i));
        assertEq(held, snt.totalSupply(), "registry + disputes + channels + holders == supply");
        uint256 staked;
        for (uint256 i = 0; i < handler.operatorCount(); ++i) staked += registry.getMailbox(handler.operators(i)).stake;
        assertEq(snt.balanceOf(address(registry)), staked, "registry holds exactly the stakes");
    }

    /// The disputes contract holds exactly the bonds of open custody disputes: never more (rewards
    /// pass through in the same transaction), never less (each open bond can be paid).
    function invariant_disputesHoldOnlyOpenBonds() public view {
        uint256 open;
        for (uint256 i = 0; i < handler.custodyCount(); ++i) {
            IDisputes.Dispute memory d = dc.getDispute(handler.custody(i).id);
            if (d.state == IDisputes.State.Open) open += d.bond;
        }
        assertEq(open, handler.openBonds(), "open bonds as the handler saw them");
        assertEq(snt.balanceOf(address(dc)), open, "held == open bonds");
    }

    /// A dispute resolves at most once, and the contract's state is the one resolution that happened.
    function invariant_disputeResolvesAtMostOnce() public view {
        for (uint256 i = 0; i < handler.custodyCount(); ++i) {
            DisputesHandler.Custody memory c = handler.custody(i);
            assertLe(handler.resolutions(c.id), 1, "resolved at most once");
            IDisputes.State s = dc.getDispute(c.id).state;
            uint256 expected =
                c.outcome == 0
                    ? 1
                    : c.outcome == 1
                        ? 2
                        : 3;
            assertEq(uint256(s), expected, "state is the one outcome");
        }
        assertEq(handler.breaches(), 0, "every replay and false proof reverted");
    }

    /// What upheld disputes take from an operator in one slash period never exceeds the registry's
    /// cap (maxSlashBps of the stake when the period opened); one dispute never more than slashBps.
    function invariant_slashedPerPeriodWithinCap() public view {
        for (uint256 i = 0; i < handler.operatorCount(); ++i) {
            address op = handler.operators(i);
            assertLe(handler.periodTaken(op), handler.periodCap(op), "period total <= cap");
        }
        assertEq(handler.overSlashes(), 0, "no dispute took more than slashBps of the stake");
    }

    /// Every bond paid in is still held (open), was paid to the operator (answered), or returned
    /// to its challenger (upheld); every payout was exactly bond (+ the reward share of the slash).
    function invariant_bondsAccounted() public view {
        assertEq(
            handler.bondsIn(),
            handler.openBonds() + handler.bondsToOperators() + handler.bondsReturned(),
            "bonds in == held + to operators + returned"
        );
        assertEq(handler.payoutMismatches(), 0, "payouts exact");
    }

    /// No stake falls except through an upheld dispute.
    function invariant_stakesFallOnlyThroughDisputes() public view {
        for (uint256 i = 0; i < handler.operatorCount(); ++i) {
            address op = handler.operators(i);
            assertEq(registry.getMailbox(op).stake, handler.expectedStake(op), "stake as the rules say");
        }
    }
}
