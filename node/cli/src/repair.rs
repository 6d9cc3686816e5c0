//! `cyteria repair`: ask the validators to repair an owned item, paying
//! its repair material from this key's materials in the ledger.

use alloy::primitives::U256;
use cyteria_node::cli::{self, CommonArgs, NetArgs};
use cyteria_node::loadout;
use cyteria_node::net::Role;
use cyteria_wallet as wallet;
use cyteria_wallet::chain_args::{ChainArgs, connect_chain};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    net: NetArgs,
    #[command(flatten)]
    chain: ChainArgs,
    /// The item's token id (as `cyteria inventory` lists it).
    #[arg(long)]
    item: U256,
    /// The action nonce (default: the next one this node has not used).
    #[arg(long)]
    nonce: Option<u64>,
}

pub(crate) async fn run(common: &CommonArgs, a: Args) -> anyhow::Result<()> {
    let file = common.file()?;
    let worn = loadout::read_wear(&common.data_dir())
        .ok()
        .and_then(|w| w.get(&a.item.to_be_bytes::<32>()).copied());
    if worn == Some(0) {
        println!(
            "item {:#x} has no recorded wear: validators would refuse the repair",
            a.item
        );
    }
    let chain = connect_chain(&file, &a.chain).await?;
    let (node, _) = cli::start(common, &a.net, Role::Player).await?;
    let sent = wallet::repair_item(
        &node.ctx,
        wallet::deployment(&chain),
        &common.data_dir(),
        a.item,
        a.nonce,
    )
    .await;
    node.net().clone().stop().await;
    let nonce = sent?;
    println!(
        "sent repair of item {:#x} (nonce {nonce}); validators apply it in their next batch",
        a.item
    );
    Ok(())
}
