use cyteria_node::conditioner::LinkConditions;
use cyteria_node::session::SessionConfig;

use crate::common::*;

fn fast() -> SessionConfig {
    SessionConfig {
        tick_hz: 120,
        disconnect_timeout_ms: 5_000,
        sync_timeout_ms: 40_000,
        ..Default::default()
    }
}

async fn match_of(n: usize, t: Transport) {
    let mut nodes = nodes(n, t).await;
    let cfgs = vec![player(n as u8, 1_200, fast()); n];
    let reports = play_one(&mut nodes, &cfgs).await;
    let transcript = assert_finished_and_verified(&reports, &nodes);
    assert_eq!(transcript.header.players.len(), n);
    for node in nodes {
        node.ctx.net.clone().stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_over_tcp_play_a_bot_match_to_the_end() {
    match_of(2, Transport::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_over_quic_play_a_bot_match_to_the_end() {
    match_of(2, Transport::Quic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_nodes_over_tcp_play_a_bot_match_to_the_end() {
    match_of(4, Transport::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_nodes_over_quic_play_a_bot_match_to_the_end() {
    match_of(4, Transport::Quic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_match_survives_100ms_rtt_20ms_jitter_and_5_percent_loss() {
    let link = LinkConditions {
        rtt_ms: 100,
        jitter_ms: 20,
        loss: 0.05,
    };
    let session = SessionConfig {
        link,
        input_delay: 3,
        disconnect_timeout_ms: 5_000,
        sync_timeout_ms: 40_000,
        ..Default::default()
    };
    let mut nodes = nodes(2, Transport::Tcp).await;
    let reports = play_one(&mut nodes, &vec![player(2, 900, session); 2]).await;
    assert_finished_and_verified(&reports, &nodes);
    assert!(
        reports.iter().all(|r| r.rollbacks > 0),
        "a lossy, slow link causes rollbacks: {reports:?}"
    );
}
