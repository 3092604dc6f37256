/* SPDX-License-Identifier: BSD-3-Clause */
/* Loader of the steering eBPF programs (kernel-side/bpf/steer.bpf.c): packet
 * paths 1-3 of DESIGN.md. See docs/steering.md.
 *
 * steer_open() loads the programs and pins their maps under
 * <bpffs>/<pin_name>/; when the pins already exist (agentd restarted) it
 * adopts those maps, so mode, addresses, VM MACs and counters survive.
 * steer_attach() is idempotent: the tc filter has a fixed handle/priority and
 * is replaced in place, never duplicated.
 * All functions return 0 (or a count) on success, negative errno on failure,
 * and log failures with LOG(). ifindexes are those of the calling thread's
 * network namespace. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <steer_maps.h>

struct steer; /* loaded programs + their (pinned) maps */

enum steer_prog {
	STEER_PROG_VM_INGRESS,	/* tc ingress of each VM port */
	STEER_PROG_EXC_INGRESS, /* tc ingress of the exception netdev (dp0) */
	STEER_PROG_MAX,
};

/* tc filter identity on clsact ingress; shared by every attach/detach. */
#define STEER_TC_HANDLE	  0x5354 /* "ST" */
#define STEER_TC_PRIORITY 1

/* Make sure a bpffs is mounted at PATH (mkdir -p, then mount "bpf" with
 * mode=0700 if PATH is not a bpffs yet). */
int steer_bpffs_ensure(const char *path);

/* Mount bpffs if needed, load the programs, reuse or create the maps pinned as
 * <bpffs>/<pin_name>/<map> (a pinned map whose layout no longer matches is
 * replaced, with a warning) and pin the programs as
 * <bpffs>/<pin_name>/<program> (replacing older pins). */
int steer_open(const char *bpffs, const char *pin_name, struct steer **out);
/* Free the user-space side. Pins and tc attachments stay: the programs keep
 * running and a later steer_open() adopts the maps. NULL is fine. */
void steer_close(struct steer *s);
/* Remove every pin under <bpffs>/<pin_name>/ and the directory. Maps live on
 * while attached programs use them. 0 if there was nothing. */
int steer_unpin(const char *bpffs, const char *pin_name);
/* The pin directory ("<bpffs>/<pin_name>"). */
const char *steer_pin_dir(const struct steer *s);

/* Attach PROG on tc ingress of IFINDEX (creates clsact if missing, replaces
 * our filter if present). */
int steer_attach(struct steer *s, enum steer_prog prog, int ifindex);
/* Remove our filter from tc ingress of IFINDEX; 0 if it was not there (or the
 * link has no clsact). Leaves the clsact qdisc and other filters alone. */
int steer_detach(int ifindex);
/* prog id of our filter on tc ingress of IFINDEX: 1 and *prog_id set if
 * attached, 0 if not. PROG_ID may be NULL. */
int steer_attached(int ifindex, uint32_t *prog_id);
/* Kernel id / fd of a loaded program (fd: for BPF_PROG_TEST_RUN in tests). */
uint32_t steer_prog_id(const struct steer *s, enum steer_prog prog);
int steer_prog_fd(const struct steer *s, enum steer_prog prog);
const char *steer_prog_name(enum steer_prog prog);

/* Settings (one entry). set_mode changes only the mode: the single write that
 * turns steering off on fallback. */
int steer_settings_get(struct steer *s, struct steer_settings *out);
int steer_settings_set(struct steer *s, const struct steer_settings *in);
int steer_set_mode(struct steer *s, enum steer_mode mode);

/* Host's own addresses (traffic to them is passed to the kernel). FAMILY is
 * AF_INET (ADDR = 4 bytes, network order) or AF_INET6 (16 bytes). del is 0
 * if absent. */
int steer_local_addr_add(struct steer *s, int family, const void *addr);
int steer_local_addr_del(struct steer *s, int family, const void *addr);
/* Current entries, for reconciliation after adopting pinned maps; returns
 * the count (the first MAX are stored). */
int steer_local_addr_list(struct steer *s, struct steer_addr_key *out, int max);
/* 1 if ADDR is in the map, 0 if not (or negative errno). */
int steer_local_addr_has(struct steer *s, int family, const void *addr);

/* VM MACs: frames DPDK sends to dp0 with this destination MAC go to IFINDEX. */
int steer_vm_mac_add(struct steer *s, const uint8_t mac[6], int ifindex);
int steer_vm_mac_del(struct steer *s, const uint8_t mac[6]); /* 0 if absent */
struct steer_vm_mac {
	uint8_t mac[6];
	int ifindex;
};
int steer_vm_mac_list(struct steer *s, struct steer_vm_mac *out, int max);
/* 1 and *IFINDEX if MAC is in the map, 0 if not (or negative errno). */
int steer_vm_mac_lookup(struct steer *s, const uint8_t mac[6], int *ifindex);

/* What the programs would do with FRAME (`agentctl explain`): the counter
 * they would move and where a redirect would send it, read from the maps
 * as the programs read them (steer_explain.c; test_steer_progs checks that
 * both agree). Nothing runs and no counter moves. */
struct steer_explain {
	enum steer_counter counter;
	int ifindex;	  /* redirect target: dp0 (vm), the VM port or the bridge (exc) */
	unsigned int mtu; /* vm: dp0's MTU (0: dp0 is gone); exc: the target's */
	bool to_host;	  /* exc, passed: made the host's, so the kernel routes it */
};
/* steer_vm_ingress on a VM port receiving FRAME. */
int steer_explain_vm(struct steer *s, const uint8_t *frame, size_t len, struct steer_explain *out);
/* steer_exc_ingress on dp0 receiving FRAME; TO_DP0: its destination is
 * dp0's own MAC (else a unicast to another MAC is PACKET_OTHERHOST). */
int steer_explain_exc(struct steer *s, const uint8_t *frame, size_t len, bool to_dp0,
		      struct steer_explain *out);

/* Counters summed over CPUs, indexed by enum steer_counter. */
int steer_counters_read(struct steer *s, struct steer_counter_value out[STEER_CNT_MAX]);
/* Short name ("vm_redirected", ...), NULL if out of range. */
const char *steer_counter_name(enum steer_counter c);
