//! Adopted and borrowed devices (`Device::from_fd`, `Device::borrow_fd`),
//! every wrong descriptor's error, and the `privsep` example end to end.

use std::ffi::c_short;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, ensure};
use libtest_mimic::{Completion, Trial};
use utun::{BorrowedDevice, Device, ErrorKind, TunBuilder};
use utun_tests::echo;
use utun_tests::suite::Case;

use crate::cases::{addr, expect_kind};
use crate::kernel;

/// Every case, by name.
pub fn all() -> Vec<(&'static str, Case)> {
    vec![
        ("an_adopted_descriptor_is_the_same_device_and_answers_ping", adopted_answers_ping as Case),
        ("a_borrowed_device_answers_ping_and_leaves_the_descriptor_open", borrowed_leaves_open),
        ("a_descriptor_that_is_no_tun_is_invalid_input_naming_what_it_is", wrong_descriptors),
        ("a_tun_with_framing_the_crate_does_not_speak_is_invalid_input", wrong_framing),
    ]
}

/// Runs `ping -c 3` to 10.0.0.2 while `dev` answers; both ways: the requests
/// come out of the device, the replies go into it.
pub(crate) fn ping_through<Fd: AsFd + Sync>(dev: &Device<Fd>) -> Result<u64> {
    let stop = AtomicBool::new(false);
    let (out, served) = std::thread::scope(|s| {
        let responder = s.spawn(|| echo::serve(dev, &stop));
        let out = Command::new("ping").args(["-c", "3", "-i", "0.2", "-W", "2", "10.0.0.2"]).output();
        stop.store(true, Ordering::Relaxed);
        (out, responder.join())
    });
    let out = out.context("running ping")?;
    let served = served.map_err(|_| anyhow::anyhow!("the responder panicked"))??;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(out.status.success() && text.contains("3 packets transmitted, 3 received"), "ping:\n{text}");
    Ok(served.answered)
}

fn adopted_answers_ping() -> Result<()> {
    let tun = TunBuilder::new().address(addr("10.0.0.1", 32, Some("10.0.0.2"))?).build()?;
    let (device, _cleanup) = tun.into_parts();
    let (name, index) = (device.name(), device.index());
    let fd = OwnedFd::from(device);
    let adopted = Device::from_fd(fd)?;
    ensure!(adopted.name() == name && adopted.index() == index, "{adopted:?} is not {name} (index {index})");
    ensure!(kernel::link(name.as_str())?["ifindex"].as_u64() == Some(u64::from(index)));
    ensure!(cloexec(adopted.as_fd())?, "an adopted descriptor is close-on-exec");
    ensure!(ping_through(&adopted)? == 3);
    // The same through TryFrom.
    let again = Device::try_from(OwnedFd::from(adopted))?;
    ensure!(again.name() == name && again.index() == index);
    drop(again);
    ensure!(kernel::gone_soon(name.as_str())?, "{name} outlived the adopted device that owned it");
    Ok(())
}

/// `fcntl(F_GETFD)` has `FD_CLOEXEC`; an error when the descriptor is not open.
fn cloexec(fd: BorrowedFd<'_>) -> Result<bool> {
    Ok(rustix::io::fcntl_getfd(fd).context("fcntl(F_GETFD)")?.contains(rustix::io::FdFlags::CLOEXEC))
}

fn borrowed_leaves_open() -> Result<()> {
    let tun = TunBuilder::new().address(addr("10.0.0.1", 32, Some("10.0.0.2"))?).build()?;
    let owner = tun.device();
    {
        let borrowed: BorrowedDevice<'_> = Device::borrow_fd(owner.as_fd())?;
        ensure!(borrowed.name() == owner.name() && borrowed.index() == owner.index(), "{borrowed:?}");
        ensure!(borrowed.as_raw_fd() == owner.as_raw_fd());
        ensure!(ping_through(&borrowed)? == 3);
    } // the borrowed device goes here
    // Still open, still the device: F_GETFD answers, the interface is there,
    // and the owner still carries packets.
    cloexec(owner.as_fd()).context("the descriptor was closed with the borrowed device")?;
    ensure!(kernel::link_exists(owner.name().as_str())?);
    {
        let view = BorrowedDevice::try_from(owner.as_fd())?;
        ensure!(view.index() == owner.index());
    }
    cloexec(owner.as_fd())?;
    ensure!(ping_through(owner)? == 3);
    Ok(())
}

/// The message of an `InvalidInput` error from adopting `fd`, which must
/// contain `says`. Checks both forms: borrowed (the descriptor stays open)
/// and owned (a copy, closed with the error).
fn refused(fd: BorrowedFd<'_>, says: &str) -> Result<()> {
    let err = expect_kind(Device::borrow_fd(fd), ErrorKind::InvalidInput)?;
    ensure!(err.to_string().contains(says), "{err}");
    cloexec(fd).context("a refused borrowed descriptor stays open")?;
    let copy = fd.try_clone_to_owned()?;
    let err = expect_kind(Device::from_fd(copy), ErrorKind::InvalidInput)?;
    ensure!(err.to_string().contains(says) && err.op() == utun::Op::AdoptDevice, "{err}");
    Ok(())
}

fn wrong_descriptors() -> Result<()> {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
    refused(udp.as_fd(), "an IPv4 datagram socket, not a tun device")?;
    let null = std::fs::File::open("/dev/null")?;
    refused(null.as_fd(), "a character device (/dev/null), not a tun device")?;
    let file = std::fs::File::open(std::env::current_exe()?)?;
    refused(file.as_fd(), "a regular file")?;
    let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    refused(a.as_fd(), "a Unix-domain stream socket")?;
    // /dev/net/tun with no TUNSETIFF: attached to no interface.
    let unattached = open_tun()?;
    refused(unattached.as_fd(), "attached to no interface")?;
    // A number no descriptor has: just under the limit, checked closed.
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one `struct rlimit`, which `limit` is.
    ensure!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0, "getrlimit(RLIMIT_NOFILE)");
    let number = i32::try_from(limit.rlim_cur.min(1 << 20) - 1)?;
    // SAFETY: only F_GETFD, to see that the number is not open.
    ensure!(rustix::io::fcntl_getfd(unsafe { BorrowedFd::borrow_raw(number) }).is_err(), "{number} is open");
    // SAFETY: (for the test) a number that is not open; the library's check
    // only asks the kernel about it (TUNGETIFF, fstat), which answers EBADF.
    let closed = unsafe { BorrowedFd::borrow_raw(number) };
    let err = expect_kind(Device::borrow_fd(closed), ErrorKind::InvalidInput)?;
    ensure!(err.to_string().contains("not an open descriptor") && err.raw_os_error() == Some(libc::EBADF), "{err}");
    Ok(())
}

fn wrong_framing() -> Result<()> {
    let flags = |f: u32| -> Result<c_short> { Ok(u16::try_from(f)? as c_short) };
    let tap = tun_with(flags(utun_sys::IFF_TAP | utun_sys::IFF_NO_PI)?)?;
    refused(tap.as_fd(), "a tap device").context("IFF_TAP")?;
    let with_pi = tun_with(flags(utun_sys::IFF_TUN)?)?;
    refused(with_pi.as_fd(), "without IFF_NO_PI").context("IFF_TUN without IFF_NO_PI")?;
    let vnet = tun_with(flags(utun_sys::IFF_TUN | utun_sys::IFF_NO_PI | utun_sys::IFF_VNET_HDR)?)?;
    refused(vnet.as_fd(), "with IFF_VNET_HDR").context("IFF_VNET_HDR")?;
    // The plain framing is adopted.
    let plain = tun_with(flags(utun_sys::IFF_TUN | utun_sys::IFF_NO_PI)?)?;
    let dev = Device::from_fd(plain)?;
    ensure!(dev.name().as_str().starts_with("tun"));
    Ok(())
}

/// `/dev/net/tun`, opened as a program that is not this crate would.
fn open_tun() -> Result<OwnedFd> {
    let file = std::fs::OpenOptions::new().read(true).write(true).open("/dev/net/tun")?;
    Ok(OwnedFd::from(file))
}

/// A new interface made with `TUNSETIFF` and `flags` (the kernel names it).
fn tun_with(flags: c_short) -> Result<OwnedFd> {
    let fd = open_tun()?;
    let mut ifr = utun_sys::ifreq::default();
    ifr.ifr_ifru.ifru_flags = flags;
    // SAFETY: TUNSETIFF reads and writes a `struct ifreq` (drivers/net/tun.c), which `ifr` is.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), utun_sys::TUNSETIFF as _, &mut ifr as *mut utun_sys::ifreq) };
    ensure!(rc == 0, "TUNSETIFF {flags:#x}: {}", std::io::Error::last_os_error());
    Ok(fd)
}

/// The `privsep` example, run as built (`cargo build -p utun-tests
/// --examples`, which `cargo test` does): root creates the device, a child
/// as `nobody` adopts it and answers ping. It makes its own network
/// namespace. Ignored, with the reason, where it cannot run.
pub fn privsep_trial() -> Trial {
    Trial::ignorable_test("the_privsep_example_answers_ping_from_a_nobody_child", || {
        if let Err(why) = utun_tests::netns::probe() {
            return Ok(Completion::ignored_with(format!("cannot run here: {why}")));
        }
        let exe = example("privsep").map_err(|e| format!("{e:#}"))?;
        if !exe.exists() {
            return Ok(Completion::ignored_with(format!(
                "{} is not built (cargo build -p utun-tests --example privsep)",
                exe.display()
            )));
        }
        // SAFETY: a NUL-terminated name; the record, when there is one, is read at once.
        let nobody = unsafe { libc::getpwnam(c"nobody".as_ptr()).as_ref().map(|pw| pw.pw_uid) };
        let Some(uid) = nobody else {
            return Ok(Completion::ignored_with("no user nobody on this system"));
        };
        let out = Command::new(&exe).output().map_err(|e| format!("running {}: {e}", exe.display()))?;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let good = out.status.success()
            && text.contains("child: adopted")
            && text.contains(&format!("as uid {uid} "))
            && text.contains("3 received, 0% packet loss")
            && text.contains("child: answered 3 echo requests");
        if good { Ok(Completion::Completed) } else { Err(format!("privsep: {}\n{text}", out.status).into()) }
    })
}

/// An example built beside this test binary (target/<profile>/examples/).
fn example(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let profile = exe.parent().and_then(|deps| deps.parent()).context("the target directory")?;
    Ok(profile.join("examples").join(name))
}
