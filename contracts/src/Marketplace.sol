// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {GaslessPausable} from "./GaslessPausable.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";

/// @title Marketplace
/// @notice Fixed-price listings of Cyteria items for CYTR. Listed items are held in escrow; a buyer
/// takes all or part of a listing; the protocol fee goes to the DAO treasury and ERC-2981 royalties
/// to the item contract's receiver. Trusts an ERC-2771 forwarder for gasless players. The events
/// rebuild every listing: `Listed` opens one, `Purchased` reduces it, `Cancelled` closes it.
contract Marketplace is GaslessPausable, ERC1155Holder {
    using SafeERC20 for IERC20;

    struct Listing {
        address seller;
        uint256 id;
        uint128 amount;
        uint128 unitPrice;
    }

    uint16 public constant MAX_FEE_BPS = 1000;

    IERC20 public immutable cytr;
    IERC1155 public immutable items;
    address public treasury;
    uint16 public feeBps;
    uint256 public nextListingId = 1;
    mapping(uint256 => Listing) public listings;

    error MarketplaceZeroAmount();
    error MarketplaceNoListing(uint256 listingId);
    error MarketplaceInsufficientAmount(uint256 listed, uint256 asked);
    error MarketplacePriceAboveLimit(uint256 unitPrice, uint256 maxUnitPrice);
    error MarketplaceNotSeller(address caller, address seller);
    error MarketplaceFeeTooHigh(uint16 bps);

    event Listed(uint256 indexed listingId, address indexed seller, uint256 indexed id, uint256 amount, uint256 unitPrice);
    event Purchased(
        uint256 indexed listingId, address indexed buyer, uint256 amount, uint256 total, uint256 fee, uint256 royalty
    );
    event Cancelled(uint256 indexed listingId, uint256 amountReturned);
    event FeeSet(address treasury, uint16 feeBps);

    /// @param admin The admin (the DAO timelock in production).
    constructor(IERC20 cytr_, IERC1155 items_, address admin, address treasury_, uint16 feeBps_, address forwarder)
        GaslessPausable(admin, forwarder)
    {
        if (feeBps_ > MAX_FEE_BPS) revert MarketplaceFeeTooHigh(feeBps_);
        cytr = cytr_;
        items = items_;
        treasury = treasury_;
        feeBps = feeBps_;
    }

    /// @notice Lists `amount` of item `id` at `unitPrice` CYTR each; the items move into escrow
    /// (approve this contract on the item contract first).
    function list(uint256 id, uint128 amount, uint128 unitPrice) external whenNotPaused nonReentrant returns (uint256 listingId) {
        if (amount == 0) revert MarketplaceZeroAmount();
        address seller = _msgSender();
        listingId = nextListingId++;
        listings[listingId] = Listing(seller, id, amount, unitPrice);
        emit Listed(listingId, seller, id, amount, unitPrice);
        items.safeTransferFrom(seller, address(this), id, amount, "");
    }

    /// @notice Buys `amount` from a listing, paying at most `maxUnitPrice` each.
    function buy(uint256 listingId, uint128 amount, uint128 maxUnitPrice) external whenNotPaused nonReentrant {
        Listing memory l = listings[listingId];
        if (l.amount == 0) revert MarketplaceNoListing(listingId);
        if (amount == 0) revert MarketplaceZeroAmount();
        if (amount > l.amount) revert MarketplaceInsufficientAmount(l.amount, amount);
        if (l.unitPrice > maxUnitPrice) revert MarketplacePriceAboveLimit(l.unitPrice, maxUnitPrice);
        address buyer = _msgSender();
        uint256 total = uint256(amount) * l.unitPrice;
        uint256 fee = (total * feeBps) / 10_000;
        (address royaltyTo, uint256 royalty) = _royalty(address(items), l.id, total, total - fee);

        if (amount == l.amount) delete listings[listingId];
        else listings[listingId].amount = l.amount - amount;
        emit Purchased(listingId, buyer, amount, total, fee, royalty);

        if (fee > 0) cytr.safeTransferFrom(buyer, treasury, fee);
        if (royalty > 0) cytr.safeTransferFrom(buyer, royaltyTo, royalty);
        cytr.safeTransferFrom(buyer, l.seller, total - fee - royalty);
        items.safeTransferFrom(address(this), buyer, l.id, amount, "");
    }

    /// @notice Cancels the caller's listing and returns what is left of it.
    function cancel(uint256 listingId) external nonReentrant {
        Listing memory l = listings[listingId];
        if (l.amount == 0) revert MarketplaceNoListing(listingId);
        if (l.seller != _msgSender()) revert MarketplaceNotSeller(_msgSender(), l.seller);
        delete listings[listingId];
        emit Cancelled(listingId, l.amount);
        items.safeTransferFrom(address(this), l.seller, l.id, l.amount, "");
    }

    /// @notice Sets the treasury and the fee, at most 10% (admin: the timelock).
    function setFee(address treasury_, uint16 feeBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeBps_ > MAX_FEE_BPS) revert MarketplaceFeeTooHigh(feeBps_);
        treasury = treasury_;
        feeBps = feeBps_;
        emit FeeSet(treasury_, feeBps_);
    }

    /// @inheritdoc ERC1155Holder
    function supportsInterface(bytes4 interfaceId) public view override(AccessControl, ERC1155Holder) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

}
