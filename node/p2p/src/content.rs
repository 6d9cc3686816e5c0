//! The node's content store, on the embedded rust-ipfs repo (blocks on disk
//! in the data directory, CIDv1, sha2-256):
//!
//! - records (a transcript, a batch's data) are single raw blocks of at most
//!   [`MAX_BLOCK_BYTES`], named by their CID;
//! - files (replays, metadata, sprites, anything larger) are UnixFS DAGs
//!   chunked into 256 KiB raw leaves, up to [`MAX_FILE_BYTES`].
//!
//! What this node stores it pins and announces as a provider in the IPFS
//! DHT; what it fetches comes over bitswap from the providers it is given,
//! its connected peers, or the providers the DHT names, and is checked
//! against its CID before anyone reads it.

use std::time::Duration;

use ipld_core::cid::Cid;
use libp2p::PeerId;
use rust_ipfs::{Block, Ipfs};
use thiserror::Error;

use crate::block::CidError;
pub use crate::block::{MAX_BLOCK_BYTES, MAX_CID_CHARS, cid_of, is_raw, parse_cid};
use crate::direct::{self, DirectError};

/// The largest file `add` stores and `cat` reads back.
pub const MAX_FILE_BYTES: usize = 256 << 20;

/// Why content could not be stored or fetched.
#[derive(Debug, Error)]
pub enum ContentError {
    /// A CID or CID path that does not parse or is not one this node takes.
    #[error(transparent)]
    BadCid(#[from] CidError),
    /// This many bytes is over the block limit, or over the limit a file
    /// (a record) was fetched with.
    #[error("{0} bytes is over the limit")]
    TooLarge(usize),
    /// No provider gave the block within the timeout.
    #[error("block {cid} not found within {timeout:?}")]
    NotFound {
        /// The block asked for.
        cid: Cid,
        /// How long the fetch waited.
        timeout: Duration,
    },
    /// A block whose bytes do not hash to its CID.
    #[error("block {0}: its bytes do not match its CID")]
    Mismatch(Cid),
    /// A path under a root that names nothing.
    #[error("no such path: {0}")]
    NoSuchPath(String),
    /// The underlying IPFS repo failed.
    #[error("content store: {0}")]
    Store(String),
}

/// A handle on the node's blocks.
#[derive(Clone)]
pub struct Content {
    ipfs: Ipfs,
    /// Relays a provider behind NAT may hold a circuit on (the node's
    /// bootstrap nodes, where players reserve theirs).
    relays: Vec<libp2p::Multiaddr>,
    /// Providers lately not reached through any relay, and when: each try
    /// counts against this node's circuit allowance on the relay (8 a peer
    /// per 10 minutes), so a fetch retried every few seconds must not
    /// spend it all on one provider.
    unreached: Unreached,
}

/// Providers lately not reached through the relays, forgotten after
/// [`RELAYED_RETRY`] and beyond [`UNREACHED_KEPT`] (the oldest first).
#[derive(Clone, Default)]
struct Unreached(
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<PeerId, std::time::Instant>>>,
);

impl Unreached {
    fn lately(&self, p: &PeerId) -> bool {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.get(p).is_some_and(|t| t.elapsed() < RELAYED_RETRY)
    }

    fn mark(&self, p: PeerId) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.retain(|_, t| t.elapsed() < RELAYED_RETRY);
        if m.len() >= UNREACHED_KEPT
            && let Some(oldest) = m.iter().min_by_key(|(_, t)| **t).map(|(k, _)| *k)
        {
            m.remove(&oldest);
        }
        m.insert(p, std::time::Instant::now());
    }
}

/// How long a provider not reached through the relays is not tried through them again.
const RELAYED_RETRY: Duration = Duration::from_secs(60);

/// Most providers remembered as not reached (the oldest are forgotten first).
const UNREACHED_KEPT: usize = 1024;

impl Content {
    /// A handle on the blocks of `ipfs`, the node's embedded repo.
    pub fn new(ipfs: Ipfs) -> Self {
        Self {
            ipfs,
            relays: vec![],
            unreached: Default::default(),
        }
    }

    /// Reaches providers that cannot be dialed directly through these
    /// relays' circuits (each address ending in the relay's `/p2p/<id>`).
    pub fn with_relays(mut self, relays: Vec<libp2p::Multiaddr>) -> Self {
        self.relays = relays;
        self
    }

    /// Stores `bytes` as a pinned raw block, announces it, and returns its CID.
    pub async fn put(&self, bytes: Vec<u8>) -> Result<Cid, ContentError> {
        let cid = cid_of(&bytes);
        self.put_block(cid, bytes).await?;
        Ok(cid)
    }

    /// Stores a record (a transcript, batch data): one raw block when it
    /// fits, else a UnixFS file. Either way its CID names it.
    pub async fn put_record(&self, bytes: Vec<u8>) -> Result<Cid, ContentError> {
        if bytes.len() <= MAX_BLOCK_BYTES {
            self.put(bytes).await
        } else {
            self.add(bytes).await
        }
    }

    /// A record's bytes, whichever way [`Content::put_record`] stored it,
    /// up to [`MAX_FILE_BYTES`].
    pub async fn get_record(
        &self,
        cid: &Cid,
        providers: &[PeerId],
        timeout: Duration,
    ) -> Result<Vec<u8>, ContentError> {
        self.get_record_within(cid, providers, timeout, MAX_FILE_BYTES)
            .await
    }

    /// A record's bytes, refused as [`ContentError::TooLarge`] once they
    /// pass `max`: a file is read only that far (a peer that names a
    /// 256 MiB file where a 4 MiB record is expected costs 4 MiB, not 256).
    pub async fn get_record_within(
        &self,
        cid: &Cid,
        providers: &[PeerId],
        timeout: Duration,
        max: usize,
    ) -> Result<Vec<u8>, ContentError> {
        if is_raw(cid) {
            let b = self.get(cid, providers, timeout).await?;
            if b.len() > max {
                return Err(ContentError::TooLarge(b.len()));
            }
            Ok(b)
        } else {
            self.cat_within(
                rust_ipfs::IpfsPath::from(*cid),
                cid,
                providers,
                timeout,
                max,
            )
            .await
        }
    }

    /// Removes what fetching `cid` left in the store, unless it is pinned:
    /// a record refused (too large, or not what it claimed) is not kept.
    pub async fn discard(&self, cid: &Cid) {
        match self.ipfs.remove_block(cid, true).await {
            Ok(gone) => tracing::debug!(%cid, blocks = gone.len(), "refused content removed"),
            Err(e) => tracing::debug!(%cid, error = %e, "refused content not removed"),
        }
    }

    /// Stores a block that must match `cid`: a block whose bytes do not is refused, and nothing is stored.
    pub async fn put_block(&self, cid: Cid, bytes: Vec<u8>) -> Result<(), ContentError> {
        if bytes.len() > MAX_BLOCK_BYTES {
            return Err(ContentError::TooLarge(bytes.len()));
        }
        let block = Block::new(cid, bytes).map_err(|_| ContentError::Mismatch(cid))?;
        self.ipfs
            .put_block(&block)
            .await
            .map_err(|e| ContentError::Store(e.to_string()))?;
        self.pin(&cid).await?;
        self.announce(cid);
        Ok(())
    }

    /// Stores a DAG built elsewhere (a metadata directory): every block must
    /// match its CID and fit the block limit, or nothing is pinned. The root
    /// is pinned recursively and announced.
    pub async fn put_tree(
        &self,
        root: Cid,
        blocks: Vec<(Cid, Vec<u8>)>,
    ) -> Result<(), ContentError> {
        let mut checked = Vec::with_capacity(blocks.len());
        for (cid, bytes) in blocks {
            if bytes.len() > MAX_BLOCK_BYTES {
                return Err(ContentError::TooLarge(bytes.len()));
            }
            checked.push(Block::new(cid, bytes).map_err(|_| ContentError::Mismatch(cid))?);
        }
        if !checked.iter().any(|b| *b.cid() == root) {
            return Err(ContentError::Store(format!(
                "the tree's blocks do not include its root {root}"
            )));
        }
        for block in &checked {
            self.ipfs
                .put_block(block)
                .await
                .map_err(|e| ContentError::Store(e.to_string()))?;
        }
        self.pin(&root).await?;
        self.announce(root);
        Ok(())
    }

    /// The bytes of the file at `path` under the directory `root` (`3.json`),
    /// fetched like [`Content::cat`].
    pub async fn cat_path(
        &self,
        root: &Cid,
        path: &str,
        providers: &[PeerId],
        timeout: Duration,
    ) -> Result<Vec<u8>, ContentError> {
        self.cat_path_within(root, path, providers, timeout, MAX_FILE_BYTES)
            .await
    }

    /// As [`Content::cat_path`], refused once past `max` bytes.
    pub async fn cat_path_within(
        &self,
        root: &Cid,
        path: &str,
        providers: &[PeerId],
        timeout: Duration,
        max: usize,
    ) -> Result<Vec<u8>, ContentError> {
        self.reach(providers).await;
        let full = rust_ipfs::IpfsPath::from(*root)
            .sub_path(path)
            .map_err(|e| ContentError::BadCid(CidError(format!("{root}/{path}: {e}"))))?;
        self.cat_within(full, root, providers, timeout, max).await
    }

    /// The CID at `path` under the directory `root`, its block fetched (and
    /// kept) on the way.
    pub async fn resolve(
        &self,
        root: &Cid,
        path: &str,
        providers: &[PeerId],
        timeout: Duration,
    ) -> Result<Cid, ContentError> {
        let full = rust_ipfs::IpfsPath::from(*root)
            .sub_path(path)
            .map_err(|e| ContentError::BadCid(CidError(format!("{root}/{path}: {e}"))))?;
        let text = full.to_string();
        let resolved = tokio::time::timeout(
            timeout,
            self.ipfs.dag().resolve(full, true, providers, false),
        )
        .await
        .map_err(|_| ContentError::NotFound {
            cid: *root,
            timeout,
        })?;
        use rust_ipfs::dag::ResolveError;
        match resolved {
            Ok((node, _)) => Ok(*node.source()),
            Err(ResolveError::NotFound(..) | ResolveError::NoLinks(..)) => {
                Err(ContentError::NoSuchPath(text))
            }
            Err(e) => Err(ContentError::Store(format!("{text}: {e}"))),
        }
    }

    /// Publishes a provider record for `cid` (which this node holds) in the IPFS DHT.
    pub async fn provide(&self, cid: &Cid) -> Result<(), ContentError> {
        self.ipfs
            .provide(*cid)
            .await
            .map_err(|e| ContentError::Store(e.to_string()))
    }

    /// Announces this node as a provider of `cid` in the IPFS DHT, in the background.
    fn announce(&self, cid: Cid) {
        let ipfs = self.ipfs.clone();
        tokio::spawn(async move {
            if let Err(e) = ipfs.provide(cid).await {
                tracing::debug!(%cid, error = %e, "provider record not published");
            }
        });
    }

    /// Adds `bytes` as a UnixFS file (CIDv1, 256 KiB raw leaves), pinned and announced.
    pub async fn add(&self, bytes: Vec<u8>) -> Result<Cid, ContentError> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(ContentError::TooLarge(bytes.len()));
        }
        let stream = futures::stream::once(async move { Ok(bytes::Bytes::from(bytes)) });
        let opt = rust_ipfs::unixfs::AddOpt::Stream(Box::pin(stream));
        let path = self
            .ipfs
            .add_unixfs(opt)
            .cid_version(ipld_core::cid::Version::V1)
            .raw_leaves(true)
            .pin(true)
            .provide()
            .await
            .map_err(|e| ContentError::Store(e.to_string()))?;
        path.root()
            .cid()
            .copied()
            .ok_or_else(|| ContentError::Store("the added file has no root CID".into()))
    }

    /// A UnixFS file's bytes, fetched (every block checked) from `providers`,
    /// connected peers or the DHT's providers within `timeout`.
    pub async fn cat(
        &self,
        cid: &Cid,
        providers: &[PeerId],
        timeout: Duration,
    ) -> Result<Vec<u8>, ContentError> {
        self.cat_within(
            rust_ipfs::IpfsPath::from(*cid),
            cid,
            providers,
            timeout,
            MAX_FILE_BYTES,
        )
        .await
    }

    async fn cat_within(
        &self,
        path: rust_ipfs::IpfsPath,
        cid: &Cid,
        providers: &[PeerId],
        timeout: Duration,
        max: usize,
    ) -> Result<Vec<u8>, ContentError> {
        use futures::StreamExt;
        self.reach(providers).await;
        let path_text = path.to_string();
        let mut stream = self
            .ipfs
            .cat_unixfs(path)
            .providers(providers)
            .timeout(timeout)
            .max_length(max + 1);
        let mut out = Vec::new();
        let read = tokio::time::timeout(timeout, async {
            while let Some(chunk) = stream.next().await {
                use rust_ipfs::dag::ResolveError;
                use rust_ipfs::unixfs::TraversalFailed;
                let chunk = chunk.map_err(|e| match e {
                    TraversalFailed::Resolving(
                        ResolveError::NotFound(..) | ResolveError::NoLinks(..),
                    )
                    | TraversalFailed::Path(_) => ContentError::NoSuchPath(path_text.clone()),
                    TraversalFailed::Resolving(r) => {
                        ContentError::Store(format!("{path_text}: {r}"))
                    }
                    TraversalFailed::MaxLengthExceeded { size, .. } => ContentError::TooLarge(size),
                    e => ContentError::Store(e.to_string()),
                })?;
                out.extend_from_slice(&chunk);
                if out.len() > max {
                    return Err(ContentError::TooLarge(out.len()));
                }
            }
            Ok(())
        })
        .await;
        match read {
            Ok(Ok(())) => Ok(out),
            Ok(Err(ContentError::Store(e)))
                if e.contains("timed out") || e.contains("not found") =>
            {
                Err(ContentError::NotFound { cid: *cid, timeout })
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ContentError::NotFound { cid: *cid, timeout }),
        }
    }

    /// Whether this node holds `cid`'s block.
    pub async fn has(&self, cid: &Cid) -> bool {
        self.ipfs.repo().contains(cid).await.unwrap_or(false)
    }

    /// Stops keeping `cid` (and, for a file, the blocks under it).
    pub async fn unpin(&self, cid: &Cid) -> Result<(), ContentError> {
        self.ipfs
            .remove_pin(cid)
            .recursive()
            .await
            .map_err(|e| ContentError::Store(e.to_string()))
    }

    /// What this node keeps: every pinned root.
    pub async fn pins(&self) -> Result<Vec<Cid>, ContentError> {
        use futures::StreamExt;
        let list: Vec<_> = self.ipfs.list_pins(None).await.collect().await;
        let mut out = vec![];
        for item in list {
            let (cid, mode) = item.map_err(|e| ContentError::Store(e.to_string()))?;
            if !matches!(mode, rust_ipfs::PinMode::Indirect) {
                out.push(cid);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Pins what this node holds of `cid` (a block, or a whole file), so it is kept.
    pub async fn pin(&self, cid: &Cid) -> Result<(), ContentError> {
        if self.ipfs.is_pinned(cid).await.unwrap_or(false) {
            return Ok(());
        }
        self.ipfs
            .insert_pin(cid)
            .recursive()
            .local()
            .await
            .map_err(|e| ContentError::Store(e.to_string()))
    }

    /// Dials the providers this node is not connected to: bitswap asks only
    /// connected peers, and a provider named by gossip may be one this node
    /// lost (a partition that healed, a restart). Its addresses come from
    /// the DHTs and identify; one that cannot be reached is left to the
    /// fetch's own search.
    async fn reach(&self, providers: &[PeerId]) {
        if providers.is_empty() {
            return;
        }
        let connected = self.ipfs.connected().await.unwrap_or_default();
        for p in providers.iter().filter(|p| !connected.contains(p)) {
            match tokio::time::timeout(REACH_TIMEOUT, self.ipfs.connect(*p)).await {
                Ok(Ok(_)) => continue,
                Ok(Err(e)) => tracing::debug!(peer = %p, error = %e, "provider not dialed"),
                Err(_) => tracing::debug!(peer = %p, "provider not reached in time"),
            }
            // Behind NAT, a provider (a player who announced its match) is
            // reached through a circuit it holds on one of the relays.
            if self.relays.is_empty() || self.unreached.lately(p) {
                continue;
            }
            let mut reached = false;
            for relay in &self.relays {
                let via = relay
                    .clone()
                    .with(libp2p::multiaddr::Protocol::P2pCircuit)
                    .with(libp2p::multiaddr::Protocol::P2p(*p));
                match tokio::time::timeout(REACH_TIMEOUT, self.ipfs.connect(via)).await {
                    Ok(Ok(_)) => {
                        reached = true;
                        break;
                    }
                    Ok(Err(e)) => {
                        tracing::debug!(peer = %p, %relay, error = %e, "provider not reached through the relay")
                    }
                    Err(_) => {
                        tracing::debug!(peer = %p, %relay, "provider not reached through the relay in time")
                    }
                }
            }
            if !reached {
                self.unreached.mark(*p);
            }
        }
    }

    /// The block's bytes, from this node or from `providers` (and any peer
    /// that has it), within `timeout`.
    pub async fn get(
        &self,
        cid: &Cid,
        providers: &[PeerId],
        timeout: Duration,
    ) -> Result<Vec<u8>, ContentError> {
        // Dialing the providers counts inside the fetch's time.
        let started = std::time::Instant::now();
        self.reach(providers).await;
        // When bitswap has not delivered within half the time left, the
        // named providers (else the connected peers) are asked directly
        // (see `direct`).
        let bitswap_for = timeout.saturating_sub(started.elapsed()) / 2;
        let swapped = self
            .ipfs
            .get_block(cid)
            .providers(providers)
            .timeout(bitswap_for)
            .await;
        let block = match swapped {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!(%cid, error = %e, "bitswap did not deliver");
                let asked = if providers.is_empty() {
                    let mut peers = self.ipfs.connected().await.unwrap_or_default();
                    peers.truncate(DIRECT_TO_CONNECTED);
                    peers
                } else {
                    providers.to_vec()
                };
                self.direct(cid, &asked, timeout.saturating_sub(started.elapsed()))
                    .await
                    .map_err(|e| match e {
                        ContentError::NotFound { .. } => {
                            ContentError::NotFound { cid: *cid, timeout }
                        }
                        e => e,
                    })?
            }
        };
        if block.data().len() > MAX_BLOCK_BYTES {
            return Err(ContentError::TooLarge(block.data().len()));
        }
        if block.verify().is_err() {
            return Err(ContentError::Mismatch(*cid));
        }
        Ok(block.data().to_vec())
    }
}

impl Content {
    /// Asks each named provider in turn for the block directly, and stores
    /// what one sends (checked against the CID), as bitswap would have.
    async fn direct(
        &self,
        cid: &Cid,
        providers: &[PeerId],
        within: Duration,
    ) -> Result<Block, ContentError> {
        let deadline = std::time::Instant::now() + within;
        let mut last = ContentError::NotFound {
            cid: *cid,
            timeout: within,
        };
        for p in providers {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            let got = direct::request(&self.ipfs, *p, cid, left)
                .await
                .map_err(|e| match e {
                    DirectError::NotFound => ContentError::NotFound {
                        cid: *cid,
                        timeout: left,
                    },
                    DirectError::TooLarge(n) => ContentError::TooLarge(n),
                    DirectError::Mismatch => ContentError::Mismatch(*cid),
                });
            match got {
                Ok(block) => {
                    self.ipfs
                        .put_block(&block)
                        .await
                        .map_err(|e| ContentError::Store(e.to_string()))?;
                    tracing::info!(%cid, provider = %p, "block fetched by direct request after bitswap failed");
                    return Ok(block);
                }
                Err(e) => {
                    tracing::debug!(%cid, provider = %p, error = %e, "direct block request failed");
                    last = e;
                }
            }
        }
        Err(last)
    }
}

/// Connected peers asked directly for a block no provider was named for.
const DIRECT_TO_CONNECTED: usize = 16;

/// How long a fetch waits to dial a provider it is not connected to.
const REACH_TIMEOUT: Duration = Duration::from_secs(3);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_not_reached_through_the_relays_is_not_tried_again_at_once() {
        let u = Unreached::default();
        let (a, b) = (PeerId::random(), PeerId::random());
        assert!(!u.lately(&a));
        u.mark(a);
        assert!(u.lately(&a) && !u.lately(&b));
        // The table stays bounded: the oldest goes first.
        for _ in 0..UNREACHED_KEPT {
            u.mark(PeerId::random());
        }
        assert!(!u.lately(&a), "forgotten once the table was full");
        assert_eq!(u.0.lock().unwrap().len(), UNREACHED_KEPT);
    }

    #[test]
    fn record_cids_are_cidv1_raw_sha256_and_parse_back() {
        let cid = cid_of(b"transcript bytes");
        assert_eq!(cid.version(), ipld_core::cid::Version::V1);
        assert!(is_raw(&cid));
        assert_eq!(cid.hash().code(), 0x12, "sha2-256");
        let text = cid.to_string();
        assert!(text.starts_with("bafkrei"), "{text}");
        assert_eq!(parse_cid(&text).unwrap(), cid);
        assert_ne!(cid_of(b"other bytes"), cid);
        assert!(parse_cid("").is_err());
        assert!(parse_cid(&"z".repeat(MAX_CID_CHARS + 1)).is_err());
    }
}
