//! A player's input for one tick: a 16-bit bitfield, the ggrs input type.

use serde::{Deserialize, Serialize};

use crate::geometry::{DIRS, Vec2};

/// One tick of one player's input. `Copy`, 2 bytes, `Default` = nothing
/// pressed (what ggrs feeds for a disconnected player).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Input(pub u16);

impl Input {
    /// Movement key: up (north, towards smaller y).
    pub const UP: u16 = 1 << 0;
    /// Movement key: down (south, towards larger y).
    pub const DOWN: u16 = 1 << 1;
    /// Movement key: left (west).
    pub const LEFT: u16 = 1 << 2;
    /// Movement key: right (east).
    pub const RIGHT: u16 = 1 << 3;
    /// Melee swing with the equipped weapon (held: swing whenever ready).
    pub const MELEE: u16 = 1 << 4;
    /// Fire a bolt (costs stamina).
    pub const SHOOT: u16 = 1 << 5;
    /// Dash with invulnerability (costs stamina).
    pub const DODGE: u16 = 1 << 6;
    /// Gather from a resource node, or revive a downed ally.
    pub const INTERACT: u16 = 1 << 7;
    /// The aim direction in bits 9..12 is valid.
    pub const AIM: u16 = 1 << 8;
    const AIM_SHIFT: u16 = 9;
    /// Every bit the rules define; inputs with other bits are not canonical.
    pub const MASK: u16 = 0x0FFF;

    /// Whether `bit` (one of the flag constants above) is set.
    pub const fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }

    /// This input with `bit` also set.
    pub const fn with(self, bit: u16) -> Self {
        Self(self.0 | bit)
    }

    /// This input aiming in direction `dir` (0..8, see [`DIRS`]).
    pub const fn aiming(self, dir: u8) -> Self {
        Self(
            (self.0 & !(0b111 << Self::AIM_SHIFT))
                | Self::AIM
                | (((dir & 7) as u16) << Self::AIM_SHIFT),
        )
    }

    /// The aim direction, if the player aims.
    pub const fn aim(self) -> Option<u8> {
        if self.has(Self::AIM) {
            Some(((self.0 >> Self::AIM_SHIFT) & 7) as u8)
        } else {
            None
        }
    }

    /// Input holding the movement keys that best match direction `dir`.
    pub const fn moving(self, dir: u8) -> Self {
        let bits = match dir & 7 {
            0 => Self::RIGHT,
            1 => Self::RIGHT | Self::DOWN,
            2 => Self::DOWN,
            3 => Self::LEFT | Self::DOWN,
            4 => Self::LEFT,
            5 => Self::LEFT | Self::UP,
            6 => Self::UP,
            _ => Self::RIGHT | Self::UP,
        };
        Self(self.0 | bits)
    }

    /// The movement direction (0..8), if the keys held give one.
    pub fn move_dir(self) -> Option<u8> {
        let dx = i32::from(self.has(Self::RIGHT)) - i32::from(self.has(Self::LEFT));
        let dy = i32::from(self.has(Self::DOWN)) - i32::from(self.has(Self::UP));
        crate::geometry::octant(Vec2::new(dx, dy))
    }

    /// Whether the input uses only bits the rules define.
    pub const fn is_canonical(self) -> bool {
        self.0 & !Self::MASK == 0
    }

    /// The unit vector (scaled to a tile) of a direction.
    pub fn dir_vector(dir: u8) -> Vec2 {
        DIRS[usize::from(dir & 7)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn movement_bits_round_trip_through_directions() {
        for d in 0..8 {
            assert_eq!(Input::default().moving(d).move_dir(), Some(d));
            assert_eq!(Input::default().aiming(d).aim(), Some(d));
        }
        assert_eq!(Input(Input::LEFT | Input::RIGHT).move_dir(), None);
        assert_eq!(Input::default().aim(), None);
    }

    #[test]
    fn non_canonical_bits_are_detected() {
        assert!(Input(Input::MASK).is_canonical());
        assert!(!Input(0x8000).is_canonical());
    }
}
