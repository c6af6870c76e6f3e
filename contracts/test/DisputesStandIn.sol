// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMailboxRegistry} from "../interfaces/IMailboxRegistry.sol";

/// @title DisputesStandIn (tests only)
/// @notice Stands in for the disputes contract until it exists: the registry is built with this
/// contract's address as `disputes`, and its owner (the test) decides what is "upheld". Slash rewards
/// it receives stay here, where a test can read them.
contract DisputesStandIn {
    address public immutable owner;

    error DisputesStandInNotOwner(address caller);

    constructor() {
        owner = msg.sender;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert DisputesStandInNotOwner(msg.sender);
        _;
    }

    /// @notice Slashes `operator` in `registry` for the dispute `disputeId`.
    function slash(IMailboxRegistry registry, address operator, uint256 amount, bytes32 disputeId) external onlyOwner {
        registry.slash(operator, amount, disputeId);
    }

    /// @notice Jails `operator` in `registry` until `until`.
    function jail(IMailboxRegistry registry, address operator, uint256 until) external onlyOwner {
        registry.jail(operator, until);
    }
}
