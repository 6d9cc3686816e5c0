//! A local chain for tests and the devnet: anvil (the npm-installed foundry
//! binary, launched through alloy's node bindings) with every contract
//! deployed from Rust, mirroring `contracts/script/Deploy.s.sol`, plus a
//! genesis allocation of CYTR minted before the deployer hands every admin
//! role to the timelock.

use std::path::PathBuf;

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::aliases::{U48, U96};
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;

use crate::bindings::*;
use crate::chain::{Chain, Deployment, ensure_success};

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
        let provider = provider(&anvil.endpoint(), keys[0].clone()).await?;
        let deployment = deploy(&provider, keys[0].address(), &genesis(&keys), tick_rate).await?;
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
    /// blocks are mined through the voting delay and period, it is queued,
    /// the clock passes the timelock's delay, and it executes. Returns the
    /// proposal id.
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
        self.mine(1).await?;
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
        self.mine(delay + 1).await?;
        // Each vote mines a block: with many voters the voting period (in
        // blocks) can end before the last one votes, and a vote on a closed
        // proposal reverts. Voting stops when the proposal is no longer
        // active (1); a proposal that closed short of its quorum fails below.
        for v in voters {
            if dao.state(id).call().await? != 1 {
                break;
            }
            let voter = CyteriaDAO::new(self.deployment.cyteria_dao, self.provider(*v).await?);
            tx!("castVote", voter.castVote(id, 1));
        }
        let period: u64 = dao.votingPeriod().call().await?.try_into()?;
        self.mine(period + 1).await?;
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

/// Deploys every contract as `Deploy.s.sol` does, minting `genesis` CYTR first.
pub async fn deploy(
    p: &DynProvider,
    me: Address,
    genesis: &[(Address, U256)],
    tick_rate: u32,
) -> anyhow::Result<Deployment> {
    let ether = U256::from(10u64).pow(U256::from(18));
    let timelock =
        TimelockController::deploy(p.clone(), U256::from(86_400), vec![], vec![], me).await?;
    let forwarder = ERC2771Forwarder::deploy(p.clone(), "CyteriaForwarder".to_string()).await?;
    let cytr = CYTR::deploy(p.clone(), me, U256::from(1_000_000_000u64) * ether).await?;
    let tl = *timelock.address();
    let items = CyteriaItems::deploy(p.clone(), me, tl, U96::from(250)).await?;
    let staking = Staking::deploy(
        p.clone(),
        *cytr.address(),
        me,
        U256::from(1_000) * ether,
        7 * 86_400,
    )
    .await?;
    let settlement = Settlement::deploy(
        p.clone(),
        *staking.address(),
        *items.address(),
        me,
        tl,
        U256::from(500) * ether,
    )
    .await?;
    let market = Marketplace::deploy(
        p.clone(),
        *cytr.address(),
        *items.address(),
        me,
        tl,
        250,
        *forwarder.address(),
    )
    .await?;
    let auction = Auction::deploy(
        p.clone(),
        *cytr.address(),
        *items.address(),
        me,
        tl,
        *forwarder.address(),
    )
    .await?;
    let crafting = Crafting::deploy(
        p.clone(),
        *items.address(),
        *cytr.address(),
        me,
        tl,
        *forwarder.address(),
    )
    .await?;
    let dao = CyteriaDAO::deploy(
        p.clone(),
        *cytr.address(),
        tl,
        U48::from(1),
        50,
        U256::from(4),
    )
    .await?;

    // Slashed player bonds go to the DAO treasury (the timelock).
    let bond = PlayerBond::deploy(
        p.clone(),
        *cytr.address(),
        me,
        U256::from(100) * ether,
        7 * 86_400,
        tl,
    )
    .await?;
    let minter = items.MINTER_ROLE().call().await?;
    tx!(
        "grant settlement minter",
        items.grantRole(minter, *settlement.address())
    );
    tx!(
        "grant crafting minter",
        items.grantRole(minter, *crafting.address())
    );
    // The settlement is the one slasher of stakes and bonds, named once.
    tx!(
        "settlement slashes stakes",
        staking.setSettlement(*settlement.address())
    );
    tx!(
        "settlement slashes bonds",
        bond.setSettlement(*settlement.address())
    );
    tx!(
        "settlement slashes bonds",
        settlement.setPlayerBond(*bond.address())
    );
    for t in 0u8..3 {
        for r in 0u8..4 {
            tx!(
                "set recipe",
                crafting.setRecipe(t, r, true, (10u128 * 10u128.pow(18)) << r)
            );
        }
    }
    let cytr_minter = cytr.MINTER_ROLE().call().await?;
    if !genesis.is_empty() {
        tx!("genesis minter", cytr.grantRole(cytr_minter, me));
        for (to, amount) in genesis {
            tx!("genesis mint", cytr.mint(*to, *amount));
        }
        tx!("drop genesis minter", cytr.renounceRole(cytr_minter, me));
    }
    tx!(
        "items pauser",
        items.grantRole(items.PAUSER_ROLE().call().await?, tl)
    );
    tx!(
        "market pauser",
        market.grantRole(market.PAUSER_ROLE().call().await?, tl)
    );
    tx!(
        "auction pauser",
        auction.grantRole(auction.PAUSER_ROLE().call().await?, tl)
    );
    tx!(
        "crafting pauser",
        crafting.grantRole(crafting.PAUSER_ROLE().call().await?, tl)
    );
    tx!(
        "rewards",
        staking.grantRole(staking.REWARDS_ROLE().call().await?, tl)
    );
    tx!("cytr minter", cytr.grantRole(cytr_minter, tl));
    tx!(
        "proposer",
        timelock.grantRole(timelock.PROPOSER_ROLE().call().await?, *dao.address())
    );
    tx!(
        "canceller",
        timelock.grantRole(timelock.CANCELLER_ROLE().call().await?, *dao.address())
    );
    tx!(
        "executor",
        timelock.grantRole(timelock.EXECUTOR_ROLE().call().await?, Address::ZERO)
    );
    let admin = B256::ZERO;
    tx!("admin", cytr.grantRole(admin, tl));
    tx!("admin", items.grantRole(admin, tl));
    tx!("admin", staking.grantRole(admin, tl));
    if tick_rate != 60 {
        tx!("setTickRate", settlement.setTickRate(tick_rate));
    }
    tx!("admin", settlement.grantRole(admin, tl));
    tx!("admin", market.grantRole(admin, tl));
    tx!("admin", auction.grantRole(admin, tl));
    tx!("admin", crafting.grantRole(admin, tl));
    tx!("admin", bond.grantRole(admin, tl));
    tx!("renounce", cytr.renounceRole(admin, me));
    tx!("renounce", items.renounceRole(admin, me));
    tx!("renounce", staking.renounceRole(admin, me));
    tx!("renounce", settlement.renounceRole(admin, me));
    tx!("renounce", market.renounceRole(admin, me));
    tx!("renounce", auction.renounceRole(admin, me));
    tx!("renounce", crafting.renounceRole(admin, me));
    tx!("renounce", bond.renounceRole(admin, me));
    tx!(
        "renounce",
        timelock.renounceRole(timelock.DEFAULT_ADMIN_ROLE().call().await?, me)
    );
    let _ = p.get_block_number().await?;
    Ok(Deployment {
        cytr: *cytr.address(),
        cyteria_items: *items.address(),
        staking: *staking.address(),
        settlement: *settlement.address(),
        marketplace: *market.address(),
        auction: *auction.address(),
        crafting: *crafting.address(),
        timelock_controller: tl,
        cyteria_dao: *dao.address(),
        forwarder: *forwarder.address(),
        player_bond: *bond.address(),
    })
}
