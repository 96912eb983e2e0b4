//! Interface names, checked once and stored inline (no allocation).

use std::fmt;

use crate::error::{Detail, Error, ErrorKind, Op};

/// The longest name, excluding the terminating NUL (`IFNAMSIZ - 1`).
pub const MAX_NAME_LEN: usize = utun_sys::IFNAMSIZ as usize - 1;

/// A network interface name such as `utun4` or `tun0`: 1 to
/// [`MAX_NAME_LEN`] bytes of ASCII letters, digits, `-`, `_` and `.`.
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
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            return Err(Error::invalid(
                Op::CreateDevice,
                ErrorKind::InvalidInput,
                Detail::Text(
                    format!("interface name {name:?} may hold only ASCII letters, digits, '-', '_', '.'").into(),
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
        // The bytes were checked to be ASCII in `new`.
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
        for bad in ["", "has space", "slash/no", "nul\0", "ünicode"] {
            assert_eq!(InterfaceName::new(bad).unwrap_err().kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
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
