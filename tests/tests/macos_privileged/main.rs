//! The macOS tests that need root and a real Mac: they create utun devices,
//! configure and route them, answer the real `ping`, and check every claim
//! with the system's own tools (`ifconfig`, `netstat -rn`, `route -n get`).
//!
//! They are `#[ignore]`d (reported as ignored, never as passed, on a normal
//! `cargo test`); macOS CI runs them with
//! `sudo -E cargo test -p utun-tests --test macos_privileged -- --ignored --test-threads=1`.
//! macOS has no network namespaces: the addresses are on a point-to-point
//! utun, and the pings go to its peer, so nothing leaves the machine.
#![cfg(target_os = "macos")]

use std::net::{IpAddr, UdpSocket};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use utun::AsyncDevice;
use utun::{Device, ErrorKind, InterfaceAddress, IpNet, RouteTable, TunBuilder};
use utun_tests::echo::{self, Responder};

// The routing socket on a busy Mac (a flood, two tables and the guard, a
// fork, a namesake route).
mod routing;

// The device: a packet larger than the buffer, a unit re-created at once.
mod device;

// The prefix of an address, routed into the utun until the address is removed.
mod prefix;

// Link-local IPv6 in routes: the scope embedded and taken out.
mod scoped;

// The queue and buffer options, and many packets per call (recvmsg_x).
mod queue;

// Adopted, borrowed and found (scanned-for) devices, and the privsep example.
mod adopt;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("a literal address")
}

fn tool(cmd: &str, args: &[&str]) -> Result<(bool, String)> {
    let out = Command::new(cmd).args(args).output().with_context(|| format!("running {cmd}"))?;
    Ok((
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    ))
}

fn builder() -> Result<TunBuilder> {
    Ok(TunBuilder::new()
        .address(InterfaceAddress::new(ip("10.0.0.1"), 32)?.with_peer(ip("10.0.0.2"))?)
        .address(InterfaceAddress::new(ip("fd00::1"), 128)?.with_peer(ip("fd00::2"))?)
        .mtu(1400)
        .route("10.9.0.0/16".parse::<IpNet>()?)
        .route("fd09::/64".parse::<IpNet>()?))
}

#[test]
#[ignore = "needs root on macOS"]
fn create_any_unit_and_a_chosen_unit() -> Result<()> {
    let any = Device::new()?;
    ensure!(any.name().as_str().starts_with("utun") && any.index() > 0, "{any:?}");
    let (ok, text) = tool("ifconfig", &[any.name().as_str()])?;
    ensure!(ok, "ifconfig does not know {}: {text}", any.name());
    // A chosen unit: the first free one above what exists.
    let chosen = (90..120).map(|n| format!("utun{n}")).find(|n| !tool("ifconfig", &[n]).map(|r| r.0).unwrap_or(true));
    let chosen = chosen.context("no free utun unit between 90 and 120")?;
    let dev = Device::with_name(&chosen)?;
    ensure!(dev.name().as_str() == chosen);
    let err = Device::with_name(&chosen).expect_err("a busy unit must fail");
    ensure!(err.kind() == ErrorKind::Busy, "a busy unit gave {:?}: {err}", err.kind());
    dev.set_max_pending_packets(64)?;
    ensure!(dev.max_pending_packets()? == 64);
    drop(dev);
    let (ok, _) = tool("ifconfig", &[&chosen])?;
    ensure!(!ok, "{chosen} still exists after the device was dropped");
    Ok(())
}

#[test]
#[ignore = "needs root on macOS"]
fn configuration_is_what_ifconfig_and_netstat_show() -> Result<()> {
    let tun = builder()?.build()?;
    let name = tun.name();
    let (_, ifc) = tool("ifconfig", &[name.as_str()])?;
    for want in ["inet 10.0.0.1 --> 10.0.0.2", "inet6 fd00::1 --> fd00::2", "mtu 1400", "UP"] {
        ensure!(ifc.contains(want), "ifconfig {name} lacks {want:?}:\n{ifc}");
    }
    let (_, routes) = tool("netstat", &["-rn"])?;
    ensure!(routes.lines().any(|l| l.starts_with("10.9/16") && l.contains(name.as_str())), "netstat -rn:\n{routes}");
    ensure!(routes.lines().any(|l| l.starts_with("fd09::/64") && l.contains(name.as_str())), "netstat -rn:\n{routes}");
    let (_, get) = tool("route", &["-n", "get", "10.9.1.1"])?;
    ensure!(get.contains(&format!("interface: {name}")), "route -n get 10.9.1.1:\n{get}");
    let entry = RouteTable::open()?.get(ip("10.9.1.1"))?;
    ensure!(entry.interface_index == tun.device().index(), "{entry:?}");
    drop(tun);
    let (ok, _) = tool("ifconfig", &[name.as_str()])?;
    ensure!(!ok, "{name} still exists");
    let (_, routes) = tool("netstat", &["-rn"])?;
    ensure!(!routes.contains(name.as_str()), "routes through {name} remain:\n{routes}");
    Ok(())
}

#[test]
#[ignore = "needs root on macOS"]
fn ping_is_answered_over_ipv4_and_ipv6() -> Result<()> {
    let responder = Responder::start(Arc::new(builder()?.build()?));
    let mut failures = Vec::new();
    for (cmd, target) in [("ping", "10.0.0.2"), ("ping", "10.9.1.1"), ("ping6", "fd00::2"), ("ping6", "fd09::1")] {
        let (ok, text) = tool(cmd, &["-c", "5", "-i", "0.2", target])?;
        if !ok || !text.contains("5 packets received, 0.0% packet loss") {
            failures.push(format!("{cmd} {target}:\n{text}"));
        }
    }
    let served = responder.finish()?;
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    ensure!(served.answered == 20, "answered {}", served.answered);
    Ok(())
}

/// Whether `packet` is one of the test's datagrams: IPv4/UDP to 10.0.0.2:9
/// ending with `tag` and a 4-byte sequence number; returns that number.
fn tagged(packet: &[u8], tag: &[u8]) -> Option<u32> {
    let ihl = usize::from(*packet.first()? & 0x0f) * 4;
    let udp = packet.get(ihl..)?;
    let to_peer = packet[0] >> 4 == 4 && packet.get(9) == Some(&17) && packet.get(16..20) == Some(&[10, 0, 0, 2]);
    let seq = udp.len().checked_sub(4).and_then(|at| udp.get(at..))?;
    let body = udp.get(8..udp.len() - 4)?;
    (to_peer && udp.get(2..4) == Some(&9u16.to_be_bytes()) && body == tag)
        .then(|| u32::from_be_bytes([seq[0], seq[1], seq[2], seq[3]]))
}

#[test]
#[ignore = "needs root on macOS"]
fn the_async_device_leaves_kqueue_while_busy_and_answers_ping_after_waiting() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let _in_runtime = runtime.enter();
    let (device, _cleanup) = builder()?.build()?.into_parts();
    device.set_max_pending_packets(256)?;
    let dev = AsyncDevice::new(device)?;
    ensure!(dev.is_registered());
    // Datagrams to the peer queue up on the utun before anything reads.
    let socket = UdpSocket::bind("10.0.0.1:0")?;
    let tag = b"utun async test";
    let count = 100u32;
    for seq in 0..count {
        socket.send_to(&[&tag[..], &seq.to_be_bytes()].concat(), "10.0.0.2:9")?;
    }
    // Read back in order, each found waiting: the device leaves kqueue.
    let mut buf = [0u8; 1500];
    let mut next = 0;
    while next < count {
        let n = runtime.block_on(tokio::time::timeout(Duration::from_secs(5), dev.recv(&mut buf)));
        let n = n.context("a queued datagram did not come within 5 s")??;
        if let Some(seq) = tagged(&buf[..n], tag) {
            ensure!(seq == next, "datagram {seq} where {next} was due");
            next += 1;
        }
    }
    ensure!(!dev.is_registered(), "still registered after {count} reads that found a packet waiting");
    // Nothing queued now: every recv waits (registering with kqueue again)
    // for the next echo request, and the replies go out through send.
    let mut ping = Command::new("ping").args(["-c", "3", "-i", "0.2", "-t", "10", "10.0.0.2"]).spawn()?;
    let answered = runtime.block_on(async {
        let mut answered = 0;
        while answered < 3 {
            let n = tokio::time::timeout(Duration::from_secs(10), dev.recv(&mut buf)).await??;
            if echo::reply_in_place(&mut buf[..n]) == Some("ICMP") {
                dev.send(&buf[..n]).await?;
                answered += 1;
            }
        }
        anyhow::Ok(answered)
    })?;
    ensure!(dev.is_registered(), "a recv that waited leaves the device registered");
    let status = ping.wait()?;
    ensure!(status.success() && answered == 3, "ping: {status}");
    Ok(())
}
