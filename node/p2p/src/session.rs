//! One match between real peers: a ggrs P2P session over [`rollback`]
//! streams, driven at a fixed tick rate, with every player signing
//! checkpoints of its input chain. At the end the node holds the
//! transcript (header, inputs, signatures, final checksum) in its store.
//!
//! [`rollback`]: crate::rollback

use std::time::{Duration, Instant};

use cyteria_game::transcript::{
    END_FINISHED, InputChain, MatchHeader, Signature, Transcript, ending_left,
};
use cyteria_game::{Game, Input, bot, verify};
use ggrs::{
    DesyncDetection, GgrsError, GgrsEvent, GgrsRequest, P2PSession, PlayerType, SessionBuilder,
    SessionState,
};
use libp2p::PeerId;
use serde::{Deserialize, Serialize};

use crate::conditioner::LinkConditions;
use crate::identity::Identity;
use crate::lobby::Group;
use crate::net::Misbehaviour;
use crate::net::Net;
use crate::rollback::{Hub, MatchStreams};
use crate::signing::{
    CheckpointBook, Filed, end_signed, sign_checkpoint, sign_end, verify_transcript_signatures,
};
use crate::store::Store;
use crate::wire::{RollbackFrame, WireCheckpoint};

/// The ggrs types of a Cyteria match: the game's `Input` and `State`, peers addressed by `PeerId`.
pub struct GgrsConfig;
impl ggrs::Config for GgrsConfig {
    type Input = Input;
    type InputPredictor = ggrs::PredictRepeatLast;
    type State = cyteria_game::State;
    type Address = PeerId;
}

/// How matches are played.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// Frames of input delay.
    pub input_delay: usize,
    /// Frames a node may run ahead of its peers' confirmed inputs.
    pub max_prediction: usize,
    /// Wall-clock ticks per second (the game runs at 60; tests may speed up).
    pub tick_hz: u32,
    /// Frames between signed checkpoints.
    pub checkpoint_every: u32,
    /// Silence after which a peer counts as gone, in milliseconds.
    pub disconnect_timeout_ms: u64,
    /// How long the players may take to synchronize, in milliseconds.
    pub sync_timeout_ms: u64,
    /// How long to wait for the others' final signatures after the end, in milliseconds.
    pub end_linger_ms: u64,
    /// Conditions applied to this node's outgoing rollback traffic.
    pub link: LinkConditions,
    /// How this player misbehaves on purpose (tests and the devnet only).
    #[cfg(feature = "adversary")]
    #[serde(skip)]
    pub adversary: crate::adversary::Adversary,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            input_delay: 2,
            max_prediction: 8,
            tick_hz: 60,
            checkpoint_every: crate::signing::CHECKPOINT_EVERY,
            disconnect_timeout_ms: 2_000,
            sync_timeout_ms: 15_000,
            end_linger_ms: 3_000,
            link: LinkConditions::default(),
            #[cfg(feature = "adversary")]
            adversary: Default::default(),
        }
    }
}

/// Where the local player's input comes from.
#[derive(Clone)]
pub enum InputSource {
    /// The core's bot plays the seat.
    Bot,
    /// Someone outside (the client) sets the input of the next frame.
    Watch(tokio::sync::watch::Receiver<Input>),
    /// A window: it sets the input of the next frame and is shown every
    /// frame the session advances.
    Client(ClientLink),
}

/// The session's side of a window: the input the window holds down, and
/// what the window draws.
#[derive(Clone)]
pub struct ClientLink {
    /// The input the window holds down, read for each next frame.
    pub input: tokio::sync::watch::Receiver<Input>,
    /// Every frame the session advances, for the window to draw.
    pub view: tokio::sync::watch::Sender<Option<MatchView>>,
}

/// One advanced frame, as the window draws it.
#[derive(Clone, Debug)]
pub struct MatchView {
    /// The match's id.
    pub match_id: [u8; 32],
    /// The match's seed.
    pub seed: u64,
    /// This node's seat.
    pub seat: usize,
    /// The game state at this frame.
    pub state: cyteria_game::State,
    /// Rollbacks so far, and the depth of the last one.
    pub rollbacks: u32,
    /// Frames re-simulated by the last rollback.
    pub last_rollback_depth: u32,
    /// Round-trip time to the slowest peer, in milliseconds.
    pub ping_ms: u32,
    /// Frames this node runs ahead of the furthest-behind peer (ggrs's
    /// frame advantage: negative when behind).
    pub frame_advantage: i32,
}

/// How a match ended for this node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ending {
    /// Played to the end with every player's final signature.
    Finished,
    /// A player left or went silent; the transcript ends at the last frame all signed.
    PeerLeft {
        /// The peers that left, as peer ids.
        peers: Vec<String>,
    },
    /// Checksums differed between peers.
    Desync,
    /// The players never synchronized, or the session failed.
    Failed {
        /// What went wrong.
        reason: String,
    },
}

/// What a node saw of one match.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MatchReport {
    /// The match id, in hex.
    pub match_id: String,
    /// This node's seat.
    pub seat: usize,
    /// How many players the match had.
    pub players: usize,
    /// How the match ended for this node.
    pub ending: Ending,
    /// Frames in the transcript (0 when none was kept).
    pub frames: u32,
    /// The kept transcript's final checksum, in hex.
    pub final_checksum: Option<String>,
    /// Rollbacks (loads of an earlier state).
    pub rollbacks: u64,
    /// Frames re-simulated by all rollbacks together.
    pub rollback_frames: u64,
    /// The deepest rollback, in frames.
    pub max_rollback_depth: u32,
    /// Ticks skipped: the prediction window full or waiting for peers.
    pub stalls: u64,
    /// Desyncs ggrs detected (checksums that differed between peers).
    pub desyncs: u64,
    /// Milliseconds from the start of the search to the first frame, once there was one.
    pub lobby_to_first_frame_ms: Option<u64>,
    /// Milliseconds from the start of the match to its end.
    pub duration_ms: u64,
    /// Equivocations (two signed chains for one frame) detected and stored.
    pub evidence: u64,
    /// Checkpoints refused: a bad signature, or a chain that does not match the inputs.
    pub rejected_checkpoints: u64,
    /// How each other player was reached at the match's end, in seat
    /// order: a rollback stream keeps its connection open, so `direct`
    /// means the match played over a direct connection.
    pub paths: Vec<crate::net::links::Path>,
    /// The transports of the direct connections to each other player at
    /// the match's end, in seat order ("tcp", "quic", "quic+tcp"; empty
    /// when only relayed): which one a hole punch opened.
    #[serde(default)]
    pub transports: Vec<String>,
    /// Bytes the match's rollback streams sent, framing included.
    pub bytes_sent: u64,
    /// Bytes the match's rollback streams received, framing included.
    pub bytes_received: u64,
    /// The transcript kept in the store, if any (not serialised).
    #[serde(skip)]
    pub transcript: Option<Transcript>,
    /// The re-simulation of [`MatchReport::transcript`] done once when it
    /// was built (announcing it needs the rewards; nobody simulates twice).
    #[serde(skip)]
    pub outcome: Option<cyteria_game::verify::Outcome>,
}

/// Everything a match needs from its node.
#[derive(Clone)]
pub struct MatchContext {
    /// The node's swarm.
    pub net: Net,
    /// The node's rollback stream hub.
    pub hub: Hub,
    /// The node's key, which signs checkpoints.
    pub identity: Identity,
    /// The node's store, which keeps transcripts and evidence.
    pub store: Store,
}

struct Play {
    header: MatchHeader,
    seat: usize,
    players: Vec<PeerId>,
    game: Game,
    /// Simulated frame (ggrs's frame), independent of the game stopping at its end.
    frame: u32,
    inputs: Vec<Vec<Input>>,
    over_after: Vec<bool>,
    /// heads[seat][f]: the input chain after f confirmed inputs.
    heads: Vec<Vec<[u8; 32]>>,
    chains: Vec<InputChain>,
    confirmed: u32,
    book: CheckpointBook,
    pending: Vec<(PeerId, WireCheckpoint)>,
    byes: Vec<Option<u32>>,
    /// Each seat's signed end record, as received (frame, ending, checksum, signature).
    ends: Vec<Option<(u32, u8, cyteria_game::state::Checksum, Signature)>>,
    /// The ending this node signed: `END_FINISHED`, or the seats that left.
    ending: u8,
    report: MatchReport,
    /// Depth of the last rollback, for the window's overlay.
    last_depth: u32,
    /// The re-simulation of the own inputs at the match's end (frame and
    /// outcome): the transcript of a finished match reuses it.
    ended: Option<(u32, cyteria_game::verify::Outcome)>,
    /// Seats whose equivocation this node already sent the validators.
    reported: std::collections::BTreeSet<u8>,
    /// The (seat, frame) of every equivocation filed: a repeat of one is
    /// neither stored nor relayed again (four players relaying each
    /// other's copies stormed).
    equivocations: std::collections::BTreeSet<(u8, u32)>,
}

impl Play {
    /// Re-simulates the inputs up to `frame`, where the match ends; keeps
    /// the outcome for the transcript and returns the checksum there.
    fn replay_to(&mut self, frame: u32) -> Result<cyteria_game::state::Checksum, String> {
        let inputs: Vec<Vec<Input>> = self
            .inputs
            .iter()
            .map(|v| v[..frame as usize].to_vec())
            .collect();
        let o =
            verify(&self.header, &inputs).map_err(|e| format!("own inputs do not replay: {e}"))?;
        let c = o.final_checksum;
        self.ended = Some((frame, o));
        Ok(c)
    }

    fn record(&mut self, frame: u32, tick: &[Input]) {
        let f = frame as usize;
        for (s, i) in tick.iter().enumerate() {
            if self.inputs[s].len() <= f {
                self.inputs[s].resize(f + 1, Input::default());
            }
            self.inputs[s][f] = *i;
        }
        if self.over_after.len() <= f {
            self.over_after.resize(f + 1, false);
        }
    }

    fn run_requests(
        &mut self,
        reqs: Vec<GgrsRequest<GgrsConfig>>,
        net: &Net,
    ) -> Result<(), String> {
        for r in reqs {
            match r {
                GgrsRequest::SaveGameState { cell, frame } => {
                    cell.save(
                        frame,
                        Some(self.game.save()),
                        Some(self.game.checksum().as_u128()),
                    );
                }
                GgrsRequest::LoadGameState { cell, frame } => {
                    let s = cell
                        .load()
                        .ok_or("ggrs asked to load a state it never saved")?;
                    let depth = self.frame.saturating_sub(frame.max(0) as u32);
                    self.game.load(&s);
                    self.frame = frame.max(0) as u32;
                    self.report.rollbacks += 1;
                    self.report.rollback_frames += depth as u64;
                    self.report.max_rollback_depth = self.report.max_rollback_depth.max(depth);
                    self.last_depth = depth;
                    net.metrics.rollbacks.inc();
                    net.metrics.rollback_depth.observe(depth as f64);
                }
                GgrsRequest::AdvanceFrame { inputs } => {
                    let tick: Vec<Input> = inputs.iter().map(|(i, _)| *i).collect();
                    let f = self.frame;
                    if f as usize >= self.inputs[0].len() {
                        net.metrics.frames.inc();
                    }
                    self.record(f, &tick);
                    self.game.step(&tick);
                    self.over_after[f as usize] = self.game.is_over();
                    self.frame += 1;
                }
            }
        }
        Ok(())
    }

    /// Folds newly confirmed frames into the input chains; returns the end
    /// frame once the end of the match is confirmed.
    fn confirm(&mut self, confirmed_frame: i32) -> Option<u32> {
        while (self.confirmed as i64) <= confirmed_frame as i64
            && (self.confirmed as usize) < self.inputs[0].len()
        {
            let f = self.confirmed as usize;
            for s in 0..self.players.len() {
                self.chains[s].push(self.inputs[s][f]);
                self.heads[s].push(self.chains[s].head);
            }
            self.confirmed += 1;
            if self.over_after[f] {
                return Some(self.confirmed);
            }
        }
        None
    }
}

/// Sends the window the frame just advanced to, with the link's figures.
fn show(link: &ClientLink, play: &Play, session: &P2PSession<GgrsConfig>) {
    let (mut ping, mut advantage) = (0u32, i32::MAX);
    for h in 0..play.players.len() {
        if h == play.seat {
            continue;
        }
        if let Ok(s) = session.network_stats(h) {
            ping = ping.max(s.ping.min(u32::MAX as u128) as u32);
            advantage = advantage.min(s.remote_frames_behind);
        }
    }
    link.view.send_replace(Some(MatchView {
        match_id: play.header.match_id,
        seed: play.header.seed,
        seat: play.seat,
        state: play.game.state.clone(),
        rollbacks: play.report.rollbacks as u32,
        last_rollback_depth: play.last_depth,
        ping_ms: ping,
        frame_advantage: if advantage == i32::MAX { 0 } else { advantage },
    }));
}

/// How far past this node's frame a checkpoint it is sent may be.
const CHECKPOINT_AHEAD: u32 = 600;

/// Checkpoints of one seat waiting to be compared with this node's
/// inputs, at most (a seat signs one every `checkpoint_every` frames; the
/// window ahead holds ten at the default).
const MAX_PENDING_CHECKPOINTS: usize = 64;

/// Plays one agreed match to its end and stores the transcript. A panic
/// inside the match (ggrs asserts on what it was fed, or a bug of ours)
/// ends this match as failed, never the node.
pub async fn play(
    ctx: &MatchContext,
    group: &Group,
    cfg: &SessionConfig,
    source: InputSource,
    searching_since: Instant,
) -> MatchReport {
    use futures::FutureExt;
    let run = std::panic::AssertUnwindSafe(play_match(ctx, group, cfg, source, searching_since));
    match run.catch_unwind().await {
        Ok(report) => report,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            tracing::warn!(reason = %what, "the match failed on a panic; the node goes on");
            ctx.net.metrics.match_panics.inc();
            let seat = group.seat_of(&ctx.net.peer_id).unwrap_or(0);
            let mut report = new_report(group, seat);
            report.ending = Ending::Failed {
                reason: format!("the match panicked: {what}"),
            };
            report
        }
    }
}

fn new_report(group: &Group, seat: usize) -> MatchReport {
    MatchReport {
        match_id: blake3::Hash::from_bytes(group.match_id)
            .to_hex()
            .to_string(),
        seat,
        players: group.peers().count(),
        ending: Ending::Failed {
            reason: "not started".into(),
        },
        frames: 0,
        final_checksum: None,
        rollbacks: 0,
        rollback_frames: 0,
        max_rollback_depth: 0,
        stalls: 0,
        desyncs: 0,
        lobby_to_first_frame_ms: None,
        duration_ms: 0,
        evidence: 0,
        rejected_checkpoints: 0,
        paths: vec![],
        transports: vec![],
        bytes_sent: 0,
        bytes_received: 0,
        transcript: None,
        outcome: None,
    }
}

async fn play_match(
    ctx: &MatchContext,
    group: &Group,
    cfg: &SessionConfig,
    source: InputSource,
    searching_since: Instant,
) -> MatchReport {
    let started = Instant::now();
    let me = ctx.net.peer_id;
    let seat = group.seat_of(&me).unwrap_or(0);
    let players: Vec<PeerId> = group.peers().copied().collect();
    let mut report = new_report(group, seat);
    let header = match group.header() {
        Ok(h) => h,
        Err(e) => {
            report.ending = Ending::Failed { reason: e.into() };
            return report;
        }
    };
    ctx.net.metrics.matches_started.inc();
    let seed = group.seed
        ^ u64::from_le_bytes(
            blake3::hash(&me.to_bytes()).as_bytes()[..8]
                .try_into()
                .unwrap_or([0; 8]),
        );
    let (socket, control, streams) = ctx
        .hub
        .open(group.match_id, players.clone(), cfg.link, seed);
    let session = match build_session(&players, seat, cfg, socket) {
        Ok(s) => s,
        Err(e) => {
            report.ending = Ending::Failed {
                reason: e.to_string(),
            };
            return report;
        }
    };
    let n = players.len();
    let mut play = Play {
        game: Game::from_header(&header),
        book: CheckpointBook::new(header.clone()),
        chains: (0..n)
            .map(|s| InputChain::new(&header.match_id, s as u8))
            .collect(),
        heads: (0..n)
            .map(|s| vec![InputChain::new(&header.match_id, s as u8).head])
            .collect(),
        header,
        seat,
        players,
        frame: 0,
        inputs: vec![vec![]; n],
        over_after: vec![],
        confirmed: 0,
        pending: vec![],
        byes: vec![None; n],
        ends: vec![None; n],
        ending: END_FINISHED,
        report,
        last_depth: 0,
        ended: None,
        reported: Default::default(),
        equivocations: Default::default(),
    };
    let ending = drive(
        ctx,
        cfg,
        source,
        session,
        &control,
        &streams,
        &mut play,
        started,
        searching_since,
    )
    .await;
    play.report.paths = play
        .players
        .iter()
        .filter(|p| **p != me)
        .map(|p| ctx.net.links.path(p))
        .collect();
    play.report.transports = play
        .players
        .iter()
        .filter(|p| **p != me)
        .map(|p| ctx.net.links.direct_transports(p).join("+"))
        .collect();
    play.report.bytes_sent = streams.traffic().sent();
    play.report.bytes_received = streams.traffic().received();
    #[cfg(feature = "adversary")]
    if cfg.adversary.vanishes_at(play.frame) {
        // As a crashed node: nothing kept, nothing announced.
        play.report.ending = ending;
        return play.report;
    }
    finish(ctx, play, ending, started).await
}

fn build_session(
    players: &[PeerId],
    seat: usize,
    cfg: &SessionConfig,
    socket: crate::rollback::Socket,
) -> Result<P2PSession<GgrsConfig>, GgrsError> {
    let mut b = SessionBuilder::<GgrsConfig>::new()
        .with_num_players(players.len())?
        .with_input_delay(cfg.input_delay)
        .with_max_prediction_window(cfg.max_prediction)
        .with_desync_detection_mode(DesyncDetection::On { interval: 10 })
        .with_disconnect_timeout(Duration::from_millis(cfg.disconnect_timeout_ms))
        .with_disconnect_notify_delay(Duration::from_millis(cfg.disconnect_timeout_ms / 2))
        .with_fps(cfg.tick_hz as usize)?;
    for (i, p) in players.iter().enumerate() {
        b = b.add_player(
            if i == seat {
                PlayerType::Local
            } else {
                PlayerType::Remote(*p)
            },
            i,
        )?;
    }
    b.start_p2p_session(socket)
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    ctx: &MatchContext,
    cfg: &SessionConfig,
    source: InputSource,
    mut session: P2PSession<GgrsConfig>,
    control: &std::sync::Mutex<Vec<(PeerId, RollbackFrame)>>,
    streams: &MatchStreams,
    play: &mut Play,
    started: Instant,
    searching_since: Instant,
) -> Ending {
    let net = &ctx.net;
    let mut interval =
        tokio::time::interval(Duration::from_secs_f64(1.0 / cfg.tick_hz.max(1) as f64));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut skip = 0u32;
    let mut end: Option<(u32, Instant)> = None;
    let mut left: Vec<PeerId> = vec![];
    loop {
        interval.tick().await;
        #[cfg(feature = "adversary")]
        if cfg.adversary.vanishes_at(play.frame) {
            return Ending::Failed {
                reason: "vanished on purpose".into(),
            };
        }
        session.poll_remote_clients();
        for ev in session.events() {
            match ev {
                GgrsEvent::Disconnected { addr } => left.push(addr),
                GgrsEvent::DesyncDetected {
                    frame,
                    local_checksum,
                    remote_checksum,
                    addr,
                } => {
                    // A peer's checksum report is its word, not proof: a
                    // loser could end everyone's match with a false one.
                    // The signed checkpoints decide; this is counted.
                    tracing::warn!(frame, local_checksum, remote_checksum, %addr, "a peer reports another state (desync?)");
                    net.metrics.desyncs.inc();
                    play.report.desyncs += 1;
                }
                // At most a prediction window: a peer's (bounded) claim of
                // advantage must not freeze the match.
                GgrsEvent::WaitRecommendation { skip_frames } => {
                    skip = (skip + skip_frames).min(cfg.max_prediction as u32)
                }
                GgrsEvent::NetworkInterrupted { addr, .. } => {
                    tracing::info!(%addr, "peer interrupted")
                }
                _ => {}
            }
        }
        let frames: Vec<(PeerId, RollbackFrame)> =
            std::mem::take(&mut *control.lock().unwrap_or_else(|e| e.into_inner()));
        for (from, f) in frames {
            on_control(ctx, play, streams, from, f).await;
        }
        check_pending(ctx, play).await;
        let peer_left = || Ending::PeerLeft {
            peers: left.iter().map(|p| p.to_string()).collect(),
        };
        if !left.is_empty() && end.is_none() {
            // Those who stay end the match where every seat's signatures
            // reach, and sign an end record naming the seats that left: all
            // are credited up to there, none further.
            let seats: Vec<usize> = left
                .iter()
                .filter_map(|p| play.players.iter().position(|q| q == p))
                .collect();
            let limit = play.confirmed.min(play.inputs[0].len() as u32);
            let frame = play.book.common_frame(limit);
            if frame == 0 || seats.is_empty() || seats.contains(&play.seat) {
                return peer_left();
            }
            let checksum = match play.replay_to(frame) {
                Ok(c) => c,
                Err(reason) => return Ending::Failed { reason },
            };
            play.ending = ending_left(seats.iter().copied());
            tracing::info!(frame, left = ?seats, "players left: the match ends at their last signed frame");
            sign_and_send(
                ctx,
                cfg,
                play,
                streams,
                frame,
                Some((play.ending, checksum)),
            );
            end = Some((frame, Instant::now()));
        }
        if let Some((frame, since)) = end {
            // Done when every seat still present said its bye at this end.
            let others_done =
                play.byes.iter().enumerate().all(|(s, b)| {
                    s == play.seat || play.ending & (1 << s) != 0 || *b == Some(frame)
                });
            if others_done || since.elapsed() > Duration::from_millis(cfg.end_linger_ms) {
                return if play.ending == END_FINISHED {
                    Ending::Finished
                } else {
                    peer_left()
                };
            }
            continue;
        }
        if session.current_state() != SessionState::Running {
            if started.elapsed() > Duration::from_millis(cfg.sync_timeout_ms) {
                return Ending::Failed {
                    reason: "the players never synchronized".into(),
                };
            }
            continue;
        }
        if play.report.lobby_to_first_frame_ms.is_none() {
            let t = searching_since.elapsed();
            play.report.lobby_to_first_frame_ms = Some(t.as_millis() as u64);
            net.metrics.lobby_to_first_frame.observe(t.as_secs_f64());
        }
        // Frames become final only through a successful advance: ggrs
        // corrects mispredicted frames (rollback) inside it, so after one the
        // recorded inputs up to the confirmed frame are the true ones.
        let mut advanced = false;
        if skip > 0 {
            skip -= 1;
            play.report.stalls += 1;
            net.metrics.stalls.inc();
        } else {
            let input = match &source {
                InputSource::Bot => bot::input(&play.game.arena, &play.game.state, play.seat),
                InputSource::Watch(rx) => *rx.borrow(),
                InputSource::Client(link) => *link.input.borrow(),
            };
            if let Err(e) = session.add_local_input(play.seat, input) {
                return Ending::Failed {
                    reason: e.to_string(),
                };
            }
            match session.advance_frame() {
                Ok(reqs) => {
                    if let Err(e) = play.run_requests(reqs, net) {
                        return Ending::Failed { reason: e };
                    }
                    advanced = true;
                }
                Err(GgrsError::PredictionThreshold) => {
                    play.report.stalls += 1;
                    net.metrics.stalls.inc();
                }
                Err(e) => {
                    return Ending::Failed {
                        reason: e.to_string(),
                    };
                }
            }
        }
        if !advanced {
            continue;
        }
        streams.set_frame(session.current_frame());
        if let InputSource::Client(link) = &source {
            show(link, play, &session);
        }
        let before = play.confirmed;
        let over = play.confirm(session.confirmed_frame());
        // Sign the own chain at every checkpoint boundary it crossed.
        for f in (before + 1)..=play.confirmed {
            if f % cfg.checkpoint_every == 0 && Some(f) != over {
                sign_and_send(ctx, cfg, play, streams, f, None);
            }
        }
        if let Some(frame) = over {
            let checksum = match play.replay_to(frame) {
                Ok(c) => c,
                Err(reason) => return Ending::Failed { reason },
            };
            sign_and_send(
                ctx,
                cfg,
                play,
                streams,
                frame,
                Some((END_FINISHED, checksum)),
            );
            play.inputs
                .iter_mut()
                .for_each(|v| v.truncate(frame as usize));
            end = Some((frame, Instant::now()));
        }
    }
}

fn sign_and_send(
    ctx: &MatchContext,
    // read only by the adversary hook
    #[cfg_attr(not(feature = "adversary"), allow(unused_variables))] cfg: &SessionConfig,
    play: &mut Play,
    streams: &MatchStreams,
    frame: u32,
    bye: Option<(u8, cyteria_game::state::Checksum)>,
) {
    let chain = InputChain {
        frame,
        head: play.heads[play.seat][frame as usize],
    };
    let cp = sign_checkpoint(&ctx.identity, play.book.digest(), play.seat as u8, &chain);
    play.book.file(cp);
    ctx.net.metrics.checkpoints_signed.inc();
    let end = bye.map(|(ending, checksum)| {
        let sig = sign_end(&ctx.identity, play.book.digest(), frame, ending, &checksum);
        play.ends[play.seat] = Some((frame, ending, checksum, sig));
        sig
    });
    let frame_of = |cp| match (bye, end) {
        (Some((ending, checksum)), Some(end)) => RollbackFrame::Bye {
            frame,
            ending,
            checksum,
            last: cp,
            end,
        },
        _ => RollbackFrame::Checkpoint(cp),
    };
    #[cfg(feature = "adversary")]
    {
        let others: Vec<PeerId> = play
            .players
            .iter()
            .copied()
            .filter(|p| *p != ctx.net.peer_id)
            .collect();
        if let Some(sends) = cfg.adversary.checkpoints(
            &ctx.identity,
            play.book.digest(),
            play.seat as u8,
            &chain,
            cp,
            &others,
        ) {
            for (p, cp) in sends {
                streams.send(Some(p), &frame_of(cp));
            }
            return;
        }
    }
    streams.send(None, &frame_of(cp));
}

async fn on_control(
    ctx: &MatchContext,
    play: &mut Play,
    streams: &MatchStreams,
    from: PeerId,
    f: RollbackFrame,
) {
    let cp = match f {
        RollbackFrame::Checkpoint(cp) => cp,
        RollbackFrame::Bye {
            frame,
            ending,
            checksum,
            last,
            end,
        } => {
            if last.frame != frame {
                return ctx.net.penalise(from, Misbehaviour::InconsistentBye).await;
            }
            if let Some(s) = play.players.iter().position(|p| *p == from)
                && last.seat as usize == s
            {
                let key = &play.header.players[s].public_key;
                if !end_signed(key, play.book.digest(), frame, ending, &checksum, &end) {
                    return ctx.net.penalise(from, Misbehaviour::BadEndSignature).await;
                }
                play.byes[s] = Some(frame);
                play.ends[s] = Some((frame, ending, checksum, end));
            }
            last
        }
        _ => return,
    };
    if cp.seat as usize >= play.players.len() {
        return ctx
            .net
            .penalise(from, Misbehaviour::CheckpointForNoSeat)
            .await;
    }
    // No match runs past its time limit: a checkpoint beyond it would be
    // kept (and relayed) for the rest of the match.
    if cp.frame > play.header.rules.time_limit {
        return ctx
            .net
            .penalise(from, Misbehaviour::CheckpointPastTheEnd)
            .await;
    }
    // Far ahead of this node: not comparable for a long while; dropped
    // (an honest sender is within its prediction window of this node).
    if cp.frame > play.frame.saturating_add(CHECKPOINT_AHEAD)
        || play
            .pending
            .iter()
            .filter(|(_, c)| c.seat == cp.seat)
            .count()
            >= MAX_PENDING_CHECKPOINTS
    {
        ctx.net.metrics.reject("rollback", "checkpoint far ahead");
        return;
    }
    if play.equivocations.contains(&(cp.seat, cp.frame)) {
        return;
    }
    match play.book.file(cp) {
        Filed::BadSignature => {
            play.report.rejected_checkpoints += 1;
            ctx.net
                .penalise(from, Misbehaviour::BadCheckpointSignature)
                .await;
        }
        Filed::Duplicate => {}
        Filed::Equivocation(ev) => {
            play.equivocations.insert((cp.seat, cp.frame));
            tracing::warn!(
                seat = cp.seat,
                frame = cp.frame,
                "equivocation: two signed input chains for one frame"
            );
            ctx.net.metrics.evidence.inc();
            play.report.evidence += 1;
            if let Err(e) = ctx.store.put_evidence(&ev) {
                tracing::error!(error = %e, "cannot store evidence");
            }
            // Let the other players see it too.
            streams.send_except(from, &RollbackFrame::Checkpoint(cp));
            // And the validators, once per seat: they slash the seat's bond.
            if play.reported.insert(cp.seat) {
                let m = crate::wire::ActionMessage::Evidence(ev.for_validators(&play.header));
                if let Err(e) = ctx
                    .net
                    .publish(crate::wire::ACTIONS_TOPIC, m.encode())
                    .await
                {
                    tracing::info!(error = %e, "equivocation evidence not sent to the validators");
                }
            }
        }
        Filed::New => {
            if play.players[cp.seat as usize] == from {
                // Relay what a player signed, so that all players can compare.
                streams.send_except(from, &RollbackFrame::Checkpoint(cp));
            }
            play.pending.push((from, cp));
        }
    }
}

/// Compares received checkpoints with the inputs this node confirmed.
async fn check_pending(ctx: &MatchContext, play: &mut Play) {
    let confirmed = play.confirmed;
    let (ready, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut play.pending)
        .into_iter()
        .partition(|(_, c)| c.frame <= confirmed);
    play.pending = rest;
    for (from, cp) in ready {
        if play.heads[cp.seat as usize].get(cp.frame as usize) != Some(&cp.chain) {
            play.report.rejected_checkpoints += 1;
            tracing::warn!(
                seat = cp.seat,
                frame = cp.frame,
                "a signed checkpoint does not match the inputs received"
            );
            ctx.net
                .penalise(from, Misbehaviour::CheckpointMismatch)
                .await;
        }
    }
}

async fn finish(
    ctx: &MatchContext,
    mut play: Play,
    ending: Ending,
    started: Instant,
) -> MatchReport {
    let m = &ctx.net.metrics;
    // The transcript ends where every player's signature reaches: the end
    // of the match, or for a cut-short match the last common checkpoint.
    let limit = play.confirmed.min(play.inputs[0].len() as u32);
    // A node that signed an end keeps the transcript to exactly that frame:
    // a leaver's checkpoints that arrive during the linger must not move it
    // past the end record this node signed.
    let frames = match play.ends[play.seat] {
        Some((f, ..)) if play.book.common_frame(f) == f => f,
        _ => play.book.common_frame(limit),
    };
    let mut report = play.report.clone();
    report.ending = ending.clone();
    report.duration_ms = started.elapsed().as_millis() as u64;
    if frames > 0 && !matches!(ending, Ending::Desync) {
        let n = play.players.len();
        let inputs: Vec<Vec<Input>> = play
            .inputs
            .iter_mut()
            .map(|v| v[..frames as usize].to_vec())
            .collect();
        let checkpoints = (0..n)
            .map(|s| play.book.signed_up_to(s as u8, frames))
            .collect::<Vec<_>>();
        // A finished match was re-simulated at its end already, over these
        // same inputs; a cut-short one ends at an earlier frame.
        let outcome = match play.ended.take() {
            Some((f, o)) if f == frames => Ok(o),
            _ => verify(&play.header, &inputs),
        };
        match outcome {
            Ok(outcome) => {
                // The end record, when every seat still present signed
                // this very end (and the same seats as having left).
                let ending = play.ending;
                let ends: Option<Vec<Option<Signature>>> = play
                    .ends
                    .iter()
                    .enumerate()
                    .map(|(s, e)| {
                        if ending & (1 << s) != 0 {
                            return Some(None);
                        }
                        e.filter(|(f, en, c, _)| {
                            (*f, *en, *c) == (frames, ending, outcome.final_checksum)
                        })
                        .map(|(.., sig)| Some(sig))
                    })
                    .collect();
                let t = Transcript {
                    header: play.header.clone(),
                    inputs,
                    checkpoints,
                    final_checksum: outcome.final_checksum,
                    ends: ends.unwrap_or_default(),
                };
                match verify_transcript_signatures(&t.header, &t.inputs, &t.checkpoints) {
                    Ok(()) => {
                        if let Err(e) = ctx.store.put_transcript(&t) {
                            tracing::error!(error = %e, "cannot store the transcript");
                        }
                        report.frames = frames;
                        report.final_checksum = Some(t.final_checksum.to_hex());
                        report.transcript = Some(t);
                        report.outcome = Some(outcome);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the transcript's signatures do not hold; not kept")
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "the transcript does not replay; not kept"),
        }
    }
    if matches!(ending, Ending::Finished) && report.frames != play.confirmed {
        report.ending = Ending::Failed {
            reason: "the end was not signed by every player".into(),
        };
    }
    let label = match &report.ending {
        Ending::Finished => "finished",
        Ending::PeerLeft { .. } => "peer_left",
        Ending::Desync => "desync",
        Ending::Failed { .. } => "failed",
    };
    m.finished(label);
    let paths: Vec<&str> = report.paths.iter().map(|p| p.as_str()).collect();
    tracing::info!(
        match_id = %report.match_id,
        ending = label,
        frames = report.frames,
        rollbacks = report.rollbacks,
        paths = ?paths,
        bytes_sent = report.bytes_sent,
        "match over"
    );
    report
}
