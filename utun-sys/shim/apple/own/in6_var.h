/*
 * utun-sys's own declaration of what it needs from <netinet6/in6_var.h> (and
 * SCOPE6_ID_MAX from <netinet6/scope6_var.h>), used only where the header set
 * lacks those headers. Written from the user-visible interface in Apple's
 * open-source XNU (bsd/netinet6/in6_var.h, bsd/netinet6/scope6_var.h). Every
 * size and offset here is proven identical to the SDK's by
 * `cargo xtask verify-constants --own-declarations` on a full macOS SDK.
 */
#ifndef UTUN_OWN_IN6_VAR_H
#define UTUN_OWN_IN6_VAR_H

#include <sys/types.h>
#include <sys/ioccom.h>
#include <net/if.h>
#include <netinet/in.h>

#define SCOPE6_ID_MAX 16

struct in6_addrlifetime {
	time_t ia6t_expire;
	time_t ia6t_preferred;
	u_int32_t ia6t_vltime;
	u_int32_t ia6t_pltime;
};

/* RFC 2465 Ipv6IfStatsEntry, in XNU's order. */
struct in6_ifstat {
	u_quad_t ifs6_in_receive;
	u_quad_t ifs6_in_hdrerr;
	u_quad_t ifs6_in_toobig;
	u_quad_t ifs6_in_noroute;
	u_quad_t ifs6_in_addrerr;
	u_quad_t ifs6_in_protounknown;
	u_quad_t ifs6_in_truncated;
	u_quad_t ifs6_in_discard;
	u_quad_t ifs6_in_deliver;
	u_quad_t ifs6_out_forward;
	u_quad_t ifs6_out_request;
	u_quad_t ifs6_out_discard;
	u_quad_t ifs6_out_fragok;
	u_quad_t ifs6_out_fragfail;
	u_quad_t ifs6_out_fragcreat;
	u_quad_t ifs6_reass_reqd;
	u_quad_t ifs6_reass_ok;
	u_quad_t ifs6_atmfrag_rcvd;
	u_quad_t ifs6_reass_fail;
	u_quad_t ifs6_in_mcast;
	u_quad_t ifs6_out_mcast;
	u_quad_t ifs6_cantfoward_icmp6;
	u_quad_t ifs6_addr_expiry_cnt;
	u_quad_t ifs6_pfx_expiry_cnt;
	u_quad_t ifs6_defrtr_expiry_cnt;
};

/* RFC 2466 Ipv6IfIcmpEntry, in XNU's order. */
struct icmp6_ifstat {
	u_quad_t ifs6_in_msg;
	u_quad_t ifs6_in_error;
	u_quad_t ifs6_in_dstunreach;
	u_quad_t ifs6_in_adminprohib;
	u_quad_t ifs6_in_timeexceed;
	u_quad_t ifs6_in_paramprob;
	u_quad_t ifs6_in_pkttoobig;
	u_quad_t ifs6_in_echo;
	u_quad_t ifs6_in_echoreply;
	u_quad_t ifs6_in_routersolicit;
	u_quad_t ifs6_in_routeradvert;
	u_quad_t ifs6_in_neighborsolicit;
	u_quad_t ifs6_in_neighboradvert;
	u_quad_t ifs6_in_redirect;
	u_quad_t ifs6_in_mldquery;
	u_quad_t ifs6_in_mldreport;
	u_quad_t ifs6_in_mlddone;
	u_quad_t ifs6_out_msg;
	u_quad_t ifs6_out_error;
	u_quad_t ifs6_out_dstunreach;
	u_quad_t ifs6_out_adminprohib;
	u_quad_t ifs6_out_timeexceed;
	u_quad_t ifs6_out_paramprob;
	u_quad_t ifs6_out_pkttoobig;
	u_quad_t ifs6_out_echo;
	u_quad_t ifs6_out_echoreply;
	u_quad_t ifs6_out_routersolicit;
	u_quad_t ifs6_out_routeradvert;
	u_quad_t ifs6_out_neighborsolicit;
	u_quad_t ifs6_out_neighboradvert;
	u_quad_t ifs6_out_redirect;
	u_quad_t ifs6_out_mldquery;
	u_quad_t ifs6_out_mldreport;
	u_quad_t ifs6_out_mlddone;
};

struct in6_ifreq {
	char ifr_name[IFNAMSIZ];
	union {
		struct sockaddr_in6 ifru_addr;
		struct sockaddr_in6 ifru_dstaddr;
		int ifru_flags;
		int ifru_flags6;
		int ifru_metric;
		int ifru_intval;
		caddr_t ifru_data;
		struct in6_addrlifetime ifru_lifetime;
		struct in6_ifstat ifru_stat;
		struct icmp6_ifstat ifru_icmp6stat;
		u_int32_t ifru_scope_id[SCOPE6_ID_MAX];
	} ifr_ifru;
};

struct in6_aliasreq {
	char ifra_name[IFNAMSIZ];
	struct sockaddr_in6 ifra_addr;
	struct sockaddr_in6 ifra_dstaddr;
	struct sockaddr_in6 ifra_prefixmask;
	int ifra_flags;
	struct in6_addrlifetime ifra_lifetime;
};

#define IN6_IFF_ANYCAST 0x0001
#define IN6_IFF_TENTATIVE 0x0002
#define IN6_IFF_DUPLICATED 0x0004
#define IN6_IFF_DETACHED 0x0008
#define IN6_IFF_DEPRECATED 0x0010
#define IN6_IFF_NODAD 0x0020
#define IN6_IFF_AUTOCONF 0x0040
#define IN6_IFF_TEMPORARY 0x0080
#define IN6_IFF_DYNAMIC 0x0100
#define IN6_IFF_OPTIMISTIC 0x0200
#define IN6_IFF_SECURED 0x0400

#define SIOCDIFADDR_IN6 _IOW('i', 25, struct in6_ifreq)
#define SIOCAIFADDR_IN6 _IOW('i', 26, struct in6_aliasreq)

#endif
