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
    pub arena: Arena,
    pub state: State,
}

impl Game {
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

    pub fn load(&mut self, state: &State) {
        self.state.clone_from(state);
    }

    pub fn checksum(&self) -> Checksum {
        self.state.checksum()
    }

    pub fn frame(&self) -> u32 {
        self.state.frame
    }

    pub fn is_over(&self) -> bool {
        self.state.end.is_some()
    }
}
