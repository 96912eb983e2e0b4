//! A utun datagram as `recvmsg` hands it over: the 4-byte family header (the
//! protocol family in network byte order, XNU bsd/net/if_utun.c), the
//! packet, and the `MSG_TRUNC` flag.
//!
//! What `recvmsg` returns on XNU is what it copied, never the datagram's
//! length: `recvit` (bsd/kern/uipc_syscalls.c) returns `len -
//! uio_resid(uio)`, and `soreceive` (bsd/kern/uipc_socket.c) sets
//! `MSG_TRUNC` and drops the rest of the record (`sbdroprecord`) when an
//! atomic protocol's datagram did not fit. So a truncated packet's own
//! length is unknown: the error says it was larger than the buffer, and
//! gives the buffer's size.

use utun_sys::apple as sys;

use crate::error::{Detail, Error, ErrorKind, Op};

/// The family header's length: a `u_int32_t` (if_utun.c `utun_output`
/// prepends `sizeof(u_int32_t)` bytes of protocol family).
pub(crate) const HEADER_LEN: usize = size_of::<u32>();

/// The packet length of a received datagram of `received` bytes (header
/// included) whose header is `head`, read into a packet buffer of
/// `capacity` bytes; `truncated` is `MSG_TRUNC`.
///
/// A truncated datagram is [`ErrorKind::BufferTooSmall`] (the kernel has
/// dropped the rest); a datagram shorter than its header or of a family
/// other than IPv4 or IPv6 is [`ErrorKind::MalformedPacket`].
#[inline(always)]
pub(crate) fn packet_len(
    received: usize,
    truncated: bool,
    head: [u8; HEADER_LEN],
    capacity: usize,
) -> Result<usize, Error> {
    if truncated {
        return Err(too_large(capacity));
    }
    let family = u32::from_be_bytes(head);
    match received.checked_sub(HEADER_LEN) {
        Some(len) if family == sys::AF_INET || family == sys::AF_INET6 => Ok(len),
        Some(_) => Err(Error::invalid(Op::Recv, ErrorKind::MalformedPacket, Detail::Family(family))),
        None => Err(Error::invalid(Op::Recv, ErrorKind::MalformedPacket, Detail::Static("shorter than its header"))),
    }
}

/// The error for a datagram that did not fit: its length is unknown (the
/// kernel returned what it copied), the buffer's is not.
#[cold]
#[inline(never)]
fn too_large(capacity: usize) -> Error {
    Error::invalid(
        Op::Recv,
        ErrorKind::BufferTooSmall,
        Detail::Text(format!("the packet is larger than the buffer of {capacity} bytes").into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(family: u32) -> [u8; HEADER_LEN] {
        family.to_be_bytes()
    }

    #[test]
    fn a_whole_packet_is_its_length_without_the_header() {
        assert_eq!(packet_len(HEADER_LEN + 84, false, head(sys::AF_INET), 1500).unwrap(), 84);
        assert_eq!(packet_len(HEADER_LEN + 104, false, head(sys::AF_INET6), 104).unwrap(), 104);
    }

    #[test]
    fn a_truncated_packet_says_larger_than_the_buffer_with_the_buffer_size() {
        // What XNU returns with MSG_TRUNC: every byte it copied, the header
        // and a full buffer; the packet's own length is not known.
        let err = packet_len(HEADER_LEN + 16, true, head(sys::AF_INET), 16).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BufferTooSmall);
        let text = err.to_string();
        assert!(text.contains("larger than the buffer of 16 bytes"), "{text}");
        // Not a length that is only what was copied.
        assert!(!text.contains("16 bytes, limit 16"), "{text}");
        let err = packet_len(HEADER_LEN, true, head(sys::AF_INET6), 0).unwrap_err();
        assert!(err.to_string().contains("larger than the buffer of 0 bytes"), "{err}");
    }

    #[test]
    fn a_short_or_foreign_datagram_is_malformed() {
        let err = packet_len(HEADER_LEN - 1, false, head(sys::AF_INET), 16).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedPacket);
        let foreign = sys::AF_INET + sys::AF_INET6;
        let err = packet_len(HEADER_LEN + 20, false, head(foreign), 64).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedPacket);
        assert!(err.to_string().contains(&format!("family {foreign}")), "{err}");
    }
}
