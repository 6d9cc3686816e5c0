//! Reads the keyboard, the mouse and the first gamepad into [`LocalInput`]
//! each frame, through the player's [`crate::bindings::Bindings`]. The
//! mouse aims: the octant from the local player to the cursor.

use bevy::prelude::*;
use bevy::window::PrimaryWindow;

use crate::bindings::{Button, octant};
use crate::settings::Settings;
use crate::view::{Frames, LocalInput};

/// Reads what is held down into `LocalInput` through the settings' bindings, and hands it to the
/// node when online.
#[allow(clippy::too_many_arguments)]
pub fn read_input(
    keys: Res<ButtonInput<KeyCode>>,
    mouse: Res<ButtonInput<MouseButton>>,
    gamepads: Query<&Gamepad>,
    windows: Query<&Window, With<PrimaryWindow>>,
    cameras: Query<(&Camera, &GlobalTransform)>,
    frames: Res<Frames>,
    settings: Res<Settings>,
    mut out: ResMut<LocalInput>,
    online: Option<Res<crate::online::Online>>,
) {
    let pad = gamepads.iter().next();
    let held = |b: Button| match b {
        Button::Key(k) => keys.pressed(k),
        Button::Mouse(m) => mouse.pressed(m),
        Button::Pad(p) => pad.is_some_and(|g| g.pressed(p)),
    };
    let stick = pad.map(|g| {
        let v = g.left_stick();
        (v.x, v.y)
    });
    // Aim: the right stick if it is pushed, else the cursor.
    let aim = pad
        .and_then(|g| {
            let v = g.right_stick();
            octant(v.x, v.y)
        })
        .or_else(|| {
            let window = windows.single().ok()?;
            let cursor = window.cursor_position()?;
            let (camera, at) = cameras.single().ok()?;
            let world = camera.viewport_to_world_2d(at, cursor).ok()?;
            let me = frames.curr.players.get(frames.seat)?;
            let d = world - crate::interp::to_world(me.pos);
            octant(d.x / 32.0, d.y / 32.0)
        });
    let input = settings.bindings.input(held, stick, aim);
    out.0 = input;
    if let Some(o) = online {
        o.input.send_replace(input);
    }
}

/// Keyboard, mouse and gamepads into the local player's input.
pub struct InputPlugin;

impl Plugin for InputPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<LocalInput>()
            .add_systems(Update, read_input);
    }
}
