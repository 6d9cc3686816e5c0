//! Reaching nodes: bootstrap nodes named by DNS, and a player reached only
//! through the circuit it reserved on a relay (as a player behind NAT is).

use std::time::Duration;

use cyteria_node::net::{NetConfig, Role};
use cyteria_node::node::Node;
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

use crate::common::*;

async fn bootstrap_node() -> Node {
    let mut cfg = NetConfig::loopback(Role::Bootstrap);
    cfg.listen = listen(Transport::Tcp);
    Node::builder(cfg).start().await.unwrap()
}

/// A TCP address of `n`, with its peer id.
async fn tcp_address(n: &Node) -> Multiaddr {
    n.net()
        .addresses()
        .await
        .into_iter()
        .find(|a| a.iter().any(|p| matches!(p, Protocol::Tcp(_))))
        .expect("a TCP listener")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bootstrap_node_named_by_dns_is_dialed() {
    let boot = bootstrap_node().await;
    let named: Multiaddr = tcp_address(&boot)
        .await
        .iter()
        .map(|p| match p {
            Protocol::Ip4(_) => Protocol::Dns4("localhost".into()),
            p => p,
        })
        .collect();
    assert!(
        named.to_string().starts_with("/dns4/localhost/tcp/"),
        "{named}"
    );
    let mut cfg = NetConfig::loopback(Role::Player);
    cfg.listen = listen(Transport::Tcp);
    cfg.bootstrap = vec![named];
    let player = Node::builder(cfg).start().await.unwrap();
    assert!(
        player.net().connected().await.contains(&boot.net().peer_id),
        "the player reached the bootstrap node by its name"
    );
    player.ctx.net.clone().stop().await;
    boot.ctx.net.clone().stop().await;
}

/// A player reserves a circuit on a bootstrap node's relay; another, who
/// knows none of its direct addresses, reaches it through the circuit.
/// libp2p's relay refuses a reservation when the relay has no confirmed
/// address of its own (the bootstrap node now confirms its listeners).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_is_reached_through_the_circuit_it_reserved_on_a_relay() {
    let relay = bootstrap_node().await;
    let relay_addr = tcp_address(&relay).await;
    let mut cfg = NetConfig::loopback(Role::Player);
    cfg.listen = listen(Transport::Tcp);
    cfg.bootstrap = vec![relay_addr.clone()];
    let hidden = Node::builder(cfg).start().await.unwrap();
    let circuits = hidden
        .net()
        .reserve_relay(relay_addr.clone())
        .await
        .expect("the relay grants a reservation");
    let circuit = circuits
        .into_iter()
        .find(|a| a.iter().any(|p| p == Protocol::P2pCircuit))
        .expect("a /p2p-circuit address");
    let circuit = if matches!(circuit.iter().last(), Some(Protocol::P2p(_))) {
        circuit
    } else {
        circuit.with(Protocol::P2p(hidden.net().peer_id))
    };
    // A stranger that knows only the circuit address.
    let mut cfg = NetConfig::loopback(Role::Player);
    cfg.listen = listen(Transport::Tcp);
    let stranger = Node::builder(cfg).start().await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(20),
        stranger.net().ipfs.connect(circuit.clone()),
    )
    .await
    .expect("dialed in time")
    .unwrap_or_else(|e| panic!("dialing {circuit}: {e}"));
    assert!(
        stranger
            .net()
            .connected()
            .await
            .contains(&hidden.net().peer_id),
        "connected through the relay"
    );
    for n in [stranger, hidden, relay] {
        n.ctx.net.clone().stop().await;
    }
}

/// The relay restarts (same identity, same port): the player's circuit
/// through it closes with the connection, and the player reserves again on
/// its own, so it stays reachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_reserves_again_when_its_relay_restarts() {
    use cyteria_node::identity::Identity;
    let id = Identity::generate();
    let relay_node = |listen: Vec<Multiaddr>, id: Identity| async move {
        let mut cfg = NetConfig::loopback(Role::Bootstrap);
        cfg.listen = listen;
        Node::builder(cfg).identity(id).start().await.unwrap()
    };
    let relay = relay_node(listen(Transport::Tcp), id.clone()).await;
    let relay_addr = tcp_address(&relay).await;
    let relay_id = relay.net().peer_id;
    let mut cfg = NetConfig::loopback(Role::Player);
    cfg.listen = listen(Transport::Tcp);
    cfg.bootstrap = vec![relay_addr.clone()];
    let player = Node::builder(cfg).start().await.unwrap();
    let _keeping = player.net().keep_reservations(vec![relay_addr.clone()]);
    let circuit_up = || async {
        player
            .net()
            .ipfs
            .listening_addresses()
            .await
            .unwrap_or_default()
            .iter()
            .any(|a| {
                a.iter().any(|p| p == Protocol::P2pCircuit)
                    && a.iter().any(|p| p == Protocol::P2p(relay_id))
            })
    };
    let until = async |what: &str, up: bool| {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while circuit_up().await != up {
            assert!(tokio::time::Instant::now() < deadline, "{what}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    until("the first reservation", true).await;
    relay.ctx.net.clone().stop().await;
    until("the circuit closes with the relay", false).await;
    let bare: Multiaddr = relay_addr
        .iter()
        .filter(|p| !matches!(p, Protocol::P2p(_)))
        .collect();
    let relay = relay_node(vec![bare], id).await;
    until("the player reserves again", true).await;
    for n in [player, relay] {
        n.ctx.net.clone().stop().await;
    }
}
