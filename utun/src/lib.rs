//! Safe API over macOS `utun` and Linux `tun` interfaces (work in progress:
//! this crate currently only re-exports [`utun_sys`]).

pub use utun_sys as sys;
