/*
 * utun-sys: the one header bindgen reads for Linux targets (the kernel's UAPI
 * headers as installed by linux-libc-dev, plus glibc's <sys/socket.h>).
 *
 * Every ioctl request goes through UTUN_SHIM_IOCTL so that it has the same
 * Rust type (`c_ulong`, what ioctl(2) takes) on Linux and on Apple targets.
 * build.rs renames `utun_shim_NAME` to `NAME`.
 */
#ifndef UTUN_SHIM_LINUX_H
#define UTUN_SHIM_LINUX_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/if_ether.h>
#include <linux/sockios.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ipv6.h>
#include <linux/ipv6_route.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/virtio_net.h>

#define UTUN_SHIM_IOCTL(name) static const unsigned long utun_shim_##name = (name);
/* A value that goes in a one-byte field (linux/in.h's IPPROTO_* are members of
 * an anonymous enum with thirty others; these are the ones utun reads). */
#define UTUN_SHIM_U8(name) static const unsigned char utun_shim_##name = (name);

/* if_tun.h */
UTUN_SHIM_IOCTL(TUNSETIFF)
UTUN_SHIM_IOCTL(TUNGETIFF)
UTUN_SHIM_IOCTL(TUNSETPERSIST)
UTUN_SHIM_IOCTL(TUNGETFEATURES)
UTUN_SHIM_IOCTL(TUNSETOFFLOAD)
UTUN_SHIM_IOCTL(TUNGETVNETHDRSZ)
UTUN_SHIM_IOCTL(TUNSETVNETHDRSZ)
UTUN_SHIM_IOCTL(TUNSETQUEUE)

/* in.h: the transport protocols whose segments the offload code splits and merges */
UTUN_SHIM_U8(IPPROTO_TCP)
UTUN_SHIM_U8(IPPROTO_UDP)

/*
 * Offload values that only newer headers have: TUN_F_USO4/TUN_F_USO6
 * (linux/if_tun.h) and VIRTIO_NET_HDR_GSO_UDP_L4 (linux/virtio_net.h), both
 * added to the UAPI in Linux 6.2 (Debian 12's linux-libc-dev 6.1 lacks them).
 * They are plain macros that bindgen evaluates when they exist; when they do
 * not, nothing stands in for them (no number is typed here), and the build
 * script tells the crate which of them it found (`utun_sys::linux::optional`).
 */

/* sockios.h */
UTUN_SHIM_IOCTL(SIOCGIFFLAGS)
UTUN_SHIM_IOCTL(SIOCSIFFLAGS)
UTUN_SHIM_IOCTL(SIOCGIFMTU)
UTUN_SHIM_IOCTL(SIOCSIFMTU)
UTUN_SHIM_IOCTL(SIOCGIFINDEX)
UTUN_SHIM_IOCTL(SIOCGIFNAME)
UTUN_SHIM_IOCTL(SIOCSIFADDR)
UTUN_SHIM_IOCTL(SIOCSIFDSTADDR)
UTUN_SHIM_IOCTL(SIOCSIFNETMASK)
UTUN_SHIM_IOCTL(SIOCGIFADDR)
UTUN_SHIM_IOCTL(SIOCGIFDSTADDR)
UTUN_SHIM_IOCTL(SIOCGIFNETMASK)
UTUN_SHIM_IOCTL(SIOCDIFADDR)

#endif /* UTUN_SHIM_LINUX_H */
