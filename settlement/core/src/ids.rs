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

/// Why a seat's equipment does not match its token ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EquipError {
    /// A slot holds an item beyond the starter kit and names no token id.
    #[error("a {0} that is not the starter kit's names no token id")]
    NoItemId(&'static str),
    /// A slot's item is not the one its token id encodes (its durability
    /// may be lower: wear).
    #[error("the {0} is not the item its token id encodes")]
    IdMismatch(&'static str),
}

/// Checks a seat's equipment against its token ids: a slot without an id
/// holds the starter kit's item or nothing; a slot with an id holds the
/// item the id encodes, with at most the id's durability. Whether the
/// seat's wallet held the id, and the wear recorded for it, the ledger
/// checks.
pub fn check_equipped(
    loadout: &cyteria_game::inventory::Loadout,
    items: &cyteria_game::transcript::ItemIds,
) -> Result<(), EquipError> {
    let kit = cyteria_game::crafting::starter_loadout();
    let slots = [
        ("weapon", loadout.weapon, kit.weapon),
        ("armor", loadout.armor, kit.armor),
        ("tool", loadout.tool, kit.tool),
    ];
    for ((name, item, starter), id) in slots.into_iter().zip(items) {
        match (item, id) {
            (item, None) if item.is_none() || item == starter => {}
            (_, None) => return Err(EquipError::NoItemId(name)),
            (Some(item), Some(id)) => {
                let Some((minted, _, _)) = decode(U256::from_be_bytes(*id)) else {
                    return Err(EquipError::IdMismatch(name));
                };
                let worn = ItemStats {
                    durability: item.durability,
                    ..minted
                };
                if item != worn || item.durability > minted.durability {
                    return Err(EquipError::IdMismatch(name));
                }
            }
            (None, Some(_)) => return Err(EquipError::IdMismatch(name)),
        }
    }
    Ok(())
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

    #[test]
    fn equipment_is_the_starter_kit_or_what_its_ids_encode() {
        use cyteria_game::inventory::Loadout;
        let kit = starter_loadout();
        let none = [None; 3];
        assert_eq!(check_equipped(&kit, &none), Ok(()));
        assert_eq!(check_equipped(&Loadout::default(), &none), Ok(()));
        let mut sword = kit.weapon.unwrap();
        sword.rarity = Rarity::Epic;
        sword.damage = 60;
        let forged = Loadout {
            weapon: Some(sword),
            ..kit
        };
        assert_eq!(
            check_equipped(&forged, &none),
            Err(EquipError::NoItemId("weapon"))
        );
        let id = encode(&sword, 3, 0).unwrap().to_be_bytes::<32>();
        let owned = [Some(id), None, None];
        assert_eq!(check_equipped(&forged, &owned), Ok(()));
        let mut worn = forged;
        worn.weapon.as_mut().unwrap().durability -= 7;
        assert_eq!(check_equipped(&worn, &owned), Ok(()), "wear is allowed");
        for bad in [
            |s: &mut ItemStats| s.damage += 1,
            |s: &mut ItemStats| s.durability += 1,
            |s: &mut ItemStats| s.rarity = Rarity::Mythic,
        ] {
            let mut l = forged;
            bad(l.weapon.as_mut().unwrap());
            assert_eq!(
                check_equipped(&l, &owned),
                Err(EquipError::IdMismatch("weapon"))
            );
        }
        let empty = Loadout {
            weapon: None,
            ..kit
        };
        assert_eq!(
            check_equipped(&empty, &owned),
            Err(EquipError::IdMismatch("weapon")),
            "an id for an empty slot"
        );
    }
}
