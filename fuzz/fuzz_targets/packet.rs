//! The packet checks of both directions against their contract, stated here
//! independently: whatever the bytes, the fast path and the full check agree
//! with it, and nothing panics.
//!
//! * outgoing (`Device::send`): an IPv4 or IPv6 packet (version nibble), at
//!   least its fixed header, no larger than IP carries (65535; IPv6: 40 +
//!   65535), not cut short of the length its header states;
//! * incoming on Linux (`Device::recv`, no family header): the version, and
//!   the stated length within what was read; a shortfall in a read that
//!   filled the buffer is `BufferTooSmall` (the kernel cut it), otherwise
//!   `MalformedPacket`;
//! * incoming on macOS (the utun family header): `MSG_TRUNC` is
//!   `BufferTooSmall`; a datagram shorter than its header or of another
//!   family is `MalformedPacket`; otherwise the packet is what follows the
//!   4-byte header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use utun::__fuzz::packet;
use utun::ErrorKind;

fn outgoing_contract(p: &[u8]) -> Result<u8, ErrorKind> {
    let version = p.first().ok_or(ErrorKind::MalformedPacket)? >> 4;
    let (header, max, field, fixed) = match version {
        4 => (20, 65535, 2, 0),
        6 => (40, 40 + 65535, 4, 40),
        _ => return Err(ErrorKind::MalformedPacket),
    };
    if p.len() > max {
        return Err(ErrorKind::PacketTooLarge);
    }
    if p.len() < header {
        return Err(ErrorKind::MalformedPacket);
    }
    let stated = fixed + usize::from(u16::from_be_bytes([p[field], p[field + 1]]));
    if stated > p.len() {
        return Err(ErrorKind::MalformedPacket);
    }
    Ok(version)
}

#[cfg(target_os = "linux")]
fn incoming_contract(p: &[u8], capacity: usize) -> Result<(), ErrorKind> {
    let cut = if p.len() == capacity { ErrorKind::BufferTooSmall } else { ErrorKind::MalformedPacket };
    let Some(first) = p.first() else { return Err(cut) };
    let (field, fixed) = match first >> 4 {
        4 => (2, 0),
        6 => (4, 40),
        _ => return Err(ErrorKind::MalformedPacket),
    };
    let Some(stated) = p.get(field..field + 2) else { return Err(cut) };
    if fixed + usize::from(u16::from_be_bytes([stated[0], stated[1]])) > p.len() {
        return Err(cut);
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else { return };
    // Bits 0 and 1 both set: the packet grown to around IP's limits (the
    // fuzzer's inputs are short), zero-filled after its bytes, to reach
    // PacketTooLarge (a memset, not a per-byte loop: the target stays fast).
    let grown;
    let p: &[u8] = if control & 3 == 3 {
        let target = (65535 - 64 + usize::from(control >> 2) * 4).max(rest.len());
        let mut g = vec![0u8; target];
        g[..rest.len()].copy_from_slice(rest);
        grown = g;
        &grown
    } else {
        rest
    };

    assert_eq!(packet::check_outgoing(p), outgoing_contract(p), "outgoing check of {} bytes", p.len());

    // Bits 1..: how much room the read had beyond the packet (0: the packet
    // filled the buffer).
    let room = usize::from(control >> 1) % 4;
    #[cfg(target_os = "linux")]
    assert_eq!(packet::check_incoming(p, p.len() + room), incoming_contract(p, p.len() + room), "incoming check");

    // macOS: the first 4 bytes are the family header.
    let truncated = control & 0x80 != 0;
    let head: [u8; 4] = p.get(..4).and_then(|h| h.try_into().ok()).unwrap_or([0; 4]);
    let received = p.len();
    let expected = if truncated {
        Err(ErrorKind::BufferTooSmall)
    } else if received < 4 || !packet::utun_families().contains(&u32::from_be_bytes(head)) {
        // Shorter than its family header, or a family utun does not carry.
        Err(ErrorKind::MalformedPacket)
    } else {
        Ok(received - 4)
    };
    assert_eq!(packet::utun_packet_len(received, truncated, head, received + room), expected, "utun datagram");
});
