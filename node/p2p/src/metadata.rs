//! Item metadata in IPFS: for every item a batch mints, a sprite PNG drawn
//! from its stats (`cyteria_game::sprite`) and a metadata JSON in the
//! ERC-1155 / OpenSea form that names every stat and trait, in one UnixFS
//! directory per batch (`<index>.json`, `<index>.png`). The directory's CID
//! is part of the batch the validators sign, and `Settlement` records it, so
//! `CyteriaItems.uri(id)` is `ipfs://<directory>/<index>.json`.
//!
//! Every validator builds the directory itself from the items it minted and
//! must arrive at the same CID: everything here is a pure function of the
//! items, and the test `published_bytes_are_fixed` pins the bytes (a
//! dependency update that changed them would split validators).

use alloy::primitives::U256;
use cyteria_game::item::{ItemStats, ItemType, Rarity};
use cyteria_game::sprite;
use cyteria_settlement::ids;
use cyteria_settlement::proposal::MintedItem;
use ipld_core::cid::Cid;
use rust_ipfs::unixfs::ll::dir::builder::{BufferingTreeBuilder, TreeOptions};
use serde::Serialize;

use crate::content::{Content, ContentError, cid_of};

/// Each sprite pixel becomes a square of this many pixels in the PNG (32 × 8 = 256).
pub const SPRITE_SCALE: usize = 8;

/// The metadata of one item, in the order the JSON lists its fields.
#[derive(Clone, Debug, Serialize)]
pub struct ItemMetadata {
    /// Rarity and shape, then "of" and its traits when it has any ("Rare Sword of ...").
    pub name: String,
    /// One sentence naming the item's stats, traits, batch and index.
    pub description: String,
    /// `ipfs://<CID of the sprite PNG>`.
    pub image: String,
    /// ERC-1155: items are whole.
    pub decimals: u8,
    /// OpenSea's background colour, hex without `#`.
    pub background_color: &'static str,
    /// OpenSea's attributes: every stat and every trait.
    pub attributes: Vec<Attribute>,
    /// ERC-1155's properties: the raw values, as `CyteriaItems.itemStats` returns them.
    pub properties: Properties,
}

/// One OpenSea attribute: a stat or a trait.
#[derive(Clone, Debug, Serialize)]
pub struct Attribute {
    /// The attribute's name: "Type", "Rarity", "Damage", "Defense", "Durability" or "Trait".
    pub trait_type: &'static str,
    /// Its value: a name or a number.
    pub value: serde_json::Value,
    /// `"number"` for numeric stats; left out otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_type: Option<&'static str>,
    /// The highest value the stat can take (durability only); left out otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_value: Option<u16>,
}

/// The item's raw on-chain values, under ERC-1155's `properties`.
#[derive(Clone, Debug, Serialize)]
pub struct Properties {
    /// The token id, as `0x` and 64 hex digits.
    pub token_id: String,
    /// The item type's number.
    pub item_type: u8,
    /// The rarity's number.
    pub rarity: u8,
    /// Damage stat.
    pub damage: u16,
    /// Defense stat.
    pub defense: u16,
    /// Durability, at most the rarity's maximum.
    pub durability: u16,
    /// The 256-bit trait word, `0x`-prefixed hex.
    pub traits: String,
    /// The names of the traits set in the trait word.
    pub trait_names: Vec<&'static str>,
    /// The settlement batch (epoch) that minted it, and its place in the batch.
    pub batch: u64,
    /// The item's place in its batch.
    pub index: u16,
}

fn type_name(t: ItemType) -> &'static str {
    match t {
        ItemType::Weapon => "Weapon",
        ItemType::Armor => "Armor",
        ItemType::Tool => "Tool",
    }
}

fn shape_name(t: ItemType) -> &'static str {
    match t {
        ItemType::Weapon => "Sword",
        ItemType::Armor => "Breastplate",
        ItemType::Tool => "Pickaxe",
    }
}

fn rarity_name(r: Rarity) -> &'static str {
    match r {
        Rarity::Common => "Common",
        Rarity::Uncommon => "Uncommon",
        Rarity::Rare => "Rare",
        Rarity::Epic => "Epic",
        Rarity::Mythic => "Mythic",
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn number(trait_type: &'static str, v: u16) -> Attribute {
    Attribute {
        trait_type,
        value: v.into(),
        display_type: Some("number"),
        max_value: None,
    }
}

/// The metadata of item `id` with stats `s`, whose sprite is at `image`.
pub fn item_metadata(id: U256, s: &ItemStats, image: &str) -> ItemMetadata {
    let (batch, index) = ids::decode(id).map(|(_, b, i)| (b, i)).unwrap_or_default();
    let traits: Vec<&'static str> = s.traits.iter().map(|t| t.name()).collect();
    let mut name = format!("{} {}", rarity_name(s.rarity), shape_name(s.item_type));
    if !traits.is_empty() {
        name.push_str(" of ");
        name.push_str(
            &traits
                .iter()
                .map(|t| capitalised(t))
                .collect::<Vec<_>>()
                .join(" and "),
        );
    }
    let description = format!(
        "A {} {} from Cyteria: damage {}, defense {}, durability {} of {}{}. Won in play and settled on chain in batch {batch} as item {index}.",
        rarity_name(s.rarity).to_lowercase(),
        type_name(s.item_type).to_lowercase(),
        s.damage,
        s.defense,
        s.durability,
        s.rarity.max_durability(),
        if traits.is_empty() {
            String::new()
        } else {
            format!("; traits: {}", traits.join(", "))
        },
    );
    let mut attributes = vec![
        Attribute {
            trait_type: "Type",
            value: type_name(s.item_type).into(),
            display_type: None,
            max_value: None,
        },
        Attribute {
            trait_type: "Rarity",
            value: rarity_name(s.rarity).into(),
            display_type: None,
            max_value: None,
        },
        number("Damage", s.damage),
        number("Defense", s.defense),
        Attribute {
            trait_type: "Durability",
            value: s.durability.into(),
            display_type: Some("number"),
            max_value: Some(s.rarity.max_durability()),
        },
    ];
    attributes.extend(traits.iter().map(|t| Attribute {
        trait_type: "Trait",
        value: capitalised(t).into(),
        display_type: None,
        max_value: None,
    }));
    ItemMetadata {
        name,
        description,
        image: image.to_string(),
        decimals: 0,
        background_color: "16121c",
        attributes,
        properties: Properties {
            token_id: format!("{id:#066x}"),
            item_type: s.item_type as u8,
            rarity: s.rarity as u8,
            damage: s.damage,
            defense: s.defense,
            durability: s.durability,
            traits: format!(
                "0x{}",
                s.traits
                    .0
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ),
            trait_names: traits,
            batch,
            index,
        },
    }
}

/// The item's sprite as a PNG, `32 × SPRITE_SCALE` pixels square.
pub fn sprite_png(s: &ItemStats) -> Vec<u8> {
    let sprite = sprite::item_sprite(s).scaled(SPRITE_SCALE);
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, sprite.width as u32, sprite.height as u32);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    // Writing into a Vec fails only on a bug (wrong buffer length): the sprite's size is fixed.
    let mut w = enc.write_header().expect("png header into memory");
    w.write_image_data(&sprite.rgba)
        .expect("png data into memory");
    w.finish().expect("png end into memory");
    out
}

/// A batch's metadata directory: its root, and every block in it (the raw
/// files, then the directory node).
#[derive(Clone, Debug)]
pub struct Directory {
    /// The CID of the directory node.
    pub root: Cid,
    /// Each block's CID and bytes, the directory node last.
    pub blocks: Vec<(Cid, Vec<u8>)>,
}

/// Builds the metadata directory of `items` (in mint order), or `None` when there are none.
pub fn directory(items: &[MintedItem]) -> Option<Directory> {
    if items.is_empty() {
        return None;
    }
    let mut opts = TreeOptions::default();
    opts.block_size_limit(Some(crate::content::MAX_BLOCK_BYTES as u64));
    opts.wrap_with_directory();
    let mut tree = BufferingTreeBuilder::new(opts);
    let mut blocks = Vec::with_capacity(items.len() * 2 + 1);
    for it in items {
        let index = ids::decode(it.id).map(|(_, _, i)| i).unwrap_or_default();
        let png = sprite_png(&it.stats);
        let png_cid = cid_of(&png);
        let json = serde_json::to_vec_pretty(&item_metadata(
            it.id,
            &it.stats,
            &format!("ipfs://{png_cid}"),
        ))
        .expect("metadata serialises");
        let json_cid = cid_of(&json);
        // Names are unique per batch (one index each), so the builder cannot refuse them.
        tree.put_link(&format!("{index}.png"), png_cid, png.len() as u64)
            .ok()?;
        tree.put_link(&format!("{index}.json"), json_cid, json.len() as u64)
            .ok()?;
        blocks.push((png_cid, png));
        blocks.push((json_cid, json));
    }
    let mut root = None;
    for node in tree.build() {
        let node = node.ok()?;
        root = Some(node.cid);
        blocks.push((node.cid, node.block.into_vec()));
    }
    Some(Directory {
        root: root?,
        blocks,
    })
}

/// Adds the metadata of `items` to the content store (pinned, the root
/// announced) and returns the directory's CID, or `None` when there are no items.
pub async fn publish(content: &Content, items: &[MintedItem]) -> Result<Option<Cid>, ContentError> {
    let Some(dir) = build(items).await? else {
        return Ok(None);
    };
    content.put_tree(dir.root, dir.blocks).await?;
    Ok(Some(dir.root))
}

/// [`directory`] off the async runtime (drawing and encoding take ~0.3 ms per item).
pub async fn build(items: &[MintedItem]) -> Result<Option<Directory>, ContentError> {
    let items = items.to_vec();
    tokio::task::spawn_blocking(move || directory(&items))
        .await
        .map_err(|e| ContentError::Store(format!("building metadata: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Address;
    use cyteria_game::item::{Trait, Traits};

    fn minted(epoch: u64, n: u16) -> Vec<MintedItem> {
        (0..n)
            .map(|i| {
                let stats = ItemStats {
                    item_type: ItemType::ALL[usize::from(i % 3)],
                    rarity: Rarity::ALL[usize::from(i % 5)],
                    damage: 10 + i,
                    defense: 3 * i,
                    durability: 120 + i,
                    traits: if i % 2 == 0 {
                        Traits::NONE.with(Trait::Sturdy)
                    } else {
                        Traits::NONE
                    },
                };
                MintedItem {
                    to: Address::repeat_byte(1),
                    id: ids::encode(&stats, epoch, i).unwrap(),
                    stats,
                }
            })
            .collect()
    }

    #[test]
    fn metadata_names_every_stat_and_trait() {
        let stats = ItemStats {
            item_type: ItemType::Weapon,
            rarity: Rarity::Epic,
            damage: 41,
            defense: 2,
            durability: 250,
            traits: Traits::NONE.with(Trait::Burn).with(Trait::Critical),
        };
        let id = ids::encode(&stats, 70_000, 9).unwrap();
        let m = serde_json::to_value(item_metadata(id, &stats, "ipfs://bafkimage")).unwrap();
        assert_eq!(m["name"], "Epic Sword of Burn and Critical");
        assert_eq!(m["image"], "ipfs://bafkimage");
        let attr = |t: &str| {
            m["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["trait_type"] == t)
                .map(|a| a["value"].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(attr("Type"), ["Weapon"]);
        assert_eq!(attr("Rarity"), ["Epic"]);
        assert_eq!(attr("Damage"), [41]);
        assert_eq!(attr("Defense"), [2]);
        assert_eq!(attr("Durability"), [250]);
        assert_eq!(attr("Trait"), ["Burn", "Critical"]);
        let p = &m["properties"];
        assert_eq!(
            (p["batch"].as_u64(), p["index"].as_u64()),
            (Some(70_000), Some(9))
        );
        assert_eq!(p["token_id"], format!("{id:#066x}"));
        assert_eq!(p["trait_names"], serde_json::json!(["burn", "critical"]));
    }

    #[test]
    fn sprites_are_pngs_of_the_stats() {
        let items = minted(1, 2);
        let a = sprite_png(&items[0].stats);
        assert!(a.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(a, sprite_png(&items[0].stats));
        assert_ne!(a, sprite_png(&items[1].stats));
        let dec = png::Decoder::new(std::io::Cursor::new(&a))
            .read_info()
            .unwrap();
        assert_eq!((dec.info().width, dec.info().height), (256, 256));
    }

    #[test]
    fn a_batch_directory_lists_every_item_and_is_the_same_everywhere() {
        assert!(directory(&[]).is_none());
        let items = minted(3, 5);
        let d = directory(&items).unwrap();
        assert_eq!(
            d.blocks.len(),
            11,
            "a PNG and a JSON per item, then the directory"
        );
        assert_eq!(d.blocks.last().unwrap().0, d.root);
        assert_eq!(d.root.codec(), 0x70, "a dag-pb directory");
        assert_eq!(directory(&items).unwrap().root, d.root);
        let mut fewer = items.clone();
        fewer.pop();
        assert_ne!(directory(&fewer).unwrap().root, d.root);
        for (cid, bytes) in &d.blocks[..10] {
            assert_eq!(*cid, cid_of(bytes));
        }
        let json: serde_json::Value = serde_json::from_slice(&d.blocks[1].1).unwrap();
        assert_eq!(json["image"], format!("ipfs://{}", d.blocks[0].0));
    }

    #[test]
    fn a_full_batch_fits_one_directory_block() {
        let items = minted(9, cyteria_settlement::proposal::MAX_ITEMS as u16);
        let d = directory(&items).unwrap();
        assert!(d.blocks.last().unwrap().1.len() < crate::content::MAX_BLOCK_BYTES);
    }

    /// The bytes validators publish are part of the protocol: if this fails
    /// after a dependency update, validators on either side would disagree.
    #[test]
    fn published_bytes_are_fixed() {
        let d = directory(&minted(1, 3)).unwrap();
        assert_eq!(
            d.root.to_string(),
            "bafybeiaefisouohtjlxangwzkyhexnpz3d7qfirxfh4lqybqmo4jmccwtu"
        );
    }
}
