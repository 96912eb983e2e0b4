//! Answers ICMP (IPv4) and ICMPv6 echo requests in place: the reply is the
//! request with source and destination swapped, the type changed and the
//! checksum recomputed. The `ping_responder` demo, the end-to-end tests and
//! the macOS privileged tests all answer `ping` with this code.

use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use anyhow::anyhow;
use utun::{Device, Tun};

use crate::packet::{fold, sum16};

/// IP protocol numbers (IANA): ICMP for IPv4, ICMPv6.
const PROTO_ICMP: u8 = libc::IPPROTO_ICMP as u8;
const PROTO_ICMPV6: u8 = libc::IPPROTO_ICMPV6 as u8;
/// ICMP message types (RFC 792, RFC 4443).
const ICMP_ECHO_REQUEST: u8 = 8;
const ICMP_ECHO_REPLY: u8 = 0;
const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;

/// Turns an echo request in `packet` into its reply, in place. Returns
/// `Some(kind)` ("ICMP" or "ICMPv6") when it did, `None` for any other packet.
pub fn reply_in_place(packet: &mut [u8]) -> Option<&'static str> {
    match packet.first()? >> 4 {
        4 => reply_v4(packet),
        6 => reply_v6(packet),
        _ => None,
    }
}

fn reply_v4(p: &mut [u8]) -> Option<&'static str> {
    let ihl = usize::from(p.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*p.get(2)?, *p.get(3)?]));
    if ihl < 20 || total < ihl + 8 || total > p.len() || p[9] != PROTO_ICMP || p[ihl] != ICMP_ECHO_REQUEST {
        return None;
    }
    let (src, dst) = (p[12..16].to_vec(), p[16..20].to_vec());
    p[12..16].copy_from_slice(&dst);
    p[16..20].copy_from_slice(&src);
    // The IP header checksum covers addresses only by sum: swapping keeps it.
    let icmp = &mut p[ihl..total];
    icmp[0] = ICMP_ECHO_REPLY;
    icmp[2..4].fill(0);
    let sum = fold(sum16(0, icmp));
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    Some("ICMP")
}

fn reply_v6(p: &mut [u8]) -> Option<&'static str> {
    let payload = usize::from(u16::from_be_bytes([*p.get(4)?, *p.get(5)?]));
    if p.len() < 40 + payload || payload < 8 || p[6] != PROTO_ICMPV6 || p[40] != ICMPV6_ECHO_REQUEST {
        return None;
    }
    let (src, dst) = (p[8..24].to_vec(), p[24..40].to_vec());
    p[8..24].copy_from_slice(&dst);
    p[24..40].copy_from_slice(&src);
    p[40] = ICMPV6_ECHO_REPLY;
    p[42..44].fill(0);
    // Pseudo-header (RFC 8200 8.1): addresses, upper-layer length, next header.
    let mut acc = sum16(0, &p[8..40]);
    acc += payload as u32 + u32::from(PROTO_ICMPV6);
    let sum = fold(sum16(acc, &p[40..40 + payload]));
    p[42..44].copy_from_slice(&sum.to_be_bytes());
    Some("ICMPv6")
}

/// What a responder did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Served {
    /// Echo requests answered.
    pub answered: u64,
    /// Other packets read and ignored.
    pub ignored: u64,
}

/// Answers echo requests on `dev` (owned, adopted or borrowed) until `stop`
/// is set. The device is put in non-blocking mode and polled with a short
/// timeout, so `stop` is noticed.
pub fn serve<Fd: AsFd>(dev: &Device<Fd>, stop: &AtomicBool) -> utun::Result<Served> {
    dev.set_nonblocking(true)?;
    let mut served = Served::default();
    let mut buf = vec![0u8; 65536];
    while !stop.load(Ordering::Relaxed) {
        let mut pfd = libc::pollfd { fd: dev.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, for the duration of the call.
        if unsafe { libc::poll(&mut pfd, 1, 100) } <= 0 {
            continue;
        }
        loop {
            let n = match dev.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if e.is_would_block() => break,
                Err(e) => return Err(e),
            };
            match reply_in_place(&mut buf[..n]) {
                Some(_) => {
                    dev.send(&buf[..n])?;
                    served.answered += 1;
                }
                None => served.ignored += 1,
            }
        }
    }
    Ok(served)
}

/// A responder serving a [`Tun`] on a thread of its own, until
/// [`finish`](Responder::finish).
#[derive(Debug)]
pub struct Responder {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<utun::Result<Served>>,
}

impl Responder {
    /// Starts answering echo requests on `tun`'s device.
    pub fn start(tun: Arc<Tun>) -> Responder {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || serve(tun.device(), &stop))
        };
        Responder { stop, thread }
    }

    /// Stops it (within [`serve`]'s poll timeout, 100 ms) and says what it
    /// did; an error when it failed or panicked.
    pub fn finish(self) -> anyhow::Result<Served> {
        self.stop.store(true, Ordering::Relaxed);
        Ok(self.thread.join().map_err(|_| anyhow!("the echo responder panicked"))??)
    }
}
