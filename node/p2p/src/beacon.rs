//! The beacon a player's offers name: the latest settled epoch its node
//! read from the chain. The node crate reads no chain itself; whoever runs
//! it with a chain connection (the `cyteria` command, the window, the
//! devnet) follows the chain and feeds the beacon in. A node without one
//! offers the genesis beacon, whose matches validators no longer credit
//! once it is older than their beacon window.

use cyteria_game::transcript::Beacon;
use tokio::sync::watch;

/// The current beacon, as its follower last read it.
pub type BeaconFeed = watch::Receiver<Beacon>;

/// A feed that never changes.
pub fn fixed(b: Beacon) -> BeaconFeed {
    // A receiver outlives its sender and keeps the last value.
    watch::channel(b).1
}
