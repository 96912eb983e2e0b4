//! The macOS (BSD) side's pure parts: the requests and routing messages the
//! macOS backend sends, built and parsed without any system call, so that
//! they are tested on any host (the x86_64/arm64 darwin layouts are the same
//! LP64 layouts a Linux host compiles; `utun-sys`'s `apple-layouts` feature
//! generates them there).
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
//! * [`route`]: `PF_ROUTE` messages: [`encode_route`]/[`encode_get`] build
//!   what `route(8)` writes, [`parse_route_message`] reads what the kernel
//!   answers (and never panics, whatever the bytes).
#![cfg_attr(not(test), allow(dead_code, unused_imports))]

pub(crate) mod bytes;
pub(crate) mod request;
pub(crate) mod route;

pub(crate) use request::*;
pub(crate) use route::*;

#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;
