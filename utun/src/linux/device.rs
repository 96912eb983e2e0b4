//! Linux tun devices: `/dev/net/tun`, `TUNSETIFF`, and packets framed by the
//! 4-byte packet-information header (`struct tun_pi`).
//!
//! We keep the packet-information header (no `IFF_NO_PI`) for the same reason
//! macOS has its 4-byte family header: the kernel says in it when a packet
//! did not fit the reader's buffer (`TUN_PKT_STRIP`), which `IFF_NO_PI` would
//! hide. It is read into (and written from) a separate 4-byte buffer with
//! `readv`/`writev`, so the caller's buffer holds exactly the IP packet and
//! nothing is copied.

use std::ffi::c_short;
use std::io;
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};

use utun_sys as sys;

use crate::error::{Detail, Error, ErrorKind, Op};
use crate::name::InterfaceName;
use crate::packet::{self, IpVersion};

/// `IFF_TUN` as the `short` `ifr_flags` holds (checked at compile time).
const TUN_FLAGS: c_short = {
    assert!(sys::IFF_TUN <= i16::MAX as u32);
    sys::IFF_TUN as c_short
};

/// The size of the packet-information header.
pub(crate) const HEADER_LEN: usize = size_of::<sys::tun_pi>();

/// `TUNSETIFF`: attaches the fd to a (new or existing) tun interface.
fn tunsetiff(fd: BorrowedFd<'_>, ifr: &mut sys::ifreq) -> io::Result<()> {
    // SAFETY: TUNSETIFF is `_IOW('T', 202, int)` but reads and writes a
    // `struct ifreq` (drivers/net/tun.c), which `ifr` is.
    unsafe { crate::unix::ioctl_with(fd, sys::TUNSETIFF, ifr) }
}

/// Opens `/dev/net/tun` close-on-exec.
fn open_clone_device() -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated path; open returns a new descriptor or -1.
    crate::unix::owned(unsafe { libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) })
}

/// Creates a tun interface named `name`, or one the kernel names (`tunN`).
pub(crate) fn create(name: Option<InterfaceName>) -> Result<(OwnedFd, InterfaceName), Error> {
    let with_name = |e: Error| match name {
        Some(n) => e.on(n),
        None => e,
    };
    let fd = open_clone_device().map_err(|e| with_name(Error::os(Op::CreateDevice, e).about("/dev/net/tun")))?;
    let mut ifr = sys::ifreq::default();
    if let Some(name) = name {
        ifr.ifr_ifrn.ifrn_name = name.to_c_array();
    }
    ifr.ifr_ifru.ifru_flags = TUN_FLAGS;
    tunsetiff(fd.as_fd(), &mut ifr).map_err(|e| {
        // An existing interface that is not a free tun (say `lo`) answers EINVAL
        // or EBUSY: either way the name is taken.
        let taken = matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::EINVAL)) && name.is_some();
        let err = with_name(Error::os(Op::CreateDevice, e));
        if taken { err.with_kind(ErrorKind::Busy).about("the name is taken by another interface") } else { err }
    })?;
    // SAFETY: reading the name member of a plain-data union the kernel filled.
    let raw_name = unsafe { ifr.ifr_ifrn.ifrn_name };
    let bytes: Vec<u8> = raw_name.iter().map(|&c| c as u8).collect();
    let name = InterfaceName::from_c_bytes(&bytes)
        .ok_or_else(|| Error::invalid(Op::CreateDevice, ErrorKind::MalformedReply, Detail::Static("TUNSETIFF name")))?;
    Ok((fd, name))
}

/// The packet-information header for an outgoing packet.
fn header(version: IpVersion) -> [u8; HEADER_LEN] {
    let proto = match version {
        IpVersion::V4 => sys::ETH_P_IP,
        IpVersion::V6 => sys::ETH_P_IPV6,
    } as u16;
    let mut h = [0u8; HEADER_LEN];
    h[2..4].copy_from_slice(&proto.to_be_bytes());
    h
}

/// Writes one IP packet.
pub(crate) fn send(fd: BorrowedFd<'_>, packet: &[u8]) -> Result<usize, Error> {
    let version = packet::check_outgoing(packet)?;
    let head = header(version);
    let n = crate::unix::writev2(fd, &head, packet).map_err(|e| Error::os(Op::Send, e))?;
    Ok(n.saturating_sub(HEADER_LEN))
}

/// Reads one IP packet into `buf`.
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Error> {
    let mut head = [0u8; HEADER_LEN];
    let n = crate::unix::readv2(fd, &mut head, buf).map_err(|e| Error::os(Op::Recv, e))?;
    if n < HEADER_LEN {
        return Err(Error::invalid(Op::Recv, ErrorKind::MalformedPacket, Detail::Static("shorter than its header")));
    }
    let flags = u16::from_ne_bytes([head[0], head[1]]);
    if u32::from(flags) & sys::TUN_PKT_STRIP != 0 {
        return Err(Error::invalid(
            Op::Recv,
            ErrorKind::BufferTooSmall,
            Detail::Len { len: n - HEADER_LEN, limit: buf.len() },
        ));
    }
    let proto = u32::from(u16::from_be_bytes([head[2], head[3]]));
    if proto != sys::ETH_P_IP && proto != sys::ETH_P_IPV6 {
        return Err(Error::invalid(Op::Recv, ErrorKind::MalformedPacket, Detail::Family(proto)));
    }
    Ok(n - HEADER_LEN)
}
