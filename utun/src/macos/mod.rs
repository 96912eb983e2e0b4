//! The macOS backend: utun kernel-control sockets, interface ioctls on
//! `AF_INET`/`AF_INET6` datagram sockets, and the `PF_ROUTE` routing socket.

pub(crate) mod device;
pub(crate) mod ifconfig;
pub(crate) mod route;

/// `SIOCAIFADDR`/`SIOCAIFADDR_IN6` update an existing address in place.
pub(crate) use ifconfig::add_address as replace_address;
pub(crate) use ifconfig::{add_address, remove_address};
