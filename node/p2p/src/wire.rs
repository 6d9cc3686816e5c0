//! Every message the node puts on the wire, with its framed, versioned and
//! size-bounded encoding (the core's [`Format`]: magic, version, postcard).
//! `docs/protocol.md` is the human-readable form of this file.

use cyteria_game::Rules;
use cyteria_game::codec::{DecodeError, Format};
use cyteria_game::inventory::Loadout;
use cyteria_game::state::Checksum;
use cyteria_game::transcript::{Beacon, ItemIds, Signature};
use cyteria_settlement::action::SignedAction;
use cyteria_settlement::batch::Batch;
use cyteria_settlement::binding::SignedBinding;
use cyteria_settlement::evidence::Equivocation;
use ipld_core::cid::Cid;
use serde::{Deserialize, Serialize};

/// The gossipsub topic of the lobby.
pub const LOBBY_TOPIC: &str = "/cyteria/lobby/1";
/// The gossipsub topic on which finished matches are announced.
pub const TRANSCRIPTS_TOPIC: &str = "/cyteria/transcripts/1";
/// The gossipsub topic of players' wallet bindings and signed actions.
pub const ACTIONS_TOPIC: &str = "/cyteria/actions/1";
/// The gossipsub topic of validators' batch attestations.
pub const BATCHES_TOPIC: &str = "/cyteria/batches/1";
/// The stream protocol that carries ggrs traffic between a match's players.
pub const ROLLBACK_PROTOCOL: &str = "/cyteria/rollback/2";
/// The Kademlia protocol name of the Cyteria DHT.
pub const KAD_PROTOCOL: &str = "/cyteria/kad/1.0.0";
/// The gossipsub protocol id (gossipsub v1.1 framing under a Cyteria name).
pub const GOSSIP_PROTOCOL: &str = "/cyteria/meshsub/1.1.0";
/// The identify protocol version string.
pub const IDENTIFY_VERSION: &str = "/cyteria/0.1.0";
/// Largest gossip message accepted by any topic.
pub const MAX_GOSSIP_BYTES: usize = 64 * 1024;

/// The encoding of lobby messages (`CYLB`, at most 4 KiB).
pub const LOBBY: Format = Format {
    name: "lobby message",
    magic: *b"CYLB",
    version: 4,
    max_bytes: 4 * 1024,
};
/// The encoding of rollback frames (`CYRB`, at most 16 KiB).
pub const ROLLBACK: Format = Format {
    name: "rollback frame",
    magic: *b"CYRB",
    version: 3,
    max_bytes: 16 * 1024,
};
/// The encoding of transcript announcements (`CYTA`, at most 1 KiB).
pub const ANNOUNCE: Format = Format {
    name: "transcript announcement",
    magic: *b"CYTA",
    version: 3,
    max_bytes: 1024,
};
/// The encoding of batch attestations (`CYBA`, at most 1 KiB).
pub const ATTESTATION: Format = Format {
    name: "batch attestation",
    magic: *b"CYBA",
    version: 4,
    max_bytes: 1024,
};
/// The encoding of action messages (`CYAM`, at most 2 KiB).
pub const ACTION_MESSAGE: Format = Format {
    name: "action message",
    magic: *b"CYAM",
    version: 4,
    max_bytes: 4096,
};

/// The kind of match an offer asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Mode {
    /// Players together against the waves.
    Coop,
}

/// What an offer must share with others to be matched with them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MatchKind {
    /// The game mode.
    pub mode: Mode,
    /// Players in the match, 1 to 4.
    pub size: u8,
    /// The rules version the players run (`cyteria_game::RULES_VERSION`).
    pub rules_version: u32,
    /// Waves to clear for a victory.
    pub waves: u8,
    /// Frames before the match ends in a timeout.
    pub time_limit: u32,
}

impl MatchKind {
    /// Whether `size` seats make a match: 1 to 4 (the core's player pool).
    pub fn check_size(size: u8) -> Result<(), String> {
        if (1..=cyteria_game::rules::MAX_PLAYERS as u8).contains(&size) {
            Ok(())
        } else {
            Err(format!(
                "{size} players: a match has 1 to {}",
                cyteria_game::rules::MAX_PLAYERS
            ))
        }
    }

    /// The match the game window looks for, and that a devnet left up
    /// (`--stay`) keeps a bot looking for: two players in co-op, three
    /// waves, three minutes.
    pub const PUBLIC: MatchKind = MatchKind {
        mode: Mode::Coop,
        size: 2,
        rules_version: cyteria_game::RULES_VERSION,
        waves: 3,
        time_limit: 3 * 60 * 60,
    };

    /// The game rules this kind of match is played under.
    pub fn rules(&self) -> Rules {
        Rules {
            waves: self.waves,
            time_limit: self.time_limit,
        }
    }
}

/// A node looking for a match; re-posted while it waits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// Fresh per search, so a new search is a new offer.
    pub offer_id: [u8; 16],
    /// The kind of match asked for.
    pub kind: MatchKind,
    /// What the player has equipped.
    pub loadout: Loadout,
    /// The token ids of the owned items in `loadout` (see [`cyteria_game::transcript::PlayerSlot::items`]).
    pub items: ItemIds,
    /// The settled epoch the player's node last read from the chain; only
    /// offers naming the same beacon are grouped, and the match is agreed from it.
    pub beacon: Beacon,
}

/// A node's commitment to one proposed group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accept {
    /// The id of the group's match.
    pub match_id: [u8; 32],
}

/// What nodes post on [`LOBBY_TOPIC`].
// An offer is ~300 bytes with its token ids; messages live one at a time
// on the dispatcher's stack, so boxing it would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LobbyMessage {
    /// The sender is looking for a match.
    Offer(Offer),
    /// The sender commits to a proposed group.
    Accept(Accept),
    /// The sender stopped searching (its offer is void).
    Withdraw {
        /// The withdrawn offer's id.
        offer_id: [u8; 16],
    },
}

impl LobbyMessage {
    /// The message's framed bytes.
    pub fn encode(&self) -> Vec<u8> {
        LOBBY.encode(self)
    }

    /// Decodes a message and checks an offer's size (1 to 4), rules and loadout.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let m: LobbyMessage = LOBBY.decode(bytes)?;
        if let LobbyMessage::Offer(o) = &m {
            if MatchKind::check_size(o.kind.size).is_err() {
                return Err(LOBBY.invalid("a match has 1 to 4 players"));
            }
            o.kind.rules().validate().map_err(|r| LOBBY.invalid(r))?;
            if !o.loadout.is_consistent() {
                return Err(LOBBY.invalid("an item in the wrong equipment slot"));
            }
            // Validators credit no match with more (see `verifier::check_loadouts`).
            match cyteria_settlement::ids::check_equipped(&o.loadout, &o.items) {
                Ok(()) => {}
                Err(cyteria_settlement::ids::EquipError::NoItemId(_)) => {
                    return Err(LOBBY.invalid("a loadout beyond the starter kit"));
                }
                Err(_) => return Err(LOBBY.invalid("an item that is not its token id")),
            }
        }
        Ok(m)
    }
}

/// A player's signature over its input chain up to `frame`, as sent between
/// the players of a match (and relayed, so that all of them see it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireCheckpoint {
    /// The signer's seat.
    pub seat: u8,
    /// The frame the chain reaches.
    pub frame: u32,
    /// The head of the seat's input chain at `frame`.
    pub chain: [u8; 32],
    /// The seat key's ed25519 signature over the checkpoint message.
    pub signature: Signature,
}

/// One frame on a rollback stream. Each stream carries one direction; its
/// first frame is `Hello`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum RollbackFrame {
    /// Names the stream's match; the receiver echoes it once the stream is routed.
    Hello {
        /// The match.
        match_id: [u8; 32],
    },
    /// A ggrs protocol message.
    Ggrs(ggrs::Message),
    /// A signed checkpoint, the sender's own or one it relays.
    Checkpoint(WireCheckpoint),
    /// The sender reached the end of the match at `frame` with `checksum`
    /// (or, when players left, ends it there); `last` is its final checkpoint.
    Bye {
        /// The match's last frame.
        frame: u32,
        /// How it ended: `END_FINISHED`, or the seats that left (`ending_left`).
        ending: u8,
        /// The state's checksum at that frame.
        checksum: Checksum,
        /// The sender's final checkpoint.
        last: WireCheckpoint,
        /// The sender's signature over the match's end record (see
        /// `signing::end_message`): the match ended at `frame`, as
        /// `ending` says, with `checksum`.
        end: Signature,
    },
}

impl RollbackFrame {
    /// The frame's framed bytes.
    pub fn encode(&self) -> Vec<u8> {
        ROLLBACK.encode(self)
    }

    /// Decodes a frame.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        ROLLBACK.decode(bytes)
    }
}

/// "A match ended; here is its transcript": gossiped on [`TRANSCRIPTS_TOPIC`].
/// The transcript itself is an IPFS block named by `cid`, held by the author.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announce {
    /// The match.
    pub match_id: [u8; 32],
    /// The CID of the transcript record (carried as text).
    #[serde(with = "crate::block::cid_text")]
    pub cid: Cid,
    /// Frames in the transcript.
    pub frames: u32,
    /// The transcript's final checksum.
    pub final_checksum: Checksum,
    /// What the player's node says the match gave each seat
    /// ([`claims_hash`] of its outcome). Validators credit what their own
    /// re-simulation gives and reject an announcement whose claim differs.
    pub claims: [u8; 32],
}

/// The hash a player's claim commits to: every seat's outcome.
pub fn claims_hash(players: &[cyteria_game::verify::PlayerOutcome]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("cyteria reward claims v1");
    h.update(&postcard::to_allocvec(players).unwrap_or_default());
    *h.finalize().as_bytes()
}

impl Announce {
    /// The announcement's framed bytes.
    pub fn encode(&self) -> Vec<u8> {
        ANNOUNCE.encode(self)
    }

    /// Decodes an announcement (its CID parsed and bounded).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        ANNOUNCE.decode(bytes)
    }
}

/// A batch as validators sign it (the Settlement contract's `Batch`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireBatch {
    /// The epoch it settles.
    pub epoch: u64,
    /// The round of the epoch it was proposed in.
    pub round: u32,
    /// The ledger's state root before the batch.
    pub prev_root: [u8; 32],
    /// The ledger's state root after it.
    pub new_root: [u8; 32],
    /// The CID of the batch's data.
    pub data_cid: String,
    /// The minted items' metadata directory; empty when the batch mints nothing.
    pub metadata_cid: String,
    /// `keccak256(abi.encode(mints))` of the items the batch mints.
    pub mints_hash: [u8; 32],
    /// `keccak256(abi.encode(slashes))` of the player bonds it slashes.
    pub slashes_hash: [u8; 32],
}

impl From<&Batch> for WireBatch {
    fn from(b: &Batch) -> Self {
        Self {
            epoch: b.epoch,
            round: b.round,
            prev_root: b.prevRoot.0,
            new_root: b.newRoot.0,
            data_cid: b.dataCid.clone(),
            metadata_cid: b.metadataCid.clone(),
            mints_hash: b.mintsHash.0,
            slashes_hash: b.slashesHash.0,
        }
    }
}

impl From<&WireBatch> for Batch {
    fn from(b: &WireBatch) -> Self {
        Batch {
            epoch: b.epoch,
            round: b.round,
            prevRoot: b.prev_root.into(),
            newRoot: b.new_root.into(),
            dataCid: b.data_cid.clone(),
            metadataCid: b.metadata_cid.clone(),
            mintsHash: b.mints_hash.into(),
            slashesHash: b.slashes_hash.into(),
        }
    }
}

/// A validator's EIP-712 signature over a batch, gossiped on
/// [`BATCHES_TOPIC`]. The epoch's leader proposes by sending the first; the
/// others answer with theirs once they have checked the batch's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    /// The batch signed.
    pub batch: WireBatch,
    /// 65 bytes: r ‖ s ‖ v.
    pub signature: Vec<u8>,
}

impl Attestation {
    /// The attestation's framed bytes.
    pub fn encode(&self) -> Vec<u8> {
        ATTESTATION.encode(self)
    }

    /// Decodes an attestation and checks its signature's length and its CIDs.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let a: Attestation = ATTESTATION.decode(bytes)?;
        if a.signature.len() != 65 {
            return Err(ATTESTATION.invalid("a signature is 65 bytes"));
        }
        crate::block::parse_cid(&a.batch.data_cid).map_err(|_| ATTESTATION.invalid("not a CID"))?;
        if !a.batch.metadata_cid.is_empty() {
            crate::block::parse_cid(&a.batch.metadata_cid)
                .map_err(|_| ATTESTATION.invalid("metadata: not a CID"))?;
        }
        Ok(a)
    }
}

/// What players send on [`ACTIONS_TOPIC`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionMessage {
    /// A wallet binding of the author's game key.
    Bind(SignedBinding),
    /// A signed craft, repair, ….
    Act(SignedAction),
    /// A player's equivocation a session caught, for the validators to slash.
    Evidence(Equivocation),
}

impl ActionMessage {
    /// The message's framed bytes.
    pub fn encode(&self) -> Vec<u8> {
        ACTION_MESSAGE.encode(self)
    }

    /// Decodes a message: a binding's signature must be 65 bytes, an action's must verify.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let m: ActionMessage = ACTION_MESSAGE.decode(bytes)?;
        match &m {
            ActionMessage::Bind(b) if b.signature.len() != 65 => {
                Err(ACTION_MESSAGE.invalid("a signature is 65 bytes"))
            }
            ActionMessage::Act(a) if !a.is_signed() => {
                Err(ACTION_MESSAGE.invalid("the action's signature does not verify"))
            }
            ActionMessage::Evidence(e) if e.check().is_err() => {
                Err(ACTION_MESSAGE.invalid("the evidence proves no equivocation"))
            }
            _ => Ok(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cyteria_game::RULES_VERSION;

    fn offer() -> LobbyMessage {
        LobbyMessage::Offer(Offer {
            offer_id: [7; 16],
            kind: MatchKind {
                mode: Mode::Coop,
                size: 2,
                rules_version: RULES_VERSION,
                waves: 1,
                time_limit: 600,
            },
            loadout: Loadout::default(),
            items: Default::default(),
            beacon: Default::default(),
        })
    }

    #[test]
    fn lobby_messages_round_trip_and_bad_ones_are_errors() {
        let m = offer();
        assert_eq!(LobbyMessage::decode(&m.encode()).unwrap(), m);
        let mut bytes = m.encode();
        bytes.truncate(bytes.len() - 3);
        assert!(LobbyMessage::decode(&bytes).is_err());
        assert!(LobbyMessage::decode(&[0u8; 5000]).is_err());
        assert!(LobbyMessage::decode(b"garbage").is_err());
        let LobbyMessage::Offer(mut o) = m else {
            unreachable!()
        };
        o.kind.size = 9;
        assert!(LobbyMessage::decode(&LobbyMessage::Offer(o.clone()).encode()).is_err());
        o.kind.size = 2;
        o.kind.time_limit = 1;
        assert!(LobbyMessage::decode(&LobbyMessage::Offer(o).encode()).is_err());
    }

    #[test]
    fn rollback_frames_round_trip_and_never_panic_on_junk() {
        let f = RollbackFrame::Hello { match_id: [3; 32] };
        assert!(
            matches!(RollbackFrame::decode(&f.encode()).unwrap(), RollbackFrame::Hello { match_id } if match_id == [3; 32])
        );
        for n in 0..64 {
            let junk: Vec<u8> = (0..n).map(|i| (i * 37 + n) as u8).collect();
            let _ = RollbackFrame::decode(&junk);
            let mut framed = b"CYRB\x01".to_vec();
            framed.extend_from_slice(&junk);
            let _ = RollbackFrame::decode(&framed);
        }
    }
}
