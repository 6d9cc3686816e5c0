//! Against a real anvil with the contracts deployed from Rust: validators
//! stake and register, a 2-of-3 signed batch settles its root, CID and item
//! mints in one transaction, 1 of 3 cannot, a second submission is a no-op,
//! and a validator that signs two batches for one epoch is slashed.

use alloy::primitives::{Address, B256, U256};
use cyteria_chain::anvil::{CHAIN_ID, LocalChain};
use cyteria_chain::chain::{Chain, Submitted};
use cyteria_game::crafting::starter_loadout;
use cyteria_settlement::batch::{self, Batch, Mint};
use cyteria_settlement::{ids, merkle};

fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_of_three_validators_settle_a_batch_with_its_mints_and_an_equivocator_is_slashed() {
    // Validators are anvil accounts 1..=3, funded with CYTR at genesis.
    let genesis: Vec<(Address, U256)> = (1..=3).map(|i| (anvil_address(i), ether(2_000))).collect();
    let chain = LocalChain::start(&genesis).await.unwrap();
    let mut validators = vec![];
    for i in 1..=3 {
        let c = Chain::connect(&chain.endpoint(), chain.keys[i].clone(), chain.deployment)
            .await
            .unwrap();
        c.become_validator(ether(1_000)).await.unwrap();
        validators.push(c);
    }
    assert_eq!(validators[0].chain_id, CHAIN_ID);
    assert_eq!(validators[0].validators().await.unwrap().len(), 3);

    let player = chain.keys[4].address();
    let l = starter_loadout();
    let items = [l.weapon.unwrap(), l.armor.unwrap()];
    let item_ids: Vec<U256> = items
        .iter()
        .enumerate()
        .map(|(i, s)| ids::encode(s, 1, i as u16).unwrap())
        .collect();
    let mints = vec![Mint {
        to: player,
        ids: item_ids.clone(),
        amounts: vec![U256::from(1); 2],
    }];
    let root = merkle::root([(&b"player"[..], &b"xp=10"[..])]);
    let b1 = Batch {
        epoch: 1,
        round: 0,
        prevRoot: B256::ZERO,
        newRoot: B256::from(root),
        dataCid: "bafkreiexample".into(),
        metadataCid: "bafybeimetadata".into(),
        mintsHash: batch::mints_hash(&mints),
        slashesHash: batch::slashes_hash(&[]),
    };
    let on_chain_hash = validators[0]
        .settlement()
        .hashMints(cyteria_chain::bindings::mints_arg(&mints))
        .call()
        .await
        .unwrap();
    assert_eq!(
        on_chain_hash, b1.mintsHash,
        "the Rust mints hash is the contract's"
    );
    let domain = batch::domain(CHAIN_ID, chain.deployment.settlement);
    let on_chain_digest = validators[0]
        .settlement()
        .batchDigest(cyteria_chain::bindings::batch_arg(&b1))
        .call()
        .await
        .unwrap();
    assert_eq!(
        on_chain_digest,
        batch::digest(&b1, &domain),
        "the Rust EIP-712 digest is the contract's"
    );

    let atts: Vec<_> = (1..=3)
        .map(|i| batch::sign(&chain.keys[i], &b1, &domain).unwrap())
        .collect();
    // One of three is not a quorum.
    let one = batch::ordered(vec![atts[0].clone()]);
    let r1 = validators[0].submit_batch(&b1, &mints, &[], one).await;
    assert!(r1.is_err());
    assert_eq!(validators[0].settled_epoch().await.unwrap(), 0);
    // Two of three are.
    let two = batch::ordered(vec![atts[2].clone(), atts[0].clone()]);
    let r = validators[0]
        .submit_batch(&b1, &mints, &[], two.clone())
        .await
        .unwrap();
    let Submitted::Settled { gas_used, .. } = r else {
        panic!("{r:?}")
    };
    assert!(gas_used > 0);
    assert_eq!(
        validators[1]
            .submit_batch(&b1, &mints, &[], two)
            .await
            .unwrap(),
        Submitted::AlreadySettled
    );
    assert_eq!(validators[0].settled_epoch().await.unwrap(), 1);
    assert_eq!(validators[0].state_root().await.unwrap(), B256::from(root));
    assert_eq!(
        validators[0]
            .settlement()
            .dataCidOf(1)
            .call()
            .await
            .unwrap(),
        "bafkreiexample"
    );
    let uri = validators[0].items().uri(item_ids[1]).call().await.unwrap();
    assert_eq!(
        uri, "ipfs://bafybeimetadata/1.json",
        "the item's URI names its batch's metadata"
    );
    for (id, stats) in item_ids.iter().zip(&items) {
        assert_eq!(
            validators[0]
                .items()
                .balanceOf(player, *id)
                .call()
                .await
                .unwrap(),
            U256::from(1)
        );
        assert_eq!(ids::decode(*id).unwrap().0, *stats);
    }

    // Validator 3 signs two different batches for epoch 2; validator 1 proves it.
    let mut a = b1.clone();
    a.epoch = 2;
    a.prevRoot = B256::from(root);
    a.mintsHash = batch::mints_hash(&[]);
    let mut b = a.clone();
    b.newRoot = B256::repeat_byte(9);
    let sa = batch::sign(&chain.keys[3], &a, &domain).unwrap();
    let sb = batch::sign(&chain.keys[3], &b, &domain).unwrap();
    let before = validators[0]
        .staking()
        .stakeOf(chain.keys[3].address())
        .call()
        .await
        .unwrap();
    validators[0]
        .prove_equivocation(&a, sa.signature.clone(), &b, sb.signature.clone())
        .await
        .unwrap();
    let after = validators[0]
        .staking()
        .stakeOf(chain.keys[3].address())
        .call()
        .await
        .unwrap();
    assert_eq!(before - after, ether(500));
    // Twice for one epoch is refused.
    assert!(
        validators[1]
            .prove_equivocation(&a, sa.signature, &b, sb.signature)
            .await
            .is_err()
    );
}

fn anvil_address(i: usize) -> Address {
    // anvil's default mnemonic accounts, fixed across runs.
    const A: [&str; 5] = [
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
        "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    ];
    A[i].parse().unwrap()
}

/// The indexer follows CYTR and stake changes, rolls back what an anvil
/// revert (a reorg) dropped, indexes the new branch, and keeps its state
/// across a reopen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_indexer_follows_the_chain_through_a_reorg_and_a_restart() {
    use alloy::providers::Provider;
    use cyteria_chain::indexer::Indexer;
    let chain = LocalChain::start(&[
        (anvil_address(1), ether(1_000)),
        (anvil_address(2), ether(1_000)),
    ])
    .await
    .unwrap();
    let (a, b) = (anvil_address(1), anvil_address(2));
    let ca = Chain::connect(&chain.endpoint(), chain.keys[1].clone(), chain.deployment)
        .await
        .unwrap();
    let cb = Chain::connect(&chain.endpoint(), chain.keys[2].clone(), chain.deployment)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let index = Indexer::open(db.clone(), chain.deployment).unwrap();
    let p = ca.provider.clone();
    index.sync(&p).await.unwrap();
    assert_eq!(index.cytr_of(a), ether(1_000));

    let snapshot: U256 = p.raw_request("evm_snapshot".into(), ()).await.unwrap();
    let r = ca
        .cytr()
        .transfer(b, ether(300))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(r.status());
    ca.cytr()
        .approve(chain.deployment.staking, ether(100))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    ca.staking()
        .stake(ether(100))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let s = index.sync(&p).await.unwrap();
    assert_eq!(s.rolled_back, 0);
    assert_eq!(
        (index.cytr_of(a), index.cytr_of(b), index.stake_of(a)),
        (ether(600), ether(1_300), ether(100))
    );

    // The chain drops those blocks and grows another branch past them.
    let reverted: bool = p
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .unwrap();
    assert!(reverted);
    cb.cytr()
        .transfer(a, ether(50))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let _: serde_json::Value = p
        .raw_request("anvil_mine".into(), (U256::from(5),))
        .await
        .unwrap();
    let s = index.sync(&p).await.unwrap();
    assert!(s.rolled_back >= 1, "{s:?}");
    let on_chain = |who| {
        let c = ca.cytr();
        async move { c.balanceOf(who).call().await.unwrap() }
    };
    assert_eq!(index.cytr_of(a), on_chain(a).await);
    assert_eq!(index.cytr_of(b), on_chain(b).await);
    assert_eq!(
        (index.cytr_of(a), index.cytr_of(b), index.stake_of(a)),
        (ether(1_050), ether(950), U256::ZERO)
    );

    // A restart keeps the index and carries on.
    let head = index.head();
    drop(index);
    let index = Indexer::open(db, chain.deployment).unwrap();
    assert_eq!(index.head(), head);
    assert_eq!(index.cytr_of(a), ether(1_050));
    cb.cytr()
        .transfer(a, ether(1))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let s = index.sync(&p).await.unwrap();
    assert_eq!((s.rolled_back, s.events), (0, 1));
    assert_eq!(index.cytr_of(a), ether(1_051));
}

/// Items settled to a player go through the market and an auction, and the
/// indexer shows every step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_items_are_listed_bought_and_auctioned_and_the_index_shows_it() {
    use alloy::providers::Provider;
    use cyteria_chain::indexer::{Indexer, LotState};
    let chain = LocalChain::start_with_validators(3, ether(1_000), 60)
        .await
        .unwrap();
    let (seller, buyer) = (chain.keys[4].address(), chain.keys[5].address());
    let v1 = Chain::connect(&chain.endpoint(), chain.keys[1].clone(), chain.deployment)
        .await
        .unwrap();
    v1.cytr()
        .transfer(buyer, ether(100))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let l = starter_loadout();
    let ids: Vec<U256> = [l.weapon.unwrap(), l.armor.unwrap()]
        .iter()
        .enumerate()
        .map(|(i, s)| ids::encode(s, 1, i as u16).unwrap())
        .collect();
    let mints = vec![Mint {
        to: seller,
        ids: ids.clone(),
        amounts: vec![U256::from(1); 2],
    }];
    let b = Batch {
        epoch: 1,
        round: 0,
        prevRoot: B256::ZERO,
        newRoot: B256::repeat_byte(1),
        dataCid: "bafk".into(),
        metadataCid: "bafym".into(),
        mintsHash: batch::mints_hash(&mints),
        slashesHash: batch::slashes_hash(&[]),
    };
    let domain = batch::domain(CHAIN_ID, chain.deployment.settlement);
    let sigs = batch::ordered(
        (1..=3)
            .map(|i| batch::sign(&chain.keys[i], &b, &domain).unwrap())
            .collect(),
    );
    v1.submit_batch(&b, &mints, &[], sigs).await.unwrap();

    let s = Chain::connect(&chain.endpoint(), chain.keys[4].clone(), chain.deployment)
        .await
        .unwrap();
    let k = Chain::connect(&chain.endpoint(), chain.keys[5].clone(), chain.deployment)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let index = Indexer::open(sled::open(dir.path()).unwrap(), chain.deployment).unwrap();
    index.sync(&s.provider).await.unwrap();
    assert_eq!(index.items_of(seller).len(), 2);
    assert_eq!(index.batches().len(), 1);

    let price = 10u128 * 10u128.pow(18);
    let listing = s.list(ids[0], 1, price).await.unwrap();
    index.sync(&s.provider).await.unwrap();
    assert_eq!(index.listings().len(), 1);
    assert_eq!(
        index.items_of(seller).len(),
        1,
        "the listed item is in escrow"
    );
    // What a match's seat equips counts where its wallet held it when the
    // beacon settled: the seller held the weapon at epoch 1; at epoch 2,
    // settled while it was listed, the market did.
    let b2 = Batch {
        epoch: 2,
        round: 0,
        prevRoot: B256::repeat_byte(1),
        newRoot: B256::repeat_byte(2),
        mintsHash: batch::mints_hash(&[]),
        ..b.clone()
    };
    let sigs = batch::ordered(
        (1..=3)
            .map(|i| batch::sign(&chain.keys[i], &b2, &domain).unwrap())
            .collect(),
    );
    v1.submit_batch(&b2, &[], &[], sigs).await.unwrap();
    let epochs: std::collections::BTreeMap<u64, _> = [
        (1, s.settled(1).await.unwrap()),
        (2, s.settled(2).await.unwrap()),
    ]
    .into();
    assert!(
        epochs[&1].block < epochs[&2].block,
        "each epoch names its block"
    );
    let holding = |who: alloy::primitives::Address, epoch| cyteria_settlement::ledger::Holding {
        wallet: who.into_array(),
        id: ids[0].to_be_bytes(),
        epoch,
    };
    let asked = [
        holding(seller, 1),
        holding(buyer, 1),
        holding(seller, 2),
        holding(seller, 3),
    ]
    .into();
    assert_eq!(
        s.holdings(&asked, &epochs).await.unwrap(),
        [holding(seller, 1)].into(),
        "held at epoch 1 only: escrowed at epoch 2, epoch 3 not settled"
    );
    k.buy(listing, 1, price).await.unwrap();
    index.sync(&s.provider).await.unwrap();
    assert!(index.listings().is_empty());
    assert_eq!(index.items_of(buyer), vec![(ids[0], U256::from(1))]);
    // The buyer's account starts with the local chain's player CYTR.
    let start = cyteria_chain::anvil::PLAYER_CYTR;
    assert_eq!(index.cytr_of(buyer), ether(start + 90));

    let lot = s
        .auction_item(ids[1], 1, 5 * 10u128.pow(18), 60)
        .await
        .unwrap();
    k.bid(lot, 6 * 10u128.pow(18)).await.unwrap();
    // A late bid extends the lot; let its time run out.
    let _: serde_json::Value = s
        .provider
        .raw_request("evm_increaseTime".into(), (U256::from(3_600),))
        .await
        .unwrap();
    let _: serde_json::Value = s
        .provider
        .raw_request("anvil_mine".into(), (U256::from(1),))
        .await
        .unwrap();
    s.settle_lot(lot).await.unwrap();
    index.sync(&s.provider).await.unwrap();
    let lots = index.lots();
    assert_eq!(lots.len(), 1);
    assert_eq!(
        (lots[0].1.state, lots[0].1.bidder),
        (LotState::Settled, Some(buyer))
    );
    assert_eq!(index.items_of(buyer).len(), 2);
    assert!(index.items_of(seller).is_empty());
    assert_eq!(index.cytr_of(buyer), ether(start + 84));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dao_proposal_passes_through_the_timelock_and_changes_the_market_fee() {
    use alloy::sol_types::SolCall;
    use cyteria_chain::bindings::Marketplace;
    let chain = LocalChain::start_with(|keys| {
        vec![
            (keys[4].address(), ether(600)),
            (keys[5].address(), ether(400)),
        ]
    })
    .await
    .unwrap();
    let market = Marketplace::new(
        chain.deployment.marketplace,
        chain.provider(0).await.unwrap(),
    );
    assert_eq!(market.feeBps().call().await.unwrap(), 250);
    let call = Marketplace::setFeeCall {
        treasury_: chain.deployment.timelock_controller,
        feeBps_: 200,
    };
    // Before the vote the timelock alone may change the fee: account 4 cannot.
    let direct = Marketplace::new(
        chain.deployment.marketplace,
        chain.provider(4).await.unwrap(),
    );
    assert!(
        direct
            .setFee(chain.deployment.timelock_controller, 200)
            .call()
            .await
            .is_err()
    );
    chain
        .pass_proposal(
            4,
            &[4, 5],
            chain.deployment.marketplace,
            call.abi_encode().into(),
            "Lower the fee to 2%",
        )
        .await
        .unwrap();
    assert_eq!(
        market.feeBps().call().await.unwrap(),
        200,
        "the timelock executed the proposal"
    );
}

/// The RPC fails in the middle of a chunk, after some of its blocks are
/// indexed: the next sync goes on from the last block indexed, and the
/// balances are the chain's (before, the chunk's blocks were applied twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rpc_failing_mid_chunk_applies_no_block_twice() {
    use alloy::providers::{Provider, ProviderBuilder};
    use cyteria_chain::indexer::Indexer;
    use std::sync::atomic::{AtomicBool, Ordering};
    let chain = LocalChain::start(&[
        (anvil_address(1), ether(1_000)),
        (anvil_address(2), ether(1_000)),
    ])
    .await
    .unwrap();
    let (a, b) = (anvil_address(1), anvil_address(2));
    let ca = Chain::connect(&chain.endpoint(), chain.keys[1].clone(), chain.deployment)
        .await
        .unwrap();
    for _ in 0..3 {
        let r = ca
            .cytr()
            .transfer(b, ether(10))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(r.status());
    }
    let failing = std::sync::Arc::new(AtomicBool::new(true));
    let proxy = chain
        .flaky_endpoint("eth_getBlockByNumber", failing.clone())
        .await
        .unwrap();
    let p = ProviderBuilder::new()
        .connect_http(proxy.parse().unwrap())
        .erased();
    let dir = tempfile::tempdir().unwrap();
    let index = Indexer::open(sled::open(dir.path()).unwrap(), chain.deployment).unwrap();
    // The logs come; the chunk's last block's hash does not.
    let e = index.sync(&p).await;
    assert!(e.is_err(), "the sync stopped on the failing call");
    failing.store(false, Ordering::SeqCst);
    index.sync(&p).await.unwrap();
    let on_chain = |who| {
        let c = ca.cytr();
        async move { c.balanceOf(who).call().await.unwrap() }
    };
    assert_eq!(index.cytr_of(a), on_chain(a).await);
    assert_eq!(index.cytr_of(b), on_chain(b).await);
    assert_eq!(index.cytr_of(b), ether(1_030));
}
