//! Routes as values: where a route goes ([`NextHop`]), the route itself,
//! and what the kernel answers about one ([`RouteEntry`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{IpNet, Ipv4Net, Ipv6Net, invalid, is_scoped};
use crate::error::{Error, Op};
use crate::name::InterfaceName;

/// Where a route sends its packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NextHop {
    /// Straight out of an interface, with no gateway (`route add -net ...
    /// -interface utun4`, `ip route add ... dev tun0`).
    Interface(InterfaceName),
    /// Through a gateway address that needs no scope (any IPv4 address, an
    /// IPv6 address that is not link-local).
    Gateway(IpAddr),
    /// Through a link-local IPv6 gateway on `interface` (`fe80::1%utun4`):
    /// a link-local address is meaningful only with the interface it is on
    /// (its scope, as a [`SocketAddrV6`](std::net::SocketAddrV6) carries
    /// one), so the route names both (`route add ... fe80::1%utun4`, `ip
    /// route add ... via fe80::1 dev tun0`).
    LinkLocalGateway {
        /// The gateway's address (in `fe80::/10`).
        gateway: Ipv6Addr,
        /// The interface it is on.
        interface: InterfaceName,
    },
}

impl NextHop {
    /// The gateway's address, for a route through one.
    pub fn gateway(&self) -> Option<IpAddr> {
        match *self {
            NextHop::Interface(_) => None,
            NextHop::Gateway(gw) => Some(gw),
            NextHop::LinkLocalGateway { gateway, .. } => Some(gateway.into()),
        }
    }

    /// The interface the route names: the one it leaves by, or the one its
    /// link-local gateway is on. `None` for a [`NextHop::Gateway`], whose
    /// interface the kernel picks.
    pub fn interface(&self) -> Option<InterfaceName> {
        match *self {
            NextHop::Interface(name) | NextHop::LinkLocalGateway { interface: name, .. } => Some(name),
            NextHop::Gateway(_) => None,
        }
    }
}

/// A route: a destination network and where to send packets for it.
///
/// ```
/// use utun::{InterfaceName, IpNet, Route};
///
/// let utun4 = InterfaceName::new("utun4")?;
/// let net = Route::through_interface("10.0.0.0/8".parse::<IpNet>().unwrap(), utun4);
/// assert_eq!(net.to_string(), "10.0.0.0/8 dev utun4");
/// let host = Route::through_interface("10.0.0.2/32".parse::<IpNet>().unwrap(), utun4);
/// assert!(host.is_host());
/// # Ok::<(), utun::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    destination: IpNet,
    next_hop: NextHop,
}

impl Route {
    /// A route to `destination` out of `interface`. The destination's host
    /// bits are cleared (`10.1.2.3/8` becomes `10.0.0.0/8`), as `route` does.
    pub fn through_interface(destination: IpNet, interface: InterfaceName) -> Route {
        Route { destination: destination.trunc(), next_hop: NextHop::Interface(interface) }
    }

    /// A route to `destination` through `gateway`, which must be of the same
    /// family. A link-local gateway (`fe80::/10`) needs the interface it is
    /// on: use [`Route::via_link_local_gateway`]; a link-local destination
    /// needs one too (a link-local gateway, or
    /// [`Route::through_interface`]). Either here is an
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) error that says so.
    pub fn via_gateway(destination: IpNet, gateway: IpAddr) -> Result<Route, Error> {
        if destination.addr().is_ipv4() != gateway.is_ipv4() {
            return Err(invalid(Op::AddRoute, format!("gateway {gateway} is not of the same family as {destination}")));
        }
        if is_scoped(gateway) {
            return Err(invalid(
                Op::AddRoute,
                format!("gateway {gateway} is link-local: name its interface (Route::via_link_local_gateway)"),
            ));
        }
        if is_scoped(destination.addr()) {
            return Err(invalid(
                Op::AddRoute,
                format!(
                    "{destination} is link-local: it needs an interface (Route::through_interface or \
                     Route::via_link_local_gateway), not gateway {gateway}"
                ),
            ));
        }
        Ok(Route { destination: destination.trunc(), next_hop: NextHop::Gateway(gateway) })
    }

    /// A route to `destination` through the link-local IPv6 `gateway` on
    /// `interface` (`route add -inet6 ... fe80::1%utun4`, `ip -6 route add
    /// ... via fe80::1 dev tun0`). The gateway must be link-local
    /// (`fe80::/10`, its second 16-bit group 0: XNU keeps the scope there)
    /// and the destination IPv6; a link-local destination is taken to be on
    /// the same interface. Anything else is an
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) error.
    ///
    /// On macOS the interface's index is embedded in the link-local
    /// addresses of the routing message, as route(8) does; on Linux it is
    /// the route's output interface (`RTA_OIF`).
    ///
    /// ```
    /// use utun::{InterfaceName, NextHop, Route};
    ///
    /// let utun4 = InterfaceName::new("utun4")?;
    /// let r = Route::via_link_local_gateway("2001:db8::/32".parse().unwrap(), "fe80::1".parse().unwrap(), utun4)?;
    /// assert_eq!(r.to_string(), "2001:db8::/32 via fe80::1%utun4");
    /// assert_eq!(r.next_hop().interface(), Some(utun4));
    /// assert!(Route::via_link_local_gateway("2001:db8::/32".parse().unwrap(), "2001:db8::1".parse().unwrap(), utun4).is_err());
    /// # Ok::<(), utun::Error>(())
    /// ```
    pub fn via_link_local_gateway(
        destination: IpNet,
        gateway: Ipv6Addr,
        interface: InterfaceName,
    ) -> Result<Route, Error> {
        if !gateway.is_unicast_link_local() {
            return Err(invalid(
                Op::AddRoute,
                format!("gateway {gateway} is not link-local (fe80::/10): it has no scope (Route::via_gateway)"),
            ));
        }
        if gateway.segments()[1] != 0 {
            // XNU keeps a link-local address's scope in that group
            // (`in6_embedded_scope`): it would be overwritten there.
            return Err(invalid(
                Op::AddRoute,
                format!("gateway {gateway}: the second 16-bit group of a link-local address must be 0 (fe80::/64)"),
            ));
        }
        if destination.addr().is_ipv4() {
            return Err(invalid(Op::AddRoute, format!("gateway {gateway} is not of the same family as {destination}")));
        }
        Ok(Route { destination: destination.trunc(), next_hop: NextHop::LinkLocalGateway { gateway, interface } })
    }

    /// The default route of `destination`'s family (`0.0.0.0/0` or `::/0`)
    /// through `next_hop`.
    pub fn default_v4(next_hop: NextHop) -> Result<Route, Error> {
        let dest = IpNet::V4(Ipv4Net::new(Ipv4Addr::UNSPECIFIED, 0).expect("/0 is valid"));
        Route::with_next_hop(dest, next_hop)
    }

    /// The IPv6 default route (`::/0`) through `next_hop`.
    pub fn default_v6(next_hop: NextHop) -> Result<Route, Error> {
        let dest = IpNet::V6(Ipv6Net::new(Ipv6Addr::UNSPECIFIED, 0).expect("/0 is valid"));
        Route::with_next_hop(dest, next_hop)
    }

    /// A route with either kind of next hop.
    pub fn with_next_hop(destination: IpNet, next_hop: NextHop) -> Result<Route, Error> {
        match next_hop {
            NextHop::Interface(name) => Ok(Route::through_interface(destination, name)),
            NextHop::Gateway(gw) => Route::via_gateway(destination, gw),
            NextHop::LinkLocalGateway { gateway, interface } => {
                Route::via_link_local_gateway(destination, gateway, interface)
            }
        }
    }

    /// The destination network.
    pub fn destination(&self) -> IpNet {
        self.destination
    }

    /// Where packets go.
    pub fn next_hop(&self) -> NextHop {
        self.next_hop
    }

    /// A host route (/32 or /128).
    pub fn is_host(&self) -> bool {
        self.destination.prefix_len() == self.destination.max_prefix_len()
    }

    /// A default route (/0).
    pub fn is_default(&self) -> bool {
        self.destination.prefix_len() == 0
    }

    /// True for an IPv4 route.
    pub fn is_ipv4(&self) -> bool {
        self.destination.addr().is_ipv4()
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.next_hop {
            NextHop::Interface(name) => write!(f, "{} dev {name}", self.destination),
            NextHop::Gateway(gw) => write!(f, "{} via {gw}", self.destination),
            NextHop::LinkLocalGateway { gateway, interface } => {
                write!(f, "{} via {gateway}%{interface}", self.destination)
            }
        }
    }
}

/// What the kernel answered to a route lookup.
///
/// Link-local IPv6 addresses come as they are written, with their scope
/// (the interface index) apart, as in a
/// [`SocketAddrV6`](std::net::SocketAddrV6): on macOS, where the kernel
/// answers with the index embedded in the address (`fe80:4::1`), it is taken
/// out (as netstat and route(8) do); on Linux it is the route's interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteEntry {
    /// The matching route's destination, when the kernel says it.
    pub destination: Option<IpNet>,
    /// The gateway, for a route through one.
    pub gateway: Option<IpAddr>,
    /// The index of the interface packets leave by.
    pub interface_index: u32,
    /// That interface's name, when the kernel says it.
    pub interface: Option<InterfaceName>,
    /// The scope (interface index) of a link-local destination; `None` for
    /// any other, or when the kernel gives none.
    pub destination_scope: Option<u32>,
    /// The scope (interface index) of a link-local gateway; `None` for any
    /// other, or when the kernel gives none.
    pub gateway_scope: Option<u32>,
}

// Made by the routing code only, which iOS leaves out.
configuration! {
    impl RouteEntry {
        /// An entry with no scopes (the backends fill them in for link-local
        /// addresses).
        pub(crate) fn new(
            destination: Option<IpNet>,
            gateway: Option<IpAddr>,
            interface_index: u32,
            interface: Option<InterfaceName>,
        ) -> RouteEntry {
            RouteEntry { destination, gateway, interface_index, interface, destination_scope: None, gateway_scope: None }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn routes_normalise_and_check_families() {
        let name = InterfaceName::new("utun4").unwrap();
        let r = Route::through_interface("10.1.2.3/8".parse().unwrap(), name);
        assert_eq!(r.destination().to_string(), "10.0.0.0/8");
        assert!(Route::via_gateway("10.0.0.0/8".parse().unwrap(), "fd00::1".parse().unwrap()).is_err());
        let d = Route::default_v6(NextHop::Interface(name)).unwrap();
        assert!(d.is_default() && !d.is_ipv4());
        assert!(Route::default_v4(NextHop::Gateway("fd00::1".parse().unwrap())).is_err());
    }

    #[test]
    fn link_local_addresses_need_their_interface() {
        let utun4 = InterfaceName::new("utun4").unwrap();
        let net6: IpNet = "2001:db8::/32".parse().unwrap();
        let ll: Ipv6Addr = "fe80::1".parse().unwrap();
        let err = Route::via_gateway(net6, ll.into()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("via_link_local_gateway"), "{err}");
        let err = Route::via_gateway("fe80::/64".parse().unwrap(), "2001:db8::1".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("link-local"), "{err}");
        let r = Route::via_link_local_gateway(net6, ll, utun4).unwrap();
        assert_eq!(r.next_hop().gateway(), Some(IpAddr::from(ll)));
        assert_eq!(Route::with_next_hop(net6, r.next_hop()).unwrap(), r);
        let err = Route::via_link_local_gateway(net6, "fd00::1".parse().unwrap(), utun4).unwrap_err();
        assert!(err.to_string().contains("not link-local"), "{err}");
        assert!(Route::via_link_local_gateway("10.0.0.0/8".parse().unwrap(), ll, utun4).is_err());
        let err = Route::via_link_local_gateway(net6, "fe80:5::1".parse().unwrap(), utun4).unwrap_err();
        assert!(err.to_string().contains("second 16-bit group"), "{err}");
        for (a, scoped) in [
            ("fe80::1", true),
            ("febf::1", true),
            ("fec0::1", false),
            ("ff02::1", true),
            ("ff12::1", true),
            ("ff01::1", true),
            ("ff05::1", false),
            ("fd00::1", false),
            ("10.0.0.1", false),
        ] {
            assert_eq!(is_scoped(a.parse().unwrap()), scoped, "{a}");
        }
    }
}
