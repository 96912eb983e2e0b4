//! `cargo xtask demo`: builds the ping responder example and runs its demo:
//! create, configure and route a device, answer the real `ping`, clean up.
//! On Linux inside a network namespace the example creates; on macOS on a
//! real utun. Both need root: when not root, it says so (and on macOS offers
//! `sudo`).
//!
//! On Linux it first installs the few Debian packages the build and the demo
//! need, when missing (see [`setup::DEMO_APT`]); it never needs Apple headers.
//! It runs the executable cargo reports, wherever the target directory is
//! (`CARGO_TARGET_DIR`, `build.target-dir`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::setup;
use crate::util::{cargo, is_root};

/// The package whose example the demo is.
const DEMO_PACKAGE: &str = "utun-tests";
/// The example.
const DEMO_EXAMPLE: &str = "ping_responder";

/// Runs the demo; `Ok(false)` when it failed (its output says why).
pub fn demo(root: &Path, args: &[String]) -> Result<bool> {
    if let Some(other) = args.first() {
        bail!("demo takes no arguments, got {other}");
    }
    if cfg!(target_os = "linux") {
        let names: Vec<&str> = setup::DEMO_APT.iter().map(|(package, _)| *package).collect();
        setup::apt(setup::DEMO_APT).with_context(|| {
            format!("the demo needs {} (libclang and the kernel headers for its build, ping)", names.join(", "))
        })?;
    }
    println!("==> building the {DEMO_EXAMPLE} example");
    let exe = build_example(root)?;
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

/// Builds the example and returns the executable cargo says it made.
fn build_example(root: &Path) -> Result<PathBuf> {
    let out = cargo()
        .current_dir(root)
        .args(["build", "-p", DEMO_PACKAGE, "--example", DEMO_EXAMPLE, "--message-format=json-render-diagnostics"])
        // The demo uses no Apple bindings: where utun-sys's apple-layouts
        // feature (a dev-dependency) finds no darwin headers, it goes on
        // without them rather than stop.
        .env("UTUN_SYS_REQUIRE_APPLE_LAYOUTS", "0")
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo build")?;
    if !out.status.success() {
        bail!("building the {DEMO_EXAMPLE} example failed ({}): cargo's messages above say why", out.status);
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == DEMO_EXAMPLE)
        .filter(|m| m["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "example")))
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .with_context(|| format!("cargo built {DEMO_PACKAGE}'s {DEMO_EXAMPLE} example but reported no executable"))
}
