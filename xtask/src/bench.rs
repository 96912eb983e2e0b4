//! `cargo xtask bench [--smoke]`: the device benchmark (tests/benches/device:
//! utun, tun-rs and raw system-call loops forwarding packets between two tun
//! devices in a network namespace it creates; Linux, as root), its report,
//! then the criterion micro-benchmarks (utun/benches/micro.rs).
//!
//! The benchmark writes what it measured (target/bench/device-measurements.json);
//! the report is made here from that ([`measurements`], [`report`], [`render`],
//! [`machine`]): printed, written to target/bench/device.md and device.json,
//! and after a full run to BENCHMARKS.md and BENCHMARKS.json at the workspace
//! root. `--smoke` is CI's form: a few thousand packets per variant, the
//! micro-benchmarks run once each (`--test`), nothing written but
//! target/bench/. An allocation per packet on a utun path fails the command,
//! after the report.

mod machine;
mod measurements;
mod render;
mod report;

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{cargo, step};
use measurements::Measurements;
use report::Report;

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
    let out = root.join("target/bench");
    let measured = out.join("device-measurements.json");
    // An old file must not pass for this run's.
    let _ = std::fs::remove_file(&measured);
    let mut device = cargo();
    device.current_dir(root).args(["bench", "-p", "utun-tests", "--bench", "device", "--"]);
    if smoke {
        device.arg("--smoke");
    }
    device.arg("--out").arg(&measured);
    step(if smoke { "device benchmark, smoke run" } else { "device benchmark" }, &mut device)?;
    // Elsewhere the benchmark says it runs on Linux only, and measures nothing.
    if cfg!(target_os = "linux") && !device_report(root, &out, &measured, smoke)? {
        bail!("device benchmark: a utun packet path allocated in steady state (see the targets table)");
    }

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

/// Makes the device benchmark's report from its measurements: prints it,
/// writes target/bench/device.md and device.json, and after a full run
/// BENCHMARKS.md and BENCHMARKS.json. Whether the hard requirements hold.
fn device_report(root: &Path, out: &Path, measured: &Path, smoke: bool) -> Result<bool> {
    let text = std::fs::read_to_string(measured).with_context(|| format!("reading {}", measured.display()))?;
    let measurements = Measurements::parse(&text).with_context(|| format!("reading {}", measured.display()))?;
    if measurements.config.smoke != smoke {
        bail!("{} is from a {} run", measured.display(), if smoke { "full" } else { "smoke" });
    }
    let report = Report::new(measurements, machine::machine(root))?;
    println!();
    print!("{}", report.text());
    report.write(&out.join("device.md"), &out.join("device.json"))?;
    if smoke {
        println!("\nwrote target/bench/device.md and device.json");
    } else {
        report.write(&root.join("BENCHMARKS.md"), &root.join("BENCHMARKS.json"))?;
        println!("\nwrote BENCHMARKS.md and BENCHMARKS.json (and target/bench/device.md, device.json)");
    }
    Ok(report.hard_requirements_hold())
}
