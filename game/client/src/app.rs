//! The app: the plugins put together, for the three ways the window runs:
//! playing (online through the node, or offline against bots), a screenshot
//! of a fixed match frame, and the frame-time benchmark.

use std::path::PathBuf;
use std::time::Instant;

use bevy::prelude::*;
use cyteria_game::{Game, Rules, scenario};

use crate::draw::DrawPlugin;
use crate::hud::HudPlugin;
use crate::input::InputPlugin;
use crate::menus::{MenuState, MenusPlugin, PanelPlugin};
use crate::online::{Online, Status};
use crate::screens::{Screen, ScreensPlugin};
use crate::settings::Settings;
use crate::view::{self, Frames, LocalMatch};

/// How the window runs.
pub enum Mode {
    /// A player at the keyboard; with a node (online) or without.
    Play(Option<Online>),
    /// Renders the match of `seed` after `ticks` bot-played ticks, saves the
    /// window to `path` (PNG) and exits.
    Screenshot {
        /// Where the PNG is written.
        path: PathBuf,
        /// The match's seed.
        seed: u64,
        /// Ticks the bots play before the frame is drawn.
        ticks: u32,
    },
    /// Draws a match of 4 bot players with `enemies` enemies and `bolts`
    /// bolts in flight (kept at that number) for `frames` frames and writes
    /// the frame times to `out` (JSON).
    Bench {
        /// Frames to measure, after a warm-up.
        frames: u32,
        /// Enemies in the match.
        enemies: usize,
        /// Bolts kept in flight.
        bolts: usize,
        /// Where the figures are written (JSON).
        out: PathBuf,
    },
}

/// Builds the window's app (not yet run).
pub fn build(mode: Mode, settings: Settings) -> App {
    let mut app = App::new();
    let title = "Cyteria".to_string();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title,
                    resolution: (1280, 720).into(),
                    present_mode: match mode {
                        // Measure the frame, not the display's refresh.
                        Mode::Bench { .. } => bevy::window::PresentMode::AutoNoVsync,
                        _ => bevy::window::PresentMode::AutoVsync,
                    },
                    ..default()
                }),
                ..default()
            })
            .set(ImagePlugin::default_nearest()),
    );
    app.insert_resource(ClearColor(Color::srgb(0.03, 0.03, 0.05)))
        .insert_resource(Time::<Fixed>::from_hz(f64::from(cyteria_game::TICK_RATE)));
    add_game(&mut app, settings);
    app.add_plugins((DrawPlugin, HudPlugin, PanelPlugin));
    match mode {
        Mode::Play(online) => {
            if let Some(o) = online {
                app.insert_resource(o).add_plugins(OnlinePlugin);
            }
        }
        Mode::Screenshot { path, seed, ticks } => {
            let mut m = local_match(seed, 4, true);
            for _ in 0..ticks {
                m.step(cyteria_game::Input::default());
            }
            let mut frames = Frames::new(&m.game, seed, 0);
            frames.prev = m.game.state.clone();
            app.insert_resource(frames)
                .insert_resource(m)
                .insert_resource(Shot {
                    path,
                    after_frames: 30,
                    frames: 0,
                    taken: false,
                })
                .insert_state(Screen::Match)
                .add_systems(Update, screenshot);
        }
        Mode::Bench {
            frames,
            enemies,
            bolts,
            out,
        } => {
            let game = scenario::crowded(11, 4, enemies, bolts);
            let refill = game.state.projectiles.to_vec();
            let frames_res = Frames::new(&game, 11, 0);
            app.insert_resource(frames_res)
                .insert_resource(LocalMatch {
                    game,
                    seat: 0,
                    bot_seat: true,
                })
                .insert_resource(Bench {
                    warmup: 60,
                    frames,
                    times: vec![],
                    entities: vec![],
                    last: None,
                    out,
                    refill,
                })
                .insert_state(Screen::Match)
                .add_systems(FixedPostUpdate, keep_bolts)
                .add_systems(Last, bench);
        }
    }
    app
}

/// The parts with no window: the screen flow, input, the menus' logic and
/// local matches. Headless tests build on this with bevy's minimal plugins.
pub fn add_game(app: &mut App, settings: Settings) {
    app.insert_resource(settings).add_plugins((
        ScreensPlugin,
        InputPlugin,
        MenusPlugin,
        LocalPlayPlugin,
    ));
}

/// Matches stepped in the window: offline against bots, and the
/// screenshot's and the benchmark's fixed matches.
pub struct LocalPlayPlugin;

impl Plugin for LocalPlayPlugin {
    fn build(&self, app: &mut App) {
        let g = local_match(0, 1, false);
        app.insert_resource(Frames::new(&g.game, 0, 0))
            .add_systems(
                Update,
                (
                    start_offline.run_if(in_state(Screen::Lobby)),
                    end_offline.run_if(in_state(Screen::Match)),
                ),
            )
            .add_systems(
                FixedUpdate,
                view::step_local
                    .run_if(in_state(Screen::Match).and_then(resource_exists::<LocalMatch>)),
            );
    }
}

/// Online play: the node's frames and status into the window (the
/// [`Online`] resource must be inserted).
pub struct OnlinePlugin;

impl Plugin for OnlinePlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, pump_online);
    }
}

fn local_match(seed: u64, players: usize, bot_seat: bool) -> LocalMatch {
    let h = scenario::header(seed, players, Rules::default());
    LocalMatch {
        game: Game::from_header(&h),
        seat: 0,
        bot_seat,
    }
}

/// Offline, the lobby is instant: a match against three bots starts.
fn start_offline(
    mut commands: Commands,
    online: Option<Res<Online>>,
    mut to: ResMut<NextState<Screen>>,
    mut frames: ResMut<Frames>,
) {
    if online.is_some() {
        return;
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let m = local_match(seed, 4, false);
    *frames = Frames::new(&m.game, seed, 0);
    commands.insert_resource(m);
    to.set(Screen::Match);
}

/// Offline, the match's end shows the results.
fn end_offline(
    m: Option<Res<LocalMatch>>,
    online: Option<Res<Online>>,
    mut menu: ResMut<MenuState>,
    mut to: ResMut<NextState<Screen>>,
) {
    let (Some(m), None) = (m, online) else {
        return;
    };
    if !m.game.is_over() {
        return;
    }
    let s = &m.game.state;
    let p = &s.players[m.seat];
    menu.last = Some(format!(
        "{:?} at wave {} | {} kills | {} xp | {} items (offline: nothing is settled)",
        s.end,
        s.waves.number,
        p.rewards.kills,
        p.rewards.xp,
        p.rewards.items.len()
    ));
    to.set(Screen::Results);
}

/// Online: the node's frames and status into the window.
fn pump_online(
    mut online: ResMut<Online>,
    mut frames: ResMut<Frames>,
    screen: Res<State<Screen>>,
    mut to: ResMut<NextState<Screen>>,
    mut menu: ResMut<MenuState>,
) {
    let o = &mut *online;
    if o.view.has_changed().unwrap_or(false)
        && let Some(v) = o.view.borrow_and_update().clone()
    {
        if v.seed != frames.seed || v.seat != frames.seat {
            *frames = Frames {
                arena: cyteria_game::Arena::generate(v.seed),
                seed: v.seed,
                seat: v.seat,
                prev: v.state.clone(),
                curr: v.state.clone(),
                since_tick: 0.0,
                link: view::LinkFigures::default(),
            };
        }
        frames.push(v.state);
        frames.link = view::LinkFigures {
            ping_ms: v.ping_ms,
            rollbacks: v.rollbacks,
            last_rollback_depth: v.last_rollback_depth,
            frame_advantage: v.frame_advantage,
        };
    }
    let status = o.status.borrow().clone();
    match (*screen.get(), status) {
        (Screen::Lobby, Status::Playing) => to.set(Screen::Match),
        (Screen::Match | Screen::Lobby, Status::Ended(r)) => {
            menu.last = Some(format!(
                "match {}: {:?} | {} frames | {} rollbacks (deepest {}) | {} desyncs",
                &r.match_id[..12],
                r.ending,
                r.frames,
                r.rollbacks,
                r.max_rollback_depth,
                r.desyncs
            ));
            if menu.last_match.as_deref() != Some(r.match_id.as_str()) {
                let _ = o.trades.send(crate::wallet::Trade::Follow {
                    match_id: r.match_id.clone(),
                });
                menu.last_match = Some(r.match_id.clone());
            }
            to.set(Screen::Results);
        }
        _ => {}
    }
}

/// The screenshot run's progress.
#[derive(Resource)]
struct Shot {
    path: PathBuf,
    after_frames: u32,
    frames: u32,
    taken: bool,
}

fn screenshot(mut commands: Commands, mut shot: ResMut<Shot>, mut exit: MessageWriter<AppExit>) {
    shot.frames += 1;
    if !shot.taken && shot.frames >= shot.after_frames {
        shot.taken = true;
        commands
            .spawn(bevy::render::view::screenshot::Screenshot::primary_window())
            .observe(bevy::render::view::screenshot::save_to_disk(
                shot.path.clone(),
            ));
    }
    // The observer writes the file whole before the next frame.
    if shot.taken && shot.path.exists() {
        exit.write(AppExit::Success);
    }
    if shot.frames > 600 {
        error!("no screenshot after 600 frames");
        exit.write(AppExit::error());
    }
}

/// The benchmark's frame times.
#[derive(Resource)]
struct Bench {
    warmup: u32,
    frames: u32,
    times: Vec<f64>,
    /// Entities drawn, each measured frame.
    entities: Vec<usize>,
    last: Option<Instant>,
    out: PathBuf,
    /// The bolts the match started with: expired ones are put back, so the
    /// load stays what was asked for.
    refill: Vec<cyteria_game::state::Projectile>,
}

fn keep_bolts(b: Res<Bench>, mut m: ResMut<LocalMatch>) {
    let s = &mut m.game.state;
    let mut i = 0;
    while !b.refill.is_empty() && s.projectiles.len() < b.refill.len() && !s.projectiles.is_full() {
        s.projectiles.push(b.refill[i % b.refill.len()].clone());
        i += 1;
    }
}

/// Frame-time figures: median and 99th percentile, in milliseconds.
#[derive(Debug, serde::Serialize)]
pub struct FrameFigures {
    /// Frames measured.
    pub frames: usize,
    /// Entities drawn per measured frame, on average.
    pub entities: usize,
    /// Median frame time, in milliseconds.
    pub median_ms: f64,
    /// 99th-percentile frame time, in milliseconds.
    pub p99_ms: f64,
    /// The slowest frame's time, in milliseconds.
    pub max_ms: f64,
    /// Frames per second at the median frame time (0 with no frames).
    pub fps_at_median: f64,
}

/// The figures of `times_ms` (nearest-rank quantiles); `entities` is reported as given.
pub fn figures(times_ms: &[f64], entities: usize) -> FrameFigures {
    // The nearest-rank quantiles the devnet's latency report uses.
    let at = |q: f64| cyteria_node::net::latency::quantile(times_ms, q).unwrap_or(0.0);
    let median = at(0.5);
    FrameFigures {
        frames: times_ms.len(),
        entities,
        median_ms: median,
        p99_ms: at(0.99),
        max_ms: at(1.0),
        fps_at_median: if median > 0.0 { 1000.0 / median } else { 0.0 },
    }
}

fn bench(mut b: ResMut<Bench>, frames: Res<Frames>, mut exit: MessageWriter<AppExit>) {
    let now = Instant::now();
    if let Some(last) = b.last.replace(now) {
        if b.warmup > 0 {
            b.warmup -= 1;
        } else {
            let s = &frames.curr;
            let n = s.enemies.len() + s.projectiles.len() + s.drops.len() + s.nodes.len();
            b.entities.push(n);
            b.times
                .push(now.duration_since(last).as_secs_f64() * 1000.0);
        }
    }
    if b.times.len() as u32 >= b.frames {
        let mean_entities = b.entities.iter().sum::<usize>() / b.entities.len().max(1);
        let f = figures(&b.times, mean_entities);
        let json = serde_json::to_string(&f).unwrap_or_default();
        if let Err(e) = std::fs::write(&b.out, &json) {
            error!("{}: {e}", b.out.display());
        }
        println!("{json}");
        exit.write(AppExit::Success);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_take_the_median_and_the_99th_percentile() {
        let times: Vec<f64> = (1..=100).map(f64::from).collect();
        let f = figures(&times, 200);
        assert_eq!(f.median_ms, 50.0);
        assert_eq!(f.p99_ms, 99.0);
        assert_eq!(f.max_ms, 100.0);
        assert_eq!(f.entities, 200);
    }
}
