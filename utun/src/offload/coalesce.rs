//! Send side: a batch of plain IP packets becomes fewer, larger writes for
//! a tun device opened with `IFF_VNET_HDR` (GRO done in userspace). TCP
//! segments of one flow with contiguous sequence numbers, and UDP datagrams
//! of one flow, become one GSO packet behind a `virtio_net_hdr` that asks the
//! kernel to segment it again; every other packet passes through unchanged
//! behind a header that asks for nothing (`GSO_NONE`, no flags).
//!
//! Rules (those of the kernel's own GRO, `tcp_gro_receive` in
//! net/ipv4/tcp_offload.c, and of wireguard-go's tun/offload_linux.go, read
//! as references): packets merge only when everything the segmentation will
//! copy from the first packet is the same in each (IP TOS/traffic class, TTL/hop
//! limit, DF, flow label; TCP ports, acknowledgement, window, data offset,
//! options and urgent pointer), each carries the next bytes of the stream,
//! every segment but the last has the first one's payload size and the last
//! no more, and flags are ACK alone, or ACK+PSH on the last one. IPv4 options,
//! fragments, IPv6 extension headers, and anything whose checksums do not
//! verify pass through alone: the kernel recomputes the checksums of what
//! it segments, so a corrupt segment merged would come out with a valid one.
//!
//! Flows may interleave: up to [`OPEN_RUNS`] flows are followed at once.
//! Packets of one flow keep their order; a merged packet is written where its
//! first packet was, so packets of other flows may come out before later
//! segments of it. No allocation once the [`Coalescer`] has seen a batch as
//! large.

use super::checksum::{Sum, pseudo_header, verify};
use super::vnet::{Gso, UDP_GSO_KNOWN, VNET_HDR_LEN, VnetHeader};
use super::wire::{self, Headers, Transport};
use crate::error::{Detail, Error, ErrorKind, Op};

/// How many flows' runs are followed at once (the least recently extended
/// one is closed when another flow needs a place).
pub(crate) const OPEN_RUNS: usize = 8;

/// No next packet in a run.
const END: usize = usize::MAX;

/// Which merges the device may ask of the kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CoalesceOptions {
    /// Merge TCP segments (the kernel segments TCP GSO packets written to a
    /// tun device whatever `TUNSETOFFLOAD` says).
    pub(crate) tcp: bool,
    /// Merge UDP datagrams: only where the kernel takes
    /// `VIRTIO_NET_HDR_GSO_UDP_L4` (Linux 6.2+, shown by `TUNSETOFFLOAD`
    /// granting `TUN_F_USO4`/`TUN_F_USO6`) and utun's headers name it;
    /// ignored otherwise.
    pub(crate) udp: bool,
}

/// One flow's run of packets being merged.
#[derive(Clone, Copy, Debug)]
struct Run {
    head: usize,
    tail: usize,
    h: Headers,
    /// Payload bytes of the first packet: the GSO size.
    gso_size: usize,
    /// The merged packet's length so far.
    len: usize,
    next_seq: u32,
    next_id: u16,
    /// Nothing may follow (a shorter segment, or PSH, came last).
    ended: bool,
}

/// Reusable state for [`Coalescer::coalesce`]: the runs found in a batch.
#[derive(Debug, Default)]
pub(crate) struct Coalescer {
    /// For each packet, the next packet of its run (`END` when last).
    next: Vec<usize>,
    /// For each packet, whether it starts an output record.
    head: Vec<bool>,
    runs: [Option<Run>; OPEN_RUNS],
    /// Each output record's header, in order.
    pub(crate) headers: Vec<VnetHeader>,
}

/// The room [`Coalescer::coalesce`] needs at most in its output buffer: every
/// packet behind its own header.
pub(crate) fn capacity<B: AsRef<[u8]>>(packets: &[B]) -> usize {
    packets.iter().map(|p| p.as_ref().len() + VNET_HDR_LEN).sum()
}

/// [`capacity`] of any batch of at most `packets` packets of `bytes` bytes
/// in all (saturating: a size no buffer could have stays too large to
/// reserve rather than wrapping to a small one).
pub(crate) fn records_capacity(packets: usize, bytes: usize) -> usize {
    packets.saturating_mul(VNET_HDR_LEN).saturating_add(bytes)
}

impl Coalescer {
    /// A coalescer with no state yet (its buffers grow with the first batches).
    pub(crate) fn new() -> Coalescer {
        Coalescer::default()
    }

    /// Room for batches of up to `packets` packets, so that they need no
    /// allocation; says whether it could be had (a size that overflows, or
    /// more memory than there is, is not reserved, and nothing panics).
    pub(crate) fn try_reserve(&mut self, packets: usize) -> bool {
        self.next.try_reserve_exact(packets).is_ok()
            && self.head.try_reserve_exact(packets).is_ok()
            && self.headers.try_reserve_exact(packets).is_ok()
    }

    /// The capacities of the per-batch vectors (what the tests compare).
    #[cfg(test)]
    pub(crate) fn capacities(&self) -> [usize; 3] {
        [self.next.capacity(), self.head.capacity(), self.headers.capacity()]
    }

    /// Merges `packets` and writes the result into `out` as records, each a
    /// `virtio_net_hdr` ([`VNET_HDR_LEN`] bytes) then an IP packet, one after
    /// another; the length of record `r` (header included) goes in `lens[r]`.
    /// Returns the number of records. `out` needs at most [`capacity`] bytes;
    /// `lens` one entry a packet.
    ///
    /// Errors (`Op::Send`): `lens` shorter than `packets` is `InvalidInput`,
    /// `out` too short `BufferTooSmall` (checked before anything is written).
    /// A packet it cannot read is not an error here: it passes through
    /// unchanged, for the device's own checks.
    pub(crate) fn coalesce<B: AsRef<[u8]>>(
        &mut self,
        packets: &[B],
        options: CoalesceOptions,
        out: &mut [u8],
        lens: &mut [usize],
    ) -> Result<usize, Error> {
        // Without the header's name for UDP GSO there is no asking for it.
        let options = CoalesceOptions { udp: options.udp && UDP_GSO_KNOWN, ..options };
        let records = self.merge(packets, options, out, lens)?;
        let mut at = 0;
        for (hdr, len) in self.headers.iter().zip(&lens[..records]) {
            hdr.write(&mut out[at..])?;
            at += len;
        }
        Ok(records)
    }

    /// [`coalesce`](Coalescer::coalesce) but for the headers themselves:
    /// leaves [`VNET_HDR_LEN`] bytes before each packet in `out` and keeps
    /// each record's header in `self.headers` (what the tests and the fuzz
    /// targets read, on headers that cannot write every GSO type).
    pub(crate) fn merge<B: AsRef<[u8]>>(
        &mut self,
        packets: &[B],
        options: CoalesceOptions,
        out: &mut [u8],
        lens: &mut [usize],
    ) -> Result<usize, Error> {
        if lens.len() < packets.len() {
            return Err(Error::invalid(
                Op::Send,
                ErrorKind::InvalidInput,
                Detail::Len { len: lens.len(), limit: packets.len() },
            )
            .about("fewer record lengths than packets"));
        }
        let need = capacity(packets);
        if out.len() < need {
            return Err(Error::invalid(
                Op::Send,
                ErrorKind::BufferTooSmall,
                Detail::Len { len: out.len(), limit: need },
            ));
        }
        self.plan(packets, options);
        self.headers.clear();
        let mut at = 0;
        let mut records = 0;
        for i in 0..packets.len() {
            if !self.head[i] {
                continue;
            }
            let (hdr, len) = if self.next[i] == END {
                write_single(packets[i].as_ref(), &mut out[at..])
            } else {
                self.write_merged(packets, i, &mut out[at..])
            };
            self.headers.push(hdr);
            lens[records] = len;
            records += 1;
            at += len;
        }
        Ok(records)
    }

    /// Finds the runs: fills `next` and `head`.
    fn plan<B: AsRef<[u8]>>(&mut self, packets: &[B], options: CoalesceOptions) {
        self.next.clear();
        self.next.resize(packets.len(), END);
        self.head.clear();
        self.head.resize(packets.len(), true);
        self.runs = [None; OPEN_RUNS];
        for (i, p) in packets.iter().enumerate() {
            let p = p.as_ref();
            let Ok(h) = wire::parse(p) else { continue };
            let slot =
                self.runs.iter().position(|r| r.is_some_and(|r| same_flow(packets[r.head].as_ref(), &r.h, p, &h)));
            let candidate = is_candidate(p, &h, options);
            if let (true, Some(s)) = (candidate, slot) {
                if let Some(run) = self.runs[s].as_mut() {
                    if append(run, packets[run.head].as_ref(), p, &h) {
                        self.next[run.tail] = i;
                        self.head[i] = false;
                        run.tail = i;
                        continue;
                    }
                }
            }
            // Not merged: whatever this flow had open stays behind it.
            if let Some(s) = slot {
                self.runs[s] = None;
            }
            if candidate {
                self.start(i, p, h);
            }
        }
    }

    /// Opens a run at packet `i`, in a free place or the least recently extended one's.
    fn start(&mut self, i: usize, p: &[u8], h: Headers) {
        let payload = h.end - h.len();
        let psh = h.transport == Transport::Tcp && p[h.ip_len + wire::TCP_FLAGS] & wire::TCP_PSH != 0;
        let run = Run {
            head: i,
            tail: i,
            h,
            gso_size: payload,
            len: h.end,
            next_seq: wire::be32(p, h.ip_len + wire::TCP_SEQ).wrapping_add(payload as u32),
            next_id: wire::be16(p, wire::V4_ID).wrapping_add(1),
            ended: psh,
        };
        let slot = match self.runs.iter().position(Option::is_none) {
            Some(s) => s,
            None => (0..OPEN_RUNS).min_by_key(|&s| self.runs[s].map_or(0, |r| r.tail)).unwrap_or(0),
        };
        self.runs[slot] = Some(run);
    }

    /// Writes the run that starts at packet `first`: header, the first
    /// packet's headers, every payload, then the fields that change.
    fn write_merged<B: AsRef<[u8]>>(&self, packets: &[B], first: usize, out: &mut [u8]) -> (VnetHeader, usize) {
        let p0 = packets[first].as_ref();
        // The plan parsed it already; a failure here would be a bug, and is
        // answered as a plain packet rather than a panic.
        let Ok(h) = wire::parse(p0) else { return write_single(p0, out) };
        let headers = h.len();
        let pkt = &mut out[VNET_HDR_LEN..];
        pkt[..headers].copy_from_slice(&p0[..headers]);
        let mut len = headers;
        let mut last = first;
        let mut i = first;
        while i != END {
            let p = packets[i].as_ref();
            let payload = p.get(headers..).unwrap_or(&[]);
            pkt[len..len + payload.len()].copy_from_slice(payload);
            len += payload.len();
            last = i;
            i = self.next[i];
        }
        let pkt = &mut pkt[..len];
        if h.v6 {
            wire::put16(pkt, wire::V6_PAYLOAD_LEN, (len - h.ip_len) as u16);
        } else {
            wire::put16(pkt, wire::V4_TOTAL_LEN, len as u16);
            wire::put16(pkt, wire::V4_CHECKSUM, 0);
            let c = Sum::default().add(&pkt[..h.ip_len]).checksum();
            wire::put16(pkt, wire::V4_CHECKSUM, c);
        }
        let l4_len = len - h.ip_len;
        let gso = match (h.transport, h.v6) {
            (Transport::Tcp, false) => Gso::TcpV4,
            (Transport::Tcp, true) => Gso::TcpV6,
            (Transport::Udp, _) => Gso::UdpL4,
        };
        if h.transport == Transport::Tcp {
            let pl = packets[last].as_ref();
            let psh = pl.get(h.ip_len + wire::TCP_FLAGS).is_some_and(|f| f & wire::TCP_PSH != 0);
            if psh {
                pkt[h.ip_len + wire::TCP_FLAGS] |= wire::TCP_PSH;
            }
        } else {
            wire::put16(pkt, h.ip_len + wire::UDP_LEN, l4_len as u16);
        }
        // NEEDS_CSUM: the checksum field holds the pseudo-header sum, folded
        // and not complemented (what the kernel's own senders leave there for
        // CHECKSUM_PARTIAL, e.g. `__tcp_v4_send_check`); the kernel adds the rest.
        let partial = pseudo_header(h.addrs(pkt), h.transport.protocol(), l4_len).fold();
        wire::put16(pkt, h.ip_len + h.transport.checksum_offset(), partial);
        let hdr = VnetHeader {
            needs_csum: true,
            data_valid: false,
            gso,
            ecn: false,
            hdr_len: headers as u16,
            gso_size: (h.end - headers) as u16,
            csum_start: h.ip_len as u16,
            csum_offset: h.transport.checksum_offset() as u16,
        };
        (hdr, VNET_HDR_LEN + len)
    }
}

/// Writes records `*done..` of `out` (one after another, their lengths
/// `lens`, as [`Coalescer::coalesce`] left them) with `write`, one call a
/// record, through [`crate::batch::resume`]: `*done` moves past each record
/// written, and an error (a `WouldBlock`) leaves it at the first record not
/// written, where a later call resumes. The records are not merged again
/// in between, so a packet is in exactly one record: none is written twice
/// or left out, whichever record a write stops at.
pub(crate) fn write_records(
    out: &[u8],
    lens: &[usize],
    done: &mut usize,
    mut write: impl FnMut(&[u8]) -> Result<(), Error>,
) -> Result<(), Error> {
    // Where record `*done` starts (0 on a first attempt).
    let mut at: usize = lens.iter().take(*done).sum();
    crate::batch::resume(lens.len(), done, |r| {
        let record = out.get(at..at + lens[r]).ok_or_else(records_overrun)?;
        write(record)?;
        at += lens[r];
        Ok(1)
    })
}

/// Record lengths that run past the buffer: a bug, answered as an error.
#[cold]
#[inline(never)]
fn records_overrun() -> Error {
    Error::invalid(Op::Send, ErrorKind::Other, Detail::Static("a merged record runs past its buffer"))
}

/// A packet alone, behind a header that asks for nothing. (`out` has room:
/// [`capacity`] was checked.)
fn write_single(p: &[u8], out: &mut [u8]) -> (VnetHeader, usize) {
    out[VNET_HDR_LEN..VNET_HDR_LEN + p.len()].copy_from_slice(p);
    (VnetHeader::default(), VNET_HDR_LEN + p.len())
}

/// Same addresses, protocol and ports.
fn same_flow(a: &[u8], ha: &Headers, b: &[u8], hb: &Headers) -> bool {
    ha.v6 == hb.v6
        && ha.transport == hb.transport
        && ha.addrs(a) == hb.addrs(b)
        && a.get(ha.ip_len..ha.ip_len + 4) == b.get(hb.ip_len..hb.ip_len + 4)
}

/// May this packet be part of a merged one at all?
fn is_candidate(p: &[u8], h: &Headers, options: CoalesceOptions) -> bool {
    let enabled = match h.transport {
        Transport::Tcp => options.tcp,
        Transport::Udp => options.udp,
    };
    if !enabled || h.end != p.len() || h.end == h.len() {
        return false;
    }
    if !h.v6 && (h.ip_len != crate::packet::V4_HEADER || !verify(Sum::default().add(&p[..h.ip_len]))) {
        return false;
    }
    let l4 = &p[h.ip_len..];
    match h.transport {
        Transport::Tcp => {
            let flags = l4[wire::TCP_FLAGS];
            if flags != wire::TCP_ACK_FLAG && flags != wire::TCP_ACK_FLAG | wire::TCP_PSH {
                return false;
            }
        }
        Transport::Udp => {
            if usize::from(wire::be16(l4, wire::UDP_LEN)) != l4.len() {
                return false;
            }
            // IPv4's "no checksum": merged, it would get one; left alone.
            if wire::be16(l4, wire::UDP_CHECKSUM) == 0 {
                return false;
            }
        }
    }
    verify(pseudo_header(h.addrs(p), h.transport.protocol(), l4.len()).add(l4))
}

/// Appends packet `p` to `run` (whose first packet is `p0`) when it continues
/// it; says whether it did.
fn append(run: &mut Run, p0: &[u8], p: &[u8], h: &Headers) -> bool {
    if run.ended || h.l4_len != run.h.l4_len || h.ip_len != run.h.ip_len {
        return false;
    }
    let payload = h.end - h.len();
    if payload > run.gso_size {
        return false;
    }
    let limit = wire::MAX_LEN_FIELD + if h.v6 { h.ip_len } else { 0 };
    if run.len + payload > limit {
        return false;
    }
    let v4_df_clear = !h.v6 && wire::be16(p, wire::V4_FRAG) & wire::V4_DF == 0;
    let ip_same = if h.v6 {
        p0[..4] == p[..4] && p0[wire::V6_HOP_LIMIT] == p[wire::V6_HOP_LIMIT]
    } else {
        p0[wire::V4_TOS] == p[wire::V4_TOS]
            && p0[wire::V4_TTL] == p[wire::V4_TTL]
            && p0[wire::V4_FRAG..wire::V4_FRAG + 2] == p[wire::V4_FRAG..wire::V4_FRAG + 2]
            && (!v4_df_clear || wire::be16(p, wire::V4_ID) == run.next_id)
    };
    if !ip_same {
        return false;
    }
    let (a, b) = (&p0[h.ip_len..h.len()], &p[h.ip_len..h.len()]);
    let psh = match h.transport {
        Transport::Tcp => {
            if wire::be32(b, wire::TCP_SEQ) != run.next_seq
                // Acknowledgement and data offset; window; urgent pointer and options.
                || a[wire::TCP_ACK..wire::TCP_FLAGS] != b[wire::TCP_ACK..wire::TCP_FLAGS]
                || a[wire::TCP_FLAGS + 1..wire::TCP_CHECKSUM] != b[wire::TCP_FLAGS + 1..wire::TCP_CHECKSUM]
                || a[wire::TCP_CHECKSUM + 2..] != b[wire::TCP_CHECKSUM + 2..]
            {
                return false;
            }
            b[wire::TCP_FLAGS] & wire::TCP_PSH != 0
        }
        Transport::Udp => false,
    };
    run.len += payload;
    run.next_seq = run.next_seq.wrapping_add(payload as u32);
    run.next_id = run.next_id.wrapping_add(1);
    run.ended = psh || payload < run.gso_size;
    true
}
