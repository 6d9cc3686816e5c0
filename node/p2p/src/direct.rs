//! Direct block requests (`/cyteria/block/1`): one block by its CID from one
//! named peer, over a libp2p stream. Bitswap stays the way blocks travel;
//! this is the fallback when it fails for a provider the caller names.
//!
//! Why it exists: after a partition healed (the devnet's `partition`
//! scenario) or a node restarted with the same peer id, rust-ipfs 0.16's
//! bitswap kept failing to move blocks between the peers concerned, even
//! with the connection back up and the provider announcing again, while
//! streams of other protocols on the same connection worked.
//!
//! The request is one frame with the CID's bytes; the answer one frame:
//! `0` and the block's bytes, or `1` when this node does not hold it. Only
//! raw-sized blocks ([`MAX_BLOCK_BYTES`]) are served, at most
//! `MAX_SERVING` at a time; the requester checks the bytes against the CID.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use ipld_core::cid::Cid;
use libp2p::{PeerId, StreamProtocol};
use rust_ipfs::{Block, Ipfs};

use crate::block::MAX_BLOCK_BYTES;
use crate::framing::{FrameError, read_frame_of, write_frame};
use crate::net::Net;

/// Why a direct request brought no block.
#[derive(Debug, thiserror::Error)]
pub enum DirectError {
    /// The peer does not hold it, or did not answer in time.
    #[error("the peer did not give the block")]
    NotFound,
    /// The peer's answer was over the block limit.
    #[error("{0} bytes is over the block limit of {MAX_BLOCK_BYTES}")]
    TooLarge(usize),
    /// The peer's bytes do not hash to the CID.
    #[error("the bytes do not match the CID")]
    Mismatch,
}

/// The libp2p stream protocol of direct block requests.
pub const BLOCK_PROTOCOL: &str = "/cyteria/block/1";
/// Requests answered at once; more are refused (the stream dropped).
pub const MAX_SERVING: usize = 16;
/// Requests of one peer answered at once.
pub const MAX_SERVING_PER_PEER: usize = 2;
/// How long a requester may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a request may hold its place, its answer's writing included:
/// a requester that never reads its answer lets go of it then.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
const FOUND: u8 = 0;
const NOT_HERE: u8 = 1;
/// A CID's bytes are far shorter than this.
const MAX_CID_BYTES: usize = 128;

/// Registers the protocol and answers requests from the node's blockstore
/// until the swarm stops.
pub async fn serve(net: &Net) -> anyhow::Result<()> {
    let mut incoming = net.ipfs.new_stream(BLOCK_PROTOCOL).await?;
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_SERVING));
    let serving: Arc<std::sync::Mutex<std::collections::BTreeMap<PeerId, usize>>> =
        Default::default();
    let net = net.clone();
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                n = incoming.next() => n,
                _ = net.stopped() => None,
            };
            let Some((peer, stream)) = next else { break };
            // Full, or this peer has its share: the stream is dropped (the
            // requester sees it closed and asks someone else).
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                net.metrics.reject("block", "busy");
                continue;
            };
            {
                let mut s = serving.lock().unwrap_or_else(|e| e.into_inner());
                let n = s.entry(peer).or_insert(0);
                if *n >= MAX_SERVING_PER_PEER {
                    net.metrics.reject("block", "peer busy");
                    continue;
                }
                *n += 1;
            }
            let (ipfs, serving) = (net.ipfs.clone(), serving.clone());
            tokio::spawn(async move {
                match tokio::time::timeout(ANSWER_TIMEOUT, answer(&ipfs, stream)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "block request not answered"),
                    Err(_) => tracing::debug!(%peer, "block request took too long; dropped"),
                }
                drop(permit);
                let mut s = serving.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(n) = s.get_mut(&peer) {
                    *n -= 1;
                    if *n == 0 {
                        s.remove(&peer);
                    }
                }
            });
        }
    });
    Ok(())
}

async fn answer(ipfs: &Ipfs, mut stream: libp2p::Stream) -> anyhow::Result<()> {
    let req =
        tokio::time::timeout(REQUEST_TIMEOUT, read_frame_of(&mut stream, MAX_CID_BYTES)).await??;
    let cid = Cid::try_from(req.as_slice())?;
    let block = ipfs.repo().get_block_now(&cid).await.ok().flatten();
    let mut out = Vec::with_capacity(1 + block.as_ref().map_or(0, |b| b.data().len()));
    match block {
        Some(b) if b.data().len() <= MAX_BLOCK_BYTES => {
            out.push(FOUND);
            out.extend_from_slice(b.data());
        }
        _ => out.push(NOT_HERE),
    }
    write_frame(&mut stream, &out).await?;
    Ok(())
}

/// Asks `peer` for `cid`'s block; the bytes are checked against the CID.
pub async fn request(
    ipfs: &Ipfs,
    peer: PeerId,
    cid: &Cid,
    timeout: Duration,
) -> Result<Block, DirectError> {
    let not_found = || DirectError::NotFound;
    let exchange = async {
        let mut s = ipfs
            .open_stream(peer, StreamProtocol::new(BLOCK_PROTOCOL))
            .await
            .map_err(|e| {
                tracing::debug!(%peer, error = %e, "block request stream not opened");
                not_found()
            })?;
        write_frame(&mut s, &cid.to_bytes())
            .await
            .map_err(|_| not_found())?;
        read_frame_of(&mut s, MAX_BLOCK_BYTES + 1)
            .await
            .map_err(|e| match e {
                FrameError::Oversized(n) => DirectError::TooLarge(n),
                FrameError::Io(_) => not_found(),
            })
    };
    let answer = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| not_found())??;
    match answer.split_first() {
        Some((&FOUND, bytes)) => {
            Block::new(*cid, bytes.to_vec()).map_err(|_| DirectError::Mismatch)
        }
        _ => Err(not_found()),
    }
}
