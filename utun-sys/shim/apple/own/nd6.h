/*
 * utun-sys's own declaration of what it needs from <netinet6/nd6.h>, used only
 * where the header set lacks that header (see XNU bsd/netinet6/nd6.h). Proven
 * against a full SDK by `cargo xtask verify-constants --own-declarations`.
 */
#ifndef UTUN_OWN_ND6_H
#define UTUN_OWN_ND6_H

#define ND6_INFINITE_LIFETIME 0xffffffff

#endif
