/* SPDX-License-Identifier: BSD-3-Clause */
/* udpseq: a constant-rate stream of sequence-numbered UDP datagrams, and a
 * receiver that tells exactly which ones never arrived and when.
 *
 *   udpseq send DST PORT --rate PPS (--duration S | --count N) [--size BYTES] [--json]
 *   udpseq recv PORT [--duration S] [--count N] [--rate PPS] [--json]
 *
 * The blocked time of an outage is the number of datagrams missing in the gap
 * it causes divided by the rate: at a constant rate this does not depend on
 * how the receiver is scheduled. The sender keeps numbering while sends fail
 * (no route, no buffer), so those count as lost too: they are time the path
 * was blocked.
 *
 * Wire format (network byte order), padded with zeros to --size:
 *   u32 magic, u32 session, u64 seq, u64 send time (CLOCK_REALTIME ns),
 *   u32 rate (pps), u32 flags (FIN: seq = number of datagrams sent).
 * The receiver locks onto the first session it sees and ignores others. */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define UDPSEQ_MAGIC 0x75647371u /* "udsq" */
#define FLAG_FIN     1u
#define HDR_SIZE     32
#define MAX_SIZE     9000
/* The receiver keeps two times per sequence number: 2^24 of them (256 MB)
 * is 28 minutes at 10 000 pps. */
#define MAX_SEQ	  (1ull << 24)
#define NSEC	  1000000000ll
#define MAX_BATCH 64 /* a late sender catches up at most this many at once */

struct hdr {
	uint32_t magic;
	uint32_t session;
	uint64_t seq;
	uint64_t sent_ns;
	uint32_t rate;
	uint32_t flags;
} __attribute__((packed));

_Static_assert(sizeof(struct hdr) == HDR_SIZE, "wire header is 32 bytes");

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * NSEC + ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: udpseq send DST PORT --rate PPS (--duration S | --count N) [--size "
		   "BYTES] [--json]\n"
		   "       udpseq recv PORT [--duration S] [--count N] [--rate PPS] [--json]\n"
		   "send: constant-rate sequence-numbered UDP datagrams to DST (IPv4 or IPv6)\n"
		   "recv: until the duration ends, N datagrams arrived or the sender's end mark;\n"
		   "      reports received, lost, duplicates, reordered and every gap\n");
}

static int parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || *out < 0)
		return -EINVAL;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -EINVAL;
	return 0;
}

static int parse_port(const char *s, uint16_t *port)
{
	uint64_t v;

	if (parse_u64(s, &v) < 0 || v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

struct opts {
	double rate;	 /* pps */
	double duration; /* s, 0 = none */
	uint64_t count;	 /* 0 = none */
	unsigned size;
	bool json;
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option long_opts[] = {
	    {"rate", required_argument, NULL, 'r'},
	    {"duration", required_argument, NULL, 'd'},
	    {"count", required_argument, NULL, 'c'},
	    {"size", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "r:d:c:s:jh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (parse_double(optarg, &o->rate) < 0 || o->rate <= 0 || o->rate > 1e7) {
				fprintf(stderr, "udpseq: bad --rate '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'd':
			if (parse_double(optarg, &o->duration) < 0 || o->duration <= 0) {
				fprintf(stderr, "udpseq: bad --duration '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'c':
			if (parse_u64(optarg, &o->count) < 0 || o->count == 0 ||
			    o->count > MAX_SEQ) {
				fprintf(stderr, "udpseq: bad --count '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 's':
			if (parse_u64(optarg, &v) < 0 || v < HDR_SIZE || v > MAX_SIZE) {
				fprintf(stderr, "udpseq: --size must be %d..%d\n", HDR_SIZE,
					MAX_SIZE);
				return -EINVAL;
			}
			o->size = (unsigned)v;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	return optind;
}

/* ---- sender ---- */

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST};
	struct addrinfo *res;
	char serv[8];
	int ret;

	snprintf(serv, sizeof(serv), "%u", port);
	ret = getaddrinfo(host, serv, &hints, &res);
	if (ret != 0) {
		fprintf(stderr, "udpseq: bad address '%s': %s\n", host, gai_strerror(ret));
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static volatile sig_atomic_t stop_sending;

static void on_stop(int sig)
{
	stop_sending = 1;
}

static int cmd_send(int argc, char **argv)
{
	struct opts o = {.size = 64};
	struct sockaddr_storage dst;
	unsigned char buf[MAX_SIZE] = {0};
	struct hdr *h = (struct hdr *)buf;
	uint64_t total, sent = 0, errors = 0, batches_late = 0;
	int64_t start, interval_ns, max_late_ns = 0;
	struct timespec deadline;
	socklen_t dst_len;
	uint16_t port;
	int fd, idx;

	idx = parse_opts(argc, argv, &o);
	if (idx < 0)
		return 2;
	if (argc - idx != 2 || o.rate <= 0 || (o.duration <= 0 && o.count == 0)) {
		usage(stderr);
		return 2;
	}
	if (parse_port(argv[idx + 1], &port) < 0) {
		fprintf(stderr, "udpseq: bad port '%s'\n", argv[idx + 1]);
		return 2;
	}
	if (resolve(argv[idx], port, &dst, &dst_len) < 0)
		return 2;
	total = o.count ? o.count : (uint64_t)(o.duration * o.rate + 0.5);
	if (total == 0 || total > MAX_SEQ) {
		fprintf(stderr, "udpseq: %" PRIu64 " datagrams is out of range\n", total);
		return 2;
	}

	/* Unconnected: ICMP errors (unreachable while a path is down) must not
	 * turn into errors on later sends. */
	fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("udpseq: socket");
		return 1;
	}
	/* 100 us between datagrams at 10 kpps: the default 50 us timer slack
	 * would be half of it. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

	h->magic = htobe32(UDPSEQ_MAGIC);
	h->session = htobe32((uint32_t)(now_ns(CLOCK_REALTIME) ^ ((int64_t)getpid() << 16)));
	h->rate = htobe32((uint32_t)(o.rate + 0.5));
	interval_ns = (int64_t)(NSEC / o.rate);
	start = now_ns(CLOCK_MONOTONIC);

	/* SIGINT/SIGTERM: stop early, still with the end mark (a test that
	 * cannot know how long its faults take ends the stream when done) */
	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	while (sent < total && !stop_sending) {
		int64_t now = now_ns(CLOCK_MONOTONIC);
		/* datagrams due by now: the one at start + k * interval for all k
		 * with that time <= now */
		uint64_t due = (uint64_t)((now - start) / interval_ns) + 1;
		int n = 0;

		if (due > total)
			due = total;
		if (due > sent + 1) {
			batches_late++;
			if (now - (start + (int64_t)sent * interval_ns) > max_late_ns)
				max_late_ns = now - (start + (int64_t)sent * interval_ns);
		}
		while (sent < due && n < MAX_BATCH) {
			h->seq = htobe64(sent);
			h->sent_ns = htobe64((uint64_t)now_ns(CLOCK_REALTIME));
			if (sendto(fd, buf, o.size, 0, (struct sockaddr *)&dst, dst_len) < 0)
				errors++; /* counted as sent: the path was blocked */
			sent++;
			n++;
		}
		if (sent >= total)
			break;
		int64_t next = start + (int64_t)sent * interval_ns;
		deadline.tv_sec = next / NSEC;
		deadline.tv_nsec = next % NSEC;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR &&
		       !stop_sending)
			;
	}
	total = sent;

	/* End mark, a few times in case one is lost: the receiver learns the
	 * total (loss at the very end becomes visible) and can stop at once. */
	h->flags = htobe32(FLAG_FIN);
	h->seq = htobe64(total);
	for (int i = 0; i < 3; i++) {
		struct timespec pause = {.tv_nsec = 2000000};
		h->sent_ns = htobe64((uint64_t)now_ns(CLOCK_REALTIME));
		sendto(fd, buf, o.size, 0, (struct sockaddr *)&dst, dst_len);
		nanosleep(&pause, NULL);
	}
	close(fd);

	double elapsed = (double)(now_ns(CLOCK_MONOTONIC) - start) / NSEC;
	if (o.json)
		printf("{\"sent\": %" PRIu64 ", \"send_errors\": %" PRIu64
		       ", \"rate\": %.0f, \"elapsed_s\": %.3f, \"late_batches\": %" PRIu64
		       ", \"max_late_ms\": %.3f}\n",
		       sent, errors, o.rate, elapsed, batches_late, (double)max_late_ns / 1e6);
	else
		printf("sent %" PRIu64 " datagrams in %.3f s (%.0f pps), %" PRIu64
		       " send errors, max lateness %.3f ms\n",
		       sent, elapsed, o.rate, errors, (double)max_late_ns / 1e6);
	return 0;
}

/* ---- receiver ---- */

/* Per sequence number, CLOCK_REALTIME ns (sender and receiver share the
 * clock: both run on this host, in different network namespaces). */
struct stamp {
	int64_t rx; /* arrival, 0 = not (yet) received */
	int64_t tx; /* the sender's timestamp */
};

struct rx {
	struct stamp *arrival;
	uint64_t cap;
	uint64_t received; /* unique */
	uint64_t duplicates, reordered, foreign, out_of_range;
	uint64_t max_seq;   /* valid when received > 0 */
	uint64_t fin_total; /* 0 = no end mark seen */
	uint32_t session;
	bool locked;
	uint32_t hdr_rate;
	/* for a rate estimate from the sender's timestamps */
	uint64_t first_seq, last_seq;
	int64_t first_sent, last_sent;
};

static int rx_grow(struct rx *rx, uint64_t seq)
{
	uint64_t cap = rx->cap ? rx->cap : 65536;
	struct stamp *p;

	while (cap <= seq)
		cap *= 2;
	if (cap > MAX_SEQ)
		cap = MAX_SEQ;
	p = realloc(rx->arrival, cap * sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	memset(p + rx->cap, 0, (cap - rx->cap) * sizeof(*p));
	rx->arrival = p;
	rx->cap = cap;
	return 0;
}

static void rx_packet(struct rx *rx, const unsigned char *buf, ssize_t len, int64_t t)
{
	struct hdr h;
	uint64_t seq;

	if (len < HDR_SIZE)
		return;
	memcpy(&h, buf, sizeof(h));
	if (be32toh(h.magic) != UDPSEQ_MAGIC)
		return;
	if (!rx->locked) {
		rx->session = be32toh(h.session);
		rx->locked = true;
	} else if (be32toh(h.session) != rx->session) {
		rx->foreign++;
		return;
	}
	seq = be64toh(h.seq);
	rx->hdr_rate = be32toh(h.rate);
	if (be32toh(h.flags) & FLAG_FIN) {
		rx->fin_total = seq < MAX_SEQ ? seq : MAX_SEQ;
		return;
	}
	if (seq >= MAX_SEQ) {
		rx->out_of_range++;
		return;
	}
	if (seq >= rx->cap && rx_grow(rx, seq) < 0) {
		rx->out_of_range++;
		return;
	}
	if (rx->arrival[seq].rx != 0) {
		rx->duplicates++;
		return;
	}
	rx->arrival[seq].rx = t;
	rx->arrival[seq].tx = (int64_t)be64toh(h.sent_ns);
	if (rx->received > 0 && seq < rx->max_seq)
		rx->reordered++;
	if (rx->received == 0 || seq < rx->first_seq) {
		rx->first_seq = seq;
		rx->first_sent = (int64_t)be64toh(h.sent_ns);
	}
	if (rx->received == 0 || seq > rx->max_seq) {
		rx->max_seq = seq;
		rx->last_seq = seq;
		rx->last_sent = (int64_t)be64toh(h.sent_ns);
	}
	rx->received++;
}

/* Kernel receive timestamp (SO_TIMESTAMPNS) when there is one: it does not
 * move when the receiver is scheduled late. */
static int64_t msg_time(struct msghdr *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			return (int64_t)ts.tv_sec * NSEC + ts.tv_nsec;
		}
	}
	return now_ns(CLOCK_REALTIME);
}

static void print_report(const struct rx *rx, const struct opts *o, int64_t start, int64_t end)
{
	uint64_t expected = 0, lost, n_gaps = 0, longest = 0;
	double rate = o->rate;
	const char *rate_src = "--rate";
	bool first = true;

	if (rx->received > 0)
		expected = rx->max_seq + 1;
	if (rx->fin_total > expected)
		expected = rx->fin_total;
	lost = expected - rx->received;
	if (rate <= 0 && rx->hdr_rate > 0) {
		rate = rx->hdr_rate;
		rate_src = "sender";
	}
	if (rate <= 0 && rx->last_seq > rx->first_seq && rx->last_sent > rx->first_sent) {
		rate = (double)(rx->last_seq - rx->first_seq) * 1e9 /
		       (double)(rx->last_sent - rx->first_sent);
		rate_src = "timestamps";
	}
	if (rate <= 0) {
		rate = 0;
		rate_src = "unknown";
	}

	if (o->json)
		printf("{\"received\": %" PRIu64 ", \"lost\": %" PRIu64 ", \"expected\": %" PRIu64
		       ", \"duplicates\": %" PRIu64 ", \"reordered\": %" PRIu64
		       ", \"foreign\": %" PRIu64 ", \"out_of_range\": %" PRIu64
		       ", \"end_mark\": %s, \"rate\": %.1f, \"rate_from\": \"%s\""
		       ", \"start_epoch\": %.6f, \"end_epoch\": %.6f, \"gaps\": [",
		       rx->received, lost, expected, rx->duplicates, rx->reordered, rx->foreign,
		       rx->out_of_range, rx->fin_total ? "true" : "false", rate, rate_src,
		       (double)start / 1e9, (double)end / 1e9);
	else
		printf("received %" PRIu64 ", lost %" PRIu64 " of %" PRIu64 ", duplicates %" PRIu64
		       ", reordered %" PRIu64 ", rate %.1f pps (from %s)\n",
		       rx->received, lost, expected, rx->duplicates, rx->reordered, rate, rate_src);

	/* Every run of missing sequence numbers. Its time (at) is when its
	 * first datagram was sent: the datagram before it was sent plus one
	 * interval. That is when the path stopped carrying traffic, however
	 * long datagrams queued before it (a stopped process) took to arrive.
	 * rx_epoch and wall_ms are the receiver's view: the arrivals of the
	 * datagrams around it (end of reception for a gap at the end). */
	int64_t interval = rate > 0 ? (int64_t)(1e9 / rate) : 0;
	for (uint64_t s = 0; s < expected;) {
		uint64_t run_start, run_len;
		int64_t at, rx_before, rx_after;

		if (s < rx->cap && rx->arrival[s].rx != 0) {
			s++;
			continue;
		}
		run_start = s;
		while (s < expected && !(s < rx->cap && rx->arrival[s].rx != 0))
			s++;
		run_len = s - run_start;
		rx_after = s < expected ? rx->arrival[s].rx : end;
		if (run_start > 0) {
			rx_before = rx->arrival[run_start - 1].rx;
			at = rx->arrival[run_start - 1].tx + interval;
		} else {
			rx_before = rx_after;
			at = s < expected ? rx->arrival[s].tx - (int64_t)run_len * interval : start;
		}
		n_gaps++;
		if (run_len > longest)
			longest = run_len;
		double ms = rate > 0 ? (double)run_len * 1000.0 / rate : 0;
		if (o->json)
			printf("%s{\"at_s\": %.6f, \"at_epoch\": %.6f, \"rx_epoch\": %.6f"
			       ", \"first_seq\": %" PRIu64 ", \"missing\": %" PRIu64
			       ", \"ms\": %.3f, \"wall_ms\": %.3f}",
			       first ? "" : ", ", (double)(at - start) / 1e9, (double)at / 1e9,
			       (double)rx_before / 1e9, run_start, run_len, ms,
			       (double)(rx_after - rx_before) / 1e6);
		else
			printf("gap at %.3f s: %" PRIu64 " missing from seq %" PRIu64
			       " (%.1f ms at the rate, %.1f ms wall)\n",
			       (double)(at - start) / 1e9, run_len, run_start, ms,
			       (double)(rx_after - rx_before) / 1e6);
		first = false;
	}
	double longest_ms = rate > 0 ? (double)longest * 1000.0 / rate : 0;
	int64_t last_rx = 0;
	for (uint64_t s = 0; s < expected && s < rx->cap; s++)
		if (rx->arrival[s].rx > last_rx)
			last_rx = rx->arrival[s].rx;
	if (o->json)
		printf("], \"n_gaps\": %" PRIu64 ", \"longest_gap_missing\": %" PRIu64
		       ", \"longest_gap_ms\": %.3f, \"last_rx_epoch\": %.6f}\n",
		       n_gaps, longest, longest_ms, (double)last_rx / 1e9);
	else
		printf("%" PRIu64 " gaps, longest %" PRIu64 " datagrams (%.1f ms)\n", n_gaps,
		       longest, longest_ms);
}

static int cmd_recv(int argc, char **argv)
{
	struct opts o = {0};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
	static unsigned char buf[MAX_SIZE + 1];
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctrl;
	struct rx rx = {0};
	int64_t start, deadline = INT64_MAX, fin_deadline = INT64_MAX;
	int fd, idx, zero = 0, one = 1, rcvbuf = 8 << 20;
	uint16_t port;

	idx = parse_opts(argc, argv, &o);
	if (idx < 0)
		return 2;
	if (argc - idx != 1) {
		usage(stderr);
		return 2;
	}
	if (parse_port(argv[idx], &port) < 0) {
		fprintf(stderr, "udpseq: bad port '%s'\n", argv[idx]);
		return 2;
	}
	/* One dual-stack socket: IPv4 and IPv6 senders alike. */
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("udpseq: socket");
		return 1;
	}
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	/* A burst that arrives while we are not scheduled must wait in the
	 * socket, not be dropped there (that would look like path loss). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	sin6.sin6_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0) {
		fprintf(stderr, "udpseq: bind port %u: %s\n", port, strerror(errno));
		close(fd);
		return 1;
	}

	start = now_ns(CLOCK_REALTIME);
	if (o.duration > 0)
		deadline = start + (int64_t)(o.duration * 1e9);
	/* Tell a script waiting for us that the socket is bound. */
	fprintf(stderr, "udpseq: listening on port %u\n", port);
	fflush(stderr);

	for (;;) {
		int64_t now = now_ns(CLOCK_REALTIME);
		int64_t until = deadline < fin_deadline ? deadline : fin_deadline;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int timeout_ms;

		if (now >= until)
			break;
		if (o.count && rx.received >= o.count)
			break;
		timeout_ms = until == INT64_MAX ? 1000 : (int)((until - now) / 1000000) + 1;
		if (timeout_ms > 1000)
			timeout_ms = 1000;
		if (poll(&pfd, 1, timeout_ms) <= 0)
			continue;
		for (;;) {
			struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
			struct msghdr msg = {.msg_iov = &iov,
					     .msg_iovlen = 1,
					     .msg_control = ctrl.buf,
					     .msg_controllen = sizeof(ctrl.buf)};
			ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
			if (n < 0)
				break;
			rx_packet(&rx, buf, n, msg_time(&msg));
			/* Wait a little after the end mark for stragglers. */
			if (rx.fin_total && fin_deadline == INT64_MAX)
				fin_deadline = now_ns(CLOCK_REALTIME) + 50 * 1000000ll;
		}
	}
	close(fd);
	print_report(&rx, &o, start, now_ns(CLOCK_REALTIME));
	free(rx.arrival);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "send") == 0)
		return cmd_send(argc - 1, argv + 1);
	if (strcmp(argv[1], "recv") == 0)
		return cmd_recv(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
