//! `cargo xtask demo`: builds the ping responder example and runs its demo:
//! create, configure and route a device, answer the real `ping`, clean up.
//! On Linux inside a network namespace the example creates; on macOS on a
//! real utun. Both need root: when not root, it says so (and on macOS offers
//! `sudo`).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{cargo, run};

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Runs the demo; `Ok(false)` when it failed (its output says why).
pub fn demo(root: &Path, args: &[String]) -> Result<bool> {
    if let Some(other) = args.first() {
        bail!("demo takes no arguments, got {other}");
    }
    println!("==> building the ping_responder example");
    run(cargo().current_dir(root).args(["build", "--quiet", "-p", "utun", "--example", "ping_responder"]))?;
    let exe = root.join("target/debug/examples/ping_responder");
    let mut cmd = if is_root() {
        Command::new(&exe)
    } else if cfg!(target_os = "macos") {
        println!("==> the demo creates a utun interface, which needs root: running it with sudo");
        let mut c = Command::new("sudo");
        c.arg(&exe);
        c
    } else {
        bail!(
            "the demo creates a network namespace and a tun device, which needs root.\n\
             Run it as root: sudo -E cargo xtask demo (or: sudo {} --demo)",
            exe.display()
        );
    };
    println!("==> {} --demo\n", exe.display());
    let status = cmd.arg("--demo").status().context("running the demo")?;
    Ok(status.success())
}
