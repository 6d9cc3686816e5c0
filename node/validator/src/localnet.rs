//! Whole networks in one process, on loopback and a local anvil: what the
//! tests, the benchmarks and the devnet start. Every part is the real thing
//! (swarms, validators, the chain); only the process boundary is missing.

use std::path::PathBuf;
use std::sync::Arc;

use libp2p::Multiaddr;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use cyteria_chain::anvil::LocalChain;
use cyteria_chain::chain::Chain;
use cyteria_settlement::binding;

use crate::{Validator, ValidatorConfig, ValidatorHandle};
use cyteria_node::identity::Identity;
use cyteria_node::metrics::Metrics;
use cyteria_node::net::{NetConfig, Role};
use cyteria_node::node::Node;
use cyteria_node::store::Store;
use cyteria_node::wire::ActionMessage;

/// A validator running in this process.
pub struct RunningValidator {
    /// The validator's node.
    pub node: Arc<Node>,
    /// Its handles (the ledger it reflects).
    pub handle: ValidatorHandle,
    /// Set to `true` to stop the validator's loop.
    pub stop: watch::Sender<bool>,
    /// The task running the validator's loop, and how it ended.
    pub task: JoinHandle<anyhow::Result<()>>,
}

impl RunningValidator {
    /// The validator node's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.node.ctx.net.metrics
    }

    /// Stops the validator and its swarm.
    pub async fn shut_down(self) {
        self.stop.send_replace(true);
        let _ = self.task.await;
        self.node.ctx.net.clone().stop().await;
    }
}

/// Where a validator keeps its state.
pub struct ValidatorSetup {
    /// The node's key.
    pub identity: Identity,
    /// The node's store, which also holds the validator's durable records.
    pub store: Store,
    /// The IPFS repo's directory; in memory when `None`.
    pub repo: Option<PathBuf>,
    /// Bootstrap nodes to dial, each ending in `/p2p/<peer id>`.
    pub bootstrap: Vec<Multiaddr>,
    /// How the validator paces itself.
    pub config: ValidatorConfig,
    /// Measures gossip latency across the nodes of this process (the devnet).
    pub clock: Option<cyteria_node::net::latency::GossipClock>,
}

impl ValidatorSetup {
    /// A fresh identity and an in-memory store.
    pub fn ephemeral(bootstrap: Vec<Multiaddr>, config: ValidatorConfig) -> anyhow::Result<Self> {
        Ok(Self {
            identity: Identity::generate(),
            store: Store::temporary()?,
            repo: None,
            bootstrap,
            config,
            clock: None,
        })
    }
}

/// Starts anvil account `account` of `chain` as a validator on loopback TCP.
pub async fn start_validator(
    chain: &LocalChain,
    account: usize,
    setup: ValidatorSetup,
) -> anyhow::Result<RunningValidator> {
    start_validator_on(
        chain.endpoint(),
        chain.keys[account].clone(),
        chain.deployment,
        setup,
    )
    .await
}

/// Starts a validator with wallet `key` on the chain at `endpoint`, on the
/// current runtime (the devnet gives each role a runtime of its own).
pub async fn start_validator_on(
    endpoint: String,
    key: alloy::signers::local::PrivateKeySigner,
    deployment: cyteria_chain::chain::Deployment,
    setup: ValidatorSetup,
) -> anyhow::Result<RunningValidator> {
    let loopback = vec!["/ip4/127.0.0.1/tcp/0".parse()?];
    start_validator_listening(loopback, endpoint, key, deployment, setup).await
}

/// [`start_validator_on`], listening on `listen` rather than loopback TCP
/// (a validator on a test's public network segment).
pub async fn start_validator_listening(
    listen: Vec<Multiaddr>,
    endpoint: String,
    key: alloy::signers::local::PrivateKeySigner,
    deployment: cyteria_chain::chain::Deployment,
    setup: ValidatorSetup,
) -> anyhow::Result<RunningValidator> {
    let mut cfg = NetConfig::loopback(Role::Player);
    cfg.listen = listen;
    cfg.bootstrap = setup.bootstrap;
    cfg.repo = setup.repo;
    cfg.behaviour.clock = setup.clock;
    // A validator restarted in this process on its repository waits for
    // the stopped swarm's last tasks to let go of it (a new process, as
    // `cyteria validator` is, finds it free at once).
    let mut tries = 0;
    let node = loop {
        match Node::builder(cfg.clone())
            .identity(setup.identity.clone())
            .store(setup.store.clone())
            .start()
            .await
        {
            Ok(n) => break Arc::new(n),
            Err(e) if tries < 50 && format!("{e:#}").contains("already being used") => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    };
    let c = Chain::connect(&endpoint, key.clone(), deployment).await?;
    let (v, handle) = Validator::new(node.clone(), c, key, setup.config).await?;
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(v.run(rx));
    Ok(RunningValidator {
        node,
        handle,
        stop,
        task,
    })
}

/// Gossips `m` from `node` until a peer takes it, for up to 30 s.
pub async fn send_action(node: &Node, m: &ActionMessage) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match node.send_action(m).await {
            Ok(()) => return Ok(()),
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
}

/// Locks the deployment's least player bond from anvil account `wallet`,
/// so that the drops of the key bound to it mint (the account needs that
/// much CYTR: [`cyteria_chain::anvil::LocalChain::start_with_validators`]
/// gives its player accounts enough).
pub async fn bond_wallet(chain: &LocalChain, wallet: usize) -> anyhow::Result<()> {
    let c = Chain::connect(
        &chain.endpoint(),
        chain.keys[wallet].clone(),
        chain.deployment,
    )
    .await?;
    let least = c.min_bond().await?;
    c.bond(least).await
}

/// Binds `node`'s game key to anvil account `wallet` of `chain` and gossips the binding.
pub async fn bind_wallet(
    chain: &LocalChain,
    node: &Node,
    wallet: usize,
    nonce: u64,
) -> anyhow::Result<alloy::primitives::Address> {
    let w = &chain.keys[wallet];
    let d = binding::domain(cyteria_chain::anvil::CHAIN_ID, chain.deployment.settlement);
    let id = &node.ctx.identity;
    let b = binding::bind(w, id.public_key(), |m| id.sign(m), nonce, &d)?;
    send_action(node, &ActionMessage::Bind(b)).await?;
    Ok(w.address())
}
