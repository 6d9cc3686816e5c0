// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";

/// @title Auction
/// @notice English auctions of Cyteria items for CYTR: a reserve price, a minimum increment, an
/// anti-sniping extension, bids escrowed here with pull-based refunds for the outbid, settlement
/// after the end (fee to the treasury, ERC-2981 royalty, the rest to the seller), and cancelling
/// only before the first bid.
contract Auction is ERC2771Context, AccessControl, Pausable, ReentrancyGuard, ERC1155Holder {
    using SafeERC20 for IERC20;

    struct Lot {
        address seller;
        uint64 endsAt;
        bool settled;
        uint256 id;
        uint128 amount;
        uint128 reserve;
        uint128 highestBid;
        address highestBidder;
    }

    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    IERC20 public immutable cytr;
    IERC1155 public immutable items;
    address public treasury;
    uint16 public feeBps;
    uint16 public minIncrementBps;
    uint64 public extension;
    uint256 public nextLotId = 1;
    mapping(uint256 => Lot) public lots;
    /// @notice CYTR the outbid can withdraw.
    mapping(address => uint256) public refunds;

    error AuctionZeroAmount();
    error AuctionNoLot(uint256 lotId);
    error AuctionEnded(uint64 endsAt);
    error AuctionNotEnded(uint64 endsAt);
    error AuctionBidTooLow(uint256 bid, uint256 minimum);
    error AuctionNotSeller(address caller, address seller);
    error AuctionHasBids(uint256 lotId);
    error AuctionAlreadySettled(uint256 lotId);

    event LotCreated(uint256 indexed lotId, address indexed seller, uint256 indexed id, uint256 amount, uint256 reserve, uint64 endsAt);
    event BidPlaced(uint256 indexed lotId, address indexed bidder, uint256 bid, uint64 endsAt);
    event LotSettled(uint256 indexed lotId, address indexed winner, uint256 price, uint256 fee, uint256 royalty);
    event LotCancelled(uint256 indexed lotId);
    event RefundWithdrawn(address indexed bidder, uint256 amount);
    event ParametersSet(address treasury, uint16 feeBps, uint16 minIncrementBps, uint64 extension);

    constructor(IERC20 cytr_, IERC1155 items_, address admin, address treasury_, address forwarder)
        ERC2771Context(forwarder)
    {
        cytr = cytr_;
        items = items_;
        treasury = treasury_;
        feeBps = 250;
        minIncrementBps = 500;
        extension = 5 minutes;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Auctions `amount` of item `id` for `duration` seconds with a `reserve` price; the
    /// items move into escrow.
    function create(uint256 id, uint128 amount, uint128 reserve, uint64 duration)
        external
        whenNotPaused
        nonReentrant
        returns (uint256 lotId)
    {
        if (amount == 0 || duration == 0) revert AuctionZeroAmount();
        address seller = _msgSender();
        lotId = nextLotId++;
        uint64 endsAt = uint64(block.timestamp) + duration;
        lots[lotId] = Lot(seller, endsAt, false, id, amount, reserve, 0, address(0));
        emit LotCreated(lotId, seller, id, amount, reserve, endsAt);
        items.safeTransferFrom(seller, address(this), id, amount, "");
    }

    /// @notice The lowest bid `lotId` accepts now.
    function minimumBid(uint256 lotId) public view returns (uint256) {
        Lot memory l = lots[lotId];
        if (l.highestBid == 0) return l.reserve == 0 ? 1 : l.reserve;
        uint256 step = (uint256(l.highestBid) * minIncrementBps) / 10_000;
        return uint256(l.highestBid) + (step == 0 ? 1 : step);
    }

    /// @notice Bids `amount` CYTR (escrowed here). The previous highest bidder's bid becomes a
    /// refund to withdraw. A bid in the last `extension` seconds extends the auction.
    function bid(uint256 lotId, uint128 amount) external whenNotPaused nonReentrant {
        Lot storage l = lots[lotId];
        if (l.seller == address(0)) revert AuctionNoLot(lotId);
        if (block.timestamp >= l.endsAt) revert AuctionEnded(l.endsAt);
        uint256 min = minimumBid(lotId);
        if (amount < min) revert AuctionBidTooLow(amount, min);
        address bidder = _msgSender();
        if (l.highestBidder != address(0)) refunds[l.highestBidder] += l.highestBid;
        l.highestBid = amount;
        l.highestBidder = bidder;
        if (l.endsAt - block.timestamp < extension) l.endsAt = uint64(block.timestamp) + extension;
        emit BidPlaced(lotId, bidder, amount, l.endsAt);
        cytr.safeTransferFrom(bidder, address(this), amount);
    }

    /// @notice Withdraws the caller's refunds.
    function withdrawRefund() external nonReentrant {
        address bidder = _msgSender();
        uint256 amount = refunds[bidder];
        if (amount == 0) revert AuctionZeroAmount();
        refunds[bidder] = 0;
        emit RefundWithdrawn(bidder, amount);
        cytr.safeTransfer(bidder, amount);
    }

    /// @notice Settles an ended lot: the items to the winner and the price split between the
    /// treasury, the royalty receiver and the seller; without bids the items return to the seller.
    function settle(uint256 lotId) external nonReentrant {
        Lot storage l = lots[lotId];
        if (l.seller == address(0)) revert AuctionNoLot(lotId);
        if (l.settled) revert AuctionAlreadySettled(lotId);
        if (block.timestamp < l.endsAt) revert AuctionNotEnded(l.endsAt);
        l.settled = true;
        Lot memory m = l;
        if (m.highestBidder == address(0)) {
            emit LotSettled(lotId, address(0), 0, 0, 0);
            items.safeTransferFrom(address(this), m.seller, m.id, m.amount, "");
            return;
        }
        uint256 price = m.highestBid;
        uint256 fee = (price * feeBps) / 10_000;
        (address royaltyTo, uint256 royalty) = _royalty(m.id, price);
        if (royalty > price - fee) royalty = price - fee;
        emit LotSettled(lotId, m.highestBidder, price, fee, royalty);
        if (fee > 0) cytr.safeTransfer(treasury, fee);
        if (royalty > 0) cytr.safeTransfer(royaltyTo, royalty);
        cytr.safeTransfer(m.seller, price - fee - royalty);
        items.safeTransferFrom(address(this), m.highestBidder, m.id, m.amount, "");
    }

    /// @notice Cancels a lot that has no bid yet; the items return to the seller.
    function cancel(uint256 lotId) external nonReentrant {
        Lot storage l = lots[lotId];
        if (l.seller == address(0) || l.settled) revert AuctionNoLot(lotId);
        if (l.seller != _msgSender()) revert AuctionNotSeller(_msgSender(), l.seller);
        if (l.highestBidder != address(0)) revert AuctionHasBids(lotId);
        l.settled = true;
        emit LotCancelled(lotId);
        items.safeTransferFrom(address(this), l.seller, l.id, l.amount, "");
    }

    /// @notice Sets the treasury, fee, minimum increment and anti-sniping extension (admin: the timelock).
    function setParameters(address treasury_, uint16 feeBps_, uint16 minIncrementBps_, uint64 extension_)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        treasury = treasury_;
        feeBps = feeBps_ > 1000 ? 1000 : feeBps_;
        minIncrementBps = minIncrementBps_;
        extension = extension_;
        emit ParametersSet(treasury_, feeBps, minIncrementBps_, extension_);
    }

    /// @notice Stops new lots and bids (settling, cancelling and refunds stay open).
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resumes auctions.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /// @inheritdoc ERC1155Holder
    function supportsInterface(bytes4 interfaceId) public view override(AccessControl, ERC1155Holder) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

    function _royalty(uint256 id, uint256 price) private view returns (address, uint256) {
        try IERC2981(address(items)).royaltyInfo(id, price) returns (address to, uint256 amount) {
            return (to, to == address(0) ? 0 : amount);
        } catch {
            return (address(0), 0);
        }
    }

    function _msgSender() internal view override(Context, ERC2771Context) returns (address) {
        return ERC2771Context._msgSender();
    }

    function _msgData() internal view override(Context, ERC2771Context) returns (bytes calldata) {
        return ERC2771Context._msgData();
    }

    function _contextSuffixLength() internal view override(Context, ERC2771Context) returns (uint256) {
        return ERC2771Context._contextSuffixLength();
    }
}
