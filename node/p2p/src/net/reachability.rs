//! Whether others can dial this node, as AutoNAT v2 finds it: the client
//! asks an AutoNAT server (a bootstrap node) to dial one of its candidate
//! addresses back and to send a nonce over that new connection, so a server
//! cannot call an address reachable that it did not reach (unless it
//! reaches the node another way: see [`Reachability::confirmed_by_any`]).
//! A player that a bootstrap node confirmed this way needs no relay circuit.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use libp2p::{Multiaddr, PeerId};

/// One address's latest probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// Whether the server reached this node at the address.
    pub reachable: bool,
    /// The AutoNAT server that tested it.
    pub server: PeerId,
    /// When.
    pub at: Instant,
}

/// The probes' results by address, shared between the swarm and the
/// node's tasks (the relay keeper, `cyteria doctor`).
#[derive(Clone, Debug, Default)]
pub struct Reachability(Arc<Mutex<BTreeMap<Multiaddr, Probe>>>);

impl Reachability {
    /// Records a probe of `addr` by `server`. Returns whether the address
    /// changed its standing (first seen reachable, or no longer so).
    pub fn record(&self, addr: Multiaddr, server: PeerId, reachable: bool) -> bool {
        let mut m = self.lock();
        let before = m.get(&addr).map(|p| p.reachable);
        m.insert(
            addr,
            Probe {
                reachable,
                server,
                at: Instant::now(),
            },
        );
        before != Some(reachable) && (reachable || before == Some(true))
    }

    /// The addresses confirmed reachable, with the server that confirmed each.
    pub fn public(&self) -> Vec<(Multiaddr, PeerId)> {
        self.lock()
            .iter()
            .filter(|(_, p)| p.reachable)
            .map(|(a, p)| (a.clone(), p.server))
            .collect()
    }

    /// Whether one of `trusted` (the node's bootstrap nodes) confirmed an
    /// address of this node reachable within `within`. Any peer may run an
    /// AutoNAT server, and a hostile one can fake a dial-back (it knows the
    /// nonce, and can reach the node through its own relay circuit), so only
    /// the bootstrap nodes' word counts for giving circuits up; and a
    /// confirmation ages, because libp2p never tests a confirmed address
    /// again (an IP that changed would otherwise leave the node without
    /// circuits for good).
    pub fn confirmed_by_any(&self, trusted: &[PeerId], within: std::time::Duration) -> bool {
        self.lock()
            .values()
            .any(|p| p.reachable && trusted.contains(&p.server) && p.at.elapsed() < within)
    }

    /// Every probe so far.
    pub fn probes(&self) -> Vec<(Multiaddr, Probe)> {
        self.lock()
            .iter()
            .map(|(a, p)| (a.clone(), p.clone()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Multiaddr, Probe>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_public_once_a_probe_reached_it_and_not_after_one_failed() {
        let r = Reachability::default();
        let (a, s) = (
            "/ip4/7.0.0.9/tcp/4001".parse::<Multiaddr>().unwrap(),
            PeerId::random(),
        );
        let hour = std::time::Duration::from_secs(3600);
        assert!(!r.confirmed_by_any(&[s], hour));
        assert!(
            !r.record(a.clone(), s, false),
            "unreachable from the start: no news"
        );
        assert!(!r.confirmed_by_any(&[s], hour));
        assert!(r.record(a.clone(), s, true), "newly reachable");
        assert!(!r.record(a.clone(), s, true), "still reachable: no news");
        assert_eq!(r.public(), [(a.clone(), s)]);
        assert!(r.confirmed_by_any(&[s], hour));
        // Another peer's word does not count, nor an old confirmation.
        assert!(!r.confirmed_by_any(&[PeerId::random()], hour));
        assert!(!r.confirmed_by_any(&[s], std::time::Duration::ZERO));
        assert!(r.record(a.clone(), s, false), "no longer reachable");
        assert!(!r.confirmed_by_any(&[s], hour));
        assert_eq!(r.probes().len(), 1);
    }
}
