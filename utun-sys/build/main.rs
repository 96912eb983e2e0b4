//! Build script of `utun-sys`: finds the headers for the target being built,
//! runs bindgen over the C shim (`shim/<os>/utun_shim.h`) and writes
//! `$OUT_DIR/<os>.rs` (the bindings) and `$OUT_DIR/<os>.manifest` (how they
//! were made, read by `cargo xtask verify-constants`).
//!
//! In a build script `cfg!(target_os)` is the *host*; the target comes from
//! `CARGO_CFG_TARGET_OS`.

mod env;
mod generate;
mod headers;

use std::path::PathBuf;

fn main() {
    let out_dir = PathBuf::from(env::required("OUT_DIR"));
    let target = env::required("TARGET");
    let target_os = env::required("CARGO_CFG_TARGET_OS");
    let target_arch = env::required("CARGO_CFG_TARGET_ARCH");
    let manifest_dir = PathBuf::from(env::required("CARGO_MANIFEST_DIR"));
    let shim_dir = manifest_dir.join("shim");
    println!("cargo:rerun-if-changed=build");
    println!("cargo:rerun-if-changed=shim");
    println!("cargo:rerun-if-changed=generated");
    println!("cargo:rerun-if-env-changed=LIBCLANG_PATH");

    let docs_rs = env::var("DOCS_RS").is_some();
    let mut jobs = Vec::new();
    match target_os.as_str() {
        "macos" => jobs.push((generate::Os::Apple, headers::apple_clang_target(&target_arch))),
        "linux" => {
            jobs.push((generate::Os::Linux, target.clone()));
            if env::var("CARGO_FEATURE_APPLE_LAYOUTS").is_some() {
                jobs.push((generate::Os::Apple, headers::apple_clang_target(&target_arch)));
            }
        }
        // lib.rs stops the build with a clear compile_error! for any other OS.
        _ => return,
    }

    for (os, clang_target) in jobs {
        let out = out_dir.join(format!("{}.rs", os.module()));
        let found = match os {
            generate::Os::Apple if target_os == "macos" => headers::apple(&target, &target),
            generate::Os::Apple => headers::apple(
                &target,
                &format!("the Apple bindings that the apple-layouts feature adds to {target} ({clang_target})"),
            ),
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
                let snapshot = manifest_dir.join("generated").join(format!("{target}.rs"));
                println!("cargo:warning=utun-sys: DOCS_RS set and {why}; documenting {}", snapshot.display());
                std::fs::copy(&snapshot, &out)
                    .unwrap_or_else(|e| fail(&format!("no docs.rs snapshot at {}: {e}", snapshot.display())));
                generate::write_manifest(&out_dir, os, &clang_target, None, &shim_dir, &[]);
                continue;
            }
            Err(why) => fail(&why),
        };
        generate::write_manifest(&out_dir, os, &clang_target, Some(&found), &shim_dir, &found.own_declarations);
    }
}

/// Stops the build with a message of several lines that says what to do.
fn fail(why: &str) -> ! {
    eprintln!("\nerror: utun-sys cannot generate its bindings\n\n{why}\n");
    std::process::exit(1);
}
