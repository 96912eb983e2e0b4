//! The Linux backend: `/dev/net/tun` devices ([`device`]), interface
//! configuration by rtnetlink ([`ifconfig`]: links and addresses, by
//! index), and routes by rtnetlink ([`route`]), over one netlink
//! conversation ([`netlink`]). The macOS backend has the same files with the
//! same functions.

pub(crate) mod device;
pub(crate) mod ifconfig;
mod netlink;
pub(crate) mod route;

use std::io;

/// [`crate::unix::cvt_r`] for a direct system call made through rustix:
/// repeats it while a signal interrupts it (`EINTR`).
#[inline]
fn retry<T>(mut call: impl FnMut() -> rustix::io::Result<T>) -> io::Result<T> {
    loop {
        match call() {
            Err(rustix::io::Errno::INTR) => continue,
            done => return done.map_err(io::Error::from),
        }
    }
}
