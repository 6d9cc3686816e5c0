// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title CYTR
/// @notice Cyteria's currency: ERC-20 with EIP-2612 permits, ERC20Votes for the DAO, a capped
/// supply, and a minter role for rewards. Votes are checkpointed by timestamp (ERC-6372
/// `mode=timestamp`): governance periods are days, whatever the chain's block time.
contract CYTR is ERC20, ERC20Permit, ERC20Votes, ERC20Capped, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @param admin Holder of the admin role (the DAO timelock in production).
    /// @param cap_ The most CYTR that can ever exist.
    constructor(address admin, uint256 cap_) ERC20("Cyteria", "CYTR") ERC20Permit("Cyteria") ERC20Capped(cap_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Mints `amount` to `to` (rewards, the initial distribution); never past the cap.
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    /// @notice Burns `amount` of the caller's CYTR.
    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes, ERC20Capped) {
        super._update(from, to, value);
    }

    /// @notice The votes' clock: seconds, not blocks.
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    /// @notice ERC-6372: the clock is the block's timestamp.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @inheritdoc ERC20Permit
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}
