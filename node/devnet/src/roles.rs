//! A tokio runtime per role (players, validators, bootstrap, a hostile node), with named
//! threads, so that the report can say what each role costs: the devnet runs
//! every node in one process, and the kernel counts CPU time per thread.
//! Memory cannot be split this way (the heap is shared); the report gives
//! the process's peak and anvil's.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::runtime::{Handle, Runtime};

/// The roles, by the prefix of their threads' names.
const ROLES: [(&str, &str); 4] = [
    ("cy-player", "players"),
    ("cy-validator", "validators"),
    ("cy-bootstrap", "bootstrap"),
    ("cy-hostile", "hostile"),
];
/// Everything else in the process: the devnet's driver, its chain clients, sled's threads.
const REST: &str = "devnet driver and chain clients";

/// The roles' runtimes, and the CPU time their threads used.
pub struct Roles {
    /// Always `Some` until dropped; a runtime must not be dropped (blocking)
    /// inside the devnet's own async context, so `Drop` lets them go in the
    /// background, also when the devnet ends early with an error.
    runtimes: Option<[Runtime; 4]>,
    cpu: Arc<Mutex<BTreeMap<u32, (String, u64)>>>,
}

fn runtime(name: &str, threads: usize) -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .build()
}

impl Roles {
    /// Starts the runtimes and samples the threads' CPU time every half second (on the current
    /// tokio runtime).
    pub fn new() -> std::io::Result<Self> {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let roles = Roles {
            runtimes: Some([
                runtime(ROLES[0].0, cores)?,
                runtime(ROLES[1].0, cores)?,
                runtime(ROLES[2].0, 1)?,
                runtime(ROLES[3].0, 1)?,
            ]),
            cpu: Default::default(),
        };
        // Threads come and go (tokio's blocking pool); sample them while
        // they live and keep what each used last.
        let cpu = roles.cpu.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                let now = threads();
                let mut seen = cpu.lock().unwrap_or_else(|e| e.into_inner());
                seen.extend(now);
                if Arc::strong_count(&cpu) == 1 {
                    break;
                }
            }
        });
        Ok(roles)
    }

    fn runtime(&self, i: usize) -> &Handle {
        self.runtimes
            .as_ref()
            .map(|r| r[i].handle())
            .expect("runtimes live until the roles are dropped")
    }

    /// The players' runtime.
    pub fn players(&self) -> &Handle {
        self.runtime(0)
    }

    /// The validators' runtime.
    pub fn validators(&self) -> &Handle {
        self.runtime(1)
    }

    /// The bootstrap node's runtime.
    pub fn bootstrap(&self) -> &Handle {
        self.runtime(2)
    }

    /// The runtime of a hostile node (the flood scenario's), one thread:
    /// what it costs itself is counted apart from what it costs the others.
    pub fn hostile(&self) -> &Handle {
        self.runtime(3)
    }

    /// CPU seconds per role so far.
    pub fn cpu_seconds(&self) -> BTreeMap<String, f64> {
        let mut seen = self.cpu.lock().unwrap_or_else(|e| e.into_inner());
        seen.extend(threads());
        let mut out: BTreeMap<String, f64> = BTreeMap::new();
        for (name, ticks) in seen.values() {
            *out.entry(role_of(name).to_string()).or_default() += *ticks as f64 / TICKS_PER_S;
        }
        out
    }
}

impl Drop for Roles {
    /// Stops the runtimes without waiting for their tasks.
    fn drop(&mut self) {
        for r in self.runtimes.take().into_iter().flatten() {
            r.shutdown_background();
        }
    }
}

/// Runs `f`'s future to its end on `runtime`: what it spawns stays there.
/// (Starting a node is not `Send`, rust-ipfs's builder holds it; so it runs
/// on one of the runtime's blocking threads, entered.)
pub async fn start_on<F, Fut, T>(runtime: &Handle, f: F) -> anyhow::Result<T>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
    T: Send + 'static,
{
    let h = runtime.clone();
    runtime.spawn_blocking(move || h.block_on(f())).await?
}

fn role_of(thread: &str) -> &'static str {
    ROLES
        .iter()
        .find(|(prefix, _)| thread.starts_with(prefix))
        .map(|(_, role)| *role)
        .unwrap_or(REST)
}

/// Linux's USER_HZ, which /proc reports times in.
const TICKS_PER_S: f64 = 100.0;

/// `tid → (thread name, utime + stime)` of this process's threads.
fn threads() -> BTreeMap<u32, (String, u64)> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        if let Some(t) = std::fs::read_to_string(e.path().join("stat"))
            .ok()
            .and_then(|s| parse_stat(&s))
        {
            out.insert(tid, t);
        }
    }
    out
}

/// (name, utime + stime) from a /proc stat line: `pid (name) state ...`.
fn parse_stat(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_string();
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // After the name: state is field 3 of the line, utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

/// CPU seconds and peak resident memory of another process (anvil).
pub fn process(pid: u32) -> Option<(f64, f64)> {
    let (_, ticks) = parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm_kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some((ticks as f64 / TICKS_PER_S, hwm_kb / 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_with_spaces_and_parentheses_in_names() {
        let line = "4242 (cy-player (2)) S 1 2 3 4 5 6 7 8 9 10 250 40 0 0 20 0 1 0";
        assert_eq!(parse_stat(line), Some(("cy-player (2)".to_string(), 290)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn threads_are_counted_by_their_role() {
        assert_eq!(role_of("cy-validator"), "validators");
        assert_eq!(role_of("cy-player"), "players");
        assert_eq!(role_of("tokio-runtime-w"), REST);
    }

    #[test]
    fn this_process_and_its_threads_are_read() {
        let me = std::thread::current()
            .name()
            .map(str::to_string)
            .unwrap_or_default();
        let t = threads();
        // The test harness names its threads after the test (cut to 15 bytes).
        assert!(
            t.values().any(|(name, _)| me.starts_with(name.as_str())),
            "{me:?} in {t:?}"
        );
        assert!(process(std::process::id()).is_some_and(|(_, rss)| rss > 0.0));
    }
}
