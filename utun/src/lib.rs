//! Create a macOS `utun` (or Linux `tun`) interface, move IP packets through
//! it, give it addresses and an MTU, and steer routes into it, without running
//! `ifconfig`, `route` or `ip`: everything goes through the kernel's own
//! interfaces (kernel control sockets and ioctls on macOS, `/dev/net/tun`,
//! ioctls and rtnetlink on Linux), with every kernel constant and layout taken
//! from [`utun_sys`], which generates them from the OS headers.

pub mod builder;
pub mod device;
pub mod error;
pub mod guard;
pub mod interface;
pub mod name;
pub mod net;
pub mod packet;
pub mod routes;
#[cfg(feature = "tokio")]
pub mod tokio;
pub(crate) mod unix;

#[cfg(any(target_os = "macos", test))]
pub(crate) mod bsd;
#[cfg(target_os = "linux")]
pub(crate) mod linux;
#[cfg(target_os = "macos")]
pub(crate) mod macos;

pub use builder::{Tun, TunBuilder};
pub use device::Device;
pub use error::{Error, ErrorKind, Op, Result};
pub use guard::Cleanup;
pub use interface::Interface;
pub use name::InterfaceName;
pub use net::{InterfaceAddress, IpNet, Ipv4Net, Ipv6Net, NextHop, Route, RouteEntry};
pub use routes::RouteTable;
/// The raw bindings this crate is built on.
pub use utun_sys as sys;

/// The README's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
