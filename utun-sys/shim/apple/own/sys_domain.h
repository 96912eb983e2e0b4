/*
 * utun-sys's own declaration of what it needs from <sys/sys_domain.h>, used
 * only where the header set lacks that header. Written from the interface
 * described in Apple's open-source XNU (bsd/sys/sys_domain.h); proven
 * identical to the SDK's by `cargo xtask verify-constants --own-declarations`
 * on a full macOS SDK.
 */
#ifndef UTUN_OWN_SYS_DOMAIN_H
#define UTUN_OWN_SYS_DOMAIN_H

#include <sys/types.h>

#define SYSPROTO_EVENT 1
#define SYSPROTO_CONTROL 2
#define AF_SYS_CONTROL 2

struct sockaddr_sys {
	u_char ss_len;
	u_char ss_family;
	u_int16_t ss_sysaddr;
	u_int32_t ss_reserved[7];
};

#endif
