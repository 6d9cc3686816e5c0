//! The match's heads-up display (health, stamina, wave, equipped items with
//! their durability) and the debug overlay (frame time, ping, rollbacks,
//! frame advantage; F3 shows and hides it). The texts are ASCII (bevy's
//! embedded default font has no typographic dots or dashes) and pure functions of
//! the drawn state, tested here; the systems only copy them into UI nodes.

use bevy::prelude::*;
use cyteria_game::state::Player;
use cyteria_game::{ItemStats, Loadout};

use crate::screens::{MatchSet, Screen};
use crate::view::{Frames, LinkFigures};

/// The HUD's panel colour and its health bar's: the screenshot test looks for them.
pub const PANEL: Color = Color::srgba(0.06, 0.05, 0.10, 0.85);
/// The health bar's fill.
pub const HEALTH: Color = Color::srgb(0.85, 0.16, 0.20);
/// `HEALTH` in 8-bit sRGB, as the screenshot shows it.
pub const HEALTH_RGB: [u8; 3] = [217, 41, 51];
/// The stamina bar's fill.
pub const STAMINA: Color = Color::srgb(0.95, 0.78, 0.20);
/// `STAMINA` in 8-bit sRGB, as the screenshot shows it.
pub const STAMINA_RGB: [u8; 3] = [242, 199, 51];
/// A bar's empty part.
pub const BAR: Color = Color::srgb(0.15, 0.12, 0.18);
/// `BAR` in 8-bit sRGB, as the screenshot shows it.
pub const BAR_RGB: [u8; 3] = [38, 31, 46];

/// The HUD's panel at the top left, shown only in a match.
#[derive(Component)]
pub struct Hud;
/// The health bar's fill, as wide as the local player's share of health.
#[derive(Component)]
pub struct HealthFill;
/// The stamina bar's fill, as wide as the local player's share of stamina.
#[derive(Component)]
pub struct StaminaFill;
/// The HUD's text: health, stamina, wave and equipped items.
#[derive(Component)]
pub struct HudText;
/// The debug overlay's text, at the top right.
#[derive(Component)]
pub struct Overlay;

/// Whether the debug overlay shows.
#[derive(Resource, Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverlayShown(pub bool);

impl Default for OverlayShown {
    fn default() -> Self {
        OverlayShown(true)
    }
}

/// The share (0..=1) of a bar that is full.
pub fn fill(value: u16, max: u16) -> f32 {
    if max == 0 {
        0.0
    } else {
        (f32::from(value) / f32::from(max)).clamp(0.0, 1.0)
    }
}

fn item_line(slot: &str, item: &Option<ItemStats>) -> String {
    match item {
        None => format!("{slot}: -"),
        Some(s) => {
            let broken = if s.is_broken() { " BROKEN" } else { "" };
            format!(
                "{slot}: {:?} dmg {} def {} | durability {}{broken}",
                s.rarity, s.damage, s.defense, s.durability
            )
        }
    }
}

/// The HUD's lines for the local player.
pub fn hud_text(p: &Player, wave: u8, cleared: u8, loadout: &Loadout) -> String {
    let state = if p.downed {
        " - DOWN (a teammate can revive you)"
    } else {
        ""
    };
    format!(
        "HP {}/{}  stamina {}{state}\nwave {wave} | {cleared} cleared\n{}\n{}\n{}",
        p.hp,
        p.max_hp,
        p.stamina,
        item_line("weapon", &loadout.weapon),
        item_line("armor", &loadout.armor),
        item_line("tool", &loadout.tool),
    )
}

/// The overlay's line.
pub fn overlay_text(fps: f64, frame_ms: f64, link: &LinkFigures, online: bool) -> String {
    let net = if online {
        format!(
            " | ping {} ms | rollbacks {} (last {} frames) | frame advantage {:+}",
            link.ping_ms, link.rollbacks, link.last_rollback_depth, link.frame_advantage
        )
    } else {
        " | offline".to_string()
    };
    format!("{fps:.0} fps | {frame_ms:.1} ms{net}")
}

/// Builds the HUD: a panel at the top left with two bars and the text, and
/// the overlay at the top right.
pub fn spawn_hud(mut commands: Commands) {
    let bar = |fill_colour: Color| {
        (
            Node {
                width: Val::Px(220.0),
                height: Val::Px(12.0),
                margin: UiRect::bottom(Val::Px(4.0)),
                ..default()
            },
            BackgroundColor(BAR),
            children![(
                Node {
                    width: Val::Percent(100.0),
                    height: Val::Percent(100.0),
                    ..default()
                },
                BackgroundColor(fill_colour),
            )],
        )
    };
    commands
        .spawn((
            Hud,
            Node {
                position_type: PositionType::Absolute,
                left: Val::Px(8.0),
                top: Val::Px(8.0),
                padding: UiRect::all(Val::Px(8.0)),
                flex_direction: FlexDirection::Column,
                ..default()
            },
            BackgroundColor(PANEL),
        ))
        .with_children(|p| {
            p.spawn(bar(HEALTH));
            p.spawn(bar(STAMINA));
            p.spawn((
                HudText,
                Text::new(""),
                TextFont::from_font_size(14.0),
                TextColor(Color::srgb(0.92, 0.92, 0.95)),
            ));
        });
    commands.spawn((
        Overlay,
        Node {
            position_type: PositionType::Absolute,
            right: Val::Px(8.0),
            top: Val::Px(8.0),
            padding: UiRect::all(Val::Px(4.0)),
            ..default()
        },
        BackgroundColor(Color::srgba(0.0, 0.0, 0.0, 0.6)),
        Text::new(""),
        TextFont::from_font_size(13.0),
        TextColor(Color::srgb(0.6, 1.0, 0.6)),
    ));
}

/// Marks the bars' fills (their first child) once they exist.
#[allow(clippy::type_complexity)]
pub fn mark_bars(
    mut commands: Commands,
    huds: Query<&Children, With<Hud>>,
    children: Query<&Children>,
    marked: Query<(), Or<(With<HealthFill>, With<StaminaFill>)>>,
) {
    if !marked.is_empty() {
        return;
    }
    for hud in &huds {
        for (i, bar) in hud.iter().take(2).enumerate() {
            if let Ok(kids) = children.get(bar)
                && let Some(fill) = kids.first()
            {
                if i == 0 {
                    commands.entity(*fill).insert(HealthFill);
                } else {
                    commands.entity(*fill).insert(StaminaFill);
                }
            }
        }
    }
}

/// Copies the local player's bars and lines into the HUD.
#[allow(clippy::type_complexity)]
pub fn update_hud(
    frames: Res<Frames>,
    mut text: Query<&mut Text, (With<HudText>, Without<Overlay>)>,
    mut health: Query<&mut Node, (With<HealthFill>, Without<StaminaFill>)>,
    mut stamina: Query<&mut Node, (With<StaminaFill>, Without<HealthFill>)>,
) {
    let s = &frames.curr;
    let Some(p) = s.players.get(frames.seat) else {
        return;
    };
    for mut t in &mut text {
        t.0 = hud_text(p, s.waves.number, s.waves.cleared, &p.equipment);
    }
    for mut n in &mut health {
        n.width = Val::Percent(100.0 * fill(p.hp, p.max_hp));
    }
    for mut n in &mut stamina {
        n.width = Val::Percent(100.0 * fill(p.stamina, cyteria_game::state::MAX_STAMINA));
    }
}

/// Frame times of the last second, for the overlay.
#[derive(Resource, Default)]
pub struct FrameTimes(pub std::collections::VecDeque<f64>);

/// Shows or hides the overlay and rewrites its line from the last 60 frames' times and the link's
/// figures.
pub fn update_overlay(
    time: Res<Time>,
    frames: Res<Frames>,
    shown: Res<OverlayShown>,
    online: Option<Res<crate::online::Online>>,
    mut times: ResMut<FrameTimes>,
    mut q: Query<(&mut Text, &mut Visibility), With<Overlay>>,
) {
    let dt = time.delta_secs_f64();
    times.0.push_back(dt);
    while times.0.len() > 60 {
        times.0.pop_front();
    }
    let mean = times.0.iter().sum::<f64>() / times.0.len().max(1) as f64;
    for (mut t, mut v) in &mut q {
        *v = if shown.0 {
            Visibility::Inherited
        } else {
            Visibility::Hidden
        };
        t.0 = overlay_text(
            if mean > 0.0 { 1.0 / mean } else { 0.0 },
            mean * 1000.0,
            &frames.link,
            online.is_some(),
        );
    }
}

/// F3 shows or hides the debug overlay.
pub fn toggle_overlay(keys: Res<ButtonInput<KeyCode>>, mut shown: ResMut<OverlayShown>) {
    if keys.just_pressed(KeyCode::F3) {
        shown.0 = !shown.0;
    }
}

/// Shows the HUD during a match only.
fn hud_visibility(screen: Res<State<Screen>>, mut q: Query<&mut Visibility, With<Hud>>) {
    for mut v in &mut q {
        *v = if *screen.get() == Screen::Match {
            Visibility::Inherited
        } else {
            Visibility::Hidden
        };
    }
}

/// The HUD (health, stamina, wave, loadout) and the debug overlay (F3).
pub struct HudPlugin;

impl Plugin for HudPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<OverlayShown>()
            .init_resource::<FrameTimes>()
            .add_systems(Startup, spawn_hud)
            .add_systems(Update, (toggle_overlay, hud_visibility))
            .add_systems(
                Update,
                (mark_bars, update_hud, update_overlay)
                    .chain()
                    .in_set(MatchSet::Hud),
            );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cyteria_game::{Game, Rules, scenario};

    #[test]
    fn bars_fill_by_share_and_never_overflow() {
        assert_eq!(fill(50, 100), 0.5);
        assert_eq!(fill(150, 100), 1.0);
        assert_eq!(fill(5, 0), 0.0);
    }

    #[test]
    fn the_hud_names_health_wave_and_every_slot() {
        let g = Game::from_header(&scenario::header(1, 2, Rules::default()));
        let p = &g.state.players[0];
        let t = hud_text(p, 2, 1, &p.equipment);
        assert!(t.contains(&format!("HP {}/{}", p.hp, p.max_hp)), "{t}");
        assert!(t.contains("wave 2 | 1 cleared"), "{t}");
        for slot in ["weapon", "armor", "tool"] {
            assert!(t.contains(slot), "{t}");
        }
    }

    #[test]
    fn the_overlay_shows_the_link_only_online() {
        let link = LinkFigures {
            ping_ms: 42,
            rollbacks: 7,
            last_rollback_depth: 3,
            frame_advantage: -1,
        };
        let on = overlay_text(60.0, 16.6, &link, true);
        assert!(on.contains("ping 42 ms") && on.contains("rollbacks 7") && on.contains("-1"));
        assert!(overlay_text(60.0, 16.6, &link, false).contains("offline"));
    }
}
