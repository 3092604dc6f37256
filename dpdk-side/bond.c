/* SPDX-License-Identifier: BSD-3-Clause */
/* A bonded uplink: the NIC port is DPDK's bonding PMD over the members
 * agentd passed (nic.members). The PMD does the work (LACP, failover
 * between members, hashing); here is what the rest of the dataplane asks
 * of it: which mode, and each member's state for telemetry and the log. */
#include <string.h>

#include <rte_eth_bond.h>
#include <rte_eth_bond_8023ad.h>
#include <rte_ethdev.h>

#include "dataplane.h"

int dp_bond_mode(const struct dp_port *port)
{
	if (!port->found || strcmp(port->driver, "net_bonding") != 0)
		return -1;
	return rte_eth_bond_mode_get(port->port_id);
}

int dp_bond_members(const struct dp_port *port, struct dp_bond_member *m, int max)
{
	uint16_t ids[RTE_MAX_ETHPORTS];
	int mode = dp_bond_mode(port), n, primary;

	if (mode < 0)
		return -1;
	n = rte_eth_bond_slaves_get(port->port_id, ids, RTE_DIM(ids));
	if (n < 0)
		return n;
	primary = rte_eth_bond_primary_get(port->port_id);
	if (n > max)
		n = max;
	for (int i = 0; i < n; i++) {
		struct rte_eth_link link = {0};

		memset(&m[i], 0, sizeof(m[i]));
		m[i].port_id = ids[i];
		if (rte_eth_dev_get_name_by_port(ids[i], m[i].name) != 0)
			snprintf(m[i].name, sizeof(m[i].name), "port%u", ids[i]);
		rte_eth_link_get_nowait(ids[i], &link);
		m[i].link_up = link.link_status == RTE_ETH_LINK_UP;
		if (mode == BONDING_MODE_8023AD) {
			struct rte_eth_bond_8023ad_slave_info info;

			/* carries traffic once LACP agreed with the partner */
			if (rte_eth_bond_8023ad_slave_info(port->port_id, ids[i], &info) == 0)
				m[i].in_use = (info.actor_state & STATE_DISTRIBUTING) != 0;
		} else {
			m[i].in_use = m[i].link_up && ids[i] == primary;
		}
	}
	return n;
}
