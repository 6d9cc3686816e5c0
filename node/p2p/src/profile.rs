//! Network profiles: which network a node joins, named once with
//! `--network NAME|FILE` instead of its parts one flag at a time: the
//! bootstrap nodes, the chain (its id and an RPC endpoint) and where the
//! contracts are (a deployment file, which `cyteria deploy` writes).
//!
//! A profile's values replace the config file's (it names one network
//! whole: one network's endpoint with another's contracts is how funds go
//! astray); flags override both. Names resolve to, in order:
//! `<networks dir>/NAME.toml` (profiles written by `cyteria deploy --name`,
//! or an operator's own), then the profiles shipped in the binary: `amoy`
//! (Polygon's test network) and `devnet` (the network a running `cyteria
//! devnet` with the default data directory describes in
//! `~/.cyteria/devnet/network.toml`). Anything with a `/` or ending in
//! `.toml` is a file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, FileConfig};

/// The Amoy profile shipped in the binary.
const AMOY: &str = include_str!("../../../networks/amoy.toml");

/// The profile file a devnet writes in its directory.
pub const PROFILE_FILE: &str = "network.toml";

/// Where a running `cyteria devnet` with the default data directory writes
/// its profile.
pub fn devnet_profile() -> PathBuf {
    crate::config::default_data_dir()
        .join("devnet")
        .join(PROFILE_FILE)
}

/// One network: enough for a node to join it and read its chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// What the network is called (`amoy`, `devnet`, an operator's own).
    pub name: String,
    /// The chain id its RPC endpoints must serve.
    pub chain_id: u64,
    /// A JSON-RPC endpoint of the chain; operators often use their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc: Option<String>,
    /// Bootstrap nodes, each ending in `/p2p/<peer id>`; DNS names allowed.
    #[serde(default)]
    pub bootstrap: Vec<String>,
    /// The deployment file (every contract's address), relative to the
    /// profile's directory and inside it, ending in `.json`. None before
    /// the contracts are deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<PathBuf>,
    /// Blocks on top of a transaction before it counts.
    #[serde(default = "one")]
    pub confirmations: u64,
    /// The directory relative paths resolve against.
    #[serde(skip)]
    pub base: PathBuf,
}

fn one() -> u64 {
    1
}

/// `$CYTERIA_NETWORKS`, else `networks` in the default data directory
/// (`~/.cyteria/networks`): the profiles and deployment files written here.
pub fn networks_dir() -> PathBuf {
    std::env::var_os("CYTERIA_NETWORKS")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::config::default_data_dir().join("networks"))
}

/// Whether `s` can name a profile (and its files) in the networks directory.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Profile {
    /// Parses a profile's TOML; relative paths in it resolve against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Profile, String> {
        let mut p: Profile = toml::from_str(text).map_err(|e| e.to_string())?;
        p.base = base.to_path_buf();
        p.check()?;
        Ok(p)
    }

    /// Reads the profile file at `path`.
    pub fn read(path: &Path) -> Result<Profile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Profile::parse(&text, base).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// The profile `spec` names: a file (a path, or a name ending in
    /// `.toml`), else a name (see the module's documentation).
    pub fn resolve(spec: &str) -> Result<Profile, ConfigError> {
        if spec.ends_with(".toml") || spec.contains('/') {
            return Profile::read(Path::new(spec));
        }
        if !valid_name(spec) {
            return Err(ConfigError::Invalid(format!(
                "network {spec:?}: a name is lowercase letters, digits, '-' and '_'; a file ends in .toml"
            )));
        }
        let own = networks_dir().join(format!("{spec}.toml"));
        if own.is_file() {
            return Profile::read(&own);
        }
        match spec {
            "amoy" => Profile::parse(AMOY, &networks_dir())
                .map_err(|e| ConfigError::Invalid(format!("the shipped amoy profile: {e}"))),
            "devnet" => Profile::read(&devnet_profile()).map_err(|e| match e {
                ConfigError::Read { .. } => ConfigError::Invalid(format!(
                    "no devnet with the default data directory is running ({} is missing): start one with `cyteria devnet --stay`, or name the profile file a devnet prints",
                    devnet_profile().display()
                )),
                e => e,
            }),
            _ => Err(ConfigError::Invalid(format!(
                "no network {spec:?}: the shipped ones are `devnet` and `amoy`, and {} holds no {spec}.toml",
                networks_dir().display()
            ))),
        }
    }

    /// The deployment file's path, resolved.
    pub fn deployment_path(&self) -> Option<PathBuf> {
        self.deployment.as_ref().map(|d| self.base.join(d))
    }

    /// Sets in `file` what this profile names, over the file's own values:
    /// the bootstrap nodes (when it lists any), the RPC endpoint (when it
    /// names one), the deployment (when it names one), the chain id and
    /// the confirmations.
    pub fn apply(&self, file: &mut FileConfig) {
        if !self.bootstrap.is_empty() {
            file.network.bootstrap = self.bootstrap.clone();
        }
        let chain = &mut file.chain;
        if self.rpc.is_some() {
            chain.rpc = self.rpc.clone();
        }
        if let Some(d) = self.deployment_path() {
            chain.deployment = Some(d);
        }
        chain.chain_id = Some(self.chain_id);
        chain.confirmations = self.confirmations;
        file.network_name = Some(self.name.clone());
    }

    /// The profile as TOML (paths as they were given, relative ones too).
    pub fn to_toml(&self) -> Result<String, String> {
        toml::to_string(self).map_err(|e| format!("the profile does not write as TOML: {e}"))
    }

    fn check(&self) -> Result<(), String> {
        if !valid_name(&self.name) {
            return Err(format!(
                "name {:?}: lowercase letters, digits, '-' and '_'",
                self.name
            ));
        }
        if self.chain_id == 0 || self.chain_id > i64::MAX as u64 {
            return Err("chain_id must be above 0 and fit TOML's integers".into());
        }
        if let Some(d) = &self.deployment {
            use std::path::Component;
            let inside = d.components().all(|c| matches!(c, Component::Normal(_)));
            if !inside || d.extension().is_none_or(|e| e != "json") {
                return Err(format!(
                    "deployment {}: a .json file in the profile's directory or below it",
                    d.display()
                ));
            }
        }
        if let Some(rpc) = &self.rpc {
            let known = ["http://", "https://", "ws://", "wss://"];
            if !known.iter().any(|k| rpc.starts_with(k)) {
                return Err(format!("rpc {rpc:?}: an http(s):// or ws(s):// URL"));
            }
        }
        for b in &self.bootstrap {
            let a: libp2p::Multiaddr = b
                .parse()
                .map_err(|e| format!("bootstrap address {b:?}: {e}"))?;
            if !matches!(a.iter().last(), Some(libp2p::multiaddr::Protocol::P2p(_))) {
                return Err(format!("bootstrap address {b} must end in /p2p/<peer id>"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOT: &str =
        "/dns4/boot.example.org/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

    #[test]
    fn the_shipped_amoy_profile_parses_and_names_polygon_amoy() {
        let p = Profile::parse(AMOY, Path::new("/n")).unwrap();
        assert_eq!((p.name.as_str(), p.chain_id), ("amoy", 80002));
        assert_eq!(
            p.deployment_path(),
            Some(PathBuf::from("/n/amoy.deployment.json"))
        );
    }

    #[test]
    fn a_profile_fills_in_what_the_file_leaves_unset_and_no_more() {
        let p = Profile::parse(
            &format!(
                "name = \"x\"\nchain_id = 137\nrpc = \"https://rpc.example\"\nbootstrap = [\"{BOOT}\"]\ndeployment = \"d.json\"\nconfirmations = 5\n"
            ),
            Path::new("/p"),
        )
        .unwrap();
        let mut empty = FileConfig::default();
        p.apply(&mut empty);
        assert_eq!(empty.network.bootstrap, [BOOT]);
        assert_eq!(empty.chain.rpc.as_deref(), Some("https://rpc.example"));
        assert_eq!(empty.chain.deployment, Some(PathBuf::from("/p/d.json")));
        assert_eq!(
            (empty.chain.chain_id, empty.chain.confirmations),
            (Some(137), 5)
        );

        // The profile names a network whole: over the file's own values.
        let mut own = FileConfig::parse(&format!(
            "[network]\nbootstrap = [\"{BOOT}/p2p-circuit\"]\n[chain]\nrpc = \"http://mine:8545\"\ndeployment = \"devnet.json\"\nchain_id = 80002\nconfirmations = 2\n",
        ))
        .unwrap();
        p.apply(&mut own);
        assert_eq!(own.network.bootstrap, [BOOT]);
        assert_eq!(own.chain.rpc.as_deref(), Some("https://rpc.example"));
        assert_eq!(own.chain.deployment, Some(PathBuf::from("/p/d.json")));
        assert_eq!(
            (own.chain.chain_id, own.chain.confirmations),
            (Some(137), 5)
        );
        // What it leaves out, the file keeps.
        let bare = Profile::parse("name = \"y\"\nchain_id = 1\n", Path::new("/p")).unwrap();
        let mut own = FileConfig::parse(
            "[network]\nbootstrap = [\"x\"]\n[chain]\nrpc = \"http://mine:8545\"\n",
        )
        .unwrap();
        bare.apply(&mut own);
        assert_eq!(own.network.bootstrap, ["x"]);
        assert_eq!(own.chain.rpc.as_deref(), Some("http://mine:8545"));
        assert_eq!(own.chain.deployment, None);
    }

    #[test]
    fn bad_profiles_are_refused_with_the_reason() {
        for (text, why) in [
            ("name = \"x\"\nchain_id = 0\n", "chain_id"),
            ("name = \"X Y\"\nchain_id = 1\n", "name"),
            ("name = \"x\"\nchain_id = 1\nrpc = \"ftp://a\"\n", "rpc"),
            (
                "name = \"x\"\nchain_id = 1\nbootstrap = [\"/ip4/1.2.3.4/tcp/1\"]\n",
                "/p2p/",
            ),
            ("name = \"x\"\nchain_id = 1\nextra = 1\n", "unknown field"),
            (
                "name = \"x\"\nchain_id = 1\ndeployment = \"/etc/d.json\"\n",
                "deployment",
            ),
            (
                "name = \"x\"\nchain_id = 1\ndeployment = \"../d.json\"\n",
                "deployment",
            ),
            (
                "name = \"x\"\nchain_id = 1\ndeployment = \"d.toml\"\n",
                "deployment",
            ),
            ("chain_id = 1\n", "name"),
        ] {
            let e = Profile::parse(text, Path::new(".")).unwrap_err();
            assert!(e.contains(why), "{text:?}: {e}");
        }
    }

    #[test]
    fn a_profile_survives_writing_and_reading_back() {
        let p = Profile {
            name: "mine".into(),
            chain_id: 31337,
            rpc: Some("http://127.0.0.1:8545".into()),
            bootstrap: vec![BOOT.into()],
            deployment: Some("mine.deployment.json".into()),
            confirmations: 1,
            base: PathBuf::from("/q"),
        };
        assert_eq!(
            Profile::parse(&p.to_toml().unwrap(), Path::new("/q")).unwrap(),
            p
        );
    }

    #[test]
    fn a_profile_file_resolves_against_its_directory_and_unknown_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("amoy.toml");
        std::fs::write(&own, "name = \"amoy\"\nchain_id = 80002\n").unwrap();
        let p = Profile::read(&own).unwrap();
        assert_eq!(p.base, dir.path());
        assert_eq!(p.deployment_path(), None);
        assert!(matches!(
            Profile::resolve("no such net"),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Profile::resolve("nonesuch"),
            Err(ConfigError::Invalid(m)) if m.contains("devnet")
        ));
    }
}
