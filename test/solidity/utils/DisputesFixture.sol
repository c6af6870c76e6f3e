// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Disputes} from "../../../contracts/Disputes.sol";
import {IDisputes} from "../../../contracts/interfaces/IDisputes.sol";
import {MailboxRegistry} from "../../../contracts/MailboxRegistry.sol";
import {Fixture} from "./Fixture.sol";

/// @notice Deploys a registry and its disputes contract the way a real deployment does: the
/// registry first, naming the address the disputes contract will get (this contract's nonce 2:
/// a contract's first CREATE uses nonce 1), then the disputes contract.
contract DisputesDeployment {
    MailboxRegistry public immutable registry;
    Disputes public immutable disputes;

    constructor(Fixture.RegistryParams memory p, uint256 bond, uint256 window, uint256 slashBps, uint256 jailTerm) {
        address predicted = address(uint160(uint256(keccak256(abi.encodePacked(hex"d694", address(this), hex"02")))));
        registry = new MailboxRegistry(
            p.token,
            p.minStake,
            p.unbondingPeriod,
            p.priceDelay,
            p.maxSlashBps,
            p.slashPeriod,
            p.rewardBps,
            predicted,
            p.treasury,
            p.admin,
            p.adminDelay
        );
        disputes = new Disputes(registry, bond, window, slashBps, jailTerm);
    }
}

/// @notice The fixture with the real disputes contract: the registry (`registry`) slashes only
/// through `dc`; the operator has an evidence signer; helpers sign receipts and commitments.
abstract contract DisputesFixture is Fixture {
    uint256 internal constant BOND = 100 ether;
    uint256 internal constant WINDOW = 1 days;
    uint256 internal constant SLASH_BPS = 500; // 5% per upheld dispute
    uint256 internal constant JAIL = 3 days;
    uint256 internal constant STAKE = 10_000 ether;

    uint256 internal constant EVIDENCE_KEY = 0xE71DE;
    uint256 internal constant OTHER_EVIDENCE_KEY = 0x07E5;

    string internal constant TOPIC = "/postbox/1/room-abc/proto";

    Disputes internal dc;
    address internal evidenceSigner;
    address internal challenger = address(0xC4A1);
    address internal operator2 = address(0x0F2);

    function setUp() public virtual override {
        super.setUp();
        DisputesDeployment d = new DisputesDeployment(params(IERC20(address(snt))), BOND, WINDOW, SLASH_BPS, JAIL);
        registry = d.registry();
        dc = d.disputes();
        evidenceSigner = vm.addr(EVIDENCE_KEY);
        registerOperator(STAKE);
        vm.prank(operator);
        registry.setEvidenceSigner(evidenceSigner);
        snt.mint(challenger, 1_000_000 ether);
        vm.prank(challenger);
        snt.approve(address(dc), type(uint256).max);
    }

    function ms(uint256 s) internal pure returns (uint64) {
        return uint64(s * 1000);
    }

    function envelope(bytes memory payload, uint64 timestamp) internal pure returns (IDisputes.Envelope memory e) {
        e = IDisputes.Envelope({version: 1, contentTopic: TOPIC, timestamp: timestamp, payload: payload});
    }

    /// @dev A receipt for `e` by `op`, stored at T0 and kept for RETENTION.
    function receiptFor(address op, IDisputes.Envelope memory e) internal view returns (IDisputes.Receipt memory) {
        return
            IDisputes.Receipt({
                operator: op,
                envelopeId: dc.envelopeId(e),
                contentTopic: e.contentTopic,
                timestamp: e.timestamp,
                storedAt: ms(T0),
                retainUntil: ms(T0 + RETENTION)
            });
    }

    function signDigest(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function signReceipt(uint256 key, IDisputes.Receipt memory r) internal view returns (bytes memory) {
        return signDigest(key, dc.receiptDigest(r));
    }

    function signCommitment(uint256 key, IDisputes.PageCommitment memory c) internal view returns (bytes memory) {
        return signDigest(key, dc.commitmentDigest(c));
    }

    function signPresence(uint256 key, IDisputes.Presence memory p) internal view returns (bytes memory) {
        return signDigest(key, dc.presenceDigest(p));
    }

    /// @dev `op`'s presence answer listing `e`'s id alone, served at `servedAt` and kept for RETENTION
    /// from T0 (as the receipt of {receiptFor}).
    function presenceFor(
        address op,
        IDisputes.Envelope memory e,
        uint64 servedAt
    ) internal view returns (IDisputes.Presence memory p) {
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = dc.envelopeId(e);
        p = IDisputes.Presence({operator: op, ids: ids, servedAt: servedAt, retainUntil: ms(T0 + RETENTION)});
    }

    /// @dev A complete page over [T0 - 1 h, T0 + 1 h] on TOPIC, served at T0 + 10 min, listing `ids`.
    function commitment(bytes32[] memory ids) internal view returns (IDisputes.PageCommitment memory c) {
        string[] memory topics = new string[](2);
        topics[0] = "/postbox/1/inbox-7/proto";
        topics[1] = TOPIC;
        c = IDisputes.PageCommitment({
            operator: operator,
            contentTopics: topics,
            timeStart: ms(T0 - 1 hours),
            timeEnd: ms(T0 + 1 hours),
            ids: ids,
            nextCursor: bytes32(0),
            servedAt: ms(T0 + 10 minutes)
        });
    }

    function ids2(bytes32 a, bytes32 b) internal pure returns (bytes32[] memory out) {
        out = new bytes32[](2);
        out[0] = a;
        out[1] = b;
    }

    /// @dev The challenger opens a custody dispute on `e`'s receipt signed with the evidence key.
    function openCustody(IDisputes.Envelope memory e) internal returns (bytes32 id) {
        IDisputes.Receipt memory r = receiptFor(operator, e);
        bytes memory sig = signReceipt(EVIDENCE_KEY, r);
        vm.prank(challenger);
        id = dc.disputeCustody(r, sig);
    }

    function stakeOf(address op) internal view returns (uint256) {
        return registry.getMailbox(op).stake;
    }
}
