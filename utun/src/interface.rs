//! Interface configuration: addresses, MTU, up/down. Through the kernel's own
//! interfaces only (ioctls on an `AF_INET`/`AF_INET6` datagram socket on
//! macOS; rtnetlink on Linux), never by running a command.

use crate::error::{Error, Op};
use crate::name::InterfaceName;
use crate::net::InterfaceAddress;

use crate::backend::ifconfig::ConfigSocket;

/// `ifr_mtu` is a C `int`: a larger MTU is refused before any ioctl.
pub(crate) fn mtu_as_c_int(name: InterfaceName, mtu: u32) -> Result<std::ffi::c_int, Error> {
    std::ffi::c_int::try_from(mtu).map_err(|_| {
        let limit = std::ffi::c_int::MAX as usize;
        Error::invalid(
            Op::SetMtu,
            crate::ErrorKind::InvalidInput,
            crate::error::Detail::Len { len: mtu as usize, limit },
        )
        .on(name)
    })
}

/// A network interface, by name and index.
///
/// Every call acts on this interface only: before an ioctl that names the
/// interface (macOS), or a request by index (Linux: rtnetlink, addresses,
/// MTU and flags alike), the name is checked to still belong to the index
/// (an interface renamed, replaced by a namesake, or gone since is a
/// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) error that says so,
/// and nothing is changed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Interface {
    name: InterfaceName,
    index: u32,
}

impl Interface {
    /// The interface called `name`; a missing one is
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound).
    pub fn by_name(name: &str) -> Result<Interface, Error> {
        let name = InterfaceName::new(name).map_err(|e| e.with_op(Op::QueryDevice))?;
        let index = crate::unix::if_nametoindex(name).map_err(|e| Error::os(Op::QueryDevice, e).on(name))?;
        Ok(Interface { name, index })
    }

    pub(crate) fn from_parts(name: InterfaceName, index: u32) -> Interface {
        Interface { name, index }
    }

    /// The name.
    pub fn name(&self) -> InterfaceName {
        self.name
    }

    /// The index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Adds an address (with its prefix and, for a point-to-point link, the
    /// peer). Adding an address the interface has already is
    /// [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists) on Linux;
    /// macOS's `SIOCAIFADDR` updates it in place.
    ///
    /// The prefix means the same on both: while the address is on the
    /// interface, its network
    /// ([`InterfaceAddress::routed_prefix`]: of the peer when there is one,
    /// else of the address) is routed into the interface, and removing the
    /// address removes that route. Linux's kernel does this itself; on macOS,
    /// where XNU routes only the peer of a utun, the crate adds the IPv4
    /// route (`RTM_ADD`, out of the interface) right after the address, and
    /// when that fails removes the address again and returns the route's
    /// error (a route to that network through another interface is
    /// [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists)).
    ///
    /// On Linux, add an IPv6 address with a peer while the interface is up:
    /// the kernel installs the route to the peer only then. An IPv4 address
    /// of 0.0.0.0 is [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
    /// (the kernel would acknowledge it and add nothing), and so is one the
    /// kernel cannot assign (`::`, `::1`, multicast: `EADDRNOTAVAIL`).
    pub fn add_address(&self, address: &InterfaceAddress) -> Result<(), Error> {
        self.add_address_via(&mut ConfigSocket::open()?, address)
    }

    pub(crate) fn add_address_via(&self, config: &mut ConfigSocket, address: &InterfaceAddress) -> Result<(), Error> {
        config.add_address(self, address).map_err(|e| e.on(self.name).about(address))
    }

    /// Adds an address, or updates the one with the same local address (its
    /// prefix and peer) in place: `SIOCAIFADDR`/`SIOCAIFADDR_IN6` on macOS
    /// (which always do that), `RTM_NEWADDR` with `NLM_F_REPLACE` on Linux.
    /// The new prefix is routed into the interface as for
    /// [`add_address`](Interface::add_address). When the prefix changes, Linux
    /// moves the prefix route; macOS keeps the route of the old prefix, which
    /// [`remove_address`](Interface::remove_address) with the old prefix
    /// removes.
    pub fn replace_address(&self, address: &InterfaceAddress) -> Result<(), Error> {
        ConfigSocket::open()?.replace_address(self, address).map_err(|e| e.on(self.name).about(address))
    }

    /// Removes an address; a missing one is
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound). Its prefix route
    /// ([`InterfaceAddress::routed_prefix`]) goes with it: on macOS the crate
    /// deletes it first (for the prefix given here), unless it is gone or now
    /// leaves by another interface.
    pub fn remove_address(&self, address: &InterfaceAddress) -> Result<(), Error> {
        self.remove_address_via(&mut ConfigSocket::open()?, address)
    }

    pub(crate) fn remove_address_via(
        &self,
        config: &mut ConfigSocket,
        address: &InterfaceAddress,
    ) -> Result<(), Error> {
        config.remove_address(self, address).map_err(|e| e.on(self.name).about(address))
    }

    /// The MTU (`SIOCGIFMTU` on macOS, `IFLA_MTU` of `RTM_GETLINK` on Linux).
    pub fn mtu(&self) -> Result<u32, Error> {
        ConfigSocket::open()?.mtu(self)
    }

    /// Sets the MTU (`SIOCSIFMTU` on macOS, `RTM_NEWLINK` on Linux); a value
    /// the kernel refuses is [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
    ///
    /// On Linux an MTU below 1280 (IPv6's minimum) makes the kernel remove
    /// every IPv6 address of the interface, silently; setting a larger MTU
    /// again brings back only the link-local one. Add IPv6 addresses after
    /// the MTU, or not at all below 1280.
    pub fn set_mtu(&self, mtu: u32) -> Result<(), Error> {
        ConfigSocket::open()?.set_mtu(self, mtu)
    }

    /// The interface flags (`IFF_*` from [`utun_sys`]).
    pub fn flags(&self) -> Result<u32, Error> {
        ConfigSocket::open()?.flags(self)
    }

    /// Whether `IFF_UP` is set.
    pub fn is_up(&self) -> Result<bool, Error> {
        Ok(self.flags()? & utun_sys::IFF_UP != 0)
    }

    /// Whether `IFF_RUNNING` is set: up, and operationally so.
    pub fn is_running(&self) -> Result<bool, Error> {
        Ok(self.flags()? & utun_sys::IFF_RUNNING != 0)
    }

    /// Waits (polling every 10 ms) until the interface is running, for at most
    /// `timeout`; returns whether it is. Linux sets `IFF_RUNNING` a moment
    /// after an interface is brought up (its link-watch work runs
    /// asynchronously), and until then refuses a route through a gateway on
    /// that interface (`EHOSTUNREACH`). [`TunBuilder`](crate::TunBuilder)
    /// waits this way before adding routes.
    pub fn wait_until_running(&self, timeout: std::time::Duration) -> Result<bool, Error> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.is_running()? {
                return Ok(true);
            }
            if std::time::Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Brings the interface up or down: reads the flags (`SIOCGIFFLAGS`;
    /// Linux: `RTM_GETLINK`), changes `IFF_UP` alone, writes them back
    /// (`SIOCSIFFLAGS`; Linux: `RTM_NEWLINK`, whose `ifi_change` names the
    /// flags that changed, so no other is written).
    pub fn set_up(&self, up: bool) -> Result<(), Error> {
        self.set_up_via(&mut ConfigSocket::open()?, up)
    }

    pub(crate) fn set_up_via(&self, config: &mut ConfigSocket, up: bool) -> Result<(), Error> {
        let flags = config.flags(self)?;
        let new = if up { flags | utun_sys::IFF_UP } else { flags & !utun_sys::IFF_UP };
        if new == flags {
            return Ok(());
        }
        config.set_flags(self, new)
    }
}
