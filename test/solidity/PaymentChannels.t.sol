// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IPaymentChannels} from "../../contracts/interfaces/IPaymentChannels.sol";
import {PaymentChannels} from "../../contracts/PaymentChannels.sol";
import {FeeOnTransferToken, HookToken, ReturnsFalseToken} from "../../contracts/test/QuirkyTokens.sol";
import {Fixture} from "./utils/Fixture.sol";

contract PaymentChannelsTest is Fixture {
    bytes32 internal constant SALT = bytes32(uint256(1));
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    // ---------------------------------------------------------------- open

    function test_open_storesChannelAndPullsDeposit() public {
        bytes32 expected = channels.channelId(payer, payee, session, SALT);
        bytes32 id = openChannel(100 ether, SALT);
        assertTrue(id == expected, "id computable before opening");
        IPaymentChannels.Channel memory c = channels.getChannel(id);
        assertEq(c.payer, payer, "payer");
        assertEq(c.payee, payee, "payee");
        assertEq(c.signer, session, "signer");
        assertEq(c.deposit, 100 ether, "deposit");
        assertEq(c.paid, 0, "paid");
        assertEq(snt.balanceOf(address(channels)), 100 ether, "held");
    }

    function test_open_emitsChannelOpened() public {
        bytes32 id = channels.channelId(payer, payee, session, SALT);
        vm.startPrank(payer);
        snt.approve(address(channels), 5 ether);
        vm.expectEmit();
        emit IPaymentChannels.ChannelOpened(id, payer, payee, session, SALT, 5 ether);
        channels.open(payee, session, 5 ether, SALT);
        vm.stopPrank();
    }

    function test_open_viaApproveAndCall() public {
        bytes memory data = abi.encodeCall(IPaymentChannels.open, (payee, session, 0, SALT));
        vm.prank(payer);
        snt.approveAndCall(address(channels), 7 ether, data);
        bytes32 id = channels.channelId(payer, payee, session, SALT);
        assertEq(channels.getChannel(id).deposit, 7 ether, "deposit");
        assertEq(snt.allowance(payer, address(channels)), 0, "allowance consumed");
    }

    function test_open_viaApproveAndCall_revertsWhenDeclaredAmountDiffers() public {
        bytes memory data = abi.encodeCall(IPaymentChannels.open, (payee, session, 1 ether, SALT));
        vm.prank(payer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPaymentChannels.PaymentChannelsUnsupportedCall.selector,
                IPaymentChannels.open.selector
            )
        );
        snt.approveAndCall(address(channels), 7 ether, data);
    }

    function test_open_revertsWhenPayeeZero() public {
        vm.prank(payer);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsInvalidParty.selector, address(0), session)
        );
        channels.open(address(0), session, 1, SALT);
    }

    function test_open_revertsWhenSignerZero() public {
        vm.prank(payer);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsInvalidParty.selector, payee, address(0))
        );
        channels.open(payee, address(0), 1, SALT);
    }

    function test_open_revertsWhenPayeeIsPayer() public {
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsInvalidParty.selector, payer, session));
        channels.open(payer, session, 1, SALT);
    }

    function test_open_revertsOnZeroAmount() public {
        vm.prank(payer);
        vm.expectRevert(IPaymentChannels.PaymentChannelsZeroAmount.selector);
        channels.open(payee, session, 0, SALT);
    }

    function test_open_revertsAboveUint96() public {
        uint256 tooMuch = uint256(type(uint96).max) + 1;
        vm.prank(payer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPaymentChannels.PaymentChannelsAmountTooLarge.selector,
                tooMuch,
                uint256(type(uint96).max)
            )
        );
        channels.open(payee, session, tooMuch, SALT);
    }

    function test_open_revertsAtUint128Max() public {
        uint256 max128 = type(uint128).max;
        vm.prank(payer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPaymentChannels.PaymentChannelsAmountTooLarge.selector,
                max128,
                uint256(type(uint96).max)
            )
        );
        channels.open(payee, session, max128, SALT);
    }

    function test_open_acceptsUint96Max() public {
        uint256 max = type(uint96).max;
        snt.mint(payer, max);
        vm.startPrank(payer);
        snt.approve(address(channels), max);
        bytes32 id = channels.open(payee, session, max, SALT);
        vm.stopPrank();
        assertEq(channels.getChannel(id).deposit, max, "deposit at the bound");
        bytes memory sig = sign(SESSION_KEY, id, max);
        channels.redeem(id, max, sig);
        assertEq(snt.balanceOf(payee), max, "paid at the bound");
    }

    function test_open_revertsWhenIdInUse() public {
        bytes32 id = openChannel(1 ether, SALT);
        vm.startPrank(payer);
        snt.approve(address(channels), 1 ether);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsChannelExists.selector, id));
        channels.open(payee, session, 1 ether, SALT);
        vm.stopPrank();
    }

    function test_open_revertsWhenIdFinalised() public {
        bytes32 id = openChannel(1 ether, SALT);
        vm.prank(payee);
        channels.redeemAndClose(id, 0, "");
        vm.startPrank(payer);
        snt.approve(address(channels), 1 ether);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsChannelExists.selector, id));
        channels.open(payee, session, 1 ether, SALT);
        vm.stopPrank();
    }

    function test_receiveApproval_revertsWhenNotCalledByToken() public {
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsInvalidApproval.selector, stranger, address(snt))
        );
        channels.receiveApproval(payer, 1 ether, address(snt), "");
    }

    function test_receiveApproval_revertsOnUnsupportedSelector() public {
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsUnsupportedCall.selector, bytes4(0)));
        snt.approveAndCall(address(channels), 1 ether, "");
    }

    // ---------------------------------------------------------------- topUp

    function test_topUp_addsToDepositByAnyone() public {
        bytes32 id = openChannel(1 ether, SALT);
        vm.startPrank(stranger);
        snt.approve(address(channels), 2 ether);
        vm.expectEmit();
        emit IPaymentChannels.ChannelToppedUp(id, stranger, 2 ether, 3 ether);
        channels.topUp(id, 2 ether);
        vm.stopPrank();
        assertEq(channels.getChannel(id).deposit, 3 ether, "deposit");
    }

    function test_topUp_viaApproveAndCall() public {
        bytes32 id = openChannel(1 ether, SALT);
        vm.prank(payer);
        snt.approveAndCall(address(channels), 4 ether, abi.encodeCall(IPaymentChannels.topUp, (id, 0)));
        assertEq(channels.getChannel(id).deposit, 5 ether, "deposit");
    }

    function test_topUp_revertsWhenClosePending() public {
        bytes32 id = openChannel(1 ether, SALT);
        vm.prank(payer);
        channels.requestClose(id);
        vm.startPrank(payer);
        snt.approve(address(channels), 1 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPaymentChannels.PaymentChannelsClosePending.selector,
                id,
                block.timestamp + CLOSE_GRACE
            )
        );
        channels.topUp(id, 1 ether);
        vm.stopPrank();
    }

    function test_topUp_revertsOnUnknownChannel() public {
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsUnknownChannel.selector, SALT));
        channels.topUp(SALT, 1);
    }

    function test_topUp_revertsOnZeroAmount() public {
        bytes32 id = openChannel(1 ether, SALT);
        vm.prank(payer);
        vm.expectRevert(IPaymentChannels.PaymentChannelsZeroAmount.selector);
        channels.topUp(id, 0);
    }

    function test_topUp_revertsWhenDepositWouldExceedUint96() public {
        bytes32 id = openChannel(1 ether, SALT);
        uint256 amount = uint256(type(uint96).max);
        snt.mint(payer, amount);
        vm.startPrank(payer);
        snt.approve(address(channels), amount);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPaymentChannels.PaymentChannelsAmountTooLarge.selector,
                amount + 1 ether,
                uint256(type(uint96).max)
            )
        );
        channels.topUp(id, amount);
        vm.stopPrank();
    }

    function test_topUp_revertsWhenFinalised() public {
        bytes32 id = openChannel(1 ether, SALT);
        vm.prank(payee);
        channels.redeemAndClose(id, 0, "");
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsChannelFinalised.selector, id));
        channels.topUp(id, 1);
    }

    // ---------------------------------------------------------------- redeem

    function test_redeem_paysTheIncreaseOnly() public {
        bytes32 id = openChannel(10 ether, SALT);
        channels.redeem(id, 3 ether, sign(SESSION_KEY, id, 3 ether));
        assertEq(snt.balanceOf(payee), 3 ether, "first");
        vm.expectEmit();
        emit IPaymentChannels.Redeemed(id, payee, 2 ether, 5 ether);
        channels.redeem(id, 5 ether, sign(SESSION_KEY, id, 5 ether));
        assertEq(snt.balanceOf(payee), 5 ether, "second pays the increase");
        assertEq(channels.getChannel(id).paid, 5 ether, "paid");
    }

    function test_redeem_byThirdPartyPaysThePayee() public {
        bytes32 id = openChannel(10 ether, SALT);
        uint256 before = snt.balanceOf(stranger);
        vm.prank(stranger);
        channels.redeem(id, 1 ether, sign(SESSION_KEY, id, 1 ether));
        assertEq(snt.balanceOf(payee), 1 ether, "payee paid");
        assertEq(snt.balanceOf(stranger), before, "caller gets nothing");
    }

    function test_redeem_acceptsPayerAsSigner() public {
        vm.startPrank(payer);
        snt.approve(address(channels), 1 ether);
        bytes32 id = channels.open(payee, payer, 1 ether, SALT);
        vm.stopPrank();
        channels.redeem(id, 1 ether, sign(PAYER_KEY, id, 1 ether));
        assertEq(snt.balanceOf(payee), 1 ether, "paid");
    }

    function test_redeem_revertsOnStaleVoucher() public {
        bytes32 id = openChannel(10 ether, SALT);
        channels.redeem(id, 5 ether, sign(SESSION_KEY, id, 5 ether));
        bytes memory older = sign(SESSION_KEY, id, 4 ether);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsStaleVoucher.selector, id, 4 ether, 5 ether)
        );
        channels.redeem(id, 4 ether, older);
    }

    function test_redeem_revertsOnEqualVoucher() public {
        bytes32 id = openChannel(10 ether, SALT);
        bytes memory sig = sign(SESSION_KEY, id, 5 ether);
        channels.redeem(id, 5 ether, sig);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsStaleVoucher.selector, id, 5 ether, 5 ether)
        );
        channels.redeem(id, 5 ether, sig);
        assertEq(snt.balanceOf(payee), 5 ether, "paid once");
    }

    function test_redeem_revertsOnZeroVoucher() public {
        bytes32 id = openChannel(10 ether, SALT);
        bytes memory sig = sign(SESSION_KEY, id, 0);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsStaleVoucher.selector, id, 0, 0));
        channels.redeem(id, 0, sig);
    }

    function test_redeem_revertsAboveDepositThenSucceedsAfterTopUp() public {
        bytes32 id = openChannel(1 ether, SALT);
        bytes memory sig = sign(SESSION_KEY, id, 2 ether);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsInsufficientDeposit.selector, id, 2 ether, 1 ether)
        );
        channels.redeem(id, 2 ether, sig);
        assertEq(snt.balanceOf(payee), 0, "never capped");
        vm.startPrank(payer);
        snt.approve(address(channels), 1 ether);
        channels.topUp(id, 1 ether);
        vm.stopPrank();
        channels.redeem(id, 2 ether, sig);
        assertEq(snt.balanceOf(payee), 2 ether, "paid after top-up");
    }

    function test_redeem_olderVoucherFrontRunDoesNotBlockNewer() public {
        bytes32 id = openChannel(10 ether, SALT);
        bytes memory older = sign(SESSION_KEY, id, 2 ether);
        bytes memory newer = sign(SESSION_KEY, id, 3 ether);
        vm.prank(stranger);
        channels.redeem(id, 2 ether, older);
        channels.redeem(id, 3 ether, newer);
        assertEq(snt.balanceOf(payee), 3 ether, "newer still pays in full");
    }

    function test_redeem_revertsOnWrongSigner() public {
        bytes32 id = openChannel(10 ether, SALT);
        bytes memory sig = sign(OTHER_KEY, id, 1 ether);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsInvalidSignature.selector, id, vm.addr(OTHER_KEY))
        );
        channels.redeem(id, 1 ether, sig);
    }

    function test_redeem_revertsWhenPayerSignsForSessionKeyChannel() public {
        bytes32 id = openChannel(10 ether, SALT);
        bytes memory sig = sign(PAYER_KEY, id, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsInvalidSignature.selector, id, payer));
        channels.redeem(id, 1 ether, sig);
    }

    function test_redeem_revertsOnVoucherForAnotherChannel() public {
        bytes32 id = openChannel(10 ether, SALT);
        bytes32 other = openChannel(10 ether, bytes32(uint256(2)));
        bytes memory sig = sign(SESSION_KEY, other, 1 ether);
        vm.expectRevert();
        channels.redeem(id, 1 ether, sig);
        assertEq(snt.balanceOf(payee), 0, "nothing paid");
    }

    function test_redeem_revertsOnVoucherForAnotherContract() public {
        PaymentChannels twin = new PaymentChannels(IERC20(address(snt)), CLOSE_GRACE);
        bytes32 id = openChannel(10 ether, SALT);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SESSION_KEY, twin.voucherDigest(id, 1 ether));
        vm.expectRevert();
        channels.redeem(id, 1 ether, abi.encodePacked(r, s, v));
    }

    function test_redeem_revertsOnVoucherForAnotherChainId() public {
        bytes32 id = openChannel(10 ether, SALT);
        // The same domain but another chain id: what a signer on another network would produce.
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Postbox PaymentChannels"),
                keccak256("1"),
                block.chainid + 1,
                address(channels)
            )
        );
        bytes32 structHash = keccak256(abi.encode(channels.VOUCHER_TYPEHASH(), id, 1 ether));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(
            SESSION_KEY,
            keccak256(abi.encodePacked("\x19\x01", domain, structHash))
        );
        bytes memory sig = abi.encodePacked(r, s, v);
        vm.expectRevert();
        channels.redeem(id, 1 ether, sig);
    }

    function test_redeem_revertsOnHighS() public {
        bytes32 id = openChannel(10 ether, SALT);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SESSION_KEY, channels.voucherDigest(id, 1 ether));
        bytes32 highS = bytes32(SECP256K1_N - uint256(s));
        uint8 flipped = v == 27 ? 28 : 27;
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsInvalidSignature.selector, id, address(0))
        );
        channels.redeem(id, 1 ether, abi.encodePacked(r, highS, flipped));
    }

    function test_redeem_revertsOnVZeroOrOne() public {
        bytes32 id = openChannel(10 ether, SALT);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SESSION_KEY, channels.voucherDigest(id, 1 ether));
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsInvalidSignature.selector, id, address(0))
        );
        channels.redeem(id, 1 ether, abi.encodePacked(r, s, v - 27));
    }

    function test_redeem_revertsOn64ByteSignature() public {
        bytes32 id = openChannel(10 ether, SALT);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SESSION_KEY, channels.voucherDigest(id, 1 ether));
        bytes32 vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsInvalidSignature.selector, id, address(0))
        );
        channels.redeem(id, 1 ether, abi.encodePacked(r, vs));
    }

    function test_redeem_revertsOnWrongLengthSignatures() public {
        bytes32 id = openChannel(10 ether, SALT);
        bytes memory good = sign(SESSION_KEY, id, 1 ether);
        bytes memory longer = abi.encodePacked(good, uint8(0));
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsInvalidSignature.selector, id, address(0))
        );
        channels.redeem(id, 1 ether, longer);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsInvalidSignature.selector, id, address(0))
        );
        channels.redeem(id, 1 ether, "");
    }

    function test_redeem_revertsOnUnknownChannel() public {
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsUnknownChannel.selector, SALT));
        channels.redeem(SALT, 1, "");
    }

    function test_redeem_payerFrontRunsClose_payeeRedeemsUntilDeadline() public {
        bytes32 id = openChannel(10 ether, SALT);
        bytes memory sig = sign(SESSION_KEY, id, 4 ether);
        vm.prank(payer);
        channels.requestClose(id);
        vm.warp(block.timestamp + CLOSE_GRACE - 1);
        channels.redeem(id, 4 ether, sig);
        assertEq(snt.balanceOf(payee), 4 ether, "redeemed before the deadline");
    }

    function test_redeem_revertsAfterCloseDeadline() public {
        bytes32 id = openChannel(10 ether, SALT);
        bytes memory sig = sign(SESSION_KEY, id, 4 ether);
        vm.prank(payer);
        channels.requestClose(id);
        uint256 closesAt = block.timestamp + CLOSE_GRACE;
        vm.warp(closesAt);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsCloseDeadlinePassed.selector, id, closesAt)
        );
        channels.redeem(id, 4 ether, sig);
    }

    function test_redeem_revertsWhenFinalised() public {
        bytes32 id = openChannel(10 ether, SALT);
        bytes memory sig = sign(SESSION_KEY, id, 4 ether);
        vm.prank(payee);
        channels.redeemAndClose(id, 0, "");
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsChannelFinalised.selector, id));
        channels.redeem(id, 4 ether, sig);
    }

    // ---------------------------------------------------------------- redeemMany

    function test_redeemMany_paysEveryValidEntryAndSkipsBadOnes() public {
        bytes32 a = openChannel(10 ether, bytes32(uint256(10)));
        bytes32 b = openChannel(10 ether, bytes32(uint256(11)));
        bytes32 c = openChannel(10 ether, bytes32(uint256(12)));
        // b's voucher is redeemed first by someone else: in the batch it is stale and skipped.
        channels.redeem(b, 2 ether, sign(SESSION_KEY, b, 2 ether));
        IPaymentChannels.Redemption[] memory batch = new IPaymentChannels.Redemption[](4);
        batch[0] = IPaymentChannels.Redemption(a, 1 ether, sign(SESSION_KEY, a, 1 ether));
        batch[1] = IPaymentChannels.Redemption(b, 2 ether, sign(SESSION_KEY, b, 2 ether));
        batch[2] = IPaymentChannels.Redemption(c, 3 ether, sign(OTHER_KEY, c, 3 ether));
        batch[3] = IPaymentChannels.Redemption(c, 4 ether, sign(SESSION_KEY, c, 4 ether));
        vm.expectEmit();
        emit IPaymentChannels.Redeemed(a, payee, 1 ether, 1 ether);
        vm.expectEmit();
        emit IPaymentChannels.RedemptionSkipped(b, IPaymentChannels.PaymentChannelsStaleVoucher.selector);
        vm.expectEmit();
        emit IPaymentChannels.RedemptionSkipped(c, IPaymentChannels.PaymentChannelsInvalidSignature.selector);
        uint256 n = channels.redeemMany(batch);
        assertEq(n, 2, "two entries paid");
        assertEq(snt.balanceOf(payee), 2 ether + 1 ether + 4 ether, "payee total");
        assertEq(channels.getChannel(c).paid, 4 ether, "c paid");
    }

    function test_redeemMany_paysSeveralPayees() public {
        bytes32 a = openChannel(10 ether, bytes32(uint256(10)));
        vm.startPrank(payer);
        snt.approve(address(channels), 10 ether);
        bytes32 b = channels.open(operator, session, 10 ether, bytes32(uint256(11)));
        vm.stopPrank();
        IPaymentChannels.Redemption[] memory batch = new IPaymentChannels.Redemption[](2);
        batch[0] = IPaymentChannels.Redemption(a, 1 ether, sign(SESSION_KEY, a, 1 ether));
        batch[1] = IPaymentChannels.Redemption(b, 2 ether, sign(SESSION_KEY, b, 2 ether));
        uint256 operatorBefore = snt.balanceOf(operator);
        channels.redeemMany(batch);
        assertEq(snt.balanceOf(payee), 1 ether, "payee");
        assertEq(snt.balanceOf(operator) - operatorBefore, 2 ether, "operator");
    }

    // ---------------------------------------------------------------- close

    function test_requestClose_setsDeadline() public {
        bytes32 id = openChannel(1 ether, SALT);
        vm.expectEmit();
        emit IPaymentChannels.CloseRequested(id, block.timestamp + CLOSE_GRACE);
        vm.prank(payer);
        channels.requestClose(id);
        assertEq(channels.getChannel(id).closesAt, block.timestamp + CLOSE_GRACE, "closesAt");
    }

    function test_requestClose_revertsForNonPayer() public {
        bytes32 id = openChannel(1 ether, SALT);
        vm.prank(payee);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsNotPayer.selector, id, payee));
        channels.requestClose(id);
    }

    function test_requestClose_cannotBeExtended() public {
        bytes32 id = openChannel(1 ether, SALT);
        vm.prank(payer);
        channels.requestClose(id);
        uint256 closesAt = block.timestamp + CLOSE_GRACE;
        vm.warp(block.timestamp + 100);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsClosePending.selector, id, closesAt));
        channels.requestClose(id);
    }

    function test_cancelClose_reopensForTopUps() public {
        bytes32 id = openChannel(1 ether, SALT);
        vm.startPrank(payer);
        channels.requestClose(id);
        vm.expectEmit();
        emit IPaymentChannels.CloseCancelled(id);
        channels.cancelClose(id);
        snt.approve(address(channels), 1 ether);
        channels.topUp(id, 1 ether);
        vm.stopPrank();
        assertEq(channels.getChannel(id).closesAt, 0, "no close pending");
    }

    function test_cancelClose_revertsForThirdParty() public {
        bytes32 id = openChannel(1 ether, SALT);
        vm.prank(payer);
        channels.requestClose(id);
        vm.prank(payee);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsNotPayer.selector, id, payee));
        channels.cancelClose(id);
    }

    function test_cancelClose_revertsWhenNothingPending() public {
        bytes32 id = openChannel(1 ether, SALT);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsNoClosePending.selector, id));
        channels.cancelClose(id);
    }

    function test_withdraw_refundsTheRestOnce() public {
        bytes32 id = openChannel(10 ether, SALT);
        channels.redeem(id, 3 ether, sign(SESSION_KEY, id, 3 ether));
        vm.prank(payer);
        channels.requestClose(id);
        vm.warp(block.timestamp + CLOSE_GRACE);
        uint256 before = snt.balanceOf(payer);
        vm.expectEmit();
        emit IPaymentChannels.ChannelFinalised(id, 3 ether, 7 ether);
        vm.prank(stranger); // anyone may trigger; the refund goes to the payer
        channels.withdraw(id);
        assertEq(snt.balanceOf(payer) - before, 7 ether, "refund");
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsChannelFinalised.selector, id));
        channels.withdraw(id);
        assertEq(snt.balanceOf(address(channels)), 0, "nothing left");
    }

    function test_withdraw_revertsBeforeDeadline() public {
        bytes32 id = openChannel(10 ether, SALT);
        vm.prank(payer);
        channels.requestClose(id);
        uint256 closesAt = block.timestamp + CLOSE_GRACE;
        vm.warp(closesAt - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsCloseNotDue.selector, id, closesAt, closesAt - 1)
        );
        channels.withdraw(id);
    }

    function test_withdraw_revertsWithoutRequest() public {
        bytes32 id = openChannel(10 ether, SALT);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsNoClosePending.selector, id));
        channels.withdraw(id);
    }

    function test_redeemAndClose_paysAndRefundsAtOnce() public {
        bytes32 id = openChannel(10 ether, SALT);
        uint256 before = snt.balanceOf(payer);
        bytes memory sig = sign(SESSION_KEY, id, 6 ether);
        vm.prank(payee);
        channels.redeemAndClose(id, 6 ether, sig);
        assertEq(snt.balanceOf(payee), 6 ether, "payee");
        assertEq(snt.balanceOf(payer) - before, 4 ether, "refund");
        assertTrue(channels.getChannel(id).finalised, "finalised");
    }

    function test_redeemAndClose_revertsForNonPayee() public {
        bytes32 id = openChannel(10 ether, SALT);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsNotPayee.selector, id, payer));
        channels.redeemAndClose(id, 0, "");
    }

    function test_redeemAndClose_revertsOnBadVoucher() public {
        bytes32 id = openChannel(10 ether, SALT);
        bytes memory sig = sign(OTHER_KEY, id, 6 ether);
        vm.prank(payee);
        vm.expectRevert();
        channels.redeemAndClose(id, 6 ether, sig);
        assertTrue(!channels.getChannel(id).finalised, "still open");
    }

    function test_constructor_revertsOnBadParameters() public {
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsInvalidParameter.selector, "closeGrace")
        );
        new PaymentChannels(IERC20(address(snt)), 59);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsInvalidParameter.selector, "closeGrace")
        );
        new PaymentChannels(IERC20(address(snt)), 365 days + 1);
        new PaymentChannels(IERC20(address(snt)), 60);
    }

    function test_redeemAndClose_staleButBadlySignedVoucherStillFinalises() public {
        // Stale means nothing more is owed whatever the signature: the payee asked to finalise.
        bytes32 id = openChannel(10 ether, SALT);
        channels.redeem(id, 6 ether, sign(SESSION_KEY, id, 6 ether));
        bytes memory forged = sign(OTHER_KEY, id, 5 ether);
        vm.prank(payee);
        channels.redeemAndClose(id, 5 ether, forged);
        assertTrue(channels.getChannel(id).finalised, "finalised");
        assertEq(snt.balanceOf(payee), 6 ether, "paid what was redeemed");
    }

    function test_redeemAndClose_revertsAboveDepositEvenAfterARedeem() public {
        bytes32 id = openChannel(10 ether, SALT);
        channels.redeem(id, 6 ether, sign(SESSION_KEY, id, 6 ether));
        bytes memory tooMuch = sign(SESSION_KEY, id, 11 ether);
        vm.prank(payee);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.PaymentChannelsInsufficientDeposit.selector, id, 11 ether, 10 ether)
        );
        channels.redeemAndClose(id, 11 ether, tooMuch);
    }

    function test_cancelClose_secondRequestIsFinal() public {
        bytes32 id = openChannel(1 ether, SALT);
        vm.startPrank(payer);
        channels.requestClose(id);
        channels.cancelClose(id);
        assertTrue(channels.getChannel(id).closeCancelled, "cancel used");
        channels.requestClose(id);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.PaymentChannelsCloseNotCancellable.selector, id));
        channels.cancelClose(id);
        vm.stopPrank();
    }

    function test_topUp_feeOnTransferCreditsTheMeasuredAmount() public {
        FeeOnTransferToken fot = new FeeOnTransferToken(100); // 1%
        PaymentChannels c = new PaymentChannels(IERC20(address(fot)), CLOSE_GRACE);
        fot.mint(payer, 200 ether);
        vm.startPrank(payer);
        fot.approve(address(c), 200 ether);
        bytes32 id = c.open(payee, session, 100 ether, SALT);
        vm.expectEmit();
        emit IPaymentChannels.ChannelToppedUp(id, payer, 99 ether, 198 ether);
        c.topUp(id, 100 ether);
        vm.stopPrank();
        assertEq(c.getChannel(id).deposit, 198 ether, "credited what arrived");
        assertEq(fot.balanceOf(address(c)), 198 ether, "held == deposit");
    }

    // ---------------------------------------------------------------- quirky tokens

    function test_feeOnTransfer_creditsTheMeasuredAmount() public {
        FeeOnTransferToken fot = new FeeOnTransferToken(100); // 1%
        PaymentChannels c = new PaymentChannels(IERC20(address(fot)), CLOSE_GRACE);
        fot.mint(payer, 100 ether);
        vm.startPrank(payer);
        fot.approve(address(c), 100 ether);
        bytes32 id = c.open(payee, session, 100 ether, SALT);
        vm.stopPrank();
        assertEq(c.getChannel(id).deposit, 99 ether, "credited what arrived");
        assertEq(fot.balanceOf(address(c)), 99 ether, "held");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SESSION_KEY, c.voucherDigest(id, 99 ether));
        c.redeem(id, 99 ether, abi.encodePacked(r, s, v));
        assertEq(fot.balanceOf(address(c)), 0, "fully paid out, never insolvent");
    }

    function test_returnsFalseToken_reverts() public {
        ReturnsFalseToken rft = new ReturnsFalseToken();
        PaymentChannels c = new PaymentChannels(IERC20(address(rft)), CLOSE_GRACE);
        rft.mint(payer, 10 ether);
        rft.setFailing(true);
        vm.startPrank(payer);
        rft.approve(address(c), 10 ether);
        vm.expectRevert(abi.encodeWithSelector(SafeERC20.SafeERC20FailedOperation.selector, address(rft)));
        c.open(payee, session, 10 ether, SALT);
        vm.stopPrank();
    }

    function test_reentrancyThroughTokenHook_isBlocked() public {
        HookToken hook = new HookToken();
        PaymentChannels c = new PaymentChannels(IERC20(address(hook)), CLOSE_GRACE);
        hook.mint(payer, 10 ether);
        vm.startPrank(payer);
        hook.approve(address(c), 10 ether);
        bytes32 id = c.open(payee, session, 10 ether, SALT);
        c.requestClose(id);
        vm.stopPrank();
        vm.warp(block.timestamp + CLOSE_GRACE);
        // On the refund transfer, the hook tries to withdraw again.
        hook.setHook(address(c), abi.encodeCall(IPaymentChannels.withdraw, (id)));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        c.withdraw(id);
        assertEq(hook.balanceOf(address(c)), 10 ether, "nothing left the contract");
    }

    // ---------------------------------------------------------------- fuzz

    function testFuzz_redeem_neverExceedsDeposit(uint96 deposit, uint96 cumulative) public {
        vm.assume(deposit > 0);
        snt.mint(payer, deposit);
        vm.startPrank(payer);
        snt.approve(address(channels), deposit);
        bytes32 id = channels.open(payee, session, deposit, SALT);
        vm.stopPrank();
        bytes memory sig = sign(SESSION_KEY, id, cumulative);
        if (cumulative > deposit || cumulative == 0) {
            vm.expectRevert();
            channels.redeem(id, cumulative, sig);
            assertEq(snt.balanceOf(payee), 0, "nothing paid");
        } else {
            channels.redeem(id, cumulative, sig);
            assertEq(snt.balanceOf(payee), cumulative, "paid exactly");
        }
        assertLe(channels.getChannel(id).paid, channels.getChannel(id).deposit, "paid <= deposit");
    }

    function testFuzz_redeemSequence_paysMaxCumulative(uint64 a, uint64 b, uint64 c) public {
        bytes32 id = openChannel(100 ether, SALT);
        uint256[3] memory amounts = [uint256(a) % 100 ether, uint256(b) % 100 ether, uint256(c) % 100 ether];
        uint256 highest;
        for (uint256 i = 0; i < 3; ++i) {
            bytes memory sig = sign(SESSION_KEY, id, amounts[i]);
            if (amounts[i] > highest) {
                channels.redeem(id, amounts[i], sig);
                highest = amounts[i];
            } else {
                vm.expectRevert();
                channels.redeem(id, amounts[i], sig);
            }
        }
        assertEq(snt.balanceOf(payee), highest, "payee holds the highest voucher");
    }

    function testFuzz_finalise_paidPlusRefundEqualsDeposit(uint96 deposit, uint96 cumulative) public {
        vm.assume(deposit > 0);
        cumulative = uint96(bound(cumulative, 0, deposit));
        snt.mint(payer, deposit);
        vm.startPrank(payer);
        snt.approve(address(channels), deposit);
        bytes32 id = channels.open(payee, session, deposit, SALT);
        vm.stopPrank();
        uint256 payerBefore = snt.balanceOf(payer);
        bytes memory sig = cumulative == 0 ? bytes("") : sign(SESSION_KEY, id, cumulative);
        vm.prank(payee);
        channels.redeemAndClose(id, cumulative, sig);
        assertEq(snt.balanceOf(payee) + (snt.balanceOf(payer) - payerBefore), deposit, "paid + refund == deposit");
    }
}
