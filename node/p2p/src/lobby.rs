//! Matchmaking: the pure agreement logic behind the lobby topic.
//!
//! Nodes that search post an [`Offer`] and re-post it while they wait. Every
//! node orders the live offers compatible with its own by peer id and takes
//! the first `size` of them: the same offers give every node the same group,
//! the same match id (blake3 of the offers) and the same seed (from the
//! beacon the offers share and the match id). A member then
//! posts `Accept(match id)`; the match starts when every member has accepted
//! the same id. A group that does not complete within [`ACCEPT_TIMEOUT`]
//! falls apart, and the members that stayed silent are left out for a while.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use cyteria_game::transcript::{Beacon, MatchHeader, PlayerSlot};
use libp2p::PeerId;

use crate::identity::public_key_of;
use crate::wire::{LOBBY, LobbyMessage, MatchKind, Offer};

/// An offer not re-posted for this long is gone.
pub const OFFER_TTL: Duration = Duration::from_secs(4);
/// How long a proposed group may take to accept.
pub const ACCEPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long peers that did not accept are left out of new groups.
pub const EXCLUDE_FOR: Duration = Duration::from_secs(30);
/// How long a new search listens before it proposes.
pub const SETTLE: Duration = Duration::from_millis(600);
/// Peers whose latest offer, and latest accept, a lobby remembers at most
/// (the oldest is forgotten first).
pub const MAX_ACCEPTS: usize = 4096;

/// The players of an agreed match, in seat order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The match id: blake3 of the members' peer ids and offers.
    pub match_id: [u8; 32],
    /// The beacon every member's offer named.
    pub beacon: Beacon,
    /// The match's seed, derived from the beacon and the match id.
    pub seed: u64,
    /// The kind of match the members all offered.
    pub kind: MatchKind,
    /// Each member's peer id and offer, ordered by peer id; the index is the seat.
    pub members: Vec<(PeerId, Offer)>,
}

impl Group {
    fn of(kind: MatchKind, members: Vec<(PeerId, Offer)>) -> Self {
        let mut h = blake3::Hasher::new_derive_key("cyteria match v1");
        for (peer, offer) in &members {
            let id = peer.to_bytes();
            h.update(&(id.len() as u32).to_le_bytes());
            h.update(&id);
            let o = LOBBY.encode(offer);
            h.update(&(o.len() as u32).to_le_bytes());
            h.update(&o);
        }
        let match_id = *h.finalize().as_bytes();
        let beacon = members.first().map(|(_, o)| o.beacon).unwrap_or_default();
        Self {
            match_id,
            beacon,
            seed: beacon.seed(&match_id),
            kind,
            members,
        }
    }

    /// The seat of `peer`, if it is a member.
    pub fn seat_of(&self, peer: &PeerId) -> Option<usize> {
        self.members.iter().position(|(p, _)| p == peer)
    }

    /// The members' peer ids, in seat order.
    pub fn peers(&self) -> impl Iterator<Item = &PeerId> {
        self.members.iter().map(|(p, _)| p)
    }

    /// The match header every member builds identically.
    pub fn header(&self) -> Result<MatchHeader, &'static str> {
        let players = self
            .members
            .iter()
            .map(|(p, o)| {
                Ok(PlayerSlot {
                    public_key: public_key_of(p).ok_or("a peer id that is not an ed25519 key")?,
                    loadout: o.loadout,
                    items: o.items,
                })
            })
            .collect::<Result<Vec<_>, &'static str>>()?;
        let h = MatchHeader::from_beacon(self.match_id, self.beacon, self.kind.rules(), players);
        h.validate()?;
        Ok(h)
    }
}

/// What the shell should do after a tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Post this on the lobby topic.
    Publish(LobbyMessage),
    /// Every member accepted: start the match.
    Agreed(Group),
}

/// Drops the entry of `map` that `at` says is the oldest.
fn forget_oldest<V>(map: &mut BTreeMap<PeerId, V>, at: impl Fn(&V) -> Instant) {
    if let Some(p) = map.iter().min_by_key(|(_, v)| at(v)).map(|(p, _)| *p) {
        map.remove(&p);
    }
}

/// One node's view of the lobby: its own offer, the others' live offers, and the accepts heard.
#[derive(Debug)]
pub struct Lobby {
    me: PeerId,
    mine: Option<(Offer, Instant)>,
    offers: BTreeMap<PeerId, (Offer, Instant)>,
    /// Each peer's latest accept: the match it accepted, and when. One a
    /// peer, so that no one can fill a group's accepts with other keys'.
    accepts: BTreeMap<PeerId, ([u8; 32], Instant)>,
    excluded: BTreeMap<PeerId, Instant>,
    proposal: Option<(Group, Instant)>,
}

impl Lobby {
    /// An idle lobby for the node `me`.
    pub fn new(me: PeerId) -> Self {
        Self {
            me,
            mine: None,
            offers: BTreeMap::new(),
            accepts: BTreeMap::new(),
            excluded: BTreeMap::new(),
            proposal: None,
        }
    }

    /// Starts a search; returns the offer to post.
    pub fn search(&mut self, offer: Offer, now: Instant) -> LobbyMessage {
        self.mine = Some((offer.clone(), now));
        self.proposal = None;
        LobbyMessage::Offer(offer)
    }

    /// Moves the own offer to `beacon` when the chain's settled epoch moved
    /// on while searching; returns the offer to post. Offers group only
    /// with offers that name the same beacon, so a searcher that kept the
    /// epoch it started with never met one that started an epoch later
    /// (validators settle one every few seconds). Left alone while a
    /// proposal is out: that group agrees on the beacon it named.
    pub fn follow_beacon(&mut self, beacon: Beacon) -> Option<LobbyMessage> {
        if self.proposal.is_some() {
            return None;
        }
        let (offer, _) = self.mine.as_mut()?;
        if offer.beacon == beacon {
            return None;
        }
        offer.beacon = beacon;
        Some(LobbyMessage::Offer(offer.clone()))
    }

    /// Whether this node has an offer up.
    pub fn is_searching(&self) -> bool {
        self.mine.is_some()
    }

    /// Stops searching; returns the withdrawal to post.
    pub fn stop(&mut self) -> Option<LobbyMessage> {
        self.proposal = None;
        self.mine.take().map(|(o, _)| LobbyMessage::Withdraw {
            offer_id: o.offer_id,
        })
    }

    /// The own offer to re-post, if searching.
    pub fn repost(&self) -> Option<LobbyMessage> {
        self.mine
            .as_ref()
            .map(|(o, _)| LobbyMessage::Offer(o.clone()))
    }

    /// A message from `peer` (the gossip author, already authenticated).
    pub fn on_message(&mut self, peer: PeerId, msg: LobbyMessage, now: Instant) {
        if peer == self.me {
            return;
        }
        match msg {
            LobbyMessage::Offer(o) => {
                if !self.offers.contains_key(&peer) && self.offers.len() >= MAX_ACCEPTS {
                    forget_oldest(&mut self.offers, |(_, t)| *t);
                }
                self.offers.insert(peer, (o, now));
            }
            LobbyMessage::Accept(a) => {
                // An accept can come before its author's offer (a peer
                // that just joined the mesh): it is kept either way. Keys
                // that flood accepts push out the oldest, not the newest.
                if !self.accepts.contains_key(&peer) && self.accepts.len() >= MAX_ACCEPTS {
                    forget_oldest(&mut self.accepts, |(_, t)| *t);
                }
                self.accepts.insert(peer, (a.match_id, now));
            }
            LobbyMessage::Withdraw { offer_id } => {
                if self
                    .offers
                    .get(&peer)
                    .is_some_and(|(o, _)| o.offer_id == offer_id)
                {
                    self.offers.remove(&peer);
                }
            }
        }
    }

    /// Leaves a peer out of groups for [`EXCLUDE_FOR`] (it vanished or failed to join).
    pub fn exclude(&mut self, peer: PeerId, now: Instant) {
        self.excluded.insert(peer, now + EXCLUDE_FOR);
        self.offers.remove(&peer);
    }

    fn candidate(&self, now: Instant) -> Option<Group> {
        let (mine, since) = self.mine.as_ref()?;
        if now.duration_since(*since) < SETTLE {
            return None;
        }
        let mut members: Vec<(PeerId, Offer)> = self
            .offers
            .iter()
            .filter(|(p, (o, seen))| {
                o.kind == mine.kind
                    && o.beacon == mine.beacon
                    && now.duration_since(*seen) < OFFER_TTL
                    && !self.excluded.contains_key(p)
            })
            .map(|(p, (o, _))| (*p, o.clone()))
            .collect();
        members.push((self.me, mine.clone()));
        members.sort_by_key(|m| m.0);
        let size = mine.kind.size as usize;
        if members.len() < size {
            return None;
        }
        members.truncate(size);
        members
            .iter()
            .any(|(p, _)| *p == self.me)
            .then(|| Group::of(mine.kind, members))
    }

    /// Advances the lobby; call it often (every 100 ms or on each message).
    pub fn tick(&mut self, now: Instant) -> Vec<Step> {
        let mut steps = vec![];
        self.excluded.retain(|_, until| *until > now);
        self.offers
            .retain(|_, (_, seen)| now.duration_since(*seen) < OFFER_TTL * 4);
        self.accepts
            .retain(|_, (_, at)| now.duration_since(*at) < OFFER_TTL * 4);
        if self.mine.is_none() {
            return steps;
        }
        let candidate = self.candidate(now);
        let changed = match (&self.proposal, &candidate) {
            (Some((p, _)), Some(c)) => p.match_id != c.match_id,
            (None, None) => false,
            _ => true,
        };
        if changed {
            self.proposal = candidate.map(|g| (g, now));
            if let Some((g, _)) = &self.proposal {
                steps.push(Step::Publish(LobbyMessage::Accept(crate::wire::Accept {
                    match_id: g.match_id,
                })));
            }
        }
        if let Some((g, since)) = self.proposal.clone() {
            let accepted: BTreeSet<PeerId> = g
                .peers()
                .filter(|p| {
                    **p == self.me || self.accepts.get(p).is_some_and(|(id, _)| *id == g.match_id)
                })
                .copied()
                .collect();
            if g.peers().all(|p| accepted.contains(p)) {
                self.mine = None;
                self.proposal = None;
                for p in g.peers() {
                    self.accepts.remove(p);
                }
                steps.push(Step::Agreed(g));
            } else if now.duration_since(since) >= ACCEPT_TIMEOUT {
                for p in g
                    .peers()
                    .filter(|p| !accepted.contains(p))
                    .copied()
                    .collect::<Vec<_>>()
                {
                    self.exclude(p, now);
                }
                self.proposal = None;
            }
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use crate::wire::Mode;
    use cyteria_game::RULES_VERSION;

    fn kind(size: u8) -> MatchKind {
        MatchKind {
            mode: Mode::Coop,
            size,
            rules_version: RULES_VERSION,
            waves: 1,
            time_limit: 600,
        }
    }

    fn offer(i: u8, size: u8) -> Offer {
        Offer {
            offer_id: [i; 16],
            kind: kind(size),
            loadout: cyteria_game::crafting::starter_loadout(),
            items: Default::default(),
            beacon: Default::default(),
        }
    }

    fn peers(n: u8) -> Vec<PeerId> {
        (0..n)
            .map(|i| Identity::from_secret([i + 10; 32]).peer_id())
            .collect()
    }

    /// Runs `n` lobbies that deliver every message to each other.
    fn run(
        lobbies: &mut [Lobby],
        ids: &[PeerId],
        offers: &[Offer],
        drop_from: Option<PeerId>,
    ) -> Vec<Option<Group>> {
        let t0 = Instant::now();
        let mut queue: Vec<(PeerId, LobbyMessage)> = vec![];
        for (i, l) in lobbies.iter_mut().enumerate() {
            queue.push((ids[i], l.search(offers[i].clone(), t0)));
        }
        let mut agreed = vec![None; lobbies.len()];
        for step in 0..200u64 {
            let now = t0 + Duration::from_millis(100 * step);
            for (from, m) in std::mem::take(&mut queue) {
                if Some(from) == drop_from && !matches!(m, LobbyMessage::Offer(_)) {
                    continue;
                }
                for l in lobbies.iter_mut() {
                    l.on_message(from, m.clone(), now);
                }
            }
            for (i, l) in lobbies.iter_mut().enumerate() {
                if step % 10 == 0
                    && let Some(m) = l.repost()
                {
                    queue.push((ids[i], m));
                }
                for s in l.tick(now) {
                    match s {
                        Step::Publish(m) => queue.push((ids[i], m)),
                        Step::Agreed(g) => agreed[i] = Some(g),
                    }
                }
            }
        }
        agreed
    }

    #[test]
    fn four_nodes_agree_on_one_group_one_seed_and_seat_order_by_peer_id() {
        let ids = peers(4);
        let mut lobbies: Vec<Lobby> = ids.iter().map(|p| Lobby::new(*p)).collect();
        let offers: Vec<Offer> = (0..4).map(|i| offer(i, 4)).collect();
        let agreed = run(&mut lobbies, &ids, &offers, None);
        let g = agreed[0].clone().expect("agreed");
        assert!(agreed.iter().all(|a| a.as_ref() == Some(&g)));
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(g.peers().copied().collect::<Vec<_>>(), sorted);
        g.header().expect("a valid header");
    }

    #[test]
    fn five_seekers_for_pairs_make_two_matches_and_one_waits() {
        let ids = peers(5);
        let mut lobbies: Vec<Lobby> = ids.iter().map(|p| Lobby::new(*p)).collect();
        let offers: Vec<Offer> = (0..5).map(|i| offer(i, 2)).collect();
        let agreed = run(&mut lobbies, &ids, &offers, None);
        let groups: BTreeSet<[u8; 32]> = agreed.iter().flatten().map(|g| g.match_id).collect();
        assert_eq!(groups.len(), 2);
        assert_eq!(agreed.iter().filter(|a| a.is_none()).count(), 1);
        for g in agreed.iter().flatten() {
            assert_eq!(
                agreed
                    .iter()
                    .flatten()
                    .filter(|h| h.match_id == g.match_id)
                    .count(),
                2
            );
        }
    }

    #[test]
    fn different_rules_never_match_and_a_silent_peer_is_left_out() {
        let ids = peers(3);
        let mut lobbies: Vec<Lobby> = ids.iter().map(|p| Lobby::new(*p)).collect();
        let mut offers: Vec<Offer> = (0..3).map(|i| offer(i, 2)).collect();
        offers[2].kind.waves = 3;
        let agreed = run(&mut lobbies, &ids, &offers, None);
        assert!(agreed[0].is_some() && agreed[1].is_some() && agreed[2].is_none());

        // The lowest peer keeps offering but never accepts: after the accept
        // timeout the others leave it out and pair up.
        let mut sorted = peers(3);
        sorted.sort();
        let mut lobbies: Vec<Lobby> = sorted.iter().map(|p| Lobby::new(*p)).collect();
        let offers: Vec<Offer> = (0..3).map(|i| offer(i, 2)).collect();
        let agreed = run(&mut lobbies, &sorted, &offers, Some(sorted[0]));
        assert!(agreed[1].is_some());
        assert_eq!(agreed[1], agreed[2]);
        assert!(agreed[1].as_ref().unwrap().seat_of(&sorted[0]).is_none());
    }

    #[test]
    fn eight_squatted_accepts_do_not_lock_a_predicted_group_out() {
        let mut ids = peers(2);
        ids.sort();
        let offers: Vec<Offer> = (0..2).map(|i| offer(i, 2)).collect();
        // Anyone reading the lobby can compute the pair's match id.
        let predicted = Group::of(
            kind(2),
            ids.iter().copied().zip(offers.iter().cloned()).collect(),
        )
        .match_id;
        let mut lobbies: Vec<Lobby> = ids.iter().map(|p| Lobby::new(*p)).collect();
        // Eight keys that accept the predicted match, and, to fill the
        // table, as many more as it holds; each offers first (for another
        // kind of match, so that none joins the pair's group).
        let squatters: Vec<PeerId> = (0..(MAX_ACCEPTS + 8)).map(|_| PeerId::random()).collect();
        let mut elsewhere = offer(99, 3);
        elsewhere.kind.waves = 9;
        for l in lobbies.iter_mut() {
            for q in &squatters {
                l.on_message(*q, LobbyMessage::Offer(elsewhere.clone()), Instant::now());
                l.on_message(
                    *q,
                    LobbyMessage::Accept(crate::wire::Accept {
                        match_id: predicted,
                    }),
                    Instant::now(),
                );
            }
            assert!(l.accepts.len() <= MAX_ACCEPTS && l.offers.len() <= MAX_ACCEPTS);
        }
        let agreed = run(&mut lobbies, &ids, &offers, None);
        let g = agreed[0].clone().expect("the pair agreed");
        assert_eq!(g.match_id, predicted);
        assert_eq!(agreed[1].as_ref(), Some(&g));
    }

    #[test]
    fn searchers_that_started_an_epoch_apart_meet_once_both_follow_the_beacon() {
        let ids = peers(2);
        let newer = Beacon {
            deployment: Default::default(),
            epoch: 8,
            root: [8; 32],
        };
        let mut offers: Vec<Offer> = (0..2).map(|i| offer(i, 2)).collect();
        offers[1].beacon = newer;
        let mut lobbies: Vec<Lobby> = ids.iter().map(|p| Lobby::new(*p)).collect();
        let agreed = run(&mut lobbies, &ids, &offers, None);
        assert!(agreed.iter().all(Option::is_none), "two beacons, no group");
        // The first searcher's feed moves to the newer epoch.
        let mut lobbies: Vec<Lobby> = ids.iter().map(|p| Lobby::new(*p)).collect();
        let t0 = Instant::now();
        lobbies[0].search(offers[0].clone(), t0);
        let moved = lobbies[0]
            .follow_beacon(newer)
            .expect("the offer is posted again");
        assert!(matches!(&moved, LobbyMessage::Offer(o) if o.beacon == newer));
        assert!(lobbies[0].follow_beacon(newer).is_none(), "once");
        let offers = [lobbies[0].mine.clone().unwrap().0, offers[1].clone()];
        let mut lobbies: Vec<Lobby> = ids.iter().map(|p| Lobby::new(*p)).collect();
        let agreed = run(&mut lobbies, &ids, &offers, None);
        let g = agreed[0].clone().expect("they meet");
        assert_eq!(g.beacon, newer);
        assert_eq!(agreed[1].as_ref(), Some(&g));
    }

    #[test]
    fn only_offers_from_one_beacon_group_and_the_seed_is_drawn_from_it() {
        let ids = peers(3);
        let mut lobbies: Vec<Lobby> = ids.iter().map(|p| Lobby::new(*p)).collect();
        let beacon = Beacon {
            deployment: Default::default(),
            epoch: 7,
            root: [7; 32],
        };
        let mut offers: Vec<Offer> = (0..3).map(|i| offer(i, 2)).collect();
        offers[0].beacon = beacon;
        offers[1].beacon = beacon;
        let agreed = run(&mut lobbies, &ids, &offers, None);
        assert!(agreed[2].is_none(), "the genesis offer groups with no one");
        let g = agreed[0].clone().unwrap();
        assert_eq!(agreed[1].as_ref(), Some(&g));
        let h = g.header().unwrap();
        assert_eq!(h.beacon, beacon);
        assert_eq!(h.seed, beacon.seed(&g.match_id));
        assert!(h.seed_is_from_beacon());
    }
}
