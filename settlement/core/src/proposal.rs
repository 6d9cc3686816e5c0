//! A batch proposal: the data of one epoch (bindings, verified transcripts,
//! signed actions, in order), what applying it to the ledger gives (the new
//! state root and the items to mint), and the [`Batch`] validators sign.
//!
//! The leader [`build`]s a proposal from candidates, leaving out those the
//! ledger refuses; every other validator [`apply`]s the same data strictly
//! and signs only if it arrives at the same batch. Both are pure: the
//! transcripts' outcomes come from the caller's re-simulation.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::Eip712Domain;
use cyteria_game::codec::{DecodeError, Format};
use cyteria_game::item::ItemStats;
use cyteria_game::transcript::MatchHeader;
use cyteria_game::verify::Outcome;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::action::SignedAction;
use crate::batch::{self, Batch, Mint, Slash};
use crate::binding::SignedBinding;
use crate::evidence::Equivocation;
use crate::ids;
use crate::ledger::{Award, Bonded, Holding, Holdings, Ledger, Rejected};
use crate::provenance::{ChainTime, Reference};

/// A transcript in a batch: the content id it is fetched by, and its match.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TranscriptRef {
    /// The id of the match it records.
    pub match_id: [u8; 32],
    /// The content id it is fetched by.
    pub cid: String,
}

/// Everything a batch applies, in the order it applies it. Its content id is
/// the `dataCid` settled on chain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchData {
    /// The epoch it settles.
    pub epoch: u64,
    /// The state root of the ledger it applies to.
    pub prev_root: [u8; 32],
    /// Wallet bindings, applied first.
    pub bindings: Vec<SignedBinding>,
    /// Verified transcripts, credited after the bindings.
    pub transcripts: Vec<TranscriptRef>,
    /// Signed actions, applied after the transcripts.
    pub actions: Vec<SignedAction>,
    /// Players' equivocations, applied last: each slashes bonds.
    pub evidence: Vec<Equivocation>,
    /// The block the batch is judged at: matches are credited only once
    /// its time has passed their end.
    pub reference: Reference,
    /// Every owned item whose recorded wear this batch changed, with its
    /// wear after the batch, by token id ([`wear_changes`]). A follower
    /// refuses data whose list differs from what applying it gives, so a
    /// player's node, reading only settled batch data, knows each item's
    /// wear as the quorum-signed ledger holds it (an item bought used, or
    /// repaired) without re-simulating a match.
    pub wear: Vec<ItemWear>,
}

/// An owned item's wear as a batch leaves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ItemWear {
    /// The item's token id, big-endian.
    pub id: [u8; 32],
    /// The durability it has lost in credited matches since its last repair.
    pub wear: u32,
}

/// The items whose wear differs between `prev` and `next`, with their wear
/// in `next`, by token id.
pub fn wear_changes(prev: &Ledger, next: &Ledger) -> Vec<ItemWear> {
    next.items
        .iter()
        .filter(|(id, u)| prev.items.get(*id).map(|p| p.wear) != Some(u.wear))
        .map(|(id, u)| ItemWear {
            id: *id,
            wear: u.wear,
        })
        .collect()
}

/// Batch data's encoding.
pub const BATCH_DATA: Format = Format {
    name: "batch data",
    magic: *b"CYBD",
    version: 7,
    max_bytes: 4 << 20,
};

/// Items one batch mints at most. Gas bounds it: the worst batch, this many
/// items each to its own receiver (half of them burning the gas their
/// delivery may use) with `MAX_SLASHES` slashes, must stay well under
/// Polygon's per-transaction cap (EIP-7825: 16,777,216 gas), and an honest
/// batch of this many receivers within `Settlement.DELIVERY_BUDGET`
/// (`contracts/test/Settlement.t.sol`; figures in `docs/performance.md`).
/// What does not fit waits for the next epoch.
pub const MAX_ITEMS: usize = 192;

/// Bonds one batch slashes at most (each carries its evidence, up to 4 KiB,
/// in calldata: 64 KiB at most, half the usual transaction size limit);
/// evidence that does not fit waits for the next epoch.
pub const MAX_SLASHES: usize = 16;

impl BatchData {
    /// The data in the `BATCH_DATA` encoding.
    pub fn encode(&self) -> Vec<u8> {
        BATCH_DATA.encode(self)
    }

    /// Decodes batch data from the `BATCH_DATA` encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        BATCH_DATA.decode(bytes)
    }

    /// The wallets whose bond applying this data to `prev` can depend on
    /// ([`wallets_touched`]), with the seats of its transcripts as `verified` holds them.
    pub fn wallets_touched(&self, prev: &Ledger, verified: &Verified) -> BTreeSet<Address> {
        let seats = self
            .transcripts
            .iter()
            .filter_map(|t| outcome_of(verified, t))
            .flat_map(|(h, _)| h.players.iter().map(|s| s.public_key));
        let offenders = self.evidence.iter().filter_map(Equivocation::offender);
        wallets_touched(
            prev,
            &self.bindings,
            seats
                .chain(self.actions.iter().map(|a| a.player))
                .chain(offenders),
        )
    }

    /// The holdings applying this data can depend on ([`holdings_needed`]).
    pub fn holdings_needed(&self, prev: &Ledger, verified: &Verified) -> BTreeSet<Holding> {
        let headers = self
            .transcripts
            .iter()
            .filter_map(|t| outcome_of(verified, t))
            .map(|(h, _)| h);
        holdings_needed(prev, &self.bindings, headers)
    }

    /// Whether the data holds no binding, transcript or action.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
            && self.transcripts.is_empty()
            && self.actions.is_empty()
            && self.evidence.is_empty()
    }
}

/// A minted item and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MintedItem {
    /// The wallet it mints to.
    pub to: Address,
    /// Its token id, numbered with the batch's epoch and its index in the batch.
    pub id: U256,
    /// Its stats, as the id encodes them.
    pub stats: ItemStats,
}

/// The result of applying batch data to a ledger.
#[derive(Clone, Debug)]
pub struct Applied {
    /// The ledger after the batch.
    pub ledger: Ledger,
    /// The items the batch mints, in the order they were awarded.
    pub items: Vec<MintedItem>,
    /// The contract's form of `items`: grouped by receiver, receivers in address order.
    pub mints: Vec<Mint>,
    /// Seats whose match rewards were refused for want of a binding: (match id, seat).
    pub unbound: Vec<([u8; 32], u8)>,
    /// (match id, seat) of bound seats whose drops were not minted: their
    /// wallet held no bond at the reference block.
    pub unbonded: Vec<([u8; 32], u8)>,
    /// The bonds the batch slashes, with the evidence of each.
    pub slashes: Vec<Slash>,
}

impl Applied {
    /// The batch to sign for this result in `round` of its epoch, with
    /// `data_cid` the content id of the data and `metadata_cid` that of the
    /// minted items' metadata directory (empty when nothing is minted).
    pub fn batch(&self, data: &BatchData, round: u32, data_cid: &str, metadata_cid: &str) -> Batch {
        Batch {
            epoch: data.epoch,
            round,
            prevRoot: B256::from(data.prev_root),
            newRoot: B256::from(self.ledger.root()),
            dataCid: data_cid.to_string(),
            metadataCid: metadata_cid.to_string(),
            mintsHash: batch::mints_hash(&self.mints),
            slashesHash: batch::slashes_hash(&self.slashes),
        }
    }
}

/// Why a validator refuses a proposal's batch data.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ProposalError {
    /// The data is for another epoch than the one expected.
    #[error("epoch {got}, expected {expected}")]
    WrongEpoch {
        /// The data's epoch.
        got: u64,
        /// The epoch after the ledger's.
        expected: u64,
    },
    /// The data's `prev_root` is not the ledger's root.
    #[error("the proposal builds on another state root")]
    WrongPrevRoot,
    /// A transcript, named by its content id, has no verified outcome here.
    #[error("transcript {0} has not been verified here")]
    UnverifiedTranscript(String),
    /// The ledger refused one of the data's entries.
    #[error("{what} refused: {reason}")]
    Refused {
        /// The entry, in words.
        what: String,
        /// Why the ledger refused it.
        reason: Rejected,
    },
    /// The batch would mint more than `MAX_ITEMS` items.
    #[error("more than {MAX_ITEMS} items in one batch")]
    TooManyItems,
    /// The batch names more evidence than `MAX_SLASHES`.
    #[error("more than {MAX_SLASHES} slashes in one batch")]
    TooManySlashes,
    /// The data's wear list is not the wear applying it changes.
    #[error("the batch's wear list is not what applying it gives")]
    WrongWear,
}

/// The wallets whose bond can matter to a batch of `bindings` and of
/// matches, actions and equivocations by `keys`, applied to `prev`: each
/// key's wallets in `prev` (bound and liable, [`crate::ledger::Account::liable`])
/// and every wallet a binding names. The leader reads the bonds of
/// those of all its candidates, a follower those of the batch's data; both
/// at the batch's reference block, so a wallet's standing is the same fact
/// on both sides.
pub fn wallets_touched(
    prev: &Ledger,
    bindings: &[SignedBinding],
    keys: impl IntoIterator<Item = [u8; 32]>,
) -> BTreeSet<Address> {
    let mut out: BTreeSet<Address> = bindings.iter().map(|b| b.wallet).collect();
    out.extend(
        keys.into_iter()
            .filter_map(|k| prev.account(&k))
            .flat_map(|a| a.liable(0)),
    );
    out
}

/// The [`Holding`]s crediting the matches of `headers` after `bindings` can
/// depend on: for each seat that equips an owned item, the item at the
/// seat key's wallet now and at every wallet a binding in the batch gives
/// it, at the match's beacon, and whether the item sat in escrow then
/// ([`Holding::escrow`]).
pub fn holdings_needed<'h>(
    prev: &Ledger,
    bindings: &[SignedBinding],
    headers: impl IntoIterator<Item = &'h MatchHeader>,
) -> BTreeSet<Holding> {
    let mut out = BTreeSet::new();
    for h in headers {
        for slot in &h.players {
            let wallets: BTreeSet<[u8; 20]> = prev
                .account(&slot.public_key)
                .and_then(|a| a.wallet)
                .into_iter()
                .chain(
                    bindings
                        .iter()
                        .filter(|b| b.game_key == slot.public_key)
                        .map(|b| b.wallet.into_array()),
                )
                .collect();
            for id in slot.items.iter().flatten() {
                out.extend(wallets.iter().map(|w| Holding {
                    wallet: *w,
                    id: *id,
                    epoch: h.beacon.epoch,
                }));
                // Only to tell a seller whose item was listed why the match
                // was refused; it never makes a match credited.
                if !wallets.is_empty() {
                    out.insert(Holding::escrow(*id, h.beacon.epoch));
                }
            }
        }
    }
    out
}

/// Re-simulated outcomes of verified transcripts, by the content id of the
/// transcript. A batch names each transcript by its CID and a follower
/// applies exactly that one: two versions of one match (a prefix cut at a
/// checkpoint, say) are two entries, never confused.
pub type Verified = BTreeMap<String, (MatchHeader, Outcome)>;

/// The outcome of the transcript `t` names, when it was verified and is the
/// match `t` says it is.
fn outcome_of<'a>(verified: &'a Verified, t: &TranscriptRef) -> Option<&'a (MatchHeader, Outcome)> {
    verified
        .get(&t.cid)
        .filter(|(header, _)| header.match_id == t.match_id)
}

/// What the ledger needs from the chain and the verifier.
pub struct Context<'a> {
    /// The chain actions must be signed for.
    pub chain_id: u64,
    /// The EIP-712 domain wallet bindings must be signed in.
    pub binding_domain: &'a Eip712Domain,
    /// Outcomes of the transcripts this validator has re-simulated.
    pub verified: &'a Verified,
    /// The settled epochs and tick rate matches are placed in time by.
    pub chain: &'a ChainTime,
    /// The wallets bonded at the batch's reference block, of those
    /// [`wallets_touched`] names (the leader's head; a follower reads the
    /// data's reference block).
    pub bonded: &'a Bonded,
    /// The owned items the chain confirmed the seats' wallets held at their
    /// matches' beacons, of those [`holdings_needed`] names.
    pub held: &'a Holdings,
}

/// A candidate the leader left out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftOut {
    /// The candidate left out.
    pub entry: Entry,
    /// Why the ledger refused it.
    pub reason: Rejected,
}

/// Which candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A binding of this game key.
    Binding([u8; 32]),
    /// The transcript of this match.
    Transcript([u8; 32]),
    /// The action of this player with this nonce.
    Action([u8; 32], u64),
    /// The equivocation of this offence ([`Equivocation::offence`]).
    Evidence([u8; 32]),
}

impl Entry {
    /// The candidate's kind ("binding", "transcript" or "action"), as metrics label it.
    pub fn channel(&self) -> &'static str {
        match self {
            Entry::Binding(_) => "binding",
            Entry::Transcript(_) => "transcript",
            Entry::Action(..) => "action",
            Entry::Evidence(_) => "evidence",
        }
    }
}

/// A batch's candidates, in any order.
#[derive(Clone, Debug, Default)]
pub struct Candidates {
    /// Wallet bindings.
    pub bindings: Vec<SignedBinding>,
    /// Transcripts (their outcomes in [`Context::verified`]).
    pub transcripts: Vec<TranscriptRef>,
    /// Signed actions.
    pub actions: Vec<SignedAction>,
    /// Players' equivocations.
    pub evidence: Vec<Equivocation>,
}

/// Builds the next batch's data from candidates: bindings first, then
/// transcripts by match id, then actions by (player, nonce), then evidence
/// by offence; anything the ledger refuses is left out and reported.
pub fn build(
    prev: &Ledger,
    epoch: u64,
    candidates: Candidates,
    cx: &Context<'_>,
) -> (BatchData, Applied, Vec<LeftOut>) {
    let Candidates {
        mut bindings,
        mut transcripts,
        mut actions,
        mut evidence,
    } = candidates;
    bindings.sort_by_key(|b| (b.game_key, b.nonce));
    transcripts.sort();
    transcripts.dedup_by_key(|t| t.match_id);
    actions.sort_by_key(|a| (a.player, a.nonce));
    evidence.sort_by_key(Equivocation::offence);
    let mut data = BatchData {
        epoch,
        prev_root: prev.root(),
        reference: cx.chain.head,
        ..Default::default()
    };
    let mut run = Run::new(prev);
    let mut left_out = vec![];
    for b in bindings {
        match run.ledger.bind(&b, cx.binding_domain, epoch) {
            Ok(()) => data.bindings.push(b),
            Err(reason) => left_out.push(LeftOut {
                entry: Entry::Binding(b.game_key),
                reason,
            }),
        }
    }
    for t in in_wear_order(transcripts, cx.verified) {
        let Some((header, outcome)) = outcome_of(cx.verified, &t) else {
            continue;
        };
        // `apply` refuses a batch over MAX_ITEMS: a match whose drops do
        // not fit waits for the next epoch (the leader used to propose what
        // every follower had to refuse).
        if run.items.len() + run.ledger.awards_of(header, outcome, cx.bonded) > MAX_ITEMS {
            left_out.push(LeftOut {
                entry: Entry::Transcript(t.match_id),
                reason: Rejected::BatchFull,
            });
            continue;
        }
        match run.credit(header, outcome, cx, epoch, &data.reference) {
            Ok(()) => data.transcripts.push(t),
            Err(reason) => left_out.push(LeftOut {
                entry: Entry::Transcript(t.match_id),
                reason,
            }),
        }
    }
    for a in actions {
        if run.items.len() >= MAX_ITEMS {
            break;
        }
        match run.act(&a, cx) {
            Ok(()) => data.actions.push(a),
            Err(reason) => left_out.push(LeftOut {
                entry: Entry::Action(a.player, a.nonce),
                reason,
            }),
        }
    }
    let mut slashed = BTreeSet::new();
    for ev in evidence {
        let offence = ev.offence();
        let entry = Entry::Evidence(offence);
        // Copies of evidence already in the batch (one per relaying player).
        if slashed.contains(&offence) {
            continue;
        }
        match run.slash(&ev, cx) {
            Ok(()) => {
                slashed.insert(offence);
                data.evidence.push(ev);
            }
            Err(reason) => left_out.push(LeftOut { entry, reason }),
        }
    }
    let applied = run.finish(epoch);
    data.wear = wear_changes(prev, &applied.ledger);
    (data, applied, left_out)
}

/// The owned items a verified match's seats bring, with the durability
/// each claims.
fn claims(verified: &Verified, t: &TranscriptRef) -> Vec<([u8; 32], u16)> {
    let Some((header, _)) = outcome_of(verified, t) else {
        return vec![];
    };
    header
        .players
        .iter()
        .flat_map(|p| {
            let l = &p.loadout;
            [l.weapon, l.armor, l.tool].into_iter().zip(p.items)
        })
        .filter_map(|(item, id)| Some((id?, item?.durability)))
        .collect()
}

/// `transcripts` (sorted by match id) in the order their owned items wore:
/// matches that one item played one after the other claim less durability
/// each time, and credited by match id a later one could come first and
/// leave the earlier one `worn`. Each match comes after every match that
/// claims more durability of an item it brings; matches without owned
/// items keep their order, first.
fn in_wear_order(transcripts: Vec<TranscriptRef>, verified: &Verified) -> Vec<TranscriptRef> {
    let (mut owned, mut out): (Vec<_>, Vec<_>) = transcripts
        .into_iter()
        .map(|t| (claims(verified, &t), t))
        .partition(|(c, _)| !c.is_empty());
    let mut ordered = Vec::with_capacity(out.len() + owned.len());
    ordered.extend(out.drain(..).map(|(_, t)| t));
    while !owned.is_empty() {
        let first_free = owned.iter().position(|(mine, _)| {
            mine.iter().all(|(id, d)| {
                !owned
                    .iter()
                    .any(|(other, _)| other.iter().any(|(i, e)| i == id && e > d))
            })
        });
        // A cycle (no honest run of matches makes one): by match id.
        let (_, t) = owned.remove(first_free.unwrap_or(0));
        ordered.push(t);
    }
    ordered
}

/// Applies `data` to `prev` strictly: every entry must apply.
pub fn apply(prev: &Ledger, data: &BatchData, cx: &Context<'_>) -> Result<Applied, ProposalError> {
    if data.prev_root != prev.root() {
        return Err(ProposalError::WrongPrevRoot);
    }
    cx.chain
        .check_reference(&data.reference, data.epoch)
        .map_err(|reason| ProposalError::Refused {
            what: format!("reference block {}", data.reference.block),
            reason,
        })?;
    let mut run = Run::new(prev);
    for b in &data.bindings {
        run.ledger
            .bind(b, cx.binding_domain, data.epoch)
            .map_err(|reason| ProposalError::Refused {
                what: format!("binding of {}", hex(&b.game_key)),
                reason,
            })?;
    }
    for t in &data.transcripts {
        let (header, outcome) = outcome_of(cx.verified, t)
            .ok_or_else(|| ProposalError::UnverifiedTranscript(t.cid.clone()))?;
        run.credit(header, outcome, cx, data.epoch, &data.reference)
            .map_err(|reason| ProposalError::Refused {
                what: format!("match {}", hex(&t.match_id)),
                reason,
            })?;
    }
    for a in &data.actions {
        run.act(a, cx).map_err(|reason| ProposalError::Refused {
            what: describe(a),
            reason,
        })?;
    }
    if data.evidence.len() > MAX_SLASHES {
        return Err(ProposalError::TooManySlashes);
    }
    for ev in &data.evidence {
        run.slash(ev, cx).map_err(|reason| ProposalError::Refused {
            what: format!(
                "evidence against {}",
                hex(&ev.offender().unwrap_or_default())
            ),
            reason,
        })?;
    }
    if run.items.len() > MAX_ITEMS {
        return Err(ProposalError::TooManyItems);
    }
    let applied = run.finish(data.epoch);
    if data.wear != wear_changes(prev, &applied.ledger) {
        return Err(ProposalError::WrongWear);
    }
    Ok(applied)
}

struct Run {
    ledger: Ledger,
    items: Vec<Award>,
    unbound: Vec<([u8; 32], u8)>,
    unbonded: Vec<([u8; 32], u8)>,
    slashes: Vec<Slash>,
    slashed_keys: BTreeSet<[u8; 32]>,
}

impl Run {
    fn new(prev: &Ledger) -> Self {
        Self {
            ledger: prev.clone(),
            items: vec![],
            unbound: vec![],
            unbonded: vec![],
            slashes: vec![],
            slashed_keys: BTreeSet::new(),
        }
    }

    /// Places the match in its players' time, then credits it.
    fn credit(
        &mut self,
        header: &MatchHeader,
        outcome: &Outcome,
        cx: &Context<'_>,
        epoch: u64,
        reference: &Reference,
    ) -> Result<(), Rejected> {
        if self.ledger.credited.contains(&header.match_id) {
            return Err(Rejected::AlreadyCredited);
        }
        let busy = self.ledger.busy_ms(header);
        let slot = cx
            .chain
            .place(header, outcome.frames, busy, epoch, reference)?;
        let c = self
            .ledger
            .credit_match(header, outcome, slot.end_ms, cx.bonded, cx.held)?;
        self.items.extend(c.awards);
        self.unbound
            .extend(c.unbound.into_iter().map(|s| (header.match_id, s)));
        self.unbonded
            .extend(c.unbonded.into_iter().map(|s| (header.match_id, s)));
        Ok(())
    }

    /// Slashes every liable bonded wallet of the evidence's key, once per
    /// offence. The match's beacon must be one the chain settled recently
    /// (no evidence for a match invented long after); a key's second
    /// offence, a wallet already slashed here, or more than `MAX_SLASHES`
    /// bonds wait for a later batch.
    fn slash(&mut self, ev: &Equivocation, cx: &Context<'_>) -> Result<(), Rejected> {
        let beacon = ev.header.beacon;
        if beacon.deployment != cx.chain.deployment {
            // another deployment's match (two share epoch 0's zero root)
            return Err(Rejected::WrongBeacon);
        }
        match cx.chain.epochs.get(&beacon.epoch) {
            None => return Err(Rejected::StaleBeacon),
            Some(s) if s.root != beacon.root => return Err(Rejected::WrongBeacon),
            Some(_) => {}
        }
        let wallets = self.ledger.slash_targets(ev, cx.bonded)?;
        let key = ev.offender().unwrap_or_default();
        if self.slashed_keys.contains(&key)
            || wallets
                .iter()
                .any(|w| self.slashes.iter().any(|s| s.player == *w))
            || self.slashes.len() + wallets.len() > MAX_SLASHES
        {
            return Err(Rejected::BatchFull);
        }
        self.ledger.slashed.insert(ev.offence());
        self.slashed_keys.insert(key);
        let evidence = alloy::primitives::Bytes::from(ev.encode());
        self.slashes.extend(wallets.into_iter().map(|player| Slash {
            player,
            evidence: evidence.clone(),
        }));
        Ok(())
    }

    fn act(&mut self, a: &SignedAction, cx: &Context<'_>) -> Result<(), Rejected> {
        // The deployment is the bindings' verifying contract: Settlement.
        if cx.binding_domain.verifying_contract.map(|c| c.0.0) != Some(a.settlement) {
            return Err(Rejected::WrongDeployment);
        }
        self.items
            .extend(self.ledger.apply_action(a, cx.chain_id, cx.bonded)?);
        Ok(())
    }

    /// Numbers the awards (`ids::encode(stats, epoch, index)`) and groups them by receiver.
    fn finish(self, epoch: u64) -> Applied {
        let items: Vec<MintedItem> = self
            .items
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                Some(MintedItem {
                    to: a.to,
                    id: ids::encode(&a.stats, epoch, i as u16)?,
                    stats: a.stats,
                })
            })
            .collect();
        let mut by_owner: BTreeMap<Address, Vec<U256>> = BTreeMap::new();
        for it in &items {
            by_owner.entry(it.to).or_default().push(it.id);
        }
        let mints = by_owner
            .into_iter()
            .map(|(to, ids)| Mint {
                to,
                amounts: vec![U256::from(1); ids.len()],
                ids,
            })
            .collect();
        Applied {
            ledger: self.ledger,
            items,
            mints,
            unbound: self.unbound,
            unbonded: self.unbonded,
            slashes: self.slashes,
        }
    }
}

fn describe(a: &SignedAction) -> String {
    format!("{} #{} by {}", a.action.name(), a.nonce, hex(&a.player))
}

fn hex(b: &[u8; 32]) -> String {
    cyteria_game::transcript::hex_id(b)[..16].to_string()
}

#[cfg(test)]
mod tests {
    /// No owned items confirmed.
    static NO_HOLDINGS: Holdings = Holdings::new();

    use super::*;
    use crate::action::Action;
    use crate::binding;
    use crate::provenance::{Reference, Settled};
    use alloy::signers::local::PrivateKeySigner;
    use cyteria_game::Rules;
    use cyteria_game::crafting::starter_loadout;
    use cyteria_game::inventory::{Material, Materials};
    use cyteria_game::transcript::{Beacon, PlayerSlot};
    use cyteria_game::verify::PlayerOutcome;
    use ed25519_dalek::{Signer as _, SigningKey};

    const CHAIN: u64 = 31337;

    /// Epoch 0 (the deployment, zero root) at 1 000 s, then one epoch every 100 s.
    fn chain() -> ChainTime {
        ChainTime {
            deployment: Default::default(),
            epochs: (0..4)
                .map(|e| {
                    let root = if e == 0 { [0; 32] } else { [e as u8; 32] };
                    (
                        e,
                        Settled {
                            root,
                            at: 1_000 + 100 * e,
                            block: 1_000 + 100 * e,
                        },
                    )
                })
                .collect(),
            tick_rate: 60,
            head: Reference {
                block: 40,
                time: 1_350,
            },
        }
    }

    /// Epoch `e` settles at `at` seconds with root `[e; 32]`.
    fn settle(time: &mut ChainTime, e: u64, at: u64) {
        let root = [e as u8; 32];
        time.epochs.insert(
            e,
            Settled {
                root,
                at,
                block: at,
            },
        );
    }

    /// `time` with its head at `at` seconds.
    fn at(time: &ChainTime, at: u64) -> ChainTime {
        ChainTime {
            head: Reference {
                block: at,
                time: at,
            },
            ..time.clone()
        }
    }

    fn fixture() -> (SigningKey, PrivateKeySigner, Eip712Domain, Verified) {
        let key = SigningKey::from_bytes(&[4; 32]);
        let wallet = PrivateKeySigner::random();
        let d = binding::domain(CHAIN, Address::repeat_byte(2));
        let l = starter_loadout();
        let header = MatchHeader::from_beacon(
            [1; 32],
            Beacon::default(),
            Rules::default(),
            vec![PlayerSlot {
                public_key: key.verifying_key().to_bytes(),
                loadout: l,
                items: Default::default(),
            }],
        );
        let mut materials = Materials::default();
        materials.add(Material::Ore, 8);
        materials.add(Material::Wood, 4);
        let p = PlayerOutcome {
            xp: 10,
            kills: 1,
            materials,
            items: vec![l.weapon.unwrap(), l.tool.unwrap()],
            wear: [0; 3],
            downed: false,
            damage_dealt: 0,
            damage_taken: 0,
        };
        let o = Outcome {
            frames: 1,
            end: None,
            waves_cleared: 0,
            final_checksum: cyteria_game::Checksum([0; 32]),
            players: vec![p],
        };
        (
            key,
            wallet,
            d,
            BTreeMap::from([("bafy-match".to_string(), (header, o))]),
        )
    }

    #[test]
    fn an_equivocation_slashes_the_bond_once_in_a_batch_both_sides_agree_on() {
        use crate::evidence::tests::equivocation;
        let (key, wallet, d, verified) = fixture();
        let time = chain();
        let bonded = Bonded::from_iter([wallet.address()]);
        let cx = Context {
            chain_id: CHAIN,
            binding_domain: &d,
            verified: &verified,
            chain: &time,
            bonded: &bonded,
            held: &NO_HOLDINGS,
        };
        let pk = key.verifying_key().to_bytes();
        let bind = binding::bind(&wallet, pk, |m| key.sign(m).to_bytes(), 1, &d).unwrap();
        let ev = equivocation(&key, [[1; 32], [2; 32]]);
        let mut forged = ev.clone();
        if let crate::evidence::Conflict::Checkpoints { second, .. } = &mut forged.conflict {
            second.chain = [3; 32];
        }
        let candidates = Candidates {
            bindings: vec![bind],
            // A copy with a broken signature first, then the evidence as three players relay it.
            evidence: vec![forged, ev.clone(), ev.clone(), ev.clone()],
            ..Default::default()
        };
        let prev = Ledger::default();
        let (data, applied, left_out) = build(&prev, 2, candidates, &cx);
        assert_eq!(data.evidence, vec![ev.clone()]);
        assert_eq!(
            left_out
                .iter()
                .map(|l| l.reason.label())
                .collect::<Vec<_>>(),
            vec!["bad evidence"]
        );
        assert_eq!(
            applied.slashes,
            vec![Slash {
                player: wallet.address(),
                evidence: ev.encode().into()
            }]
        );
        let b = applied.batch(&data, 0, "bafy-data", "");
        assert_eq!(b.slashesHash, batch::slashes_hash(&applied.slashes));
        let again = apply(&prev, &BatchData::decode(&data.encode()).unwrap(), &cx).unwrap();
        assert_eq!(again.batch(&data, 0, "bafy-data", ""), b);
        // A follower that read no bond for the wallet refuses the batch.
        let none = Bonded::default();
        let unbonded = Context {
            bonded: &none,
            held: &NO_HOLDINGS,
            ..cx
        };
        assert!(matches!(
            apply(&prev, &data, &unbonded),
            Err(ProposalError::Refused {
                reason: Rejected::NothingToSlash,
                ..
            })
        ));
        // The next batch does not slash the same offence again.
        let (next, later, left_out) = build(
            &applied.ledger,
            3,
            Candidates {
                evidence: vec![ev],
                ..Default::default()
            },
            &cx,
        );
        assert!(next.evidence.is_empty() && later.slashes.is_empty());
        assert_eq!(left_out[0].reason, Rejected::AlreadySlashed);
    }

    #[test]
    fn leader_and_followers_arrive_at_the_same_batch_and_bad_entries_are_left_out() {
        let (key, wallet, d, verified) = fixture();
        let time = chain();
        let bonded = Bonded::from_iter([wallet.address()]);
        let cx = Context {
            chain_id: CHAIN,
            binding_domain: &d,
            verified: &verified,
            chain: &time,
            bonded: &bonded,
            held: &NO_HOLDINGS,
        };
        let pk = key.verifying_key().to_bytes();
        let act = |n: u64| {
            SignedAction::new(pk, n, (CHAIN, [2; 20]), Action::Craft { recipe: 0 }, |m| {
                key.sign(m).to_bytes()
            })
        };
        let bind = binding::bind(&wallet, pk, |m| key.sign(m).to_bytes(), 1, &d).unwrap();
        let tref = TranscriptRef {
            match_id: [1; 32],
            cid: "bafy-match".into(),
        };
        let unknown = TranscriptRef {
            match_id: [2; 32],
            cid: "bafy-unverified".into(),
        };
        // Two crafts: the materials cover both; a replay of nonce 0 is left out.
        let prev = Ledger::default();
        let candidates = Candidates {
            bindings: vec![bind],
            transcripts: vec![tref.clone(), unknown, tref],
            actions: vec![act(1), act(0), act(0), act(2)],
            ..Default::default()
        };
        let (data, applied, left_out) = build(&prev, 2, candidates, &cx);
        assert_eq!(data.transcripts.len(), 1);
        assert_eq!(
            data.actions.iter().map(|a| a.nonce).collect::<Vec<_>>(),
            vec![0, 1]
        );
        let labels: Vec<&str> = left_out.iter().map(|l| l.reason.label()).collect();
        assert_eq!(labels, vec!["replayed", "insufficient materials"]);
        assert_eq!(applied.items.len(), 4, "two drops and two crafts");
        assert_eq!(applied.mints.len(), 1);
        assert_eq!(applied.mints[0].to, wallet.address());

        let decoded = BatchData::decode(&data.encode()).unwrap();
        let again = apply(&prev, &decoded, &cx).unwrap();
        assert_eq!(
            again.batch(&decoded, 0, "cid", "meta"),
            applied.batch(&data, 0, "cid", "meta")
        );
        for it in &again.items {
            assert_eq!(
                ids::decode(it.id).map(|(s, b, _)| (s, b)),
                Some((it.stats, 2))
            );
        }
        // A follower refuses data that does not apply, or applies to another root.
        let mut replay = data.clone();
        replay.actions.push(replay.actions[0].clone());
        assert!(matches!(
            apply(&prev, &replay, &cx),
            Err(ProposalError::Refused { .. })
        ));
        assert_eq!(
            apply(&again.ledger, &data, &cx).unwrap_err(),
            ProposalError::WrongPrevRoot
        );
        // A transcript named by a CID this validator verified for another
        // match is not that match.
        let mut renamed = data.clone();
        renamed.transcripts[0].match_id = [3; 32];
        assert!(matches!(
            apply(&prev, &renamed, &cx),
            Err(ProposalError::UnverifiedTranscript(_))
        ));
        let empty = BTreeMap::new();
        let blind = Context {
            verified: &empty,
            ..cx
        };
        assert!(matches!(
            apply(&prev, &data, &blind),
            Err(ProposalError::UnverifiedTranscript(_))
        ));
    }

    #[test]
    fn a_leader_never_proposes_more_items_than_a_follower_accepts() {
        // 25 verified matches of one bound player, 8 drops each: 200
        // items, past the cap of 192.
        let (key, wallet, d, one) = fixture();
        let (_, (header, outcome)) = one.into_iter().next().unwrap();
        let pk = key.verifying_key().to_bytes();
        let drop = outcome.players[0].items[0];
        let mut verified = Verified::new();
        let mut refs = vec![];
        let matches = (MAX_ITEMS / 8 + 1) as u32;
        for i in 0..matches {
            let mut id = [0; 32];
            id[..4].copy_from_slice(&i.to_be_bytes());
            let h =
                MatchHeader::from_beacon(id, header.beacon, header.rules, header.players.clone());
            let mut o = outcome.clone();
            o.players[0].items = vec![drop; 8];
            verified.insert(format!("bafy-{i}"), (h, o));
            refs.push(TranscriptRef {
                match_id: id,
                cid: format!("bafy-{i}"),
            });
        }
        let time = chain();
        let bonded = Bonded::from_iter([wallet.address()]);
        let cx = Context {
            chain_id: CHAIN,
            binding_domain: &d,
            verified: &verified,
            chain: &time,
            bonded: &bonded,
            held: &NO_HOLDINGS,
        };
        let bind = binding::bind(&wallet, pk, |m| key.sign(m).to_bytes(), 1, &d).unwrap();
        let prev = Ledger::default();
        let (data, applied, left_out) = build(
            &prev,
            2,
            Candidates {
                bindings: vec![bind],
                transcripts: refs.clone(),
                ..Default::default()
            },
            &cx,
        );
        assert_eq!(applied.items.len(), MAX_ITEMS);
        assert_eq!(data.transcripts.len(), MAX_ITEMS / 8);
        assert_eq!(left_out.len(), 1);
        assert_eq!(left_out[0].reason, Rejected::BatchFull);
        // A follower applies it: same batch.
        let again = apply(&prev, &data, &cx).unwrap();
        assert_eq!(
            again.batch(&data, 0, "c", "m"),
            applied.batch(&data, 0, "c", "m")
        );
        // The match left out settles in the next epoch.
        let (next, later, none) = build(
            &again.ledger,
            3,
            Candidates {
                transcripts: refs,
                ..Default::default()
            },
            &cx,
        );
        assert_eq!(next.transcripts.len(), 1);
        assert_eq!(later.items.len(), 8);
        assert!(none.iter().all(|l| l.reason == Rejected::AlreadyCredited));
        apply(&again.ledger, &next, &cx).unwrap();
    }

    /// 1,024 players, each with its own bonded wallet, each win one item in
    /// a match of their own: 1,024 receivers, which in one batch would cost
    /// ~37 M gas, over twice the chain's per-transaction cap. The leader
    /// splits them into batches of at most `MAX_ITEMS`, each of which its
    /// followers arrive at too, and every match is credited in the end.
    #[test]
    fn a_thousand_receivers_are_split_into_batches_that_each_fit_the_gas_cap() {
        let (_, _, d, one) = fixture();
        let (_, (header, outcome)) = one.into_iter().next().unwrap();
        let mut verified = Verified::new();
        let mut bindings = vec![];
        let mut refs = vec![];
        let mut wallets = BTreeSet::new();
        for i in 0..1024u32 {
            let mut seed = [7; 32];
            seed[..4].copy_from_slice(&i.to_be_bytes());
            let key = SigningKey::from_bytes(&seed);
            let wallet = PrivateKeySigner::random();
            let pk = key.verifying_key().to_bytes();
            bindings.push(binding::bind(&wallet, pk, |m| key.sign(m).to_bytes(), 1, &d).unwrap());
            wallets.insert(wallet.address());
            let mut id = [0; 32];
            id[..4].copy_from_slice(&i.to_be_bytes());
            let seat = PlayerSlot {
                public_key: pk,
                ..header.players[0].clone()
            };
            let h = MatchHeader::from_beacon(id, header.beacon, header.rules, vec![seat]);
            let mut o = outcome.clone();
            o.players[0].items.truncate(1);
            verified.insert(format!("bafy-{i}"), (h, o));
            refs.push(TranscriptRef {
                match_id: id,
                cid: format!("bafy-{i}"),
            });
        }
        // Six parts settle one after another: the chain knows epochs up to
        // the last, each settled before the head the leader reads.
        let mut time = chain();
        for e in 4..10u64 {
            let at = 1_300 + e;
            time.epochs.insert(
                e,
                Settled {
                    root: [e as u8; 32],
                    at,
                    block: 1_400 + e,
                },
            );
        }
        let bonded: Bonded = wallets.iter().copied().collect();
        let cx = Context {
            chain_id: CHAIN,
            binding_domain: &d,
            verified: &verified,
            chain: &time,
            bonded: &bonded,
            held: &NO_HOLDINGS,
        };
        let mut ledger = Ledger::default();
        let mut receivers = BTreeSet::new();
        let mut parts = vec![];
        for epoch in 2..10 {
            let candidates = Candidates {
                bindings: if epoch == 2 { bindings.clone() } else { vec![] },
                transcripts: refs.clone(),
                ..Default::default()
            };
            let (data, applied, _) = build(&ledger, epoch, candidates, &cx);
            if data.transcripts.is_empty() {
                break;
            }
            parts.push(applied.items.len());
            assert!(
                applied.items.len() <= MAX_ITEMS,
                "{} items",
                applied.items.len()
            );
            assert!(
                applied.mints.len() <= MAX_ITEMS,
                "{} receivers",
                applied.mints.len()
            );
            let followed = apply(&ledger, &data, &cx).expect("a follower accepts each part");
            assert_eq!(
                followed.batch(&data, 0, "c", "m"),
                applied.batch(&data, 0, "c", "m")
            );
            receivers.extend(applied.mints.iter().map(|m| m.to));
            ledger = followed.ledger;
        }
        assert_eq!(
            parts.len(),
            1024usize.div_ceil(MAX_ITEMS),
            "split into parts of {MAX_ITEMS}: {parts:?}"
        );
        assert_eq!(receivers.len(), 1024, "every receiver got its item");
        assert_eq!(ledger.credited.len(), 1024, "every match credited");
    }

    /// One owned weapon played two matches one after the other: the second
    /// claims the durability the first left. By match id the second comes
    /// first, and the first, claiming more than it then leaves, was refused
    /// as `worn`; in wear order both are credited, leader and follower alike.
    #[test]
    fn matches_one_item_played_in_turn_are_credited_in_the_order_they_wore_it() {
        let (key, wallet, d, one) = fixture();
        let (_, (header, outcome)) = one.into_iter().next().unwrap();
        let pk = key.verifying_key().to_bytes();
        let bind = binding::bind(&wallet, pk, |m| key.sign(m).to_bytes(), 1, &d).unwrap();
        let blade = starter_loadout().weapon.unwrap();
        let id = ids::encode(&blade, 1, 7).unwrap().to_be_bytes::<32>();
        let time = chain();
        let beacon = Beacon {
            deployment: Default::default(),
            epoch: 1,
            root: time.epochs[&1].root,
        };
        // (match id, durability claimed, wear): the first match has the
        // higher id.
        let played = |n: u8, durability: u16, wear: u16| {
            let mut seat = header.players[0].clone();
            seat.loadout.weapon = Some(ItemStats {
                durability,
                ..blade
            });
            seat.items[0] = Some(id);
            let h = MatchHeader::from_beacon([n; 32], beacon, header.rules, vec![seat]);
            let mut o = outcome.clone();
            o.frames = 600;
            o.players[0].items.clear();
            o.players[0].wear = [wear, 0, 0];
            (format!("bafy-worn-{n}"), (h, o))
        };
        let verified: Verified = [
            played(0xB0, blade.durability, 10),
            played(0xA0, blade.durability - 10, 5),
        ]
        .into_iter()
        .collect();
        let refs: Vec<TranscriptRef> = verified
            .iter()
            .map(|(cid, (h, _))| TranscriptRef {
                match_id: h.match_id,
                cid: cid.clone(),
            })
            .collect();
        let held: Holdings = [Holding {
            wallet: wallet.address().into_array(),
            id,
            epoch: 1,
        }]
        .into();
        let bonded = Bonded::from_iter([wallet.address()]);
        let now = at(&time, 1_200);
        let cx = Context {
            chain_id: CHAIN,
            binding_domain: &d,
            verified: &verified,
            chain: &now,
            bonded: &bonded,
            held: &held,
        };
        let (data, applied, left_out) = build(
            &Ledger::default(),
            3,
            Candidates {
                bindings: vec![bind],
                transcripts: refs,
                ..Default::default()
            },
            &cx,
        );
        assert!(left_out.is_empty(), "{left_out:?}");
        assert_eq!(
            data.holdings_needed(&Ledger::default(), &verified),
            [held.first().copied().unwrap(), Holding::escrow(id, 1)].into(),
            "the wallet the batch binds, and whether the item was in escrow"
        );
        let order: Vec<u8> = data.transcripts.iter().map(|t| t.match_id[0]).collect();
        assert_eq!(
            order,
            [0xB0, 0xA0],
            "the match that wore it first comes first"
        );
        assert_eq!(applied.ledger.items[&id].wear, 15);
        assert_eq!(
            data.wear,
            [ItemWear { id, wear: 15 }],
            "the data names the wear it leaves, for nodes that only read it"
        );
        let followed = apply(&Ledger::default(), &data, &cx).unwrap();
        assert_eq!(followed.ledger.root(), applied.ledger.root());
        for lie in [vec![], vec![ItemWear { id, wear: 0 }]] {
            let forged = BatchData {
                wear: lie,
                ..data.clone()
            };
            assert_eq!(
                apply(&Ledger::default(), &forged, &cx).err(),
                Some(ProposalError::WrongWear)
            );
        }
    }

    #[test]
    fn matches_fabricated_offline_earn_no_more_than_real_time() {
        let (key, wallet, d, one) = fixture();
        let (_, (header, outcome)) = one.into_iter().next().unwrap();
        let pk = key.verifying_key().to_bytes();
        let bind = binding::bind(&wallet, pk, |m| key.sign(m).to_bytes(), 1, &d).unwrap();
        // One minute of play each (3 600 frames at 60 ticks/s).
        let fabricate = |n: u8, beacon: Beacon, seed: Option<u64>| {
            let mut h = MatchHeader::from_beacon(
                [0xF0 | n; 32],
                beacon,
                header.rules,
                header.players.clone(),
            );
            if let Some(seed) = seed {
                h.seed = seed;
            }
            let mut o = outcome.clone();
            o.frames = 3_600;
            (format!("bafy-fake-{n}"), (h, o))
        };
        let mut time = chain();
        let beacon = |e: u64| Beacon {
            deployment: Default::default(),
            epoch: e,
            root: time.epochs[&e].root,
        };
        // Five matches a bot played offline with seeds of its choosing;
        // one from an epoch not settled yet; one from a forged root; and
        // two from one real beacon, which cannot both fit.
        let verified: Verified = [
            fabricate(0, beacon(1), Some(1)),
            fabricate(1, beacon(1), Some(2)),
            fabricate(2, beacon(2), Some(3)),
            fabricate(3, beacon(2), Some(4)),
            fabricate(4, beacon(3), Some(5)),
            fabricate(
                5,
                Beacon {
                    deployment: Default::default(),
                    epoch: 9,
                    root: [9; 32],
                },
                None,
            ),
            fabricate(
                6,
                Beacon {
                    deployment: Default::default(),
                    epoch: 2,
                    root: [9; 32],
                },
                None,
            ),
            fabricate(7, beacon(2), None),
            fabricate(8, beacon(2), None),
        ]
        .into_iter()
        .collect();
        let refs: Vec<TranscriptRef> = verified
            .iter()
            .map(|(cid, (h, _))| TranscriptRef {
                match_id: h.match_id,
                cid: cid.clone(),
            })
            .collect();
        fn context<'a>(
            d: &'a Eip712Domain,
            v: &'a Verified,
            t: &'a ChainTime,
            bonded: &'a Bonded,
        ) -> Context<'a> {
            Context {
                chain_id: CHAIN,
                binding_domain: d,
                verified: v,
                chain: t,
                bonded,
                held: &NO_HOLDINGS,
            }
        }
        let bonded = Bonded::from_iter([wallet.address()]);
        let ctx = |t| context(&d, &verified, t, &bonded);
        let now = at(&time, 1_200);
        let cx = ctx(&now);
        // Batch 3 is judged at 1 200 s.
        let (data, applied, left_out) = build(
            &Ledger::default(),
            3,
            Candidates {
                bindings: vec![bind],
                transcripts: refs.clone(),
                ..Default::default()
            },
            &cx,
        );
        let reasons: Vec<&str> = left_out.iter().map(|l| l.reason.label()).collect();
        assert_eq!(
            reasons,
            ["seed not from beacon"; 5]
                .into_iter()
                .chain(["future beacon", "wrong beacon", "not yet", "not yet"])
                .collect::<Vec<_>>()
        );
        assert!(
            data.transcripts.is_empty() && applied.items.is_empty(),
            "nothing credited"
        );
        apply(&Ledger::default(), &data, &cx).unwrap();
        let ledger = applied.ledger;

        // At 1 300 s, one of the two real matches fits after its beacon, the
        // other would overlap it and waits; a follower agrees.
        let t1300 = at(&time, 1_300);
        let cx = ctx(&t1300);
        let (data, applied, left_out) = build(
            &ledger,
            4,
            Candidates {
                transcripts: refs.clone(),
                ..Default::default()
            },
            &cx,
        );
        assert_eq!(data.transcripts.len(), 1);
        assert_eq!(data.transcripts[0].match_id, [0xF7; 32]);
        assert!(
            left_out
                .iter()
                .any(|l| l.entry == Entry::Transcript([0xF8; 32]) && l.reason == Rejected::NotYet)
        );
        assert_eq!(
            apply(&ledger, &data, &cx).unwrap().ledger.root(),
            applied.ledger.root()
        );
        assert_eq!(
            applied.ledger.account(&pk).unwrap().busy_until_ms,
            1_260_000
        );
        let ledger = applied.ledger;

        // Once the chain passes 1 320 s the second is credited, after the first.
        settle(&mut time, 4, 1_400);
        let later = at(&time, 1_400);
        let cx = ctx(&later);
        let (data, applied, _) = build(
            &ledger,
            5,
            Candidates {
                transcripts: refs.clone(),
                ..Default::default()
            },
            &cx,
        );
        assert_eq!(data.transcripts.len(), 1);
        assert_eq!(data.transcripts[0].match_id, [0xF8; 32]);
        assert_eq!(
            applied.ledger.account(&pk).unwrap().busy_until_ms,
            1_320_000
        );
        // A follower refuses a batch that credits a match before its
        // reference reaches its end, or whose reference is older than the
        // last settlement (that the block has that time, its shell checks).
        let mut rushed = data.clone();
        rushed.reference.time = 1_410;
        assert!(apply(&ledger, &rushed, &cx).is_ok());
        rushed.reference.time = 1_300;
        assert!(matches!(
            apply(&ledger, &rushed, &cx),
            Err(ProposalError::Refused {
                reason: Rejected::EarlyReference,
                ..
            })
        ));
        let mut relaxed = later.clone();
        settle(&mut relaxed, 4, 1_300);
        assert!(matches!(
            apply(&ledger, &rushed, &ctx(&relaxed)),
            Err(ProposalError::Refused {
                reason: Rejected::NotYet,
                ..
            })
        ));

        // Much later every beacon here is stale.
        settle(&mut time, 5, 10_000);
        let much_later = at(&time, 10_000);
        let cx = ctx(&much_later);
        let (data, _, left_out) = build(
            &ledger,
            6,
            Candidates {
                transcripts: refs,
                ..Default::default()
            },
            &cx,
        );
        assert!(data.transcripts.is_empty());
        assert!(left_out.iter().any(|l| l.reason == Rejected::StaleBeacon));
    }
}
