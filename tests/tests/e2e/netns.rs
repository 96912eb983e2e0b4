//! Every test that creates an interface or sends a packet runs on a thread of
//! its own that first moves into a new network namespace
//! (`unshare(CLONE_NEWNET)` applies to the calling thread; the processes it
//! starts, `ping` and `ip`, inherit it). When that fails the test does not
//! run: it never falls back to the host's namespace.

use std::io;
use std::thread;

use anyhow::{Context, Result, anyhow};

/// Runs `f` on a new thread inside a new network namespace with `lo` up.
pub fn run<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    thread::spawn(move || {
        enter()?;
        f()
    })
    .join()
    .map_err(|panic| {
        let text = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        anyhow!("the test thread panicked: {text}")
    })?
}

/// Moves the calling thread into a new network namespace and brings `lo` up.
fn enter() -> Result<()> {
    // SAFETY: unshare takes only flags; CLONE_NEWNET affects this thread alone.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error()).context("cannot create a network namespace (unshare(CLONE_NEWNET))");
    }
    let lo = utun::Interface::by_name("lo")?;
    lo.set_up(true)?;
    Ok(())
}

/// Whether this machine lets the tests run: a namespace can be made and a tun
/// device opened in it. `Err` says why not.
pub fn probe() -> std::result::Result<(), String> {
    run(|| {
        std::fs::OpenOptions::new().read(true).write(true).open("/dev/net/tun").context("cannot open /dev/net/tun")?;
        Ok(())
    })
    .map_err(|e| format!("{e:#}"))
}
