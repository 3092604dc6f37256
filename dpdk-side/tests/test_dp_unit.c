/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of agent-dataplane's pure parts: argument parsing, the offload
 * policy, devargs/driver helpers and the slow-path verdicts. No EAL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane.h"
#include "process.h"

#define ARGV(...) ((char *[]){"agent-dataplane", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"agent-dataplane", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(args, err, ...)                                                                      \
	dp_args_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), args, err, sizeof(err))

static void test_args_minimal_uses_defaults(void **state)
{
	struct dp_args a;
	char err[256];

	assert_int_equal(PARSE(&a, err, "--nic", "net_af_xdp0", "--exception", "net_tap0"), 0);
	assert_string_equal(a.nic, "net_af_xdp0");
	assert_string_equal(a.exception, "net_tap0");
	assert_int_equal(a.burst, DP_DEFAULT_BURST);
	assert_int_equal(a.mbufs, DP_DEFAULT_MBUFS);
}

static void test_args_all_options(void **state)
{
	struct dp_args a;
	char err[256];

	assert_int_equal(PARSE(&a, err, "--nic", "0000:03:00.0", "--exception", "virtio_user0",
			       "--burst", "64", "--mbufs", "16383"),
			 0);
	assert_string_equal(a.nic, "0000:03:00.0");
	assert_string_equal(a.exception, "virtio_user0");
	assert_int_equal(a.burst, 64);
	assert_int_equal(a.mbufs, 16383);
	/* "--opt=value" form too */
	assert_int_equal(PARSE(&a, err, "--nic=a", "--exception=b", "--burst=1"), 0);
	assert_int_equal(a.burst, 1);
}

static void test_args_missing_ports(void **state)
{
	struct dp_args a;
	char err[256];

	assert_int_equal(PARSE(&a, err, "--exception", "net_tap0"), -EINVAL);
	assert_non_null(strstr(err, "--nic"));
	assert_int_equal(PARSE(&a, err, "--nic", "net_af_xdp0"), -EINVAL);
	assert_non_null(strstr(err, "--exception"));
	assert_int_equal(PARSE(&a, err, "--nic", "p", "--exception", "p"), -EINVAL);
	assert_non_null(strstr(err, "same port"));
}

static void test_args_bad_numbers(void **state)
{
	struct dp_args a;
	char err[256];

	assert_int_equal(PARSE(&a, err, "--nic", "a", "--exception", "b", "--burst", "0"), -EINVAL);
	assert_non_null(strstr(err, "--burst"));
	assert_int_equal(PARSE(&a, err, "--nic", "a", "--exception", "b", "--burst", "257"),
			 -EINVAL);
	assert_int_equal(PARSE(&a, err, "--nic", "a", "--exception", "b", "--burst", "32x"),
			 -EINVAL);
	assert_int_equal(PARSE(&a, err, "--nic", "a", "--exception", "b", "--burst", "-1"),
			 -EINVAL);
	assert_int_equal(PARSE(&a, err, "--nic", "a", "--exception", "b", "--mbufs", "100"),
			 -EINVAL);
	assert_non_null(strstr(err, "--mbufs"));
	assert_int_equal(PARSE(&a, err, "--nic", "a", "--exception", "b", "--mbufs", "1023"), 0);
}

static void test_args_unknown_and_stray(void **state)
{
	struct dp_args a;
	char err[256];

	assert_int_equal(PARSE(&a, err, "--nic", "a", "--exception", "b", "--frobnicate"), -EINVAL);
	assert_non_null(strstr(err, "--frobnicate"));
	assert_int_equal(PARSE(&a, err, "--nic", "a", "--exception", "b", "stray"), -EINVAL);
	assert_non_null(strstr(err, "stray"));
	assert_int_equal(PARSE(&a, err, "--nic", "a", "--exception"), -EINVAL);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(PARSE(&a, err, "--help"), 1);
}

static void test_devargs_iface(void **state)
{
	char ifname[IF_NAMESIZE];

	dp_devargs_iface("iface=dp0", ifname, sizeof(ifname));
	assert_string_equal(ifname, "dp0");
	dp_devargs_iface("path=/dev/vhost-net,iface=dp1,queues=1,queue_size=1024", ifname,
			 sizeof(ifname));
	assert_string_equal(ifname, "dp1");
	dp_devargs_iface("path=/dev/vhost-net,queues=1", ifname, sizeof(ifname));
	assert_string_equal(ifname, "");
	dp_devargs_iface("", ifname, sizeof(ifname));
	assert_string_equal(ifname, "");
	dp_devargs_iface("myiface=x,iface=", ifname, sizeof(ifname));
	assert_string_equal(ifname, "");
	/* truncated to the buffer, never overflowing it */
	dp_devargs_iface("iface=averyveryverylongname", ifname, 8);
	assert_string_equal(ifname, "averyve");
}

static void test_driver_kind(void **state)
{
	assert_string_equal(dp_driver_kind("net_tap"), "tap");
	assert_string_equal(dp_driver_kind("net_virtio_user"), "virtio-user");
	assert_string_equal(dp_driver_kind("net_af_xdp"), "af_xdp");
	assert_string_equal(dp_driver_kind("net_af_packet"), "af_packet");
	assert_string_equal(dp_driver_kind("net_ixgbe"), "pci");
}

static void test_format_mac(void **state)
{
	struct rte_ether_addr mac = {.addr_bytes = {0xaa, 0xbb, 0x0c, 0x00, 0x01, 0xff}};
	char out[RTE_ETHER_ADDR_FMT_SIZE];

	dp_format_mac(&mac, out, sizeof(out));
	assert_string_equal(out, "aa:bb:0c:00:01:ff");
}

static const uint64_t rx_csum =
    RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
static const struct rte_eth_dev_info none_info = {0};
/* what the virtio PMD offers on virtio-user over vhost-net */
static const uint64_t gso_rx =
    RTE_ETH_RX_OFFLOAD_TCP_LRO | RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
static const uint64_t gso_tx = RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
			       RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_MULTI_SEGS;

static void test_offloads_limited_to_capabilities(void **state)
{
	struct rte_eth_dev_info none = {0};
	uint64_t rx = ~0ull, tx = ~0ull;

	/* af_xdp-like: no capabilities, nothing requested */
	dp_port_choose_offloads(&none, &none_info, DP_PORT_NIC, true, true, &rx, &tx);
	assert_int_equal(rx, 0);
	assert_int_equal(tx, 0);
}

static void test_offloads_nic_vs_exception(void **state)
{
	/* a TAP-like exception port: checksums, no LRO/TSO */
	struct rte_eth_dev_info tap = {
	    .rx_offload_capa = ~RTE_ETH_RX_OFFLOAD_TCP_LRO,
	    .tx_offload_capa = ~RTE_ETH_TX_OFFLOAD_TCP_TSO,
	};
	uint64_t rx, tx;

	dp_port_choose_offloads(&tap, &tap, DP_PORT_NIC, false, false, &rx, &tx);
	assert_int_equal(rx, rx_csum);
	assert_int_equal(tx, RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE);

	/* the exception port asks for no rx checksum/LRO unless it can give
	 * the kernel's super-packets back (partial checksums from the kernel
	 * would reach the wire), nor VLAN strip */
	dp_port_choose_offloads(&tap, &tap, DP_PORT_EXC, false, false, &rx, &tx);
	assert_int_equal(rx, 0);
	assert_int_equal(tx, RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE);
}

static void test_offloads_exception_gso(void **state)
{
	struct rte_eth_dev_info vu = {.rx_offload_capa = gso_rx, .tx_offload_capa = gso_tx};
	struct rte_eth_dev_info nic = {.rx_offload_capa = ~0ull, .tx_offload_capa = ~0ull};
	struct rte_eth_dev_info dumb_nic = {0};
	uint64_t rx, tx;

	/* virtio-user: super-packets and partial checksums both ways */
	assert_true(dp_port_exc_gso(&vu));
	dp_port_choose_offloads(&vu, &nic, DP_PORT_EXC, false, false, &rx, &tx);
	assert_int_equal(rx, gso_rx);
	assert_int_equal(tx, gso_tx);
	/* the NIC then finishes them where it can: TSO, checksums, chains */
	dp_port_choose_offloads(&nic, &vu, DP_PORT_NIC, false, false, &rx, &tx);
	assert_int_equal(rx, rx_csum);
	assert_int_equal(tx, RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE | RTE_ETH_TX_OFFLOAD_TCP_TSO |
				 RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
				 RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
	/* a NIC without: nothing asked (tx_offload.c segments in software) */
	dp_port_choose_offloads(&dumb_nic, &vu, DP_PORT_NIC, false, false, &rx, &tx);
	assert_int_equal(tx, 0);
	/* an exception port that cannot give super-packets back gets none */
	vu.tx_offload_capa &= ~RTE_ETH_TX_OFFLOAD_TCP_TSO;
	assert_false(dp_port_exc_gso(&vu));
	dp_port_choose_offloads(&vu, &nic, DP_PORT_EXC, false, false, &rx, &tx);
	assert_int_equal(rx, 0);
}

static void test_offloads_jumbo_frames(void **state)
{
	struct rte_eth_dev_info tap = {
	    .rx_offload_capa = ~RTE_ETH_RX_OFFLOAD_TCP_LRO,
	    .tx_offload_capa = ~RTE_ETH_TX_OFFLOAD_TCP_TSO,
	};
	uint64_t rx, tx;

	dp_port_choose_offloads(&tap, &tap, DP_PORT_EXC, true, false, &rx, &tx);
	assert_true(rx & RTE_ETH_RX_OFFLOAD_SCATTER);
	assert_false(tx & RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
	dp_port_choose_offloads(&tap, &tap, DP_PORT_NIC, false, true, &rx, &tx);
	assert_false(rx & RTE_ETH_RX_OFFLOAD_SCATTER);
	assert_true(tx & RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
}

static void test_slow_path_crosses_over(void **state)
{
	struct rte_mbuf mbufs[5];
	struct rte_mbuf *pkts[5];
	uint8_t verdict[5];
	static uint8_t data[5][256];
	struct dp_lcore lc = {0};

	memset(mbufs, 0, sizeof(mbufs));
	for (int i = 0; i < 5; i++) {
		mbufs[i].buf_addr = data[i];
		mbufs[i].data_off = 128;
		pkts[i] = &mbufs[i];
	}
	memset(verdict, 0xaa, sizeof(verdict));
	dp_process_burst(&lc, DP_PORT_NIC, pkts, 5, verdict);
	for (int i = 0; i < 5; i++)
		assert_int_equal(verdict[i], DP_PORT_EXC);
	dp_process_burst(&lc, DP_PORT_EXC, pkts, 4, verdict);
	for (int i = 0; i < 4; i++)
		assert_int_equal(verdict[i], DP_PORT_NIC);
	assert_int_equal(verdict[4], DP_PORT_EXC); /* untouched past nb */
}

static void test_counter_add(void **state)
{
	uint64_t c = UINT32_MAX;

	dp_counter_add(&c, 1);
	assert_true(dp_counter_read(&c) == (uint64_t)UINT32_MAX + 1);
	dp_counter_add(&c, 0);
	assert_true(dp_counter_read(&c) == (uint64_t)UINT32_MAX + 1);
}

/* A drop is reported at once, then at most every DROP_WATCH_INTERVAL_S
 * with what accumulated; kinds are independent; nothing new, no report. */
static void test_drop_watch_rate_limit(void **state)
{
	struct drop_watch w;
	uint64_t cur[DW_N] = {0}, d[DW_N];

	drop_watch_init(&w);
	assert_int_equal(drop_watch_update(&w, 100.0, cur, d), 0);
	cur[DW_TX_FULL_EXC] = 437;
	assert_int_equal(drop_watch_update(&w, 101.0, cur, d), 1u << DW_TX_FULL_EXC);
	assert_true(d[DW_TX_FULL_EXC] == 437 && d[DW_TX_FULL_NIC] == 0);
	/* more drops within the interval: counted, not reported yet */
	cur[DW_TX_FULL_EXC] = 500;
	assert_int_equal(drop_watch_update(&w, 105.0, cur, d), 0);
	cur[DW_TX_FULL_EXC] = 600;
	assert_int_equal(drop_watch_update(&w, 110.9, cur, d), 0);
	/* another kind is not held back by the first one's interval */
	cur[DW_NO_MBUF] = 3;
	assert_int_equal(drop_watch_update(&w, 110.9, cur, d), 1u << DW_NO_MBUF);
	assert_true(d[DW_NO_MBUF] == 3);
	/* the interval over: what accumulated, in one report */
	assert_int_equal(drop_watch_update(&w, 111.0, cur, d), 1u << DW_TX_FULL_EXC);
	assert_true(d[DW_TX_FULL_EXC] == 163);
	/* quiet: nothing, however long */
	assert_int_equal(drop_watch_update(&w, 500.0, cur, d), 0);
	/* after a quiet spell a new drop is reported at once */
	cur[DW_TX_FULL_EXC] = 601;
	assert_int_equal(drop_watch_update(&w, 500.5, cur, d), 1u << DW_TX_FULL_EXC);
	assert_true(d[DW_TX_FULL_EXC] == 1);
	/* a counter that went back (port reset) is a new baseline, not 2^64 drops */
	cur[DW_NO_MBUF] = 1;
	assert_int_equal(drop_watch_update(&w, 600.0, cur, d), 0);
	cur[DW_NO_MBUF] = 2;
	assert_int_equal(drop_watch_update(&w, 600.0, cur, d), 1u << DW_NO_MBUF);
	assert_true(d[DW_NO_MBUF] == 1);
	for (int k = 0; k < DW_N; k++)
		assert_non_null(drop_watch_names[k]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_args_minimal_uses_defaults),
	    cmocka_unit_test(test_args_all_options),
	    cmocka_unit_test(test_args_missing_ports),
	    cmocka_unit_test(test_args_bad_numbers),
	    cmocka_unit_test(test_args_unknown_and_stray),
	    cmocka_unit_test(test_devargs_iface),
	    cmocka_unit_test(test_driver_kind),
	    cmocka_unit_test(test_format_mac),
	    cmocka_unit_test(test_offloads_limited_to_capabilities),
	    cmocka_unit_test(test_offloads_nic_vs_exception),
	    cmocka_unit_test(test_offloads_exception_gso),
	    cmocka_unit_test(test_offloads_jumbo_frames),
	    cmocka_unit_test(test_slow_path_crosses_over),
	    cmocka_unit_test(test_counter_add),
	    cmocka_unit_test(test_drop_watch_rate_limit),
	};
	return cmocka_run_group_tests_name("dataplane", tests, NULL, NULL);
}
