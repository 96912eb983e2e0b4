//! `PF_ROUTE` encoders: every route the API accepts (either family, host,
//! net or default, out of an interface or through a gateway, any prefix
//! length) and every lookup encode to a message that parses back to the same
//! values; an interface index `sdl_index` cannot hold is refused, not
//! truncated.
#![no_main]

use std::net::IpAddr;

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use utun::__fuzz::pf_route::{self, Addr, Kind};
use utun::{ErrorKind, IpNet, NextHop};

/// The same address, up to an embedded IPv6 scope (the kernel's form).
fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    pf_route::unscoped(a) == pf_route::unscoped(b)
}

fn same_net(a: IpNet, b: IpNet) -> bool {
    a.prefix_len() == b.prefix_len() && same_ip(a.addr(), b.addr())
}

fn run(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let route = utun_fuzz::route(u)?;
    let index: u32 = if u.arbitrary()? { u.arbitrary()? } else { u.int_in_range(0..=u16::MAX.into())? };
    let (seq, pid): (i32, i32) = (u.arbitrary()?, u.arbitrary()?);
    for kind in [Kind::Add, Kind::Delete] {
        let msg = match (pf_route::encode_route(kind, &route, index, seq, pid), route.next_hop()) {
            (Ok(msg), _) => msg,
            (Err(e), NextHop::Interface(_) | NextHop::LinkLocalGateway { .. })
                if index == 0 || index > u32::from(u16::MAX) =>
            {
                assert_eq!(e.kind(), ErrorKind::InvalidInput);
                continue;
            }
            (Err(e), _) => panic!("{route} (index {index}) not encoded: {e}"),
        };
        let m = pf_route::parse(&msg).unwrap_or_else(|e| panic!("{route}: {}", e.text));
        assert_eq!((m.msglen, m.rtm_type, m.seq, m.pid, m.errno), (msg.len(), kind.rtm_type(), seq, pid, 0));
        let dest = m.destination_net.expect("a destination");
        assert!(same_net(dest, route.destination()), "{route}: parsed back as {dest}");
        match route.next_hop() {
            NextHop::Gateway(gw) => {
                let back = m.gateway_ip.expect("RTF_GATEWAY and the gateway");
                assert!(same_ip(back, gw), "{route}: gateway {back}");
            }
            NextHop::LinkLocalGateway { gateway, .. } => {
                // The scope embedded on the way in comes back apart: the index.
                assert_eq!(m.gateway, Some(Addr::Scoped(gateway, index)), "{route}");
            }
            NextHop::Interface(name) => {
                assert_eq!(m.gateway_ip, None, "{route}: no RTF_GATEWAY");
                match m.gateway {
                    Some(Addr::Link(i, _, n)) => {
                        // The name when it fits sdl_data, else none (the
                        // kernel goes by sdl_index).
                        let fits = name.as_str().len() <= pf_route::link_name_max();
                        assert_eq!((u32::from(i), n), (index, fits.then_some(name)));
                    }
                    other => panic!("{route}: gateway {other:?}"),
                }
            }
        }
    }
    // RTM_GET for any prefix: the destination (a host's address as it is)
    // and RTA_IFP, empty, for the kernel to fill.
    let v6 = u.arbitrary()?;
    let query = utun_fuzz::net(u, v6)?;
    let msg = pf_route::encode_get(query, None, seq, pid);
    let m = pf_route::parse(&msg).unwrap_or_else(|e| panic!("get {query}: {}", e.text));
    assert_eq!((m.rtm_type, m.seq, m.pid), (Kind::Get.rtm_type(), seq, pid));
    let expect = if query.prefix_len() == query.max_prefix_len() { query } else { query.trunc() };
    assert!(m.destination_net.is_some_and(|d| same_net(d, expect)), "get {query}: {:?}", m.destination_net);
    assert_eq!(m.interface, Some((0, None)), "get {query}: an empty RTA_IFP");
    // An RTM_GET encoded through encode_route is the same lookup.
    let via = pf_route::encode_route(Kind::Get, &route, index, seq, pid).expect("RTM_GET is always encoded");
    // A link-local destination is looked up on the route's interface.
    let dest = route.destination();
    let scope = u16::try_from(index).ok().filter(|&i| i != 0 && pf_route::is_scoped(dest.addr()));
    assert_eq!(via, pf_route::encode_get(dest, scope, seq, pid));
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
