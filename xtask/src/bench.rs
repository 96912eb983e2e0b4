//! `cargo xtask bench [--smoke]`: the device benchmark (tests/benches/device:
//! utun, tun-rs and raw system-call loops forwarding packets between two tun
//! devices in a network namespace it creates; Linux, as root), its report,
//! the offload benchmark (tests/benches/offload: the Linux offload relay,
//! the 64 KiB GSO loop, two queues; [`offload`]) and its report, then the
//! criterion micro-benchmarks (utun/benches/micro.rs).
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
mod offload;
mod render;
mod report;

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{cargo, step};
use measurements::Measurements;
use offload::OffloadReport;
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

    let offload_measured = out.join("offload-measurements.json");
    let _ = std::fs::remove_file(&offload_measured);
    let mut offload = cargo();
    offload.current_dir(root).args(["bench", "-p", "utun-tests", "--bench", "offload", "--"]);
    if smoke {
        offload.arg("--smoke");
    }
    offload.arg("--out").arg(&offload_measured);
    step(if smoke { "offload benchmark, smoke run" } else { "offload benchmark" }, &mut offload)?;
    if cfg!(target_os = "linux") && !offload_report(root, &out, &offload_measured, smoke)? {
        bail!("offload benchmark: a utun packet path allocated in steady state (see its targets table)");
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

/// Makes the offload benchmark's report: prints it, writes
/// target/bench/offload.md and offload.json, and after a full run appends
/// its section to BENCHMARKS.md and puts it in BENCHMARKS.json as `offload`
/// (both just written by [`device_report`]). Whether the hard requirements hold.
fn offload_report(root: &Path, out: &Path, measured: &Path, smoke: bool) -> Result<bool> {
    let text = std::fs::read_to_string(measured).with_context(|| format!("reading {}", measured.display()))?;
    let report = OffloadReport::parse(&text).with_context(|| format!("reading {}", measured.display()))?;
    if report.smoke() != smoke {
        bail!("{} is from a {} run", measured.display(), if smoke { "full" } else { "smoke" });
    }
    println!();
    print!("{}", report.text());
    std::fs::write(out.join("offload.md"), report.section())?;
    std::fs::write(out.join("offload.json"), serde_json::to_string_pretty(&report.json())?)?;
    if !smoke {
        let md = root.join("BENCHMARKS.md");
        let mut body = std::fs::read_to_string(&md).with_context(|| format!("reading {}", md.display()))?;
        body.push_str(&report.section());
        std::fs::write(&md, body)?;
        let json = root.join("BENCHMARKS.json");
        let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json)?)
            .with_context(|| format!("reading {}", json.display()))?;
        doc["offload"] = report.json();
        std::fs::write(&json, serde_json::to_string_pretty(&doc)? + "\n")?;
        println!("\nadded the offload section to BENCHMARKS.md and BENCHMARKS.json");
    } else {
        println!("\nwrote target/bench/offload.md and offload.json");
    }
    Ok(report.hard_requirements_hold())
}
