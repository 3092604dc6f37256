/* SPDX-License-Identifier: BSD-3-Clause */
/* RTM_NEWROUTE / RTM_DELROUTE → struct mirror_route. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "nl_mirror.h"

static int route_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, RTA_MAX) < 0)
		return MNL_CB_OK;
	switch (type) {
	case RTA_TABLE:
	case RTA_OIF:
	case RTA_PRIORITY:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		break;
	}
	tb[type] = attr;
	return MNL_CB_OK;
}

int mirror_route_parse(const struct nlmsghdr *nlh, struct mirror_route *r)
{
	const struct nlattr *tb[RTA_MAX + 1] = {0};
	const struct rtmsg *rtm;
	size_t alen;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return -EINVAL;
	rtm = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*rtm), route_attr, tb) != MNL_CB_OK)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->family = rtm->rtm_family;
	alen = r->family == AF_INET ? 4 : r->family == AF_INET6 ? 16 : 0;
	if (alen == 0 || rtm->rtm_dst_len > alen * 8)
		return -EINVAL;
	r->dst_len = rtm->rtm_dst_len;
	r->type = rtm->rtm_type;
	r->protocol = rtm->rtm_protocol;
	r->table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (tb[RTA_DST]) {
		if (mnl_attr_get_payload_len(tb[RTA_DST]) != alen)
			return -EINVAL;
		memcpy(r->dst, mnl_attr_get_payload(tb[RTA_DST]), alen);
	}
	if (tb[RTA_PRIORITY])
		r->priority = mnl_attr_get_u32(tb[RTA_PRIORITY]);
	if (tb[RTA_OIF])
		r->oif = mnl_attr_get_u32(tb[RTA_OIF]);
	if (tb[RTA_GATEWAY]) {
		if (mnl_attr_get_payload_len(tb[RTA_GATEWAY]) != alen)
			return -EINVAL;
		memcpy(r->gw, mnl_attr_get_payload(tb[RTA_GATEWAY]), alen);
		r->has_gw = true;
	}
	if (tb[RTA_MULTIPATH] && !r->oif) {
		/* ECMP: take the first next hop (documented limitation). */
		const struct rtnexthop *nh = mnl_attr_get_payload(tb[RTA_MULTIPATH]);
		size_t len = mnl_attr_get_payload_len(tb[RTA_MULTIPATH]);
		if (len >= sizeof(*nh) && nh->rtnh_len >= sizeof(*nh) && nh->rtnh_len <= len) {
			const struct nlattr *attr; /* named for the libmnl macro */
			r->oif = nh->rtnh_ifindex;
			r->multipath = true;
			mnl_attr_for_each_payload((const void *)RTNH_DATA(nh),
						  nh->rtnh_len - sizeof(*nh))
			{
				if (mnl_attr_get_type(attr) == RTA_GATEWAY &&
				    mnl_attr_get_payload_len(attr) == alen) {
					memcpy(r->gw, mnl_attr_get_payload(attr), alen);
					r->has_gw = true;
				}
			}
		}
	}
	return 0;
}
