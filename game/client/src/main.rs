//! `cyteria-play` (also `cyteria play`): the game window.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use cyteria_client::app::{self, Mode};
use cyteria_client::online::Online;
use cyteria_client::settings::Settings;
use cyteria_node::cli::{CommonArgs, NetArgs};
use cyteria_wallet::chain_args::ChainArgs;

#[derive(Parser)]
#[command(
    name = "cyteria play",
    version,
    about = "The Cyteria window: play co-op matches over the network with rollback, or offline against bots"
)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    net: NetArgs,
    /// The chain the wallet is on (the inventory and the market read it).
    #[command(flatten)]
    chain: ChainArgs,
    /// Play without a node: matches against the core's bots on this machine.
    #[arg(long)]
    offline: bool,
    /// Render the match of --seed after --ticks bot-played ticks to this PNG and exit.
    #[arg(long)]
    screenshot: Option<PathBuf>,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    #[arg(long, default_value_t = 600)]
    ticks: u32,
    /// Draw a crowded bot match (4 players; enemies and bolts as below, plus
    /// the arena's 12 resource nodes) for this many frames and write the
    /// frame times (JSON) to --bench-out.
    #[arg(long)]
    bench_frames: Option<u32>,
    #[arg(long, default_value_t = 96)]
    bench_enemies: usize,
    #[arg(long, default_value_t = 92)]
    bench_bolts: usize,
    #[arg(long, default_value = "frame-times.json")]
    bench_out: PathBuf,
}

fn main() -> ExitCode {
    let a = Args::parse();
    let data_dir = a.common.data_dir();
    let settings = if a.screenshot.is_some() || a.bench_frames.is_some() {
        Settings::default()
    } else {
        let _ = std::fs::create_dir_all(&data_dir);
        match Settings::load(&data_dir.join("client.toml")) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("settings: {e} (using the defaults)");
                Settings::default()
            }
        }
    };
    let mode = if let Some(path) = a.screenshot {
        Mode::Screenshot {
            path,
            seed: a.seed,
            ticks: a.ticks,
        }
    } else if let Some(frames) = a.bench_frames {
        Mode::Bench {
            frames,
            enemies: a.bench_enemies,
            bolts: a.bench_bolts,
            out: a.bench_out,
        }
    } else if a.offline {
        Mode::Play(None)
    } else {
        Mode::Play(Some(Online::start(
            a.common.clone(),
            a.net.clone(),
            a.chain.clone(),
        )))
    };
    match app::build(mode, settings).run() {
        bevy::app::AppExit::Success => ExitCode::SUCCESS,
        bevy::app::AppExit::Error(_) => ExitCode::FAILURE,
    }
}
