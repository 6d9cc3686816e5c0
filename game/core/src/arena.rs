//! The arena: a tile map, spawn points and resource sites generated from the
//! match seed. It never changes during a match, so it lives outside the
//! rollback state and is built once per match.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::geometry::{TILE, Vec2};
use crate::inventory::Material;
use crate::rng::Rng;

/// Arena width, in tiles.
pub const WIDTH: i32 = 40;
/// Arena height, in tiles.
pub const HEIGHT: i32 = 28;
/// Obstacle clusters scattered per arena.
const CLUSTERS: u32 = 16;
/// Resource sites per arena.
pub const RESOURCE_SITES: usize = 12;
/// Enemy spawn points per arena.
pub const ENEMY_SPAWNS: usize = 8;
/// Tiles around the centre kept clear for the players' start.
const CLEAR_RADIUS: i32 = 4;

/// What one tile of the map is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tile {
    /// Open ground that bodies move over.
    Floor,
    /// The border, and everything outside the map.
    Wall,
    /// An obstacle: part of a rock cluster or a filled unreachable pocket.
    Rock,
}

/// What a resource node is, and so what gathering it yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ResourceKind {
    /// Yields wood.
    Tree,
    /// Yields stone.
    Boulder,
    /// Yields ore.
    OreVein,
    /// Yields crystal.
    Crystal,
}

impl ResourceKind {
    /// The material that gathering from a node of this kind yields.
    pub fn material(self) -> Material {
        match self {
            ResourceKind::Tree => Material::Wood,
            ResourceKind::Boulder => Material::Stone,
            ResourceKind::OreVein => Material::Ore,
            ResourceKind::Crystal => Material::Crystal,
        }
    }

    /// How many gathers a fresh node of this kind gives.
    pub fn capacity(self) -> u8 {
        match self {
            ResourceKind::Tree => 8,
            ResourceKind::Boulder => 8,
            ResourceKind::OreVein => 6,
            ResourceKind::Crystal => 4,
        }
    }
}

/// The immutable level of one match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arena {
    tiles: Vec<Tile>,
    /// Start positions of the four seats, around the centre.
    pub player_spawns: [Vec2; 4],
    /// Where enemies enter: floor near the corners and edge midpoints (up to `ENEMY_SPAWNS`).
    pub enemy_spawns: Vec<Vec2>,
    /// Where resource nodes stand, with their kinds (up to `RESOURCE_SITES`).
    pub resource_sites: Vec<(Vec2, ResourceKind)>,
}

impl Arena {
    /// Generates the arena of `seed`: walls on the border, rock clusters
    /// away from the centre, unreachable pockets filled, then spawn points
    /// near the edges and resource sites on reachable floor.
    pub fn generate(seed: u64) -> Arena {
        let mut rng = Rng::new(seed, "arena");
        let mut tiles = vec![Tile::Floor; (WIDTH * HEIGHT) as usize];
        let idx = |x: i32, y: i32| (y * WIDTH + x) as usize;
        for x in 0..WIDTH {
            tiles[idx(x, 0)] = Tile::Wall;
            tiles[idx(x, HEIGHT - 1)] = Tile::Wall;
        }
        for y in 0..HEIGHT {
            tiles[idx(0, y)] = Tile::Wall;
            tiles[idx(WIDTH - 1, y)] = Tile::Wall;
        }
        let (cx, cy) = (WIDTH / 2, HEIGHT / 2);
        for _ in 0..CLUSTERS {
            let x0 = rng.range(2, WIDTH - 4);
            let y0 = rng.range(2, HEIGHT - 4);
            let (w, h) = (rng.range(1, 3), rng.range(1, 3));
            for y in y0..y0 + h {
                for x in x0..x0 + w {
                    if (x - cx).abs() > CLEAR_RADIUS || (y - cy).abs() > CLEAR_RADIUS {
                        tiles[idx(x, y)] = Tile::Rock;
                    }
                }
            }
            // A ragged edge: one extra rock beside the cluster, sometimes.
            if rng.chance(500) {
                let (x, y) = (x0 + w, y0 + rng.range(0, h - 1));
                if x < WIDTH - 1 && ((x - cx).abs() > CLEAR_RADIUS || (y - cy).abs() > CLEAR_RADIUS)
                {
                    tiles[idx(x, y)] = Tile::Rock;
                }
            }
        }
        // Fill every floor tile the centre cannot reach, so that nothing
        // spawns in a sealed pocket.
        let dist = flood(&tiles, cx, cy);
        for (i, t) in tiles.iter_mut().enumerate() {
            if *t == Tile::Floor && dist[i] == u16::MAX {
                *t = Tile::Rock;
            }
        }
        let center = Vec2::tile_center(cx, cy);
        let player_spawns = [
            center.add(Vec2::new(-TILE, -TILE)),
            center.add(Vec2::new(TILE, -TILE)),
            center.add(Vec2::new(-TILE, TILE)),
            center.add(Vec2::new(TILE, TILE)),
        ];
        // Enemy spawns: the reachable floor tile nearest to eight points on
        // the border (corners and edge midpoints), scanning in a fixed order.
        let anchors = [
            (1, 1),
            (cx, 1),
            (WIDTH - 2, 1),
            (WIDTH - 2, cy),
            (WIDTH - 2, HEIGHT - 2),
            (cx, HEIGHT - 2),
            (1, HEIGHT - 2),
            (1, cy),
        ];
        let floor = |x: i32, y: i32| tiles[idx(x, y)] == Tile::Floor;
        let mut enemy_spawns = Vec::with_capacity(ENEMY_SPAWNS);
        for (ax, ay) in anchors {
            if let Some((x, y)) = nearest_floor(&floor, ax, ay) {
                enemy_spawns.push(Vec2::tile_center(x, y));
            }
        }
        let mut resource_sites: Vec<(Vec2, ResourceKind)> = Vec::with_capacity(RESOURCE_SITES);
        let mut tries = 0;
        while resource_sites.len() < RESOURCE_SITES && tries < 1000 {
            tries += 1;
            let (x, y) = (rng.range(1, WIDTH - 2), rng.range(1, HEIGHT - 2));
            let far_from_center = (x - cx).abs() + (y - cy).abs() >= 5;
            let spaced = resource_sites.iter().all(|(p, _)| {
                let (px, py) = p.tile();
                (px - x).abs() + (py - y).abs() >= 3
            });
            if floor(x, y) && far_from_center && spaced {
                let kind = [
                    ResourceKind::Tree,
                    ResourceKind::Boulder,
                    ResourceKind::OreVein,
                    ResourceKind::Crystal,
                ][rng.weighted(&[35, 30, 25, 10])];
                resource_sites.push((Vec2::tile_center(x, y), kind));
            }
        }
        Arena {
            tiles,
            player_spawns,
            enemy_spawns,
            resource_sites,
        }
    }

    /// The tile at `(x, y)`; outside the map is wall.
    pub fn tile(&self, x: i32, y: i32) -> Tile {
        if x < 0 || y < 0 || x >= WIDTH || y >= HEIGHT {
            Tile::Wall
        } else {
            self.tiles[(y * WIDTH + x) as usize]
        }
    }

    /// Whether tile `(x, y)` is not floor (outside the map counts as blocked).
    pub fn is_blocked(&self, x: i32, y: i32) -> bool {
        self.tile(x, y) != Tile::Floor
    }

    /// Whether a square body of half-size `r` at `pos` touches a blocked tile.
    pub fn body_blocked(&self, pos: Vec2, r: i32) -> bool {
        let (x0, y0) = Vec2::new(pos.x - r, pos.y - r).tile();
        let (x1, y1) = Vec2::new(pos.x + r - 1, pos.y + r - 1).tile();
        (y0..=y1).any(|y| (x0..=x1).any(|x| self.is_blocked(x, y)))
    }

    /// Moves a body by `delta`, one axis at a time, stopping on each axis that
    /// would enter a wall (so bodies slide along walls). Returns the new
    /// position; `delta` must be under a tile per axis.
    pub fn move_body(&self, pos: Vec2, delta: Vec2, r: i32) -> Vec2 {
        let mut p = pos;
        let nx = Vec2::new(p.x + delta.x, p.y);
        if !self.body_blocked(nx, r) {
            p = nx;
        }
        let ny = Vec2::new(p.x, p.y + delta.y);
        if !self.body_blocked(ny, r) {
            p = ny;
        }
        p
    }

    /// Whether a point lies on a blocked tile.
    pub fn point_blocked(&self, p: Vec2) -> bool {
        let (x, y) = p.tile();
        self.is_blocked(x, y)
    }

    /// Breadth-first distances (in tiles) from the tile of `from` over floor,
    /// `u16::MAX` where unreachable.
    pub fn distances_from(&self, from: Vec2) -> Vec<u16> {
        let (x, y) = from.tile();
        flood(&self.tiles, x, y)
    }

    /// Whether a body of half-size `r` can travel the straight line from `a`
    /// to `b` (sampled every quarter tile).
    pub fn clear_line(&self, a: Vec2, b: Vec2, r: i32) -> bool {
        let d = b.sub(a);
        let steps = (d.length() / (TILE / 4)).max(1);
        (0..=steps).all(|k| !self.body_blocked(a.add(d.scale(k, steps)), r))
    }

    /// The centre of the tile to head for next on a shortest path over floor
    /// from `from` to `to`, or `None` when `to` cannot be reached or `from`
    /// is already on its tile.
    pub fn next_waypoint(&self, from: Vec2, to: Vec2) -> Option<Vec2> {
        let dist = self.distances_from(to);
        let (x, y) = from.tile();
        let here = dist
            .get((y * WIDTH + x) as usize)
            .copied()
            .unwrap_or(u16::MAX);
        let mut best: Option<(u16, i32, i32)> = None;
        for (dx, dy) in [
            (1, 0),
            (-1, 0),
            (0, 1),
            (0, -1),
            (1, 1),
            (-1, 1),
            (1, -1),
            (-1, -1),
        ] {
            let (nx, ny) = (x + dx, y + dy);
            if self.is_blocked(nx, ny)
                || (dx != 0
                    && dy != 0
                    && (self.is_blocked(x + dx, y) || self.is_blocked(x, y + dy)))
            {
                continue;
            }
            let d = dist[(ny * WIDTH + nx) as usize];
            if d < best.map_or(here, |b| b.0) {
                best = Some((d, nx, ny));
            }
        }
        best.map(|(_, nx, ny)| Vec2::tile_center(nx, ny))
    }

    /// An ASCII picture of the arena (`#` wall, `o` rock, `.` floor, `T B O C`
    /// resource sites, `E` enemy spawns, `P` player spawns).
    pub fn ascii(&self) -> String {
        let mut rows: Vec<Vec<char>> = (0..HEIGHT)
            .map(|y| {
                (0..WIDTH)
                    .map(|x| match self.tile(x, y) {
                        Tile::Floor => '.',
                        Tile::Wall => '#',
                        Tile::Rock => 'o',
                    })
                    .collect()
            })
            .collect();
        let mut mark = |p: Vec2, c: char| {
            let (x, y) = p.tile();
            rows[y as usize][x as usize] = c;
        };
        for (p, k) in &self.resource_sites {
            mark(*p, ['T', 'B', 'O', 'C'][*k as usize]);
        }
        for p in &self.enemy_spawns {
            mark(*p, 'E');
        }
        for p in &self.player_spawns {
            mark(*p, 'P');
        }
        rows.into_iter()
            .map(|r| r.into_iter().collect::<String>() + "\n")
            .collect()
    }
}

fn flood(tiles: &[Tile], sx: i32, sy: i32) -> Vec<u16> {
    let mut dist = vec![u16::MAX; tiles.len()];
    let at = |x: i32, y: i32| (y * WIDTH + x) as usize;
    if sx < 0 || sy < 0 || sx >= WIDTH || sy >= HEIGHT || tiles[at(sx, sy)] != Tile::Floor {
        return dist;
    }
    let mut queue = VecDeque::new();
    dist[at(sx, sy)] = 0;
    queue.push_back((sx, sy));
    while let Some((x, y)) = queue.pop_front() {
        let d = dist[at(x, y)];
        for (nx, ny) in [(x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)] {
            if nx >= 0 && ny >= 0 && nx < WIDTH && ny < HEIGHT {
                let i = at(nx, ny);
                if tiles[i] == Tile::Floor && dist[i] == u16::MAX {
                    dist[i] = d + 1;
                    queue.push_back((nx, ny));
                }
            }
        }
    }
    dist
}

/// The floor tile nearest to `(ax, ay)` by Chebyshev rings, scanning each
/// ring in row order (deterministic).
fn nearest_floor(floor: &impl Fn(i32, i32) -> bool, ax: i32, ay: i32) -> Option<(i32, i32)> {
    for r in 0..WIDTH.max(HEIGHT) {
        for y in ay - r..=ay + r {
            for x in ax - r..=ax + r {
                let on_ring = (x - ax).abs() == r || (y - ay).abs() == r;
                if on_ring && x > 0 && y > 0 && x < WIDTH - 1 && y < HEIGHT - 1 && floor(x, y) {
                    return Some((x, y));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_arena_and_seeds_differ() {
        assert_eq!(Arena::generate(5), Arena::generate(5));
        assert_ne!(Arena::generate(5).ascii(), Arena::generate(6).ascii());
    }

    #[test]
    fn every_spawn_and_site_is_reachable_from_the_players() {
        for seed in 0..50 {
            let a = Arena::generate(seed);
            let dist = a.distances_from(a.player_spawns[0]);
            let reach = |p: Vec2| {
                let (x, y) = p.tile();
                dist[(y * WIDTH + x) as usize] != u16::MAX
            };
            assert_eq!(a.enemy_spawns.len(), ENEMY_SPAWNS, "seed {seed}");
            assert!(a.resource_sites.len() >= RESOURCE_SITES / 2, "seed {seed}");
            for p in a.player_spawns.iter().chain(&a.enemy_spawns) {
                assert!(reach(*p), "seed {seed}\n{}", a.ascii());
            }
            for (p, _) in &a.resource_sites {
                assert!(reach(*p), "seed {seed}\n{}", a.ascii());
            }
        }
    }

    #[test]
    fn bodies_slide_along_walls_and_never_enter_them() {
        for seed in 0..20 {
            let a = Arena::generate(seed);
            let mut p = a.player_spawns[0];
            for _ in 0..200 {
                let next = a.move_body(p, Vec2::new(-500, 130), 300);
                assert!(!a.body_blocked(next, 300), "seed {seed}");
                p = next;
            }
            // Pushed left for long enough, the body rests against something.
            assert_eq!(a.move_body(p, Vec2::new(-500, 0), 300).x, p.x);
        }
        assert!(a_is_walled());
    }

    fn a_is_walled() -> bool {
        let a = Arena::generate(1);
        a.is_blocked(-1, 5) && a.is_blocked(WIDTH, 5) && a.is_blocked(0, 5)
    }
}
