//! `cyteria bind-wallet`: bind this node's game key to a wallet, so rewards can mint to it.

use cyteria_node::cli::{self, CommonArgs};
use cyteria_node::net::Role;
use cyteria_wallet as wallet;
use cyteria_wallet::chain_args::connect_chain;

use crate::args::ChainNetArgs;

pub(crate) async fn run(common: &CommonArgs, a: ChainNetArgs) -> anyhow::Result<()> {
    let file = common.file()?;
    let chain = connect_chain(&file, &a.chain).await?;
    let signer = cyteria_wallet::chain_args::wallet_key(&file, &a.chain)?;
    let (node, _) = cli::start(common, &a.net, Role::Player).await?;
    let b = wallet::bind(&node.ctx, &chain, &signer, &common.data_dir()).await;
    node.net().clone().stop().await;
    let b = b?;
    println!(
        "bound game key {} to {} (nonce {}); validators record it in their next batch",
        blake3::Hash::from_bytes(b.game_key).to_hex(),
        b.wallet,
        b.nonce
    );
    Ok(())
}
