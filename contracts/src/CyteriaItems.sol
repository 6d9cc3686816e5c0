// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {ERC1155Pausable} from "@openzeppelin/contracts/token/ERC1155/extensions/ERC1155Pausable.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

/// @title CyteriaItems
/// @notice Cyteria's items (ERC-1155). An item's stats are encoded in its token id, so minting
/// writes no storage beyond the balance: `itemStats(id)` decodes the id.
/// @dev Id layout (high to low bits): itemType 8 | rarity 8 | damage 16 | defense 16 |
/// durability 16 | traits bits 0..127 (128) | batch 48 | index 16. The rules define traits in
/// bits 0..11; traits above bit 127 are refused. A settled batch's number is its epoch, so 48
/// bits never run out. Metadata lives in IPFS per batch: `uri(id)` is
/// `ipfs://<batch CID>/<index>.json`.
contract CyteriaItems is ERC1155Pausable, ERC2981, AccessControl {
    using Strings for uint256;

    /// @notice The seed's item stats, field for field.
    struct ItemStats {
        uint8 itemType;
        uint8 rarity;
        uint16 damage;
        uint16 defense;
        uint16 durability;
        bytes32 traits;
    }

    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice The IPFS CID of each batch's metadata directory.
    mapping(uint48 batch => string cid) public batchCid;

    /// @notice An id's stats are out of range (item type > 2, rarity > 4, or traits above bit 127).
    error CyteriaItemsInvalidStats(uint256 id);
    /// @notice A batch's metadata CID was already recorded.
    error CyteriaItemsBatchExists(uint48 batch);

    /// @notice Emitted when a batch's metadata CID is recorded.
    event BatchMetadata(uint48 indexed batch, string cid);

    /// @param admin Holder of the admin role (the DAO timelock in production).
    /// @param royaltyReceiver Receiver of ERC-2981 royalties.
    /// @param royaltyBps Royalty in basis points.
    constructor(address admin, address royaltyReceiver, uint96 royaltyBps) ERC1155("") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setDefaultRoyalty(royaltyReceiver, royaltyBps);
    }

    /// @notice The id of an item with `stats`, minted as item `index` of metadata batch `batch`.
    function encodeId(ItemStats memory stats, uint48 batch, uint16 index) public pure returns (uint256 id) {
        id = (uint256(stats.itemType) << 248) | (uint256(stats.rarity) << 240) | (uint256(stats.damage) << 224)
            | (uint256(stats.defense) << 208) | (uint256(stats.durability) << 192)
            | ((uint256(stats.traits) & ((1 << 128) - 1)) << 64) | (uint256(batch) << 16) | uint256(index);
        if (!_valid(id) || uint256(stats.traits) >> 128 != 0) revert CyteriaItemsInvalidStats(id);
    }

    /// @notice The stats of item `id`, decoded from the id.
    function itemStats(uint256 id) public pure returns (ItemStats memory stats) {
        stats.itemType = uint8(id >> 248);
        stats.rarity = uint8(id >> 240);
        stats.damage = uint16(id >> 224);
        stats.defense = uint16(id >> 208);
        stats.durability = uint16(id >> 192);
        stats.traits = bytes32((id >> 64) & ((1 << 128) - 1));
    }

    /// @notice `ipfs://<batch CID>/<index>.json`.
    function uri(uint256 id) public view override returns (string memory) {
        return string.concat("ipfs://", batchCid[uint48(id >> 16)], "/", uint256(uint16(id)).toString(), ".json");
    }

    /// @notice Records the metadata CID of `batch` (once).
    function setBatchCid(uint48 batch, string calldata cid) external onlyRole(MINTER_ROLE) {
        if (bytes(batchCid[batch]).length != 0) revert CyteriaItemsBatchExists(batch);
        batchCid[batch] = cid;
        emit BatchMetadata(batch, cid);
    }

    /// @notice Mints one item.
    function mint(address to, uint256 id, uint256 amount) external onlyRole(MINTER_ROLE) {
        if (!_valid(id)) revert CyteriaItemsInvalidStats(id);
        _mint(to, id, amount, "");
    }

    /// @notice Mints many items to one receiver in one transfer event.
    function mintBatch(address to, uint256[] calldata ids, uint256[] calldata amounts)
        external
        onlyRole(MINTER_ROLE)
    {
        for (uint256 i; i < ids.length; ++i) {
            if (!_valid(ids[i])) revert CyteriaItemsInvalidStats(ids[i]);
        }
        _mintBatch(to, ids, amounts, "");
    }

    /// @notice Burns items of `from` (crafting upgrades burn their inputs).
    function burn(address from, uint256 id, uint256 amount) external onlyRole(MINTER_ROLE) {
        _burn(from, id, amount);
    }

    /// @notice Stops all transfers, mints and burns.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resumes transfers.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /// @notice Sets the default royalty (admin only).
    function setDefaultRoyalty(address receiver, uint96 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setDefaultRoyalty(receiver, bps);
    }

    /// @inheritdoc ERC1155
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC1155, ERC2981, AccessControl)
        returns (bool)
    {
        return super.supportsInterface(interfaceId);
    }

    function _update(address from, address to, uint256[] memory ids, uint256[] memory values)
        internal
        override(ERC1155Pausable)
    {
        super._update(from, to, ids, values);
    }

    function _valid(uint256 id) private pure returns (bool) {
        return uint8(id >> 248) <= 2 && uint8(id >> 240) <= 4;
    }
}
