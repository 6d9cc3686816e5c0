//! `cyteria`: the Cyteria node command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cyteria_game::RULES_VERSION;
use cyteria_game::crafting::starter_loadout;
use cyteria_node::cli::{self, CommonArgs, NetArgs};
use cyteria_node::config::ConfigError;
use cyteria_node::identity::Identity;
use cyteria_node::net::Role;
use cyteria_node::node::PlayerConfig;
use cyteria_node::session::InputSource;
use cyteria_node::wire::{MatchKind, Mode};
use tokio::sync::watch;

#[derive(Parser)]
#[command(name = "cyteria", version, about = "Cyteria: a peer-to-peer action RPG settled on Polygon")]
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
}

#[derive(clap::Args)]
struct NodeArgs {
    #[command(flatten)]
    net: NetArgs,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = cli.common.log.clone();
    cli::main_with(&log, run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Keys => {
            let dir = cli.common.data_dir();
            let (id, created) = Identity::load_or_create(&dir)?;
            println!("peer id {}", id.peer_id());
            println!("public key {}", blake3::Hash::from_bytes(id.public_key()).to_hex());
            println!("key file {}{}", dir.join(cyteria_node::identity::KEY_FILE).display(), if created { " (created)" } else { "" });
            Ok(())
        }
        Command::Node(args) => node(&cli.common, args).await,
        Command::Bootstrap(net) => cli::run_bootstrap(&cli.common, &net).await,
    }
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
        return Err(ConfigError::Invalid(format!("tick rate {} is outside 1..=960", session.tick_hz)).into());
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
        return Err(ConfigError::Invalid(format!("{} players: a match has 1 to 4", kind.size)).into());
    }
    kind.rules().validate().map_err(|e| ConfigError::Invalid(e.into()))?;
    let (mut node, _) = cli::start(common, &a.net, Role::Player).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        cli::stop_signal().await;
        let _ = stop_tx.send(true);
    });
    if a.bot {
        let player = PlayerConfig { kind, loadout: starter_loadout(), session, source: InputSource::Bot };
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
