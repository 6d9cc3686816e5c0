// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {Test} from "./Vm.sol";
import {CYTR} from "../src/CYTR.sol";
import {CyteriaItems} from "../src/CyteriaItems.sol";
import {Marketplace} from "../src/Marketplace.sol";
import {CyteriaDAO} from "../src/CyteriaDAO.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";

interface VmRoll {
    function roll(uint256) external;
}

contract CyteriaDAOTest is Test {
    CYTR cytr;
    CyteriaItems items;
    Marketplace market;
    TimelockController timelock;
    CyteriaDAO dao;
    address voter = address(0x70737E);

    function setUp() public {
        address[] memory none = new address[](0);
        timelock = new TimelockController(1 days, none, none, address(this));
        cytr = new CYTR(address(this), 1e30);
        items = new CyteriaItems(address(timelock), address(timelock), 0);
        market = new Marketplace(cytr, items, address(timelock), address(timelock), 250, address(0));
        dao = new CyteriaDAO(cytr, timelock, 1, 50, 4);
        timelock.grantRole(timelock.PROPOSER_ROLE(), address(dao));
        timelock.grantRole(timelock.EXECUTOR_ROLE(), address(0)); // anyone executes once the delay passed
        timelock.renounceRole(timelock.DEFAULT_ADMIN_ROLE(), address(this));
        cytr.grantRole(cytr.MINTER_ROLE(), address(this));
        cytr.mint(voter, 1000 ether);
        vm.prank(voter);
        cytr.delegate(voter);
        VmRoll(address(vm)).roll(block.number + 1);
    }

    function test_a_vote_pauses_the_marketplace_through_the_timelock() public {
        address[] memory targets = new address[](2);
        uint256[] memory values = new uint256[](2);
        bytes[] memory calls = new bytes[](2);
        targets[0] = address(market);
        calls[0] = abi.encodeCall(market.grantRole, (market.PAUSER_ROLE(), address(timelock)));
        targets[1] = address(market);
        calls[1] = abi.encodeWithSignature("pause()");
        string memory text = "Pause the marketplace";
        vm.prank(voter);
        uint256 id = dao.propose(targets, values, calls, text);
        VmRoll(address(vm)).roll(block.number + 2);
        vm.prank(voter);
        dao.castVote(id, 1);
        VmRoll(address(vm)).roll(block.number + 51);
        assertEq(uint256(dao.state(id)), uint256(IGovernor.ProposalState.Succeeded), "passed");
        dao.queue(targets, values, calls, keccak256(bytes(text)));
        vm.expectRevert();
        dao.execute(targets, values, calls, keccak256(bytes(text)));
        vm.warp(block.timestamp + 1 days);
        dao.execute(targets, values, calls, keccak256(bytes(text)));
        assertTrue(market.paused(), "paused by governance");
    }

    function test_nobody_but_the_timelock_administers() public {
        bytes32 role = market.PAUSER_ROLE();
        vm.expectRevert();
        market.grantRole(role, address(this));
        assertTrue(market.hasRole(market.DEFAULT_ADMIN_ROLE(), address(timelock)), "timelock is admin");
    }
}
