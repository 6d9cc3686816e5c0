// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {Test} from "./Vm.sol";
import {CYTR} from "../src/CYTR.sol";
import {PlayerBond} from "../src/PlayerBond.sol";

contract PlayerBondTest is Test {
    CYTR token;
    PlayerBond bonds;
    address admin = address(0xA11CE);
    address treasury = address(0xDA0);
    address slasher = address(0x5E771E);
    address alice = address(0xA);
    address bob = address(0xB);

    function setUp() public {
        token = new CYTR(admin, 1e30);
        bonds = new PlayerBond(token, admin, 50 ether, 3 days, treasury);
        vm.startPrank(admin);
        token.grantRole(token.MINTER_ROLE(), admin);
        token.mint(alice, 1000 ether);
        token.mint(bob, 1000 ether);
        bonds.setSettlement(slasher);
        vm.stopPrank();
        vm.prank(alice);
        token.approve(address(bonds), type(uint256).max);
        vm.prank(bob);
        token.approve(address(bonds), type(uint256).max);
    }

    function test_a_bond_counts_from_the_minimum_and_stops_counting_when_unbonding() public {
        assertTrue(!bonds.isBonded(alice), "nothing bonded");
        vm.startPrank(alice);
        bonds.bond(30 ether);
        assertTrue(!bonds.isBonded(alice), "below the minimum");
        bonds.bond(20 ether);
        assertTrue(bonds.isBonded(alice), "at the minimum");
        assertEq(token.balanceOf(address(bonds)), 50 ether, "locked here");
        bonds.requestUnbond();
        assertTrue(!bonds.isBonded(alice), "an unbonding wallet earns no items");
        vm.expectRevert(abi.encodeWithSelector(PlayerBond.PlayerBondUnbonding.selector, bonds.unlockAt(alice)));
        bonds.bond(10 ether);
        vm.stopPrank();
    }

    function test_validators_read_many_wallets_in_one_call() public {
        vm.prank(alice);
        bonds.bond(50 ether);
        vm.prank(bob);
        bonds.bond(49 ether);
        address[] memory who = new address[](3);
        (who[0], who[1], who[2]) = (alice, bob, treasury);
        (bool[] memory counts, bool[] memory held) = bonds.bondedAmong(who);
        assertEq(counts.length, 3, "one flag per wallet");
        assertTrue(counts[0] && held[0], "alice holds the minimum");
        assertTrue(!counts[1] && held[1], "bob holds less, which is still slashable");
        assertTrue(!counts[2] && !held[2], "nothing bonded");
        vm.prank(alice);
        bonds.requestUnbond();
        (counts, held) = bonds.bondedAmong(who);
        assertTrue(!counts[0], "unbonding stops counting");
        assertTrue(held[0], "a cooling bond is still slashable");
    }

    function test_a_bond_is_refunded_only_after_the_cooldown() public {
        vm.startPrank(alice);
        vm.expectRevert(PlayerBond.PlayerBondNotUnbonding.selector);
        bonds.withdraw();
        bonds.bond(100 ether);
        bonds.requestUnbond();
        uint64 at = bonds.unlockAt(alice);
        assertEq(at, block.timestamp + 3 days, "three days");
        vm.expectRevert(abi.encodeWithSelector(PlayerBond.PlayerBondCooldownActive.selector, at));
        bonds.withdraw();
        vm.warp(at);
        bonds.withdraw();
        vm.stopPrank();
        assertEq(token.balanceOf(alice), 1000 ether, "all of it back");
        assertEq(bonds.bondOf(alice), 0, "nothing left");
        vm.prank(alice);
        bonds.bond(60 ether);
        assertTrue(bonds.isBonded(alice), "bonds again");
    }

    function test_only_the_slasher_slashes_and_a_cooling_bond_still_pays() public {
        vm.prank(alice);
        bonds.bond(100 ether);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(PlayerBond.PlayerBondNotSettlement.selector, bob));
        bonds.slash(alice, 100 ether, keccak256("evidence"));
        // Not the admin (the DAO's timelock) either, and it cannot name another slasher.
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(PlayerBond.PlayerBondNotSettlement.selector, admin));
        bonds.slash(alice, 100 ether, keccak256("evidence"));
        vm.expectRevert(PlayerBond.PlayerBondSettlementSet.selector);
        bonds.setSettlement(admin);
        vm.stopPrank();
        // Alice asks for her bond back before the evidence lands: it still pays.
        vm.prank(alice);
        bonds.requestUnbond();
        vm.prank(slasher);
        uint256 taken = bonds.slash(alice, 70 ether, keccak256("evidence"));
        assertEq(taken, 70 ether, "taken");
        assertEq(token.balanceOf(treasury), 70 ether, "to the treasury");
        vm.prank(slasher);
        assertEq(bonds.slash(alice, 70 ether, keccak256("again")), 30 ether, "no more than is left");
        vm.warp(block.timestamp + 3 days);
        vm.prank(alice);
        bonds.withdraw();
        assertEq(token.balanceOf(alice), 900 ether, "what was left of it: nothing");
    }

    function test_the_cooldown_outlasts_evidence_and_never_the_timelock() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(PlayerBond.PlayerBondBadParameters.selector, 1 ether, 1 hours, treasury));
        bonds.setParameters(1 ether, 1 hours, treasury);
        vm.expectRevert(abi.encodeWithSelector(PlayerBond.PlayerBondBadParameters.selector, 1 ether, 8 days, treasury));
        bonds.setParameters(1 ether, 8 days, treasury);
        vm.expectRevert(abi.encodeWithSelector(PlayerBond.PlayerBondBadParameters.selector, 0, 1 days, treasury));
        bonds.setParameters(0, 1 days, treasury);
        vm.stopPrank();
    }

    function test_governance_sets_the_parameters() public {
        vm.expectRevert();
        bonds.setParameters(1 ether, 1 days, treasury);
        vm.prank(admin);
        bonds.setParameters(200 ether, 1 days, treasury);
        vm.prank(alice);
        bonds.bond(100 ether);
        assertTrue(!bonds.isBonded(alice), "the minimum moved");
        vm.prank(alice);
        vm.expectRevert(PlayerBond.PlayerBondZeroAmount.selector);
        bonds.bond(0);
    }
}
