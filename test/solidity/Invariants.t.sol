// SPDX-License-Identifier: MIT
// solhint-disable one-contract-per-file
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IMailboxRegistry} from "../../contracts/interfaces/IMailboxRegistry.sol";
import {IPaymentChannels} from "../../contracts/interfaces/IPaymentChannels.sol";
import {MailboxRegistry} from "../../contracts/MailboxRegistry.sol";
import {PaymentChannels} from "../../contracts/PaymentChannels.sol";
import {SNT} from "../../contracts/SNT.sol";
import {TestBase} from "./utils/Vm.sol";

/// @notice Drives PaymentChannels with random sequences of opens, top-ups, redemptions, closes and
/// time jumps; the handler is the payer, a session key signs.
contract ChannelsHandler is TestBase {
    uint256 internal constant SESSION_KEY = 0x5E55;
    SNT public immutable snt;
    PaymentChannels public immutable channels;
    address public immutable session;
    bytes32[] public ids;
    /// Cumulative amounts signed per channel (the client's view).
    mapping(bytes32 => uint256) public signed;
    /// Ghost: finalisations where paid + refund differed from the deposit.
    uint256 public finalisationMismatches;
    /// Ghost: redemptions that paid more than the increase.
    uint256 public overpayments;

    constructor(SNT snt_, PaymentChannels channels_) {
        snt = snt_;
        channels = channels_;
        session = vm.addr(SESSION_KEY);
        snt.approve(address(channels), type(uint256).max);
    }

    function channelCount() external view returns (uint256) {
        return ids.length;
    }

    function open(uint256 amount, uint256 payeeSeed) external {
        amount = bound(amount, 1, 1_000 ether);
        address payee = address(uint160(0x1000 + (payeeSeed % 3)));
        bytes32 id = channels.open(payee, session, amount, bytes32(ids.length));
        ids.push(id);
    }

    function topUp(uint256 which, uint256 amount) external {
        if (ids.length == 0) return;
        channels.topUp(ids[which % ids.length], bound(amount, 1, 1_000 ether));
    }

    function redeem(uint256 which, uint256 increase) external {
        if (ids.length == 0) return;
        bytes32 id = ids[which % ids.length];
        IPaymentChannels.Channel memory c = channels.getChannel(id);
        uint256 cumulative = c.paid + bound(increase, 1, c.deposit + 1); // sometimes above deposit
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SESSION_KEY, channels.voucherDigest(id, cumulative));
        uint256 before = snt.balanceOf(c.payee);
        channels.redeem(id, cumulative, abi.encodePacked(r, s, v));
        if (snt.balanceOf(c.payee) - before != cumulative - c.paid) ++overpayments;
    }

    function requestClose(uint256 which) external {
        if (ids.length == 0) return;
        channels.requestClose(ids[which % ids.length]);
    }

    function cancelClose(uint256 which) external {
        if (ids.length == 0) return;
        channels.cancelClose(ids[which % ids.length]);
    }

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 1, 2 days));
    }

    function withdraw(uint256 which) external {
        if (ids.length == 0) return;
        bytes32 id = ids[which % ids.length];
        IPaymentChannels.Channel memory c = channels.getChannel(id);
        uint256 before = snt.balanceOf(address(this));
        channels.withdraw(id);
        uint256 refund = snt.balanceOf(address(this)) - before;
        if (c.paid + refund != c.deposit) ++finalisationMismatches;
    }

    function redeemAndClose(uint256 which, uint256 increase) external {
        if (ids.length == 0) return;
        bytes32 id = ids[which % ids.length];
        IPaymentChannels.Channel memory c = channels.getChannel(id);
        uint256 cumulative = c.paid + bound(increase, 1, c.deposit - c.paid + 1);
        if (cumulative > c.deposit) cumulative = c.deposit;
        bytes memory sig;
        if (cumulative > c.paid) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(SESSION_KEY, channels.voucherDigest(id, cumulative));
            sig = abi.encodePacked(r, s, v);
        }
        uint256 payeeBefore = snt.balanceOf(c.payee);
        uint256 payerBefore = snt.balanceOf(address(this));
        vm.prank(c.payee);
        channels.redeemAndClose(id, cumulative, sig);
        uint256 paidNow = snt.balanceOf(c.payee) - payeeBefore;
        uint256 refund = snt.balanceOf(address(this)) - payerBefore;
        if (c.paid + paidNow + refund != c.deposit) ++finalisationMismatches;
    }
}

contract PaymentChannelsInvariantTest is TestBase {
    SNT internal snt;
    PaymentChannels internal channels;
    ChannelsHandler internal handler;

    function setUp() public {
        snt = new SNT(address(this), 0);
        channels = new PaymentChannels(IERC20(address(snt)), 1 days);
        handler = new ChannelsHandler(snt, channels);
        snt.mint(address(handler), 1e30);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// SNT held by the contract == Σ over live channels of (deposit − paid); finalised ones hold 0.
    function invariant_solvency() public view {
        uint256 owed;
        uint256 n = handler.channelCount();
        for (uint256 i = 0; i < n; ++i) {
            IPaymentChannels.Channel memory c = channels.getChannel(handler.ids(i));
            if (!c.finalised) owed += c.deposit - c.paid;
        }
        assertEq(snt.balanceOf(address(channels)), owed, "held == sum(deposit - paid - refunded)");
    }

    function invariant_paidNeverAboveDeposit() public view {
        uint256 n = handler.channelCount();
        for (uint256 i = 0; i < n; ++i) {
            IPaymentChannels.Channel memory c = channels.getChannel(handler.ids(i));
            assertLe(c.paid, c.deposit, "paid <= deposit");
        }
    }

    function invariant_finalisationBalances() public view {
        assertEq(handler.finalisationMismatches(), 0, "paid + refund == deposit at finalisation");
        assertEq(handler.overpayments(), 0, "a redemption pays exactly the increase");
    }
}

/// @notice Drives MailboxRegistry with random registrations, stake changes, exits, slashes and jails
/// by the disputes contract (this handler is the registry's `disputes`), and attacks by the admin and
/// a stranger that must all fail. Ghost variables follow every stake as the rules say it should be.
contract RegistryHandler is TestBase {
    SNT public immutable snt;
    address public constant ADMIN = address(0xAD);
    address public constant STRANGER = address(0x5757);
    address public constant FUNDER = address(0xF00D);
    address public constant TREASURY = address(0x7EA5);
    address public constant NEW_TREASURY = address(0x7EA6);
    MailboxRegistry public registry;
    address[] public operators;

    /// Ghost: each operator's stake as the rules say it should be.
    mapping(address => uint256) public expectedStake;
    /// Ghost: SNT credited into the registry, paid back by withdrawals, and taken by slashes.
    uint256 public credited;
    uint256 public withdrawn;
    uint256 public slashed;
    /// Ghost: attacks that did not revert (must stay zero).
    uint256 public breaches;
    uint256 private _disputeCount;

    constructor(SNT snt_) {
        snt = snt_;
        for (uint160 i = 1; i <= 4; ++i) operators.push(address(0x2000 + i));
    }

    function init(MailboxRegistry registry_) external {
        registry = registry_;
    }

    function operatorCount() external pure returns (uint256) {
        return 4;
    }

    function _op(uint256 seed) internal view returns (address) {
        return operators[seed % operators.length];
    }

    // ---- operators and funders

    function register(uint256 seed, uint256 stake) external {
        address op = _op(seed);
        stake = bound(stake, 1_000 ether, 100_000 ether);
        snt.mint(op, stake);
        string[] memory a = new string[](1);
        a[0] = "/ip4/127.0.0.1/tcp/1";
        vm.startPrank(op);
        snt.approve(address(registry), 0);
        snt.approve(address(registry), stake);
        registry.register("peer", a, "", stake, 1, 1, 1 days);
        vm.stopPrank();
        expectedStake[op] = stake;
        credited += stake;
    }

    function addStake(uint256 seed, uint256 amount) external {
        address op = _op(seed);
        amount = bound(amount, 1, 10_000 ether);
        snt.mint(FUNDER, amount);
        vm.startPrank(FUNDER);
        snt.approve(address(registry), 0);
        snt.approve(address(registry), amount);
        registry.addStake(op, amount);
        vm.stopPrank();
        expectedStake[op] += amount;
        credited += amount;
    }

    function requestExit(uint256 seed) external {
        vm.prank(_op(seed));
        registry.requestExit();
    }

    function withdrawStake(uint256 seed) external {
        address op = _op(seed);
        uint256 before = snt.balanceOf(op);
        vm.prank(op);
        registry.withdrawStake();
        withdrawn += snt.balanceOf(op) - before;
        expectedStake[op] = 0;
    }

    function unjail(uint256 seed) external {
        vm.prank(_op(seed));
        registry.unjail();
    }

    // ---- the disputes contract

    function slash(uint256 seed, uint256 bps) external {
        address op = _op(seed);
        uint256 amount = (registry.slashable(op) * bound(bps, 1, 10_000)) / 10_000;
        registry.slash(op, amount, bytes32(++_disputeCount));
        expectedStake[op] -= amount;
        slashed += amount;
    }

    /// A hundred slashes of 10 % of the current stake in one transaction.
    function slashBurst(uint256 seed) external {
        address op = _op(seed);
        for (uint256 i = 0; i < 100; ++i) {
            uint256 amount = registry.getMailbox(op).stake / 10;
            try registry.slash(op, amount, bytes32(++_disputeCount)) {
                expectedStake[op] -= amount;
                slashed += amount;
            } catch {
                break;
            }
        }
    }

    function jail(uint256 seed, uint256 term) external {
        registry.jail(_op(seed), block.timestamp + bound(term, 1, 7 days));
    }

    // ---- the admin (legitimate)

    function scheduleTreasury(uint256 seed) external {
        vm.prank(ADMIN);
        registry.scheduleTreasury(seed % 2 == 0 ? TREASURY : NEW_TREASURY);
    }

    // ---- attacks: each must revert

    function adminSlashes(uint256 seed) external {
        address op = _op(seed);
        uint256 amount = registry.getMailbox(op).stake / 10;
        vm.prank(ADMIN);
        registry.grantRole(keccak256("SLASHER_ROLE"), ADMIN);
        vm.prank(ADMIN);
        try registry.slash(op, amount, bytes32(++_disputeCount)) {
            ++breaches;
        } catch {}
    }

    function adminJails(uint256 seed) external {
        vm.prank(ADMIN);
        try registry.jail(_op(seed), block.timestamp + 1 days) {
            ++breaches;
        } catch {}
    }

    function adminRedirectsPayoutToItself() external {
        vm.prank(ADMIN);
        try registry.scheduleTreasury(address(registry)) {
            ++breaches;
        } catch {}
    }

    function adminHandsOverAtOnce() external {
        vm.prank(ADMIN);
        try registry.grantRole(registry.DEFAULT_ADMIN_ROLE(), STRANGER) {
            ++breaches;
        } catch {}
    }

    function strangerSlashes(uint256 seed) external {
        address op = _op(seed);
        uint256 amount = registry.getMailbox(op).stake / 10;
        vm.prank(STRANGER);
        try registry.slash(op, amount, bytes32(++_disputeCount)) {
            ++breaches;
        } catch {}
    }

    function operatorSlashesAnother(uint256 seed) external {
        address op = _op(seed);
        vm.prank(_op(seed + 1));
        try registry.slash(op, 1, bytes32(++_disputeCount)) {
            ++breaches;
        } catch {}
    }

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 1, 8 days));
    }
}

contract MailboxRegistryInvariantTest is TestBase {
    SNT internal snt;
    MailboxRegistry internal registry;
    RegistryHandler internal handler;

    function setUp() public {
        snt = new SNT(address(this), 0);
        handler = new RegistryHandler(snt);
        registry = new MailboxRegistry(
            IERC20(address(snt)),
            1_000 ether,
            7 days,
            1 days,
            1_000,
            7 days,
            5_000,
            address(handler),
            handler.TREASURY(),
            handler.ADMIN(),
            2 days
        );
        handler.init(registry);
        snt.transferOwnership(address(handler));
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// SNT held by the registry == Σ stakes not yet withdrawn or slashed.
    function invariant_stakeSolvency() public view {
        uint256 staked;
        for (uint256 i = 0; i < handler.operatorCount(); ++i) {
            IMailboxRegistry.Mailbox memory m = registry.getMailbox(handler.operators(i));
            staked += m.stake;
            if (m.status == IMailboxRegistry.Status.None) assertEq(m.stake, 0, "withdrawn entries hold nothing");
        }
        assertEq(snt.balanceOf(address(registry)), staked, "held == sum of stakes");
    }

    /// Every SNT credited is in the registry, withdrawn by its operator, or paid out by a slash to
    /// the disputes contract or a treasury; slashes pay out exactly what they take.
    function invariant_sntConserved() public view {
        uint256 paidOut =
            snt.balanceOf(address(handler)) + snt.balanceOf(handler.TREASURY()) + snt.balanceOf(handler.NEW_TREASURY());
        assertEq(paidOut, handler.slashed(), "slash payouts == slashed");
        assertEq(
            handler.credited(),
            snt.balanceOf(address(registry)) + handler.withdrawn() + paidOut,
            "credited == held + withdrawn + paid out"
        );
        assertEq(snt.balanceOf(handler.ADMIN()), 0, "the admin never receives SNT");
        assertEq(snt.balanceOf(handler.STRANGER()), 0, "a stranger never receives SNT");
    }

    /// No stake falls except through the disputes contract: each stake is what registrations,
    /// top-ups, withdrawals and the disputes contract's slashes made it; every attack reverted.
    function invariant_stakesFallOnlyThroughDisputes() public view {
        for (uint256 i = 0; i < handler.operatorCount(); ++i) {
            address op = handler.operators(i);
            assertEq(registry.getMailbox(op).stake, handler.expectedStake(op), "stake as the rules say");
        }
        assertEq(handler.breaches(), 0, "every attack reverted");
    }

    /// What may still be slashed in a period never exceeds maxSlashBps of the stake.
    function invariant_slashAllowanceWithinCap() public view {
        for (uint256 i = 0; i < handler.operatorCount(); ++i) {
            address op = handler.operators(i);
            assertLe(registry.slashable(op), (registry.getMailbox(op).stake * 1_000) / 10_000, "allowance <= 10%");
        }
    }

    /// An Active entry always holds at least the minimum stake.
    function invariant_activeEntriesHoldMinStake() public view {
        for (uint256 i = 0; i < handler.operatorCount(); ++i) {
            IMailboxRegistry.Mailbox memory m = registry.getMailbox(handler.operators(i));
            if (m.status == IMailboxRegistry.Status.Active) assertLe(1_000 ether, m.stake, "active >= minStake");
        }
    }
}
