//! End-to-end tests against a real kernel: a tun device created, configured
//! and routed through the library, checked with the real `ip` and answered to
//! the real `ping`, each inside a network namespace it creates.
//!
//! They need root and a kernel that lets a namespace be created. Where that
//! is impossible they are reported as *ignored* with the reason (never as
//! passed); with `UTUN_E2E_REQUIRED=1` (set by `cargo xtask ci`) that is a
//! failure instead.

#[cfg(target_os = "linux")]
mod cases;
#[cfg(target_os = "linux")]
mod kernel;
#[cfg(target_os = "linux")]
mod netns;

use libtest_mimic::{Arguments, Trial};

/// A child process the tests start (for what must not happen in the test
/// process itself, like dropping privileges).
const CHILD_ENV: &str = "UTUN_E2E_CHILD";

fn main() {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        #[cfg(target_os = "linux")]
        std::process::exit(cases::child(&mode));
        #[cfg(not(target_os = "linux"))]
        {
            eprintln!("unknown child mode {mode}");
            std::process::exit(2);
        }
    }
    let args = Arguments::from_args();
    let trials = trials();
    libtest_mimic::run(&args, trials).exit();
}

#[cfg(target_os = "linux")]
fn trials() -> Vec<Trial> {
    let unavailable = netns::probe().err();
    if let Some(why) = &unavailable {
        if std::env::var("UTUN_E2E_REQUIRED").is_ok_and(|v| v == "1") {
            eprintln!("e2e: UTUN_E2E_REQUIRED=1 but the tests cannot run here: {why}");
            std::process::exit(1);
        }
        eprintln!("e2e: every test is ignored: {why} (they need root and network namespaces)");
    }
    cases::all()
        .into_iter()
        .map(|(name, case)| {
            Trial::test(name, move || netns::run(case).map_err(|e| libtest_mimic::Failed::from(format!("{e:#}"))))
                .with_ignored_flag(unavailable.is_some())
        })
        .collect()
}

#[cfg(not(target_os = "linux"))]
fn trials() -> Vec<Trial> {
    // The macOS privileged tests are in tests/tests/macos_privileged.rs.
    Vec::new()
}
