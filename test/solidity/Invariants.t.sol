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

/// @notice Drives MailboxRegistry with random registrations, stake changes, exits, slashes and jails.
contract RegistryHandler is TestBase {
    SNT public immutable snt;
    MailboxRegistry public immutable registry;
    address public immutable slasher;
    address public immutable jailer;
    address[] public operators;

    constructor(SNT snt_, MailboxRegistry registry_, address slasher_, address jailer_) {
        snt = snt_;
        registry = registry_;
        slasher = slasher_;
        jailer = jailer_;
        for (uint160 i = 1; i <= 4; ++i) operators.push(address(0x2000 + i));
    }

    function operatorCount() external pure returns (uint256) {
        return 4;
    }

    function _op(uint256 seed) internal view returns (address) {
        return operators[seed % operators.length];
    }

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
    }

    function addStake(uint256 seed, uint256 amount) external {
        address op = _op(seed);
        amount = bound(amount, 1, 10_000 ether);
        snt.mint(address(this), amount);
        snt.approve(address(registry), 0);
        snt.approve(address(registry), amount);
        registry.addStake(op, amount);
    }

    function requestExit(uint256 seed) external {
        vm.prank(_op(seed));
        registry.requestExit();
    }

    function withdrawStake(uint256 seed) external {
        vm.prank(_op(seed));
        registry.withdrawStake();
    }

    function slash(uint256 seed, uint256 bps) external {
        address op = _op(seed);
        uint256 amount = (registry.getMailbox(op).stake * bound(bps, 1, 1_000)) / 10_000;
        vm.prank(slasher);
        registry.slash(op, amount, bytes32(seed));
    }

    function jail(uint256 seed) external {
        vm.prank(jailer);
        registry.jail(_op(seed));
    }

    function unjail(uint256 seed) external {
        vm.prank(jailer);
        registry.unjail(_op(seed));
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
        address slasher = address(0x51A5);
        address jailer = address(0x1A11);
        registry = new MailboxRegistry(
            IERC20(address(snt)),
            1_000 ether,
            7 days,
            1 days,
            1_000,
            5_000,
            address(this),
            address(0xBE1E),
            address(0x7EA5)
        );
        registry.grantRole(registry.SLASHER_ROLE(), slasher);
        registry.grantRole(registry.JAILER_ROLE(), jailer);
        handler = new RegistryHandler(snt, registry, slasher, jailer);
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
}
