// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {Test} from "./Vm.sol";
import {CYTR} from "../src/CYTR.sol";
import {CyteriaItems} from "../src/CyteriaItems.sol";
import {Auction} from "../src/Auction.sol";

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
