//! The wear of the wallet's items as the settled ledger holds it. Every
//! settled batch's data names the wear it leaves on each item it touched
//! (`BatchData::wear`, which followers refuse to sign if it differs from
//! the ledger), so a player's node follows it by reading the data of each
//! batch on chain, in epoch order, and re-simulates nothing. The fold is
//! kept in the node's index database; what the node needs of it, the
//! wallet's items and which of its own matches settled, goes to
//! `settled-wear.json` for the node's loadout to read
//! ([`cyteria_node::loadout::SettledWear`]).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::Path;
use std::time::Duration;

use cyteria_chain::indexer::Indexer;
use cyteria_node::content::{Content, ContentError, parse_cid};
use cyteria_node::loadout::{self, Choice, SettledWear};
use cyteria_settlement::proposal::BatchData;

use crate::match_hex;

/// How many of the last settled matches are remembered, to tell the node
/// which of its own matches settled.
const RECENT_MATCHES: usize = 1 << 16;

const EPOCH_KEY: &[u8] = b"epoch";

/// Folds settled batches' wear lists into each item's wear.
pub struct WearFollower {
    tree: sled::Tree,
    recent: VecDeque<String>,
    recent_set: HashSet<String>,
    /// Whether the last [`WearFollower::follow`] reached the index's last batch.
    caught_up: bool,
}

impl WearFollower {
    /// The follower whose fold is kept in `db`'s `settled-wear` tree.
    pub fn open(db: &sled::Db) -> anyhow::Result<Self> {
        Ok(Self {
            tree: db.open_tree("settled-wear")?,
            recent: VecDeque::new(),
            recent_set: HashSet::new(),
            caught_up: false,
        })
    }

    /// The last epoch folded in (0 before the first).
    pub fn epoch(&self) -> u64 {
        self.tree
            .get(EPOCH_KEY)
            .ok()
            .flatten()
            .and_then(|v| Some(u64::from_be_bytes(v.as_ref().try_into().ok()?)))
            .unwrap_or(0)
    }

    /// Item `id`'s wear at the last epoch folded in.
    pub fn wear_of(&self, id: &[u8; 32]) -> u32 {
        self.tree
            .get(item_key(id))
            .ok()
            .flatten()
            .and_then(|v| Some(u32::from_be_bytes(v.as_ref().try_into().ok()?)))
            .unwrap_or(0)
    }

    /// Folds epoch `epoch`'s data in (nothing of `data` when it is `None`:
    /// data that cannot be read is passed over), atomically with the epoch.
    pub fn fold(&mut self, epoch: u64, data: Option<&BatchData>) -> anyhow::Result<()> {
        let mut b = sled::Batch::default();
        for w in data.map(|d| d.wear.as_slice()).unwrap_or_default() {
            b.insert(item_key(&w.id), &w.wear.to_be_bytes());
        }
        b.insert(EPOCH_KEY, &epoch.to_be_bytes());
        self.tree.apply_batch(b)?;
        for t in data.map(|d| d.transcripts.as_slice()).unwrap_or_default() {
            let m = match_hex(&t.match_id);
            if self.recent_set.insert(m.clone()) {
                self.recent.push_back(m);
            }
            if self.recent.len() > RECENT_MATCHES
                && let Some(old) = self.recent.pop_front()
            {
                self.recent_set.remove(&old);
            }
        }
        Ok(())
    }

    /// Folds in every batch `index` holds past the last one folded, in
    /// order, fetching each one's data by its CID; stops at the first not
    /// fetched yet (tried again on the next call). Data the chain names but
    /// that can never be read (a bad CID, undecodable bytes) is folded as
    /// no change, with a warning. Returns how many it folded.
    pub async fn follow(&mut self, index: &Indexer, content: &Content, timeout: Duration) -> usize {
        let from = self.epoch();
        let mut folded = 0;
        self.caught_up = true;
        for (epoch, b) in index.batches().into_iter().filter(|(e, _)| *e > from) {
            let fetched = match parse_cid(&b.data_cid) {
                Ok(cid) => content.get_record(&cid, &[], timeout).await,
                Err(e) => Err(e.into()),
            };
            let data = match fetched {
                // Transient: no provider yet, a peer's bad bytes, the local
                // repo failing. The epoch is tried again on the next call.
                Err(
                    e @ (ContentError::NotFound { .. }
                    | ContentError::Mismatch(_)
                    | ContentError::Store(_)),
                ) => {
                    tracing::debug!(epoch, error = %e, "batch data not fetched yet");
                    self.caught_up = false;
                    break;
                }
                Err(e) => {
                    tracing::warn!(epoch, error = %e, "batch data refused; its wear is not followed");
                    None
                }
                Ok(bytes) => BatchData::decode(&bytes)
                    .inspect_err(|e| {
                        tracing::warn!(epoch, error = %e, "batch data refused; its wear is not followed")
                    })
                    .ok(),
            };
            if let Err(e) = self.fold(epoch, data.as_ref()) {
                tracing::warn!(epoch, error = %e, "settled wear not stored");
                self.caught_up = false;
                break;
            }
            folded += 1;
        }
        folded
    }

    /// What the node's loadout needs: the wear of `items` (the wallet's,
    /// and those its recorded matches played), and which of those matches
    /// settled. `updated` moves only while the follower keeps up.
    pub fn snapshot(
        &self,
        items: impl IntoIterator<Item = [u8; 32]>,
        pending: &BTreeMap<String, loadout::Pending>,
        previous: &SettledWear,
        now_s: u64,
    ) -> SettledWear {
        let mut ids: Vec<[u8; 32]> = items.into_iter().collect();
        for p in pending.values() {
            ids.extend(p.wear.keys().filter_map(|k| match k.parse() {
                Ok(Choice::Item(id)) => Some(id),
                _ => None,
            }));
        }
        SettledWear {
            epoch: self.epoch(),
            updated: if self.caught_up {
                now_s
            } else {
                previous.updated
            },
            wear: ids
                .into_iter()
                .map(|id| (Choice::Item(id).to_string(), self.wear_of(&id)))
                .collect(),
            settled: pending
                .keys()
                .filter(|m| self.recent_set.contains(*m))
                .cloned()
                .collect(),
        }
    }

    /// Writes [`WearFollower::snapshot`] for `items` to `data_dir`'s
    /// settled wear file.
    pub fn write(
        &self,
        data_dir: &Path,
        items: impl IntoIterator<Item = [u8; 32]>,
    ) -> anyhow::Result<()> {
        let pending = loadout::read_pending(data_dir).unwrap_or_default();
        let previous = loadout::read_settled(data_dir).unwrap_or_default();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let next = self.snapshot(items, &pending, &previous, now);
        if next != previous {
            loadout::write_settled(data_dir, &next)?;
        }
        Ok(())
    }
}

fn item_key(id: &[u8; 32]) -> Vec<u8> {
    [b"item/".as_slice(), id].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cyteria_node::loadout::Pending;
    use cyteria_settlement::proposal::{ItemWear, TranscriptRef};

    #[test]
    fn batches_fold_in_order_and_name_the_nodes_settled_matches() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let mut f = WearFollower::open(&db).unwrap();
        let (a, b) = ([1; 32], [2; 32]);
        let data = |wear: &[([u8; 32], u32)], matches: &[u8]| BatchData {
            wear: wear
                .iter()
                .map(|(id, w)| ItemWear { id: *id, wear: *w })
                .collect(),
            transcripts: matches
                .iter()
                .map(|m| TranscriptRef {
                    match_id: [*m; 32],
                    cid: String::new(),
                })
                .collect(),
            ..BatchData::default()
        };
        f.fold(1, Some(&data(&[(a, 5), (b, 2)], &[9]))).unwrap();
        f.fold(2, None).unwrap();
        f.fold(3, Some(&data(&[(a, 0)], &[8]))).unwrap();
        assert_eq!((f.epoch(), f.wear_of(&a), f.wear_of(&b)), (3, 0, 2));
        // Kept across a restart (the settled-match memory is not).
        let again = WearFollower::open(&db).unwrap();
        assert_eq!((again.epoch(), again.wear_of(&b)), (3, 2));

        let hex = |id: [u8; 32]| Choice::Item(id).to_string();
        let pending: BTreeMap<String, Pending> = [
            (
                match_hex(&[8; 32]),
                Pending {
                    at: 10,
                    wear: [(hex(b), 1)].into(),
                },
            ),
            (match_hex(&[7; 32]), Pending::default()),
        ]
        .into();
        f.caught_up = true;
        let s = f.snapshot([a], &pending, &SettledWear::default(), 99);
        assert_eq!(s.epoch, 3);
        assert_eq!(s.updated, 99);
        assert_eq!(s.wear, [(hex(a), 0), (hex(b), 2)].into());
        assert_eq!(s.settled, [match_hex(&[8; 32])]);
        f.caught_up = false;
        assert_eq!(
            f.snapshot([a], &pending, &s, 500).updated,
            99,
            "not caught up"
        );
    }
}
