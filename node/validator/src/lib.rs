//! The validator role: verifies announced matches and signed actions, keeps
//! the off-chain ledger, agrees on one batch per epoch with the other
//! validators, and settles it on chain.
//!
//! The decisions are a state machine with no IO ([`state::State`]): events
//! in, [`state::Step`]s out. This file is the shell that performs the steps:
//! one loop owns the state, fetching and re-simulating run in tasks that
//! report back, and what must survive a crash is written to sled
//! ([`durable`]) before it is acted on: the ledger of the last settled
//! epoch, the batch this validator signed for an epoch (so it never signs a
//! second one, which would be slashable), the submission it is about to
//! send, and equivocation evidence.
//!
//! Agreement: the leader of an epoch's round (`epoch::leader` over the
//! validator set on chain) builds the batch from what it has verified,
//! stores the batch data in the content store, signs, and gossips its
//! attestation. The others fetch the data by CID, re-verify every
//! transcript it names, apply it to their own ledger and sign only if they
//! arrive at the same batch. Whoever holds ≥ 2/3 of the signatures may
//! submit: the leader at once, the others after a grace period. The chain
//! accepts one batch per epoch, and submission skips a settled epoch.

#![forbid(unsafe_code)]

#[cfg(feature = "adversary")]
pub mod adversary;
pub mod config;
pub mod durable;
pub mod localnet;
pub mod state;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{B256, Bytes, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::Eip712Domain;
use cyteria_chain::chain::{Chain, Submitted, retry};
use cyteria_game::transcript::TRANSCRIPT;
use cyteria_node::content::{Content, parse_cid};
use cyteria_node::metrics::Metrics;
use cyteria_node::node::Node;
use cyteria_node::verifier::{self, Rejection};
use cyteria_node::wire::{self, Announce, Attestation, WireBatch};
use cyteria_settlement::batch::{self, Attestation as BatchSig, Batch, Mint, Slash};
use cyteria_settlement::binding;
use cyteria_settlement::ledger::Ledger;
use cyteria_settlement::proposal::{self, BatchData, Context, Verified};
use cyteria_settlement::provenance::{ChainTime, Settled, beacon_horizon_s};
use libp2p::PeerId;
use tokio::sync::{broadcast, mpsc, watch};

pub use config::ValidatorConfig;
use durable::{Durable, SIGNED, Submission};
use state::{Checked, State, Step, short};

/// What a background task reports to the loop.
enum TaskOutcome {
    Transcript {
        peer: PeerId,
        announce: Announce,
        // boxed: a verified transcript is far larger than the other reports
        result: Result<Box<verifier::Verified>, Rejection>,
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
        result: Result<(Checked, Vec<(String, verifier::Verified)>), String>,
    },
    /// Not fetched: its announcer was banned meanwhile. Forgotten, so that
    /// an honest announcement of the same CID is fetched.
    Skipped { announce: Announce },
    /// The validator set of `epoch`, read for an attestation from a signer
    /// outside the set this validator knew.
    SetRead {
        epoch: u64,
        set: Result<cyteria_settlement::batch::ValidatorSet, String>,
        peer: PeerId,
        attestation: Attestation,
    },
}

/// Counts a task in a gauge while it lives.
struct InFlight(cyteria_node::metrics::Gauge);

impl InFlight {
    fn new(g: &cyteria_node::metrics::Gauge) -> Self {
        g.inc();
        Self(g.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// How long a read of the validator set for a peer's attestation may take.
const SET_READ_TIMEOUT: Duration = Duration::from_secs(20);

/// Handles on a running validator, for its operator and for tests.
#[derive(Clone)]
pub struct ValidatorHandle {
    /// The settled epoch its ledger reflects, and the ledger.
    pub ledger: watch::Receiver<(u64, Arc<Ledger>)>,
}

/// The validator: the decisions' state and the IO around them.
pub struct Validator {
    node: Arc<Node>,
    chain: Chain,
    signer: PrivateKeySigner,
    cfg: ValidatorConfig,
    durable: Durable,
    domain: Eip712Domain,
    binding_domain: Eip712Domain,
    state: State,
    times: ChainTimes,
    ledger_tx: watch::Sender<(u64, Arc<Ledger>)>,
    reports_tx: mpsc::Sender<TaskOutcome>,
    reports: Option<mpsc::Receiver<TaskOutcome>>,
    /// The epoch at which to check this validator's seat again.
    next_seat_check: u64,
    /// Transcript fetches that may run at once.
    fetching: Arc<tokio::sync::Semaphore>,
    /// Verifications (transcripts, batches' data) that may run at once.
    verifying: Arc<tokio::sync::Semaphore>,
    /// Set by an injected fault: the loop stops as if the process died.
    #[cfg(feature = "adversary")]
    crashed: bool,
}

/// Transcript fetches a validator runs at once.
pub const MAX_FETCHES: usize = 32;

/// Verifications a validator runs at once: one a core.
pub fn verifiers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Epochs between two checks that this validator keeps its seat.
const SEAT_CHECK_EVERY: u64 = 16;

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
        // A batch that slashes reverts unless the Settlement contract slashes
        // through the PlayerBond this validator reads bonds from.
        let bond = retry(|| async { chain.settlement().playerBond().call().await }).await?;
        anyhow::ensure!(
            bond == chain.deployment.player_bond,
            "the Settlement contract slashes bonds in {bond}, the deployment names {}: check the deployment file",
            chain.deployment.player_bond
        );
        let durable = Durable::open(node.ctx.store.clone())?;
        let (epoch, ledger) = durable.ledger()?;
        let (ledger_tx, ledger_rx) = watch::channel((epoch, Arc::new(ledger.clone())));
        let (reports_tx, reports) = mpsc::channel(256);
        let domain = batch::domain(chain.chain_id, chain.deployment.settlement);
        let binding_domain = binding::domain(chain.chain_id, chain.deployment.settlement);
        node.ctx.net.metrics.ledger_epoch.set(epoch as i64);
        let state = State::new(
            signer.address(),
            cfg.pace(),
            chain.chain_id,
            domain.clone(),
            binding_domain.clone(),
            epoch,
            ledger,
            Instant::now(),
        );
        let mut v = Validator {
            node,
            chain,
            signer,
            cfg,
            durable,
            domain,
            binding_domain,
            state,
            times: ChainTimes::default(),
            ledger_tx,
            reports_tx,
            reports: Some(reports),
            next_seat_check: 0,
            fetching: Arc::new(tokio::sync::Semaphore::new(MAX_FETCHES)),
            verifying: Arc::new(tokio::sync::Semaphore::new(verifiers())),
            #[cfg(feature = "adversary")]
            crashed: false,
        };
        v.load_signed()?;
        Ok((v, ValidatorHandle { ledger: ledger_rx }))
    }

    fn metrics(&self) -> &Metrics {
        &self.node.ctx.net.metrics
    }

    /// Tells the state what the durable record says this validator signed
    /// for the next epoch.
    fn load_signed(&mut self) -> anyhow::Result<()> {
        if let Some(prev) = self.durable.signed(self.state.epoch() + 1)? {
            self.state
                .signed_before(prev.round, batch::digest(&Batch::from(&prev), &self.domain));
        }
        Ok(())
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
        // The chain may be unreachable at start: try again, never give up.
        let mut wait = Duration::from_secs(1);
        while let Err(e) = self.recover().await {
            tracing::warn!(error = %e, retry_in_s = wait.as_secs(), "the chain is not reachable yet; retrying");
            tokio::select! {
                _ = shutdown.changed() => return Ok(()),
                _ = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(Duration::from_secs(30));
        }
        let mut tick = tokio::time::interval(self.cfg.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(address = %self.signer.address(), epoch = self.state.epoch(), "validator started");
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
                    Ok((peer, a)) => {
                        let steps = self.state.on_announce(peer, a);
                        self.perform_logged(steps).await;
                    }
                    Err(RecvError::Lagged(n)) => tracing::warn!(n, "announcements dropped: the validator fell behind"),
                    Err(RecvError::Closed) => return Ok(()),
                },
                m = actions.recv() => match m {
                    Ok((peer, m)) => {
                        if let Some(reason) = self.state.on_action(m) {
                            tracing::info!(%peer, reason, "action rejected");
                            self.metrics().reject("action", reason);
                        }
                    }
                    Err(RecvError::Lagged(n)) => tracing::warn!(n, "actions dropped: the validator fell behind"),
                    Err(RecvError::Closed) => return Ok(()),
                },
                m = attestations.recv() => match m {
                    Ok((peer, a)) => {
                        let steps = self.state.on_attestation(peer, a, false, Instant::now());
                        self.perform_logged(steps).await;
                    }
                    Err(RecvError::Lagged(n)) => tracing::warn!(n, "attestations dropped: the validator fell behind"),
                    Err(RecvError::Closed) => return Ok(()),
                },
                Some(r) = reports.recv() => {
                    if let Err(e) = self.on_report(r).await {
                        tracing::warn!(error = %e, "a task's result was not acted on; the validator goes on");
                    }
                }
                _ = tick.tick() => {
                    if let Err(e) = self.on_tick().await {
                        tracing::warn!(error = %e, "validator tick failed; retrying");
                    }
                }
            }
        }
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
                    amounts: vec![U256::from(1); ids.len()],
                    ids: ids.clone(),
                })
                .collect();
            let slashes: Vec<Slash> = s
                .slashes
                .iter()
                .map(|(player, evidence)| Slash {
                    player: *player,
                    evidence: Bytes::from(evidence.clone()),
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
            match self.chain.submit_batch(&b, &mints, &slashes, sigs).await {
                Ok(r) => tracing::info!(epoch = b.epoch, result = ?r, "resubmission done"),
                Err(e) => tracing::warn!(epoch = b.epoch, error = %e, "resubmission failed"),
            }
        }
        if let Err(e) = self.catch_up().await {
            tracing::warn!(error = %e, "catching up with the chain failed; will retry");
        }
        let time = self
            .times
            .judging(&self.chain, self.state.epoch() + 1)
            .await?;
        self.state.set_chain_time(time);
        Ok(())
    }

    /// Reads the next epoch's validator set, with its weights.
    async fn refresh_validators(&mut self) -> anyhow::Result<()> {
        let v = self.chain.validator_set(self.state.epoch() + 1).await?;
        self.state.set_validators(v);
        Ok(())
    }

    async fn on_report(&mut self, r: TaskOutcome) -> anyhow::Result<()> {
        let steps = match r {
            TaskOutcome::Transcript {
                peer,
                announce,
                result,
                took,
            } => {
                if result.is_ok() {
                    self.metrics().transcripts_verified.inc();
                    self.metrics().verify_seconds.observe(took.as_secs_f64());
                }
                self.state.on_transcript(peer, announce, result.map(|v| *v))
            }
            TaskOutcome::Fetched {
                peer,
                announce,
                attempt,
                error,
            } => self.state.on_fetch_failed(peer, announce, attempt, &error),
            TaskOutcome::Refetch {
                peer,
                announce,
                attempt,
            } => self.state.on_refetch(peer, announce, attempt),
            TaskOutcome::Checked { digest, result } => self.state.on_checked(digest, result),
            TaskOutcome::Skipped { announce } => {
                self.state.forget(&announce.cid);
                vec![]
            }
            TaskOutcome::SetRead {
                epoch,
                set,
                peer,
                attestation,
            } => match set {
                Ok(set) => {
                    // The set of an epoch the validator has moved past
                    // meanwhile is not the one it agrees on now: it is
                    // dropped, and the attestation judged as unread against
                    // the current set (a read at most every REFRESH_EVERY),
                    // not as a stranger's after a fresh read (which would
                    // cost an honest relayer).
                    let fresh = epoch == self.state.epoch() + 1;
                    if fresh {
                        self.state.set_validators(set);
                    }
                    self.state
                        .on_attestation(peer, attestation, fresh, Instant::now())
                }
                Err(e) => {
                    tracing::info!(%peer, error = %e, "validator set not read; attestation dropped");
                    vec![]
                }
            },
        };
        self.perform(steps).await
    }

    async fn on_tick(&mut self) -> anyhow::Result<()> {
        if self.chain.settled_epoch().await? > self.state.epoch() {
            self.catch_up().await?;
        }
        // The set of the epoch being agreed, read after catching up to it.
        self.refresh_validators().await?;
        // Now and then, that a submitter leaving this validator's signatures
        // out does not cost it its seat.
        if self.state.epoch() >= self.next_seat_check {
            self.next_seat_check = self.state.epoch() + SEAT_CHECK_EVERY;
            match self.chain.keep_seat().await {
                Ok(true) => tracing::info!(
                    "heartbeat sent: this validator's signatures were missing from recent batches"
                ),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not check this validator's seat; will retry")
                }
            }
        }
        let head = self.chain.head().await?;
        self.state.set_head(head);
        let now = Instant::now();
        if let Some(wallets) = self.state.bond_queries(now) {
            let bonded = self.chain.bonded_at(&wallets, head.block).await?;
            self.state.set_bonded(head.block, bonded);
        }
        if let Some(asked) = self.state.holding_queries(now) {
            let held = self
                .chain
                .holdings(&asked, &self.state.chain_time().epochs)
                .await?;
            self.state.set_holdings(asked, &held);
        }
        let steps = self.state.propose(now);
        self.perform(steps).await?;
        let steps: Vec<Step> = self.state.try_submit(Instant::now()).into_iter().collect();
        self.perform(steps).await?;
        let steps: Vec<Step> = self.state.republish(Instant::now()).into_iter().collect();
        self.perform(steps).await
    }

    /// Performs `steps` in order, and the steps that what they bring back gives.
    /// Performs `steps` for a peer's message: what fails is logged, and
    /// the validator goes on (no peer's message stops it).
    async fn perform_logged(&mut self, steps: Vec<Step>) {
        if let Err(e) = self.perform(steps).await {
            tracing::warn!(error = %e, "a step failed; the validator goes on");
        }
    }

    async fn perform(&mut self, steps: Vec<Step>) -> anyhow::Result<()> {
        let mut queue: VecDeque<Step> = steps.into();
        while let Some(step) = queue.pop_front() {
            #[cfg(feature = "adversary")]
            if self.crashed {
                return Ok(());
            }
            match step {
                Step::Fetch {
                    peer,
                    announce,
                    attempt,
                } => self.fetch_and_verify(peer, announce, attempt),
                Step::FetchLater {
                    after,
                    peer,
                    announce,
                    attempt,
                } => {
                    let tx = self.reports_tx.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(after).await;
                        let _ = tx
                            .send(TaskOutcome::Refetch {
                                peer,
                                announce,
                                attempt,
                            })
                            .await;
                    });
                }
                Step::Pin(cid) => {
                    let _ = self.node.content.pin(&cid).await;
                }
                Step::Penalise {
                    peer,
                    misbehaviour,
                    detail,
                } => {
                    self.node
                        .ctx
                        .net
                        .penalise_for(peer, misbehaviour, detail)
                        .await
                }
                Step::Rejected { channel, reason } => self.metrics().reject(channel, reason),
                Step::RefreshAndRetry { peer, attestation } => {
                    // A peer's message must neither stop nor stall the
                    // validator: the set is read beside the main loop (at
                    // most once per `REFRESH_EVERY`), and with the chain
                    // unreachable the attestation is dropped.
                    let (chain, tx) = (self.chain.clone(), self.reports_tx.clone());
                    let epoch = self.state.epoch() + 1;
                    tokio::spawn(async move {
                        let set =
                            tokio::time::timeout(SET_READ_TIMEOUT, chain.validator_set(epoch))
                                .await
                                .map_err(|_| anyhow::anyhow!("no answer in {SET_READ_TIMEOUT:?}"))
                                .and_then(|r| r)
                                .map_err(|e| format!("{e:#}"));
                        let _ = tx
                            .send(TaskOutcome::SetRead {
                                epoch,
                                set,
                                peer,
                                attestation,
                            })
                            .await;
                    });
                }
                Step::Check {
                    peer,
                    batch,
                    ledger,
                    verified,
                    chain,
                } => self.spawn_check(peer, batch, ledger, verified, chain),
                Step::Propose {
                    round,
                    data,
                    applied,
                } => {
                    let cid = self
                        .node
                        .content
                        .put_record(data.encode())
                        .await?
                        .to_string();
                    let meta =
                        cyteria_node::metadata::publish(&self.node.content, &applied.items).await?;
                    let b = applied.batch(
                        &data,
                        round,
                        &cid,
                        &meta.map(|c| c.to_string()).unwrap_or_default(),
                    );
                    tracing::info!(
                        epoch = b.epoch,
                        round,
                        transcripts = data.transcripts.len(),
                        actions = data.actions.len(),
                        bindings = data.bindings.len(),
                        items = applied.items.len(),
                        "proposing a batch"
                    );
                    queue.extend(self.state.on_proposed(b, applied));
                }
                Step::Sign(b) => {
                    // The record goes to disk first: after a crash, this
                    // validator must not sign another batch in this round
                    // or an earlier one of this epoch.
                    self.durable.put_signed(&WireBatch::from(&b))?;
                    // From here on the record says so, whatever fails below.
                    self.state
                        .signed_before(b.round, batch::digest(&b, &self.domain));
                    #[cfg(feature = "adversary")]
                    if self.cfg.fault == Some(adversary::Fault::CrashBeforeGossip) {
                        tracing::warn!(
                            epoch = b.epoch,
                            round = b.round,
                            "stopped dead between the record and the gossip (fault injected)"
                        );
                        self.crashed = true;
                        return Ok(());
                    }
                    let att = batch::sign(&self.signer, &b, &self.domain)?;
                    self.publish_attestation(&b, &att).await;
                    self.metrics().batches_signed.inc();
                    tracing::info!(epoch = b.epoch, digest = %batch::digest(&b, &self.domain), data = %b.dataCid, "batch signed");
                    #[cfg(feature = "adversary")]
                    match adversary::after_signing(self.cfg.fault, &self.signer, &self.domain, &b)?
                    {
                        adversary::AfterSigning::Go => {}
                        adversary::AfterSigning::AlsoGossip(other) => {
                            self.publish_attestation(&other.0, &other.1).await
                        }
                        adversary::AfterSigning::Crash => {
                            self.crashed = true;
                            return Ok(());
                        }
                    }
                    queue.extend(self.state.on_signed(b, att.signature, Instant::now()));
                }
                Step::Republish(b, signature) => {
                    let att = BatchSig {
                        signer: self.signer.address(),
                        signature,
                    };
                    self.publish_attestation(&b, &att).await
                }
                Step::Submit {
                    batch,
                    mints,
                    slashes,
                    signatures,
                    items,
                } => self.submit(batch, mints, slashes, signatures, items).await,
                Step::Prove {
                    signer,
                    first,
                    second,
                } => self.prove(signer, first, second),
            }
        }
        Ok(())
    }

    /// Fetches an announced transcript and verifies it in a task; the
    /// outcome comes back as a [`TaskOutcome`].
    fn fetch_and_verify(&self, peer: PeerId, a: Announce, attempt: u32) {
        let (content, tx, timeout) = (
            self.node.content.clone(),
            self.reports_tx.clone(),
            self.cfg.fetch_timeout,
        );
        let (fetching, verifying) = (self.fetching.clone(), self.verifying.clone());
        let scores = self.node.ctx.net.scores();
        let metrics = self.metrics().clone();
        tokio::spawn(async move {
            // At most MAX_FETCHES transcripts come in at once, and as many
            // are verified as there are cores: however many are announced,
            // the rest wait here (a task and an announcement each).
            let Ok(_fetch) = fetching.acquire().await else {
                return;
            };
            // A flooder banned while its announcements waited costs no
            // fetches (and no DHT searches for blocks no one has).
            if scores.of(&peer) <= cyteria_node::net::BAN_SCORE / 2.0 {
                let _ = tx.send(TaskOutcome::Skipped { announce: a }).await;
                return;
            }
            let in_flight = InFlight::new(&metrics.fetches_in_flight);
            let fetched = fetch(
                &content,
                &a.cid.to_string(),
                Some(peer),
                timeout,
                TRANSCRIPT.max_bytes,
            )
            .await;
            drop((_fetch, in_flight));
            let report = match fetched {
                Ok(bytes) => {
                    let Ok(_verify) = verifying.acquire().await else {
                        return;
                    };
                    let _in_flight = InFlight::new(&metrics.verifications_in_flight);
                    let started = Instant::now();
                    let announce = a.clone();
                    let result = tokio::task::spawn_blocking(move || {
                        verifier::verify_announced(&announce, &bytes).map(Box::new)
                    })
                    .await
                    .unwrap_or_else(|e| {
                        Err(Rejection::NotAnnounced(if e.is_panic() {
                            "verifier panicked"
                        } else {
                            "cancelled"
                        }))
                    });
                    if result
                        .as_ref()
                        .is_err_and(|e| !e.is_about_the_announcement())
                    {
                        // A bad record: its blocks are not kept (unless pinned).
                        content.discard(&a.cid).await;
                    }
                    TaskOutcome::Transcript {
                        peer,
                        announce: a,
                        result,
                        took: started.elapsed(),
                    }
                }
                Err(error) => TaskOutcome::Fetched {
                    peer,
                    announce: a,
                    attempt,
                    error,
                },
            };
            let _ = tx.send(report).await;
        });
    }

    /// Checks a gossiped batch in a task: fetches its data, verifies what it
    /// names, applies it, rebuilds the batch and the items' metadata, and
    /// compares; the result comes back as a [`TaskOutcome`].
    fn spawn_check(
        &self,
        peer: PeerId,
        b: Batch,
        ledger: Ledger,
        verified: Verified,
        chain: ChainTime,
    ) {
        let digest = batch::digest(&b, &self.domain);
        let (content, tx, timeout) = (
            self.node.content.clone(),
            self.reports_tx.clone(),
            self.cfg.fetch_timeout,
        );
        let (reader, bd, domain) = (
            self.chain.clone(),
            self.binding_domain.clone(),
            self.domain.clone(),
        );
        let verifying = self.verifying.clone();
        tokio::spawn(async move {
            let result = async {
                let (applied, data, fresh) = check_data(
                    &verifying,
                    &content,
                    &b.dataCid,
                    Some(peer),
                    ledger,
                    verified,
                    Judged {
                        reader: &reader,
                        binding_domain: &bd,
                        chain: &chain,
                    },
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
                    b.round,
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
                Ok((Checked::new(ours, applied, false), fresh))
            }
            .await;
            let _ = tx.send(TaskOutcome::Checked { digest, result }).await;
        });
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

    /// Records the submission, sends it, and catches up once it settled.
    async fn submit(
        &mut self,
        b: Batch,
        mints: Vec<Mint>,
        slashes: Vec<Slash>,
        signatures: Vec<Bytes>,
        items: usize,
    ) {
        let e = b.epoch;
        let record = Submission {
            batch: WireBatch::from(&b),
            mints: mints.iter().map(|m| (m.to, m.ids.clone())).collect(),
            slashes: slashes
                .iter()
                .map(|s| (s.player, s.evidence.to_vec()))
                .collect(),
            signatures: signatures.iter().map(|s| s.to_vec()).collect(),
        };
        if let Err(e) = self.durable.put_submission(&record) {
            tracing::warn!(error = %e, "the submission record was not written; not submitting");
            return;
        }
        #[cfg(feature = "adversary")]
        let signatures = adversary::before_submit(self.cfg.fault, &b, signatures);
        match self
            .chain
            .submit_batch(&b, &mints, &slashes, signatures)
            .await
        {
            Ok(Submitted::Settled {
                tx,
                gas_used,
                block,
            }) => {
                self.metrics().batches_settled.inc();
                self.metrics().items_minted.inc_by(items as u64);
                self.metrics().settlement_gas.inc_by(gas_used);
                tracing::info!(epoch = e, %tx, gas_used, block, items, slashed = slashes.len(), "batch settled");
                self.metrics()
                    .player_bonds_slashed
                    .inc_by(slashes.len() as u64);
            }
            Ok(Submitted::AlreadySettled) => tracing::info!(epoch = e, "batch already settled"),
            Err(err) => {
                self.metrics().batch_submissions_failed.inc();
                tracing::warn!(epoch = e, round = b.round, error = %err, "submission failed; will retry");
                return;
            }
        }
        if let Err(err) = self.catch_up().await {
            tracing::warn!(error = %err, "catching up after settlement failed; will retry");
        }
    }

    /// Keeps the evidence that `signer` signed two batches for one epoch
    /// and sends it to the chain.
    fn prove(&mut self, signer: alloy::primitives::Address, a: (Batch, Bytes), b: (Batch, Bytes)) {
        let e = a.0.epoch;
        self.metrics().evidence.inc();
        let record = SIGNED.encode(&(
            WireBatch::from(&a.0),
            a.1.to_vec(),
            WireBatch::from(&b.0),
            b.1.to_vec(),
        ));
        if let Err(err) = self.durable.put_evidence(e, signer, record) {
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

    /// Applies every epoch the chain settled that the ledger does not reflect yet.
    async fn catch_up(&mut self) -> anyhow::Result<()> {
        let chain_epoch = self.chain.settled_epoch().await?;
        while self.state.epoch() < chain_epoch {
            let e = self.state.epoch() + 1;
            let settlement = self.chain.settlement();
            let root = settlement.rootOf(e).call().await?;
            let cid = settlement.dataCidOf(e).call().await?;
            // Epoch e was judged at the chain time up to e - 1.
            let time = self.times.judging(&self.chain, e).await?;
            let (ledger, unbound) = match self.state.known(e, root, &cid) {
                Some(known) => known,
                None => {
                    let (applied, _, fresh) = check_data(
                        &self.verifying,
                        &self.node.content,
                        &cid,
                        self.state.provider(&cid),
                        self.state.ledger().clone(),
                        self.state.verified().clone(),
                        Judged {
                            reader: &self.chain,
                            binding_domain: &self.binding_domain,
                            chain: &time,
                        },
                        self.cfg.fetch_timeout,
                    )
                    .await
                    .map_err(|err| anyhow::anyhow!("epoch {e}'s batch data: {err}"))?;
                    self.state.add_verified(fresh);
                    let unbound = applied.unbound.len();
                    (applied.ledger, unbound)
                }
            };
            anyhow::ensure!(
                B256::from(ledger.root()) == root,
                "epoch {e}: the settled root differs from this validator's ledger; it stays at epoch {}",
                self.state.epoch()
            );
            for _ in 0..unbound {
                self.metrics().reject("reward", "unbound key");
            }
            if let Ok(c) = parse_cid(&cid) {
                let _ = self.node.content.pin(&c).await;
            }
            // Read before the state moves on: a failed read leaves the
            // epoch to be caught up again, never a ledger judged by stale time.
            let next = self.times.judging(&self.chain, e + 1).await?;
            self.durable.put_ledger(e, &ledger)?;
            let signed_next = self.durable.signed(e + 1)?;
            self.state.settled(ledger, Instant::now());
            self.state.set_chain_time(next);
            if let Some(prev) = signed_next {
                self.state
                    .signed_before(prev.round, batch::digest(&Batch::from(&prev), &self.domain));
            }
            self.metrics().ledger_epoch.set(e as i64);
            tracing::info!(epoch = e, root = %root, "ledger at the settled epoch");
            self.ledger_tx
                .send_replace((e, Arc::new(self.state.ledger().clone())));
        }
        Ok(())
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
    let mut times = ChainTimes::default();
    for e in 1..=upto {
        let settlement = chain.settlement();
        let root = settlement.rootOf(e).call().await?;
        let cid = settlement.dataCidOf(e).call().await?;
        let time = times.judging(chain, e).await?;
        let (applied, _, fresh) = check_data(
            &tokio::sync::Semaphore::new(verifiers()),
            content,
            &cid,
            None,
            ledger,
            verified.clone(),
            Judged {
                reader: chain,
                binding_domain: &binding_domain,
                chain: &time,
            },
            timeout,
        )
        .await
        .map_err(|err| anyhow::anyhow!("epoch {e}'s batch data {cid}: {err}"))?;
        for (cid, v) in fresh {
            verified.insert(cid, (v.transcript.header, v.outcome));
        }
        anyhow::ensure!(
            B256::from(applied.ledger.root()) == root,
            "epoch {e}: the data does not give the root the chain holds"
        );
        ledger = applied.ledger;
    }
    Ok(ledger)
}

/// Fetches a record by its textual CID, reading at most `max` bytes; what
/// is refused as too large is removed from the store.
async fn fetch(
    content: &Content,
    cid: &str,
    provider: Option<PeerId>,
    timeout: Duration,
    max: usize,
) -> Result<Vec<u8>, String> {
    let c = parse_cid(cid).map_err(|e| e.to_string())?;
    match content
        .get_record_within(&c, provider.as_slice(), timeout, max)
        .await
    {
        Ok(b) => Ok(b),
        Err(e @ cyteria_node::content::ContentError::TooLarge(_)) => {
            content.discard(&c).await;
            Err(e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Fetches batch data and every transcript it names that is not verified
/// yet, verifies those, and applies the data strictly to `ledger`.
#[allow(clippy::too_many_arguments)]
async fn check_data(
    verifying: &tokio::sync::Semaphore,
    content: &Content,
    cid: &str,
    provider: Option<PeerId>,
    ledger: Ledger,
    mut verified: Verified,
    judged: Judged<'_>,
    timeout: Duration,
) -> Result<
    (
        proposal::Applied,
        BatchData,
        Vec<(String, verifier::Verified)>,
    ),
    String,
> {
    let bytes = fetch(
        content,
        cid,
        provider,
        timeout,
        proposal::BATCH_DATA.max_bytes,
    )
    .await?;
    let data = BatchData::decode(&bytes).map_err(|e| e.to_string())?;
    let mut fresh = vec![];
    for t in &data.transcripts {
        if verified.contains_key(&t.cid) {
            continue;
        }
        let bytes = fetch(content, &t.cid, provider, timeout, TRANSCRIPT.max_bytes).await?;
        let _permit = verifying.acquire().await.map_err(|e| e.to_string())?;
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
        verified.insert(
            t.cid.clone(),
            (v.transcript.header.clone(), v.outcome.clone()),
        );
        fresh.push((t.cid.clone(), v));
    }
    // The leader's reference block must be on this validator's chain with
    // the time the data gives it.
    let r = data.reference;
    let time = judged
        .reader
        .block_time(r.block)
        .await
        .map_err(|e| format!("reference block {}: {e:#}", r.block))?;
    if time != r.time {
        return Err(format!(
            "reference block {} has time {time}, the data says {}",
            r.block, r.time
        ));
    }
    // Drops mint to the wallets bonded at the reference block.
    let bonded = judged
        .reader
        .bonded_at(&data.wallets_touched(&ledger, &verified), r.block)
        .await
        .map_err(|e| format!("player bonds at block {}: {e:#}", r.block))?;
    // Owned items count where the seat's wallet held them at the beacon.
    let held = judged
        .reader
        .holdings(
            &data.holdings_needed(&ledger, &verified),
            &judged.chain.epochs,
        )
        .await
        .map_err(|e| format!("owned items at their beacons: {e:#}"))?;
    let cx = Context {
        chain_id: judged.reader.chain_id,
        binding_domain: judged.binding_domain,
        verified: &verified,
        chain: judged.chain,
        bonded: &bonded,
        held: &held,
    };
    let applied = proposal::apply(&ledger, &data, &cx).map_err(|e| e.to_string())?;
    Ok((applied, data, fresh))
}

/// What batch data is judged by besides the ledger and the verified transcripts.
struct Judged<'a> {
    /// Where the reference block is read, and the chain's id.
    reader: &'a Chain,
    binding_domain: &'a Eip712Domain,
    chain: &'a ChainTime,
}

/// Settled epochs' roots and times read from the chain, kept while they
/// can still be a beacon.
#[derive(Default)]
struct ChainTimes {
    epochs: BTreeMap<u64, Settled>,
}

impl ChainTimes {
    /// The chain time a batch for `epoch` is judged at: epoch - 1 and the
    /// epochs before it whose beacons were still recent then, with the
    /// chain's tick rate. Reads what it does not hold yet.
    async fn judging(&mut self, chain: &Chain, epoch: u64) -> anyhow::Result<ChainTime> {
        let mut out = BTreeMap::new();
        let Some(mut e) = epoch.checked_sub(1) else {
            anyhow::bail!("epoch 0 is the deployment, not a batch");
        };
        let tick_rate = chain.tick_rate().await?;
        let horizon = beacon_horizon_s(tick_rate);
        let mut newest = None;
        loop {
            let s = match self.epochs.get(&e) {
                Some(s) => *s,
                None => {
                    let s = chain.settled(e).await?;
                    self.epochs.insert(e, s);
                    s
                }
            };
            let newest_at = *newest.get_or_insert(s.at);
            if s.at.saturating_add(horizon) < newest_at {
                break;
            }
            out.insert(e, s);
            match e.checked_sub(1) {
                Some(prev) => e = prev,
                None => break,
            }
        }
        // What no later batch can use any more is forgotten.
        if let Some((&oldest, _)) = out.iter().next() {
            self.epochs.retain(|k, _| *k >= oldest);
        }
        Ok(ChainTime {
            deployment: chain.deployment_id(),
            epochs: out,
            tick_rate,
            // A batch's data names its own reference; a leader's comes from `State::set_head`.
            head: Default::default(),
        })
    }
}
