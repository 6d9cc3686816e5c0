// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {Test} from "./Vm.sol";
import {CYTR} from "../src/CYTR.sol";
import {CyteriaItems} from "../src/CyteriaItems.sol";
import {Marketplace} from "../src/Marketplace.sol";
import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";

/// A buyer whose ERC-1155 receive hook tries to buy again.
contract ReentrantBuyer is ERC1155Holder {
    Marketplace market;
    uint256 listingId;
    bool public reentered;
    bytes public reason;

    constructor(Marketplace m) {
        market = m;
    }

    function attack(uint256 id) external {
        listingId = id;
        market.buy(id, 1, type(uint128).max);
    }

    function onERC1155Received(address, address, uint256, uint256, bytes memory) public override returns (bytes4) {
        if (!reentered) {
            reentered = true;
            try market.buy(listingId, 1, type(uint128).max) {} catch (bytes memory r) { reason = r; }
        }
        return this.onERC1155Received.selector;
    }
}

contract MarketplaceTest is Test {
    CYTR cytr;
    CyteriaItems items;
    Marketplace market;
    address admin = address(0xA11CE);
    address treasury = address(0xDA0);
    address royalties = address(0x0A0A);
    address forwarder = address(0xF0);
    address seller = address(0x5E11);
    address buyer = address(0xB0B);
    uint256 id;

    function setUp() public {
        cytr = new CYTR(admin, 1e30);
        items = new CyteriaItems(admin, royalties, 500); // 5% royalty
        market = new Marketplace(cytr, items, admin, treasury, 250, forwarder); // 2.5% fee
        id = items.encodeId(CyteriaItems.ItemStats(0, 3, 30, 0, 300, bytes32(uint256(3))), 1, 0);
        vm.startPrank(admin);
        cytr.grantRole(cytr.MINTER_ROLE(), admin);
        items.grantRole(items.MINTER_ROLE(), admin);
        market.grantRole(market.PAUSER_ROLE(), admin);
        cytr.mint(buyer, 1_000_000 ether);
        items.mint(seller, id, 10);
        vm.stopPrank();
        vm.prank(seller);
        items.setApprovalForAll(address(market), true);
        vm.prank(buyer);
        cytr.approve(address(market), type(uint256).max);
    }

    function listTen(uint128 price) internal returns (uint256) {
        vm.prank(seller);
        return market.list(id, 10, price);
    }

    function test_partial_buy_pays_seller_fee_and_royalty() public {
        uint256 l = listTen(100 ether);
        assertEq(items.balanceOf(address(market), id), 10, "escrowed");
        vm.prank(buyer);
        market.buy(l, 4, 100 ether);
        assertEq(items.balanceOf(buyer, id), 4, "bought 4");
        assertEq(cytr.balanceOf(treasury), 10 ether, "2.5% of 400");
        assertEq(cytr.balanceOf(royalties), 20 ether, "5% of 400");
        assertEq(cytr.balanceOf(seller), 370 ether, "the rest");
        (,, uint128 left,) = market.listings(l);
        assertEq(left, 6, "6 left");
    }

    function test_buying_more_than_listed_or_above_the_limit_fails() public {
        uint256 l = listTen(100 ether);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketplaceInsufficientAmount.selector, 10, 11));
        market.buy(l, 11, 100 ether);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketplacePriceAboveLimit.selector, 100 ether, 99 ether));
        market.buy(l, 1, 99 ether);
    }

    function test_only_the_seller_cancels_and_gets_the_rest_back() public {
        uint256 l = listTen(1 ether);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketplaceNotSeller.selector, buyer, seller));
        market.cancel(l);
        vm.prank(seller);
        market.cancel(l);
        assertEq(items.balanceOf(seller, id), 10, "returned");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketplaceNoListing.selector, l));
        market.buy(l, 1, 1 ether);
    }

    function test_pause_stops_trading_but_not_cancelling() public {
        uint256 l = listTen(1 ether);
        vm.prank(admin);
        market.pause();
        vm.prank(buyer);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        market.buy(l, 1, 1 ether);
        vm.prank(seller);
        market.cancel(l);
    }

    function test_reentrant_receiver_cannot_buy_twice() public {
        uint256 l = listTen(1 ether);
        ReentrantBuyer attacker = new ReentrantBuyer(market);
        vm.prank(admin);
        cytr.mint(address(attacker), 100 ether);
        vm.prank(address(attacker));
        cytr.approve(address(market), type(uint256).max);
        attacker.attack(l);
        assertTrue(attacker.reentered(), "the hook ran");
        assertEq(
            keccak256(attacker.reason()),
            keccak256(abi.encodeWithSelector(ReentrancyGuard.ReentrancyGuardReentrantCall.selector)),
            "blocked by the guard"
        );
        assertEq(items.balanceOf(address(attacker), id), 1, "one item only");
        assertEq(cytr.balanceOf(address(attacker)), 99 ether, "paid once");
    }

    function test_trusted_forwarder_acts_for_the_signer() public {
        uint256 l = listTen(1 ether);
        // An ERC-2771 forwarder appends the verified sender to the calldata.
        vm.prank(forwarder);
        (bool ok,) = address(market).call(abi.encodePacked(abi.encodeCall(Marketplace.cancel, (l)), seller));
        assertTrue(ok, "cancel relayed for the seller");
        assertEq(items.balanceOf(seller, id), 10, "returned to the seller");
    }

    function testFuzz_payments_add_up(uint128 price, uint8 amount) public {
        price = uint128(bound(price, 0, 1e22));
        amount = uint8(bound(amount, 1, 10));
        uint256 l = listTen(price);
        uint256 before = cytr.balanceOf(buyer);
        vm.prank(buyer);
        market.buy(l, amount, price);
        uint256 total = uint256(price) * amount;
        assertEq(before - cytr.balanceOf(buyer), total, "buyer paid the total");
        assertEq(cytr.balanceOf(seller) + cytr.balanceOf(treasury) + cytr.balanceOf(royalties), total, "all of it arrived");
        assertEq(cytr.balanceOf(address(market)), 0, "market keeps no CYTR");
        assertEq(items.balanceOf(address(market), id), 10 - uint256(amount), "escrow matches");
    }

    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + (x % (hi - lo + 1));
    }
}

/// Drives the marketplace with random listings, buys and cancels by a few actors.
contract MarketplaceHandler is Test {
    Marketplace market;
    CyteriaItems items;
    CYTR cytr;
    uint256 id;
    address[3] actors = [address(0x1001), address(0x1002), address(0x1003)];
    uint256[] public open;

    constructor(Marketplace m, CyteriaItems i, CYTR c, uint256 id_) {
        market = m;
        items = i;
        cytr = c;
        id = id_;
    }

    function list(uint256 who, uint128 amount, uint128 price) external {
        address a = actors[who % 3];
        // Assumption: sellers list what they hold; clamp the amount into their balance.
        uint256 held = items.balanceOf(a, id);
        if (held == 0) return;
        amount = uint128(1 + amount % held);
        price = price % 1e21;
        vm.prank(a);
        open.push(market.list(id, amount, price));
    }

    function buy(uint256 who, uint256 pick, uint128 amount) external {
        if (open.length == 0) return;
        uint256 l = open[pick % open.length];
        (address seller,, uint128 left, uint128 price) = market.listings(l);
        if (left == 0) return;
        address a = actors[who % 3];
        if (a == seller) return; // buying one's own listing is allowed but says nothing new
        amount = uint128(1 + amount % left);
        vm.prank(a);
        market.buy(l, amount, price);
    }

    function cancel(uint256 pick) external {
        if (open.length == 0) return;
        uint256 l = open[pick % open.length];
        (address seller,, uint128 left,) = market.listings(l);
        if (left == 0) return;
        vm.prank(seller);
        market.cancel(l);
    }

    function escrowed() external view returns (uint256 sum) {
        for (uint256 i; i < open.length; ++i) {
            (,, uint128 left,) = market.listings(open[i]);
            sum += left;
        }
    }
}

contract MarketplaceInvariants is Test {
    MarketplaceHandler handler;
    Marketplace market;
    CyteriaItems items;
    CYTR cytr;
    uint256 id;

    function setUp() public {
        cytr = new CYTR(address(this), 1e30);
        items = new CyteriaItems(address(this), address(0x0A0A), 500);
        market = new Marketplace(cytr, items, address(this), address(0xDA0), 250, address(0));
        id = items.encodeId(CyteriaItems.ItemStats(0, 0, 10, 0, 100, 0), 1, 0);
        handler = new MarketplaceHandler(market, items, cytr, id);
        cytr.grantRole(cytr.MINTER_ROLE(), address(this));
        items.grantRole(items.MINTER_ROLE(), address(this));
        address[3] memory actors = [address(0x1001), address(0x1002), address(0x1003)];
        for (uint256 i; i < 3; ++i) {
            items.mint(actors[i], id, 50);
            cytr.mint(actors[i], 1e30 / 4);
            vm.startPrank(actors[i]);
            items.setApprovalForAll(address(market), true);
            cytr.approve(address(market), type(uint256).max);
            vm.stopPrank();
        }
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    function invariant_escrow_matches_open_listings() public view {
        assertEq(items.balanceOf(address(market), id), handler.escrowed(), "escrow");
    }

    function invariant_market_never_holds_cytr() public view {
        assertEq(cytr.balanceOf(address(market)), 0, "cytr");
    }

    function invariant_items_are_conserved() public view {
        uint256 total = items.balanceOf(address(market), id) + items.balanceOf(address(0x1001), id)
            + items.balanceOf(address(0x1002), id) + items.balanceOf(address(0x1003), id);
        assertEq(total, 150, "no item created or lost");
    }
}

contract MarketplaceMetaTxTest is Test {
    ERC2771Forwarder forwarder;
    Marketplace market;

    function signRequest(uint256 key, address from, bytes memory data, uint48 deadline) internal returns (bytes memory) {
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "ForwardRequest(address from,address to,uint256 value,uint256 gas,uint256 nonce,uint48 deadline,bytes data)"
                ),
                from,
                address(market),
                0,
                300_000,
                forwarder.nonces(from),
                deadline,
                keccak256(data)
            )
        );
        (, string memory name, string memory version, uint256 chainId, address verifying,,) = forwarder.eip712Domain();
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256(bytes(name)),
                keccak256(bytes(version)),
                chainId,
                verifying
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
        return abi.encodePacked(r, s, v);
    }

    function test_a_gasless_seller_lists_through_the_forwarder() public {
        forwarder = new ERC2771Forwarder("CyteriaForwarder");
        CYTR cytr = new CYTR(address(this), 1e30);
        CyteriaItems items = new CyteriaItems(address(this), address(this), 0);
        market = new Marketplace(cytr, items, address(this), address(0xDA0), 250, address(forwarder));
        uint256 key = 0x5E11E;
        address seller = vm.addr(key);
        uint256 id = items.encodeId(CyteriaItems.ItemStats(0, 0, 9, 0, 90, 0), 1, 0);
        items.grantRole(items.MINTER_ROLE(), address(this));
        items.mint(seller, id, 2);
        vm.prank(seller);
        items.setApprovalForAll(address(market), true);

        bytes memory data = abi.encodeCall(Marketplace.list, (id, 2, 5 ether));
        uint48 deadline = uint48(block.timestamp + 1 hours);
        ERC2771Forwarder.ForwardRequestData memory req = ERC2771Forwarder.ForwardRequestData({
            from: seller,
            to: address(market),
            value: 0,
            gas: 300_000,
            deadline: deadline,
            data: data,
            signature: signRequest(key, seller, data, deadline)
        });
        vm.prank(address(0x4E1A7)); // a relayer pays the gas
        forwarder.execute(req);
        (address listedBy,, uint128 amount,) = market.listings(1);
        assertEq(uint160(listedBy), uint160(seller), "listed for the signer, not the relayer");
        assertEq(amount, 2, "amount");
        vm.expectRevert();
        forwarder.execute(req); // the nonce is spent: no replay
    }
}
