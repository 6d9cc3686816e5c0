//! The screens around the match: title (identity, wallet binding), lobby,
//! results, inventory, market, settings. Each is a text panel rebuilt from
//! a pure function of what the window knows, so the tests read the same
//! text a player sees; keys move between them through [`crate::screens::next`].

use bevy::prelude::*;

use crate::bindings::{Action, Button};
use crate::online::{Ask, Online, Status};
use crate::screens::{Go, Screen, next};
use crate::settings::{MAX_INPUT_DELAY, Settings};
use crate::wallet::WalletView;

/// The panel of the screen shown.
#[derive(Component)]
pub struct MenuPanel;

/// What the menus show that the match does not.
#[derive(Resource, Clone, Debug)]
pub struct MenuState {
    /// The action waiting for a button (settings: rebinding).
    pub rebinding: Option<Action>,
    /// The last match's report, for the results screen.
    pub last: Option<String>,
    /// A line for the player (an error, a hint).
    pub notice: Option<String>,
    /// The last online match's id, followed to its settlement.
    pub last_match: Option<String>,
    /// The row chosen on the inventory or market screen.
    pub cursor: usize,
    /// The price, in whole CYTR, the inventory lists an item at.
    pub price: u32,
    /// The recipe the inventory crafts.
    pub recipe: u8,
}

/// The listing price the inventory starts at, in CYTR.
pub const DEFAULT_PRICE: u32 = 10;

impl Default for MenuState {
    fn default() -> Self {
        MenuState {
            rebinding: None,
            last: None,
            notice: None,
            last_match: None,
            cursor: 0,
            price: DEFAULT_PRICE,
            recipe: 0,
        }
    }
}

/// The text of `screen`.
pub fn screen_text(
    screen: Screen,
    status: Option<&Status>,
    wallet: Option<&WalletView>,
    settings: &Settings,
    menu: &MenuState,
) -> String {
    let node = match status {
        None => "offline: matches against the core's bots on this machine".to_string(),
        Some(Status::Starting) => "node starting...".to_string(),
        Some(Status::Ready { peer_id, peers }) => {
            format!("node {peer_id} | {peers} peers connected")
        }
        Some(Status::Searching) => "searching the lobby...".to_string(),
        Some(Status::Playing) => "in a match".to_string(),
        Some(Status::Ended(_)) => "match over".to_string(),
        Some(Status::Failed(e)) => format!("the node failed: {e}"),
    };
    let mut t = match screen {
        Screen::Title => format!(
            "CYTERIA\n\n{node}\n{}\n\n\
             [Enter] play   [I] inventory   [M] market   [S] settings   [Esc] quit",
            crate::wallet::title_line(wallet)
        ),
        Screen::Lobby => format!(
            "LOBBY\n\n{node}\nlooking for a co-op match of {} players\n\n[Esc] stop searching",
            crate::online::MATCH_SIZE
        ),
        Screen::Match => String::new(),
        Screen::Results => format!(
            "RESULTS\n\n{}\n{}\n\n[Enter] play again   [I] inventory   [M] market   [Esc] title",
            menu.last.as_deref().unwrap_or("no match yet"),
            match &menu.last_match {
                Some(m) => crate::wallet::settlement_line(wallet, m),
                None => "offline: nothing is settled".to_string(),
            }
        ),
        Screen::Inventory => match wallet {
            Some(w) => crate::wallet::inventory_text(w, menu.cursor, menu.price, menu.recipe),
            None => "INVENTORY\n\noffline: no wallet (start the window with a node and a chain)\n\n[Esc] back"
                .to_string(),
        },
        Screen::Market => match wallet {
            Some(w) => crate::wallet::market_text(w, menu.cursor),
            None => "MARKET\n\noffline: no market (start the window with a node and a chain)\n\n[Esc] back"
                .to_string(),
        },
        Screen::Settings => {
            let mut s = String::from("SETTINGS\n\n");
            for (i, a) in Action::ALL.iter().enumerate() {
                let keys: Vec<&str> = settings
                    .bindings
                    .buttons(*a)
                    .iter()
                    .filter_map(|b| b.name())
                    .collect();
                let mark = if menu.rebinding == Some(*a) {
                    "  <- press a key"
                } else {
                    ""
                };
                s += &format!("[{}] {:<16} {}{mark}\n", i + 1, a.label(), keys.join(", "));
            }
            s += &format!(
                "\ninput delay {} frames  [-] [+]\nvolume {:.0}%  [[] []]\n\n[1-8] rebind   [Esc] back",
                settings.input_delay,
                settings.volume * 100.0
            );
            s
        }
    };
    if let Some(n) = &menu.notice {
        t += &format!("\n\n{n}");
    }
    t
}

/// Spawns the menu panel, empty until `update_panel` writes it.
pub fn spawn_panel(mut commands: Commands) {
    commands.spawn((
        MenuPanel,
        Node {
            position_type: PositionType::Absolute,
            // Both edges set: long lines (wallets, item stats) wrap.
            left: Val::Percent(10.0),
            right: Val::Percent(10.0),
            top: Val::Percent(15.0),
            padding: UiRect::all(Val::Px(16.0)),
            ..default()
        },
        BackgroundColor(Color::srgba(0.05, 0.04, 0.08, 0.92)),
        Text::new(""),
        TextFont::from_font_size(16.0),
        TextColor(Color::srgb(0.9, 0.9, 0.95)),
    ));
}

/// Rewrites the panel with the shown screen's text; hides it during a match.
pub fn update_panel(
    screen: Res<State<Screen>>,
    online: Option<Res<Online>>,
    settings: Res<Settings>,
    menu: Res<MenuState>,
    mut q: Query<(&mut Text, &mut Visibility), With<MenuPanel>>,
) {
    let status = online.as_ref().map(|o| o.status.borrow().clone());
    let wallet = online.as_ref().map(|o| o.wallet.borrow().clone());
    for (mut t, mut v) in &mut q {
        if *screen.get() == Screen::Match {
            *v = Visibility::Hidden;
            continue;
        }
        *v = Visibility::Inherited;
        t.0 = screen_text(
            *screen.get(),
            status.as_ref(),
            wallet.as_ref(),
            &settings,
            &menu,
        );
    }
}

/// The keys of the menus.
#[allow(clippy::too_many_arguments)]
pub fn menu_keys(
    keys: Res<ButtonInput<KeyCode>>,
    screen: Res<State<Screen>>,
    mut to: ResMut<NextState<Screen>>,
    mut settings: ResMut<Settings>,
    mut menu: ResMut<MenuState>,
    online: Option<Res<Online>>,
    mut exit: MessageWriter<AppExit>,
) {
    let s = *screen.get();
    if s == Screen::Settings
        && let Some(action) = menu.rebinding
    {
        if let Some(k) = keys.get_just_pressed().next() {
            let ok = *k != KeyCode::Escape && settings.bindings.rebind(action, Button::Key(*k));
            menu.notice = (!ok).then(|| format!("{k:?} cannot be bound"));
            menu.rebinding = None;
            if let Err(e) = settings.save() {
                menu.notice = Some(format!("settings not saved: {e}"));
            }
        }
        return;
    }
    let go = |g: Go| next(s, g);
    let mut target = None;
    for k in keys.get_just_pressed() {
        target = match (s, k) {
            (Screen::Title, KeyCode::Escape) => {
                exit.write(AppExit::Success);
                None
            }
            (_, KeyCode::Enter) => Some(go(Go::Play)),
            (_, KeyCode::KeyI) => Some(go(Go::Inventory)),
            (_, KeyCode::KeyM) => Some(go(Go::Market)),
            (Screen::Title, KeyCode::KeyS) => Some(go(Go::Settings)),
            (_, KeyCode::Escape) => Some(go(Go::Back)),
            (Screen::Settings, k) => {
                settings_key(*k, &mut settings, &mut menu);
                None
            }
            (Screen::Title | Screen::Inventory | Screen::Market, k) => {
                if let Some(o) = &online {
                    trade_key(s, *k, o, &mut menu);
                }
                None
            }
            _ => None,
        }
        .or(target);
    }
    if let Some(t) = target
        && t != s
    {
        if let Some(o) = &online {
            if t == Screen::Lobby {
                let _ = o.asks.send(Ask::Search {
                    input_delay: settings.input_delay,
                });
            } else if s == Screen::Lobby {
                let _ = o.asks.send(Ask::StopSearch);
            }
        }
        menu.notice = None;
        menu.cursor = 0;
        to.set(t);
    }
}

/// The wallet's keys on the title, inventory and market screens: moving
/// the cursor, the price and the recipe, and sending trades.
fn trade_key(s: Screen, k: KeyCode, o: &Online, menu: &mut MenuState) {
    let view = o.wallet.borrow().clone();
    let rows = view.holdings.as_ref().map_or(0, |h| match s {
        Screen::Inventory => h.items.len(),
        Screen::Market => crate::wallet::market_rows(h).len(),
        _ => 0,
    });
    match k {
        KeyCode::ArrowUp => menu.cursor = menu.cursor.saturating_sub(1),
        KeyCode::ArrowDown => menu.cursor = (menu.cursor + 1).min(rows.saturating_sub(1)),
        KeyCode::Minus => menu.price = menu.price.saturating_sub(1).max(1),
        KeyCode::Equal => menu.price = menu.price.saturating_add(1),
        KeyCode::KeyR => {
            menu.recipe = (usize::from(menu.recipe) + 1)
                .checked_rem(cyteria_game::crafting::RECIPES.len())
                .and_then(|r| u8::try_from(r).ok())
                .unwrap_or(0)
        }
        _ => {
            let key = match k {
                KeyCode::KeyB => 'b',
                KeyCode::KeyC => 'c',
                KeyCode::KeyE => 'e',
                KeyCode::KeyF => 'f',
                KeyCode::KeyL => 'l',
                KeyCode::KeyX => 'x',
                KeyCode::KeyD => 'd',
                _ => return,
            };
            if view.busy.is_some() {
                menu.notice = Some("one trade at a time: wait for the last one".into());
                return;
            }
            let holdings = view.holdings.clone().unwrap_or_default();
            match crate::wallet::trade_for(s, key, &holdings, menu.cursor, menu.price, menu.recipe)
            {
                Some(t) => {
                    let _ = o.trades.send(t);
                    menu.notice = None;
                }
                None if view.holdings.is_none() => {
                    menu.notice = Some("no wallet: the chain is not connected".into())
                }
                None => {}
            }
        }
    }
}

fn settings_key(k: KeyCode, settings: &mut Settings, menu: &mut MenuState) {
    let digits = [
        KeyCode::Digit1,
        KeyCode::Digit2,
        KeyCode::Digit3,
        KeyCode::Digit4,
        KeyCode::Digit5,
        KeyCode::Digit6,
        KeyCode::Digit7,
        KeyCode::Digit8,
    ];
    if let Some(i) = digits.iter().position(|d| *d == k) {
        menu.rebinding = Some(Action::ALL[i]);
        return;
    }
    match k {
        KeyCode::Minus => settings.input_delay = settings.input_delay.saturating_sub(1),
        KeyCode::Equal => settings.input_delay = (settings.input_delay + 1).min(MAX_INPUT_DELAY),
        KeyCode::BracketLeft => settings.volume = (settings.volume - 0.1).max(0.0),
        KeyCode::BracketRight => settings.volume = (settings.volume + 0.1).min(1.0),
        _ => return,
    }
    if let Err(e) = settings.save() {
        menu.notice = Some(format!("settings not saved: {e}"));
    }
}

/// The menus' logic: their state and the keys that walk the screens and
/// trade (works without a window).
pub struct MenusPlugin;

impl Plugin for MenusPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<MenuState>()
            .add_systems(Update, menu_keys);
    }
}

/// The menus drawn: the panel and its text.
pub struct PanelPlugin;

impl Plugin for PanelPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, spawn_panel)
            .add_systems(Update, update_panel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_screen_lists_every_action_with_its_keys() {
        let t = screen_text(
            Screen::Settings,
            None,
            None,
            &Settings::default(),
            &MenuState::default(),
        );
        for a in Action::ALL {
            assert!(t.contains(a.label()), "{t}");
        }
        assert!(
            t.contains("Space") && t.contains("input delay 2 frames"),
            "{t}"
        );
    }

    #[test]
    fn the_title_shows_the_nodes_state() {
        let ready = Status::Ready {
            peer_id: "12D3Koo".into(),
            peers: 3,
        };
        let t = screen_text(
            Screen::Title,
            Some(&ready),
            None,
            &Settings::default(),
            &MenuState::default(),
        );
        assert!(t.contains("12D3Koo") && t.contains("3 peers"), "{t}");
        let t = screen_text(
            Screen::Title,
            None,
            None,
            &Settings::default(),
            &MenuState::default(),
        );
        assert!(t.contains("offline"), "{t}");
    }
}
