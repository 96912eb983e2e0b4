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

use core::mem::{offset_of, size_of};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use utun_sys::apple;

use super::bytes::{
    NeBytes, get, i32_of, put, sa_space, sockaddr_dl_bytes, sockaddr_in_bytes, sockaddr_in6_bytes, u8_of,
};
use super::request::{AF_INET, AF_INET6, AF_LINK, sockaddr_dl, sockaddr_dl_empty, sockaddr_in, sockaddr_in6};
use crate::error::{Detail, Error, ErrorKind, Op};
use crate::name::InterfaceName;
use crate::net::{IpNet, NextHop, Route, RouteEntry};

/// `sizeof(struct rt_msghdr)`: where the sockaddrs start.
pub(crate) const RT_MSGHDR_LEN: usize = size_of::<apple::rt_msghdr>();
/// `RTM_VERSION` as the `rtm_version` byte.
pub(crate) const RTM_VERSION: u8 = u8_of(apple::RTM_VERSION);

const RTF_UP: i32 = i32_of(apple::RTF_UP);
const RTF_GATEWAY: i32 = i32_of(apple::RTF_GATEWAY);
const RTF_HOST: i32 = i32_of(apple::RTF_HOST);
const RTF_STATIC: i32 = i32_of(apple::RTF_STATIC);
const RTF_DONE: i32 = i32_of(apple::RTF_DONE);

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
fn rta_name(bit: u32) -> &'static str {
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

// ---------------------------------------------------------------- encoding

/// A message being built: the header's room, then the sockaddrs.
struct MessageBuilder {
    buf: Vec<u8>,
    addrs: u32,
}

impl MessageBuilder {
    fn new() -> MessageBuilder {
        MessageBuilder { buf: vec![0; RT_MSGHDR_LEN], addrs: 0 }
    }

    /// Appends the sockaddr whose full bytes are `full` with `sa_len`
    /// `sa_len` (possibly trimmed below its size), the way route(8)'s
    /// `NEXTADDR` does: it copies `ROUNDUP(sa_len)` bytes of the structure.
    fn push(&mut self, rta: u32, full: &[u8], sa_len: u8) {
        debug_assert!(rta > self.addrs, "sockaddrs must be pushed in RTA_* order");
        self.addrs |= rta;
        let start = self.buf.len();
        self.buf.extend((0..sa_space(usize::from(sa_len))).map(|i| full.get(i).copied().unwrap_or(0)));
        put(&mut self.buf, start, sa_len);
    }

    /// Appends an untrimmed sockaddr (its first byte is its `sa_len`).
    fn push_whole(&mut self, rta: u32, full: &[u8]) {
        self.push(rta, full, full.first().copied().unwrap_or(0));
    }

    /// Writes the header and returns the message.
    fn finish(mut self, rtm_type: u8, flags: i32, seq: i32, pid: i32) -> Vec<u8> {
        let header = apple::rt_msghdr {
            // At most a header and eight sockaddrs of at most 255 bytes each.
            rtm_msglen: u16::try_from(self.buf.len()).unwrap_or(u16::MAX),
            rtm_version: RTM_VERSION,
            rtm_type,
            rtm_flags: flags,
            rtm_addrs: i32::try_from(self.addrs).unwrap_or(0),
            rtm_pid: pid,
            rtm_seq: seq,
            ..Default::default()
        };
        write_rt_msghdr(&mut self.buf, &header);
        self.buf
    }
}

/// Writes every field of `h` at its offset (so no padding byte is read).
fn write_rt_msghdr(buf: &mut [u8], h: &apple::rt_msghdr) {
    macro_rules! fields {
        ($($f:ident),*) => {$( put(buf, offset_of!(apple::rt_msghdr, $f), h.$f); )*};
    }
    fields!(rtm_msglen, rtm_version, rtm_type, rtm_index, rtm_flags, rtm_addrs, rtm_pid, rtm_seq, rtm_errno, rtm_use);
    fields!(rtm_inits);
    let rmx = offset_of!(apple::rt_msghdr, rtm_rmx);
    let m = &h.rtm_rmx;
    macro_rules! metrics {
        ($($f:ident),*) => {$( put(buf, rmx + offset_of!(apple::rt_metrics, $f), m.$f); )*};
    }
    metrics!(rmx_locks, rmx_mtu, rmx_hopcount, rmx_expire, rmx_recvpipe, rmx_sendpipe, rmx_ssthresh, rmx_rtt);
    metrics!(rmx_rttvar, rmx_pksent);
    let filler = rmx + offset_of!(apple::rt_metrics, rmx_filler);
    for (i, &v) in m.rmx_filler.iter().enumerate() {
        put(buf, filler + i * size_of::<apple::u_int32_t>(), v);
    }
}

/// The bytes of the sockaddr for `ip` (`sockaddr_in` or `sockaddr_in6`).
fn ip_sockaddr(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => sockaddr_in_bytes(&sockaddr_in(a)).to_vec(),
        IpAddr::V6(a) => sockaddr_in6_bytes(&sockaddr_in6(a)).to_vec(),
    }
}

/// The netmask sockaddr of `net` and the `sa_len` route(8) gives it:
/// * a default route (`/0`) gets `sa_len` 0 (`route add default`: `getaddr`
///   sets the mask's `sa_len` to 0), so 4 bytes: `sa_len` 0, the family, 0;
/// * any other mask is trimmed of trailing zero bytes (`mask_addr`, which
///   scans the whole sockaddr with `sa_len` zeroed): `255.0.0.0` keeps
///   `sin_len`..the first address byte, 5 bytes, rounded up to 8.
fn mask_sockaddr(net: IpNet) -> (Vec<u8>, u8) {
    let mut full = ip_sockaddr(net.netmask());
    if net.prefix_len() == 0 {
        return (full, 0);
    }
    if let Some(len) = full.first_mut() {
        *len = 0;
    }
    let trimmed = full.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    (full, u8::try_from(trimmed).unwrap_or(u8::MAX))
}

/// Encodes `route add|delete` of `route` as `route(8)` does, or (for
/// [`RtmKind::Get`]) the exact-match lookup [`encode_get`] builds for its
/// destination.
///
/// * Header: `RTM_VERSION`, the type, `rtm_flags` `RTF_UP | RTF_STATIC`,
///   plus `RTF_HOST` for a host route (/32, /128) and `RTF_GATEWAY` for a
///   route through a gateway; `rtm_addrs`; `rtm_pid` = `pid` (the kernel
///   overwrites it with the sender's pid anyway) and `rtm_seq` = `seq`, which
///   the reply echoes; `rtm_msglen` the exact length; the rest 0.
/// * `RTA_DST`: the destination network (`0.0.0.0`/`::` for a default route).
/// * `RTA_GATEWAY`: the gateway's `sockaddr_in`/`sockaddr_in6`, or, for
///   [`NextHop::Interface`], the interface's `sockaddr_dl` ([`sockaddr_dl`]
///   with `interface_index`), like `route add -net 10.0.0.0/8 -interface
///   utun4`.
/// * `RTA_NETMASK`, except for a host route: see `mask_sockaddr`.
///
/// `interface_index` (from `if_nametoindex`) is used only for
/// [`NextHop::Interface`]; 0 or above `u16::MAX` there is an
/// [`ErrorKind::InvalidInput`] error (`sdl_index` is a `u_short`).
pub(crate) fn encode_route(
    kind: RtmKind,
    route: &Route,
    interface_index: u32,
    seq: i32,
    pid: i32,
) -> Result<Vec<u8>, Error> {
    if kind == RtmKind::Get {
        return Ok(encode_get(route.destination(), seq, pid));
    }
    let destination = route.destination();
    let mut flags = RTF_UP | RTF_STATIC;
    let mut msg = MessageBuilder::new();
    msg.push_whole(apple::RTA_DST, &ip_sockaddr(destination.network()));
    match route.next_hop() {
        NextHop::Interface(name) => {
            let index = u16::try_from(interface_index).ok().filter(|&i| i != 0).ok_or_else(|| {
                Error::invalid(
                    kind.op(),
                    ErrorKind::InvalidInput,
                    Detail::Text(format!("{route}: interface index {interface_index} is not a valid sdl_index").into()),
                )
                .on(name)
            })?;
            msg.push_whole(apple::RTA_GATEWAY, &sockaddr_dl_bytes(&sockaddr_dl(index, name)));
        }
        NextHop::Gateway(gateway) => {
            flags |= RTF_GATEWAY;
            msg.push_whole(apple::RTA_GATEWAY, &ip_sockaddr(gateway));
        }
    }
    if route.is_host() {
        flags |= RTF_HOST;
    } else {
        let (mask, sa_len) = mask_sockaddr(destination);
        msg.push(apple::RTA_NETMASK, &mask, sa_len);
    }
    Ok(msg.finish(kind.rtm_type(), flags, seq, pid))
}

/// Encodes `RTM_GET` as `route -n get` sends it: for a host prefix (/32,
/// /128) `route -n get <address>` (longest-prefix match: `RTA_DST` only),
/// otherwise `route -n get -net <net>` (`RTA_DST` and the trimmed
/// `RTA_NETMASK`: the kernel looks up exactly that prefix, `rt_lookup` in
/// `rtsock.c`). Either way `RTA_IFP` is an empty `sockaddr_dl`, so the kernel
/// puts the interface's link address (name and index) in the reply, and
/// `rtm_flags` are route(8)'s: `RTF_UP | RTF_GATEWAY | RTF_STATIC`, plus
/// `RTF_HOST` for a host lookup (the kernel ignores them for `RTM_GET`).
pub(crate) fn encode_get(destination: IpNet, seq: i32, pid: i32) -> Vec<u8> {
    let host = destination.prefix_len() == destination.max_prefix_len();
    let mut flags = RTF_UP | RTF_GATEWAY | RTF_STATIC;
    let mut msg = MessageBuilder::new();
    if host {
        flags |= RTF_HOST;
        msg.push_whole(apple::RTA_DST, &ip_sockaddr(destination.addr()));
    } else {
        msg.push_whole(apple::RTA_DST, &ip_sockaddr(destination.network()));
        let (mask, sa_len) = mask_sockaddr(destination);
        msg.push(apple::RTA_NETMASK, &mask, sa_len);
    }
    msg.push_whole(apple::RTA_IFP, &sockaddr_dl_bytes(&sockaddr_dl_empty()));
    msg.finish(RtmKind::Get.rtm_type(), flags, seq, pid)
}

// ----------------------------------------------------------------- parsing

/// What was being parsed when a message turned out malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParseContext {
    /// The `rt_msghdr`.
    Header,
    /// The sockaddr of this `RTA_*` bit.
    Sockaddr(u32),
}

impl fmt::Display for ParseContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseContext::Header => f.write_str("rt_msghdr"),
            ParseContext::Sockaddr(bit) => write!(f, "{} sockaddr", rta_name(*bit)),
        }
    }
}

/// What is wrong with a routing message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParseProblem {
    /// Fewer bytes than `rtm_msglen`, `rtm_version` and `rtm_type` take.
    BufferTooShort { len: usize, need: usize },
    /// `rtm_msglen` says more than was read.
    MsgLenPastBuffer { msglen: usize, len: usize },
    /// `rtm_msglen` is shorter than a `rt_msghdr`.
    MsgLenTooShort { msglen: usize, need: usize },
    /// `rtm_version` is not `RTM_VERSION`.
    Version { found: u8, expected: u8 },
    /// A message of another shape (`RTM_IFINFO`, `RTM_NEWADDR`, ...), which
    /// a routing socket also delivers: skip it.
    OtherMessage { rtm_type: u8 },
    /// `rtm_addrs` names a sockaddr the message has no room for.
    Missing { offset: usize, msglen: usize },
    /// `sa_len` runs past `rtm_msglen`.
    SaLenPastEnd { sa_len: usize, offset: usize, msglen: usize },
    /// `sa_len` is too short for the family's address.
    SaLenTooShort { sa_len: usize, family: u8, need: usize },
    /// `sdl_nlen` + `sdl_alen` run past `sdl_len`.
    LinkDataPastEnd { nlen: usize, alen: usize, sa_len: usize },
    /// `sdl_data` does not start with a valid interface name.
    BadInterfaceName,
    /// An `AF_LINK` sockaddr was expected.
    NotLink { family: u8 },
    /// The netmask's ones are not a prefix.
    NonContiguousMask { mask: IpAddr },
}

impl fmt::Display for ParseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ParseProblem::BufferTooShort { len, need } => {
                write!(f, "only {len} bytes, fewer than the {need} of rtm_msglen, rtm_version and rtm_type")
            }
            ParseProblem::MsgLenPastBuffer { msglen, len } => {
                write!(f, "rtm_msglen {msglen} runs past the {len} bytes read")
            }
            ParseProblem::MsgLenTooShort { msglen, need } => {
                write!(f, "rtm_msglen {msglen} is shorter than a rt_msghdr ({need} bytes)")
            }
            ParseProblem::Version { found, expected } => {
                write!(f, "rtm_version {found} is not RTM_VERSION ({expected})")
            }
            ParseProblem::OtherMessage { rtm_type } => {
                write!(f, "rtm_type {rtm_type} is not a message with a rt_msghdr")
            }
            ParseProblem::Missing { offset, msglen } => {
                write!(f, "rtm_addrs names it but the message ends at offset {offset} (msglen {msglen})")
            }
            ParseProblem::SaLenPastEnd { sa_len, offset, msglen } => {
                write!(f, "sa_len {sa_len} runs past the message (msglen {msglen}, sockaddr at offset {offset})")
            }
            ParseProblem::SaLenTooShort { sa_len, family, need } => {
                write!(f, "sa_len {sa_len} is too short for an address of family {family} ({need} bytes)")
            }
            ParseProblem::LinkDataPastEnd { nlen, alen, sa_len } => {
                write!(f, "sdl_nlen {nlen} + sdl_alen {alen} run past sdl_len {sa_len}")
            }
            ParseProblem::BadInterfaceName => f.write_str("sdl_data does not hold a valid interface name"),
            ParseProblem::NotLink { family } => write!(f, "family {family} where an AF_LINK sockaddr belongs"),
            ParseProblem::NonContiguousMask { mask } => write!(f, "netmask {mask} is not a contiguous prefix"),
        }
    }
}

/// A routing message that could not be parsed, and where.
///
/// `Display`: `while parsing the RTA_NETMASK sockaddr: sa_len 40 runs past
/// the message (msglen 120, sockaddr at offset 112)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// What was being parsed.
    pub(crate) context: ParseContext,
    /// What was wrong.
    pub(crate) problem: ParseProblem,
}

impl ParseError {
    fn new(context: ParseContext, problem: ParseProblem) -> ParseError {
        ParseError { context, problem }
    }

    /// True for a well-formed message of another kind (interface and address
    /// announcements): a reader waiting for its reply skips it.
    pub(crate) fn is_other_message(&self) -> bool {
        matches!(self.problem, ParseProblem::OtherMessage { .. })
    }

    /// The crate's error for it: [`ErrorKind::MalformedReply`] under `op`.
    pub(crate) fn into_error(self, op: Op) -> Error {
        Error::invalid(op, ErrorKind::MalformedReply, Detail::Text(self.to_string().into_boxed_str()))
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "while parsing the {}: {}", self.context, self.problem)
    }
}

impl std::error::Error for ParseError {}

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
    /// `AF_INET` or `AF_INET6`.
    Ip(IpAddr),
    /// `AF_LINK`.
    Link(LinkAddr),
    /// Another family, kept by number.
    Other {
        /// `sa_family`.
        family: u8,
    },
}

impl SockAddr {
    fn ip(&self) -> Option<IpAddr> {
        match *self {
            SockAddr::Ip(ip) => Some(ip),
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
    pub(crate) fn kind(&self) -> Option<RtmKind> {
        RtmKind::from_rtm_type(self.rtm_type)
    }

    /// True for the reply to our request `seq` from process `pid` (a routing
    /// socket also delivers every other process's messages).
    pub(crate) fn is_reply_to(&self, seq: i32, pid: i32) -> bool {
        self.seq == seq && self.pid == pid
    }

    /// True when the kernel marked the request done (`RTF_DONE`).
    pub(crate) fn is_done(&self) -> bool {
        self.flags & RTF_DONE != 0
    }

    /// The kind of `rtm_errno`, when it is not 0.
    pub(crate) fn errno_kind(&self) -> Option<ErrorKind> {
        (self.errno != 0).then(|| ErrorKind::from_errno(self.errno))
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

    /// The reply as a [`RouteEntry`]: destination, gateway (only through
    /// one), the interface index (`rtm_index`, else `RTA_IFP`'s) and name.
    pub(crate) fn to_route_entry(self) -> RouteEntry {
        let ifp_index = self.interface.map_or(0, |l| l.index);
        RouteEntry {
            destination: self.destination_net(),
            gateway: self.gateway_ip(),
            interface_index: u32::from(if self.index != 0 { self.index } else { ifp_index }),
            interface: self.interface.and_then(|l| l.name),
        }
    }
}

/// `rtm_type`s whose messages start with a `rt_msghdr`.
fn has_rt_msghdr(rtm_type: u8) -> bool {
    [
        apple::RTM_ADD,
        apple::RTM_DELETE,
        apple::RTM_CHANGE,
        apple::RTM_GET,
        apple::RTM_LOSING,
        apple::RTM_REDIRECT,
        apple::RTM_MISS,
    ]
    .into_iter()
    .any(|t| u32::from(rtm_type) == t)
}

/// Reads every field of a `rt_msghdr` from `msg` (at least its size).
fn read_rt_msghdr(msg: &[u8]) -> Option<apple::rt_msghdr> {
    fn field<T: NeBytes>(msg: &[u8], offset: usize) -> Option<T> {
        get(msg, offset)
    }
    let mut h = apple::rt_msghdr::default();
    macro_rules! fields {
        ($($f:ident),*) => {$( h.$f = field(msg, offset_of!(apple::rt_msghdr, $f))?; )*};
    }
    fields!(rtm_msglen, rtm_version, rtm_type, rtm_index, rtm_flags, rtm_addrs, rtm_pid, rtm_seq, rtm_errno, rtm_use);
    fields!(rtm_inits);
    Some(h)
}

/// The `rtm_pid` and `rtm_seq` of a routing message, read straight from the
/// header (no other check): lets a reader tell whether a message it cannot
/// parse was the answer to its own request or someone else's business.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
pub(crate) fn sender_and_seq(buf: &[u8]) -> Option<(i32, i32)> {
    let pid = super::bytes::get::<i32>(buf, std::mem::offset_of!(apple::rt_msghdr, rtm_pid))?;
    let seq = super::bytes::get::<i32>(buf, std::mem::offset_of!(apple::rt_msghdr, rtm_seq))?;
    Some((pid, seq))
}

/// Parses one routing message from the start of `buf` (one `read` of a
/// routing socket). Checks `rtm_msglen` against the buffer (bytes after it
/// are left alone: see [`RouteReply::msglen`]), `rtm_version`, that the type
/// has a `rt_msghdr` (else a [`ParseError::is_other_message`] error), then
/// walks the sockaddrs `rtm_addrs` names, in bit order, each within
/// `rtm_msglen`, taking [`sa_space`] bytes (4 for `sa_len` 0). Never panics.
pub(crate) fn parse_route_message(buf: &[u8]) -> Result<RouteReply, ParseError> {
    let header_err = |problem| ParseError::new(ParseContext::Header, problem);
    let prelude = offset_of!(apple::rt_msghdr, rtm_type) + size_of::<u8>();
    let too_short = || header_err(ParseProblem::BufferTooShort { len: buf.len(), need: prelude });
    if buf.len() < prelude {
        return Err(too_short());
    }
    let msglen = usize::from(get::<u16>(buf, offset_of!(apple::rt_msghdr, rtm_msglen)).ok_or_else(too_short)?);
    let version: u8 = get(buf, offset_of!(apple::rt_msghdr, rtm_version)).ok_or_else(too_short)?;
    let rtm_type: u8 = get(buf, offset_of!(apple::rt_msghdr, rtm_type)).ok_or_else(too_short)?;
    if msglen > buf.len() {
        return Err(header_err(ParseProblem::MsgLenPastBuffer { msglen, len: buf.len() }));
    }
    if version != RTM_VERSION {
        return Err(header_err(ParseProblem::Version { found: version, expected: RTM_VERSION }));
    }
    if !has_rt_msghdr(rtm_type) {
        return Err(header_err(ParseProblem::OtherMessage { rtm_type }));
    }
    let msg_too_short = || header_err(ParseProblem::MsgLenTooShort { msglen, need: RT_MSGHDR_LEN });
    if msglen < RT_MSGHDR_LEN {
        return Err(msg_too_short());
    }
    let msg = buf.get(..msglen).ok_or_else(msg_too_short)?;
    let h = read_rt_msghdr(msg).ok_or_else(msg_too_short)?;

    let mut reply = RouteReply {
        msglen,
        rtm_type,
        index: h.rtm_index,
        flags: h.rtm_flags,
        addrs: h.rtm_addrs,
        pid: h.rtm_pid,
        seq: h.rtm_seq,
        errno: h.rtm_errno,
        destination: None,
        gateway: None,
        prefix_len: None,
        interface: None,
        interface_address: None,
    };
    let mut netmask: Option<&[u8]> = None;
    let mut offset = RT_MSGHDR_LEN;
    // The bits in order, as XNU's `rt_xaddrs` walks them (`1 << i`).
    for bit in (0..apple::RTAX_MAX).map(|i| 1u32 << i) {
        if h.rtm_addrs as u32 & bit == 0 {
            continue;
        }
        let err = |problem| ParseError::new(ParseContext::Sockaddr(bit), problem);
        let sa_len = usize::from(get::<u8>(msg, offset).ok_or_else(|| err(ParseProblem::Missing { offset, msglen }))?);
        let sa = msg
            .get(offset..offset.saturating_add(sa_len))
            .ok_or_else(|| err(ParseProblem::SaLenPastEnd { sa_len, offset, msglen }))?;
        // The last sockaddr's padding may be cut off (XNU accepts that too).
        offset = offset.saturating_add(sa_space(sa_len)).min(msglen);
        match bit {
            apple::RTA_DST => reply.destination = Some(parse_sockaddr(sa).map_err(err)?),
            apple::RTA_GATEWAY => reply.gateway = Some(parse_sockaddr(sa).map_err(err)?),
            apple::RTA_NETMASK => netmask = Some(sa),
            apple::RTA_IFP => {
                reply.interface = match parse_sockaddr(sa).map_err(err)? {
                    SockAddr::Link(link) => Some(link),
                    SockAddr::Empty => None,
                    SockAddr::Ip(ip) => {
                        return Err(err(ParseProblem::NotLink { family: family_of(ip) }));
                    }
                    SockAddr::Other { family } => return Err(err(ParseProblem::NotLink { family })),
                }
            }
            apple::RTA_IFA => reply.interface_address = Some(parse_sockaddr(sa).map_err(err)?),
            // GENMASK, AUTHOR, BRD: walked over, not needed.
            _ => {}
        }
    }
    if let Some(mask) = netmask {
        let hint = reply.destination.and_then(|d| d.ip()).or_else(|| reply.interface_address.and_then(|a| a.ip()));
        let err = |problem| ParseError::new(ParseContext::Sockaddr(apple::RTA_NETMASK), problem);
        reply.prefix_len = match hint {
            Some(hint) => Some(mask_prefix_len(mask, hint).map_err(err)?),
            None => None,
        };
    }
    Ok(reply)
}

fn family_of(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { AF_INET } else { AF_INET6 }
}

/// Parses one sockaddr (`sa` is exactly its `sa_len` bytes).
fn parse_sockaddr(sa: &[u8]) -> Result<SockAddr, ParseProblem> {
    let sa_len = sa.len();
    if sa.is_empty() {
        return Ok(SockAddr::Empty);
    }
    // XNU's `rt_xaddrs` refuses a sockaddr shorter than its header.
    let header = offset_of!(apple::sockaddr, sa_data);
    let Some(&family) = sa.get(offset_of!(apple::sockaddr, sa_family)).filter(|_| sa_len >= header) else {
        return Err(ParseProblem::SaLenTooShort { sa_len, family: 0, need: header });
    };
    let too_short = |need| ParseProblem::SaLenTooShort { sa_len, family, need };
    match family {
        AF_INET => {
            let at = offset_of!(apple::sockaddr_in, sin_addr);
            let end = at + size_of::<apple::in_addr>();
            let octets: [u8; 4] = sa.get(at..end).and_then(|b| b.try_into().ok()).ok_or(too_short(end))?;
            Ok(SockAddr::Ip(Ipv4Addr::from(octets).into()))
        }
        AF_INET6 => {
            let at = offset_of!(apple::sockaddr_in6, sin6_addr);
            let end = at + size_of::<apple::in6_addr>();
            let octets: [u8; 16] = sa.get(at..end).and_then(|b| b.try_into().ok()).ok_or(too_short(end))?;
            Ok(SockAddr::Ip(Ipv6Addr::from(octets).into()))
        }
        AF_LINK => parse_link(sa).map(SockAddr::Link),
        family => Ok(SockAddr::Other { family }),
    }
}

/// Parses a `sockaddr_dl` of `sa.len()` bytes.
fn parse_link(sa: &[u8]) -> Result<LinkAddr, ParseProblem> {
    let sa_len = sa.len();
    let data = offset_of!(apple::sockaddr_dl, sdl_data);
    let too_short = ParseProblem::SaLenTooShort { sa_len, family: AF_LINK, need: data };
    let index: u16 = get(sa, offset_of!(apple::sockaddr_dl, sdl_index)).ok_or(too_short)?;
    let if_type: u8 = get(sa, offset_of!(apple::sockaddr_dl, sdl_type)).ok_or(too_short)?;
    let nlen = usize::from(get::<u8>(sa, offset_of!(apple::sockaddr_dl, sdl_nlen)).ok_or(too_short)?);
    let alen = usize::from(get::<u8>(sa, offset_of!(apple::sockaddr_dl, sdl_alen)).ok_or(too_short)?);
    if sa_len < data {
        return Err(too_short);
    }
    if data + nlen + alen > sa_len {
        return Err(ParseProblem::LinkDataPastEnd { nlen, alen, sa_len });
    }
    let name = match sa.get(data..data + nlen) {
        Some([]) | None => None,
        Some(raw) => Some(InterfaceName::from_c_bytes(raw).ok_or(ParseProblem::BadInterfaceName)?),
    };
    Ok(LinkAddr { index, if_type, name })
}

/// The prefix length of a netmask sockaddr, read as a mask of `hint`'s
/// family: the address bytes from `sin_addr`/`sin6_addr` on, as far as
/// `sa_len` goes, the rest zero (masks are trimmed; `sa_len` 0 is the empty
/// mask).
fn mask_prefix_len(sa: &[u8], hint: IpAddr) -> Result<u8, ParseProblem> {
    let mask = |at: usize, out: &mut [u8]| {
        for (i, o) in out.iter_mut().enumerate() {
            *o = sa.get(at + i).copied().unwrap_or(0);
        }
    };
    let (ip, bits): (IpAddr, u32) = match hint {
        IpAddr::V4(_) => {
            let mut b = [0u8; 4];
            mask(offset_of!(apple::sockaddr_in, sin_addr), &mut b);
            (Ipv4Addr::from(b).into(), u32::from_be_bytes(b).leading_ones())
        }
        IpAddr::V6(_) => {
            let mut b = [0u8; 16];
            mask(offset_of!(apple::sockaddr_in6, sin6_addr), &mut b);
            (Ipv6Addr::from(b).into(), u128::from_be_bytes(b).leading_ones())
        }
    };
    let prefix = u8::try_from(bits).unwrap_or(u8::MAX);
    match IpNet::new(ip, prefix) {
        Ok(net) if net.netmask() == ip => Ok(prefix),
        _ => Err(ParseProblem::NonContiguousMask { mask: ip }),
    }
}
