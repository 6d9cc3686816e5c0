//! Decoders of untrusted bytes (transcripts, snapshots) return errors and
//! never panic: arbitrary bytes, truncations and single-byte corruptions of
//! valid encodings. (`game/core/fuzz` runs the same decoders under libFuzzer.)

use cyteria_game::codec::DecodeError;
use cyteria_game::{Input, Rules, State, Transcript, scenario};
use proptest::prelude::*;

fn sample_transcript() -> Transcript {
    let header = scenario::header(
        5,
        2,
        Rules {
            waves: 1,
            time_limit: 900,
        },
    );
    let (inputs, game) = scenario::bot_match(&header, 900);
    Transcript {
        header,
        inputs,
        checkpoints: vec![],
        ends: vec![],
        final_checksum: game.checksum(),
    }
}

#[test]
fn a_transcript_round_trips_and_verifies() {
    let t = sample_transcript();
    let back = Transcript::decode(&t.encode()).unwrap();
    assert_eq!(back, t);
    assert_eq!(back.verify().unwrap().final_checksum, t.final_checksum);
}

#[test]
fn every_truncation_of_a_transcript_is_an_error() {
    let bytes = sample_transcript().encode();
    for len in 0..bytes.len() {
        assert!(
            Transcript::decode(&bytes[..len]).is_err(),
            "prefix of {len} bytes decoded"
        );
    }
}

#[test]
fn structurally_invalid_transcripts_are_rejected() {
    let mut t = sample_transcript();
    t.inputs[1].pop();
    assert!(matches!(
        Transcript::decode(&t.encode()),
        Err(DecodeError::Invalid { .. })
    ));
    let mut t = sample_transcript();
    t.inputs[0][3] = Input(0xF000);
    assert!(matches!(
        Transcript::decode(&t.encode()),
        Err(DecodeError::Invalid { .. })
    ));
    let mut t = sample_transcript();
    t.header.players.clear();
    t.inputs.clear();
    assert!(matches!(
        Transcript::decode(&t.encode()),
        Err(DecodeError::Invalid { .. })
    ));
    let mut t = sample_transcript();
    t.header.players[1].public_key = t.header.players[0].public_key;
    assert!(matches!(
        Transcript::decode(&t.encode()),
        Err(DecodeError::Invalid { .. })
    ));
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let big = vec![0u8; 5 * 1024 * 1024];
    assert!(matches!(
        Transcript::decode(&big),
        Err(DecodeError::TooLarge { .. })
    ));
    assert!(matches!(
        State::decode(&big),
        Err(DecodeError::TooLarge { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Transcript::decode(&bytes);
        let _ = State::decode(&bytes);
        let mut framed = b"CYTX\x01".to_vec();
        framed.extend_from_slice(&bytes);
        let _ = Transcript::decode(&framed);
        let mut framed = b"CYSN\x01".to_vec();
        framed.extend_from_slice(&bytes);
        let _ = State::decode(&framed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn corrupted_encodings_never_panic(pos in any::<prop::sample::Index>(), byte in any::<u8>(), frames in 1usize..200) {
        let header = scenario::header(9, 2, Rules::default());
        let (_, game) = scenario::bot_match(&header, frames as u32);
        let mut snap = game.state.encode();
        let i = pos.index(snap.len());
        snap[i] = byte;
        if let Ok(s) = State::decode(&snap) {
            prop_assert_eq!(s.validate(), Ok(()));
        }
        let mut tx = sample_transcript().encode();
        let i = pos.index(tx.len());
        tx[i] = byte;
        if let Ok(t) = Transcript::decode(&tx) {
            prop_assert_eq!(t.validate(), Ok(()));
            let _ = t.verify();
        }
    }
}
