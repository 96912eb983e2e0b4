//! Interface configuration on macOS: ioctls on an `AF_INET` (or `AF_INET6`)
//! datagram socket, with the requests `crate::codec::bsd::request` builds. (Those ioctls fail
//! on the utun's own `PF_SYSTEM` socket: the inet layers handle them.)

use std::ffi::{c_int, c_ulong};
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, OwnedFd};

use utun_sys::apple as sys;

use crate::codec::bsd::request as bsd;
use crate::error::{Detail, Error, ErrorKind, Op};
use crate::interface::Interface;
use crate::name::InterfaceName;
use crate::net::InterfaceAddress;

fn config_socket(op: Op, family: u32) -> Result<OwnedFd, Error> {
    super::socket(family as c_int, libc::SOCK_DGRAM, 0).map_err(|e| Error::os(op, e))
}

/// One ioctl taking a pointer to `T`, on a fresh socket of `family`.
///
/// # Safety
/// `request` must take a pointer to a `T`.
unsafe fn ioctl_on<T>(op: Op, family: u32, request: c_ulong, arg: &mut T) -> Result<(), Error> {
    let sock = config_socket(op, family)?;
    // SAFETY: the caller guarantees `request` takes a `*mut T`.
    unsafe { crate::unix::ioctl_with(sock.as_fd(), request, arg) }.map_err(|e: io::Error| Error::os(op, e))
}

/// The MTU (`SIOCGIFMTU`, `_IOWR('i', 51, struct ifreq)`).
pub(crate) fn mtu(name: InterfaceName) -> Result<u32, Error> {
    let mut ifr = bsd::ifreq(name);
    // SAFETY: SIOCGIFMTU takes a `struct ifreq *` (sys/sockio.h).
    unsafe { ioctl_on(Op::GetMtu, sys::AF_INET, sys::SIOCGIFMTU, &mut ifr) }.map_err(|e| e.on(name))?;
    u32::try_from(bsd::ifreq_mtu(&ifr))
        .map_err(|_| Error::invalid(Op::GetMtu, ErrorKind::MalformedReply, Detail::Static("negative MTU")).on(name))
}

/// Sets the MTU (`SIOCSIFMTU`); XNU refuses a value out of its range with `EINVAL`.
pub(crate) fn set_mtu(name: InterfaceName, mtu: u32) -> Result<(), Error> {
    let value = crate::interface::mtu_as_c_int(name, mtu)?;
    let mut ifr = bsd::ifreq_with_mtu(name, value);
    // SAFETY: SIOCSIFMTU takes a `struct ifreq *` (sys/sockio.h).
    unsafe { ioctl_on(Op::SetMtu, sys::AF_INET, sys::SIOCSIFMTU, &mut ifr) }
        .map_err(|e| e.on(name).about(format_args!("MTU {mtu}")))
}

/// The interface flags (`SIOCGIFFLAGS`).
pub(crate) fn flags(name: InterfaceName) -> Result<u32, Error> {
    let mut ifr = bsd::ifreq(name);
    // SAFETY: SIOCGIFFLAGS takes a `struct ifreq *` (sys/sockio.h).
    unsafe { ioctl_on(Op::GetFlags, sys::AF_INET, sys::SIOCGIFFLAGS, &mut ifr) }.map_err(|e| e.on(name))?;
    Ok(u32::from(bsd::ifreq_flags(&ifr) as u16))
}

/// Sets the interface flags (`SIOCSIFFLAGS`).
pub(crate) fn set_flags(name: InterfaceName, flags: u32) -> Result<(), Error> {
    let mut ifr = bsd::ifreq_with_flags(name, flags as u16 as i16);
    // SAFETY: SIOCSIFFLAGS takes a `struct ifreq *` (sys/sockio.h).
    unsafe { ioctl_on(Op::SetFlags, sys::AF_INET, sys::SIOCSIFFLAGS, &mut ifr) }.map_err(|e| e.on(name))
}

/// Adds an address: `SIOCAIFADDR` with an `ifaliasreq` (IPv4; a utun needs a
/// destination, so without a peer the address itself is used, as `ifconfig`
/// users do) or `SIOCAIFADDR_IN6` with an `in6_aliasreq` (IPv6).
pub(crate) fn add_address(iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
    let name = iface.name();
    if address.is_ipv4() {
        let address = match address.peer() {
            Some(_) => *address,
            None => address.with_peer(address.address())?,
        };
        let mut req = bsd::ifaliasreq(name, &address)?;
        // SAFETY: SIOCAIFADDR is `_IOW('i', 26, struct ifaliasreq)`.
        unsafe { ioctl_on(Op::AddAddress, sys::AF_INET, sys::SIOCAIFADDR, &mut req) }
    } else {
        let mut req = bsd::in6_aliasreq(name, address)?;
        // SAFETY: SIOCAIFADDR_IN6 is `_IOW('i', 26, struct in6_aliasreq)`.
        unsafe { ioctl_on(Op::AddAddress, sys::AF_INET6, sys::SIOCAIFADDR_IN6, &mut req) }
    }
}

/// Adds an address, or updates the one with the same local address:
/// `SIOCAIFADDR`/`SIOCAIFADDR_IN6` always do that (XNU `in.c`, `in6.c`).
pub(crate) fn replace_address(iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
    add_address(iface, address)
}

/// Removes an address: `SIOCDIFADDR` (IPv4) or `SIOCDIFADDR_IN6` (IPv6).
pub(crate) fn remove_address(iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
    let name = iface.name();
    match address.address() {
        IpAddr::V4(a) => {
            let mut ifr = bsd::ifreq_with_addr(name, a);
            // SAFETY: SIOCDIFADDR is `_IOW('i', 25, struct ifreq)`.
            unsafe { ioctl_on(Op::RemoveAddress, sys::AF_INET, sys::SIOCDIFADDR, &mut ifr) }
        }
        IpAddr::V6(a) => {
            let mut req = bsd::in6_ifreq_addr(name, a);
            // SAFETY: SIOCDIFADDR_IN6 is `_IOW('i', 25, struct in6_ifreq)`.
            unsafe { ioctl_on(Op::RemoveAddress, sys::AF_INET6, sys::SIOCDIFADDR_IN6, &mut req) }
        }
    }
}
