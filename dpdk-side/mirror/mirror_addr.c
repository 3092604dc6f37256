/* SPDX-License-Identifier: BSD-3-Clause */
/* RTM_NEWADDR / RTM_DELADDR → struct mirror_addr. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "nl_mirror.h"

static int addr_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, IFA_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

int mirror_addr_parse(const struct nlmsghdr *nlh, struct mirror_addr *a)
{
	const struct nlattr *tb[IFA_MAX + 1] = {0};
	const struct ifaddrmsg *ifa;
	const struct nlattr *addr;
	size_t alen;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return -EINVAL;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*ifa), addr_attr, tb) != MNL_CB_OK)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->family = ifa->ifa_family;
	a->ifindex = ifa->ifa_index;
	a->prefixlen = ifa->ifa_prefixlen;
	/* IFA_LOCAL is the interface's own address on point-to-point links;
	 * IFA_ADDRESS is the peer there, and the same as IFA_LOCAL elsewhere. */
	addr = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	alen = a->family == AF_INET ? 4 : a->family == AF_INET6 ? 16 : 0;
	if (addr == NULL || alen == 0 || mnl_attr_get_payload_len(addr) != alen)
		return -EINVAL;
	memcpy(a->addr, mnl_attr_get_payload(addr), alen);
	return 0;
}
