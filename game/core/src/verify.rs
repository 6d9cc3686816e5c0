//! `verify`: re-simulate a match from its header and inputs and derive the
//! outcome (final checksum, every player's rewards) from the simulation only.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::game::Game;
use crate::input::Input;
use crate::inventory::Materials;
use crate::item::{ItemStats, ItemType};
use crate::rules::RULES_VERSION;
use crate::state::{Checksum, MatchEnd};
use crate::transcript::{MatchHeader, Transcript};

/// What one player earned in a verified match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerOutcome {
    pub xp: u32,
    pub kills: u16,
    pub materials: Materials,
    pub items: Vec<ItemStats>,
    /// Durability lost by the weapon, armor and tool the player brought.
    pub wear: [u16; 3],
    pub downed: bool,
    pub damage_dealt: u32,
    pub damage_taken: u32,
}

/// The result of re-simulating a match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub frames: u32,
    /// How it ended; `None` if the inputs stop before the match did (a player
    /// left: the transcript runs to the last confirmed frame).
    pub end: Option<MatchEnd>,
    pub waves_cleared: u8,
    pub final_checksum: Checksum,
    pub players: Vec<PlayerOutcome>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("rules version {got}, this build verifies {expected}")]
    RulesVersion { got: u32, expected: u32 },
    #[error("invalid header: {0}")]
    Header(&'static str),
    #[error("{streams} input streams for {players} players")]
    InputStreams { players: usize, streams: usize },
    #[error("input streams of different lengths")]
    UnevenInputs,
    #[error("the match ended at frame {ended_at} but inputs run to frame {frames}")]
    InputsAfterEnd { ended_at: u32, frames: u32 },
    #[error("player {player} sent undefined input bits at frame {frame}")]
    NonCanonicalInput { player: usize, frame: usize },
    #[error("final checksum {claimed} does not match the re-simulated {actual}")]
    ChecksumMismatch { claimed: Checksum, actual: Checksum },
}

/// Re-simulates the match of `header` over `inputs[player][frame]`.
pub fn verify(header: &MatchHeader, inputs: &[Vec<Input>]) -> Result<Outcome, VerifyError> {
    if header.rules_version != RULES_VERSION {
        return Err(VerifyError::RulesVersion {
            got: header.rules_version,
            expected: RULES_VERSION,
        });
    }
    header.validate().map_err(VerifyError::Header)?;
    let n = header.players.len();
    if inputs.len() != n {
        return Err(VerifyError::InputStreams {
            players: n,
            streams: inputs.len(),
        });
    }
    let frames = inputs[0].len();
    if inputs.iter().any(|v| v.len() != frames) {
        return Err(VerifyError::UnevenInputs);
    }
    for (player, stream) in inputs.iter().enumerate() {
        if let Some(frame) = stream.iter().position(|i| !i.is_canonical()) {
            return Err(VerifyError::NonCanonicalInput { player, frame });
        }
    }
    let mut game = Game::from_header(header);
    let mut tick = Vec::with_capacity(n);
    for f in 0..frames {
        if game.is_over() {
            return Err(VerifyError::InputsAfterEnd {
                ended_at: game.frame(),
                frames: frames as u32,
            });
        }
        tick.clear();
        tick.extend(inputs.iter().map(|v| v[f]));
        game.step(&tick);
    }
    let s = &game.state;
    let players = header
        .players
        .iter()
        .zip(&s.players)
        .map(|(slot, p)| {
            let lost = |ty: ItemType| match (slot.loadout.slot(ty), p.equipment.slot(ty)) {
                (Some(a), Some(b)) => a.durability - b.durability,
                _ => 0,
            };
            PlayerOutcome {
                xp: p.rewards.xp,
                kills: p.rewards.kills,
                materials: p.rewards.materials,
                items: p.rewards.items.to_vec(),
                wear: [
                    lost(ItemType::Weapon),
                    lost(ItemType::Armor),
                    lost(ItemType::Tool),
                ],
                downed: p.downed,
                damage_dealt: p.rewards.damage_dealt,
                damage_taken: p.rewards.damage_taken,
            }
        })
        .collect();
    Ok(Outcome {
        frames: s.frame,
        end: s.end,
        waves_cleared: s.waves.cleared,
        final_checksum: s.checksum(),
        players,
    })
}

impl Transcript {
    /// Re-simulates this transcript and checks its claimed final checksum.
    /// (Signatures are checked by the node, which holds the crypto.)
    pub fn verify(&self) -> Result<Outcome, VerifyError> {
        let outcome = verify(&self.header, &self.inputs)?;
        if outcome.final_checksum != self.final_checksum {
            return Err(VerifyError::ChecksumMismatch {
                claimed: self.final_checksum,
                actual: outcome.final_checksum,
            });
        }
        Ok(outcome)
    }
}
