//! TEMPORARY (replaced by the newcomer branch's build script): the Apple
//! layouts are there when building for Apple or with darwin headers.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(utun_apple_layouts)");
    println!("cargo::rustc-cfg=utun_apple_layouts");
}
