// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IMailboxRegistry} from "./interfaces/IMailboxRegistry.sol";

/// @title MailboxRegistry
/// @notice Staked listing of Postbox mailboxes with delayed price increases, unbonding exits and
/// capped, role-gated slashing. See {IMailboxRegistry}.
contract MailboxRegistry is IMailboxRegistry, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc IMailboxRegistry
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    /// @inheritdoc IMailboxRegistry
    bytes32 public constant JAILER_ROLE = keccak256("JAILER_ROLE");

    uint256 private constant _BPS = 10_000;
    uint256 private constant _MAX_MULTIADDRS = 8;
    uint256 private constant _MAX_PEER_ID_BYTES = 128;

    /// @dev Three packed slots of numbers, then the endpoint strings.
    struct Entry {
        uint96 stake;
        uint64 registeredAt;
        uint32 retention;
        Status status;
        bool listed;
        uint96 pricePerQuery;
        uint96 pricePerMessage;
        uint64 withdrawableAt;
        uint96 pendingPricePerQuery;
        uint96 pendingPricePerMessage;
        uint64 priceEffectiveAt;
        string peerId;
        string[] multiaddrs;
        string metadataURI;
    }

    IERC20 private immutable _token;
    uint256 private immutable _minStake;
    uint256 private immutable _unbondingPeriod;
    uint256 private immutable _priceDelay;
    uint256 private immutable _maxSlashBps;
    uint256 private immutable _slashBeneficiaryBps;

    address private _slashBeneficiary;
    address private _slashTreasury;
    mapping(address operator => Entry) private _entries;
    address[] private _operators;

    /// @param token_ The staking token (SNT).
    /// @param minStake_ The least stake a registration needs (non-zero).
    /// @param unbondingPeriod_ Seconds between `requestExit` and `withdrawStake`.
    /// @param priceDelay_ Seconds before a price increase applies.
    /// @param maxSlashBps_ The largest share of a stake one slash may take (1..10000).
    /// @param slashBeneficiaryBps_ The share of a slash paid to the beneficiary (0..10000).
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (grants SLASHER_ROLE and JAILER_ROLE).
    /// @param beneficiary Receives `slashBeneficiaryBps_` of each slash.
    /// @param treasury Receives the rest of each slash.
    constructor(
        IERC20 token_,
        uint256 minStake_,
        uint256 unbondingPeriod_,
        uint256 priceDelay_,
        uint256 maxSlashBps_,
        uint256 slashBeneficiaryBps_,
        address admin,
        address beneficiary,
        address treasury
    ) {
        if (address(token_) == address(0)) revert MailboxRegistryInvalidParameter("token");
        if (minStake_ == 0 || minStake_ > type(uint96).max) revert MailboxRegistryInvalidParameter("minStake");
        if (maxSlashBps_ == 0 || maxSlashBps_ > _BPS) revert MailboxRegistryInvalidParameter("maxSlashBps");
        if (slashBeneficiaryBps_ > _BPS) revert MailboxRegistryInvalidParameter("slashBeneficiaryBps");
        if (admin == address(0)) revert MailboxRegistryInvalidParameter("admin");
        if (beneficiary == address(0) || treasury == address(0)) revert MailboxRegistryInvalidParameter("payout");
        _token = token_;
        _minStake = minStake_;
        _unbondingPeriod = unbondingPeriod_;
        _priceDelay = priceDelay_;
        _maxSlashBps = maxSlashBps_;
        _slashBeneficiaryBps = slashBeneficiaryBps_;
        _slashBeneficiary = beneficiary;
        _slashTreasury = treasury;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------------------------------------
    // Parameters
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IMailboxRegistry
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IMailboxRegistry
    function minStake() external view returns (uint256) {
        return _minStake;
    }

    /// @inheritdoc IMailboxRegistry
    function unbondingPeriod() external view returns (uint256) {
        return _unbondingPeriod;
    }

    /// @inheritdoc IMailboxRegistry
    function priceDelay() external view returns (uint256) {
        return _priceDelay;
    }

    /// @inheritdoc IMailboxRegistry
    function maxSlashBps() external view returns (uint256) {
        return _maxSlashBps;
    }

    /// @inheritdoc IMailboxRegistry
    function slashBeneficiaryBps() external view returns (uint256) {
        return _slashBeneficiaryBps;
    }

    /// @inheritdoc IMailboxRegistry
    function slashPayout() external view returns (address beneficiary, address treasury) {
        return (_slashBeneficiary, _slashTreasury);
    }

    // ---------------------------------------------------------------------------------------------
    // Operators
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IMailboxRegistry
    function register(
        string calldata peerId,
        string[] calldata multiaddrs,
        string calldata metadataURI,
        uint256 stake,
        uint256 pricePerQuery,
        uint256 pricePerMessage,
        uint256 retention
    ) external nonReentrant {
        _register(msg.sender, peerId, multiaddrs, metadataURI, stake, pricePerQuery, pricePerMessage, retention);
    }

    /// @inheritdoc IMailboxRegistry
    function addStake(address operator, uint256 amount) external nonReentrant {
        _addStake(msg.sender, operator, amount);
    }

    /// @inheritdoc IMailboxRegistry
    function receiveApproval(address from, uint256 amount, address token_, bytes calldata data) external nonReentrant {
        if (msg.sender != address(_token) || token_ != address(_token)) {
            revert MailboxRegistryInvalidApproval(msg.sender, token_);
        }
        bytes4 selector = data.length >= 4 ? bytes4(data[:4]) : bytes4(0);
        if (selector == this.register.selector) {
            (
                string memory peerId,
                string[] memory multiaddrs,
                string memory metadataURI,
                ,
                uint256 pricePerQuery,
                uint256 pricePerMessage,
                uint256 retention
            ) = abi.decode(data[4:], (string, string[], string, uint256, uint256, uint256, uint256));
            _register(from, peerId, multiaddrs, metadataURI, amount, pricePerQuery, pricePerMessage, retention);
        } else if (selector == this.addStake.selector) {
            (address operator, ) = abi.decode(data[4:], (address, uint256));
            _addStake(from, operator, amount);
        } else {
            revert MailboxRegistryUnsupportedCall(selector);
        }
    }

    /// @inheritdoc IMailboxRegistry
    function announcePrice(uint256 pricePerQuery, uint256 pricePerMessage) external {
        Entry storage e = _entries[msg.sender];
        if (e.status != Status.Active) revert MailboxRegistryInvalidStatus(msg.sender, e.status);
        uint96 newQuery = _toUint96(pricePerQuery);
        uint96 newMessage = _toUint96(pricePerMessage);
        (uint96 oldQuery, uint96 oldMessage) = _currentPrice(e);
        // Decreases apply now, component by component; the announced pair applies after the delay
        // if anything went up.
        e.pricePerQuery = newQuery < oldQuery ? newQuery : oldQuery;
        e.pricePerMessage = newMessage < oldMessage ? newMessage : oldMessage;
        uint64 effectiveAt;
        if (newQuery > oldQuery || newMessage > oldMessage) {
            effectiveAt = uint64(block.timestamp + _priceDelay);
            e.pendingPricePerQuery = newQuery;
            e.pendingPricePerMessage = newMessage;
            e.priceEffectiveAt = effectiveAt;
        } else {
            effectiveAt = uint64(block.timestamp);
            e.pendingPricePerQuery = 0;
            e.pendingPricePerMessage = 0;
            e.priceEffectiveAt = 0;
        }
        emit PriceAnnounced(msg.sender, oldQuery, oldMessage, newQuery, newMessage, effectiveAt);
    }

    /// @inheritdoc IMailboxRegistry
    function effectivePrice(address operator) external view returns (uint256 pricePerQuery, uint256 pricePerMessage) {
        return _currentPrice(_entries[operator]);
    }

    /// @inheritdoc IMailboxRegistry
    function updateEndpoint(
        string calldata peerId,
        string[] calldata multiaddrs,
        string calldata metadataURI
    ) external {
        Entry storage e = _entries[msg.sender];
        if (e.status == Status.None) revert MailboxRegistryInvalidStatus(msg.sender, e.status);
        _checkEndpoint(bytes(peerId).length, multiaddrs.length);
        string memory oldPeerId = e.peerId;
        e.peerId = peerId;
        e.multiaddrs = multiaddrs;
        e.metadataURI = metadataURI;
        emit EndpointUpdated(msg.sender, oldPeerId, peerId, multiaddrs, metadataURI);
    }

    /// @inheritdoc IMailboxRegistry
    function setRetention(uint256 retention) external {
        Entry storage e = _entries[msg.sender];
        if (e.status == Status.None) revert MailboxRegistryInvalidStatus(msg.sender, e.status);
        if (retention > type(uint32).max) revert MailboxRegistryAmountTooLarge(retention);
        uint256 old = e.retention;
        e.retention = uint32(retention);
        emit RetentionUpdated(msg.sender, old, retention);
    }

    /// @inheritdoc IMailboxRegistry
    function requestExit() external {
        Entry storage e = _entries[msg.sender];
        if (e.status != Status.Active) revert MailboxRegistryInvalidStatus(msg.sender, e.status);
        uint64 withdrawableAt = uint64(block.timestamp + _unbondingPeriod);
        e.status = Status.Exiting;
        e.withdrawableAt = withdrawableAt;
        emit ExitRequested(msg.sender, e.stake, withdrawableAt);
    }

    /// @inheritdoc IMailboxRegistry
    function withdrawStake() external nonReentrant {
        Entry storage e = _entries[msg.sender];
        if (e.status != Status.Exiting) revert MailboxRegistryInvalidStatus(msg.sender, e.status);
        if (block.timestamp < e.withdrawableAt) revert MailboxRegistryStillUnbonding(msg.sender, e.withdrawableAt);
        uint256 amount = e.stake;
        e.stake = 0;
        e.status = Status.None;
        e.withdrawableAt = 0;
        e.pendingPricePerQuery = 0;
        e.pendingPricePerMessage = 0;
        e.priceEffectiveAt = 0;
        emit StakeWithdrawn(msg.sender, amount);
        if (amount != 0) _token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------------------------------------
    // Roles
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IMailboxRegistry
    function slash(
        address operator,
        uint256 amount,
        bytes32 evidenceHash
    ) external nonReentrant onlyRole(SLASHER_ROLE) {
        Entry storage e = _entries[operator];
        if (e.status == Status.None) revert MailboxRegistryInvalidStatus(operator, e.status);
        if (amount == 0) revert MailboxRegistryZeroAmount();
        uint256 stake = e.stake;
        uint256 cap = (stake * _maxSlashBps) / _BPS;
        if (amount > cap) revert MailboxRegistrySlashTooLarge(operator, amount, cap);
        uint256 toBeneficiary = (amount * _slashBeneficiaryBps) / _BPS;
        uint256 toTreasury = amount - toBeneficiary;
        // amount <= cap <= stake.
        unchecked {
            stake -= amount;
        }
        e.stake = uint96(stake);
        emit Slashed(operator, amount, toBeneficiary, toTreasury, evidenceHash, stake);
        if (toBeneficiary != 0) _token.safeTransfer(_slashBeneficiary, toBeneficiary);
        if (toTreasury != 0) _token.safeTransfer(_slashTreasury, toTreasury);
    }

    /// @inheritdoc IMailboxRegistry
    function jail(address operator) external onlyRole(JAILER_ROLE) {
        Entry storage e = _entries[operator];
        Status previous = e.status;
        if (previous != Status.Active && previous != Status.Exiting)
            revert MailboxRegistryInvalidStatus(operator, previous);
        e.status = Status.Jailed;
        e.withdrawableAt = 0;
        emit Jailed(operator, previous);
    }

    /// @inheritdoc IMailboxRegistry
    function unjail(address operator) external onlyRole(JAILER_ROLE) {
        Entry storage e = _entries[operator];
        if (e.status != Status.Jailed) revert MailboxRegistryInvalidStatus(operator, e.status);
        e.status = Status.Active;
        emit Unjailed(operator);
    }

    /// @inheritdoc IMailboxRegistry
    function setSlashPayout(address beneficiary, address treasury) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (beneficiary == address(0) || treasury == address(0)) revert MailboxRegistryInvalidParameter("payout");
        _slashBeneficiary = beneficiary;
        _slashTreasury = treasury;
        emit SlashPayoutUpdated(beneficiary, treasury);
    }

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IMailboxRegistry
    function getMailbox(address operator) public view returns (Mailbox memory m) {
        Entry storage e = _entries[operator];
        (uint96 q, uint96 p) = _currentPrice(e);
        bool pending = e.priceEffectiveAt != 0 && block.timestamp < e.priceEffectiveAt;
        m.operator = operator;
        m.peerId = e.peerId;
        m.multiaddrs = e.multiaddrs;
        m.metadataURI = e.metadataURI;
        m.stake = e.stake;
        m.pricePerQuery = q;
        m.pricePerMessage = p;
        if (pending) {
            m.pendingPricePerQuery = e.pendingPricePerQuery;
            m.pendingPricePerMessage = e.pendingPricePerMessage;
            m.priceEffectiveAt = e.priceEffectiveAt;
        }
        m.retention = e.retention;
        m.registeredAt = e.registeredAt;
        m.withdrawableAt = e.withdrawableAt;
        m.status = e.status;
    }

    /// @inheritdoc IMailboxRegistry
    function mailboxCount() external view returns (uint256) {
        return _operators.length;
    }

    /// @inheritdoc IMailboxRegistry
    function getMailboxes(uint256 offset, uint256 limit) external view returns (Mailbox[] memory page) {
        uint256 total = _operators.length;
        if (offset >= total) return new Mailbox[](0);
        uint256 n = total - offset < limit ? total - offset : limit;
        page = new Mailbox[](n);
        for (uint256 i = 0; i < n; ++i) {
            page[i] = getMailbox(_operators[offset + i]);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------------

    function _register(
        address operator,
        string memory peerId,
        string[] memory multiaddrs,
        string memory metadataURI,
        uint256 stake,
        uint256 pricePerQuery,
        uint256 pricePerMessage,
        uint256 retention
    ) private {
        Entry storage e = _entries[operator];
        if (e.status != Status.None) revert MailboxRegistryAlreadyRegistered(operator);
        _checkEndpoint(bytes(peerId).length, multiaddrs.length);
        if (retention > type(uint32).max) revert MailboxRegistryAmountTooLarge(retention);
        uint96 query = _toUint96(pricePerQuery);
        uint96 message = _toUint96(pricePerMessage);
        if (stake < _minStake) revert MailboxRegistryStakeTooLow(stake, _minStake);
        uint96 credited = _pull(operator, stake);
        if (credited < _minStake) revert MailboxRegistryStakeTooLow(credited, _minStake);

        e.stake = credited;
        e.registeredAt = uint64(block.timestamp);
        e.retention = uint32(retention);
        e.status = Status.Active;
        e.pricePerQuery = query;
        e.pricePerMessage = message;
        if (e.priceEffectiveAt != 0) {
            e.pendingPricePerQuery = 0;
            e.pendingPricePerMessage = 0;
            e.priceEffectiveAt = 0;
        }
        e.peerId = peerId;
        e.multiaddrs = multiaddrs;
        e.metadataURI = metadataURI;
        if (!e.listed) {
            e.listed = true;
            _operators.push(operator);
        }
        emit MailboxRegistered(operator, peerId, multiaddrs, metadataURI, credited, query, message, retention);
    }

    function _addStake(address from, address operator, uint256 amount) private {
        Entry storage e = _entries[operator];
        if (e.status != Status.Active && e.status != Status.Jailed)
            revert MailboxRegistryInvalidStatus(operator, e.status);
        if (amount == 0) revert MailboxRegistryZeroAmount();
        uint96 credited = _pull(from, amount);
        uint256 stake = uint256(e.stake) + credited;
        e.stake = _toUint96(stake);
        emit StakeAdded(operator, from, credited, stake);
    }

    /// @dev Pulls `amount` from `from`; returns the measured balance change (fee-on-transfer safe).
    function _pull(address from, uint256 amount) private returns (uint96) {
        _toUint96(amount);
        uint256 before = _token.balanceOf(address(this));
        _token.safeTransferFrom(from, address(this), amount);
        uint256 received = _token.balanceOf(address(this)) - before;
        if (received == 0) revert MailboxRegistryZeroAmount();
        return _toUint96(received);
    }

    function _currentPrice(Entry storage e) private view returns (uint96 query, uint96 message) {
        uint256 effectiveAt = e.priceEffectiveAt;
        if (effectiveAt != 0 && block.timestamp >= effectiveAt)
            return (e.pendingPricePerQuery, e.pendingPricePerMessage);
        return (e.pricePerQuery, e.pricePerMessage);
    }

    function _checkEndpoint(uint256 peerIdLength, uint256 multiaddrCount) private pure {
        if (peerIdLength == 0 || peerIdLength > _MAX_PEER_ID_BYTES) revert MailboxRegistryInvalidEndpoint();
        if (multiaddrCount == 0 || multiaddrCount > _MAX_MULTIADDRS) revert MailboxRegistryInvalidEndpoint();
    }

    function _toUint96(uint256 value) private pure returns (uint96) {
        if (value > type(uint96).max) revert MailboxRegistryAmountTooLarge(value);
        return uint96(value);
    }
}
