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

/// The anvil binary: `$CYTERIA_ANVIL`, else the one `contracts/` installs from npm.
pub fn anvil_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CYTERIA_ANVIL") {
        return PathBuf::from(p);
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"))
}

/// A running anvil with the contracts deployed.
pub struct LocalChain {
    pub anvil: AnvilInstance,
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
    pub async fn start_with(genesis: impl FnOnce(&[PrivateKeySigner]) -> Vec<(Address, U256)>) -> anyhow::Result<LocalChain> {
        Self::start_accounts(10, genesis).await
    }

    /// Like [`LocalChain::start_with`], with `accounts` funded accounts (anvil's default is 10).
    pub async fn start_accounts(
        accounts: usize,
        genesis: impl FnOnce(&[PrivateKeySigner]) -> Vec<(Address, U256)>,
    ) -> anyhow::Result<LocalChain> {
        let bin = anvil_binary();
        anyhow::ensure!(bin.exists(), "no anvil at {} (run `make test` once, or set CYTERIA_ANVIL)", bin.display());
        let anvil = Anvil::at(bin).chain_id(CHAIN_ID).args(["--accounts".to_string(), accounts.max(1).to_string()]).try_spawn()?;
        let keys: Vec<PrivateKeySigner> = anvil.keys().iter().map(|k| PrivateKeySigner::from(k.clone())).collect();
        let provider = provider(&anvil.endpoint(), keys[0].clone()).await?;
        let deployment = deploy(&provider, keys[0].address(), &genesis(&keys)).await?;
        Ok(LocalChain { anvil, deployment, keys })
    }

    /// Starts anvil and deploys with accounts `1..=n` staked and registered
    /// as validators (`stake` CYTR each, as much again left in their wallets).
    pub async fn start_with_validators(n: usize, stake: U256) -> anyhow::Result<LocalChain> {
        let chain = Self::start_with(|keys| keys[1..=n].iter().map(|k| (k.address(), stake * U256::from(2))).collect()).await?;
        for i in 1..=n {
            let c = Chain::connect(&chain.endpoint(), chain.keys[i].clone(), chain.deployment).await?;
            c.become_validator(stake).await?;
        }
        Ok(chain)
    }

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

    pub fn ws_endpoint(&self) -> String {
        self.anvil.ws_endpoint()
    }

    /// An anvil account's provider.
    pub async fn provider(&self, account: usize) -> anyhow::Result<DynProvider> {
        provider(&self.endpoint(), self.keys[account].clone()).await
    }
}

async fn provider(url: &str, key: PrivateKeySigner) -> anyhow::Result<DynProvider> {
    Ok(ProviderBuilder::new().wallet(EthereumWallet::from(key)).connect(url).await?.erased())
}

macro_rules! tx {
    ($what:literal, $call:expr) => {{
        let r = $call.send().await?.get_receipt().await?;
        ensure_success(&r, $what)?;
    }};
}

/// Deploys every contract as `Deploy.s.sol` does, minting `genesis` CYTR first.
pub async fn deploy(p: &DynProvider, me: Address, genesis: &[(Address, U256)]) -> anyhow::Result<Deployment> {
    let ether = U256::from(10u64).pow(U256::from(18));
    let timelock = TimelockController::deploy(p.clone(), U256::from(86_400), vec![], vec![], me).await?;
    let forwarder = ERC2771Forwarder::deploy(p.clone(), "CyteriaForwarder".to_string()).await?;
    let cytr = CYTR::deploy(p.clone(), me, U256::from(1_000_000_000u64) * ether).await?;
    let tl = *timelock.address();
    let items = CyteriaItems::deploy(p.clone(), me, tl, U96::from(250)).await?;
    let staking = Staking::deploy(p.clone(), *cytr.address(), me, U256::from(1_000) * ether, 7 * 86_400).await?;
    let settlement = Settlement::deploy(p.clone(), *staking.address(), *items.address(), me, tl, U256::from(500) * ether).await?;
    let market = Marketplace::deploy(p.clone(), *cytr.address(), *items.address(), me, tl, 250, *forwarder.address()).await?;
    let auction = Auction::deploy(p.clone(), *cytr.address(), *items.address(), me, tl, *forwarder.address()).await?;
    let crafting = Crafting::deploy(p.clone(), *items.address(), *cytr.address(), me, tl, *forwarder.address()).await?;
    let dao = CyteriaDAO::deploy(p.clone(), *cytr.address(), tl, U48::from(1), 50, U256::from(4)).await?;

    let minter = items.MINTER_ROLE().call().await?;
    tx!("grant settlement minter", items.grantRole(minter, *settlement.address()));
    tx!("grant crafting minter", items.grantRole(minter, *crafting.address()));
    let slasher = staking.SLASHER_ROLE().call().await?;
    tx!("grant slasher", staking.grantRole(slasher, *settlement.address()));
    for t in 0u8..3 {
        for r in 0u8..4 {
            tx!("set recipe", crafting.setRecipe(t, r, true, (10u128 * 10u128.pow(18)) << r));
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
    tx!("items pauser", items.grantRole(items.PAUSER_ROLE().call().await?, tl));
    tx!("market pauser", market.grantRole(market.PAUSER_ROLE().call().await?, tl));
    tx!("auction pauser", auction.grantRole(auction.PAUSER_ROLE().call().await?, tl));
    tx!("crafting pauser", crafting.grantRole(crafting.PAUSER_ROLE().call().await?, tl));
    tx!("rewards", staking.grantRole(staking.REWARDS_ROLE().call().await?, tl));
    tx!("cytr minter", cytr.grantRole(cytr_minter, tl));
    tx!("proposer", timelock.grantRole(timelock.PROPOSER_ROLE().call().await?, *dao.address()));
    tx!("canceller", timelock.grantRole(timelock.CANCELLER_ROLE().call().await?, *dao.address()));
    tx!("executor", timelock.grantRole(timelock.EXECUTOR_ROLE().call().await?, Address::ZERO));
    let admin = B256::ZERO;
    tx!("admin", cytr.grantRole(admin, tl));
    tx!("admin", items.grantRole(admin, tl));
    tx!("admin", staking.grantRole(admin, tl));
    tx!("admin", settlement.grantRole(admin, tl));
    tx!("admin", market.grantRole(admin, tl));
    tx!("admin", auction.grantRole(admin, tl));
    tx!("admin", crafting.grantRole(admin, tl));
    tx!("renounce", cytr.renounceRole(admin, me));
    tx!("renounce", items.renounceRole(admin, me));
    tx!("renounce", staking.renounceRole(admin, me));
    tx!("renounce", settlement.renounceRole(admin, me));
    tx!("renounce", market.renounceRole(admin, me));
    tx!("renounce", auction.renounceRole(admin, me));
    tx!("renounce", crafting.renounceRole(admin, me));
    tx!("renounce", timelock.renounceRole(timelock.DEFAULT_ADMIN_ROLE().call().await?, me));
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
    })
}
