//! Addresses and routes, as values: checked when they are made, so the
//! configuration calls only meet well-formed ones.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::error::{Detail, Error, ErrorKind, Op};
use crate::name::InterfaceName;

fn invalid(op: Op, text: String) -> Error {
    Error::invalid(op, ErrorKind::InvalidInput, Detail::Text(text.into_boxed_str()))
}

/// An address to put on an interface: the local address with its prefix
/// length and, on a point-to-point link, the peer's address.
///
/// ```
/// use std::net::Ipv4Addr;
/// use utun::InterfaceAddress;
///
/// let a = InterfaceAddress::new(Ipv4Addr::new(10, 0, 0, 1).into(), 32)?
///     .with_peer(Ipv4Addr::new(10, 0, 0, 2).into())?;
/// assert_eq!(a.to_string(), "10.0.0.1/32 peer 10.0.0.2");
/// assert!(InterfaceAddress::new(Ipv4Addr::new(10, 0, 0, 1).into(), 33).is_err());
/// # Ok::<(), utun::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InterfaceAddress {
    net: IpNet,
    peer: Option<IpAddr>,
}

impl InterfaceAddress {
    /// `addr/prefix_len`. A prefix longer than 32 (IPv4) or 128 (IPv6) is an
    /// [`ErrorKind::InvalidInput`] error.
    pub fn new(addr: IpAddr, prefix_len: u8) -> Result<InterfaceAddress, Error> {
        let net = IpNet::new(addr, prefix_len).map_err(|_| {
            let max = if addr.is_ipv4() { 32 } else { 128 };
            invalid(Op::AddAddress, format!("prefix length {prefix_len} of {addr} is longer than {max}"))
        })?;
        Ok(InterfaceAddress { net, peer: None })
    }

    /// The address and prefix of `net` (its host bits are kept: `10.0.0.1/24`
    /// means the address 10.0.0.1 on the network 10.0.0.0/24).
    pub fn from_net(net: IpNet) -> InterfaceAddress {
        InterfaceAddress { net, peer: None }
    }

    /// Adds the peer of a point-to-point link. It must be of the same family;
    /// for IPv6 the kernel takes a peer only with a /128 prefix (macOS returns
    /// `EINVAL` otherwise), so anything else is refused here.
    pub fn with_peer(self, peer: IpAddr) -> Result<InterfaceAddress, Error> {
        match (self.net, peer) {
            (IpNet::V4(_), IpAddr::V4(_)) => {}
            (IpNet::V6(n), IpAddr::V6(_)) if n.prefix_len() == 128 => {}
            (IpNet::V6(n), IpAddr::V6(_)) => {
                return Err(invalid(Op::AddAddress, format!("an IPv6 peer ({peer}) needs a /128 address, not {n}")));
            }
            (net, peer) => {
                return Err(invalid(Op::AddAddress, format!("peer {peer} is not of the same family as {net}")));
            }
        }
        Ok(InterfaceAddress { peer: Some(peer), ..self })
    }

    /// The local address.
    pub fn address(&self) -> IpAddr {
        self.net.addr()
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.net.prefix_len()
    }

    /// The address with its prefix length.
    pub fn net(&self) -> IpNet {
        self.net
    }

    /// The netmask of the prefix.
    pub fn netmask(&self) -> IpAddr {
        self.net.netmask()
    }

    /// The point-to-point peer, if any.
    pub fn peer(&self) -> Option<IpAddr> {
        self.peer
    }

    /// The network routed into the interface while this address is on it
    /// (the prefix route), on Linux and macOS alike: the prefix of the peer
    /// when there is one, else of the address, with its host bits cleared;
    /// `None` for a /32 or /128, which has no prefix route (with a peer, only
    /// the route to the peer).
    ///
    /// On Linux this is the kernel's own prefix route (`IFA_ADDRESS/prefixlen`).
    /// On macOS XNU routes only the peer of a point-to-point interface
    /// (`in_ifinit`), so for IPv4 the crate adds this route out of the
    /// interface with the address and deletes it with the address; for IPv6
    /// the kernel adds it itself (`SIOCAIFADDR_IN6` makes the prefix on-link:
    /// `nd6_prelist_add`).
    ///
    /// ```
    /// use utun::{InterfaceAddress, IpNet};
    ///
    /// let a = InterfaceAddress::new("10.5.0.1".parse().unwrap(), 24)?;
    /// assert_eq!(a.routed_prefix(), Some("10.5.0.0/24".parse::<IpNet>().unwrap()));
    /// # Ok::<(), utun::Error>(())
    /// ```
    pub fn routed_prefix(&self) -> Option<IpNet> {
        if self.net.prefix_len() >= self.net.max_prefix_len() {
            return None;
        }
        let base = self.peer.unwrap_or(self.net.addr());
        IpNet::new(base, self.net.prefix_len()).ok().map(|n| n.trunc())
    }

    /// True for an IPv4 address.
    pub fn is_ipv4(&self) -> bool {
        self.net.addr().is_ipv4()
    }
}

impl fmt::Display for InterfaceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.net)?;
        if let Some(peer) = self.peer {
            write!(f, " peer {peer}")?;
        }
        Ok(())
    }
}

/// Where a route sends its packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NextHop {
    /// Straight out of an interface, with no gateway (`route add -net ...
    /// -interface utun4`, `ip route add ... dev tun0`).
    Interface(InterfaceName),
    /// Through a gateway address.
    Gateway(IpAddr),
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
    /// family.
    pub fn via_gateway(destination: IpNet, gateway: IpAddr) -> Result<Route, Error> {
        if destination.addr().is_ipv4() != gateway.is_ipv4() {
            return Err(invalid(Op::AddRoute, format!("gateway {gateway} is not of the same family as {destination}")));
        }
        Ok(Route { destination: destination.trunc(), next_hop: NextHop::Gateway(gateway) })
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
        }
    }
}

/// What the kernel answered to a route lookup.
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_peers_are_checked() {
        let v4: IpAddr = Ipv4Addr::new(10, 0, 0, 1).into();
        let v6: IpAddr = "fd00::1".parse().unwrap();
        assert_eq!(InterfaceAddress::new(v4, 33).unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(InterfaceAddress::new(v6, 129).unwrap_err().kind(), ErrorKind::InvalidInput);
        let a = InterfaceAddress::new(v6, 64).unwrap();
        let err = a.with_peer("fd00::2".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("/128"), "{err}");
        assert!(InterfaceAddress::new(v6, 128).unwrap().with_peer("fd00::2".parse().unwrap()).is_ok());
        assert!(InterfaceAddress::new(v4, 24).unwrap().with_peer(v6).is_err());
        assert_eq!(InterfaceAddress::new(v4, 24).unwrap().netmask(), IpAddr::from(Ipv4Addr::new(255, 255, 255, 0)));
    }

    #[test]
    fn the_routed_prefix_is_the_peers_or_the_addresss_network() {
        let a = |s: &str, p: u8| InterfaceAddress::new(s.parse().unwrap(), p).unwrap();
        let net = |s: &str| Some(s.parse::<IpNet>().unwrap());
        assert_eq!(a("10.5.0.1", 24).routed_prefix(), net("10.5.0.0/24"));
        assert_eq!(
            a("10.5.0.1", 24).with_peer("10.6.0.2".parse().unwrap()).unwrap().routed_prefix(),
            net("10.6.0.0/24")
        );
        assert_eq!(a("10.5.0.1", 32).routed_prefix(), None);
        assert_eq!(a("10.5.0.1", 32).with_peer("10.5.0.2".parse().unwrap()).unwrap().routed_prefix(), None);
        assert_eq!(a("fd01::1", 64).routed_prefix(), net("fd01::/64"));
        assert_eq!(a("fd01::1", 128).routed_prefix(), None);
    }

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
}
