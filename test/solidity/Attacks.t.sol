// SPDX-License-Identifier: MIT
// solhint-disable one-contract-per-file
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IMailboxRegistry} from "../../contracts/interfaces/IMailboxRegistry.sol";
import {IPaymentChannels} from "../../contracts/interfaces/IPaymentChannels.sol";
import {MailboxRegistry} from "../../contracts/MailboxRegistry.sol";
import {PaymentChannels} from "../../contracts/PaymentChannels.sol";
import {HookToken} from "../../contracts/test/QuirkyTokens.sol";
import {Fixture} from "./utils/Fixture.sol";

/// @notice Records what the registry and the channels show while a token transfer is in flight
/// (called from a token's transfer hook, as a sender hook or a MiniMe controller would be).
contract StateProbe {
    MailboxRegistry public registry;
    PaymentChannels public channels;
    address public operator;
    bytes32 public channelId;
    bool public called;
    uint256 public stake;
    IMailboxRegistry.Status public status;
    uint256 public deposit;

    function watch(MailboxRegistry registry_, PaymentChannels channels_, address operator_, bytes32 id) external {
        registry = registry_;
        channels = channels_;
        operator = operator_;
        channelId = id;
    }

    function record() external {
        called = true;
        if (address(registry) != address(0)) {
            IMailboxRegistry.Mailbox memory m = registry.getMailbox(operator);
            stake = m.stake;
            status = m.status;
        }
        if (address(channels) != address(0)) deposit = channels.getChannel(channelId).deposit;
    }
}

/// @notice One test per weakness found in review (issue #20), named after the attack. Each failed
/// on the contracts before the fix (the attack worked) and passes now. Only the fixture's helpers
/// (`slashByDisputes`, `jailByDisputes`, `setPayoutAs`, `newRegistry`) touch calls whose shape
/// changed; errors are matched by signature so that the file reads the same against either version.
contract AttacksTest is Fixture {
    bytes32 internal constant SALT = bytes32(uint256(1));

    /// Tries `calls` slashes of 10 % of the current stake each, as the disputes contract, in this
    /// one transaction; returns the total taken.
    function slashRepeatedly(uint256 calls, uint256 firstId) internal returns (uint256 taken) {
        for (uint256 i = 0; i < calls; ++i) {
            uint256 amount = registry.getMailbox(operator).stake / 10;
            if (amount == 0) break;
            try disputes.slash(IMailboxRegistry(address(registry)), operator, amount, bytes32(firstId + i)) {
                taken += amount;
            } catch {}
        }
    }

    // ================================================================ slashing and the admin

    function test_attack_hundredSlashesInOneTransaction_takeAtMostThePeriodCap() public {
        registerOperator(10_000 ether);
        uint256 taken = slashRepeatedly(100, 1);
        assertEq(taken, 1_000 ether, "10 % of the stake per period, however many calls");
        assertEq(registry.getMailbox(operator).stake, 9_000 ether, "90 % left");
    }

    function test_attack_drainExitingOperatorBeforeItWithdraws_takesAtMostOneCapPerPeriod() public {
        registerOperator(10_000 ether);
        vm.prank(operator);
        registry.requestExit();
        // An exit lasts the retention plus unbonding (37 days): one period's cap in each slash period
        // it touches, 100 calls each time, the last in the withdrawal's block.
        uint256 rounds = 0;
        uint256 floor = 10_000 ether;
        for (uint256 t = T0; t < T0 + EXIT; t += SLASH_PERIOD) {
            vm.warp(t);
            slashRepeatedly(100, 1 + 100 * rounds++);
            floor -= floor / 10;
        }
        vm.warp(T0 + EXIT);
        slashRepeatedly(100, 1 + 100 * rounds++);
        floor -= floor / 10;
        assertEq(rounds, 7, "periods touched");
        uint256 before = snt.balanceOf(operator);
        vm.prank(operator);
        registry.withdrawStake();
        assertLe(floor, snt.balanceOf(operator) - before, "at least (1 - 10 %)^periods of the stake back");
    }

    function test_attack_adminGrantsItselfSlasherAndJailer_andTakesEveryStake_refused() public {
        registerOperator(10_000 ether);
        vm.startPrank(admin);
        registry.grantRole(keccak256("SLASHER_ROLE"), admin);
        registry.grantRole(keccak256("JAILER_ROLE"), admin);
        vm.stopPrank();
        setPayoutAs(admin, admin);
        vm.startPrank(admin);
        // solhint-disable avoid-low-level-calls
        (bool jailed1, ) = address(registry).call(abi.encodeWithSignature("jail(address)", operator));
        (bool jailed2, ) = address(registry).call(
            abi.encodeWithSignature("jail(address,uint256)", operator, block.timestamp + 1 days)
        );
        // solhint-enable avoid-low-level-calls
        for (uint256 i = 0; i < 100; ++i) {
            try registry.slash(operator, registry.getMailbox(operator).stake / 10, bytes32(i)) {} catch {}
        }
        vm.stopPrank();
        assertTrue(!jailed1 && !jailed2, "the admin cannot jail");
        assertEq(snt.balanceOf(admin), 0, "the admin took nothing");
        assertEq(registry.getMailbox(operator).stake, 10_000 ether, "the stake is whole");
        vm.prank(operator);
        registry.requestExit();
        vm.warp(block.timestamp + EXIT);
        uint256 before = snt.balanceOf(operator);
        vm.prank(operator);
        registry.withdrawStake();
        assertEq(snt.balanceOf(operator) - before, 10_000 ether, "the operator leaves with all of it");
    }

    function test_attack_stolenAdminKeyHandsAdminOverAtOnce_refused() public {
        bytes32 adminRole = registry.DEFAULT_ADMIN_ROLE();
        vm.prank(admin);
        try registry.grantRole(adminRole, stranger) {} catch {}
        assertTrue(!registry.hasRole(adminRole, stranger), "no second admin without the delay");
    }

    function test_attack_adminPointsPayoutAtItselfThenASlashPaysIt_waitsTheDelay() public {
        registerOperator(10_000 ether);
        setPayoutAs(admin, admin);
        slashByDisputes(operator, 100 ether, keccak256("upheld"));
        assertEq(snt.balanceOf(admin), 0, "a payout change does not apply at once");
        assertEq(snt.balanceOf(treasury), 50 ether, "the treasury in place was paid");
    }

    function test_attack_slashPayoutToTheRegistry_fundsStuck_refused() public {
        vm.expectRevert(abi.encodeWithSignature("MailboxRegistryInvalidTreasury(address)", address(registry)));
        setPayoutAs(admin, address(registry));
    }

    // ================================================================ jail

    function test_attack_jailForever_operatorCannotExit_exitsAfterUnbonding() public {
        registerOperator(10_000 ether);
        jailByDisputes(operator, T0 + UNBONDING);
        vm.warp(T0 + 1 days);
        vm.prank(operator);
        registry.requestExit();
        vm.warp(T0 + 1 days + EXIT);
        uint256 before = snt.balanceOf(operator);
        vm.prank(operator);
        registry.withdrawStake();
        assertEq(snt.balanceOf(operator) - before, 10_000 ether, "a jailed operator leaves after unbonding");
    }

    function test_attack_jailWithoutEnd_termBoundedByUnbonding() public {
        registerOperator(10_000 ether);
        uint256 forever = block.timestamp + 100 * 365 days;
        vm.expectRevert(
            abi.encodeWithSignature(
                "MailboxRegistryInvalidJailTerm(uint256,uint256)",
                forever,
                block.timestamp + UNBONDING
            )
        );
        jailByDisputes(operator, forever);
    }

    function test_attack_jailedStakeSlashedRepeatedly_boundedByThePeriodCap() public {
        registerOperator(10_000 ether);
        jailByDisputes(operator, block.timestamp + UNBONDING);
        slashRepeatedly(100, 1);
        assertEq(registry.getMailbox(operator).stake, 9_000 ether, "one period's cap, jailed or not");
    }

    function test_attack_slashedBelowMinStake_staysListedActive_losesActiveStatus() public {
        registerOperator(MIN_STAKE);
        slashByDisputes(operator, MIN_STAKE / 10, keccak256("upheld"));
        assertTrue(
            registry.getMailbox(operator).status != IMailboxRegistry.Status.Active,
            "below the minimum stake is not Active"
        );
    }

    // ================================================================ parameters

    function test_attack_zeroCloseGrace_payerClosesAndWithdrawsInOneBlock_refused() public {
        vm.expectRevert(abi.encodeWithSignature("PaymentChannelsInvalidParameter(string)", "closeGrace"));
        new PaymentChannels(IERC20(address(snt)), 0);
    }

    function test_attack_closeGraceOf2pow64_wrapsTheDeadlineToNow_refused() public {
        vm.expectRevert(abi.encodeWithSignature("PaymentChannelsInvalidParameter(string)", "closeGrace"));
        new PaymentChannels(IERC20(address(snt)), uint256(type(uint64).max) + 1);
    }

    function test_attack_unbondingOf2pow64_wrapsWithdrawableAtToNow_refused() public {
        RegistryParams memory p = params(IERC20(address(snt)));
        p.unbondingPeriod = uint256(type(uint64).max) + 1;
        vm.expectRevert(abi.encodeWithSignature("MailboxRegistryInvalidParameter(string)", "unbondingPeriod"));
        newRegistry(p);
    }

    function test_attack_unbondingShorterThanPriceDelay_reRegisterAtAHigherPriceFirst_refused() public {
        RegistryParams memory p = params(IERC20(address(snt)));
        p.unbondingPeriod = 1 hours;
        p.priceDelay = 1 days;
        vm.expectRevert(abi.encodeWithSignature("MailboxRegistryInvalidParameter(string)", "priceDelay"));
        newRegistry(p);
    }

    function test_attack_channelsOnTheZeroToken_refused() public {
        vm.expectRevert(abi.encodeWithSignature("PaymentChannelsInvalidParameter(string)", "token"));
        new PaymentChannels(IERC20(address(0)), CLOSE_GRACE);
    }

    // ================================================================ endpoint strings

    function test_attack_hugeMetadataURI_makesEveryPageExpensiveToRead_refused() public {
        bytes memory huge = new bytes(16 * 1024);
        vm.startPrank(operator);
        snt.approve(address(registry), MIN_STAKE);
        vm.expectRevert(
            abi.encodeWithSignature(
                "MailboxRegistryStringTooLong(string,uint256,uint256)",
                "metadataURI",
                16 * 1024,
                2048
            )
        );
        registry.register(PEER_ID, addrs(), string(huge), MIN_STAKE, PQ, PM, RETENTION);
        vm.stopPrank();
    }

    function test_attack_hugeMultiaddrs_makeEveryPageExpensiveToRead_refused() public {
        string[] memory a = new string[](8);
        for (uint256 i = 0; i < 8; ++i) a[i] = string(new bytes(2048));
        vm.startPrank(operator);
        snt.approve(address(registry), MIN_STAKE);
        vm.expectRevert(
            abi.encodeWithSignature("MailboxRegistryStringTooLong(string,uint256,uint256)", "multiaddr", 2048, 256)
        );
        registry.register(PEER_ID, a, "", MIN_STAKE, PQ, PM, RETENTION);
        vm.stopPrank();
    }

    function test_attack_withdrawnEntryKeepsItsStrings_deletedOnWithdrawal() public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        registry.requestExit();
        vm.warp(block.timestamp + EXIT);
        vm.prank(operator);
        registry.withdrawStake();
        IMailboxRegistry.Mailbox memory m = registry.getMailbox(operator);
        assertEq(bytes(m.peerId).length, 0, "peer id deleted");
        assertEq(m.multiaddrs.length, 0, "multiaddrs deleted");
        assertEq(bytes(m.metadataURI).length, 0, "metadata URI deleted");
    }

    // ================================================================ amounts and ordering

    function test_attack_approveAndCallDeclaresAnotherStake_refused() public {
        bytes memory data = abi.encodeCall(
            IMailboxRegistry.register,
            (PEER_ID, addrs(), "", 5 * MIN_STAKE, PQ, PM, RETENTION)
        );
        vm.prank(operator);
        vm.expectRevert(
            abi.encodeWithSignature("MailboxRegistryDeclaredAmountMismatch(uint256,uint256)", 5 * MIN_STAKE, MIN_STAKE)
        );
        snt.approveAndCall(address(registry), MIN_STAKE, data);
    }

    function test_attack_approveAndCallDeclaresAnotherTopUp_refused() public {
        registerOperator(MIN_STAKE);
        bytes memory data = abi.encodeCall(IMailboxRegistry.addStake, (operator, 100 ether));
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSignature("MailboxRegistryDeclaredAmountMismatch(uint256,uint256)", 100 ether, 1 ether)
        );
        snt.approveAndCall(address(registry), 1 ether, data);
    }

    function test_attack_senderHookDuringRegisterPull_seesNoEntry() public {
        HookToken hook = new HookToken();
        MailboxRegistry r = registryOn(IERC20(address(hook)));
        StateProbe probe = new StateProbe();
        probe.watch(r, PaymentChannels(address(0)), operator, bytes32(0));
        hook.mint(operator, MIN_STAKE);
        hook.setHook(address(probe), abi.encodeCall(StateProbe.record, ()));
        vm.startPrank(operator);
        hook.approve(address(r), MIN_STAKE);
        r.register(PEER_ID, addrs(), "", MIN_STAKE, PQ, PM, RETENTION);
        vm.stopPrank();
        assertTrue(probe.called(), "the hook ran");
        assertTrue(probe.status() == IMailboxRegistry.Status.Active, "registered before the pull");
        assertEq(probe.stake(), MIN_STAKE, "stake recorded before the pull");
    }

    function test_attack_senderHookDuringAddStakePull_seesTheOldStake() public {
        HookToken hook = new HookToken();
        MailboxRegistry r = registryOn(IERC20(address(hook)));
        hook.mint(operator, 2 * MIN_STAKE);
        vm.startPrank(operator);
        hook.approve(address(r), 2 * MIN_STAKE);
        r.register(PEER_ID, addrs(), "", MIN_STAKE, PQ, PM, RETENTION);
        StateProbe probe = new StateProbe();
        probe.watch(r, PaymentChannels(address(0)), operator, bytes32(0));
        hook.setHook(address(probe), abi.encodeCall(StateProbe.record, ()));
        r.addStake(operator, MIN_STAKE);
        vm.stopPrank();
        assertEq(probe.stake(), 2 * MIN_STAKE, "stake added before the pull");
    }

    function test_attack_senderHookDuringOpenPull_seesNoChannel() public {
        HookToken hook = new HookToken();
        PaymentChannels c = new PaymentChannels(IERC20(address(hook)), CLOSE_GRACE);
        bytes32 id = c.channelId(payer, payee, session, SALT);
        StateProbe probe = new StateProbe();
        probe.watch(MailboxRegistry(address(0)), c, address(0), id);
        hook.mint(payer, 10 ether);
        hook.setHook(address(probe), abi.encodeCall(StateProbe.record, ()));
        vm.startPrank(payer);
        hook.approve(address(c), 10 ether);
        c.open(payee, session, 10 ether, SALT);
        vm.stopPrank();
        assertTrue(probe.called(), "the hook ran");
        assertEq(probe.deposit(), 10 ether, "channel recorded before the pull");
    }

    function test_attack_senderHookDuringTopUpPull_seesTheOldDeposit() public {
        HookToken hook = new HookToken();
        PaymentChannels c = new PaymentChannels(IERC20(address(hook)), CLOSE_GRACE);
        hook.mint(payer, 20 ether);
        vm.startPrank(payer);
        hook.approve(address(c), 20 ether);
        bytes32 id = c.open(payee, session, 10 ether, SALT);
        StateProbe probe = new StateProbe();
        probe.watch(MailboxRegistry(address(0)), c, address(0), id);
        hook.setHook(address(probe), abi.encodeCall(StateProbe.record, ()));
        c.topUp(id, 10 ether);
        vm.stopPrank();
        assertEq(probe.deposit(), 20 ether, "deposit raised before the pull");
    }

    // ================================================================ channels

    function test_attack_thirdPartyRedeemsTheFinalVoucherFirst_redeemAndCloseStillCloses() public {
        bytes32 id = openChannel(10 ether, SALT);
        bytes memory finalVoucher = sign(SESSION_KEY, id, 6 ether);
        vm.prank(stranger);
        channels.redeem(id, 6 ether, finalVoucher);
        uint256 payerBefore = snt.balanceOf(payer);
        vm.prank(payee);
        channels.redeemAndClose(id, 6 ether, finalVoucher);
        assertTrue(channels.getChannel(id).finalised, "finalised");
        assertEq(snt.balanceOf(payee), 6 ether, "the payee holds what it signed for");
        assertEq(snt.balanceOf(payer) - payerBefore, 4 ether, "the rest refunded");
    }

    function test_attack_cancelAndRequestCloseForever_deadlineMovesOnlyOnce() public {
        bytes32 id = openChannel(10 ether, SALT);
        vm.startPrank(payer);
        channels.requestClose(id);
        channels.cancelClose(id);
        vm.warp(T0 + 1 days);
        channels.requestClose(id);
        uint256 closesAt = T0 + 1 days + CLOSE_GRACE;
        vm.expectRevert(abi.encodeWithSignature("PaymentChannelsCloseNotCancellable(bytes32)", id));
        channels.cancelClose(id);
        vm.stopPrank();
        vm.warp(closesAt);
        channels.withdraw(id);
        assertTrue(channels.getChannel(id).finalised, "closed at the second deadline");
    }
}
