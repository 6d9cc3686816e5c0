//! Match provenance: where in chain time a match could have been played,
//! and the real-time budget of every identity.
//!
//! A match names a beacon, a settled epoch and its state root; its seed
//! derives from both, so it could not be known before the epoch settled.
//! The match occupies its players' time from the beacon's settlement
//! onwards, `frames ÷ tick rate` long, after the matches of theirs already
//! credited: `start = max(beacon time, each bound seat's busy_until)`. It
//! is credited only once the chain has passed its end (the time of the
//! batch's reference block, a block the leader read at its head and every
//! follower reads again) and while its beacon is recent. No two
//! credited matches of one key overlap, and a wallet's new key inherits the
//! old key's time, so an identity earns at most what real-time play earns.
//!
//! Everything here is read from the chain (the epochs' roots and times,
//! the tick rate), never from a header.

use std::collections::BTreeMap;

use cyteria_game::transcript::{Beacon, Deployment, MatchHeader};
use serde::{Deserialize, Serialize};

use crate::ledger::Rejected;

/// How long a match stays creditable, in seconds of chain time after the
/// earliest it could have ended (its beacon's settlement plus its length).
pub const BEACON_WINDOW_S: u64 = 600;

/// How far back, in seconds of chain time, validators keep settled epochs
/// as possible beacons at `tick_rate`: the window plus the longest match.
pub fn beacon_horizon_s(tick_rate: u32) -> u64 {
    let longest =
        u64::from(cyteria_game::rules::MAX_MATCH_FRAMES).div_ceil(u64::from(tick_rate.max(1)));
    BEACON_WINDOW_S + longest
}

/// A settled epoch as the chain recorded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settled {
    /// Its state root.
    pub root: [u8; 32],
    /// When it settled, in seconds (block time; epoch 0: the deployment).
    pub at: u64,
    /// The block it settled in: where validators read what the wallets of a
    /// match agreed from it held.
    pub block: u64,
}

/// A block a batch is judged at: the chain's clock for that batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// Its number.
    pub block: u64,
    /// Its timestamp, in seconds.
    pub time: u64,
}

/// What validators read from the chain to place matches in time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainTime {
    /// The deployment the epochs are of: a beacon naming another is wrong.
    pub deployment: Deployment,
    /// Settled epochs, at least those of the last [`BEACON_WINDOW_S`] and
    /// the latest, by epoch.
    pub epochs: BTreeMap<u64, Settled>,
    /// Simulation ticks per second of chain time (the Settlement contract's `tickRate`).
    pub tick_rate: u32,
    /// The chain's head as the leader last read it: the reference of the
    /// batch it builds.
    pub head: Reference,
}

/// Where a credited match sits in its players' time, in milliseconds of chain time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// When it began at the earliest.
    pub start_ms: u64,
    /// When it ended at the earliest; the seats are busy until then.
    pub end_ms: u64,
}

impl ChainTime {
    /// Whether `r` may be the reference of a batch for `epoch`: no earlier
    /// than the settlement of the epoch before it. (That the block exists
    /// with that time, the shell checks against the chain.)
    pub fn check_reference(&self, r: &Reference, epoch: u64) -> Result<(), Rejected> {
        let prev = epoch.checked_sub(1).ok_or(Rejected::NoChainTime)?;
        let settled = self.epochs.get(&prev).ok_or(Rejected::NoChainTime)?;
        if r.time < settled.at {
            return Err(Rejected::EarlyReference);
        }
        Ok(())
    }

    /// How long `frames` frames take at the chain's tick rate, in milliseconds (rounded up).
    pub fn duration_ms(&self, frames: u32) -> u64 {
        let rate = u64::from(self.tick_rate.max(1));
        (u64::from(frames) * 1000).div_ceil(rate)
    }

    /// The settlement time of `beacon` in milliseconds, when it is a real
    /// beacon for a batch of `epoch`, recent enough at `reference` for a
    /// match of `duration_ms`.
    pub fn beacon_ms(
        &self,
        beacon: &Beacon,
        epoch: u64,
        reference: &Reference,
        duration_ms: u64,
    ) -> Result<u64, Rejected> {
        if beacon.deployment != self.deployment {
            return Err(Rejected::WrongBeacon);
        }
        if beacon.epoch >= epoch {
            return Err(Rejected::FutureBeacon);
        }
        // Epochs older than the horizon may be forgotten: stale either way.
        let settled = self
            .epochs
            .get(&beacon.epoch)
            .ok_or(Rejected::StaleBeacon)?;
        if settled.root != beacon.root {
            return Err(Rejected::WrongBeacon);
        }
        let at = settled.at.saturating_mul(1000);
        let last_ms = at
            .saturating_add(duration_ms)
            .saturating_add(BEACON_WINDOW_S * 1000);
        if last_ms < reference.time.saturating_mul(1000) {
            return Err(Rejected::StaleBeacon);
        }
        Ok(at)
    }

    /// Places a match of `frames` frames, agreed from `header`'s beacon, after
    /// `busy_ms` (the latest end among its bound seats' credited matches), in
    /// a batch for `epoch` judged at `reference`. [`Rejected::NotYet`] while
    /// the reference has not passed its end: it waits for a later batch.
    pub fn place(
        &self,
        header: &MatchHeader,
        frames: u32,
        busy_ms: u64,
        epoch: u64,
        reference: &Reference,
    ) -> Result<Slot, Rejected> {
        if !header.seed_is_from_beacon() {
            return Err(Rejected::SeedNotFromBeacon);
        }
        let duration = self.duration_ms(frames);
        let beacon = self.beacon_ms(&header.beacon, epoch, reference, duration)?;
        let start_ms = beacon.max(busy_ms);
        let end_ms = start_ms.saturating_add(duration);
        if end_ms > reference.time.saturating_mul(1000) {
            return Err(Rejected::NotYet);
        }
        Ok(Slot { start_ms, end_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cyteria_game::Rules;
    use cyteria_game::transcript::PlayerSlot;

    fn chain() -> ChainTime {
        let mut epochs = BTreeMap::new();
        for (e, at) in [(0, 1_000), (1, 1_030), (2, 1_060), (3, 2_000)] {
            let root = [e as u8; 32];
            epochs.insert(
                e,
                Settled {
                    root,
                    at,
                    block: at,
                },
            );
        }
        ChainTime {
            deployment: HERE,
            epochs,
            tick_rate: 60,
            head: Reference::default(),
        }
    }

    const HERE: Deployment = Deployment {
        chain_id: 80002,
        settlement: [0x5e; 20],
    };

    fn at(time: u64) -> Reference {
        Reference { block: time, time }
    }

    fn header(beacon: Beacon) -> MatchHeader {
        let seat = PlayerSlot::starter([1; 32]);
        MatchHeader::from_beacon([9; 32], beacon, Rules::default(), vec![seat])
    }

    fn beacon(epoch: u64) -> Beacon {
        Beacon {
            deployment: HERE,
            epoch,
            root: [epoch as u8; 32],
        }
    }

    #[test]
    fn a_match_sits_after_its_beacon_and_after_its_players_last_match() {
        let c = chain();
        // Batch 3 judged at 1 060 s; 600 frames are 10 s.
        let r = at(1_060);
        let h = header(beacon(1));
        let slot = c.place(&h, 600, 0, 3, &r).unwrap();
        let first = Slot {
            start_ms: 1_030_000,
            end_ms: 1_040_000,
        };
        assert_eq!(slot, first);
        let next = c.place(&h, 600, slot.end_ms, 3, &r).unwrap();
        assert_eq!(next.start_ms, 1_040_000, "after the first, not beside it");
        assert_eq!(
            c.place(&h, 600, 1_055_000, 3, &r),
            Err(Rejected::NotYet),
            "a third would end after the chain's time: it waits"
        );
        assert!(c.place(&h, 600, 1_055_000, 3, &at(1_066)).is_ok());
    }

    #[test]
    fn beacons_from_the_future_forged_or_stale_are_refused() {
        let c = chain();
        let r = at(2_100);
        let place = |b: Beacon, epoch: u64, r: &Reference| c.place(&header(b), 60, 0, epoch, r);
        assert_eq!(place(beacon(2), 2, &r), Err(Rejected::FutureBeacon));
        assert_eq!(place(beacon(9), 4, &r), Err(Rejected::FutureBeacon));
        let forged = Beacon {
            root: [7; 32],
            ..beacon(1)
        };
        assert_eq!(place(forged, 3, &at(1_100)), Err(Rejected::WrongBeacon));
        // Another deployment's epoch 1 (its roots may even be ours: both
        // start from the zero root), on this chain or another.
        for deployment in [
            Deployment {
                settlement: [0x77; 20],
                ..HERE
            },
            Deployment {
                chain_id: 137,
                ..HERE
            },
        ] {
            let elsewhere = Beacon {
                deployment,
                ..beacon(1)
            };
            assert_eq!(place(elsewhere, 3, &at(1_100)), Err(Rejected::WrongBeacon));
        }
        assert!(place(beacon(1), 3, &at(1_100)).is_ok());
        // At 2 100 s epoch 0 (1 000 s) and epoch 2 (1 060 s) are past the
        // window for a match of a second.
        assert_eq!(place(beacon(0), 4, &r), Err(Rejected::StaleBeacon));
        assert_eq!(place(beacon(2), 4, &r), Err(Rejected::StaleBeacon));
        assert!(place(beacon(3), 4, &r).is_ok());
        // The window counts from the earliest end: a 30-minute match from
        // epoch 2 (1 060 s) ends at 2 860 s at the earliest and stays
        // creditable until 3 460 s.
        let long = c.place(&header(beacon(2)), 108_000, 0, 4, &at(3_460));
        assert_eq!(long.map(|s| s.end_ms), Ok(2_860_000));
        assert_eq!(
            c.place(&header(beacon(2)), 108_000, 0, 4, &at(3_461)),
            Err(Rejected::StaleBeacon)
        );
    }

    #[test]
    fn a_seed_not_drawn_from_the_beacon_is_refused() {
        let c = chain();
        let mut h = header(beacon(1));
        h.seed ^= 1;
        assert_eq!(
            c.place(&h, 60, 0, 3, &at(1_100)),
            Err(Rejected::SeedNotFromBeacon)
        );
    }

    #[test]
    fn a_reference_before_the_last_settlement_is_refused() {
        let c = chain();
        assert_eq!(
            c.check_reference(&at(1_059), 3),
            Err(Rejected::EarlyReference)
        );
        assert!(c.check_reference(&at(1_060), 3).is_ok());
        assert_eq!(c.check_reference(&at(5_000), 9), Err(Rejected::NoChainTime));
    }

    #[test]
    fn the_tick_rate_sets_a_frames_length() {
        let mut c = chain();
        assert_eq!(c.duration_ms(600), 10_000);
        assert_eq!(c.duration_ms(1), 17, "rounded up");
        c.tick_rate = 240;
        assert_eq!(c.duration_ms(600), 2_500);
    }
}
