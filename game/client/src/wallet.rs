//! The wallet in the window: what the player's wallet holds and what the
//! market offers (the node's chain index, synced every few seconds), the
//! matches it played followed to their settlement on chain, and the
//! transactions and signed actions the inventory and market screens send.
//!
//! [`run`] is the async shell, on the node's runtime; [`trade_for`] (which
//! key sends what) and the screens' texts are pure and tested.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use cyteria_chain::chain::Chain;
use cyteria_node::content::Content;
use cyteria_node::loadout::{self, Choice};
use cyteria_node::session::MatchContext;
use cyteria_wallet::wear::WearFollower;
use cyteria_wallet::{self as wallet, BindingState, Holdings, Settlements, show_cytr};
use tokio::sync::{mpsc, watch};

/// What the window asks of its wallet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trade {
    /// Bind the game key to the wallet (rewards mint to it).
    Bind,
    /// Ask the validators to craft `recipe` from the ledger's materials.
    Craft {
        /// The recipe's index in the core's recipes.
        recipe: u8,
    },
    /// List one of item `id` at `unit_price` (wei of CYTR).
    List {
        /// The item's token id.
        id: U256,
        /// The price of one, in wei of CYTR.
        unit_price: u128,
    },
    /// Cancel the player's own `listing`.
    Cancel {
        /// The listing to cancel.
        listing: U256,
    },
    /// Buy one from `listing`, paying at most `unit_price`.
    Buy {
        /// The listing to buy from.
        listing: U256,
        /// The most to pay for one, in wei of CYTR.
        unit_price: u128,
    },
    /// Bid `amount` on `lot`.
    Bid {
        /// The auction lot.
        lot: U256,
        /// The bid, in wei of CYTR.
        amount: u128,
    },
    /// Equip item `id` in its slot from the next match on, or, if it is
    /// equipped, put the starter kit's item back.
    Equip {
        /// The item's token id.
        id: U256,
    },
    /// Repair owned item `id` of the wear the ledger records for it, paid
    /// from this key's materials in the ledger.
    Repair {
        /// The item's token id.
        id: U256,
    },
    /// Follow a finished match (hex id) to the batch that settles it.
    Follow {
        /// The match's id, in hex.
        match_id: String,
    },
}

/// What the wallet shows the window.
#[derive(Clone, Debug, Default)]
pub struct WalletView {
    /// None until the index first synced (or with no chain).
    pub holdings: Option<Holdings>,
    /// Whether the game key is bound to this wallet; none until the index first synced.
    pub binding: Option<BindingState>,
    /// Followed match → the epoch whose batch settled it.
    pub settled: BTreeMap<String, u64>,
    /// The trade being sent.
    pub busy: Option<String>,
    /// How the last trade went.
    pub last: Option<String>,
    /// Why there is no wallet, or the last sync's error.
    pub error: Option<String>,
    /// The owned items the loadout file equips.
    pub equipped: Vec<U256>,
    /// The wear this node's matches put on owned items, by token id (the
    /// ledger records the same once they settle).
    pub wear: BTreeMap<U256, u32>,
}

impl WalletView {
    /// A view with no wallet, saying `why`.
    pub fn none(why: impl Into<String>) -> Self {
        WalletView {
            error: Some(why.into()),
            ..WalletView::default()
        }
    }
}

/// How often the index follows the chain.
const SYNC_EVERY: Duration = Duration::from_secs(3);
/// How long one batch's data may take to fetch.
const BATCH_FETCH: Duration = Duration::from_secs(10);
/// The index's directory in the data directory (`cyteria inventory` keeps `index`).
const INDEX: &str = "window-index";

/// Everything the wallet task needs.
pub struct WalletTask {
    /// The node's match context, for binding the game key and crafting.
    pub ctx: MatchContext,
    /// The node's blocks, for fetching the batches that settle followed matches.
    pub content: Content,
    /// The chain, sending as the wallet.
    pub chain: Chain,
    /// The wallet's key, which signs the binding.
    pub signer: PrivateKeySigner,
    /// The node's data directory: the index and the binding file are kept there.
    pub data_dir: PathBuf,
}

/// The wallet's loop: syncs, follows settlements, sends trades one at a time.
pub async fn run(
    t: WalletTask,
    mut trades: mpsc::UnboundedReceiver<Trade>,
    view: watch::Sender<WalletView>,
) {
    let me = t.chain.address;
    let index = match wallet::synced_index(&t.data_dir, INDEX, &t.chain).await {
        Ok(i) => i,
        Err(e) => {
            view.send_replace(WalletView::none(format!("the chain index: {e:#}")));
            return;
        }
    };
    let mut settlements = Settlements::from_now(&index);
    // The wear the settled ledger holds of the wallet's items, for the
    // inventory screen and the loadout the embedded node offers.
    let mut wear = match WearFollower::open(&index.db()) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "the settled wear of items is not followed");
            None
        }
    };
    let mut waiting = BTreeSet::new();
    let mut tick = tokio::time::interval(SYNC_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            trade = trades.recv() => {
                let Some(trade) = trade else { return };
                if let Trade::Follow { match_id } = trade {
                    waiting.insert(match_id);
                } else {
                    view.send_modify(|v| {
                        v.busy = Some(describe(&trade));
                        v.last = None;
                    });
                    let result = send(&t, &trade).await;
                    view.send_modify(|v| {
                        v.busy = None;
                        v.last = Some(match result {
                            Ok(done) => done,
                            Err(e) => format!("{} failed: {e:#}", describe(&trade)),
                        });
                    });
                }
            }
        }
        let synced = index.sync(&t.chain.provider).await;
        settlements
            .follow(&index, &t.content, &waiting, BATCH_FETCH)
            .await;
        if let Some(w) = &mut wear {
            w.follow(&index, &t.content, BATCH_FETCH).await;
            let held = index
                .items_of(me)
                .into_iter()
                .map(|(id, _)| id.to_be_bytes());
            if let Err(e) = w.write(&t.data_dir, held) {
                tracing::warn!(error = %e, "the settled wear of items not written");
            }
        }
        view.send_modify(|v| {
            v.error = synced.err().map(|e| format!("chain sync: {e:#}"));
            v.holdings = Some(Holdings::read(&index, me));
            v.binding = Some(BindingState::read(&t.data_dir, me));
            v.settled = settlements.settled.clone();
            v.equipped = equipped_ids(&t.data_dir);
            v.wear = loadout::read_wear(&t.data_dir)
                .map(|w| {
                    w.into_iter()
                        .map(|(id, n)| (U256::from_be_bytes(id), n))
                        .collect()
                })
                .unwrap_or_default();
        });
    }
}

/// The owned items `data_dir`'s loadout equips (none if it cannot be read).
fn equipped_ids(data_dir: &std::path::Path) -> Vec<U256> {
    loadout::read_choices(data_dir)
        .map(|c| c.ids().map(U256::from_be_bytes).collect())
        .unwrap_or_default()
}

/// Equips `id` in its slot, or unequips it if it is equipped; says what it did.
pub fn toggle_equipped(data_dir: &std::path::Path, id: U256) -> anyhow::Result<String> {
    let Some(stats) = wallet::Held::of(id, U256::from(1)).stats else {
        anyhow::bail!("item {} is not a Cyteria item", short_id(id));
    };
    let choices = loadout::read_choices(data_dir)?;
    let token = id.to_be_bytes::<32>();
    let slot = format!("{:?}", stats.item_type).to_lowercase();
    let (next, done) = if choices.ids().any(|i| i == token) {
        (
            choices.with(stats.item_type, Choice::Starter),
            format!("{slot}: back to the starter kit from the next match"),
        )
    } else {
        (
            choices.with(stats.item_type, Choice::Item(token)),
            format!("{slot}: item {} from the next match", short_id(id)),
        )
    };
    // Refused here (worn out, say) rather than by every validator later.
    next.equipment(&loadout::read_wear(data_dir)?)?;
    loadout::write_choices(data_dir, &next)?;
    Ok(done)
}

fn describe(t: &Trade) -> String {
    match t {
        Trade::Bind => "binding the game key".into(),
        Trade::Craft { recipe } => {
            format!("crafting a {}", wallet::recipe_name(*recipe).unwrap_or("?"))
        }
        Trade::List { id, unit_price } => format!(
            "listing item {} at {} CYTR",
            short_id(*id),
            show_cytr(U256::from(*unit_price))
        ),
        Trade::Cancel { listing } => format!("cancelling listing {listing}"),
        Trade::Buy {
            listing,
            unit_price,
        } => format!(
            "buying from listing {listing} at {} CYTR",
            show_cytr(U256::from(*unit_price))
        ),
        Trade::Bid { lot, amount } => format!(
            "bidding {} CYTR on lot {lot}",
            show_cytr(U256::from(*amount))
        ),
        Trade::Equip { id } => format!("equipping item {}", short_id(*id)),
        Trade::Repair { id } => format!("repairing item {}", short_id(*id)),
        Trade::Follow { match_id } => format!("following match {match_id}"),
    }
}

async fn send(t: &WalletTask, trade: &Trade) -> anyhow::Result<String> {
    Ok(match trade {
        Trade::Bind => {
            let b = wallet::bind(&t.ctx, &t.chain, &t.signer, &t.data_dir).await?;
            format!(
                "bound to {}: the validators record it in their next batch",
                b.wallet
            )
        }
        Trade::Craft { recipe } => {
            let nonce = wallet::craft(
                &t.ctx,
                wallet::deployment(&t.chain),
                &t.data_dir,
                *recipe,
                None,
            )
            .await?;
            format!(
                "craft of a {} sent (nonce {nonce}): it mints with the next batch if the ledger holds the materials",
                wallet::recipe_name(*recipe)?
            )
        }
        Trade::List { id, unit_price } => {
            let listing = t.chain.list(*id, 1, *unit_price).await?;
            // Listed, the market holds it: it no longer plays.
            if loadout::unequip(&t.data_dir, id.to_be_bytes())? {
                format!("listed as listing {listing}, and unequipped")
            } else {
                format!("listed as listing {listing}")
            }
        }
        Trade::Cancel { listing } => {
            t.chain.cancel_listing(*listing).await?;
            format!("listing {listing} cancelled")
        }
        Trade::Buy {
            listing,
            unit_price,
        } => {
            t.chain.buy(*listing, 1, *unit_price).await?;
            format!("bought one from listing {listing}")
        }
        Trade::Bid { lot, amount } => {
            t.chain.bid(*lot, *amount).await?;
            format!("bid placed on lot {lot}")
        }
        Trade::Equip { id } => toggle_equipped(&t.data_dir, *id)?,
        Trade::Repair { id } => {
            let (material, units) = repair_cost(&t.data_dir, *id)?;
            let nonce =
                wallet::repair_item(&t.ctx, wallet::deployment(&t.chain), &t.data_dir, *id, None)
                    .await?;
            format!(
                "repair of item {} sent (nonce {nonce}): {units} {material:?} from the ledger, with the next batch",
                short_id(*id)
            )
        }
        Trade::Follow { .. } => String::new(),
    })
}

/// What repairing `id` costs, by the wear this node knows of: refused
/// here when there is nothing to repair rather than by every validator.
pub fn repair_cost(
    data_dir: &std::path::Path,
    id: U256,
) -> anyhow::Result<(cyteria_game::inventory::Material, u32)> {
    let Some(stats) = wallet::Held::of(id, U256::from(1)).stats else {
        anyhow::bail!("item {} is not a Cyteria item", short_id(id));
    };
    let wear = loadout::read_wear(data_dir)?
        .get(&id.to_be_bytes::<32>())
        .copied()
        .unwrap_or(0);
    anyhow::ensure!(wear > 0, "item {} has no wear to repair", short_id(id));
    Ok((
        cyteria_game::crafting::repair_material(stats.item_type),
        cyteria_game::crafting::repair_units(wear, stats.durability),
    ))
}

/// An item id as the screens write it: its last 6 hex digits.
pub fn short_id(id: U256) -> String {
    let s = format!("{id:x}");
    format!("..{}", &s[s.len().saturating_sub(6)..])
}

/// One line for an item held.
pub fn item_line(h: &wallet::Held) -> String {
    match &h.stats {
        Some(s) => {
            let traits: Vec<String> = s.traits.iter().map(|t| format!("{t:?}")).collect();
            format!(
                "{:?} {:?} | damage {} defense {} durability {}{} | x{} (batch {})",
                s.rarity,
                s.item_type,
                s.damage,
                s.defense,
                s.durability,
                if traits.is_empty() {
                    String::new()
                } else {
                    format!(" | {}", traits.join(", "))
                },
                h.amount,
                h.batch
            )
        }
        None => format!("item {} x{} (not a Cyteria item)", short_id(h.id), h.amount),
    }
}

/// The rows the market screen's cursor moves over: listings, then lots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    /// A listing, by id.
    Listing(U256),
    /// An auction lot, by id.
    Lot(U256),
}

/// The market screen's rows for `h`: its listings, then its lots.
pub fn market_rows(h: &Holdings) -> Vec<Row> {
    h.listings
        .iter()
        .map(|(id, _)| Row::Listing(*id))
        .chain(h.lots.iter().map(|(id, _)| Row::Lot(*id)))
        .collect()
}

/// A bid's step over the highest bid (or the reserve), in wei: 1 CYTR.
pub const BID_STEP: u128 = 1_000_000_000_000_000_000;

/// The trade a key sends on the inventory or market screen, if any:
/// `cursor` is the row chosen, `price` the listing price in whole CYTR,
/// `recipe` the recipe chosen.
pub fn trade_for(
    screen: crate::screens::Screen,
    key: char,
    h: &Holdings,
    cursor: usize,
    price: u32,
    recipe: u8,
) -> Option<Trade> {
    use crate::screens::Screen;
    match (screen, key) {
        (Screen::Title, 'b') => Some(Trade::Bind),
        (Screen::Inventory, 'c') => Some(Trade::Craft { recipe }),
        (Screen::Inventory, 'e') => h
            .items
            .get(cursor)
            .filter(|i| i.stats.is_some())
            .map(|i| Trade::Equip { id: i.id }),
        (Screen::Inventory, 'f') => h
            .items
            .get(cursor)
            .filter(|i| i.stats.is_some())
            .map(|i| Trade::Repair { id: i.id }),
        (Screen::Inventory, 'l') => h.items.get(cursor).map(|i| Trade::List {
            id: i.id,
            unit_price: u128::from(price) * BID_STEP,
        }),
        (Screen::Market, 'b') => match market_rows(h).get(cursor)? {
            Row::Listing(id) => {
                let (_, l) = h.listings.iter().find(|(i, _)| i == id)?;
                let unit_price = u128::try_from(l.unit_price).ok()?;
                (l.seller != h.wallet).then_some(Trade::Buy {
                    listing: *id,
                    unit_price,
                })
            }
            Row::Lot(_) => None,
        },
        (Screen::Market, 'x') => match market_rows(h).get(cursor)? {
            Row::Listing(id) => {
                let (_, l) = h.listings.iter().find(|(i, _)| i == id)?;
                (l.seller == h.wallet).then_some(Trade::Cancel { listing: *id })
            }
            Row::Lot(_) => None,
        },
        (Screen::Market, 'd') => match market_rows(h).get(cursor)? {
            Row::Lot(id) => {
                let (_, l) = h.lots.iter().find(|(i, _)| i == id)?;
                let floor = if l.bidder.is_some() {
                    l.highest_bid
                } else {
                    l.reserve
                };
                let amount = u128::try_from(floor).ok()?.checked_add(BID_STEP)?;
                (l.seller != h.wallet).then_some(Trade::Bid { lot: *id, amount })
            }
            Row::Listing(_) => None,
        },
        _ => None,
    }
}

/// The inventory screen.
pub fn inventory_text(v: &WalletView, cursor: usize, price: u32, recipe: u8) -> String {
    let mut t = String::from("INVENTORY\n\n");
    let Some(h) = &v.holdings else {
        t += v.error.as_deref().unwrap_or("reading the chain...");
        t += "\n\n[Esc] back";
        return t;
    };
    t += &format!(
        "wallet {} | {} CYTR | staked {}\n\n",
        h.wallet,
        show_cytr(h.cytr),
        show_cytr(h.staked)
    );
    if h.items.is_empty() {
        t += "no items yet: rewards mint when the validators settle your matches\n";
    }
    for (i, item) in h.items.iter().enumerate() {
        let mark = if i == cursor { ">" } else { " " };
        let left = match (v.wear.get(&item.id), &item.stats) {
            (Some(w), Some(s)) => format!(
                " | {} durability left",
                u32::from(s.durability).saturating_sub(*w)
            ),
            _ => String::new(),
        };
        let worn = if v.equipped.contains(&item.id) {
            "  [equipped]"
        } else {
            ""
        };
        t += &format!("{mark} {}{left}{worn}\n", item_line(item));
    }
    let mine: Vec<_> = h.mine().collect();
    if !mine.is_empty() {
        t += "\nyour listings:\n";
        for (id, l) in mine {
            t += &format!(
                "  listing {id}: item {} x{} at {} CYTR\n",
                short_id(l.id),
                l.amount,
                show_cytr(l.unit_price)
            );
        }
    }
    let name = wallet::recipe_name(recipe).unwrap_or("?");
    t += &format!(
        "\ncraft: {name}  [R] next recipe  [C] craft (from the materials the ledger credits you)\n\
         [Up/Down] choose   [E] equip or unequip it   [F] repair it   [L] list it at {price} CYTR ([-] [+] price)   [M] market   [Esc] back"
    );
    t + &footer(v)
}

/// The market screen.
pub fn market_text(v: &WalletView, cursor: usize) -> String {
    let mut t = String::from("MARKET\n\n");
    let Some(h) = &v.holdings else {
        t += v.error.as_deref().unwrap_or("reading the chain...");
        t += "\n\n[Esc] back";
        return t;
    };
    t += &format!("you have {} CYTR\n\nlistings:\n", show_cytr(h.cytr));
    let rows = market_rows(h);
    if h.listings.is_empty() {
        t += "  none\n";
    }
    for (id, l) in &h.listings {
        let i = rows.iter().position(|r| *r == Row::Listing(*id));
        let mark = if i == Some(cursor) { ">" } else { " " };
        let stats = wallet::Held::of(l.id, l.amount);
        let who = if l.seller == h.wallet {
            "yours".to_string()
        } else {
            format!("by {}", l.seller)
        };
        t += &format!(
            "{mark} listing {id}: {} | {} CYTR each, {who}\n",
            item_line(&stats),
            show_cytr(l.unit_price)
        );
    }
    t += "\nauctions:\n";
    if h.lots.is_empty() {
        t += "  none\n";
    }
    for (id, l) in &h.lots {
        let i = rows.iter().position(|r| *r == Row::Lot(*id));
        let mark = if i == Some(cursor) { ">" } else { " " };
        t += &format!(
            "{mark} lot {id}: item {} x{} | reserve {} | highest bid {} | ends {}\n",
            short_id(l.id),
            l.amount,
            show_cytr(l.reserve),
            show_cytr(l.highest_bid),
            l.ends_at
        );
    }
    t += "\n[Up/Down] choose   [B] buy one   [X] cancel your listing   [D] bid (+1 CYTR)   [I] inventory   [Esc] back";
    t + &footer(v)
}

/// The wallet's line on the title screen.
pub fn title_line(v: Option<&WalletView>) -> String {
    let Some(v) = v else {
        return "wallet: none (offline)".into();
    };
    let Some(h) = &v.holdings else {
        return format!(
            "wallet: {}",
            v.error.as_deref().unwrap_or("reading the chain...")
        );
    };
    let binding = match &v.binding {
        Some(BindingState::Bound) => "game key bound".to_string(),
        Some(BindingState::OtherWallet(w)) => format!("game key bound to another wallet, {w}"),
        Some(BindingState::Damaged(e)) => format!("binding file damaged ({e})"),
        Some(BindingState::Unbound) | None => {
            "game key NOT bound: [B] binds it to this wallet (rewards mint to it)".to_string()
        }
    };
    format!(
        "wallet {} | {} CYTR | {} items\n{binding}",
        h.wallet,
        show_cytr(h.cytr),
        h.items.len()
    ) + &footer(v)
}

/// The results screen's settlement line for `match_id`.
pub fn settlement_line(v: Option<&WalletView>, match_id: &str) -> String {
    match v.and_then(|v| v.settled.get(match_id)) {
        Some(epoch) => {
            format!("settled on chain in batch {epoch}: your rewards are in the inventory [I]")
        }
        None if v.is_some_and(|v| v.holdings.is_some()) => {
            "rewards pending: waiting for the validators to settle this match's batch on chain"
                .into()
        }
        None => "rewards pending (no chain connected to follow them)".into(),
    }
}

fn footer(v: &WalletView) -> String {
    let mut t = String::new();
    if let Some(b) = &v.busy {
        t += &format!("\n\n{b}...");
    }
    if let Some(l) = &v.last {
        t += &format!("\n\n{l}");
    }
    if let (Some(e), Some(_)) = (&v.error, &v.holdings) {
        t += &format!("\n\n{e}");
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screens::Screen;
    use alloy::primitives::Address;
    use cyteria_chain::indexer::{Listing, Lot, LotState};

    fn sample() -> Holdings {
        let me = Address::repeat_byte(1);
        let other = Address::repeat_byte(2);
        let item = U256::from(0xabcdefu64);
        Holdings {
            wallet: me,
            cytr: U256::from(5) * U256::from(BID_STEP),
            items: vec![wallet::Held {
                id: item,
                amount: U256::from(1),
                stats: None,
                batch: 1,
            }],
            listings: vec![
                (
                    U256::from(1),
                    Listing {
                        seller: other,
                        id: item,
                        amount: U256::from(2),
                        unit_price: U256::from(3) * U256::from(BID_STEP),
                    },
                ),
                (
                    U256::from(2),
                    Listing {
                        seller: me,
                        id: item,
                        amount: U256::from(1),
                        unit_price: U256::from(BID_STEP),
                    },
                ),
            ],
            lots: vec![(
                U256::from(7),
                Lot {
                    seller: other,
                    id: item,
                    amount: U256::from(1),
                    reserve: U256::from(2) * U256::from(BID_STEP),
                    ends_at: 100,
                    highest_bid: U256::ZERO,
                    bidder: None,
                    state: LotState::Open,
                },
            )],
            ..Holdings::default()
        }
    }

    #[test]
    fn keys_send_the_trade_for_the_row_chosen() {
        let h = sample();
        assert_eq!(
            trade_for(Screen::Inventory, 'l', &h, 0, 12, 0),
            Some(Trade::List {
                id: U256::from(0xabcdefu64),
                unit_price: 12 * BID_STEP
            })
        );
        // No item under the cursor: nothing to list.
        assert_eq!(trade_for(Screen::Inventory, 'l', &h, 1, 12, 0), None);
        assert_eq!(
            trade_for(Screen::Inventory, 'c', &h, 0, 12, 2),
            Some(Trade::Craft { recipe: 2 })
        );
        // Someone else's listing is bought at its price; one's own is not.
        assert_eq!(
            trade_for(Screen::Market, 'b', &h, 0, 0, 0),
            Some(Trade::Buy {
                listing: U256::from(1),
                unit_price: 3 * BID_STEP
            })
        );
        assert_eq!(trade_for(Screen::Market, 'b', &h, 1, 0, 0), None);
        // Only one's own listing is cancelled.
        assert_eq!(trade_for(Screen::Market, 'x', &h, 0, 0, 0), None);
        assert_eq!(
            trade_for(Screen::Market, 'x', &h, 1, 0, 0),
            Some(Trade::Cancel {
                listing: U256::from(2)
            })
        );
        // A first bid is the reserve plus a step.
        assert_eq!(
            trade_for(Screen::Market, 'd', &h, 2, 0, 0),
            Some(Trade::Bid {
                lot: U256::from(7),
                amount: 3 * BID_STEP
            })
        );
        assert_eq!(trade_for(Screen::Market, 'd', &h, 0, 0, 0), None);
        assert_eq!(
            trade_for(Screen::Title, 'b', &h, 0, 0, 0),
            Some(Trade::Bind)
        );
        assert_eq!(trade_for(Screen::Match, 'b', &h, 0, 0, 0), None);
        // Only an item whose id carries stats can be equipped.
        assert_eq!(trade_for(Screen::Inventory, 'e', &h, 0, 0, 0), None);
        let mut with_blade = h.clone();
        with_blade.items[0] = wallet::Held::of(blade(), U256::from(1));
        assert_eq!(
            trade_for(Screen::Inventory, 'e', &with_blade, 0, 0, 0),
            Some(Trade::Equip { id: blade() })
        );
    }

    fn blade() -> U256 {
        let stats = cyteria_game::item::ItemStats {
            item_type: cyteria_game::item::ItemType::Weapon,
            rarity: cyteria_game::item::Rarity::Rare,
            damage: 30,
            defense: 0,
            durability: 90,
            traits: cyteria_game::item::Traits::NONE,
        };
        // type | rarity | damage | defense | durability, batch 1, index 0.
        (U256::from(stats.item_type as u8) << 248)
            | (U256::from(stats.rarity as u8) << 240)
            | (U256::from(stats.damage) << 224)
            | (U256::from(stats.durability) << 192)
            | (U256::from(1) << 16)
    }

    #[test]
    fn e_equips_the_chosen_item_in_its_slot_and_again_puts_the_starter_back() {
        let dir = tempfile::tempdir().unwrap();
        let said = toggle_equipped(dir.path(), blade()).unwrap();
        assert!(said.starts_with("weapon: item"), "{said}");
        assert_eq!(equipped_ids(dir.path()), vec![blade()]);
        let e = loadout::read_equipment(dir.path()).unwrap();
        assert_eq!(e.loadout.weapon.map(|w| w.damage), Some(30));
        let v = WalletView {
            holdings: Some(Holdings {
                items: vec![wallet::Held::of(blade(), U256::from(1))],
                ..sample()
            }),
            equipped: equipped_ids(dir.path()),
            wear: [(blade(), 25)].into(),
            ..WalletView::default()
        };
        let inv = inventory_text(&v, 0, 1, 0);
        assert!(inv.contains("[equipped]"), "{inv}");
        assert!(inv.contains("(batch 1) | 65 durability left"), "{inv}");
        toggle_equipped(dir.path(), blade()).unwrap();
        assert!(equipped_ids(dir.path()).is_empty());
        assert_eq!(
            loadout::read_equipment(dir.path()).unwrap(),
            cyteria_game::transcript::Equipment::starter()
        );
        assert!(toggle_equipped(dir.path(), U256::MAX).is_err());
    }

    #[test]
    fn f_repairs_the_chosen_item_for_the_wear_the_ledger_settled() {
        let mut h = sample();
        h.items[0] = wallet::Held::of(blade(), U256::from(1));
        assert_eq!(
            trade_for(Screen::Inventory, 'f', &h, 0, 0, 0),
            Some(Trade::Repair { id: blade() })
        );
        assert_eq!(trade_for(Screen::Market, 'f', &h, 0, 0, 0), None);
        let dir = tempfile::tempdir().unwrap();
        let none = repair_cost(dir.path(), blade()).unwrap_err();
        assert!(none.to_string().contains("no wear to repair"), "{none}");
        let hex = loadout::Choice::Item(blade().to_be_bytes()).to_string();
        loadout::write_settled(
            dir.path(),
            &loadout::SettledWear {
                epoch: 3,
                updated: 1,
                wear: [(hex, 26)].into(),
                settled: vec![],
            },
        )
        .unwrap();
        // 26 points of a weapon's wear: two units of ore.
        assert_eq!(
            repair_cost(dir.path(), blade()).unwrap(),
            (cyteria_game::inventory::Material::Ore, 2)
        );
        assert!(repair_cost(dir.path(), U256::MAX).is_err());
    }

    #[test]
    fn the_screens_show_holdings_listings_and_settlement() {
        let v = WalletView {
            holdings: Some(sample()),
            binding: Some(BindingState::Unbound),
            settled: [("aa".to_string(), 4)].into(),
            ..WalletView::default()
        };
        let inv = inventory_text(&v, 0, 12, 0);
        assert!(inv.contains("> item ..abcdef x1"), "{inv}");
        assert!(
            inv.contains("listing 2: item ..abcdef x1 at 1 CYTR"),
            "{inv}"
        );
        assert!(
            inv.contains("at 12 CYTR") && inv.contains("craft: sword"),
            "{inv}"
        );
        let m = market_text(&v, 2);
        assert!(m.contains("> lot 7"), "{m}");
        assert!(m.contains("3 CYTR each, by 0x0202"), "{m}");
        assert!(m.contains("yours"), "{m}");
        assert!(title_line(Some(&v)).contains("NOT bound"));
        assert!(settlement_line(Some(&v), "aa").contains("batch 4"));
        assert!(settlement_line(Some(&v), "bb").contains("pending"));
        let none = WalletView::none("no chain");
        assert!(inventory_text(&none, 0, 1, 0).contains("no chain"));
        assert!(title_line(Some(&none)).contains("no chain"));
    }
}
