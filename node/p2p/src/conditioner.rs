//! A seeded link conditioner: delay, jitter and loss on outgoing messages,
//! for tests and the devnet. Pure logic over an explicit clock; the rollback
//! socket drives it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg32;
use serde::{Deserialize, Serialize};

/// Conditions of one link, each direction: half the round trip each way,
/// plus up to `jitter` more, and a chance to lose each droppable message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConditions {
    /// Round-trip time added to the link, in milliseconds.
    #[serde(default)]
    pub rtt_ms: u32,
    /// Extra delay, uniform in 0..=jitter_ms, per message.
    #[serde(default)]
    pub jitter_ms: u32,
    /// Fraction (0..1) of droppable messages lost.
    #[serde(default)]
    pub loss: f64,
}

impl LinkConditions {
    /// Whether the link adds no delay, no jitter and no loss.
    pub fn is_perfect(&self) -> bool {
        self.rtt_ms == 0 && self.jitter_ms == 0 && self.loss <= 0.0
    }

    /// Checks that `loss` is in [0, 1) and that rtt and jitter are at most 10 s.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..1.0).contains(&self.loss) {
            return Err(format!("loss must be in [0, 1), not {}", self.loss));
        }
        if self.rtt_ms > 10_000 || self.jitter_ms > 10_000 {
            return Err("rtt and jitter are limited to 10 s".into());
        }
        Ok(())
    }
}

/// Messages held back until their release time.
pub struct Conditioner {
    cond: LinkConditions,
    rng: Pcg32,
    seq: u64,
    queue: BinaryHeap<Reverse<(Instant, u64, Vec<u8>)>>,
    /// How many droppable messages have been lost so far.
    pub dropped: u64,
}

impl Conditioner {
    /// An empty conditioner for `cond`, its delays and losses drawn from `seed`.
    pub fn new(cond: LinkConditions, seed: u64) -> Self {
        Self {
            cond,
            rng: Pcg32::seed_from_u64(seed),
            seq: 0,
            queue: BinaryHeap::new(),
            dropped: 0,
        }
    }

    /// Queues `msg` sent at `now`; a `droppable` message may be lost.
    pub fn push(&mut self, now: Instant, msg: Vec<u8>, droppable: bool) {
        let roll = self.rng.next_u32();
        if droppable && (roll as f64) < self.cond.loss * (u32::MAX as f64 + 1.0) {
            self.dropped += 1;
            return;
        }
        let jitter = if self.cond.jitter_ms == 0 {
            0
        } else {
            self.rng.next_u32() % (self.cond.jitter_ms * 1000 + 1)
        };
        let delay = Duration::from_micros(self.cond.rtt_ms as u64 * 500 + jitter as u64);
        self.seq += 1;
        self.queue.push(Reverse((now + delay, self.seq, msg)));
    }

    /// The next message due at `now`, earliest release first.
    pub fn pop_ready(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self
            .queue
            .peek()
            .is_some_and(|Reverse((t, _, _))| *t <= now)
        {
            return self.queue.pop().map(|Reverse((_, _, m))| m);
        }
        None
    }

    /// When the earliest queued message is due, if any is queued.
    pub fn next_release(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse((t, _, _))| *t)
    }

    /// How many messages are held back.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no message is held back.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_by_half_the_rtt_plus_jitter_and_loses_the_asked_fraction() {
        let cond = LinkConditions {
            rtt_ms: 100,
            jitter_ms: 20,
            loss: 0.05,
        };
        let mut c = Conditioner::new(cond, 7);
        let t0 = Instant::now();
        for i in 0..10_000u32 {
            c.push(t0, i.to_le_bytes().to_vec(), true);
        }
        let lost = c.dropped as f64 / 10_000.0;
        assert!((0.04..0.06).contains(&lost), "lost {lost}");
        assert!(c.pop_ready(t0 + Duration::from_millis(49)).is_none());
        let mut out = 0;
        while c.pop_ready(t0 + Duration::from_millis(70)).is_some() {
            out += 1;
        }
        assert_eq!(out as u64 + c.dropped, 10_000);
    }

    #[test]
    fn control_messages_are_never_lost_and_the_same_seed_gives_the_same_link() {
        let cond = LinkConditions {
            rtt_ms: 0,
            jitter_ms: 10,
            loss: 0.5,
        };
        let t0 = Instant::now();
        let run = |seed| {
            let mut c = Conditioner::new(cond, seed);
            for i in 0..100u8 {
                c.push(t0, vec![i], i % 2 == 0);
            }
            let mut v = vec![];
            while let Some(m) = c.pop_ready(t0 + Duration::from_secs(1)) {
                v.push(m[0]);
            }
            v
        };
        let a = run(1);
        assert_eq!(a, run(1));
        assert_ne!(a, run(2));
        assert_eq!(a.iter().filter(|m| *m % 2 == 1).count(), 50);
    }

    #[test]
    fn bad_conditions_are_refused() {
        assert!(
            LinkConditions {
                loss: 1.0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            LinkConditions {
                rtt_ms: 60_000,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            LinkConditions {
                rtt_ms: 100,
                jitter_ms: 20,
                loss: 0.05
            }
            .validate()
            .is_ok()
        );
    }
}
