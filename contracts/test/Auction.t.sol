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
        uint256 lot2 = 0;
        vm.prank(admin);
        items.mint(seller, id, 1);
        lot2 = open();
        vm.prank(seller);
        auction.cancel(lot2);
        assertEq(items.balanceOf(seller, id), 1, "returned");
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

/// Drives auctions with random lots, bids, refunds, time and settlements.
contract AuctionHandler is Test {
    Auction auction;
    CyteriaItems items;
    uint256 id;
    address[3] public actors = [address(0x3001), address(0x3002), address(0x3003)];
    uint256[] public lotIds;

    constructor(Auction a, CyteriaItems i, uint256 id_) {
        auction = a;
        items = i;
        id = id_;
    }

    function create(uint256 who, uint128 reserve) external {
        address a = actors[who % 3];
        if (items.balanceOf(a, id) == 0) return;
        vm.prank(a);
        lotIds.push(auction.create(id, 1, reserve % 1000 ether, 1 hours));
    }

    function bid(uint256 who, uint256 pick, uint96 extra) external {
        if (lotIds.length == 0) return;
        uint256 lot = lotIds[pick % lotIds.length];
        (address seller, uint64 endsAt, bool settled,,,,,) = auction.lots(lot);
        address a = actors[who % 3];
        if (settled || block.timestamp >= endsAt || a == seller) return;
        uint256 amount = auction.minimumBid(lot) + uint256(extra) % 100 ether;
        vm.prank(a);
        auction.bid(lot, uint128(amount));
    }

    function refund(uint256 who) external {
        address a = actors[who % 3];
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

    /// CYTR the auction owes: open lots' highest bids plus refunds.
    function owed() external view returns (uint256 sum) {
        for (uint256 i; i < lotIds.length; ++i) {
            (,, bool settled,,,, uint128 highest,) = auction.lots(lotIds[i]);
            if (!settled) sum += highest;
        }
        for (uint256 i; i < 3; ++i) {
            sum += auction.refunds(actors[i]);
        }
    }

    function openLots() external view returns (uint256 n) {
        for (uint256 i; i < lotIds.length; ++i) {
            (,, bool settled,,,,,) = auction.lots(lotIds[i]);
            if (!settled) n++;
        }
    }
}

contract AuctionInvariants is Test {
    AuctionHandler handler;
    Auction auction;
    CyteriaItems items;
    CYTR cytr;
    uint256 id;

    function setUp() public {
        cytr = new CYTR(address(this), 1e30);
        items = new CyteriaItems(address(this), address(0x0A0A), 500);
        auction = new Auction(cytr, items, address(this), address(0xDA0), address(0));
        id = items.encodeId(CyteriaItems.ItemStats(2, 0, 8, 0, 100, 0), 1, 0);
        handler = new AuctionHandler(auction, items, id);
        cytr.grantRole(cytr.MINTER_ROLE(), address(this));
        items.grantRole(items.MINTER_ROLE(), address(this));
        for (uint256 i; i < 3; ++i) {
            address a = handler.actors(i);
            items.mint(a, id, 5);
            cytr.mint(a, 1e27);
            vm.startPrank(a);
            items.setApprovalForAll(address(auction), true);
            cytr.approve(address(auction), type(uint256).max);
            vm.stopPrank();
        }
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    function invariant_cytr_held_equals_what_is_owed() public view {
        assertEq(cytr.balanceOf(address(auction)), handler.owed(), "escrowed bids + refunds");
    }

    function invariant_items_held_equal_open_lots() public view {
        assertEq(items.balanceOf(address(auction), id), handler.openLots(), "one item per open lot");
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
