//! A ggrs SyncTestSession rolls back every frame (check distance 7) over
//! 10,000 frames of randomized inputs for 4 players and compares checksums.

use cyteria_game::rng::Rng;
use cyteria_game::{Game, Input, Rules, bot, scenario};
use ggrs::{GgrsRequest, PlayerType, SessionBuilder};

struct Config;
impl ggrs::Config for Config {
    type Input = Input;
    type InputPredictor = ggrs::PredictRepeatLast;
    type State = cyteria_game::State;
    type Address = usize;
}

fn run(game: &mut Game, requests: Vec<GgrsRequest<Config>>) {
    for r in requests {
        match r {
            GgrsRequest::SaveGameState { cell, frame } => {
                cell.save(frame, Some(game.save()), Some(game.checksum().as_u128()));
            }
            GgrsRequest::LoadGameState { cell, .. } => {
                let s = cell.load().expect("ggrs loads a state it saved");
                game.load(&s);
            }
            GgrsRequest::AdvanceFrame { inputs } => {
                let tick: Vec<Input> = inputs.iter().map(|(i, _)| *i).collect();
                game.step(&tick);
            }
        }
    }
}

#[test]
fn sync_test_session_rolls_back_10k_frames_without_mismatch() {
    const PLAYERS: usize = 4;
    const FRAMES: usize = 10_000;
    let rules = Rules {
        waves: 20,
        time_limit: 30 * 60 * 60,
    };
    let header = scenario::header(2024, PLAYERS, rules);
    let mut game = Game::from_header(&header);
    let mut builder = SessionBuilder::<Config>::new()
        .with_num_players(PLAYERS)
        .expect("4 players")
        .with_check_distance(7)
        .with_input_delay(0);
    for p in 0..PLAYERS {
        builder = builder
            .add_player(PlayerType::Local, p)
            .expect("local player");
    }
    let mut session = builder.start_synctest_session().expect("sync test session");
    let mut rng = Rng::new(1, "sync test inputs");
    let mut live_frames = 0;
    let mut max_entities = 0;
    for _ in 0..FRAMES {
        // Half bot play (so the match stays eventful), half random bits.
        for p in 0..PLAYERS {
            let input = if rng.chance(500) {
                bot::input(&game.arena, &game.state, p)
            } else {
                Input(rng.next_u32() as u16 & Input::MASK)
            };
            session.add_local_input(p, input).expect("valid handle");
        }
        let requests = session.advance_frame().expect("no checksum mismatch");
        run(&mut game, requests);
        if !game.is_over() {
            live_frames += 1;
        }
        max_entities = max_entities.max(game.state.entity_count());
    }
    assert!(
        live_frames >= 2_000,
        "the match was live for only {live_frames} frames"
    );
    assert!(
        max_entities > 20,
        "the match never got busy ({max_entities} entities)"
    );
}

/// The sync test would miss non-determinism that only shows between two
/// separate runs; replaying the same inputs on a fresh game must agree too.
#[test]
fn two_independent_runs_agree_frame_by_frame() {
    let header = scenario::header(77, 3, Rules::default());
    let inputs = scenario::scripted_inputs(77, 3, 3_000);
    let mut a = Game::from_header(&header);
    let mut b = Game::from_header(&header);
    for f in 0..3_000 {
        let tick: Vec<Input> = inputs.iter().map(|v| v[f]).collect();
        a.step(&tick);
        b.step(&tick);
        assert_eq!(a.checksum(), b.checksum(), "diverged at frame {f}");
    }
}
