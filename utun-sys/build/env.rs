//! Environment access that tells cargo what the build depends on.

/// Reads `NAME`, printing `rerun-if-env-changed` so that cargo reruns the
/// build script when it changes (once a script prints any `rerun-if-*`, cargo
/// reruns it only for what it names).
pub fn var(name: &str) -> Option<String> {
    println!("cargo:rerun-if-env-changed={name}");
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Reads `NAME_<target>` (target with `-` as `_`), then `NAME`, the way
/// openssl-sys and cc do, so cross builds can set one value per target.
pub fn target_var(name: &str, target: &str) -> Option<String> {
    var(&format!("{name}_{}", target.replace('-', "_"))).or_else(|| var(name))
}

/// A variable cargo always sets for build scripts.
pub fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| super::fail(&format!("cargo did not set {name}")))
}
