//! One tick of the simulation: `step(arena, state, inputs)`.
//!
//! Order within a tick is fixed: players (by index), waves, enemies (by
//! index), projectiles, burns and deaths, drops, the end check. Every system
//! iterates `ArrayVec`s in order and draws chances from the state's one
//! generator, so the same inputs give the same state everywhere.

use crate::arena::Arena;
use crate::combat::{self, effects_of, hit_enemy, hurt_player, in_swing, vulnerable, wear};
use crate::crafting::roll_loot;
use crate::enemy::{self, PLAYER_RADIUS};
use crate::geometry::{DIRS, TILE, Vec2, within};
use crate::input::Input;
use crate::inventory::Material;
use crate::item::{ItemType, Rarity, Trait};
use crate::state::{Drop, EnemyKind, Loot, MAX_STAMINA, MatchEnd, Owner, Projectile, State};

/// Player speed, sub-units per tick (6 tiles a second).
pub const PLAYER_SPEED: i32 = 102;
const DODGE_TICKS: u8 = 10;
const DODGE_COST: u16 = 25;
const DODGE_COOLDOWN: u8 = 45;
const MELEE_REACH: i32 = 3 * TILE / 2;
const MELEE_COOLDOWN: u8 = 24;
const SHOT_COST: u16 = 12;
const SHOT_COOLDOWN: u8 = 20;
const SHOT_SPEED: i32 = 180;
const SHOT_TTL: u16 = 60;
const INTERACT_REACH: i32 = 3 * TILE / 2;
const REVIVE_TICKS: u16 = 120;
const PICKUP_REACH: i32 = 700;
const DROP_TTL: u16 = 30 * 60;
const PROJECTILE_RADIUS: i32 = 120;
const SPAWN_INTERVAL: u16 = 20;
const WAVE_PAUSE: u16 = 180;
const WAVE_CLEAR_XP: u32 = 50;
const WAVE_CLEAR_HEAL: u16 = 30;

/// Advances `s` by one tick with one input per player (missing inputs count
/// as nothing pressed; undefined bits are ignored). A finished match does
/// not change.
pub fn step(arena: &Arena, s: &mut State, inputs: &[Input]) {
    if s.end.is_some() {
        return;
    }
    s.frame += 1;
    for i in 0..s.players.len() {
        let input = inputs.get(i).copied().unwrap_or_default();
        player_tick(arena, s, i, Input(input.0 & Input::MASK));
    }
    waves_tick(arena, s);
    enemy::tick_all(arena, s);
    projectiles_tick(arena, s);
    burns_and_deaths(s);
    drops_tick(s);
    check_end(s);
}

fn player_tick(arena: &Arena, s: &mut State, i: usize, input: Input) {
    let frame = s.frame;
    let p = &mut s.players[i];
    let cd = &mut p.cd;
    cd.melee = cd.melee.saturating_sub(1);
    cd.shoot = cd.shoot.saturating_sub(1);
    cd.dodge = cd.dodge.saturating_sub(1);
    cd.gather = cd.gather.saturating_sub(1);
    cd.hurt = cd.hurt.saturating_sub(1);
    cd.swing = cd.swing.saturating_sub(1);
    if p.downed {
        return;
    }
    if p.burn > 0 {
        p.burn -= 1;
        if p.burn.is_multiple_of(combat::BURN_PERIOD) {
            p.hp = p.hp.saturating_sub(combat::BURN_DAMAGE as u16);
            if p.hp == 0 {
                combat::down(p);
                return;
            }
        }
    }
    if frame.is_multiple_of(3) {
        p.stamina = (p.stamina + 1).min(MAX_STAMINA);
    }
    let armor = p.equipment.working(ItemType::Armor).copied();
    let tool = p.equipment.working(ItemType::Tool).copied();
    if frame.is_multiple_of(60) && armor.is_some_and(|a| a.has(Trait::Regeneration)) {
        p.hp = (p.hp + 1).min(p.max_hp);
    }
    let move_dir = input.move_dir();
    if let Some(d) = input.aim().or(move_dir) {
        p.facing = d;
    }
    if input.has(Input::DODGE) && p.dodge == 0 && p.cd.dodge == 0 && p.stamina >= DODGE_COST {
        p.dodge = DODGE_TICKS;
        p.dodge_dir = move_dir.unwrap_or(p.facing);
        p.stamina -= DODGE_COST;
        p.cd.dodge = DODGE_COOLDOWN;
    }
    let hasty =
        armor.is_some_and(|a| a.has(Trait::Haste)) || tool.is_some_and(|t| t.has(Trait::Haste));
    let speed = if hasty {
        PLAYER_SPEED * 6 / 5
    } else {
        PLAYER_SPEED
    };
    let delta = if p.dodge > 0 {
        p.dodge -= 1;
        DIRS[usize::from(p.dodge_dir)].scale(speed * 5 / 2, TILE)
    } else {
        move_dir.map_or(Vec2::ZERO, |d| DIRS[usize::from(d)].scale(speed, TILE))
    };
    p.pos = arena.move_body(p.pos, delta, PLAYER_RADIUS);

    if input.has(Input::MELEE) && s.players[i].cd.melee == 0 {
        melee(s, i);
    }
    if input.has(Input::SHOOT) && s.players[i].cd.shoot == 0 && s.players[i].stamina >= SHOT_COST {
        shoot(s, i);
    }
    if input.has(Input::INTERACT) {
        interact(s, i);
    }
}

fn quick(cooldown: u8, quick: bool) -> u8 {
    if quick { cooldown * 3 / 4 } else { cooldown }
}

fn melee(s: &mut State, i: usize) {
    let State {
        players,
        enemies,
        rng,
        ..
    } = s;
    let p = &mut players[i];
    let weapon = p.equipment.working(ItemType::Weapon).copied();
    let damage = weapon.map_or(combat::FIST_DAMAGE, |w| w.damage);
    let fx = effects_of(weapon.as_ref());
    let reach = if weapon.is_some_and(|w| w.has(Trait::Reach)) {
        MELEE_REACH * 3 / 2
    } else {
        MELEE_REACH
    };
    let facing = DIRS[usize::from(p.facing)];
    let mut hits = 0;
    for e in enemies.iter_mut().filter(|e| e.hp > 0) {
        if in_swing(facing, e.pos.sub(p.pos), reach + e.kind.stats().radius) {
            hit_enemy(e, p, i as u8, damage, fx, rng);
            hits += 1;
        }
    }
    if hits > 0 {
        wear(p, ItemType::Weapon, rng);
    }
    p.cd.melee = quick(MELEE_COOLDOWN, weapon.is_some_and(|w| w.has(Trait::Quick)));
    p.cd.swing = 10;
}

fn shoot(s: &mut State, i: usize) {
    let State {
        players,
        projectiles,
        rng,
        ..
    } = s;
    if projectiles.is_full() {
        return;
    }
    let p = &mut players[i];
    let weapon = p.equipment.working(ItemType::Weapon).copied();
    // Widened: `damage * 6` overflowed u16 for a weapon past 10,922 damage
    // (a forged loadout's), which panicked a debug build. Every value that
    // did not overflow gives the same result as before.
    let damage = weapon.map_or(2, |w| (u32::from(w.damage) * 6 / 10).max(2) as u16);
    let dir = DIRS[usize::from(p.facing)];
    projectiles.push(Projectile {
        pos: p.pos.add(dir.scale(PLAYER_RADIUS, TILE)),
        vel: dir.scale(SHOT_SPEED, TILE),
        damage,
        ttl: SHOT_TTL,
        owner: Owner::Player(i as u8),
        pierce: u8::from(weapon.is_some_and(|w| w.has(Trait::Piercing))),
        last_hit: 0,
        effects: crate::state::HitEffects {
            knockback: false,
            ..effects_of(weapon.as_ref())
        },
    });
    p.stamina -= SHOT_COST;
    p.cd.shoot = quick(SHOT_COOLDOWN, weapon.is_some_and(|w| w.has(Trait::Quick)));
    wear(p, ItemType::Weapon, rng);
}

/// Revives the first downed ally in reach, or else gathers from the first
/// resource node in reach with the equipped tool.
fn interact(s: &mut State, i: usize) {
    let pos = s.players[i].pos;
    let ally = (0..s.players.len())
        .find(|&j| j != i && s.players[j].downed && within(s.players[j].pos, pos, INTERACT_REACH));
    if let Some(j) = ally {
        let a = &mut s.players[j];
        a.revive += 1;
        if a.revive >= REVIVE_TICKS {
            a.downed = false;
            a.revive = 0;
            a.hp = a.max_hp * 4 / 10;
            a.cd.hurt = 60;
        }
        return;
    }
    let State {
        players,
        nodes,
        rng,
        ..
    } = s;
    let p = &mut players[i];
    let Some(tool) = p.equipment.working(ItemType::Tool).copied() else {
        return;
    };
    if p.cd.gather > 0 {
        return;
    }
    let Some(node) = nodes
        .iter_mut()
        .find(|n| n.remaining > 0 && within(n.pos, pos, INTERACT_REACH))
    else {
        return;
    };
    node.remaining -= 1;
    let amount = 1 + u32::from(tool.has(Trait::Prospector));
    p.rewards.materials.add(node.kind.material(), amount);
    wear(p, ItemType::Tool, rng);
    let base = 40u16.saturating_sub(tool.damage).max(12) as u8;
    p.cd.gather = quick(base, tool.has(Trait::Quick));
    p.cd.swing = 10;
}

fn waves_tick(arena: &Arena, s: &mut State) {
    let w = &mut s.waves;
    if w.pause > 0 {
        w.pause -= 1;
        if w.pause == 0 {
            w.number += 1;
            w.to_spawn = 2 + 2 * u16::from(w.number) + s.players.len() as u16;
            w.spawn_timer = 0;
        }
        return;
    }
    if w.to_spawn > 0 {
        if w.spawn_timer > 0 {
            w.spawn_timer -= 1;
        } else if !s.enemies.is_full() && !arena.enemy_spawns.is_empty() {
            let brutes = if w.number >= 3 { 15 } else { 0 };
            let kind = EnemyKind::ALL[s.rng.weighted(&[55, 30, brutes])];
            let at = arena.enemy_spawns[s.rng.below(arena.enemy_spawns.len() as u32) as usize];
            s.enemies
                .push(enemy::spawn(kind, s.next_id, at, w.number, s.players.len()));
            s.next_id += 1;
            w.to_spawn -= 1;
            w.spawn_timer = SPAWN_INTERVAL;
        }
        return;
    }
    if w.number > w.cleared && s.enemies.is_empty() {
        w.cleared = w.number;
        // Clearing a wave rallies the party: XP for all, standing players
        // patch up, downed ones get back on their feet.
        for p in s.players.iter_mut() {
            p.rewards.xp += WAVE_CLEAR_XP;
            if p.downed {
                p.downed = false;
                p.revive = 0;
                p.hp = p.max_hp * 3 / 10;
            } else {
                p.hp = (p.hp + WAVE_CLEAR_HEAL).min(p.max_hp);
            }
        }
        if w.cleared < s.rules.waves {
            w.pause = WAVE_PAUSE;
        }
    }
}

fn projectiles_tick(arena: &Arena, s: &mut State) {
    let State {
        players,
        enemies,
        projectiles,
        rng,
        ..
    } = s;
    for pr in projectiles.iter_mut() {
        pr.pos = pr.pos.add(pr.vel);
        pr.ttl = pr.ttl.saturating_sub(1);
        if pr.ttl == 0 || arena.point_blocked(pr.pos) {
            pr.ttl = 0;
            continue;
        }
        match pr.owner {
            Owner::Player(by) => {
                for e in enemies.iter_mut() {
                    if e.hp > 0
                        && e.id != pr.last_hit
                        && within(e.pos, pr.pos, e.kind.stats().radius + PROJECTILE_RADIUS)
                    {
                        hit_enemy(
                            e,
                            &mut players[usize::from(by)],
                            by,
                            pr.damage,
                            pr.effects,
                            rng,
                        );
                        if pr.pierce > 0 {
                            pr.pierce -= 1;
                            pr.last_hit = e.id;
                        } else {
                            pr.ttl = 0;
                            break;
                        }
                    }
                }
            }
            Owner::Enemy => {
                // Bolts fly through dodging and flashing players.
                if let Some(p) = players.iter_mut().find(|p| {
                    vulnerable(p) && within(p.pos, pr.pos, PLAYER_RADIUS + PROJECTILE_RADIUS)
                }) {
                    hurt_player(p, pr.damage, rng);
                    pr.ttl = 0;
                }
            }
        }
    }
    projectiles.retain(|p| p.ttl > 0);
}

fn burns_and_deaths(s: &mut State) {
    for e in s.enemies.iter_mut().filter(|e| e.burn > 0) {
        e.burn -= 1;
        if e.burn % combat::BURN_PERIOD == 0 {
            e.hp -= combat::BURN_DAMAGE;
            e.last_hit_by = e.burn_by;
        }
    }
    let wave = s.waves.number;
    let State {
        enemies,
        players,
        drops,
        rng,
        ..
    } = s;
    for e in enemies.iter().filter(|e| e.hp <= 0) {
        if let Some(p) = players.get_mut(usize::from(e.last_hit_by)) {
            p.rewards.xp += e.kind.stats().xp;
            p.rewards.kills += 1;
        }
        let (mats, item_chance): (&[(Material, u8, u32)], u32) = match e.kind {
            EnemyKind::Chaser => (&[(Material::Hide, 1, 500), (Material::Essence, 1, 80)], 50),
            EnemyKind::Shooter => (
                &[(Material::Crystal, 1, 250), (Material::Essence, 1, 250)],
                80,
            ),
            EnemyKind::Brute => (
                &[(Material::Ore, 2, 1000), (Material::Essence, 1, 500)],
                200,
            ),
        };
        let mut loot = arrayvec::ArrayVec::<Loot, 3>::new();
        for (m, n, chance) in mats {
            if rng.chance(*chance) {
                loot.push(Loot::Material(*m, *n));
            }
        }
        if rng.chance(item_chance) {
            // Later waves shift the odds towards rarer items.
            let w = u32::from(wave);
            let rarity = Rarity::ALL[rng.weighted(&[
                600u32.saturating_sub(40 * w).max(200),
                250,
                100 + 10 * w,
                40 + 5 * w,
                10 + w,
            ])];
            loot.push(Loot::Item(roll_loot(rarity, rng)));
        }
        for l in loot {
            if drops.is_full() {
                break;
            }
            let jitter = Vec2::new(rng.range(-200, 200), rng.range(-200, 200));
            drops.push(Drop {
                pos: e.pos.add(jitter),
                loot: l,
                ttl: DROP_TTL,
            });
        }
    }
    enemies.retain(|e| e.hp > 0);
}

fn drops_tick(s: &mut State) {
    let State { drops, players, .. } = s;
    for d in drops.iter_mut() {
        d.ttl = d.ttl.saturating_sub(1);
        let Some(p) = players
            .iter_mut()
            .find(|p| !p.downed && within(p.pos, d.pos, PICKUP_REACH))
        else {
            continue;
        };
        match d.loot {
            Loot::Material(m, n) => {
                p.rewards.materials.add(m, u32::from(n));
                d.ttl = 0;
            }
            Loot::Item(item) => {
                if p.rewards.items.try_push(item).is_ok() {
                    d.ttl = 0;
                }
            }
        }
    }
    drops.retain(|d| d.ttl > 0);
}

fn check_end(s: &mut State) {
    s.end = if s.players.iter().all(|p| p.downed) {
        Some(MatchEnd::Defeat)
    } else if s.waves.cleared >= s.rules.waves {
        Some(MatchEnd::Victory)
    } else if s.frame >= s.rules.time_limit {
        Some(MatchEnd::Timeout)
    } else {
        None
    };
}
