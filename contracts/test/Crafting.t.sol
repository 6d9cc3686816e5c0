// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {Test} from "./Vm.sol";
import {CYTR} from "../src/CYTR.sol";
import {CyteriaItems} from "../src/CyteriaItems.sol";
import {Crafting} from "../src/Crafting.sol";

contract CraftingTest is Test {
    CYTR cytr;
    CyteriaItems items;
    Crafting crafting;
    address admin = address(0xA11CE);
    address treasury = address(0xDA0);
    address player = address(0xCAFE);
    uint256[3] ids;

    function setUp() public {
        cytr = new CYTR(admin, 1e30);
        items = new CyteriaItems(admin, admin, 0);
        crafting = new Crafting(items, cytr, admin, treasury, address(0xF0));
        vm.startPrank(admin);
        cytr.grantRole(cytr.MINTER_ROLE(), admin);
        items.grantRole(items.MINTER_ROLE(), admin);
        items.grantRole(items.MINTER_ROLE(), address(crafting));
        crafting.setRecipe(0, 1, true, 10 ether);
        cytr.mint(player, 100 ether);
        vm.stopPrank();
        ids[0] = items.encodeId(CyteriaItems.ItemStats(0, 1, 15, 0, 100, bytes32(uint256(1))), 1, 0);
        ids[1] = items.encodeId(CyteriaItems.ItemStats(0, 1, 18, 0, 90, bytes32(uint256(2))), 1, 1);
        ids[2] = items.encodeId(CyteriaItems.ItemStats(0, 1, 16, 0, 80, 0), 1, 2);
        vm.startPrank(admin);
        for (uint256 i; i < 3; ++i) {
            items.mint(player, ids[i], 1);
        }
        vm.stopPrank();
        vm.prank(player);
        cytr.approve(address(crafting), type(uint256).max);
    }

    function test_upgrade_burns_three_charges_the_fee_and_mints_the_next_rarity() public {
        vm.prank(player);
        uint256 minted = crafting.upgrade(ids);
        CyteriaItems.ItemStats memory s = items.itemStats(minted);
        assertEq(s.rarity, 2, "rare");
        assertEq(s.damage, uint256(18) * 155 / 125, "best damage scaled");
        assertEq(s.durability, 195, "3/4 of the rare maximum");
        assertEq(s.traits, bytes32(uint256(3)), "union of traits");
        assertEq(items.balanceOf(player, minted), 1, "minted");
        for (uint256 i; i < 3; ++i) {
            assertEq(items.balanceOf(player, ids[i]), 0, "burned");
        }
        assertEq(cytr.balanceOf(treasury), 10 ether, "fee");
    }

    function test_mismatched_or_disabled_upgrades_are_refused() public {
        uint256[3] memory bad = ids;
        bad[2] = items.encodeId(CyteriaItems.ItemStats(1, 1, 0, 5, 80, 0), 1, 3);
        vm.prank(admin);
        items.mint(player, bad[2], 1);
        vm.prank(admin);
        crafting.setRecipe(0, 1, true, 0);
        vm.prank(player);
        vm.expectRevert(Crafting.CraftingMismatchedItems.selector);
        crafting.upgrade(bad);
        vm.prank(admin);
        crafting.setRecipe(0, 1, false, 0);
        vm.prank(player);
        vm.expectRevert(abi.encodeWithSelector(Crafting.CraftingRecipeDisabled.selector, 0, 1));
        crafting.upgrade(ids);
    }

    function test_items_the_player_does_not_hold_cannot_be_upgraded() public {
        vm.prank(address(0xBAD));
        vm.expectRevert();
        crafting.upgrade(ids);
    }
}
