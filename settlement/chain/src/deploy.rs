//! Deploying the contracts to a chain, any chain (a local anvil, Amoy,
//! Polygon): `contracts/script/Deploy.s.sol` is the one deployment
//! definition, run by forge; this module runs it and reads the addresses it
//! returns. The Solidity script is not mirrored here.

use std::path::PathBuf;

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;

use serde::{Deserialize, Serialize};

use crate::chain::Deployment;

/// The forge binary: `$CYTERIA_FORGE`, else the one `contracts/` installs from npm.
pub fn forge_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CYTERIA_FORGE") {
        return PathBuf::from(p);
    }
    contracts_dir().join("node_modules/@foundry-rs/forge-linux-amd64/bin/forge")
}

/// The contracts' Foundry project (sources, the deployment script):
/// `$CYTERIA_CONTRACTS`, else this checkout's `contracts/`.
pub fn contracts_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("CYTERIA_CONTRACTS") {
        return PathBuf::from(p);
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../contracts"))
}

/// A deployment file: every contract's address, and, when `cyteria
/// deploy` or the devnet wrote it, the chain it is on (its id and the hash
/// of its block 0). Nodes refuse a deployment file whose chain the
/// endpoint does not serve: two chains can share an id (a local anvil
/// takes Amoy's), never a genesis block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentFile {
    /// The contracts.
    #[serde(flatten)]
    pub contracts: Deployment,
    /// The chain id the contracts were deployed on.
    #[serde(rename = "ChainId", default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<u64>,
    /// The hash of that chain's block 0.
    #[serde(rename = "Genesis", default, skip_serializing_if = "Option::is_none")]
    pub genesis: Option<B256>,
}

/// The largest deployment file read (one is about 1 KiB).
const MAX_DEPLOYMENT_FILE: u64 = 64 * 1024;

impl DeploymentFile {
    /// Reads and parses the file at `path` (at most 64 KiB).
    pub fn read(path: &std::path::Path) -> Result<DeploymentFile, String> {
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_DEPLOYMENT_FILE + 1).read_to_string(&mut text))
            .map_err(|e| e.to_string())?;
        if text.len() as u64 > MAX_DEPLOYMENT_FILE {
            return Err(format!("larger than {MAX_DEPLOYMENT_FILE} bytes"));
        }
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }

    /// Records the chain `chain` is on.
    pub async fn on(contracts: Deployment, chain: &crate::chain::Chain) -> anyhow::Result<Self> {
        Ok(DeploymentFile {
            contracts,
            chain_id: Some(chain.chain_id),
            genesis: Some(chain.genesis().await?),
        })
    }

    /// Refuses `chain` when it is not the chain this file was written for.
    pub async fn check(&self, chain: &crate::chain::Chain) -> anyhow::Result<()> {
        if let Some(id) = self.chain_id {
            anyhow::ensure!(
                id == chain.chain_id,
                "the deployment is on chain {id}, but the endpoint serves chain {}",
                chain.chain_id
            );
        }
        if let Some(g) = self.genesis {
            let served = chain.genesis().await?;
            anyhow::ensure!(
                g == served,
                "the deployment is on the chain whose block 0 is {g}, but the endpoint serves another chain {} (block 0 {served})",
                chain.chain_id
            );
        }
        Ok(())
    }
}

/// What a deployment chooses; everything else is the script's.
#[derive(Clone, Debug, Default)]
pub struct DeployParams {
    /// Who may pause in an emergency (never unpause); the deployer if none.
    pub guardian: Option<Address>,
    /// Simulation ticks per second of chain time (60 on a public network).
    pub tick_rate: u32,
    /// CYTR minted at genesis; empty: the script's default (a tenth of
    /// the cap to the deployer, who distributes it).
    pub genesis: Vec<(Address, U256)>,
    /// Who may join the validator set before the first batch settles;
    /// empty: the deployer.
    pub genesis_validators: Vec<Address>,
    /// How long the script may take; `None`: 5 minutes (a local chain).
    /// On a public chain each of its ~40 transactions waits for a block.
    pub timeout: Option<std::time::Duration>,
}

/// Longest a deployment may take (a cold build of the contracts included).
const DEPLOY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// One `forge script` at a time in this process: two at once would race on
/// forge's build cache in `contracts/`.
static FORGE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Deploys the whole system to `rpc` with `key` by running
/// `contracts/script/Deploy.s.sol` and reads the addresses it returns.
pub async fn deploy(
    rpc: &str,
    key: &PrivateKeySigner,
    params: &DeployParams,
) -> anyhow::Result<Deployment> {
    let forge = forge_binary();
    anyhow::ensure!(
        forge.exists(),
        "no forge at {} (run `make test` once, or set CYTERIA_FORGE)",
        forge.display()
    );
    let (accounts, amounts): (Vec<String>, Vec<String>) = if params.genesis.is_empty() {
        (vec![], vec![])
    } else {
        params
            .genesis
            .iter()
            .map(|(a, n)| (a.to_string(), n.to_string()))
            .unzip()
    };
    let mut cmd = tokio::process::Command::new(&forge);
    // `--slow`: each transaction only after the last one's receipt. Sent
    // as a burst, one was once lost and the rest queued behind its nonce
    // for good.
    cmd.current_dir(contracts_dir())
        .args([
            "script",
            "script/Deploy.s.sol:Deploy",
            "--broadcast",
            "--slow",
            "--json",
        ])
        .args(["--rpc-url", rpc])
        .env("DEPLOYER_KEY", key.to_bytes().to_string())
        .env("CYTERIA_TICK_RATE", params.tick_rate.max(1).to_string())
        .env(
            "CYTERIA_GUARDIAN",
            params.guardian.unwrap_or(key.address()).to_string(),
        )
        .kill_on_drop(true);
    if !accounts.is_empty() {
        cmd.env("CYTERIA_GENESIS_ACCOUNTS", accounts.join(","))
            .env("CYTERIA_GENESIS_AMOUNTS", amounts.join(","));
    }
    if !params.genesis_validators.is_empty() {
        let v: Vec<String> = params
            .genesis_validators
            .iter()
            .map(|a| a.to_string())
            .collect();
        cmd.env("CYTERIA_GENESIS_VALIDATORS", v.join(","));
    }
    let limit = params.timeout.unwrap_or(DEPLOY_TIMEOUT);
    // What forge broadcast is in its record, whatever happens to it here.
    let record = contracts_dir().join("broadcast/Deploy.s.sol");
    let out = {
        let _one = FORGE.lock().await;
        tokio::time::timeout(limit, cmd.output())
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "the deployment script took over {limit:?}; what it sent before it was stopped is in {}/<chain id>/run-latest.json",
                    record.display()
                )
            })??
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let tail = |b: &[u8]| {
        let t = String::from_utf8_lossy(b);
        t.chars()
            .rev()
            .take(2000)
            .collect::<String>()
            .chars()
            .rev()
            .collect::<String>()
    };
    anyhow::ensure!(
        out.status.success(),
        "the deployment script failed (what it sent is in {}/<chain id>/run-latest.json): {}{}",
        record.display(),
        tail(&out.stdout),
        tail(&out.stderr)
    );
    returned_deployment(&stdout).ok_or_else(|| {
        anyhow::anyhow!(
            "the deployment script returned no addresses: {}",
            tail(&out.stdout)
        )
    })
}

/// The addresses in `forge script --json`'s output: the script returns them
/// as a JSON string, which forge prints with its quotes escaped.
fn returned_deployment(stdout: &str) -> Option<Deployment> {
    stdout.lines().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        let s = v["returns"]["json"]["value"].as_str()?;
        serde_json::from_str(&s.replace("\\\"", "\"")).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_addresses_are_read_from_forges_output() {
        let a = |n: u8| format!("0x{}", hex_of(n));
        let inner = format!(
            r#"{{\"CYTR\":\"{}\",\"CyteriaItems\":\"{}\",\"Staking\":\"{}\",\"Settlement\":\"{}\",\"Marketplace\":\"{}\",\"Auction\":\"{}\",\"Crafting\":\"{}\",\"TimelockController\":\"{}\",\"CyteriaDAO\":\"{}\",\"ERC2771Forwarder\":\"{}\",\"PlayerBond\":\"{}\"}}"#,
            a(1),
            a(2),
            a(3),
            a(4),
            a(5),
            a(6),
            a(7),
            a(8),
            a(9),
            a(10),
            a(11)
        );
        let line = serde_json::json!({"logs": [], "returns": {"json": {"internal_type": "string", "value": inner}}, "success": true});
        let out = format!("compiling...\n{line}\n{{\"status\":\"success\"}}\n");
        let d = returned_deployment(&out).expect("parsed");
        assert_eq!(d.settlement, Address::repeat_byte(4));
        assert_eq!(d.player_bond, Address::repeat_byte(11));
        assert!(returned_deployment("no json here\n{}").is_none());
    }

    fn hex_of(n: u8) -> String {
        format!("{n:02x}").repeat(20)
    }
}
