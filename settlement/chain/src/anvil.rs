//! A local chain for tests and the devnet: anvil (the npm-installed foundry
//! binary, launched through alloy's node bindings) with every contract
//! deployed by `contracts/script/Deploy.s.sol` itself
//! ([`crate::deploy::deploy`] runs it with forge: one deployment definition
//! for every chain), with a genesis
//! allocation of CYTR minted before the deployer hands every admin role to
//! the timelock.

use std::path::PathBuf;

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;

use crate::bindings::*;
use crate::chain::{Chain, Deployment, ensure_success};
use crate::deploy::{DeployParams, deploy};

/// Polygon Amoy's chain id, which the local chain takes.
pub const CHAIN_ID: u64 = 80002;

macro_rules! tx {
    ($what:literal, $call:expr) => {{
        let r = $call
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", $what))?
            .get_receipt()
            .await?;
        ensure_success(&r, $what)?;
    }};
}

/// The anvil binary: `$CYTERIA_ANVIL`, else the one `contracts/` installs from npm.
pub fn anvil_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CYTERIA_ANVIL") {
        return PathBuf::from(p);
    }
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
    ))
}

/// CYTR (whole tokens) a local chain gives each player account: ten times
/// the deployment's least player bond.
pub const PLAYER_CYTR: u64 = 1_000;

fn player_cytr() -> U256 {
    U256::from(PLAYER_CYTR) * U256::from(10u64).pow(U256::from(18))
}

/// A running anvil with the contracts deployed.
pub struct LocalChain {
    /// The anvil process; dropping it shuts the chain down.
    pub anvil: AnvilInstance,
    /// Where the contracts were deployed.
    pub deployment: Deployment,
    /// anvil's funded accounts (the first deployed the contracts).
    pub keys: Vec<PrivateKeySigner>,
}

impl LocalChain {
    /// Starts anvil on a free port and deploys; `genesis` gets CYTR.
    pub async fn start(genesis: &[(Address, U256)]) -> anyhow::Result<LocalChain> {
        Self::start_with(|_| genesis.to_vec()).await
    }

    /// Starts anvil and deploys, with the genesis CYTR chosen once the accounts are known.
    pub async fn start_with(
        genesis: impl FnOnce(&[PrivateKeySigner]) -> Vec<(Address, U256)>,
    ) -> anyhow::Result<LocalChain> {
        Self::start_accounts(10, genesis).await
    }

    /// Like [`LocalChain::start_with`], with `accounts` funded accounts (anvil's default is 10).
    pub async fn start_accounts(
        accounts: usize,
        genesis: impl FnOnce(&[PrivateKeySigner]) -> Vec<(Address, U256)>,
    ) -> anyhow::Result<LocalChain> {
        Self::start_ticking(accounts, 60, genesis).await
    }

    /// Like [`LocalChain::start_accounts`], on a chain whose matches play at
    /// `tick_rate` ticks per second of chain time (a devnet that plays
    /// faster than real time).
    pub async fn start_ticking(
        accounts: usize,
        tick_rate: u32,
        genesis: impl FnOnce(&[PrivateKeySigner]) -> Vec<(Address, U256)>,
    ) -> anyhow::Result<LocalChain> {
        let bin = anvil_binary();
        anyhow::ensure!(
            bin.exists(),
            "no anvil at {} (run `make test` once, or set CYTERIA_ANVIL)",
            bin.display()
        );
        let anvil = Anvil::at(bin)
            .chain_id(CHAIN_ID)
            .args(["--accounts".to_string(), accounts.max(1).to_string()])
            .try_spawn()?;
        let keys: Vec<PrivateKeySigner> = anvil
            .keys()
            .iter()
            .map(|k| PrivateKeySigner::from(k.clone()))
            .collect();
        let mut genesis = genesis(&keys);
        if genesis.is_empty() {
            // Nothing at all, rather than the script's public allocation.
            genesis.push((keys[0].address(), U256::ZERO));
        }
        let params = DeployParams {
            guardian: None,
            tick_rate,
            genesis,
            // A local chain's accounts are the ones that may form its genesis set.
            genesis_validators: keys.iter().map(|k| k.address()).collect(),
            timeout: None,
        };
        let deployment = deploy(&anvil.endpoint(), &keys[0], &params).await?;
        Ok(LocalChain {
            anvil,
            deployment,
            keys,
        })
    }

    /// Starts anvil and deploys with accounts `1..=n` staked and registered
    /// as validators (`stake` CYTR each, as much again left in their wallets),
    /// on a chain whose matches play at `tick_rate` ticks per second. The
    /// other accounts get [`PLAYER_CYTR`] each, for player bonds.
    pub async fn start_with_validators(
        n: usize,
        stake: U256,
        tick_rate: u32,
    ) -> anyhow::Result<LocalChain> {
        let chain = Self::start_ticking(10, tick_rate, |keys| {
            keys[1..]
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let amount = if i < n {
                        stake * U256::from(2)
                    } else {
                        player_cytr()
                    };
                    (k.address(), amount)
                })
                .collect()
        })
        .await?;
        for i in 1..=n {
            let c =
                Chain::connect(&chain.endpoint(), chain.keys[i].clone(), chain.deployment).await?;
            c.become_validator(stake).await?;
        }
        Ok(chain)
    }

    /// anvil's HTTP endpoint.
    pub fn endpoint(&self) -> String {
        self.anvil.endpoint()
    }

    /// An endpoint to this chain through a [`flaky_proxy`] failing `method`
    /// (`""`: every request) while `failing` is set.
    pub async fn flaky_endpoint(
        &self,
        method: &'static str,
        failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> std::io::Result<String> {
        let upstream = std::net::SocketAddr::from(([127, 0, 0, 1], self.anvil.port()));
        let proxy = flaky_proxy(upstream, method, failing).await?;
        Ok(format!("http://{proxy}"))
    }

    /// Moves the chain's clock `seconds` ahead and mines a block (auctions end, timelocks open).
    pub async fn advance_time(&self, seconds: u64) -> anyhow::Result<()> {
        let p = self.provider(0).await?;
        let _: serde_json::Value = p.raw_request("evm_increaseTime".into(), (seconds,)).await?;
        let _: serde_json::Value = p.raw_request("evm_mine".into(), ()).await?;
        Ok(())
    }

    /// anvil's WebSocket endpoint.
    pub fn ws_endpoint(&self) -> String {
        self.anvil.ws_endpoint()
    }

    /// Mines `blocks` blocks at once.
    pub async fn mine(&self, blocks: u64) -> anyhow::Result<()> {
        let p = self.provider(0).await?;
        let _: serde_json::Value = p.raw_request("anvil_mine".into(), (blocks,)).await?;
        Ok(())
    }

    /// Takes one proposal through the DAO and the timelock: the `voters`
    /// (anvil accounts holding CYTR) delegate their votes to themselves,
    /// `proposer` proposes `calldata` on `target`, the voters vote for it,
    /// the clock passes the voting delay and period (days: the DAO's clock
    /// is in seconds), it is queued, the clock passes the timelock's delay,
    /// and it executes. Returns the proposal id.
    pub async fn pass_proposal(
        &self,
        proposer: usize,
        voters: &[usize],
        target: Address,
        calldata: alloy::primitives::Bytes,
        description: &str,
    ) -> anyhow::Result<U256> {
        for v in voters {
            let p = self.provider(*v).await?;
            tx!(
                "delegate",
                CYTR::new(self.deployment.cytr, p).delegate(self.keys[*v].address())
            );
        }
        self.advance_time(1).await?;
        let dao = CyteriaDAO::new(self.deployment.cyteria_dao, self.provider(proposer).await?);
        let (targets, values, calldatas) = (vec![target], vec![U256::ZERO], vec![calldata]);
        let description_hash = alloy::primitives::keccak256(description.as_bytes());
        tx!(
            "propose",
            dao.propose(
                targets.clone(),
                values.clone(),
                calldatas.clone(),
                description.to_string()
            )
        );
        let id = dao
            .hashProposal(
                targets.clone(),
                values.clone(),
                calldatas.clone(),
                description_hash,
            )
            .call()
            .await?;
        let delay: u64 = dao.votingDelay().call().await?.try_into()?;
        self.advance_time(delay + 1).await?;
        // A vote on a closed proposal reverts: voting stops when the
        // proposal is no longer active (1); a proposal that closed short of
        // its quorum fails below.
        for v in voters {
            if dao.state(id).call().await? != 1 {
                break;
            }
            let voter = CyteriaDAO::new(self.deployment.cyteria_dao, self.provider(*v).await?);
            tx!("castVote", voter.castVote(id, 1));
        }
        let period: u64 = dao.votingPeriod().call().await?.try_into()?;
        self.advance_time(period + 1).await?;
        // A fresh connection: the proposer's nonce moved on when it voted through another one.
        let dao = CyteriaDAO::new(self.deployment.cyteria_dao, self.provider(proposer).await?);
        tx!(
            "queue",
            dao.queue(
                targets.clone(),
                values.clone(),
                calldatas.clone(),
                description_hash
            )
        );
        let timelock =
            TimelockController::new(self.deployment.timelock_controller, self.provider(0).await?);
        let min_delay: u64 = timelock.getMinDelay().call().await?.try_into()?;
        self.advance_time(min_delay + 1).await?;
        tx!(
            "execute",
            dao.execute(targets, values, calldatas, description_hash)
        );
        let state = dao.state(id).call().await?;
        anyhow::ensure!(
            state == 7,
            "the proposal is in state {state}, not executed (7)"
        );
        Ok(id)
    }

    /// An anvil account's provider.
    pub async fn provider(&self, account: usize) -> anyhow::Result<DynProvider> {
        provider(&self.endpoint(), self.keys[account].clone()).await
    }
}

async fn provider(url: &str, key: PrivateKeySigner) -> anyhow::Result<DynProvider> {
    Ok(ProviderBuilder::new()
        .wallet(EthereumWallet::from(key))
        .connect(url)
        .await?
        .erased())
}

/// An HTTP proxy to `upstream` that answers 500 to JSON-RPC requests
/// naming `method` (every request, for `""`: the chain is down) while
/// `failing` is set; everything else passes through. For tests of what a
/// node does when its RPC endpoint fails.
pub async fn flaky_proxy(
    upstream: std::net::SocketAddr,
    method: &'static str,
    failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::io::Result<std::net::SocketAddr> {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    async fn read_http(s: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
        let mut buf = vec![];
        let mut byte = [0u8; 4096];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < end + 4 + len {
                    let n = s.read(&mut byte).await.ok()?;
                    if n == 0 {
                        return None;
                    }
                    buf.extend_from_slice(&byte[..n]);
                }
                return Some(buf);
            }
            let n = s.read(&mut byte).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&byte[..n]);
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let failing = failing.clone();
            tokio::spawn(async move {
                let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                while let Some(req) = read_http(&mut client).await {
                    if failing.load(Ordering::SeqCst)
                        && String::from_utf8_lossy(&req).contains(method)
                    {
                        let _ = client
                            .write_all(
                                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n",
                            )
                            .await;
                        continue;
                    }
                    if up.write_all(&req).await.is_err() {
                        return;
                    }
                    let Some(resp) = read_http(&mut up).await else {
                        return;
                    };
                    if client.write_all(&resp).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(addr)
}
