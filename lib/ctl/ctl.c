/* ctl.c: the control plane (see sl_ctl.h): record intake, the clock and the timers that hang
 * on it, scoring and the response glue, the event log, the live loop with its mailbox, the
 * stats and metrics snapshots. Every loop here is over records taken or over what changed;
 * idle passes cost one load per request source. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_telemetry.h>

#include "ctl_dedup.h"
#include "ctl_mbox.h"
#include "ctl_priv.h"
#include "sl_chan.h"
#include "sl_common.h"
#include "sl_ctl.h"
#include "sl_input.h"
#include "sl_metrics.h"
#include "sl_report.h"
#include "sl_worker.h"

#define CTL_BLOCK_TICK_US 100000 /* response housekeeping period */
#define CTL_AGE_US 100000        /* host aging period (live) */
#define CTL_AGE_BATCH 4096       /* host slots aged per period */
#define CTL_IDLE_SLEEP_US 200    /* live: pause after a pass that found nothing */
#define CTL_HELD 64              /* flow samples held while their peer's probe runs */

static const char *const ctl_names[] = {
#define SL_CTL_NAME(name, timing, help) #name,
	SL_CTL_COUNTERS(SL_CTL_NAME)
#undef SL_CTL_NAME
};
static const char *const ctl_helps[] = {
#define SL_CTL_HELP(name, timing, help) help,
	SL_CTL_COUNTERS(SL_CTL_HELP)
#undef SL_CTL_HELP
};

static const bool ctl_timing[] = {
#define SL_CTL_TIMING(name, timing, help) timing,
	SL_CTL_COUNTERS(SL_CTL_TIMING)
#undef SL_CTL_TIMING
};

bool
sl_ctl_counter_timing(unsigned int i)
{
	return i < RTE_DIM(ctl_timing) && ctl_timing[i];
}

unsigned int
sl_ctl_num_counters(void)
{
	return RTE_DIM(ctl_names);
}

const char *
sl_ctl_counter_name(unsigned int i)
{
	return i < RTE_DIM(ctl_names) ? ctl_names[i] : NULL;
}

const char *
sl_ctl_counter_help(unsigned int i)
{
	return i < RTE_DIM(ctl_helps) ? ctl_helps[i] : NULL;
}

uint64_t
sl_ctl_counter(const struct sl_ctl_stats *st, unsigned int i)
{
	const uint64_t *v = (const uint64_t *)st;

	return i < RTE_DIM(ctl_names) ? v[i] : 0;
}

/* Requests from signal handlers: one word, so an idle pass checks them with one load. */
static unsigned int ctl_req;

void
sl_ctl_request(unsigned int req)
{
	__atomic_fetch_or(&ctl_req, req, __ATOMIC_RELAXED);
}

bool
sl_ctl_stopping(void)
{
	return (__atomic_load_n(&ctl_req, __ATOMIC_RELAXED) & SL_CTL_REQ_STOP) != 0;
}

/* Ports that came back (reset, link up): their NIC rules are created again by the control
 * core. Set from ethdev's interrupt thread, read and cleared by the control core. */
static uint64_t port_back;

/* The telemetry reload request, answered by the control core. */
static struct {
	struct mbox mb;
	int rc;
	char msg[512];
	uint32_t generation;
} tel_reload;

/* /sluice/stats reads the snapshot the control core publishes; it outlives the control
 * plane until the telemetry thread is gone (sl_ctl_free leaves it to the process end). */
static struct sl_snapshot *tel_stats;

struct sl_ctl {
	struct sl_ctl_conf conf;
	const struct sl_cfg *cfg;
	enum sl_ctl_clock clock;
	struct sl_chost_table *hosts;
	struct sl_score *score;          /* NULL: score = 0 */
	struct sl_score_params score_p;
	struct sl_base_params base_p;
	struct sl_block *block;          /* NULL: mode = monitor (without bgp) */
	struct sl_bgp *bgp;              /* NULL: blocks are not announced */
	struct sl_block_params block_p;
	struct sl_evid *evid;            /* NULL: evidence_dir empty (or unusable: counted) */
	struct sl_match *match;          /* NULL: detect = 0 */
	struct sl_writer *events;        /* event log, or NULL */
	bool events_close;               /* a file we opened (reopened on SIGHUP) */
	bool events_failed;
	uint64_t det_events[SL_DET_MAX]; /* detections taken, per detector */
	struct sl_ctl_stats st;
	struct ctl_dedup *dd;            /* NULL: event_dedup_s = 0 */
	struct sl_probe *probe;          /* NULL: probe = 0 or offline */
	struct {                         /* the latest sample of each flow held for a probe */
		bool used;
		struct sl_flow_sample s;
	} held[CTL_HELD];
	struct sl_oui *oui;              /* IEEE registry and mining-hardware prefixes */
	struct sl_devtab *devs;          /* NULL: devices = 0 */
	struct ctl_devs devctx;          /* the writer's device hook */
	char dev_state[4096];            /* state file ("" = none) */
	uint64_t next_dev_save_us;

	/* topology */
	unsigned int nworkers;
	struct sl_worker *workers[SL_MAX_WORKERS];
	struct sl_run *run;
	struct sl_report_port *ports;
	unsigned int nports;
	const struct sl_input *input;
	struct sl_chan_merge merge;
	bool merging;
	struct sl_chan_sink sink;

	/* clock and timers */
	uint64_t rec_now_us;             /* latest record time */
	uint64_t next_block_us;
	uint64_t next_stats_us;
	uint64_t next_metrics_us;
	uint64_t last_age_us;

	/* serving (live) */
	struct sl_snapshot *metrics;
	struct sl_snapshot *stats;
	struct sl_http *http;
	struct sl_text text;
	bool serving;
};

static uint64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t
sl_ctl_now(const struct sl_ctl *ctl)
{
	return ctl->clock == SL_CTL_CLOCK_WALL ? wall_us() : ctl->rec_now_us;
}

static void
events_failed(struct sl_ctl *ctl)
{
	ctl->st.lines_failed++;
	ctl->events_failed = true;
}

bool
sl_ctl_events_failed(const struct sl_ctl *ctl)
{
	return ctl->events_failed;
}

/* ---- records ---- */

/* ---- the active probe ---- */

/* A record about a flow between one of this machine's addresses and a peer the probe is
 * asking or asked about: the probe's own flow (seen where it crosses a monitored link). */
static bool
probe_own(struct sl_ctl *ctl, uint8_t hside, const uint8_t *src, const uint8_t *dst,
	uint16_t sport, uint16_t dport)
{
	const uint8_t *host = hside == SL_EV_HOST_DST ? dst : src;
	const uint8_t *peer = hside == SL_EV_HOST_DST ? src : dst;
	uint16_t pport = hside == SL_EV_HOST_DST ? sport : dport;

	const struct sl_probe_entry *e;

	if (!sl_probe_is_local(ctl->probe, host))
		return false;
	e = sl_probe_lookup(ctl->probe, peer, pport, sl_ctl_now(ctl));
	if (e == NULL || e->result == SL_PROBE_R_skipped) /* a skipped probe sent nothing */
		return false;
	sl_probe_count_own(ctl->probe);
	return true;
}

static void
probe_event(struct sl_ctl *ctl, const struct sl_probe_entry *e, bool operator_made, uint64_t ts)
{
	if (ctl->events == NULL || ctl->events_failed)
		return;
	if (sl_report_probe(ctl->events, e, operator_made, ts) < 0)
		events_failed(ctl);
	else
		ctl->st.notes_written++;
}

/* The detector whose name a confirmed protocol takes in explanations and block reasons. */
static unsigned int
probe_detector(unsigned int proto)
{
	switch (proto) {
	case SL_PROBE_P_stratum:
		return SL_DET_stratum_subscribe;
	case SL_PROBE_P_xmrig:
		return SL_DET_xmr_login;
	case SL_PROBE_P_eth:
		return SL_DET_eth_submit_login;
	case SL_PROBE_P_sv2:
		return SL_DET_sv2_setup;
	default:
		return SL_DET_sv2_noise;
	}
}

/* What a result means for the host whose evidence asked. */
static void
probe_apply(struct sl_ctl *ctl, const uint8_t host[16], const struct sl_probe_entry *e,
	uint64_t now)
{
	if (ctl->score == NULL)
		return;
	if (e->result == SL_PROBE_R_pool)
		sl_score_confirmed(ctl->score, host, e->ip, e->port, probe_detector(e->proto),
			e->proto, e->tls != 0, e->answer, e->answer_len, e->latency_ms, now);
	else if (e->result == SL_PROBE_R_not_pool)
		sl_score_refuted(ctl->score, host, e->ip, e->port, now);
}

static const uint8_t *
sample_peer(const struct sl_flow_sample *s, uint16_t *port)
{
	*port = s->host == SL_EV_HOST_DST ? s->sport : s->dport;
	return s->host == SL_EV_HOST_DST ? s->src : s->dst;
}

/* Hold @p s (its flow's latest sample replaces an older one). @return false when every slot
 * is taken (the sample is then scored at once, as without a probe). */
static bool
probe_hold(struct sl_ctl *ctl, const struct sl_flow_sample *s)
{
	int free_slot = -1;

	for (int i = 0; i < CTL_HELD; i++) {
		if (ctl->held[i].used && ctl->held[i].s.flow_id == s->flow_id &&
		    memcmp(ctl->held[i].s.src, s->src, 16) == 0) {
			ctl->held[i].s = *s;
			return true;
		}
		if (!ctl->held[i].used && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return false;
	ctl->held[free_slot].used = true;
	ctl->held[free_slot].s = *s;
	return true;
}

/* The answer about (ip, port) is in: held samples of flows to it count now, unless refuted. */
static void
probe_release(struct sl_ctl *ctl, const struct sl_probe_entry *e)
{
	for (int i = 0; i < CTL_HELD; i++) {
		uint16_t port;
		const uint8_t *peer;

		if (!ctl->held[i].used)
			continue;
		peer = sample_peer(&ctl->held[i].s, &port);
		if (port != e->port || memcmp(peer, e->ip, 16) != 0)
			continue;
		ctl->held[i].used = false;
		if (e->result != SL_PROBE_R_not_pool && ctl->score != NULL)
			sl_score_sample(ctl->score, &ctl->held[i].s, true);
	}
}

/* A finished probe (from sl_probe_poll). */
static void
probe_done(void *arg, const struct sl_probe_entry *e)
{
	struct sl_ctl *ctl = arg;
	static const uint8_t zero[16];
	uint64_t now = sl_ctl_now(ctl);

	probe_event(ctl, e, memcmp(e->host, zero, 16) == 0, now);
	probe_release(ctl, e);
	if (memcmp(e->host, zero, 16) != 0)
		probe_apply(ctl, e->host, e, now);
}

/* A host's evidence about a peer grew: ask for a probe when it is weak and reaches
 * probe_suspect; a result the cache already holds applies at once. */
static void
probe_consider(struct sl_ctl *ctl, uint8_t hside, const uint8_t *src, const uint8_t *dst,
	uint16_t sport, uint16_t dport, uint64_t ts)
{
	const uint8_t *host = hside == SL_EV_HOST_DST ? dst : src;
	const uint8_t *peer = hside == SL_EV_HOST_DST ? src : dst;
	uint16_t pport = hside == SL_EV_HOST_DST ? sport : dport;
	struct sl_probe_entry e;
	bool strong;
	float pts = sl_score_peer_evidence(ctl->score, host, peer, pport, &strong);
	uint64_t now;
	int r;

	if (strong || pts < (float)ctl->cfg->probe_suspect)
		return;
	if (ctl->block != NULL && sl_cidr_set_match(sl_block_allowlist(ctl->block), peer))
		return; /* the operator allowlisted it since start: not probed, as configured ones */
	now = sl_ctl_now(ctl);
	r = sl_probe_ask(ctl->probe, peer, pport, host, now, &e);
	if (r == SL_PROBE_ASK_SKIPPED && e.asked_us == now)
		probe_event(ctl, &e, false, now); /* a new skip: said once */
	else if (r == SL_PROBE_ASK_CACHED && e.result != SL_PROBE_R_PENDING)
		probe_apply(ctl, host, &e, ts);
}

/*
 * A flow sample while probing is on. Behaviour is the evidence a probe is for, so it is
 * confirmed before it counts: a sample whose behaviour would make the host's weak evidence
 * about its peer reach probe_suspect asks for a probe and is held (its behaviour not
 * scored; its flow's latest sample kept, CTL_HELD flows at most) while the probe is in
 * flight. Then: a pool releases the held samples and adds pool_confirmed; a refuted peer's
 * behaviour never counts while its cache entry lives (held samples dropped); an
 * inconclusive answer (silent, refused, error) releases them, as if there were no probe.
 */
static void
probe_sample(struct sl_ctl *ctl, const struct sl_flow_sample *s)
{
	const uint8_t *host = s->host == SL_EV_HOST_DST ? s->dst : s->src;
	const uint8_t *peer = s->host == SL_EV_HOST_DST ? s->src : s->dst;
	uint16_t pport = s->host == SL_EV_HOST_DST ? s->sport : s->dport;
	uint64_t now = sl_ctl_now(ctl);
	const struct sl_probe_entry *e;

	if (probe_own(ctl, s->host, s->src, s->dst, s->sport, s->dport))
		return;
	e = sl_probe_lookup(ctl->probe, peer, pport, now);
	if (e != NULL && e->result == SL_PROBE_R_not_pool) {
		sl_score_sample(ctl->score, s, false); /* refuted: its behaviour does not count */
		return;
	}
	if (e != NULL && e->result == SL_PROBE_R_PENDING && !s->final && probe_hold(ctl, s)) {
		sl_score_sample(ctl->score, s, false); /* held until the answer */
		return;
	}
	if (e == NULL && !s->final) {
		struct sl_beh b;
		unsigned int pts = sl_score_behaviour(&ctl->score_p, s, &b);
		bool strong;
		float ev, v = (float)ctl->score_p.weight[SL_SIG_behaviour] * (float)pts / 100.0f;

		if (pts > 0 && pts >= ctl->score_p.beh_min_points) {
			ev = sl_score_peer_evidence(ctl->score, host, peer, pport, &strong);
			if (!strong && ev + v >= (float)ctl->cfg->probe_suspect &&
			    !(ctl->block != NULL &&
			      sl_cidr_set_match(sl_block_allowlist(ctl->block), peer))) {
				struct sl_probe_entry q;
				int r = sl_probe_ask(ctl->probe, peer, pport, host, now, &q);

				if (r == SL_PROBE_ASK_SKIPPED && q.asked_us == now)
					probe_event(ctl, &q, false, now);
				if (r == SL_PROBE_ASK_QUEUED && probe_hold(ctl, s)) {
					sl_score_sample(ctl->score, s, false);
					return;
				}
			}
		}
	}
	if (sl_score_sample(ctl->score, s, true) > 0 && !s->final)
		probe_consider(ctl, s->host, s->src, s->dst, s->sport, s->dport, s->ts_us);
}

/* An operator's probe (telemetry). */
static int
probe_operator(void *arg, const uint8_t ip[16], uint16_t port, struct sl_probe_entry *out)
{
	struct sl_ctl *ctl = arg;
	uint64_t now = sl_ctl_now(ctl);
	int r;

	if (ctl->block != NULL && sl_cidr_set_match(sl_block_allowlist(ctl->block), ip)) {
		memset(out, 0, sizeof(*out));
		memcpy(out->ip, ip, 16);
		out->port = port;
		out->result = SL_PROBE_R_skipped;
		out->skip = SL_PROBE_S_allowlisted;
		out->asked_us = now;
		snprintf(out->what, sizeof(out->what), "not probed: allowlisted");
		probe_event(ctl, out, true, now);
		return SL_PROBE_ASK_SKIPPED;
	}
	r = sl_probe_ask(ctl->probe, ip, port, NULL, now, out);
	if (r == SL_PROBE_ASK_SKIPPED && out->asked_us == now)
		probe_event(ctl, out, true, now);
	return r;
}

/* One detection line; @p count > 1: the aggregate of repeats since @p first_us. */
static int
write_detection(void *arg, const struct sl_event *ev, unsigned int weight, uint64_t count,
	uint64_t first_us)
{
	struct sl_ctl *ctl = arg;
	int rc;

	if (ctl->events == NULL)
		return 0;
	if (ctl->events_failed)
		return -EIO;
	rc = count > 0 && first_us != 0 ? sl_report_event_agg(ctl->events, ev, weight, count, first_us) :
			 sl_report_event(ctl->events, ev, weight);
	if (rc < 0)
		events_failed(ctl);
	return rc;
}

/* A device first seen after the learning period that mines or keeps long external flows:
 * the new_device signal (once a device; refreshed while it goes on). */
static void
new_device_signal(struct sl_ctl *ctl, const uint8_t host[16], uint64_t ts)
{
	const struct sl_dev *d;
	char why[42];
	time_t t;
	struct tm tm;

	if (ctl->devs == NULL || ctl->score == NULL)
		return;
	d = sl_devtab_find_ip(ctl->devs, host, NULL);
	if (d == NULL || !(d->flags & SL_DEV_F_NEW))
		return;
	t = (time_t)(d->first_us / 1000000);
	gmtime_r(&t, &tm);
	strftime(why, sizeof(why), "first seen %Y-%m-%dT%H:%M:%SZ", &tm);
	sl_score_device(ctl->score, host, SL_SIG_new_device, d->mac, why, ts);
	ctl->st.dev_signals++;
}

static void
on_event(void *arg, unsigned int worker, const struct sl_event *ev)
{
	struct sl_ctl *ctl = arg;
	unsigned int weight;

	RTE_SET_USED(worker);
	ctl->st.det_taken++;
	if (ev->detector >= SL_DET_MAX)
		return;
	if (ctl->probe != NULL && probe_own(ctl, ev->host, ev->src, ev->dst, ev->sport, ev->dport)) {
		ctl->st.det_probe_own++; /* the probe's own flow: never written, never scored */
		return;
	}
	ctl->det_events[ev->detector]++;
	weight = ctl->match != NULL ?
		 sl_match_db_weight(sl_match_current(ctl->match), ev->detector) : 0;
	if (ctl->dd != NULL && ctl_dedup_event(ctl->dd, ev, weight) == 1) {
		ctl->st.det_aggregated++;
	} else if (ctl->events != NULL && write_detection(ctl, ev, weight, 0, 0) < 0) {
		ctl->st.det_dropped_write++;
	} else {
		ctl->st.det_written++; /* with no event log: taken and scored, nothing to write */
	}
	if (ctl->score != NULL) {
		new_device_signal(ctl, ev->host == SL_EV_HOST_DST ? ev->dst : ev->src, ev->ts_us);
		sl_score_detection(ctl->score, ev, weight);
		if (ctl->probe != NULL && (sl_signal_kind_of(ev->detector) == SL_SIG_fingerprint ||
					   sl_signal_kind_of(ev->detector) == SL_SIG_pool_ip))
			probe_consider(ctl, ev->host, ev->src, ev->dst, ev->sport, ev->dport, ev->ts_us);
	}
}

static void
on_flow(void *arg, unsigned int worker, const struct sl_flow_sample *s)
{
	struct sl_ctl *ctl = arg;

	RTE_SET_USED(worker);
	ctl->st.samples_taken++;
	if (s->known != 0 && ctl->hosts != NULL) /* what /sluice/host says was not judged */
		sl_chost_note_known(ctl->hosts, s->host == SL_EV_HOST_DST ? s->dst : s->src, s->known);
	if (ctl->score == NULL)
		return;
	/* a new device keeping a long flow with the outside */
	if (ctl->devs != NULL && !s->final &&
	    (uint64_t)s->age_ms >= ctl->cfg->long_flow_seconds * 1000) {
		const uint8_t *host = s->host == SL_EV_HOST_DST ? s->dst : s->src;
		const uint8_t *peer = s->host == SL_EV_HOST_DST ? s->src : s->dst;

		if (ctl->cfg->home_nets.n == 0 || !sl_cidr_set_match(&ctl->cfg->home_nets, peer))
			new_device_signal(ctl, host, s->ts_us);
	}
	if (ctl->probe != NULL) {
		probe_sample(ctl, s);
		return;
	}
	sl_score_sample(ctl->score, s, true);
}

/* A device observation: the table, device events, the mining-hardware signal. */
static void
on_dev(void *arg, unsigned int worker, const struct sl_dev_obs *o)
{
	struct sl_ctl *ctl = arg;
	const struct sl_dev *d;
	unsigned int ch;

	RTE_SET_USED(worker);
	ctl->st.dev_records++;
	if (ctl->devs == NULL)
		return;
	d = sl_devtab_observe(ctl->devs, o, &ch);
	if (d == NULL)
		return;
	if ((ch & (SL_DEV_CH_NEW | SL_DEV_CH_MOVED)) && ctl->cfg->device_events &&
	    ctl->events != NULL && !ctl->events_failed) {
		if (ctl_dev_event(ctl->events, d, (ch & SL_DEV_CH_NEW) ? "device_new" : "device_moved",
			    o->ts_us, ctl->conf.live) < 0)
			events_failed(ctl);
		else
			ctl->st.dev_events++;
	}
	/* mining hardware: a signal on the address this observation ties to it (a router's
	 * MAC names no host) */
	if (ctl->score != NULL && (d->flags & SL_DEV_F_MINER_HW) && !(d->flags & SL_DEV_F_ROUTER) &&
	    (o->flags & SL_DEV_OF_IP) &&
	    (o->kind == SL_DEV_OBS_flow || o->kind == SL_DEV_OBS_arp || o->kind == SL_DEV_OBS_dhcp)) {
		sl_score_device(ctl->score, o->ip, SL_SIG_mining_hw, d->mac, d->miner, o->ts_us);
		ctl->st.dev_signals++;
	}
}

static uint64_t
host_last_seen(void *arg, const uint8_t host[16])
{
	const struct sl_chost *h = sl_chost_find(((struct sl_ctl *)arg)->hosts, host);

	return h != NULL ? h->last_us : 0;
}

/* Response housekeeping: ports that came back, expiries (every 100 ms of @p now). */
static void
block_timer(struct sl_ctl *ctl, uint64_t now)
{
	uint64_t back;

	if (ctl->block == NULL || now < ctl->next_block_us)
		return;
	ctl->next_block_us = now + CTL_BLOCK_TICK_US;
	back = __atomic_exchange_n(&port_back, 0, __ATOMIC_ACQUIRE);
	for (uint16_t p = 0; back != 0 && p < 64; p++) {
		struct rte_eth_link link;

		if (!(back & (1ull << p)))
			continue;
		/* a link that is up again may have lost its rules (resets do): put them back */
		if (rte_eth_link_get_nowait(p, &link) == 0 && link.link_status == RTE_ETH_LINK_UP)
			sl_block_reinstall(ctl->block, p, now);
	}
	sl_block_tick(ctl->block, now, host_last_seen, ctl);
	if (ctl->bgp != NULL)
		sl_bgp_tick(ctl->bgp, now);
}

/* The clock moves to @p ts_us (before each record, and live once per pass): what falls due
 * on the way runs at its own grid time. */
static void
on_clock(void *arg, uint64_t ts_us)
{
	struct sl_ctl *ctl = arg;

	if (ts_us > ctl->rec_now_us)
		ctl->rec_now_us = ts_us;
	if (ctl->clock == SL_CTL_CLOCK_PACKET) /* offline, expiries follow packet time */
		block_timer(ctl, ts_us);
	if (ctl->score != NULL)
		sl_score_advance(ctl->score, ctl->hosts, &ctl->base_p,
			ctl->cfg->score_interval_ms * 1000, ts_us);
	if (ctl->dd != NULL)
		ctl_dedup_expire(ctl->dd, ts_us);
}

/* An alert: evidence files for it, the flows behind its reasons marked (each reason that
 * names the pool end of a flow, as a pool-scope block would). @return true when the files
 * were made (their paths in @p pcap and @p stream). */
static bool
evidence_alert(struct sl_ctl *ctl, const struct sl_score_note *n, char *pcap, char *stream,
	size_t len)
{
	const struct sl_score_view *v = n->v;
	struct sl_evid_flow fl[SL_SCORE_SIGNALS];
	unsigned int k = 0;

	if (ctl->evid == NULL || n->type != SL_NOTE_ALERT)
		return false;
	for (unsigned int i = 0; i < v->nsig && k < SL_SCORE_SIGNALS; i++) {
		const struct sl_signal *g = &v->sig[i];

		if (g->kind == SL_SIG_baseline || g->detector == SL_DET_dns_pool_name ||
		    g->flow_id == 0 || (g->proto != 6 && g->proto != 17))
			continue;
		memset(&fl[k], 0, sizeof(fl[k]));
		memcpy(fl[k].peer, g->peer, 16);
		fl[k].port = g->host_dst ? g->sport : g->dport; /* the peer's port */
		fl[k].proto = g->proto;
		k++;
	}
	return sl_evid_alert(ctl->evid, v->addr, n->ts_us, fl, k, pcap, stream, len) == 0;
}

/* Scorer: a host crossed a threshold. */
static void
on_note(void *arg, const struct sl_score_note *n)
{
	struct sl_ctl *ctl = arg;
	char pcap[SL_CFG_PATH_MAX + 192], stream[SL_CFG_PATH_MAX + 192];
	bool ev = evidence_alert(ctl, n, pcap, stream, sizeof(pcap));

	if (ctl->events != NULL && !ctl->events_failed) {
		if (sl_report_note(ctl->events, n, &ctl->score_p,
				   ctl->block != NULL && sl_block_holds(ctl->block, n->v->addr),
				   ev ? pcap : NULL, ev ? stream : NULL) < 0)
			events_failed(ctl);
		else
			ctl->st.notes_written++;
	}
	if (n->type == SL_NOTE_LEVEL && n->new_level == SL_LEVEL_BLOCK && ctl->block != NULL &&
	    ctl->cfg->block_auto)
		sl_block_verdict(ctl->block, n->v, n->ts_us);
}

/* Response: a rule made, refused or removed. */
static void
on_block_note(void *arg, const struct sl_block_note *n)
{
	struct sl_ctl *ctl = arg;

	if (ctl->events != NULL && !ctl->events_failed) {
		if (sl_report_block_note(ctl->events, n) < 0)
			events_failed(ctl);
		else
			ctl->st.notes_written++;
	}
	/* a lifted block: the host starts over, and is blocked again (longer) if it mines again */
	if (n->type == SL_BNOTE_UNBLOCK && ctl->score != NULL && n->text != NULL &&
	    strcmp(n->text, "exit") != 0)
		sl_score_release(ctl->score, n->r->key.host);
}

/* BGP: the speaker went down or came back (and sluice announced everything again). */
static void
on_bgp_state(void *arg, int speaker, bool restarted, uint32_t routes, const char *detail)
{
	struct sl_ctl *ctl = arg;

	if (ctl->events != NULL && !ctl->events_failed) {
		if (sl_report_bgp_note(ctl->events, sl_ctl_now(ctl), speaker, restarted, routes,
			    detail) < 0)
			events_failed(ctl);
		else
			ctl->st.notes_written++;
	}
}

static int
on_port_event(uint16_t port, enum rte_eth_event_type type, void *arg, void *ret)
{
	RTE_SET_USED(arg);
	RTE_SET_USED(ret);
	if (port < 64 && (type == RTE_ETH_EVENT_INTR_RESET || type == RTE_ETH_EVENT_INTR_LSC))
		__atomic_fetch_or(&port_back, 1ull << port, __ATOMIC_RELEASE);
	return 0;
}

/* ---- building ---- */

/* A shipped list that is not where the build expects it is a warning; a list the operator
 * named and that is missing is an error (sl_match_create() reports it). */
static void
shipped_list(char *path, const char *key, const char *what)
{
	for (unsigned int k = 0; k < sl_cfg_num_str_keys(); k++) {
		const char *def = sl_cfg_str_key_default(k);

		if (strcmp(sl_cfg_str_key_name(k), key) != 0 || strcmp(path, def) != 0)
			continue;
		if (access(def, R_OK) != 0) {
			fprintf(stderr, "sluice: warning: %s: %s; no %s\n", def, strerror(errno), what);
			path[0] = '\0';
		}
	}
}

/* The event log: lines are formatted into memory chunks; live, a writer thread does the
 * write(2)s, so the control core never waits on a disk. */
static int
open_events(struct sl_ctl *ctl, const char *path, char *err, size_t errlen)
{
	char werr[512] = "", hn[SL_SENSOR_ID_MAX] = "";
	const char *sensor = ctl->cfg->sensor_id;
	struct sl_syslog *sys = NULL;
	bool out;
	int rc;

	if (path == NULL && ctl->cfg->syslog[0] == '\0')
		return 0;
	/* EVE's host: the sensor's name, else the machine's */
	if (sensor[0] == '\0') {
		if (gethostname(hn, sizeof(hn) - 1) != 0)
			snprintf(hn, sizeof(hn), "sluice");
		sensor = hn;
	}
	if (ctl->cfg->syslog[0] != '\0') {
		rc = sl_syslog_open(ctl->cfg->syslog, ctl->cfg->syslog_facility, sensor, &sys, werr,
			sizeof(werr));
		if (rc < 0) {
			snprintf(err, errlen, "%s", werr);
			return rc;
		}
		if (rc > 0) /* a missing socket or a collector that is down: said once, counted */
			fprintf(stderr, "sluice: warning: %s\n", werr);
	}
	out = path != NULL && strcmp(path, "-") == 0;
	ctl->events = sl_writer_open(out || path == NULL ? NULL : path,
		out ? STDOUT_FILENO : path == NULL ? SL_WRITER_NO_FILE : -1, ctl->conf.live, werr,
		sizeof(werr));
	if (ctl->events == NULL) {
		snprintf(err, errlen, "--events %s", werr);
		sl_syslog_close(sys);
		return -EINVAL;
	}
	ctl->events_close = !out;
	sl_writer_set_sensor(ctl->events, sensor);
	sl_writer_set_syslog(ctl->events, sys);
	return 0;
}

/* The registry and the device table; the state file, when there is one, loaded. A corrupt
 * or truncated file is not fatal: said on stderr, kept aside as <file>.bad, and the table
 * starts empty. */
static int
open_devices(struct sl_ctl *ctl, char *err, size_t errlen)
{
	const struct sl_cfg *cfg = ctl->cfg;
	char oerr[512] = "", lerr[512] = "";
	struct sl_devtab_params p = {
		.capacity = (uint32_t)cfg->device_capacity,
		.router_ips = (uint32_t)cfg->device_router_ips,
		.learn_us = cfg->device_learn_s * 1000000,
		.refresh_us = cfg->device_refresh_s * 1000000,
	};
	int n;

	shipped_list(ctl->conf.cfg->mining_hw, "mining_hw", "mining-hardware prefixes");
	if (cfg->oui_dir[0] != '\0' && access(cfg->oui_dir, R_OK) != 0)
		fprintf(stderr, "sluice: warning: oui_dir %s: %s; no vendor names (install ieee-data)\n",
			cfg->oui_dir, strerror(errno));
	ctl->oui = sl_oui_load(cfg->oui_dir, cfg->mining_hw, oerr, sizeof(oerr));
	if (ctl->oui == NULL) {
		snprintf(err, errlen, "mining_hw: %s", oerr);
		return -EINVAL;
	}
	ctl->devs = sl_devtab_create(&p, ctl->oui);
	if (ctl->devs == NULL) {
		snprintf(err, errlen, "device table: out of memory");
		return -ENOMEM;
	}
	ctl->devctx.t = ctl->devs;
	ctl->devctx.live = ctl->conf.live;
	if (ctl->events != NULL)
		sl_writer_set_device(ctl->events, ctl_dev_json, &ctl->devctx);
	if (ctl->conf.device_state != NULL)
		snprintf(ctl->dev_state, sizeof(ctl->dev_state), "%s", ctl->conf.device_state);
	if (ctl->dev_state[0] == '\0')
		return 0;
	n = sl_devtab_load(ctl->devs, ctl->dev_state, lerr, sizeof(lerr));
	if (n == -EINVAL) {
		char bad[4200];

		snprintf(bad, sizeof(bad), "%s.bad", ctl->dev_state);
		if (rename(ctl->dev_state, bad) == 0)
			fprintf(stderr, "sluice: device state %s; starting with an empty device table "
					"(the bad file is kept as %s)\n", lerr, bad);
		else
			fprintf(stderr, "sluice: device state %s; starting with an empty device table "
					"(could not keep it aside: %s)\n", lerr, strerror(errno));
	} else if (n < 0) {
		fprintf(stderr, "sluice: device state %s; starting with an empty device table\n",
			lerr);
	} else if (n > 0 && !ctl->conf.live) {
		fprintf(stderr, "sluice: device state %s: %d devices loaded\n", ctl->dev_state, n);
	}
	return 0;
}

/* Write the device table to its state file (a failure is said and counted, never fatal). */
static void
save_devices(struct sl_ctl *ctl)
{
	char serr[512] = "";

	if (ctl->devs == NULL || ctl->dev_state[0] == '\0')
		return;
	if (sl_devtab_save(ctl->devs, ctl->dev_state, serr, sizeof(serr)) < 0) {
		if (ctl->st.dev_save_errors++ == 0)
			fprintf(stderr, "sluice: device state: %s\n", serr);
	} else {
		ctl->st.dev_saves++;
	}
}

const struct sl_devtab *
sl_ctl_devices(const struct sl_ctl *ctl)
{
	return ctl->devs;
}

/* Evidence packets, when evidence_dir is set. A directory that cannot be used is a warning
 * and a counter, not a failure: detection goes on without evidence. @return 0 or -EINVAL
 * (bad keys, out of memory). */
static int
evidence_create(struct sl_ctl *ctl, const struct sl_ctl_conf *c, char *err, size_t errlen)
{
	struct sl_evid_params ep;
	char eerr[SL_CFG_PATH_MAX + 128];
	int on = sl_evid_params_from_cfg(c->cfg, &ep, err, errlen), erc;

	if (on <= 0)
		return on;
	ep.nworkers = c->live ? c->nworkers : 0; /* offline: written after the run (exact) */
	ctl->evid = sl_evid_create(&ep, c->socket, &erc, eerr, sizeof(eerr));
	if (ctl->evid != NULL)
		return 0;
	if (erc == -ENOMEM || erc == -EINVAL) {
		snprintf(err, errlen, "%s", eerr);
		return -EINVAL;
	}
	fprintf(stderr, "sluice: %s: evidence packets off (counted: evidence_errors)\n", eerr);
	ctl->st.evidence_errors++;
	return 0;
}

struct sl_ctl *
sl_ctl_create(const struct sl_ctl_conf *c, int *rc, char *err, size_t errlen)
{
	struct sl_ctl *ctl = calloc(1, sizeof(*ctl));
	const struct sl_cfg *cfg = c->cfg;
	int r;

	*rc = -ENOMEM;
	if (ctl == NULL) {
		snprintf(err, errlen, "control plane: out of memory");
		return NULL;
	}
	ctl->conf = *c;
	ctl->cfg = cfg;
	ctl->clock = !c->live ? SL_CTL_CLOCK_PACKET :
		     cfg->port_time ? SL_CTL_CLOCK_PORT : SL_CTL_CLOCK_WALL;
	if (sl_score_params_from_cfg(cfg, &ctl->score_p, &ctl->base_p, err, errlen) < 0 ||
	    sl_block_params_from_cfg(cfg, &ctl->block_p, err, errlen) < 0) {
		*rc = -EINVAL;
		goto fail;
	}
	r = open_events(ctl, c->events_path, err, errlen);
	if (r < 0) {
		*rc = r;
		goto fail;
	}
	ctl->hosts = sl_chost_create((uint32_t)(c->live ? cfg->host_capacity :
							 cfg->offline_host_capacity),
		cfg->host_timeout * 1000000, c->socket);
	if (ctl->hosts == NULL) {
		snprintf(err, errlen, "host table: %s", rte_strerror(rte_errno));
		goto fail;
	}
	if (cfg->score) {
		ctl->score = sl_score_create(&ctl->score_p, c->socket, on_note, ctl);
		if (ctl->score == NULL) {
			snprintf(err, errlen, "score table: %s", rte_strerror(rte_errno));
			goto fail;
		}
	}
	/* monitor mode has a response only to announce blocks through BGP */
	if (ctl->block_p.mode != SL_MODE_MONITOR || ctl->block_p.bgp) {
		/* offline there is nothing to drop: blocks are decided and reported (dry run) */
		if (!c->live)
			ctl->block_p.mode = SL_MODE_DRY_RUN;
		ctl->block_p.nworkers = c->nworkers;
		ctl->block = sl_block_create(&ctl->block_p, NULL, 0, NULL, on_block_note, ctl,
			c->socket);
		if (ctl->block == NULL) {
			snprintf(err, errlen, "response: %s", rte_strerror(rte_errno));
			goto fail;
		}
		/* announcements: live and not a dry run (offline never announces) */
		if (ctl->block_p.bgp && ctl->block_p.mode != SL_MODE_DRY_RUN) {
			struct sl_bgp_params bp;

			if (sl_bgp_params_from_cfg(cfg, &bp, err, errlen) < 0) {
				*rc = -EINVAL;
				goto fail;
			}
			ctl->bgp = sl_bgp_create(&bp, NULL, on_bgp_state, ctl);
			if (ctl->bgp == NULL) {
				snprintf(err, errlen, "bgp: %s", strerror(errno));
				goto fail;
			}
			sl_block_set_bgp(ctl->block, ctl->bgp);
		}
	}
	if (evidence_create(ctl, c, err, errlen) < 0) {
		*rc = -EINVAL;
		goto fail;
	}
	if (cfg->detect) {
		char merr[1024] = "";

		shipped_list(c->cfg->pools_domains, "pools_domains", "pool names");
		shipped_list(c->cfg->pools_ips, "pools_ips", "pool addresses");
		struct sl_match_conf mc = {
			.domains_path = cfg->pools_domains,
			.ips_path = cfg->pools_ips,
			.detectors_path = cfg->detectors,
			.hs_cache_dir = cfg->hs_cache_dir,
			.nworkers = c->nworkers,
			.socket = c->socket,
		};

		ctl->match = sl_match_create(&mc, merr, sizeof(merr));
		if (ctl->match == NULL) {
			char where[SL_CFG_PATH_MAX + 16] = "";
			static const char *const lists[] = {"pools_domains", "pools_ips", "detectors"};
			const char *const paths[] = {cfg->pools_domains, cfg->pools_ips, cfg->detectors};

			/* "file:line: reason" of a list: say which key named it and where */
			for (unsigned int i = 0; i < SL_ARRAY_SIZE(lists); i++) {
				size_t n = strlen(paths[i]);

				if (n > 0 && strncmp(merr, paths[i], n) == 0 && merr[n] == ':') {
					sl_cfg_where(cfg, lists[i], where, sizeof(where) - 64);
					snprintf(where + strlen(where), 64, ": %s: ", lists[i]);
					break;
				}
			}
			snprintf(err, errlen, "detection: %s%s", where,
				merr[0] ? merr : rte_strerror(rte_errno));
			*rc = -EINVAL;
			goto fail;
		}
	}
	if (cfg->event_dedup_s > 0 &&
	    (ctl->dd = ctl_dedup_create(cfg->event_dedup_s * 1000000, 65536, write_detection,
		     ctl)) == NULL) {
		snprintf(err, errlen, "event aggregation table: out of memory");
		goto fail;
	}
	if (c->live && cfg->probe) { /* offline never probes */
		struct sl_probe_params pp;

		if (sl_probe_params_from_cfg(cfg, true, &pp, err, errlen) < 0) {
			*rc = -EINVAL;
			goto fail;
		}
		ctl->probe = sl_probe_create(&pp, &r);
		if (ctl->probe == NULL) {
			snprintf(err, errlen, "probe: %s", strerror(-r));
			*rc = r;
			goto fail;
		}
	}
	if (cfg->devices && open_devices(ctl, err, errlen) < 0) {
		*rc = -EINVAL;
		goto fail;
	}
	ctl->sink = (struct sl_chan_sink){
		.hosts = ctl->hosts,
		.on_clock = on_clock,
		.on_event = on_event,
		.on_flow = on_flow,
		.on_dev = on_dev,
		.arg = ctl,
	};
	*rc = 0;
	return ctl;
fail:
	sl_ctl_free(ctl);
	return NULL;
}

struct sl_match *sl_ctl_match(struct sl_ctl *ctl) { return ctl->match; }
struct sl_block *sl_ctl_block(struct sl_ctl *ctl) { return ctl->block; }
struct sl_evid *sl_ctl_evid(struct sl_ctl *ctl) { return ctl->conf.live ? ctl->evid : NULL; }
struct sl_chost_table *sl_ctl_hosts(struct sl_ctl *ctl) { return ctl->hosts; }
struct sl_score *sl_ctl_score(struct sl_ctl *ctl) { return ctl->score; }

int
sl_ctl_mode(const struct sl_ctl *ctl)
{
	return ctl->block != NULL ? (int)ctl->block_p.mode : SL_MODE_MONITOR;
}

int
sl_ctl_attach(struct sl_ctl *ctl, struct sl_worker *const *workers, unsigned int nworkers,
	struct sl_run *run, struct sl_report_port *ports, unsigned int nports,
	const struct sl_input *input)
{
	if (nworkers == 0 || nworkers > SL_MAX_WORKERS)
		return -EINVAL;
	ctl->nworkers = nworkers;
	memcpy(ctl->workers, workers, nworkers * sizeof(workers[0]));
	ctl->run = run;
	ctl->ports = ports;
	ctl->nports = nports;
	ctl->input = input;
	if (ctl->block != NULL && ctl->conf.live) { /* NIC rules go to every port */
		uint16_t ids[SL_BLOCK_MAX_PORTS] = {0};
		unsigned int n = SL_MIN(nports, (unsigned int)SL_BLOCK_MAX_PORTS);

		for (unsigned int p = 0; p < n; p++)
			ids[p] = ports[p].info.port_id;
		sl_block_set_ports(ctl->block, ids, n);
		for (unsigned int p = 0; p < n; p++) { /* rules come back with the port */
			rte_eth_dev_callback_register(ids[p], RTE_ETH_EVENT_INTR_RESET, on_port_event,
				NULL);
			rte_eth_dev_callback_register(ids[p], RTE_ETH_EVENT_INTR_LSC, on_port_event,
				NULL);
		}
	}
	if (!ctl->conf.live) { /* offline: records in time order, whatever the workers */
		struct sl_chan *ch[SL_MAX_WORKERS];
		const int *done[SL_MAX_WORKERS];

		for (unsigned int i = 0; i < nworkers; i++) {
			ch[i] = &workers[i]->chan;
			done[i] = &run->done[i];
		}
		if (sl_chan_merge_init(&ctl->merge, ch, done, nworkers, ctl->conf.socket) < 0)
			return -ENOMEM;
		ctl->merging = true;
	}
	return 0;
}

/* ---- requests ---- */

/* The registry and the mining-hardware list again (with the pool lists): a bad list keeps
 * the old one. */
static void
reload_oui(struct sl_ctl *ctl)
{
	char err[512] = "";
	struct sl_oui *o;

	if (ctl->devs == NULL)
		return;
	o = sl_oui_load(ctl->cfg->oui_dir, ctl->cfg->mining_hw, err, sizeof(err));
	if (o == NULL) {
		fprintf(stderr, "sluice: mining_hw reload refused, keeping the old list: %s\n", err);
		return;
	}
	sl_devtab_set_oui(ctl->devs, o);
	sl_oui_free(ctl->oui);
	ctl->oui = o;
}

static int
do_reload(struct sl_ctl *ctl, char *msg, size_t len)
{
	char err[512] = "";
	int rc;

	reload_oui(ctl);
	if (ctl->match == NULL) {
		snprintf(msg, len, "detection is off (detect = 0)");
		return -ENOTSUP;
	}
	rc = sl_match_reload(ctl->match, err, sizeof(err));
	if (rc < 0) {
		ctl->st.reload_errors++;
		snprintf(msg, len, "reload refused, keeping generation %u: %s",
			sl_match_db_generation(sl_match_current(ctl->match)), err);
	} else {
		uint32_t nd, nr, ndet, npat;

		ctl->st.reloads++;
		sl_match_db_sizes(sl_match_current(ctl->match), &nd, &nr, &ndet, &npat);
		snprintf(msg, len, "detection tables reloaded: generation %u, %u pool names, "
				   "%u pool ranges, %u detectors, %u patterns",
			sl_match_db_generation(sl_match_current(ctl->match)), nd, nr, ndet, npat);
	}
	fprintf(stderr, "sluice: %s\n", msg);
	return rc;
}

static void
do_reopen(struct sl_ctl *ctl)
{
	int rc;

	if (!ctl->events_close)
		return;
	rc = sl_writer_reopen(ctl->events);
	if (rc < 0) {
		fprintf(stderr, "sluice: reopening --events %s: %s (keeping the old file)\n",
			ctl->conf.events_path, strerror(-rc));
		return;
	}
	ctl->events_failed = false;
	ctl->st.reopens++;
}

/* Signals and the reload mailbox: one load each while nothing is asked; then the retired
 * detection tables, freed once no worker can hold them (a test when there are none). */
static bool
requests(struct sl_ctl *ctl)
{
	unsigned int req = __atomic_load_n(&ctl_req, __ATOMIC_RELAXED);
	uint64_t ticket;
	bool any = false;

	if (req & (SL_CTL_REQ_RELOAD | SL_CTL_REQ_REOPEN)) {
		req = __atomic_fetch_and(&ctl_req, ~(SL_CTL_REQ_RELOAD | SL_CTL_REQ_REOPEN),
			__ATOMIC_RELAXED);
		if (req & SL_CTL_REQ_REOPEN)
			do_reopen(ctl);
		if (req & SL_CTL_REQ_RELOAD) {
			char msg[512];

			do_reload(ctl, msg, sizeof(msg));
		}
		any = true;
	}
	if (ctl->serving && mbox_pending(&tel_reload.mb, &ticket)) {
		tel_reload.rc = do_reload(ctl, tel_reload.msg, sizeof(tel_reload.msg));
		tel_reload.generation =
			ctl->match ? sl_match_db_generation(sl_match_current(ctl->match)) : 0;
		mbox_done(&tel_reload.mb, ticket); /* rc/msg are written before it */
		any = true;
	}
	if (ctl->match != NULL)
		sl_match_reclaim(ctl->match);
	return any;
}

/* ---- intake ---- */

static bool
all_done(const struct sl_ctl *ctl)
{
	for (unsigned int i = 0; i < ctl->nworkers; i++)
		if (!SL_LOAD_ACQUIRE(&ctl->run->done[i]))
			return false;
	return true;
}

/* Take what the rings hold: offline in time order, live each ring up to its size. */
static unsigned int
drain(struct sl_ctl *ctl)
{
	unsigned int n = 0;

	if (ctl->merging) {
		n = sl_chan_merge_drain(&ctl->merge, &ctl->sink, all_done(ctl));
	} else {
		for (unsigned int i = 0; i < ctl->nworkers; i++)
			n += sl_chan_drain_ev(&ctl->workers[i]->chan, &ctl->sink,
				(unsigned int)ctl->cfg->report_ring_size);
	}
	ctl->st.records += n;
	return n;
}

void
sl_ctl_feed(struct sl_ctl *ctl, const struct sl_msg *m, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		sl_chan_deliver(&ctl->sink, &m[i]);
	ctl->st.records += n;
}

int
sl_ctl_poll(void *arg)
{
	struct sl_ctl *ctl = arg;

	drain(ctl);
	requests(ctl);
	return sl_ctl_stopping();
}

/* ---- serving: stats snapshot, metrics ---- */

static uint64_t
total_rx(const struct sl_ctl *ctl)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < ctl->nworkers; i++)
		n += SL_LOAD_RELAXED(&ctl->workers[i]->rx_pkts);
	return n;
}

/* What the workers produced and lost, read from their counters (relaxed: a snapshot). */
static void
worker_totals(struct sl_ctl *ctl)
{
	uint64_t ev = 0, evl = 0, sm = 0, sml = 0, full = 0, hdef = 0;

	for (unsigned int i = 0; i < ctl->nworkers; i++) {
		const struct sl_worker *w = ctl->workers[i];

		ev += SL_LOAD_RELAXED(&w->mx.st.events);
		evl += SL_LOAD_RELAXED(&w->mx.st.events_lost);
		sm += SL_LOAD_RELAXED(&w->samples);
		sml += SL_LOAD_RELAXED(&w->samples_lost);
		full += SL_LOAD_RELAXED(&w->chan.full);
		hdef += SL_LOAD_RELAXED(&sl_whost_stats(w->hosts)->report_ring_full);
	}
	ctl->st.det_produced = ev;
	ctl->st.det_dropped_ring = evl;
	ctl->st.samples_produced = sm + sml;
	ctl->st.samples_dropped_ring = sml;
	ctl->st.ring_full = full;
	ctl->st.host_deltas_deferred = hdef;
	ctl->st.host_deltas = ctl->st.records - ctl->st.det_taken - ctl->st.samples_taken -
			      ctl->st.dev_records;
	if (ctl->dd != NULL) {
		struct ctl_dedup_stats ds;

		ctl_dedup_get_stats(ctl->dd, &ds);
		ctl->st.det_dedup_full = ds.full;
		ctl->st.agg_lines = ds.lines;
	}
}

void
sl_ctl_get_stats(const struct sl_ctl *ctl, struct sl_ctl_stats *out)
{
	worker_totals((struct sl_ctl *)(uintptr_t)ctl);
	*out = ctl->st;
}

static uint64_t
hosts_tracked(struct sl_ctl *ctl)
{
	struct sl_chost_totals ht;

	sl_chost_totals(ctl->hosts, &ht);
	return ht.hosts;
}

static void
metrics_timer(struct sl_ctl *ctl, uint64_t now)
{
	struct sl_report_ctx rc;
	uint64_t t0 = rte_rdtsc(), rx = 0, bytes = 0, active = 0, ev = 0;

	if (ctl->stats == NULL || now < ctl->next_metrics_us)
		return;
	ctl->next_metrics_us = now + ctl->cfg->metrics_interval_ms * 1000;
	for (unsigned int p = 0; p < ctl->nports; p++)
		ctl->ports[p].stats_rc = rte_eth_stats_get(ctl->ports[p].info.port_id,
			&ctl->ports[p].st);
	sl_ctl_report_ctx(ctl, 0, &rc);
	if (ctl->metrics != NULL) {
		double secs = (double)(rte_rdtsc() - t0) / (double)rte_get_tsc_hz();

		sl_metrics_render(&ctl->text, &rc, ctl->http, secs, now);
		if (!ctl->text.oom)
			sl_snapshot_publish(ctl->metrics, ctl->text.p, ctl->text.len);
	}
	for (unsigned int i = 0; i < ctl->nworkers; i++) {
		const struct sl_worker *w = ctl->workers[i];

		rx += SL_LOAD_RELAXED(&w->rx_pkts);
		bytes += SL_LOAD_RELAXED(&w->rx_bytes);
		active += SL_LOAD_RELAXED(&sl_flow_stats(w->flows)->active);
	}
	for (unsigned int d = 0; d < SL_DET_MAX; d++)
		ev += ctl->det_events[d];
	sl_text_reset(&ctl->text);
	sl_text_printf(&ctl->text, "rx_packets %" PRIu64 "\nrx_bytes %" PRIu64
		"\nflows_active %" PRIu64 "\nhosts_tracked %" PRIu64 "\nevents %" PRIu64
		"\nevents_lost %" PRIu64 "\nring_full %" PRIu64 "\nworkers %u"
		"\ntables_generation %u\ncontrol_busy_permille %" PRIu64 "\n", rx, bytes, active,
		hosts_tracked(ctl), ev, ctl->st.det_dropped_ring, ctl->st.ring_full, ctl->nworkers,
		ctl->match ? sl_match_db_generation(sl_match_current(ctl->match)) : 0,
		ctl->st.total_cycles ? ctl->st.busy_cycles * 1000 / ctl->st.total_cycles : 0);
	if (ctl->score != NULL) {
		struct sl_score_stats st;

		sl_score_get_stats(ctl->score, &st);
		sl_text_printf(&ctl->text, "alerts %" PRIu64 "\nhosts_scored %" PRIu64
			"\nhosts_over_alert %" PRIu64 "\nhosts_over_block %" PRIu64 "\n", st.alerts,
			st.hosts, st.over_alert, st.over_block);
	}
	if (!ctl->text.oom)
		sl_snapshot_publish(ctl->stats, ctl->text.p, ctl->text.len);
}

static int
tel_stats_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char *text, *save = NULL, *line;
	size_t len;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	if (tel_stats == NULL || sl_snapshot_copy(tel_stats, &text, &len) < 0) {
		rte_tel_data_add_dict_string(d, "status", "no snapshot yet");
		return 0;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');

		if (sp == NULL)
			continue;
		*sp = '\0';
		rte_tel_data_add_dict_u64(d, line, strtoull(sp + 1, NULL, 10));
	}
	free(text);
	return 0;
}

/* /sluice/reload asks the control core to reload and waits (5 s) for it. */
static int
tel_reload_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	if (mbox_post_wait(&tel_reload.mb, 5000) < 0) {
		rte_tel_data_add_dict_string(d, "status", "pending");
		return 0;
	}
	rte_tel_data_add_dict_string(d, "status", tel_reload.rc == 0 ? "ok" : "refused");
	rte_tel_data_add_dict_int(d, "generation", (int)tel_reload.generation);
	rte_tel_data_add_dict_string(d, "message", tel_reload.msg);
	return 0;
}

int
sl_ctl_serve(struct sl_ctl *ctl, char *err, size_t errlen)
{
	ctl->serving = true;
	/* the commands act on traffic: root only, before any of them is registered */
	if (ops_secure_socket() < 0)
		fprintf(stderr, "sluice: telemetry socket: cannot restrict to mode 0600\n");
	if (ctl->match != NULL && rte_telemetry_register_cmd("/sluice/reload", tel_reload_cb,
		    "Reload pool lists and detector overrides. No parameters.") < 0)
		fprintf(stderr, "sluice: telemetry command /sluice/reload not registered\n");
	/* /sluice/stats always; /metrics unless metrics_port = 0 */
	ctl->stats = sl_snapshot_create();
	if (ctl->stats == NULL) {
		snprintf(err, errlen, "stats snapshot: out of memory");
		return -ENOMEM;
	}
	tel_stats = ctl->stats;
	if (rte_telemetry_register_cmd("/sluice/stats", tel_stats_cb,
		    "sluice totals: packets, bytes, flows, hosts, events, alerts. No parameters.") < 0)
		fprintf(stderr, "sluice: telemetry command /sluice/stats not registered\n");
	if (ctl->cfg->metrics_port != 0) {
		ctl->metrics = sl_snapshot_create();
		if (ctl->metrics == NULL) {
			snprintf(err, errlen, "metrics snapshot: out of memory");
			return -ENOMEM;
		}
		struct sl_http_limits lim = {
			.max_connections = (unsigned int)ctl->cfg->metrics_max_connections,
			.per_ip = (unsigned int)ctl->cfg->metrics_per_ip_connections,
			.request_timeout_s = (unsigned int)ctl->cfg->metrics_request_timeout_s,
		};

		ctl->http = sl_http_start(ctl->metrics, ctl->cfg->metrics_bind,
			(unsigned int)ctl->cfg->metrics_port, &lim, err, errlen);
		if (ctl->http == NULL)
			return -EADDRINUSE;
	}
	hostq_devices(ctl->devs != NULL);
	if (ctl->devs != NULL && devq_register() < 0)
		fprintf(stderr, "sluice: telemetry device commands not registered\n");
	if (hostq_register() < 0)
		fprintf(stderr, "sluice: telemetry host commands not registered\n");
	if (ops_register() < 0)
		fprintf(stderr, "sluice: telemetry block commands not registered\n");
	if (probeq_register((uint32_t)(ctl->cfg->probe_timeout_ms * 12 + ctl->cfg->probe_banner_ms +
		    2000)) < 0)
		fprintf(stderr, "sluice: telemetry probe commands not registered\n");
	return 0;
}

/* ---- the live loop ---- */

static void
stats_timer(struct sl_ctl *ctl, uint64_t now)
{
	if (ctl->cfg->stats_interval_s == 0 || now < ctl->next_stats_us)
		return;
	if (ctl->next_stats_us != 0 && ctl->events != NULL && !ctl->events_failed) {
		struct sl_report_ctx rc;

		sl_ctl_report_ctx(ctl, 0, &rc);
		if (sl_report_stats_event(ctl->events, &rc, now) < 0)
			events_failed(ctl);
	}
	ctl->next_stats_us = now + ctl->cfg->stats_interval_s * 1000000;
}

void
sl_ctl_run(struct sl_ctl *ctl)
{
	uint64_t last_rx = 0, last_change = wall_us(), tsc = rte_rdtsc();
	struct hostq_src hq = {.hosts = ctl->hosts, .score = ctl->score, .devs = ctl->devs};

	while (!sl_ctl_stopping()) {
		uint64_t wall = wall_us(), now = wall, rx, t;
		unsigned int n;
		bool work;

		/* probe results first: the cache knows a probe's peer before its flow's records */
		if (ctl->probe != NULL)
			n = sl_probe_poll(ctl->probe, sl_ctl_now(ctl), probe_done, ctl);
		else
			n = 0;
		n += drain(ctl);
		if (ctl->clock == SL_CTL_CLOCK_PORT) /* time is the packets': it moves with them */
			now = ctl->rec_now_us;
		else
			on_clock(ctl, now); /* decay goes on when no records come */
		work = requests(ctl) || n != 0;
		if (ctl->evid != NULL) { /* marks out, a bounded number of records in per worker */
			sl_evid_tick(ctl->evid);
			work |= sl_evid_drain(ctl->evid, 256) != 0;
		}
		hostq_poll(&hq);
		devq_poll(ctl->devs);
		if (ctl->devs != NULL && ctl->cfg->device_save_s != 0 && wall >= ctl->next_dev_save_us) {
			if (ctl->next_dev_save_us != 0)
				save_devices(ctl);
			ctl->next_dev_save_us = wall + ctl->cfg->device_save_s * 1000000;
		}
		block_timer(ctl, now);
		ops_poll(ctl->block, now);
		probeq_poll(ctl->probe, sl_ctl_now(ctl), probe_operator, ctl);
		metrics_timer(ctl, now); /* reads the workers' counters when a snapshot is due */
		stats_timer(ctl, now);
		if (ctl->events != NULL) /* what this pass wrote leaves now (nothing: no cost) */
			sl_writer_flush(ctl->events);
		if (now - ctl->last_age_us > CTL_AGE_US) {
			sl_chost_age(ctl->hosts, now, CTL_AGE_BATCH);
			ctl->last_age_us = now;
		}
		rx = total_rx(ctl);
		if (rx != last_rx) {
			last_rx = rx;
			last_change = wall;
		} else if (ctl->cfg->exit_idle_ms &&
			   wall - last_change > ctl->cfg->exit_idle_ms * 1000) {
			break;
		}
		ctl->st.passes++;
		t = rte_rdtsc();
		if (work) {
			ctl->st.busy_cycles += t - tsc;
		} else {
			ctl->st.idle_passes++;
			rte_delay_us_sleep(CTL_IDLE_SLEEP_US);
		}
		ctl->st.total_cycles += rte_rdtsc() - tsc;
		tsc = rte_rdtsc();
	}
}

/* Evidence at the end: live, what the rings still hold (the workers' final flush put the
 * marked flows' streams there); offline, the files are written now from the capture. */
static void
evidence_finish(struct sl_ctl *ctl)
{
	if (ctl->conf.live) {
		sl_evid_drain(ctl->evid, UINT32_MAX);
	} else if (ctl->input != NULL) {
		unsigned int n = sl_input_nfiles(ctl->input);
		const char **files = calloc(n + 1, sizeof(*files));
		int *lt = calloc(n + 1, sizeof(*lt));
		char err[512];

		if (files == NULL || lt == NULL) {
			fprintf(stderr, "sluice: evidence: out of memory\n");
		} else {
			for (unsigned int i = 0; i < n; i++) {
				files[i] = sl_input_file(ctl->input, i);
				lt[i] = sl_input_file_linktype(ctl->input, i);
			}
			if (sl_evid_offline(ctl->evid, files, lt, n, err, sizeof(err)) < 0)
				fprintf(stderr, "sluice: evidence: %s\n", err);
		}
		free(files);
		free(lt);
	}
	if (sl_evid_last_error(ctl->evid)[0] != '\0')
		fprintf(stderr, "sluice: %s (counted: evidence_errors)\n", sl_evid_last_error(ctl->evid));
}

void
sl_ctl_finish(struct sl_ctl *ctl, uint64_t end_us)
{
	/* workers' final reports wait for ring space: keep draining until they finish */
	while (!all_done(ctl)) {
		if (drain(ctl) == 0)
			rte_pause();
	}
	drain(ctl); /* what was enqueued before the last done flag */
	if (end_us == 0)
		end_us = ctl->clock == SL_CTL_CLOCK_PACKET ?
				 (ctl->input ? sl_input_stats(ctl->input)->last_us : ctl->rec_now_us) :
			 ctl->clock == SL_CTL_CLOCK_PORT ? ctl->rec_now_us : wall_us();
	if (ctl->score != NULL) { /* scores as they stand at the last packet (offline) or now */
		on_clock(ctl, end_us);
		sl_score_tick(ctl->score, end_us);
	}
	if (ctl->dd != NULL)
		ctl_dedup_flush(ctl->dd);
	save_devices(ctl);
	if (ctl->evid != NULL)
		evidence_finish(ctl);
	if (ctl->events != NULL && !ctl->events_failed && (ctl->score != NULL || ctl->conf.live)) {
		struct sl_report_ctx rc;

		sl_ctl_report_ctx(ctl, 0, &rc);
		if (sl_report_stats_event(ctl->events, &rc, end_us) < 0)
			events_failed(ctl);
	}
	if (ctl->events != NULL) { /* the summary counts what the event log and syslog took */
		if (ctl->cfg->syslog[0] != '\0')
			sl_writer_sync(ctl->events, 2000);
		else
			sl_writer_flush(ctl->events);
	}
}

void
sl_ctl_report_ctx(struct sl_ctl *ctl, double elapsed_s, struct sl_report_ctx *out)
{
	worker_totals(ctl);
	if (ctl->evid != NULL) {
		struct sl_evid_stats es;

		sl_evid_get_stats(ctl->evid, &es);
#define SL_CTL_EVCOPY(name, timing, help) ctl->st.name = es.name;
		SL_EVID_COUNTERS(SL_CTL_EVCOPY)
#undef SL_CTL_EVCOPY
	}
	if (ctl->events != NULL) {
		struct sl_writer_stats ws;

		sl_writer_get_stats(ctl->events, &ws);
		ctl->st.syslog_sent = ws.syslog_sent;
		ctl->st.syslog_dropped = ws.syslog_dropped;
		ctl->st.syslog_errors = ws.syslog_errors;
	}
	*out = (struct sl_report_ctx){
		.offline = !ctl->conf.live,
		.cfg = ctl->cfg,
		.input = ctl->input,
		.nports = ctl->nports,
		.ports = ctl->ports,
		.nworkers = ctl->nworkers,
		.workers = ctl->workers,
		.hosts = ctl->hosts,
		.msgs_received = ctl->st.records,
		.elapsed_s = elapsed_s,
		.db = ctl->match ? sl_match_current(ctl->match) : NULL,
		.det_events = ctl->det_events,
		.reloads = ctl->st.reloads,
		.reload_errors = ctl->st.reload_errors,
		.score = ctl->score,
		.block = ctl->block,
		.score_now_us = ctl->score != NULL ? sl_score_now(ctl->score) : 0,
		.ctl = &ctl->st,
		.probe = ctl->probe,
		.devs = ctl->devs,
	};
}

int
sl_ctl_free(struct sl_ctl *ctl)
{
	int rc = 0;

	if (ctl == NULL)
		return 0;
	/* rules out of the NIC (reported) before the ports go; workers have stopped */
	sl_block_free(ctl->block, sl_ctl_now(ctl));
	ctl->block = NULL;
	if (ctl->bgp != NULL) { /* the withdrawals the rules queued are made (or counted) */
		struct sl_bgp_stats bs;

		memset(&bs, 0, sizeof(bs));
		sl_bgp_free(ctl->bgp, &bs);
		if (bs.lost_at_exit > 0)
			fprintf(stderr, "sluice: bgp: %" PRIu64 " route%s not withdrawn at exit "
					"(speaker %s)\n", bs.lost_at_exit, bs.lost_at_exit == 1 ? "" : "s",
				sl_bgp_speaker_name(bs.speaker));
		ctl->bgp = NULL;
	}
	sl_probe_free(ctl->probe); /* the thread stops; probes in flight are abandoned */
	ctl->probe = NULL;
	sl_evid_free(ctl->evid); /* workers have stopped */
	ctl->evid = NULL;
	sl_http_stop(ctl->http); /* before the snapshot it serves */
	ctl->http = NULL;
	sl_text_free(&ctl->text);
	sl_match_free(ctl->match); /* workers have stopped (or never started) */
	sl_score_free(ctl->score);
	sl_chost_free(ctl->hosts);
	if (ctl->merging)
		sl_chan_merge_fini(&ctl->merge);
	ctl_dedup_free(ctl->dd);
	if (ctl->events != NULL) /* the writer thread formats no more lines */
		sl_writer_set_device(ctl->events, NULL, NULL);
	if (ctl->events != NULL && sl_writer_close(ctl->events) < 0) { /* flushes, joins, closes */
		if (!ctl->events_failed)
			fprintf(stderr, "sluice: writing events: %s\n", strerror(errno));
		ctl->events_failed = true;
	}
	ctl->events = NULL;
	if (ctl->events_failed)
		rc = -EIO;
	/* the telemetry snapshots stay until the process ends: a telemetry thread may hold them */
	sl_snapshot_free(ctl->metrics);
	sl_devtab_free(ctl->devs);
	sl_oui_free(ctl->oui);
	free(ctl);
	return rc;
}
