// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {Test} from "./Vm.sol";
import {CYTR} from "../src/CYTR.sol";
import {Staking} from "../src/Staking.sol";
import {CyteriaItems} from "../src/CyteriaItems.sol";
import {Settlement} from "../src/Settlement.sol";
import {PlayerBond} from "../src/PlayerBond.sol";

contract SettlementTest is Test {
    CYTR token;
    Staking staking;
    CyteriaItems items;
    Settlement settlement;
    address admin = address(0xA11CE);
    address treasury = address(0xDA0);
    address player = address(0xCAFE);
    uint256[3] keys;
    address[3] vals; // sorted by address

    function setUp() public virtual {
        token = new CYTR(admin, 1e30);
        staking = new Staking(token, admin, 100 ether, 1 days);
        items = new CyteriaItems(admin, admin, 500);
        settlement = new Settlement(staking, items, admin, treasury, 50 ether);
        vm.startPrank(admin);
        token.grantRole(token.MINTER_ROLE(), admin);
        staking.grantRole(staking.SLASHER_ROLE(), address(settlement));
        items.grantRole(items.MINTER_ROLE(), address(settlement));
        vm.stopPrank();
        uint256[3] memory ks = [uint256(0x1111), 0x2222, 0x3333];
        address[3] memory as_ = [vm.addr(ks[0]), vm.addr(ks[1]), vm.addr(ks[2])];
        // Sort validators by address (signatures must be in signer order).
        for (uint256 i; i < 3; ++i) {
            for (uint256 j = i + 1; j < 3; ++j) {
                if (as_[j] < as_[i]) {
                    (as_[i], as_[j]) = (as_[j], as_[i]);
                    (ks[i], ks[j]) = (ks[j], ks[i]);
                }
            }
        }
        for (uint256 i; i < 3; ++i) {
            keys[i] = ks[i];
            vals[i] = as_[i];
            vm.prank(admin);
            token.mint(as_[i], 200 ether);
            vm.startPrank(as_[i]);
            token.approve(address(staking), type(uint256).max);
            staking.stake(200 ether);
            staking.registerValidator();
            vm.stopPrank();
        }
    }

    function mints() internal view returns (Settlement.Mint[] memory m) {
        m = new Settlement.Mint[](1);
        m[0].to = player;
        m[0].ids = new uint256[](2);
        m[0].amounts = new uint256[](2);
        m[0].ids[0] = items.encodeId(CyteriaItems.ItemStats(0, 1, 17, 0, 150, bytes32(uint256(1))), 1, 0);
        m[0].ids[1] = items.encodeId(CyteriaItems.ItemStats(1, 0, 0, 6, 120, 0), 1, 1);
        m[0].amounts[0] = 1;
        m[0].amounts[1] = 1;
    }

    function batch(uint64 e, bytes32 prev, bytes32 root, Settlement.Mint[] memory m)
        internal
        view
        returns (Settlement.Batch memory)
    {
        string memory meta = m.length == 0 ? "" : "bafymetadata";
        return Settlement.Batch(e, prev, root, "bafybatchdata", meta, settlement.hashMints(m), settlement.hashSlashes(noSlashes()));
    }

    function noSlashes() internal pure returns (Settlement.Slash[] memory) {
        return new Settlement.Slash[](0);
    }

    function sig(uint256 key, Settlement.Batch memory b) internal returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, settlement.batchDigest(b));
        return abi.encodePacked(r, s, v);
    }

    function sigs(Settlement.Batch memory b, uint256 count) internal returns (bytes[] memory out) {
        out = new bytes[](count);
        for (uint256 i; i < count; ++i) {
            out[i] = sig(keys[i], b);
        }
    }

    function test_two_thirds_settle_the_root_and_mint_the_items() public {
        Settlement.Mint[] memory m = mints();
        Settlement.Batch memory b = batch(1, 0, keccak256("root1"), m);
        settlement.submitBatch(b, m, noSlashes(), sigs(b, 2));
        assertEq(settlement.epoch(), 1, "epoch");
        assertEq(settlement.stateRoot(), keccak256("root1"), "root");
        assertEq(settlement.dataCidOf(1), "bafybatchdata", "cid");
        assertEq(items.balanceOf(player, m[0].ids[0]), 1, "weapon minted");
        assertEq(items.itemStats(m[0].ids[0]).damage, 17, "with its stats");
        assertEq(items.uri(m[0].ids[1]), "ipfs://bafymetadata/1.json", "metadata recorded for the batch");
    }

    function test_each_epoch_records_when_and_where_it_settled_for_match_beacons() public {
        (uint64 deployed, uint64 deployedAt) = settlement.settledAt(0);
        assertTrue(deployed > 0, "the deployment is epoch 0's time");
        assertEq(deployedAt, block.number, "and its block");
        vm.warp(deployed + 90);
        vm.roll(block.number + 45);
        Settlement.Mint[] memory none = new Settlement.Mint[](0);
        Settlement.Batch memory b = batch(1, 0, keccak256("root1"), none);
        settlement.submitBatch(b, none, noSlashes(), sigs(b, 2));
        (uint64 time, uint64 at) = settlement.settledAt(1);
        assertEq(time, deployed + 90, "epoch 1 at its block's time");
        assertEq(at, deployedAt + 45, "and its block's number");
        (time, at) = settlement.settledAt(2);
        assertEq(time + at, 0, "epoch 2 not settled");
    }

    function test_only_the_admin_sets_a_sane_tick_rate() public {
        assertEq(settlement.tickRate(), 60, "real time by default");
        vm.expectRevert();
        settlement.setTickRate(240);
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementBadTickRate.selector, 0));
        settlement.setTickRate(0);
        settlement.setTickRate(240);
        vm.stopPrank();
        assertEq(settlement.tickRate(), 240, "set by the admin");
    }

    function test_a_batch_that_mints_needs_its_metadata() public {
        Settlement.Mint[] memory m = mints();
        Settlement.Batch memory b = Settlement.Batch(1, 0, keccak256("root1"), "bafybatchdata", "", settlement.hashMints(m), settlement.hashSlashes(noSlashes()));
        bytes[] memory s = sigs(b, 2);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementMissingMetadata.selector, 1));
        settlement.submitBatch(b, m, noSlashes(), s);
    }

    function test_a_batch_signed_by_too_few_is_refused() public {
        Settlement.Mint[] memory m = mints();
        Settlement.Batch memory b = batch(1, 0, keccak256("root1"), m);
        bytes[] memory one = sigs(b, 1);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementInsufficientSignatures.selector, 1, 3));
        settlement.submitBatch(b, m, noSlashes(), one);
    }

    function test_a_replayed_batch_is_refused() public {
        Settlement.Mint[] memory m = mints();
        Settlement.Batch memory b = batch(1, 0, keccak256("root1"), m);
        bytes[] memory s = sigs(b, 3);
        settlement.submitBatch(b, m, noSlashes(), s);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementWrongEpoch.selector, 2, 1));
        settlement.submitBatch(b, m, noSlashes(), s);
        assertEq(items.balanceOf(player, m[0].ids[0]), 1, "not minted twice");
    }

    function test_roots_must_chain() public {
        Settlement.Mint[] memory m = mints();
        Settlement.Batch memory b1 = batch(1, 0, keccak256("root1"), m);
        settlement.submitBatch(b1, m, noSlashes(), sigs(b1, 2));
        Settlement.Mint[] memory none = new Settlement.Mint[](0);
        Settlement.Batch memory b2 = batch(2, keccak256("other"), keccak256("root2"), none);
        bytes[] memory s = sigs(b2, 2);
        vm.expectRevert(
            abi.encodeWithSelector(Settlement.SettlementWrongPrevRoot.selector, keccak256("root1"), keccak256("other"))
        );
        settlement.submitBatch(b2, none, noSlashes(), s);
    }

    function test_forged_signatures_and_swapped_mints_are_refused() public {
        Settlement.Mint[] memory m = mints();
        Settlement.Batch memory b = batch(1, 0, keccak256("root1"), m);
        bytes[] memory s = new bytes[](2);
        s[0] = sig(keys[0], b);
        s[1] = sig(0x9999, b); // not a validator
        address forger = vm.addr(0x9999);
        if (forger > vals[0]) {
            vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementNotValidator.selector, forger));
        } else {
            vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementSignersNotSorted.selector, 1));
        }
        settlement.submitBatch(b, m, noSlashes(), s);
        // The same signatures over other mints.
        Settlement.Mint[] memory other = mints();
        other[0].to = address(0xBAD);
        bytes[] memory good = sigs(b, 2);
        vm.expectRevert(
            abi.encodeWithSelector(Settlement.SettlementMintsMismatch.selector, b.mintsHash, settlement.hashMints(other))
        );
        settlement.submitBatch(b, other, noSlashes(), good);
        // One validator's signature twice.
        bytes[] memory dup = new bytes[](2);
        dup[0] = sig(keys[0], b);
        dup[1] = sig(keys[0], b);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementSignersNotSorted.selector, 1));
        settlement.submitBatch(b, m, noSlashes(), dup);
    }

    function test_equivocation_slashes_the_right_validator_once() public {
        Settlement.Mint[] memory m = mints();
        Settlement.Batch memory a = batch(1, 0, keccak256("root A"), m);
        Settlement.Batch memory b = batch(1, 0, keccak256("root B"), m);
        bytes memory sa = sig(keys[1], a);
        bytes memory sb = sig(keys[1], b);
        settlement.proveEquivocation(a, sa, b, sb);
        assertEq(staking.stakeOf(vals[1]), 150 ether, "slashed 50");
        assertEq(staking.stakeOf(vals[0]), 200 ether, "others untouched");
        assertEq(token.balanceOf(treasury), 50 ether, "to the treasury");
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementAlreadySlashed.selector, uint64(1), vals[1]));
        settlement.proveEquivocation(a, sa, b, sb);
        // Two different validators' signatures prove nothing.
        bytes memory mine = sig(keys[0], a);
        bytes memory other = sig(keys[2], b);
        vm.expectRevert(Settlement.SettlementNotEquivocation.selector);
        settlement.proveEquivocation(a, mine, b, other);
    }

    function test_a_batch_slashes_an_equivocating_players_bond_with_the_evidence_in_calldata() public {
        PlayerBond bonds = new PlayerBond(token, admin, 10 ether, 1 days, treasury);
        vm.startPrank(admin);
        bonds.grantRole(bonds.SLASHER_ROLE(), address(settlement));
        token.mint(player, 30 ether);
        vm.stopPrank();
        vm.startPrank(player);
        token.approve(address(bonds), 30 ether);
        bonds.bond(30 ether);
        vm.stopPrank();
        Settlement.Slash[] memory sl = new Settlement.Slash[](1);
        sl[0] = Settlement.Slash(player, "two signed chains for frame 120");
        Settlement.Mint[] memory none = new Settlement.Mint[](0);
        Settlement.Batch memory b =
            Settlement.Batch(1, 0, keccak256("root1"), "bafybatchdata", "", settlement.hashMints(none), settlement.hashSlashes(sl));
        // No bond contract set yet: a batch that slashes cannot settle.
        bytes[] memory s = sigs(b, 2);
        vm.expectRevert(Settlement.SettlementNoPlayerBond.selector);
        settlement.submitBatch(b, none, sl, s);
        vm.expectRevert();
        settlement.setPlayerBond(bonds);
        vm.prank(admin);
        settlement.setPlayerBond(bonds);
        // The slashes are what the validators signed.
        vm.expectRevert(
            abi.encodeWithSelector(Settlement.SettlementSlashesMismatch.selector, b.slashesHash, settlement.hashSlashes(noSlashes()))
        );
        settlement.submitBatch(b, none, noSlashes(), s);
        vm.expectEmit(address(bonds));
        emit PlayerBond.Slashed(player, 30 ether, keccak256("two signed chains for frame 120"));
        settlement.submitBatch(b, none, sl, s);
        assertEq(bonds.bondOf(player), 0, "the whole bond");
        assertEq(token.balanceOf(treasury), 30 ether, "to the treasury");
        assertTrue(!bonds.isBonded(player), "its drops stop minting");
    }
}

/// Submits batches with random signer sets and random (sometimes wrong) previous roots.
contract SettlementHandler is Test {
    Settlement settlement;
    uint256[3] keys;
    bytes32[] public acceptedPrev; // prevRoot of each accepted epoch, in order
    bytes32[] public acceptedRoot;

    constructor(Settlement s, uint256[3] memory k) {
        settlement = s;
        keys = k;
    }

    function submit(uint8 signers, bool wrongPrev, bytes32 newRoot, bool skipEpoch) external {
        uint64 e = settlement.epoch() + (skipEpoch ? 2 : 1);
        bytes32 prev = wrongPrev ? keccak256(abi.encode(newRoot)) : settlement.stateRoot();
        Settlement.Mint[] memory none = new Settlement.Mint[](0);
        Settlement.Batch memory b = Settlement.Batch(e, prev, newRoot, "cid", "", settlement.hashMints(none), settlement.hashSlashes(new Settlement.Slash[](0)));
        uint256 n = signers % 4;
        bytes[] memory s = new bytes[](n);
        bytes32 digest = settlement.batchDigest(b);
        for (uint256 i; i < n; ++i) {
            (uint8 v, bytes32 r, bytes32 ss) = vm.sign(keys[i], digest);
            s[i] = abi.encodePacked(r, ss, v);
        }
        try settlement.submitBatch(b, none, new Settlement.Slash[](0), s) {
            acceptedPrev.push(prev);
            acceptedRoot.push(newRoot);
        } catch {}
    }

    function accepted() external view returns (uint256) {
        return acceptedRoot.length;
    }
}

contract SettlementInvariants is SettlementTest {
    SettlementHandler handler;

    function setUp() public override {
        super.setUp();
        handler = new SettlementHandler(settlement, keys);
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    function invariant_epochs_count_accepted_batches_and_roots_chain() public view {
        uint256 n = handler.accepted();
        assertEq(settlement.epoch(), n, "one epoch per accepted batch, none skipped");
        bytes32 prev;
        for (uint256 i; i < n; ++i) {
            assertEq(handler.acceptedPrev(i), prev, "each batch builds on the last root");
            prev = handler.acceptedRoot(i);
            assertEq(settlement.rootOf(uint64(i + 1)), prev, "recorded root");
        }
        assertEq(settlement.stateRoot(), prev, "current root is the last one");
    }
}
