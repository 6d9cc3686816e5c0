//! The node inside the window. It runs on a tokio runtime of its own, on
//! its own threads, so the window never waits for the network: the window
//! writes the held input into a watch channel and reads the session's last
//! advanced frame from another; the session (ggrs, rollback, signing,
//! transcripts) runs exactly as in a headless node.

use bevy::prelude::*;
use cyteria_game::Input;
use cyteria_node::cli::{self, CommonArgs, NetArgs};
use cyteria_node::net::Role;
use cyteria_node::node::PlayerConfig;
use cyteria_node::session::{ClientLink, InputSource, MatchReport, MatchView, SessionConfig};
use cyteria_node::wire::MatchKind;
use cyteria_wallet::chain_args::{self, ChainArgs};
use tokio::sync::{mpsc, watch};

use crate::wallet::{Trade, WalletTask, WalletView};

/// What the window asks of its node.
#[derive(Debug)]
pub enum Ask {
    /// Search the lobby for one match and play it.
    Search {
        /// Frames of input delay for the match.
        input_delay: usize,
    },
    /// Leave the lobby's search.
    StopSearch,
}

/// What the node tells the window.
#[derive(Clone, Debug, Default)]
pub enum Status {
    /// The node is starting.
    #[default]
    Starting,
    /// Up: its peer id and how many peers it is connected to.
    Ready {
        /// The node's peer id.
        peer_id: String,
        /// Peers it is connected to.
        peers: usize,
    },
    /// Searching the lobby for a match.
    Searching,
    /// In a match.
    Playing,
    /// The match ended, with the session's report.
    Ended(Box<MatchReport>),
    /// The node could not start, and why.
    Failed(String),
}

async fn ready(net: &cyteria_node::net::Net) -> Status {
    Status::Ready {
        peer_id: net.peer_id.to_string(),
        peers: net.connected().await.len(),
    }
}

/// The window's handle on its node.
#[derive(Resource)]
pub struct Online {
    /// What the window asks of the node.
    pub asks: mpsc::UnboundedSender<Ask>,
    /// What the node tells the window.
    pub status: watch::Receiver<Status>,
    /// The session's last advanced frame, while a match runs.
    pub view: watch::Receiver<Option<MatchView>>,
    /// The input held down, which the session reads.
    pub input: watch::Sender<Input>,
    /// Trades for the wallet task, and what it shows.
    pub trades: mpsc::UnboundedSender<Trade>,
    /// What the wallet task shows.
    pub wallet: watch::Receiver<WalletView>,
    /// The node's thread; the runtime stops when `asks` closes.
    _thread: std::thread::JoinHandle<()>,
}

/// Players per match the window searches for.
pub const MATCH_SIZE: u8 = MatchKind::PUBLIC.size;

impl Online {
    /// Starts the node (the data directory's identity, store and config,
    /// the bootstrap nodes given) on its own thread.
    pub fn start(common: CommonArgs, net: NetArgs, chain: ChainArgs) -> Online {
        let (asks, mut asks_rx) = mpsc::unbounded_channel::<Ask>();
        let (trades, trades_rx) = mpsc::unbounded_channel::<Trade>();
        let (wallet_tx, wallet) = watch::channel(WalletView::none("connecting to the chain..."));
        let (status_tx, status) = watch::channel(Status::Starting);
        let (view_tx, view) = watch::channel(None);
        let (input, input_rx) = watch::channel(Input::default());
        let thread = std::thread::Builder::new()
            .name("cy-node".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("cy-node")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        status_tx.send_replace(Status::Failed(e.to_string()));
                        return;
                    }
                };
                rt.block_on(async move {
                    let mut node = match cli::start_with(&common, &net, Role::Player, false).await {
                        Ok((n, _)) => n,
                        Err(e) => {
                            status_tx.send_replace(Status::Failed(format!("{e:#}")));
                            return;
                        }
                    };
                    status_tx.send_replace(ready(node.net()).await);
                    // Matches are agreed from the chain's latest settled
                    // epoch; without a chain, from the genesis beacon.
                    let mut beacon = cyteria_node::beacon::fixed(Default::default());
                    let mut _following = None;
                    match connect_wallet(&common, &chain).await {
                        Ok((chain, signer)) => {
                            match cyteria_wallet::beacon::follow(chain.clone(), std::time::Duration::from_secs(2)).await {
                                Ok((feed, task)) => (beacon, _following) = (feed, Some(task)),
                                Err(e) => tracing::warn!(error = %e, "no beacon from the chain; matches will not be credited"),
                            }
                            let task = WalletTask {
                                ctx: node.ctx.clone(),
                                content: node.content.clone(),
                                chain,
                                signer,
                                data_dir: common.data_dir(),
                            };
                            tokio::spawn(crate::wallet::run(task, trades_rx, wallet_tx));
                        }
                        Err(e) => {
                            wallet_tx.send_replace(WalletView::none(format!("{e:#}")));
                        }
                    }
                    let link = ClientLink {
                        input: input_rx,
                        view: view_tx,
                    };
                    let mut peers_tick = tokio::time::interval(std::time::Duration::from_secs(2));
                    loop {
                        let ask = tokio::select! {
                            a = asks_rx.recv() => a,
                            _ = peers_tick.tick() => {
                                if matches!(*status_tx.borrow(), Status::Ready { .. }) {
                                    status_tx.send_replace(ready(node.net()).await);
                                }
                                continue;
                            }
                        };
                        let Some(ask) = ask else { break };
                        let Ask::Search { input_delay } = ask else {
                            continue;
                        };
                        status_tx.send_replace(Status::Searching);
                        let player = PlayerConfig {
                            kind: MatchKind::PUBLIC,
                            equipment: cyteria_node::node::fixed_equipment(cyteria_game::transcript::Equipment::starter()),
                            // The inventory screen's [E] writes the loadout file.
                            loadout_dir: Some(common.data_dir()),
                            session: SessionConfig {
                                input_delay,
                                ..SessionConfig::default()
                            },
                            source: InputSource::Client(link.clone()),
                            beacon: beacon.clone(),
                        };
                        // A StopSearch (or the window closing) ends the search.
                        let (stop_tx, stop_rx) = watch::channel(false);
                        let mut playing = Box::pin(node.play_matches(&player, Some(1), stop_rx));
                        let reports = loop {
                            tokio::select! {
                                r = &mut playing => break r,
                                a = asks_rx.recv() => {
                                    if matches!(a, None | Some(Ask::StopSearch)) {
                                        let _ = stop_tx.send(true);
                                    }
                                }
                                _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {
                                    if link.view.borrow().is_some()
                                        && matches!(*status_tx.borrow(), Status::Searching)
                                    {
                                        status_tx.send_replace(Status::Playing);
                                    }
                                }
                            }
                        };
                        drop(playing);
                        link.view.send_replace(None);
                        status_tx.send_replace(match reports.into_iter().next() {
                            Some(r) => Status::Ended(Box::new(r)),
                            None => ready(node.net()).await,
                        });
                    }
                    node.net().clone().stop().await;
                });
            })
            .expect("spawning the node's thread");
        Online {
            asks,
            status,
            view,
            input,
            trades,
            wallet,
            _thread: thread,
        }
    }
}

/// The chain and the wallet's key, from the flags or the data directory's
/// config; an error says what is missing.
async fn connect_wallet(
    common: &CommonArgs,
    args: &ChainArgs,
) -> anyhow::Result<(
    cyteria_chain::chain::Chain,
    alloy::signers::local::PrivateKeySigner,
)> {
    let file = common.file()?;
    let chain = chain_args::connect_chain(&file, args).await.map_err(|e| {
        anyhow::anyhow!(
            "{e:#} (the devnet prints the flags that join it: --network, --eth-key-file)"
        )
    })?;
    let signer = chain_args::wallet_key(&file, args)?;
    Ok((chain, signer))
}
