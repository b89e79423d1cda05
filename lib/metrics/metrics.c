/* metrics.c: Prometheus text rendering from the control core's view, the seqlock snapshot
 * it is published in, and the libmicrohttpd endpoint that serves it (see sl_metrics.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "sl_common.h"
#include "sl_flow.h"
#include "sl_metrics.h"
#include "sl_probe.h"

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

/* BGP families: rendered in every mode (state "off" and zeros when blocks are not
 * announced), so series stay stable and one dashboard fits every sensor. */
static void
bgp_families(struct sl_text *t, const struct sl_report_ctx *c, const struct sl_block_stats *bs)
{
	struct sl_bgp_stats st;
	const struct sl_bgp *g = c->block != NULL ? sl_block_bgp(c->block) : NULL;

	memset(&st, 0, sizeof(st));
	if (g != NULL)
		sl_bgp_get_stats(g, &st);
	head(t, FAM_bgp_speaker_up);
	sl_text_printf(t, "sluice_bgp_speaker_up{state=\"%s\"} %d\n",
		g != NULL ? sl_bgp_speaker_name(st.speaker) : "off", st.speaker == SL_BGP_SPEAKER_up);
	head(t, FAM_bgp_routes);
	sl_text_printf(t, "sluice_bgp_routes{state=\"announced\"} %" PRIu64 "\n"
			  "sluice_bgp_routes{state=\"pending\"} %" PRIu64 "\n",
		st.routes_announced, st.routes_pending);
	head(t, FAM_bgp_calls_total);
	sl_text_printf(t, "sluice_bgp_calls_total{op=\"announce\",result=\"ok\"} %" PRIu64 "\n"
			  "sluice_bgp_calls_total{op=\"announce\",result=\"failed\"} %" PRIu64 "\n"
			  "sluice_bgp_calls_total{op=\"withdraw\",result=\"ok\"} %" PRIu64 "\n"
			  "sluice_bgp_calls_total{op=\"withdraw\",result=\"failed\"} %" PRIu64 "\n",
		st.announced, st.announce_failed, st.withdrawn, st.withdraw_failed);
	head(t, FAM_bgp_retries_total);
	sl_text_printf(t, "sluice_bgp_retries_total %" PRIu64 "\n", st.retries);
	head(t, FAM_bgp_speaker_restarts_total);
	sl_text_printf(t, "sluice_bgp_speaker_restarts_total %" PRIu64 "\n", st.speaker_restarts);
	head(t, FAM_bgp_reannounced_total);
	sl_text_printf(t, "sluice_bgp_reannounced_total %" PRIu64 "\n", st.reannounced);
	head(t, FAM_bgp_not_announced_total);
	sl_text_printf(t, "sluice_bgp_not_announced_total %" PRIu64 "\n",
		bs->bgp_not_announced + bs->refused_bgp_cap);
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
			  "sluice_blocks_installed_total{backend=\"dry\"} %" PRIu64 "\n"
			  "sluice_blocks_installed_total{backend=\"bgp\"} %" PRIu64 "\n",
		st.installed_nic, st.installed_soft, st.installed_dry, st.installed_bgp);
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
	bgp_families(t, c, &st);
}
/* Active probe families (control core; zeros when probing is off, so series stay stable). */
static void
probe_families(struct sl_text *t, const struct sl_report_ctx *c)
{
	struct sl_probe_stats st;

	memset(&st, 0, sizeof(st));
	if (c->probe != NULL)
		sl_probe_get_stats(c->probe, &st);
	head(t, FAM_probes_total);
	for (unsigned int r = 0; r < SL_PROBE_R_skipped; r++)
		sl_text_printf(t, "sluice_probes_total{result=\"%s\"} %" PRIu64 "\n",
			sl_probe_result_name(r), st.results[r]);
	head(t, FAM_probe_pools_total);
	for (unsigned int p = 0; p < SL_PROBE_P_MAX; p++)
		sl_text_printf(t, "sluice_probe_pools_total{protocol=\"%s\"} %" PRIu64 "\n",
			sl_probe_proto_name(p), st.pools[p]);
	head(t, FAM_probe_skipped_total);
	for (unsigned int r = 0; r < SL_PROBE_S_MAX; r++)
		sl_text_printf(t, "sluice_probe_skipped_total{reason=\"%s\"} %" PRIu64 "\n",
			sl_probe_skip_name(r), st.skips[r]);
	head(t, FAM_probe_connections_total);
	sl_text_printf(t, "sluice_probe_connections_total %" PRIu64 "\n", st.connections);
	head(t, FAM_probe_own_flows_total);
	sl_text_printf(t, "sluice_probe_own_flows_total %" PRIu64 "\n", st.own_flows);
	head(t, FAM_probe_seconds_total);
	sl_text_printf(t, "sluice_probe_seconds_total %.3f\n", (double)st.latency_ms_sum / 1000.0);
	head(t, FAM_probe_cache_entries);
	sl_text_printf(t, "sluice_probe_cache_entries %" PRIu64 "\n", st.cache_entries);
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
sl_metrics_render(struct sl_text *t, const struct sl_report_ctx *c, const struct sl_http *http,
	double render_s, uint64_t now_us)
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
	probe_families(t, c);
	if (c->devs != NULL) {
		struct sl_devtab_stats ds;

		sl_devtab_get_stats(c->devs, &ds);
		head(t, FAM_devices_known);
		sl_text_printf(t, "sluice_devices_known %" PRIu64 "\n", ds.devices);
		head(t, FAM_devices_new_total);
		sl_text_printf(t, "sluice_devices_new_total %" PRIu64 "\n", ds.devices_new);
		head(t, FAM_devices_moved_total);
		sl_text_printf(t, "sluice_devices_moved_total %" PRIu64 "\n", ds.devices_moved);
		head(t, FAM_devices_evicted_total);
		sl_text_printf(t, "sluice_devices_evicted_total %" PRIu64 "\n", ds.evicted);
		head(t, FAM_devices_routers);
		sl_text_printf(t, "sluice_devices_routers %" PRIu64 "\n", ds.routers);
	}
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
	head(t, FAM_metrics_requests_cut_total);
	sl_text_printf(t, "sluice_metrics_requests_cut_total %" PRIu64 "\n", sl_http_cut(http));
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

/*
 * Abuse limits. libmicrohttpd's connection timeout is an idle timeout: every byte restarts
 * it, so clients that send one header byte every few seconds hold their connections for
 * ever, and enough of them take every slot. Here a request has an absolute deadline
 * (sl_http_limits.request_timeout_s from its connection's start or the previous answer on
 * it): a reaper thread shuts the socket of a connection past it, and libmicrohttpd, reading
 * end of file, closes it. One address holds at most per_ip connections; at most
 * max_connections at once (epoll, so far beyond FD_SETSIZE).
 *
 * The slot table is shared by libmicrohttpd's thread (start, answer, close notifications)
 * and the reaper under one mutex. libmicrohttpd notifies the close before it closes the
 * socket, so the reaper never shuts down a descriptor that was closed and reused.
 */
struct conn_slot {
	int fd;               /* -1: free */
	uint64_t deadline_ms; /* CLOCK_MONOTONIC */
};

struct sl_http {
	struct MHD_Daemon *d;
	struct sl_snapshot *snap;
	uint64_t requests;
	uint64_t cut;                 /* connections closed at their deadline */
	struct sl_http_limits lim;
	pthread_mutex_t lock;
	struct conn_slot *slot;       /* lim.max_connections */
	pthread_t reaper;
	bool reaper_started;
	int stop;                     /* atomic: reaper stops */
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
	enum MHD_ConnectionNotificationCode code)
{
	struct sl_http *h = cls;
	uintptr_t i;

	pthread_mutex_lock(&h->lock);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		*socket_context = NULL;
		for (i = 0; ci != NULL && i < h->lim.max_connections; i++)
			if (h->slot[i].fd < 0) {
				h->slot[i].fd = ci->connect_fd;
				h->slot[i].deadline_ms = mono_ms() + h->lim.request_timeout_s * 1000ull;
				*socket_context = (void *)(i + 1);
				break;
			}
	} else if (*socket_context != NULL) { /* closed: before libmicrohttpd closes the fd */
		i = (uintptr_t)*socket_context - 1;
		h->slot[i].fd = -1;
		*socket_context = NULL;
	}
	pthread_mutex_unlock(&h->lock);
}

/* An answer was sent: the next request on this connection gets its own deadline. */
static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	enum MHD_RequestTerminationCode toe)
{
	struct sl_http *h = cls;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	(void)con_cls;
	(void)toe;
	if (ci == NULL || ci->socket_context == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->slot[(uintptr_t)ci->socket_context - 1].deadline_ms =
		mono_ms() + h->lim.request_timeout_s * 1000ull;
	pthread_mutex_unlock(&h->lock);
}

static void *
reaper_main(void *arg)
{
	struct sl_http *h = arg;
	const struct timespec tick = {.tv_sec = 0, .tv_nsec = 200 * 1000 * 1000};

	while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
		uint64_t now = mono_ms();

		pthread_mutex_lock(&h->lock);
		for (unsigned int i = 0; i < h->lim.max_connections; i++)
			if (h->slot[i].fd >= 0 && now >= h->slot[i].deadline_ms) {
				(void)shutdown(h->slot[i].fd, SHUT_RDWR);
				h->slot[i].deadline_ms = UINT64_MAX; /* once */
				__atomic_fetch_add(&h->cut, 1, __ATOMIC_RELAXED);
			}
		pthread_mutex_unlock(&h->lock);
		nanosleep(&tick, NULL);
	}
	return NULL;
}

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
sl_http_start(struct sl_snapshot *s, const char *bind, unsigned int port,
	const struct sl_http_limits *lim, char *err, size_t errlen)
{
	struct sl_http *h = calloc(1, sizeof(*h));
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	const struct sockaddr *sa;
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD; /* epoll: no FD_SETSIZE limit */

	if (lim->max_connections == 0 || lim->per_ip == 0 || lim->request_timeout_s == 0) {
		snprintf(err, errlen, "/metrics: a limit is zero");
		free(h);
		return NULL;
	}
	if (h == NULL || (h->slot = calloc(lim->max_connections, sizeof(*h->slot))) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(h);
		return NULL;
	}
	h->snap = s;
	h->lim = *lim;
	for (unsigned int i = 0; i < lim->max_connections; i++)
		h->slot[i].fd = -1;
	pthread_mutex_init(&h->lock, NULL);
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
		goto fail;
	}
	if (pthread_create(&h->reaper, NULL, reaper_main, h) != 0) {
		snprintf(err, errlen, "/metrics: cannot start its deadline thread");
		goto fail;
	}
	h->reaper_started = true;
	h->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, h,
		MHD_OPTION_SOCK_ADDR, sa,
		MHD_OPTION_CONNECTION_LIMIT, lim->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, lim->per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, lim->request_timeout_s, /* idle keep-alive */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, /* bigger heads: 431 */
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		MHD_OPTION_END);
	if (h->d == NULL) {
		snprintf(err, errlen, "cannot serve metrics on %s port %u (in use or not allowed)",
			bind, port);
		goto fail;
	}
	return h;
fail:
	if (h->reaper_started) {
		__atomic_store_n(&h->stop, 1, __ATOMIC_RELEASE);
		pthread_join(h->reaper, NULL);
	}
	pthread_mutex_destroy(&h->lock);
	free(h->slot);
	free(h);
	return NULL;
}

uint64_t
sl_http_cut(const struct sl_http *h)
{
	return h ? __atomic_load_n(&h->cut, __ATOMIC_RELAXED) : 0;
}

void
sl_http_stop(struct sl_http *h)
{
	if (h == NULL)
		return;
	/* the reaper first: it must not shut down sockets libmicrohttpd is closing */
	__atomic_store_n(&h->stop, 1, __ATOMIC_RELEASE);
	pthread_join(h->reaper, NULL);
	MHD_stop_daemon(h->d);
	pthread_mutex_destroy(&h->lock);
	free(h->slot);
	free(h);
}

uint64_t
sl_http_requests(const struct sl_http *h)
{
	return h ? __atomic_load_n(&h->requests, __ATOMIC_RELAXED) : 0;
}
