//! Checks every ggrs message a peer sends before ggrs sees it.
//!
//! ggrs trusts its peers: an `Input` whose first frame is past what the
//! receiver has ([`ggrs`] fills the gap into a 128-slot queue and trips an
//! assertion), a run-length header that declares gigabytes (its decoder
//! allocates what the header says), a checksum report at frame `i32::MIN`
//! (an overflow), or inputs for frames far ahead of the match all panic
//! or abort the receiver. This module reads a message's wire form through
//! a mirror of ggrs's own message types (ggrs keeps their fields private)
//! and lets through only what an honest ggrs peer can send:
//!
//! - an `Input`'s connection statuses are one per player, its first frame
//!   is at most one past the last frame this peer's inputs reached (the
//!   first `Input` starts at most at [`MAX_INPUT_DELAY`]), and its inputs
//!   end at most
//!   [`MAX_AHEAD`] frames past the local frame;
//! - its run-length bytes decode to at most [`MAX_DECODED`] bytes, in
//!   records of at most [`MAX_INPUT_BYTES`] each, and at most
//!   [`MAX_FRAMES`] of them; the decoded length is computed without
//!   decoding;
//! - a checksum report names a frame in `0..=local + MAX_AHEAD`; a quality
//!   reply a pong (this node's own clock, echoed) from the last
//!   [`MAX_PONG_AGE_MS`];
//! - a quality report's frame advantage is clamped to [`MAX_AHEAD`], not
//!   refused: an honest peer's estimate grows with the round trip (a
//!   three-second lag reads as ~90 frames);
//! - an `Input`'s connection statuses are rewritten to say no one
//!   disconnected: ggrs drops a player as soon as any peer says it left
//!   (and, told so at frame -1, rolls back outside its window and panics).
//!   Cyteria ends a match on its own timeouts, never on a peer's word.
//!
//! What fails is dropped, and the session penalises the sender.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The most frames one `Input` message may carry. ggrs sends the frames a
/// peer has not acknowledged yet: with a prediction window of 8 and 60
/// frames a second, an honest peer's backlog stays far below this.
pub const MAX_FRAMES: usize = 64;

/// The most bytes one frame's input may have (a Cyteria input is 2 bytes).
pub const MAX_INPUT_BYTES: usize = 16;

/// The most bytes an `Input`'s run-length bytes may decode to.
pub const MAX_DECODED: usize = MAX_FRAMES * (2 + MAX_INPUT_BYTES);

/// How far past the local frame a peer's inputs may reach. ggrs's input
/// queue holds 128 frames; an honest peer is at most its prediction window
/// plus its input delay ahead.
pub const MAX_AHEAD: i32 = 48;

/// The largest input delay a peer may play with (its first inputs start
/// there).
pub const MAX_INPUT_DELAY: i32 = 16;

/// The largest prediction window a node may play with: with the largest
/// input delay and a second of lag it stays within [`MAX_AHEAD`].
pub const MAX_PREDICTION: usize = 16;

/// How old an echoed ping may be, in ms.
pub const MAX_PONG_AGE_MS: u128 = 60_000;

/// Why a ggrs message was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The message is not a ggrs message of the version this node runs.
    #[error("not a ggrs message")]
    Undecodable,
    /// An `Input` with the wrong number of connection statuses.
    #[error("{got} connection statuses for {players} players")]
    Statuses {
        /// How many it had.
        got: usize,
        /// How many players the match has.
        players: usize,
    },
    /// An `Input` that starts past what this peer has sent so far.
    #[error("inputs start at frame {start}, past frame {next}")]
    Gap {
        /// Its first frame.
        start: i32,
        /// The first frame this node does not have yet.
        next: i32,
    },
    /// Inputs or a report for frames too far ahead of the local frame.
    #[error("frame {frame} is too far ahead of the local frame {local}")]
    Ahead {
        /// The frame named.
        frame: i32,
        /// The local frame.
        local: i32,
    },
    /// A negative frame where ggrs expects one.
    #[error("negative frame {0}")]
    Negative(i32),
    /// Run-length bytes that do not decode, or decode to too much.
    #[error("input bytes: {0}")]
    Encoding(&'static str),
    /// A quality reply echoing a ping this node never sent.
    #[error("a pong from outside the last minute")]
    Pong,
}

/// ggrs's clock: ms since 1970.
fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// The checks of one match: what each peer's inputs have reached.
#[derive(Debug)]
pub struct Guard {
    players: usize,
    /// The last frame each peer's inputs reached (`-1`: none yet).
    reached: BTreeMap<libp2p::PeerId, i32>,
}

impl Guard {
    /// The guard of a match of `players` players.
    pub fn new(players: usize) -> Guard {
        Guard {
            players,
            reached: BTreeMap::new(),
        }
    }

    /// Checks `msg` from `peer` while the local session is at frame `local`;
    /// `Ok` carries what ggrs may have (an `Input` with its connection
    /// statuses rewritten, anything else as it came).
    pub fn check(
        &mut self,
        peer: libp2p::PeerId,
        msg: &ggrs::Message,
        local: i32,
    ) -> Result<ggrs::Message, Refusal> {
        let bytes = postcard::to_allocvec(msg).map_err(|_| Refusal::Undecodable)?;
        let mut view: MessageView =
            postcard::from_bytes(&bytes).map_err(|_| Refusal::Undecodable)?;
        self.check_view(peer, &mut view, local, now_ms())?;
        if matches!(view.body, Body::Input(_) | Body::QualityReport(_)) {
            let b = postcard::to_allocvec(&view).map_err(|_| Refusal::Undecodable)?;
            postcard::from_bytes(&b).map_err(|_| Refusal::Undecodable)
        } else {
            Ok(msg.clone())
        }
    }

    fn check_view(
        &mut self,
        peer: libp2p::PeerId,
        view: &mut MessageView,
        local: i32,
        now_ms: u128,
    ) -> Result<(), Refusal> {
        let limit = local.max(0).saturating_add(MAX_AHEAD);
        match &mut view.body {
            Body::Input(input) => {
                for s in input.peer_connect_status.iter_mut() {
                    s.disconnected = false;
                }
                if !input.disconnect_requested && input.peer_connect_status.len() != self.players {
                    return Err(Refusal::Statuses {
                        got: input.peer_connect_status.len(),
                        players: self.players,
                    });
                }
                if input.peer_connect_status.len() > self.players {
                    return Err(Refusal::Statuses {
                        got: input.peer_connect_status.len(),
                        players: self.players,
                    });
                }
                for s in &input.peer_connect_status {
                    if s.last_frame < -1 {
                        return Err(Refusal::Negative(s.last_frame));
                    }
                    if s.last_frame > limit {
                        return Err(Refusal::Ahead {
                            frame: s.last_frame,
                            local,
                        });
                    }
                }
                if input.start_frame < 0 {
                    return Err(Refusal::Negative(input.start_frame));
                }
                let frames = input_frames(&input.bytes)? as i32;
                let reached = self.reached.get(&peer).copied().unwrap_or(-1);
                let next = if reached < 0 {
                    MAX_INPUT_DELAY
                } else {
                    reached + 1
                };
                if input.start_frame > next {
                    return Err(Refusal::Gap {
                        start: input.start_frame,
                        next,
                    });
                }
                let end = input.start_frame + frames - 1;
                if end > limit {
                    return Err(Refusal::Ahead { frame: end, local });
                }
                if end > reached {
                    self.reached.insert(peer, end);
                }
                Ok(())
            }
            Body::ChecksumReport(r) => {
                let r = *r;
                if r.frame < 0 {
                    Err(Refusal::Negative(r.frame))
                } else if r.frame > limit {
                    Err(Refusal::Ahead {
                        frame: r.frame,
                        local,
                    })
                } else {
                    Ok(())
                }
            }
            Body::QualityReport((advantage, _)) => {
                // An honest peer's estimate grows with the round trip (three
                // seconds of lag read as ~90 frames), so a large one is
                // clamped, not refused: ggrs's wait advice is capped anyway.
                let bound = MAX_AHEAD as i16;
                *advantage = (*advantage).clamp(-bound, bound);
                Ok(())
            }
            Body::QualityReply(pong) => {
                if *pong > now_ms.saturating_add(1_000)
                    || now_ms.saturating_sub(*pong) > MAX_PONG_AGE_MS
                {
                    Err(Refusal::Pong)
                } else {
                    Ok(())
                }
            }
            Body::SyncRequest(_) | Body::SyncReply(_) | Body::InputAck(_) | Body::KeepAlive => {
                Ok(())
            }
        }
    }
}

/// How many frames of input ggrs's encoding `bytes` holds: the bit-field
/// run-length code ggrs uses, then a sequence of (u16 length, bytes)
/// records. Reads the run headers to find the decoded length (refusing
/// over [`MAX_DECODED`]) before decoding anything.
pub fn input_frames(bytes: &[u8]) -> Result<usize, Refusal> {
    // Pass 1: run headers only.
    let mut runs = Vec::new();
    let mut at = 0usize;
    let mut total = 0usize;
    while at < bytes.len() {
        let (header, used) = varint(&bytes[at..]).ok_or(Refusal::Encoding("bad run header"))?;
        at += used;
        let (len, fill) = if header & 1 == 1 {
            (
                (header >> 2),
                Some(if header & 2 == 2 { 0xffu8 } else { 0 }),
            )
        } else {
            ((header >> 1), None)
        };
        let len = usize::try_from(len).map_err(|_| Refusal::Encoding("run too long"))?;
        total = total
            .checked_add(len)
            .filter(|t| *t <= MAX_DECODED)
            .ok_or(Refusal::Encoding("decodes to too many bytes"))?;
        match fill {
            Some(b) => runs.push(Run::Fill(b, len)),
            None => {
                let lit = bytes
                    .get(at..at + len)
                    .ok_or(Refusal::Encoding("literal run past the end"))?;
                runs.push(Run::Literal(lit));
                at += len;
            }
        }
    }
    // Pass 2: the decoded bytes (at most MAX_DECODED), then the records.
    let mut decoded = Vec::with_capacity(total);
    for r in runs {
        match r {
            Run::Fill(b, n) => decoded.resize(decoded.len() + n, b),
            Run::Literal(l) => decoded.extend_from_slice(l),
        }
    }
    let mut frames = 0usize;
    let mut at = 0usize;
    while at < decoded.len() {
        let len = decoded
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
            .ok_or(Refusal::Encoding("truncated record length"))?;
        if len > MAX_INPUT_BYTES {
            return Err(Refusal::Encoding("an input too large"));
        }
        at += 2 + len;
        if at > decoded.len() {
            return Err(Refusal::Encoding("truncated record"));
        }
        frames += 1;
    }
    if frames > MAX_FRAMES {
        return Err(Refusal::Encoding("too many frames"));
    }
    Ok(frames)
}

enum Run<'a> {
    Fill(u8, usize),
    Literal(&'a [u8]),
}

/// A LEB128 varint of at most 10 bytes; `None` if truncated or over 64 bits.
fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, byte) in b.iter().enumerate().take(10) {
        let part = u64::from(byte & 0x7f);
        if i == 9 && part > 1 {
            return None;
        }
        v |= part << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

// The mirror of ggrs 0.13's wire types (same fields, same order: serde
// formats them alike). `ggrs_guard`'s tests read real sessions' messages
// through it, so a ggrs upgrade that changes them fails there.

#[derive(Serialize, Deserialize, Debug, Clone, Copy)]
struct StatusView {
    disconnected: bool,
    last_frame: i32,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
struct InputView {
    peer_connect_status: Vec<StatusView>,
    disconnect_requested: bool,
    start_frame: i32,
    ack_frame: i32,
    bytes: Vec<u8>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy)]
struct ChecksumView {
    checksum: u128,
    frame: i32,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
enum Body {
    SyncRequest(u32),
    SyncReply(u32),
    Input(InputView),
    InputAck(i32),
    QualityReport((i16, u128)),
    QualityReply(u128),
    ChecksumReport(ChecksumView),
    KeepAlive,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
struct MessageView {
    magic: u16,
    body: Body,
}

/// Hostile ggrs messages, for tests and the adversary: an `Input` starting
/// at `start_frame` whose bytes are `bytes` (ggrs's encoding, see
/// [`input_frames`]), with `statuses` connection statuses.
#[cfg(any(test, feature = "adversary"))]
pub fn forged_input(
    magic: u16,
    statuses: usize,
    start_frame: i32,
    bytes: Vec<u8>,
) -> ggrs::Message {
    let none_left = StatusView {
        disconnected: false,
        last_frame: -1,
    };
    forged(magic, vec![none_left; statuses], start_frame, bytes)
}

/// A hostile `Input` whose statuses say player `who` disconnected before
/// frame 0, and that starts at `start_frame`.
#[cfg(any(test, feature = "adversary"))]
pub fn forged_disconnect(
    magic: u16,
    statuses: usize,
    who: usize,
    start_frame: i32,
    bytes: Vec<u8>,
) -> ggrs::Message {
    let mut statuses = vec![
        StatusView {
            disconnected: false,
            last_frame: start_frame,
        };
        statuses
    ];
    if let Some(s) = statuses.get_mut(who) {
        *s = StatusView {
            disconnected: true,
            last_frame: -1,
        };
    }
    forged(magic, statuses, start_frame, bytes)
}

/// An `Input` with these statuses, through the mirror.
#[cfg(any(test, feature = "adversary"))]
fn forged(
    magic: u16,
    peer_connect_status: Vec<StatusView>,
    start_frame: i32,
    bytes: Vec<u8>,
) -> ggrs::Message {
    let view = MessageView {
        magic,
        body: Body::Input(InputView {
            peer_connect_status,
            disconnect_requested: false,
            start_frame,
            ack_frame: -1,
            bytes,
        }),
    };
    postcard::from_bytes(&postcard::to_allocvec(&view).expect("encodes"))
        .expect("the mirror decodes as a ggrs message")
}

/// `frames` frames of 2-byte input in ggrs's encoding: the records as one
/// literal run (what an honest peer's bytes decode to, less compression).
#[cfg(any(test, feature = "adversary"))]
pub fn encoded_inputs(frames: usize) -> Vec<u8> {
    let mut raw = Vec::new();
    for f in 0..frames {
        raw.extend_from_slice(&2u16.to_le_bytes());
        raw.extend_from_slice(&[(f as u8) | 1, 0]);
    }
    let mut out = Vec::new();
    let mut header = (raw.len() as u64) << 1;
    loop {
        let b = (header & 0x7f) as u8;
        header >>= 7;
        if header == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    }
    out.extend_from_slice(&raw);
    out
}

/// The magic of a message (ggrs ignores messages whose magic is not its
/// peer's once synchronised).
#[cfg(any(test, feature = "adversary"))]
pub fn magic_of(msg: &ggrs::Message) -> Option<u16> {
    let bytes = postcard::to_allocvec(msg).ok()?;
    postcard::from_bytes::<MessageView>(&bytes)
        .ok()
        .map(|v| v.magic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_header_declaring_gigabytes_is_refused_without_allocating_them() {
        // header: a fill run of 2^40 zero bytes
        let mut b = Vec::new();
        let mut h: u64 = (1u64 << 40) << 2 | 1;
        loop {
            let x = (h & 0x7f) as u8;
            h >>= 7;
            if h == 0 {
                b.push(x);
                break;
            }
            b.push(x | 0x80);
        }
        assert_eq!(
            input_frames(&b),
            Err(Refusal::Encoding("decodes to too many bytes"))
        );
        // a header over 64 bits
        assert!(input_frames(&[0xff; 11]).is_err());
        // a literal run past the end
        assert_eq!(
            input_frames(&[20, 1, 2]),
            Err(Refusal::Encoding("literal run past the end"))
        );
    }

    #[test]
    fn reports_no_peer_can_send_are_refused_and_disconnects_are_unsaid() {
        let peer = libp2p::PeerId::random();
        let mut g = Guard::new(2);
        let now = now_ms();
        let report = |body| MessageView { magic: 7, body };
        let mut huge = report(Body::QualityReport((i16::MIN, now)));
        assert!(g.check_view(peer, &mut huge, 0, now).is_ok());
        assert!(
            matches!(huge.body, Body::QualityReport((a, _)) if i32::from(a) == -MAX_AHEAD),
            "an advantage past any wait ggrs would take is clamped"
        );
        assert!(
            g.check_view(peer, &mut report(Body::QualityReport((3, now))), 0, now)
                .is_ok()
        );
        assert_eq!(
            g.check_view(peer, &mut report(Body::QualityReply(0)), 0, now),
            Err(Refusal::Pong)
        );
        assert_eq!(
            g.check_view(peer, &mut report(Body::QualityReply(now + 10_000)), 0, now),
            Err(Refusal::Pong)
        );
        assert!(
            g.check_view(peer, &mut report(Body::QualityReply(now - 80)), 0, now)
                .is_ok()
        );
        // "player 0 left before frame 0": passed on as "no one left"
        let forged = forged_disconnect(7, 2, 0, 2, encoded_inputs(1));
        let checked = g.check(peer, &forged, 0).expect("an input it can take");
        let v: MessageView =
            postcard::from_bytes(&postcard::to_allocvec(&checked).unwrap()).unwrap();
        let Body::Input(i) = v.body else {
            panic!("an input")
        };
        assert!(i.peer_connect_status.iter().all(|s| !s.disconnected));
    }

    #[test]
    fn honest_encodings_count_their_frames() {
        for n in [0, 1, 7, MAX_FRAMES] {
            assert_eq!(input_frames(&encoded_inputs(n)), Ok(n));
        }
        assert!(input_frames(&encoded_inputs(MAX_FRAMES + 1)).is_err());
    }

    #[test]
    fn an_input_past_the_peers_last_frame_is_refused() {
        let peer = libp2p::PeerId::random();
        let mut g = Guard::new(2);
        let first = forged_input(7, 2, 200, encoded_inputs(1));
        assert_eq!(
            g.check(peer, &first, 0),
            Err(Refusal::Gap {
                start: 200,
                next: MAX_INPUT_DELAY
            })
        );
        assert!(
            g.check(peer, &forged_input(7, 2, 0, encoded_inputs(3)), 0)
                .is_ok()
        );
        // frames 0..=2 reached: 3 follows, 1 repeats (ggrs skips what it has)
        assert!(
            g.check(peer, &forged_input(7, 2, 1, encoded_inputs(4)), 0)
                .is_ok()
        );
        assert!(
            g.check(peer, &forged_input(7, 2, 6, encoded_inputs(1)), 0)
                .is_err()
        );
        // another peer starts from nothing
        let other = libp2p::PeerId::random();
        assert!(
            g.check(
                other,
                &forged_input(7, 2, MAX_INPUT_DELAY + 1, encoded_inputs(1)),
                0
            )
            .is_err()
        );
        assert!(
            g.check(other, &forged_input(7, 2, 2, encoded_inputs(1)), 0)
                .is_ok()
        );
        // the wrong number of statuses
        assert!(
            g.check(other, &forged_input(7, 5, 0, encoded_inputs(1)), 0)
                .is_err()
        );
        // too far ahead of the local frame
        let mut g = Guard::new(2);
        let mut f = 0;
        let mut refused = None;
        for _ in 0..10 {
            match g.check(peer, &forged_input(7, 2, f, encoded_inputs(MAX_FRAMES)), 0) {
                Ok(_) => f += MAX_FRAMES as i32,
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        assert!(
            matches!(refused, Some(Refusal::Ahead { .. })),
            "{refused:?}"
        );
    }
}

#[cfg(test)]
mod sessions {
    //! Real ggrs sessions fed real and forged messages.
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use ggrs::{GgrsRequest, NonBlockingSocket, P2PSession, PlayerType, SessionBuilder};
    use libp2p::PeerId;

    use super::*;
    use crate::session::GgrsConfig;

    /// Messages in flight, each with the moment it arrives, and the one-way
    /// delay of what is sent next.
    #[derive(Default)]
    struct Link {
        queue: VecDeque<(PeerId, PeerId, std::time::Instant, ggrs::Message)>,
        delay: std::time::Duration,
    }

    type Wire = Arc<Mutex<Link>>;

    /// Puts a message on the wire, to arrive at once.
    fn inject(wire: &Wire, from: PeerId, to: PeerId, m: ggrs::Message) {
        let now = std::time::Instant::now();
        wire.lock().unwrap().queue.push_back((from, to, now, m));
    }

    /// A socket on a shared queue; `guard` filters what it hands ggrs.
    struct Loop {
        me: PeerId,
        wire: Wire,
        seen: Arc<Mutex<Vec<ggrs::Message>>>,
        refused: Arc<Mutex<Vec<Refusal>>>,
        guard: Option<(Guard, Arc<Mutex<i32>>)>,
    }

    impl NonBlockingSocket<PeerId> for Loop {
        fn send_to(&mut self, msg: &ggrs::Message, addr: &PeerId) {
            let mut w = self.wire.lock().unwrap();
            let due = std::time::Instant::now() + w.delay;
            w.queue.push_back((self.me, *addr, due, msg.clone()));
        }
        fn receive_all_messages(&mut self) -> Vec<(PeerId, ggrs::Message)> {
            let mut w = self.wire.lock().unwrap();
            let now = std::time::Instant::now();
            let mut out = vec![];
            let mut keep = VecDeque::new();
            while let Some((from, to, due, m)) = w.queue.pop_front() {
                if to != self.me || due > now {
                    keep.push_back((from, to, due, m));
                    continue;
                }
                self.seen.lock().unwrap().push(m.clone());
                if let Some((g, frame)) = &mut self.guard {
                    let local = *frame.lock().unwrap();
                    match g.check(from, &m, local) {
                        Ok(checked) => out.push((from, checked)),
                        Err(e) => self.refused.lock().unwrap().push(e),
                    }
                } else {
                    out.push((from, m));
                }
            }
            w.queue = keep;
            out
        }
    }

    struct Side {
        session: P2PSession<GgrsConfig>,
        seen: Arc<Mutex<Vec<ggrs::Message>>>,
        refused: Arc<Mutex<Vec<Refusal>>>,
        frame: Arc<Mutex<i32>>,
    }

    fn pair(wire: &Wire, guarded: bool) -> (Side, Side, PeerId, PeerId) {
        let (a, b) = (PeerId::random(), PeerId::random());
        let mk = |me: PeerId, seat: usize| {
            let seen = Arc::new(Mutex::new(vec![]));
            let frame = Arc::new(Mutex::new(0));
            let refused = Arc::new(Mutex::new(vec![]));
            let socket = Loop {
                me,
                wire: wire.clone(),
                seen: seen.clone(),
                refused: refused.clone(),
                guard: guarded.then(|| (Guard::new(2), frame.clone())),
            };
            let mut builder = SessionBuilder::<GgrsConfig>::new()
                .with_num_players(2)
                .unwrap()
                .with_input_delay(2)
                .with_max_prediction_window(8);
            for (i, p) in [a, b].iter().enumerate() {
                builder = builder
                    .add_player(
                        if i == seat {
                            PlayerType::Local
                        } else {
                            PlayerType::Remote(*p)
                        },
                        i,
                    )
                    .unwrap();
            }
            Side {
                session: builder.start_p2p_session(socket).unwrap(),
                seen,
                refused,
                frame,
            }
        };
        (mk(a, 0), mk(b, 1), a, b)
    }

    fn step(s: &mut Side, seat: usize, frame: u16) {
        s.session.poll_remote_clients();
        if s.session.current_state() != ggrs::SessionState::Running {
            return;
        }
        s.session
            .add_local_input(seat, cyteria_game::Input(frame & 0x3f))
            .unwrap();
        if let Ok(reqs) = s.session.advance_frame() {
            for r in reqs {
                if let GgrsRequest::SaveGameState { cell, frame } = r {
                    cell.save(frame, None, None);
                }
            }
        }
        *s.frame.lock().unwrap() = s.session.current_frame();
    }

    /// Two sessions play `n` rounds; both end running, past frame 20.
    fn play(a: &mut Side, b: &mut Side, n: u16) {
        synchronise(a, b);
        for i in 0..n {
            step(a, 0, i);
            step(b, 1, i);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    #[test]
    fn a_forged_disconnect_at_frame_minus_one_is_unsaid_and_the_match_plays_on() {
        for guarded in [false, true] {
            let wire = Wire::default();
            let (mut a, mut b, pa, pb) = pair(&wire, guarded);
            play(&mut a, &mut b, 60);
            let magic = a
                .seen
                .lock()
                .unwrap()
                .iter()
                .find_map(magic_of)
                .expect("a heard from b");
            // b says a itself left before frame 0
            let next = a.session.current_frame();
            let forged = forged_disconnect(magic, 2, 0, next.max(2), encoded_inputs(1));
            inject(&wire, pb, pa, forged);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                for i in 0..30 {
                    step(&mut a, 0, i);
                }
            }));
            if guarded {
                assert!(outcome.is_ok(), "the guard unsaid it");
                let before = a.session.current_frame();
                play(&mut a, &mut b, 100);
                assert!(
                    a.session.current_frame() > before + 20,
                    "both players still play: {} after {before}",
                    a.session.current_frame()
                );
            } else {
                // In this two-player setup ggrs survives it; with more
                // players a review found it rolls back out of its window.
                eprintln!(
                    "bare session: {}",
                    if outcome.is_err() {
                        "panicked"
                    } else {
                        "survived"
                    }
                );
            }
        }
    }

    #[test]
    fn the_mirror_reads_every_message_of_a_real_match() {
        let wire = Wire::default();
        let (mut a, mut b, _, _) = pair(&wire, true);
        play(&mut a, &mut b, 200);
        assert!(
            a.session.current_frame() > 20,
            "the guarded pair played: frame {}",
            a.session.current_frame()
        );
        let seen = a.seen.lock().unwrap();
        let mut inputs = 0;
        for m in seen.iter() {
            let bytes = postcard::to_allocvec(m).unwrap();
            let v: MessageView = postcard::from_bytes(&bytes).expect("the mirror reads it");
            assert_eq!(
                postcard::to_allocvec(&v).unwrap(),
                bytes,
                "and writes it back alike"
            );
            if let Body::Input(i) = v.body {
                inputs += 1;
                assert!(input_frames(&i.bytes).unwrap() >= 1);
            }
        }
        assert!(inputs > 20, "{inputs} input messages");
    }

    /// Polls both sessions until they are synchronised (no inputs yet).
    fn synchronise(a: &mut Side, b: &mut Side) {
        for _ in 0..500 {
            a.session.poll_remote_clients();
            b.session.poll_remote_clients();
            if a.session.current_state() == ggrs::SessionState::Running
                && b.session.current_state() == ggrs::SessionState::Running
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        panic!(
            "the sessions never synchronised: {:?} {:?}",
            a.session.current_state(),
            b.session.current_state()
        );
    }

    #[test]
    fn a_forged_first_frame_panics_a_bare_session_and_the_guard_drops_it() {
        for guarded in [false, true] {
            let wire = Wire::default();
            let (mut a, mut b, pa, pb) = pair(&wire, guarded);
            synchronise(&mut a, &mut b);
            let magic = a
                .seen
                .lock()
                .unwrap()
                .iter()
                .find_map(magic_of)
                .expect("a heard from b");
            // b's first Input says its inputs start at frame 200: ggrs fills
            // frames 0..200 into its 128-slot queue.
            let forged = forged_input(magic, 2, 200, encoded_inputs(1));
            inject(&wire, pb, pa, forged);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                a.session.poll_remote_clients();
                step(&mut a, 0, 1);
            }));
            if guarded {
                assert!(outcome.is_ok(), "the guard dropped it");
                // and the match goes on
                play(&mut a, &mut b, 200);
                assert!(a.session.current_frame() > 20);
            } else {
                assert!(outcome.is_err(), "ggrs panics on it unguarded");
            }
        }
    }

    /// A link whose round trip is three seconds (a node starved of CPU by
    /// a flood, a saturated uplink): ggrs then reports frame advantages of
    /// ~90 frames. Honest traffic, so nothing of it may be refused (a
    /// refusal costs the sender score: honest players banned each other
    /// in the flood devnet).
    #[test]
    fn an_honest_peer_on_a_slow_link_is_never_refused() {
        let wire = Wire::default();
        let (mut a, mut b, _, _) = pair(&wire, true);
        synchronise(&mut a, &mut b);
        wire.lock().unwrap().delay = std::time::Duration::from_millis(1_500);
        let start = std::time::Instant::now();
        let mut i = 0u16;
        while start.elapsed() < std::time::Duration::from_secs(8) {
            step(&mut a, 0, i);
            step(&mut b, 1, i);
            i = i.wrapping_add(1);
            std::thread::sleep(std::time::Duration::from_millis(16));
        }
        let advantages: Vec<i16> = a
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|m| {
                let v: MessageView = postcard::from_bytes(&postcard::to_allocvec(m).ok()?).ok()?;
                match v.body {
                    Body::QualityReport((adv, _)) => Some(adv),
                    _ => None,
                }
            })
            .collect();
        assert!(
            advantages.iter().any(|a| i32::from(*a).abs() > MAX_AHEAD),
            "the slow link shows in the reports: {advantages:?}"
        );
        for side in [&a, &b] {
            let refused = side.refused.lock().unwrap();
            assert!(refused.is_empty(), "honest messages refused: {refused:?}");
        }
    }
}
