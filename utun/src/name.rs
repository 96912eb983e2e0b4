//! Interface names, checked once and stored inline (no allocation).

use std::fmt;

use crate::error::{Detail, Error, ErrorKind, Op};

/// The longest name, excluding the terminating NUL (`IFNAMSIZ - 1`).
pub const MAX_NAME_LEN: usize = utun_sys::IFNAMSIZ as usize - 1;

/// A network interface name such as `utun4` or `tun0`: exactly the names
/// Linux accepts (net/core/dev.c, `dev_valid_name`): 1 to [`MAX_NAME_LEN`]
/// bytes, neither `.` nor `..`, with no `/`, `:`, NUL or white space (the
/// kernel's `isspace`: tab, line feed, vertical tab, form feed, carriage
/// return, space and the byte 0xA0); and no `%`, which the kernel takes for
/// a template (`tun%d`) of a name it makes up. So `d+1` or `wg-ü` are names; macOS
/// asks more of a utun name (`utunN`), which `Device::with_name` checks.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct InterfaceName {
    bytes: [u8; MAX_NAME_LEN],
    len: u8,
}

impl InterfaceName {
    /// Checks `name` (an over-long, empty or odd name is an
    /// [`ErrorKind::InvalidInput`] error).
    pub fn new(name: &str) -> Result<InterfaceName, Error> {
        let bad = |why: &'static str| Error::invalid(Op::CreateDevice, ErrorKind::InvalidInput, Detail::Static(why));
        if name.is_empty() {
            return Err(bad("an interface name cannot be empty"));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(Error::invalid(
                Op::CreateDevice,
                ErrorKind::InvalidInput,
                Detail::Text(format!("interface name {name:?} is longer than {MAX_NAME_LEN} bytes").into()),
            ));
        }
        if name == "." || name == ".." {
            return Err(Error::invalid(
                Op::CreateDevice,
                ErrorKind::InvalidInput,
                Detail::Text(format!("{name:?} cannot be an interface name (Linux: dev_valid_name)").into()),
            ));
        }
        if name.contains('%') {
            // The kernel takes a name with '%' for a template (`tun%d`) and
            // makes up another name from it (net/core/dev.c,
            // `dev_prep_valid_name` → `__dev_alloc_name`): no interface is
            // named so, and asking for one would be a silent fallback.
            return Err(Error::invalid(
                Op::CreateDevice,
                ErrorKind::InvalidInput,
                Detail::Text(
                    format!("interface name {name:?} holds '%', which Linux takes for a template of another name")
                        .into(),
                ),
            ));
        }
        if let Some(b) = name.bytes().find(|&b| !name_byte_ok(b)) {
            return Err(Error::invalid(
                Op::CreateDevice,
                ErrorKind::InvalidInput,
                Detail::Text(
                    format!(
                        "interface name {name:?} holds the byte {b:#04x}; '/', ':', NUL and white space are refused \
                         (Linux: dev_valid_name)"
                    )
                    .into(),
                ),
            ));
        }
        let mut bytes = [0; MAX_NAME_LEN];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Ok(InterfaceName { bytes, len: name.len() as u8 })
    }

    /// Reads a NUL-terminated (or full) name as the kernel returns it.
    pub(crate) fn from_c_bytes(raw: &[u8]) -> Option<InterfaceName> {
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        std::str::from_utf8(&raw[..end]).ok().and_then(|s| InterfaceName::new(s).ok())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        // The bytes came from a `&str` in `new`, whole.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }

    /// The name in a C `char[IFNAMSIZ]`, NUL-padded.
    pub(crate) fn to_c_array(self) -> [core::ffi::c_char; MAX_NAME_LEN + 1] {
        let mut out = [0; MAX_NAME_LEN + 1];
        for (o, b) in out.iter_mut().zip(self.as_str().bytes()) {
            *o = b as core::ffi::c_char;
        }
        out
    }
}

/// Whether `b` may be in an interface name: the loop of Linux's
/// `dev_valid_name` (net/core/dev.c), which refuses `/`, `:` and what the
/// kernel's `isspace` (lib/ctype.c `_ctype`: 9 to 13, 32 and 160) calls white
/// space; NUL ends a C string, so it cannot be in one.
fn name_byte_ok(b: u8) -> bool {
    !matches!(b, 0 | b'/' | b':' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0xa0)
}

impl fmt::Display for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::str::FromStr for InterfaceName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        InterfaceName::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(InterfaceName::new("utun4").unwrap().as_str(), "utun4");
        assert_eq!(InterfaceName::new(&"a".repeat(MAX_NAME_LEN)).unwrap().as_str().len(), MAX_NAME_LEN);
        for bad in ["", ".", "..", "has space", "tab\t", "slash/no", "colon:0", "nul\0", "nbsp\u{a0}", "à", "tun%d"] {
            assert_eq!(InterfaceName::new(bad).unwrap_err().kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
        // What Linux's dev_valid_name accepts: anything else.
        for good in ["d+1", "a.b", "...", "wg-ü", "é", "1", "a,b=c"] {
            assert_eq!(InterfaceName::new(good).unwrap().as_str(), good);
        }
        let err = InterfaceName::new(".").unwrap_err();
        assert!(err.to_string().contains("dev_valid_name"), "{err}");
        let long = "a".repeat(MAX_NAME_LEN + 1);
        let err = InterfaceName::new(&long).unwrap_err();
        assert!(err.to_string().contains("longer than"), "{err}");
    }

    #[test]
    fn c_round_trip() {
        let name = InterfaceName::new("tun0").unwrap();
        let c = name.to_c_array();
        let bytes: Vec<u8> = c.iter().map(|&b| b as u8).collect();
        assert_eq!(InterfaceName::from_c_bytes(&bytes), Some(name));
        assert_eq!(*c.last().unwrap(), 0);
    }
}
