//! The cases. Each runs inside its own network namespace (see netns.rs).

use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use utun::{Device, ErrorKind, Interface};

use crate::kernel;

/// A test case: runs inside a fresh namespace.
pub type Case = fn() -> Result<()>;

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
    ]
}

/// Runs in a child process (`UTUN_E2E_CHILD=mode`); returns its exit code.
pub fn child(mode: &str) -> i32 {
    let result = match mode {
        "unprivileged" => unprivileged_child(),
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

fn expect_kind<T: std::fmt::Debug>(result: utun::Result<T>, kind: ErrorKind) -> Result<utun::Error> {
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
    ensure!(!kernel::link_exists("gone0")?, "gone0 still exists after the device was dropped");
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
    ensure!(kernel::link_names()? == before, "interfaces changed: {:?}", kernel::link_names()?);
    Ok(())
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

/// A minimal IPv4 header of `len` bytes.
fn ipv4(len: usize) -> Vec<u8> {
    let mut p = vec![0u8; len];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    p
}

fn bad_packets_write_nothing() -> Result<()> {
    let dev = Device::new()?;
    dev.interface().set_up(true)?;
    let name = dev.name();
    let before = kernel::rx_packets(name.as_str())?;
    let mut unknown = ipv4(40);
    unknown[0] = 0x75;
    let cases: [(&str, Vec<u8>, ErrorKind); 5] = [
        ("empty", Vec::new(), ErrorKind::MalformedPacket),
        ("truncated", ipv4(60)[..30].to_vec(), ErrorKind::MalformedPacket),
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
    dev.send(&ipv4(28))?;
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
