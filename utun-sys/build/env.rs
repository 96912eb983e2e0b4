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

/// Whether `NAME` is set at all, even to the empty string (which [`var`]
/// reads as unset): setting a variable empty is how one says "none of these".
pub fn is_set(name: &str) -> bool {
    println!("cargo:rerun-if-env-changed={name}");
    std::env::var_os(name).is_some()
}

/// Whether `NAME_<target>` or `NAME` is set at all (see [`is_set`]).
pub fn target_is_set(name: &str, target: &str) -> bool {
    is_set(&format!("{name}_{}", target.replace('-', "_"))) || is_set(name)
}

/// A variable cargo always sets for build scripts.
pub fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| super::fail(&format!("cargo did not set {name}")))
}
