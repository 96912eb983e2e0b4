//! What the utun workspace's tests, its demo and its device benchmark share
//! (crate `utun-tests`, not published).
//!
//! * [`netns`] (Linux): the one network-namespace runner. Everything that
//!   creates an interface or sends a packet runs inside a namespace it makes,
//!   either as a closure on a thread of its own ([`netns::Namespace::run`])
//!   or as the whole, still single-threaded process
//!   ([`netns::Namespace::enter_process`]), and refuses to run when no
//!   namespace can be had: it never falls back to the host's.
//! * [`suite`] (Linux): a libtest-mimic suite whose tests each run in such a
//!   namespace, reported as ignored with the reason where that is impossible
//!   (a failure under `UTUN_E2E_REQUIRED=1`).
//! * [`echo`]: the ICMP/ICMPv6 echo responder that answers the real `ping`.
//! * [`packet`]: the IP packets written into devices, and their checksums.
//!
//! Where the rest lives:
//!
//! ```text
//! tests/tests/e2e/                  end-to-end tests against the kernel (Linux; `ip -j` in kernel.rs)
//! tests/tests/tokio/                the async device against a real tun (Linux)
//! tests/tests/macos_privileged.rs   the macOS tests that need root (ignored elsewhere)
//! tests/tests/sys_surface.rs        utun-sys's surface mirrors between its OS modules
//! tests/examples/ping_responder/    the demo (`cargo xtask demo`)
//! tests/examples/privsep/           root creates the device, a `nobody` child adopts it (run by the tests)
//! tests/benches/device/             the device benchmark (`cargo xtask bench`; its report: xtask)
//! ```

pub mod echo;
#[cfg(target_os = "linux")]
pub mod netns;
pub mod packet;
#[cfg(target_os = "linux")]
pub mod suite;
