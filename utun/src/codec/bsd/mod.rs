//! The macOS (BSD) formats: the structures the macOS backend hands to
//! `connect` and `ioctl`, and the `PF_ROUTE` messages it writes and reads.
//!
//! Everything here comes from `utun_sys::apple` (never the `utun_sys` root,
//! which is the Linux module on Linux): every family, flag, size and offset.
//! The tests compare every structure and message byte for byte with the same
//! value written as a C initializer and compiled by clang for both Apple
//! targets against the darwin headers (see `golden.rs`).
//!
//! * [`request`]: `sockaddr_ctl`/`ctl_info` for creating the utun, `ifreq`
//!   (name, MTU, flags, IPv4 address), `ifaliasreq`, `in6_aliasreq`,
//!   `in6_ifreq`, and the sockaddrs they carry.
//! * [`sockaddr`]: sockaddrs as the bytes of a routing message.
//! * [`route`]: the routing message kinds and flags; [`encode`] builds what
//!   `route(8)` writes; [`parse`] reads what the kernel answers.

pub(crate) mod encode;
pub(crate) mod parse;
pub(crate) mod request;
pub(crate) mod route;
pub(crate) mod sockaddr;

#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;
