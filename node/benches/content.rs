//! Content throughput between two nodes on loopback TCP: adding a file
//! (chunking, hashing, storing, pinning) and fetching it by CID over
//! bitswap, at 1 MB and 100 MB; and records (single raw blocks).
//!
//! `cargo bench -p cyteria-node --bench content`

use std::time::{Duration, Instant};

use cyteria_node::identity::Identity;
use cyteria_node::metrics::Metrics;
use cyteria_node::net::{NetConfig, Role};
use cyteria_node::node::Node;
use cyteria_node::store::Store;

async fn node(bootstrap: Vec<libp2p::Multiaddr>, repo: std::path::PathBuf) -> anyhow::Result<Node> {
    let mut cfg = NetConfig::loopback(Role::Player);
    cfg.listen = vec!["/ip4/127.0.0.1/tcp/0".parse()?];
    cfg.bootstrap = bootstrap;
    cfg.repo = Some(repo);
    Node::start(Identity::generate(), cfg, Store::temporary()?, Metrics::new()).await
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    let mut out = vec![0; n];
    blake3::Hasher::new().update(&[seed]).finalize_xof().fill(&mut out);
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
        let got = b.content.cat(&cid, &[a.net().peer_id], Duration::from_secs(600)).await?;
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
        b.content.get(c, &[a.net().peer_id], Duration::from_secs(60)).await?;
    }
    let get = t.elapsed();
    println!(
        "| 200 records of 20 kB, one at a time | {:.2} ms each | {:.2} ms each |",
        put.as_secs_f64() * 1e3 / 200.0,
        get.as_secs_f64() * 1e3 / 200.0
    );
    a.ctx.net.clone().stop().await;
    b.ctx.net.clone().stop().await;
    Ok(())
}
