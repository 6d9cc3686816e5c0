//! `cyteria inventory`: the wallet's items with their stats, CYTR, stake and listings, from the chain's events.

use cyteria_node::cli::CommonArgs;
use cyteria_wallet::chain_args::{ChainArgs, connect_chain};
use cyteria_wallet::{self as wallet, show_cytr};

use crate::args::synced_index;

pub(crate) async fn run(common: &CommonArgs, a: ChainArgs) -> anyhow::Result<()> {
    let file = common.file()?;
    let chain = connect_chain(&file, &a).await?;
    let index = synced_index(common, &chain).await?;
    let me = chain.address;
    println!("wallet {me}");
    match wallet::BindingState::read(&common.data_dir(), me) {
        wallet::BindingState::Bound => println!("game key bound to this wallet"),
        wallet::BindingState::OtherWallet(w) => println!("game key bound to another wallet, {w}"),
        wallet::BindingState::Damaged(e) => println!("{} is damaged: {e}", wallet::BINDING_FILE),
        wallet::BindingState::Unbound => println!("game key not bound (run `cyteria bind-wallet`)"),
    }
    println!(
        "CYTR {}  staked {}",
        show_cytr(index.cytr_of(me)),
        show_cytr(index.stake_of(me))
    );
    let (bond, _, bonded) = chain.bond_of(me).await?;
    println!(
        "player bond {} CYTR: {}",
        show_cytr(bond),
        if bonded {
            "drops mint to this wallet"
        } else {
            "not bonded, drops do not mint (run `cyteria bond lock`)"
        }
    );
    let items = index.items_of(me);
    println!("{} item(s)", items.len());
    for (id, amount) in items {
        match cyteria_settlement::ids::decode(id) {
            Some((s, batch, n)) => println!(
                "  {id:#x} x{amount}: {:?} {:?} damage {} defense {} durability {} traits {} (batch {batch} #{n})",
                s.item_type,
                s.rarity,
                s.damage,
                s.defense,
                s.durability,
                s.traits
                    .iter()
                    .map(|t| format!("{t:?}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            None => println!("  {id:#x} x{amount}: not a Cyteria item id"),
        }
    }
    for (id, l) in index.listings().into_iter().filter(|(_, l)| l.seller == me) {
        println!(
            "listing {id}: item {:#x} x{} at {} CYTR",
            l.id,
            l.amount,
            show_cytr(l.unit_price)
        );
    }
    Ok(())
}
