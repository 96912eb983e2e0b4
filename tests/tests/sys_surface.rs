//! The public surface of utun-sys mirrors between its OS modules: the names
//! utun uses on both OSes exist in both, with the same Rust types, so one
//! safe API can be written over either. Values differ per OS and are checked
//! against the C compiler by `cargo xtask verify-constants`, not here.

#[cfg(all(target_os = "linux", utun_apple_layouts))]
mod mirror {
    use core::ffi::c_ulong;
    use core::mem::size_of;
    use utun_sys::{apple, linux};

    /// Every ioctl request has the type `ioctl(2)` takes on both OSes.
    #[test]
    fn ioctl_requests_are_c_ulong_on_both() {
        let shared: [(c_ulong, c_ulong); 6] = [
            (apple::SIOCGIFFLAGS, linux::SIOCGIFFLAGS),
            (apple::SIOCSIFFLAGS, linux::SIOCSIFFLAGS),
            (apple::SIOCGIFMTU, linux::SIOCGIFMTU),
            (apple::SIOCSIFMTU, linux::SIOCSIFMTU),
            (apple::SIOCSIFADDR, linux::SIOCSIFADDR),
            (apple::SIOCDIFADDR, linux::SIOCDIFADDR),
        ];
        // The same request means a different number on each OS (BSD encodes
        // the argument size in it, Linux does not): a module mix-up shows here.
        for (mac, lin) in shared {
            assert_ne!(mac, lin);
        }
    }

    /// `ifreq` names the interface in its first IFNAMSIZ bytes on both OSes
    /// (what the safe API relies on to write the name once for either), though
    /// Linux reaches it through a union (`ifr_name` is a macro for
    /// `ifr_ifrn.ifrn_name` there) and Apple directly.
    #[test]
    fn ifreq_starts_with_the_name_on_both() {
        assert_eq!(apple::IFNAMSIZ, linux::IFNAMSIZ);
        let name_len = apple::IFNAMSIZ as usize;
        assert_eq!(core::mem::offset_of!(apple::ifreq, ifr_name), 0);
        assert_eq!(size_of_val(&apple::ifreq::default().ifr_name), name_len);
        assert_eq!(core::mem::offset_of!(linux::ifreq, ifr_ifrn), 0);
        // SAFETY: reading a field of a zeroed plain-data union.
        let linux_name = unsafe { linux::ifreq::default().ifr_ifrn.ifrn_name };
        assert_eq!(size_of_val(&linux_name), name_len);
        assert!(size_of::<apple::ifreq>() > name_len && size_of::<linux::ifreq>() > name_len);
    }

    /// The address families the 4-byte utun header carries differ from Linux's
    /// (AF_INET6 above all): code must take them from the right module.
    #[test]
    fn address_families_come_from_the_right_os() {
        assert_eq!(apple::AF_INET, linux::AF_INET);
        assert_ne!(apple::AF_INET6, linux::AF_INET6);
        assert_eq!(utun_sys::AF_INET6, linux::AF_INET6);
    }
}

/// Without darwin headers on this host there is no `utun_sys::apple` to
/// compare with: reported as skipped, with the reason.
#[cfg(all(target_os = "linux", not(utun_apple_layouts)))]
#[test]
#[ignore = "needs darwin headers for utun_sys::apple: run `cargo xtask test`, which installs them"]
fn the_mirror_needs_darwin_headers() {
    panic!("skipped: utun-sys made no Apple bindings on this host (no darwin headers)");
}
