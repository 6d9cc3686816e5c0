//! `cyteria node`: a headless player node; with `--bot` the core's bot plays its matches.

use cyteria_game::RULES_VERSION;
use cyteria_node::cli::{self, CommonArgs, NetArgs};
use cyteria_node::config::ConfigError;
use cyteria_node::net::Role;
use cyteria_node::node::PlayerConfig;
use cyteria_node::session::InputSource;
use cyteria_node::wire::{MatchKind, Mode};
use cyteria_wallet::chain_args::{ChainArgs, connect_chain};
use tokio::sync::watch;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    net: NetArgs,
    /// With a chain (`--rpc`, `--deployment` and the wallet's key), the node
    /// pins the metadata and sprites of the items the wallet owns, and its
    /// matches are agreed from the chain's latest settled epoch; without
    /// one, from the deployment's genesis, which validators credit only in
    /// its first minutes.
    #[command(flatten)]
    chain: ChainArgs,
    /// Let the core's bot play matches.
    #[arg(long)]
    bot: bool,
    /// Matches to play, then exit (0: until stopped).
    #[arg(long)]
    matches: Option<u32>,
    /// Players per match (1 to 4).
    #[arg(long)]
    players: Option<u8>,
    /// Waves to clear.
    #[arg(long)]
    waves: Option<u8>,
    /// Match time limit in seconds.
    #[arg(long)]
    time_limit_s: Option<u32>,
    /// Wall-clock ticks per second (60 is real time).
    #[arg(long)]
    tick_hz: Option<u32>,
    /// Frames of input delay.
    #[arg(long)]
    input_delay: Option<usize>,
    /// Frames of prediction before the node waits for its peers.
    #[arg(long)]
    max_prediction: Option<usize>,
    /// Link conditioner: added round-trip time in ms.
    #[arg(long)]
    rtt_ms: Option<u32>,
    /// Link conditioner: extra random delay up to this many ms.
    #[arg(long)]
    jitter_ms: Option<u32>,
    /// Link conditioner: fraction of rollback packets lost (0 to 1).
    #[arg(long)]
    loss: Option<f64>,
    /// After the last match (`--matches`), stay online this many seconds
    /// so that validators can fetch its transcript from this node (default:
    /// 60 with a chain, 0 without; Ctrl-C ends it sooner).
    #[arg(long)]
    linger_s: Option<u64>,
}

pub(crate) async fn run(common: &CommonArgs, a: Args) -> anyhow::Result<()> {
    // Check everything before anything starts.
    let file = common.file()?;
    let mut session = file.session.clone();
    session.tick_hz = a.tick_hz.unwrap_or(session.tick_hz);
    session.input_delay = a.input_delay.unwrap_or(session.input_delay);
    session.max_prediction = a.max_prediction.unwrap_or(session.max_prediction);
    session.link.rtt_ms = a.rtt_ms.unwrap_or(session.link.rtt_ms);
    session.link.jitter_ms = a.jitter_ms.unwrap_or(session.link.jitter_ms);
    session.link.loss = a.loss.unwrap_or(session.link.loss);
    session.link.validate().map_err(ConfigError::Invalid)?;
    // ggrs sends each peer a few messages a frame: above 240 ticks a second
    // an honest node would pass its peers' default rollback rate limit.
    if !(1..=240).contains(&session.tick_hz) {
        return Err(ConfigError::Invalid(format!(
            "tick rate {} is outside 1..=240",
            session.tick_hz
        ))
        .into());
    }
    // What every peer's ggrs guard takes from this node (ggrs_guard).
    use cyteria_node::ggrs_guard::{MAX_INPUT_DELAY, MAX_PREDICTION};
    if session.input_delay > MAX_INPUT_DELAY as usize {
        return Err(ConfigError::Invalid(format!(
            "input delay {} is over {MAX_INPUT_DELAY} frames (peers would refuse the inputs)",
            session.input_delay
        ))
        .into());
    }
    if !(1..=MAX_PREDICTION).contains(&session.max_prediction) {
        return Err(ConfigError::Invalid(format!(
            "prediction window {} is outside 1..={MAX_PREDICTION} frames",
            session.max_prediction
        ))
        .into());
    }
    let m = &file.matches;
    let kind = MatchKind {
        mode: Mode::Coop,
        size: a.players.unwrap_or(m.players),
        rules_version: RULES_VERSION,
        waves: a.waves.unwrap_or(m.waves),
        time_limit: a.time_limit_s.unwrap_or(m.time_limit_s).saturating_mul(60),
    };
    MatchKind::check_size(kind.size).map_err(ConfigError::Invalid)?;
    kind.rules()
        .validate()
        .map_err(|e| ConfigError::Invalid(e.into()))?;
    let (mut node, _) = cli::start(common, &a.net, Role::Player).await?;
    let _relays = cli::keep_relays(&node, &file, &a.net)?.map(cli::AbortOnDrop);
    let mut beacon = cyteria_node::beacon::fixed(Default::default());
    let mut _following = None;
    let with_chain = a.chain.rpc.is_some() || file.chain.rpc.is_some();
    // A validator retries a failed fetch after 5, 10 and 20 s: a minute
    // covers its first three tries.
    let linger = a.linger_s.unwrap_or(if with_chain { 60 } else { 0 });
    let _holdings = if with_chain {
        let chain = connect_chain(&file, &a.chain).await?;
        // Offers name the latest settled epoch, so validators can credit the match.
        let (feed, task) =
            cyteria_wallet::beacon::follow(chain.clone(), std::time::Duration::from_secs(2))
                .await?;
        (beacon, _following) = (feed, Some(task));
        let dir = common.data_dir().join("holdings");
        let db = sled::open(&dir).map_err(|e| anyhow::anyhow!("opening {}: {e}", dir.display()))?;
        let owner = chain.address;
        // It also follows the settled wear of the wallet's items, which
        // the loadout reads before every search.
        let h = cyteria_wallet::pinning::Pinner::open(
            node.content.clone(),
            chain,
            db,
            owner,
            std::time::Duration::from_secs(30),
        )?
        .following_wear(&common.data_dir())?;
        tracing::info!(wallet = %owner, "pinning the metadata of the wallet's items");
        Some(cli::AbortOnDrop(tokio::spawn(
            h.run(std::time::Duration::from_secs(15)),
        )))
    } else {
        None
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        cli::stop_signal().await;
        let _ = stop_tx.send(true);
    });
    if a.bot {
        let player = PlayerConfig {
            kind,
            equipment: cyteria_node::node::fixed_equipment(
                cyteria_game::transcript::Equipment::starter(),
            ),
            // `cyteria equip` changes the loadout while the node runs.
            loadout_dir: Some(common.data_dir()),
            session,
            source: InputSource::Bot,
            beacon,
        };
        let matches = a.matches.or(Some(m.matches)).filter(|n| *n > 0);
        let mut stopped = stop_rx.clone();
        let reports = node.play_matches(&player, matches, stop_rx).await;
        for r in &reports {
            println!("match {}", serde_json::to_string(r)?);
        }
        // The announced transcripts live on this node until a validator
        // fetches them: a player who leaves at once (behind NAT, where the
        // other player is the only other copy) leaves its match unsettled.
        // (Only matches every seat signed the end of are announced.)
        let announced = reports
            .iter()
            .any(|r| r.transcript.as_ref().is_some_and(|t| !t.ends.is_empty()));
        if linger > 0 && announced && !*stopped.borrow() {
            tracing::info!(
                seconds = linger,
                "serving the last match's transcript for the validators before leaving (Ctrl-C leaves now)"
            );
            let _ = tokio::time::timeout(std::time::Duration::from_secs(linger), stopped.changed())
                .await;
        }
    } else {
        let mut rx = stop_rx;
        let _ = rx.changed().await;
    }
    node.net().clone().stop().await;
    Ok(())
}
