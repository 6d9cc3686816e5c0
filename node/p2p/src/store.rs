//! The node's local store (sled): finished matches' transcripts and the
//! equivocation evidence it has seen. Values are the canonical encodings;
//! every read decodes and validates, so a damaged record is an error, not a
//! crash, and other records stay readable.

use std::path::Path;

use cyteria_game::codec::Format;
use cyteria_game::transcript::Transcript;
use thiserror::Error;

use crate::signing::Equivocation;

const EVIDENCE: Format = Format {
    name: "equivocation evidence",
    magic: *b"CYEV",
    version: 2,
    max_bytes: 1024,
};

/// Why the store could not be opened, read or written.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database failed.
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    /// A record that does not decode or validate.
    #[error("store: a damaged record: {0}")]
    Decode(#[from] cyteria_game::codec::DecodeError),
}

/// A handle on the node's sled database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    dir: Option<std::path::PathBuf>,
    transcripts: sled::Tree,
    evidence: sled::Tree,
}

impl Store {
    /// Opens (or creates) the database in `dir`, waiting up to 2 s for another handle's lock.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        // sled's flusher thread lets go of the file lock a moment after the
        // last handle of a closed database drops: a store reopened at once
        // (a node restarted in the same process) waits for it, briefly.
        let mut tries = 0;
        let db = loop {
            match sled::open(dir) {
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock") && tries < 40 =>
                {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                r => break r?,
            }
        };
        Ok(Self {
            transcripts: db.open_tree("transcripts")?,
            evidence: db.open_tree("evidence")?,
            db,
            dir: Some(dir.to_path_buf()),
        })
    }

    /// The directory the database is in (none for a temporary one): records
    /// that must survive a power loss are written beside it as files,
    /// fsynced (sled 0.34's flush on Linux is a `sync_file_range`, which
    /// neither reaches the disk's cache nor the file's metadata).
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// A throwaway store for tests.
    pub fn temporary() -> Result<Self, StoreError> {
        let db = sled::Config::new().temporary(true).open()?;
        Ok(Self {
            transcripts: db.open_tree("transcripts")?,
            evidence: db.open_tree("evidence")?,
            db,
            dir: None,
        })
    }

    /// A named tree of this store (the validator keeps its ledger and
    /// write-ahead records in its own trees).
    pub fn tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(name)?)
    }

    /// Waits until everything written so far is on disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Keeps `t` under its match id, replacing any earlier one, and flushes.
    pub fn put_transcript(&self, t: &Transcript) -> Result<(), StoreError> {
        self.transcripts.insert(t.header.match_id, t.encode())?;
        self.db.flush()?;
        Ok(())
    }

    /// The transcript kept for `match_id`, if any.
    pub fn transcript(&self, match_id: &[u8; 32]) -> Result<Option<Transcript>, StoreError> {
        match self.transcripts.get(match_id)? {
            Some(b) => Ok(Some(Transcript::decode(&b)?)),
            None => Ok(None),
        }
    }

    /// The match ids of every kept transcript, in byte order.
    pub fn transcript_ids(&self) -> Vec<[u8; 32]> {
        self.transcripts
            .iter()
            .keys()
            .filter_map(|k| k.ok()?.as_ref().try_into().ok())
            .collect()
    }

    /// Keeps `e` (once, keyed by the hash of its encoding) and flushes.
    pub fn put_evidence(&self, e: &Equivocation) -> Result<(), StoreError> {
        let key = blake3::hash(&EVIDENCE.encode(e));
        self.evidence.insert(key.as_bytes(), EVIDENCE.encode(e))?;
        self.db.flush()?;
        Ok(())
    }

    /// Every piece of evidence kept; a damaged record is an error in its place.
    pub fn evidence(&self) -> Vec<Result<Equivocation, StoreError>> {
        self.evidence
            .iter()
            .values()
            .map(|v| Ok(EVIDENCE.decode::<Equivocation>(&v?)?))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cyteria_game::{Rules, scenario};

    #[test]
    fn transcripts_survive_a_reopen_and_a_damaged_record_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let header = scenario::header(
            3,
            2,
            Rules {
                waves: 1,
                time_limit: 120,
            },
        );
        let (inputs, game) = scenario::bot_match(&header, 120);
        let t = Transcript {
            header,
            inputs,
            checkpoints: vec![],
            ends: vec![],
            final_checksum: game.checksum(),
        };
        {
            let s = Store::open(dir.path()).unwrap();
            s.put_transcript(&t).unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.transcript(&t.header.match_id).unwrap(), Some(t.clone()));
        assert_eq!(s.transcript_ids(), vec![t.header.match_id]);
        s.transcripts
            .insert([9u8; 32], b"CYTX\x01junk".to_vec())
            .unwrap();
        assert!(s.transcript(&[9; 32]).is_err());
        assert_eq!(s.transcript(&t.header.match_id).unwrap(), Some(t));
    }
}
