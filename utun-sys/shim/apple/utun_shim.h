/*
 * utun-sys: the one header bindgen reads for Apple targets.
 *
 * It includes the SDK headers the safe API needs and turns what bindgen cannot
 * evaluate (function-like macros such as _IOWR(...)) into `static const`
 * values. libclang evaluates those initialisers for the target being built, so
 * every number comes from the compiler and the headers, none from a person.
 * build.rs renames `utun_shim_NAME` to `NAME`.
 *
 * A few headers are missing from some header sets (the darwin headers that
 * PyPI's ziglang ships lack sys/sys_domain.h, netinet6/in6_var.h,
 * netinet6/nd6.h and netinet6/scope6_var.h; the iPhoneOS SDK lacks
 * sys/kern_control.h and net/if_utun.h too). build.rs then defines
 * UTUN_SHIM_OWN_<HEADER> and the declarations in own/ stand in for them.
 * `cargo xtask verify-constants --own-declarations` on a full SDK proves those
 * declarations identical to Apple's.
 *
 * For iOS build.rs defines UTUN_SHIM_PACKET_PATH: there the Network Extension
 * owns the interface's routes, so the routing socket (net/route.h, which the
 * iPhoneOS SDK does not ship) is left out.
 */
#ifndef UTUN_SHIM_APPLE_H
#define UTUN_SHIM_APPLE_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/sockio.h>
#ifdef UTUN_SHIM_OWN_KERN_CONTROL
#include "own/kern_control.h"
#else
#include <sys/kern_control.h>
#endif
#include <net/if.h>
#include <net/if_dl.h>
#include <net/if_types.h>
#ifdef UTUN_SHIM_OWN_IF_UTUN
#include "own/if_utun.h"
#else
#include <net/if_utun.h>
#endif
#ifndef UTUN_SHIM_PACKET_PATH
#include <net/route.h>
#endif
#include <netinet/in.h>

/* Private on every SDK: recvmsg_x/sendmsg_x and struct msghdr_x (see the file). */
#include "own/socket_private.h"

#ifdef UTUN_SHIM_OWN_SYS_DOMAIN
#include "own/sys_domain.h"
#else
#include <sys/sys_domain.h>
#endif

#ifdef UTUN_SHIM_OWN_IN6_VAR
#include "own/in6_var.h"
#else
#include <netinet6/in6_var.h>
#endif

#ifdef UTUN_SHIM_OWN_ND6
#include "own/nd6.h"
#else
#include <netinet6/nd6.h>
#endif

#define UTUN_SHIM_IOCTL(name) static const unsigned long utun_shim_##name = (name);

/* kern_control.h */
UTUN_SHIM_IOCTL(CTLIOCGINFO)

/* sockio.h: interface configuration through an AF_INET / AF_INET6 socket */
UTUN_SHIM_IOCTL(SIOCGIFFLAGS)
UTUN_SHIM_IOCTL(SIOCSIFFLAGS)
UTUN_SHIM_IOCTL(SIOCGIFMTU)
UTUN_SHIM_IOCTL(SIOCSIFMTU)
UTUN_SHIM_IOCTL(SIOCSIFADDR)
UTUN_SHIM_IOCTL(SIOCSIFDSTADDR)
UTUN_SHIM_IOCTL(SIOCSIFNETMASK)
UTUN_SHIM_IOCTL(SIOCGIFADDR)
UTUN_SHIM_IOCTL(SIOCGIFDSTADDR)
UTUN_SHIM_IOCTL(SIOCGIFNETMASK)
UTUN_SHIM_IOCTL(SIOCAIFADDR)
UTUN_SHIM_IOCTL(SIOCDIFADDR)

/* in6_var.h */
UTUN_SHIM_IOCTL(SIOCAIFADDR_IN6)
UTUN_SHIM_IOCTL(SIOCDIFADDR_IN6)

#endif /* UTUN_SHIM_APPLE_H */
