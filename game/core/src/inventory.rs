//! Materials as counted stacks, equipment slots, and a player's inventory.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::item::{ItemStats, ItemType};

/// A crafting material.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum Material {
    /// Gathered from trees.
    Wood = 0,
    /// Gathered from boulders.
    Stone = 1,
    /// Gathered from ore veins; brutes drop it too.
    Ore = 2,
    /// Gathered from crystal nodes; shooters drop it too.
    Crystal = 3,
    /// Dropped by chasers.
    Hide = 4,
    /// Dropped by enemies of every kind.
    Essence = 5,
}

impl Material {
    /// Number of materials.
    pub const COUNT: usize = 6;
    /// Every material, in discriminant order.
    pub const ALL: [Material; Self::COUNT] = [
        Material::Wood,
        Material::Stone,
        Material::Ore,
        Material::Crystal,
        Material::Hide,
        Material::Essence,
    ];

    /// The material's lower-case name, as error messages show it.
    pub fn name(self) -> &'static str {
        ["wood", "stone", "ore", "crystal", "hide", "essence"][self as usize]
    }
}

/// Counted stacks, one per material, in material order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Materials(pub [u32; Material::COUNT]);

/// Why an inventory operation failed.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum InventoryError {
    /// A cost needs more of a material than is held.
    #[error("not enough {material}: have {have}, need {need}")]
    NotEnough {
        /// Name of the material that is short.
        material: &'static str,
        /// Count held.
        have: u32,
        /// Count the cost needs (its lines for this material summed).
        need: u32,
    },
    /// No carried item at this index.
    #[error("no item at inventory index {0}")]
    NoSuchItem(usize),
    /// A cost's lines for one material add up past `u32::MAX`.
    #[error("material count overflows")]
    Overflow,
}

impl Materials {
    /// Count held of `m`.
    pub fn get(&self, m: Material) -> u32 {
        self.0[m as usize]
    }

    /// Adds `n` of `m`, saturating at `u32::MAX`.
    pub fn add(&mut self, m: Material, n: u32) {
        let slot = &mut self.0[m as usize];
        *slot = slot.saturating_add(n);
    }

    /// Whether every `(material, count)` of `cost` is held.
    pub fn check(&self, cost: &[(Material, u32)]) -> Result<(), InventoryError> {
        let mut need = [0u32; Material::COUNT];
        for (m, n) in cost {
            need[*m as usize] = need[*m as usize]
                .checked_add(*n)
                .ok_or(InventoryError::Overflow)?;
        }
        for m in Material::ALL {
            let (have, need) = (self.get(m), need[m as usize]);
            if have < need {
                return Err(InventoryError::NotEnough {
                    material: m.name(),
                    have,
                    need,
                });
            }
        }
        Ok(())
    }

    /// Takes all of `cost` or, if anything is missing, nothing.
    pub fn take(&mut self, cost: &[(Material, u32)]) -> Result<(), InventoryError> {
        self.check(cost)?;
        for (m, n) in cost {
            self.0[*m as usize] -= n;
        }
        Ok(())
    }

    /// Count of all materials together.
    pub fn total(&self) -> u64 {
        self.0.iter().map(|n| u64::from(*n)).sum()
    }
}

/// What a player has equipped: one weapon, one armor, one tool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Loadout {
    /// The equipped weapon, used for melee swings and bolts.
    pub weapon: Option<ItemStats>,
    /// The equipped armor, whose defense reduces damage taken.
    pub armor: Option<ItemStats>,
    /// The equipped tool, needed for gathering.
    pub tool: Option<ItemStats>,
}

impl Loadout {
    /// The slot that holds items of type `ty`.
    pub fn slot(&self, ty: ItemType) -> &Option<ItemStats> {
        match ty {
            ItemType::Weapon => &self.weapon,
            ItemType::Armor => &self.armor,
            ItemType::Tool => &self.tool,
        }
    }

    /// The slot that holds items of type `ty`, mutably.
    pub fn slot_mut(&mut self, ty: ItemType) -> &mut Option<ItemStats> {
        match ty {
            ItemType::Weapon => &mut self.weapon,
            ItemType::Armor => &mut self.armor,
            ItemType::Tool => &mut self.tool,
        }
    }

    /// The item in `ty`'s slot if it is there and not broken.
    pub fn working(&self, ty: ItemType) -> Option<&ItemStats> {
        self.slot(ty).as_ref().filter(|i| !i.is_broken())
    }

    /// Whether every equipped item is in the slot of its type.
    pub fn is_consistent(&self) -> bool {
        ItemType::ALL
            .iter()
            .all(|ty| self.slot(*ty).is_none_or(|i| i.item_type == *ty))
    }
}

/// A player's belongings outside a match: materials, carried items, and the
/// equipped loadout.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// Counted stacks of materials.
    pub materials: Materials,
    /// Carried items that are not equipped (the bag).
    pub items: Vec<ItemStats>,
    /// The equipped loadout, what the player takes into a match.
    pub equipped: Loadout,
}

impl Inventory {
    /// Equips carried item `index`; the item it replaces goes back to the bag.
    pub fn equip(&mut self, index: usize) -> Result<(), InventoryError> {
        if index >= self.items.len() {
            return Err(InventoryError::NoSuchItem(index));
        }
        let item = self.items.remove(index);
        if let Some(old) = self.equipped.slot_mut(item.item_type).replace(item) {
            self.items.push(old);
        }
        Ok(())
    }

    /// Moves the item in `ty`'s slot back into the bag.
    pub fn unequip(&mut self, ty: ItemType) {
        if let Some(old) = self.equipped.slot_mut(ty).take() {
            self.items.push(old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{Rarity, Traits};

    fn sword() -> ItemStats {
        ItemStats {
            item_type: ItemType::Weapon,
            rarity: Rarity::Common,
            damage: 12,
            defense: 0,
            durability: 100,
            traits: Traits::NONE,
        }
    }

    #[test]
    fn take_is_all_or_nothing() {
        let mut m = Materials::default();
        m.add(Material::Wood, 3);
        m.add(Material::Ore, 1);
        let before = m;
        let err = m
            .take(&[(Material::Wood, 2), (Material::Ore, 2)])
            .unwrap_err();
        assert_eq!(
            err,
            InventoryError::NotEnough {
                material: "ore",
                have: 1,
                need: 2
            }
        );
        assert_eq!(m, before);
        m.take(&[(Material::Wood, 2), (Material::Ore, 1)]).unwrap();
        assert_eq!(m.get(Material::Wood), 1);
        assert_eq!(m.get(Material::Ore), 0);
    }

    #[test]
    fn duplicate_cost_lines_are_summed() {
        let mut m = Materials::default();
        m.add(Material::Wood, 3);
        assert!(m.take(&[(Material::Wood, 2), (Material::Wood, 2)]).is_err());
        assert_eq!(m.get(Material::Wood), 3);
    }

    #[test]
    fn equip_swaps_into_the_bag() {
        let mut inv = Inventory {
            items: vec![sword(), sword()],
            ..Default::default()
        };
        inv.items[1].damage = 20;
        inv.equip(0).unwrap();
        assert_eq!(inv.equipped.weapon.unwrap().damage, 12);
        inv.equip(0).unwrap();
        assert_eq!(inv.equipped.weapon.unwrap().damage, 20);
        assert_eq!(inv.items.len(), 1);
        assert_eq!(inv.equip(5), Err(InventoryError::NoSuchItem(5)));
        inv.unequip(ItemType::Weapon);
        assert!(inv.equipped.weapon.is_none());
        assert_eq!(inv.items.len(), 2);
        assert!(inv.equipped.is_consistent());
    }
}
