//! Every kind of bad input a peer can send, with what it costs the sender:
//! one enum and one table of weights instead of reasons and numbers spread
//! over the code that detects them.

/// A kind of bad input from a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Misbehaviour {
    /// A gossip message without an author.
    UnsignedGossip,
    /// A gossip message that does not decode or validate.
    InvalidGossip,
    /// A rollback stream that never said hello.
    NoHello,
    /// A rollback frame that does not decode.
    MalformedFrame,
    /// A stream frame over its protocol's limit.
    OversizedFrame,
    /// A rollback stream for a match this node does not play.
    UnknownMatch,
    /// A rollback stream from a peer that is not a player of the match.
    NotAPlayer,
    /// A final checkpoint that contradicts the sender's earlier ones.
    InconsistentBye,
    /// A checkpoint for a seat the match does not have.
    CheckpointForNoSeat,
    /// A checkpoint whose signature does not verify.
    BadCheckpointSignature,
    /// A signed checkpoint that does not match the inputs received.
    CheckpointMismatch,
    /// A batch attestation whose signature does not recover.
    BadAttestationSignature,
    /// A batch attestation from an address that is not a validator.
    NotAValidator,
    /// An announced transcript that fails verification.
    InvalidTranscript,
}

impl Misbehaviour {
    /// The input channel it arrived on (a metrics label).
    pub fn channel(self) -> &'static str {
        use Misbehaviour::*;
        match self {
            UnsignedGossip | InvalidGossip => "gossip",
            NoHello
            | MalformedFrame
            | OversizedFrame
            | UnknownMatch
            | NotAPlayer
            | InconsistentBye
            | CheckpointForNoSeat
            | BadCheckpointSignature
            | CheckpointMismatch => "rollback",
            BadAttestationSignature | NotAValidator => "batch",
            InvalidTranscript => "transcript",
        }
    }

    /// What went wrong, in a few words (a metrics label and the log line).
    pub fn label(self) -> &'static str {
        use Misbehaviour::*;
        match self {
            UnsignedGossip => "unsigned",
            InvalidGossip => "invalid",
            NoHello => "no hello",
            MalformedFrame => "malformed",
            OversizedFrame => "oversized",
            UnknownMatch => "unknown match",
            NotAPlayer => "not a player of the match",
            InconsistentBye => "inconsistent bye",
            CheckpointForNoSeat => "checkpoint for no seat",
            BadCheckpointSignature => "bad checkpoint signature",
            CheckpointMismatch => "checkpoint does not match inputs",
            BadAttestationSignature => "bad signature",
            NotAValidator => "not a validator",
            InvalidTranscript => "invalid transcript",
        }
    }

    /// The score it costs the sender. A peer is banned at
    /// [`BAN_SCORE`](super::BAN_SCORE): three strikes of any kind.
    pub fn penalty(self) -> f64 {
        // One weight for every kind today; the table is where a kind that
        // an honest peer can trip by accident would get a lighter one.
        40.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_strikes_of_any_kind_reach_the_ban() {
        for m in [
            Misbehaviour::UnsignedGossip,
            Misbehaviour::OversizedFrame,
            Misbehaviour::CheckpointMismatch,
            Misbehaviour::NotAValidator,
            Misbehaviour::InvalidTranscript,
        ] {
            assert!(2.0 * -m.penalty() > super::super::BAN_SCORE, "{m:?}");
            assert!(3.0 * -m.penalty() <= super::super::BAN_SCORE, "{m:?}");
        }
    }
}
