//! The structures the macOS backend hands to `connect` and `ioctl`, built
//! from the bindgen types: each starts zeroed (`Default`) and only the fields
//! the kernel reads are filled, as `ifconfig(8)` does (network_cmds
//! `ifconfig.tproj/af_inet.c`, `af_inet6.c`).

use core::ffi::{c_char, c_int, c_short};
use core::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use utun_sys::apple;

use super::len_u8;
use super::sockaddr::{sockaddr_from_bytes, sockaddr_in_bytes};
use crate::codec::field::{u8_of, u16_of};
use crate::error::{Detail, Error, ErrorKind, Op};
use crate::name::InterfaceName;
use crate::net::InterfaceAddress;

/// `AF_INET` as a `sa_family_t`.
pub(crate) const AF_INET: u8 = u8_of(apple::AF_INET);
/// `AF_INET6` as a `sa_family_t`.
pub(crate) const AF_INET6: u8 = u8_of(apple::AF_INET6);
/// `AF_LINK` as a `sa_family_t`.
pub(crate) const AF_LINK: u8 = u8_of(apple::AF_LINK);
/// `sizeof(struct sockaddr_in)` as a `sin_len`.
pub(crate) const SIN_LEN: u8 = len_u8(size_of::<apple::sockaddr_in>());
/// `sizeof(struct sockaddr_in6)` as a `sin6_len`.
pub(crate) const SIN6_LEN: u8 = len_u8(size_of::<apple::sockaddr_in6>());
/// `sizeof(struct sockaddr_dl)` as a `sdl_len`.
pub(crate) const SDL_LEN: u8 = len_u8(size_of::<apple::sockaddr_dl>());

// `UTUN_CONTROL_NAME` (with its NUL) must fit `ctl_info.ctl_name`.
const _: () = assert!(apple::UTUN_CONTROL_NAME.len() <= apple::MAX_KCTL_NAME as usize);

/// The `ctl_info` for `CTLIOCGINFO`: `ctl_name` = `UTUN_CONTROL_NAME`
/// (`net/if_utun.h`), `ctl_id` 0 for the kernel to fill in.
pub(crate) fn ctl_info_for_utun() -> apple::ctl_info {
    let mut info = apple::ctl_info::default();
    for (dst, &src) in info.ctl_name.iter_mut().zip(apple::UTUN_CONTROL_NAME.iter()) {
        *dst = src as c_char;
    }
    info
}

/// The address a utun control socket `connect`s to: `sc_len` =
/// `sizeof(struct sockaddr_ctl)` (the kernel refuses any other length with
/// `EINVAL`, XNU `bsd/kern/kern_control.c`), `sc_family` = `AF_SYSTEM`,
/// `ss_sysaddr` = `AF_SYS_CONTROL`, the control id from `CTLIOCGINFO`, and
/// the unit (0: any free one; N + 1: `utunN`).
pub(crate) fn sockaddr_ctl(ctl_id: u32, unit: u32) -> apple::sockaddr_ctl {
    apple::sockaddr_ctl {
        sc_len: len_u8(size_of::<apple::sockaddr_ctl>()),
        sc_family: u8_of(apple::AF_SYSTEM),
        ss_sysaddr: u16_of(apple::AF_SYS_CONTROL),
        sc_id: ctl_id,
        sc_unit: unit,
        ..Default::default()
    }
}

/// An `ifreq` naming `name`, everything else zero (`SIOCGIFFLAGS`,
/// `SIOCGIFMTU`).
pub(crate) fn ifreq(name: InterfaceName) -> apple::ifreq {
    apple::ifreq { ifr_name: name.to_c_array(), ..Default::default() }
}

/// An `ifreq` for `SIOCSIFMTU`: `ifr_mtu` (`ifr_ifru.ifru_mtu`, an `int`).
pub(crate) fn ifreq_with_mtu(name: InterfaceName, mtu: c_int) -> apple::ifreq {
    let mut ifr = ifreq(name);
    ifr.ifr_ifru.ifru_mtu = mtu;
    ifr
}

/// An `ifreq` for `SIOCSIFFLAGS`: `ifr_flags` (`ifr_ifru.ifru_flags`, a
/// `short`). Read the flags first (`SIOCGIFFLAGS`) and change only the bits
/// meant to change.
pub(crate) fn ifreq_with_flags(name: InterfaceName, flags: c_short) -> apple::ifreq {
    let mut ifr = ifreq(name);
    ifr.ifr_ifru.ifru_flags = flags;
    ifr
}

/// An `ifreq` carrying an IPv4 address in `ifr_addr` (a `sockaddr_in` in the
/// `struct sockaddr` member), for `SIOCDIFADDR`.
pub(crate) fn ifreq_with_addr(name: InterfaceName, addr: Ipv4Addr) -> apple::ifreq {
    let mut ifr = ifreq(name);
    ifr.ifr_ifru.ifru_addr = sockaddr_from_in(&sockaddr_in(addr));
    ifr
}

/// The MTU the kernel wrote into an `ifreq` (`SIOCGIFMTU`).
pub(crate) fn ifreq_mtu(ifr: &apple::ifreq) -> c_int {
    // Every member of the `ifr_ifru` union is plain data (integers, arrays of
    // them, a pointer-sized integer), and the builders start from a zeroed
    // `Default`, so the union is always fully initialised.
    // SAFETY: reading an `int` of a fully initialised plain-data union.
    unsafe { ifr.ifr_ifru.ifru_mtu }
}

/// The flags the kernel wrote into an `ifreq` (`SIOCGIFFLAGS`).
pub(crate) fn ifreq_flags(ifr: &apple::ifreq) -> c_short {
    // SAFETY: as in `ifreq_mtu`: plain-data union, fully initialised.
    unsafe { ifr.ifr_ifru.ifru_flags }
}

/// A `sockaddr_in`: `sin_len` = its size, `AF_INET`, the address in network
/// byte order, port and `sin_zero` zero.
pub(crate) fn sockaddr_in(addr: Ipv4Addr) -> apple::sockaddr_in {
    apple::sockaddr_in {
        sin_len: SIN_LEN,
        sin_family: AF_INET,
        sin_addr: apple::in_addr { s_addr: u32::from_ne_bytes(addr.octets()) },
        ..Default::default()
    }
}

/// A `sockaddr_in6`: `sin6_len` = its size, `AF_INET6`, the address; port,
/// flow info and scope id zero.
pub(crate) fn sockaddr_in6(addr: Ipv6Addr) -> apple::sockaddr_in6 {
    let mut sin6 = apple::sockaddr_in6 { sin6_len: SIN6_LEN, sin6_family: AF_INET6, ..Default::default() };
    sin6.sin6_addr.__u6_addr.__u6_addr8 = addr.octets();
    sin6
}

/// A `sockaddr_dl` naming interface `index`: `sdl_len` =
/// `sizeof(struct sockaddr_dl)`, `AF_LINK`, `sdl_type` `IFT_OTHER` (the type
/// of a utun, XNU `bsd/net/if_utun.c`), no link-layer address, and the name
/// in `sdl_data` when it fits there (every `utunN` with N below 10^8 does):
/// the link address `getifaddrs` reports for a utun, which is what
/// `route add ... -interface utunN` copies into its message. The kernel finds
/// the interface by `sdl_index` alone (XNU `bsd/net/if.c`,
/// `ifa_ifwithnet_common`), so a longer name is left out.
pub(crate) fn sockaddr_dl(index: u16, name: InterfaceName) -> apple::sockaddr_dl {
    let mut sdl = apple::sockaddr_dl {
        sdl_len: SDL_LEN,
        sdl_family: AF_LINK,
        sdl_index: index,
        sdl_type: u8_of(apple::IFT_OTHER),
        ..Default::default()
    };
    let name = name.as_str().as_bytes();
    if name.len() <= sdl.sdl_data.len() {
        for (dst, &src) in sdl.sdl_data.iter_mut().zip(name) {
            *dst = src as c_char;
        }
        sdl.sdl_nlen = len_u8(name.len());
    }
    sdl
}

/// An empty `sockaddr_dl` (`sdl_len` = its size, `AF_LINK`, the rest zero):
/// what `route -n get` sends as `RTA_IFP` so that the kernel names the
/// interface in its answer (network_cmds `route.tproj/route.c`, `rtmsg`).
pub(crate) fn sockaddr_dl_empty() -> apple::sockaddr_dl {
    apple::sockaddr_dl { sdl_len: SDL_LEN, sdl_family: AF_LINK, ..Default::default() }
}

/// A `sockaddr_in` in a `struct sockaddr` member (same 16 bytes).
fn sockaddr_from_in(sin: &apple::sockaddr_in) -> apple::sockaddr {
    sockaddr_from_bytes(&sockaddr_in_bytes(sin))
}

fn wrong_family(op: Op, address: &InterfaceAddress, want: &'static str) -> Error {
    Error::invalid(op, ErrorKind::InvalidInput, Detail::Text(format!("{address}: {want}").into()))
}

/// The `ifaliasreq` for `SIOCAIFADDR`, as `ifconfig utunN inet A P netmask M`
/// fills it (network_cmds `ifconfig.tproj/af_inet.c`, `in_getaddr`):
/// `ifra_addr` = A, `ifra_broadaddr` (`ifra_dstaddr`) = the peer P when there
/// is one, `ifra_mask` = a `sockaddr_in` (`sin_len` 16, `AF_INET`) holding
/// the netmask. (`ifconfig` leaves the mask's family 0; XNU
/// `bsd/netinet/in.c` reads only its `sin_len` and `sin_addr`.)
///
/// A utun is point-to-point: XNU refuses `SIOCAIFADDR` without a peer there
/// (`EDESTADDRREQ`, `in.c`), so the caller should give one (the local address
/// itself will do). An IPv6 address is an [`ErrorKind::InvalidInput`] error.
pub(crate) fn ifaliasreq(name: InterfaceName, address: &InterfaceAddress) -> Result<apple::ifaliasreq, Error> {
    let (IpAddr::V4(local), IpAddr::V4(mask)) = (address.address(), address.netmask()) else {
        return Err(wrong_family(Op::AddAddress, address, "SIOCAIFADDR takes an IPv4 address"));
    };
    let mut req = apple::ifaliasreq {
        ifra_name: name.to_c_array(),
        ifra_addr: sockaddr_from_in(&sockaddr_in(local)),
        ifra_mask: sockaddr_from_in(&sockaddr_in(mask)),
        ..Default::default()
    };
    if let Some(IpAddr::V4(peer)) = address.peer() {
        req.ifra_broadaddr = sockaddr_from_in(&sockaddr_in(peer));
    }
    Ok(req)
}

/// The `in6_aliasreq` for `SIOCAIFADDR_IN6`, as `ifconfig utunN inet6 A/L`
/// (or `A/128 P`) fills it (network_cmds `ifconfig.tproj/af_inet6.c`):
/// `ifra_addr` = A, `ifra_dstaddr` = the peer (only with a /128, which
/// [`InterfaceAddress`] has checked; XNU `bsd/netinet6/in6.c` refuses a
/// point-to-point peer with a shorter prefix), `ifra_prefixmask` = a
/// `sockaddr_in6` holding the mask (XNU reads its `sin6_len` and
/// `sin6_addr`), lifetimes `ND6_INFINITE_LIFETIME` (valid and preferred),
/// `ia6t_expire`/`ia6t_preferred` 0.
///
/// `ifra_flags` is 0, as `ifconfig` sends it unless told otherwise: no
/// `IN6_IFF_NODAD`, because XNU does no duplicate address detection on a utun
/// at all (`in6if_do_dad()` in `in6.c` returns 0 for `IFNET_FAMILY_UTUN`,
/// the family `if_utun.c` gives its interfaces), so the flag would change
/// nothing. An IPv4 address is an [`ErrorKind::InvalidInput`] error. (XNU
/// also refuses a /0 prefix with `EINVAL`; that is left to the kernel.)
pub(crate) fn in6_aliasreq(name: InterfaceName, address: &InterfaceAddress) -> Result<apple::in6_aliasreq, Error> {
    let (IpAddr::V6(local), IpAddr::V6(mask)) = (address.address(), address.netmask()) else {
        return Err(wrong_family(Op::AddAddress, address, "SIOCAIFADDR_IN6 takes an IPv6 address"));
    };
    let mut req = apple::in6_aliasreq {
        ifra_name: name.to_c_array(),
        ifra_addr: sockaddr_in6(local),
        ifra_prefixmask: sockaddr_in6(mask),
        ifra_flags: 0,
        ifra_lifetime: apple::in6_addrlifetime {
            ia6t_expire: 0,
            ia6t_preferred: 0,
            ia6t_vltime: apple::ND6_INFINITE_LIFETIME,
            ia6t_pltime: apple::ND6_INFINITE_LIFETIME,
        },
        ..Default::default()
    };
    if let Some(IpAddr::V6(peer)) = address.peer() {
        req.ifra_dstaddr = sockaddr_in6(peer);
    }
    Ok(req)
}

/// The `in6_ifreq` for `SIOCDIFADDR_IN6`: the name and the address to remove
/// in `ifr_addr` (`ifr_ifru.ifru_addr`), the rest zero.
pub(crate) fn in6_ifreq_addr(name: InterfaceName, addr: Ipv6Addr) -> apple::in6_ifreq {
    let mut req = apple::in6_ifreq { ifr_name: name.to_c_array(), ..Default::default() };
    req.ifr_ifru.ifru_addr = sockaddr_in6(addr);
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utun4() -> InterfaceName {
        InterfaceName::new("utun4").unwrap()
    }

    #[test]
    fn mtu_and_flags_read_back() {
        assert_eq!(ifreq_mtu(&ifreq_with_mtu(utun4(), 1380)), 1380);
        let flags = (apple::IFF_UP | apple::IFF_POINTOPOINT | apple::IFF_MULTICAST) as c_short;
        assert_eq!(ifreq_flags(&ifreq_with_flags(utun4(), flags)), flags);
        assert_eq!(ifreq_mtu(&ifreq(utun4())), 0);
    }

    #[test]
    fn wrong_families_are_refused() {
        let v6 = InterfaceAddress::new("fd00::1".parse().unwrap(), 64).unwrap();
        let v4 = InterfaceAddress::new("10.0.0.1".parse().unwrap(), 24).unwrap();
        let err = ifaliasreq(utun4(), &v6).expect_err("an IPv6 address is refused");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("fd00::1/64"), "{err}");
        assert_eq!(in6_aliasreq(utun4(), &v4).err().map(|e| e.kind()), Some(ErrorKind::InvalidInput));
    }

    #[test]
    fn long_names_stay_out_of_sockaddr_dl() {
        let long = InterfaceName::new("averylongname12").unwrap();
        let sdl = sockaddr_dl(3, long);
        assert_eq!((sdl.sdl_nlen, sdl.sdl_index), (0, 3));
        assert!(sdl.sdl_data.iter().all(|&c| c == 0));
    }
}
