//! What the devnet saw second by second: frames, rollbacks and gossip
//! delivery latency, sampled while it runs, for the report and its plots.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cyteria_node::metrics::Metrics;
use cyteria_node::net::latency::{Delivery, GossipClock, quantile};

/// One second of the run, summed over the player nodes.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Second {
    /// Seconds since the timeline started.
    pub t_s: u32,
    /// Frames the players advanced in this second.
    pub frames: u64,
    /// Rollbacks in this second.
    pub rollbacks: u64,
    /// Gossip messages delivered in this second.
    pub gossip_deliveries: usize,
    /// Their median delivery latency, in ms (none without deliveries).
    pub gossip_p50_ms: Option<f64>,
    /// Their 99th-percentile delivery latency, in ms.
    pub gossip_p99_ms: Option<f64>,
    /// The devnet process's resident memory at the end of the second, in MB.
    pub rss_mb: f64,
    /// CPU the devnet process used in this second, in percent of one core.
    pub cpu_pct: f64,
}

/// Delivery latency of one topic, or of all.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Latency {
    /// Messages delivered.
    pub deliveries: usize,
    /// Median latency, in ms (none without deliveries).
    pub p50_ms: Option<f64>,
    /// 90th-percentile latency, in ms.
    pub p90_ms: Option<f64>,
    /// 99th-percentile latency, in ms.
    pub p99_ms: Option<f64>,
    /// The longest latency, in ms.
    pub max_ms: Option<f64>,
}

impl Latency {
    /// The figures of the latencies `d` (ms), as nearest-rank quantiles.
    pub fn of(d: &[f64]) -> Self {
        Latency {
            deliveries: d.len(),
            p50_ms: quantile(d, 0.5),
            p90_ms: quantile(d, 0.9),
            p99_ms: quantile(d, 0.99),
            max_ms: quantile(d, 1.0),
        }
    }
}

/// Gossip delivery latency over the whole run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Gossip {
    /// Over every topic.
    pub all: Latency,
    /// By topic.
    pub by_topic: BTreeMap<String, Latency>,
}

/// The latency of all `deliveries`, and by topic.
pub fn gossip(deliveries: &[Delivery]) -> Gossip {
    let mut by_topic: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for d in deliveries {
        by_topic
            .entry(d.topic.clone())
            .or_default()
            .push(d.latency_ms);
    }
    let all: Vec<f64> = deliveries.iter().map(|d| d.latency_ms).collect();
    Gossip {
        all: Latency::of(&all),
        by_topic: by_topic
            .iter()
            .map(|(t, v)| (t.clone(), Latency::of(v)))
            .collect(),
    }
}

/// Counter totals at one instant.
#[derive(Clone, Copy, Default)]
struct Totals {
    frames: u64,
    rollbacks: u64,
    rss_mb: f64,
    cpu_s: f64,
}

/// This process's resident memory (MB) and CPU time so far (s), from /proc.
fn process_now() -> (f64, f64) {
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0);
    // utime and stime, fields 14 and 15, in clock ticks (100 a second)
    let cpu = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1;
            let f: Vec<&str> = after.split_whitespace().collect();
            let t = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(t / 100.0)
        })
        .unwrap_or(0.0);
    (rss, cpu)
}

/// Samples the players' counters once a second while the devnet runs.
#[derive(Clone)]
pub struct Timeline {
    clock: GossipClock,
    /// The player nodes' metrics; churn adds to it.
    players: Arc<Mutex<Vec<Metrics>>>,
    seconds: Arc<Mutex<Vec<(u32, Totals)>>>,
}

impl Timeline {
    /// Starts sampling once a second on the current tokio runtime; `clock` times the gossip.
    pub fn start(clock: GossipClock) -> Self {
        let t = Timeline {
            clock,
            players: Default::default(),
            seconds: Default::default(),
        };
        let s = t.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let mut totals = s.totals();
                (totals.rss_mb, totals.cpu_s) = process_now();
                let at = s.clock.elapsed().as_secs() as u32;
                s.seconds
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((at, totals));
                // Ends with the runtime, or when nobody holds the timeline.
                if Arc::strong_count(&s.seconds) == 1 {
                    break;
                }
            }
        });
        t
    }

    /// Adds a player node's metrics to those sampled.
    pub fn watch(&self, m: Metrics) {
        self.players
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(m);
    }

    fn totals(&self) -> Totals {
        let players = self.players.lock().unwrap_or_else(|e| e.into_inner());
        Totals {
            frames: players.iter().map(|m| m.frames.get()).sum(),
            rollbacks: players.iter().map(|m| m.rollbacks.get()).sum(),
            rss_mb: 0.0,
            cpu_s: 0.0,
        }
    }

    /// The gossip clock the nodes share.
    pub fn clock(&self) -> &GossipClock {
        &self.clock
    }

    /// The run so far, one entry per second.
    pub fn seconds(&self) -> Vec<Second> {
        let samples = self
            .seconds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        per_second(&samples, &self.clock.deliveries())
    }
}

fn per_second(samples: &[(u32, Totals)], deliveries: &[Delivery]) -> Vec<Second> {
    let mut latency: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for d in deliveries {
        latency.entry(d.at_s as u32).or_default().push(d.latency_ms);
    }
    let mut out = vec![];
    let mut prev = Totals::default();
    for (t, totals) in samples {
        let l = latency.get(t).map(Vec::as_slice).unwrap_or(&[]);
        out.push(Second {
            t_s: *t,
            frames: totals.frames.saturating_sub(prev.frames),
            rollbacks: totals.rollbacks.saturating_sub(prev.rollbacks),
            gossip_deliveries: l.len(),
            gossip_p50_ms: quantile(l, 0.5),
            gossip_p99_ms: quantile(l, 0.99),
            rss_mb: totals.rss_mb,
            cpu_pct: (totals.cpu_s - prev.cpu_s).max(0.0) * 100.0,
        });
        prev = *totals;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(at_s: f64, topic: &str, latency_ms: f64) -> Delivery {
        Delivery {
            at_s,
            topic: topic.into(),
            latency_ms,
        }
    }

    #[test]
    fn seconds_take_differences_and_their_own_deliveries() {
        let samples = [
            (
                0,
                Totals {
                    frames: 0,
                    rollbacks: 0,
                    rss_mb: 100.0,
                    cpu_s: 0.5,
                },
            ),
            (
                1,
                Totals {
                    frames: 120,
                    rollbacks: 3,
                    rss_mb: 100.0,
                    cpu_s: 1.5,
                },
            ),
            (
                2,
                Totals {
                    frames: 240,
                    rollbacks: 3,
                    rss_mb: 100.0,
                    cpu_s: 2.5,
                },
            ),
        ];
        let deliveries = [d(0.5, "a", 10.0), d(1.2, "a", 4.0), d(1.9, "b", 8.0)];
        let s = per_second(&samples, &deliveries);
        assert_eq!(s.len(), 3);
        assert_eq!(
            (s[1].frames, s[1].rollbacks, s[1].gossip_deliveries),
            (120, 3, 2)
        );
        assert_eq!(s[1].gossip_p99_ms, Some(8.0));
        assert_eq!((s[1].rss_mb, s[1].cpu_pct), (100.0, 100.0));
        assert_eq!(
            (
                s[2].frames,
                s[2].rollbacks,
                s[2].gossip_deliveries,
                s[2].gossip_p50_ms
            ),
            (120, 0, 0, None)
        );
    }

    #[test]
    fn latency_by_topic() {
        let g = gossip(&[
            d(0.0, "lobby", 1.0),
            d(0.0, "lobby", 3.0),
            d(0.0, "batches", 50.0),
        ]);
        assert_eq!(g.all.deliveries, 3);
        assert_eq!(g.all.max_ms, Some(50.0));
        assert_eq!(g.by_topic["lobby"].p50_ms, Some(1.0));
        assert_eq!(g.by_topic["batches"].p99_ms, Some(50.0));
    }
}
