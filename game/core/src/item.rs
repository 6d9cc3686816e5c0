//! Items exactly as the seed defines them: `ItemStats { itemType, rarity,
//! damage, defense, durability, traits }`, and the trait table.
//!
//! The same struct is what `CyteriaItems.itemStats(id)` returns on chain, so
//! the field widths here (u8, u8, u16, u16, u16, 256 bits) are the contract's.

use serde::{Deserialize, Serialize};

/// Item type, as the contract's `uint8 itemType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum ItemType {
    /// Swung in melee; it also sets the damage of bolts.
    Weapon = 0,
    /// Reduces damage taken by its defense.
    Armor = 1,
    /// Gathers materials from resource nodes.
    Tool = 2,
}

impl ItemType {
    /// Every item type, in discriminant order.
    pub const ALL: [ItemType; 3] = [ItemType::Weapon, ItemType::Armor, ItemType::Tool];

    /// The type with discriminant `v` (the contract's `uint8`), if there is one.
    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.get(usize::from(v)).copied()
    }
}

/// Rarity, as the contract's `uint8 rarity` (0–4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum Rarity {
    /// The lowest: no trait slots, 100% stats.
    Common = 0,
    /// One trait slot, 125% stats.
    Uncommon = 1,
    /// Two trait slots, 155% stats.
    Rare = 2,
    /// Three trait slots, 190% stats; its sprite glows.
    Epic = 3,
    /// Four trait slots, 240% stats; the highest rarity, so upgrades stop here.
    Mythic = 4,
}

impl Rarity {
    /// Every rarity, from common to mythic.
    pub const ALL: [Rarity; 5] = [
        Rarity::Common,
        Rarity::Uncommon,
        Rarity::Rare,
        Rarity::Epic,
        Rarity::Mythic,
    ];

    /// The rarity with discriminant `v` (0–4), if there is one.
    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.get(usize::from(v)).copied()
    }

    /// The next rarer rarity; `None` for mythic.
    pub fn next(self) -> Option<Self> {
        Self::from_u8(self as u8 + 1)
    }

    /// Stat multiplier in percent: rarer items hit harder and last longer.
    pub fn stat_percent(self) -> u32 {
        [100, 125, 155, 190, 240][self as usize]
    }

    /// How many traits an item of this rarity carries.
    pub fn trait_slots(self) -> usize {
        self as usize
    }

    /// The most durability an item of this rarity can have (repairs cap here).
    pub fn max_durability(self) -> u16 {
        [150, 200, 260, 330, 420][self as usize]
    }
}

/// A special ability. Each trait is one bit of the 256-bit `traits` word
/// (bit index = discriminant); higher bits are reserved and never set by the
/// rules of this version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Trait {
    /// Heals the wielder for 1/6 of the damage dealt.
    Lifesteal = 0,
    /// Hits set the target burning: 2 damage every 20 ticks for 3 s.
    Burn = 1,
    /// Melee attackers take a third of the armor's defense as damage.
    Thorns = 2,
    /// Moves 20% faster.
    Haste = 3,
    /// 15% chance for a hit to deal double damage.
    Critical = 4,
    /// Melee reach +50%.
    Reach = 5,
    /// Bolts pass through one enemy.
    Piercing = 6,
    /// Regenerates 1 health every second.
    Regeneration = 7,
    /// Gathering yields one extra material.
    Prospector = 8,
    /// Wears at half the rate.
    Sturdy = 9,
    /// Melee hits push enemies away.
    Knockback = 10,
    /// Attacks recover 25% faster.
    Quick = 11,
}

impl Trait {
    /// Every trait of this rules version, in bit order.
    pub const ALL: [Trait; 12] = [
        Trait::Lifesteal,
        Trait::Burn,
        Trait::Thorns,
        Trait::Haste,
        Trait::Critical,
        Trait::Reach,
        Trait::Piercing,
        Trait::Regeneration,
        Trait::Prospector,
        Trait::Sturdy,
        Trait::Knockback,
        Trait::Quick,
    ];

    /// The trait's lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Trait::Lifesteal => "lifesteal",
            Trait::Burn => "burn",
            Trait::Thorns => "thorns",
            Trait::Haste => "haste",
            Trait::Critical => "critical",
            Trait::Reach => "reach",
            Trait::Piercing => "piercing",
            Trait::Regeneration => "regeneration",
            Trait::Prospector => "prospector",
            Trait::Sturdy => "sturdy",
            Trait::Knockback => "knockback",
            Trait::Quick => "quick",
        }
    }

    /// The traits an item of `ty` can roll.
    pub fn for_type(ty: ItemType) -> &'static [Trait] {
        match ty {
            ItemType::Weapon => &[
                Trait::Lifesteal,
                Trait::Burn,
                Trait::Critical,
                Trait::Reach,
                Trait::Piercing,
                Trait::Knockback,
                Trait::Quick,
                Trait::Sturdy,
            ],
            ItemType::Armor => &[
                Trait::Thorns,
                Trait::Haste,
                Trait::Regeneration,
                Trait::Sturdy,
            ],
            ItemType::Tool => &[Trait::Prospector, Trait::Haste, Trait::Sturdy, Trait::Quick],
        }
    }
}

/// The 256-bit trait word (`bytes32 traits` on chain; bit `i` is byte
/// `31 - i / 8`, bit `i % 8`, i.e. the big-endian uint256's bit `i`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Traits(pub [u8; 32]);

impl Traits {
    /// The word with no trait set.
    pub const NONE: Traits = Traits([0; 32]);

    /// Whether trait `t`'s bit is set.
    pub fn has(&self, t: Trait) -> bool {
        let i = t as usize;
        self.0[31 - i / 8] & (1 << (i % 8)) != 0
    }

    /// Sets trait `t`'s bit.
    pub fn set(&mut self, t: Trait) {
        let i = t as usize;
        self.0[31 - i / 8] |= 1 << (i % 8);
    }

    /// This word with trait `t` also set.
    pub fn with(mut self, t: Trait) -> Self {
        self.set(t);
        self
    }

    /// The traits set, in bit order (undefined bits are skipped).
    pub fn iter(&self) -> impl Iterator<Item = Trait> + '_ {
        Trait::ALL.into_iter().filter(|t| self.has(*t))
    }

    /// How many defined traits are set.
    pub fn count(&self) -> usize {
        self.iter().count()
    }

    /// Whether only bits of defined traits are set.
    pub fn is_canonical(&self) -> bool {
        let mut defined = Traits::NONE;
        for t in Trait::ALL {
            defined.set(t);
        }
        self.0
            .iter()
            .zip(defined.0.iter())
            .all(|(a, d)| a & !d == 0)
    }
}

/// An item's stats, field for field the seed's `ItemStats`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ItemStats {
    /// Weapon, armor or tool: the slot the item equips into.
    pub item_type: ItemType,
    /// Rarity: it scales the stats and sets the number of traits.
    pub rarity: Rarity,
    /// A weapon's melee damage (its bolts deal 60%); a tool's shortens its gathering cooldown.
    pub damage: u16,
    /// Armor's defense: damage taken is `raw * 100 / (100 + 4 * defense)`.
    pub defense: u16,
    /// Uses left; an item at 0 is broken and stops working until repaired.
    pub durability: u16,
    /// The 256-bit trait word.
    pub traits: Traits,
}

impl ItemStats {
    /// Whether durability is 0, so the item does not work.
    pub fn is_broken(&self) -> bool {
        self.durability == 0
    }

    /// Whether the item carries trait `t`.
    pub fn has(&self, t: Trait) -> bool {
        self.traits.has(t)
    }

    /// Removes one use (never below zero). With `Sturdy`, `skip` halves the
    /// rate: the caller passes a coin flip from the match generator.
    pub fn wear(&mut self, skip: bool) {
        if self.has(Trait::Sturdy) && skip {
            return;
        }
        self.durability = self.durability.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trait_bits_follow_uint256_bit_order() {
        let t = Traits::NONE.with(Trait::Lifesteal).with(Trait::Quick);
        assert_eq!(t.0[31], 0b0000_0001);
        assert_eq!(t.0[30], 0b0000_1000);
        assert!(t.has(Trait::Quick) && !t.has(Trait::Burn));
        assert_eq!(t.count(), 2);
        assert!(t.is_canonical());
        let mut bad = t;
        bad.0[0] = 0x80;
        assert!(!bad.is_canonical());
    }

    #[test]
    fn wear_never_underflows_and_sturdy_halves_it() {
        let mut i = ItemStats {
            item_type: ItemType::Weapon,
            rarity: Rarity::Common,
            damage: 10,
            defense: 0,
            durability: 1,
            traits: Traits::NONE,
        };
        i.wear(false);
        i.wear(false);
        assert_eq!(i.durability, 0);
        assert!(i.is_broken());
        let mut s = i;
        s.durability = 10;
        s.traits.set(Trait::Sturdy);
        s.wear(true);
        assert_eq!(s.durability, 10);
        s.wear(false);
        assert_eq!(s.durability, 9);
    }
}
