//! Where the C headers come from, per target, with errors that name the fix.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::env;

/// Headers that some Apple header sets lack (PyPI ziglang's darwin headers lack
/// the last three; the iPhoneOS SDK lacks the first two as well), with the
/// shim macro that swaps in utun-sys's own declarations for them.
pub const APPLE_OWN: &[(&str, &str)] = &[
    ("sys/kern_control.h", "UTUN_SHIM_OWN_KERN_CONTROL"),
    ("net/if_utun.h", "UTUN_SHIM_OWN_IF_UTUN"),
    ("sys/sys_domain.h", "UTUN_SHIM_OWN_SYS_DOMAIN"),
    ("netinet6/in6_var.h", "UTUN_SHIM_OWN_IN6_VAR"),
    ("netinet6/nd6.h", "UTUN_SHIM_OWN_ND6"),
];

/// The headers found for one target.
pub struct Found {
    /// Which header set this is, said in the manifest and by verify-constants.
    pub description: String,
    /// Arguments that point clang at the headers (and nothing else).
    pub clang_args: Vec<String>,
    /// Headers replaced by utun-sys's own declarations (see `APPLE_OWN`).
    pub own_declarations: Vec<String>,
    /// The include directory the headers are in (`<sdk>/usr/include`), where
    /// verify-constants looks for the real headers own declarations replace.
    pub include_root: PathBuf,
}

/// Which Apple platform the bindings are for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// macOS: the whole surface.
    MacOs,
    /// iOS on a device.
    Ios,
    /// iOS in the simulator (`aarch64-apple-ios-sim`, `x86_64-apple-ios`).
    IosSimulator,
}

impl Platform {
    /// The platform of a Rust Apple target (`CARGO_CFG_TARGET_OS`, `_ABI`).
    pub fn of(target_os: &str, target_abi: &str, arch: &str) -> Platform {
        match target_os {
            "ios" if target_abi == "macabi" => {
                crate::fail("utun-sys supports iOS on a device and in the simulator, not Mac Catalyst (macabi)")
            }
            // x86_64-apple-ios is the simulator; rustc gives it the `sim` ABI too.
            "ios" if target_abi == "sim" || arch == "x86_64" => Platform::IosSimulator,
            "ios" => Platform::Ios,
            _ => Platform::MacOs,
        }
    }

    /// iOS (device or simulator): the packet path only (no routing socket).
    pub fn is_ios(self) -> bool {
        self != Platform::MacOs
    }

    /// The `xcrun --sdk` name of its SDK.
    fn sdk(self) -> &'static str {
        match self {
            Platform::MacOs => "macosx",
            Platform::Ios => "iphoneos",
            Platform::IosSimulator => "iphonesimulator",
        }
    }

    /// A header every header set of this platform has, that tells a darwin
    /// include directory from another (the iPhoneOS SDK has no kern_control.h).
    fn sentinel(self) -> &'static str {
        if self.is_ios() { "sys/sockio.h" } else { "sys/kern_control.h" }
    }
}

/// clang's name for an Apple target of a Rust `target_arch`. The minimum OS
/// versions match rustc's defaults for these targets.
pub fn apple_clang_target(arch: &str, platform: Platform) -> String {
    match (arch, platform) {
        ("aarch64", Platform::MacOs) => "arm64-apple-macos11".into(),
        ("x86_64", Platform::MacOs) => "x86_64-apple-macos10.12".into(),
        ("aarch64", Platform::Ios) => "arm64-apple-ios10.0".into(),
        ("aarch64", Platform::IosSimulator) => "arm64-apple-ios14.0-simulator".into(),
        ("x86_64", Platform::IosSimulator) => "x86_64-apple-ios10.0-simulator".into(),
        (other, _) => crate::fail(&format!("utun-sys supports aarch64 and x86_64 Apple targets, not {other}")),
    }
}

/// The variable the utun workspace's `.cargo/config.toml` sets to
/// `.venv/darwin-include`, where `cargo xtask test` links PyPI ziglang's darwin
/// headers: the last place looked, and only when nothing else is configured.
pub const FALLBACK: &str = "UTUN_SYS_DARWIN_INCLUDE_FALLBACK";

/// Why no Apple headers were found: a one-line summary (the reason a build
/// that may go on without them gives) and the full message that names the fix.
pub struct NotFound {
    /// One line: what was looked at, and what was missing.
    pub summary: String,
    /// The whole error, with what to install or set.
    pub message: String,
}

/// Apple headers, in order: `UTUN_SYS_DARWIN_INCLUDE` (a plain include
/// directory such as ziglang's `lib/libc/include/any-darwin-any`), `SDKROOT`,
/// `xcrun --sdk <macosx|iphoneos|iphonesimulator> --show-sdk-path` when the
/// host is a Mac, then [`FALLBACK`] when neither of the two variables is set
/// (even empty) and the directory it names exists. iOS uses the same darwin
/// headers as macOS when no iOS SDK is configured: the kernel interface is the
/// same, and what the iPhoneOS SDK leaves out comes from [`APPLE_OWN`].
pub fn apple(target: &str, what: &str, platform: Platform) -> Result<Found, NotFound> {
    let (description, clang_args, root) = if let Some(dir) = env::target_var("UTUN_SYS_DARWIN_INCLUDE", target) {
        include_args(PathBuf::from(dir), "UTUN_SYS_DARWIN_INCLUDE")
    } else if let Some(sdk) = env::var("SDKROOT") {
        sdk_args(PathBuf::from(sdk), "SDKROOT")
    } else if let Some(sdk) = xcrun_sdk(platform) {
        sdk_args(sdk, &format!("xcrun --sdk {} --show-sdk-path", platform.sdk()))
    } else {
        return fallback(target, what, platform);
    };
    let sentinel = platform.sentinel();
    if !root.join(sentinel).is_file() {
        let summary = format!("{description} has no {sentinel}");
        let message = format!(
            "{summary} ({} is not a darwin include directory).\n\n{}",
            root.display(),
            no_apple_headers(what, platform)
        );
        return Err(NotFound { summary, message });
    }
    Ok(found(description, clang_args, &root))
}

/// The workspace's default, [`FALLBACK`]: used only when it holds darwin
/// headers and neither `UTUN_SYS_DARWIN_INCLUDE` nor `SDKROOT` is set.
fn fallback(target: &str, what: &str, platform: Platform) -> Result<Found, NotFound> {
    let configured = env::target_is_set("UTUN_SYS_DARWIN_INCLUDE", target) || env::is_set("SDKROOT");
    let unset = if configured { "name no headers" } else { "are unset" };
    let mut summary = format!("no darwin headers: UTUN_SYS_DARWIN_INCLUDE and SDKROOT {unset}");
    if cfg!(target_os = "macos") {
        summary.push_str(", and xcrun found no SDK");
    }
    let Some(dir) = env::var(FALLBACK).filter(|_| !configured).map(PathBuf::from) else {
        return Err(NotFound { summary, message: no_apple_headers(what, platform) });
    };
    // Rerun when `cargo xtask test` makes the link (a missing path would rerun
    // the build script on every build, so watch its parent until then).
    let watched = if dir.exists() { Some(dir.as_path()) } else { dir.parent().filter(|p| p.is_dir()) };
    if let Some(watched) = watched {
        println!("cargo:rerun-if-changed={}", watched.display());
    }
    if !dir.join(platform.sentinel()).is_file() {
        return Err(NotFound {
            summary: format!("{summary}, and {FALLBACK} names {}, which has none", dir.display()),
            message: format!(
                "{}\n\n{FALLBACK} (which the utun workspace's .cargo/config.toml sets) names {}, where\n\
                 `cargo xtask test` links ziglang's darwin headers; there are none there yet.",
                no_apple_headers(what, platform),
                dir.display()
            ),
        });
    }
    let (description, clang_args, root) = include_args(dir, FALLBACK);
    Ok(found(description, clang_args, &root))
}

fn found(description: String, clang_args: Vec<String>, root: &Path) -> Found {
    let force_own = env::var("UTUN_SYS_OWN_DECLARATIONS").is_some_and(|v| v == "1");
    let own_declarations = APPLE_OWN
        .iter()
        .filter(|(header, _)| force_own || !root.join(header).is_file())
        .map(|(header, _)| header.to_string())
        .collect();
    Found { description, clang_args, own_declarations, include_root: root.to_path_buf() }
}

/// The platform's SDK as `xcrun` reports it, on a Mac.
fn xcrun_sdk(platform: Platform) -> Option<PathBuf> {
    if !cfg!(target_os = "macos") {
        return None;
    }
    let out = Command::new("xcrun").args(["--sdk", platform.sdk(), "--show-sdk-path"]).output().ok()?;
    out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn include_args(dir: PathBuf, how: &str) -> (String, Vec<String>, PathBuf) {
    let args = vec!["-nostdlibinc".into(), "-isystem".into(), dir.display().to_string()];
    (format!("darwin headers at {} ({how})", dir.display()), args, dir)
}

fn sdk_args(sdk: PathBuf, how: &str) -> (String, Vec<String>, PathBuf) {
    let args = vec!["-isysroot".into(), sdk.display().to_string()];
    (format!("SDK at {} ({how})", sdk.display()), args, sdk.join("usr/include"))
}

fn no_apple_headers(what: &str, platform: Platform) -> String {
    let ios = if platform.is_ios() {
        format!(
            "- for iOS on a Mac: install Xcode (the command line tools have no iOS SDK), so that\n\
             \x20 `xcrun --sdk {} --show-sdk-path` finds it, or set SDKROOT to that SDK;\n",
            platform.sdk()
        )
    } else {
        String::new()
    };
    format!(
        "No Apple headers were found for {what}. Do one of these:\n{ios}\
         - on a Mac: install the Xcode command line tools (`xcode-select --install`), or set\n\
           SDKROOT to an SDK (`export SDKROOT=$(xcrun --sdk macosx --show-sdk-path)`);\n\
         - elsewhere: set SDKROOT to a copy of MacOSX.sdk, or set UTUN_SYS_DARWIN_INCLUDE to the\n\
           darwin headers PyPI's ziglang package ships:\n\
             python3 -m venv .venv && .venv/bin/pip install ziglang\n\
             export UTUN_SYS_DARWIN_INCLUDE=$(.venv/bin/python -c 'import ziglang,os; print(os.path.join(os.path.dirname(ziglang.__file__), \"lib/libc/include/any-darwin-any\"))')\n\
         (In the utun repository `cargo xtask test` does this, and links the headers to\n\
         .venv/darwin-include, where the repository's .cargo/config.toml points builds.)"
    )
}

/// Linux UAPI headers: the system's (Debian's linux-libc-dev), or those under
/// `UTUN_SYS_LINUX_SYSROOT` for a cross build.
pub fn linux() -> Result<Found, String> {
    let (description, clang_args, root) = match env::var("UTUN_SYS_LINUX_SYSROOT") {
        Some(sysroot) => {
            let root = Path::new(&sysroot).join("usr/include");
            (format!("Linux headers in sysroot {sysroot}"), vec![format!("--sysroot={sysroot}")], root)
        }
        None => ("Linux UAPI headers in /usr/include".to_string(), Vec::new(), PathBuf::from("/usr/include")),
    };
    if !root.join("linux/if_tun.h").is_file() {
        return Err(format!(
            "{} has no linux/if_tun.h. Install the kernel's UAPI headers:\n\
             - Debian/Ubuntu: apt-get install linux-libc-dev\n\
             - Fedora: dnf install kernel-headers\n\
             or set UTUN_SYS_LINUX_SYSROOT to a sysroot that has them.",
            root.display()
        ));
    }
    Ok(Found { description, clang_args, own_declarations: Vec::new(), include_root: root })
}

/// Loads libclang up front so that its absence is a clear error, not a panic
/// deep inside bindgen.
pub fn ensure_libclang() -> Result<(), String> {
    if clang_sys::is_loaded() {
        return Ok(());
    }
    clang_sys::load().map_err(|e| {
        format!(
            "bindgen needs libclang (version 9 or later) and could not load it: {e}\n\
             - Debian/Ubuntu: apt-get install libclang-dev clang\n\
             - Fedora: dnf install clang-devel\n\
             - macOS: xcode-select --install\n\
             or set LIBCLANG_PATH to the directory that holds libclang.so / libclang.dylib."
        )
    })
}
