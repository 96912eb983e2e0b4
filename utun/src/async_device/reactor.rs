//! The device's registration with tokio's reactor: made when a call has to
//! wait, dropped after a run of reads that did not (see
//! [`AsyncDevice`](super::AsyncDevice)'s *Reactor registration*).

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};

use crate::name::InterfaceName;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::runtime::Handle;

use crate::device::Device;
use crate::error::{Error, Op};

/// `ready`, plus `ERROR` where the backend's descriptor reports a failure
/// with an error event alone ([`crate::backend::device::READY_ON_ERROR_ONLY`]):
/// a waiter for `ready` alone would never see it and hang.
const fn waiting_for(ready: Interest) -> Interest {
    if crate::backend::device::READY_ON_ERROR_ONLY { ready.add(Interest::ERROR) } else { ready }
}

/// What a reader waits for.
pub(super) const READ_INTEREST: Interest = waiting_for(Interest::READABLE);
/// What a writer waits for.
pub(super) const WRITE_INTEREST: Interest = waiting_for(Interest::WRITABLE);
/// What the device registers for: everything a reader or a writer waits for.
const INTEREST: Interest = READ_INTEREST.add(WRITE_INTEREST);

/// After this many `recv`s in a row that found a packet already waiting,
/// the device leaves the reactor until it next has to wait.
pub(super) const RELEASE_AFTER: u32 = 64;

/// The device's descriptor as the reactor sees it: a number, borrowed from
/// the [`Device`] of the [`AsyncDevice`] that holds the registration.
pub(super) struct Fd(RawFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// The registration with the reactor, present or not. Every change to it,
/// and every drop of a clone of the registration, happens under the mutex,
/// so that a registration is gone (deregistered) before another is made.
pub(super) struct Reactor {
    /// The runtime whose reactor the device registers with.
    runtime: Handle,
    state: Mutex<State>,
    /// `recv`s in a row that found a packet waiting, up to [`RELEASE_AFTER`].
    streak: AtomicU32,
}

struct State {
    /// The registration: one clone here, one per waiting call.
    fd: Option<Arc<AsyncFd<Fd>>>,
    /// Whether it is to be kept; when not, the last waiting call drops it.
    wanted: bool,
}

impl State {
    /// Drops (deregisters) the registration if it is not wanted and no
    /// waiting call holds a clone.
    fn drop_if_unused(&mut self) {
        if !self.wanted && self.fd.as_ref().is_some_and(|fd| Arc::strong_count(fd) == 1) {
            self.fd = None;
        }
    }
}

impl Reactor {
    pub(super) fn new(runtime: Handle) -> Reactor {
        Reactor { runtime, state: Mutex::new(State { fd: None, wanted: false }), streak: AtomicU32::new(0) }
    }

    /// Whether the device is registered right now.
    pub(super) fn is_registered(&self) -> bool {
        self.lock().fd.is_some()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Registering panics on a runtime built without its I/O driver; the
        // state a panic leaves behind is consistent, so a poisoned lock is
        // still good.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The registration for a call about to wait, made if there is none.
    pub(super) fn hold<D: AsFd>(&self, device: &Device<D>) -> Result<Held<'_>, Error> {
        let mut state = self.lock();
        state.wanted = true;
        // After `wanted`, under the lock: a `found_ready` that raced this
        // call either released before it (and this call registers again) or
        // releases after this reset (and the streak starts over), never
        // leaving a wanted registration with a full streak.
        self.streak.store(0, Ordering::Relaxed);
        let fd = match &state.fd {
            Some(fd) => Arc::clone(fd),
            None => {
                let fd = Arc::new(register(device, &self.runtime)?);
                state.fd = Some(Arc::clone(&fd));
                fd
            }
        };
        Ok(Held { reactor: self, fd: Some(fd) })
    }

    /// Counts a `recv` that did not have to wait; the [`RELEASE_AFTER`]th in
    /// a row releases the registration. (A plain load and store: two calls
    /// racing may count one, which only delays the release.)
    #[inline(always)]
    pub(super) fn found_ready(&self) {
        let n = self.streak.load(Ordering::Relaxed);
        if n < RELEASE_AFTER {
            self.streak.store(n + 1, Ordering::Relaxed);
            if n + 1 == RELEASE_AFTER {
                self.release();
            }
        }
    }

    /// Drops the registration now if no call waits on it, or else when the
    /// last waiting call ends.
    #[cold]
    #[inline(never)]
    fn release(&self) {
        let mut state = self.lock();
        state.wanted = false;
        state.drop_if_unused();
    }
}

/// A waiting call's clone of the registration; dropped under the lock.
pub(super) struct Held<'a> {
    reactor: &'a Reactor,
    fd: Option<Arc<AsyncFd<Fd>>>,
}

impl Held<'_> {
    pub(super) fn fd(&self) -> &AsyncFd<Fd> {
        // `Some` from `hold` until `drop` takes it.
        self.fd.as_deref().expect("a held registration")
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut state = self.reactor.lock();
        drop(self.fd.take());
        state.drop_if_unused();
    }
}

/// Registers the device's descriptor with the reactor of `runtime`.
fn register<D: AsFd>(device: &Device<D>, runtime: &Handle) -> Result<AsyncFd<Fd>, Error> {
    let fd = Fd(device.as_fd().as_raw_fd());
    let _in_runtime = runtime.enter();
    // SAFETY: the descriptor stays open and the same while the registration lives: `AsyncDevice`
    // drops its `Reactor` and every clone before `Device` closes it (a leaked clone is never used),
    // and a borrowed descriptor outlives the `AsyncDevice` that borrows it (its lifetime).
    let registered = unsafe { AsyncFd::register_with_interest(fd, INTEREST) };
    registered.map_err(|e| {
        let (_fd, err) = e.into_parts();
        Error::os(Op::SetDeviceOption, err).about("registering with the tokio reactor").on(device.name())
    })
}

/// The error of a failed readiness wait (the runtime is shutting down, say).
pub(super) fn wait_failed(op: Op, name: InterfaceName, err: io::Error) -> Error {
    Error::os(op, err).about("waiting for readiness").on(name)
}
