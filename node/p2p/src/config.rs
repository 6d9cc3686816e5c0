//! Node configuration: defaults, then a TOML file (`<data dir>/cyteria.toml`
//! or `--config`), then environment variables and flags. Every value is
//! checked before the node starts; a bad one is a clear error, not a panic.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use libp2p::Multiaddr;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::session::SessionConfig;

/// Name of the config file looked for in the data directory.
pub const CONFIG_FILE: &str = "cyteria.toml";

/// Why the configuration cannot be used; commands exit with status 2 on it.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A config file could not be read.
    #[error("cannot read the config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error reading it.
        source: std::io::Error,
    },
    /// A config file was read but does not parse.
    #[error("the config file {path} is invalid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value (from a file, the environment or a flag) is out of bounds or malformed.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The `[network]` section: where the node listens, whom it dials first, what it serves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSection {
    /// Multiaddrs to listen on.
    pub listen: Vec<String>,
    /// Bootstrap nodes (multiaddrs ending in `/p2p/<peer id>`).
    pub bootstrap: Vec<String>,
    /// Where to serve Prometheus metrics (`host:port`); none when empty.
    pub metrics: Option<String>,
    /// Where to serve the read-only IPFS gateway (`host:port`, loopback by
    /// default; bootstrap nodes serve none); none when empty.
    pub gateway: Option<String>,
    /// Most established connections the swarm keeps (default 256).
    pub max_connections: u32,
    /// Answer DHT queries (turn off behind NAT).
    pub dht_server: bool,
    /// Addresses others can dial this node at (a public IP, a port
    /// forward); a bootstrap node that names none uses its listen addresses.
    pub external: Vec<String>,
    /// Keep a circuit reserved on two of the bootstrap nodes' relays, so
    /// that peers reach this node behind NAT (players; default on).
    pub relay: bool,
}

impl Default for NetworkSection {
    fn default() -> Self {
        Self {
            listen: vec![
                "/ip4/0.0.0.0/tcp/0".into(),
                "/ip4/0.0.0.0/udp/0/quic-v1".into(),
            ],
            bootstrap: vec![],
            metrics: None,
            gateway: Some("127.0.0.1:8080".into()),
            max_connections: 256,
            dht_server: true,
            external: vec![],
            relay: true,
        }
    }
}

/// The `[match]` section: what matches this node seeks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchSection {
    /// Players per match (1 to 4).
    pub players: u8,
    /// Waves to clear.
    pub waves: u8,
    /// Time limit in seconds.
    pub time_limit_s: u32,
    /// Matches to play before exiting; 0 plays until stopped.
    pub matches: u32,
}

impl Default for MatchSection {
    fn default() -> Self {
        Self {
            players: 2,
            waves: 5,
            time_limit_s: 300,
            matches: 0,
        }
    }
}

/// Where the chain is and who this node is on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainSection {
    /// JSON-RPC endpoint, `http(s)://` or `ws(s)://`.
    pub rpc: Option<String>,
    /// The contracts' addresses (the JSON `cyteria devnet` and the deploy script write).
    pub deployment: Option<PathBuf>,
    /// A file holding the hex secp256k1 key of this node's wallet (else `CYTERIA_ETH_KEY`).
    pub key_file: Option<PathBuf>,
    /// Blocks on top of a transaction before it counts.
    pub confirmations: u64,
    /// The chain id the endpoint must serve (a network profile sets it): a
    /// node pointed at the wrong chain stops before it signs anything.
    pub chain_id: Option<u64>,
}

impl Default for ChainSection {
    fn default() -> Self {
        Self {
            rpc: None,
            deployment: None,
            key_file: None,
            confirmations: 1,
            chain_id: None,
        }
    }
}

/// How a validator paces agreement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidatorSection {
    /// Least seconds between one settlement and the next proposal.
    pub epoch_interval_s: f64,
    /// Seconds a leader has before the next validator leads.
    pub round_timeout_s: f64,
    /// Seconds a validator that did not propose waits after a quorum before it submits.
    pub submit_grace_s: f64,
}

impl Default for ValidatorSection {
    fn default() -> Self {
        Self {
            epoch_interval_s: 10.0,
            round_timeout_s: 30.0,
            submit_grace_s: 10.0,
        }
    }
}

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    /// The `[network]` section.
    pub network: NetworkSection,
    /// The `[match]` section.
    #[serde(rename = "match")]
    pub matches: MatchSection,
    /// The `[session]` section: how matches are played.
    pub session: SessionConfig,
    /// The `[chain]` section.
    pub chain: ChainSection,
    /// The `[validator]` section.
    pub validator: ValidatorSection,
    /// The `[limits]` section: what each peer may send.
    pub limits: crate::net::limits::Limits,
    /// The `[relay]` section: what a bootstrap node relays.
    pub relay: crate::net::RelayLimits,
    /// The network profile applied (`--network`), if any.
    #[serde(skip)]
    pub network_name: Option<String>,
}

impl FileConfig {
    /// Reads `path`, or the data directory's config file when it exists, or defaults.
    pub fn load(explicit: Option<&Path>, data_dir: &Path) -> Result<Self, ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let p = data_dir.join(CONFIG_FILE);
                if !p.exists() {
                    return Ok(Self::default());
                }
                p
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ConfigError::Parse { path, message })
    }

    /// Parses the TOML `text`; unknown keys are an error, missing ones take defaults.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// Parses each of `v` as a multiaddr; `what` names them in the error.
pub fn multiaddrs(v: &[String], what: &str) -> Result<Vec<Multiaddr>, ConfigError> {
    v.iter()
        .map(|s| {
            s.parse::<Multiaddr>()
                .map_err(|e| ConfigError::Invalid(format!("{what} address {s:?}: {e}")))
        })
        .collect()
}

/// Parses `s` as a `host:port` socket address; `what` names it in the error.
pub fn socket_addr(s: &str, what: &str) -> Result<SocketAddr, ConfigError> {
    s.parse()
        .map_err(|e| ConfigError::Invalid(format!("{what} {s:?}: {e}")))
}

/// `$CYTERIA_DATA_DIR`, else `~/.cyteria`, else `./.cyteria`.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".cyteria")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_overrides_defaults_and_unknown_keys_are_errors() {
        let c = FileConfig::parse(
            "[network]\nbootstrap = [\"/ip4/127.0.0.1/tcp/1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN\"]\n\
             [match]\nplayers = 4\n[session]\ninput_delay = 3\n[session.link]\nrtt_ms = 100\nloss = 0.05\n",
        )
        .unwrap();
        assert_eq!(c.matches.players, 4);
        assert_eq!(c.matches.waves, 5);
        assert_eq!(c.session.input_delay, 3);
        assert_eq!(c.session.link.rtt_ms, 100);
        assert_eq!(
            multiaddrs(&c.network.bootstrap, "bootstrap").unwrap().len(),
            1
        );
        let e = FileConfig::parse("[network]\nlisen = []\n").unwrap_err();
        assert!(e.contains("lisen"), "{e}");
        assert!(FileConfig::parse("[match]\nplayers = \"two\"\n").is_err());
        assert!(multiaddrs(&["/ip4/nonsense".into()], "listen").is_err());
    }

    #[test]
    fn a_missing_explicit_file_is_an_error_and_a_missing_default_file_is_not() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            FileConfig::load(None, dir.path()).unwrap(),
            FileConfig::default()
        );
        let e = FileConfig::load(Some(&dir.path().join("nope.toml")), dir.path()).unwrap_err();
        assert!(matches!(e, ConfigError::Read { .. }));
        std::fs::write(dir.path().join(CONFIG_FILE), "[match]\nplayers = 3\n").unwrap();
        assert_eq!(
            FileConfig::load(None, dir.path()).unwrap().matches.players,
            3
        );
    }

    #[test]
    fn relays_carry_the_longest_match_unless_the_operator_says_otherwise() {
        let r = FileConfig::default().relay;
        let longest = u64::from(cyteria_game::rules::MAX_MATCH_FRAMES)
            / u64::from(cyteria_game::rules::TICK_RATE);
        assert!(r.max_circuit_seconds > longest);
        // A pair of a 4-player match: ~4 kB/s each way (docs/performance.md),
        // and the transcript's blocks.
        assert!(r.max_circuit_bytes > r.max_circuit_seconds * 8_000 + (4 << 20));
        let c = FileConfig::parse(
            "[relay]
max_circuits = 8
max_circuit_seconds = 600
",
        )
        .unwrap();
        assert_eq!(c.relay.max_circuits, 8);
        assert_eq!(c.relay.max_circuit_seconds, 600);
        assert_eq!(c.relay.max_circuit_bytes, r.max_circuit_bytes);
        assert!(
            FileConfig::parse(
                "[relay]
max_circuit_duration = 600
"
            )
            .is_err()
        );
    }
}
