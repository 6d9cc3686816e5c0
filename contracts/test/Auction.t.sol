// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {Test} from "./Vm.sol";
import {CYTR} from "../src/CYTR.sol";
import {CyteriaItems} from "../src/CyteriaItems.sol";
import {Auction} from "../src/Auction.sol";
import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

contract AuctionTest is Test {
    CYTR cytr;
    CyteriaItems items;
    Auction auction;
    address admin = address(0xA11CE);
    address treasury = address(0xDA0);
    address royalties = address(0x0A0A);
    address seller = address(0x5E11);
    address alice = address(0xA);
    address bob = address(0xB);
    uint256 id;

    function setUp() public {
        cytr = new CYTR(admin, 1e30);
        items = new CyteriaItems(admin, royalties, 500);
        auction = new Auction(cytr, items, admin, treasury, address(0xF0));
        id = items.encodeId(CyteriaItems.ItemStats(1, 4, 0, 40, 400, bytes32(uint256(0x84))), 2, 0);
        vm.startPrank(admin);
        cytr.grantRole(cytr.MINTER_ROLE(), admin);
        items.grantRole(items.MINTER_ROLE(), admin);
        cytr.mint(alice, 10_000 ether);
        cytr.mint(bob, 10_000 ether);
        items.mint(seller, id, 1);
        vm.stopPrank();
        vm.prank(seller);
        items.setApprovalForAll(address(auction), true);
        vm.prank(alice);
        cytr.approve(address(auction), type(uint256).max);
        vm.prank(bob);
        cytr.approve(address(auction), type(uint256).max);
    }

    function open() internal returns (uint256 lot) {
        vm.prank(seller);
        lot = auction.create(id, 1, 100 ether, 1 hours);
    }

    function test_highest_bid_wins_and_the_outbid_pull_refunds() public {
        uint256 lot = open();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Auction.AuctionBidTooLow.selector, 99 ether, 100 ether));
        auction.bid(lot, 99 ether);
        vm.prank(alice);
        auction.bid(lot, 100 ether);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Auction.AuctionBidTooLow.selector, 104 ether, 105 ether));
        auction.bid(lot, 104 ether);
        vm.prank(bob);
        auction.bid(lot, 105 ether);
        assertEq(auction.refunds(alice), 100 ether, "alice outbid");
        vm.prank(alice);
        auction.withdrawRefund();
        assertEq(cytr.balanceOf(alice), 10_000 ether, "refunded");
        vm.warp(block.timestamp + 1 hours);
        auction.settle(lot);
        assertEq(items.balanceOf(bob, id), 1, "bob wins");
        uint256 fee = 105 ether * 250 / 10_000;
        uint256 royalty = 105 ether * 500 / 10_000;
        assertEq(cytr.balanceOf(treasury), fee, "fee");
        assertEq(cytr.balanceOf(royalties), royalty, "royalty");
        assertEq(cytr.balanceOf(seller), 105 ether - fee - royalty, "seller");
        assertEq(cytr.balanceOf(address(auction)), 0, "nothing left in escrow");
        vm.expectRevert(abi.encodeWithSelector(Auction.AuctionAlreadySettled.selector, lot));
        auction.settle(lot);
    }

    function test_late_bids_extend_the_auction() public {
        uint256 lot = open();
        vm.warp(block.timestamp + 1 hours - 60);
        vm.prank(alice);
        auction.bid(lot, 100 ether);
        (, uint64 endsAt,,,,,,) = auction.lots(lot);
        assertEq(endsAt, block.timestamp + 5 minutes, "extended");
        vm.warp(block.timestamp + 61);
        vm.expectRevert(abi.encodeWithSelector(Auction.AuctionNotEnded.selector, endsAt));
        auction.settle(lot);
    }

    function test_cancel_only_before_bids_and_no_bids_after_the_end() public {
        uint256 lot = open();
        vm.prank(alice);
        auction.bid(lot, 100 ether);
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(Auction.AuctionHasBids.selector, lot));
        auction.cancel(lot);
        vm.warp(block.timestamp + 2 hours);
        (, uint64 endsAt,,,,,,) = auction.lots(lot);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Auction.AuctionEnded.selector, endsAt));
        auction.bid(lot, 200 ether);
        // Items are unique: the second lot is another item.
        uint256 other = items.encodeId(CyteriaItems.ItemStats(1, 4, 0, 40, 400, 0), 2, 1);
        vm.prank(admin);
        items.mint(seller, other, 1);
        vm.prank(seller);
        uint256 lot2 = auction.create(other, 1, 100 ether, 1 hours);
        vm.prank(seller);
        auction.cancel(lot2);
        assertEq(items.balanceOf(seller, other), 1, "returned");
        // A bid on the cancelled lot (a seller front-running it) is refused, not locked for good.
        uint256 before = cytr.balanceOf(bob);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Auction.AuctionAlreadySettled.selector, lot2));
        auction.bid(lot2, 200 ether);
        assertEq(cytr.balanceOf(bob), before, "the bidder keeps its CYTR");
    }

    function test_unsold_lots_return_to_the_seller() public {
        uint256 lot = open();
        vm.warp(block.timestamp + 1 hours);
        auction.settle(lot);
        assertEq(items.balanceOf(seller, id), 1, "returned");
    }

    function testFuzz_escrow_equals_highest_bid_plus_refunds(uint96 a, uint96 b) public {
        uint256 lot = open();
        uint256 first = 100 ether + uint256(a) % 1000 ether;
        vm.prank(alice);
        auction.bid(lot, uint128(first));
        uint256 second = auction.minimumBid(lot) + uint256(b) % 1000 ether;
        vm.prank(bob);
        auction.bid(lot, uint128(second));
        assertEq(cytr.balanceOf(address(auction)), second + auction.refunds(alice), "escrow accounted");
    }
}

/// Drives auctions with random lots, bids, refunds, time, settlements and claims. Items are
/// unique, so each actor starts with five of its own; a fourth bidder refuses every item it wins.
contract AuctionHandler is Test {
    Auction auction;
    CyteriaItems items;
    CYTR cytr;
    address[3] public actors = [address(0x3001), address(0x3002), address(0x3003)];
    HookedBidder public refuser;
    uint256[] public pool;
    uint256[] public lotIds;

    constructor(Auction a, CyteriaItems i, CYTR c, uint256[] memory pool_, HookedBidder refuser_) {
        auction = a;
        items = i;
        cytr = c;
        pool = pool_;
        refuser = refuser_;
    }

    function poolSize() external view returns (uint256) {
        return pool.length;
    }

    function create(uint256 who, uint256 pick, uint128 reserve) external {
        address a = actors[who % 3];
        // Assumption: sellers auction an item they hold; take the first one from `pick` on.
        for (uint256 i; i < pool.length; ++i) {
            uint256 id = pool[(pick % pool.length + i) % pool.length];
            if (items.balanceOf(a, id) == 0) continue;
            vm.prank(a);
            lotIds.push(auction.create(id, 1, reserve % 1000 ether, 1 hours));
            return;
        }
    }

    function bid(uint256 who, uint256 pick, uint96 extra) external {
        if (lotIds.length == 0) return;
        uint256 lot = lotIds[pick % lotIds.length];
        (address seller, uint64 endsAt, bool settled,,,,,) = auction.lots(lot);
        if (settled || block.timestamp >= endsAt) return;
        uint256 amount = auction.minimumBid(lot) + uint256(extra) % 100 ether;
        if (who % 4 == 3) {
            refuser.bidOn(lot, uint128(amount), cytr);
            return;
        }
        address a = actors[who % 3];
        if (a == seller) return;
        vm.prank(a);
        auction.bid(lot, uint128(amount));
    }

    function refund(uint256 who) external {
        address a = who % 4 == 3 ? address(refuser) : actors[who % 3];
        if (auction.refunds(a) == 0) return;
        vm.prank(a);
        auction.withdrawRefund();
    }

    function wait(uint16 secs) external {
        vm.warp(block.timestamp + secs);
    }

    function settle(uint256 pick) external {
        if (lotIds.length == 0) return;
        uint256 lot = lotIds[pick % lotIds.length];
        (, uint64 endsAt, bool settled,,,,,) = auction.lots(lot);
        if (settled || block.timestamp < endsAt) return;
        auction.settle(lot);
    }

    /// The refusing bidder sends what it won to an actor, who can auction it again.
    function claim(uint256 pick, uint256 to) external {
        uint256 id = pool[pick % pool.length];
        if (auction.claimable(address(refuser), id) == 0) return;
        refuser.claim(id, actors[to % 3]);
    }

    /// CYTR the auction owes: open lots' highest bids plus refunds.
    function owed() external view returns (uint256 sum) {
        for (uint256 i; i < lotIds.length; ++i) {
            (,, bool settled,,,, uint128 highest,) = auction.lots(lotIds[i]);
            if (!settled) sum += highest;
        }
        for (uint256 i; i < 3; ++i) {
            sum += auction.refunds(actors[i]);
        }
        sum += auction.refunds(address(refuser));
    }

    function openLots() external view returns (uint256 n) {
        for (uint256 i; i < lotIds.length; ++i) {
            (,, bool settled,,,,,) = auction.lots(lotIds[i]);
            if (!settled) n++;
        }
    }

    /// Items waiting as claims, over the whole pool.
    function claims() external view returns (uint256 n) {
        for (uint256 i; i < pool.length; ++i) {
            n += auction.claimable(address(refuser), pool[i]);
        }
    }

    /// The auction's items, over the whole pool.
    function held() external view returns (uint256 n) {
        for (uint256 i; i < pool.length; ++i) {
            n += items.balanceOf(address(auction), pool[i]);
        }
    }
}

contract AuctionInvariants is Test {
    AuctionHandler handler;
    Auction auction;
    CyteriaItems items;
    CYTR cytr;

    function setUp() public {
        cytr = new CYTR(address(this), 1e30);
        items = new CyteriaItems(address(this), address(0x0A0A), 500);
        auction = new Auction(cytr, items, address(this), address(0xDA0), address(0));
        HookedBidder refuser = new HookedBidder(auction, HookedBidder.Hook.Revert);
        cytr.grantRole(cytr.MINTER_ROLE(), address(this));
        items.grantRole(items.MINTER_ROLE(), address(this));
        cytr.mint(address(refuser), 1e27);
        address[3] memory actors = [address(0x3001), address(0x3002), address(0x3003)];
        uint256[] memory pool = new uint256[](15);
        for (uint256 i; i < 3; ++i) {
            address a = actors[i];
            for (uint256 j; j < 5; ++j) {
                pool[i * 5 + j] = items.encodeId(CyteriaItems.ItemStats(2, 0, 8, 0, 100, 0), 1, uint16(i * 5 + j));
                items.mint(a, pool[i * 5 + j], 1);
            }
            cytr.mint(a, 1e27);
            vm.startPrank(a);
            items.setApprovalForAll(address(auction), true);
            cytr.approve(address(auction), type(uint256).max);
            vm.stopPrank();
        }
        handler = new AuctionHandler(auction, items, cytr, pool, refuser);
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    function invariant_cytr_held_equals_what_is_owed() public view {
        assertEq(cytr.balanceOf(address(auction)), handler.owed(), "escrowed bids + refunds");
    }

    function invariant_items_held_equal_open_lots_and_claims() public view {
        assertEq(handler.held(), handler.openLots() + handler.claims(), "one item per open lot or claim");
    }
}

/// A winner whose ERC-1155 receive hook tries to settle again and to pull refunds.
contract ReentrantWinner is ERC1155Holder {
    Auction auction;
    uint256 lot;
    bytes public reason;

    constructor(Auction a) {
        auction = a;
    }

    function bidOn(uint256 lot_, uint128 amount, CYTR cytr) external {
        lot = lot_;
        cytr.approve(address(auction), type(uint256).max);
        auction.bid(lot_, amount);
    }

    function onERC1155Received(address, address, uint256, uint256, bytes memory) public override returns (bytes4) {
        try auction.settle(lot) {} catch (bytes memory r) { reason = r; }
        return this.onERC1155Received.selector;
    }
}

contract AuctionReentrancyTest is Test {
    function test_a_reentrant_winner_cannot_settle_twice() public {
        CYTR cytr = new CYTR(address(this), 1e30);
        CyteriaItems items = new CyteriaItems(address(this), address(this), 0);
        Auction auction = new Auction(cytr, items, address(this), address(0xDA0), address(0));
        uint256 id = items.encodeId(CyteriaItems.ItemStats(0, 0, 5, 0, 50, 0), 1, 0);
        cytr.grantRole(cytr.MINTER_ROLE(), address(this));
        items.grantRole(items.MINTER_ROLE(), address(this));
        items.mint(address(this), id, 1);
        items.setApprovalForAll(address(auction), true);
        uint256 lot = auction.create(id, 1, 10 ether, 1 hours);
        ReentrantWinner w = new ReentrantWinner(auction);
        cytr.mint(address(w), 10 ether);
        w.bidOn(lot, 10 ether, cytr);
        vm.warp(block.timestamp + 1 hours);
        auction.settle(lot);
        assertEq(items.balanceOf(address(w), id), 1, "won once");
        assertEq(
            keccak256(w.reason()),
            keccak256(abi.encodeWithSelector(ReentrancyGuard.ReentrancyGuardReentrantCall.selector)),
            "re-entry blocked"
        );
        assertEq(cytr.balanceOf(address(auction)), 0, "paid out exactly once");
    }

    function onERC1155Received(address, address, uint256, uint256, bytes memory) public pure returns (bytes4) {
        return this.onERC1155Received.selector;
    }
}

/// A bidder contract whose ERC-1155 receive hook accepts, answers the wrong selector, reverts, or
/// burns all the gas it is given.
contract HookedBidder {
    enum Hook {
        Accept,
        WrongSelector,
        Revert,
        BurnGas
    }

    Auction auction;
    Hook public hook;

    constructor(Auction a, Hook h) {
        auction = a;
        hook = h;
    }

    function bidOn(uint256 lot, uint128 amount, CYTR cytr) external {
        cytr.approve(address(auction), type(uint256).max);
        auction.bid(lot, amount);
    }

    function setHook(Hook h) external {
        hook = h;
    }

    function claim(uint256 id, address to) external {
        auction.claim(id, to);
    }

    function onERC1155Received(address, address, uint256, uint256, bytes memory) external view returns (bytes4) {
        if (hook == Hook.WrongSelector) return 0xdeadbeef;
        if (hook == Hook.Revert) revert("no items here");
        if (hook == Hook.BurnGas) {
            while (true) {}
        }
        return this.onERC1155Received.selector;
    }
}

/// Settling a lot whose winner cannot or will not take the items.
contract AuctionDeliveryTest is Test {
    CYTR cytr;
    CyteriaItems items;
    Auction auction;
    address treasury = address(0xDA0);
    address royalties = address(0x0A0A);
    address seller = address(0x5E11);
    uint256 id;

    function setUp() public {
        cytr = new CYTR(address(this), 1e30);
        items = new CyteriaItems(address(this), royalties, 500);
        auction = new Auction(cytr, items, address(this), treasury, address(0));
        id = items.encodeId(CyteriaItems.ItemStats(0, 2, 20, 0, 200, 0), 3, 0);
        cytr.grantRole(cytr.MINTER_ROLE(), address(this));
        items.grantRole(items.MINTER_ROLE(), address(this));
        items.mint(seller, id, 1);
        vm.prank(seller);
        items.setApprovalForAll(address(auction), true);
    }

    /// A lot of `id` won by a fresh bidder with `hook` for 100 CYTR, ended.
    function wonBy(HookedBidder.Hook hook) internal returns (uint256 lot, HookedBidder w) {
        vm.prank(seller);
        lot = auction.create(id, 1, 100 ether, 1 hours);
        w = new HookedBidder(auction, hook);
        cytr.mint(address(w), 100 ether);
        w.bidOn(lot, 100 ether, cytr);
        vm.warp(block.timestamp + 1 hours);
    }

    function assertSellerPaid() internal view {
        uint256 fee = 100 ether * 250 / 10_000;
        uint256 royalty = 100 ether * 500 / 10_000;
        assertEq(cytr.balanceOf(treasury), fee, "fee");
        assertEq(cytr.balanceOf(royalties), royalty, "royalty");
        assertEq(cytr.balanceOf(seller), 100 ether - fee - royalty, "the seller is paid");
        assertEq(cytr.balanceOf(address(auction)), 0, "no CYTR left in escrow");
    }

    function assertClaim(address winner) internal view {
        assertEq(items.balanceOf(address(auction), id), 1, "the item waits in the auction");
        assertEq(auction.claimable(winner, id), 1, "as the winner's claim");
        (,, bool settled,,,,,) = auction.lots(1);
        assertTrue(settled, "the lot is settled");
    }

    function test_a_winner_that_answers_the_wrong_selector_still_lets_the_lot_settle() public {
        (uint256 lot, HookedBidder w) = wonBy(HookedBidder.Hook.WrongSelector);
        vm.expectEmit(address(auction));
        emit Auction.DeliveryFailed(lot, address(w), id, 1);
        auction.settle(lot);
        assertSellerPaid();
        assertClaim(address(w));
    }

    function test_a_winner_whose_hook_reverts_still_lets_the_lot_settle() public {
        (uint256 lot, HookedBidder w) = wonBy(HookedBidder.Hook.Revert);
        auction.settle(lot);
        assertSellerPaid();
        assertClaim(address(w));
    }

    function test_a_winner_that_burns_all_gas_cannot_block_settle() public {
        (uint256 lot, HookedBidder w) = wonBy(HookedBidder.Hook.BurnGas);
        uint256 before = gasleft();
        auction.settle{gas: 1_000_000}(lot);
        uint256 used = before - gasleft();
        assertSellerPaid();
        assertClaim(address(w));
        assertTrue(used < 400_000, "the burner cost the settler at most the delivery stipend");
    }

    function test_the_winner_claims_its_items_to_any_address() public {
        (uint256 lot, HookedBidder w) = wonBy(HookedBidder.Hook.Revert);
        auction.settle(lot);
        // Sending them to itself still fails; somewhere else works.
        vm.expectRevert();
        w.claim(id, address(w));
        vm.expectEmit(address(auction));
        emit Auction.ItemsClaimed(address(w), id, 1, address(0xC01D));
        w.claim(id, address(0xC01D));
        assertEq(items.balanceOf(address(0xC01D), id), 1, "delivered where the winner asked");
        assertEq(auction.claimable(address(w), id), 0, "claim spent");
        vm.expectRevert(abi.encodeWithSelector(Auction.AuctionNothingToClaim.selector, address(w), id));
        w.claim(id, address(0xC01D));
        // Nobody else has a claim on it.
        vm.prank(address(0xC01D));
        vm.expectRevert(abi.encodeWithSelector(Auction.AuctionNothingToClaim.selector, address(0xC01D), id));
        auction.claim(id, address(0xC01D));
    }

    function test_a_winner_that_fixes_its_hook_claims_to_itself() public {
        (uint256 lot, HookedBidder w) = wonBy(HookedBidder.Hook.BurnGas);
        auction.settle{gas: 1_000_000}(lot);
        w.setHook(HookedBidder.Hook.Accept);
        w.claim(id, address(w));
        assertEq(items.balanceOf(address(w), id), 1, "received");
    }

    function test_an_unsold_lot_of_a_refusing_seller_becomes_its_claim() public {
        HookedBidder s = new HookedBidder(auction, HookedBidder.Hook.Accept);
        uint256 other = items.encodeId(CyteriaItems.ItemStats(0, 2, 20, 0, 200, 0), 3, 1);
        items.mint(address(s), other, 1);
        vm.startPrank(address(s));
        items.setApprovalForAll(address(auction), true);
        uint256 lot = auction.create(other, 1, 1 ether, 1 hours);
        vm.stopPrank();
        s.setHook(HookedBidder.Hook.WrongSelector);
        vm.warp(block.timestamp + 1 hours);
        auction.settle(lot);
        assertEq(auction.claimable(address(s), other), 1, "the seller's claim");
    }

    function test_settling_with_too_little_gas_is_refused_not_turned_into_a_claim() public {
        (uint256 lot,) = wonBy(HookedBidder.Hook.Accept);
        (bool ok,) = address(auction).call{gas: 150_000}(abi.encodeCall(Auction.settle, (lot)));
        assertTrue(!ok, "refused");
        (,, bool settled,,,,,) = auction.lots(lot);
        assertTrue(!settled, "still open to settle");
    }

    /// Whatever gas a settler gives, a winner that accepts items either gets them or the
    /// settlement reverts: starving the transfer never pushes them into a claim.
    function testFuzz_a_willing_winner_is_never_left_with_a_claim(uint32 gas) public {
        (uint256 lot, HookedBidder w) = wonBy(HookedBidder.Hook.Accept);
        gas = uint32(100_000 + gas % 500_000);
        (bool ok,) = address(auction).call{gas: gas}(abi.encodeCall(Auction.settle, (lot)));
        assertEq(auction.claimable(address(w), id), 0, "no claim");
        assertEq(items.balanceOf(address(w), id), ok ? 1 : 0, "delivered iff settled");
        (,, bool settled,,,,,) = auction.lots(lot);
        assertTrue(settled == ok, "settled iff the call succeeded");
    }

    function test_a_willing_contract_winner_receives_its_items_and_the_delivery_gas() public {
        (uint256 lot, HookedBidder w) = wonBy(HookedBidder.Hook.Accept);
        auction.settle(lot);
        assertEq(items.balanceOf(address(w), id), 1, "delivered");
        assertEq(auction.claimable(address(w), id), 0, "no claim");
    }
}
