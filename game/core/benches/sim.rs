//! Simulation figures against DESIGN.md's targets: one step with 4 players
//! and 100 live entities, save + load, an 8-frame rollback, checksum, and
//! `verify` of a 5-minute (18,000-frame) match.
//!
//! `cargo bench -p cyteria-game --bench sim`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use cyteria_game::{Game, Input, Rules, bot, scenario, verify};

fn crowded() -> (Game, Vec<Vec<Input>>) {
    // 4 players + 80 enemies + 16 bolts + 12 resource nodes ≈ 100+ entities.
    let game = scenario::crowded(3, 4, 80, 16);
    let inputs = scenario::scripted_inputs(3, 4, 64);
    (game, inputs)
}

fn tick(inputs: &[Vec<Input>], f: usize) -> [Input; 4] {
    [0, 1, 2, 3].map(|p| inputs[p][f % inputs[p].len()])
}

fn benches(c: &mut Criterion) {
    let (game, inputs) = crowded();
    assert!(
        game.state.entity_count() >= 100,
        "{} entities",
        game.state.entity_count()
    );

    c.bench_function("step, 4 players + 100 entities", |b| {
        let mut g = game.clone();
        let saved = g.save();
        let mut f = 0;
        b.iter(|| {
            f += 1;
            if f % 64 == 0 {
                g.load(&saved); // keep the load constant
            }
            g.step(black_box(&tick(&inputs, f)));
        })
    });

    c.bench_function("save + load", |b| {
        let mut g = game.clone();
        b.iter(|| {
            let s = black_box(g.save());
            g.load(&s);
        })
    });

    c.bench_function("checksum (encode + blake3)", |b| {
        b.iter(|| black_box(game.checksum()))
    });

    c.bench_function("rollback 8 frames (load + 8 × (step + save))", |b| {
        let mut g = game.clone();
        let start = g.save();
        let mut slots = vec![g.save(); 8];
        b.iter(|| {
            g.load(&start);
            for (f, slot) in slots.iter_mut().enumerate() {
                g.step(&tick(&inputs, f));
                slot.clone_from(&g.state);
            }
        })
    });

    let header = scenario::header(
        8,
        4,
        Rules {
            waves: 20,
            time_limit: 18_000,
        },
    );
    let mut g = Game::from_header(&header);
    let mut five_minutes: Vec<Vec<Input>> = (0..4).map(|_| Vec::with_capacity(18_000)).collect();
    let script = scenario::scripted_inputs(8, 4, 18_000);
    for f in 0..18_000 {
        // Bots keep the match alive and busy; every 4th frame is random.
        let t: Vec<Input> = if f % 4 == 0 {
            script.iter().map(|v| v[f]).collect()
        } else {
            bot::inputs(&g.arena, &g.state)
        };
        for (s, i) in five_minutes.iter_mut().zip(&t) {
            s.push(*i);
        }
        g.step(&t);
        if g.is_over() {
            break;
        }
    }
    let frames = five_minutes[0].len();
    let mut group = c.benchmark_group("verify");
    group.sample_size(10);
    group.bench_function(format!("verify, 4 players, {frames} frames"), |b| {
        b.iter(|| black_box(verify(&header, &five_minutes).unwrap()))
    });
    group.finish();
}

criterion_group!(sim, benches);
criterion_main!(sim);
