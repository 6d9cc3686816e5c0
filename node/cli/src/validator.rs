//! `cyteria validator`: verify matches and actions, keep the ledger, agree on and settle batches.

use cyteria_node::cli::{self, CommonArgs, NetArgs};
use cyteria_node::config::ConfigError;
use cyteria_node::net::Role;
use cyteria_wallet::chain_args::{ChainArgs, connect_chain};
use tokio::sync::watch;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    net: NetArgs,
    #[command(flatten)]
    chain: ChainArgs,
    /// Least seconds between one settlement and the next proposal.
    #[arg(long)]
    epoch_interval_s: Option<f64>,
    /// Seconds a leader has before the next validator leads.
    #[arg(long)]
    round_timeout_s: Option<f64>,
}

fn seconds(v: f64, what: &str) -> Result<std::time::Duration, ConfigError> {
    std::time::Duration::try_from_secs_f64(v)
        .map_err(|_| ConfigError::Invalid(format!("{what}: {v} is not a number of seconds")))
}

pub(crate) async fn run(common: &CommonArgs, a: Args) -> anyhow::Result<()> {
    use cyteria_validator::{Validator, ValidatorConfig};
    let file = common.file()?;
    let v = &file.validator;
    let cfg = ValidatorConfig {
        epoch_interval: seconds(
            a.epoch_interval_s.unwrap_or(v.epoch_interval_s),
            "epoch interval",
        )?,
        round_timeout: seconds(
            a.round_timeout_s.unwrap_or(v.round_timeout_s),
            "round timeout",
        )?,
        submit_grace: seconds(v.submit_grace_s, "submit grace")?,
        ..ValidatorConfig::default()
    };
    let chain = connect_chain(&file, &a.chain).await?;
    let signer = cyteria_wallet::chain_args::wallet_key(&file, &a.chain)?;
    if !chain.validators().await?.contains(&signer.address()) {
        tracing::warn!(address = %signer.address(), "this wallet is not a registered validator: it verifies, but its signatures do not count");
    }
    println!("validator {}", signer.address());
    let (node, _) = cli::start(common, &a.net, Role::Player).await?;
    let node = std::sync::Arc::new(node);
    let (v, _handle) = Validator::new(node.clone(), chain, signer, cfg).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        cli::stop_signal().await;
        let _ = stop_tx.send(true);
    });
    let result = v.run(stop_rx).await;
    node.net().clone().stop().await;
    result
}
