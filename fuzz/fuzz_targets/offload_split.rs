//! The Linux offload's receive side: one packet a tun device opened with
//! `IFF_VNET_HDR` read, its `virtio_net_hdr` and the packet, split into
//! plain IP packets (`Device::recv_batch`).
//!
//! Input: a control byte, then 10 bytes of header, then the packet.
//! * control bit 0 clear: the header bytes are a `virtio_net_hdr` read by
//!   the library's parser (what the device does), whose answer is checked
//!   against the header's fields at bindgen's offsets; set: the header's
//!   fields taken from the bytes as this target's own encoding (byte 0: bit 0
//!   `NEEDS_CSUM`, bit 1 `DATA_VALID`, bit 7 ECN; byte 1 mod 4: none, TCPv4,
//!   TCPv6, UDP; then `hdr_len`, `gso_size`, `csum_start`, `csum_offset`,
//!   little-endian), so that UDP GSO is split even where the headers utun
//!   was built with cannot name it;
//! * control bits 1..7: the number of buffers less one (1 to 128), each as
//!   long as the packet.
//!
//! Properties: never a panic; the answer is what `split_check::expected`
//! states (Ok with the segment count, `InvalidInput` for a malformed header
//! or packet, `BufferTooSmall` only for too few buffers, after which as many
//! buffers as segments succeed); on Ok every packet is well formed with
//! verifying checksums, and the payloads are the GSO payload in order
//! (`split_check`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[cfg(target_os = "linux")]
mod check {
    use std::mem::offset_of;

    use utun::__fuzz::offload::{self, Gso, Header, VNET_HDR_LEN};
    use utun::ErrorKind;
    use utun::sys::linux::{self as sys, virtio_net_hdr};
    use utun_fuzz::split_check;

    /// The most bytes of buffers a retry with enough of them may take.
    const RETRY_BYTES: usize = 1 << 20;

    fn fields(raw: &[u8]) -> Header {
        let le = |at: usize| u16::from_le_bytes([raw[at], raw[at + 1]]);
        Header {
            needs_csum: raw[0] & 1 != 0,
            data_valid: raw[0] & 2 != 0,
            ecn: raw[0] & 0x80 != 0,
            gso: [Gso::None, Gso::TcpV4, Gso::TcpV6, Gso::UdpL4][usize::from(raw[1] % 4)],
            hdr_len: le(2),
            gso_size: le(4),
            csum_start: le(6),
            csum_offset: le(8),
        }
    }

    /// The parser against the header's definition: known flags only, a
    /// known GSO type (UDP only where the headers name it), ECN only on TCP;
    /// the 16-bit fields in native order at bindgen's offsets.
    fn check_parse(raw: &[u8], parsed: Result<Header, ErrorKind>) {
        let byte = |v: u32| u8::try_from(v).expect("a flag of the u8 fields");
        let flags = raw[offset_of!(virtio_net_hdr, flags)];
        let gso_type = raw[offset_of!(virtio_net_hdr, gso_type)];
        let ecn = gso_type & byte(sys::VIRTIO_NET_HDR_GSO_ECN) != 0;
        let kind = gso_type & !byte(sys::VIRTIO_NET_HDR_GSO_ECN);
        let gso = if kind == byte(sys::VIRTIO_NET_HDR_GSO_NONE) {
            Some(Gso::None)
        } else if kind == byte(sys::VIRTIO_NET_HDR_GSO_TCPV4) {
            Some(Gso::TcpV4)
        } else if kind == byte(sys::VIRTIO_NET_HDR_GSO_TCPV6) {
            Some(Gso::TcpV6)
        } else if sys::optional::VIRTIO_NET_HDR_GSO_UDP_L4.is_some_and(|u| kind == byte(u)) {
            Some(Gso::UdpL4)
        } else {
            None
        };
        let (needs, valid) = (byte(sys::VIRTIO_NET_HDR_F_NEEDS_CSUM), byte(sys::VIRTIO_NET_HDR_F_DATA_VALID));
        let ok = flags & !(needs | valid) == 0 && gso.is_some_and(|g| !ecn || matches!(g, Gso::TcpV4 | Gso::TcpV6));
        match parsed {
            Ok(h) => {
                assert!(ok, "accepted flags {flags:#x} gso_type {gso_type:#x}");
                let ne = |at: usize| u16::from_ne_bytes([raw[at], raw[at + 1]]);
                let want = Header {
                    needs_csum: flags & needs != 0,
                    data_valid: flags & valid != 0,
                    gso: gso.unwrap_or_default(),
                    ecn,
                    hdr_len: ne(offset_of!(virtio_net_hdr, hdr_len)),
                    gso_size: ne(offset_of!(virtio_net_hdr, gso_size)),
                    csum_start: ne(offset_of!(virtio_net_hdr, csum_start)),
                    csum_offset: ne(offset_of!(virtio_net_hdr, csum_offset)),
                };
                assert_eq!(h, want, "the parsed header");
            }
            Err(kind) => {
                assert!(!ok, "refused flags {flags:#x} gso_type {gso_type:#x}: {kind:?}");
                assert_eq!(kind, ErrorKind::InvalidInput);
            }
        }
    }

    pub fn run(data: &[u8]) {
        let Some((&control, rest)) = data.split_first() else { return };
        let Some((raw, packet)) = rest.split_at_checked(VNET_HDR_LEN) else {
            assert_eq!(offload::parse_header(rest), Err(ErrorKind::InvalidInput), "a header cut short");
            return;
        };
        let hdr = if control & 1 == 0 {
            let parsed = offload::parse_header(raw);
            check_parse(raw, parsed);
            match parsed {
                Ok(h) => h,
                Err(_) => return,
            }
        } else {
            fields(raw)
        };
        let slots = usize::from(control >> 1) + 1;
        match split_check::split(&hdr, packet, slots) {
            Ok(_) | Err(ErrorKind::InvalidInput) => {}
            Err(ErrorKind::BufferTooSmall) => {
                // Too few buffers is all that was wrong: as many as segments do.
                let needed = split_check::expected(&hdr, packet, usize::MAX).expect("a valid GSO packet");
                if needed.saturating_mul(packet.len()) <= RETRY_BYTES {
                    let segs = split_check::split(&hdr, packet, needed).expect("enough buffers");
                    assert_eq!(segs.len(), needed);
                }
            }
            Err(other) => panic!("split answered {other:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    #[cfg(target_os = "linux")]
    check::run(data);
    #[cfg(not(target_os = "linux"))]
    let _ = data;
});
