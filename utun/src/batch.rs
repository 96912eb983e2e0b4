//! Batches of packets: [`Device::recv_batch`](crate::Device::recv_batch) and
//! [`Device::send_batch`](crate::Device::send_batch), the scratch state they
//! reuse ([`RecvBatch`], [`SendBatch`]), and what a Linux device opened with
//! offload was granted ([`Offload`]).

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
        }
    }
}

impl Default for SendBatch {
    fn default() -> SendBatch {
        SendBatch::new()
    }
}
