//! Match provenance: where in chain time a match could have been played,
//! and the real-time budget of every identity.
//!
//! A match names a beacon, a settled epoch and its state root; its seed
//! derives from both, so it could not be known before the epoch settled.
//! The match occupies its players' time from the beacon's settlement
//! onwards, `frames ÷ tick rate` long, after the matches of theirs already
//! credited: `start = max(beacon time, each bound seat's busy_until)`. It
//! is credited only once the chain has passed its end (the settlement time
//! of the epoch before the batch) and while its beacon is recent. No two
//! credited matches of one key overlap, and a wallet's new key inherits the
//! old key's time, so an identity earns at most what real-time play earns.
//!
//! Everything here is read from the chain (the epochs' roots and times,
//! the tick rate), never from a header.

use std::collections::BTreeMap;

use cyteria_game::transcript::{Beacon, MatchHeader};

use crate::ledger::Rejected;

/// How long a beacon stays recent, in seconds of chain time: a match must
/// be credited within this long of its beacon's settlement.
pub const BEACON_WINDOW_S: u64 = 600;

/// A settled epoch as the chain recorded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settled {
    /// Its state root.
    pub root: [u8; 32],
    /// When it settled, in seconds (block time; epoch 0: the deployment).
    pub at: u64,
}

/// What validators read from the chain to place matches in time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainTime {
    /// Settled epochs, at least those of the last [`BEACON_WINDOW_S`] and
    /// the latest, by epoch.
    pub epochs: BTreeMap<u64, Settled>,
    /// Simulation ticks per second of chain time (the Settlement contract's `tickRate`).
    pub tick_rate: u32,
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
    /// The chain time a batch for `epoch` is judged at: when the epoch
    /// before it settled, in milliseconds.
    pub fn reference_ms(&self, epoch: u64) -> Option<u64> {
        let prev = epoch.checked_sub(1)?;
        self.epochs.get(&prev).map(|s| s.at.saturating_mul(1000))
    }

    /// How long `frames` frames take at the chain's tick rate, in milliseconds (rounded up).
    pub fn duration_ms(&self, frames: u32) -> u64 {
        let rate = u64::from(self.tick_rate.max(1));
        (u64::from(frames) * 1000).div_ceil(rate)
    }

    /// The settlement time of `beacon` in milliseconds, when it is a real,
    /// recent beacon for a batch of `epoch`.
    pub fn beacon_ms(&self, beacon: &Beacon, epoch: u64) -> Result<u64, Rejected> {
        let reference = self.reference_ms(epoch).ok_or(Rejected::NoChainTime)?;
        if beacon.epoch >= epoch {
            return Err(Rejected::FutureBeacon);
        }
        // Epochs older than the window may be forgotten: stale either way.
        let settled = self
            .epochs
            .get(&beacon.epoch)
            .ok_or(Rejected::StaleBeacon)?;
        if settled.root != beacon.root {
            return Err(Rejected::WrongBeacon);
        }
        let at = settled.at.saturating_mul(1000);
        if at.saturating_add(BEACON_WINDOW_S * 1000) < reference {
            return Err(Rejected::StaleBeacon);
        }
        Ok(at)
    }

    /// Places a match of `frames` frames, agreed from `header`'s beacon, after
    /// `busy_ms` (the latest end among its bound seats' credited matches), in
    /// a batch for `epoch`. [`Rejected::NotYet`] while the chain has not
    /// passed its end: it waits for a later batch.
    pub fn place(
        &self,
        header: &MatchHeader,
        frames: u32,
        busy_ms: u64,
        epoch: u64,
    ) -> Result<Slot, Rejected> {
        if !header.seed_is_from_beacon() {
            return Err(Rejected::SeedNotFromBeacon);
        }
        let beacon = self.beacon_ms(&header.beacon, epoch)?;
        let reference = self.reference_ms(epoch).ok_or(Rejected::NoChainTime)?;
        let start_ms = beacon.max(busy_ms);
        let end_ms = start_ms.saturating_add(self.duration_ms(frames));
        if end_ms > reference {
            return Err(Rejected::NotYet);
        }
        Ok(Slot { start_ms, end_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cyteria_game::Rules;
    use cyteria_game::crafting::starter_loadout;
    use cyteria_game::transcript::PlayerSlot;

    fn chain() -> ChainTime {
        let mut epochs = BTreeMap::new();
        for (e, at) in [(0, 1_000), (1, 1_030), (2, 1_060), (3, 2_000)] {
            epochs.insert(
                e,
                Settled {
                    root: [e as u8; 32],
                    at,
                },
            );
        }
        ChainTime {
            epochs,
            tick_rate: 60,
        }
    }

    fn header(beacon: Beacon) -> MatchHeader {
        MatchHeader::from_beacon(
            [9; 32],
            beacon,
            Rules::default(),
            vec![PlayerSlot {
                public_key: [1; 32],
                loadout: starter_loadout(),
            }],
        )
    }

    fn beacon(epoch: u64) -> Beacon {
        Beacon {
            epoch,
            root: [epoch as u8; 32],
        }
    }

    #[test]
    fn a_match_sits_after_its_beacon_and_after_its_players_last_match() {
        let c = chain();
        // Batch 3 is judged at epoch 2's time, 1 060 s; 600 frames are 10 s.
        let slot = c.place(&header(beacon(1)), 600, 0, 3).unwrap();
        assert_eq!(
            slot,
            Slot {
                start_ms: 1_030_000,
                end_ms: 1_040_000
            }
        );
        let next = c.place(&header(beacon(1)), 600, slot.end_ms, 3).unwrap();
        assert_eq!(next.start_ms, 1_040_000, "after the first, not beside it");
        assert_eq!(
            c.place(&header(beacon(1)), 600, 1_055_000, 3),
            Err(Rejected::NotYet),
            "a third would end after the chain's time: it waits"
        );
    }

    #[test]
    fn beacons_from_the_future_forged_or_stale_are_refused() {
        let c = chain();
        assert_eq!(
            c.place(&header(beacon(2)), 60, 0, 2),
            Err(Rejected::FutureBeacon)
        );
        assert_eq!(
            c.place(&header(beacon(9)), 60, 0, 4),
            Err(Rejected::FutureBeacon)
        );
        let forged = Beacon {
            epoch: 1,
            root: [7; 32],
        };
        assert_eq!(
            c.place(&header(forged), 60, 0, 3),
            Err(Rejected::WrongBeacon)
        );
        // Batch 4 is judged at 2 000 s: epoch 0 (1 000 s) is past the window.
        assert_eq!(
            c.place(&header(beacon(0)), 60, 0, 4),
            Err(Rejected::StaleBeacon)
        );
        assert!(
            c.place(&header(beacon(2)), 60, 0, 4).is_err(),
            "1 060 s is stale too"
        );
        assert!(
            c.place(&header(beacon(3)), 60, 0, 5).is_err(),
            "no time for epoch 4 yet"
        );
    }

    #[test]
    fn a_seed_not_drawn_from_the_beacon_is_refused() {
        let c = chain();
        let mut h = header(beacon(1));
        h.seed ^= 1;
        assert_eq!(c.place(&h, 60, 0, 3), Err(Rejected::SeedNotFromBeacon));
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
