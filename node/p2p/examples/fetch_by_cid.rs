//! Content by CID between two nodes: A stores a record (pinned, announced
//! as a provider), B fetches it by its CID over bitswap and checks the
//! bytes against the CID before anyone reads them.
//!
//! `cargo run -p cyteria-node --example fetch_by_cid -- "some text"`

use std::time::Duration;

use cyteria_node::content::cid_of;
use cyteria_node::net::{NetConfig, Role};
use cyteria_node::node::Node;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let text = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "hello from Cyteria".into());
    let a = Node::builder(NetConfig::loopback(Role::Player))
        .start()
        .await?;
    let mut cfg = NetConfig::loopback(Role::Player);
    cfg.bootstrap = a.net().addresses().await;
    let b = Node::builder(cfg).start().await?;

    let cid = a.content.put_record(text.clone().into_bytes()).await?;
    assert_eq!(cid, cid_of(text.as_bytes()), "a record is one raw block");
    println!("A stored {} bytes as {cid}", text.len());
    let started = std::time::Instant::now();
    let bytes = b
        .content
        .get_record(&cid, &[a.net().peer_id], Duration::from_secs(30))
        .await?;
    println!(
        "B fetched {cid} in {:.1} ms: {:?}",
        started.elapsed().as_secs_f64() * 1000.0,
        String::from_utf8_lossy(&bytes)
    );
    a.net().clone().stop().await;
    b.net().clone().stop().await;
    Ok(())
}
