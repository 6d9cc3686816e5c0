//! A running node: the swarm, the gossip dispatcher (decode, validate,
//! penalise, hand over), the rollback hub, and the player's match loop.

use std::time::{Duration, Instant, SystemTime};

use libp2p::PeerId;
use libp2p::gossipsub::MessageAcceptance;
use tokio::sync::{broadcast, mpsc, watch};

use crate::beacon::BeaconFeed;
use crate::content::Content;
use crate::identity::Identity;
use crate::lobby::{Lobby, Step};
use crate::net::Misbehaviour;
use crate::net::{Net, NetConfig, NetEvent};
use crate::rollback::Hub;
use crate::session::{self, InputSource, MatchContext, MatchReport, SessionConfig};
use crate::store::Store;
use crate::wire::{self, ActionMessage, Announce, Attestation, LobbyMessage, MatchKind, Offer};
use cyteria_game::transcript::Equipment;
use cyteria_game::transcript::Transcript;
use cyteria_game::verify::Outcome;

/// A started node: its swarm, rollback hub, identity and store, and the decoded gossip of each
/// topic.
pub struct Node {
    /// What a match needs of the node: the swarm, the rollback hub, the identity, the store.
    pub ctx: MatchContext,
    /// The match this node is playing, if any.
    pub current: watch::Sender<Option<[u8; 32]>>,
    lobby: mpsc::Receiver<(PeerId, LobbyMessage)>,
    /// Valid transcript announcements heard, with their authors (subscribe to receive).
    pub announces: broadcast::Sender<(PeerId, Announce)>,
    /// Valid wallet bindings and signed actions heard, with their authors.
    pub actions: broadcast::Sender<(PeerId, ActionMessage)>,
    /// Valid validator attestations heard on the batches topic, with their authors.
    pub attestations: broadcast::Sender<(PeerId, Attestation)>,
    /// The node's content store.
    pub content: Content,
    /// This node's recent transcript announcements, sent again when a peer
    /// joins the topic (see [`reannounce`]).
    recent: Recent,
}

type Recent = std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<(Instant, Vec<u8>)>>>;

/// How long an announcement is sent again to peers that join.
const REANNOUNCE_FOR: Duration = Duration::from_secs(600);
/// A burst of joins gives one republication, and at most one per this long.
const REANNOUNCE_GAP: Duration = Duration::from_secs(5);

/// Where the gossip dispatcher hands each topic's decoded messages.
#[derive(Clone)]
struct Outlets {
    lobby: mpsc::Sender<(PeerId, LobbyMessage)>,
    announces: broadcast::Sender<(PeerId, Announce)>,
    actions: broadcast::Sender<(PeerId, ActionMessage)>,
    attestations: broadcast::Sender<(PeerId, Attestation)>,
    /// A peer joined the transcripts topic.
    joined: mpsc::Sender<()>,
}

/// Assembles a node: its network configuration, and optionally its
/// identity, store and metrics (by default a fresh identity, a temporary
/// store and metrics of its own, as tests and examples want).
///
/// ```no_run
/// # async fn run() -> anyhow::Result<()> {
/// use cyteria_node::net::{NetConfig, Role};
/// use cyteria_node::node::Node;
/// let node = Node::builder(NetConfig::loopback(Role::Player)).start().await?;
/// println!("{}", node.net().peer_id);
/// # Ok(()) }
/// ```
pub struct NodeBuilder {
    config: NetConfig,
    identity: Option<Identity>,
    store: Option<Store>,
    metrics: Option<crate::metrics::Metrics>,
}

impl NodeBuilder {
    /// The node's key (default: a new one).
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Where the node keeps transcripts and evidence (default: a temporary store).
    pub fn store(mut self, store: Store) -> Self {
        self.store = Some(store);
        self
    }

    /// The metrics it counts into (default: its own).
    pub fn metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Starts the swarm, the gossip dispatcher, the rollback hub and the
    /// block protocol.
    pub async fn start(self) -> anyhow::Result<Node> {
        let store = match self.store {
            Some(s) => s,
            None => Store::temporary()?,
        };
        Node::start(
            self.identity.unwrap_or_else(Identity::generate),
            self.config,
            store,
            self.metrics.unwrap_or_default(),
        )
        .await
    }
}

impl Node {
    /// A builder for a node on `config`.
    pub fn builder(config: NetConfig) -> NodeBuilder {
        NodeBuilder {
            config,
            identity: None,
            store: None,
            metrics: None,
        }
    }

    async fn start(
        identity: Identity,
        config: NetConfig,
        store: Store,
        metrics: crate::metrics::Metrics,
    ) -> anyhow::Result<Node> {
        // The bootstrap nodes are the relays players reserve circuits on.
        let relays = crate::net::dns::relays(&config.bootstrap).await;
        let (net, events) = Net::start(&identity, config, metrics).await?;
        let hub = Hub::start(net.clone()).await?;
        let (lobby_tx, lobby) = mpsc::channel(1024);
        let (joined, joins) = mpsc::channel(1);
        let recent = Recent::default();
        tokio::spawn(reannounce(net.publisher(), recent.clone(), joins));
        let outlets = Outlets {
            joined,
            lobby: lobby_tx,
            announces: broadcast::channel(1024).0,
            actions: broadcast::channel(4096).0,
            attestations: broadcast::channel(1024).0,
        };
        // A dispatcher per queue: a topic's flood waits behind itself alone.
        for (_, queue) in events {
            tokio::spawn(dispatch(net.clone(), queue, outlets.clone()));
        }
        crate::direct::serve(&net).await?;
        let content = Content::new(net.ipfs.clone()).with_relays(relays);
        Ok(Node {
            ctx: MatchContext {
                net,
                hub,
                identity,
                store,
            },
            current: watch::channel(None).0,
            lobby,
            announces: outlets.announces,
            actions: outlets.actions,
            attestations: outlets.attestations,
            content,
            recent,
        })
    }

    /// Stores a finished match's transcript in the content store and
    /// announces its CID with the rewards `outcome` (the session's own
    /// re-simulation of `t`, [`MatchReport::outcome`]) gives.
    pub async fn announce(&self, t: &Transcript, outcome: &Outcome) -> anyhow::Result<Announce> {
        let cid = self.content.put_record(t.encode()).await?;
        let a = Announce {
            match_id: t.header.match_id,
            cid,
            frames: t.frames(),
            final_checksum: t.final_checksum,
            claims: wire::claims_hash(&outcome.players),
        };
        let bytes = a.encode();
        {
            let mut r = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            r.push_back((Instant::now(), bytes.clone()));
            while r.front().is_some_and(|(t, _)| t.elapsed() > REANNOUNCE_FOR) {
                r.pop_front();
            }
        }
        self.ctx.net.publish(wire::TRANSCRIPTS_TOPIC, bytes).await?;
        Ok(a)
    }

    /// Gossips a wallet binding or a signed action.
    pub async fn send_action(&self, m: &ActionMessage) -> anyhow::Result<()> {
        self.ctx.net.publish(wire::ACTIONS_TOPIC, m.encode()).await
    }

    /// The node's swarm.
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
            // Lobby traffic queued while this node was not searching is
            // stale: handled now it would be stamped as fresh, and a group
            // could form with a peer that has since left (the churn devnet's
            // round 2 waited on departed players). Searchers repost every
            // second, so the live offers come back at once.
            while self.lobby.try_recv().is_ok() {}
            // Read again for every search: the choice may have changed, and
            // the last match's wear was just recorded.
            let equipped = match play
                .loadout_dir
                .as_deref()
                .map(crate::loadout::read_equipment)
            {
                Some(Ok(e)) => e,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "loadout not used, the default equipment plays");
                    *play.equipment.borrow()
                }
                None => *play.equipment.borrow(),
            };
            let offer = Offer {
                offer_id: offer_id(&me, counter),
                kind: play.kind,
                loadout: equipped.loadout,
                items: equipped.items,
                beacon: *play.beacon.borrow(),
            };
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
                        let beacon = *play.beacon.borrow();
                        if let Some(m) = lobby.follow_beacon(beacon) {
                            self.publish_lobby(&m).await;
                        }
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
            let report =
                session::play(&self.ctx, &group, &play.session, play.source.clone(), since).await;
            self.current.send_replace(None);
            // Only a match every seat signed the end of is credited; a
            // match cut short is kept (the store has it) but not announced.
            if let (Some(t), Some(outcome)) = (&report.transcript, &report.outcome)
                && !t.ends.is_empty()
            {
                #[cfg(feature = "adversary")]
                let (t, outcome) = &{
                    let (mut t, mut outcome) = (t.clone(), outcome.clone());
                    play.session.adversary.tamper(&mut t, &mut outcome);
                    (t, outcome)
                };
                if let Err(e) = self.announce(t, outcome).await {
                    tracing::warn!(error = %e, "transcript announcement not sent");
                }
                if let Some(dir) = &play.loadout_dir
                    && let Err(e) = crate::loadout::record_wear(dir, &report)
                {
                    tracing::warn!(error = %e, "the match's wear of owned items not recorded");
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
    /// The kind of match to search for.
    pub kind: MatchKind,
    /// What this player has equipped, read again for every search (`cyteria
    /// equip` changes it while the node runs).
    pub equipment: EquipmentFeed,
    /// The data directory whose loadout file ([`crate::loadout::LOADOUT_FILE`],
    /// which `cyteria equip` and the window write) chooses what each search
    /// equips, read before every search, and whose wear record each match's
    /// wear of owned items is added to, so the next match claims no more
    /// durability than the ledger will allow. `equipment` is used when
    /// there is none, or its files cannot be used.
    pub loadout_dir: Option<std::path::PathBuf>,
    /// How matches are played.
    pub session: SessionConfig,
    /// Where the player's input comes from.
    pub source: InputSource,
    /// The beacon its offers name ([`crate::beacon`]).
    pub beacon: BeaconFeed,
}

pub use crate::loadout::EquipmentFeed;

/// A feed that always gives `e`.
pub fn fixed_equipment(e: Equipment) -> EquipmentFeed {
    watch::channel(e).1
}

fn offer_id(me: &PeerId, counter: u64) -> [u8; 16] {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h = blake3::Hasher::new_derive_key("cyteria offer id v1");
    h.update(&me.to_bytes());
    h.update(&nanos.to_le_bytes());
    h.update(&counter.to_le_bytes());
    h.finalize().as_bytes()[..16].try_into().unwrap_or([0; 16])
}

/// Validates every gossip message of one of the behaviour's queues
/// ([`crate::net::queues`]): decoded and checked here, then reported to
/// gossipsub (accepted messages propagate; rejected ones cost the sender
/// score) and handed to whoever consumes the topic.
async fn dispatch(net: Net, mut events: mpsc::Receiver<NetEvent>, out: Outlets) {
    let hash = |t: &str| libp2p::gossipsub::IdentTopic::new(t).hash();
    let (lobby_hash, announce_hash) = (hash(wire::LOBBY_TOPIC), hash(wire::TRANSCRIPTS_TOPIC));
    let (actions_hash, batches_hash) = (hash(wire::ACTIONS_TOPIC), hash(wire::BATCHES_TOPIC));
    while let Some(ev) = events.recv().await {
        match ev {
            NetEvent::Gossip {
                topic,
                id,
                propagation_source,
                author,
                data,
            } => {
                net.metrics.bytes("gossip", "in", data.len());
                let Some(author) = author else {
                    net.report(id, propagation_source, MessageAcceptance::Reject);
                    net.penalise(propagation_source, Misbehaviour::UnsignedGossip)
                        .await;
                    continue;
                };
                // Over its author's limit: dropped undecoded, not relayed,
                // and the author pays.
                use crate::net::limits::Channel;
                let channel = if topic == lobby_hash {
                    Some(Channel::Lobby)
                } else if topic == announce_hash {
                    Some(Channel::Transcripts)
                } else if topic == actions_hash {
                    Some(Channel::Actions)
                } else if topic == batches_hash {
                    Some(Channel::Batches)
                } else {
                    None
                };
                if let Some(c) = channel
                    && !net.limiter.allow(c, &author)
                {
                    net.report(id, propagation_source, MessageAcceptance::Ignore);
                    net.penalise(author, Misbehaviour::RateLimited).await;
                    continue;
                }
                let verdict = if topic == lobby_hash {
                    LobbyMessage::decode(&data).map(|m| {
                        let _ = out.lobby.try_send((author, m));
                    })
                } else if topic == announce_hash {
                    Announce::decode(&data).map(|a| {
                        let _ = out.announces.send((author, a));
                    })
                } else if topic == actions_hash {
                    ActionMessage::decode(&data).map(|a| {
                        let _ = out.actions.send((author, a));
                    })
                } else if topic == batches_hash {
                    Attestation::decode(&data).map(|a| {
                        let _ = out.attestations.send((author, a));
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
                        net.penalise_for(
                            propagation_source,
                            Misbehaviour::InvalidGossip,
                            &reason(&e),
                        )
                        .await;
                    }
                }
            }
            NetEvent::Connected { connections, .. } => {
                net.metrics.peers.set(connections as i64);
            }
            NetEvent::Disconnected { .. } => {
                net.metrics.peers.set(net.connected().await.len() as i64);
            }
            NetEvent::Subscribed { topic, .. } => {
                if topic == announce_hash {
                    // Full means a republication is already due.
                    let _ = out.joined.try_send(());
                }
            }
        }
    }
}

/// Sends this node's recent announcements again when peers join the
/// transcripts topic: gossip reaches only the peers connected at the time,
/// so a validator that was unreachable when a match ended (a partition, a
/// restart) would otherwise never hear of it, and its players' rewards
/// would be lost. Validators take each transcript CID once, so a repeat
/// costs them nothing. Ends when the node's dispatcher does; it holds no
/// `Ipfs` handle, so it does not keep a dropped node's swarm (and its repo
/// lock) alive.
async fn reannounce(net: crate::net::Publisher, recent: Recent, mut joins: mpsc::Receiver<()>) {
    while joins.recv().await.is_some() {
        tokio::time::sleep(REANNOUNCE_GAP).await;
        let again: Vec<Vec<u8>> = {
            let mut r = recent.lock().unwrap_or_else(|e| e.into_inner());
            r.retain(|(t, _)| t.elapsed() <= REANNOUNCE_FOR);
            r.iter().map(|(_, b)| b.clone()).collect()
        };
        if !again.is_empty() {
            tracing::debug!(
                n = again.len(),
                "a peer joined: announcing recent transcripts again"
            );
        }
        for bytes in again {
            if let Err(e) = net.publish(wire::TRANSCRIPTS_TOPIC, bytes).await {
                tracing::debug!(error = %e, "transcript not announced again");
            }
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
