//! Batches of packets: [`Device::recv_batch`](crate::Device::recv_batch) and
//! [`Device::send_batch`](crate::Device::send_batch), the scratch state they
//! reuse ([`RecvBatch`], [`SendBatch`]), what a Linux device opened with
//! offload was granted ([`Offload`]), and how far a batch send has got
//! ([`SendCursor`], [`resume`]: what lets the async device's `send_batch`
//! go on after a write that would block).

use crate::error::{Detail, Error, ErrorKind, Op};

/// What a device's kernel side does for it: on Linux, what
/// [`Device::with_offload`](crate::Device::with_offload) obtained from
/// `TUNSETOFFLOAD`. A device opened without offload (every macOS device)
/// has none of it ([`Offload::default`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Offload {
    /// Each packet on the descriptor is preceded by a `virtio_net_hdr`
    /// (`IFF_VNET_HDR`), which the device reads and writes itself.
    pub vnet_hdr: bool,
    /// `TUN_F_CSUM`: the kernel may hand over packets whose transport
    /// checksum is left for the device to finish (it does, in
    /// [`recv`](crate::Device::recv) and [`recv_batch`](crate::Device::recv_batch)).
    pub checksum: bool,
    /// `TUN_F_TSO4 | TUN_F_TSO6`: the kernel may hand over TCP packets of up
    /// to 64 KiB, which [`recv_batch`](crate::Device::recv_batch) splits into
    /// MTU-sized segments.
    pub tso: bool,
    /// `TUN_F_TSO_ECN`: such TCP packets may carry ECN's CWR.
    pub tso_ecn: bool,
    /// `TUN_F_USO4 | TUN_F_USO6` (Linux 6.2+, and headers that name them):
    /// the kernel may hand over UDP GSO packets, and
    /// [`send_batch`](crate::Device::send_batch) merges UDP datagrams of one
    /// flow for the kernel to split again.
    pub uso: bool,
}

/// How a Linux offload device's kernel side is to cut one packet into
/// packets of the wire's size, or how it was cut from them: the
/// `virtio_net_hdr` of a packet [`Device::recv_gso`](crate::Device::recv_gso)
/// reads or [`Device::send_gso`](crate::Device::send_gso) writes whole.
///
/// A GSO packet carries its headers once, then the payload of every
/// segment; its IP length fields count the whole packet, and its transport
/// checksum field holds the pseudo-header sum of the whole packet (what
/// the kernel hands over, and what it completes in each segment it makes).
#[cfg(target_os = "linux")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Segmentation {
    /// One plain packet, its checksums complete.
    #[default]
    None,
    /// TCP (over IPv4 or IPv6, as the packet says): segments of
    /// `segment_size` payload bytes (the last one what is left).
    Tcp {
        /// Payload bytes a segment (`gso_size`): the MSS.
        segment_size: u16,
        /// `VIRTIO_NET_HDR_GSO_ECN`: the first segment carries ECN's CWR.
        ecn: bool,
    },
    /// UDP (`TUN_F_USO4`/`TUN_F_USO6`, Linux 6.2+): datagrams of
    /// `segment_size` payload bytes (the last one what is left).
    Udp {
        /// Payload bytes a datagram (`gso_size`).
        segment_size: u16,
    },
}

/// Reusable receive state for [`Device::recv_batch`](crate::Device::recv_batch):
/// on a Linux offload device, the buffer one large packet is read into before
/// it is split (allocated on first use, 64 KiB and a little more, then kept).
/// Elsewhere it holds nothing.
#[derive(Debug, Default)]
pub struct RecvBatch {
    #[cfg(target_os = "linux")]
    pub(crate) buf: Vec<u8>,
}

impl RecvBatch {
    /// Empty state; its buffer is allocated by the first batch that needs it.
    pub fn new() -> RecvBatch {
        RecvBatch::default()
    }
}

/// Reusable send state for [`Device::send_batch`](crate::Device::send_batch):
/// on a Linux offload device, the merging state and the buffer the merged
/// records are written into (grown to the largest batch seen, then kept).
/// Elsewhere it holds nothing.
#[derive(Debug)]
pub struct SendBatch {
    #[cfg(target_os = "linux")]
    pub(crate) coalescer: crate::offload::coalesce::Coalescer,
    #[cfg(target_os = "linux")]
    pub(crate) out: Vec<u8>,
    #[cfg(target_os = "linux")]
    pub(crate) lens: Vec<usize>,
    /// How many records of `out` (their lengths in `lens`) the last merge made.
    #[cfg(target_os = "linux")]
    pub(crate) records: usize,
}

impl SendBatch {
    /// Empty state; its buffers grow with the first batches.
    pub fn new() -> SendBatch {
        SendBatch {
            #[cfg(target_os = "linux")]
            coalescer: crate::offload::coalesce::Coalescer::new(),
            #[cfg(target_os = "linux")]
            out: Vec::new(),
            #[cfg(target_os = "linux")]
            lens: Vec::new(),
            #[cfg(target_os = "linux")]
            records: 0,
        }
    }
}

impl SendBatch {
    /// State with room, from the start, for a batch of up to `packets`
    /// packets of `bytes` bytes in all: on a Linux offload device such a
    /// batch is merged and written with no allocation, the first one
    /// included (with [`new`](SendBatch::new), the buffers grow with the
    /// first batches, up to the largest). Elsewhere the same as `new`.
    ///
    /// The room is a hint, never a failure: a size that cannot be had (one
    /// that overflows, or more memory than there is) is not reserved, and
    /// the buffers then grow with the batches as they do after `new`.
    ///
    /// ```
    /// // Up to 64 packets of at most 1500 bytes a batch.
    /// let batch = utun::SendBatch::with_capacity(64, 64 * 1500);
    /// # drop(batch);
    /// ```
    pub fn with_capacity(packets: usize, bytes: usize) -> SendBatch {
        #[cfg(target_os = "linux")]
        {
            let mut batch = SendBatch::new();
            let records = crate::offload::coalesce::records_capacity(packets, bytes);
            if batch.coalescer.try_reserve(packets)
                && batch.out.try_reserve_exact(records).is_ok()
                && batch.lens.try_reserve_exact(packets).is_ok()
            {
                // Within the capacity just reserved: no allocation.
                batch.out.resize(records, 0);
                batch.lens.resize(packets, 0);
            } else {
                batch = SendBatch::new();
            }
            batch
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (packets, bytes);
            SendBatch::new()
        }
    }

    /// Merges `packets` into the records [`Device::send_batch`](crate::Device::send_batch)
    /// writes (a Linux offload device's first attempt at a batch): grows
    /// `out` and `lens` when the batch needs more room than they have, then
    /// coalesces into them; `records` says how many were made.
    #[cfg(target_os = "linux")]
    pub(crate) fn merge<B: AsRef<[u8]>>(
        &mut self,
        packets: &[B],
        options: crate::offload::coalesce::CoalesceOptions,
    ) -> Result<(), Error> {
        let need = crate::offload::coalesce::capacity(packets);
        if self.out.len() < need {
            self.out.resize(need, 0);
        }
        if self.lens.len() < packets.len() {
            self.lens.resize(packets.len(), 0);
        }
        self.records = self.coalescer.coalesce(packets, options, &mut self.out, &mut self.lens)?;
        Ok(())
    }
}

impl Default for SendBatch {
    fn default() -> SendBatch {
        SendBatch::new()
    }
}

/// How far a batch send has got, kept by its caller between attempts (the
/// synchronous [`Device::send_batch`](crate::Device::send_batch) makes one
/// attempt; the async device's makes more, after each wait for room).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SendCursor {
    /// Whether the batch has been made ready to write (on a Linux offload
    /// device: merged into the records of [`SendBatch`]), so that a later
    /// attempt writes those same records rather than merging again.
    pub(crate) prepared: bool,
    /// The units written: records on a Linux offload device, packets
    /// otherwise. The next attempt starts at this one.
    pub(crate) done: usize,
}

/// Writes units `*done..total` with `step`, which writes one or more units
/// starting at the one it is given and says how many (a `sendmsg_x` may take
/// several packets, a `write` takes one); `*done` moves past every unit
/// written as soon as it is. An error from `step` (a
/// [`ErrorKind::WouldBlock`] above all) stops it with `*done` at the first
/// unit not written, so a later call resumes there: no unit is written
/// twice, none skipped. A step that claims to have written nothing is an
/// [`ErrorKind::Other`] error rather than a loop without end.
pub(crate) fn resume(
    total: usize,
    done: &mut usize,
    mut step: impl FnMut(usize) -> Result<usize, Error>,
) -> Result<(), Error> {
    while *done < total {
        let wrote = step(*done)?;
        if wrote == 0 {
            return Err(wrote_nothing());
        }
        *done = total.min(*done + wrote);
    }
    Ok(())
}

/// The error of a step that wrote nothing (out of the packet path's way).
#[cold]
#[inline(never)]
fn wrote_nothing() -> Error {
    Error::invalid(Op::Send, ErrorKind::Other, Detail::Static("the kernel took none of the packets, and said no error"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn would_block() -> Error {
        Error::os(Op::Send, std::io::Error::from_raw_os_error(libc::EAGAIN))
    }

    /// A writer that takes up to `per_call` units a call, and answers
    /// `WouldBlock` on the calls `blocked` names (counted from 0, over every
    /// attempt); returns the units in the order they were written.
    fn scripted(total: usize, per_call: usize, blocked: &[usize]) -> Vec<usize> {
        let mut written = Vec::new();
        let mut cursor = SendCursor::default();
        let mut call = 0;
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts <= total + blocked.len() + 1, "no progress");
            let result = resume(total, &mut cursor.done, |from| {
                call += 1;
                if blocked.contains(&(call - 1)) {
                    return Err(would_block());
                }
                let n = per_call.min(total - from);
                written.extend(from..from + n);
                Ok(n)
            });
            match result {
                Ok(()) => break,
                Err(e) => assert!(e.is_would_block(), "{e}"),
            }
        }
        assert_eq!(cursor.done, total);
        written
    }

    #[test]
    fn a_would_block_anywhere_resumes_at_the_first_unit_not_written() {
        for total in 0..6 {
            for per_call in 1..4 {
                for first in 0..6 {
                    for blocked in [vec![first], vec![first, first + 1], vec![first, first + 2, first + 3]] {
                        let written = scripted(total, per_call, &blocked);
                        assert_eq!(written, (0..total).collect::<Vec<_>>(), "{total} {per_call} {blocked:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn another_error_stops_at_the_unit_it_was_about() {
        let mut done = 0;
        let err = resume(5, &mut done, |from| {
            if from == 3 {
                Err(Error::invalid(Op::Send, ErrorKind::MalformedPacket, Detail::Static("bad")))
            } else {
                Ok(1)
            }
        })
        .unwrap_err();
        assert_eq!((err.kind(), done), (ErrorKind::MalformedPacket, 3));
    }

    #[test]
    fn a_step_that_writes_nothing_is_an_error_not_a_hang() {
        let mut done = 1;
        let err = resume(3, &mut done, |_| Ok(0)).unwrap_err();
        assert_eq!((err.kind(), done), (ErrorKind::Other, 1));
        // More than asked for counts as the rest.
        let mut done = 1;
        resume(3, &mut done, |_| Ok(7)).unwrap();
        assert_eq!(done, 3);
    }
}
