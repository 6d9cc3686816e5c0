//! Golden checksums: fixed seeds and scripted inputs give the final
//! checksums committed in `tests/goldens.txt`. CI runs this in debug and in
//! release, so any accidental non-determinism (or an unannounced rules
//! change) fails. After a deliberate rules change, bump RULES_VERSION and
//! regenerate with `UPDATE_GOLDENS=1 cargo test -p cyteria-game --test it golden`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use cyteria_game::{Game, Input, RULES_VERSION, Rules, crafting, scenario};

fn cases() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for seed in [1u64, 2, 3] {
        for players in [1usize, 2, 4] {
            let header = scenario::header(seed, players, Rules::default());
            let inputs = scenario::scripted_inputs(seed, players, 2_500);
            let mut game = Game::from_header(&header);
            for f in 0..2_500 {
                let tick: Vec<Input> = inputs.iter().map(|v| v[f]).collect();
                game.step(&tick);
            }
            out.insert(
                format!("scripted-seed{seed}-p{players}"),
                game.checksum().to_hex(),
            );
        }
    }
    for seed in [42u64, 7] {
        let header = scenario::header(seed, 4, Rules::default());
        let (inputs, game) = scenario::bot_match(&header, 18_000);
        out.insert(
            format!("bots-seed{seed}-p4-frames{}", inputs[0].len()),
            game.checksum().to_hex(),
        );
    }
    let mut mats = cyteria_game::Materials::default();
    for m in cyteria_game::Material::ALL {
        mats.add(m, 1_000);
    }
    let mut crafted = blake3::Hasher::new();
    for n in 0..200u32 {
        let mut seed = [0u8; 32];
        seed[..4].copy_from_slice(&n.to_le_bytes());
        let item =
            crafting::craft(&mut mats, (n % crafting::RECIPES.len() as u32) as u8, seed).unwrap();
        crafted.update(&postcard::to_allocvec(&item).unwrap());
    }
    out.insert(
        "crafting-200-items".into(),
        crafted.finalize().to_hex().to_string(),
    );
    let arena = cyteria_game::Arena::generate(99);
    out.insert(
        "arena-seed99".into(),
        blake3::hash(arena.ascii().as_bytes()).to_hex().to_string(),
    );
    out
}

#[test]
fn golden_checksums_match_the_committed_ones() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/goldens.txt");
    let got = cases();
    let mut text = format!(
        "# rules v{RULES_VERSION}: name checksum (regenerate only with a rules version bump)\n"
    );
    for (k, v) in &got {
        text.push_str(&format!("{k} {v}\n"));
    }
    if std::env::var_os("UPDATE_GOLDENS").is_some() {
        std::fs::write(&path, text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).expect("tests/goldens.txt is committed");
    let header = committed.lines().next().unwrap_or_default();
    assert!(
        header.starts_with(&format!("# rules v{RULES_VERSION}:")),
        "goldens are for another rules version: {header}"
    );
    let want: BTreeMap<String, String> = committed
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(
        got,
        want,
        "the simulation's results changed (build profile: {})",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
}
