/*
 * utun-sys's own declaration of what it needs from <net/if_utun.h>, used only
 * where the header set lacks that header (the iPhoneOS SDK does). Only the
 * control's name and the socket options utun uses; written from the interface
 * described in Apple's open-source XNU (bsd/net/if_utun.h); proven identical
 * to the macOS SDK's by `cargo xtask verify-constants --own-declarations`.
 */
#ifndef UTUN_OWN_IF_UTUN_H
#define UTUN_OWN_IF_UTUN_H

#define UTUN_CONTROL_NAME "com.apple.net.utun_control"

#define UTUN_OPT_FLAGS 1
#define UTUN_OPT_IFNAME 2
#define UTUN_OPT_MAX_PENDING_PACKETS 16

#endif
