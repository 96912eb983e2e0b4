//! Interface configuration on Linux, through a [`ConfigSocket`] that holds
//! what every step needs from the start: a netlink socket for addresses
//! (`RTM_NEWADDR`, `RTM_DELADDR`) and an `AF_INET` datagram socket for the
//! `SIOC[GS]IFMTU`, `SIOC[GS]IFFLAGS` ioctls (a `struct ifreq` from the UAPI
//! headers). Every call acts on one interface by identity: the ioctls go by
//! name, so each first checks (`SIOCGIFNAME` of the index) that the index
//! still carries that name, and refuses otherwise.

use std::ffi::{c_int, c_short, c_ulong};
use std::io;
use std::os::fd::{AsFd, OwnedFd};

use utun_sys as sys;

use super::netlink::NetlinkSocket;
use crate::error::{Detail, Error, ErrorKind, Op};
use crate::interface::Interface;
use crate::name::InterfaceName;
use crate::net::InterfaceAddress;

/// The sockets interface configuration goes through, opened once.
#[derive(Debug)]
pub(crate) struct ConfigSocket {
    netlink: NetlinkSocket,
    inet: OwnedFd,
}

impl ConfigSocket {
    /// Opens the netlink and the ioctl socket.
    pub(crate) fn open() -> Result<ConfigSocket, Error> {
        let inet =
            super::socket(sys::AF_INET as c_int, libc::SOCK_DGRAM, 0).map_err(|e| Error::os(Op::OpenSocket, e))?;
        Ok(ConfigSocket { netlink: NetlinkSocket::open()?, inet })
    }

    /// Adds an address (`RTM_NEWADDR`, `NLM_F_CREATE | NLM_F_EXCL`).
    pub(crate) fn add_address(&mut self, iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
        self.netlink.add_address(iface.index(), address)
    }

    /// Adds or updates an address (`RTM_NEWADDR` with `NLM_F_REPLACE`).
    pub(crate) fn replace_address(&mut self, iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
        self.netlink.replace_address(iface.index(), address)
    }

    /// Removes an address (`RTM_DELADDR`).
    pub(crate) fn remove_address(&mut self, iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
        self.netlink.delete_address(iface.index(), address)
    }

    /// The MTU.
    pub(crate) fn mtu(&mut self, iface: &Interface) -> Result<u32, Error> {
        let mut ifr = ifreq(iface.name());
        self.ifreq_ioctl(Op::GetMtu, iface, sys::SIOCGIFMTU, &mut ifr)?;
        // SAFETY: after SIOCGIFMTU the kernel has written `ifru_mtu`.
        let mtu = unsafe { ifr.ifr_ifru.ifru_mtu };
        u32::try_from(mtu).map_err(|_| {
            Error::invalid(Op::GetMtu, ErrorKind::MalformedReply, Detail::Static("negative MTU")).on(iface.name())
        })
    }

    /// Sets the MTU; the kernel's range check answers `EINVAL` (InvalidInput).
    pub(crate) fn set_mtu(&mut self, iface: &Interface, mtu: u32) -> Result<(), Error> {
        let value = crate::interface::mtu_as_c_int(iface.name(), mtu)?;
        let mut ifr = ifreq(iface.name());
        ifr.ifr_ifru.ifru_mtu = value;
        self.ifreq_ioctl(Op::SetMtu, iface, sys::SIOCSIFMTU, &mut ifr).map_err(|e| e.about(format_args!("MTU {mtu}")))
    }

    /// The interface flags (`IFF_*`).
    pub(crate) fn flags(&mut self, iface: &Interface) -> Result<u32, Error> {
        let mut ifr = ifreq(iface.name());
        self.ifreq_ioctl(Op::GetFlags, iface, sys::SIOCGIFFLAGS, &mut ifr)?;
        // SAFETY: after SIOCGIFFLAGS the kernel has written `ifru_flags`.
        Ok(u32::from(unsafe { ifr.ifr_ifru.ifru_flags } as u16))
    }

    /// Sets the interface flags (callers read-modify-write).
    pub(crate) fn set_flags(&mut self, iface: &Interface, flags: u32) -> Result<(), Error> {
        let mut ifr = ifreq(iface.name());
        ifr.ifr_ifru.ifru_flags = flags as u16 as c_short;
        self.ifreq_ioctl(Op::SetFlags, iface, sys::SIOCSIFFLAGS, &mut ifr)
    }

    /// One `ifreq` ioctl by name, on the interface `iface` only.
    fn ifreq_ioctl(&self, op: Op, iface: &Interface, request: c_ulong, ifr: &mut sys::ifreq) -> Result<(), Error> {
        self.check_identity(op, iface)?;
        // SAFETY: every SIOC[GS]IF* request used here takes a `struct ifreq *`
        // (linux/sockios.h; net/core/dev_ioctl.c), which `ifr` is.
        unsafe { crate::unix::ioctl_with(self.inet.as_fd(), request, ifr) }
            .map_err(|e: io::Error| Error::os(op, e).on(iface.name()))
    }

    /// Refuses when the interface's index no longer carries its name (it is
    /// gone, renamed, or the name now belongs to another interface):
    /// `SIOCGIFNAME` of the index, compared with the name.
    fn check_identity(&self, op: Op, iface: &Interface) -> Result<(), Error> {
        let mut ifr = sys::ifreq::default();
        ifr.ifr_ifru.ifru_ivalue = c_int::try_from(iface.index()).unwrap_or(c_int::MAX);
        // SAFETY: SIOCGIFNAME takes a `struct ifreq *` (ifr_ifindex in, ifr_name out).
        let named = unsafe { crate::unix::ioctl_with(self.inet.as_fd(), sys::SIOCGIFNAME, &mut ifr) };
        // SAFETY: reading the name member of a plain-data union the kernel filled.
        let raw = unsafe { ifr.ifr_ifrn.ifrn_name };
        let now = named.ok().and_then(|()| InterfaceName::from_c_bytes(&raw.map(|c| c as u8)));
        if now == Some(iface.name()) {
            return Ok(());
        }
        let why = match now {
            Some(other) => format!("interface index {} is now named {}", iface.index(), other.as_str()),
            None => format!("interface index {} is gone", iface.index()),
        };
        Err(Error::invalid(op, ErrorKind::NotFound, Detail::Text(why.into())).on(iface.name()))
    }
}

fn ifreq(name: InterfaceName) -> sys::ifreq {
    let mut ifr = sys::ifreq::default();
    ifr.ifr_ifrn.ifrn_name = name.to_c_array();
    ifr
}
