//! `cyteria craft`: ask the validators to craft an item from this key's materials in the ledger.

use cyteria_node::cli::{self, CommonArgs, NetArgs};
use cyteria_node::net::Role;
use cyteria_wallet as wallet;
use cyteria_wallet::chain_args::{ChainArgs, connect_chain};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    net: NetArgs,
    #[command(flatten)]
    chain: ChainArgs,
    /// The recipe's number (see `cyteria_game::crafting::RECIPES`: 0 sword, 1 spear, …).
    #[arg(long)]
    recipe: u8,
    /// The action nonce (default: the next one this node has not used).
    #[arg(long)]
    nonce: Option<u64>,
}

pub(crate) async fn run(common: &CommonArgs, a: Args) -> anyhow::Result<()> {
    let name = wallet::recipe_name(a.recipe)?;
    let file = common.file()?;
    let chain = connect_chain(&file, &a.chain).await?;
    let (node, _) = cli::start(common, &a.net, Role::Player).await?;
    let sent = wallet::craft(
        &node.ctx,
        wallet::deployment(&chain),
        &common.data_dir(),
        a.recipe,
        a.nonce,
    )
    .await;
    node.net().clone().stop().await;
    let nonce = sent?;
    println!("sent craft of {name} (nonce {nonce}); validators apply it in their next batch");
    Ok(())
}
