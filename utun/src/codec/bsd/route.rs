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

use utun_sys::apple;

use super::i32_of;
use crate::codec::field::u8_of;
use crate::error::Op;

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
