//! `cyteria`: the command players and volunteers run. A thin binary over
//! the node, validator and wallet crates, one module per subcommand; the
//! window (`cyteria play`) and the devnet (`cyteria devnet`) are programs of
//! their own that this one starts.

#![forbid(unsafe_code)]

mod args;
mod bind_wallet;
mod bond;
mod content;
mod craft;
mod deploy;
mod doctor;
mod equip;
mod external;
mod inventory;
mod market;
mod node;
mod repair;
mod validator;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cyteria_node::cli::{self, CommonArgs, NetArgs};
use cyteria_node::identity::Identity;
use cyteria_wallet::chain_args::ChainArgs;

use args::ChainNetArgs;

#[derive(Parser)]
#[command(
    name = "cyteria",
    version,
    about = "Cyteria: a peer-to-peer action RPG settled on Polygon"
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a headless player node; with --bot it searches for matches and the core's bot plays them.
    Node(node::Args),
    /// Run a bootstrap node: DHT server, relay v2 server, AutoNAT, identify.
    Bootstrap(NetArgs),
    /// Start the node for a while and tell, in plain words, whether others can reach it (directly or through which relay), which bootstrap nodes and peers it reached, and what chain it reads.
    Doctor(doctor::Args),
    /// Create (on first use) and show the node's identity.
    Keys,
    /// Deploy the contracts to a chain (contracts/script/Deploy.s.sol, run by forge) and write the network profile's deployment file: `--network NAME|FILE`, or a new profile with `--name`.
    Deploy(deploy::Args),
    /// Run a validator: verify matches and actions, keep the ledger, agree on and settle batches.
    Validator(validator::Args),
    /// Bind this node's game key to a wallet (the wallet signs an EIP-712 message), so rewards can mint to it.
    BindWallet(ChainNetArgs),
    /// The player bond: CYTR locked so that the items this wallet's matches drop mint to it.
    Bond(bond::Args),
    /// Ask the validators to craft an item from this key's materials in the ledger.
    Craft(craft::Args),
    /// Ask the validators to repair an owned item by token id, paying its repair material from this key's materials in the ledger.
    Repair(repair::Args),
    /// Choose the weapon, armor and tool this node brings into its matches: owned items by token id, or the starter kit.
    Equip(equip::Args),
    /// Show this wallet's items (with their stats), CYTR, stake and listings, from the chain's events.
    Inventory(ChainArgs),
    /// Trade items for CYTR on the marketplace and in auctions.
    Market(market::Args),
    /// The node's IPFS content: add, get, pin, unpin, ls.
    Content(content::Args),
    /// Open the game window (the `cyteria-play` program beside this one; `make play` builds both). Its flags follow.
    Play {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The whole network on this machine (the `cyteria-devnet` program beside this one): anvil with the contracts, a bootstrap node, validators and bot players that play, settle and trade; ends with a report. Its flags follow (`cyteria devnet --help`).
    Devnet {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = cli.common.log.clone();
    cli::main_with(&log, run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Keys => keys(&cli.common),
        Command::Node(args) => node::run(&cli.common, args).await,
        Command::Bootstrap(net) => cli::run_bootstrap(&cli.common, &net).await,
        Command::Doctor(args) => doctor::run(&cli.common, args).await,
        Command::Deploy(args) => deploy::run(&cli.common, args).await,
        Command::Validator(args) => validator::run(&cli.common, args).await,
        Command::BindWallet(args) => bind_wallet::run(&cli.common, args).await,
        Command::Bond(args) => bond::run(&cli.common, args).await,
        Command::Craft(args) => craft::run(&cli.common, args).await,
        Command::Repair(args) => repair::run(&cli.common, args).await,
        Command::Equip(args) => equip::run(&cli.common, args).await,
        Command::Inventory(args) => inventory::run(&cli.common, args).await,
        Command::Market(args) => market::run(&cli.common, args).await,
        Command::Content(args) => content::run(&cli.common, args).await,
        Command::Play { args } => external::run(
            &cli.common,
            "cyteria-play",
            "`make play` (or `cargo build --release -p cyteria-client`)",
            args,
        ),
        Command::Devnet { args } => external::run(
            &cli.common,
            "cyteria-devnet",
            "`make run` (or `cargo build --release -p cyteria-devnet`)",
            args,
        ),
    }
}

/// `cyteria keys`: creates (on first use) and shows the node's identity.
fn keys(common: &CommonArgs) -> anyhow::Result<()> {
    let dir = common.data_dir();
    let (id, created) = Identity::load_or_create(&dir)?;
    println!("peer id {}", id.peer_id());
    println!(
        "public key {}",
        blake3::Hash::from_bytes(id.public_key()).to_hex()
    );
    println!(
        "key file {}{}",
        dir.join(cyteria_node::identity::KEY_FILE).display(),
        if created { " (created)" } else { "" }
    );
    Ok(())
}
