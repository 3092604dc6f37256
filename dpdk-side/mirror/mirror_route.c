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
	case RTA_NH_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		break;
	}
	tb[type] = attr;
	return MNL_CB_OK;
}

/* RTA_MULTIPATH: every path, in the kernel's order. */
static int parse_multipath(const struct nlattr *mp, struct mirror_route *r, size_t alen)
{
	const uint8_t *pos = mnl_attr_get_payload(mp);
	size_t left = mnl_attr_get_payload_len(mp);

	r->multipath = true;
	while (left >= sizeof(struct rtnexthop)) {
		const struct rtnexthop *nh = (const struct rtnexthop *)pos;
		const struct nlattr *attr; /* named for the libmnl macro */
		struct mirror_path p = {0};

		if (nh->rtnh_len < sizeof(*nh) || nh->rtnh_len > left)
			return -EINVAL;
		p.oif = nh->rtnh_ifindex;
		p.weight = (uint16_t)(nh->rtnh_hops + 1);
		mnl_attr_for_each_payload((const void *)RTNH_DATA(nh), nh->rtnh_len - sizeof(*nh))
		{
			if (mnl_attr_get_type(attr) == RTA_GATEWAY &&
			    mnl_attr_get_payload_len(attr) == alen) {
				memcpy(p.gw, mnl_attr_get_payload(attr), alen);
				p.has_gw = true;
				p.gw_family = (uint8_t)r->family;
			} else if (mnl_attr_get_type(attr) == RTA_VIA &&
				   mnl_attr_get_payload_len(attr) >= sizeof(struct rtvia) + 16) {
				const struct rtvia *via = mnl_attr_get_payload(attr);
				if (via->rtvia_family == AF_INET6) {
					memcpy(p.gw, via->rtvia_addr, 16);
					p.has_gw = true;
					p.gw_family = AF_INET6;
				}
			}
		}
		/* RTNH_F_DEAD: the kernel does not use it (link down) */
		if (!(nh->rtnh_flags & RTNH_F_DEAD)) {
			if (r->n_paths < MIRROR_MAX_PATHS)
				r->paths[r->n_paths++] = p;
			else
				r->truncated = true;
		}
		size_t step = RTNH_ALIGN((size_t)nh->rtnh_len);
		if (step >= left)
			break;
		left -= step;
		pos += step;
	}
	if (r->n_paths > 0) {
		r->oif = r->paths[0].oif;
		r->has_gw = r->paths[0].has_gw;
		memcpy(r->gw, r->paths[0].gw, 16);
	}
	return 0;
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
	if (tb[RTA_VIA] && !r->has_gw) {
		/* RFC 5549: an IPv4 route via an IPv6 gateway */
		const struct rtvia *via = mnl_attr_get_payload(tb[RTA_VIA]);
		size_t vlen = mnl_attr_get_payload_len(tb[RTA_VIA]);
		if (vlen < sizeof(*via) + 16 || via->rtvia_family != AF_INET6)
			return -EINVAL;
		memcpy(r->gw, via->rtvia_addr, 16);
		r->has_gw = true;
		r->paths[0].gw_family = AF_INET6;
	}
	if (tb[RTA_NH_ID]) {
		r->nh_id = mnl_attr_get_u32(tb[RTA_NH_ID]);
		return 0; /* the object says where: RTM_NEWNEXTHOP */
	}
	if (tb[RTA_MULTIPATH])
		return parse_multipath(tb[RTA_MULTIPATH], r, alen);
	if (r->oif || r->has_gw) {
		struct mirror_path *p = &r->paths[0];
		p->oif = r->oif;
		p->has_gw = r->has_gw;
		if (p->gw_family == 0)
			p->gw_family = r->has_gw ? (uint8_t)r->family : 0;
		memcpy(p->gw, r->gw, 16);
		p->weight = 1;
		r->n_paths = 1;
	}
	return 0;
}
