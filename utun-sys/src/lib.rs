//! Raw bindings for creating and configuring macOS `utun` and Linux `tun`
//! interfaces, generated at build time by [bindgen] from the target's own
//! headers.
//!
//! * On Apple targets, `apple` comes from the SDK headers `sys/kern_control.h`,
//!   `sys/sys_domain.h`, `net/if_utun.h`, `sys/sockio.h`, `net/if.h`,
//!   `net/if_dl.h`, `net/if_types.h`, `net/route.h`, `netinet/in.h` and
//!   `netinet6/in6_var.h`.
//! * On iOS (`aarch64-apple-ios`, `aarch64-apple-ios-sim`, `x86_64-apple-ios`)
//!   `apple` is the packet path only: the same kernel control, socket option
//!   and interface ioctl items, without `net/route.h`'s routing messages (the
//!   Network Extension owns routes there). The iPhoneOS SDK leaves out
//!   `sys/kern_control.h`, `net/if_utun.h` and a few others; utun-sys's own
//!   declarations (`shim/apple/own/`) stand in for them, each proven equal
//!   to the macOS SDK's by `cargo xtask verify-constants --own-declarations`.
//! * On Linux targets, `linux` comes from the kernel's UAPI headers
//!   (`linux/if_tun.h`, `linux/if_ether.h`, `linux/if.h`, `linux/sockios.h`, `linux/ipv6.h`,
//!   `linux/ipv6_route.h`, `linux/if_link.h`,
//!   `linux/netlink.h`, `linux/rtnetlink.h`, `linux/if_addr.h`, `linux/virtio_net.h`
//!   for the offload header `virtio_net_hdr`); values only newer headers have
//!   are in `linux::optional` as `Option`s.
//!
//! The items of the current target's module are also re-exported at the crate
//! root, so `utun_sys::SIOCGIFFLAGS` and `utun_sys::ifreq` name the right thing
//! on either OS. Names shared by both modules (`AF_INET`, `AF_INET6`, `IFNAMSIZ`,
//! `IFF_UP`, `IFF_RUNNING`, `IFF_POINTOPOINT`, the `SIOC[GS]IF*` ioctls, `ifreq`,
//! `sockaddr_in`, `sockaddr_in6`, ...) mean the same thing on both.
//!
//! Function-like macros that bindgen cannot evaluate (`CTLIOCGINFO`, every
//! `SIOC*` ioctl, `TUNSETIFF`) go through a small C shim
//! (`shim/<os>/utun_shim.h`) whose `static const` initialisers libclang
//! evaluates for the target; every ioctl request is a `c_ulong`, the type
//! `ioctl(2)` takes on both OSes. No number in this crate is typed by hand, and
//! `cargo xtask verify-constants` in the utun repository compares every
//! constant, size and offset here with an independently compiled C probe.
//!
//! Generic POSIX socket API constants (`SOCK_DGRAM`, `O_RDWR`, errno values)
//! are left to the [`libc`](https://docs.rs/libc) crate.
//!
//! [bindgen]: https://docs.rs/bindgen
#![no_std]

/// Bindings generated from Apple's headers (present on Apple targets, and on
/// other targets with the `apple-layouts` feature, for testing code that
/// builds macOS kernel messages). On iOS, the packet path only.
///
/// With `apple-layouts` on a non-Apple target and
/// `UTUN_SYS_REQUIRE_APPLE_LAYOUTS=0`, the build goes on without this module
/// when it finds no darwin headers, and says so to dependents' build scripts:
/// `DEP_UTUN_SYS_APPLE_LAYOUTS` is `1` when the module exists, `0` when not
/// (then `DEP_UTUN_SYS_APPLE_LAYOUTS_MISSING` says why).
#[cfg(utun_sys_apple)]
#[allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    missing_docs,
    clippy::all,
    clippy::pedantic,
    clippy::undocumented_unsafe_blocks,
    unnecessary_transmutes
)]
pub mod apple {
    include!(concat!(env!("OUT_DIR"), "/apple.rs"));
}

/// Bindings generated from the Linux kernel's UAPI headers.
#[cfg(target_os = "linux")]
#[allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    missing_docs,
    clippy::all,
    clippy::pedantic,
    clippy::undocumented_unsafe_blocks,
    unnecessary_transmutes
)]
pub mod linux {
    include!(concat!(env!("OUT_DIR"), "/linux.rs"));

    /// Offload values that only newer UAPI headers define (Linux 6.2 added
    /// UDP segmentation offload): `Some` with the header's value when the
    /// headers the crate was built with have it, `None` when they do not.
    /// Nothing is typed by hand: the build script sees whether bindgen
    /// generated the constant, and each `Some` is that constant.
    pub mod optional {
        /// `TUN_F_USO4` (linux/if_tun.h): the tun device may hand over UDP GSO packets over IPv4.
        #[cfg(utun_sys_tun_f_uso4)]
        pub const TUN_F_USO4: Option<u32> = Some(super::TUN_F_USO4);
        /// `TUN_F_USO4` (linux/if_tun.h): absent from these headers.
        #[cfg(not(utun_sys_tun_f_uso4))]
        pub const TUN_F_USO4: Option<u32> = None;
        /// `TUN_F_USO6` (linux/if_tun.h): the tun device may hand over UDP GSO packets over IPv6.
        #[cfg(utun_sys_tun_f_uso6)]
        pub const TUN_F_USO6: Option<u32> = Some(super::TUN_F_USO6);
        /// `TUN_F_USO6` (linux/if_tun.h): absent from these headers.
        #[cfg(not(utun_sys_tun_f_uso6))]
        pub const TUN_F_USO6: Option<u32> = None;
        /// `VIRTIO_NET_HDR_GSO_UDP_L4` (linux/virtio_net.h): the GSO type of a UDP GSO packet.
        #[cfg(utun_sys_virtio_net_hdr_gso_udp_l4)]
        pub const VIRTIO_NET_HDR_GSO_UDP_L4: Option<u32> = Some(super::VIRTIO_NET_HDR_GSO_UDP_L4);
        /// `VIRTIO_NET_HDR_GSO_UDP_L4` (linux/virtio_net.h): absent from these headers.
        #[cfg(not(utun_sys_virtio_net_hdr_gso_udp_l4))]
        pub const VIRTIO_NET_HDR_GSO_UDP_L4: Option<u32> = None;
    }
}

#[cfg(any(target_os = "macos", target_os = "ios"))]
pub use apple::*;
#[cfg(target_os = "linux")]
pub use linux::*;

#[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "linux")))]
compile_error!("utun-sys supports macOS and iOS (utun) and Linux (tun) targets only");
