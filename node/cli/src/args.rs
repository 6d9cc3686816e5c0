//! What several subcommands share: flag groups and the helpers they parse with.

use cyteria_node::cli::{CommonArgs, NetArgs};
use cyteria_node::config::ConfigError;
use cyteria_wallet::chain_args::ChainArgs;

/// Network and chain flags together (commands that gossip and read the chain).
#[derive(clap::Args)]
pub(crate) struct ChainNetArgs {
    #[command(flatten)]
    pub(crate) net: NetArgs,
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
}

/// CYTR as a decimal string ("2.5") in wei.
pub(crate) fn cytr(s: &str) -> Result<u128, ConfigError> {
    cyteria_wallet::cytr(s).map_err(|e| ConfigError::Invalid(e.to_string()))
}

/// Brings the node's chain index up to date (kept in `<data dir>/index`).
pub(crate) async fn synced_index(
    common: &CommonArgs,
    chain: &cyteria_chain::chain::Chain,
) -> anyhow::Result<cyteria_chain::indexer::Indexer> {
    cyteria_wallet::synced_index(&common.data_dir(), "index", chain).await
}
