//! Parsing the kernel's rtnetlink replies: framing (messages, attributes)
//! checked at every step, `NLMSG_ERROR`, `RTM_NEWROUTE` and `RTM_NEWLINK`
//! ([`super::link`]) decoded.

use core::mem::{offset_of, size_of};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use utun_sys::{nlmsgerr, nlmsghdr, rtattr, rtmsg};

pub(crate) use super::problem::{Context, ParseError, Problem};
use super::{IPV4_LEN, IPV6_LEN, Link, NLMSG_HDRLEN, RTA_HDRLEN, k, nlmsg_align, rta_align};
use crate::codec::field::get_fields;
use crate::net::{IpNet, RouteEntry};

/// A `struct nlmsghdr` from the start of `bytes`, if there are enough.
pub(crate) fn read_nlmsghdr(bytes: &[u8]) -> Option<nlmsghdr> {
    Some(get_fields!(bytes, nlmsghdr, [nlmsg_len, nlmsg_type, nlmsg_flags, nlmsg_seq, nlmsg_pid]))
}
/// A `struct ifaddrmsg` from the start of `bytes`, if there are enough.
#[cfg(test)]
pub(crate) fn read_ifaddrmsg(bytes: &[u8]) -> Option<utun_sys::ifaddrmsg> {
    Some(get_fields!(bytes, utun_sys::ifaddrmsg, [ifa_family, ifa_prefixlen, ifa_flags, ifa_scope, ifa_index]))
}
/// A `struct rtmsg` from the start of `bytes`, if there are enough.
pub(crate) fn read_rtmsg(bytes: &[u8]) -> Option<rtmsg> {
    Some(get_fields!(
        bytes,
        rtmsg,
        [rtm_family, rtm_dst_len, rtm_src_len, rtm_tos, rtm_table, rtm_protocol, rtm_scope, rtm_type, rtm_flags]
    ))
}
/// A `struct rtattr` from the start of `bytes`, if there are enough.
pub(crate) fn read_rtattr(bytes: &[u8]) -> Option<rtattr> {
    Some(get_fields!(bytes, rtattr, [rta_len, rta_type]))
}
/// A `struct nlmsgerr` from the start of `bytes`, if there are enough.
pub(crate) fn read_nlmsgerr(bytes: &[u8]) -> Option<nlmsgerr> {
    let mut e = get_fields!(bytes, nlmsgerr, [error]);
    e.msg = read_nlmsghdr(bytes.get(offset_of!(nlmsgerr, msg)..)?)?;
    Some(e)
}
/// One netlink message of a receive buffer: its header and payload (the
/// bytes after `NLMSG_HDRLEN`, up to `nlmsg_len`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Message<'a> {
    /// The header.
    pub(crate) header: nlmsghdr,
    /// The payload.
    pub(crate) payload: &'a [u8],
}

/// What a message says, as far as utun cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Body<'a> {
    /// `NLMSG_ERROR` with error 0: the request succeeded.
    Ack,
    /// `NLMSG_ERROR` with error `-errno`: the request failed with `errno`
    /// (positive here).
    Error(i32),
    /// `NLMSG_DONE`: the end of a multipart reply.
    Done,
    /// `RTM_NEWROUTE`, decoded.
    Route(RouteEntry),
    /// `RTM_NEWLINK`, decoded.
    Link(Link),
    /// Any other type, undecoded.
    Other(u16, &'a [u8]),
}

impl<'a> Message<'a> {
    /// `nlmsg_type`.
    pub(crate) fn kind(&self) -> u16 {
        self.header.nlmsg_type
    }

    /// Decodes the payload of the types utun reads.
    pub(crate) fn body(&self) -> Result<Body<'a>, ParseError> {
        match self.kind() {
            k::NLMSG_ERROR => {
                let e = read_nlmsgerr(self.payload).ok_or(ParseError::new(
                    Context::ErrorMessage,
                    Problem::Truncated { needed: size_of::<nlmsgerr>(), available: self.payload.len() },
                ))?;
                match e.error {
                    0 => Ok(Body::Ack),
                    err if err > 0 => Err(ParseError::new(Context::ErrorMessage, Problem::PositiveError(err))),
                    // checked_neg: i32::MIN has no positive counterpart.
                    err => err
                        .checked_neg()
                        .map(Body::Error)
                        .ok_or(ParseError::new(Context::ErrorMessage, Problem::PositiveError(err))),
                }
            }
            k::NLMSG_DONE => Ok(Body::Done),
            k::RTM_NEWROUTE => parse_route(self.payload).map(Body::Route),
            k::RTM_NEWLINK => super::link::parse_link(self.payload).map(Body::Link),
            kind => Ok(Body::Other(kind, self.payload)),
        }
    }
}

/// The messages of a receive buffer, in order. Each header's `nlmsg_len` is
/// checked against the buffer; the next message starts `NLMSG_ALIGN(len)`
/// further on. After the first error the iterator ends.
pub(crate) fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { buf, offset: 0, done: false }
}

/// Iterator returned by [`messages`].
#[derive(Clone, Debug)]
pub(crate) struct Messages<'a> {
    buf: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.buf.get(self.offset..).unwrap_or_default();
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        let context = Context::Header { offset: self.offset };
        let Some(header) = read_nlmsghdr(rest) else {
            self.done = true;
            let problem = Problem::Truncated { needed: size_of::<nlmsghdr>(), available: rest.len() };
            return Some(Err(ParseError::new(context, problem)));
        };
        let len = usize::try_from(header.nlmsg_len).unwrap_or(usize::MAX);
        let (Some(payload), true) = (rest.get(NLMSG_HDRLEN..len), len >= NLMSG_HDRLEN) else {
            self.done = true;
            let problem = Problem::MessageLength { len: header.nlmsg_len, available: rest.len() };
            return Some(Err(ParseError::new(context, problem)));
        };
        // `len` fits in the buffer, so aligning it cannot overflow. The last
        // message's padding may be absent: the buffer then ends here.
        self.offset = self.offset.saturating_add(nlmsg_align(len));
        Some(Ok(Message { header, payload }))
    }
}

/// The attributes after a family header: `(rta_type, payload)` pairs, each
/// `rta_len` checked against the bytes left; the next starts
/// `RTA_ALIGN(rta_len)` further on. After the first error the iterator ends.
pub(crate) fn attributes(bytes: &[u8]) -> Attributes<'_> {
    Attributes { rest: bytes }
}

/// Iterator returned by [`attributes`].
#[derive(Clone, Debug)]
pub(crate) struct Attributes<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Result<(u16, &'a [u8]), ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let rest = std::mem::take(&mut self.rest);
        let Some(header) = read_rtattr(rest) else {
            return Some(Err(ParseError::new(Context::Attributes, Problem::TrailingBytes(rest.len()))));
        };
        let len = usize::from(header.rta_len);
        let (Some(payload), true) = (rest.get(RTA_HDRLEN..len), len >= RTA_HDRLEN) else {
            let problem = Problem::AttributeLength { len: header.rta_len, available: rest.len() };
            return Some(Err(ParseError::new(Context::Attribute(header.rta_type), problem)));
        };
        // rta_len <= u16::MAX, so aligning cannot overflow.
        self.rest = rest.get(rta_align(len)..).unwrap_or_default();
        Some(Ok((header.rta_type, payload)))
    }
}

/// The payload of a `u32` attribute (native byte order), found at `context`.
pub(crate) fn attribute_u32(context: Context, bytes: &[u8]) -> Result<u32, ParseError> {
    let raw: [u8; size_of::<u32>()] =
        bytes.try_into().map_err(|_| ParseError::new(context, Problem::U32Length(bytes.len())))?;
    Ok(u32::from_ne_bytes(raw))
}

fn address(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(a) = <[u8; IPV4_LEN]>::try_from(bytes) {
        Some(IpAddr::V4(Ipv4Addr::from(a)))
    } else if let Ok(a) = <[u8; IPV6_LEN]>::try_from(bytes) {
        Some(IpAddr::V6(Ipv6Addr::from(a)))
    } else {
        None
    }
}

/// Decodes the payload of an `RTM_NEWROUTE` message: `rtm_family`,
/// `rtm_dst_len` + `RTA_DST` into the destination (a /0 route has no
/// `RTA_DST`), `RTA_GATEWAY`, `RTA_OIF` (0 when absent, as for a multipath
/// route); other attributes are skipped (checked for framing only).
pub(crate) fn parse_route(payload: &[u8]) -> Result<RouteEntry, ParseError> {
    let rtm = read_rtmsg(payload).ok_or(ParseError::new(
        Context::RouteMessage,
        Problem::Truncated { needed: size_of::<rtmsg>(), available: payload.len() },
    ))?;
    let family = rtm.rtm_family;
    let family_len = match family {
        k::AF_INET => IPV4_LEN,
        k::AF_INET6 => IPV6_LEN,
        other => return Err(ParseError::new(Context::RouteMessage, Problem::Family(other))),
    };
    let max = u8::try_from(family_len * 8).unwrap_or(u8::MAX);
    if rtm.rtm_dst_len > max {
        return Err(ParseError::new(Context::RouteMessage, Problem::PrefixLength { len: rtm.rtm_dst_len, max }));
    }
    let attrs = payload.get(nlmsg_align(size_of::<rtmsg>())..).unwrap_or_default();
    let family_address = |kind: u16, bytes: &[u8]| -> Result<IpAddr, ParseError> {
        let addr =
            address(bytes).ok_or(ParseError::new(Context::Attribute(kind), Problem::AddressLength(bytes.len())))?;
        if bytes.len() == family_len {
            Ok(addr)
        } else {
            Err(ParseError::new(Context::Attribute(kind), Problem::AddressFamily { len: bytes.len(), family }))
        }
    };
    let (mut dst, mut gateway, mut oif) = (None, None, 0);
    for attr in attributes(attrs) {
        let (kind, bytes) = attr?;
        match kind {
            k::RTA_DST => dst = Some(family_address(kind, bytes)?),
            k::RTA_GATEWAY => gateway = Some(family_address(kind, bytes)?),
            k::RTA_OIF => oif = attribute_u32(Context::Attribute(kind), bytes)?,
            _ => {}
        }
    }
    let dst = match (dst, rtm.rtm_dst_len) {
        (Some(addr), _) => addr,
        (None, 0) if family == k::AF_INET => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (None, 0) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        (None, len) => return Err(ParseError::new(Context::RouteMessage, Problem::MissingDestination(len))),
    };
    let destination = IpNet::new(dst, rtm.rtm_dst_len)
        .map_err(|_| ParseError::new(Context::RouteMessage, Problem::PrefixLength { len: rtm.rtm_dst_len, max }))?;
    Ok(scoped_by_interface(RouteEntry::new(Some(destination), gateway, oif, None)))
}

/// `entry` with the scope of each link-local address
/// ([`is_scoped`](crate::net::is_scoped)) set to the route's interface: what
/// the scope is on Linux, where the kernel keeps link-local addresses plain
/// and a route names the interface they are on (its `RTA_OIF`).
pub(crate) fn scoped_by_interface(entry: RouteEntry) -> RouteEntry {
    let scope = |ip: Option<IpAddr>| {
        (ip.is_some_and(crate::net::is_scoped) && entry.interface_index != 0).then_some(entry.interface_index)
    };
    RouteEntry {
        destination_scope: scope(entry.destination.map(|d| d.addr())),
        gateway_scope: scope(entry.gateway),
        ..entry
    }
}
