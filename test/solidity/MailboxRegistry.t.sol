// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IMailboxRegistry} from "../../contracts/interfaces/IMailboxRegistry.sol";
import {MailboxRegistry} from "../../contracts/MailboxRegistry.sol";
import {SNT} from "../../contracts/SNT.sol";
import {FeeOnTransferToken, HookToken} from "../../contracts/test/QuirkyTokens.sol";
import {Fixture} from "./utils/Fixture.sol";

contract MailboxRegistryTest is Fixture {
    // ---------------------------------------------------------------- register

    function test_register_storesEntry() public {
        registerOperator(MIN_STAKE);
        IMailboxRegistry.Mailbox memory m = registry.getMailbox(operator);
        assertEq(m.operator, operator, "operator");
        assertTrue(keccak256(bytes(m.peerId)) == keccak256(bytes(PEER_ID)), "peer id");
        assertEq(m.multiaddrs.length, 2, "multiaddrs");
        assertEq(m.stake, MIN_STAKE, "stake");
        assertEq(m.pricePerQuery, PQ, "pq");
        assertEq(m.pricePerMessage, PM, "pm");
        assertEq(m.retention, RETENTION, "retention");
        assertEq(m.registeredAt, block.timestamp, "registeredAt");
        assertTrue(m.status == IMailboxRegistry.Status.Active, "active");
        assertEq(registry.mailboxCount(), 1, "count");
        assertEq(snt.balanceOf(address(registry)), MIN_STAKE, "held");
    }

    function test_register_emitsMailboxRegistered() public {
        vm.startPrank(operator);
        snt.approve(address(registry), MIN_STAKE);
        vm.expectEmit();
        emit IMailboxRegistry.MailboxRegistered(operator, PEER_ID, addrs(), "", MIN_STAKE, PQ, PM, RETENTION);
        registry.register(PEER_ID, addrs(), "", MIN_STAKE, PQ, PM, RETENTION);
        vm.stopPrank();
    }

    function test_register_viaApproveAndCall() public {
        bytes memory data = abi.encodeCall(IMailboxRegistry.register, (PEER_ID, addrs(), "", 0, PQ, PM, RETENTION));
        vm.prank(operator);
        snt.approveAndCall(address(registry), 2 * MIN_STAKE, data);
        assertEq(registry.getMailbox(operator).stake, 2 * MIN_STAKE, "stake is the approved amount");
    }

    function test_register_revertsBelowMinStake() public {
        vm.startPrank(operator);
        snt.approve(address(registry), MIN_STAKE - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryStakeTooLow.selector, MIN_STAKE - 1, MIN_STAKE)
        );
        registry.register(PEER_ID, addrs(), "", MIN_STAKE - 1, PQ, PM, RETENTION);
        vm.stopPrank();
    }

    function test_register_revertsWhenAlreadyRegistered() public {
        registerOperator(MIN_STAKE);
        vm.startPrank(operator);
        snt.approve(address(registry), MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryAlreadyRegistered.selector, operator));
        registry.register(PEER_ID, addrs(), "", MIN_STAKE, PQ, PM, RETENTION);
        vm.stopPrank();
    }

    function test_register_revertsOnEmptyPeerId() public {
        vm.prank(operator);
        vm.expectRevert(IMailboxRegistry.MailboxRegistryInvalidEndpoint.selector);
        registry.register("", addrs(), "", MIN_STAKE, PQ, PM, RETENTION);
    }

    function test_register_revertsWithoutMultiaddrs() public {
        vm.prank(operator);
        vm.expectRevert(IMailboxRegistry.MailboxRegistryInvalidEndpoint.selector);
        registry.register(PEER_ID, new string[](0), "", MIN_STAKE, PQ, PM, RETENTION);
    }

    function test_register_revertsOnPriceAboveUint96() public {
        uint256 tooMuch = uint256(type(uint96).max) + 1;
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryAmountTooLarge.selector, tooMuch));
        registry.register(PEER_ID, addrs(), "", MIN_STAKE, tooMuch, PM, RETENTION);
    }

    function test_register_feeOnTransferCreditsMeasuredStake() public {
        FeeOnTransferToken fot = new FeeOnTransferToken(100);
        MailboxRegistry r = registryOn(IERC20(address(fot)));
        fot.mint(operator, 10 * MIN_STAKE);
        vm.startPrank(operator);
        fot.approve(address(r), 2 * MIN_STAKE);
        r.register(PEER_ID, addrs(), "", 2 * MIN_STAKE, PQ, PM, RETENTION);
        vm.stopPrank();
        assertEq(r.getMailbox(operator).stake, (2 * MIN_STAKE * 99) / 100, "credited what arrived");
        assertEq(fot.balanceOf(address(r)), r.getMailbox(operator).stake, "held == stake");
    }

    function test_register_feeOnTransferBelowMinAfterFeeReverts() public {
        FeeOnTransferToken fot = new FeeOnTransferToken(100);
        MailboxRegistry r = registryOn(IERC20(address(fot)));
        fot.mint(operator, 10 * MIN_STAKE);
        vm.startPrank(operator);
        fot.approve(address(r), MIN_STAKE);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMailboxRegistry.MailboxRegistryStakeTooLow.selector,
                (MIN_STAKE * 99) / 100,
                MIN_STAKE
            )
        );
        r.register(PEER_ID, addrs(), "", MIN_STAKE, PQ, PM, RETENTION);
        vm.stopPrank();
    }

    /// A registry with the fixture's parameters but `name` set to `value` (or the token/treasury
    /// cases) must not deploy.
    function refused(RegistryParams memory p, bytes memory err) internal {
        vm.expectRevert(err);
        newRegistry(p);
    }

    function invalid(string memory name) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryInvalidParameter.selector, name);
    }

    function test_constructor_revertsOnBadParameters() public {
        IERC20 token = IERC20(address(snt));
        RegistryParams memory p = params(token);
        p.minStake = 0;
        refused(p, invalid("minStake"));
        p = params(token);
        p.maxSlashBps = 10_001;
        refused(p, invalid("maxSlashBps"));
        p = params(token);
        p.disputes = address(0);
        refused(p, invalid("disputes"));
        p = params(token);
        p.treasury = address(snt);
        refused(p, abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryInvalidTreasury.selector, address(snt)));
        p = params(token);
        p.slashPeriod = 0;
        refused(p, invalid("slashPeriod"));
        p = params(token);
        p.priceDelay = 0;
        refused(p, invalid("priceDelay"));
        p = params(token);
        p.unbondingPeriod = 0;
        refused(p, invalid("unbondingPeriod"));
        p = params(token);
        p.rewardBps = 10_001;
        refused(p, invalid("slashRewardBps"));
        p = params(IERC20(address(0)));
        refused(p, invalid("token"));
        p = params(token);
        p.adminDelay = 0;
        refused(p, invalid("adminDelay"));
    }

    // ---------------------------------------------------------------- stake

    function test_addStake_byAnyone() public {
        registerOperator(MIN_STAKE);
        vm.startPrank(stranger);
        snt.approve(address(registry), 5 ether);
        vm.expectEmit();
        emit IMailboxRegistry.StakeAdded(operator, stranger, 5 ether, MIN_STAKE + 5 ether);
        registry.addStake(operator, 5 ether);
        vm.stopPrank();
        assertEq(registry.getMailbox(operator).stake, MIN_STAKE + 5 ether, "stake");
    }

    function test_addStake_viaApproveAndCall() public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        snt.approveAndCall(address(registry), 3 ether, abi.encodeCall(IMailboxRegistry.addStake, (operator, 0)));
        assertEq(registry.getMailbox(operator).stake, MIN_STAKE + 3 ether, "stake");
    }

    function test_addStake_revertsForUnregistered() public {
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMailboxRegistry.MailboxRegistryInvalidStatus.selector,
                operator,
                IMailboxRegistry.Status.None
            )
        );
        registry.addStake(operator, 1);
    }

    function test_addStake_revertsOnZero() public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        vm.expectRevert(IMailboxRegistry.MailboxRegistryZeroAmount.selector);
        registry.addStake(operator, 0);
    }

    function test_addStake_feeOnTransferCreditsMeasuredStake() public {
        FeeOnTransferToken fot = new FeeOnTransferToken(100);
        MailboxRegistry r = registryOn(IERC20(address(fot)));
        fot.mint(operator, 10 * MIN_STAKE);
        vm.startPrank(operator);
        fot.approve(address(r), 10 * MIN_STAKE);
        r.register(PEER_ID, addrs(), "", 2 * MIN_STAKE, PQ, PM, RETENTION);
        vm.expectEmit();
        emit IMailboxRegistry.StakeAdded(operator, operator, 99 ether, (2 * MIN_STAKE * 99) / 100 + 99 ether);
        r.addStake(operator, 100 ether);
        vm.stopPrank();
        assertEq(fot.balanceOf(address(r)), r.getMailbox(operator).stake, "held == stake");
    }

    function test_receiveApproval_revertsWhenNotToken() public {
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryInvalidApproval.selector, stranger, address(snt))
        );
        registry.receiveApproval(operator, 1, address(snt), "");
    }

    function test_receiveApproval_revertsOnUnknownSelector() public {
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryUnsupportedCall.selector, bytes4(0)));
        snt.approveAndCall(address(registry), 1, "");
    }

    // ---------------------------------------------------------------- prices

    function test_announcePrice_decreaseAppliesAtOnce() public {
        registerOperator(MIN_STAKE);
        vm.expectEmit();
        emit IMailboxRegistry.PriceAnnounced(operator, PQ, PM, PQ / 2, PM / 2, block.timestamp);
        vm.prank(operator);
        registry.announcePrice(PQ / 2, PM / 2);
        (uint256 q, uint256 m) = registry.effectivePrice(operator);
        assertEq(q, PQ / 2, "pq");
        assertEq(m, PM / 2, "pm");
        assertEq(registry.getMailbox(operator).priceEffectiveAt, 0, "nothing pending");
    }

    function test_announcePrice_increaseNotEffectiveBeforeDelay() public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        registry.announcePrice(2 * PQ, 2 * PM);
        IMailboxRegistry.Mailbox memory mb = registry.getMailbox(operator);
        assertEq(mb.pendingPricePerQuery, 2 * PQ, "pending visible");
        assertEq(mb.priceEffectiveAt, block.timestamp + PRICE_DELAY, "pending time visible");
        vm.warp(block.timestamp + PRICE_DELAY - 1);
        (uint256 q, uint256 m) = registry.effectivePrice(operator);
        assertEq(q, PQ, "old pq before the delay");
        assertEq(m, PM, "old pm before the delay");
        vm.warp(block.timestamp + 1);
        (q, m) = registry.effectivePrice(operator);
        assertEq(q, 2 * PQ, "new pq after the delay");
        assertEq(m, 2 * PM, "new pm after the delay");
    }

    function test_announcePrice_mixedChangeDecreasesNowIncreasesLater() public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        registry.announcePrice(PQ / 2, 2 * PM);
        (uint256 q, uint256 m) = registry.effectivePrice(operator);
        assertEq(q, PQ / 2, "decrease now");
        assertEq(m, PM, "increase later");
        vm.warp(block.timestamp + PRICE_DELAY);
        (q, m) = registry.effectivePrice(operator);
        assertEq(q, PQ / 2, "decrease kept");
        assertEq(m, 2 * PM, "increase applied");
    }

    function test_announcePrice_revertsWhenNotActive() public {
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMailboxRegistry.MailboxRegistryInvalidStatus.selector,
                stranger,
                IMailboxRegistry.Status.None
            )
        );
        registry.announcePrice(1, 1);
    }

    // ---------------------------------------------------------------- endpoint and retention

    function test_updateEndpoint_emitsOldAndNew() public {
        registerOperator(MIN_STAKE);
        string[] memory a = new string[](1);
        a[0] = "/dns4/mailbox.example/tcp/443/wss";
        vm.expectEmit();
        emit IMailboxRegistry.EndpointUpdated(operator, PEER_ID, "12D3KooWNew", a, "https://example/meta");
        vm.prank(operator);
        registry.updateEndpoint("12D3KooWNew", a, "https://example/meta");
        assertTrue(keccak256(bytes(registry.getMailbox(operator).peerId)) == keccak256("12D3KooWNew"), "peer id");
        assertEq(registry.getMailbox(operator).multiaddrs.length, 1, "multiaddrs replaced");
    }

    function test_updateEndpoint_revertsForUnregistered() public {
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMailboxRegistry.MailboxRegistryInvalidStatus.selector,
                stranger,
                IMailboxRegistry.Status.None
            )
        );
        registry.updateEndpoint(PEER_ID, addrs(), "");
    }

    function test_setRetention_emitsOldAndNew() public {
        registerOperator(MIN_STAKE);
        vm.expectEmit();
        emit IMailboxRegistry.RetentionUpdated(operator, RETENTION, 7 days);
        vm.prank(operator);
        registry.setRetention(7 days);
        assertEq(registry.getMailbox(operator).retention, 7 days, "retention");
    }

    // ---------------------------------------------------------------- exit

    function test_exit_notWithdrawableBeforeUnbonding() public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        registry.requestExit();
        uint256 unbondsAt = block.timestamp + EXIT;
        assertTrue(registry.getMailbox(operator).status == IMailboxRegistry.Status.Exiting, "exiting");
        vm.warp(unbondsAt - 1);
        vm.prank(operator);
        vm.expectRevert(
            abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryStillUnbonding.selector, operator, unbondsAt)
        );
        registry.withdrawStake();
        vm.warp(unbondsAt);
        uint256 before = snt.balanceOf(operator);
        vm.prank(operator);
        registry.withdrawStake();
        assertEq(snt.balanceOf(operator) - before, MIN_STAKE, "stake back");
        assertTrue(registry.getMailbox(operator).status == IMailboxRegistry.Status.None, "none");
        assertEq(snt.balanceOf(address(registry)), 0, "nothing left");
    }

    function test_exit_withdrawOnlyOnce() public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        registry.requestExit();
        vm.warp(block.timestamp + EXIT);
        vm.startPrank(operator);
        registry.withdrawStake();
        vm.expectRevert(
            abi.encodeWithSelector(
                IMailboxRegistry.MailboxRegistryInvalidStatus.selector,
                operator,
                IMailboxRegistry.Status.None
            )
        );
        registry.withdrawStake();
        vm.stopPrank();
    }

    function test_exit_reRegisterKeepsOneListing() public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        registry.requestExit();
        vm.warp(block.timestamp + EXIT);
        vm.prank(operator);
        registry.withdrawStake();
        registerOperator(MIN_STAKE);
        assertEq(registry.mailboxCount(), 1, "listed once");
        assertTrue(registry.getMailbox(operator).status == IMailboxRegistry.Status.Active, "active again");
    }

    function test_requestExit_revertsWhenNotActive() public {
        vm.prank(operator);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMailboxRegistry.MailboxRegistryInvalidStatus.selector,
                operator,
                IMailboxRegistry.Status.None
            )
        );
        registry.requestExit();
    }

    // ---------------------------------------------------------------- slash and jail

    function test_slash_paysDisputesAndTreasury() public {
        registerOperator(10 * MIN_STAKE);
        uint256 amount = MIN_STAKE; // exactly the 10% cap
        vm.expectEmit();
        emit IMailboxRegistry.Slashed(operator, keccak256("dispute"), amount, amount / 2, amount / 2, 9 * MIN_STAKE);
        slashByDisputes(operator, amount, keccak256("dispute"));
        assertEq(snt.balanceOf(address(disputes)), amount / 2, "reward to the disputes contract");
        assertEq(snt.balanceOf(treasury), amount / 2, "treasury");
        assertEq(registry.getMailbox(operator).stake, 9 * MIN_STAKE, "stake");
        assertEq(snt.balanceOf(address(registry)), 9 * MIN_STAKE, "held == stake");
    }

    function test_slash_revertsAboveCap() public {
        registerOperator(10 * MIN_STAKE);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMailboxRegistry.MailboxRegistrySlashTooLarge.selector,
                operator,
                MIN_STAKE + 1,
                MIN_STAKE
            )
        );
        slashByDisputes(operator, MIN_STAKE + 1, bytes32(0));
    }

    function test_slash_onlyDisputes() public {
        registerOperator(MIN_STAKE);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryNotDisputes.selector, stranger));
        registry.slash(operator, 1, bytes32(0));
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryNotDisputes.selector, admin));
        registry.slash(operator, 1, bytes32(0));
    }

    function test_slash_revertsOnZeroAndUnregistered() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IMailboxRegistry.MailboxRegistryInvalidStatus.selector,
                operator,
                IMailboxRegistry.Status.None
            )
        );
        slashByDisputes(operator, 1, bytes32(0));
        registerOperator(MIN_STAKE);
        vm.expectRevert(IMailboxRegistry.MailboxRegistryZeroAmount.selector);
        slashByDisputes(operator, 0, bytes32(0));
    }

    function test_slash_eachDisputeOnce() public {
        registerOperator(10 * MIN_STAKE);
        slashByDisputes(operator, 1 ether, keccak256("d1"));
        vm.expectRevert(
            abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryDisputeAlreadySlashed.selector, keccak256("d1"))
        );
        slashByDisputes(operator, 1 ether, keccak256("d1"));
        slashByDisputes(operator, 1 ether, keccak256("d2"));
        assertEq(registry.getMailbox(operator).stake, 10 * MIN_STAKE - 2 ether, "two disputes, two slashes");
    }

    function test_slash_duringUnbonding() public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        registry.requestExit();
        slashByDisputes(operator, MIN_STAKE / 10, bytes32(0));
        assertTrue(registry.getMailbox(operator).status == IMailboxRegistry.Status.Exiting, "still exiting");
        vm.warp(block.timestamp + EXIT);
        uint256 before = snt.balanceOf(operator);
        vm.prank(operator);
        registry.withdrawStake();
        assertEq(snt.balanceOf(operator) - before, MIN_STAKE - MIN_STAKE / 10, "withdraws what is left");
    }

    function test_slash_periodAllowanceRenewsAfterThePeriod() public {
        registerOperator(10 * MIN_STAKE);
        slashByDisputes(operator, MIN_STAKE / 2, keccak256("a"));
        assertEq(registry.slashable(operator), MIN_STAKE / 2, "half the allowance left");
        vm.warp(T0 + SLASH_PERIOD - 1);
        assertEq(registry.slashable(operator), MIN_STAKE / 2, "same period");
        vm.warp(T0 + SLASH_PERIOD);
        uint256 stake = 10 * MIN_STAKE - MIN_STAKE / 2;
        assertEq(registry.slashable(operator), (stake * MAX_SLASH_BPS) / 10_000, "a new period: 10% of the stake now");
        slashByDisputes(operator, (stake * MAX_SLASH_BPS) / 10_000, keccak256("b"));
        assertEq(registry.slashable(operator), 0, "used up");
    }

    function test_jail_activeOperatorIsJailedUntilTheTermThenUnjails() public {
        registerOperator(MIN_STAKE);
        uint256 until = block.timestamp + 3 days;
        vm.expectEmit();
        emit IMailboxRegistry.Jailed(operator, IMailboxRegistry.Status.Active, until);
        jailByDisputes(operator, until);
        IMailboxRegistry.Mailbox memory m = registry.getMailbox(operator);
        assertTrue(m.status == IMailboxRegistry.Status.Jailed, "jailed");
        assertEq(m.jailedUntil, until, "term");
        vm.warp(until - 1);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryStillJailed.selector, operator, until));
        registry.unjail();
        vm.warp(until);
        vm.expectEmit();
        emit IMailboxRegistry.Unjailed(operator);
        vm.prank(operator);
        registry.unjail();
        assertTrue(registry.getMailbox(operator).status == IMailboxRegistry.Status.Active, "active");
    }

    function test_jail_exitingOperatorKeepsExitingAndWithdraws() public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        registry.requestExit();
        uint256 withdrawableAt = block.timestamp + EXIT;
        vm.expectEmit();
        emit IMailboxRegistry.Jailed(operator, IMailboxRegistry.Status.Exiting, block.timestamp + UNBONDING);
        jailByDisputes(operator, block.timestamp + UNBONDING);
        assertTrue(registry.getMailbox(operator).status == IMailboxRegistry.Status.Exiting, "still exiting");
        assertEq(registry.getMailbox(operator).withdrawableAt, withdrawableAt, "clock kept");
        vm.warp(withdrawableAt);
        vm.prank(operator);
        registry.withdrawStake();
        assertTrue(registry.getMailbox(operator).status == IMailboxRegistry.Status.None, "withdrawn");
    }

    function test_jail_withdrawnOperatorCannotRegisterBeforeTheTermEnds() public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        registry.requestExit();
        vm.warp(T0 + EXIT - 1);
        uint256 until = T0 + EXIT + UNBONDING - 1;
        jailByDisputes(operator, until);
        vm.warp(T0 + EXIT);
        vm.prank(operator);
        registry.withdrawStake();
        vm.startPrank(operator);
        snt.approve(address(registry), MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryStillJailed.selector, operator, until));
        registry.register(PEER_ID, addrs(), "", MIN_STAKE, PQ, PM, RETENTION);
        vm.warp(until);
        registry.register(PEER_ID, addrs(), "", MIN_STAKE, PQ, PM, RETENTION);
        vm.stopPrank();
        assertTrue(registry.getMailbox(operator).status == IMailboxRegistry.Status.Active, "back after the term");
    }

    function test_jail_termLongerThanUnbondingReverts() public {
        registerOperator(MIN_STAKE);
        uint256 latest = block.timestamp + UNBONDING;
        vm.expectRevert(
            abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryInvalidJailTerm.selector, latest + 1, latest)
        );
        jailByDisputes(operator, latest + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryInvalidJailTerm.selector, block.timestamp, latest)
        );
        jailByDisputes(operator, block.timestamp);
    }

    function test_jail_onlyDisputes() public {
        registerOperator(MIN_STAKE);
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryNotDisputes.selector, admin));
        registry.jail(operator, block.timestamp + 1);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryNotDisputes.selector, stranger));
        registry.jail(operator, block.timestamp + 1);
    }

    function test_unjail_revertsWhenNotJailed() public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMailboxRegistry.MailboxRegistryInvalidStatus.selector,
                operator,
                IMailboxRegistry.Status.Active
            )
        );
        registry.unjail();
    }

    function test_scheduleTreasury_onlyAdminAndAfterTheDelay() public {
        bytes32 adminRole = registry.DEFAULT_ADMIN_ROLE();
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, adminRole)
        );
        registry.scheduleTreasury(stranger);
        vm.expectEmit();
        emit IMailboxRegistry.TreasuryScheduled(treasury, stranger, T0 + ADMIN_DELAY);
        vm.prank(admin);
        registry.scheduleTreasury(stranger);
        (address pending, uint256 effectiveAt) = registry.pendingTreasury();
        assertEq(pending, stranger, "pending");
        assertEq(effectiveAt, T0 + ADMIN_DELAY, "effective after the admin delay");
        assertEq(registry.treasury(), treasury, "unchanged before the delay");
        vm.warp(effectiveAt);
        assertEq(registry.treasury(), stranger, "changed after the delay");
        (pending, effectiveAt) = registry.pendingTreasury();
        assertEq(pending, address(0), "nothing pending");
    }

    function test_slash_belowMinStakeJails_topUpAndUnjailReturnsActive() public {
        registerOperator(MIN_STAKE);
        vm.expectEmit();
        emit IMailboxRegistry.Jailed(operator, IMailboxRegistry.Status.Active, 0);
        slashByDisputes(operator, MIN_STAKE / 10, keccak256("upheld"));
        assertTrue(registry.getMailbox(operator).status == IMailboxRegistry.Status.Jailed, "not Active below min");
        vm.prank(operator);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMailboxRegistry.MailboxRegistryStakeTooLow.selector,
                MIN_STAKE - MIN_STAKE / 10,
                MIN_STAKE
            )
        );
        registry.unjail();
        vm.startPrank(operator);
        snt.approve(address(registry), MIN_STAKE / 10);
        registry.addStake(operator, MIN_STAKE / 10);
        assertTrue(
            registry.getMailbox(operator).status == IMailboxRegistry.Status.Jailed,
            "a top-up alone does not list"
        );
        registry.unjail();
        vm.stopPrank();
        assertTrue(registry.getMailbox(operator).status == IMailboxRegistry.Status.Active, "active again");
    }

    function test_slash_exitingOperatorBelowMinStakeKeepsExiting() public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        registry.requestExit();
        slashByDisputes(operator, MIN_STAKE / 10, keccak256("upheld"));
        assertTrue(registry.getMailbox(operator).status == IMailboxRegistry.Status.Exiting, "still exiting");
    }

    function test_adminTransfer_waitsTheDelay() public {
        vm.prank(admin);
        registry.beginDefaultAdminTransfer(stranger);
        vm.prank(stranger);
        vm.expectRevert();
        registry.acceptDefaultAdminTransfer();
        vm.warp(T0 + ADMIN_DELAY + 1);
        vm.prank(stranger);
        registry.acceptDefaultAdminTransfer();
        assertEq(registry.defaultAdmin(), stranger, "new admin after the delay");
        assertTrue(!registry.hasRole(registry.DEFAULT_ADMIN_ROLE(), admin), "the old one is out");
    }

    function test_scheduleTreasury_refusesZeroRegistryAndToken() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryInvalidTreasury.selector, address(0)));
        registry.scheduleTreasury(address(0));
        vm.expectRevert(
            abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryInvalidTreasury.selector, address(registry))
        );
        registry.scheduleTreasury(address(registry));
        vm.expectRevert(abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryInvalidTreasury.selector, address(snt)));
        registry.scheduleTreasury(address(snt));
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- enumeration

    function test_getMailboxes_pages() public {
        registerOperator(MIN_STAKE);
        for (uint160 i = 1; i <= 4; ++i) {
            address op = address(0x1000 + i);
            snt.mint(op, MIN_STAKE);
            vm.startPrank(op);
            snt.approve(address(registry), MIN_STAKE);
            registry.register(PEER_ID, addrs(), "", MIN_STAKE, PQ, PM, RETENTION);
            vm.stopPrank();
        }
        assertEq(registry.mailboxCount(), 5, "count");
        IMailboxRegistry.Mailbox[] memory page = registry.getMailboxes(2, 2);
        assertEq(page.length, 2, "page size");
        assertEq(page[0].operator, address(0x1002), "order");
        assertEq(registry.getMailboxes(4, 10).length, 1, "last page");
        assertEq(registry.getMailboxes(5, 10).length, 0, "past the end");
    }

    /// A string of `length` bytes, all `fill`.
    function filled(uint256 length, bytes1 fill) internal pure returns (string memory) {
        bytes memory b = new bytes(length);
        for (uint256 i = 0; i < length; ++i) b[i] = fill;
        return string(b);
    }

    function maxAddrs() internal pure returns (string[] memory a) {
        a = new string[](8);
        for (uint256 i = 0; i < 8; ++i) a[i] = filled(256, bytes1(uint8(0x61 + i)));
    }

    function test_register_stringsAtTheLimitsRoundTrip() public {
        string memory peerId = filled(128, "p");
        string memory meta = filled(2048, "m");
        vm.startPrank(operator);
        snt.approve(address(registry), MIN_STAKE);
        registry.register(peerId, maxAddrs(), meta, MIN_STAKE, PQ, PM, RETENTION);
        vm.stopPrank();
        IMailboxRegistry.Mailbox memory m = registry.getMailbox(operator);
        assertTrue(keccak256(bytes(m.peerId)) == keccak256(bytes(peerId)), "peer id");
        assertTrue(keccak256(abi.encode(m.multiaddrs)) == keccak256(abi.encode(maxAddrs())), "multiaddrs");
        assertTrue(keccak256(bytes(m.metadataURI)) == keccak256(bytes(meta)), "metadata");
    }

    function test_register_revertsOneByteAboveEachLimit() public {
        vm.startPrank(operator);
        snt.approve(address(registry), MIN_STAKE);
        vm.expectRevert(
            abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryStringTooLong.selector, "peerId", 129, 128)
        );
        registry.register(filled(129, "p"), addrs(), "", MIN_STAKE, PQ, PM, RETENTION);
        string[] memory a = addrs();
        a[1] = filled(257, "a");
        vm.expectRevert(
            abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryStringTooLong.selector, "multiaddr", 257, 256)
        );
        registry.register(PEER_ID, a, "", MIN_STAKE, PQ, PM, RETENTION);
        vm.expectRevert(
            abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryStringTooLong.selector, "metadataURI", 2049, 2048)
        );
        registry.register(PEER_ID, addrs(), filled(2049, "m"), MIN_STAKE, PQ, PM, RETENTION);
        a = new string[](9);
        for (uint256 i = 0; i < 9; ++i) a[i] = "/ip4/127.0.0.1/tcp/1";
        vm.expectRevert(IMailboxRegistry.MailboxRegistryInvalidEndpoint.selector);
        registry.register(PEER_ID, a, "", MIN_STAKE, PQ, PM, RETENTION);
        a = addrs();
        a[0] = "";
        vm.expectRevert(IMailboxRegistry.MailboxRegistryInvalidEndpoint.selector);
        registry.register(PEER_ID, a, "", MIN_STAKE, PQ, PM, RETENTION);
        vm.stopPrank();
    }

    function test_updateEndpoint_appliesTheSameLimits() public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        vm.expectRevert(
            abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryStringTooLong.selector, "metadataURI", 2049, 2048)
        );
        registry.updateEndpoint(PEER_ID, addrs(), filled(2049, "m"));
    }

    // ---------------------------------------------------------------- attacks and fuzz

    function test_reentrancyThroughTokenHook_isBlocked() public {
        HookToken hook = new HookToken();
        MailboxRegistry r = registryOn(IERC20(address(hook)));
        hook.mint(operator, 10 * MIN_STAKE);
        vm.startPrank(operator);
        hook.approve(address(r), 10 * MIN_STAKE);
        r.register(PEER_ID, addrs(), "", MIN_STAKE, PQ, PM, RETENTION);
        r.requestExit();
        vm.stopPrank();
        vm.warp(block.timestamp + EXIT);
        hook.setHook(address(r), abi.encodeCall(IMailboxRegistry.withdrawStake, ()));
        vm.prank(operator);
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        r.withdrawStake();
    }

    function test_sntMiniMeRule_nonZeroToNonZeroReverts() public {
        vm.startPrank(operator);
        snt.approve(address(registry), 1);
        vm.expectRevert(
            abi.encodeWithSelector(SNT.SNTAllowanceMustBeZeroFirst.selector, operator, address(registry), 1, 2)
        );
        snt.approve(address(registry), 2);
        snt.approve(address(registry), 0);
        snt.approve(address(registry), 2);
        vm.stopPrank();
        assertEq(snt.allowance(operator, address(registry)), 2, "zero first, then any");
    }

    function testFuzz_slash_neverAboveCap(uint96 stake, uint96 amount) public {
        stake = uint96(bound(stake, MIN_STAKE, 1_000_000 ether));
        registerOperator(stake);
        uint256 cap = (uint256(stake) * MAX_SLASH_BPS) / 10_000;
        if (amount == 0 || amount > cap) {
            vm.expectRevert();
            slashByDisputes(operator, amount, bytes32(0));
        } else {
            slashByDisputes(operator, amount, bytes32(0));
            assertEq(registry.getMailbox(operator).stake, stake - amount, "stake reduced");
        }
        assertEq(snt.balanceOf(address(registry)), registry.getMailbox(operator).stake, "held == stake");
    }

    function testFuzz_endpoint_roundTrips(uint8 peerIdLength, uint8 count, uint256 seed, uint16 metaLength) public {
        string memory peerId = filled(bound(peerIdLength, 1, 128), "p");
        string[] memory a = new string[](bound(count, 1, 8));
        for (uint256 i = 0; i < a.length; ++i) {
            a[i] = filled(bound(uint256(keccak256(abi.encode(seed, i))), 1, 256), bytes1(uint8(0x61 + i)));
        }
        string memory meta = filled(bound(metaLength, 0, 2048), "m");
        vm.startPrank(operator);
        snt.approve(address(registry), MIN_STAKE);
        registry.register(peerId, a, meta, MIN_STAKE, PQ, PM, RETENTION);
        vm.stopPrank();
        IMailboxRegistry.Mailbox memory m = registry.getMailbox(operator);
        assertTrue(keccak256(bytes(m.peerId)) == keccak256(bytes(peerId)), "peer id");
        assertTrue(keccak256(abi.encode(m.multiaddrs)) == keccak256(abi.encode(a)), "multiaddrs");
        assertTrue(keccak256(bytes(m.metadataURI)) == keccak256(bytes(meta)), "metadata");
    }

    function testFuzz_slash_manyCallsNeverExceedThePeriodCap(uint96 stake, uint256 seed, uint8 calls) public {
        stake = uint96(bound(stake, MIN_STAKE, 1_000_000 ether));
        registerOperator(stake);
        uint256 cap = (uint256(stake) * MAX_SLASH_BPS) / 10_000;
        uint256 taken;
        for (uint256 i = 0; i < bound(calls, 1, 40); ++i) {
            uint256 amount = bound(uint256(keccak256(abi.encode(seed, i))), 1, stake / 5);
            try disputes.slash(IMailboxRegistry(address(registry)), operator, amount, bytes32(i)) {
                taken += amount;
            } catch {}
        }
        assertLe(taken, cap, "one period takes at most the cap");
        assertEq(registry.getMailbox(operator).stake, stake - taken, "stake == what was not taken");
        assertEq(snt.balanceOf(address(registry)), stake - taken, "held == stake");
    }

    function testFuzz_announcePrice_neverRaisesBeforeDelay(uint96 q, uint96 m, uint32 elapsed) public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        registry.announcePrice(q, m);
        vm.warp(block.timestamp + bound(elapsed, 0, PRICE_DELAY - 1));
        (uint256 eq, uint256 em) = registry.effectivePrice(operator);
        assertLe(eq, PQ, "query price not raised early");
        assertLe(em, PM, "message price not raised early");
        assertLe(eq, q > PQ ? PQ : q, "decrease applies");
    }
}
