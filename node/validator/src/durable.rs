//! What a validator must not lose in a crash, in sled: the ledger of the
//! last settled epoch, the batch it signed for an epoch (it never signs a
//! second: that would be slashable), the submission it is about to send,
//! and equivocation evidence. Each record is flushed before it is acted on.

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

/// The validator's durable state.
pub(crate) struct Durable {
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
        Ok(match self.signed.get(epoch.to_be_bytes())? {
            Some(v) => Some(SIGNED.decode(&v)?),
            None => None,
        })
    }

    pub(crate) fn put_signed(&self, b: &WireBatch) -> anyhow::Result<()> {
        self.signed
            .insert(b.epoch.to_be_bytes(), SIGNED.encode(b))?;
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
