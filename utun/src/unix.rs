//! The few Unix system calls both backends share, each in a small safe
//! function. Callers turn `io::Error` into the crate's typed error.

use std::ffi::c_int;
use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::name::InterfaceName;

/// Retries a call interrupted by a signal.
#[inline]
fn retry(mut call: impl FnMut() -> isize) -> io::Result<usize> {
    let n = call();
    if n >= 0 {
        return Ok(n as usize);
    }
    retry_failed(call)
}

/// The rest of [`retry`] once a call failed: out of the success path's way.
#[cold]
#[inline(never)]
fn retry_failed(mut call: impl FnMut() -> isize) -> io::Result<usize> {
    let err = io::Error::last_os_error();
    if err.kind() != io::ErrorKind::Interrupted {
        return Err(err);
    }
    loop {
        let n = call();
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// `writev` of a header and a body: one datagram, no copy.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
pub(crate) fn writev2(fd: BorrowedFd<'_>, head: &[u8], body: &[u8]) -> io::Result<usize> {
    let iov = [IoSlice::new(head), IoSlice::new(body)];
    // SAFETY: `IoSlice` is ABI-compatible with `struct iovec`; both slices
    // outlive the call and the count matches the array.
    retry(|| unsafe { libc::writev(fd.as_raw_fd(), iov.as_ptr().cast(), iov.len() as c_int) })
}

/// `write` of one buffer: one datagram, no copy. A direct system call
/// (rustix): the `syscall` instruction inline in the caller rather than in
/// glibc's out-of-line wrapper, whose call and return around the system call
/// cost up to ~100 ns where returns after a system call are slow (measured:
/// BENCHMARKS.md, "Reading it").
#[cfg(target_os = "linux")]
#[inline]
pub(crate) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    loop {
        match rustix::io::write(fd, buf) {
            Err(rustix::io::Errno::INTR) => continue,
            done => return done.map_err(io::Error::from),
        }
    }
}

/// `read` into one buffer: a direct system call, as [`write()`].
#[cfg(target_os = "linux")]
#[inline]
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match rustix::io::read(fd, &mut *buf) {
            Err(rustix::io::Errno::INTR) => continue,
            done => return done.map_err(io::Error::from),
        }
    }
}

fn fcntl_flags(fd: BorrowedFd<'_>) -> io::Result<c_int> {
    // SAFETY: F_GETFL takes no argument and only reads the descriptor's flags.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 { Err(io::Error::last_os_error()) } else { Ok(flags) }
}

/// Switches `O_NONBLOCK`.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    let flags = fcntl_flags(fd)?;
    let new = if on { flags | libc::O_NONBLOCK } else { flags & !libc::O_NONBLOCK };
    if new != flags {
        // SAFETY: F_SETFL takes an int of file status flags.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, new) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether `O_NONBLOCK` is set.
pub(crate) fn is_nonblocking(fd: BorrowedFd<'_>) -> io::Result<bool> {
    Ok(fcntl_flags(fd)? & libc::O_NONBLOCK != 0)
}

/// `if_nametoindex`; 0 (no such interface) becomes `ENXIO`.
pub(crate) fn if_nametoindex(name: InterfaceName) -> io::Result<u32> {
    let c = name.to_c_array();
    // SAFETY: `c` is NUL-terminated (its last byte is always 0).
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        let err = io::Error::last_os_error();
        return Err(if err.raw_os_error().unwrap_or(0) == 0 { io::Error::from_raw_os_error(libc::ENXIO) } else { err });
    }
    Ok(index)
}

/// Takes ownership of a descriptor a system call just returned.
pub(crate) fn owned(raw: c_int) -> io::Result<OwnedFd> {
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Sets `FD_CLOEXEC` (for systems without `SOCK_CLOEXEC`).
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
pub(crate) fn set_cloexec(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: F_SETFD takes an int of descriptor flags.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A close-on-exec socket.
pub(crate) fn socket(domain: c_int, ty: c_int, protocol: c_int) -> io::Result<OwnedFd> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: socket(2) with plain integer arguments.
        owned(unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, protocol) })
    }
    #[cfg(not(target_os = "linux"))]
    {
        // SAFETY: socket(2) with plain integer arguments.
        let fd = owned(unsafe { libc::socket(domain, ty, protocol) })?;
        set_cloexec(std::os::fd::AsFd::as_fd(&fd))?;
        Ok(fd)
    }
}

/// An ioctl whose argument is a pointer to `T`.
///
/// # Safety
/// `request` must be an ioctl that takes a pointer to a `T` (reading and/or
/// writing at most `size_of::<T>()` bytes), as its definition in the headers
/// states (`_IOW`/`_IOWR(.., .., T)`).
pub(crate) unsafe fn ioctl_with<T>(fd: BorrowedFd<'_>, request: std::ffi::c_ulong, arg: &mut T) -> io::Result<()> {
    // SAFETY: the caller guarantees `request` takes a `*mut T`; `arg` is one.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, arg as *mut T) };
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// `recvmsg` into a header and a body; returns the datagram's length and the
/// message flags (`MSG_TRUNC` when it did not fit).
#[cfg(target_os = "macos")]
pub(crate) fn recvmsg2(fd: BorrowedFd<'_>, head: &mut [u8], body: &mut [u8]) -> io::Result<(usize, c_int)> {
    let mut iov = [io::IoSliceMut::new(head), io::IoSliceMut::new(body)];
    // SAFETY: an all-zero msghdr is valid (no name, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr().cast();
    msg.msg_iovlen = iov.len() as _;
    // SAFETY: `msg` points at two writable iovecs that outlive the call.
    let n = retry(|| unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) })?;
    Ok((n, msg.msg_flags))
}
