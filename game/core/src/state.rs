//! The rollback state: everything that changes during a match, as flat,
//! fixed-capacity data. `save` is a clone with no heap allocation; the
//! canonical encoding and its blake3 checksum are what peers compare.

use arrayvec::ArrayVec;
use serde::{Deserialize, Serialize};

use crate::arena::{Arena, ResourceKind};
use crate::codec::{DecodeError, Format};
use crate::geometry::Vec2;
use crate::inventory::{Loadout, Material, Materials};
use crate::item::ItemStats;
use crate::rng::Rng;
use crate::rules::{
    MAX_DROPS, MAX_ENEMIES, MAX_NODES, MAX_PLAYERS, MAX_PROJECTILES, MAX_REWARD_ITEMS, Rules,
};

pub const PLAYER_MAX_HP: u16 = 100;
pub const MAX_STAMINA: u16 = 100;

/// How a match ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MatchEnd {
    /// Every wave cleared.
    Victory,
    /// Every player down at once.
    Defeat,
    /// The time limit passed.
    Timeout,
}

/// Per-player countdowns, in ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cooldowns {
    pub melee: u8,
    pub shoot: u8,
    pub dodge: u8,
    pub gather: u8,
    /// Invulnerability after being hit.
    pub hurt: u8,
    /// Frames left of the swing animation (for the renderer).
    pub swing: u8,
}

/// What a player earned so far in this match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewards {
    pub xp: u32,
    pub kills: u16,
    pub damage_dealt: u32,
    pub damage_taken: u32,
    pub materials: Materials,
    pub items: ArrayVec<ItemStats, MAX_REWARD_ITEMS>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Player {
    pub pos: Vec2,
    /// Facing direction, 0..8 (see [`crate::geometry::DIRS`]).
    pub facing: u8,
    pub hp: u16,
    pub max_hp: u16,
    pub stamina: u16,
    pub downed: bool,
    /// Ticks an ally has spent reviving this downed player.
    pub revive: u16,
    /// Ticks left of the current dodge, and its direction.
    pub dodge: u8,
    pub dodge_dir: u8,
    /// Ticks left burning.
    pub burn: u16,
    pub cd: Cooldowns,
    pub equipment: Loadout,
    pub rewards: Rewards,
}

/// The three enemy kinds, each with its own behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EnemyKind {
    /// Runs straight at the nearest player and bites.
    Chaser,
    /// Keeps its distance, strafes, and fires bolts.
    Shooter,
    /// Slow and tough; winds up, then charges in a straight line.
    Brute,
}

/// A brute's (and anyone's) current action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Act {
    Approach,
    Windup { ticks: u8, dir: Vec2 },
    Charge { ticks: u8, dir: Vec2 },
    Recover { ticks: u8 },
}

/// No player: `last_hit_by` of an enemy nobody hit yet.
pub const NOBODY: u8 = u8::MAX;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enemy {
    pub id: u32,
    pub kind: EnemyKind,
    pub pos: Vec2,
    pub hp: i32,
    pub max_hp: i32,
    pub damage: u16,
    pub act: Act,
    pub cooldown: u16,
    pub burn: u16,
    pub burn_by: u8,
    pub last_hit_by: u8,
    /// Knockback velocity, decaying each tick.
    pub knock: Vec2,
    /// Ticks of hit flash (for the renderer).
    pub flash: u8,
}

/// Who fired a projectile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Owner {
    Player(u8),
    Enemy,
}

/// Trait effects a hit carries (from the weapon that made it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HitEffects {
    pub critical: bool,
    pub burn: bool,
    pub lifesteal: bool,
    pub knockback: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projectile {
    pub pos: Vec2,
    pub vel: Vec2,
    pub damage: u16,
    pub ttl: u16,
    pub owner: Owner,
    /// Enemies it may still pass through.
    pub pierce: u8,
    /// The enemy it hit last (so a piercing bolt hits each enemy once).
    pub last_hit: u32,
    pub effects: HitEffects,
}

/// What lies on the ground.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Loot {
    Material(Material, u8),
    Item(ItemStats),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drop {
    pub pos: Vec2,
    pub loot: Loot,
    pub ttl: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceNode {
    pub pos: Vec2,
    pub kind: ResourceKind,
    pub remaining: u8,
}

/// Wave progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waves {
    /// The wave under way (0 before the first).
    pub number: u8,
    /// Waves cleared.
    pub cleared: u8,
    /// Enemies of this wave still to spawn.
    pub to_spawn: u16,
    pub spawn_timer: u16,
    /// Ticks until the next wave starts (0 while a wave is under way).
    pub pause: u16,
}

/// The whole state of a match at one frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub frame: u32,
    pub rules: Rules,
    pub rng: Rng,
    pub waves: Waves,
    pub end: Option<MatchEnd>,
    pub next_id: u32,
    pub players: ArrayVec<Player, MAX_PLAYERS>,
    pub enemies: ArrayVec<Enemy, MAX_ENEMIES>,
    pub projectiles: ArrayVec<Projectile, MAX_PROJECTILES>,
    pub drops: ArrayVec<Drop, MAX_DROPS>,
    pub nodes: ArrayVec<ResourceNode, MAX_NODES>,
}

/// A blake3 checksum of a state's canonical encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Checksum(pub [u8; 32]);

impl Checksum {
    /// The first 16 bytes as a little-endian `u128` (ggrs desync detection).
    pub fn as_u128(&self) -> u128 {
        let mut b = [0u8; 16];
        b.copy_from_slice(&self.0[..16]);
        u128::from_le_bytes(b)
    }

    pub fn to_hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }
}

impl std::fmt::Display for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The snapshot encoding. A state of 4 players and full pools stays well
/// under 64 KiB.
pub const SNAPSHOT: Format = Format {
    name: "snapshot",
    magic: *b"CYSN",
    version: 1,
    max_bytes: 64 * 1024,
};

impl State {
    /// The state at frame 0: players on their spawns with their loadouts,
    /// resource nodes full, the first wave two seconds away.
    pub fn new(arena: &Arena, seed: u64, rules: Rules, loadouts: &[Loadout]) -> State {
        let mut players = ArrayVec::new();
        for (i, l) in loadouts.iter().take(MAX_PLAYERS).enumerate() {
            players.push(Player {
                pos: arena.player_spawns[i],
                facing: 2,
                hp: PLAYER_MAX_HP,
                max_hp: PLAYER_MAX_HP,
                stamina: MAX_STAMINA,
                downed: false,
                revive: 0,
                dodge: 0,
                dodge_dir: 0,
                burn: 0,
                cd: Cooldowns::default(),
                equipment: *l,
                rewards: Rewards::default(),
            });
        }
        let nodes = arena
            .resource_sites
            .iter()
            .take(MAX_NODES)
            .map(|(pos, kind)| ResourceNode {
                pos: *pos,
                kind: *kind,
                remaining: kind.capacity(),
            })
            .collect();
        State {
            frame: 0,
            rules,
            rng: Rng::new(seed, "simulation"),
            waves: Waves {
                pause: 120,
                ..Waves::default()
            },
            end: None,
            next_id: 1,
            players,
            enemies: ArrayVec::new(),
            projectiles: ArrayVec::new(),
            drops: ArrayVec::new(),
            nodes,
        }
    }

    /// The canonical byte encoding (what the checksum covers).
    pub fn encode(&self) -> Vec<u8> {
        SNAPSHOT.encode(self)
    }

    /// Decodes and checks a snapshot; malformed bytes are an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<State, DecodeError> {
        let s: State = SNAPSHOT.decode(bytes)?;
        s.validate().map_err(|r| SNAPSHOT.invalid(r))?;
        Ok(s)
    }

    /// The invariants every reachable state keeps.
    pub fn validate(&self) -> Result<(), &'static str> {
        self.rules.validate()?;
        if self.players.is_empty() {
            return Err("no players");
        }
        for p in &self.players {
            if p.facing >= 8 || p.dodge_dir >= 8 {
                return Err("direction out of range");
            }
            if p.hp > p.max_hp || p.stamina > MAX_STAMINA {
                return Err("health or stamina over its maximum");
            }
            if p.downed != (p.hp == 0) {
                return Err("a player is downed exactly when its health is zero");
            }
            if !p.equipment.is_consistent() {
                return Err("an item in the wrong equipment slot");
            }
            let items = [p.equipment.weapon, p.equipment.armor, p.equipment.tool];
            if !items
                .iter()
                .flatten()
                .chain(p.rewards.items.iter())
                .all(|i| i.traits.is_canonical())
            {
                return Err("an item with undefined trait bits");
            }
        }
        if self.enemies.iter().any(|e| e.hp > e.max_hp) {
            return Err("enemy health over its maximum");
        }
        if self.waves.cleared > self.waves.number {
            return Err("more waves cleared than started");
        }
        Ok(())
    }

    /// blake3 of the canonical encoding.
    pub fn checksum(&self) -> Checksum {
        let mut buf = Vec::with_capacity(4096);
        SNAPSHOT.encode_into(self, &mut buf);
        Checksum(*blake3::hash(&buf).as_bytes())
    }

    /// Live entities (players, enemies, projectiles, drops, nodes).
    pub fn entity_count(&self) -> usize {
        self.players.len()
            + self.enemies.len()
            + self.projectiles.len()
            + self.drops.len()
            + self.nodes.len()
    }
}
