//! Entry points for fuzzing: each takes arbitrary bytes, as a peer could
//! send them, through a decoder and the state machine behind it, and must
//! return without panicking whatever the bytes are. `node/p2p/fuzz` runs
//! them under libFuzzer (`make fuzz`); the `fuzz_corpus` test runs each
//! over its committed corpus and a few thousand generated inputs on every
//! `make test`. Behind the `fuzzing` feature: no release build has them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libp2p::PeerId;

use crate::ggrs_guard::Guard;
use crate::lobby::Lobby;
use crate::wire::{ActionMessage, Announce, Attestation, LobbyMessage, RollbackFrame};

/// An entry point: bytes in, no panic.
pub type Target = fn(&[u8]);

/// Every entry point, by name (the fuzz target's and its corpus folder's).
pub const TARGETS: &[(&str, Target)] = &[
    ("lobby", lobby),
    ("rollback", rollback),
    ("announce", announce),
    ("attestation", attestation),
    ("action", action),
    ("batch_data", batch_data),
    ("block_request", block_request),
    ("cid", cid),
];

fn peer(i: u8) -> PeerId {
    crate::identity::Identity::from_secret([i.wrapping_add(1); 32]).peer_id()
}

/// Lobby messages, split at each 0xff byte, from three peers into one
/// lobby that is searching, with ticks between.
pub fn lobby(data: &[u8]) {
    let me = peer(0);
    let mut l = Lobby::new(me);
    let t0 = Instant::now();
    let offer = crate::wire::Offer {
        offer_id: [1; 16],
        kind: crate::wire::MatchKind {
            mode: crate::wire::Mode::Coop,
            size: 2,
            rules_version: cyteria_game::RULES_VERSION,
            waves: 1,
            time_limit: 600,
        },
        loadout: cyteria_game::crafting::starter_loadout(),
        items: Default::default(),
        beacon: Default::default(),
    };
    let _ = l.search(offer, t0);
    for (i, part) in data.split(|b| *b == 0xff).enumerate() {
        let now = t0 + Duration::from_millis(100 * i as u64);
        if let Ok(m) = LobbyMessage::decode(part) {
            l.on_message(peer(1 + (i % 3) as u8), m, now);
        }
        for step in l.tick(now) {
            if let crate::lobby::Step::Agreed(g) = step {
                let _ = g.header();
            }
        }
    }
}

/// Rollback frames, split at each 0xff 0xfe pair, from the other player of
/// a real two-player ggrs session: decoded, checked by the guard, and what
/// passes fed to the session, which then advances a few frames.
pub fn rollback(data: &[u8]) {
    use ggrs::{NonBlockingSocket, PlayerType, SessionBuilder};
    type Queue = Arc<Mutex<Vec<(PeerId, ggrs::Message)>>>;
    struct Socket(Queue);
    impl NonBlockingSocket<PeerId> for Socket {
        fn send_to(&mut self, _: &ggrs::Message, _: &PeerId) {}
        fn receive_all_messages(&mut self) -> Vec<(PeerId, ggrs::Message)> {
            std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
        }
    }
    let (me, other) = (peer(0), peer(1));
    let queue = Queue::default();
    let Ok(b) = SessionBuilder::<crate::session::GgrsConfig>::new().with_num_players(2) else {
        return;
    };
    let Ok(b) = b.add_player(PlayerType::Local, 0) else {
        return;
    };
    let Ok(b) = b.add_player(PlayerType::Remote(other), 1) else {
        return;
    };
    let Ok(mut session) = b.start_p2p_session(Socket(queue.clone())) else {
        return;
    };
    let _ = me;
    let mut guard = Guard::new(2);
    let mut parts = vec![];
    let mut rest = data;
    while let Some(at) = rest.windows(2).position(|w| w == [0xff, 0xfe]) {
        parts.push(&rest[..at]);
        rest = &rest[at + 2..];
    }
    parts.push(rest);
    for part in parts {
        if let Ok(RollbackFrame::Ggrs(m)) = RollbackFrame::decode(part)
            && let Ok(checked) = guard.check(other, &m, session.current_frame())
        {
            queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((other, checked));
        }
        session.poll_remote_clients();
        if session.current_state() == ggrs::SessionState::Running {
            let _ = session.add_local_input(0, cyteria_game::Input(0));
            if let Ok(reqs) = session.advance_frame() {
                for r in reqs {
                    if let ggrs::GgrsRequest::SaveGameState { cell, frame } = r {
                        cell.save(frame, None, None);
                    }
                }
            }
        }
        let _ = session.events().count();
    }
}

/// A transcript announcement.
pub fn announce(data: &[u8]) {
    if let Ok(a) = Announce::decode(data) {
        let _ = a.encode();
    }
}

/// A batch attestation, and the signer recovered from it.
pub fn attestation(data: &[u8]) {
    if let Ok(a) = Attestation::decode(data) {
        let domain = cyteria_settlement::batch::domain(31337, alloy::primitives::Address::ZERO);
        let b = cyteria_settlement::batch::Batch::from(&a.batch);
        let _ = cyteria_settlement::batch::recover(&b, &domain, &a.signature);
    }
}

/// An action, binding or evidence message (signatures checked in decode),
/// and a binding verified against a domain.
pub fn action(data: &[u8]) {
    if let Ok(m) = ActionMessage::decode(data) {
        match m {
            ActionMessage::Bind(b) => {
                let d =
                    cyteria_settlement::binding::domain(31337, alloy::primitives::Address::ZERO);
                let _ = b.verify(&d);
            }
            ActionMessage::Act(a) => {
                let _ = a.id();
            }
            ActionMessage::Evidence(ev) => {
                let _ = ev.check();
            }
        }
    }
}

/// Batch data applied to an empty ledger.
pub fn batch_data(data: &[u8]) {
    use cyteria_settlement::ledger::{Bonded, Holdings, Ledger};
    use cyteria_settlement::proposal::{self, BatchData, Context, Verified};
    use cyteria_settlement::provenance::{ChainTime, Settled};
    let Ok(d) = BatchData::decode(data) else {
        return;
    };
    let chain = ChainTime {
        deployment: Default::default(),
        epochs: [(
            0,
            Settled {
                root: [0; 32],
                at: 1_000,
                block: 1,
            },
        )]
        .into(),
        tick_rate: 60,
        head: Default::default(),
    };
    let domain = cyteria_settlement::binding::domain(31337, alloy::primitives::Address::ZERO);
    let (verified, bonded, held) = (Verified::new(), Bonded::default(), Holdings::new());
    let cx = Context {
        chain_id: 31337,
        binding_domain: &domain,
        verified: &verified,
        chain: &chain,
        bonded: &bonded,
        held: &held,
    };
    let _ = proposal::apply(&Ledger::default(), &d, &cx);
}

/// A direct block request's CID bytes.
pub fn block_request(data: &[u8]) {
    let _ = ipld_core::cid::Cid::try_from(data);
}

/// A CID as text, as announcements and the gateway carry it.
pub fn cid(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = crate::block::parse_cid(s);
    }
}
