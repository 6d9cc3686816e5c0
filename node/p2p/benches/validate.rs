//! A validator's work per match: decoding a signed transcript, checking
//! every player's signatures (ed25519 batch verification), and re-simulating
//! it; and raw signature throughput, batched and one by one.
//!
//! `cargo bench -p cyteria-node --bench validate`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cyteria_game::transcript::{
    Beacon, InputChain, MatchHeader, PlayerSlot, SignedCheckpoint, Transcript,
};
use cyteria_game::{Rules, scenario};
use cyteria_node::identity::Identity;
use cyteria_node::signing::{checkpoint_message, sign_checkpoint, sign_end};
use cyteria_node::verifier::verify_transcript;

/// A 2-player bot match of up to `frames` frames, signed every 60 frames as nodes sign.
fn signed_match(frames: u32) -> Transcript {
    let ids = [Identity::generate(), Identity::generate()];
    let mut header = scenario::header(
        11,
        2,
        Rules {
            waves: 9,
            time_limit: frames,
        },
    );
    for (slot, id) in header.players.iter_mut().zip(&ids) {
        *slot = PlayerSlot {
            public_key: id.public_key(),
            loadout: slot.loadout,
            items: Default::default(),
        };
    }
    // Its seed drawn from its beacon, as a lobby draws it.
    let header = MatchHeader::from_beacon(
        header.match_id,
        Beacon::default(),
        header.rules,
        header.players,
    );
    let (inputs, game) = scenario::bot_match(&header, frames);
    let digest = header.digest();
    let checkpoints = (0..2)
        .map(|seat| {
            let mut chain = InputChain::new(&header.match_id, seat as u8);
            let mut cps = vec![];
            for (f, i) in inputs[seat].iter().enumerate() {
                chain.push(*i);
                if (f + 1) % 60 == 0 || f + 1 == inputs[seat].len() {
                    let w = sign_checkpoint(&ids[seat], &digest, seat as u8, &chain);
                    cps.push(SignedCheckpoint {
                        frame: w.frame,
                        chain: w.chain,
                        signature: w.signature,
                    });
                }
            }
            cps
        })
        .collect();
    let frames = inputs[0].len() as u32;
    let ends = ids
        .iter()
        .map(|id| Some(sign_end(id, &digest, frames, 0, &game.checksum())))
        .collect();
    Transcript {
        header,
        inputs,
        checkpoints,
        final_checksum: game.checksum(),
        ends,
    }
}

fn benches(c: &mut Criterion) {
    let t = signed_match(18_000);
    let bytes = t.encode();
    let frames = t.frames();
    let sigs: usize = t.checkpoints.iter().map(Vec::len).sum();
    verify_transcript(&bytes).expect("the benchmark's transcript verifies");
    let mut g = c.benchmark_group("validator");
    g.sample_size(20);
    g.throughput(Throughput::Elements(u64::from(frames)));
    g.bench_function(
        format!("verify a signed 2-player transcript ({frames} frames, {sigs} signatures)"),
        |b| b.iter(|| verify_transcript(black_box(&bytes)).unwrap()),
    );
    g.finish();

    // Raw ed25519: 1,024 checkpoint signatures by 4 keys.
    let ids: Vec<Identity> = (0..4).map(|_| Identity::generate()).collect();
    let msgs: Vec<Vec<u8>> = (0..1024u32)
        .map(|i| checkpoint_message(&[7; 32], (i % 4) as u8, i, &[i as u8; 32]))
        .collect();
    let sigs: Vec<ed25519_dalek::Signature> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| ed25519_dalek::Signature::from_bytes(&ids[i % 4].sign(m)))
        .collect();
    let keys: Vec<ed25519_dalek::VerifyingKey> = (0..1024)
        .map(|i| ed25519_dalek::VerifyingKey::from_bytes(&ids[i % 4].public_key()).unwrap())
        .collect();
    let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    let mut g = c.benchmark_group("ed25519");
    g.throughput(Throughput::Elements(1024));
    g.bench_function("1,024 signatures, batch verification", |b| {
        b.iter(|| ed25519_dalek::verify_batch(black_box(&refs), &sigs, &keys).unwrap())
    });
    g.bench_function("1,024 signatures, one by one (strict)", |b| {
        b.iter(|| {
            for ((m, s), k) in refs.iter().zip(&sigs).zip(&keys) {
                k.verify_strict(black_box(m), s).unwrap();
            }
        })
    });
    g.finish();
}

criterion_group!(validator, benches);
criterion_main!(validator);
