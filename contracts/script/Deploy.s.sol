// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {VmScript} from "../test/Vm.sol";
import {CYTR} from "../src/CYTR.sol";
import {CyteriaItems} from "../src/CyteriaItems.sol";
import {Staking} from "../src/Staking.sol";
import {Settlement} from "../src/Settlement.sol";
import {Marketplace} from "../src/Marketplace.sol";
import {Auction} from "../src/Auction.sol";
import {Crafting} from "../src/Crafting.sol";
import {PlayerBond} from "../src/PlayerBond.sol";
import {CyteriaDAO, IStakedVotes} from "../src/CyteriaDAO.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

/// @notice The one definition of a Cyteria deployment: deploys and wires every contract, mints
/// the genesis allocation, then hands every admin role to the timelock. The Rust launcher
/// (`cyteria_chain::anvil`, the devnet, `cyteria deploy`) runs this same script.
/// `forge script script/Deploy.s.sol --rpc-url http://127.0.0.1:8545 --broadcast`
/// Environment (each optional): `DEPLOYER_KEY` (default: anvil's first account);
/// `CYTERIA_GUARDIAN`, who may pause in an emergency, never unpause (default: the deployer);
/// `CYTERIA_TICK_RATE`, simulation ticks per second of chain time (60; a devnet that plays
/// faster than real time sets more); `CYTERIA_GENESIS_ACCOUNTS` and `CYTERIA_GENESIS_AMOUNTS`,
/// comma-separated, the CYTR minted at genesis (default: `GENESIS_SUPPLY` to the deployer, who
/// distributes it); `CYTERIA_GENESIS_VALIDATORS`, comma-separated, who may join the validator set
/// before the first batch settles (default: the deployer). Returns the addresses as JSON.
contract Deploy {
    VmScript internal constant vm = VmScript(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant ANVIL_KEY = 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80;

    /// @notice CYTR minted at genesis when no allocation is given: a tenth of the cap.
    uint256 public constant GENESIS_SUPPLY = 100_000_000 ether;
    /// @notice The timelock's delay: longer than the longest unstake or unbond cooldown (7 days),
    /// so a staker who sees a proposal queued leaves before it can act.
    uint256 public constant TIMELOCK_DELAY = 8 days;
    /// @notice A day to read a proposal, five days to vote on it (seconds: CYTR's clock).
    uint48 public constant VOTING_DELAY = 1 days;
    uint32 public constant VOTING_PERIOD = 5 days;
    uint256 public constant QUORUM_PERCENT = 4;

    /// @notice What a deployment may choose.
    struct Params {
        address guardian;
        uint32 tickRate;
        address[] genesisTo;
        uint256[] genesisAmounts;
        address[] genesisValidators;
    }

    struct Deployed {
        CYTR cytr;
        CyteriaItems items;
        Staking staking;
        Settlement settlement;
        Marketplace market;
        Auction auction;
        Crafting crafting;
        TimelockController timelock;
        CyteriaDAO dao;
        ERC2771Forwarder forwarder;
        PlayerBond bond;
    }

    error DeployGenesisMismatch();

    function run() external returns (string memory json) {
        uint256 key = vm.envOr("DEPLOYER_KEY", ANVIL_KEY);
        address me = vm.addr(key);
        Params memory p = params(me);
        vm.startBroadcast(key);
        Deployed memory d = deploy(me, p);
        vm.stopBroadcast();
        json = toJson(d);
    }

    /// @notice The parameters the environment chooses, with their defaults.
    function params(address me) public view returns (Params memory p) {
        p.guardian = vm.envOr("CYTERIA_GUARDIAN", me);
        p.tickRate = uint32(vm.envOr("CYTERIA_TICK_RATE", uint256(60)));
        address[] memory to = new address[](1);
        to[0] = me;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = GENESIS_SUPPLY;
        p.genesisTo = vm.envOr("CYTERIA_GENESIS_ACCOUNTS", ",", to);
        p.genesisAmounts = vm.envOr("CYTERIA_GENESIS_AMOUNTS", ",", amounts);
        p.genesisValidators = vm.envOr("CYTERIA_GENESIS_VALIDATORS", ",", to);
    }

    /// @notice Deploys everything with `me` as the deployer (who must be the caller of each step:
    /// the broadcasting key, or this contract itself in a test).
    function deploy(address me, Params memory p) public returns (Deployed memory d) {
        address[] memory none = new address[](0);
        d.timelock = new TimelockController(TIMELOCK_DELAY, none, none, me);
        d.forwarder = new ERC2771Forwarder("CyteriaForwarder");
        d.cytr = new CYTR(me, 1_000_000_000 ether);
        d.items = new CyteriaItems(me, address(d.timelock), 250);
        d.staking = new Staking(d.cytr, me, 1_000 ether, 7 days);
        d.settlement = new Settlement(d.staking, d.items, me, address(d.timelock), 500 ether);
        d.market = new Marketplace(d.cytr, d.items, me, address(d.timelock), 250, address(d.forwarder));
        d.auction = new Auction(d.cytr, d.items, me, address(d.timelock), address(d.forwarder));
        d.crafting = new Crafting(d.items, d.cytr, me, address(d.timelock), address(d.forwarder));
        d.dao = new CyteriaDAO(d.cytr, IStakedVotes(address(d.staking)), d.timelock, VOTING_DELAY, VOTING_PERIOD, QUORUM_PERCENT);
        // Slashed player bonds go to the DAO treasury (the timelock).
        d.bond = new PlayerBond(d.cytr, me, 100 ether, 7 days, address(d.timelock));

        d.items.grantRole(d.items.MINTER_ROLE(), address(d.settlement));
        d.items.grantRole(d.items.MINTER_ROLE(), address(d.crafting));
        // The settlement is the one slasher of stakes and bonds, named once and for good.
        d.staking.setSettlement(address(d.settlement));
        d.staking.setGenesisValidators(p.genesisValidators);
        d.bond.setSettlement(address(d.settlement));
        d.settlement.setPlayerBond(d.bond);
        for (uint8 t; t < 3; ++t) {
            for (uint8 r; r < 4; ++r) {
                d.crafting.setRecipe(t, r, true, uint128(10 ether) << r);
            }
        }
        if (p.tickRate != 60) d.settlement.setTickRate(p.tickRate);
        if (p.genesisTo.length != p.genesisAmounts.length) revert DeployGenesisMismatch();
        bytes32 minter = d.cytr.MINTER_ROLE();
        d.cytr.grantRole(minter, me);
        for (uint256 i; i < p.genesisTo.length; ++i) {
            if (p.genesisAmounts[i] != 0) d.cytr.mint(p.genesisTo[i], p.genesisAmounts[i]);
        }
        d.cytr.renounceRole(minter, me);
        address tl = address(d.timelock);
        // The guardian and the timelock pause; only the timelock (admin) unpauses.
        address[2] memory pausers = [tl, p.guardian];
        for (uint256 i; i < 2; ++i) {
            d.items.grantRole(d.items.PAUSER_ROLE(), pausers[i]);
            d.market.grantRole(d.market.PAUSER_ROLE(), pausers[i]);
            d.auction.grantRole(d.auction.PAUSER_ROLE(), pausers[i]);
            d.crafting.grantRole(d.crafting.PAUSER_ROLE(), pausers[i]);
        }
        d.staking.grantRole(d.staking.REWARDS_ROLE(), tl);
        d.cytr.grantRole(d.cytr.MINTER_ROLE(), tl);
        d.timelock.grantRole(d.timelock.PROPOSER_ROLE(), address(d.dao));
        d.timelock.grantRole(d.timelock.CANCELLER_ROLE(), address(d.dao));
        d.timelock.grantRole(d.timelock.EXECUTOR_ROLE(), address(0));
        // Hand administration to the timelock. (A devnet keeps a minter on the deployer through
        // a later, separate grant made by the timelock.)
        bytes32 admin = 0x00;
        d.cytr.grantRole(admin, tl);
        d.items.grantRole(admin, tl);
        d.staking.grantRole(admin, tl);
        d.settlement.grantRole(admin, tl);
        d.market.grantRole(admin, tl);
        d.auction.grantRole(admin, tl);
        d.crafting.grantRole(admin, tl);
        d.bond.grantRole(admin, tl);
        d.cytr.renounceRole(admin, me);
        d.items.renounceRole(admin, me);
        d.staking.renounceRole(admin, me);
        d.settlement.renounceRole(admin, me);
        d.market.renounceRole(admin, me);
        d.auction.renounceRole(admin, me);
        d.crafting.renounceRole(admin, me);
        d.bond.renounceRole(admin, me);
        d.timelock.renounceRole(d.timelock.DEFAULT_ADMIN_ROLE(), me);
    }

    function toJson(Deployed memory d) internal pure returns (string memory) {
        return string.concat(
            "{",
            field("CYTR", address(d.cytr)), ",",
            field("CyteriaItems", address(d.items)), ",",
            field("Staking", address(d.staking)), ",",
            field("Settlement", address(d.settlement)), ",",
            field("Marketplace", address(d.market)), ",",
            field("Auction", address(d.auction)), ",",
            field("Crafting", address(d.crafting)), ",",
            field("TimelockController", address(d.timelock)), ",",
            field("CyteriaDAO", address(d.dao)), ",",
            field("ERC2771Forwarder", address(d.forwarder)), ",",
            field("PlayerBond", address(d.bond)),
            "}"
        );
    }

    function field(string memory name, address a) internal pure returns (string memory) {
        return string.concat("\"", name, "\":\"", Strings.toHexString(a), "\"");
    }
}
