// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title PlayerBond
/// @notice The CYTR a player locks so that its wallet may receive the items its matches drop.
/// Validators mint drops only to wallets that are bonded at a batch's reference block; a
/// player's equivocation (two signed inputs for one frame, two end records), proven to the
/// validators, is slashed through a settled batch: the Settlement contract, named once at
/// deployment, is the only slasher, so no governance vote can take a bond. A bond is refunded
/// after a cooldown of at least a day (far longer than evidence takes to settle: validators
/// accept it only for recent beacons and settle it in the next batch); while it cools down it
/// earns nothing and can still be slashed, so evidence that arrives late still costs the cheater.
contract PlayerBond is AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice The cooldown's bounds: long enough for evidence to settle, no longer than the
    /// DAO's timelock.
    uint64 public constant MIN_COOLDOWN = 1 days;
    uint64 public constant MAX_COOLDOWN = 7 days;

    /// @notice The settlement contract, the one slasher (set once).
    address public settlement;

    IERC20 public immutable token;
    /// @notice The least bond that counts (set by governance).
    uint256 public minBond;
    /// @notice How long an unbonding bond stays locked (and slashable).
    uint64 public cooldown;
    /// @notice Where slashed bonds go (the DAO treasury).
    address public treasury;

    mapping(address player => uint256 amount) public bondOf;
    /// @notice When the player's bond may be withdrawn; 0 while it is not unbonding.
    mapping(address player => uint64 time) public unlockAt;

    error PlayerBondZeroAmount();
    error PlayerBondUnbonding(uint64 unlockAt);
    error PlayerBondNotUnbonding();
    error PlayerBondCooldownActive(uint64 unlockAt);
    error PlayerBondNothingBonded();
    error PlayerBondNotSettlement(address caller);
    error PlayerBondSettlementSet();
    error PlayerBondBadParameters(uint256 minBond, uint64 cooldown, address treasury);

    event Bonded(address indexed player, uint256 amount, uint256 total);
    event UnbondRequested(address indexed player, uint256 amount, uint64 unlockAt);
    event Withdrawn(address indexed player, uint256 amount);
    event Slashed(address indexed player, uint256 amount, bytes32 indexed evidence);
    event ParametersSet(uint256 minBond, uint64 cooldown, address treasury);
    event SettlementSet(address settlement);

    /// @param admin The admin (the DAO timelock in production).
    constructor(IERC20 token_, address admin, uint256 minBond_, uint64 cooldown_, address treasury_) {
        token = token_;
        _checkParameters(minBond_, cooldown_, treasury_);
        minBond = minBond_;
        cooldown = cooldown_;
        treasury = treasury_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Names the settlement contract, once (the deployment, before it hands the admin
    /// role to the timelock).
    function setSettlement(address settlement_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (settlement != address(0)) revert PlayerBondSettlementSet();
        settlement = settlement_;
        emit SettlementSet(settlement_);
    }

    /// @notice Whether `player`'s wallet receives the items its matches drop.
    function isBonded(address player) public view returns (bool) {
        return unlockAt[player] == 0 && bondOf[player] >= minBond && bondOf[player] != 0;
    }

    /// @notice For each of `players`: whether its bond counts (`isBonded`: its drops mint) and
    /// whether it holds any bond (counting or cooling down: what an equivocation slashes).
    /// Validators read every wallet a batch touches in one call, at the batch's reference block.
    function bondedAmong(address[] calldata players) external view returns (bool[] memory counts, bool[] memory held) {
        counts = new bool[](players.length);
        held = new bool[](players.length);
        for (uint256 i; i < players.length; ++i) {
            counts[i] = isBonded(players[i]);
            held[i] = bondOf[players[i]] != 0;
        }
    }

    /// @notice Locks `amount` more CYTR (approve this contract first). Not while unbonding.
    function bond(uint256 amount) external nonReentrant {
        if (amount == 0) revert PlayerBondZeroAmount();
        if (unlockAt[msg.sender] != 0) revert PlayerBondUnbonding(unlockAt[msg.sender]);
        bondOf[msg.sender] += amount;
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit Bonded(msg.sender, amount, bondOf[msg.sender]);
    }

    /// @notice Starts the cooldown of the whole bond; from now on the wallet earns no items.
    function requestUnbond() external {
        uint256 amount = bondOf[msg.sender];
        if (amount == 0) revert PlayerBondNothingBonded();
        if (unlockAt[msg.sender] != 0) revert PlayerBondUnbonding(unlockAt[msg.sender]);
        uint64 at = uint64(block.timestamp) + cooldown;
        unlockAt[msg.sender] = at;
        emit UnbondRequested(msg.sender, amount, at);
    }

    /// @notice Returns what is left of an unbonding bond once its cooldown has passed.
    function withdraw() external nonReentrant {
        uint64 at = unlockAt[msg.sender];
        if (at == 0) revert PlayerBondNotUnbonding();
        if (block.timestamp < at) revert PlayerBondCooldownActive(at);
        uint256 amount = bondOf[msg.sender];
        bondOf[msg.sender] = 0;
        unlockAt[msg.sender] = 0;
        token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    /// @notice Takes up to `amount` of `player`'s bond (cooling down or not) to the treasury, for
    /// the equivocation whose evidence hashes to `evidence`. Returns what it took.
    function slash(address player, uint256 amount, bytes32 evidence)
        external
        nonReentrant
        returns (uint256 taken)
    {
        if (msg.sender != settlement) revert PlayerBondNotSettlement(msg.sender);
        uint256 held = bondOf[player];
        taken = amount < held ? amount : held;
        bondOf[player] = held - taken;
        if (taken != 0) token.safeTransfer(treasury, taken);
        emit Slashed(player, taken, evidence);
    }

    /// @notice Sets the least bond, the cooldown and the treasury (admin: the timelock).
    function setParameters(uint256 minBond_, uint64 cooldown_, address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkParameters(minBond_, cooldown_, treasury_);
        minBond = minBond_;
        cooldown = cooldown_;
        treasury = treasury_;
        emit ParametersSet(minBond_, cooldown_, treasury_);
    }

    function _checkParameters(uint256 minBond_, uint64 cooldown_, address treasury_) private pure {
        if (minBond_ == 0 || cooldown_ < MIN_COOLDOWN || cooldown_ > MAX_COOLDOWN || treasury_ == address(0)) {
            revert PlayerBondBadParameters(minBond_, cooldown_, treasury_);
        }
    }
}
