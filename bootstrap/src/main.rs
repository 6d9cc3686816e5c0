//! `cyteria-bootstrap`: helps peers find and reach each other. It serves the
//! Cyteria DHT, relays circuits (relay v2, with reservation and circuit
//! limits) for peers behind NAT, answers AutoNAT probes and identify, and
//! relays gossip (validating it like any node). It plays no matches and
//! pins no content. It never compiles bevy.

use std::process::ExitCode;
use clap::Parser;
use cyteria_node::cli::{self, CommonArgs, NetArgs};
use cyteria_node::config::ConfigError;

#[derive(Parser)]
#[command(name = "cyteria-bootstrap", version, about = "Cyteria bootstrap node: DHT, relay, AutoNAT")]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    net: NetArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init_tracing(&cli.common.log);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<ConfigError>().is_some() { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    cli::run_bootstrap(&cli.common, &cli.net).await
}
