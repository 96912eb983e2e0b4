//! `cargo xtask fuzz`: the cargo-fuzz (libFuzzer) targets of `fuzz/`.
//!
//! * `--seconds N` (default 60): runs each target for N seconds
//!   (`-max_total_time`), one after the other, from its committed seeds
//!   (`fuzz/corpus/<target>/`, read only) and the corpus earlier runs grew
//!   (`fuzz/target/corpus/<target>/`, where new inputs go), then prints for
//!   each target the executions per second, the coverage (libFuzzer's `cov:`,
//!   edges), the corpus size, and any crash, with its artifact's path; fails
//!   when one crashed (a crash, a failed property, or an input running
//!   longer than `-timeout`).
//! * `--target T` (repeatable): only these targets.
//! * `--seed`: rewrites the committed seeds from the encoders and the C
//!   compiler's golden messages (the ignored `write_fuzz_seeds_*` tests of
//!   `utun`), and a few fixed byte strings for the structured targets.
//!
//! Installs what is missing first: the nightly toolchain (minimal profile)
//! and cargo-fuzz at [`CARGO_FUZZ`], from crates.io (`cargo install
//! --locked`, about a minute and a half on two cores), under
//! `target/fuzz-tools/` so nothing outside the repository is touched.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{cargo, run, step};

/// The cargo-fuzz release used (pinned for repeatability).
pub const CARGO_FUZZ: &str = "0.13.2";
/// Where cargo-fuzz is installed (`cargo install --root`), under the root.
const TOOLS: &str = "target/fuzz-tools";
/// The structured targets, whose inputs are any bytes (decoded with
/// `arbitrary`): their seeds are fixed byte strings.
const STRUCTURED: &[&str] = &["pf_route_exchange", "pf_route_roundtrip", "rtnetlink_roundtrip"];
/// The seconds one input may take before libFuzzer reports it (a hang).
const INPUT_TIMEOUT: u32 = 10;

/// One target's run, as libFuzzer reported it.
#[derive(Debug, Default)]
struct Report {
    target: String,
    seconds: u64,
    execs_per_sec: Option<u64>,
    runs: Option<u64>,
    cov: Option<u64>,
    corpus: Option<String>,
    crash: Option<String>,
    ok: bool,
}

/// `cargo xtask fuzz [--seconds N] [--target T]... [--seed]`.
pub fn fuzz(root: &Path, args: &[String]) -> Result<bool> {
    let mut seconds = 60u64;
    let mut only = Vec::new();
    let mut seed = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = it.next().context("--seconds needs a value")?.parse().context("--seconds: a number")?
            }
            "--target" => only.push(it.next().context("--target needs a name")?.clone()),
            "--seed" => seed = true,
            other => bail!("fuzz: unknown argument {other}"),
        }
    }
    if seed {
        write_seeds(root)?;
        if only.is_empty() && !args.iter().any(|a| a == "--seconds") {
            return Ok(true);
        }
    }
    let cargo_fuzz = install_tools(root)?;
    let dir = root.join("fuzz");
    let all = list_targets(&cargo_fuzz, &dir)?;
    for t in &only {
        if !all.contains(t) {
            bail!("no fuzz target {t}; there are: {}", all.join(" "));
        }
    }
    let targets = if only.is_empty() { all } else { only };
    step("cargo fuzz build -O (nightly, AddressSanitizer)", fuzz_cmd(&cargo_fuzz, &dir).args(["build", "-O"]))?;
    let mut reports = Vec::new();
    for target in &targets {
        reports.push(run_target(&cargo_fuzz, &dir, target, seconds)?);
    }
    println!("\n{}", table(&reports));
    let crashed: Vec<_> = reports.iter().filter(|r| !r.ok).collect();
    for r in &crashed {
        let artifact = r.crash.as_deref().unwrap_or("(no artifact reported: see the log above)");
        println!(
            "{}: CRASH, artifact {artifact}\n  reproduce: cargo +nightly fuzz run -O {} {artifact}\n  \
             then add it as a regression test in utun (the artifact's bytes fed to the same code) before the fix",
            r.target, r.target
        );
    }
    Ok(crashed.is_empty())
}

/// Installs nightly and cargo-fuzz when missing; the cargo-fuzz binary.
pub fn install_tools(root: &Path) -> Result<PathBuf> {
    let toolchains = Command::new("rustup").args(["toolchain", "list"]).output().context("running rustup")?;
    if !String::from_utf8_lossy(&toolchains.stdout).lines().any(|l| l.starts_with("nightly")) {
        step(
            "rustup toolchain install nightly (minimal: cargo-fuzz builds with -Zsanitizer)",
            Command::new("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"]),
        )?;
    }
    let bin = root.join(TOOLS).join("bin/cargo-fuzz");
    let version = Command::new(&bin).args(["fuzz", "--version"]).output();
    let current = version.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(CARGO_FUZZ));
    if !current {
        step(
            &format!("cargo install --locked cargo-fuzz@{CARGO_FUZZ} (into {TOOLS})"),
            cargo()
                .args(["install", "--locked", "--quiet", &format!("cargo-fuzz@{CARGO_FUZZ}")])
                .arg("--root")
                .arg(root.join(TOOLS))
                .arg("--target-dir")
                .arg(root.join("target/fuzz-tools-build")),
        )?;
    }
    Ok(bin)
}

/// cargo-fuzz run in `dir` with the nightly toolchain.
fn fuzz_cmd(cargo_fuzz: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(cargo_fuzz);
    cmd.current_dir(dir).arg("fuzz").env("RUSTUP_TOOLCHAIN", "nightly");
    // The workspace's cargo and rustc (stable) must not be inherited.
    for var in ["CARGO", "RUSTC", "RUSTDOC", "CARGO_TARGET_DIR", "RUSTFLAGS"] {
        cmd.env_remove(var);
    }
    cmd
}

fn list_targets(cargo_fuzz: &Path, dir: &Path) -> Result<Vec<String>> {
    let out = fuzz_cmd(cargo_fuzz, dir).arg("list").output().context("cargo fuzz list")?;
    if !out.status.success() {
        bail!("cargo fuzz list failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

/// Runs one target for `seconds`, its output in `fuzz/target/logs/<t>.log`.
fn run_target(cargo_fuzz: &Path, dir: &Path, target: &str, seconds: u64) -> Result<Report> {
    let grown = dir.join("target/corpus").join(target);
    let seeds = dir.join("corpus").join(target);
    let artifacts = dir.join("artifacts").join(target);
    let logs = dir.join("target/logs");
    for d in [&grown, &seeds, &artifacts, &logs] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let log_path = logs.join(format!("{target}.log"));
    let log = std::fs::File::create(&log_path)?;
    println!("\n==> fuzz {target} for {seconds} s (log: {})", log_path.display());
    let started = std::time::Instant::now();
    let status = fuzz_cmd(cargo_fuzz, dir)
        .args(["run", "-O", target])
        .arg(&grown)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT}"))
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("cargo fuzz run")?;
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut report = parse_log(target, &text);
    report.seconds = started.elapsed().as_secs();
    report.ok = status.success() && report.crash.is_none();
    if !report.ok {
        // The end of the log says what failed.
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        println!("{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
    }
    Ok(report)
}

/// The figures of a libFuzzer log: the last status line's `cov:`, `corp:`
/// and `exec/s:`, the final stats, and a crash's artifact.
fn parse_log(target: &str, text: &str) -> Report {
    let mut r = Report { target: target.to_string(), ..Report::default() };
    let field = |line: &str, key: &str| -> Option<String> {
        let mut words = line.split_whitespace();
        words.by_ref().find(|w| *w == key)?;
        words.next().map(String::from)
    };
    for line in text.lines() {
        if line.starts_with('#') && line.contains("cov:") {
            r.cov = field(line, "cov:").and_then(|v| v.parse().ok()).or(r.cov);
            r.corpus = field(line, "corp:").or(r.corpus.take());
            r.execs_per_sec = field(line, "exec/s:").and_then(|v| v.parse().ok()).or(r.execs_per_sec);
        }
        if let Some(v) = line.strip_prefix("stat::average_exec_per_sec:") {
            r.execs_per_sec = v.trim().parse().ok().or(r.execs_per_sec);
        }
        if let Some(v) = line.strip_prefix("stat::number_of_executed_units:") {
            r.runs = v.trim().parse().ok();
        }
        if let Some((_, path)) = line.split_once("Test unit written to ") {
            r.crash = Some(path.trim().to_string());
        }
    }
    r
}

/// The per-target table (Markdown).
fn table(reports: &[Report]) -> String {
    let mut out = String::from(
        "| target | time (s) | runs | execs/s | edges (cov) | corpus (files/bytes) | findings |\n\
         | --- | ---: | ---: | ---: | ---: | --- | --- |\n",
    );
    let num = |v: Option<u64>| v.map_or_else(|| "?".to_string(), |v| v.to_string());
    for r in reports {
        let finding = if r.ok { "none".to_string() } else { format!("CRASH {}", r.crash.as_deref().unwrap_or("?")) };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.target,
            r.seconds,
            num(r.runs),
            num(r.execs_per_sec),
            num(r.cov),
            r.corpus.as_deref().unwrap_or("?"),
            finding
        ));
    }
    out
}

/// Rewrites the committed seeds (`fuzz/corpus/<target>/`).
fn write_seeds(root: &Path) -> Result<()> {
    let corpus = root.join("fuzz/corpus");
    step(
        "the seeds from the encoders and the C goldens (utun's write_fuzz_seeds_* tests)",
        cargo()
            .current_dir(root)
            .args(["test", "--quiet", "-p", "utun", "--lib", "--all-features", "write_fuzz_seeds", "--", "--ignored"])
            .env("UTUN_FUZZ_SEEDS", &corpus),
    )?;
    // Structured targets: any bytes are an input; a few fixed strings of
    // increasing length (xorshift from a fixed state) start them off.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for target in STRUCTURED {
        let d = corpus.join(target);
        std::fs::create_dir_all(&d)?;
        for (i, len) in [8usize, 32, 96, 256].into_iter().enumerate() {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 24) as u8
                })
                .collect();
            std::fs::write(d.join(format!("fixed-{i}")), bytes)?;
        }
    }
    run(Command::new("du").arg("-sh").args(std::fs::read_dir(&corpus)?.flatten().map(|e| e.path())))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines libFuzzer prints (cargo-fuzz 0.13, libFuzzer of libfuzzer-sys 0.4).
    const CRASHED: &str = "\
#2	INITED cov: 96 ft: 97 corp: 1/1b exec/s: 0 rss: 33Mb
#1024	pulse  cov: 640 ft: 966 corp: 126/6694b lim: 2743 exec/s: 512 rss: 486Mb
thread '<unnamed>' panicked at fuzz_targets/x.rs:1:1:
==1== ERROR: libFuzzer: deadly signal
artifact_prefix='/w/fuzz/artifacts/x/'; Test unit written to /w/fuzz/artifacts/x/crash-9730dce9
stat::number_of_executed_units: 1100
stat::average_exec_per_sec:     550
";

    #[test]
    fn a_crash_and_the_figures_are_read_from_the_log() {
        let r = parse_log("x", CRASHED);
        assert_eq!(r.crash.as_deref(), Some("/w/fuzz/artifacts/x/crash-9730dce9"));
        assert_eq!((r.cov, r.runs, r.execs_per_sec), (Some(640), Some(1100), Some(550)));
        assert_eq!(r.corpus.as_deref(), Some("126/6694b"));
        let clean = parse_log("x", &CRASHED.replace("Test unit written to", "nothing"));
        assert_eq!(clean.crash, None);
    }

    #[test]
    fn the_table_names_a_crash() {
        let mut r = parse_log("x", CRASHED);
        r.ok = false;
        let t = table(&[r]);
        assert!(t.contains("| x |") && t.contains("CRASH /w/fuzz/artifacts/x/crash-9730dce9"), "{t}");
    }
}
