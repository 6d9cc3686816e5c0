//! The validator role: verifies announced matches and signed actions, keeps
//! the off-chain ledger, agrees on one batch per epoch with the other
//! validators, and settles it on chain.
//!
//! One loop owns the state; fetching and re-simulating run in tasks that
//! report back. What must survive a crash is written to sled before it is
//! acted on: the ledger of the last settled epoch, the batch this validator
//! signed for an epoch (so it never signs a second one — that would be
//! slashable), the submission it is about to send, and equivocation
//! evidence.
//!
//! Agreement: the leader of an epoch's round ([`epoch::leader`] over the
//! validator set on chain) builds the batch from what it has verified,
//! stores the batch data in the content store, signs, and gossips its
//! attestation. The others fetch the data by CID, re-verify every
//! transcript it names, apply it to their own ledger and sign only if they
//! arrive at the same batch. Whoever holds ≥ 2/3 of the signatures may
//! submit: the leader at once, the others after a grace period. The chain
//! accepts one batch per epoch, and submission skips a settled epoch.

#[cfg(feature = "adversary")]
pub mod adversary;
pub mod localnet;

use cyteria_node::net::Misbehaviour;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, Bytes};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::Eip712Domain;
use cyteria_chain::chain::{Chain, Submitted};
use cyteria_game::codec::Format;
use cyteria_settlement::action::SignedAction;
use cyteria_settlement::batch::{self, Attestation as BatchSig, Batch, Mint};
use cyteria_settlement::binding::{self, SignedBinding};
use cyteria_settlement::epoch;
use cyteria_settlement::ledger::Ledger;
use cyteria_settlement::proposal::{self, BatchData, Context, TranscriptRef, Verified};
use libp2p::PeerId;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, watch};

use cyteria_node::content::{Content, parse_cid};
use cyteria_node::metrics::Metrics;
use cyteria_node::node::Node;
use cyteria_node::store::Store;
use cyteria_node::verifier::{self, Rejection};
use cyteria_node::wire::{self, ActionMessage, Announce, Attestation, WireBatch};

/// How a validator paces itself.
#[derive(Clone, Debug)]
pub struct ValidatorConfig {
    /// Least time between one settlement and the next proposal.
    pub epoch_interval: Duration,
    /// A leader's round; when it passes without a settlement, the next validator leads.
    pub round_timeout: Duration,
    /// How long a validator that is not the proposer waits, once it sees a
    /// quorum, before it submits the batch itself.
    pub submit_grace: Duration,
    pub fetch_timeout: Duration,
    /// How often the chain is read.
    pub poll: Duration,
    /// Misbehave on purpose (tests and the devnet's scenarios only).
    #[cfg(feature = "adversary")]
    pub fault: Option<adversary::Fault>,
}

impl Default for ValidatorConfig {
    fn default() -> Self {
        Self {
            epoch_interval: Duration::from_secs(10),
            round_timeout: Duration::from_secs(30),
            submit_grace: Duration::from_secs(10),
            fetch_timeout: Duration::from_secs(15),
            poll: Duration::from_secs(1),
            #[cfg(feature = "adversary")]
            fault: None,
        }
    }
}

/// A batch this validator checked (or built), ready to sign and submit.
#[derive(Clone, Debug)]
struct Checked {
    batch: Batch,
    mints: Vec<Mint>,
    items: usize,
    /// Match rewards it refuses for want of a wallet binding.
    unbound: usize,
    ledger: Ledger,
    /// Whether this validator built it (the leader submits without waiting).
    proposed_here: bool,
    /// When this validator first saw a quorum for it.
    quorum_since: Option<Instant>,
    /// No submission before this (a failed one backs off).
    next_try: Option<Instant>,
}

/// What a background task reports to the loop.
enum Report {
    Transcript {
        peer: PeerId,
        announce: Announce,
        result: Result<verifier::Verified, Rejection>,
        took: Duration,
    },
    /// A transcript's fetch failed (`attempt`: 0 for the first).
    Fetched {
        peer: PeerId,
        announce: Announce,
        attempt: u32,
        error: String,
    },
    /// Time to fetch it again.
    Refetch {
        peer: PeerId,
        announce: Announce,
        attempt: u32,
    },
    Checked {
        digest: B256,
        result: Result<(Checked, Vec<verifier::Verified>), String>,
    },
}

/// Write-ahead record of a submission.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Submission {
    batch: WireBatch,
    mints: Vec<(Address, Vec<alloy::primitives::U256>)>,
    signatures: Vec<Vec<u8>>,
}

/// Tries to fetch an announced transcript before waiting for it to be
/// announced again, the first retry after [`FETCH_RETRY`], then doubling.
const FETCH_ATTEMPTS: u32 = 5;
const FETCH_RETRY: Duration = Duration::from_secs(5);

const SUBMISSION: Format = Format {
    name: "submission record",
    magic: *b"CYSB",
    version: 1,
    max_bytes: 1 << 20,
};
const SIGNED: Format = Format {
    name: "signed batch record",
    magic: *b"CYSS",
    version: 1,
    max_bytes: 4096,
};
const LEDGER_KEY: &[u8] = b"ledger";

/// The validator's durable state.
struct Durable {
    store: Store,
    state: sled::Tree,
    signed: sled::Tree,
    submissions: sled::Tree,
    evidence: sled::Tree,
}

impl Durable {
    fn open(store: Store) -> anyhow::Result<Self> {
        Ok(Self {
            state: store.tree("validator/state")?,
            signed: store.tree("validator/signed")?,
            submissions: store.tree("validator/submissions")?,
            evidence: store.tree("validator/evidence")?,
            store,
        })
    }

    /// The ledger and the epoch it reflects (an empty ledger before epoch 1).
    fn ledger(&self) -> anyhow::Result<(u64, Ledger)> {
        match self.state.get(LEDGER_KEY)? {
            None => Ok((0, Ledger::default())),
            Some(v) if v.len() >= 8 => {
                let epoch = u64::from_be_bytes(v[..8].try_into()?);
                Ok((epoch, Ledger::decode(&v[8..])?))
            }
            Some(_) => anyhow::bail!("the stored ledger record is damaged"),
        }
    }

    fn put_ledger(&self, epoch: u64, ledger: &Ledger) -> anyhow::Result<()> {
        let mut v = epoch.to_be_bytes().to_vec();
        v.extend_from_slice(&ledger.encode());
        self.state.insert(LEDGER_KEY, v)?;
        self.store.flush()?;
        Ok(())
    }

    fn signed(&self, epoch: u64) -> anyhow::Result<Option<WireBatch>> {
        Ok(match self.signed.get(epoch.to_be_bytes())? {
            Some(v) => Some(SIGNED.decode(&v)?),
            None => None,
        })
    }

    fn put_signed(&self, b: &WireBatch) -> anyhow::Result<()> {
        self.signed
            .insert(b.epoch.to_be_bytes(), SIGNED.encode(b))?;
        self.store.flush()?;
        Ok(())
    }

    fn submission(&self, epoch: u64) -> anyhow::Result<Option<Submission>> {
        Ok(match self.submissions.get(epoch.to_be_bytes())? {
            Some(v) => Some(SUBMISSION.decode(&v)?),
            None => None,
        })
    }

    fn put_submission(&self, s: &Submission) -> anyhow::Result<()> {
        self.submissions
            .insert(s.batch.epoch.to_be_bytes(), SUBMISSION.encode(s))?;
        self.store.flush()?;
        Ok(())
    }
}

/// Handles on a running validator, for its operator and for tests.
#[derive(Clone)]
pub struct ValidatorHandle {
    /// The settled epoch its ledger reflects, and the ledger.
    pub ledger: watch::Receiver<(u64, Arc<Ledger>)>,
}

/// The validator.
pub struct Validator {
    node: Arc<Node>,
    chain: Chain,
    signer: PrivateKeySigner,
    cfg: ValidatorConfig,
    durable: Durable,
    domain: Eip712Domain,
    binding_domain: Eip712Domain,
    // The ledger of the last settled epoch.
    epoch: u64,
    ledger: Ledger,
    ledger_tx: watch::Sender<(u64, Arc<Ledger>)>,
    validators: Vec<Address>,
    epoch_began: Instant,
    // Candidates for the next batch.
    verified: Verified,
    refs: BTreeMap<[u8; 32], TranscriptRef>,
    seen: BTreeSet<String>,
    bindings: BTreeMap<[u8; 32], SignedBinding>,
    actions: BTreeMap<([u8; 32], u64), SignedAction>,
    // Agreement.
    attestations: BTreeMap<u64, BTreeMap<Address, (Batch, Bytes)>>,
    checked: BTreeMap<B256, Checked>,
    checking: BTreeSet<B256>,
    providers: BTreeMap<String, PeerId>,
    proven: BTreeSet<(u64, Address)>,
    last_gossip: Instant,
    reports_tx: mpsc::Sender<Report>,
    reports: Option<mpsc::Receiver<Report>>,
    /// Set by an injected fault: the loop stops as if the process died.
    #[cfg(feature = "adversary")]
    crashed: bool,
}

impl Validator {
    /// A validator over a started node, acting on chain as `signer`.
    pub async fn new(
        node: Arc<Node>,
        chain: Chain,
        signer: PrivateKeySigner,
        cfg: ValidatorConfig,
    ) -> anyhow::Result<(Self, ValidatorHandle)> {
        anyhow::ensure!(
            chain.address == signer.address(),
            "the chain connection signs as another address"
        );
        let durable = Durable::open(node.ctx.store.clone())?;
        let (epoch, ledger) = durable.ledger()?;
        let (ledger_tx, ledger_rx) = watch::channel((epoch, Arc::new(ledger.clone())));
        let (reports_tx, reports) = mpsc::channel(256);
        let domain = batch::domain(chain.chain_id, chain.deployment.settlement);
        let binding_domain = binding::domain(chain.chain_id, chain.deployment.settlement);
        node.ctx.net.metrics.ledger_epoch.set(epoch as i64);
        let v = Validator {
            node,
            chain,
            signer,
            cfg,
            durable,
            domain,
            binding_domain,
            epoch,
            ledger,
            ledger_tx,
            validators: vec![],
            epoch_began: Instant::now(),
            verified: BTreeMap::new(),
            refs: BTreeMap::new(),
            seen: BTreeSet::new(),
            bindings: BTreeMap::new(),
            actions: BTreeMap::new(),
            attestations: BTreeMap::new(),
            checked: BTreeMap::new(),
            checking: BTreeSet::new(),
            providers: BTreeMap::new(),
            proven: BTreeSet::new(),
            last_gossip: Instant::now(),
            reports_tx,
            reports: Some(reports),
            #[cfg(feature = "adversary")]
            crashed: false,
        };
        Ok((v, ValidatorHandle { ledger: ledger_rx }))
    }

    fn metrics(&self) -> &Metrics {
        &self.node.ctx.net.metrics
    }

    /// Runs until `shutdown` turns true (or, with an injected crash, until it signs).
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let mut reports = self
            .reports
            .take()
            .ok_or_else(|| anyhow::anyhow!("the validator already ran"))?;
        let mut announces = self.node.announces.subscribe();
        let mut actions = self.node.actions.subscribe();
        let mut attestations = self.node.attestations.subscribe();
        self.recover().await?;
        let mut tick = tokio::time::interval(self.cfg.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(address = %self.signer.address(), epoch = self.epoch, "validator started");
        use broadcast::error::RecvError;
        loop {
            #[cfg(feature = "adversary")]
            if self.crashed {
                tracing::warn!("validator stopped dead after signing (fault injected)");
                return Ok(());
            }
            tokio::select! {
                _ = shutdown.changed() => return Ok(()),
                m = announces.recv() => match m {
                    Ok((peer, a)) => self.on_announce(peer, a),
                    Err(RecvError::Lagged(n)) => tracing::warn!(n, "announcements dropped: the validator fell behind"),
                    Err(RecvError::Closed) => return Ok(()),
                },
                m = actions.recv() => match m {
                    Ok((peer, m)) => self.on_action(peer, m).await,
                    Err(RecvError::Lagged(n)) => tracing::warn!(n, "actions dropped: the validator fell behind"),
                    Err(RecvError::Closed) => return Ok(()),
                },
                m = attestations.recv() => match m {
                    Ok((peer, a)) => self.on_attestation(peer, a).await?,
                    Err(RecvError::Lagged(n)) => tracing::warn!(n, "attestations dropped: the validator fell behind"),
                    Err(RecvError::Closed) => return Ok(()),
                },
                Some(r) = reports.recv() => self.on_report(r).await?,
                _ = tick.tick() => {
                    if let Err(e) = self.on_tick().await {
                        tracing::warn!(error = %e, "validator tick failed; retrying");
                    }
                }
            }
        }
    }

    fn me(&self) -> Address {
        self.signer.address()
    }

    /// After a restart: finish a submission that was written but maybe not
    /// sent, and bring the ledger up to the chain.
    async fn recover(&mut self) -> anyhow::Result<()> {
        self.refresh_validators().await?;
        let chain_epoch = self.chain.settled_epoch().await?;
        if let Some(s) = self.durable.submission(chain_epoch + 1)? {
            let b = Batch::from(&s.batch);
            let mints: Vec<Mint> = s
                .mints
                .iter()
                .map(|(to, ids)| Mint {
                    to: *to,
                    amounts: vec![alloy::primitives::U256::from(1); ids.len()],
                    ids: ids.clone(),
                })
                .collect();
            let sigs = s
                .signatures
                .iter()
                .map(|x| Bytes::from(x.clone()))
                .collect();
            tracing::info!(
                epoch = b.epoch,
                "resubmitting the batch this validator was submitting when it stopped"
            );
            match self.chain.submit_batch(&b, &mints, sigs).await {
                Ok(r) => tracing::info!(epoch = b.epoch, result = ?r, "resubmission done"),
                Err(e) => tracing::warn!(epoch = b.epoch, error = %e, "resubmission failed"),
            }
        }
        if let Err(e) = self.catch_up().await {
            tracing::warn!(error = %e, "catching up with the chain failed; will retry");
        }
        Ok(())
    }

    async fn refresh_validators(&mut self) -> anyhow::Result<()> {
        let mut v = self.chain.validators().await?;
        v.sort();
        self.validators = v;
        Ok(())
    }

    fn on_announce(&mut self, peer: PeerId, a: Announce) {
        if self.ledger.credited.contains(&a.match_id)
            || self.refs.contains_key(&a.match_id)
            || !self.seen.insert(a.cid.clone())
        {
            return;
        }
        self.fetch_and_verify(peer, a, 0);
    }

    /// Fetches an announced transcript and verifies it in a task; the
    /// outcome comes back as a [`Report`].
    fn fetch_and_verify(&mut self, peer: PeerId, a: Announce, attempt: u32) {
        let (content, tx, timeout) = (
            self.node.content.clone(),
            self.reports_tx.clone(),
            self.cfg.fetch_timeout,
        );
        tokio::spawn(async move {
            let report = match fetch(&content, &a.cid, Some(peer), timeout).await {
                Ok(bytes) => {
                    let started = Instant::now();
                    let announce = a.clone();
                    let result = tokio::task::spawn_blocking(move || {
                        verifier::verify_announced(&announce, &bytes)
                    })
                    .await
                    .unwrap_or_else(|e| {
                        Err(Rejection::NotAnnounced(if e.is_panic() {
                            "verifier panicked"
                        } else {
                            "cancelled"
                        }))
                    });
                    Report::Transcript {
                        peer,
                        announce: a,
                        result,
                        took: started.elapsed(),
                    }
                }
                Err(error) => Report::Fetched {
                    peer,
                    announce: a,
                    attempt,
                    error,
                },
            };
            let _ = tx.send(report).await;
        });
    }

    async fn on_action(&mut self, peer: PeerId, m: ActionMessage) {
        let rejected = match m {
            ActionMessage::Bind(b) => {
                if !b.is_valid(&self.binding_domain) {
                    Some("bad binding")
                } else {
                    let newer = self
                        .bindings
                        .get(&b.game_key)
                        .is_none_or(|old| old.nonce < b.nonce);
                    if newer {
                        self.bindings.insert(b.game_key, b);
                    }
                    None
                }
            }
            ActionMessage::Act(a) => {
                let next = self.ledger.account(&a.player).map_or(0, |x| x.next_nonce);
                if a.chain_id != self.chain.chain_id {
                    Some("wrong chain")
                } else if a.nonce < next {
                    Some("replayed")
                } else {
                    self.actions.entry((a.player, a.nonce)).or_insert(a);
                    None
                }
            }
        };
        if let Some(reason) = rejected {
            tracing::info!(%peer, reason, "action rejected");
            self.metrics().reject("action", reason);
        }
    }

    async fn on_attestation(&mut self, peer: PeerId, att: Attestation) -> anyhow::Result<()> {
        let b = Batch::from(&att.batch);
        let Some(signer) = batch::recover(&b, &self.domain, &att.signature) else {
            self.node
                .ctx
                .net
                .penalise(peer, Misbehaviour::BadAttestationSignature)
                .await;
            return Ok(());
        };
        if !self.validators.contains(&signer) {
            self.refresh_validators().await?;
            if !self.validators.contains(&signer) {
                self.node
                    .ctx
                    .net
                    .penalise(peer, Misbehaviour::NotAValidator)
                    .await;
                return Ok(());
            }
        }
        let e = b.epoch;
        let signature = Bytes::from(att.signature.clone());
        let digest = batch::digest(&b, &self.domain);
        let slot = self.attestations.entry(e).or_default();
        match slot.get(&signer) {
            Some((first, sig)) if batch::digest(first, &self.domain) != digest => {
                let (first, sig) = (first.clone(), sig.clone());
                self.prove(signer, (first, sig), (b.clone(), signature));
                return Ok(());
            }
            Some(_) => {}
            None => {
                slot.insert(signer, (b.clone(), signature));
            }
        }
        self.providers.entry(b.dataCid.clone()).or_insert(peer);
        if e == self.epoch + 1
            && !self.checked.contains_key(&digest)
            && self.checking.insert(digest)
        {
            self.spawn_check(peer, b);
        }
        self.try_submit().await;
        Ok(())
    }

    fn spawn_check(&self, peer: PeerId, b: Batch) {
        let digest = batch::digest(&b, &self.domain);
        let (content, tx, timeout) = (
            self.node.content.clone(),
            self.reports_tx.clone(),
            self.cfg.fetch_timeout,
        );
        let (ledger, verified, chain_id, bd) = (
            self.ledger.clone(),
            self.verified.clone(),
            self.chain.chain_id,
            self.binding_domain.clone(),
        );
        let domain = self.domain.clone();
        tokio::spawn(async move {
            let result = async {
                let (applied, data, fresh) = check_data(
                    &content,
                    &b.dataCid,
                    Some(peer),
                    ledger,
                    verified,
                    chain_id,
                    &bd,
                    timeout,
                )
                .await?;
                if data.epoch != b.epoch {
                    return Err(format!(
                        "the data is for epoch {}, the batch for {}",
                        data.epoch, b.epoch
                    ));
                }
                // The items' metadata is ours to build too: a batch whose
                // directory differs from ours differs from the batch we reach.
                // It is stored (and pinned) only once the batches agree.
                let meta = cyteria_node::metadata::build(&applied.items)
                    .await
                    .map_err(|e| format!("metadata: {e}"))?;
                let ours = applied.batch(
                    &data,
                    &b.dataCid,
                    &meta
                        .as_ref()
                        .map(|d| d.root.to_string())
                        .unwrap_or_default(),
                );
                if batch::digest(&ours, &domain) != digest {
                    return Err(
                        "applying the data gives another batch (root, mints or metadata differ)"
                            .to_string(),
                    );
                }
                if let Some(d) = meta {
                    content
                        .put_tree(d.root, d.blocks)
                        .await
                        .map_err(|e| format!("storing metadata: {e}"))?;
                }
                let (items, unbound) = (applied.items.len(), applied.unbound.len());
                Ok((
                    Checked {
                        batch: ours,
                        mints: applied.mints,
                        items,
                        unbound,
                        ledger: applied.ledger,
                        proposed_here: false,
                        quorum_since: None,
                        next_try: None,
                    },
                    fresh,
                ))
            }
            .await;
            let _ = tx.send(Report::Checked { digest, result }).await;
        });
    }

    async fn on_report(&mut self, r: Report) -> anyhow::Result<()> {
        match r {
            Report::Transcript {
                peer,
                announce,
                result,
                took,
            } => match result {
                Ok(v) => {
                    self.metrics().transcripts_verified.inc();
                    self.metrics().verify_seconds.observe(took.as_secs_f64());
                    let id = announce.match_id;
                    if let Ok(cid) = parse_cid(&announce.cid) {
                        let _ = self.node.content.pin(&cid).await;
                    }
                    if !self.ledger.credited.contains(&id) && !self.refs.contains_key(&id) {
                        tracing::info!(match_id = %short(&id), frames = v.transcript.frames(), took_ms = took.as_millis() as u64, "transcript verified");
                        self.verified.insert(id, (v.transcript.header, v.outcome));
                        self.refs.insert(
                            id,
                            TranscriptRef {
                                match_id: id,
                                cid: announce.cid,
                            },
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!(%peer, match_id = %short(&announce.match_id), reason = e.label(), error = %e, "transcript rejected");
                    self.metrics().reject("transcript", e.label());
                    self.node
                        .ctx
                        .net
                        .penalise_for(peer, Misbehaviour::InvalidTranscript, e.label())
                        .await;
                }
            },
            Report::Fetched {
                peer,
                announce,
                attempt,
                error,
            } => {
                let cid = announce.cid.clone();
                if attempt + 1 < FETCH_ATTEMPTS
                    && !self.ledger.credited.contains(&announce.match_id)
                {
                    // A provider just back from a partition or a restart is
                    // often reachable a few seconds later; its own
                    // re-announcements arrived while this fetch was running
                    // and were dropped as already seen.
                    let wait = FETCH_RETRY * 2u32.pow(attempt);
                    tracing::info!(%peer, %cid, %error, attempt, retry_in_s = wait.as_secs(), "transcript not fetched yet");
                    let tx = self.reports_tx.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(wait).await;
                        let _ = tx
                            .send(Report::Refetch {
                                peer,
                                announce,
                                attempt: attempt + 1,
                            })
                            .await;
                    });
                } else {
                    tracing::warn!(%peer, %cid, %error, attempts = attempt + 1, "transcript not fetched: given up until it is announced again");
                    self.seen.remove(&cid);
                }
            }
            Report::Refetch {
                peer,
                announce,
                attempt,
            } => {
                if self.ledger.credited.contains(&announce.match_id)
                    || self.refs.contains_key(&announce.match_id)
                {
                    return Ok(());
                }
                self.fetch_and_verify(peer, announce, attempt);
            }
            Report::Checked { digest, result } => {
                self.checking.remove(&digest);
                match result {
                    Ok((c, fresh)) => {
                        for v in fresh {
                            self.verified
                                .entry(v.transcript.header.match_id)
                                .or_insert((v.transcript.header, v.outcome));
                        }
                        self.checked.insert(digest, c);
                        self.sign(digest).await?;
                    }
                    Err(e) => {
                        tracing::warn!(digest = %digest, error = %e, "batch refused");
                        self.metrics().reject("batch", "does not check");
                    }
                }
            }
        }
        Ok(())
    }

    /// Signs the checked batch `digest` unless another batch of its epoch was signed before.
    async fn sign(&mut self, digest: B256) -> anyhow::Result<()> {
        let Some(c) = self.checked.get(&digest) else {
            return Ok(());
        };
        let b = c.batch.clone();
        if b.epoch != self.epoch + 1 {
            return Ok(());
        }
        if let Some(prev) = self.durable.signed(b.epoch)? {
            if batch::digest(&Batch::from(&prev), &self.domain) != digest {
                tracing::warn!(
                    epoch = b.epoch,
                    "not signing a second batch for an epoch already signed"
                );
            }
            return Ok(());
        }
        // The record goes to disk first: after a crash, this validator must
        // not sign another batch for this epoch.
        self.durable.put_signed(&WireBatch::from(&b))?;
        let att = batch::sign(&self.signer, &b, &self.domain)?;
        let me = self.me();
        self.attestations
            .entry(b.epoch)
            .or_default()
            .insert(me, (b.clone(), att.signature.clone()));
        self.publish_attestation(&b, &att).await;
        self.metrics().batches_signed.inc();
        tracing::info!(epoch = b.epoch, digest = %digest, data = %b.dataCid, "batch signed");
        #[cfg(feature = "adversary")]
        if adversary::after_signing(self, &b).await? {
            return Ok(());
        }
        self.try_submit().await;
        Ok(())
    }

    pub(crate) async fn publish_attestation(&self, b: &Batch, att: &BatchSig) {
        let m = Attestation {
            batch: WireBatch::from(b),
            signature: att.signature.to_vec(),
        };
        if let Err(e) = self
            .node
            .ctx
            .net
            .publish(wire::BATCHES_TOPIC, m.encode())
            .await
        {
            tracing::debug!(error = %e, "attestation not sent");
        }
    }

    /// Submits the next epoch's batch once ≥ 2/3 of the validators signed it.
    async fn try_submit(&mut self) {
        let e = self.epoch + 1;
        let Some(atts) = self.attestations.get(&e) else {
            return;
        };
        let mut by_digest: BTreeMap<B256, Vec<BatchSig>> = BTreeMap::new();
        for (signer, (b, sig)) in atts {
            if self.validators.contains(signer) {
                by_digest
                    .entry(batch::digest(b, &self.domain))
                    .or_default()
                    .push(BatchSig {
                        signer: *signer,
                        signature: sig.clone(),
                    });
            }
        }
        for (digest, sigs) in by_digest {
            if !batch::is_quorum(sigs.len(), self.validators.len()) {
                continue;
            }
            let Some(c) = self.checked.get_mut(&digest) else {
                continue;
            };
            let since = *c.quorum_since.get_or_insert_with(Instant::now);
            if (!c.proposed_here && since.elapsed() < self.cfg.submit_grace)
                || c.next_try.is_some_and(|t| Instant::now() < t)
            {
                continue;
            }
            c.next_try = Some(Instant::now() + self.cfg.poll * 8);
            let (b, mints, items) = (c.batch.clone(), c.mints.clone(), c.items);
            let signatures = batch::ordered(sigs);
            let record = Submission {
                batch: WireBatch::from(&b),
                mints: mints.iter().map(|m| (m.to, m.ids.clone())).collect(),
                signatures: signatures.iter().map(|s| s.to_vec()).collect(),
            };
            if let Err(e) = self.durable.put_submission(&record) {
                tracing::warn!(error = %e, "the submission record was not written; not submitting");
                return;
            }
            match self.chain.submit_batch(&b, &mints, signatures).await {
                Ok(Submitted::Settled {
                    tx,
                    gas_used,
                    block,
                }) => {
                    self.metrics().batches_settled.inc();
                    self.metrics().items_minted.inc_by(items as u64);
                    self.metrics().settlement_gas.inc_by(gas_used);
                    tracing::info!(epoch = e, %tx, gas_used, block, items, "batch settled");
                }
                Ok(Submitted::AlreadySettled) => tracing::info!(epoch = e, "batch already settled"),
                Err(err) => {
                    tracing::warn!(epoch = e, error = %err, "submission failed; will retry");
                    return;
                }
            }
            if let Err(err) = self.catch_up().await {
                tracing::warn!(error = %err, "catching up after settlement failed; will retry");
            }
            return;
        }
    }

    /// Sends the two conflicting signatures of `signer` to the chain.
    fn prove(&mut self, signer: Address, a: (Batch, Bytes), b: (Batch, Bytes)) {
        let e = a.0.epoch;
        if !self.proven.insert((e, signer)) {
            return;
        }
        tracing::warn!(epoch = e, validator = %signer, "validator signed two batches for one epoch; proving it on chain");
        self.metrics().evidence.inc();
        let mut key = e.to_be_bytes().to_vec();
        key.extend_from_slice(signer.as_slice());
        let record = SIGNED.encode(&(
            WireBatch::from(&a.0),
            a.1.to_vec(),
            WireBatch::from(&b.0),
            b.1.to_vec(),
        ));
        if let Err(err) = self
            .durable
            .evidence
            .insert(key, record)
            .map_err(anyhow::Error::from)
            .and_then(|_| Ok(self.durable.store.flush()?))
        {
            tracing::warn!(error = %err, "equivocation evidence not stored");
        }
        let (chain, metrics) = (self.chain.clone(), self.metrics().clone());
        tokio::spawn(async move {
            match chain.prove_equivocation(&a.0, a.1, &b.0, b.1).await {
                Ok(r) => {
                    metrics.equivocations_proven.inc();
                    tracing::info!(epoch = e, validator = %signer, tx = %r.transaction_hash, "equivocation proven; stake slashed");
                }
                Err(err) => {
                    tracing::info!(epoch = e, validator = %signer, error = %err, "equivocation proof not accepted (already slashed?)")
                }
            }
        });
    }

    async fn on_tick(&mut self) -> anyhow::Result<()> {
        self.refresh_validators().await?;
        if self.chain.settled_epoch().await? > self.epoch {
            self.catch_up().await?;
        }
        self.propose().await?;
        self.try_submit().await;
        // Repeat this validator's signature until the epoch settles, for peers that missed it.
        if self.last_gossip.elapsed() >= self.cfg.poll * 3 {
            self.last_gossip = Instant::now();
            let e = self.epoch + 1;
            if let Some((b, sig)) = self
                .attestations
                .get(&e)
                .and_then(|a| a.get(&self.me()))
                .cloned()
            {
                self.publish_attestation(
                    &b,
                    &BatchSig {
                        signer: self.me(),
                        signature: sig,
                    },
                )
                .await;
            }
        }
        Ok(())
    }

    /// Builds, stores and signs the next batch when this validator leads the round.
    async fn propose(&mut self) -> anyhow::Result<()> {
        let e = self.epoch + 1;
        let elapsed = self.epoch_began.elapsed();
        if elapsed < self.cfg.epoch_interval || self.durable.signed(e)?.is_some() {
            return Ok(());
        }
        let round = epoch::round(elapsed - self.cfg.epoch_interval, self.cfg.round_timeout);
        if epoch::leader(&self.validators, e, round) != Some(self.me()) {
            return Ok(());
        }
        if self.refs.is_empty() && self.bindings.is_empty() && self.actions.is_empty() {
            return Ok(());
        }
        let cx = Context {
            chain_id: self.chain.chain_id,
            binding_domain: &self.binding_domain,
            verified: &self.verified,
        };
        let (data, applied, left_out) = proposal::build(
            &self.ledger,
            e,
            self.bindings.values().cloned().collect(),
            self.refs.values().cloned().collect(),
            self.actions.values().cloned().collect(),
            &cx,
        );
        for l in &left_out {
            tracing::info!(entry = ?l.entry, reason = %l.reason, "left out of the batch");
            self.metrics().reject(l.entry.channel(), l.reason.label());
            match l.entry {
                proposal::Entry::Binding(k) => {
                    self.bindings.remove(&k);
                }
                proposal::Entry::Transcript(m) => {
                    self.refs.remove(&m);
                }
                // An action whose predecessor has not arrived may fit a later batch.
                proposal::Entry::Action(..)
                    if matches!(
                        l.reason,
                        cyteria_settlement::ledger::Rejected::NonceGap { .. }
                    ) => {}
                proposal::Entry::Action(p, n) => {
                    self.actions.remove(&(p, n));
                }
            }
        }
        if data.is_empty() {
            return Ok(());
        }
        let cid = self
            .node
            .content
            .put_record(data.encode())
            .await?
            .to_string();
        let meta = cyteria_node::metadata::publish(&self.node.content, &applied.items).await?;
        let b = applied.batch(
            &data,
            &cid,
            &meta.map(|c| c.to_string()).unwrap_or_default(),
        );
        let digest = batch::digest(&b, &self.domain);
        tracing::info!(
            epoch = e,
            round,
            transcripts = data.transcripts.len(),
            actions = data.actions.len(),
            bindings = data.bindings.len(),
            items = applied.items.len(),
            "proposing a batch"
        );
        let (items, unbound) = (applied.items.len(), applied.unbound.len());
        self.checked.insert(
            digest,
            Checked {
                batch: b,
                mints: applied.mints,
                items,
                unbound,
                ledger: applied.ledger,
                proposed_here: true,
                quorum_since: None,
                next_try: None,
            },
        );
        self.sign(digest).await
    }

    /// Applies every epoch the chain settled that the ledger does not reflect yet.
    async fn catch_up(&mut self) -> anyhow::Result<()> {
        let chain_epoch = self.chain.settled_epoch().await?;
        while self.epoch < chain_epoch {
            let e = self.epoch + 1;
            let settlement = self.chain.settlement();
            let root = settlement.rootOf(e).call().await?;
            let cid = settlement.dataCidOf(e).call().await?;
            let known = self
                .checked
                .values()
                .find(|c| c.batch.epoch == e && c.batch.newRoot == root && c.batch.dataCid == cid);
            let (ledger, unbound) = match known {
                Some(c) => (c.ledger.clone(), c.unbound),
                None => {
                    let provider = self.providers.get(&cid).copied();
                    let (applied, _, fresh) = check_data(
                        &self.node.content,
                        &cid,
                        provider,
                        self.ledger.clone(),
                        self.verified.clone(),
                        self.chain.chain_id,
                        &self.binding_domain,
                        self.cfg.fetch_timeout,
                    )
                    .await
                    .map_err(|err| anyhow::anyhow!("epoch {e}'s batch data: {err}"))?;
                    for v in fresh {
                        self.verified
                            .entry(v.transcript.header.match_id)
                            .or_insert((v.transcript.header, v.outcome));
                    }
                    (applied.ledger, applied.unbound.len())
                }
            };
            anyhow::ensure!(
                B256::from(ledger.root()) == root,
                "epoch {e}: the settled root differs from this validator's ledger; it stays at epoch {}",
                self.epoch
            );
            for _ in 0..unbound {
                self.metrics().reject("reward", "unbound key");
            }
            if let Ok(c) = parse_cid(&cid) {
                let _ = self.node.content.pin(&c).await;
            }
            self.durable.put_ledger(e, &ledger)?;
            self.ledger = ledger;
            self.epoch = e;
            self.epoch_began = Instant::now();
            self.metrics().ledger_epoch.set(e as i64);
            tracing::info!(epoch = e, root = %root, "ledger at the settled epoch");
            self.prune();
            self.ledger_tx
                .send_replace((e, Arc::new(self.ledger.clone())));
        }
        Ok(())
    }

    /// Drops candidates the ledger now holds and agreement state of past epochs.
    fn prune(&mut self) {
        let l = &self.ledger;
        self.refs.retain(|id, _| !l.credited.contains(id));
        self.verified.retain(|id, _| !l.credited.contains(id));
        self.actions
            .retain(|(p, n), _| l.account(p).is_none_or(|a| *n >= a.next_nonce));
        self.bindings.retain(|k, b| {
            l.account(k)
                .is_none_or(|a| a.wallet.is_none() || b.nonce > a.binding_nonce)
        });
        let e = self.epoch;
        self.checked.retain(|_, c| c.batch.epoch > e);
        // Keep a few epochs of signatures: equivocation there is still provable.
        self.attestations.retain(|k, _| *k + 16 > e);
    }
}

/// What anyone can do with the chain and the content network: rebuild the
/// ledger from epoch 1 to `upto` out of each settled batch's data (fetched
/// by the CID on chain, every transcript in it re-verified), checking each
/// epoch's root against the one the chain recorded. Returns the ledger.
pub async fn replay_settled(
    content: &Content,
    chain: &Chain,
    upto: u64,
    timeout: Duration,
) -> anyhow::Result<Ledger> {
    let binding_domain = binding::domain(chain.chain_id, chain.deployment.settlement);
    let mut ledger = Ledger::default();
    let mut verified = Verified::new();
    for e in 1..=upto {
        let settlement = chain.settlement();
        let root = settlement.rootOf(e).call().await?;
        let cid = settlement.dataCidOf(e).call().await?;
        let (applied, _, fresh) = check_data(
            content,
            &cid,
            None,
            ledger,
            verified.clone(),
            chain.chain_id,
            &binding_domain,
            timeout,
        )
        .await
        .map_err(|err| anyhow::anyhow!("epoch {e}'s batch data {cid}: {err}"))?;
        for v in fresh {
            verified.insert(
                v.transcript.header.match_id,
                (v.transcript.header, v.outcome),
            );
        }
        anyhow::ensure!(
            B256::from(applied.ledger.root()) == root,
            "epoch {e}: the data does not give the root the chain holds"
        );
        ledger = applied.ledger;
    }
    Ok(ledger)
}

/// Fetches a block by its textual CID.
async fn fetch(
    content: &Content,
    cid: &str,
    provider: Option<PeerId>,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let c = parse_cid(cid).map_err(|e| e.to_string())?;
    content
        .get_record(&c, provider.as_slice(), timeout)
        .await
        .map_err(|e| e.to_string())
}

/// Fetches batch data and every transcript it names that is not verified
/// yet, verifies those, and applies the data strictly to `ledger`.
#[allow(clippy::too_many_arguments)]
async fn check_data(
    content: &Content,
    cid: &str,
    provider: Option<PeerId>,
    ledger: Ledger,
    mut verified: Verified,
    chain_id: u64,
    binding_domain: &Eip712Domain,
    timeout: Duration,
) -> Result<(proposal::Applied, BatchData, Vec<verifier::Verified>), String> {
    let bytes = fetch(content, cid, provider, timeout).await?;
    let data = BatchData::decode(&bytes).map_err(|e| e.to_string())?;
    let mut fresh = vec![];
    for t in &data.transcripts {
        if verified.contains_key(&t.match_id) {
            continue;
        }
        let bytes = fetch(content, &t.cid, provider, timeout).await?;
        let v = tokio::task::spawn_blocking(move || verifier::verify_transcript(&bytes))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("transcript {}: {e}", t.cid))?;
        if v.transcript.header.match_id != t.match_id {
            return Err(format!(
                "transcript {} is not match {}",
                t.cid,
                short(&t.match_id)
            ));
        }
        verified.insert(t.match_id, (v.transcript.header.clone(), v.outcome.clone()));
        fresh.push(v);
    }
    let cx = Context {
        chain_id,
        binding_domain,
        verified: &verified,
    };
    let applied = proposal::apply(&ledger, &data, &cx).map_err(|e| e.to_string())?;
    Ok((applied, data, fresh))
}

fn short(id: &[u8; 32]) -> String {
    blake3::Hash::from_bytes(*id).to_hex()[..12].to_string()
}
