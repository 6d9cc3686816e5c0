// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ValidatorSet} from "./ValidatorSet.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

/// @title Staking
/// @notice Stake CYTR for rewards (a reward-per-token accumulator over funded periods), unstake
/// after a cooldown, and join the stake-weighted validator set (`ValidatorSet`) with a minimum
/// stake. Only the settlement contract slashes, and only on an on-chain proof of equivocation:
/// no role, and so no governance vote, can take a staker's funds.
contract Staking is AccessControl, ReentrancyGuard, ValidatorSet {
    using SafeERC20 for IERC20;
    using Checkpoints for Checkpoints.Trace208;

    /// @dev Each account's stake by timestamp (CYTR's clock): staked CYTR keeps its voting power in the DAO
    /// (the Staking contract itself never delegates the CYTR it holds, so nothing counts twice).
    mapping(address account => Checkpoints.Trace208) private _votes;

    /// @notice The unstake cooldown can be set no shorter (time to prove an equivocation).
    uint64 public constant MIN_COOLDOWN = 1 days;
    /// @notice Nor longer: the DAO's timelock outlasts it, so a staker who reacts to a queued
    /// proposal can always leave before it executes.
    uint64 public constant MAX_COOLDOWN = 7 days;

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
    /// @notice CYTR waiting in unstake cooldowns (the sum of `pendingOf`).
    uint256 public totalPending;
    /// @notice Rewards streamed to stakers and not paid out yet: at least the sum of what they
    /// earned up to `lastUpdate` (the accumulator's rounding dust stays here).
    uint256 public rewardsAccrued;
    /// @notice Funded rewards nobody earned: those streamed while nothing was staked, and the
    /// remainder of dividing a funding by its duration. The next `fundRewards` streams them again.
    uint256 public rewardsCarried;

    error StakingZeroAmount();
    error StakingInsufficientStake(uint256 staked, uint256 asked);
    error StakingCooldownActive(uint64 unlockAt);
    /// @notice A funding would stream `committed` CYTR, more than the `available` CYTR held for
    /// rewards not yet earned (balance less stakes, pending unstakes and accrued rewards).
    error StakingRewardTooHigh(uint256 committed, uint256 available);
    error StakingBadParameters(uint256 minValidatorStake, uint64 cooldown);

    event Staked(address indexed account, uint256 amount);
    event UnstakeRequested(address indexed account, uint256 amount, uint64 unlockAt);
    event Withdrawn(address indexed account, uint256 amount);
    event RewardPaid(address indexed account, uint256 amount);
    event RewardFunded(uint256 amount, uint64 duration, uint256 rate);
    /// @notice `amount` of rewards streamed while nothing was staked; the next funding adds them.
    event RewardCarried(uint256 amount);
    event Slashed(address indexed validator, uint256 amount, address indexed to);
    event ParametersSet(uint256 minValidatorStake, uint64 cooldown);

    /// @param token_ The staked and rewarded token (CYTR).
    /// @param admin The admin (the DAO timelock in production).
    constructor(IERC20 token_, address admin, uint256 minValidatorStake_, uint64 cooldown_) {
        token = token_;
        _checkParameters(minValidatorStake_, cooldown_);
        minValidatorStake = minValidatorStake_;
        cooldown = cooldown_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Names the settlement contract, once (the deployment, before it hands the admin role
    /// to the timelock): the one slasher, and the epochs the validator set follows.
    function setSettlement(address settlement_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setSettlement(settlement_);
    }

    /// @notice Names validators who may join before the first batch settles (the deployment's
    /// genesis set; admin, and only then).
    function setGenesisValidators(address[] calldata validators_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _allowGenesis(validators_);
    }

    /// @notice Bounds the validator set (admin: the timelock).
    function setValidatorLimits(uint256 maxValidators_, uint64 maxMissedEpochs_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setLimits(maxValidators_, maxMissedEpochs_);
    }

    modifier updateReward(address account) {
        _checkpointRewards();
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
        _moved(msg.sender);
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
        totalPending += amount;
        p.unlockAt = uint64(block.timestamp) + cooldown;
        _moved(msg.sender);
        emit UnstakeRequested(msg.sender, amount, p.unlockAt);
    }

    /// @notice Withdraws the pending amount once its cooldown is over.
    function withdraw() external nonReentrant {
        Pending memory p = pendingOf[msg.sender];
        if (p.amount == 0) revert StakingZeroAmount();
        if (block.timestamp < p.unlockAt) revert StakingCooldownActive(p.unlockAt);
        delete pendingOf[msg.sender];
        totalPending -= p.amount;
        emit Withdrawn(msg.sender, p.amount);
        token.safeTransfer(msg.sender, p.amount);
    }

    /// @notice Claims accrued rewards.
    function getReward() external nonReentrant updateReward(msg.sender) {
        uint256 r = rewards[msg.sender];
        if (r == 0) return;
        rewards[msg.sender] = 0;
        rewardsAccrued -= r;
        emit RewardPaid(msg.sender, r);
        token.safeTransfer(msg.sender, r);
    }

    /// @notice Funds `amount` of rewards spread over `duration` seconds, added to what is left of
    /// the current period and to the carried rewards nobody earned (`rewardsCarried`). Refused if
    /// the contract does not hold what the new rate streams.
    function fundRewards(uint256 amount, uint64 duration) external onlyRole(REWARDS_ROLE) updateReward(address(0)) {
        if (amount == 0 || duration == 0) revert StakingZeroAmount();
        uint256 left = block.timestamp < periodFinish ? (periodFinish - block.timestamp) * rewardRate : 0;
        uint256 total = amount + left + rewardsCarried;
        uint256 rate = total / duration;
        uint256 committed = rate * duration;
        uint256 held = token.balanceOf(address(this)) + amount;
        uint256 owed = totalStaked + totalPending + rewardsAccrued;
        uint256 available = held > owed ? held - owed : 0;
        if (committed > available) revert StakingRewardTooHigh(committed, available);
        rewardRate = rate;
        rewardsCarried = total - committed;
        lastUpdate = uint64(block.timestamp);
        periodFinish = uint64(block.timestamp) + duration;
        emit RewardFunded(amount, duration, rewardRate);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Takes up to `amount` from `validator`'s stake, then its pending unstake, sends it to
    /// `to`, and removes it from the set if below the minimum. Settlement only, on a proof.
    function slash(address validator, uint256 amount, address to)
        external
        onlySettlement
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
        totalPending -= fromPending;
        taken = fromStake + fromPending;
        _moved(validator);
        emit Slashed(validator, taken, to);
        if (taken > 0) token.safeTransfer(to, taken);
    }

    /// @notice Sets the validator minimum and the unstake cooldown (admin: the timelock).
    function setParameters(uint256 minValidatorStake_, uint64 cooldown_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkParameters(minValidatorStake_, cooldown_);
        minValidatorStake = minValidatorStake_;
        cooldown = cooldown_;
        emit ParametersSet(minValidatorStake_, cooldown_);
    }

    /// @dev Moves the rewards streamed since `lastUpdate` to the stakers (the accumulator), or,
    /// with nothing staked, to `rewardsCarried`, so no funded reward is stranded.
    function _checkpointRewards() private {
        uint64 until = lastTimeRewardApplicable();
        if (until <= lastUpdate) return;
        uint256 streamed = uint256(until - lastUpdate) * rewardRate;
        lastUpdate = until;
        if (streamed == 0) return;
        if (totalStaked == 0) {
            rewardsCarried += streamed;
            emit RewardCarried(streamed);
        } else {
            rewardPerTokenStored += (streamed * 1e18) / totalStaked;
            rewardsAccrued += streamed;
        }
    }

    /// @notice `account`'s staked CYTR at time `timepoint` (in the past, CYTR's clock: seconds):
    /// its votes in the DAO on top of its CYTR's own.
    function getPastVotes(address account, uint256 timepoint) external view returns (uint256) {
        return _votes[account].upperLookupRecent(uint48(timepoint));
    }

    /// @notice `account`'s staked CYTR now.
    function getVotes(address account) external view returns (uint256) {
        return _votes[account].latest();
    }

    /// @dev `account`'s stake moved: its weight in the validator set and its votes follow.
    function _moved(address account) private {
        _stakeChanged(account);
        _votes[account].push(uint48(block.timestamp), uint208(stakeOf[account]));
    }

    function _checkParameters(uint256 minValidatorStake_, uint64 cooldown_) private pure {
        if (minValidatorStake_ == 0 || cooldown_ < MIN_COOLDOWN || cooldown_ > MAX_COOLDOWN) {
            revert StakingBadParameters(minValidatorStake_, cooldown_);
        }
    }

    function _stakeOf(address account) internal view override returns (uint256) {
        return stakeOf[account];
    }

    function _minimum() internal view override returns (uint256) {
        return minValidatorStake;
    }
}
