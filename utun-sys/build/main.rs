//! Build script of `utun-sys`: finds the headers for the target being built,
//! runs bindgen over the C shim (`shim/<os>/utun_shim.h`) and writes
//! `$OUT_DIR/<os>.rs` (the bindings) and `$OUT_DIR/<os>.manifest` (how they
//! were made, read by `cargo xtask verify-constants`).
//!
//! In a build script `cfg!(target_os)` is the *host*; the target comes from
//! `CARGO_CFG_TARGET_OS`.
//!
//! It tells rustc `cfg(utun_sys_apple)` when it made the Apple bindings, and
//! tells the build scripts of dependents (through `links`) whether it did:
//! `DEP_UTUN_SYS_APPLE_LAYOUTS` is `1` or `0`, and when `0`,
//! `DEP_UTUN_SYS_APPLE_LAYOUTS_MISSING` says why in one line. With the
//! `apple-layouts` feature on a non-Apple target and
//! `UTUN_SYS_REQUIRE_APPLE_LAYOUTS=0`, missing darwin headers are such a
//! reason rather than an error (the utun workspace's `.cargo/config.toml` sets
//! it, so that a plain `cargo test` runs without them).

mod env;
mod generate;
mod headers;

use std::path::PathBuf;

fn main() {
    let out_dir = PathBuf::from(env::required("OUT_DIR"));
    let target = env::required("TARGET");
    let target_os = env::required("CARGO_CFG_TARGET_OS");
    let target_arch = env::required("CARGO_CFG_TARGET_ARCH");
    let target_abi = std::env::var("CARGO_CFG_TARGET_ABI").unwrap_or_default();
    let platform = headers::Platform::of(&target_os, &target_abi, &target_arch);
    let target_apple = matches!(target_os.as_str(), "macos" | "ios");
    let manifest_dir = PathBuf::from(env::required("CARGO_MANIFEST_DIR"));
    let shim_dir = manifest_dir.join("shim");
    println!("cargo:rerun-if-changed=build");
    println!("cargo:rerun-if-changed=shim");
    println!("cargo:rerun-if-changed=generated");
    println!("cargo:rerun-if-env-changed=LIBCLANG_PATH");
    println!("cargo::rustc-check-cfg=cfg(utun_sys_apple)");
    for (_, cfg) in generate::LINUX_OPTIONAL {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }

    let apple_required = match env::var(REQUIRE_APPLE).as_deref() {
        None | Some("1") => true,
        Some("0") => false,
        Some(other) => fail(&format!("{REQUIRE_APPLE} must be 0 or 1, not {other:?}")),
    };

    let docs_rs = env::var("DOCS_RS").is_some();
    // Whether `utun_sys::apple` is generated (macOS, iOS, or apple-layouts).
    let mut apple_module = false;
    let mut jobs = Vec::new();
    match target_os.as_str() {
        "macos" => jobs.push((generate::Os::Apple, headers::apple_clang_target(&target_arch, platform))),
        // iOS: the packet path only (see generate::Os::Ios).
        "ios" => jobs.push((generate::Os::Ios, headers::apple_clang_target(&target_arch, platform))),
        "linux" => {
            jobs.push((generate::Os::Linux, target.clone()));
            if env::var("CARGO_FEATURE_APPLE_LAYOUTS").is_some() {
                let platform = headers::Platform::MacOs;
                jobs.push((generate::Os::Apple, headers::apple_clang_target(&target_arch, platform)));
            }
        }
        // lib.rs stops the build with a clear compile_error! for any other OS.
        _ => return,
    }

    // Why there is no `apple` module, when there is none.
    let mut apple_missing =
        (target_os != "macos").then(|| format!("utun-sys was built for {target} without its apple-layouts feature"));
    if platform.is_ios() {
        // `apple` exists on iOS, but without the routing socket: dependents
        // that build macOS routing messages (the `apple_layouts` metadata)
        // must not count on it.
        apple_missing =
            Some(format!("utun-sys's bindings for {target} (iOS) have the packet path only, no routing socket"));
    }
    for (os, clang_target) in jobs {
        let out = out_dir.join(format!("{}.rs", os.module()));
        let found = match os {
            _ if target_apple => headers::apple(&target, &target, platform).map_err(|e| e.message),
            generate::Os::Apple | generate::Os::Ios => {
                let found = headers::apple(
                    &target,
                    &format!("the Apple bindings that the apple-layouts feature adds to {target} ({clang_target})"),
                    headers::Platform::MacOs,
                );
                match found {
                    Err(why) if !apple_required => {
                        apple_missing = Some(format!(
                            "utun-sys was built for {target} without the Apple bindings of its apple-layouts \
                             feature ({REQUIRE_APPLE}=0): {}; `cargo xtask test` installs them",
                            why.summary
                        ));
                        continue;
                    }
                    found => found.map_err(|e| e.message),
                }
            }
            generate::Os::Linux => headers::linux(),
        };
        let generated = found.and_then(|found| {
            headers::ensure_libclang()?;
            generate::bindings(os, &clang_target, &found, &shim_dir, &out)?;
            Ok(found)
        });
        let found = match generated {
            Ok(found) => found,
            Err(why) if docs_rs => {
                // docs.rs has no macOS SDK (and may lack libclang): document the
                // snapshot committed in generated/ instead.
                // (The Apple bindings of apple-layouts are those of the Apple
                // target of the same architecture.)
                let snapshot_target = match os {
                    generate::Os::Apple => format!("{target_arch}-apple-darwin"),
                    generate::Os::Ios | generate::Os::Linux => target.clone(),
                };
                let snapshot = manifest_dir.join("generated").join(format!("{snapshot_target}.rs"));
                println!("cargo:warning=utun-sys: DOCS_RS set and {why}; documenting {}", snapshot.display());
                std::fs::copy(&snapshot, &out)
                    .unwrap_or_else(|e| fail(&format!("no docs.rs snapshot at {}: {e}", snapshot.display())));
                if os == generate::Os::Linux {
                    generate::probe_linux_optional(&out);
                }
                generate::write_manifest(&out_dir, os, &clang_target, None, &shim_dir, &[]);
                if os == generate::Os::Apple {
                    apple_missing = None;
                }
                apple_module |= os.is_apple();
                continue;
            }
            Err(why) => fail(&why),
        };
        generate::write_manifest(&out_dir, os, &clang_target, Some(&found), &shim_dir, &found.own_declarations);
        if os == generate::Os::Linux {
            generate::probe_linux_optional(&out);
        }
        if os == generate::Os::Apple {
            apple_missing = None;
        }
        apple_module |= os.is_apple();
    }

    if apple_module {
        println!("cargo::rustc-cfg=utun_sys_apple");
    }
    match apple_missing {
        None => println!("cargo::metadata=apple_layouts=1"),
        Some(why) => {
            println!("cargo::metadata=apple_layouts=0");
            println!("cargo::metadata=apple_layouts_missing={why}");
        }
    }
}

/// `0` lets a build with the `apple-layouts` feature for a non-Apple target go
/// on without the Apple bindings when it finds no darwin headers; `1` (or
/// unset) makes that an error. Building for an Apple target always needs them.
const REQUIRE_APPLE: &str = "UTUN_SYS_REQUIRE_APPLE_LAYOUTS";

/// Stops the build with a message of several lines that says what to do.
fn fail(why: &str) -> ! {
    eprintln!("\nerror: utun-sys cannot generate its bindings\n\n{why}\n");
    std::process::exit(1);
}
