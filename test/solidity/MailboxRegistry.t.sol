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
    string internal constant PEER_ID = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo";
    uint256 internal constant PQ = 0.01 ether;
    uint256 internal constant PM = 0.0001 ether;
    uint256 internal constant RETENTION = 30 days;

    function addrs() internal pure returns (string[] memory a) {
        a = new string[](2);
        a[0] = "/ip4/127.0.0.1/tcp/60001";
        a[1] = "/ip4/127.0.0.1/tcp/60002/ws";
    }

    function registerOperator(uint256 stake) internal {
        vm.startPrank(operator);
        snt.approve(address(registry), stake);
        registry.register(PEER_ID, addrs(), "ipfs://meta", stake, PQ, PM, RETENTION);
        vm.stopPrank();
    }

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

    function test_constructor_revertsOnBadParameters() public {
        vm.expectRevert(abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryInvalidParameter.selector, "minStake"));
        new MailboxRegistry(IERC20(address(snt)), 0, 1, 1, 1, 0, admin, beneficiary, treasury);
        vm.expectRevert(
            abi.encodeWithSelector(IMailboxRegistry.MailboxRegistryInvalidParameter.selector, "maxSlashBps")
        );
        new MailboxRegistry(IERC20(address(snt)), 1, 1, 1, 10_001, 0, admin, beneficiary, treasury);
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
        uint256 unbondsAt = block.timestamp + UNBONDING;
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
        vm.warp(block.timestamp + UNBONDING);
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
        vm.warp(block.timestamp + UNBONDING);
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

    function test_slash_paysBeneficiaryAndTreasury() public {
        registerOperator(10 * MIN_STAKE);
        uint256 amount = MIN_STAKE; // exactly the 10% cap
        vm.expectEmit();
        emit IMailboxRegistry.Slashed(operator, amount, amount / 2, amount / 2, keccak256("evidence"), 9 * MIN_STAKE);
        vm.prank(slasher);
        registry.slash(operator, amount, keccak256("evidence"));
        assertEq(snt.balanceOf(beneficiary), amount / 2, "beneficiary");
        assertEq(snt.balanceOf(treasury), amount / 2, "treasury");
        assertEq(registry.getMailbox(operator).stake, 9 * MIN_STAKE, "stake");
        assertEq(snt.balanceOf(address(registry)), 9 * MIN_STAKE, "held == stake");
    }

    function test_slash_revertsAboveCap() public {
        registerOperator(10 * MIN_STAKE);
        vm.prank(slasher);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMailboxRegistry.MailboxRegistrySlashTooLarge.selector,
                operator,
                MIN_STAKE + 1,
                MIN_STAKE
            )
        );
        registry.slash(operator, MIN_STAKE + 1, bytes32(0));
    }

    function test_slash_onlyRole() public {
        registerOperator(MIN_STAKE);
        bytes32 role = registry.SLASHER_ROLE();
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        registry.slash(operator, 1, bytes32(0));
    }

    function test_slash_revertsOnZeroAndUnregistered() public {
        vm.prank(slasher);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMailboxRegistry.MailboxRegistryInvalidStatus.selector,
                operator,
                IMailboxRegistry.Status.None
            )
        );
        registry.slash(operator, 1, bytes32(0));
        registerOperator(MIN_STAKE);
        vm.prank(slasher);
        vm.expectRevert(IMailboxRegistry.MailboxRegistryZeroAmount.selector);
        registry.slash(operator, 0, bytes32(0));
    }

    function test_slash_duringUnbonding() public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        registry.requestExit();
        vm.prank(slasher);
        registry.slash(operator, MIN_STAKE / 10, bytes32(0));
        vm.warp(block.timestamp + UNBONDING);
        uint256 before = snt.balanceOf(operator);
        vm.prank(operator);
        registry.withdrawStake();
        assertEq(snt.balanceOf(operator) - before, MIN_STAKE - MIN_STAKE / 10, "withdraws what is left");
    }

    function test_jail_blocksExitAndWithdraw() public {
        registerOperator(MIN_STAKE);
        vm.prank(operator);
        registry.requestExit();
        vm.expectEmit();
        emit IMailboxRegistry.Jailed(operator, IMailboxRegistry.Status.Exiting);
        vm.prank(jailer);
        registry.jail(operator);
        vm.warp(block.timestamp + UNBONDING);
        vm.prank(operator);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMailboxRegistry.MailboxRegistryInvalidStatus.selector,
                operator,
                IMailboxRegistry.Status.Jailed
            )
        );
        registry.withdrawStake();
        vm.prank(jailer);
        registry.unjail(operator);
        assertTrue(registry.getMailbox(operator).status == IMailboxRegistry.Status.Active, "active");
    }

    function test_jail_onlyRole() public {
        registerOperator(MIN_STAKE);
        bytes32 role = registry.JAILER_ROLE();
        vm.prank(slasher);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, slasher, role)
        );
        registry.jail(operator);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        registry.unjail(operator);
    }

    function test_unjail_revertsWhenNotJailed() public {
        registerOperator(MIN_STAKE);
        vm.prank(jailer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMailboxRegistry.MailboxRegistryInvalidStatus.selector,
                operator,
                IMailboxRegistry.Status.Active
            )
        );
        registry.unjail(operator);
    }

    function test_setSlashPayout_onlyAdmin() public {
        vm.prank(stranger);
        vm.expectRevert();
        registry.setSlashPayout(stranger, stranger);
        vm.prank(admin);
        registry.setSlashPayout(stranger, treasury);
        (address b, ) = registry.slashPayout();
        assertEq(b, stranger, "beneficiary");
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
        vm.warp(block.timestamp + UNBONDING);
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
        vm.prank(slasher);
        if (amount == 0 || amount > cap) {
            vm.expectRevert();
            registry.slash(operator, amount, bytes32(0));
        } else {
            registry.slash(operator, amount, bytes32(0));
            assertEq(registry.getMailbox(operator).stake, stake - amount, "stake reduced");
        }
        assertEq(snt.balanceOf(address(registry)), registry.getMailbox(operator).stake, "held == stake");
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
