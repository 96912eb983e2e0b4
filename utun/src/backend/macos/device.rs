//! utun devices: a `PF_SYSTEM`/`SOCK_DGRAM`/`SYSPROTO_CONTROL` socket
//! connected to `com.apple.net.utun_control` (XNU bsd/net/if_utun.c,
//! bsd/kern/kern_control.c). Every packet carries a 4-byte header: the
//! protocol family in network byte order.

use std::ffi::{c_int, c_void};
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use utun_sys::apple as sys;

use crate::codec::bsd::datagram::{self, HEADER_LEN};
use crate::error::{Detail, Error, ErrorKind, Op};
use crate::name::InterfaceName;
use crate::packet::{self, IpVersion};

/// Whether a waiter must ask for error events too: no, a utun control
/// socket reports its end (the interface detached) as readable, like any
/// socket whose peer has gone (kqueue `EV_EOF` on `EVFILT_READ`).
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) const READY_ON_ERROR_ONLY: bool = false;

/// `CTLIOCGINFO`: the control id of a kernel control name.
fn ctl_id(fd: BorrowedFd<'_>) -> io::Result<u32> {
    let mut info = crate::codec::bsd::request::ctl_info_for_utun();
    // SAFETY: CTLIOCGINFO is `_IOWR('N', 3, struct ctl_info)` (sys/kern_control.h); `info` is one.
    unsafe { crate::unix::ioctl_with(fd, sys::CTLIOCGINFO, &mut info) }?;
    Ok(info.ctl_id)
}

fn connect_ctl(fd: BorrowedFd<'_>, addr: &sys::sockaddr_ctl) -> io::Result<()> {
    // SAFETY: `addr` is a `sockaddr_ctl` and the length passed is its size.
    let rc = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (addr as *const sys::sockaddr_ctl).cast(),
            size_of::<sys::sockaddr_ctl>() as libc::socklen_t,
        )
    };
    crate::unix::cvt(rc).map(drop)
}

/// `UTUN_OPT_IFNAME`: the interface name.
fn ifname(fd: BorrowedFd<'_>) -> io::Result<[u8; sys::IFNAMSIZ as usize]> {
    let mut name = [0u8; sys::IFNAMSIZ as usize];
    let mut len = name.len() as libc::socklen_t;
    // SAFETY: the buffer and its length describe writable memory of that size.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            sys::SYSPROTO_CONTROL as c_int,
            sys::UTUN_OPT_IFNAME as c_int,
            name.as_mut_ptr().cast::<c_void>(),
            &mut len,
        )
    };
    crate::unix::cvt(rc).map(|_| name)
}

/// The unit `sc_unit` asks for: `utunN` is unit N + 1; 0 lets the kernel pick.
fn unit_for(name: Option<InterfaceName>) -> Result<u32, Error> {
    let Some(name) = name else { return Ok(0) };
    let bad = || {
        Error::invalid(
            Op::CreateDevice,
            ErrorKind::InvalidInput,
            Detail::Static("a utun device is named utunN, N a unit number"),
        )
        .on(name)
    };
    let digits = name.as_str().strip_prefix("utun").ok_or_else(bad)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || (digits.len() > 1 && digits.starts_with('0'))
    {
        return Err(bad());
    }
    digits.parse::<u32>().ok().and_then(|n| n.checked_add(1)).ok_or_else(bad)
}

/// Creates a utun device (any free unit, or the one `name` asks for).
pub(crate) fn create(name: Option<InterfaceName>) -> Result<(OwnedFd, InterfaceName), Error> {
    let unit = unit_for(name)?;
    let on = |e: Error| match name {
        Some(n) => e.on(n),
        None => e,
    };
    let fd = super::socket(sys::PF_SYSTEM as c_int, libc::SOCK_DGRAM, sys::SYSPROTO_CONTROL as c_int)
        .map_err(|e| on(Error::os(Op::CreateDevice, e).about("socket(PF_SYSTEM)")))?;
    let id = ctl_id(fd.as_fd()).map_err(|e| on(Error::os(Op::CreateDevice, e).about("CTLIOCGINFO")))?;
    connect_ctl(fd.as_fd(), &crate::codec::bsd::request::sockaddr_ctl(id, unit)).map_err(|e| {
        let err = on(Error::os(Op::CreateDevice, e));
        if err.kind() == ErrorKind::Busy { err.because(Detail::Static("that unit is in use")) } else { err }
    })?;
    let raw = ifname(fd.as_fd()).map_err(|e| on(Error::os(Op::QueryDevice, e).about("UTUN_OPT_IFNAME")))?;
    let name = InterfaceName::from_c_bytes(&raw)
        .ok_or_else(|| Error::invalid(Op::QueryDevice, ErrorKind::MalformedReply, Detail::Static("UTUN_OPT_IFNAME")))?;
    Ok((fd, name))
}

/// `writev` of a header and a body: one datagram, no copy; `EINTR` retried.
fn writev2(fd: BorrowedFd<'_>, head: &[u8], body: &[u8]) -> io::Result<usize> {
    let iov = [IoSlice::new(head), IoSlice::new(body)];
    // SAFETY: `IoSlice` is ABI-compatible with `struct iovec`; both slices
    // outlive the call and the count matches the array.
    let n = crate::unix::cvt_r(|| unsafe { libc::writev(fd.as_raw_fd(), iov.as_ptr().cast(), iov.len() as c_int) })?;
    Ok(super::byte_count(n))
}

/// `recvmsg` into a header and a body; returns the datagram's length and the
/// message flags (`MSG_TRUNC` when it did not fit); `EINTR` retried.
fn recvmsg2(fd: BorrowedFd<'_>, head: &mut [u8], body: &mut [u8]) -> io::Result<(usize, c_int)> {
    let mut iov = [IoSliceMut::new(head), IoSliceMut::new(body)];
    // SAFETY: an all-zero msghdr is valid (no name, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr().cast();
    msg.msg_iovlen = iov.len() as _;
    // SAFETY: `msg` points at two writable iovecs that outlive the call.
    let n = crate::unix::cvt_r(|| unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) })?;
    Ok((super::byte_count(n), msg.msg_flags))
}

/// The family header for an outgoing packet.
fn header(version: IpVersion) -> [u8; HEADER_LEN] {
    match version {
        IpVersion::V4 => sys::AF_INET,
        IpVersion::V6 => sys::AF_INET6,
    }
    .to_be_bytes()
}

/// Writes one IP packet.
pub(crate) fn send(fd: BorrowedFd<'_>, packet: &[u8]) -> Result<usize, Error> {
    let version = packet::check_outgoing(packet)?;
    let n = writev2(fd, &header(version), packet).map_err(|e| Error::os(Op::Send, e))?;
    Ok(n.saturating_sub(HEADER_LEN))
}

/// Reads one IP packet into `buf`. `recvmsg` rather than `readv`, for
/// `MSG_TRUNC`: the kernel says when the datagram did not fit (and returns
/// only what it copied; `codec::bsd::datagram` reads the result).
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Error> {
    let mut head = [0u8; HEADER_LEN];
    let capacity = buf.len();
    let (n, flags) = recvmsg2(fd, &mut head, buf).map_err(|e| Error::os(Op::Recv, e))?;
    datagram::packet_len(n, flags & libc::MSG_TRUNC != 0, head, capacity)
}

/// `UTUN_OPT_MAX_PENDING_PACKETS` (a `u_int32_t`; XNU if_utun.c refuses 0
/// with `EINVAL` and another size with `EMSGSIZE`).
pub(crate) fn set_max_pending_packets(fd: BorrowedFd<'_>, packets: u32) -> io::Result<()> {
    // SAFETY: a readable u32 and its size, for an option that takes a u_int32_t.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            sys::SYSPROTO_CONTROL as c_int,
            sys::UTUN_OPT_MAX_PENDING_PACKETS as c_int,
            (&packets as *const u32).cast::<c_void>(),
            size_of::<u32>() as libc::socklen_t,
        )
    };
    crate::unix::cvt(rc).map(drop)
}

/// Reads `UTUN_OPT_MAX_PENDING_PACKETS`.
pub(crate) fn max_pending_packets(fd: BorrowedFd<'_>) -> io::Result<u32> {
    let mut packets: u32 = 0;
    let mut len = size_of::<u32>() as libc::socklen_t;
    // SAFETY: a writable u32 and its size, for an option that gives a u_int32_t.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            sys::SYSPROTO_CONTROL as c_int,
            sys::UTUN_OPT_MAX_PENDING_PACKETS as c_int,
            (&mut packets as *mut u32).cast::<c_void>(),
            &mut len,
        )
    };
    crate::unix::cvt(rc).map(|_| packets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_numbers() {
        let n = |s: &str| unit_for(Some(InterfaceName::new(s).unwrap()));
        assert_eq!(unit_for(None).unwrap(), 0);
        assert_eq!(n("utun0").unwrap(), 1);
        assert_eq!(n("utun12").unwrap(), 13);
        for bad in ["tun0", "utun", "utunx", "utun01", "utun99999999999"] {
            assert_eq!(n(bad).unwrap_err().kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }
}
