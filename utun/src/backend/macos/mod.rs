//! The macOS backend: utun kernel-control sockets ([`device`]), interface
//! ioctls on `AF_INET`/`AF_INET6` datagram sockets ([`ifconfig`]), and the
//! `PF_ROUTE` routing socket ([`route`]). The Linux backend has the same
//! files with the same functions. iOS builds this backend too, with
//! [`device`] only (see `configuration!` in lib.rs).

// recvmsg_x/sendmsg_x; called by the batch methods (and `__bench::batch`).
pub(crate) mod batch;
pub(crate) mod device;
configuration! {
    pub(crate) mod ifconfig;
    pub(crate) mod route;
}

use std::ffi::c_int;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A close-on-exec socket (macOS has no `SOCK_CLOEXEC`: `FD_CLOEXEC` is set
/// right after; the library never forks, so nothing sees it in between
/// except another thread's `fork`+`exec`, as with every such socket there).
fn socket(domain: c_int, ty: c_int, protocol: c_int) -> io::Result<OwnedFd> {
    // SAFETY: socket(2) with plain integer arguments.
    let raw = crate::unix::cvt(unsafe { libc::socket(domain, ty, protocol) })?;
    // SAFETY: `raw` is the new descriptor socket(2) returned; nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: F_SETFD takes an int of descriptor flags.
    crate::unix::cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) })?;
    Ok(fd)
}

/// A byte count a successful call returned (never negative after `cvt`).
fn byte_count(n: isize) -> usize {
    usize::try_from(n).unwrap_or(0)
}
