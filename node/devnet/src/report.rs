//! The devnet's report: what was played, verified, settled and traded, the
//! checks each scenario expects (every one stated, passed or not), a table
//! for the terminal and the JSON the tests read.

use std::collections::BTreeMap;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use cyteria_chain::chain::Chain;
use cyteria_chain::indexer::Indexer;
use cyteria_settlement::ids;
use serde::Serialize;

use crate::config::{DevnetConfig, Scenario};
use crate::timeline::{Gossip, Second, Timeline};
use cyteria_game::transcript::hex_id;
use cyteria_node::adversary::Cheat;
use cyteria_node::metrics::Metrics;
use cyteria_node::session::{Ending, MatchReport};
use cyteria_validator::localnet::RunningValidator;

/// One expected outcome and whether it held.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// What was expected.
    pub name: String,
    /// Whether it held.
    pub ok: bool,
    /// What was seen, in figures.
    pub detail: String,
}

/// What the matches did, from every node's reports.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Matches {
    /// Matches played, each counted once.
    pub played: usize,
    /// Matches every seat played to the end.
    pub finished: usize,
    /// Matches some seat did not finish.
    pub failed: usize,
    /// Frames played: each match's longest transcript, summed.
    pub frames: u64,
    /// Rollbacks, summed over seats.
    pub rollbacks: u64,
    /// Frames rolled back and simulated again, summed over seats.
    pub rollback_frames: u64,
    /// The deepest rollback, in frames.
    pub max_rollback_depth: u32,
    /// Ticks a seat waited for its peers instead of advancing, summed over seats.
    pub stalls: u64,
    /// Checksums that differed between peers, summed over seats.
    pub desyncs: u64,
    /// Lobby to first frame, median, in ms.
    pub lobby_to_first_frame_ms_p50: Option<u64>,
}

/// What the validators verified and refused.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Verification {
    /// Transcripts each validator verified (the same matches, counted by each).
    pub verified_per_validator: Vec<u64>,
    /// Transcripts refused, by reason, summed over validators.
    pub rejected: BTreeMap<String, u64>,
}

/// What was settled on chain.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Settlement {
    /// Epochs settled on chain: the settlement contract's epoch.
    pub epochs_settled: u64,
    /// Finished matches the validators' ledger credited.
    pub matches_credited: usize,
    /// Crafts (signed actions) the validators applied and settled.
    pub crafts: usize,
    /// Items the settled batches minted.
    pub items_minted: usize,
    /// Gas the settlement transactions used: the highest of any validator's.
    pub gas_used: u64,
    /// The state root on chain, in hex.
    pub state_root: String,
}

/// An item a player holds on chain, with its stats.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    /// The wallet that holds it.
    pub owner: Address,
    /// Its token id, in hex.
    pub id: String,
    /// Weapon, armor or tool.
    pub item_type: String,
    /// Its rarity.
    pub rarity: String,
    /// Its damage stat.
    pub damage: u16,
    /// Its defense stat.
    pub defense: u16,
    /// Its durability stat.
    pub durability: u16,
    /// Its traits, by name.
    pub traits: Vec<&'static str>,
    /// Its metadata's URI, from the chain (`ipfs://...`).
    pub uri: String,
}

/// What the run cost the machine.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Resources {
    /// Wall-clock time of the run, in seconds.
    pub wall_s: f64,
    /// CPU time of the whole devnet process (anvil not included), in seconds.
    pub cpu_s: f64,
    /// Peak resident memory of the devnet process (every role shares its heap).
    pub max_rss_mb: f64,
    /// CPU seconds by role: each role's nodes run on a runtime of their own.
    pub cpu_by_role_s: BTreeMap<String, f64>,
    /// anvil's CPU time, in seconds, when it could be read.
    pub anvil_cpu_s: Option<f64>,
    /// anvil's peak resident memory, in MB, when it could be read.
    pub anvil_max_rss_mb: Option<f64>,
}

/// The devnet's report: what happened, and whether each expected outcome held.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Whether every check passed.
    pub ok: bool,
    /// The settings the devnet ran with.
    pub config: DevnetConfig,
    /// Every expected outcome, passed or not.
    pub checks: Vec<Check>,
    /// What the matches did.
    pub matches: Matches,
    /// What the validators verified and refused.
    pub verification: Verification,
    /// What was settled on chain.
    pub settlement: Settlement,
    /// What the market round did; none when it failed.
    pub market: Option<MarketRound>,
    /// What the DAO round did; none when it failed.
    pub dao: Option<DaoRound>,
    /// The items the players hold.
    pub items: Vec<Item>,
    /// What the run cost the machine.
    pub resources: Resources,
    /// Gossip delivery latency, publication to delivery, over every node.
    pub gossip: Gossip,
    /// Second by second: frames, rollbacks, gossip latency.
    pub timeline: Vec<Second>,
}

pub(crate) struct Inputs<'a> {
    pub config: &'a DevnetConfig,
    pub reports: &'a [MatchReport],
    /// (wallet, game key, cheat) per player.
    pub players: &'a [(Address, [u8; 32], Option<Cheat>)],
    pub validators: &'a [&'a RunningValidator],
    pub index: &'a Indexer,
    pub chain: &'a Chain,
    pub market: Option<&'a MarketRound>,
    pub market_error: Option<String>,
    pub crafted: usize,
    pub dao: Result<&'a DaoRound, String>,
    pub wall: Duration,
    pub timeline: &'a Timeline,
    pub cpu_by_role: BTreeMap<String, f64>,
    /// What the scenario expects beyond the usual checks, already decided.
    pub extra_checks: Vec<Check>,
    /// anvil's CPU seconds and peak RSS (MB).
    pub anvil: Option<(f64, f64)>,
    /// Every live validator's ledger epoch, read right after the chain's
    /// settled epoch (the second field) at the end of the run.
    pub caught_up: (Vec<u64>, u64),
}

/// Match statistics from every node's reports (a match counts once; its
/// rollbacks count for every seat).
pub fn matches(reports: &[MatchReport]) -> Matches {
    let mut by_match: BTreeMap<&str, Vec<&MatchReport>> = BTreeMap::new();
    for r in reports {
        by_match.entry(&r.match_id).or_default().push(r);
    }
    let mut m = Matches {
        played: by_match.len(),
        ..Matches::default()
    };
    let mut lobby: Vec<u64> = vec![];
    for seats in by_match.values() {
        if seats.iter().all(|r| r.ending == Ending::Finished) {
            m.finished += 1;
        } else {
            m.failed += 1;
        }
        m.frames += u64::from(seats.iter().map(|r| r.frames).max().unwrap_or(0));
        for r in seats {
            m.rollbacks += r.rollbacks;
            m.rollback_frames += r.rollback_frames;
            m.max_rollback_depth = m.max_rollback_depth.max(r.max_rollback_depth);
            m.stalls += r.stalls;
            m.desyncs += r.desyncs;
            lobby.extend(r.lobby_to_first_frame_ms);
        }
    }
    lobby.sort_unstable();
    m.lobby_to_first_frame_ms_p50 = lobby.get(lobby.len() / 2).copied();
    m
}

/// `reason → count` of the transcripts a validator refused, from its metrics.
pub fn rejections(metrics: &Metrics) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in metrics.render().lines() {
        let Some(rest) = line.strip_prefix("cyteria_rejected_messages_total{") else {
            continue;
        };
        if !rest.contains("channel=\"transcript\"") {
            continue;
        }
        let reason = rest
            .split("reason=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("?");
        let n = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0) as u64;
        if n > 0 {
            *out.entry(reason.to_string()).or_default() += n;
        }
    }
    out
}

fn resources(wall: Duration) -> Resources {
    // /proc/self/stat: utime and stime in clock ticks (100 per second on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    Resources {
        wall_s: wall.as_secs_f64(),
        cpu_s: (ticks(11) + ticks(12)) / 100.0,
        max_rss_mb: hwm_kb / 1024.0,
        ..Resources::default()
    }
}

pub(crate) async fn build(i: Inputs<'_>) -> anyhow::Result<Report> {
    let matches = matches(i.reports);
    let mut verification = Verification::default();
    for v in i.validators {
        verification
            .verified_per_validator
            .push(v.metrics().transcripts_verified.get());
        for (reason, n) in rejections(v.metrics()) {
            *verification.rejected.entry(reason).or_default() += n;
        }
    }
    // The most advanced validator's ledger (a restarted one may lag).
    let ledger = i
        .validators
        .iter()
        .map(|v| v.handle.ledger.borrow().clone())
        .max_by_key(|(e, _)| *e)
        .map(|(_, l)| l);
    let finished: Vec<&MatchReport> = i
        .reports
        .iter()
        .filter(|r| r.ending == Ending::Finished)
        .collect();
    let credited = |id: &str| {
        ledger
            .as_ref()
            .is_some_and(|l| l.credited.iter().any(|c| hex_id(c) == id))
    };
    let batches = i.index.batches();
    let gas_used = i
        .validators
        .iter()
        .map(|v| v.metrics().settlement_gas.get())
        .max()
        .unwrap_or(0);
    let mut items = vec![];
    for (wallet, _, _) in i.players {
        for (id, _) in i.index.items_of(*wallet) {
            let Some((s, _, _)) = ids::decode(id) else {
                continue;
            };
            items.push(Item {
                owner: *wallet,
                id: format!("{id:#x}"),
                item_type: format!("{:?}", s.item_type),
                rarity: format!("{:?}", s.rarity),
                damage: s.damage,
                defense: s.defense,
                durability: s.durability,
                traits: s.traits.iter().map(|t| t.name()).collect(),
                uri: i.chain.items().uri(id).call().await.unwrap_or_default(),
            });
        }
    }
    let settlement = Settlement {
        epochs_settled: i.chain.settled_epoch().await?,
        matches_credited: finished
            .iter()
            .map(|r| r.match_id.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|id| credited(id))
            .count(),
        crafts: i.crafted,
        items_minted: batches.iter().map(|(_, b)| b.items.to::<usize>()).sum(),
        gas_used,
        state_root: format!("{:#x}", i.chain.state_root().await?),
    };

    let mut checks = vec![];
    let mut check = |name: &str, ok: bool, detail: String| {
        checks.push(Check {
            name: name.to_string(),
            ok,
            detail,
        })
    };
    check(
        "no desync",
        matches.desyncs == 0,
        format!("{} desyncs in {} matches", matches.desyncs, matches.played),
    );
    let cheaters: Vec<[u8; 32]> = i
        .players
        .iter()
        .filter(|p| p.2.is_some())
        .map(|p| p.1)
        .collect();
    // The forger's and the false claimer's match is refused whole.
    let expected = honest_finished(i.reports, &cheaters).len();
    check(
        "every honest match settled on chain",
        matches.finished > 0
            && settlement.matches_credited >= expected
            && settlement.epochs_settled > 0,
        format!(
            "{} of {} finished matches credited, {} epochs settled",
            settlement.matches_credited, matches.finished, settlement.epochs_settled
        ),
    );
    let root_ok = ledger.as_ref().is_some_and(|l| {
        format!("{:#x}", alloy::primitives::B256::from(l.root())) == settlement.state_root
    });
    check(
        "the chain holds the validators' state root",
        root_ok,
        settlement.state_root.clone(),
    );
    let mut ids_seen = std::collections::BTreeSet::new();
    let unique = items.iter().all(|it| ids_seen.insert(it.id.clone()));
    let mut held = 0usize;
    for it in &items {
        let id: U256 = it.id.parse().unwrap_or_default();
        if i.chain
            .items()
            .balanceOf(it.owner, id)
            .call()
            .await
            .unwrap_or_default()
            == U256::from(1)
        {
            held += 1;
        }
    }
    check(
        "items exist with their stats, each minted once",
        !items.is_empty()
            && unique
            && held == items.len()
            && items.len() <= settlement.items_minted,
        format!(
            "{} items held by players, {} minted in all",
            items.len(),
            settlement.items_minted
        ),
    );
    check(
        "every item's metadata is on chain",
        items.iter().all(|it| it.uri.starts_with("ipfs://baf")),
        format!("{} item URIs", items.len()),
    );
    if i.config.scenario == Scenario::Cheater {
        let refused: u64 = verification.rejected.values().sum();
        let cheater_items: usize = i
            .players
            .iter()
            .filter(|(_, _, c)| c.is_some())
            .map(|(w, _, _)| i.index.items_of(*w).len())
            .sum();
        let cheater_credited = ledger.as_ref().is_some_and(|l| {
            i.players
                .iter()
                .filter(|(_, _, c)| c.is_some())
                .any(|(_, k, _)| l.account(k).is_some_and(|a| a.matches > 0))
        });
        check(
            "the cheaters got nothing",
            refused > 0 && cheater_items == 0 && !cheater_credited,
            format!(
                "{refused} refusals ({:?}); cheaters hold {cheater_items} items",
                verification.rejected
            ),
        );
    }
    if i.config.scenario == Scenario::ValidatorCrash {
        check(
            "settlement went on through a validator crash, once per epoch",
            settlement.epochs_settled as usize == batches.len() && settlement.epochs_settled > 0,
            format!(
                "{} epochs settled, {} settlements seen",
                settlement.epochs_settled,
                batches.len()
            ),
        );
        let (epochs, chain_epoch) = &i.caught_up;
        check(
            "every validator, the restarted one too, caught up with the chain",
            epochs.len() == i.validators.len() && epochs.iter().all(|e| e >= chain_epoch),
            format!("ledger epochs {epochs:?}, chain at {chain_epoch}"),
        );
    }
    match (i.market, i.market_error) {
        (Some(m), _) => check(
            "the market traded",
            m.bought_by.is_some() && m.auction_settled && m.staked_by.is_some(),
            format!(
                "listing bought: {}, auction settled: {}, staked: {}",
                m.bought_by.is_some(),
                m.auction_settled,
                m.staked_by.is_some()
            ),
        ),
        (None, e) => check("the market traded", false, e.unwrap_or_default()),
    }
    match &i.dao {
        Ok(d) => check(
            "a DAO proposal went through the timelock",
            true,
            format!("{} (proposal {})", d.change, d.proposal),
        ),
        Err(e) => check("a DAO proposal went through the timelock", false, e.clone()),
    }
    checks.extend(i.extra_checks);
    let ok = checks.iter().all(|c| c.ok);
    Ok(Report {
        ok,
        config: i.config.clone(),
        checks,
        matches,
        verification,
        settlement,
        market: i.market.cloned(),
        dao: i.dao.clone().ok().cloned(),
        items,
        resources: Resources {
            cpu_by_role_s: i.cpu_by_role,
            anvil_cpu_s: i.anvil.map(|a| a.0),
            anvil_max_rss_mb: i.anvil.map(|a| a.1),
            ..resources(i.wall)
        },
        gossip: crate::timeline::gossip(&i.timeline.clock().deliveries()),
        timeline: i.timeline.seconds(),
    })
}

/// Finished matches in which none of `cheaters` sat.
pub(crate) fn honest_finished(
    reports: &[MatchReport],
    cheaters: &[[u8; 32]],
) -> std::collections::BTreeSet<String> {
    let mut ids = std::collections::BTreeSet::new();
    for r in reports.iter().filter(|r| r.ending == Ending::Finished) {
        let seated_cheater = r.transcript.as_ref().is_some_and(|t| {
            t.header
                .players
                .iter()
                .any(|s| cheaters.contains(&s.public_key))
        });
        if !seated_cheater {
            ids.insert(r.match_id.clone());
        }
    }
    ids
}

impl Report {
    /// The table printed at the end of a run.
    pub fn table(&self) -> String {
        let m = &self.matches;
        let s = &self.settlement;
        let mut out = String::new();
        let mut row = |k: &str, v: String| out.push_str(&format!("  {k:<34} {v}\n"));
        row(
            "players / validators / scenario",
            format!(
                "{} / {} / {:?}",
                self.config.players, self.config.validators, self.config.scenario
            ),
        );
        row(
            "matches played (finished)",
            format!("{} ({})", m.played, m.finished),
        );
        row("frames", m.frames.to_string());
        row(
            "rollbacks (frames, max depth)",
            format!(
                "{} ({}, {})",
                m.rollbacks, m.rollback_frames, m.max_rollback_depth
            ),
        );
        row("desyncs / stalls", format!("{} / {}", m.desyncs, m.stalls));
        let g = &self.gossip.all;
        let ms = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or("-".into());
        row(
            "gossip latency p50 / p99 / max",
            format!(
                "{} / {} / {} ms ({} deliveries)",
                ms(g.p50_ms),
                ms(g.p99_ms),
                ms(g.max_ms),
                g.deliveries
            ),
        );
        row(
            "lobby to first frame, median",
            m.lobby_to_first_frame_ms_p50
                .map(|v| format!("{v} ms"))
                .unwrap_or("-".into()),
        );
        row(
            "transcripts verified per validator",
            format!("{:?}", self.verification.verified_per_validator),
        );
        row(
            "transcripts refused",
            format!("{:?}", self.verification.rejected),
        );
        row("epochs settled", s.epochs_settled.to_string());
        row("matches credited", s.matches_credited.to_string());
        row("crafts settled", s.crafts.to_string());
        row("items minted", s.items_minted.to_string());
        row("settlement gas", s.gas_used.to_string());
        if let Some(mk) = &self.market {
            row(
                "market",
                format!("listed {:?}, bought by {:?}", mk.listed, mk.bought_by),
            );
            row(
                "auction",
                format!(
                    "{:?} won by {:?}, settled {}",
                    mk.auctioned, mk.winning_bid_by, mk.auction_settled
                ),
            );
            row(
                "staked",
                format!("{} CYTR by {:?}", mk.staked, mk.staked_by),
            );
        }
        if let Some(d) = &self.dao {
            row(
                "DAO",
                format!("{}: executed, fee now {} bps", d.change, d.fee_bps_after),
            );
        }
        let r = &self.resources;
        row(
            "wall / CPU / max RSS",
            format!(
                "{:.1} s / {:.1} s / {:.0} MB",
                r.wall_s, r.cpu_s, r.max_rss_mb
            ),
        );
        let roles: Vec<String> = r
            .cpu_by_role_s
            .iter()
            .map(|(k, v)| format!("{k} {v:.1}"))
            .collect();
        row("CPU s by role", roles.join(", "));
        if let (Some(c), Some(m)) = (r.anvil_cpu_s, r.anvil_max_rss_mb) {
            row("anvil CPU / max RSS", format!("{c:.1} s / {m:.0} MB"));
        }
        out.push_str("\n  checks:\n");
        for c in &self.checks {
            out.push_str(&format!(
                "  [{}] {} — {}\n",
                if c.ok { "ok" } else { "FAILED" },
                c.name,
                c.detail
            ));
        }
        out
    }
}

/// What the DAO round did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DaoRound {
    /// The proposal's id, in hex.
    pub proposal: String,
    /// What the proposal changed, in words.
    pub change: String,
    /// The marketplace fee before the proposal, in basis points.
    pub fee_bps_before: u16,
    /// The marketplace fee after the proposal executed, in basis points.
    pub fee_bps_after: u16,
}

/// What the market round did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct MarketRound {
    /// The item listed for sale (its id, in hex).
    pub listed: Option<String>,
    /// The wallet that bought the listing.
    pub bought_by: Option<Address>,
    /// The item auctioned (its id, in hex).
    pub auctioned: Option<String>,
    /// The wallet whose bid won the auction.
    pub winning_bid_by: Option<Address>,
    /// Whether the auction settled after its end.
    pub auction_settled: bool,
    /// The wallet that staked CYTR.
    pub staked_by: Option<Address>,
    /// CYTR staked, in whole CYTR (empty when nobody staked).
    pub staked: String,
    /// Gas the purchase, the bid and the auction's settlement used.
    pub gas_used: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(id: &str, seat: usize, ending: Ending, rollbacks: u64, depth: u32) -> MatchReport {
        MatchReport {
            match_id: id.into(),
            seat,
            players: 2,
            ending,
            frames: 100,
            final_checksum: None,
            rollbacks,
            rollback_frames: rollbacks * 2,
            max_rollback_depth: depth,
            stalls: 0,
            desyncs: 0,
            lobby_to_first_frame_ms: Some(300 + seat as u64),
            duration_ms: 1000,
            evidence: 0,
            rejected_checkpoints: 0,
            paths: vec![],
            transports: vec![],
            bytes_sent: 0,
            bytes_received: 0,
            transcript: None,
            outcome: None,
        }
    }

    #[test]
    fn a_match_counts_once_and_its_seats_rollbacks_add_up() {
        let m = matches(&[
            report("a", 0, Ending::Finished, 3, 2),
            report("a", 1, Ending::Finished, 4, 5),
            report("b", 0, Ending::Desync, 1, 1),
        ]);
        assert_eq!((m.played, m.finished, m.failed), (2, 1, 1));
        assert_eq!(
            (m.rollbacks, m.rollback_frames, m.max_rollback_depth),
            (8, 16, 5)
        );
        assert_eq!(m.frames, 200);
        assert_eq!(
            m.lobby_to_first_frame_ms_p50,
            Some(300),
            "the median of 300, 300 and 301"
        );
    }

    #[test]
    fn refusals_are_read_by_reason() {
        let metrics = Metrics::new();
        metrics.reject("transcript", "forged input");
        metrics.reject("transcript", "forged input");
        metrics.reject("transcript", "claimed rewards");
        metrics.reject("action", "replayed");
        let r = rejections(&metrics);
        assert_eq!(r.get("forged input"), Some(&2));
        assert_eq!(r.get("claimed rewards"), Some(&1));
        assert_eq!(r.get("replayed"), None, "actions are not transcripts");
    }
}
