//! The async device (`utun`'s `tokio` feature) against a real tun device,
//! through its public API only. Each test runs on a thread of its own in a
//! new network namespace with IPv6 off (so the kernel sends nothing of its
//! own into the device), with a device (10.0.0.1 peer 10.0.0.2, up) and a
//! UDP socket bound to 10.0.0.1; a test that has not finished after 20 s
//! fails.
//!
//! Like the end-to-end tests (`utun_tests::suite`), they need root and
//! network namespaces: where those are missing they are reported as ignored
//! with the reason, and with `UTUN_E2E_REQUIRED=1` (`cargo xtask ci`) that is
//! a failure. Linux only: macOS's async test is in `macos_privileged.rs`.
//!
//! `AsyncDevice` is named in one place, setup.rs's `pub use`, should its
//! path change.

#[cfg(target_os = "linux")]
mod adopt;
#[cfg(target_os = "linux")]
mod batch;
#[cfg(target_os = "linux")]
mod cases;
#[cfg(target_os = "linux")]
mod setup;

#[cfg(target_os = "linux")]
fn main() {
    use std::time::Duration;
    use utun_tests::netns::Namespace;
    use utun_tests::suite::Suite;

    Suite::new("tokio")
        .namespace(Namespace::new().without_ipv6())
        .time_limit(Duration::from_secs(20))
        .main([cases::all(), adopt::all(), batch::all()].concat())
}

#[cfg(not(target_os = "linux"))]
fn main() {
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), Vec::new()).exit()
}
