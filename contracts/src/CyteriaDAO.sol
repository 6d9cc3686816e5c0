// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {GovernorVotesQuorumFraction} from "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {IERC5805} from "@openzeppelin/contracts/interfaces/IERC5805.sol";

/// @notice Where staked CYTR's votes come from: the stake of an account at a past time.
interface IStakedVotes {
    function getPastVotes(address account, uint256 timepoint) external view returns (uint256);
}

/// @title CyteriaDAO
/// @notice Governance by CYTR votes: an account's delegated CYTR plus the CYTR it has staked (a
/// staker keeps its say). Proposals that pass are queued in a TimelockController, which holds the
/// admin roles of every other Cyteria contract: parameters, recipes, fees and unpausing change
/// only through a vote and a delay. No role the DAO can grant takes a stake or a bond (Staking and
/// PlayerBond answer only Settlement, on proofs), and the timelock's delay outlasts the longest
/// unstake cooldown, so a staker who sees a proposal queued can always leave first.
/// @dev The clock is CYTR's, in seconds (ERC-6372 timestamp mode): a voting delay of a day and a
/// period of five days hold on Polygon's 2-second blocks and on any other block time.
contract CyteriaDAO is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl
{
    /// @notice Proposing takes votes worth this share of CYTR's supply, in basis points (0.1 %).
    uint256 public constant PROPOSAL_THRESHOLD_BPS = 10;

    /// @notice The staked CYTR that votes alongside delegated CYTR.
    IStakedVotes public immutable staking;

    /// @param token CYTR (ERC20Votes).
    /// @param staking_ The Staking contract, whose stakes vote too.
    /// @param timelock The timelock that executes proposals.
    /// @param votingDelay_ Blocks between a proposal and its vote.
    /// @param votingPeriod_ Blocks the vote lasts.
    /// @param quorumPercent Percent of the supply that must vote.
    constructor(
        IVotes token,
        IStakedVotes staking_,
        TimelockController timelock,
        uint48 votingDelay_,
        uint32 votingPeriod_,
        uint256 quorumPercent
    )
        Governor("CyteriaDAO")
        GovernorSettings(votingDelay_, votingPeriod_, 0)
        GovernorVotes(token)
        GovernorVotesQuorumFraction(quorumPercent)
        GovernorTimelockControl(timelock)
    {
        staking = staking_;
    }

    /// @notice Votes needed to propose: `PROPOSAL_THRESHOLD_BPS` of the supply at the last block.
    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        uint256 supply = IERC5805(address(token())).getPastTotalSupply(clock() - 1);
        return supply * PROPOSAL_THRESHOLD_BPS / 10_000;
    }

    /// @dev Delegated CYTR plus staked CYTR.
    function _getVotes(address account, uint256 timepoint, bytes memory params)
        internal
        view
        override(Governor, GovernorVotes)
        returns (uint256)
    {
        return super._getVotes(account, timepoint, params) + staking.getPastVotes(account, timepoint);
    }

    function votingDelay() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingDelay();
    }

    function votingPeriod() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingPeriod();
    }

    function state(uint256 proposalId) public view override(Governor, GovernorTimelockControl) returns (ProposalState) {
        return super.state(proposalId);
    }

    function proposalNeedsQueuing(uint256 proposalId) public view override(Governor, GovernorTimelockControl) returns (bool) {
        return super.proposalNeedsQueuing(proposalId);
    }

    function _queueOperations(uint256 proposalId, address[] memory targets, uint256[] memory values, bytes[] memory calldatas, bytes32 descriptionHash)
        internal
        override(Governor, GovernorTimelockControl)
        returns (uint48)
    {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(uint256 proposalId, address[] memory targets, uint256[] memory values, bytes[] memory calldatas, bytes32 descriptionHash)
        internal
        override(Governor, GovernorTimelockControl)
    {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(address[] memory targets, uint256[] memory values, bytes[] memory calldatas, bytes32 descriptionHash)
        internal
        override(Governor, GovernorTimelockControl)
        returns (uint256)
    {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }
}
