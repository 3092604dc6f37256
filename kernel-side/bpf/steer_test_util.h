/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers for the steering tests: a sandbox (private mount/net namespace with
 * a temporary bpffs) and builders of real Ethernet frames. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ctest SKIP_RETURN_CODE: the tests need root. */
#define STEER_TEST_SKIP 77

/* Move the process into a private mount namespace (and a new network
 * namespace if NETNS) and create a temporary directory whose "bpffs"
 * subdirectory is where tests mount their bpffs. Returns 0 or -errno. */
int steer_test_sandbox(bool netns, char *tmpdir, size_t len);
/* Unmount <tmpdir>/bpffs and remove the temporary directory. */
void steer_test_sandbox_cleanup(const char *tmpdir);
/* Run a shell command (printf-style), return its exit status (-1 on error). */
int steer_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What to put in a frame; zero fields take defaults. */
struct pkt_spec {
	uint8_t dst_mac[6];
	uint8_t src_mac[6]; /* default 02:00:00:00:00:aa */
	int family;	    /* AF_INET / AF_INET6 */
	const char *src;    /* IP source, default 10.10.1.11 / fd00:1::11 */
	const char *dst;    /* IP destination (required) */
	uint8_t ttl;	    /* TTL / hop limit, default 64 (use ttl_zero for 0) */
	bool ttl_zero;
	uint8_t proto;	   /* IPv4 protocol / IPv6 next header, default UDP */
	uint8_t icmp_type; /* for ICMP / ICMPv6 */
	bool ip_options;   /* IPv4: ihl = 6 with a 4-byte NOP option */
	uint16_t frag_off; /* IPv4 flags+offset (host order), e.g. 0x2000 = MF */
	uint16_t vlan;	   /* non-zero: add an 802.1Q tag with this VID */
	size_t payload;	   /* bytes after the L4 header, default 32 */
	uint8_t marker;	   /* payload fill byte (to recognise the frame) */
};

/* Build an Ethernet frame with IPv4/IPv6 and a TCP/UDP/ICMP/ICMPv6 header
 * (valid checksums for IPv4 header). Returns its length, 0 if it does not
 * fit in SIZE or the spec is invalid. */
size_t pkt_build(const struct pkt_spec *spec, uint8_t *buf, size_t size);
/* ARP request (op 1) or reply (op 2) from SENDER_IP to TARGET_IP. */
size_t pkt_build_arp(const uint8_t dst_mac[6], const uint8_t src_mac[6], int op,
		     const char *sender_ip, const char *target_ip, uint8_t *buf, size_t size);
