//! ggrs traffic over libp2p: a [`NonBlockingSocket`] whose messages travel
//! on `/cyteria/rollback/2` streams between the players of a match.
//!
//! Each player opens one outbound stream to each other player and receives
//! on the streams the others open. A stream carries length-prefixed frames
//! (u32 big-endian length, then a [`RollbackFrame`]), each at most
//! [`ROLLBACK`]'s size limit; its first frame is `Hello { match_id }`, which
//! the receiver echoes once it has routed the stream to its match. A writer
//! that gets no echo, or whose stream fails later, opens a new one: an
//! inbound stream can be dropped on arrival (libp2p-stream drops streams
//! that arrive while its accept queue is full, and several players open
//! theirs at the same instant), and a write into a dropped stream does not
//! fail. The hub refuses streams from peers that are not in a running match
//! with this node, and penalises peers that send malformed or oversized
//! frames.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{AsyncWriteExt, StreamExt};
use ggrs::{Message, NonBlockingSocket};
use libp2p::{PeerId, StreamProtocol};
use tokio::sync::mpsc;

use crate::conditioner::{Conditioner, LinkConditions};
use crate::framing::{FrameError, read_frame_of, write_frame};
use crate::ggrs_guard::Guard;
use crate::net::Misbehaviour;
use crate::net::Net;
use crate::wire::{ROLLBACK, ROLLBACK_PROTOCOL, RollbackFrame};

/// How long an inbound stream may take to say hello (and its match to start here).
const HELLO_TIMEOUT: Duration = Duration::from_secs(8);

/// The first wait before a rollback stream is tried again, and the longest.
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// How often a peer that cannot be reached is looked up in the DHT.
const LOOKUP_EVERY: Duration = Duration::from_secs(5);

/// Reads one rollback frame's bytes, refusing any over `ROLLBACK`'s size limit.
pub async fn read_frame<R: futures::AsyncRead + Unpin>(r: &mut R) -> Result<Vec<u8>, FrameError> {
    read_frame_of(r, ROLLBACK.max_bytes).await
}

/// The non-ggrs frames a match received, for its session to handle.
pub type Control = Arc<Mutex<Vec<(PeerId, RollbackFrame)>>>;

/// Where the frames of one match go.
#[derive(Clone)]
struct Route {
    players: Vec<PeerId>,
    inbox: mpsc::Sender<(PeerId, RollbackFrame)>,
    traffic: Arc<Traffic>,
}

/// Bytes one match's rollback streams carried, framing included.
#[derive(Debug, Default)]
pub struct Traffic {
    sent: AtomicU64,
    received: AtomicU64,
}

impl Traffic {
    /// Bytes sent to the match's peers so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Bytes received from the match's peers so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

/// Accepts rollback streams for the node and routes them to matches.
#[derive(Clone)]
pub struct Hub {
    net: Net,
    routes: Arc<Mutex<BTreeMap<[u8; 32], Route>>>,
}

impl Hub {
    /// Registers the protocol and starts accepting streams.
    pub async fn start(net: Net) -> anyhow::Result<Hub> {
        let mut incoming = net.ipfs.new_stream(ROLLBACK_PROTOCOL).await?;
        let hub = Hub {
            net,
            routes: Default::default(),
        };
        let h = hub.clone();
        tokio::spawn(async move {
            while let Some((peer, stream)) = incoming.next().await {
                let h = h.clone();
                tokio::spawn(async move { h.serve(peer, stream).await });
            }
        });
        Ok(hub)
    }

    fn route(&self, match_id: &[u8; 32]) -> Option<Route> {
        self.routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(match_id)
            .cloned()
    }

    async fn serve(&self, peer: PeerId, mut stream: libp2p::Stream) {
        let m = &self.net.metrics;
        let hello = tokio::time::timeout(HELLO_TIMEOUT, read_frame(&mut stream)).await;
        let match_id = match hello {
            Ok(Ok(bytes)) => match RollbackFrame::decode(&bytes) {
                Ok(RollbackFrame::Hello { match_id }) => match_id,
                Ok(_) => {
                    return self.net.penalise(peer, Misbehaviour::NoHello).await;
                }
                Err(_) => {
                    return self.net.penalise(peer, Misbehaviour::MalformedFrame).await;
                }
            },
            Ok(Err(FrameError::Oversized(_))) => {
                return self.net.penalise(peer, Misbehaviour::OversizedFrame).await;
            }
            Ok(Err(_)) | Err(_) => return,
        };
        // The match may start here a moment after it started there.
        let deadline = Instant::now() + HELLO_TIMEOUT;
        let route = loop {
            if let Some(r) = self.route(&match_id) {
                break r;
            }
            if Instant::now() > deadline {
                return self.net.penalise(peer, Misbehaviour::UnknownMatch).await;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        if !route.players.contains(&peer) || peer == self.net.peer_id {
            return self.net.penalise(peer, Misbehaviour::NotAPlayer).await;
        }
        if write_frame(&mut stream, &RollbackFrame::Hello { match_id }.encode())
            .await
            .is_err()
        {
            return;
        }
        loop {
            let bytes = match read_frame(&mut stream).await {
                Ok(b) => b,
                Err(FrameError::Oversized(_)) => {
                    return self.net.penalise(peer, Misbehaviour::OversizedFrame).await;
                }
                Err(FrameError::Io(_)) => return,
            };
            m.bytes("rollback", "in", bytes.len() + 4);
            route
                .traffic
                .received
                .fetch_add(bytes.len() as u64 + 4, Ordering::Relaxed);
            if !self
                .net
                .limiter
                .allow(crate::net::limits::Channel::Rollback, &peer)
            {
                self.net.penalise(peer, Misbehaviour::RateLimited).await;
                continue;
            }
            match RollbackFrame::decode(&bytes) {
                Ok(f) => {
                    if route.inbox.send((peer, f)).await.is_err() {
                        return;
                    }
                }
                Err(_) => self.net.penalise(peer, Misbehaviour::MalformedFrame).await,
            }
        }
    }

    /// Opens the streams of one match and returns its socket and the inbox
    /// of its non-ggrs frames.
    pub fn open(
        &self,
        match_id: [u8; 32],
        players: Vec<PeerId>,
        conditions: LinkConditions,
        seed: u64,
    ) -> (Socket, Control, MatchStreams) {
        let (tx, rx) = mpsc::channel(4096);
        let traffic = Arc::new(Traffic::default());
        self.routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                match_id,
                Route {
                    players: players.clone(),
                    inbox: tx,
                    traffic: traffic.clone(),
                },
            );
        let mut out = BTreeMap::new();
        for (i, p) in players.iter().enumerate() {
            if *p == self.net.peer_id {
                continue;
            }
            let (otx, orx) = mpsc::unbounded_channel();
            out.insert(*p, otx);
            let net = self.net.clone();
            let peer = *p;
            let link = Conditioner::new(
                conditions,
                seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            let traffic = traffic.clone();
            tokio::spawn(async move { writer(net, peer, match_id, orx, link, traffic).await });
        }
        let control = Arc::new(Mutex::new(Vec::new()));
        let frame = Arc::new(AtomicI32::new(0));
        let socket = Socket {
            out: out.clone(),
            inbox: rx,
            control: control.clone(),
            net: self.net.clone(),
            guard: Guard::new(players.len()),
            frame: frame.clone(),
        };
        (
            socket,
            control,
            MatchStreams {
                hub: self.clone(),
                match_id,
                out,
                frame,
                traffic,
            },
        )
    }

    fn close(&self, match_id: &[u8; 32]) {
        self.routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(match_id);
    }
}

/// The session's handle on its outbound streams, for control frames.
pub struct MatchStreams {
    hub: Hub,
    match_id: [u8; 32],
    out: BTreeMap<PeerId, mpsc::UnboundedSender<(Vec<u8>, bool)>>,
    frame: Arc<AtomicI32>,
    traffic: Arc<Traffic>,
}

impl MatchStreams {
    /// What the match's streams carried so far.
    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    /// Tells the socket's guard the frame the local session is at (what
    /// peers' inputs may run ahead of).
    pub fn set_frame(&self, frame: i32) {
        self.frame.store(frame, Ordering::Relaxed);
    }

    /// Sends a control frame (never dropped by the conditioner) to `peer`, or to all.
    pub fn send(&self, to: Option<PeerId>, frame: &RollbackFrame) {
        let bytes = frame.encode();
        for (p, tx) in &self.out {
            if to.is_none_or(|t| t == *p) {
                let _ = tx.send((bytes.clone(), false));
            }
        }
    }

    /// Sends a control frame (never dropped by the conditioner) to every peer but `except`.
    pub fn send_except(&self, except: PeerId, frame: &RollbackFrame) {
        let bytes = frame.encode();
        for (p, tx) in &self.out {
            if *p != except {
                let _ = tx.send((bytes.clone(), false));
            }
        }
    }
}

impl Drop for MatchStreams {
    fn drop(&mut self) {
        self.hub.close(&self.match_id);
    }
}

async fn writer(
    net: Net,
    peer: PeerId,
    match_id: [u8; 32],
    mut rx: mpsc::UnboundedReceiver<(Vec<u8>, bool)>,
    mut link: Conditioner,
    traffic: Arc<Traffic>,
) {
    let mut stream: Option<libp2p::Stream> = None;
    let mut open = true;
    while open || !link.is_empty() {
        if stream.is_none() {
            // Frames queue in `rx` meanwhile; ggrs resends what matters.
            stream = connect(&net, peer, match_id, &rx).await;
            if stream.is_none() {
                return;
            }
        }
        let wait = link.next_release().map(tokio::time::Instant::from_std);
        tokio::select! {
            m = rx.recv(), if open => match m {
                Some((bytes, droppable)) => link.push(Instant::now(), bytes, droppable),
                None => open = false,
            },
            _ = async { match wait { Some(t) => tokio::time::sleep_until(t).await, None => futures::future::pending().await } } => {}
        }
        while let Some(bytes) = link.pop_ready(Instant::now()) {
            let Some(s) = stream.as_mut() else { break };
            net.metrics.bytes("rollback", "out", bytes.len() + 4);
            traffic
                .sent
                .fetch_add(bytes.len() as u64 + 4, Ordering::Relaxed);
            if write_frame(s, &bytes).await.is_err() {
                // The frame is lost, as a datagram would be; open another stream.
                tracing::debug!(%peer, "rollback stream failed; reopening");
                stream = None;
            }
        }
    }
    if let Some(mut s) = stream {
        let _ = s.close().await;
    }
}

/// Opens a stream to `peer` that the peer has accepted for `match_id` (it
/// echoed the hello). Keeps trying for as long as the match wants to send (a
/// loaded machine or a slow dial can take a while); the session's own sync
/// and disconnect timeouts decide when the match is given up. `None` once
/// the match has ended.
async fn connect(
    net: &Net,
    peer: PeerId,
    match_id: [u8; 32],
    rx: &mpsc::UnboundedReceiver<(Vec<u8>, bool)>,
) -> Option<libp2p::Stream> {
    let protocol = StreamProtocol::new(ROLLBACK_PROTOCOL);
    let hello = RollbackFrame::Hello { match_id }.encode();
    // Each try that fails waits twice as long as the one before (up to
    // RETRY_MAX): a peer that refuses this node (it banned it, or it is
    // gone) was otherwise dialed twenty times a second for the whole match.
    let mut wait = RETRY_FIRST;
    let mut looked_up: Option<Instant> = None;
    loop {
        match tokio::time::timeout(HELLO_TIMEOUT, net.ipfs.open_stream(peer, protocol.clone()))
            .await
        {
            Ok(Ok(mut s)) => {
                // The peer waits up to HELLO_TIMEOUT for its side of the match.
                let echo = async {
                    write_frame(&mut s, &hello).await.ok()?;
                    read_frame(&mut s).await.ok()
                };
                match tokio::time::timeout(HELLO_TIMEOUT + Duration::from_secs(1), echo).await {
                    Ok(Some(bytes)) if bytes == hello => return Some(s),
                    Ok(Some(_)) => {
                        tracing::debug!(%peer, "rollback stream answered with something else; retrying")
                    }
                    Ok(None) => {
                        tracing::debug!(%peer, "rollback stream dropped before the hello was echoed; retrying")
                    }
                    Err(_) => tracing::debug!(%peer, "no echo of the rollback hello; retrying"),
                }
            }
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "rollback stream not open yet; retrying");
                // Not reachable yet: look its addresses up in the DHT (a
                // lookup dials as it goes: one every LOOKUP_EVERY at most).
                if looked_up.is_none_or(|t| t.elapsed() >= LOOKUP_EVERY) {
                    looked_up = Some(Instant::now());
                    net.find_peer(peer);
                }
            }
            Err(_) => tracing::debug!(%peer, "opening a rollback stream timed out; retrying"),
        }
        if rx.is_closed() {
            tracing::warn!(%peer, "the match ended before a rollback stream opened");
            return None;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(RETRY_MAX);
    }
}

/// The ggrs socket of one match.
pub struct Socket {
    out: BTreeMap<PeerId, mpsc::UnboundedSender<(Vec<u8>, bool)>>,
    inbox: mpsc::Receiver<(PeerId, RollbackFrame)>,
    control: Arc<Mutex<Vec<(PeerId, RollbackFrame)>>>,
    net: Net,
    guard: Guard,
    frame: Arc<AtomicI32>,
}

impl NonBlockingSocket<PeerId> for Socket {
    fn send_to(&mut self, msg: &Message, addr: &PeerId) {
        if let Some(tx) = self.out.get(addr) {
            let _ = tx.send((RollbackFrame::Ggrs(msg.clone()).encode(), true));
        }
    }

    fn receive_all_messages(&mut self) -> Vec<(PeerId, Message)> {
        let mut v = vec![];
        while let Ok((peer, frame)) = self.inbox.try_recv() {
            match frame {
                RollbackFrame::Ggrs(m) => {
                    let local = self.frame.load(Ordering::Relaxed);
                    match self.guard.check(peer, &m, local) {
                        Ok(checked) => {
                            self.net.metrics.accepted("rollback");
                            v.push((peer, checked));
                        }
                        Err(e) => {
                            tracing::debug!(%peer, error = %e, "ggrs message dropped");
                            let net = self.net.clone();
                            tokio::spawn(async move {
                                net.penalise(peer, Misbehaviour::BadGgrsMessage).await
                            });
                        }
                    }
                }
                RollbackFrame::Hello { .. } => self.net.metrics.reject("rollback", "second hello"),
                other => self
                    .control
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((peer, other)),
            }
        }
        v
    }
}
