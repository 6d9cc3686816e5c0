//! The chain indexer: follows the contracts' events into sled (item
//! balances with their stats, CYTR balances, listings, auction lots,
//! stakes, settled batches), so nodes can show the inventory and the market
//! without a hosted indexer. It survives restarts (everything is in sled)
//! and reorgs: every block that changed the index keeps an undo record and
//! its hash; when the chain no longer has that hash, the index rolls back to
//! the last block it still shares with the chain and indexes forward again.
//!
//! [`decode`] (log → [`Event`]) and [`Event::apply`] (event → changes) are
//! pure; [`Indexer::sync`] is the IO around them.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEventInterface;
use serde::{Deserialize, Serialize};

use crate::bindings::{Auction, CYTR, CyteriaItems, Marketplace, Settlement, Staking};
use crate::chain::{Deployment, retry};

/// A contract event the index cares about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Items moved, one token id at a time; mints come from and burns go to the zero address.
    Items {
        /// The sender (zero for a mint).
        from: Address,
        /// The receiver (zero for a burn).
        to: Address,
        /// The item's token id.
        id: U256,
        /// How many moved.
        amount: U256,
    },
    /// CYTR moved; mints come from and burns go to the zero address.
    Cytr {
        /// The sender (zero for a mint).
        from: Address,
        /// The receiver (zero for a burn).
        to: Address,
        /// The amount, in CYTR wei.
        value: U256,
    },
    /// A Marketplace listing was created, its items moved into escrow.
    Listed {
        /// The listing's id.
        listing: U256,
        /// The seller.
        seller: Address,
        /// The item's token id.
        id: U256,
        /// How many are listed.
        amount: U256,
        /// The price of each, in CYTR wei.
        unit_price: U256,
    },
    /// Some or all of a listing was bought.
    Purchased {
        /// The listing's id.
        listing: U256,
        /// How many were bought.
        amount: U256,
    },
    /// A listing was cancelled by its seller.
    Cancelled {
        /// The listing's id.
        listing: U256,
    },
    /// An auction lot was created, its items moved into escrow.
    LotCreated {
        /// The lot's id.
        lot: U256,
        /// The seller.
        seller: Address,
        /// The item's token id.
        id: U256,
        /// How many are auctioned.
        amount: U256,
        /// The lowest first bid, in CYTR wei.
        reserve: U256,
        /// When bidding ends (unix seconds).
        ends_at: u64,
    },
    /// A bid became the lot's highest.
    Bid {
        /// The lot's id.
        lot: U256,
        /// The bidder.
        bidder: Address,
        /// The bid, in CYTR wei.
        bid: U256,
        /// When bidding now ends (unix seconds; a late bid extends it).
        ends_at: u64,
    },
    /// An ended lot was settled.
    LotSettled {
        /// The lot's id.
        lot: U256,
        /// The winner (zero without bids: the items went back to the seller).
        winner: Address,
        /// The winning bid, in CYTR wei (0 without bids).
        price: U256,
    },
    /// A lot without bids was cancelled by its seller.
    LotCancelled {
        /// The lot's id.
        lot: U256,
    },
    /// CYTR was staked.
    Staked {
        /// The staker.
        account: Address,
        /// The amount, in CYTR wei.
        amount: U256,
    },
    /// Stake was moved out, to be withdrawn after the cooldown.
    Unstaking {
        /// The staker.
        account: Address,
        /// The amount, in CYTR wei.
        amount: U256,
    },
    /// A validator's stake was slashed.
    Slashed {
        /// The validator.
        account: Address,
        /// The amount taken, in CYTR wei.
        amount: U256,
    },
    /// A batch was settled.
    Settled {
        /// The batch's epoch.
        epoch: u64,
        /// The new state root.
        root: B256,
        /// The content id of the batch data.
        cid: String,
        /// How many validator signatures it carried.
        signers: U256,
        /// How many items it minted.
        items: U256,
    },
}

/// A listing as the index shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// The seller, whose items are in escrow.
    pub seller: Address,
    /// The item's token id.
    pub id: U256,
    /// How many are still for sale.
    pub amount: U256,
    /// The price of each, in CYTR wei.
    pub unit_price: U256,
}

/// An auction lot as the index shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    /// The seller.
    pub seller: Address,
    /// The item's token id.
    pub id: U256,
    /// How many are auctioned.
    pub amount: U256,
    /// The lowest first bid, in CYTR wei.
    pub reserve: U256,
    /// When bidding ends (unix seconds).
    pub ends_at: u64,
    /// The highest bid so far, or the price once settled, in CYTR wei.
    pub highest_bid: U256,
    /// The highest bidder (the winner once settled), if anyone bid.
    pub bidder: Option<Address>,
    /// Whether it is open, settled or cancelled.
    pub state: LotState,
}

/// Where an auction lot stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LotState {
    /// Neither settled nor cancelled; bids are taken until `ends_at`.
    Open,
    /// Settled: the items went to the winner, or back to the seller without bids.
    Settled,
    /// Cancelled by the seller before any bid.
    Cancelled,
}

/// A settled batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettledBatch {
    /// The state root it settled.
    pub root: B256,
    /// The content id of its batch data.
    pub data_cid: String,
    /// How many validator signatures it carried.
    pub signers: U256,
    /// How many items it minted.
    pub items: U256,
}

/// Decodes a log of one of the deployment's contracts; `None` for logs the index ignores.
pub fn decode(log: &Log, d: &Deployment) -> Vec<Event> {
    let a = log.address();
    let l = &log.inner;
    if a == d.cyteria_items {
        use CyteriaItems::CyteriaItemsEvents as E;
        return match E::decode_log(l).map(|e| e.data) {
            Ok(E::TransferSingle(e)) => vec![Event::Items {
                from: e.from,
                to: e.to,
                id: e.id,
                amount: e.value,
            }],
            Ok(E::TransferBatch(e)) => e
                .ids
                .iter()
                .zip(&e.values)
                .map(|(id, v)| Event::Items {
                    from: e.from,
                    to: e.to,
                    id: *id,
                    amount: *v,
                })
                .collect(),
            _ => vec![],
        };
    }
    let one = if a == d.cytr {
        use CYTR::CYTREvents as E;
        match E::decode_log(l).map(|e| e.data) {
            Ok(E::Transfer(e)) => Some(Event::Cytr {
                from: e.from,
                to: e.to,
                value: e.value,
            }),
            _ => None,
        }
    } else if a == d.marketplace {
        use Marketplace::MarketplaceEvents as E;
        match E::decode_log(l).map(|e| e.data) {
            Ok(E::Listed(e)) => Some(Event::Listed {
                listing: e.listingId,
                seller: e.seller,
                id: e.id,
                amount: e.amount,
                unit_price: e.unitPrice,
            }),
            Ok(E::Purchased(e)) => Some(Event::Purchased {
                listing: e.listingId,
                amount: e.amount,
            }),
            Ok(E::Cancelled(e)) => Some(Event::Cancelled {
                listing: e.listingId,
            }),
            _ => None,
        }
    } else if a == d.auction {
        use Auction::AuctionEvents as E;
        match E::decode_log(l).map(|e| e.data) {
            Ok(E::LotCreated(e)) => Some(Event::LotCreated {
                lot: e.lotId,
                seller: e.seller,
                id: e.id,
                amount: e.amount,
                reserve: e.reserve,
                ends_at: e.endsAt,
            }),
            Ok(E::BidPlaced(e)) => Some(Event::Bid {
                lot: e.lotId,
                bidder: e.bidder,
                bid: e.bid,
                ends_at: e.endsAt,
            }),
            Ok(E::LotSettled(e)) => Some(Event::LotSettled {
                lot: e.lotId,
                winner: e.winner,
                price: e.price,
            }),
            Ok(E::LotCancelled(e)) => Some(Event::LotCancelled { lot: e.lotId }),
            _ => None,
        }
    } else if a == d.staking {
        use Staking::StakingEvents as E;
        match E::decode_log(l).map(|e| e.data) {
            Ok(E::Staked(e)) => Some(Event::Staked {
                account: e.account,
                amount: e.amount,
            }),
            Ok(E::UnstakeRequested(e)) => Some(Event::Unstaking {
                account: e.account,
                amount: e.amount,
            }),
            Ok(E::Slashed(e)) => Some(Event::Slashed {
                account: e.validator,
                amount: e.amount,
            }),
            _ => None,
        }
    } else if a == d.settlement {
        use Settlement::SettlementEvents as E;
        match E::decode_log(l).map(|e| e.data) {
            Ok(E::BatchSettled(e)) => Some(Event::Settled {
                epoch: e.epoch,
                root: e.newRoot,
                cid: e.dataCid,
                signers: e.signers,
                items: e.items,
            }),
            _ => None,
        }
    } else {
        None
    };
    one.into_iter().collect()
}

/// Key-value changes, read through what is already staged.
pub trait Kv {
    /// The value at `key`, changes already staged included.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
    /// Stages `value` at `key`; `None` deletes it.
    fn set(&mut self, key: Vec<u8>, value: Option<Vec<u8>>);
}

fn key(prefix: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = prefix.as_bytes().to_vec();
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

fn item_key(owner: &Address, id: &U256) -> Vec<u8> {
    key("item/", &[owner.as_slice(), &id.to_be_bytes::<32>()])
}

fn u256_at(kv: &dyn Kv, k: &[u8]) -> U256 {
    kv.get(k)
        .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
        .map(U256::from_be_bytes)
        .unwrap_or_default()
}

fn put_u256(kv: &mut dyn Kv, k: Vec<u8>, v: U256) {
    kv.set(k, (!v.is_zero()).then(|| v.to_be_bytes::<32>().to_vec()));
}

fn json_at<T: serde::de::DeserializeOwned>(kv: &dyn Kv, k: &[u8]) -> Option<T> {
    serde_json::from_slice(&kv.get(k)?).ok()
}

fn put_json<T: Serialize>(kv: &mut dyn Kv, k: Vec<u8>, v: &T) {
    kv.set(k, serde_json::to_vec(v).ok());
}

impl Event {
    /// The changes this event makes to the index.
    pub fn apply(&self, kv: &mut dyn Kv) {
        match self {
            Event::Items {
                from,
                to,
                id,
                amount,
            } => {
                for (who, add) in [(from, false), (to, true)] {
                    if who.is_zero() {
                        continue;
                    }
                    let k = item_key(who, id);
                    let v = u256_at(kv, &k);
                    put_u256(
                        kv,
                        k,
                        if add {
                            v.saturating_add(*amount)
                        } else {
                            v.saturating_sub(*amount)
                        },
                    );
                }
            }
            Event::Cytr { from, to, value } => {
                for (who, add) in [(from, false), (to, true)] {
                    if who.is_zero() {
                        continue;
                    }
                    let k = key("cytr/", &[who.as_slice()]);
                    let v = u256_at(kv, &k);
                    put_u256(
                        kv,
                        k,
                        if add {
                            v.saturating_add(*value)
                        } else {
                            v.saturating_sub(*value)
                        },
                    );
                }
            }
            Event::Listed {
                listing,
                seller,
                id,
                amount,
                unit_price,
            } => {
                let l = Listing {
                    seller: *seller,
                    id: *id,
                    amount: *amount,
                    unit_price: *unit_price,
                };
                put_json(kv, key("list/", &[&listing.to_be_bytes::<32>()]), &l);
            }
            Event::Purchased { listing, amount } => {
                let k = key("list/", &[&listing.to_be_bytes::<32>()]);
                if let Some(mut l) = json_at::<Listing>(kv, &k) {
                    l.amount = l.amount.saturating_sub(*amount);
                    if l.amount.is_zero() {
                        kv.set(k, None);
                    } else {
                        put_json(kv, k, &l);
                    }
                }
            }
            Event::Cancelled { listing } => {
                kv.set(key("list/", &[&listing.to_be_bytes::<32>()]), None)
            }
            Event::LotCreated {
                lot,
                seller,
                id,
                amount,
                reserve,
                ends_at,
            } => {
                let l = Lot {
                    seller: *seller,
                    id: *id,
                    amount: *amount,
                    reserve: *reserve,
                    ends_at: *ends_at,
                    highest_bid: U256::ZERO,
                    bidder: None,
                    state: LotState::Open,
                };
                put_json(kv, key("lot/", &[&lot.to_be_bytes::<32>()]), &l);
            }
            Event::Bid {
                lot,
                bidder,
                bid,
                ends_at,
            } => self.update_lot(kv, lot, |l| {
                l.highest_bid = *bid;
                l.bidder = Some(*bidder);
                l.ends_at = *ends_at;
            }),
            Event::LotSettled { lot, winner, price } => self.update_lot(kv, lot, |l| {
                l.state = LotState::Settled;
                l.highest_bid = *price;
                l.bidder = (!winner.is_zero()).then_some(*winner);
            }),
            Event::LotCancelled { lot } => {
                self.update_lot(kv, lot, |l| l.state = LotState::Cancelled)
            }
            Event::Staked { account, amount } => {
                let k = key("stake/", &[account.as_slice()]);
                let v = u256_at(kv, &k);
                put_u256(kv, k, v.saturating_add(*amount));
            }
            Event::Unstaking { account, amount } | Event::Slashed { account, amount } => {
                let k = key("stake/", &[account.as_slice()]);
                let v = u256_at(kv, &k);
                put_u256(kv, k, v.saturating_sub(*amount));
            }
            Event::Settled {
                epoch,
                root,
                cid,
                signers,
                items,
            } => {
                let b = SettledBatch {
                    root: *root,
                    data_cid: cid.clone(),
                    signers: *signers,
                    items: *items,
                };
                put_json(kv, key("batch/", &[&epoch.to_be_bytes()]), &b);
            }
        }
    }

    fn update_lot(&self, kv: &mut dyn Kv, lot: &U256, f: impl FnOnce(&mut Lot)) {
        let k = key("lot/", &[&lot.to_be_bytes::<32>()]);
        if let Some(mut l) = json_at::<Lot>(kv, &k) {
            f(&mut l);
            put_json(kv, k, &l);
        }
    }
}

/// The hash of block `n`, if the chain has one.
async fn block_hash(provider: &DynProvider, n: u64) -> anyhow::Result<Option<B256>> {
    let block = retry(|| async { provider.get_block_by_number(n.into()).await }).await?;
    Ok(block.map(|b| b.header.hash))
}

/// Changes staged over a sled tree, with what they replace (the undo record).
struct Staged<'a> {
    tree: &'a sled::Tree,
    changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Kv for Staged<'_> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self.changes.get(key) {
            Some(v) => v.clone(),
            None => self.tree.get(key).ok().flatten().map(|v| v.to_vec()),
        }
    }

    fn set(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.changes.insert(key, value);
    }
}

type Undo = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Blocks kept with undo records; older ones are final for the index.
const UNDO_DEPTH: u64 = 512;
/// Blocks per `eth_getLogs` request.
const CHUNK: u64 = 2_000;

/// The index in sled.
pub struct Indexer {
    db: sled::Db,
    state: sled::Tree,
    /// block number → hash, for blocks that changed the index and the head.
    blocks: sled::Tree,
    undo: sled::Tree,
    /// The contracts whose events it follows.
    pub deployment: Deployment,
}

/// What one [`Indexer::sync`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Synced {
    /// The last block indexed after the sync.
    pub head: u64,
    /// Events applied in this sync.
    pub events: usize,
    /// Blocks undone because the chain reorganised.
    pub rolled_back: u64,
}

const HEAD: &[u8] = b"head";

impl Indexer {
    /// Opens the index in `db`'s `index/` trees, following `deployment`'s contracts.
    pub fn open(db: sled::Db, deployment: Deployment) -> anyhow::Result<Self> {
        Ok(Self {
            state: db.open_tree("index/state")?,
            blocks: db.open_tree("index/blocks")?,
            undo: db.open_tree("index/undo")?,
            db,
            deployment,
        })
    }

    /// The database the index keeps its trees in (others may keep theirs
    /// beside them).
    pub fn db(&self) -> sled::Db {
        self.db.clone()
    }

    /// The last block indexed (0 before the first sync).
    pub fn head(&self) -> u64 {
        self.blocks
            .get(HEAD)
            .ok()
            .flatten()
            .and_then(|v| v.get(..8)?.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0)
    }

    fn head_hash(&self) -> Option<B256> {
        self.blocks
            .get(HEAD)
            .ok()
            .flatten()
            .and_then(|v| Some(B256::from_slice(v.get(8..40)?)))
    }

    /// Follows the chain to its head, first undoing blocks the chain dropped.
    pub async fn sync(&self, provider: &DynProvider) -> anyhow::Result<Synced> {
        let mut out = Synced {
            rolled_back: self.unwind(provider).await?,
            ..Default::default()
        };
        let head = retry(|| provider.get_block_number()).await?;
        let mut from = self.head() + 1;
        if self.head_hash().is_none() {
            from = 0;
        }
        let addresses = {
            let d = &self.deployment;
            vec![
                d.cyteria_items,
                d.cytr,
                d.marketplace,
                d.auction,
                d.staking,
                d.settlement,
            ]
        };
        while from <= head {
            let to = (from + CHUNK - 1).min(head);
            let filter = Filter::new()
                .address(addresses.clone())
                .from_block(from)
                .to_block(to);
            let logs = retry(|| provider.get_logs(&filter)).await?;
            let mut by_block: BTreeMap<u64, (B256, Vec<Log>)> = BTreeMap::new();
            for log in logs {
                let (Some(n), Some(h)) = (log.block_number, log.block_hash) else {
                    continue;
                };
                by_block.entry(n).or_insert_with(|| (h, vec![])).1.push(log);
            }
            for (n, (hash, mut logs)) in by_block {
                logs.sort_by_key(|l| l.log_index);
                let mut staged = Staged {
                    tree: &self.state,
                    changes: BTreeMap::new(),
                };
                for log in &logs {
                    for ev in decode(log, &self.deployment) {
                        ev.apply(&mut staged);
                        out.events += 1;
                    }
                }
                self.commit(n, hash, staged.changes)?;
            }
            // Blocks with no events after the last one indexed: the head
            // moves past them (the chunk's events are in already).
            let hash = block_hash(provider, to)
                .await?
                .ok_or_else(|| anyhow::anyhow!("block {to} has no hash yet"))?;
            let mut v = to.to_be_bytes().to_vec();
            v.extend_from_slice(hash.as_slice());
            self.blocks.insert(HEAD, v)?;
            from = to + 1;
        }
        self.prune(head)?;
        self.db.flush_async().await?;
        out.head = self.head();
        Ok(out)
    }

    /// Applies one block's changes, keeps what they replaced, and moves the
    /// head to the block, in one transaction over the three trees: a crash
    /// or an error at any point leaves the block either wholly indexed (and
    /// the head on it) or not at all, never applied twice.
    fn commit(
        &self,
        number: u64,
        hash: B256,
        changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    ) -> anyhow::Result<()> {
        use sled::Transactional;
        use sled::transaction::ConflictableTransactionError as Abort;
        let mut head = number.to_be_bytes().to_vec();
        head.extend_from_slice(hash.as_slice());
        (&self.state, &self.undo, &self.blocks)
            .transaction(|(state, undo_tree, blocks)| {
                let mut undo: Undo = vec![];
                for (k, v) in &changes {
                    let old = match v {
                        Some(v) => state.insert(k.as_slice(), v.as_slice())?,
                        None => state.remove(k.as_slice())?,
                    };
                    undo.push((k.clone(), old.map(|x| x.to_vec())));
                }
                let undo = serde_json::to_vec(&undo).map_err(Abort::Abort)?;
                undo_tree.insert(&number.to_be_bytes(), undo)?;
                blocks.insert(&number.to_be_bytes(), hash.as_slice())?;
                blocks.insert(HEAD, head.as_slice())?;
                Ok(())
            })
            .map_err(|e| anyhow::anyhow!("indexing block {number}: {e:?}"))?;
        Ok(())
    }

    /// Undoes indexed blocks the chain no longer has; returns how many.
    async fn unwind(&self, provider: &DynProvider) -> anyhow::Result<u64> {
        let Some(head_hash) = self.head_hash() else {
            return Ok(0);
        };
        let head = self.head();
        let on_chain = block_hash(provider, head).await?;
        if on_chain == Some(head_hash) {
            return Ok(0);
        }
        // Walk back over the blocks that changed the index until one is still on chain.
        let mut undone = 0;
        let mut fork = 0u64;
        let recorded: Vec<(u64, B256)> = self
            .blocks
            .iter()
            .rev()
            .filter_map(|r| r.ok())
            .filter(|(k, _)| k.as_ref() != HEAD)
            .filter_map(|(k, v)| {
                Some((
                    u64::from_be_bytes(k.as_ref().try_into().ok()?),
                    B256::from_slice(v.get(..32)?),
                ))
            })
            .collect();
        for (n, hash) in recorded {
            let still = block_hash(provider, n).await?;
            if still == Some(hash) {
                fork = n;
                break;
            }
            self.rollback(n)?;
            undone += 1;
        }
        // Index again from the last block the chain and the index share.
        let hash = block_hash(provider, fork).await?.unwrap_or_default();
        let mut v = fork.to_be_bytes().to_vec();
        v.extend_from_slice(hash.as_slice());
        self.blocks.insert(HEAD, v)?;
        tracing::warn!(
            from = head,
            to = fork,
            blocks_undone = undone,
            "chain reorganised; index rolled back"
        );
        Ok(undone)
    }

    fn rollback(&self, number: u64) -> anyhow::Result<()> {
        if let Some(u) = self.undo.get(number.to_be_bytes())? {
            let undo: Undo = serde_json::from_slice(&u)?;
            let mut batch = sled::Batch::default();
            for (k, old) in undo.into_iter().rev() {
                match old {
                    Some(v) => batch.insert(k, v),
                    None => batch.remove(k),
                }
            }
            self.state.apply_batch(batch)?;
        }
        self.undo.remove(number.to_be_bytes())?;
        self.blocks.remove(number.to_be_bytes())?;
        Ok(())
    }

    /// Forgets undo records deeper than [`UNDO_DEPTH`].
    fn prune(&self, head: u64) -> anyhow::Result<()> {
        let keep_from = head.saturating_sub(UNDO_DEPTH);
        for r in self.undo.range(..keep_from.to_be_bytes()) {
            let (k, _) = r?;
            self.undo.remove(&k)?;
            self.blocks.remove(&k)?;
        }
        Ok(())
    }

    fn prefixed(&self, prefix: &'static str) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
        self.state
            .scan_prefix(prefix.as_bytes())
            .filter_map(|r| r.ok())
            .map(move |(k, v)| (k[prefix.len()..].to_vec(), v.to_vec()))
    }

    /// Items `owner` holds: (token id, amount).
    pub fn items_of(&self, owner: Address) -> Vec<(U256, U256)> {
        self.prefixed("item/")
            .filter(|(k, _)| k.len() == 52 && &k[..20] == owner.as_slice())
            .filter_map(|(k, v)| {
                Some((
                    U256::from_be_slice(&k[20..]),
                    U256::from_be_slice(v.get(..32)?),
                ))
            })
            .collect()
    }

    /// `owner`'s CYTR balance, in wei.
    pub fn cytr_of(&self, owner: Address) -> U256 {
        self.state
            .get(key("cytr/", &[owner.as_slice()]))
            .ok()
            .flatten()
            .map(|v| U256::from_be_slice(&v))
            .unwrap_or_default()
    }

    /// `account`'s stake in CYTR wei, with unstaking and slashed amounts taken off.
    pub fn stake_of(&self, account: Address) -> U256 {
        self.state
            .get(key("stake/", &[account.as_slice()]))
            .ok()
            .flatten()
            .map(|v| U256::from_be_slice(&v))
            .unwrap_or_default()
    }

    /// Open listings, by listing id.
    pub fn listings(&self) -> Vec<(U256, Listing)> {
        self.prefixed("list/")
            .filter_map(|(k, v)| Some((U256::from_be_slice(&k), serde_json::from_slice(&v).ok()?)))
            .collect()
    }

    /// Auction lots, by lot id.
    pub fn lots(&self) -> Vec<(U256, Lot)> {
        self.prefixed("lot/")
            .filter_map(|(k, v)| Some((U256::from_be_slice(&k), serde_json::from_slice(&v).ok()?)))
            .collect()
    }

    /// Settled batches, by epoch.
    pub fn batches(&self) -> Vec<(u64, SettledBatch)> {
        self.prefixed("batch/")
            .filter_map(|(k, v)| {
                Some((
                    u64::from_be_bytes(k.as_slice().try_into().ok()?),
                    serde_json::from_slice(&v).ok()?,
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Mem(BTreeMap<Vec<u8>, Vec<u8>>);

    impl Kv for Mem {
        fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
            self.0.get(key).cloned()
        }
        fn set(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
            match value {
                Some(v) => self.0.insert(key, v),
                None => self.0.remove(&key),
            };
        }
    }

    #[test]
    fn events_move_balances_and_follow_listings_and_lots() {
        let (a, b) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let id = U256::from(77);
        let mut kv = Mem(BTreeMap::new());
        Event::Items {
            from: Address::ZERO,
            to: a,
            id,
            amount: U256::from(2),
        }
        .apply(&mut kv);
        Event::Items {
            from: a,
            to: b,
            id,
            amount: U256::from(1),
        }
        .apply(&mut kv);
        assert_eq!(u256_at(&kv, &item_key(&a, &id)), U256::from(1));
        assert_eq!(u256_at(&kv, &item_key(&b, &id)), U256::from(1));
        Event::Items {
            from: a,
            to: b,
            id,
            amount: U256::from(1),
        }
        .apply(&mut kv);
        assert!(
            kv.get(&item_key(&a, &id)).is_none(),
            "a zero balance leaves no record"
        );
        let listing = U256::from(1);
        Event::Listed {
            listing,
            seller: b,
            id,
            amount: U256::from(2),
            unit_price: U256::from(5),
        }
        .apply(&mut kv);
        Event::Purchased {
            listing,
            amount: U256::from(1),
        }
        .apply(&mut kv);
        let l: Listing = json_at(&kv, &key("list/", &[&listing.to_be_bytes::<32>()])).unwrap();
        assert_eq!(l.amount, U256::from(1));
        Event::Purchased {
            listing,
            amount: U256::from(1),
        }
        .apply(&mut kv);
        assert!(
            kv.get(&key("list/", &[&listing.to_be_bytes::<32>()]))
                .is_none(),
            "a sold-out listing is gone"
        );
        let lot = U256::from(3);
        Event::LotCreated {
            lot,
            seller: a,
            id,
            amount: U256::from(1),
            reserve: U256::from(10),
            ends_at: 100,
        }
        .apply(&mut kv);
        Event::Bid {
            lot,
            bidder: b,
            bid: U256::from(12),
            ends_at: 130,
        }
        .apply(&mut kv);
        Event::LotSettled {
            lot,
            winner: b,
            price: U256::from(12),
        }
        .apply(&mut kv);
        let l: Lot = json_at(&kv, &key("lot/", &[&lot.to_be_bytes::<32>()])).unwrap();
        assert_eq!(
            (l.state, l.bidder, l.highest_bid, l.ends_at),
            (LotState::Settled, Some(b), U256::from(12), 130)
        );
    }
}
