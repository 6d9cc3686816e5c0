//! `cyteria-bootstrap`: helps peers find and reach each other. It serves the
//! Cyteria DHT, relays circuits (relay v2, with reservation and circuit
//! limits) for peers behind NAT, answers AutoNAT probes and identify, and
//! relays gossip (validating it like any node). It plays no matches and
//! pins no content. It never compiles bevy.

use clap::Parser;
use cyteria_node::cli::{self, CommonArgs, NetArgs};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cyteria-bootstrap",
    version,
    about = "Cyteria bootstrap node: DHT, relay, AutoNAT"
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    net: NetArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = cli.common.log.clone();
    cli::main_with(&log, run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    cli::run_bootstrap(&cli.common, &cli.net).await
}
