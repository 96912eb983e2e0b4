//! The utun device itself: a packet larger than the buffer, and a unit
//! created again just after it was dropped.

use std::net::UdpSocket;

use anyhow::{Context, Result, ensure};
use utun::{Device, ErrorKind, InterfaceAddress, TunBuilder};

use super::{ip, tool};

/// A free unit: the first above what exists.
fn free_unit() -> Result<String> {
    (90..120)
        .map(|n| format!("utun{n}"))
        .find(|n| !tool("ifconfig", &[n]).map(|r| r.0).unwrap_or(true))
        .context("no free utun unit between 90 and 120")
}

#[test]
#[ignore = "needs root on macOS"]
fn a_packet_larger_than_the_buffer_names_the_buffer_size() -> Result<()> {
    let tun =
        TunBuilder::new().address(InterfaceAddress::new(ip("10.0.0.1"), 32)?.with_peer(ip("10.0.0.2"))?).build()?;
    let socket = UdpSocket::bind("10.0.0.1:0")?;
    socket.send_to(&[7u8; 200], "10.0.0.2:9")?;
    socket.send_to(&[7u8; 200], "10.0.0.2:9")?;
    // Every IP packet is larger than 16 bytes; XNU returns only what it
    // copied (20 bytes), so the error states the buffer's size, not a length.
    let mut small = [0u8; 16];
    let err = tun.device().recv(&mut small).expect_err("a packet cannot fit 16 bytes");
    ensure!(err.kind() == ErrorKind::BufferTooSmall, "{:?}: {err}", err.kind());
    ensure!(err.to_string().contains("larger than the buffer of 16 bytes"), "{err}");
    // The next packet fits a proper buffer, whole.
    let mut buf = [0u8; 2048];
    let n = tun.device().recv(&mut buf)?;
    let total = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    ensure!(buf[0] >> 4 == 4 && n == total, "read {n} bytes of a {total}-byte packet");
    Ok(())
}

#[test]
#[ignore = "needs root on macOS"]
fn a_unit_is_created_again_at_once_after_it_was_dropped() -> Result<()> {
    let name = free_unit()?;
    // Bare devices, then configured ones (more to tear down on detach).
    for round in 0..20 {
        let dev = Device::with_name(&name).with_context(|| format!("round {round}"))?;
        ensure!(dev.name().as_str() == name);
        drop(dev);
    }
    for round in 0..10 {
        let address = InterfaceAddress::new(ip("10.0.0.1"), 32)?.with_peer(ip("10.0.0.2"))?;
        let tun = TunBuilder::new().name(&name).address(address).build().with_context(|| format!("round {round}"))?;
        ensure!(tun.name().as_str() == name);
        drop(tun);
    }
    // A unit in use is still refused at once, as in use.
    let held = Device::with_name(&name)?;
    let start = std::time::Instant::now();
    let err = Device::with_name(&name).expect_err("a unit in use must fail");
    ensure!(err.kind() == ErrorKind::Busy && err.to_string().contains("in use"), "{err}");
    ensure!(start.elapsed().as_millis() < 500, "a live unit was waited for: {:?}", start.elapsed());
    drop(held);
    Ok(())
}

#[test]
#[ignore = "needs root on macOS"]
fn the_largest_utun_unit_is_made_and_the_next_refused_with_why() -> Result<()> {
    // XNU makes utunN with interface unit N and refuses a unit above SHRT_MAX
    // with a bare EINVAL (ifnet_allocate_extended, bsd/net/kpi_interface.c):
    // the crate says so before asking.
    let max = i32::from(std::ffi::c_short::MAX);
    let name = format!("utun{max}");
    if tool("ifconfig", &[&name])?.0 {
        eprintln!("{name} exists already: only the refusal is checked");
    } else {
        let dev = Device::with_name(&name)?;
        ensure!(dev.name().as_str() == name, "{dev:?}");
        let (ok, text) = tool("ifconfig", &[&name])?;
        ensure!(ok, "ifconfig does not know {name}: {text}");
    }
    let past = format!("utun{}", max + 1);
    let err = Device::with_name(&past).expect_err("a unit above SHRT_MAX must be refused");
    ensure!(err.kind() == ErrorKind::InvalidInput, "{:?}: {err}", err.kind());
    ensure!(err.to_string().contains(&format!("up to {max}")), "{err}");
    ensure!(!tool("ifconfig", &[&past])?.0, "{past} was made");
    Ok(())
}
