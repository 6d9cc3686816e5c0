// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {Test} from "./Vm.sol";
import {CYTR} from "../src/CYTR.sol";
import {CyteriaItems} from "../src/CyteriaItems.sol";
import {Staking} from "../src/Staking.sol";
import {ValidatorSet} from "../src/ValidatorSet.sol";
import {Settlement} from "../src/Settlement.sol";
import {Marketplace} from "../src/Marketplace.sol";
import {Auction} from "../src/Auction.sol";
import {Crafting} from "../src/Crafting.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/// Every admin-only and pauser-only setter refuses others and works for its role holder.
contract AccessControlTest is Test {
    CYTR cytr;
    CyteriaItems items;
    Staking staking;
    Settlement settlement;
    Marketplace market;
    Auction auction;
    Crafting crafting;
    address stranger = address(0xBAD);
    bytes32 constant ADMIN = 0x00;

    function setUp() public {
        cytr = new CYTR(address(this), 1e30);
        items = new CyteriaItems(address(this), address(this), 0);
        staking = new Staking(cytr, address(this), 1, 1 days);
        settlement = new Settlement(staking, items, address(this), address(this), 1);
        market = new Marketplace(cytr, items, address(this), address(this), 0, address(0));
        auction = new Auction(cytr, items, address(this), address(this), address(0));
        crafting = new Crafting(items, cytr, address(this), address(this), address(0));
    }

    function expectDenied(bytes32 role) internal {
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role));
        vm.prank(stranger);
    }

    function test_admin_setters_refuse_strangers_and_work_for_the_admin() public {
        expectDenied(ADMIN);
        staking.setParameters(5, 2 days);
        staking.setParameters(5, 2 days);
        assertEq(staking.minValidatorStake(), 5, "staking");

        expectDenied(ADMIN);
        settlement.setParameters(stranger, 7);
        settlement.setParameters(address(1), 7);
        assertEq(settlement.slashAmount(), 7, "settlement");

        expectDenied(ADMIN);
        market.setFee(stranger, 100);
        market.setFee(address(1), 100);
        assertEq(market.feeBps(), 100, "market");
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketplaceFeeTooHigh.selector, uint16(1001)));
        market.setFee(address(1), 1001);

        expectDenied(ADMIN);
        auction.setParameters(stranger, 1, 1, 1);
        auction.setParameters(address(1), 5000, 100, 60);
        assertEq(auction.feeBps(), 1000, "auction fee capped at 10%");

        expectDenied(ADMIN);
        crafting.setRecipe(0, 0, true, 1);
        crafting.setRecipe(0, 0, true, 1);
        (bool enabled,) = crafting.recipes(0, 0);
        assertTrue(enabled, "recipe");
        vm.expectRevert(abi.encodeWithSelector(Crafting.CraftingRecipeDisabled.selector, uint8(0), uint8(4)));
        crafting.setRecipe(0, 4, true, 1);

        expectDenied(ADMIN);
        items.setDefaultRoyalty(stranger, 100);
        items.setDefaultRoyalty(address(1), 100);
    }

    function test_pausers_alone_pause() public {
        bytes32 p = market.PAUSER_ROLE();
        expectDenied(p);
        market.pause();
        expectDenied(auction.PAUSER_ROLE());
        auction.pause();
        expectDenied(crafting.PAUSER_ROLE());
        crafting.pause();
        expectDenied(items.PAUSER_ROLE());
        items.pause();
        market.grantRole(p, address(this));
        market.pause();
        assertTrue(market.paused(), "paused");
        market.unpause();
        assertTrue(!market.paused(), "unpaused");
    }

    function test_minting_roles_guard_items_and_cytr() public {
        expectDenied(items.MINTER_ROLE());
        items.setBatchCid(1, "x");
        uint256[] memory ids = new uint256[](0);
        expectDenied(items.MINTER_ROLE());
        items.mintBatch(stranger, ids, ids);
        expectDenied(items.MINTER_ROLE());
        items.burn(stranger, 1, 1);
        expectDenied(staking.REWARDS_ROLE());
        staking.fundRewards(1, 1);
    }

    function test_validators_can_leave_the_set() public {
        cytr.grantRole(cytr.MINTER_ROLE(), address(this));
        cytr.mint(address(this), 10);
        cytr.approve(address(staking), 10);
        staking.stake(10);
        address[] memory genesis = new address[](1);
        genesis[0] = address(this);
        staking.setGenesisValidators(genesis);
        staking.registerValidator();
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.ValidatorSetAlreadyMember.selector, address(this)));
        staking.registerValidator();
        staking.deregisterValidator();
        assertEq(staking.validatorCount(), 0, "left");
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.ValidatorSetNotMember.selector, address(this)));
        staking.deregisterValidator();
    }
}

/// The remaining input-validation reverts, one assertion each.
contract InputValidationTest is Test {
    function test_zero_amounts_and_missing_records_are_refused() public {
        CYTR cytr = new CYTR(address(this), 1e30);
        CyteriaItems items = new CyteriaItems(address(this), address(this), 0);
        Staking staking = new Staking(cytr, address(this), 1, 1 days);
        Marketplace market = new Marketplace(cytr, items, address(this), address(this), 0, address(0));
        Auction auction = new Auction(cytr, items, address(this), address(this), address(0));

        vm.expectRevert(Staking.StakingZeroAmount.selector);
        staking.stake(0);
        vm.expectRevert(Staking.StakingZeroAmount.selector);
        staking.requestUnstake(0);
        vm.expectRevert(abi.encodeWithSelector(Staking.StakingInsufficientStake.selector, 0, 1));
        staking.requestUnstake(1);
        vm.expectRevert(Staking.StakingZeroAmount.selector);
        staking.withdraw();

        vm.expectRevert(Marketplace.MarketplaceZeroAmount.selector);
        market.list(1, 0, 1);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketplaceNoListing.selector, 9));
        market.buy(9, 1, 1);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketplaceNoListing.selector, 9));
        market.cancel(9);

        vm.expectRevert(Auction.AuctionZeroAmount.selector);
        auction.create(1, 0, 1, 1);
        vm.expectRevert(abi.encodeWithSelector(Auction.AuctionNoLot.selector, 9));
        auction.bid(9, 1);
        vm.expectRevert(abi.encodeWithSelector(Auction.AuctionNoLot.selector, 9));
        auction.settle(9);
        vm.expectRevert(abi.encodeWithSelector(Auction.AuctionNoLot.selector, 9));
        auction.cancel(9);
        vm.expectRevert(Auction.AuctionZeroAmount.selector);
        auction.withdrawRefund();

        uint256 badType = uint256(3) << 248;
        items.grantRole(items.MINTER_ROLE(), address(this));
        vm.expectRevert(abi.encodeWithSelector(CyteriaItems.CyteriaItemsInvalidStats.selector, badType));
        items.mint(address(1), badType, 1);
    }
}
