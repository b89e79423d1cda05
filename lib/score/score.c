/* score.c: host scores from signals, behavioural judgement of flow samples (see sl_score.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "sl_common.h"
#include "sl_score.h"

#define LEVEL_HYSTERESIS 10.0f /**< a level is left only this many points below its threshold */

SL_DEFINE_COUNTER_NAMES(SL_SCORE_COUNTERS, sl_score_num_counters, sl_score_counter_name)
#define SL_KIND_NAME_(name, sid, help) #name,
#define SL_KIND_HELP_(name, sid, help) help,
#define SL_KIND_SID_(name, sid, help) sid,
static const char *const kind_names[] = {SL_SIGNAL_KINDS(SL_KIND_NAME_)};
static const char *const kind_help[] = {SL_SIGNAL_KINDS(SL_KIND_HELP_)};
static const uint32_t kind_sid[] = {SL_SIGNAL_KINDS(SL_KIND_SID_)};
static const char *const gate_names[] = {SL_BEH_GATES(SL_X_NAME_)};
#undef SL_KIND_NAME_
#undef SL_KIND_HELP_
#undef SL_KIND_SID_

#define SL_X_FNAME_(name, pts, help) #name,
#define SL_X_FPTS_(name, pts, help) pts,
static const char *const feature_names[] = {SL_BEH_FEATURES(SL_X_FNAME_)};
static const unsigned int feature_points[] = {SL_BEH_FEATURES(SL_X_FPTS_)};
#undef SL_X_FNAME_
#undef SL_X_FPTS_

/* Entry @p i of a name table, NULL past its end. */
#define TABLE_AT(tab, i) ((i) < SL_ARRAY_SIZE(tab) ? (tab)[i] : NULL)

const char *sl_signal_kind_name(unsigned int k) { return TABLE_AT(kind_names, k); }
const char *sl_signal_kind_help(unsigned int k) { return TABLE_AT(kind_help, k); }
uint32_t sl_signal_kind_sid(unsigned int k) { return k < SL_ARRAY_SIZE(kind_sid) ? kind_sid[k] : 0; }

uint32_t
sl_signal_sid(const struct sl_signal *g)
{
	if (g->kind == SL_SIG_behaviour || g->kind == SL_SIG_baseline ||
	    g->kind == SL_SIG_pool_confirmed || sl_signal_is_device(g->kind))
		return sl_signal_kind_sid(g->kind);
	return sl_det_sid(g->detector);
}
const char *sl_beh_gate_name(unsigned int g) { return TABLE_AT(gate_names, g); }
const char *sl_beh_feature_name(unsigned int f) { return TABLE_AT(feature_names, f); }

enum sl_signal_kind
sl_signal_kind_of(unsigned int det)
{
	switch (det) {
	case SL_DET_dns_pool_name:
	case SL_DET_tls_sni_pool:
	case SL_DET_http_host_pool:
		return SL_SIG_pool_name;
	case SL_DET_pool_ip:
		return SL_SIG_pool_ip;
	case SL_DET_sv2_noise:
		return SL_SIG_fingerprint;
	default:
		return SL_SIG_dpi;
	}
}

/* ---------------------------------------------------------------- behaviour of one flow */

static bool
port_in(const uint16_t *list, uint32_t n, uint16_t port)
{
	for (uint32_t i = 0; i < n; i++)
		if (list[i] == port)
			return true;
	return false;
}

unsigned int
sl_score_behaviour(const struct sl_score_params *p, const struct sl_flow_sample *s,
	struct sl_beh *b)
{
	uint64_t pkts = (uint64_t)s->pkts[0] + s->pkts[1];
	uint64_t bytes = (uint64_t)s->bytes[0] + s->bytes[1];
	unsigned int pts = 0;
	/* score_beh_known = 0: the protocol is named but judged like any opaque flow */
	bool known = s->known != 0 && p->beh_known;

	memset(b, 0, sizeof(*b));
	b->age_s = (float)s->age_ms / 1000.0f;
	b->bytes_per_pkt = pkts ? (float)bytes / (float)pkts : 0;
	b->pkts_per_min = b->age_s > 0 ? (float)pkts * 60.0f / b->age_s : 0;
	b->bytes_per_s = b->age_s > 0 ? (float)bytes / b->age_s : 0;
	b->up_share = bytes ? (float)s->bytes[0] / (float)bytes : 0;
	b->client_gap_s = s->msgs[0] > 1 ? b->age_s / (float)s->msgs[0] : 0;
	b->gap_cv = s->gap_cv;
	b->csz_mean = s->csz_mean;
	b->csz_cv = s->csz_cv;
	b->usz_mean = s->usz_mean;
	b->cells = s->cells;
	b->known = s->known;
	b->msgs[0] = s->msgs[0];
	b->msgs[1] = s->msgs[1];
	b->pushes = s->unsol;
	b->cn = s->cn;
	b->crep = s->crep;
	b->cmiss = s->cmiss;
	b->un = s->un;
	b->urep = s->urep;
	b->umiss = s->umiss;
	b->answered = s->answered;
	if (s->flags & SL_SAMPLE_F_NO_SNI)
		b->transport = SL_TRANSPORT_TLS_NO_SNI;
	else if (s->flags & SL_SAMPLE_F_TLS)
		b->transport = SL_TRANSPORT_TLS_SNI;
	else if ((s->flags & SL_SAMPLE_F_PLAIN) || known)
		b->transport = SL_TRANSPORT_KNOWN;
	else
		b->transport = SL_TRANSPORT_OPAQUE;

	/* gates: only long, sparse, two-way, opaque flows are judged; first the shape, then
	 * what the flow is (a cleartext or known protocol, a service port) */
	if (s->proto != 6)
		b->gate = SL_GATE_not_tcp;
	else if (s->flags & SL_SAMPLE_F_BULK)
		b->gate = SL_GATE_bulk;
	else if ((uint64_t)s->age_ms * 1000 < p->beh_min_age_us)
		b->gate = SL_GATE_young;
	else if (s->msgs[0] < p->beh_min_msgs || s->msgs[1] < p->beh_min_msgs)
		b->gate = SL_GATE_few_messages;
	else if (b->bytes_per_pkt > (float)p->beh_max_bpp || b->bytes_per_s > (float)p->beh_max_rate)
		b->gate = SL_GATE_dense;
	else if (s->flags & SL_SAMPLE_F_PLAIN)
		b->gate = SL_GATE_cleartext;
	else if (known)
		b->gate = SL_GATE_known;
	else if (port_in(p->service_ports, p->nservice_ports, s->dport))
		b->gate = SL_GATE_service_port;
	else
		b->gate = SL_GATE_passed;
	if (b->gate != SL_GATE_passed)
		return 0;

	/* features: what a pool session looks like from outside the encryption. A pool answers
	 * every share within a round trip (the result); requests left unanswered are a
	 * heartbeat on the client's own timer. Two independent timers (an HMI and its server,
	 * each sending a fixed-size message every ~25 s) otherwise look like shares and jobs. */
	bool unanswered = s->cn >= 2 && 2u * s->answered < s->cn;

	/* a pool pushes a job every few shares at most; a feed or a chat room pushes many
	 * messages for each one of the client's own */
	if (s->unsol >= 1 && s->unsol <= 3u * SL_MAX(1u, (unsigned int)s->cn)) {
		unsigned int r = s->unsol >= 2 ? feature_points[SL_BEH_server_pushes]
					       : feature_points[SL_BEH_server_pushes] * 4 / 5;

		b->matched |= 1u << SL_BEH_server_pushes;
		pts += unanswered ? r / 2 : r;
	}
	/* repeats: each measured message the same size as the one before; once the session
	 * settled (first repeat), at most a quarter of the changes may break the pattern */
	if (s->crep >= 1 && 4u * s->crep >= 3u * ((unsigned int)s->crep + s->cmiss) &&
	    !unanswered) {
		b->matched |= 1u << SL_BEH_steady_requests;
		unsigned int r = s->crep >= 5 ? feature_points[SL_BEH_steady_requests] :
				 s->crep >= 3 ? feature_points[SL_BEH_steady_requests] * 6 / 7 :
						12u * s->crep;

		/* a timer (keepalives, pings, sensor readings) is regular; share finds are not */
		if (s->cn >= 5 && s->gap_cv < 0.25f)
			r /= 2;
		pts += r;
	}
	if (s->urep >= 1 && 4u * s->urep >= 3u * ((unsigned int)s->urep + s->umiss)) {
		b->matched |= 1u << SL_BEH_steady_pushes;
		pts += s->urep >= 2 ? feature_points[SL_BEH_steady_pushes]
				    : feature_points[SL_BEH_steady_pushes] / 2;
	}
	/* cadence: a mean gap in the band, and gaps that vary like random share finds (with
	 * fewer than three gaps measured the variation is unknown: half the points) */
	if (b->client_gap_s * 1000.0f >= (float)p->beh_gap_min_ms &&
	    b->client_gap_s * 1000.0f <= (float)p->beh_gap_max_ms) {
		if (s->msgs[0] < SL_BEH_SKIP + 4) {
			b->matched |= 1u << SL_BEH_cadence;
			pts += feature_points[SL_BEH_cadence] / 2;
		} else if (s->gap_cv >= 0.5f) {
			b->matched |= 1u << SL_BEH_cadence;
			pts += feature_points[SL_BEH_cadence];
		}
	}
	if (b->transport == SL_TRANSPORT_TLS_NO_SNI) {
		b->matched |= 1u << SL_BEH_opaque;
		pts += feature_points[SL_BEH_opaque];
	} else if (b->transport == SL_TRANSPORT_OPAQUE) {
		b->matched |= 1u << SL_BEH_opaque;
		pts += feature_points[SL_BEH_opaque] * 3 / 4;
	}
	if (s->cn > 0 && s->csz_mean <= 600.0f && (s->un == 0 || s->usz_mean <= 1500.0f)) {
		b->matched |= 1u << SL_BEH_small_messages;
		pts += feature_points[SL_BEH_small_messages];
	}
	if (b->up_share >= 0.15f && b->up_share <= 0.8f) {
		b->matched |= 1u << SL_BEH_balanced;
		pts += feature_points[SL_BEH_balanced];
	}
	if (port_in(p->pool_ports, p->npool_ports, s->dport)) {
		b->matched |= 1u << SL_BEH_pool_port;
		pts += feature_points[SL_BEH_pool_port];
	}
	b->points = (uint8_t)SL_MIN(pts, 100u);
	return b->points;
}

/* ---------------------------------------------------------------- host table */

struct shost {
	uint8_t addr[16];
	uint8_t level;
	uint8_t nsig;
	uint8_t released;     /* released from a block: only fresh evidence raises it again */
	uint8_t pad;
	float peak;
	uint32_t active_pos;  /* index in s->active */
	uint32_t alerts;
	uint64_t first_us;
	uint64_t alert_us;
	uint64_t quiet_us;    /* before this, a decay pass surely finds nothing to do (below) */
	uint64_t known;       /* protocols of its flows the known-protocol table recognised */
	struct sl_signal sig[SL_SCORE_SIGNALS];
};

struct sl_score {
	struct sl_score_params p;
	uint64_t next_tick_us;   /* grid time of the next decay pass (0 = clock not started) */
	uint64_t next_bucket_us; /* grid time of the next baseline bucket edge */
	uint64_t last_rec_us;    /* time of the last record sl_score_advance saw (jumps) */
	struct rte_hash *h;
	struct shost *hosts;
	uint32_t *active;     /* slots with signals */
	uint32_t nactive;
	uint64_t now_us;
	sl_score_note_fn fn;
	void *arg;
	struct sl_score_stats st;
	struct sl_score_view view; /* scratch for notes */
};

uint64_t
sl_score_memsize(uint32_t capacity)
{
	return (uint64_t)capacity * (96 + (sl_tmem_lazy() ? 0 : sizeof(struct shost) +
		sizeof(uint32_t))) + 65536;
}

struct sl_score *
sl_score_create(const struct sl_score_params *p, int socket, sl_score_note_fn fn, void *arg)
{
	static unsigned int instances;
	struct rte_hash_parameters hp = {0};
	struct sl_score *s;
	char hname[RTE_HASH_NAMESIZE];

	if (p->capacity == 0 || p->half_life_us == 0 || p->alert == 0 || p->block < p->alert) {
		rte_errno = EINVAL;
		return NULL;
	}
	s = rte_zmalloc_socket("sl_score", sizeof(*s), RTE_CACHE_LINE_SIZE, socket);
	if (s == NULL)
		goto err_nomem;
	s->p = *p;
	s->fn = fn;
	s->arg = arg;
	snprintf(hname, sizeof(hname), "sl_score%u", __atomic_fetch_add(&instances, 1,
		__ATOMIC_RELAXED));
	hp.name = hname;
	hp.entries = p->capacity;
	hp.key_len = 16;
	hp.hash_func = rte_hash_crc;
	hp.socket_id = socket;
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	s->h = rte_hash_create(&hp);
	if (s->h == NULL)
		goto err_free;
	s->hosts = sl_tmem_zalloc("sl_score_hosts", (size_t)p->capacity * sizeof(struct shost), socket);
	s->active = sl_tmem_zalloc("sl_score_active", (size_t)p->capacity * sizeof(uint32_t), socket);
	if (s->hosts == NULL || s->active == NULL)
		goto err_free;
	return s;

err_free:
	sl_score_free(s);
err_nomem:
	rte_errno = ENOMEM;
	return NULL;
}

void
sl_score_free(struct sl_score *s)
{
	if (s == NULL)
		return;
	rte_hash_free(s->h);
	sl_tmem_free(s->hosts);
	sl_tmem_free(s->active);
	rte_free(s);
}

static struct shost *
host_get(struct sl_score *s, const uint8_t addr[16], uint64_t now, bool create)
{
	int32_t pos = rte_hash_lookup(s->h, addr);
	struct shost *h;

	if (pos >= 0)
		return &s->hosts[pos];
	if (!create)
		return NULL;
	pos = rte_hash_add_key(s->h, addr);
	if (pos < 0) {
		s->st.table_full++;
		return NULL;
	}
	h = &s->hosts[pos];
	memset(h, 0, sizeof(*h));
	memcpy(h->addr, addr, 16);
	h->first_us = now;
	h->active_pos = s->nactive;
	s->active[s->nactive++] = (uint32_t)pos;
	return h;
}

static void
host_forget(struct sl_score *s, struct shost *h)
{
	uint32_t pos = (uint32_t)(h - s->hosts);
	uint32_t last = s->active[--s->nactive];

	s->active[h->active_pos] = last;
	s->hosts[last].active_pos = h->active_pos;
	rte_hash_del_key(s->h, h->addr);
	(void)pos;
	s->st.hosts_expired++;
}

/* A signal's points at @p now: full for the hold time after it was last seen (a live flow's
 * samples keep refreshing it), then halving every half-life. Whether the flow has ended does
 * not change the value, so it does not matter when the end is heard of. */
static float
sig_value(const struct sl_score *s, const struct sl_signal *g, uint64_t now)
{
	uint64_t t0 = g->last_us + s->p.hold_us;

	if (now <= t0)
		return g->points;
	return g->points * (float)exp2(-(double)(now - t0) / (double)s->p.half_life_us);
}

/* A time before which some signal of @p h is surely still worth at least half a point (what
 * keeps a host), computed from the decay law with a margin below the exact crossing, so a
 * decay pass can leave a quiet host (level none: decay cannot raise it) untouched until
 * then and check exactly from then on. */
static uint64_t
keep_until(const struct sl_score *s, const struct shost *h)
{
	uint64_t until = 0;

	for (unsigned int i = 0; i < h->nsig; i++) {
		const struct sl_signal *g = &h->sig[i];
		uint64_t t0 = g->last_us + s->p.hold_us, t;
		double d;

		if (!(g->points >= 1.0f)) /* worth less than a point: checked every pass */
			continue;
		d = (double)s->p.half_life_us * log2(2.0 * (double)g->points) * 0.999;
		t = d >= (double)(UINT64_MAX - t0) ? UINT64_MAX : t0 + (uint64_t)d;
		t = t > t0 + 1000 ? t - 1000 : t0;
		if (t > until)
			until = t;
	}
	return until;
}

static float
host_score(const struct sl_score *s, const struct shost *h, uint64_t now, float *each)
{
	float best[SL_SIG_MAX] = {0};
	float total = 0;

	for (unsigned int i = 0; i < h->nsig; i++) {
		float v = sig_value(s, &h->sig[i], now);

		if (each != NULL)
			each[i] = v;
		if (v > best[h->sig[i].kind])
			best[h->sig[i].kind] = v;
	}
	for (unsigned int k = 0; k < SL_SIG_MAX; k++)
		total += best[k];
	return total > 100.0f ? 100.0f : total;
}

static void
fill_view(const struct sl_score *s, const struct shost *h, uint64_t now, struct sl_score_view *v)
{
	memcpy(v->addr, h->addr, 16);
	v->score = host_score(s, h, now, v->now_points);
	v->peak = h->peak > v->score ? h->peak : v->score;
	v->level = h->level;
	v->nsig = h->nsig;
	v->first_us = h->first_us;
	v->alert_us = h->alert_us;
	v->alerts = h->alerts;
	v->known = h->known;
	memcpy(v->sig, h->sig, sizeof(h->sig[0]) * h->nsig);
}

/* Re-evaluate @p h at @p now; report level changes. */
/* Re-evaluate @p h at @p now, reporting a level change; @return its score then. */
static float
evaluate_(struct sl_score *s, struct shost *h, uint64_t now, uint64_t flow_id, bool fresh)
{
	float sc = host_score(s, h, now, NULL);
	uint8_t lvl = h->level;
	struct sl_score_note n;

	if (h->released) { /* caught and released: decay alone never raises it again */
		if (!fresh)
			return sc;
		h->released = 0;
	}
	if (sc > h->peak)
		h->peak = sc;
	if (sc >= (float)s->p.block)
		lvl = SL_LEVEL_BLOCK;
	else if (sc >= (float)s->p.alert)
		lvl = lvl > SL_LEVEL_ALERT && sc >= (float)s->p.block - LEVEL_HYSTERESIS ? lvl
										     : SL_LEVEL_ALERT;
	else if (lvl == SL_LEVEL_NONE || sc < (float)s->p.alert - LEVEL_HYSTERESIS)
		lvl = SL_LEVEL_NONE;
	else
		lvl = SL_LEVEL_ALERT; /* inside the hysteresis band below the alert threshold */
	if (lvl == h->level)
		return sc;
	n.ts_us = now;
	n.old_level = h->level;
	n.new_level = lvl;
	n.flow_id = flow_id;
	n.v = &s->view;
	h->level = lvl;
	s->st.level_changes++;
	if (n.old_level == SL_LEVEL_NONE) {
		h->alerts++;
		h->alert_us = now;
		s->st.alerts++;
	}
	fill_view(s, h, now, &s->view);
	if (s->fn == NULL)
		return sc;
	if (n.old_level == SL_LEVEL_NONE) {
		n.type = SL_NOTE_ALERT;
		s->fn(s->arg, &n);
	}
	n.type = SL_NOTE_LEVEL;
	s->fn(s->arg, &n);
	return sc;
}

/*
 * Until when a decay pass can leave @p h alone (@p sc: its score at @p now). Decay only
 * lowers scores, and never faster than a factor 2^(-dt/half_life) (signals inside their hold
 * do not move at all), so: a host at level none can only be forgotten, not before its
 * strongest signal can be worth less than half a point (keep_until); a host at a level keeps
 * it while its score stays above the level's exit (threshold - hysteresis), at least until
 * sc * 2^(-dt/half_life) reaches that exit. Both with a margin below the exact time: from
 * then on the passes check exactly, so results are those of checking every pass.
 */
static uint64_t
quiet_until(const struct sl_score *s, const struct shost *h, float sc, uint64_t now)
{
	float exit;
	double d;

	if (h->level == SL_LEVEL_NONE)
		return keep_until(s, h);
	exit = (h->level >= SL_LEVEL_BLOCK ? (float)s->p.block : (float)s->p.alert) -
	       LEVEL_HYSTERESIS;
	if (exit <= 0.0f)
		return UINT64_MAX; /* decay can never take it below: no pass needs to look */
	if (!(sc > exit))
		return 0;
	d = (double)s->p.half_life_us * log2((double)sc / (double)exit) * 0.999;
	if (d >= (double)(UINT64_MAX - now))
		return UINT64_MAX;
	return now + (uint64_t)d > now + 1000 ? now + (uint64_t)d - 1000 : now;
}

static void
evaluate(struct sl_score *s, struct shost *h, uint64_t now, uint64_t flow_id, bool fresh)
{
	float sc = evaluate_(s, h, now, flow_id, fresh);

	h->quiet_us = quiet_until(s, h, sc, now);
}

static inline bool
keyed_by_detector(unsigned int kind)
{
	return kind != SL_SIG_behaviour && kind != SL_SIG_baseline && !sl_signal_is_device(kind);
}

/*
 * Add or refresh a signal. One slot per (kind, detector) (per kind for behaviour and
 * baseline): the same flow refreshes it, another flow takes it over when at least as strong
 * as what is left of the old one. With every slot taken, the weakest one now is replaced.
 */
static void
put_signal(struct sl_score *s, struct shost *h, const struct sl_signal *g, uint64_t now)
{
	struct sl_signal *slot = NULL;

	for (unsigned int i = 0; i < h->nsig; i++) {
		struct sl_signal *x = &h->sig[i];

		if (x->kind == g->kind && (!keyed_by_detector(g->kind) || x->detector == g->detector)) {
			slot = x;
			break;
		}
	}
	if (slot != NULL) {
		uint32_t count = slot->count + 1;
		uint64_t first = slot->first_us;

		if (slot->flow_id == g->flow_id || g->points >= sig_value(s, slot, now)) {
			if (slot->flow_id != g->flow_id)
				first = g->first_us;
			*slot = *g;
			slot->first_us = first;
		}
		slot->count = count;
		return;
	}
	if (h->nsig < SL_SCORE_SIGNALS) {
		slot = &h->sig[h->nsig++];
	} else {
		unsigned int weakest = 0;
		float wv = sig_value(s, &h->sig[0], now);

		for (unsigned int i = 1; i < h->nsig; i++) {
			float v = sig_value(s, &h->sig[i], now);

			if (v < wv) {
				wv = v;
				weakest = i;
			}
		}
		if (wv > g->points)
			return;
		slot = &h->sig[weakest];
		s->st.signals_replaced++;
	}
	*slot = *g;
	slot->count = 1;
}

static void
add_signal(struct sl_score *s, struct shost *h, const struct sl_signal *g, uint64_t now)
{
	put_signal(s, h, g, now);
	h->quiet_us = 0; /* the evaluation that follows sets it */
}

static inline void
clock_to(struct sl_score *s, uint64_t ts)
{
	if (ts > s->now_us)
		s->now_us = ts;
}

/* A signal about one flow (a detection or its behaviour), seen at @p ts. */
static void
flow_signal(struct sl_signal *g, unsigned int kind, float points, uint64_t ts, uint64_t flow_id,
	const uint8_t *peer, uint16_t sport, uint16_t dport, uint8_t proto, uint8_t host)
{
	memset(g, 0, sizeof(*g));
	g->kind = (uint8_t)kind;
	g->live = 1;
	g->proto = proto;
	g->points = points;
	g->first_us = g->last_us = ts;
	g->flow_id = flow_id;
	memcpy(g->peer, peer, 16);
	g->sport = sport;
	g->dport = dport;
	g->host_dst = host == SL_EV_HOST_DST;
}

void
sl_score_detection(struct sl_score *s, const struct sl_event *ev, unsigned int weight)
{
	const uint8_t *host = ev->host == SL_EV_HOST_DST ? ev->dst : ev->src;
	const uint8_t *peer = ev->host == SL_EV_HOST_DST ? ev->src : ev->dst;
	struct sl_signal g;
	struct shost *h;
	unsigned int kind = sl_signal_kind_of(ev->detector);

	s->st.detections++;
	clock_to(s, ev->ts_us);
	h = host_get(s, host, ev->ts_us, true);
	if (h == NULL)
		return;
	flow_signal(&g, kind, (float)s->p.weight[kind] * (float)SL_MIN(weight, 100u) / 100.0f,
		ev->ts_us, ev->flow_id, peer, ev->sport, ev->dport, ev->proto, ev->host);
	g.detector = ev->detector;
	g.u.det.offset = ev->offset;
	g.u.det.dir = ev->dir;
	g.u.det.len = SL_MIN(ev->excerpt_len, (uint8_t)SL_EVIDENCE_MAX);
	memcpy(g.u.det.excerpt, ev->excerpt, g.u.det.len);
	add_signal(s, h, &g, ev->ts_us);
	evaluate(s, h, ev->ts_us, ev->flow_id, true); /* at the record's own time */
}

unsigned int
sl_score_sample(struct sl_score *s, const struct sl_flow_sample *fs, bool judge)
{
	const uint8_t *host = fs->host == SL_EV_HOST_DST ? fs->dst : fs->src;
	const uint8_t *peer = fs->host == SL_EV_HOST_DST ? fs->src : fs->dst;
	struct sl_beh b;
	unsigned int pts;
	struct shost *h;
	bool touched = false;

	s->st.samples++;
	clock_to(s, fs->ts_us);
	if (fs->final) { /* the flow ended: its signals stop being refreshed and decay */
		h = host_get(s, host, fs->ts_us, false);
		for (unsigned int i = 0; h != NULL && i < h->nsig; i++)
			if (h->sig[i].flow_id == fs->flow_id && h->sig[i].kind != SL_SIG_baseline)
				h->sig[i].live = 0;
		return 0;
	}
	pts = sl_score_behaviour(&s->p, fs, &b);
	if (!judge) { /* refuted by a probe: the flow's behaviour does not count */
		pts = 0;
		b.gate = SL_GATE_cleartext;
	}
	if (b.gate == SL_GATE_passed)
		s->st.samples_judged++;
	else if (b.gate == SL_GATE_known)
		s->st.samples_known++;
	if (s->p.log_judged && s->fn != NULL && (b.gate == SL_GATE_passed || b.gate >= SL_GATE_cleartext)) {
		struct sl_score_note n;

		memset(&n, 0, sizeof(n));
		n.type = SL_NOTE_JUDGED;
		n.ts_us = fs->ts_us;
		n.flow_id = fs->flow_id;
		n.fs = fs;
		n.beh = &b;
		s->fn(s->arg, &n);
	}
	h = host_get(s, host, fs->ts_us, pts >= s->p.beh_min_points && pts > 0);
	if (h == NULL)
		return pts;
	if (fs->known != 0 && fs->known < 64)
		h->known |= 1ull << fs->known; /* explanations say what was not judged */
	/* the flow's own signals: still there (refresh) or no longer mining-like (decay) */
	for (unsigned int i = 0; i < h->nsig; i++) {
		struct sl_signal *g = &h->sig[i];

		if (g->flow_id != fs->flow_id || g->kind == SL_SIG_baseline)
			continue;
		if (g->kind == SL_SIG_behaviour && pts < s->p.beh_min_points)
			continue; /* not refreshed: it decays after the hold */
		if (fs->ts_us > g->last_us)
			g->last_us = fs->ts_us;
		touched = true;
	}
	if (pts >= s->p.beh_min_points && pts > 0) {
		struct sl_signal g;

		flow_signal(&g, SL_SIG_behaviour,
			(float)s->p.weight[SL_SIG_behaviour] * (float)pts / 100.0f, fs->ts_us,
			fs->flow_id, peer, fs->sport, fs->dport, fs->proto, fs->host);
		g.u.beh = b;
		add_signal(s, h, &g, fs->ts_us);
		s->st.behaviour_signals++;
		touched = true;
	}
	if (touched)
		evaluate(s, h, fs->ts_us, fs->flow_id, true);
	return pts;
}

/* Does @p g name (@p peer, @p port) as the far end of its flow? */
static bool
names_peer(const struct sl_signal *g, const uint8_t peer[16], uint16_t port)
{
	return g->kind != SL_SIG_baseline && memcmp(g->peer, peer, 16) == 0 &&
	       (g->host_dst ? g->sport : g->dport) == port;
}

float
sl_score_peer_evidence(struct sl_score *s, const uint8_t host[16], const uint8_t peer[16],
	uint16_t port, bool *strong)
{
	const struct shost *h = host_get(s, host, 0, false);
	float best[SL_SIG_MAX] = {0}, sum = 0;

	*strong = false;
	if (h == NULL)
		return 0;
	for (unsigned int i = 0; i < h->nsig; i++) {
		const struct sl_signal *g = &h->sig[i];
		float v;

		if (!names_peer(g, peer, port))
			continue;
		if (g->kind == SL_SIG_dpi || g->kind == SL_SIG_pool_name ||
		    g->kind == SL_SIG_pool_confirmed) {
			*strong = true;
			continue;
		}
		v = sig_value(s, g, s->now_us);
		if (v > best[g->kind])
			best[g->kind] = v;
	}
	sum = best[SL_SIG_behaviour] + best[SL_SIG_fingerprint] + best[SL_SIG_pool_ip];
	return sum;
}

int
sl_score_confirmed(struct sl_score *s, const uint8_t host[16], const uint8_t peer[16],
	uint16_t port, unsigned int det, unsigned int proto, bool tls, const uint8_t *answer,
	size_t len, uint32_t latency_ms, uint64_t now_us)
{
	struct shost *h;
	struct sl_signal g;
	const struct sl_signal *flow = NULL;

	clock_to(s, now_us);
	h = host_get(s, host, now_us, true);
	if (h == NULL)
		return -ENOENT;
	for (unsigned int i = 0; i < h->nsig && flow == NULL; i++)
		if (names_peer(&h->sig[i], peer, port))
			flow = &h->sig[i];
	memset(&g, 0, sizeof(g));
	if (flow != NULL) {
		g = *flow;
	} else {
		memcpy(g.peer, peer, 16);
		g.dport = port;
		g.proto = 6;
		g.flow_id = 1; /* a pool end without a flow seen: still a block target */
	}
	g.kind = SL_SIG_pool_confirmed;
	g.detector = (uint8_t)det;
	g.points = (float)s->p.weight[SL_SIG_pool_confirmed];
	g.first_us = g.last_us = now_us;
	g.count = 0;
	memset(&g.u, 0, sizeof(g.u));
	g.u.probe.proto = (uint8_t)proto;
	g.u.probe.tls = tls;
	g.u.probe.latency_ms = latency_ms;
	g.u.probe.len = (uint8_t)SL_MIN(len, (size_t)SL_EVIDENCE_MAX);
	memcpy(g.u.probe.answer, answer, g.u.probe.len);
	add_signal(s, h, &g, now_us);
	evaluate(s, h, now_us, g.flow_id, true);
	return 0;
}

unsigned int
sl_score_refuted(struct sl_score *s, const uint8_t host[16], const uint8_t peer[16],
	uint16_t port, uint64_t now_us)
{
	struct shost *h;
	unsigned int removed = 0;

	clock_to(s, now_us);
	h = host_get(s, host, now_us, false);
	if (h == NULL)
		return 0;
	for (unsigned int i = 0; i < h->nsig;) {
		const struct sl_signal *g = &h->sig[i];

		if ((g->kind == SL_SIG_behaviour || g->kind == SL_SIG_fingerprint) &&
		    names_peer(g, peer, port)) {
			h->sig[i] = h->sig[--h->nsig];
			removed++;
			continue;
		}
		i++;
	}
	if (removed > 0)
		evaluate(s, h, now_us, 0, false);
	return removed;
}

void
sl_score_deviation(struct sl_score *s, const uint8_t addr[16], const struct sl_base_dev *d,
	uint64_t now_us)
{
	struct sl_signal g;
	struct shost *h;
	float strength;

	s->st.deviations++;
	clock_to(s, now_us);
	h = host_get(s, addr, now_us, true);
	if (h == NULL)
		return;
	/* z at the threshold gives half the weight, twice the threshold or more the whole */
	strength = d->z >= 8.0f ? 1.0f : 0.5f + (d->z > 4.0f ? (d->z - 4.0f) / 8.0f : 0.0f);
	memset(&g, 0, sizeof(g));
	g.kind = SL_SIG_baseline;
	g.detector = d->metric;
	g.live = 0;
	g.points = (float)s->p.weight[SL_SIG_baseline] * strength;
	g.first_us = g.last_us = now_us;
	g.u.base = *d;
	add_signal(s, h, &g, now_us);
	evaluate(s, h, s->now_us, 0, true);
}

void
sl_score_device(struct sl_score *s, const uint8_t addr[16], unsigned int kind,
	const uint8_t mac[6], const char *why, uint64_t now_us)
{
	struct sl_signal g;
	struct shost *h;

	if (!sl_signal_is_device(kind) || s->p.weight[kind] == 0)
		return;
	clock_to(s, now_us);
	h = host_get(s, addr, now_us, true);
	if (h == NULL)
		return;
	memset(&g, 0, sizeof(g));
	g.kind = (uint8_t)kind;
	g.live = 0;
	g.points = (float)s->p.weight[kind];
	g.first_us = g.last_us = now_us;
	memcpy(g.u.dev.mac, mac, 6);
	snprintf(g.u.dev.why, sizeof(g.u.dev.why), "%s", why);
	add_signal(s, h, &g, now_us);
	evaluate(s, h, s->now_us, 0, true);
}

void
sl_score_tick(struct sl_score *s, uint64_t now_us)
{
	uint64_t t0 = rte_rdtsc();
	uint64_t alert = 0, block = 0;

	clock_to(s, now_us);
	for (uint32_t i = 0; i < s->nactive;) {
		struct shost *h = &s->hosts[s->active[i]];
		bool keep = false;

		if (s->now_us < h->quiet_us) { /* decay changes nothing to see yet */
			alert += h->level >= SL_LEVEL_ALERT;
			block += h->level >= SL_LEVEL_BLOCK;
			i++;
			continue;
		}
		evaluate(s, h, s->now_us, 0, false);
		for (unsigned int j = 0; j < h->nsig && !keep; j++)
			keep = sig_value(s, &h->sig[j], s->now_us) >= 0.5f;
		if (!keep && h->level == SL_LEVEL_NONE) {
			host_forget(s, h); /* the last active slot moved into position i */
			continue;
		}
		alert += h->level >= SL_LEVEL_ALERT;
		block += h->level >= SL_LEVEL_BLOCK;
		i++;
	}
	s->st.over_alert = alert;
	s->st.over_block = block;
	s->st.cycles++;
	s->st.cycle_ns = (rte_rdtsc() - t0) * 1000000000ull / rte_get_tsc_hz();
}

/* Higher score first, then the lower address: a total order. */
static bool
view_before(const struct sl_score_view *a, const struct sl_score_view *b)
{
	return a->score != b->score ? a->score > b->score : memcmp(a->addr, b->addr, 16) < 0;
}

unsigned int
sl_score_top(struct sl_score *s, uint64_t now_us, struct sl_score_view *out, unsigned int n)
{
	unsigned int k = 0;

	for (uint32_t i = 0; i < s->nactive && n > 0; i++) {
		const struct shost *h = &s->hosts[s->active[i]];
		struct sl_score_view *v = &s->view;
		unsigned int j;

		fill_view(s, h, now_us, v);
		if (v->score <= 0 || (k == n && !view_before(v, &out[k - 1])))
			continue;
		j = k < n ? k++ : n - 1;
		for (; j > 0 && view_before(v, &out[j - 1]); j--)
			out[j] = out[j - 1];
		out[j] = *v;
	}
	return k;
}

int
sl_score_get(struct sl_score *s, const uint8_t addr[16], uint64_t now_us,
	struct sl_score_view *out)
{
	const struct shost *h = host_get(s, addr, now_us, false);

	if (h == NULL)
		return -ENOENT;
	fill_view(s, h, now_us, out);
	return 0;
}

void
sl_score_get_stats(const struct sl_score *s, struct sl_score_stats *out)
{
	*out = s->st;
	out->hosts = s->nactive;
}

uint64_t
sl_score_now(const struct sl_score *s)
{
	return s->now_us;
}

void
sl_score_params_get(const struct sl_score *s, struct sl_score_params *out)
{
	*out = s->p;
}

/* A comma- or space-separated list of ports into @p out (at most 32). */
static int
parse_ports(const char *key, const char *q, uint16_t out[SL_CFG_PORTS_MAX], uint32_t *n,
	char *err, size_t errlen)
{
	char why[128];
	int rc = sl_cfg_ports_parse(q, out, SL_CFG_PORTS_MAX, why, sizeof(why));

	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", key, why);
		return rc;
	}
	*n = (uint32_t)rc;
	return 0;
}

int
sl_score_params_from_cfg(const struct sl_cfg *c, struct sl_score_params *p,
	struct sl_base_params *bp, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	memset(bp, 0, sizeof(*bp));
	if (c->score_block < c->score_alert) {
		snprintf(err, errlen, "score_block (%" PRIu64 ") is below score_alert (%" PRIu64 ")",
			c->score_block, c->score_alert);
		return -EINVAL;
	}
	p->capacity = (uint32_t)c->score_capacity;
	p->weight[SL_SIG_dpi] = (uint32_t)c->score_weight_dpi;
	p->weight[SL_SIG_pool_name] = (uint32_t)c->score_weight_pool_name;
	p->weight[SL_SIG_pool_ip] = (uint32_t)c->score_weight_pool_ip;
	p->weight[SL_SIG_fingerprint] = (uint32_t)c->score_weight_fingerprint;
	p->weight[SL_SIG_behaviour] = (uint32_t)c->score_weight_behaviour;
	p->weight[SL_SIG_baseline] = (uint32_t)c->score_weight_baseline;
	p->weight[SL_SIG_pool_confirmed] = (uint32_t)c->score_weight_pool_confirmed;
	p->weight[SL_SIG_mining_hw] = (uint32_t)c->score_weight_mining_hw;
	p->weight[SL_SIG_new_device] = (uint32_t)c->score_weight_new_device;
	p->alert = (uint32_t)c->score_alert;
	p->block = (uint32_t)c->score_block;
	p->hold_us = c->score_hold_s * 1000000;
	p->half_life_us = c->score_half_life_s * 1000000;
	p->beh_min_age_us = c->score_beh_min_age_s * 1000000;
	p->beh_min_msgs = (uint32_t)c->score_beh_min_messages;
	p->beh_max_bpp = (uint32_t)c->score_beh_max_bytes_per_packet;
	p->beh_max_rate = (uint32_t)c->score_beh_max_bytes_per_s;
	p->beh_gap_min_ms = (uint32_t)c->score_beh_gap_min_ms;
	p->beh_gap_max_ms = (uint32_t)c->score_beh_gap_max_ms;
	p->beh_min_points = (uint32_t)c->score_beh_min_points;
	p->log_judged = c->log_judgements != 0;
	p->beh_known = c->score_beh_known != 0;
	if (parse_ports("score_beh_service_ports", c->score_beh_service_ports, p->service_ports,
		    &p->nservice_ports, err, errlen) < 0 ||
	    parse_ports("score_beh_pool_ports", c->score_beh_pool_ports, p->pool_ports,
		    &p->npool_ports, err, errlen) < 0)
		return -EINVAL;
	bp->bucket_us = c->baseline_bucket_s * 1000000;
	bp->warmup = (uint32_t)c->baseline_warmup;
	bp->alpha = (float)c->baseline_alpha_pct / 100.0f;
	bp->z = (float)c->baseline_sigma;
	/* smallest standard deviations: a quiet host's first few flows or kilobytes are not news */
	bp->floor[SL_BASE_bytes_out] = 50000.0f;
	bp->floor[SL_BASE_bytes_in] = 100000.0f;
	bp->floor[SL_BASE_pkts_out] = 100.0f;
	bp->floor[SL_BASE_flows_opened] = 5.0f;
	bp->floor[SL_BASE_peers] = 3.0f;
	bp->floor[SL_BASE_long_lived] = 1.0f;
	return 0;
}

/* Baseline deviation of one host: a signal. */
static void
on_deviation(void *arg, const uint8_t addr[16], const struct sl_base_dev *d, uint64_t now_us)
{
	sl_score_deviation(arg, addr, d, now_us);
}

static inline uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static inline uint64_t
sat_mul(uint64_t a, uint64_t b)
{
	return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* The first grid time after @p ts (UINT64_MAX, never due, when it is past the end of time). */
static inline uint64_t
grid_after(uint64_t ts, uint64_t period)
{
	return sat_mul(ts / period + 1, period);
}

/* Whether grid time @p next falls due at @p ts; UINT64_MAX is the end of time: never. */
static inline bool
due(uint64_t ts, uint64_t next)
{
	return next != UINT64_MAX && ts >= next;
}

/* A jump: a record more than 100 periods away from the previous one, either way. */
#define JUMP_PERIODS 100

/*
 * Every loop below runs at most JUMP_PERIODS + 1 times: a record further ahead than that
 * collapses the passes (or buckets) in between into one, computed arithmetically, and grid
 * times saturate instead of wrapping, so any jump forward or backward costs O(1). The clock
 * never goes back: after a backward jump nothing falls due until record time catches up.
 */
void
sl_score_advance(struct sl_score *s, struct sl_chost_table *hosts,
	const struct sl_base_params *bp, uint64_t tick_us, uint64_t ts_us)
{
	uint64_t span;

	if (ts_us == 0 || tick_us == 0)
		return;
	if (s->next_tick_us == 0) { /* the first record starts the clock, on a grid of absolute
				      * time so any record can start it */
		s->next_tick_us = grid_after(ts_us, tick_us);
		if (bp != NULL && bp->bucket_us > 0)
			s->next_bucket_us = grid_after(ts_us, bp->bucket_us);
		s->last_rec_us = ts_us;
		return;
	}
	span = sat_mul(JUMP_PERIODS, tick_us);
	if (ts_us > s->last_rec_us ? ts_us - s->last_rec_us > span : s->last_rec_us - ts_us > span)
		s->st.time_jumps++;
	s->last_rec_us = ts_us;
	if (due(ts_us, sat_add(s->next_tick_us, span))) {
		sl_score_tick(s, ts_us);
		s->next_tick_us = grid_after(ts_us, tick_us);
	}
	for (unsigned int n = 0; n <= JUMP_PERIODS && due(ts_us, s->next_tick_us); n++) {
		sl_score_tick(s, s->next_tick_us);
		s->next_tick_us = sat_add(s->next_tick_us, tick_us);
	}
	clock_to(s, ts_us);
	if (hosts == NULL || bp == NULL || bp->bucket_us == 0 || s->next_bucket_us == 0)
		return;
	if (due(ts_us, sat_add(s->next_bucket_us, sat_mul(JUMP_PERIODS, bp->bucket_us))))
		s->next_bucket_us = (ts_us / bp->bucket_us) * bp->bucket_us;
	for (unsigned int n = 0; n <= JUMP_PERIODS && due(ts_us, s->next_bucket_us); n++) {
		sl_chost_baseline(hosts, bp, s->next_bucket_us, on_deviation, s);
		s->next_bucket_us = sat_add(s->next_bucket_us, bp->bucket_us);
	}
}

int
sl_score_release(struct sl_score *s, const uint8_t addr[16])
{
	struct shost *h = host_get(s, addr, 0, false);

	if (h == NULL)
		return -ENOENT;
	h->level = SL_LEVEL_NONE;
	h->released = 1;
	h->quiet_us = keep_until(s, h); /* level none: only forgetting is left to check */
	return 0;
}
