//! A ping responder on a utun (macOS) or tun (Linux) device: the program the
//! macOS TUN guide builds by hand, done with the utun crate, with no
//! `ifconfig`, `route` or `ip`.
//!
//! ```text
//! ping_responder           create the device, give it 10.0.0.1 peer 10.0.0.2 and
//!                          fd00::1 peer fd00::2, route 10.9.0.0/16 and fd09::/64 into
//!                          it, and answer pings until interrupted (needs root)
//! ping_responder --demo    the whole story, printed step by step: on Linux inside a
//!                          network namespace it creates (it refuses to run without
//!                          one); on macOS on a real utun (run it with sudo). It runs
//!                          the real ping over IPv4 and IPv6, checks 0% loss, cleans
//!                          up and checks that nothing is left.
//! ```
//!
//! The namespace comes from `utun_tests::netns`, the echo replies from
//! `utun_tests::echo`: the code the end-to-end tests run.

use std::net::IpAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result, bail};
use utun::{InterfaceAddress, IpNet, RouteTable, TunBuilder};
use utun_tests::echo::{self, Responder};

const LOCAL_V4: &str = "10.0.0.1";
const PEER_V4: &str = "10.0.0.2";
const LOCAL_V6: &str = "fd00::1";
const PEER_V6: &str = "fd00::2";
const ROUTED_V4: &str = "10.9.0.0/16";
const ROUTED_V6: &str = "fd09::/64";

fn main() {
    let demo = std::env::args().any(|a| a == "--demo");
    if let Err(e) = if demo { run_demo() } else { run_responder() } {
        eprintln!("ping_responder: error: {e:#}");
        if e.chain().any(|c| c.downcast_ref::<utun::Error>().is_some_and(utun::Error::is_permission_denied)) {
            eprintln!("(this program creates a network interface: run it as root, e.g. with sudo)");
        }
        std::process::exit(1);
    }
}

fn builder() -> Result<TunBuilder> {
    let ip = |s: &str| s.parse::<IpAddr>().context("address");
    Ok(TunBuilder::new()
        .address(InterfaceAddress::new(ip(LOCAL_V4)?, 32)?.with_peer(ip(PEER_V4)?)?)
        .address(InterfaceAddress::new(ip(LOCAL_V6)?, 128)?.with_peer(ip(PEER_V6)?)?)
        .mtu(1400)
        .route(ROUTED_V4.parse::<IpNet>()?)
        .route(ROUTED_V6.parse::<IpNet>()?))
}

fn run_responder() -> Result<()> {
    let tun = builder()?.build()?;
    println!(
        "{} is up: {LOCAL_V4} peer {PEER_V4}, {LOCAL_V6} peer {PEER_V6}; routes {ROUTED_V4}, {ROUTED_V6}",
        tun.name()
    );
    println!("answering pings (try: ping {PEER_V4}); Ctrl-C to stop");
    let stop = AtomicBool::new(false);
    let served = echo::serve(tun.device(), &stop)?;
    println!("answered {} echo requests", served.answered);
    Ok(())
}

fn step(n: u32, text: impl std::fmt::Display) {
    println!("[{n}/8] {text}");
}

/// Moves this (still single-threaded) process into a new network namespace.
#[cfg(target_os = "linux")]
fn isolate() -> Result<()> {
    utun_tests::netns::Namespace::new().enter_process().context(
        "the demo refuses to run in the host's namespace. Run it as root (sudo) on a kernel that allows network \
         namespaces",
    )?;
    step(1, "network namespace: created with unshare(CLONE_NEWNET); nothing sent here can leave it");
    Ok(())
}

#[cfg(target_os = "macos")]
fn isolate() -> Result<()> {
    step(1, "macOS has no network namespaces: the demo uses a real utun, and its pings never leave this Mac");
    Ok(())
}

fn ping(v6: bool, target: &str) -> Result<String> {
    let mut cmd = if v6 && cfg!(target_os = "macos") { Command::new("ping6") } else { Command::new("ping") };
    if v6 && cfg!(target_os = "linux") {
        cmd.arg("-6");
    }
    cmd.args(["-c", "5", "-i", "0.2", target]);
    let out = cmd.output().context("running ping (Debian: iputils-ping)")?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let summary = text.lines().find(|l| l.contains("packets transmitted")).unwrap_or("").trim().to_string();
    if !out.status.success() || !summary.contains(" 0% packet loss") && !summary.contains(" 0.0% packet loss") {
        bail!("ping {target} lost packets: {summary}\n{text}{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(summary)
}

fn run_demo() -> Result<()> {
    isolate()?;
    let tun = Arc::new(builder()?.build()?);
    let name = tun.name();
    let index = tun.device().index();
    step(2, format_args!("device: created {name} (index {index})"));
    step(3, format_args!("addresses: {LOCAL_V4}/32 peer {PEER_V4}, {LOCAL_V6}/128 peer {PEER_V6}"));
    let iface = tun.device().interface();
    step(4, format_args!("MTU {}, up: {}", iface.mtu()?, iface.is_up()?));
    let mut table = RouteTable::open()?;
    let v4 = table.get("10.9.1.1".parse()?)?;
    let v6 = table.get("fd09::1".parse()?)?;
    if v4.interface_index != index || v6.interface_index != index {
        bail!("the routes do not lead into {name}: {v4:?} {v6:?}");
    }
    step(5, format_args!("routes: {ROUTED_V4} and {ROUTED_V6} through {name} (the kernel's lookup agrees)"));

    let responder = Responder::start(Arc::clone(&tun));
    step(6, format_args!("responder: answering ICMP and ICMPv6 echo requests on {name}"));
    let mut results = Vec::new();
    for (v6, target) in [(false, PEER_V4), (false, "10.9.1.1"), (true, PEER_V6), (true, "fd09::1")] {
        let summary = ping(v6, target);
        results.push((target, summary));
    }
    let served = responder.finish()?;
    for (target, summary) in &results {
        match summary {
            Ok(s) => println!("      ping {target}: {s}"),
            Err(e) => println!("      ping {target}: FAILED: {e:#}"),
        }
    }
    if results.iter().any(|(_, r)| r.is_err()) {
        bail!("some pings were not answered");
    }
    step(7, format_args!("ping: every echo request answered ({} replies sent), 0% loss", served.answered));

    let tun = Arc::into_inner(tun).context("the device is still shared")?;
    drop(tun);
    let gone = utun::Interface::by_name(name.as_str()).is_err();
    let routes_gone = table.get("10.9.1.1".parse()?).map(|e| e.interface_index != v4.interface_index).unwrap_or(true);
    if !gone || !routes_gone {
        bail!("clean-up left something behind: interface gone {gone}, routes gone {routes_gone}");
    }
    step(
        8,
        format_args!("clean up: routes and addresses removed, {name} closed; the interface and its routes are gone"),
    );
    Ok(())
}
