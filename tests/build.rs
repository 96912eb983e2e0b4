//! Tells the tests whether `utun_sys::apple` exists on this host (it does
//! not where `utun-sys` found no darwin headers and was told to go on
//! without them): `cfg(utun_apple_layouts)`, as utun's own build script.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(utun_apple_layouts)");
    if std::env::var("DEP_UTUN_SYS_APPLE_LAYOUTS").as_deref() == Ok("1") {
        println!("cargo::rustc-cfg=utun_apple_layouts");
    }
}
