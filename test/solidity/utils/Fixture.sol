// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {MailboxRegistry} from "../../../contracts/MailboxRegistry.sol";
import {PaymentChannels} from "../../../contracts/PaymentChannels.sol";
import {SNT} from "../../../contracts/SNT.sol";
import {TestBase} from "./Vm.sol";

/// @notice Shared fixture: SNT, the registry and the channels with short local parameters, and
/// funded actors.
abstract contract Fixture is TestBase {
    uint256 internal constant CLOSE_GRACE = 1 days;
    uint256 internal constant MIN_STAKE = 1_000 ether;
    uint256 internal constant UNBONDING = 7 days;
    uint256 internal constant PRICE_DELAY = 1 days;
    uint256 internal constant MAX_SLASH_BPS = 1_000; // 10% per slash
    uint256 internal constant BENEFICIARY_BPS = 5_000;

    uint256 internal constant PAYER_KEY = 0xA11CE;
    uint256 internal constant SESSION_KEY = 0x5E55;
    uint256 internal constant OTHER_KEY = 0xBAD;

    SNT internal snt;
    PaymentChannels internal channels;
    MailboxRegistry internal registry;

    address internal payer;
    address internal session;
    address internal payee = address(0xB0B);
    address internal operator = address(0x0FE);
    address internal stranger = address(0x5757);
    address internal admin = address(0xAD);
    address internal slasher = address(0x51A5);
    address internal jailer = address(0x1A11);
    address internal beneficiary = address(0xBE1E);
    address internal treasury = address(0x7EA5);

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        payer = vm.addr(PAYER_KEY);
        session = vm.addr(SESSION_KEY);
        snt = new SNT(address(this), 0);
        channels = new PaymentChannels(IERC20(address(snt)), CLOSE_GRACE);
        registry = registryOn(IERC20(address(snt)));
        vm.startPrank(admin);
        registry.grantRole(registry.SLASHER_ROLE(), slasher);
        registry.grantRole(registry.JAILER_ROLE(), jailer);
        vm.stopPrank();
        snt.mint(payer, 1_000_000 ether);
        snt.mint(operator, 1_000_000 ether);
        snt.mint(stranger, 1_000_000 ether);
    }

    /// @dev A registry with the fixture's parameters, staking `token` (a quirky token in some tests).
    function registryOn(IERC20 token) internal returns (MailboxRegistry) {
        return
            new MailboxRegistry(
                token,
                MIN_STAKE,
                UNBONDING,
                PRICE_DELAY,
                MAX_SLASH_BPS,
                BENEFICIARY_BPS,
                admin,
                beneficiary,
                treasury
            );
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
