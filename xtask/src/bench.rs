//! `cargo xtask bench [--smoke]`: the device benchmark (utun/benches/device:
//! utun, tun-rs and raw system-call loops forwarding packets between two tun
//! devices in a network namespace it creates; Linux, as root), then the
//! criterion micro-benchmarks (utun/benches/micro.rs).
//!
//! The full run writes BENCHMARKS.md and BENCHMARKS.json at the workspace
//! root. `--smoke` is CI's form: a few thousand packets per variant, the
//! micro-benchmarks run once each (`--test`), nothing written but
//! target/bench/.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

use crate::util::{cargo, step};

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Runs the benchmarks.
pub fn bench(root: &Path, args: &[String]) -> Result<()> {
    let mut smoke = false;
    for arg in args {
        match arg.as_str() {
            "--smoke" => smoke = true,
            other => bail!("bench takes only --smoke, got {other}"),
        }
    }
    if cfg!(target_os = "linux") && !is_root() {
        bail!(
            "the device benchmark creates a network namespace and two tun devices, which needs root.\n\
             Run it as root: sudo -E cargo xtask bench{}",
            if smoke { " --smoke" } else { "" }
        );
    }
    let mut device = cargo();
    device.current_dir(root).args(["bench", "-p", "utun", "--features", "tokio", "--bench", "device", "--"]);
    if smoke {
        device.arg("--smoke");
    }
    step(if smoke { "device benchmark, smoke run" } else { "device benchmark" }, &mut device)?;

    let mut micro = cargo();
    micro.current_dir(root).args(["bench", "-p", "utun", "--features", "bench-internals", "--bench", "micro", "--"]);
    if smoke {
        micro.arg("--test");
    } else {
        micro.args(["--warm-up-time", "1", "--measurement-time", "2"]);
    }
    step(if smoke { "micro-benchmarks, each run once" } else { "micro-benchmarks (criterion)" }, &mut micro)?;
    if !smoke {
        println!("\nresults: BENCHMARKS.md and BENCHMARKS.json (micro-benchmarks: target/criterion/)");
    }
    Ok(())
}
