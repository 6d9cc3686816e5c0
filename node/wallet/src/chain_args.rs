//! The chain flags the `cyteria` command and the window share, layered over
//! the config file's `[chain]` section, and the connection they make.

use std::path::PathBuf;

use clap::Args;
use cyteria_node::config::{ConfigError, FileConfig};

/// Chain flags; each overrides the config file's `[chain]` section.
#[derive(Args, Clone, Debug, Default)]
pub struct ChainArgs {
    /// JSON-RPC endpoint of the chain (http(s):// or ws(s)://).
    #[arg(long, env = "CYTERIA_RPC")]
    pub rpc: Option<String>,
    /// The deployment JSON: every contract's address.
    #[arg(long, env = "CYTERIA_DEPLOYMENT")]
    pub deployment: Option<PathBuf>,
    /// A file with the wallet's hex secp256k1 key (else the CYTERIA_ETH_KEY variable).
    #[arg(long, env = "CYTERIA_ETH_KEY_FILE")]
    pub eth_key_file: Option<PathBuf>,
}

/// Connects to the chain as the configured wallet.
pub async fn connect_chain(
    file: &FileConfig,
    args: &ChainArgs,
) -> anyhow::Result<cyteria_chain::chain::Chain> {
    let rpc = args
        .rpc
        .clone()
        .or_else(|| file.chain.rpc.clone())
        .ok_or_else(|| {
            ConfigError::Invalid("no chain endpoint: give --rpc or [chain] rpc".into())
        })?;
    let path = args
        .deployment
        .clone()
        .or_else(|| file.chain.deployment.clone())
        .ok_or_else(|| {
            ConfigError::Invalid("no deployment: give --deployment or [chain] deployment".into())
        })?;
    let record = cyteria_chain::deploy::DeploymentFile::read(&path).map_err(|e| {
        let hint = match &file.network_name {
            Some(n) if !path.exists() => format!(
                " (no deployment of the network {n} is known here: `cyteria deploy --network {n}` writes it, or give --deployment)"
            ),
            _ => String::new(),
        };
        ConfigError::Invalid(format!(
            "cannot read the deployment {}: {e}{hint}",
            path.display()
        ))
    })?;
    let signer = wallet_key(file, args).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    let chain = cyteria_chain::chain::Chain::connect(&rpc, signer, record.contracts)
        .await
        .map_err(|e| anyhow::anyhow!("connecting to {rpc}: {e}"))?;
    check_chain_id(file, &rpc, chain.chain_id)?;
    record.check(&chain).await.map_err(|e| {
        ConfigError::Invalid(format!("{e}: {rpc} is not where {} points", path.display()))
    })?;
    Ok(chain.with_confirmations(file.chain.confirmations))
}

/// Refuses an endpoint that serves another chain than the configured one
/// (the network profile's): signing there could spend real funds or settle
/// to the wrong contracts.
pub fn check_chain_id(file: &FileConfig, rpc: &str, served: u64) -> Result<(), ConfigError> {
    match file.chain.chain_id {
        Some(want) if want != served => Err(ConfigError::Invalid(format!(
            "{rpc} serves chain {served}, but {} is chain {want}",
            file.network_name
                .as_deref()
                .map_or("the configured chain".to_string(), |n| format!(
                    "the network {n}"
                ))
        ))),
        _ => Ok(()),
    }
}

/// The wallet's key: `--eth-key-file`, else the config's `[chain] key_file`,
/// else the `CYTERIA_ETH_KEY` variable.
pub fn wallet_key(
    file: &FileConfig,
    args: &ChainArgs,
) -> anyhow::Result<alloy::signers::local::PrivateKeySigner> {
    let key_file = args
        .eth_key_file
        .as_deref()
        .or(file.chain.key_file.as_deref());
    cyteria_chain::chain::load_signer(key_file, "CYTERIA_ETH_KEY")
}
