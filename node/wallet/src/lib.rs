//! The player's side of the chain: binding the game key to a wallet,
//! crafting by signed action, and what the wallet holds and the market
//! offers, read from a chain index. The `cyteria` commands and the game
//! window both go through here.
//!
//! Pure parts ([`Holdings::read`], [`settling`], [`cytr`]) are tested on
//! their own; the rest is a thin shell over the node's gossip and the chain.

pub mod beacon;
pub mod chain_args;
pub mod pinning;
pub mod wear;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use cyteria_chain::chain::Chain;
use cyteria_chain::indexer::{Indexer, Listing, Lot, LotState};
use cyteria_game::item::ItemStats;
use cyteria_settlement::action::{Action, SignedAction};
use cyteria_settlement::binding::{self, SignedBinding};
use cyteria_settlement::proposal::BatchData;

use cyteria_node::cli;
use cyteria_node::content::{Content, ContentError, parse_cid};
use cyteria_node::session::MatchContext;
use cyteria_node::wire::{ACTIONS_TOPIC, ActionMessage};

/// How long a binding or an action waits for a validator to hear it.
const HEARD_WITHIN: Duration = Duration::from_secs(30);

/// The file a node keeps its last binding in.
pub const BINDING_FILE: &str = "binding.json";
/// The file a node keeps its next action nonce in.
pub const NONCE_FILE: &str = "action-nonce";

/// Opens (or creates) the chain index in `<data dir>/<name>` and brings it
/// up to the chain's head. Two programs on one data directory use two names:
/// sled locks its database.
pub async fn synced_index(data_dir: &Path, name: &str, chain: &Chain) -> anyhow::Result<Indexer> {
    let dir = data_dir.join(name);
    std::fs::create_dir_all(&dir)?;
    let db = sled::open(&dir)
        .map_err(|e| anyhow::anyhow!("opening the index in {}: {e}", dir.display()))?;
    let index = Indexer::open(db, chain.deployment)?;
    let s = index.sync(&chain.provider).await?;
    tracing::info!(
        head = s.head,
        events = s.events,
        rolled_back = s.rolled_back,
        "index synced"
    );
    Ok(index)
}

/// What this data directory says of its game key's binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindingState {
    /// No binding file (or none readable) in the data directory.
    Unbound,
    /// Bound to this wallet.
    Bound,
    /// Bound to another wallet than the one configured.
    OtherWallet(Address),
    /// The binding file does not parse; why.
    Damaged(String),
}

impl BindingState {
    /// Reads `data_dir`'s binding file and compares its wallet with `me`.
    pub fn read(data_dir: &Path, me: Address) -> BindingState {
        match std::fs::read_to_string(data_dir.join(BINDING_FILE)) {
            Err(_) => BindingState::Unbound,
            Ok(text) => match serde_json::from_str::<SignedBinding>(&text) {
                Ok(b) if b.wallet == me => BindingState::Bound,
                Ok(b) => BindingState::OtherWallet(b.wallet),
                Err(e) => BindingState::Damaged(e.to_string()),
            },
        }
    }
}

/// Binds the node's game key (`node`: the node's [`MatchContext`]) to `signer`'s wallet: the wallet signs the
/// EIP-712 binding, the node gossips it to the validators (waiting until one
/// is subscribed), and the binding is kept in the data directory.
pub async fn bind(
    node: &MatchContext,
    chain: &Chain,
    signer: &PrivateKeySigner,
    data_dir: &Path,
) -> anyhow::Result<SignedBinding> {
    // A later binding must carry a higher nonce: the clock gives one.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let domain = binding::domain(chain.chain_id, chain.deployment.settlement);
    let id = &node.identity;
    let b = binding::bind(signer, id.public_key(), |m| id.sign(m), nonce, &domain)?;
    let m = ActionMessage::Bind(b.clone());
    cli::publish_when_heard(&node.net, ACTIONS_TOPIC, m.encode(), HEARD_WITHIN).await?;
    std::fs::write(
        data_dir.join(BINDING_FILE),
        serde_json::to_string_pretty(&b)?,
    )?;
    Ok(b)
}

/// What an action is signed for: `chain`'s id and its deployment's
/// Settlement contract.
pub fn deployment(chain: &Chain) -> (u64, [u8; 20]) {
    (chain.chain_id, chain.deployment.settlement.0.0)
}

/// Sends a signed craft of `recipe` to the validators; returns the nonce it
/// used (`nonce`, else the next one this data directory has not used).
pub async fn craft(
    node: &MatchContext,
    deployment: (u64, [u8; 20]),
    data_dir: &Path,
    recipe: u8,
    nonce: Option<u64>,
) -> anyhow::Result<u64> {
    recipe_name(recipe)?;
    act(node, deployment, data_dir, Action::Craft { recipe }, nonce).await
}

/// Sends a signed repair of the owned item `id` to the validators (paid
/// from this key's materials in the ledger); returns the nonce it used.
pub async fn repair_item(
    node: &MatchContext,
    deployment: (u64, [u8; 20]),
    data_dir: &Path,
    id: U256,
    nonce: Option<u64>,
) -> anyhow::Result<u64> {
    anyhow::ensure!(
        cyteria_settlement::ids::decode(id).is_some(),
        "{id:#x} is not a Cyteria item id"
    );
    let id = id.to_be_bytes();
    act(node, deployment, data_dir, Action::RepairItem { id }, nonce).await
}

/// Signs and sends `action` with `nonce`, else the next one this data
/// directory has not used, and records the next.
async fn act(
    node: &MatchContext,
    deployment: (u64, [u8; 20]),
    data_dir: &Path,
    action: Action,
    nonce: Option<u64>,
) -> anyhow::Result<u64> {
    let nonce_file = data_dir.join(NONCE_FILE);
    let stored = std::fs::read_to_string(&nonce_file)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let nonce = nonce.unwrap_or(stored);
    let id = &node.identity;
    let act = SignedAction::new(id.public_key(), nonce, deployment, action, |m| id.sign(m));
    let m = ActionMessage::Act(act);
    cli::publish_when_heard(&node.net, ACTIONS_TOPIC, m.encode(), HEARD_WITHIN).await?;
    std::fs::write(&nonce_file, (nonce + 1).to_string())?;
    Ok(nonce)
}

/// The name of recipe `recipe`, or why there is none.
pub fn recipe_name(recipe: u8) -> anyhow::Result<&'static str> {
    let all = cyteria_game::crafting::RECIPES;
    all.get(usize::from(recipe))
        .map(|r| r.name)
        .ok_or_else(|| anyhow::anyhow!("no recipe {recipe}: there are {}", all.len()))
}

/// An amount of CYTR as typed ("12.5") → wei.
pub fn cytr(s: &str) -> anyhow::Result<u128> {
    if s.trim_start().starts_with('-') {
        anyhow::bail!("{s:?} is not an amount of CYTR: it is negative");
    }
    let v = alloy::primitives::utils::parse_units(s, 18)
        .map_err(|e| anyhow::anyhow!("{s:?} is not an amount of CYTR: {e}"))?;
    u128::try_from(v.get_absolute()).map_err(|_| anyhow::anyhow!("{s} CYTR is too much"))
}

/// Wei → CYTR as shown ("12.5").
pub fn show_cytr(v: U256) -> String {
    let s = alloy::primitives::utils::format_units(v, 18).unwrap_or_else(|_| v.to_string());
    match s.split_once('.') {
        Some((whole, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                whole.to_string()
            } else {
                format!("{whole}.{frac}")
            }
        }
        None => s,
    }
}

/// An item held: its token id, how many, and its stats when the id is a Cyteria item's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// The ERC-1155 token id.
    pub id: U256,
    /// How many of it the wallet holds.
    pub amount: U256,
    /// The item's stats, decoded from the id; `None` when it is not a Cyteria item's.
    pub stats: Option<ItemStats>,
    /// The batch that minted it.
    pub batch: u64,
}

impl Held {
    /// `amount` of token `id`, its stats read from the id.
    pub fn of(id: U256, amount: U256) -> Held {
        let decoded = cyteria_settlement::ids::decode(id);
        Held {
            id,
            amount,
            stats: decoded.map(|(s, _, _)| s),
            batch: decoded.map_or(0, |(_, b, _)| b),
        }
    }
}

/// A wallet's holdings and the market, as one index read them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Holdings {
    /// The wallet read.
    pub wallet: Address,
    /// Its CYTR balance, in wei.
    pub cytr: U256,
    /// The CYTR it has staked, in wei.
    pub staked: U256,
    /// The items it holds.
    pub items: Vec<Held>,
    /// Every open listing, this wallet's among them.
    pub listings: Vec<(U256, Listing)>,
    /// Every open auction lot.
    pub lots: Vec<(U256, Lot)>,
    /// The last settled epoch the index has seen.
    pub settled_epoch: Option<u64>,
}

impl Holdings {
    /// What `index` says `me` holds, with every open listing and open lot.
    pub fn read(index: &Indexer, me: Address) -> Holdings {
        Holdings {
            wallet: me,
            cytr: index.cytr_of(me),
            staked: index.stake_of(me),
            items: index
                .items_of(me)
                .into_iter()
                .map(|(id, amount)| Held::of(id, amount))
                .collect(),
            listings: index.listings(),
            lots: index
                .lots()
                .into_iter()
                .filter(|(_, l)| l.state == LotState::Open)
                .collect(),
            settled_epoch: index.batches().last().map(|(e, _)| *e),
        }
    }

    /// This wallet's own open listings.
    pub fn mine(&self) -> impl Iterator<Item = &(U256, Listing)> {
        self.listings
            .iter()
            .filter(|(_, l)| l.seller == self.wallet)
    }
}

/// A match id as reports and logs write it.
pub use cyteria_game::transcript::hex_id as match_hex;

/// Of `matches` (hex match ids), those `data` settles.
pub fn settling(data: &BatchData, matches: &BTreeSet<String>) -> BTreeSet<String> {
    data.transcripts
        .iter()
        .map(|t| match_hex(&t.match_id))
        .filter(|m| matches.contains(m))
        .collect()
}

/// Follows settled batches for a player's matches: each batch the index has
/// seen since the last call is fetched by its data CID and read for the
/// matches it settles.
#[derive(Debug, Default)]
pub struct Settlements {
    /// Epochs already read.
    read: BTreeSet<u64>,
    /// Match id → the epoch that settled it.
    pub settled: std::collections::BTreeMap<String, u64>,
}

impl Settlements {
    /// Follows only batches settled after those `index` holds now: a match
    /// played from here on cannot be in an earlier one, and the earlier
    /// batches' data need not be fetched.
    pub fn from_now(index: &Indexer) -> Settlements {
        Settlements {
            read: index.batches().into_iter().map(|(e, _)| e).collect(),
            settled: Default::default(),
        }
    }

    /// Reads the batches the index has that were not read before; returns
    /// how many of `waiting` are now settled.
    pub async fn follow(
        &mut self,
        index: &Indexer,
        content: &Content,
        waiting: &BTreeSet<String>,
        timeout: Duration,
    ) -> usize {
        for (epoch, b) in index.batches() {
            if self.read.contains(&epoch) {
                continue;
            }
            let fetched = match parse_cid(&b.data_cid) {
                Ok(cid) => content.get_record(&cid, &[], timeout).await,
                Err(e) => Err(e.into()),
            };
            match fetched {
                // Not found yet: tried again on the next call.
                Err(e @ ContentError::NotFound { .. }) => {
                    tracing::debug!(epoch, error = %e, "batch data not fetched yet");
                    continue;
                }
                // Bad data settles nothing of ours; it is not read twice.
                Err(e) => tracing::warn!(epoch, error = %e, "batch data refused"),
                Ok(bytes) => match BatchData::decode(&bytes) {
                    Ok(data) => {
                        for m in settling(&data, waiting) {
                            self.settled.insert(m, epoch);
                        }
                    }
                    Err(e) => tracing::warn!(epoch, error = %e, "batch data refused"),
                },
            }
            self.read.insert(epoch);
        }
        waiting
            .iter()
            .filter(|m| self.settled.contains_key(*m))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cyteria_settlement::proposal::TranscriptRef;

    #[test]
    fn cytr_amounts_read_and_show_back() {
        assert_eq!(cytr("12.5").unwrap(), 12_500_000_000_000_000_000);
        assert_eq!(
            show_cytr(U256::from(12_500_000_000_000_000_000u128)),
            "12.5"
        );
        assert_eq!(show_cytr(U256::from(3_000_000_000_000_000_000u128)), "3");
        assert_eq!(show_cytr(U256::ZERO), "0");
        assert!(cytr("lots").is_err());
        assert!(cytr("-1").is_err());
    }

    #[test]
    fn a_batch_settles_the_matches_it_names_and_no_other() {
        let data = BatchData {
            transcripts: vec![
                TranscriptRef {
                    match_id: [1; 32],
                    cid: "a".into(),
                },
                TranscriptRef {
                    match_id: [2; 32],
                    cid: "b".into(),
                },
            ],
            ..BatchData::default()
        };
        let waiting: BTreeSet<String> = [match_hex(&[2; 32]), match_hex(&[3; 32])].into();
        assert_eq!(settling(&data, &waiting), [match_hex(&[2; 32])].into());
    }

    #[test]
    fn a_binding_file_reads_as_bound_to_its_wallet_only() {
        let dir = tempfile::tempdir().unwrap();
        let me = Address::repeat_byte(7);
        assert_eq!(BindingState::read(dir.path(), me), BindingState::Unbound);
        std::fs::write(dir.path().join(BINDING_FILE), "{").unwrap();
        assert!(matches!(
            BindingState::read(dir.path(), me),
            BindingState::Damaged(_)
        ));
        let signer = PrivateKeySigner::random();
        let domain = binding::domain(80002, Address::repeat_byte(1));
        let key = cyteria_node::identity::Identity::generate();
        let b = binding::bind(&signer, key.public_key(), |m| key.sign(m), 1, &domain).unwrap();
        std::fs::write(
            dir.path().join(BINDING_FILE),
            serde_json::to_string(&b).unwrap(),
        )
        .unwrap();
        assert_eq!(
            BindingState::read(dir.path(), signer.address()),
            BindingState::Bound
        );
        assert_eq!(
            BindingState::read(dir.path(), me),
            BindingState::OtherWallet(signer.address())
        );
    }
}
