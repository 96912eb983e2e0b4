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

use std::net::IpAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, ensure};
use utun::{Device, ErrorKind, InterfaceAddress, IpNet, RouteTable, TunBuilder};

#[path = "../../utun/examples/ping_responder/echo.rs"]
#[allow(dead_code)]
mod echo;

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
    ensure!(entry.interface_index == tun.index(), "{entry:?}");
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
    let tun = Arc::new(builder()?.build()?);
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let (tun, stop) = (Arc::clone(&tun), Arc::clone(&stop));
        std::thread::spawn(move || echo::serve(tun.device(), &stop))
    };
    let mut failures = Vec::new();
    for (cmd, target) in [("ping", "10.0.0.2"), ("ping", "10.9.1.1"), ("ping6", "fd00::2"), ("ping6", "fd09::1")] {
        let (ok, text) = tool(cmd, &["-c", "5", "-i", "0.2", target])?;
        if !ok || !text.contains("5 packets received, 0.0% packet loss") {
            failures.push(format!("{cmd} {target}:\n{text}"));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let served = server.join().map_err(|_| anyhow::anyhow!("responder panicked"))??;
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    ensure!(served.answered == 20, "answered {}", served.answered);
    Ok(())
}
