/*
 * utun-sys's own declaration of what it needs from <sys/kern_control.h>, used
 * only where the header set lacks that header: the iPhoneOS SDK does (the
 * kernel has the interface, the SDK does not publish it; WireGuardKit declares
 * these itself for iOS for the same reason). Written from the interface
 * described in Apple's open-source XNU (bsd/sys/kern_control.h); proven
 * identical to the macOS SDK's by `cargo xtask verify-constants
 * --own-declarations`.
 */
#ifndef UTUN_OWN_KERN_CONTROL_H
#define UTUN_OWN_KERN_CONTROL_H

#include <sys/types.h>
#include <sys/ioccom.h>

#define MAX_KCTL_NAME 96

struct ctl_info {
	u_int32_t ctl_id;
	char ctl_name[MAX_KCTL_NAME];
};

struct sockaddr_ctl {
	u_char sc_len;
	u_char sc_family;
	u_int16_t ss_sysaddr;
	u_int32_t sc_id;
	u_int32_t sc_unit;
	u_int32_t sc_reserved[5];
};

#define CTLIOCGINFO _IOWR('N', 3, struct ctl_info)

#endif
