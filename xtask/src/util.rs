//! Running commands.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Result, bail};

/// `cargo`, as the one running this xtask (honours `$CARGO`).
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// The workspace root (the xtask crate's parent).
pub fn root() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.parent().map(PathBuf::from).unwrap_or(dir)
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Whether `cmd` is a file in a directory on `PATH`.
pub fn on_path(cmd: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(cmd).is_file()))
}

/// Runs a command with inherited output; an error if it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().map_err(|e| anyhow::anyhow!("could not start {shown}: {e}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// Prints a step header and runs it.
pub fn step(name: &str, cmd: &mut Command) -> Result<()> {
    println!("\n==> {name}");
    run(cmd)
}
