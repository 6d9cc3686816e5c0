//! What a validator must not lose in a crash, in sled: the ledger of the
//! last settled epoch, the batch it signed for an epoch (it never signs a
//! second: that would be slashable), the submission it is about to send,
//! and equivocation evidence. Each record is flushed before it is acted on.
//!
//! The signing record is also written as a file beside the database and
//! fsynced, file and directory, before the signature leaves ([`write_durably`]):
//! sled 0.34's flush on Linux is a `sync_file_range`, which a power loss
//! can undo, and a validator that forgot what it signed could sign twice.

use std::io::Write;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, U256};
use cyteria_game::codec::Format;
use cyteria_node::store::Store;
use cyteria_node::wire::WireBatch;
use cyteria_settlement::ledger::Ledger;
use serde::{Deserialize, Serialize};

/// Write-ahead record of a submission.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Submission {
    pub(crate) batch: WireBatch,
    pub(crate) mints: Vec<(Address, Vec<U256>)>,
    /// The bonds slashed: (wallet, encoded evidence).
    pub(crate) slashes: Vec<(Address, Vec<u8>)>,
    pub(crate) signatures: Vec<Vec<u8>>,
}

const SUBMISSION: Format = Format {
    name: "submission record",
    magic: *b"CYSB",
    version: 2,
    max_bytes: 1 << 20,
};
pub(crate) const SIGNED: Format = Format {
    name: "signed batch record",
    magic: *b"CYSS",
    version: 3,
    max_bytes: 4096,
};
const LEDGER_KEY: &[u8] = b"ledger";

/// The file, beside the database, that holds the last batch this validator signed.
pub const SIGNED_FILE: &str = "validator-signed";

/// Writes `bytes` as `dir/name` so that a power loss leaves either the old
/// file or the new one, and the new one once this returns: a temporary
/// file written and fsynced, renamed over the old, then the directory
/// fsynced (the rename is in the directory's metadata).
pub fn write_durably(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(name))?;
    std::fs::File::open(dir)?.sync_all()
}

/// The validator's durable state.
pub(crate) struct Durable {
    /// Where the signing record's file is (none for a temporary store).
    dir: Option<PathBuf>,
    store: Store,
    state: sled::Tree,
    signed: sled::Tree,
    submissions: sled::Tree,
    evidence: sled::Tree,
}

impl Durable {
    pub(crate) fn open(store: Store) -> anyhow::Result<Self> {
        Ok(Self {
            state: store.tree("validator/state")?,
            signed: store.tree("validator/signed")?,
            submissions: store.tree("validator/submissions")?,
            evidence: store.tree("validator/evidence")?,
            dir: store.dir().map(Path::to_path_buf),
            store,
        })
    }

    /// The ledger and the epoch it reflects (an empty ledger before epoch 1).
    pub(crate) fn ledger(&self) -> anyhow::Result<(u64, Ledger)> {
        match self.state.get(LEDGER_KEY)? {
            None => Ok((0, Ledger::default())),
            Some(v) if v.len() >= 8 => {
                let epoch = u64::from_be_bytes(v[..8].try_into()?);
                Ok((epoch, Ledger::decode(&v[8..])?))
            }
            Some(_) => anyhow::bail!("the stored ledger record is damaged"),
        }
    }

    pub(crate) fn put_ledger(&self, epoch: u64, ledger: &Ledger) -> anyhow::Result<()> {
        let mut v = epoch.to_be_bytes().to_vec();
        v.extend_from_slice(&ledger.encode());
        self.state.insert(LEDGER_KEY, v)?;
        self.store.flush()?;
        Ok(())
    }

    pub(crate) fn signed(&self, epoch: u64) -> anyhow::Result<Option<WireBatch>> {
        // The file holds the newest record; sled the older ones (and the
        // newest too, unless a power loss took it).
        if let Some(dir) = &self.dir {
            match std::fs::read(dir.join(SIGNED_FILE)) {
                Ok(v) => {
                    let b: WireBatch = SIGNED.decode(&v)?;
                    if b.epoch == epoch {
                        return Ok(Some(b));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(match self.signed.get(epoch.to_be_bytes())? {
            Some(v) => Some(SIGNED.decode(&v)?),
            None => None,
        })
    }

    /// Records that this validator signed `b`; returns once the record
    /// would survive a power loss.
    pub(crate) fn put_signed(&self, b: &WireBatch) -> anyhow::Result<()> {
        let bytes = SIGNED.encode(b);
        if let Some(dir) = &self.dir {
            write_durably(dir, SIGNED_FILE, &bytes)?;
        }
        self.signed.insert(b.epoch.to_be_bytes(), bytes)?;
        self.store.flush()?;
        Ok(())
    }

    pub(crate) fn submission(&self, epoch: u64) -> anyhow::Result<Option<Submission>> {
        Ok(match self.submissions.get(epoch.to_be_bytes())? {
            Some(v) => Some(SUBMISSION.decode(&v)?),
            None => None,
        })
    }

    pub(crate) fn put_submission(&self, s: &Submission) -> anyhow::Result<()> {
        self.submissions
            .insert(s.batch.epoch.to_be_bytes(), SUBMISSION.encode(s))?;
        self.store.flush()?;
        Ok(())
    }

    /// Keeps the proof that `signer` signed two batches for `epoch`.
    pub(crate) fn put_evidence(
        &self,
        epoch: u64,
        signer: Address,
        record: Vec<u8>,
    ) -> anyhow::Result<()> {
        let mut key = epoch.to_be_bytes().to_vec();
        key.extend_from_slice(signer.as_slice());
        self.evidence.insert(key, record)?;
        self.store.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run by `the_signing_record_is_fsynced_before_the_signature_leaves`
    /// under strace: writes the record, then "publishes" (a write to stdout).
    #[test]
    #[ignore = "run under strace by the test below"]
    fn write_then_publish() {
        let dir = std::env::var("CYTERIA_RECORD_DIR").expect("a directory");
        write_durably(Path::new(&dir), SIGNED_FILE, b"the record").unwrap();
        let mut out = std::io::stdout().lock();
        out.write_all(b"PUBLISH-SIGNATURE\n").unwrap();
        out.flush().unwrap();
    }

    #[test]
    fn the_signing_record_is_fsynced_before_the_signature_leaves() {
        if std::process::Command::new("strace")
            .arg("-V")
            .output()
            .is_err()
        {
            panic!("strace is not installed (make test-deps installs it)");
        }
        let dir = tempfile::tempdir().unwrap();
        let trace = dir.path().join("trace");
        let records = dir.path().join("records");
        std::fs::create_dir(&records).unwrap();
        let out = std::process::Command::new("strace")
            .args([
                "-f",
                "-e",
                "trace=openat,fsync,fdatasync,rename,renameat,renameat2,write",
                "-o",
            ])
            .arg(&trace)
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "durable::tests::write_then_publish",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("CYTERIA_RECORD_DIR", &records)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let trace = std::fs::read_to_string(&trace).unwrap();
        let lines: Vec<&str> = trace.lines().collect();
        let at = |what: &dyn Fn(&str) -> bool, name: &str| {
            lines
                .iter()
                .position(|l| what(l))
                .unwrap_or_else(|| panic!("no {name} in the trace:\n{trace}"))
        };
        // the descriptors the temporary file and the directory were opened as
        let fd_of = |path: &str| -> String {
            let l = lines
                .iter()
                .find(|l| l.contains("openat(") && l.contains(&format!("\"{path}\"")))
                .unwrap_or_else(|| panic!("{path} never opened:\n{trace}"));
            l.rsplit("= ").next().unwrap().trim().to_string()
        };
        let tmp = records.join(format!("{SIGNED_FILE}.tmp"));
        let tmp_fd = fd_of(tmp.to_str().unwrap());
        let file_sync = at(
            &|l| l.contains(&format!("fsync({tmp_fd})")),
            "fsync of the file",
        );
        let rename = at(&|l| l.contains("rename") && l.contains(".tmp"), "rename");
        let dir_fd = fd_of(records.to_str().unwrap());
        let dir_sync = lines
            .iter()
            .enumerate()
            .skip(rename)
            .find(|(_, l)| l.contains(&format!("fsync({dir_fd})")))
            .map(|(i, _)| i)
            .unwrap_or_else(|| panic!("no fsync of the directory after the rename:\n{trace}"));
        let publish = at(
            &|l| l.contains("write(") && l.contains("PUBLISH-SIGNATURE"),
            "the publish",
        );
        assert!(
            file_sync < rename,
            "the file is fsynced before it is renamed:\n{trace}"
        );
        assert!(
            rename < dir_sync,
            "the directory is fsynced after the rename:\n{trace}"
        );
        assert!(
            dir_sync < publish,
            "both before the signature leaves:\n{trace}"
        );
        assert_eq!(
            std::fs::read(records.join(SIGNED_FILE)).unwrap(),
            b"the record"
        );
    }
}
