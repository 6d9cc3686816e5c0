//! Network figures of real matches between in-process nodes on loopback:
//! rollbacks per second and their depth, bandwidth per player, CPU per frame
//! per node, and lobby-to-first-frame time, with and without the link
//! conditioner. Run with `cargo bench -p cyteria-node --bench netplay`;
//! the table it prints goes to docs/performance.md.

use std::time::Duration;

use cyteria_game::RULES_VERSION;
use cyteria_node::conditioner::LinkConditions;
use cyteria_node::net::{NetConfig, Role};
use cyteria_node::node::{Node, PlayerConfig};
use cyteria_node::session::{Ending, InputSource, SessionConfig};
use cyteria_node::wire::{MatchKind, Mode};
use tokio::sync::watch;

/// User plus system CPU time of this process (Linux /proc).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    // Fields 14 and 15 (utime, stime) are 11 and 12 after the command name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

async fn scenario(name: &str, players: usize, quic: bool, link: LinkConditions, seconds: u32) {
    let listen = if quic {
        "/ip4/127.0.0.1/udp/0/quic-v1"
    } else {
        "/ip4/127.0.0.1/tcp/0"
    };
    let mut nodes: Vec<Node> = vec![];
    for i in 0..players {
        let mut cfg = NetConfig::loopback(Role::Player);
        cfg.listen = vec![listen.parse().unwrap()];
        if i > 0 {
            cfg.bootstrap = nodes[0].net().addresses().await;
        }
        nodes.push(Node::builder(cfg).start().await.unwrap());
    }
    let session = SessionConfig {
        link,
        input_delay: if link.rtt_ms > 0 { 3 } else { 2 },
        ..Default::default()
    };
    let player = PlayerConfig {
        // 20 waves: the bots cannot clear them, so the match runs to its time limit.
        kind: MatchKind {
            mode: Mode::Coop,
            size: players as u8,
            rules_version: RULES_VERSION,
            waves: 20,
            time_limit: seconds * 60,
        },
        equipment: cyteria_node::node::fixed_equipment(
            cyteria_game::transcript::Equipment::starter(),
        ),
        loadout_dir: None,
        session,
        source: InputSource::Bot,
        beacon: cyteria_node::beacon::fixed(Default::default()),
    };
    let (_tx, rx) = watch::channel(false);
    let cpu0 = cpu_time();
    let reports = futures::future::join_all(nodes.iter_mut().map(|n| {
        let rx = rx.clone();
        let p = player.clone();
        async move { n.play_matches(&p, Some(1), rx).await.pop().unwrap() }
    }))
    .await;
    let cpu = (cpu_time() - cpu0).as_secs_f64();
    assert!(
        reports
            .iter()
            .all(|r| r.ending == Ending::Finished && r.desyncs == 0),
        "{reports:?}"
    );
    let frames = reports[0].frames as f64;
    let secs = frames / 60.0;
    let n = players as f64;
    let rollbacks: u64 = reports.iter().map(|r| r.rollbacks).sum();
    let rb_frames: u64 = reports.iter().map(|r| r.rollback_frames).sum();
    let max_depth = reports
        .iter()
        .map(|r| r.max_rollback_depth)
        .max()
        .unwrap_or(0);
    let stalls: u64 = reports.iter().map(|r| r.stalls).sum();
    let out: f64 = nodes
        .iter()
        .map(|x| {
            x.net()
                .metrics
                .sum("cyteria_bytes_total", "direction=\"out\"")
        })
        .sum();
    let l2f: Vec<u64> = reports
        .iter()
        .filter_map(|r| r.lobby_to_first_frame_ms)
        .collect();
    println!(
        "| {name} | {players} | {frames:.0} | {:.1} | {:.2} | {max_depth} | {:.2} | {:.0} | {:.0} | {} / {} |",
        rollbacks as f64 / n / secs,
        if rollbacks > 0 {
            rb_frames as f64 / rollbacks as f64
        } else {
            0.0
        },
        stalls as f64 / n / secs,
        out / n / secs,
        cpu / (frames * n) * 1e6,
        l2f.iter().sum::<u64>() / l2f.len().max(1) as u64,
        l2f.iter().max().unwrap_or(&0),
    );
    for node in nodes {
        node.net().clone().stop().await;
    }
}

fn main() {
    let seconds: u32 = std::env::var("NETPLAY_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "| conditions | players | frames | rollbacks/s per node | mean depth | max depth | stalls/s per node | bytes/s out per player | CPU µs per frame per node | lobby→first frame ms (mean / max) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let bad = LinkConditions {
        rtt_ms: 100,
        jitter_ms: 20,
        loss: 0.05,
    };
    rt.block_on(async {
        scenario("loopback TCP", 2, false, LinkConditions::default(), seconds).await;
        scenario("loopback QUIC", 2, true, LinkConditions::default(), seconds).await;
        scenario("loopback TCP", 4, false, LinkConditions::default(), seconds).await;
        scenario(
            "100 ms RTT, 20 ms jitter, 5 % loss (TCP)",
            2,
            false,
            bad,
            seconds,
        )
        .await;
        scenario(
            "100 ms RTT, 20 ms jitter, 5 % loss (TCP)",
            4,
            false,
            bad,
            seconds,
        )
        .await;
    });
}
