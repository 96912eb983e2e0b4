//! The stage: a network namespace (and a private mount namespace) for the
//! whole process, the sysctls that make the kernel forward between the two
//! devices, the devices themselves, and the packets.
//!
//! tunA and tunB are persistent (`TUNSETPERSIST`), so each variant attaches
//! to the same two interfaces (utun and tun-rs both with `IFF_NO_PI`: one
//! `write` or `read` is one bare IP packet) and detaches when it is done: the
//! same devices, addresses, routes and queues for every variant.

use std::ffi::CStr;
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use utun::{Device, InterfaceAddress};

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

/// Moves this (still single-threaded) process into a new network namespace,
/// so that nothing it sends can leave it, and a new mount namespace whose
/// mounts do not propagate back (for tracefs, see [`ensure_tracefs`]).
pub fn isolate() -> Result<()> {
    // SAFETY: unshare takes only flags; the process has one thread here.
    if unsafe { libc::unshare(libc::CLONE_NEWNET | libc::CLONE_NEWNS) } != 0 {
        return Err(io::Error::last_os_error()).context(
            "cannot create a network namespace (unshare(CLONE_NEWNET)); the benchmark refuses to run outside one",
        );
    }
    mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE).context("making the new mount namespace private")
}

/// `mount(2)` with no data.
fn mount(source: Option<&CStr>, target: &CStr, fstype: Option<&CStr>, flags: libc::c_ulong) -> io::Result<()> {
    let ptr = |s: Option<&CStr>| s.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: every pointer is NUL-terminated or null, as mount(2) allows.
    let rc = unsafe { libc::mount(ptr(source), target.as_ptr(), ptr(fstype), flags, std::ptr::null()) };
    if rc != 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Makes the syscall tracepoint visible: mounts tracefs at
/// /sys/kernel/tracing in this process's private mount namespace when it is
/// not mounted already. `Err` says why syscalls will not be counted.
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

/// Forwarding on, reverse-path filtering off, IPv6 off (so the kernel sends
/// no router solicitations or MLD reports of its own through the devices).
pub fn configure_namespace() -> Result<()> {
    sysctl("net/ipv4/ip_forward", "1")?;
    for conf in ["all", "default"] {
        sysctl(&format!("net/ipv4/conf/{conf}/rp_filter"), "0")?;
        if Path::new("/proc/sys/net/ipv6").is_dir() {
            sysctl(&format!("net/ipv6/conf/{conf}/disable_ipv6"), "1")?;
        }
    }
    Ok(())
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
        let a = Device::with_name(TUN_A).context("attaching utun to tunA")?;
        let b = Device::with_name(TUN_B).context("attaching utun to tunB")?;
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
            if let Ok(dev) = Device::with_name(name) {
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

/// One IPv4/UDP packet of `size` bytes (at least 28) from [`SRC`] to
/// [`DST`], with a correct header checksum (the kernel checks it before
/// forwarding) and no UDP checksum (optional over IPv4).
pub fn packet(size: usize) -> Vec<u8> {
    assert!((28..=1500).contains(&size), "packet size {size}");
    let mut p = vec![0u8; size];
    p[0] = 0x45; // version 4, 5-word header
    p[2..4].copy_from_slice(&(size as u16).to_be_bytes());
    p[6] = 0x40; // don't fragment
    p[8] = 64; // TTL
    p[9] = 17; // UDP
    p[12..16].copy_from_slice(&SRC.octets());
    p[16..20].copy_from_slice(&DST.octets());
    let checksum = !ones_complement_sum(&p[..20]);
    p[10..12].copy_from_slice(&checksum.to_be_bytes());
    p[20..22].copy_from_slice(&40000u16.to_be_bytes()); // source port
    p[22..24].copy_from_slice(&9u16.to_be_bytes()); // discard
    p[24..26].copy_from_slice(&((size - 20) as u16).to_be_bytes());
    for (i, b) in p[28..].iter_mut().enumerate() {
        *b = i as u8;
    }
    p
}

fn ones_complement_sum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
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
