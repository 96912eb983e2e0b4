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
//! * [`datagram`]: what `recvmsg` on a utun socket returned: the family
//!   header, the packet's length, `MSG_TRUNC`.
//! * [`route`]: the routing message kinds and flags; [`encode`] builds what
//!   `route(8)` writes; [`parse`] reads what the kernel answers.

/// A `u32` header constant as a C `int` field (`rtm_flags`, `rtm_addrs`).
pub(crate) const fn i32_of(value: u32) -> i32 {
    assert!(value <= i32::MAX as u32, "constant does not fit in an int");
    value as i32
}

/// A structure size as a `sa_len`-style `u8`, checked at compile time.
pub(crate) const fn len_u8(len: usize) -> u8 {
    assert!(len <= u8::MAX as usize, "size does not fit in a u8");
    len as u8
}

// recvmsg_x/sendmsg_x message arrays (backend/macos/batch.rs).
pub(crate) mod batch;
pub(crate) mod datagram;
pub(crate) mod request;
pub(crate) mod sockaddr;
// The routing socket's messages (and the tests, which compare them with C):
// not on iOS, whose bindings have no net/route.h.
configuration! {
    pub(crate) mod encode;
    pub(crate) mod exchange;
    pub(crate) mod parse;
    pub(crate) mod route;

    #[cfg(test)]
    mod golden;
    #[cfg(test)]
    mod tests;
}
