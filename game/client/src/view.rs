//! What the window draws: the last two simulated frames of the match, and
//! the link's figures for the overlay. Two sources fill it: a local match
//! stepped here (offline play, the screenshot, the frame-time benchmark) or
//! a node's rollback session ([`crate::online`]).

use bevy::prelude::*;
use cyteria_game::{Arena, Game, Input, State, TICK_RATE, bot};

/// The match as drawn.
#[derive(Resource)]
pub struct Frames {
    /// The match's arena.
    pub arena: Arena,
    /// The seed the arena was generated from (a new one means a new arena).
    pub seed: u64,
    /// The local player's seat.
    pub seat: usize,
    /// The frame before `curr`.
    pub prev: State,
    /// The last simulated frame.
    pub curr: State,
    /// Seconds since `curr` arrived.
    pub since_tick: f32,
    /// The link's figures, for the overlay.
    pub link: LinkFigures,
}

/// The debug overlay's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LinkFigures {
    /// Round-trip time to the slowest peer, in milliseconds.
    pub ping_ms: u32,
    /// Rollbacks so far in the match.
    pub rollbacks: u32,
    /// Frames the last rollback went back.
    pub last_rollback_depth: u32,
    /// Frames this node runs ahead of the furthest-behind peer (negative when behind).
    pub frame_advantage: i32,
}

impl Frames {
    /// Both frames at `game`'s state, drawn for `seat`; `seed` is the arena's.
    pub fn new(game: &Game, seed: u64, seat: usize) -> Self {
        Frames {
            arena: game.arena.clone(),
            seed,
            seat,
            prev: game.state.clone(),
            curr: game.state.clone(),
            since_tick: 0.0,
            link: LinkFigures::default(),
        }
    }

    /// A new frame arrived: the current one becomes the previous.
    pub fn push(&mut self, next: State) {
        self.prev = std::mem::replace(&mut self.curr, next);
        self.since_tick = 0.0;
    }

    /// How far (0..=1) the drawing is from `prev` to `curr`.
    pub fn alpha(&self) -> f32 {
        crate::interp::alpha(self.since_tick, TICK_RATE)
    }
}

/// The input the local player holds down this tick, set by [`crate::input`].
#[derive(Resource, Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalInput(pub Input);

/// A match stepped in the window itself: the local seat plays from
/// [`LocalInput`] (or the bot, when `bot_seat` is set) and the core's bots
/// play the others. No network, no transcript: practice, and the
/// screenshot and frame-time runs.
#[derive(Resource)]
pub struct LocalMatch {
    /// The match, stepped here.
    pub game: Game,
    /// The local player's seat.
    pub seat: usize,
    /// The local seat is played by the bot too (screenshots, benchmarks).
    pub bot_seat: bool,
}

impl LocalMatch {
    /// One tick: every seat's input, then the core's step.
    pub fn step(&mut self, local: Input) {
        let mut inputs = bot::inputs(&self.game.arena, &self.game.state);
        if !self.bot_seat && self.seat < inputs.len() {
            inputs[self.seat] = local;
        }
        self.game.step(&inputs);
    }
}

/// Steps the local match at the fixed 60 Hz and hands each frame to the drawing.
pub fn step_local(mut m: ResMut<LocalMatch>, input: Res<LocalInput>, mut frames: ResMut<Frames>) {
    if m.game.is_over() {
        return;
    }
    m.step(input.0);
    frames.push(m.game.state.clone());
}

/// Advances the drawing's clock between frames.
pub fn tick_clock(time: Res<Time>, mut frames: ResMut<Frames>) {
    frames.since_tick += time.delta_secs();
}

#[cfg(test)]
mod tests {
    use super::*;
    use cyteria_game::{Rules, scenario};

    #[test]
    fn a_pushed_frame_becomes_current_and_the_old_one_previous() {
        let h = scenario::header(3, 2, Rules::default());
        let mut m = LocalMatch {
            game: Game::from_header(&h),
            seat: 0,
            bot_seat: false,
        };
        let mut f = Frames::new(&m.game, 3, 0);
        let first = m.game.state.clone();
        m.step(Input::default().moving(0));
        f.since_tick = 0.01;
        f.push(m.game.state.clone());
        assert_eq!(f.prev, first);
        assert_eq!(f.curr.frame, first.frame + 1);
        assert_eq!(f.since_tick, 0.0);
        // the local seat moved east as told
        assert!(f.curr.players[0].pos.x > f.prev.players[0].pos.x);
    }
}
