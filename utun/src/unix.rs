//! What both backends share of the Unix system calls, each in a small safe
//! function, and the one way they are called: [`cvt`] checks a return value
//! for `-1` (the error is then in `errno`), [`cvt_r`] also repeats a call a
//! signal interrupted (`EINTR`), for the calls that may simply be made again.
//! Callers turn `io::Error` into the crate's typed error.

use std::ffi::{c_int, c_ulong};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use crate::name::InterfaceName;

/// The integer types system calls return, whose `-1` means failure.
pub(crate) trait IsMinusOne: Copy {
    /// Whether this is the failure value.
    fn is_minus_one(self) -> bool;
}

impl IsMinusOne for c_int {
    fn is_minus_one(self) -> bool {
        self == -1
    }
}

impl IsMinusOne for isize {
    fn is_minus_one(self) -> bool {
        self == -1
    }
}

/// A system call's return value, or the error in `errno` when it is `-1`.
#[inline]
pub(crate) fn cvt<T: IsMinusOne>(ret: T) -> io::Result<T> {
    if ret.is_minus_one() { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

/// Makes the call `f` until a signal does not interrupt it (`EINTR`); for
/// calls that may be made again as they are (`read`, `write`, `recvmsg`,
/// `writev`), never for `close` or `connect`.
#[inline]
pub(crate) fn cvt_r<T: IsMinusOne>(mut f: impl FnMut() -> T) -> io::Result<T> {
    loop {
        match cvt(f()) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            done => return done,
        }
    }
}

fn fcntl_flags(fd: BorrowedFd<'_>) -> io::Result<c_int> {
    // SAFETY: F_GETFL takes no argument and only reads the descriptor's flags.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })
}

/// Switches `O_NONBLOCK`.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    let flags = fcntl_flags(fd)?;
    let new = if on { flags | libc::O_NONBLOCK } else { flags & !libc::O_NONBLOCK };
    if new != flags {
        // SAFETY: F_SETFL takes an int of file status flags.
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, new) })?;
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

/// An ioctl whose argument is a pointer to `T`.
///
/// # Safety
/// `request` must be an ioctl that takes a pointer to a `T` (reading and/or
/// writing at most `size_of::<T>()` bytes), as its definition in the headers
/// states (`_IOW`/`_IOWR(.., .., T)`).
pub(crate) unsafe fn ioctl_with<T>(fd: BorrowedFd<'_>, request: c_ulong, arg: &mut T) -> io::Result<()> {
    // SAFETY: the caller guarantees `request` takes a `*mut T`; `arg` is one.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), request as _, arg as *mut T) }).map(drop)
}
