use std::time::Duration;

use crate::common::*;

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not within 10 s: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_peer_is_cut_off_and_refused_until_unblocked() {
    let nodes = nodes(2, Transport::Tcp).await;
    let (a, b) = (nodes[0].net().clone(), nodes[1].net().clone());
    let (a_id, b_id) = (a.peer_id, b.peer_id);
    let a_addr = a.addresses().await.remove(0);
    eventually("the two connect", async || {
        a.connected().await.contains(&b_id)
    })
    .await;

    a.block(b_id);
    eventually("a closes its connections with b", async || {
        !a.connected().await.contains(&b_id)
    })
    .await;
    // b dials a again: a refuses the connection.
    let _ = b.ipfs.connect(a_addr.clone()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !a.connected().await.contains(&b_id),
        "a blocked peer got a connection"
    );
    assert!(
        !b.connected().await.contains(&a_id),
        "the blocked peer kept a connection"
    );

    a.unblock(b_id);
    eventually("b reaches a again", async || {
        let _ = b.ipfs.connect(a_addr.clone()).await;
        a.connected().await.contains(&b_id)
    })
    .await;
    for n in nodes {
        n.ctx.net.clone().stop().await;
    }
}
