//! The window's settings: key bindings, input delay, volume. Kept in
//! `client.toml` in the node's data directory; a file that does not parse is
//! reported and left alone (the defaults apply), never overwritten unasked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bevy::prelude::Resource;
use serde::{Deserialize, Serialize};

use crate::bindings::{Action, Bindings};

/// The settings the window plays with, loaded from and saved to `client.toml`.
#[derive(Resource, Clone, Debug, PartialEq)]
pub struct Settings {
    /// Which buttons do what.
    pub bindings: Bindings,
    /// Frames of input delay for online matches (0 to 8).
    pub input_delay: usize,
    /// 0..=1. The client plays no sound yet; the setting is kept for when it does.
    pub volume: f32,
    /// Where the settings are saved (none: not saved, as in tests).
    pub path: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bindings: Bindings::default(),
            input_delay: 2,
            volume: 0.8,
            path: None,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    input_delay: usize,
    volume: f32,
    bindings: BTreeMap<Action, Vec<String>>,
}

/// The most frames of input delay a player can set.
pub const MAX_INPUT_DELAY: usize = 8;

impl Settings {
    /// Reads `path`; a missing file gives the defaults (saved there later).
    pub fn load(path: &Path) -> Result<Settings, String> {
        let mut s = Settings {
            path: Some(path.to_owned()),
            ..Settings::default()
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(s),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let f: SettingsFile =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        s.bindings =
            Bindings::from_names(&f.bindings).map_err(|e| format!("{}: {e}", path.display()))?;
        s.input_delay = f.input_delay.min(MAX_INPUT_DELAY);
        s.volume = f.volume.clamp(0.0, 1.0);
        Ok(s)
    }

    /// Writes the settings to their file; without a path, does nothing.
    pub fn save(&self) -> Result<(), String> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let f = SettingsFile {
            input_delay: self.input_delay,
            volume: self.volume,
            bindings: self.bindings.to_names(),
        };
        let text = toml::to_string_pretty(&f).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::Button;
    use bevy::input::keyboard::KeyCode;

    #[test]
    fn settings_round_trip_through_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.toml");
        let mut s = Settings::load(&path).unwrap();
        assert_eq!(s.bindings, Bindings::default());
        s.bindings
            .rebind(Action::Dodge, Button::Key(KeyCode::ShiftLeft));
        s.input_delay = 4;
        s.volume = 0.25;
        s.save().unwrap();
        assert_eq!(Settings::load(&path).unwrap(), s);
    }

    #[test]
    fn a_broken_file_is_an_error_and_stays_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.toml");
        std::fs::write(&path, "input_delay = \"lots\"").unwrap();
        assert!(Settings::load(&path).is_err());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "input_delay = \"lots\""
        );
    }
}
