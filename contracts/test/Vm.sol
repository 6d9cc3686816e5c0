// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

/// @notice The cheat codes the tests use, at the standard cheat-code address (forge-std's npm
/// package is broken, so the project keeps its own small interface).
interface Vm {
    function prank(address) external;
    function startPrank(address) external;
    function stopPrank() external;
    function expectRevert(bytes calldata) external;
    function expectRevert() external;
    function expectRevert(bytes4) external;
    function expectEmit(address emitter) external;
    function warp(uint256) external;

    function roll(uint256) external;
    function deal(address, uint256) external;
    function assume(bool) external;
    function sign(uint256 privateKey, bytes32 digest) external returns (uint8 v, bytes32 r, bytes32 s);
    function addr(uint256 privateKey) external returns (address);
}

/// @notice Assertions and the cheat-code handle shared by every test contract.
abstract contract Test {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    bool public IS_TEST = true;

    error AssertionFailed(string what);

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert AssertionFailed(what);
    }

    function assertEq(address a, address b, string memory what) internal pure {
        if (a != b) revert AssertionFailed(what);
    }

    function assertEq(bytes32 a, bytes32 b, string memory what) internal pure {
        if (a != b) revert AssertionFailed(what);
    }

    function assertEq(string memory a, string memory b, string memory what) internal pure {
        if (keccak256(bytes(a)) != keccak256(bytes(b))) revert AssertionFailed(what);
    }

    function assertTrue(bool c, string memory what) internal pure {
        if (!c) revert AssertionFailed(what);
    }
}

/// @notice The broadcasting cheat codes deploy scripts use.
interface VmScript {
    function startBroadcast(uint256 privateKey) external;
    function stopBroadcast() external;
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256);
    function envOr(string calldata name, address defaultValue) external view returns (address);
    function envOr(string calldata name, string calldata delim, address[] calldata defaultValue)
        external
        view
        returns (address[] memory);
    function envOr(string calldata name, string calldata delim, uint256[] calldata defaultValue)
        external
        view
        returns (uint256[] memory);
    function addr(uint256 privateKey) external returns (address);
}
