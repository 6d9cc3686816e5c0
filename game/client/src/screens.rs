//! The screens and the ways between them. `next` is the whole flow, as a
//! pure function the tests walk; the bevy side only turns key presses and
//! node events into [`Go`]s.

use bevy::prelude::*;

/// The screen the window shows.
#[derive(States, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Screen {
    /// The game key, the wallet binding, the menu.
    #[default]
    Title,
    /// Finding or hosting a match.
    Lobby,
    /// In a match.
    Match,
    /// Rewards, pending until a batch settles them on chain.
    Results,
    /// The wallet's items: crafting, and listing one for sale.
    Inventory,
    /// Listings and auction lots: buying, cancelling, bidding.
    Market,
    /// Key bindings, input delay and volume.
    Settings,
}

/// What moves the player from one screen to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Go {
    /// Play: to the lobby (from the title or the results).
    Play,
    /// The lobby formed a group and its match started.
    MatchStarted,
    /// The match ended (played out, or a peer left).
    MatchEnded,
    /// To the inventory (from the title or the results).
    Inventory,
    /// To the market (from the title, the results or the inventory).
    Market,
    /// To the settings (from the title).
    Settings,
    /// Escape: out of a menu, or out of the lobby's search.
    Back,
}

/// The screen after `go` on `from`; `from` itself when `go` means nothing there.
pub fn next(from: Screen, go: Go) -> Screen {
    use Screen::*;
    match (from, go) {
        (Title | Results, Go::Play) => Lobby,
        (Lobby, Go::MatchStarted) => Match,
        (Match, Go::MatchEnded) => Results,
        (Title | Results, Go::Inventory) => Inventory,
        (Title | Results | Inventory, Go::Market) => Market,
        (Title, Go::Settings) => Settings,
        (Lobby | Inventory | Market | Settings | Results, Go::Back) => Title,
        // A match is left only by its end (a forfeit is the session's call).
        _ => from,
    }
}

/// The match screen's per-frame work, in order: the interpolation clock,
/// then drawing, then the HUD on top.
#[derive(SystemSet, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchSet {
    /// Advances the interpolation between the last two ticks.
    Clock,
    /// Draws the arena and everything in it.
    Draw,
    /// Updates the HUD and the debug overlay.
    Hud,
}

/// The screen flow: the [`Screen`] state, and the match screen's sets
/// running in order while a match is shown.
pub struct ScreensPlugin;

impl Plugin for ScreensPlugin {
    fn build(&self, app: &mut App) {
        app.init_state::<Screen>().configure_sets(
            Update,
            (MatchSet::Clock, MatchSet::Draw, MatchSet::Hud)
                .chain()
                .run_if(in_state(Screen::Match)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_match_goes_title_lobby_match_results_and_back() {
        let mut s = Screen::default();
        for (go, want) in [
            (Go::Play, Screen::Lobby),
            (Go::MatchStarted, Screen::Match),
            (Go::Back, Screen::Match),
            (Go::MatchEnded, Screen::Results),
            (Go::Inventory, Screen::Inventory),
            (Go::Market, Screen::Market),
            (Go::Back, Screen::Title),
            (Go::Settings, Screen::Settings),
            (Go::Back, Screen::Title),
        ] {
            s = next(s, go);
            assert_eq!(s, want, "after {go:?}");
        }
    }

    #[test]
    fn events_that_mean_nothing_on_a_screen_leave_it_alone() {
        assert_eq!(next(Screen::Title, Go::MatchEnded), Screen::Title);
        assert_eq!(next(Screen::Settings, Go::MatchStarted), Screen::Settings);
        assert_eq!(next(Screen::Match, Go::Inventory), Screen::Match);
    }
}
