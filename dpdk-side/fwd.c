/* SPDX-License-Identifier: BSD-3-Clause */
/* The forwarding lcore: poll every rx queue it owns, run the process step on
 * each burst, buffer the packets per tx port and send them when a buffer is
 * full or every DP_TX_DRAIN_US. No locks; the only shared writes are its
 * relaxed counters. Adaptive polling: when every queue has been empty for
 * DP_IDLE_SPIN_US it sleeps (nanosleep, growing to idle_sleep_max_us), so
 * that an idle host gets its CPU back; under load it never sleeps. */
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include <dp_telemetry.h>

#include <rte_eth_bond.h>

#include "dataplane.h"
#include "fib.h"
#include "process.h"
#include "tx_offload.h"

RTE_LOG_REGISTER(dp_fwd_logtype, agent.dp.fwd, INFO);
#define RTE_LOGTYPE_DP_FWD dp_fwd_logtype

/* rte_eth_tx_buffer error callback: the tx ring is full, drop and count. */
static void tx_drop(struct rte_mbuf **unsent, uint16_t count, void *counter)
{
	rte_pktmbuf_free_bulk(unsent, count);
	dp_counter_add(counter, count);
}

int dp_lcore_init(struct dp_lcore *lc, unsigned int lcore_id, uint16_t burst,
		  const struct dp_port ports[DP_PORT_COUNT], uint16_t queue_id)
{
	int socket = (int)rte_lcore_to_socket_id(lcore_id);

	memset(lc, 0, sizeof(*lc));
	lc->lcore_id = lcore_id;
	lc->ncache =
	    rte_zmalloc_socket("dp_ncache", sizeof(*lc->ncache), RTE_CACHE_LINE_SIZE, socket);
	if (lc->ncache == NULL)
		return -ENOMEM;
	lc->burst = burst;
	for (int i = 0; i < DP_PORT_COUNT; i++) {
		struct rte_eth_dev_tx_buffer *buf;

		lc->rx[lc->n_rx++] = (struct dp_rx_queue){
		    .port_id = ports[i].port_id,
		    .queue_id = queue_id,
		    .role = (enum dp_port_role)i,
		};
		lc->n_active = lc->n_rx;
		lc->tx_port[i] = ports[i].port_id;
		lc->tx_queue[i] = queue_id;
		lc->tx_offloads[i] = ports[i].tx_offloads;
		buf = rte_zmalloc_socket("dp_tx_buffer", RTE_ETH_TX_BUFFER_SIZE(burst), 0, socket);
		if (buf == NULL)
			return -ENOMEM;
		lc->tx_buf[i] = buf;
		rte_eth_tx_buffer_init(buf, burst);
		rte_eth_tx_buffer_set_err_callback(buf, tx_drop,
						   i == DP_PORT_NIC
						       ? &lc->counters.drop_tx_full_nic
						       : &lc->counters.drop_tx_full_exc);
	}
	lc->nic_tx_kick = dp_bond_mode(&ports[DP_PORT_NIC]) == BONDING_MODE_8023AD;
	return 0;
}

void dp_lcore_free(struct dp_lcore *lc)
{
	rte_free(lc->ncache);
	lc->ncache = NULL;
	for (int i = 0; i < DP_PORT_COUNT; i++) {
		rte_free(lc->tx_buf[i]);
		lc->tx_buf[i] = NULL;
	}
}

static inline void flush_all(struct dp_lcore *lc)
{
	for (int i = 0; i < DP_PORT_COUNT; i++)
		rte_eth_tx_buffer_flush(lc->tx_port[i], lc->tx_queue[i], lc->tx_buf[i]);
}

static inline void forward_burst(struct dp_lcore *lc, enum dp_port_role in, struct rte_mbuf **pkts,
				 uint16_t nb)
{
	uint8_t verdict[DP_MAX_BURST];
	uint64_t packets[DP_PORT_COUNT] = {0}, bytes[DP_PORT_COUNT] = {0};
	uint64_t dropped = 0;
	struct dp_offload_tally ot;
	bool offloaded = false;

	dp_process_burst(lc, in, pkts, nb, verdict);
	for (uint16_t i = 0; i < nb; i++) {
		uint8_t out = verdict[i];

		if (unlikely(out >= DP_PORT_COUNT)) {
			rte_pktmbuf_free(pkts[i]);
			dropped++;
			continue;
		}
		if (unlikely(dp_rx_work_left(pkts[i]))) {
			/* a super-packet or a partial checksum from the kernel */
			struct rte_mbuf *segs[DP_TSO_MAX_SEGS];
			if (!offloaded) {
				memset(&ot, 0, sizeof(ot));
				offloaded = true;
			}
			uint16_t n = dp_tx_offload(pkts[i], lc->tx_offloads[out], segs, &ot);
			for (uint16_t j = 0; j < n; j++) {
				packets[out]++;
				bytes[out] += rte_pktmbuf_pkt_len(segs[j]);
				rte_eth_tx_buffer(lc->tx_port[out], lc->tx_queue[out],
						  lc->tx_buf[out], segs[j]);
			}
			continue;
		}
		packets[out]++;
		/* read before the buffer may send (and free) it */
		bytes[out] += rte_pktmbuf_pkt_len(pkts[i]);
		rte_eth_tx_buffer(lc->tx_port[out], lc->tx_queue[out], lc->tx_buf[out], pkts[i]);
	}

	struct dp_fwd_counters *c = &lc->counters;
	if (in == DP_PORT_NIC) {
		dp_counter_add(&c->nic_to_exc_packets, packets[DP_PORT_EXC]);
		dp_counter_add(&c->nic_to_exc_bytes, bytes[DP_PORT_EXC]);
		if (unlikely(packets[DP_PORT_NIC] != 0))
			dp_counter_add(&c->hairpin_packets, packets[DP_PORT_NIC]);
	} else {
		dp_counter_add(&c->exc_to_nic_packets, packets[DP_PORT_NIC]);
		dp_counter_add(&c->exc_to_nic_bytes, bytes[DP_PORT_NIC]);
		if (unlikely(packets[DP_PORT_EXC] != 0))
			dp_counter_add(&c->hairpin_packets, packets[DP_PORT_EXC]);
	}
	if (unlikely(dropped != 0))
		dp_counter_add(&c->drop_verdict, dropped);
	if (unlikely(offloaded)) {
		dp_counter_add(&c->offload_tso_hw, ot.tso_hw);
		dp_counter_add(&c->offload_tso_sw, ot.tso_sw);
		dp_counter_add(&c->offload_tso_sw_segs, ot.tso_sw_segs);
		dp_counter_add(&c->offload_csum_hw, ot.csum_hw);
		dp_counter_add(&c->offload_csum_sw, ot.csum_sw);
		dp_counter_add(&c->drop_offload, ot.drop);
	}
}

/* Idle: every queue was empty for a while. Send what is buffered, report
 * the quiescent state and go offline for RCU (the control side does not
 * wait for a sleeping reader), sleep, come back. Returns the next sleep. */
static uint32_t idle_sleep(struct dp_lcore *lc, uint32_t sleep_us)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)sleep_us * 1000};

	flush_all(lc);
	if (lc->fib != NULL)
		rte_rcu_qsbr_thread_offline(lc->fib->qsv, 0);
	nanosleep(&ts, NULL);
	if (lc->fib != NULL)
		rte_rcu_qsbr_thread_online(lc->fib->qsv, 0);
	dp_counter_add(&lc->counters.idle_sleeps, 1);
	dp_counter_add(&lc->counters.idle_sleep_us, sleep_us);
	return RTE_MIN(sleep_us * 2, lc->idle_sleep_max_us);
}

int dp_lcore_main(void *arg)
{
	struct dp_lcore *lc = arg;
	struct rte_mbuf *pkts[DP_MAX_BURST];
	const uint64_t tsc_us = (rte_get_tsc_hz() + US_PER_S - 1) / US_PER_S;
	const uint64_t drain_tsc = tsc_us * DP_TX_DRAIN_US;
	const uint64_t spin_tsc = tsc_us * DP_IDLE_SPIN_US;
	const uint32_t sleep_min = RTE_MIN((uint32_t)DP_IDLE_SLEEP_MIN_US, lc->idle_sleep_max_us);
	uint64_t prev_tsc = rte_rdtsc(), busy_tsc = prev_tsc;
	uint32_t sleep_us = sleep_min;

	RTE_LOG(INFO, DP_FWD, "lcore %u forwarding: %u rx queues, burst %u, drain %u us, %s\n",
		rte_lcore_id(), lc->n_rx, lc->burst, DP_TX_DRAIN_US,
		lc->idle_sleep_max_us ? "adaptive polling" : "busy polling");
	if (lc->idle_sleep_max_us)
		RTE_LOG(INFO, DP_FWD, "lcore %u: idle after %u us, sleeps %u..%u us\n",
			rte_lcore_id(), DP_IDLE_SPIN_US, sleep_min, lc->idle_sleep_max_us);
	/* the default timer slack (50 us) would stretch every short sleep */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	for (uint16_t i = 0; i < lc->n_rx; i++)
		RTE_LOG(INFO, DP_FWD, "lcore %u: rx port %u queue %u (%s)\n", rte_lcore_id(),
			lc->rx[i].port_id, lc->rx[i].queue_id,
			lc->rx[i].role == DP_PORT_NIC ? "nic" : "exception");
	/* The only reader of the FIB: RCU thread 0, online while the loop runs. */
	if (lc->fib != NULL) {
		rte_rcu_qsbr_thread_register(lc->fib->qsv, 0);
		rte_rcu_qsbr_thread_online(lc->fib->qsv, 0);
	}
	if (lc->hb_shm != NULL)
		__atomic_store_n(&container_of(lc->hb_shm, struct dp_heartbeat, turns)->fwd_tid,
				 (uint64_t)rte_sys_gettid(), __ATOMIC_RELEASE);
	__atomic_store_n(&lc->running, true, __ATOMIC_RELEASE);

	while (!__atomic_load_n(&lc->quit, __ATOMIC_RELAXED)) {
		uint64_t cur_tsc = rte_rdtsc();

		/* standby: 0 until the main lcore has started the NIC port */
		uint16_t n_active = __atomic_load_n(&lc->n_active, __ATOMIC_ACQUIRE);
		/* Send what a quiet port left in its buffer, as l3fwd does. */
		if (unlikely(cur_tsc - prev_tsc > drain_tsc)) {
			flush_all(lc);
			/* An 802.3ad bond sends its LACPDUs from inside tx_burst
			 * (no dedicated queues on most NICs): call it when idle
			 * too, or the partner drops the link from its LAG. (Only
			 * once the NIC port is started: n_active.) */
			if (lc->nic_tx_kick && n_active != 0)
				rte_eth_tx_burst(lc->tx_port[DP_PORT_NIC],
						 lc->tx_queue[DP_PORT_NIC], pkts, 0);
			prev_tsc = cur_tsc;
		}
		uint32_t seen = 0;
		for (uint16_t i = 0; i < n_active; i++) {
			const struct dp_rx_queue *rxq = &lc->rx[i];
			uint16_t nb =
			    rte_eth_rx_burst(rxq->port_id, rxq->queue_id, pkts, lc->burst);

			if (nb != 0)
				forward_burst(lc, rxq->role, pkts, nb);
			seen += nb;
		}
		if (seen != 0) {
			busy_tsc = cur_tsc;
			sleep_us = sleep_min;
		} else if (lc->idle_sleep_max_us != 0 && cur_tsc - busy_tsc > spin_tsc) {
			if (lc->fib != NULL)
				rte_rcu_qsbr_quiescent(lc->fib->qsv, 0);
			sleep_us = idle_sleep(lc, sleep_us);
		}
		/* Nothing read from the FIB is held across turns: let the
		 * control side free what it replaced. */
		if (lc->fib != NULL)
			rte_rcu_qsbr_quiescent(lc->fib->qsv, 0);
		dp_counter_add(&lc->counters.heartbeat, 1);
		if (likely(lc->hb_shm != NULL))
			__atomic_store_n(lc->hb_shm, dp_counter_read(&lc->counters.heartbeat),
					 __ATOMIC_RELAXED);
	}

	flush_all(lc);
	if (lc->fib != NULL) {
		rte_rcu_qsbr_thread_offline(lc->fib->qsv, 0);
		rte_rcu_qsbr_thread_unregister(lc->fib->qsv, 0);
	}
	__atomic_store_n(&lc->running, false, __ATOMIC_RELEASE);
	RTE_LOG(INFO, DP_FWD, "lcore %u stopped after %" PRIu64 " turns\n", rte_lcore_id(),
		dp_counter_read(&lc->counters.heartbeat));
	return 0;
}

void dp_lcore_counters_sum(struct dp_lcore *const *lcores, unsigned int n,
			   struct dp_fwd_counters *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned int i = 0; i < n; i++) {
		const struct dp_fwd_counters *c = &lcores[i]->counters;
#define DP_X(name) sum->name += dp_counter_read(&c->name);
		DP_FWD_COUNTERS(DP_X)
#undef DP_X
	}
}
