//! Errors that say what the kernel said: names as Linux's `dev_valid_name`
//! takes them, `EADDRNOTAVAIL` read by operation, `recv` into an empty
//! buffer.

use std::net::UdpSocket;

use anyhow::{Result, ensure};
use utun::{Device, ErrorKind, Route, RouteTable, TunBuilder};

use crate::cases::{addr, expect_kind, ip, net};
use crate::kernel;

/// Names Linux accepts are accepted (a route lookup names the interface
/// back); `.` and `..`, which it refuses, are invalid, not busy.
pub fn names_as_linux_takes_them() -> Result<()> {
    let before = kernel::link_names()?;
    // "tun%d" the kernel would take for a template and name the interface tun0.
    for bad in [".", "..", "tun%d"] {
        let err = expect_kind(Device::with_name(bad), ErrorKind::InvalidInput)?;
        ensure!(err.raw_os_error().is_none(), "the kernel was asked: {err}");
        ensure!(err.to_string().contains(if bad == "tun%d" { "template" } else { "dev_valid_name" }), "{err}");
    }
    ensure!(kernel::link_names()? == before, "interfaces changed: {:?}", kernel::link_names()?);
    for name in ["d+1", "wg-é", "a,b=c"] {
        let dev = Device::with_name(name)?;
        ensure!(dev.name().as_str() == name, "{name} became {}", dev.name());
        ensure!(kernel::link_exists(name)?, "ip does not show {name}");
    }
    let dev = Device::with_name("d+1")?;
    dev.interface().set_up(true)?;
    let mut table = RouteTable::open()?;
    table.add(&Route::through_interface(net("10.7.0.0/16"), dev.name()))?;
    let entry = table.get(ip("10.7.1.1"))?;
    ensure!(entry.interface_index == dev.index(), "{entry:?}");
    ensure!(entry.interface.map(|n| n.as_str().to_owned()).as_deref() == Some("d+1"), "{entry:?}");
    Ok(())
}

/// Addresses no interface may have (Linux's `ipv6_add_addr` answers
/// `EADDRNOTAVAIL`) are an invalid argument when added, not "not found";
/// removing a missing address is still not found.
pub fn unassignable_addresses_are_invalid() -> Result<()> {
    let dev = Device::new()?;
    let iface = dev.interface();
    iface.set_up(true)?;
    for (a, prefix) in [("::1", 128), ("::", 128), ("ff02::1", 128)] {
        let err = expect_kind(iface.add_address(&addr(a, prefix, None)?), ErrorKind::InvalidInput)?;
        ensure!(err.raw_os_error() == Some(libc::EADDRNOTAVAIL), "{err}");
        ensure!(!err.to_string().contains("not found"), "{err}");
    }
    expect_kind(iface.remove_address(&addr("fd00::9", 128, None)?), ErrorKind::NotFound)?;
    Ok(())
}

/// `recv` into an empty buffer is an invalid argument at once, whether a
/// packet waits or not, and the waiting packet is still there afterwards.
pub fn recv_into_an_empty_buffer() -> Result<()> {
    // No packet of the kernel's own (router solicitations) on the device.
    utun_tests::netns::disable_ipv6()?;
    let tun = TunBuilder::new().address(addr("10.0.0.1", 32, Some("10.0.0.2"))?).build()?;
    // Nothing waits: the call returns at once (a blocking read would hang).
    let err = expect_kind(tun.device().recv(&mut []), ErrorKind::InvalidInput)?;
    ensure!(err.to_string().contains("empty buffer"), "{err}");
    ensure!(!err.to_string().contains("dropped"), "{err}");
    // A datagram to the peer is in the device's queue once send_to returns.
    let socket = UdpSocket::bind("10.0.0.1:0")?;
    socket.send_to(b"still here", "10.0.0.2:9")?;
    expect_kind(tun.device().recv(&mut []), ErrorKind::InvalidInput)?;
    let mut buf = [0u8; 1500];
    let n = tun.device().recv(&mut buf)?;
    ensure!(buf[..n].ends_with(b"still here"), "got {:?}", &buf[..n]);
    Ok(())
}

/// 0.0.0.0, which the kernel acknowledges and ignores (net/ipv4/devinet.c
/// `__inet_insert_ifa`), is refused as invalid rather than reported added.
pub fn unspecified_ipv4_address_is_refused() -> Result<()> {
    let dev = Device::new()?;
    let iface = dev.interface();
    iface.set_up(true)?;
    for a in [addr("0.0.0.0", 0, None)?, addr("0.0.0.0", 8, Some("10.0.0.2"))?] {
        let err = expect_kind(iface.add_address(&a), ErrorKind::InvalidInput)?;
        ensure!(err.to_string().contains("add nothing"), "{err}");
    }
    ensure!(kernel::ip_json(&["-4", "addr", "show", "dev", dev.name().as_str()])? == serde_json::json!([]));
    Ok(())
}

/// What `Interface::set_mtu` documents: on Linux an MTU below 1280 removes
/// the interface's IPv6 addresses, and a larger MTU does not bring them back.
pub fn a_small_mtu_drops_ipv6_addresses_for_good() -> Result<()> {
    let dev = Device::new()?;
    let iface = dev.interface();
    iface.set_up(true)?;
    iface.add_address(&addr("fd00::1", 64, None)?)?;
    let v6 = |name: &str| -> Result<Vec<String>> {
        let v = kernel::ip_json(&["-6", "addr", "show", "dev", name])?;
        let infos = v[0]["addr_info"].as_array().cloned().unwrap_or_default();
        Ok(infos.iter().filter_map(|i| i["local"].as_str().map(String::from)).collect())
    };
    let name = dev.name();
    ensure!(v6(name.as_str())?.contains(&"fd00::1".to_owned()));
    iface.set_mtu(1279)?;
    ensure!(v6(name.as_str())?.is_empty(), "IPv6 addresses left: {:?}", v6(name.as_str())?);
    iface.set_mtu(1500)?;
    ensure!(!v6(name.as_str())?.contains(&"fd00::1".to_owned()), "fd00::1 came back");
    Ok(())
}
