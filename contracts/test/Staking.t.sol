// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {Test} from "./Vm.sol";
import {CYTR} from "../src/CYTR.sol";
import {Staking} from "../src/Staking.sol";
import {ValidatorSet} from "../src/ValidatorSet.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

contract StakingTest is Test {
    /// The settlement's last epoch, as the validator set reads it (this test is the settlement).
    uint64 public epoch;
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
        staking.setSettlement(address(this));
        address[] memory genesis = new address[](2);
        (genesis[0], genesis[1]) = (alice, bob);
        staking.setGenesisValidators(genesis);
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
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.ValidatorSetBelowMinimum.selector, 99 ether, 100 ether));
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
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.ValidatorSetNotSettlement.selector, bob));
        vm.prank(bob);
        staking.slash(alice, 1, bob);
        // Not even the admin (the DAO's timelock) can.
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.ValidatorSetNotSettlement.selector, admin));
        vm.prank(admin);
        staking.slash(alice, 1, bob);
        uint256 taken = staking.slash(alice, 180 ether, address(0xDA0));
        assertEq(taken, 180 ether, "taken");
        assertEq(staking.stakeOf(alice), 0, "stake gone");
        (uint256 pending,) = staking.pendingOf(alice);
        assertEq(pending, 20 ether, "rest from pending");
        assertEq(token.balanceOf(address(0xDA0)), 180 ether, "sent");
        assertTrue(!staking.isValidator(alice), "removed");
    }

    function test_rewards_streamed_while_nothing_is_staked_carry_into_the_next_period() public {
        vm.prank(admin);
        staking.fundRewards(100 ether, 100);
        vm.warp(block.timestamp + 50); // half the period with nobody staked
        vm.prank(alice);
        staking.stake(100 ether);
        vm.warp(block.timestamp + 50);
        assertTrue(staking.earned(alice) > 49.99 ether && staking.earned(alice) <= 50 ether, "alice the half she staked for");
        vm.prank(admin);
        staking.fundRewards(100 ether, 100); // the 50 nobody earned join these 100
        vm.warp(block.timestamp + 100);
        uint256 e = staking.earned(alice);
        assertTrue(e > 199.99 ether && e <= 200 ether, "all 200 funded reach the only staker");
    }

    function test_rewards_streamed_after_everyone_left_carry_over() public {
        vm.prank(alice);
        staking.stake(100 ether);
        vm.prank(admin);
        staking.fundRewards(100 ether, 100);
        vm.warp(block.timestamp + 20);
        vm.prank(alice);
        staking.requestUnstake(100 ether); // nobody staked for the last 80 seconds
        vm.warp(block.timestamp + 200);
        vm.prank(bob);
        staking.stake(100 ether);
        vm.prank(admin);
        staking.fundRewards(20 ether, 100);
        vm.warp(block.timestamp + 100);
        uint256 a = staking.earned(alice);
        uint256 b = staking.earned(bob);
        assertTrue(a > 19.99 ether && a <= 20 ether, "alice her 20 seconds");
        assertTrue(b > 99.99 ether && b <= 100 ether, "bob the 20 funded and the 80 carried");
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
    uint64 public epoch;
    CYTR token;
    Staking staking;
    StakingHandler handler;

    function setUp() public {
        token = new CYTR(address(this), 1e30);
        staking = new Staking(token, address(this), 100 ether, 1 days);
        handler = new StakingHandler(staking);
        token.grantRole(token.MINTER_ROLE(), address(this));
        staking.setSettlement(address(this));
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

/// A token that can lose what an address holds, to stand for rewards that left without the
/// staking contract's accounting.
contract LeakyToken is ERC20 {
    constructor() ERC20("Leaky", "LEAK") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function leak(address from, uint256 amount) external {
        _burn(from, amount);
    }
}

contract StakingFundingTest is Test {
    function test_fundRewards_refuses_a_rate_the_contract_cannot_pay() public {
        LeakyToken token = new LeakyToken();
        Staking staking = new Staking(IERC20(address(token)), address(this), 1, 1 days);
        staking.grantRole(staking.REWARDS_ROLE(), address(this));
        token.mint(address(this), 1000 ether);
        token.approve(address(staking), type(uint256).max);
        staking.fundRewards(100 ether, 100);
        token.leak(address(staking), 50 ether);
        // 10 more plus the 100 still to stream, but only 60 held.
        vm.expectRevert(
            abi.encodeWithSelector(Staking.StakingRewardTooHigh.selector, 110 ether, 60 ether)
        );
        staking.fundRewards(10 ether, 100);
        // Funding what is held goes through.
        token.mint(address(staking), 50 ether);
        staking.fundRewards(10 ether, 100);
        assertEq(staking.rewardRate(), 1.1 ether, "the 100 left and the 10 new over 100 seconds");
    }
}

/// Drives staking rewards: stakes, unstakes, withdrawals, fundings, claims and time, including
/// stretches with nothing staked.
contract StakingRewardsHandler is Test {
    Staking staking;
    CYTR token;
    address[3] public actors = [address(0x2101), address(0x2102), address(0x2103)];
    address funder = address(0xF00D);
    uint256 public funded;
    uint256 public paid;

    constructor(Staking s, CYTR t) {
        staking = s;
        token = t;
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
        // Often all of it, so the pool empties now and then.
        vm.prank(a);
        staking.requestUnstake(amount % 2 == 0 ? s : 1 + amount % s);
    }

    function withdraw(uint256 who) external {
        address a = actors[who % 3];
        (uint256 p, uint64 unlockAt) = staking.pendingOf(a);
        if (p == 0) return;
        if (block.timestamp < unlockAt) vm.warp(unlockAt);
        vm.prank(a);
        staking.withdraw();
    }

    function fund(uint256 amount, uint64 duration) external {
        amount = 1 + amount % 1000 ether;
        duration = 1 + duration % 30 days;
        vm.prank(funder);
        staking.fundRewards(amount, duration);
        funded += amount;
    }

    function claim(uint256 who) external {
        address a = actors[who % 3];
        uint256 before = token.balanceOf(a);
        vm.prank(a);
        staking.getReward();
        paid += token.balanceOf(a) - before;
    }

    function wait(uint32 secs) external {
        vm.warp(block.timestamp + secs % 10 days);
    }

    /// What the actors can claim now.
    function claimable() public view returns (uint256 sum) {
        for (uint256 i; i < 3; ++i) {
            sum += staking.earned(actors[i]);
        }
    }
}

contract StakingRewardInvariants is Test {
    uint64 public epoch;
    CYTR token;
    Staking staking;
    StakingRewardsHandler handler;

    function setUp() public {
        token = new CYTR(address(this), 1e30);
        staking = new Staking(token, address(this), 100 ether, 1 days);
        handler = new StakingRewardsHandler(staking, token);
        token.grantRole(token.MINTER_ROLE(), address(this));
        staking.setSettlement(address(this));
        staking.grantRole(staking.REWARDS_ROLE(), address(0xF00D));
        token.mint(address(0xF00D), 1e27);
        vm.prank(address(0xF00D));
        token.approve(address(staking), type(uint256).max);
        for (uint256 i; i < 3; ++i) {
            address a = handler.actors(i);
            token.mint(a, 1e27);
            vm.prank(a);
            token.approve(address(staking), type(uint256).max);
        }
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    function invariant_rewards_paid_plus_claimable_never_exceed_funded() public view {
        assertTrue(handler.paid() + handler.claimable() <= handler.funded(), "paid + claimable <= funded");
    }

    /// Every funded reward is paid, accrued to stakers, still to stream, or carried: none stranded.
    function invariant_funded_rewards_are_paid_accrued_streaming_or_carried() public view {
        uint256 finish = staking.periodFinish();
        uint256 last = staking.lastUpdate();
        uint256 streaming = last < finish ? (finish - last) * staking.rewardRate() : 0;
        assertEq(
            handler.paid() + staking.rewardsAccrued() + streaming + staking.rewardsCarried(),
            handler.funded(),
            "funded == paid + accrued + streaming + carried"
        );
    }

    function invariant_tokens_cover_stakes_pending_and_unpaid_rewards() public view {
        uint256 pending;
        for (uint256 i; i < 3; ++i) {
            (uint256 p,) = staking.pendingOf(handler.actors(i));
            pending += p;
        }
        assertEq(staking.totalPending(), pending, "totalPending sums pendingOf");
        assertEq(
            token.balanceOf(address(staking)),
            staking.totalStaked() + pending + handler.funded() - handler.paid(),
            "held == stakes + pending + funded - paid"
        );
    }
}
