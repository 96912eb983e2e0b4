//! `PF_ROUTE` sockaddrs: a well-formed `rt_msghdr` whose `rtm_addrs` and
//! sockaddr bytes the fuzzer chooses, so every input reaches the sockaddr
//! decoding (`AF_INET`, `AF_INET6`, `AF_LINK`, netmasks of any shape, short
//! and over-long `sa_len`s). Same properties as `pf_route_parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use utun::__fuzz::pf_route;

fuzz_target!(|data: &[u8]| {
    let Some((&addrs, body)) = data.split_first() else { return };
    let msg = pf_route::message(addrs, body);
    utun_fuzz::pf_route_check::check_parsed(&msg);
    // Each prefix of the message (a read cut short) parses or is refused,
    // never panics.
    for cut in [msg.len().saturating_sub(1), msg.len() / 2] {
        let _ = pf_route::parse(&msg[..cut]);
    }
});
