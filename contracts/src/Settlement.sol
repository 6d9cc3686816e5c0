// SPDX-License-Identifier: MIT
pragma solidity ^0.8.27;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Staking} from "./Staking.sol";
import {CyteriaItems} from "./CyteriaItems.sol";
import {PlayerBond} from "./PlayerBond.sol";

/// @title Settlement
/// @notice Records the validators' batches: each epoch's state root (a blake3 Merkle root of the
/// off-chain ledger), the IPFS CID of the batch data, and the items to mint, accepted only with
/// EIP-712 signatures of validators holding at least 2/3 of the stake of the epoch's active set
/// (Staking fixes that set two epochs ahead, so a batch is judged against the set that was known
/// when its epoch began), one epoch after another, each batch chaining from the previous root.
/// A batch names its round: when a round's batch fails (on chain or for want of signatures) the
/// next round's leader proposes again, and honest validators sign again without risk, since only
/// two signatures by one validator over different batches of one (epoch, round) prove
/// equivocation and slash its stake. No receiver can make a signed batch revert or pass the
/// per-transaction gas cap: items a receiver refuses (or that cannot move while the items are
/// paused, or past the batch's delivery budget) wait as claims it takes later. A batch also carries the players'
/// equivocations the validators proved to each other (two signed input chains for one frame,
/// checked off chain against the ed25519 keys the ledger binds): each slashes that player's bond,
/// with the evidence in the transaction's calldata and its hash in PlayerBond's `Slashed` event.
contract Settlement is EIP712, AccessControl, ReentrancyGuard {
    /// @notice What validators sign for one epoch.
    struct Batch {
        uint64 epoch;
        /// @notice The round of the epoch this batch was proposed in (0 first; one more each time a
        /// round's leader failed to settle).
        uint32 round;
        bytes32 prevRoot;
        bytes32 newRoot;
        string dataCid;
        /// @notice CID of the directory with the minted items' metadata (`<index>.json`) and
        /// sprites; empty when the batch mints nothing.
        string metadataCid;
        bytes32 mintsHash;
        /// @notice `hashSlashes` of the player bonds the batch slashes.
        bytes32 slashesHash;
    }

    /// @notice A player bond the batch slashes, whole, for the equivocation `evidence` proves
    /// (its encoding as the batch data holds it; validators checked it before signing).
    struct Slash {
        address player;
        bytes evidence;
    }

    /// @notice Items one receiver gets in a batch.
    struct Mint {
        address to;
        uint256[] ids;
        uint256[] amounts;
    }

    bytes32 public constant BATCH_TYPEHASH =
        keccak256(
        "Batch(uint64 epoch,uint32 round,bytes32 prevRoot,bytes32 newRoot,string dataCid,string metadataCid,bytes32 mintsHash,bytes32 slashesHash)"
    );

    Staking public immutable staking;
    CyteriaItems public immutable items;
    /// @notice Where slashed stake goes (the DAO treasury).
    address public treasury;
    /// @notice Stake taken from an equivocating validator.
    uint256 public slashAmount;

    uint64 public epoch;
    bytes32 public stateRoot;
    mapping(uint64 epoch => bytes32 root) public rootOf;
    mapping(uint64 epoch => string cid) public dataCidOf;
    mapping(uint64 epoch => mapping(address validator => bool)) public slashedIn;
    /// @notice Per epoch, a hash chain over the deliveries its batch deferred (a receiver refused
    /// them or ran out of the gas a delivery may use, items were paused, or the batch's delivery
    /// budget was spent), in batch order, as its `MintDeferred` events list them: each receiver
    /// claims its own with `claim`. One storage write per batch, however many are deferred.
    mapping(uint64 epoch => bytes32 chain) public deferredHash;
    /// @notice Which deferred deliveries (by their place in the batch's mints) were claimed.
    mapping(uint64 epoch => mapping(uint256 index => bool)) public deferredClaimed;

    /// @notice A delivery a batch deferred: the mint at `index` of its mints.
    struct Deferred {
        uint256 index;
        address to;
        uint256[] ids;
    }
    /// @notice When and where an epoch settled: its block's timestamp and number.
    struct Settled {
        uint64 time;
        uint64 blockNumber;
    }

    /// @notice When each epoch settled (epoch 0: the deployment). A match agreed from an epoch's
    /// root (its beacon) can have begun no earlier; validators read its time to bound play to
    /// real time, and its block to read what the seats' wallets held when the match was agreed.
    /// One slot: the block costs a settlement no more gas than the time alone.
    mapping(uint64 epoch => Settled) public settledAt;
    /// @notice Simulation ticks per second of chain time: a match of `frames` frames occupies
    /// `frames / tickRate` seconds of its players' time. 60 on a public network.
    uint32 public tickRate = 60;
    /// @notice The players' bonds a batch's slashes take (set once by the deployment, then by
    /// governance); while unset, a batch that slashes reverts.
    PlayerBond public playerBond;

    error SettlementWrongEpoch(uint64 expected, uint64 got);
    error SettlementWrongPrevRoot(bytes32 expected, bytes32 got);
    error SettlementMintsMismatch(bytes32 signed, bytes32 given);
    error SettlementSignersNotSorted(uint256 index);
    error SettlementInsufficientStake(uint256 signed, uint256 total);
    error SettlementBadItem(uint256 id);
    error SettlementDuplicateItem(uint256 id);
    error SettlementNotClaimable(uint64 epoch, address caller);
    error SettlementLowGas();
    error SettlementNotEquivocation();
    error SettlementAlreadySlashed(uint64 epoch, address validator);
    error SettlementMissingMetadata(uint64 epoch);
    error SettlementBadTickRate(uint32 tickRate);
    error SettlementSlashesMismatch(bytes32 signed, bytes32 given);
    error SettlementNoPlayerBond();

    event BatchSettled(
        uint64 indexed epoch, uint32 round, bytes32 prevRoot, bytes32 newRoot, string dataCid, uint256 signers, uint256 items
    );
    event EquivocationProven(uint64 indexed epoch, address indexed validator, uint256 slashed, address reporter);
    event ParametersSet(address treasury, uint256 slashAmount);
    event TickRateSet(uint32 tickRate);
    event PlayerBondSet(address playerBond);
    /// @notice `to` did not take `ids` (the batch's mint at `index`) when epoch `epoch` settled;
    /// they wait for its `claim`.
    event MintDeferred(uint64 indexed epoch, uint256 index, address indexed to, uint256[] ids);
    /// @notice `receiver` took its waiting items `ids`, minted to `to`.
    event Claimed(uint64 indexed epoch, address indexed receiver, address indexed to, uint256[] ids);

    /// @notice Gas a delivery of a receiver's items may use, beyond `DELIVERY_GAS_PER_ITEM` for
    /// each item: enough for an ERC-1155 acceptance hook that does real work, little enough that a
    /// receiver burning all it gets costs a batch no more than a few items' mints.
    uint256 public constant DELIVERY_GAS = 100_000;
    /// @notice Gas a delivery may use per item (a mint writes one new balance, ~25k). The largest
    /// batch's single delivery (192 items to one receiver) must fit `DELIVERY_BUDGET`.
    uint256 public constant DELIVERY_GAS_PER_ITEM = 35_000;
    /// @notice Gas a batch's deliveries may spend in all: the validators' largest honest batch,
    /// 192 items to 192 receivers, spends under 7M; receivers that burn their allowance spend it
    /// sooner, and the deliveries left are deferred without a call, so no batch passes the
    /// per-transaction cap (EIP-7825: 16,777,216 gas).
    uint256 public constant DELIVERY_BUDGET = 8_000_000;

    /// @param admin The admin (the DAO timelock in production).
    constructor(Staking staking_, CyteriaItems items_, address admin, address treasury_, uint256 slashAmount_)
        EIP712("CyteriaSettlement", "1")
    {
        staking = staking_;
        items = items_;
        treasury = treasury_;
        slashAmount = slashAmount_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        settledAt[0] = Settled(uint64(block.timestamp), uint64(block.number));
    }

    /// @notice The EIP-712 digest validators sign for `batch`.
    function batchDigest(Batch calldata batch) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    BATCH_TYPEHASH,
                    batch.epoch,
                    batch.round,
                    batch.prevRoot,
                    batch.newRoot,
                    keccak256(bytes(batch.dataCid)),
                    keccak256(bytes(batch.metadataCid)),
                    batch.mintsHash,
                    batch.slashesHash
                )
            )
        );
    }

    /// @notice The hash of a batch's mints that its signatures commit to.
    function hashMints(Mint[] calldata mints) public pure returns (bytes32) {
        return keccak256(abi.encode(mints));
    }

    /// @notice The hash of a batch's slashes that its signatures commit to.
    function hashSlashes(Slash[] calldata slashes) public pure returns (bytes32) {
        return keccak256(abi.encode(slashes));
    }

    /// @notice Settles the next epoch's batch and mints its items, in one transaction. The items'
    /// ids carry the epoch as their metadata batch, whose CID this records in CyteriaItems.
    /// Each item is minted once, with amount 1 and the batch's epoch as its metadata batch; a
    /// receiver that refuses its items (or a paused item contract, or receivers that burn the
    /// batch's delivery budget) cannot make the batch fail: those items wait for the receiver's
    /// `claim`.
    /// @param signatures Signatures over `batchDigest(batch)`, ordered by strictly increasing signer
    /// address (which also rules out duplicates). A signer without stake in the epoch's set (one
    /// that left) counts for nothing but does not make the batch fail.
    function submitBatch(
        Batch calldata batch,
        Mint[] calldata mints,
        Slash[] calldata slashes,
        bytes[] calldata signatures
    ) external nonReentrant {
        _checkBatch(batch, mints, slashes);
        address[] memory signers = _checkQuorum(batch.epoch, batchDigest(batch), signatures);

        epoch = batch.epoch;
        stateRoot = batch.newRoot;
        rootOf[batch.epoch] = batch.newRoot;
        settledAt[batch.epoch] = Settled(uint64(block.timestamp), uint64(block.number));
        dataCidOf[batch.epoch] = batch.dataCid;
        uint256 minted = _checkItems(batch.epoch, mints);
        emit BatchSettled(batch.epoch, batch.round, batch.prevRoot, batch.newRoot, batch.dataCid, signers.length, minted);
        staking.markActive(signers, batch.epoch);
        if (minted != 0) {
            if (bytes(batch.metadataCid).length == 0) revert SettlementMissingMetadata(batch.epoch);
            items.setBatchCid(uint48(batch.epoch), batch.metadataCid);
        }
        _deliverAll(batch.epoch, mints);
        for (uint256 i; i < slashes.length; ++i) {
            playerBond.slash(slashes[i].player, type(uint256).max, keccak256(slashes[i].evidence));
        }
    }

    /// @notice Mints the caller's deferred delivery `deferred[which]` of epoch `epoch` to `to`.
    /// `deferred` is every delivery the epoch deferred, in order, as its `MintDeferred` events
    /// list them (their hash chain is what the batch stored).
    function claim(uint64 epoch_, Deferred[] calldata deferred, uint256 which, address to) external nonReentrant {
        bytes32 h;
        for (uint256 i; i < deferred.length; ++i) {
            h = keccak256(abi.encode(h, deferred[i].index, deferred[i].to, deferred[i].ids));
        }
        if (h == 0 || h != deferredHash[epoch_]) revert SettlementNotClaimable(epoch_, msg.sender);
        Deferred calldata d = deferred[which];
        if (d.to != msg.sender || deferredClaimed[epoch_][d.index]) revert SettlementNotClaimable(epoch_, msg.sender);
        deferredClaimed[epoch_][d.index] = true;
        uint256[] memory ones = new uint256[](d.ids.length);
        for (uint256 i; i < ones.length; ++i) {
            ones[i] = 1;
        }
        emit Claimed(epoch_, msg.sender, to, d.ids);
        items.mintBatch(to, d.ids, ones);
    }

    /// @dev Delivers every receiver's items within `DELIVERY_BUDGET`; records the hash chain of
    /// the deliveries it deferred.
    function _deliverAll(uint64 epoch_, Mint[] calldata mints) internal {
        uint256 budget = DELIVERY_BUDGET;
        bytes32 deferred;
        for (uint256 i; i < mints.length; ++i) {
            Mint calldata m = mints[i];
            (bool ok, uint256 used) = _deliver(m, budget);
            budget -= used;
            if (!ok) {
                deferred = keccak256(abi.encode(deferred, i, m.to, m.ids));
                emit MintDeferred(epoch_, i, m.to, m.ids);
            }
        }
        if (deferred != 0) deferredHash[epoch_] = deferred;
    }

    /// @dev Mints one receiver's items with bounded gas, if `budget` still covers what it may use.
    /// Returns whether it was delivered and the gas it spent.
    function _deliver(Mint calldata m, uint256 budget) internal returns (bool ok, uint256 used) {
        uint256 gas = DELIVERY_GAS + DELIVERY_GAS_PER_ITEM * m.ids.length;
        if (gas > budget) return (false, 0);
        // A submitter must not starve a delivery into a deferral: with less left than the delivery
        // may use (after the 1/64 a call keeps back), the whole batch reverts instead.
        if (gasleft() < gas + gas / 63 + 20_000) revert SettlementLowGas();
        uint256 before = gasleft();
        try items.mintBatch{gas: gas}(m.to, m.ids, m.amounts) {
            ok = true;
        } catch {}
        used = before - gasleft();
    }

    /// @dev Every item is new: amount 1, this epoch's metadata batch, an index no other item of
    /// the batch has, valid stats, and a receiver. Returns the number of items.
    function _checkItems(uint64 epoch_, Mint[] calldata mints) internal pure returns (uint256 minted) {
        // One bit per possible index (16 bits): 256 words of memory, ~1k gas.
        uint256[] memory seen = new uint256[](256);
        for (uint256 i; i < mints.length; ++i) {
            Mint calldata m = mints[i];
            if (m.ids.length != m.amounts.length || m.to == address(0)) revert SettlementBadItem(0);
            for (uint256 j; j < m.ids.length; ++j) {
                uint256 id = m.ids[j];
                if (
                    m.amounts[j] != 1 || uint48(id >> 16) != epoch_ || uint8(id >> 248) > 2
                        || uint8(id >> 240) > 4
                ) revert SettlementBadItem(id);
                uint256 index = uint16(id);
                uint256 bit = 1 << (index & 255);
                if (seen[index >> 8] & bit != 0) revert SettlementDuplicateItem(id);
                seen[index >> 8] |= bit;
            }
            minted += m.ids.length;
        }
    }

    /// @dev The batch is the next epoch's, chains from the current root, and commits to exactly
    /// `mints` and `slashes`.
    function _checkBatch(Batch calldata batch, Mint[] calldata mints, Slash[] calldata slashes) internal view {
        if (batch.epoch != epoch + 1) revert SettlementWrongEpoch(epoch + 1, batch.epoch);
        if (batch.prevRoot != stateRoot) revert SettlementWrongPrevRoot(stateRoot, batch.prevRoot);
        bytes32 given = hashMints(mints);
        if (given != batch.mintsHash) revert SettlementMintsMismatch(batch.mintsHash, given);
        given = hashSlashes(slashes);
        if (given != batch.slashesHash) revert SettlementSlashesMismatch(batch.slashesHash, given);
        if (slashes.length != 0 && address(playerBond) == address(0)) revert SettlementNoPlayerBond();
    }

    /// @dev `signatures` over `digest`, in increasing signer order, carry at least 2/3 of the stake
    /// of epoch `epoch_`'s validator set. Returns the signers that hold stake in it.
    function _checkQuorum(uint64 epoch_, bytes32 digest, bytes[] calldata signatures)
        internal
        view
        returns (address[] memory signers)
    {
        signers = new address[](signatures.length);
        uint256 n;
        uint256 signed;
        address last;
        for (uint256 i; i < signatures.length; ++i) {
            address signer = ECDSA.recover(digest, signatures[i]);
            if (signer <= last) revert SettlementSignersNotSorted(i);
            last = signer;
            uint256 w = staking.weightAt(signer, epoch_);
            if (w == 0) continue; // left the set, or never in it: counts for nothing
            signed += w;
            signers[n++] = signer;
        }
        assembly ("memory-safe") {
            mstore(signers, n)
        }
        uint256 total = staking.totalWeightAt(epoch_);
        if (total == 0 || signed * 3 < total * 2) revert SettlementInsufficientStake(signed, total);
    }

    /// @notice Proves that one validator signed two different batches of one (epoch, round) and
    /// slashes it, once per epoch. Signing again in a later round is no equivocation.
    function proveEquivocation(Batch calldata a, bytes calldata sigA, Batch calldata b, bytes calldata sigB)
        external
        nonReentrant
    {
        bytes32 da = batchDigest(a);
        bytes32 db = batchDigest(b);
        if (a.epoch != b.epoch || a.round != b.round || da == db) revert SettlementNotEquivocation();
        address signer = ECDSA.recover(da, sigA);
        if (signer != ECDSA.recover(db, sigB)) revert SettlementNotEquivocation();
        if (slashedIn[a.epoch][signer]) revert SettlementAlreadySlashed(a.epoch, signer);
        slashedIn[a.epoch][signer] = true;
        uint256 taken = staking.slash(signer, slashAmount, treasury);
        emit EquivocationProven(a.epoch, signer, taken, msg.sender);
    }

    /// @notice Sets the treasury and the equivocation penalty (admin: the timelock).
    function setParameters(address treasury_, uint256 slashAmount_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        treasury = treasury_;
        slashAmount = slashAmount_;
        emit ParametersSet(treasury_, slashAmount_);
    }

    /// @notice Sets the PlayerBond contract that batches slash (admin: the timelock).
    function setPlayerBond(PlayerBond playerBond_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        playerBond = playerBond_;
        emit PlayerBondSet(address(playerBond_));
    }

    /// @notice Sets the simulation's ticks per second of chain time (admin: the timelock; a
    /// devnet that plays faster than real time sets its own before handing the role over).
    function setTickRate(uint32 tickRate_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (tickRate_ == 0 || tickRate_ > 100_000) revert SettlementBadTickRate(tickRate_);
        tickRate = tickRate_;
        emit TickRateSet(tickRate_);
    }
}
