//! Item sprites drawn from an item's stats alone: equal stats give equal
//! pixels on every machine, so every validator adds byte-identical PNGs to
//! IPFS (their CIDs are part of the batch it signs) and the client draws the
//! same picture the marketplace shows.
//!
//! A sprite is 32×32 RGBA pixel art, integer geometry only:
//! - the silhouette is the item type (a sword, a breastplate, a pickaxe);
//! - the colours are the rarity's; epic and mythic items glow;
//! - damage lengthens and thickens blades and pick heads, defense adds plates;
//! - each trait sets a gem of its own colour in a slot of its own;
//! - the bar along the bottom is the durability, against the rarity's maximum;
//! - a texture seeded by a hash of the stats makes two items that differ in
//!   any stat differ in their pixels.

use crate::item::{ItemStats, ItemType, Rarity, Trait};

/// Width and height of a sprite, in pixels.
pub const SIZE: usize = 32;

/// An RGBA colour.
pub type Rgba = [u8; 4];

const CLEAR: Rgba = [0, 0, 0, 0];
const OUTLINE: Rgba = [22, 18, 28, 255];
const HANDLE: Rgba = [120, 78, 40, 255];
const HANDLE_DARK: Rgba = [82, 52, 28, 255];

/// Pixels in rows from the top, 4 bytes (RGBA, straight alpha) each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sprite {
    /// Pixels per row.
    pub width: usize,
    /// Number of rows.
    pub height: usize,
    /// The pixels, row by row from the top, 4 bytes each (`width * height * 4` in all).
    pub rgba: Vec<u8>,
}

impl Sprite {
    fn blank(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            rgba: vec![0; width * height * 4],
        }
    }

    /// The colour at (`x`, `y`).
    pub fn pixel(&self, x: usize, y: usize) -> Rgba {
        let i = (y * self.width + x) * 4;
        [
            self.rgba[i],
            self.rgba[i + 1],
            self.rgba[i + 2],
            self.rgba[i + 3],
        ]
    }

    fn put(&mut self, x: usize, y: usize, c: Rgba) {
        let i = (y * self.width + x) * 4;
        self.rgba[i..i + 4].copy_from_slice(&c);
    }

    /// The sprite enlarged `k` times with square pixels (for a PNG a wallet shows sharply).
    pub fn scaled(&self, k: usize) -> Sprite {
        let mut out = Sprite::blank(self.width * k, self.height * k);
        for y in 0..out.height {
            for x in 0..out.width {
                out.put(x, y, self.pixel(x / k, y / k));
            }
        }
        out
    }

    /// How many pixels are not fully transparent.
    pub fn visible_pixels(&self) -> usize {
        self.rgba.chunks_exact(4).filter(|p| p[3] != 0).count()
    }
}

/// What a cell of the drawing grid holds, before colouring.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    Empty,
    Body,
    Accent,
    Handle,
    Gem(Trait),
    Bar(Rgba),
}

struct Grid([[Cell; SIZE]; SIZE]);

impl Grid {
    fn set(&mut self, x: i32, y: i32, c: Cell) {
        if (0..SIZE as i32).contains(&x) && (0..SIZE as i32).contains(&y) {
            self.0[y as usize][x as usize] = c;
        }
    }

    fn get(&self, x: i32, y: i32) -> Cell {
        if (0..SIZE as i32).contains(&x) && (0..SIZE as i32).contains(&y) {
            self.0[y as usize][x as usize]
        } else {
            Cell::Empty
        }
    }

    /// A diamond of radius `r` (|dx| + |dy| <= r) around (`x`, `y`).
    fn dot(&mut self, x: i32, y: i32, r: i32, c: Cell) {
        for dy in -r..=r {
            for dx in -r..=r {
                if dx.abs() + dy.abs() <= r {
                    self.set(x + dx, y + dy, c);
                }
            }
        }
    }

    fn rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, c: Cell) {
        for y in y0..y1 {
            for x in x0..x1 {
                self.set(x, y, c);
            }
        }
    }
}

/// The body colours of a rarity: (base, light, dark).
fn palette(r: Rarity) -> (Rgba, Rgba, Rgba) {
    match r {
        Rarity::Common => (
            [158, 158, 166, 255],
            [208, 208, 214, 255],
            [104, 104, 114, 255],
        ),
        Rarity::Uncommon => ([72, 176, 88, 255], [140, 222, 140, 255], [38, 112, 56, 255]),
        Rarity::Rare => (
            [62, 118, 218, 255],
            [136, 180, 250, 255],
            [34, 66, 148, 255],
        ),
        Rarity::Epic => (
            [156, 74, 208, 255],
            [206, 146, 246, 255],
            [96, 38, 140, 255],
        ),
        Rarity::Mythic => (
            [236, 146, 34, 255],
            [255, 214, 112, 255],
            [164, 82, 14, 255],
        ),
    }
}

/// Each trait's gem colour.
pub fn trait_colour(t: Trait) -> Rgba {
    match t {
        Trait::Lifesteal => [200, 20, 40, 255],
        Trait::Burn => [255, 110, 0, 255],
        Trait::Thorns => [40, 120, 30, 255],
        Trait::Haste => [250, 240, 90, 255],
        Trait::Critical => [255, 40, 200, 255],
        Trait::Reach => [90, 230, 230, 255],
        Trait::Piercing => [235, 235, 255, 255],
        Trait::Regeneration => [120, 255, 120, 255],
        Trait::Prospector => [255, 200, 40, 255],
        Trait::Sturdy => [130, 110, 90, 255],
        Trait::Knockback => [60, 60, 220, 255],
        Trait::Quick => [0, 200, 140, 255],
    }
}

/// Where each item type sets its gems (one slot per trait, by bit index).
fn gem_slots(ty: ItemType) -> [(i32, i32); 12] {
    match ty {
        // Along the blade, then on the guard.
        ItemType::Weapon => [
            (20, 11),
            (17, 14),
            (23, 8),
            (14, 17),
            (8, 18),
            (13, 23),
            (6, 16),
            (15, 25),
            (26, 5),
            (11, 20),
            (18, 12),
            (21, 9),
        ],
        // Across the chest in rows.
        ItemType::Armor => [
            (11, 13),
            (15, 13),
            (19, 13),
            (11, 17),
            (15, 17),
            (19, 17),
            (11, 21),
            (15, 21),
            (19, 21),
            (11, 25),
            (15, 25),
            (19, 25),
        ],
        // On the head, then down the handle.
        ItemType::Tool => [
            (17, 6),
            (22, 11),
            (25, 14),
            (14, 4),
            (27, 17),
            (19, 8),
            (23, 12),
            (15, 17),
            (12, 20),
            (9, 23),
            (13, 2),
            (28, 19),
        ],
    }
}

fn draw_sword(g: &mut Grid, s: &ItemStats) {
    let blade = 12 + i32::from(s.damage.min(60)) / 6; // 12..=22 cells from the tip
    let width = 1 + i32::from(s.damage >= 25) + i32::from(s.damage >= 50);
    let (tx, ty) = (27, 4);
    for i in 0..blade {
        let r = if i < 2 { 0 } else { width.min(1 + i / 3) };
        g.dot(tx - i, ty + i, r, Cell::Body);
    }
    // The fuller: a darker line down the middle of wide blades.
    if width >= 2 {
        for i in 3..blade - 1 {
            g.set(tx - i, ty + i, Cell::Accent);
        }
    }
    let (gx, gy) = (tx - blade, ty + blade);
    let guard = 3 + s.rarity as i32;
    for j in -guard..=guard {
        g.dot(gx + j, gy + j, 0, Cell::Accent);
        g.set(gx + j + 1, gy + j, Cell::Accent);
    }
    for i in 1..5 {
        g.dot(gx - i, gy + i, 0, Cell::Handle);
        g.set(gx - i + 1, gy + i, Cell::Handle);
    }
    g.dot(gx - 5, gy + 5, 1, Cell::Accent);
}

fn draw_armor(g: &mut Grid, s: &ItemStats) {
    g.rect(5, 6, 27, 11, Cell::Body); // shoulders
    g.rect(8, 11, 24, 28, Cell::Body); // chest
    g.rect(10, 28, 22, 29, Cell::Body); // waist
    // The neck, cut as a rounded notch.
    g.rect(13, 6, 19, 9, Cell::Empty);
    g.rect(14, 9, 18, 10, Cell::Empty);
    // The arm holes under the shoulders.
    g.rect(5, 11, 8, 16, Cell::Empty);
    g.rect(24, 11, 27, 16, Cell::Empty);
    // One plate per 15 defense, up to four, across the chest.
    let plates = (1 + i32::from(s.defense) / 15).min(4);
    for p in 0..plates {
        g.rect(8, 15 + p * 4, 24, 16 + p * 4, Cell::Accent);
    }
    g.rect(15, 10, 17, 28, Cell::Accent); // the seam
}

fn draw_pickaxe(g: &mut Grid, s: &ItemStats) {
    for i in 0..16 {
        g.set(6 + i, 27 - i, Cell::Handle);
        g.set(7 + i, 27 - i, Cell::Handle);
    }
    // The head: a bent bar across the handle's top end, heavier with damage.
    let reach = 6 + i32::from(s.damage.min(40)) / 10; // 6..=10
    let thick = i32::from(s.damage >= 20);
    let (cx, cy) = (21, 11);
    for j in -reach..=reach {
        let bend = (j * j) / 20; // the ends curve back toward the handle
        let r = if j.abs() >= reach - 1 { 0 } else { thick };
        g.dot(cx + j - bend, cy + j + bend, r, Cell::Body);
    }
    g.dot(cx, cy, 1, Cell::Accent); // the socket
}

/// A 32-byte seed from every stat, for the texture.
fn seed(s: &ItemStats) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("cyteria item sprite v1");
    h.update(&[s.item_type as u8, s.rarity as u8]);
    h.update(&s.damage.to_be_bytes());
    h.update(&s.defense.to_be_bytes());
    h.update(&s.durability.to_be_bytes());
    h.update(&s.traits.0);
    *h.finalize().as_bytes()
}

/// The sprite of an item with stats `s`.
pub fn item_sprite(s: &ItemStats) -> Sprite {
    let mut g = Grid([[Cell::Empty; SIZE]; SIZE]);
    match s.item_type {
        ItemType::Weapon => draw_sword(&mut g, s),
        ItemType::Armor => draw_armor(&mut g, s),
        ItemType::Tool => draw_pickaxe(&mut g, s),
    }
    let slots = gem_slots(s.item_type);
    for t in s.traits.iter() {
        let (x, y) = slots[t as usize];
        g.rect(x, y, x + 2, y + 2, Cell::Gem(t));
    }
    // Durability against the rarity's maximum, 28 cells at full.
    let max = u32::from(s.rarity.max_durability());
    let full = (u32::from(s.durability).min(max) * 28 / max) as i32;
    let pct = u32::from(s.durability).min(max) * 100 / max;
    let bar = if pct > 50 {
        [70, 200, 70, 255]
    } else if pct > 25 {
        [230, 200, 50, 255]
    } else {
        [210, 50, 40, 255]
    };
    g.rect(2, 30, 2 + full, 31, Cell::Bar(bar));
    g.rect(2 + full, 30, 30, 31, Cell::Bar([60, 56, 64, 255]));

    let (base, light, dark) = palette(s.rarity);
    let seed = seed(s);
    let noise = |x: usize, y: usize| seed[(x * 7 + y * 13) % 32] >> ((x + 3 * y) % 8) & 1 == 1;
    let mut out = Sprite::blank(SIZE, SIZE);
    for y in 0..SIZE {
        for x in 0..SIZE {
            let (xi, yi) = (x as i32, y as i32);
            let c = match g.get(xi, yi) {
                Cell::Empty => {
                    let near = |d: i32| {
                        (-d..=d).any(|dy| {
                            (-d..=d).any(|dx| {
                                !matches!(g.get(xi + dx, yi + dy), Cell::Empty | Cell::Bar(_))
                            })
                        })
                    };
                    if near(1) && y < 30 {
                        OUTLINE
                    } else if s.rarity >= Rarity::Epic && near(2) && y < 30 {
                        [
                            light[0],
                            light[1],
                            light[2],
                            if s.rarity == Rarity::Mythic { 140 } else { 90 },
                        ]
                    } else {
                        CLEAR
                    }
                }
                Cell::Body => {
                    // Light from the top left: lit edges, shaded edges, textured inside.
                    if matches!(g.get(xi - 1, yi - 1), Cell::Empty) {
                        light
                    } else if matches!(g.get(xi + 1, yi + 1), Cell::Empty) {
                        dark
                    } else if noise(x, y) {
                        [
                            base[0].saturating_sub(14),
                            base[1].saturating_sub(14),
                            base[2].saturating_sub(14),
                            255,
                        ]
                    } else {
                        base
                    }
                }
                Cell::Accent => dark,
                Cell::Handle => {
                    if noise(x, y) {
                        HANDLE_DARK
                    } else {
                        HANDLE
                    }
                }
                Cell::Gem(t) => trait_colour(t),
                Cell::Bar(c) => c,
            };
            out.put(x, y, c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::Traits;

    fn item(
        ty: ItemType,
        rarity: Rarity,
        damage: u16,
        defense: u16,
        durability: u16,
        traits: Traits,
    ) -> ItemStats {
        ItemStats {
            item_type: ty,
            rarity,
            damage,
            defense,
            durability,
            traits,
        }
    }

    #[test]
    fn equal_stats_draw_equal_pixels_and_every_stat_changes_them() {
        let base = item(
            ItemType::Weapon,
            Rarity::Rare,
            30,
            0,
            200,
            Traits::NONE.with(Trait::Burn),
        );
        let a = item_sprite(&base);
        assert_eq!(a, item_sprite(&base));
        assert_eq!(
            (a.width, a.height, a.rgba.len()),
            (SIZE, SIZE, SIZE * SIZE * 4)
        );
        let variants = [
            ItemStats {
                item_type: ItemType::Tool,
                ..base
            },
            ItemStats {
                rarity: Rarity::Epic,
                ..base
            },
            ItemStats { damage: 31, ..base },
            ItemStats { defense: 1, ..base },
            ItemStats {
                durability: 100,
                ..base
            },
            ItemStats {
                traits: Traits::NONE.with(Trait::Lifesteal),
                ..base
            },
        ];
        for v in variants {
            assert_ne!(item_sprite(&v), a, "{v:?} draws like {base:?}");
        }
    }

    #[test]
    fn every_item_type_and_rarity_draws_something_and_traits_show_as_gems() {
        for ty in ItemType::ALL {
            for r in Rarity::ALL {
                let mut traits = Traits::NONE;
                for t in Trait::for_type(ty).iter().take(r.trait_slots()) {
                    traits.set(*t);
                }
                let s = item(ty, r, 20, 10, r.max_durability(), traits);
                let sprite = item_sprite(&s);
                assert!(
                    sprite.visible_pixels() > 150,
                    "{ty:?} {r:?}: {} pixels",
                    sprite.visible_pixels()
                );
                for t in traits.iter() {
                    let (x, y) = gem_slots(ty)[t as usize];
                    assert_eq!(
                        sprite.pixel(x as usize, y as usize),
                        trait_colour(t),
                        "{ty:?} {r:?} {t:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_bottom_bar_is_the_durability() {
        let full = item_sprite(&item(
            ItemType::Armor,
            Rarity::Common,
            0,
            5,
            150,
            Traits::NONE,
        ));
        let worn = item_sprite(&item(
            ItemType::Armor,
            Rarity::Common,
            0,
            5,
            30,
            Traits::NONE,
        ));
        let lit = |s: &Sprite| {
            (2..30)
                .filter(|x| s.pixel(*x, 30) != [60, 56, 64, 255])
                .count()
        };
        assert_eq!(lit(&full), 28);
        assert_eq!(lit(&worn), 5);
        assert_eq!(
            worn.pixel(2, 30),
            [210, 50, 40, 255],
            "a worn item's bar is red"
        );
    }

    #[test]
    fn scaling_keeps_square_pixels() {
        let s = item_sprite(&item(
            ItemType::Tool,
            Rarity::Mythic,
            40,
            0,
            400,
            Traits::NONE,
        ));
        let big = s.scaled(8);
        assert_eq!((big.width, big.height), (256, 256));
        assert_eq!(big.pixel(8 * 20 + 7, 8 * 9 + 3), s.pixel(20, 9));
        assert_eq!(big.visible_pixels(), s.visible_pixels() * 64);
    }
}
