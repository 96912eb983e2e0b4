//! What the fuzz targets share: values of the public types built from the
//! fuzzer's bytes (every route and address the API accepts), and the
//! comparisons the round trips make.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arbitrary::{Result, Unstructured};
use utun::{InterfaceAddress, InterfaceName, IpNet, NextHop, Route};

/// An address of either family.
pub fn ip(u: &mut Unstructured<'_>, v6: bool) -> Result<IpAddr> {
    Ok(if v6 { Ipv6Addr::from(u.arbitrary::<u128>()?).into() } else { Ipv4Addr::from(u.arbitrary::<u32>()?).into() })
}

/// A prefix of either family, of any valid length (host bits kept).
pub fn net(u: &mut Unstructured<'_>, v6: bool) -> Result<IpNet> {
    let addr = ip(u, v6)?;
    let len = u.int_in_range(0..=if v6 { 128 } else { 32 })?;
    Ok(IpNet::new(addr, len).expect("a prefix length in range"))
}

/// An interface name the API accepts: the fuzzer's bytes when they make
/// one, else `utun4`.
pub fn name(u: &mut Unstructured<'_>) -> Result<InterfaceName> {
    let len = u.int_in_range(1..=utun::MAX_NAME_LEN)?;
    let bytes = u.bytes(len)?;
    Ok(std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| InterfaceName::new(s).ok())
        .unwrap_or_else(|| InterfaceName::new("utun4").expect("a valid name")))
}

/// A route the API accepts: either family, any prefix (host, net, default),
/// out of an interface, through a gateway of the same family, or through a
/// link-local IPv6 gateway on an interface. What the API refuses (a
/// link-local gateway or destination with no interface, say) is not a route:
/// the input is skipped.
pub fn route(u: &mut Unstructured<'_>) -> Result<Route> {
    let v6 = u.arbitrary()?;
    let destination = net(u, v6)?;
    let hop = match u.int_in_range(0..=2u8)? {
        0 => NextHop::Gateway(ip(u, v6)?),
        1 => NextHop::Interface(name(u)?),
        _ => {
            // fe80::/10 and any low bits but the second 16-bit group, which
            // the API refuses (it is where XNU keeps the scope).
            let low = u.arbitrary::<u128>()? & ((1u128 << 118) - 1) & !(0xffffu128 << 96);
            NextHop::LinkLocalGateway { gateway: Ipv6Addr::from((0xfe80u128 << 112) | low), interface: name(u)? }
        }
    };
    Route::with_next_hop(destination, hop).map_err(|_| arbitrary::Error::IncorrectFormat)
}

/// An interface address the API accepts: either family, any prefix, with a
/// peer where one is allowed (the fuzzer chooses).
pub fn address(u: &mut Unstructured<'_>) -> Result<InterfaceAddress> {
    let v6 = u.arbitrary()?;
    let n = net(u, v6)?;
    let a = InterfaceAddress::new(n.addr(), n.prefix_len()).expect("a prefix length in range");
    if u.arbitrary()? { Ok(a.with_peer(ip(u, v6)?).unwrap_or(a)) } else { Ok(a) }
}

/// The octets of an address.
pub fn octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The properties every routing message the parser accepts has (the
/// `pf_route_*` parse targets).
pub mod pf_route_check {

    use utun::__fuzz::pf_route::{self, Addr};
    use utun::IpNet;

    /// Parses `data` and checks what the parser says against the bytes.
    pub fn check_parsed(data: &[u8]) {
        let ids = pf_route::header_ids(data);
        match pf_route::parse(data) {
            Ok(m) => {
                // Within the buffer, at least a header; the header's fields as
                // read without any check.
                assert!(
                    m.msglen <= data.len() && m.msglen >= pf_route::HEADER_LEN,
                    "msglen {} of {}",
                    m.msglen,
                    data.len()
                );
                assert_eq!(ids, Some((m.msglen, m.rtm_type, m.pid, m.seq)));
                // Bytes after rtm_msglen are not the message's.
                assert_eq!(pf_route::parse(&data[..m.msglen]), Ok(m), "bytes after msglen changed the message");
                // A destination address and a netmask make a valid prefix.
                if let (Some(Addr::Ip(a)), Some(p)) = (m.destination, m.prefix_len) {
                    assert_eq!(m.destination_net, Some(IpNet::new(a, p).expect("a prefix within the family")));
                }
                if let Some(Addr::Ip(a)) = m.destination {
                    assert!(m.destination_net.is_some_and(|n| n.addr() == a));
                }
                // The entry says what the message says.
                assert_eq!(m.entry.destination, m.destination_net);
                assert_eq!(m.entry.gateway, m.gateway_ip);
                if m.index != 0 {
                    assert_eq!(m.entry.interface_index, u32::from(m.index));
                }
            }
            Err(e) => {
                assert!(e.text.starts_with("while parsing "), "{}", e.text);
            }
        }
    }
}
