//! The partition and churn scenarios: cutting the network in two and
//! healing it; players leaving and newcomers joining between rounds.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use libp2p::{Multiaddr, PeerId};

use crate::report::Check;
use cyteria_node::net::Net;
use cyteria_node::session::{Ending, MatchReport};
use cyteria_node::store::Store;

/// How many players are cut off (the partition) or replaced (churn): a
/// multiple of the match size, about half (partition) or a quarter (churn).
pub fn share(players: usize, match_size: usize, divisor: usize) -> usize {
    let m = match_size.max(1);
    ((players / divisor) / m * m)
        .max(m)
        .min(players.saturating_sub(m))
}

/// Cuts every link between `a` and `b` (each side blocks the other, which
/// closes the connections and refuses new ones), or heals them.
pub fn cut(a: &[Net], b: &[Net], apart: bool) {
    for x in a {
        for y in b {
            for (from, to) in [(x, y), (y, x)] {
                if apart {
                    from.block(to.peer_id);
                } else {
                    from.unblock(to.peer_id);
                }
            }
        }
    }
}

/// Whether any node of `a` is still connected to a node of `b`.
pub async fn linked(a: &[Net], b: &[Net]) -> bool {
    let b_ids: BTreeSet<PeerId> = b.iter().map(|n| n.peer_id).collect();
    for x in a {
        if x.connected().await.iter().any(|p| b_ids.contains(p)) {
            return true;
        }
    }
    false
}

/// After healing: the cut-off side dials the bootstrap node again, and
/// its DHT and gossip meshes fill back up from there.
pub async fn rejoin(b: &[Net], seeds: &[Multiaddr]) {
    for n in b {
        for s in seeds {
            // The unblocking reaches the swarms a moment after it is sent.
            let mut tries = 0;
            while let Err(e) = n.add_bootstrap(s.clone()).await {
                tries += 1;
                if tries == 20 {
                    tracing::warn!(error = %e, "partition: the bootstrap node not reached again");
                    break;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// Finished matches whose every seat is one of `peers`.
pub fn matches_among(reports: &[MatchReport], keys: &BTreeSet<[u8; 32]>) -> BTreeSet<String> {
    reports
        .iter()
        .filter(|r| r.ending == Ending::Finished)
        .filter(|r| {
            r.transcript.as_ref().is_some_and(|t| {
                t.header
                    .players
                    .iter()
                    .all(|s| keys.contains(&s.public_key))
            })
        })
        .map(|r| r.match_id.clone())
        .collect()
}

/// A player that left the devnet: where its data is, and what it played.
pub struct Leaver {
    /// Its data directory.
    pub dir: PathBuf,
    /// Its game key (public).
    pub key: [u8; 32],
    /// Match ids (raw) of the finished matches it played.
    pub matches: Vec<[u8; 32]>,
}

/// A player that left finds every transcript it played in its store when it
/// opens it again (it shut down cleanly).
pub async fn leavers_kept_their_data(leavers: &[Leaver]) -> Check {
    let mut kept = 0;
    let mut problems = vec![];
    for l in leavers {
        // The node's last tasks let go of the database as the runtime winds down.
        let mut store = Store::open(&l.dir.join("store"));
        for _ in 0..20 {
            if store.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            store = Store::open(&l.dir.join("store"));
        }
        match store {
            Ok(s) => {
                let missing = l
                    .matches
                    .iter()
                    .filter(|m| !matches!(s.transcript(m), Ok(Some(_))))
                    .count();
                if missing == 0 {
                    kept += 1;
                } else {
                    problems.push(format!("{missing} transcripts missing"));
                }
            }
            Err(e) => problems.push(format!("store does not open: {e}")),
        }
    }
    let played: usize = leavers.iter().map(|l| l.matches.len()).sum();
    Check {
        name: "players who left kept their data".into(),
        ok: kept == leavers.len() && !leavers.is_empty() && played > 0,
        detail: format!(
            "{kept} of {} stores reopened with all {played} transcripts {problems:?}",
            leavers.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_whole_matches_and_leave_someone_behind() {
        assert_eq!(share(8, 2, 2), 4);
        assert_eq!(share(8, 2, 4), 2);
        assert_eq!(share(4, 2, 4), 2);
        assert_eq!(share(12, 4, 2), 4);
        assert_eq!(share(50, 2, 4), 12);
        assert_eq!(
            share(2, 2, 2),
            0,
            "two players cannot be split into matches"
        );
    }
}
