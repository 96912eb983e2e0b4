//! `cargo xtask ci`'s check of the README's first command as a new user
//! meets it (see [`newcomer`]).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{cargo, step};

/// The README's first command as a new user meets it: `cargo xtask demo` in a
/// fresh copy of the tracked (and new, untracked) files, with no `.venv/`, none
/// of utun-sys's variables, no `SDKROOT`, and `CARGO_TARGET_DIR` set (the demo
/// must find the example there). Then, in the same copy, a build of utun's
/// unit tests, which must go on without the darwin headers and say why; and
/// here, a plain build that finds the headers `cargo xtask test` linked.
pub fn newcomer(root: &Path) -> Result<()> {
    let dir = root.join("target/newcomer");
    let copy = dir.join("src");
    let target_dir = dir.join("target");
    println!("\n==> the demo as a new user runs it: a fresh copy of the repository in {}", copy.display());
    copy_repository(root, &copy)?;
    let newcomer_cargo = || {
        let mut cmd = cargo();
        without_header_variables(&mut cmd).current_dir(&copy).env("CARGO_TARGET_DIR", &target_dir);
        // Without the venv's bin/ that `cargo xtask test` puts first on PATH.
        if let Some(path) = std::env::var_os("PATH") {
            let venv = root.join(".venv");
            let kept: Vec<_> = std::env::split_paths(&path).filter(|p| !p.starts_with(&venv)).collect();
            cmd.env("PATH", std::env::join_paths(kept).unwrap_or(path));
        }
        cmd
    };
    let started = std::time::Instant::now();
    step(
        &format!("cargo xtask demo (CARGO_TARGET_DIR={}, no darwin headers)", target_dir.display()),
        newcomer_cargo().args(["xtask", "demo"]),
    )?;
    println!("ok: the demo built and ran from a fresh copy in {:.0?}", started.elapsed());

    println!("\n==> utun's unit tests build with no darwin headers (cargo check --tests -p utun, in the copy)");
    let utun = build_script_output(newcomer_cargo().args(["check", "--tests", "-p", "utun"]), "utun")?;
    let why = utun["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|kv| kv[0] == "UTUN_APPLE_LAYOUTS_MISSING")
        .and_then(|kv| kv[1].as_str())
        .context("utun's build script did not report the Apple layouts missing (UTUN_APPLE_LAYOUTS_MISSING)")?;
    println!("ok: built without the Apple layouts, and says why: {why}");

    if cfg!(target_os = "macos") {
        return Ok(());
    }
    println!("\n==> a plain build finds the darwin headers `cargo xtask test` linked to .venv/darwin-include");
    let mut plain = cargo();
    without_header_variables(&mut plain)
        .current_dir(root)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("UTUN_SYS_REQUIRE_APPLE_LAYOUTS", "1")
        .args(["check", "-p", "utun-sys", "--features", "apple-layouts"]);
    let sys = build_script_output(&mut plain, "utun-sys")?;
    if !sys["cfgs"].as_array().is_some_and(|c| c.iter().any(|c| c == "utun_sys_apple")) {
        bail!("utun-sys was built without its Apple bindings: {sys}");
    }
    println!("ok: utun-sys made its Apple bindings with no variable set");
    Ok(())
}

/// `cmd` without any of utun-sys's variables, nor `SDKROOT`: the workspace's
/// `.cargo/config.toml` then decides, as for someone who set nothing.
fn without_header_variables(cmd: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("UTUN_SYS_") || name == "SDKROOT" {
            cmd.env_remove(&*name);
        }
    }
    cmd
}

/// Runs a cargo build command (stderr shown) and returns the
/// `build-script-executed` message of the workspace package `package`.
fn build_script_output(cmd: &mut Command, package: &str) -> Result<serde_json::Value> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .arg("--message-format=json-render-diagnostics")
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {shown}"))?;
    if !out.status.success() {
        bail!("{shown} failed ({})", out.status);
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "build-script-executed")
        .find(|m| {
            let id = m["package_id"].as_str().unwrap_or_default();
            id.contains(&format!("/{package}#")) || id.contains(&format!("#{package}@"))
        })
        .with_context(|| format!("{shown} reported no build script run of {package}"))
}

/// Copies the files `git ls-files` lists (tracked, and untracked but not
/// ignored), as they are in the working tree, to a new `dest`.
fn copy_repository(root: &Path, dest: &Path) -> Result<()> {
    let out = Command::new("git")
        .current_dir(root)
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .output()
        .context("running git ls-files")?;
    if !out.status.success() {
        bail!("git ls-files failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    if dest.exists() {
        std::fs::remove_dir_all(dest).with_context(|| format!("removing {}", dest.display()))?;
    }
    let mut copied = 0;
    for name in out.stdout.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = Path::new(std::str::from_utf8(name).context("a file name that is not UTF-8")?);
        let (from, to) = (root.join(name), dest.join(name));
        // Deleted in the working tree but still in the index: not there.
        let Ok(meta) = std::fs::symlink_metadata(&from) else { continue };
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else {
            std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
        }
        copied += 1;
    }
    println!("copied {copied} files (git ls-files) to {}", dest.display());
    Ok(())
}
