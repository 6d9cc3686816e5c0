use std::time::Duration;

use cyteria_node::adversary::{Adversary, Cheat};
use cyteria_node::framing::write_frame;
use cyteria_node::identity::Identity;
use cyteria_node::net::{NetConfig, Role};
use cyteria_node::node::Node;
use cyteria_node::session::{Ending, SessionConfig};
use cyteria_node::signing::verify_transcript_signatures;
use cyteria_node::wire::{self, LobbyMessage, Offer, RollbackFrame};
use futures::AsyncWriteExt;
use libp2p::{PeerId, StreamProtocol};

use crate::common::*;

fn fast() -> SessionConfig {
    SessionConfig {
        tick_hz: 120,
        disconnect_timeout_ms: 5_000,
        sync_timeout_ms: 40_000,
        ..Default::default()
    }
}

async fn outsider(bootstrap: &[&Node], forge: bool) -> Node {
    let mut cfg = NetConfig::loopback(Role::Player);
    cfg.listen = listen(Transport::Tcp);
    for b in bootstrap {
        cfg.bootstrap.extend(b.net().addresses().await);
    }
    if forge {
        cfg.behaviour.forge_author = Some(Identity::generate().peer_id());
    }
    Node::builder(cfg).start().await.unwrap()
}

async fn junk_stream(from: &Node, to: PeerId, bytes: &[u8]) {
    let protocol = StreamProtocol::new(wire::ROLLBACK_PROTOCOL);
    if let Ok(mut s) = from.net().ipfs.open_stream(to, protocol).await {
        let _ = s.write_all(bytes).await;
        let _ = s.flush().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_and_unsigned_input_is_rejected_while_the_match_finishes() {
    let mut honest = nodes(2, Transport::Tcp).await;
    // One attacker per kind of bad gossip: gossipsub itself graylists a
    // peer after its first invalid message, so later ones would not arrive.
    let mut attackers = vec![];
    for _ in 0..3 {
        attackers.push(outsider(&[&honest[0], &honest[1]], false).await);
    }
    let attacker = &attackers[0];
    let forger = outsider(&[&honest[0], &honest[1]], true).await;
    let a = honest[0].net().peer_id;
    let b_node_net = honest[1].net().clone();
    let mut current = honest[0].current.subscribe();
    let cfgs = vec![player(2, 1_200, fast()); 2];
    let play = tokio::spawn(async move {
        let reports = play_one(&mut honest, &cfgs).await;
        (honest, reports)
    });
    let match_id = loop {
        current.changed().await.unwrap();
        if let Some(id) = *current.borrow() {
            break id;
        }
    };

    // Rollback streams to A: a malformed hello, an oversized frame, and a
    // well-formed hello for the live match from a peer that is not in it.
    junk_stream(attacker, a, b"\x00\x00\x00\x05hello").await;
    junk_stream(attacker, a, &(64u32 << 20).to_be_bytes()).await;
    let mut framed = vec![];
    write_frame(&mut framed, &RollbackFrame::Hello { match_id }.encode())
        .await
        .unwrap();
    junk_stream(attacker, a, &framed).await;

    // Gossip: garbage, an oversized lobby message, an offer the rules forbid.
    let _ = attackers[0]
        .net()
        .publish(wire::LOBBY_TOPIC, b"not a lobby message".to_vec())
        .await;
    let mut big = b"CYLB\x02".to_vec();
    big.resize(10_000, 7);
    let _ = attackers[1].net().publish(wire::LOBBY_TOPIC, big).await;
    let mut kind = player(2, 600, fast()).kind;
    kind.size = 9;
    let bad = LobbyMessage::Offer(Offer {
        offer_id: [1; 16],
        kind,
        loadout: Default::default(),
        items: Default::default(),
        beacon: Default::default(),
    });
    let _ = attackers[2]
        .net()
        .publish(wire::LOBBY_TOPIC, wire::LOBBY.encode(&bad))
        .await;
    // Unsigned messages claiming someone else's authorship.
    for _ in 0..3 {
        let _ = forger.net().publish(wire::LOBBY_TOPIC, bad.encode()).await;
    }

    // Gossipsub's own score of an attacker falls below zero at B (invalid
    // deliveries weigh at once, then decay: look while they count).
    let b_net = b_node_net;
    let mut negative = None;
    for _ in 0..100 {
        negative = b_net.gossip_score(attackers[2].net().peer_id).await;
        if negative.is_some_and(|s| s < 0.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        negative.is_some_and(|s| s < 0.0),
        "gossip score {negative:?}"
    );

    let (honest, reports) = play.await.unwrap();
    assert_finished_and_verified(&reports, &honest);
    let (ma, mb) = (&honest[0].net().metrics, &honest[1].net().metrics);
    assert_eq!(ma.rejected_total("rollback"), 3, "{}", ma.render());
    assert!(
        honest[0].net().app_score(&attacker.net().peer_id) <= -100.0,
        "the attacker is banned at A"
    );
    assert!(mb.rejected_total("gossip") >= 3, "{}", mb.render());
    let text = mb.render();
    for reason in [
        "bad magic",
        "oversized",
        "invalid: a match has 1 to 4 players",
    ] {
        assert!(
            text.contains(&format!("reason=\"{reason}\"")),
            "{reason} not counted:\n{text}"
        );
    }
    // The forger's unsigned messages never reach the application.
    assert!(!text.contains("reason=\"unsigned\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_with_bad_signatures_is_rejected_and_no_transcript_carries_them() {
    let mut nodes = nodes(2, Transport::Tcp).await;
    let cheat = SessionConfig {
        adversary: Adversary::cheating(Cheat::BadSignatures),
        ..fast()
    };
    let reports = play_one(&mut nodes, &[player(2, 900, fast()), player(2, 900, cheat)]).await;
    let honest = &reports[0];
    assert!(honest.rejected_checkpoints >= 1, "{honest:?}");
    assert_ne!(honest.ending, Ending::Finished);
    assert!(honest.transcript.is_none());
    assert!(
        nodes[0].ctx.store.transcript_ids().is_empty(),
        "nothing forged is stored"
    );
    assert!(
        nodes[0]
            .net()
            .metrics
            .render()
            .contains("reason=\"bad checkpoint signature\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_signed_chains_for_one_frame_are_caught_and_kept_as_evidence() {
    let mut nodes = nodes(3, Transport::Tcp).await;
    let cheat = SessionConfig {
        adversary: Adversary::cheating(Cheat::Equivocate),
        ..fast()
    };
    let cfgs = [
        player(3, 900, fast()),
        player(3, 900, fast()),
        player(3, 900, cheat),
    ];
    let reports = play_one(&mut nodes, &cfgs).await;
    let evidence: Vec<_> = nodes[..2]
        .iter()
        .flat_map(|n| n.ctx.store.evidence())
        .collect();
    assert!(!evidence.is_empty(), "{reports:?}");
    let cheater_key = nodes[2].ctx.identity.public_key();
    for e in evidence {
        let e = e.expect("evidence decodes");
        assert!(e.is_valid());
        assert_eq!(e.public_key, cheater_key);
    }
}

/// Four players, one equivocating: each honest node files the evidence
/// once for each (seat, frame), however many copies its peers relay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_four_player_equivocation_is_filed_once_not_stormed() {
    let mut nodes = nodes(4, Transport::Tcp).await;
    let cheat = SessionConfig {
        adversary: Adversary::cheating(Cheat::Equivocate),
        ..fast()
    };
    let cfgs = [
        player(4, 600, fast()),
        player(4, 600, fast()),
        player(4, 600, fast()),
        player(4, 600, cheat),
    ];
    let reports = play_one(&mut nodes, &cfgs).await;
    let mut caught = 0;
    for (n, r) in nodes[..3].iter().zip(&reports) {
        let kept = n.ctx.store.evidence().len();
        // one equivocated checkpoint a frame; each node files it once
        assert!(
            r.evidence <= kept as u64,
            "{} filings for {kept} kept",
            r.evidence
        );
        caught += r.evidence;
    }
    assert!(caught > 0, "the equivocation was caught");
}

/// A checkpoint signed for frame u32::MAX is refused, costs its sender,
/// and the match goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_at_frame_u32_max_is_refused_and_the_match_finishes() {
    let mut nodes = nodes(3, Transport::Tcp).await;
    let cheat = SessionConfig {
        adversary: Adversary::cheating(Cheat::FarCheckpoint),
        ..fast()
    };
    let cfgs = [
        player(3, 600, fast()),
        player(3, 600, fast()),
        player(3, 600, cheat),
    ];
    let reports = play_one(&mut nodes, &cfgs).await;
    let cheater = nodes[2].net().peer_id;
    for (n, r) in nodes[..2].iter().zip(&reports) {
        // Played on: to the end, or until the cheater, banned, left.
        assert!(
            r.frames >= 120 && !matches!(r.ending, Ending::Failed { .. }),
            "the match played on: {:?} at frame {}",
            r.ending,
            r.frames
        );
        assert!(
            n.ctx
                .net
                .metrics
                .render()
                .contains("checkpoint past the end"),
            "refused as past the end"
        );
        assert!(n.net().app_score(&cheater) < 0.0);
    }
}

/// A player that vanishes mid-match: the two that stay end the match at the
/// last frame every seat signed and sign an end record naming the seat that
/// left. The transcript verifies and every seat, the one that left too, is
/// credited up to there (its own checkpoints cover it), none further. Who
/// drops a stayer's signature to pass it off as gone changes the record the
/// other stayer signed, and is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_vanishing_mid_match_leaves_the_others_a_signed_end_naming_it() {
    use cyteria_node::verifier::verify_transcript;
    let mut nodes = nodes(3, Transport::Tcp).await;
    let gone = SessionConfig {
        adversary: Adversary::vanishing_after(400),
        ..fast()
    };
    let fast = || SessionConfig {
        disconnect_timeout_ms: 3_000,
        ..fast()
    };
    let cfgs = [
        player(3, 3_000, fast()),
        player(3, 3_000, fast()),
        player(3, 3_000, gone),
    ];
    let reports = play_one(&mut nodes, &cfgs).await;
    for (n, r) in nodes[..2].iter().zip(&reports[..2]) {
        assert!(
            matches!(&r.ending, Ending::PeerLeft { peers } if peers == &vec![nodes[2].net().peer_id.to_string()]),
            "{r:?}"
        );
        let t = r.transcript.clone().expect("a partial transcript");
        assert!(t.frames() > 0 && t.frames() <= 400, "{} frames", t.frames());
        let outcome = t.verify().expect("the partial transcript replays");
        assert_eq!(outcome.frames, t.frames());
        verify_transcript_signatures(&t.header, &t.inputs, &t.checkpoints)
            .expect("signed by all three");
        let gone = t
            .header
            .players
            .iter()
            .position(|p| p.public_key == nodes[2].ctx.identity.public_key())
            .unwrap();
        assert_eq!(
            t.ending(),
            cyteria_game::transcript::ending_left([gone]),
            "the end record names the seat that left"
        );
        assert_eq!(t.ends.iter().filter(|e| e.is_some()).count(), 2);
        verify_transcript(&t.encode()).expect("the stayers' end record verifies");
        let mut passed_off = t.clone();
        let stayer = (gone + 1) % 3;
        passed_off.ends[stayer] = None;
        let refused = verify_transcript(&passed_off.encode()).unwrap_err();
        assert_eq!(refused.label(), "bad end record", "{refused}");
        assert_eq!(n.ctx.store.transcript(&t.header.match_id).unwrap(), Some(t));
    }
    assert_eq!(
        reports[0].transcript, reports[1].transcript,
        "both stayers kept the same match"
    );
}

/// A rollback hello for a match this node has not agreed to is what an
/// honest player's retries look like when the two lobbies disagreed: a few
/// of them must not ban the sender (three did, and the banned player's
/// retries then dialed the banning node twenty times a second). A flood of
/// them still does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hellos_for_a_match_not_agreed_here_ban_only_a_flood() {
    let nodes = nodes(2, Transport::Tcp).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let a_id = a.net().peer_id;
    let b_id = b.net().peer_id;
    let hello = async |match_id: [u8; 32]| {
        let mut framed = vec![];
        write_frame(&mut framed, &RollbackFrame::Hello { match_id }.encode())
            .await
            .unwrap();
        let protocol = StreamProtocol::new(wire::ROLLBACK_PROTOCOL);
        let mut s = b.net().ipfs.open_stream(a_id, protocol).await.ok()?;
        s.write_all(&framed).await.ok()?;
        s.flush().await.ok()?;
        Some(s)
    };
    // An honest peer's worth: three tries, for a match A never agreed to.
    // (A stream that fails to open, on a loaded machine, is opened again,
    // as the node's own retries do; it reaches A as one more hello.)
    let mut open = vec![];
    for _ in 0..3 {
        let mut tries = 0;
        let s = loop {
            if let Some(s) = hello([7; 32]).await {
                break s;
            }
            tries += 1;
            assert!(tries < 20, "no stream to A opens");
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        open.push(s);
    }
    let waited = tokio::time::Instant::now();
    while a.net().metrics.rejected_total("rollback") < 3 {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "A never gave up on the hellos"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        a.net().app_score(&b_id) > cyteria_node::net::BAN_SCORE,
        "an honest peer's retries banned it: score {}",
        a.net().app_score(&b_id)
    );
    assert!(a.net().connected().await.contains(&b_id));
    drop(open);

    // A flood: sixty hellos for made-up matches.
    let mut open = vec![];
    for i in 0..60u8 {
        if let Some(s) = hello([i; 32]).await {
            open.push(s);
        }
    }
    let waited = tokio::time::Instant::now();
    while a.net().app_score(&b_id) > cyteria_node::net::BAN_SCORE {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "a flood of unknown matches is not banned: score {}",
            a.net().app_score(&b_id)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(open);
    for n in nodes {
        n.ctx.net.clone().stop().await;
    }
}

/// Anyone holding a transcript can cut it at a checkpoint every seat signed
/// and compute the prefix's own final checksum: every input signature still
/// holds. Only the end record, which every seat signs at the real end,
/// tells the whole match from the prefix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_cut_at_a_checkpoint_every_seat_signed_is_not_the_match() {
    use cyteria_node::verifier::verify_transcript;
    let mut nodes = nodes(2, Transport::Tcp).await;
    let cfgs = vec![player(2, 600, fast()); 2];
    let reports = play_one(&mut nodes, &cfgs).await;
    let t = assert_finished_and_verified(&reports, &nodes);
    assert!(t.frames() > 60);
    let cut = 60u32;
    let mut prefix = cyteria_node::adversary::cut_at(&t, cut);
    for cps in &prefix.checkpoints {
        assert_eq!(
            cps.last().map(|c| c.frame),
            Some(cut),
            "a checkpoint at the cut"
        );
    }
    prefix.verify().expect("the prefix replays");
    // What the old checks looked at holds for the prefix.
    verify_transcript_signatures(&prefix.header, &prefix.inputs, &prefix.checkpoints)
        .expect("the prefix's input signatures hold");
    // The whole match's end records do not cover the prefix's end…
    let refused = verify_transcript(&prefix.encode()).unwrap_err();
    assert_eq!(refused.label(), "bad end record", "{refused}");
    // …and without them there is no end at all.
    prefix.ends.clear();
    let refused = verify_transcript(&prefix.encode()).unwrap_err();
    assert_eq!(refused.label(), "no signed end", "{refused}");
    // The whole match verifies.
    verify_transcript(&t.encode()).expect("the whole match verifies");
    for n in nodes {
        n.ctx.net.clone().stop().await;
    }
}

/// A seat's loadout is its own word in the header: two keys that sign a
/// match played offline with a `damage: 65535` weapon got a transcript
/// whose every signature held, and it verified. Validators refuse it now,
/// and a lobby offer with one never forms a match.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_god_weapon_wins_nothing() {
    use cyteria_game::crafting::starter_loadout;
    use cyteria_game::item::ItemStats;
    use cyteria_game::transcript::{Beacon, MatchHeader};
    use cyteria_game::{Rules, scenario};
    use cyteria_node::verifier::verify_transcript;

    let kit = starter_loadout();
    let god = cyteria_game::inventory::Loadout {
        weapon: Some(ItemStats {
            damage: u16::MAX,
            ..kit.weapon.unwrap()
        }),
        ..kit
    };
    // The match, played and signed offline by the cheater's two keys,
    // from the genesis beacon.
    let ids = [Identity::generate(), Identity::generate()];
    let h = scenario::header(
        5,
        2,
        Rules {
            waves: 2,
            time_limit: 600,
        },
    );
    let mut players = h.players.clone();
    for slot in &mut players {
        slot.loadout = god;
    }
    let header = MatchHeader::from_beacon(h.match_id, Beacon::default(), h.rules, players);
    let t = cyteria_node::adversary::fabricate(&ids, header, 600);
    verify_transcript_signatures(&t.header, &t.inputs, &t.checkpoints)
        .expect("every input signature holds");
    t.verify().expect("the core replays the match");
    let refused = verify_transcript(&t.encode()).unwrap_err();
    assert_eq!(refused.label(), "loadout not owned", "{refused}");

    // In the lobby, the offer is refused as it arrives.
    let nodes = nodes(2, Transport::Tcp).await;
    let mut kind = player(2, 600, fast()).kind;
    kind.waves = 2;
    let offer = LobbyMessage::Offer(Offer {
        offer_id: [9; 16],
        kind,
        loadout: god,
        items: Default::default(),
        beacon: Default::default(),
    });
    let a = nodes[0].net();
    let mut counted = false;
    for _ in 0..100 {
        let _ = nodes[1]
            .net()
            .publish(wire::LOBBY_TOPIC, offer.encode())
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        if a.metrics
            .render()
            .contains("reason=\"invalid: a loadout beyond the starter kit\"")
        {
            counted = true;
            break;
        }
    }
    assert!(counted, "{}", a.metrics.render());
    for n in nodes {
        n.ctx.net.clone().stop().await;
    }
}
