//! Interface configuration on Linux: addresses by rtnetlink (`RTM_NEWADDR`,
//! `RTM_DELADDR`), MTU and flags by `SIOC[GS]IFMTU`, `SIOC[GS]IFFLAGS` on an
//! `AF_INET` datagram socket, with a `struct ifreq` from the UAPI headers.

use std::ffi::{c_int, c_short};
use std::io;
use std::os::fd::{AsFd, OwnedFd};

use utun_sys as sys;

use super::netlink::NetlinkSocket;
use crate::error::{Detail, Error, ErrorKind, Op};
use crate::interface::Interface;
use crate::name::InterfaceName;
use crate::net::InterfaceAddress;

/// Adds an address (`RTM_NEWADDR`, `NLM_F_CREATE | NLM_F_EXCL`).
pub(crate) fn add_address(iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
    NetlinkSocket::open()?.add_address(iface.index(), address)
}

/// Adds or updates an address (`RTM_NEWADDR` with `NLM_F_REPLACE`).
pub(crate) fn replace_address(iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
    NetlinkSocket::open()?.replace_address(iface.index(), address)
}

/// Removes an address (`RTM_DELADDR`).
pub(crate) fn remove_address(iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
    NetlinkSocket::open()?.delete_address(iface.index(), address)
}

fn config_socket(op: Op) -> Result<OwnedFd, Error> {
    super::socket(sys::AF_INET as c_int, libc::SOCK_DGRAM, 0).map_err(|e| Error::os(op, e))
}

fn ifreq(name: InterfaceName) -> sys::ifreq {
    let mut ifr = sys::ifreq::default();
    ifr.ifr_ifrn.ifrn_name = name.to_c_array();
    ifr
}

/// One `ifreq` ioctl on a fresh configuration socket.
fn ifreq_ioctl(op: Op, name: InterfaceName, request: std::ffi::c_ulong, ifr: &mut sys::ifreq) -> Result<(), Error> {
    let sock = config_socket(op).map_err(|e| e.on(name))?;
    // SAFETY: every SIOC[GS]IF* request used here takes a `struct ifreq *`
    // (linux/sockios.h; net/core/dev_ioctl.c), which `ifr` is.
    unsafe { crate::unix::ioctl_with(sock.as_fd(), request, ifr) }.map_err(|e: io::Error| Error::os(op, e).on(name))
}

/// The MTU.
pub(crate) fn mtu(name: InterfaceName) -> Result<u32, Error> {
    let mut ifr = ifreq(name);
    ifreq_ioctl(Op::GetMtu, name, sys::SIOCGIFMTU, &mut ifr)?;
    // SAFETY: after SIOCGIFMTU the kernel has written `ifru_mtu`.
    let mtu = unsafe { ifr.ifr_ifru.ifru_mtu };
    u32::try_from(mtu)
        .map_err(|_| Error::invalid(Op::GetMtu, ErrorKind::MalformedReply, Detail::Static("negative MTU")).on(name))
}

/// Sets the MTU; the kernel's range check answers `EINVAL` (InvalidInput).
pub(crate) fn set_mtu(name: InterfaceName, mtu: u32) -> Result<(), Error> {
    let value = crate::interface::mtu_as_c_int(name, mtu)?;
    let mut ifr = ifreq(name);
    ifr.ifr_ifru.ifru_mtu = value;
    ifreq_ioctl(Op::SetMtu, name, sys::SIOCSIFMTU, &mut ifr).map_err(|e| e.about(format_args!("MTU {mtu}")))
}

/// The interface flags (`IFF_*`).
pub(crate) fn flags(name: InterfaceName) -> Result<u32, Error> {
    let mut ifr = ifreq(name);
    ifreq_ioctl(Op::GetFlags, name, sys::SIOCGIFFLAGS, &mut ifr)?;
    // SAFETY: after SIOCGIFFLAGS the kernel has written `ifru_flags`.
    Ok(u32::from(unsafe { ifr.ifr_ifru.ifru_flags } as u16))
}

/// Sets the interface flags (callers read-modify-write).
pub(crate) fn set_flags(name: InterfaceName, flags: u32) -> Result<(), Error> {
    let mut ifr = ifreq(name);
    ifr.ifr_ifru.ifru_flags = flags as u16 as c_short;
    ifreq_ioctl(Op::SetFlags, name, sys::SIOCSIFFLAGS, &mut ifr)
}
