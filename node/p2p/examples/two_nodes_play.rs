//! Two nodes on loopback find each other, agree on a match in the lobby and
//! play it with rollback netcode over libp2p streams; the core's bot plays
//! both seats. Prints each node's report, and with `--save FILE` writes the
//! signed transcript (`verify_transcript` checks it).
//!
//! `cargo run -p cyteria-node --example two_nodes_play -- --save match.cyt`

use cyteria_game::RULES_VERSION;
use cyteria_node::net::{NetConfig, Role};
use cyteria_node::node::{Node, PlayerConfig};
use cyteria_node::session::{InputSource, SessionConfig};
use cyteria_node::wire::{MatchKind, Mode};
use tokio::sync::watch;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let save = std::env::args()
        .skip_while(|a| a != "--save")
        .nth(1)
        .map(std::path::PathBuf::from);
    let mut a = Node::builder(NetConfig::loopback(Role::Player))
        .start()
        .await?;
    let mut cfg = NetConfig::loopback(Role::Player);
    cfg.bootstrap = a.net().addresses().await;
    let mut b = Node::builder(cfg).start().await?;
    println!("A {}\nB {}", a.net().peer_id, b.net().peer_id);

    let player = PlayerConfig {
        kind: MatchKind {
            mode: Mode::Coop,
            size: 2,
            rules_version: RULES_VERSION,
            waves: 1,
            // 20 s of play at 60 ticks/s
            time_limit: 1_200,
        },
        equipment: cyteria_node::node::fixed_equipment(
            cyteria_game::transcript::Equipment::starter(),
        ),
        loadout_dir: None,
        session: SessionConfig::default(),
        source: InputSource::Bot,
        beacon: cyteria_node::beacon::fixed(Default::default()),
    };
    let (_stop, rx) = watch::channel(false);
    let (ra, rb) = tokio::join!(
        a.play_matches(&player, Some(1), rx.clone()),
        b.play_matches(&player, Some(1), rx)
    );
    for r in ra.iter().chain(&rb) {
        println!(
            "seat {}: {:?} after {} frames, {} rollbacks (deepest {}), checksum {}",
            r.seat,
            r.ending,
            r.frames,
            r.rollbacks,
            r.max_rollback_depth,
            r.final_checksum.as_deref().unwrap_or("-")
        );
    }
    if let (Some(path), Some(t)) = (save, ra.first().and_then(|r| r.transcript.as_ref())) {
        std::fs::write(&path, t.encode())?;
        println!("transcript written to {}", path.display());
    }
    a.net().clone().stop().await;
    b.net().clone().stop().await;
    Ok(())
}
