//! `cyteria`: the Cyteria node command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cyteria_game::RULES_VERSION;
use cyteria_game::crafting::starter_loadout;
use cyteria_node::cli::{self, ChainArgs, CommonArgs, NetArgs};
use cyteria_node::config::ConfigError;
use cyteria_node::identity::Identity;
use cyteria_node::net::Role;
use cyteria_node::node::PlayerConfig;
use cyteria_node::session::InputSource;
use cyteria_node::wire::{MatchKind, Mode};
use tokio::sync::watch;

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
    Node(NodeArgs),
    /// Run a bootstrap node: DHT server, relay v2 server, AutoNAT, identify.
    Bootstrap(NetArgs),
    /// Create (on first use) and show the node's identity.
    Keys,
    /// Run a validator: verify matches and actions, keep the ledger, agree on and settle batches.
    Validator(ValidatorArgs),
    /// Bind this node's game key to a wallet (the wallet signs an EIP-712 message), so rewards can mint to it.
    BindWallet(ChainNetArgs),
    /// Ask the validators to craft an item from this key's materials in the ledger.
    Craft(CraftArgs),
    /// Show this wallet's items (with their stats), CYTR, stake and listings, from the chain's events.
    Inventory(ChainArgs),
    /// Trade items for CYTR on the marketplace and in auctions.
    Market(MarketArgs),
    /// The node's IPFS content: add, get, pin, unpin, ls.
    Content(ContentArgs),
    /// Open the game window (the `cyteria-play` program beside this one; `make play` builds both). Its flags follow.
    Play {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The whole network on this machine: anvil with the contracts, a bootstrap node, validators and bot players that play, settle and trade; ends with a report.
    Devnet(DevnetArgs),
}

#[derive(clap::Args)]
struct ContentArgs {
    #[command(flatten)]
    net: NetArgs,
    #[command(subcommand)]
    op: ContentOp,
}

#[derive(Subcommand)]
enum ContentOp {
    /// Add a file (pinned); prints its CID.
    Add { file: std::path::PathBuf },
    /// Fetch a CID (from this node, its peers or the DHT's providers) to a file or stdout.
    Get {
        cid: String,
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        #[arg(long, default_value_t = 60)]
        timeout_s: u64,
    },
    /// Fetch if needed and keep a CID.
    Pin {
        cid: String,
        #[arg(long, default_value_t = 60)]
        timeout_s: u64,
    },
    /// Stop keeping a CID.
    Unpin { cid: String },
    /// What this node keeps.
    Ls,
}

#[derive(clap::Args)]
struct MarketArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(subcommand)]
    op: MarketOp,
}

#[derive(Subcommand)]
enum MarketOp {
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

#[derive(clap::Args)]
struct ChainNetArgs {
    #[command(flatten)]
    net: NetArgs,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(clap::Args)]
struct ValidatorArgs {
    #[command(flatten)]
    net: NetArgs,
    #[command(flatten)]
    chain: ChainArgs,
    /// Least seconds between one settlement and the next proposal.
    #[arg(long)]
    epoch_interval_s: Option<f64>,
    /// Seconds a leader has before the next validator leads.
    #[arg(long)]
    round_timeout_s: Option<f64>,
}

#[derive(clap::Args)]
struct CraftArgs {
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

#[derive(clap::Args)]
struct NodeArgs {
    #[command(flatten)]
    net: NetArgs,
    /// With a chain (`--rpc`, `--deployment` and the wallet's key), the node
    /// pins the metadata and sprites of the items the wallet owns.
    #[command(flatten)]
    chain: ChainArgs,
    /// Let the core's bot play matches.
    #[arg(long)]
    bot: bool,
    /// Matches to play, then exit (0: until stopped).
    #[arg(long)]
    matches: Option<u32>,
    /// Players per match (1 to 4).
    #[arg(long)]
    players: Option<u8>,
    /// Waves to clear.
    #[arg(long)]
    waves: Option<u8>,
    /// Match time limit in seconds.
    #[arg(long)]
    time_limit_s: Option<u32>,
    /// Wall-clock ticks per second (60 is real time).
    #[arg(long)]
    tick_hz: Option<u32>,
    /// Frames of input delay.
    #[arg(long)]
    input_delay: Option<usize>,
    /// Frames of prediction before the node waits for its peers.
    #[arg(long)]
    max_prediction: Option<usize>,
    /// Link conditioner: added round-trip time in ms.
    #[arg(long)]
    rtt_ms: Option<u32>,
    /// Link conditioner: extra random delay up to this many ms.
    #[arg(long)]
    jitter_ms: Option<u32>,
    /// Link conditioner: fraction of rollback packets lost (0 to 1).
    #[arg(long)]
    loss: Option<f64>,
}

#[derive(clap::Args)]
struct DevnetArgs {
    /// Bot players (a multiple of --match-size).
    #[arg(long, default_value_t = 8)]
    players: usize,
    /// Validators, staked and registered on the devnet's chain.
    #[arg(long, default_value_t = 3)]
    validators: usize,
    /// Matches each player plays.
    #[arg(long, default_value_t = 1)]
    matches: u32,
    /// Players per match (1 to 4).
    #[arg(long, default_value_t = 2)]
    match_size: u8,
    /// A match's time limit in seconds of play.
    #[arg(long, default_value_t = 40)]
    match_seconds: u32,
    /// Simulation ticks per second.
    #[arg(long, default_value_t = 60)]
    tick_hz: u32,
    /// What goes wrong on purpose.
    #[arg(long, value_enum, default_value_t = cyteria_node::devnet::Scenario::Honest)]
    scenario: cyteria_node::devnet::Scenario,
    /// Link conditioner for every player: added round-trip time in ms.
    #[arg(long, default_value_t = 0)]
    rtt_ms: u32,
    /// Link conditioner: extra random delay up to this many ms.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u32,
    /// Link conditioner: fraction of rollback packets lost (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// The report's JSON file (default: <devnet dir>/report.json).
    #[arg(long)]
    report: Option<std::path::PathBuf>,
    /// After the report, stay up until Ctrl-C, so `cyteria play` can join:
    /// a bot keeps looking for the window's match and validators keep settling.
    #[arg(long)]
    stay: bool,
    /// No progress bars (for scripts and tests).
    #[arg(long)]
    quiet: bool,
}

/// The devnet's directory: `<data dir>/devnet`, emptied at each start
/// (its chain is new every time).
fn devnet_dir(common: &CommonArgs) -> std::path::PathBuf {
    common.data_dir().join("devnet")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = cli.common.log.clone();
    if matches!(cli.command, Command::Devnet(_)) {
        // Dozens of nodes log to a file; the terminal shows progress and the report.
        let dir = devnet_dir(&cli.common);
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            eprintln!("error: creating {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
        match std::fs::File::create(dir.join("devnet.log")) {
            Ok(f) => {
                let filter = tracing_subscriber::EnvFilter::try_new(&log)
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
                let _ = tracing_subscriber::fmt()
                    .with_env_filter(filter)
                    .with_ansi(false)
                    // the role's runtime names its threads: cy-player, cy-validator, cy-bootstrap
                    .with_thread_names(true)
                    .with_writer(std::sync::Mutex::new(f))
                    .try_init();
            }
            Err(e) => eprintln!("warning: no log file in {}: {e}", dir.display()),
        }
    }
    cli::main_with(&log, run(cli))
}

async fn devnet(common: &CommonArgs, a: DevnetArgs) -> anyhow::Result<()> {
    let dir = devnet_dir(common);
    let cfg = cyteria_node::devnet::DevnetConfig {
        players: a.players,
        validators: a.validators,
        matches: a.matches,
        match_size: a.match_size,
        match_frames: a.match_seconds.saturating_mul(60),
        tick_hz: a.tick_hz,
        link: cyteria_node::conditioner::LinkConditions {
            rtt_ms: a.rtt_ms,
            jitter_ms: a.jitter_ms,
            loss: a.loss,
        },
        scenario: a.scenario,
        report: a.report.unwrap_or_else(|| dir.join("report.json")),
        data_dir: dir.clone(),
        progress: !a.quiet,
        stay: a.stay,
    };
    cfg.validate().map_err(ConfigError::Invalid)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        cli::stop_signal().await;
        eprintln!("stopping: the devnet finishes what it started and writes its report");
        let _ = stop_tx.send(true);
    });
    let report_path = cfg.report.clone();
    let report = cyteria_node::devnet::run(cfg, stop_rx).await?;
    println!("{}", report.table());
    println!(
        "report: {}   logs: {}",
        report_path.display(),
        dir.join("devnet.log").display()
    );
    anyhow::ensure!(report.ok, "some checks failed (see above)");
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Keys => {
            let dir = cli.common.data_dir();
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
        Command::Node(args) => node(&cli.common, args).await,
        Command::Bootstrap(net) => cli::run_bootstrap(&cli.common, &net).await,
        Command::Validator(args) => validator(&cli.common, args).await,
        Command::BindWallet(args) => bind_wallet(&cli.common, args).await,
        Command::Craft(args) => craft(&cli.common, args).await,
        Command::Inventory(args) => inventory(&cli.common, args).await,
        Command::Market(args) => market(&cli.common, args).await,
        Command::Content(args) => content(&cli.common, args).await,
        Command::Devnet(args) => devnet(&cli.common, args).await,
        Command::Play { args } => play_window(&cli.common, args),
    }
}

async fn content(common: &CommonArgs, a: ContentArgs) -> anyhow::Result<()> {
    use cyteria_node::content::parse_cid;
    // Check the arguments before the node starts.
    let cid = match &a.op {
        ContentOp::Get { cid, .. } | ContentOp::Pin { cid, .. } | ContentOp::Unpin { cid } => {
            Some(parse_cid(cid).map_err(|e| ConfigError::Invalid(e.to_string()))?)
        }
        _ => None,
    };
    let net = NetArgs {
        gateway: Some("off".into()),
        ..a.net.clone()
    };
    let (node, _) = cli::start_with(common, &net, Role::Player, false).await?;
    let c = &node.content;
    let fetch = |cid, timeout_s: u64| async move {
        c.get_record(&cid, &[], std::time::Duration::from_secs(timeout_s))
            .await
    };
    let result: anyhow::Result<()> = async {
        match a.op {
            ContentOp::Add { file } => {
                let bytes = std::fs::read(&file)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
                println!("{}", c.add(bytes).await?);
            }
            ContentOp::Get { out, timeout_s, .. } => {
                let bytes = fetch(cid.expect("parsed"), timeout_s).await?;
                match out {
                    Some(p) => std::fs::write(&p, &bytes)?,
                    None => std::io::Write::write_all(&mut std::io::stdout(), &bytes)?,
                }
            }
            ContentOp::Pin { timeout_s, .. } => {
                let cid = cid.expect("parsed");
                fetch(cid, timeout_s).await?;
                c.pin(&cid).await?;
                println!("pinned {cid}");
            }
            ContentOp::Unpin { .. } => {
                let cid = cid.expect("parsed");
                c.unpin(&cid).await?;
                println!("unpinned {cid}");
            }
            ContentOp::Ls => {
                for p in c.pins().await? {
                    println!("{p}");
                }
            }
        }
        Ok(())
    }
    .await;
    node.net().clone().stop().await;
    result
}

/// CYTR as a decimal string ("2.5") in wei.
fn cytr(s: &str) -> Result<u128, ConfigError> {
    wallet::cytr(s).map_err(|e| ConfigError::Invalid(e.to_string()))
}

use cyteria_node::wallet::{self, show_cytr};

/// Brings the node's chain index up to date (kept in `<data dir>/index`).
async fn synced_index(
    common: &CommonArgs,
    chain: &cyteria_settlement::chain::Chain,
) -> anyhow::Result<cyteria_settlement::indexer::Indexer> {
    wallet::synced_index(&common.data_dir(), "index", chain).await
}

async fn inventory(common: &CommonArgs, a: ChainArgs) -> anyhow::Result<()> {
    let file = common.file()?;
    let chain = cli::connect_chain(&file, &a).await?;
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

async fn market(common: &CommonArgs, a: MarketArgs) -> anyhow::Result<()> {
    let file = common.file()?;
    let chain = cli::connect_chain(&file, &a.chain).await?;
    match a.op {
        MarketOp::Show => {
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
                .filter(|(_, l)| l.state == cyteria_settlement::indexer::LotState::Open)
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
        MarketOp::List { id, amount, price } => {
            let listing = chain.list(id, amount, cytr(&price)?).await?;
            println!("listing {listing}");
        }
        MarketOp::Buy {
            listing,
            amount,
            max_price,
        } => {
            let r = chain.buy(listing, amount, cytr(&max_price)?).await?;
            println!("bought in {}", r.transaction_hash);
        }
        MarketOp::Cancel { listing } => {
            let r = chain.cancel_listing(listing).await?;
            println!("cancelled in {}", r.transaction_hash);
        }
        MarketOp::Auction {
            id,
            amount,
            reserve,
            duration_s,
        } => {
            let lot = chain
                .auction_item(id, amount, cytr(&reserve)?, duration_s)
                .await?;
            println!("lot {lot}");
        }
        MarketOp::Bid { lot, amount } => {
            let r = chain.bid(lot, cytr(&amount)?).await?;
            println!("bid in {}", r.transaction_hash);
        }
        MarketOp::Settle { lot } => {
            let r = chain.settle_lot(lot).await?;
            println!("settled in {}", r.transaction_hash);
        }
    }
    Ok(())
}

fn seconds(v: f64, what: &str) -> Result<std::time::Duration, ConfigError> {
    std::time::Duration::try_from_secs_f64(v)
        .map_err(|_| ConfigError::Invalid(format!("{what}: {v} is not a number of seconds")))
}

async fn validator(common: &CommonArgs, a: ValidatorArgs) -> anyhow::Result<()> {
    use cyteria_node::validator::{Validator, ValidatorConfig};
    let file = common.file()?;
    let v = &file.validator;
    let cfg = ValidatorConfig {
        epoch_interval: seconds(
            a.epoch_interval_s.unwrap_or(v.epoch_interval_s),
            "epoch interval",
        )?,
        round_timeout: seconds(
            a.round_timeout_s.unwrap_or(v.round_timeout_s),
            "round timeout",
        )?,
        submit_grace: seconds(v.submit_grace_s, "submit grace")?,
        ..ValidatorConfig::default()
    };
    let chain = cli::connect_chain(&file, &a.chain).await?;
    let signer = cyteria_settlement::chain::load_signer(
        a.chain
            .eth_key_file
            .as_deref()
            .or(file.chain.key_file.as_deref()),
        "CYTERIA_ETH_KEY",
    )?;
    if !chain.validators().await?.contains(&signer.address()) {
        tracing::warn!(address = %signer.address(), "this wallet is not a registered validator: it verifies, but its signatures do not count");
    }
    println!("validator {}", signer.address());
    let (node, _) = cli::start(common, &a.net, Role::Player).await?;
    let node = std::sync::Arc::new(node);
    let (v, _handle) = Validator::new(node.clone(), chain, signer, cfg).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        cli::stop_signal().await;
        let _ = stop_tx.send(true);
    });
    let result = v.run(stop_rx).await;
    node.net().clone().stop().await;
    result
}

async fn bind_wallet(common: &CommonArgs, a: ChainNetArgs) -> anyhow::Result<()> {
    let file = common.file()?;
    let chain = cli::connect_chain(&file, &a.chain).await?;
    let signer = cyteria_settlement::chain::load_signer(
        a.chain
            .eth_key_file
            .as_deref()
            .or(file.chain.key_file.as_deref()),
        "CYTERIA_ETH_KEY",
    )?;
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

async fn craft(common: &CommonArgs, a: CraftArgs) -> anyhow::Result<()> {
    let name = wallet::recipe_name(a.recipe)?;
    let file = common.file()?;
    let chain = cli::connect_chain(&file, &a.chain).await?;
    let (node, _) = cli::start(common, &a.net, Role::Player).await?;
    let sent = wallet::craft(
        &node.ctx,
        chain.chain_id,
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

async fn node(common: &CommonArgs, a: NodeArgs) -> anyhow::Result<()> {
    // Check everything before anything starts.
    let file = common.file()?;
    let mut session = file.session.clone();
    session.tick_hz = a.tick_hz.unwrap_or(session.tick_hz);
    session.input_delay = a.input_delay.unwrap_or(session.input_delay);
    session.max_prediction = a.max_prediction.unwrap_or(session.max_prediction);
    session.link.rtt_ms = a.rtt_ms.unwrap_or(session.link.rtt_ms);
    session.link.jitter_ms = a.jitter_ms.unwrap_or(session.link.jitter_ms);
    session.link.loss = a.loss.unwrap_or(session.link.loss);
    session.link.validate().map_err(ConfigError::Invalid)?;
    if !(1..=60 * 16).contains(&session.tick_hz) {
        return Err(ConfigError::Invalid(format!(
            "tick rate {} is outside 1..=960",
            session.tick_hz
        ))
        .into());
    }
    let m = &file.matches;
    let kind = MatchKind {
        mode: Mode::Coop,
        size: a.players.unwrap_or(m.players),
        rules_version: RULES_VERSION,
        waves: a.waves.unwrap_or(m.waves),
        time_limit: a.time_limit_s.unwrap_or(m.time_limit_s).saturating_mul(60),
    };
    if !(1..=4).contains(&kind.size) {
        return Err(
            ConfigError::Invalid(format!("{} players: a match has 1 to 4", kind.size)).into(),
        );
    }
    kind.rules()
        .validate()
        .map_err(|e| ConfigError::Invalid(e.into()))?;
    let (mut node, _) = cli::start(common, &a.net, Role::Player).await?;
    let _holdings = if a.chain.rpc.is_some() || file.chain.rpc.is_some() {
        let chain = cli::connect_chain(&file, &a.chain).await?;
        let dir = common.data_dir().join("holdings");
        let db = sled::open(&dir).map_err(|e| anyhow::anyhow!("opening {}: {e}", dir.display()))?;
        let owner = chain.address;
        let h = cyteria_node::holdings::Holdings::open(
            node.content.clone(),
            chain,
            db,
            owner,
            std::time::Duration::from_secs(30),
        )?;
        tracing::info!(wallet = %owner, "pinning the metadata of the wallet's items");
        Some(cli::AbortOnDrop(tokio::spawn(
            h.run(std::time::Duration::from_secs(15)),
        )))
    } else {
        None
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        cli::stop_signal().await;
        let _ = stop_tx.send(true);
    });
    if a.bot {
        let player = PlayerConfig {
            kind,
            loadout: starter_loadout(),
            session,
            source: InputSource::Bot,
        };
        let matches = a.matches.or(Some(m.matches)).filter(|n| *n > 0);
        let reports = node.play_matches(&player, matches, stop_rx).await;
        for r in &reports {
            println!("match {}", serde_json::to_string(r)?);
        }
    } else {
        let mut rx = stop_rx;
        let _ = rx.changed().await;
    }
    node.net().clone().stop().await;
    Ok(())
}

/// Runs the window: the client is its own program so that nodes,
/// validators and bootstrap nodes are built without bevy.
fn play_window(common: &CommonArgs, args: Vec<String>) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let window = exe.with_file_name(format!("cyteria-play{}", std::env::consts::EXE_SUFFIX));
    if !window.exists() {
        anyhow::bail!(
            "{} is not built: `make play` (or `cargo build --release -p cyteria-client`) builds it",
            window.display()
        );
    }
    let mut cmd = std::process::Command::new(&window);
    if let Some(d) = &common.data_dir {
        cmd.arg("--data-dir").arg(d);
    }
    if let Some(c) = &common.config {
        cmd.arg("--config").arg(c);
    }
    let status = cmd.arg("--log").arg(&common.log).args(args).status()?;
    if !status.success() {
        anyhow::bail!("the window exited with {status}");
    }
    Ok(())
}
