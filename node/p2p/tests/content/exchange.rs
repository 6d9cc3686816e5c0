//! The content store between real nodes on loopback: a 10 MB file and a
//! multi-block DAG by CID, a provider found through the IPFS DHT after the
//! first one left, bad input, and the HTTP gateway.

use std::time::Duration;

use cyteria_node::content::{ContentError, MAX_BLOCK_BYTES, cid_of, parse_cid};
use cyteria_node::node::Node;

use crate::common::*;

const TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 32);
    let mut h = blake3::Hasher::new();
    h.update(&seed.to_le_bytes());
    let mut reader = h.finalize_xof();
    out.resize(n, 0);
    reader.fill(&mut out);
    out
}

async fn stop(nodes: Vec<Node>) {
    for n in nodes {
        n.ctx.net.clone().stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_exchange_a_10_mb_file_and_a_record_by_cid() {
    let nodes = nodes(2, Transport::Tcp).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let file = pseudo_random(10 * 1024 * 1024, 1);
    let cid = a.content.add(file.clone()).await.unwrap();
    // A file of 40 chunks is a DAG: a root linking to its leaves.
    assert_ne!(
        cid.codec(),
        0x55,
        "the root is a dag-pb node, not a raw block"
    );
    let got = b
        .content
        .cat(&cid, &[a.net().peer_id], TIMEOUT)
        .await
        .unwrap();
    assert_eq!(got.len(), file.len());
    assert!(got == file, "the bytes arrive intact");
    b.content.pin(&cid).await.unwrap();
    assert!(b.content.pins().await.unwrap().contains(&cid));

    let record = b"a transcript, say".to_vec();
    let rcid = b.content.put(record.clone()).await.unwrap();
    assert_eq!(rcid, cid_of(&record));
    assert_eq!(
        a.content
            .get(&rcid, &[b.net().peer_id], TIMEOUT)
            .await
            .unwrap(),
        record
    );
    b.content.unpin(&cid).await.unwrap();
    assert!(!b.content.pins().await.unwrap().contains(&cid));
    stop(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_file_named_where_a_4_mib_record_is_expected_is_refused_unread() {
    let nodes = nodes(2, Transport::Tcp).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let file = pseudo_random(64 << 20, 7);
    let cid = a.content.add(file).await.unwrap();
    let started = std::time::Instant::now();
    let got = b
        .content
        .get_record_within(&cid, &[a.net().peer_id], TIMEOUT, 4 << 20)
        .await;
    // Refused once past the limit: what was read is the limit and a
    // chunk or so (the traversal fetches a few blocks ahead), not 64 MiB.
    assert!(
        matches!(got, Err(ContentError::TooLarge(n)) if n > 4 << 20 && n < 8 << 20),
        "{got:?}"
    );
    b.content.discard(&cid).await;
    assert!(!b.content.has(&cid).await, "the refused root is not kept");
    eprintln!("refused in {:?}", started.elapsed());
    // Under the limit, the same call reads a record whole.
    let small = pseudo_random(3 << 20, 8);
    let scid = a.content.add(small.clone()).await.unwrap();
    let got = b
        .content
        .get_record_within(&scid, &[a.net().peer_id], TIMEOUT, 4 << 20)
        .await
        .unwrap();
    assert!(got == small);
    stop(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_node_finds_a_second_provider_through_the_dht_when_the_first_left() {
    // A DHT node everyone knows, a first provider, a second that fetched
    // and keeps the file, and a latecomer that knows only the DHT node.
    let hub = node(Transport::Tcp, None).await;
    let first = node(Transport::Tcp, Some(&hub)).await;
    let second = node(Transport::Tcp, Some(&hub)).await;
    let file = pseudo_random(600 * 1024, 2);
    let cid = first.content.add(file.clone()).await.unwrap();
    assert_eq!(
        second
            .content
            .cat(&cid, &[first.net().peer_id], TIMEOUT)
            .await
            .unwrap(),
        file
    );
    second.content.pin(&cid).await.unwrap();
    second.content.provide(&cid).await.unwrap();
    first.ctx.net.clone().stop().await;

    let late = node(Transport::Tcp, Some(&hub)).await;
    // The IPFS DHT names the second provider to the latecomer: the record
    // it published, not a peer the latecomer happened to be connected to.
    let found = tokio::time::timeout(TIMEOUT, async {
        use futures::StreamExt;
        loop {
            let mut records = late.net().ipfs.get_providers(cid).await.unwrap();
            while let Some(r) = records.next().await {
                if r.is_ok_and(|peers| peers.contains(&second.net().peer_id)) {
                    return true;
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await;
    assert_eq!(found, Ok(true), "the DHT names the second provider");
    let got = late.content.cat(&cid, &[], TIMEOUT).await.unwrap();
    assert!(got == file);
    stop(vec![hub, second, late]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cids_oversized_and_mismatched_blocks_are_clear_errors_and_nothing_is_stored() {
    let nodes = nodes(2, Transport::Tcp).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    assert!(matches!(
        parse_cid("not a cid"),
        Err(cyteria_node::block::CidError(_))
    ));
    assert!(matches!(
        parse_cid(&"b".repeat(500)),
        Err(cyteria_node::block::CidError(_))
    ));
    let unknown = cid_of(b"nobody has this");
    let e = b
        .content
        .get(&unknown, &[a.net().peer_id], Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(matches!(e, ContentError::NotFound { .. }), "{e}");
    let big = vec![7u8; MAX_BLOCK_BYTES + 1];
    assert!(matches!(
        a.content.put(big.clone()).await,
        Err(ContentError::TooLarge(_))
    ));
    assert!(!a.content.has(&cid_of(&big)).await);
    let wrong = cid_of(b"these bytes");
    let e = a
        .content
        .put_block(wrong, b"other bytes".to_vec())
        .await
        .unwrap_err();
    assert!(matches!(e, ContentError::Mismatch(_)), "{e}");
    assert!(
        !a.content.has(&wrong).await,
        "a block that does not match its CID is not stored"
    );
    stop(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_serves_files_and_blocks_and_refuses_bad_cids() {
    let nodes = nodes(2, Transport::Tcp).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let json = br#"{"name":"Sword","attributes":[{"trait_type":"damage","value":14}]}"#.to_vec();
    let jcid = a.content.put(json.clone()).await.unwrap();
    let file = pseudo_random(700 * 1024, 3);
    let fcid = a.content.add(file.clone()).await.unwrap();
    // B serves what A holds, fetching it.
    b.net()
        .ipfs
        .connect(a.net().addresses().await[0].clone())
        .await
        .ok();
    let (addr, _task) =
        cyteria_node::gateway::serve(b.content.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
    let get = |path: String| async move { http_get(addr, &path).await };
    let (status, ctype, body) = get(format!("/ipfs/{jcid}")).await;
    assert_eq!((status, ctype.as_str()), (200, "application/json"));
    assert_eq!(body, json);
    let (status, _, body) = get(format!("/ipfs/{fcid}")).await;
    assert_eq!(status, 200);
    assert!(body == file);
    let (status, _, _) = get("/ipfs/not-a-cid".to_string()).await;
    assert_eq!(status, 400);
    // A page that pointed its own name at this machine (DNS rebinding)
    // reads nothing; localhost by name does.
    let (status, _, body) = http_get_as(addr, &format!("/ipfs/{jcid}"), "evil.example:8080").await;
    assert_eq!(status, 403);
    assert!(body != json);
    let host = format!("localhost:{}", addr.port());
    let (status, _, _) = http_get_as(addr, &format!("/ipfs/{jcid}"), &host).await;
    assert_eq!(status, 200);
    stop(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_serves_a_batch_of_items_metadata_and_sprites() {
    use cyteria_game::item::{ItemStats, ItemType, Rarity, Trait, Traits};
    use cyteria_settlement::proposal::MintedItem;
    let nodes = nodes(2, Transport::Tcp).await;
    let (validator, player) = (&nodes[0], &nodes[1]);
    let stats = [
        ItemStats {
            item_type: ItemType::Weapon,
            rarity: Rarity::Epic,
            damage: 44,
            defense: 0,
            durability: 300,
            traits: Traits::NONE.with(Trait::Burn).with(Trait::Quick),
        },
        ItemStats {
            item_type: ItemType::Armor,
            rarity: Rarity::Common,
            damage: 0,
            defense: 9,
            durability: 150,
            traits: Traits::NONE,
        },
    ];
    let items: Vec<MintedItem> = stats
        .iter()
        .enumerate()
        .map(|(i, s)| MintedItem {
            to: alloy::primitives::Address::ZERO,
            id: cyteria_settlement::ids::encode(s, 12, i as u16).unwrap(),
            stats: *s,
        })
        .collect();
    let dir = cyteria_node::metadata::publish(&validator.content, &items)
        .await
        .unwrap()
        .unwrap();
    assert!(
        validator.content.pins().await.unwrap().contains(&dir),
        "the validator pins the directory"
    );
    // The player's gateway resolves `ipfs://<dir>/0.json`, fetching it from the validator.
    player
        .net()
        .ipfs
        .connect(validator.net().addresses().await[0].clone())
        .await
        .ok();
    let (addr, _task) =
        cyteria_node::gateway::serve(player.content.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
    let (status, ctype, body) = http_get(addr, &format!("/ipfs/{dir}/0.json")).await;
    assert_eq!(
        (status, ctype.as_str()),
        (200, "application/json"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let m: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(m["name"], "Epic Sword of Burn and Quick");
    let attrs = m["attributes"].as_array().unwrap();
    let value = |t: &str| {
        attrs
            .iter()
            .filter(|a| a["trait_type"] == t)
            .map(|a| a["value"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(value("Type"), ["Weapon"]);
    assert_eq!(value("Rarity"), ["Epic"]);
    assert_eq!(value("Damage"), [44]);
    assert_eq!(value("Defense"), [0]);
    assert_eq!(value("Durability"), [300]);
    assert_eq!(value("Trait"), ["Burn", "Quick"]);
    // The image: by its own CID, and by its name in the directory.
    let image = m["image"]
        .as_str()
        .unwrap()
        .strip_prefix("ipfs://")
        .unwrap()
        .to_string();
    let (status, ctype, png) = http_get(addr, &format!("/ipfs/{image}")).await;
    assert_eq!((status, ctype.as_str()), (200, "image/png"));
    assert_eq!(
        png,
        cyteria_node::metadata::sprite_png(&stats[0]),
        "the sprite drawn from the stats"
    );
    let (status, _, by_name) = http_get(addr, &format!("/ipfs/{dir}/0.png")).await;
    assert_eq!((status, by_name == png), (200, true));
    let (status, _, body) = http_get(addr, &format!("/ipfs/{dir}/1.json")).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["properties"]["defense"],
        9
    );
    let (status, _, body) = http_get(addr, &format!("/ipfs/{dir}/7.json")).await;
    assert_eq!(
        status,
        404,
        "no such item in the batch: {}",
        String::from_utf8_lossy(&body)
    );
    let (status, _, _) = http_get(addr, &format!("/ipfs/{dir}/../x")).await;
    assert_eq!(status, 400);
    stop(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_comes_by_direct_request_and_bad_requests_are_refused() {
    use cyteria_node::direct::{BLOCK_PROTOCOL, request};
    use cyteria_node::framing::write_frame;
    let nodes = nodes(2, Transport::Tcp).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let record = pseudo_random(300_000, 9);
    let cid = a.content.put(record.clone()).await.unwrap();
    let block = request(&b.net().ipfs, a.net().peer_id, &cid, TIMEOUT)
        .await
        .unwrap();
    assert_eq!(block.data(), &record[..], "the bytes arrive intact");
    // A block A does not hold is a clear "not found".
    let unknown = cid_of(b"nobody has this");
    let e = request(&b.net().ipfs, a.net().peer_id, &unknown, TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        matches!(e, cyteria_node::direct::DirectError::NotFound),
        "{e}"
    );
    // Garbage for a CID, and a frame claiming 4 GB: A drops the stream and
    // goes on answering.
    for junk in [b"not a cid".to_vec(), vec![0xff; 4]] {
        let mut s = b
            .net()
            .ipfs
            .open_stream(a.net().peer_id, libp2p::StreamProtocol::new(BLOCK_PROTOCOL))
            .await
            .unwrap();
        if junk.len() == 4 {
            use futures::AsyncWriteExt;
            s.write_all(&junk).await.unwrap();
            s.flush().await.unwrap();
        } else {
            write_frame(&mut s, &junk).await.unwrap();
        }
        let mut buf = [0u8; 1];
        use futures::AsyncReadExt;
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("A closes the stream");
        assert!(matches!(n, Ok(0) | Err(_)), "no answer to junk: {n:?}");
    }
    let again = request(&b.net().ipfs, a.net().peer_id, &cid, TIMEOUT)
        .await
        .unwrap();
    assert_eq!(again.data(), &record[..]);
    stop(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_readers_that_never_read_do_not_block_block_requests() {
    use cyteria_node::direct::{BLOCK_PROTOCOL, request};
    use cyteria_node::framing::write_frame;
    // A serves; B and C each open eight streams that ask for a 1 MiB
    // block and never read the answer; D then asks for it.
    let nodes = nodes(4, Transport::Tcp).await;
    let (a, d) = (&nodes[0], &nodes[3]);
    let record = pseudo_random(1 << 20, 11);
    let cid = a.content.put(record.clone()).await.unwrap();
    let mut held = vec![];
    for slow in &nodes[1..3] {
        for _ in 0..8 {
            let mut s = slow
                .net()
                .ipfs
                .open_stream(a.net().peer_id, libp2p::StreamProtocol::new(BLOCK_PROTOCOL))
                .await
                .unwrap();
            // A drops what is over a peer's share: its write may fail.
            let _ = write_frame(&mut s, &cid.to_bytes()).await;
            held.push(s);
        }
    }
    let started = std::time::Instant::now();
    let block = request(&d.net().ipfs, a.net().peer_id, &cid, TIMEOUT)
        .await
        .expect("answered while sixteen streams sit unread");
    assert_eq!(block.data(), &record[..]);
    eprintln!(
        "answered in {:?} beside 16 unread streams",
        started.elapsed()
    );
    assert!(
        started.elapsed() < cyteria_node::direct::ANSWER_TIMEOUT,
        "served at once, not after the slow readers timed out"
    );
    drop(held);
    stop(nodes).await;
}
