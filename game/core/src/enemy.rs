//! Enemy kinds and their behaviour: a chaser, a ranged shooter, a brute that
//! winds up and charges. Every decision reads only the state, so it replays
//! bit for bit.

use crate::arena::Arena;
use crate::combat::{hurt_player, thorns, vulnerable};
use crate::geometry::{TILE, Vec2, heading, within};
use crate::rng::Rng;
use crate::rules::MAX_PROJECTILES;
use crate::state::{Act, Enemy, EnemyKind, HitEffects, NOBODY, Owner, Player, Projectile, State};

/// A player's half-size, sub-units.
pub const PLAYER_RADIUS: i32 = 300;

/// Fixed numbers of an enemy kind.
#[derive(Clone, Copy, Debug)]
pub struct KindStats {
    /// Health at wave 1 in a one-player match.
    pub hp: i32,
    /// Movement speed, sub-units per tick.
    pub speed: i32,
    /// Damage of a bite, charge or bolt at wave 1.
    pub damage: u16,
    /// Half-size of the body, sub-units.
    pub radius: i32,
    /// Experience the killer earns.
    pub xp: u32,
}

impl EnemyKind {
    /// Every enemy kind, in declaration order (the order wave weights use).
    pub const ALL: [EnemyKind; 3] = [EnemyKind::Chaser, EnemyKind::Shooter, EnemyKind::Brute];

    /// The fixed numbers of this kind, before wave and party scaling.
    pub fn stats(self) -> KindStats {
        match self {
            EnemyKind::Chaser => KindStats {
                hp: 30,
                speed: 80,
                damage: 6,
                radius: 300,
                xp: 10,
            },
            EnemyKind::Shooter => KindStats {
                hp: 24,
                speed: 55,
                damage: 6,
                radius: 300,
                xp: 15,
            },
            EnemyKind::Brute => KindStats {
                hp: 120,
                speed: 36,
                damage: 18,
                radius: 420,
                xp: 35,
            },
        }
    }
}

const CONTACT_COOLDOWN: u16 = 60;
const SHOT_COOLDOWN: u16 = 100;
const SHOT_SPEED: i32 = 110;
const SHOT_TTL: u16 = 150;
const SHOOTER_NEAR: i32 = 5 * TILE;
const SHOOTER_FAR: i32 = 8 * TILE;
const SHOOTER_RANGE: i32 = 11 * TILE;
const BRUTE_TRIGGER: i32 = 9 * TILE / 2;
const WINDUP_TICKS: u8 = 40;
const CHARGE_TICKS: u8 = 30;
const CHARGE_SPEED: i32 = 200;
const RECOVER_TICKS: u8 = 40;

/// An enemy of `kind` for wave `wave` in a match of `players` players:
/// health grows 20% a wave and 25% a player beyond the first, damage 10% a wave.
pub fn spawn(kind: EnemyKind, id: u32, pos: Vec2, wave: u8, players: usize) -> Enemy {
    let s = kind.stats();
    let w = i64::from(wave.max(1) - 1);
    let hp = (i64::from(s.hp) * (100 + 20 * w) * (100 + 25 * (players.max(1) as i64 - 1)) / 10_000)
        as i32;
    let damage = (i64::from(s.damage) * (100 + 10 * w) / 100).min(i64::from(u16::MAX)) as u16;
    Enemy {
        id,
        kind,
        pos,
        hp,
        max_hp: hp,
        damage,
        act: Act::Approach,
        cooldown: 30,
        burn: 0,
        burn_by: NOBODY,
        last_hit_by: NOBODY,
        knock: Vec2::ZERO,
        flash: 0,
    }
}

/// The nearest standing player (lowest index on ties).
pub fn nearest_player(players: &[Player], pos: Vec2) -> Option<usize> {
    players
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.downed)
        .min_by_key(|(i, p)| (p.pos.dist2(pos), *i))
        .map(|(i, _)| i)
}

/// Moves a body along `dir` (a unit vector scaled to a tile) at `speed`; if
/// that is blocked, slides sideways (to `side`) to work round the obstacle.
fn steer(arena: &Arena, pos: Vec2, dir: Vec2, speed: i32, r: i32, side: i32) -> Vec2 {
    let delta = dir.scale(speed, TILE);
    let moved = arena.move_body(pos, delta, r);
    if moved != pos || delta == Vec2::ZERO {
        return moved;
    }
    arena.move_body(pos, delta.perp().scale(side, 1), r)
}

/// Advances every enemy by one tick, in index order.
pub fn tick_all(arena: &Arena, s: &mut State) {
    let State {
        enemies,
        players,
        projectiles,
        rng,
        next_id: _,
        ..
    } = s;
    for e in enemies.iter_mut() {
        tick(arena, e, players, projectiles, rng);
    }
}

fn tick(
    arena: &Arena,
    e: &mut Enemy,
    players: &mut [Player],
    projectiles: &mut arrayvec::ArrayVec<Projectile, MAX_PROJECTILES>,
    rng: &mut Rng,
) {
    if e.hp <= 0 {
        return;
    }
    let st = e.kind.stats();
    e.cooldown = e.cooldown.saturating_sub(1);
    e.flash = e.flash.saturating_sub(1);
    if e.knock != Vec2::ZERO {
        e.pos = arena.move_body(e.pos, e.knock, st.radius);
        e.knock = e.knock.scale(3, 4);
        if e.knock.len2() < 16 {
            e.knock = Vec2::ZERO;
        }
    }
    let side = if e.id.is_multiple_of(2) { 1 } else { -1 };
    let Some(t) = nearest_player(players, e.pos) else {
        return;
    };
    let target = players[t].pos;
    let to = heading(e.pos, target);
    let dist = target.sub(e.pos).length();
    let reach = st.radius + PLAYER_RADIUS + 64;
    match e.kind {
        EnemyKind::Chaser => {
            if dist > reach - 64 {
                e.pos = steer(arena, e.pos, to, st.speed, st.radius, side);
            }
            bite(e, &mut players[t], t, reach, rng);
        }
        EnemyKind::Shooter => {
            let dir = if dist < SHOOTER_NEAR {
                to.neg()
            } else if dist > SHOOTER_FAR {
                to
            } else {
                to.perp().scale(side, 1)
            };
            e.pos = steer(arena, e.pos, dir, st.speed, st.radius, side);
            if dist <= SHOOTER_RANGE && e.cooldown == 0 && !projectiles.is_full() {
                projectiles.push(Projectile {
                    pos: e.pos,
                    vel: to.scale(SHOT_SPEED, TILE),
                    damage: e.damage,
                    ttl: SHOT_TTL,
                    owner: Owner::Enemy,
                    pierce: 0,
                    last_hit: 0,
                    effects: HitEffects::default(),
                });
                e.cooldown = SHOT_COOLDOWN;
            }
        }
        EnemyKind::Brute => brute(arena, e, players, t, to, dist, reach, side, rng),
    }
}

/// Melee contact: hurts the target when in reach and off cooldown; thorns
/// answer.
fn bite(e: &mut Enemy, p: &mut Player, t: usize, reach: i32, rng: &mut Rng) {
    if e.cooldown == 0 && within(e.pos, p.pos, reach) && vulnerable(p) {
        hurt_player(p, e.damage, rng);
        thorns(p, e, t as u8);
        e.cooldown = CONTACT_COOLDOWN;
    }
}

#[allow(clippy::too_many_arguments)]
fn brute(
    arena: &Arena,
    e: &mut Enemy,
    players: &mut [Player],
    t: usize,
    to: Vec2,
    dist: i32,
    reach: i32,
    side: i32,
    rng: &mut Rng,
) {
    let st = e.kind.stats();
    e.act = match e.act {
        Act::Approach => {
            if dist < BRUTE_TRIGGER && e.cooldown == 0 {
                Act::Windup {
                    ticks: WINDUP_TICKS,
                    dir: to,
                }
            } else {
                e.pos = steer(arena, e.pos, to, st.speed, st.radius, side);
                let half = e.damage / 2;
                let full = e.damage;
                e.damage = half;
                bite(e, &mut players[t], t, reach, rng);
                e.damage = full;
                Act::Approach
            }
        }
        Act::Windup { ticks: 0, dir } => Act::Charge {
            ticks: CHARGE_TICKS,
            dir,
        },
        Act::Windup { ticks, dir } => Act::Windup {
            ticks: ticks - 1,
            dir,
        },
        Act::Charge { ticks, dir } => {
            let before = e.pos;
            e.pos = arena.move_body(e.pos, dir.scale(CHARGE_SPEED, TILE), st.radius);
            for (i, p) in players.iter_mut().enumerate() {
                if within(e.pos, p.pos, reach) && vulnerable(p) {
                    hurt_player(p, e.damage, rng);
                    thorns(p, e, i as u8);
                }
            }
            if ticks == 0 || e.pos == before {
                Act::Recover {
                    ticks: RECOVER_TICKS,
                }
            } else {
                Act::Charge {
                    ticks: ticks - 1,
                    dir,
                }
            }
        }
        Act::Recover { ticks: 0 } => {
            e.cooldown = 60;
            Act::Approach
        }
        Act::Recover { ticks } => Act::Recover { ticks: ticks - 1 },
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crafting::starter_loadout;
    use crate::rules::Rules;

    fn setup(kind: EnemyKind, offset: Vec2) -> (Arena, State) {
        let arena = Arena::generate(3);
        let mut s = State::new(&arena, 3, Rules::default(), &[starter_loadout()]);
        let pos = s.players[0].pos.add(offset);
        s.enemies.push(spawn(kind, 1, pos, 1, 1));
        (arena, s)
    }

    #[test]
    fn chaser_closes_in_and_bites() {
        let (arena, mut s) = setup(EnemyKind::Chaser, Vec2::new(3 * TILE, 0));
        let d0 = s.enemies[0].pos.dist2(s.players[0].pos);
        for _ in 0..10 {
            tick_all(&arena, &mut s);
        }
        assert!(s.enemies[0].pos.dist2(s.players[0].pos) < d0);
        for _ in 0..120 {
            tick_all(&arena, &mut s);
        }
        assert!(s.players[0].hp < 100, "bitten");
    }

    #[test]
    fn shooter_keeps_distance_and_fires() {
        let (arena, mut s) = setup(EnemyKind::Shooter, Vec2::new(2 * TILE, 0));
        let d0 = s.enemies[0].pos.dist2(s.players[0].pos);
        for _ in 0..40 {
            tick_all(&arena, &mut s);
        }
        assert!(s.enemies[0].pos.dist2(s.players[0].pos) > d0, "backs away");
        assert!(s.projectiles.iter().any(|p| p.owner == Owner::Enemy));
    }

    #[test]
    fn brute_winds_up_then_charges() {
        let (arena, mut s) = setup(EnemyKind::Brute, Vec2::new(3 * TILE, 0));
        s.enemies[0].cooldown = 0;
        tick_all(&arena, &mut s);
        assert!(matches!(s.enemies[0].act, Act::Windup { .. }));
        let held = s.enemies[0].pos;
        for _ in 0..WINDUP_TICKS {
            tick_all(&arena, &mut s);
        }
        assert_eq!(s.enemies[0].pos, held, "stands still while winding up");
        tick_all(&arena, &mut s);
        assert!(matches!(s.enemies[0].act, Act::Charge { .. }));
        for _ in 0..CHARGE_TICKS {
            tick_all(&arena, &mut s);
        }
        assert!(s.players[0].hp < 100, "the charge connects");
    }

    #[test]
    fn enemies_scale_with_wave_and_party() {
        let a = spawn(EnemyKind::Brute, 1, Vec2::ZERO, 1, 1);
        let b = spawn(EnemyKind::Brute, 1, Vec2::ZERO, 3, 4);
        assert_eq!(a.hp, 120);
        assert_eq!(b.hp, 120 * 140 * 175 / 10_000);
        assert!(b.damage > a.damage);
    }
}
