//! Encoding `PF_ROUTE` messages as `route(8)` writes them for `route
//! add|delete|get` (network_cmds `route.tproj/route.c`). See
//! [`route`](super::route) for the message layout.

use core::mem::{offset_of, size_of};
use std::net::IpAddr;

use utun_sys::apple;

use super::request::{sockaddr_dl, sockaddr_dl_empty, sockaddr_in, sockaddr_in6};
use super::route::{RT_MSGHDR_LEN, RTF_GATEWAY, RTF_HOST, RTF_STATIC, RTF_UP, RTM_VERSION, RtmKind};
use super::sockaddr::{sa_space, sockaddr_dl_bytes, sockaddr_in_bytes, sockaddr_in6_bytes};
use crate::codec::field::{put, put_fields};
use crate::error::{Detail, Error, ErrorKind};
use crate::net::{IpNet, NextHop, Route, is_scoped};

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
    put_fields!(
        buf,
        h,
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
    );
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

/// `ip` as route(8) puts it in a message: a link-local address
/// ([`is_scoped`]) with its scope, the interface index, embedded in its
/// second 16-bit group in network byte order (`s6_addr16[1] =
/// htons(sin6_scope_id)`, `sin6_scope_id` left 0: network_cmds
/// `route.tproj/route.c` `getaddr`, under `__KAME__`), the form XNU keeps
/// link-local addresses in (`in6_embedded_scope`, `bsd/netinet6/scope6.c`;
/// `route_output` moves a destination's into `sin6_scope_id`). Any other
/// address, or no scope, is left as it is.
pub(crate) fn embed_scope(ip: IpAddr, scope: Option<u16>) -> IpAddr {
    match (ip, scope) {
        (IpAddr::V6(v6), Some(scope)) if is_scoped(ip) => {
            let mut groups = v6.segments();
            groups[1] = scope;
            IpAddr::from(groups)
        }
        _ => ip,
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
/// `interface_index` (from `if_nametoindex`) is used only for a next hop
/// that names an interface ([`NextHop::Interface`],
/// [`NextHop::LinkLocalGateway`]); 0 or above `u16::MAX` there is an
/// [`ErrorKind::InvalidInput`] error (`sdl_index` and XNU's `if_index` are
/// `u_short`s). It is also the scope of the route's link-local addresses
/// (destination, gateway), embedded as route(8) does ([`embed_scope`]):
/// `route add -inet6 fe80::99%utun4 -interface utun4`, `route add -inet6
/// 2001:db8::/32 fe80::1%utun4`.
pub(crate) fn encode_route(
    kind: RtmKind,
    route: &Route,
    interface_index: u32,
    seq: i32,
    pid: i32,
) -> Result<Vec<u8>, Error> {
    if kind == RtmKind::Get {
        let scope = u16::try_from(interface_index).ok().filter(|&i| i != 0 && is_scoped(route.destination().addr()));
        return Ok(encode_get(route.destination(), scope, seq, pid));
    }
    let destination = route.destination();
    // The index of the interface the next hop names: its sdl_index, and the
    // scope of the route's link-local addresses.
    let scope = match route.next_hop().interface() {
        Some(name) => Some(u16::try_from(interface_index).ok().filter(|&i| i != 0).ok_or_else(|| {
            Error::invalid(
                kind.op(),
                ErrorKind::InvalidInput,
                Detail::Text(format!("{route}: interface index {interface_index} is not a valid sdl_index").into()),
            )
            .on(name)
        })?),
        None => None,
    };
    let mut flags = RTF_UP | RTF_STATIC;
    let mut msg = MessageBuilder::new();
    msg.push_whole(apple::RTA_DST, &ip_sockaddr(embed_scope(destination.network(), scope)));
    match route.next_hop() {
        NextHop::Interface(name) => {
            let sdl = sockaddr_dl(scope.unwrap_or_default(), name);
            msg.push_whole(apple::RTA_GATEWAY, &sockaddr_dl_bytes(&sdl));
        }
        NextHop::Gateway(gateway) => {
            flags |= RTF_GATEWAY;
            msg.push_whole(apple::RTA_GATEWAY, &ip_sockaddr(gateway));
        }
        NextHop::LinkLocalGateway { gateway, .. } => {
            flags |= RTF_GATEWAY;
            msg.push_whole(apple::RTA_GATEWAY, &ip_sockaddr(embed_scope(gateway.into(), scope)));
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
/// A link-local destination carries `scope` (an interface index) embedded,
/// as `route -n get fe80::1%utun4` sends it ([`embed_scope`]).
pub(crate) fn encode_get(destination: IpNet, scope: Option<u16>, seq: i32, pid: i32) -> Vec<u8> {
    let host = destination.prefix_len() == destination.max_prefix_len();
    let mut flags = RTF_UP | RTF_GATEWAY | RTF_STATIC;
    let mut msg = MessageBuilder::new();
    if host {
        flags |= RTF_HOST;
        msg.push_whole(apple::RTA_DST, &ip_sockaddr(embed_scope(destination.addr(), scope)));
    } else {
        msg.push_whole(apple::RTA_DST, &ip_sockaddr(embed_scope(destination.network(), scope)));
        let (mask, sa_len) = mask_sockaddr(destination);
        msg.push(apple::RTA_NETMASK, &mask, sa_len);
    }
    msg.push_whole(apple::RTA_IFP, &sockaddr_dl_bytes(&sockaddr_dl_empty()));
    msg.finish(RtmKind::Get.rtm_type(), flags, seq, pid)
}
