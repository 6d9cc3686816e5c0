//! `cyteria devnet`: the whole network on one machine. A local anvil with
//! every contract deployed; a bootstrap node; validators staked and
//! registered; bot players that find each other through the bootstrap node,
//! bind their wallets, play matches, and then trade what they won (a
//! listing bought, an auction bid on and settled, CYTR staked). Every node
//! is a real node on loopback with its own data directory; the process
//! boundary is the only thing missing. At the end, a report (see
//! [`report`]) states what happened and checks the outcomes each scenario
//! expects.

pub mod config;
pub mod flood;
pub mod plot;
pub mod report;
pub mod roles;
pub mod scenario;
pub mod timeline;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use cyteria_chain::anvil::LocalChain;
use cyteria_chain::chain::Chain;
use cyteria_chain::indexer::Indexer;
use cyteria_game::RULES_VERSION;
use cyteria_game::crafting::starter_loadout;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use libp2p::Multiaddr;
use tokio::sync::watch;

pub use config::{DevnetConfig, Scenario};
use cyteria_game::transcript::hex_id;
use cyteria_node::adversary::{Adversary, Cheat};
use cyteria_node::beacon::BeaconFeed;
use cyteria_node::identity::Identity;
use cyteria_node::net::latency::GossipClock;
use cyteria_node::net::{NetConfig, Role};
use cyteria_node::node::{Node, PlayerConfig};
use cyteria_node::session::{InputSource, MatchReport, SessionConfig};
use cyteria_node::store::Store;
use cyteria_node::wire::{ActionMessage, MatchKind, Mode};
use cyteria_validator::ValidatorConfig;
use cyteria_validator::adversary::Fault;
use cyteria_validator::localnet::{self, RunningValidator, ValidatorSetup};
use report::{DaoRound, MarketRound, Report};
use timeline::Timeline;

/// CYTR in wei.
fn cytr(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

/// Anvil account of validator `i` (0-based); account 0 deployed the contracts.
fn validator_account(i: usize) -> usize {
    1 + i
}

struct Player {
    dir: PathBuf,
    node: Node,
    wallet: Address,
    account: usize,
    cheat: Option<Cheat>,
}

/// Status lines while the devnet runs.
struct Progress {
    bars: MultiProgress,
    phase: ProgressBar,
}

impl Progress {
    fn new(show: bool) -> Self {
        let bars = MultiProgress::new();
        if !show {
            bars.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let phase = bars.add(ProgressBar::new_spinner());
        phase.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .expect("a valid template"),
        );
        phase.enable_steady_tick(Duration::from_millis(120));
        Self { bars, phase }
    }

    fn phase(&self, msg: impl Into<String>) {
        let msg = msg.into();
        tracing::info!(phase = %msg, "devnet");
        self.phase.set_message(msg);
    }

    fn bar(&self, len: u64, what: &str) -> ProgressBar {
        let b = self.bars.add(ProgressBar::new(len));
        b.set_style(
            ProgressStyle::with_template(&format!(
                "  {what:<22} [{{bar:30}}] {{pos}}/{{len}} {{msg}}"
            ))
            .expect("a valid template")
            .progress_chars("=> "),
        );
        b
    }
}

/// Runs the devnet to its end (or until `stop` turns true) and returns its report.
pub async fn run(cfg: DevnetConfig, mut stop: watch::Receiver<bool>) -> anyhow::Result<Report> {
    cfg.validate().map_err(anyhow::Error::msg)?;
    let started = Instant::now();
    let progress = Progress::new(cfg.progress);
    std::fs::create_dir_all(&cfg.data_dir)?;
    let timeline = Timeline::start(GossipClock::new());
    let roles = roles::Roles::new()?;
    let clock = Some(timeline.clock().clone());

    progress.phase("starting anvil and deploying the contracts");
    let newcomers = if cfg.scenario == Scenario::Churn {
        scenario::share(cfg.players, usize::from(cfg.match_size), 4)
    } else {
        0
    };
    // The last account is the guest's: a wallet for a player who joins
    // from outside (`cyteria play`), funded like the bots'.
    let accounts = 1 + cfg.validators + cfg.players + newcomers + 1;
    let stake = cytr(1_000);
    let v = cfg.validators;
    // The chain's tick rate is the devnet's: its matches may play faster
    // than real time, and validators place them in chain time by it.
    let chain = LocalChain::start_ticking(accounts, cfg.tick_hz, |keys| {
        let mut g: Vec<(Address, U256)> = keys[1..=v]
            .iter()
            .map(|k| (k.address(), stake * U256::from(2)))
            .collect();
        g.extend(keys[1 + v..].iter().map(|k| (k.address(), cytr(500))));
        g
    })
    .await?;
    for i in 0..cfg.validators {
        let c = Chain::connect(
            &chain.endpoint(),
            chain.keys[validator_account(i)].clone(),
            chain.deployment,
        )
        .await?;
        c.become_validator(stake).await?;
    }
    let deployment_file = cfg.data_dir.join("deployment.json");
    let reader = Chain::connect(&chain.endpoint(), chain.keys[0].clone(), chain.deployment).await?;
    std::fs::write(
        &deployment_file,
        serde_json::to_string_pretty(
            &cyteria_chain::deploy::DeploymentFile::on(chain.deployment, &reader).await?,
        )?,
    )?;
    let guest_key = write_guest_key(&cfg.data_dir, &chain.keys[accounts - 1])?;
    // Every player's offers name the latest settled epoch.
    let reader = Chain::connect(&chain.endpoint(), chain.keys[0].clone(), chain.deployment).await?;
    let (beacon, _following) =
        cyteria_wallet::beacon::follow(reader, Duration::from_millis(500)).await?;

    progress.phase("starting the bootstrap node");
    let (dir, c) = (cfg.data_dir.join("bootstrap"), clock.clone());
    let boot = roles::start_on(roles.bootstrap(), move || {
        start_node(dir, Role::Bootstrap, vec![], c)
    })
    .await?;
    let boot_addrs = boot.net().addresses().await;
    let seeds: Vec<Multiaddr> = boot_addrs.iter().take(1).cloned().collect();

    progress.phase(format!("starting {} validators", cfg.validators));
    let mut validators = Vec::new();
    for i in 0..cfg.validators {
        let fault = (cfg.scenario == Scenario::ValidatorCrash && i == 0)
            .then_some(Fault::CrashAfterSigning);
        validators.push(Some(
            start_validator(
                &cfg,
                &chain,
                roles.validators(),
                i,
                seeds.clone(),
                fault,
                clock.clone(),
            )
            .await?,
        ));
    }

    progress.phase(format!(
        "starting {} players and binding their wallets",
        cfg.players
    ));
    let mut players = Vec::new();
    for i in 0..cfg.players {
        let cheat = match (cfg.scenario, cfg.players - i) {
            (Scenario::Cheater, 1) => Some(Cheat::ForgeInput),
            (Scenario::Cheater, 2) => Some(Cheat::ClaimRewards),
            _ => None,
        };
        players.push(join(&cfg, &roles, &chain, &timeline, i, &seeds, cheat).await?);
    }
    // The network profile nodes from outside join with (`--network devnet`
    // when the devnet runs in the default data directory).
    let profile_file = cfg.data_dir.join(cyteria_node::profile::PROFILE_FILE);
    let profile = cyteria_node::profile::Profile {
        name: "devnet".into(),
        chain_id: cyteria_chain::anvil::CHAIN_ID,
        rpc: Some(chain.endpoint()),
        bootstrap: seeds.iter().map(ToString::to_string).collect(),
        deployment: deployment_file.file_name().map(PathBuf::from),
        confirmations: 1,
        base: PathBuf::new(),
    };
    std::fs::write(
        &profile_file,
        profile.to_toml().map_err(anyhow::Error::msg)?,
    )?;
    let hint = JoinHint {
        profile: std::path::absolute(&profile_file).unwrap_or(profile_file),
        guest_key: std::path::absolute(&guest_key).unwrap_or_else(|_| guest_key.clone()),
    };
    if cfg.progress {
        eprintln!("{}", hint.text(cfg.stay));
    }

    let reader = Chain::connect(&chain.endpoint(), chain.keys[0].clone(), chain.deployment).await?;
    let keys: Vec<[u8; 32]> = players
        .iter()
        .map(|p| p.node.ctx.identity.public_key())
        .collect();
    let bound = progress.bar(keys.len() as u64, "wallets bound");
    wait_for(&mut stop, Duration::from_secs(120), || {
        let n = live(&validators)
            .next()
            .map(|v| bound_count(v, &keys))
            .unwrap_or(0);
        bound.set_position(n as u64);
        n == keys.len()
    })
    .await;
    bound.finish();
    if cfg.scenario == Scenario::Cheater {
        steal_binding(&chain, &players).await;
    }
    // The flood: a hostile node, for the first minute of the matches.
    let flooding = if cfg.scenario == Scenario::Flood {
        let (d, sd, c) = (cfg.data_dir.join("flooder"), seeds.clone(), clock.clone());
        let node =
            roles::start_on(roles.hostile(), move || start_node(d, Role::Player, sd, c)).await?;
        let flooder = node.net().peer_id;
        let stop = stop.clone();
        Some((
            flooder,
            roles.hostile().spawn(async move {
                let net = node.net().clone();
                let stats = flood::flood(node, FLOOD_FOR, stop).await;
                net.stop().await;
                stats
            }),
        ))
    } else {
        None
    };

    // Matches: every player searches the lobby; groups form as offers meet.
    // Rounds go on (up to MAX_ROUNDS) until some honest player owns an item
    // to trade: drops are random.
    let per_round = (cfg.players / usize::from(cfg.match_size)) as u64 * u64::from(cfg.matches);
    let played_bar = progress.bar(per_round, "matches played");
    let settled_bar = progress.bar(0, "matches settled");
    let mut reports = vec![];
    let mut players = players;
    let mut crash_handled = cfg.scenario != Scenario::ValidatorCrash;
    let mut extra_checks = vec![];
    let mut leavers: Vec<scenario::Leaver> = vec![];
    let mut newcomer_keys: BTreeSet<[u8; 32]> = BTreeSet::new();
    let mut departed = vec![];
    // The partition: the last players on one side; everyone else (the
    // bootstrap node, the validators, the first players) on the other.
    let apart = scenario::share(cfg.players, usize::from(cfg.match_size), 2);
    // Only the partition holds the sides' handles: a `Net` keeps its node's
    // IPFS repository (and its lock) open, and the validator-crash scenario
    // restarts a validator on the same repository.
    let partition = cfg.scenario == Scenario::Partition;
    let side_b: Vec<cyteria_node::net::Net> = players[cfg.players - apart..]
        .iter()
        .filter(|_| partition)
        .map(|p| p.node.net().clone())
        .collect();
    let side_a: Vec<cyteria_node::net::Net> = players[..cfg.players - apart]
        .iter()
        .map(|p| p.node.net().clone())
        .chain(live(&validators).map(|v| v.node.net().clone()))
        .chain(std::iter::once(boot.net().clone()))
        .filter(|_| partition)
        .collect();
    let side_b_keys: BTreeSet<[u8; 32]> = players[cfg.players - apart..]
        .iter()
        .map(|p| p.node.ctx.identity.public_key())
        .collect();
    for round in 1..=MAX_ROUNDS {
        if cfg.scenario == Scenario::Partition && round == 1 {
            progress.phase(format!(
                "partition: {apart} players cut off from the validators and everyone else"
            ));
            scenario::cut(&side_a, &side_b, true);
            let mut tries = 0;
            while scenario::linked(&side_a, &side_b).await && tries < 50 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                tries += 1;
            }
            tracing::info!(
                still_linked = scenario::linked(&side_a, &side_b).await,
                waited_ms = tries * 200,
                "partition in place"
            );
        }
        progress.phase(format!(
            "round {round}: {} match(es) per player, {} players per match",
            cfg.matches, cfg.match_size
        ));
        played_bar.set_length(per_round * round as u64);
        let (r, back) = play(
            &cfg,
            roles.players(),
            &beacon,
            players,
            stop.clone(),
            &played_bar,
        )
        .await;
        players = back;
        reports.extend(r);
        if cfg.scenario == Scenario::Partition && round == 1 {
            let apart_matches = scenario::matches_among(&reports, &side_b_keys);
            progress.phase(format!(
                "partition: {} matches played apart; healing the network",
                apart_matches.len()
            ));
            scenario::cut(&side_a, &side_b, false);
            scenario::rejoin(&side_b, &seeds).await;
        }

        // Verification and settlement: every honest finished match is credited.
        progress.phase(format!(
            "round {round}: validators verify and settle the matches"
        ));
        if !crash_handled {
            restart_crashed(
                &cfg,
                &chain,
                roles.validators(),
                &mut validators,
                &seeds,
                &mut stop,
                clock.clone(),
            )
            .await?;
            crash_handled = true;
        }
        let honest: BTreeSet<String> = report::honest_finished(&reports, &cheater_keys(&players));
        settled_bar.set_length(honest.len() as u64);
        wait_for(&mut stop, Duration::from_secs(180), || {
            let credited = live(&validators)
                .map(|v| credited(v, &honest))
                .min()
                .unwrap_or(0);
            settled_bar.set_position(credited as u64);
            credited >= honest.len()
        })
        .await;
        if cfg.scenario == Scenario::Churn && round == 1 {
            progress.phase(format!(
                "churn: {newcomers} players leave, {newcomers} newcomers join"
            ));
            for p in players.drain(..newcomers) {
                let key = p.node.ctx.identity.public_key();
                let matches = reports
                    .iter()
                    .filter(|r| r.ending == cyteria_node::session::Ending::Finished)
                    .filter_map(|r| r.transcript.as_ref())
                    .filter(|t| t.header.players.iter().any(|s| s.public_key == key))
                    .map(|t| t.header.match_id)
                    .collect::<BTreeSet<_>>();
                departed.push((p.wallet, key, p.cheat));
                p.node.ctx.net.clone().stop().await;
                leavers.push(scenario::Leaver {
                    dir: p.dir,
                    key,
                    matches: matches.into_iter().collect(),
                });
            }
            let mut joined = vec![];
            for j in 0..newcomers {
                let p = join(
                    &cfg,
                    &roles,
                    &chain,
                    &timeline,
                    cfg.players + j,
                    &seeds,
                    None,
                )
                .await?;
                joined.push(p.node.ctx.identity.public_key());
                players.push(p);
            }
            wait_for(&mut stop, Duration::from_secs(120), || {
                live(&validators)
                    .next()
                    .is_some_and(|v| bound_count(v, &joined) == joined.len())
            })
            .await;
            newcomer_keys = joined.into_iter().collect();
            continue;
        }
        if *stop.borrow() || honest_items(&chain, &reader, &players).await? > 0 {
            break;
        }
        tracing::info!(round, "no honest player owns an item yet: another round");
    }
    played_bar.finish();
    settled_bar.finish();
    let credited_anywhere = |ids: &BTreeSet<String>| {
        live(&validators)
            .map(|v| credited(v, ids))
            .max()
            .unwrap_or(0)
    };
    if cfg.scenario == Scenario::Partition {
        let apart_matches = scenario::matches_among(&reports, &side_b_keys);
        let n = credited_anywhere(&apart_matches);
        extra_checks.push(report::Check {
            name: "the matches played apart settled once the network healed".into(),
            ok: !apart_matches.is_empty() && n == apart_matches.len(),
            detail: format!(
                "{n} of {} matches played by the {apart} cut-off players credited",
                apart_matches.len()
            ),
        });
    }
    if cfg.scenario == Scenario::Churn {
        let theirs: BTreeSet<String> = reports
            .iter()
            .filter(|r| r.ending == cyteria_node::session::Ending::Finished)
            .filter(|r| {
                r.transcript.as_ref().is_some_and(|t| {
                    t.header
                        .players
                        .iter()
                        .any(|s| newcomer_keys.contains(&s.public_key))
                })
            })
            .map(|r| r.match_id.clone())
            .collect();
        let n = credited_anywhere(&theirs);
        extra_checks.push(report::Check {
            name: "newcomers joined, played and were credited".into(),
            ok: newcomer_keys.len() == newcomers && !theirs.is_empty() && n == theirs.len(),
            detail: format!(
                "{} newcomers, {} of their {} matches credited",
                newcomer_keys.len(),
                n,
                theirs.len()
            ),
        });
    }
    if let Some((flooder, task)) = flooding {
        let stats = task.await.unwrap_or_default();
        extra_checks.extend(flood_checks(flooder, &stats, &players, &validators).await);
    }
    if cfg.scenario == Scenario::Cheater {
        // The cheaters' match is refused whole; give the refusals a moment to be counted everywhere.
        wait_for(&mut stop, Duration::from_secs(30), || {
            live(&validators).all(|v| v.metrics().rejected_total("transcript") >= 1)
        })
        .await;
        extra_checks.push(stolen_binding_check(&validators, &players));
        // After the matches: a refused offer costs its sender score at
        // every honest player, which must not stop the cheaters' own match.
        extra_checks.push(god_weapon_check(&cfg, &players).await);
        // The forger's matches go out through a second node of its own: its
        // player node has lost its standing with its forged match.
        let (d, sd, c) = (
            cfg.data_dir.join("forger-relay"),
            seeds.clone(),
            clock.clone(),
        );
        match roles::start_on(roles.players(), move || start_node(d, Role::Player, sd, c)).await {
            Ok(relay) => {
                extra_checks.push(fabricated_check(&players, &relay, &validators, &beacon).await);
                extra_checks.push(equivocation_check(&reader, &players, &beacon).await);
                relay.ctx.net.clone().stop().await;
            }
            Err(e) => tracing::warn!(error = %e, "the forger's relay node did not start"),
        }
        // And a third, as the fabricated matches cost the second its standing.
        let (d, sd, c) = (
            cfg.data_dir.join("forger-relay-2"),
            seeds.clone(),
            clock.clone(),
        );
        match roles::start_on(roles.players(), move || start_node(d, Role::Player, sd, c)).await {
            Ok(relay) => {
                extra_checks
                    .push(prefix_and_unheld_check(&players, &relay, &validators, &beacon).await);
                relay.ctx.net.clone().stop().await;
            }
            Err(e) => tracing::warn!(error = %e, "the forger's second relay node did not start"),
        }
        // And a fourth for the forged loadouts, each refused as verified.
        let (d, sd, c) = (
            cfg.data_dir.join("forger-relay-3"),
            seeds.clone(),
            clock.clone(),
        );
        match roles::start_on(roles.players(), move || start_node(d, Role::Player, sd, c)).await {
            Ok(relay) => {
                extra_checks
                    .push(forged_loadout_check(&players, &relay, &validators, &beacon).await);
                relay.ctx.net.clone().stop().await;
            }
            Err(e) => tracing::warn!(error = %e, "the forger's third relay node did not start"),
        }
    }

    // Crafting: every honest player whose materials cover a recipe crafts it.
    progress.phase("crafting from the materials the matches gave");
    let crafted = craft(
        &players,
        &validators,
        chain.deployment.settlement,
        &mut stop,
    )
    .await;

    // The market: what the matches minted changes hands.
    progress.phase("trading on the market");
    let market = trade(&chain, &players).await;
    if let Err(e) = &market {
        tracing::warn!(error = %e, "the market round failed");
    }

    // Governance: one proposal goes through the DAO and the timelock.
    progress.phase("a DAO proposal through the timelock");
    // Every honest player votes: the quorum is a share of all CYTR, which
    // grows with the players' allocations (two voters were enough at 8
    // players, not at 50).
    let voters: Vec<usize> = players
        .iter()
        .filter(|p| p.cheat.is_none())
        .map(|p| p.account)
        .collect();
    let dao = govern(&chain, &voters).await;
    if let Err(e) = &dao {
        tracing::warn!(error = %e, "the DAO round failed");
    }

    progress.phase("writing the report");
    // Validators apply a settlement a poll after the chain has it; the
    // report is a snapshot once every live one has (heartbeat batches may
    // settle at any time, at most one a minute when all is quiet). A
    // validator restarted mid-run may still be fetching a transcript to
    // follow the last batches: on a loaded 2-core machine that took over
    // 20 s (CI), so it gets a minute.
    // The snapshot pairs the chain's epoch with the ledgers' read right
    // after it: a heartbeat batch settling while the report is built must
    // not count as a validator left behind.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut caught_up = (Vec::new(), 0);
    while let Ok(e) = reader.settled_epoch().await {
        let epochs: Vec<u64> = live(&validators)
            .map(|v| v.handle.ledger.borrow().0)
            .collect();
        let done = epochs.iter().all(|l| *l >= e);
        caught_up = (epochs, e);
        if done || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let index = {
        let db = sled::Config::new().temporary(true).open()?;
        let index = Indexer::open(db, chain.deployment)?;
        index.sync(&reader.provider).await?;
        index
    };
    let mut report = report::build(report::Inputs {
        config: &cfg,
        reports: &reports,
        players: &players
            .iter()
            .map(|p| (p.wallet, p.node.ctx.identity.public_key(), p.cheat))
            .chain(departed.iter().copied())
            .collect::<Vec<_>>(),
        extra_checks,
        caught_up,
        validators: &live(&validators).collect::<Vec<_>>(),
        index: &index,
        chain: &reader,
        market: market.as_ref().ok(),
        crafted,
        dao: dao.as_ref().map_err(|e| e.to_string()),
        market_error: market.as_ref().err().map(|e| e.to_string()),
        wall: started.elapsed(),
        timeline: &timeline,
        cpu_by_role: roles.cpu_seconds(),
        anvil: roles::process(chain.anvil.child().id()),
    })
    .await?;
    std::fs::write(&cfg.report, serde_json::to_string_pretty(&report)?)?;
    std::fs::write(cfg.report.with_extension("html"), plot::html(&report))?;
    if cfg.stay && !*stop.borrow() {
        if cfg.progress {
            eprintln!("{}\n{}", report.table(), hint.text(true));
        }
        progress.phase(
            "up until Ctrl-C: a bot waits for `cyteria play` players, the others play among themselves, validators settle",
        );
        players = stay(&cfg, roles.players(), &beacon, players, stop.clone()).await;
    }
    progress.phase("shutting down");
    for p in players {
        p.node.ctx.net.clone().stop().await;
    }
    for v in validators.into_iter().flatten() {
        v.shut_down().await;
    }
    boot.ctx.net.clone().stop().await;
    drop(roles);
    if cfg.scenario == Scenario::Churn {
        // Once every node has stopped: the leavers' stores reopen whole.
        let check = scenario::leavers_kept_their_data(&leavers).await;
        report.ok &= check.ok;
        report.checks.push(check);
        std::fs::write(&cfg.report, serde_json::to_string_pretty(&report)?)?;
        std::fs::write(cfg.report.with_extension("html"), plot::html(&report))?;
    }
    progress.phase.finish_and_clear();
    Ok(report)
}

/// Starts player `i` (0-based) with its own data directory and anvil
/// account, on the players' runtime, gossips its wallet binding and locks
/// the least player bond from that wallet.
async fn join(
    cfg: &DevnetConfig,
    roles: &roles::Roles,
    chain: &LocalChain,
    timeline: &Timeline,
    i: usize,
    seeds: &[Multiaddr],
    cheat: Option<Cheat>,
) -> anyhow::Result<Player> {
    let account = 1 + cfg.validators + i;
    let dir = cfg.data_dir.join(format!("player-{}", i + 1));
    let (d, s, c) = (dir.clone(), seeds.to_vec(), Some(timeline.clock().clone()));
    let node = roles::start_on(roles.players(), move || start_node(d, Role::Player, s, c)).await?;
    timeline.watch(node.ctx.net.metrics.clone());
    let wallet = localnet::bind_wallet(chain, &node, account, 1).await?;
    // Drops mint only to bonded wallets: every devnet player bonds the least.
    localnet::bond_wallet(chain, account).await?;
    Ok(Player {
        dir,
        node,
        wallet,
        account,
        cheat,
    })
}

/// The claim cheater binds an honest player's game key (public in every
/// lobby offer) to its own wallet, at the highest nonce, signing the key's
/// part with its own key: the theft a binding the wallet alone signed let
/// through. The validators must refuse it (`binding not signed by the game key`).
async fn steal_binding(chain: &LocalChain, players: &[Player]) {
    use cyteria_settlement::binding;
    let (Some(thief), Some(victim)) = (
        players
            .iter()
            .find(|p| p.cheat == Some(Cheat::ClaimRewards)),
        players.iter().find(|p| p.cheat.is_none()),
    ) else {
        return;
    };
    let d = binding::domain(cyteria_chain::anvil::CHAIN_ID, chain.deployment.settlement);
    let own = &thief.node.ctx.identity;
    let stolen = binding::bind(
        &chain.keys[thief.account],
        victim.node.ctx.identity.public_key(),
        |m| own.sign(m),
        u64::MAX,
        &d,
    );
    match stolen {
        Ok(b) => {
            let m = cyteria_node::wire::ActionMessage::Bind(b);
            if let Err(e) = localnet::send_action(&thief.node, &m).await {
                tracing::warn!(error = %e, "the stolen binding was not sent");
            }
        }
        Err(e) => tracing::warn!(error = %e, "the stolen binding was not signed"),
    }
}

/// Whether every validator refused the stolen binding and the victim's key
/// still sends its items to the victim's wallet.
fn stolen_binding_check(
    validators: &[Option<RunningValidator>],
    players: &[Player],
) -> report::Check {
    let reason = "reason=\"binding not signed by the game key\"";
    let refused: Vec<u64> = live(validators)
        .map(|v| v.metrics().sum("cyteria_rejected_messages_total", reason) as u64)
        .collect();
    let victim = players.iter().find(|p| p.cheat.is_none());
    let kept = victim.is_some_and(|p| {
        live(validators).all(|v| {
            v.handle
                .ledger
                .borrow()
                .1
                .account(&p.node.ctx.identity.public_key())
                .and_then(|a| a.wallet())
                == Some(p.wallet)
        })
    });
    report::Check {
        name: "a stolen wallet binding was refused".into(),
        ok: !refused.is_empty() && refused.iter().all(|n| *n >= 1) && kept,
        detail: format!(
            "refused by each validator {refused:?}; the victim's key still binds to its own wallet: {kept}"
        ),
    }
}

/// The claim cheater offers a match with a `damage: 65535` weapon; the
/// honest players' lobbies must refuse the offer as it arrives (validators
/// would credit no such match either).
async fn god_weapon_check(cfg: &DevnetConfig, players: &[Player]) -> report::Check {
    use cyteria_game::item::ItemStats;
    use cyteria_node::wire::{self, LobbyMessage, Offer};
    let reason = "reason=\"invalid: a loadout beyond the starter kit\"";
    let refusals = || -> u64 {
        players
            .iter()
            .filter(|p| p.cheat.is_none())
            .map(|p| {
                p.node
                    .ctx
                    .net
                    .metrics
                    .sum("cyteria_rejected_messages_total", reason) as u64
            })
            .sum()
    };
    let mut detail = "no claim cheater".to_string();
    if let Some(thief) = players
        .iter()
        .find(|p| p.cheat == Some(Cheat::ClaimRewards))
    {
        let mut loadout = starter_loadout();
        loadout.weapon = loadout.weapon.map(|w| ItemStats {
            damage: u16::MAX,
            ..w
        });
        let offer = LobbyMessage::Offer(Offer {
            offer_id: [0x60; 16],
            kind: MatchKind {
                mode: Mode::Coop,
                size: cfg.match_size,
                rules_version: RULES_VERSION,
                waves: 2,
                time_limit: cfg.match_frames,
            },
            loadout,
            items: Default::default(),
            beacon: Default::default(),
        });
        let deadline = Instant::now() + Duration::from_secs(15);
        while refusals() == 0 && Instant::now() < deadline {
            let _ = thief
                .node
                .ctx
                .net
                .publish(wire::LOBBY_TOPIC, offer.encode())
                .await;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        detail = format!("{} refusals by the honest players' lobbies", refusals());
    }
    report::Check {
        name: "a god-weapon offer was refused".into(),
        ok: refusals() >= 1,
        detail,
    }
}

/// The forge cheater's bot plays matches offline in the time an honest
/// match takes (one seat, its own key, every signature valid) and announces
/// them: three with seeds of its choosing, one from an epoch not settled
/// yet, one from a forged root. No validator may credit any.
async fn fabricated_check(
    players: &[Player],
    relay: &Node,
    validators: &[Option<RunningValidator>],
    beacon: &BeaconFeed,
) -> report::Check {
    use cyteria_game::Rules;
    use cyteria_game::transcript::{Beacon, MatchHeader, PlayerSlot};
    let name = "matches fabricated offline were refused".to_string();
    let Some(forger) = players.iter().find(|p| p.cheat == Some(Cheat::ForgeInput)) else {
        return report::Check {
            name,
            ok: false,
            detail: "no forge cheater".into(),
        };
    };
    let id = forger.node.ctx.identity.clone();
    let now = *beacon.borrow();
    let rules = Rules {
        waves: 20,
        time_limit: 600,
    };
    let made = |n: u8, beacon: Beacon, seed: Option<u64>| {
        let seat = PlayerSlot::starter(id.public_key());
        let mut match_id = [0xFA; 32];
        match_id[1] = n;
        let mut h = MatchHeader::from_beacon(match_id, beacon, rules, vec![seat]);
        if let Some(s) = seed {
            h.seed = s;
        }
        cyteria_node::adversary::fabricate(std::slice::from_ref(&id), h, 600)
    };
    let future = Beacon {
        epoch: now.epoch + 50,
        root: [0xFB; 32],
        ..now
    };
    let forged = Beacon {
        epoch: now.epoch,
        root: [0xFC; 32],
        ..now
    };
    // Another deployment's epoch 0: its root is the zero root, as ours was.
    let elsewhere = Beacon {
        deployment: cyteria_game::transcript::Deployment {
            settlement: [0xFD; 20],
            ..now.deployment
        },
        epoch: 0,
        root: [0; 32],
    };
    // The chosen seeds cost the announcer its standing as they are
    // verified, so they go last: what comes after them may not be heard.
    let fakes = [
        made(3, future, None),
        made(4, forged, None),
        made(5, elsewhere, None),
        made(0, now, Some(1)),
        made(1, now, Some(2)),
        made(2, now, Some(3)),
    ];
    let ids: Vec<[u8; 32]> = fakes.iter().map(|t| t.header.match_id).collect();
    announce_through(relay, &fakes).await;
    // The seeds are refused as each validator verifies them; the beacons
    // when a leader builds the next batch.
    let reasons = ["seed not from beacon", "future beacon", "wrong beacon"];
    let c = until_refused(validators, reasons, Duration::from_secs(30)).await;
    let credited = most_credited(validators, &ids);
    report::Check {
        name,
        ok: credited == 0 && c.iter().all(|n| *n >= 1),
        detail: format!(
            "{credited} of {} credited; refusals: {} chosen seed, {} future beacon, {} forged root or another deployment's",
            fakes.len(),
            c[0],
            c[1],
            c[2]
        ),
    }
}

/// Announces each of `ts` through `relay`, retrying until the relay has
/// heard the validators' subscriptions.
async fn announce_through(relay: &Node, ts: &[cyteria_game::transcript::Transcript]) {
    for t in ts {
        let Ok(o) = t.verify() else { continue };
        for tries in 0..100 {
            match relay.announce(t, &o).await {
                Ok(_) => break,
                Err(e) if tries == 99 => {
                    tracing::warn!(error = %e, "a cheat's match was not announced")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

/// Waits up to `wait` until the live validators together refused something
/// for each of `reasons`; returns how many times each.
async fn until_refused<const N: usize>(
    validators: &[Option<RunningValidator>],
    reasons: [&str; N],
    wait: Duration,
) -> [u64; N] {
    let counts = || {
        reasons.map(|r| {
            let r = format!("reason=\"{r}\"");
            live(validators)
                .map(|v| v.metrics().sum("cyteria_rejected_messages_total", &r) as u64)
                .sum::<u64>()
        })
    };
    let deadline = Instant::now() + wait;
    while counts().contains(&0) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    counts()
}

/// Of the matches `ids`, the most any live validator's ledger credited.
fn most_credited(validators: &[Option<RunningValidator>], ids: &[[u8; 32]]) -> usize {
    live(validators)
        .map(|v| {
            let l = v.handle.ledger.borrow().1.clone();
            ids.iter().filter(|m| l.credited.contains(*m)).count()
        })
        .max()
        .unwrap_or(0)
}

/// The forge cheater plays two more matches offline and announces them:
/// the first 60 frames of a 600-frame match, with the end record the whole
/// match's seats signed (a chosen ending), and a match whose seat equips a
/// real item id its wallet never held. Both must be refused, each for its
/// own reason, and neither credited.
async fn prefix_and_unheld_check(
    players: &[Player],
    relay: &Node,
    validators: &[Option<RunningValidator>],
    beacon: &BeaconFeed,
) -> report::Check {
    use cyteria_game::Rules;
    use cyteria_game::transcript::{MatchHeader, PlayerSlot};
    let name = "a chosen ending and an item not held were refused".to_string();
    let Some(forger) = players.iter().find(|p| p.cheat == Some(Cheat::ForgeInput)) else {
        return report::Check {
            name,
            ok: false,
            detail: "no forge cheater".into(),
        };
    };
    let id = forger.node.ctx.identity.clone();
    let rules = Rules {
        waves: 20,
        time_limit: 600,
    };
    let now = *beacon.borrow();
    let whole = cyteria_node::adversary::fabricate(
        std::slice::from_ref(&id),
        MatchHeader::from_beacon(
            [0xFD; 32],
            now,
            rules,
            vec![PlayerSlot::starter(id.public_key())],
        ),
        600,
    );
    let prefix = cyteria_node::adversary::cut_at(&whole, 60);
    // A weapon whose id encodes it exactly, minted to nobody this wallet knows.
    let mut seat = PlayerSlot::starter(id.public_key());
    let blade = seat.loadout.weapon.map(|w| cyteria_game::item::ItemStats {
        rarity: cyteria_game::item::Rarity::Mythic,
        ..w
    });
    seat.loadout.weapon = blade;
    seat.items[0] = blade
        .and_then(|b| cyteria_settlement::ids::encode(&b, 1, 0xBEEF))
        .map(|i| i.to_be_bytes());
    let unheld = cyteria_node::adversary::fabricate(
        std::slice::from_ref(&id),
        MatchHeader::from_beacon([0xFE; 32], now, rules, vec![seat]),
        600,
    );
    let ids = [prefix.header.match_id, unheld.header.match_id];
    announce_through(relay, &[prefix, unheld]).await;
    // The prefix is refused as each validator verifies it; the item when a
    // leader, having read the wallet's holdings at the beacon, builds a batch.
    let reasons = ["bad end record", "item not held"];
    let c = until_refused(validators, reasons, Duration::from_secs(45)).await;
    let credited = most_credited(validators, &ids);
    report::Check {
        name,
        ok: credited == 0 && c.iter().all(|n| *n >= 1),
        detail: format!(
            "{credited} of 2 credited; refusals: {} bad end record (a 60-frame cut), {} item not held",
            c[0], c[1]
        ),
    }
}

/// The forge cheater plays two matches offline with loadouts it does not
/// own and announces them to the validators themselves (the lobby check of
/// `god_weapon_check` is only the honest players' first line): a weapon of
/// damage 65,535 with no token id, and a weapon whose token id encodes
/// other stats than the ones it plays with. Each must be refused for its
/// own reason, and neither credited.
async fn forged_loadout_check(
    players: &[Player],
    relay: &Node,
    validators: &[Option<RunningValidator>],
    beacon: &BeaconFeed,
) -> report::Check {
    use cyteria_game::Rules;
    use cyteria_game::item::ItemStats;
    use cyteria_game::transcript::{MatchHeader, PlayerSlot};
    let name = "a god weapon and an item not its id were refused by validators".to_string();
    let Some(forger) = players.iter().find(|p| p.cheat == Some(Cheat::ForgeInput)) else {
        return report::Check {
            name,
            ok: false,
            detail: "no forge cheater".into(),
        };
    };
    let id = forger.node.ctx.identity.clone();
    let rules = Rules {
        waves: 20,
        time_limit: 600,
    };
    let now = *beacon.borrow();
    let made = |match_id: [u8; 32], seat: PlayerSlot| {
        cyteria_node::adversary::fabricate(
            std::slice::from_ref(&id),
            MatchHeader::from_beacon(match_id, now, rules, vec![seat]),
            600,
        )
    };
    let mut god = PlayerSlot::starter(id.public_key());
    god.loadout.weapon = god.loadout.weapon.map(|w| ItemStats {
        damage: u16::MAX,
        ..w
    });
    // An id minted for a weaker blade, played with a sharper one.
    let mut mismatch = PlayerSlot::starter(id.public_key());
    let sharp = mismatch.loadout.weapon.map(|w| ItemStats {
        rarity: cyteria_game::item::Rarity::Epic,
        damage: w.damage.saturating_add(40),
        ..w
    });
    mismatch.items[0] = sharp
        .map(|s| ItemStats {
            damage: s.damage - 1,
            ..s
        })
        .and_then(|s| cyteria_settlement::ids::encode(&s, 1, 0xBEEF))
        .map(|i| i.to_be_bytes());
    mismatch.loadout.weapon = sharp;
    let fakes = [made([0xD1; 32], god), made([0xD2; 32], mismatch)];
    let ids: Vec<[u8; 32]> = fakes.iter().map(|t| t.header.match_id).collect();
    announce_through(relay, &fakes).await;
    let reasons = ["loadout not owned", "item not its id"];
    let c = until_refused(validators, reasons, Duration::from_secs(45)).await;
    let credited = most_credited(validators, &ids);
    report::Check {
        name,
        ok: credited == 0 && c.iter().all(|n| *n >= 1),
        detail: format!(
            "{credited} of 2 credited; refusals: {} loadout not owned (damage 65535, no id), {} item not its id",
            c[0], c[1]
        ),
    }
}

/// The forge cheater signs two input chains for one frame of a three-seat
/// match with two honest players, as `Cheat::Equivocate` does to its
/// peers; both honest players send the evidence to the validators. Its
/// bond must be slashed whole, once, with the evidence in the settling
/// transaction's calldata.
async fn equivocation_check(
    chain: &Chain,
    players: &[Player],
    beacon: &BeaconFeed,
) -> report::Check {
    use cyteria_game::Rules;
    use cyteria_game::transcript::{MatchHeader, PlayerSlot};
    let name = "an equivocator's bond was slashed once".to_string();
    let forger = players.iter().find(|p| p.cheat == Some(Cheat::ForgeInput));
    let honest: Vec<&Player> = players
        .iter()
        .filter(|p| p.cheat.is_none())
        .take(2)
        .collect();
    let (Some(forger), [a, b]) = (forger, &honest[..]) else {
        return report::Check {
            name,
            ok: false,
            detail: "no forge cheater, or fewer than two honest players".into(),
        };
    };
    let seat = |p: &Player| PlayerSlot::starter(p.node.ctx.identity.public_key());
    let header = MatchHeader::from_beacon(
        [0xEE; 32],
        *beacon.borrow(),
        Rules::default(),
        vec![seat(a), seat(b), seat(forger)],
    );
    let ev = cyteria_node::adversary::equivocation(&forger.node.ctx.identity, &header, 2, 120);
    let before = chain
        .bond_of(forger.wallet)
        .await
        .map(|b| b.0)
        .unwrap_or_default();
    for p in [a, b] {
        let m = ActionMessage::Evidence(ev.clone());
        if let Err(e) = localnet::send_action(&p.node, &m).await {
            tracing::warn!(error = %e, "the evidence was not sent");
        }
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut left = before;
    while Instant::now() < deadline {
        left = chain
            .bond_of(forger.wallet)
            .await
            .map(|b| b.0)
            .unwrap_or(left);
        if left.is_zero() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let events = chain
        .player_bond()
        .Slashed_filter()
        .from_block(0)
        .query()
        .await
        .map(|v| v.iter().filter(|(e, _)| e.player == forger.wallet).count())
        .unwrap_or(0);
    report::Check {
        name,
        ok: !before.is_zero() && left.is_zero() && events == 1,
        detail: format!(
            "bond {} CYTR before, {} after; {events} slash event(s) for two copies of the evidence",
            cyteria_wallet::show_cytr(before),
            cyteria_wallet::show_cytr(left)
        ),
    }
}

/// Rounds of matches the devnet plays at most while waiting for a drop.
const MAX_ROUNDS: u32 = 3;

fn cheater_keys(players: &[Player]) -> Vec<[u8; 32]> {
    players
        .iter()
        .filter(|p| p.cheat.is_some())
        .map(|p| p.node.ctx.identity.public_key())
        .collect()
}

/// Items held by players who play fair.
async fn honest_items(
    chain: &LocalChain,
    reader: &Chain,
    players: &[Player],
) -> anyhow::Result<usize> {
    let db = sled::Config::new().temporary(true).open()?;
    let index = Indexer::open(db, chain.deployment)?;
    index.sync(&reader.provider).await?;
    Ok(players
        .iter()
        .filter(|p| p.cheat.is_none())
        .map(|p| index.items_of(p.wallet).len())
        .sum())
}

fn live(vals: &[Option<RunningValidator>]) -> impl Iterator<Item = &RunningValidator> {
    vals.iter().flatten()
}

fn bound_count(v: &RunningValidator, keys: &[[u8; 32]]) -> usize {
    let ledger = v.handle.ledger.borrow().1.clone();
    keys.iter()
        .filter(|k| ledger.account(k).is_some_and(|a| a.wallet.is_some()))
        .count()
}

fn credited(v: &RunningValidator, matches: &BTreeSet<String>) -> usize {
    let ledger = v.handle.ledger.borrow().1.clone();
    ledger
        .credited
        .iter()
        .filter(|id| matches.contains(&hex_id(id)))
        .count()
}

async fn start_node(
    dir: PathBuf,
    role: Role,
    bootstrap: Vec<Multiaddr>,
    clock: Option<GossipClock>,
) -> anyhow::Result<Node> {
    std::fs::create_dir_all(&dir)?;
    let (identity, _) = Identity::load_or_create(&dir)?;
    let mut cfg = NetConfig::loopback(role);
    cfg.listen = vec!["/ip4/127.0.0.1/tcp/0".parse()?];
    cfg.bootstrap = bootstrap;
    cfg.repo = (role != Role::Bootstrap).then(|| dir.join("ipfs"));
    cfg.behaviour.clock = clock;
    Node::builder(cfg)
        .identity(identity)
        .store(Store::open(&dir.join("store"))?)
        .start()
        .await
}

fn validator_config(fault: Option<Fault>) -> ValidatorConfig {
    ValidatorConfig {
        epoch_interval: Duration::from_secs(2),
        round_timeout: Duration::from_secs(15),
        submit_grace: Duration::from_secs(2),
        fetch_timeout: Duration::from_secs(10),
        poll: Duration::from_millis(500),
        beacon_every: Duration::from_secs(60),
        fault,
    }
}

async fn start_validator(
    cfg: &DevnetConfig,
    chain: &LocalChain,
    runtime: &tokio::runtime::Handle,
    i: usize,
    bootstrap: Vec<Multiaddr>,
    fault: Option<Fault>,
    clock: Option<GossipClock>,
) -> anyhow::Result<RunningValidator> {
    let dir = cfg.data_dir.join(format!("validator-{}", i + 1));
    std::fs::create_dir_all(&dir)?;
    let (identity, _) = Identity::load_or_create(&dir)?;
    let setup = ValidatorSetup {
        identity,
        store: Store::open(&dir.join("store"))?,
        repo: Some(dir.join("ipfs")),
        bootstrap,
        config: validator_config(fault),
        clock,
    };
    let key = chain.keys[validator_account(i)].clone();
    let (endpoint, deployment) = (chain.endpoint(), chain.deployment);
    roles::start_on(runtime, move || {
        localnet::start_validator_on(endpoint, key, deployment, setup)
    })
    .await
}

/// The validator-crash scenario: validator 1 exits after signing its first
/// batch; once it has, it restarts from its data directory without the fault.
async fn restart_crashed(
    cfg: &DevnetConfig,
    chain: &LocalChain,
    runtime: &tokio::runtime::Handle,
    validators: &mut [Option<RunningValidator>],
    seeds: &[Multiaddr],
    stop: &mut watch::Receiver<bool>,
    clock: Option<GossipClock>,
) -> anyhow::Result<()> {
    let crashed = |v: &Option<RunningValidator>| v.as_ref().is_some_and(|v| v.task.is_finished());
    wait_for(stop, Duration::from_secs(60), || crashed(&validators[0])).await;
    if let Some(v) = validators[0].take() {
        tracing::info!("validator 1 crashed after signing; restarting it from its data directory");
        v.shut_down().await;
        // The store's sled database and the IPFS repository's lock are let
        // go when the last handle on them goes: tasks of the stopped node
        // that were waiting on its swarm finish a moment after it stops.
        let began = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            match start_validator(cfg, chain, runtime, 0, seeds.to_vec(), None, clock.clone()).await
            {
                Ok(v) => {
                    tracing::info!(
                        waited_ms = began.elapsed().as_millis() as u64,
                        "validator 1 restarted"
                    );
                    validators[0] = Some(v);
                    break;
                }
                Err(e)
                    if began.elapsed() < Duration::from_secs(30)
                        && format!("{e:#}").contains("already being used") =>
                {
                    tracing::debug!(error = %e, "validator 1's repository is still held; trying again");
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

async fn play(
    cfg: &DevnetConfig,
    runtime: &tokio::runtime::Handle,
    beacon: &BeaconFeed,
    players: Vec<Player>,
    stop: watch::Receiver<bool>,
    bar: &ProgressBar,
) -> (Vec<MatchReport>, Vec<Player>) {
    let kind = MatchKind {
        mode: Mode::Coop,
        size: cfg.match_size,
        rules_version: RULES_VERSION,
        waves: 2,
        time_limit: cfg.match_frames,
    };
    let seen = Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    // A round ends when every player has played its matches, or at its
    // deadline: a player whose every possible partner is done would search
    // the lobby forever.
    let (round_tx, round_stop) = watch::channel(false);
    let deadline = round_deadline(cfg);
    let mut outer = stop.clone();
    let _deadline = cyteria_node::cli::AbortOnDrop(runtime.spawn(async move {
        tokio::select! {
            _ = outer.wait_for(|s| *s) => {}
            _ = tokio::time::sleep(deadline) => {
                tracing::warn!(deadline_s = deadline.as_secs(), "the round's deadline passed: players still searching stop");
            }
        }
        let _ = round_tx.send(true);
    }));
    let stop = round_stop;
    let tasks: Vec<_> = players
        .into_iter()
        .map(|mut p| {
            let session = SessionConfig {
                tick_hz: cfg.tick_hz,
                link: cfg.link,
                disconnect_timeout_ms: 5_000,
                sync_timeout_ms: 60_000,
                adversary: Adversary {
                    cheat: p.cheat,
                    vanish_after: None,
                },
                ..SessionConfig::default()
            };
            // Cheaters seek a match of their own kind (one more wave), so they
            // meet each other: no honest player's announcement rescues their match.
            let kind = if p.cheat.is_some() {
                MatchKind {
                    waves: kind.waves + 1,
                    ..kind
                }
            } else {
                kind
            };
            let play = PlayerConfig {
                kind,
                equipment: cyteria_node::node::fixed_equipment(
                    cyteria_game::transcript::Equipment::starter(),
                ),
                loadout_dir: None,
                session,
                source: InputSource::Bot,
                beacon: beacon.clone(),
            };
            let (stop, matches, bar, seen) = (stop.clone(), cfg.matches, bar.clone(), seen.clone());
            runtime.spawn(async move {
                let reports = p.node.play_matches(&play, Some(matches), stop).await;
                for r in &reports {
                    if seen
                        .lock()
                        .map(|mut s| s.insert(r.match_id.clone()))
                        .unwrap_or(false)
                    {
                        bar.inc(1);
                    }
                }
                (reports, p)
            })
        })
        .collect();
    let mut all = vec![];
    let mut back = vec![];
    for t in tasks {
        match t.await {
            Ok((r, p)) => {
                all.extend(r);
                back.push(p);
            }
            Err(e) => tracing::error!(error = %e, "a player's task failed"),
        }
    }
    (all, back)
}

/// How long a round may take: each match's play time at the devnet's tick
/// rate, plus its sync timeout and lobby time, plus a minute.
fn round_deadline(cfg: &DevnetConfig) -> Duration {
    let match_s = u64::from(cfg.match_frames) / u64::from(cfg.tick_hz.max(1));
    Duration::from_secs(u64::from(cfg.matches) * (match_s + 60 + 30) + 60)
}

/// Sends a signed craft for every honest player who can afford a recipe
/// (by the validators' ledger) and waits for the validators to apply them.
/// Returns how many crafts settled.
async fn craft(
    players: &[Player],
    validators: &[Option<RunningValidator>],
    settlement: Address,
    stop: &mut watch::Receiver<bool>,
) -> usize {
    use cyteria_game::crafting::RECIPES;
    use cyteria_settlement::action::{Action, SignedAction};
    let Some(ledger) = live(validators)
        .next()
        .map(|v| v.handle.ledger.borrow().1.clone())
    else {
        return 0;
    };
    let mut sent = vec![];
    for p in players.iter().filter(|p| p.cheat.is_none()) {
        let key = p.node.ctx.identity.public_key();
        let Some(account) = ledger.account(&key) else {
            continue;
        };
        let Some(recipe) = RECIPES
            .iter()
            .position(|r| account.materials.check(r.cost).is_ok())
        else {
            continue;
        };
        let id = &p.node.ctx.identity;
        let action = Action::Craft {
            recipe: recipe as u8,
        };
        let signed = SignedAction::new(
            key,
            account.next_nonce,
            (cyteria_chain::anvil::CHAIN_ID, settlement.0.0),
            action,
            |m| id.sign(m),
        );
        match localnet::send_action(&p.node, &cyteria_node::wire::ActionMessage::Act(signed)).await
        {
            Ok(()) => sent.push((key, account.next_nonce + 1)),
            Err(e) => tracing::warn!(error = %e, "a craft was not sent"),
        }
    }
    let applied = |v: &RunningValidator| {
        let l = v.handle.ledger.borrow().1.clone();
        sent.iter()
            .filter(|(k, next)| l.account(k).is_some_and(|a| a.next_nonce >= *next))
            .count()
    };
    wait_for(stop, Duration::from_secs(60), || {
        live(validators).all(|v| applied(v) == sent.len())
    })
    .await;
    live(validators).map(applied).min().unwrap_or(0)
}

/// Two players (CYTR holders; the validators' accounts are busy settling)
/// propose and pass a lower marketplace fee; it executes from the timelock
/// a day later (anvil's clock is moved).
async fn govern(chain: &LocalChain, voters: &[usize]) -> anyhow::Result<DaoRound> {
    anyhow::ensure!(!voters.is_empty(), "no honest player to vote");
    use alloy::sol_types::SolCall;
    use cyteria_chain::bindings::Marketplace;
    let market = Marketplace::new(chain.deployment.marketplace, chain.provider(0).await?);
    let before = market.feeBps().call().await?;
    let after = before.saturating_sub(50);
    let call = Marketplace::setFeeCall {
        treasury_: chain.deployment.timelock_controller,
        feeBps_: after,
    };
    let description = format!("Lower the marketplace fee from {before} to {after} basis points");
    let id = chain
        .pass_proposal(
            voters[0],
            voters,
            chain.deployment.marketplace,
            call.abi_encode().into(),
            &description,
        )
        .await?;
    let now = market.feeBps().call().await?;
    anyhow::ensure!(
        now == after,
        "the fee is {now} bps after the proposal executed, not {after}"
    );
    Ok(DaoRound {
        proposal: format!("{id:#x}"),
        change: description,
        fee_bps_before: before,
        fee_bps_after: now,
    })
}

/// One player lists an item and another buys it; one auctions an item,
/// another bids, and the auction settles after its end; a player stakes CYTR.
async fn trade(chain: &LocalChain, players: &[Player]) -> anyhow::Result<MarketRound> {
    let mut round = MarketRound::default();
    let endpoint = chain.endpoint();
    let connect =
        |p: &Player| Chain::connect(&endpoint, chain.keys[p.account].clone(), chain.deployment);
    let reader = Chain::connect(&chain.endpoint(), chain.keys[0].clone(), chain.deployment).await?;
    let db = sled::Config::new().temporary(true).open()?;
    let index = Indexer::open(db, chain.deployment)?;
    index.sync(&reader.provider).await?;
    let mut owned: BTreeMap<Address, Vec<U256>> = players
        .iter()
        .map(|p| {
            (
                p.wallet,
                index
                    .items_of(p.wallet)
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect(),
            )
        })
        .collect();
    let other = |seller: &Player| {
        players
            .iter()
            .find(|p| p.wallet != seller.wallet && p.cheat.is_none())
    };
    let holder = |owned: &BTreeMap<Address, Vec<U256>>| {
        players
            .iter()
            .find(|p| p.cheat.is_none() && !owned[&p.wallet].is_empty())
    };
    if let Some(seller) = holder(&owned)
        && let Some(buyer) = other(seller)
    {
        let id = owned[&seller.wallet][0];
        let s = connect(seller).await?;
        let listing = s.list(id, 1, cytr(10).to::<u128>()).await?;
        round.listed = Some(format!("{id:#x}"));
        let b = connect(buyer).await?;
        let r = b.buy(listing, 1, cytr(10).to::<u128>()).await?;
        round.gas_used += r.gas_used;
        round.bought_by = Some(buyer.wallet);
        owned.entry(seller.wallet).or_default().retain(|x| *x != id);
        owned.entry(buyer.wallet).or_default().push(id);
    }
    // An auction: of another item when there is one, else of the one just bought.
    if let Some(seller) = holder(&owned)
        && let Some(bidder) = other(seller)
    {
        let id = owned[&seller.wallet][0];
        let s = connect(seller).await?;
        let duration = 3_600;
        let lot = s
            .auction_item(id, 1, cytr(5).to::<u128>(), duration)
            .await?;
        round.auctioned = Some(format!("{id:#x}"));
        let b = connect(bidder).await?;
        let r = b.bid(lot, cytr(6).to::<u128>()).await?;
        round.gas_used += r.gas_used;
        round.winning_bid_by = Some(bidder.wallet);
        chain.advance_time(duration + 1).await?;
        let r = b.settle_lot(lot).await?;
        round.gas_used += r.gas_used;
        round.auction_settled = true;
    }
    if let Some(staker) = players.iter().find(|p| p.cheat.is_none()) {
        let c = connect(staker).await?;
        let amount = cytr(100);
        c.stake(amount).await?;
        round.staked_by = Some(staker.wallet);
        round.staked = "100".into();
    }
    Ok(round)
}

/// Polls `done` every 250 ms until it holds, `within` passes, or `stop` turns true.
async fn wait_for(
    stop: &mut watch::Receiver<bool>,
    within: Duration,
    mut done: impl FnMut() -> bool,
) {
    let deadline = tokio::time::Instant::now() + within;
    while !done() && tokio::time::Instant::now() < deadline && !*stop.borrow() {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = stop.changed() => {}
        }
    }
}

/// How long the flood scenario's hostile node floods.
const FLOOD_FOR: Duration = Duration::from_secs(60);

/// The most memory the whole devnet process (every honest node, the
/// flooder too) may hold at its peak in the flood scenario; an honest run
/// of 4 players and 3 validators peaks near 200 MB.
const FLOOD_MAX_RSS_MB: f64 = 768.0;

/// The flood scenario's checks: the flooder ended up cut off by every
/// honest node it reached, and the process's memory stayed bounded.
async fn flood_checks(
    flooder: libp2p::PeerId,
    stats: &flood::FloodStats,
    players: &[Player],
    validators: &[Option<RunningValidator>],
) -> Vec<report::Check> {
    let honest: Vec<&cyteria_node::net::Net> = players
        .iter()
        .map(|p| p.node.net())
        .chain(live(validators).map(|v| v.node.net()))
        .collect();
    let mut still = 0;
    for n in &honest {
        if n.connected().await.contains(&flooder) {
            still += 1;
        }
    }
    let banned = honest
        .iter()
        .filter(|n| n.app_score(&flooder) <= cyteria_node::net::BAN_SCORE / 2.0)
        .count();
    // The flood must not turn honest nodes against each other (a guard
    // that refused honest traffic slowed by the flood once did).
    let ids: Vec<libp2p::PeerId> = honest.iter().map(|n| n.peer_id).collect();
    let turned: Vec<String> = honest
        .iter()
        .flat_map(|n| {
            ids.iter()
                .filter(|p| {
                    **p != n.peer_id && n.app_score(p) <= cyteria_node::net::BAN_SCORE / 2.0
                })
                .map(move |p| format!("{} against {p}", n.peer_id))
        })
        .collect();
    let rss = peak_rss_mb();
    vec![
        report::Check {
            name: "no honest node scored another down".into(),
            ok: turned.is_empty(),
            detail: if turned.is_empty() {
                format!(
                    "{} honest nodes, none scored another to half a ban",
                    honest.len()
                )
            } else {
                turned.join("; ")
            },
        },
        report::Check {
            name: "the flooder was cut off".into(),
            ok: still == 0 && stats.peers_at_end == 0 && stats.most_peers > 0,
            detail: format!(
                "{} gossip messages sent in {:.0} s ({} refused once it had no peers), {} streams opened ({} refused); it had up to {} peers and {} at the end; {} of {} honest nodes still connected to it, {} scored it down to a ban",
                stats.gossip_sent,
                stats.seconds,
                stats.gossip_refused,
                stats.streams_opened,
                stats.streams_refused,
                stats.most_peers,
                stats.peers_at_end,
                still,
                honest.len(),
                banned
            ),
        },
        report::Check {
            name: "memory stayed bounded under the flood".into(),
            ok: rss.is_some_and(|m| m <= FLOOD_MAX_RSS_MB),
            detail: format!(
                "peak RSS of the devnet process {} MB (bound {FLOOD_MAX_RSS_MB} MB)",
                rss.map_or("unknown".into(), |m| format!("{m:.0}"))
            ),
        },
    ]
}

/// This process's peak resident memory (VmHWM), in MB.
fn peak_rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = s
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// How a node or window from outside joins the running devnet.
struct JoinHint {
    profile: PathBuf,
    guest_key: PathBuf,
}

impl JoinHint {
    fn text(&self, staying: bool) -> String {
        let join = format!(
            "--network {} --eth-key-file {}",
            self.profile.display(),
            self.guest_key.display()
        );
        let mut t = format!(
            "To join the devnet from another terminal while it runs (the guest wallet {} holds CYTR and gas):\n\
             \x20 the game window (`make play` builds it):\n\
             \x20   cyteria play --data-dir my-node {join}\n\
             \x20   then [B] binds the game key to the wallet, [Enter] finds a match, [I] shows what settled, [L] lists an item\n\
             \x20 a headless bot node:\n\
             \x20   cyteria node --bot --data-dir my-bot {join}\n\
             \x20 (with the default data directory, `--network devnet` names the same profile)",
            self.guest_key.display(),
        );
        if !staying {
            t += "\n  (this devnet stops after its report: `cyteria devnet --stay` keeps it up, with a bot waiting for the window)";
        }
        t
    }
}

/// Writes the guest wallet's key (hex, owner-only) for players who join
/// from outside; returns its path.
fn write_guest_key(dir: &std::path::Path, key: &PrivateKeySigner) -> anyhow::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join("guest.key");
    let _ = std::fs::remove_file(&path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    writeln!(f, "{}", alloy::hex::encode(key.to_bytes()))?;
    Ok(path)
}

/// The devnet left up (`--stay`) until stopped: the first honest player
/// looks for the window's public match ([`MatchKind::PUBLIC`]) over and
/// over, so a `cyteria play` that joins has a bot to play with; the other
/// honest players keep playing the devnet's matches among themselves, and
/// the validators keep verifying and settling.
async fn stay(
    cfg: &DevnetConfig,
    runtime: &tokio::runtime::Handle,
    beacon: &BeaconFeed,
    players: Vec<Player>,
    stop: watch::Receiver<bool>,
) -> Vec<Player> {
    let host = players.iter().position(|p| p.cheat.is_none());
    let tasks: Vec<_> = players
        .into_iter()
        .enumerate()
        .map(|(i, mut p)| {
            let kind = if Some(i) == host {
                MatchKind::PUBLIC
            } else {
                MatchKind {
                    mode: Mode::Coop,
                    size: cfg.match_size,
                    rules_version: RULES_VERSION,
                    waves: 2,
                    time_limit: cfg.match_frames,
                }
            };
            let play = PlayerConfig {
                kind,
                equipment: cyteria_node::node::fixed_equipment(
                    cyteria_game::transcript::Equipment::starter(),
                ),
                loadout_dir: None,
                session: SessionConfig {
                    tick_hz: if Some(i) == host {
                        cyteria_game::TICK_RATE
                    } else {
                        cfg.tick_hz
                    },
                    link: cfg.link,
                    ..SessionConfig::default()
                },
                source: InputSource::Bot,
                beacon: beacon.clone(),
            };
            let stop = stop.clone();
            runtime.spawn(async move {
                if p.cheat.is_none() {
                    let played = p.node.play_matches(&play, None, stop).await;
                    tracing::info!(matches = played.len(), "stayed and played");
                }
                p
            })
        })
        .collect();
    let mut back = vec![];
    for t in tasks {
        match t.await {
            Ok(p) => back.push(p),
            Err(e) => tracing::error!(error = %e, "a player's task failed"),
        }
    }
    back
}
