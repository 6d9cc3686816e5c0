//! The Cyteria window: a bevy app that draws the deterministic core's state
//! and plays through a Cyteria node inside it (`cyteria play`).
//!
//! The core stays free of bevy: this crate reads its [`cyteria_game::State`]
//! and never changes it. Matches are stepped by the node's rollback session
//! (online) or by [`view::LocalMatch`] (offline, screenshots, benchmarks);
//! the window draws the last two frames with interpolation between them.
//! Pure logic (bindings, interpolation, the screen flow, the HUD's texts) is
//! plain Rust with unit tests; bevy systems only copy it onto the screen.

pub mod app;
pub mod bindings;
pub mod draw;
pub mod hud;
pub mod input;
pub mod interp;
pub mod menus;
pub mod online;
pub mod screens;
pub mod settings;
pub mod sprites;
pub mod view;
pub mod wallet;
