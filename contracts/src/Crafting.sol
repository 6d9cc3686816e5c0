// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {GaslessPausable} from "./GaslessPausable.sol";
import {CyteriaItems} from "./CyteriaItems.sol";

/// @title Crafting
/// @notice On-chain upgrade recipes: burn three items of one type and rarity plus a CYTR fee, mint
/// one of the next rarity. Stats follow the game's upgrade rule without a roll: the best damage
/// and defense of the three scaled by the rarity step (saturating at 65,535: a stat never wraps
/// and an upgrade never lowers it), durability at 3/4 of the new rarity's maximum, and the union
/// of the traits. Recipes (fee, enabled) are set by the DAO's timelock.
/// @dev Metadata: the crafter builds and pins the new item's metadata directory (as a settlement
/// batch's, with `<index>.json` and `<index>.png` for the one item `upgradeResult` names) and
/// passes its CID; the item records it (`CyteriaItems.tokenCid`), so `uri` of an upgraded item
/// is `ipfs://<that CID>/<index>.json`.
contract Crafting is GaslessPausable {
    using SafeERC20 for IERC20;

    struct Recipe {
        bool enabled;
        uint128 fee;
    }

    /// @notice Metadata batch of the first 65,536 items crafted on chain; the next ones count
    /// down from it (settled batches count up from 1, by epoch).
    uint48 public constant CRAFTED_BATCH = type(uint48).max;

    CyteriaItems public immutable items;
    IERC20 public immutable cytr;
    address public treasury;
    uint64 public crafted;
    /// @notice Upgrade recipe per item type and source rarity.
    mapping(uint8 itemType => mapping(uint8 rarity => Recipe)) public recipes;

    error CraftingRecipeDisabled(uint8 itemType, uint8 rarity);
    error CraftingMismatchedItems();
    /// @notice The inputs now upgrade into `result`, not the `expected` item whose metadata the
    /// caller pinned (another upgrade took its index first): build the metadata again.
    error CraftingResultChanged(uint256 expected, uint256 result);

    event RecipeSet(uint8 indexed itemType, uint8 indexed rarity, bool enabled, uint128 fee);
    event Upgraded(address indexed player, uint256[3] burned, uint256 minted, uint256 fee);

    constructor(CyteriaItems items_, IERC20 cytr_, address admin, address treasury_, address forwarder)
        GaslessPausable(admin, forwarder)
    {
        items = items_;
        cytr = cytr_;
        treasury = treasury_;
    }

    /// @notice Sets the upgrade recipe from `rarity` for `itemType` (admin: the timelock).
    function setRecipe(uint8 itemType, uint8 rarity, bool enabled, uint128 fee) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (itemType > 2 || rarity > 3) revert CraftingRecipeDisabled(itemType, rarity);
        recipes[itemType][rarity] = Recipe(enabled, fee);
        emit RecipeSet(itemType, rarity, enabled, fee);
    }

    /// @notice The item three inputs upgrade into (reverts if they do not match).
    function upgradeResult(uint256[3] calldata ids) public view returns (uint256) {
        CyteriaItems.ItemStats memory a = items.itemStats(ids[0]);
        CyteriaItems.ItemStats memory out = items.itemStats(ids[0]); // a copy, not an alias of `a`
        bytes32 traits = a.traits;
        for (uint256 i = 1; i < 3; ++i) {
            CyteriaItems.ItemStats memory s = items.itemStats(ids[i]);
            if (s.itemType != a.itemType || s.rarity != a.rarity) revert CraftingMismatchedItems();
            if (s.damage > out.damage) out.damage = s.damage;
            if (s.defense > out.defense) out.defense = s.defense;
            traits |= s.traits;
        }
        if (a.rarity >= 4) revert CraftingRecipeDisabled(a.itemType, a.rarity);
        uint16[5] memory pct = [uint16(100), 125, 155, 190, 240];
        uint16[5] memory maxDur = [uint16(150), 200, 260, 330, 420];
        out.rarity = a.rarity + 1;
        out.damage = _saturated((uint256(out.damage) * pct[out.rarity]) / pct[a.rarity]);
        out.defense = _saturated((uint256(out.defense) * pct[out.rarity]) / pct[a.rarity]);
        out.durability = _saturated((uint256(maxDur[out.rarity]) * 3) / 4);
        out.traits = traits;
        return items.encodeId(out, CRAFTED_BATCH - uint48(crafted >> 16), uint16(crafted));
    }

    /// @notice Burns three matching items of the caller and the recipe's CYTR fee; mints the
    /// upgrade, `expected` (what `upgradeResult(ids)` returned when the caller built its
    /// metadata), with `metadataCid`: the IPFS directory the caller pinned holding
    /// `<index>.json` and `<index>.png` of `expected` (index: its low 16 bits).
    /// @dev Reverts with `CraftingResultChanged` if another upgrade took the index first, so an
    /// item never records metadata written for a different id.
    function upgrade(uint256[3] calldata ids, uint256 expected, string calldata metadataCid)
        external
        whenNotPaused
        nonReentrant
        returns (uint256 minted)
    {
        CyteriaItems.ItemStats memory a = items.itemStats(ids[0]);
        Recipe memory r = recipes[a.itemType][a.rarity];
        if (!r.enabled) revert CraftingRecipeDisabled(a.itemType, a.rarity);
        minted = upgradeResult(ids);
        if (minted != expected) revert CraftingResultChanged(expected, minted);
        address player = _msgSender();
        unchecked {
            crafted++;
        }
        emit Upgraded(player, ids, minted, r.fee);
        if (r.fee > 0) cytr.safeTransferFrom(player, treasury, r.fee);
        for (uint256 i; i < 3; ++i) {
            items.burn(player, ids[i], 1);
        }
        items.mintWithMetadata(player, minted, metadataCid);
    }

    function _saturated(uint256 stat) private pure returns (uint16) {
        return stat > type(uint16).max ? type(uint16).max : uint16(stat);
    }

}
