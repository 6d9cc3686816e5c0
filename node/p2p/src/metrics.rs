//! Prometheus metrics of a node, served over HTTP at `/metrics`.

use std::net::SocketAddr;
use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
pub use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// Every figure a node exports. Cheap to clone (all handles are shared).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// `cyteria_peers`: connected peers.
    pub peers: Gauge,
    /// `cyteria_matches_started_total`: matches started.
    pub matches_started: Counter,
    /// `cyteria_match_panics_total`: matches that ended on a panic (the
    /// node went on).
    pub match_panics: Counter,
    /// `cyteria_matches_finished_total`: matches finished, by `outcome`.
    pub matches_finished: Family<Labels, Counter>,
    /// `cyteria_frames_total`: frames simulated forward, not counting re-simulation.
    pub frames: Counter,
    /// `cyteria_rollbacks_total`: loads of an earlier state.
    pub rollbacks: Counter,
    /// `cyteria_rollback_depth`: frames re-simulated per rollback.
    pub rollback_depth: Histogram,
    /// `cyteria_stalls_total`: ticks skipped, the prediction window full or waiting for peers.
    pub stalls: Counter,
    /// `cyteria_desyncs_total`: checksum mismatches between peers.
    pub desyncs: Counter,
    /// `cyteria_bytes_total`: bytes sent and received, by `channel` and `direction`.
    pub bytes: Family<Labels, Counter>,
    /// `cyteria_messages_total`: messages accepted, by `channel`.
    pub messages: Family<Labels, Counter>,
    /// `cyteria_rejected_messages_total`: messages rejected, by `channel` and `reason`.
    pub rejected: Family<Labels, Counter>,
    /// `cyteria_lobby_to_first_frame_seconds`: time from first offer to first frame.
    pub lobby_to_first_frame: Histogram,
    /// `cyteria_checkpoints_signed_total`: input-chain checkpoints signed.
    pub checkpoints_signed: Counter,
    /// `cyteria_equivocation_evidence_total`: equivocations detected and stored.
    pub evidence: Counter,
    /// `cyteria_transcripts_verified_total`: transcripts a validator verified.
    pub transcripts_verified: Counter,
    /// `cyteria_verify_seconds`: time to verify one transcript.
    pub verify_seconds: Histogram,
    /// `cyteria_batches_signed_total`: batches this validator signed.
    pub batches_signed: Counter,
    /// `cyteria_batches_settled_total`: batches this validator submitted and the chain settled.
    pub batches_settled: Counter,
    /// `cyteria_batch_submissions_failed_total`: submissions of quorum-signed batches that failed
    /// (refused on chain or not sent); the validator retries, and the next round proposes again.
    pub batch_submissions_failed: Counter,
    /// `cyteria_items_minted_total`: items minted by batches this validator submitted.
    pub items_minted: Counter,
    /// `cyteria_settlement_gas_total`: gas used by this validator's settlement transactions.
    pub settlement_gas: Counter,
    /// `cyteria_equivocations_proven_total`: validator equivocations proved on chain by this one.
    pub equivocations_proven: Counter,
    /// `cyteria_player_bonds_slashed_total`: player bonds slashed by batches this validator settled.
    pub player_bonds_slashed: Counter,
    /// `cyteria_ledger_epoch`: the settled epoch this validator's ledger reflects.
    pub ledger_epoch: Gauge,
    /// `cyteria_transcript_fetches_in_flight`: transcripts a validator is
    /// fetching now (at most its fetch limit, however many are announced).
    pub fetches_in_flight: Gauge,
    /// `cyteria_transcript_verifications_in_flight`: transcripts a validator
    /// is re-simulating now (at most one a core).
    pub verifications_in_flight: Gauge,
    /// `cyteria_relay_limit{limit}`: a relay server's configured limits
    /// (the `[relay]` section; bootstrap nodes only).
    pub relay_limits: Family<Labels, Gauge>,
    /// `cyteria_relay_reservations`: reservations a relay server holds now.
    pub relay_reservations: Gauge,
    /// `cyteria_relay_circuits`: circuits a relay server carries now.
    pub relay_circuits: Gauge,
    /// `cyteria_relay_requests_total{request, outcome}`: reservation and
    /// circuit requests a relay server accepted or denied, and why.
    pub relay_requests: Family<Labels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric at zero, registered under the `cyteria` prefix.
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("cyteria");
        let peers = Gauge::default();
        r.register("peers", "Connected peers", peers.clone());
        let matches_started = Counter::default();
        r.register(
            "matches_started",
            "Matches started",
            matches_started.clone(),
        );
        let match_panics = Counter::default();
        r.register(
            "match_panics",
            "Matches that ended on a panic (the node went on)",
            match_panics.clone(),
        );
        let matches_finished = Family::<Labels, Counter>::default();
        r.register(
            "matches_finished",
            "Matches finished, by how they ended",
            matches_finished.clone(),
        );
        let frames = Counter::default();
        r.register(
            "frames",
            "Frames simulated forward (not counting re-simulation)",
            frames.clone(),
        );
        let rollbacks = Counter::default();
        r.register(
            "rollbacks",
            "Rollbacks (loads of an earlier state)",
            rollbacks.clone(),
        );
        let rollback_depth = Histogram::new([1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0]);
        r.register(
            "rollback_depth",
            "Frames re-simulated per rollback",
            rollback_depth.clone(),
        );
        let stalls = Counter::default();
        r.register(
            "stalls",
            "Ticks skipped: prediction window full or waiting for peers",
            stalls.clone(),
        );
        let desyncs = Counter::default();
        r.register(
            "desyncs",
            "Checksum mismatches between peers",
            desyncs.clone(),
        );
        let bytes = Family::<Labels, Counter>::default();
        r.register(
            "bytes",
            "Bytes sent and received, by channel and direction",
            bytes.clone(),
        );
        let messages = Family::<Labels, Counter>::default();
        r.register(
            "messages",
            "Messages accepted, by channel",
            messages.clone(),
        );
        let rejected = Family::<Labels, Counter>::default();
        r.register(
            "rejected_messages",
            "Messages rejected, by channel and reason",
            rejected.clone(),
        );
        let lobby_to_first_frame = Histogram::new(exponential_buckets(0.05, 2.0, 12));
        r.register(
            "lobby_to_first_frame_seconds",
            "Time from first offer to first frame",
            lobby_to_first_frame.clone(),
        );
        let checkpoints_signed = Counter::default();
        r.register(
            "checkpoints_signed",
            "Input-chain checkpoints signed",
            checkpoints_signed.clone(),
        );
        let evidence = Counter::default();
        r.register(
            "equivocation_evidence",
            "Equivocations detected and stored",
            evidence.clone(),
        );
        let transcripts_verified = Counter::default();
        r.register(
            "transcripts_verified",
            "Transcripts a validator verified (signatures and re-simulation)",
            transcripts_verified.clone(),
        );
        let verify_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        r.register(
            "verify_seconds",
            "Time to verify one transcript",
            verify_seconds.clone(),
        );
        let batches_signed = Counter::default();
        r.register(
            "batches_signed",
            "Batches this validator signed",
            batches_signed.clone(),
        );
        let batches_settled = Counter::default();
        r.register(
            "batches_settled",
            "Batches this validator submitted and the chain settled",
            batches_settled.clone(),
        );
        let batch_submissions_failed = Counter::default();
        r.register(
            "batch_submissions_failed",
            "Submissions of quorum-signed batches that failed",
            batch_submissions_failed.clone(),
        );
        let items_minted = Counter::default();
        r.register(
            "items_minted",
            "Items minted by batches this validator submitted",
            items_minted.clone(),
        );
        let settlement_gas = Counter::default();
        r.register(
            "settlement_gas",
            "Gas used by this validator's settlement transactions",
            settlement_gas.clone(),
        );
        let equivocations_proven = Counter::default();
        r.register(
            "equivocations_proven",
            "Validator equivocations this validator proved on chain",
            equivocations_proven.clone(),
        );
        let player_bonds_slashed = Counter::default();
        r.register(
            "player_bonds_slashed",
            "Player bonds slashed by batches this validator settled",
            player_bonds_slashed.clone(),
        );
        let ledger_epoch = Gauge::default();
        r.register(
            "ledger_epoch",
            "The settled epoch this validator's ledger reflects",
            ledger_epoch.clone(),
        );
        let fetches_in_flight = Gauge::default();
        r.register(
            "transcript_fetches_in_flight",
            "Transcripts being fetched now",
            fetches_in_flight.clone(),
        );
        let verifications_in_flight = Gauge::default();
        r.register(
            "transcript_verifications_in_flight",
            "Transcripts being re-simulated now",
            verifications_in_flight.clone(),
        );
        let relay_limits = Family::<Labels, Gauge>::default();
        r.register(
            "relay_limit",
            "A relay server's configured limits, by name",
            relay_limits.clone(),
        );
        let relay_reservations = Gauge::default();
        r.register(
            "relay_reservations",
            "Reservations a relay server holds now",
            relay_reservations.clone(),
        );
        let relay_circuits = Gauge::default();
        r.register(
            "relay_circuits",
            "Circuits a relay server carries now",
            relay_circuits.clone(),
        );
        let relay_requests = Family::<Labels, Counter>::default();
        r.register(
            "relay_requests",
            "Reservation and circuit requests a relay server answered, by request and outcome",
            relay_requests.clone(),
        );
        Self {
            relay_limits,
            relay_reservations,
            relay_circuits,
            relay_requests,
            fetches_in_flight,
            verifications_in_flight,
            transcripts_verified,
            verify_seconds,
            batches_signed,
            batches_settled,
            batch_submissions_failed,
            items_minted,
            settlement_gas,
            equivocations_proven,
            player_bonds_slashed,
            ledger_epoch,
            registry: Arc::new(r),
            peers,
            matches_started,
            match_panics,
            matches_finished,
            frames,
            rollbacks,
            rollback_depth,
            stalls,
            desyncs,
            bytes,
            messages,
            rejected,
            lobby_to_first_frame,
            checkpoints_signed,
            evidence,
        }
    }

    /// Counts one message rejected on `channel` for `reason`.
    pub fn reject(&self, channel: &'static str, reason: &str) {
        self.rejected
            .get_or_create(&vec![
                ("channel", channel.to_string()),
                ("reason", reason.to_string()),
            ])
            .inc();
    }

    /// Messages rejected on `channel` so far, every reason together.
    pub fn rejected_total(&self, channel: &'static str) -> u64 {
        self.sum(
            "cyteria_rejected_messages_total",
            &format!("channel=\"{channel}\""),
        ) as u64
    }

    /// The sum of every sample of `metric` whose labels contain `labels`
    /// (the family types keep no iterator; the text form is the one source).
    pub fn sum(&self, metric: &str, labels: &str) -> f64 {
        self.render()
            .lines()
            .filter(|l| {
                l.strip_prefix(metric)
                    .is_some_and(|rest| rest.starts_with(['{', ' ']))
                    && l.contains(labels)
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Counts `n` bytes on `channel` in direction `dir`.
    pub fn bytes(&self, channel: &'static str, dir: &'static str, n: usize) {
        self.bytes
            .get_or_create(&vec![
                ("channel", channel.to_string()),
                ("direction", dir.to_string()),
            ])
            .inc_by(n as u64);
    }

    /// Counts one message accepted on `channel`.
    pub fn accepted(&self, channel: &'static str) {
        self.messages
            .get_or_create(&vec![("channel", channel.to_string())])
            .inc();
    }

    /// Counts one match finished with `outcome`.
    pub fn finished(&self, outcome: &str) {
        self.matches_finished
            .get_or_create(&vec![("outcome", outcome.to_string())])
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut s, &self.registry);
        s
    }

    /// Serves `/metrics` on `addr` until the task is dropped; returns the bound address.
    pub async fn serve(
        &self,
        addr: SocketAddr,
    ) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let me = me.clone();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        me.render(),
                    )
                }
            }),
        );
        serve_router(app, addr, "metrics").await
    }
}

/// Binds `addr` and serves `app` on it in a task; returns the bound address.
pub(crate) async fn serve_router(
    app: axum::Router,
    addr: SocketAddr,
    what: &'static str,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, server = what, "HTTP server stopped");
        }
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_are_counted_by_channel_and_reason() {
        let m = Metrics::new();
        m.reject("gossip", "malformed");
        m.reject("gossip", "malformed");
        m.reject("rollback", "oversized");
        assert_eq!(m.rejected_total("gossip"), 2);
        assert_eq!(m.rejected_total("rollback"), 1);
        assert!(m.render().contains(
            "cyteria_rejected_messages_total{channel=\"gossip\",reason=\"malformed\"} 2"
        ));
    }
}
