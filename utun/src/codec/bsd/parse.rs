//! Parsing what a `PF_ROUTE` socket delivers (XNU `bsd/net/rtsock.c`):
//! the kernel's answers to our requests and every other routing message on
//! the system. Never panics, whatever the bytes.

use core::mem::{offset_of, size_of};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use utun_sys::apple;

use super::request::{AF_INET, AF_INET6, AF_LINK};
use super::route::{LinkAddr, RT_MSGHDR_LEN, RTM_VERSION, RouteReply, SockAddr, rta_name};
use super::sockaddr::sa_space;
use crate::codec::field::{get, get_fields};

use crate::name::InterfaceName;
use crate::net::{IpNet, is_scoped};

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
            ParseContext::Header => f.write_str("the rt_msghdr"),
            ParseContext::Sockaddr(bit) => write!(f, "the {} sockaddr", rta_name(*bit)),
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
pub(crate) type ParseError = crate::codec::ParseError<ParseContext, ParseProblem>;

impl ParseError {
    /// True for a well-formed message of another kind (interface and address
    /// announcements): a reader waiting for its reply skips it.
    pub(crate) fn is_other_message(&self) -> bool {
        matches!(self.problem, ParseProblem::OtherMessage { .. })
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

/// Reads every header field of a `rt_msghdr` from `msg` (at least its size).
fn read_rt_msghdr(msg: &[u8]) -> Option<apple::rt_msghdr> {
    Some(get_fields!(
        msg,
        apple::rt_msghdr,
        [
            rtm_msglen,
            rtm_version,
            rtm_type,
            rtm_index,
            rtm_flags,
            rtm_addrs,
            rtm_pid,
            rtm_seq,
            rtm_errno,
            rtm_use,
            rtm_inits
        ]
    ))
}

/// The fields that tell whose a routing message is, read straight from its
/// header with no other check: lets a reader tell whether a message it
/// cannot parse (or read whole) was the answer to its own request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeaderIds {
    /// `rtm_msglen`: the whole message's length.
    pub(crate) msglen: usize,
    /// `rtm_type`.
    pub(crate) rtm_type: u8,
    /// `rtm_pid`.
    pub(crate) pid: i32,
    /// `rtm_seq`.
    pub(crate) seq: i32,
}

/// The [`HeaderIds`] of the message at the start of `buf`, when `buf` holds
/// the header up to `rtm_seq`.
pub(crate) fn header_ids(buf: &[u8]) -> Option<HeaderIds> {
    Some(HeaderIds {
        msglen: usize::from(get::<u16>(buf, offset_of!(apple::rt_msghdr, rtm_msglen))?),
        rtm_type: get(buf, offset_of!(apple::rt_msghdr, rtm_type))?,
        pid: get(buf, offset_of!(apple::rt_msghdr, rtm_pid))?,
        seq: get(buf, offset_of!(apple::rt_msghdr, rtm_seq))?,
    })
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
                    SockAddr::Scoped(..) => return Err(err(ParseProblem::NotLink { family: AF_INET6 })),
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
            // A sockaddr cut short before sin6_scope_id has none.
            let scope_id: u32 = get(sa, offset_of!(apple::sockaddr_in6, sin6_scope_id)).unwrap_or(0);
            Ok(scoped(Ipv6Addr::from(octets), scope_id))
        }
        AF_LINK => parse_link(sa).map(SockAddr::Link),
        family => Ok(SockAddr::Other { family }),
    }
}

/// An IPv6 address as the kernel gives it: a link-local one
/// ([`is_scoped`]) with its scope, `sin6_scope_id` or else the index XNU
/// embeds in its second 16-bit group (`in6_embedded_scope`,
/// `bsd/netinet6/scope6.c`), taken out of the address either way, as
/// route(8) and netstat do before they print one (network_cmds
/// `route.tproj/route.c` `routename`/`netname`, under `__KAME__`).
fn scoped(addr: Ipv6Addr, scope_id: u32) -> SockAddr {
    if !is_scoped(addr.into()) {
        return SockAddr::Ip(addr.into());
    }
    let mut groups = addr.segments();
    let embedded = u32::from(groups[1]);
    groups[1] = 0;
    let addr = Ipv6Addr::from(groups);
    match if scope_id != 0 { scope_id } else { embedded } {
        0 => SockAddr::Ip(addr.into()),
        scope => SockAddr::Scoped(addr, scope),
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
