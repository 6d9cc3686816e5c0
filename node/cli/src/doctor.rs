//! `cyteria doctor`: starts the node as `cyteria node` would, watches it for
//! a while, and tells the user in plain words whether others can reach it
//! (directly, or through which relay), which bootstrap nodes and peers it
//! reached and how, and what chain it reads.

use std::time::Duration;

use cyteria_node::cli::{self, CommonArgs, NetArgs};
use cyteria_node::net::Role;
use cyteria_node::net::addresses::is_circuit;
use cyteria_node::net::links::Path;
use cyteria_wallet::chain_args::{ChainArgs, connect_chain};
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    net: NetArgs,
    #[command(flatten)]
    chain: ChainArgs,
    /// Seconds to watch the node before answering.
    #[arg(long, default_value_t = 20)]
    wait_s: u64,
}

/// What the node found out, for the report.
pub(crate) struct Findings {
    pub listen: Vec<Multiaddr>,
    /// Addresses the network confirmed others can dial (AutoNAT v2's
    /// probes, or the operator's `external`), circuits left out.
    pub public: Vec<Multiaddr>,
    /// The AutoNAT servers that dialed this node back.
    pub confirmed_by: Vec<libp2p::PeerId>,
    /// How many of this node's addresses AutoNAT probed.
    pub probed: usize,
    /// The relays this node holds a circuit on, by their addresses.
    pub circuits: Vec<Multiaddr>,
    /// What identify tells peers: the external addresses, circuits included.
    pub advertised: Vec<Multiaddr>,
    /// Each bootstrap node and how it is reached.
    pub bootstrap: Vec<(Multiaddr, Path)>,
    /// Peers by how they are reached: direct, relayed.
    pub peers: (usize, usize),
    /// The chain, in words, or why it was not read.
    pub chain: Option<String>,
}

/// The report: one short paragraph a line, the verdict first.
pub(crate) fn report(f: &Findings) -> String {
    let mut out = vec![];
    let reached = f.bootstrap.iter().filter(|(_, p)| *p != Path::None).count();
    let probes = if f.probed == 0 {
        "no AutoNAT server dialed it back; behind NAT a probe often ends with no answer at all"
            .to_string()
    } else {
        format!(
            "AutoNAT servers could not dial it back at any of the {} address(es) they tried: it is behind NAT or a firewall",
            f.probed
        )
    };
    out.push(if !f.public.is_empty() {
        let by = if f.confirmed_by.is_empty() {
            "the address the operator declared".to_string()
        } else {
            let ids: Vec<String> = f.confirmed_by.iter().map(|p| p.to_string()).collect();
            format!("an AutoNAT server dialed it back: {}", ids.join(", "))
        };
        format!(
            "Reachable: others can dial this node directly at {} ({by}).",
            list(&f.public)
        )
    } else if !f.circuits.is_empty() {
        format!(
            "Reachable through a relay: no address of this node was confirmed dialable ({probes}), so peers reach it through its circuit on {}; matches then try to punch a direct connection.",
            list(&f.circuits)
        )
    } else {
        "Not reachable: no address was confirmed dialable and no relay holds a circuit for this node. It can still dial out, but others cannot start a match with it.".to_string()
    });
    out.push(if f.bootstrap.is_empty() {
        "No bootstrap nodes are configured: give --bootstrap or [network] bootstrap.".to_string()
    } else {
        let each: Vec<String> = f
            .bootstrap
            .iter()
            .map(|(a, p)| format!("{a} ({})", words(*p)))
            .collect();
        format!(
            "Bootstrap nodes: {reached} of {} reached: {}.",
            f.bootstrap.len(),
            each.join("; ")
        )
    });
    if !f.public.is_empty() {
        out.push(if f.circuits.is_empty() {
            "Relay circuits: none held, and none needed.".to_string()
        } else {
            format!(
                "Relay circuits: still held on {} (a node found reachable gives them up within {} s).",
                list(&f.circuits),
                cyteria_node::net::RESERVATION_CHECK.as_secs()
            )
        });
    }
    out.push(format!(
        "Peers: {} connected, {} directly and {} through relays.",
        f.peers.0 + f.peers.1,
        f.peers.0,
        f.peers.1
    ));
    out.push(format!(
        "Listening on {}. Peers are told of {} (no other address).",
        list(&f.listen),
        list(&f.advertised)
    ));
    out.push(
        f.chain
            .clone()
            .unwrap_or_else(|| "Chain: none configured (give --network, or --rpc and --deployment, or [chain]); matches would earn nothing.".into()),
    );
    out.join("\n")
}

fn words(p: Path) -> &'static str {
    match p {
        Path::Direct => "connected directly",
        Path::Relayed => "connected through a relay",
        Path::DirectAndRelayed => "connected directly and through a relay",
        Path::None => "not connected",
    }
}

fn list(addrs: &[Multiaddr]) -> String {
    if addrs.is_empty() {
        return "nothing".into();
    }
    addrs
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The relay part of a circuit address (what comes before `/p2p-circuit`).
fn relay_of(a: &Multiaddr) -> Option<Multiaddr> {
    let mut relay = Multiaddr::empty();
    for p in a.iter() {
        if matches!(p, Protocol::P2pCircuit) {
            return Some(relay);
        }
        relay.push(p);
    }
    None
}

fn peer_of(a: &Multiaddr) -> Option<libp2p::PeerId> {
    a.iter().find_map(|p| match p {
        Protocol::P2p(id) => Some(id),
        _ => None,
    })
}

pub(crate) async fn run(common: &CommonArgs, a: Args) -> anyhow::Result<()> {
    let file = common.file()?;
    let boot = cli::bootstrap_addresses(&file, &a.net)?;
    let (node, _) = cli::start_with(common, &a.net, Role::Player, false).await?;
    let _relays = cli::keep_relays(&node, &file, &a.net)?.map(cli::AbortOnDrop);
    let chain = if a.chain.rpc.is_some() || file.chain.rpc.is_some() {
        Some(match connect_chain(&file, &a.chain).await {
            Ok(c) => match (c.head().await, c.settled_epoch().await) {
                (Ok(head), Ok(epoch)) => format!(
                    "Chain: {}id {}, block {}, settled epoch {epoch}, settlement contract {}.",
                    file.network_name
                        .as_deref()
                        .map_or(String::new(), |n| format!("the network {n}, ")),
                    c.chain_id,
                    head.block,
                    c.deployment.settlement
                ),
                (Err(e), _) | (_, Err(e)) => {
                    format!("Chain: connected, but reading it failed: {e:#}.")
                }
            },
            Err(e) => format!("Chain: not reached: {e:#}."),
        })
    } else {
        None
    };
    eprintln!("watching the node for {} s…", a.wait_s);
    tokio::time::sleep(Duration::from_secs(a.wait_s)).await;
    let net = node.net();
    let listen = net.ipfs.listening_addresses().await.unwrap_or_default();
    let (circuits, listen): (Vec<_>, Vec<_>) = listen.into_iter().partition(is_circuit);
    let advertised = net.ipfs.external_addresses().await.unwrap_or_default();
    let public = advertised
        .iter()
        .filter(|a| !is_circuit(a))
        .cloned()
        .collect();
    let mut relays: Vec<Multiaddr> = circuits.iter().filter_map(relay_of).collect();
    relays.sort();
    relays.dedup();
    let bootstrap = boot
        .iter()
        .map(|b| {
            let path = peer_of(b).map_or(Path::None, |p| net.links.path(&p));
            (b.clone(), path)
        })
        .collect();
    let all = net.links.all();
    let direct = all
        .iter()
        .filter(|(_, p)| matches!(p, Path::Direct | Path::DirectAndRelayed))
        .count();
    let probes = net.reachability.probes();
    let mut confirmed_by: Vec<libp2p::PeerId> = net
        .reachability
        .public()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    confirmed_by.sort();
    confirmed_by.dedup();
    let findings = Findings {
        listen,
        public,
        confirmed_by,
        probed: probes.len(),
        circuits: relays,
        advertised,
        bootstrap,
        peers: (direct, all.len() - direct),
        chain,
    };
    println!("{}", report(&findings));
    node.net().clone().stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Multiaddr {
        s.parse().unwrap()
    }

    const RELAY: &str =
        "/ip4/7.0.0.2/tcp/4001/p2p/12D3KooWPgoJEg4BanozsV2voZ1hePgoEiASJ1Yh54SQzjWLa42G";

    fn findings() -> Findings {
        Findings {
            listen: vec![addr("/ip4/192.168.1.2/tcp/4001")],
            public: vec![],
            confirmed_by: vec![],
            probed: 0,
            circuits: vec![],
            advertised: vec![],
            bootstrap: vec![(addr(RELAY), Path::Direct)],
            peers: (1, 0),
            chain: None,
        }
    }

    #[test]
    fn the_verdict_comes_first_and_names_the_relay_or_the_address() {
        let mut f = findings();
        assert!(report(&f).starts_with("Not reachable"));
        assert!(
            report(&f)
                .contains("Listening on /ip4/192.168.1.2/tcp/4001. Peers are told of nothing"),
            "{}",
            report(&f)
        );
        f.circuits = vec![relay_of(&addr(&format!("{RELAY}/p2p-circuit"))).unwrap()];
        let r = report(&f);
        assert!(r.starts_with("Reachable through a relay"), "{r}");
        assert!(r.contains(RELAY), "{r}");
        assert!(r.contains("no AutoNAT server dialed it back"), "{r}");
        f.probed = 2;
        assert!(report(&f).contains("at any of the 2 address(es)"));
        f.public = vec![addr("/ip4/7.0.0.20/tcp/4001")];
        f.advertised = f.public.clone();
        let r = report(&f);
        assert!(
            r.contains("Peers are told of /ip4/7.0.0.20/tcp/4001 (no other address)."),
            "{r}"
        );
        assert!(
            r.starts_with(
                "Reachable: others can dial this node directly at /ip4/7.0.0.20/tcp/4001 (the address the operator declared)"
            ),
            "{r}"
        );
        assert!(r.contains("Relay circuits: still held on"), "{r}");
        let server = libp2p::PeerId::random();
        f.confirmed_by = vec![server];
        f.circuits.clear();
        let r = report(&f);
        assert!(
            r.contains(&format!("an AutoNAT server dialed it back: {server}")),
            "{r}"
        );
        assert!(
            r.contains("Relay circuits: none held, and none needed."),
            "{r}"
        );
        assert!(r.contains("1 of 1 reached"), "{r}");
        assert!(r.contains("Chain: none configured"), "{r}");
    }
}
