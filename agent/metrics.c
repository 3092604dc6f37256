/* SPDX-License-Identifier: BSD-3-Clause */
/* The metrics listener (metrics.listen): GET /metrics answers the
 * exposition of `agentctl stats --prometheus` (metrics_text.c, the same
 * code), built from the same status object as `agentctl status`.
 *
 * HTTP is libmicrohttpd's, run inside agentd's event loop, never in a
 * thread of its own: MHD_USE_EPOLL without an internal thread gives one
 * epoll fd, registered in our loop (readable: MHD_run), and MHD_get_timeout
 * drives a timerfd (its connection timeouts, work left over). A scrape
 * that needs the dataplane's telemetry suspends its connection
 * (MHD_suspend_connection) while status_collect() asks without blocking,
 * and resumes it with the answer; a dataplane that is gone or hung costs
 * the scrape its dataplane families (agentd_dataplane_up 0), never a wait.
 *
 * A client cannot wedge agentd: MHD parses within a per-connection memory
 * pool (a request line + headers over it: 431, closed), closes a
 * connection idle for METRICS_TIMEOUT_S, and accepts at most
 * METRICS_MAX_CONNS at once (the others are closed at accept). Nothing
 * here blocks: MHD's sockets are non-blocking and MHD_run never waits. */
#define LOG_TYPE "metrics"
#include <agent_log.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "agentd.h"
#include "metrics_text.h"

#define METRICS_MAX_CONNS 32
#define METRICS_TIMEOUT_S 5	     /* idle (or slow) connection: closed */
#define METRICS_POOL	  (16 << 10) /* per connection: request line + headers fit in it */
#define METRICS_BACKLOG	  32
/* MHD's own messages (a client's bad request...): a flood must not fill
 * the journal */
#define METRICS_LOG_BURST 5
#define METRICS_LOG_EVERY 10 /* s */

#define CT_TEXT	       "text/plain; version=0.0.4; charset=utf-8"
#define CT_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* One GET /metrics. Freed by the connection's end, unless status_collect()
 * still holds it (waiting): then by scrape_done(). */
struct scrape {
	struct MHD_Connection *conn; /* NULL once the connection is gone */
	bool waiting;		     /* status_collect() will call scrape_done() */
	bool ready;		     /* st is the answer (NULL: out of memory) */
	bool cancelled;		     /* agentd stops: 503 */
	bool openmetrics;	     /* the client asked for it (Accept) */
	json_t *st;
	struct scrape *prev, *next; /* suspended ones */
};

static struct {
	struct agentd *a;
	struct MHD_Daemon *d;
	int epfd, tfd;
	struct scrape *suspended;
	uint64_t requests, scrapes, not_found, bad_method, errors, log_suppressed;
	double scrape_ms_max;
	time_t log_window;
	int log_n;
} m = {.epfd = -1, .tfd = -1};

static void run_soon(void)
{
	struct itimerspec its = {.it_value.tv_nsec = 1};

	timerfd_settime(m.tfd, 0, &its, NULL);
}

/* The timer follows what MHD wants next: a connection's timeout, or at
 * once (work it could not finish in one MHD_run, a resumed connection). */
static void reschedule(void)
{
	struct itimerspec its = {0};
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(m.d, &ms) == MHD_YES) {
		its.it_value.tv_sec = (time_t)(ms / 1000);
		its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L + 1;
	}
	timerfd_settime(m.tfd, 0, &its, NULL);
}

static void run(void)
{
	MHD_run(m.d);
	reschedule();
}

static void epoll_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	run();
}

static void timer_cb(struct agentd *a, int fd, uint32_t events, void *arg)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return; /* not expired (EAGAIN) */
	run();
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	time_t now = time(NULL);
	char msg[256];
	size_t len;

	if (now - m.log_window >= METRICS_LOG_EVERY) {
		if (m.log_suppressed)
			LOG(NOTICE, "%" PRIu64 " messages of libmicrohttpd not logged",
			    m.log_suppressed);
		m.log_window = now;
		m.log_n = 0;
		m.log_suppressed = 0;
	}
	if (m.log_n++ >= METRICS_LOG_BURST) {
		m.log_suppressed++;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = '\0';
	LOG(NOTICE, "libmicrohttpd: %s", msg);
}

static void unlink_suspended(struct scrape *s)
{
	if (s->prev == NULL && s->next == NULL && m.suspended != s)
		return;
	*(s->prev ? &s->prev->next : &m.suspended) = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code, const char *type,
			     char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (r == NULL) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		m.errors++;
		return MHD_NO; /* MHD closes the connection */
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (code >= 400)
		m.errors++;
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int code, const char *text)
{
	return reply(c, code, "text/plain; charset=utf-8", (char *)text, strlen(text),
		     MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result reply_metrics(struct scrape *s, json_t *st)
{
	size_t len;
	char *text = st ? metrics_text(st, &len) : NULL;

	if (text == NULL)
		return reply_text(s->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	m.scrapes++;
	return reply(s->conn, MHD_HTTP_OK, s->openmetrics ? CT_OPENMETRICS : CT_TEXT, text, len,
		     MHD_RESPMEM_MUST_FREE);
}

/* status_collect()'s answer: the suspended scrape goes on. */
static void scrape_done(struct agentd *a, void *arg, json_t *st)
{
	struct scrape *s = arg;

	s->waiting = false;
	if (s->conn == NULL) { /* closed meanwhile (agentd stopping) */
		json_decref(st);
		free(s);
		return;
	}
	s->st = st;
	s->ready = true;
	unlink_suspended(s);
	MHD_resume_connection(s->conn);
	run_soon();
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct agentd *a = cls;
	struct scrape *s = *req_cls;
	const char *accept;

	if (s != NULL) { /* resumed */
		if (s->cancelled && !s->ready)
			return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "agentd is stopping\n");
		return reply_metrics(s, s->st);
	}
	m.requests++;
	if (strcmp(url, "/metrics") != 0) {
		m.not_found++;
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		m.bad_method++;
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	s->conn = conn;
	/* Prometheus asks for OpenMetrics first; the text is valid as both */
	accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	s->openmetrics = accept && strstr(accept, "application/openmetrics-text") != NULL;
	*req_cls = s;
	if (status_collect(a, scrape_done, s) == 0) {
		s->waiting = true;
		s->next = m.suspended;
		if (m.suspended)
			m.suspended->prev = s;
		m.suspended = s;
		MHD_suspend_connection(conn);
		return MHD_YES;
	}
	/* no dataplane to ask (gone, hung, starting): agentd's own now */
	s->ready = true;
	s->st = status_build(a, NULL, NULL);
	return reply_metrics(s, s->st);
}

static void completed(void *cls, struct MHD_Connection *conn, void **req_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct scrape *s = *req_cls;

	*req_cls = NULL;
	if (s == NULL)
		return;
	unlink_suspended(s);
	s->conn = NULL;
	if (s->waiting)
		return; /* scrape_done() frees it */
	json_decref(s->st);
	free(s);
}

json_t *metrics_status(void)
{
	const union MHD_DaemonInfo *di =
	    m.d ? MHD_get_daemon_info(m.d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS) : NULL;

	return json_pack("{s:s,s:i,s:i,s:I,s:I,s:I,s:I,s:I}", "listen",
			 m.a ? m.a->cfg.metrics.listen : "", "connections",
			 di ? (int)di->num_connections : 0, "max_connections", METRICS_MAX_CONNS,
			 "requests", (json_int_t)m.requests, "scrapes", (json_int_t)m.scrapes,
			 "not_found", (json_int_t)m.not_found, "bad_method",
			 (json_int_t)m.bad_method, "errors", (json_int_t)m.errors);
}

int metrics_listen(struct agentd *a)
{
	const struct agent_config *cfg = &a->cfg;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(cfg->metrics.port)};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(cfg->metrics.port)};
	bool v6 = cfg->metrics.addr.family == AF_INET6;
	const union MHD_DaemonInfo *di;
	int ret;

	m.a = a;
	if (cfg->metrics.listen[0] == '\0')
		return 0;
	if (v6)
		sin6.sin6_addr = cfg->metrics.addr.addr.v6;
	else
		sin.sin_addr = cfg->metrics.addr.addr.v4;
	errno = 0;
	/* MHD_USE_EPOLL without MHD_USE_INTERNAL_POLLING_THREAD: no thread,
	 * our loop runs it; [::]: IPv6 only (no MHD_USE_DUAL_STACK) */
	m.d = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0),
	    cfg->metrics.port, NULL, NULL, handle, a, MHD_OPTION_SOCK_ADDR,
	    v6 ? (struct sockaddr *)&sin6 : (struct sockaddr *)&sin, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)METRICS_MAX_CONNS, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)METRICS_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)METRICS_POOL, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)METRICS_BACKLOG,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_END);
	if (m.d == NULL) {
		ret = errno ? -errno : -EADDRNOTAVAIL;
		LOG(ERR, "metrics listener %s: %s", cfg->metrics.listen, strerror(-ret));
		return ret;
	}
	di = MHD_get_daemon_info(m.d, MHD_DAEMON_INFO_EPOLL_FD);
	m.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (di == NULL || m.tfd < 0) {
		ret = m.tfd < 0 ? -errno : -EINVAL;
		LOG(ERR, "metrics listener: %s", strerror(-ret));
		metrics_close(a);
		return ret;
	}
	if ((ret = loop_add_fd(a, di->epoll_fd, epoll_cb, NULL)) < 0) {
		LOG(ERR, "metrics listener: %s", strerror(-ret));
		metrics_close(a);
		return ret;
	}
	m.epfd = di->epoll_fd;
	if ((ret = loop_add_fd(a, m.tfd, timer_cb, NULL)) < 0) {
		LOG(ERR, "metrics listener: %s", strerror(-ret));
		metrics_close(a);
		return ret;
	}
	LOG(INFO, "metrics on http://%s/metrics", cfg->metrics.listen);
	return 0;
}

void metrics_close(struct agentd *a)
{
	if (m.d == NULL)
		return;
	/* MHD must not be stopped with a suspended connection: each one gets
	 * its answer (503) from a last few runs (resumption takes effect in
	 * MHD_run); a status query still out frees its scrape when it ends */
	while (m.suspended != NULL) {
		struct scrape *s = m.suspended;

		unlink_suspended(s);
		s->cancelled = true;
		MHD_resume_connection(s->conn);
	}
	for (int i = 0; i < 3; i++)
		MHD_run(m.d);
	if (m.epfd >= 0)
		loop_del_fd(a, m.epfd); /* (MHD closes it) */
	if (m.tfd >= 0) {
		loop_del_fd(a, m.tfd);
		close(m.tfd);
	}
	MHD_stop_daemon(m.d);
	m.d = NULL;
	m.epfd = m.tfd = -1;
}
