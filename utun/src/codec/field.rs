//! The one field codec both message formats share: native-endian integers
//! read and written at offsets (always `offset_of!` of a bindgen struct) of
//! bounds-checked byte slices, whole structs field by field ([`put_fields!`],
//! [`get_fields!`]: no padding byte is ever read, no buffer is ever cast to a
//! struct), and the compile-time narrowing of `utun_sys` constants to the
//! width of the field they go in.

use core::mem::size_of;

/// A fixed-size integer read or written in native byte order (the kernel's).
pub(crate) trait NeBytes: Sized + Copy {
    /// Writes `self` at the start of `out`; `None` when `out` is too short.
    fn write_to(self, out: &mut [u8]) -> Option<()>;
    /// Reads a value from the start of `bytes`, `None` when too short.
    fn read_from(bytes: &[u8]) -> Option<Self>;
}

macro_rules! ne_bytes {
    ($($t:ty),*) => {$(
        impl NeBytes for $t {
            fn write_to(self, out: &mut [u8]) -> Option<()> {
                let src = self.to_ne_bytes();
                out.get_mut(..src.len())?.copy_from_slice(&src);
                Some(())
            }
            fn read_from(bytes: &[u8]) -> Option<Self> {
                let raw = bytes.get(..size_of::<$t>())?;
                Some(<$t>::from_ne_bytes(raw.try_into().ok()?))
            }
        }
    )*};
}
ne_bytes!(u8, i8, u16, i16, u32, i32, u64, i64);

/// Writes `value` at `offset` of `buf`. The encoders size their buffers from
/// the same `size_of`/`offset_of` values, so a miss is a bug in the encoder;
/// it is caught in debug builds and never panics in release builds.
pub(crate) fn put<T: NeBytes>(buf: &mut [u8], offset: usize, value: T) {
    let written = buf.get_mut(offset..).and_then(|out| value.write_to(out));
    debug_assert!(written.is_some(), "write at {offset} past a {}-byte buffer", buf.len());
}

/// Reads a `T` at `offset` of `buf`, `None` when it does not fit.
pub(crate) fn get<T: NeBytes>(buf: &[u8], offset: usize) -> Option<T> {
    T::read_from(buf.get(offset..)?)
}

// The struct-at-a-time helpers: only the routing and netlink messages use
// them, none of which iOS builds.
configuration! {
    /// Writes the listed integer fields of `$value` (a `$ty`) at their offsets
    /// in `$out` (see [`put`]).
    macro_rules! put_fields {
        ($out:expr, $value:expr, $ty:ty, [$($f:ident),* $(,)?]) => {{
            $( $crate::codec::field::put($out, ::core::mem::offset_of!($ty, $f), $value.$f); )*
        }};
    }
    pub(crate) use put_fields;

    /// Reads the listed integer fields of a `$ty` (the rest `Default`) from
    /// `$bytes`; returns `None` from the enclosing function when it is short.
    macro_rules! get_fields {
        ($bytes:expr, $ty:ty, [$($f:ident),* $(,)?]) => {{
            let mut v = <$ty>::default();
            $( v.$f = $crate::codec::field::get($bytes, ::core::mem::offset_of!($ty, $f))?; )*
            v
        }};
    }
    pub(crate) use get_fields;
}

/// A `u32` header constant as a `u8` field (families, message types),
/// checked at compile time where used in a `const`.
pub(crate) const fn u8_of(value: u32) -> u8 {
    assert!(value <= u8::MAX as u32, "constant does not fit in a u8");
    value as u8
}

/// A `u32` header constant as a `u16` field, checked the same way.
pub(crate) const fn u16_of(value: u32) -> u16 {
    assert!(value <= u16::MAX as u32, "constant does not fit in a u16");
    value as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_are_checked() {
        let mut buf = [0u8; 6];
        put(&mut buf, 2, 0x0102_0304u32);
        assert_eq!(get::<u32>(&buf, 2), Some(0x0102_0304));
        assert_eq!(get::<u32>(&buf, 3), None);
        assert_eq!(get::<u8>(&buf, 6), None);
        assert_eq!(get::<u8>(&buf, usize::MAX), None);
    }

    configuration! {
        #[derive(Default)]
        #[repr(C)]
        struct Pair {
            a: u8,
            b: u32,
        }

        fn read_pair(bytes: &[u8]) -> Option<Pair> {
            Some(get_fields!(bytes, Pair, [a, b]))
        }

        #[test]
        fn struct_fields_round_trip_at_their_offsets() {
            let mut buf = [0u8; size_of::<Pair>()];
            put_fields!(&mut buf, Pair { a: 7, b: 9 }, Pair, [a, b]);
            let back = read_pair(&buf).expect("fits");
            assert_eq!((back.a, back.b), (7, 9));
            assert!(read_pair(&buf[..buf.len() - 1]).is_none());
        }
    }
}
