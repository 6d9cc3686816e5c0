//! The flood scenario's hostile node: for a while it sends as much as it
//! can on every gossip topic and every stream protocol, while the honest
//! network plays and settles. Each gossip topic gets messages that decode
//! (fresh lobby offers, announcements of CIDs no one has, attestations
//! whose signatures recover to strangers) and junk; every connected peer
//! gets rollback streams for matches it does not play and block requests
//! for blocks no one has. "As much as it can" is bounded by the one
//! process the devnet shares: [`PER_TICK`] of each every millisecond tick.

use std::time::{Duration, Instant};

use cyteria_node::node::Node;
use cyteria_node::wire;
use libp2p::{PeerId, StreamProtocol};
use tokio::sync::watch;

/// Messages of each kind sent every tick.
pub const PER_TICK: usize = 2;

/// What the flooder sent, and what became of it.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct FloodStats {
    /// Gossip messages published (accepted by the local swarm).
    pub gossip_sent: u64,
    /// Gossip publications refused locally (no peer left to send to).
    pub gossip_refused: u64,
    /// Streams opened to peers (rollback and block requests).
    pub streams_opened: u64,
    /// Streams that could not be opened (refused, or the peer banned it).
    pub streams_refused: u64,
    /// Seconds it flooded.
    pub seconds: f64,
    /// Peers connected to it when it stopped.
    pub peers_at_end: usize,
    /// The most peers it had at once.
    pub most_peers: usize,
}

fn noise(x: &mut u64, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| {
            *x ^= *x << 13;
            *x ^= *x >> 7;
            *x ^= *x << 17;
            *x as u8
        })
        .collect()
}

/// Floods from `node` for `length` (or until `stop`); returns what it did.
pub async fn flood(node: Node, length: Duration, mut stop: watch::Receiver<bool>) -> FloodStats {
    let net = node.net().clone();
    let mut stats = FloodStats::default();
    let started = Instant::now();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut peers: Vec<PeerId> = vec![];
    let mut round = 0u64;
    while started.elapsed() < length && !*stop.borrow() {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        round += 1;
        // Cut off from everyone: nothing it sends reaches a node; it only
        // spins (on the cores the honest nodes share with it here).
        if stats.gossip_refused > 0 && peers.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if round % 200 == 1 || peers.is_empty() {
            peers = net.connected().await;
            stats.most_peers = stats.most_peers.max(peers.len());
        }
        for _ in 0..PER_TICK {
            let r = noise(&mut x, 40);
            let offer = wire::Offer {
                offer_id: r[..16].try_into().unwrap_or([0; 16]),
                kind: wire::MatchKind {
                    mode: wire::Mode::Coop,
                    size: 2,
                    rules_version: cyteria_game::RULES_VERSION,
                    waves: 1,
                    time_limit: 600,
                },
                loadout: cyteria_game::crafting::starter_loadout(),
                items: Default::default(),
                beacon: Default::default(),
            };
            let announce = wire::Announce {
                match_id: r[..32].try_into().unwrap_or([0; 32]),
                cid: cyteria_node::content::cid_of(&r),
                frames: 600,
                final_checksum: cyteria_game::state::Checksum([1; 32]),
                claims: [2; 32],
            };
            let attestation = wire::Attestation {
                batch: wire::WireBatch {
                    epoch: 1,
                    round: (r[0] % 4) as u32,
                    prev_root: [0; 32],
                    new_root: r[..32].try_into().unwrap_or([0; 32]),
                    data_cid: cyteria_node::content::cid_of(&r).to_string(),
                    metadata_cid: String::new(),
                    mints_hash: [0; 32],
                    slashes_hash: [0; 32],
                },
                signature: {
                    let mut s = noise(&mut x, 65);
                    s[64] = 27 + (s[0] & 1);
                    s
                },
            };
            for (topic, bytes) in [
                (wire::LOBBY_TOPIC, wire::LobbyMessage::Offer(offer).encode()),
                (wire::TRANSCRIPTS_TOPIC, announce.encode()),
                (wire::BATCHES_TOPIC, attestation.encode()),
                (wire::ACTIONS_TOPIC, noise(&mut x, 300)),
                (wire::LOBBY_TOPIC, noise(&mut x, 200)),
            ] {
                match net.publish(topic, bytes).await {
                    Ok(()) => stats.gossip_sent += 1,
                    Err(_) => stats.gossip_refused += 1,
                }
            }
        }
        // Streams: a rollback hello for a match no one plays, then junk; a
        // block request for a block no one has. One peer a tick.
        if !peers.is_empty() {
            let p = peers[(round as usize) % peers.len()];
            let (ipfs, junk, cid) = (
                net.ipfs.clone(),
                noise(&mut x, 64),
                cyteria_node::content::cid_of(&noise(&mut x, 16)),
            );
            let opened = tokio::time::timeout(
                Duration::from_millis(200),
                ipfs.open_stream(p, StreamProtocol::new(wire::ROLLBACK_PROTOCOL)),
            )
            .await;
            match opened {
                Ok(Ok(mut s)) => {
                    stats.streams_opened += 1;
                    let hello = wire::RollbackFrame::Hello { match_id: [7; 32] }.encode();
                    tokio::spawn(async move {
                        use cyteria_node::framing::write_frame;
                        let _ = write_frame(&mut s, &hello).await;
                        let _ = write_frame(&mut s, &junk).await;
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    });
                }
                _ => stats.streams_refused += 1,
            }
            let ipfs = net.ipfs.clone();
            tokio::spawn(async move {
                let _ =
                    cyteria_node::direct::request(&ipfs, p, &cid, Duration::from_millis(500)).await;
            });
        }
    }
    stats.seconds = started.elapsed().as_secs_f64();
    stats.peers_at_end = net.connected().await.len();
    stats
}
