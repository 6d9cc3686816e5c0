//! The behaviour's events, one bounded queue per gossip topic.
//!
//! The swarm cannot wait for the node: when a consumer falls behind, events
//! are dropped. With one queue for everything, peers at their rate limits
//! on one topic (a Sybil swarm on the lobby, say) filled it, and the
//! announcements and attestations behind them were lost with the flood.
//! Each public topic now has its own queue, and its own dispatcher task, so
//! a topic's flood costs that topic alone; connection events have a queue
//! of their own too. What is dropped is counted
//! (`cyteria_rejected_messages_total{reason="queue full"}`) and logged as a
//! summary, at most once per [`SUMMARY_EVERY`].

use std::time::{Duration, Instant};

use libp2p::gossipsub::TopicHash;
use tokio::sync::mpsc;

use crate::metrics::Metrics;

/// An event a queue takes: gossip names its topic; the rest name none.
pub trait Topical {
    /// The gossip topic the event came on, if it is gossip.
    fn topic(&self) -> Option<&TopicHash>;
}

/// How often a queue's drops are summarised in the log.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// A queue's name (also its metrics channel label) and capacity.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// The gossip topic it takes (`None`: everything that is not gossip on
    /// a named topic).
    pub topic: Option<&'static str>,
    /// Its name in metrics and logs.
    pub name: &'static str,
    /// How many events it holds.
    pub capacity: usize,
}

/// The sending side, owned by the behaviour.
pub struct Queues<E> {
    queues: Vec<Queue<E>>,
    metrics: Option<Metrics>,
}

struct Queue<E> {
    topic: Option<TopicHash>,
    name: &'static str,
    tx: mpsc::Sender<E>,
    /// Dropped since the last summary.
    dropped: u64,
    /// When the last summary was logged.
    logged: Option<Instant>,
}

/// The receiving side: one receiver per queue, with the queue's name.
pub type Events<E> = Vec<(&'static str, mpsc::Receiver<E>)>;

/// Queues for `specs` (the last one without a topic takes the rest; one is
/// added when none has `topic: None`).
pub fn queues<E>(specs: &[Spec], metrics: Option<Metrics>) -> (Queues<E>, Events<E>) {
    let mut specs = specs.to_vec();
    if !specs.iter().any(|s| s.topic.is_none()) {
        specs.push(Spec {
            topic: None,
            name: "events",
            capacity: 4096,
        });
    }
    let mut queues = vec![];
    let mut events = vec![];
    for s in specs {
        let (tx, rx) = mpsc::channel(s.capacity.max(1));
        queues.push(Queue {
            topic: s
                .topic
                .map(|t| libp2p::gossipsub::IdentTopic::new(t).hash()),
            name: s.name,
            tx,
            dropped: 0,
            logged: None,
        });
        events.push((s.name, rx));
    }
    (Queues { queues, metrics }, events)
}

impl<E: Topical> Queues<E> {
    /// Queues `e` on its topic's queue; when that queue is full (or its
    /// consumer gone) the event is dropped, counted and, once per
    /// [`SUMMARY_EVERY`], summarised. Returns whether it was queued.
    pub fn send(&mut self, e: E) -> bool {
        let i = e
            .topic()
            .and_then(|t| self.queues.iter().position(|q| q.topic.as_ref() == Some(t)))
            .or_else(|| self.queues.iter().rposition(|q| q.topic.is_none()))
            .expect("a queue without a topic always exists");
        let q = &mut self.queues[i];
        match q.tx.try_send(e) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Closed(_)) => false,
            Err(mpsc::error::TrySendError::Full(_)) => {
                if let Some(m) = &self.metrics {
                    m.reject(q.name, "queue full");
                }
                q.dropped += 1;
                let now = Instant::now();
                if q.logged
                    .is_none_or(|t| now.duration_since(t) >= SUMMARY_EVERY)
                {
                    tracing::warn!(
                        queue = q.name,
                        dropped = q.dropped,
                        "the node falls behind: events dropped since the last such line"
                    );
                    q.dropped = 0;
                    q.logged = Some(now);
                }
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    enum Event {
        Gossip(TopicHash),
        Disconnected,
    }

    impl Topical for Event {
        fn topic(&self) -> Option<&TopicHash> {
            match self {
                Event::Gossip(t) => Some(t),
                Event::Disconnected => None,
            }
        }
    }

    fn gossip(topic: &str) -> Event {
        Event::Gossip(libp2p::gossipsub::IdentTopic::new(topic).hash())
    }

    #[test]
    fn a_flooded_topic_does_not_crowd_out_the_others() {
        let specs = [
            Spec {
                topic: Some("lobby"),
                name: "lobby",
                capacity: 8,
            },
            Spec {
                topic: Some("transcripts"),
                name: "transcripts",
                capacity: 8,
            },
        ];
        let (mut q, mut events) = queues::<Event>(&specs, None);
        // The lobby flood fills its queue, and only its queue.
        let queued = (0..1000).filter(|_| q.send(gossip("lobby"))).count();
        assert_eq!(queued, 8);
        assert!(
            q.send(gossip("transcripts")),
            "the announcement gets through"
        );
        assert!(q.send(Event::Disconnected));
        assert!(
            q.send(gossip("elsewhere")),
            "an unnamed topic takes the rest"
        );
        let names: Vec<_> = events.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["lobby", "transcripts", "events"]);
        let (_, transcripts) = &mut events[1];
        assert!(matches!(transcripts.try_recv(), Ok(Event::Gossip(_))));
        let (_, rest) = &mut events[2];
        assert!(matches!(rest.try_recv(), Ok(Event::Disconnected)));
        assert!(matches!(rest.try_recv(), Ok(Event::Gossip(_))));
    }
}
