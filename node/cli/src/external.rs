//! `cyteria play` and `cyteria devnet`: programs of their own beside this
//! one (the window needs bevy, the devnet its cheating players), so that
//! what players and volunteers run is built without either.

use cyteria_node::cli::CommonArgs;

/// Runs `name` from this program's directory with the common flags and `args`.
pub(crate) fn run(
    common: &CommonArgs,
    name: &str,
    builds_it: &str,
    args: Vec<String>,
) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let program = exe.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !program.exists() {
        anyhow::bail!("{} is not built: {builds_it} builds it", program.display());
    }
    let mut cmd = std::process::Command::new(&program);
    if let Some(d) = &common.data_dir {
        cmd.arg("--data-dir").arg(d);
    }
    if let Some(c) = &common.config {
        cmd.arg("--config").arg(c);
    }
    if let Some(n) = &common.network {
        cmd.arg("--network").arg(n);
    }
    let status = cmd.arg("--log").arg(&common.log).args(args).status()?;
    if !status.success() {
        anyhow::bail!("{name} exited with {status}");
    }
    Ok(())
}
