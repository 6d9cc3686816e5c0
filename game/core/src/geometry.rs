//! Integer geometry: positions in sub-tile units, directions, integer lengths.
//!
//! Everything is `i32`/`i64`; lengths use `u64::isqrt`, so every machine gets
//! bit-identical results (the determinism rule of DESIGN.md).

use serde::{Deserialize, Serialize};

/// Sub-units per tile. A position `x` lies in tile `x.div_euclid(TILE)`.
pub const TILE: i32 = 1024;

/// A point or a displacement in sub-tile units (y grows downwards).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Vec2 {
    /// Horizontal coordinate, growing eastwards.
    pub x: i32,
    /// Vertical coordinate, growing downwards (southwards).
    pub y: i32,
}

// Named methods rather than `ops` traits: the arithmetic saturates on
// purpose, which `+` and `-` would hide.
#[allow(clippy::should_implement_trait)]
impl Vec2 {
    /// The origin, or no displacement.
    pub const ZERO: Vec2 = Vec2 { x: 0, y: 0 };

    /// The vector `(x, y)`.
    pub const fn new(x: i32, y: i32) -> Self {
        Self { x, y }
    }

    /// The centre of tile `(tx, ty)`.
    pub const fn tile_center(tx: i32, ty: i32) -> Self {
        Self {
            x: tx * TILE + TILE / 2,
            y: ty * TILE + TILE / 2,
        }
    }

    /// The tile `(tx, ty)` that contains this position (floored, so negative positions work).
    pub fn tile(self) -> (i32, i32) {
        (self.x.div_euclid(TILE), self.y.div_euclid(TILE))
    }

    /// Componentwise sum, saturating at the `i32` bounds.
    pub fn add(self, o: Vec2) -> Vec2 {
        Vec2::new(self.x.saturating_add(o.x), self.y.saturating_add(o.y))
    }

    /// Componentwise difference, saturating at the `i32` bounds.
    pub fn sub(self, o: Vec2) -> Vec2 {
        Vec2::new(self.x.saturating_sub(o.x), self.y.saturating_sub(o.y))
    }

    /// `self * num / den`, rounding toward zero.
    pub fn scale(self, num: i32, den: i32) -> Vec2 {
        debug_assert!(den != 0);
        Vec2::new(
            (i64::from(self.x) * i64::from(num) / i64::from(den)) as i32,
            (i64::from(self.y) * i64::from(num) / i64::from(den)) as i32,
        )
    }

    /// The dot product, in `i64` so it cannot overflow.
    pub fn dot(self, o: Vec2) -> i64 {
        i64::from(self.x) * i64::from(o.x) + i64::from(self.y) * i64::from(o.y)
    }

    /// The squared length.
    pub fn len2(self) -> i64 {
        self.dot(self)
    }

    /// The squared distance to `o`.
    pub fn dist2(self, o: Vec2) -> i64 {
        self.sub(o).len2()
    }

    /// Integer length (floor of the Euclidean norm).
    pub fn length(self) -> i32 {
        (self.len2() as u64).isqrt() as i32
    }

    /// This vector rescaled to `len`; the zero vector stays zero.
    pub fn with_length(self, len: i32) -> Vec2 {
        let l = self.length();
        if l == 0 {
            Vec2::ZERO
        } else {
            self.scale(len, l)
        }
    }

    /// Rotated by 90° clockwise (screen coordinates).
    pub fn perp(self) -> Vec2 {
        Vec2::new(-self.y, self.x)
    }

    /// The opposite vector.
    pub fn neg(self) -> Vec2 {
        Vec2::new(-self.x, -self.y)
    }
}

/// Whether `a` and `b` are within `r` of each other.
pub fn within(a: Vec2, b: Vec2, r: i32) -> bool {
    a.dist2(b) <= i64::from(r) * i64::from(r)
}

/// `cos(45°) * TILE`, rounded.
const DIAG: i32 = 724;

/// The eight facing directions as unit vectors scaled to `TILE`, clockwise
/// from east (index 0 = east, 2 = south, 4 = west, 6 = north).
pub const DIRS: [Vec2; 8] = [
    Vec2::new(TILE, 0),
    Vec2::new(DIAG, DIAG),
    Vec2::new(0, TILE),
    Vec2::new(-DIAG, DIAG),
    Vec2::new(-TILE, 0),
    Vec2::new(-DIAG, -DIAG),
    Vec2::new(0, -TILE),
    Vec2::new(DIAG, -DIAG),
];

/// The nearest of the eight directions to `v`, or `None` for the zero vector.
pub fn octant(v: Vec2) -> Option<u8> {
    if v == Vec2::ZERO {
        return None;
    }
    let (ax, ay) = (i64::from(v.x).abs(), i64::from(v.y).abs());
    // tan(22.5°) ≈ 0.4142: below it the vector is axis-aligned.
    let horizontal = ay * 10_000 < ax * 4_142;
    let vertical = ax * 10_000 < ay * 4_142;
    let d = match (horizontal, vertical, v.x >= 0, v.y >= 0) {
        (true, _, true, _) => 0,
        (true, _, false, _) => 4,
        (_, true, _, true) => 2,
        (_, true, _, false) => 6,
        (_, _, true, true) => 1,
        (_, _, false, true) => 3,
        (_, _, false, false) => 5,
        (_, _, true, false) => 7,
    };
    Some(d)
}

/// A unit vector (scaled to `TILE`) from `from` towards `to`.
pub fn heading(from: Vec2, to: Vec2) -> Vec2 {
    to.sub(from).with_length(TILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octant_matches_dirs_table() {
        for (i, d) in DIRS.iter().enumerate() {
            assert_eq!(octant(*d), Some(i as u8));
        }
        assert_eq!(octant(Vec2::ZERO), None);
        assert_eq!(octant(Vec2::new(100, 10)), Some(0));
        assert_eq!(octant(Vec2::new(-10, -100)), Some(6));
    }

    #[test]
    fn with_length_normalises_and_keeps_zero() {
        assert_eq!(Vec2::new(3000, 4000).with_length(500), Vec2::new(300, 400));
        assert_eq!(Vec2::ZERO.with_length(500), Vec2::ZERO);
        assert_eq!(Vec2::new(3, 4).length(), 5);
    }

    #[test]
    fn tiles_floor_for_negative_positions() {
        assert_eq!(Vec2::new(-1, 1023).tile(), (-1, 0));
        assert_eq!(
            Vec2::tile_center(2, 3),
            Vec2::new(2 * 1024 + 512, 3 * 1024 + 512)
        );
    }
}
