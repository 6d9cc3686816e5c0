// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {ERC1155Pausable} from "@openzeppelin/contracts/token/ERC1155/extensions/ERC1155Pausable.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

/// @title CyteriaItems
/// @notice Cyteria's items (ERC-1155). An item's stats are encoded in its token id, so minting
/// writes little storage beyond the balance: `itemStats(id)` decodes the id. Every item is
/// unique: it is minted once, as one unit, and its (batch, index) place is never minted again,
/// not even after a burn.
/// @dev Id layout (high to low bits): itemType 8 | rarity 8 | damage 16 | defense 16 |
/// durability 16 | traits bits 0..127 (128) | batch 48 | index 16. The rules define traits in
/// bits 0..11; traits above bit 127 are refused. A settled batch's number is its epoch, so 48
/// bits never run out. Metadata lives in IPFS per batch: `uri(id)` is
/// `ipfs://<batch CID>/<index>.json`; an item minted on its own (an on-chain upgrade) names its
/// own directory instead, `ipfs://<token CID>/<index>.json`.
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
    /// @notice The IPFS CID of the metadata directory of an item minted on its own (an on-chain
    /// upgrade), laid out like a batch's (`<index>.json`, `<index>.png`); `uri` prefers it.
    mapping(uint256 id => string cid) public tokenCid;

    /// @dev One bit per (batch, index) ever minted: the id's low 64 bits, 256 to a word, so a
    /// batch's consecutive indices share a storage slot (a mint costs ~22k gas per 256 items
    /// here, not 22k per item as a per-id flag or ERC1155Supply would).
    mapping(uint256 word => uint256 bits) private _mintedBits;

    /// @notice An id's stats are out of range (item type > 2, rarity > 4, or traits above bit 127).
    error CyteriaItemsInvalidStats(uint256 id);
    /// @notice A batch's metadata CID was already recorded.
    error CyteriaItemsBatchExists(uint48 batch);
    /// @notice An item with this id's batch and index was minted before (items are unique; a
    /// burned one is not minted again).
    error CyteriaItemsAlreadyMinted(uint256 id);
    /// @notice Items are minted one at a time: `amount` must be 1.
    error CyteriaItemsInvalidAmount(uint256 id, uint256 amount);
    /// @notice An item minted on its own needs a metadata CID.
    error CyteriaItemsMissingMetadata(uint256 id);

    /// @notice Emitted when a batch's metadata CID is recorded.
    event BatchMetadata(uint48 indexed batch, string cid);
    /// @notice Emitted when an item minted on its own records its metadata CID.
    event TokenMetadata(uint256 indexed id, string cid);

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

    /// @notice `ipfs://<CID>/<index>.json`, with the item's own CID if it has one (`tokenCid`),
    /// else its batch's; the empty string while neither is recorded (never `ipfs:///...`).
    function uri(uint256 id) public view override returns (string memory) {
        string memory cid = tokenCid[id];
        if (bytes(cid).length == 0) cid = batchCid[uint48(id >> 16)];
        if (bytes(cid).length == 0) return "";
        return string.concat("ipfs://", cid, "/", uint256(uint16(id)).toString(), ".json");
    }

    /// @notice Whether item `index` of batch `batch` has been minted (under any stats; burned
    /// ones included): that place is taken for good.
    function isMinted(uint48 batch, uint16 index) external view returns (bool) {
        uint256 place = (uint256(batch) << 16) | index;
        return _mintedBits[place >> 8] & (1 << (place & 0xff)) != 0;
    }

    /// @notice Records the metadata CID of `batch` (once).
    function setBatchCid(uint48 batch, string calldata cid) external onlyRole(MINTER_ROLE) {
        if (bytes(batchCid[batch]).length != 0) revert CyteriaItemsBatchExists(batch);
        batchCid[batch] = cid;
        emit BatchMetadata(batch, cid);
    }

    /// @notice Mints one item; `amount` must be 1 and the id's (batch, index) never minted before.
    function mint(address to, uint256 id, uint256 amount) external onlyRole(MINTER_ROLE) {
        if (!_valid(id)) revert CyteriaItemsInvalidStats(id);
        _mint(to, id, amount, "");
    }

    /// @notice Mints one item that carries its own metadata: `cid` names an IPFS directory laid
    /// out like a batch's, holding `<index>.json` (and `<index>.png`) for this id, which the
    /// caller pinned. On-chain upgrades mint this way.
    function mintWithMetadata(address to, uint256 id, string calldata cid) external onlyRole(MINTER_ROLE) {
        if (!_valid(id)) revert CyteriaItemsInvalidStats(id);
        if (bytes(cid).length == 0) revert CyteriaItemsMissingMetadata(id);
        tokenCid[id] = cid;
        emit TokenMetadata(id, cid);
        _mint(to, id, 1, "");
    }

    /// @notice Mints many items to one receiver in one transfer event; every amount must be 1 and
    /// every id new (see `mint`).
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

    /// @notice Resumes transfers (the admin only: a guardian can stop, never restart).
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
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

    /// @dev Mints are where uniqueness is kept: one unit per id, each (batch, index) once.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values)
        internal
        override(ERC1155Pausable)
    {
        if (from == address(0)) {
            for (uint256 i; i < ids.length; ++i) {
                uint256 id = ids[i];
                if (values[i] != 1) revert CyteriaItemsInvalidAmount(id, values[i]);
                uint256 place = uint64(id); // batch 48 | index 16
                uint256 bit = 1 << (place & 0xff);
                uint256 bits = _mintedBits[place >> 8];
                if (bits & bit != 0) revert CyteriaItemsAlreadyMinted(id);
                _mintedBits[place >> 8] = bits | bit;
            }
        }
        super._update(from, to, ids, values);
    }

    function _valid(uint256 id) private pure returns (bool) {
        return uint8(id >> 248) <= 2 && uint8(id >> 240) <= 4;
    }
}
