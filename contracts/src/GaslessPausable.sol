// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";

/// @title GaslessPausable
/// @notice What the player-facing contracts (Marketplace, Auction, Crafting) share: an ERC-2771
/// trusted forwarder for gasless players, roles, a pauser role that pauses (the guardian, for
/// emergencies, and the timelock) while only the admin (the timelock) unpauses, a reentrancy
/// guard, and the ERC-2981 royalty lookup.
abstract contract GaslessPausable is ERC2771Context, AccessControl, Pausable, ReentrancyGuard {
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @param admin The admin (the DAO timelock in production).
    /// @param forwarder The trusted ERC-2771 forwarder.
    constructor(address admin, address forwarder) ERC2771Context(forwarder) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Stops the contract's player actions (exits such as cancelling stay open).
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resumes the contract's player actions (the admin only: a guardian can stop, never
    /// restart).
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    /// @dev The ERC-2981 royalty of `id` on `price`, capped at `cap`; nothing if the token contract
    /// does not implement ERC-2981 or names no receiver.
    function _royalty(address token, uint256 id, uint256 price, uint256 cap) internal view returns (address, uint256) {
        try IERC2981(token).royaltyInfo(id, price) returns (address to, uint256 amount) {
            if (to == address(0)) return (address(0), 0);
            return (to, amount > cap ? cap : amount);
        } catch {
            return (address(0), 0);
        }
    }

    function _msgSender() internal view override(Context, ERC2771Context) returns (address) {
        return ERC2771Context._msgSender();
    }

    function _msgData() internal view override(Context, ERC2771Context) returns (bytes calldata) {
        return ERC2771Context._msgData();
    }

    function _contextSuffixLength() internal view override(Context, ERC2771Context) returns (uint256) {
        return ERC2771Context._contextSuffixLength();
    }
}
