use std::time::Duration;

use cyteria_game::RULES_VERSION;
use cyteria_game::transcript::Transcript;
use cyteria_node::net::{NetConfig, Role};
use cyteria_node::node::{Node, PlayerConfig};
use cyteria_node::session::{Ending, InputSource, MatchReport, SessionConfig};
use cyteria_node::signing::verify_transcript_signatures;
use cyteria_node::wire::{MatchKind, Mode};
use libp2p::Multiaddr;
use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    Quic,
}

pub(crate) fn listen(t: Transport) -> Vec<Multiaddr> {
    vec![match t {
        Transport::Tcp => "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        Transport::Quic => "/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap(),
    }]
}

pub(crate) async fn node(t: Transport, bootstrap: Option<&Node>) -> Node {
    // `RUST_LOG=cyteria_node=debug` shows what the nodes did when a test fails.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut cfg = NetConfig::loopback(Role::Player);
    cfg.listen = listen(t);
    if let Some(b) = bootstrap {
        cfg.bootstrap = b.net().addresses().await;
    }
    Node::builder(cfg).start().await.unwrap()
}

/// `n` player nodes; every one after the first bootstraps from the first,
/// and then dials the others, so that these tests measure matches, not
/// discovery. (Discovery through the DHT is what the process test and the
/// chain tests exercise: there, players know only a bootstrap node or the
/// first validator.)
pub(crate) async fn nodes(n: usize, t: Transport) -> Vec<Node> {
    let first = node(t, None).await;
    let mut v = vec![];
    for _ in 1..n {
        v.push(node(t, Some(&first)).await);
    }
    for i in 0..v.len() {
        for j in 0..v.len() {
            if i != j
                && let Some(addr) = v[j].net().addresses().await.into_iter().next()
            {
                let _ = v[i].net().ipfs.connect(addr).await;
            }
        }
    }
    v.insert(0, first);
    v
}

pub(crate) fn player(size: u8, time_limit: u32, session: SessionConfig) -> PlayerConfig {
    PlayerConfig {
        kind: MatchKind {
            mode: Mode::Coop,
            size,
            rules_version: RULES_VERSION,
            waves: 2,
            time_limit,
        },
        equipment: cyteria_node::node::fixed_equipment(
            cyteria_game::transcript::Equipment::starter(),
        ),
        loadout_dir: None,
        session,
        source: InputSource::Bot,
        beacon: cyteria_node::beacon::fixed(Default::default()),
    }
}

/// Every node plays one match; returns each node's report.
pub(crate) async fn play_one(nodes: &mut [Node], cfgs: &[PlayerConfig]) -> Vec<MatchReport> {
    let (_tx, rx) = watch::channel(false);
    let futs = nodes.iter_mut().zip(cfgs).map(|(n, c)| {
        let rx = rx.clone();
        async move {
            n.play_matches(c, Some(1), rx)
                .await
                .pop()
                .expect("one report")
        }
    });
    let all = futures::future::join_all(futs);
    tokio::time::timeout(Duration::from_secs(240), all)
        .await
        .expect("matches finish in time")
}

/// The checks every finished match must pass.
pub(crate) fn assert_finished_and_verified(reports: &[MatchReport], nodes: &[Node]) -> Transcript {
    for r in reports {
        assert_eq!(r.ending, Ending::Finished, "{r:?}");
        assert_eq!(r.desyncs, 0);
        assert_eq!(r.evidence, 0);
        assert_eq!(
            r.rejected_checkpoints, 0,
            "an honest peer's checkpoint was rejected"
        );
    }
    let checksum = reports[0].final_checksum.clone().expect("a checksum");
    assert!(
        reports
            .iter()
            .all(|r| r.final_checksum.as_ref() == Some(&checksum)),
        "final checksums differ"
    );
    assert!(reports.iter().all(|r| r.match_id == reports[0].match_id));
    let t = reports[0].transcript.clone().expect("a transcript");
    let outcome = t
        .verify()
        .expect("the core's verify accepts the transcript");
    assert!(outcome.end.is_some(), "the match ran to its end");
    verify_transcript_signatures(&t.header, &t.inputs, &t.checkpoints)
        .expect("every signature holds");
    assert_eq!(
        t.ends.iter().flatten().count(),
        t.header.players.len(),
        "every seat signed the end"
    );
    cyteria_node::verifier::verify_transcript(&t.encode())
        .expect("a validator accepts the transcript, end record and all");
    for (n, r) in nodes.iter().zip(reports) {
        let stored = n
            .ctx
            .store
            .transcript(&t.header.match_id)
            .unwrap()
            .expect("stored in sled");
        assert_eq!(Some(&stored), r.transcript.as_ref());
        assert_eq!(stored, t, "every node holds the same transcript");
    }
    t
}

/// A minimal HTTP/1.0 GET: (status, content type, body).
#[allow(dead_code)] // used by the content and chain test binaries, not by the matches
pub(crate) async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String, Vec<u8>) {
    http_get_as(addr, path, &addr.to_string()).await
}

/// As [`http_get`], naming `host` in the `Host` header.
pub(crate) async fn http_get_as(
    addr: std::net::SocketAddr,
    path: &str,
    host: &str,
) -> (u16, String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = vec![];
    s.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let ctype = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (status, ctype, raw[split + 4..].to_vec())
}
