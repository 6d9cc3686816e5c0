// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {Test} from "./Vm.sol";
import {CYTR} from "../src/CYTR.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

contract CYTRTest is Test {
    CYTR token;
    address admin = address(0xA11CE);
    address minter = address(0xB0B);
    uint256 constant CAP = 1_000_000 ether;

    function setUp() public {
        token = new CYTR(admin, CAP);
        bytes32 role = token.MINTER_ROLE();
        vm.prank(admin);
        token.grantRole(role, minter);
    }

    function test_minter_mints_up_to_the_cap() public {
        vm.prank(minter);
        token.mint(address(1), CAP);
        assertEq(token.totalSupply(), CAP, "at cap");
        vm.prank(minter);
        vm.expectRevert(abi.encodeWithSelector(ERC20Capped.ERC20ExceededCap.selector, CAP + 1, CAP));
        token.mint(address(1), 1);
    }

    function test_others_cannot_mint() public {
        bytes32 role = token.MINTER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, address(this), role));
        token.mint(address(this), 1);
    }

    function testFuzz_supply_never_exceeds_cap(uint256 a, uint256 b) public {
        a = a % (CAP + 1);
        vm.prank(minter);
        token.mint(address(1), a);
        vm.prank(minter);
        try token.mint(address(2), b) {} catch {}
        assertTrue(token.totalSupply() <= CAP, "over cap");
    }

    function test_permit_sets_allowance_from_a_signature() public {
        uint256 key = 0xBEEF;
        address owner = vm.addr(key);
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner,
                address(this),
                100,
                0,
                block.timestamp + 1
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        token.permit(owner, address(this), 100, block.timestamp + 1, v, r, s);
        assertEq(token.allowance(owner, address(this)), 100, "allowance");
        assertEq(token.nonces(owner), 1, "nonce used");
        vm.expectRevert();
        token.permit(owner, address(this), 100, block.timestamp + 1, v, r, s);
    }

    function test_delegated_balance_counts_as_votes() public {
        vm.prank(minter);
        token.mint(address(7), 500);
        vm.prank(address(7));
        token.delegate(address(7));
        assertEq(token.getVotes(address(7)), 500, "votes");
        vm.prank(address(7));
        token.burn(200);
        assertEq(token.getVotes(address(7)), 300, "votes follow burns");
    }
}

contract CYTRHandler is Test {
    CYTR token;

    constructor(CYTR t) {
        token = t;
    }

    function mint(uint256 amount) external {
        // Minting past the cap must revert; the invariant checks it never lands.
        try token.mint(address(0xBEE), amount % 400_000 ether) {} catch {}
    }

    function burn(uint256 amount) external {
        uint256 held = token.balanceOf(address(0xBEE));
        if (held == 0) return;
        vm.prank(address(0xBEE));
        token.burn(amount % (held + 1));
    }
}

contract CYTRInvariants is Test {
    CYTR token;
    CYTRHandler handler;

    function setUp() public {
        token = new CYTR(address(this), 1_000_000 ether);
        handler = new CYTRHandler(token);
        token.grantRole(token.MINTER_ROLE(), address(handler));
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    function invariant_supply_never_exceeds_the_cap() public view {
        assertTrue(token.totalSupply() <= token.cap(), "over cap");
    }
}
