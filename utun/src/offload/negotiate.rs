//! What `TUNSETOFFLOAD` is asked, and what a refusal leads to: the
//! conversation with the kernel as a pure function of the kernel's answers,
//! so that every path of it is tested against a scripted kernel here, with
//! no special kernel needed (backend/linux/device.rs makes the real ioctl).
//!
//! The kernel's side (drivers/net/tun.c, `set_offload`): each flag it knows
//! is cleared from the argument as it is taken, and any flag left over makes
//! the whole call `EINVAL`, granting nothing. Kernels before Linux 6.2 do not
//! know `TUN_F_USO4`/`TUN_F_USO6`, so asking for them there is `EINVAL`, and
//! the device asks again without them.

use std::io;

use utun_sys::linux::{TUN_F_CSUM, TUN_F_TSO_ECN, TUN_F_TSO4, TUN_F_TSO6, optional};

use crate::batch::Offload;
use crate::error::{Error, Op};
use crate::name::InterfaceName;

/// What every offload device asks for: checksum offload, and TCP
/// segmentation offload for IPv4 and IPv6 with ECN.
pub(crate) const BASE: u32 = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

/// `TUN_F_USO4 | TUN_F_USO6`, when the headers utun-sys was built with name
/// both (Linux 6.2+ UAPI headers); `None` otherwise, and then USO is never asked for.
pub(crate) const USO: Option<u32> = match (optional::TUN_F_USO4, optional::TUN_F_USO6) {
    (Some(four), Some(six)) => Some(four | six),
    _ => None,
};

/// Asks for [`BASE`] and, when `uso` is `Some`, those flags too, through
/// `set` (one `TUNSETOFFLOAD` with the flags given); a refusal of the
/// request with USO (`EINVAL`) is followed by one without it. Returns what
/// was granted. Any other error, or a refusal of [`BASE`] itself, is the
/// error of `TUNSETOFFLOAD` on `name` (`EINVAL` is
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)).
pub(crate) fn negotiate(
    name: InterfaceName,
    uso: Option<u32>,
    mut set: impl FnMut(u32) -> io::Result<()>,
) -> Result<Offload, Error> {
    let failed = |e: io::Error| Error::os(Op::CreateDevice, e).on(name).about("TUNSETOFFLOAD");
    let granted_uso = match uso {
        Some(uso) => match set(BASE | uso) {
            Ok(()) => true,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => false,
            Err(e) => return Err(failed(e)),
        },
        None => false,
    };
    if !granted_uso {
        set(BASE).map_err(failed)?;
    }
    Ok(Offload { vnet_hdr: true, checksum: true, tso: true, tso_ecn: true, uso: granted_uso })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    /// The flags asked for USO: the headers' own when they name them; else a
    /// stand-in, the lowest bit [`BASE`] lacks (the scripted kernel only
    /// compares masks, so any bit outside [`BASE`] plays the part).
    fn uso() -> u32 {
        USO.unwrap_or(1 << BASE.trailing_ones())
    }

    /// A kernel as `set_offload` behaves: it grants a request whose flags are
    /// all in `knows`, and refuses any other with `EINVAL`, granting nothing.
    /// Every request is recorded in `asked`.
    fn kernel(knows: u32, asked: &mut Vec<u32>) -> impl FnMut(u32) -> io::Result<()> + '_ {
        move |flags| {
            asked.push(flags);
            if flags & !knows == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(libc::EINVAL)) }
        }
    }

    fn tun0() -> InterfaceName {
        InterfaceName::new("tun0").unwrap()
    }

    #[test]
    fn a_kernel_that_knows_uso_grants_everything_at_the_first_request() {
        let mut asked = Vec::new();
        let granted = negotiate(tun0(), Some(uso()), kernel(BASE | uso(), &mut asked)).unwrap();
        assert_eq!(asked, [BASE | uso()]);
        assert_eq!(granted, Offload { vnet_hdr: true, checksum: true, tso: true, tso_ecn: true, uso: true });
    }

    #[test]
    fn a_kernel_that_refuses_uso_is_asked_again_without_it() {
        let mut asked = Vec::new();
        let granted = negotiate(tun0(), Some(uso()), kernel(BASE, &mut asked)).unwrap();
        assert_eq!(asked, [BASE | uso(), BASE]);
        assert!(granted.tso && granted.checksum && granted.tso_ecn && granted.vnet_hdr, "{granted:?}");
        assert!(!granted.uso, "{granted:?}");
    }

    #[test]
    fn a_kernel_that_refuses_everything_is_a_typed_error_after_two_requests() {
        let mut asked = Vec::new();
        let err = negotiate(tun0(), Some(uso()), kernel(0, &mut asked)).unwrap_err();
        assert_eq!(asked, [BASE | uso(), BASE]);
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let text = err.to_string();
        assert!(text.contains("TUNSETOFFLOAD") && text.contains("tun0"), "{text}");
        let source = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<io::Error>());
        assert_eq!(source.and_then(io::Error::raw_os_error), Some(libc::EINVAL), "{err:?}");
    }

    #[test]
    fn without_uso_in_the_headers_it_is_never_asked_for() {
        for knows in [BASE, BASE | uso(), u32::MAX] {
            let mut asked = Vec::new();
            let granted = negotiate(tun0(), None, kernel(knows, &mut asked)).unwrap();
            assert_eq!(asked, [BASE]);
            assert!(granted.tso && !granted.uso, "{granted:?}");
        }
        let mut asked = Vec::new();
        let err = negotiate(tun0(), None, kernel(0, &mut asked)).unwrap_err();
        assert_eq!((asked.as_slice(), err.kind()), ([BASE].as_slice(), ErrorKind::InvalidInput));
    }

    #[test]
    fn an_error_other_than_einval_is_not_retried() {
        let mut asked = Vec::new();
        let err = negotiate(tun0(), Some(uso()), |flags| {
            asked.push(flags);
            Err(io::Error::from_raw_os_error(libc::EBADFD))
        })
        .unwrap_err();
        assert_eq!(asked, [BASE | uso()]);
        assert!(err.to_string().contains("TUNSETOFFLOAD"), "{err}");
    }

    #[test]
    fn uso_is_asked_exactly_when_the_headers_name_both_flags() {
        let both = optional::TUN_F_USO4.is_some() && optional::TUN_F_USO6.is_some();
        assert_eq!(USO.is_some(), both);
        if let (Some(four), Some(six), Some(uso)) = (optional::TUN_F_USO4, optional::TUN_F_USO6, USO) {
            assert_eq!(uso, four | six);
            assert_eq!(uso & BASE, 0, "USO's flags are not among the base flags");
        }
    }
}
