//! `cargo xtask verify-constants`: every constant, size and offset utun-sys
//! exports, compared with an independent C probe compiled against the same
//! headers for the same target. Both sides are read out of compiled objects;
//! nothing is executed for the target, so this runs on Linux and on a Mac.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::bindings;
use crate::objread::{probe_values, u64_le};
use crate::probe::{self, BYTES, Check};
use crate::util::{cargo, run};

/// Command-line options.
#[derive(Debug, Default)]
pub struct Options {
    pub targets: Vec<String>,
    /// Build utun-sys with its own declarations for every header it can
    /// replace and compare them with the real SDK's headers.
    pub own_declarations: bool,
    /// With `own_declarations`: the SDK whose real headers the C probe
    /// compiles (`--reference-sdk`, e.g. the macOS SDK for an iOS target,
    /// whose own SDK lacks them); by default the headers utun-sys was built with.
    pub reference_sdk: Option<PathBuf>,
    /// Perturb this item's values on the Rust side (to prove mismatches fail).
    pub inject: Option<String>,
}

/// The Apple targets checked when no `--target` is given.
pub const DEFAULT_TARGETS: &[&str] = &["aarch64-apple-darwin", "x86_64-apple-darwin"];

/// The iOS targets: the packet path's bindings. Only `aarch64-apple-ios` has a
/// standard library here (rustup could not download the two simulator ones on
/// this workplace's machines); macOS CI checks all three.
pub const IOS_TARGETS: &[&str] = &["aarch64-apple-ios"];

/// A compared value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(u64),
    Bytes(Vec<u8>),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(v) if (*v as i64) < 0 => write!(f, "{}", *v as i64),
            Value::Int(v) if *v > 0xffff => write!(f, "{v:#X}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::Bytes(b) => {
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                write!(f, "{:?}", String::from_utf8_lossy(&b[..end]))
            }
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Equal, and the SDK value came from the SDK's own headers.
    Ok,
    /// Equal, but both sides rest on utun-sys's own declaration of a header
    /// this SDK lacks: proven only by `--own-declarations` on a full SDK.
    OkOwn,
    /// utun-sys's own declaration compared with the real SDK header: equal.
    OwnProven,
    Mismatch,
    /// A probe symbol was missing from an object.
    Missing,
}

impl Verdict {
    fn text(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::OkOwn => "ok*",
            Verdict::OwnProven => "ok (own declaration = SDK)",
            Verdict::Mismatch => "MISMATCH",
            Verdict::Missing => "MISSING",
        }
    }
    fn passed(self) -> bool {
        matches!(self, Verdict::Ok | Verdict::OkOwn | Verdict::OwnProven)
    }
}

/// Compares one check's two values.
/// `own_mode`: `--own-declarations`, where a check whose C side compiled the
/// real header ([`Check::proven`]) proves the own declaration.
pub fn compare(check: &Check, sdk: Option<&Value>, ours: Option<&Value>, own_mode: bool) -> Verdict {
    match (sdk, ours) {
        (Some(a), Some(b)) if a == b => match (check.own, own_mode && check.proven) {
            (false, _) => Verdict::Ok,
            (true, false) => Verdict::OkOwn,
            (true, true) => Verdict::OwnProven,
        },
        (Some(_), Some(_)) => Verdict::Mismatch,
        _ => Verdict::Missing,
    }
}

/// Runs the command; `Ok(true)` when every target passed.
pub fn run_all(root: &Path, opts: &Options) -> Result<bool> {
    let targets: Vec<String> = if opts.targets.is_empty() {
        DEFAULT_TARGETS.iter().map(|t| t.to_string()).collect()
    } else {
        opts.targets.clone()
    };
    let mut all_ok = true;
    for target in &targets {
        all_ok &= verify_target(root, target, opts)?;
    }
    println!(
        "verify-constants: {}",
        if all_ok { "every exported item matches the headers" } else { "FAILED (see above)" }
    );
    Ok(all_ok)
}

struct Built {
    out_dir: PathBuf,
    rlib: PathBuf,
}

/// Builds utun-sys for `target` and finds its OUT_DIR and rlib.
fn build_sys(root: &Path, target: &str, own: bool) -> Result<Built> {
    let mut cmd = cargo();
    cmd.current_dir(root).args([
        "build",
        "--quiet",
        "-p",
        "utun-sys",
        "--message-format=json-render-diagnostics",
        "--target",
        target,
    ]);
    if own {
        // The same target dir: switching modes reruns only utun-sys's build
        // script and recompiles the crate (seconds), where a target dir of its
        // own would compile bindgen and libclang's bindings again (minutes, in
        // every fresh CI clone).
        cmd.env("UTUN_SYS_OWN_DECLARATIONS", "1");
    } else {
        cmd.env_remove("UTUN_SYS_OWN_DECLARATIONS");
    }
    let out = cmd.output().context("running cargo build -p utun-sys")?;
    if !out.status.success() {
        bail!("cargo build -p utun-sys --target {target} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    let (mut out_dir, mut rlib) = (None, None);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let is_sys = msg["package_id"].as_str().is_some_and(|p| p.contains("utun-sys"));
        match msg["reason"].as_str() {
            Some("build-script-executed") if is_sys => out_dir = msg["out_dir"].as_str().map(PathBuf::from),
            Some("compiler-artifact") if is_sys && msg["target"]["name"] == "utun_sys" => {
                rlib = msg["filenames"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str())
                    .find(|f| f.ends_with(".rlib"))
                    .map(PathBuf::from);
            }
            _ => {}
        }
    }
    Ok(Built {
        out_dir: out_dir.context("cargo did not report utun-sys's OUT_DIR")?,
        rlib: rlib.context("cargo did not report utun-sys's rlib")?,
    })
}

/// The build manifest utun-sys's build script wrote next to the bindings.
#[derive(Debug, Default)]
struct Manifest {
    clang_target: String,
    shim: String,
    headers: String,
    /// The include directory of those headers (`<sdk>/usr/include`).
    include_root: String,
    clang_args: Vec<String>,
    own_headers: Vec<String>,
}

fn read_manifest(path: &Path) -> Result<Manifest> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut m = Manifest::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('\t') else { continue };
        match key {
            "clang_target" => m.clang_target = value.into(),
            "shim" => m.shim = value.into(),
            "headers" => m.headers = value.into(),
            "include_root" => m.include_root = value.into(),
            "clang_arg" => m.clang_args.push(value.into()),
            "own_header" => m.own_headers.push(value.into()),
            _ => {}
        }
    }
    if m.clang_args.is_empty() {
        bail!(
            "{} names no headers ({}): verify-constants needs real headers, not a docs.rs snapshot",
            path.display(),
            m.headers
        );
    }
    Ok(m)
}

fn verify_target(root: &Path, target: &str, opts: &Options) -> Result<bool> {
    let module = if target.contains("-apple-darwin") || target.contains("-apple-ios") {
        "apple"
    } else if target.contains("-linux-") {
        "linux"
    } else {
        bail!(
            "verify-constants knows Apple (*-apple-darwin, *-apple-ios*) and Linux (*-linux-*) targets, not {target}"
        );
    };
    if !(target.starts_with("x86_64") || target.starts_with("aarch64")) {
        bail!("verify-constants reads values as little-endian: x86_64 and aarch64 targets only, not {target}");
    }
    let built = build_sys(root, target, opts.own_declarations)?;
    let manifest = read_manifest(&built.out_dir.join(format!("{module}.manifest")))?;
    let source = std::fs::read_to_string(built.out_dir.join(format!("{module}.rs")))?;
    let items = bindings::parse(&source)?;

    let shim_dir = Path::new(&manifest.shim).parent().context("shim path")?.to_path_buf();
    if opts.own_declarations && manifest.own_headers.is_empty() {
        bail!("--own-declarations: utun-sys used no own declarations for {target}");
    }
    // The headers the C probe compiles: those utun-sys used, or in
    // --own-declarations mode the reference SDK's. There an own declaration is
    // proven where the reference has the real header: the probe compiles it
    // instead (its UTUN_SHIM_OWN_ define left out).
    let (header_args, reference_root) = match (&opts.reference_sdk, opts.own_declarations) {
        (Some(sdk), true) => (vec!["-isysroot".to_string(), sdk.display().to_string()], sdk.join("usr/include")),
        _ => (Vec::new(), PathBuf::from(&manifest.include_root)),
    };
    let mut own_names = BTreeSet::new();
    let mut proven_names = BTreeSet::new();
    let (mut proven_headers, mut unproven_headers) = (Vec::new(), Vec::new());
    let mut dropped_defines = Vec::new();
    for entry in &manifest.own_headers {
        let (header, define) = entry.split_once('\t').unwrap_or((entry, ""));
        let file = Path::new(header).file_name().context("own header name")?;
        let text = std::fs::read_to_string(shim_dir.join("own").join(file))?;
        let names = probe::declared_names(&text);
        if opts.own_declarations && !define.is_empty() && reference_root.join(header).is_file() {
            proven_names.extend(names.iter().cloned());
            proven_headers.push(header.to_string());
            dropped_defines.push(format!("-D{define}"));
        } else {
            unproven_headers.push(header.to_string());
        }
        own_names.extend(names);
    }
    let plan = probe::plan(&items, &own_names, &proven_names);

    let work = root.join("target/verify-constants").join(if opts.own_declarations {
        format!("{target}-own")
    } else {
        target.to_string()
    });
    std::fs::create_dir_all(&work)?;
    let c_path = work.join("probe.c");
    let rs_path = work.join("probe.rs");
    std::fs::write(&c_path, probe::c_source(&manifest.shim, &plan.checks))?;
    std::fs::write(&rs_path, probe::rust_source(module, &plan.checks, opts.inject.as_deref()))?;

    // The C probe: the same clang target and headers, but in --own-declarations
    // mode the SDK's real headers instead of utun-sys's own declarations.
    let cc = std::env::var("UTUN_PROBE_CC").unwrap_or_else(|_| "clang".into());
    let c_obj = work.join("probe_c.o");
    let c_args = probe_clang_args(&manifest.clang_args, &header_args, &dropped_defines);
    let probe_headers = match (&opts.reference_sdk, opts.own_declarations) {
        (Some(sdk), true) => format!("the reference SDK at {}", sdk.display()),
        _ => manifest.headers.clone(),
    };
    run(Command::new(&cc).args(&c_args).args(["-c", "-O0", "-w", "-x", "c"]).arg(&c_path).arg("-o").arg(&c_obj))
        .with_context(|| format!("compiling the C probe with {cc} for {} ({probe_headers})", manifest.clang_target))?;

    // The Rust probe, against the utun-sys rlib just built.
    let rs_obj = work.join("probe_rs.o");
    let deps = built.rlib.parent().context("rlib dir")?;
    run(Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args(["--edition", "2024", "--crate-type", "lib", "--crate-name", "utun_probe", "--emit", "obj"])
        .args(["-C", "codegen-units=1", "-C", "opt-level=0", "--target", target])
        .arg("-L")
        .arg(format!("dependency={}", deps.display()))
        .arg("--extern")
        .arg(format!("utun_sys={}", built.rlib.display()))
        .arg(&rs_path)
        .arg("-o")
        .arg(&rs_obj))
    .context("compiling the Rust probe")?;

    let sizes: Vec<usize> = plan.checks.iter().map(|c| if c.bytes { BYTES } else { 8 }).collect();
    let sdk = probe_values(&c_obj, &sizes)?;
    let ours = probe_values(&rs_obj, &sizes)?;
    let value = |c: &Check, b: &Vec<u8>| if c.bytes { Value::Bytes(b.clone()) } else { Value::Int(u64_le(b)) };

    let clang_version = Command::new(&cc)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").to_string())
        .unwrap_or_default();
    println!("\n== {target} (clang target {}) ==", manifest.clang_target);
    println!("SDK: {}", manifest.headers);
    if opts.own_declarations {
        let probe_target = c_args.iter().find_map(|a| a.strip_prefix("--target=")).unwrap_or("?");
        println!("C probe: {probe_headers}, clang target {probe_target}");
    }
    println!("C compiler: {cc} ({clang_version})");
    if opts.own_declarations {
        println!(
            "Own declarations: utun-sys built with its own declarations for {}; proven against the real headers: \
             {}",
            own_list(&proven_headers, &unproven_headers),
            if proven_headers.is_empty() { "none".into() } else { proven_headers.join(", ") }
        );
        if !unproven_headers.is_empty() {
            println!("Not provable with these headers (they lack them; verdict ok*): {}", unproven_headers.join(", "));
        }
    } else if !manifest.own_headers.is_empty() {
        println!(
            "Own declarations: {} (absent from this SDK; utun-sys's own declarations stand in, verdict ok*)",
            own_list(&proven_headers, &unproven_headers)
        );
    }
    let width = plan.checks.iter().map(|c| c.label.len()).max().unwrap_or(10).max(10);
    println!("{:<width$}  {:<20}  {:<28}  {:<28}  verdict", "name", "target", "SDK value", "utun-sys value");
    let mut counts = [0usize; 5];
    let mut failed = 0;
    for (i, check) in plan.checks.iter().enumerate() {
        let a = sdk.get(&i).map(|b| value(check, b));
        let b = ours.get(&i).map(|b| value(check, b));
        let verdict = compare(check, a.as_ref(), b.as_ref(), opts.own_declarations);
        counts[verdict as usize] += 1;
        failed += usize::from(!verdict.passed());
        let show = |v: &Option<Value>| v.as_ref().map_or("-".to_string(), ToString::to_string);
        println!("{:<width$}  {:<20}  {:<28}  {:<28}  {}", check.label, target, show(&a), show(&b), verdict.text());
    }
    for (name, why) in &plan.uncovered {
        println!("{name:<width$}  {target:<20}  {:<28}  {:<28}  NOT COVERED ({why})", "-", "-");
    }
    let [ok, ok_own, proven, mismatch, missing] = counts;
    let items_covered: BTreeSet<&str> = plan.checks.iter().map(|c| c.item.as_str()).collect();
    println!(
        "{target}: {} checks over {} exported items: {ok} ok, {ok_own} ok* (resting on own declarations), \
         {proven} own declarations proven equal to the SDK, {mismatch} mismatched, {missing} missing, {} not covered",
        plan.checks.len(),
        items_covered.len(),
        plan.uncovered.len()
    );
    if ok_own > 0 {
        println!(
            "ok*: both sides rest on utun-sys's own declaration (shim/apple/own/); `cargo xtask verify-constants \
             --own-declarations` on a full macOS SDK (macOS CI) proves them identical to Apple's."
        );
    }
    // A reference SDK is a full one: an own declaration it cannot prove is a failure.
    let unprovable = opts.own_declarations && opts.reference_sdk.is_some() && !unproven_headers.is_empty();
    if unprovable {
        println!(
            "FAILED: the reference SDK lacks {}, so those own declarations are unproven",
            unproven_headers.join(", ")
        );
    }
    Ok(failed == 0 && plan.uncovered.is_empty() && !unprovable)
}

/// The own headers of a build, for a report line.
fn own_list(proven: &[String], unproven: &[String]) -> String {
    [proven, unproven].concat().join(", ")
}

/// The C probe's compiler arguments: utun-sys's, with the header arguments
/// replaced by `header_args` when there are any (a reference SDK), and
/// without the `dropped` own-declaration defines (whose real headers the
/// probe compiles instead). With a reference SDK an iOS clang target becomes
/// the macOS one of the same architecture, which that SDK is made for (the
/// same Darwin ABI: every size, offset and value is the same, or the proof
/// fails).
fn probe_clang_args(manifest_args: &[String], header_args: &[String], dropped: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut args = manifest_args.iter();
    while let Some(arg) = args.next() {
        if let Some(triple) =
            arg.strip_prefix("--target=").filter(|t| !header_args.is_empty() && t.contains("-apple-ios"))
        {
            let arch = triple.split('-').next().unwrap_or_default();
            out.push(format!("--target={}", macos_clang_target(arch)));
            continue;
        }
        if !header_args.is_empty() && matches!(arg.as_str(), "-isystem" | "-isysroot") {
            args.next();
            continue;
        }
        if !header_args.is_empty() && arg == "-nostdlibinc" {
            continue;
        }
        if dropped.contains(arg) {
            continue;
        }
        out.push(arg.clone());
    }
    out.extend(header_args.iter().cloned());
    out
}

/// The macOS clang target of an architecture (the minimum versions utun-sys
/// builds macOS with).
fn macos_clang_target(arch: &str) -> &'static str {
    if arch == "x86_64" { "x86_64-apple-macos10.12" } else { "arm64-apple-macos11" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(own: bool) -> Check {
        Check {
            label: "X".into(),
            item: "X".into(),
            c_expr: "X".into(),
            rust_expr: "X".into(),
            bytes: false,
            own,
            proven: own,
        }
    }

    #[test]
    fn a_reference_sdk_replaces_the_headers_and_proven_defines_go() {
        let args: Vec<String> = [
            "--target=arm64-apple-ios10.0",
            "-isysroot",
            "/sdk/iPhoneOS.sdk",
            "-I/shim",
            "-DUTUN_SHIM_PACKET_PATH",
            "-DUTUN_SHIM_OWN_KERN_CONTROL",
            "-DUTUN_SHIM_OWN_ND6",
        ]
        .map(String::from)
        .to_vec();
        let reference = ["-isysroot".to_string(), "/sdk/MacOSX.sdk".to_string()];
        let out = probe_clang_args(&args, &reference, &["-DUTUN_SHIM_OWN_KERN_CONTROL".to_string()]);
        assert_eq!(
            out,
            [
                "--target=arm64-apple-macos11",
                "-I/shim",
                "-DUTUN_SHIM_PACKET_PATH",
                "-DUTUN_SHIM_OWN_ND6",
                "-isysroot",
                "/sdk/MacOSX.sdk"
            ]
        );
        // Without a reference the headers stay.
        assert_eq!(probe_clang_args(&args, &[], &[]), args);
    }

    #[test]
    fn an_own_declaration_is_proven_only_against_its_real_header() {
        let mut c = check(true);
        let v = Value::Int(3);
        c.proven = false;
        assert_eq!(compare(&c, Some(&v), Some(&v), true), Verdict::OkOwn);
    }

    #[test]
    fn a_wrong_value_is_a_mismatch() {
        let c = check(false);
        assert_eq!(compare(&c, Some(&Value::Int(1)), Some(&Value::Int(2)), false), Verdict::Mismatch);
        assert!(!Verdict::Mismatch.passed());
        assert_eq!(compare(&c, Some(&Value::Int(7)), Some(&Value::Int(7)), false), Verdict::Ok);
        assert_eq!(compare(&c, None, Some(&Value::Int(7)), false), Verdict::Missing);
        assert!(!Verdict::Missing.passed());
    }

    #[test]
    fn own_declarations_say_how_far_they_are_proven() {
        let c = check(true);
        let v = Value::Int(3);
        assert_eq!(compare(&c, Some(&v), Some(&v), false), Verdict::OkOwn);
        assert_eq!(compare(&c, Some(&v), Some(&v), true), Verdict::OwnProven);
        assert_eq!(compare(&c, Some(&v), Some(&Value::Int(4)), true), Verdict::Mismatch);
    }

    #[test]
    fn values_print_as_a_reader_expects() {
        assert_eq!(Value::Int(0x1_0000).to_string(), "0x10000");
        assert_eq!(Value::Int(32).to_string(), "32");
        assert_eq!(Value::Int(-1i64 as u64).to_string(), "-1");
        assert_eq!(Value::Bytes(b"utun\0\0".to_vec()).to_string(), "\"utun\"");
    }
}
