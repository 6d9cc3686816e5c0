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

    /// Upgrades `three` as the player, with metadata pinned for the item they upgrade into now.
    function upgrade(uint256[3] memory three) internal returns (uint256) {
        uint256 expected = crafting.upgradeResult(three);
        vm.prank(player);
        return crafting.upgrade(three, expected, "bafyupgrade");
    }

    function test_upgrade_burns_three_charges_the_fee_and_mints_the_next_rarity() public {
        uint256 minted = upgrade(ids);
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
        crafting.upgrade(bad, 0, "bafyupgrade");
        vm.prank(admin);
        crafting.setRecipe(0, 1, false, 0);
        vm.prank(player);
        vm.expectRevert(abi.encodeWithSelector(Crafting.CraftingRecipeDisabled.selector, 0, 1));
        crafting.upgrade(ids, 0, "bafyupgrade");
    }

    /// Three items of rarity `r` with `damage` and `defense`, minted to the player as batch 5.
    function mintThree(uint8 r, uint16 damage, uint16 defense) internal returns (uint256[3] memory out) {
        for (uint256 i; i < 3; ++i) {
            out[i] = items.encodeId(CyteriaItems.ItemStats(0, r, damage, defense, 300, 0), 5, uint16(i));
            vm.prank(admin);
            items.mint(player, out[i], 1);
        }
    }

    function test_upgrading_a_60000_damage_item_saturates_instead_of_wrapping() public {
        vm.prank(admin);
        crafting.setRecipe(0, 3, true, 0);
        uint256[3] memory big = mintThree(3, 60_000, 60_000);
        uint256 minted = upgrade(big);
        CyteriaItems.ItemStats memory s = items.itemStats(minted);
        assertEq(s.rarity, 4, "mythic");
        assertEq(s.damage, type(uint16).max, "damage saturates (60,000 * 240 / 190 = 75,789)");
        assertEq(s.defense, type(uint16).max, "defense saturates");
        assertEq(s.durability, 315, "3/4 of the mythic maximum");
    }

    function test_upgrade_stats_at_the_uint16_boundary() public view {
        // 51,881 * 240 / 190 = 65,533; 51,882 -> 65,535 exactly; 51,883 -> 65,536, one past.
        uint16[3] memory dmg = [uint16(51_881), 51_882, 51_883];
        uint16[3] memory want = [uint16(65_533), 65_535, 65_535];
        for (uint256 i; i < 3; ++i) {
            uint256[3] memory three;
            for (uint256 j; j < 3; ++j) {
                three[j] = items.encodeId(CyteriaItems.ItemStats(0, 3, dmg[i], 0, 300, 0), 5, uint16(j));
            }
            assertEq(items.itemStats(crafting.upgradeResult(three)).damage, want[i], "boundary");
        }
    }

    function testFuzz_upgrades_never_lower_or_wrap_a_stat(uint8 rarity, uint16 damage, uint16 defense, uint16 other)
        public
        view
    {
        rarity = rarity % 4; // mythic items do not upgrade
        uint16[5] memory pct = [uint16(100), 125, 155, 190, 240];
        uint256[3] memory three;
        three[0] = items.encodeId(CyteriaItems.ItemStats(1, rarity, damage, defense, 100, 0), 5, 0);
        three[1] = items.encodeId(CyteriaItems.ItemStats(1, rarity, other, other, 100, 0), 5, 1);
        three[2] = items.encodeId(CyteriaItems.ItemStats(1, rarity, 0, 0, 100, 0), 5, 2);
        CyteriaItems.ItemStats memory s = items.itemStats(crafting.upgradeResult(three));
        uint256 bestDamage = damage > other ? damage : other;
        uint256 bestDefense = defense > other ? defense : other;
        uint256 wantDamage = bestDamage * pct[rarity + 1] / pct[rarity];
        uint256 wantDefense = bestDefense * pct[rarity + 1] / pct[rarity];
        assertEq(s.damage, wantDamage > type(uint16).max ? type(uint16).max : wantDamage, "damage scaled, capped");
        assertEq(s.defense, wantDefense > type(uint16).max ? type(uint16).max : wantDefense, "defense scaled, capped");
        assertTrue(s.damage >= bestDamage && s.defense >= bestDefense, "an upgrade never lowers a stat");
    }

    function test_an_upgraded_item_names_its_metadata_cid() public {
        uint256 minted = upgrade(ids);
        assertEq(items.uri(minted), "ipfs://bafyupgrade/0.json", "the CID the crafter pinned, item 0 of the crafted batch");
        assertEq(items.tokenCid(minted), "bafyupgrade", "recorded on the item");
        // The next upgrade is item 1 of the same crafted batch, with its own directory.
        uint256[3] memory more = mintThree(1, 20, 0);
        uint256 expected = crafting.upgradeResult(more);
        vm.prank(player);
        uint256 second = crafting.upgrade(more, expected, "bafysecond");
        assertEq(items.uri(second), "ipfs://bafysecond/1.json", "its own CID");
        assertEq(items.uri(minted), "ipfs://bafyupgrade/0.json", "the first unchanged");
    }

    function test_an_upgrade_without_metadata_is_refused() public {
        uint256 expected = crafting.upgradeResult(ids);
        vm.prank(player);
        vm.expectRevert(abi.encodeWithSelector(CyteriaItems.CyteriaItemsMissingMetadata.selector, expected));
        crafting.upgrade(ids, expected, "");
    }

    function test_metadata_pinned_for_an_index_another_upgrade_took_is_refused() public {
        uint256[3] memory more = mintThree(1, 20, 0);
        uint256 mine = crafting.upgradeResult(ids); // the player builds metadata for index 0...
        upgrade(more); // ...but another upgrade lands first and takes it
        uint256 now_ = crafting.upgradeResult(ids);
        vm.prank(player);
        vm.expectRevert(abi.encodeWithSelector(Crafting.CraftingResultChanged.selector, mine, now_));
        crafting.upgrade(ids, mine, "bafyupgrade");
        vm.prank(player);
        crafting.upgrade(ids, now_, "bafyrebuilt");
        assertEq(items.uri(now_), "ipfs://bafyrebuilt/1.json", "built again for index 1");
    }

    function test_items_the_player_does_not_hold_cannot_be_upgraded() public {
        uint256 expected = crafting.upgradeResult(ids);
        vm.prank(address(0xBAD));
        vm.expectRevert();
        crafting.upgrade(ids, expected, "bafyupgrade");
    }
}
