//! `cyteria bond`: the player bond, the CYTR a wallet locks so that the
//! items its matches drop mint to it (without one, matches still earn
//! experience and materials).

use alloy::primitives::U256;
use clap::Subcommand;
use cyteria_node::cli::CommonArgs;
use cyteria_wallet::chain_args::{ChainArgs, connect_chain};
use cyteria_wallet::show_cytr;

use crate::args::cytr;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(subcommand)]
    op: Option<Op>,
}

#[derive(Subcommand)]
pub(crate) enum Op {
    /// This wallet's bond and whether its drops mint (the default).
    Show,
    /// Lock CYTR in the bond (default: what the least bond still lacks).
    Lock {
        #[arg(long)]
        amount: Option<String>,
    },
    /// Start the cooldown of the whole bond; from then on drops do not mint.
    Unbond,
    /// Take the bond back once its cooldown has passed.
    Withdraw,
}

pub(crate) async fn run(common: &CommonArgs, a: Args) -> anyhow::Result<()> {
    let file = common.file()?;
    let chain = connect_chain(&file, &a.chain).await?;
    let me = chain.address;
    match a.op.unwrap_or(Op::Show) {
        Op::Show => {}
        Op::Lock { amount } => {
            let amount = match amount {
                Some(s) => U256::from(cytr(&s)?),
                None => {
                    let (held, _, _) = chain.bond_of(me).await?;
                    chain.min_bond().await?.saturating_sub(held)
                }
            };
            anyhow::ensure!(
                !amount.is_zero(),
                "the bond already holds the least amount; name one with --amount to lock more"
            );
            chain.bond(amount).await?;
            println!("locked {} CYTR", show_cytr(amount));
        }
        Op::Unbond => {
            chain.request_unbond().await?;
            println!("unbonding: drops stop minting to this wallet");
        }
        Op::Withdraw => {
            chain.withdraw_bond().await?;
            println!("bond withdrawn");
        }
    }
    let (held, unlock, bonded) = chain.bond_of(me).await?;
    let least = chain.min_bond().await?;
    println!("wallet {me}");
    println!(
        "player bond {} CYTR (least {})",
        show_cytr(held),
        show_cytr(least)
    );
    if unlock != 0 {
        println!("unbonding: withdraw after unix time {unlock}");
    }
    println!(
        "{}",
        if bonded {
            "drops mint to this wallet"
        } else {
            "not bonded: matches earn experience and materials, drops do not mint"
        }
    );
    Ok(())
}
