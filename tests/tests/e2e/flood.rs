//! A flood of forged netlink messages at the library's sockets: a process
//! with `CAP_NET_ADMIN` may send to any netlink port id, and could fill a
//! socket's receive queue until the kernel drops the library's reply
//! (`ENOBUFS`), after which a call used to wait forever. The library's
//! sockets are connected to the kernel, which refuses every such message;
//! the calls go on, and each returns within its bound.

use std::fs;
use std::mem::{offset_of, size_of};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{AddressFamily, SendFlags, SocketFlags, SocketType};
use utun::{Cleanup, Device, Route, RouteTable};

use crate::cases::{ip, net};
use crate::kernel;

/// The library's bound on a reply (`REPLY_TIMEOUT` in the netlink backend).
const REPLY_BOUND: Duration = Duration::from_secs(5);

/// The port ids of this process's `NETLINK_ROUTE` sockets in the calling
/// thread's network namespace (`/proc/thread-self/net/netlink` lists the
/// namespace's sockets with their inodes; `/proc/self/fd` names this
/// process's).
fn library_ports() -> Result<Vec<u32>> {
    let mine: Vec<String> = fs::read_dir("/proc/self/fd")?
        .filter_map(|e| fs::read_link(e.ok()?.path()).ok())
        .filter_map(|link| link.to_str()?.strip_prefix("socket:[")?.strip_suffix(']').map(String::from))
        .collect();
    let table = fs::read_to_string("/proc/thread-self/net/netlink")?;
    let route = utun_sys::NETLINK_ROUTE.to_string();
    let mut ports = Vec::new();
    for line in table.lines().skip(1) {
        // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(eth), Some(pid), Some(inode)) = (fields.get(1), fields.get(2), fields.get(9)) else { continue };
        if *eth == route && mine.iter().any(|i| i == inode) {
            ports.push(pid.parse().context("a port id")?);
        }
    }
    Ok(ports)
}

/// Writes an `nlmsghdr` at `at` of `msg`.
fn put_header(msg: &mut [u8], at: usize, len: usize, kind: u32, seq: u32, pid: u32) {
    let mut put = |offset: usize, bytes: &[u8]| msg[at + offset..][..bytes.len()].copy_from_slice(bytes);
    let (len, kind) = (u32::try_from(len).unwrap_or(u32::MAX), u16::try_from(kind).unwrap_or(u16::MAX));
    put(offset_of!(utun_sys::nlmsghdr, nlmsg_len), &len.to_ne_bytes());
    put(offset_of!(utun_sys::nlmsghdr, nlmsg_type), &kind.to_ne_bytes());
    put(offset_of!(utun_sys::nlmsghdr, nlmsg_seq), &seq.to_ne_bytes());
    put(offset_of!(utun_sys::nlmsghdr, nlmsg_pid), &pid.to_ne_bytes());
}

/// A forged ACK (`NLMSG_ERROR` with error 0, echoing a request header) to
/// port `pid` for request `seq`: what the library would take for the
/// kernel's, were it to read it.
fn forged_ack(seq: u32, pid: u32) -> Vec<u8> {
    let header = size_of::<utun_sys::nlmsghdr>();
    let mut msg = vec![0u8; header + size_of::<utun_sys::nlmsgerr>()];
    let len = msg.len();
    put_header(&mut msg, 0, len, utun_sys::NLMSG_ERROR, seq, pid);
    put_header(&mut msg, header + offset_of!(utun_sys::nlmsgerr, msg), header, utun_sys::RTM_DELROUTE, seq, pid);
    msg
}

/// What the flood's sends came to.
#[derive(Debug, Default)]
struct Flood {
    delivered: u64,
    refused: u64,
    queue_full: u64,
    other: Vec<String>,
}

/// Sends forged ACKs (every sequence number in turn) to `ports` until `stop`.
fn flood(ports: Vec<u32>, stop: Arc<AtomicBool>, started: mpsc::Sender<()>) -> Result<Flood> {
    let family = AddressFamily::from_raw(u16::try_from(utun_sys::AF_NETLINK)?);
    let fd = rustix::net::socket_with(family, SocketType::RAW, SocketFlags::CLOEXEC, None)?;
    let mut flood = Flood::default();
    let mut started = Some(started);
    for seq in 0u32.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        for &port in &ports {
            let to = SocketAddrNetlink::new(port, 0);
            match rustix::net::sendto(&fd, &forged_ack(seq % 64, port), SendFlags::DONTWAIT, &to) {
                Ok(_) => flood.delivered += 1,
                Err(rustix::io::Errno::CONNREFUSED) => flood.refused += 1,
                Err(rustix::io::Errno::AGAIN) => flood.queue_full += 1,
                Err(e) => flood.other.push(e.to_string()),
            }
        }
        if seq == 2000 {
            // Enough to fill an unconnected socket's queue: the calls start.
            started.take().map(|s| s.send(()));
        }
    }
    Ok(flood)
}

/// Routes added, looked up and deleted, and a guard undone, while the
/// library's sockets are flooded: every call returns within its bound and
/// does what it says, and every forged message is refused.
pub fn forged_flood() -> Result<()> {
    let dev = Device::new()?;
    let iface = dev.interface();
    iface.set_up(true)?;
    let name = dev.name();
    let mut table = RouteTable::open()?;
    let mut cleanup = Cleanup::new();
    cleanup.set_mtu(&iface, 1400)?;
    cleanup.add_route(Route::through_interface(net("10.8.0.0/16"), name))?;
    let ports = library_ports()?;
    ensure!(ports.len() >= 3, "the table's and the guard's sockets: {ports:?}");

    let stop = Arc::new(AtomicBool::new(false));
    let (started, flooding) = mpsc::channel();
    let flooder = thread::spawn({
        let stop = Arc::clone(&stop);
        move || flood(ports, stop, started)
    });
    let _ = flooding.recv_timeout(Duration::from_secs(10));
    let (done, finished) = mpsc::channel();
    let index = dev.index();
    thread::spawn(move || {
        let result = (|| -> Result<()> {
            let route = Route::through_interface(net("10.9.0.0/16"), name);
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline {
                timed("add", || table.add(&route))?;
                let entry = timed("get", || table.get(ip("10.9.1.1")))?;
                ensure!(entry.interface_index == index, "looked up through {entry:?}");
                timed("delete", || table.delete(&route))?;
            }
            timed("undo", || cleanup.undo().map_err(|e| anyhow!("{e}: {e:?}")))?;
            Ok(())
        })();
        let _ = done.send(result);
    });
    let outcome = finished.recv_timeout(Duration::from_secs(20));
    stop.store(true, Ordering::Relaxed);
    let flood = flooder.join().map_err(|_| anyhow!("the flooder panicked"))??;
    match outcome {
        Ok(result) => result.with_context(|| format!("during the flood ({flood:?})"))?,
        Err(_) => bail!("the calls did not return within 20 s during a flood of forged messages ({flood:?})"),
    }
    ensure!(flood.refused > 0 && flood.delivered == 0 && flood.queue_full == 0, "{flood:?}");
    ensure!(flood.other.is_empty(), "{flood:?}");
    for v6 in [false, true] {
        let left: Vec<_> = kernel::routes(v6)?.into_iter().filter(|r| r.dst.starts_with("10.")).collect();
        ensure!(left.is_empty(), "routes left behind: {left:?}");
    }
    let mtu = kernel::link(name.as_str())?["mtu"].as_u64();
    ensure!(mtu != Some(1400), "the guard's MTU was left: {mtu:?}");
    drop(dev);
    Ok(())
}

/// Runs one call, which must return within [`REPLY_BOUND`] (it makes one or
/// two requests, each of which the library bounds).
fn timed<T, E: Into<anyhow::Error>>(what: &str, call: impl FnOnce() -> Result<T, E>) -> Result<T> {
    let start = Instant::now();
    let result = call().map_err(Into::into).with_context(|| what.to_string());
    let took = start.elapsed();
    ensure!(took < REPLY_BOUND, "{what} took {took:?}");
    result
}
