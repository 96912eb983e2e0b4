//! `cargo xtask soak [--packets N]`: the soak (tests/examples/soak: N
//! packets each way, a million by default, through two tun devices the
//! kernel forwards between, with the blocking and the async device, every
//! packet checked; Linux, as root, in a network namespace it creates). `ci`
//! runs a short form ([`CI_PACKETS`]).
//!
//! It is built with the release profile, whose dependencies the benchmark's
//! smoke run has built already in `ci`.

use std::path::Path;

use anyhow::{Result, bail};

use crate::util::{cargo, is_root, step};

/// The packets each way per phase in `cargo xtask ci`.
pub const CI_PACKETS: u64 = 50_000;

/// Runs the soak; an error when it fails.
pub fn soak(root: &Path, args: &[String]) -> Result<()> {
    let mut packets: u64 = 1_000_000;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--packets" => {
                let Some(n) = it.next().and_then(|n| n.parse().ok()) else { bail!("--packets needs a number") };
                packets = n;
            }
            other => bail!("soak takes only --packets N, got {other}"),
        }
    }
    if cfg!(target_os = "linux") && !is_root() {
        bail!(
            "the soak creates a network namespace and two tun devices, which needs root.\n\
             Run it as root: sudo -E cargo xtask soak"
        );
    }
    step(
        &format!("soak: {packets} packets each way, blocking and async device (cargo run --release --example soak)"),
        cargo()
            .current_dir(root)
            .args(["run", "--quiet", "--release", "-p", "utun-tests", "--example", "soak", "--"])
            .args(["--packets", &packets.to_string()]),
    )
}
