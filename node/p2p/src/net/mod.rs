//! The node's libp2p swarm: one swarm, one peer id, built by rust-ipfs with
//! the Cyteria behaviour ([`behaviour`]) plugged in.

pub mod addresses;
pub mod behaviour;
pub mod dns;
pub mod exclusive;
pub mod latency;
pub mod limits;
pub mod links;
pub mod misbehaviour;
pub mod queues;
pub mod reachability;
pub mod relay;
pub mod reputation;
pub mod trusted;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use self::addresses::{is_loopback, is_routable, relay_of_circuit};
use anyhow::Context as _;
use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use rust_ipfs::builder::IpfsBuilder;
use rust_ipfs::{ConnectionLimits, Ipfs};
use tokio::sync::{mpsc, oneshot};

pub use behaviour::{BehaviourConfig, Command, NetEvent};
pub use misbehaviour::Misbehaviour;
pub use relay::RelayLimits;

use crate::identity::Identity;
use crate::metrics::Metrics;
use crate::wire;

/// What this swarm is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Plays matches: relay client, DCUtR, streams.
    Player,
    /// Helps others find and reach each other: DHT server, relay server,
    /// AutoNAT server. Plays nothing.
    Bootstrap,
}

/// How to build and start the swarm.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Player or bootstrap node.
    pub role: Role,
    /// Multiaddrs to listen on.
    pub listen: Vec<Multiaddr>,
    /// Bootstrap nodes, each with its `/p2p/<peer id>` suffix.
    pub bootstrap: Vec<Multiaddr>,
    /// Where rust-ipfs keeps its repo; in memory when `None`.
    pub repo: Option<PathBuf>,
    /// The gossip and DHT settings.
    pub behaviour: BehaviourConfig,
    /// Relay server limits, used by bootstrap nodes only.
    pub relay: RelayLimits,
    /// Most established connections in all.
    pub max_connections: u32,
    /// Most established connections with one peer.
    pub max_connections_per_peer: u32,
    /// What each peer may send (the `[limits]` section).
    pub limits: limits::Limits,
    /// Addresses others can dial this node at, as the operator knows them
    /// (a port forward, a public IP); empty: worked out (see
    /// [`Net::start`]).
    pub external: Vec<Multiaddr>,
}

impl NetConfig {
    /// Whether this node listens on loopback alone (a devnet, a test).
    fn loopback_only(&self) -> bool {
        !self.listen.is_empty() && self.listen.iter().all(is_loopback)
    }

    /// Loopback TCP and QUIC on free ports: what tests and the devnet use.
    pub fn loopback(role: Role) -> Self {
        Self {
            role,
            listen: vec![
                "/ip4/127.0.0.1/tcp/0".parse().expect("valid"),
                "/ip4/127.0.0.1/udp/0/quic-v1".parse().expect("valid"),
            ],
            bootstrap: vec![],
            repo: None,
            behaviour: BehaviourConfig::default(),
            relay: RelayLimits::default(),
            max_connections: 256,
            max_connections_per_peer: 4,
            limits: limits::Limits::default(),
            external: vec![],
        }
    }
}

/// A handle on the running swarm. Cheap to clone.
#[derive(Clone)]
pub struct Net {
    /// The rust-ipfs handle; holding it keeps the swarm and its repo open.
    pub ipfs: Ipfs,
    /// This node's peer id.
    pub peer_id: PeerId,
    /// The node's metrics.
    pub metrics: Metrics,
    commands: mpsc::UnboundedSender<Command>,
    reputation: Arc<Mutex<reputation::Reputation>>,
    /// What each peer may send, and what it sent lately.
    pub limiter: Arc<limits::Limiter>,
    /// The connections open now, and how each peer is reached.
    pub links: links::Links,
    /// Which of this node's addresses AutoNAT v2 found others can dial.
    pub reachability: reachability::Reachability,
}

pub use reputation::BAN_SCORE;

/// The behaviour's event queues: one per public topic, so that a flood on
/// one cannot crowd out the others, and one for the rest.
const QUEUES: [queues::Spec; 5] = [
    queues::Spec {
        topic: Some(wire::LOBBY_TOPIC),
        name: "lobby",
        capacity: 1024,
    },
    queues::Spec {
        topic: Some(wire::TRANSCRIPTS_TOPIC),
        name: "transcripts",
        capacity: 1024,
    },
    queues::Spec {
        topic: Some(wire::ACTIONS_TOPIC),
        name: "actions",
        capacity: 4096,
    },
    queues::Spec {
        topic: Some(wire::BATCHES_TOPIC),
        name: "batches",
        capacity: 1024,
    },
    queues::Spec {
        topic: None,
        name: "events",
        capacity: 4096,
    },
];

/// How often a player checks that its relay circuits still listen.
pub const RESERVATION_CHECK: Duration = Duration::from_secs(10);

/// How long a bootstrap node's AutoNAT confirmation lets a player go
/// without relay circuits; after that it reserves again (libp2p does not
/// test a confirmed address again).
pub const CONFIRMATION_LASTS: Duration = Duration::from_secs(30 * 60);

/// Relays a player keeps a circuit on at once.
pub const RELAYS_KEPT: usize = 2;

/// `relays` with one address a peer id (the first named).
fn dedup_by_peer(relays: Vec<Multiaddr>) -> Vec<Multiaddr> {
    let mut seen = std::collections::BTreeSet::new();
    relays
        .into_iter()
        .filter(|r| match r.iter().last() {
            Some(Protocol::P2p(id)) => seen.insert(id),
            _ => false,
        })
        .collect()
}

/// How long a relay may take to grant a reservation.
const RESERVATION_TIMEOUT: Duration = Duration::from_secs(60);

/// How often scores heal and ended bans are lifted.
const REPUTATION_TICK: Duration = Duration::from_secs(30);

impl Net {
    /// Starts the swarm as `identity`, subscribes to the public topics, waits for the listeners
    /// and dials the bootstrap nodes; returns the handle and the behaviour's events.
    pub async fn start(
        identity: &Identity,
        config: NetConfig,
        metrics: Metrics,
    ) -> anyhow::Result<(Net, queues::Events<NetEvent>)> {
        let keypair = identity.keypair();
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = queues::queues(&QUEUES, Some(metrics.clone()));
        let mut bconf = config.behaviour.clone();
        bconf.connections_per_ip = config.limits.connections_per_ip as usize;
        let links = links::Links::default();
        bconf.links = links.clone();
        let reachability = reachability::Reachability::default();
        bconf.reachability = reachability.clone();
        bconf.autonat_client = config.role == Role::Player;
        bconf.listeners_told = if !config.external.is_empty() {
            behaviour::ListenersTold::None
        } else if config.loopback_only() {
            behaviour::ListenersTold::All
        } else if config.role == Role::Bootstrap {
            behaviour::ListenersTold::Routable
        } else {
            behaviour::ListenersTold::None
        };
        bconf.autonat_server = config.role == Role::Bootstrap;
        if config.role == Role::Bootstrap {
            bconf.relay_server = Some((config.relay, metrics.clone()));
            for (name, v) in config.relay.named() {
                metrics
                    .relay_limits
                    .get_or_create(&vec![("limit", name.to_string())])
                    .set(v as i64);
            }
        }
        // Identify is the Cyteria behaviour's (rust-ipfs's would tell peers
        // every listen address); the addresses it learns of peers that serve
        // the IPFS DHT go into that DHT's table, as rust-ipfs's did.
        let mut builder = IpfsBuilder::<behaviour::Behaviour>::with_keypair(&keypair)?
            .swarm_events(|swarm, event| {
                if let libp2p::swarm::SwarmEvent::NewExternalAddrOfPeer { peer_id, address } = event
                {
                    let b = swarm.behaviour_mut();
                    let serves = b
                        .custom
                        .as_ref()
                        .and_then(|ipfs| ipfs.custom.as_ref())
                        .is_some_and(|cyteria| cyteria.serves_ipfs_dht(peer_id));
                    if serves && let Some(kad) = b.kademlia.as_mut() {
                        kad.add_address(peer_id, address.clone());
                    }
                }
            })
            .with_ping(Default::default())
            .with_bitswap()
            .with_kademlia()
            .with_custom_behaviour(move |kp| behaviour::Behaviour::new(kp, &bconf, cmd_rx, ev_tx))
            .set_connection_limits({
                let (total, per_peer) = (config.max_connections, config.max_connections_per_peer);
                move |l: ConnectionLimits| {
                    l.with_max_established(Some(total))
                        .with_max_established_per_peer(Some(per_peer))
                        .with_max_pending_incoming(Some(64))
                }
            })
            .set_idle_connection_timeout(120)
            .enable_tcp()
            .enable_quic()
            .set_listening_addrs(config.listen.clone());
        // A bootstrap node's relay server is the Cyteria behaviour's (so
        // that its events reach the metrics); players need rust-ipfs's
        // client, which is also a transport.
        if config.role == Role::Player {
            builder = builder.with_relay(true);
        }
        // Bootstrap nodes accept streams too, only to refuse rollback traffic cleanly.
        builder = builder.with_streams();
        if let Some(path) = &config.repo {
            builder = builder.set_path(path);
        }
        let ipfs = builder.start().await.context("starting the swarm")?;
        // The IPFS DHT (provider records for content), beside the Cyteria DHT:
        // a node that serves one serves both.
        let mode = if config.behaviour.dht_server {
            rust_ipfs::DhtMode::Server
        } else {
            rust_ipfs::DhtMode::Client
        };
        if let Err(e) = ipfs.dht_mode(mode).await {
            tracing::warn!(error = %e, "IPFS DHT mode not set");
        }
        let net = Net {
            ipfs,
            peer_id: keypair.public().to_peer_id(),
            metrics,
            commands: cmd_tx,
            reputation: Default::default(),
            limiter: Arc::new(limits::Limiter::new(config.limits)),
            links,
            reachability,
        };
        // The task holds no `Ipfs` handle: it must not keep a dropped
        // node's swarm (and its repository's lock) alive.
        tokio::spawn(heal(
            net.reputation.clone(),
            net.limiter.clone(),
            net.commands.clone(),
        ));
        // Every node relays the public topics, bootstrap nodes included, so
        // that gossip crosses the network even before peers meet directly.
        net.subscribe(wire::LOBBY_TOPIC);
        net.subscribe(wire::TRANSCRIPTS_TOPIC);
        net.subscribe(wire::ACTIONS_TOPIC);
        net.subscribe(wire::BATCHES_TOPIC);
        // Wait until the listeners are up so that callers can print them.
        for _ in 0..100 {
            if net
                .ipfs
                .listening_addresses()
                .await
                .map(|a| a.len())
                .unwrap_or(0)
                >= config.listen.len()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        net.confirm_external(&config).await;
        for addr in &config.bootstrap {
            net.add_bootstrap(addr.clone()).await?;
        }
        Ok((net, ev_rx))
    }

    /// Marks the operator's `external` addresses as confirmed, and so told
    /// to peers (identify tells nothing else). Without them a node confirms
    /// its listen addresses as they come if it listens on loopback alone (a
    /// devnet, a test: everyone is on this machine), and a bootstrap node
    /// those the Internet can dial ([`behaviour::ListenersTold`]); a
    /// player's are those AutoNAT v2 confirms, and its relay circuits. A
    /// relay hands its confirmed addresses to the players that reserve on
    /// it; with none, libp2p's relay grants reservations no player can use.
    async fn confirm_external(&self, config: &NetConfig) {
        if config.external.is_empty() && config.role == Role::Bootstrap && !config.loopback_only() {
            let listening = self.ipfs.listening_addresses().await.unwrap_or_default();
            if !listening.iter().any(is_routable) {
                tracing::warn!(
                    ?listening,
                    "no public address to hand players reserving on this relay; set [network] external to the address others dial"
                );
            }
        }
        for a in config.external.clone() {
            if let Err(e) = self.ipfs.add_external_address(a.clone()).await {
                tracing::warn!(addr = %a, error = %e, "external address not added");
            }
        }
    }

    /// Connects to a bootstrap node and seeds both DHTs (Cyteria's and
    /// IPFS's) with it; its AutoNAT v2 server's word now confirms this
    /// node's addresses (no other's does). A DNS name (`/dns4/boot.example/tcp/4001/p2p/…`) is
    /// resolved first, and each of its addresses tried in turn.
    pub async fn add_bootstrap(&self, addr: Multiaddr) -> anyhow::Result<()> {
        let mut last = None;
        for a in dns::resolve(&addr).await? {
            match self.add_bootstrap_ip(a).await {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("{addr} names no address")))
    }

    async fn add_bootstrap_ip(&self, addr: Multiaddr) -> anyhow::Result<()> {
        let Some(Protocol::P2p(peer)) = addr.iter().last() else {
            anyhow::bail!("bootstrap address {addr} must end in /p2p/<peer id>");
        };
        let mut bare = addr.clone();
        bare.pop();
        self.send(Command::AddAddress { peer, addr: bare });
        self.send(Command::TrustAutonat(peer));
        self.ipfs
            .connect(addr.clone())
            .await
            .with_context(|| format!("dialing bootstrap node {addr}"))?;
        self.send(Command::Bootstrap);
        // And the IPFS DHT, for content providers.
        if let Err(e) = self.ipfs.add_bootstrap(addr.clone()).await {
            tracing::debug!(error = %e, "IPFS DHT bootstrap address not added");
        } else if let Err(e) = self.ipfs.bootstrap().await {
            tracing::debug!(error = %e, "IPFS DHT bootstrap did not start");
        }
        Ok(())
    }

    fn send(&self, c: Command) {
        // The behaviour lives as long as the swarm; a closed channel means
        // the node is shutting down, and then there is nothing to do.
        let _ = self.commands.send(c);
    }

    /// Asks the DHT for `peer`; the query dials it when it is found.
    pub fn find_peer(&self, peer: PeerId) {
        self.send(Command::FindPeer(peer));
    }

    /// Joins the gossip topic `topic`.
    pub fn subscribe(&self, topic: &str) {
        self.send(Command::Subscribe(topic.to_string()));
    }

    /// Gossips `data` on `topic` and counts its bytes; fails when gossipsub refuses it.
    pub async fn publish(&self, topic: &str, data: Vec<u8>) -> anyhow::Result<()> {
        let n = data.len();
        self.publisher().publish(topic, data).await?;
        self.metrics.bytes("gossip", "out", n);
        Ok(())
    }

    /// A handle that publishes gossip but does not keep the swarm alive
    /// (an `Ipfs` handle does): for tasks that live as long as the swarm.
    pub fn publisher(&self) -> Publisher {
        Publisher {
            commands: self.commands.clone(),
        }
    }

    /// Tells gossipsub whether a message it handed over may propagate.
    pub fn report(&self, id: MessageId, source: PeerId, acceptance: MessageAcceptance) {
        self.send(Command::Report {
            id,
            propagation_source: source,
            acceptance,
        });
    }

    /// Lowers a peer's score by what `m` costs; bans it below [`BAN_SCORE`].
    pub async fn penalise(&self, peer: PeerId, m: Misbehaviour) {
        self.penalise_for(peer, m, m.label()).await
    }

    /// As [`Net::penalise`], with a finer `detail` than `m`'s label for the
    /// log and the metrics (which decode check failed, say).
    pub async fn penalise_for(&self, peer: PeerId, m: Misbehaviour, detail: &str) {
        let (channel, reason, amount) = (m.channel(), detail, m.penalty());
        self.metrics.reject(channel, reason);
        if m.can_be_honest() || m.is_flood() {
            tracing::debug!(%peer, channel, reason, "rejected input from peer");
        } else {
            tracing::warn!(%peer, channel, reason, "rejected input from peer");
        }
        let p = self
            .reputation
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .penalise(peer, amount, std::time::Instant::now());
        self.send(Command::AppScore {
            peer,
            score: p.score,
        });
        if let Some(len) = p.banned_for {
            tracing::warn!(%peer, score = p.score, minutes = len.as_secs() / 60, "banning peer");
            self.block(peer);
        }
    }

    /// Closes every connection with `peer` and refuses new ones.
    pub fn block(&self, peer: PeerId) {
        self.send(Command::Block(peer));
    }

    /// Accepts `peer` again.
    pub fn unblock(&self, peer: PeerId) {
        self.send(Command::Unblock(peer));
    }

    /// The application score this node gives `peer` now (0 until
    /// penalised; it heals with time).
    pub fn app_score(&self, peer: &PeerId) -> f64 {
        self.reputation
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .score(peer, std::time::Instant::now())
    }

    /// A reader of the scores that holds no swarm handle.
    pub fn scores(&self) -> Scores {
        Scores(self.reputation.clone())
    }

    /// Gossipsub's score of `peer`, when it knows the peer.
    pub async fn gossip_score(&self, peer: PeerId) -> Option<f64> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Score { peer, reply: tx });
        rx.await.ok().flatten()
    }

    /// The peers in this node's gossip mesh for `topic`.
    pub async fn mesh_peers(&self, topic: &str) -> Vec<PeerId> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::MeshPeers {
            topic: topic.to_string(),
            reply: tx,
        });
        rx.await.unwrap_or_default()
    }

    /// Listen addresses with the `/p2p/<peer id>` suffix, as others dial them.
    pub async fn addresses(&self) -> Vec<Multiaddr> {
        let addrs = self.ipfs.listening_addresses().await.unwrap_or_default();
        addrs
            .into_iter()
            .map(|a| a.with(Protocol::P2p(self.peer_id)))
            .collect()
    }

    /// Reserves a circuit on the relay at `relay` (a bootstrap node's
    /// address, ending in `/p2p/<peer id>`) and listens on it: peers that
    /// cannot dial this node directly (it is behind NAT) reach it through
    /// the relay, and then try to hole-punch a direct connection (DCUtR).
    /// The reservation renews itself while the relay is connected. Returns
    /// the circuit addresses this node is reachable at.
    pub async fn reserve_relay(&self, relay: Multiaddr) -> anyhow::Result<Vec<Multiaddr>> {
        Ok(self.reserve(relay).await?.1)
    }

    /// [`Net::reserve_relay`], with the listener to remove to give the circuit up.
    async fn reserve(
        &self,
        relay: Multiaddr,
    ) -> anyhow::Result<(rust_ipfs::ListenerId, Vec<Multiaddr>)> {
        anyhow::ensure!(
            matches!(relay.iter().last(), Some(Protocol::P2p(_))),
            "relay address {relay} must end in /p2p/<peer id>"
        );
        let mut last = None;
        for r in dns::resolve(&relay).await? {
            let circuit = r.clone().with(Protocol::P2pCircuit);
            let reserved = tokio::time::timeout(
                RESERVATION_TIMEOUT,
                self.ipfs.add_listening_address(circuit.clone()),
            )
            .await;
            match reserved {
                Ok(Ok(id)) => {
                    let addrs = self
                        .ipfs
                        .get_listening_address(id)
                        .await
                        .unwrap_or_default();
                    tracing::info!(relay = %r, ?addrs, "circuit reserved on the relay");
                    return Ok((id, addrs));
                }
                Ok(Err(e)) => last = Some(anyhow::anyhow!("reserving on {r}: {e}")),
                Err(_) => {
                    last = Some(anyhow::anyhow!(
                        "reserving on {r}: no answer in {RESERVATION_TIMEOUT:?}"
                    ))
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("{relay} names no address")))
    }

    /// Keeps a circuit reserved on [`RELAYS_KEPT`] of `relays` (bootstrap
    /// nodes' addresses, each ending in `/p2p/<peer id>`), so that a player
    /// behind NAT stays reachable: it reserves now, checks every
    /// [`RESERVATION_CHECK`] that its circuit through each relay is still
    /// listening, and reserves again when not (the relay restarted, the
    /// connection to it dropped), on the next relay when one is down.
    /// A node that one of these relays' AutoNAT v2 servers found others
    /// can dial directly gives its circuits up (a relay's slots are for the
    /// nodes that need them), for [`CONFIRMATION_LASTS`], and reserves
    /// again after it or if the address stops answering. Failures are logged when they start
    /// and when they end, not each time. Ends when the swarm stops.
    pub fn keep_reservations(&self, relays: Vec<Multiaddr>) -> tokio::task::JoinHandle<()> {
        let net = self.clone();
        // One entry a relay (its TCP and QUIC addresses name one peer), and
        // each node starts at its own place in the list, so that players
        // sharing a list spread over its relays.
        let mut relays = dedup_by_peer(relays);
        if !relays.is_empty() {
            let start = self
                .peer_id
                .to_bytes()
                .iter()
                .map(|b| *b as usize)
                .sum::<usize>();
            let n = relays.len();
            relays.rotate_left(start % n);
        }
        tokio::spawn(async move {
            let mut failing: std::collections::BTreeSet<Multiaddr> = Default::default();
            let mut held: BTreeMap<Multiaddr, rust_ipfs::ListenerId> = Default::default();
            let trusted: Vec<PeerId> = relays
                .iter()
                .filter_map(|r| match r.iter().last() {
                    Some(Protocol::P2p(id)) => Some(id),
                    _ => None,
                })
                .collect();
            loop {
                if net
                    .reachability
                    .confirmed_by_any(&trusted, CONFIRMATION_LASTS)
                {
                    if !held.is_empty() {
                        for (_, id) in std::mem::take(&mut held) {
                            let _ = net.ipfs.remove_listening_address(id).await;
                        }
                        let at: Vec<String> = net
                            .reachability
                            .public()
                            .iter()
                            .map(|(a, _)| a.to_string())
                            .collect();
                        tracing::info!(?at, "reachable directly: relay circuits given up");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(RESERVATION_CHECK) => continue,
                        _ = net.stopped() => return,
                    }
                }
                let listening = net.ipfs.listening_addresses().await.unwrap_or_default();
                let mut held_now = 0;
                for r in &relays {
                    if held_now >= RELAYS_KEPT {
                        break;
                    }
                    let Some(Protocol::P2p(id)) = r.iter().last() else {
                        continue;
                    };
                    if listening.iter().any(|a| relay_of_circuit(a) == Some(id)) {
                        held_now += 1;
                        continue;
                    }
                    match net.reserve(r.clone()).await {
                        Ok((id, _)) => {
                            held_now += 1;
                            held.insert(r.clone(), id);
                            if failing.remove(r) {
                                tracing::info!(relay = %r, "circuit reserved again");
                            }
                        }
                        Err(e) => {
                            if failing.insert(r.clone()) {
                                tracing::info!(relay = %r, error = %e, "no circuit reserved on the relay; trying again every {}s", RESERVATION_CHECK.as_secs());
                            }
                        }
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(RESERVATION_CHECK) => {}
                    _ = net.stopped() => return,
                }
            }
        })
    }

    /// The peers connected now.
    pub async fn connected(&self) -> Vec<PeerId> {
        self.ipfs.connected().await.unwrap_or_default()
    }

    /// Stops the swarm.
    pub async fn stop(self) {
        self.ipfs.exit_daemon().await;
    }

    /// Resolves once the swarm has stopped. A task that holds an [`Ipfs`]
    /// handle waits on this too: the handle keeps the repository (and its
    /// lock) open, so a node restarted on the same data directory could not
    /// start while the task lived.
    pub async fn stopped(&self) {
        self.commands.closed().await
    }
}

/// Publishes gossip without holding the swarm (see [`Net::publisher`]).
#[derive(Clone)]
pub struct Publisher {
    commands: mpsc::UnboundedSender<Command>,
}

impl Publisher {
    /// Gossips `data` on `topic`; fails when gossipsub refuses it or the swarm has stopped.
    pub async fn publish(&self, topic: &str, data: Vec<u8>) -> anyhow::Result<()> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Publish {
                topic: topic.to_string(),
                data,
                reply: tx,
            })
            .map_err(|_| anyhow::anyhow!("swarm stopped"))?;
        rx.await
            .context("swarm stopped")?
            .map_err(|e| anyhow::anyhow!("publishing on {topic}: {e}"))
    }
}

/// Heals scores and lifts ended bans, every [`REPUTATION_TICK`], until the
/// swarm stops (its end of `commands` is dropped).
async fn heal(
    reputation: Arc<Mutex<reputation::Reputation>>,
    limiter: Arc<limits::Limiter>,
    commands: mpsc::UnboundedSender<Command>,
) {
    let mut every = tokio::time::interval(REPUTATION_TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if commands.is_closed() {
            return;
        }
        let (unbanned, scores) = reputation
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .tick(std::time::Instant::now());
        for peer in unbanned {
            tracing::info!(%peer, "ban ended");
            let _ = commands.send(Command::Unblock(peer));
        }
        limiter.forget_idle();
        for (peer, score) in scores {
            let _ = commands.send(Command::AppScore { peer, score });
        }
    }
}

/// A reader of the scores this node gives its peers that holds no swarm
/// handle (tasks that outlive a node's use of its swarm keep one of these).
#[derive(Clone)]
pub struct Scores(Arc<Mutex<reputation::Reputation>>);

impl Scores {
    /// `peer`'s score now.
    pub fn of(&self, peer: &PeerId) -> f64 {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .score(peer, std::time::Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ma(s: &str) -> Multiaddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_relay_named_twice_is_kept_once() {
        let r = PeerId::random();
        let other = PeerId::random();
        let relays = vec![
            ma(&format!("/ip4/203.0.113.7/tcp/4001/p2p/{r}")),
            ma(&format!("/ip4/203.0.113.7/udp/4001/quic-v1/p2p/{r}")),
            ma(&format!("/ip4/203.0.113.8/tcp/4001/p2p/{other}")),
            ma("/ip4/203.0.113.9/tcp/4001"),
        ];
        let kept = dedup_by_peer(relays.clone());
        assert_eq!(kept, vec![relays[0].clone(), relays[2].clone()]);
    }
}
