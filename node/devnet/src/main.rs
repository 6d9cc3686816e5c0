//! `cyteria-devnet` (also `cyteria devnet`): the whole network on this
//! machine, with a report at the end. A program of its own because its
//! scenarios run cheating players and faulty validators: the crates that
//! players and volunteers run are built without that code.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use cyteria_node::cli::{self, CommonArgs};
use cyteria_node::config::ConfigError;
use tokio::sync::watch;

#[derive(Parser)]
#[command(
    name = "cyteria-devnet",
    version,
    about = "The whole Cyteria network on this machine: anvil with the contracts, a bootstrap node, validators and bot players that play, settle and trade; ends with a report"
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    devnet: DevnetArgs,
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
    #[arg(long, value_enum, default_value_t = cyteria_devnet::Scenario::Honest)]
    scenario: cyteria_devnet::Scenario,
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
    cli::main_with(&log, devnet(cli.common, cli.devnet))
}

async fn devnet(common: CommonArgs, a: DevnetArgs) -> anyhow::Result<()> {
    if let Some(n) = &common.network {
        return Err(ConfigError::Invalid(format!(
            "the devnet runs a network of its own; --network {n} is for nodes that join one"
        ))
        .into());
    }
    let dir = devnet_dir(&common);
    let cfg = cyteria_devnet::DevnetConfig {
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
    let report = cyteria_devnet::run(cfg, stop_rx).await?;
    println!("{}", report.table());
    println!(
        "report: {}   logs: {}",
        report_path.display(),
        dir.join("devnet.log").display()
    );
    anyhow::ensure!(report.ok, "some checks failed (see above)");
    Ok(())
}
