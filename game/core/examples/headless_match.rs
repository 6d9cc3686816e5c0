//! Plays a headless match of bot players and prints what happened.
//!
//! `cargo run -p cyteria-game --example headless_match -- [--seed N] [--players N] [--waves N] [--map]`

use cyteria_game::state::Loot;
use cyteria_game::{Material, Rules, bot, scenario, verify};

fn main() {
    let mut seed = 42u64;
    let mut players = 4usize;
    let mut rules = Rules::default();
    let mut map = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> u64 {
            args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
                eprintln!("{name} needs a number");
                std::process::exit(2)
            })
        };
        match a.as_str() {
            "--seed" => seed = num("--seed"),
            "--players" => players = num("--players").clamp(1, 4) as usize,
            "--waves" => rules.waves = num("--waves").clamp(1, 20) as u8,
            "--map" => map = true,
            "-h" | "--help" => {
                println!("usage: headless_match [--seed N] [--players 1-4] [--waves 1-20] [--map]");
                return;
            }
            other => {
                eprintln!("unknown argument {other}; try --help");
                std::process::exit(2)
            }
        }
    }
    let header = scenario::header(seed, players, rules);
    let mut game = cyteria_game::Game::from_header(&header);
    if map {
        print!("{}", game.arena.ascii());
    }
    println!(
        "Cyteria headless match: seed {seed}, {players} bot players, {} waves, rules v{}",
        rules.waves, header.rules_version
    );
    let mut inputs = vec![Vec::new(); players];
    let mut last_wave = 0;
    let started = std::time::Instant::now();
    while !game.is_over() {
        let tick = bot::inputs(&game.arena, &game.state);
        for (s, i) in inputs.iter_mut().zip(&tick) {
            s.push(*i);
        }
        game.step(&tick);
        let s = &game.state;
        if s.waves.number != last_wave {
            last_wave = s.waves.number;
            println!(
                "  frame {:>6} ({:>5.1} s): wave {} begins",
                s.frame,
                f64::from(s.frame) / 60.0,
                last_wave
            );
        }
    }
    let elapsed = started.elapsed();
    let s = &game.state;
    println!(
        "ended at frame {} ({:.1} s of play): {:?}, {} of {} waves cleared; simulated in {:.1} ms",
        s.frame,
        f64::from(s.frame) / 60.0,
        s.end.expect("match over"),
        s.waves.cleared,
        rules.waves,
        elapsed.as_secs_f64() * 1000.0
    );
    let picked: usize = s.players.iter().map(|p| p.rewards.items.len()).sum();
    let lying = s
        .drops
        .iter()
        .filter(|d| matches!(d.loot, Loot::Item(_)))
        .count();
    println!("items: {picked} picked up, {lying} left on the ground");
    for (i, p) in s.players.iter().enumerate() {
        let mats: Vec<String> = Material::ALL
            .iter()
            .filter(|m| p.rewards.materials.get(**m) > 0)
            .map(|m| format!("{} {}", p.rewards.materials.get(*m), m.name()))
            .collect();
        println!(
            "  player {i}: {:>3} hp{}, {:>3} kills, {:>4} xp, dealt {:>5}, taken {:>4}, materials [{}], items {}",
            p.hp,
            if p.downed { " (down)" } else { "" },
            p.rewards.kills,
            p.rewards.xp,
            p.rewards.damage_dealt,
            p.rewards.damage_taken,
            mats.join(", "),
            p.rewards.items.len()
        );
        for it in &p.rewards.items {
            let traits: Vec<&str> = it.traits.iter().map(|t| t.name()).collect();
            println!(
                "      {:?} {:?}: damage {}, defense {}, durability {}, traits [{}]",
                it.rarity,
                it.item_type,
                it.damage,
                it.defense,
                it.durability,
                traits.join(", ")
            );
        }
    }
    let checksum = game.checksum();
    println!("final checksum: {checksum}");
    let outcome = verify(&header, &inputs).expect("the bots' own match verifies");
    assert_eq!(outcome.final_checksum, checksum);
    println!(
        "re-simulated by verify(): checksum matches, {} frames",
        outcome.frames
    );
}
