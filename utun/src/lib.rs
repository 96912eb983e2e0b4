//! Create a macOS `utun` (or Linux `tun`) interface, move IP packets through
//! it, give it addresses and an MTU, and steer routes into it, without running
//! `ifconfig`, `route` or `ip`: everything goes through the kernel's own
//! interfaces (kernel control sockets and ioctls on macOS, `/dev/net/tun`,
//! ioctls and rtnetlink on Linux), with every kernel constant and layout taken
//! from [`utun_sys`], which generates them from the OS headers.
//!
//! Every type is at the crate's root: [`Device`] (packets; created, adopted
//! from a descriptor, or [`BorrowedDevice`] over one it must not close;
//! [`send_fd`] and [`recv_fd`] hand a descriptor to another process), [`Interface`]
//! (addresses, MTU, up/down), [`RouteTable`] (routes), [`TunBuilder`] and
//! [`Tun`] (all of it in one call), [`Cleanup`] (undo), [`Error`]; with the
//! `tokio` feature, [`AsyncDevice`].
//!
//! # iOS
//!
//! On iOS (`aarch64-apple-ios`, `aarch64-apple-ios-sim`, `x86_64-apple-ios`)
//! only the packet path exists: [`Device`] and [`AsyncDevice`]. `Interface`,
//! `RouteTable`, `TunBuilder`, `Tun`, `Cleanup` and `Device::interface` are
//! absent at compile time, not present and failing: there the Network
//! Extension (`NEPacketTunnelProvider`) creates the utun and owns its
//! addresses, MTU and routes, which an app may not change, so code that tried
//! is better refused by the compiler than at run time. iOS runs the macOS
//! backend (the same XNU kernel interface), less what the private
//! `configuration!` macro below leaves out.
//!
//! # How the crate is built
//!
//! Three layers, each in its own files (ARCHITECTURE.md in the repository
//! draws them): the public API (`device.rs`, `interface.rs`, `routes.rs`,
//! `builder.rs`, `guard.rs`), which calls one backend chosen at compile time
//! (`backend/linux/` or `backend/macos/`, the same files with the same
//! functions: `device`, `ifconfig`, `route`); the system calls both backends
//! share (`unix.rs`); and the pure byte layer (`codec/`), which builds and
//! parses every request and message without a system call.

/// The items that configure the interface or the routing table (addresses,
/// MTU, flags, routes, their undo), and the code only they use: compiled on
/// macOS and Linux, left out on iOS, where the Network Extension
/// (`NEPacketTunnelNetworkSettings`) owns them and an app may not change them.
/// Modules elsewhere wrap what they leave out on iOS in this macro rather
/// than name the OS themselves, so that what iOS lacks is decided here.
macro_rules! configuration {
    ($($item:item)*) => {
        $(
            #[cfg(not(target_os = "ios"))]
            $item
        )*
    };
}

// The one place the platform is chosen (as socket2 does): the rest of the
// crate calls `backend::...` and carries no `cfg` of its own. iOS runs the
// same kernel (XNU) and so the macOS backend, less what `configuration!`
// leaves out.
#[cfg_attr(target_os = "linux", path = "backend/linux/mod.rs")]
#[cfg_attr(any(target_os = "macos", target_os = "ios"), path = "backend/macos/mod.rs")]
mod backend;
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "ios")))]
compile_error!("utun supports macOS and iOS (utun) and Linux (tun)");

// On iOS the byte layer's address requests and parsers serve only the
// configuration that iOS leaves out: built (their unit tests run), unused.
mod adopt;
mod batch;
#[cfg_attr(target_os = "ios", allow(dead_code))]
mod codec;
mod device;
mod error;
mod handover;
mod name;
mod net;
#[cfg(target_os = "linux")]
mod offload;
mod packet;
mod unix;
configuration! {
    mod builder;
    mod guard;
    mod interface;
    mod routes;
}

#[cfg(feature = "tokio")]
mod async_device;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use async_device::AsyncDevice;
#[cfg(target_os = "linux")]
pub use batch::Segmentation;
pub use batch::{Offload, RecvBatch, SendBatch};
pub use device::{BorrowedDevice, Device};
pub use error::{Error, ErrorKind, Op, Result};
pub use handover::{recv_fd, send_fd};
pub use name::{InterfaceName, MAX_NAME_LEN};
pub use net::{InterfaceAddress, IpNet, Ipv4Net, Ipv6Net, NextHop, Route, RouteEntry};
configuration! {
    pub use builder::{Tun, TunBuilder};
    pub use guard::{Cleanup, UndoError, Undone};
    pub use interface::Interface;
    pub use routes::RouteTable;
}
/// The raw bindings this crate is built on.
pub use utun_sys as sys;

#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod __bench;

// The fuzz targets' way in: the parsers and the routing conversation,
// which iOS leaves out.
configuration! {
    #[cfg(feature = "fuzz-internals")]
    #[doc(hidden)]
    pub mod __fuzz;
}

/// The README's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
