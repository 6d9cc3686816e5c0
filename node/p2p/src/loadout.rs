//! What a player brings into its matches: for each slot the starter kit's
//! item, nothing, or an owned item named by its token id. The choice lives
//! in `<data_dir>/loadout.json` (`cyteria equip` and the window write it), a
//! running node reads it before every search, and the wear its own matches put on each
//! owned item is kept beside it in `wear.json`, so the node never claims
//! more durability than validators would allow.
//!
//! Whether the wallet holds the ids is the chain's to say: `cyteria equip`
//! checks its index, validators check the block of each match's beacon.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use alloy::primitives::U256;
use cyteria_game::inventory::Loadout;
use cyteria_game::item::{ItemStats, ItemType};
use cyteria_game::transcript::{Equipment, ItemIds};
use cyteria_settlement::ids;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::sync::watch;

use crate::session::MatchReport;

/// What a player equips, as it changes.
pub type EquipmentFeed = watch::Receiver<Equipment>;

/// The file the loadout is chosen in.
pub const LOADOUT_FILE: &str = "loadout.json";
/// The file the node records its own matches' wear in.
pub const WEAR_FILE: &str = "wear.json";

/// What one slot holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Choice {
    /// The starter kit's item, which every player has and no token holds.
    #[default]
    Starter,
    /// Nothing.
    Empty,
    /// The owned item with this token id (big-endian).
    Item([u8; 32]),
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Choice::Starter => f.write_str("starter"),
            Choice::Empty => f.write_str("none"),
            Choice::Item(id) => write!(f, "{:#x}", U256::from_be_bytes(*id)),
        }
    }
}

impl FromStr for Choice {
    type Err = LoadoutError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "starter" => Ok(Choice::Starter),
            "none" => Ok(Choice::Empty),
            id => U256::from_str(id)
                .map(|id| Choice::Item(id.to_be_bytes()))
                .map_err(|_| LoadoutError::NotAChoice(s.to_string())),
        }
    }
}

impl Serialize for Choice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Choice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The three slots' choices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choices {
    /// The weapon.
    #[serde(default)]
    pub weapon: Choice,
    /// The armor.
    #[serde(default)]
    pub armor: Choice,
    /// The tool.
    #[serde(default)]
    pub tool: Choice,
}

/// The wear this node's matches put on each owned item, by token id: what
/// the ledger records once they settle (or less, if one is not credited).
pub type Wear = BTreeMap<[u8; 32], u32>;

/// Why a loadout could not be used.
#[derive(Debug, Error)]
pub enum LoadoutError {
    /// Not `starter`, `none` or a token id.
    #[error("{0:?} is not `starter`, `none` or a token id")]
    NotAChoice(String),
    /// The id encodes no item.
    #[error("{0} is not a Cyteria item id")]
    NotAnItem(Choice),
    /// The id's item goes in another slot.
    #[error("{id} is a {ty:?}, not a {slot}")]
    WrongSlot {
        /// The id.
        id: Choice,
        /// Its item's type.
        ty: ItemType,
        /// The slot it was chosen for.
        slot: &'static str,
    },
    /// No durability left.
    #[error("{0} is worn out (repair it, or equip another)")]
    WornOut(Choice),
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        error: String,
    },
}

impl Choices {
    /// The choices as `(slot name, type, choice)`, in slot order.
    fn slots(&self) -> [(&'static str, ItemType, Choice); 3] {
        [
            ("weapon", ItemType::Weapon, self.weapon),
            ("armor", ItemType::Armor, self.armor),
            ("tool", ItemType::Tool, self.tool),
        ]
    }

    /// The same choices with `choice` in the slot of items of type `ty`.
    pub fn with(mut self, ty: ItemType, choice: Choice) -> Self {
        *match ty {
            ItemType::Weapon => &mut self.weapon,
            ItemType::Armor => &mut self.armor,
            ItemType::Tool => &mut self.tool,
        } = choice;
        self
    }

    /// The token ids chosen, in slot order.
    pub fn ids(&self) -> impl Iterator<Item = [u8; 32]> {
        self.slots().into_iter().filter_map(|(_, _, c)| match c {
            Choice::Item(id) => Some(id),
            _ => None,
        })
    }

    /// What the simulation sees: each owned item with the stats its id
    /// encodes and its durability less the wear `wear` records.
    pub fn equipment(&self, wear: &Wear) -> Result<Equipment, LoadoutError> {
        let kit = cyteria_game::crafting::starter_loadout();
        let mut items: [Option<ItemStats>; 3] = [None; 3];
        let mut ids: ItemIds = Default::default();
        for (i, (slot, ty, choice)) in self.slots().into_iter().enumerate() {
            items[i] = match choice {
                Choice::Starter => *kit.slot(ty),
                Choice::Empty => None,
                Choice::Item(id) => {
                    let (minted, _, _) = ids::decode(U256::from_be_bytes(id))
                        .ok_or(LoadoutError::NotAnItem(choice))?;
                    if minted.item_type != ty {
                        return Err(LoadoutError::WrongSlot {
                            id: choice,
                            ty: minted.item_type,
                            slot,
                        });
                    }
                    let worn = wear.get(&id).copied().unwrap_or(0);
                    let left = u32::from(minted.durability).saturating_sub(worn);
                    if left == 0 {
                        return Err(LoadoutError::WornOut(choice));
                    }
                    ids[i] = Some(id);
                    Some(ItemStats {
                        durability: left as u16,
                        ..minted
                    })
                }
            };
        }
        let [weapon, armor, tool] = items;
        Ok(Equipment {
            loadout: Loadout {
                weapon,
                armor,
                tool,
            },
            items: ids,
        })
    }
}

/// Adds the wear a match put on this node's owned items to `wear`, from its
/// re-simulation; returns whether anything changed.
pub fn add_wear(wear: &mut Wear, report: &MatchReport) -> bool {
    let (Some(t), Some(outcome)) = (&report.transcript, &report.outcome) else {
        return false;
    };
    let (Some(seat), Some(mine)) = (
        t.header.players.get(report.seat),
        outcome.players.get(report.seat),
    ) else {
        return false;
    };
    let mut changed = false;
    for (id, lost) in seat.items.iter().zip(mine.wear) {
        if let (Some(id), true) = (id, lost > 0) {
            let w = wear.entry(*id).or_default();
            *w = w.saturating_add(u32::from(lost));
            changed = true;
        }
    }
    changed
}

fn file_error(path: &Path, e: impl fmt::Display) -> LoadoutError {
    LoadoutError::File {
        path: path.to_path_buf(),
        error: e.to_string(),
    }
}

/// The most a loadout or wear file may hold (a wear record of ~1,000 items).
const MAX_FILE_BYTES: u64 = 128 * 1024;

/// Reads a JSON file, or the default if there is none.
fn read_json<T: Default + serde::de::DeserializeOwned>(path: &Path) -> Result<T, LoadoutError> {
    use std::io::Read as _;
    let read = std::fs::File::open(path).and_then(|f| {
        let mut bytes = vec![];
        f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
        Ok(bytes)
    });
    match read {
        Ok(bytes) if bytes.len() as u64 > MAX_FILE_BYTES => Err(file_error(
            path,
            format!("larger than {} KiB", MAX_FILE_BYTES / 1024),
        )),
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| file_error(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(file_error(path, e)),
    }
}

/// Writes a JSON file whole or not at all (a node reading it never
/// reads half a file).
fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<(), LoadoutError> {
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(v).map_err(|e| file_error(path, e))?;
    std::fs::write(&tmp, bytes).map_err(|e| file_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| file_error(path, e))
}

/// The choices in `data_dir` (the starter kit if none were made).
pub fn read_choices(data_dir: &Path) -> Result<Choices, LoadoutError> {
    read_json(&data_dir.join(LOADOUT_FILE))
}

/// Saves the choices in `data_dir`.
pub fn write_choices(data_dir: &Path, c: &Choices) -> Result<(), LoadoutError> {
    write_json(&data_dir.join(LOADOUT_FILE), c)
}

/// Puts the starter kit's item back in every slot that equips `id` (an
/// item listed, auctioned or given away is no longer held, and a match
/// that brought it would be refused); returns whether one did.
pub fn unequip(data_dir: &Path, id: [u8; 32]) -> Result<bool, LoadoutError> {
    let c = read_choices(data_dir)?;
    let mut next = c;
    for (_, ty, choice) in c.slots() {
        if choice == Choice::Item(id) {
            next = next.with(ty, Choice::Starter);
        }
    }
    if next == c {
        return Ok(false);
    }
    write_choices(data_dir, &next)?;
    Ok(true)
}

/// The wear this node recorded in `data_dir`.
pub fn read_wear(data_dir: &Path) -> Result<Wear, LoadoutError> {
    let by_hex: BTreeMap<String, u32> = read_json(&data_dir.join(WEAR_FILE))?;
    by_hex
        .into_iter()
        .map(|(k, v)| match k.parse()? {
            Choice::Item(id) => Ok((id, v)),
            other => Err(LoadoutError::NotAnItem(other)),
        })
        .collect()
}

/// Adds a match's wear to the record in `data_dir`.
pub fn record_wear(data_dir: &Path, report: &MatchReport) -> Result<(), LoadoutError> {
    let mut wear = read_wear(data_dir)?;
    if add_wear(&mut wear, report) {
        let by_hex: BTreeMap<String, u32> = wear
            .into_iter()
            .map(|(id, w)| (Choice::Item(id).to_string(), w))
            .collect();
        write_json(&data_dir.join(WEAR_FILE), &by_hex)?;
    }
    Ok(())
}

/// The equipment `data_dir`'s files choose.
pub fn read_equipment(data_dir: &Path) -> Result<Equipment, LoadoutError> {
    read_choices(data_dir)?.equipment(&read_wear(data_dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cyteria_game::item::{Rarity, Traits};

    fn id_of(stats: ItemStats) -> [u8; 32] {
        ids::encode(&stats, 3, 1).unwrap().to_be_bytes()
    }

    fn blade() -> ItemStats {
        ItemStats {
            item_type: ItemType::Weapon,
            rarity: Rarity::Epic,
            damage: 40,
            defense: 0,
            durability: 120,
            traits: Traits::NONE,
        }
    }

    #[test]
    fn choices_read_back_from_their_text() {
        let c = Choices::default().with(ItemType::Weapon, Choice::Item(id_of(blade())));
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"armor\":\"starter\""), "{json}");
        assert_eq!(serde_json::from_str::<Choices>(&json).unwrap(), c);
        assert_eq!("none".parse::<Choice>().unwrap(), Choice::Empty);
        assert!("sword".parse::<Choice>().is_err());
        // A missing slot is the starter kit; an unknown one is refused.
        assert_eq!(
            serde_json::from_str::<Choices>("{}").unwrap(),
            Choices::default()
        );
        assert!(serde_json::from_str::<Choices>(r#"{"helmet":"none"}"#).is_err());
    }

    #[test]
    fn an_owned_item_brings_its_ids_stats_less_the_wear_this_node_recorded() {
        let id = id_of(blade());
        let c = Choices::default()
            .with(ItemType::Weapon, Choice::Item(id))
            .with(ItemType::Tool, Choice::Empty);
        let mut wear = Wear::new();
        wear.insert(id, 20);
        let e = c.equipment(&wear).unwrap();
        assert_eq!(
            e.loadout.weapon,
            Some(ItemStats {
                durability: 100,
                ..blade()
            })
        );
        assert_eq!(e.items, [Some(id), None, None]);
        assert_eq!(
            e.loadout.armor,
            cyteria_game::crafting::starter_loadout().armor
        );
        assert_eq!(e.loadout.tool, None);
        // Validators accept what it builds.
        ids::check_equipped(&e.loadout, &e.items).unwrap();
        assert_eq!(
            Choices::default().equipment(&wear).unwrap(),
            Equipment::starter()
        );

        wear.insert(id, 120);
        assert!(matches!(c.equipment(&wear), Err(LoadoutError::WornOut(_))));
        let armor_slot = Choices::default().with(ItemType::Armor, Choice::Item(id));
        assert!(matches!(
            armor_slot.equipment(&Wear::new()),
            Err(LoadoutError::WrongSlot { slot: "armor", .. })
        ));
        let junk = Choices::default().with(ItemType::Weapon, Choice::Item([0xff; 32]));
        assert!(matches!(
            junk.equipment(&Wear::new()),
            Err(LoadoutError::NotAnItem(_))
        ));
    }

    #[test]
    fn files_round_trip_and_a_damaged_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_equipment(dir.path()).unwrap(), Equipment::starter());
        let c = Choices::default().with(ItemType::Weapon, Choice::Item(id_of(blade())));
        write_choices(dir.path(), &c).unwrap();
        assert_eq!(read_choices(dir.path()).unwrap(), c);
        assert!(!unequip(dir.path(), [7; 32]).unwrap(), "not equipped");
        assert!(unequip(dir.path(), id_of(blade())).unwrap());
        assert_eq!(read_choices(dir.path()).unwrap(), Choices::default());
        write_choices(dir.path(), &c).unwrap();
        std::fs::write(dir.path().join(LOADOUT_FILE), "{").unwrap();
        assert!(matches!(
            read_equipment(dir.path()),
            Err(LoadoutError::File { .. })
        ));
        // A huge file is refused before it is read whole.
        let huge = format!("{{\"weapon\":\"{}\"}}", " ".repeat(1 << 20));
        std::fs::write(dir.path().join(LOADOUT_FILE), huge).unwrap();
        let e = read_choices(dir.path()).unwrap_err().to_string();
        assert!(e.contains("larger than 128 KiB"), "{e}");
    }
}
