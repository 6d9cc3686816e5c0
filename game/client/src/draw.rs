//! Draws [`Frames`]: the arena as one picture, and a sprite for every
//! player, enemy, bolt, drop and resource node, placed between the last two
//! ticks. Sprite entities are pooled by kind and reused frame to frame
//! (a match has at most a few hundred things; spawning them anew every frame
//! would churn the ECS for nothing). Hits flash, damage floats up as
//! numbers, and the camera follows the local player.

use std::collections::BTreeMap;

use bevy::prelude::*;
use cyteria_game::arena::ResourceKind;
use cyteria_game::state::{EnemyKind, Loot, Owner};

use crate::interp::{TILE_PX, between, to_world};
use crate::screens::MatchSet;
use crate::sprites;
use crate::view::{self, Frames};

/// The pictures, made once.
#[derive(Resource)]
pub struct Art {
    /// One player picture per seat, in the seat's colour.
    pub players: [Handle<Image>; 4],
    /// One picture per enemy kind.
    pub enemies: BTreeMap<EnemyKind, Handle<Image>>,
    /// Bolts in each seat's colour, then the enemies' bolt.
    pub bolts: [Handle<Image>; 5],
    /// A material drop: a small gem.
    pub drop_material: Handle<Image>,
    /// An item drop: a glowing chest.
    pub drop_item: Handle<Image>,
    /// One picture per resource node kind.
    pub resources: BTreeMap<ResourceKind, Handle<Image>>,
}

/// Makes every picture once, at startup, into the `Art` resource.
pub fn make_art(mut commands: Commands, mut images: ResMut<Assets<Image>>) {
    let mut add = |p: sprites::Pixels| images.add(p.into_image());
    let players = [0, 1, 2, 3].map(|s| add(sprites::player(s)));
    let enemies = [EnemyKind::Chaser, EnemyKind::Shooter, EnemyKind::Brute]
        .into_iter()
        .map(|k| (k, add(sprites::enemy(k))))
        .collect();
    let bolts = [
        sprites::SEAT_COLOURS[0],
        sprites::SEAT_COLOURS[1],
        sprites::SEAT_COLOURS[2],
        sprites::SEAT_COLOURS[3],
        sprites::ENEMY_BOLT,
    ]
    .map(|c| add(sprites::bolt(c)));
    let drop_material = add(sprites::drop(false));
    let drop_item = add(sprites::drop(true));
    let resources = [
        ResourceKind::Tree,
        ResourceKind::Boulder,
        ResourceKind::OreVein,
        ResourceKind::Crystal,
    ]
    .into_iter()
    .map(|k| (k, add(sprites::resource(k))))
    .collect();
    commands.insert_resource(Art {
        players,
        enemies,
        bolts,
        drop_material,
        drop_item,
        resources,
    });
}

/// What a pooled sprite shows.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A player, in its seat's colour.
    Player,
    /// An enemy, by its kind.
    Enemy,
    /// A bolt in flight.
    Bolt,
    /// A drop on the floor: a material or an item.
    Drop,
    /// A resource node with something left to gather.
    Resource,
}

/// The arena picture and the seed it was drawn for.
#[derive(Component)]
pub struct ArenaPicture(pub u64);

/// A floating damage number and its remaining life in seconds.
#[derive(Component)]
pub struct Floater(pub f32);

/// Sprite entities by kind, reused frame to frame.
#[derive(Resource, Default)]
pub struct Pools {
    by_kind: BTreeMap<Kind, Vec<Entity>>,
}

const Z_ARENA: f32 = 0.0;
const Z_RESOURCE: f32 = 1.0;
const Z_DROP: f32 = 2.0;
const Z_ENEMY: f32 = 3.0;
const Z_PLAYER: f32 = 4.0;
const Z_BOLT: f32 = 5.0;
const Z_FLOATER: f32 = 6.0;

/// One sprite to show this frame.
struct Shown {
    image: Handle<Image>,
    at: Vec2,
    z: f32,
    rotation: f32,
    tint: Color,
}

impl Pools {
    /// Shows `items` with the pool of `kind`: reuses its entities, spawns
    /// the missing ones, hides the rest.
    fn show(
        &mut self,
        commands: &mut Commands,
        kind: Kind,
        items: Vec<Shown>,
        sprites: &mut Query<(&mut Sprite, &mut Transform, &mut Visibility), With<Kind>>,
    ) {
        let pool = self.by_kind.entry(kind).or_default();
        for (i, s) in items.iter().enumerate() {
            let transform = Transform::from_xyz(s.at.x, s.at.y, s.z)
                .with_rotation(Quat::from_rotation_z(s.rotation));
            if let Some(&e) = pool.get(i)
                && let Ok((mut sprite, mut t, mut v)) = sprites.get_mut(e)
            {
                if sprite.image != s.image {
                    sprite.image = s.image.clone();
                }
                sprite.color = s.tint;
                *t = transform;
                *v = Visibility::Inherited;
                continue;
            }
            let mut sprite = Sprite::from_image(s.image.clone());
            sprite.color = s.tint;
            let e = commands.spawn((kind, sprite, transform)).id();
            pool.push(e);
        }
        for &e in pool.iter().skip(items.len()) {
            if let Ok((_, _, mut v)) = sprites.get_mut(e) {
                *v = Visibility::Hidden;
            }
        }
    }

    /// Entities in the pool of `kind` (shown or hidden).
    pub fn len(&self, kind: Kind) -> usize {
        self.by_kind.get(&kind).map_or(0, Vec::len)
    }

    /// Whether no pool holds an entity yet.
    pub fn is_empty(&self) -> bool {
        self.by_kind.values().all(Vec::is_empty)
    }
}

/// The facing octant (0 = east, clockwise on screen) as a rotation (radians, counter-clockwise).
fn facing_rotation(octant: u8) -> f32 {
    -(octant as f32) * std::f32::consts::FRAC_PI_4
}

const WHITE: Color = Color::WHITE;

fn hurt_tint(flash: bool) -> Color {
    if flash {
        Color::srgb(1.0, 0.35, 0.35)
    } else {
        WHITE
    }
}

/// Draws the arena when the match (its seed) changes.
pub fn draw_arena(
    mut commands: Commands,
    frames: Res<Frames>,
    mut images: ResMut<Assets<Image>>,
    pictures: Query<(Entity, &ArenaPicture)>,
) {
    if pictures.iter().any(|(_, p)| p.0 == frames.seed) {
        return;
    }
    for (e, _) in &pictures {
        commands.entity(e).despawn();
    }
    let px = TILE_PX as usize;
    let picture = sprites::arena(&frames.arena, px);
    let (w, h) = (picture.width as f32, picture.height as f32);
    let image = images.add(picture.into_image());
    // The picture's top-left corner is the core's origin.
    commands.spawn((
        ArenaPicture(frames.seed),
        Sprite::from_image(image),
        Transform::from_xyz(w / 2.0, -h / 2.0, Z_ARENA),
    ));
}

/// Places every sprite for this frame.
#[allow(clippy::too_many_arguments)]
pub fn draw_things(
    mut commands: Commands,
    frames: Res<Frames>,
    art: Res<Art>,
    mut pools: ResMut<Pools>,
    mut sprites_q: Query<(&mut Sprite, &mut Transform, &mut Visibility), With<Kind>>,
) {
    let (prev, curr, alpha) = (&frames.prev, &frames.curr, frames.alpha());

    let players = curr
        .players
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let from = prev.players.get(i).map_or(p.pos, |q| q.pos);
            let tint = if p.downed {
                Color::srgba(0.5, 0.5, 0.5, 0.7)
            } else if p.dodge > 0 {
                Color::srgba(1.0, 1.0, 1.0, 0.5)
            } else {
                hurt_tint(p.cd.hurt > 0)
            };
            Shown {
                image: art.players[i % 4].clone(),
                at: between(from, p.pos, alpha),
                z: Z_PLAYER,
                rotation: facing_rotation(p.facing),
                tint,
            }
        })
        .collect();
    pools.show(&mut commands, Kind::Player, players, &mut sprites_q);

    // Enemies keep their ids: glide each from where that enemy was.
    let before: BTreeMap<u32, _> = prev.enemies.iter().map(|e| (e.id, e.pos)).collect();
    let enemies = curr
        .enemies
        .iter()
        .map(|e| Shown {
            image: art.enemies[&e.kind].clone(),
            at: between(*before.get(&e.id).unwrap_or(&e.pos), e.pos, alpha),
            z: Z_ENEMY,
            rotation: 0.0,
            tint: hurt_tint(e.flash > 0),
        })
        .collect();
    pools.show(&mut commands, Kind::Enemy, enemies, &mut sprites_q);

    // Bolts have no ids; their velocity says where each was a tick ago.
    let bolts = curr
        .projectiles
        .iter()
        .map(|b| Shown {
            image: match b.owner {
                Owner::Player(s) => art.bolts[(s as usize) % 4].clone(),
                Owner::Enemy => art.bolts[4].clone(),
            },
            at: between(b.pos.sub(b.vel), b.pos, alpha),
            z: Z_BOLT,
            rotation: 0.0,
            tint: WHITE,
        })
        .collect();
    pools.show(&mut commands, Kind::Bolt, bolts, &mut sprites_q);

    let drops = curr
        .drops
        .iter()
        .map(|d| Shown {
            image: match d.loot {
                Loot::Item(_) => art.drop_item.clone(),
                Loot::Material(..) => art.drop_material.clone(),
            },
            at: to_world(d.pos),
            z: Z_DROP,
            rotation: 0.0,
            tint: WHITE,
        })
        .collect();
    pools.show(&mut commands, Kind::Drop, drops, &mut sprites_q);

    let nodes = curr
        .nodes
        .iter()
        .filter(|n| n.remaining > 0)
        .map(|n| Shown {
            image: art.resources[&n.kind].clone(),
            at: to_world(n.pos),
            z: Z_RESOURCE,
            rotation: 0.0,
            tint: WHITE,
        })
        .collect();
    pools.show(&mut commands, Kind::Resource, nodes, &mut sprites_q);
}

/// Floating numbers for the damage each enemy and player took this tick.
pub fn damage_numbers(mut commands: Commands, frames: Res<Frames>, mut last: Local<u32>) {
    if frames.curr.frame == *last {
        return;
    }
    *last = frames.curr.frame;
    let before: BTreeMap<u32, i32> = frames.prev.enemies.iter().map(|e| (e.id, e.hp)).collect();
    let mut hits: Vec<(Vec2, i32, Color)> = vec![];
    for e in &frames.curr.enemies {
        if let Some(&hp) = before.get(&e.id)
            && hp > e.hp
        {
            hits.push((to_world(e.pos), hp - e.hp, Color::srgb(1.0, 0.95, 0.5)));
        }
    }
    for (i, p) in frames.curr.players.iter().enumerate() {
        if let Some(q) = frames.prev.players.get(i)
            && q.hp > p.hp
        {
            hits.push((
                to_world(p.pos),
                i32::from(q.hp - p.hp),
                Color::srgb(1.0, 0.3, 0.3),
            ));
        }
    }
    for (at, amount, colour) in hits {
        commands.spawn((
            Floater(0.6),
            Text2d::new(amount.to_string()),
            TextFont::from_font_size(14.0),
            TextColor(colour),
            Transform::from_xyz(at.x, at.y + 14.0, Z_FLOATER),
        ));
    }
}

/// Floats the damage numbers up and despawns them when their life runs out.
pub fn float_numbers(
    mut commands: Commands,
    time: Res<Time>,
    mut q: Query<(Entity, &mut Floater, &mut Transform)>,
) {
    for (e, mut f, mut t) in &mut q {
        f.0 -= time.delta_secs();
        t.translation.y += 40.0 * time.delta_secs();
        if f.0 <= 0.0 {
            commands.entity(e).despawn();
        }
    }
}

/// The camera eases toward the local player.
pub fn follow(frames: Res<Frames>, mut camera: Query<&mut Transform, With<Camera2d>>) {
    let Some(p) = frames.curr.players.get(frames.seat) else {
        return;
    };
    let from = frames
        .prev
        .players
        .get(frames.seat)
        .map_or(p.pos, |q| q.pos);
    let target = between(from, p.pos, frames.alpha());
    for mut t in &mut camera {
        let at = t.translation.truncate().lerp(target, 0.2);
        t.translation = at.extend(t.translation.z);
    }
}

fn spawn_camera(mut commands: Commands) {
    commands.spawn(Camera2d);
}

/// The arena and everything in it, drawn from the last two frames.
pub struct DrawPlugin;

impl Plugin for DrawPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Pools>()
            .add_systems(Startup, (make_art, spawn_camera))
            .add_systems(Update, view::tick_clock.in_set(MatchSet::Clock))
            .add_systems(
                Update,
                (
                    draw_arena,
                    draw_things,
                    damage_numbers,
                    float_numbers,
                    follow,
                )
                    .chain()
                    .in_set(MatchSet::Draw),
            );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facing_turns_clockwise_on_screen() {
        assert_eq!(facing_rotation(0), 0.0);
        // octant 2 is south: a quarter turn clockwise
        assert!((facing_rotation(2) + std::f32::consts::FRAC_PI_2).abs() < 1e-6);
    }
}
