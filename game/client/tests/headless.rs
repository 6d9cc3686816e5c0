//! The client's systems in a bevy app with no window and no renderer
//! (bevy's minimal plugins): keys become the core's input, the menus walk
//! the screen flow, an offline match steps and ends in the results.

use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use cyteria_client::app::add_game;
use cyteria_client::bindings::{Action, Button};
use cyteria_client::screens::Screen;
use cyteria_client::settings::Settings;
use cyteria_client::view::{LocalInput, LocalMatch};
use cyteria_game::Input;

fn app(settings: Settings) -> App {
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, StatesPlugin))
        .init_resource::<ButtonInput<KeyCode>>()
        .init_resource::<ButtonInput<MouseButton>>();
    add_game(&mut app, settings);
    app.update();
    app
}

fn press(app: &mut App, k: KeyCode) {
    app.world_mut()
        .resource_mut::<ButtonInput<KeyCode>>()
        .press(k);
    app.update();
    let mut keys = app.world_mut().resource_mut::<ButtonInput<KeyCode>>();
    keys.release(k);
    keys.clear();
    app.update();
}

fn screen(app: &App) -> Screen {
    *app.world().resource::<State<Screen>>().get()
}

#[test]
fn held_keys_become_the_cores_input_through_the_bindings() {
    let mut settings = Settings::default();
    settings
        .bindings
        .rebind(Action::Shoot, Button::Key(KeyCode::KeyL));
    let mut app = app(settings);
    {
        let mut keys = app.world_mut().resource_mut::<ButtonInput<KeyCode>>();
        keys.press(KeyCode::KeyW);
        keys.press(KeyCode::KeyL);
    }
    app.update();
    let input = app.world().resource::<LocalInput>().0;
    assert!(input.has(Input::UP) && input.has(Input::SHOOT), "{input:?}");
    assert!(!input.has(Input::DOWN));
    app.world_mut()
        .resource_mut::<ButtonInput<KeyCode>>()
        .release_all();
    app.update();
    assert_eq!(app.world().resource::<LocalInput>().0, Input::default());
}

#[test]
fn the_menus_walk_title_settings_and_an_offline_match() {
    let mut app = app(Settings::default());
    assert_eq!(screen(&app), Screen::Title);
    press(&mut app, KeyCode::KeyS);
    assert_eq!(screen(&app), Screen::Settings);
    // rebinding from the settings screen: action 7 (dodge) to Q
    press(&mut app, KeyCode::Digit7);
    press(&mut app, KeyCode::KeyQ);
    let s = app.world().resource::<Settings>();
    assert_eq!(
        s.bindings.action_of(Button::Key(KeyCode::KeyQ)),
        Some(Action::Dodge)
    );
    press(&mut app, KeyCode::Escape);
    assert_eq!(screen(&app), Screen::Title);
    // Enter: offline, the lobby starts a match against bots at once
    press(&mut app, KeyCode::Enter);
    app.update();
    assert_eq!(screen(&app), Screen::Match);
    assert!(app.world().get_resource::<LocalMatch>().is_some());
}

#[test]
fn an_offline_match_that_ends_shows_the_results() {
    let mut app = app(Settings::default());
    press(&mut app, KeyCode::Enter);
    app.update();
    assert_eq!(screen(&app), Screen::Match);
    // Play the match out directly (the fixed-rate stepping is wall-clock bound).
    {
        let mut m = app.world_mut().resource_mut::<LocalMatch>();
        m.bot_seat = true;
        let mut n = 0;
        while !m.game.is_over() && n < 60 * 60 * 6 {
            m.step(Input::default());
            n += 1;
        }
        assert!(m.game.is_over());
    }
    app.update();
    app.update();
    assert_eq!(screen(&app), Screen::Results);
    let menu = app.world().resource::<cyteria_client::menus::MenuState>();
    assert!(
        menu.last.as_deref().is_some_and(|t| t.contains("kills")),
        "{:?}",
        menu.last
    );
}
