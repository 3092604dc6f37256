/* SPDX-License-Identifier: BSD-3-Clause */
/* RTM_NEWNEXTHOP / RTM_DELNEXTHOP → struct mirror_nexthop (`ip nexthop`,
 * FRR's nexthop groups). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>

#include "nl_mirror.h"

static int nh_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, NHA_MAX) < 0)
		return MNL_CB_OK; /* newer kernel attribute: skip */
	switch (type) {
	case NHA_ID:
	case NHA_OIF:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		break;
	}
	tb[type] = attr;
	return MNL_CB_OK;
}

int mirror_nexthop_parse(const struct nlmsghdr *nlh, struct mirror_nexthop *nh)
{
	const struct nlattr *tb[NHA_MAX + 1] = {0};
	const struct nhmsg *nhm;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*nhm))
		return -EINVAL;
	nhm = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*nhm), nh_attr, tb) != MNL_CB_OK || tb[NHA_ID] == NULL)
		return -EINVAL;
	memset(nh, 0, sizeof(*nh));
	nh->id = mnl_attr_get_u32(tb[NHA_ID]);
	nh->family = nhm->nh_family;
	nh->blackhole = tb[NHA_BLACKHOLE] != NULL;
	nh->fdb = tb[NHA_FDB] != NULL;
	if (tb[NHA_OIF])
		nh->oif = (int)mnl_attr_get_u32(tb[NHA_OIF]);
	if (tb[NHA_GATEWAY]) {
		size_t alen = mnl_attr_get_payload_len(tb[NHA_GATEWAY]);
		if ((nh->family == AF_INET && alen != 4) ||
		    (nh->family == AF_INET6 && alen != 16) || alen > sizeof(nh->gw))
			return -EINVAL;
		memcpy(nh->gw, mnl_attr_get_payload(tb[NHA_GATEWAY]), alen);
		nh->has_gw = true;
	}
	if (tb[NHA_GROUP]) {
		const struct nexthop_grp *g = mnl_attr_get_payload(tb[NHA_GROUP]);
		size_t n = mnl_attr_get_payload_len(tb[NHA_GROUP]) / sizeof(*g);
		if (n == 0)
			return -EINVAL;
		for (size_t i = 0; i < n; i++) {
			if (nh->n_grp == MIRROR_MAX_PATHS) {
				nh->truncated = true;
				break;
			}
			nh->grp[nh->n_grp].id = g[i].id;
			nh->grp[nh->n_grp].weight = (uint16_t)(g[i].weight + 1);
			nh->n_grp++;
		}
	}
	return 0;
}
