/* SPDX-License-Identifier: BSD-3-Clause */
/* RTM_NEWNEIGH / RTM_DELNEIGH → struct mirror_neigh. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "nl_mirror.h"

static int neigh_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, NDA_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

int mirror_neigh_parse(const struct nlmsghdr *nlh, struct mirror_neigh *n)
{
	const struct nlattr *tb[NDA_MAX + 1] = {0};
	const struct ndmsg *ndm;
	size_t alen;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ndm))
		return -EINVAL;
	ndm = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*ndm), neigh_attr, tb) != MNL_CB_OK)
		return -EINVAL;
	memset(n, 0, sizeof(*n));
	n->family = ndm->ndm_family;
	n->ifindex = ndm->ndm_ifindex;
	n->state = ndm->ndm_state;
	alen = n->family == AF_INET ? 4 : n->family == AF_INET6 ? 16 : 0;
	if (alen == 0 || tb[NDA_DST] == NULL || mnl_attr_get_payload_len(tb[NDA_DST]) != alen)
		return -EINVAL;
	memcpy(n->addr, mnl_attr_get_payload(tb[NDA_DST]), alen);
	if (tb[NDA_LLADDR] && mnl_attr_get_payload_len(tb[NDA_LLADDR]) == 6) {
		memcpy(n->mac, mnl_attr_get_payload(tb[NDA_LLADDR]), 6);
		n->has_lladdr = true;
	}
	return 0;
}
