//! The cases (those about addresses and routes in routing.rs). Each runs
//! inside a network namespace of its own (`utun_tests::netns`, through
//! `utun_tests::suite`).

use std::net::IpAddr;
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use utun::{Device, ErrorKind, Interface, InterfaceAddress, IpNet, Tun, TunBuilder};
use utun_tests::echo::{Responder, Served};
use utun_tests::packet::bare_ipv4;
use utun_tests::suite::Case;

use crate::routing::{
    addresses_match_kernel, bad_addresses, guard_cleans_up, route_through_gone_interface, routes_round_trip,
    wait_for_route,
};
use crate::{flood, guard, kernel, truthful, undo};

/// A literal address.
pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("a literal address")
}

/// A literal network.
pub fn net(s: &str) -> IpNet {
    s.parse().expect("a literal network")
}

/// An interface address, with a peer or not.
pub fn addr(a: &str, prefix: u8, peer: Option<&str>) -> Result<InterfaceAddress> {
    let a = InterfaceAddress::new(ip(a), prefix)?;
    Ok(match peer {
        Some(p) => a.with_peer(ip(p))?,
        None => a,
    })
}

/// Runs the real `ping` (5 echo requests) and checks that all were answered.
fn ping_all_answered(v6: bool, target: &str) -> Result<String> {
    let mut cmd = Command::new("ping");
    if v6 {
        cmd.arg("-6");
    }
    let out = cmd.args(["-c", "5", "-i", "0.2", "-W", "2", target]).output().context("running ping (iputils-ping)")?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let summary = text.lines().find(|l| l.contains("packets transmitted")).unwrap_or_default().to_string();
    ensure!(
        out.status.success() && summary.starts_with("5 packets transmitted, 5 received, 0% packet loss"),
        "ping {target}: {summary}\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(summary)
}

/// Serves echo requests on `tun` while `f` runs.
fn with_responder(tun: Tun, f: impl FnOnce(&Tun) -> Result<()>) -> Result<Served> {
    let tun = Arc::new(tun);
    let responder = Responder::start(Arc::clone(&tun));
    let result = f(&tun);
    let served = responder.finish()?;
    result.map(|()| served)
}

/// Every case, by name.
pub fn all() -> Vec<(&'static str, Case)> {
    vec![
        ("device_has_the_name_and_index_the_kernel_reports", device_name_and_index as Case),
        ("closing_the_device_removes_the_interface", close_removes_interface),
        ("a_taken_name_is_busy_and_nothing_is_created", taken_name_is_busy),
        ("a_too_long_name_is_invalid_input_and_nothing_is_created", too_long_name),
        ("mtu_set_and_get_match_the_kernel", mtu_matches_kernel),
        ("an_mtu_the_kernel_refuses_is_invalid_input", bad_mtu),
        ("up_and_down_change_only_iff_up", up_down),
        ("bad_packets_are_refused_and_nothing_is_written", bad_packets_write_nothing),
        ("without_root_the_error_says_root_is_needed", unprivileged),
        ("ipv4_ping_through_the_device_is_answered_with_no_loss", ipv4_ping),
        ("ipv6_ping_through_the_device_is_answered_with_no_loss", ipv6_ping),
        ("addresses_match_what_the_kernel_reports", addresses_match_kernel),
        ("bad_addresses_are_refused_and_nothing_is_added", bad_addresses),
        ("routes_are_added_looked_up_and_deleted_ipv4", || routes_round_trip(false)),
        ("routes_are_added_looked_up_and_deleted_ipv6", || routes_round_trip(true)),
        ("a_route_through_a_gone_interface_is_not_found", route_through_gone_interface),
        ("the_guard_removes_what_it_added_when_dropped", guard_cleans_up),
        ("a_failed_build_leaves_nothing_behind", failed_build_leaves_nothing),
        ("a_buffer_too_small_for_the_waiting_packet_is_an_error", buffer_too_small),
        ("a_persistent_tun_of_that_name_is_busy_and_left_alone", persistent_tun_is_busy),
        ("attach_joins_a_persistent_tun_which_outlives_the_device", attach_to_a_persistent_tun),
        ("the_guard_leaves_a_namesake_alone_after_into_parts", guard::namesake_after_into_parts),
        ("the_guard_leaves_alone_a_namesake_of_a_renamed_interface", guard::namesake_after_a_rename),
        ("the_guard_leaves_alone_a_namesake_that_replaced_its_interface", guard::namesake_replacing_the_interface),
        ("the_guard_deletes_its_own_route_not_another_programs", guard::another_programs_route_is_kept),
        ("the_guard_leaves_a_route_deleted_and_added_again", guard::a_route_deleted_and_added_again_is_kept),
        ("undo_with_no_descriptor_left_undoes_everything", undo::undo_without_descriptors),
        ("a_failed_undo_keeps_what_is_left_and_a_retry_undoes_it", undo::undo_retry),
        ("calls_return_in_time_through_a_flood_of_forged_netlink_messages", flood::forged_flood),
        ("names_linux_accepts_are_accepted_and_dot_names_are_invalid_not_busy", truthful::names_as_linux_takes_them),
        ("unassignable_addresses_are_invalid_input_not_not_found", truthful::unassignable_addresses_are_invalid),
        ("recv_into_an_empty_buffer_is_invalid_input_and_loses_nothing", truthful::recv_into_an_empty_buffer),
        ("an_ipv4_address_of_0_0_0_0_is_invalid_not_silently_ignored", truthful::unspecified_ipv4_address_is_refused),
        (
            "an_mtu_below_1280_drops_ipv6_addresses_for_good_as_documented",
            truthful::a_small_mtu_drops_ipv6_addresses_for_good,
        ),
        (
            "the_guard_and_the_builder_refuse_an_mtu_below_1280_with_ipv6_addresses",
            truthful::a_small_mtu_that_would_drop_ipv6_addresses_is_refused,
        ),
    ]
}

/// Runs in a child process (`UTUN_E2E_CHILD=mode`); returns its exit code.
pub fn child(mode: &str) -> i32 {
    let result = match mode {
        "unprivileged" => unprivileged_child(),
        "undo_without_descriptors" => undo::undo_without_descriptors_child(),
        "undo_retry" => undo::undo_retry_child(),
        other => Err(anyhow::anyhow!("unknown child mode {other}")),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("child {mode}: {e:#}");
            1
        }
    }
}

/// The error of `result`, which must be of `kind`.
pub fn expect_kind<T: std::fmt::Debug>(result: utun::Result<T>, kind: ErrorKind) -> Result<utun::Error> {
    match result {
        Ok(v) => bail!("expected a {kind:?} error, got Ok({v:?})"),
        Err(e) if e.kind() == kind => Ok(e),
        Err(e) => bail!("expected a {kind:?} error, got {:?}: {e}", e.kind()),
    }
}

fn device_name_and_index() -> Result<()> {
    let dev = Device::new()?;
    let link = kernel::link(dev.name().as_str())?;
    ensure!(link["ifindex"].as_u64() == Some(u64::from(dev.index())), "index {} vs ip: {link}", dev.index());
    ensure!(dev.name().as_str().starts_with("tun"), "kernel-chosen name {}", dev.name());
    let named = Device::with_name("utuntest7")?;
    ensure!(named.name().as_str() == "utuntest7");
    ensure!(kernel::link_exists("utuntest7")?);
    Ok(())
}

fn close_removes_interface() -> Result<()> {
    let dev = Device::with_name("gone0")?;
    ensure!(kernel::link_exists("gone0")?);
    drop(dev);
    ensure!(kernel::gone_soon("gone0")?, "gone0 still exists after the device was dropped");
    Ok(())
}

fn taken_name_is_busy() -> Result<()> {
    let before = kernel::link_names()?;
    let err = expect_kind(Device::with_name("lo"), ErrorKind::Busy)?;
    ensure!(err.to_string().contains("lo"), "{err}");
    let first = Device::with_name("busy0")?;
    let err = expect_kind(Device::with_name("busy0"), ErrorKind::Busy)?;
    ensure!(err.interface().map(|n| n.as_str()) == Some("busy0"), "{err}");
    drop(first);
    ensure!(kernel::gone_soon("busy0")?, "busy0 still exists after the device was dropped");
    ensure!(kernel::link_names()? == before, "interfaces changed: {:?}", kernel::link_names()?);
    Ok(())
}

/// A persistent tun (`ip tuntap add`) is an interface of that name: the
/// device must not attach to it (it would outlive the device).
fn persistent_tun_is_busy() -> Result<()> {
    kernel::ip(&["tuntap", "add", "dev", "ptun0", "mode", "tun"])?;
    let checked = (|| {
        let before = kernel::link("ptun0")?;
        let err = expect_kind(Device::with_name("ptun0"), ErrorKind::Busy)?;
        ensure!(err.interface().map(|n| n.as_str()) == Some("ptun0"), "{err}");
        // Never attached: no carrier came up, and it is the same interface.
        let after = kernel::link("ptun0")?;
        ensure!(after["flags"] == before["flags"] && after["ifindex"] == before["ifindex"], "{before} became {after}");
        Ok(())
    })();
    kernel::tuntap_del("ptun0")?;
    checked
}

/// `Device::attach` joins a persistent tun, which outlives the device; it
/// never makes an interface, nor joins one that is not a free tun.
fn attach_to_a_persistent_tun() -> Result<()> {
    expect_kind(Device::attach("ptun1"), ErrorKind::NotFound)?;
    ensure!(!kernel::link_exists("ptun1")?, "attach made an interface");
    kernel::ip(&["tuntap", "add", "dev", "ptun1", "mode", "tun"])?;
    let checked = (|| {
        let index = kernel::link("ptun1")?["ifindex"].as_u64();
        let dev = Device::attach("ptun1")?;
        ensure!(dev.name().as_str() == "ptun1" && Some(u64::from(dev.index())) == index, "{dev:?}");
        expect_kind(Device::attach("ptun1"), ErrorKind::Busy)?;
        drop(dev);
        ensure!(kernel::link("ptun1")?["ifindex"].as_u64() == index, "the persistent tun went with the device");
        expect_kind(Device::attach("lo"), ErrorKind::InvalidInput)?;
        Ok(())
    })();
    kernel::tuntap_del("ptun1")?;
    checked
}

fn too_long_name() -> Result<()> {
    let before = kernel::link_names()?;
    let long = "t".repeat(utun_sys::IFNAMSIZ as usize);
    let err = expect_kind(Device::with_name(&long), ErrorKind::InvalidInput)?;
    ensure!(err.to_string().contains("longer than"), "{err}");
    ensure!(kernel::link_names()? == before);
    Ok(())
}

fn mtu_matches_kernel() -> Result<()> {
    let dev = Device::new()?;
    let iface = dev.interface();
    let reported = kernel::link(dev.name().as_str())?["mtu"].as_u64().context("mtu")?;
    ensure!(u64::from(iface.mtu()?) == reported);
    iface.set_mtu(1400)?;
    ensure!(kernel::link(dev.name().as_str())?["mtu"].as_u64() == Some(1400));
    ensure!(iface.mtu()? == 1400);
    Ok(())
}

fn bad_mtu() -> Result<()> {
    let dev = Device::new()?;
    let iface = dev.interface();
    let before = iface.mtu()?;
    for mtu in [0, u32::from(u16::MAX) + 1, u32::MAX] {
        let err = expect_kind(iface.set_mtu(mtu), ErrorKind::InvalidInput)?;
        ensure!(err.interface() == Some(&dev.name()), "{err}");
        ensure!(iface.mtu()? == before, "MTU changed after a refused set_mtu({mtu})");
    }
    Ok(())
}

fn up_down() -> Result<()> {
    let dev = Device::new()?;
    let iface = dev.interface();
    let name = dev.name();
    let others = |f: Vec<String>| f.into_iter().filter(|f| f != "UP" && f != "LOWER_UP").collect::<Vec<_>>();
    let before = kernel::flags(name.as_str())?;
    ensure!(!before.contains(&"UP".to_string()) && !iface.is_up()?);
    iface.set_up(true)?;
    let up = kernel::flags(name.as_str())?;
    ensure!(up.contains(&"UP".to_string()) && iface.is_up()?, "{up:?}");
    ensure!(others(up) == others(before.clone()), "other flags changed");
    iface.set_up(false)?;
    ensure!(!kernel::flags(name.as_str())?.contains(&"UP".to_string()) && !iface.is_up()?);
    Ok(())
}

fn bad_packets_write_nothing() -> Result<()> {
    let dev = Device::new()?;
    dev.interface().set_up(true)?;
    let name = dev.name();
    let before = kernel::rx_packets(name.as_str())?;
    let mut unknown = bare_ipv4(40);
    unknown[0] = 0x75;
    let cases: [(&str, Vec<u8>, ErrorKind); 5] = [
        ("empty", Vec::new(), ErrorKind::MalformedPacket),
        ("truncated", bare_ipv4(60)[..30].to_vec(), ErrorKind::MalformedPacket),
        ("shorter than a header", vec![0x45; 8], ErrorKind::MalformedPacket),
        ("unknown IP version", unknown, ErrorKind::MalformedPacket),
        ("larger than IP carries", vec![0x45; usize::from(u16::MAX) + 1], ErrorKind::PacketTooLarge),
    ];
    for (what, packet, kind) in cases {
        let err = expect_kind(dev.send(&packet), kind).with_context(|| what.to_string())?;
        ensure!(err.interface() == Some(&name), "{what}: {err}");
    }
    ensure!(kernel::rx_packets(name.as_str())? == before, "a refused packet reached the interface");
    // A good packet does reach it: the counter can move.
    dev.send(&bare_ipv4(28))?;
    ensure!(kernel::rx_packets(name.as_str())? == before + 1, "the good packet was not counted");
    Ok(())
}

fn unprivileged() -> Result<()> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe).env(crate::CHILD_ENV, "unprivileged").output()?;
    ensure!(
        out.status.success(),
        "the unprivileged child failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// In a child process: drop to `nobody`, then every privileged call must fail
/// with PermissionDenied and a message that says root is needed.
fn unprivileged_child() -> Result<()> {
    let lo = Interface::by_name("lo")?;
    // SAFETY: plain id changes in a single-threaded child process.
    unsafe {
        ensure!(libc::setgroups(0, std::ptr::null()) == 0, "setgroups");
        ensure!(libc::setgid(65534) == 0 && libc::setuid(65534) == 0, "dropping to nobody");
    }
    let err = expect_kind(Device::new(), ErrorKind::PermissionDenied)?;
    ensure!(err.is_permission_denied() && err.to_string().contains("needs root"), "{err}");
    let err = expect_kind(lo.set_mtu(1500), ErrorKind::PermissionDenied)?;
    ensure!(err.to_string().contains("needs root"), "{err}");
    Ok(())
}

fn ipv4_ping() -> Result<()> {
    let tun = TunBuilder::new().address(addr("10.0.0.1", 32, Some("10.0.0.2"))?).route(net("10.9.0.0/16")).build()?;
    let served = with_responder(tun, |_| {
        ping_all_answered(false, "10.0.0.2")?;
        ping_all_answered(false, "10.9.1.1")?;
        Ok(())
    })?;
    ensure!(served.answered == 10, "answered {} echo requests, expected 10", served.answered);
    Ok(())
}

fn ipv6_ping() -> Result<()> {
    let tun = TunBuilder::new().address(addr("fd00::1", 128, Some("fd00::2"))?).route(net("fd09::/64")).build()?;
    // Until the kernel has added the route to the peer, ping fd00::2 fails
    // with "Network is unreachable".
    wait_for_route(ip("fd00::2"), tun.device().index())?;
    let served = with_responder(tun, |_| {
        ping_all_answered(true, "fd00::2")?;
        ping_all_answered(true, "fd09::1")?;
        Ok(())
    })?;
    ensure!(served.answered == 10, "answered {} echo requests, expected 10", served.answered);
    Ok(())
}

fn failed_build_leaves_nothing() -> Result<()> {
    let before = kernel::link_names()?;
    // The gateway is not reachable through anything: the kernel refuses the
    // last step, and every earlier one must be undone.
    let result = TunBuilder::new()
        .name("fail0")
        .address(addr("10.0.0.1", 32, Some("10.0.0.2"))?)
        .route(net("10.9.0.0/16"))
        .route_via(net("10.7.0.0/16"), ip("192.0.2.1"))
        .build();
    let err = expect_kind(result, ErrorKind::NetworkUnreachable)?;
    ensure!(err.to_string().contains("192.0.2.1"), "{err}");
    ensure!(kernel::gone_soon("fail0")?, "fail0 was left behind");
    ensure!(kernel::link_names()? == before, "an interface was left behind: {:?}", kernel::link_names()?);
    let all = kernel::ip_json(&["route", "show"])?;
    ensure!(!all.to_string().contains("10.9.0.0"), "a route was left behind: {all}");
    Ok(())
}

fn buffer_too_small() -> Result<()> {
    // Nothing but ping's echo requests on the device: no router
    // solicitation or MLD report of the kernel's own comes first.
    utun_tests::netns::disable_ipv6()?;
    let tun = TunBuilder::new().address(addr("10.0.0.1", 32, Some("10.0.0.2"))?).build()?;
    // One echo request goes into the device; nobody answers it.
    let mut ping = Command::new("ping").args(["-c", "2", "-i", "0.5", "-W", "1", "10.0.0.2"]).spawn()?;
    let mut small = [0u8; 16];
    let err = expect_kind(tun.device().recv(&mut small), ErrorKind::BufferTooSmall)?;
    ensure!(err.to_string().contains("limit 16"), "{err}");
    // The next packet fits a proper buffer, whole.
    let mut buf = [0u8; 2048];
    let n = tun.device().recv(&mut buf)?;
    let total = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    ensure!(buf[0] >> 4 == 4 && n == total, "read {n} bytes of a {total}-byte packet");
    let _ = ping.wait();
    Ok(())
}
