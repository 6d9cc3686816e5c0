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
    /// Experience earned from kills and cleared waves.
    pub xp: u32,
    /// Enemies killed (each credited to the player who hit it last).
    pub kills: u16,
    /// Materials gathered and picked up.
    pub materials: Materials,
    /// Items picked up, in pickup order (at most `MAX_REWARD_ITEMS`).
    pub items: Vec<ItemStats>,
    /// Durability lost by the weapon, armor and tool the player brought.
    pub wear: [u16; 3],
    /// Whether the player was down when the simulation stopped.
    pub downed: bool,
    /// Damage of the player's melee and bolt hits on enemies (burn and thorns not counted).
    pub damage_dealt: u32,
    /// Damage taken after armor (burn damage not counted).
    pub damage_taken: u32,
}

/// The result of re-simulating a match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Frames simulated: the length of the input streams.
    pub frames: u32,
    /// How it ended; `None` if the inputs stop before the match did (a player
    /// left: the transcript runs to the last confirmed frame).
    pub end: Option<MatchEnd>,
    /// Waves the players cleared.
    pub waves_cleared: u8,
    /// Checksum of the state after the last frame.
    pub final_checksum: Checksum,
    /// Each player's earnings, in seat order.
    pub players: Vec<PlayerOutcome>,
}

/// Why a match could not be verified.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The header is for a rules version other than this build's.
    #[error("rules version {got}, this build verifies {expected}")]
    RulesVersion {
        /// The header's rules version.
        got: u32,
        /// The version this build verifies (`RULES_VERSION`).
        expected: u32,
    },
    /// The header fails its structural checks (the reason given).
    #[error("invalid header: {0}")]
    Header(&'static str),
    /// The number of input streams differs from the number of seats.
    #[error("{streams} input streams for {players} players")]
    InputStreams {
        /// Seats in the header.
        players: usize,
        /// Input streams supplied.
        streams: usize,
    },
    /// The input streams are not all the same length.
    #[error("input streams of different lengths")]
    UnevenInputs,
    /// Inputs continue past the frame at which the match ended.
    #[error("the match ended at frame {ended_at} but inputs run to frame {frames}")]
    InputsAfterEnd {
        /// The frame at which the match ended.
        ended_at: u32,
        /// Frames of input supplied.
        frames: u32,
    },
    /// An input sets bits the rules do not define.
    #[error("player {player} sent undefined input bits at frame {frame}")]
    NonCanonicalInput {
        /// Seat of the offending input.
        player: usize,
        /// Frame index of the offending input.
        frame: usize,
    },
    /// The transcript's final checksum differs from the re-simulated one.
    #[error("final checksum {claimed} does not match the re-simulated {actual}")]
    ChecksumMismatch {
        /// The checksum the transcript claims.
        claimed: Checksum,
        /// The checksum the re-simulation produced.
        actual: Checksum,
    },
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
