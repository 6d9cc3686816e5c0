//! The record of a match: its header, every player's inputs, the players'
//! signed checkpoints over their input hash chains, and the final checksum.
//!
//! The core defines the types and the input chain; the node signs the chain
//! with the player's ed25519 key and fills in the checkpoints. Its wire form
//! is [`TRANSCRIPT`]: framed, versioned, size-bounded, validated on decode.

use serde::{Deserialize, Serialize};
use serde_big_array::BigArray;

use crate::codec::{DecodeError, Format, bounded};
use crate::input::Input;
use crate::inventory::Loadout;
use crate::rules::{MAX_MATCH_FRAMES, MAX_PLAYERS, RULES_VERSION, Rules};
use crate::state::Checksum;

/// A 32-byte id (a match id, a public key) in lowercase hex, as logs,
/// reports and the wallet write it.
pub fn hex_id(id: &[u8; 32]) -> String {
    blake3::Hash::from_bytes(*id).to_hex().to_string()
}

/// One seat of a match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerSlot {
    /// The player's ed25519 public key (its libp2p identity).
    pub public_key: [u8; 32],
    /// What it brings into the match.
    pub loadout: Loadout,
    /// The token ids of the owned items it equips, in slot order (weapon,
    /// armor, tool); `None` where the slot holds a starter kit item or
    /// nothing. Validators credit the match only when each id's stats are
    /// the slot's (its durability at most the id's, less the wear the
    /// ledger recorded) and the seat's wallet held the id at its beacon.
    pub items: ItemIds,
}

/// Token ids of a seat's equipped items, in slot order (weapon, armor, tool).
pub type ItemIds = [Option<[u8; 32]>; 3];

/// What a player equips: the items, and the token ids of the owned ones
/// (`None` for a starter kit item or an empty slot).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Equipment {
    /// The items, as the simulation sees them.
    pub loadout: Loadout,
    /// Their token ids, in slot order.
    pub items: ItemIds,
}

impl Equipment {
    /// The starter kit, which every player has and no token holds.
    pub fn starter() -> Self {
        Self {
            loadout: crate::crafting::starter_loadout(),
            items: ItemIds::default(),
        }
    }
}

impl PlayerSlot {
    /// A seat with the starter kit.
    pub fn starter(public_key: [u8; 32]) -> Self {
        Self {
            public_key,
            loadout: crate::crafting::starter_loadout(),
            items: ItemIds::default(),
        }
    }
}

/// Where in chain time a match begins: a settled epoch and the state root
/// the chain recorded for it. Validators read both from the chain, so a
/// match can claim no earlier start than that epoch's settlement, and its
/// seed ([`Beacon::seed`]) could not be known before it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Beacon {
    /// The deployment whose epoch this is: every signature over the match
    /// header names it, so a match cannot be credited by another
    /// deployment (two deployments' epoch 0 share the zero root).
    pub deployment: Deployment,
    /// The settled epoch (0 is the deployment itself, with the zero root).
    pub epoch: u64,
    /// The state root the chain settled for `epoch`.
    pub root: [u8; 32],
}

/// A deployment of the contracts: the chain and its Settlement contract.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Deployment {
    /// The chain's id (EIP-155).
    pub chain_id: u64,
    /// The Settlement contract's address.
    pub settlement: [u8; 20],
}

impl Beacon {
    /// The seed of the match `match_id` played from this beacon.
    pub fn seed(&self, match_id: &[u8; 32]) -> u64 {
        let mut h = blake3::Hasher::new_derive_key("cyteria seed v2");
        h.update(&self.epoch.to_le_bytes());
        h.update(&self.root);
        h.update(match_id);
        u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().expect("8 bytes"))
    }
}

/// What the players agreed on before the first frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchHeader {
    /// Identifies the match; every seat's input chain is bound to it.
    pub match_id: [u8; 32],
    /// The `RULES_VERSION` the match is played under.
    pub rules_version: u32,
    /// The parameters the players agreed on besides the seed.
    pub rules: Rules,
    /// The settled epoch the match was agreed from.
    pub beacon: Beacon,
    /// The match seed: it generates the arena and seeds the simulation's
    /// generator. Validators credit only a match whose seed is its
    /// beacon's ([`MatchHeader::seed_is_from_beacon`]).
    pub seed: u64,
    /// Seats in player-handle order.
    #[serde(deserialize_with = "bounded::vec::<_, _, MAX_PLAYERS>")]
    pub players: Vec<PlayerSlot>,
}

impl MatchHeader {
    /// A header for the rules of this build.
    pub fn new(match_id: [u8; 32], seed: u64, rules: Rules, players: Vec<PlayerSlot>) -> Self {
        Self {
            match_id,
            rules_version: RULES_VERSION,
            rules,
            beacon: Beacon::default(),
            seed,
            players,
        }
    }

    /// A header agreed from `beacon`: its seed is the beacon's for `match_id`.
    pub fn from_beacon(
        match_id: [u8; 32],
        beacon: Beacon,
        rules: Rules,
        players: Vec<PlayerSlot>,
    ) -> Self {
        Self {
            beacon,
            ..Self::new(match_id, beacon.seed(&match_id), rules, players)
        }
    }

    /// Whether the seed is the one the beacon gives this match id.
    pub fn seed_is_from_beacon(&self) -> bool {
        self.seed == self.beacon.seed(&self.match_id)
    }

    /// Structural checks that do not depend on the rules version.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.players.is_empty() || self.players.len() > MAX_PLAYERS {
            return Err("a match has 1 to 4 players");
        }
        self.rules.validate()?;
        for p in &self.players {
            if !p.loadout.is_consistent() {
                return Err("an item in the wrong equipment slot");
            }
            let l = &p.loadout;
            if ![l.weapon, l.armor, l.tool]
                .iter()
                .flatten()
                .all(|i| i.traits.is_canonical())
            {
                return Err("an item with undefined trait bits");
            }
        }
        for (i, p) in self.players.iter().enumerate() {
            if self.players[..i]
                .iter()
                .any(|q| q.public_key == p.public_key)
            {
                return Err("a key holds two seats");
            }
        }
        Ok(())
    }

    /// blake3 of the header's canonical encoding: what signatures bind to.
    pub fn digest(&self) -> [u8; 32] {
        *blake3::hash(&HEADER.encode(self)).as_bytes()
    }
}

const HEADER: Format = Format {
    name: "match header",
    magic: *b"CYMH",
    version: 4,
    max_bytes: 16 * 1024,
};

/// Domain tag of a checkpoint signature.
pub const CHECKPOINT_TAG: &[u8] = b"cyteria checkpoint v1\0";

/// The exact bytes a checkpoint signature covers: the match (its header
/// digest), the seat, the frame and the seat's input chain head there.
pub fn checkpoint_message(
    header_digest: &[u8; 32],
    seat: u8,
    frame: u32,
    chain: &[u8; 32],
) -> Vec<u8> {
    let mut m = Vec::with_capacity(CHECKPOINT_TAG.len() + 32 + 1 + 4 + 32);
    m.extend_from_slice(CHECKPOINT_TAG);
    m.extend_from_slice(header_digest);
    m.push(seat);
    m.extend_from_slice(&frame.to_le_bytes());
    m.extend_from_slice(chain);
    m
}

/// Domain tag of an end-record signature.
pub const END_TAG: &[u8] = b"cyteria match end v1\0";

/// How a match ended, as its end record states it: it finished with every
/// seat present. Any other ending is the set of seats that left, one bit
/// per seat ([`ending_left`]), and the record is signed by those that stayed.
pub const END_FINISHED: u8 = 0;

/// The ending of a match that the seats in `left` (seat numbers) left: the
/// bitmask of those seats.
pub fn ending_left(left: impl IntoIterator<Item = usize>) -> u8 {
    left.into_iter()
        .filter(|s| *s < MAX_PLAYERS)
        .fold(0, |m, s| m | 1 << s)
}

/// The exact bytes an end-record signature covers: the match (its header
/// digest), the last frame, how it ended and the state's checksum there.
/// Every seat present at the end signs the same record.
pub fn end_message(
    header_digest: &[u8; 32],
    frame: u32,
    ending: u8,
    checksum: &crate::state::Checksum,
) -> Vec<u8> {
    let mut m = Vec::with_capacity(END_TAG.len() + 32 + 4 + 1 + 32);
    m.extend_from_slice(END_TAG);
    m.extend_from_slice(header_digest);
    m.extend_from_slice(&frame.to_le_bytes());
    m.push(ending);
    m.extend_from_slice(&checksum.0);
    m
}

/// An ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature(#[serde(with = "BigArray")] pub [u8; 64]);

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Signature({})",
            blake3::Hash::from_bytes(self.0[..32].try_into().unwrap_or([0; 32])).to_hex()
        )
    }
}

/// A player's signature over its input chain up to `frame`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    /// Frames covered (the chain after `frame` inputs).
    pub frame: u32,
    /// The chain head after `frame` inputs (`InputChain::head`).
    pub chain: [u8; 32],
    /// The player's ed25519 signature over the chain up to `frame`.
    pub signature: Signature,
}

/// A whole match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    /// The match the transcript records.
    pub header: MatchHeader,
    /// `inputs[player][frame]`, every player the same length.
    #[serde(deserialize_with = "bounded::nested::<_, _, MAX_PLAYERS, FRAMES>")]
    pub inputs: Vec<Vec<Input>>,
    /// `checkpoints[player]`: empty for an unsigned transcript, else one list
    /// per player, the last covering every frame.
    #[serde(deserialize_with = "bounded::nested::<_, _, MAX_PLAYERS, FRAMES>")]
    pub checkpoints: Vec<Vec<SignedCheckpoint>>,
    /// The claimed checksum of the state after the last frame.
    pub final_checksum: Checksum,
    /// `ends[player]`: each seat's signature over the match's end record
    /// (match, last frame, ending, final checksum), `None` for a seat that
    /// left, which the record names ([`Transcript::ending`]); empty when the
    /// seats did not sign an end (a match cut short). Without it no one can
    /// tell a whole match from a prefix cut at a checkpoint every seat signed.
    #[serde(deserialize_with = "bounded::vec::<_, _, MAX_PLAYERS>")]
    pub ends: Vec<Option<Signature>>,
}

/// The most frames (and so inputs, and checkpoints) a decoded transcript
/// may hold per seat.
const FRAMES: usize = MAX_MATCH_FRAMES as usize;

/// The transcript encoding: 30 minutes of 4 players fits easily in 4 MiB.
pub const TRANSCRIPT: Format = Format {
    name: "transcript",
    magic: *b"CYTX",
    version: 6,
    max_bytes: 4 * 1024 * 1024,
};

impl Transcript {
    /// The wire form of this transcript (`TRANSCRIPT`).
    pub fn encode(&self) -> Vec<u8> {
        TRANSCRIPT.encode(self)
    }

    /// Decodes and structurally checks a transcript; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Transcript, DecodeError> {
        let t: Transcript = TRANSCRIPT.decode(bytes)?;
        t.validate().map_err(|r| TRANSCRIPT.invalid(r))?;
        Ok(t)
    }

    /// Frames recorded.
    pub fn frames(&self) -> u32 {
        self.inputs.first().map_or(0, |v| v.len() as u32)
    }

    /// How the end record says the match ended: [`END_FINISHED`], or the
    /// seats that left (those without a signature in [`Transcript::ends`]).
    pub fn ending(&self) -> u8 {
        ending_left(
            self.ends
                .iter()
                .enumerate()
                .filter(|(_, e)| e.is_none())
                .map(|(s, _)| s),
        )
    }

    /// Structural checks, without simulating: a valid header, one canonical input stream
    /// per seat, all of one length and within the longest match, and checkpoints in order.
    pub fn validate(&self) -> Result<(), &'static str> {
        self.header.validate()?;
        let n = self.header.players.len();
        if self.inputs.len() != n {
            return Err("one input stream per player");
        }
        let frames = self.inputs[0].len();
        if self.inputs.iter().any(|v| v.len() != frames) {
            return Err("input streams of different lengths");
        }
        if frames > MAX_MATCH_FRAMES as usize {
            return Err("more frames than the longest match");
        }
        if self.inputs.iter().flatten().any(|i| !i.is_canonical()) {
            return Err("an input with undefined bits");
        }
        if !self.checkpoints.is_empty() && self.checkpoints.len() != n {
            return Err("checkpoints for some players but not all");
        }
        if !self.ends.is_empty() && self.ends.len() != n {
            return Err("end signatures for some players but not all");
        }
        if !self.ends.is_empty() && self.ends.iter().all(Option::is_none) {
            return Err("an end record no seat signed");
        }
        for cps in &self.checkpoints {
            if cps.windows(2).any(|w| w[0].frame >= w[1].frame)
                || cps.iter().any(|c| c.frame as usize > frames)
            {
                return Err("checkpoints out of order or past the last frame");
            }
        }
        Ok(())
    }
}

/// Domain tag of the input hash chain.
const CHAIN_TAG: &str = "cyteria input chain v1";

/// A player's input hash chain: `c0 = H(tag, match id, seat)`,
/// `c(f+1) = H(c(f), f, input(f))`. Signing `c(n)` commits to every input of
/// frames `0..n`, bound to one match and one seat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputChain {
    /// Inputs hashed into the chain so far.
    pub frame: u32,
    /// The current chain value, `c(frame)`.
    pub head: [u8; 32],
}

impl InputChain {
    /// The chain of seat `seat` in match `match_id` before any input (`c0`).
    pub fn new(match_id: &[u8; 32], seat: u8) -> Self {
        let mut h = blake3::Hasher::new_derive_key(CHAIN_TAG);
        h.update(match_id);
        h.update(&[seat]);
        Self {
            frame: 0,
            head: *h.finalize().as_bytes(),
        }
    }

    /// Hashes in the input of the next frame, advancing `frame` by one.
    pub fn push(&mut self, input: Input) {
        let mut h = blake3::Hasher::new();
        h.update(&self.head);
        h.update(&self.frame.to_le_bytes());
        h.update(&input.0.to_le_bytes());
        self.head = *h.finalize().as_bytes();
        self.frame += 1;
    }

    /// The chain over a whole input stream.
    pub fn over(match_id: &[u8; 32], seat: u8, inputs: &[Input]) -> Self {
        let mut c = Self::new(match_id, seat);
        for i in inputs {
            c.push(*i);
        }
        c
    }
}
