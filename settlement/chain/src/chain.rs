//! A connection to the chain: a provider over HTTP or WebSocket with a local
//! signer (nonces and EIP-1559 fees filled by alloy, with a floor on the
//! priority fee for Polygon), retries of transient failures, and a
//! configurable confirmation depth.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use serde::{Deserialize, Serialize};

use cyteria_game::transcript::Beacon;
use cyteria_settlement::batch::{Batch, Mint, Slash};
use cyteria_settlement::ledger::{Bonded, Holding, Holdings};
use cyteria_settlement::provenance::{Reference, Settled};

use crate::bindings::{
    CYTR, CyteriaItems, PlayerBond, Settlement, Staking, batch_arg, mints_arg, slashes_arg,
};

/// Wallets one `PlayerBond.bondedAmong` call reads (about 15k gas each).
const BOND_QUERY_CHUNK: usize = 500;

/// Where every contract lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Deployment {
    /// The CYTR token.
    #[serde(rename = "CYTR")]
    pub cytr: Address,
    /// The CyteriaItems ERC-1155 contract that holds the items.
    pub cyteria_items: Address,
    /// The Staking contract: validators' CYTR stakes and their registry.
    pub staking: Address,
    /// The Settlement contract that records each epoch's batch.
    pub settlement: Address,
    /// The Marketplace for fixed-price item listings.
    pub marketplace: Address,
    /// The Auction for item lots.
    pub auction: Address,
    /// The Crafting contract for on-chain item upgrades.
    pub crafting: Address,
    /// The TimelockController that holds every admin role.
    pub timelock_controller: Address,
    /// The CyteriaDAO governor, which proposes to the timelock.
    #[serde(rename = "CyteriaDAO")]
    pub cyteria_dao: Address,
    /// The ERC-2771 forwarder that relays gasless transactions.
    #[serde(rename = "ERC2771Forwarder")]
    pub forwarder: Address,
    /// The PlayerBond contract: the CYTR a wallet locks to receive drops.
    pub player_bond: Address,
}

/// Sends `contract.call(args)` as `chain`'s wallet with Polygon-ready fees:
/// simulated first (a reverting transaction would waste a nonce), given
/// [`GAS_MARGIN`] over its estimate, then sent, then awaited to the
/// configured depth and checked. Evaluates to the receipt.
macro_rules! send {
    ($chain:expr, $what:literal, $contract:expr, $($call:tt)+) => {{
        let chain = &$chain;
        let (max_fee, tip) = chain.fees().await?;
        let contract = $contract;
        let call = contract.$($call)+.max_fee_per_gas(max_fee).max_priority_fee_per_gas(tip);
        call.call().await.map_err(|e| anyhow::anyhow!("{} would revert: {e}", $what))?;
        let gas = call
            .estimate_gas()
            .await
            .map_err(|e| anyhow::anyhow!("{} gas estimate: {e}", $what))?;
        let call = call.gas($crate::chain::with_margin(gas));
        let r = call
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", $what))?
            .with_required_confirmations(chain.confirmations)
            .with_timeout(Some($crate::chain::RECEIPT_TIMEOUT))
            .get_receipt()
            .await?;
        $crate::chain::ensure_success(&r, $what)?;
        r
    }};
}
pub(crate) use send;

/// Gas given over the estimate, in quarters: the estimate is made against
/// the latest block and the transaction runs in a later one, where a
/// reward accrued or a slot written in between can cost more (a
/// `proveEquivocation` estimated a second before its block ran out of gas
/// once). Only the gas used is paid.
pub(crate) const GAS_MARGIN: u64 = 4;

/// `gas` and a quarter more.
pub(crate) fn with_margin(gas: u64) -> u64 {
    gas.saturating_add(gas / GAS_MARGIN)
}

/// How long to wait for a transaction's receipt.
pub(crate) const RECEIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// Polygon's validators drop transactions tipping under 30 gwei.
const POLYGON_MIN_PRIORITY_FEE: u128 = 30_000_000_000;

/// A signer's connection to the chain.
#[derive(Clone)]
pub struct Chain {
    /// The provider, signing as `address`.
    pub provider: DynProvider,
    /// Where the contracts live.
    pub deployment: Deployment,
    /// The chain's id, as the node reported it on connecting.
    pub chain_id: u64,
    /// The signer's address.
    pub address: Address,
    /// Blocks on top of a transaction's before it counts as final.
    pub confirmations: u64,
}

/// The result of submitting a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// This submission settled the batch.
    Settled {
        /// The transaction's hash.
        tx: B256,
        /// Gas the transaction used.
        gas_used: u64,
        /// The block that included it (0 if the receipt names none).
        block: u64,
    },
    /// The chain already holds this epoch (someone else submitted it).
    AlreadySettled,
}

/// Reads a private key (hex) from a file or the environment variable named.
pub fn load_signer(
    key_file: Option<&std::path::Path>,
    env_var: &str,
) -> anyhow::Result<PrivateKeySigner> {
    let text = match key_file {
        Some(p) => {
            // A key others can read is a key others have.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(p)
                    .map_err(|e| anyhow::anyhow!("reading the key file {}: {e}", p.display()))?
                    .permissions()
                    .mode()
                    & 0o777;
                if mode & 0o077 != 0 {
                    anyhow::bail!(
                        "the key file {} may be read by others (mode {mode:o}): run `chmod 600 {}`",
                        p.display(),
                        p.display()
                    );
                }
            }
            std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("reading the key file {}: {e}", p.display()))?
        }
        None => std::env::var(env_var)
            .map_err(|_| anyhow::anyhow!("no key: give a key file or set {env_var}"))?,
    };
    text.trim()
        .parse::<PrivateKeySigner>()
        .map_err(|e| anyhow::anyhow!("the key is not a hex secp256k1 key: {e}"))
}

impl Chain {
    /// Connects to `url` (`http(s)://` or `ws(s)://`) as `signer`.
    pub async fn connect(
        url: &str,
        signer: PrivateKeySigner,
        deployment: Deployment,
    ) -> anyhow::Result<Chain> {
        let address = signer.address();
        let reader = ProviderBuilder::new().connect(url).await?;
        let chain_id = retry(|| reader.get_chain_id()).await?;
        // Transactions are signed for the chain id read once, here, and
        // checked by the caller: with alloy's default filler a hostile
        // endpoint could answer another id when the first transaction is
        // filled, and have it signed for a chain where it spends real funds.
        let provider = ProviderBuilder::default()
            .with_gas_estimation()
            .filler(alloy::providers::fillers::BlobGasFiller::default())
            .filler(alloy::providers::fillers::NonceFiller::<
                alloy::providers::fillers::CachedNonceManager,
            >::default())
            .with_chain_id(chain_id)
            .wallet(EthereumWallet::from(signer))
            .connect(url)
            .await?
            .erased();
        Ok(Chain {
            provider,
            deployment,
            chain_id,
            address,
            confirmations: 1,
        })
    }

    /// Sets the confirmation depth to `n` blocks (at least 1).
    pub fn with_confirmations(mut self, n: u64) -> Self {
        self.confirmations = n.max(1);
        self
    }

    /// The Settlement contract, called as this signer.
    pub fn settlement(&self) -> Settlement::SettlementInstance<DynProvider> {
        Settlement::new(self.deployment.settlement, self.provider.clone())
    }

    /// The Staking contract, called as this signer.
    pub fn staking(&self) -> Staking::StakingInstance<DynProvider> {
        Staking::new(self.deployment.staking, self.provider.clone())
    }

    /// The CyteriaItems contract, called as this signer.
    pub fn items(&self) -> CyteriaItems::CyteriaItemsInstance<DynProvider> {
        CyteriaItems::new(self.deployment.cyteria_items, self.provider.clone())
    }

    /// The CYTR token, called as this signer.
    pub fn cytr(&self) -> CYTR::CYTRInstance<DynProvider> {
        CYTR::new(self.deployment.cytr, self.provider.clone())
    }

    /// The PlayerBond contract, called as this signer.
    pub fn player_bond(&self) -> PlayerBond::PlayerBondInstance<DynProvider> {
        PlayerBond::new(self.deployment.player_bond, self.provider.clone())
    }

    /// The player bonds of `wallets` at block `block` (in one call,
    /// `PlayerBond.bondedAmong`): which earn drops in a batch judged at
    /// that block, and which an equivocation there can slash.
    pub async fn bonded_at(
        &self,
        wallets: &BTreeSet<Address>,
        block: u64,
    ) -> anyhow::Result<Bonded> {
        if wallets.is_empty() {
            return Ok(Bonded::default());
        }
        let list: Vec<Address> = wallets.iter().copied().collect();
        let mut out = Bonded::default();
        // A call reads two slots per wallet: in chunks well under an RPC
        // node's gas cap for calls.
        for chunk in list.chunks(BOND_QUERY_CHUNK) {
            let flags = retry(|| async {
                self.player_bond()
                    .bondedAmong(chunk.to_vec())
                    .block(block.into())
                    .call()
                    .await
            })
            .await?;
            anyhow::ensure!(
                flags.counts.len() == chunk.len() && flags.held.len() == chunk.len(),
                "bondedAmong answered {}/{} flags for {} wallets",
                flags.counts.len(),
                flags.held.len(),
                chunk.len()
            );
            for ((w, counts), held) in chunk.iter().zip(flags.counts).zip(flags.held) {
                if counts {
                    out.earning.insert(*w);
                }
                if held {
                    out.slashable.insert(*w);
                }
            }
        }
        Ok(out)
    }

    /// Which of `wanted` the chain confirms: each wallet's balance of each
    /// token at the block where the holding's epoch settled, as `epochs`
    /// records it (in `CyteriaItems.balanceOfBatch` calls, per epoch). A
    /// holding of an epoch not in `epochs` is not confirmed. An escrow
    /// holding ([`Holding::escrow`]) is confirmed when the marketplace or
    /// the auction contract held the token.
    pub async fn holdings(
        &self,
        wanted: &BTreeSet<Holding>,
        epochs: &BTreeMap<u64, Settled>,
    ) -> anyhow::Result<Holdings> {
        // Each question, with the holder whose balance answers it.
        let escrows = [self.deployment.marketplace, self.deployment.auction];
        let mut by_block: BTreeMap<u64, Vec<(Holding, Address)>> = BTreeMap::new();
        for h in wanted {
            if let Some(s) = epochs.get(&h.epoch) {
                let list = by_block.entry(s.block).or_default();
                if h.is_escrow() {
                    list.extend(escrows.iter().map(|a| (*h, *a)));
                } else {
                    list.push((*h, Address::from(h.wallet)));
                }
            }
        }
        let mut out = Holdings::new();
        for (block, list) in by_block {
            for chunk in list.chunks(BOND_QUERY_CHUNK) {
                let wallets: Vec<Address> = chunk.iter().map(|(_, a)| *a).collect();
                let ids: Vec<U256> = chunk
                    .iter()
                    .map(|(h, _)| U256::from_be_bytes(h.id))
                    .collect();
                let balances = retry(|| async {
                    self.items()
                        .balanceOfBatch(wallets.clone(), ids.clone())
                        .block(block.into())
                        .call()
                        .await
                })
                .await?;
                anyhow::ensure!(
                    balances.len() == chunk.len(),
                    "balanceOfBatch answered {} balances for {} holdings",
                    balances.len(),
                    chunk.len()
                );
                out.extend(
                    chunk
                        .iter()
                        .zip(balances)
                        .filter(|(_, b)| !b.is_zero())
                        .map(|((h, _), _)| *h),
                );
            }
        }
        Ok(out)
    }

    /// Locks `amount` CYTR more in this wallet's player bond (approving it first).
    pub async fn bond(&self, amount: U256) -> anyhow::Result<()> {
        send!(
            self,
            "approve",
            self.cytr(),
            approve(self.deployment.player_bond, amount)
        );
        send!(self, "bond", self.player_bond(), bond(amount));
        Ok(())
    }

    /// Starts the cooldown of this wallet's whole player bond: from now on
    /// its drops do not mint.
    pub async fn request_unbond(&self) -> anyhow::Result<()> {
        send!(self, "requestUnbond", self.player_bond(), requestUnbond());
        Ok(())
    }

    /// Takes back this wallet's player bond once its cooldown has passed.
    pub async fn withdraw_bond(&self) -> anyhow::Result<()> {
        send!(self, "withdraw", self.player_bond(), withdraw());
        Ok(())
    }

    /// `wallet`'s player bond: the CYTR it holds, when an unbonding one
    /// unlocks (0 while not unbonding), and whether its drops mint.
    pub async fn bond_of(&self, wallet: Address) -> anyhow::Result<(U256, u64, bool)> {
        let b = self.player_bond();
        let amount = retry(|| async { b.bondOf(wallet).call().await }).await?;
        let unlock = retry(|| async { b.unlockAt(wallet).call().await }).await?;
        let bonded = retry(|| async { b.isBonded(wallet).call().await }).await?;
        Ok((amount, unlock, bonded))
    }

    /// The least bond that counts, set by governance.
    pub async fn min_bond(&self) -> anyhow::Result<U256> {
        Ok(retry(|| async { self.player_bond().minBond().call().await }).await?)
    }

    /// EIP-1559 fees: alloy's estimate, with Polygon's priority-fee floor on
    /// Polygon chains (137 mainnet, 80002 Amoy).
    pub async fn fees(&self) -> anyhow::Result<(u128, u128)> {
        let est = retry(|| self.provider.estimate_eip1559_fees()).await?;
        let mut tip = est.max_priority_fee_per_gas;
        if matches!(self.chain_id, 137 | 80002) && tip < POLYGON_MIN_PRIORITY_FEE {
            tip = POLYGON_MIN_PRIORITY_FEE;
        }
        Ok((est.max_fee_per_gas.max(tip), tip))
    }

    /// The last epoch the Settlement contract has settled (0 before the first batch).
    pub async fn settled_epoch(&self) -> anyhow::Result<u64> {
        Ok(retry(|| async { self.settlement().epoch().call().await }).await?)
    }

    /// The state root of the last settled batch (zero before the first).
    pub async fn state_root(&self) -> anyhow::Result<B256> {
        Ok(retry(|| async { self.settlement().stateRoot().call().await }).await?)
    }

    /// Settled epoch `e`'s root and settlement time (epoch 0: the
    /// deployment, with the zero root). An epoch not settled has time 0.
    pub async fn settled(&self, e: u64) -> anyhow::Result<Settled> {
        let root = retry(|| async { self.settlement().rootOf(e).call().await }).await?;
        let at = retry(|| async { self.settlement().settledAt(e).call().await }).await?;
        anyhow::ensure!(at.time != 0, "epoch {e} has not settled");
        Ok(Settled {
            root: root.0,
            at: at.time,
            block: at.blockNumber,
        })
    }

    /// The chain's head, `confirmations - 1` blocks back (a block that
    /// deep is what followers can read too): the reference a leader judges
    /// its batch at.
    pub async fn head(&self) -> anyhow::Result<Reference> {
        let latest = retry(|| self.provider.get_block_number()).await?;
        let block = latest.saturating_sub(self.confirmations.saturating_sub(1));
        Ok(Reference {
            block,
            time: self.block_time(block).await?,
        })
    }

    /// The hash of block 0: which chain this is, where chain ids collide
    /// (a local anvil takes Amoy's).
    pub async fn genesis(&self) -> anyhow::Result<B256> {
        let b = retry(|| self.provider.get_block_by_number(0u64.into()).into_future())
            .await?
            .ok_or_else(|| anyhow::anyhow!("the endpoint has no block 0"))?;
        Ok(b.header.hash)
    }

    /// The timestamp of block `n`, in seconds.
    pub async fn block_time(&self, n: u64) -> anyhow::Result<u64> {
        let b = retry(|| self.provider.get_block_by_number(n.into()).into_future())
            .await?
            .ok_or_else(|| anyhow::anyhow!("block {n} is not on this chain (yet)"))?;
        Ok(b.header.timestamp)
    }

    /// This deployment as match headers name it.
    pub fn deployment_id(&self) -> cyteria_game::transcript::Deployment {
        cyteria_game::transcript::Deployment {
            chain_id: self.chain_id,
            settlement: self.deployment.settlement.0.0,
        }
    }

    /// The latest settled epoch as a match beacon.
    pub async fn beacon(&self) -> anyhow::Result<Beacon> {
        let epoch = self.settled_epoch().await?;
        let root = retry(|| async { self.settlement().rootOf(epoch).call().await }).await?;
        Ok(Beacon {
            deployment: self.deployment_id(),
            epoch,
            root: root.0,
        })
    }

    /// Simulation ticks per second of chain time (the Settlement contract's `tickRate`).
    pub async fn tick_rate(&self) -> anyhow::Result<u32> {
        Ok(retry(|| async { self.settlement().tickRate().call().await }).await?)
    }

    /// The registered validators, as the Staking contract lists them.
    pub async fn validators(&self) -> anyhow::Result<Vec<Address>> {
        Ok(retry(|| async { self.staking().validators().call().await }).await?)
    }

    /// The validator set the chain fixed for `epoch`: each member's weight
    /// (its stake) and the total a batch of that epoch needs 2/3 of.
    pub async fn validator_set(
        &self,
        epoch: u64,
    ) -> anyhow::Result<cyteria_settlement::batch::ValidatorSet> {
        let r = retry(|| async { self.staking().validatorSet(epoch).call().await }).await?;
        Ok(cyteria_settlement::batch::ValidatorSet::new(
            r.members, r.weights, r.total,
        ))
    }

    /// Submits a signed batch with its mints and slashes; an epoch the
    /// chain already holds is skipped.
    pub async fn submit_batch(
        &self,
        batch: &Batch,
        mints: &[Mint],
        slashes: &[Slash],
        signatures: Vec<Bytes>,
    ) -> anyhow::Result<Submitted> {
        if self.settled_epoch().await? >= batch.epoch {
            return Ok(Submitted::AlreadySettled);
        }
        let (max_fee, tip) = self.fees().await?;
        let settlement = self.settlement();
        let call = settlement
            .submitBatch(
                batch_arg(batch),
                mints_arg(mints),
                slashes_arg(slashes),
                signatures,
            )
            .max_fee_per_gas(max_fee)
            .max_priority_fee_per_gas(tip);
        // Simulate first: a reverting batch must not consume a nonce (a gap
        // would hold every later transaction of this signer in the pool).
        if let Err(e) = call.call().await {
            if self.settled_epoch().await? >= batch.epoch {
                return Ok(Submitted::AlreadySettled);
            }
            return Err(anyhow::anyhow!(
                "submitBatch for epoch {} would revert: {e}",
                batch.epoch
            ));
        }
        let call = match call.estimate_gas().await {
            Ok(gas) => call.gas(with_margin(gas)),
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "submitBatch for epoch {}: gas estimate: {e}",
                    batch.epoch
                ));
            }
        };
        match call.send().await {
            Ok(pending) => {
                let r = pending
                    .with_required_confirmations(self.confirmations)
                    .with_timeout(Some(RECEIPT_TIMEOUT))
                    .get_receipt()
                    .await?;
                ensure_success(&r, "submitBatch")?;
                Ok(Submitted::Settled {
                    tx: r.transaction_hash,
                    gas_used: r.gas_used,
                    block: r.block_number.unwrap_or(0),
                })
            }
            // Another validator's submission may have landed between the check and the send.
            Err(e) if self.settled_epoch().await? >= batch.epoch => {
                tracing::info!(epoch = batch.epoch, error = %e, "batch already settled by another validator");
                Ok(Submitted::AlreadySettled)
            }
            Err(e) => Err(anyhow::anyhow!(
                "submitBatch for epoch {}: {e}",
                batch.epoch
            )),
        }
    }

    /// Sends proof that one validator signed two batches for one epoch.
    pub async fn prove_equivocation(
        &self,
        a: &Batch,
        sig_a: Bytes,
        b: &Batch,
        sig_b: Bytes,
    ) -> anyhow::Result<TransactionReceipt> {
        Ok(send!(
            self,
            "proveEquivocation",
            self.settlement(),
            proveEquivocation(batch_arg(a), sig_a, batch_arg(b), sig_b)
        ))
    }

    /// Approves and stakes `amount` CYTR (it earns staking rewards).
    pub async fn stake(&self, amount: U256) -> anyhow::Result<()> {
        send!(
            self,
            "approve",
            self.cytr(),
            approve(self.deployment.staking, amount)
        );
        send!(self, "stake", self.staking(), stake(amount));
        Ok(())
    }

    /// Approves and stakes `amount` CYTR, then registers as a validator.
    pub async fn become_validator(&self, amount: U256) -> anyhow::Result<()> {
        send!(
            self,
            "approve",
            self.cytr(),
            approve(self.deployment.staking, amount)
        );
        send!(self, "stake", self.staking(), stake(amount));
        send!(
            self,
            "registerValidator",
            self.staking(),
            registerValidator()
        );
        Ok(())
    }

    /// Keeps this validator's seat when it is at risk: once its last
    /// recorded activity (a signature in a settled batch, its joining or a
    /// heartbeat) is half of `maxMissedEpochs` behind the settled epoch, it
    /// sends a heartbeat, so a submitter that leaves its signatures out
    /// cannot get it removed. Returns whether it sent one.
    pub async fn keep_seat(&self) -> anyhow::Result<bool> {
        let me = self.address;
        let staking = self.staking();
        let member = retry(|| async { staking.isValidator(me).call().await }).await?;
        if !member {
            return Ok(false);
        }
        let last = retry(|| async { staking.lastActive(me).call().await }).await?;
        let missed = retry(|| async { staking.maxMissedEpochs().call().await }).await?;
        let settled = self.settled_epoch().await?;
        if settled.saturating_sub(last) <= missed / 2 {
            return Ok(false);
        }
        send!(self, "heartbeat", self.staking(), heartbeat());
        Ok(true)
    }
}

/// Fails, naming `what`, if the receipt says the transaction reverted.
pub fn ensure_success(r: &TransactionReceipt, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        r.status(),
        "{what} reverted in transaction {}",
        r.transaction_hash
    );
    Ok(())
}

/// Retries a read a few times with backoff: RPC endpoints drop requests.
pub async fn retry<T, E: std::fmt::Display, F, Fut>(mut f: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut delay = Duration::from_millis(100);
    for attempt in 1.. {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < 4 => {
                tracing::debug!(attempt, error = %e, "RPC call failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 3;
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns")
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(unix)]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("eth.key");
        std::fs::write(&p, format!("{}\n", "11".repeat(32))).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = super::load_signer(Some(&p), "UNSET_FOR_THIS_TEST").unwrap_err();
        assert!(e.to_string().contains("chmod 600"), "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(super::load_signer(Some(&p), "UNSET_FOR_THIS_TEST").is_ok());
    }
}
