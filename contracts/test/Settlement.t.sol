// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {Test} from "./Vm.sol";
import {CYTR} from "../src/CYTR.sol";
import {Staking} from "../src/Staking.sol";
import {CyteriaItems} from "../src/CyteriaItems.sol";
import {Settlement} from "../src/Settlement.sol";
import {PlayerBond} from "../src/PlayerBond.sol";
import {ValidatorSet} from "../src/ValidatorSet.sol";

/// Refuses every ERC-1155 transfer.
contract Refuser {
    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4) {
        revert("no items here");
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        pure
        returns (bytes4)
    {
        revert("no items here");
    }
}

/// Burns every unit of gas it is given when it receives items.
contract GasBurner {
    uint256 public sink;

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        returns (bytes4)
    {
        while (true) {
            sink += 1;
        }
        return this.onERC1155BatchReceived.selector;
    }
}

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
        staking.setSettlement(address(settlement));
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
        address[] memory genesis = new address[](3);
        for (uint256 i; i < 3; ++i) {
            genesis[i] = as_[i];
        }
        vm.prank(admin);
        staking.setGenesisValidators(genesis);
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
        return Settlement.Batch(e, 0, prev, root, "bafybatchdata", meta, settlement.hashMints(m), settlement.hashSlashes(noSlashes()));
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
        Settlement.Batch memory b = Settlement.Batch(1, 0, 0, keccak256("root1"), "bafybatchdata", "", settlement.hashMints(m), settlement.hashSlashes(noSlashes()));
        bytes[] memory s = sigs(b, 2);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementMissingMetadata.selector, 1));
        settlement.submitBatch(b, m, noSlashes(), s);
    }

    function test_a_batch_signed_by_too_few_is_refused() public {
        Settlement.Mint[] memory m = mints();
        Settlement.Batch memory b = batch(1, 0, keccak256("root1"), m);
        bytes[] memory one = sigs(b, 1);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementInsufficientStake.selector, 200 ether, 600 ether));
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
        s[1] = sig(0x9999, b); // not a validator: counts for nothing
        address forger = vm.addr(0x9999);
        if (forger > vals[0]) {
            vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementInsufficientStake.selector, 200 ether, 600 ether));
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
        bonds.setSettlement(address(settlement));
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
            Settlement.Batch(1, 0, 0, keccak256("root1"), "bafybatchdata", "", settlement.hashMints(none), settlement.hashSlashes(sl));
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

    /// Registers `n` validators with `stake` each (keys 0x5000 + i), as an attacker's sybils,
    /// sorted by address (signatures must come in signer order).
    function sybils(uint256 n, uint256 stake) internal returns (uint256[] memory ks) {
        ks = new uint256[](n);
        address[] memory as_ = new address[](n);
        for (uint256 i; i < n; ++i) {
            ks[i] = 0x5000 + i;
            as_[i] = vm.addr(ks[i]);
            if (settlement.epoch() == 0) {
                // Before the first batch only the genesis set joins: the deployment names them.
                address[] memory one = new address[](1);
                one[0] = as_[i];
                vm.prank(admin);
                staking.setGenesisValidators(one);
            }
            vm.prank(admin);
            token.mint(as_[i], stake);
            vm.startPrank(as_[i]);
            token.approve(address(staking), stake);
            staking.stake(stake);
            staking.registerValidator();
            vm.stopPrank();
        }
        for (uint256 i; i < n; ++i) {
            for (uint256 j = i + 1; j < n; ++j) {
                if (as_[j] < as_[i]) {
                    (as_[i], as_[j]) = (as_[j], as_[i]);
                    (ks[i], ks[j]) = (ks[j], ks[i]);
                }
            }
        }
    }

    function signedBy(uint256[] memory ks, Settlement.Batch memory b) internal returns (bytes[] memory out) {
        out = new bytes[](ks.length);
        for (uint256 i; i < ks.length; ++i) {
            out[i] = sig(ks[i], b);
        }
    }

    function emptyBatch(uint64 e) internal view returns (Settlement.Batch memory) {
        return batch(e, settlement.stateRoot(), keccak256(abi.encode("root", e)), new Settlement.Mint[](0));
    }

    function settleEmpty(uint64 e, uint256 count) internal {
        Settlement.Batch memory b = emptyBatch(e);
        settlement.submitBatch(b, new Settlement.Mint[](0), noSlashes(), sigs(b, count));
    }

    /// Six registrations at the minimum outvoted three honest validators when the quorum counted
    /// heads. Now it takes two thirds of the stake: sybils worth less than a third of it settle
    /// nothing, however many they are, and the honest validators settle on without them.
    function test_sybils_with_less_than_a_third_of_the_stake_cannot_settle_anything() public {
        settleEmpty(1, 3);
        uint256[] memory ks = sybils(2, 100 ether); // 200 against the honest 600: a quarter
        Settlement.Mint[] memory loot = mints();
        loot[0].to = address(0xBAD);
        for (uint256 j; j < 2; ++j) {
            loot[0].ids[j] = loot[0].ids[j] + (1 << 16); // epoch 2's items
        }
        assertEq(staking.validatorCount(), 5, "five heads, two of them the attacker's");
        // They weigh from epoch 3 (the set of epoch 2 was fixed when epoch 1 settled)...
        assertEq(staking.totalWeightAt(2), 600 ether, "epoch 2: the honest set");
        assertEq(staking.totalWeightAt(3), 800 ether, "epoch 3: with the sybils");
        Settlement.Batch memory forged = batch(2, settlement.stateRoot(), keccak256("forged root"), loot);
        bytes[] memory s = signedBy(ks, forged);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementInsufficientStake.selector, 0, 600 ether));
        settlement.submitBatch(forged, loot, noSlashes(), s);
        settleEmpty(2, 3);
        // ...and even then two of five heads are not two thirds of the stake.
        forged = batch(3, settlement.stateRoot(), keccak256("forged root"), loot);
        s = signedBy(ks, forged);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementInsufficientStake.selector, 200 ether, 800 ether));
        settlement.submitBatch(forged, loot, noSlashes(), s);
        assertEq(items.balanceOf(address(0xBAD), loot[0].ids[0]), 0, "nothing minted to the attacker");
        // The honest three (600 of 800) settle without them.
        settleEmpty(3, 3);
        assertEq(settlement.epoch(), 3, "settlement goes on");
    }

    /// Two idle registrations stopped settlement for good when the quorum counted heads and
    /// nothing removed them. Now idle stake only weighs, and a validator whose signature is missing
    /// from `maxMissedEpochs` settled epochs is removed by anyone: then two of the three honest
    /// validators are a quorum again.
    function test_idle_validators_are_removed_and_settlement_resumes() public {
        uint256[] memory idle = sybils(2, 100 ether); // 200 idle of 800: two honest are 400, not 2/3
        assertEq(staking.totalWeightAt(1), 800 ether, "joined at the genesis");
        Settlement.Batch memory b = emptyBatch(1);
        bytes[] memory two = sigs(b, 2);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementInsufficientStake.selector, 400 ether, 800 ether));
        settlement.submitBatch(b, new Settlement.Mint[](0), noSlashes(), two);
        vm.prank(admin);
        staking.setValidatorLimits(100, 10);
        address lazy = vm.addr(idle[0]);
        for (uint64 e = 1; e <= 10; ++e) {
            settleEmpty(e, 3); // the three honest, 600 of 800
        }
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.ValidatorSetStillActive.selector, lazy, 0));
        staking.removeInactive(lazy);
        settleEmpty(11, 3);
        vm.prank(address(0xF00)); // anyone
        staking.removeInactive(lazy);
        staking.removeInactive(vm.addr(idle[1]));
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.ValidatorSetStillActive.selector, vals[0], 11));
        staking.removeInactive(vals[0]);
        assertEq(staking.validatorCount(), 3, "the idle are gone");
        assertEq(staking.totalWeightAt(12), 800 ether, "from the epoch after the next");
        settleEmpty(12, 3);
        assertEq(staking.totalWeightAt(13), 600 ether, "the honest set alone");
        settleEmpty(13, 2); // two of three honest: 400 of 600
        assertEq(settlement.epoch(), 13, "settlement resumed with two of three");
    }

    /// A signed batch that fails on chain (here: it mints but names no metadata) forced honest
    /// validators to sign another batch for the same epoch, which was slashable. Batches name
    /// their round: signing again in the next round is no equivocation, the next round settles,
    /// and nobody can be slashed for it.
    function test_a_batch_refused_on_chain_leads_to_a_next_round_batch_with_no_one_slashable() public {
        Settlement.Mint[] memory m = mints();
        Settlement.Batch memory r0 =
            Settlement.Batch(1, 0, 0, keccak256("root1"), "bafybatchdata", "", settlement.hashMints(m), settlement.hashSlashes(noSlashes()));
        bytes[] memory s0 = sigs(r0, 3);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementMissingMetadata.selector, 1));
        settlement.submitBatch(r0, m, noSlashes(), s0);
        Settlement.Batch memory r1 = batch(1, 0, keccak256("root1"), m);
        r1.round = 1;
        bytes[] memory s1 = sigs(r1, 3);
        settlement.submitBatch(r1, m, noSlashes(), s1);
        assertEq(settlement.epoch(), 1, "the next round settled");
        for (uint256 i; i < 3; ++i) {
            vm.expectRevert(Settlement.SettlementNotEquivocation.selector);
            settlement.proveEquivocation(r0, s0[i], r1, s1[i]);
            assertEq(staking.stakeOf(vals[i]), 200 ether, "no honest validator slashed");
        }
    }

    /// Items a receiver refuses, or that a receiver burns all its gas over, or that cannot move
    /// while items are paused, no longer make a signed batch revert: they wait as claims.
    function test_a_rejecting_receiver_cannot_revert_a_batch_and_claims_later() public {
        Refuser refuser = new Refuser();
        GasBurner burner = new GasBurner();
        Settlement.Mint[] memory m = new Settlement.Mint[](3);
        address[3] memory to = [address(refuser), address(burner), player];
        for (uint256 i; i < 3; ++i) {
            m[i].to = to[i];
            m[i].ids = new uint256[](1);
            m[i].amounts = new uint256[](1);
            m[i].ids[0] = items.encodeId(CyteriaItems.ItemStats(0, 1, 17, 0, 150, 0), 1, uint16(i));
            m[i].amounts[0] = 1;
        }
        Settlement.Batch memory b = batch(1, 0, keccak256("root1"), m);
        vm.expectEmit(address(settlement));
        emit Settlement.MintDeferred(1, 0, address(refuser), m[0].ids);
        settlement.submitBatch{gas: 2_000_000}(b, m, noSlashes(), sigs(b, 2));
        assertEq(settlement.epoch(), 1, "settled");
        assertEq(items.balanceOf(player, m[2].ids[0]), 1, "the honest receiver has its item");
        Settlement.Deferred[] memory waiting = new Settlement.Deferred[](2);
        waiting[0] = Settlement.Deferred(0, address(refuser), m[0].ids);
        waiting[1] = Settlement.Deferred(1, address(burner), m[1].ids);
        // Only the receiver claims, to where it chooses, once.
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementNotClaimable.selector, 1, player));
        vm.prank(player);
        settlement.claim(1, waiting, 0, player);
        vm.prank(address(refuser));
        settlement.claim(1, waiting, 0, address(0xBEEF));
        assertEq(items.balanceOf(address(0xBEEF), m[0].ids[0]), 1, "claimed where the refuser chose");
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementNotClaimable.selector, 1, address(refuser)));
        vm.prank(address(refuser));
        settlement.claim(1, waiting, 0, address(0xBEEF));
        // A list other than the one the batch deferred proves nothing.
        Settlement.Deferred[] memory forged = new Settlement.Deferred[](1);
        forged[0] = Settlement.Deferred(1, player, m[1].ids);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementNotClaimable.selector, 1, player));
        vm.prank(player);
        settlement.claim(1, forged, 0, player);
        vm.prank(address(burner));
        settlement.claim(1, waiting, 1, address(0xB0B));
        assertEq(items.balanceOf(address(0xB0B), m[1].ids[0]), 1, "the burner took its item elsewhere");
    }

    /// Receivers that burn the gas each delivery may use could push a batch past the chain's
    /// per-transaction cap. The deliveries share a budget: past it, the rest are deferred without
    /// a call, and the largest batch the validators build (256 items to 256 receivers) settles
    /// within the cap even when every receiver burns its gas.
    function test_receivers_that_burn_their_gas_cannot_push_a_batch_past_the_cap() public {
        uint256 n = 192; // proposal::MAX_ITEMS
        Settlement.Mint[] memory m = new Settlement.Mint[](n);
        for (uint256 i; i < n; ++i) {
            // Burners, each its own contract, and honest EOAs between them.
            m[i].to = i % 2 == 0 ? address(new GasBurner()) : address(uint160(0xE0A0000 + i));
            m[i].ids = new uint256[](1);
            m[i].amounts = new uint256[](1);
            m[i].ids[0] = items.encodeId(CyteriaItems.ItemStats(0, 1, 17, 0, 150, 0), 1, uint16(i));
            m[i].amounts[0] = 1;
        }
        // With 16 slashes of 4 KiB evidence each, the most a batch carries.
        PlayerBond bonds = new PlayerBond(token, admin, 10 ether, 1 days, treasury);
        vm.prank(admin);
        bonds.setSettlement(address(settlement));
        vm.prank(admin);
        settlement.setPlayerBond(bonds);
        Settlement.Slash[] memory sl = new Settlement.Slash[](16);
        for (uint256 i; i < 16; ++i) {
            bytes memory ev = new bytes(4096);
            for (uint256 j; j < 4096; j += 32) {
                bytes32 w = keccak256(abi.encode(i, j));
                assembly ("memory-safe") {
                    mstore(add(add(ev, 32), j), w)
                }
            }
            sl[i] = Settlement.Slash(address(uint160(0x5A000 + i)), ev);
        }
        Settlement.Batch memory b = batch(1, 0, keccak256("root1"), m);
        b.slashesHash = settlement.hashSlashes(sl);
        bytes[] memory s = sigs(b, 2);
        bytes memory data = abi.encodeCall(settlement.submitBatch, (b, m, sl, s));
        // What the transaction pays before executing: 21,000 and its calldata (EIP-2028 prices;
        // EIP-7623's floor of 10 a token is below this batch's execution).
        uint256 intrinsic = 21_000;
        for (uint256 i; i < data.length; ++i) {
            intrinsic += data[i] == 0 ? 4 : 16;
        }
        uint256 before = gasleft();
        settlement.submitBatch{gas: 16_777_216}(b, m, sl, s);
        uint256 used = before - gasleft() + intrinsic;
        assertEq(settlement.epoch(), 1, "settled");
        // 11.46M measured by a plain `forge test`; `--gas-report` (as tools/test runs it) isolates
        // the call as its own transaction, which charges the calldata inside it too.
        assertTrue(used <= 13_500_000, "four fifths of the cap at most, even counting calldata twice");
        assertTrue(settlement.deferredHash(1) != 0, "the burners' items wait as claims");
    }

    /// The largest honest batch, 192 items to one receiver, is delivered, not deferred: its
    /// delivery's gas fits the batch's budget.
    function test_the_largest_honest_delivery_fits_the_budget() public {
        Settlement.Mint[] memory m = new Settlement.Mint[](1);
        m[0].to = player;
        m[0].ids = new uint256[](192);
        m[0].amounts = new uint256[](192);
        for (uint256 i; i < 192; ++i) {
            m[0].ids[i] = items.encodeId(CyteriaItems.ItemStats(0, 1, 17, 0, 150, 0), 1, uint16(i));
            m[0].amounts[i] = 1;
        }
        Settlement.Batch memory b = batch(1, 0, keccak256("root1"), m);
        settlement.submitBatch(b, m, noSlashes(), sigs(b, 2));
        assertEq(settlement.deferredHash(1), 0, "nothing deferred");
        assertEq(items.balanceOf(player, m[0].ids[191]), 1, "all delivered");
    }
    function test_a_paused_item_contract_cannot_revert_a_batch() public {
        vm.startPrank(admin);
        items.grantRole(items.PAUSER_ROLE(), admin);
        items.pause();
        vm.stopPrank();
        Settlement.Mint[] memory m = mints();
        Settlement.Batch memory b = batch(1, 0, keccak256("root1"), m);
        settlement.submitBatch(b, m, noSlashes(), sigs(b, 2));
        assertEq(settlement.epoch(), 1, "the root settled while items were paused");
        vm.prank(admin);
        items.unpause();
        Settlement.Deferred[] memory waiting = new Settlement.Deferred[](1);
        waiting[0] = Settlement.Deferred(0, player, m[0].ids);
        vm.prank(player);
        settlement.claim(1, waiting, 0, player);
        assertEq(items.balanceOf(player, m[0].ids[1]), 1, "claimed after the pause");
    }

    /// A batch could mint an id that already exists (or many of one id). Every item is new:
    /// amount 1, the batch's own epoch, an index no other item of the batch has.
    function test_a_second_mint_of_an_id_reverts() public {
        Settlement.Mint[] memory m = mints();
        m[0].ids[1] = m[0].ids[0];
        Settlement.Batch memory b = batch(1, 0, keccak256("root1"), m);
        bytes[] memory s = sigs(b, 2);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementDuplicateItem.selector, m[0].ids[0]));
        settlement.submitBatch(b, m, noSlashes(), s);
        // The same index for another receiver, with other stats: still the same item slot.
        m = new Settlement.Mint[](2);
        for (uint256 i; i < 2; ++i) {
            m[i].to = i == 0 ? player : address(0xB0B);
            m[i].ids = new uint256[](1);
            m[i].amounts = new uint256[](1);
            m[i].ids[0] = items.encodeId(CyteriaItems.ItemStats(0, uint8(i), 17, 0, 150, 0), 1, 7);
            m[i].amounts[0] = 1;
        }
        b = batch(1, 0, keccak256("root1"), m);
        s = sigs(b, 2);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementDuplicateItem.selector, m[1].ids[0]));
        settlement.submitBatch(b, m, noSlashes(), s);
        // Ten of one id, or an id of another epoch's batch (an item minted before).
        m = mints();
        m[0].amounts[0] = 10;
        b = batch(1, 0, keccak256("root1"), m);
        s = sigs(b, 2);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementBadItem.selector, m[0].ids[0]));
        settlement.submitBatch(b, m, noSlashes(), s);
        m = mints();
        b = batch(1, 0, keccak256("root1"), m);
        settlement.submitBatch(b, m, noSlashes(), sigs(b, 2));
        b = batch(2, settlement.stateRoot(), keccak256("root2"), m);
        s = sigs(b, 2);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementBadItem.selector, m[0].ids[0]));
        settlement.submitBatch(b, m, noSlashes(), s);
        assertEq(items.balanceOf(player, m[0].ids[0]), 1, "minted once");
    }

    /// A validator that deregistered after signing made `submitBatch` revert: it is skipped now,
    /// and counts with its stake in the epoch whose set it was in.
    function test_a_signer_that_left_does_not_revert_the_batch() public {
        settleEmpty(1, 3);
        Settlement.Batch memory b = emptyBatch(2);
        bytes[] memory s = sigs(b, 2);
        vm.prank(vals[0]);
        staking.deregisterValidator();
        settlement.submitBatch(b, new Settlement.Mint[](0), noSlashes(), s);
        assertEq(settlement.epoch(), 2, "settled with the leaver's signature counted for its epoch");
        assertEq(staking.totalWeightAt(3), 400 ether, "it is gone from the next set");
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
        Settlement.Batch memory b = Settlement.Batch(e, 0, prev, newRoot, "cid", "", settlement.hashMints(none), settlement.hashSlashes(new Settlement.Slash[](0)));
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

/// Drives a live network: honest validators (keys 1–3) settle batches that mint items, a
/// dishonest one (key 4) joins, leaves, and signs two batches in one round or batches of its
/// own; newcomers (keys 5–6) stake, join and leave; rounds fail and are retried. Each action
/// clamps its inputs and returns early where the real network could not act.
contract NetworkHandler is Test {
    Settlement settlement;
    Staking staking;
    CyteriaItems items;
    CYTR token;
    uint256[6] keys = [uint256(0x1111), 0x2222, 0x3333, 0x4444, 0x5555, 0x6666];
    /// Every id minted so far (to check each exists once).
    uint256[] public minted;
    /// Honest slashes seen (must stay 0).
    uint256 public honestSlashed;
    uint32 round;

    constructor(Settlement s, Staking st, CyteriaItems it, CYTR t) {
        settlement = s;
        staking = st;
        items = it;
        token = t;
    }

    function mintedCount() external view returns (uint256) {
        return minted.length;
    }

    function honest(uint256 i) public returns (address) {
        return vm.addr(keys[i]);
    }

    /// Honest validators in the epoch's set sign the next batch (minting `n` items to `to`),
    /// sorted by address; it settles when their stake is a quorum.
    function settle(uint8 n, uint8 toSeed, bool failFirst) external {
        uint64 e = settlement.epoch() + 1;
        n = n % 8;
        Settlement.Mint[] memory m = new Settlement.Mint[](n == 0 ? 0 : 1);
        if (n != 0) {
            m[0].to = address(uint160(0xA000 + toSeed % 4));
            m[0].ids = new uint256[](n);
            m[0].amounts = new uint256[](n);
            for (uint256 i; i < n; ++i) {
                m[0].ids[i] = items.encodeId(CyteriaItems.ItemStats(0, 1, 10, 0, 100, 0), uint48(e), uint16(i));
                m[0].amounts[i] = 1;
            }
        }
        if (failFirst) {
            // A round whose batch never settles (its leader vanished); the next round retries.
            round += 1;
        }
        Settlement.Batch memory b = Settlement.Batch(
            e, round, settlement.stateRoot(), keccak256(abi.encode(e, round)), "cid", n == 0 ? "" : "meta",
            settlement.hashMints(m), settlement.hashSlashes(new Settlement.Slash[](0))
        );
        bytes[] memory s = _signSorted(b, 3);
        try settlement.submitBatch(b, m, new Settlement.Slash[](0), s) {
            for (uint256 i; i < n; ++i) {
                minted.push(m[0].ids[i]);
            }
            round = 0;
        } catch {}
    }

    /// The dishonest key signs two batches in one round and anyone proves it.
    function equivocate(bytes32 a, bytes32 b) external {
        if (a == b) return;
        uint64 e = settlement.epoch() + 1;
        Settlement.Batch memory x = Settlement.Batch(e, round, 0, a, "", "", 0, 0);
        Settlement.Batch memory y = Settlement.Batch(e, round, 0, b, "", "", 0, 0);
        uint256 before = staking.stakeOf(vm.addr(keys[3]));
        try settlement.proveEquivocation(x, _sig(keys[3], x), y, _sig(keys[3], y)) {
            assertTrue(staking.stakeOf(vm.addr(keys[3])) <= before, "only the equivocator loses");
        } catch {}
        // An honest validator's signatures over two rounds' batches prove nothing.
        Settlement.Batch memory z = Settlement.Batch(e, round + 1, 0, b, "", "", 0, 0);
        uint256 h = staking.stakeOf(honest(0));
        try settlement.proveEquivocation(x, _sig(keys[0], x), z, _sig(keys[0], z)) {
            honestSlashed += 1;
        } catch {}
        if (staking.stakeOf(honest(0)) < h) honestSlashed += 1;
    }

    /// A newcomer or the dishonest key stakes and joins, or leaves.
    function churn(uint8 who, uint96 amount, bool join) external {
        uint256 k = keys[3 + who % 3];
        address a = vm.addr(k);
        if (join) {
            amount = uint96(bound(amount, 1 ether, 2_000 ether));
            token.mint(a, amount);
            vm.startPrank(a);
            token.approve(address(staking), amount);
            staking.stake(amount);
            if (!staking.isValidator(a)) {
                try staking.registerValidator() {} catch {}
            }
            vm.stopPrank();
        } else {
            uint256 s = staking.stakeOf(a);
            if (s == 0) return;
            vm.prank(a);
            staking.requestUnstake(1 + uint256(amount) % s);
        }
    }

    function _signSorted(Settlement.Batch memory b, uint256 count) internal returns (bytes[] memory out) {
        address[] memory as_ = new address[](count);
        uint256[] memory ks = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            (as_[i], ks[i]) = (vm.addr(keys[i]), keys[i]);
        }
        for (uint256 i; i < count; ++i) {
            for (uint256 j = i + 1; j < count; ++j) {
                if (as_[j] < as_[i]) {
                    (as_[i], as_[j]) = (as_[j], as_[i]);
                    (ks[i], ks[j]) = (ks[j], ks[i]);
                }
            }
        }
        out = new bytes[](count);
        for (uint256 i; i < count; ++i) {
            out[i] = _sig(ks[i], b);
        }
    }

    function _sig(uint256 key, Settlement.Batch memory b) internal returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, settlement.batchDigest(b));
        return abi.encodePacked(r, s, v);
    }

    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + x % (hi - lo + 1);
    }
}

contract NetworkInvariants is Test {
    CYTR token;
    Staking staking;
    CyteriaItems items;
    Settlement settlement;
    NetworkHandler handler;
    uint256 constant HONEST_STAKE = 1_000 ether;

    function setUp() public {
        token = new CYTR(address(this), 1e30);
        staking = new Staking(token, address(this), 100 ether, 1 days);
        items = new CyteriaItems(address(this), address(this), 0);
        settlement = new Settlement(staking, items, address(this), address(this), 50 ether);
        staking.setSettlement(address(settlement));
        items.grantRole(items.MINTER_ROLE(), address(settlement));
        handler = new NetworkHandler(settlement, staking, items, token);
        token.grantRole(token.MINTER_ROLE(), address(this));
        token.grantRole(token.MINTER_ROLE(), address(handler));
        address[] memory genesis = new address[](4);
        for (uint256 i; i < 4; ++i) {
            genesis[i] = i < 3 ? handler.honest(i) : vm.addr(0x4444);
        }
        staking.setGenesisValidators(genesis);
        for (uint256 i; i < 4; ++i) {
            address a = i < 3 ? handler.honest(i) : vm.addr(0x4444);
            token.mint(a, HONEST_STAKE);
            vm.startPrank(a);
            token.approve(address(staking), HONEST_STAKE);
            staking.stake(HONEST_STAKE);
            staking.registerValidator();
            vm.stopPrank();
        }
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    function invariant_honest_validators_are_never_slashed() public {
        assertEq(handler.honestSlashed(), 0, "no honest slash");
        for (uint256 i; i < 3; ++i) {
            assertEq(staking.stakeOf(handler.honest(i)), HONEST_STAKE, "honest stake whole");
        }
    }

    function invariant_every_registered_validator_has_the_minimum_stake() public view {
        address[] memory v = staking.validators();
        for (uint256 i; i < v.length; ++i) {
            assertTrue(staking.stakeOf(v[i]) >= staking.minValidatorStake(), "member at the minimum");
        }
    }

    function invariant_each_minted_id_exists_once() public view {
        uint256 n = handler.mintedCount();
        for (uint256 i; i < n; ++i) {
            uint256 id = handler.minted(i);
            address to = address(uint160(0xA000));
            uint256 supply;
            for (uint256 r; r < 4; ++r) {
                supply += items.balanceOf(address(uint160(uint160(to) + r)), id);
            }
            assertEq(supply, 1, "supply of each id is one");
        }
    }

    function invariant_the_set_total_is_the_members_stake() public view {
        uint64 next = settlement.epoch() + 2;
        (address[] memory members, uint256[] memory weights, uint256 total) = staking.validatorSet(next);
        uint256 sum;
        for (uint256 i; i < members.length; ++i) {
            sum += weights[i];
        }
        assertEq(sum, total, "the set's total is its members' weights, fixed two epochs ahead");
    }
}
