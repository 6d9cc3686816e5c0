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

/// What a stranger's identify hears from a node at `addr`.
async fn identify_of(addr: Multiaddr) -> libp2p::identify::Info {
    use futures::StreamExt;
    use libp2p::identify;
    let mut stranger = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            Default::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|key| {
            identify::Behaviour::new(identify::Config::new("/stranger/0".into(), key.public()))
        })
        .unwrap()
        .build();
    stranger.dial(addr.clone()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let libp2p::swarm::SwarmEvent::Behaviour(identify::Event::Received {
                info, ..
            }) = stranger.select_next_some().await
            {
                return info;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{addr} did not identify itself"))
}

/// A node's TCP address on loopback.
async fn loopback_tcp(n: &Node) -> Multiaddr {
    n.net()
        .addresses()
        .await
        .into_iter()
        .find(|a| a.to_string().starts_with("/ip4/127.0.0.1/tcp/"))
        .expect("a TCP listener on loopback")
}

/// Identify tells peers only the addresses they can dial. A player that
/// listens on every interface tells none of them (rust-ipfs's identify
/// told loopback, the LAN's and a container's addresses, which peers then
/// dialed in vain) until AutoNAT v2 or a relay circuit gives it one; an
/// operator's declared address is told; a node on loopback alone (a
/// devnet, where everyone is on one machine) tells its loopback addresses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identify_tells_peers_only_addresses_they_can_dial() {
    let everywhere: Vec<Multiaddr> = vec!["/ip4/0.0.0.0/tcp/0".parse().unwrap()];
    let mut cfg = NetConfig::loopback(Role::Player);
    cfg.listen = everywhere.clone();
    let player = Node::builder(cfg).start().await.unwrap();
    // A wildcard listener reports its interfaces one by one.
    let mut listening = vec![];
    for _ in 0..30 {
        listening = player.net().ipfs.listening_addresses().await.unwrap();
        if listening.len() > 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if listening
        .iter()
        .all(|a| a.to_string().starts_with("/ip4/127."))
    {
        eprintln!(
            "SKIPPED: this machine has no interface but loopback, so no address to hide ({listening:?})"
        );
        return;
    }
    let told = identify_of(loopback_tcp(&player).await).await;
    assert!(
        told.listen_addrs.is_empty(),
        "a player with no confirmed address told {:?} (it listens on {listening:?})",
        told.listen_addrs
    );

    let declared: Multiaddr = "/ip4/7.7.7.7/tcp/4001".parse().unwrap();
    let mut cfg = NetConfig::loopback(Role::Player);
    cfg.listen = everywhere;
    cfg.external = vec![declared.clone()];
    let declaring = Node::builder(cfg).start().await.unwrap();
    let told = identify_of(loopback_tcp(&declaring).await).await;
    assert_eq!(told.listen_addrs, vec![declared]);

    let mut cfg = NetConfig::loopback(Role::Player);
    cfg.listen = listen(Transport::Tcp);
    let devnet = Node::builder(cfg).start().await.unwrap();
    let told = identify_of(loopback_tcp(&devnet).await).await;
    assert_eq!(
        told.listen_addrs,
        devnet.net().ipfs.listening_addresses().await.unwrap()
    );
    for n in [player, declaring, devnet] {
        n.ctx.net.clone().stop().await;
    }
}

/// A player that a bootstrap node's AutoNAT v2 server dialed back tells
/// peers that address, gives its relay circuit up and stops telling the
/// circuit. (libp2p's relay client withdraws a circuit address only when
/// the connection to the relay closes; this one stays open.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_found_reachable_stops_telling_its_circuit() {
    let relay = bootstrap_node().await;
    let relay_addr = tcp_address(&relay).await;
    let mut cfg = NetConfig::loopback(Role::Player);
    cfg.listen = vec!["/ip4/0.0.0.0/tcp/0".parse().unwrap()];
    cfg.bootstrap = vec![relay_addr.clone()];
    let player = Node::builder(cfg).start().await.unwrap();
    let _keeping = player.net().keep_reservations(vec![relay_addr]);
    let me = loopback_tcp(&player).await;
    let circuit = |a: &Multiaddr| a.iter().any(|p| p == Protocol::P2pCircuit);
    let (mut told, mut circuit_told) = (vec![], false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while tokio::time::Instant::now() < deadline {
        told = identify_of(me.clone()).await.listen_addrs;
        circuit_told |= told.iter().any(circuit);
        if !told.is_empty() && !told.iter().any(circuit) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!("the circuit was told before the player was found reachable: {circuit_told}");
    assert!(
        !told.is_empty()
            && told
                .iter()
                .all(|a| !circuit(a) && a.to_string().starts_with("/ip4/127.0.0.1/tcp/")),
        "the player tells {told:?}, not the address the relay's AutoNAT server dialed back"
    );
    for n in [player, relay] {
        n.ctx.net.clone().stop().await;
    }
}

/// Any peer can serve AutoNAT v2 and fake a dial-back (it picks the nonce,
/// and can deliver it through the player's own circuit), and the client
/// tests an address once, so only the bootstrap nodes' servers are asked.
/// An honest server that is a stranger to the player is not; a bootstrap
/// node's is, and confirms the address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_bootstrap_nodes_autonat_server_confirms_an_address() {
    let stranger = bootstrap_node().await;
    let boot = bootstrap_node().await;
    let mut cfg = NetConfig::loopback(Role::Player);
    cfg.listen = vec!["/ip4/0.0.0.0/tcp/0".parse().unwrap()];
    let player = Node::builder(cfg).start().await.unwrap();
    let me = loopback_tcp(&player).await;
    player
        .net()
        .ipfs
        .connect(tcp_address(&stranger).await)
        .await
        .unwrap();
    // Several of the client's rounds (one every 5 s) pass with the
    // stranger's server at hand.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let told = identify_of(me.clone()).await.listen_addrs;
    assert!(
        told.is_empty(),
        "a stranger's AutoNAT server confirmed {told:?}"
    );
    assert!(player.net().reachability.probes().is_empty());
    player
        .net()
        .add_bootstrap(tcp_address(&boot).await)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut told = vec![];
    while told.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        told = identify_of(me.clone()).await.listen_addrs;
    }
    assert!(
        !told.is_empty()
            && told
                .iter()
                .all(|a| a.to_string().starts_with("/ip4/127.0.0.1/tcp/")),
        "the bootstrap node's AutoNAT server confirmed nothing: {told:?}"
    );
    let by: Vec<_> = player
        .net()
        .reachability
        .public()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert!(
        by.iter().all(|p| *p == boot.net().peer_id) && !by.is_empty(),
        "{by:?}"
    );
    for n in [player, stranger, boot] {
        n.ctx.net.clone().stop().await;
    }
}
