//! The pictures the window draws, generated here from code: the arena's
//! floor and walls, the players (one colour a seat), the three enemy kinds,
//! bolts, drops and resource nodes. Items use the core's own sprites
//! ([`cyteria_game::sprite::item_sprite`]), the same pixels the marketplace
//! shows. Nothing is loaded from files, so the client ships no asset it
//! might not have the right to.

use bevy::asset::RenderAssetUsages;
use bevy::image::Image;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use cyteria_game::Arena;
use cyteria_game::arena::{HEIGHT, ResourceKind, Tile, WIDTH};
use cyteria_game::state::EnemyKind;

/// RGBA pixels, rows from the top.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pixels {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Four bytes (red, green, blue, alpha) a pixel, row after row.
    pub rgba: Vec<u8>,
}

type Rgba = [u8; 4];

impl Pixels {
    fn new(width: usize, height: usize) -> Self {
        Pixels {
            width,
            height,
            rgba: vec![0; width * height * 4],
        }
    }

    fn set(&mut self, x: usize, y: usize, c: Rgba) {
        if x < self.width && y < self.height {
            let i = (y * self.width + x) * 4;
            self.rgba[i..i + 4].copy_from_slice(&c);
        }
    }

    /// The pixel in column `x` of row `y`.
    pub fn get(&self, x: usize, y: usize) -> Rgba {
        let i = (y * self.width + x) * 4;
        [
            self.rgba[i],
            self.rgba[i + 1],
            self.rgba[i + 2],
            self.rgba[i + 3],
        ]
    }

    /// A filled disc with a one-pixel dark outline.
    fn disc(&mut self, cx: f32, cy: f32, r: f32, fill: Rgba) {
        for y in 0..self.height {
            for x in 0..self.width {
                let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
                let d = (dx * dx + dy * dy).sqrt();
                if d <= r - 1.0 {
                    self.set(x, y, fill);
                } else if d <= r {
                    self.set(x, y, OUTLINE);
                }
            }
        }
    }

    fn rect(&mut self, x0: usize, y0: usize, w: usize, h: usize, c: Rgba) {
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                self.set(x, y, c);
            }
        }
    }

    /// The pixels as a bevy image (sRGB, 8 bits a channel).
    pub fn into_image(self) -> Image {
        Image::new(
            Extent3d {
                width: self.width as u32,
                height: self.height as u32,
                depth_or_array_layers: 1,
            },
            TextureDimension::D2,
            self.rgba,
            TextureFormat::Rgba8UnormSrgb,
            RenderAssetUsages::default(),
        )
    }
}

const OUTLINE: Rgba = [18, 14, 24, 255];

/// Each seat's colour: the HUD and the sprites agree on it.
pub const SEAT_COLOURS: [Rgba; 4] = [
    [70, 160, 255, 255],
    [255, 170, 60, 255],
    [120, 220, 110, 255],
    [230, 110, 230, 255],
];

/// A player: a round body in the seat's colour with a visor that shows
/// which way it faces (the sprite is drawn facing east and rotated).
pub fn player(seat: usize) -> Pixels {
    let mut p = Pixels::new(24, 24);
    p.disc(12.0, 12.0, 10.0, SEAT_COLOURS[seat % 4]);
    p.rect(15, 9, 5, 6, [235, 240, 255, 255]);
    p
}

/// An enemy: chasers are small and red, shooters purple with an eye,
/// brutes large and brown with horns.
pub fn enemy(kind: EnemyKind) -> Pixels {
    match kind {
        EnemyKind::Chaser => {
            let mut p = Pixels::new(20, 20);
            p.disc(10.0, 10.0, 8.0, [210, 60, 60, 255]);
            p.rect(12, 7, 3, 3, [255, 230, 90, 255]);
            p.rect(12, 11, 3, 3, [255, 230, 90, 255]);
            p
        }
        EnemyKind::Shooter => {
            let mut p = Pixels::new(22, 22);
            p.disc(11.0, 11.0, 9.0, [150, 80, 200, 255]);
            p.disc(13.0, 11.0, 4.0, [250, 250, 250, 255]);
            p.rect(13, 10, 3, 3, [20, 20, 30, 255]);
            p
        }
        EnemyKind::Brute => {
            let mut p = Pixels::new(32, 32);
            p.disc(16.0, 16.0, 14.0, [140, 90, 50, 255]);
            p.rect(20, 4, 4, 6, [240, 230, 200, 255]);
            p.rect(20, 22, 4, 6, [240, 230, 200, 255]);
            p
        }
    }
}

/// A bolt: a player's is the shooter's seat colour, an enemy's is hot pink.
pub fn bolt(colour: Rgba) -> Pixels {
    let mut p = Pixels::new(8, 8);
    p.disc(4.0, 4.0, 4.0, colour);
    p
}

/// An enemy bolt's colour: hot pink.
pub const ENEMY_BOLT: Rgba = [255, 60, 140, 255];

/// A material drop: a small gem; an item drop: a glowing chest.
pub fn drop(item: bool) -> Pixels {
    let mut p = Pixels::new(14, 14);
    if item {
        p.rect(1, 3, 12, 9, OUTLINE);
        p.rect(2, 4, 10, 7, [200, 150, 40, 255]);
        p.rect(6, 6, 2, 3, [255, 240, 150, 255]);
    } else {
        p.disc(7.0, 7.0, 5.0, [90, 230, 220, 255]);
    }
    p
}

/// A resource node: a tree, a boulder, an ore vein with gold flecks, a blue crystal.
pub fn resource(kind: ResourceKind) -> Pixels {
    let mut p = Pixels::new(28, 28);
    let (body, fleck) = match kind {
        ResourceKind::Tree => ([60, 140, 60, 255], [110, 70, 35, 255]),
        ResourceKind::Boulder => ([120, 120, 130, 255], [90, 90, 96, 255]),
        ResourceKind::OreVein => ([100, 96, 104, 255], [230, 200, 90, 255]),
        ResourceKind::Crystal => ([90, 140, 250, 255], [220, 240, 255, 255]),
    };
    p.disc(14.0, 14.0, 12.0, body);
    p.rect(9, 10, 3, 3, fleck);
    p.rect(16, 15, 3, 3, fleck);
    p
}

/// The whole arena as one picture, `tile_px` pixels a tile: floor in a
/// checker of two shades, walls and rocks with an edge.
pub fn arena(a: &Arena, tile_px: usize) -> Pixels {
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    let mut p = Pixels::new(w * tile_px, h * tile_px);
    for ty in 0..h {
        for tx in 0..w {
            let (fill, edge) = match a.tile(tx as i32, ty as i32) {
                Tile::Floor if (tx + ty) % 2 == 0 => ([46, 52, 44, 255], None),
                Tile::Floor => ([42, 48, 40, 255], None),
                Tile::Wall => ([70, 64, 86, 255], Some([38, 34, 50, 255])),
                Tile::Rock => ([96, 88, 76, 255], Some([58, 52, 44, 255])),
            };
            p.rect(tx * tile_px, ty * tile_px, tile_px, tile_px, fill);
            if let Some(e) = edge {
                p.rect(tx * tile_px, (ty + 1) * tile_px - 3, tile_px, 3, e);
            }
        }
    }
    p
}

/// An item's picture, from the core's item sprites.
pub fn item(stats: &cyteria_game::ItemStats) -> Pixels {
    let s = cyteria_game::sprite::item_sprite(stats);
    Pixels {
        width: s.width,
        height: s.height,
        rgba: s.rgba,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opaque(p: &Pixels) -> usize {
        p.rgba.chunks(4).filter(|c| c[3] > 0).count()
    }

    #[test]
    fn every_sprite_has_something_drawn_and_seats_differ() {
        for s in 0..4 {
            assert!(opaque(&player(s)) > 100);
        }
        assert_ne!(player(0), player(1));
        for k in [EnemyKind::Chaser, EnemyKind::Shooter, EnemyKind::Brute] {
            assert!(opaque(&enemy(k)) > 100);
        }
        assert!(opaque(&bolt(ENEMY_BOLT)) > 10);
        assert_ne!(drop(true), drop(false));
    }

    #[test]
    fn the_arena_picture_shows_walls_where_the_arena_has_them() {
        let a = Arena::generate(7);
        let p = arena(&a, 8);
        assert_eq!(p.width, WIDTH as usize * 8);
        // the border is wall; the middle of the arena is floor
        assert_eq!(p.get(1, 1), [70, 64, 86, 255]);
        let (cx, cy) = (WIDTH / 2, HEIGHT / 2);
        assert_eq!(a.tile(cx, cy), Tile::Floor);
        let c = p.get(cx as usize * 8 + 1, cy as usize * 8 + 1);
        assert!(c == [46, 52, 44, 255] || c == [42, 48, 40, 255]);
    }
}
