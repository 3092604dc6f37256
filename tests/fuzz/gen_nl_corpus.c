/* SPDX-License-Identifier: BSD-3-Clause */
/* Writes the seed corpus of fuzz_nl_mirror (corpus/fuzz_nl_mirror/): one
 * file per kind of message the mirror parses, each as the kernel sends it
 * (header, family struct, attributes), and one stream of several messages
 * ending in NLMSG_DONE. Run once, the files are committed:
 *   gen_nl_corpus tests/fuzz/corpus/fuzz_nl_mirror */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

static const char *dir;
static char stream[8192];
static size_t stream_len;

static void save(const char *name, const struct nlmsghdr *nlh)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(nlh, 1, nlh->nlmsg_len, f) != nlh->nlmsg_len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	memcpy(stream + stream_len, nlh, nlh->nlmsg_len);
	stream_len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static struct nlmsghdr *start(char *buf, uint16_t type, void **extra, size_t extra_len)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, 1024);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_MULTI;
	*extra = mnl_nlmsg_put_extra_header(nlh, extra_len);
	return nlh;
}

static void addr(int family, const char *s, uint8_t *out)
{
	inet_pton(family, s, out);
}

int main(int argc, char **argv)
{
	static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x11};
	char buf[1024];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	struct ifaddrmsg *ifa;
	struct rtmsg *rtm;
	struct ndmsg *ndm;
	struct nhmsg *nhm;
	struct nlattr *nest;
	uint8_t a[16];

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];

	nlh = start(buf, RTM_NEWLINK, (void **)&ifm, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = 7;
	ifm->ifi_flags = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "nic0");
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
	mnl_attr_put_u32(nlh, IFLA_MASTER, 3);
	save("newlink", nlh);

	nlh = start(buf, RTM_NEWADDR, (void **)&ifa, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 24;
	ifa->ifa_index = 7;
	addr(AF_INET, "192.168.100.1", a);
	mnl_attr_put(nlh, IFA_LOCAL, 4, a);
	mnl_attr_put(nlh, IFA_ADDRESS, 4, a);
	save("newaddr4", nlh);

	nlh = start(buf, RTM_NEWADDR, (void **)&ifa, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = 64;
	ifa->ifa_index = 7;
	addr(AF_INET6, "fd00:100::1", a);
	mnl_attr_put(nlh, IFA_ADDRESS, 16, a);
	save("newaddr6", nlh);

	nlh = start(buf, RTM_NEWROUTE, (void **)&rtm, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 24;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_type = RTN_UNICAST;
	rtm->rtm_protocol = RTPROT_STATIC;
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
	addr(AF_INET, "10.10.2.0", a);
	mnl_attr_put(nlh, RTA_DST, 4, a);
	addr(AF_INET, "192.168.100.2", a);
	mnl_attr_put(nlh, RTA_GATEWAY, 4, a);
	mnl_attr_put_u32(nlh, RTA_OIF, 7);
	mnl_attr_put_u32(nlh, RTA_PRIORITY, 100);
	save("newroute4", nlh);

	nlh = start(buf, RTM_DELROUTE, (void **)&rtm, sizeof(*rtm));
	rtm->rtm_family = AF_INET6;
	rtm->rtm_dst_len = 64;
	rtm->rtm_table = RT_TABLE_COMPAT;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_TABLE, 1000);
	addr(AF_INET6, "fd00:20::", a);
	mnl_attr_put(nlh, RTA_DST, 16, a);
	addr(AF_INET6, "fd00:100::2", a);
	mnl_attr_put(nlh, RTA_GATEWAY, 16, a);
	mnl_attr_put_u32(nlh, RTA_OIF, 7);
	save("delroute6", nlh);

	/* RFC 5549: IPv4 via an IPv6 gateway */
	nlh = start(buf, RTM_NEWROUTE, (void **)&rtm, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 16;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_type = RTN_UNICAST;
	addr(AF_INET, "10.30.0.0", a);
	mnl_attr_put(nlh, RTA_DST, 4, a);
	{
		uint8_t via[sizeof(struct rtvia) + 16];
		struct rtvia *v = (struct rtvia *)via;

		v->rtvia_family = AF_INET6;
		addr(AF_INET6, "fe80::1", v->rtvia_addr);
		mnl_attr_put(nlh, RTA_VIA, sizeof(via), via);
	}
	mnl_attr_put_u32(nlh, RTA_OIF, 7);
	save("newroute4_via6", nlh);

	/* ECMP: RTA_MULTIPATH with two paths, one with RTA_VIA */
	nlh = start(buf, RTM_NEWROUTE, (void **)&rtm, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 16;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_type = RTN_UNICAST;
	addr(AF_INET, "10.20.0.0", a);
	mnl_attr_put(nlh, RTA_DST, 4, a);
	nest = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
	for (int i = 0; i < 2; i++) {
		struct rtnexthop *nh =
		    (struct rtnexthop *)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));

		nlh->nlmsg_len += NLMSG_ALIGN(sizeof(*nh));
		memset(nh, 0, sizeof(*nh));
		nh->rtnh_ifindex = 7 + i;
		nh->rtnh_hops = (uint8_t)i;
		addr(AF_INET, i ? "192.0.2.11" : "192.0.2.10", a);
		mnl_attr_put(nlh, RTA_GATEWAY, 4, a);
		nh->rtnh_len = (unsigned short)((char *)nlh + nlh->nlmsg_len - (char *)nh);
	}
	mnl_attr_nest_end(nlh, nest);
	save("newroute4_multipath", nlh);

	nlh = start(buf, RTM_NEWROUTE, (void **)&rtm, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 16;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_type = RTN_UNICAST;
	addr(AF_INET, "10.21.0.0", a);
	mnl_attr_put(nlh, RTA_DST, 4, a);
	mnl_attr_put_u32(nlh, RTA_NH_ID, 42);
	save("newroute4_nhid", nlh);

	nlh = start(buf, RTM_NEWNEIGH, (void **)&ndm, sizeof(*ndm));
	ndm->ndm_family = AF_INET;
	ndm->ndm_ifindex = 7;
	ndm->ndm_state = NUD_REACHABLE;
	addr(AF_INET, "10.10.1.11", a);
	mnl_attr_put(nlh, NDA_DST, 4, a);
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	save("newneigh4", nlh);

	nlh = start(buf, RTM_NEWNEIGH, (void **)&ndm, sizeof(*ndm));
	ndm->ndm_family = AF_INET6;
	ndm->ndm_ifindex = 7;
	ndm->ndm_state = NUD_FAILED;
	addr(AF_INET6, "fd00:10::11", a);
	mnl_attr_put(nlh, NDA_DST, 16, a);
	save("newneigh6_failed", nlh);

	nlh = start(buf, RTM_NEWNEXTHOP, (void **)&nhm, sizeof(*nhm));
	nhm->nh_family = AF_INET;
	mnl_attr_put_u32(nlh, NHA_ID, 1);
	mnl_attr_put_u32(nlh, NHA_OIF, 7);
	addr(AF_INET, "192.0.2.1", a);
	mnl_attr_put(nlh, NHA_GATEWAY, 4, a);
	save("newnexthop", nlh);

	nlh = start(buf, RTM_NEWNEXTHOP, (void **)&nhm, sizeof(*nhm));
	{
		struct nexthop_grp grp[2] = {{.id = 1, .weight = 0}, {.id = 2, .weight = 4}};

		mnl_attr_put_u32(nlh, NHA_ID, 10);
		mnl_attr_put(nlh, NHA_GROUP, sizeof(grp), grp);
	}
	save("newnexthop_group", nlh);

	/* every message above in one buffer, then NLMSG_DONE: a dump reply */
	nlh = mnl_nlmsg_put_header(stream + stream_len);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI;
	mnl_nlmsg_put_extra_header(nlh, sizeof(int));
	stream_len += nlh->nlmsg_len;
	{
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/stream_dump", dir);
		f = fopen(path, "wb");
		if (f == NULL || fwrite(stream, 1, stream_len, f) != stream_len || fclose(f) != 0) {
			perror(path);
			return 1;
		}
	}
	return 0;
}
