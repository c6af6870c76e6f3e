// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IPaymentChannels} from "./interfaces/IPaymentChannels.sol";

/// @title PaymentChannels
/// @notice Unidirectional payment channels paying Postbox mailboxes in one ERC-20 (SNT).
/// @dev See {IPaymentChannels} for the model. Every token-moving function is non-reentrant
/// (transient-storage guard) and writes its state before the SafeERC20 call; a pull then
/// reconciles the deposit with the measured balance change (a fee-on-transfer token, or a MiniMe
/// controller, may deliver less than asked) and emits.
contract PaymentChannels is IPaymentChannels, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc IPaymentChannels
    bytes32 public constant VOUCHER_TYPEHASH = keccak256("Voucher(bytes32 channelId,uint256 cumulativeAmount)");

    uint256 private constant _MIN_CLOSE_GRACE = 1 minutes;
    uint256 private constant _MAX_CLOSE_GRACE = 365 days;

    IERC20 private immutable _token;
    uint256 private immutable _closeGrace;

    mapping(bytes32 channelId => Channel) private _channels;

    /// @param token_ The ERC-20 the channels are funded in (SNT).
    /// @param closeGrace_ Seconds the payee keeps to redeem after the payer requests a close: 1 minute
    /// to 365 days (at least 24 hours on real networks; the local devnet uses minutes).
    constructor(IERC20 token_, uint256 closeGrace_) EIP712("Postbox PaymentChannels", "1") {
        if (address(token_) == address(0)) revert PaymentChannelsInvalidParameter("token");
        if (closeGrace_ < _MIN_CLOSE_GRACE || closeGrace_ > _MAX_CLOSE_GRACE) {
            revert PaymentChannelsInvalidParameter("closeGrace");
        }
        _token = token_;
        _closeGrace = closeGrace_;
    }

    /// @inheritdoc IPaymentChannels
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IPaymentChannels
    function closeGrace() external view returns (uint256) {
        return _closeGrace;
    }

    /// @inheritdoc IPaymentChannels
    function channelId(address payer, address payee, address signer, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(payer, payee, signer, salt));
    }

    /// @inheritdoc IPaymentChannels
    function voucherDigest(bytes32 channelId_, uint256 cumulativeAmount) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(VOUCHER_TYPEHASH, channelId_, cumulativeAmount)));
    }

    /// @inheritdoc IPaymentChannels
    function getChannel(bytes32 channelId_) external view returns (Channel memory) {
        return _channels[channelId_];
    }

    /// @inheritdoc IPaymentChannels
    function open(address payee, address signer, uint256 amount, bytes32 salt) external nonReentrant returns (bytes32) {
        return _open(msg.sender, payee, signer, amount, salt);
    }

    /// @inheritdoc IPaymentChannels
    function topUp(bytes32 channelId_, uint256 amount) external nonReentrant {
        _topUp(msg.sender, channelId_, amount);
    }

    /// @inheritdoc IPaymentChannels
    function receiveApproval(address from, uint256 amount, address token_, bytes calldata data) external nonReentrant {
        if (msg.sender != address(_token) || token_ != address(_token)) {
            revert PaymentChannelsInvalidApproval(msg.sender, token_);
        }
        bytes4 selector = data.length >= 4 ? bytes4(data[:4]) : bytes4(0);
        if (selector == this.open.selector) {
            (address payee, address signer, uint256 declared, bytes32 salt) = abi.decode(
                data[4:],
                (address, address, uint256, bytes32)
            );
            // The approved amount is what moves; a declared amount, if any, must agree with it.
            if (declared != 0 && declared != amount) revert PaymentChannelsUnsupportedCall(selector);
            _open(from, payee, signer, amount, salt);
        } else if (selector == this.topUp.selector) {
            (bytes32 id, uint256 declared) = abi.decode(data[4:], (bytes32, uint256));
            if (declared != 0 && declared != amount) revert PaymentChannelsUnsupportedCall(selector);
            _topUp(from, id, amount);
        } else {
            revert PaymentChannelsUnsupportedCall(selector);
        }
    }

    /// @inheritdoc IPaymentChannels
    function redeem(bytes32 channelId_, uint256 cumulativeAmount, bytes calldata signature) external nonReentrant {
        (address payee, uint256 amount, bytes memory err) = _tryRedeem(channelId_, cumulativeAmount, signature);
        if (err.length != 0) {
            assembly ("memory-safe") {
                revert(add(err, 0x20), mload(err))
            }
        }
        _token.safeTransfer(payee, amount);
    }

    /// @inheritdoc IPaymentChannels
    function redeemMany(Redemption[] calldata redemptions) external nonReentrant returns (uint256 redeemed) {
        address pendingPayee;
        uint256 pendingAmount;
        uint256 n = redemptions.length;
        for (uint256 i = 0; i < n; ++i) {
            Redemption calldata r = redemptions[i];
            (address payee, uint256 amount, bytes memory err) = _tryRedeem(
                r.channelId,
                r.cumulativeAmount,
                r.signature
            );
            if (err.length != 0) {
                emit RedemptionSkipped(r.channelId, bytes4(err));
                continue;
            }
            ++redeemed;
            if (payee != pendingPayee) {
                if (pendingAmount != 0) _token.safeTransfer(pendingPayee, pendingAmount);
                pendingPayee = payee;
                pendingAmount = 0;
            }
            // Cannot overflow: each amount is bounded by a uint96 deposit held by this contract.
            unchecked {
                pendingAmount += amount;
            }
        }
        if (pendingAmount != 0) _token.safeTransfer(pendingPayee, pendingAmount);
    }

    /// @inheritdoc IPaymentChannels
    function requestClose(bytes32 channelId_) external {
        Channel storage c = _live(channelId_);
        if (msg.sender != c.payer) revert PaymentChannelsNotPayer(channelId_, msg.sender);
        if (c.closesAt != 0) revert PaymentChannelsClosePending(channelId_, c.closesAt);
        uint64 closesAt = SafeCast.toUint64(block.timestamp + _closeGrace);
        c.closesAt = closesAt;
        emit CloseRequested(channelId_, closesAt);
    }

    /// @inheritdoc IPaymentChannels
    function cancelClose(bytes32 channelId_) external {
        Channel storage c = _live(channelId_);
        if (msg.sender != c.payer) revert PaymentChannelsNotPayer(channelId_, msg.sender);
        if (c.closesAt == 0) revert PaymentChannelsNoClosePending(channelId_);
        if (c.closeCancelled) revert PaymentChannelsCloseNotCancellable(channelId_);
        c.closesAt = 0;
        c.closeCancelled = true;
        emit CloseCancelled(channelId_);
    }

    /// @inheritdoc IPaymentChannels
    function withdraw(bytes32 channelId_) external nonReentrant {
        Channel storage c = _live(channelId_);
        uint256 closesAt = c.closesAt;
        if (closesAt == 0) revert PaymentChannelsNoClosePending(channelId_);
        if (block.timestamp < closesAt) revert PaymentChannelsCloseNotDue(channelId_, closesAt, block.timestamp);
        address payer = c.payer;
        (uint256 paid, uint256 refund) = _finalise(c);
        emit ChannelFinalised(channelId_, paid, refund);
        if (refund != 0) _token.safeTransfer(payer, refund);
    }

    /// @inheritdoc IPaymentChannels
    function redeemAndClose(
        bytes32 channelId_,
        uint256 cumulativeAmount,
        bytes calldata signature
    ) external nonReentrant {
        Channel storage c = _live(channelId_);
        address payee = c.payee;
        if (msg.sender != payee) revert PaymentChannelsNotPayee(channelId_, msg.sender);
        uint256 amount;
        if (signature.length != 0) {
            bytes memory err;
            (, amount, err) = _tryRedeem(channelId_, cumulativeAmount, signature);
            // A stale voucher means someone redeemed it (or a later one) first: the payee holds what
            // it signed for, so finalise anyway. Any other error stands.
            if (err.length != 0 && bytes4(err) != PaymentChannelsStaleVoucher.selector) {
                assembly ("memory-safe") {
                    revert(add(err, 0x20), mload(err))
                }
            }
        }
        address payer = c.payer;
        (uint256 paid, uint256 refund) = _finalise(c);
        emit ChannelFinalised(channelId_, paid, refund);
        if (amount != 0) _token.safeTransfer(payee, amount);
        if (refund != 0) _token.safeTransfer(payer, refund);
    }

    // ---------------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------------

    function _open(
        address payer,
        address payee,
        address signer,
        uint256 amount,
        bytes32 salt
    ) private returns (bytes32 id) {
        if (payee == address(0) || signer == address(0) || payee == payer) {
            revert PaymentChannelsInvalidParty(payee, signer);
        }
        if (amount == 0) revert PaymentChannelsZeroAmount();
        id = channelId(payer, payee, signer, salt);
        Channel storage c = _channels[id];
        // A finalised channel keeps its payer, so its id can never be opened again.
        if (c.payer != address(0)) revert PaymentChannelsChannelExists(id);
        if (amount > type(uint96).max) revert PaymentChannelsAmountTooLarge(amount, type(uint96).max);
        c.payer = payer;
        c.payee = payee;
        c.deposit = uint96(amount);
        c.signer = signer;
        uint96 credited = _pull(payer, amount);
        if (credited != amount) c.deposit = credited;
        emit ChannelOpened(id, payer, payee, signer, salt, credited);
    }

    function _topUp(address from, bytes32 id, uint256 amount) private {
        Channel storage c = _live(id);
        if (c.closesAt != 0) revert PaymentChannelsClosePending(id, c.closesAt);
        if (amount == 0) revert PaymentChannelsZeroAmount();
        if (amount > type(uint96).max) revert PaymentChannelsAmountTooLarge(amount, type(uint96).max);
        uint256 before = c.deposit;
        uint256 deposit = before + amount;
        if (deposit > type(uint96).max) revert PaymentChannelsAmountTooLarge(deposit, type(uint96).max);
        c.deposit = uint96(deposit);
        uint96 credited = _pull(from, amount);
        if (credited != amount) {
            // Not what was asked arrived (a fee, or a controller's intervention): credit what did.
            deposit = before + credited;
            if (deposit > type(uint96).max) revert PaymentChannelsAmountTooLarge(deposit, type(uint96).max);
            c.deposit = uint96(deposit);
        }
        emit ChannelToppedUp(id, from, credited, deposit);
    }

    /// @dev Pulls `amount` from `from` and returns the measured balance change, so that tokens
    /// that take a fee on transfer are credited only what arrived.
    function _pull(address from, uint256 amount) private returns (uint96) {
        uint256 before = _token.balanceOf(address(this));
        _token.safeTransferFrom(from, address(this), amount);
        uint256 received = _token.balanceOf(address(this)) - before;
        if (received == 0) revert PaymentChannelsZeroAmount();
        if (received > type(uint96).max) revert PaymentChannelsAmountTooLarge(received, type(uint96).max);
        return uint96(received);
    }

    /// @dev Validates a voucher and records the payment. Returns the ABI-encoded custom error
    /// instead of reverting, so that {redeemMany} can skip an entry. The caller transfers.
    function _tryRedeem(
        bytes32 id,
        uint256 cumulativeAmount,
        bytes calldata signature
    ) private returns (address payee, uint256 amount, bytes memory err) {
        Channel storage c = _channels[id];
        if (c.payer == address(0))
            return (address(0), 0, abi.encodeWithSelector(PaymentChannelsUnknownChannel.selector, id));
        if (c.finalised) return (address(0), 0, abi.encodeWithSelector(PaymentChannelsChannelFinalised.selector, id));
        uint256 closesAt = c.closesAt;
        if (closesAt != 0 && block.timestamp >= closesAt) {
            return (address(0), 0, abi.encodeWithSelector(PaymentChannelsCloseDeadlinePassed.selector, id, closesAt));
        }
        uint256 deposit = c.deposit;
        if (cumulativeAmount > deposit) {
            return (
                address(0),
                0,
                abi.encodeWithSelector(PaymentChannelsInsufficientDeposit.selector, id, cumulativeAmount, deposit)
            );
        }
        uint256 paid = c.paid;
        if (cumulativeAmount <= paid) {
            return (
                address(0),
                0,
                abi.encodeWithSelector(PaymentChannelsStaleVoucher.selector, id, cumulativeAmount, paid)
            );
        }
        (address recovered, ECDSA.RecoverError recoverErr, ) = ECDSA.tryRecoverCalldata(
            voucherDigest(id, cumulativeAmount),
            signature
        );
        if (recoverErr != ECDSA.RecoverError.NoError || recovered != c.signer) {
            return (address(0), 0, abi.encodeWithSelector(PaymentChannelsInvalidSignature.selector, id, recovered));
        }
        payee = c.payee;
        // cumulativeAmount <= deposit <= type(uint96).max, and cumulativeAmount > paid.
        unchecked {
            amount = cumulativeAmount - paid;
        }
        c.paid = uint96(cumulativeAmount);
        emit Redeemed(id, payee, amount, cumulativeAmount);
    }

    /// @dev Marks the channel finalised. Its record stays (payer, payee, signer, deposit, paid) so
    /// that the id can never be reopened and the final state remains readable.
    function _finalise(Channel storage c) private returns (uint256 paid, uint256 refund) {
        paid = c.paid;
        // paid <= deposit is kept by every redemption.
        unchecked {
            refund = uint256(c.deposit) - paid;
        }
        c.finalised = true;
    }

    function _live(bytes32 id) private view returns (Channel storage c) {
        c = _channels[id];
        if (c.payer == address(0)) revert PaymentChannelsUnknownChannel(id);
        if (c.finalised) revert PaymentChannelsChannelFinalised(id);
    }
}
