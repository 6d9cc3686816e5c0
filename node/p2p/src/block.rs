//! Raw blocks and their names: the CID of a record, what a CID from the wire
//! may look like, and the size limit every block obeys. Kept apart from the
//! content store so that wire decoding and the block protocol can check
//! CIDs without depending on the store.

use ipld_core::cid::Cid;
use multihash_codetable::{Code, MultihashDigest};

/// The raw-bytes multicodec.
pub(crate) const RAW: u64 = 0x55;
/// The largest block stored or fetched (bitswap frames stop at 2 MiB).
pub const MAX_BLOCK_BYTES: usize = 1 << 20;
/// The longest textual CID accepted from the wire.
pub const MAX_CID_CHARS: usize = 128;

/// A string or byte string that is not an acceptable CID.
#[derive(Debug, thiserror::Error)]
#[error("not a CID: {0}")]
pub struct CidError(pub String);

/// The CID of `bytes` as a raw block.
pub fn cid_of(bytes: &[u8]) -> Cid {
    Cid::new_v1(RAW, Code::Sha2_256.digest(bytes))
}

/// Whether `cid` names a raw block (a record) rather than a DAG node (a file).
pub fn is_raw(cid: &Cid) -> bool {
    cid.codec() == RAW
}

/// Parses a CID from the wire (bounded, never panics).
pub fn parse_cid(s: &str) -> Result<Cid, CidError> {
    if s.len() > MAX_CID_CHARS {
        return Err(CidError(format!("{} characters", s.len())));
    }
    s.parse::<Cid>().map_err(|e| CidError(e.to_string()))
}

/// Serde for a CID as its text form, as the wire has always carried it:
/// bounded by [`MAX_CID_CHARS`] and parsed on decode, so a decoded message
/// holds a typed [`Cid`] or does not decode at all.
pub mod cid_text {
    use ipld_core::cid::Cid;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the CID's canonical text.
    pub fn serialize<S: Serializer>(cid: &Cid, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(cid)
    }

    /// Reads and parses a CID's text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Cid, D::Error> {
        let text = <&str>::deserialize(d)?;
        super::parse_cid(text).map_err(serde::de::Error::custom)
    }
}
