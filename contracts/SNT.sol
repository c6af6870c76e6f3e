// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IApproveAndCallReceiver} from "./interfaces/IApproveAndCallReceiver.sol";

/// @title SNT (local test token)
/// @notice A stand-in for the Status Network Token on local chains only: 18 decimals, MiniMe's
/// `approveAndCall`, and MiniMe's rule that a non-zero allowance cannot change to another
/// non-zero value (set it to zero first). The owner mints, to fund devnet accounts.
/// @dev Never deploy this on a real network: the real SNT is a MiniMe token whose controller can
/// move or freeze balances, and which has no permit.
contract SNT is ERC20, Ownable {
    /// @notice An allowance can only go from zero to non-zero or from non-zero to zero.
    error SNTAllowanceMustBeZeroFirst(address owner, address spender, uint256 current, uint256 requested);

    constructor(address owner_, uint256 initialSupply) ERC20("Status Network Token", "SNT") Ownable(owner_) {
        _mint(owner_, initialSupply);
    }

    /// @notice Mints `amount` to `to`. Requirements: owner.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice MiniMe `approve`: reverts when changing one non-zero allowance to another.
    function approve(address spender, uint256 amount) public override returns (bool) {
        uint256 current = allowance(msg.sender, spender);
        if (amount != 0 && current != 0) {
            revert SNTAllowanceMustBeZeroFirst(msg.sender, spender, current, amount);
        }
        return super.approve(spender, amount);
    }

    /// @notice Approves `spender` and calls its `receiveApproval` in the same transaction.
    function approveAndCall(address spender, uint256 amount, bytes calldata data) external returns (bool) {
        approve(spender, amount);
        IApproveAndCallReceiver(spender).receiveApproval(msg.sender, amount, address(this), data);
        return true;
    }
}
