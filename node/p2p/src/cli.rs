//! What the `cyteria` and `cyteria-bootstrap` commands share: the common
//! flags, logging, configuration layering and the printed addresses.

use std::path::PathBuf;

use clap::Args;
use libp2p::Multiaddr;

use crate::config::{ConfigError, FileConfig, default_data_dir, multiaddrs, socket_addr};
use crate::identity::Identity;
use crate::metrics::Metrics;
use crate::net::{NetConfig, Role};
use crate::node::Node;
use crate::store::Store;

/// Flags every node command takes.
#[derive(Args, Clone, Debug)]
pub struct CommonArgs {
    /// The node's data directory (key, store, content).
    #[arg(long, env = "CYTERIA_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// A TOML config file (default: `<data dir>/cyteria.toml` when it exists).
    #[arg(long, env = "CYTERIA_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// The network to join: `devnet`, `amoy`, a profile named in
    /// `~/.cyteria/networks/`, or a profile file. Its bootstrap nodes,
    /// chain and deployment replace the config file's; flags replace both.
    #[arg(long, env = "CYTERIA_NETWORK", global = true)]
    pub network: Option<String>,
    /// Log filter, e.g. `info` or `cyteria_node=debug`.
    #[arg(
        long,
        env = "CYTERIA_LOG",
        default_value = "info,connexa=warn,connexa::task::swarm=off,rust_ipfs=warn",
        global = true
    )]
    pub log: String,
}

/// Network flags; each overrides the config file.
#[derive(Args, Clone, Debug, Default)]
pub struct NetArgs {
    /// Listen address (repeatable).
    #[arg(long, env = "CYTERIA_LISTEN", value_delimiter = ',')]
    pub listen: Vec<Multiaddr>,
    /// Bootstrap node, ending in `/p2p/<peer id>` (repeatable).
    #[arg(long, env = "CYTERIA_BOOTSTRAP", value_delimiter = ',')]
    pub bootstrap: Vec<Multiaddr>,
    /// Serve Prometheus metrics on host:port (port 0 picks one).
    #[arg(long, env = "CYTERIA_METRICS")]
    pub metrics: Option<String>,
    /// Serve the read-only IPFS gateway on host:port (default 127.0.0.1:8080; "off" for none).
    #[arg(long, env = "CYTERIA_GATEWAY")]
    pub gateway: Option<String>,
}

/// Gossips `data` on `topic` until a peer takes it (a node that just
/// started needs a moment to learn its peers' subscriptions).
pub async fn publish_when_heard(
    net: &crate::net::Net,
    topic: &str,
    data: Vec<u8>,
    within: std::time::Duration,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match net.publish(topic, data.clone()).await {
            Ok(()) => {
                // Let the message leave before the node stops.
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                return Ok(());
            }
            Err(e) if tokio::time::Instant::now() >= deadline => {
                anyhow::bail!("no peer took the message: {e}")
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(250)).await,
        }
    }
}

impl CommonArgs {
    /// The data directory given (flag or `CYTERIA_DATA_DIR`), else `~/.cyteria`.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(default_data_dir)
    }

    /// Loads the config file given, else the data directory's when it
    /// exists, else defaults; then the network profile's values where the
    /// file left them unset.
    pub fn file(&self) -> Result<FileConfig, ConfigError> {
        let mut file = FileConfig::load(self.config.as_deref(), &self.data_dir())?;
        if let Some(p) = self.profile()? {
            p.apply(&mut file);
        }
        Ok(file)
    }

    /// The network profile `--network` names, if any.
    pub fn profile(&self) -> Result<Option<crate::profile::Profile>, ConfigError> {
        self.network
            .as_deref()
            .map(crate::profile::Profile::resolve)
            .transpose()
    }
}

/// Runs a command's body on a tokio runtime with logging set up, and turns
/// its result into the exit status: 0, 2 for bad configuration, 1 otherwise.
pub fn main_with<F>(log: &str, body: F) -> std::process::ExitCode
where
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    init_tracing(log);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(body) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<ConfigError>().is_some() {
                std::process::ExitCode::from(2)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}

/// Sends logs filtered by `filter` (else `info`, when it does not parse) to stderr; once only.
pub fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The swarm configuration from the file and the flags.
pub fn net_config(
    file: &FileConfig,
    args: &NetArgs,
    role: Role,
    data_dir: &std::path::Path,
) -> Result<NetConfig, ConfigError> {
    let mut c = NetConfig::loopback(role);
    c.listen = if args.listen.is_empty() {
        multiaddrs(&file.network.listen, "listen")?
    } else {
        args.listen.clone()
    };
    c.bootstrap = bootstrap_addresses(file, args)?;
    for b in &c.bootstrap {
        if !matches!(b.iter().last(), Some(libp2p::multiaddr::Protocol::P2p(_))) {
            return Err(ConfigError::Invalid(format!(
                "bootstrap address {b} must end in /p2p/<peer id>"
            )));
        }
    }
    if c.listen.is_empty() {
        return Err(ConfigError::Invalid(
            "at least one listen address is needed".into(),
        ));
    }
    c.max_connections = file.network.max_connections;
    c.limits = file.limits;
    c.relay = file.relay;
    c.external = multiaddrs(&file.network.external, "external")?;
    if let Some(a) = c.external.iter().find(|a| crate::net::dns::is_dns(a)) {
        return Err(ConfigError::Invalid(format!(
            "external address {a} must name an IP address: peers are handed it as it is"
        )));
    }
    c.behaviour.dht_server = file.network.dht_server || role == Role::Bootstrap;
    c.repo = Some(data_dir.join("ipfs"));
    Ok(c)
}

/// The bootstrap nodes: the flags', else the config file's.
pub fn bootstrap_addresses(
    file: &FileConfig,
    args: &NetArgs,
) -> Result<Vec<Multiaddr>, ConfigError> {
    if args.bootstrap.is_empty() {
        multiaddrs(&file.network.bootstrap, "bootstrap")
    } else {
        Ok(args.bootstrap.clone())
    }
}

/// Keeps a circuit on two of the bootstrap nodes' relays when the config
/// asks for it (`[network] relay`, on by default), so that a player behind
/// NAT is reached through the relay and then hole-punches a direct
/// connection. For `cyteria node`, not the one-shot commands.
pub fn keep_relays(
    node: &Node,
    file: &FileConfig,
    args: &NetArgs,
) -> Result<Option<tokio::task::JoinHandle<()>>, ConfigError> {
    let relays = bootstrap_addresses(file, args)?;
    Ok((file.network.relay && !relays.is_empty()).then(|| node.net().keep_reservations(relays)))
}

/// Starts a node in `data_dir`: key, store, swarm, metrics, gateway. Prints
/// the peer id, the listen addresses, the metrics and gateway addresses on stdout.
pub async fn start(
    common: &CommonArgs,
    net: &NetArgs,
    role: Role,
) -> anyhow::Result<(Node, FileConfig)> {
    start_with(common, net, role, true).await
}

/// [`start`], printing nothing when `announce` is false (for commands whose stdout is data).
pub async fn start_with(
    common: &CommonArgs,
    net: &NetArgs,
    role: Role,
    announce: bool,
) -> anyhow::Result<(Node, FileConfig)> {
    let file = common.file()?;
    let data_dir = common.data_dir();
    let mut cfg = net_config(&file, net, role, &data_dir)?;
    let metrics_addr = match net.metrics.as_ref().or(file.network.metrics.as_ref()) {
        Some(s) => Some(socket_addr(s, "metrics address")?),
        None => None,
    };
    let (identity, created) = Identity::load_or_create(&data_dir)?;
    if created {
        tracing::info!(dir = %data_dir.display(), "created a new identity");
    }
    let store = Store::open(&data_dir.join("store"))
        .map_err(|e| anyhow::anyhow!("{e} (is another node using {}?)", data_dir.display()))?;
    let metrics = Metrics::new();
    let bootstrap = std::mem::take(&mut cfg.bootstrap);
    let gateway_addr = match net.gateway.as_ref().or(file.network.gateway.as_ref()) {
        Some(s) if s != "off" && role != Role::Bootstrap => {
            Some(socket_addr(s, "gateway address")?)
        }
        _ => None,
    };
    let mut node = Node::builder(cfg)
        .identity(identity)
        .store(store)
        .metrics(metrics.clone())
        .start()
        .await?;
    // The bootstrap list was taken out of the config above (dialed below,
    // where a failure is a warning): the content's relays come from it here.
    let relays = crate::net::dns::relays(&bootstrap).await;
    node.content = node.content.clone().with_relays(relays);
    if announce {
        println!("peer id {}", node.net().peer_id);
        for a in node.net().addresses().await {
            println!("listen {a}");
        }
    }
    if let Some(addr) = metrics_addr {
        let (bound, _task) = metrics.serve(addr).await?;
        if announce {
            println!("metrics http://{bound}/metrics");
        }
    }
    if let Some(addr) = gateway_addr {
        // Another local node may hold the port: the gateway is a convenience, not a reason to stop.
        match crate::gateway::serve(node.content.clone(), addr).await {
            Ok((bound, _task)) if announce => println!("gateway http://{bound}/ipfs/"),
            Ok(_) => {}
            Err(e) => tracing::warn!(%addr, error = %e, "IPFS gateway not served"),
        }
    }
    for b in &bootstrap {
        if let Err(e) = node.net().add_bootstrap(b.clone()).await {
            tracing::warn!(error = %e, "bootstrap node unreachable");
        }
    }
    Ok((node, file))
}

/// Stops a background task when the handle drops (the command or the
/// round that started it ends).
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let t = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => futures::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = t => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs a bootstrap node until stopped: DHT server, relay v2 server,
/// AutoNAT server, identify, gossip relay. `cyteria bootstrap` and the
/// `cyteria-bootstrap` binary both run this.
pub async fn run_bootstrap(common: &CommonArgs, net: &NetArgs) -> anyhow::Result<()> {
    let (node, _) = start(common, net, Role::Bootstrap).await?;
    let net = node.net().clone();
    let mut report = tokio::time::interval(std::time::Duration::from_secs(30));
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = report.tick() => {
                tracing::info!(peers = net.connected().await.len(), "bootstrap node serving");
            }
        }
    }
    net.stop().await;
    Ok(())
}
