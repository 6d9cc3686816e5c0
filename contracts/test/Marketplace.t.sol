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
import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";

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
        items.mint(seller, id, 1); // items are unique: one of each id
        vm.stopPrank();
        vm.prank(seller);
        items.setApprovalForAll(address(market), true);
        vm.prank(buyer);
        cytr.approve(address(market), type(uint256).max);
    }

    function listOne(uint128 price) internal returns (uint256) {
        vm.prank(seller);
        return market.list(id, 1, price);
    }

    function test_a_buy_pays_seller_fee_and_royalty() public {
        uint256 l = listOne(400 ether);
        assertEq(items.balanceOf(address(market), id), 1, "escrowed");
        vm.prank(buyer);
        market.buy(l, 1, 400 ether);
        assertEq(items.balanceOf(buyer, id), 1, "bought");
        assertEq(cytr.balanceOf(treasury), 10 ether, "2.5% of 400");
        assertEq(cytr.balanceOf(royalties), 20 ether, "5% of 400");
        assertEq(cytr.balanceOf(seller), 370 ether, "the rest");
        (,, uint128 left,) = market.listings(l);
        assertEq(left, 0, "sold out");
    }

    function test_buying_more_than_listed_or_above_the_limit_fails() public {
        uint256 l = listOne(100 ether);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketplaceInsufficientAmount.selector, 1, 2));
        market.buy(l, 2, 100 ether);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketplacePriceAboveLimit.selector, 100 ether, 99 ether));
        market.buy(l, 1, 99 ether);
    }

    function test_only_the_seller_cancels_and_gets_the_rest_back() public {
        uint256 l = listOne(1 ether);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketplaceNotSeller.selector, buyer, seller));
        market.cancel(l);
        vm.prank(seller);
        market.cancel(l);
        assertEq(items.balanceOf(seller, id), 1, "returned");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketplaceNoListing.selector, l));
        market.buy(l, 1, 1 ether);
    }

    function test_pause_stops_trading_but_not_cancelling() public {
        uint256 l = listOne(1 ether);
        vm.prank(admin);
        market.pause();
        vm.prank(buyer);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        market.buy(l, 1, 1 ether);
        vm.prank(seller);
        market.cancel(l);
    }

    function test_reentrant_receiver_cannot_buy_twice() public {
        uint256 l = listOne(1 ether);
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
        uint256 l = listOne(1 ether);
        // An ERC-2771 forwarder appends the verified sender to the calldata.
        vm.prank(forwarder);
        (bool ok,) = address(market).call(abi.encodePacked(abi.encodeCall(Marketplace.cancel, (l)), seller));
        assertTrue(ok, "cancel relayed for the seller");
        assertEq(items.balanceOf(seller, id), 1, "returned to the seller");
    }

    function testFuzz_payments_add_up(uint128 price) public {
        price = uint128(bound(price, 0, 1e22));
        uint256 l = listOne(price);
        uint256 before = cytr.balanceOf(buyer);
        vm.prank(buyer);
        market.buy(l, 1, price);
        assertEq(before - cytr.balanceOf(buyer), price, "buyer paid the price");
        assertEq(cytr.balanceOf(seller) + cytr.balanceOf(treasury) + cytr.balanceOf(royalties), price, "all of it arrived");
        assertEq(cytr.balanceOf(address(market)), 0, "market keeps no CYTR");
        assertEq(items.balanceOf(address(market), id), 0, "escrow emptied");
    }

    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + (x % (hi - lo + 1));
    }
}

/// Drives the marketplace with random listings, buys and cancels by a few actors. Items are
/// unique, so each actor starts with five of its own and every listing is of one item.
contract MarketplaceHandler is Test {
    Marketplace market;
    CyteriaItems items;
    CYTR cytr;
    uint256[] public pool;
    address[3] actors = [address(0x1001), address(0x1002), address(0x1003)];
    uint256[] public open;

    constructor(Marketplace m, CyteriaItems i, CYTR c, uint256[] memory pool_) {
        market = m;
        items = i;
        cytr = c;
        pool = pool_;
    }

    function poolSize() external view returns (uint256) {
        return pool.length;
    }

    function list(uint256 who, uint256 pick, uint128 price) external {
        address a = actors[who % 3];
        // Assumption: sellers list what they hold; take the first item they hold from `pick` on.
        for (uint256 i; i < pool.length; ++i) {
            uint256 id = pool[(pick % pool.length + i) % pool.length];
            if (items.balanceOf(a, id) == 0) continue;
            vm.prank(a);
            open.push(market.list(id, 1, price % 1e21));
            return;
        }
    }

    function buy(uint256 who, uint256 pick) external {
        if (open.length == 0) return;
        uint256 l = open[pick % open.length];
        (address seller,, uint128 left, uint128 price) = market.listings(l);
        if (left == 0) return;
        address a = actors[who % 3];
        if (a == seller) return; // buying one's own listing is allowed but says nothing new
        vm.prank(a);
        market.buy(l, left, price);
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

    /// How many of the pool's items `holder` has.
    function heldBy(address holder) public view returns (uint256 n) {
        for (uint256 i; i < pool.length; ++i) {
            n += items.balanceOf(holder, pool[i]);
        }
    }
}

contract MarketplaceInvariants is Test {
    MarketplaceHandler handler;
    Marketplace market;
    CyteriaItems items;
    CYTR cytr;

    function setUp() public {
        cytr = new CYTR(address(this), 1e30);
        items = new CyteriaItems(address(this), address(0x0A0A), 500);
        market = new Marketplace(cytr, items, address(this), address(0xDA0), 250, address(0));
        cytr.grantRole(cytr.MINTER_ROLE(), address(this));
        items.grantRole(items.MINTER_ROLE(), address(this));
        address[3] memory actors = [address(0x1001), address(0x1002), address(0x1003)];
        uint256[] memory pool = new uint256[](15);
        for (uint256 i; i < 3; ++i) {
            for (uint256 j; j < 5; ++j) {
                pool[i * 5 + j] = items.encodeId(CyteriaItems.ItemStats(0, 0, 10, 0, 100, 0), 1, uint16(i * 5 + j));
                items.mint(actors[i], pool[i * 5 + j], 1);
            }
            cytr.mint(actors[i], 1e30 / 4);
            vm.startPrank(actors[i]);
            items.setApprovalForAll(address(market), true);
            cytr.approve(address(market), type(uint256).max);
            vm.stopPrank();
        }
        handler = new MarketplaceHandler(market, items, cytr, pool);
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    function invariant_escrow_matches_open_listings() public view {
        assertEq(handler.heldBy(address(market)), handler.escrowed(), "escrow");
    }

    function invariant_market_never_holds_cytr() public view {
        assertEq(cytr.balanceOf(address(market)), 0, "cytr");
    }

    function invariant_items_are_conserved() public view {
        uint256 total = handler.heldBy(address(market)) + handler.heldBy(address(0x1001))
            + handler.heldBy(address(0x1002)) + handler.heldBy(address(0x1003));
        assertEq(total, 15, "no item created or lost");
    }
}

/// A generic multi-unit ERC-1155 with a royalty: the marketplace trades any such token, and
/// partial buys only exist where an id has more than one unit (never for Cyteria's items).
contract FungibleItems is ERC1155, ERC2981 {
    constructor(address royaltyReceiver) ERC1155("") {
        _setDefaultRoyalty(royaltyReceiver, 500);
    }

    function mint(address to, uint256 id, uint256 amount) external {
        _mint(to, id, amount, "");
    }

    function supportsInterface(bytes4 interfaceId) public view override(ERC1155, ERC2981) returns (bool) {
        return super.supportsInterface(interfaceId);
    }
}

contract MarketplaceMultiUnitTest is Test {
    function test_partial_buy_of_a_multi_unit_token_pays_seller_fee_and_royalty() public {
        address seller = address(0x5E11);
        address buyer = address(0xB0B);
        address treasury = address(0xDA0);
        address royalties = address(0x0A0A);
        CYTR cytr = new CYTR(address(this), 1e30);
        FungibleItems items = new FungibleItems(royalties);
        Marketplace market = new Marketplace(cytr, items, address(this), treasury, 250, address(0));
        cytr.grantRole(cytr.MINTER_ROLE(), address(this));
        cytr.mint(buyer, 1_000 ether);
        items.mint(seller, 7, 10);
        vm.prank(seller);
        items.setApprovalForAll(address(market), true);
        vm.prank(buyer);
        cytr.approve(address(market), type(uint256).max);
        vm.prank(seller);
        uint256 l = market.list(7, 10, 100 ether);
        vm.prank(buyer);
        market.buy(l, 4, 100 ether);
        assertEq(items.balanceOf(buyer, 7), 4, "bought 4");
        assertEq(cytr.balanceOf(treasury), 10 ether, "2.5% of 400");
        assertEq(cytr.balanceOf(royalties), 20 ether, "5% of 400");
        assertEq(cytr.balanceOf(seller), 370 ether, "the rest");
        (,, uint128 left,) = market.listings(l);
        assertEq(left, 6, "6 left");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketplaceInsufficientAmount.selector, 6, 7));
        market.buy(l, 7, 100 ether);
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
        items.mint(seller, id, 1);
        vm.prank(seller);
        items.setApprovalForAll(address(market), true);

        bytes memory data = abi.encodeCall(Marketplace.list, (id, 1, 5 ether));
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
        assertEq(amount, 1, "amount");
        vm.expectRevert();
        forwarder.execute(req); // the nonce is spent: no replay
    }
}
