//! Addresses and routes, as values: checked when they are made, so the
//! configuration calls only meet well-formed ones.

use std::fmt;
use std::net::IpAddr;

pub use ipnet::{IpNet, Ipv4Net, Ipv6Net};
pub use route::{NextHop, Route, RouteEntry};

mod route;

use crate::error::{Detail, Error, ErrorKind, Op};

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

/// True for an IPv6 address that means something only on one link, so
/// that it needs an interface to name it (its scope, the zone of RFC 4007,
/// `SocketAddrV6::scope_id`): link-local unicast (`fe80::/10`), and
/// interface- and link-local multicast (`ff01::/16`, `ff02::/16` with any
/// flags). These are the addresses XNU keeps with the interface index
/// embedded (`IN6_IS_SCOPE_EMBED`, `bsd/netinet6/in6.h`).
pub(crate) fn is_scoped(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(_) => false,
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_unicast_link_local() || (first >> 8 == 0xff && matches!(first & 0x000f, 1 | 2))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

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
}
