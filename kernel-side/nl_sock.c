/* SPDX-License-Identifier: BSD-3-Clause */
/* The rtnetlink socket, libnl error mapping and address conversions. */
#define LOG_TYPE "netlink"
#include <agent_log.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/netlink.h>

#include "ks_priv.h"

/* Remember the kernel's errno, then let libnl stop and report as usual. */
static int kernel_error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct ks_nl *nl = arg;

	nl->kernel_err = e->error;
	return NL_STOP;
}

int ks_open(struct ks_nl **out)
{
	struct ks_nl *nl;
	int ret;

	nl = calloc(1, sizeof(*nl));
	if (nl == NULL)
		return -ENOMEM;
	nl->sk = nl_socket_alloc();
	if (nl->sk == NULL) {
		free(nl);
		return -ENOMEM;
	}
	/* Requests wait for the ACK on clones of the socket's callbacks, so
	 * the error hook set here sees every kernel error. */
	ret = nl_socket_modify_err_cb(nl->sk, NL_CB_CUSTOM, kernel_error_cb, nl);
	if (ret == 0)
		ret = nl_connect(nl->sk, NETLINK_ROUTE);
	if (ret < 0) {
		ret = ks_nl_err(nl, ret);
		LOG(ERR, "cannot open rtnetlink socket: %s", strerror(-ret));
		nl_socket_free(nl->sk);
		free(nl);
		return ret;
	}
	*out = nl;
	return 0;
}

void ks_close(struct ks_nl *nl)
{
	if (nl == NULL)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}

static int nlerr_to_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_SUCCESS:
		return 0;
	case NLE_INTR:
	case NLE_DUMP_INTR:
		return EINTR;
	case NLE_BAD_SOCK:
		return EBADF;
	case NLE_AGAIN:
		return EAGAIN;
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_EXIST:
		return EEXIST;
	case NLE_INVAL:
	case NLE_MISSING_ATTR:
	case NLE_OBJ_MISMATCH:
	case NLE_PARSE_ERR:
	case NLE_ATTRSIZE:
		return EINVAL;
	case NLE_RANGE:
		return ERANGE;
	case NLE_MSGSIZE:
	case NLE_MSG_TRUNC:
		return EMSGSIZE;
	case NLE_OPNOTSUPP:
	case NLE_SRCRT_NOSUPPORT:
	case NLE_MSGTYPE_NOSUPPORT:
		return EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
	case NLE_AF_MISMATCH:
		return EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:
	case NLE_NOATTR:
	case NLE_NOCACHE:
	case NLE_PKTLOC_FILE:
		return ENOENT;
	case NLE_SEQ_MISMATCH:
	case NLE_MSG_TOOSHORT:
		return EPROTO;
	case NLE_MSG_OVERFLOW:
		return EOVERFLOW;
	case NLE_NOADDR:
		return EADDRNOTAVAIL;
	case NLE_BUSY:
		return EBUSY;
	case NLE_PROTO_MISMATCH:
		return EPROTONOSUPPORT;
	case NLE_NOACCESS:
		return EACCES;
	case NLE_PERM:
		return EPERM;
	case NLE_NODEV:
		return ENODEV;
	case NLE_IMMUTABLE:
		return EROFS;
	default: /* NLE_FAILURE and unknown codes */
		return EIO;
	}
}

int ks_nl_err(struct ks_nl *nl, int nlerr)
{
	int kernel_err = nl->kernel_err;

	nl->kernel_err = 0;
	if (nlerr >= 0)
		return 0;
	if (kernel_err < 0)
		return kernel_err;
	return -nlerr_to_errno(nlerr);
}

struct nl_addr *ks_prefix_to_nladdr(const struct ip_prefix *p, bool mask)
{
	int alen = p->family == AF_INET6 ? 16 : 4;
	uint8_t bytes[16];
	struct nl_addr *a;

	memcpy(bytes, p->addr.bytes, alen);
	if (mask) {
		for (int i = 0; i < alen; i++) {
			int keep = (int)p->len - 8 * i;
			if (keep <= 0)
				bytes[i] = 0;
			else if (keep < 8)
				bytes[i] &= (uint8_t)(0xff << (8 - keep));
		}
	}
	a = nl_addr_build(p->family, bytes, alen);
	if (a != NULL)
		nl_addr_set_prefixlen(a, p->len);
	return a;
}

void ks_nladdr_to_prefix(const struct nl_addr *a, struct ip_prefix *p)
{
	/* Default routes come back with a zero-length address. */
	unsigned int alen = nl_addr_get_len(a);

	memset(p, 0, sizeof(*p));
	p->family = nl_addr_get_family(a);
	if (alen > sizeof(p->addr.bytes))
		alen = sizeof(p->addr.bytes);
	memcpy(p->addr.bytes, nl_addr_get_binary_addr(a), alen);
	p->len = nl_addr_get_prefixlen(a);
}
