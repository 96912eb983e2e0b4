//! Adopted, borrowed and found devices on a real utun: `Device::from_fd`,
//! `Device::borrow_fd`, the descriptor scan (`Device::find_tunnel_fd`, what
//! an iOS Network Extension's process does), and the `privsep` example.
//!
//! The checks rest on XNU's kernel control (bsd/kern/kern_control.c):
//! `ctl_peeraddr` answers `getpeername` on a connected control socket with a
//! `sockaddr_ctl` (`AF_SYSTEM`, `AF_SYS_CONTROL`, the control's `sc_id`),
//! and `CTLIOCGINFO` (`ctl_ioctl`) gives the utun control's id.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use utun::{BorrowedDevice, Device, ErrorKind, TunBuilder};
use utun_tests::echo::Responder;

use super::{ip, tool};

/// `fcntl(F_GETFD)` answers: the descriptor is open.
fn is_open(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: F_GETFD takes no argument and only reads the descriptor's flags.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) != -1 }
}

fn ping_answered(count: usize) -> Result<()> {
    let (ok, text) = tool("ping", &["-c", &count.to_string(), "-i", "0.2", "-t", "10", "10.0.0.2"])?;
    ensure!(ok && text.contains(&format!("{count} packets received, 0.0% packet loss")), "ping:\n{text}");
    Ok(())
}

fn tun() -> Result<utun::Tun> {
    let address = utun::InterfaceAddress::new(ip("10.0.0.1"), 32)?.with_peer(ip("10.0.0.2"))?;
    Ok(TunBuilder::new().address(address).build()?)
}

#[test]
#[ignore = "needs root on macOS"]
fn an_adopted_descriptor_is_the_same_utun_and_answers_ping() -> Result<()> {
    let (device, cleanup) = tun()?.into_parts();
    let (name, index) = (device.name(), device.index());
    let adopted = Device::from_fd(OwnedFd::from(device))?;
    ensure!(adopted.name() == name && adopted.index() == index, "{adopted:?}");
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| -> Result<()> {
        let serving = s.spawn(|| utun_tests::echo::serve(&adopted, &stop));
        let pinged = ping_answered(3);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let served = serving.join().map_err(|_| anyhow::anyhow!("the responder panicked"))??;
        pinged?;
        ensure!(served.answered == 3, "answered {}", served.answered);
        Ok(())
    })?;
    drop(cleanup);
    drop(adopted);
    let (exists, _) = tool("ifconfig", &[name.as_str()])?;
    ensure!(!exists, "{name} outlived the adopted device that owned it");
    Ok(())
}

#[test]
#[ignore = "needs root on macOS"]
fn a_borrowed_device_answers_ping_and_leaves_the_descriptor_open() -> Result<()> {
    let tun = Arc::new(tun()?);
    {
        let borrowed: BorrowedDevice<'_> = Device::borrow_fd(tun.device().as_fd())?;
        ensure!(borrowed.name() == tun.name() && borrowed.index() == tun.index());
    } // the borrowed device goes here
    ensure!(is_open(tun.device().as_fd()), "the borrowed device closed the descriptor");
    let responder = Responder::start(Arc::clone(&tun));
    let pinged = ping_answered(3);
    let served = responder.finish()?;
    pinged?;
    ensure!(served.answered == 3);
    Ok(())
}

#[test]
#[ignore = "needs root on macOS"]
fn a_descriptor_that_is_no_utun_is_invalid_input_naming_what_it_is() -> Result<()> {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let err = Device::borrow_fd(udp.as_fd()).expect_err("a UDP socket is no utun");
    ensure!(err.kind() == ErrorKind::InvalidInput && err.to_string().contains("an IPv4 datagram socket"), "{err}");
    let null = std::fs::File::open("/dev/null")?;
    let err = Device::from_fd(OwnedFd::from(null)).expect_err("/dev/null is no utun");
    ensure!(err.kind() == ErrorKind::InvalidInput && err.to_string().contains("a character device"), "{err}");
    Ok(())
}

#[test]
#[ignore = "needs root on macOS"]
fn the_descriptor_scan_finds_the_utun_and_ignores_other_sockets() -> Result<()> {
    // Other sockets first, so that they have the lower numbers.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let (_a, _b) = std::os::unix::net::UnixStream::pair()?;
    // No utun of this process yet (the tests run one at a time and close theirs).
    match Device::find_tunnel_fd() {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        other => anyhow::bail!("before any utun of this test: {other:?}"),
    }
    let dev = Device::new()?;
    let found = Device::find_tunnel_fd()?;
    ensure!(found == dev.as_raw_fd(), "found descriptor {found}, the utun is {}", dev.as_raw_fd());
    ensure!(found != udp.as_raw_fd());
    {
        // SAFETY: the descriptor found is `dev`'s, which outlives `tunnel`.
        let tunnel = unsafe { BorrowedDevice::find_tunnel() }?;
        ensure!(tunnel.name() == dev.name() && tunnel.index() == dev.index(), "{tunnel:?}");
    } // the borrowed device goes here
    ensure!(is_open(dev.as_fd()));
    drop(dev);
    let err = Device::find_tunnel_fd().expect_err("no utun left");
    ensure!(err.kind() == ErrorKind::NotFound, "{err}");
    Ok(())
}

/// The `privsep` example, as CI builds it (`cargo build -p utun-tests
/// --examples`, a step before these tests): root creates the utun, a child
/// as `nobody` adopts it and answers ping.
#[test]
#[ignore = "needs root on macOS"]
fn the_privsep_example_answers_ping_from_a_nobody_child() -> Result<()> {
    let exe = std::env::current_exe()?;
    let exe = exe.parent().and_then(|deps| deps.parent()).context("the target directory")?.join("examples/privsep");
    ensure!(exe.exists(), "{} is not built: cargo build -p utun-tests --examples", exe.display());
    let out = Command::new(&exe).output()?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    ensure!(
        out.status.success() && text.contains("child: adopted") && text.contains("child: answered 3 echo requests"),
        "privsep: {}\n{text}",
        out.status
    );
    Ok(())
}
