//! Ready-made matches for tests, benchmarks, examples and the devnet's
//! bots: headers with starter kits, scripted inputs, bot-played matches,
//! and a crowded arena for measuring the step.

use crate::bot;
use crate::enemy;
use crate::game::Game;
use crate::geometry::{TILE, Vec2};
use crate::input::Input;
use crate::rng::Rng;
use crate::rules::Rules;
use crate::state::{EnemyKind, HitEffects, Owner, Projectile};
use crate::transcript::{MatchHeader, PlayerSlot};

/// A header for `players` seats with starter kits and placeholder keys
/// (seat `i` has key `[i + 1; 32]`); the match id is derived from the seed.
pub fn header(seed: u64, players: usize, rules: Rules) -> MatchHeader {
    let slots = (0..players)
        .map(|i| PlayerSlot::starter([i as u8 + 1; 32]))
        .collect();
    let id = *blake3::hash(&seed.to_le_bytes()).as_bytes();
    MatchHeader::new(id, seed, rules, slots)
}

/// Pseudo-random inputs from `seed`: each player holds a random input for
/// 1–30 frames, then picks another. `inputs[player][frame]`.
pub fn scripted_inputs(seed: u64, players: usize, frames: usize) -> Vec<Vec<Input>> {
    let mut rng = Rng::new(seed, "scripted inputs");
    (0..players)
        .map(|_| {
            let mut v = Vec::with_capacity(frames);
            while v.len() < frames {
                let input = Input(rng.next_u32() as u16 & Input::MASK);
                let hold = rng.range(1, 30) as usize;
                v.extend(std::iter::repeat_n(input, hold.min(frames - v.len())));
            }
            v
        })
        .collect()
}

/// Plays the match of `header` with bots in every seat until it ends or
/// `max_frames` pass. Returns the inputs played and the final game.
pub fn bot_match(header: &MatchHeader, max_frames: u32) -> (Vec<Vec<Input>>, Game) {
    let mut game = Game::from_header(header);
    let mut inputs = vec![Vec::new(); header.players.len()];
    while !game.is_over() && game.frame() < max_frames {
        let tick = bot::inputs(&game.arena, &game.state);
        for (stream, i) in inputs.iter_mut().zip(&tick) {
            stream.push(*i);
        }
        game.step(&tick);
    }
    (inputs, game)
}

/// A match of `players` players with `enemies` enemies placed on floor
/// tiles across the arena and `bolts` projectiles in flight: the load the
/// step benchmark measures.
pub fn crowded(seed: u64, players: usize, enemies: usize, bolts: usize) -> Game {
    let h = header(seed, players, Rules::default());
    let mut game = Game::from_header(&h);
    let mut rng = Rng::new(seed, "crowded");
    let s = &mut game.state;
    s.waves.pause = u16::MAX; // keep the wave system out of the measurement
    let mut tries = 0;
    while s.enemies.len() < enemies.min(s.enemies.capacity()) && tries < 100_000 {
        tries += 1;
        let (x, y) = (
            rng.range(1, crate::arena::WIDTH - 2),
            rng.range(1, crate::arena::HEIGHT - 2),
        );
        if game.arena.is_blocked(x, y) {
            continue;
        }
        let kind = EnemyKind::ALL[rng.below(3) as usize];
        let mut e = enemy::spawn(kind, s.next_id, Vec2::tile_center(x, y), 3, players);
        e.hp = i32::MAX / 2;
        e.max_hp = e.hp;
        s.enemies.push(e);
        s.next_id += 1;
    }
    for k in 0..bolts.min(s.projectiles.capacity()) {
        let p = &s.players[k % players];
        s.projectiles.push(Projectile {
            pos: p.pos,
            vel: crate::geometry::DIRS[k % 8].scale(40, TILE),
            damage: 1,
            ttl: u16::MAX,
            owner: Owner::Player((k % players) as u8),
            pierce: u8::MAX,
            last_hit: 0,
            effects: HitEffects::default(),
        });
    }
    game
}
