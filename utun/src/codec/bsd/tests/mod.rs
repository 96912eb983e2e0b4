//! Tests of the message layer: golden bytes from the C compiler for every
//! builder and routing message (both Apple targets), parser round trips,
//! kernel-shaped replies, truncations, and deterministic fuzzing.

use core::ffi::c_short;
use core::mem::{offset_of, size_of};
use std::net::{IpAddr, Ipv4Addr};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use utun_sys::apple;

use super::encode::{encode_get, encode_route};
use super::golden::{self, TargetGoldens};
use super::parse::*;
use super::request::*;
use super::route::*;
use super::sockaddr::{self as bytes, sockaddr_dl_bytes, sockaddr_in_bytes, sockaddr_in6_bytes};
use crate::error::{ErrorKind, Op};
use crate::name::InterfaceName;
use crate::net::{InterfaceAddress, IpNet, NextHop, Route, RouteEntry};

// ------------------------------------------------------------------ inputs

const PID: i32 = 4242;
const IFINDEX: u32 = 9;

fn utun4() -> InterfaceName {
    InterfaceName::new("utun4").unwrap()
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn via_if(dest: &str) -> Route {
    Route::through_interface(net(dest), utun4())
}

fn via_gw(dest: &str, gw: &str) -> Route {
    Route::via_gateway(net(dest), ip(gw)).unwrap()
}

fn encode(kind: RtmKind, route: &Route, seq: i32) -> Vec<u8> {
    encode_route(kind, route, IFINDEX, seq, PID).unwrap()
}

/// The raw bytes of a request struct built by `request.rs`.
fn raw_bytes<T: Copy>(value: &T) -> Vec<u8> {
    // Only used on the bindgen request structs (sockaddr_ctl, ctl_info,
    // ifreq, ifaliasreq, in6_aliasreq, in6_ifreq, sockaddr_*), none of which
    // has padding (the C goldens' sizeof equals the length compared), and
    // whose unions start zero-filled, so every byte is initialised.
    // SAFETY: `value` is a live reference to `size_of::<T>()` initialised bytes.
    unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }.to_vec()
}

mod c_goldens;
mod exchange;
mod goldens;
mod kernel;
mod prop;
mod replies;
mod robustness;
mod scope;
