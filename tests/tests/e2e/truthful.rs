//! Errors that say what the kernel said: names as Linux's `dev_valid_name`
//! takes them, `EADDRNOTAVAIL` read by operation, `recv` into an empty
//! buffer, an MTU that would drop IPv6 addresses refused.

use std::net::UdpSocket;

use anyhow::{Result, ensure};
use utun::{Cleanup, Device, ErrorKind, Route, RouteTable, TunBuilder};

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

/// What `Interface::set_mtu` documents (the plain call, which the guard and
/// the builder refuse, as the next test checks): on Linux an MTU below 1280
/// removes the interface's IPv6 addresses, and a larger MTU does not bring
/// them back (net/ipv6/addrconf.c: `addrconf_notify`, `NETDEV_CHANGEMTU`
/// below `IPV6_MIN_MTU` → `addrconf_ifdown`).
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
    // While the MTU is small, an IPv6 address is refused, saying why (the
    // kernel's answer would be a bare EINVAL), and nothing is added.
    let err = expect_kind(iface.add_address(&addr("fd00::2", 64, None)?), ErrorKind::InvalidInput)?;
    ensure!(err.raw_os_error().is_none(), "the kernel was asked: {err}");
    ensure!(err.to_string().contains("MTU of 1279") && err.to_string().contains("1280"), "{err}");
    ensure!(v6(name.as_str())?.is_empty(), "IPv6 addresses appeared: {:?}", v6(name.as_str())?);
    iface.set_mtu(1500)?;
    ensure!(!v6(name.as_str())?.contains(&"fd00::1".to_owned()), "fd00::1 came back");
    iface.add_address(&addr("fd00::2", 64, None)?)?;
    ensure!(v6(name.as_str())?.contains(&"fd00::2".to_owned()), "fd00::2 was not added at MTU 1500");
    Ok(())
}

/// The guard refuses an MTU below 1280 on an interface it gave an IPv6
/// address (nothing changes: MTU and address stay), and sets it where it
/// added only IPv4; the builder refuses an IPv6 address with such an MTU
/// before it creates anything.
pub fn a_small_mtu_that_would_drop_ipv6_addresses_is_refused() -> Result<()> {
    let dev = Device::new()?;
    let iface = dev.interface();
    let mut cleanup = Cleanup::new();
    cleanup.set_up(&iface, true)?;
    cleanup.add_address(&iface, addr("10.0.0.1", 24, None)?)?;
    cleanup.add_address(&iface, addr("fd00::1", 64, None)?)?;
    let mtu = iface.mtu()?;
    let min = utun_sys::IPV6_MIN_MTU;
    let err = expect_kind(cleanup.set_mtu(&iface, min - 1), ErrorKind::InvalidInput)?;
    ensure!(err.raw_os_error().is_none(), "the kernel was asked: {err}");
    ensure!(err.to_string().contains("fd00::1") && err.to_string().contains(&min.to_string()), "{err}");
    ensure!(iface.mtu()? == mtu, "the MTU changed to {}", iface.mtu()?);
    ensure!(kernel::ip_json(&["-6", "addr", "show", "dev", dev.name().as_str()])?.to_string().contains("fd00::1"));
    ensure!(cleanup.len() == 3, "{} steps recorded", cleanup.len());
    // The minimum itself keeps IPv6.
    cleanup.set_mtu(&iface, min)?;
    ensure!(iface.mtu()? == min);

    // Where the guard added only IPv4, the MTU is set, and restored on undo.
    let dev4 = Device::new()?;
    let iface4 = dev4.interface();
    let mut cleanup4 = Cleanup::new();
    cleanup4.add_address(&iface4, addr("10.1.0.1", 24, None)?)?;
    let mtu4 = iface4.mtu()?;
    cleanup4.set_mtu(&iface4, 1000)?;
    ensure!(iface4.mtu()? == 1000);
    cleanup4.undo().map_err(|e| anyhow::anyhow!("{e}"))?;
    ensure!(iface4.mtu()? == mtu4);

    let before = kernel::link_names()?;
    let built =
        TunBuilder::new().address(addr("10.2.0.1", 24, None)?).address(addr("fd00::2", 64, None)?).mtu(1200).build();
    let err = expect_kind(built, ErrorKind::InvalidInput)?;
    ensure!(err.to_string().contains("fd00::2"), "{err}");
    ensure!(kernel::link_names()? == before, "interfaces changed: {:?}", kernel::link_names()?);
    // IPv4 only, the same MTU is fine.
    let tun = TunBuilder::new().address(addr("10.2.0.1", 24, None)?).mtu(1200).build()?;
    ensure!(tun.interface().mtu()? == 1200);
    Ok(())
}
