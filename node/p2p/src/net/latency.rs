//! Gossip delivery latency, measured where every node shares one clock: the
//! devnet runs all its nodes in one process, so the time from a message's
//! publication on one swarm to its delivery on each other swarm can be read
//! off one monotonic clock without putting timestamps on the wire (which a
//! peer could forge, and which clocks on different machines would skew).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libp2p::gossipsub::{MessageId, TopicHash};

/// Publications are forgotten after this long; later deliveries are not counted.
const HORIZON: Duration = Duration::from_secs(120);

/// One delivery of a gossip message to one node.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// When it was delivered, in seconds since the clock started.
    pub at_s: f64,
    /// The topic it was published on.
    pub topic: String,
    /// Milliseconds from its publication to this delivery.
    pub latency_ms: f64,
}

#[derive(Default)]
struct Inner {
    published: HashMap<MessageId, (Instant, String)>,
    deliveries: Vec<Delivery>,
    last_prune: Option<Instant>,
}

/// Shared by the swarms of one process. Cheap to clone.
#[derive(Clone)]
pub struct GossipClock {
    start: Instant,
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for GossipClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GossipClock").finish_non_exhaustive()
    }
}

impl Default for GossipClock {
    fn default() -> Self {
        Self::new()
    }
}

impl GossipClock {
    /// A clock starting now, with nothing published.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            inner: Default::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A node published `id` on `topic` just now.
    pub fn published(&self, id: MessageId, topic: &str) {
        self.published_at(id, topic, Instant::now());
    }

    fn published_at(&self, id: MessageId, topic: &str, now: Instant) {
        let mut g = self.lock();
        if g.last_prune.is_none_or(|t| now.duration_since(t) > HORIZON) {
            g.published
                .retain(|_, (t, _)| now.duration_since(*t) <= HORIZON);
            g.last_prune = Some(now);
        }
        g.published.insert(id, (now, topic.to_string()));
    }

    /// A node was handed `id` just now. Messages published outside this
    /// clock's process (or forgotten) are not counted.
    pub fn delivered(&self, id: &MessageId, topic: &TopicHash) {
        self.delivered_at(id, topic, Instant::now());
    }

    fn delivered_at(&self, id: &MessageId, _topic: &TopicHash, now: Instant) {
        let mut g = self.lock();
        let Some((sent, topic)) = g.published.get(id).cloned() else {
            return;
        };
        let d = Delivery {
            at_s: now.duration_since(self.start).as_secs_f64(),
            topic,
            latency_ms: now.duration_since(sent).as_secs_f64() * 1e3,
        };
        g.deliveries.push(d);
    }

    /// Every delivery so far, in the order they happened.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }

    /// Time since the clock started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

/// The `q` quantile (0..=1) of `values`, nearest rank; `None` when empty.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q.clamp(0.0, 1.0) * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> MessageId {
        MessageId::new(&[n])
    }

    #[test]
    fn a_delivery_measures_from_its_publication() {
        let c = GossipClock::new();
        let t0 = Instant::now();
        c.published_at(id(1), "lobby", t0);
        c.delivered_at(
            &id(1),
            &TopicHash::from_raw("x"),
            t0 + Duration::from_millis(12),
        );
        c.delivered_at(
            &id(1),
            &TopicHash::from_raw("x"),
            t0 + Duration::from_millis(30),
        );
        c.delivered_at(
            &id(2),
            &TopicHash::from_raw("x"),
            t0 + Duration::from_millis(5),
        ); // never published here
        let d = c.deliveries();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].topic, "lobby");
        assert!((d[0].latency_ms - 12.0).abs() < 1e-6);
        assert!((d[1].latency_ms - 30.0).abs() < 1e-6);
    }

    #[test]
    fn old_publications_are_forgotten() {
        let c = GossipClock::new();
        let t0 = Instant::now();
        c.published_at(id(1), "lobby", t0);
        c.published_at(id(2), "lobby", t0 + HORIZON + Duration::from_secs(1));
        c.published_at(id(3), "lobby", t0 + 2 * HORIZON + Duration::from_secs(2));
        c.delivered_at(
            &id(1),
            &TopicHash::from_raw("x"),
            t0 + 2 * HORIZON + Duration::from_secs(3),
        );
        assert!(c.deliveries().is_empty());
        assert_eq!(c.lock().published.len(), 1, "only the newest is remembered");
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), Some(50.0));
        assert_eq!(quantile(&v, 0.99), Some(99.0));
        assert_eq!(quantile(&v, 1.0), Some(100.0));
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
