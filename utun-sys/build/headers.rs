//! Where the C headers come from, per target, with errors that name the fix.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::env;

/// Headers that some Apple header sets lack (PyPI ziglang's darwin headers do),
/// with the shim macro that swaps in utun-sys's own declarations for them.
pub const APPLE_OWN: &[(&str, &str)] = &[
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
}

/// clang's name for the Apple target of a Rust `target_arch`. The minimum OS
/// version matches rustc's defaults for the two targets.
pub fn apple_clang_target(arch: &str) -> String {
    match arch {
        "aarch64" => "arm64-apple-macos11".into(),
        "x86_64" => "x86_64-apple-macos10.12".into(),
        other => crate::fail(&format!("utun-sys supports aarch64 and x86_64 Apple targets, not {other}")),
    }
}

/// Apple headers, in order: `UTUN_SYS_DARWIN_INCLUDE` (a plain include
/// directory such as ziglang's `lib/libc/include/any-darwin-any`), `SDKROOT`,
/// then `xcrun --sdk macosx --show-sdk-path` when the host is a Mac.
pub fn apple(target: &str, what: &str) -> Result<Found, String> {
    let (description, clang_args, root) = if let Some(dir) = env::target_var("UTUN_SYS_DARWIN_INCLUDE", target) {
        let dir = PathBuf::from(dir);
        let args = vec!["-nostdlibinc".into(), "-isystem".into(), dir.display().to_string()];
        (format!("darwin headers at {} (UTUN_SYS_DARWIN_INCLUDE)", dir.display()), args, dir)
    } else if let Some(sdk) = env::var("SDKROOT") {
        sdk_args(PathBuf::from(sdk), "SDKROOT")
    } else if cfg!(target_os = "macos") {
        let out = Command::new("xcrun").args(["--sdk", "macosx", "--show-sdk-path"]).output();
        match out {
            Ok(out) if out.status.success() => {
                let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
                sdk_args(PathBuf::from(path), "xcrun --sdk macosx --show-sdk-path")
            }
            _ => return Err(no_apple_headers(what)),
        }
    } else {
        return Err(no_apple_headers(what));
    };
    if !root.join("sys/kern_control.h").is_file() {
        return Err(format!(
            "{description} has no sys/kern_control.h ({} is not a darwin include directory).\n\n{}",
            root.display(),
            no_apple_headers(what)
        ));
    }
    let force_own = env::var("UTUN_SYS_OWN_DECLARATIONS").is_some_and(|v| v == "1");
    let own_declarations = APPLE_OWN
        .iter()
        .filter(|(header, _)| force_own || !root.join(header).is_file())
        .map(|(header, _)| header.to_string())
        .collect();
    Ok(Found { description, clang_args, own_declarations })
}

fn sdk_args(sdk: PathBuf, how: &str) -> (String, Vec<String>, PathBuf) {
    let args = vec!["-isysroot".into(), sdk.display().to_string()];
    (format!("macOS SDK at {} ({how})", sdk.display()), args, sdk.join("usr/include"))
}

fn no_apple_headers(what: &str) -> String {
    format!(
        "No Apple headers were found for {what}. Do one of these:\n\
         - on a Mac: install the Xcode command line tools (`xcode-select --install`), or set\n\
           SDKROOT to an SDK (`export SDKROOT=$(xcrun --sdk macosx --show-sdk-path)`);\n\
         - elsewhere: set SDKROOT to a copy of MacOSX.sdk, or set UTUN_SYS_DARWIN_INCLUDE to the\n\
           darwin headers PyPI's ziglang package ships:\n\
             python3 -m venv .venv && .venv/bin/pip install ziglang\n\
             export UTUN_SYS_DARWIN_INCLUDE=$(.venv/bin/python -c 'import ziglang,os; print(os.path.join(os.path.dirname(ziglang.__file__), \"lib/libc/include/any-darwin-any\"))')\n\
         (`cargo xtask test` in the utun repository does exactly this.)"
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
    Ok(Found { description, clang_args, own_declarations: Vec::new() })
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
