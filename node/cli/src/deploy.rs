//! `cyteria deploy`: deploys the contracts to a chain with the one
//! deployment definition (`contracts/script/Deploy.s.sol`, run by forge) and
//! writes the network profile's deployment file, so that nodes join with
//! `--network`.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use alloy::providers::{Provider, ProviderBuilder};
use cyteria_chain::deploy::{DeployParams, DeploymentFile, deploy};
use cyteria_node::cli::CommonArgs;
use cyteria_node::config::ConfigError;
use cyteria_node::profile::{Profile, networks_dir, valid_name};
use cyteria_wallet::chain_args::{ChainArgs, check_chain_id, wallet_key};
use libp2p::Multiaddr;

/// Longest a deployment may take: on a public chain each of the script's
/// ~40 transactions waits for its block.
const DEPLOY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

#[derive(clap::Args)]
pub(crate) struct Args {
    /// JSON-RPC endpoint of the chain (else the network profile's, else the config file's).
    #[arg(long, env = "CYTERIA_RPC")]
    rpc: Option<String>,
    /// A file with the deployer's hex secp256k1 key (else `[chain] key_file`, else the CYTERIA_ETH_KEY variable). It pays the gas and gets the genesis CYTR.
    #[arg(long, env = "CYTERIA_ETH_KEY_FILE")]
    eth_key_file: Option<PathBuf>,
    /// Write a new network profile NAME (this chain, its id, the --bootstrap nodes, the deployment) to the networks directory, instead of the --network profile's deployment file.
    #[arg(long)]
    name: Option<String>,
    /// Bootstrap nodes the new profile lists, each ending in `/p2p/<peer id>` (repeatable).
    #[arg(long, value_delimiter = ',')]
    bootstrap: Vec<Multiaddr>,
    /// Who may pause the contracts in an emergency (never unpause); default: the deployer.
    #[arg(long)]
    guardian: Option<Address>,
    /// Wallets that may join the validator set before the first batch settles (repeatable); default: the deployer.
    #[arg(long, value_delimiter = ',')]
    genesis_validator: Vec<Address>,
    /// Simulation ticks a second of chain time (60 on a public network).
    #[arg(long, default_value_t = cyteria_game::rules::TICK_RATE)]
    tick_rate: u32,
    /// Replace a deployment file that exists (the old deployment stays on the chain; nodes follow the new one).
    #[arg(long)]
    force: bool,
}

/// Where the deployment goes: a profile's deployment file, and for a new
/// profile the profile itself.
struct Target {
    deployment: PathBuf,
    new_profile: Option<(PathBuf, String)>,
}

fn target(a: &Args, profile: Option<&Profile>) -> Result<Target, ConfigError> {
    match (&a.name, profile) {
        (Some(n), _) => {
            if !valid_name(n) {
                return Err(ConfigError::Invalid(format!(
                    "--name {n:?}: lowercase letters, digits, '-' and '_'"
                )));
            }
            let dir = networks_dir();
            Ok(Target {
                deployment: dir.join(format!("{n}.deployment.json")),
                new_profile: Some((dir.join(format!("{n}.toml")), n.clone())),
            })
        }
        (None, Some(p)) => Ok(Target {
            deployment: p.deployment_path().ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "the network {} names no deployment file to write: add `deployment = \"{}.deployment.json\"` to its profile, or deploy a new profile with --name",
                    p.name, p.name
                ))
            })?,
            new_profile: None,
        }),
        (None, None) => Err(ConfigError::Invalid(
            "say where the deployment goes: --network NAME|FILE writes that profile's deployment file, --name NEW writes a new profile".into(),
        )),
    }
}

pub(crate) async fn run(common: &CommonArgs, a: Args) -> anyhow::Result<()> {
    let profile = common.profile()?;
    let file = common.file()?;
    let rpc = a
        .rpc
        .clone()
        .or_else(|| file.chain.rpc.clone())
        .ok_or_else(|| {
            ConfigError::Invalid(
                "no chain endpoint: give --rpc, or a --network whose profile names one".into(),
            )
        })?;
    let t = target(&a, profile.as_ref())?;
    for b in &a.bootstrap {
        if !matches!(b.iter().last(), Some(libp2p::multiaddr::Protocol::P2p(_))) {
            return Err(ConfigError::Invalid(format!(
                "bootstrap address {b} must end in /p2p/<peer id>"
            ))
            .into());
        }
    }
    let mut written = vec![&t.deployment];
    written.extend(t.new_profile.as_ref().map(|(p, _)| p));
    if let Some(f) = written.iter().find(|f| f.exists())
        && !a.force
    {
        return Err(ConfigError::Invalid(format!(
            "{} exists: the network is deployed already (--force deploys again and replaces it)",
            f.display()
        ))
        .into());
    }
    let key = wallet_key(
        &file,
        &ChainArgs {
            eth_key_file: a.eth_key_file.clone(),
            ..Default::default()
        },
    )
    .map_err(|e| ConfigError::Invalid(e.to_string()))?;

    // The chain it is, and whether the deployer can pay, before forge runs.
    let provider = ProviderBuilder::new()
        .connect(&rpc)
        .await
        .map_err(|e| anyhow::anyhow!("connecting to {rpc}: {e}"))?;
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| anyhow::anyhow!("asking {rpc} for its chain id: {e}"))?;
    check_chain_id(&file, &rpc, chain_id)?;
    if chain_id > i64::MAX as u64 {
        return Err(ConfigError::Invalid(format!(
            "{rpc} serves chain {chain_id}, beyond what a profile can record"
        ))
        .into());
    }
    let genesis = provider
        .get_block_by_number(0u64.into())
        .await?
        .ok_or_else(|| anyhow::anyhow!("{rpc} has no block 0"))?
        .header
        .hash;
    let balance = provider.get_balance(key.address()).await?;
    anyhow::ensure!(
        !balance.is_zero(),
        "the deployer {} holds no gas on chain {chain_id}: fund it first",
        key.address()
    );

    let spinner = indicatif::ProgressBar::new_spinner().with_message(format!(
        "deploying the contracts to chain {chain_id} as {} (forge, one transaction at a time)",
        key.address()
    ));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let params = DeployParams {
        guardian: a.guardian,
        tick_rate: a.tick_rate,
        genesis: vec![],
        genesis_validators: a.genesis_validator.clone(),
        timeout: Some(DEPLOY_TIMEOUT),
    };
    let deployed = deploy(&rpc, &key, &params).await;
    spinner.finish_and_clear();
    let deployment = deployed?;

    // Both files are written whole and in place only once both are ready.
    let record = DeploymentFile {
        contracts: deployment,
        chain_id: Some(chain_id),
        genesis: Some(genesis),
    };
    let mut files = vec![(
        t.deployment.clone(),
        serde_json::to_string_pretty(&record)? + "\n",
    )];
    if let Some((path, name)) = &t.new_profile {
        let p = Profile {
            name: name.clone(),
            chain_id,
            rpc: Some(rpc.clone()),
            bootstrap: a.bootstrap.iter().map(ToString::to_string).collect(),
            deployment: t.deployment.file_name().map(PathBuf::from),
            confirmations: file.chain.confirmations,
            base: PathBuf::new(),
        };
        files.push((path.clone(), p.to_toml().map_err(anyhow::Error::msg)?));
    }
    let staged = files
        .iter()
        .map(|(path, text)| stage(path, text).map(|tmp| (tmp, path)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for (tmp, path) in staged {
        let placed = if a.force {
            tmp.persist(path)
        } else {
            tmp.persist_noclobber(path)
        };
        placed.map_err(|e| {
            anyhow::anyhow!(
                "{} not written ({}); the deployment is on chain: {}",
                path.display(),
                e.error,
                serde_json::to_string(&record).unwrap_or_default()
            )
        })?;
        println!(
            "{} {}",
            if *path == t.deployment {
                "deployment"
            } else {
                "profile"
            },
            path.display()
        );
    }
    println!("settlement {}", deployment.settlement);
    println!("cytr {}", deployment.cytr);
    println!("items {}", deployment.cyteria_items);
    let name = t
        .new_profile
        .as_ref()
        .map(|(_, n)| n.clone())
        .or_else(|| common.network.clone())
        .unwrap_or_default();
    eprintln!(
        "Deployed to chain {chain_id}. Nodes join with `--network {name}`; the deployer {} holds the genesis CYTR to hand out, and the timelock holds every admin role.",
        key.address()
    );
    Ok(())
}

/// Writes `text` to a temporary file beside `path` (its directory made
/// first), synced, for the caller to move into place.
fn stage(path: &Path, text: &str) -> anyhow::Result<tempfile::NamedTempFile> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    Ok(tmp)
}
