// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {Test} from "./Vm.sol";
import {CyteriaItems} from "../src/CyteriaItems.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

contract CyteriaItemsTest is Test {
    CyteriaItems items;
    address admin = address(0xA11CE);
    address minter = address(0xB0B);
    address player = address(0xCAFE);

    function setUp() public {
        items = new CyteriaItems(admin, admin, 500);
        vm.startPrank(admin);
        items.grantRole(items.MINTER_ROLE(), minter);
        items.grantRole(items.PAUSER_ROLE(), admin);
        vm.stopPrank();
    }

    function sword(uint16 index) internal view returns (uint256) {
        return items.encodeId(CyteriaItems.ItemStats(0, 2, 17, 0, 186, bytes32(uint256(0x21))), 1, index);
    }

    function test_itemStats_decodes_every_field() public view {
        CyteriaItems.ItemStats memory s = items.itemStats(sword(7));
        assertEq(s.itemType, 0, "type");
        assertEq(s.rarity, 2, "rarity");
        assertEq(s.damage, 17, "damage");
        assertEq(s.defense, 0, "defense");
        assertEq(s.durability, 186, "durability");
        assertEq(s.traits, bytes32(uint256(0x21)), "traits");
    }

    function testFuzz_encode_decode_round_trip(uint8 t, uint8 r, uint16 dmg, uint16 def, uint16 dur, uint128 traits)
        public
        view
    {
        t = t % 3;
        r = r % 5;
        CyteriaItems.ItemStats memory s = CyteriaItems.ItemStats(t, r, dmg, def, dur, bytes32(uint256(traits)));
        CyteriaItems.ItemStats memory d = items.itemStats(items.encodeId(s, 3, 9));
        assertEq(keccak256(abi.encode(s)), keccak256(abi.encode(d)), "round trip");
    }

    function test_encodeId_rejects_out_of_range_stats() public {
        vm.expectRevert();
        items.encodeId(CyteriaItems.ItemStats(3, 0, 1, 1, 1, 0), 0, 0);
        vm.expectRevert();
        items.encodeId(CyteriaItems.ItemStats(0, 5, 1, 1, 1, 0), 0, 0);
        vm.expectRevert();
        items.encodeId(CyteriaItems.ItemStats(0, 0, 1, 1, 1, bytes32(uint256(1) << 128)), 0, 0);
    }

    function test_only_minters_mint() public {
        uint256 id = sword(1);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, player, items.MINTER_ROLE())
        );
        vm.prank(player);
        items.mint(player, id, 1);
        vm.prank(minter);
        items.mint(player, id, 1);
        assertEq(items.balanceOf(player, id), 1, "minted");
    }

    function test_uri_points_at_the_batch_metadata() public {
        uint256 id = sword(42);
        vm.prank(minter);
        items.setBatchCid(1, "bafybatch");
        assertEq(items.uri(id), "ipfs://bafybatch/42.json", "uri");
        vm.prank(minter);
        vm.expectRevert(abi.encodeWithSelector(CyteriaItems.CyteriaItemsBatchExists.selector, uint48(1)));
        items.setBatchCid(1, "other");
        // Batches are epochs: numbers past 16 bits have their own metadata.
        uint256 late = items.encodeId(CyteriaItems.ItemStats(0, 2, 17, 0, 186, 0), 70_000, 3);
        vm.prank(minter);
        items.setBatchCid(70_000, "bafylater");
        assertEq(items.uri(late), "ipfs://bafylater/3.json", "a later batch");
        assertEq(items.uri(id), "ipfs://bafybatch/42.json", "the first batch's uri is unchanged");
    }

    function test_pause_stops_minting() public {
        uint256 id = sword(1); // an external call: made before the prank
        vm.prank(admin);
        items.pause();
        vm.prank(minter);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        items.mint(player, id, 1);
        vm.prank(admin);
        items.unpause();
        vm.prank(minter);
        items.mint(player, id, 1);
        assertEq(items.balanceOf(player, id), 1, "minted after unpause");
    }

    function test_royalty_is_reported() public view {
        (address to, uint256 amount) = items.royaltyInfo(sword(1), 10_000);
        assertEq(uint160(to), uint160(admin), "receiver");
        assertEq(amount, 500, "5%");
    }

    /// Gas: `forge test --gas-report` shows mintBatch; this test mints 100 stat-carrying items
    /// to a fresh receiver, the case the gas target (<= 30k per item) is about.
    function test_mintBatch_100_items_with_stats() public {
        uint256[] memory ids = new uint256[](100);
        uint256[] memory amounts = new uint256[](100);
        for (uint16 i; i < 100; ++i) {
            ids[i] = sword(i);
            amounts[i] = 1;
        }
        vm.prank(minter);
        uint256 before = gasleft();
        items.mintBatch(player, ids, amounts);
        uint256 used = before - gasleft();
        assertTrue(used / 100 <= 30_000, "per-item mint gas over 30k");
        assertEq(items.balanceOf(player, ids[99]), 1, "last minted");
    }
}
