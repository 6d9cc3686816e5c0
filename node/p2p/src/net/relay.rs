//! A bootstrap node's relay v2 server: its limits (the `[relay]` section)
//! and the libp2p configuration they make.

use std::time::Duration;

/// Relay v2 server limits of a bootstrap node (the `[relay]` section).
///
/// A relayed circuit must carry a whole match: when hole punching fails,
/// the players' rollback traffic, checkpoints, gossip and the transcript's
/// blocks all cross it. libp2p's defaults (two minutes and 128 KiB a
/// circuit) cut a match off after seconds; Cyteria's cover the longest
/// match (30 minutes) with room, and 64 MiB (a 2-player match sends about
/// 3.4 kB/s each way, 12 MB in 30 minutes, and its transcript is at most
/// 4 MiB). What a relay spends is bounded by the number of circuits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayLimits {
    /// Most reservations held at once (default 256).
    pub max_reservations: usize,
    /// Most reservations one peer may hold (default 4).
    pub max_reservations_per_peer: usize,
    /// Most circuits relayed at once (default 64).
    pub max_circuits: usize,
    /// Most circuits relayed for one peer (default 4).
    pub max_circuits_per_peer: usize,
    /// How long one circuit may last, in seconds (default 1 920: the
    /// longest match and two minutes).
    pub max_circuit_seconds: u64,
    /// How many bytes one circuit may carry (default 64 MiB).
    pub max_circuit_bytes: u64,
    /// How long a reservation lasts before the player renews it, in seconds
    /// (default 3 600).
    pub reservation_seconds: u64,
}

impl Default for RelayLimits {
    fn default() -> Self {
        let longest_match = u64::from(cyteria_game::rules::MAX_MATCH_FRAMES)
            .div_ceil(u64::from(cyteria_game::rules::TICK_RATE));
        Self {
            max_reservations: 256,
            max_reservations_per_peer: 4,
            max_circuits: 64,
            max_circuits_per_peer: 4,
            max_circuit_seconds: longest_match + 120,
            max_circuit_bytes: 64 << 20,
            reservation_seconds: 3600,
        }
    }
}

impl RelayLimits {
    /// The relay server's configuration, with Cyteria's rate limits:
    /// reservations, 30 a peer every 2 minutes and 60 an IP a minute
    /// (libp2p's defaults; with none, one peer could ask a thousand times a
    /// second); circuits, which may last a match (32 minutes) and so are
    /// worth more than libp2p's two-minute ones, 8 a peer and 16 an IP
    /// every ten minutes (a player opens one a match, a household a few),
    /// so that one machine with throwaway peer ids cannot take all 64 for
    /// half an hour.
    pub(crate) fn server_config(&self) -> libp2p::relay::Config {
        use std::num::NonZeroU32;
        let n = |v: u32| NonZeroU32::new(v).expect("non-zero");
        libp2p::relay::Config {
            max_reservations: self.max_reservations,
            max_reservations_per_peer: self.max_reservations_per_peer,
            reservation_duration: Duration::from_secs(self.reservation_seconds.max(60)),
            reservation_rate_limiters: vec![],
            max_circuits: self.max_circuits,
            max_circuits_per_peer: self.max_circuits_per_peer,
            max_circuit_duration: Duration::from_secs(self.max_circuit_seconds.max(1)),
            max_circuit_bytes: self.max_circuit_bytes.max(1),
            circuit_src_rate_limiters: vec![],
        }
        .reservation_rate_per_peer(n(30), Duration::from_secs(120))
        .reservation_rate_per_ip(n(60), Duration::from_secs(60))
        .circuit_src_per_peer(n(8), Duration::from_secs(600))
        .circuit_src_per_ip(n(16), Duration::from_secs(600))
    }

    /// Each limit by name, for the metrics.
    pub fn named(&self) -> [(&'static str, u64); 7] {
        [
            ("max_reservations", self.max_reservations as u64),
            (
                "max_reservations_per_peer",
                self.max_reservations_per_peer as u64,
            ),
            ("max_circuits", self.max_circuits as u64),
            ("max_circuits_per_peer", self.max_circuits_per_peer as u64),
            ("max_circuit_seconds", self.max_circuit_seconds),
            ("max_circuit_bytes", self.max_circuit_bytes),
            ("reservation_seconds", self.reservation_seconds),
        ]
    }
}
