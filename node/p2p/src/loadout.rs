//! What a player brings into its matches: for each slot the starter kit's
//! item, nothing, or an owned item named by its token id. The choice lives
//! in `<data_dir>/loadout.json` (`cyteria equip` and the window write it), a
//! running node reads it before every search. Each owned item's wear is
//! what the settled batches record for it (`settled-wear.json`, which the
//! wallet's chain follower writes: the wear follows an item bought used,
//! and its repairs) plus what this node's matches not settled yet put on
//! it (`wear.json`), so the node never claims more durability than
//! validators would allow.
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
/// The file the node records the wear of its own matches in, until they settle.
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

/// Each owned item's wear (durability lost since minted or repaired), by
/// token id: the settled ledger's plus what this node's unsettled matches
/// put on it ([`wear_of`]).
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

/// The wear a match put on this node's owned items, from its
/// re-simulation: (token id, durability lost), lost > 0.
pub fn match_wear(report: &MatchReport) -> Vec<([u8; 32], u32)> {
    let (Some(t), Some(outcome)) = (&report.transcript, &report.outcome) else {
        return vec![];
    };
    let (Some(seat), Some(mine)) = (
        t.header.players.get(report.seat),
        outcome.players.get(report.seat),
    ) else {
        return vec![];
    };
    seat.items
        .iter()
        .zip(mine.wear)
        .filter_map(|(id, lost)| Some((*id.as_ref()?, u32::from(lost))))
        .filter(|(_, lost)| *lost > 0)
        .collect()
}

/// What the settled batches say of this wallet's items, as the wallet's
/// chain follower last wrote it in [`SETTLED_WEAR_FILE`] (the node itself
/// reads no chain).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettledWear {
    /// The last epoch folded in.
    pub epoch: u64,
    /// When the follower last caught up with the chain (Unix seconds).
    pub updated: u64,
    /// Each item's wear in the ledger at `epoch`, by token id (hex).
    pub wear: BTreeMap<String, u32>,
    /// Of the matches [`WEAR_FILE`] records, those settled by `epoch`.
    pub settled: Vec<String>,
}

/// A match the node played with owned items and recorded in [`WEAR_FILE`]
/// until a settled batch credits it: the wear it claims on each item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// When the node recorded it (Unix seconds).
    pub at: u64,
    /// Durability lost, by token id (hex).
    pub wear: BTreeMap<String, u32>,
}

/// The file the wallet's chain follower writes what settled batches say
/// of the wallet's items in.
pub const SETTLED_WEAR_FILE: &str = "settled-wear.json";

/// How long a recorded match may go unsettled, while the chain follower
/// keeps up, before the node takes it as refused and stops counting its
/// wear (validators credit a match within a few epochs of its end).
pub const UNSETTLED_AFTER_S: u64 = 10 * 60;

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn parse_id(hex: &str) -> Result<[u8; 32], LoadoutError> {
    match hex.parse()? {
        Choice::Item(id) => Ok(id),
        other => Err(LoadoutError::NotAnItem(other)),
    }
}

/// Of `pending` (by match id), those still to count beside `settled`:
/// not settled, and not left unsettled for [`UNSETTLED_AFTER_S`] while the
/// follower kept up. With no follower (`settled` empty, never updated)
/// every recorded match counts.
fn still_pending<'a>(
    pending: &'a BTreeMap<String, Pending>,
    settled: &'a SettledWear,
) -> impl Iterator<Item = (&'a String, &'a Pending)> {
    pending.iter().filter(move |(m, p)| {
        !settled.settled.contains(m) && settled.updated.saturating_sub(p.at) < UNSETTLED_AFTER_S
    })
}

/// Each item's wear as this node knows it: the settled ledger's (which
/// follows an item bought used, and its repairs), plus what this node's
/// matches since then put on it.
pub fn wear_of(
    settled: &SettledWear,
    pending: &BTreeMap<String, Pending>,
) -> Result<Wear, LoadoutError> {
    let mut wear = Wear::new();
    for (id, w) in &settled.wear {
        wear.insert(parse_id(id)?, *w);
    }
    for (_, p) in still_pending(pending, settled) {
        for (id, w) in &p.wear {
            let e = wear.entry(parse_id(id)?).or_default();
            *e = e.saturating_add(*w);
        }
    }
    Ok(wear)
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
/// reads half a file; two programs writing it never mix their halves).
fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<(), LoadoutError> {
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
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

/// The matches `data_dir` records as not settled yet.
pub fn read_pending(data_dir: &Path) -> Result<BTreeMap<String, Pending>, LoadoutError> {
    read_json(&data_dir.join(WEAR_FILE))
}

/// What the chain follower last wrote in `data_dir` (nothing if it never ran).
pub fn read_settled(data_dir: &Path) -> Result<SettledWear, LoadoutError> {
    read_json(&data_dir.join(SETTLED_WEAR_FILE))
}

/// Saves what the settled batches say (the chain follower does).
pub fn write_settled(data_dir: &Path, s: &SettledWear) -> Result<(), LoadoutError> {
    write_json(&data_dir.join(SETTLED_WEAR_FILE), s)
}

/// Each owned item's wear as `data_dir`'s files know it ([`wear_of`]).
pub fn read_wear(data_dir: &Path) -> Result<Wear, LoadoutError> {
    wear_of(&read_settled(data_dir)?, &read_pending(data_dir)?)
}

/// Records a match's wear in `data_dir`, dropping the matches that have
/// settled since (their wear is in the settled file now) or never will.
pub fn record_wear(data_dir: &Path, report: &MatchReport) -> Result<(), LoadoutError> {
    let lost = match_wear(report);
    if lost.is_empty() {
        return Ok(());
    }
    let settled = read_settled(data_dir)?;
    let pending = read_pending(data_dir)?;
    let mut kept: BTreeMap<String, Pending> = still_pending(&pending, &settled)
        .map(|(m, p)| (m.clone(), p.clone()))
        .collect();
    kept.insert(
        report.match_id.clone(),
        Pending {
            at: now_s(),
            wear: lost
                .into_iter()
                .map(|(id, w)| (Choice::Item(id).to_string(), w))
                .collect(),
        },
    );
    write_json(&data_dir.join(WEAR_FILE), &kept)
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
    fn wear_is_the_settled_ledgers_plus_the_matches_not_settled_yet() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (id_of(blade()), [7; 32]);
        let hex = |id: [u8; 32]| Choice::Item(id).to_string();
        let played = |at, w: &[([u8; 32], u32)]| Pending {
            at,
            wear: w.iter().map(|(id, n)| (hex(*id), *n)).collect(),
        };
        let pending: BTreeMap<String, Pending> = [
            ("m1".to_string(), played(1_000, &[(a, 5)])),
            ("m2".to_string(), played(1_100, &[(a, 3), (b, 1)])),
        ]
        .into();
        write_json(&dir.path().join(WEAR_FILE), &pending).unwrap();
        // No follower: everything the node recorded counts.
        assert_eq!(read_wear(dir.path()).unwrap(), [(a, 8), (b, 1)].into());
        // An item bought with 40 wear, m1 settled: 40 + m2's 3.
        let mut settled = SettledWear {
            epoch: 9,
            updated: 1_200,
            wear: [(hex(a), 40)].into(),
            settled: vec!["m1".into()],
        };
        write_settled(dir.path(), &settled).unwrap();
        assert_eq!(read_wear(dir.path()).unwrap(), [(a, 43), (b, 1)].into());
        // Repaired (0 in the ledger) after m2 settled: nothing left.
        settled.wear.insert(hex(a), 0);
        settled.settled.push("m2".into());
        write_settled(dir.path(), &settled).unwrap();
        assert_eq!(read_wear(dir.path()).unwrap(), [(a, 0)].into());
        // A match never settled while the follower kept up for 10 minutes
        // was refused: its wear is not the item's.
        settled.settled.clear();
        settled.updated = 1_100 + UNSETTLED_AFTER_S;
        write_settled(dir.path(), &settled).unwrap();
        assert_eq!(read_wear(dir.path()).unwrap(), [(a, 0)].into());
        std::fs::write(dir.path().join(SETTLED_WEAR_FILE), "{").unwrap();
        assert!(read_wear(dir.path()).is_err(), "a damaged file is an error");
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
