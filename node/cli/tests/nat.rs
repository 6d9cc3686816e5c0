//! Players behind home routers. Each test builds its own Internet in Linux
//! network namespaces: a bridge for the public segment (7.0.N.0/24, an
//! address block no test host routes to), a bootstrap node (relay, AutoNAT,
//! DHT) in a namespace on it, and each private player in a namespace of its
//! own behind a router namespace that masquerades with nftables and, as a
//! home router does, drops connections the inside did not start. The test
//! host itself joins the segment at 7.0.N.1 where a test needs validators
//! and a chain. Everything the test creates is removed when it ends; where
//! namespaces cannot be created (not root, no `ip`/`nft`) the test says so
//! and passes without running.
//!
//! Each case prints its figures (first frame, path, rollbacks, bandwidth)
//! for docs/performance.md.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_cyteria");

/// How a router maps its inside's ports.
#[derive(Clone, Copy, PartialEq)]
enum Nat {
    /// Keeps the inside's source port where it can (Linux masquerade's
    /// default): endpoint-independent mapping, which hole punching needs.
    PortPreserving,
    /// A fresh random port for every connection: endpoint-dependent
    /// ("symmetric") mapping, where hole punching fails.
    Symmetric,
}

/// The namespaces of one test, removed on drop.
struct Lab {
    /// The public segment's third octet, and the namespaces' prefix.
    net: u8,
    namespaces: Vec<String>,
}

fn sh(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", args[0]))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn nft(ns: &str, rules: &str) -> Result<(), String> {
    use std::io::Write;
    let mut c = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("nft: {e}"))?;
    c.stdin
        .take()
        .expect("piped")
        .write_all(rules.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = c.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("nft: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

impl Lab {
    /// The segment 7.0.`net`.0/24 with its bridge; `None` (after saying
    /// why) where this machine cannot build namespaces.
    fn new(net: u8) -> Option<Lab> {
        let mut lab = Lab {
            net,
            namespaces: vec![],
        };
        // What a crashed earlier run left.
        for n in ["pub", "b", "r1", "p1", "r2", "p2", "p3"] {
            let _ = sh(&["ip", "netns", "del", &lab.name(n)]);
        }
        let _ = sh(&["ip", "link", "del", &format!("cy{net}host")]);
        let built = (|| {
            let pub_ns = lab.add("pub")?;
            sh(&["ip", "-n", &pub_ns, "link", "add", "br0", "type", "bridge"])?;
            sh(&["ip", "-n", &pub_ns, "link", "set", "br0", "up"])?;
            Command::new("nft")
                .arg("--version")
                .output()
                .map_err(|e| format!("nft: {e}"))?;
            Ok::<_, String>(())
        })();
        match built {
            Ok(()) => Some(lab),
            Err(e) => {
                eprintln!(
                    "SKIPPED: network namespaces cannot be built here ({e}); run the tests as root with iproute2 and nftables (`make test` installs them)"
                );
                None
            }
        }
    }

    fn name(&self, n: &str) -> String {
        format!("cy{}{n}", self.net)
    }

    fn add(&mut self, n: &str) -> Result<String, String> {
        let name = self.name(n);
        sh(&["ip", "netns", "add", &name])?;
        self.namespaces.push(name.clone());
        sh(&["ip", "-n", &name, "link", "set", "lo", "up"])?;
        Ok(name)
    }

    /// The public segment's address `host`.
    fn ip(&self, host: u8) -> String {
        format!("7.0.{}.{host}", self.net)
    }

    /// Plugs interface `dev` of namespace `ns` (`None`: this host) into the
    /// public segment at address `host`.
    fn plug(&self, ns: Option<&str>, dev: &str, host: u8) -> Result<(), String> {
        let pub_ns = self.name("pub");
        let port = format!("{dev}p");
        sh(&[
            "ip", "link", "add", dev, "type", "veth", "peer", "name", &port,
        ])?;
        sh(&["ip", "link", "set", &port, "netns", &pub_ns])?;
        sh(&["ip", "-n", &pub_ns, "link", "set", &port, "master", "br0"])?;
        sh(&["ip", "-n", &pub_ns, "link", "set", &port, "up"])?;
        let cidr = format!("{}/24", self.ip(host));
        match ns {
            Some(ns) => {
                sh(&["ip", "link", "set", dev, "netns", ns])?;
                sh(&["ip", "-n", ns, "addr", "add", &cidr, "dev", dev])?;
                sh(&["ip", "-n", ns, "link", "set", dev, "up"])
            }
            None => {
                sh(&["ip", "addr", "add", &cidr, "dev", dev])?;
                sh(&["ip", "link", "set", dev, "up"])
            }
        }
    }

    /// A namespace on the public segment at `host` (no NAT).
    fn public(&mut self, n: &str, host: u8) -> String {
        let ns = self.add(n).unwrap();
        self.plug(Some(&ns), &format!("cy{}{n}", self.net), host)
            .unwrap();
        ns
    }

    /// This host on the public segment at 7.0.N.1 (for validators and the chain).
    fn host_on_segment(&self) {
        self.plug(None, &format!("cy{}host", self.net), 1).unwrap();
    }

    /// Player namespace `pI` behind router namespace `rI` (its WAN address
    /// 7.0.N.1I on the segment, its LAN 192.168.I.0/24), mapping with `nat`.
    fn behind_nat(&mut self, i: u8, nat: Nat) -> String {
        let r = self.add(&format!("r{i}")).unwrap();
        let p = self.add(&format!("p{i}")).unwrap();
        let wan = format!("cy{}w{i}", self.net);
        self.plug(Some(&r), &wan, 10 + i).unwrap();
        let (lan, eth) = (format!("cy{}l{i}", self.net), format!("cy{}e{i}", self.net));
        sh(&[
            "ip", "link", "add", &lan, "type", "veth", "peer", "name", &eth,
        ])
        .unwrap();
        sh(&["ip", "link", "set", &lan, "netns", &r]).unwrap();
        sh(&["ip", "link", "set", &eth, "netns", &p]).unwrap();
        let gw = format!("192.168.{i}.1");
        sh(&[
            "ip",
            "-n",
            &r,
            "addr",
            "add",
            &format!("{gw}/24"),
            "dev",
            &lan,
        ])
        .unwrap();
        sh(&["ip", "-n", &r, "link", "set", &lan, "up"]).unwrap();
        let inside = format!("192.168.{i}.2/24");
        sh(&["ip", "-n", &p, "addr", "add", &inside, "dev", &eth]).unwrap();
        sh(&["ip", "-n", &p, "link", "set", &eth, "up"]).unwrap();
        sh(&["ip", "-n", &p, "route", "add", "default", "via", &gw]).unwrap();
        sh(&[
            "ip",
            "netns",
            "exec",
            &r,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
        ])
        .unwrap();
        let mapping = match nat {
            Nat::PortPreserving => "",
            Nat::Symmetric => "random,fully-random",
        };
        nft(
            &r,
            &format!(
                "table ip nat {{
                   chain post {{ type nat hook postrouting priority 100; oifname \"{wan}\" masquerade {mapping}; }}
                 }}
                 table ip filter {{
                   chain input {{ type filter hook input priority 0; iifname \"{wan}\" ct state new drop; }}
                   chain forward {{ type filter hook forward priority 0; iifname \"{wan}\" ct state new drop; }}
                 }}"
            ),
        )
        .unwrap();
        p
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace deletes its interfaces and their veth peers.
        for ns in self.namespaces.iter().rev() {
            let _ = sh(&["ip", "netns", "del", ns]);
        }
        let _ = sh(&["ip", "link", "del", &format!("cy{}host", self.net)]);
    }
}

/// A process, killed on drop, whose stdout lines arrive on a channel.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    /// `cyteria args…` in namespace `ns`.
    fn spawn(ns: &str, args: &[&str], env: &[(&str, String)]) -> Proc {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, EXE])
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c.spawn().unwrap();
        // What it prints and what it logs, line by line, on one channel.
        let (tx, lines) = mpsc::channel();
        let out: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().unwrap());
        let err: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().unwrap());
        for pipe in [out, err] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for l in BufReader::new(pipe).lines() {
                    let Ok(l) = l else { break };
                    if tx.send(l).is_err() {
                        break;
                    }
                }
            });
        }
        Proc { child, lines }
    }

    /// The first line `f` takes, within `secs`.
    fn wait_for<T>(&self, what: &str, secs: u64, mut f: impl FnMut(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut last = std::collections::VecDeque::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    if let Some(t) = f(&l) {
                        return t;
                    }
                    if last.len() == 12 {
                        last.pop_front();
                    }
                    last.push_back(l);
                }
                Err(_) => panic!(
                    "no {what} within {secs} s; its last lines:\n{}",
                    Vec::from(last).join("\n")
                ),
            }
        }
    }

    /// The last `n` lines it printed and logged that no wait took.
    fn tail(&self, n: usize) -> String {
        let lines: Vec<String> = self.lines.try_iter().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The match report a `cyteria node --matches 1` prints.
    fn report(&self, secs: u64) -> serde_json::Value {
        self.wait_for("match report", secs, |l| {
            l.strip_prefix("match ")
                .and_then(|j| serde_json::from_str(j).ok())
        })
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bootstrap node in namespace `b` at 7.0.N.2, ports 4001 (TCP and
/// QUIC), metrics on port 9100, keeping its key in `dir`; returns it and
/// its TCP address.
fn bootstrap(lab: &Lab, dir: &std::path::Path) -> (Proc, String) {
    let ip = lab.ip(2);
    let listen = format!("/ip4/{ip}/tcp/4001,/ip4/{ip}/udp/4001/quic-v1");
    let metrics = format!("{ip}:9100");
    let p = Proc::spawn(
        &lab.name("b"),
        &[
            "--data-dir",
            dir.to_str().unwrap(),
            "bootstrap",
            "--listen",
            &listen,
            "--metrics",
            &metrics,
        ],
        &[],
    );
    let addr = p.wait_for("bootstrap address", 30, |l| {
        l.strip_prefix("listen ")
            .filter(|a| a.contains("/tcp/"))
            .map(str::to_string)
    });
    (p, addr)
}

/// A bot player in namespace `ns` playing one short match.
fn player(ns: &str, dir: &std::path::Path, boot: &str, env: &[(&str, String)]) -> Proc {
    Proc::spawn(
        ns,
        &[
            "--data-dir",
            dir.to_str().unwrap(),
            "node",
            "--bot",
            "--matches",
            "1",
            "--waves",
            "1",
            "--time-limit-s",
            "15",
            "--gateway",
            "off",
            "--bootstrap",
            boot,
        ],
        env,
    )
}

/// Checks a finished match's report and prints its figures.
fn figures(case: &str, seat: &str, r: &serde_json::Value) {
    assert_eq!(r["ending"], "Finished", "{case} {seat}: {r}");
    assert_eq!(r["desyncs"], 0, "{case} {seat}: {r}");
    let secs = r["duration_ms"].as_u64().unwrap_or(0) as f64 / 1000.0;
    let kib_s = |b: &serde_json::Value| b.as_u64().unwrap_or(0) as f64 / 1024.0 / secs.max(0.001);
    eprintln!(
        "FIGURES {case} {seat}: first frame {} ms after the search began, path {} (direct over {}), {} frames, {} rollbacks (deepest {}), {} stalls, {:.1} KiB/s out, {:.1} KiB/s in",
        r["lobby_to_first_frame_ms"],
        r["paths"],
        r["transports"],
        r["frames"],
        r["rollbacks"],
        r["max_rollback_depth"],
        r["stalls"],
        kib_s(&r["bytes_sent"]),
        kib_s(&r["bytes_received"]),
    );
}

fn paths(r: &serde_json::Value) -> Vec<String> {
    r["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_players_behind_port_preserving_nats_hole_punch_play_and_settle() {
    use cyteria_chain::anvil::LocalChain;
    // `RUST_LOG=cyteria_validator=info cargo test …` shows what the validators do.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let Some(mut lab) = Lab::new(1) else { return };
    lab.public("b", 2);
    lab.host_on_segment();
    let p1 = lab.behind_nat(1, Nat::PortPreserving);
    let p2 = lab.behind_nat(2, Nat::PortPreserving);
    let dir = tempfile::tempdir().unwrap();
    let (bootp, boot) = bootstrap(&lab, &dir.path().join("boot"));

    // The chain on this host, reached by the players through a forwarder on
    // the segment; two validators on the segment.
    let stake = alloy::primitives::U256::from(1_000u64)
        * alloy::primitives::U256::from(10u64).pow(alloy::primitives::U256::from(18));
    let chain = LocalChain::start_with_validators(2, stake, 60)
        .await
        .unwrap();
    let rpc = forward(&lab.ip(1), &chain.endpoint()).await;
    let deployment = dir.path().join("deployment.json");
    std::fs::write(
        &deployment,
        serde_json::to_string(&chain.deployment).unwrap(),
    )
    .unwrap();
    let mut vals = vec![];
    for i in [1, 2] {
        let setup = cyteria_validator::localnet::ValidatorSetup::ephemeral(
            vec![boot.parse().unwrap()],
            fast_validator(),
        )
        .unwrap();
        vals.push(
            cyteria_validator::localnet::start_validator_listening(
                vec![format!("/ip4/{}/tcp/0", lab.ip(1)).parse().unwrap()],
                chain.endpoint(),
                chain.keys[i].clone(),
                chain.deployment,
                setup,
            )
            .await
            .unwrap(),
        );
    }

    let env = |key: usize| {
        vec![
            ("CYTERIA_ETH_KEY", chain.keys[key].to_bytes().to_string()),
            ("CYTERIA_RPC", rpc.clone()),
            (
                "CYTERIA_DEPLOYMENT",
                deployment.to_str().unwrap().to_string(),
            ),
        ]
    };
    let a = player(&p1, &dir.path().join("p1"), &boot, &env(4));
    let b = player(&p2, &dir.path().join("p2"), &boot, &env(5));
    // (Each stays online after its match, serving the transcript: with a
    // chain `cyteria node --matches 1` lingers 60 s by default.)
    // The players are handed back: dropping one kills its process, and the
    // validators fetch the transcript from them after the reports.
    let (a, b, ra, rb) = tokio::task::spawn_blocking(move || {
        let (ra, rb) = (a.report(180), b.report(180));
        (a, b, ra, rb)
    })
    .await
    .unwrap();
    figures("port-preserving NAT pair", "p1", &ra);
    figures("port-preserving NAT pair", "p2", &rb);
    assert_eq!(paths(&ra), ["direct"], "hole punched: {ra}");
    assert_eq!(paths(&rb), ["direct"], "hole punched: {rb}");
    assert_eq!(ra["final_checksum"], rb["final_checksum"]);

    // The validators on the segment fetch the transcript from behind the
    // NATs and settle the match.
    let id: [u8; 32] = *blake3::Hash::from_hex(ra["match_id"].as_str().unwrap())
        .unwrap()
        .as_bytes();
    let reported = Instant::now();
    let deadline = reported + Duration::from_secs(120);
    while !vals
        .iter()
        .all(|v| v.handle.ledger.borrow().1.credited.contains(&id))
    {
        assert!(
            Instant::now() < deadline,
            "the match played behind NATs did not settle; the relay's last lines:\n{}\np1's:\n{}\np2's:\n{}",
            bootp.tail(40),
            a.tail(40),
            b.tail(40),
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!(
        "FIGURES port-preserving NAT pair: credited by both validators {} ms after the reports",
        reported.elapsed().as_millis()
    );
    for v in vals {
        v.shut_down().await;
    }
}

/// Hole punching over QUIC: players that listen on QUIC alone reserve
/// their circuits over QUIC, learn their QUIC mappings, and punch a QUIC
/// connection (a UDP mapping, not a TCP simultaneous open).
#[test]
fn two_players_listening_on_quic_alone_hole_punch_over_quic() {
    let Some(mut lab) = Lab::new(5) else { return };
    lab.public("b", 2);
    let p1 = lab.behind_nat(1, Nat::PortPreserving);
    let p2 = lab.behind_nat(2, Nat::PortPreserving);
    let dir = tempfile::tempdir().unwrap();
    let (_boot, boot) = bootstrap(&lab, &dir.path().join("boot"));
    let boot = boot.replace("/tcp/4001/", "/udp/4001/quic-v1/");
    let quic = [("CYTERIA_LISTEN", "/ip4/0.0.0.0/udp/0/quic-v1".to_string())];
    let a = player(&p1, &dir.path().join("p1"), &boot, &quic);
    let b = player(&p2, &dir.path().join("p2"), &boot, &quic);
    let (ra, rb) = (a.report(180), b.report(180));
    figures("QUIC only, port-preserving NAT pair", "p1", &ra);
    figures("QUIC only, port-preserving NAT pair", "p2", &rb);
    for r in [&ra, &rb] {
        assert_eq!(paths(r), ["direct"], "hole punched: {r}");
        assert_eq!(r["transports"], serde_json::json!(["quic"]), "{r}");
    }
    assert_eq!(ra["final_checksum"], rb["final_checksum"]);
}

#[test]
fn a_player_behind_a_symmetric_nat_plays_over_the_relay() {
    let Some(mut lab) = Lab::new(2) else { return };
    lab.public("b", 2);
    lab.host_on_segment();
    let p1 = lab.behind_nat(1, Nat::PortPreserving);
    let p2 = lab.behind_nat(2, Nat::Symmetric);
    let dir = tempfile::tempdir().unwrap();
    let (_boot, boot) = bootstrap(&lab, &dir.path().join("boot"));
    let a = player(&p1, &dir.path().join("p1"), &boot, &[]);
    let b = player(&p2, &dir.path().join("p2"), &boot, &[]);

    // While the match runs, the relay holds the players' reservations and
    // carries their circuit. (Without a chain the players leave as soon as
    // the match ends, taking their reservations with them, so this is read
    // now and not after the reports.)
    let relay_metrics = format!("{}:9100", lab.ip(2));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let m = scrape(&relay_metrics);
        if metric(&m, "cyteria_relay_reservations") >= 1.0
            && metric(&m, "cyteria_relay_circuits") >= 1.0
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the relay never carried a circuit:\n{m}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let (ra, rb) = (a.report(180), b.report(180));
    figures("symmetric NAT", "p1", &ra);
    figures("symmetric NAT", "p2", &rb);
    assert_eq!(
        paths(&ra),
        ["relayed"],
        "no hole through a symmetric NAT: {ra}"
    );
    assert_eq!(paths(&rb), ["relayed"], "{rb}");
    assert_eq!(ra["final_checksum"], rb["final_checksum"]);

    // The relay's metrics show its limits and what it carried.
    let m = scrape(&relay_metrics);
    let value = |series: &str| metric(&m, series);
    assert_eq!(value("cyteria_relay_limit{limit=\"max_circuits\"}"), 64.0);
    assert_eq!(
        value("cyteria_relay_limit{limit=\"max_circuit_bytes\"}"),
        (64u64 << 20) as f64
    );
    assert!(
        value("cyteria_relay_requests_total{request=\"circuit\",outcome=\"accepted\"}") >= 1.0,
        "{m}"
    );
    assert!(
        value("cyteria_relay_requests_total{request=\"reservation\",outcome=\"accepted\"}") >= 2.0,
        "{m}"
    );
}

/// The value of one series in a Prometheus text; panics if it is missing.
fn metric(m: &str, series: &str) -> f64 {
    m.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{m}"))
}

/// The Prometheus text a node serves at `addr` (host:port).
fn scrape(addr: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn a_public_player_and_a_private_player_play_directly() {
    let Some(mut lab) = Lab::new(3) else { return };
    lab.public("b", 2);
    let public = lab.public("p3", 20);
    let private = lab.behind_nat(1, Nat::PortPreserving);
    let dir = tempfile::tempdir().unwrap();
    let (_boot, boot) = bootstrap(&lab, &dir.path().join("boot"));
    let a = player(&public, &dir.path().join("p3"), &boot, &[]);
    let b = player(&private, &dir.path().join("p1"), &boot, &[]);
    let (ra, rb) = (a.report(180), b.report(180));
    figures("public and private", "public", &ra);
    figures("public and private", "private", &rb);
    assert_eq!(paths(&ra), ["direct"], "{ra}");
    assert_eq!(paths(&rb), ["direct"], "{rb}");
    assert_eq!(ra["final_checksum"], rb["final_checksum"]);

    // `cyteria doctor` on each side says which it is, in words: the
    // public node confirmed dialable by the bootstrap node's AutoNAT v2
    // server (which dialed it back), the private one reachable through its
    // circuit on that relay.
    let doctor = |ns: &str, data: &str| {
        let dir = dir.path().join(data);
        let out = Command::new("ip")
            .args(["netns", "exec", ns, EXE, "--data-dir"])
            .arg(&dir)
            .args(["doctor", "--wait-s", "30", "--gateway", "off"])
            .args(["--bootstrap", &boot])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let (public_says, private_says) = std::thread::scope(|s| {
        let a = s.spawn(|| doctor(&public, "doctor-public"));
        let b = s.spawn(|| doctor(&private, "doctor-private"));
        (a.join().unwrap(), b.join().unwrap())
    });
    eprintln!("DOCTOR public:\n{public_says}\nDOCTOR private:\n{private_says}");
    assert!(
        public_says.starts_with(&format!(
            "Reachable: others can dial this node directly at /ip4/{}/",
            lab.ip(20)
        )) && public_says.contains("an AutoNAT server dialed it back"),
        "{public_says}"
    );
    // Found reachable, it gave its relay circuit up.
    assert!(
        public_says.contains("Relay circuits: none held, and none needed."),
        "{public_says}"
    );
    assert!(
        private_says.starts_with("Reachable through a relay")
            && private_says.contains(&format!("/ip4/{}/", lab.ip(2))),
        "{private_says}"
    );
    for says in [&public_says, &private_says] {
        assert!(says.contains("Bootstrap nodes: 1 of 1 reached"), "{says}");
        // Peers hear of no LAN or loopback address, only what they can
        // dial: the public node's confirmed address, the private one's
        // circuit.
        let told = says
            .lines()
            .find_map(|l| l.split_once("Peers are told of ").map(|(_, t)| t))
            .unwrap_or_else(|| panic!("no advertised addresses in\n{says}"));
        assert!(
            !told.contains("/ip4/192.168.") && !told.contains("/ip4/127."),
            "{says}"
        );
    }
    assert!(
        private_says.lines().any(
            |l| l.contains(&format!("Peers are told of /ip4/{}/", lab.ip(2)))
                && l.contains("/p2p-circuit")
        ),
        "{private_says}"
    );
}

#[test]
fn players_reserve_again_when_the_relay_restarts_mid_lobby_and_still_meet() {
    let Some(mut lab) = Lab::new(4) else { return };
    lab.public("b", 2);
    let p1 = lab.behind_nat(1, Nat::PortPreserving);
    let p2 = lab.behind_nat(2, Nat::Symmetric);
    let dir = tempfile::tempdir().unwrap();
    let boot_dir = dir.path().join("boot");
    let (first, boot) = bootstrap(&lab, &boot_dir);
    // The first player reserves its circuit and searches alone.
    let a = player(&p1, &dir.path().join("p1"), &boot, &[]);
    let reserved = |l: &str| l.contains("circuit reserved on the relay").then_some(());
    a.wait_for("a reservation", 60, reserved);
    // The relay restarts (same key, same address) while it searches, and
    // the player reserves again.
    drop(first);
    let (_second, again) = bootstrap(&lab, &boot_dir);
    assert_eq!(again, boot);
    a.wait_for("a reservation on the restarted relay", 60, reserved);
    // A second player behind a symmetric NAT can reach it only through its
    // renewed circuit.
    let b = player(&p2, &dir.path().join("p2"), &boot, &[]);
    let (ra, rb) = (a.report(240), b.report(240));
    figures("relay restarted mid-lobby", "p1", &ra);
    figures("relay restarted mid-lobby", "p2", &rb);
    assert_eq!(ra["final_checksum"], rb["final_checksum"]);
}

// `fault` exists only with the validator's `adversary` feature, which a
// workspace build turns on and this crate's alone does not.
#[allow(clippy::needless_update)]
fn fast_validator() -> cyteria_validator::ValidatorConfig {
    cyteria_validator::ValidatorConfig {
        epoch_interval: Duration::from_millis(500),
        round_timeout: Duration::from_secs(15),
        submit_grace: Duration::from_secs(2),
        fetch_timeout: Duration::from_secs(10),
        poll: Duration::from_millis(250),
        beacon_every: Duration::from_secs(5),
        ..Default::default()
    }
}

/// Forwards TCP connections from `ip`:(a free port) to the HTTP `endpoint`
/// on this host's loopback (players behind NAT cannot reach loopback);
/// returns the forwarder's URL.
async fn forward(ip: &str, endpoint: &str) -> String {
    let upstream = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut out) = tokio::net::TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                }
            });
        }
    });
    url
}
