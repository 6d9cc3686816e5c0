//! Key, mouse and gamepad bindings, and the mapping from what is held down
//! to the core's [`Input`]. Plain data and pure functions: the bevy systems
//! that read the devices are in [`crate::input`].

use std::collections::BTreeMap;

use bevy::input::gamepad::GamepadButton;
use bevy::input::keyboard::KeyCode;
use bevy::input::mouse::MouseButton;
use cyteria_game::Input;
use serde::{Deserialize, Serialize};

/// What a player can do with a button.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Action {
    /// Moves up (north).
    Up,
    /// Moves down (south).
    Down,
    /// Moves left (west).
    Left,
    /// Moves right (east).
    Right,
    /// Swings the equipped weapon.
    Melee,
    /// Fires a bolt (costs stamina).
    Shoot,
    /// Dashes, invulnerable for the dash (costs stamina).
    Dodge,
    /// Gathers from a resource node, or revives a downed teammate.
    Interact,
}

impl Action {
    /// Every action, in the order (and with the numbers) the settings screen lists them.
    pub const ALL: [Action; 8] = [
        Action::Up,
        Action::Down,
        Action::Left,
        Action::Right,
        Action::Melee,
        Action::Shoot,
        Action::Dodge,
        Action::Interact,
    ];

    /// The input bit the action sets.
    pub fn bit(self) -> u16 {
        match self {
            Action::Up => Input::UP,
            Action::Down => Input::DOWN,
            Action::Left => Input::LEFT,
            Action::Right => Input::RIGHT,
            Action::Melee => Input::MELEE,
            Action::Shoot => Input::SHOOT,
            Action::Dodge => Input::DODGE,
            Action::Interact => Input::INTERACT,
        }
    }

    /// What the settings screen calls the action.
    pub fn label(self) -> &'static str {
        match self {
            Action::Up => "move up",
            Action::Down => "move down",
            Action::Left => "move left",
            Action::Right => "move right",
            Action::Melee => "melee",
            Action::Shoot => "shoot",
            Action::Dodge => "dodge",
            Action::Interact => "gather / revive",
        }
    }
}

/// One physical button.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Button {
    /// A keyboard key.
    Key(KeyCode),
    /// A mouse button.
    Mouse(MouseButton),
    /// A gamepad button.
    Pad(GamepadButton),
}

/// The buttons that can be bound, by the names the settings file uses.
const NAMED: &[(&str, Button)] = &[
    ("W", Button::Key(KeyCode::KeyW)),
    ("A", Button::Key(KeyCode::KeyA)),
    ("S", Button::Key(KeyCode::KeyS)),
    ("D", Button::Key(KeyCode::KeyD)),
    ("E", Button::Key(KeyCode::KeyE)),
    ("F", Button::Key(KeyCode::KeyF)),
    ("Q", Button::Key(KeyCode::KeyQ)),
    ("R", Button::Key(KeyCode::KeyR)),
    ("J", Button::Key(KeyCode::KeyJ)),
    ("K", Button::Key(KeyCode::KeyK)),
    ("L", Button::Key(KeyCode::KeyL)),
    ("I", Button::Key(KeyCode::KeyI)),
    ("Up", Button::Key(KeyCode::ArrowUp)),
    ("Down", Button::Key(KeyCode::ArrowDown)),
    ("Left", Button::Key(KeyCode::ArrowLeft)),
    ("Right", Button::Key(KeyCode::ArrowRight)),
    ("Space", Button::Key(KeyCode::Space)),
    ("ShiftLeft", Button::Key(KeyCode::ShiftLeft)),
    ("ControlLeft", Button::Key(KeyCode::ControlLeft)),
    ("Tab", Button::Key(KeyCode::Tab)),
    ("Enter", Button::Key(KeyCode::Enter)),
    ("MouseLeft", Button::Mouse(MouseButton::Left)),
    ("MouseRight", Button::Mouse(MouseButton::Right)),
    ("MouseMiddle", Button::Mouse(MouseButton::Middle)),
    ("PadSouth", Button::Pad(GamepadButton::South)),
    ("PadEast", Button::Pad(GamepadButton::East)),
    ("PadWest", Button::Pad(GamepadButton::West)),
    ("PadNorth", Button::Pad(GamepadButton::North)),
    ("PadRightTrigger", Button::Pad(GamepadButton::RightTrigger)),
    ("PadLeftTrigger", Button::Pad(GamepadButton::LeftTrigger)),
    (
        "PadRightTrigger2",
        Button::Pad(GamepadButton::RightTrigger2),
    ),
    ("PadDPadUp", Button::Pad(GamepadButton::DPadUp)),
    ("PadDPadDown", Button::Pad(GamepadButton::DPadDown)),
    ("PadDPadLeft", Button::Pad(GamepadButton::DPadLeft)),
    ("PadDPadRight", Button::Pad(GamepadButton::DPadRight)),
];

impl Button {
    /// The name the settings file uses for the button; `None` when it cannot be bound.
    pub fn name(self) -> Option<&'static str> {
        NAMED.iter().find(|(_, b)| *b == self).map(|(n, _)| *n)
    }

    /// The button the settings file calls `name`, if any.
    pub fn from_name(name: &str) -> Option<Button> {
        NAMED.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
    }

    /// Whether the settings file can name this button (others cannot be bound).
    pub fn bindable(self) -> bool {
        self.name().is_some()
    }
}

/// Which buttons do what. Several buttons may do one action; one button
/// does at most one action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bindings {
    map: BTreeMap<Action, Vec<Button>>,
}

impl Default for Bindings {
    fn default() -> Self {
        use Button::*;
        let k = |c| Key(c);
        let map = BTreeMap::from([
            (
                Action::Up,
                vec![
                    k(KeyCode::KeyW),
                    k(KeyCode::ArrowUp),
                    Pad(GamepadButton::DPadUp),
                ],
            ),
            (
                Action::Down,
                vec![
                    k(KeyCode::KeyS),
                    k(KeyCode::ArrowDown),
                    Pad(GamepadButton::DPadDown),
                ],
            ),
            (
                Action::Left,
                vec![
                    k(KeyCode::KeyA),
                    k(KeyCode::ArrowLeft),
                    Pad(GamepadButton::DPadLeft),
                ],
            ),
            (
                Action::Right,
                vec![
                    k(KeyCode::KeyD),
                    k(KeyCode::ArrowRight),
                    Pad(GamepadButton::DPadRight),
                ],
            ),
            (
                Action::Melee,
                vec![
                    Mouse(MouseButton::Left),
                    k(KeyCode::KeyJ),
                    Pad(GamepadButton::West),
                ],
            ),
            (
                Action::Shoot,
                vec![
                    Mouse(MouseButton::Right),
                    k(KeyCode::KeyK),
                    Pad(GamepadButton::RightTrigger2),
                ],
            ),
            (
                Action::Dodge,
                vec![k(KeyCode::Space), Pad(GamepadButton::South)],
            ),
            (
                Action::Interact,
                vec![k(KeyCode::KeyE), Pad(GamepadButton::East)],
            ),
        ]);
        Bindings { map }
    }
}

impl Bindings {
    /// The buttons bound to `action`, the last one rebound first.
    pub fn buttons(&self, action: Action) -> &[Button] {
        self.map.get(&action).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The action `button` does, if any.
    pub fn action_of(&self, button: Button) -> Option<Action> {
        self.map
            .iter()
            .find(|(_, bs)| bs.contains(&button))
            .map(|(a, _)| *a)
    }

    /// Makes `button` the first button of `action`, taking it away from any
    /// other action. Buttons the settings file cannot name are refused.
    pub fn rebind(&mut self, action: Action, button: Button) -> bool {
        if !button.bindable() {
            return false;
        }
        for bs in self.map.values_mut() {
            bs.retain(|b| *b != button);
        }
        self.map.entry(action).or_default().insert(0, button);
        true
    }

    /// The core's input for one tick: the bits of every action with a held
    /// button, the left stick's direction when it is past its dead zone, and
    /// the aim (an octant, 0 = east, clockwise on screen) when there is one.
    pub fn input(
        &self,
        held: impl Fn(Button) -> bool,
        stick: Option<(f32, f32)>,
        aim: Option<u8>,
    ) -> Input {
        let mut bits = 0u16;
        for (action, buttons) in &self.map {
            if buttons.iter().any(|b| held(*b)) {
                bits |= action.bit();
            }
        }
        let mut input = Input(bits);
        if let Some(dir) = stick.and_then(|(x, y)| octant(x, y)) {
            input = Input(input.0 & !(Input::UP | Input::DOWN | Input::LEFT | Input::RIGHT))
                .moving(dir);
        }
        if let Some(dir) = aim {
            input = input.aiming(dir);
        }
        input
    }

    /// The settings file's form: action name → button names.
    pub fn to_names(&self) -> BTreeMap<Action, Vec<String>> {
        self.map
            .iter()
            .map(|(a, bs)| {
                (
                    *a,
                    bs.iter()
                        .filter_map(|b| b.name().map(str::to_owned))
                        .collect(),
                )
            })
            .collect()
    }

    /// Reads the settings file's form; unknown button names are an error
    /// (the file was edited by hand), actions it leaves out keep their defaults.
    pub fn from_names(names: &BTreeMap<Action, Vec<String>>) -> Result<Bindings, String> {
        let mut b = Bindings::default();
        for (action, list) in names {
            let mut buttons = vec![];
            for n in list {
                buttons.push(Button::from_name(n).ok_or_else(|| format!("unknown button {n:?}"))?);
            }
            b.map.insert(*action, vec![]);
            for button in buttons.into_iter().rev() {
                b.rebind(*action, button);
            }
        }
        Ok(b)
    }
}

/// The octant (0 = east, 2 = south, 4 = west, 6 = north: the core's
/// directions, y down) of a screen-space vector with y up; `None` inside
/// the dead zone.
pub fn octant(x: f32, y: f32) -> Option<u8> {
    const DEAD_ZONE: f32 = 0.3;
    if x * x + y * y < DEAD_ZONE * DEAD_ZONE {
        return None;
    }
    // The core's y grows downward; the screen's grows upward.
    let angle = (-y).atan2(x); // -π..π, 0 = east, π/2 = south
    let step = std::f32::consts::FRAC_PI_4;
    Some(((angle / step).round() as i32).rem_euclid(8) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(list: &[Button]) -> impl Fn(Button) -> bool + '_ {
        move |b| list.contains(&b)
    }

    #[test]
    fn held_buttons_set_their_actions_bits() {
        let b = Bindings::default();
        let i = b.input(
            held(&[Button::Key(KeyCode::KeyW), Button::Key(KeyCode::Space)]),
            None,
            None,
        );
        assert!(i.has(Input::UP) && i.has(Input::DODGE));
        assert!(!i.has(Input::DOWN) && !i.has(Input::MELEE));
        assert_eq!(b.input(held(&[]), None, None), Input(0));
    }

    #[test]
    fn the_stick_overrides_the_direction_keys_and_aim_is_encoded() {
        let b = Bindings::default();
        // stick pointing down-left on screen (y up): the core's octant 3
        let i = b.input(
            held(&[Button::Key(KeyCode::KeyD)]),
            Some((-0.7, -0.7)),
            Some(6),
        );
        assert_eq!(i.move_dir(), Some(3));
        assert_eq!(i.aim(), Some(6));
        // inside the dead zone the keys still count
        let i = b.input(held(&[Button::Key(KeyCode::KeyD)]), Some((0.1, 0.0)), None);
        assert_eq!(i.move_dir(), Some(0));
    }

    #[test]
    fn octants_follow_the_cores_directions() {
        assert_eq!(octant(1.0, 0.0), Some(0));
        assert_eq!(octant(0.0, -1.0), Some(2)); // screen down = core south
        assert_eq!(octant(-1.0, 0.0), Some(4));
        assert_eq!(octant(0.0, 1.0), Some(6));
        assert_eq!(octant(0.7, 0.7), Some(7));
        assert_eq!(octant(0.0, 0.0), None);
    }

    #[test]
    fn rebinding_moves_a_button_between_actions() {
        let mut b = Bindings::default();
        let space = Button::Key(KeyCode::Space);
        assert_eq!(b.action_of(space), Some(Action::Dodge));
        assert!(b.rebind(Action::Shoot, space));
        assert_eq!(b.action_of(space), Some(Action::Shoot));
        assert!(!b.buttons(Action::Dodge).contains(&space));
        assert_eq!(b.buttons(Action::Shoot)[0], space);
        let i = b.input(held(&[space]), None, None);
        assert!(i.has(Input::SHOOT) && !i.has(Input::DODGE));
        // a key the settings file cannot name is refused
        assert!(!b.rebind(Action::Up, Button::Key(KeyCode::F13)));
    }

    #[test]
    fn bindings_survive_the_settings_file_and_bad_names_are_errors() {
        let mut b = Bindings::default();
        b.rebind(Action::Melee, Button::Key(KeyCode::KeyF));
        let back = Bindings::from_names(&b.to_names()).unwrap();
        assert_eq!(back, b);
        let bad = BTreeMap::from([(Action::Up, vec!["NoSuchKey".to_string()])]);
        assert!(Bindings::from_names(&bad).is_err());
    }
}
