/* SPDX-License-Identifier: BSD-3-Clause */
/* Offload settings, through the ethtool ioctl (what `ethtool -K` does; the
 * ethtool netlink family would need libnl-genl for two flags). */
#define LOG_TYPE "ethtool"
#include <agent_log.h>

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kernel_side.h"

int ks_link_tx_csum_off(const char *name)
{
	struct ethtool_value ev = {.cmd = ETHTOOL_STXCSUM, .data = 0};
	struct ifreq ifr;
	int fd, ret = 0;

	if (name == NULL || strnlen(name, IFNAMSIZ) >= IFNAMSIZ)
		return -EINVAL;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&ev;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0) {
		ret = -errno;
		LOG(ERR, "cannot turn tx checksum offload off on %s: %s", name, strerror(errno));
	}
	close(fd);
	return ret;
}
