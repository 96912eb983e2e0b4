//! The network-namespace runner (Linux): the one way anything in this
//! workspace that creates an interface or sends a packet (the tests, the
//! demo, the device benchmark) gets a network of its own.
//!
//! Two shapes, one set-up ([`Namespace`]):
//!
//! * [`Namespace::run`] (and [`run`]): a closure on a new thread that first
//!   moves into a new network namespace. `unshare(CLONE_NEWNET)` applies to
//!   the calling thread only; the threads and processes it starts (a tokio
//!   runtime's workers, `ping`, `ip`) inherit the namespace. Tests run this
//!   way, in parallel, each in a namespace of its own.
//! * [`Namespace::enter_process`]: the whole process, which must still have
//!   a single thread (the demo and the benchmark call it first thing in
//!   `main`); it refuses when another thread exists, since that thread would
//!   stay in the host's namespace.
//!
//! Either way the new namespace has `lo` up. When the namespace cannot be
//! made, nothing runs: the caller gets an error that says why, and there is
//! never a fall-back to the host's namespace. [`Namespace::probe`] tells in
//! advance whether a suite can run here.

use std::ffi::CStr;
use std::io;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

/// What a fresh network namespace gets besides `lo` up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Namespace {
    ipv6: bool,
    private_mounts: bool,
}

impl Default for Namespace {
    fn default() -> Namespace {
        Namespace::new()
    }
}

impl Namespace {
    /// A new network namespace with `lo` up and the kernel's defaults
    /// otherwise (IPv6 on).
    pub const fn new() -> Namespace {
        Namespace { ipv6: true, private_mounts: false }
    }

    /// IPv6 off in the namespace (`all` and `default`), so the kernel sends
    /// no router solicitations or MLD reports of its own into the devices
    /// made there: the only packets on them are the ones the caller sends.
    pub const fn without_ipv6(self) -> Namespace {
        Namespace { ipv6: false, ..self }
    }

    /// A new mount namespace as well, whose mounts do not propagate back to
    /// the host (for tracefs, say). A mount namespace belongs to the whole
    /// process: only [`enter_process`](Namespace::enter_process) can make one,
    /// and [`run`](Namespace::run) refuses.
    pub const fn with_private_mounts(self) -> Namespace {
        Namespace { private_mounts: true, ..self }
    }

    /// Runs `f` on a new thread inside a new network namespace and returns
    /// what it returns. When the namespace cannot be made, `f` does not run
    /// and the error says why; a panic in `f` is an error with its message.
    pub fn run<T: Send + 'static>(self, f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
        self.spawn(None, f)
    }

    /// [`run`](Namespace::run), but an error once `limit` has passed without
    /// `f` returning (the thread is left to the end of the process: a test
    /// harness exits with it).
    pub fn run_within<T: Send + 'static>(
        self,
        limit: Duration,
        f: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.spawn(Some(limit), f)
    }

    /// Moves this whole process into a new network namespace (and a private
    /// mount namespace, when asked for). Call it before any thread starts:
    /// when the process already has more than one thread it refuses, as the
    /// others would stay in the host's namespace. On an error the process is
    /// still in the host's namespace, and the caller must not go on.
    pub fn enter_process(self) -> Result<()> {
        let threads = thread_count().context("counting this process's threads (/proc/self/task)")?;
        if threads != 1 {
            bail!(
                "this process has {threads} threads, and unshare(CLONE_NEWNET) would move only the calling one: \
                 enter the namespace before any thread starts"
            );
        }
        self.enter()
    }

    /// Whether code can run here in such a namespace with a tun device: root,
    /// a kernel that allows network namespaces, and `/dev/net/tun`. `Err`
    /// says why not.
    pub fn probe(self) -> std::result::Result<(), String> {
        let namespace = Namespace { private_mounts: false, ..self };
        namespace
            .run(|| {
                std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open("/dev/net/tun")
                    .context("cannot open /dev/net/tun")?;
                Ok(())
            })
            .map_err(|e| format!("{e:#}"))
    }

    fn spawn<T: Send + 'static>(
        self,
        limit: Option<Duration>,
        f: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        if self.private_mounts {
            bail!("a private mount namespace needs the whole process (Namespace::enter_process), not a thread");
        }
        let (done, finished) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("netns".into())
            .spawn(move || {
                let _ = done.send(self.enter().and_then(|()| f()));
            })
            .context("starting a thread for the namespace")?;
        let outcome = match limit {
            Some(limit) => finished.recv_timeout(limit).map_err(|e| match e {
                mpsc::RecvTimeoutError::Timeout => Some(limit),
                mpsc::RecvTimeoutError::Disconnected => None,
            }),
            None => finished.recv().map_err(|_| None),
        };
        match outcome {
            Ok(result) => {
                let _ = thread.join();
                result
            }
            Err(Some(limit)) => Err(anyhow!("did not finish within {} s", limit.as_secs_f64())),
            // The sender is gone without a result: the thread panicked.
            Err(None) => Err(anyhow!("panicked: {}", panic_message(thread.join().err()))),
        }
    }

    /// Moves the calling thread (the process, when it has only this one)
    /// into the new namespaces and sets them up.
    fn enter(self) -> Result<()> {
        let flags = if self.private_mounts { libc::CLONE_NEWNET | libc::CLONE_NEWNS } else { libc::CLONE_NEWNET };
        unshare(flags).context(
            "cannot create a network namespace (unshare(CLONE_NEWNET)): it needs root (CAP_SYS_ADMIN) and a \
             kernel that allows network namespaces; nothing runs in the host's namespace instead",
        )?;
        if self.private_mounts {
            mount_private_root().context("making the new mount namespace private")?;
        }
        utun::Interface::by_name("lo").and_then(|lo| lo.set_up(true)).context("bringing lo up in the new namespace")?;
        if !self.ipv6 {
            disable_ipv6()?;
        }
        Ok(())
    }
}

/// Runs `f` on a new thread in a new network namespace with `lo` up
/// ([`Namespace::new`]`.run(f)`).
pub fn run<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    Namespace::new().run(f)
}

/// Whether a plain namespace with a tun device can be had here
/// ([`Namespace::new`]`.probe()`); `Err` says why not.
pub fn probe() -> std::result::Result<(), String> {
    Namespace::new().probe()
}

/// `unshare(2)`.
fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare takes only flags and touches no memory of this process.
    if unsafe { libc::unshare(flags) } != 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// `mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)`: no mount made from
/// here on propagates back to the namespace this one was copied from.
fn mount_private_root() -> io::Result<()> {
    let root: &CStr = c"/";
    let flags = libc::MS_REC | libc::MS_PRIVATE;
    // SAFETY: the target is NUL-terminated; source, type and data may be null for a propagation change.
    let rc = unsafe { libc::mount(std::ptr::null(), root.as_ptr(), std::ptr::null(), flags, std::ptr::null()) };
    if rc != 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// IPv6 off for every interface of the calling thread's network namespace,
/// present and future (/proc/sys/net belongs to the namespace of the thread
/// that opens it): for a test in a [`Namespace::new`] that wants no packet of
/// the kernel's own on its device. What [`Namespace::without_ipv6`] does.
pub fn disable_ipv6() -> Result<()> {
    if !Path::new("/proc/sys/net/ipv6").is_dir() {
        return Ok(()); // a kernel without IPv6: nothing to turn off
    }
    for conf in ["all", "default"] {
        let path = format!("/proc/sys/net/ipv6/conf/{conf}/disable_ipv6");
        std::fs::write(&path, "1").with_context(|| format!("turning IPv6 off in the namespace ({path})"))?;
    }
    Ok(())
}

/// IPv4 forwarding on and reverse-path filtering off in the calling
/// thread's network namespace (`/proc/sys/net` is per namespace): what two
/// tun devices the kernel forwards between need. Interfaces made afterwards
/// take `default`'s filtering; the strictest of `all` and an interface's own
/// applies.
pub fn forward_ipv4() -> Result<()> {
    for (path, value) in [("ip_forward", "1"), ("conf/all/rp_filter", "0"), ("conf/default/rp_filter", "0")] {
        let path = format!("/proc/sys/net/ipv4/{path}");
        std::fs::write(&path, value).with_context(|| format!("setting {path} = {value}"))?;
    }
    Ok(())
}

/// The threads of this process.
fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// The text of a panic's payload.
fn panic_message(payload: Option<Box<dyn std::any::Any + Send>>) -> String {
    let Some(payload) = payload else { return String::from("(no panic payload)") };
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn a_process_with_a_second_thread_is_refused_and_stays_where_it_is() {
        // A second thread for certain, whatever the harness does.
        let (release, wait) = mpsc::channel::<()>();
        let other = thread::spawn(move || wait.recv());
        let before = std::fs::read_link("/proc/thread-self/ns/net").expect("this thread's namespace");
        let err = Namespace::new().enter_process().expect_err("refused");
        assert!(format!("{err:#}").contains("threads"), "{err:#}");
        assert_eq!(std::fs::read_link("/proc/thread-self/ns/net").expect("this thread's namespace"), before);
        release.send(()).expect("the other thread waits");
        other.join().expect("joined").expect("released");
    }

    #[test]
    fn a_thread_cannot_have_private_mounts() {
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&ran);
        let err = Namespace::new()
            .with_private_mounts()
            .run(move || {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            })
            .expect_err("refused");
        assert!(format!("{err:#}").contains("whole process"), "{err:#}");
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst), "the closure ran");
    }
}
