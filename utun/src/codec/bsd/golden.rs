//! Golden bytes from the C compiler: C initializers (`const` globals) are
//! compiled with `clang -c` for both Apple targets against the darwin
//! headers, and each global's bytes are read back out of the Mach-O object
//! with the `object` crate (nothing built for the target is run). The tests
//! compare them byte for byte with what the Rust code builds.
//!
//! The headers are found the way `utun-sys`'s build script finds them
//! (`utun-sys/build/headers.rs`): `UTUN_SYS_DARWIN_INCLUDE_<target>` or
//! `UTUN_SYS_DARWIN_INCLUDE` (a plain include directory, `-nostdlibinc
//! -isystem`), else `SDKROOT` (`-isysroot`), else on a Mac `xcrun`. Headers
//! the set lacks are replaced by `utun-sys/shim/apple/own/` as the build does.
//! The C compiler is `UTUN_PROBE_CC` or `clang`, as for
//! `cargo xtask verify-constants`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSection, ObjectSymbol, SectionKind};

/// The two Apple targets: clang's name, Rust's name.
pub(crate) const TARGETS: [(&str, &str); 2] =
    [("arm64-apple-macos11", "aarch64-apple-darwin"), ("x86_64-apple-macos10.12", "x86_64-apple-darwin")];

/// The shim's directory (`-I` for `apple/utun_shim.h`).
const SHIM_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../utun-sys/shim");

/// Headers some darwin header sets lack, and the shim macro that swaps in
/// utun-sys's own declarations (the list of `utun-sys/build/headers.rs`).
const APPLE_OWN: [(&str, &str); 3] = [
    ("sys/sys_domain.h", "UTUN_SHIM_OWN_SYS_DOMAIN"),
    ("netinet6/in6_var.h", "UTUN_SHIM_OWN_IN6_VAR"),
    ("netinet6/nd6.h", "UTUN_SHIM_OWN_ND6"),
];

/// What every golden C file starts with.
const PRELUDE: &str = r#"
#include "apple/utun_shim.h"
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>

/* The sockaddr rounding of route(8) (ROUNDUP) and XNU rtsock.c (ROUNDUP32). */
#define GOLDEN_ROUNDUP(a) ((a) > 0 ? (1 + (((a) - 1) | (sizeof(uint32_t) - 1))) : sizeof(uint32_t))
/* An IPv4 address a.b.c.d in network byte order. */
#define GOLDEN_IPV4(a, b, c, d) \
    htonl(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define GOLDEN_SIN(a, b, c, d) \
    { .sin_len = sizeof(struct sockaddr_in), .sin_family = AF_INET, .sin_addr = { GOLDEN_IPV4(a, b, c, d) } }
#define GOLDEN_SIN6(...) \
    { .sin6_len = sizeof(struct sockaddr_in6), .sin6_family = AF_INET6, .sin6_addr.s6_addr = { __VA_ARGS__ } }
#define GOLDEN_SDL(index, name) \
    { .sdl_len = sizeof(struct sockaddr_dl), .sdl_family = AF_LINK, .sdl_index = (index), \
      .sdl_type = IFT_OTHER, .sdl_nlen = sizeof(name) - 1, .sdl_data = name }
"#;

/// The header arguments for one target, and a description for messages.
fn header_args(rust_target: &str) -> Result<(Vec<String>, PathBuf, String), String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let per_target = format!("UTUN_SYS_DARWIN_INCLUDE_{}", rust_target.replace('-', "_"));
    if let Some(dir) = var(&per_target).or_else(|| var("UTUN_SYS_DARWIN_INCLUDE")) {
        let args = vec!["-nostdlibinc".into(), "-isystem".into(), dir.clone()];
        return Ok((args, PathBuf::from(&dir), format!("darwin headers at {dir} (UTUN_SYS_DARWIN_INCLUDE)")));
    }
    let sdk = var("SDKROOT").or_else(|| {
        if !cfg!(target_os = "macos") {
            return None;
        }
        let out = Command::new("xcrun").args(["--sdk", "macosx", "--show-sdk-path"]).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    });
    match sdk {
        Some(sdk) => {
            let root = Path::new(&sdk).join("usr/include");
            Ok((vec!["-isysroot".into(), sdk.clone()], root, format!("macOS SDK at {sdk}")))
        }
        None => fallback(rust_target).ok_or_else(|| {
            "the golden-bytes tests compile C for the Apple targets and need darwin headers, and none \
             are configured: run `cargo xtask test` (it installs them), or set UTUN_SYS_DARWIN_INCLUDE to a \
             darwin include directory (PyPI ziglang's lib/libc/include/any-darwin-any) or SDKROOT to a \
             MacOSX.sdk"
                .to_string()
        }),
    }
}

/// `UTUN_SYS_DARWIN_INCLUDE_FALLBACK` (the workspace's `.cargo/config.toml`
/// points it at `.venv/darwin-include`, where `cargo xtask test` links
/// ziglang's headers), by the build script's rule: only when neither
/// `UTUN_SYS_DARWIN_INCLUDE[_<target>]` nor `SDKROOT` is set, even empty,
/// and the directory holds darwin headers.
fn fallback(rust_target: &str) -> Option<(Vec<String>, PathBuf, String)> {
    let set = |name: &str| std::env::var_os(name).is_some();
    let per_target = format!("UTUN_SYS_DARWIN_INCLUDE_{}", rust_target.replace('-', "_"));
    if set(&per_target) || set("UTUN_SYS_DARWIN_INCLUDE") || set("SDKROOT") {
        return None;
    }
    let dir = std::env::var("UTUN_SYS_DARWIN_INCLUDE_FALLBACK").ok().filter(|d| !d.is_empty())?;
    Path::new(&dir).join("sys/kern_control.h").is_file().then(|| {
        let args = vec!["-nostdlibinc".into(), "-isystem".into(), dir.clone()];
        (args, PathBuf::from(&dir), format!("darwin headers at {dir} (UTUN_SYS_DARWIN_INCLUDE_FALLBACK)"))
    })
}

/// The golden values of one target, by name (`golden_<name>` in the C).
pub(crate) struct TargetGoldens {
    /// clang's target name.
    pub(crate) clang_target: &'static str,
    /// The bytes of each global.
    pub(crate) values: HashMap<String, Vec<u8>>,
}

/// Compiles `definitions` (C defining `golden_<name>` for every name in
/// `names`) for both Apple targets and reads every value back.
pub(crate) fn compile(definitions: &str, names: &[&str]) -> Result<Vec<TargetGoldens>, String> {
    let mut source = String::from(PRELUDE);
    source.push_str(definitions);
    for name in names {
        source.push_str(&format!("\nconst unsigned long long golden_size_{name} = sizeof(golden_{name});\n"));
    }
    let dir = std::env::temp_dir().join(format!("utun-bsd-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let src = dir.join("golden.c");
    std::fs::write(&src, &source).map_err(|e| format!("writing {}: {e}", src.display()))?;
    let result = TARGETS.iter().map(|&(clang, rust)| compile_one(&src, &dir, clang, rust, names)).collect();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn compile_one(
    src: &Path,
    dir: &Path,
    clang_target: &'static str,
    rust_target: &str,
    names: &[&str],
) -> Result<TargetGoldens, String> {
    let (args, root, description) = header_args(rust_target)?;
    let force_own = std::env::var("UTUN_SYS_OWN_DECLARATIONS").is_ok_and(|v| v == "1");
    let obj = dir.join(format!("golden-{clang_target}.o"));
    let cc = std::env::var("UTUN_PROBE_CC").unwrap_or_else(|_| "clang".into());
    let mut cmd = Command::new(&cc);
    cmd.arg("-c").arg(format!("--target={clang_target}")).args(&args).arg(format!("-I{SHIM_DIR}"));
    for (header, define) in APPLE_OWN {
        if force_own || !root.join(header).is_file() {
            cmd.arg(format!("-D{define}"));
        }
    }
    cmd.args(["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers", "-o"]).arg(&obj).arg(src);
    let out = cmd.output().map_err(|e| format!("running {cc} (set UTUN_PROBE_CC, or install clang): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cc} failed for {clang_target} with {description}:\n{}\nsource:\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(src).unwrap_or_default()
        ));
    }
    let data = std::fs::read(&obj).map_err(|e| format!("reading {}: {e}", obj.display()))?;
    let values = read_values(&data, names).map_err(|e| format!("{}: {e}", obj.display()))?;
    Ok(TargetGoldens { clang_target, values })
}

/// The bytes of every `golden_<name>`, sized by `golden_size_<name>`.
fn read_values(data: &[u8], names: &[&str]) -> Result<HashMap<String, Vec<u8>>, String> {
    let file = object::File::parse(data).map_err(|e| e.to_string())?;
    let symbol_bytes = |symbol: &str, len: usize| -> Result<Vec<u8>, String> {
        // Mach-O prefixes C symbols with an underscore.
        let mangled = format!("_{symbol}");
        let sym = file
            .symbols()
            .find(|s| s.name().is_ok_and(|n| n == mangled || n == symbol))
            .ok_or_else(|| format!("no symbol {symbol}"))?;
        let index = sym.section_index().ok_or_else(|| format!("{symbol} has no section"))?;
        let section = file.section_by_index(index).map_err(|e| e.to_string())?;
        if matches!(section.kind(), SectionKind::UninitializedData | SectionKind::UninitializedTls) {
            return Ok(vec![0; len]);
        }
        let start = usize::try_from(sym.address().saturating_sub(section.address())).map_err(|e| e.to_string())?;
        let bytes = section.data().map_err(|e| e.to_string())?;
        bytes.get(start..start + len).map(<[u8]>::to_vec).ok_or_else(|| format!("{symbol} runs past its section"))
    };
    let mut values = HashMap::new();
    for name in names {
        // Both Apple targets are little-endian.
        let size = symbol_bytes(&format!("golden_size_{name}"), 8)?;
        let size = u64::from_le_bytes(size.try_into().map_err(|_| "size is not 8 bytes")?);
        let size = usize::try_from(size).map_err(|e| e.to_string())?;
        values.insert((*name).to_string(), symbol_bytes(&format!("golden_{name}"), size)?);
    }
    Ok(values)
}

/// A hex dump of `bytes`, 16 a line, with offsets, marking the bytes that
/// differ from `other`.
pub(crate) fn hex_diff(bytes: &[u8], other: &[u8]) -> String {
    let mut out = String::new();
    for (line, chunk) in bytes.chunks(16).enumerate() {
        out.push_str(&format!("  {:4}:", line * 16));
        for (i, b) in chunk.iter().enumerate() {
            let mark = if other.get(line * 16 + i) == Some(b) { ' ' } else { '*' };
            out.push_str(&format!(" {b:02x}{mark}"));
        }
        out.push('\n');
    }
    out
}
