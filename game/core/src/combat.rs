//! Combat rules: damage, mitigation, trait effects on hit, wear.
//!
//! Each function changes only the entities it is given, using the match
//! generator for chances; the simulation calls them in a fixed order.

use crate::geometry::{TILE, Vec2};
use crate::item::{ItemStats, ItemType, Trait};
use crate::rng::Rng;
use crate::state::{Enemy, HitEffects, Player};

/// Damage of a melee swing without a working weapon.
pub const FIST_DAMAGE: u16 = 4;
/// Invulnerability after a hit, ticks.
pub const HURT_TICKS: u8 = 30;
/// Burn: 2 damage every 20 ticks for 3 seconds.
pub const BURN_TICKS: u16 = 180;
/// Ticks between two damage ticks of a burn.
pub const BURN_PERIOD: u16 = 20;
/// Damage a burn deals each period.
pub const BURN_DAMAGE: i32 = 2;
/// Chance of a critical hit with the `Critical` trait, per mille.
pub const CRIT_CHANCE: u32 = 150;
/// Knockback speed given by a `Knockback` hit, sub-units per tick.
pub const KNOCKBACK: i32 = 60;

/// Damage after armor: `raw * 100 / (100 + 4 * defense)`, at least 1.
pub fn mitigate(raw: u16, defense: u16) -> u16 {
    let d = u32::from(raw) * 100 / (100 + 4 * u32::from(defense));
    d.clamp(1, u32::from(u16::MAX)) as u16
}

/// The effects a hit with `weapon` carries.
pub fn effects_of(weapon: Option<&ItemStats>) -> HitEffects {
    let has = |t| weapon.is_some_and(|w| w.has(t));
    HitEffects {
        critical: has(Trait::Critical),
        burn: has(Trait::Burn),
        lifesteal: has(Trait::Lifesteal),
        knockback: has(Trait::Knockback),
    }
}

/// Wears the item in `ty`'s slot by one use, if it is there and working.
pub fn wear(player: &mut Player, ty: ItemType, rng: &mut Rng) {
    if let Some(item) = player
        .equipment
        .slot_mut(ty)
        .as_mut()
        .filter(|i| !i.is_broken())
    {
        // The coin is only drawn for sturdy items, so other items never
        // consume generator state.
        let skip = item.has(Trait::Sturdy) && rng.chance(500);
        item.wear(skip);
    }
}

/// Player `by` hits `enemy` for `base` damage with `fx`; returns the damage
/// dealt. Lifesteal heals the player; burn and knockback mark the enemy.
pub fn hit_enemy(
    enemy: &mut Enemy,
    player: &mut Player,
    by: u8,
    base: u16,
    fx: HitEffects,
    rng: &mut Rng,
) -> u16 {
    let mut dmg = base.max(1);
    if fx.critical && rng.chance(CRIT_CHANCE) {
        dmg = dmg.saturating_mul(2);
    }
    enemy.hp -= i32::from(dmg);
    enemy.last_hit_by = by;
    enemy.flash = 8;
    if fx.burn {
        enemy.burn = BURN_TICKS;
        enemy.burn_by = by;
    }
    if fx.knockback {
        enemy.knock = enemy.pos.sub(player.pos).with_length(KNOCKBACK);
    }
    if fx.lifesteal && !player.downed {
        player.hp = (player.hp + (dmg / 6).max(1)).min(player.max_hp);
    }
    player.rewards.damage_dealt = player.rewards.damage_dealt.saturating_add(u32::from(dmg));
    dmg
}

/// Whether `player` can be hurt right now (not downed, dodging or flashing).
pub fn vulnerable(player: &Player) -> bool {
    !player.downed && player.dodge == 0 && player.cd.hurt == 0
}

/// `player` takes `raw` damage, reduced by working armor, which wears.
/// Returns the damage taken (0 while invulnerable). At 0 health the player
/// is downed.
pub fn hurt_player(player: &mut Player, raw: u16, rng: &mut Rng) -> u16 {
    if !vulnerable(player) {
        return 0;
    }
    let defense = player
        .equipment
        .working(ItemType::Armor)
        .map_or(0, |a| a.defense);
    let dmg = mitigate(raw, defense);
    if defense > 0 {
        wear(player, ItemType::Armor, rng);
    }
    player.hp = player.hp.saturating_sub(dmg);
    player.cd.hurt = HURT_TICKS;
    player.rewards.damage_taken = player.rewards.damage_taken.saturating_add(u32::from(dmg));
    if player.hp == 0 {
        down(player);
    }
    dmg
}

/// Thorns: an enemy that struck `player` in melee takes a third of the
/// armor's defense (at least 1) when the armor has `Thorns`.
pub fn thorns(player: &Player, enemy: &mut Enemy, by: u8) {
    if let Some(a) = player
        .equipment
        .working(ItemType::Armor)
        .filter(|a| a.has(Trait::Thorns))
    {
        enemy.hp -= i32::from((a.defense / 3).max(1));
        enemy.last_hit_by = by;
    }
}

/// Puts a player down: no actions until an ally revives it.
pub fn down(player: &mut Player) {
    player.hp = 0;
    player.downed = true;
    player.revive = 0;
    player.burn = 0;
    player.dodge = 0;
}

/// Whether a target at offset `d` is inside a swing of `reach` towards
/// `facing` (a cone of ±60°).
pub fn in_swing(facing: Vec2, d: Vec2, reach: i32) -> bool {
    if d.len2() > i64::from(reach) * i64::from(reach) {
        return false;
    }
    d == Vec2::ZERO || facing.dot(d) * 2 >= i64::from(d.length()) * i64::from(TILE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crafting::starter_loadout;
    use crate::geometry::DIRS;
    use crate::item::{Rarity, Traits};
    use crate::state::{Act, Cooldowns, EnemyKind, NOBODY, Rewards};

    fn player() -> Player {
        Player {
            pos: Vec2::ZERO,
            facing: 0,
            hp: 100,
            max_hp: 100,
            stamina: 100,
            downed: false,
            revive: 0,
            dodge: 0,
            dodge_dir: 0,
            burn: 0,
            cd: Cooldowns::default(),
            equipment: starter_loadout(),
            rewards: Rewards::default(),
        }
    }

    fn enemy() -> Enemy {
        Enemy {
            id: 1,
            kind: EnemyKind::Chaser,
            pos: Vec2::new(1000, 0),
            hp: 100,
            max_hp: 100,
            damage: 8,
            act: Act::Approach,
            cooldown: 0,
            burn: 0,
            burn_by: NOBODY,
            last_hit_by: NOBODY,
            knock: Vec2::ZERO,
            flash: 0,
        }
    }

    #[test]
    fn armor_mitigates_and_never_below_one() {
        assert_eq!(mitigate(20, 0), 20);
        assert_eq!(mitigate(20, 25), 10);
        assert_eq!(mitigate(1, 1000), 1);
        assert!(mitigate(u16::MAX, 0) == u16::MAX);
    }

    #[test]
    fn hits_wear_armor_grant_iframes_and_down_at_zero() {
        let mut rng = Rng::new(1, "t");
        let mut p = player();
        let dur = p.equipment.armor.unwrap().durability;
        let d = hurt_player(&mut p, 20, &mut rng);
        assert_eq!(d, mitigate(20, 6));
        assert_eq!(p.hp, 100 - d);
        assert_eq!(p.equipment.armor.unwrap().durability, dur - 1);
        assert_eq!(
            hurt_player(&mut p, 20, &mut rng),
            0,
            "invulnerable right after a hit"
        );
        p.cd.hurt = 0;
        p.dodge = 3;
        assert_eq!(hurt_player(&mut p, 20, &mut rng), 0, "dodging");
        p.dodge = 0;
        hurt_player(&mut p, 1000, &mut rng);
        assert!(p.downed && p.hp == 0);
    }

    #[test]
    fn broken_armor_stops_protecting() {
        let mut rng = Rng::new(1, "t");
        let mut p = player();
        p.equipment.armor.as_mut().unwrap().durability = 0;
        assert_eq!(hurt_player(&mut p, 20, &mut rng), 20);
        assert_eq!(p.equipment.armor.unwrap().durability, 0);
    }

    #[test]
    fn traits_take_effect_on_hit() {
        let mut rng = Rng::new(2, "t");
        let mut p = player();
        p.hp = 50;
        let mut e = enemy();
        let fx = HitEffects {
            critical: false,
            burn: true,
            lifesteal: true,
            knockback: true,
        };
        assert_eq!(hit_enemy(&mut e, &mut p, 0, 30, fx, &mut rng), 30);
        assert_eq!(e.hp, 70);
        assert_eq!(p.hp, 55, "lifesteal heals a sixth");
        assert_eq!(e.burn, BURN_TICKS);
        assert_eq!(e.knock, Vec2::new(KNOCKBACK, 0));
        assert_eq!(e.last_hit_by, 0);
        // Critical doubles some hits, never all.
        let crit = HitEffects {
            critical: true,
            ..HitEffects::default()
        };
        let mut doubled = 0;
        for _ in 0..1000 {
            let mut e = enemy();
            if hit_enemy(&mut e, &mut p, 0, 10, crit, &mut rng) == 20 {
                doubled += 1;
            }
        }
        assert!((90..220).contains(&doubled), "{doubled}");
    }

    #[test]
    fn thorns_hurt_melee_attackers() {
        let mut p = player();
        let mut e = enemy();
        thorns(&p, &mut e, 0);
        assert_eq!(e.hp, 100, "plain armor has no thorns");
        let a = p.equipment.armor.as_mut().unwrap();
        a.traits = Traits::NONE.with(Trait::Thorns);
        a.defense = 30;
        thorns(&p, &mut e, 0);
        assert_eq!(e.hp, 90);
    }

    #[test]
    fn swing_cone_covers_front_not_back() {
        assert!(in_swing(DIRS[0], Vec2::new(800, 300), 1500));
        assert!(!in_swing(DIRS[0], Vec2::new(-800, 0), 1500));
        assert!(!in_swing(DIRS[0], Vec2::new(2000, 0), 1500));
        assert!(
            !in_swing(DIRS[0], Vec2::new(300, 900), 1500),
            "beyond 60 degrees"
        );
    }

    #[test]
    fn sturdy_items_wear_about_half_as_fast() {
        let mut rng = Rng::new(3, "t");
        let mut p = player();
        let w = p.equipment.weapon.as_mut().unwrap();
        w.rarity = Rarity::Mythic;
        w.durability = 1000;
        w.traits.set(Trait::Sturdy);
        for _ in 0..400 {
            wear(&mut p, ItemType::Weapon, &mut rng);
        }
        let left = p.equipment.weapon.unwrap().durability;
        assert!((760..840).contains(&left), "{left}");
    }
}
