//! Build script of `utun`: tells the crate whether `utun_sys::apple` exists,
//! so that code and tests built on the Apple layouts on a non-Apple host
//! (through `utun-sys`'s `apple-layouts` feature, a dev-dependency) can be
//! compiled only when it does.
//!
//! * `cfg(utun_apple_layouts)`: `utun_sys::apple` exists (always on Apple
//!   targets; elsewhere when `utun-sys` found darwin headers).
//! * `UTUN_APPLE_LAYOUTS_MISSING` (a compile-time environment variable, read
//!   with `env!`): set only when it does not exist, to one line that says why,
//!   for a test that reports itself skipped.
//!
//! Both come from `utun-sys`'s build script, through its `links` metadata
//! (`DEP_UTUN_SYS_APPLE_LAYOUTS`, `DEP_UTUN_SYS_APPLE_LAYOUTS_MISSING`).

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(utun_apple_layouts)");
    let dep = |key: &str| std::env::var(format!("DEP_UTUN_SYS_{key}")).ok();
    match dep("APPLE_LAYOUTS").as_deref() {
        Some("1") => println!("cargo::rustc-cfg=utun_apple_layouts"),
        Some(_) => {
            let why = dep("APPLE_LAYOUTS_MISSING").unwrap_or_else(|| "utun-sys gave no reason".into());
            println!("cargo::rustc-env=UTUN_APPLE_LAYOUTS_MISSING={why}");
        }
        None => println!(
            "cargo::rustc-env=UTUN_APPLE_LAYOUTS_MISSING=utun-sys did not say whether it made its Apple \
             bindings (no DEP_UTUN_SYS_APPLE_LAYOUTS)"
        ),
    }
}
