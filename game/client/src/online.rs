//! The node inside the window. It runs on a tokio runtime of its own, on
//! its own threads, so the window never waits for the network: the window
//! writes the held input into a watch channel and reads the session's last
//! advanced frame from another; the session (ggrs, rollback, signing,
//! transcripts) runs exactly as in a headless node.

use bevy::prelude::*;
use cyteria_game::{Input, RULES_VERSION};
use cyteria_node::cli::{self, CommonArgs, NetArgs};
use cyteria_node::net::Role;
use cyteria_node::node::PlayerConfig;
use cyteria_node::session::{ClientLink, InputSource, MatchReport, MatchView, SessionConfig};
use cyteria_node::wire::{MatchKind, Mode};
use tokio::sync::{mpsc, watch};

/// What the window asks of its node.
#[derive(Debug)]
pub enum Ask {
    /// Search the lobby for one match and play it.
    Search { input_delay: usize },
    /// Leave the lobby's search.
    StopSearch,
}

/// What the node tells the window.
#[derive(Clone, Debug, Default)]
pub enum Status {
    #[default]
    Starting,
    /// Up: its peer id and how many peers it is connected to.
    Ready {
        peer_id: String,
        peers: usize,
    },
    Searching,
    Playing,
    Ended(Box<MatchReport>),
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
    pub asks: mpsc::UnboundedSender<Ask>,
    pub status: watch::Receiver<Status>,
    pub view: watch::Receiver<Option<MatchView>>,
    pub input: watch::Sender<Input>,
    /// The node's thread; the runtime stops when `asks` closes.
    _thread: std::thread::JoinHandle<()>,
}

/// Players per match the window searches for.
pub const MATCH_SIZE: u8 = 2;

impl Online {
    /// Starts the node (the data directory's identity, store and config,
    /// the bootstrap nodes given) on its own thread.
    pub fn start(common: CommonArgs, net: NetArgs) -> Online {
        let (asks, mut asks_rx) = mpsc::unbounded_channel::<Ask>();
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
                            kind: MatchKind {
                                mode: Mode::Coop,
                                size: MATCH_SIZE,
                                rules_version: RULES_VERSION,
                                waves: 3,
                                time_limit: 3 * 60 * 60,
                            },
                            loadout: cyteria_game::crafting::starter_loadout(),
                            session: SessionConfig {
                                input_delay,
                                ..SessionConfig::default()
                            },
                            source: InputSource::Client(link.clone()),
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
            _thread: thread,
        }
    }
}
