//! How a validator is configured: its pace, its fetch timeout and (in
//! tests and the devnet) the fault it injects.

use std::time::Duration;

use crate::state::Pace;

/// How a validator paces itself.
#[derive(Clone, Debug)]
pub struct ValidatorConfig {
    /// Least time between one settlement and the next proposal.
    pub epoch_interval: Duration,
    /// A leader's round; when it passes without a settlement, the next validator leads.
    pub round_timeout: Duration,
    /// How long a validator that is not the proposer waits, once it sees a
    /// quorum, before it submits the batch itself.
    pub submit_grace: Duration,
    /// How long one fetch of a transcript or of batch data may take.
    pub fetch_timeout: Duration,
    /// How often the chain is read.
    pub poll: Duration,
    /// Longest time between settlements: a leader proposes an empty batch
    /// after it, so players always have a recent beacon to agree matches
    /// from, and a match that waits for chain time gets it.
    pub beacon_every: Duration,
    /// Misbehave on purpose (tests and the devnet's scenarios only).
    #[cfg(feature = "adversary")]
    pub fault: Option<crate::adversary::Fault>,
}

impl Default for ValidatorConfig {
    fn default() -> Self {
        Self {
            epoch_interval: Duration::from_secs(10),
            round_timeout: Duration::from_secs(30),
            submit_grace: Duration::from_secs(10),
            fetch_timeout: Duration::from_secs(15),
            poll: Duration::from_secs(1),
            beacon_every: Duration::from_secs(60),
            #[cfg(feature = "adversary")]
            fault: None,
        }
    }
}

impl ValidatorConfig {
    /// The part of the configuration the decisions need.
    pub fn pace(&self) -> Pace {
        Pace {
            epoch_interval: self.epoch_interval,
            round_timeout: self.round_timeout,
            submit_grace: self.submit_grace,
            poll: self.poll,
            beacon_every: self.beacon_every,
        }
    }
}
