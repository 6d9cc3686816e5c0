//! A running node: the swarm, the gossip dispatcher (decode, validate,
//! penalise, hand over), the rollback hub, and the player's match loop.

use std::time::{Duration, Instant, SystemTime};

use libp2p::PeerId;
use libp2p::gossipsub::MessageAcceptance;
use tokio::sync::{broadcast, mpsc, watch};

use crate::identity::Identity;
use crate::lobby::{Lobby, Step};
use crate::net::{Net, NetConfig, NetEvent};
use crate::rollback::Hub;
use crate::session::{self, InputSource, MatchContext, MatchReport, SessionConfig};
use crate::store::Store;
use crate::wire::{self, Announce, LobbyMessage, MatchKind, Offer};
use cyteria_game::inventory::Loadout;

/// Penalty for a gossip message that fails to decode or validate.
const GOSSIP_PENALTY: f64 = 40.0;

pub struct Node {
    pub ctx: MatchContext,
    /// The match this node is playing, if any.
    pub current: watch::Sender<Option<[u8; 32]>>,
    lobby: mpsc::Receiver<(PeerId, LobbyMessage)>,
    pub announces: broadcast::Sender<(PeerId, Announce)>,
}

impl Node {
    pub async fn start(identity: Identity, config: NetConfig, store: Store, metrics: crate::metrics::Metrics) -> anyhow::Result<Node> {
        let (net, events) = Net::start(&identity, config, metrics).await?;
        let hub = Hub::start(net.clone()).await?;
        let (lobby_tx, lobby) = mpsc::channel(1024);
        let (announces, _) = broadcast::channel(256);
        tokio::spawn(dispatch(net.clone(), events, lobby_tx, announces.clone()));
        Ok(Node { ctx: MatchContext { net, hub, identity, store }, current: watch::channel(None).0, lobby, announces })
    }

    pub fn net(&self) -> &Net {
        &self.ctx.net
    }

    /// Searches for and plays matches until `matches` are done (or forever),
    /// or until `shutdown` turns true. Returns what each match looked like.
    pub async fn play_matches(
        &mut self,
        play: &PlayerConfig,
        matches: Option<u32>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Vec<MatchReport> {
        let me = self.ctx.net.peer_id;
        let mut lobby = Lobby::new(me);
        let mut reports = vec![];
        let mut counter = 0u64;
        while matches.is_none_or(|m| (reports.len() as u32) < m) {
            if *shutdown.borrow() {
                break;
            }
            counter += 1;
            let offer = Offer { offer_id: offer_id(&me, counter), kind: play.kind, loadout: play.loadout };
            let since = Instant::now();
            self.publish_lobby(&lobby.search(offer, since)).await;
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            let mut repost = tokio::time::interval(Duration::from_millis(1000));
            let group = loop {
                tokio::select! {
                    m = self.lobby.recv() => match m {
                        Some((peer, msg)) => lobby.on_message(peer, msg, Instant::now()),
                        None => return reports,
                    },
                    _ = tick.tick() => {
                        let mut agreed = None;
                        for s in lobby.tick(Instant::now()) {
                            match s {
                                Step::Publish(m) => self.publish_lobby(&m).await,
                                Step::Agreed(g) => agreed = Some(g),
                            }
                        }
                        if let Some(g) = agreed {
                            break g;
                        }
                    }
                    _ = repost.tick() => {
                        if let Some(m) = lobby.repost() {
                            self.publish_lobby(&m).await;
                        }
                    }
                    _ = shutdown.changed() => {
                        if let Some(m) = lobby.stop() {
                            self.publish_lobby(&m).await;
                        }
                        return reports;
                    }
                }
            };
            tracing::info!(match_id = %blake3::Hash::from_bytes(group.match_id).to_hex(), players = group.members.len(), "match agreed");
            self.current.send_replace(Some(group.match_id));
            let report = session::play(&self.ctx, &group, &play.session, play.source.clone(), since).await;
            self.current.send_replace(None);
            if let Some(t) = &report.transcript {
                let a = Announce {
                    match_id: t.header.match_id,
                    transcript_hash: *blake3::hash(&t.encode()).as_bytes(),
                    frames: t.frames(),
                    final_checksum: t.final_checksum,
                };
                if let Err(e) = self.ctx.net.publish(wire::TRANSCRIPTS_TOPIC, a.encode()).await {
                    tracing::debug!(error = %e, "transcript announcement not sent");
                }
            }
            // Lobby traffic from during the match is stale now.
            while self.lobby.try_recv().is_ok() {}
            reports.push(report);
        }
        reports
    }

    async fn publish_lobby(&self, m: &LobbyMessage) {
        if let Err(e) = self.ctx.net.publish(wire::LOBBY_TOPIC, m.encode()).await {
            tracing::debug!(error = %e, "lobby message not sent (no peers yet?)");
        }
    }
}

/// What a player node asks for and how it plays.
#[derive(Clone)]
pub struct PlayerConfig {
    pub kind: MatchKind,
    pub loadout: Loadout,
    pub session: SessionConfig,
    pub source: InputSource,
}

fn offer_id(me: &PeerId, counter: u64) -> [u8; 16] {
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut h = blake3::Hasher::new_derive_key("cyteria offer id v1");
    h.update(&me.to_bytes());
    h.update(&nanos.to_le_bytes());
    h.update(&counter.to_le_bytes());
    h.finalize().as_bytes()[..16].try_into().unwrap_or([0; 16])
}

/// Validates every gossip message: decoded and checked here, then reported
/// to gossipsub (accepted messages propagate; rejected ones cost the sender
/// score) and handed to whoever consumes the topic.
async fn dispatch(
    net: Net,
    mut events: mpsc::Receiver<NetEvent>,
    lobby: mpsc::Sender<(PeerId, LobbyMessage)>,
    announces: broadcast::Sender<(PeerId, Announce)>,
) {
    let lobby_hash = libp2p::gossipsub::IdentTopic::new(wire::LOBBY_TOPIC).hash();
    let announce_hash = libp2p::gossipsub::IdentTopic::new(wire::TRANSCRIPTS_TOPIC).hash();
    while let Some(ev) = events.recv().await {
        match ev {
            NetEvent::Gossip { topic, id, propagation_source, author, data } => {
                net.metrics.bytes("gossip", "in", data.len());
                let Some(author) = author else {
                    net.report(id, propagation_source, MessageAcceptance::Reject);
                    net.penalise(propagation_source, "gossip", "unsigned", GOSSIP_PENALTY).await;
                    continue;
                };
                let verdict = if topic == lobby_hash {
                    LobbyMessage::decode(&data).map(|m| {
                        let _ = lobby.try_send((author, m));
                    })
                } else if topic == announce_hash {
                    Announce::decode(&data).map(|a| {
                        let _ = announces.send((author, a));
                    })
                } else {
                    net.report(id, propagation_source, MessageAcceptance::Ignore);
                    continue;
                };
                match verdict {
                    Ok(()) => {
                        net.metrics.accepted("gossip");
                        net.report(id, propagation_source, MessageAcceptance::Accept);
                    }
                    Err(e) => {
                        net.report(id, propagation_source, MessageAcceptance::Reject);
                        net.penalise(propagation_source, "gossip", &reason(&e), GOSSIP_PENALTY).await;
                    }
                }
            }
            NetEvent::Connected { connections, .. } => {
                net.metrics.peers.set(connections as i64);
            }
            NetEvent::Disconnected { .. } => {
                net.metrics.peers.set(net.connected().await.len() as i64);
            }
            NetEvent::Subscribed { .. } => {}
        }
    }
}

/// A short, bounded label for a decode error (metrics labels must not grow without bound).
fn reason(e: &cyteria_game::codec::DecodeError) -> String {
    use cyteria_game::codec::DecodeError::*;
    match e {
        TooLarge { .. } => "oversized".into(),
        BadMagic { .. } => "bad magic".into(),
        UnsupportedVersion { .. } => "unsupported version".into(),
        Malformed { .. } | TrailingBytes(..) => "malformed".into(),
        Invalid { reason, .. } => format!("invalid: {reason}"),
    }
}
