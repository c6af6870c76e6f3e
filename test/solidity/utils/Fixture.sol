// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IMailboxRegistry} from "../../../contracts/interfaces/IMailboxRegistry.sol";
import {MailboxRegistry} from "../../../contracts/MailboxRegistry.sol";
import {PaymentChannels} from "../../../contracts/PaymentChannels.sol";
import {SNT} from "../../../contracts/SNT.sol";
import {DisputesStandIn} from "../../../contracts/test/DisputesStandIn.sol";
import {TestBase} from "./Vm.sol";

/// @notice Shared fixture: SNT, the registry and the channels with short local parameters, a
/// stand-in for the disputes contract that the test owns, and funded actors.
abstract contract Fixture is TestBase {
    /// The time every test starts at. Tests that warp compute times from it: with the IR pipeline
    /// the compiler may read block.timestamp again where a local copy of it is used.
    uint256 internal constant T0 = 1_700_000_000;
    uint256 internal constant CLOSE_GRACE = 1 days;
    uint256 internal constant MIN_STAKE = 1_000 ether;
    uint256 internal constant UNBONDING = 7 days;
    uint256 internal constant PRICE_DELAY = 1 days;
    uint256 internal constant MAX_SLASH_BPS = 1_000; // 10% per slash period
    uint256 internal constant SLASH_PERIOD = 7 days;
    uint256 internal constant REWARD_BPS = 5_000;
    uint48 internal constant ADMIN_DELAY = 2 days;

    string internal constant PEER_ID = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo";
    uint256 internal constant PQ = 0.01 ether;
    uint256 internal constant PM = 0.0001 ether;
    uint256 internal constant RETENTION = 30 days;
    /// How long the fixture's operators take to leave: their last receipt's promise (the retention
    /// from the exit), then the unbonding period.
    uint256 internal constant EXIT = RETENTION + UNBONDING;

    uint256 internal constant PAYER_KEY = 0xA11CE;
    uint256 internal constant SESSION_KEY = 0x5E55;
    uint256 internal constant OTHER_KEY = 0xBAD;

    SNT internal snt;
    PaymentChannels internal channels;
    MailboxRegistry internal registry;
    /// The registry's `disputes`: only it can slash and jail; the test decides what is upheld.
    DisputesStandIn internal disputes;

    address internal payer;
    address internal session;
    address internal payee = address(0xB0B);
    address internal operator = address(0x0FE);
    address internal stranger = address(0x5757);
    address internal admin = address(0xAD);
    address internal treasury = address(0x7EA5);

    /// @dev A registry's constructor arguments, so that tests can vary one.
    struct RegistryParams {
        IERC20 token;
        uint256 minStake;
        uint256 unbondingPeriod;
        uint256 priceDelay;
        uint256 maxSlashBps;
        uint256 slashPeriod;
        uint256 rewardBps;
        address disputes;
        address treasury;
        address admin;
        uint48 adminDelay;
    }

    function setUp() public virtual {
        vm.warp(T0);
        payer = vm.addr(PAYER_KEY);
        session = vm.addr(SESSION_KEY);
        snt = new SNT(address(this), 0);
        channels = new PaymentChannels(IERC20(address(snt)), CLOSE_GRACE);
        disputes = new DisputesStandIn();
        registry = registryOn(IERC20(address(snt)));
        snt.mint(payer, 1_000_000 ether);
        snt.mint(operator, 1_000_000 ether);
        snt.mint(stranger, 1_000_000 ether);
    }

    /// @dev The fixture's registry parameters, staking `token`.
    function params(IERC20 token) internal view returns (RegistryParams memory) {
        return
            RegistryParams({
                token: token,
                minStake: MIN_STAKE,
                unbondingPeriod: UNBONDING,
                priceDelay: PRICE_DELAY,
                maxSlashBps: MAX_SLASH_BPS,
                slashPeriod: SLASH_PERIOD,
                rewardBps: REWARD_BPS,
                disputes: address(disputes),
                treasury: treasury,
                admin: admin,
                adminDelay: ADMIN_DELAY
            });
    }

    function newRegistry(RegistryParams memory p) internal returns (MailboxRegistry) {
        return
            new MailboxRegistry(
                p.token,
                p.minStake,
                p.unbondingPeriod,
                p.priceDelay,
                p.maxSlashBps,
                p.slashPeriod,
                p.rewardBps,
                p.disputes,
                p.treasury,
                p.admin,
                p.adminDelay
            );
    }

    /// @dev A registry with the fixture's parameters, staking `token` (a quirky token in some tests).
    function registryOn(IERC20 token) internal returns (MailboxRegistry) {
        return newRegistry(params(token));
    }

    function addrs() internal pure returns (string[] memory a) {
        a = new string[](2);
        a[0] = "/ip4/127.0.0.1/tcp/60001";
        a[1] = "/ip4/127.0.0.1/tcp/60002/ws";
    }

    /// @dev `operator` registers in the fixture's registry with `stake` and the fixture's endpoint.
    function registerOperator(uint256 stake) internal {
        vm.startPrank(operator);
        snt.approve(address(registry), stake);
        registry.register(PEER_ID, addrs(), "ipfs://meta", stake, PQ, PM, RETENTION);
        vm.stopPrank();
    }

    /// @dev The disputes contract slashes (what an upheld dispute does).
    function slashByDisputes(address op, uint256 amount, bytes32 disputeId) internal {
        disputes.slash(IMailboxRegistry(address(registry)), op, amount, disputeId);
    }

    /// @dev The disputes contract jails `op` until `until`.
    function jailByDisputes(address op, uint256 until) internal {
        disputes.jail(IMailboxRegistry(address(registry)), op, until);
    }

    /// @dev `who` points the registry's slash payout (the treasury) at `to`.
    function setPayoutAs(address who, address to) internal {
        vm.prank(who);
        registry.scheduleTreasury(to);
    }

    /// @dev The address that received the non-reward part of slashes: where a payout points now.
    function payoutNow() internal view returns (address) {
        return registry.treasury();
    }

    function sign(uint256 key, bytes32 id, uint256 cumulative) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, channels.voucherDigest(id, cumulative));
        return abi.encodePacked(r, s, v);
    }

    function openChannel(uint256 amount, bytes32 salt) internal returns (bytes32 id) {
        vm.startPrank(payer);
        snt.approve(address(channels), amount);
        id = channels.open(payee, session, amount, salt);
        vm.stopPrank();
    }
}
