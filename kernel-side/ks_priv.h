/* SPDX-License-Identifier: BSD-3-Clause */
/* kernel-side internals shared by nl_*.c (not part of the public API). */
#pragma once

#include <netlink/addr.h>
#include <netlink/socket.h>

#include <kernel_side.h>

struct ks_nl {
	struct nl_sock *sk;
	/* errno of the last NLMSG_ERROR from the kernel (negative), 0 = none:
	 * libnl folds many errnos into NLE_FAILURE, so keep the real one. */
	int kernel_err;
};

/* Convert a libnl return code NLERR (< 0) into a negative errno, preferring
 * the kernel's own errno when it sent one. Clears nl->kernel_err. */
int ks_nl_err(struct ks_nl *nl, int nlerr);

/* struct ip_prefix <-> struct nl_addr. ks_prefix_to_nladdr returns NULL on
 * allocation failure; MASK clears the host bits (route destinations). */
struct nl_addr *ks_prefix_to_nladdr(const struct ip_prefix *p, bool mask);
void ks_nladdr_to_prefix(const struct nl_addr *a, struct ip_prefix *p);

/* Room for ip_prefix_fmt("ffff:...:ffff/128"). */
#define KS_PREFIX_STRLEN 64
