//! How this node reaches each peer now: the remote address of every open
//! connection, kept by the behaviour as connections open and close, read
//! by the match (which reports whether it played direct or through a relay)
//! and by `cyteria doctor`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use libp2p::core::ConnectedPoint;
use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};

/// How a peer is reached over the connections open to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Path {
    /// Only over direct connections (dialed, accepted or hole-punched).
    Direct,
    /// Only through relays' circuits.
    Relayed,
    /// Both: a circuit and a direct connection (a hole punch that just
    /// succeeded, before the circuit idles out).
    DirectAndRelayed,
    /// No connection open.
    None,
}

impl Path {
    /// The path of a set of connections, each relayed or not.
    pub fn of(relayed_each: impl IntoIterator<Item = bool>) -> Path {
        let (mut direct, mut relayed) = (false, false);
        for r in relayed_each {
            if r {
                relayed = true;
            } else {
                direct = true;
            }
        }
        match (direct, relayed) {
            (true, false) => Path::Direct,
            (false, true) => Path::Relayed,
            (true, true) => Path::DirectAndRelayed,
            (false, false) => Path::None,
        }
    }

    /// Its name in logs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Path::Direct => "direct",
            Path::Relayed => "relayed",
            Path::DirectAndRelayed => "direct_and_relayed",
            Path::None => "none",
        }
    }
}

/// One open connection: the peer's address, and whether it is a circuit.
#[derive(Clone, Debug)]
struct Link {
    remote: Multiaddr,
    relayed: bool,
}

type Table = BTreeMap<PeerId, BTreeMap<ConnectionId, Link>>;

/// The transport an address names: QUIC (over UDP) or TCP.
fn transport_of(a: &Multiaddr) -> Option<&'static str> {
    use libp2p::multiaddr::Protocol;
    a.iter().find_map(|p| match p {
        Protocol::QuicV1 | Protocol::Quic => Some("quic"),
        Protocol::Tcp(_) => Some("tcp"),
        _ => None,
    })
}

/// The open connections, by peer. Shared between the behaviour (which
/// writes it) and the node's handle.
#[derive(Clone, Debug, Default)]
pub struct Links(Arc<Mutex<Table>>);

impl Links {
    /// Records connection `id` to `peer`. A circuit is told by the address
    /// this node dialed or, for one it accepted, the relay address it
    /// listened on (`ConnectedPoint::is_relayed`): the accepting side's
    /// send-back address names no circuit.
    pub(crate) fn opened(&self, peer: PeerId, id: ConnectionId, endpoint: &ConnectedPoint) {
        let link = Link {
            remote: endpoint.get_remote_address().clone(),
            relayed: endpoint.is_relayed(),
        };
        self.lock().entry(peer).or_default().insert(id, link);
    }

    pub(crate) fn closed(&self, peer: &PeerId, id: &ConnectionId) {
        let mut map = self.lock();
        if let Some(conns) = map.get_mut(peer) {
            conns.remove(id);
            if conns.is_empty() {
                map.remove(peer);
            }
        }
    }

    /// `peer`'s circuits, when a direct connection to it is open too (a
    /// hole punch that succeeded): the node closes them, so that streams,
    /// which libp2p opens on any of a peer's connections at random, take
    /// the direct one.
    pub(crate) fn redundant_circuits(&self, peer: &PeerId) -> Vec<ConnectionId> {
        let map = self.lock();
        let Some(conns) = map.get(peer) else {
            return vec![];
        };
        if conns.values().all(|l| l.relayed) {
            return vec![];
        }
        conns
            .iter()
            .filter(|(_, l)| l.relayed)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The transports of the direct connections open to `peer` ("tcp",
    /// "quic"), each once, in order; empty when there is none.
    pub fn direct_transports(&self, peer: &PeerId) -> Vec<&'static str> {
        let map = self.lock();
        let mut out: Vec<&'static str> = map
            .get(peer)
            .into_iter()
            .flat_map(|c| c.values())
            .filter(|l| !l.relayed)
            .filter_map(|l| transport_of(&l.remote))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// How `peer` is reached now.
    pub fn path(&self, peer: &PeerId) -> Path {
        self.lock()
            .get(peer)
            .map_or(Path::None, |c| Path::of(c.values().map(|l| l.relayed)))
    }

    /// The remote addresses of the connections open to `peer`.
    pub fn addresses(&self, peer: &PeerId) -> Vec<Multiaddr> {
        self.lock()
            .get(peer)
            .map(|c| c.values().map(|l| l.remote.clone()).collect())
            .unwrap_or_default()
    }

    /// Every connected peer and how it is reached.
    pub fn all(&self) -> Vec<(PeerId, Path)> {
        self.lock()
            .iter()
            .map(|(p, c)| (*p, Path::of(c.values().map(|l| l.relayed))))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::core::Endpoint;
    use libp2p::core::transport::PortUse;

    fn addr(s: &str) -> Multiaddr {
        s.parse().unwrap()
    }

    const CIRCUIT: &str = "/ip4/7.0.0.2/tcp/4001/p2p/12D3KooWPgoJEg4BanozsV2voZ1hePgoEiASJ1Yh54SQzjWLa42G/p2p-circuit";

    fn dialed(a: &str) -> ConnectedPoint {
        ConnectedPoint::Dialer {
            address: addr(a),
            role_override: Endpoint::Dialer,
            port_use: PortUse::Reuse,
        }
    }

    #[test]
    fn a_circuit_is_relayed_from_either_end_and_a_dialed_address_direct() {
        let links = Links::default();
        let (dialer, acceptor) = (PeerId::random(), PeerId::random());
        links.opened(dialer, ConnectionId::new_unchecked(1), &dialed(CIRCUIT));
        // The side that accepted through its reservation: its send-back
        // address names no circuit, its listen address does.
        let accepted = ConnectedPoint::Listener {
            local_addr: addr(CIRCUIT),
            send_back_addr: addr("/p2p/12D3KooWPgoJEg4BanozsV2voZ1hePgoEiASJ1Yh54SQzjWLa42G"),
        };
        links.opened(acceptor, ConnectionId::new_unchecked(2), &accepted);
        assert_eq!(links.path(&dialer), Path::Relayed);
        assert_eq!(links.path(&acceptor), Path::Relayed);
        assert_eq!(Path::of([false]), Path::Direct);
        assert_eq!(Path::of([true, false]), Path::DirectAndRelayed);
        assert_eq!(Path::of([]), Path::None);
    }

    #[test]
    fn links_follow_connections_opening_and_closing() {
        let links = Links::default();
        let peer = PeerId::random();
        let (a, b) = (
            ConnectionId::new_unchecked(1),
            ConnectionId::new_unchecked(2),
        );
        links.opened(peer, a, &dialed(CIRCUIT));
        assert_eq!(links.path(&peer), Path::Relayed);
        assert!(
            links.redundant_circuits(&peer).is_empty(),
            "a circuit is all there is to this peer"
        );
        assert!(
            links.direct_transports(&peer).is_empty(),
            "a circuit is no transport"
        );
        links.opened(peer, b, &dialed("/ip4/7.0.0.12/tcp/43441"));
        assert_eq!(links.path(&peer), Path::DirectAndRelayed);
        assert_eq!(links.direct_transports(&peer), ["tcp"]);
        let c = ConnectionId::new_unchecked(3);
        links.opened(peer, c, &dialed("/ip4/7.0.0.12/udp/43441/quic-v1"));
        assert_eq!(links.direct_transports(&peer), ["quic", "tcp"]);
        links.closed(&peer, &c);
        assert_eq!(links.addresses(&peer).len(), 2);
        assert_eq!(links.redundant_circuits(&peer), vec![a], "the circuit goes");
        links.closed(&peer, &a);
        assert_eq!(links.path(&peer), Path::Direct);
        assert!(links.redundant_circuits(&peer).is_empty());
        links.closed(&peer, &b);
        assert_eq!(links.path(&peer), Path::None);
        assert!(links.all().is_empty(), "no entry is left for a gone peer");
    }
}
