//! rtnetlink: the requests utun sends and the kernel's replies, as bytes,
//! without a system call and without ever panicking, whatever the input.
//!
//! * [`encode`]: `RTM_NEWADDR`/`RTM_DELADDR`, `RTM_NEWROUTE`/`RTM_DELROUTE`/
//!   `RTM_GETROUTE`, as iproute2's `ip` builds them;
//! * [`link`]: `RTM_GETLINK` and `RTM_NEWLINK` by interface index (read an
//!   interface's name, MTU and flags; change its MTU and flags), and the
//!   kernel's `RTM_NEWLINK` answer;
//! * [`parse`]: `NLMSG_ERROR`, `NLMSG_DONE`, `RTM_NEWROUTE`, `RTM_NEWLINK`,
//!   with what went wrong in [`problem`].
//!
//! Every message type, flag, attribute type, struct layout and alignment comes
//! from `utun_sys` (bindgen over `linux/netlink.h`, `linux/rtnetlink.h`,
//! `linux/if_addr.h`, `linux/if_link.h` and `linux/ipv6_route.h`), checked
//! by `cargo xtask verify-constants`. Structs are
//! written and read field by field with the shared field codec
//! ([`crate::codec::field`]): no buffer is ever cast to a struct. The
//! protocol is documented in the kernel's
//! `Documentation/userspace-api/netlink/intro.rst`, netlink(7) and rtnetlink(7).

use core::mem::size_of;
use std::net::IpAddr;

use utun_sys::{nlmsghdr, rtattr};

use crate::name::InterfaceName;
use crate::net::{InterfaceAddress, Route, RouteEntry};

pub(crate) mod encode;
pub(crate) mod link;
pub(crate) mod parse;
pub(crate) mod problem;

#[cfg(test)]
mod tests;

/// The `utun_sys` constants narrowed to the width of the field they go in,
/// checked at compile time (a value that does not fit stops the build).
pub(crate) mod k {
    use crate::codec::field::{u8_of, u16_of};

    /// `NLMSG_NOOP` (`nlmsg_type`).
    pub(crate) const NLMSG_NOOP: u16 = u16_of(utun_sys::NLMSG_NOOP);
    /// `NLMSG_ERROR` (`nlmsg_type`): an ACK or an error.
    pub(crate) const NLMSG_ERROR: u16 = u16_of(utun_sys::NLMSG_ERROR);
    /// `NLMSG_DONE` (`nlmsg_type`).
    pub(crate) const NLMSG_DONE: u16 = u16_of(utun_sys::NLMSG_DONE);
    /// `RTM_NEWADDR` (`nlmsg_type`).
    pub(crate) const RTM_NEWADDR: u16 = u16_of(utun_sys::RTM_NEWADDR);
    /// `RTM_DELADDR` (`nlmsg_type`).
    pub(crate) const RTM_DELADDR: u16 = u16_of(utun_sys::RTM_DELADDR);
    /// `RTM_NEWROUTE` (`nlmsg_type`).
    pub(crate) const RTM_NEWROUTE: u16 = u16_of(utun_sys::RTM_NEWROUTE);
    /// `RTM_DELROUTE` (`nlmsg_type`).
    pub(crate) const RTM_DELROUTE: u16 = u16_of(utun_sys::RTM_DELROUTE);
    /// `RTM_GETROUTE` (`nlmsg_type`).
    pub(crate) const RTM_GETROUTE: u16 = u16_of(utun_sys::RTM_GETROUTE);
    /// `RTM_NEWLINK` (`nlmsg_type`): a link's description, or a change to it.
    pub(crate) const RTM_NEWLINK: u16 = u16_of(utun_sys::RTM_NEWLINK);
    /// `RTM_GETLINK` (`nlmsg_type`).
    pub(crate) const RTM_GETLINK: u16 = u16_of(utun_sys::RTM_GETLINK);

    /// `NLM_F_REQUEST` (`nlmsg_flags`).
    pub(crate) const NLM_F_REQUEST: u16 = u16_of(utun_sys::NLM_F_REQUEST);
    /// `NLM_F_ACK` (`nlmsg_flags`).
    pub(crate) const NLM_F_ACK: u16 = u16_of(utun_sys::NLM_F_ACK);
    /// `NLM_F_CREATE` (`nlmsg_flags`).
    pub(crate) const NLM_F_CREATE: u16 = u16_of(utun_sys::NLM_F_CREATE);
    /// `NLM_F_EXCL` (`nlmsg_flags`).
    pub(crate) const NLM_F_EXCL: u16 = u16_of(utun_sys::NLM_F_EXCL);
    /// `NLM_F_REPLACE` (`nlmsg_flags`).
    pub(crate) const NLM_F_REPLACE: u16 = u16_of(utun_sys::NLM_F_REPLACE);

    /// `IFA_ADDRESS` (`rta_type` after an `ifaddrmsg`).
    pub(crate) const IFA_ADDRESS: u16 = u16_of(utun_sys::IFA_ADDRESS);
    /// `IFA_LOCAL` (`rta_type` after an `ifaddrmsg`).
    pub(crate) const IFA_LOCAL: u16 = u16_of(utun_sys::IFA_LOCAL);
    /// `IFA_FLAGS` (`rta_type` after an `ifaddrmsg`).
    pub(crate) const IFA_FLAGS: u16 = u16_of(utun_sys::IFA_FLAGS);
    /// `RTA_DST` (`rta_type` after an `rtmsg`).
    pub(crate) const RTA_DST: u16 = u16_of(utun_sys::RTA_DST);
    /// `RTA_OIF` (`rta_type` after an `rtmsg`).
    pub(crate) const RTA_OIF: u16 = u16_of(utun_sys::RTA_OIF);
    /// `RTA_GATEWAY` (`rta_type` after an `rtmsg`).
    pub(crate) const RTA_GATEWAY: u16 = u16_of(utun_sys::RTA_GATEWAY);
    /// `RTA_PRIORITY` (`rta_type` after an `rtmsg`): the route's metric.
    pub(crate) const RTA_PRIORITY: u16 = u16_of(utun_sys::RTA_PRIORITY);
    /// `IFLA_IFNAME` (`rta_type` after an `ifinfomsg`).
    pub(crate) const IFLA_IFNAME: u16 = u16_of(utun_sys::IFLA_IFNAME);
    /// `IFLA_MTU` (`rta_type` after an `ifinfomsg`).
    pub(crate) const IFLA_MTU: u16 = u16_of(utun_sys::IFLA_MTU);
    /// `IFLA_LINKINFO`: the link's driver (`IFLA_INFO_*` nested in it).
    pub(crate) const IFLA_LINKINFO: u16 = u16_of(utun_sys::IFLA_LINKINFO);
    /// `IFLA_INFO_KIND`: the driver's name ("tun" for tun and tap).
    pub(crate) const IFLA_INFO_KIND: u16 = u16_of(utun_sys::IFLA_INFO_KIND);
    /// `IFLA_INFO_DATA`: the driver's own attributes (`IFLA_TUN_*` for tun).
    pub(crate) const IFLA_INFO_DATA: u16 = u16_of(utun_sys::IFLA_INFO_DATA);
    /// `IFLA_TUN_TYPE` (u8: `IFF_TUN` or `IFF_TAP`).
    pub(crate) const IFLA_TUN_TYPE: u16 = u16_of(utun_sys::IFLA_TUN_TYPE);
    /// `IFLA_TUN_PI` (u8: 1 when packets carry a `tun_pi`, that is without `IFF_NO_PI`).
    pub(crate) const IFLA_TUN_PI: u16 = u16_of(utun_sys::IFLA_TUN_PI);
    /// `IFLA_TUN_VNET_HDR` (u8: 1 with `IFF_VNET_HDR`).
    pub(crate) const IFLA_TUN_VNET_HDR: u16 = u16_of(utun_sys::IFLA_TUN_VNET_HDR);

    /// `AF_UNSPEC` (`ifi_family`: a link message is of no address family).
    pub(crate) const AF_UNSPEC: u8 = u8_of(utun_sys::AF_UNSPEC);

    /// `AF_INET` (`ifa_family`, `rtm_family`).
    pub(crate) const AF_INET: u8 = u8_of(utun_sys::AF_INET);
    /// `AF_INET6` (`ifa_family`, `rtm_family`).
    pub(crate) const AF_INET6: u8 = u8_of(utun_sys::AF_INET6);
    /// `IFA_F_NODAD` (`ifa_flags`).
    pub(crate) const IFA_F_NODAD: u8 = u8_of(utun_sys::IFA_F_NODAD);
    /// `RT_SCOPE_UNIVERSE` (`ifa_scope`, `rtm_scope`).
    pub(crate) const RT_SCOPE_UNIVERSE: u8 = u8_of(utun_sys::RT_SCOPE_UNIVERSE);
    /// `RT_SCOPE_LINK` (`rtm_scope`).
    pub(crate) const RT_SCOPE_LINK: u8 = u8_of(utun_sys::RT_SCOPE_LINK);
    /// `RT_TABLE_UNSPEC` (`rtm_table`).
    pub(crate) const RT_TABLE_UNSPEC: u8 = u8_of(utun_sys::RT_TABLE_UNSPEC);
    /// `RT_TABLE_MAIN` (`rtm_table`).
    pub(crate) const RT_TABLE_MAIN: u8 = u8_of(utun_sys::RT_TABLE_MAIN);
    /// `RTPROT_UNSPEC` (`rtm_protocol`; a wildcard in a lookup or a delete).
    pub(crate) const RTPROT_UNSPEC: u8 = u8_of(utun_sys::RTPROT_UNSPEC);
    /// `RTPROT_STATIC` (`rtm_protocol`).
    pub(crate) const RTPROT_STATIC: u8 = u8_of(utun_sys::RTPROT_STATIC);
    /// `RTN_UNSPEC` (`rtm_type`).
    pub(crate) const RTN_UNSPEC: u8 = u8_of(utun_sys::RTN_UNSPEC);
    /// `RTN_UNICAST` (`rtm_type`).
    pub(crate) const RTN_UNICAST: u8 = u8_of(utun_sys::RTN_UNICAST);

    /// `IFA_F_NODAD` as the `IFA_FLAGS` u32 attribute carries it.
    pub(crate) const IFA_F_NODAD_U32: u32 = utun_sys::IFA_F_NODAD;
    /// `RTM_F_FIB_MATCH` (`rtm_flags`).
    pub(crate) const RTM_F_FIB_MATCH: u32 = utun_sys::RTM_F_FIB_MATCH;
    /// `IP6_RT_PRIO_USER` (`RTA_PRIORITY`): the metric the kernel gives an
    /// IPv6 route added without one (linux/ipv6_route.h).
    pub(crate) const IP6_RT_PRIO_USER: u32 = utun_sys::IP6_RT_PRIO_USER;
}

/// `NLMSG_ALIGN`: rounds a length up to `NLMSG_ALIGNTO`.
pub(crate) const fn nlmsg_align(len: usize) -> usize {
    let to = utun_sys::NLMSG_ALIGNTO as usize;
    (len + to - 1) & !(to - 1)
}

/// `RTA_ALIGN`: rounds a length up to `RTA_ALIGNTO`.
pub(crate) const fn rta_align(len: usize) -> usize {
    let to = utun_sys::RTA_ALIGNTO as usize;
    (len + to - 1) & !(to - 1)
}

/// `NLMSG_HDRLEN`: where a message's payload starts.
pub(crate) const NLMSG_HDRLEN: usize = nlmsg_align(size_of::<nlmsghdr>());
/// `RTA_LENGTH(0)`: where an attribute's payload starts.
pub(crate) const RTA_HDRLEN: usize = rta_align(size_of::<rtattr>());
/// Bytes of an IPv4 address (`struct in_addr`).
pub(crate) const IPV4_LEN: usize = size_of::<utun_sys::in_addr>();
/// Bytes of an IPv6 address (`struct in6_addr`).
pub(crate) const IPV6_LEN: usize = size_of::<utun_sys::in6_addr>();

/// The sequence number and port id a request carries; the kernel copies both
/// into its reply, which is how the reply is matched to the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MessageHeader {
    /// `nlmsg_seq`.
    pub(crate) seq: u32,
    /// `nlmsg_pid`: the sender's port id (the kernel addresses its reply to
    /// the sending socket whatever this says; utun puts its own port id).
    pub(crate) pid: u32,
}

/// What to do with an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddressAction {
    /// `RTM_NEWADDR` with `NLM_F_CREATE | NLM_F_EXCL`: an existing identical
    /// address is an `EEXIST` error (`ip addr add`).
    Add,
    /// `RTM_NEWADDR` with `NLM_F_CREATE | NLM_F_REPLACE`: creates the address
    /// or updates the existing one (`ip addr replace`).
    Replace,
    /// `RTM_DELADDR` (`ip addr del`): a missing address is `EADDRNOTAVAIL`.
    Delete,
}

/// What to do with a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RouteAction {
    /// `RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_EXCL`: an existing route to
    /// the same destination (same table, TOS and metric) is `EEXIST`.
    Add,
    /// `RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_REPLACE` (`ip route replace`):
    /// the shape of the kernel's answer to a lookup, which the tests and the
    /// micro-benchmarks parse; the library itself never replaces a route.
    #[cfg_attr(not(any(test, feature = "bench-internals")), allow(dead_code))]
    Replace,
    /// `RTM_DELROUTE`: a missing route is `ESRCH`.
    Delete,
}

/// A request the netlink socket sends; it is encoded with the
/// socket's next sequence number and its port id.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Request<'a> {
    /// Add, replace or delete an address on the interface with this index.
    Address {
        /// What to do.
        action: AddressAction,
        /// The interface index.
        index: u32,
        /// The address.
        address: &'a InterfaceAddress,
    },
    /// Add, replace or delete a route.
    Route {
        /// What to do.
        action: RouteAction,
        /// The route.
        route: &'a Route,
        /// `RTA_OIF`, or 0 for none.
        oif_index: u32,
    },
    /// Read the interface with this index (`RTM_GETLINK`).
    GetLink {
        /// The interface index.
        index: u32,
    },
    /// Change the interface with this index (`RTM_NEWLINK`): its MTU, and
    /// the flags in `change` to their value in `flags` (`ifi_change`).
    SetLink {
        /// The interface index.
        index: u32,
        /// The new MTU (`IFLA_MTU`), if it is to change.
        mtu: Option<u32>,
        /// The new value of the flags in `change` (`ifi_flags`).
        flags: u32,
        /// Which flags change (`ifi_change`; 0: none).
        change: u32,
    },
    /// Look up the route to an address.
    GetRoute {
        /// The address.
        destination: IpAddr,
        /// Its scope, the output interface (`RTA_OIF`), or 0.
        oif: u32,
        /// Ask for the matching table entry (`RTM_F_FIB_MATCH`).
        fib_match: bool,
    },
}

impl Request<'_> {
    /// The request's bytes, with this sequence number and port id.
    pub(crate) fn encode(&self, header: MessageHeader) -> Vec<u8> {
        match *self {
            Request::Address { action, index, address } => encode::encode_address(action, index, address, header),
            Request::Route { action, route, oif_index } => encode::encode_route(action, route, oif_index, header),
            Request::GetRoute { destination, oif, fib_match } => {
                encode::encode_get_route(destination, oif, fib_match, header)
            }
            Request::GetLink { index } => link::encode_get_link(index, header),
            Request::SetLink { index, mtu, flags, change } => link::encode_set_link(index, mtu, flags, change, header),
        }
    }
}

/// The kernel's answer to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    /// `NLMSG_ERROR` with error 0.
    Ack,
    /// `RTM_NEWROUTE` (the answer to `RTM_GETROUTE`).
    Route(RouteEntry),
    /// `RTM_NEWLINK` (the answer to `RTM_GETLINK`).
    Link(Link),
}

/// What an `RTM_NEWLINK` says of an interface, as far as utun cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    /// `ifi_index`.
    pub(crate) index: u32,
    /// `IFLA_IFNAME`, when present.
    pub(crate) name: Option<InterfaceName>,
    /// `IFLA_MTU`, when present.
    pub(crate) mtu: Option<u32>,
    /// `ifi_flags` (`IFF_*`, `IFF_LOWER_UP` and the other high bits included).
    pub(crate) flags: u32,
    /// The tun driver's attributes, when the link is a tun or tap
    /// (`IFLA_LINKINFO` of kind "tun": drivers/net/tun.c, `tun_fill_info`).
    pub(crate) tun: Option<TunInfo>,
}

/// What `tun_fill_info` says of a tun or tap interface's framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TunInfo {
    /// `IFLA_TUN_TYPE`: `IFF_TUN` or `IFF_TAP`.
    pub(crate) kind: u8,
    /// `IFLA_TUN_PI`: packets carry a `struct tun_pi` (no `IFF_NO_PI`).
    pub(crate) pi: bool,
    /// `IFLA_TUN_VNET_HDR`: packets carry a `virtio_net_hdr`.
    pub(crate) vnet_hdr: bool,
}
