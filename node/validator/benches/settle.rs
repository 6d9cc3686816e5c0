//! Time from a match's end to its rewards settled on chain: two bot
//! players and three validators in this process on loopback, a local anvil,
//! validators pacing epochs as the devnet does (a proposal as soon as there
//! is something to settle, 2 s grace before a non-leader submits).
//!
//! `cargo bench -p cyteria-node --bench settle`

use std::time::{Duration, Instant};

use cyteria_chain::anvil::LocalChain;
use cyteria_game::RULES_VERSION;
use cyteria_node::net::{NetConfig, Role};
use cyteria_node::node::{Node, PlayerConfig};
use cyteria_node::session::{InputSource, SessionConfig};
use cyteria_node::wire::{MatchKind, Mode};
use cyteria_validator::ValidatorConfig;
use cyteria_validator::localnet::{self, ValidatorSetup};
use tokio::sync::watch;

const MATCHES: usize = 5;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let stake = alloy::primitives::U256::from(1_000u64)
        * alloy::primitives::U256::from(10u64).pow(alloy::primitives::U256::from(18));
    let chain = LocalChain::start_with_validators(3, stake, 60).await?;
    let config = ValidatorConfig {
        epoch_interval: Duration::ZERO,
        submit_grace: Duration::from_secs(2),
        poll: Duration::from_millis(250),
        ..ValidatorConfig::default()
    };
    let mut validators = vec![];
    for account in 1..=3 {
        let boot = match validators.first() {
            Some(v) => localnet_addresses(v).await,
            None => vec![],
        };
        validators.push(
            localnet::start_validator(
                &chain,
                account,
                ValidatorSetup::ephemeral(boot, config.clone())?,
            )
            .await?,
        );
    }
    let boot = localnet_addresses(&validators[0]).await;
    let mut players = vec![];
    for wallet in [4, 5] {
        let mut cfg = NetConfig::loopback(Role::Player);
        cfg.bootstrap = boot.clone();
        let node = Node::builder(cfg).start().await?;
        localnet::bind_wallet(&chain, &node, wallet, 1).await?;
        players.push(node);
    }
    let ledger = validators[0].handle.ledger.clone();
    while ledger.borrow().1.accounts.len() < 2 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let session = SessionConfig {
        tick_hz: 60,
        ..SessionConfig::default()
    };
    let kind = MatchKind {
        mode: Mode::Coop,
        size: 2,
        rules_version: RULES_VERSION,
        waves: 2,
        time_limit: 600,
    };
    let play = PlayerConfig {
        kind,
        equipment: cyteria_node::node::fixed_equipment(
            cyteria_game::transcript::Equipment::starter(),
        ),
        loadout_dir: None,
        session,
        source: InputSource::Bot,
        // The deployment's own beacon: a match from one naming no
        // deployment earns nothing.
        beacon: cyteria_node::beacon::fixed(
            cyteria_chain::chain::Chain::connect(
                &chain.endpoint(),
                chain.keys[9].clone(),
                chain.deployment,
            )
            .await?
            .beacon()
            .await?,
        ),
    };
    let mut waits = vec![];
    for _ in 0..MATCHES {
        let (_tx, rx) = watch::channel(false);
        let futs = players.iter_mut().map(|p| {
            let rx = rx.clone();
            let play = play.clone();
            async move { p.play_matches(&play, Some(1), rx).await.pop() }
        });
        let reports = futures::future::join_all(futs).await;
        let ended = Instant::now();
        let id = reports[0]
            .as_ref()
            .and_then(|r| r.transcript.as_ref())
            .map(|t| t.header.match_id)
            .expect("a transcript");
        let all = validators
            .iter()
            .map(|v| v.handle.ledger.clone())
            .collect::<Vec<_>>();
        while !all.iter().all(|l| l.borrow().1.credited.contains(&id)) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let took = ended.elapsed();
        println!(
            "match end → settled on chain and applied by all 3 validators: {:.2} s",
            took.as_secs_f64()
        );
        waits.push(took);
    }
    waits.sort();
    println!(
        "median {:.2} s, min {:.2} s, max {:.2} s over {MATCHES} matches",
        waits[MATCHES / 2].as_secs_f64(),
        waits[0].as_secs_f64(),
        waits[MATCHES - 1].as_secs_f64()
    );
    let m = validators[0].metrics();
    println!(
        "validator 1: {} transcripts verified, mean verify time {:.1} ms, {} batches signed",
        m.transcripts_verified.get(),
        1e3 * m.sum("cyteria_verify_seconds_sum", "") / m.transcripts_verified.get().max(1) as f64,
        m.batches_signed.get()
    );
    for p in players {
        p.ctx.net.clone().stop().await;
    }
    for v in validators {
        v.shut_down().await;
    }
    Ok(())
}

async fn localnet_addresses(v: &localnet::RunningValidator) -> Vec<libp2p::Multiaddr> {
    v.node.net().addresses().await
}
