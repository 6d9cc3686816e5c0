//! `cyteria content`: the node's IPFS content (add, get, pin, unpin, ls).

use clap::Subcommand;
use cyteria_node::cli::{self, CommonArgs, NetArgs};
use cyteria_node::config::ConfigError;
use cyteria_node::net::Role;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    net: NetArgs,
    #[command(subcommand)]
    op: Op,
}

#[derive(Subcommand)]
pub(crate) enum Op {
    /// Add a file (pinned); prints its CID.
    Add { file: std::path::PathBuf },
    /// Fetch a CID (from this node, its peers or the DHT's providers) to a file or stdout.
    Get {
        cid: String,
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        #[arg(long, default_value_t = 60)]
        timeout_s: u64,
    },
    /// Fetch if needed and keep a CID.
    Pin {
        cid: String,
        #[arg(long, default_value_t = 60)]
        timeout_s: u64,
    },
    /// Stop keeping a CID.
    Unpin { cid: String },
    /// What this node keeps.
    Ls,
}

pub(crate) async fn run(common: &CommonArgs, a: Args) -> anyhow::Result<()> {
    use cyteria_node::content::parse_cid;
    // Check the arguments before the node starts.
    let cid = match &a.op {
        Op::Get { cid, .. } | Op::Pin { cid, .. } | Op::Unpin { cid } => {
            Some(parse_cid(cid).map_err(|e| ConfigError::Invalid(e.to_string()))?)
        }
        _ => None,
    };
    let net = NetArgs {
        gateway: Some("off".into()),
        ..a.net.clone()
    };
    let (node, _) = cli::start_with(common, &net, Role::Player, false).await?;
    let c = &node.content;
    let fetch = |cid, timeout_s: u64| async move {
        c.get_record(&cid, &[], std::time::Duration::from_secs(timeout_s))
            .await
    };
    let result: anyhow::Result<()> = async {
        match a.op {
            Op::Add { file } => {
                let bytes = std::fs::read(&file)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
                println!("{}", c.add(bytes).await?);
            }
            Op::Get { out, timeout_s, .. } => {
                let bytes = fetch(cid.expect("parsed"), timeout_s).await?;
                match out {
                    Some(p) => std::fs::write(&p, &bytes)?,
                    None => std::io::Write::write_all(&mut std::io::stdout(), &bytes)?,
                }
            }
            Op::Pin { timeout_s, .. } => {
                let cid = cid.expect("parsed");
                fetch(cid, timeout_s).await?;
                c.pin(&cid).await?;
                println!("pinned {cid}");
            }
            Op::Unpin { .. } => {
                let cid = cid.expect("parsed");
                c.unpin(&cid).await?;
                println!("unpinned {cid}");
            }
            Op::Ls => {
                for p in c.pins().await? {
                    println!("{p}");
                }
            }
        }
        Ok(())
    }
    .await;
    node.net().clone().stop().await;
    result
}
