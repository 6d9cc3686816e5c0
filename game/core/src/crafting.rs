//! Crafting: recipes that turn materials into items, the upgrade recipe
//! (three items of one type and rarity → one of the next rarity), repairs.
//!
//! Every roll draws from a 32-byte seed the caller supplies (a validator
//! derives it from the signed action), so the same action gives the same
//! item everywhere. Materials change exactly as the recipe says, or not at all.

use thiserror::Error;

use crate::inventory::{Inventory, InventoryError, Material, Materials};
use crate::item::{ItemStats, ItemType, Rarity, Trait, Traits};
use crate::rng::Rng;

/// A recipe's identifier (its index in [`RECIPES`]).
pub type RecipeId = u8;

/// A crafting recipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recipe {
    /// What the crafted item is called.
    pub name: &'static str,
    /// The type of item it makes.
    pub item_type: ItemType,
    /// Materials it consumes, as `(material, count)` lines.
    pub cost: &'static [(Material, u32)],
    /// Base damage, before rarity scaling and the ±10% roll.
    pub damage: u16,
    /// Base defense, before rarity scaling and the ±10% roll.
    pub defense: u16,
    /// Base durability, before rarity scaling (capped at the rarity's maximum).
    pub durability: u16,
    /// A trait every item of this recipe carries, on top of its rarity's.
    pub signature: Option<Trait>,
}

/// Every recipe of this rules version, indexed by [`RecipeId`].
pub const RECIPES: &[Recipe] = &[
    Recipe {
        name: "sword",
        item_type: ItemType::Weapon,
        cost: &[(Material::Ore, 4), (Material::Wood, 2)],
        damage: 14,
        defense: 0,
        durability: 120,
        signature: None,
    },
    Recipe {
        name: "spear",
        item_type: ItemType::Weapon,
        cost: &[(Material::Wood, 4), (Material::Ore, 2)],
        damage: 11,
        defense: 0,
        durability: 110,
        signature: Some(Trait::Reach),
    },
    Recipe {
        name: "crystal staff",
        item_type: ItemType::Weapon,
        cost: &[
            (Material::Wood, 3),
            (Material::Crystal, 3),
            (Material::Essence, 1),
        ],
        damage: 12,
        defense: 0,
        durability: 90,
        signature: Some(Trait::Burn),
    },
    Recipe {
        name: "leather armor",
        item_type: ItemType::Armor,
        cost: &[(Material::Hide, 5)],
        damage: 0,
        defense: 6,
        durability: 120,
        signature: None,
    },
    Recipe {
        name: "plate armor",
        item_type: ItemType::Armor,
        cost: &[(Material::Ore, 6), (Material::Hide, 2)],
        damage: 0,
        defense: 10,
        durability: 140,
        signature: None,
    },
    Recipe {
        name: "pickaxe",
        item_type: ItemType::Tool,
        cost: &[(Material::Wood, 2), (Material::Stone, 3)],
        damage: 8,
        defense: 0,
        durability: 100,
        signature: None,
    },
    Recipe {
        name: "hatchet",
        item_type: ItemType::Tool,
        cost: &[(Material::Wood, 3), (Material::Stone, 1)],
        damage: 6,
        defense: 0,
        durability: 120,
        signature: Some(Trait::Quick),
    },
];

/// The starting kit every new player receives (common, no traits).
pub fn starter_loadout() -> crate::inventory::Loadout {
    let plain = |r: &Recipe| ItemStats {
        item_type: r.item_type,
        rarity: Rarity::Common,
        damage: r.damage,
        defense: r.defense,
        durability: r.durability,
        traits: Traits::NONE,
    };
    crate::inventory::Loadout {
        weapon: Some(plain(&RECIPES[0])),
        armor: Some(plain(&RECIPES[3])),
        tool: Some(plain(&RECIPES[5])),
    }
}

/// Why crafting, an upgrade or a repair failed (in which case nothing changed).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CraftError {
    /// No recipe has this id.
    #[error("unknown recipe {0}")]
    UnknownRecipe(RecipeId),
    /// An inventory error: materials short, or no item at an index.
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// The three items differ in type or rarity.
    #[error("an upgrade needs three items of one type and rarity")]
    MismatchedUpgrade,
    /// The items are mythic already, the highest rarity.
    #[error("mythic items cannot be upgraded further")]
    AlreadyMythic,
    /// The same bag index was given twice.
    #[error("an upgrade takes three distinct items")]
    RepeatedItem,
    /// The item is already at its rarity's maximum durability.
    #[error("the item is already at full durability")]
    NothingToRepair,
}

/// Rarity odds of a crafted item, per mille: 55%, 27%, 12%, 5%, 1%.
const CRAFT_RARITY_WEIGHTS: [u32; 5] = [550, 270, 120, 50, 10];

/// Rolls an item of `ty` and `rarity` from base stats: each stat scaled by the
/// rarity and varied ±10%, `rarity.trait_slots()` distinct traits drawn from
/// the type's table, plus `signature`.
pub fn roll_stats(
    ty: ItemType,
    rarity: Rarity,
    base: (u16, u16, u16),
    signature: Option<Trait>,
    rng: &mut Rng,
) -> ItemStats {
    let pct = rarity.stat_percent();
    let mut stat = |b: u16| -> u16 {
        if b == 0 {
            return 0;
        }
        let v = u32::from(b) * pct / 100 * (90 + rng.below(21)) / 100;
        v.clamp(1, u32::from(u16::MAX)) as u16
    };
    let damage = stat(base.0);
    let defense = stat(base.1);
    let durability = (u32::from(base.2) * pct / 100).min(u32::from(rarity.max_durability())) as u16;
    let mut traits = Traits::NONE;
    if let Some(t) = signature {
        traits.set(t);
    }
    let pool = Trait::for_type(ty);
    let mut wanted = rarity.trait_slots();
    while wanted > 0 && pool.iter().any(|p| !traits.has(*p)) {
        let t = pool[rng.below(pool.len() as u32) as usize];
        if !traits.has(t) {
            traits.set(t);
            wanted -= 1;
        }
    }
    ItemStats {
        item_type: ty,
        rarity,
        damage,
        defense,
        durability,
        traits,
    }
}

/// Rolls a loot item: a random recipe's base stats at `rarity`.
pub fn roll_loot(rarity: Rarity, rng: &mut Rng) -> ItemStats {
    let r = &RECIPES[rng.below(RECIPES.len() as u32) as usize];
    roll_stats(
        r.item_type,
        rarity,
        (r.damage, r.defense, r.durability),
        r.signature,
        rng,
    )
}

/// Crafts `recipe` from `materials` with the caller's `seed`: takes exactly the
/// recipe's cost and returns the item, or changes nothing and errs.
pub fn craft(
    materials: &mut Materials,
    recipe: RecipeId,
    seed: [u8; 32],
) -> Result<ItemStats, CraftError> {
    let r = RECIPES
        .get(usize::from(recipe))
        .ok_or(CraftError::UnknownRecipe(recipe))?;
    materials.check(r.cost)?;
    let mut rng = Rng::from_seed32(seed);
    let rarity = Rarity::ALL[rng.weighted(&CRAFT_RARITY_WEIGHTS)];
    let item = roll_stats(
        r.item_type,
        rarity,
        (r.damage, r.defense, r.durability),
        r.signature,
        &mut rng,
    );
    materials.take(r.cost)?;
    Ok(item)
}

/// The upgrade recipe: three items of one type and rarity become one of the
/// next rarity. Stats: the best of the three, scaled by the rarity step, ±5%;
/// durability restored to the new rarity's scale; traits: the inputs' traits
/// (lowest bits first) up to the new rarity's slots, the rest drawn anew.
pub fn upgrade(items: [ItemStats; 3], seed: [u8; 32]) -> Result<ItemStats, CraftError> {
    let [a, b, c] = items;
    if a.item_type != b.item_type
        || a.item_type != c.item_type
        || a.rarity != b.rarity
        || a.rarity != c.rarity
    {
        return Err(CraftError::MismatchedUpgrade);
    }
    let next = a.rarity.next().ok_or(CraftError::AlreadyMythic)?;
    let mut rng = Rng::from_seed32(seed);
    let (from, to) = (a.rarity.stat_percent(), next.stat_percent());
    let mut scale = |v: u16| -> u16 {
        if v == 0 {
            return 0;
        }
        (u32::from(v) * to / from * (95 + rng.below(11)) / 100).clamp(1, u32::from(u16::MAX)) as u16
    };
    let damage = scale(a.damage.max(b.damage).max(c.damage));
    let defense = scale(a.defense.max(b.defense).max(c.defense));
    let durability = next.max_durability() * 3 / 4;
    let mut traits = Traits::NONE;
    let mut union = a.traits;
    for t in b.traits.iter().chain(c.traits.iter()) {
        union.set(t);
    }
    for t in union.iter().take(next.trait_slots()) {
        traits.set(t);
    }
    let pool = Trait::for_type(a.item_type);
    while traits.count() < next.trait_slots() && !pool.iter().all(|p| traits.has(*p)) {
        traits.set(pool[rng.below(pool.len() as u32) as usize]);
    }
    Ok(ItemStats {
        item_type: a.item_type,
        rarity: next,
        damage,
        defense,
        durability,
        traits,
    })
}

/// The material a repair of `ty` consumes, one unit per 25 durability.
pub fn repair_material(ty: ItemType) -> Material {
    match ty {
        ItemType::Weapon => Material::Ore,
        ItemType::Armor => Material::Hide,
        ItemType::Tool => Material::Wood,
    }
}

/// Durability one unit of repair material restores.
pub const REPAIR_PER_UNIT: u16 = 25;

/// Units of [`repair_material`] that repair `wear` recorded against an
/// owned item of `durability`: one per 25 points, rounded up, never for
/// more wear than the item had durability.
pub fn repair_units(wear: u32, durability: u16) -> u32 {
    wear.min(u32::from(durability))
        .div_ceil(u32::from(REPAIR_PER_UNIT))
}

/// Repairs `item` to its rarity's maximum durability, paying one unit of
/// [`repair_material`] per 25 points (rounded up). Returns the units spent.
pub fn repair(materials: &mut Materials, item: &mut ItemStats) -> Result<u32, CraftError> {
    let max = item.rarity.max_durability();
    if item.durability >= max {
        return Err(CraftError::NothingToRepair);
    }
    let units = u32::from((max - item.durability).div_ceil(REPAIR_PER_UNIT));
    materials.take(&[(repair_material(item.item_type), units)])?;
    item.durability = max;
    Ok(units)
}

impl Inventory {
    /// Crafts `recipe` into the bag.
    pub fn craft(&mut self, recipe: RecipeId, seed: [u8; 32]) -> Result<ItemStats, CraftError> {
        let item = craft(&mut self.materials, recipe, seed)?;
        self.items.push(item);
        Ok(item)
    }

    /// Upgrades the three bag items at `indices` into one.
    pub fn upgrade(
        &mut self,
        indices: [usize; 3],
        seed: [u8; 32],
    ) -> Result<ItemStats, CraftError> {
        let [i, j, k] = indices;
        if i == j || j == k || i == k {
            return Err(CraftError::RepeatedItem);
        }
        let get = |n: usize| {
            self.items
                .get(n)
                .copied()
                .ok_or(InventoryError::NoSuchItem(n))
        };
        let item = upgrade([get(i)?, get(j)?, get(k)?], seed)?;
        let mut sorted = indices;
        sorted.sort_unstable();
        for n in sorted.into_iter().rev() {
            self.items.remove(n);
        }
        self.items.push(item);
        Ok(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(n: u8) -> [u8; 32] {
        [n; 32]
    }

    #[test]
    fn repair_units_round_up_and_stop_at_the_items_durability() {
        assert_eq!(repair_units(0, 90), 0);
        assert_eq!(repair_units(1, 90), 1);
        assert_eq!(repair_units(25, 90), 1);
        assert_eq!(repair_units(26, 90), 2);
        // Wear past the item's durability costs only what the item had.
        assert_eq!(repair_units(1_000, 90), 4);
    }

    fn rich() -> Materials {
        let mut m = Materials::default();
        for mat in Material::ALL {
            m.add(mat, 100);
        }
        m
    }

    #[test]
    fn craft_takes_exactly_the_recipe_cost() {
        for (id, r) in RECIPES.iter().enumerate() {
            let mut m = rich();
            let item = craft(&mut m, id as u8, seed(1)).unwrap();
            assert_eq!(item.item_type, r.item_type);
            let spent: u32 = r.cost.iter().map(|(_, n)| n).sum();
            assert_eq!(rich().total() - m.total(), u64::from(spent));
            for (mat, n) in r.cost {
                assert_eq!(m.get(*mat), 100 - n);
            }
            if let Some(t) = r.signature {
                assert!(item.has(t));
            }
            assert!(item.traits.count() >= item.rarity.trait_slots());
        }
    }

    #[test]
    fn craft_is_reproducible_from_the_seed() {
        let a = craft(&mut rich(), 0, seed(9)).unwrap();
        let b = craft(&mut rich(), 0, seed(9)).unwrap();
        assert_eq!(a, b);
        let differs = (0..32).any(|n| craft(&mut rich(), 0, seed(n)).unwrap() != a);
        assert!(differs);
    }

    #[test]
    fn craft_without_materials_changes_nothing() {
        let mut m = Materials::default();
        m.add(Material::Ore, 3);
        let e = craft(&mut m, 0, seed(1)).unwrap_err();
        assert!(matches!(
            e,
            CraftError::Inventory(InventoryError::NotEnough { .. })
        ));
        assert_eq!(m.get(Material::Ore), 3);
        assert_eq!(
            craft(&mut m, 200, seed(1)),
            Err(CraftError::UnknownRecipe(200))
        );
    }

    #[test]
    fn rarity_distribution_roughly_follows_the_weights() {
        let mut counts = [0u32; 5];
        for n in 0..2000u32 {
            let mut s = [0u8; 32];
            s[..4].copy_from_slice(&n.to_le_bytes());
            counts[craft(&mut rich(), 0, s).unwrap().rarity as usize] += 1;
        }
        assert!(counts[0] > 900 && counts[0] < 1300, "{counts:?}");
        assert!(counts[4] < 60, "{counts:?}");
        assert!(counts[3] > 40, "{counts:?}");
    }

    #[test]
    fn upgrade_needs_three_matching_items_and_raises_rarity() {
        let base = roll_stats(
            ItemType::Weapon,
            Rarity::Rare,
            (14, 0, 120),
            None,
            &mut Rng::new(1, "t"),
        );
        let up = upgrade([base, base, base], seed(3)).unwrap();
        assert_eq!(up.rarity, Rarity::Epic);
        assert_eq!(up.item_type, ItemType::Weapon);
        assert!(up.damage >= base.damage);
        assert_eq!(up.traits.count(), Rarity::Epic.trait_slots());
        let mut armor = base;
        armor.item_type = ItemType::Armor;
        assert_eq!(
            upgrade([base, base, armor], seed(3)),
            Err(CraftError::MismatchedUpgrade)
        );
        let mut common = base;
        common.rarity = Rarity::Common;
        assert_eq!(
            upgrade([base, common, base], seed(3)),
            Err(CraftError::MismatchedUpgrade)
        );
        let mut myth = base;
        myth.rarity = Rarity::Mythic;
        assert_eq!(
            upgrade([myth, myth, myth], seed(3)),
            Err(CraftError::AlreadyMythic)
        );
    }

    #[test]
    fn inventory_upgrade_consumes_three_items() {
        let base = roll_stats(
            ItemType::Tool,
            Rarity::Common,
            (8, 0, 100),
            None,
            &mut Rng::new(2, "t"),
        );
        let mut inv = Inventory {
            items: vec![base, base, base, base],
            ..Default::default()
        };
        assert_eq!(
            inv.upgrade([0, 0, 1], seed(1)),
            Err(CraftError::RepeatedItem)
        );
        assert!(inv.upgrade([0, 1, 9], seed(1)).is_err());
        assert_eq!(inv.items.len(), 4);
        let up = inv.upgrade([3, 0, 2], seed(1)).unwrap();
        assert_eq!(inv.items.len(), 2);
        assert_eq!(inv.items[1], up);
        assert_eq!(up.rarity, Rarity::Uncommon);
    }

    #[test]
    fn repair_costs_material_per_25_points() {
        let mut item = starter_loadout().weapon.unwrap();
        item.durability = 0;
        let mut m = Materials::default();
        m.add(Material::Ore, 5);
        assert!(repair(&mut m, &mut item).is_err());
        assert_eq!(item.durability, 0);
        m.add(Material::Ore, 1);
        assert_eq!(repair(&mut m, &mut item), Ok(6));
        assert_eq!(item.durability, Rarity::Common.max_durability());
        assert_eq!(m.get(Material::Ore), 0);
        assert_eq!(repair(&mut m, &mut item), Err(CraftError::NothingToRepair));
    }
}
