//! The Internet checksum (RFC 1071): the ones'-complement sum of 16-bit
//! big-endian words, and the TCP/UDP pseudo-header (RFC 9293 §3.1, RFC 768,
//! RFC 8200 §8.1). Pure arithmetic on byte slices; never panics.

/// A running ones'-complement sum, not yet folded to 16 bits. Sums of
/// slices of even length can be added in any order; only the last slice of
/// a sum may have odd length (its last byte is padded with zero).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sum(u64);

impl Sum {
    /// Adds `bytes`: their native-endian sum ([`native_sum`]) folded to 16
    /// bits, and only that swapped to big-endian. The ones'-complement sum
    /// is byte-order independent (RFC 1071 §2 (B)) and folds the same from
    /// any word width (§2 (C)).
    #[inline]
    pub(crate) fn add(self, bytes: &[u8]) -> Sum {
        // The sum of native-endian 16-bit words: on a little-endian host,
        // the big-endian sum with its two bytes swapped.
        let folded = Sum(native_sum(bytes)).fold();
        let big_endian = if cfg!(target_endian = "little") { folded.swap_bytes() } else { folded };
        Sum(self.0 + u64::from(big_endian))
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

/// The sum of `bytes` as native-endian words (the last ones padded with
/// zeros), not folded: what [`Sum::add`] folds. With AVX2 (detected at run
/// time, x86-64) the widening loop the compiler vectorizes 32 bytes a step;
/// elsewhere two add-with-carry chains of 64-bit words. Both are checked
/// against a byte-by-byte sum in the tests.
#[inline]
fn native_sum(bytes: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above), the only
        // requirement of a function compiled for it.
        return unsafe { widening_sum_avx2(bytes) };
    }
    carry_sum(bytes)
}

/// Native-endian `u32` words added into a `u64`: no carry to handle (2^32
/// words would be needed to overflow), which is what lets the compiler use
/// wide vector adds.
#[inline(always)]
fn widening_sum(bytes: &[u8]) -> u64 {
    let mut acc = 0u64;
    let mut words = bytes.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut tail = [0u8; 4];
    tail[..rest.len()].copy_from_slice(rest);
    acc + u64::from(u32::from_ne_bytes(tail))
}

/// [`widening_sum`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn widening_sum_avx2(bytes: &[u8]) -> u64 {
    widening_sum(bytes)
}

/// Native-endian 64-bit words with end-around carry: the carries counted
/// (each worth 2^64 ≡ 1 modulo 2^64 − 1), two independent chains, 16 bytes
/// a step; returned folded to 34 bits.
fn carry_sum(bytes: &[u8]) -> u64 {
    let word = |b: &[u8]| u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    let (mut a, mut b, mut carries) = (0u64, 0u64, 0u64);
    let mut pairs = bytes.chunks_exact(16);
    for p in &mut pairs {
        let (s, c) = a.overflowing_add(word(&p[..8]));
        a = s;
        carries += u64::from(c);
        let (s, c) = b.overflowing_add(word(&p[8..]));
        b = s;
        carries += u64::from(c);
    }
    let rest = pairs.remainder();
    let mut tail = [0u8; 16];
    tail[..rest.len()].copy_from_slice(rest);
    let mut extra = 0u64;
    for w in [word(&tail[..8]), word(&tail[8..]), b, carries] {
        let (s, c) = a.overflowing_add(w);
        a = s;
        extra += u64::from(c);
    }
    (a & 0xffff_ffff) + (a >> 32) + extra
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
        let data: Vec<u8> = (0..600u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for start in 0..4 {
            for len in 0..(data.len() - start) {
                let slice = &data[start..start + len];
                assert_eq!(Sum::default().add(slice).checksum(), naive(slice), "len {len} start {start}");
                // Both ways of summing, whichever `add` picks on this CPU.
                for native in [widening_sum(slice), carry_sum(slice)] {
                    let folded = Sum(native).fold();
                    let big_endian = if cfg!(target_endian = "little") { folded.swap_bytes() } else { folded };
                    assert_eq!(!big_endian, naive(slice), "len {len} start {start}");
                }
            }
        }
    }

    #[test]
    fn carries_out_of_every_word_are_kept() {
        // All ones: every 64-bit add overflows.
        for len in 0..600 {
            let ones = vec![0xffu8; len];
            assert_eq!(Sum(carry_sum(&ones)).fold(), Sum(widening_sum(&ones)).fold(), "len {len}");
            assert_eq!(Sum::default().add(&ones).checksum(), naive(&ones), "len {len}");
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
