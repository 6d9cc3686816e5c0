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
    /// A ggrs message no honest ggrs peer sends (see [`crate::ggrs_guard`]).
    BadGgrsMessage,
    /// A final checkpoint that contradicts the sender's earlier ones.
    InconsistentBye,
    /// A checkpoint for a seat the match does not have.
    CheckpointForNoSeat,
    /// A checkpoint for a frame past the match's time limit.
    CheckpointPastTheEnd,
    /// A checkpoint whose signature does not verify.
    BadCheckpointSignature,
    /// A Bye whose end-record signature does not verify.
    BadEndSignature,
    /// A signed checkpoint that does not match the inputs received.
    CheckpointMismatch,
    /// A batch attestation whose signature does not recover.
    BadAttestationSignature,
    /// A batch attestation from an address that is not a validator.
    NotAValidator,
    /// An announced transcript that fails verification.
    InvalidTranscript,
    /// More than the peer's rate limit on a channel (see [`super::limits`]).
    RateLimited,
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
            | BadGgrsMessage
            | InconsistentBye
            | CheckpointForNoSeat
            | CheckpointPastTheEnd
            | BadCheckpointSignature
            | BadEndSignature
            | CheckpointMismatch => "rollback",
            BadAttestationSignature | NotAValidator => "batch",
            InvalidTranscript => "transcript",
            RateLimited => "limits",
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
            BadGgrsMessage => "bad ggrs message",
            InconsistentBye => "inconsistent bye",
            CheckpointForNoSeat => "checkpoint for no seat",
            CheckpointPastTheEnd => "checkpoint past the end",
            BadCheckpointSignature => "bad checkpoint signature",
            BadEndSignature => "bad end signature",
            CheckpointMismatch => "checkpoint does not match inputs",
            BadAttestationSignature => "bad signature",
            NotAValidator => "not a validator",
            InvalidTranscript => "invalid transcript",
            RateLimited => "over the rate limit",
        }
    }

    /// Whether an honest peer can send it by accident. A rollback stream
    /// for a match this node has not agreed to is what an honest player's
    /// retries look like when its lobby agreed and this one did not (or
    /// agreed later than the hello waits, on a loaded machine): three of
    /// them used to ban the honest peer, whose stream retries then dialed
    /// the banning node twenty times a second (the cheater devnet in CI).
    pub fn can_be_honest(self) -> bool {
        matches!(self, Misbehaviour::UnknownMatch)
    }

    /// The score it costs the sender. A peer is banned at
    /// [`BAN_SCORE`](super::BAN_SCORE): three strikes of any kind that no
    /// honest peer sends, fifty of one that an honest peer can send by
    /// accident (see [`Misbehaviour::can_be_honest`]).
    pub fn penalty(self) -> f64 {
        match self {
            // each message over the limit: a sustained flood is banned
            // within a second or two, a peer a little over it never
            Misbehaviour::RateLimited => 4.0,
            m if m.can_be_honest() => 2.0,
            _ => 40.0,
        }
    }

    /// Whether it comes in floods, each not worth a log line (the metrics
    /// count them; the ban is logged).
    pub fn is_flood(self) -> bool {
        matches!(self, Misbehaviour::RateLimited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_strikes_of_any_kind_reach_the_ban() {
        for m in [
            Misbehaviour::UnsignedGossip,
            Misbehaviour::NotAPlayer,
            Misbehaviour::OversizedFrame,
            Misbehaviour::CheckpointMismatch,
            Misbehaviour::NotAValidator,
            Misbehaviour::InvalidTranscript,
        ] {
            assert!(2.0 * -m.penalty() > super::super::BAN_SCORE, "{m:?}");
            assert!(3.0 * -m.penalty() <= super::super::BAN_SCORE, "{m:?}");
        }
    }

    #[test]
    fn what_an_honest_peer_can_send_by_accident_bans_only_when_it_is_a_flood() {
        let m = Misbehaviour::UnknownMatch;
        // A minute of an honest peer's stream retries (one per hello
        // timeout) for a match this node never agreed to, three times over.
        assert!(3.0 * 8.0 * -m.penalty() > super::super::BAN_SCORE);
        assert!(50.0 * -m.penalty() <= super::super::BAN_SCORE);
    }
}
