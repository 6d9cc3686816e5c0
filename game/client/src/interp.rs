//! Smooth motion: the simulation moves in 60 Hz ticks on an integer grid
//! (1,024 units a tile, y down); the window draws at its own rate, placing
//! each thing between where it was at the last two ticks.

use bevy::math::Vec2;
use cyteria_game::geometry::{TILE, Vec2 as Pos};

/// Pixels a tile is drawn across.
pub const TILE_PX: f32 = 32.0;

/// A jump longer than this between two ticks (a rollback's correction, a
/// dodge through a wall, a respawn) is drawn as a jump, not a glide.
const SNAP_TILES: i32 = 3;

/// Where the core's position `p` is in the world (pixels, y up).
pub fn to_world(p: Pos) -> Vec2 {
    Vec2::new(
        p.x as f32 * TILE_PX / TILE as f32,
        -(p.y as f32) * TILE_PX / TILE as f32,
    )
}

/// The position `alpha` (0..=1) of the way from `prev` to `next`.
pub fn between(prev: Pos, next: Pos, alpha: f32) -> Vec2 {
    let d = next.sub(prev);
    if d.x.abs() > SNAP_TILES * TILE || d.y.abs() > SNAP_TILES * TILE {
        return to_world(next);
    }
    to_world(prev).lerp(to_world(next), alpha.clamp(0.0, 1.0))
}

/// How far the window is between the last tick and the next one: the
/// time since the last tick over a tick's length, held to 0..=1.
pub fn alpha(since_tick_s: f32, tick_hz: u32) -> f32 {
    (since_tick_s * tick_hz as f32).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_coordinates_flip_y_and_scale_tiles_to_pixels() {
        assert_eq!(
            to_world(Pos::new(TILE, 2 * TILE)),
            Vec2::new(TILE_PX, -2.0 * TILE_PX)
        );
    }

    #[test]
    fn between_glides_from_the_last_tick_to_the_next() {
        let (a, b) = (Pos::new(0, 0), Pos::new(TILE, 0));
        assert_eq!(between(a, b, 0.0), to_world(a));
        assert_eq!(between(a, b, 1.0), to_world(b));
        assert_eq!(between(a, b, 0.5), Vec2::new(TILE_PX / 2.0, 0.0));
        // alpha outside 0..=1 never overshoots
        assert_eq!(between(a, b, 7.0), to_world(b));
    }

    #[test]
    fn long_jumps_snap() {
        let (a, b) = (Pos::new(0, 0), Pos::new(10 * TILE, 0));
        assert_eq!(between(a, b, 0.1), to_world(b));
    }

    #[test]
    fn alpha_is_the_share_of_a_tick_elapsed() {
        assert_eq!(alpha(0.0, 60), 0.0);
        assert!((alpha(1.0 / 120.0, 60) - 0.5).abs() < 1e-6);
        assert_eq!(alpha(1.0, 60), 1.0);
    }
}
