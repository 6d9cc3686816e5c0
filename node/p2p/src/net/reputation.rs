//! What this node thinks of its peers: a score that misbehaviour lowers
//! and time heals, and bans that end.
//!
//! A score halves towards 0 every [`HALF_LIFE`]; a peer whose score falls
//! to [`BAN_SCORE`] is banned for [`FIRST_BAN`], each later ban twice as
//! long as the one before, up to [`LONGEST_BAN`]. An honest peer's rare
//! accident (a match that started late here, a stream cut mid-frame) is
//! forgotten within the hour; a peer that keeps misbehaving spends most
//! of its time banned. Pure logic: the swarm shell applies the bans and
//! pushes the scores to gossipsub.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use libp2p::PeerId;

/// Score at or below which a peer is banned.
pub const BAN_SCORE: f64 = -100.0;

/// Time for a score to halve.
pub const HALF_LIFE: Duration = Duration::from_secs(10 * 60);

/// The first ban's length.
pub const FIRST_BAN: Duration = Duration::from_secs(10 * 60);

/// The longest ban.
pub const LONGEST_BAN: Duration = Duration::from_secs(24 * 60 * 60);

/// Peers remembered at most; those closest to a clean record go first.
pub const MAX_PEERS: usize = 65_536;

/// A score this close to 0 is forgotten.
const FORGET_ABOVE: f64 = -0.5;

#[derive(Clone, Copy, Debug)]
struct Entry {
    score: f64,
    at: Instant,
    bans: u32,
    banned_until: Option<Instant>,
}

impl Entry {
    fn decayed(&self, now: Instant) -> f64 {
        let halves = now.saturating_duration_since(self.at).as_secs_f64() / HALF_LIFE.as_secs_f64();
        self.score * 0.5f64.powf(halves)
    }
}

/// What a penalty did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Penalised {
    /// The peer's score now.
    pub score: f64,
    /// Banned by this penalty, for this long.
    pub banned_for: Option<Duration>,
}

/// Every peer's score and ban.
#[derive(Debug, Default)]
pub struct Reputation {
    peers: BTreeMap<PeerId, Entry>,
}

impl Reputation {
    /// Lowers `peer`'s score by `amount` at `now`; bans it when the score
    /// reaches [`BAN_SCORE`] (a banned peer is not banned again until its
    /// ban ends).
    pub fn penalise(&mut self, peer: PeerId, amount: f64, now: Instant) -> Penalised {
        if !self.peers.contains_key(&peer) && self.peers.len() >= MAX_PEERS {
            self.forget_one(now);
        }
        let e = self.peers.entry(peer).or_insert(Entry {
            score: 0.0,
            at: now,
            bans: 0,
            banned_until: None,
        });
        e.score = e.decayed(now) - amount;
        e.at = now;
        let banned = e.banned_until.is_some_and(|t| t > now);
        let mut banned_for = None;
        if e.score <= BAN_SCORE && !banned {
            let len = FIRST_BAN
                .saturating_mul(2u32.saturating_pow(e.bans.min(16)))
                .min(LONGEST_BAN);
            e.bans = e.bans.saturating_add(1);
            e.banned_until = Some(now + len);
            banned_for = Some(len);
        }
        Penalised {
            score: e.score,
            banned_for,
        }
    }

    /// `peer`'s score at `now` (0 for a peer never penalised).
    pub fn score(&self, peer: &PeerId, now: Instant) -> f64 {
        self.peers.get(peer).map_or(0.0, |e| e.decayed(now))
    }

    /// Whether `peer` is banned at `now`.
    pub fn is_banned(&self, peer: &PeerId, now: Instant) -> bool {
        self.peers
            .get(peer)
            .and_then(|e| e.banned_until)
            .is_some_and(|t| t > now)
    }

    /// Brings every score to `now`: returns the peers whose ban ended
    /// (to let in again) and every remaining score (to tell gossipsub);
    /// forgets peers whose score healed and who are not banned. A peer's
    /// count of bans is forgotten with it.
    pub fn tick(&mut self, now: Instant) -> (Vec<PeerId>, Vec<(PeerId, f64)>) {
        let mut unbanned = vec![];
        let mut scores = vec![];
        self.peers.retain(|p, e| {
            if e.banned_until.is_some_and(|t| t <= now) {
                e.banned_until = None;
                unbanned.push(*p);
            }
            let s = e.decayed(now);
            let keep = e.banned_until.is_some() || s < FORGET_ABOVE;
            scores.push((*p, if keep { s } else { 0.0 }));
            keep
        });
        (unbanned, scores)
    }

    /// Peers remembered.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether no peer is remembered.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    fn forget_one(&mut self, now: Instant) {
        let best = self
            .peers
            .iter()
            .filter(|(_, e)| e.banned_until.is_none_or(|t| t <= now))
            .max_by(|a, b| a.1.decayed(now).total_cmp(&b.1.decayed(now)))
            .map(|(p, _)| *p);
        if let Some(p) = best {
            self.peers.remove(&p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Misbehaviour;

    #[test]
    fn a_late_starting_honest_peer_is_never_banned() {
        // An honest peer plays a match with this node every five minutes
        // for a day; each time its match starts here 8 s late, its
        // rollback stream is refused once or twice as for an unknown match,
        // and now and then a stream is cut mid-frame.
        let mut r = Reputation::default();
        let peer = PeerId::random();
        let t0 = Instant::now();
        for m in 0..(24 * 12) {
            let t = t0 + Duration::from_secs(300 * m);
            for _ in 0..2 {
                let p = r.penalise(peer, Misbehaviour::UnknownMatch.penalty(), t);
                assert_eq!(p.banned_for, None, "match {m}");
            }
            if m % 20 == 0 {
                let p = r.penalise(peer, Misbehaviour::MalformedFrame.penalty(), t);
                assert_eq!(p.banned_for, None, "match {m}");
            }
        }
        // Without decay the day's strikes would have been -1 056.
        assert!(r.score(&peer, t0 + Duration::from_secs(300 * 288)) > -30.0);
    }

    #[test]
    fn three_strikes_ban_and_the_ban_ends_then_doubles() {
        let mut r = Reputation::default();
        let peer = PeerId::random();
        let t0 = Instant::now();
        let m = Misbehaviour::OversizedFrame.penalty();
        assert_eq!(r.penalise(peer, m, t0).banned_for, None);
        assert_eq!(r.penalise(peer, m, t0).banned_for, None);
        assert_eq!(r.penalise(peer, m, t0).banned_for, Some(FIRST_BAN));
        assert!(r.is_banned(&peer, t0));
        // Still banned: more strikes do not ban again.
        assert_eq!(r.penalise(peer, m, t0).banned_for, None);
        let after = t0 + FIRST_BAN;
        let (unbanned, _) = r.tick(after);
        assert_eq!(unbanned, vec![peer]);
        assert!(!r.is_banned(&peer, after));
        // Back at it: the next ban is twice as long.
        let mut second = None;
        for _ in 0..5 {
            if let Some(len) = r.penalise(peer, m, after).banned_for {
                second = Some(len);
                break;
            }
        }
        assert_eq!(second, Some(FIRST_BAN * 2));
    }

    #[test]
    fn healed_peers_are_forgotten_and_the_table_is_bounded() {
        let mut r = Reputation::default();
        let t0 = Instant::now();
        for _ in 0..10 {
            r.penalise(PeerId::random(), 2.0, t0);
        }
        let (_, scores) = r.tick(t0 + HALF_LIFE * 4);
        assert_eq!(scores.len(), 10);
        assert!(
            r.is_empty(),
            "2 points heal to under 0.5 in four half-lives"
        );
        for _ in 0..(MAX_PEERS + 100) {
            r.penalise(PeerId::random(), 1.0, t0);
        }
        assert_eq!(r.len(), MAX_PEERS);
    }
}
