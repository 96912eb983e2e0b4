//! Interface configuration on macOS, through a [`ConfigSocket`] that holds
//! what every step needs from the start: an `AF_INET` and an `AF_INET6`
//! datagram socket for the ioctls, with the requests
//! `crate::codec::bsd::request` builds. (Those ioctls fail on the utun's own
//! `PF_SYSTEM` socket: the inet layers handle them.) The ioctls go by name, so
//! every call first checks that the name still belongs to the interface's
//! index (`if_nametoindex`, which reads the interface list by sysctl and
//! needs no descriptor), and refuses otherwise.
//!
//! The prefix of an IPv4 address is routed into the interface, as Linux does
//! (its prefix route, `IFA_ADDRESS/prefixlen`): XNU does not. On a
//! point-to-point interface `in_ifinit` (`bsd/netinet/in.c`) adds only a host
//! route to the destination address (`RTF_HOST`, through `rtinit`), and the
//! prefix is ignored. So after `SIOCAIFADDR` of an IPv4 address with a prefix
//! shorter than /32, this module adds the route to the prefix's network (of
//! the peer when there is one, else of the address, as Linux takes
//! `IFA_ADDRESS`) out of the interface with `RTM_ADD`, as wg-quick's
//! `darwin.bash` does with `route add -inet NET -interface utunN` after
//! `ifconfig utunN inet ADDR/P ADDR alias`; and removes it before the
//! address. IPv6 needs nothing: after `in6_update_ifa`, the `SIOCAIFADDR_IN6`
//! handling in `bsd/netinet6/in6.c` makes a prefix other than /128 on-link
//! (`ndpr_raf_onlink`, `nd6_prelist_add`), which routes it into the
//! interface (`nd6_prefix_onlink`, `bsd/netinet6/nd6_rtr.c`).
//!
//! The routing sockets (two descriptors) are opened with the first prefix
//! route, before its address is added, and kept: a guard that added one
//! removes it, when descriptors may have run out, without a new one; a
//! one-off query (the MTU, the flags) never opens them.

use std::ffi::{c_int, c_ulong};
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, OwnedFd};

use utun_sys::apple as sys;

use crate::codec::bsd::request as bsd;
use crate::error::{Detail, Error, ErrorKind, Op};
use crate::interface::Interface;
use crate::net::{InterfaceAddress, Route};

use super::route::RouteSocket;

/// The sockets interface configuration goes through, opened once.
#[derive(Debug)]
pub(crate) struct ConfigSocket {
    inet: OwnedFd,
    inet6: OwnedFd,
    /// Opened when an IPv4 prefix route is first added or removed, and kept
    /// (a guard that added one removes it without a new descriptor); a
    /// one-off query such as the MTU never opens it.
    route: Option<RouteSocket>,
}

/// The route an IPv4 address's prefix needs on a utun: its network (of the
/// peer, else of the address) out of the interface, for a prefix shorter
/// than /32; `None` for IPv6 (the kernel adds it) and for a /32.
pub(crate) fn prefix_route(iface: &Interface, address: &InterfaceAddress) -> Option<Route> {
    if !address.is_ipv4() {
        return None;
    }
    address.routed_prefix().map(|net| Route::through_interface(net, iface.name()))
}

impl ConfigSocket {
    /// Opens the `AF_INET` and `AF_INET6` datagram sockets (the routing
    /// sockets come with the first prefix route: see `route`).
    pub(crate) fn open() -> Result<ConfigSocket, Error> {
        let open =
            |family: u32| super::socket(family as c_int, libc::SOCK_DGRAM, 0).map_err(|e| Error::os(Op::OpenSocket, e));
        Ok(ConfigSocket { inet: open(sys::AF_INET)?, inet6: open(sys::AF_INET6)?, route: None })
    }

    /// The routing sockets, opened on first use and kept.
    fn route(&mut self) -> Result<&mut RouteSocket, Error> {
        let route = match self.route.take() {
            Some(route) => route,
            None => RouteSocket::open()?,
        };
        Ok(self.route.insert(route))
    }

    /// One ioctl taking a pointer to `T`, on the interface `iface` only.
    ///
    /// # Safety
    /// `request` must take a pointer to a `T`.
    unsafe fn ioctl<T>(&self, op: Op, iface: &Interface, v6: bool, request: c_ulong, arg: &mut T) -> Result<(), Error> {
        check_identity(op, iface)?;
        let sock = if v6 { &self.inet6 } else { &self.inet };
        // SAFETY: the caller guarantees `request` takes a `*mut T`.
        unsafe { crate::unix::ioctl_with(sock.as_fd(), request, arg) }
            .map_err(|e: io::Error| Error::os(op, e).on(iface.name()))
    }

    /// The MTU (`SIOCGIFMTU`, `_IOWR('i', 51, struct ifreq)`).
    pub(crate) fn mtu(&mut self, iface: &Interface) -> Result<u32, Error> {
        let mut ifr = bsd::ifreq(iface.name());
        // SAFETY: SIOCGIFMTU takes a `struct ifreq *` (sys/sockio.h).
        unsafe { self.ioctl(Op::GetMtu, iface, false, sys::SIOCGIFMTU, &mut ifr) }?;
        u32::try_from(bsd::ifreq_mtu(&ifr)).map_err(|_| {
            Error::invalid(Op::GetMtu, ErrorKind::MalformedReply, Detail::Static("negative MTU")).on(iface.name())
        })
    }

    /// Sets the MTU (`SIOCSIFMTU`); XNU refuses a value out of its range with `EINVAL`.
    pub(crate) fn set_mtu(&mut self, iface: &Interface, mtu: u32) -> Result<(), Error> {
        let value = crate::interface::mtu_as_c_int(iface.name(), mtu)?;
        let mut ifr = bsd::ifreq_with_mtu(iface.name(), value);
        // SAFETY: SIOCSIFMTU takes a `struct ifreq *` (sys/sockio.h).
        unsafe { self.ioctl(Op::SetMtu, iface, false, sys::SIOCSIFMTU, &mut ifr) }
            .map_err(|e| e.about(format_args!("MTU {mtu}")))
    }

    /// The interface flags (`SIOCGIFFLAGS`).
    pub(crate) fn flags(&mut self, iface: &Interface) -> Result<u32, Error> {
        let mut ifr = bsd::ifreq(iface.name());
        // SAFETY: SIOCGIFFLAGS takes a `struct ifreq *` (sys/sockio.h).
        unsafe { self.ioctl(Op::GetFlags, iface, false, sys::SIOCGIFFLAGS, &mut ifr) }?;
        Ok(u32::from(bsd::ifreq_flags(&ifr) as u16))
    }

    /// Sets the interface flags (`SIOCSIFFLAGS`).
    pub(crate) fn set_flags(&mut self, iface: &Interface, flags: u32) -> Result<(), Error> {
        let mut ifr = bsd::ifreq_with_flags(iface.name(), flags as u16 as i16);
        // SAFETY: SIOCSIFFLAGS takes a `struct ifreq *` (sys/sockio.h).
        unsafe { self.ioctl(Op::SetFlags, iface, false, sys::SIOCSIFFLAGS, &mut ifr) }
    }

    /// Adds an address: `SIOCAIFADDR` with an `ifaliasreq` (IPv4; a utun needs a
    /// destination, so without a peer the address itself is used, as `ifconfig`
    /// users do) or `SIOCAIFADDR_IN6` with an `in6_aliasreq` (IPv6). Then the
    /// prefix route of an IPv4 address ([`prefix_route`]); when that fails,
    /// the address is removed again and the route's error returned. A route
    /// to that prefix out of this interface already there (the address added
    /// again) is kept as it is.
    pub(crate) fn add_address(&mut self, iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
        let name = iface.name();
        if address.is_ipv4() {
            let with_peer = match address.peer() {
                Some(_) => *address,
                None => address.with_peer(address.address())?,
            };
            let mut req = bsd::ifaliasreq(name, &with_peer)?;
            if prefix_route(iface, address).is_some() {
                // Before the address: without routing sockets nothing changes.
                self.route()?;
            }
            // SAFETY: SIOCAIFADDR is `_IOW('i', 26, struct ifaliasreq)`.
            unsafe { self.ioctl(Op::AddAddress, iface, false, sys::SIOCAIFADDR, &mut req) }?;
            if let Some(route) = prefix_route(iface, address) {
                if let Err(e) = self.add_prefix_route(iface, &route) {
                    // Best effort: the route's error is the one to report.
                    let _ = self.remove_address_only(iface, address);
                    return Err(e);
                }
            }
            Ok(())
        } else {
            let mut req = bsd::in6_aliasreq(name, address)?;
            // SAFETY: SIOCAIFADDR_IN6 is `_IOW('i', 26, struct in6_aliasreq)`.
            unsafe { self.ioctl(Op::AddAddress, iface, true, sys::SIOCAIFADDR_IN6, &mut req) }
        }
    }

    /// `RTM_ADD` of `route`; `EEXIST` is success only when the kernel's route
    /// for that network already has that destination and leaves by this
    /// interface.
    fn add_prefix_route(&mut self, iface: &Interface, route: &Route) -> Result<(), Error> {
        check_identity(Op::AddRoute, iface)?;
        match self.route()?.add_route(route, iface.index()) {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let found = self.route()?.get_route(route.destination().network(), 0)?;
                if found.interface_index == iface.index() && found.destination == Some(route.destination()) {
                    Ok(())
                } else {
                    Err(e)
                }
            }
            other => other,
        }
    }

    /// Adds an address, or updates the one with the same local address:
    /// `SIOCAIFADDR`/`SIOCAIFADDR_IN6` always do that (XNU `in.c`, `in6.c`);
    /// then, as [`ConfigSocket::add_address`], the prefix route of the new
    /// prefix. The route of a different prefix the address had before is
    /// not removed: remove the old address to remove it.
    pub(crate) fn replace_address(&mut self, iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
        self.add_address(iface, address)
    }

    /// Removes an address: first the prefix route of an IPv4 address
    /// ([`prefix_route`]; one already gone, or now someone else's, is left
    /// alone), then `SIOCDIFADDR` (IPv4) or `SIOCDIFADDR_IN6` (IPv6).
    pub(crate) fn remove_address(&mut self, iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
        if let Some(route) = prefix_route(iface, address) {
            check_identity(Op::DeleteRoute, iface)?;
            match self.route()?.delete_route(&route, iface.index()) {
                Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        self.remove_address_only(iface, address)
    }

    /// `SIOCDIFADDR` (IPv4) or `SIOCDIFADDR_IN6` (IPv6), and nothing else.
    fn remove_address_only(&mut self, iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
        let name = iface.name();
        match address.address() {
            IpAddr::V4(a) => {
                let mut ifr = bsd::ifreq_with_addr(name, a);
                // SAFETY: SIOCDIFADDR is `_IOW('i', 25, struct ifreq)`.
                unsafe { self.ioctl(Op::RemoveAddress, iface, false, sys::SIOCDIFADDR, &mut ifr) }
            }
            IpAddr::V6(a) => {
                let mut req = bsd::in6_ifreq_addr(name, a);
                // SAFETY: SIOCDIFADDR_IN6 is `_IOW('i', 25, struct in6_ifreq)`.
                unsafe { self.ioctl(Op::RemoveAddress, iface, true, sys::SIOCDIFADDR_IN6, &mut req) }
            }
        }
    }
}

/// Refuses when the name no longer belongs to the interface's index (it is
/// gone, or the name is another interface's now).
fn check_identity(op: Op, iface: &Interface) -> Result<(), Error> {
    match crate::unix::if_nametoindex(iface.name()) {
        Ok(index) if index == iface.index() => Ok(()),
        found => {
            let why = match found {
                Ok(other) => format!("the name now belongs to interface index {other}, not {}", iface.index()),
                Err(_) => format!("interface index {} is gone", iface.index()),
            };
            Err(Error::invalid(op, ErrorKind::NotFound, Detail::Text(why.into())).on(iface.name()))
        }
    }
}

/// Refuses nothing: XNU is not known to drop IPv6 addresses for a small
/// MTU (the Linux backend refuses an MTU that would).
pub(crate) fn check_mtu_keeps_ipv6<'a>(
    _mtu: u32,
    _addresses: impl Iterator<Item = &'a InterfaceAddress>,
) -> Result<(), Error> {
    Ok(())
}
