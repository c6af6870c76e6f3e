// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// solhint-disable-next-line max-line-length
import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IMailboxRegistry} from "./interfaces/IMailboxRegistry.sol";

/// @title MailboxRegistry
/// @notice Staked listing of Postbox mailboxes with delayed price increases, unbonding exits, and
/// slashing and jailing by the disputes contract only, capped per period. See {IMailboxRegistry}.
/// @dev Every token-moving function is non-reentrant (transient-storage guard) and writes its state
/// before the token call; a pull then reconciles the entry with the measured balance change (a
/// fee-on-transfer token, or a MiniMe controller, may deliver less than asked).
contract MailboxRegistry is IMailboxRegistry, AccessControlDefaultAdminRules, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc IMailboxRegistry
    uint256 public constant MAX_PEER_ID_BYTES = 128;
    /// @inheritdoc IMailboxRegistry
    uint256 public constant MAX_MULTIADDRS = 8;
    /// @inheritdoc IMailboxRegistry
    uint256 public constant MAX_MULTIADDR_BYTES = 256;
    /// @inheritdoc IMailboxRegistry
    uint256 public constant MAX_METADATA_URI_BYTES = 2048;

    uint256 private constant _BPS = 10_000;
    /// @dev The longest period any parameter may set (unbonding, price delay, slash period, admin
    /// delay): a year. Longer is a misconfiguration, and it keeps every deadline far inside uint64.
    uint256 private constant _MAX_PERIOD = 365 days;

    /// @dev Three packed slots of numbers, one for the slash period and the promise horizon (written
    /// only by a slash or a shorter retention), then the endpoint: peer id,
    /// multiaddrs and metadata URI packed into one byte string (see {_packEndpoint}), which costs
    /// one storage slot less than three separate strings for a typical entry.
    struct Entry {
        uint96 stake;
        uint64 registeredAt;
        uint32 retention;
        Status status;
        bool listed;
        uint40 jailedUntil;
        uint96 pricePerQuery;
        uint96 pricePerMessage;
        uint64 withdrawableAt;
        uint96 pendingPricePerQuery;
        uint96 pendingPricePerMessage;
        uint64 priceEffectiveAt;
        uint64 slashPeriodEnd;
        uint96 slashAllowance;
        uint64 promisedUntil;
        bytes endpoint;
    }

    IERC20 private immutable _token;
    uint256 private immutable _minStake;
    uint256 private immutable _unbondingPeriod;
    uint256 private immutable _priceDelay;
    uint256 private immutable _maxSlashBps;
    uint256 private immutable _slashPeriod;
    uint256 private immutable _slashRewardBps;
    address private immutable _disputes;

    address private _treasury;
    address private _pendingTreasury;
    uint64 private _treasuryEffectiveAt;
    mapping(address operator => Entry) private _entries;
    address[] private _operators;
    mapping(bytes32 disputeId => bool) private _slashedDisputes;
    mapping(address operator => address) private _evidenceSigners;
    /// @dev Each signer an operator ever named: when it was named and when it was replaced.
    mapping(address operator => mapping(address signer => SignerTerm)) private _signerTerms;

    struct SignerTerm {
        uint64 since;
        uint64 until;
    }

    /// @param token_ The staking token (SNT).
    /// @param minStake_ The least stake a registration needs (1 .. 2^96 - 1).
    /// @param unbondingPeriod_ Seconds between `requestExit` and `withdrawStake` (1 s .. 365 days).
    /// @param priceDelay_ Seconds before a price increase applies (1 s .. `unbondingPeriod_`).
    /// @param maxSlashBps_ The largest share of a stake slashed per slash period (1 .. 10000).
    /// @param slashPeriod_ Seconds of one slash period (1 s .. 365 days).
    /// @param slashRewardBps_ The share of a slash paid to the disputes contract (0 .. 10000).
    /// @param disputes_ The only address that may slash and jail (never zero or the registry).
    /// @param treasury_ Receives the rest of each slash (not zero, the registry or the token).
    /// @param admin The only holder of DEFAULT_ADMIN_ROLE (schedules treasury changes).
    /// @param adminDelay Seconds an admin transfer and a treasury change wait (1 s .. 365 days).
    constructor(
        IERC20 token_,
        uint256 minStake_,
        uint256 unbondingPeriod_,
        uint256 priceDelay_,
        uint256 maxSlashBps_,
        uint256 slashPeriod_,
        uint256 slashRewardBps_,
        address disputes_,
        address treasury_,
        address admin,
        uint48 adminDelay
    ) AccessControlDefaultAdminRules(adminDelay, admin) {
        if (address(token_) == address(0)) revert MailboxRegistryInvalidParameter("token");
        if (minStake_ == 0 || minStake_ > type(uint96).max) revert MailboxRegistryInvalidParameter("minStake");
        if (unbondingPeriod_ == 0 || unbondingPeriod_ > _MAX_PERIOD) {
            revert MailboxRegistryInvalidParameter("unbondingPeriod");
        }
        // A shorter unbonding would let an operator leave, withdraw and register again at a higher
        // price before an announced increase could have applied.
        if (priceDelay_ == 0 || priceDelay_ > unbondingPeriod_) revert MailboxRegistryInvalidParameter("priceDelay");
        if (maxSlashBps_ == 0 || maxSlashBps_ > _BPS) revert MailboxRegistryInvalidParameter("maxSlashBps");
        if (slashPeriod_ == 0 || slashPeriod_ > _MAX_PERIOD) revert MailboxRegistryInvalidParameter("slashPeriod");
        if (slashRewardBps_ > _BPS) revert MailboxRegistryInvalidParameter("slashRewardBps");
        if (disputes_ == address(0) || disputes_ == address(this)) revert MailboxRegistryInvalidParameter("disputes");
        if (adminDelay == 0 || adminDelay > _MAX_PERIOD) revert MailboxRegistryInvalidParameter("adminDelay");
        _checkTreasury(treasury_, address(token_));
        _token = token_;
        _minStake = minStake_;
        _unbondingPeriod = unbondingPeriod_;
        _priceDelay = priceDelay_;
        _maxSlashBps = maxSlashBps_;
        _slashPeriod = slashPeriod_;
        _slashRewardBps = slashRewardBps_;
        _disputes = disputes_;
        _treasury = treasury_;
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
    function slashPeriod() external view returns (uint256) {
        return _slashPeriod;
    }

    /// @inheritdoc IMailboxRegistry
    function slashRewardBps() external view returns (uint256) {
        return _slashRewardBps;
    }

    /// @inheritdoc IMailboxRegistry
    function disputes() external view returns (address) {
        return _disputes;
    }

    /// @inheritdoc IMailboxRegistry
    function treasury() public view returns (address) {
        uint256 effectiveAt = _treasuryEffectiveAt;
        if (effectiveAt != 0 && block.timestamp >= effectiveAt) return _pendingTreasury;
        return _treasury;
    }

    /// @inheritdoc IMailboxRegistry
    function pendingTreasury() external view returns (address treasury_, uint256 effectiveAt) {
        effectiveAt = _treasuryEffectiveAt;
        if (effectiveAt == 0 || block.timestamp >= effectiveAt) return (address(0), 0);
        return (_pendingTreasury, effectiveAt);
    }

    /// @inheritdoc IMailboxRegistry
    function slashable(address operator) public view returns (uint256) {
        Entry storage e = _entries[operator];
        if (e.status == Status.None) return 0;
        if (block.timestamp >= e.slashPeriodEnd) return (uint256(e.stake) * _maxSlashBps) / _BPS;
        return e.slashAllowance;
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
                uint256 declared,
                uint256 pricePerQuery,
                uint256 pricePerMessage,
                uint256 retention
            ) = abi.decode(data[4:], (string, string[], string, uint256, uint256, uint256, uint256));
            // The approved amount is what moves; a declared amount, if any, must agree with it.
            if (declared != 0 && declared != amount) revert MailboxRegistryDeclaredAmountMismatch(declared, amount);
            _register(from, peerId, multiaddrs, metadataURI, amount, pricePerQuery, pricePerMessage, retention);
        } else if (selector == this.addStake.selector) {
            (address operator, uint256 declared) = abi.decode(data[4:], (address, uint256));
            if (declared != 0 && declared != amount) revert MailboxRegistryDeclaredAmountMismatch(declared, amount);
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
            effectiveAt = SafeCast.toUint64(block.timestamp + _priceDelay);
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
        bytes memory packed = _packEndpoint(peerId, multiaddrs, metadataURI);
        (string memory oldPeerId, , ) = _unpackEndpoint(e.endpoint);
        e.endpoint = packed;
        emit EndpointUpdated(msg.sender, oldPeerId, peerId, multiaddrs, metadataURI);
    }

    /// @inheritdoc IMailboxRegistry
    function setRetention(uint256 retention) external {
        Entry storage e = _entries[msg.sender];
        if (e.status == Status.None) revert MailboxRegistryInvalidStatus(msg.sender, e.status);
        if (retention > type(uint32).max) revert MailboxRegistryAmountTooLarge(retention);
        uint256 old = e.retention;
        // Receipts made until now promise up to `old` from now: a shorter retention must not
        // shorten the exit that covers them (see {requestExit}).
        if (retention < old) {
            uint64 horizon = SafeCast.toUint64(block.timestamp + old);
            if (horizon > e.promisedUntil) e.promisedUntil = horizon;
        }
        e.retention = uint32(retention);
        emit RetentionUpdated(msg.sender, old, retention);
    }

    /// @inheritdoc IMailboxRegistry
    function requestExit() external {
        Entry storage e = _entries[msg.sender];
        if (e.status != Status.Active && e.status != Status.Jailed) {
            revert MailboxRegistryInvalidStatus(msg.sender, e.status);
        }
        // The stake stays until every promise made so far can have been disputed and the dispute
        // finalised: a receipt promises at most `retention` from when it was made (or what an
        // earlier, longer retention promised), a dispute opens before that and is answerable for
        // the disputes contract's response window, which is shorter than `unbondingPeriod`.
        uint256 horizon = block.timestamp + e.retention;
        if (e.promisedUntil > horizon) horizon = e.promisedUntil;
        uint64 withdrawableAt = SafeCast.toUint64(horizon + _unbondingPeriod);
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
        e.slashPeriodEnd = 0;
        e.slashAllowance = 0;
        e.promisedUntil = 0;
        delete e.endpoint;
        emit StakeWithdrawn(msg.sender, amount);
        if (amount != 0) _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IMailboxRegistry
    function setEvidenceSigner(address signer) external {
        Entry storage e = _entries[msg.sender];
        if (e.status == Status.None) revert MailboxRegistryInvalidStatus(msg.sender, e.status);
        // A signer is named once per operator, so a retired key's term never reopens.
        if (signer == address(0) || _signerTerms[msg.sender][signer].since != 0) {
            revert MailboxRegistryInvalidEvidenceSigner(signer);
        }
        address previous = _evidenceSigners[msg.sender];
        uint64 now_ = uint64(block.timestamp);
        if (previous != address(0)) _signerTerms[msg.sender][previous].until = now_;
        _signerTerms[msg.sender][signer] = SignerTerm({since: now_, until: type(uint64).max});
        _evidenceSigners[msg.sender] = signer;
        emit EvidenceSignerSet(msg.sender, previous, signer);
    }

    /// @inheritdoc IMailboxRegistry
    function evidenceSigner(address operator) external view returns (address) {
        return _evidenceSigners[operator];
    }

    /// @inheritdoc IMailboxRegistry
    function evidenceSignerTerm(address operator, address signer) external view returns (uint256 since, uint256 until) {
        SignerTerm storage t = _signerTerms[operator][signer];
        return (t.since, t.until);
    }

    /// @inheritdoc IMailboxRegistry
    function evidenceCheck(
        address operator,
        address signer
    ) external view returns (Status status, uint256 since, uint256 until) {
        SignerTerm storage t = _signerTerms[operator][signer];
        return (_entries[operator].status, t.since, t.until);
    }

    /// @inheritdoc IMailboxRegistry
    function slashState(address operator) external view returns (Status status, uint256 stake, uint256 slashableNow) {
        Entry storage e = _entries[operator];
        return (e.status, e.stake, slashable(operator));
    }

    /// @inheritdoc IMailboxRegistry
    function unjail() external {
        Entry storage e = _entries[msg.sender];
        if (e.status != Status.Jailed) revert MailboxRegistryInvalidStatus(msg.sender, e.status);
        if (block.timestamp < e.jailedUntil) revert MailboxRegistryStillJailed(msg.sender, e.jailedUntil);
        if (e.stake < _minStake) revert MailboxRegistryStakeTooLow(e.stake, _minStake);
        e.status = Status.Active;
        emit Unjailed(msg.sender);
    }

    // ---------------------------------------------------------------------------------------------
    // Disputes and admin
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IMailboxRegistry
    function slash(address operator, uint256 amount, bytes32 disputeId) external nonReentrant {
        if (msg.sender != _disputes) revert MailboxRegistryNotDisputes(msg.sender);
        Entry storage e = _entries[operator];
        Status status = e.status;
        if (status == Status.None) revert MailboxRegistryInvalidStatus(operator, status);
        if (amount == 0) revert MailboxRegistryZeroAmount();
        if (_slashedDisputes[disputeId]) revert MailboxRegistryDisputeAlreadySlashed(disputeId);
        uint256 stake = e.stake;
        // A period opens at the first slash after the last one ended and allows maxSlashBps of the
        // stake as it is then, however many calls share it.
        uint256 allowance;
        if (block.timestamp >= e.slashPeriodEnd) {
            allowance = (stake * _maxSlashBps) / _BPS;
            e.slashPeriodEnd = SafeCast.toUint64(block.timestamp + _slashPeriod);
        } else {
            allowance = e.slashAllowance;
        }
        if (amount > allowance) revert MailboxRegistrySlashTooLarge(operator, amount, allowance);
        // amount <= allowance <= the stake when the period opened; only slashes lowered it since,
        // and they consumed the same allowance, so amount <= stake.
        unchecked {
            allowance -= amount;
            stake -= amount;
        }
        e.slashAllowance = uint96(allowance);
        e.stake = uint96(stake);
        _slashedDisputes[disputeId] = true;
        uint256 reward = (amount * _slashRewardBps) / _BPS;
        uint256 toTreasury = amount - reward;
        address treasury_ = treasury();
        emit Slashed(operator, disputeId, amount, reward, toTreasury, stake);
        if (status == Status.Active && stake < _minStake) {
            e.status = Status.Jailed;
            emit Jailed(operator, Status.Active, e.jailedUntil);
        }
        if (reward != 0) _token.safeTransfer(msg.sender, reward);
        if (toTreasury != 0) _token.safeTransfer(treasury_, toTreasury);
    }

    /// @inheritdoc IMailboxRegistry
    function jail(address operator, uint256 until) external {
        if (msg.sender != _disputes) revert MailboxRegistryNotDisputes(msg.sender);
        Entry storage e = _entries[operator];
        Status previous = e.status;
        if (previous == Status.None) revert MailboxRegistryInvalidStatus(operator, previous);
        uint256 latest = block.timestamp + _unbondingPeriod;
        if (until <= block.timestamp || until > latest) revert MailboxRegistryInvalidJailTerm(until, latest);
        uint40 jailedUntil = e.jailedUntil;
        if (until > jailedUntil) jailedUntil = SafeCast.toUint40(until);
        e.jailedUntil = jailedUntil;
        if (previous == Status.Active) e.status = Status.Jailed;
        emit Jailed(operator, previous, jailedUntil);
    }

    /// @inheritdoc IMailboxRegistry
    function scheduleTreasury(address newTreasury) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkTreasury(newTreasury, address(_token));
        address current = treasury();
        uint64 effectiveAt = SafeCast.toUint64(block.timestamp + defaultAdminDelay());
        _treasury = current;
        _pendingTreasury = newTreasury;
        _treasuryEffectiveAt = effectiveAt;
        emit TreasuryScheduled(current, newTreasury, effectiveAt);
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
        (m.peerId, m.multiaddrs, m.metadataURI) = _unpackEndpoint(e.endpoint);
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
        m.jailedUntil = e.jailedUntil;
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
        if (block.timestamp < e.jailedUntil) revert MailboxRegistryStillJailed(operator, e.jailedUntil);
        bytes memory packed = _packEndpoint(peerId, multiaddrs, metadataURI);
        if (retention > type(uint32).max) revert MailboxRegistryAmountTooLarge(retention);
        uint96 query = _toUint96(pricePerQuery);
        uint96 message = _toUint96(pricePerMessage);
        if (stake < _minStake) revert MailboxRegistryStakeTooLow(stake, _minStake);
        uint96 declared = _toUint96(stake);

        e.stake = declared;
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
        e.endpoint = packed;
        if (!e.listed) {
            e.listed = true;
            _operators.push(operator);
        }

        uint96 credited = _pull(operator, stake);
        if (credited != declared) {
            if (credited < _minStake) revert MailboxRegistryStakeTooLow(credited, _minStake);
            e.stake = credited;
        }
        emit MailboxRegistered(operator, peerId, multiaddrs, metadataURI, credited, query, message, retention);
    }

    function _addStake(address from, address operator, uint256 amount) private {
        Entry storage e = _entries[operator];
        if (e.status != Status.Active && e.status != Status.Jailed) {
            revert MailboxRegistryInvalidStatus(operator, e.status);
        }
        if (amount == 0) revert MailboxRegistryZeroAmount();
        uint256 before = e.stake;
        e.stake = _toUint96(before + amount);
        uint96 credited = _pull(from, amount);
        uint256 stake = before + credited;
        if (credited != amount) e.stake = _toUint96(stake);
        emit StakeAdded(operator, from, credited, stake);
    }

    /// @dev Pulls `amount` from `from`; returns the measured balance change (fee-on-transfer safe).
    function _pull(address from, uint256 amount) private returns (uint96) {
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

    function _checkTreasury(address treasury_, address token_) private view {
        if (treasury_ == address(0) || treasury_ == address(this) || treasury_ == token_) {
            revert MailboxRegistryInvalidTreasury(treasury_);
        }
    }

    /// @dev Checks the endpoint's limits and packs it as
    /// `[peer id length: 1 byte][peer id][multiaddr count: 1 byte]` then, per multiaddr,
    /// `[length - 1: 1 byte][multiaddr]`, then the metadata URI to the end.
    function _packEndpoint(
        string memory peerId,
        string[] memory multiaddrs,
        string memory metadataURI
    ) private pure returns (bytes memory packed) {
        uint256 peerIdLength = bytes(peerId).length;
        if (peerIdLength == 0) revert MailboxRegistryInvalidEndpoint();
        if (peerIdLength > MAX_PEER_ID_BYTES) {
            revert MailboxRegistryStringTooLong("peerId", peerIdLength, MAX_PEER_ID_BYTES);
        }
        uint256 count = multiaddrs.length;
        if (count == 0 || count > MAX_MULTIADDRS) revert MailboxRegistryInvalidEndpoint();
        uint256 total = 2 + peerIdLength;
        for (uint256 i = 0; i < count; ++i) {
            uint256 length = bytes(multiaddrs[i]).length;
            if (length == 0) revert MailboxRegistryInvalidEndpoint();
            if (length > MAX_MULTIADDR_BYTES) {
                revert MailboxRegistryStringTooLong("multiaddr", length, MAX_MULTIADDR_BYTES);
            }
            total += 1 + length;
        }
        uint256 metadataLength = bytes(metadataURI).length;
        if (metadataLength > MAX_METADATA_URI_BYTES) {
            revert MailboxRegistryStringTooLong("metadataURI", metadataLength, MAX_METADATA_URI_BYTES);
        }
        packed = new bytes(total + metadataLength);
        uint256 pos = 0;
        pos = _put(packed, pos, peerIdLength, bytes(peerId));
        pos = _put(packed, pos, count, "");
        for (uint256 i = 0; i < count; ++i) {
            bytes memory a = bytes(multiaddrs[i]);
            pos = _put(packed, pos, a.length - 1, a);
        }
        assembly ("memory-safe") {
            mcopy(add(add(packed, 0x20), pos), add(metadataURI, 0x20), metadataLength)
        }
    }

    /// @dev Writes the byte `prefix` then `data` into `packed` at `pos`; returns the next position.
    function _put(bytes memory packed, uint256 pos, uint256 prefix, bytes memory data) private pure returns (uint256) {
        uint256 length = data.length;
        assembly ("memory-safe") {
            let out := add(add(packed, 0x20), pos)
            mstore8(out, prefix)
            mcopy(add(out, 1), add(data, 0x20), length)
        }
        return pos + 1 + length;
    }

    /// @dev The inverse of {_packEndpoint}; empty values for an empty (withdrawn) endpoint.
    function _unpackEndpoint(
        bytes memory packed
    ) private pure returns (string memory peerId, string[] memory multiaddrs, string memory metadataURI) {
        if (packed.length == 0) return ("", new string[](0), "");
        uint256 length = uint8(packed[0]);
        peerId = string(_slice(packed, 1, length));
        uint256 pos = 1 + length;
        uint256 count = uint8(packed[pos]);
        ++pos;
        multiaddrs = new string[](count);
        for (uint256 i = 0; i < count; ++i) {
            length = uint256(uint8(packed[pos])) + 1;
            multiaddrs[i] = string(_slice(packed, pos + 1, length));
            pos += 1 + length;
        }
        metadataURI = string(_slice(packed, pos, packed.length - pos));
    }

    function _slice(bytes memory data, uint256 start, uint256 length) private pure returns (bytes memory out) {
        out = new bytes(length);
        assembly ("memory-safe") {
            mcopy(add(out, 0x20), add(add(data, 0x20), start), length)
        }
    }

    function _toUint96(uint256 value) private pure returns (uint96) {
        if (value > type(uint96).max) revert MailboxRegistryAmountTooLarge(value);
        return uint96(value);
    }
}
