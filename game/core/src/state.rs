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

/// A player's full health.
pub const PLAYER_MAX_HP: u16 = 100;
/// A player's full stamina; dodges and bolts spend it, and 1 returns every 3 ticks.
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
    /// Until the next melee swing.
    pub melee: u8,
    /// Until the next bolt.
    pub shoot: u8,
    /// Until the next dodge.
    pub dodge: u8,
    /// Until the next gather.
    pub gather: u8,
    /// Invulnerability after being hit.
    pub hurt: u8,
    /// Frames left of the swing animation (for the renderer).
    pub swing: u8,
}

/// What a player earned so far in this match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewards {
    /// Experience from kills and cleared waves.
    pub xp: u32,
    /// Enemies killed (each credited to the player who hit it last).
    pub kills: u16,
    /// Damage of this player's melee and bolt hits on enemies.
    pub damage_dealt: u32,
    /// Damage taken after armor (burn damage not counted).
    pub damage_taken: u32,
    /// Materials gathered and picked up.
    pub materials: Materials,
    /// Items picked up (at most `MAX_REWARD_ITEMS`); while full, item drops stay on the ground.
    pub items: ArrayVec<ItemStats, MAX_REWARD_ITEMS>,
}

/// One player in the match: body, stats, gear and earnings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Player {
    /// Position of the body's centre, sub-units.
    pub pos: Vec2,
    /// Facing direction, 0..8 (see [`crate::geometry::DIRS`]).
    pub facing: u8,
    /// Health left; 0 exactly when downed.
    pub hp: u16,
    /// Full health.
    pub max_hp: u16,
    /// Stamina left, up to `MAX_STAMINA`; dodges and bolts spend it.
    pub stamina: u16,
    /// Down at 0 health: no actions until an ally revives it or a wave is cleared.
    pub downed: bool,
    /// Ticks an ally has spent reviving this downed player.
    pub revive: u16,
    /// Ticks left of the current dodge, and its direction.
    pub dodge: u8,
    /// Direction of the current dodge, 0..8.
    pub dodge_dir: u8,
    /// Ticks left burning.
    pub burn: u16,
    /// Countdowns until actions are ready again.
    pub cd: Cooldowns,
    /// The items brought into the match; they wear as they are used.
    pub equipment: Loadout,
    /// What the player earned so far.
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
    /// Moving towards the nearest player (chasers and shooters never leave it).
    Approach,
    /// Standing still before a charge, for `ticks` more ticks, aimed along `dir`.
    Windup {
        /// Ticks left before the charge.
        ticks: u8,
        /// Direction of the coming charge (scaled to a tile).
        dir: Vec2,
    },
    /// Charging along `dir` for up to `ticks` more ticks, hurting players in reach.
    Charge {
        /// Ticks left of the charge, at most.
        ticks: u8,
        /// Direction of the charge (scaled to a tile).
        dir: Vec2,
    },
    /// Resting after a charge for `ticks` more ticks.
    Recover {
        /// Ticks left to rest.
        ticks: u8,
    },
}

/// No player: `last_hit_by` of an enemy nobody hit yet.
pub const NOBODY: u8 = u8::MAX;

/// An enemy in the arena.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enemy {
    /// Unique within the match, from `State::next_id` (never 0).
    pub id: u32,
    /// Which of the three kinds, and so its behaviour.
    pub kind: EnemyKind,
    /// Position of the body's centre, sub-units.
    pub pos: Vec2,
    /// Health left; at 0 or below it dies this tick.
    pub hp: i32,
    /// Health at spawn, scaled by wave and party size.
    pub max_hp: i32,
    /// Damage of a bite, charge or bolt, scaled by wave.
    pub damage: u16,
    /// Current action (only brutes change it).
    pub act: Act,
    /// Ticks until it can bite, shoot or charge again.
    pub cooldown: u16,
    /// Ticks left burning.
    pub burn: u16,
    /// The seat that set it burning (burn damage is credited to it).
    pub burn_by: u8,
    /// The seat that hit it last, credited with the kill; `NOBODY` if none.
    pub last_hit_by: u8,
    /// Knockback velocity, decaying each tick.
    pub knock: Vec2,
    /// Ticks of hit flash (for the renderer).
    pub flash: u8,
}

/// Who fired a projectile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Owner {
    /// A player, by seat index.
    Player(u8),
    /// An enemy; its bolts hurt players.
    Enemy,
}

/// Trait effects a hit carries (from the weapon that made it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HitEffects {
    /// From `Critical`: a chance of double damage.
    pub critical: bool,
    /// From `Burn`: sets the enemy burning.
    pub burn: bool,
    /// From `Lifesteal`: heals the attacker a sixth of the damage.
    pub lifesteal: bool,
    /// From `Knockback`: pushes the enemy away (melee only).
    pub knockback: bool,
}

/// A bolt in flight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projectile {
    /// Position, sub-units.
    pub pos: Vec2,
    /// Displacement per tick, sub-units.
    pub vel: Vec2,
    /// Damage on hit (armor reduces it when an enemy's bolt hits a player).
    pub damage: u16,
    /// Ticks left in flight; a blocked tile, or a hit it cannot pierce, ends it sooner.
    pub ttl: u16,
    /// Who fired it, and so whom it can hit.
    pub owner: Owner,
    /// Enemies it may still pass through.
    pub pierce: u8,
    /// The enemy it hit last (so a piercing bolt hits each enemy once).
    pub last_hit: u32,
    /// Trait effects of the weapon that fired it.
    pub effects: HitEffects,
}

/// What lies on the ground.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Loot {
    /// A stack of a material: which one and how many.
    Material(Material, u8),
    /// An item.
    Item(ItemStats),
}

/// Loot lying on the ground, picked up by the first standing player in reach.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drop {
    /// Where it lies, sub-units.
    pub pos: Vec2,
    /// What it is.
    pub loot: Loot,
    /// Ticks before it vanishes if nobody picks it up.
    pub ttl: u16,
}

/// A resource node that players gather from with a tool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceNode {
    /// Position, sub-units (the centre of its tile).
    pub pos: Vec2,
    /// What it is, and so which material it yields.
    pub kind: ResourceKind,
    /// Gathers left; 0 means exhausted.
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
    /// Ticks until the next enemy of this wave spawns.
    pub spawn_timer: u16,
    /// Ticks until the next wave starts (0 while a wave is under way).
    pub pause: u16,
}

/// The whole state of a match at one frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Ticks stepped so far.
    pub frame: u32,
    /// The parameters the players agreed on.
    pub rules: Rules,
    /// The match's one generator, which every chance draws from.
    pub rng: Rng,
    /// Wave progress.
    pub waves: Waves,
    /// How the match ended; `None` while it runs.
    pub end: Option<MatchEnd>,
    /// The id the next spawned enemy gets.
    pub next_id: u32,
    /// Players in seat order.
    pub players: ArrayVec<Player, MAX_PLAYERS>,
    /// Live enemies, in spawn order.
    pub enemies: ArrayVec<Enemy, MAX_ENEMIES>,
    /// Projectiles in flight.
    pub projectiles: ArrayVec<Projectile, MAX_PROJECTILES>,
    /// Loot lying on the ground.
    pub drops: ArrayVec<Drop, MAX_DROPS>,
    /// Resource nodes, one per resource site of the arena.
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

    /// The checksum as 64 lower-case hex digits.
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
