// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IPaymentChannels
/// @notice Unidirectional SNT payment channels from a payer to a mailbox (the payee).
///
/// A payer locks a deposit; for each paid request it signs an EIP-712 voucher
/// `Voucher(bytes32 channelId, uint256 cumulativeAmount)` for the total owed so far. The payee
/// (or anyone on its behalf) redeems the newest voucher; the contract pays the payee the increase
/// over what was already paid. The payer leaves with `requestClose`, waits `closeGrace` (during
/// which the payee can still redeem) and `withdraw`s the rest; the payee can finish at once with
/// `redeemAndClose`.
///
/// A close can be cancelled once: the deadline moves at most once, so a payer cannot keep a channel
/// in limbo by cancelling and requesting again.
///
/// Channel id = keccak256(abi.encode(payer, payee, signer, salt)): computable before opening, so a
/// client can sign vouchers for a channel whose opening is still in flight. A finalised id can
/// never be opened again.
///
/// Amounts are stored as uint96 (at most 2^96 - 1 base units, about 7.9e10 tokens at 18 decimals:
/// more than ten times SNT's total supply), so that a channel fits in three storage slots. Larger
/// amounts revert with {PaymentChannelsAmountTooLarge}.
///
/// Security considerations: signers are externally owned accounts (a payer that is a contract
/// wallet names an EOA session key as signer). Signatures are 65 bytes, low-s, v in {27, 28}; all
/// others are rejected, on-chain and by the off-chain verifier alike.
interface IPaymentChannels {
    /// @notice A channel's state.
    /// @param payer Who funded the channel and receives the refund.
    /// @param closesAt Zero while open; otherwise the time from which the payer can withdraw.
    /// @param finalised True once the channel was closed by `withdraw` or `redeemAndClose`.
    /// @param closeCancelled True once the payer cancelled a close: the next request is final.
    /// @param payee The mailbox operator that vouchers pay.
    /// @param deposit Total credited to the channel (measured token balance changes).
    /// @param signer The key whose vouchers the channel honours (the payer or a session key).
    /// @param paid Total paid to the payee so far (the highest redeemed cumulative amount).
    struct Channel {
        address payer;
        uint64 closesAt;
        bool finalised;
        bool closeCancelled;
        address payee;
        uint96 deposit;
        address signer;
        uint96 paid;
    }

    /// @notice One entry of a {redeemMany} batch.
    struct Redemption {
        bytes32 channelId;
        uint256 cumulativeAmount;
        bytes signature;
    }

    /// @notice Emitted when a channel is opened.
    event ChannelOpened(
        bytes32 indexed channelId,
        address indexed payer,
        address indexed payee,
        address signer,
        bytes32 salt,
        uint256 deposit
    );

    /// @notice Emitted when a deposit is added; `deposit` is the new total.
    event ChannelToppedUp(bytes32 indexed channelId, address indexed from, uint256 amount, uint256 deposit);

    /// @notice Emitted when a voucher is redeemed; `amount` was paid now, `paid` is the new total.
    event Redeemed(bytes32 indexed channelId, address indexed payee, uint256 amount, uint256 paid);

    /// @notice Emitted by {redeemMany} for an entry it skipped; `reason` is the error selector.
    event RedemptionSkipped(bytes32 indexed channelId, bytes4 reason);

    /// @notice Emitted when the payer asks to close; the payee can redeem until `closesAt`.
    event CloseRequested(bytes32 indexed channelId, uint256 closesAt);

    /// @notice Emitted when the payer cancels a pending close.
    event CloseCancelled(bytes32 indexed channelId);

    /// @notice Emitted when a channel is finalised; `paid` + `refund` == the final deposit.
    event ChannelFinalised(bytes32 indexed channelId, uint256 paid, uint256 refund);

    /// @notice The channel id is in use or was finalised.
    error PaymentChannelsChannelExists(bytes32 channelId);

    /// @notice No open channel has this id.
    error PaymentChannelsUnknownChannel(bytes32 channelId);

    /// @notice The channel was finalised.
    error PaymentChannelsChannelFinalised(bytes32 channelId);

    /// @notice The caller is not the channel's payer.
    error PaymentChannelsNotPayer(bytes32 channelId, address caller);

    /// @notice The caller is not the channel's payee.
    error PaymentChannelsNotPayee(bytes32 channelId, address caller);

    /// @notice The payee or the signer is the zero address, or the payee is the payer.
    error PaymentChannelsInvalidParty(address payee, address signer);

    /// @notice Zero amounts are refused.
    error PaymentChannelsZeroAmount();

    /// @notice The amount does not fit the channel's uint96 accounting.
    error PaymentChannelsAmountTooLarge(uint256 amount, uint256 max);

    /// @notice A close is pending: no top-up, and no second request.
    error PaymentChannelsClosePending(bytes32 channelId, uint256 closesAt);

    /// @notice No close is pending.
    error PaymentChannelsNoClosePending(bytes32 channelId);

    /// @notice The payer already cancelled a close on this channel: this request is final.
    error PaymentChannelsCloseNotCancellable(bytes32 channelId);

    /// @notice A constructor parameter is out of range.
    error PaymentChannelsInvalidParameter(string name);

    /// @notice The close grace period has not ended yet.
    error PaymentChannelsCloseNotDue(bytes32 channelId, uint256 closesAt, uint256 now_);

    /// @notice The close deadline passed: vouchers can no longer be redeemed.
    error PaymentChannelsCloseDeadlinePassed(bytes32 channelId, uint256 closesAt);

    /// @notice The voucher's signature is malformed or not by the channel's signer.
    error PaymentChannelsInvalidSignature(bytes32 channelId, address recovered);

    /// @notice The voucher's cumulative amount is above the deposit (never capped).
    error PaymentChannelsInsufficientDeposit(bytes32 channelId, uint256 cumulativeAmount, uint256 deposit);

    /// @notice The voucher's cumulative amount is not above what was already paid.
    error PaymentChannelsStaleVoucher(bytes32 channelId, uint256 cumulativeAmount, uint256 paid);

    /// @notice `receiveApproval` was called by a contract other than the token, or for another token.
    error PaymentChannelsInvalidApproval(address caller, address token);

    /// @notice `receiveApproval` data does not start with a supported selector.
    error PaymentChannelsUnsupportedCall(bytes4 selector);

    /// @notice The token this contract accounts in.
    function token() external view returns (address);

    /// @notice Seconds between `requestClose` and the time the payer can withdraw (1 minute to 365 days).
    function closeGrace() external view returns (uint256);

    /// @notice The EIP-712 typehash of `Voucher(bytes32 channelId,uint256 cumulativeAmount)`.
    // solhint-disable-next-line func-name-mixedcase
    function VOUCHER_TYPEHASH() external view returns (bytes32);

    /// @notice The id a channel with these parties and salt has (whether or not it exists).
    function channelId(address payer, address payee, address signer, bytes32 salt) external pure returns (bytes32);

    /// @notice The EIP-712 digest a signer signs for a voucher.
    function voucherDigest(bytes32 channelId_, uint256 cumulativeAmount) external view returns (bytes32);

    /// @notice A channel's state (all zero for an unknown id).
    function getChannel(bytes32 channelId_) external view returns (Channel memory);

    /// @notice Opens a channel from `msg.sender` to `payee`, pulling `amount` with `transferFrom`.
    /// @dev Emits {ChannelOpened}. The deposit is the measured balance change.
    /// Requirements: `payee` and `signer` non-zero, `payee` != payer, `amount` > 0, id unused.
    function open(address payee, address signer, uint256 amount, bytes32 salt) external returns (bytes32);

    /// @notice Adds `amount` (pulled from `msg.sender`) to an open channel with no close pending.
    /// @dev Emits {ChannelToppedUp}. Anyone may top up.
    function topUp(bytes32 channelId_, uint256 amount) external;

    /// @notice MiniMe / ERC-20 `approveAndCall` hook: opens or tops up in the approving transaction.
    /// @dev `data` is the ABI-encoded call to {open} or {topUp} (selector first); `from` is the payer.
    function receiveApproval(address from, uint256 amount, address token_, bytes calldata data) external;

    /// @notice Pays the payee the increase of `cumulativeAmount` over what was paid. Callable by anyone.
    /// @dev Emits {Redeemed}.
    /// Requirements: valid signature by the signer; paid < cumulativeAmount <= deposit; channel not
    /// finalised; if a close is pending, before its deadline.
    function redeem(bytes32 channelId_, uint256 cumulativeAmount, bytes calldata signature) external;

    /// @notice Redeems a batch. An entry that would revert in {redeem} is skipped (emitting
    /// {RedemptionSkipped} with the error's selector), so that a third party redeeming one entry
    /// first cannot make the whole batch fail. Consecutive entries paying the same payee are paid in
    /// one transfer.
    /// @return redeemed The number of entries that paid something.
    function redeemMany(Redemption[] calldata redemptions) external returns (uint256 redeemed);

    /// @notice The payer starts closing; vouchers stay redeemable until `block.timestamp + closeGrace`.
    /// @dev Emits {CloseRequested}. Requirements: payer only; no close already pending.
    function requestClose(bytes32 channelId_) external;

    /// @notice The payer cancels a pending close, once per channel: a later request cannot be cancelled.
    /// @dev Emits {CloseCancelled}. Requirements: payer only; a close pending; never cancelled before.
    function cancelClose(bytes32 channelId_) external;

    /// @notice After the close deadline, refunds deposit - paid to the payer and finalises.
    /// @dev Emits {ChannelFinalised}. Callable by anyone; the refund always goes to the payer.
    function withdraw(bytes32 channelId_) external;

    /// @notice The payee redeems a final voucher (or none: empty signature) and finalises at once,
    /// refunding the rest to the payer. If someone redeemed this voucher (or a later one) first, the
    /// channel is finalised all the same: nothing more is owed on it.
    /// @dev Emits {Redeemed} (when something is paid) and {ChannelFinalised}. Any other voucher error
    /// (bad signature, above the deposit, deadline passed) reverts.
    function redeemAndClose(bytes32 channelId_, uint256 cumulativeAmount, bytes calldata signature) external;
}
