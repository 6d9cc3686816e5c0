// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

/// @notice What the validator set reads of the settlement: the last settled epoch.
interface ISettledEpoch {
    function epoch() external view returns (uint64);
}

/// @title ValidatorSet
/// @notice The stake-weighted validator set, fixed per epoch. Every change (a validator joining,
/// leaving, being removed, or its stake moving) takes effect two epochs after the last settled
/// one, so the batch being agreed now (the next epoch's) is always judged against a set and
/// weights that were known before its round began (the genesis is the exception: members who
/// join before the first batch settles weigh in it). A batch needs signatures of at least 2/3 of
/// its epoch's total weight (Settlement). The set is bounded: a newcomer to a full set must bring
/// more stake than the smallest member, whom it replaces; a validator neither signing a settled
/// batch nor sending a `heartbeat` for `maxMissedEpochs` settled epochs can be removed by anyone
/// (a heartbeat keeps a validator whose signatures a submitter left out). Before the first batch
/// only the genesis validators the deployment named may join: otherwise the first staker to
/// register would settle epoch 1 alone.
/// @dev Weights are the validators' stakes, kept as checkpoints keyed by epoch.
abstract contract ValidatorSet {
    using Checkpoints for Checkpoints.Trace208;

    /// @notice The set's size can never be set above this.
    uint256 public constant MAX_SET_SIZE = 200;

    /// @notice The settlement contract whose epochs fix the set, and the only slasher (set once).
    address public settlement;
    /// @notice At most this many validators at once (governance, within 4..MAX_SET_SIZE).
    uint256 public maxValidators = 100;
    /// @notice A validator absent from this many settled epochs in a row can be removed.
    uint64 public maxMissedEpochs = 1_000;
    /// @notice The last epoch a validator's signature settled, or it joined or sent a heartbeat.
    mapping(address validator => uint64 epoch) public lastActive;
    /// @notice Who may join before the first batch settles.
    mapping(address validator => bool) public genesisValidator;

    mapping(address validator => Checkpoints.Trace208) private _weight;
    Checkpoints.Trace208 private _total;
    address[] private _members;
    mapping(address => uint256) private _slot; // index + 1

    error ValidatorSetSettlementSet();
    error ValidatorSetNotSettlement(address caller);
    error ValidatorSetAlreadyMember(address account);
    error ValidatorSetNotMember(address account);
    error ValidatorSetFull(uint256 stake, uint256 smallest);
    error ValidatorSetBelowMinimum(uint256 stake, uint256 minimum);
    error ValidatorSetStillActive(address validator, uint64 lastActive);
    error ValidatorSetBadLimits(uint256 maxValidators, uint64 maxMissedEpochs);
    error ValidatorSetNotGenesis(address account);
    error ValidatorSetGenesisOver();

    event ValidatorRegistered(address indexed validator);
    event ValidatorRemoved(address indexed validator);
    /// @notice `validator`'s weight becomes `weight` from epoch `epoch` on.
    event WeightChanged(address indexed validator, uint256 weight, uint64 epoch);
    event SettlementSet(address settlement);
    event ValidatorLimitsSet(uint256 maxValidators, uint64 maxMissedEpochs);
    event GenesisValidator(address indexed validator);
    event Heartbeat(address indexed validator, uint64 epoch);

    modifier onlySettlement() {
        if (msg.sender != settlement) revert ValidatorSetNotSettlement(msg.sender);
        _;
    }

    /// @dev The stake a validator's weight follows.
    function _stakeOf(address account) internal view virtual returns (uint256);

    /// @dev The least stake a member keeps.
    function _minimum() internal view virtual returns (uint256);

    /// @notice Whether `account` is in the set (from the epoch its joining takes effect).
    function isValidator(address account) public view returns (bool) {
        return _slot[account] != 0;
    }

    /// @notice The members, including those whose joining takes effect in a later epoch.
    function validators() external view returns (address[] memory) {
        return _members;
    }

    /// @notice The number of members.
    function validatorCount() external view returns (uint256) {
        return _members.length;
    }

    /// @notice `validator`'s weight in epoch `epoch`'s set (0: not in it).
    function weightAt(address validator, uint64 epoch) public view returns (uint256) {
        return _weight[validator].upperLookupRecent(uint48(epoch));
    }

    /// @notice The total weight of epoch `epoch`'s set.
    function totalWeightAt(uint64 epoch) public view returns (uint256) {
        return _total.upperLookupRecent(uint48(epoch));
    }

    /// @notice The members with their weights in epoch `epoch`, and that epoch's total weight.
    /// (A validator that left after the epoch's set was fixed still weighs in it, but is no
    /// longer listed; its signature still counts on chain.)
    function validatorSet(uint64 epoch)
        external
        view
        returns (address[] memory members, uint256[] memory weights, uint256 total)
    {
        members = _members;
        weights = new uint256[](members.length);
        for (uint256 i; i < members.length; ++i) {
            weights[i] = weightAt(members[i], epoch);
        }
        total = totalWeightAt(epoch);
    }

    /// @notice Joins the set with the caller's stake (at least the minimum). In a full set the
    /// caller must bring more stake than the smallest member, which leaves.
    function registerValidator() external {
        if (_slot[msg.sender] != 0) revert ValidatorSetAlreadyMember(msg.sender);
        if (_settled() == 0 && !genesisValidator[msg.sender]) revert ValidatorSetNotGenesis(msg.sender);
        uint256 stake = _stakeOf(msg.sender);
        uint256 minimum = _minimum();
        if (stake < minimum) revert ValidatorSetBelowMinimum(stake, minimum);
        if (_members.length >= maxValidators) {
            (address smallest, uint256 least) = _smallest();
            if (stake <= least) revert ValidatorSetFull(stake, least);
            _remove(smallest);
        }
        _members.push(msg.sender);
        _slot[msg.sender] = _members.length;
        lastActive[msg.sender] = _settled();
        emit ValidatorRegistered(msg.sender);
        _setWeight(msg.sender, stake);
    }

    /// @notice Leaves the set (from two epochs on; its stake stays slashable through its cooldown).
    function deregisterValidator() external {
        if (_slot[msg.sender] == 0) revert ValidatorSetNotMember(msg.sender);
        _remove(msg.sender);
    }

    /// @notice Removes `validator` once its signature has been missing from `maxMissedEpochs`
    /// settled epochs in a row. Anyone may call it.
    function removeInactive(address validator) external {
        if (_slot[validator] == 0) revert ValidatorSetNotMember(validator);
        uint64 last = lastActive[validator];
        if (_settled() <= last + maxMissedEpochs) revert ValidatorSetStillActive(validator, last);
        _remove(validator);
    }

    /// @notice Keeps the caller's seat: it is alive, whatever signatures submitters included.
    function heartbeat() external {
        if (_slot[msg.sender] == 0) revert ValidatorSetNotMember(msg.sender);
        uint64 settled = _settled();
        lastActive[msg.sender] = settled;
        emit Heartbeat(msg.sender, settled);
    }

    /// @notice Records that `signers` signed epoch `epoch`'s settled batch. Settlement only.
    function markActive(address[] calldata signers, uint64 epoch) external onlySettlement {
        for (uint256 i; i < signers.length; ++i) {
            lastActive[signers[i]] = epoch;
        }
    }

    function _allowGenesis(address[] calldata validators_) internal {
        if (_settled() != 0) revert ValidatorSetGenesisOver();
        for (uint256 i; i < validators_.length; ++i) {
            genesisValidator[validators_[i]] = true;
            emit GenesisValidator(validators_[i]);
        }
    }

    function _setSettlement(address settlement_) internal {
        if (settlement != address(0)) revert ValidatorSetSettlementSet();
        settlement = settlement_;
        emit SettlementSet(settlement_);
    }

    function _setLimits(uint256 maxValidators_, uint64 maxMissedEpochs_) internal {
        if (maxValidators_ < 4 || maxValidators_ > MAX_SET_SIZE || maxMissedEpochs_ < 10) {
            revert ValidatorSetBadLimits(maxValidators_, maxMissedEpochs_);
        }
        maxValidators = maxValidators_;
        maxMissedEpochs = maxMissedEpochs_;
        emit ValidatorLimitsSet(maxValidators_, maxMissedEpochs_);
    }

    /// @dev Follows a change of `account`'s stake: a member below the minimum leaves, another
    /// member's weight becomes its stake.
    function _stakeChanged(address account) internal {
        if (_slot[account] == 0) return;
        uint256 stake = _stakeOf(account);
        if (stake < _minimum()) _remove(account);
        else _setWeight(account, stake);
    }

    function _settled() private view returns (uint64) {
        return settlement == address(0) ? 0 : ISettledEpoch(settlement).epoch();
    }

    /// @dev The first epoch a change made now can affect: the one after the batch being agreed,
    /// unless no set settled the last epoch (the genesis: every member who joins before the first
    /// batch weighs in it) or the batch being agreed has no set at all (everyone left): then the
    /// newcomers fill it at once, as nobody could settle it otherwise.
    function _effective() private view returns (uint48) {
        uint64 settled = _settled();
        uint48 next = uint48(settled + 1);
        bool bootstrap = _total.upperLookupRecent(uint48(settled)) == 0 || _total.upperLookupRecent(next) == 0;
        return bootstrap ? next : next + 1;
    }

    function _setWeight(address account, uint256 weight) private {
        uint48 from = _effective();
        uint256 old = _weight[account].latest();
        _weight[account].push(from, uint208(weight));
        _total.push(from, uint208(_total.latest() - old + weight));
        emit WeightChanged(account, weight, from);
    }

    function _smallest() private view returns (address smallest, uint256 least) {
        least = type(uint256).max;
        for (uint256 i; i < _members.length; ++i) {
            uint256 w = _weight[_members[i]].latest();
            if (w < least) (smallest, least) = (_members[i], w);
        }
    }

    function _remove(address account) private {
        uint256 i = _slot[account] - 1;
        address last = _members[_members.length - 1];
        _members[i] = last;
        _slot[last] = i + 1;
        _members.pop();
        delete _slot[account];
        emit ValidatorRemoved(account);
        _setWeight(account, 0);
    }
}
