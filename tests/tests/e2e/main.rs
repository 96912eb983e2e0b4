//! End-to-end tests against a real kernel: a tun device created, configured
//! and routed through the library, checked with the real `ip` and answered to
//! the real `ping`, each inside a network namespace of its own
//! (`utun_tests::suite`).
//!
//! They need root and a kernel that lets a namespace be created. Where that
//! is impossible they are reported as *ignored* with the reason (never as
//! passed); with `UTUN_E2E_REQUIRED=1` (set by `cargo xtask ci`) that is a
//! failure instead.

#[cfg(target_os = "linux")]
mod adopt;
#[cfg(target_os = "linux")]
mod cases;
#[cfg(target_os = "linux")]
mod fault;
#[cfg(target_os = "linux")]
mod flood;
#[cfg(target_os = "linux")]
mod guard;
#[cfg(target_os = "linux")]
mod hostile;
#[cfg(target_os = "linux")]
mod kernel;
#[cfg(target_os = "linux")]
mod offload;
#[cfg(target_os = "linux")]
mod prefix;
#[cfg(target_os = "linux")]
mod routing;
#[cfg(target_os = "linux")]
mod scoped;
#[cfg(target_os = "linux")]
mod truthful;
#[cfg(target_os = "linux")]
mod undo;

/// A child process the tests start (for what must not happen in the test
/// process itself, like dropping privileges).
const CHILD_ENV: &str = "UTUN_E2E_CHILD";

#[cfg(target_os = "linux")]
fn main() {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        if let Some(result) = hostile::child(&mode) {
            if let Err(e) = &result {
                eprintln!("child {mode}: {e:#}");
            }
            std::process::exit(i32::from(result.is_err()));
        }
        std::process::exit(cases::child(&mode));
    }
    // A test that has not finished by then fails, rather than hold the run:
    // the slowest take a few seconds (the flood test bounds itself at 20 s).
    let suite = utun_tests::suite::Suite::new("e2e").time_limit(std::time::Duration::from_secs(60));
    let mut trials = suite.trials(
        [cases::all(), prefix::all(), scoped::all(), hostile::all(), fault::all(), adopt::all(), offload::all()]
            .concat(),
    );
    // Runs the built example, which makes its own namespace.
    trials.push(adopt::privsep_trial());
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        eprintln!("unknown child mode {mode}");
        std::process::exit(2);
    }
    // The macOS privileged tests are in tests/tests/macos_privileged.rs.
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), Vec::new()).exit()
}
