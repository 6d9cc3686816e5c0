//! A match as a value you step, save and load (the interface ggrs drives).

use crate::arena::Arena;
use crate::input::Input;
use crate::inventory::Loadout;
use crate::rules::Rules;
use crate::sim;
use crate::state::{Checksum, State};
use crate::transcript::MatchHeader;

/// One match: its immutable arena and its rollback state.
#[derive(Clone, Debug)]
pub struct Game {
    /// The level, generated from the seed; it never changes during the match.
    pub arena: Arena,
    /// Everything that changes during the match: what `save` and `load` copy.
    pub state: State,
}

impl Game {
    /// A fresh match of `seed` and `rules` at frame 0, one player per loadout (at most 4).
    pub fn new(seed: u64, rules: Rules, loadouts: &[Loadout]) -> Game {
        let arena = Arena::generate(seed);
        let state = State::new(&arena, seed, rules, loadouts);
        Game { arena, state }
    }

    /// The match a header describes (its header must be valid).
    pub fn from_header(header: &MatchHeader) -> Game {
        let loadouts: Vec<Loadout> = header.players.iter().map(|p| p.loadout).collect();
        Game::new(header.seed, header.rules, &loadouts)
    }

    /// Advances one tick.
    pub fn step(&mut self, inputs: &[Input]) {
        sim::step(&self.arena, &mut self.state, inputs);
    }

    /// A copy of the state (no heap allocation: every pool is inline).
    pub fn save(&self) -> State {
        self.state.clone()
    }

    /// Rolls back (or forward) to a state taken with `save`.
    pub fn load(&mut self, state: &State) {
        self.state.clone_from(state);
    }

    /// The checksum of the current state (see `State::checksum`).
    pub fn checksum(&self) -> Checksum {
        self.state.checksum()
    }

    /// Ticks stepped so far (0 before the first step).
    pub fn frame(&self) -> u32 {
        self.state.frame
    }

    /// Whether the match has ended (victory, defeat or timeout); further steps change nothing.
    pub fn is_over(&self) -> bool {
        self.state.end.is_some()
    }
}
