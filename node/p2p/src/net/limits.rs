//! How much each peer may send: a rate (per second) and a burst on every
//! gossip topic (keyed by the message's signed author) and on rollback
//! streams (keyed by the sending peer). What is over the limit is dropped
//! before it is decoded, and costs the sender [`Misbehaviour::RateLimited`].
//! The `[limits]` section of the config file sets them.
//!
//! [`Misbehaviour::RateLimited`]: super::Misbehaviour::RateLimited

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota};
use libp2p::PeerId;
use serde::{Deserialize, Serialize};

/// A rate and a burst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Messages a second, sustained.
    pub per_second: u32,
    /// Messages at once after a quiet while.
    pub burst: u32,
}

impl Rate {
    fn quota(self) -> Quota {
        let one = NonZeroU32::MIN;
        Quota::per_second(NonZeroU32::new(self.per_second).unwrap_or(one))
            .allow_burst(NonZeroU32::new(self.burst).unwrap_or(one))
    }
}

/// The `[limits]` section: what one peer may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Lobby messages an author may publish (an offer a second while it
    /// searches, an accept a group).
    pub lobby: Rate,
    /// Transcript announcements an author may publish (one a match, and
    /// its re-announcements when peers join).
    pub transcripts: Rate,
    /// Actions, bindings and evidence an author may publish.
    pub actions: Rate,
    /// Batch attestations an author may publish (a validator's, and their
    /// republication every few seconds).
    pub batches: Rate,
    /// Rollback frames a player may send (ggrs at 60 to 120 ticks a
    /// second sends inputs, acknowledgements and reports to each peer).
    pub rollback: Rate,
    /// Connections one IP address may hold with this node (loopback is
    /// not limited: devnets and tests run there).
    pub connections_per_ip: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            lobby: Rate {
                per_second: 10,
                burst: 40,
            },
            transcripts: Rate {
                per_second: 4,
                burst: 64,
            },
            actions: Rate {
                per_second: 20,
                burst: 100,
            },
            batches: Rate {
                per_second: 20,
                burst: 100,
            },
            rollback: Rate {
                per_second: 1_000,
                burst: 2_000,
            },
            connections_per_ip: 16,
        }
    }
}

/// Which limit a message falls under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// The lobby topic.
    Lobby,
    /// The transcripts topic.
    Transcripts,
    /// The actions topic.
    Actions,
    /// The batches topic.
    Batches,
    /// Rollback streams.
    Rollback,
}

/// The running limiters.
pub struct Limiter {
    limits: Limits,
    lobby: DefaultKeyedRateLimiter<PeerId>,
    transcripts: DefaultKeyedRateLimiter<PeerId>,
    actions: DefaultKeyedRateLimiter<PeerId>,
    batches: DefaultKeyedRateLimiter<PeerId>,
    rollback: DefaultKeyedRateLimiter<PeerId>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("limits", &self.limits)
            .finish()
    }
}

impl Limiter {
    /// Limiters for `limits`.
    pub fn new(limits: Limits) -> Limiter {
        Limiter {
            limits,
            lobby: governor::RateLimiter::keyed(limits.lobby.quota()),
            transcripts: governor::RateLimiter::keyed(limits.transcripts.quota()),
            actions: governor::RateLimiter::keyed(limits.actions.quota()),
            batches: governor::RateLimiter::keyed(limits.batches.quota()),
            rollback: governor::RateLimiter::keyed(limits.rollback.quota()),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether `peer` may send one more message on `channel` now.
    pub fn allow(&self, channel: Channel, peer: &PeerId) -> bool {
        let l = match channel {
            Channel::Lobby => &self.lobby,
            Channel::Transcripts => &self.transcripts,
            Channel::Actions => &self.actions,
            Channel::Batches => &self.batches,
            Channel::Rollback => &self.rollback,
        };
        l.check_key(peer).is_ok()
    }

    /// Forgets peers whose allowance is full again (their state is then
    /// what a new peer's is): the limiters' memory stays with the peers
    /// that sent lately.
    pub fn forget_idle(&self) {
        for l in [
            &self.lobby,
            &self.transcripts,
            &self.actions,
            &self.batches,
            &self.rollback,
        ] {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_and_a_flood_is_cut_per_peer() {
        let l = Limiter::new(Limits::default());
        let (flooder, other) = (PeerId::random(), PeerId::random());
        let passed = (0..1_000)
            .filter(|_| l.allow(Channel::Lobby, &flooder))
            .count();
        // the burst, and what the rate refilled meanwhile
        assert!((40..=45).contains(&passed), "{passed}");
        assert!(
            l.allow(Channel::Lobby, &other),
            "another peer is not held back"
        );
        assert!(l.allow(Channel::Actions, &flooder), "nor another channel");
    }

    #[test]
    fn limits_read_from_toml() {
        let l: Limits = toml::from_str("[lobby]\nper_second = 2\nburst = 3\n").unwrap();
        assert_eq!(
            l.lobby,
            Rate {
                per_second: 2,
                burst: 3
            }
        );
        assert_eq!(l.rollback, Limits::default().rollback);
        assert!(toml::from_str::<Limits>("[lobby]\nper_second = 2\n").is_err());
    }
}
