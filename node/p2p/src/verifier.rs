//! What a validator checks before it credits a match (pure; the validator
//! role fetches the bytes): the announced transcript decodes and is the one
//! announced, every player signed its inputs (ed25519 batch verification)
//! and the match's end record (its last frame and final checksum: no prefix
//! passes for the whole), the re-simulation reproduces the final checksum, and the rewards the
//! player's node claimed are the ones the simulation gives.

use cyteria_game::codec::DecodeError;
use cyteria_game::transcript::Transcript;
use cyteria_game::verify::{Outcome, VerifyError};
use cyteria_settlement::ids::{EquipError, check_equipped};
use thiserror::Error;

use crate::signing::{SignatureError, verify_end, verify_transcript_signatures};
use crate::wire::{Announce, claims_hash};

/// Why a validator does not credit a match.
#[derive(Debug, Error)]
pub enum Rejection {
    /// The transcript's bytes do not decode.
    #[error("the transcript does not decode: {0}")]
    Decode(#[from] DecodeError),
    /// The transcript differs from its announcement in what this names.
    #[error("the transcript is not the announced one ({0})")]
    NotAnnounced(&'static str),
    /// A player's checkpoints do not hold.
    #[error(transparent)]
    Signatures(#[from] SignatureError),
    /// The re-simulation refused the match or did not reproduce its final checksum.
    #[error("re-simulation: {0}")]
    Simulation(#[from] VerifyError),
    /// The claims hash announced is not the one of the rewards the simulation gives.
    #[error("the announced rewards are not what the simulation gives")]
    ClaimedRewards,
    /// A seat's loadout holds an item that is not the starter kit's and
    /// names no token id.
    #[error("seat {0}: a loadout item that is not the starter kit's names no token id")]
    UnownedLoadout(usize),
    /// A seat's item is not the one its token id encodes.
    #[error("seat {0}: {1}")]
    NotItsId(usize, EquipError),
    /// The match seed is not the one its beacon gives its match id: the
    /// players could have chosen it, and could have played before the beacon.
    #[error("the match seed is not drawn from its beacon")]
    SeedNotFromBeacon,
}

impl Rejection {
    /// Whether the refusal is of the announcement rather than the record:
    /// the record may be an honest one that a liar announced first.
    pub fn is_about_the_announcement(&self) -> bool {
        matches!(self, Rejection::NotAnnounced(_) | Rejection::ClaimedRewards)
    }
}

impl Rejection {
    /// A short, bounded label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Rejection::Decode(_) => "malformed transcript",
            Rejection::NotAnnounced(_) => "not as announced",
            Rejection::Signatures(e) => e.label(),
            Rejection::Simulation(VerifyError::ChecksumMismatch { .. }) => "checksum mismatch",
            Rejection::Simulation(VerifyError::RulesVersion { .. }) => "rules version",
            Rejection::Simulation(_) => "invalid match",
            Rejection::ClaimedRewards => "claimed rewards",
            Rejection::UnownedLoadout(_) => "loadout not owned",
            Rejection::NotItsId(..) => "item not its id",
            Rejection::SeedNotFromBeacon => "seed not from beacon",
        }
    }
}

/// Checks that every seat equips the starter kit's items (or nothing in a
/// slot), or an item whose token id it names, with that id's stats
/// (durability at most the id's). A header's loadout is the seat's own
/// word: a `damage: 65535` weapon no token encodes is refused here; that
/// the seat's wallet held the id at the beacon, and the wear the ledger
/// recorded, the ledger checks when it credits (it reads the chain).
pub fn check_loadouts(t: &Transcript) -> Result<(), Rejection> {
    for (seat, slot) in t.header.players.iter().enumerate() {
        match check_equipped(&slot.loadout, &slot.items) {
            Ok(()) => {}
            Err(EquipError::NoItemId(_)) => return Err(Rejection::UnownedLoadout(seat)),
            Err(e) => return Err(Rejection::NotItsId(seat, e)),
        }
    }
    Ok(())
}

/// Checks that the match seed is drawn from the beacon the header names.
/// Whether the beacon is real and recent, and the match fits its players'
/// time, needs the chain: the ledger checks that when it credits
/// (`cyteria_settlement::provenance`).
pub fn check_provenance(t: &Transcript) -> Result<(), Rejection> {
    if t.header.seed_is_from_beacon() {
        Ok(())
    } else {
        Err(Rejection::SeedNotFromBeacon)
    }
}

/// A transcript that passed every check, with what the simulation gave.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The decoded transcript.
    pub transcript: Transcript,
    /// Its re-simulation's outcome: final checksum and each player's rewards.
    pub outcome: Outcome,
}

/// Checks transcript `bytes` on their own (a transcript named in batch data).
pub fn verify_transcript(bytes: &[u8]) -> Result<Verified, Rejection> {
    let t = Transcript::decode(bytes)?;
    check_provenance(&t)?;
    check_loadouts(&t)?;
    verify_transcript_signatures(&t.header, &t.inputs, &t.checkpoints)?;
    verify_end(&t)?;
    let outcome = t.verify()?;
    Ok(Verified {
        transcript: t,
        outcome,
    })
}

/// Checks the transcript `bytes` fetched for announcement `a`.
pub fn verify_announced(a: &Announce, bytes: &[u8]) -> Result<Verified, Rejection> {
    let t = Transcript::decode(bytes)?;
    if t.header.match_id != a.match_id {
        return Err(Rejection::NotAnnounced("match id"));
    }
    if t.final_checksum != a.final_checksum || t.frames() != a.frames {
        return Err(Rejection::NotAnnounced("frames or final checksum"));
    }
    check_provenance(&t)?;
    check_loadouts(&t)?;
    verify_transcript_signatures(&t.header, &t.inputs, &t.checkpoints)?;
    verify_end(&t)?;
    let outcome = t.verify()?;
    if claims_hash(&outcome.players) != a.claims {
        return Err(Rejection::ClaimedRewards);
    }
    Ok(Verified {
        transcript: t,
        outcome,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cyteria_game::crafting::starter_loadout;
    use cyteria_game::item::ItemStats;
    use cyteria_game::transcript::{Beacon, MatchHeader};
    use cyteria_game::{Rules, scenario};

    fn transcript(loadout: cyteria_game::inventory::Loadout) -> Transcript {
        let mut h = scenario::header(3, 2, Rules::default());
        h.players[1].loadout = loadout;
        let header = MatchHeader::from_beacon(h.match_id, Beacon::default(), h.rules, h.players);
        Transcript {
            header,
            inputs: vec![vec![], vec![]],
            checkpoints: vec![],
            final_checksum: cyteria_game::Checksum([0; 32]),
            ends: vec![],
        }
    }

    #[test]
    fn a_god_weapon_is_refused_and_the_starter_kit_or_less_is_not() {
        let kit = starter_loadout();
        let god = ItemStats {
            damage: u16::MAX,
            ..kit.weapon.unwrap()
        };
        let forged = transcript(cyteria_game::inventory::Loadout {
            weapon: Some(god),
            ..kit
        });
        let refused = check_loadouts(&forged).unwrap_err();
        assert_eq!(refused.label(), "loadout not owned");
        assert!(matches!(refused, Rejection::UnownedLoadout(1)));
        // The refusal comes before any signature or simulation work.
        assert_eq!(
            verify_transcript(&forged.encode()).unwrap_err().label(),
            "loadout not owned"
        );
        assert!(check_loadouts(&transcript(kit)).is_ok());
        let bare = cyteria_game::inventory::Loadout { armor: None, ..kit };
        assert!(check_loadouts(&transcript(bare)).is_ok());
        // Naming a token id does not help: the god weapon is no id's.
        let mut real = kit.weapon.unwrap();
        real.damage = 60;
        let id = cyteria_settlement::ids::encode(&real, 2, 0).unwrap();
        let mut named = forged.clone();
        named.header.players[1].items[0] = Some(id.to_be_bytes());
        let refused = check_loadouts(&named).unwrap_err();
        assert_eq!(refused.label(), "item not its id", "{refused}");
        // The item its id encodes passes here (the ledger checks who held it).
        named.header.players[1].loadout.weapon = Some(real);
        assert!(check_loadouts(&named).is_ok());
    }

    #[test]
    fn a_seed_of_the_players_choosing_is_refused_before_any_simulation() {
        let mut chosen = transcript(starter_loadout());
        assert!(check_provenance(&chosen).is_ok());
        chosen.header.seed ^= 1;
        assert_eq!(
            verify_transcript(&chosen.encode()).unwrap_err().label(),
            "seed not from beacon"
        );
    }
}
