// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IApproveAndCallReceiver
/// @notice MiniMe's `approveAndCall` callback (SNT is a MiniMe token).
interface IApproveAndCallReceiver {
    /// @notice Called by `token` right after `from` approved `amount` to this contract.
    function receiveApproval(address from, uint256 amount, address token, bytes calldata data) external;
}
