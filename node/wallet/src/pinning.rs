//! A player's node keeps what its wallet owns: the metadata JSON and the
//! sprite of every item the wallet holds, fetched and pinned in the node's
//! content store, so the items stay resolvable while the player is online
//! even if the validators that first published them are not.
//!
//! The node follows the chain with an index of its own (`<data dir>/holdings`,
//! apart from the one `cyteria inventory` opens, so both can run at once).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::{Address, U256};
use cyteria_chain::chain::Chain;
use cyteria_chain::indexer::Indexer;
use ipld_core::cid::Cid;

use cyteria_node::content::{Content, parse_cid};

use crate::wear::WearFollower;

/// `ipfs://<root>/<path>` → (root, path).
pub fn parse_uri(uri: &str) -> Option<(Cid, String)> {
    let rest = uri.strip_prefix("ipfs://")?;
    let (root, path) = rest.split_once('/')?;
    if path.is_empty()
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return None;
    }
    Some((parse_cid(root).ok()?, path.to_string()))
}

/// What one pass found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Items the wallet holds.
    pub items: usize,
    /// Files newly pinned on this pass.
    pub pinned: usize,
    /// Items whose metadata could not be fetched yet (tried again next pass).
    pub missing: usize,
}

/// Keeps the metadata of `owner`'s items pinned (and, with
/// [`Pinner::following_wear`], their settled wear written for the node).
pub struct Pinner {
    content: Content,
    chain: Chain,
    index: Indexer,
    owner: Address,
    done: BTreeSet<U256>,
    timeout: Duration,
    wear: Option<(WearFollower, PathBuf)>,
}

impl Pinner {
    /// A pinner of `owner`'s items with its chain index in `db`; each fetch waits `timeout`.
    pub fn open(
        content: Content,
        chain: Chain,
        db: sled::Db,
        owner: Address,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let index = Indexer::open(db, chain.deployment)?;
        Ok(Self {
            content,
            chain,
            index,
            owner,
            done: BTreeSet::new(),
            timeout,
            wear: None,
        })
    }

    /// Also follows the settled wear of the wallet's items on every pass,
    /// for the node whose loadout files are in `data_dir`
    /// ([`crate::wear::WearFollower`]).
    pub fn following_wear(mut self, data_dir: &Path) -> anyhow::Result<Self> {
        self.wear = Some((
            WearFollower::open(&self.index.db())?,
            data_dir.to_path_buf(),
        ));
        Ok(self)
    }

    /// Brings the index up to date and pins the metadata of every item the
    /// wallet holds that is not pinned yet. An item without metadata (one
    /// crafted on chain) or whose metadata is not found counts as missing.
    pub async fn pass(&mut self) -> anyhow::Result<Pass> {
        self.index.sync(&self.chain.provider).await?;
        let items = self.index.items_of(self.owner);
        if let Some((follower, dir)) = &mut self.wear {
            follower
                .follow(&self.index, &self.content, self.timeout)
                .await;
            follower.write(dir, items.iter().map(|(id, _)| id.to_be_bytes()))?;
        }
        let mut pass = Pass {
            items: items.len(),
            ..Pass::default()
        };
        for (id, _) in items {
            if self.done.contains(&id) {
                continue;
            }
            let uri = self.chain.items().uri(id).call().await?;
            let Some((root, json)) = parse_uri(&uri) else {
                pass.missing += 1;
                continue;
            };
            let png = json.replace(".json", ".png");
            let mut ok = true;
            for path in [json, png] {
                match self.content.resolve(&root, &path, &[], self.timeout).await {
                    Ok(cid) => {
                        self.content.pin(&cid).await?;
                        pass.pinned += 1;
                    }
                    Err(e) => {
                        tracing::debug!(%id, %uri, error = %e, "item metadata not found yet");
                        ok = false;
                    }
                }
            }
            if ok {
                self.done.insert(id);
            } else {
                pass.missing += 1;
            }
        }
        Ok(pass)
    }

    /// Runs a pass every `every` until the task is dropped.
    pub async fn run(mut self, every: Duration) {
        loop {
            match self.pass().await {
                Ok(p) if p.pinned > 0 || p.missing > 0 => {
                    tracing::info!(
                        items = p.items,
                        pinned = p.pinned,
                        missing = p.missing,
                        "item metadata pinned"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "holdings pass failed"),
            }
            tokio::time::sleep(every).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_uris_parse_and_bad_ones_do_not() {
        let root = "bafybeiaefisouohtjlxangwzkyhexnpz3d7qfirxfh4lqybqmo4jmccwtu";
        let (cid, path) = parse_uri(&format!("ipfs://{root}/12.json")).unwrap();
        assert_eq!((cid.to_string().as_str(), path.as_str()), (root, "12.json"));
        for bad in [
            "ipfs:///3.json",
            "https://x/1.json",
            &format!("ipfs://{root}/"),
            &format!("ipfs://{root}/../x"),
            "ipfs://nope/1.json",
        ] {
            assert_eq!(parse_uri(bad), None, "{bad}");
        }
    }
}
