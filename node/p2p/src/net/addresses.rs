//! What kind of address a multiaddr is: one the Internet can dial, a
//! loopback one, a relay circuit (and through which relay).

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

/// Whether `a` names an IP address others on the Internet could dial: not
/// loopback, private, link-local, shared (carrier NAT) or unspecified.
pub fn is_routable(a: &Multiaddr) -> bool {
    match a.iter().next() {
        Some(Protocol::Ip4(ip)) => {
            let [a, b, ..] = ip.octets();
            !(ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || (a == 100 && (64..128).contains(&b)))
        }
        Some(Protocol::Ip6(ip)) => {
            let first = ip.segments()[0];
            !(ip.is_loopback()
                || ip.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
        _ => false,
    }
}

/// Whether `a` is a loopback address.
pub fn is_loopback(a: &Multiaddr) -> bool {
    match a.iter().next() {
        Some(Protocol::Ip4(ip)) => ip.is_loopback(),
        Some(Protocol::Ip6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// The relay of a circuit address (the peer named before `/p2p-circuit`);
/// `None` for a direct address.
pub fn relay_of_circuit(a: &Multiaddr) -> Option<PeerId> {
    let mut relay = None;
    for p in a.iter() {
        match p {
            Protocol::P2p(id) => relay = Some(id),
            Protocol::P2pCircuit => return relay,
            _ => {}
        }
    }
    None
}

/// Whether `a` is a relay circuit address.
pub fn is_circuit(a: &Multiaddr) -> bool {
    a.iter().any(|p| p == Protocol::P2pCircuit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ma(s: &str) -> Multiaddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_addresses_the_internet_can_dial_are_handed_to_players() {
        for a in [
            "/ip4/127.0.0.1/tcp/1",
            "/ip4/10.1.2.3/tcp/1",
            "/ip4/172.17.0.1/tcp/1",
            "/ip4/192.168.1.9/udp/1/quic-v1",
            "/ip4/169.254.0.1/tcp/1",
            "/ip4/100.64.0.1/tcp/1",
            "/ip4/0.0.0.0/tcp/1",
            "/ip6/::1/tcp/1",
            "/ip6/fe80::1/tcp/1",
            "/ip6/fd00::1/tcp/1",
            "/dns4/boot.example/tcp/1",
        ] {
            assert!(!is_routable(&ma(a)), "{a}");
        }
        for a in [
            "/ip4/203.0.113.7/tcp/4001",
            "/ip4/8.8.8.8/udp/1/quic-v1",
            "/ip6/2001:db8::7/tcp/1",
        ] {
            assert!(is_routable(&ma(a)), "{a}");
        }
    }

    #[test]
    fn a_circuit_names_its_relay() {
        let r = PeerId::random();
        let me = PeerId::random();
        let circuit = ma(&format!(
            "/ip4/203.0.113.7/tcp/4001/p2p/{r}/p2p-circuit/p2p/{me}"
        ));
        assert_eq!(relay_of_circuit(&circuit), Some(r));
        assert!(is_circuit(&circuit));
        let direct = ma(&format!("/ip4/203.0.113.7/tcp/4001/p2p/{r}"));
        assert_eq!(relay_of_circuit(&direct), None, "a direct address");
        assert!(!is_circuit(&direct));
    }
}
