//! rtnetlink encoders: every route the API accepts (either family, host, net
//! or default, out of an interface or through a gateway, any prefix length)
//! encodes to an `RTM_NEWROUTE` the reply parser reads back as the same
//! route; addresses carry their local address, peer and prefix; link
//! requests parse back to the index, MTU and flags they set; every request
//! is one well-framed message with its seq and pid.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use utun::__fuzz::rtnetlink::{self, Action, Said};
use utun::NextHop;

/// The only message of `msg`: framing checked, body returned.
fn only(msg: &[u8], seq: u32, pid: u32) -> Said {
    only_body(msg, seq, pid).expect("a body the parser reads")
}

fn only_body(msg: &[u8], seq: u32, pid: u32) -> Result<Said, utun::__fuzz::Refused> {
    let all = rtnetlink::parse_all(msg);
    assert_eq!(all.len(), 1, "one message");
    let (((len, _, _, s, p), _), said) = all.into_iter().next().unwrap().expect("well framed");
    assert_eq!((len as usize, s, p), (msg.len(), seq, pid));
    said
}

fn run(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let (seq, pid): (u32, u32) = (u.arbitrary()?, u.arbitrary()?);
    let route = utun_fuzz::route(u)?;
    let oif: u32 = u.arbitrary()?;
    for action in [Action::Add, Action::Replace, Action::Delete] {
        let msg = rtnetlink::encode_route(action, &route, oif, seq, pid);
        match only(&msg, seq, pid) {
            Said::Route(entry) => {
                assert!(action != Action::Delete, "RTM_DELROUTE read as a route");
                assert_eq!(entry.destination, Some(route.destination()), "{route}");
                let gw = match route.next_hop() {
                    NextHop::Gateway(gw) => Some(gw),
                    NextHop::LinkLocalGateway { gateway, .. } => Some(gateway.into()),
                    NextHop::Interface(_) => None,
                };
                assert_eq!(entry.gateway, gw, "{route}");
                assert_eq!(entry.interface_index, oif, "{route}");
            }
            Said::Other(..) => assert_eq!(action, Action::Delete, "{route}: RTM_NEWROUTE not read as a route"),
            other => panic!("{route}: {other:?}"),
        }
    }
    let get = route.destination().addr();
    let msg = rtnetlink::encode_get_route(get, u.arbitrary()?, u.arbitrary()?, seq, pid);
    assert!(matches!(only(&msg, seq, pid), Said::Other(..)));

    let address = utun_fuzz::address(u)?;
    let index: u32 = u.arbitrary()?;
    for action in [Action::Add, Action::Replace, Action::Delete] {
        let msg = rtnetlink::encode_address(action, index, &address, seq, pid);
        assert!(matches!(only(&msg, seq, pid), Said::Other(..)));
        // The ifaddrmsg says the prefix and the index; its attributes hold
        // the local address and the peer (or the local address again).
        let (prefix, at, attrs) = rtnetlink::address_request(&msg).expect("an ifaddrmsg and attributes");
        assert_eq!((prefix, at), (address.prefix_len(), index), "{address}");
        let local = utun_fuzz::octets(address.address());
        let peer = utun_fuzz::octets(address.peer().unwrap_or(address.address()));
        assert!(attrs.iter().any(|(_, b)| *b == local), "{address}: no local address in {attrs:?}");
        assert!(attrs.iter().any(|(_, b)| *b == peer), "{address}: no peer in {attrs:?}");
    }

    let index: u32 = u.arbitrary()?;
    let (mtu, flags, change): (Option<u32>, u32, u32) = (u.arbitrary()?, u.arbitrary()?, u.arbitrary()?);
    let msg = rtnetlink::encode_set_link(index, mtu, flags, change, seq, pid);
    let said = only_body(&msg, seq, pid);
    if rtnetlink::index_fits(index) && index != 0 {
        // Only the flags in `change` are set (the rest are 0 in `ifi_flags`).
        assert_eq!(said, Ok(Said::Link(index, None, mtu, flags & change)));
    } else {
        assert!(said.is_err(), "index {index} read back as {said:?}");
    }
    let msg = rtnetlink::encode_get_link(index, seq, pid);
    let _ = only(&msg, seq, pid);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
