//! `cyteria equip`: choose the weapon, armor and tool this node brings into
//! its matches (a running `cyteria node` picks the change up before its
//! next search).

use alloy::primitives::U256;
use cyteria_node::cli::CommonArgs;
use cyteria_node::loadout::{self, Choice};
use cyteria_wallet::chain_args::{ChainArgs, connect_chain};

use crate::args::synced_index;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Owned items are checked against the wallet's holdings on this chain.
    #[command(flatten)]
    chain: ChainArgs,
    /// The weapon: a token id (as `cyteria inventory` shows it), `starter` or `none`.
    #[arg(long)]
    weapon: Option<Choice>,
    /// The armor: a token id, `starter` or `none`.
    #[arg(long)]
    armor: Option<Choice>,
    /// The tool: a token id, `starter` or `none`.
    #[arg(long)]
    tool: Option<Choice>,
}

pub(crate) async fn run(common: &CommonArgs, a: Args) -> anyhow::Result<()> {
    let dir = common.data_dir();
    let before = loadout::read_choices(&dir)?;
    let mut chosen = before;
    chosen.weapon = a.weapon.unwrap_or(chosen.weapon);
    chosen.armor = a.armor.unwrap_or(chosen.armor);
    chosen.tool = a.tool.unwrap_or(chosen.tool);
    // Stats, slots and wear first: they need no chain.
    let equipment = chosen.equipment(&loadout::read_wear(&dir)?)?;
    let new_ids: Vec<[u8; 32]> = chosen
        .ids()
        .filter(|id| !before.ids().any(|b| b == *id))
        .collect();
    if !new_ids.is_empty() {
        // A match with an item the wallet does not hold is refused by
        // every validator; say so now, not after the match.
        let file = common.file()?;
        let chain = connect_chain(&file, &a.chain).await?;
        let index = synced_index(common, &chain).await?;
        match cyteria_wallet::BindingState::read(&dir, chain.address) {
            cyteria_wallet::BindingState::Bound => {}
            cyteria_wallet::BindingState::OtherWallet(w) => anyhow::bail!(
                "the game key is bound to {w}, not {}: validators judge a seat's items by its bound wallet",
                chain.address
            ),
            _ => tracing::warn!(
                "the game key is not bound to {} yet (`cyteria bind-wallet`): matches with owned items are refused until it is",
                chain.address
            ),
        }
        let held = index.items_of(chain.address);
        for id in &new_ids {
            let id = U256::from_be_bytes(*id);
            if !held.iter().any(|(h, n)| *h == id && !n.is_zero()) {
                anyhow::bail!(
                    "wallet {} does not hold item {id:#x} (a listed or auctioned item is held by the market until it comes back)",
                    chain.address
                );
            }
        }
    }
    if chosen != before {
        loadout::write_choices(&dir, &chosen)?;
    }
    let slots = [
        ("weapon", chosen.weapon, equipment.loadout.weapon),
        ("armor", chosen.armor, equipment.loadout.armor),
        ("tool", chosen.tool, equipment.loadout.tool),
    ];
    for (name, choice, item) in slots {
        match item {
            Some(s) => println!(
                "{name}: {choice}  {:?} {:?} damage {} defense {} durability {}",
                s.rarity, s.item_type, s.damage, s.defense, s.durability
            ),
            None => println!("{name}: none"),
        }
    }
    if chosen.ids().next().is_some() {
        println!(
            "owned items play only while this wallet holds them and the game key is bound to it"
        );
    }
    Ok(())
}
