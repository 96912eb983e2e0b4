/*
 * utun-sys's own declaration of Apple's batch socket calls, recvmsg_x(2) and
 * sendmsg_x(2). They are private: no SDK header declares them (XNU keeps
 * `struct msghdr_x` and the prototypes in bsd/sys/socket_private.h, which the
 * public SDK does not ship), so unlike the other own/ headers this one is
 * included on every Apple target. libSystem exports both symbols
 * (libsyscall wraps every syscalls.master entry).
 *
 * Written from Apple's open-source XNU, as read:
 *   bsd/kern/syscalls.master:
 *     480 recvmsg_x(int s, struct msghdr_x *msgp, u_int cnt, int flags);
 *     481 sendmsg_x(int s, struct msghdr_x *msgp, u_int cnt, int flags);
 *     (both return user_ssize_t: the number of datagrams, or -1 and errno)
 *   bsd/sys/socket_private.h: `struct msghdr_x` (below, field for field; the
 *     `__sized_by` bounds annotations dropped) and the two prototypes;
 *   bsd/sys/uio.h: UIO_MAXIOV, the largest `cnt` recvmsg_x accepts
 *     (bsd/kern/uipc_syscalls.c `recvmsg_x`: cnt == 0 or cnt > UIO_MAXIOV
 *     is EINVAL).
 * The layout is checked by the compiler for each Apple target: bindgen's
 * layout tests (size, alignment and every field's offset, computed by clang
 * for that target) are compiled into utun-sys, and `cargo xtask
 * verify-constants` compares the Rust record with a C probe's offsetof.
 *
 * "NOTE: This a private system call, the API is subject to change."
 * (socket_private.h): callers must fall back to recvmsg/sendmsg when the
 * call fails with ENOSYS, EINVAL or EOPNOTSUPP.
 */
#ifndef UTUN_OWN_SOCKET_PRIVATE_H
#define UTUN_OWN_SOCKET_PRIVATE_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#ifndef UIO_MAXIOV
#define UIO_MAXIOV 1024
#endif

/*
 * For recvmsg_x the kernel writes each datagram's length to msg_datalen and
 * MSG_TRUNC to msg_flags; for sendmsg_x msg_name, msg_namelen, msg_control,
 * msg_controllen, msg_flags and msg_datalen must be zero.
 */
struct msghdr_x {
	void *msg_name;
	socklen_t msg_namelen;
	struct iovec *msg_iov;
	int msg_iovlen;
	void *msg_control;
	socklen_t msg_controllen;
	int msg_flags;
	size_t msg_datalen;
};

ssize_t recvmsg_x(int s, const struct msghdr_x *msgp, u_int cnt, int flags);
ssize_t sendmsg_x(int s, const struct msghdr_x *msgp, u_int cnt, int flags);

#endif
