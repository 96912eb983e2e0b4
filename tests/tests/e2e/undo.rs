//! Undoing needs no new descriptor, and what could not be undone can be
//! retried. Both run in a child process (`UTUN_E2E_CHILD`), in the test's
//! namespace: one lowers its own descriptor limit and uses up every
//! descriptor, the other gives up its privileges for a moment, neither of
//! which the test process could do without disturbing the other tests.

use std::fs::File;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail, ensure};
use utun::{Cleanup, Device, ErrorKind, Route};

use crate::cases::{addr, ip, net};
use crate::kernel;
use crate::routing::kernel_addresses;

/// Runs this test binary as a child in `mode`; fails with its output when it does.
fn run_child(mode: &str) -> Result<()> {
    let out = Command::new(std::env::current_exe()?).env(crate::CHILD_ENV, mode).output()?;
    ensure!(
        out.status.success(),
        "the {mode} child failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Under a low `RLIMIT_NOFILE`, with every descriptor in use, undo removes
/// every route and address and restores the MTU and flags.
pub fn undo_without_descriptors() -> Result<()> {
    run_child("undo_without_descriptors")
}

/// An undo that fails (here: no privilege for a moment) keeps every step it
/// could not undo; a second undo, with the privilege back, undoes them.
pub fn undo_retry() -> Result<()> {
    run_child("undo_retry")
}

/// A device and a guard with one step of each kind: MTU, up, an IPv4 and
/// an IPv6 address, routes out of the interface and through a gateway.
/// Returns the device, the guard and the MTU it had.
fn configure() -> Result<(Device, Cleanup, u32)> {
    let dev = Device::new()?;
    let iface = dev.interface();
    let mtu = iface.mtu()?;
    let mut cleanup = Cleanup::new();
    cleanup.set_mtu(&iface, 1400)?;
    cleanup.set_up(&iface, true)?;
    cleanup.add_address(&iface, addr("10.0.0.1", 32, Some("10.0.0.2"))?)?;
    cleanup.add_address(&iface, addr("fd00::1", 64, None)?)?;
    ensure!(iface.wait_until_running(Duration::from_secs(2))?, "{} never became RUNNING", dev.name());
    cleanup.add_route(Route::through_interface(net("10.9.0.0/16"), dev.name()))?;
    cleanup.add_route(Route::through_interface(net("fd09::/64"), dev.name()))?;
    cleanup.add_route(Route::via_gateway(net("10.7.0.0/16"), ip("10.0.0.2"))?)?;
    ensure!(cleanup.len() == 7, "{} steps", cleanup.len());
    ensure!(!kernel_addresses(dev.name().as_str())?.is_empty(), "no address was added");
    Ok((dev, cleanup, mtu))
}

/// Everything [`configure`] did is undone on `dev`, seen with `ip`.
fn all_undone(dev: &Device, mtu: u32) -> Result<()> {
    let name = dev.name();
    let link = kernel::link(name.as_str())?;
    ensure!(link["mtu"].as_u64() == Some(u64::from(mtu)), "MTU not restored: {link}");
    ensure!(!kernel::flags(name.as_str())?.iter().any(|f| f == "UP"), "still up: {link}");
    let addresses = kernel_addresses(name.as_str())?;
    ensure!(addresses.is_empty(), "addresses left: {addresses:?}");
    for v6 in [false, true] {
        let left: Vec<_> = kernel::routes(v6)?
            .into_iter()
            .filter(|r| ["10.9.0.0/16", "fd09::/64", "10.7.0.0/16"].contains(&r.dst.as_str()))
            .collect();
        ensure!(left.is_empty(), "routes left: {left:?}");
    }
    Ok(())
}

/// The child of [`undo_without_descriptors`].
pub fn undo_without_descriptors_child() -> Result<()> {
    let (dev, cleanup, mtu) = configure()?;
    let (soft, hard) = nofile_limit()?;
    set_nofile_limit(64, hard)?;
    let mut fillers = Vec::new();
    let exhausted = loop {
        match File::open("/dev/null") {
            Ok(file) => fillers.push(file),
            Err(e) => break e,
        }
        if fillers.len() > 1024 {
            bail!("RLIMIT_NOFILE 64 did not stop 1024 opens");
        }
    };
    let result = (|| {
        ensure!(exhausted.raw_os_error() == Some(libc::EMFILE), "opening stopped with {exhausted}");
        // A call that needs a new socket fails now ...
        let err = dev.interface().mtu().err().context("a new configuration socket opened with no descriptor left")?;
        ensure!(err.raw_os_error() == Some(libc::EMFILE), "{err}");
        // ... and undoing needs none.
        cleanup.undo().map_err(|e| anyhow!("undo with no descriptor left: {e}: {e:?}"))
    })();
    drop(fillers);
    set_nofile_limit(soft, hard)?;
    let undone = result?;
    ensure!(undone.skipped().is_empty(), "skipped: {:?}", undone.skipped());
    all_undone(&dev, mtu)
}

/// The child of [`undo_retry`].
pub fn undo_retry_child() -> Result<()> {
    let (dev, cleanup, mtu) = configure()?;
    // Effective uid nobody: no capability, so the kernel refuses each step
    // (EPERM); the real and saved uid stay 0, so root comes back.
    seteuid(65534)?;
    let failed = cleanup.undo();
    seteuid(0)?;
    let Err(failed) = failed else { bail!("undo succeeded without privileges") };
    ensure!(failed.errors().len() == 7 && failed.skipped().is_empty(), "{failed:?}");
    for err in failed.errors() {
        ensure!(err.kind() == ErrorKind::PermissionDenied, "{err}");
    }
    let remaining = failed.into_cleanup();
    ensure!(remaining.len() == 7, "{} steps left to retry", remaining.len());
    let undone = remaining.undo().map_err(|e| anyhow!("the retry: {e}: {e:?}"))?;
    ensure!(undone.skipped().is_empty(), "skipped: {:?}", undone.skipped());
    all_undone(&dev, mtu)
}

fn nofile_limit() -> Result<(libc::rlim_t, libc::rlim_t)> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one `struct rlimit`, which `limit` is.
    ensure!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0, "getrlimit");
    Ok((limit.rlim_cur, limit.rlim_max))
}

fn set_nofile_limit(soft: libc::rlim_t, hard: libc::rlim_t) -> Result<()> {
    let limit = libc::rlimit { rlim_cur: soft, rlim_max: hard };
    // SAFETY: setrlimit reads one `struct rlimit`, which `limit` is.
    ensure!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } == 0, "setrlimit({soft}, {hard})");
    Ok(())
}

fn seteuid(uid: libc::uid_t) -> Result<()> {
    // SAFETY: a plain id change in this single-threaded child process.
    ensure!(unsafe { libc::seteuid(uid) } == 0, "seteuid({uid}): {}", std::io::Error::last_os_error());
    Ok(())
}
