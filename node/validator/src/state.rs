//! The validator's decisions, with no IO: which announced transcripts to
//! fetch, which candidates the next batch takes, which batch to check and
//! to sign, when a quorum may be submitted and who equivocated.
//!
//! Events go in with the time injected and come out as [`Step`]s, which
//! the shell in `lib.rs` performs (fetching, verifying, storing, signing,
//! gossiping, the chain), feeding what they bring back in as events, as
//! `cyteria_node::lobby` does for matchmaking.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, Bytes};
use alloy::sol_types::Eip712Domain;
use cyteria_node::net::Misbehaviour;
use cyteria_node::verifier::{self, Rejection};
use cyteria_node::wire::{ActionMessage, Announce, Attestation};
use cyteria_settlement::action::SignedAction;
use cyteria_settlement::batch::{self, Attestation as BatchSig, Batch, Mint, Slash, ValidatorSet};
use cyteria_settlement::binding::SignedBinding;
use cyteria_settlement::epoch;
use cyteria_settlement::evidence::Equivocation;
use cyteria_settlement::ledger::{Bonded, Holding, Holdings, Ledger, Rejected};
use cyteria_settlement::proposal::{
    self, Applied, BatchData, Candidates, Context, TranscriptRef, Verified,
};
use cyteria_settlement::provenance::{ChainTime, Reference};
use ipld_core::cid::Cid;
use libp2p::PeerId;

/// Tries to fetch an announced transcript before waiting for it to be
/// announced again, the first retry after [`FETCH_RETRY`], then doubling.
pub const FETCH_ATTEMPTS: u32 = 5;
/// The wait before the first retry of a failed transcript fetch.
pub const FETCH_RETRY: Duration = Duration::from_secs(5);
/// Epochs of attestations kept after settlement: equivocation there is still provable.
const KEEP_ATTESTATIONS: u64 = 16;

/// How a validator paces its rounds.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    /// Least time between one settlement and the next proposal.
    pub epoch_interval: Duration,
    /// A leader's round; when it passes without a settlement, the next validator leads.
    pub round_timeout: Duration,
    /// How long a validator that did not propose waits, once it sees a
    /// quorum, before it submits the batch itself.
    pub submit_grace: Duration,
    /// How often the shell reads the chain and ticks.
    pub poll: Duration,
    /// Longest time between settlements: past it the leader proposes even
    /// an empty batch, which refreshes the players' beacon and moves chain
    /// time on for matches that wait for it.
    pub beacon_every: Duration,
}

/// Matches whose end record a validator keeps, to compare a later version with.
const ENDS_KEPT: usize = 4096;

/// A verified version's end record: its CID, last frame, ending, final
/// checksum and each seat's signature (none for a seat that left).
type EndRecord = (
    String,
    u32,
    u8,
    cyteria_game::state::Checksum,
    Vec<Option<cyteria_game::transcript::Signature>>,
);

/// The end record of the first verified version of each recent match.
#[derive(Default)]
struct Ends {
    /// By match id.
    first: BTreeMap<[u8; 32], EndRecord>,
    /// Match ids in the order they were kept, oldest first.
    order: std::collections::VecDeque<[u8; 32]>,
}

impl Ends {
    /// Keeps `t`'s end record if its match is new; otherwise, when `t` is
    /// another version (`cid`) that ends elsewhere, the evidence against
    /// each seat that signed both ends.
    fn compare(
        &mut self,
        cid: &str,
        t: &cyteria_game::transcript::Transcript,
    ) -> Vec<Equivocation> {
        use cyteria_settlement::evidence::{Conflict, SignedEnd};
        let id = t.header.match_id;
        let Some((first_cid, frame, ending, checksum, sigs)) = self.first.get(&id) else {
            if self.order.len() >= ENDS_KEPT
                && let Some(old) = self.order.pop_front()
            {
                self.first.remove(&old);
            }
            self.first.insert(
                id,
                (
                    cid.to_string(),
                    t.frames(),
                    t.ending(),
                    t.final_checksum,
                    t.ends.clone(),
                ),
            );
            self.order.push_back(id);
            return vec![];
        };
        if first_cid == cid
            || (*frame, *ending, *checksum) == (t.frames(), t.ending(), t.final_checksum)
        {
            return vec![];
        }
        let end = |frame: u32, ending, checksum, signature| SignedEnd {
            frame,
            ending,
            checksum,
            signature,
        };
        // A seat that signed both records signed two ends.
        sigs.iter()
            .zip(&t.ends)
            .enumerate()
            .filter_map(|(seat, (a, b))| Some((seat, (*a)?, (*b)?)))
            .map(|(seat, a, b)| Equivocation {
                header: t.header.clone(),
                seat: seat as u8,
                conflict: Conflict::Ends {
                    first: end(*frame, *ending, *checksum, a),
                    second: end(t.frames(), t.ending(), t.final_checksum, b),
                },
            })
            .filter(|ev| ev.check().is_ok())
            .collect()
    }
}

/// Equivocations a validator keeps for the next batches at most; each
/// needs a player's two signatures, and a batch slashes `MAX_SLASHES`.
pub const MAX_PENDING_EVIDENCE: usize = 256;

/// Announced transcripts a validator remembers having fetched (or being
/// fetching); the oldest is forgotten first. A forgotten one announced
/// again is fetched again, unless the ledger credited its match.
pub const SEEN_KEPT: usize = 16_384;

/// The most nonces past a key's next one whose actions are kept: a wallet
/// sends its actions in order, a few at a time.
pub const MAX_NONCE_AHEAD: u64 = 16;

/// Actions kept for the next batches at most, of keys with a wallet
/// (bound on the ledger or by a binding waiting here).
pub const MAX_PENDING_ACTIONS: usize = 8_192;

/// Actions kept at most of keys with no wallet yet (their binding may
/// arrive after them); keys cost nothing, so these have a pool of their own.
pub const MAX_UNBOUND_ACTIONS: usize = 512;

/// Bindings kept for the next batches at most.
pub const MAX_PENDING_BINDINGS: usize = 8_192;

/// Rounds of one epoch a signer's attestations are kept for at most (its
/// rounds past that are refused; the others' are not).
pub const MAX_ROUNDS_PER_SIGNER: usize = 8;

/// Epochs a pending action waits at most (for its nonce gap to fill, or
/// for a batch with room): a pool full of gapped actions frees itself.
pub const ACTION_TTL_EPOCHS: u64 = 8;

/// Least time between two reads of the validator set asked for by an
/// attestation from a signer not in it: a stranger's junk costs no more
/// than one chain call in this time, however much of it comes.
pub const REFRESH_EVERY: Duration = Duration::from_secs(10);

/// Items a bounded set remembers; the oldest goes first.
#[derive(Debug)]
pub(crate) struct Recent<K: Ord + Clone> {
    set: BTreeSet<K>,
    order: std::collections::VecDeque<K>,
    cap: usize,
}

impl<K: Ord + Clone> Recent<K> {
    pub(crate) fn new(cap: usize) -> Self {
        Recent {
            set: BTreeSet::new(),
            order: Default::default(),
            cap,
        }
    }

    /// Remembers `k`; false if it was remembered already.
    pub(crate) fn insert(&mut self, k: K) -> bool {
        if !self.set.insert(k.clone()) {
            return false;
        }
        self.order.push_back(k);
        while self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    pub(crate) fn remove(&mut self, k: &K) {
        if self.set.remove(k) {
            self.order.retain(|x| x != k);
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }
}

/// A batch this validator checked (or built), ready to sign and submit.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The batch as this validator arrives at it.
    pub batch: Batch,
    /// Its mints, as the contract takes them.
    pub mints: Vec<Mint>,
    /// The player bonds it slashes, with their evidence.
    pub slashes: Vec<Slash>,
    /// Items it mints.
    pub items: usize,
    /// Match rewards it refuses for want of a wallet binding.
    pub unbound: usize,
    /// The ledger after it.
    pub ledger: Ledger,
    /// Whether this validator built it (then it submits without waiting).
    pub proposed_here: bool,
    /// When this validator first saw a quorum for it.
    quorum_since: Option<Instant>,
    /// No submission before this (a failed one backs off).
    next_try: Option<Instant>,
}

impl Checked {
    /// A batch checked (or, with `proposed_here`, built) from `applied`.
    pub fn new(batch: Batch, applied: Applied, proposed_here: bool) -> Checked {
        Checked {
            batch,
            items: applied.items.len(),
            unbound: applied.unbound.len(),
            mints: applied.mints,
            slashes: applied.slashes,
            ledger: applied.ledger,
            proposed_here,
            quorum_since: None,
            next_try: None,
        }
    }
}

/// What the shell is to do.
#[derive(Debug)]
pub enum Step {
    /// Fetch the announced transcript and verify it; the result comes back
    /// through [`State::on_transcript`] or [`State::on_fetch_failed`].
    Fetch {
        /// Who announced it (asked first).
        peer: PeerId,
        /// The announcement.
        announce: Announce,
        /// 0 for the first try.
        attempt: u32,
    },
    /// Hand the announcement back through [`State::on_refetch`] after `after`.
    FetchLater {
        /// How long to wait.
        after: Duration,
        /// Who announced it.
        peer: PeerId,
        /// The announcement.
        announce: Announce,
        /// The try that comes next.
        attempt: u32,
    },
    /// Keep this content (a verified transcript).
    Pin(Cid),
    /// The peer sent bad input.
    Penalise {
        /// The sender.
        peer: PeerId,
        /// What it did.
        misbehaviour: Misbehaviour,
        /// A finer reason for the log and the metrics.
        detail: &'static str,
    },
    /// Count a refused input in the metrics.
    Rejected {
        /// The input channel (`action`, `binding`, `transcript`, …).
        channel: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// Read the validator set from the chain and hand `attestation` back to
    /// [`State::on_attestation`] with `refreshed` set: its signer is not in
    /// the set this validator knows.
    RefreshAndRetry {
        /// The sender.
        peer: PeerId,
        /// The attestation.
        attestation: Attestation,
    },
    /// Fetch the batch's data and every transcript it names that is not in
    /// `verified`, verify those, apply the data to `ledger` and rebuild the
    /// batch; the result comes back through [`State::on_checked`].
    Check {
        /// Who gossiped it (asked first for the data).
        peer: PeerId,
        /// The batch as signed by others.
        batch: Batch,
        /// The ledger of the last settled epoch.
        ledger: Ledger,
        /// What this validator verified already.
        verified: Verified,
        /// The chain time the batch is judged at.
        chain: ChainTime,
    },
    /// Store the proposal's data and its items' metadata, build the batch
    /// and hand it back through [`State::on_proposed`].
    Propose {
        /// The leader's round it is proposed in.
        round: u32,
        /// The batch data.
        data: BatchData,
        /// What applying it to the ledger gave.
        applied: Applied,
    },
    /// Record durably that this validator signs `batch` for its epoch, then
    /// sign it, gossip it and hand the signature back through
    /// [`State::on_signed`].
    Sign(Batch),
    /// Gossip this validator's attestation again, for peers that missed it.
    Republish(Batch, Bytes),
    /// Record the submission, then send the quorum's batch to the chain;
    /// after it settles, catch up.
    Submit {
        /// The batch.
        batch: Batch,
        /// Its mints.
        mints: Vec<Mint>,
        /// The bonds it slashes.
        slashes: Vec<Slash>,
        /// The quorum's signatures, in the contract's order.
        signatures: Vec<Bytes>,
        /// Items it mints.
        items: usize,
    },
    /// Record the evidence and prove on chain that `signer` signed two batches for one epoch.
    Prove {
        /// The equivocating validator.
        signer: Address,
        /// One batch it signed, with its signature.
        first: (Batch, Bytes),
        /// The other.
        second: (Batch, Bytes),
    },
}

/// The validator's state between events: the settled ledger, the
/// candidates for the next batch, and the agreement on it.
pub struct State {
    me: Address,
    pace: Pace,
    chain_id: u64,
    domain: Eip712Domain,
    binding_domain: Eip712Domain,
    // The ledger of the last settled epoch.
    epoch: u64,
    ledger: Ledger,
    /// The validator set the chain fixed for the next epoch, with weights.
    validators: ValidatorSet,
    epoch_began: Instant,
    // Candidates for the next batch.
    verified: Verified,
    refs: BTreeMap<[u8; 32], TranscriptRef>,
    seen: Recent<Cid>,
    bindings: BTreeMap<[u8; 32], SignedBinding>,
    actions: BTreeMap<([u8; 32], u64), SignedAction>,
    /// The epoch each pending action arrived in.
    action_epochs: BTreeMap<([u8; 32], u64), u64>,
    /// Players' equivocations, one per offending key (a batch slashes a
    /// key once).
    evidence: BTreeMap<[u8; 32], Equivocation>,
    /// The end record of the first verified version of recent matches, to
    /// tell a second version its signers also ended otherwise.
    ends: Ends,
    // Agreement.
    /// Attestations by (epoch, round), one per signer in each.
    attestations: BTreeMap<(u64, u32), BTreeMap<Address, (Batch, Bytes)>>,
    checked: BTreeMap<B256, Checked>,
    checking: BTreeSet<B256>,
    providers: BTreeMap<String, PeerId>,
    proven: BTreeSet<(u64, Address)>,
    /// The round and digest this validator last signed for the next epoch,
    /// if any: it signs no other batch in that round or an earlier one.
    signed: Option<(u32, B256)>,
    last_gossip: Instant,
    /// When an attestation from a stranger last asked for the set to be read.
    refresh_asked: Option<Instant>,
    /// The settled epochs' roots and times, the tick rate and the head, from the chain.
    chain: ChainTime,
    /// A transcript waits for the chain's clock to pass its end.
    waiting_for_time: bool,
    /// The block the bonds were read at, and the wallets bonded there of
    /// those [`State::bond_queries`] named.
    bonded: (u64, Bonded),
    /// Owned items read at their beacons' blocks, and whether the wallet
    /// held each: history, so kept while the beacon's epoch is known.
    held: BTreeMap<Holding, bool>,
}

impl State {
    /// The state of validator `me` whose ledger reflects settled `epoch`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        me: Address,
        pace: Pace,
        chain_id: u64,
        domain: Eip712Domain,
        binding_domain: Eip712Domain,
        epoch: u64,
        ledger: Ledger,
        now: Instant,
    ) -> State {
        State {
            me,
            pace,
            chain_id,
            domain,
            binding_domain,
            epoch,
            ledger,
            validators: ValidatorSet::default(),
            epoch_began: now,
            verified: BTreeMap::new(),
            refs: BTreeMap::new(),
            seen: Recent::new(SEEN_KEPT),
            bindings: BTreeMap::new(),
            actions: BTreeMap::new(),
            action_epochs: BTreeMap::new(),
            evidence: BTreeMap::new(),
            ends: Ends::default(),
            attestations: BTreeMap::new(),
            checked: BTreeMap::new(),
            checking: BTreeSet::new(),
            providers: BTreeMap::new(),
            proven: BTreeSet::new(),
            signed: None,
            last_gossip: now,
            refresh_asked: None,
            chain: ChainTime::default(),
            waiting_for_time: false,
            bonded: (u64::MAX, Bonded::default()),
            held: BTreeMap::new(),
        }
    }

    /// What the shell read from the chain: settled epochs' roots and times
    /// (up to the one the ledger reflects) and the tick rate; the head stays
    /// the one [`State::set_head`] gave.
    pub fn set_chain_time(&mut self, chain: ChainTime) {
        let head = self.chain.head;
        self.chain = ChainTime { head, ..chain };
        let epochs = &self.chain.epochs;
        self.held.retain(|h, _| epochs.contains_key(&h.epoch));
    }

    /// The chain's head as the shell last read it: a batch built now is judged at it.
    pub fn set_head(&mut self, head: Reference) {
        self.chain.head = head;
    }

    /// The wallets whose player bonds a proposal made now would depend on
    /// (every candidate's, [`proposal::wallets_touched`]), when this
    /// validator would propose now; the shell reads them at the head and
    /// hands them to [`State::set_bonded`].
    pub fn bond_queries(&self, now: Instant) -> Option<BTreeSet<Address>> {
        self.leads(now)?;
        Some(self.candidate_wallets())
    }

    /// The headers of the candidate transcripts this validator verified.
    fn candidate_headers(&self) -> impl Iterator<Item = &cyteria_game::transcript::MatchHeader> {
        self.refs
            .values()
            .filter_map(|r| self.verified.get(&r.cid))
            .map(|(h, _)| h)
    }

    fn candidate_wallets(&self) -> BTreeSet<Address> {
        let bindings: Vec<SignedBinding> = self.bindings.values().cloned().collect();
        let seats = self
            .candidate_headers()
            .flat_map(|h| h.players.iter().map(|s| s.public_key));
        let players = self.actions.keys().map(|(p, _)| *p);
        let offenders = self.evidence.values().filter_map(Equivocation::offender);
        proposal::wallets_touched(
            &self.ledger,
            &bindings,
            seats.chain(players).chain(offenders),
        )
    }

    /// The owned items a proposal made now would need the chain's word on
    /// and this validator has not read ([`proposal::holdings_needed`]),
    /// when it would propose now; the shell reads them at their beacons'
    /// blocks and hands them to [`State::set_holdings`].
    pub fn holding_queries(&self, now: Instant) -> Option<BTreeSet<Holding>> {
        self.leads(now)?;
        let unread: BTreeSet<Holding> = self
            .candidate_holdings()
            .into_iter()
            .filter(|h| !self.held.contains_key(h))
            .collect();
        (!unread.is_empty()).then_some(unread)
    }

    /// The holdings the candidates need, of beacons the chain time knows
    /// (a match from another beacon is refused before its items matter).
    fn candidate_holdings(&self) -> BTreeSet<Holding> {
        let bindings: Vec<SignedBinding> = self.bindings.values().cloned().collect();
        let mut needed =
            proposal::holdings_needed(&self.ledger, &bindings, self.candidate_headers());
        needed.retain(|h| self.chain.epochs.contains_key(&h.epoch));
        needed
    }

    /// What the chain said of the holdings `asked`: `held` are those it confirmed.
    pub fn set_holdings(&mut self, asked: BTreeSet<Holding>, held: &Holdings) {
        for h in asked {
            let yes = held.contains(&h);
            self.held.insert(h, yes);
        }
    }

    /// The wallets bonded at block `block` of those [`State::bond_queries`] named.
    pub fn set_bonded(&mut self, block: u64, bonded: Bonded) {
        self.bonded = (block, bonded);
    }

    /// The epoch and round this validator leads now, if it would propose:
    /// the epoch interval has passed and it has not signed in this round or
    /// a later one.
    fn leads(&self, now: Instant) -> Option<(u64, u32)> {
        let e = self.epoch + 1;
        let elapsed = now.saturating_duration_since(self.epoch_began);
        if elapsed < self.pace.epoch_interval {
            return None;
        }
        let round = epoch::round(elapsed - self.pace.epoch_interval, self.pace.round_timeout);
        let round = u32::try_from(round).unwrap_or(u32::MAX);
        if self.signed.is_some_and(|(r, _)| r >= round) {
            return None;
        }
        (epoch::leader(&self.validators.members(), e, u64::from(round)) == Some(self.me))
            .then_some((e, round))
    }

    /// The epoch a candidate match's beacon names.
    fn beacon_epoch(&self, match_id: &[u8; 32]) -> Option<u64> {
        let r = self.refs.get(match_id)?;
        self.verified.get(&r.cid).map(|(h, _)| h.beacon.epoch)
    }

    /// The chain time batches are judged at.
    pub fn chain_time(&self) -> &ChainTime {
        &self.chain
    }

    /// The settled epoch the ledger reflects.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The ledger of the settled epoch.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// What this validator verified and has not seen settled.
    pub fn verified(&self) -> &Verified {
        &self.verified
    }

    /// The batch digest this validator last signed for the next epoch, if any.
    pub fn signed(&self) -> Option<B256> {
        self.signed.map(|(_, d)| d)
    }

    /// The next epoch's validator set with its weights, as the chain last said.
    pub fn set_validators(&mut self, validators: ValidatorSet) {
        self.validators = validators;
    }

    /// This validator signed `digest` in `round` of the next epoch (its
    /// durable record says so, after a restart): it signs no other batch in
    /// that round or an earlier one, and signs that one again when it sees it.
    pub fn signed_before(&mut self, round: u32, digest: B256) {
        self.signed = Some((round, digest));
    }

    /// Frames of the version of match `id` this validator keeps, if any.
    fn kept_frames(&self, id: &[u8; 32]) -> Option<u32> {
        let r = self.refs.get(id)?;
        Some(self.verified.get(&r.cid).map_or(0, |(_, o)| o.frames))
    }

    /// A peer announced a finished match. A second version of a match is
    /// fetched only when it claims more frames than the one kept: one seat
    /// can sign an early end naming the others as gone, and announce it
    /// first; the longer version replaces it (and, verified, shows who
    /// signed both ends).
    pub fn on_announce(&mut self, peer: PeerId, a: Announce) -> Vec<Step> {
        if self.ledger.credited.contains(&a.match_id)
            || self
                .kept_frames(&a.match_id)
                .is_some_and(|kept| kept >= a.frames)
            || !self.seen.insert(a.cid)
        {
            return vec![];
        }
        vec![Step::Fetch {
            peer,
            announce: a,
            attempt: 0,
        }]
    }

    /// An announced transcript was fetched and checked.
    pub fn on_transcript(
        &mut self,
        peer: PeerId,
        announce: Announce,
        result: Result<verifier::Verified, Rejection>,
    ) -> Vec<Step> {
        match result {
            Ok(v) => {
                let id = announce.match_id;
                // Two versions of one match that end differently, each
                // signed by its seats: every key that signed both ends
                // equivocated.
                for ev in self.ends.compare(&announce.cid.to_string(), &v.transcript) {
                    tracing::info!(match_id = %short(&id), seat = ev.seat, "two end records signed by one key");
                    self.file_evidence(ev);
                }
                let longer = self
                    .kept_frames(&id)
                    .is_none_or(|kept| v.transcript.frames() > kept);
                if !self.ledger.credited.contains(&id) && longer {
                    // The shorter version stays verified: a batch in
                    // flight may name it.
                    if self.refs.contains_key(&id) {
                        tracing::info!(match_id = %short(&id), frames = v.transcript.frames(), "a longer version of the match replaces the one kept");
                    }
                    tracing::info!(match_id = %short(&id), frames = v.transcript.frames(), "transcript verified");
                    self.verified
                        .insert(announce.cid.to_string(), (v.transcript.header, v.outcome));
                    self.refs.insert(
                        id,
                        TranscriptRef {
                            match_id: id,
                            cid: announce.cid.to_string(),
                        },
                    );
                }
                vec![Step::Pin(announce.cid)]
            }
            Err(e) => {
                tracing::warn!(%peer, match_id = %short(&announce.match_id), reason = e.label(), error = %e, "transcript rejected");
                // The announcement lied about an honest record (or the
                // check did not finish): an honest announcement of the
                // same CID is fetched again.
                if e.is_about_the_announcement() {
                    self.seen.remove(&announce.cid);
                }
                vec![Step::Penalise {
                    peer,
                    misbehaviour: Misbehaviour::InvalidTranscript,
                    detail: e.label(),
                }]
            }
        }
    }

    /// An announced transcript could not be fetched (`attempt`: 0 for the first try).
    pub fn on_fetch_failed(
        &mut self,
        peer: PeerId,
        announce: Announce,
        attempt: u32,
        error: &str,
    ) -> Vec<Step> {
        let cid = announce.cid;
        if attempt + 1 < FETCH_ATTEMPTS && !self.ledger.credited.contains(&announce.match_id) {
            // A provider just back from a partition or a restart is often
            // reachable a few seconds later; its own re-announcements
            // arrived while this fetch was running and were dropped as
            // already seen.
            let after = FETCH_RETRY * 2u32.pow(attempt);
            tracing::info!(%peer, %cid, %error, attempt, retry_in_s = after.as_secs(), "transcript not fetched yet");
            vec![Step::FetchLater {
                after,
                peer,
                announce,
                attempt: attempt + 1,
            }]
        } else {
            tracing::warn!(%peer, %cid, %error, attempts = attempt + 1, "transcript not fetched: given up until it is announced again");
            self.seen.remove(&cid);
            vec![]
        }
    }

    /// Forgets that `cid` was announced: announced again, it is fetched.
    pub fn forget(&mut self, cid: &Cid) {
        self.seen.remove(cid);
    }

    /// The time to fetch an announcement again has come.
    pub fn on_refetch(&mut self, peer: PeerId, announce: Announce, attempt: u32) -> Vec<Step> {
        if self.ledger.credited.contains(&announce.match_id)
            || self.refs.contains_key(&announce.match_id)
        {
            return vec![];
        }
        vec![Step::Fetch {
            peer,
            announce,
            attempt,
        }]
    }

    /// A wallet binding or a signed action arrived; returns why it was
    /// refused, if it was.
    pub fn on_action(&mut self, m: ActionMessage) -> Option<&'static str> {
        match m {
            ActionMessage::Bind(b) => {
                if let Err(e) = b.verify(&self.binding_domain) {
                    return Some(Rejected::BadBinding(e).label());
                }
                let newer = self
                    .bindings
                    .get(&b.game_key)
                    .is_none_or(|old| old.nonce < b.nonce);
                if newer
                    && !self.bindings.contains_key(&b.game_key)
                    && self.bindings.len() >= MAX_PENDING_BINDINGS
                {
                    return Some("binding pool full");
                }
                if newer {
                    self.bindings.insert(b.game_key, b);
                }
                None
            }
            ActionMessage::Act(a) => {
                let next = self.ledger.account(&a.player).map_or(0, |x| x.next_nonce);
                if a.chain_id != self.chain_id {
                    Some("wrong chain")
                } else if self.binding_domain.verifying_contract.map(|c| c.0.0)
                    != Some(a.settlement)
                {
                    Some("wrong deployment")
                } else if a.nonce < next {
                    Some("replayed")
                } else if a.nonce >= next.saturating_add(MAX_NONCE_AHEAD) {
                    Some("nonce too far ahead")
                } else if self.actions.contains_key(&(a.player, a.nonce)) {
                    None
                } else {
                    let bound = self.has_wallet(&a.player);
                    let (kept, cap) = if bound {
                        (
                            self.actions.len() - self.unbound_actions(),
                            MAX_PENDING_ACTIONS,
                        )
                    } else {
                        (self.unbound_actions(), MAX_UNBOUND_ACTIONS)
                    };
                    if kept >= cap {
                        return Some(if bound {
                            "action pool full"
                        } else {
                            "unbound action pool full"
                        });
                    }
                    self.action_epochs.insert((a.player, a.nonce), self.epoch);
                    self.actions.insert((a.player, a.nonce), a);
                    None
                }
            }
            ActionMessage::Evidence(ev) => self.file_evidence(ev),
        }
    }

    /// Whether `key` has a wallet: bound on the ledger, or by a binding
    /// waiting for the next batch.
    fn has_wallet(&self, key: &[u8; 32]) -> bool {
        self.ledger.account(key).is_some_and(|a| a.wallet.is_some())
            || self.bindings.contains_key(key)
    }

    /// Kept actions of keys with no wallet.
    fn unbound_actions(&self) -> usize {
        self.actions
            .keys()
            .filter(|(k, _)| !self.has_wallet(k))
            .count()
    }

    /// Keeps checked equivocation evidence for the next batch, one per
    /// offending key, when the key has a wallet to slash; the refusal's label otherwise.
    fn file_evidence(&mut self, ev: Equivocation) -> Option<&'static str> {
        let Some(key) = ev.offender() else {
            return Some("bad evidence");
        };
        if self.ledger.slashed.contains(&ev.offence()) {
            return Some(Rejected::AlreadySlashed.label());
        }
        let liable = self
            .ledger
            .account(&key)
            .is_some_and(|a| !a.liable(ev.header.beacon.epoch).is_empty());
        if !liable {
            return Some(Rejected::NothingToSlash.label());
        }
        if self.evidence.len() >= MAX_PENDING_EVIDENCE && !self.evidence.contains_key(&key) {
            return Some("evidence pool full");
        }
        self.evidence.entry(key).or_insert(ev);
        None
    }

    /// A batch attestation arrived. `refreshed`: the validator set was read
    /// from the chain for it just now.
    pub fn on_attestation(
        &mut self,
        peer: PeerId,
        att: Attestation,
        refreshed: bool,
        now: Instant,
    ) -> Vec<Step> {
        let b = Batch::from(&att.batch);
        let Some(signer) = batch::recover(&b, &self.domain, &att.signature) else {
            return vec![Step::Penalise {
                peer,
                misbehaviour: Misbehaviour::BadAttestationSignature,
                detail: Misbehaviour::BadAttestationSignature.label(),
            }];
        };
        let e = b.epoch;
        // Only the epoch being agreed, and settled ones whose equivocation
        // is still provable.
        if e > self.epoch + 1 || e.saturating_add(KEEP_ATTESTATIONS) <= self.epoch {
            return vec![Step::Rejected {
                channel: "batch",
                reason: "epoch out of range",
            }];
        }
        if !self.validators.contains(&signer) {
            if refreshed {
                return vec![Step::Penalise {
                    peer,
                    misbehaviour: Misbehaviour::NotAValidator,
                    detail: Misbehaviour::NotAValidator.label(),
                }];
            }
            // The set may have changed since it was read: read it again,
            // but not more often than REFRESH_EVERY, however many
            // strangers' attestations come.
            if self
                .refresh_asked
                .is_some_and(|t| now.saturating_duration_since(t) < REFRESH_EVERY)
            {
                return vec![Step::Rejected {
                    channel: "batch",
                    reason: "signer not in the set",
                }];
            }
            self.refresh_asked = Some(now);
            return vec![Step::RefreshAndRetry {
                peer,
                attestation: att,
            }];
        }
        let rounds_of_signer = self
            .attestations
            .range((e, 0)..=(e, u32::MAX))
            .filter(|(_, by)| by.contains_key(&signer))
            .count();
        if rounds_of_signer >= MAX_ROUNDS_PER_SIGNER
            && !self
                .attestations
                .get(&(e, b.round))
                .is_some_and(|by| by.contains_key(&signer))
        {
            return vec![Step::Rejected {
                channel: "batch",
                reason: "too many rounds",
            }];
        }
        let signature = Bytes::from(att.signature);
        let digest = batch::digest(&b, &self.domain);
        let slot = self.attestations.entry((e, b.round)).or_default();
        match slot.get(&signer) {
            Some((first, sig)) if batch::digest(first, &self.domain) != digest => {
                let first = (first.clone(), sig.clone());
                return self
                    .prove(signer, first, (b, signature))
                    .into_iter()
                    .collect();
            }
            Some(_) => {}
            None => {
                slot.insert(signer, (b.clone(), signature));
            }
        }
        self.providers.entry(b.dataCid.clone()).or_insert(peer);
        let mut steps = vec![];
        if e == self.epoch + 1
            && !self.checked.contains_key(&digest)
            && self.checking.insert(digest)
        {
            steps.push(Step::Check {
                peer,
                batch: b,
                ledger: self.ledger.clone(),
                verified: self.verified.clone(),
                chain: self.chain.clone(),
            });
        }
        steps.extend(self.try_submit(now));
        steps
    }

    /// A batch gossiped by others was checked: `Ok` with the batch this
    /// validator arrives at and the transcripts it verified on the way.
    pub fn on_checked(
        &mut self,
        digest: B256,
        result: Result<(Checked, Vec<(String, verifier::Verified)>), String>,
    ) -> Vec<Step> {
        self.checking.remove(&digest);
        match result {
            Ok((c, fresh)) => {
                self.add_verified(fresh);
                self.checked.insert(digest, c);
                self.sign(digest).into_iter().collect()
            }
            Err(e) => {
                tracing::warn!(digest = %digest, error = %e, "batch refused");
                vec![Step::Rejected {
                    channel: "batch",
                    reason: "does not check",
                }]
            }
        }
    }

    /// Transcripts verified while checking or catching up, by their CIDs.
    pub fn add_verified(&mut self, fresh: Vec<(String, verifier::Verified)>) {
        for (cid, v) in fresh {
            self.verified
                .entry(cid)
                .or_insert((v.transcript.header, v.outcome));
        }
    }

    /// This validator's proposal was stored and became `batch`.
    pub fn on_proposed(&mut self, batch: Batch, applied: Applied) -> Vec<Step> {
        let digest = batch::digest(&batch, &self.domain);
        self.checked
            .insert(digest, Checked::new(batch, applied, true));
        self.sign(digest).into_iter().collect()
    }

    /// This validator signed `b` (its record is on disk, its attestation gossiped).
    pub fn on_signed(&mut self, b: Batch, signature: Bytes, now: Instant) -> Vec<Step> {
        self.signed = Some((b.round, batch::digest(&b, &self.domain)));
        self.attestations
            .entry((b.epoch, b.round))
            .or_default()
            .insert(self.me, (b, signature));
        self.try_submit(now).into_iter().collect()
    }

    /// Signs the checked batch `digest` unless this validator signed
    /// another batch in its round or a later one. The batch it signed last
    /// it signs again (the same signature: after a crash between its record
    /// and its gossip, the others still get it).
    fn sign(&mut self, digest: B256) -> Option<Step> {
        let c = self.checked.get(&digest)?;
        if c.batch.epoch != self.epoch + 1 {
            return None;
        }
        if let Some((round, prev)) = self.signed {
            if prev == digest {
                // Signed and gossiped already: nothing to send again.
                let sent = self
                    .attestations
                    .get(&(c.batch.epoch, c.batch.round))
                    .is_some_and(|a| a.contains_key(&self.me));
                return (!sent).then(|| Step::Sign(c.batch.clone()));
            }
            if c.batch.round <= round {
                tracing::warn!(
                    epoch = c.batch.epoch,
                    round = c.batch.round,
                    signed_in = round,
                    "not signing a second batch in a round already signed"
                );
                return None;
            }
        }
        Some(Step::Sign(c.batch.clone()))
    }

    /// The next epoch's batch, once ≥ 2/3 of the validators signed it and
    /// this validator may submit it (at once if it proposed it, after the
    /// grace period otherwise, and not again before a failed try's backoff).
    pub fn try_submit(&mut self, now: Instant) -> Option<Step> {
        let e = self.epoch + 1;
        // The latest round first: an earlier round's batch may be one that
        // failed on chain.
        let mut by_digest: Vec<(u32, B256, Vec<BatchSig>)> = vec![];
        let rounds = self.attestations.range((e, 0)..=(e, u32::MAX)).rev();
        for (signer, (b, sig)) in rounds.flat_map(|(_, atts)| atts) {
            if !self.validators.contains(signer) {
                continue;
            }
            let digest = batch::digest(b, &self.domain);
            let sig = BatchSig {
                signer: *signer,
                signature: sig.clone(),
            };
            match by_digest.iter_mut().find(|(_, d, _)| *d == digest) {
                Some((_, _, sigs)) => sigs.push(sig),
                None => by_digest.push((b.round, digest, vec![sig])),
            }
        }
        by_digest.sort_by_key(|(round, digest, _)| (std::cmp::Reverse(*round), *digest));
        for (_, digest, sigs) in by_digest {
            if !self.validators.is_quorum(sigs.iter().map(|s| &s.signer)) {
                continue;
            }
            let Some(c) = self.checked.get_mut(&digest) else {
                continue;
            };
            let since = *c.quorum_since.get_or_insert(now);
            if (!c.proposed_here && now.saturating_duration_since(since) < self.pace.submit_grace)
                || c.next_try.is_some_and(|t| now < t)
            {
                continue;
            }
            c.next_try = Some(now + self.pace.poll * 8);
            return Some(Step::Submit {
                batch: c.batch.clone(),
                mints: c.mints.clone(),
                slashes: c.slashes.clone(),
                signatures: batch::ordered(sigs),
                items: c.items,
            });
        }
        None
    }

    /// The leader's proposal for the next epoch, when this validator leads
    /// the current round, the epoch interval has passed, it has not signed
    /// for the epoch yet and it has candidates.
    pub fn propose(&mut self, now: Instant) -> Vec<Step> {
        let Some((e, round)) = self.leads(now) else {
            return vec![];
        };
        let elapsed = now.saturating_duration_since(self.epoch_began);
        // Past `beacon_every` an empty batch is worth its gas: it is the
        // next beacon players agree matches from. So it is when a match
        // waits for the chain's clock and the chain makes no blocks of its
        // own accord (a local anvil mines only transactions): the batch is
        // the block that moves the clock on.
        let idle_chain = self
            .chain
            .epochs
            .get(&self.epoch)
            .is_some_and(|s| self.chain.head.time <= s.at);
        // A match that waits moves an idle chain's clock at most every
        // quarter of `beacon_every`: waiting matches cannot buy a batch per
        // epoch interval.
        let heartbeat = elapsed >= self.pace.beacon_every
            || (self.waiting_for_time && idle_chain && elapsed >= self.pace.beacon_every / 4);
        // A head older than the last settlement (a chain read with more
        // than one confirmation, just after a settlement) would make a
        // batch every follower refuses: wait for the head to pass it.
        if self.chain.check_reference(&self.chain.head, e).is_err() {
            return vec![];
        }
        if self.refs.is_empty()
            && self.bindings.is_empty()
            && self.actions.is_empty()
            && self.evidence.is_empty()
            && !heartbeat
        {
            return vec![];
        }
        // Drops mint to the wallets bonded at the head: without the bonds
        // read there, the batch could differ from what followers arrive at.
        if self.bonded.0 != self.chain.head.block && !self.candidate_wallets().is_empty() {
            return vec![];
        }
        // Likewise the owned items the seats equip, at their beacons.
        let needed = self.candidate_holdings();
        if needed.iter().any(|h| !self.held.contains_key(h)) {
            return vec![];
        }
        let held: Holdings = needed
            .into_iter()
            .filter(|h| self.held.get(h) == Some(&true))
            .collect();
        let cx = Context {
            chain_id: self.chain_id,
            binding_domain: &self.binding_domain,
            verified: &self.verified,
            chain: &self.chain,
            bonded: &self.bonded.1,
            held: &held,
        };
        let candidates = Candidates {
            bindings: self.bindings.values().cloned().collect(),
            transcripts: self.refs.values().cloned().collect(),
            actions: self.actions.values().cloned().collect(),
            evidence: self.evidence.values().cloned().collect(),
        };
        let (data, applied, left_out) = proposal::build(&self.ledger, e, candidates, &cx);
        let mut steps = vec![];
        self.waiting_for_time = false;
        for l in &left_out {
            if l.reason == Rejected::NotYet {
                // The head moves on; a later build takes it.
                tracing::debug!(entry = ?l.entry, "waits for chain time to pass its end");
                self.waiting_for_time = true;
                continue;
            }
            tracing::info!(entry = ?l.entry, reason = %l.reason, "left out of the batch");
            steps.push(Step::Rejected {
                channel: l.entry.channel(),
                reason: l.reason.label(),
            });
            match l.entry {
                proposal::Entry::Binding(k) => {
                    self.bindings.remove(&k);
                }
                // What did not fit this batch waits for the next; so does a
                // match from the epoch this one settles, which the chain may
                // have settled before this validator caught up.
                proposal::Entry::Transcript(_) if l.reason.waits() => {}
                proposal::Entry::Transcript(m)
                    if l.reason == Rejected::FutureBeacon && self.beacon_epoch(&m) == Some(e) => {}
                proposal::Entry::Transcript(m) => {
                    self.refs.remove(&m);
                }
                // An action whose predecessor has not arrived may fit a later batch.
                proposal::Entry::Action(..) if matches!(l.reason, Rejected::NonceGap { .. }) => {}
                proposal::Entry::Action(p, n) => {
                    self.actions.remove(&(p, n));
                }
                proposal::Entry::Evidence(_) if l.reason.waits() => {}
                proposal::Entry::Evidence(o) => {
                    self.evidence.retain(|_, ev| ev.offence() != o);
                }
            }
        }
        if !data.is_empty() || heartbeat {
            steps.push(Step::Propose {
                round,
                data,
                applied,
            });
        }
        steps
    }

    /// This validator's own attestation for the next epoch, every third
    /// poll, until the epoch settles.
    pub fn republish(&mut self, now: Instant) -> Option<Step> {
        if now.saturating_duration_since(self.last_gossip) < self.pace.poll * 3 {
            return None;
        }
        self.last_gossip = now;
        let e = self.epoch + 1;
        let (b, sig) = self
            .attestations
            .range((e, 0)..=(e, u32::MAX))
            .rev()
            .find_map(|(_, atts)| atts.get(&self.me))?;
        Some(Step::Republish(b.clone(), sig.clone()))
    }

    /// What this validator already checked of settled epoch `e` with `root`
    /// and data `cid`: the ledger after it and its unbound rewards.
    pub fn known(&self, e: u64, root: B256, cid: &str) -> Option<(Ledger, usize)> {
        self.checked
            .values()
            .find(|c| c.batch.epoch == e && c.batch.newRoot == root && c.batch.dataCid == cid)
            .map(|c| (c.ledger.clone(), c.unbound))
    }

    /// The peer that first gossiped a batch with data `cid`.
    pub fn provider(&self, cid: &str) -> Option<PeerId> {
        self.providers.get(cid).copied()
    }

    /// The chain settled the next epoch with `ledger` as its result.
    pub fn settled(&mut self, ledger: Ledger, now: Instant) {
        self.ledger = ledger;
        self.epoch += 1;
        self.epoch_began = now;
        self.signed = None;
        self.prune();
    }

    /// Records that `signer` signed two batches for one (epoch, round), once per epoch.
    fn prove(
        &mut self,
        signer: Address,
        first: (Batch, Bytes),
        second: (Batch, Bytes),
    ) -> Option<Step> {
        let e = first.0.epoch;
        if !self.proven.insert((e, signer)) {
            return None;
        }
        tracing::warn!(epoch = e, validator = %signer, "validator signed two batches for one epoch; proving it on chain");
        Some(Step::Prove {
            signer,
            first,
            second,
        })
    }

    /// Drops candidates the ledger now holds and agreement state of past epochs.
    fn prune(&mut self) {
        let l = &self.ledger;
        self.refs.retain(|id, _| !l.credited.contains(id));
        self.verified
            .retain(|_, (h, _)| !l.credited.contains(&h.match_id));
        self.actions
            .retain(|(p, n), _| l.account(p).is_none_or(|a| *n >= a.next_nonce));
        // Actions of keys still without a wallet had an epoch for their
        // binding to arrive.
        let bindings = &self.bindings;
        self.actions.retain(|(p, _), _| {
            l.account(p).is_some_and(|a| a.wallet.is_some()) || bindings.contains_key(p)
        });
        let (epochs, now) = (&self.action_epochs, self.epoch);
        self.actions.retain(|k, _| {
            epochs
                .get(k)
                .is_none_or(|e| e.saturating_add(ACTION_TTL_EPOCHS) > now)
        });
        let actions = &self.actions;
        self.action_epochs.retain(|k, _| actions.contains_key(k));
        self.bindings.retain(|k, b| {
            l.account(k)
                .is_none_or(|a| a.wallet.is_none() || b.nonce > a.binding_nonce)
        });
        self.evidence
            .retain(|_, ev| !l.slashed.contains(&ev.offence()));
        let e = self.epoch;
        self.checked.retain(|_, c| c.batch.epoch > e);
        self.attestations
            .retain(|(k, _), _| k.saturating_add(KEEP_ATTESTATIONS) > e);
        self.providers.retain(|cid, _| {
            self.checked.values().any(|c| c.batch.dataCid == *cid)
                || self
                    .attestations
                    .values()
                    .flat_map(|m| m.values())
                    .any(|(b, _)| b.dataCid == *cid)
        });
    }
}

/// A match id's first hex digits, for logs.
pub(crate) fn short(id: &[u8; 32]) -> String {
    cyteria_game::transcript::hex_id(id)[..12].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::signers::local::PrivateKeySigner;
    use cyteria_node::content::cid_of;
    use cyteria_node::wire::WireBatch;
    use cyteria_settlement::binding;

    const CHAIN: u64 = 31337;
    const PACE: Pace = Pace {
        epoch_interval: Duration::from_secs(10),
        round_timeout: Duration::from_secs(30),
        submit_grace: Duration::from_secs(10),
        poll: Duration::from_secs(1),
        beacon_every: Duration::from_secs(3_600),
    };

    struct Net {
        keys: Vec<PrivateKeySigner>,
        domain: Eip712Domain,
        t0: Instant,
    }

    impl Net {
        fn new() -> Net {
            let mut keys: Vec<_> = (1..=3u8)
                .map(|i| PrivateKeySigner::from_bytes(&B256::repeat_byte(i)).unwrap())
                .collect();
            keys.sort_by_key(|k| k.address());
            Net {
                keys,
                domain: batch::domain(CHAIN, Address::repeat_byte(9)),
                t0: Instant::now(),
            }
        }

        /// Validator `i`'s state, with the three keys as the validator set.
        fn state(&self, i: usize) -> State {
            let mut s = State::new(
                self.keys[i].address(),
                PACE,
                CHAIN,
                self.domain.clone(),
                binding::domain(CHAIN, Address::repeat_byte(9)),
                0,
                Ledger::default(),
                self.t0,
            );
            s.set_validators(ValidatorSet::equal(self.keys.iter().map(|k| k.address())));
            // The deployment at 1 000 s; the head a minute on.
            let deployed = cyteria_settlement::provenance::Settled {
                root: [0; 32],
                at: 1_000,
                block: 1,
            };
            s.set_chain_time(ChainTime {
                deployment: Default::default(),
                epochs: [(0, deployed)].into(),
                tick_rate: 60,
                head: Reference::default(),
            });
            s.set_head(Reference {
                block: 30,
                time: 1_060,
            });
            s
        }

        fn attestation(&self, i: usize, b: &Batch) -> Attestation {
            Attestation {
                batch: WireBatch::from(b),
                signature: batch::sign(&self.keys[i], b, &self.domain)
                    .unwrap()
                    .signature
                    .to_vec(),
            }
        }
    }

    fn batch(epoch: u64, root: u8) -> Batch {
        Batch {
            epoch,
            round: 0,
            prevRoot: B256::ZERO,
            newRoot: B256::repeat_byte(root),
            dataCid: cid_of(&[root]).to_string(),
            metadataCid: String::new(),
            mintsHash: B256::ZERO,
            slashesHash: B256::ZERO,
        }
    }

    fn checked(b: &Batch, proposed_here: bool) -> Checked {
        let applied = Applied {
            ledger: Ledger::default(),
            items: vec![],
            mints: vec![],
            unbound: vec![],
            unbonded: vec![],
            slashes: vec![],
        };
        Checked::new(b.clone(), applied, proposed_here)
    }

    fn announce(n: u8) -> Announce {
        Announce {
            match_id: [n; 32],
            cid: cid_of(&[n]),
            frames: 60,
            final_checksum: cyteria_game::Checksum([0; 32]),
            claims: [0; 32],
        }
    }

    #[test]
    fn two_versions_of_a_match_that_end_differently_are_evidence_against_each_signer() {
        use cyteria_game::Rules;
        use cyteria_game::transcript::END_FINISHED;
        use cyteria_game::transcript::{Beacon, MatchHeader, PlayerSlot};
        use cyteria_node::identity::Identity;
        use cyteria_node::signing::sign_end;
        use cyteria_settlement::evidence::Conflict;
        let net = Net::new();
        let mut s = net.state(0);
        let ids = [Identity::generate(), Identity::generate()];
        let seats = ids
            .iter()
            .map(|id| PlayerSlot::starter(id.public_key()))
            .collect();
        let rules = Rules {
            waves: 20,
            time_limit: 240,
        };
        let header = MatchHeader::from_beacon([0xD2; 32], Beacon::default(), rules, seats);
        let whole = cyteria_node::adversary::fabricate(&ids, header, 240);
        // Both seats also sign the end of a cut at frame 120: a second
        // version whose every signature holds.
        let mut cut = cyteria_node::adversary::cut_at(&whole, 120);
        let digest = cut.header.digest();
        cut.ends = ids
            .iter()
            .map(|id| {
                Some(sign_end(
                    id,
                    &digest,
                    120,
                    END_FINISHED,
                    &cut.final_checksum,
                ))
            })
            .collect();
        // Both keys are bound: they have wallets to slash.
        for (i, id) in ids.iter().enumerate() {
            s.ledger.accounts.insert(
                id.public_key(),
                cyteria_settlement::ledger::Account {
                    wallet: Some([i as u8 + 1; 20]),
                    ..Default::default()
                },
            );
        }
        let arrive = |s: &mut State, t: &cyteria_game::transcript::Transcript, n: u8| {
            let v = verifier::verify_transcript(&t.encode()).expect("each version verifies");
            let a = Announce {
                match_id: t.header.match_id,
                cid: cid_of(&[n]),
                ..announce(n)
            };
            s.on_transcript(PeerId::random(), a, Ok(v));
        };
        arrive(&mut s, &whole, 1);
        assert!(s.evidence.is_empty(), "one version is no evidence");
        arrive(&mut s, &whole, 1);
        assert!(s.evidence.is_empty(), "nor is the same version again");
        arrive(&mut s, &cut, 2);
        let offenders: Vec<[u8; 32]> = s.evidence.values().map(|e| e.check().unwrap()).collect();
        assert_eq!(offenders.len(), 2, "both seats signed both ends");
        for id in &ids {
            assert!(offenders.contains(&id.public_key()));
        }
        assert!(
            s.evidence
                .values()
                .all(|e| matches!(e.conflict, Conflict::Ends { .. }))
        );
    }

    /// One seat alone signs an early end naming the other as gone and
    /// announces it first: the longer version, announced after, is still
    /// fetched, replaces it, and shows the seat signed two ends.
    #[test]
    fn a_longer_version_replaces_an_early_end_one_seat_signed_alone() {
        use cyteria_game::Rules;
        use cyteria_game::transcript::{Beacon, MatchHeader, PlayerSlot, ending_left};
        use cyteria_node::identity::Identity;
        use cyteria_node::signing::sign_end;
        let net = Net::new();
        let mut s = net.state(0);
        let ids = [Identity::generate(), Identity::generate()];
        let seats = ids
            .iter()
            .map(|id| PlayerSlot::starter(id.public_key()))
            .collect();
        let rules = Rules {
            waves: 20,
            time_limit: 240,
        };
        let header = MatchHeader::from_beacon([0xD3; 32], Beacon::default(), rules, seats);
        let whole = cyteria_node::adversary::fabricate(&ids, header, 240);
        let mut early = cyteria_node::adversary::cut_at(&whole, 120);
        let digest = early.header.digest();
        let ending = ending_left([1]);
        early.ends = vec![
            Some(sign_end(
                &ids[0],
                &digest,
                120,
                ending,
                &early.final_checksum,
            )),
            None,
        ];
        for (i, id) in ids.iter().enumerate() {
            s.ledger.accounts.insert(
                id.public_key(),
                cyteria_settlement::ledger::Account {
                    wallet: Some([i as u8 + 1; 20]),
                    ..Default::default()
                },
            );
        }
        let announced = |t: &cyteria_game::transcript::Transcript, n: u8| Announce {
            match_id: t.header.match_id,
            cid: cid_of(&[n]),
            frames: t.frames(),
            ..announce(n)
        };
        let peer = PeerId::random();
        assert_eq!(fetches(&s.on_announce(peer, announced(&early, 1))), 1);
        let v =
            verifier::verify_transcript(&early.encode()).expect("a lone seat's early end verifies");
        s.on_transcript(peer, announced(&early, 1), Ok(v));
        assert_eq!(s.refs[&whole.header.match_id].cid, cid_of(&[1]).to_string());
        // Another version no longer than the one kept is not fetched…
        let mut same = announced(&early, 3);
        same.frames = 120;
        assert_eq!(fetches(&s.on_announce(peer, same)), 0);
        // …a longer one is, and replaces it.
        assert_eq!(fetches(&s.on_announce(peer, announced(&whole, 2))), 1);
        let v = verifier::verify_transcript(&whole.encode()).unwrap();
        s.on_transcript(peer, announced(&whole, 2), Ok(v));
        assert_eq!(s.refs[&whole.header.match_id].cid, cid_of(&[2]).to_string());
        let offenders: Vec<[u8; 32]> = s.evidence.values().map(|e| e.check().unwrap()).collect();
        assert_eq!(
            offenders,
            vec![ids[0].public_key()],
            "only the seat that signed both ends"
        );
    }

    fn fetches(steps: &[Step]) -> usize {
        steps
            .iter()
            .filter(|s| matches!(s, Step::Fetch { .. }))
            .count()
    }

    #[test]
    fn an_announcement_is_fetched_once_and_again_only_after_giving_up() {
        let net = Net::new();
        let mut s = net.state(0);
        let peer = PeerId::random();
        assert_eq!(fetches(&s.on_announce(peer, announce(1))), 1);
        assert_eq!(fetches(&s.on_announce(peer, announce(1))), 0);
        let retry = s.on_fetch_failed(peer, announce(1), 0, "timeout");
        assert!(
            matches!(retry[..], [Step::FetchLater { after, attempt: 1, .. }] if after == FETCH_RETRY)
        );
        let retry = s.on_fetch_failed(peer, announce(1), 2, "timeout");
        assert!(
            matches!(retry[..], [Step::FetchLater { after, attempt: 3, .. }] if after == FETCH_RETRY * 4)
        );
        assert!(
            s.on_fetch_failed(peer, announce(1), FETCH_ATTEMPTS - 1, "timeout")
                .is_empty()
        );
        assert_eq!(fetches(&s.on_announce(peer, announce(1))), 1);
    }

    fn junk_action(player: [u8; 32], nonce: u64) -> ActionMessage {
        ActionMessage::Act(SignedAction {
            player,
            nonce,
            chain_id: CHAIN,
            settlement: [9; 20],
            action: cyteria_settlement::action::Action::Craft { recipe: 0 },
            signature: cyteria_game::transcript::Signature([0; 64]),
        })
    }

    #[test]
    fn twenty_thousand_future_nonce_actions_keep_a_bounded_pool() {
        let net = Net::new();
        let mut s = net.state(0);
        let mut refused = 0;
        // One key, nonces 0..10 000: only the first MAX_NONCE_AHEAD are kept.
        for n in 0..10_000u64 {
            refused += usize::from(s.on_action(junk_action([1; 32], n)).is_some());
        }
        assert_eq!(s.actions.len(), MAX_NONCE_AHEAD as usize);
        // Ten thousand keys with no wallet: their pool fills and stops.
        for k in 0..10_000u32 {
            let mut key = [2; 32];
            key[..4].copy_from_slice(&k.to_le_bytes());
            refused += usize::from(s.on_action(junk_action(key, 0)).is_some());
        }
        assert!(
            s.actions.len() <= MAX_UNBOUND_ACTIONS,
            "{}",
            s.actions.len()
        );
        assert!(refused >= 20_000 - MAX_UNBOUND_ACTIONS);
        // A key whose binding waits here has the larger pool.
        let kept = s.actions.len();
        s.bindings.insert([7; 32], test_binding([7; 32]));
        assert_eq!(s.on_action(junk_action([7; 32], 0)), None);
        assert_eq!(s.actions.len(), kept + 1);
        // After the next settlement, actions of keys still unbound are dropped.
        s.prune();
        assert_eq!(s.actions.len(), 1);
        // And a pending action waits ACTION_TTL_EPOCHS at most.
        s.epoch += ACTION_TTL_EPOCHS;
        s.prune();
        assert!(s.actions.is_empty() && s.action_epochs.is_empty());
    }

    #[test]
    fn an_action_signed_for_another_deployment_on_this_chain_is_refused() {
        let net = Net::new();
        let mut s = net.state(0);
        let ActionMessage::Act(mut a) = junk_action([1; 32], 0) else {
            unreachable!()
        };
        a.settlement = [8; 20];
        assert_eq!(s.on_action(ActionMessage::Act(a)), Some("wrong deployment"));
        assert!(s.actions.is_empty());
    }

    fn test_binding(game_key: [u8; 32]) -> SignedBinding {
        SignedBinding {
            game_key,
            wallet: Address::repeat_byte(3),
            nonce: 1,
            signature: Bytes::from(vec![0; 65]),
            key_signature: Bytes::from(vec![0; 64]),
        }
    }

    #[test]
    fn strangers_attestations_read_the_set_once_in_a_while_and_far_epochs_are_refused() {
        let net = Net::new();
        let mut s = net.state(0);
        let b = batch(1, 1);
        let mut refreshes = 0;
        for i in 0..50u8 {
            let stranger = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x50 + i)).unwrap();
            let att = Attestation {
                batch: WireBatch::from(&b),
                signature: batch::sign(&stranger, &b, &net.domain)
                    .unwrap()
                    .signature
                    .to_vec(),
            };
            let steps = s.on_attestation(PeerId::random(), att, false, net.t0);
            refreshes += steps
                .iter()
                .filter(|s| matches!(s, Step::RefreshAndRetry { .. }))
                .count();
        }
        assert_eq!(refreshes, 1, "one chain read for fifty strangers");
        let later = net.t0 + REFRESH_EVERY;
        let stranger = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x99)).unwrap();
        let att = Attestation {
            batch: WireBatch::from(&b),
            signature: batch::sign(&stranger, &b, &net.domain)
                .unwrap()
                .signature
                .to_vec(),
        };
        assert!(matches!(
            s.on_attestation(PeerId::random(), att, false, later)[..],
            [Step::RefreshAndRetry { .. }]
        ));
        // A member's attestation for an epoch far ahead is not kept.
        let far = batch(1_000_000, 1);
        let steps = s.on_attestation(PeerId::random(), net.attestation(1, &far), false, later);
        assert!(matches!(
            steps[..],
            [Step::Rejected {
                reason: "epoch out of range",
                ..
            }]
        ));
        assert!(s.attestations.is_empty());
        // Nor more than MAX_ROUNDS_PER_SIGNER rounds of one epoch from one
        // signer; another signer's rounds are still taken.
        for round in 0..(MAX_ROUNDS_PER_SIGNER as u32 + 10) {
            let mut b = batch(1, 1);
            b.round = round;
            s.on_attestation(PeerId::random(), net.attestation(1, &b), false, later);
        }
        assert_eq!(s.attestations.len(), MAX_ROUNDS_PER_SIGNER);
        let mut b = batch(1, 1);
        b.round = 40;
        s.on_attestation(PeerId::random(), net.attestation(2, &b), false, later);
        assert!(s.attestations.contains_key(&(1, 40)));
    }

    #[test]
    fn seen_announcements_are_bounded() {
        let mut r = Recent::new(3);
        for i in 0..10 {
            assert!(r.insert(i));
        }
        assert_eq!(r.len(), 3);
        assert!(!r.insert(9));
        assert!(r.insert(0), "the oldest were forgotten");
    }

    #[test]
    fn an_attestation_from_an_unknown_signer_asks_for_the_set_once_then_costs_score() {
        let net = Net::new();
        let mut s = net.state(0);
        let stranger = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x44)).unwrap();
        let b = batch(1, 1);
        let att = Attestation {
            batch: WireBatch::from(&b),
            signature: batch::sign(&stranger, &b, &net.domain)
                .unwrap()
                .signature
                .to_vec(),
        };
        let peer = PeerId::random();
        let first = s.on_attestation(peer, att.clone(), false, net.t0);
        assert!(matches!(first[..], [Step::RefreshAndRetry { .. }]));
        let second = s.on_attestation(peer, att, true, net.t0);
        assert!(matches!(
            second[..],
            [Step::Penalise {
                misbehaviour: Misbehaviour::NotAValidator,
                ..
            }]
        ));
        // r = 0 recovers no key (a flipped byte may still recover some address).
        let mut junk = net.attestation(1, &b);
        junk.signature[..32].fill(0);
        let third = s.on_attestation(peer, junk, false, net.t0);
        assert!(matches!(
            third[..],
            [Step::Penalise {
                misbehaviour: Misbehaviour::BadAttestationSignature,
                ..
            }]
        ));
    }

    #[test]
    fn a_validator_that_signs_two_batches_for_an_epoch_is_proven_once() {
        let net = Net::new();
        let mut s = net.state(0);
        let peer = PeerId::random();
        let steps = s.on_attestation(peer, net.attestation(1, &batch(1, 1)), false, net.t0);
        assert!(steps.iter().all(|s| !matches!(s, Step::Prove { .. })));
        let steps = s.on_attestation(peer, net.attestation(1, &batch(1, 2)), false, net.t0);
        assert!(
            matches!(steps[..], [Step::Prove { signer, .. }] if signer == net.keys[1].address())
        );
        let steps = s.on_attestation(peer, net.attestation(1, &batch(1, 3)), false, net.t0);
        assert!(steps.is_empty(), "{steps:?}");
    }

    #[test]
    fn a_batch_that_failed_is_signed_again_in_the_next_round_and_that_is_no_equivocation() {
        let net = Net::new();
        let mut s = net.state(0);
        let b0 = batch(1, 1);
        let d0 = batch::digest(&b0, &net.domain);
        let steps = s.on_checked(d0, Ok((checked(&b0, false), vec![])));
        assert!(matches!(&steps[..], [Step::Sign(x)] if *x == b0));
        s.on_signed(b0.clone(), net.attestation(0, &b0).signature.into(), net.t0);
        // Another batch in the same round is not signed.
        let other = batch(1, 2);
        let d = batch::digest(&other, &net.domain);
        assert!(
            s.on_checked(d, Ok((checked(&other, false), vec![])))
                .is_empty()
        );
        // The round-0 batch failed on chain; round 1's leader proposes again.
        let mut b1 = batch(1, 3);
        b1.round = 1;
        let d1 = batch::digest(&b1, &net.domain);
        let steps = s.on_checked(d1, Ok((checked(&b1, false), vec![])));
        assert!(
            matches!(&steps[..], [Step::Sign(x)] if *x == b1),
            "{steps:?}"
        );
        s.on_signed(b1.clone(), net.attestation(0, &b1).signature.into(), net.t0);
        // Back to round 0: no.
        let late = batch(1, 4);
        let dl = batch::digest(&late, &net.domain);
        assert!(
            s.on_checked(dl, Ok((checked(&late, false), vec![])))
                .is_empty()
        );
        // Another validator seen signing in rounds 0 and 1 is no equivocator.
        let peer = PeerId::random();
        for b in [&b0, &b1] {
            let steps = s.on_attestation(peer, net.attestation(1, b), false, net.t0);
            assert!(
                steps.iter().all(|s| !matches!(s, Step::Prove { .. })),
                "{steps:?}"
            );
        }
        // Round 1 has a quorum (two of three) and is submitted; round 0 has not.
        let submit = s.try_submit(net.t0 + PACE.submit_grace);
        assert!(
            matches!(&submit, Some(Step::Submit { batch, signatures, .. }) if *batch == b1 && signatures.len() == 2),
            "{submit:?}"
        );
        // A validator restarted after recording its round-1 signature signs
        // that batch again when it sees it (the same signature goes out),
        // and nothing of round 0.
        let mut r = net.state(0);
        r.signed_before(1, d1);
        let steps = r.on_checked(d1, Ok((checked(&b1, false), vec![])));
        assert!(
            matches!(&steps[..], [Step::Sign(x)] if *x == b1),
            "{steps:?}"
        );
        assert!(
            r.on_checked(d0, Ok((checked(&b0, false), vec![])))
                .is_empty()
        );
    }

    #[test]
    fn the_quorum_is_two_thirds_of_the_stake_not_of_the_heads() {
        let net = Net::new();
        let mut s = net.state(0);
        // One validator holds most of the stake: the two others are no quorum.
        let addrs: Vec<Address> = net.keys.iter().map(|k| k.address()).collect();
        let ether = alloy::primitives::U256::from(10u64).pow(alloy::primitives::U256::from(18));
        let w = [800, 100, 100].map(|n| alloy::primitives::U256::from(n) * ether);
        s.set_validators(ValidatorSet::new(
            addrs.clone(),
            w.to_vec(),
            w.iter().copied().sum(),
        ));
        let b = batch(1, 1);
        let d = batch::digest(&b, &net.domain);
        s.on_checked(d, Ok((checked(&b, false), vec![])));
        let peer = PeerId::random();
        for i in [1, 2] {
            s.on_attestation(peer, net.attestation(i, &b), false, net.t0);
        }
        assert!(
            s.try_submit(net.t0 + PACE.submit_grace).is_none(),
            "two heads, a fifth of the stake"
        );
        s.on_signed(b.clone(), net.attestation(0, &b).signature.into(), net.t0);
        assert!(s.try_submit(net.t0 + PACE.submit_grace).is_some());
    }

    #[test]
    fn a_follower_signs_one_batch_per_epoch_and_submits_a_quorum_only_after_the_grace() {
        let net = Net::new();
        let mut s = net.state(0);
        let b = batch(1, 1);
        let d = batch::digest(&b, &net.domain);
        let steps = s.on_checked(d, Ok((checked(&b, false), vec![])));
        assert!(matches!(&steps[..], [Step::Sign(x)] if *x == b));
        let own = net.attestation(0, &b);
        let t = net.t0;
        assert!(
            s.on_signed(b.clone(), own.signature.into(), t).is_empty(),
            "one of three is no quorum"
        );
        // Another batch for the same epoch checks too: it is not signed.
        let other = batch(1, 2);
        let d2 = batch::digest(&other, &net.domain);
        assert!(
            s.on_checked(d2, Ok((checked(&other, false), vec![])))
                .is_empty()
        );
        // A second signature makes the quorum; the follower waits out the grace.
        let steps = s.on_attestation(PeerId::random(), net.attestation(1, &b), false, t);
        assert!(steps.iter().all(|s| !matches!(s, Step::Submit { .. })));
        assert!(s.try_submit(t + PACE.submit_grace / 2).is_none());
        let submit = s.try_submit(t + PACE.submit_grace);
        assert!(
            matches!(&submit, Some(Step::Submit { batch, signatures, .. }) if *batch == b && signatures.len() == 2)
        );
        // A failed try backs off before the next.
        assert!(s.try_submit(t + PACE.submit_grace + PACE.poll).is_none());
        assert!(
            s.try_submit(t + PACE.submit_grace + PACE.poll * 8)
                .is_some()
        );
    }

    #[test]
    fn the_leader_proposes_after_the_interval_in_its_own_round_and_only_with_candidates() {
        let net = Net::new();
        let leader = epoch::leader(
            &net.keys.iter().map(|k| k.address()).collect::<Vec<_>>(),
            1,
            0,
        )
        .unwrap();
        let i = net.keys.iter().position(|k| k.address() == leader).unwrap();
        let mut s = net.state(i);
        let mut other = net.state((i + 1) % 3);
        let later = net.t0 + PACE.epoch_interval;
        assert!(s.propose(later).is_empty(), "nothing to propose");
        let wallet = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x55)).unwrap();
        let player = cyteria_node::identity::Identity::generate();
        let b = binding::bind(
            &wallet,
            player.public_key(),
            |m| player.sign(m),
            1,
            &binding::domain(CHAIN, Address::repeat_byte(9)),
        )
        .unwrap();
        for st in [&mut s, &mut other] {
            assert_eq!(st.on_action(ActionMessage::Bind(b.clone())), None);
        }
        assert!(s.propose(net.t0 + PACE.epoch_interval / 2).is_empty());
        assert!(other.propose(later).is_empty(), "not its round");
        // A head read from before the last settlement would give a batch
        // every follower refuses: the leader waits for a later one.
        s.set_head(Reference {
            block: 1,
            time: 999,
        });
        assert!(
            s.propose(later).is_empty(),
            "a head before the last settlement"
        );
        s.set_head(Reference {
            block: 30,
            time: 1_060,
        });
        assert!(
            s.propose(later).is_empty(),
            "the wallet's bond not read at the head"
        );
        assert_eq!(other.bond_queries(later), None, "not its round");
        assert_eq!(s.bond_queries(later), Some([wallet.address()].into()));
        s.set_bonded(30, Bonded::default());
        let steps = s.propose(later);
        assert!(
            matches!(&steps[..], [Step::Propose { round: 0, data, .. }] if data.bindings.len() == 1),
            "{steps:?}"
        );
        // A round later, the next validator leads.
        other.set_bonded(30, Bonded::default());
        assert!(!other.propose(later + PACE.round_timeout).is_empty());
    }
}
