//! Interface configuration on Linux, all by rtnetlink, through a
//! [`ConfigSocket`] that holds the one descriptor every step needs from the
//! start (a [`NetlinkSocket`]): the link by index (`RTM_GETLINK` reads its
//! name, MTU and flags; `RTM_NEWLINK` sets the MTU, or the flags that
//! change, with `ifi_change`), addresses by index (`RTM_NEWADDR`,
//! `RTM_DELADDR`).
//!
//! Every call acts on one interface by identity. It names the interface by
//! index, never by name, and first reads the link with that index: only
//! when the index still carries the interface's name does it go on, so an
//! interface renamed, replaced by a namesake (a new interface has a new
//! index) or gone since is refused with [`ErrorKind::NotFound`], saying
//! which, and nothing is changed. The check and the change are one read and
//! one write on the same index: what could come between them is the
//! interface's deletion and the creation of another with that very index
//! (`ip link add ... index N`) and that very name.

use std::net::{IpAddr, Ipv4Addr};

use super::netlink::{NetlinkSocket, RequestError};
use crate::codec::netlink::link::index_fits;
use crate::codec::netlink::{AddressAction, Link, Request, TunInfo};
use crate::error::{Detail, Error, ErrorKind, Op};
use crate::interface::Interface;
use crate::net::InterfaceAddress;

/// The socket interface configuration goes through, opened once.
#[derive(Debug)]
pub(crate) struct ConfigSocket {
    netlink: NetlinkSocket,
}

impl ConfigSocket {
    /// Opens the netlink socket.
    pub(crate) fn open() -> Result<ConfigSocket, Error> {
        Ok(ConfigSocket { netlink: NetlinkSocket::open()? })
    }

    /// Adds an address (`RTM_NEWADDR`, `NLM_F_CREATE | NLM_F_EXCL`). An
    /// identical address already there is [`ErrorKind::AlreadyExists`];
    /// 0.0.0.0, which the kernel acknowledges and ignores, is
    /// [`ErrorKind::InvalidInput`] before it is sent; so is an IPv6 address
    /// on an interface whose MTU is below IPv6's minimum, which the kernel
    /// refuses with a bare `EINVAL` (net/ipv6/addrconf.c, `addrconf_add_dev`).
    pub(crate) fn add_address(&mut self, iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
        self.address(Op::AddAddress, AddressAction::Add, iface, address)
    }

    /// Adds or updates an address (`RTM_NEWADDR` with `NLM_F_REPLACE`).
    pub(crate) fn replace_address(&mut self, iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
        self.address(Op::AddAddress, AddressAction::Replace, iface, address)
    }

    /// Removes an address (`RTM_DELADDR`). A missing address is
    /// [`ErrorKind::NotFound`] (`EADDRNOTAVAIL`).
    pub(crate) fn remove_address(&mut self, iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
        self.address(Op::RemoveAddress, AddressAction::Delete, iface, address)
    }

    fn address(
        &mut self,
        op: Op,
        action: AddressAction,
        iface: &Interface,
        address: &InterfaceAddress,
    ) -> Result<(), Error> {
        if op == Op::AddAddress && address.address() == IpAddr::V4(Ipv4Addr::UNSPECIFIED) {
            // net/ipv4/devinet.c, `__inet_insert_ifa`: an address whose local
            // part is 0.0.0.0 is freed and 0 returned: success, nothing added.
            let why =
                Detail::Static("0.0.0.0 is no interface address; the kernel would answer success and add nothing");
            return Err(Error::invalid(op, ErrorKind::InvalidInput, why).on(iface.name()).about(address));
        }
        let link = self.identity(op, iface).map_err(|e| e.about(address))?;
        if let Some(mtu) =
            link.mtu.filter(|&mtu| op == Op::AddAddress && address.address().is_ipv6() && mtu < utun_sys::IPV6_MIN_MTU)
        {
            let why = format!(
                "the interface's MTU of {mtu} is below IPv6's minimum of {}: the kernel keeps no IPv6 on it \
                 (set an MTU of at least that first)",
                utun_sys::IPV6_MIN_MTU
            );
            return Err(Error::invalid(op, ErrorKind::InvalidInput, Detail::Text(why.into()))
                .on(iface.name())
                .about(address));
        }
        let request = Request::Address { action, index: iface.index(), address };
        self.netlink.expect_ack(&request).map_err(|e| e.into_error(op, address).on(iface.name()))
    }

    /// The MTU (`IFLA_MTU`).
    pub(crate) fn mtu(&mut self, iface: &Interface) -> Result<u32, Error> {
        let link = self.identity(Op::GetMtu, iface)?;
        link.mtu.ok_or_else(|| {
            let why = Detail::Static("the kernel's RTM_NEWLINK has no IFLA_MTU");
            Error::invalid(Op::GetMtu, ErrorKind::MalformedReply, why).on(iface.name())
        })
    }

    /// Sets the MTU (`RTM_NEWLINK` with `IFLA_MTU`); the kernel's range
    /// check answers `EINVAL` (InvalidInput).
    pub(crate) fn set_mtu(&mut self, iface: &Interface, mtu: u32) -> Result<(), Error> {
        crate::interface::mtu_as_c_int(iface.name(), mtu)?;
        let what = format!("MTU {mtu}");
        self.identity(Op::SetMtu, iface).map_err(|e| e.about(&what))?;
        let request = Request::SetLink { index: iface.index(), mtu: Some(mtu), flags: 0, change: 0 };
        self.netlink.expect_ack(&request).map_err(|e| e.into_error(Op::SetMtu, &what).on(iface.name()))
    }

    /// The interface flags (`ifi_flags`: the `IFF_*` bits, those above the
    /// 16 of the `SIOCGIFFLAGS` ioctl included).
    pub(crate) fn flags(&mut self, iface: &Interface) -> Result<u32, Error> {
        Ok(self.identity(Op::GetFlags, iface)?.flags)
    }

    /// Sets the interface flags to `flags` (callers read-modify-write): one
    /// `RTM_NEWLINK` whose `ifi_change` holds just the flags that differ
    /// from the interface's now, so that no other flag is written back.
    pub(crate) fn set_flags(&mut self, iface: &Interface, flags: u32) -> Result<(), Error> {
        let now = self.identity(Op::SetFlags, iface)?.flags;
        let change = now ^ flags;
        if change == 0 {
            return Ok(());
        }
        let request = Request::SetLink { index: iface.index(), mtu: None, flags, change };
        self.netlink.expect_ack(&request).map_err(|e| e.into_error(Op::SetFlags, &"IFF flags").on(iface.name()))
    }

    /// The tun driver's framing of the interface (`IFLA_LINKINFO`), `None`
    /// when it is no tun or tap.
    pub(crate) fn tun_info(&mut self, iface: &Interface) -> Result<Option<TunInfo>, Error> {
        Ok(self.identity(Op::AdoptDevice, iface)?.tun)
    }

    /// The link with the interface's index, when that index still carries
    /// the interface's name; otherwise [`ErrorKind::NotFound`], saying
    /// whether the index is gone or now has another name.
    fn identity(&mut self, op: Op, iface: &Interface) -> Result<Link, Error> {
        let index = iface.index();
        let refuse = |why: String| Error::invalid(op, ErrorKind::NotFound, Detail::Text(why.into())).on(iface.name());
        if !index_fits(index) {
            return Err(refuse(format!("no interface can have index {index}")));
        }
        let link = match self.netlink.link(index) {
            Ok(link) => link,
            Err(RequestError::Kernel(e)) if e.raw_os_error() == Some(libc::ENODEV) => {
                return Err(refuse(format!("interface index {index} is gone")));
            }
            Err(e) => return Err(e.into_error(op, &format_args!("interface index {index}")).on(iface.name())),
        };
        match link.name {
            Some(name) if name == iface.name() => Ok(link),
            Some(other) => Err(refuse(format!("interface index {index} is now named {}", other.as_str()))),
            None => Err(refuse(format!("interface index {index} has no name"))),
        }
    }
}

/// On Linux, refuses an MTU below IPv6's minimum while any of `addresses`
/// is an IPv6 one: the kernel would remove it, silently and for good (see
/// `Cleanup::set_mtu`). The error is `InvalidInput` for
/// `Op::SetMtu`, about the first such address, with the reason.
pub(crate) fn check_mtu_keeps_ipv6<'a>(
    mtu: u32,
    mut addresses: impl Iterator<Item = &'a InterfaceAddress>,
) -> Result<(), Error> {
    if mtu >= utun_sys::IPV6_MIN_MTU {
        return Ok(());
    }
    match addresses.find(|a| a.address().is_ipv6()) {
        None => Ok(()),
        Some(address) => Err(Error::invalid(
            Op::SetMtu,
            ErrorKind::InvalidInput,
            Detail::Text(
                format!(
                    "an MTU of {mtu} is below IPv6's minimum of {}: the kernel would remove every IPv6 address \
                     of the interface, and a larger MTU would not bring them back",
                    utun_sys::IPV6_MIN_MTU
                )
                .into(),
            ),
        )
        .about(address)),
    }
}
