// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title Staking
/// @notice Stake CYTR for rewards (a reward-per-token accumulator over funded periods), unstake
/// after a cooldown, and register as a validator with a minimum stake. Only the settlement
/// contract (SLASHER_ROLE) can slash.
contract Staking is AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    bytes32 public constant REWARDS_ROLE = keccak256("REWARDS_ROLE");

    IERC20 public immutable token;
    uint256 public minValidatorStake;
    uint64 public cooldown;

    uint256 public totalStaked;
    mapping(address => uint256) public stakeOf;

    struct Pending {
        uint256 amount;
        uint64 unlockAt;
    }

    mapping(address => Pending) public pendingOf;

    uint256 public rewardRate;
    uint64 public periodFinish;
    uint64 public lastUpdate;
    uint256 public rewardPerTokenStored;
    mapping(address => uint256) public rewardPerTokenPaid;
    mapping(address => uint256) public rewards;

    address[] private _validators;
    mapping(address => uint256) private _validatorSlot; // index + 1

    error StakingZeroAmount();
    error StakingInsufficientStake(uint256 staked, uint256 asked);
    error StakingCooldownActive(uint64 unlockAt);
    error StakingBelowValidatorMinimum(uint256 staked, uint256 minimum);
    error StakingAlreadyValidator(address account);
    error StakingNotValidator(address account);

    event Staked(address indexed account, uint256 amount);
    event UnstakeRequested(address indexed account, uint256 amount, uint64 unlockAt);
    event Withdrawn(address indexed account, uint256 amount);
    event RewardPaid(address indexed account, uint256 amount);
    event RewardFunded(uint256 amount, uint64 duration, uint256 rate);
    event ValidatorRegistered(address indexed validator);
    event ValidatorRemoved(address indexed validator);
    event Slashed(address indexed validator, uint256 amount, address indexed to);
    event ParametersSet(uint256 minValidatorStake, uint64 cooldown);

    /// @param token_ The staked and rewarded token (CYTR).
    /// @param admin The admin (the DAO timelock in production).
    constructor(IERC20 token_, address admin, uint256 minValidatorStake_, uint64 cooldown_) {
        token = token_;
        minValidatorStake = minValidatorStake_;
        cooldown = cooldown_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    modifier updateReward(address account) {
        rewardPerTokenStored = rewardPerToken();
        lastUpdate = lastTimeRewardApplicable();
        if (account != address(0)) {
            rewards[account] = earned(account);
            rewardPerTokenPaid[account] = rewardPerTokenStored;
        }
        _;
    }

    /// @notice The end of the reward period, or now if it runs on.
    function lastTimeRewardApplicable() public view returns (uint64) {
        return block.timestamp < periodFinish ? uint64(block.timestamp) : periodFinish;
    }

    /// @notice Rewards per staked token so far, scaled by 1e18.
    function rewardPerToken() public view returns (uint256) {
        if (totalStaked == 0) return rewardPerTokenStored;
        return rewardPerTokenStored + (uint256(lastTimeRewardApplicable() - lastUpdate) * rewardRate * 1e18) / totalStaked;
    }

    /// @notice Rewards `account` can claim.
    function earned(address account) public view returns (uint256) {
        return rewards[account] + (stakeOf[account] * (rewardPerToken() - rewardPerTokenPaid[account])) / 1e18;
    }

    /// @notice Stakes `amount` CYTR (approve first).
    function stake(uint256 amount) external nonReentrant updateReward(msg.sender) {
        if (amount == 0) revert StakingZeroAmount();
        stakeOf[msg.sender] += amount;
        totalStaked += amount;
        emit Staked(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Moves `amount` out of the stake; it can be withdrawn after the cooldown (and can
    /// still be slashed until then). Adding to a pending amount restarts its cooldown.
    function requestUnstake(uint256 amount) external updateReward(msg.sender) {
        uint256 staked = stakeOf[msg.sender];
        if (amount == 0) revert StakingZeroAmount();
        if (amount > staked) revert StakingInsufficientStake(staked, amount);
        stakeOf[msg.sender] = staked - amount;
        totalStaked -= amount;
        Pending storage p = pendingOf[msg.sender];
        p.amount += amount;
        p.unlockAt = uint64(block.timestamp) + cooldown;
        _dropIfBelowMinimum(msg.sender);
        emit UnstakeRequested(msg.sender, amount, p.unlockAt);
    }

    /// @notice Withdraws the pending amount once its cooldown is over.
    function withdraw() external nonReentrant {
        Pending memory p = pendingOf[msg.sender];
        if (p.amount == 0) revert StakingZeroAmount();
        if (block.timestamp < p.unlockAt) revert StakingCooldownActive(p.unlockAt);
        delete pendingOf[msg.sender];
        emit Withdrawn(msg.sender, p.amount);
        token.safeTransfer(msg.sender, p.amount);
    }

    /// @notice Claims accrued rewards.
    function getReward() external nonReentrant updateReward(msg.sender) {
        uint256 r = rewards[msg.sender];
        if (r == 0) return;
        rewards[msg.sender] = 0;
        emit RewardPaid(msg.sender, r);
        token.safeTransfer(msg.sender, r);
    }

    /// @notice Funds `amount` of rewards spread over `duration` seconds (added to what is left).
    function fundRewards(uint256 amount, uint64 duration) external onlyRole(REWARDS_ROLE) updateReward(address(0)) {
        if (amount == 0 || duration == 0) revert StakingZeroAmount();
        uint256 left = block.timestamp < periodFinish ? (periodFinish - block.timestamp) * rewardRate : 0;
        rewardRate = (amount + left) / duration;
        lastUpdate = uint64(block.timestamp);
        periodFinish = uint64(block.timestamp) + duration;
        emit RewardFunded(amount, duration, rewardRate);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Registers the caller as a validator; needs at least `minValidatorStake` staked.
    function registerValidator() external {
        if (_validatorSlot[msg.sender] != 0) revert StakingAlreadyValidator(msg.sender);
        uint256 staked = stakeOf[msg.sender];
        if (staked < minValidatorStake) revert StakingBelowValidatorMinimum(staked, minValidatorStake);
        _validators.push(msg.sender);
        _validatorSlot[msg.sender] = _validators.length;
        emit ValidatorRegistered(msg.sender);
    }

    /// @notice Leaves the validator set.
    function deregisterValidator() external {
        if (_validatorSlot[msg.sender] == 0) revert StakingNotValidator(msg.sender);
        _remove(msg.sender);
    }

    /// @notice Whether `account` is a registered validator.
    function isValidator(address account) public view returns (bool) {
        return _validatorSlot[account] != 0;
    }

    /// @notice The registered validators.
    function validators() external view returns (address[] memory) {
        return _validators;
    }

    /// @notice The number of registered validators.
    function validatorCount() external view returns (uint256) {
        return _validators.length;
    }

    /// @notice Takes up to `amount` from `validator`'s stake, then its pending unstake, sends it to
    /// `to`, and removes it from the set if below the minimum. Settlement only.
    function slash(address validator, uint256 amount, address to)
        external
        onlyRole(SLASHER_ROLE)
        nonReentrant
        updateReward(validator)
        returns (uint256 taken)
    {
        uint256 staked = stakeOf[validator];
        uint256 fromStake = amount < staked ? amount : staked;
        stakeOf[validator] = staked - fromStake;
        totalStaked -= fromStake;
        uint256 rest = amount - fromStake;
        Pending storage p = pendingOf[validator];
        uint256 fromPending = rest < p.amount ? rest : p.amount;
        p.amount -= fromPending;
        taken = fromStake + fromPending;
        if (_validatorSlot[validator] != 0) _dropIfBelowMinimum(validator);
        emit Slashed(validator, taken, to);
        if (taken > 0) token.safeTransfer(to, taken);
    }

    /// @notice Sets the validator minimum and the unstake cooldown (admin: the timelock).
    function setParameters(uint256 minValidatorStake_, uint64 cooldown_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        minValidatorStake = minValidatorStake_;
        cooldown = cooldown_;
        emit ParametersSet(minValidatorStake_, cooldown_);
    }

    function _dropIfBelowMinimum(address account) private {
        if (_validatorSlot[account] != 0 && stakeOf[account] < minValidatorStake) _remove(account);
    }

    function _remove(address account) private {
        uint256 i = _validatorSlot[account] - 1;
        address last = _validators[_validators.length - 1];
        _validators[i] = last;
        _validatorSlot[last] = i + 1;
        _validators.pop();
        delete _validatorSlot[account];
        emit ValidatorRemoved(account);
    }
}
