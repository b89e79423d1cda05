/* metrics.c: Prometheus text rendering from the control core's view, the seqlock snapshot
 * it is published in, and the libmicrohttpd endpoint that serves it (see sl_metrics.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "sl_common.h"
#include "sl_flow.h"
#include "sl_metrics.h"

/* ---- text ---- */

void
sl_text_reset(struct sl_text *t)
{
	t->len = 0;
	t->oom = false;
	if (t->p != NULL)
		t->p[0] = '\0';
}

void
sl_text_free(struct sl_text *t)
{
	free(t->p);
	memset(t, 0, sizeof(*t));
}

void
sl_text_printf(struct sl_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = t->cap - t->len;

		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->oom = true;
			return;
		}
		if (t->p != NULL && (size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		{
			size_t ncap = (t->cap ? t->cap * 2 : 65536) + (size_t)n + 1;
			char *np = realloc(t->p, ncap);

			if (np == NULL) {
				t->oom = true;
				return;
			}
			t->p = np;
			t->cap = ncap;
		}
	}
}

/* ---- families ---- */

enum fam {
#define SL_FAM_ENUM(name, type, help) FAM_##name,
	SL_METRIC_FAMILIES(SL_FAM_ENUM)
#undef SL_FAM_ENUM
	FAM_MAX
};

static const struct {
	const char *name, *type, *help;
} fams[FAM_MAX] = {
#define SL_FAM_ROW(name, type, help) {#name, #type, help},
	SL_METRIC_FAMILIES(SL_FAM_ROW)
#undef SL_FAM_ROW
};

static void
head(struct sl_text *t, enum fam f)
{
	sl_text_printf(t, "# HELP sluice_%s %s\n# TYPE sluice_%s %s\n", fams[f].name, fams[f].help,
		fams[f].name, fams[f].type);
}

/* Counters written by a worker and read here: one relaxed load each (never a lock). */
static inline uint64_t
rd(const uint64_t *p)
{
	return SL_LOAD_RELAXED(p);
}

static void
per_worker(struct sl_text *t, const struct sl_report_ctx *c, enum fam f,
	uint64_t (*get)(const struct sl_worker *w))
{
	head(t, f);
	for (unsigned int i = 0; i < c->nworkers; i++)
		sl_text_printf(t, "sluice_%s{worker=\"%u\"} %" PRIu64 "\n", fams[f].name, i,
			get(c->workers[i]));
}

static uint64_t w_bytes(const struct sl_worker *w) { return rd(&w->rx_bytes); }
static uint64_t w_active(const struct sl_worker *w) { return rd(&sl_flow_stats(w->flows)->active); }
static uint64_t w_created(const struct sl_worker *w) { return rd(&sl_flow_stats(w->flows)->created); }
static uint64_t w_expired(const struct sl_worker *w) { return rd(&sl_flow_stats(w->flows)->expired); }
static uint64_t w_full(const struct sl_worker *w) { return rd(&sl_flow_stats(w->flows)->table_full); }
static uint64_t w_pool(const struct sl_worker *w) { return rd(&sl_flow_stats(w->flows)->payload_pool_empty); }
static uint64_t w_ring(const struct sl_worker *w) { return rd(&w->chan.full); }
static uint64_t w_lost(const struct sl_worker *w) { return rd(&w->mx.st.events_lost); }
static uint64_t w_insp(const struct sl_worker *w) { return rd(&w->mx.st.inspected_bytes); }
static uint64_t w_samples(const struct sl_worker *w) { return rd(&w->samples); }
static uint64_t w_fwd(const struct sl_worker *w) { return rd(&w->tx_pkts); }
static uint64_t w_txfull(const struct sl_worker *w) { return rd(&w->tx_full); }

struct nic_drop {
	uint64_t pkts, bytes;
};

static void
nic_drop_cb(void *arg, const struct sl_block_rule *r)
{
	struct nic_drop *d = arg;

	if (r->backend == SL_BB_nic) {
		d->pkts += r->pkts;
		d->bytes += r->bytes;
	}
}

/* Response families (control core). */
static void
block_families(struct sl_text *t, const struct sl_report_ctx *c)
{
	struct sl_block_stats st;
	struct nic_drop nd = {0, 0};

	/* rendered in every mode (zeros when there is no response), so series stay stable */
	memset(&st, 0, sizeof(st));
	if (c->block != NULL) {
		sl_block_get_stats(c->block, &st);
		sl_block_foreach(c->block, nic_drop_cb, &nd);
	}
	head(t, FAM_blocks_active);
	for (unsigned int b = 0; b < SL_BB_MAX; b++)
		sl_text_printf(t, "sluice_blocks_active{backend=\"%s\"} %" PRIu64 "\n",
			sl_block_backend_name(b), st.active[b]);
	head(t, FAM_blocks_installed_total);
	sl_text_printf(t, "sluice_blocks_installed_total{backend=\"nic\"} %" PRIu64 "\n"
			  "sluice_blocks_installed_total{backend=\"soft\"} %" PRIu64 "\n"
			  "sluice_blocks_installed_total{backend=\"dry\"} %" PRIu64 "\n",
		st.installed_nic, st.installed_soft, st.installed_dry);
	head(t, FAM_blocks_refused_total);
	for (unsigned int r = 0; r < SL_BR_MAX; r++)
		sl_text_printf(t, "sluice_blocks_refused_total{reason=\"%s\"} %" PRIu64 "\n",
			sl_block_refusal_name(r), *sl_block_refusal_counter(&st, r));
	head(t, FAM_blocks_nic_refused_total);
	sl_text_printf(t, "sluice_blocks_nic_refused_total %" PRIu64 "\n", st.nic_refused);
	head(t, FAM_blocks_expired_total);
	sl_text_printf(t, "sluice_blocks_expired_total %" PRIu64 "\n", st.expired);
	head(t, FAM_blocks_removed_total);
	sl_text_printf(t, "sluice_blocks_removed_total %" PRIu64 "\n", st.unblocked_operator);
	head(t, FAM_block_dropped_packets_total);
	sl_text_printf(t, "sluice_block_dropped_packets_total{backend=\"nic\"} %" PRIu64 "\n",
		nd.pkts);
	for (unsigned int i = 0; i < c->nworkers; i++)
		sl_text_printf(t, "sluice_block_dropped_packets_total{backend=\"soft\",worker=\"%u\"} %"
			PRIu64 "\n", i, rd(&c->workers[i]->blocked_pkts));
	head(t, FAM_block_dropped_bytes_total);
	sl_text_printf(t, "sluice_block_dropped_bytes_total{backend=\"nic\"} %" PRIu64 "\n",
		nd.bytes);
	for (unsigned int i = 0; i < c->nworkers; i++)
		sl_text_printf(t, "sluice_block_dropped_bytes_total{backend=\"soft\",worker=\"%u\"} %"
			PRIu64 "\n", i, rd(&c->workers[i]->blocked_bytes));
	per_worker(t, c, FAM_inline_forwarded_total, w_fwd);
	per_worker(t, c, FAM_inline_tx_full_total, w_txfull);
}
static uint64_t w_slost(const struct sl_worker *w) { return rd(&w->samples_lost); }

/* Scoring families: the control core owns the scorer, and renders these itself. */
static void
scoring_families(struct sl_text *t, const struct sl_report_ctx *c)
{
	struct sl_score_stats st;
	struct sl_score_params p;
	struct sl_score_view *v;
	unsigned int n = 0, want = (unsigned int)c->cfg->metrics_top_hosts;

	if (c->score == NULL)
		return;
	sl_score_get_stats(c->score, &st);
	sl_score_params_get(c->score, &p);
	head(t, FAM_score_signals_total);
	sl_text_printf(t, "sluice_score_signals_total{kind=\"detection\"} %" PRIu64 "\n"
			  "sluice_score_signals_total{kind=\"behaviour\"} %" PRIu64 "\n"
			  "sluice_score_signals_total{kind=\"baseline\"} %" PRIu64 "\n",
		st.detections, st.behaviour_signals, st.deviations);
	head(t, FAM_alerts_total);
	sl_text_printf(t, "sluice_alerts_total %" PRIu64 "\n", st.alerts);
	head(t, FAM_hosts_scored);
	sl_text_printf(t, "sluice_hosts_scored %" PRIu64 "\n", st.hosts);
	head(t, FAM_hosts_over_threshold);
	sl_text_printf(t, "sluice_hosts_over_threshold{level=\"alert\",threshold=\"%u\"} %" PRIu64 "\n"
			  "sluice_hosts_over_threshold{level=\"block\",threshold=\"%u\"} %" PRIu64 "\n",
		p.alert, st.over_alert, p.block, st.over_block);
	head(t, FAM_host_score);
	v = want > 0 ? calloc(want, sizeof(*v)) : NULL;
	if (v != NULL)
		n = sl_score_top(c->score, c->score_now_us, v, want);
	for (unsigned int i = 0; i < n; i++) {
		char a[64];

		sl_addr_format(v[i].addr, a, sizeof(a));
		sl_text_printf(t, "sluice_host_score{host=\"%s\",level=\"%s\"} %.1f\n", a,
			v[i].level == SL_LEVEL_BLOCK ? "block" :
			v[i].level == SL_LEVEL_ALERT ? "alert" : "none", v[i].score);
	}
	free(v);
	head(t, FAM_score_table_full_total);
	sl_text_printf(t, "sluice_score_table_full_total %" PRIu64 "\n", st.table_full);
	head(t, FAM_scoring_cycle_seconds);
	sl_text_printf(t, "sluice_scoring_cycle_seconds %.9f\n", (double)st.cycle_ns / 1e9);
	head(t, FAM_scoring_cycles_total);
	sl_text_printf(t, "sluice_scoring_cycles_total %" PRIu64 "\n", st.cycles);
	head(t, FAM_scoring_time_jumps_total);
	sl_text_printf(t, "sluice_scoring_time_jumps_total %" PRIu64 "\n", st.time_jumps);
}

static void
port_family(struct sl_text *t, const struct sl_report_ctx *c, enum fam f, size_t off)
{
	head(t, f);
	for (unsigned int p = 0; p < c->nports; p++) {
		const struct sl_report_port *rp = &c->ports[p];

		if (rp->stats_rc != 0)
			continue;
		sl_text_printf(t, "sluice_%s{port=\"%u\",name=\"%s\"} %" PRIu64 "\n", fams[f].name,
			rp->info.port_id, rp->info.name, *(const uint64_t *)((const char *)&rp->st + off));
	}
}

void
sl_metrics_render(struct sl_text *t, const struct sl_report_ctx *c, double render_s,
	uint64_t now_us)
{
	struct sl_chost_totals ht;

	sl_text_reset(t);
	port_family(t, c, FAM_port_rx_packets_total, offsetof(struct rte_eth_stats, ipackets));
	port_family(t, c, FAM_port_rx_bytes_total, offsetof(struct rte_eth_stats, ibytes));
	port_family(t, c, FAM_port_missed_total, offsetof(struct rte_eth_stats, imissed));
	port_family(t, c, FAM_port_errors_total, offsetof(struct rte_eth_stats, ierrors));
	port_family(t, c, FAM_port_nombuf_total, offsetof(struct rte_eth_stats, rx_nombuf));

	head(t, FAM_queue_packets_total);
	for (unsigned int i = 0; i < c->nworkers; i++) {
		const struct sl_worker *w = c->workers[i];

		for (unsigned int q = 0; q < w->nrxq; q++)
			sl_text_printf(t, "sluice_queue_packets_total{port=\"%u\",queue=\"%u\",worker=\"%u\"} %" PRIu64 "\n",
				w->rxq[q].port, w->rxq[q].queue, i, rd(&w->rxq[q].rx));
	}
	head(t, FAM_worker_packets_total);
	for (unsigned int i = 0; i < c->nworkers; i++)
		for (unsigned int o = 0; o < SL_PKT_OUTCOME_MAX; o++)
			sl_text_printf(t, "sluice_worker_packets_total{worker=\"%u\",class=\"%s\",outcome=\"%s\"} %" PRIu64 "\n",
				i, sl_pkt_class_name(sl_pkt_outcome_class(o)), sl_pkt_outcome_name(o),
				rd(&c->workers[i]->outcome[o]));
	per_worker(t, c, FAM_worker_bytes_total, w_bytes);
	per_worker(t, c, FAM_flows_active, w_active);
	per_worker(t, c, FAM_flows_created_total, w_created);
	per_worker(t, c, FAM_flows_expired_total, w_expired);
	per_worker(t, c, FAM_flow_table_full_total, w_full);
	per_worker(t, c, FAM_payload_pool_empty_total, w_pool);
	per_worker(t, c, FAM_channel_ring_full_total, w_ring);
	per_worker(t, c, FAM_events_lost_total, w_lost);
	per_worker(t, c, FAM_inspected_bytes_total, w_insp);

	head(t, FAM_detections_total);
	for (unsigned int d = 0; d < SL_DET_MAX; d++)
		sl_text_printf(t, "sluice_detections_total{detector=\"%s\",protocol=\"%s\"} %" PRIu64 "\n",
			sl_det_name(d), sl_det_protocol(d), c->det_events ? c->det_events[d] : 0);

	sl_chost_totals(c->hosts, &ht);
	head(t, FAM_hosts_tracked);
	sl_text_printf(t, "sluice_hosts_tracked %" PRIu64 "\n", ht.hosts);
	per_worker(t, c, FAM_flow_samples_total, w_samples);
	per_worker(t, c, FAM_flow_samples_lost_total, w_slost);
	scoring_families(t, c);
	block_families(t, c);
	if (c->db != NULL) {
		uint32_t nd, nr, ndet, npat;

		sl_match_db_sizes(c->db, &nd, &nr, &ndet, &npat);
		head(t, FAM_detection_tables_generation);
		sl_text_printf(t, "sluice_detection_tables_generation %u\n",
			sl_match_db_generation(c->db));
		head(t, FAM_detection_reloads_total);
		sl_text_printf(t, "sluice_detection_reloads_total{result=\"ok\"} %" PRIu64 "\n"
				  "sluice_detection_reloads_total{result=\"refused\"} %" PRIu64 "\n",
			c->reloads, c->reload_errors);
		head(t, FAM_pool_names);
		sl_text_printf(t, "sluice_pool_names %u\n", nd);
		head(t, FAM_pool_ranges);
		sl_text_printf(t, "sluice_pool_ranges %u\n", nr);
	}
	if (c->ctl != NULL && c->cfg->evidence_dir[0] != '\0') {
		head(t, FAM_evidence_total);
#define SL_METRIC_EV(name, timing, help)                                                     \
	sl_text_printf(t, "sluice_evidence_total{counter=\"%s\"} %" PRIu64 "\n",                \
		#name + sizeof("evidence_") - 1, c->ctl->name);
		SL_EVID_COUNTERS(SL_METRIC_EV)
#undef SL_METRIC_EV
	}
	if (c->ctl != NULL && c->cfg->syslog[0] != '\0') {
		head(t, FAM_syslog_messages_total);
		sl_text_printf(t, "sluice_syslog_messages_total{result=\"sent\"} %" PRIu64 "\n"
				  "sluice_syslog_messages_total{result=\"dropped\"} %" PRIu64 "\n"
				  "sluice_syslog_messages_total{result=\"errors\"} %" PRIu64 "\n",
			c->ctl->syslog_sent, c->ctl->syslog_dropped, c->ctl->syslog_errors);
	}
	head(t, FAM_render_seconds);
	sl_text_printf(t, "sluice_render_seconds %.6f\n", render_s);
	head(t, FAM_snapshot_timestamp_seconds);
	sl_text_printf(t, "sluice_snapshot_timestamp_seconds %" PRIu64 ".%06" PRIu64 "\n",
		now_us / 1000000, now_us % 1000000);
}

/* ---- snapshot (seqlock over two buffers) ---- */

#define SNAP_CAP (8u << 20) /* bytes per buffer: far above what bounded labels produce */

struct sl_snapshot {
	struct {
		uint32_t seq;  /* odd while the control core writes this buffer */
		size_t len;
		char *buf;
	} b[2];
	int cur; /* buffer last published, -1 before the first */
};

struct sl_snapshot *
sl_snapshot_create(void)
{
	struct sl_snapshot *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->cur = -1;
	s->b[0].buf = malloc(SNAP_CAP);
	s->b[1].buf = malloc(SNAP_CAP);
	if (s->b[0].buf == NULL || s->b[1].buf == NULL) {
		sl_snapshot_free(s);
		return NULL;
	}
	return s;
}

void
sl_snapshot_free(struct sl_snapshot *s)
{
	if (s == NULL)
		return;
	free(s->b[0].buf);
	free(s->b[1].buf);
	free(s);
}

int
sl_snapshot_publish(struct sl_snapshot *s, const char *text, size_t len)
{
	int cur = SL_LOAD_RELAXED(&s->cur);
	int x = cur < 0 ? 0 : !cur;

	if (len > SNAP_CAP)
		return -ENOMEM;
	/* odd: readers that started on this buffer will retry */
	SL_STORE_RELAXED(&s->b[x].seq, s->b[x].seq + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(s->b[x].buf, text, len);
	SL_STORE_RELAXED(&s->b[x].len, len);
	/* RELEASE: the bytes are written before the sequence turns even again */
	SL_STORE_RELEASE(&s->b[x].seq, s->b[x].seq + 1);
	SL_STORE_RELEASE(&s->cur, x);
	return 0;
}

int
sl_snapshot_copy(struct sl_snapshot *s, char **out, size_t *len)
{
	char *buf = malloc(SNAP_CAP + 1);

	if (buf == NULL)
		return -ENOMEM;
	for (int tries = 0; tries < 1000; tries++) {
		int x = SL_LOAD_ACQUIRE(&s->cur);
		uint32_t s1, s2;
		size_t n;

		if (x < 0) {
			free(buf);
			return -EAGAIN;
		}
		s1 = SL_LOAD_ACQUIRE(&s->b[x].seq);
		if (s1 & 1)
			continue;
		n = SL_LOAD_RELAXED(&s->b[x].len);
		if (n > SNAP_CAP)
			continue;
		memcpy(buf, s->b[x].buf, n);
		/* ACQUIRE fence: the copy is done before the sequence is read again */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = SL_LOAD_RELAXED(&s->b[x].seq);
		if (s1 == s2) {
			buf[n] = '\0';
			*out = buf;
			*len = n;
			return 0;
		}
	}
	free(buf);
	return -EAGAIN;
}

/* ---- HTTP ---- */

struct sl_http {
	struct MHD_Daemon *d;
	struct sl_snapshot *snap;
	uint64_t requests;
};

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned int status, const char *type, const char *body,
	size_t len, bool allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
		MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	if (allow)
		MHD_add_response_header(r, "Allow", "GET, HEAD");
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	const char *version, const char *upload, size_t *upload_len, void **state)
{
	struct sl_http *h = cls;
	static const char txt[] = "text/plain; charset=utf-8";
	char *body;
	size_t len;
	enum MHD_Result rc;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	__atomic_fetch_add(&h->requests, 1, __ATOMIC_RELAXED);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, txt, "method not allowed\n", 19, true);
	if (strcmp(url, "/metrics") != 0) {
		static const char nf[] = "not found: sluice serves /metrics\n";

		return reply(conn, MHD_HTTP_NOT_FOUND, txt, nf, sizeof(nf) - 1, false);
	}
	if (sl_snapshot_copy(h->snap, &body, &len) < 0)
		return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, txt, "no snapshot yet\n", 16, false);
	rc = reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len, false);
	free(body);
	return rc;
}

struct sl_http *
sl_http_start(struct sl_snapshot *s, const char *bind, unsigned int port, char *err,
	size_t errlen)
{
	struct sl_http *h = calloc(1, sizeof(*h));
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	const struct sockaddr *sa;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->snap = s;
	memset(&a4, 0, sizeof(a4));
	memset(&a6, 0, sizeof(a6));
	if (inet_pton(AF_INET, bind, &a4.sin_addr) == 1) {
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t)port);
		sa = (const struct sockaddr *)&a4;
	} else if (inet_pton(AF_INET6, bind, &a6.sin6_addr) == 1) {
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((uint16_t)port);
		sa = (const struct sockaddr *)&a6;
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, errlen, "metrics_bind '%s' is not an IPv4 or IPv6 address", bind);
		free(h);
		return NULL;
	}
	h->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, h,
		MHD_OPTION_SOCK_ADDR, sa,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, /* bigger heads: 431 */
		MHD_OPTION_END);
	if (h->d == NULL) {
		snprintf(err, errlen, "cannot serve metrics on %s port %u (in use or not allowed)",
			bind, port);
		free(h);
		return NULL;
	}
	return h;
}

void
sl_http_stop(struct sl_http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}

uint64_t
sl_http_requests(const struct sl_http *h)
{
	return h ? __atomic_load_n(&h->requests, __ATOMIC_RELAXED) : 0;
}
