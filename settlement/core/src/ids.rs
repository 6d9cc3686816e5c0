//! Item token ids: the stats live in the id (CyteriaItems.encodeId):
//! `type (8) | rarity (8) | damage (16) | defense (16) | durability (16) |
//! traits bits 0..128 | batch (48) | index (16)`. A settled batch's number
//! is its epoch.

use alloy::primitives::U256;
use cyteria_game::item::{ItemStats, ItemType, Rarity, Traits};

/// Trait bits above 128 do not fit in an id.
pub fn traits_fit(t: &Traits) -> bool {
    t.0[..16].iter().all(|b| *b == 0)
}

/// The largest batch number an id holds (48 bits).
pub const MAX_BATCH: u64 = (1 << 48) - 1;

/// The token id of an item minted as `index` of settlement batch `batch`.
pub fn encode(stats: &ItemStats, batch: u64, index: u16) -> Option<U256> {
    if !traits_fit(&stats.traits) || batch > MAX_BATCH {
        return None;
    }
    let traits = U256::from_be_bytes(stats.traits.0);
    let id = (U256::from(stats.item_type as u8) << 248)
        | (U256::from(stats.rarity as u8) << 240)
        | (U256::from(stats.damage) << 224)
        | (U256::from(stats.defense) << 208)
        | (U256::from(stats.durability) << 192)
        | (traits << 64)
        | (U256::from(batch) << 16)
        | U256::from(index);
    Some(id)
}

/// The stats an id carries, or `None` for an id the contract would refuse.
pub fn decode(id: U256) -> Option<(ItemStats, u64, u16)> {
    let b = id.to_be_bytes::<32>();
    let item_type = match b[0] {
        0 => ItemType::Weapon,
        1 => ItemType::Armor,
        2 => ItemType::Tool,
        _ => return None,
    };
    let rarity = match b[1] {
        0 => Rarity::Common,
        1 => Rarity::Uncommon,
        2 => Rarity::Rare,
        3 => Rarity::Epic,
        4 => Rarity::Mythic,
        _ => return None,
    };
    let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
    let mut traits = [0u8; 32];
    let shifted: U256 = id >> 64usize;
    traits[16..32].copy_from_slice(&shifted.to_be_bytes::<32>()[16..32]);
    let stats = ItemStats {
        item_type,
        rarity,
        damage: u16_at(2),
        defense: u16_at(4),
        durability: u16_at(6),
        traits: Traits(traits),
    };
    let mut batch = [0u8; 8];
    batch[2..].copy_from_slice(&b[24..30]);
    Some((stats, u64::from_be_bytes(batch), u16_at(30)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cyteria_game::crafting::starter_loadout;

    #[test]
    fn ids_round_trip_and_carry_every_stat() {
        let l = starter_loadout();
        for item in [l.weapon, l.armor, l.tool].into_iter().flatten() {
            for batch in [7, 70_000, MAX_BATCH] {
                let id = encode(&item, batch, 300).unwrap();
                assert_eq!(decode(id), Some((item, batch, 300)));
            }
        }
        let mut big = l.weapon.unwrap();
        big.traits.0[15] = 1;
        assert_eq!(encode(&big, 0, 0), None);
        assert_eq!(encode(&l.weapon.unwrap(), MAX_BATCH + 1, 0), None);
        assert_eq!(decode(U256::from(9u8) << 248), None);
    }
}
