//! `cyteria market`: trade items for CYTR on the marketplace and in auctions.

use clap::Subcommand;
use cyteria_node::cli::CommonArgs;
use cyteria_wallet::chain_args::{ChainArgs, connect_chain};
use cyteria_wallet::show_cytr;

use crate::args::{cytr, synced_index};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(subcommand)]
    op: Op,
}

#[derive(Subcommand)]
pub(crate) enum Op {
    /// Open listings and auction lots.
    Show,
    /// List an item at a price in CYTR per unit.
    List {
        #[arg(long)]
        id: alloy::primitives::U256,
        #[arg(long, default_value_t = 1)]
        amount: u128,
        #[arg(long)]
        price: String,
    },
    /// Buy from a listing, paying at most a price in CYTR per unit.
    Buy {
        #[arg(long)]
        listing: alloy::primitives::U256,
        #[arg(long, default_value_t = 1)]
        amount: u128,
        #[arg(long)]
        max_price: String,
    },
    /// Cancel one of your listings.
    Cancel {
        #[arg(long)]
        listing: alloy::primitives::U256,
    },
    /// Put an item up for auction.
    Auction {
        #[arg(long)]
        id: alloy::primitives::U256,
        #[arg(long, default_value_t = 1)]
        amount: u128,
        #[arg(long, default_value = "0")]
        reserve: String,
        #[arg(long, default_value_t = 3600)]
        duration_s: u64,
    },
    /// Bid on a lot, in CYTR.
    Bid {
        #[arg(long)]
        lot: alloy::primitives::U256,
        #[arg(long)]
        amount: String,
    },
    /// End a lot whose time is up.
    Settle {
        #[arg(long)]
        lot: alloy::primitives::U256,
    },
}

pub(crate) async fn run(common: &CommonArgs, a: Args) -> anyhow::Result<()> {
    let file = common.file()?;
    let chain = connect_chain(&file, &a.chain).await?;
    match a.op {
        Op::Show => {
            let index = synced_index(common, &chain).await?;
            for (id, l) in index.listings() {
                println!(
                    "listing {id}: item {:#x} x{} at {} CYTR by {}",
                    l.id,
                    l.amount,
                    show_cytr(l.unit_price),
                    l.seller
                );
            }
            for (id, l) in index
                .lots()
                .into_iter()
                .filter(|(_, l)| l.state == cyteria_chain::indexer::LotState::Open)
            {
                println!(
                    "lot {id}: item {:#x} x{} reserve {} CYTR, highest bid {} CYTR, ends at {} (unix)",
                    l.id,
                    l.amount,
                    show_cytr(l.reserve),
                    show_cytr(l.highest_bid),
                    l.ends_at
                );
            }
        }
        Op::List { id, amount, price } => {
            let listing = chain.list(id, amount, cytr(&price)?).await?;
            println!("listing {listing}");
            unequip(common, id)?;
        }
        Op::Buy {
            listing,
            amount,
            max_price,
        } => {
            let r = chain.buy(listing, amount, cytr(&max_price)?).await?;
            println!("bought in {}", r.transaction_hash);
        }
        Op::Cancel { listing } => {
            let r = chain.cancel_listing(listing).await?;
            println!("cancelled in {}", r.transaction_hash);
        }
        Op::Auction {
            id,
            amount,
            reserve,
            duration_s,
        } => {
            let lot = chain
                .auction_item(id, amount, cytr(&reserve)?, duration_s)
                .await?;
            println!("lot {lot}");
            unequip(common, id)?;
        }
        Op::Bid { lot, amount } => {
            let r = chain.bid(lot, cytr(&amount)?).await?;
            println!("bid in {}", r.transaction_hash);
        }
        Op::Settle { lot } => {
            let r = chain.settle_lot(lot).await?;
            println!("settled in {}", r.transaction_hash);
        }
    }
    Ok(())
}

/// The market holds what is listed or auctioned: it no longer plays.
fn unequip(common: &CommonArgs, id: alloy::primitives::U256) -> anyhow::Result<()> {
    if cyteria_node::loadout::unequip(&common.data_dir(), id.to_be_bytes())? {
        println!("unequipped {id:#x}: the starter kit's item plays in its slot");
    }
    Ok(())
}
