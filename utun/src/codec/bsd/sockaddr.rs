//! Sockaddrs as bytes: the kernel's sockaddr rounding in routing messages
//! and the serialisation of the sockaddrs that go into them, field by field
//! with the shared field codec ([`crate::codec::field`]). Nothing here casts
//! a byte buffer to a struct.

use core::ffi::c_char;
use core::mem::{offset_of, size_of};

use utun_sys::apple;

use crate::codec::field::put;

/// The space a sockaddr of `sa_len` bytes takes in a routing message:
/// `ROUNDUP32` of XNU `bsd/net/rtsock.c` (and `ROUNDUP` of network_cmds
/// `route.tproj/route.c`): a multiple of `sizeof(uint32_t)`, and
/// `sizeof(uint32_t)` for `sa_len` 0.
pub(crate) const fn sa_space(sa_len: usize) -> usize {
    let word = size_of::<u32>();
    if sa_len > 0 { 1 + ((sa_len - 1) | (word - 1)) } else { word }
}

/// The 16 bytes of an `in6_addr`.
pub(crate) fn in6_octets(addr: &apple::in6_addr) -> [u8; 16] {
    // SAFETY: every member of the `in6_addr` union is an array of plain
    // integers spanning the same 16 bytes, so any bit pattern is a valid
    // `[u8; 16]`, and the union is always fully initialised by its builders.
    unsafe { addr.__u6_addr.__u6_addr8 }
}

/// A C `char` as a byte.
pub(crate) fn c_byte(c: c_char) -> u8 {
    c as u8
}

/// `sizeof(struct sockaddr_in)`.
pub(crate) const SIN_LEN: usize = size_of::<apple::sockaddr_in>();
/// `sizeof(struct sockaddr_in6)`.
pub(crate) const SIN6_LEN: usize = size_of::<apple::sockaddr_in6>();
/// `sizeof(struct sockaddr_dl)`.
pub(crate) const SDL_LEN: usize = size_of::<apple::sockaddr_dl>();

/// The bytes of a `sockaddr_in`, field by field (no padding is read).
pub(crate) fn sockaddr_in_bytes(sin: &apple::sockaddr_in) -> [u8; SIN_LEN] {
    let mut b = [0; SIN_LEN];
    put(&mut b, offset_of!(apple::sockaddr_in, sin_len), sin.sin_len);
    put(&mut b, offset_of!(apple::sockaddr_in, sin_family), sin.sin_family);
    put(&mut b, offset_of!(apple::sockaddr_in, sin_port), sin.sin_port);
    put(&mut b, offset_of!(apple::sockaddr_in, sin_addr) + offset_of!(apple::in_addr, s_addr), sin.sin_addr.s_addr);
    let zero = offset_of!(apple::sockaddr_in, sin_zero);
    for (i, &c) in sin.sin_zero.iter().enumerate() {
        put(&mut b, zero + i, c_byte(c));
    }
    b
}

/// The bytes of a `sockaddr_in6`, field by field.
pub(crate) fn sockaddr_in6_bytes(sin6: &apple::sockaddr_in6) -> [u8; SIN6_LEN] {
    let mut b = [0; SIN6_LEN];
    put(&mut b, offset_of!(apple::sockaddr_in6, sin6_len), sin6.sin6_len);
    put(&mut b, offset_of!(apple::sockaddr_in6, sin6_family), sin6.sin6_family);
    put(&mut b, offset_of!(apple::sockaddr_in6, sin6_port), sin6.sin6_port);
    put(&mut b, offset_of!(apple::sockaddr_in6, sin6_flowinfo), sin6.sin6_flowinfo);
    let addr = offset_of!(apple::sockaddr_in6, sin6_addr);
    for (i, &o) in in6_octets(&sin6.sin6_addr).iter().enumerate() {
        put(&mut b, addr + i, o);
    }
    put(&mut b, offset_of!(apple::sockaddr_in6, sin6_scope_id), sin6.sin6_scope_id);
    b
}

/// The bytes of a `sockaddr_dl`, field by field.
pub(crate) fn sockaddr_dl_bytes(sdl: &apple::sockaddr_dl) -> [u8; SDL_LEN] {
    let mut b = [0; SDL_LEN];
    put(&mut b, offset_of!(apple::sockaddr_dl, sdl_len), sdl.sdl_len);
    put(&mut b, offset_of!(apple::sockaddr_dl, sdl_family), sdl.sdl_family);
    put(&mut b, offset_of!(apple::sockaddr_dl, sdl_index), sdl.sdl_index);
    put(&mut b, offset_of!(apple::sockaddr_dl, sdl_type), sdl.sdl_type);
    put(&mut b, offset_of!(apple::sockaddr_dl, sdl_nlen), sdl.sdl_nlen);
    put(&mut b, offset_of!(apple::sockaddr_dl, sdl_alen), sdl.sdl_alen);
    put(&mut b, offset_of!(apple::sockaddr_dl, sdl_slen), sdl.sdl_slen);
    let data = offset_of!(apple::sockaddr_dl, sdl_data);
    for (i, &c) in sdl.sdl_data.iter().enumerate() {
        put(&mut b, data + i, c_byte(c));
    }
    b
}

/// The bytes of a `sockaddr` (16 bytes: `sa_len`, `sa_family`, `sa_data`).
#[cfg(test)]
pub(crate) fn sockaddr_bytes(sa: &apple::sockaddr) -> [u8; size_of::<apple::sockaddr>()] {
    let mut b = [0; size_of::<apple::sockaddr>()];
    put(&mut b, offset_of!(apple::sockaddr, sa_len), sa.sa_len);
    put(&mut b, offset_of!(apple::sockaddr, sa_family), sa.sa_family);
    let data = offset_of!(apple::sockaddr, sa_data);
    for (i, &c) in sa.sa_data.iter().enumerate() {
        put(&mut b, data + i, c_byte(c));
    }
    b
}

/// A `sockaddr` holding the first `size_of::<sockaddr>()` bytes of `bytes`
/// (a serialised `sockaddr_in`, say), the rest zero: how a
/// `struct sockaddr` member of an `ifreq`/`ifaliasreq` carries an address.
pub(crate) fn sockaddr_from_bytes(bytes: &[u8]) -> apple::sockaddr {
    let byte = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let mut sa = apple::sockaddr {
        sa_len: byte(offset_of!(apple::sockaddr, sa_len)),
        sa_family: byte(offset_of!(apple::sockaddr, sa_family)),
        ..Default::default()
    };
    let data = offset_of!(apple::sockaddr, sa_data);
    for (i, c) in sa.sa_data.iter_mut().enumerate() {
        *c = byte(data + i) as c_char;
    }
    sa
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sa_space_is_the_kernels_roundup() {
        let word = size_of::<u32>();
        assert_eq!(sa_space(0), word);
        assert_eq!(sa_space(1), word);
        assert_eq!(sa_space(word), word);
        assert_eq!(sa_space(word + 1), 2 * word);
        assert_eq!(sa_space(SIN_LEN), SIN_LEN);
        assert_eq!(sa_space(SIN6_LEN), SIN6_LEN);
        assert_eq!(sa_space(SDL_LEN), SDL_LEN);
    }

    #[test]
    fn sockaddr_round_trip() {
        let raw: Vec<u8> = (1..=20).collect();
        let sa = sockaddr_from_bytes(&raw);
        assert_eq!(sockaddr_bytes(&sa)[..], raw[..size_of::<apple::sockaddr>()]);
    }
}
