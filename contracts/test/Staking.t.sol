// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {Test} from "./Vm.sol";
import {CYTR} from "../src/CYTR.sol";
import {Staking} from "../src/Staking.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

contract StakingTest is Test {
    CYTR token;
    Staking staking;
    address admin = address(0xA11CE);
    address alice = address(0xA);
    address bob = address(0xB);

    function setUp() public {
        token = new CYTR(admin, 1e30);
        staking = new Staking(token, admin, 100 ether, 7 days);
        vm.startPrank(admin);
        token.grantRole(token.MINTER_ROLE(), admin);
        token.mint(alice, 1000 ether);
        token.mint(bob, 1000 ether);
        token.mint(admin, 1000 ether);
        staking.grantRole(staking.REWARDS_ROLE(), admin);
        staking.grantRole(staking.SLASHER_ROLE(), admin);
        token.approve(address(staking), type(uint256).max);
        vm.stopPrank();
        vm.prank(alice);
        token.approve(address(staking), type(uint256).max);
        vm.prank(bob);
        token.approve(address(staking), type(uint256).max);
    }

    function test_rewards_split_by_stake_and_time() public {
        vm.prank(alice);
        staking.stake(100 ether);
        vm.prank(bob);
        staking.stake(300 ether);
        vm.prank(admin);
        staking.fundRewards(400 ether, 100);
        vm.warp(block.timestamp + 100);
        assertTrue(staking.earned(alice) > 99.9 ether && staking.earned(alice) <= 100 ether, "alice a quarter");
        assertTrue(staking.earned(bob) > 299.9 ether && staking.earned(bob) <= 300 ether, "bob three quarters");
        uint256 before = token.balanceOf(alice);
        vm.prank(alice);
        staking.getReward();
        uint256 paid = token.balanceOf(alice) - before;
        assertTrue(paid > 99.9 ether && paid <= 100 ether, "paid what was earned");
        assertEq(staking.earned(alice), 0, "claimed");
    }

    function test_unstake_waits_for_the_cooldown() public {
        vm.startPrank(alice);
        staking.stake(100 ether);
        staking.requestUnstake(40 ether);
        (, uint64 unlockAt) = staking.pendingOf(alice);
        vm.expectRevert(abi.encodeWithSelector(Staking.StakingCooldownActive.selector, unlockAt));
        staking.withdraw();
        vm.warp(unlockAt);
        staking.withdraw();
        vm.stopPrank();
        assertEq(token.balanceOf(alice), 940 ether, "40 back");
        assertEq(staking.totalStaked(), 60 ether, "60 left");
    }

    function test_validators_need_the_minimum_and_drop_below_it() public {
        vm.startPrank(alice);
        staking.stake(99 ether);
        vm.expectRevert(abi.encodeWithSelector(Staking.StakingBelowValidatorMinimum.selector, 99 ether, 100 ether));
        staking.registerValidator();
        staking.stake(1 ether);
        staking.registerValidator();
        assertTrue(staking.isValidator(alice), "registered");
        staking.requestUnstake(1);
        vm.stopPrank();
        assertTrue(!staking.isValidator(alice), "dropped below the minimum");
    }

    function test_only_the_slasher_slashes_and_it_reaches_pending_stake() public {
        vm.startPrank(alice);
        staking.stake(200 ether);
        staking.registerValidator();
        staking.requestUnstake(50 ether);
        vm.stopPrank();
        bytes32 role = staking.SLASHER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, bob, role));
        vm.prank(bob);
        staking.slash(alice, 1, bob);
        vm.prank(admin);
        uint256 taken = staking.slash(alice, 180 ether, address(0xDA0));
        assertEq(taken, 180 ether, "taken");
        assertEq(staking.stakeOf(alice), 0, "stake gone");
        (uint256 pending,) = staking.pendingOf(alice);
        assertEq(pending, 20 ether, "rest from pending");
        assertEq(token.balanceOf(address(0xDA0)), 180 ether, "sent");
        assertTrue(!staking.isValidator(alice), "removed");
    }

    function testFuzz_total_equals_sum_of_stakes(uint96 a, uint96 b, uint96 u) public {
        uint256 sa = uint256(a) % 1000 ether + 1;
        uint256 sb = uint256(b) % 1000 ether + 1;
        vm.prank(alice);
        staking.stake(sa);
        vm.prank(bob);
        staking.stake(sb);
        uint256 un = uint256(u) % sa + 1;
        vm.prank(alice);
        staking.requestUnstake(un);
        assertEq(staking.totalStaked(), staking.stakeOf(alice) + staking.stakeOf(bob), "sum");
        assertEq(token.balanceOf(address(staking)), sa + sb, "held");
    }
}

/// Drives staking with random stakes, unstake requests, withdrawals and slashes.
contract StakingHandler is Test {
    Staking staking;
    StakingInvariants owner;
    address[3] public actors = [address(0x2001), address(0x2002), address(0x2003)];

    constructor(Staking s) {
        staking = s;
        owner = StakingInvariants(msg.sender);
    }

    function stake(uint256 who, uint256 amount) external {
        amount = 1 + amount % 500 ether;
        vm.prank(actors[who % 3]);
        staking.stake(amount);
    }

    function requestUnstake(uint256 who, uint256 amount) external {
        address a = actors[who % 3];
        uint256 s = staking.stakeOf(a);
        if (s == 0) return;
        vm.prank(a);
        staking.requestUnstake(1 + amount % s);
    }

    function withdraw(uint256 who) external {
        address a = actors[who % 3];
        (uint256 p, uint64 unlockAt) = staking.pendingOf(a);
        if (p == 0) return;
        vm.warp(unlockAt);
        vm.prank(a);
        staking.withdraw();
    }

    function slash(uint256 who, uint256 amount) external {
        // The test contract holds the slasher role; the handler calls through it.
        owner.slashVia(actors[who % 3], amount % 300 ether);
    }
}

contract StakingInvariants is Test {
    CYTR token;
    Staking staking;
    StakingHandler handler;

    function setUp() public {
        token = new CYTR(address(this), 1e30);
        staking = new Staking(token, address(this), 100 ether, 1 days);
        handler = new StakingHandler(staking);
        token.grantRole(token.MINTER_ROLE(), address(this));
        staking.grantRole(staking.SLASHER_ROLE(), address(this));
        for (uint256 i; i < 3; ++i) {
            address a = handler.actors(i);
            token.mint(a, 1e27);
            vm.prank(a);
            token.approve(address(staking), type(uint256).max);
        }
    }

    function slashVia(address who, uint256 amount) external {
        if (msg.sender != address(handler)) revert AssertionFailed("only the handler");
        staking.slash(who, amount, address(0xDA0));
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    function invariant_total_equals_sum_of_stakes() public view {
        uint256 sum;
        for (uint256 i; i < 3; ++i) {
            sum += staking.stakeOf(handler.actors(i));
        }
        assertEq(staking.totalStaked(), sum, "total");
    }

    function invariant_tokens_cover_stakes_and_pending() public view {
        uint256 owed = staking.totalStaked();
        for (uint256 i; i < 3; ++i) {
            (uint256 p,) = staking.pendingOf(handler.actors(i));
            owed += p;
        }
        assertEq(token.balanceOf(address(staking)), owed, "held == owed");
    }
}
