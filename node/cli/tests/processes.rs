//! Real processes on 127.0.0.1: a bootstrap node and two bot players that
//! know only the bootstrap node's address find each other and finish a match.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_cyteria");

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn two_player_processes_meet_through_a_bootstrap_process_and_finish_a_match() {
    let dir = tempfile::tempdir().unwrap();
    let mut boot = Kill(
        Command::new(EXE)
            .args([
                "--data-dir",
                dir.path().join("boot").to_str().unwrap(),
                "bootstrap",
            ])
            .args([
                "--listen",
                "/ip4/127.0.0.1/tcp/0",
                "--metrics",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(boot.0.stdout.take().unwrap()).lines();
    let (mut addr, mut metrics) = (None, None);
    while addr.is_none() || metrics.is_none() {
        let line = lines
            .next()
            .expect("the bootstrap node prints its addresses")
            .unwrap();
        if let Some(a) = line.strip_prefix("listen ") {
            addr = Some(a.to_string());
        }
        if let Some(m) = line.strip_prefix("metrics http://") {
            metrics = m.strip_suffix("/metrics").map(str::to_string);
        }
    }
    let addr = addr.unwrap();
    let players: Vec<Kill> = (0..2)
        .map(|i| {
            Kill(
                Command::new(EXE)
                    .args([
                        "--data-dir",
                        dir.path().join(format!("p{i}")).to_str().unwrap(),
                        "node",
                        "--bot",
                    ])
                    .args([
                        "--matches",
                        "1",
                        "--waves",
                        "1",
                        "--time-limit-s",
                        "10",
                        "--tick-hz",
                        "120",
                    ])
                    .args(["--listen", "/ip4/127.0.0.1/tcp/0", "--bootstrap", &addr])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            )
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut reports = vec![];
    for mut p in players {
        while p.0.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "a player did not finish in time");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(p.0.wait().unwrap().success());
        let out = std::io::read_to_string(p.0.stdout.take().unwrap()).unwrap();
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix("match "))
            .expect("a match report")
            .to_string();
        reports.push(serde_json::from_str::<serde_json::Value>(&line).unwrap());
    }
    for r in &reports {
        assert_eq!(r["ending"], "Finished", "{r}");
        assert_eq!(r["desyncs"], 0);
    }
    assert_eq!(reports[0]["match_id"], reports[1]["match_id"]);
    assert_eq!(reports[0]["final_checksum"], reports[1]["final_checksum"]);
    assert_ne!(reports[0]["seat"], reports[1]["seat"]);

    // The bootstrap node serves Prometheus metrics, and it relayed lobby gossip.
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(metrics.unwrap()).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(
        text.starts_with("HTTP/1.0 200") || text.starts_with("HTTP/1.1 200"),
        "{text}"
    );
    assert!(
        text.contains("cyteria_messages_total{channel=\"gossip\"}"),
        "{text}"
    );
}

#[test]
fn bad_configuration_exits_non_zero_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(EXE)
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, err) = run(&["node", "--players", "9", "--listen", "/ip4/127.0.0.1/tcp/0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("1 to 4"), "{err}");
    let (code, err) = run(&["node", "--bootstrap", "/ip4/127.0.0.1/tcp/1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("/p2p/"), "{err}");
    let (code, err) = run(&["node", "--listen", "not-an-address"]);
    assert_eq!(code, Some(2), "clap rejects it: {err}");
    std::fs::write(dir.path().join("cyteria.toml"), "[network]\nlisen = []\n").unwrap();
    let (code, err) = run(&["node"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("cyteria.toml") && err.contains("lisen"),
        "{err}"
    );
    std::fs::remove_file(dir.path().join("cyteria.toml")).unwrap();
    let (code, out) = {
        let o = Command::new(EXE)
            .arg("--data-dir")
            .arg(dir.path())
            .arg("keys")
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).to_string(),
        )
    };
    assert_eq!(code, Some(0));
    assert!(out.starts_with("peer id 12D3KooW"), "{out}");
}

/// Two `cyteria validator` processes (of three registered) on a local
/// anvil settle the wallet binding a `cyteria bind-wallet` process sends,
/// `cyteria inventory` reads it back through its chain index, and `cyteria
/// bond` locks the player bond.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validator_processes_settle_a_binding_that_inventory_then_shows() {
    use cyteria_chain::anvil::LocalChain;
    use cyteria_chain::chain::Chain;
    let stake = alloy::primitives::U256::from(1_000u64)
        * alloy::primitives::U256::from(10u64).pow(alloy::primitives::U256::from(18));
    let chain = LocalChain::start_with_validators(3, stake, 60)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let deployment = dir.path().join("deployment.json");
    std::fs::write(
        &deployment,
        serde_json::to_string(&chain.deployment).unwrap(),
    )
    .unwrap();
    let (rpc, dep) = (chain.endpoint(), deployment.to_str().unwrap().to_string());
    let cmd = |data: &str, key: usize| {
        let mut c = Command::new(EXE);
        c.args(["--data-dir", dir.path().join(data).to_str().unwrap()])
            .env("CYTERIA_ETH_KEY", chain.keys[key].to_bytes().to_string())
            .env("CYTERIA_RPC", &rpc)
            .env("CYTERIA_DEPLOYMENT", &dep)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        c
    };
    let validator = |data: &str, key: usize, boot: Option<&str>| {
        let mut c = cmd(data, key);
        c.args([
            "validator",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--epoch-interval-s",
            "0.5",
            "--round-timeout-s",
            "3",
        ]);
        if let Some(b) = boot {
            c.args(["--bootstrap", b]);
        }
        let mut child = Kill(c.spawn().unwrap());
        let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("a validator prints its addresses")
                .unwrap();
            if let Some(a) = line.strip_prefix("listen ") {
                break a.to_string();
            }
        };
        // The validator prints more (its gateway): a closed pipe would end it.
        std::thread::spawn(move || lines.for_each(drop));
        (child, addr)
    };
    let (_v1, addr) = validator("v1", 1, None);
    let (_v2, _) = validator("v2", 2, Some(&addr));
    let out = cmd("player", 4)
        .args([
            "bind-wallet",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--bootstrap",
            &addr,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let reader = Chain::connect(&rpc, chain.keys[9].clone(), chain.deployment)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while reader.settled_epoch().await.unwrap() < 1 {
        assert!(Instant::now() < deadline, "the binding did not settle");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let out = cmd("player", 4).arg("inventory").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("wallet {}", chain.keys[4].address())),
        "{text}"
    );
    assert!(
        text.contains("bound to this wallet") && text.contains("0 item(s)"),
        "{text}"
    );
    assert!(text.contains("not bonded, drops do not mint"), "{text}");
    // The player locks the least bond (100 CYTR of the 1,000 its account
    // holds); from then on its drops mint.
    let out = cmd("player", 4).args(["bond", "lock"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("locked 100 CYTR") && text.contains("drops mint to this wallet"),
        "{text}"
    );
    let out = cmd("player", 4).args(["bond", "lock"]).output().unwrap();
    assert!(!out.status.success(), "nothing left to lock by default");
    let out = cmd("player", 4).arg("bond").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("player bond 100 CYTR (least 100)"), "{text}");
    // `cyteria equip` keeps the choice in the data directory; an item the
    // wallet does not hold is refused before any match would be.
    let out = cmd("player", 4)
        .args(["equip", "--tool", "none"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("tool: none") && text.contains("weapon: starter"),
        "{text}"
    );
    let blade = cyteria_settlement::ids::encode(
        &cyteria_game::crafting::starter_loadout().weapon.unwrap(),
        1,
        0,
    )
    .unwrap();
    let out = cmd("player", 4)
        .args(["equip", "--weapon", &format!("{blade:#x}")])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("does not hold"),
        "{err}"
    );
    let chosen = cyteria_node::loadout::read_choices(&dir.path().join("player")).unwrap();
    assert_eq!(
        chosen.weapon,
        cyteria_node::loadout::Choice::Starter,
        "nothing written"
    );
    assert_eq!(chosen.tool, cyteria_node::loadout::Choice::Empty);
    // A bad deployment file is a configuration error (exit status 2).
    std::fs::write(&deployment, "{}").unwrap();
    let out = cmd("player", 4).arg("inventory").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `cyteria content` adds, lists, reads back and unpins a file in the node's
/// repo, across separate runs of the command.
#[test]
fn content_commands_add_list_get_and_unpin_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let run = |args: &[&str]| {
        Command::new(EXE)
            .args([
                "--data-dir",
                data.to_str().unwrap(),
                "content",
                "--listen",
                "/ip4/127.0.0.1/tcp/0",
            ])
            .args(args)
            .stderr(Stdio::null())
            .output()
            .unwrap()
    };
    let file = dir.path().join("replay.bin");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    let out = run(&["add", file.to_str().unwrap()]);
    assert!(out.status.success());
    let cid = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(cid.starts_with("bafy"), "{cid}");
    assert!(
        String::from_utf8(run(&["ls"]).stdout)
            .unwrap()
            .contains(&cid)
    );
    let back = dir.path().join("back.bin");
    assert!(
        run(&[
            "get",
            &cid,
            "--out",
            back.to_str().unwrap(),
            "--timeout-s",
            "5"
        ])
        .status
        .success()
    );
    assert_eq!(std::fs::read(&back).unwrap(), bytes);
    assert!(run(&["unpin", &cid]).status.success());
    assert!(
        !String::from_utf8(run(&["ls"]).stdout)
            .unwrap()
            .contains(&cid)
    );
    assert_eq!(run(&["get", "not-a-cid"]).status.code(), Some(2));
}

/// `cyteria deploy` puts the contracts on a chain (a bare anvil here, with
/// Amoy's chain id) and writes the network profile; nodes then reach that
/// chain with `--network` alone. A profile whose chain id the endpoint
/// does not serve, and a shipped profile with no deployment yet, are
/// refused with the reason.
#[test]
fn deploy_writes_a_network_profile_that_commands_then_join_with_network_alone() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = alloy::node_bindings::Anvil::at(cyteria_chain::anvil::anvil_binary())
        .chain_id(cyteria_chain::anvil::CHAIN_ID)
        .try_spawn()
        .unwrap();
    let key = dir.path().join("deployer.key");
    std::fs::write(&key, alloy::hex::encode(anvil.keys()[0].to_bytes())).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let networks = dir.path().join("networks");
    let run = |data: &str, args: &[&str]| {
        let out = Command::new(EXE)
            .arg("--data-dir")
            .arg(dir.path().join(data))
            .args(args)
            .env("CYTERIA_NETWORKS", &networks)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let k = key.to_str().unwrap();
    let rpc = anvil.endpoint();
    let boot =
        "/dns4/boot.example.org/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

    // Nothing deployed on Amoy yet: the shipped profile says so.
    let (code, _, err) = run(
        "a",
        &["inventory", "--network", "amoy", "--eth-key-file", k],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cyteria deploy --network amoy"), "{err}");

    // A new network.
    let (code, out, err) = run(
        "a",
        &[
            "deploy",
            "--rpc",
            &rpc,
            "--eth-key-file",
            k,
            "--name",
            "lan",
            "--bootstrap",
            boot,
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let profile = networks.join("lan.toml");
    assert!(
        out.contains(&format!("profile {}", profile.display())),
        "{out}"
    );
    let text = std::fs::read_to_string(&profile).unwrap();
    assert!(
        text.contains("chain_id = 80002") && text.contains(boot),
        "{text}"
    );
    let deployment: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(networks.join("lan.deployment.json")).unwrap(),
    )
    .unwrap();
    assert!(deployment["Settlement"].as_str().unwrap().starts_with("0x"));

    // Deploying again over it needs --force.
    let (code, _, err) = run(
        "a",
        &[
            "deploy",
            "--rpc",
            &rpc,
            "--eth-key-file",
            k,
            "--name",
            "lan",
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--force"), "{err}");

    // `--network lan` alone names the chain and the contracts: the deployer
    // holds the genesis CYTR (a tenth of the cap).
    let (code, out, err) = run("b", &["inventory", "--network", "lan", "--eth-key-file", k]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("CYTR 100000000"), "{out}");

    // A profile file for another chain, pointed at this endpoint.
    let other = dir.path().join("polygon.toml");
    std::fs::write(
        &other,
        format!(
            "name = \"polygon\"\nchain_id = 137\nrpc = \"{rpc}\"\ndeployment = \"networks/lan.deployment.json\"\n"
        ),
    )
    .unwrap();
    let (code, _, err) = run(
        "c",
        &[
            "inventory",
            "--network",
            other.to_str().unwrap(),
            "--eth-key-file",
            k,
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("serves chain 80002") && err.contains("the network polygon is chain 137"),
        "{err}"
    );

    // Deploying for a profile whose chain the endpoint does not serve
    // stops before forge runs.
    std::fs::write(
        dir.path().join("elsewhere.toml"),
        format!("name = \"elsewhere\"\nchain_id = 137\nrpc = \"{rpc}\"\ndeployment = \"elsewhere.json\"\n"),
    )
    .unwrap();
    let (code, _, err) = run(
        "a",
        &[
            "deploy",
            "--network",
            dir.path().join("elsewhere.toml").to_str().unwrap(),
            "--eth-key-file",
            k,
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("serves chain 80002"), "{err}");
    assert!(!dir.path().join("elsewhere.json").exists());

    // Another chain with the same id (a second anvil): the deployment file
    // names its chain's block 0, and the node refuses the impostor.
    let other_anvil = alloy::node_bindings::Anvil::at(cyteria_chain::anvil::anvil_binary())
        .chain_id(cyteria_chain::anvil::CHAIN_ID)
        .args(["--timestamp", "1000"])
        .try_spawn()
        .unwrap();
    let (code, _, err) = run(
        "e",
        &[
            "inventory",
            "--network",
            "lan",
            "--rpc",
            &other_anvil.endpoint(),
            "--eth-key-file",
            k,
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("block 0"), "{err}");

    // The shipped Amoy profile's deployment file, written by deploying
    // for it (the endpoint given: this anvil serves Amoy's chain id).
    let (code, out, err) = run(
        "a",
        &[
            "deploy",
            "--network",
            "amoy",
            "--rpc",
            &rpc,
            "--eth-key-file",
            k,
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(networks.join("amoy.deployment.json").is_file(), "{out}");
    let (code, out, err) = run(
        "d",
        &[
            "inventory",
            "--network",
            "amoy",
            "--rpc",
            &rpc,
            "--eth-key-file",
            k,
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
}
