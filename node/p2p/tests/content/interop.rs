//! Interoperability: a stock IPFS implementation, helia (JavaScript, from
//! npm, installed by `make test` in `interop/helia`), dials a Cyteria node
//! and fetches a block from it over bitswap, and a UnixFS file's root.

use std::process::Stdio;

use cyteria_node::content::cid_of;

use crate::common::*;
use crate::exchange::pseudo_random;

/// Runs `interop/helia/fetch.mjs <addr> <cid>`: (sha-256 hex, length) of what helia got.
async fn helia_fetch(addr: &str, cid: &str) -> (String, usize) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/helia");
    assert!(
        dir.join("node_modules/helia").is_dir() && dir.join("node_modules/.bin/node").exists(),
        "helia is not installed: `make test` installs it (or `npm ci` in {})",
        dir.display()
    );
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tokio::process::Command::new(dir.join("node_modules/.bin/node"))
            .arg("fetch.mjs")
            .arg(addr)
            .arg(cid)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("helia finishes within 60 s")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "helia failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("helia prints JSON");
    (
        line["sha256"].as_str().unwrap().to_string(),
        line["bytes"].as_u64().unwrap() as usize,
    )
}

fn sha256_hex(b: &[u8]) -> String {
    use multihash_codetable::{Code, MultihashDigest};
    Code::Sha2_256
        .digest(b)
        .digest()
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helia_fetches_blocks_from_a_cyteria_node_over_bitswap() {
    let n = node(Transport::Tcp, None).await;
    let record = b"a transcript, as far as helia knows".repeat(100);
    let cid = n.content.put(record.clone()).await.unwrap();
    assert_eq!(cid, cid_of(&record));
    let mut addr = n
        .net()
        .addresses()
        .await
        .into_iter()
        .next()
        .unwrap()
        .to_string();
    if !addr.contains("/p2p/") {
        addr = format!("{addr}/p2p/{}", n.net().peer_id);
    }
    assert_eq!(
        helia_fetch(&addr, &cid.to_string()).await,
        (sha256_hex(&record), record.len())
    );
    // A file's root node (dag-pb) too: helia checks it against its CID.
    let file = pseudo_random(600 * 1024, 9);
    let root = n.content.add(file).await.unwrap();
    let (_, len) = helia_fetch(&addr, &root.to_string()).await;
    assert!(
        len > 0 && len < 1024,
        "a root node of three links: {len} bytes"
    );
    n.ctx.net.clone().stop().await;
}
