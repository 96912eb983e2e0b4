//! Links by index: `RTM_GETLINK` (what `ip link show` asks) and
//! `RTM_NEWLINK` without `NLM_F_CREATE` (what `ip link set` sends), and the
//! kernel's `RTM_NEWLINK` answer.
//!
//! Both requests name the interface by `ifi_index` alone, never by name: the
//! kernel (`net/core/rtnetlink.c` `rtnl_getlink`, `rtnl_setlink`) looks an
//! interface up by name only when the index is 0, and in a change an
//! `IFLA_IFNAME` next to an index would rename the interface
//! (`do_setlink`). A change carries `IFLA_MTU` and the flags with
//! `ifi_change`, the mask of the flags it changes (`rtnl_dev_combine_flags`:
//! the others keep their value; 0 would mean all of them, so a change of the
//! MTU alone sends flags and mask 0, which `do_setlink` skips).

use core::mem::size_of;

use utun_sys::ifinfomsg;

use super::encode::Builder;
use super::parse::{Context, ParseError, Problem, attribute_u32, attributes};
use super::{Link, MessageHeader, TunInfo, k, nlmsg_align};
use crate::codec::field::{get_fields, put_fields};
use crate::name::InterfaceName;

/// The bytes of a `struct ifinfomsg`.
pub(crate) fn ifinfomsg_bytes(m: &ifinfomsg) -> [u8; size_of::<ifinfomsg>()] {
    let mut out = [0; size_of::<ifinfomsg>()];
    put_fields!(&mut out, m, ifinfomsg, [ifi_family, __ifi_pad, ifi_type, ifi_index, ifi_flags, ifi_change]);
    out
}

/// A `struct ifinfomsg` from the start of `bytes`, if there are enough.
pub(crate) fn read_ifinfomsg(bytes: &[u8]) -> Option<ifinfomsg> {
    Some(get_fields!(bytes, ifinfomsg, [ifi_family, __ifi_pad, ifi_type, ifi_index, ifi_flags, ifi_change]))
}

/// `ifi_index` for `index`. The kernel's indexes are positive `int`s, and
/// callers check the index first ([`index_fits`]); one that does not fit
/// becomes 0, which names no interface (with no `IFLA_IFNAME` either, the
/// kernel refuses the request with `EINVAL`), never another one.
fn ifi_index(index: u32) -> i32 {
    i32::try_from(index).unwrap_or(0)
}

/// Whether `index` can be an interface index (a positive C `int`).
pub(crate) fn index_fits(index: u32) -> bool {
    index != 0 && i32::try_from(index).is_ok()
}

/// An `RTM_GETLINK` request (`NLM_F_REQUEST`) for the interface with index
/// `index`: `ifinfomsg { AF_UNSPEC, index }`. The kernel answers with one
/// `RTM_NEWLINK`, or `ENODEV` when no interface has that index.
pub(crate) fn encode_get_link(index: u32, header: MessageHeader) -> Vec<u8> {
    let ifi = ifinfomsg { ifi_family: k::AF_UNSPEC, ifi_index: ifi_index(index), ..ifinfomsg::default() };
    Builder::new(k::RTM_GETLINK, k::NLM_F_REQUEST, header, &ifinfomsg_bytes(&ifi)).finish()
}

/// An `RTM_NEWLINK` request (`NLM_F_REQUEST | NLM_F_ACK`, no `NLM_F_CREATE`)
/// that changes the interface with index `index`: `IFLA_MTU` when `mtu` is
/// given, and the flags in `change` to their value in `flags`.
pub(crate) fn encode_set_link(index: u32, mtu: Option<u32>, flags: u32, change: u32, header: MessageHeader) -> Vec<u8> {
    let ifi = ifinfomsg {
        ifi_family: k::AF_UNSPEC,
        ifi_index: ifi_index(index),
        ifi_flags: flags & change,
        ifi_change: change,
        ..ifinfomsg::default()
    };
    let mut b = Builder::new(k::RTM_NEWLINK, k::NLM_F_REQUEST | k::NLM_F_ACK, header, &ifinfomsg_bytes(&ifi));
    if let Some(mtu) = mtu {
        b.attr(k::IFLA_MTU, &mtu.to_ne_bytes());
    }
    b.finish()
}

/// Decodes the payload of an `RTM_NEWLINK` message: `ifi_index`,
/// `ifi_flags`, `IFLA_IFNAME` and `IFLA_MTU`; other attributes are skipped
/// (checked for framing only).
pub(crate) fn parse_link(payload: &[u8]) -> Result<Link, ParseError> {
    let ifi = read_ifinfomsg(payload).ok_or(ParseError::new(
        Context::LinkMessage,
        Problem::Truncated { needed: size_of::<ifinfomsg>(), available: payload.len() },
    ))?;
    let index = u32::try_from(ifi.ifi_index)
        .ok()
        .filter(|&i| i != 0)
        .ok_or(ParseError::new(Context::LinkMessage, Problem::Index(ifi.ifi_index)))?;
    let attrs = payload.get(nlmsg_align(size_of::<ifinfomsg>())..).unwrap_or_default();
    let (mut name, mut mtu, mut tun) = (None, None, None);
    for attr in attributes(attrs) {
        let (kind, bytes) = attr.map_err(|e| match e.context {
            Context::Attribute(kind) => ParseError::new(Context::LinkAttribute(kind), e.problem),
            _ => e,
        })?;
        match kind {
            k::IFLA_IFNAME => {
                // The kernel sends the name with its NUL (nla_put_string).
                let named = bytes.last() == Some(&0) && bytes.len() <= crate::name::MAX_NAME_LEN + 1;
                name = named.then(|| InterfaceName::from_c_bytes(bytes)).flatten();
                if name.is_none() {
                    return Err(ParseError::new(Context::LinkAttribute(kind), Problem::Name(bytes.len())));
                }
            }
            k::IFLA_MTU => mtu = Some(attribute_u32(Context::LinkAttribute(kind), bytes)?),
            k::IFLA_LINKINFO => tun = tun_info(bytes),
            _ => {}
        }
    }
    Ok(Link { index, name, mtu, flags: ifi.ifi_flags, tun })
}

/// The tun driver's attributes in an `IFLA_LINKINFO` (`IFLA_INFO_KIND`
/// "tun", `IFLA_INFO_DATA` with `IFLA_TUN_*` u8 values), or `None` for
/// another driver or a malformed nest (which then tells nothing).
fn tun_info(linkinfo: &[u8]) -> Option<TunInfo> {
    let (mut is_tun, mut info) = (false, None);
    for attr in attributes(linkinfo) {
        let (kind, bytes) = attr.ok()?;
        match kind {
            k::IFLA_INFO_KIND => is_tun = bytes.split(|&b| b == 0).next() == Some(b"tun"),
            k::IFLA_INFO_DATA => {
                let mut tun = TunInfo::default();
                for attr in attributes(bytes) {
                    let (kind, bytes) = attr.ok()?;
                    let value = || bytes.first().copied();
                    match kind {
                        k::IFLA_TUN_TYPE => tun.kind = value()?,
                        k::IFLA_TUN_PI => tun.pi = value()? != 0,
                        k::IFLA_TUN_VNET_HDR => tun.vnet_hdr = value()? != 0,
                        _ => {}
                    }
                }
                info = Some(tun);
            }
            _ => {}
        }
    }
    info.filter(|_| is_tun)
}
