//! The stage, in the network namespace (and private mount namespace) that
//! `utun_tests::netns` made for the whole process: tracefs, the sysctls that
//! make the kernel forward between the two devices, the devices themselves,
//! and the packets.
//!
//! tunA and tunB are persistent (`TUNSETPERSIST`), so each variant attaches
//! to the same two interfaces (utun and tun-rs both with `IFF_NO_PI`: one
//! `write` or `read` is one bare IP packet) and detaches when it is done: the
//! same devices, addresses, routes and queues for every variant.

use std::ffi::CStr;
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use utun::{Device, InterfaceAddress};
use utun_tests::packet::{IPV4_HEADER_LEN, UDP_HEADER_LEN, Udp4};

/// The device packets are written into.
pub const TUN_A: &str = "tunA";
/// The device the kernel forwards them to.
pub const TUN_B: &str = "tunB";
/// tunA's address: its /24 is the "network behind tunA" the packets come from.
const A_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);
/// tunB's address: its /24 is where the packets go.
const B_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 1);
/// The packets' source: a host behind tunA (RFC 2544's benchmarking range).
const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
/// The packets' destination: a host behind tunB.
const DST: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 2);
/// The transmit queue of both devices (the kernel's tun default is 500).
const TX_QUEUE_LEN: i32 = 1000;

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid takes no arguments and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `mount(2)` with no data.
fn mount(source: Option<&CStr>, target: &CStr, fstype: Option<&CStr>, flags: libc::c_ulong) -> io::Result<()> {
    let ptr = |s: Option<&CStr>| s.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: every pointer is NUL-terminated or null, as mount(2) allows.
    let rc = unsafe { libc::mount(ptr(source), target.as_ptr(), ptr(fstype), flags, std::ptr::null()) };
    if rc != 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Makes the syscall tracepoint visible: mounts tracefs at
/// /sys/kernel/tracing in this process's private mount namespace (made by
/// `Namespace::with_private_mounts`) when it is not mounted already. `Err` says why syscalls will not be counted.
pub fn ensure_tracefs() -> Result<(), String> {
    if Path::new("/sys/kernel/tracing/events").is_dir() || Path::new("/sys/kernel/debug/tracing/events").is_dir() {
        return Ok(());
    }
    mount(Some(c"tracefs"), c"/sys/kernel/tracing", Some(c"tracefs"), 0).map_err(|e| format!("mounting tracefs: {e}"))
}

/// Keeps this thread on the CPU it runs on now (fewer migrations, less
/// noise; every variant runs on this thread). Returns the CPU.
pub fn pin_to_this_cpu() -> io::Result<usize> {
    // SAFETY: sched_getcpu takes no arguments.
    let cpu = unsafe { libc::sched_getcpu() };
    if cpu < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET only writes the bit for `cpu`, which the kernel just
    // named, so it lies inside the set.
    unsafe { libc::CPU_SET(cpu as usize, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; 0 is this thread.
    if unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cpu as usize)
}

/// Writes a sysctl of this network namespace (/proc/sys/net is per namespace).
fn sysctl(path: &str, value: &str) -> Result<()> {
    fs::write(format!("/proc/sys/{path}"), value).with_context(|| format!("setting {path} = {value}"))
}

/// Forwarding on, reverse-path filtering off. (IPv6 is off already: the
/// namespace was made `without_ipv6`.)
pub fn configure_namespace() -> Result<()> {
    utun_tests::netns::forward_ipv4()
}

/// `TUNSETPERSIST`: whether the interface outlives its last descriptor.
fn set_persist(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    // SAFETY: TUNSETPERSIST takes an integer argument, not a pointer.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETPERSIST as _, libc::c_ulong::from(on)) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `SIOCSIFTXQLEN` on `name`.
fn set_tx_queue_len(name: &str, len: i32) -> Result<()> {
    let sock = crate::raw::udp_socket().context("a socket for SIOCSIFTXQLEN")?;
    let mut ifr = utun::sys::ifreq::default();
    let mut raw_name = [0 as libc::c_char; libc::IFNAMSIZ];
    for (dst, src) in raw_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    ifr.ifr_ifrn.ifrn_name = raw_name;
    ifr.ifr_ifru.ifru_ivalue = len;
    // SAFETY: SIOCSIFTXQLEN reads a `struct ifreq` (name and ifr_qlen), which `ifr` is.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFTXQLEN as _, &mut ifr as *mut utun::sys::ifreq) } < 0 {
        return Err(io::Error::last_os_error()).with_context(|| format!("setting the transmit queue of {name}"));
    }
    Ok(())
}

/// The two persistent devices. Dropping this removes them.
pub struct Devices {
    _private: (),
}

impl Devices {
    /// Creates tunA (198.18.1.1/24) and tunB (198.18.2.1/24), persistent,
    /// up, with a 1000-packet transmit queue, rp_filter off on each.
    pub fn create() -> Result<Devices> {
        let devices = Devices { _private: () };
        for (name, addr) in [(TUN_A, A_ADDR), (TUN_B, B_ADDR)] {
            let dev = Device::with_name(name).with_context(|| format!("creating {name}"))?;
            set_persist(std::os::fd::AsFd::as_fd(&dev), true).with_context(|| format!("TUNSETPERSIST on {name}"))?;
            let iface = dev.interface();
            iface.add_address(&InterfaceAddress::new(IpAddr::V4(addr), 24)?)?;
            set_tx_queue_len(name, TX_QUEUE_LEN)?;
            iface.set_up(true)?;
            sysctl(&format!("net/ipv4/conf/{name}/rp_filter"), "0")?;
        }
        Ok(devices)
    }

    /// tunA and tunB through utun, blocking.
    pub fn utun(&self) -> Result<(Device, Device)> {
        let a = Device::attach(TUN_A).context("attaching utun to tunA")?;
        let b = Device::attach(TUN_B).context("attaching utun to tunB")?;
        settle(a.as_raw_fd(), b.as_raw_fd())?;
        Ok((a, b))
    }

    /// tunA and tunB through tun-rs, blocking.
    pub fn tun_rs(&self) -> Result<(tun_rs::SyncDevice, tun_rs::SyncDevice)> {
        let a = tun_rs::DeviceBuilder::new().name(TUN_A).build_sync().context("attaching tun-rs to tunA")?;
        let b = tun_rs::DeviceBuilder::new().name(TUN_B).build_sync().context("attaching tun-rs to tunB")?;
        settle(a.as_raw_fd(), b.as_raw_fd())?;
        Ok((a, b))
    }
}

impl Drop for Devices {
    fn drop(&mut self) {
        for name in [TUN_A, TUN_B] {
            // Attach once more, clear the flag, close: the interface goes.
            if let Ok(dev) = Device::attach(name) {
                let _ = set_persist(std::os::fd::AsFd::as_fd(&dev), false);
            }
        }
    }
}

/// Whether `name` exists in this namespace.
pub fn exists(name: &str) -> bool {
    utun::Interface::by_name(name).is_ok()
}

/// Waits until the kernel forwards from `a` to `b`, then empties `b`.
///
/// Attaching turns the carrier on, and the kernel re-activates the queue
/// discipline a moment later (linkwatch); until then a forwarded packet is
/// dropped, and a blocking loop would wait for it forever. So: probe packets
/// until one comes through.
fn settle(a: RawFd, b: RawFd) -> Result<()> {
    let probe = packet(64);
    for _ in 0..100 {
        crate::raw::write(a, &probe).context("writing a probe packet")?;
        if crate::raw::readable_within(b, 50)? {
            return drain(b);
        }
    }
    bail!("no probe packet written into {TUN_A} came out of {TUN_B} within 5 s")
}

/// Reads and discards whatever waits on `fd` (nothing should).
fn drain(fd: RawFd) -> Result<()> {
    crate::raw::set_nonblocking(fd, true)?;
    let mut buf = [0u8; 2048];
    let mut stray = 0;
    while crate::raw::read(fd, &mut buf).is_ok() {
        stray += 1;
        if stray > 100_000 {
            bail!("the device keeps producing packets nobody sent");
        }
    }
    crate::raw::set_nonblocking(fd, false)?;
    Ok(())
}

/// One IPv4/UDP packet of `size` bytes (at least 28) from [`SRC`]:40000 to
/// [`DST`]:9 (discard), "don't fragment", with a correct header checksum
/// (the kernel checks it before forwarding) and no UDP checksum (optional
/// over IPv4); the payload counts up from 0.
pub fn packet(size: usize) -> Vec<u8> {
    assert!((28..=1500).contains(&size), "packet size {size}");
    let payload: Vec<u8> = (0..size - IPV4_HEADER_LEN - UDP_HEADER_LEN).map(|i| i as u8).collect();
    Udp4::new(SocketAddrV4::new(SRC, 40000), SocketAddrV4::new(DST, 9)).dont_fragment().packet(&payload)
}

/// Whether `got` is `sent` after one forwarding hop: the same bytes but the
/// TTL (one less) and the header checksum.
pub fn is_forwarded(sent: &[u8], got: &[u8]) -> bool {
    got.len() == sent.len()
        && got[8] == sent[8] - 1
        && got[..8] == sent[..8]
        && got[9] == sent[9]
        && got[12..] == sent[12..]
}
