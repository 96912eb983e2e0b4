//! The Linux backend: `/dev/net/tun` devices ([`device`]), interface
//! configuration by ioctl and rtnetlink ([`ifconfig`]), and routes by
//! rtnetlink ([`route`]), over one netlink conversation ([`netlink`]). The
//! macOS backend has the same files with the same functions.

pub(crate) mod device;
pub(crate) mod ifconfig;
mod netlink;
pub(crate) mod route;

use std::ffi::c_int;
use std::io;
use std::os::fd::OwnedFd;

/// A close-on-exec socket (`SOCK_CLOEXEC`).
fn socket(domain: c_int, ty: c_int, protocol: c_int) -> io::Result<OwnedFd> {
    // SAFETY: socket(2) with plain integer arguments.
    crate::unix::owned(unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, protocol) })
}

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

/// The name of the interface with index `index`, if there is one.
fn if_indextoname(index: u32) -> Option<crate::name::InterfaceName> {
    if index == 0 {
        return None;
    }
    let mut name = [0 as libc::c_char; crate::name::MAX_NAME_LEN + 1];
    // SAFETY: `name` is a writable buffer of IFNAMSIZ bytes, what if_indextoname(3) requires.
    let ret = unsafe { libc::if_indextoname(index, name.as_mut_ptr()) };
    if ret.is_null() {
        return None;
    }
    crate::name::InterfaceName::from_c_bytes(&name.map(|c| c as u8))
}
