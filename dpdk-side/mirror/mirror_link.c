/* SPDX-License-Identifier: BSD-3-Clause */
/* RTM_NEWLINK / RTM_DELLINK → struct mirror_link. */
#include <errno.h>
#include <string.h>

#include <arpa/inet.h>

#include <libmnl/libmnl.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "nl_mirror.h"

static int link_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, IFLA_MAX) < 0)
		return MNL_CB_OK; /* newer kernel attribute: skip */
	switch (type) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			return MNL_CB_ERROR;
		break;
	case IFLA_MTU:
	case IFLA_MASTER:
	case IFLA_LINK:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		break;
	}
	tb[type] = attr;
	return MNL_CB_OK;
}

/* IFLA_LINKINFO: {IFLA_INFO_KIND "vlan", IFLA_INFO_DATA {IFLA_VLAN_ID,
 * IFLA_VLAN_PROTOCOL}} → the VID of an 802.1Q VLAN netdev, 0 otherwise
 * (another kind, or 802.1ad: not a tag the fast path handles). */
static int info_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, IFLA_INFO_MAX) >= 0)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static int vlan_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, IFLA_VLAN_MAX) >= 0)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static uint16_t link_vlan_id(const struct nlattr *linkinfo)
{
	const struct nlattr *info[IFLA_INFO_MAX + 1] = {0}, *vlan[IFLA_VLAN_MAX + 1] = {0};

	if (mnl_attr_parse_nested(linkinfo, info_attr, info) != MNL_CB_OK ||
	    info[IFLA_INFO_KIND] == NULL || info[IFLA_INFO_DATA] == NULL ||
	    mnl_attr_validate(info[IFLA_INFO_KIND], MNL_TYPE_NUL_STRING) < 0 ||
	    strcmp(mnl_attr_get_str(info[IFLA_INFO_KIND]), "vlan") != 0)
		return 0;
	if (mnl_attr_parse_nested(info[IFLA_INFO_DATA], vlan_attr, vlan) != MNL_CB_OK ||
	    vlan[IFLA_VLAN_ID] == NULL || mnl_attr_validate(vlan[IFLA_VLAN_ID], MNL_TYPE_U16) < 0)
		return 0;
	if (vlan[IFLA_VLAN_PROTOCOL] != NULL &&
	    (mnl_attr_validate(vlan[IFLA_VLAN_PROTOCOL], MNL_TYPE_U16) < 0 ||
	     mnl_attr_get_u16(vlan[IFLA_VLAN_PROTOCOL]) != htons(ETH_P_8021Q)))
		return 0;
	return mnl_attr_get_u16(vlan[IFLA_VLAN_ID]) & 0xfff;
}

int mirror_link_parse(const struct nlmsghdr *nlh, struct mirror_link *l)
{
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	const struct ifinfomsg *ifm;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifm))
		return -EINVAL;
	ifm = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*ifm), link_attr, tb) != MNL_CB_OK)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	l->ifindex = ifm->ifi_index;
	l->up = ifm->ifi_flags & IFF_UP;
	if (tb[IFLA_IFNAME])
		snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6) {
		memcpy(l->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
		l->has_mac = true;
	}
	if (tb[IFLA_MTU])
		l->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_MASTER])
		l->master = mnl_attr_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_LINKINFO] && tb[IFLA_LINK] && (l->vlan_id = link_vlan_id(tb[IFLA_LINKINFO])))
		l->link = (int)mnl_attr_get_u32(tb[IFLA_LINK]);
	return 0;
}
