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

    function test_an_item_cannot_be_minted_twice() public {
        uint256 id = sword(1);
        vm.prank(minter);
        items.mint(player, id, 1);
        bytes4 already = CyteriaItems.CyteriaItemsAlreadyMinted.selector;
        vm.prank(minter);
        vm.expectRevert(abi.encodeWithSelector(already, id));
        items.mint(address(0xD00D), id, 1);
        // Nor twice in one batch.
        uint256[] memory ids = new uint256[](2);
        uint256[] memory ones = new uint256[](2);
        ids[0] = sword(2);
        ids[1] = sword(2);
        ones[0] = 1;
        ones[1] = 1;
        vm.prank(minter);
        vm.expectRevert(abi.encodeWithSelector(already, ids[1]));
        items.mintBatch(player, ids, ones);
        assertEq(items.balanceOf(player, id), 1, "one of it");
        assertTrue(items.isMinted(1, 1) && !items.isMinted(1, 2), "the place of the first is taken, the batch's is not");
    }

    function test_a_batch_index_holds_one_item_whatever_its_stats() public {
        uint256 id = sword(3);
        vm.prank(minter);
        items.mint(player, id, 1);
        // Other stats, same batch and index: it would share `3.json` with the sword.
        uint256 other = items.encodeId(CyteriaItems.ItemStats(1, 0, 0, 9, 90, 0), 1, 3);
        vm.prank(minter);
        vm.expectRevert(abi.encodeWithSelector(CyteriaItems.CyteriaItemsAlreadyMinted.selector, other));
        items.mint(player, other, 1);
        // Neighbouring places are free: index 4 of batch 1, index 3 of batch 2.
        vm.startPrank(minter);
        items.mint(player, items.encodeId(CyteriaItems.ItemStats(1, 0, 0, 9, 90, 0), 1, 4), 1);
        items.mint(player, items.encodeId(CyteriaItems.ItemStats(1, 0, 0, 9, 90, 0), 2, 3), 1);
        vm.stopPrank();
    }

    function testFuzz_a_minted_place_is_taken_for_any_other_id(uint48 batch, uint16 index, uint16 damage) public {
        uint256 first = items.encodeId(CyteriaItems.ItemStats(0, 0, 1, 0, 1, 0), batch, index);
        uint256 second = items.encodeId(CyteriaItems.ItemStats(0, 0, damage, 0, 1, 0), batch, index);
        vm.prank(minter);
        items.mint(player, first, 1);
        assertTrue(items.isMinted(batch, index), "taken");
        vm.prank(minter);
        vm.expectRevert(abi.encodeWithSelector(CyteriaItems.CyteriaItemsAlreadyMinted.selector, second));
        items.mint(player, second, 1);
    }

    function test_a_burned_item_is_not_minted_again() public {
        uint256 id = sword(1);
        vm.startPrank(minter);
        items.mint(player, id, 1);
        items.burn(player, id, 1);
        vm.expectRevert(abi.encodeWithSelector(CyteriaItems.CyteriaItemsAlreadyMinted.selector, id));
        items.mint(player, id, 1);
        vm.stopPrank();
    }

    function test_items_are_minted_one_at_a_time() public {
        bytes4 bad = CyteriaItems.CyteriaItemsInvalidAmount.selector;
        uint256 id = sword(1);
        vm.startPrank(minter);
        vm.expectRevert(abi.encodeWithSelector(bad, id, 0));
        items.mint(player, id, 0);
        vm.expectRevert(abi.encodeWithSelector(bad, id, 2));
        items.mint(player, id, 2);
        vm.expectRevert(abi.encodeWithSelector(bad, id, type(uint256).max));
        items.mint(player, id, type(uint256).max);
        items.mint(player, id, 1);
        vm.stopPrank();
        assertEq(items.balanceOf(player, id), 1, "exactly one");
    }

    function test_uri_is_empty_until_metadata_is_recorded() public view {
        assertEq(items.uri(sword(5)), "", "no ipfs:/// without a CID");
    }

    function test_an_item_minted_with_its_own_metadata_names_it_over_its_batch() public {
        uint256 id = sword(9);
        vm.expectEmit(address(items));
        emit CyteriaItems.TokenMetadata(id, "bafyown");
        vm.prank(minter);
        items.mintWithMetadata(player, id, "bafyown");
        assertEq(items.balanceOf(player, id), 1, "minted, one");
        assertEq(items.uri(id), "ipfs://bafyown/9.json", "its own directory");
        vm.prank(minter);
        items.setBatchCid(1, "bafybatch");
        assertEq(items.uri(id), "ipfs://bafyown/9.json", "still its own");
        assertEq(items.uri(sword(8)), "ipfs://bafybatch/8.json", "the batch's for the rest");
        uint256 next = sword(10); // external calls: made before the pranks
        bytes32 role = items.MINTER_ROLE();
        vm.prank(minter);
        vm.expectRevert(abi.encodeWithSelector(CyteriaItems.CyteriaItemsMissingMetadata.selector, next));
        items.mintWithMetadata(player, next, "");
        vm.prank(player);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, player, role));
        items.mintWithMetadata(player, next, "bafyx");
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

/// Mints, moves and burns ids from a small pool whose ids share batches and indices, by a few actors.
contract CyteriaItemsHandler is Test {
    CyteriaItems items;
    address[3] public actors = [address(0x4001), address(0x4002), address(0x4003)];
    uint256[] public pool;

    constructor(CyteriaItems i) {
        items = i;
        // Two stat variants for each of batches 1..2 and indices 0..1: eight ids on four item slots.
        for (uint48 b = 1; b <= 2; ++b) {
            for (uint16 x; x < 2; ++x) {
                pool.push(items.encodeId(CyteriaItems.ItemStats(0, 0, 10, 0, 100, 0), b, x));
                pool.push(items.encodeId(CyteriaItems.ItemStats(1, 1, 0, 12, 120, 0), b, x));
            }
        }
    }

    function poolSize() external view returns (uint256) {
        return pool.length;
    }

    /// Any mint is tried: the contract decides which ones go through.
    function mint(uint256 pick, uint256 who, uint8 amount) external {
        try items.mint(actors[who % 3], pool[pick % pool.length], amount % 3) {} catch {}
    }

    function mintBatch(uint256 pick, uint256 other, uint256 who) external {
        uint256[] memory ids = new uint256[](2);
        uint256[] memory ones = new uint256[](2);
        ids[0] = pool[pick % pool.length];
        ids[1] = pool[other % pool.length];
        ones[0] = 1;
        ones[1] = 1;
        try items.mintBatch(actors[who % 3], ids, ones) {} catch {}
    }

    function transfer(uint256 pick, uint256 from, uint256 to) external {
        uint256 id = pool[pick % pool.length];
        address a = actors[from % 3];
        // Assumption: holders send only what they hold.
        if (items.balanceOf(a, id) == 0) return;
        vm.prank(a);
        items.safeTransferFrom(a, actors[to % 3], id, 1, "");
    }

    function burn(uint256 pick, uint256 who) external {
        uint256 id = pool[pick % pool.length];
        address a = actors[who % 3];
        if (items.balanceOf(a, id) == 0) return;
        items.burn(a, id, 1);
    }

    /// How many of `id` the actors hold together.
    function supply(uint256 id) public view returns (uint256 sum) {
        for (uint256 i; i < 3; ++i) {
            sum += items.balanceOf(actors[i], id);
        }
    }
}

contract CyteriaItemsInvariants is Test {
    CyteriaItems items;
    CyteriaItemsHandler handler;

    function setUp() public {
        items = new CyteriaItems(address(this), address(this), 0);
        handler = new CyteriaItemsHandler(items);
        items.grantRole(items.MINTER_ROLE(), address(handler));
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    function invariant_supply_of_each_id_is_at_most_one() public view {
        for (uint256 i; i < handler.poolSize(); ++i) {
            assertTrue(handler.supply(handler.pool(i)) <= 1, "an item exists at most once");
        }
    }

    function invariant_each_batch_index_holds_at_most_one_item() public view {
        // The pool lists the two ids of each (batch, index) side by side.
        for (uint256 i; i < handler.poolSize(); i += 2) {
            assertTrue(handler.supply(handler.pool(i)) + handler.supply(handler.pool(i + 1)) <= 1, "one metadata slot, one item");
        }
    }
}
