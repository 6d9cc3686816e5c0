// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {Test} from "./Vm.sol";
import {CYTR} from "../src/CYTR.sol";
import {CyteriaItems} from "../src/CyteriaItems.sol";
import {Marketplace} from "../src/Marketplace.sol";
import {Staking} from "../src/Staking.sol";
import {PlayerBond} from "../src/PlayerBond.sol";
import {ValidatorSet} from "../src/ValidatorSet.sol";
import {CyteriaDAO, IStakedVotes} from "../src/CyteriaDAO.sol";
import {Deploy} from "../script/Deploy.s.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/// Governance on a system deployed by the deployment script itself (`Deploy.deploy`, as
/// `forge script` runs it, with this test's deployer contract as the deployer): the parameters a
/// community can use, staked CYTR voting, and what no vote can do.
contract CyteriaDAOTest is Test {
    Deploy script;
    Deploy.Deployed d;
    address voter = address(0x70737E);
    address staker = address(0x57A4E);
    address guardian = address(0x6A4D);

    function setUp() public {
        script = new Deploy();
        Deploy.Params memory p;
        p.guardian = guardian;
        p.tickRate = 60;
        p.genesisTo = new address[](2);
        p.genesisAmounts = new uint256[](2);
        (p.genesisTo[0], p.genesisAmounts[0]) = (voter, 1_000_000 ether);
        (p.genesisTo[1], p.genesisAmounts[1]) = (staker, 1_000_000 ether);
        p.genesisValidators = new address[](0);
        d = script.deploy(address(script), p);
        vm.prank(voter);
        d.cytr.delegate(voter);
        vm.warp(block.timestamp + 1);
    }

    /// Proposes `calls` on `targets` as `who`, votes for it with `voters`, and takes it through the
    /// voting delay, the period, the queue and the timelock. Returns the proposal id.
    function pass(address who, address[] memory voters, address[] memory targets, bytes[] memory calls, string memory text)
        internal
        returns (uint256 id)
    {
        uint256[] memory values = new uint256[](targets.length);
        vm.prank(who);
        id = d.dao.propose(targets, values, calls, text);
        vm.warp(block.timestamp + d.dao.votingDelay() + 1);
        for (uint256 i; i < voters.length; ++i) {
            vm.prank(voters[i]);
            d.dao.castVote(id, 1);
        }
        vm.warp(block.timestamp + d.dao.votingPeriod() + 1);
        assertEq(uint256(d.dao.state(id)), uint256(IGovernor.ProposalState.Succeeded), "passed");
        d.dao.queue(targets, values, calls, keccak256(bytes(text)));
        vm.expectRevert();
        d.dao.execute(targets, values, calls, keccak256(bytes(text)));
        vm.warp(block.timestamp + d.timelock.getMinDelay());
        d.dao.execute(targets, values, calls, keccak256(bytes(text)));
    }

    function one(address target, bytes memory call) internal pure returns (address[] memory t, bytes[] memory c) {
        t = new address[](1);
        c = new bytes[](1);
        (t[0], c[0]) = (target, call);
    }

    function only(address a) internal pure returns (address[] memory v) {
        v = new address[](1);
        v[0] = a;
    }

    function test_a_deploy_through_the_script_can_pass_and_execute_a_proposal() public {
        assertEq(d.cytr.balanceOf(voter), 1_000_000 ether, "the genesis allocation is minted");
        (address[] memory t, bytes[] memory c) = one(address(d.market), abi.encodeCall(d.market.setFee, (address(d.timelock), 100)));
        pass(voter, only(voter), t, c, "Lower the market fee to 1 %");
        assertEq(d.market.feeBps(), 100, "executed through the timelock");
    }

    function test_the_parameters_are_sized_for_two_second_blocks_and_outlast_a_staker() public view {
        assertEq(d.dao.clock(), block.timestamp, "days, not blocks: the clock is in seconds");
        assertEq(d.dao.votingDelay(), 1 days, "a day to read a proposal");
        assertEq(d.dao.votingPeriod(), 5 days, "five days to vote");
        assertEq(d.dao.proposalThreshold(), 2_000 ether, "0.1 % of the supply");
        assertEq(d.dao.quorum(block.timestamp - 1), 80_000 ether, "4 % of the supply");
        assertTrue(d.timelock.getMinDelay() > d.staking.cooldown(), "the timelock outlasts the unstake cooldown");
        assertTrue(d.timelock.getMinDelay() > d.bond.cooldown(), "and the unbond cooldown");
        assertTrue(d.timelock.getMinDelay() > d.staking.MAX_COOLDOWN(), "and any cooldown governance could set");
    }

    function test_proposing_needs_votes() public {
        (address[] memory t, bytes[] memory c) = one(address(d.market), abi.encodeCall(d.market.setFee, (address(d.timelock), 100)));
        uint256[] memory values = new uint256[](1);
        vm.expectRevert(
            abi.encodeWithSelector(IGovernor.GovernorInsufficientProposerVotes.selector, address(0xBAD), 0, 2_000 ether)
        );
        vm.prank(address(0xBAD));
        d.dao.propose(t, values, c, "spam");
    }

    /// Staked CYTR sat in Staking, which delegates to nobody: stakers lost their say. Now a
    /// staker's stake votes, and carries a proposal on its own.
    function test_a_staker_who_votes_with_staked_cytr_is_counted() public {
        vm.startPrank(staker);
        d.cytr.approve(address(d.staking), 1_000_000 ether);
        d.staking.stake(1_000_000 ether);
        vm.stopPrank();
        vm.warp(block.timestamp + 1);
        assertEq(d.dao.getVotes(staker, block.timestamp - 1), 1_000_000 ether, "its stake votes");
        (address[] memory t, bytes[] memory c) = one(address(d.market), abi.encodeCall(d.market.setFee, (address(d.timelock), 50)));
        uint256 id = pass(staker, only(staker), t, c, "A staker's proposal");
        (, uint256 forVotes,) = d.dao.proposalVotes(id);
        assertEq(forVotes, 1_000_000 ether, "counted whole");
        assertEq(d.market.feeBps(), 50, "and it passed on staked votes alone");
    }

    /// With SLASHER_ROLE, a 5 % holder could pass "grant me SLASHER" and take the stakers'
    /// funds. No such role exists now: the timelock (every vote's executor) cannot slash, cannot
    /// name another slasher, and cannot take a bond.
    function test_the_dao_cannot_grant_itself_the_power_to_take_stakes() public {
        vm.startPrank(staker);
        d.cytr.approve(address(d.staking), 500_000 ether);
        d.staking.stake(500_000 ether);
        d.cytr.approve(address(d.bond), 500_000 ether);
        d.bond.bond(500_000 ether);
        vm.stopPrank();
        address tl = address(d.timelock);
        vm.startPrank(tl);
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.ValidatorSetNotSettlement.selector, tl));
        d.staking.slash(staker, 1, tl);
        vm.expectRevert(ValidatorSet.ValidatorSetSettlementSet.selector);
        d.staking.setSettlement(tl);
        vm.expectRevert(abi.encodeWithSelector(PlayerBond.PlayerBondNotSettlement.selector, tl));
        d.bond.slash(staker, 1, 0);
        vm.expectRevert(PlayerBond.PlayerBondSettlementSet.selector);
        d.bond.setSettlement(tl);
        vm.stopPrank();
        // And a passed proposal trying it fails at execution: the stake stays.
        (address[] memory t, bytes[] memory c) = one(address(d.staking), abi.encodeCall(d.staking.setSettlement, (voter)));
        uint256[] memory values = new uint256[](1);
        vm.prank(voter);
        uint256 id = d.dao.propose(t, values, c, "Make me the slasher");
        vm.warp(block.timestamp + d.dao.votingDelay() + 1);
        vm.prank(voter);
        d.dao.castVote(id, 1);
        vm.warp(block.timestamp + d.dao.votingPeriod() + 1);
        d.dao.queue(t, values, c, keccak256("Make me the slasher"));
        vm.warp(block.timestamp + d.timelock.getMinDelay());
        vm.expectRevert();
        d.dao.execute(t, values, c, keccak256("Make me the slasher"));
        assertEq(d.staking.stakeOf(staker), 500_000 ether, "the stake is whole");
        assertEq(d.bond.bondOf(staker), 500_000 ether, "and the bond");
    }

    /// The only pauser was the timelock (a vote plus the delay): no emergency brake. A guardian
    /// now pauses at once, but cannot unpause or move anything.
    function test_a_guardian_pauses_at_once_and_only_the_timelock_unpauses() public {
        vm.startPrank(guardian);
        d.market.pause();
        d.items.pause();
        d.auction.pause();
        d.crafting.pause();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, guardian, bytes32(0))
        );
        d.market.unpause();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, guardian, bytes32(0))
        );
        d.items.unpause();
        vm.expectRevert();
        d.market.setFee(guardian, 1000);
        vm.stopPrank();
        assertTrue(d.market.paused() && d.items.paused(), "paused");
        vm.prank(address(d.timelock));
        d.market.unpause();
        assertTrue(!d.market.paused(), "the timelock unpauses");
    }

    function test_nobody_but_the_timelock_administers() public {
        bytes32 role = d.market.PAUSER_ROLE();
        vm.expectRevert();
        d.market.grantRole(role, address(this));
        assertTrue(d.market.hasRole(d.market.DEFAULT_ADMIN_ROLE(), address(d.timelock)), "timelock is admin");
        assertTrue(!d.market.hasRole(d.market.DEFAULT_ADMIN_ROLE(), address(script)), "the deployer let go");
        assertTrue(!d.cytr.hasRole(d.cytr.MINTER_ROLE(), address(script)), "and mints no more");
    }
}
