/* SPDX-License-Identifier: BSD-3-Clause */
/* The NIC and exception ports: lookup, offload policy, setup, teardown. */
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dataplane.h"

RTE_LOG_REGISTER(dp_port_logtype, agent.dp.port, INFO);
#define RTE_LOGTYPE_DP_PORT dp_port_logtype

/* What a driver is, in the words agentd and operators use. */
const char *dp_driver_kind(const char *driver)
{
	static const struct {
		const char *driver, *kind;
	} kinds[] = {
	    {"net_tap", "tap"},	      {"net_virtio_user", "virtio-user"},
	    {"net_af_xdp", "af_xdp"}, {"net_af_packet", "af_packet"},
	    {"net_null", "null"},     {"net_ring", "ring"},
	    {"net_memif", "memif"},   {"net_vhost", "vhost"},
	    {"net_bonding", "bond"},
	};

	for (size_t i = 0; i < RTE_DIM(kinds); i++)
		if (strcmp(driver, kinds[i].driver) == 0)
			return kinds[i].kind;
	return "pci"; /* a real NIC's PMD (net_ixgbe, mlx5_pci, ...) */
}

void dp_devargs_iface(const char *devargs, char *ifname, size_t len)
{
	const char *p = devargs;

	ifname[0] = '\0';
	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, ",");
		if (n > 6 && strncmp(p, "iface=", 6) == 0) {
			size_t v = n - 6;
			if (v >= len)
				v = len - 1;
			memcpy(ifname, p + 6, v);
			ifname[v] = '\0';
			return;
		}
		p = p[n] == ',' ? p + n + 1 : NULL;
	}
}

void dp_format_mac(const struct rte_ether_addr *mac, char *out, size_t len)
{
	const uint8_t *b = mac->addr_bytes;

	snprintf(out, len, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

int dp_kernel_if_get(const char *ifname, struct dp_kernel_if *out)
{
	struct ifaddrs *ifas, *ifa;
	int ret = -ENODEV;

	memset(out, 0, sizeof(*out));
	if (getifaddrs(&ifas) < 0)
		return -errno;
	for (ifa = ifas; ifa != NULL; ifa = ifa->ifa_next) {
		/* the AF_PACKET entry of a link carries its MAC and counters */
		if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != AF_PACKET ||
		    strcmp(ifa->ifa_name, ifname) != 0)
			continue;
		const struct sockaddr_ll *sll = (const struct sockaddr_ll *)ifa->ifa_addr;
		if (sll->sll_halen == RTE_ETHER_ADDR_LEN)
			memcpy(out->mac.addr_bytes, sll->sll_addr, RTE_ETHER_ADDR_LEN);
		if (ifa->ifa_data != NULL) {
			const struct rtnl_link_stats *st = ifa->ifa_data;
			out->rx_dropped = st->rx_dropped;
			out->tx_dropped = st->tx_dropped;
		}
		ret = 0;
		break;
	}
	freeifaddrs(ifas);
	return ret;
}

static void kernel_ifname(uint16_t port_id, const struct rte_eth_dev_info *info, char *out,
			  size_t len)
{
	char name[IF_NAMESIZE];
	const struct rte_devargs *da;

	out[0] = '\0';
	/* tap, af_xdp, bifurcated PCI drivers report the netdev's index... */
	if (info->if_index != 0 && if_indextoname(info->if_index, name) != NULL) {
		snprintf(out, len, "%s", name);
		return;
	}
	/* ...virtio-user (vhost-net) and af_packet only name it in devargs. */
	da = info->device != NULL ? rte_dev_devargs(info->device) : NULL;
	if (da != NULL && da->args != NULL)
		dp_devargs_iface(da->args, out, len);
	(void)port_id;
}

int dp_port_lookup(struct dp_port *port, const char *role, const char *name)
{
	struct rte_eth_dev_info info;
	int ret;

	memset(port, 0, sizeof(*port));
	port->role = role;
	snprintf(port->name, sizeof(port->name), "%s", name);
	if (rte_eth_dev_get_port_by_name(name, &port->port_id) != 0)
		return -ENODEV;
	port->found = true;
	ret = rte_eth_dev_info_get(port->port_id, &info);
	if (ret < 0)
		return ret;
	snprintf(port->driver, sizeof(port->driver), "%s",
		 info.driver_name != NULL ? info.driver_name : "?");
	port->kind = dp_driver_kind(port->driver);
	kernel_ifname(port->port_id, &info, port->kernel_ifname, sizeof(port->kernel_ifname));
	ret = rte_eth_macaddr_get(port->port_id, &port->mac);
	if (ret < 0)
		return ret;
	/* "MTU from port default": what the driver reports before configure */
	if (rte_eth_dev_get_mtu(port->port_id, &port->mtu) != 0)
		port->mtu = RTE_ETHER_MTU;
	return 0;
}

/* Offload policy. The slow path moves frames between the wire and the kernel
 * unchanged, so every offload must leave packet data untouched unless the
 * other side can finish the job:
 *  - NIC rx checksum checks: only set mbuf flags.
 *  - The kernel's TCP super-packets and partial checksums, on an exception
 *    port that can take them and give them back (virtio-user over vhost-net:
 *    rx LRO + checksums, tx TSO + checksums): one routing decision per
 *    64 KiB instead of per frame. Every such packet is finished before it
 *    leaves (tx_offload.c): by the NIC where it has TSO / checksum offload
 *    (requested here), in software where not. Not on a TAP or af_xdp port
 *    (no virtio-net header: the kernel finishes everything before).
 *  - no VLAN strip, no KEEP_CRC: tags and frames go through as they are.
 *  - rx SCATTER when a frame of the port's MTU does not fit one mbuf, and tx
 *    MULTI_SEGS when the other port can hand us such chains (MULTI_SEGS would
 *    otherwise only slow vector tx paths down).
 *  - tx MBUF_FAST_FREE: every mbuf comes from one pool with refcnt 1. Drop it
 *    if a later path clones or attaches external buffers. */
#define EXC_GSO_RX                                                                                 \
	(RTE_ETH_RX_OFFLOAD_TCP_LRO | RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)
#define EXC_GSO_TX                                                                                 \
	(RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |                               \
	 RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_MULTI_SEGS)

bool dp_port_exc_gso(const struct rte_eth_dev_info *exc)
{
	return (exc->rx_offload_capa & EXC_GSO_RX) == EXC_GSO_RX &&
	       (exc->tx_offload_capa & EXC_GSO_TX) == EXC_GSO_TX;
}

void dp_port_choose_offloads(const struct rte_eth_dev_info *self,
			     const struct rte_eth_dev_info *peer, enum dp_port_role role,
			     bool self_rx_oversize, bool peer_rx_oversize, uint64_t *rx_offloads,
			     uint64_t *tx_offloads)
{
	uint64_t rx = 0, tx = RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;

	if (role == DP_PORT_NIC)
		rx |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM |
		      RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	if (role == DP_PORT_EXC && dp_port_exc_gso(self)) {
		rx |= EXC_GSO_RX;
		tx |= EXC_GSO_TX;
	}
	if (role == DP_PORT_NIC && dp_port_exc_gso(peer))
		tx |= RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
		      RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM |
		      RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	if (self_rx_oversize)
		rx |= RTE_ETH_RX_OFFLOAD_SCATTER;
	if (peer_rx_oversize)
		tx |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	*rx_offloads = rx & self->rx_offload_capa;
	*tx_offloads = tx & self->tx_offload_capa;
}

void dp_format_offloads(uint64_t bits, bool rx, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned int i = 0; i < 64 && used + 1 < len; i++) {
		uint64_t bit = UINT64_C(1) << i;
		if (!(bits & bit))
			continue;
		int n = snprintf(out + used, len - used, "%s%s", used ? "," : "",
				 rx ? rte_eth_dev_rx_offload_name(bit)
				    : rte_eth_dev_tx_offload_name(bit));
		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (used == 0)
		snprintf(out, len, "none");
}

/* Largest frame a port may receive at its MTU (QinQ-tagged, with CRC). */
static uint32_t max_frame(uint16_t mtu)
{
	return (uint32_t)mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN + 2 * RTE_VLAN_HLEN;
}

/* XDP keeps this much headroom in each frame of an af_xdp umem, which are
 * our mbufs (the PMD's zero-copy mempool mode) */
#define DP_XDP_HEADROOM 256
/* An mbuf (with its headers) within a 4 KiB page: af_xdp takes no larger */
#define DP_MBUF_BUF_MAX (4096 - (uint32_t)sizeof(struct rte_mbuf) - RTE_CACHE_LINE_SIZE)

uint16_t dp_mbuf_buf_size(unsigned int mtu)
{
	uint32_t need = max_frame((uint16_t)mtu) + RTE_PKTMBUF_HEADROOM + DP_XDP_HEADROOM;

	/* one frame of the MTU per mbuf where a page allows it: ports that
	 * cannot scatter (af_xdp) then carry it; larger MTUs need ports that
	 * chain mbufs (PCI NICs, virtio), checked at port setup */
	if (mtu == 0 || need <= RTE_MBUF_DEFAULT_BUF_SIZE)
		return RTE_MBUF_DEFAULT_BUF_SIZE;
	return (uint16_t)RTE_MIN(need, DP_MBUF_BUF_MAX);
}

int dp_ports_set_mtu(struct dp_port ports[DP_PORT_COUNT], unsigned int mtu)
{
	for (int i = 0; i < DP_PORT_COUNT; i++) {
		struct dp_port *port = &ports[i];
		struct rte_eth_dev_info info;
		int ret = rte_eth_dev_info_get(port->port_id, &info);

		if (ret < 0)
			return ret;
		if (mtu < info.min_mtu || mtu > info.max_mtu) {
			dp_errorf("MTU %u (nic.mtu): %s port %s (%s) takes an MTU of %u to %u", mtu,
				  port->role, port->name, port->driver, info.min_mtu, info.max_mtu);
			return -EINVAL;
		}
		port->mtu = (uint16_t)mtu;
	}
	return 0;
}

static int port_configure(struct dp_port *port, const struct rte_eth_dev_info *info,
			  struct rte_mempool *pool, uint16_t n_queues)
{
	struct rte_eth_conf conf = {0};
	struct rte_eth_rxconf rxconf = info->default_rxconf;
	struct rte_eth_txconf txconf = info->default_txconf;
	int socket = rte_eth_dev_socket_id(port->port_id);
	int ret;

	if (socket < 0)
		socket = (int)rte_socket_id();
	conf.rxmode.mtu = port->mtu; /* 0 would reset it to 1500 */
	conf.rxmode.offloads = port->rx_offloads;
	/* LRO: as large as the port takes (ethdev's default, the MTU's frame,
	 * would be no aggregation at all) */
	if (port->rx_offloads & RTE_ETH_RX_OFFLOAD_TCP_LRO)
		conf.rxmode.max_lro_pkt_size = info->max_lro_pkt_size;
	conf.txmode.offloads = port->tx_offloads;
	ret = rte_eth_dev_configure(port->port_id, n_queues, n_queues, &conf);
	if (ret < 0) {
		RTE_LOG(ERR, DP_PORT, "%s %s: cannot configure: %s\n", port->role, port->name,
			strerror(-ret));
		return ret;
	}
	port->configured = true;
	port->nb_rxd = DP_RX_DESC_DEFAULT;
	port->nb_txd = DP_TX_DESC_DEFAULT;
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port->port_id, &port->nb_rxd, &port->nb_txd);
	if (ret < 0)
		return ret;
	rxconf.offloads = port->rx_offloads;
	txconf.offloads = port->tx_offloads;
	for (uint16_t q = 0; q < n_queues; q++) {
		ret = rte_eth_rx_queue_setup(port->port_id, q, port->nb_rxd, (unsigned)socket,
					     &rxconf, pool);
		if (ret < 0) {
			RTE_LOG(ERR, DP_PORT, "%s %s: rx queue %u: %s\n", port->role, port->name, q,
				strerror(-ret));
			return ret;
		}
		ret = rte_eth_tx_queue_setup(port->port_id, q, port->nb_txd, (unsigned)socket,
					     &txconf);
		if (ret < 0) {
			RTE_LOG(ERR, DP_PORT, "%s %s: tx queue %u: %s\n", port->role, port->name, q,
				strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void log_port(const struct dp_port *port)
{
	char mac[RTE_ETHER_ADDR_FMT_SIZE], rx[512], tx[512], link_str[RTE_ETH_LINK_MAX_STR_LEN];
	struct rte_eth_link link;

	dp_format_mac(&port->mac, mac, sizeof(mac));
	dp_format_offloads(port->rx_offloads, true, rx, sizeof(rx));
	dp_format_offloads(port->tx_offloads, false, tx, sizeof(tx));
	if (rte_eth_link_get_nowait(port->port_id, &link) == 0)
		rte_eth_link_to_str(link_str, sizeof(link_str), &link);
	else
		snprintf(link_str, sizeof(link_str), "unknown");
	RTE_LOG(INFO, DP_PORT,
		"%s: port %u %s driver %s (%s) mac %s kernel ifname %s mtu %u "
		"rxd %u txd %u; %s\n",
		port->role, port->port_id, port->name, port->driver, port->kind, mac,
		port->kernel_ifname[0] ? port->kernel_ifname : "-", port->mtu, port->nb_rxd,
		port->nb_txd, link_str);
	RTE_LOG(INFO, DP_PORT, "%s: rx offloads %s; tx offloads %s\n", port->role, rx, tx);
}

int dp_ports_setup(struct dp_port ports[DP_PORT_COUNT], struct rte_mempool *pool, uint16_t n_queues)
{
	return dp_ports_setup_mask(ports, pool, n_queues, (1u << DP_PORT_COUNT) - 1);
}

int dp_ports_setup_mask(struct dp_port ports[DP_PORT_COUNT], struct rte_mempool *pool,
			uint16_t n_queues, unsigned int mask)
{
	uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
	struct rte_eth_dev_info info[DP_PORT_COUNT];
	bool oversize[DP_PORT_COUNT];
	int ret;

	for (int i = 0; i < DP_PORT_COUNT; i++) {
		ret = rte_eth_dev_info_get(ports[i].port_id, &info[i]);
		if (ret < 0)
			return ret;
		oversize[i] = max_frame(ports[i].mtu) > room;
	}
	for (int i = 0; i < DP_PORT_COUNT; i++) {
		struct dp_port *port = &ports[i];
		int peer = i == DP_PORT_NIC ? DP_PORT_EXC : DP_PORT_NIC;

		dp_port_choose_offloads(&info[i], &info[peer], (enum dp_port_role)i, oversize[i],
					oversize[peer], &port->rx_offloads, &port->tx_offloads);
		/* refused, not run with frames of the MTU silently dropped */
		if (oversize[i] && !(port->rx_offloads & RTE_ETH_RX_OFFLOAD_SCATTER)) {
			dp_errorf("MTU %u: %s port %s (%s) cannot receive frames over %u bytes "
				  "(one mbuf, no scatter): lower nic.mtu to %u",
				  port->mtu, port->role, port->name, port->driver, room,
				  room - (max_frame(0)));
			return -EMSGSIZE;
		}
		if (oversize[peer] && !(port->tx_offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)) {
			dp_errorf("MTU %u: %s port %s (%s) cannot send frames over %u bytes "
				  "(no multi-segment tx): lower nic.mtu to %u",
				  ports[peer].mtu, port->role, port->name, port->driver, room,
				  room - (max_frame(0)));
			return -EMSGSIZE;
		}
		if (!(mask & (1u << i)))
			continue;
		ret = port_configure(port, &info[i], pool, n_queues);
		if (ret < 0)
			return ret;
	}
	for (int i = 0; i < DP_PORT_COUNT; i++) {
		struct dp_port *port = &ports[i];

		if (!(mask & (1u << i)))
			continue;

		ret = rte_eth_dev_start(port->port_id);
		if (ret < 0) {
			RTE_LOG(ERR, DP_PORT, "%s %s: cannot start: %s\n", port->role, port->name,
				strerror(-ret));
			return ret;
		}
		port->started = true;
		/* Slow path: every frame goes to the kernel, whatever its MAC. */
		ret = rte_eth_promiscuous_enable(port->port_id);
		if (ret < 0)
			RTE_LOG(WARNING, DP_PORT, "%s %s: cannot enable promiscuous mode: %s\n",
				port->role, port->name, strerror(-ret));
		/* The MAC and MTU may only be final now (tap, virtio-user). */
		rte_eth_macaddr_get(port->port_id, &port->mac);
		rte_eth_dev_get_mtu(port->port_id, &port->mtu);
		log_port(port);
	}
	return 0;
}

void dp_port_close(struct dp_port *port)
{
	int ret;

	if (port->started) {
		/* af_xdp/af_packet leave IFF_PROMISC on the netdev otherwise, and
		 * the kernel gets the NIC back in fallback. */
		if (rte_eth_promiscuous_get(port->port_id) == 1)
			rte_eth_promiscuous_disable(port->port_id);
		ret = rte_eth_dev_stop(port->port_id);
		if (ret < 0)
			RTE_LOG(WARNING, DP_PORT, "%s %s: stop: %s\n", port->role, port->name,
				strerror(-ret));
		port->started = false;
	}
	if (port->found) {
		ret = rte_eth_dev_close(port->port_id);
		if (ret < 0)
			RTE_LOG(WARNING, DP_PORT, "%s %s: close: %s\n", port->role, port->name,
				strerror(-ret));
		port->configured = false;
		port->found = false;
	}
}
