//! Linux UAPI headers new enough to name UDP segmentation offload
//! (`TUN_F_USO4`, `TUN_F_USO6`, `VIRTIO_NET_HDR_GSO_UDP_L4`: Linux 6.2+),
//! for CI's tests on a Debian 12 machine, whose `linux-libc-dev` (6.1) lacks
//! them, without touching the system's headers.
//!
//! Debian's own packages, through apt with a private state directory: the
//! system's configured Debian archive (whatever mirror it uses), its
//! `<codename>-backports` suite added, `apt-get download` of
//! `linux-libc-dev/<codename>-backports` and of `libc6-dev` (the glibc
//! headers the shim also includes). apt checks each `.deb` against the
//! checksum in the suite's `InRelease`, whose signature it verifies with the
//! Debian archive keyring: nothing unverified is used. Both are unpacked
//! (`dpkg-deb -x`) into a sysroot, [`SYSROOT`], that `UTUN_SYS_LINUX_SYSROOT`
//! points utun-sys's bindgen (and verify-constants' C probe) at. A few MB,
//! a few seconds; kept, and reused while it has the headers.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{on_path, step};

/// Where the headers go, under the workspace root (ignored by git).
pub const DIR: &str = ".tools/linux-uapi";
/// The sysroot in [`DIR`]: `usr/include` with the newer kernel headers and glibc's.
pub const SYSROOT: &str = ".tools/linux-uapi/sysroot";

/// Whether `include` (an `usr/include`) names USO in linux/if_tun.h and
/// linux/virtio_net.h, and has glibc's headers beside them (`features.h`;
/// the shim includes `sys/socket.h`, which Debian keeps under the
/// multiarch directory).
fn names_uso(include: &Path) -> bool {
    let has = |file: &str, name: &str| std::fs::read_to_string(include.join(file)).is_ok_and(|t| t.contains(name));
    has("linux/if_tun.h", "TUN_F_USO4")
        && has("linux/if_tun.h", "TUN_F_USO6")
        && has("linux/virtio_net.h", "VIRTIO_NET_HDR_GSO_UDP_L4")
        && include.join("features.h").is_file()
}

/// What the USO tests build with.
pub enum Headers {
    /// The system's headers (`/usr/include`) already name USO.
    System,
    /// A sysroot with headers that do (for `UTUN_SYS_LINUX_SYSROOT`).
    Sysroot(PathBuf),
    /// None can be had here (why): no Debian apt on a machine whose headers are too old.
    Unavailable(String),
}

/// Finds or fetches headers that name USO (see the module's documentation).
/// An error when apt is there but fetching fails.
pub fn uso_headers(root: &Path) -> Result<Headers> {
    if names_uso(Path::new("/usr/include")) {
        return Ok(Headers::System);
    }
    let sysroot = root.join(SYSROOT);
    if names_uso(&sysroot.join("usr/include")) {
        println!("Linux UAPI headers that name USO: {} (fetched before)", sysroot.display());
        return Ok(Headers::Sysroot(sysroot));
    }
    // Debian only: its archive has `<codename>-backports` with a newer
    // linux-libc-dev (Ubuntu's backports do not, and its own headers are
    // newer anyway from 23.04 on).
    let debian = os_release("ID").as_deref() == Some("debian");
    let codename = os_release("VERSION_CODENAME");
    let (true, Some(codename), true, true) = (debian, codename, on_path("apt-get"), on_path("dpkg-deb")) else {
        return Ok(Headers::Unavailable(
            "/usr/include/linux/if_tun.h lacks TUN_F_USO4 (headers before Linux 6.2) and this is no Debian \
             machine with apt-get and dpkg-deb to fetch newer ones"
                .into(),
        ));
    };
    let dir = root.join(DIR);
    let archive = debian_archive(&codename)?;
    let keyring = Path::new("/usr/share/keyrings/debian-archive-keyring.gpg");
    let signed_by = if keyring.is_file() { format!("[signed-by={}] ", keyring.display()) } else { String::new() };
    let state = dir.join("apt");
    for sub in ["lists/partial", "cache/archives/partial", "sources.list.d"] {
        std::fs::create_dir_all(state.join(sub))?;
    }
    let sources = state.join("sources.list");
    std::fs::write(
        &sources,
        format!("deb {signed_by}{archive} {codename} main\ndeb {signed_by}{archive} {codename}-backports main\n"),
    )?;
    let apt = |cmd: &str| {
        let mut c = Command::new(cmd);
        c.arg("-q")
            .arg("-o")
            .arg(format!("Dir::Etc::sourcelist={}", sources.display()))
            .arg("-o")
            .arg(format!("Dir::Etc::sourceparts={}", state.join("sources.list.d").display()))
            .arg("-o")
            .arg(format!("Dir::State::lists={}", state.join("lists").display()))
            .arg("-o")
            .arg(format!("Dir::Cache={}", state.join("cache").display()))
            .args(["-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache="])
            // The system's dpkg lock is not ours to take: this state is private.
            .args(["-o", "Debug::NoLocking=1", "-o", "Acquire::Languages=none"])
            // Only the package lists (no AppStream metadata, no contents).
            .args(["-o", "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"])
            .args(["-o", "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"])
            .args(["-o", "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"])
            .args(["-o", "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false"]);
        if crate::util::is_root() {
            // apt downloads as `_apt`, who may not write here; root's own checks still apply.
            c.args(["-o", "APT::Sandbox::User=root"]);
        }
        c
    };
    step(
        &format!("apt-get update ({codename} and {codename}-backports, private lists in {})", state.display()),
        apt("apt-get").arg("update"),
    )?;
    let debs = dir.join("debs");
    let _ = std::fs::remove_dir_all(&debs);
    std::fs::create_dir_all(&debs)?;
    step(
        &format!("apt-get download linux-libc-dev/{codename}-backports libc6-dev (checked against signed metadata)"),
        apt("apt-get").current_dir(&debs).args([
            "download",
            &format!("linux-libc-dev/{codename}-backports"),
            "libc6-dev",
        ]),
    )?;
    let fresh = dir.join("sysroot.new");
    let _ = std::fs::remove_dir_all(&fresh);
    std::fs::create_dir_all(&fresh)?;
    for deb in std::fs::read_dir(&debs)? {
        let deb = deb?.path();
        if deb.extension().is_some_and(|e| e == "deb") {
            step(&format!("dpkg-deb -x {}", deb.display()), Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&fresh))?;
        }
    }
    if !names_uso(&fresh.join("usr/include")) {
        bail!(
            "the headers fetched into {} do not name TUN_F_USO4/TUN_F_USO6/VIRTIO_NET_HDR_GSO_UDP_L4",
            fresh.display()
        );
    }
    let _ = std::fs::remove_dir_all(&sysroot);
    std::fs::rename(&fresh, &sysroot)
        .with_context(|| format!("moving {} to {}", fresh.display(), sysroot.display()))?;
    println!("Linux UAPI headers that name USO: {}", sysroot.display());
    Ok(Headers::Sysroot(sysroot))
}

/// A field of /etc/os-release, unquoted.
fn os_release(key: &str) -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

/// The URI of the Debian archive the system's apt sources use for the
/// `codename` suite (its mirror, as configured; `apt-get indextargets`).
fn debian_archive(codename: &str) -> Result<String> {
    let out = Command::new("apt-get")
        .args(["indextargets", "--format", "$(REPO_URI) $(RELEASE)", "Identifier: Packages"])
        .output()
        .context("running apt-get indextargets")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(_, release)| *release == codename)
        .map(|(uri, _)| uri.trim_end_matches('/').to_string())
        .with_context(|| format!("no apt source of this machine serves the {codename} suite:\n{text}"))
}

/// For `cargo xtask ci` (after `cargo xtask test`'s set-up): when
/// `UTUN_SYS_LINUX_SYSROOT` is not set and [`SYSROOT`] has headers that name
/// USO, sets it for this run. Returns whether the Linux headers this run
/// builds with name USO.
pub fn use_for_ci(root: &Path) -> bool {
    if let Some(set) = std::env::var_os("UTUN_SYS_LINUX_SYSROOT").filter(|v| !v.is_empty()) {
        return names_uso(&Path::new(&set).join("usr/include"));
    }
    if names_uso(Path::new("/usr/include")) {
        return true;
    }
    let sysroot = root.join(SYSROOT);
    if !names_uso(&sysroot.join("usr/include")) {
        return false;
    }
    println!("UTUN_SYS_LINUX_SYSROOT={} (Linux UAPI headers that name USO)", sysroot.display());
    // SAFETY: called from the main thread before any other thread exists.
    unsafe { std::env::set_var("UTUN_SYS_LINUX_SYSROOT", &sysroot) };
    true
}

/// `cargo xtask uso-headers`: finds or fetches the headers, and prints the
/// variable to set (the last line of its output), or why there are none.
pub fn command(root: &Path, args: &[String]) -> Result<bool> {
    if let Some(other) = args.first() {
        bail!("uso-headers takes no arguments, got {other}");
    }
    match uso_headers(root)? {
        Headers::System => println!("the system's headers (/usr/include) name USO: nothing to set"),
        Headers::Sysroot(dir) => println!("UTUN_SYS_LINUX_SYSROOT={}", dir.display()),
        Headers::Unavailable(why) => {
            println!("no headers that name USO: {why}");
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether the running kernel is Linux 6.2 or later (`set_offload` knows
/// `TUN_F_USO4`/`TUN_F_USO6`), from /proc/sys/kernel/osrelease.
pub fn kernel_knows_uso() -> bool {
    release_knows_uso(&std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default())
}

/// Whether a kernel release string (`6.18.44-fc-v1098`) is 6.2 or later.
fn release_knows_uso(release: &str) -> bool {
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit()).map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (6, 2),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_from_6_2_know_uso() {
        for yes in ["6.2.0", "6.18.44-fc-v1098", "6.12.95+bpo-amd64", "7.0", "10.1-rc1\n"] {
            assert!(release_knows_uso(yes), "{yes}");
        }
        for no in ["6.1.0-31-amd64", "5.15.0-1057-azure", "4.19", "", "linux", "6"] {
            assert!(!release_knows_uso(no), "{no}");
        }
    }

    #[test]
    fn headers_name_uso_only_with_all_three_values_and_glibc() {
        let dir = std::env::temp_dir().join(format!("xtask-uapi-test-{}", std::process::id()));
        let include = dir.join("usr/include");
        std::fs::create_dir_all(include.join("linux")).unwrap();
        std::fs::write(include.join("linux/if_tun.h"), "#define TUN_F_USO4 0x20\n#define TUN_F_USO6 0x40\n").unwrap();
        std::fs::write(include.join("linux/virtio_net.h"), "#define VIRTIO_NET_HDR_GSO_UDP_L4 5\n").unwrap();
        assert!(!names_uso(&include), "no glibc headers");
        std::fs::write(include.join("features.h"), "").unwrap();
        assert!(names_uso(&include));
        std::fs::write(include.join("linux/virtio_net.h"), "").unwrap();
        assert!(!names_uso(&include), "no VIRTIO_NET_HDR_GSO_UDP_L4");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
