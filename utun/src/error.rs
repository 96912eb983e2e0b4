//! One error type for every operation: what was being done, on which
//! interface, why it failed (a [`ErrorKind`] to match on), and the OS error
//! as the source.

use std::fmt;
use std::io;

use crate::name::InterfaceName;

/// What the library was doing when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Creating the device (`socket`/`connect` of a utun control socket on
    /// macOS, `open("/dev/net/tun")` + `TUNSETIFF` on Linux).
    CreateDevice,
    /// Reading the device's name or index.
    QueryDevice,
    /// Switching blocking/non-blocking mode, or another device option.
    SetDeviceOption,
    /// Writing a packet to the device.
    Send,
    /// Reading a packet from the device.
    Recv,
    /// Opening the socket that configures interfaces or routes.
    OpenSocket,
    /// Adding an address to an interface.
    AddAddress,
    /// Removing an address from an interface.
    RemoveAddress,
    /// Reading the MTU.
    GetMtu,
    /// Setting the MTU.
    SetMtu,
    /// Reading the interface flags.
    GetFlags,
    /// Setting the interface flags (up/down).
    SetFlags,
    /// Adding a route.
    AddRoute,
    /// Deleting a route.
    DeleteRoute,
    /// Looking a route up.
    GetRoute,
    /// Checking a descriptor handed to [`Device::from_fd`](crate::Device::from_fd)
    /// or [`Device::borrow_fd`](crate::Device::borrow_fd), or looking for one.
    AdoptDevice,
    /// Sending a descriptor over a Unix socket ([`send_fd`](crate::send_fd)).
    SendDescriptor,
    /// Receiving a descriptor over a Unix socket ([`recv_fd`](crate::recv_fd)).
    RecvDescriptor,
}

impl Op {
    fn describe(self) -> &'static str {
        match self {
            Op::CreateDevice => "creating the device",
            Op::QueryDevice => "reading the device's name or index",
            Op::SetDeviceOption => "setting a device option",
            Op::Send => "sending a packet",
            Op::Recv => "receiving a packet",
            Op::OpenSocket => "opening a configuration socket",
            Op::AddAddress => "adding an address",
            Op::RemoveAddress => "removing an address",
            Op::GetMtu => "reading the MTU",
            Op::SetMtu => "setting the MTU",
            Op::GetFlags => "reading the interface flags",
            Op::SetFlags => "setting the interface flags",
            Op::AddRoute => "adding a route",
            Op::DeleteRoute => "deleting a route",
            Op::GetRoute => "looking up a route",
            Op::AdoptDevice => "adopting a device descriptor",
            Op::SendDescriptor => "sending a descriptor",
            Op::RecvDescriptor => "receiving a descriptor",
        }
    }
}

/// Why an operation failed, coarse enough to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The process lacks the privilege (`EPERM`/`EACCES`): run as root.
    PermissionDenied,
    /// The requested unit or name is in use (`EBUSY`).
    Busy,
    /// No such interface, address or route (`ENXIO`, `ENODEV`, `ESRCH`;
    /// `EADDRNOTAVAIL` for any operation but adding an address: see
    /// [`InvalidInput`](ErrorKind::InvalidInput)).
    NotFound,
    /// The address or route exists already (`EEXIST`).
    AlreadyExists,
    /// The kernel has no way to reach the gateway or destination (`ENETUNREACH`).
    NetworkUnreachable,
    /// An argument was rejected, by the library or by the kernel (`EINVAL`;
    /// `EADDRNOTAVAIL` for [`Op::AddAddress`]: an address no interface may
    /// have, such as `::1`, `::` or a multicast
    /// address, Linux's `ipv6_add_addr` in net/ipv6/addrconf.c).
    InvalidInput,
    /// The packet is not an IPv4 or IPv6 packet, or is cut short.
    MalformedPacket,
    /// The packet is larger than the device or an IP packet can carry.
    PacketTooLarge,
    /// The buffer is smaller than the packet that was waiting (the packet is lost).
    BufferTooSmall,
    /// Non-blocking mode and nothing to read, or no room to write.
    WouldBlock,
    /// The kernel's reply could not be understood.
    MalformedReply,
    /// The kernel's answer did not come within the bound the library waits
    /// (it was lost, or the kernel is stuck): nothing is known of the outcome.
    TimedOut,
    /// Any other OS error (see [`Error::raw_os_error`]).
    Other,
}

impl ErrorKind {
    /// The kind an errno falls under when `op` failed with it: the same
    /// number means different things to different operations.
    /// `EADDRNOTAVAIL` is a missing address when removing one, but an
    /// address that cannot be assigned when adding one (net/ipv6/addrconf.c
    /// `ipv6_add_addr` answers it for `::`, multicast and loopback addresses),
    /// which is an invalid argument, not a missing thing.
    pub(crate) fn for_op(op: Op, errno: i32) -> ErrorKind {
        match (op, errno) {
            (Op::AddAddress, libc::EADDRNOTAVAIL) => ErrorKind::InvalidInput,
            _ => ErrorKind::from_errno(errno),
        }
    }

    /// The kind an errno falls under, whatever the operation ([`for_op`](ErrorKind::for_op)
    /// is the one errors use).
    pub(crate) fn from_errno(errno: i32) -> ErrorKind {
        match errno {
            libc::EPERM | libc::EACCES => ErrorKind::PermissionDenied,
            libc::EBUSY => ErrorKind::Busy,
            libc::ENXIO | libc::ENODEV | libc::ESRCH | libc::ENOENT | libc::EADDRNOTAVAIL => ErrorKind::NotFound,
            libc::EEXIST => ErrorKind::AlreadyExists,
            libc::ENETUNREACH | libc::EHOSTUNREACH => ErrorKind::NetworkUnreachable,
            libc::EINVAL | libc::EDESTADDRREQ => ErrorKind::InvalidInput,
            libc::EMSGSIZE => ErrorKind::PacketTooLarge,
            libc::EAGAIN => ErrorKind::WouldBlock,
            libc::ETIMEDOUT => ErrorKind::TimedOut,
            _ => ErrorKind::Other,
        }
    }
}

/// Extra facts about a failure, kept without allocating on the packet path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Detail {
    None,
    Static(&'static str),
    Text(Box<str>),
    /// A packet or buffer length against a limit.
    Len {
        len: usize,
        limit: usize,
    },
    /// The IP version nibble of a packet.
    Version(u8),
    /// The family in a received packet's 4-byte header (macOS).
    #[cfg_attr(not(target_os = "macos"), allow(dead_code))]
    Family(u32),
}

/// The error of every fallible call in this crate.
///
/// Its `Display` says what was being done, on which interface and why, e.g.
/// `adding a route on utun4 (10.0.0.0/8 dev utun4): permission denied; this
/// needs root (run it with sudo, or as root) (os error 1)`. The OS error is
/// its [`source`](std::error::Error::source).
pub struct Error {
    op: Op,
    kind: ErrorKind,
    interface: Option<InterfaceName>,
    /// What the operation was about: the address, the route, the step.
    subject: Option<Box<str>>,
    /// Why it failed, beyond the kind: the backend's or the parser's reason.
    detail: Detail,
    source: Option<io::Error>,
}

impl Error {
    /// A failure of the library's own checks (nothing was sent to the kernel).
    pub(crate) fn invalid(op: Op, kind: ErrorKind, detail: Detail) -> Error {
        Error { op, kind, interface: None, subject: None, detail, source: None }
    }

    /// A failed system call.
    pub(crate) fn os(op: Op, err: io::Error) -> Error {
        let kind = err.raw_os_error().map_or(ErrorKind::Other, |errno| ErrorKind::for_op(op, errno));
        Error { op, kind, interface: None, subject: None, detail: Detail::None, source: Some(err) }
    }

    /// Names the interface the operation was on.
    pub(crate) fn on(mut self, interface: InterfaceName) -> Error {
        self.interface = Some(interface);
        self
    }

    /// Says what the operation was about (an address, a route, the step that
    /// failed). Kept apart from the reason ([`Error::because`]): both are shown.
    pub(crate) fn about(mut self, what: impl fmt::Display) -> Error {
        self.subject = Some(what.to_string().into_boxed_str());
        self
    }

    /// Says why it failed, beyond the kind (a reason the library found).
    pub(crate) fn because(mut self, why: Detail) -> Error {
        self.detail = why;
        self
    }

    /// Re-labels the operation (a check made on behalf of another operation).
    pub(crate) fn with_op(mut self, op: Op) -> Error {
        self.op = op;
        self
    }

    /// Overrides the kind (when the call site knows better than the errno).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Error {
        self.kind = kind;
        self
    }

    /// What was being done.
    pub fn op(&self) -> Op {
        self.op
    }

    /// Why it failed.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The interface it was done on, where there was one.
    pub fn interface(&self) -> Option<&InterfaceName> {
        self.interface.as_ref()
    }

    /// The OS error number, when the kernel refused.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.as_ref().and_then(io::Error::raw_os_error)
    }

    /// True when the failure is a missing privilege: the caller should run as root.
    pub fn is_permission_denied(&self) -> bool {
        self.kind == ErrorKind::PermissionDenied
    }

    /// True for [`ErrorKind::WouldBlock`].
    pub fn is_would_block(&self) -> bool {
        self.kind == ErrorKind::WouldBlock
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("op", &self.op)
            .field("kind", &self.kind)
            .field("interface", &self.interface.as_ref().map(InterfaceName::as_str))
            .field("subject", &self.subject)
            .field("detail", &self.detail)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.op.describe())?;
        if let Some(name) = &self.interface {
            write!(f, " on {}", name.as_str())?;
        }
        if let Some(subject) = &self.subject {
            write!(f, " ({subject})")?;
        }
        f.write_str(": ")?;
        f.write_str(match self.kind {
            ErrorKind::PermissionDenied => "permission denied; this needs root (run it with sudo, or as root)",
            ErrorKind::Busy => "in use",
            ErrorKind::NotFound => "not found",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::NetworkUnreachable => "network unreachable",
            ErrorKind::InvalidInput => "invalid argument",
            ErrorKind::MalformedPacket => "not a well-formed IPv4 or IPv6 packet",
            ErrorKind::PacketTooLarge => "packet too large",
            ErrorKind::BufferTooSmall => "buffer too small for the waiting packet, which was dropped",
            ErrorKind::WouldBlock => "operation would block",
            ErrorKind::MalformedReply => "the kernel's reply could not be parsed",
            ErrorKind::TimedOut => "no answer from the kernel in time",
            ErrorKind::Other => "failed",
        })?;
        match &self.detail {
            Detail::None => {}
            Detail::Static(s) => write!(f, " ({s})")?,
            Detail::Text(s) => write!(f, " ({s})")?,
            Detail::Len { len, limit } => write!(f, " ({len} bytes, limit {limit})")?,
            Detail::Version(v) => write!(f, " (IP version {v} is neither 4 nor 6)")?,
            Detail::Family(af) => write!(f, " (the packet header names family {af}, neither IPv4 nor IPv6)")?,
        }
        // The OS error itself is the source (`Error::source`), not repeated
        // here; its number is, for searching.
        if let Some(errno) = self.raw_os_error() {
            write!(f, " (os error {errno})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        let kind = match err.kind {
            ErrorKind::PermissionDenied => io::ErrorKind::PermissionDenied,
            ErrorKind::NotFound => io::ErrorKind::NotFound,
            ErrorKind::AlreadyExists => io::ErrorKind::AlreadyExists,
            ErrorKind::WouldBlock => io::ErrorKind::WouldBlock,
            ErrorKind::TimedOut => io::ErrorKind::TimedOut,
            ErrorKind::InvalidInput | ErrorKind::MalformedPacket | ErrorKind::PacketTooLarge => {
                io::ErrorKind::InvalidInput
            }
            ErrorKind::BufferTooSmall => io::ErrorKind::InvalidData,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, err)
    }
}

/// The result of every fallible call in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_errors_say_root_is_needed() {
        let err = Error::os(Op::AddRoute, io::Error::from_raw_os_error(libc::EPERM))
            .on(InterfaceName::new("utun4").unwrap())
            .about("10.0.0.0/8");
        assert!(err.is_permission_denied());
        let text = err.to_string();
        assert!(text.starts_with("adding a route on utun4 (10.0.0.0/8): "), "{text}");
        assert!(text.contains("needs root"), "{text}");
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn errno_maps_to_kinds() {
        for (errno, kind) in [
            (libc::EACCES, ErrorKind::PermissionDenied),
            (libc::EBUSY, ErrorKind::Busy),
            (libc::ESRCH, ErrorKind::NotFound),
            (libc::EEXIST, ErrorKind::AlreadyExists),
            (libc::ENETUNREACH, ErrorKind::NetworkUnreachable),
            (libc::EMSGSIZE, ErrorKind::PacketTooLarge),
            (libc::EAGAIN, ErrorKind::WouldBlock),
            (libc::EIO, ErrorKind::Other),
        ] {
            assert_eq!(ErrorKind::from_errno(errno), kind, "errno {errno}");
        }
    }

    #[test]
    fn eaddrnotavail_is_invalid_for_an_address_add_and_not_found_otherwise() {
        let os = |op| Error::os(op, io::Error::from_raw_os_error(libc::EADDRNOTAVAIL)).kind();
        assert_eq!(os(Op::AddAddress), ErrorKind::InvalidInput);
        assert_eq!(os(Op::RemoveAddress), ErrorKind::NotFound);
        assert_eq!(os(Op::DeleteRoute), ErrorKind::NotFound);
        assert_eq!(os(Op::GetRoute), ErrorKind::NotFound);
    }

    #[test]
    fn the_subject_and_the_reason_are_both_shown() {
        let reason = Error::invalid(Op::AddRoute, ErrorKind::InvalidInput, Detail::Static("not a valid sdl_index"));
        let err = reason.on(InterfaceName::new("utun4").unwrap()).about("10.0.0.0/8 dev utun4");
        assert_eq!(
            err.to_string(),
            "adding a route on utun4 (10.0.0.0/8 dev utun4): invalid argument (not a valid sdl_index)"
        );
        // Saying what it was about again keeps the reason.
        let again = err.about("10.0.0.0/8 dev utun4");
        assert!(again.to_string().ends_with("(not a valid sdl_index)"), "{again}");
    }

    #[test]
    fn library_errors_have_no_source_and_a_reason() {
        let err = Error::invalid(Op::Send, ErrorKind::PacketTooLarge, Detail::Len { len: 70000, limit: 65535 });
        assert_eq!(err.to_string(), "sending a packet: packet too large (70000 bytes, limit 65535)");
        assert!(std::error::Error::source(&err).is_none());
        assert_eq!(io::Error::from(err).kind(), io::ErrorKind::InvalidInput);
    }
}
