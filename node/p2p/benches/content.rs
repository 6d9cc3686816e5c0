//! Content throughput between two nodes on loopback TCP: adding a file
//! (chunking, hashing, storing, pinning) and fetching it by CID over
//! bitswap, at 1 MB and 100 MB; records (single raw blocks); and the
//! metadata and sprites of a batch of 1,000 minted items.
//!
//! `cargo bench -p cyteria-node --bench content`

use std::time::{Duration, Instant};

use cyteria_game::item::{ItemStats, ItemType, Rarity, Trait, Traits};
use cyteria_node::net::{NetConfig, Role};
use cyteria_node::node::Node;
use cyteria_settlement::proposal::MintedItem;

async fn node(bootstrap: Vec<libp2p::Multiaddr>, repo: std::path::PathBuf) -> anyhow::Result<Node> {
    let mut cfg = NetConfig::loopback(Role::Player);
    cfg.listen = vec!["/ip4/127.0.0.1/tcp/0".parse()?];
    cfg.bootstrap = bootstrap;
    cfg.repo = Some(repo);
    Node::builder(cfg).start().await
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    let mut out = vec![0; n];
    blake3::Hasher::new()
        .update(&[seed])
        .finalize_xof()
        .fill(&mut out);
    out
}

fn mb_s(n: usize, d: Duration) -> f64 {
    n as f64 / 1e6 / d.as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let a = node(vec![], dir.path().join("a")).await?;
    let b = node(a.net().addresses().await, dir.path().join("b")).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!("| content | add on A (disk repo) | fetch on B over bitswap |");
    println!("| --- | ---: | ---: |");
    for (size, seed) in [(1_000_000usize, 1u8), (100_000_000, 2)] {
        let data = bytes(size, seed);
        let t = Instant::now();
        let cid = a.content.add(data.clone()).await?;
        let add = t.elapsed();
        let t = Instant::now();
        let got = b
            .content
            .cat(&cid, &[a.net().peer_id], Duration::from_secs(600))
            .await?;
        let fetch = t.elapsed();
        assert!(got == data);
        println!(
            "| {} MB file | {:.2} s ({:.0} MB/s) | {:.2} s ({:.0} MB/s) |",
            size / 1_000_000,
            add.as_secs_f64(),
            mb_s(size, add),
            fetch.as_secs_f64(),
            mb_s(size, fetch)
        );
    }
    let records: Vec<Vec<u8>> = (0..200u8).map(|i| bytes(20_000, i)).collect();
    let t = Instant::now();
    let mut cids = vec![];
    for r in &records {
        cids.push(a.content.put(r.clone()).await?);
    }
    let put = t.elapsed();
    let t = Instant::now();
    for c in &cids {
        b.content
            .get(c, &[a.net().peer_id], Duration::from_secs(60))
            .await?;
    }
    let get = t.elapsed();
    println!(
        "| 200 records of 20 kB, one at a time | {:.2} ms each | {:.2} ms each |",
        put.as_secs_f64() * 1e3 / 200.0,
        get.as_secs_f64() * 1e3 / 200.0
    );

    // A batch of 1,000 minted items of varied stats: sprites, metadata, one directory.
    let items: Vec<MintedItem> = (0..1_000u16)
        .map(|i| {
            let rarity = Rarity::ALL[usize::from(i % 5)];
            let mut traits = Traits::NONE;
            for t in Trait::ALL
                .iter()
                .skip(usize::from(i % 7))
                .take(rarity.trait_slots())
            {
                traits.set(*t);
            }
            let stats = ItemStats {
                item_type: ItemType::ALL[usize::from(i % 3)],
                rarity,
                damage: 5 + i % 60,
                defense: (i * 7) % 45,
                durability: 1 + i % rarity.max_durability(),
                traits,
            };
            MintedItem {
                to: alloy::primitives::Address::ZERO,
                id: cyteria_settlement::ids::encode(&stats, 77, i).expect("fits"),
                stats,
            }
        })
        .collect();
    let t = Instant::now();
    let dir = cyteria_node::metadata::directory(&items).expect("items");
    let build = t.elapsed();
    let bytes: usize = dir.blocks.iter().map(|(_, b)| b.len()).sum();
    let t = Instant::now();
    let root = cyteria_node::metadata::publish(&a.content, &items)
        .await?
        .expect("items");
    let publish = t.elapsed();
    assert_eq!(root, dir.root);
    let t = Instant::now();
    for i in 0..100 {
        b.content
            .cat_path(
                &root,
                &format!("{i}.json"),
                &[a.net().peer_id],
                Duration::from_secs(60),
            )
            .await?;
        b.content
            .cat_path(
                &root,
                &format!("{i}.png"),
                &[a.net().peer_id],
                Duration::from_secs(60),
            )
            .await?;
    }
    let fetch = t.elapsed();
    println!();
    println!(
        "| 1,000 items' metadata ({} files, {:.1} MB) | time |",
        dir.blocks.len() - 1,
        bytes as f64 / 1e6
    );
    println!("| --- | ---: |");
    println!(
        "| draw the sprites, encode PNG and JSON, build the directory | {:.2} s ({:.2} ms per item) |",
        build.as_secs_f64(),
        build.as_secs_f64()
    );
    println!(
        "| the same and store, pin and announce it on A (`metadata::publish`) | {:.2} s |",
        publish.as_secs_f64()
    );
    println!(
        "| B fetches 100 items' JSON and PNG by path over bitswap | {:.2} s ({:.1} ms per item) |",
        fetch.as_secs_f64(),
        fetch.as_secs_f64() * 10.0
    );
    a.ctx.net.clone().stop().await;
    b.ctx.net.clone().stop().await;
    Ok(())
}
