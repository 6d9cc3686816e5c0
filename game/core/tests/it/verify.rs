//! `verify` re-simulates a match and derives the rewards from it alone.

use cyteria_game::{
    Input, MatchEnd, RULES_VERSION, Rules, Transcript, VerifyError, scenario, verify,
};

#[test]
fn verify_reproduces_a_bot_match_and_its_rewards() {
    let header = scenario::header(11, 4, Rules::default());
    let (inputs, game) = scenario::bot_match(&header, 18_000);
    let out = verify(&header, &inputs).unwrap();
    assert_eq!(out.final_checksum, game.checksum());
    assert_eq!(out.frames, game.frame());
    assert!(out.end.is_some());
    assert!(out.players.iter().map(|p| p.kills).sum::<u16>() > 0);
    assert!(
        out.players
            .iter()
            .all(|p| p.xp >= 50 * u32::from(out.waves_cleared))
    );
    for (p, s) in out.players.iter().zip(&game.state.players) {
        assert_eq!(p.xp, s.rewards.xp);
        assert_eq!(p.items, s.rewards.items.to_vec());
        assert!(p.wear[0] > 0, "fighting wears the weapon");
    }
}

#[test]
fn a_claimed_checksum_that_differs_is_rejected() {
    let header = scenario::header(
        12,
        2,
        Rules {
            waves: 1,
            time_limit: 1200,
        },
    );
    let (mut inputs, game) = scenario::bot_match(&header, 1200);
    let mut t = Transcript {
        header,
        inputs: inputs.clone(),
        checkpoints: vec![],
        ends: vec![],
        final_checksum: game.checksum(),
    };
    assert!(t.verify().is_ok());
    // Forge one input mid-match: the re-simulated result moves away from the claim.
    let mid = inputs[0].len() / 2;
    inputs[0][mid] = Input(Input::DODGE | Input::LEFT);
    t.inputs = inputs;
    assert!(matches!(
        t.verify(),
        Err(VerifyError::ChecksumMismatch { .. }) | Err(VerifyError::InputsAfterEnd { .. })
    ));
}

#[test]
fn malformed_input_sets_are_refused() {
    let header = scenario::header(13, 2, Rules::default());
    let inputs = scenario::scripted_inputs(13, 2, 100);
    assert_eq!(
        verify(&header, &inputs[..1]),
        Err(VerifyError::InputStreams {
            players: 2,
            streams: 1
        })
    );
    let mut uneven = inputs.clone();
    uneven[1].pop();
    assert_eq!(verify(&header, &uneven), Err(VerifyError::UnevenInputs));
    let mut bad = inputs.clone();
    bad[1][7] = Input(0x8000);
    assert_eq!(
        verify(&header, &bad),
        Err(VerifyError::NonCanonicalInput {
            player: 1,
            frame: 7
        })
    );
    let mut old = header.clone();
    old.rules_version = RULES_VERSION + 1;
    assert!(matches!(
        verify(&old, &inputs),
        Err(VerifyError::RulesVersion { .. })
    ));
}

#[test]
fn inputs_past_the_end_of_the_match_are_refused() {
    let header = scenario::header(
        14,
        1,
        Rules {
            waves: 1,
            time_limit: 120,
        },
    );
    let inputs = vec![vec![Input::default(); 121]];
    assert_eq!(
        verify(&header, &inputs),
        Err(VerifyError::InputsAfterEnd {
            ended_at: 120,
            frames: 121
        })
    );
    let out = verify(&header, &[vec![Input::default(); 120]]).unwrap();
    assert_eq!(out.end, Some(MatchEnd::Timeout));
}

#[test]
fn a_truncated_match_verifies_up_to_its_last_frame() {
    let header = scenario::header(15, 2, Rules::default());
    let (inputs, _) = scenario::bot_match(&header, 700);
    let out = verify(&header, &inputs).unwrap();
    assert_eq!(out.frames, 700);
    assert_eq!(out.end, None);
}
