//! What a parse of the kernel's replies reports: where in the reply
//! ([`Context`]) and what was wrong there ([`Problem`]), with the names of
//! the message types and attributes utun meets, for error messages.

use std::fmt;

use super::{NLMSG_HDRLEN, RTA_HDRLEN, k};

/// Where in a reply a [`ParseError`] was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Context {
    /// The `nlmsghdr` at this byte offset of the receive buffer.
    Header {
        /// Offset of the header in the buffer.
        offset: usize,
    },
    /// The body of an `NLMSG_ERROR` message.
    ErrorMessage,
    /// The `rtmsg` of an `RTM_NEWROUTE` message.
    RouteMessage,
    /// The attributes after a family header, as a whole.
    Attributes,
    /// A route attribute (`rta_type`).
    Attribute(u16),
    /// The `ifinfomsg` of an `RTM_NEWLINK` message.
    LinkMessage,
    /// A link attribute (`IFLA_*`, in the `rta_type` of an attribute after
    /// an `ifinfomsg`: its numbers overlap the route attributes').
    LinkAttribute(u16),
    /// Matching a reply to a request.
    Reply,
}

/// What was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Fewer bytes than the structure needs.
    Truncated {
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes there were.
        available: usize,
    },
    /// `nlmsg_len` below the header size or beyond the buffer.
    MessageLength {
        /// The `nlmsg_len` read.
        len: u32,
        /// Bytes left in the buffer from the header on.
        available: usize,
    },
    /// `rta_len` below the attribute header size or beyond the message.
    AttributeLength {
        /// The `rta_len` read.
        len: u16,
        /// Bytes left in the message from the attribute on.
        available: usize,
    },
    /// Bytes after the last attribute too few to be one.
    TrailingBytes(usize),
    /// An address attribute whose length is neither an IPv4 nor an IPv6 address.
    AddressLength(usize),
    /// An address of the other family than the route's.
    AddressFamily {
        /// The address's length.
        len: usize,
        /// `rtm_family`.
        family: u8,
    },
    /// A u32 attribute of another length.
    U32Length(usize),
    /// An `rtm_family` that is neither `AF_INET` nor `AF_INET6`.
    Family(u8),
    /// A prefix length longer than the family's addresses.
    PrefixLength {
        /// The prefix length.
        len: u8,
        /// The family's maximum.
        max: u8,
    },
    /// `rtm_dst_len` is not 0 but there is no `RTA_DST`.
    MissingDestination(u8),
    /// An `NLMSG_ERROR` whose error is positive (the kernel sends 0 or `-errno`).
    PositiveError(i32),
    /// A reply of a type the request does not get.
    Unexpected(u16),
    /// An `IFLA_IFNAME` that is not a NUL-terminated interface name.
    Name(usize),
    /// An `ifi_index` that is not a valid (positive) interface index.
    Index(i32),
}

/// A reply that could not be parsed: where, and what was wrong.
///
/// Displays as e.g. `while parsing the RTA_GATEWAY attribute: length 3 is not
/// an IPv4 or IPv6 address`.
pub(crate) type ParseError = crate::codec::ParseError<Context, Problem>;

/// The name of a message type utun meets, for error messages.
pub(crate) fn message_name(kind: u16) -> Option<&'static str> {
    Some(match kind {
        k::NLMSG_NOOP => "NLMSG_NOOP",
        k::NLMSG_ERROR => "NLMSG_ERROR",
        k::NLMSG_DONE => "NLMSG_DONE",
        k::RTM_NEWADDR => "RTM_NEWADDR",
        k::RTM_DELADDR => "RTM_DELADDR",
        k::RTM_NEWROUTE => "RTM_NEWROUTE",
        k::RTM_DELROUTE => "RTM_DELROUTE",
        k::RTM_GETROUTE => "RTM_GETROUTE",
        k::RTM_NEWLINK => "RTM_NEWLINK",
        k::RTM_GETLINK => "RTM_GETLINK",
        _ => return None,
    })
}

/// The name of a route attribute utun reads, for error messages.
fn route_attr_name(kind: u16) -> Option<&'static str> {
    Some(match kind {
        k::RTA_DST => "RTA_DST",
        k::RTA_GATEWAY => "RTA_GATEWAY",
        k::RTA_OIF => "RTA_OIF",
        _ => return None,
    })
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Context::Header { offset } => write!(f, "the netlink message header at byte {offset}"),
            Context::ErrorMessage => f.write_str("an NLMSG_ERROR message"),
            Context::RouteMessage => f.write_str("an RTM_NEWROUTE message"),
            Context::Attributes => f.write_str("the attributes"),
            Context::Attribute(kind) => match route_attr_name(kind) {
                Some(name) => write!(f, "the {name} attribute"),
                None => write!(f, "route attribute type {kind}"),
            },
            Context::LinkMessage => f.write_str("an RTM_NEWLINK message"),
            Context::LinkAttribute(kind) => match kind {
                k::IFLA_IFNAME => f.write_str("the IFLA_IFNAME attribute"),
                k::IFLA_MTU => f.write_str("the IFLA_MTU attribute"),
                other => write!(f, "link attribute type {other}"),
            },
            Context::Reply => f.write_str("the reply"),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Problem::Truncated { needed, available } => {
                write!(f, "{available} bytes are too short for the {needed} it needs")
            }
            Problem::MessageLength { len, available } => {
                write!(f, "nlmsg_len {len} is not between {NLMSG_HDRLEN} and the {available} bytes left")
            }
            Problem::AttributeLength { len, available } => {
                write!(f, "rta_len {len} is not between {RTA_HDRLEN} and the {available} bytes left")
            }
            Problem::TrailingBytes(n) => write!(f, "{n} bytes after the last attribute are too few for another"),
            Problem::AddressLength(len) => write!(f, "length {len} is not an IPv4 or IPv6 address"),
            Problem::AddressFamily { len, family } => {
                write!(f, "a {len}-byte address does not belong to a route of family {family}")
            }
            Problem::U32Length(len) => write!(f, "length {len} is not a 32-bit integer's"),
            Problem::Family(family) => write!(f, "family {family} is neither AF_INET nor AF_INET6"),
            Problem::PrefixLength { len, max } => write!(f, "prefix length {len} is longer than {max}"),
            Problem::MissingDestination(len) => write!(f, "rtm_dst_len is {len} but there is no RTA_DST"),
            Problem::PositiveError(e) => write!(f, "error {e} is positive (the kernel sends 0 or a negative errno)"),
            Problem::Unexpected(kind) => match message_name(kind) {
                Some(name) => write!(f, "an unexpected {name} message"),
                None => write!(f, "an unexpected message of type {kind}"),
            },
            Problem::Name(len) => write!(f, "{len} bytes are not a NUL-terminated interface name"),
            Problem::Index(index) => write!(f, "interface index {index} is not positive"),
        }
    }
}
