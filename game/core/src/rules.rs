//! The rules version and the per-match parameters that players agree on.

use serde::{Deserialize, Serialize};

/// Bumped whenever the simulation's rules change on purpose (and the golden
/// checksums are regenerated in the same commit). Peers and validators only
/// play and verify matches of the version they run.
pub const RULES_VERSION: u32 = 1;
/// Simulation ticks per second.
pub const TICK_RATE: u32 = 60;
/// Most players in one match (the capacity of the player pool).
pub const MAX_PLAYERS: usize = 4;
/// Most enemies alive at once (the capacity of the enemy pool).
pub const MAX_ENEMIES: usize = 96;
/// Most projectiles in flight at once (the capacity of the projectile pool).
pub const MAX_PROJECTILES: usize = 128;
/// Most drops lying on the ground at once (the capacity of the drop pool).
pub const MAX_DROPS: usize = 64;
/// Most resource nodes in a match: one per resource site of the arena.
pub const MAX_NODES: usize = crate::arena::RESOURCE_SITES;
/// Items one player can pick up in one match.
pub const MAX_REWARD_ITEMS: usize = 8;
/// The longest match the rules allow: 30 minutes.
pub const MAX_MATCH_FRAMES: u32 = 30 * 60 * TICK_RATE;

/// What the players of a match agreed on besides the seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rules {
    /// Waves to clear for a victory.
    pub waves: u8,
    /// Frames before the match ends in a timeout.
    pub time_limit: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            waves: 5,
            time_limit: 5 * 60 * TICK_RATE,
        }
    }
}

impl Rules {
    /// Whether these parameters are within what the rules allow.
    pub fn validate(&self) -> Result<(), &'static str> {
        if !(1..=20).contains(&self.waves) {
            return Err("waves must be between 1 and 20");
        }
        if !(TICK_RATE..=MAX_MATCH_FRAMES).contains(&self.time_limit) {
            return Err("time limit must be between 1 second and 30 minutes");
        }
        Ok(())
    }
}
