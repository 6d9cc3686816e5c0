//! Following the chain's latest settled epoch, the beacon a player's
//! offers name (`cyteria_node::beacon`).

use std::time::Duration;

use cyteria_chain::chain::Chain;
use cyteria_node::beacon::BeaconFeed;
use cyteria_node::cli::AbortOnDrop;
use tokio::sync::watch;

/// Reads the beacon now, then every `every` in a task that ends when the
/// returned guard drops; a failed read keeps the last beacon (and is
/// logged once per streak).
pub async fn follow(chain: Chain, every: Duration) -> anyhow::Result<(BeaconFeed, AbortOnDrop)> {
    let first = chain.beacon().await?;
    let (tx, rx) = watch::channel(first);
    let task = tokio::spawn(async move {
        let mut failing = false;
        loop {
            tokio::time::sleep(every).await;
            match chain.beacon().await {
                Ok(b) => {
                    failing = false;
                    tx.send_if_modified(|old| std::mem::replace(old, b) != b);
                }
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "the chain's beacon could not be read; offers keep the last one");
                }
                Err(_) => {}
            }
            if tx.is_closed() {
                return;
            }
        }
    });
    Ok((rx, AbortOnDrop(task)))
}
