/* SPDX-License-Identifier: BSD-3-Clause */
/* The steering loader: bpffs mount, pinning, adoption of pinned maps by a
 * "restarted agent", idempotent tc attach, and real redirects between veths
 * in a private network namespace. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/magic.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>

#include <agent_log.h>
#include <steer.h>

#include "steer_test_util.h"

static char tmpdir[128];
static char bpffs[256];

static const uint8_t gw_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x01, 0x01};
static const uint8_t vm_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x11};

static int group_setup(void **state)
{
	if (steer_test_sandbox(true, tmpdir, sizeof(tmpdir)) < 0)
		return -1;
	snprintf(bpffs, sizeof(bpffs), "%s/bpffs", tmpdir);
	return 0;
}

static int group_teardown(void **state)
{
	/* The veths go away with the private netns when the process exits. */
	steer_test_sandbox_cleanup(tmpdir);
	return 0;
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

static bool exists(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

static struct bpf_map_info pinned_map_info(const char *dir, const char *name)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	char path[512];
	int fd;

	memset(&info, 0, sizeof(info));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	return info;
}

static uint32_t pinned_prog_id(const char *dir, const char *name)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	char path[512];
	int fd;

	memset(&info, 0, sizeof(info));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	return info.id;
}

/* Our filters on tc ingress of DEV, as tc(8) lists them. */
static int count_filters(const char *dev)
{
	char cmd[256], line[512];
	int n = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "tc filter show dev %s ingress 2>/dev/null", dev);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "handle 0x5354"))
			n++;
	pclose(f);
	return n;
}

static int veth_create(const char *name, const char *peer)
{
	if (steer_test_sh("ip link add %s type veth peer name %s && ip link set %s up && "
			  "ip link set %s up",
			  name, peer, name, peer) != 0)
		return -1;
	return (int)if_nametoindex(name);
}

static void test_bpffs_ensure_mounts_once(void **state)
{
	char deep[300];

	assert_false(is_bpffs(bpffs));
	assert_int_equal(steer_bpffs_ensure(bpffs), 0);
	assert_true(is_bpffs(bpffs));
	assert_int_equal(steer_bpffs_ensure(bpffs), 0); /* already: nothing to do */
	assert_true(is_bpffs(bpffs));

	/* A path that does not exist yet is created (mkdir -p). */
	snprintf(deep, sizeof(deep), "%s/run/agentd/bpffs", tmpdir);
	assert_int_equal(steer_bpffs_ensure(deep), 0);
	assert_true(is_bpffs(deep));
	assert_int_equal(umount(deep), 0);
	assert_int_equal(steer_bpffs_ensure(""), -EINVAL);
}

static void test_open_pins_maps_and_progs(void **state)
{
	struct steer_settings set;
	struct steer *s;
	char dir[300];

	assert_int_equal(steer_open(bpffs, "pins", &s), 0);
	snprintf(dir, sizeof(dir), "%s/pins", bpffs);
	assert_string_equal(steer_pin_dir(s), dir);
	assert_true(exists(dir, "settings"));
	assert_true(exists(dir, "local_addrs"));
	assert_true(exists(dir, "vm_macs"));
	assert_true(exists(dir, "counters"));
	assert_true(exists(dir, "steer_vm_ingress"));
	assert_true(exists(dir, "steer_exc_ingress"));
	assert_int_equal(pinned_map_info(dir, "counters").type, BPF_MAP_TYPE_PERCPU_ARRAY);
	assert_int_equal(pinned_map_info(dir, "vm_macs").key_size, 6);
	assert_int_equal(pinned_prog_id(dir, "steer_vm_ingress"),
			 steer_prog_id(s, STEER_PROG_VM_INGRESS));
	/* A fresh settings map steers nothing. */
	assert_int_equal(steer_settings_get(s, &set), 0);
	assert_int_equal(set.mode, STEER_MODE_PASS);
	steer_close(s);

	/* Pins outlive the loader; unpin removes them, twice is fine. */
	assert_true(exists(dir, "settings"));
	assert_int_equal(steer_unpin(bpffs, "pins"), 0);
	assert_false(exists(bpffs, "pins"));
	assert_int_equal(steer_unpin(bpffs, "pins"), 0);
	assert_int_equal(steer_open(bpffs, "../x", &s), -EINVAL);
	assert_null(s);
}

/* A restarted agentd adopts the maps: nothing written before is lost. */
static void test_reopen_adopts_pinned_maps(void **state)
{
	struct steer_counter_value cnt[STEER_CNT_MAX];
	struct steer_settings set = {.mode = STEER_MODE_FAST, .exc_ifindex = 1};
	struct steer_addr_key keys[4];
	struct steer_vm_mac macs[4];
	uint32_t settings_id, old_prog, new_prog;
	uint8_t frame[60] = {0};
	struct in_addr a4;
	struct steer *s;
	char dir[300];
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame, .data_size_in = sizeof(frame),
		    .repeat = 1);

	snprintf(dir, sizeof(dir), "%s/adopt", bpffs);
	memcpy(set.gateway_mac, gw_mac, 6);
	inet_pton(AF_INET, "10.10.1.1", &a4);

	assert_int_equal(steer_open(bpffs, "adopt", &s), 0);
	assert_int_equal(steer_settings_set(s, &set), 0);
	assert_int_equal(steer_local_addr_add(s, AF_INET, &a4), 0);
	assert_int_equal(steer_vm_mac_add(s, vm_mac, 42), 0);
	/* Move a counter: an unknown-MAC frame on the exception program. */
	assert_int_equal(bpf_prog_test_run_opts(steer_prog_fd(s, STEER_PROG_EXC_INGRESS), &run), 0);
	settings_id = pinned_map_info(dir, "settings").id;
	old_prog = steer_prog_id(s, STEER_PROG_EXC_INGRESS);
	steer_close(s);

	assert_int_equal(steer_open(bpffs, "adopt", &s), 0);
	assert_int_equal(pinned_map_info(dir, "settings").id, settings_id);
	memset(&set, 0, sizeof(set));
	assert_int_equal(steer_settings_get(s, &set), 0);
	assert_int_equal(set.mode, STEER_MODE_FAST);
	assert_int_equal(set.exc_ifindex, 1);
	assert_memory_equal(set.gateway_mac, gw_mac, 6);
	assert_int_equal(steer_local_addr_list(s, keys, 4), 1);
	assert_int_equal(keys[0].family, AF_INET);
	assert_memory_equal(keys[0].addr, &a4, 4);
	assert_int_equal(steer_vm_mac_list(s, macs, 4), 1);
	assert_memory_equal(macs[0].mac, vm_mac, 6);
	assert_int_equal(macs[0].ifindex, 42);
	assert_int_equal(steer_counters_read(s, cnt), 0);
	assert_int_equal(cnt[STEER_CNT_EXC_PASS_NOT_ROUTED].packets, 1);
	assert_int_equal(cnt[STEER_CNT_EXC_PASS_NOT_ROUTED].bytes, sizeof(frame));
	/* New program instances, and the pins name them. */
	new_prog = steer_prog_id(s, STEER_PROG_EXC_INGRESS);
	assert_int_not_equal(new_prog, old_prog);
	assert_int_equal(pinned_prog_id(dir, "steer_exc_ingress"), new_prog);
	steer_close(s);
	assert_int_equal(steer_unpin(bpffs, "adopt"), 0);
}

/* A pin left by a build with another layout is replaced, compatible ones kept. */
static void test_incompatible_pin_replaced(void **state)
{
	struct steer_settings set = {.mode = STEER_MODE_FAST, .exc_ifindex = 7};
	struct steer *s;
	char dir[300], path[400];
	int fd;

	assert_int_equal(steer_open(bpffs, "old", &s), 0);
	assert_int_equal(steer_settings_set(s, &set), 0);
	steer_close(s);
	snprintf(dir, sizeof(dir), "%s/old", bpffs);
	snprintf(path, sizeof(path), "%s/vm_macs", dir);
	assert_int_equal(unlink(path), 0);
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "vm_macs", 4, 4, 16, NULL);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);

	assert_int_equal(steer_open(bpffs, "old", &s), 0);
	assert_int_equal(pinned_map_info(dir, "vm_macs").key_size, 6);
	assert_int_equal(steer_vm_mac_add(s, vm_mac, 3), 0);
	memset(&set, 0, sizeof(set));
	assert_int_equal(steer_settings_get(s, &set), 0);
	assert_int_equal(set.exc_ifindex, 7);
	steer_close(s);
	assert_int_equal(steer_unpin(bpffs, "old"), 0);
}

/* Attach twice, and again from a "restarted agent": still one filter. */
static void test_attach_is_idempotent(void **state)
{
	uint32_t id = 0;
	struct steer *s;
	int ifindex, plain;

	ifindex = veth_create("stb0", "stb0p");
	assert_true(ifindex > 0);
	plain = (int)if_nametoindex("stb0p");
	assert_true(plain > 0);

	assert_int_equal(steer_open(bpffs, "attach", &s), 0);
	assert_int_equal(steer_attached(ifindex, &id), 0);
	assert_int_equal(steer_attach(s, STEER_PROG_VM_INGRESS, ifindex), 0);
	assert_int_equal(steer_attach(s, STEER_PROG_VM_INGRESS, ifindex), 0);
	assert_int_equal(count_filters("stb0"), 1);
	assert_int_equal(steer_attached(ifindex, &id), 1);
	assert_int_equal(id, steer_prog_id(s, STEER_PROG_VM_INGRESS));
	steer_close(s);

	/* The filter keeps the program alive without the loader. */
	assert_int_equal(steer_attached(ifindex, &id), 1);
	assert_int_equal(steer_open(bpffs, "attach", &s), 0);
	assert_int_equal(steer_attach(s, STEER_PROG_VM_INGRESS, ifindex), 0);
	assert_int_equal(count_filters("stb0"), 1);
	assert_int_equal(steer_attached(ifindex, &id), 1);
	assert_int_equal(id, steer_prog_id(s, STEER_PROG_VM_INGRESS));
	/* Another program on the same link replaces ours too. */
	assert_int_equal(steer_attach(s, STEER_PROG_EXC_INGRESS, ifindex), 0);
	assert_int_equal(count_filters("stb0"), 1);
	assert_int_equal(steer_attached(ifindex, &id), 1);
	assert_int_equal(id, steer_prog_id(s, STEER_PROG_EXC_INGRESS));

	assert_int_equal(steer_detach(ifindex), 0);
	assert_int_equal(count_filters("stb0"), 0);
	assert_int_equal(steer_attached(ifindex, &id), 0);
	assert_int_equal(steer_detach(ifindex), 0); /* already gone */
	assert_int_equal(steer_detach(plain), 0);   /* no clsact at all */
	assert_int_equal(steer_attached(plain, &id), 0);
	assert_int_equal(steer_attach(s, STEER_PROG_VM_INGRESS, 999999), -ENODEV);
	steer_close(s);
	assert_int_equal(steer_unpin(bpffs, "attach"), 0);
	assert_int_equal(steer_test_sh("ip link del stb0"), 0);
}

static int packet_socket(const char *dev)
{
	struct sockaddr_ll sll = {
	    .sll_family = AF_PACKET,
	    .sll_protocol = htons(ETH_P_ALL),
	    .sll_ifindex = (int)if_nametoindex(dev),
	};
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	assert_true(fd >= 0);
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return fd;
}

/* Wait up to TIMEOUT_MS for FRAME to arrive (not leave) on socket FD. */
static bool frame_received(int fd, const uint8_t *frame, size_t len, int timeout_ms)
{
	struct timespec start, now;
	uint8_t buf[2048];

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		struct sockaddr_ll from;
		socklen_t flen = sizeof(from);
		int left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = timeout_ms - (int)((now.tv_sec - start.tv_sec) * 1000 +
					  (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return false;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n < 0)
			return false;
		if (from.sll_pkttype != PACKET_OUTGOING && (size_t)n == len &&
		    memcmp(buf, frame, len) == 0)
			return true;
	}
}

/* The programs attached for real: VM port → dp0 and dp0 → VM port, and
 * nothing redirected in PASS mode. The veth peers stand for the VM and for
 * DPDK's end of the exception port. */
static void test_redirects_between_veths(void **state)
{
	struct steer_counter_value cnt[STEER_CNT_MAX];
	struct steer_settings set = {.mode = STEER_MODE_FAST};
	int vm_port, exc, vm_sock, dpdk_sock;
	uint8_t up[256], down[256];
	size_t up_len, down_len;
	struct steer *s;

	vm_port = veth_create("stv0", "stv0p");
	exc = veth_create("ste0", "ste0p");
	assert_true(vm_port > 0 && exc > 0);
	assert_int_equal(steer_open(bpffs, "e2e", &s), 0);
	set.exc_ifindex = exc;
	memcpy(set.gateway_mac, gw_mac, 6);
	assert_int_equal(steer_settings_set(s, &set), 0);
	assert_int_equal(steer_vm_mac_add(s, vm_mac, vm_port), 0);
	assert_int_equal(steer_attach(s, STEER_PROG_VM_INGRESS, vm_port), 0);
	assert_int_equal(steer_attach(s, STEER_PROG_EXC_INGRESS, exc), 0);

	vm_sock = packet_socket("stv0p");
	dpdk_sock = packet_socket("ste0p");
	up_len = pkt_build(&(struct pkt_spec){.family = AF_INET,
					      .dst_mac = {0x02, 0, 0, 0, 1, 1},
					      .src_mac = {0x02, 0, 0, 0, 0, 0x11},
					      .dst = "10.10.2.5",
					      .marker = 0xa1},
			   up, sizeof(up));
	down_len = pkt_build(&(struct pkt_spec){.family = AF_INET,
						.dst_mac = {0x02, 0, 0, 0, 0, 0x11},
						.src_mac = {0x02, 0, 0, 0, 1, 1},
						.src = "10.10.2.5",
						.dst = "10.10.1.11",
						.marker = 0xa2},
			     down, sizeof(down));
	assert_true(up_len > 0 && down_len > 0);

	/* Path 2: the VM sends to the gateway, DPDK's end gets it unchanged. */
	assert_int_equal(send(vm_sock, up, up_len, 0), (ssize_t)up_len);
	assert_true(frame_received(dpdk_sock, up, up_len, 1000));
	/* Path 1: DPDK sends to the VM's MAC, the VM gets it. */
	assert_int_equal(send(dpdk_sock, down, down_len, 0), (ssize_t)down_len);
	assert_true(frame_received(vm_sock, down, down_len, 1000));
	assert_int_equal(steer_counters_read(s, cnt), 0);
	assert_true(cnt[STEER_CNT_VM_REDIRECTED].packets >= 1);
	assert_true(cnt[STEER_CNT_EXC_REDIRECTED].packets >= 1);

	/* Fallback: VM traffic stays in the kernel; what a live dataplane
	 * addressed to a VM is still delivered. */
	assert_int_equal(steer_set_mode(s, STEER_MODE_PASS), 0);
	assert_int_equal(send(vm_sock, up, up_len, 0), (ssize_t)up_len);
	assert_false(frame_received(dpdk_sock, up, up_len, 300));
	assert_int_equal(send(dpdk_sock, down, down_len, 0), (ssize_t)down_len);
	assert_true(frame_received(vm_sock, down, down_len, 1000));
	assert_int_equal(steer_counters_read(s, cnt), 0);
	assert_true(cnt[STEER_CNT_VM_PASS_MODE].packets >= 1);

	close(vm_sock);
	close(dpdk_sock);
	assert_int_equal(steer_detach(vm_port), 0);
	assert_int_equal(steer_detach(exc), 0);
	steer_close(s);
	assert_int_equal(steer_unpin(bpffs, "e2e"), 0);
	steer_test_sh("ip link del stv0; ip link del ste0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bpffs_ensure_mounts_once),
	    cmocka_unit_test(test_open_pins_maps_and_progs),
	    cmocka_unit_test(test_reopen_adopts_pinned_maps),
	    cmocka_unit_test(test_incompatible_pin_replaced),
	    cmocka_unit_test(test_attach_is_idempotent),
	    cmocka_unit_test(test_redirects_between_veths),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: bpffs, tc and network namespaces need root\n");
		return STEER_TEST_SKIP;
	}
	agent_log_level = AGENT_LOG_WARNING;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
