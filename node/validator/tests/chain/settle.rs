//! Validators on a real anvil with the contracts deployed from Rust: real
//! bot matches between real nodes, transcripts fetched over bitswap by CID,
//! re-simulated, signed by a quorum and settled with their item mints; and
//! cheaters, an equivocating validator and a crashed one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use cyteria_chain::anvil::LocalChain;
use cyteria_chain::chain::Chain;
use cyteria_game::crafting::RECIPES;
use cyteria_game::inventory::Materials;
use cyteria_game::item::ItemStats;
use cyteria_node::adversary::{Adversary, Cheat};
use cyteria_node::identity::Identity;
use cyteria_node::loadout;
use cyteria_node::node::{Node, PlayerConfig};
use cyteria_node::session::SessionConfig;
use cyteria_node::store::Store;
use cyteria_node::wire::ActionMessage;
use cyteria_settlement::action::{Action, SignedAction};
use cyteria_settlement::ids;
use cyteria_validator::ValidatorConfig;
use cyteria_validator::adversary::Fault;
use cyteria_validator::localnet::{self, RunningValidator, ValidatorSetup};
use libp2p::Multiaddr;

use crate::common::*;

fn cytr(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

/// Anvil accounts 1..=3 are the validators (1,000 CYTR staked each); 4.. are players' wallets.
async fn chain_with_validators() -> LocalChain {
    // `RUST_LOG=cyteria_node=info cargo test …` shows what the validators do.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    LocalChain::start_with_validators(3, cytr(1_000), 120)
        .await
        .unwrap()
}

fn fast_validator(fault: Option<Fault>) -> ValidatorConfig {
    ValidatorConfig {
        epoch_interval: Duration::from_millis(500),
        round_timeout: Duration::from_secs(15),
        submit_grace: Duration::from_secs(2),
        fetch_timeout: Duration::from_secs(10),
        poll: Duration::from_millis(250),
        beacon_every: Duration::from_secs(5),
        fault,
    }
}

async fn start_validator(
    chain: &LocalChain,
    account: usize,
    identity: Identity,
    store: Store,
    repo: Option<std::path::PathBuf>,
    bootstrap: Vec<Multiaddr>,
    fault: Option<Fault>,
) -> RunningValidator {
    let setup = ValidatorSetup {
        identity,
        store,
        repo,
        bootstrap,
        config: fast_validator(fault),
        clock: None,
    };
    localnet::start_validator(chain, account, setup)
        .await
        .unwrap()
}

async fn validators(chain: &LocalChain, accounts: &[usize]) -> Vec<RunningValidator> {
    let mut v: Vec<RunningValidator> = vec![];
    for &a in accounts {
        let boot = match v.first() {
            Some(first) => first.node.net().addresses().await,
            None => vec![],
        };
        v.push(
            start_validator(
                chain,
                a,
                Identity::generate(),
                Store::temporary().unwrap(),
                None,
                boot,
                None,
            )
            .await,
        );
    }
    v
}

/// A reader of the chain (anvil account 9, which no test spends from).
async fn reader_of(chain: &LocalChain) -> Chain {
    Chain::connect(&chain.endpoint(), chain.keys[9].clone(), chain.deployment)
        .await
        .unwrap()
}

/// `c` playing from the chain's latest settled epoch, its deployment's
/// beacon (a match from a beacon that names no deployment earns nothing).
async fn from_chain(reader: &Chain, mut c: PlayerConfig) -> PlayerConfig {
    c.beacon = cyteria_node::beacon::fixed(reader.beacon().await.unwrap());
    c
}

/// Waits for the first epoch: the bindings the test sent settle in it.
async fn bindings_settle(reader: &Chain) {
    until("the bindings settle", 60, || async {
        reader.settled_epoch().await.unwrap() >= 1
    })
    .await;
}

async fn until<F, Fut>(what: &str, secs: u64, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn send(node: &Node, m: &ActionMessage) {
    localnet::send_action(node, m).await.unwrap();
}

/// Binds `node`'s key to anvil account `wallet` and bonds that wallet, so
/// the key's drops mint.
async fn bind(chain: &LocalChain, node: &Node, wallet: usize) -> Address {
    let w = bind_unbonded(chain, node, wallet).await;
    localnet::bond_wallet(chain, wallet).await.unwrap();
    w
}

/// Binds `node`'s key to anvil account `wallet`, which holds no player bond.
async fn bind_unbonded(chain: &LocalChain, node: &Node, wallet: usize) -> Address {
    localnet::bind_wallet(chain, node, wallet, 1).await.unwrap()
}

fn act(node: &Node, settlement: Address, nonce: u64, action: Action) -> ActionMessage {
    let id = &node.ctx.identity;
    ActionMessage::Act(SignedAction::new(
        id.public_key(),
        nonce,
        (cyteria_chain::anvil::CHAIN_ID, settlement.0.0),
        action,
        |m| id.sign(m),
    ))
}

/// Every item the chain minted, per receiver, with its stats.
async fn minted(reader: &Chain) -> BTreeMap<Address, Vec<(U256, ItemStats)>> {
    // ERC-1155 logs a batch of one as a single transfer.
    let batches = reader
        .items()
        .TransferBatch_filter()
        .from_block(0)
        .query()
        .await
        .unwrap();
    let singles = reader
        .items()
        .TransferSingle_filter()
        .from_block(0)
        .query()
        .await
        .unwrap();
    let mut out: BTreeMap<Address, Vec<(U256, ItemStats)>> = BTreeMap::new();
    let all = batches
        .into_iter()
        .flat_map(|(ev, _)| ev.ids.into_iter().map(move |id| (ev.to, id)));
    for (to, id) in all.chain(singles.into_iter().map(|(ev, _)| (ev.to, ev.id))) {
        out.entry(to)
            .or_default()
            .push((id, ids::decode(id).unwrap().0));
    }
    out
}

fn affordable(m: &Materials) -> Option<u8> {
    RECIPES
        .iter()
        .position(|r| m.check(r.cost).is_ok())
        .map(|i| i as u8)
}

fn unaffordable(m: &Materials) -> Option<u8> {
    RECIPES
        .iter()
        .position(|r| m.check(r.cost).is_err())
        .map(|i| i as u8)
}

fn session() -> SessionConfig {
    SessionConfig {
        tick_hz: 120,
        disconnect_timeout_ms: 5_000,
        sync_timeout_ms: 40_000,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_match_settles_with_its_items_signed_by_two_of_three_validators() {
    let chain = chain_with_validators().await;
    // Validator 3 is registered but offline: 2 of 3 must do.
    let vals = validators(&chain, &[1, 2]).await;
    let boot = vals[0].node.clone();
    let mut players = vec![
        node(Transport::Tcp, Some(&boot)).await,
        node(Transport::Tcp, Some(&boot)).await,
    ];
    let wallets = [
        bind(&chain, &players[0], 4).await,
        bind(&chain, &players[1], 5).await,
    ];
    let reader = reader_of(&chain).await;
    bindings_settle(&reader).await;

    // Matches until one gives a player materials enough to craft something
    // and some match dropped an item (to equip in a later match).
    let mut credited = BTreeMap::new();
    let mut crafter = None;
    for _ in 0..6 {
        let before = reader.settled_epoch().await.unwrap();
        let reports = play_one(
            &mut players,
            &[
                from_chain(&reader, player(2, 2400, session())).await,
                from_chain(&reader, player(2, 2400, session())).await,
            ],
        )
        .await;
        let t = assert_finished_and_verified(&reports, &players);
        let outcome = t.verify().unwrap();
        let id = t.header.match_id;
        until("the match settles", 90, || async {
            vals.iter()
                .all(|v| v.handle.ledger.borrow().1.credited.contains(&id))
        })
        .await;
        assert!(reader.settled_epoch().await.unwrap() > before);
        for (seat, slot) in t.header.players.iter().enumerate() {
            let seat_player = players
                .iter()
                .position(|p| p.ctx.identity.public_key() == slot.public_key)
                .unwrap();
            credited
                .entry(seat_player)
                .or_insert_with(Vec::new)
                .extend(outcome.players[seat].items.clone());
        }
        let ledger = vals[0].handle.ledger.borrow().1.clone();
        crafter = players.iter().enumerate().find_map(|(i, p)| {
            let a = ledger.account(&p.ctx.identity.public_key())?;
            Some((i, affordable(&a.materials)?, unaffordable(&a.materials)?))
        });
        if crafter.is_some() && credited.values().any(|v: &Vec<ItemStats>| !v.is_empty()) {
            break;
        }
    }

    // What the simulation rolled is what the players own, with its stats.
    let on_chain = minted(&reader).await;
    for (i, w) in wallets.iter().enumerate() {
        let mut got: Vec<ItemStats> = on_chain
            .get(w)
            .map(|v| v.iter().map(|(_, s)| *s).collect())
            .unwrap_or_default();
        let mut want = credited.get(&i).cloned().unwrap_or_default();
        got.sort_by_key(|s| ids::encode(s, 0, 0));
        want.sort_by_key(|s| ids::encode(s, 0, 0));
        assert_eq!(got, want, "player {i}'s items");
        for (id, _) in on_chain.get(w).into_iter().flatten() {
            assert_eq!(
                reader.items().balanceOf(*w, *id).call().await.unwrap(),
                U256::from(1)
            );
        }
    }
    let e = reader.settled_epoch().await.unwrap();
    let root = reader.settlement().rootOf(e).call().await.unwrap();
    assert_eq!(
        root.0,
        vals[1].handle.ledger.borrow().1.root(),
        "the chain holds the validators' state root"
    );
    let cid = reader.settlement().dataCidOf(e).call().await.unwrap();
    assert!(cid.starts_with("bafk"), "the data CID is a CIDv1: {cid}");
    // A fresh node that played nothing and signed nothing rebuilds the ledger
    // from the chain's CIDs alone and arrives at every settled root.
    let fresh = node(Transport::Tcp, Some(&boot)).await;
    let rebuilt =
        cyteria_validator::replay_settled(&fresh.content, &reader, e, Duration::from_secs(30))
            .await
            .unwrap();
    assert_eq!(rebuilt.root(), root.0);
    fresh.ctx.net.clone().stop().await;
    // A validator that missed an announcement's fetch verifies the match
    // inside the leader's batch instead (check_data), which this counter
    // does not count: together they verified it, and none refused one.
    assert!(
        vals.iter()
            .map(|v| v.metrics().transcripts_verified.get())
            .sum::<u64>()
            >= 1
    );
    for v in &vals {
        assert_eq!(v.metrics().rejected_total("transcript"), 0);
    }

    // A craft settles as a new item; its replay and a craft without the materials are refused.
    let (i, recipe, too_dear) =
        crafter.expect("six matches gave some player materials for a recipe");
    let p = &players[i];
    let craft = act(p, chain.deployment.settlement, 0, Action::Craft { recipe });
    send(p, &craft).await;
    send(
        p,
        &act(
            p,
            chain.deployment.settlement,
            1,
            Action::Craft { recipe: too_dear },
        ),
    )
    .await;
    let key = p.ctx.identity.public_key();
    until("the craft settles", 60, || async {
        vals.iter().all(|v| {
            v.handle
                .ledger
                .borrow()
                .1
                .account(&key)
                .is_some_and(|a| a.next_nonce == 1)
        })
    })
    .await;
    send(p, &craft).await;
    until(
        "the replay and the unaffordable craft are refused",
        30,
        || async {
            vals.iter().any(|v| {
                v.metrics()
                    .sum("cyteria_rejected_messages_total", "reason=\"replayed\"")
                    >= 1.0
            }) && vals.iter().any(|v| {
                v.metrics().sum(
                    "cyteria_rejected_messages_total",
                    "reason=\"insufficient materials\"",
                ) >= 1.0
            })
        },
    )
    .await;
    let after = minted(&reader).await;
    let crafted: Vec<_> = after[&wallets[i]]
        .iter()
        .filter(|x| !on_chain.get(&wallets[i]).is_some_and(|v| v.contains(x)))
        .collect();
    assert_eq!(crafted.len(), 1, "exactly one crafted item: {crafted:?}");
    assert_eq!(crafted[0].1.item_type, RECIPES[recipe as usize].item_type);

    // Its on-chain URI resolves, through the player's own gateway fetching
    // from the validators, to metadata naming its stats and to its sprite.
    let (id, stats) = crafted[0];
    let uri = reader.items().uri(*id).call().await.unwrap();
    let path = uri
        .strip_prefix("ipfs://")
        .expect("an ipfs:// URI")
        .to_string();
    let (addr, _gateway) =
        cyteria_node::gateway::serve(p.content.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
    let (status, ctype, body) = http_get(addr, &format!("/ipfs/{path}")).await;
    assert_eq!(
        (status, ctype.as_str()),
        (200, "application/json"),
        "{uri}: {}",
        String::from_utf8_lossy(&body)
    );
    let m: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let props = &m["properties"];
    assert_eq!(props["token_id"], format!("{id:#066x}"));
    assert_eq!(
        (props["damage"].as_u64(), props["defense"].as_u64()),
        (Some(stats.damage.into()), Some(stats.defense.into()))
    );
    assert_eq!(props["durability"].as_u64(), Some(stats.durability.into()));
    assert_eq!(
        (props["item_type"].as_u64(), props["rarity"].as_u64()),
        (Some(stats.item_type as u64), Some(stats.rarity as u64))
    );
    let image = m["image"]
        .as_str()
        .unwrap()
        .strip_prefix("ipfs://")
        .unwrap()
        .to_string();
    let (status, ctype, png) = http_get(addr, &format!("/ipfs/{image}")).await;
    assert_eq!((status, ctype.as_str()), (200, "image/png"));
    assert_eq!(png, cyteria_node::metadata::sprite_png(stats));

    // The player's node keeps the metadata of everything its wallet owns pinned.
    let own = Chain::connect(
        &chain.endpoint(),
        chain.keys[4 + i].clone(),
        chain.deployment,
    )
    .await
    .unwrap();
    let db = sled::Config::new().temporary(true).open().unwrap();
    let mut holdings = cyteria_wallet::pinning::Pinner::open(
        p.content.clone(),
        own.clone(),
        db,
        wallets[i],
        Duration::from_secs(30),
    )
    .unwrap();
    // A pass leaves what it could not fetch in time for the next one (the
    // node's own loop passes every 15 s): a few passes, counted together.
    let mut pass = holdings.pass().await.unwrap();
    let mut pinned = pass.pinned;
    for _ in 0..5 {
        if pass.missing == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        pass = holdings.pass().await.unwrap();
        pinned += pass.pinned;
    }
    assert!(
        pass.items >= 1 && pass.missing == 0 && pinned == 2 * pass.items,
        "{pass:?}, {pinned} pinned in all"
    );
    let pins = p.content.pins().await.unwrap();
    assert!(
        pins.contains(&cyteria_node::content::parse_cid(&image).unwrap()),
        "the crafted item's sprite is pinned"
    );
    assert_eq!(
        holdings.pass().await.unwrap().pinned,
        0,
        "nothing is pinned twice"
    );

    // An item won in one of the first matches, equipped by its winner from
    // the wallet it minted to, plays in the next: the match is credited, and
    // the ledger records the item's wear under its id, the wear the player's
    // node recorded for itself. Of the items won, the one whose repair
    // material the players hold most of, so that it can be repaired below.
    let most = |ty| {
        let ledger = vals[0].handle.ledger.borrow().1.clone();
        players
            .iter()
            .filter_map(|p| ledger.account(&p.ctx.identity.public_key()))
            .map(|a| a.materials.get(cyteria_game::crafting::repair_material(ty)))
            .max()
            .unwrap_or(0)
    };
    let (i, id, stats) = wallets
        .iter()
        .enumerate()
        .flat_map(|(w, a)| {
            on_chain
                .get(a)
                .into_iter()
                .flatten()
                .map(move |(id, s)| (w, *id, *s))
        })
        .max_by_key(|(_, _, s)| most(s.item_type))
        .expect("some match dropped an item");
    let key = players[i].ctx.identity.public_key();
    let own = Chain::connect(
        &chain.endpoint(),
        chain.keys[4 + i].clone(),
        chain.deployment,
    )
    .await
    .unwrap();
    let worn = tempfile::tempdir().unwrap();
    let ty = stats.item_type;
    let token = id.to_be_bytes::<32>();
    loadout::write_choices(
        worn.path(),
        &loadout::Choices::default().with(ty, loadout::Choice::Item(token)),
    )
    .unwrap();
    let beacon = cyteria_node::beacon::fixed(reader.beacon().await.unwrap());
    let mut cfgs = [player(2, 2400, session()), player(2, 2400, session())];
    cfgs[i].loadout_dir = Some(worn.path().to_path_buf());
    for c in &mut cfgs {
        c.beacon = beacon.clone();
    }
    let reports = play_one(&mut players, &cfgs).await;
    let t = assert_finished_and_verified(&reports, &players);
    let seat = seat_of(&t, key);
    assert_eq!(t.header.players[seat].items[ty as usize], Some(token));
    assert_eq!(
        t.header.players[seat].loadout.slot(ty).map(|s| s.damage),
        Some(stats.damage),
        "the match plays the item's own stats"
    );
    let equipped_match = t.header.match_id;
    until("the match with the owned item settles", 90, || async {
        vals.iter().all(|v| {
            v.handle
                .ledger
                .borrow()
                .1
                .credited
                .contains(&equipped_match)
        })
    })
    .await;
    let recorded = loadout::read_wear(worn.path()).unwrap();
    let lost = t.verify().unwrap().players[seat].wear[ty as usize];
    assert_eq!(recorded.get(&token).copied().unwrap_or(0), u32::from(lost));
    for v in &vals {
        assert_eq!(
            v.handle.ledger.borrow().1.items.get(&token).map(|u| u.wear),
            Some(u32::from(lost)),
            "the ledger keeps the item's wear under its id"
        );
        // And the chain holds the root of that ledger, wear leaf and all.
        let (epoch, ledger) = v.handle.ledger.borrow().clone();
        let root = reader.settlement().rootOf(epoch).call().await.unwrap();
        assert_eq!(root.0, ledger.root(), "the settled root covers the wear");
    }

    // The player's node learns the item's wear from the settled batches
    // alone (what a buyer's node needs), and does not count the match twice.
    let db = sled::Config::new().temporary(true).open().unwrap();
    let mut follower = cyteria_wallet::pinning::Pinner::open(
        players[i].content.clone(),
        own.clone(),
        db,
        wallets[i],
        Duration::from_secs(30),
    )
    .unwrap()
    .following_wear(worn.path())
    .unwrap();
    let settled_wear = |w: u32| {
        let dir = worn.path().to_path_buf();
        move || {
            let hex = loadout::Choice::Item(token).to_string();
            let s = loadout::read_settled(&dir).unwrap();
            s.wear.get(&hex) == Some(&w)
        }
    };
    // A pass stops at the first batch it cannot fetch in time and goes on
    // from there on the next (the node's own loop passes every 15 s).
    let mut tries = 0;
    while !settled_wear(u32::from(lost))() {
        tries += 1;
        assert!(tries < 40, "{:?}", loadout::read_settled(worn.path()));
        follower.pass().await.unwrap();
        if !settled_wear(u32::from(lost))() {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    assert_eq!(
        loadout::read_wear(worn.path())
            .unwrap()
            .get(&token)
            .copied(),
        Some(u32::from(lost)),
        "the settled match counts once"
    );

    // Repaired by token id, paid by whichever player has the material (a
    // repair is anyone's gift): the ledger clears its wear, and so does
    // what the owner's node reads.
    // Drops are random: while no player has the material, they play on.
    let units = cyteria_game::crafting::repair_units(u32::from(lost), stats.durability);
    let material = cyteria_game::crafting::repair_material(ty);
    let mut extra = 0;
    let (payer, account) = loop {
        let ledger = vals[0].handle.ledger.borrow().1.clone();
        let found = players.iter().position(|p| {
            ledger
                .account(&p.ctx.identity.public_key())
                .is_some_and(|a| a.materials.get(material) >= units)
        });
        if let Some(i) = found {
            let account = ledger
                .account(&players[i].ctx.identity.public_key())
                .cloned()
                .expect("found above");
            break (&players[i], account);
        }
        extra += 1;
        assert!(
            extra <= 6,
            "six more matches gave no player {units} {material:?} to repair with"
        );
        let reports = play_one(
            &mut players,
            &[
                from_chain(&reader, player(2, 2400, session())).await,
                from_chain(&reader, player(2, 2400, session())).await,
            ],
        )
        .await;
        let id = assert_finished_and_verified(&reports, &players)
            .header
            .match_id;
        until("a match for the material settles", 90, || async {
            vals.iter()
                .all(|v| v.handle.ledger.borrow().1.credited.contains(&id))
        })
        .await;
    };
    let repair = act(
        payer,
        chain.deployment.settlement,
        account.next_nonce,
        Action::RepairItem { id: token },
    );
    send(payer, &repair).await;
    until("the repair settles", 60, || async {
        vals.iter()
            .all(|v| v.handle.ledger.borrow().1.items.get(&token).map(|u| u.wear) == Some(0))
    })
    .await;
    let mut tries = 0;
    while !settled_wear(0)() {
        tries += 1;
        assert!(tries < 40, "{:?}", loadout::read_settled(worn.path()));
        follower.pass().await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        loadout::read_wear(worn.path())
            .unwrap()
            .get(&token)
            .copied(),
        Some(0)
    );

    // Listed on the market, the item is the market's: a match that still
    // equips it, from a beacon after the listing, is refused as escrowed.
    own.list(id, 1, 1_000).await.unwrap();
    let listed_at = reader.head().await.unwrap().block;
    until("an epoch settles after the listing", 60, || async {
        let e = reader.settled_epoch().await.unwrap();
        reader.settled(e).await.unwrap().block > listed_at
    })
    .await;
    let beacon = cyteria_node::beacon::fixed(reader.beacon().await.unwrap());
    for c in &mut cfgs {
        c.beacon = beacon.clone();
    }
    let reports = play_one(&mut players, &cfgs).await;
    let t = assert_finished_and_verified(&reports, &players);
    assert_eq!(
        t.header.players[seat_of(&t, key)].items[ty as usize],
        Some(token)
    );
    // Each validator counts the refusal when it leads a round with the
    // match in its own pool: up to three epochs' rotation (validator 3's
    // rounds time out) after a fetch that may need its retries.
    until("every validator refused the escrowed item", 150, || async {
        vals.iter().all(|v| {
            v.metrics().sum(
                "cyteria_rejected_messages_total",
                "reason=\"item escrowed\"",
            ) >= 1.0
        })
    })
    .await;
    for v in &vals {
        assert!(
            !v.handle
                .ledger
                .borrow()
                .1
                .credited
                .contains(&t.header.match_id)
        );
        assert_eq!(
            v.metrics().sum(
                "cyteria_rejected_messages_total",
                "reason=\"item not held\""
            ),
            0.0,
            "escrow has its own reason"
        );
    }

    for p in players {
        p.ctx.net.clone().stop().await;
    }
    for v in vals {
        v.shut_down().await;
    }
}

/// The seat of `t` that `key` plays.
fn seat_of(t: &cyteria_game::transcript::Transcript, key: [u8; 32]) -> usize {
    t.header
        .players
        .iter()
        .position(|s| s.public_key == key)
        .expect("the key plays a seat")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_inputs_false_claims_and_unbound_keys_get_nothing() {
    let chain = chain_with_validators().await;
    let vals = validators(&chain, &[1, 2, 3]).await;
    let boot = vals[0].node.clone();
    let mut cheats = vec![
        node(Transport::Tcp, Some(&boot)).await,
        node(Transport::Tcp, Some(&boot)).await,
    ];
    let mut solo = vec![node(Transport::Tcp, Some(&boot)).await];
    bind(&chain, &cheats[0], 4).await;
    bind(&chain, &cheats[1], 5).await;
    let reader = reader_of(&chain).await;
    bindings_settle(&reader).await;

    // Two players who both lie in their announcements; one honest player
    // alone, whose key is bound to no wallet.
    let forge = SessionConfig {
        adversary: Adversary::cheating(Cheat::ForgeInput),
        ..session()
    };
    let claim = SessionConfig {
        adversary: Adversary::cheating(Cheat::ClaimRewards),
        ..session()
    };
    let (liars, alone) = (
        [
            from_chain(&reader, player(2, 1200, forge)).await,
            from_chain(&reader, player(2, 1200, claim)).await,
        ],
        [from_chain(&reader, player(1, 1200, session())).await],
    );
    let (two, one) = tokio::join!(play_one(&mut cheats, &liars), play_one(&mut solo, &alone));
    let cheated = two[0].transcript.clone().unwrap().header.match_id;
    let honest = one[0].transcript.clone().unwrap().header.match_id;
    until("the honest solo match settles", 150, || async {
        vals.iter()
            .all(|v| v.handle.ledger.borrow().1.credited.contains(&honest))
    })
    .await;
    let reason = |r: &str| {
        let r = format!("reason=\"{r}\"");
        vals.iter()
            .all(|v| v.metrics().sum("cyteria_rejected_messages_total", &r) >= 1.0)
    };
    until("every validator rejected both lies", 60, || async {
        reason("forged input") && reason("claimed rewards")
    })
    .await;
    assert!(
        reason("unbound key"),
        "the unbound player's rewards are refused and counted"
    );
    for v in &vals {
        let l = v.handle.ledger.borrow().1.clone();
        assert!(
            !l.credited.contains(&cheated),
            "a match announced only by liars is not credited"
        );
        assert!(l.accounts.values().all(|a| a.matches == 0 && a.xp == 0));
        assert!(l.account(&solo[0].ctx.identity.public_key()).is_none());
    }
    assert!(minted(&reader).await.is_empty(), "nothing was minted");
    // The liars lost standing with the validators.
    for p in &cheats {
        assert!(
            vals.iter()
                .any(|v| v.node.net().app_score(&p.net().peer_id) < 0.0)
        );
    }

    for p in cheats.into_iter().chain(solo) {
        p.ctx.net.clone().stop().await;
    }
    for v in vals {
        v.shut_down().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_equivocating_validator_is_slashed_and_a_crashed_one_neither_loses_nor_double_submits() {
    let chain = chain_with_validators().await;
    let reader = reader_of(&chain).await;
    // Epoch 1's first leader is validator index 1 of the sorted set: it crashes after signing.
    let mut set: Vec<(Address, usize)> = (1..=3).map(|i| (chain.keys[i].address(), i)).collect();
    set.sort();
    let (leader, equivocator, honest) = (set[1].1, set[2].1, set[0].1);
    let first = start_validator(
        &chain,
        honest,
        Identity::generate(),
        Store::temporary().unwrap(),
        None,
        vec![],
        None,
    )
    .await;
    let boot = first.node.net().addresses().await;
    let eq = start_validator(
        &chain,
        equivocator,
        Identity::generate(),
        Store::temporary().unwrap(),
        None,
        boot.clone(),
        Some(Fault::Equivocate),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let leader_id = Identity::generate();
    // Like a validator run by `cyteria validator`: its sled store and its IPFS repo on disk.
    let (db, repo) = (dir.path().join("db"), Some(dir.path().join("ipfs")));
    let crashing = start_validator(
        &chain,
        leader,
        leader_id.clone(),
        Store::open(&db).unwrap(),
        repo.clone(),
        boot.clone(),
        Some(Fault::CrashAfterSigning),
    )
    .await;

    let p = node(Transport::Tcp, Some(&first.node)).await;
    bind(&chain, &p, 4).await;
    // The leader proposes, signs and dies; the others sign; one of them submits after its grace.
    until("the crashed leader's task ends", 60, || async {
        crashing.task.is_finished()
    })
    .await;
    assert_eq!(crashing.metrics().batches_signed.get(), 1);
    until("epoch 1 settles without its leader", 60, || async {
        reader.settled_epoch().await.unwrap() >= 1
    })
    .await;
    let eq_address = chain.keys[equivocator].address();
    until("the equivocator is slashed", 60, || async {
        reader.staking().stakeOf(eq_address).call().await.unwrap() == cytr(500)
    })
    .await;
    assert!(first.metrics().evidence.get() >= 1);

    // The leader comes back with its store: it catches up and submits nothing twice.
    let RunningValidator { node, task, .. } = crashing;
    task.await.unwrap().unwrap();
    node.ctx.net.clone().stop().await;
    let node = Arc::into_inner(node).expect("nothing else holds the crashed node");
    drop(node);
    let back = start_validator(
        &chain,
        leader,
        leader_id,
        Store::open(&db).unwrap(),
        repo,
        boot,
        None,
    )
    .await;
    until(
        "the restarted leader's ledger reaches epoch 1",
        60,
        || async { back.handle.ledger.borrow().0 >= 1 },
    )
    .await;
    let settled = reader
        .settlement()
        .BatchSettled_filter()
        .from_block(0)
        .query()
        .await
        .unwrap();
    assert_eq!(
        settled.iter().filter(|(e, _)| e.epoch == 1).count(),
        1,
        "exactly one settlement of epoch 1"
    );
    assert_eq!(
        back.handle.ledger.borrow().1.root(),
        reader.settlement().rootOf(1).call().await.unwrap().0
    );
    assert_eq!(
        back.metrics().batches_signed.get(),
        0,
        "it signs nothing new for the epoch it signed before"
    );

    // One validator of three alone cannot settle.
    eq.shut_down().await;
    back.shut_down().await;
    bind(&chain, &p, 5).await;
    until("the lone validator signs epoch 2", 60, || async {
        first.metrics().batches_signed.get() >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        reader.settled_epoch().await.unwrap(),
        1,
        "one signature of three is no quorum"
    );

    p.ctx.net.clone().stop().await;
    first.shut_down().await;
}

/// A cheater makes matches offline instead of playing them (the core's
/// bot in the one seat, its own bound key, a fresh match id each) and
/// announces them to three real validators: seeds of its choosing, a beacon
/// from the future, a forged root and, later, a stale beacon earn nothing;
/// two real ones from one beacon are credited one after the other in chain
/// time, never side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matches_fabricated_offline_earn_no_more_than_real_time() {
    use alloy::providers::Provider;
    use cyteria_game::Rules;
    use cyteria_game::transcript::{Beacon, MatchHeader, PlayerSlot};
    use cyteria_node::adversary::fabricate;

    let chain = chain_with_validators().await;
    let vals = validators(&chain, &[1, 2, 3]).await;
    let boot = vals[0].node.clone();
    let cheat = node(Transport::Tcp, Some(&boot)).await;
    // The transcripts with seeds of its choosing cost their announcer its
    // standing; the cheater sends those through a second node.
    let liar = node(Transport::Tcp, Some(&boot)).await;
    bind(&chain, &cheat, 4).await;
    // A player whose wallet holds no bond: its real match earns experience
    // and materials, and mints nothing.
    let poor = node(Transport::Tcp, Some(&boot)).await;
    let poor_wallet = bind_unbonded(&chain, &poor, 5).await;
    let reader = reader_of(&chain).await;
    bindings_settle(&reader).await;
    let me = cheat.ctx.identity.clone();
    let key = me.public_key();
    // 1 200 frames, 10 s at this chain's 120 ticks/s; 20 waves so the bot
    // plays to the time limit.
    let rules = Rules {
        waves: 20,
        time_limit: 1_200,
    };
    let made = |n: u8, beacon: Beacon, seed: Option<u64>| {
        let seat = PlayerSlot::starter(key);
        let mut h = MatchHeader::from_beacon([0xF0 | n; 32], beacon, rules, vec![seat]);
        if let Some(s) = seed {
            h.seed = s;
        }
        fabricate(std::slice::from_ref(&me), h, 1_200)
    };
    let announce = |t| announce_by(&cheat, t);
    let now = reader.beacon().await.unwrap();
    let now_at = reader.settled(now.epoch).await.unwrap().at;
    for n in 0..5 {
        announce_by(&liar, made(n, now, Some(u64::from(n) * 7 + 1))).await;
    }
    let future = Beacon {
        epoch: now.epoch + 50,
        root: [5; 32],
        ..now
    };
    announce(made(5, future, None)).await;
    let forged = Beacon {
        epoch: now.epoch,
        root: [6; 32],
        ..now
    };
    announce(made(6, forged, None)).await;
    announce(made(7, now, None)).await;
    announce(made(8, now, None)).await;
    let poor_id = poor.ctx.identity.clone();
    let (poor_match, poor_outcome) = (0..=255u8)
        .find_map(|i| {
            let seat = PlayerSlot::starter(poor_id.public_key());
            let h = MatchHeader::from_beacon(
                [0xE0, i, 0, 0].repeat(8).try_into().unwrap(),
                now,
                rules,
                vec![seat],
            );
            let t = fabricate(std::slice::from_ref(&poor_id), h, 1_200);
            let o = t.verify().unwrap();
            (!o.players[0].items.is_empty()).then_some((t, o))
        })
        .expect("some match id drops an item");
    let poor_match_id = poor_match.header.match_id;
    announce(poor_match).await;

    // Each real match is credited only in a batch judged after its slot's end.
    let mut credited_in = BTreeMap::new();
    until("both real matches are credited", 120, || {
        let (e, l) = vals[0].handle.ledger.borrow().clone();
        for id in [[0xF7; 32], [0xF8; 32]] {
            if l.credited.contains(&id) {
                credited_in.entry(id).or_insert(e);
            }
        }
        let done = credited_in.len() == 2 && l.credited.contains(&poor_match_id);
        async move { done }
    })
    .await;
    let slot_end = |k: u64| now_at * 1000 + 10_000 * k;
    for (k, id) in [(1, [0xF7; 32]), (2, [0xF8; 32])] {
        // The batch that credited it, as settled: its data names the
        // block it was judged at.
        let mut e = credited_in[&id];
        let data = loop {
            let cid = reader.settlement().dataCidOf(e).call().await.unwrap();
            let c = cyteria_node::content::parse_cid(&cid).unwrap();
            let bytes = vals[0]
                .node
                .content
                .get_record(&c, &[], Duration::from_secs(10))
                .await
                .unwrap();
            let data = cyteria_settlement::proposal::BatchData::decode(&bytes).unwrap();
            if data.transcripts.iter().any(|t| t.match_id == id) || e == 1 {
                break data;
            }
            e -= 1;
        };
        assert!(data.transcripts.iter().any(|t| t.match_id == id));
        let judged_at = data.reference.time * 1000;
        assert_eq!(
            reader.block_time(data.reference.block).await.unwrap(),
            data.reference.time
        );
        assert!(
            judged_at >= slot_end(k),
            "match {k} credited in epoch {e}, judged at {judged_at} ms, before its slot ends at {} ms",
            slot_end(k)
        );
    }
    let reason = |r: &str, n: f64| {
        let r = format!("reason=\"{r}\"");
        vals.iter()
            .any(|v| v.metrics().sum("cyteria_rejected_messages_total", &r) >= n)
    };
    let sums = || {
        ["seed not from beacon", "future beacon", "wrong beacon"].map(|r| {
            let r = format!("reason=\"{r}\"");
            vals.iter()
                .map(|v| v.metrics().sum("cyteria_rejected_messages_total", &r))
                .collect::<Vec<_>>()
        })
    };
    // The chosen seeds are refused as each validator verifies them, and
    // their announcer loses standing; the beacons are refused by the
    // leader that builds the batch.
    let refused = || {
        let [seeds, future, wrong] = sums();
        seeds.iter().sum::<f64>() >= 5.0
            && future.iter().any(|n| *n >= 1.0)
            && wrong.iter().any(|n| *n >= 1.0)
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !refused() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not every fabrication was refused: {:?}",
            sums()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Ten minutes later (anvil's clock moved on) the old beacon is stale.
    let p = chain.provider(0).await.unwrap();
    let _: serde_json::Value = p
        .raw_request("evm_increaseTime".into(), (700u64,))
        .await
        .unwrap();
    let before = reader.settled_epoch().await.unwrap();
    until("an epoch settles past the window", 60, || async {
        reader.settled_epoch().await.unwrap() > before
    })
    .await;
    announce(made(9, now, None)).await;
    until("the stale beacon is refused", 60, || async {
        reason("stale beacon", 1.0)
    })
    .await;
    // Every validator applied what settled (one still fetching a batch's
    // data lags an epoch on a loaded machine, as CI found).
    let settled = reader.settled_epoch().await.unwrap();
    until("every validator applied the settled epochs", 60, || {
        let done = vals.iter().all(|v| v.handle.ledger.borrow().0 >= settled);
        async move { done }
    })
    .await;

    for v in &vals {
        let l = v.handle.ledger.borrow().1.clone();
        let fabricated: Vec<u8> = (0..10u8)
            .filter(|n| l.credited.contains(&[0xF0 | n; 32]))
            .collect();
        assert_eq!(fabricated, vec![7, 8], "only the two that fit real time");
        let a = l.account(&key).unwrap();
        assert_eq!(a.matches, 2);
        assert_eq!(a.busy_until_ms, slot_end(2), "one slot after the other");
        let p = l.account(&poor.ctx.identity.public_key()).unwrap();
        assert_eq!(
            (p.matches, p.xp),
            (1, u64::from(poor_outcome.players[0].xp)),
            "the unbonded player earns its experience"
        );
        for m in cyteria_game::inventory::Material::ALL {
            assert_eq!(p.materials.get(m), poor_outcome.players[0].materials.get(m));
        }
    }
    assert!(
        !minted(&reader).await.contains_key(&poor_wallet),
        "nothing mints to a wallet without a bond, though its match dropped {:?}",
        poor_outcome.players[0].items
    );
    assert!(
        vals.iter()
            .any(|v| v.node.net().app_score(&liar.net().peer_id) < 0.0),
        "the chosen seeds cost their announcer standing"
    );
    cheat.ctx.net.clone().stop().await;
    liar.ctx.net.clone().stop().await;
    poor.ctx.net.clone().stop().await;
    for v in vals {
        v.shut_down().await;
    }
}

/// Announces a transcript made offline, with the rewards its replay gives,
/// once the validators' subscriptions have reached `by`.
async fn announce_by(by: &Node, t: cyteria_game::transcript::Transcript) {
    let o = t.verify().unwrap();
    for tries in 0.. {
        match by.announce(&t, &o).await {
            Ok(_) => break,
            Err(e) if tries < 100 => {
                tracing::debug!(error = %e, "announcement not sent yet");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("announcing: {e}"),
        }
    }
}

/// A bonded player that signs two input chains for one frame loses its
/// whole bond, once, in a settled batch whose calldata carries the evidence;
/// the honest players' bonds stay whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bonded_equivocator_is_slashed_once_with_the_evidence_on_chain() {
    use alloy::consensus::Transaction as _;
    use alloy::providers::Provider;
    use alloy::sol_types::SolCall;
    use cyteria_chain::bindings::Settlement;
    use cyteria_settlement::evidence::Equivocation;

    let chain = chain_with_validators().await;
    let vals = validators(&chain, &[1, 2, 3]).await;
    let boot = vals[0].node.clone();
    let mut players = vec![
        node(Transport::Tcp, Some(&boot)).await,
        node(Transport::Tcp, Some(&boot)).await,
        node(Transport::Tcp, Some(&boot)).await,
    ];
    let wallets = [
        bind(&chain, &players[0], 4).await,
        bind(&chain, &players[1], 5).await,
        bind(&chain, &players[2], 6).await,
    ];
    let reader = reader_of(&chain).await;
    bindings_settle(&reader).await;
    let least = reader.min_bond().await.unwrap();
    let cheat = SessionConfig {
        adversary: Adversary::cheating(Cheat::Equivocate),
        ..session()
    };
    let cfgs = [
        from_chain(&reader, player(3, 900, session())).await,
        from_chain(&reader, player(3, 900, session())).await,
        from_chain(&reader, player(3, 900, cheat)).await,
    ];
    play_one(&mut players, &cfgs).await;
    until("the equivocator's bond is slashed", 90, || async {
        reader.bond_of(wallets[2]).await.unwrap().0.is_zero()
    })
    .await;
    // Every honest player relayed the evidence; it slashes once. A few more
    // epochs settle, and nothing else is slashed.
    let settled = reader.settled_epoch().await.unwrap();
    until("two more epochs settle", 60, || async {
        reader.settled_epoch().await.unwrap() >= settled + 2
    })
    .await;
    let slashed = reader
        .player_bond()
        .Slashed_filter()
        .from_block(0)
        .query()
        .await
        .unwrap();
    assert_eq!(slashed.len(), 1, "{slashed:?}");
    let (event, log) = &slashed[0];
    assert_eq!(event.player, wallets[2]);
    assert_eq!(event.amount, least);
    for w in &wallets[..2] {
        assert_eq!(
            reader.bond_of(*w).await.unwrap().0,
            least,
            "honest bonds stay whole"
        );
    }
    // The evidence is in the settling transaction's calldata: the
    // cheater's two signed chains, which anyone can check.
    let p = chain.provider(0).await.unwrap();
    let tx = p
        .get_transaction_by_hash(log.transaction_hash.unwrap())
        .await
        .unwrap()
        .unwrap();
    let call = Settlement::submitBatchCall::abi_decode(tx.inner.input()).unwrap();
    assert_eq!(call.slashes.len(), 1);
    let ev = Equivocation::decode(&call.slashes[0].evidence).unwrap();
    assert_eq!(ev.check(), Ok(players[2].ctx.identity.public_key()));
    assert_eq!(
        event.evidence,
        alloy::primitives::keccak256(&call.slashes[0].evidence)
    );
    for v in &vals {
        assert!(v.handle.ledger.borrow().1.slashed.contains(&ev.offence()));
    }
    for p in players {
        p.ctx.net.clone().stop().await;
    }
    for v in vals {
        v.shut_down().await;
    }
}

/// A third party that holds a signed 600-frame match publishes its first 60
/// frames (cut at a checkpoint both seats signed, with the prefix's own
/// final checksum) before the players announce the whole: the prefix is
/// not credited, and every validator credits the whole match alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_published_first_is_not_the_match() {
    use cyteria_game::Rules;
    use cyteria_game::transcript::{MatchHeader, PlayerSlot};
    use cyteria_node::adversary::{cut_at, fabricate};

    let chain = chain_with_validators().await;
    let vals = validators(&chain, &[1, 2, 3]).await;
    let boot = vals[0].node.clone();
    let players = [
        node(Transport::Tcp, Some(&boot)).await,
        node(Transport::Tcp, Some(&boot)).await,
    ];
    let third = node(Transport::Tcp, Some(&boot)).await;
    bind(&chain, &players[0], 4).await;
    bind(&chain, &players[1], 5).await;
    let reader = reader_of(&chain).await;
    bindings_settle(&reader).await;
    // The match both players signed: 600 frames, checkpoints every 60.
    let ids: Vec<Identity> = players.iter().map(|p| p.ctx.identity.clone()).collect();
    let seats: Vec<PlayerSlot> = ids
        .iter()
        .map(|id| PlayerSlot::starter(id.public_key()))
        .collect();
    let rules = Rules {
        waves: 20,
        time_limit: 600,
    };
    let beacon = reader.beacon().await.unwrap();
    // The seed comes from the beacon, so whether the first 60 frames earn
    // less depends on it: take the first match id whose cut does.
    let (whole, full, prefix) = (0..64u8)
        .find_map(|n| {
            let header = MatchHeader::from_beacon([n; 32], beacon, rules, seats.clone());
            let whole = fabricate(&ids, header, 600);
            let full = whole.verify().unwrap();
            let prefix = cut_at(&whole, 60);
            let cut = prefix.verify().expect("the prefix replays");
            (cut.players[0].xp != full.players[0].xp).then_some((whole, full, prefix))
        })
        .expect("some match's first 60 frames earn less than its 600");

    announce_by(&third, prefix).await;
    until("every validator refused the prefix", 60, || async {
        vals.iter().all(|v| {
            v.metrics().sum(
                "cyteria_rejected_messages_total",
                "reason=\"bad end record\"",
            ) >= 1.0
        })
    })
    .await;
    announce_by(&players[0], whole.clone()).await;
    let id = whole.header.match_id;
    until("every validator credits the whole match", 90, || async {
        vals.iter()
            .all(|v| v.handle.ledger.borrow().1.credited.contains(&id))
    })
    .await;
    for v in &vals {
        let l = v.handle.ledger.borrow().1.clone();
        for (seat, p) in ids.iter().enumerate() {
            let a = l.account(&p.public_key()).unwrap();
            assert_eq!(
                (a.matches, a.xp),
                (1, u64::from(full.players[seat].xp)),
                "the whole match's rewards"
            );
        }
    }
    assert!(
        vals.iter()
            .any(|v| v.node.net().app_score(&third.net().peer_id) < 0.0),
        "the prefix cost its publisher standing"
    );
    for p in players.into_iter().chain([third]) {
        p.ctx.net.clone().stop().await;
    }
    for v in vals {
        v.shut_down().await;
    }
}

/// The round each settlement of `epoch` named, from the chain's events.
async fn settled_rounds(reader: &Chain, epoch: u64) -> Vec<u32> {
    reader
        .settlement()
        .BatchSettled_filter()
        .from_block(0)
        .query()
        .await
        .unwrap()
        .into_iter()
        .filter(|(e, _)| e.epoch == epoch)
        .map(|(e, _)| e.round)
        .collect()
}

/// A quorum-signed batch that the chain refuses (here every validator
/// submits round 0's batch short of its quorum, so `submitBatch` reverts
/// on chain) used to leave the validators two choices: stall, or sign
/// another batch for the epoch and become slashable. Now the next round's
/// leader proposes again, every validator signs again, the epoch settles
/// in round 1, and no one's stake can be taken for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_refused_on_chain_settles_in_the_next_round_and_no_one_is_slashable() {
    let chain = chain_with_validators().await;
    let reader = reader_of(&chain).await;
    let mut v: Vec<RunningValidator> = vec![];
    for a in 1..=3 {
        let boot = match v.first() {
            Some(first) => first.node.net().addresses().await,
            None => vec![],
        };
        v.push(
            start_validator(
                &chain,
                a,
                Identity::generate(),
                Store::temporary().unwrap(),
                None,
                boot,
                Some(Fault::FailRoundZero),
            )
            .await,
        );
    }
    let p = node(Transport::Tcp, Some(&v[0].node)).await;
    bind(&chain, &p, 4).await;
    until("epoch 1 settles in a later round", 120, || async {
        reader.settled_epoch().await.unwrap() >= 1
    })
    .await;
    let failed: u64 = v
        .iter()
        .map(|x| x.metrics().batch_submissions_failed.get())
        .sum();
    assert!(failed >= 1, "round 0 was submitted and refused on chain");
    assert_eq!(
        settled_rounds(&reader, 1).await,
        vec![1],
        "epoch 1 settled once, in round 1"
    );
    let signed: u64 = v.iter().map(|x| x.metrics().batches_signed.get()).sum();
    assert!(signed >= 4, "validators signed in both rounds ({signed})");
    // Nobody proved an equivocation, and no stake moved.
    let proven = reader
        .settlement()
        .EquivocationProven_filter()
        .from_block(0)
        .query()
        .await
        .unwrap();
    assert!(proven.is_empty(), "{proven:?}");
    for a in 1..=3 {
        assert_eq!(
            reader
                .staking()
                .stakeOf(chain.keys[a].address())
                .call()
                .await
                .unwrap(),
            cytr(1_000)
        );
    }
    p.ctx.net.clone().stop().await;
    for x in v {
        x.shut_down().await;
    }
}

/// A validator that wrote the record of its signature but died before
/// gossiping it, with a third validator away: the one left cannot settle
/// alone. Restarted from its store, the validator signs the same batch of
/// the same round again when it sees it (the same signature goes out,
/// never another batch), and the epoch settles once, in that round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_that_died_between_its_record_and_its_gossip_sends_the_same_signature() {
    let chain = chain_with_validators().await;
    let reader = reader_of(&chain).await;
    let mut set: Vec<(Address, usize)> = (1..=3).map(|i| (chain.keys[i].address(), i)).collect();
    set.sort();
    // Epoch 1's round-0 leader is set[1]; set[2] crashes; set[0] never starts.
    let (leader, crashing) = (set[1].1, set[2].1);
    let first = start_validator(
        &chain,
        leader,
        Identity::generate(),
        Store::temporary().unwrap(),
        None,
        vec![],
        None,
    )
    .await;
    let boot = first.node.net().addresses().await;
    let dir = tempfile::tempdir().unwrap();
    let id = Identity::generate();
    let (db, repo) = (dir.path().join("db"), Some(dir.path().join("ipfs")));
    let dying = start_validator(
        &chain,
        crashing,
        id.clone(),
        Store::open(&db).unwrap(),
        repo.clone(),
        boot.clone(),
        Some(Fault::CrashBeforeGossip),
    )
    .await;
    let p = node(Transport::Tcp, Some(&first.node)).await;
    bind(&chain, &p, 4).await;
    until("the validator dies after its record", 60, || async {
        dying.task.is_finished()
    })
    .await;
    assert_eq!(
        reader.settled_epoch().await.unwrap(),
        0,
        "no quorum without it"
    );
    let RunningValidator { node, task, .. } = dying;
    task.await.unwrap().unwrap();
    node.ctx.net.clone().stop().await;
    drop(Arc::into_inner(node).expect("nothing else holds the dead node"));
    let back = start_validator(
        &chain,
        crashing,
        id,
        Store::open(&db).unwrap(),
        repo,
        boot,
        None,
    )
    .await;
    until("epoch 1 settles", 60, || async {
        reader.settled_epoch().await.unwrap() >= 1
    })
    .await;
    assert_eq!(
        settled_rounds(&reader, 1).await,
        vec![0],
        "once, in the round it had signed: its signature went out after the restart"
    );
    assert!(back.metrics().batches_signed.get() >= 1, "signed again");
    let proven = reader
        .settlement()
        .EquivocationProven_filter()
        .from_block(0)
        .query()
        .await
        .unwrap();
    assert!(proven.is_empty(), "{proven:?}");
    p.ctx.net.clone().stop().await;
    first.shut_down().await;
    back.shut_down().await;
}

/// Attestations for the next epoch signed by `n` keys outside the
/// validator set, gossiped by a fresh outsider.
async fn junk_attestations(chain: &LocalChain, via: &Node, epoch: u64, n: u8) -> Node {
    use alloy::primitives::B256;
    use alloy::signers::local::PrivateKeySigner;
    use cyteria_node::wire::{self, Attestation, WireBatch};
    use cyteria_settlement::batch::{self, Batch};
    let outsider = node(Transport::Tcp, Some(via)).await;
    let chain_id = reader_of(chain).await.chain_id;
    let domain = batch::domain(chain_id, chain.deployment.settlement);
    let b = Batch {
        epoch,
        round: 0,
        prevRoot: B256::ZERO,
        newRoot: B256::repeat_byte(0x66),
        dataCid: "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku".into(),
        metadataCid: String::new(),
        mintsHash: B256::ZERO,
        slashesHash: B256::ZERO,
    };
    for i in 0..n {
        let stranger = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x50 + i)).unwrap();
        let att = Attestation {
            batch: WireBatch::from(&b),
            signature: batch::sign(&stranger, &b, &domain)
                .unwrap()
                .signature
                .to_vec(),
        };
        let bytes = att.encode();
        until("the junk is gossiped", 30, || {
            let (net, bytes) = (outsider.ctx.net.clone(), bytes.clone());
            async move { net.publish(wire::BATCHES_TOPIC, bytes).await.is_ok() }
        })
        .await;
    }
    outsider
}

/// Fifty attestations from keys outside the set, then one more while a
/// validator's chain is down (its RPC endpoint answers 500 to everything):
/// the validator neither stops nor stalls the others, and once its chain is
/// back it catches up with the epochs settled meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_attestations_and_a_chain_outage_neither_stop_nor_stall_a_validator() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let chain = chain_with_validators().await;
    let reader = reader_of(&chain).await;
    let mut v = validators(&chain, &[1, 2]).await;
    let down = Arc::new(AtomicBool::new(false));
    let flaky = chain.flaky_endpoint("", down.clone()).await.unwrap();
    let third = localnet::start_validator_on(
        flaky,
        chain.keys[3].clone(),
        chain.deployment,
        ValidatorSetup {
            identity: Identity::generate(),
            store: Store::temporary().unwrap(),
            repo: None,
            bootstrap: v[0].node.net().addresses().await,
            config: fast_validator(None),
            clock: None,
        },
    )
    .await
    .unwrap();
    v.push(third);
    let p = node(Transport::Tcp, Some(&v[0].node)).await;
    bind(&chain, &p, 4).await;
    bindings_settle(&reader).await;

    let epoch = reader.settled_epoch().await.unwrap();
    let first = junk_attestations(&chain, &v[0].node, epoch + 1, 50).await;
    until("epochs settle past the junk", 60, || async {
        reader.settled_epoch().await.unwrap() >= epoch + 2
    })
    .await;
    let refused: u64 = v.iter().map(|x| x.metrics().rejected_total("batch")).sum();
    assert!(refused >= 1, "the strangers' attestations were refused");

    // The third validator's chain goes down; a stranger's attestation
    // makes it read the validator set.
    down.store(true, Ordering::SeqCst);
    let epoch = reader.settled_epoch().await.unwrap();
    let second = junk_attestations(&chain, &v[1].node, epoch + 1, 1).await;
    until("the other two settle on without it", 60, || async {
        reader.settled_epoch().await.unwrap() >= epoch + 2
    })
    .await;
    assert!(
        !v[2].task.is_finished(),
        "the validator with no chain still runs"
    );

    down.store(false, Ordering::SeqCst);
    let settled = reader.settled_epoch().await.unwrap();
    until(
        "the third catches up once its chain is back",
        60,
        || async { v[2].handle.ledger.borrow().0 >= settled },
    )
    .await;
    assert!(!v[2].task.is_finished());
    stop_all([first, second, p], v).await;
}

/// Stops `nodes` and shuts `validators` down.
async fn stop_all(nodes: impl IntoIterator<Item = Node>, validators: Vec<RunningValidator>) {
    for n in nodes {
        n.ctx.net.clone().stop().await;
    }
    for x in validators {
        x.shut_down().await;
    }
}

/// Two hundred announcements at once, from four Sybils, each naming its
/// own record of the largest size a transcript may have (4 MiB, junk past
/// its first bytes): each validator fetches at most `MAX_FETCHES` at once
/// and verifies at most one a core (the old code started a fetch and a
/// verification for every announcement at once), bans the announcers as
/// their records fail, skips what they announced after, and the validators
/// go on settling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_maximal_transcripts_announced_at_once_are_taken_a_bounded_few_at_a_time() {
    use cyteria_node::wire::{self, Announce};
    let chain = chain_with_validators().await;
    let reader = reader_of(&chain).await;
    let v = validators(&chain, &[1, 2, 3]).await;
    let p = node(Transport::Tcp, Some(&v[0].node)).await;
    bind(&chain, &p, 4).await;
    bindings_settle(&reader).await;

    let mut sybils = vec![];
    let mut announced = vec![];
    for s in 0..4u8 {
        let sybil = node(Transport::Tcp, Some(&v[0].node)).await;
        for i in 0..50u8 {
            // 4 MiB each; only the first chunk differs, so the Sybils'
            // stores hold little, but every record is its own CID.
            let mut bytes = vec![0xAB; 4 << 20];
            bytes[..4].copy_from_slice(b"CYTX");
            bytes[4] = s;
            bytes[5] = i;
            let cid = sybil.content.put_record(bytes).await.unwrap();
            let mut match_id = [0x5A; 32];
            match_id[0] = s;
            match_id[1] = i;
            announced.push((
                sybil.ctx.net.clone(),
                Announce {
                    match_id,
                    cid,
                    frames: cyteria_game::rules::MAX_MATCH_FRAMES,
                    final_checksum: cyteria_game::state::Checksum([1; 32]),
                    claims: [2; 32],
                }
                .encode(),
            ));
        }
        sybils.push(sybil);
    }
    let epoch = reader.settled_epoch().await.unwrap();
    // Each Sybil's first announcement waits for its mesh; the rest follow
    // at once.
    let mut published = 0;
    for chunk in announced.chunks(50) {
        let (net, first) = &chunk[0];
        until("a Sybil has peers on the topic", 30, || {
            let (net, bytes) = (net.clone(), first.clone());
            async move { net.publish(wire::TRANSCRIPTS_TOPIC, bytes).await.is_ok() }
        })
        .await;
        published += 1;
        for (net, bytes) in &chunk[1..] {
            published += usize::from(
                net.publish(wire::TRANSCRIPTS_TOPIC, bytes.clone())
                    .await
                    .is_ok(),
            );
        }
    }
    eprintln!("{published} announcements published");
    let (mut peak_fetches, mut peak_verifications) = (0i64, 0i64);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let banned_everywhere = || {
        v.iter().all(|x| {
            let scores = x.node.ctx.net.scores();
            sybils
                .iter()
                .all(|s| scores.of(&s.ctx.net.peer_id) <= cyteria_node::net::BAN_SCORE)
        })
    };
    loop {
        for x in &v {
            peak_fetches = peak_fetches.max(x.metrics().fetches_in_flight.get());
            peak_verifications = peak_verifications.max(x.metrics().verifications_in_flight.get());
        }
        let idle = v.iter().all(|x| x.metrics().fetches_in_flight.get() == 0);
        if banned_everywhere() && idle && peak_fetches > 0 {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            let state: Vec<(u64, u64, Vec<f64>, i64)> = v
                .iter()
                .map(|x| {
                    let scores = x.node.ctx.net.scores();
                    (
                        x.metrics().rejected_total("transcript"),
                        x.metrics().rejected_total("limits") * 1000
                            + x.metrics().rejected_total("transcripts"),
                        sybils
                            .iter()
                            .map(|s| scores.of(&s.ctx.net.peer_id))
                            .collect(),
                        x.metrics().fetches_in_flight.get(),
                    )
                })
                .collect();
            panic!(
                "the flood was not taken in two minutes: peak {peak_fetches} fetches; (refused, Sybils' scores, fetching) per validator: {state:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("peak fetches {peak_fetches}, peak verifications {peak_verifications}");
    assert!(peak_fetches as usize <= cyteria_validator::MAX_FETCHES);
    assert!(peak_verifications as usize <= cyteria_validator::verifiers());
    let refused: Vec<u64> = v
        .iter()
        .map(|x| x.metrics().rejected_total("transcript"))
        .collect();
    eprintln!("records refused per validator: {refused:?}");
    assert!(
        refused.iter().all(|n| *n < 200),
        "the banned Sybils' later announcements were skipped: {refused:?}"
    );
    until("the validators settle on after the flood", 90, || async {
        reader.settled_epoch().await.unwrap() >= epoch + 2
    })
    .await;
    stop_all(sybils.into_iter().chain([p]), v).await;
}
