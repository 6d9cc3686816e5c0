//! Cyteria's deterministic simulation: a top-down co-op arena action-RPG
//! for 1–4 players at 60 ticks/s, with the items, crafting and transcript
//! verification that validators re-run.
//!
//! The core is a value you step, save and load, in the manner of ggrs: a
//! [`Game`] holds an immutable [`Arena`] generated from the match seed and a
//! [`State`] of flat, fixed-capacity pools. [`Game::step`] advances one tick
//! from one [`Input`] per player; [`Game::save`] and [`Game::load`] are plain
//! clones; [`State::checksum`] hashes the canonical encoding with blake3.
//! [`verify()`] re-simulates a [`Transcript`] and returns each player's
//! rewards.
//!
//! ```
//! use cyteria_game::{bot, scenario, verify, Rules};
//! let header = scenario::header(7, 2, Rules { waves: 1, time_limit: 600 });
//! let (inputs, game) = scenario::bot_match(&header, 600);
//! let outcome = verify(&header, &inputs).unwrap();
//! assert_eq!(outcome.final_checksum, game.checksum());
//! ```
//!
//! Caveat: determinism rests on rules kept by every module here: integer
//! math only (no `f32`/`f64`, enforced by clippy), no hash-ordered
//! containers, one generator inside the state, no time and no IO. A change
//! to the rules bumps [`RULES_VERSION`] and regenerates the golden checksums.
#![forbid(unsafe_code)]
#![deny(clippy::float_arithmetic, clippy::disallowed_types)]

pub mod arena;
pub mod bot;
pub mod codec;
pub mod combat;
pub mod crafting;
pub mod enemy;
pub mod game;
pub mod geometry;
pub mod input;
pub mod inventory;
pub mod item;
pub mod rng;
pub mod rules;
pub mod scenario;
pub mod sim;
pub mod sprite;
pub mod state;
pub mod transcript;
pub mod verify;

pub use arena::Arena;
pub use codec::DecodeError;
pub use game::Game;
pub use input::Input;
pub use inventory::{Inventory, Loadout, Material, Materials};
pub use item::{ItemStats, ItemType, Rarity, Trait, Traits};
pub use rules::{RULES_VERSION, Rules, TICK_RATE};
pub use state::{Checksum, MatchEnd, State};
pub use transcript::{InputChain, MatchHeader, PlayerSlot, SignedCheckpoint, Transcript};
pub use verify::{Outcome, PlayerOutcome, VerifyError, verify};
