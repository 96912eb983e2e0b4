//! The raw loops' system calls, each in a small function.

use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd, RawFd};

/// `write(2)`; `Err` for -1.
#[inline]
pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is readable for `buf.len()` bytes for the whole call.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
}

/// `read(2)`; `Err` for -1.
#[inline]
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is writable for `buf.len()` bytes for the whole call.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
}

/// `write(2)` as a direct system call (rustix's linux_raw backend: the
/// `syscall` instruction inline, no glibc wrapper), as `utun` makes it on Linux.
#[inline]
pub fn write_direct(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `fd` is one of the benchmark's open tun descriptors, open for the whole call.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    rustix::io::write(fd, buf).map_err(io::Error::from)
}

/// `read(2)` as a direct system call (see [`write_direct`]).
#[inline]
pub fn read_direct(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `fd` is one of the benchmark's open tun descriptors, open for the whole call.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    rustix::io::read(fd, buf).map_err(io::Error::from)
}

/// `poll(2)` on one descriptor for `events`, without a timeout.
pub fn wait(fd: RawFd, events: libc::c_short) -> io::Result<()> {
    let mut pfd = libc::pollfd { fd, events, revents: 0 };
    loop {
        // SAFETY: one valid pollfd, and the count says one.
        let rc = unsafe { libc::poll(&mut pfd, 1, -1) };
        if rc >= 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// `poll(2)` on one descriptor for input, for at most `ms` milliseconds;
/// whether it became readable.
pub fn readable_within(fd: RawFd, ms: libc::c_int) -> io::Result<bool> {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, and the count says one.
    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(rc > 0) }
}

/// An unbound close-on-exec `AF_INET` datagram socket, for interface ioctls.
pub fn udp_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) with plain integer arguments.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new descriptor the kernel just returned, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Switches `O_NONBLOCK` on `fd`.
pub fn set_nonblocking(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: F_GETFL takes no argument.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let new = if on { flags | libc::O_NONBLOCK } else { flags & !libc::O_NONBLOCK };
    // SAFETY: F_SETFL takes an int of file status flags.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, new) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Ends the process when the run in progress takes longer than `seconds`
/// (a lost packet would leave a blocking `read` waiting forever); 0 disarms.
/// Each call replaces the previous deadline.
pub fn watchdog(seconds: libc::c_uint) -> io::Result<()> {
    // SAFETY: an all-zero sigaction is valid (no flags, empty mask); the
    // handler only calls async-signal-safe functions (write, _exit).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_alarm as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: `action` is a valid sigaction; the old one is not wanted.
    if unsafe { libc::sigaction(libc::SIGALRM, &action, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: alarm takes a number of seconds and cannot fail.
    unsafe { libc::alarm(seconds) };
    Ok(())
}

extern "C" fn on_alarm(_signal: libc::c_int) {
    let msg = b"device benchmark: a run did not finish in time (a packet lost?); giving up\n";
    // SAFETY: write and _exit are async-signal-safe; `msg` is a valid buffer.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::_exit(1);
    }
}

/// An epoll instance, as an async runtime's reactor holds one.
pub struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    /// A new close-on-exec epoll instance.
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes only flags.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new descriptor the kernel just returned, owned by nobody else.
        Ok(Epoll { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// Registers `fd` edge-triggered for input and output, as mio does.
    pub fn add(&self, fd: RawFd) -> io::Result<()> {
        let events = libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET;
        let mut event = libc::epoll_event { events: events as u32, u64: fd as u64 };
        // SAFETY: `event` is a valid epoll_event for the call.
        if unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits for the next event on any registered descriptor.
    pub fn wait(&self) -> io::Result<()> {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 4];
        // SAFETY: `events` has room for the count passed.
        let rc = unsafe { libc::epoll_wait(self.fd.as_raw_fd(), events.as_mut_ptr(), events.len() as libc::c_int, -1) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        Ok(())
    }
}
