//! `PF_ROUTE` messages: what `route(8)` writes for `route add|delete|get`
//! (network_cmds `route.tproj/route.c`), and a parser for what the kernel
//! answers (XNU `bsd/net/rtsock.c`).
//!
//! A message is a `struct rt_msghdr` followed by the sockaddrs `rtm_addrs`
//! names, in `RTA_*` bit order (DST, GATEWAY, NETMASK, GENMASK, IFP, IFA,
//! AUTHOR, BRD), each taking its `sa_len` rounded up to a multiple of
//! `sizeof(uint32_t)`, and 4 bytes when `sa_len` is 0 ([`sa_space`]).
//! `rtm_msglen` is the exact length: the kernel refuses any other with
//! `EINVAL` (`route_output`).

//!
//! The shared parts live here (the request kinds, the `RTF_*` flags they
//! set); [`encode`](super::encode) builds what route(8) writes and
//! [`parse`](super::parse) reads what the kernel answers.

use core::mem::size_of;
use std::io;
use std::net::{IpAddr, Ipv6Addr};

use utun_sys::apple;

use super::i32_of;
use crate::codec::field::u8_of;
use crate::error::{Error, Op};
use crate::name::InterfaceName;
use crate::net::{IpNet, RouteEntry};

/// `sizeof(struct rt_msghdr)`: where the sockaddrs start.
pub(crate) const RT_MSGHDR_LEN: usize = size_of::<apple::rt_msghdr>();
/// `RTM_VERSION` as the `rtm_version` byte.
pub(crate) const RTM_VERSION: u8 = u8_of(apple::RTM_VERSION);

pub(crate) const RTF_UP: i32 = i32_of(apple::RTF_UP);
pub(crate) const RTF_GATEWAY: i32 = i32_of(apple::RTF_GATEWAY);
pub(crate) const RTF_HOST: i32 = i32_of(apple::RTF_HOST);
pub(crate) const RTF_STATIC: i32 = i32_of(apple::RTF_STATIC);
#[cfg(test)]
pub(crate) const RTF_DONE: i32 = i32_of(apple::RTF_DONE);

/// The routing requests this crate sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RtmKind {
    /// `RTM_ADD`: `route add`.
    Add,
    /// `RTM_DELETE`: `route delete`.
    Delete,
    /// `RTM_GET`: `route -n get`.
    Get,
}

impl RtmKind {
    /// The `rtm_type` byte.
    pub(crate) fn rtm_type(self) -> u8 {
        match self {
            RtmKind::Add => u8_of(apple::RTM_ADD),
            RtmKind::Delete => u8_of(apple::RTM_DELETE),
            RtmKind::Get => u8_of(apple::RTM_GET),
        }
    }

    /// The kind of an `rtm_type`, if it is one of the three.
    #[cfg(test)]
    pub(crate) fn from_rtm_type(rtm_type: u8) -> Option<RtmKind> {
        [RtmKind::Add, RtmKind::Delete, RtmKind::Get].into_iter().find(|k| k.rtm_type() == rtm_type)
    }

    /// The operation errors about this request are reported under.
    pub(crate) fn op(self) -> Op {
        match self {
            RtmKind::Add => Op::AddRoute,
            RtmKind::Delete => Op::DeleteRoute,
            RtmKind::Get => Op::GetRoute,
        }
    }
}

/// The name of the `RTA_*` bit `bit` (for error messages).
pub(crate) fn rta_name(bit: u32) -> &'static str {
    match bit {
        apple::RTA_DST => "RTA_DST",
        apple::RTA_GATEWAY => "RTA_GATEWAY",
        apple::RTA_NETMASK => "RTA_NETMASK",
        apple::RTA_GENMASK => "RTA_GENMASK",
        apple::RTA_IFP => "RTA_IFP",
        apple::RTA_IFA => "RTA_IFA",
        apple::RTA_AUTHOR => "RTA_AUTHOR",
        apple::RTA_BRD => "RTA_BRD",
        _ => "unknown RTA_*",
    }
}

/// A link-layer sockaddr (`sockaddr_dl`): an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LinkAddr {
    /// `sdl_index`.
    pub(crate) index: u16,
    /// `sdl_type` (`IFT_*`).
    pub(crate) if_type: u8,
    /// The name in `sdl_data` (`sdl_nlen` bytes), if any.
    pub(crate) name: Option<InterfaceName>,
}

/// One sockaddr of a routing message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SockAddr {
    /// `sa_len` 0 (4 bytes in the message).
    Empty,
    /// `AF_INET` or `AF_INET6`, with no scope.
    Ip(IpAddr),
    /// A link-local `AF_INET6` address ([`is_scoped`](crate::net::is_scoped))
    /// and its scope, the interface index: `sin6_scope_id`, else the one
    /// XNU embeds in bytes 2–3 of the address (`s6_addr16[1]`), which is
    /// taken out of the address here, as netstat and route(8) do
    /// (network_cmds `route.tproj/route.c`, `routename`).
    Scoped(Ipv6Addr, u32),
    /// `AF_LINK`.
    Link(LinkAddr),
    /// Another family, kept by number.
    Other {
        /// `sa_family`.
        family: u8,
    },
}

impl SockAddr {
    /// The address (without its scope).
    pub(crate) fn ip(&self) -> Option<IpAddr> {
        match *self {
            SockAddr::Ip(ip) => Some(ip),
            SockAddr::Scoped(ip, _) => Some(ip.into()),
            _ => None,
        }
    }

    /// The scope of a link-local address.
    pub(crate) fn scope(&self) -> Option<u32> {
        match *self {
            SockAddr::Scoped(_, scope) => Some(scope),
            _ => None,
        }
    }
}

/// A parsed routing message with a `rt_msghdr`: a reply to a request (the
/// request itself, echoed with `rtm_errno` or `RTF_DONE`; or, for `RTM_GET`
/// and `RTM_DELETE`, the route), or another process's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RouteReply {
    /// `rtm_msglen`: where the next message in the buffer would start.
    pub(crate) msglen: usize,
    /// `rtm_type` (`RTM_*`).
    pub(crate) rtm_type: u8,
    /// `rtm_index`: the interface of the route (in `RTM_GET` replies).
    pub(crate) index: u16,
    /// `rtm_flags` (`RTF_*`).
    pub(crate) flags: i32,
    /// `rtm_addrs` (`RTA_*`).
    pub(crate) addrs: i32,
    /// `rtm_pid`: the process that sent the request.
    pub(crate) pid: i32,
    /// `rtm_seq`: the sender's sequence number.
    pub(crate) seq: i32,
    /// `rtm_errno`: 0, or why the kernel refused.
    pub(crate) errno: i32,
    /// `RTA_DST`.
    pub(crate) destination: Option<SockAddr>,
    /// `RTA_GATEWAY`: an address, or a `sockaddr_dl` for a route out of an
    /// interface.
    pub(crate) gateway: Option<SockAddr>,
    /// `RTA_NETMASK` as a prefix length (0 for an empty mask), read with
    /// the family of `RTA_DST` (or `RTA_IFA`), as XNU's `rtm_scrub` does:
    /// the kernel's own masks carry `0xff` where the family would be.
    pub(crate) prefix_len: Option<u8>,
    /// `RTA_IFP`: the interface's link address (name and index).
    pub(crate) interface: Option<LinkAddr>,
    /// `RTA_IFA`: the interface address the route uses.
    pub(crate) interface_address: Option<SockAddr>,
}

impl RouteReply {
    /// The request kind, for `RTM_ADD`, `RTM_DELETE` and `RTM_GET`.
    #[cfg(test)]
    pub(crate) fn kind(&self) -> Option<RtmKind> {
        RtmKind::from_rtm_type(self.rtm_type)
    }

    /// True for a message with `rtm_seq` `seq` from process `pid` (the
    /// exchange also checks the type and the destination).
    #[cfg(test)]
    pub(crate) fn is_reply_to(&self, seq: i32, pid: i32) -> bool {
        self.seq == seq && self.pid == pid
    }

    /// True when the kernel marked the request done (`RTF_DONE`).
    #[cfg(test)]
    pub(crate) fn is_done(&self) -> bool {
        self.flags & RTF_DONE != 0
    }

    /// The kind of `rtm_errno`, when it is not 0.
    #[cfg(test)]
    pub(crate) fn errno_kind(&self) -> Option<crate::ErrorKind> {
        (self.errno != 0).then(|| crate::ErrorKind::from_errno(self.errno))
    }

    /// `rtm_errno` as the crate's error under `op`, when it is not 0 (with
    /// the OS error as its source: `EEXIST`, `ESRCH`, `ENETUNREACH`, ...).
    pub(crate) fn error(&self, op: Op) -> Option<Error> {
        (self.errno != 0).then(|| Error::os(op, io::Error::from_raw_os_error(self.errno)))
    }

    /// The destination with its prefix: the netmask's length, or a host
    /// prefix when there is no netmask (a host route).
    pub(crate) fn destination_net(&self) -> Option<IpNet> {
        let addr = self.destination.as_ref()?.ip()?;
        let host = IpNet::from(addr);
        IpNet::new(addr, self.prefix_len.unwrap_or(host.max_prefix_len())).ok()
    }

    /// The gateway address, for a route through one (`RTF_GATEWAY`): what
    /// `route -n get` prints as `gateway:`.
    pub(crate) fn gateway_ip(&self) -> Option<IpAddr> {
        if self.flags & RTF_GATEWAY == 0 {
            return None;
        }
        self.gateway.as_ref()?.ip()
    }

    /// The scope of a link-local gateway (`RTF_GATEWAY`).
    pub(crate) fn gateway_scope(&self) -> Option<u32> {
        if self.flags & RTF_GATEWAY == 0 {
            return None;
        }
        self.gateway.as_ref()?.scope()
    }

    /// The reply as a [`RouteEntry`]: destination, gateway (only through
    /// one), the interface index (`rtm_index`, else `RTA_IFP`'s) and name,
    /// and the scopes of link-local addresses.
    pub(crate) fn to_route_entry(self) -> RouteEntry {
        let ifp_index = self.interface.map_or(0, |l| l.index);
        let index = u32::from(if self.index != 0 { self.index } else { ifp_index });
        RouteEntry {
            destination_scope: self.destination.and_then(|d| d.scope()),
            gateway_scope: self.gateway_scope(),
            ..RouteEntry::new(self.destination_net(), self.gateway_ip(), index, self.interface.and_then(|l| l.name))
        }
    }
}
