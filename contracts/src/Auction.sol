// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {GaslessPausable} from "./GaslessPausable.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";

/// @title Auction
/// @notice English auctions of Cyteria items for CYTR: a reserve price, a minimum increment, an
/// anti-sniping extension, bids escrowed here with pull-based refunds for the outbid, settlement
/// after the end (fee to the treasury, ERC-2981 royalty, the rest to the seller), and cancelling
/// only before the first bid. Settling always succeeds: items a receiver refuses (its ERC-1155
/// hook reverts, answers wrongly or runs out of its gas) stay here as a claim it can send anywhere.
contract Auction is GaslessPausable, ERC1155Holder {
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
    /// @notice Items a settlement could not deliver, per receiver and id, for `claim`.
    mapping(address account => mapping(uint256 id => uint256 amount)) public claimable;

    /// @notice Gas a settlement gives the item transfer to the receiver, hook included. A transfer
    /// to a new holder with ERC1155Holder's hook costs ~55k here, so this leaves ~95k for a smart
    /// wallet's hook; one that needs more, or burns it all, costs the settler at most this much
    /// and leaves the items as a claim (`claim` forwards all the gas its caller sends).
    uint256 public constant DELIVERY_GAS = 150_000;
    /// @notice Gas kept back, beyond the transfer's, to record a failed delivery as a claim.
    uint256 public constant DELIVERY_RESERVE = 50_000;

    error AuctionZeroAmount();
    error AuctionNoLot(uint256 lotId);
    error AuctionEnded(uint64 endsAt);
    error AuctionNotEnded(uint64 endsAt);
    error AuctionBidTooLow(uint256 bid, uint256 minimum);
    error AuctionNotSeller(address caller, address seller);
    error AuctionHasBids(uint256 lotId);
    error AuctionAlreadySettled(uint256 lotId);
    /// @notice Too little gas left to give the item transfer its full `DELIVERY_GAS` and still
    /// record a claim: send the settlement with more gas (it is refused, not turned into a claim,
    /// so nobody can push a willing winner's items into a claim by starving the transfer).
    error AuctionInsufficientGas(uint256 left, uint256 needed);
    /// @notice `account` has no claim on item `id`.
    error AuctionNothingToClaim(address account, uint256 id);

    event LotCreated(uint256 indexed lotId, address indexed seller, uint256 indexed id, uint256 amount, uint256 reserve, uint64 endsAt);
    event BidPlaced(uint256 indexed lotId, address indexed bidder, uint256 bid, uint64 endsAt);
    event LotSettled(uint256 indexed lotId, address indexed winner, uint256 price, uint256 fee, uint256 royalty);
    event LotCancelled(uint256 indexed lotId);
    event RefundWithdrawn(address indexed bidder, uint256 amount);
    event ParametersSet(address treasury, uint16 feeBps, uint16 minIncrementBps, uint64 extension);
    /// @notice Settling `lotId` could not deliver its items to `account`: they wait as a claim.
    event DeliveryFailed(uint256 indexed lotId, address indexed account, uint256 indexed id, uint256 amount);
    /// @notice `account` sent its claimed items to `to`.
    event ItemsClaimed(address indexed account, uint256 indexed id, uint256 amount, address to);

    constructor(IERC20 cytr_, IERC1155 items_, address admin, address treasury_, address forwarder)
        GaslessPausable(admin, forwarder)
    {
        cytr = cytr_;
        items = items_;
        treasury = treasury_;
        feeBps = 250;
        minIncrementBps = 500;
        extension = 5 minutes;
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
        // A cancelled lot keeps its end time: without this a bid on it was locked for good.
        if (l.settled) revert AuctionAlreadySettled(lotId);
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
    /// Items the receiver refuses become its claim (`claimable`, `claim`); the payment happens
    /// regardless. Anyone can settle.
    function settle(uint256 lotId) external nonReentrant {
        Lot storage l = lots[lotId];
        if (l.seller == address(0)) revert AuctionNoLot(lotId);
        if (l.settled) revert AuctionAlreadySettled(lotId);
        if (block.timestamp < l.endsAt) revert AuctionNotEnded(l.endsAt);
        l.settled = true;
        Lot memory m = l;
        if (m.highestBidder == address(0)) {
            emit LotSettled(lotId, address(0), 0, 0, 0);
            _deliver(lotId, m.seller, m.id, m.amount);
            return;
        }
        uint256 price = m.highestBid;
        uint256 fee = (price * feeBps) / 10_000;
        (address royaltyTo, uint256 royalty) = _royalty(address(items), m.id, price, price - fee);
        emit LotSettled(lotId, m.highestBidder, price, fee, royalty);
        if (fee > 0) cytr.safeTransfer(treasury, fee);
        if (royalty > 0) cytr.safeTransfer(royaltyTo, royalty);
        cytr.safeTransfer(m.seller, price - fee - royalty);
        _deliver(lotId, m.highestBidder, m.id, m.amount);
    }

    /// @notice Sends the caller's claimable items `id` (see `settle`) to `to`, with all the gas
    /// the transaction carries; claims are exits, open while paused.
    function claim(uint256 id, address to) external nonReentrant {
        address account = _msgSender();
        uint256 amount = claimable[account][id];
        if (amount == 0) revert AuctionNothingToClaim(account, id);
        claimable[account][id] = 0;
        emit ItemsClaimed(account, id, amount, to);
        items.safeTransferFrom(address(this), to, id, amount, "");
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

    /// @dev Sends a settled lot's items to `to` with `DELIVERY_GAS`; if that fails, they become
    /// `to`'s claim. Checked first: the transfer gets its full `DELIVERY_GAS` (63/64 of what is
    /// left must cover it) and a failure leaves `DELIVERY_RESERVE` to record the claim.
    function _deliver(uint256 lotId, address to, uint256 id, uint256 amount) private {
        uint256 needed = (DELIVERY_GAS * 64) / 63 + DELIVERY_RESERVE;
        if (gasleft() < needed) revert AuctionInsufficientGas(gasleft(), needed);
        try items.safeTransferFrom{gas: DELIVERY_GAS}(address(this), to, id, amount, "") {}
        catch {
            claimable[to][id] += amount;
            emit DeliveryFailed(lotId, to, id, amount);
        }
    }

    /// @inheritdoc ERC1155Holder
    function supportsInterface(bytes4 interfaceId) public view override(AccessControl, ERC1155Holder) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

}
