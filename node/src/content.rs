//! The node's content store: raw IPFS blocks (CIDv1, sha2-256) in the
//! embedded rust-ipfs repo, fetched from other peers over bitswap. A
//! transcript or batch data is one block, named by its CID; what comes back
//! from the network is checked against the CID before anyone reads it.

use std::time::Duration;

use ipld_core::cid::Cid;
use libp2p::PeerId;
use multihash_codetable::{Code, MultihashDigest};
use rust_ipfs::{Block, Ipfs};
use thiserror::Error;

/// The raw-bytes multicodec.
const RAW: u64 = 0x55;
/// The largest block stored or fetched (bitswap frames stop at 2 MiB).
pub const MAX_BLOCK_BYTES: usize = 1 << 20;
/// The longest textual CID accepted from the wire.
pub const MAX_CID_CHARS: usize = 128;

#[derive(Debug, Error)]
pub enum ContentError {
    #[error("not a CID: {0}")]
    BadCid(String),
    #[error("{0} bytes is over the block limit of {MAX_BLOCK_BYTES}")]
    TooLarge(usize),
    #[error("block {cid} not found within {timeout:?}")]
    NotFound { cid: Cid, timeout: Duration },
    #[error("block {0}: its bytes do not match its CID")]
    Mismatch(Cid),
    #[error("content store: {0}")]
    Store(String),
}

/// The CID of `bytes` as a raw block.
pub fn cid_of(bytes: &[u8]) -> Cid {
    Cid::new_v1(RAW, Code::Sha2_256.digest(bytes))
}

/// Parses a CID from the wire (bounded, never panics).
pub fn parse_cid(s: &str) -> Result<Cid, ContentError> {
    if s.len() > MAX_CID_CHARS {
        return Err(ContentError::BadCid(format!("{} characters", s.len())));
    }
    s.parse::<Cid>().map_err(|e| ContentError::BadCid(e.to_string()))
}

/// A handle on the node's blocks.
#[derive(Clone)]
pub struct Content {
    ipfs: Ipfs,
}

impl Content {
    pub fn new(ipfs: Ipfs) -> Self {
        Self { ipfs }
    }

    /// Stores `bytes` as a pinned raw block and returns its CID.
    pub async fn put(&self, bytes: Vec<u8>) -> Result<Cid, ContentError> {
        if bytes.len() > MAX_BLOCK_BYTES {
            return Err(ContentError::TooLarge(bytes.len()));
        }
        let cid = cid_of(&bytes);
        let block = Block::new(cid, bytes).map_err(|e| ContentError::Store(e.to_string()))?;
        self.ipfs.put_block(&block).await.map_err(|e| ContentError::Store(e.to_string()))?;
        self.pin(&cid).await?;
        Ok(cid)
    }

    /// Pins a block this node holds, so it is kept.
    pub async fn pin(&self, cid: &Cid) -> Result<(), ContentError> {
        if self.ipfs.is_pinned(cid).await.unwrap_or(false) {
            return Ok(());
        }
        self.ipfs.insert_pin(cid).local().await.map_err(|e| ContentError::Store(e.to_string()))
    }

    /// The block's bytes, from this node or from `providers` (and any peer
    /// that has it), within `timeout`.
    pub async fn get(&self, cid: &Cid, providers: &[PeerId], timeout: Duration) -> Result<Vec<u8>, ContentError> {
        let block = self
            .ipfs
            .get_block(cid)
            .providers(providers)
            .timeout(timeout)
            .await
            .map_err(|_| ContentError::NotFound { cid: *cid, timeout })?;
        if block.data().len() > MAX_BLOCK_BYTES {
            return Err(ContentError::TooLarge(block.data().len()));
        }
        if block.verify().is_err() {
            return Err(ContentError::Mismatch(*cid));
        }
        Ok(block.data().to_vec())
    }
}
