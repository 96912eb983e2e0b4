//! Every golden value, as C: compiled by clang for both Apple targets.

// ------------------------------------------------------- the C definitions

/// Every golden value, as C. Numbers here are inputs (addresses, an index,
/// a pid, sequence numbers, an MTU); every kernel constant, size and offset
/// is a macro, `sizeof` or `offsetof` from the darwin headers.
macro_rules! c_goldens {
    ($($name:literal => $c:literal;)*) => {
        pub(super) const GOLDENS: &[(&str, &str)] = &[$(($name, $c)),*];
    };
}

c_goldens! {
    "defs" => r#"
#include <sys/errno.h>
#define SIN_FAMILY offsetof(struct sockaddr_in, sin_family)
#define SIN_ADDR offsetof(struct sockaddr_in, sin_addr)
#define SIN6_FAMILY offsetof(struct sockaddr_in6, sin6_family)
#define SIN6_ADDR offsetof(struct sockaddr_in6, sin6_addr)
#define GOLDEN_HDR(type_, flags_, addrs_, msg_type, seq_) \
    { .rtm_msglen = sizeof(msg_type), .rtm_version = RTM_VERSION, .rtm_type = (type_), \
      .rtm_flags = (flags_), .rtm_addrs = (addrs_), .rtm_pid = 4242, .rtm_seq = (seq_) }
#define GOLDEN_SDL_EMPTY { .sdl_len = sizeof(struct sockaddr_dl), .sdl_family = AF_LINK }
const char golden_defs = 0;
"#;
    // ------------------------------------------------------------ builders
    "sockaddr_ctl" => r#"
const struct sockaddr_ctl golden_sockaddr_ctl = {
    .sc_len = sizeof(struct sockaddr_ctl), .sc_family = AF_SYSTEM, .ss_sysaddr = AF_SYS_CONTROL,
    .sc_id = 0xabcd, .sc_unit = 5,
};"#;
    "ctl_info" => r#"
const struct ctl_info golden_ctl_info = { .ctl_name = UTUN_CONTROL_NAME };"#;
    "ifreq_name" => r#"
const struct ifreq golden_ifreq_name = { .ifr_name = "utun4" };"#;
    "ifreq_mtu" => r#"
const struct ifreq golden_ifreq_mtu = { .ifr_name = "utun4", .ifr_mtu = 1380 };"#;
    "ifreq_flags" => r#"
const struct ifreq golden_ifreq_flags = {
    .ifr_name = "utun4", .ifr_flags = (short)(IFF_UP | IFF_POINTOPOINT | IFF_RUNNING | IFF_MULTICAST),
};"#;
    "ifreq_addr" => r#"
/* A sockaddr_in in ifr_addr (a struct sockaddr): a union with the same layout. */
union golden_ifreq_in { struct ifreq ifr; struct { char name[IFNAMSIZ]; struct sockaddr_in addr; } in; };
_Static_assert(sizeof(union golden_ifreq_in) == sizeof(struct ifreq), "ifreq size");
_Static_assert(offsetof(union golden_ifreq_in, in.addr) == offsetof(struct ifreq, ifr_addr), "ifr_addr");
const union golden_ifreq_in golden_ifreq_addr = { .in = { .name = "utun4", .addr = GOLDEN_SIN(10, 0, 0, 1) } };"#;
    "ifaliasreq_peer" => r#"
union golden_aliasreq {
    struct ifaliasreq req;
    struct { char name[IFNAMSIZ]; struct sockaddr_in addr, dst, mask; } in;
};
_Static_assert(sizeof(union golden_aliasreq) == sizeof(struct ifaliasreq), "ifaliasreq size");
_Static_assert(offsetof(union golden_aliasreq, in.addr) == offsetof(struct ifaliasreq, ifra_addr), "addr");
_Static_assert(offsetof(union golden_aliasreq, in.dst) == offsetof(struct ifaliasreq, ifra_broadaddr), "dst");
_Static_assert(offsetof(union golden_aliasreq, in.mask) == offsetof(struct ifaliasreq, ifra_mask), "mask");
const union golden_aliasreq golden_ifaliasreq_peer = { .in = {
    .name = "utun4", .addr = GOLDEN_SIN(10, 0, 0, 1), .dst = GOLDEN_SIN(10, 0, 0, 2),
    .mask = GOLDEN_SIN(255, 255, 255, 0),
} };"#;
    "ifaliasreq_no_peer" => r#"
const union golden_aliasreq golden_ifaliasreq_no_peer = { .in = {
    .name = "utun4", .addr = GOLDEN_SIN(10, 0, 0, 1), .mask = GOLDEN_SIN(255, 255, 255, 0),
} };"#;
    "in6_aliasreq" => r#"
const struct in6_aliasreq golden_in6_aliasreq = {
    .ifra_name = "utun4",
    .ifra_addr = GOLDEN_SIN6(0xfd, 0x00, [15] = 0x01),
    .ifra_prefixmask = GOLDEN_SIN6(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    .ifra_flags = 0,
    .ifra_lifetime = { .ia6t_expire = 0, .ia6t_preferred = 0,
                       .ia6t_vltime = ND6_INFINITE_LIFETIME, .ia6t_pltime = ND6_INFINITE_LIFETIME },
};"#;
    "in6_aliasreq_peer" => r#"
const struct in6_aliasreq golden_in6_aliasreq_peer = {
    .ifra_name = "utun4",
    .ifra_addr = GOLDEN_SIN6(0xfd, 0x00, [15] = 0x01),
    .ifra_dstaddr = GOLDEN_SIN6(0xfd, 0x00, [15] = 0x02),
    .ifra_prefixmask = GOLDEN_SIN6([0 ... 15] = 0xff),
    .ifra_lifetime = { .ia6t_vltime = ND6_INFINITE_LIFETIME, .ia6t_pltime = ND6_INFINITE_LIFETIME },
};"#;
    "in6_ifreq_addr" => r#"
const struct in6_ifreq golden_in6_ifreq_addr = {
    .ifr_name = "utun4", .ifr_ifru.ifru_addr = GOLDEN_SIN6(0xfd, 0x00, [15] = 0x01),
};"#;
    "sockaddr_in" => r#"
const struct sockaddr_in golden_sockaddr_in = GOLDEN_SIN(192, 168, 1, 20);"#;
    "sockaddr_in6" => r#"
const struct sockaddr_in6 golden_sockaddr_in6 = GOLDEN_SIN6(0x20, 0x01, 0x0d, 0xb8, [14] = 0x12, [15] = 0x34);"#;
    "sockaddr_dl" => r#"
const struct sockaddr_dl golden_sockaddr_dl = GOLDEN_SDL(9, "utun4");"#;
    "sockaddr_dl_empty" => r#"
const struct sockaddr_dl golden_sockaddr_dl_empty = GOLDEN_SDL_EMPTY;"#;
    // ---------------------------------------------- route(8)'s messages
    "route_add_net_if" => r#"
/* route add -net 10.0.0.0/8 -interface utun4: mask 255.0.0.0 trimmed to sa_len 5. */
struct golden_v4_if_net {
    struct rt_msghdr hdr; struct sockaddr_in dst; struct sockaddr_dl gw;
    unsigned char mask[GOLDEN_ROUNDUP(SIN_ADDR + 1)];
} __attribute__((packed));
const struct golden_v4_if_net golden_route_add_net_if = {
    .hdr = GOLDEN_HDR(RTM_ADD, RTF_UP | RTF_STATIC, RTA_DST | RTA_GATEWAY | RTA_NETMASK, struct golden_v4_if_net, 1),
    .dst = GOLDEN_SIN(10, 0, 0, 0),
    .gw = GOLDEN_SDL(9, "utun4"),
    .mask = { [0] = SIN_ADDR + 1, [SIN_FAMILY] = AF_INET, [SIN_ADDR] = 255 },
};"#;
    "route_delete_net_if" => r#"
const struct golden_v4_if_net golden_route_delete_net_if = {
    .hdr = GOLDEN_HDR(RTM_DELETE, RTF_UP | RTF_STATIC, RTA_DST | RTA_GATEWAY | RTA_NETMASK, struct golden_v4_if_net, 2),
    .dst = GOLDEN_SIN(10, 0, 0, 0),
    .gw = GOLDEN_SDL(9, "utun4"),
    .mask = { [0] = SIN_ADDR + 1, [SIN_FAMILY] = AF_INET, [SIN_ADDR] = 255 },
};"#;
    "route_add_host_if" => r#"
/* route add -host 10.0.0.2 -interface utun4: RTF_HOST, no netmask. */
struct golden_v4_if_host { struct rt_msghdr hdr; struct sockaddr_in dst; struct sockaddr_dl gw; } __attribute__((packed));
const struct golden_v4_if_host golden_route_add_host_if = {
    .hdr = GOLDEN_HDR(RTM_ADD, RTF_UP | RTF_STATIC | RTF_HOST, RTA_DST | RTA_GATEWAY, struct golden_v4_if_host, 3),
    .dst = GOLDEN_SIN(10, 0, 0, 2),
    .gw = GOLDEN_SDL(9, "utun4"),
};"#;
    "route_add_default_if" => r#"
/* route add default -interface utun4: the mask's sa_len is 0 (4 bytes: 0, AF_INET, 0, 0). */
struct golden_v4_if_default {
    struct rt_msghdr hdr; struct sockaddr_in dst; struct sockaddr_dl gw; unsigned char mask[GOLDEN_ROUNDUP(0)];
} __attribute__((packed));
const struct golden_v4_if_default golden_route_add_default_if = {
    .hdr = GOLDEN_HDR(RTM_ADD, RTF_UP | RTF_STATIC, RTA_DST | RTA_GATEWAY | RTA_NETMASK, struct golden_v4_if_default, 4),
    .dst = GOLDEN_SIN(0, 0, 0, 0),
    .gw = GOLDEN_SDL(9, "utun4"),
    .mask = { [0] = 0, [SIN_FAMILY] = AF_INET },
};"#;
    "route_add_net_gw" => r#"
/* route add -net 192.168.16.0/20 10.0.0.2: RTF_GATEWAY, mask 255.255.240.0 trimmed to sa_len 7. */
struct golden_v4_gw_net {
    struct rt_msghdr hdr; struct sockaddr_in dst; struct sockaddr_in gw;
    unsigned char mask[GOLDEN_ROUNDUP(SIN_ADDR + 3)];
} __attribute__((packed));
const struct golden_v4_gw_net golden_route_add_net_gw = {
    .hdr = GOLDEN_HDR(RTM_ADD, RTF_UP | RTF_STATIC | RTF_GATEWAY, RTA_DST | RTA_GATEWAY | RTA_NETMASK,
                      struct golden_v4_gw_net, 5),
    .dst = GOLDEN_SIN(192, 168, 16, 0),
    .gw = GOLDEN_SIN(10, 0, 0, 2),
    .mask = { [0] = SIN_ADDR + 3, [SIN_FAMILY] = AF_INET, [SIN_ADDR] = 255, [SIN_ADDR + 1] = 255, [SIN_ADDR + 2] = 240 },
};"#;
    "route_add_v6_net_if" => r#"
/* route add -inet6 -net fd00:1::/64 -interface utun4: mask trimmed after its 8 ones bytes. */
struct golden_v6_if_net {
    struct rt_msghdr hdr; struct sockaddr_in6 dst; struct sockaddr_dl gw;
    unsigned char mask[GOLDEN_ROUNDUP(SIN6_ADDR + 8)];
} __attribute__((packed));
const struct golden_v6_if_net golden_route_add_v6_net_if = {
    .hdr = GOLDEN_HDR(RTM_ADD, RTF_UP | RTF_STATIC, RTA_DST | RTA_GATEWAY | RTA_NETMASK, struct golden_v6_if_net, 6),
    .dst = GOLDEN_SIN6(0xfd, 0x00, 0x00, 0x01),
    .gw = GOLDEN_SDL(9, "utun4"),
    .mask = { [0] = SIN6_ADDR + 8, [SIN6_FAMILY] = AF_INET6, [SIN6_ADDR ... SIN6_ADDR + 7] = 0xff },
};"#;
    "route_add_v6_default_if" => r#"
/* route add -inet6 default -interface utun4. */
struct golden_v6_if_default {
    struct rt_msghdr hdr; struct sockaddr_in6 dst; struct sockaddr_dl gw; unsigned char mask[GOLDEN_ROUNDUP(0)];
} __attribute__((packed));
const struct golden_v6_if_default golden_route_add_v6_default_if = {
    .hdr = GOLDEN_HDR(RTM_ADD, RTF_UP | RTF_STATIC, RTA_DST | RTA_GATEWAY | RTA_NETMASK, struct golden_v6_if_default, 7),
    .dst = GOLDEN_SIN6(0),
    .gw = GOLDEN_SDL(9, "utun4"),
    .mask = { [0] = 0, [SIN6_FAMILY] = AF_INET6 },
};"#;
    "route_add_v6_net_gw" => r#"
/* route add -inet6 -net fd00:2::/48 fd00::1. */
struct golden_v6_gw_net {
    struct rt_msghdr hdr; struct sockaddr_in6 dst; struct sockaddr_in6 gw;
    unsigned char mask[GOLDEN_ROUNDUP(SIN6_ADDR + 6)];
} __attribute__((packed));
const struct golden_v6_gw_net golden_route_add_v6_net_gw = {
    .hdr = GOLDEN_HDR(RTM_ADD, RTF_UP | RTF_STATIC | RTF_GATEWAY, RTA_DST | RTA_GATEWAY | RTA_NETMASK,
                      struct golden_v6_gw_net, 8),
    .dst = GOLDEN_SIN6(0xfd, 0x00, 0x00, 0x02),
    .gw = GOLDEN_SIN6(0xfd, 0x00, [15] = 0x01),
    .mask = { [0] = SIN6_ADDR + 6, [SIN6_FAMILY] = AF_INET6, [SIN6_ADDR ... SIN6_ADDR + 5] = 0xff },
};"#;
    "route_add_v6_host_if" => r#"
/* route add -inet6 -host fd00::2 -interface utun4. */
struct golden_v6_if_host { struct rt_msghdr hdr; struct sockaddr_in6 dst; struct sockaddr_dl gw; } __attribute__((packed));
const struct golden_v6_if_host golden_route_add_v6_host_if = {
    .hdr = GOLDEN_HDR(RTM_ADD, RTF_UP | RTF_STATIC | RTF_HOST, RTA_DST | RTA_GATEWAY, struct golden_v6_if_host, 9),
    .dst = GOLDEN_SIN6(0xfd, 0x00, [15] = 0x02),
    .gw = GOLDEN_SDL(9, "utun4"),
};"#;
    "route_get_v4" => r#"
/* route -n get 10.0.0.2: RTA_DST and an empty RTA_IFP; route(8)'s flags (no -interface: RTF_GATEWAY). */
struct golden_get_v4 { struct rt_msghdr hdr; struct sockaddr_in dst; struct sockaddr_dl ifp; } __attribute__((packed));
const struct golden_get_v4 golden_route_get_v4 = {
    .hdr = GOLDEN_HDR(RTM_GET, RTF_UP | RTF_GATEWAY | RTF_HOST | RTF_STATIC, RTA_DST | RTA_IFP, struct golden_get_v4, 10),
    .dst = GOLDEN_SIN(10, 0, 0, 2),
    .ifp = GOLDEN_SDL_EMPTY,
};"#;
    "route_get_v6" => r#"
/* route -n get -inet6 fd00::2. */
struct golden_get_v6 { struct rt_msghdr hdr; struct sockaddr_in6 dst; struct sockaddr_dl ifp; } __attribute__((packed));
const struct golden_get_v6 golden_route_get_v6 = {
    .hdr = GOLDEN_HDR(RTM_GET, RTF_UP | RTF_GATEWAY | RTF_HOST | RTF_STATIC, RTA_DST | RTA_IFP, struct golden_get_v6, 11),
    .dst = GOLDEN_SIN6(0xfd, 0x00, [15] = 0x02),
    .ifp = GOLDEN_SDL_EMPTY,
};"#;
    "route_get_v4_net" => r#"
/* route -n get -net 10.0.0.0/8. */
struct golden_get_v4_net {
    struct rt_msghdr hdr; struct sockaddr_in dst; unsigned char mask[GOLDEN_ROUNDUP(SIN_ADDR + 1)];
    struct sockaddr_dl ifp;
} __attribute__((packed));
const struct golden_get_v4_net golden_route_get_v4_net = {
    .hdr = GOLDEN_HDR(RTM_GET, RTF_UP | RTF_GATEWAY | RTF_STATIC, RTA_DST | RTA_NETMASK | RTA_IFP,
                      struct golden_get_v4_net, 12),
    .dst = GOLDEN_SIN(10, 0, 0, 0),
    .mask = { [0] = SIN_ADDR + 1, [SIN_FAMILY] = AF_INET, [SIN_ADDR] = 255 },
    .ifp = GOLDEN_SDL_EMPTY,
};"#;
    "route_get_default" => r#"
/* route -n get default. */
struct golden_get_default {
    struct rt_msghdr hdr; struct sockaddr_in dst; unsigned char mask[GOLDEN_ROUNDUP(0)]; struct sockaddr_dl ifp;
} __attribute__((packed));
const struct golden_get_default golden_route_get_default = {
    .hdr = GOLDEN_HDR(RTM_GET, RTF_UP | RTF_GATEWAY | RTF_STATIC, RTA_DST | RTA_NETMASK | RTA_IFP,
                      struct golden_get_default, 13),
    .dst = GOLDEN_SIN(0, 0, 0, 0),
    .mask = { [0] = 0, [SIN_FAMILY] = AF_INET },
    .ifp = GOLDEN_SDL_EMPTY,
};"#;
    // ---------------------------- link-local addresses: the scope embedded
    "scope_defs" => r#"
/* A link-local sockaddr_in6 as route(8) builds it for fe80::<last>%utun4 (network_cmds
 * route.tproj/route.c getaddr, __KAME__): getaddrinfo sets sin6_scope_id to the interface index,
 * then s6_addr16[1] = htons(sin6_scope_id) and sin6_scope_id = 0. The index is utun4's, 9. */
#define GOLDEN_SIN6_LL(scope, last) \
    { .sin6_len = sizeof(struct sockaddr_in6), .sin6_family = AF_INET6, .sin6_scope_id = 0, \
      .sin6_addr.__u6_addr.__u6_addr16 = { htons(0xfe80), htons(scope), [7] = htons(last) } }
const char golden_scope_defs = 0;
"#;
    "route_add_v6_ll_host_if" => r#"
/* route add -inet6 -host fe80::99%utun4 -interface utun4. */
const struct golden_v6_if_host golden_route_add_v6_ll_host_if = {
    .hdr = GOLDEN_HDR(RTM_ADD, RTF_UP | RTF_STATIC | RTF_HOST, RTA_DST | RTA_GATEWAY, struct golden_v6_if_host, 14),
    .dst = GOLDEN_SIN6_LL(9, 0x99),
    .gw = GOLDEN_SDL(9, "utun4"),
};"#;
    "route_add_v6_net_llgw" => r#"
/* route add -inet6 -net 2001:db8::/32 fe80::1%utun4: the gateway's scope embedded. */
struct golden_v6_llgw_net {
    struct rt_msghdr hdr; struct sockaddr_in6 dst; struct sockaddr_in6 gw;
    unsigned char mask[GOLDEN_ROUNDUP(SIN6_ADDR + 4)];
} __attribute__((packed));
const struct golden_v6_llgw_net golden_route_add_v6_net_llgw = {
    .hdr = GOLDEN_HDR(RTM_ADD, RTF_UP | RTF_STATIC | RTF_GATEWAY, RTA_DST | RTA_GATEWAY | RTA_NETMASK,
                      struct golden_v6_llgw_net, 15),
    .dst = GOLDEN_SIN6(0x20, 0x01, 0x0d, 0xb8),
    .gw = GOLDEN_SIN6_LL(9, 0x1),
    .mask = { [0] = SIN6_ADDR + 4, [SIN6_FAMILY] = AF_INET6, [SIN6_ADDR ... SIN6_ADDR + 3] = 0xff },
};"#;
    "route_add_v6_ll_net_if" => r#"
/* route add -inet6 -net fe80::%utun4/64 -interface utun4: the destination's scope embedded, and
 * the mask left as it is (ff in the bytes the scope takes). */
const struct golden_v6_if_net golden_route_add_v6_ll_net_if = {
    .hdr = GOLDEN_HDR(RTM_ADD, RTF_UP | RTF_STATIC, RTA_DST | RTA_GATEWAY | RTA_NETMASK, struct golden_v6_if_net, 16),
    .dst = GOLDEN_SIN6_LL(9, 0),
    .gw = GOLDEN_SDL(9, "utun4"),
    .mask = { [0] = SIN6_ADDR + 8, [SIN6_FAMILY] = AF_INET6, [SIN6_ADDR ... SIN6_ADDR + 7] = 0xff },
};"#;
    "route_get_v6_ll" => r#"
/* route -n get -inet6 fe80::99%utun4. */
const struct golden_get_v6 golden_route_get_v6_ll = {
    .hdr = GOLDEN_HDR(RTM_GET, RTF_UP | RTF_GATEWAY | RTF_HOST | RTF_STATIC, RTA_DST | RTA_IFP, struct golden_get_v6, 17),
    .dst = GOLDEN_SIN6_LL(9, 0x99),
    .ifp = GOLDEN_SDL_EMPTY,
};"#;
    // ------------------------------------------------ the kernel's replies
    "reply_get_v4_if" => r#"
/* XNU's answer to route -n get 10.0.0.2 with 10.0.0.0/8 on utun4 (rtsock.c route_output, RTM_GET:
 * header copied from the request, rtm_flags = rt_flags | RTF_DONE, rtm_index = the interface, DST,
 * GATEWAY, NETMASK, IFP = if_lladdr, IFA = rt_ifa). The mask is the radix mask key: rn_addmask
 * fills the bytes before sin_addr with ones (radix.c), rtm_scrub trims it (route.c). */
struct golden_reply_v4_if {
    struct rt_msghdr hdr; struct sockaddr_in dst; struct sockaddr_dl gw;
    unsigned char mask[GOLDEN_ROUNDUP(SIN_ADDR + 1)]; struct sockaddr_dl ifp; struct sockaddr_in ifa;
} __attribute__((packed));
const struct golden_reply_v4_if golden_reply_get_v4_if = {
    .hdr = { .rtm_msglen = sizeof(struct golden_reply_v4_if), .rtm_version = RTM_VERSION, .rtm_type = RTM_GET,
             .rtm_index = 9, .rtm_flags = RTF_UP | RTF_STATIC | RTF_DONE,
             .rtm_addrs = RTA_DST | RTA_GATEWAY | RTA_NETMASK | RTA_IFP | RTA_IFA, .rtm_pid = 4242, .rtm_seq = 10 },
    .dst = GOLDEN_SIN(10, 0, 0, 0),
    .gw = GOLDEN_SDL(9, "utun4"),
    .mask = { [0] = SIN_ADDR + 1, [1 ... SIN_ADDR] = 0xff },
    .ifp = GOLDEN_SDL(9, "utun4"),
    .ifa = GOLDEN_SIN(10, 0, 0, 1),
};"#;
    "reply_get_default_gw" => r#"
/* The answer for a default route through 192.168.1.1 on en0: the default route's mask is the
 * radix tree's zero mask, sa_len 0, which rt_msg2 writes as 4 zero bytes; en0's link address has
 * a 6-byte MAC after the name. */
struct golden_reply_default {
    struct rt_msghdr hdr; struct sockaddr_in dst; struct sockaddr_in gw; unsigned char mask[GOLDEN_ROUNDUP(0)];
    struct sockaddr_dl ifp; struct sockaddr_in ifa;
} __attribute__((packed));
const struct golden_reply_default golden_reply_get_default_gw = {
    .hdr = { .rtm_msglen = sizeof(struct golden_reply_default), .rtm_version = RTM_VERSION, .rtm_type = RTM_GET,
             .rtm_index = 4, .rtm_flags = RTF_UP | RTF_GATEWAY | RTF_STATIC | RTF_DONE,
             .rtm_addrs = RTA_DST | RTA_GATEWAY | RTA_NETMASK | RTA_IFP | RTA_IFA, .rtm_pid = 4242, .rtm_seq = 13 },
    .dst = GOLDEN_SIN(0, 0, 0, 0),
    .gw = GOLDEN_SIN(192, 168, 1, 1),
    .mask = { 0 },
    .ifp = { .sdl_len = sizeof(struct sockaddr_dl), .sdl_family = AF_LINK, .sdl_index = 4, .sdl_type = IFT_ETHER,
             .sdl_nlen = sizeof("en0") - 1, .sdl_alen = 6,
             .sdl_data = { 'e', 'n', '0', 0x3c, 0x22, 0x7b, 0x01, 0x02, 0x03 } },
    .ifa = GOLDEN_SIN(192, 168, 1, 20),
};"#;
    "reply_get_v6_if" => r#"
/* The answer to route -n get -inet6 fd00:1::5 with fd00:1::/64 on utun4 (RTM_GET keeps the
 * trimmed IPv6 mask length, rtm_scrub). */
struct golden_reply_v6_if {
    struct rt_msghdr hdr; struct sockaddr_in6 dst; struct sockaddr_dl gw;
    unsigned char mask[GOLDEN_ROUNDUP(SIN6_ADDR + 8)]; struct sockaddr_dl ifp; struct sockaddr_in6 ifa;
} __attribute__((packed));
const struct golden_reply_v6_if golden_reply_get_v6_if = {
    .hdr = { .rtm_msglen = sizeof(struct golden_reply_v6_if), .rtm_version = RTM_VERSION, .rtm_type = RTM_GET,
             .rtm_index = 9, .rtm_flags = RTF_UP | RTF_STATIC | RTF_DONE,
             .rtm_addrs = RTA_DST | RTA_GATEWAY | RTA_NETMASK | RTA_IFP | RTA_IFA, .rtm_pid = 4242, .rtm_seq = 12 },
    .dst = GOLDEN_SIN6(0xfd, 0x00, 0x00, 0x01),
    .gw = GOLDEN_SDL(9, "utun4"),
    .mask = { [0] = SIN6_ADDR + 8, [1 ... SIN6_ADDR + 7] = 0xff },
    .ifp = GOLDEN_SDL(9, "utun4"),
    .ifa = GOLDEN_SIN6(0xfd, 0x00, [15] = 0x01),
};"#;
    "reply_get_v6_llgw" => r#"
/* The answer to route -n get -inet6 2001:db8::5 with 2001:db8::/32 through fe80::1%utun4: the
 * gateway comes back as the kernel keeps it, the scope embedded and sin6_scope_id 0 (rt_msg2 copies
 * RTAX_GATEWAY as it is: rtm_scrub touches only link-layer gateways, route.c). */
struct golden_reply_v6_llgw {
    struct rt_msghdr hdr; struct sockaddr_in6 dst; struct sockaddr_in6 gw;
    unsigned char mask[GOLDEN_ROUNDUP(SIN6_ADDR + 4)]; struct sockaddr_dl ifp;
} __attribute__((packed));
const struct golden_reply_v6_llgw golden_reply_get_v6_llgw = {
    .hdr = { .rtm_msglen = sizeof(struct golden_reply_v6_llgw), .rtm_version = RTM_VERSION, .rtm_type = RTM_GET,
             .rtm_index = 9, .rtm_flags = RTF_UP | RTF_GATEWAY | RTF_STATIC | RTF_DONE,
             .rtm_addrs = RTA_DST | RTA_GATEWAY | RTA_NETMASK | RTA_IFP, .rtm_pid = 4242, .rtm_seq = 18 },
    .dst = GOLDEN_SIN6(0x20, 0x01, 0x0d, 0xb8),
    .gw = GOLDEN_SIN6_LL(9, 0x1),
    .mask = { [0] = SIN6_ADDR + 4, [1 ... SIN6_ADDR + 3] = 0xff },
    .ifp = GOLDEN_SDL(9, "utun4"),
};"#;
    "reply_get_v6_ll_scope_id" => r#"
/* A link-local destination whose scope is in sin6_scope_id rather than embedded (what
 * route_output makes of an embedded one before the request is processed, rtsock.c): either
 * form gives the same scope. */
const struct golden_v6_if_host golden_reply_get_v6_ll_scope_id = {
    .hdr = { .rtm_msglen = sizeof(struct golden_v6_if_host), .rtm_version = RTM_VERSION, .rtm_type = RTM_GET,
             .rtm_index = 9, .rtm_flags = RTF_UP | RTF_STATIC | RTF_HOST | RTF_DONE,
             .rtm_addrs = RTA_DST | RTA_GATEWAY, .rtm_pid = 4242, .rtm_seq = 19 },
    .dst = { .sin6_len = sizeof(struct sockaddr_in6), .sin6_family = AF_INET6, .sin6_scope_id = 9,
             .sin6_addr.__u6_addr.__u6_addr16 = { htons(0xfe80), [7] = htons(0x99) } },
    .gw = GOLDEN_SDL(9, "utun4"),
};"#;
    "reply_add_eexist" => r#"
/* The kernel's echo of a refused RTM_ADD: the request, rtm_errno set, no RTF_DONE. */
const struct golden_v4_if_net golden_reply_add_eexist = {
    .hdr = { .rtm_msglen = sizeof(struct golden_v4_if_net), .rtm_version = RTM_VERSION, .rtm_type = RTM_ADD,
             .rtm_flags = RTF_UP | RTF_STATIC, .rtm_addrs = RTA_DST | RTA_GATEWAY | RTA_NETMASK,
             .rtm_pid = 4242, .rtm_seq = 1, .rtm_errno = EEXIST },
    .dst = GOLDEN_SIN(10, 0, 0, 0),
    .gw = GOLDEN_SDL(9, "utun4"),
    .mask = { [0] = SIN_ADDR + 1, [SIN_FAMILY] = AF_INET, [SIN_ADDR] = 255 },
};"#;
    "ifinfo" => r#"
/* An interface announcement (struct if_msghdr), which every routing socket also receives. */
const struct if_msghdr golden_ifinfo = {
    .ifm_msglen = sizeof(struct if_msghdr), .ifm_version = RTM_VERSION, .ifm_type = RTM_IFINFO, .ifm_index = 9,
};"#;
}
