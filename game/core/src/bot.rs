//! Bot players: an input for a seat, chosen from the state alone.
//!
//! Bots read the state and never touch its generator, so a bot's choice is a
//! pure function of the frame it sees: the same on every peer, which lets
//! network tests and the devnet run bot matches that validators re-check.

use crate::arena::Arena;
use crate::enemy::PLAYER_RADIUS;
use crate::geometry::{TILE, Vec2, octant, within};
use crate::input::Input;
use crate::item::ItemType;
use crate::state::{Loot, Owner, State};

const MELEE_RANGE: i32 = 17 * TILE / 10;
const SHOOT_RANGE: i32 = 9 * TILE;
const LOOT_RANGE: i32 = 8 * TILE;
const GATHER_RANGE: i32 = 14 * TILE;

/// The bot's input for seat `i` at the state's current frame.
pub fn input(arena: &Arena, s: &State, i: usize) -> Input {
    let Some(me) = s.players.get(i) else {
        return Input::default();
    };
    if me.downed {
        return Input::default();
    }
    let mut out = Input::default();
    // A per-seat rhythm so that bots in one match do not move in lockstep.
    let phase = (s.frame / 45 + i as u32 * 7) % 4;

    // Dodge a bolt about to hit.
    let threat = s.projectiles.iter().find(|p| {
        p.owner == Owner::Enemy
            && within(p.pos, me.pos, 2 * TILE)
            && p.vel.dot(me.pos.sub(p.pos)) > 0
    });
    if let Some(t) = threat
        && me.stamina >= 40
    {
        let side = if phase.is_multiple_of(2) {
            t.vel.perp()
        } else {
            t.vel.perp().neg()
        };
        if let Some(d) = octant(side) {
            return out.moving(d).with(Input::DODGE);
        }
    }

    // Revive a downed ally nearby.
    if let Some(ally) = s
        .players
        .iter()
        .find(|p| p.downed && within(p.pos, me.pos, 8 * TILE))
    {
        if within(ally.pos, me.pos, TILE) {
            return out.with(Input::INTERACT);
        }
        return walk(arena, out, me.pos, ally.pos);
    }

    let nearest = s.enemies.iter().min_by_key(|e| (e.pos.dist2(me.pos), e.id));
    if let Some(e) = nearest {
        let d = e.pos.sub(me.pos);
        let dist = d.length();
        let aim = octant(d).unwrap_or(me.facing);
        out = out.aiming(aim);
        let low = u32::from(me.hp) * 100 < u32::from(me.max_hp) * 35;
        if dist <= MELEE_RANGE && !low {
            return out.with(Input::MELEE);
        }
        if dist <= SHOOT_RANGE && me.stamina >= 30 && arena.clear_line(me.pos, e.pos, 100) {
            out = out.with(Input::SHOOT);
            return if low || dist < 4 * TILE {
                walk(arena, out, me.pos, me.pos.sub(d))
            } else if phase < 2 {
                walk(arena, out, me.pos, e.pos)
            } else {
                walk(arena, out, me.pos, me.pos.add(d.perp()))
            };
        }
        if low && dist < 5 * TILE {
            return walk(arena, out, me.pos, me.pos.sub(d));
        }
    }

    // Pick up loot.
    let loot = s
        .drops
        .iter()
        .filter(|d| !matches!(d.loot, Loot::Item(_)) || !me.rewards.items.is_full())
        .min_by_key(|d| d.pos.dist2(me.pos));
    if let Some(d) = loot.filter(|d| within(d.pos, me.pos, LOOT_RANGE)) {
        return walk(arena, out, me.pos, d.pos);
    }
    if let Some(e) = nearest {
        return walk(arena, out, me.pos, e.pos);
    }

    // Between waves: gather with a working tool.
    if me.equipment.working(ItemType::Tool).is_some() {
        let node = s
            .nodes
            .iter()
            .filter(|n| n.remaining > 0)
            .min_by_key(|n| n.pos.dist2(me.pos));
        if let Some(n) = node.filter(|n| within(n.pos, me.pos, GATHER_RANGE)) {
            if within(n.pos, me.pos, TILE) {
                return out.with(Input::INTERACT);
            }
            return walk(arena, out, me.pos, n.pos);
        }
    }
    out
}

/// Holds the movement keys towards `to`: straight when the way is clear,
/// else along a shortest path over the tile grid.
fn walk(arena: &Arena, out: Input, from: Vec2, to: Vec2) -> Input {
    let goal = if arena.clear_line(from, to, PLAYER_RADIUS) {
        to
    } else {
        arena.next_waypoint(from, to).unwrap_or(to)
    };
    match octant(goal.sub(from)) {
        Some(d) => out.moving(d),
        None => out,
    }
}

/// Inputs for every seat at the state's current frame.
pub fn inputs(arena: &Arena, s: &State) -> Vec<Input> {
    (0..s.players.len()).map(|i| input(arena, s, i)).collect()
}
