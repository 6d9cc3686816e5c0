//! The Cyteria part of the swarm: gossipsub (signed, strictly validated,
//! size-limited, peer-scored), Kademlia under the Cyteria protocol name,
//! identify (telling peers only the addresses they can dial), AutoNAT v2
//! (the client on players, the server on bootstrap nodes; rust-ipfs 0.16
//! offers only v1, whose server vouches for an address on its word alone)
//! and, on bootstrap nodes, the relay server.
//!
//! rust-ipfs carries the rest of the stack (transports, ping, the relay
//! client, DCUtR, bitswap, streams) and accepts one custom behaviour
//! whose `ToSwarm` is `Infallible`, so this behaviour talks to the node
//! through channels: [`Command`]s in, [`NetEvent`]s out.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;

use libp2p::autonat;
use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::gossipsub::{
    self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, TopicHash,
};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, ExternalAddresses, FromSwarm, ListenAddresses,
    NetworkBehaviour, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId, StreamProtocol};
use libp2p::{identify, kad};
use tokio::sync::{mpsc, oneshot};

use super::addresses::{is_circuit, is_routable, relay_of_circuit};
use crate::wire;

/// Requests from the node to the behaviour.
#[derive(Debug)]
pub enum Command {
    /// Joins the gossip topic of this name.
    Subscribe(String),
    /// Gossips a message.
    Publish {
        /// The topic's name.
        topic: String,
        /// The message's bytes.
        data: Vec<u8>,
        /// Answered once gossipsub took or refused the message (e.g. no peer on the topic).
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// The node's verdict on a gossip message it was handed.
    Report {
        /// The message's id, as `NetEvent::Gossip` gave it.
        id: MessageId,
        /// The peer the message came from.
        propagation_source: PeerId,
        /// Accept (forward it), reject (penalise the sender) or ignore.
        acceptance: MessageAcceptance,
    },
    /// A penalty (or credit) from outside gossip, e.g. a bad rollback frame.
    AppScore {
        /// The peer scored.
        peer: PeerId,
        /// Its application-specific score, which replaces the one it had.
        score: f64,
    },
    /// Adds an address of a peer to the DHT's routing table.
    AddAddress {
        /// The peer.
        peer: PeerId,
        /// One of its addresses.
        addr: Multiaddr,
    },
    /// Starts a DHT bootstrap now.
    Bootstrap,
    /// A bootstrap node: AutoNAT v2's client may ask its server to confirm
    /// this node's addresses (from its next connection on). Any peer can
    /// serve AutoNAT and fake a dial-back; no other is asked.
    TrustAutonat(PeerId),
    /// Looks a peer up in the DHT; the query connects to it when found.
    FindPeer(PeerId),
    /// Refuse this peer (close its connections, refuse new ones), or accept it again.
    Block(PeerId),
    /// Accepts a blocked peer again.
    Unblock(PeerId),
    /// Asks which peers are in this node's gossip mesh for a topic.
    MeshPeers {
        /// The topic's name.
        topic: String,
        /// Answered with the mesh peers.
        reply: oneshot::Sender<Vec<PeerId>>,
    },
    /// Asks for a peer's gossipsub score.
    Score {
        /// The peer.
        peer: PeerId,
        /// Answered with its score, `None` when gossipsub does not know it.
        reply: oneshot::Sender<Option<f64>>,
    },
}

/// What the behaviour tells the node.
#[derive(Debug, Clone)]
pub enum NetEvent {
    /// A gossip message awaiting the node's verdict (`Command::Report`).
    Gossip {
        /// The topic it came on.
        topic: TopicHash,
        /// Its gossipsub id.
        id: MessageId,
        /// The peer that forwarded it to this node.
        propagation_source: PeerId,
        /// The peer that signed it, when it is signed.
        author: Option<PeerId>,
        /// Its bytes.
        data: Vec<u8>,
    },
    /// A peer joined a topic.
    Subscribed {
        /// The peer.
        peer: PeerId,
        /// The topic.
        topic: TopicHash,
    },
    /// A connection to a peer was established.
    Connected {
        /// The peer.
        peer: PeerId,
        /// How many distinct peers are connected now, this one included.
        connections: usize,
    },
    /// The last connection to a peer closed.
    Disconnected {
        /// The peer.
        peer: PeerId,
    },
}

impl super::queues::Topical for NetEvent {
    fn topic(&self) -> Option<&TopicHash> {
        match self {
            NetEvent::Gossip { topic, .. } => Some(topic),
            _ => None,
        }
    }
}

/// How the gossip and DHT parts are set up.
#[derive(Clone, Debug)]
pub struct BehaviourConfig {
    /// Serve DHT queries (bootstrap nodes, and players on a LAN or devnet).
    pub dht_server: bool,
    /// Dial peers the DHT finds until this many are connected.
    pub target_peers: usize,
    /// The gossipsub heartbeat interval (default 250 ms).
    pub heartbeat: Duration,
    /// For adversarial tests only: publish unsigned messages claiming this author.
    pub forge_author: Option<PeerId>,
    /// For adversarial tests only: a larger outgoing size limit.
    pub max_transmit_override: Option<usize>,
    /// Measures gossip delivery latency across the nodes of one process (the devnet).
    pub clock: Option<super::latency::GossipClock>,
    /// Inbound connections one IP address (other than loopback) may hold.
    pub connections_per_ip: usize,
    /// Where the open connections are recorded (set by `Net::start`).
    pub links: super::links::Links,
    /// Probe this node's addresses with AutoNAT v2 (players).
    pub autonat_client: bool,
    /// Which of its listen addresses this node confirms as external.
    pub listeners_told: ListenersTold,
    /// Answer other nodes' AutoNAT v2 probes (bootstrap nodes).
    pub autonat_server: bool,
    /// Where the probes' results are recorded (set by `Net::start`).
    pub reachability: super::reachability::Reachability,
    /// Serve relay v2 with these limits, counting into these metrics
    /// (bootstrap nodes).
    pub relay_server: Option<(super::relay::RelayLimits, crate::metrics::Metrics)>,
}

impl Default for BehaviourConfig {
    fn default() -> Self {
        Self {
            dht_server: true,
            target_peers: 24,
            heartbeat: Duration::from_millis(250),
            forge_author: None,
            max_transmit_override: None,
            clock: None,
            connections_per_ip: super::limits::Limits::default().connections_per_ip as usize,
            links: Default::default(),
            autonat_client: true,
            listeners_told: ListenersTold::None,
            autonat_server: false,
            reachability: Default::default(),
            relay_server: None,
        }
    }
}

/// Which listen addresses a node confirms as external, and so tells peers
/// (identify tells nothing else).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenersTold {
    /// None: its operator named its addresses, or AutoNAT v2 and relay
    /// circuits give it some (players).
    None,
    /// Those the Internet can dial (bootstrap nodes, which run on public hosts).
    Routable,
    /// All: it listens on loopback alone (a devnet, a test), so everyone it
    /// can meet is on this machine.
    All,
}

impl ListenersTold {
    fn tells(self, a: &Multiaddr) -> bool {
        match self {
            ListenersTold::None => false,
            ListenersTold::Routable => is_routable(a),
            ListenersTold::All => !is_circuit(a),
        }
    }
}

/// The libp2p behaviours the Cyteria behaviour wraps: gossipsub, Kademlia and a block list.
#[derive(NetworkBehaviour)]
#[behaviour(to_swarm = "InnerEvent")]
pub struct Inner {
    gossipsub: gossipsub::Behaviour,
    kad: kad::Behaviour<kad::store::MemoryStore>,
    /// Peers this node refuses: banned for bad input, or cut off on purpose
    /// (the devnet's partition). rust-ipfs 0.16 does not switch its own
    /// block list on, so its `ban_peer` does nothing; this one closes the
    /// peer's connections and refuses new ones.
    blocked: libp2p::allow_block_list::Behaviour<libp2p::allow_block_list::BlockedPeers>,
    /// Identify, telling peers only this node's external addresses (those
    /// confirmed dialable: AutoNAT v2's, the operator's, relay circuits),
    /// never its listen addresses, loopback and private ones among them.
    /// rust-ipfs's own identify cannot hide them.
    identify: identify::Behaviour,
    /// AutoNAT v2's client: asks servers to dial this node's candidate
    /// addresses back; an address reached is confirmed external. Only the
    /// bootstrap nodes' servers are asked ([`Command::TrustAutonat`]).
    autonat: Toggle<super::trusted::TrustedOnly<autonat::v2::client::Behaviour>>,
    /// AutoNAT v2's server: dials back the address a peer asks about (one
    /// at a time a connection; an address other than the one the peer
    /// connects from costs it 30 to 100 kB of data first).
    autonat_server: Toggle<autonat::v2::server::Behaviour>,
    /// Relay v2's server: reservations and circuits within `[relay]`'s limits.
    relay: Toggle<super::exclusive::Exclusive<libp2p::relay::Behaviour>>,
}

/// An event of one of the `Inner` behaviours.
#[derive(Debug)]
pub enum InnerEvent {
    /// From gossipsub.
    Gossipsub(gossipsub::Event),
    /// From Kademlia.
    Kad(kad::Event),
    /// From identify.
    Identify(Box<identify::Event>),
    /// A probe of one of this node's addresses ended.
    Autonat(autonat::v2::client::Event),
    /// This node tested another's address.
    AutonatServer(autonat::v2::server::Event),
    /// The relay server granted, denied or ended a reservation or circuit.
    Relay(libp2p::relay::Event),
}

impl From<libp2p::relay::Event> for InnerEvent {
    fn from(e: libp2p::relay::Event) -> Self {
        InnerEvent::Relay(e)
    }
}

impl From<autonat::v2::client::Event> for InnerEvent {
    fn from(e: autonat::v2::client::Event) -> Self {
        InnerEvent::Autonat(e)
    }
}

impl From<autonat::v2::server::Event> for InnerEvent {
    fn from(e: autonat::v2::server::Event) -> Self {
        InnerEvent::AutonatServer(e)
    }
}

impl From<gossipsub::Event> for InnerEvent {
    fn from(e: gossipsub::Event) -> Self {
        InnerEvent::Gossipsub(e)
    }
}

impl From<identify::Event> for InnerEvent {
    fn from(e: identify::Event) -> Self {
        InnerEvent::Identify(Box::new(e))
    }
}

impl From<kad::Event> for InnerEvent {
    fn from(e: kad::Event) -> Self {
        InnerEvent::Kad(e)
    }
}

impl From<Infallible> for InnerEvent {
    fn from(e: Infallible) -> Self {
        match e {}
    }
}

/// The custom behaviour rust-ipfs runs: `Inner`, driven by `Command`s, reporting `NetEvent`s.
pub struct Behaviour {
    inner: Inner,
    commands: mpsc::UnboundedReceiver<Command>,
    events: super::queues::Queues<NetEvent>,
    connected: BTreeSet<PeerId>,
    target_peers: usize,
    /// Dials and closings to hand the swarm (never a handler's event, so
    /// that the behaviour stays `Sync`, as rust-ipfs asks).
    pending: std::collections::VecDeque<ToSwarm<Infallible, Infallible>>,
    /// The next DHT bootstrap: 5 s after start, then twice as long each
    /// time up to 5 minutes (back to 5 s when the node loses every peer).
    bootstrap_timer: std::pin::Pin<Box<tokio::time::Sleep>>,
    bootstrap_every: Duration,
    local: PeerId,
    clock: Option<super::latency::GossipClock>,
    refused: RefusedConnections,
    /// Inbound connections by the remote IP address, and the cap.
    per_ip: BTreeMap<std::net::IpAddr, BTreeSet<ConnectionId>>,
    connections_per_ip: usize,
    links: super::links::Links,
    reachability: super::reachability::Reachability,
    /// A relay server's metrics (bootstrap nodes).
    relay_metrics: Option<crate::metrics::Metrics>,
    /// The reservations (by peer) and circuits (by source and destination)
    /// the relay granted and has not seen end. libp2p's events alone would
    /// let the gauges drift: a circuit whose two ends fail can be reported
    /// closed twice, and a reservation whose acceptance never reached the
    /// peer closed without having been granted.
    relay_held: RelayHeld,
    /// This node's confirmed external addresses, what identify tells peers:
    /// a change is pushed to them at once (identify pushes only changes of
    /// the listen addresses it no longer sends).
    external: ExternalAddresses,
    /// Connected peers whose identify named the IPFS DHT's protocol: only
    /// their addresses enter the IPFS DHT's table (see [`Self::serves_ipfs_dht`]).
    ipfs_dht_servers: BTreeSet<PeerId>,
    /// This node's listen addresses (circuits among them).
    listening: ListenAddresses,
    listeners_told: ListenersTold,
}

/// What a relay server holds now, counted from its events.
#[derive(Default)]
struct RelayHeld {
    reservations: BTreeMap<PeerId, u32>,
    circuits: BTreeMap<(PeerId, PeerId), u32>,
}

impl RelayHeld {
    fn up<K: Ord>(m: &mut BTreeMap<K, u32>, k: K) {
        *m.entry(k).or_default() += 1;
    }

    /// Takes one of `k` away; false if none was held.
    fn down<K: Ord>(m: &mut BTreeMap<K, u32>, k: K) -> bool {
        match m.get_mut(&k) {
            Some(n) if *n > 1 => {
                *n -= 1;
                true
            }
            Some(_) => {
                m.remove(&k);
                true
            }
            None => false,
        }
    }

    fn reservations(&self) -> i64 {
        self.reservations.values().map(|n| i64::from(*n)).sum()
    }

    fn circuits(&self) -> i64 {
        self.circuits.values().map(|n| i64::from(*n)).sum()
    }
}

/// The IP address a multiaddr starts with, if any.
fn ip_of(addr: &Multiaddr) -> Option<std::net::IpAddr> {
    addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::Ip4(ip) => Some(std::net::IpAddr::V4(ip)),
        libp2p::multiaddr::Protocol::Ip6(ip) => Some(std::net::IpAddr::V6(ip)),
        _ => None,
    })
}

/// Connections that failed, summed up and logged once a minute: a peer this
/// node banned may keep dialing it, and rust-ipfs logs each refusal as an
/// ERROR (its swarm task's log is off by default, see `cli`).
#[derive(Default)]
struct RefusedConnections {
    incoming: u64,
    outgoing: u64,
    since: Option<std::time::Instant>,
}

impl RefusedConnections {
    const EVERY: Duration = Duration::from_secs(60);

    fn count(&mut self, incoming: bool) {
        let now = std::time::Instant::now();
        let since = *self.since.get_or_insert(now);
        if incoming {
            self.incoming += 1;
        } else {
            self.outgoing += 1;
        }
        if now.duration_since(since) >= Self::EVERY {
            tracing::info!(
                incoming = self.incoming,
                outgoing = self.outgoing,
                seconds = now.duration_since(since).as_secs(),
                "connections refused or failed (banned peers, unreachable addresses)"
            );
            *self = Self {
                since: Some(now),
                ..Self::default()
            };
        }
    }
}

const BOOTSTRAP_FIRST: Duration = Duration::from_secs(5);
const BOOTSTRAP_MAX: Duration = Duration::from_secs(300);

/// How often identify asks each peer again (and answers are pushed on change).
const IDENTIFY_EVERY: Duration = Duration::from_secs(60);

/// How many peers' identify answers are kept (their addresses).
const IDENTIFY_CACHE: usize = 256;

/// The IPFS DHT's protocol, as a peer's identify names it.
const IPFS_KAD: StreamProtocol = StreamProtocol::new("/ipfs/kad/1.0.0");

/// Peer-score settings: one invalid message on a Cyteria topic sends the
/// sender below the graylist threshold, so its traffic is ignored.
pub fn score_params(
    topics: &[&str],
) -> (gossipsub::PeerScoreParams, gossipsub::PeerScoreThresholds) {
    let mut params = gossipsub::PeerScoreParams {
        app_specific_weight: 1.0,
        ..Default::default()
    };
    // Peers on loopback are processes of this machine (the devnet runs
    // dozens): the colocation penalty, meant against Sybils behind one
    // public address, graylisted every peer past the tenth.
    params
        .ip_colocation_factor_whitelist
        .insert(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    params
        .ip_colocation_factor_whitelist
        .insert(std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST));
    for t in topics {
        let topic = gossipsub::TopicScoreParams {
            topic_weight: 1.0,
            // 0.01 a second in the mesh, up to 36 after an hour. (libp2p's
            // default quantum is 1 ms, which maxes this out within seconds
            // and outweighs an invalid message once a node has four topics.)
            time_in_mesh_weight: 0.01,
            time_in_mesh_quantum: std::time::Duration::from_secs(1),
            time_in_mesh_cap: 3600.0,
            first_message_deliveries_weight: 1.0,
            first_message_deliveries_cap: 20.0,
            // Lobby traffic is bursty; a quiet mesh peer is not a bad one.
            mesh_message_deliveries_weight: 0.0,
            mesh_failure_penalty_weight: 0.0,
            invalid_message_deliveries_weight: -100.0,
            invalid_message_deliveries_decay: 0.9,
            ..Default::default()
        };
        params.topics.insert(IdentTopic::new(*t).hash(), topic);
    }
    let thresholds = gossipsub::PeerScoreThresholds {
        gossip_threshold: -10.0,
        publish_threshold: -50.0,
        graylist_threshold: -80.0,
        accept_px_threshold: 10.0,
        opportunistic_graft_threshold: 5.0,
    };
    (params, thresholds)
}

impl Behaviour {
    /// Builds gossipsub (signed with `keypair`, peer-scored on the Cyteria topics) and Kademlia
    /// from `config`, taking commands from `commands` and sending events to `events`.
    pub fn new(
        keypair: &libp2p::identity::Keypair,
        config: &BehaviourConfig,
        commands: mpsc::UnboundedReceiver<Command>,
        events: super::queues::Queues<NetEvent>,
    ) -> std::io::Result<Self> {
        let local = keypair.public().to_peer_id();
        let gossip_config = gossipsub::ConfigBuilder::default()
            .protocol_id(wire::GOSSIP_PROTOCOL, gossipsub::Version::V1_1)
            .max_transmit_size(
                config
                    .max_transmit_override
                    .unwrap_or(wire::MAX_GOSSIP_BYTES),
            )
            .validation_mode(if config.forge_author.is_some() {
                gossipsub::ValidationMode::Permissive
            } else {
                gossipsub::ValidationMode::Strict
            })
            .validate_messages()
            .heartbeat_interval(config.heartbeat)
            .build()
            .map_err(std::io::Error::other)?;
        let auth = match config.forge_author {
            Some(author) => MessageAuthenticity::Author(author),
            None => MessageAuthenticity::Signed(keypair.clone()),
        };
        let mut gossipsub =
            gossipsub::Behaviour::new(auth, gossip_config).map_err(std::io::Error::other)?;
        let (params, thresholds) = score_params(&[
            wire::LOBBY_TOPIC,
            wire::TRANSCRIPTS_TOPIC,
            wire::ACTIONS_TOPIC,
            wire::BATCHES_TOPIC,
        ]);
        gossipsub
            .with_peer_score(params, thresholds)
            .map_err(std::io::Error::other)?;

        let mut kad_config = kad::Config::new(StreamProtocol::new(wire::KAD_PROTOCOL));
        kad_config.set_query_timeout(Duration::from_secs(20));
        let mut kad =
            kad::Behaviour::with_config(local, kad::store::MemoryStore::new(local), kad_config);
        kad.set_mode(Some(if config.dht_server {
            kad::Mode::Server
        } else {
            kad::Mode::Client
        }));
        let bootstrap_timer = Box::pin(tokio::time::sleep(BOOTSTRAP_FIRST));
        let identify = identify::Behaviour::new(
            identify::Config::new(wire::IDENTIFY_VERSION.into(), keypair.public())
                .with_agent_version(format!("cyteria/{}", env!("CARGO_PKG_VERSION")))
                .with_interval(IDENTIFY_EVERY)
                // Listen addresses are not told; changes of what is
                // told are pushed in `on_swarm_event`.
                .with_push_listen_addr_updates(false)
                .with_cache_size(IDENTIFY_CACHE)
                .with_hide_listen_addrs(true),
        );
        Ok(Self {
            inner: Inner {
                gossipsub,
                kad,
                blocked: Default::default(),
                identify,
                autonat: config
                    .autonat_client
                    .then(|| super::trusted::TrustedOnly::new(Default::default()))
                    .into(),
                autonat_server: config
                    .autonat_server
                    .then(autonat::v2::server::Behaviour::default)
                    .into(),
                relay: config
                    .relay_server
                    .as_ref()
                    .map(|(limits, _)| {
                        super::exclusive::Exclusive::new(libp2p::relay::Behaviour::new(
                            local,
                            limits.server_config(),
                        ))
                    })
                    .into(),
            },
            commands,
            events,
            connected: BTreeSet::new(),
            target_peers: config.target_peers,
            pending: Default::default(),
            bootstrap_timer,
            bootstrap_every: BOOTSTRAP_FIRST,
            local,
            clock: config.clock.clone(),
            refused: RefusedConnections::default(),
            per_ip: BTreeMap::new(),
            connections_per_ip: config.connections_per_ip.max(1),
            links: config.links.clone(),
            reachability: config.reachability.clone(),
            relay_metrics: config.relay_server.as_ref().map(|(_, m)| m.clone()),
            relay_held: RelayHeld::default(),
            external: ExternalAddresses::default(),
            ipfs_dht_servers: BTreeSet::new(),
            listening: ListenAddresses::default(),
            listeners_told: config.listeners_told,
        })
    }

    fn emit(&mut self, e: NetEvent) {
        self.events.send(e);
    }

    fn command(&mut self, c: Command) {
        let g = &mut self.inner.gossipsub;
        match c {
            Command::Subscribe(t) => {
                if let Err(e) = g.subscribe(&IdentTopic::new(t)) {
                    tracing::warn!(error = %e, "subscribe failed");
                }
            }
            Command::Publish { topic, data, reply } => {
                let r = g
                    .publish(IdentTopic::new(topic.clone()), data)
                    .map_err(|e| e.to_string());
                let r = r.map(|id| {
                    if let Some(c) = &self.clock {
                        c.published(id, &topic);
                    }
                });
                let _ = reply.send(r);
            }
            Command::Report {
                id,
                propagation_source,
                acceptance,
            } => {
                g.report_message_validation_result(&id, &propagation_source, acceptance);
            }
            Command::AppScore { peer, score } => {
                g.set_application_score(&peer, score);
            }
            Command::AddAddress { peer, addr } => {
                self.inner.kad.add_address(&peer, addr);
            }
            Command::Bootstrap => {
                let _ = self.inner.kad.bootstrap();
            }
            Command::TrustAutonat(peer) => {
                if let Some(a) = self.inner.autonat.as_mut() {
                    a.trust(peer);
                }
            }
            Command::Block(peer) => {
                self.inner.blocked.block_peer(peer);
            }
            Command::Unblock(peer) => {
                self.inner.blocked.unblock_peer(peer);
            }
            Command::FindPeer(peer) => {
                self.inner.kad.get_closest_peers(peer);
            }
            Command::MeshPeers { topic, reply } => {
                let h = IdentTopic::new(topic).hash();
                let _ = reply.send(g.mesh_peers(&h).copied().collect());
            }
            Command::Score { peer, reply } => {
                let _ = reply.send(g.peer_score(&peer));
            }
        }
    }

    fn inner_event(&mut self, e: InnerEvent) {
        match e {
            InnerEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => {
                if let Some(c) = &self.clock {
                    c.delivered(&message_id, &message.topic);
                }
                self.emit(NetEvent::Gossip {
                    topic: message.topic,
                    id: message_id,
                    propagation_source,
                    author: message.source,
                    data: message.data,
                });
            }
            InnerEvent::Gossipsub(gossipsub::Event::Subscribed { peer_id, topic }) => {
                self.emit(NetEvent::Subscribed {
                    peer: peer_id,
                    topic,
                });
            }
            InnerEvent::Gossipsub(_) => {}
            InnerEvent::Kad(kad::Event::RoutingUpdated {
                peer,
                is_new_peer,
                addresses,
                ..
            }) => {
                if is_new_peer
                    && peer != self.local
                    && self.connected.len() < self.target_peers
                    && !self.connected.contains(&peer)
                {
                    let opts = DialOpts::peer_id(peer)
                        .addresses(addresses.into_vec())
                        .condition(PeerCondition::DisconnectedAndNotDialing)
                        .build();
                    self.pending.push_back(ToSwarm::Dial { opts });
                }
            }
            InnerEvent::Kad(_) => {}
            InnerEvent::Identify(e) => match *e {
                identify::Event::Received { peer_id, info, .. } => {
                    tracing::debug!(
                        peer = %peer_id,
                        agent = %info.agent_version,
                        addresses = ?info.listen_addrs,
                        "identified"
                    );
                    if info.protocols.contains(&IPFS_KAD) {
                        // A peer that starts serving the IPFS DHT under
                        // addresses identify already reported: report
                        // them again, for that DHT's table.
                        if self.ipfs_dht_servers.insert(peer_id) {
                            for address in info.listen_addrs {
                                self.pending
                                    .push_back(ToSwarm::NewExternalAddrOfPeer { peer_id, address });
                            }
                        }
                    } else {
                        self.ipfs_dht_servers.remove(&peer_id);
                    }
                }
                // A peer that does not speak identify, or went away mid-answer.
                identify::Event::Error { peer_id, error, .. } => {
                    tracing::debug!(peer = %peer_id, %error, "identify failed")
                }
                identify::Event::Sent { .. } | identify::Event::Pushed { .. } => {}
            },
            InnerEvent::Autonat(e) => {
                let reachable = e.result.is_ok();
                let news = self
                    .reachability
                    .record(e.tested_addr.clone(), e.server, reachable);
                match (&e.result, news) {
                    (Ok(()), true) => tracing::info!(
                        addr = %e.tested_addr,
                        server = %e.server,
                        "reachable: an AutoNAT server dialed this node back"
                    ),
                    (Err(err), true) => tracing::info!(
                        addr = %e.tested_addr,
                        server = %e.server,
                        error = %err,
                        "no longer reachable at this address"
                    ),
                    (r, false) => tracing::debug!(
                        addr = %e.tested_addr,
                        server = %e.server,
                        result = ?r,
                        "AutoNAT probe"
                    ),
                }
            }
            InnerEvent::Relay(e) => self.relay_event(e),
            InnerEvent::AutonatServer(e) => tracing::debug!(
                client = %e.client,
                addr = %e.tested_addr,
                bytes = e.data_amount,
                result = ?e.result,
                "AutoNAT probe answered"
            ),
        }
    }
}

impl Behaviour {
    /// Whether `peer`, connected now, said (in identify) that it serves the
    /// IPFS DHT. rust-ipfs fed every identified peer's addresses to its DHT
    /// from its own identify, which this node no longer runs; `Net::start`
    /// feeds them from this one, for the peers that serve it.
    pub fn serves_ipfs_dht(&self, peer: &PeerId) -> bool {
        self.ipfs_dht_servers.contains(peer)
    }

    /// Counts a relay server's event into the metrics. Denials are what the
    /// limits are for: logged at debug, counted by reason.
    fn relay_event(&mut self, e: libp2p::relay::Event) {
        use libp2p::relay::Event as R;
        tracing::debug!(event = ?e, "relay");
        let Some(m) = &self.relay_metrics else { return };
        let count = |request: &str, outcome: String| {
            m.relay_requests
                .get_or_create(&vec![
                    ("request", request.to_string()),
                    ("outcome", outcome),
                ])
                .inc();
        };
        let held = &mut self.relay_held;
        match e {
            R::ReservationReqAccepted {
                src_peer_id,
                renewed,
            } => {
                if !renewed {
                    RelayHeld::up(&mut held.reservations, src_peer_id);
                }
                count("reservation", "accepted".into());
            }
            R::ReservationReqDenied { status, .. } => {
                count("reservation", format!("denied: {status:?}"))
            }
            R::ReservationClosed { src_peer_id } | R::ReservationTimedOut { src_peer_id } => {
                RelayHeld::down(&mut held.reservations, src_peer_id);
            }
            R::CircuitReqAccepted {
                src_peer_id,
                dst_peer_id,
            } => {
                RelayHeld::up(&mut held.circuits, (src_peer_id, dst_peer_id));
                count("circuit", "accepted".into());
            }
            R::CircuitReqDenied { status, .. } => count("circuit", format!("denied: {status:?}")),
            R::CircuitClosed {
                src_peer_id,
                dst_peer_id,
                ..
            } => {
                RelayHeld::down(&mut held.circuits, (src_peer_id, dst_peer_id));
            }
            _ => {}
        }
        m.relay_reservations.set(held.reservations());
        m.relay_circuits.set(held.circuits());
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = THandler<Inner>;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        id: ConnectionId,
        local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.inner
            .handle_pending_inbound_connection(id, local, remote)
    }

    fn handle_established_inbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        if let Some(ip) = ip_of(remote).filter(|ip| !ip.is_loopback()) {
            let held = self.per_ip.get(&ip).map_or(0, |s| s.len());
            if held >= self.connections_per_ip {
                return Err(ConnectionDenied::new(std::io::Error::other(format!(
                    "{ip} holds {held} connections already"
                ))));
            }
            let handler = self
                .inner
                .handle_established_inbound_connection(id, peer, local, remote)?;
            self.per_ip.entry(ip).or_default().insert(id);
            return Ok(handler);
        }
        self.inner
            .handle_established_inbound_connection(id, peer, local, remote)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        id: ConnectionId,
        peer: Option<PeerId>,
        addresses: &[Multiaddr],
        role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.inner
            .handle_pending_outbound_connection(id, peer, addresses, role)
    }

    fn handle_established_outbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.inner
            .handle_established_outbound_connection(id, peer, addr, role, port_use)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        self.listening.on_swarm_event(&event);
        match &event {
            FromSwarm::NewListenAddr(e) if self.listeners_told.tells(e.addr) => {
                self.pending
                    .push_back(ToSwarm::ExternalAddrConfirmed(e.addr.clone()));
            }
            FromSwarm::ExpiredListenAddr(e) => {
                if self.listeners_told.tells(e.addr) {
                    self.pending
                        .push_back(ToSwarm::ExternalAddrExpired(e.addr.clone()));
                }
                // libp2p's relay client confirms a circuit when the relay
                // grants it and expires it only when the connection to the
                // relay closes, not when this node gives the circuit up.
                if let Some(relay) = relay_of_circuit(e.addr)
                    && !self
                        .listening
                        .iter()
                        .any(|a| relay_of_circuit(a) == Some(relay))
                {
                    for a in self.external.iter() {
                        if relay_of_circuit(a) == Some(relay) {
                            self.pending
                                .push_back(ToSwarm::ExternalAddrExpired(a.clone()));
                        }
                    }
                }
            }
            // Only for peers connected now: the DHT's query answers name
            // peers too, gone ones among them, and each insertion into a
            // small routing table starts a bootstrap that dials every peer
            // in it. Fed back, a stopped node was redialed by every other
            // node several times a second (the churn devnet).
            FromSwarm::NewExternalAddrOfPeer(e) if self.connected.contains(&e.peer_id) => {
                self.inner.kad.add_address(&e.peer_id, e.addr.clone());
            }
            FromSwarm::ConnectionEstablished(e) => {
                self.links.opened(e.peer_id, e.connection_id, e.endpoint);
                for circuit in self.links.redundant_circuits(&e.peer_id) {
                    tracing::debug!(peer = %e.peer_id, "direct connection open; closing the circuit");
                    self.pending.push_back(ToSwarm::CloseConnection {
                        peer_id: e.peer_id,
                        connection: libp2p::swarm::CloseConnection::One(circuit),
                    });
                }
                self.connected.insert(e.peer_id);
                self.emit(NetEvent::Connected {
                    peer: e.peer_id,
                    connections: self.connected.len(),
                });
            }
            FromSwarm::ConnectionClosed(e) => {
                self.links.closed(&e.peer_id, &e.connection_id);
                if let Some(ip) = ip_of(e.endpoint.get_remote_address())
                    && let Some(set) = self.per_ip.get_mut(&ip)
                {
                    set.remove(&e.connection_id);
                    if set.is_empty() {
                        self.per_ip.remove(&ip);
                    }
                }
                if e.remaining_established == 0 {
                    self.connected.remove(&e.peer_id);
                    self.ipfs_dht_servers.remove(&e.peer_id);
                    self.emit(NetEvent::Disconnected { peer: e.peer_id });
                }
            }
            FromSwarm::ListenFailure(e) => {
                tracing::debug!(peer = ?e.peer_id, error = %e.error, "incoming connection failed");
                self.refused.count(true);
            }
            FromSwarm::DialFailure(e) => {
                tracing::debug!(peer = ?e.peer_id, error = %e.error, "dial failed");
                self.refused.count(false);
            }
            _ => {}
        }
        let external_changed = self.external.on_swarm_event(&event);
        self.inner.on_swarm_event(event);
        if external_changed {
            // After identify took the change in, so that the push carries it.
            self.inner.identify.push(self.connected.iter().copied());
        }
    }

    fn on_connection_handler_event(
        &mut self,
        peer: PeerId,
        id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        self.inner.on_connection_handler_event(peer, id, event);
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        while let Poll::Ready(Some(c)) = self.commands.poll_recv(cx) {
            self.command(c);
        }
        if self.bootstrap_timer.as_mut().poll(cx).is_ready() {
            if self.connected.is_empty() {
                self.bootstrap_every = BOOTSTRAP_FIRST;
            } else {
                let _ = self.inner.kad.bootstrap();
                self.bootstrap_every = (self.bootstrap_every * 2).min(BOOTSTRAP_MAX);
            }
            let next = tokio::time::Instant::now() + self.bootstrap_every;
            self.bootstrap_timer.as_mut().reset(next);
            // Register the waker with the new deadline.
            let _ = self.bootstrap_timer.as_mut().poll(cx);
        }
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Poll::Ready(e.map_in(|never| match never {}));
            }
            match self.inner.poll(cx) {
                Poll::Ready(ToSwarm::GenerateEvent(e)) => self.inner_event(e),
                Poll::Ready(other) => {
                    return Poll::Ready(
                        other.map_out(|_| unreachable!("GenerateEvent is matched above")),
                    );
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_gauges_never_count_an_end_twice_or_an_end_never_granted() {
        let (a, b) = (PeerId::random(), PeerId::random());
        let mut h = RelayHeld::default();
        RelayHeld::up(&mut h.circuits, (a, b));
        RelayHeld::up(&mut h.circuits, (a, b));
        assert!(RelayHeld::down(&mut h.circuits, (a, b)));
        assert!(RelayHeld::down(&mut h.circuits, (a, b)));
        assert!(!RelayHeld::down(&mut h.circuits, (a, b)), "closed twice");
        assert_eq!(h.circuits(), 0);
        assert!(!RelayHeld::down(&mut h.reservations, a), "never granted");
        RelayHeld::up(&mut h.reservations, a);
        assert_eq!(h.reservations(), 1);
    }
}
