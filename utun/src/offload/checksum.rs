//! The Internet checksum (RFC 1071): the ones'-complement sum of 16-bit
//! big-endian words, and the TCP/UDP pseudo-header (RFC 9293 §3.1, RFC 768,
//! RFC 8200 §8.1). Pure arithmetic on byte slices; never panics.

/// A running ones'-complement sum, not yet folded to 16 bits. Sums of
/// slices of even length can be added in any order; only the last slice of
/// a sum may have odd length (its last byte is padded with zero).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sum(u64);

impl Sum {
    /// Adds `bytes`, four at a time (as big-endian `u32`s: the end-around
    /// carry makes a 32-bit sum fold to the same 16-bit sum). A 64 KiB packet
    /// adds at most 2^14 words of 2^32, far from overflowing the `u64`.
    #[inline]
    pub(crate) fn add(self, bytes: &[u8]) -> Sum {
        let mut acc = self.0;
        let mut words = bytes.chunks_exact(4);
        for w in &mut words {
            acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
        }
        let rest = words.remainder();
        let mut tail = [0u8; 4];
        tail[..rest.len()].copy_from_slice(rest);
        acc += u64::from(u32::from_be_bytes(tail));
        Sum(acc)
    }

    /// Adds one 16-bit value.
    #[inline]
    pub(crate) fn add_u16(self, value: u16) -> Sum {
        Sum(self.0 + u64::from(value))
    }

    /// The sum folded to 16 bits (not complemented): what a partial
    /// checksum field holds (the pseudo-header sum a NEEDS_CSUM packet carries).
    #[inline]
    pub(crate) fn fold(self) -> u16 {
        let mut s = self.0;
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }

    /// The checksum to store: the complement of the folded sum.
    #[inline]
    pub(crate) fn checksum(self) -> u16 {
        !self.fold()
    }
}

/// The pseudo-header sum of a TCP or UDP segment: source and destination
/// addresses (4 or 16 bytes each, as they sit in the IP header, `addrs`),
/// the protocol and the transport length (header and payload).
#[inline]
pub(crate) fn pseudo_header(addrs: &[u8], protocol: u8, transport_len: usize) -> Sum {
    // A transport length above 16 bits (an IPv6 jumbogram) is never built
    // here; the 32-bit form is the one RFC 8200 gives and equals RFC 793's
    // 16-bit one for every length that fits.
    Sum::default().add(addrs).add_u16(u16::from(protocol)).add(&(transport_len as u32).to_be_bytes())
}

/// The checksum of the bytes as they are (a header whose checksum field is
/// part of `bytes`): `0` when the stored checksum is right.
#[inline]
pub(crate) fn verify(sum: Sum) -> bool {
    sum.fold() == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071's naive definition, one 16-bit word at a time.
    fn naive(bytes: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        for pair in bytes.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    #[test]
    fn agrees_with_the_naive_sum_for_every_length_and_alignment() {
        let data: Vec<u8> = (0..300u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for start in 0..4 {
            for len in 0..(data.len() - start) {
                let slice = &data[start..start + len];
                assert_eq!(Sum::default().add(slice).checksum(), naive(slice), "len {len} start {start}");
            }
        }
    }

    #[test]
    fn the_rfc_1071_example() {
        // RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(Sum::default().add(&bytes).fold(), 0xddf2);
    }

    #[test]
    fn a_stored_checksum_verifies() {
        let mut header = [0x45, 0, 0, 20, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        let c = Sum::default().add(&header).checksum();
        header[10..12].copy_from_slice(&c.to_be_bytes());
        assert!(verify(Sum::default().add(&header)));
        header[15] ^= 1;
        assert!(!verify(Sum::default().add(&header)));
    }
}
