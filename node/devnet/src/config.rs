//! What a devnet runs: how many players and validators, the matches, the
//! link conditions and the scenario (what goes wrong on purpose).

use std::path::PathBuf;

use cyteria_node::conditioner::LinkConditions;
use cyteria_node::wire::MatchKind;

/// What can go wrong on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Everyone plays by the rules.
    Honest,
    /// The last player forges an input in what it announces; another claims more rewards than it earned.
    Cheater,
    /// The first epoch's leader crashes right after signing, and comes back.
    ValidatorCrash,
    /// Half the players are cut off from everyone else for the first round
    /// (they play among themselves), then the network heals.
    Partition,
    /// After the first round a quarter of the players leave, and as many
    /// newcomers join through the bootstrap node and play the next.
    Churn,
    /// A hostile node floods every gossip topic and stream protocol for
    /// the first minute of the matches (see `flood`).
    Flood,
}

/// The devnet's settings; the defaults are the README's `cyteria devnet`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DevnetConfig {
    /// Bot players (a multiple of `match_size`).
    pub players: usize,
    /// Validators, staked and registered on the devnet's chain.
    pub validators: usize,
    /// Matches each player plays.
    pub matches: u32,
    /// Players per match (1 to 4).
    pub match_size: u8,
    /// A match's time limit in frames.
    pub match_frames: u32,
    /// Simulation ticks per second.
    pub tick_hz: u32,
    /// The link conditions every player's matches run under.
    pub link: LinkConditions,
    /// What goes wrong on purpose.
    pub scenario: Scenario,
    /// The devnet's directory: the deployment, the guest's key and a directory per node.
    #[serde(skip)]
    pub data_dir: PathBuf,
    /// The report's JSON file; the HTML page is written beside it.
    #[serde(skip)]
    pub report: PathBuf,
    /// Progress bars on the terminal.
    #[serde(skip)]
    pub progress: bool,
    /// After the report, stay up until stopped (Ctrl-C): a bot keeps
    /// looking for the window's match, validators keep settling.
    #[serde(skip)]
    pub stay: bool,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        Self {
            players: 8,
            validators: 3,
            matches: 1,
            match_size: 2,
            match_frames: 60 * 40,
            tick_hz: 60,
            link: LinkConditions::default(),
            scenario: Scenario::Honest,
            data_dir: PathBuf::from("devnet"),
            report: PathBuf::from("devnet/report.json"),
            progress: true,
            stay: false,
        }
    }
}

impl DevnetConfig {
    /// Checks that the settings make a devnet: a validator, whole matches, enough players for the
    /// scenario, sound link conditions.
    pub fn validate(&self) -> Result<(), String> {
        if self.validators == 0 {
            return Err("a devnet needs at least one validator".into());
        }
        MatchKind::check_size(self.match_size)?;
        if self.players < usize::from(self.match_size)
            || !self.players.is_multiple_of(usize::from(self.match_size))
        {
            return Err(format!(
                "{} players do not split into matches of {}",
                self.players, self.match_size
            ));
        }
        let m = usize::from(self.match_size);
        if matches!(self.scenario, Scenario::Partition | Scenario::Churn) && self.players < 2 * m {
            return Err(format!(
                "the {:?} scenario needs at least two matches' worth of players ({})",
                self.scenario,
                2 * m
            ));
        }
        if self.scenario == Scenario::Cheater && self.players < 2 {
            return Err(
                "the cheater scenario needs two players (a forger and a false claimer)".into(),
            );
        }
        self.link.validate()
    }
}
