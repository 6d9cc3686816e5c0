//! The off-chain ledger the validators keep: per game key, its bound wallet,
//! experience, materials, action nonce and the wear of its items; and the
//! matches already credited. Its state root is the blake3 Merkle root
//! ([`crate::merkle`]) over its canonical records, so anyone holding the
//! batch data can recompute the root the chain recorded.
//!
//! Every change is all or nothing: a rejected credit or action leaves the
//! ledger as it was.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::Address;
use alloy::sol_types::Eip712Domain;
use cyteria_game::codec::{DecodeError, Format};
use cyteria_game::crafting::{self, CraftError};
use cyteria_game::inventory::{InventoryError, Material, Materials};
use cyteria_game::item::ItemStats;
use cyteria_game::transcript::MatchHeader;
use cyteria_game::verify::Outcome;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::action::{Action, SignedAction};
use crate::binding::{BindingError, MAX_NONCE_STEP, SignedBinding};
use crate::evidence::{Equivocation, EvidenceError};
use crate::{ids, merkle};

/// One game key's record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The wallet its items mint to; rewards are refused while unbound.
    pub wallet: Option<[u8; 20]>,
    /// Nonce of the binding in force; a new binding must carry a higher one.
    pub binding_nonce: u64,
    /// Experience earned in credited matches.
    pub xp: u64,
    /// Kills made in credited matches.
    pub kills: u64,
    /// How many credited matches it took part in.
    pub matches: u64,
    /// Materials held, earned in matches and spent on crafts and repairs.
    pub materials: Materials,
    /// The nonce its next action must carry.
    pub next_nonce: u64,
    /// Durability lost since the last repair, per item [`fingerprint`].
    pub wear: BTreeMap<[u8; 32], u32>,
    /// Chain time (ms) until which its credited matches occupy it; the next
    /// credited match starts no earlier ([`crate::provenance`]).
    pub busy_until_ms: u64,
    /// Wallets the key was bound to before its current one, with the
    /// epoch whose batch moved them away (at most [`MAX_FORMER_WALLETS`]):
    /// each stays liable for the key's equivocations in matches whose
    /// beacon is no later than that epoch, so rebinding does not move a
    /// bond out of reach, and a wallet is not liable for what the key signs
    /// after it left.
    pub former: Vec<([u8; 20], u64)>,
}

impl Account {
    /// The bound wallet's address, if any.
    pub fn wallet(&self) -> Option<Address> {
        self.wallet.map(Address::from)
    }

    /// Every wallet liable for the key's equivocations in a match whose
    /// beacon is epoch `beacon` (0: every wallet it has held): the bound one, and those
    /// it left after that epoch's settlement.
    pub fn liable(&self, beacon: u64) -> Vec<Address> {
        let former = self
            .former
            .iter()
            .filter(|(_, left)| beacon <= *left)
            .map(|(w, _)| w);
        self.wallet
            .iter()
            .chain(former)
            .map(|w| Address::from(*w))
            .collect()
    }
}

/// The ledger.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Every account, by ed25519 game key.
    pub accounts: BTreeMap<[u8; 32], Account>,
    /// Match ids already credited: a transcript counts once.
    pub credited: BTreeSet<[u8; 32]>,
    /// Chain time (ms) until which each wallet's credited matches occupy
    /// it, whichever key played them: moving keys between wallets does not
    /// reopen a wallet's time.
    pub wallet_busy: BTreeMap<[u8; 20], u64>,
    /// Offences ([`Equivocation::offence`]) already slashed: one each.
    pub slashed: BTreeSet<[u8; 32]>,
    /// The use of every owned item a credited match equipped, by token id:
    /// its wear follows the item from wallet to wallet, and one item plays
    /// one match at a time.
    pub items: BTreeMap<[u8; 32], ItemUse>,
}

/// What the ledger records of an owned item (a minted token) matches used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemUse {
    /// Durability lost in credited matches, beyond what its id encodes.
    pub wear: u32,
    /// Chain time (ms) until which a credited match holds it.
    pub busy_until_ms: u64,
}

impl ItemUse {
    /// The durability left of an item minted with `minted` durability.
    pub fn durability_left(&self, minted: u16) -> u16 {
        minted.saturating_sub(self.wear.min(u32::from(u16::MAX)) as u16)
    }
}

/// That `wallet` held token `id` at the block where epoch `epoch` settled
/// (the beacon of a match that equips it), as read from `CyteriaItems`.
/// An item listed on the market or at auction is held by that contract,
/// not the seller: escrowed items are not held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Holding {
    /// The seat's wallet.
    pub wallet: [u8; 20],
    /// The item's token id, big-endian.
    pub id: [u8; 32],
    /// The match's beacon epoch.
    pub epoch: u64,
}

/// The wallet a [`Holding`] names to ask whether the item sat in escrow at
/// the beacon: held by the marketplace or the auction contract, listed or
/// at auction. No account holds a token at the zero address (ERC-1155
/// neither mints nor transfers to it), so it never stands for a real
/// holder; the chain reader answers it with the escrow contracts' balances.
pub const ESCROW: [u8; 20] = [0; 20];

impl Holding {
    /// The question whether item `id` was in escrow at `epoch`'s block.
    pub fn escrow(id: [u8; 32], epoch: u64) -> Self {
        Holding {
            wallet: ESCROW,
            id,
            epoch,
        }
    }

    /// Whether this asks about escrow rather than a wallet.
    pub fn is_escrow(&self) -> bool {
        self.wallet == ESCROW
    }
}

/// The [`Holding`]s the chain confirmed, of those a batch's matches need
/// ([`crate::proposal::holdings_needed`]). Leader and followers read them
/// at the same blocks (each beacon's settlement), so both judge alike.
pub type Holdings = BTreeSet<Holding>;

/// Keeps `wallet`, which `a`'s key leaves in `epoch`'s batch, liable for it.
fn retire(a: &mut Account, wallet: [u8; 20], epoch: u64) {
    a.former.retain(|(w, _)| *w != wallet);
    a.former.push((wallet, epoch));
}

/// How many wallets a game key may leave behind by rebinding. Each stays
/// liable for its equivocations; past this many, the key cannot rebind
/// (a player makes a new key), so no rebinding spree empties the list.
pub const MAX_FORMER_WALLETS: usize = 8;

/// Why the ledger refused something. [`Rejected::label`] is the short,
/// bounded name metrics count it under.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Rejected {
    /// The action was signed for another chain.
    #[error("signed for chain {got}, this ledger is on chain {expected}")]
    WrongChain {
        /// The chain id the action names.
        got: u64,
        /// This deployment's chain id.
        expected: u64,
    },
    /// The action was signed for another deployment on this chain.
    #[error("signed for another deployment")]
    WrongDeployment,
    /// The player's signature does not verify.
    #[error("the signature does not verify")]
    BadSignature,
    /// The action's nonce is below the account's next nonce.
    #[error("nonce {got} already used (next is {expected})")]
    Replayed {
        /// The nonce the action carries.
        got: u64,
        /// The next nonce the account takes.
        expected: u64,
    },
    /// The action's nonce is above the account's next nonce.
    #[error("nonce {got} skips ahead of the next, {expected}")]
    NonceGap {
        /// The nonce the action carries.
        got: u64,
        /// The next nonce the account takes.
        expected: u64,
    },
    /// The game key has no wallet bound.
    #[error("the game key is not bound to a wallet")]
    Unbound,
    /// One of the binding's two signatures does not verify in this domain.
    #[error("{0}")]
    BadBinding(BindingError),
    /// A binding's nonce is not above that of the binding in force.
    #[error("binding nonce {got} is not above the current {current}")]
    StaleBinding {
        /// The binding's nonce.
        got: u64,
        /// The nonce of the binding in force.
        current: u64,
    },
    /// A binding's nonce runs further ahead of the one in force than
    /// [`MAX_NONCE_STEP`].
    #[error("binding nonce {got} runs too far ahead of the current {current}")]
    NonceTooFar {
        /// The binding's nonce.
        got: u64,
        /// The nonce of the binding in force.
        current: u64,
    },
    /// The batch already holds as many items as one batch may mint.
    #[error("the batch is full: it waits for the next epoch")]
    BatchFull,
    /// The match was already credited.
    #[error("match already credited")]
    AlreadyCredited,
    /// The match's seed is not the one its beacon gives its match id.
    #[error("the match seed is not drawn from its beacon")]
    SeedNotFromBeacon,
    /// The beacon names an epoch the batch's chain time has not settled.
    #[error("the beacon names an epoch not settled before this batch")]
    FutureBeacon,
    /// The beacon's root is not the one the chain settled for its epoch.
    #[error("the beacon's root is not the chain's")]
    WrongBeacon,
    /// The beacon settled longer ago than the beacon window.
    #[error("the beacon is too old")]
    StaleBeacon,
    /// The chain has not passed the match's end in its players' time: it
    /// waits for a later batch.
    #[error("the match ends after the chain's time: it waits for the next epoch")]
    NotYet,
    /// The validator knows no settlement time for the epoch before the batch.
    #[error("no chain time for the batch's epoch")]
    NoChainTime,
    /// The batch's reference block is older than the last settlement.
    #[error("the batch's reference block is older than the last settlement")]
    EarlyReference,
    /// The wallet holds no player bond at the batch's reference block, and
    /// the action would mint an item.
    #[error("the wallet holds no player bond")]
    NotBonded,
    /// The key already left [`MAX_FORMER_WALLETS`] wallets behind.
    #[error("the game key was bound to too many wallets")]
    TooManyWallets,
    /// The evidence does not prove an equivocation.
    #[error("{0}")]
    BadEvidence(EvidenceError),
    /// The offence was already slashed.
    #[error("the offence was already slashed")]
    AlreadySlashed,
    /// No wallet the key is or was bound to holds a bond at the reference block.
    #[error("no wallet of the key holds a bond")]
    NothingToSlash,
    /// A seat equips a token its wallet did not hold at the match's beacon.
    #[error("seat {seat} equips an item its wallet did not hold at the beacon")]
    NotHeld {
        /// The seat.
        seat: u8,
    },
    /// A seat equips a token that sat in escrow (listed on the market or
    /// at auction) at the match's beacon: the seller does not hold it.
    #[error("seat {seat} equips an item that was listed or at auction at the beacon")]
    Escrowed {
        /// The seat.
        seat: u8,
    },
    /// A seat equips an owned item with more durability than the ledger
    /// leaves it.
    #[error("seat {seat} equips an item with more durability than it has left")]
    WornItem {
        /// The seat.
        seat: u8,
    },
    /// The ledger records no wear for the item.
    #[error("the item has nothing to repair")]
    NothingToRepair,
    /// An item's trait bits do not fit in a token id.
    #[error("the item's traits do not fit a token id")]
    Unmintable,
    /// The crafting rules refused the craft or repair.
    #[error(transparent)]
    Craft(#[from] CraftError),
}

impl Rejected {
    /// Whether the candidate waits for a later batch rather than being dropped.
    pub fn waits(&self) -> bool {
        matches!(self, Rejected::BatchFull | Rejected::NotYet)
    }

    /// The short, bounded name metrics count this refusal under.
    pub fn label(&self) -> &'static str {
        match self {
            Rejected::WrongChain { .. } => "wrong chain",
            Rejected::WrongDeployment => "wrong deployment",
            Rejected::BadSignature => "bad signature",
            Rejected::Replayed { .. } => "replayed",
            Rejected::NonceGap { .. } => "nonce gap",
            Rejected::Unbound => "unbound key",
            Rejected::BadBinding(BindingError::Wallet) => "bad binding",
            Rejected::BadBinding(BindingError::GameKey) => "binding not signed by the game key",
            Rejected::StaleBinding { .. } => "stale binding",
            Rejected::NonceTooFar { .. } => "binding nonce too far ahead",
            Rejected::BatchFull => "batch full",
            Rejected::AlreadyCredited => "already credited",
            Rejected::SeedNotFromBeacon => "seed not from beacon",
            Rejected::FutureBeacon => "future beacon",
            Rejected::WrongBeacon => "wrong beacon",
            Rejected::StaleBeacon => "stale beacon",
            Rejected::NotYet => "not yet",
            Rejected::NoChainTime => "no chain time",
            Rejected::EarlyReference => "early reference",
            Rejected::NotBonded => "not bonded",
            Rejected::TooManyWallets => "too many wallets",
            Rejected::BadEvidence(_) => "bad evidence",
            Rejected::AlreadySlashed => "already slashed",
            Rejected::NothingToSlash => "nothing to slash",
            Rejected::NotHeld { .. } => "item not held",
            Rejected::Escrowed { .. } => "item escrowed",
            Rejected::WornItem { .. } => "worn item",
            Rejected::NothingToRepair | Rejected::Craft(CraftError::NothingToRepair) => {
                "nothing to repair"
            }
            Rejected::Unmintable => "unmintable",
            Rejected::Craft(CraftError::Inventory(InventoryError::NotEnough { .. })) => {
                "insufficient materials"
            }
            Rejected::Craft(CraftError::UnknownRecipe(_)) => "unknown recipe",
            Rejected::Craft(_) => "craft refused",
        }
    }
}

/// The player bonds at a batch's reference block, of the wallets the batch
/// touches ([`crate::proposal::wallets_touched`]), read from `PlayerBond`
/// there, so leader and followers judge every wallet by the same block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bonded {
    /// Wallets whose bond counts (`isBonded`): only they receive the items
    /// matches drop and may craft; an unbonded bound key still earns
    /// experience and materials.
    pub earning: BTreeSet<Address>,
    /// Wallets that hold any bond, counting or cooling down: what an
    /// equivocation can slash.
    pub slashable: BTreeSet<Address>,
}

impl Bonded {
    /// Whether `w`'s drops mint.
    pub fn earns(&self, w: &Address) -> bool {
        self.earning.contains(w)
    }
}

/// Wallets with a bond that counts (and so can be slashed).
impl FromIterator<Address> for Bonded {
    fn from_iter<I: IntoIterator<Item = Address>>(iter: I) -> Self {
        let earning: BTreeSet<Address> = iter.into_iter().collect();
        Bonded {
            slashable: earning.clone(),
            earning,
        }
    }
}

/// An item the ledger awards, to be minted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Award {
    /// The wallet it mints to.
    pub to: Address,
    /// The item's stats.
    pub stats: ItemStats,
}

/// What crediting one match did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MatchCredit {
    /// The match's drops, awarded to the bound seats' wallets.
    pub awards: Vec<Award>,
    /// Seats whose rewards were refused because their key is unbound.
    pub unbound: Vec<u8>,
    /// Bound seats whose drops were not minted because their wallet holds no bond.
    pub unbonded: Vec<u8>,
}

/// An item's identity for wear: its stats but its durability.
pub fn fingerprint(item: &ItemStats) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("cyteria item fingerprint v1");
    h.update(&[item.item_type as u8, item.rarity as u8]);
    h.update(&item.damage.to_le_bytes());
    h.update(&item.defense.to_le_bytes());
    h.update(&item.traits.0);
    *h.finalize().as_bytes()
}

const ACCOUNT: Format = Format {
    name: "ledger account",
    magic: *b"CYLA",
    version: 3,
    max_bytes: 1 << 20,
};
/// A whole ledger, as validators keep it between epochs.
pub const LEDGER: Format = Format {
    name: "ledger",
    magic: *b"CYLG",
    version: 4,
    max_bytes: 1 << 30,
};

impl Ledger {
    /// The state root: Merkle root over `a‖key → account`, `m‖match id → ""`,
    /// `w‖wallet → busy until`, `s‖offence → ""` and `i‖token id → wear‖busy until`.
    /// The empty ledger's root is zero, the root the Settlement contract starts from.
    pub fn root(&self) -> [u8; 32] {
        if self.accounts.is_empty()
            && self.credited.is_empty()
            && self.wallet_busy.is_empty()
            && self.slashed.is_empty()
            && self.items.is_empty()
        {
            return [0; 32];
        }
        let accounts = self
            .accounts
            .iter()
            .map(|(k, a)| ([&b"a"[..], k].concat(), ACCOUNT.encode(a)));
        let matches = self
            .credited
            .iter()
            .map(|m| ([&b"m"[..], m].concat(), vec![]));
        let wallets = self
            .wallet_busy
            .iter()
            .map(|(w, t)| ([&b"w"[..], w].concat(), t.to_le_bytes().to_vec()));
        let slashed = self
            .slashed
            .iter()
            .map(|o| ([&b"s"[..], o].concat(), vec![]));
        let items = self.items.iter().map(|(id, u)| {
            let v = [&u.wear.to_le_bytes()[..], &u.busy_until_ms.to_le_bytes()].concat();
            ([&b"i"[..], id].concat(), v)
        });
        let leaves: Vec<(Vec<u8>, Vec<u8>)> = accounts
            .chain(matches)
            .chain(wallets)
            .chain(slashed)
            .chain(items)
            .collect();
        merkle::root(leaves.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
    }

    /// The account of game key `key`, if it has one.
    pub fn account(&self, key: &[u8; 32]) -> Option<&Account> {
        self.accounts.get(key)
    }

    /// The whole ledger in the `LEDGER` encoding.
    pub fn encode(&self) -> Vec<u8> {
        LEDGER.encode(self)
    }

    /// Decodes a ledger from the `LEDGER` encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        LEDGER.decode(bytes)
    }

    /// Records a wallet binding, which both keys signed, in the batch of
    /// `epoch`. A later nonce (at most [`MAX_NONCE_STEP`] ahead) replaces an
    /// earlier binding of the key; a wallet holds one game key at a time, so
    /// binding a wallet to a new key unbinds the key it held. Each key keeps
    /// the wallets it leaves liable; one that already left
    /// [`MAX_FORMER_WALLETS`] behind moves no more.
    pub fn bind(
        &mut self,
        b: &SignedBinding,
        domain: &Eip712Domain,
        epoch: u64,
    ) -> Result<(), Rejected> {
        b.verify(domain).map_err(Rejected::BadBinding)?;
        let current = self
            .accounts
            .get(&b.game_key)
            .map_or(0, |a| a.binding_nonce);
        if b.nonce <= current {
            return Err(Rejected::StaleBinding {
                got: b.nonce,
                current,
            });
        }
        if b.nonce - current > MAX_NONCE_STEP {
            return Err(Rejected::NonceTooFar {
                got: b.nonce,
                current,
            });
        }
        let wallet = b.wallet.into_array();
        let full = |a: &Account| a.former.len() >= MAX_FORMER_WALLETS;
        // The key leaves its wallet for this one; and the key this wallet
        // held leaves it. Either must have room to keep what it leaves.
        let leaves = self
            .accounts
            .get(&b.game_key)
            .and_then(|a| a.wallet.filter(|w| *w != wallet));
        if leaves.is_some() && self.accounts.get(&b.game_key).is_some_and(full) {
            return Err(Rejected::TooManyWallets);
        }
        let held = self
            .accounts
            .iter()
            .find(|(k, a)| **k != b.game_key && a.wallet == Some(wallet))
            .map(|(k, _)| *k);
        if held.is_some_and(|k| full(&self.accounts[&k])) {
            return Err(Rejected::TooManyWallets);
        }
        // The wallet's time goes with it: a fresh key does not reopen the
        // hours its old key already played. The key it leaves keeps the
        // wallet liable for its equivocations.
        let mut busy = 0;
        if let Some(a) = held.and_then(|k| self.accounts.get_mut(&k)) {
            a.wallet = None;
            retire(a, wallet, epoch);
            busy = a.busy_until_ms;
        }
        let acct = self.accounts.entry(b.game_key).or_default();
        if let Some(old) = leaves {
            retire(acct, old, epoch);
        }
        acct.busy_until_ms = acct.busy_until_ms.max(busy);
        acct.wallet = Some(wallet);
        acct.binding_nonce = b.nonce;
        Ok(())
    }

    /// The game key `wallet` is bound to, if any.
    pub fn key_of(&self, wallet: Address) -> Option<[u8; 32]> {
        let w = Some(wallet.into_array());
        self.accounts
            .iter()
            .find(|(_, a)| a.wallet == w)
            .map(|(k, _)| *k)
    }

    /// How many items crediting this match would award (its bonded seats' drops).
    pub fn awards_of(&self, header: &MatchHeader, outcome: &Outcome, bonded: &Bonded) -> usize {
        header
            .players
            .iter()
            .zip(&outcome.players)
            .filter(|(slot, _)| {
                self.accounts
                    .get(&slot.public_key)
                    .and_then(Account::wallet)
                    .is_some_and(|w| bonded.earns(&w))
            })
            .map(|(_, p)| p.items.len())
            .sum()
    }

    /// The latest chain time (ms) until which a bound seat of `header`, its
    /// wallet, or an owned item a seat equips is busy with matches already
    /// credited.
    pub fn busy_ms(&self, header: &MatchHeader) -> u64 {
        let seats = header
            .players
            .iter()
            .filter_map(|s| self.accounts.get(&s.public_key))
            .filter_map(|a| {
                let w = a.wallet?;
                let wallet = self.wallet_busy.get(&w).copied().unwrap_or(0);
                Some(a.busy_until_ms.max(wallet))
            });
        let items = header
            .players
            .iter()
            .flat_map(|s| s.items.iter().flatten())
            .filter_map(|id| self.items.get(id))
            .map(|u| u.busy_until_ms);
        seats.chain(items).max().unwrap_or(0)
    }

    /// Checks the owned items every seat of `header` equips: its bound
    /// wallet held each at the beacon (`held`; an item in escrow then is
    /// refused with its own reason), and none has more
    /// durability than the ledger leaves it. (That the stats are the id's,
    /// the verifier checked: [`ids::check_equipped`].)
    fn check_owned(&self, header: &MatchHeader, held: &Holdings) -> Result<(), Rejected> {
        for (seat, slot) in header.players.iter().enumerate() {
            let seat = seat as u8;
            let l = &slot.loadout;
            let slots = [l.weapon, l.armor, l.tool];
            for (item, id) in slots.iter().zip(&slot.items) {
                let (Some(item), Some(id)) = (item, id) else {
                    continue;
                };
                let wallet = self
                    .accounts
                    .get(&slot.public_key)
                    .and_then(|a| a.wallet)
                    .ok_or(Rejected::NotHeld { seat })?;
                let holding = Holding {
                    wallet,
                    id: *id,
                    epoch: header.beacon.epoch,
                };
                if !held.contains(&holding) {
                    let escrowed = held.contains(&Holding::escrow(*id, header.beacon.epoch));
                    return Err(if escrowed {
                        Rejected::Escrowed { seat }
                    } else {
                        Rejected::NotHeld { seat }
                    });
                }
                let minted = ids::decode(alloy::primitives::U256::from_be_bytes(*id))
                    .map(|(stats, _, _)| stats.durability)
                    .ok_or(Rejected::NotHeld { seat })?;
                let used = self.items.get(id).copied().unwrap_or_default();
                if item.durability > used.durability_left(minted) {
                    return Err(Rejected::WornItem { seat });
                }
            }
        }
        Ok(())
    }

    /// Credits a verified match's outcome: experience, kills, materials and
    /// wear to every bound seat, and its drops as awards to the seat's
    /// wallet when that wallet is `bonded`; the bound seats are busy until
    /// `ends_ms` (the end of the match's [`crate::provenance::Slot`]).
    /// Unbound seats get nothing; both they and unbonded seats are listed.
    pub fn credit_match(
        &mut self,
        header: &MatchHeader,
        outcome: &Outcome,
        ends_ms: u64,
        bonded: &Bonded,
        held: &Holdings,
    ) -> Result<MatchCredit, Rejected> {
        if self.credited.contains(&header.match_id) {
            return Err(Rejected::AlreadyCredited);
        }
        self.check_owned(header, held)?;
        if outcome
            .players
            .iter()
            .flat_map(|p| &p.items)
            .any(|i| !ids::traits_fit(&i.traits))
        {
            return Err(Rejected::Unmintable);
        }
        let mut credit = MatchCredit::default();
        for (seat, (slot, p)) in header.players.iter().zip(&outcome.players).enumerate() {
            let Some(acct) = self
                .accounts
                .get_mut(&slot.public_key)
                .filter(|a| a.wallet.is_some())
            else {
                credit.unbound.push(seat as u8);
                continue;
            };
            let to = Address::from(acct.wallet.unwrap_or_default());
            acct.xp = acct.xp.saturating_add(u64::from(p.xp));
            acct.kills = acct.kills.saturating_add(u64::from(p.kills));
            acct.matches += 1;
            acct.busy_until_ms = acct.busy_until_ms.max(ends_ms);
            let w = self.wallet_busy.entry(to.into_array()).or_default();
            *w = (*w).max(ends_ms);
            for m in Material::ALL {
                acct.materials.add(m, p.materials.get(m));
            }
            let l = &slot.loadout;
            let slots = [l.weapon, l.armor, l.tool].into_iter().zip(slot.items);
            for ((item, id), lost) in slots.zip(p.wear) {
                match (item, id) {
                    (Some(_), Some(id)) => {
                        let u = self.items.entry(id).or_default();
                        u.wear = u.wear.saturating_add(u32::from(lost));
                        u.busy_until_ms = u.busy_until_ms.max(ends_ms);
                    }
                    (Some(item), None) if lost > 0 => {
                        let w = acct.wear.entry(fingerprint(&item)).or_default();
                        *w = w.saturating_add(u32::from(lost));
                    }
                    _ => {}
                }
            }
            if !bonded.earns(&to) {
                if !p.items.is_empty() {
                    credit.unbonded.push(seat as u8);
                }
                continue;
            }
            credit
                .awards
                .extend(p.items.iter().map(|stats| Award { to, stats: *stats }));
        }
        self.credited.insert(header.match_id);
        Ok(credit)
    }

    /// The wallets equivocation evidence slashes: every wallet its key is
    /// bound to, or left after the match's beacon, that holds a bond at
    /// the reference block; once per offence. Changes nothing.
    pub fn slash_targets(
        &self,
        ev: &Equivocation,
        bonded: &Bonded,
    ) -> Result<Vec<Address>, Rejected> {
        let key = ev.check().map_err(Rejected::BadEvidence)?;
        if self.slashed.contains(&ev.offence()) {
            return Err(Rejected::AlreadySlashed);
        }
        let wallets: Vec<Address> = self
            .accounts
            .get(&key)
            .map(|a| a.liable(ev.header.beacon.epoch))
            .unwrap_or_default()
            .into_iter()
            .filter(|w| bonded.slashable.contains(w))
            .collect();
        if wallets.is_empty() {
            return Err(Rejected::NothingToSlash);
        }
        Ok(wallets)
    }

    /// Judges equivocation evidence ([`Ledger::slash_targets`]) and records
    /// its offence as slashed. Returns the wallets to slash.
    pub fn slash(&mut self, ev: &Equivocation, bonded: &Bonded) -> Result<Vec<Address>, Rejected> {
        let wallets = self.slash_targets(ev, bonded)?;
        self.slashed.insert(ev.offence());
        Ok(wallets)
    }

    /// Applies a signed action: checks chain, signature, binding and nonce,
    /// then the action itself against the account. A craft mints an item,
    /// so it needs a `bonded` wallet (materials an unbonded bot farmed do
    /// not become items); a repair does not.
    pub fn apply_action(
        &mut self,
        a: &SignedAction,
        chain_id: u64,
        bonded: &Bonded,
    ) -> Result<Option<Award>, Rejected> {
        if a.chain_id != chain_id {
            return Err(Rejected::WrongChain {
                got: a.chain_id,
                expected: chain_id,
            });
        }
        if !a.is_signed() {
            return Err(Rejected::BadSignature);
        }
        let acct = self
            .accounts
            .get(&a.player)
            .filter(|x| x.wallet.is_some())
            .ok_or(Rejected::Unbound)?;
        if a.nonce < acct.next_nonce {
            return Err(Rejected::Replayed {
                got: a.nonce,
                expected: acct.next_nonce,
            });
        }
        if a.nonce > acct.next_nonce {
            return Err(Rejected::NonceGap {
                got: a.nonce,
                expected: acct.next_nonce,
            });
        }
        let mut next = acct.clone();
        let to = Address::from(next.wallet.unwrap_or_default());
        let mut repaired = None;
        let award = match a.action {
            Action::Craft { recipe } => {
                if !bonded.earns(&to) {
                    return Err(Rejected::NotBonded);
                }
                let stats = crafting::craft(&mut next.materials, recipe, a.id())?;
                if !ids::traits_fit(&stats.traits) {
                    return Err(Rejected::Unmintable);
                }
                Some(Award { to, stats })
            }
            Action::Repair { item } => {
                let fp = fingerprint(&item);
                let worn = next.wear.get(&fp).copied().unwrap_or(0);
                if worn == 0 {
                    return Err(Rejected::NothingToRepair);
                }
                let mut current = item;
                current.durability = item
                    .durability
                    .saturating_sub(worn.min(u32::from(u16::MAX)) as u16);
                crafting::repair(&mut next.materials, &mut current)?;
                next.wear.remove(&fp);
                None
            }
            Action::RepairItem { id } => {
                let (stats, _, _) = ids::decode(alloy::primitives::U256::from_be_bytes(id))
                    .ok_or(Rejected::NothingToRepair)?;
                let used = self.items.get(&id).copied().unwrap_or_default();
                if used.wear == 0 {
                    return Err(Rejected::NothingToRepair);
                }
                let units = crafting::repair_units(used.wear, stats.durability);
                next.materials
                    .take(&[(crafting::repair_material(stats.item_type), units)])
                    .map_err(|e| Rejected::Craft(e.into()))?;
                repaired = Some(id);
                None
            }
        };
        next.next_nonce += 1;
        self.accounts.insert(a.player, next);
        if let Some(id) = repaired
            && let Some(u) = self.items.get_mut(&id)
        {
            u.wear = 0;
        }
        Ok(award)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binding;
    use alloy::signers::local::PrivateKeySigner;
    use cyteria_game::Rules;
    use cyteria_game::crafting::{RECIPES, starter_loadout};
    use cyteria_game::transcript::PlayerSlot;
    use cyteria_game::verify::PlayerOutcome;
    use ed25519_dalek::{Signer as _, SigningKey};

    const CHAIN: u64 = 80002;

    fn domain() -> Eip712Domain {
        binding::domain(CHAIN, Address::repeat_byte(1))
    }

    struct Player {
        key: SigningKey,
        wallet: PrivateKeySigner,
    }

    impl Player {
        fn new(n: u8) -> Self {
            Self {
                key: SigningKey::from_bytes(&[n; 32]),
                wallet: PrivateKeySigner::random(),
            }
        }
        /// Another game key, `n`, for this player's wallet.
        fn key_for_wallet(&self, n: u8) -> Self {
            Self {
                key: SigningKey::from_bytes(&[n; 32]),
                wallet: self.wallet.clone(),
            }
        }

        fn pk(&self) -> [u8; 32] {
            self.key.verifying_key().to_bytes()
        }
        fn binding(&self, nonce: u64) -> SignedBinding {
            binding::bind(
                &self.wallet,
                self.pk(),
                |m| self.key.sign(m).to_bytes(),
                nonce,
                &domain(),
            )
            .unwrap()
        }
        fn act(&self, nonce: u64, action: Action) -> SignedAction {
            SignedAction::new(self.pk(), nonce, (CHAIN, [1; 20]), action, |m| {
                self.key.sign(m).to_bytes()
            })
        }
    }

    /// The wallets of `players`, as bonded.
    fn bonded(players: &[&Player]) -> Bonded {
        players.iter().map(|p| p.wallet.address()).collect()
    }

    fn outcome(players: &[&Player]) -> (MatchHeader, Outcome) {
        let loadout = starter_loadout();
        let slots = players
            .iter()
            .map(|p| PlayerSlot {
                public_key: p.pk(),
                loadout,
                items: Default::default(),
            })
            .collect();
        let header = MatchHeader::new([9; 32], 1, Rules::default(), slots);
        let mut materials = Materials::default();
        materials.add(Material::Ore, 10);
        materials.add(Material::Wood, 10);
        let p = PlayerOutcome {
            xp: 40,
            kills: 3,
            materials,
            items: vec![loadout.armor.unwrap()],
            wear: [5, 0, 0],
            downed: false,
            damage_dealt: 1,
            damage_taken: 1,
        };
        let outcome = Outcome {
            frames: 10,
            end: None,
            waves_cleared: 1,
            final_checksum: cyteria_game::Checksum([0; 32]),
            players: vec![p; players.len()],
        };
        (header, outcome)
    }

    /// An epic sword minted in batch 3, and `players`' match with the first
    /// equipping it at `durability`.
    fn sword_match(
        players: &[&Player],
        durability: u16,
        n: u8,
    ) -> ([u8; 32], MatchHeader, Outcome) {
        let mut sword = starter_loadout().weapon.unwrap();
        sword.rarity = cyteria_game::item::Rarity::Epic;
        sword.damage = 60;
        sword.durability = 400;
        let id = ids::encode(&sword, 3, 0).unwrap().to_be_bytes::<32>();
        let (mut h, o) = outcome(players);
        h.match_id = [n; 32];
        h.beacon.epoch = 2;
        let seat = &mut h.players[0];
        seat.loadout.weapon = Some(ItemStats {
            durability,
            ..sword
        });
        seat.items[0] = Some(id);
        assert_eq!(ids::check_equipped(&seat.loadout, &seat.items), Ok(()));
        (id, h, o)
    }

    #[test]
    fn an_owned_item_plays_only_from_the_wallet_that_held_it_at_the_beacon_and_keeps_its_wear() {
        let (a, b) = (Player::new(1), Player::new(2));
        let bonds = bonded(&[&a, &b]);
        let mut l = Ledger::default();
        l.bind(&a.binding(1), &domain(), 1).unwrap();
        l.bind(&b.binding(1), &domain(), 1).unwrap();
        let (id, h, o) = sword_match(&[&a], 400, 1);
        let held_by = |p: &Player, epoch| Holding {
            wallet: p.wallet.address().into_array(),
            id,
            epoch,
        };
        let before = l.clone();
        for held in [
            Holdings::new(),
            [held_by(&b, 2)].into(),
            [held_by(&a, 1)].into(),
        ] {
            assert_eq!(
                l.credit_match(&h, &o, 10_000, &bonds, &held),
                Err(Rejected::NotHeld { seat: 0 }),
                "not held by the seat's wallet at its beacon: {held:?}"
            );
            assert_eq!(l, before, "a refused match changes nothing");
        }
        // Listed or at auction at the beacon: refused with its own reason,
        // whatever else held it at other epochs.
        let escrowed: Holdings = [Holding::escrow(id, 2), held_by(&a, 1)].into();
        assert_eq!(
            l.credit_match(&h, &o, 10_000, &bonds, &escrowed),
            Err(Rejected::Escrowed { seat: 0 })
        );
        assert_eq!(Rejected::Escrowed { seat: 0 }.label(), "item escrowed");
        assert_eq!(
            l.credit_match(&h, &o, 10_000, &bonds, &[Holding::escrow(id, 1)].into()),
            Err(Rejected::NotHeld { seat: 0 }),
            "escrow at another epoch says nothing of the beacon's"
        );
        assert_eq!(l, before);
        let held: Holdings = [held_by(&a, 2)].into();
        l.credit_match(&h, &o, 10_000, &bonds, &held).unwrap();
        assert_eq!(
            l.items[&id],
            ItemUse {
                wear: 5,
                busy_until_ms: 10_000
            },
            "the wear is the item's, not the account's"
        );
        assert!(l.account(&a.pk()).unwrap().wear.is_empty());
        assert!(
            l.busy_ms(&h) >= 10_000,
            "the item is busy until the match's end"
        );
        // Its next match must bring the durability the ledger left it.
        let (_, again, o2) = sword_match(&[&a], 400, 2);
        assert_eq!(
            l.credit_match(&again, &o2, 20_000, &bonds, &held),
            Err(Rejected::WornItem { seat: 0 })
        );
        let (_, worn, o2) = sword_match(&[&a], 395, 2);
        l.credit_match(&worn, &o2, 20_000, &bonds, &held).unwrap();
        assert_eq!(l.items[&id].wear, 10);
        // Sold to b, it keeps its wear; a no longer holds it.
        let (_, sold, o3) = sword_match(&[&b], 395, 3);
        let at_b: Holdings = [held_by(&b, 2)].into();
        assert_eq!(
            l.credit_match(&sold, &o3, 30_000, &bonds, &at_b),
            Err(Rejected::WornItem { seat: 0 })
        );
        let (_, sold, o3) = sword_match(&[&b], 390, 3);
        l.credit_match(&sold, &o3, 30_000, &bonds, &at_b).unwrap();
        // An unbound seat holds nothing.
        let c = Player::new(3);
        let (_, unbound, o4) = sword_match(&[&c], 390, 4);
        assert_eq!(
            l.credit_match(&unbound, &o4, 40_000, &bonds, &at_b),
            Err(Rejected::NotHeld { seat: 0 })
        );
    }

    #[test]
    fn a_match_credits_bound_seats_once_and_refuses_unbound_ones() {
        let (a, b) = (Player::new(1), Player::new(2));
        let bonds = bonded(&[&a]);
        let mut l = Ledger::default();
        l.bind(&a.binding(1), &domain(), 1).unwrap();
        let empty_root = Ledger::default().root();
        assert_eq!(empty_root, [0; 32], "the chain's genesis root");
        assert_ne!(l.root(), empty_root);
        let (h, o) = outcome(&[&a, &b]);
        let before = l.root();
        let c = l
            .credit_match(&h, &o, 0, &bonds, &Holdings::default())
            .unwrap();
        assert_ne!(l.root(), before);
        assert_eq!(c.unbound, vec![1]);
        assert_eq!(
            c.awards,
            vec![Award {
                to: a.wallet.address(),
                stats: o.players[0].items[0]
            }]
        );
        let acct = l.account(&a.pk()).unwrap();
        assert_eq!(
            (
                acct.xp,
                acct.kills,
                acct.matches,
                acct.materials.get(Material::Ore)
            ),
            (40, 3, 1, 10)
        );
        assert_eq!(acct.wear.values().copied().collect::<Vec<_>>(), vec![5]);
        assert!(l.account(&b.pk()).is_none());
        let snapshot = l.clone();
        assert_eq!(
            l.credit_match(&h, &o, 0, &bonds, &Holdings::default()),
            Err(Rejected::AlreadyCredited)
        );
        assert_eq!(l, snapshot);
        assert_eq!(Ledger::decode(&l.encode()).unwrap(), l);
    }

    #[test]
    fn an_unbonded_wallet_earns_experience_and_materials_but_no_item() {
        let (bonded_player, unbonded) = (Player::new(1), Player::new(2));
        let bonds = bonded(&[&bonded_player]);
        let mut l = Ledger::default();
        l.bind(&bonded_player.binding(1), &domain(), 1).unwrap();
        l.bind(&unbonded.binding(1), &domain(), 1).unwrap();
        let (h, o) = outcome(&[&bonded_player, &unbonded]);
        let c = l
            .credit_match(&h, &o, 0, &bonds, &Holdings::default())
            .unwrap();
        assert_eq!(c.unbonded, vec![1]);
        assert!(c.unbound.is_empty());
        assert_eq!(
            c.awards.iter().map(|a| a.to).collect::<Vec<_>>(),
            vec![bonded_player.wallet.address()],
            "only the bonded wallet's drop mints"
        );
        assert_eq!(l.awards_of(&h, &o, &bonds), 1);
        let acct = l.account(&unbonded.pk()).unwrap();
        assert_eq!((acct.xp, acct.matches), (40, 1));
        assert_eq!(acct.materials.get(Material::Ore), 10);
        // Its materials do not become items either: a craft mints, so it
        // needs the bond; a repair does not.
        let sword = Action::Craft { recipe: 0 };
        assert_eq!(
            l.apply_action(&unbonded.act(0, sword), CHAIN, &bonds),
            Err(Rejected::NotBonded)
        );
        let weapon = starter_loadout().weapon.unwrap();
        l.apply_action(
            &unbonded.act(0, Action::Repair { item: weapon }),
            CHAIN,
            &bonds,
        )
        .unwrap();
    }

    #[test]
    fn an_equivocation_slashes_every_bonded_wallet_of_its_key_once() {
        use crate::evidence::tests::equivocation;
        let cheat = Player::new(41);
        let mut l = Ledger::default();
        let ev = equivocation(&cheat.key, [[1; 32], [2; 32]]);
        let bonds = bonded(&[&cheat]);
        assert_eq!(l.slash(&ev, &bonds), Err(Rejected::NothingToSlash));
        l.bind(&cheat.binding(1), &domain(), 1).unwrap();
        // The cheat moves its key to a fresh wallet before the evidence
        // lands: the bonded one stays liable.
        let fresh = Player {
            key: cheat.key.clone(),
            wallet: PrivateKeySigner::random(),
        };
        l.bind(&fresh.binding(2), &domain(), 1).unwrap();
        let before = l.root();
        assert_eq!(l.slash(&ev, &bonds), Ok(vec![cheat.wallet.address()]));
        assert_ne!(l.root(), before, "the offence is in the state root");
        assert_eq!(l.slash(&ev, &bonds), Err(Rejected::AlreadySlashed));
        let other_frame = equivocation(&cheat.key, [[3; 32], [4; 32]]);
        assert_eq!(
            l.slash(&other_frame, &bonds),
            Err(Rejected::AlreadySlashed),
            "one offence per key and match"
        );
        let mut forged = ev.clone();
        forged.seat = 0;
        assert_eq!(
            l.slash(&forged, &bonds).unwrap_err().label(),
            "bad evidence"
        );
        // No rebinding spree empties the list of liable wallets.
        for n in 3..3 + MAX_FORMER_WALLETS as u64 {
            let next = Player {
                key: cheat.key.clone(),
                wallet: PrivateKeySigner::random(),
            };
            if n < 2 + MAX_FORMER_WALLETS as u64 {
                l.bind(&next.binding(n), &domain(), 1).unwrap();
            } else {
                assert_eq!(
                    l.bind(&next.binding(n), &domain(), 1),
                    Err(Rejected::TooManyWallets)
                );
            }
        }
        assert!(
            l.account(&cheat.pk())
                .unwrap()
                .liable(0)
                .contains(&cheat.wallet.address())
        );
        // A wallet the key left before a match's beacon is not liable for it.
        use crate::evidence::tests::equivocation_at;
        let later = equivocation_at(
            &cheat.key,
            [[5; 32], [6; 32]],
            cyteria_game::transcript::Beacon {
                deployment: Default::default(),
                epoch: 2,
                root: [2; 32],
            },
        );
        assert_eq!(l.slash(&later, &bonds), Err(Rejected::NothingToSlash));
    }

    #[test]
    fn a_key_with_no_room_for_former_wallets_cannot_give_its_wallet_away() {
        // The cheat fills its key's list with empty wallets, binds the key to
        // its bonded wallet, equivocates, then binds a fresh key to that
        // wallet: the wallet would be liable to no key.
        let cheat = Player::new(42);
        let mut l = Ledger::default();
        for n in 1..=MAX_FORMER_WALLETS as u64 {
            let empty = Player {
                key: cheat.key.clone(),
                wallet: PrivateKeySigner::random(),
            };
            l.bind(&empty.binding(n), &domain(), 1).unwrap();
        }
        l.bind(&cheat.binding(100), &domain(), 1).unwrap();
        assert_eq!(
            l.account(&cheat.pk()).unwrap().former.len(),
            MAX_FORMER_WALLETS
        );
        let fresh = cheat.key_for_wallet(43);
        assert_eq!(
            l.bind(&fresh.binding(1), &domain(), 2),
            Err(Rejected::TooManyWallets)
        );
        assert_eq!(l.key_of(cheat.wallet.address()), Some(cheat.pk()));
    }

    #[test]
    fn actions_need_a_binding_the_next_nonce_and_the_materials() {
        let a = Player::new(1);
        let bonds = bonded(&[&a]);
        let mut l = Ledger::default();
        let sword = Action::Craft { recipe: 0 };
        assert_eq!(
            l.apply_action(&a.act(0, sword), CHAIN, &bonds),
            Err(Rejected::Unbound)
        );
        l.bind(&a.binding(1), &domain(), 1).unwrap();
        let poor = l.apply_action(&a.act(0, sword), CHAIN, &bonds).unwrap_err();
        assert_eq!(poor.label(), "insufficient materials");
        let (h, o) = outcome(&[&a]);
        l.credit_match(&h, &o, 0, &bonds, &Holdings::default())
            .unwrap();
        let crafted = l
            .apply_action(&a.act(0, sword), CHAIN, &bonds)
            .unwrap()
            .unwrap();
        assert_eq!(crafted.stats.item_type, RECIPES[0].item_type);
        assert_eq!(l.account(&a.pk()).unwrap().materials.get(Material::Ore), 6);
        let snapshot = l.clone();
        assert_eq!(
            l.apply_action(&a.act(0, sword), CHAIN, &bonds)
                .unwrap_err()
                .label(),
            "replayed"
        );
        assert_eq!(
            l.apply_action(&a.act(5, sword), CHAIN, &bonds)
                .unwrap_err()
                .label(),
            "nonce gap"
        );
        assert_eq!(
            l.apply_action(&a.act(1, sword), 137, &bonds)
                .unwrap_err()
                .label(),
            "wrong chain"
        );
        let mut forged = a.act(1, sword);
        forged.action = Action::Craft { recipe: 1 };
        assert_eq!(
            l.apply_action(&forged, CHAIN, &bonds).unwrap_err().label(),
            "bad signature"
        );
        assert_eq!(l, snapshot, "rejected actions change nothing");
        // The same action crafts the same item on every validator.
        let mut other = snapshot.clone();
        let again = other.apply_action(&a.act(1, sword), CHAIN, &bonds).unwrap();
        assert_eq!(
            l.apply_action(&a.act(1, sword), CHAIN, &bonds).unwrap(),
            again
        );
    }

    #[test]
    fn repairs_pay_for_recorded_wear_and_clear_it() {
        let a = Player::new(1);
        let bonds = bonded(&[&a]);
        let mut l = Ledger::default();
        l.bind(&a.binding(1), &domain(), 1).unwrap();
        let (h, o) = outcome(&[&a]);
        l.credit_match(&h, &o, 0, &bonds, &Holdings::default())
            .unwrap();
        let weapon = starter_loadout().weapon.unwrap();
        let armor = starter_loadout().armor.unwrap();
        assert_eq!(
            l.apply_action(&a.act(0, Action::Repair { item: armor }), CHAIN, &bonds),
            Err(Rejected::NothingToRepair)
        );
        let ore = l.account(&a.pk()).unwrap().materials.get(Material::Ore);
        l.apply_action(&a.act(0, Action::Repair { item: weapon }), CHAIN, &bonds)
            .unwrap();
        let acct = l.account(&a.pk()).unwrap();
        assert!(acct.wear.is_empty());
        assert!(acct.materials.get(Material::Ore) < ore);
        assert_eq!(acct.next_nonce, 1);
    }

    #[test]
    fn an_owned_item_is_repaired_by_its_id_for_its_recorded_wear() {
        let (a, b) = (Player::new(1), Player::new(2));
        let bonds = bonded(&[&a, &b]);
        let mut l = Ledger::default();
        l.bind(&a.binding(1), &domain(), 1).unwrap();
        l.bind(&b.binding(1), &domain(), 1).unwrap();
        let (id, h, o) = sword_match(&[&a], 400, 1);
        let held = [Holding {
            wallet: a.wallet.address().into_array(),
            id,
            epoch: 2,
        }]
        .into();
        // Unworn: nothing to repair, and nothing is paid.
        let repair = |p: &Player, nonce| p.act(nonce, Action::RepairItem { id });
        assert_eq!(
            l.apply_action(&repair(&b, 0), CHAIN, &bonds),
            Err(Rejected::NothingToRepair)
        );
        l.credit_match(&h, &o, 10_000, &bonds, &held).unwrap();
        assert_eq!(l.items[&id].wear, 5);
        // Without ore, refused and nothing changes.
        let before = l.clone();
        assert_eq!(
            l.apply_action(&repair(&b, 0), CHAIN, &bonds)
                .unwrap_err()
                .label(),
            "insufficient materials"
        );
        assert_eq!(l, before);
        // b pays one unit of ore (5 points of wear) to repair a's sword.
        l.accounts
            .get_mut(&b.pk())
            .unwrap()
            .materials
            .add(Material::Ore, 2);
        l.apply_action(&repair(&b, 0), CHAIN, &bonds).unwrap();
        assert_eq!(l.items[&id].wear, 0);
        assert_eq!(l.items[&id].busy_until_ms, 10_000, "still busy as before");
        assert_eq!(l.account(&b.pk()).unwrap().materials.get(Material::Ore), 1);
        assert_eq!(l.account(&b.pk()).unwrap().next_nonce, 1);
        // The full durability plays again.
        let (_, again, o2) = sword_match(&[&a], 400, 2);
        l.credit_match(&again, &o2, 20_000, &bonds, &held).unwrap();
        // A token id that is no item is refused.
        assert_eq!(
            l.apply_action(
                &b.act(1, Action::RepairItem { id: [0xFF; 32] }),
                CHAIN,
                &bonds
            ),
            Err(Rejected::NothingToRepair)
        );
    }

    #[test]
    fn bindings_need_both_signatures_and_a_higher_nonce_to_change() {
        let a = Player::new(1);
        let mut l = Ledger::default();
        let mut bad = a.binding(1);
        bad.nonce = 2;
        assert_eq!(
            l.bind(&bad, &domain(), 1).unwrap_err().label(),
            "bad binding"
        );
        l.bind(&a.binding(2), &domain(), 1).unwrap();
        assert_eq!(
            l.bind(&a.binding(2), &domain(), 1).unwrap_err().label(),
            "stale binding"
        );
        // The owner moves the key to a new wallet: both keys sign.
        let moved = Player {
            key: a.key.clone(),
            wallet: PrivateKeySigner::random(),
        };
        l.bind(&moved.binding(3), &domain(), 1).unwrap();
        assert_eq!(
            l.account(&a.pk()).unwrap().wallet(),
            Some(moved.wallet.address())
        );
        assert_eq!(l.key_of(moved.wallet.address()), Some(a.pk()));
        assert_eq!(l.key_of(a.wallet.address()), None);
    }

    #[test]
    fn a_third_party_cannot_bind_a_victims_key_and_no_nonce_locks_the_owner_out() {
        let victim = Player::new(1);
        let thief = Player::new(2);
        let mut l = Ledger::default();
        // The thief's wallet over the victim's public key, signed with the
        // thief's own game key (it has no other), at the highest nonce.
        let mut forged = binding::bind(
            &thief.wallet,
            victim.pk(),
            |m| thief.key.sign(m).to_bytes(),
            u64::MAX,
            &domain(),
        )
        .unwrap();
        assert_eq!(
            l.bind(&forged, &domain(), 1).unwrap_err().label(),
            "binding not signed by the game key"
        );
        forged.key_signature = Default::default();
        assert_eq!(
            l.bind(&forged, &domain(), 1).unwrap_err().label(),
            "binding not signed by the game key"
        );
        assert_eq!(l.account(&victim.pk()), None);
        // The owner signing u64::MAX is refused too, so no binding ever
        // leaves a key with no nonce above it.
        assert_eq!(
            l.bind(&victim.binding(u64::MAX), &domain(), 1)
                .unwrap_err()
                .label(),
            "binding nonce too far ahead"
        );
        // A clock's nonce binds, and the owner rebinds after it.
        l.bind(&victim.binding(1_800_000_000), &domain(), 1)
            .unwrap();
        l.bind(&victim.binding(1_800_000_100), &domain(), 1)
            .unwrap();
        assert_eq!(
            l.account(&victim.pk()).unwrap().wallet(),
            Some(victim.wallet.address())
        );
    }

    #[test]
    fn a_wallet_holds_one_game_key_at_a_time() {
        let first = Player::new(1);
        let bonds = bonded(&[&first]);
        let second = first.key_for_wallet(2);
        let mut l = Ledger::default();
        l.bind(&first.binding(1), &domain(), 1).unwrap();
        l.bind(&second.binding(1), &domain(), 1).unwrap();
        assert_eq!(l.key_of(first.wallet.address()), Some(second.pk()));
        assert_eq!(l.account(&first.pk()).unwrap().wallet(), None);
        // The first key is unbound now: its match rewards are refused.
        let (h, o) = outcome(&[&first]);
        assert_eq!(
            l.credit_match(&h, &o, 0, &bonds, &Holdings::default())
                .unwrap()
                .unbound,
            vec![0]
        );
    }

    #[test]
    fn a_wallet_takes_its_played_time_to_a_new_key() {
        let first = Player::new(1);
        let bonds = bonded(&[&first]);
        let second = first.key_for_wallet(2);
        let mut l = Ledger::default();
        l.bind(&first.binding(1), &domain(), 1).unwrap();
        let (h, o) = outcome(&[&first]);
        l.credit_match(&h, &o, 5_000, &bonds, &Holdings::default())
            .unwrap();
        assert_eq!(
            l.busy_ms(&h),
            5_000,
            "the bound seat is busy until the match's end"
        );
        // A fresh key for the same wallet does not reopen that time.
        l.bind(&second.binding(1), &domain(), 1).unwrap();
        assert_eq!(l.account(&second.pk()).unwrap().busy_until_ms, 5_000);
        let (h2, _) = outcome(&[&second]);
        assert_eq!(l.busy_ms(&h2), 5_000);
        // An unbound key's time does not count: it earns nothing.
        assert_eq!(l.busy_ms(&h), 0);

        // Nor does moving keys around reopen the wallet's time: the first
        // key goes to a throwaway wallet, a fresh key to the played one.
        let throwaway = Player {
            key: SigningKey::from_bytes(&[1; 32]),
            wallet: PrivateKeySigner::random(),
        };
        l.bind(&throwaway.binding(2), &domain(), 1).unwrap();
        let fresh = first.key_for_wallet(3);
        l.bind(&fresh.binding(1), &domain(), 1).unwrap();
        let (h3, _) = outcome(&[&fresh]);
        assert_eq!(l.busy_ms(&h3), 5_000, "the wallet is still busy");
    }
}
