//! Create a macOS `utun` (or Linux `tun`) interface, move IP packets through
//! it, give it addresses and an MTU, and steer routes into it, without running
//! `ifconfig`, `route` or `ip`: everything goes through the kernel's own
//! interfaces (kernel control sockets and ioctls on macOS, `/dev/net/tun`,
//! ioctls and rtnetlink on Linux), with every kernel constant and layout taken
//! from [`utun_sys`], which generates them from the OS headers.
//!
//! Every type is at the crate's root: [`Device`] (packets), [`Interface`]
//! (addresses, MTU, up/down), [`RouteTable`] (routes), [`TunBuilder`] and
//! [`Tun`] (all of it in one call), [`Cleanup`] (undo), [`Error`]; with the
//! `tokio` feature, [`AsyncDevice`].
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

// The one place the platform is chosen (as socket2 does): the rest of the
// crate calls `backend::...` and carries no `cfg` of its own.
#[cfg_attr(target_os = "linux", path = "backend/linux/mod.rs")]
#[cfg_attr(target_os = "macos", path = "backend/macos/mod.rs")]
mod backend;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
compile_error!("utun supports macOS (utun) and Linux (tun)");

mod builder;
mod codec;
mod device;
mod error;
mod guard;
mod interface;
mod name;
mod net;
mod packet;
mod routes;
mod unix;

#[cfg(feature = "tokio")]
mod async_device;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use async_device::AsyncDevice;
pub use builder::{Tun, TunBuilder};
pub use device::Device;
pub use error::{Error, ErrorKind, Op, Result};
pub use guard::{Cleanup, UndoError, Undone};
pub use interface::Interface;
pub use name::{InterfaceName, MAX_NAME_LEN};
pub use net::{InterfaceAddress, IpNet, Ipv4Net, Ipv6Net, NextHop, Route, RouteEntry};
pub use routes::RouteTable;
/// The raw bindings this crate is built on.
pub use utun_sys as sys;

#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod __bench;

#[cfg(feature = "fuzz-internals")]
#[doc(hidden)]
pub mod __fuzz;

/// The README's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
