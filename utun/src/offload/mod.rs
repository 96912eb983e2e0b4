//! Linux tun offload, the device-independent part: the `virtio_net_hdr`
//! codec ([`vnet`]), splitting a GSO packet the kernel hands over into plain
//! IP packets ([`split`]), merging a batch of plain packets into GSO packets
//! for the kernel to segment ([`coalesce`]), and the Internet checksum they
//! share ([`checksum`]); whole GSO packets passed through as they are
//! ([`gso`]); and what `TUNSETOFFLOAD` is asked, with its retry without USO,
//! as a function of the kernel's answers ([`negotiate`]). Pure work: no
//! system call (the device passes the ioctl in), no allocation per
//! packet, and malformed input is a typed [`Error`](crate::Error), never a panic.
//!
//! Linux only: the header and its flags exist only in Linux's UAPI headers
//! (`utun_sys::linux`), and only a Linux device opened with `IFF_VNET_HDR`
//! needs them. Only [`vnet`] and [`negotiate`] name `utun_sys` values (and
//! [`wire`] the two IP protocol numbers); the rest is plain byte arithmetic that would build on
//! any host, should macOS ever want it.
//!
//! The device calls them: `Device::recv_batch` reads one packet and
//! [`split::split`]s it, `Device::send_batch` merges with
//! [`coalesce::Coalescer::coalesce`] and writes each record
//! (backend/linux/device.rs).

pub(crate) mod checksum;
pub(crate) mod coalesce;
pub(crate) mod gso;
pub(crate) mod negotiate;
pub(crate) mod split;
pub(crate) mod vnet;
pub(crate) mod wire;

#[cfg(test)]
mod tests;
