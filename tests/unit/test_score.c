/* test_score.c: unit tests of the host scorer (lib/score) and the host baseline (lib/host
 * sl_base_update), all with the shipped defaults (sl_cfg_defaults -> sl_score_params_from_cfg).
 *
 *  A. Behaviour, end to end. A small session scripter turns a described TCP session (per
 *     direction messages: time, direction, size; TCP handshake, one pure ACK per message,
 *     FINs) into packets; they go through the real worker path (sl_pkt_parse,
 *     sl_flow_key_make, sl_flow_get, sl_flow_account) into a flow table with the default
 *     behaviour parameters (beh_msg_gap_ms, beh_reply_ms, beh_bulk_bytes). Flow samples are
 *     taken exactly when the worker takes them (maybe_sample in lib/worker/worker.c: a
 *     packet that crosses a flow_sample_s boundary of the flow's age, past
 *     flow_sample_min_age_s; one "bulk now" sample; a final sample when a sampled flow
 *     ends), filled by sl_flow_sample_fill and fed to a real scorer after sl_score_advance
 *     (as the control core does before every record). Miners over TLS (with and without
 *     SNI, several cadences) and Stratum V2 over Noise must be alerted in time; benign
 *     long-lived sessions (SSH, video, chat WebSocket, messaging heartbeats, MQTT, backup)
 *     must never reach the alert threshold in 10 minutes. Decay, hysteresis and forgetting
 *     after a miner's flow ends. The gates and feature rules of sl_score_behaviour on
 *     hand-made samples.
 *  B. Scoring mechanics: per-kind maximum, levels and notes, slot replacement, a full table,
 *     sl_score_top, sl_score_params_from_cfg errors, sl_score_advance's tick grid, clock jumps
 *     of any size either way in O(1).
 *  C. Baseline: sl_base_update warmup, steady series, a spike, floors.
 *
 * Every session prints one "session ..." line (alert time, scores, behaviour points) to the
 * test log. Needs EAL (rte_hash, rte_malloc): started once per run with --no-huge. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>

#include "sl_cfg.h"
#include "sl_common.h"
#include "sl_flow.h"
#include "sl_host.h"
#include "sl_match.h"
#include "sl_pkt.h"
#include "sl_score.h"
#include "sl_test_eal.h"

#define T0_US (1700000000ull * 1000000ull) /**< session epoch */
#define SEC(x) ((uint64_t)((x) * 1e6))     /**< seconds to microseconds */

/* sess.sflags bit: an SSH session (the sample carries known = SL_KNOWN_ssh). */
#define SESS_SSH 0x80

/* TCP flags as on the wire. */
#define F_FIN 0x01
#define F_SYN 0x02
#define F_PSH 0x08
#define F_ACK 0x10

#define MSS 1448

static unsigned int g_name_seq; /* unique rte_hash names */

/* ---------------------------------------------------------------- parameters */

/** The shipped scoring and baseline parameters (capacity cut down for the test's memory). */
static void
shipped_params(struct sl_score_params *p, struct sl_base_params *bp)
{
	struct sl_cfg c;
	char err[256] = "";

	sl_cfg_defaults(&c);
	assert_int_equal(sl_score_params_from_cfg(&c, p, bp, err, sizeof(err)), 0);
	p->capacity = 1024;
}

/* ---------------------------------------------------------------- notes */

/** What a note said (the view is only valid during the callback). */
struct note_rec {
	int type;
	uint64_t ts_us;
	uint8_t old_level, new_level;
	float score;
	uint64_t flow_id;
	uint32_t kinds;   /**< bit per signal kind with points now */
	uint8_t nsig;
	uint8_t addr15;   /**< last address byte of the host */
	uint8_t beh_pts;  /**< behaviour points of the behaviour signal (0 = none) */
};

struct notes {
	unsigned int n;
	struct note_rec r[64];
};

static void
record_note(void *arg, const struct sl_score_note *n)
{
	struct notes *nt = arg;
	struct note_rec *r;

	if (n->type == SL_NOTE_JUDGED) { /* log_judgements: the sample, no host view */
		assert_null(n->v);
		assert_non_null(n->fs);
		assert_non_null(n->beh);
	} else {
		assert_non_null(n->v);
	}
	if (nt->n == SL_ARRAY_SIZE(nt->r))
		return;
	r = &nt->r[nt->n++];
	memset(r, 0, sizeof(*r));
	r->type = n->type;
	r->ts_us = n->ts_us;
	r->old_level = n->old_level;
	r->new_level = n->new_level;
	r->flow_id = n->flow_id;
	if (n->type == SL_NOTE_JUDGED) {
		r->beh_pts = n->beh->points;
		r->kinds = n->beh->gate; /* the gate, for JUDGED notes */
		return;
	}
	r->score = n->v->score;
	r->nsig = n->v->nsig;
	r->addr15 = n->v->addr[15];
	for (unsigned int i = 0; i < n->v->nsig; i++) {
		if (n->v->now_points[i] > 0)
			r->kinds |= 1u << n->v->sig[i].kind;
		if (n->v->sig[i].kind == SL_SIG_behaviour)
			r->beh_pts = n->v->sig[i].u.beh.points;
	}
}

/*
 * The scorer names its rte_hash "sl_score", so only one scorer can exist at a time: tests
 * create them one after the other, and the teardown frees whatever a failed test left.
 */
static struct sl_score *g_score;
static struct sl_flow_table *g_ft;
/* the packets of the one session being built or played (sess_free, or the teardown) */
static void *g_sess_mem;

static struct sl_score *
mk_score(const struct sl_score_params *p, struct notes *nt)
{
	struct sl_score *s;

	assert_null(g_score);
	s = sl_score_create(p, (int)rte_socket_id(), nt ? record_note : NULL, nt);
	assert_non_null(s);
	g_score = s;
	return s;
}

static void
score_free(struct sl_score *s)
{
	assert_ptr_equal(s, g_score);
	sl_score_free(s);
	g_score = NULL;
}

static int
leak_teardown(void **state)
{
	(void)state;
	sl_score_free(g_score);
	sl_flow_table_free(g_ft);
	free(g_sess_mem);
	g_score = NULL;
	g_ft = NULL;
	g_sess_mem = NULL;
	return 0;
}

/* ---------------------------------------------------------------- PRNG */

static uint64_t
rnd_next(uint64_t *st)
{
	*st += 0x9e3779b97f4a7c15ULL;
	return sl_mix64(*st);
}

/** Uniform in (0, 1). */
static double
rnd_u01(uint64_t *st)
{
	return ((double)(rnd_next(st) >> 11) + 0.5) / 9007199254740992.0;
}

static double
rnd_uni(uint64_t *st, double lo, double hi)
{
	return lo + (hi - lo) * rnd_u01(st);
}

static uint32_t
rnd_int(uint64_t *st, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(rnd_next(st) % (uint64_t)(hi - lo + 1));
}

static double
rnd_exp(uint64_t *st, double mean)
{
	return -mean * log(rnd_u01(st));
}

static double
rnd_lognorm(uint64_t *st, double mu, double sigma)
{
	double z = sqrt(-2.0 * log(rnd_u01(st))) * cos(6.283185307179586 * rnd_u01(st));

	return exp(mu + sigma * z);
}

/** Log-uniform integer in [lo, hi]. */
static uint32_t
rnd_logu(uint64_t *st, uint32_t lo, uint32_t hi)
{
	return (uint32_t)lround(exp(rnd_uni(st, log((double)lo), log((double)hi))));
}

/* ---------------------------------------------------------------- session scripts */

/** One packet of a scripted session. */
struct spk {
	uint64_t t_us;
	uint32_t len;  /**< TCP payload bytes */
	uint32_t ord;  /**< insertion order (stable sort) */
	uint8_t dir;   /**< 0 = from the initiator */
	uint8_t flags; /**< TCP flags */
};

/** A described TCP session: initiator 10.0.0.1, responder 10.0.0.2. */
struct sess {
	const char *name;
	uint16_t sport, dport;
	uint8_t sflags;   /**< SL_SAMPLE_F_* the worker's payload inspection would set */
	double rtt;       /**< seconds, as seen from a capture point near the initiator */
	uint64_t t0;      /**< SYN time */
	uint64_t rng;
	struct spk *p;
	uint32_t n, cap, ord;
	double end;       /**< FIN time (seconds after t0) */
	/* optional detection the matcher would report, at the first packet at or after det_at */
	int det;          /**< enum sl_det, or -1 */
	unsigned int det_weight;
	double det_at;
};

static void
sess_init(struct sess *s, const char *name, uint16_t dport, uint8_t sflags, double rtt,
	uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->sport = 50123;
	s->dport = dport;
	s->sflags = sflags;
	s->rtt = rtt;
	s->t0 = T0_US;
	s->rng = seed;
	s->det = -1;
}

static void
sess_free(struct sess *s)
{
	free(s->p);
	s->p = NULL;
	g_sess_mem = NULL;
}

static void
sess_pkt(struct sess *s, double t, int dir, uint32_t len, uint8_t flags)
{
	struct spk *k;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->p = realloc(s->p, s->cap * sizeof(*s->p));
		assert_non_null(s->p);
		g_sess_mem = s->p;
	}
	assert_true(t >= 0);
	k = &s->p[s->n++];
	k->t_us = s->t0 + (uint64_t)llround(t * 1e6);
	k->len = len;
	k->ord = s->ord++;
	k->dir = (uint8_t)dir;
	k->flags = flags;
}

/**
 * A message of @p size bytes from @p dir starting at @p t: MSS segments 10 µs apart, then
 * one pure ACK from the other side half an RTT later. @return the time of its last segment.
 */
static double
sess_msg(struct sess *s, double t, int dir, uint32_t size)
{
	double at = t;

	for (uint32_t off = 0; off < size; off += MSS) {
		sess_pkt(s, at, dir, SL_MIN(size - off, (uint32_t)MSS), F_ACK | F_PSH);
		at += 10e-6;
	}
	at -= 10e-6;
	sess_pkt(s, at + s->rtt / 2, !dir, 0, F_ACK);
	return at;
}

/** The responder's answer to a request that ended at @p t (one RTT plus @p proc later). */
static double
sess_reply(struct sess *s, double t, uint32_t size, double proc)
{
	return sess_msg(s, t + s->rtt + proc, 1, size);
}

/** SYN, SYN-ACK, ACK at 0. @return the time the initiator may send. */
static double
sess_open(struct sess *s)
{
	sess_pkt(s, 0, 0, 0, F_SYN);
	sess_pkt(s, s->rtt, 1, 0, F_SYN | F_ACK);
	sess_pkt(s, s->rtt + 100e-6, 0, 0, F_ACK);
	return s->rtt + 200e-6;
}

/** FIN from the initiator at @p t, answered. */
static void
sess_close(struct sess *s, double t)
{
	s->end = t;
	sess_pkt(s, t, 0, 0, F_FIN | F_ACK);
	sess_pkt(s, t + s->rtt, 1, 0, F_FIN | F_ACK);
	sess_pkt(s, t + s->rtt + 100e-6, 0, 0, F_ACK);
}

/**
 * TLS handshake after sess_open: ClientHello, the server's flight (certificates), the
 * client's Finished. @return the time of the client's Finished.
 */
static double
tls_handshake(struct sess *s, double t, uint32_t hello)
{
	t = sess_msg(s, t + 0.001, 0, hello);
	t = sess_reply(s, t, 3000, rnd_uni(&s->rng, 0.001, 0.005));
	return sess_msg(s, t + 0.001, 0, 80);
}

static int
spk_cmp(const void *a, const void *b)
{
	const struct spk *x = a, *y = b;

	if (x->t_us != y->t_us)
		return x->t_us < y->t_us ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

/* ---------------------------------------------------------------- session runner */

/** What a run through the worker path and the scorer produced. */
struct run {
	struct sl_flow_table *ft;
	struct sl_score *sc;
	struct sl_score_params p;
	struct notes nt;
	const struct sess *ss;
	uint64_t sample_us, sample_min_age_us, tick_us;
	uint8_t host[16];          /**< the judged host (the initiator) */
	uint64_t flow_id;
	uint32_t samples;
	uint32_t finals;
	struct sl_flow_sample last; /**< last sample sent */
	float max_score;           /**< host score right after each sample, highest */
	uint64_t max_score_us;
	unsigned int max_pts;      /**< behaviour points of a sample, highest */
	struct sl_beh max_beh;
	struct sl_beh last_beh;    /**< judgement of the last sample */
	uint8_t end_bflags;        /**< the flow's behaviour flags when it ended */
	uint64_t alert_us;         /**< first alert note (0 = none) */
	float alert_score;
	uint32_t alert_kinds;
	uint64_t last_pkt_us;
	int det_done;
};

static void print_beh(const char *what, const struct sl_beh *b);

/** As send_sample in lib/worker/worker.c, then the control core: advance, score. */
static void
run_sample(struct run *r, struct sl_flow *f, const struct sl_flow_key *key, uint64_t now,
	int final)
{
	struct sl_flow_sample s;
	bool hi = (f->flags & SL_FLOW_F_INIT_HI) != 0;
	struct sl_score_view v;
	struct sl_beh b;
	unsigned int pts;

	memset(&s, 0, sizeof(s));
	memcpy(s.src, hi ? key->hi : key->lo, 16);
	memcpy(s.dst, hi ? key->lo : key->hi, 16);
	s.sport = hi ? key->port_hi : key->port_lo;
	s.dport = hi ? key->port_lo : key->port_hi;
	s.proto = key->proto;
	s.flow_id = r->flow_id;
	s.host = SL_EV_HOST_SRC;
	s.final = (uint8_t)final;
	s.flags = r->ss->sflags & (uint8_t)~SESS_SSH;
	if (r->ss->sflags & SESS_SSH)
		s.known = SL_KNOWN_ssh; /* the worker's known-protocol table recognised it */
	sl_flow_sample_fill(r->ft, f, now, &s);
	f->bflags |= SL_FLOW_B_SAMPLED;
	memcpy(r->host, s.src, 16);
	r->last = s;
	r->samples++;
	r->finals += final != 0;
	sl_score_advance(r->sc, NULL, NULL, r->tick_us, s.ts_us);
	sl_score_sample(r->sc, &s, true);
	pts = sl_score_behaviour(&r->p, &s, &b);
	r->last_beh = b;
	if (getenv("SL_TEST_VERBOSE") != NULL) { /* every sample of every session */
		char what[64];

		snprintf(what, sizeof(what), "%s t=%.1f%s", r->ss->name,
			(double)(s.ts_us - r->ss->t0) / 1e6, final ? " final" : "");
		print_beh(what, &b);
	}
	if (pts > r->max_pts || r->samples == 1) {
		r->max_pts = pts;
		r->max_beh = b;
	}
	if (sl_score_get(r->sc, r->host, s.ts_us, &v) == 0 && v.score > r->max_score) {
		r->max_score = v.score;
		r->max_score_us = s.ts_us;
	}
	for (unsigned int i = 0; i < r->nt.n && r->alert_us == 0; i++) {
		if (r->nt.r[i].type == SL_NOTE_ALERT) {
			r->alert_us = r->nt.r[i].ts_us;
			r->alert_score = r->nt.r[i].score;
			r->alert_kinds = r->nt.r[i].kinds;
		}
	}
}

/* The flow table's end callback: a sampled flow's final sample (on_flow_end). */
static void
run_flow_end(void *arg, const struct sl_flow_key *key, struct sl_flow *f, int at_exit)
{
	struct run *r = arg;

	r->end_bflags = f->bflags;
	if ((f->bflags & SL_FLOW_B_SAMPLED) && !at_exit)
		run_sample(r, f, key, f->last_us, 1);
}

/** maybe_sample in lib/worker/worker.c. */
static void
run_maybe_sample(struct run *r, struct sl_flow *f, const struct sl_flow_key *key,
	uint64_t prev_last, uint64_t now)
{
	uint64_t age = now - f->first_us, was = prev_last - f->first_us;

	if (age / r->sample_us == was / r->sample_us)
		return;
	if (age < r->sample_min_age_us && !(f->bflags & SL_FLOW_B_DETECTED))
		return;
	if ((f->bflags & SL_FLOW_B_BULK) && !(f->bflags & SL_FLOW_B_DETECTED)) {
		if ((f->bflags & SL_FLOW_B_BULK_SENT) || !(f->bflags & SL_FLOW_B_SAMPLED))
			return;
		f->bflags |= SL_FLOW_B_BULK_SENT;
	}
	run_sample(r, f, key, now, 0);
}

/** IPv4/TCP headers of one scripted packet (payload bytes are not captured: snaplen). */
static uint32_t
mk_headers(const struct sess *s, const struct spk *k, uint8_t *buf)
{
	uint8_t *ip = buf + 14, *tcp = buf + 34;
	uint16_t tot = (uint16_t)(40 + k->len);

	memset(buf, 0, 54);
	buf[0] = 0x02;
	buf[6] = 0x02;
	buf[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 6;
	ip[12] = 10;
	ip[15] = k->dir ? 2 : 1;
	ip[16] = 10;
	ip[19] = k->dir ? 1 : 2;
	tcp[0] = (uint8_t)((k->dir ? s->dport : s->sport) >> 8);
	tcp[1] = (uint8_t)(k->dir ? s->dport : s->sport);
	tcp[2] = (uint8_t)((k->dir ? s->sport : s->dport) >> 8);
	tcp[3] = (uint8_t)(k->dir ? s->sport : s->dport);
	tcp[7] = 1;
	tcp[12] = 0x50;
	tcp[13] = k->flags;
	tcp[14] = 0xff;
	tcp[15] = 0xff;
	return 54;
}

/** Flow table parameters as the app builds them from the shipped defaults. */
static struct sl_flow_params
shipped_flow_params(void)
{
	struct sl_cfg c;
	struct sl_flow_params fp;

	sl_cfg_defaults(&c);
	memset(&fp, 0, sizeof(fp));
	fp.capacity = 1024;
	fp.tcp_new_us = c.tcp_new_timeout * 1000000;
	fp.tcp_est_us = c.tcp_established_timeout * 1000000;
	fp.tcp_closed_us = c.tcp_closed_timeout * 1000000;
	fp.udp_us = c.udp_timeout * 1000000;
	fp.other_us = c.other_timeout * 1000000;
	fp.long_us = c.long_flow_seconds * 1000000;
	fp.beh_msg_gap_us = (uint32_t)(c.beh_msg_gap_ms * 1000);
	fp.beh_reply_us = (uint32_t)(c.beh_reply_ms * 1000);
	fp.beh_bulk_bytes = (uint32_t)c.beh_bulk_bytes;
	return fp;
}

static void
run_init(struct run *r, const struct sess *s)
{
	struct sl_cfg c;
	struct sl_base_params bp;
	struct sl_flow_params fp = shipped_flow_params();
	char name[32];

	memset(r, 0, sizeof(*r));
	sl_cfg_defaults(&c);
	shipped_params(&r->p, &bp);
	r->ss = s;
	r->sample_us = c.flow_sample_s * 1000000;
	r->sample_min_age_us = c.flow_sample_min_age_s * 1000000;
	r->tick_us = c.score_interval_ms * 1000;
	r->flow_id = 0x5eed0000ull + g_name_seq;
	snprintf(name, sizeof(name), "tscore_ft%u", g_name_seq++);
	r->ft = sl_flow_table_create(name, &fp, (int)rte_socket_id(), run_flow_end, r);
	assert_non_null(r->ft);
	g_ft = r->ft;
	r->sc = mk_score(&r->p, &r->nt);
}

static void
run_fini(struct run *r)
{
	sl_flow_table_free(r->ft);
	score_free(r->sc);
	g_ft = NULL;
	r->ft = NULL;
	r->sc = NULL;
}

/** One packet through the worker's sequence, then the worker's sampling rule. */
static void
run_packet(struct run *r, const struct spk *k)
{
	uint8_t buf[64];
	uint32_t hl = mk_headers(r->ss, k, buf);
	struct sl_pkt pk;
	struct sl_flow_key key;
	const struct sl_flow_key *kp = &key;
	uint32_t sig;
	int32_t pos;
	int src_hi;
	bool is_new;
	struct sl_flow *f;
	uint64_t prev_last;

	memset(&pk, 0, sizeof(pk));
	assert_int_equal(sl_pkt_parse(SL_DLT_EN10MB, buf, hl, hl, hl + k->len, &pk),
		SL_PKT_handled);
	assert_int_equal(pk.payload_len, k->len);
	src_hi = sl_flow_key_make(&pk, &key);
	sl_flow_lookup_bulk(r->ft, &kp, 1, &sig, &pos);
	f = sl_flow_get(r->ft, &key, sig, pos, &pk, src_hi, k->t_us, &is_new);
	assert_non_null(f);
	prev_last = f->last_us;
	sl_flow_account(r->ft, f, &pk, src_hi, NULL, k->t_us);
	if (r->ss->det >= 0 && !r->det_done && k->t_us >= r->ss->t0 + SEC(r->ss->det_at)) {
		struct sl_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.ts_us = k->t_us;
		ev.flow_id = r->flow_id;
		memcpy(ev.src, (f->flags & SL_FLOW_F_INIT_HI) ? key.hi : key.lo, 16);
		memcpy(ev.dst, (f->flags & SL_FLOW_F_INIT_HI) ? key.lo : key.hi, 16);
		ev.sport = r->ss->sport;
		ev.dport = r->ss->dport;
		ev.proto = 6;
		ev.detector = (uint8_t)r->ss->det;
		ev.host = SL_EV_HOST_SRC;
		f->bflags |= SL_FLOW_B_DETECTED;
		sl_score_advance(r->sc, NULL, NULL, r->tick_us, ev.ts_us);
		sl_score_detection(r->sc, &ev, r->ss->det_weight);
		r->det_done = 1;
	}
	if (!is_new)
		run_maybe_sample(r, f, &key, prev_last, k->t_us);
	r->last_pkt_us = k->t_us;
}

/**
 * Play session @p s through a fresh flow table and scorer; the flow ends (closed timeout,
 * swept) and its final sample is scored. The caller frees with run_fini().
 */
static void
run_session(struct run *r, struct sess *s)
{
	run_init(r, s);
	qsort(s->p, s->n, sizeof(s->p[0]), spk_cmp);
	for (uint32_t i = 0; i < s->n; i++)
		run_packet(r, &s->p[i]);
	/* the closed flow is swept after its timeout: the worker sends the final sample */
	assert_int_equal(sl_flow_sweep(r->ft, r->last_pkt_us + shipped_flow_params().tcp_closed_us +
		1, sl_flow_capacity(r->ft)), 1);
}

static void
print_beh(const char *what, const struct sl_beh *b)
{
	char feats[160] = "";
	size_t o = 0;

	for (unsigned int i = 0; i < SL_BEH_MAX; i++)
		if (b->matched & (1u << i))
			o += (size_t)snprintf(feats + o, sizeof(feats) - o, "%s%s", o ? "," : "",
				sl_beh_feature_name(i));
	printf("    %s: pts %u gate %s age %.0fs msgs %u/%u pushes %u cn %u crep %u un %u "
	       "urep %u csz %.0f(cv %.2f) usz %.0f cells %u bpp %.0f B/s %.0f gap %.1fs [%s]\n",
		what, b->points, sl_beh_gate_name(b->gate), (double)b->age_s, b->msgs[0], b->msgs[1],
		b->pushes, b->cn, b->crep, b->un, b->urep, (double)b->csz_mean, (double)b->csz_cv,
		(double)b->usz_mean, b->cells, (double)b->bytes_per_pkt,
		(double)b->bytes_per_s, (double)b->client_gap_s, feats);
}

static void
print_run(const struct run *r)
{
	if (r->alert_us)
		printf("session %-28s alert at %5.1f s, score %.1f; max score %.1f; max beh pts %u; "
		       "%u samples\n", r->ss->name, (double)(r->alert_us - r->ss->t0) / 1e6,
			(double)r->alert_score, (double)r->max_score, r->max_pts, r->samples);
	else
		printf("session %-28s no alert; max score %.1f at %.0f s; max beh pts %u; %u samples\n",
			r->ss->name, (double)r->max_score,
			r->max_score_us ? (double)(r->max_score_us - r->ss->t0) / 1e6 : 0.0, r->max_pts,
			r->samples);
	print_beh("strongest sample", &r->max_beh);
	fflush(stdout);
}

/* ---------------------------------------------------------------- session generators */

/** Shares and jobs of a pool session. */
struct miner_shape {
	double share_mean;  /**< Poisson shares, mean gap (s) */
	double job_mean;    /**< job pushes: gaps uniform in [0.5, 1.5] x this */
	int sni;            /**< the ClientHello carries a server name */
	double dur;         /**< session length (s) */
};

/**
 * XMRig-like miner over TLS: ClientHello (~300 B), server flight (~3000 B), client
 * Finished (80 B) with the login (400 B) right behind it, the login reply with the first
 * job (600 B); then Poisson shares (250 +- 6 B) each answered within 50 ms (90 B), jobs
 * pushed by the pool (520 +- 10 B), and a keepalive (150 B) after 60 s without a share.
 */
static void
gen_miner_tls(struct sess *s, const struct miner_shape *m)
{
	double t = sess_open(s), start, x, last_c, end = m->dur;

	t = tls_handshake(s, t, m->sni ? 517 : 300);
	t = sess_msg(s, t + 0.002, 0, 400);
	start = sess_reply(s, t, 600, rnd_uni(&s->rng, 0.002, 0.02));
	for (x = start + rnd_uni(&s->rng, 0.5, 1.5) * m->job_mean; x < end - 1;
	     x += rnd_uni(&s->rng, 0.5, 1.5) * m->job_mean)
		sess_msg(s, x, 1, 520 + rnd_int(&s->rng, 0, 20) - 10);
	last_c = start;
	for (x = start + rnd_exp(&s->rng, m->share_mean);; x += rnd_exp(&s->rng, m->share_mean)) {
		double until = x < end - 1 ? x : end - 1;

		while (until - last_c > 60) { /* keepalived */
			last_c += 60;
			sess_reply(s, sess_msg(s, last_c, 0, 150), 95, 0.001);
		}
		if (x >= end - 1)
			break;
		sess_reply(s, sess_msg(s, x, 0, 250 + rnd_int(&s->rng, 0, 12) - 6),
			90 + rnd_int(&s->rng, 0, 4) - 2, rnd_uni(&s->rng, 0.0005, 0.01));
		last_c = x;
	}
	sess_close(s, end);
}

/**
 * Stratum V2 over Noise: 64-byte act 1, 234-byte act 2, SetupConnection and
 * OpenStandardMiningChannel with their answers, then Poisson shares (22 + 26 + 16 = 64 B,
 * answered by 58 B) every ~20 s and jobs (NewMiningJob, 87 B; on a new block also
 * SetNewPrevHash, 169 B together) every ~40 s.
 */
static void
gen_sv2_noise(struct sess *s, double dur)
{
	double t = sess_open(s), start, x;

	t = sess_msg(s, t + 0.0005, 0, 64);
	t = sess_reply(s, t, 234, rnd_uni(&s->rng, 0.001, 0.004));
	t = sess_msg(s, t + 0.002, 0, 22 + 72 + 16);
	t = sess_reply(s, t, 22 + 6 + 16, 0.001);
	t = sess_msg(s, t + 0.001, 0, 22 + 50 + 16);
	start = sess_reply(s, t, 3 * 38 + 53 + 45 + 48, 0.004);
	for (x = start + rnd_uni(&s->rng, 20, 60); x < dur - 1; x += rnd_uni(&s->rng, 20, 60))
		sess_msg(s, x, 1, rnd_u01(&s->rng) < 0.2 ? 169 : 87);
	for (x = start + rnd_exp(&s->rng, 20); x < dur - 1; x += rnd_exp(&s->rng, 20))
		sess_reply(s, sess_msg(s, x, 0, 64), 58, rnd_uni(&s->rng, 0.0005, 0.003));
	sess_close(s, dur);
}

/** SSH transport and login: banners, key exchange, auth, a session channel, the motd. */
static double
ssh_login(struct sess *s)
{
	double t = sess_open(s);

	t = sess_msg(s, t + 0.002, 1, 41);   /* server banner */
	t = sess_msg(s, t + 0.001, 0, 33);   /* client banner */
	t = sess_msg(s, t + 0.001, 0, 1512); /* KEXINIT */
	t = sess_reply(s, t, 1080, 0.001);
	t = sess_msg(s, t + 0.002, 0, 48);   /* ECDH init */
	t = sess_reply(s, t, 1064, 0.004);   /* ECDH reply, host key, NEWKEYS */
	t = sess_msg(s, t + 0.002, 0, 68);   /* NEWKEYS, service request */
	t = sess_reply(s, t, 52, 0.001);
	t = sess_msg(s, t + 0.003, 0, 612);  /* publickey auth */
	t = sess_reply(s, t, 36, 0.003);
	t = sess_msg(s, t + 0.001, 0, 116);  /* channel open */
	t = sess_reply(s, t, 60, 0.001);
	t = sess_msg(s, t + 0.001, 0, 388);  /* pty-req, env, shell */
	return sess_reply(s, t, 820, 0.02);  /* motd and prompt */
}

/**
 * Interactive SSH: think, type a command (36-byte keystrokes, each echoed within the RTT),
 * Enter, the output (100 B .. 30 KB, sometimes a long-running command streaming output
 * seconds later), a new prompt.
 */
static void
gen_ssh_interactive(struct sess *s, double dur)
{
	double t = ssh_login(s);

	for (;;) {
		uint32_t keys = rnd_int(&s->rng, 3, 40);
		double x;

		t += rnd_uni(&s->rng, 2, 40);
		if (t > dur - 20)
			break;
		for (uint32_t i = 0; i <= keys; i++) { /* the last one is Enter */
			x = sess_msg(s, t, 0, 36);
			if (i < keys)
				sess_msg(s, x + s->rtt + 0.0002, 1, 36);
			t += 0.18 * rnd_lognorm(&s->rng, 0, 0.5);
		}
		if (rnd_u01(&s->rng) < 0.2) { /* long-running: output streams in later */
			double y = x + s->rtt + rnd_uni(&s->rng, 1.5, 5);
			uint32_t chunks = rnd_int(&s->rng, 2, 8);

			for (uint32_t i = 0; i < chunks; i++) {
				y = sess_msg(s, y, 1, rnd_logu(&s->rng, 60, 4000));
				y += rnd_uni(&s->rng, 0.5, 3);
			}
			t = y;
		} else {
			t = sess_msg(s, x + s->rtt + rnd_uni(&s->rng, 0.002, 0.3), 1,
				rnd_logu(&s->rng, 100, 30000));
		}
		t = sess_msg(s, t + 0.001, 1, 68); /* prompt (joins the output when quick) */
	}
	sess_close(s, dur);
}

/** Idle SSH: the client's keepalive@openssh.com (52 B) every @p every s, answered (36 B). */
static void
gen_ssh_idle(struct sess *s, double dur, double every)
{
	double t = ssh_login(s);

	for (t += every; t < dur - 1; t += every)
		sess_reply(s, sess_msg(s, t, 0, 52), 36, 0.0005);
	sess_close(s, dur);
}

/** Video over TLS with SNI: a segment request every 4 s, answered by 1 MB. */
static void
gen_video(struct sess *s, double dur)
{
	double t = tls_handshake(s, sess_open(s), 517);

	for (t += 0.01; t < dur - 5; t += 4)
		sess_reply(s, sess_msg(s, t, 0, 480 + rnd_int(&s->rng, 0, 80)), 1u << 20, 0.01);
	sess_close(s, dur);
}

/**
 * Chat WebSocket over TLS with SNI: upgrade, an initial state; then messages both ways of
 * irregular sizes (20 .. 2000 B) at random intervals (1 s .. 3 min; a sent message often
 * acknowledged), and a server ping (28 B) every 30 s answered by a pong (34 B).
 */
static void
gen_chat_ws(struct sess *s, double dur)
{
	double t = tls_handshake(s, sess_open(s), 517), start, x;

	t = sess_msg(s, t + 0.002, 0, 452);                         /* HTTP upgrade */
	t = sess_reply(s, t, 226, 0.01);                            /* 101 */
	start = sess_msg(s, t + 0.01, 1, rnd_int(&s->rng, 800, 4000)); /* hello, state */
	for (x = start;;) {
		x += SL_MIN(rnd_lognorm(&s->rng, 2.5, 1.2), 180.0) + 1;
		if (x >= dur - 1)
			break;
		if (rnd_u01(&s->rng) < 0.4) {
			double e = sess_msg(s, x, 0, rnd_logu(&s->rng, 20, 2000));

			if (rnd_u01(&s->rng) < 0.6)
				sess_reply(s, e, rnd_int(&s->rng, 40, 120), 0.005);
		} else {
			sess_msg(s, x, 1, rnd_logu(&s->rng, 20, 2000));
		}
	}
	for (x = start + 30; x < dur - 1; x += 30)
		sess_msg(s, sess_msg(s, x, 1, 28) + 0.001, 0, 34);
	sess_close(s, dur);
}

/** Messaging heartbeats over TLS with SNI: a sync, then 40 B request/reply every 4 min. */
static void
gen_heartbeat(struct sess *s, double dur)
{
	double t = tls_handshake(s, sess_open(s), 517);

	t = sess_reply(s, sess_msg(s, t + 0.002, 0, 310), 1230, 0.02);
	for (t += 240; t < dur - 1; t += 240)
		sess_reply(s, sess_msg(s, t, 0, 40), 40, 0.001);
	sess_close(s, dur);
}

/** MQTT device over TLS: CONNECT, then a PUBLISH (QoS 1) every 15 s answered by PUBACK. */
static void
gen_mqtt_pub(struct sess *s, double dur)
{
	double t = tls_handshake(s, sess_open(s), 517);

	t = sess_reply(s, sess_msg(s, t + 0.002, 0, 22 + 64), 22 + 4, 0.002);
	for (t += 15; t < dur - 1; t += 15)
		sess_reply(s, sess_msg(s, t, 0, 22 + rnd_int(&s->rng, 60, 140)), 22 + 4, 0.002);
	sess_close(s, dur);
}

/**
 * MQTT-like subscriber on 443 with SNI: CONNECT, SUBSCRIBE; the server pushes every ~10 s
 * (100 .. 900 B), the client pings every 60 s (PINGREQ, answered).
 */
static void
gen_mqtt_sub(struct sess *s, double dur)
{
	double t = tls_handshake(s, sess_open(s), 517), start, x;

	t = sess_reply(s, sess_msg(s, t + 0.002, 0, 22 + 70), 22 + 4, 0.002);
	start = sess_reply(s, sess_msg(s, t + 0.001, 0, 22 + 40), 22 + 5, 0.002);
	for (x = start + 10; x < dur - 1; x += rnd_uni(&s->rng, 9.5, 10.5))
		sess_msg(s, x, 1, 22 + rnd_int(&s->rng, 100, 900));
	for (x = start + 60; x < dur - 1; x += 60)
		sess_reply(s, sess_msg(s, x, 0, 22 + 2), 22 + 2, 0.001);
	sess_close(s, dur);
}

/** Backup upload over TLS with SNI: 1 MB chunks every few seconds, each acknowledged. */
static void
gen_backup(struct sess *s, double dur)
{
	double t = tls_handshake(s, sess_open(s), 517);

	for (t += 0.01; t < dur - 10; t += rnd_uni(&s->rng, 4, 8))
		sess_reply(s, sess_msg(s, t, 0, 1u << 20), rnd_int(&s->rng, 180, 260), 0.02);
	sess_close(s, dur);
}

/* ---------------------------------------------------------------- A. miners */

/** A miner session must be alerted by @p within_s, for a reason of kind behaviour. */
static void
check_miner(struct sess *s, double within_s)
{
	struct run r;
	unsigned int alerts = 0;

	run_session(&r, s);
	print_run(&r);
	assert_true(r.alert_us != 0);
	assert_true(r.alert_us - s->t0 <= SEC(within_s));
	assert_true(r.alert_score >= (float)r.p.alert);
	assert_true(r.alert_kinds & (1u << SL_SIG_behaviour));
	for (unsigned int i = 0; i < r.nt.n; i++) {
		if (r.nt.r[i].type == SL_NOTE_ALERT) {
			alerts++;
			assert_int_equal(r.nt.r[i].old_level, SL_LEVEL_NONE);
			assert_true(r.nt.r[i].beh_pts >= 75); /* 80 % of 75 = the alert threshold */
			assert_int_equal(r.nt.r[i].flow_id, r.flow_id);
		}
	}
	assert_int_equal(alerts, 1); /* held while the flow lives: never re-alerted */
	assert_int_equal(r.finals, 1);
	run_fini(&r);
	sess_free(s);
}

static void
test_miner_tls_no_sni(void **state)
{
	const struct miner_shape m = {.share_mean = 15, .job_mean = 30, .dur = 300};
	struct sess s;

	(void)state;
	sess_init(&s, "miner tls no sni 15/30", 443, SL_SAMPLE_F_TLS | SL_SAMPLE_F_NO_SNI, 0.03,
		0x5107);
	gen_miner_tls(&s, &m);
	check_miner(&s, 120);
}

/*
 * !!! FAILS WITH THE CURRENT TUNING (see the report): with shares every ~40 s (Poisson) and
 * a keepalive after 60 s without one, a session has one or two shares by 120 s; the
 * behaviour points pass 75 only later.
 */
static void
test_miner_tls_no_sni_slow_shares(void **state)
{
	const struct miner_shape m = {.share_mean = 40, .job_mean = 60, .dur = 300};
	struct sess s;

	(void)state;
	sess_init(&s, "miner tls no sni 40/60", 443, SL_SAMPLE_F_TLS | SL_SAMPLE_F_NO_SNI, 0.05,
		0x5108);
	gen_miner_tls(&s, &m);
	/* a share every 40 s with keepalives between them: the size pattern needs about four
	 * shares, so the 2-minute target is not met by behaviour alone (see README, Scoring) */
	check_miner(&s, 240);
}

static void
test_miner_tls_no_sni_rare_jobs(void **state)
{
	const struct miner_shape m = {.share_mean = 10, .job_mean = 100, .dur = 300};
	struct sess s;

	(void)state;
	sess_init(&s, "miner tls no sni 10/100", 443, SL_SAMPLE_F_TLS | SL_SAMPLE_F_NO_SNI, 0.02,
		0x5109);
	gen_miner_tls(&s, &m);
	check_miner(&s, 120);
}

static void
test_miner_tls_sni(void **state)
{
	const struct miner_shape m = {.share_mean = 15, .job_mean = 30, .sni = 1, .dur = 300};
	struct sess s;

	(void)state;
	sess_init(&s, "miner tls sni 15/30", 443, SL_SAMPLE_F_TLS, 0.03, 0x510a);
	gen_miner_tls(&s, &m);
	check_miner(&s, 180);
}

/**
 * The same miner shapes over many seeds: how often each is alerted in time. Asserts the
 * bound on 90 % of seeds and prints the distribution (a tuning gauge, see the log).
 * !!! FAILS WITH THE CURRENT TUNING for shares every ~40 s (see the slow-shares test).
 */
static void
test_miner_seed_sweep(void **state)
{
	static const struct {
		const char *name;
		struct miner_shape m;
		uint8_t flags;
		double within;
	} shapes[] = {
		{"no sni 15/30", {15, 30, 0, 200}, SL_SAMPLE_F_TLS | SL_SAMPLE_F_NO_SNI, 120},
		{"no sni 40/60", {40, 60, 0, 400}, SL_SAMPLE_F_TLS | SL_SAMPLE_F_NO_SNI, 300},
		{"no sni 10/100", {10, 100, 0, 200}, SL_SAMPLE_F_TLS | SL_SAMPLE_F_NO_SNI, 120},
		{"sni 15/30", {15, 30, 1, 240}, SL_SAMPLE_F_TLS, 180},
	};
	const unsigned int seeds = 40;
	bool ok = true;

	(void)state;
	for (unsigned int k = 0; k < SL_ARRAY_SIZE(shapes); k++) {
		unsigned int in_time = 0;
		double worst = 0, sum = 0;

		for (unsigned int i = 0; i < seeds; i++) {
			struct sess s;
			struct run r;
			double at;

			sess_init(&s, shapes[k].name, 443, shapes[k].flags, 0.03, 0xabc000 + i * 7919);
			gen_miner_tls(&s, &shapes[k].m);
			run_session(&r, &s);
			at = r.alert_us ? (double)(r.alert_us - s.t0) / 1e6 : 1e9;
			in_time += at <= shapes[k].within;
			sum += SL_MIN(at, 999.0);
			if (at > worst)
				worst = at;
			run_fini(&r);
			sess_free(&s);
		}
		printf("sweep miner %-14s alerted within %3.0f s: %u/%u seeds, mean %.0f s, "
		       "worst %s%.0f s\n", shapes[k].name, shapes[k].within, in_time, seeds,
			sum / seeds, worst >= 1e9 ? "never " : "", worst >= 1e9 ? 0.0 : worst);
		ok &= in_time * 10 >= seeds * 9; /* at least 90 % of seeds */
	}
	fflush(stdout);
	assert_true(ok);
}

/** Stratum V2 over Noise: behaviour alone >= 50 points, with the Noise fingerprint alerted. */
static void
test_sv2_noise(void **state)
{
	struct sess s;
	struct run r;
	struct sl_score_view v;
	float beh_now = 0;

	(void)state;
	/* behaviour alone */
	sess_init(&s, "sv2 noise (behaviour only)", 34254, 0, 0.06, 0x5202);
	gen_sv2_noise(&s, 300);
	run_session(&r, &s);
	print_run(&r);
	assert_true(r.max_pts >= 50);
	assert_true(r.max_beh.matched & (1u << SL_BEH_opaque));
	assert_int_equal(r.max_beh.transport, SL_TRANSPORT_OPAQUE);
	assert_true(r.max_score >= 0.8f * 50);
	run_fini(&r);

	/* with the handshake shape detection (sv2_noise, weight 40) */
	s.det = SL_DET_sv2_noise;
	s.det_weight = 40;
	s.det_at = 0.1; /* the 234-byte answer */
	s.name = "sv2 noise + fingerprint";
	run_session(&r, &s);
	print_run(&r);
	assert_true(r.det_done);
	assert_true(r.alert_us != 0);
	assert_true(r.alert_us - s.t0 <= SEC(120));
	assert_true(r.alert_kinds & (1u << SL_SIG_fingerprint));
	assert_true(r.alert_kinds & (1u << SL_SIG_behaviour));
	/* while alive the fingerprint is refreshed by the samples: still full at the end */
	assert_int_equal(sl_score_get(r.sc, r.host, r.last.ts_us, &v), 0);
	for (unsigned int i = 0; i < v.nsig; i++) {
		if (v.sig[i].kind == SL_SIG_fingerprint)
			assert_float_equal(v.now_points[i], 40.0, 0.01);
		if (v.sig[i].kind == SL_SIG_behaviour)
			beh_now = v.now_points[i];
	}
	assert_true(beh_now >= 40.0f);
	run_fini(&r);
	sess_free(&s);
}

/* ---------------------------------------------------------------- A. benign */

/** A benign session must stay below the alert threshold for its whole length. */
static struct run
check_benign(struct sess *s, bool keep)
{
	struct run r;

	run_session(&r, s);
	print_run(&r);
	assert_int_equal(r.alert_us, 0);
	for (unsigned int i = 0; i < r.nt.n; i++)
		assert_int_not_equal(r.nt.r[i].type, SL_NOTE_ALERT);
	assert_true(r.max_score < (float)r.p.alert);
	if (!keep) {
		run_fini(&r);
		sess_free(s);
	}
	return r;
}

static void
test_benign_ssh_interactive(void **state)
{
	struct sess s;

	(void)state;
	/* a non-standard port, so the service-port gate does not hide the features */
	sess_init(&s, "ssh interactive :2222", 2222, SESS_SSH, 0.03, 0x55a1);
	gen_ssh_interactive(&s, 600);
	check_benign(&s, false);
}

static void
test_benign_ssh_idle(void **state)
{
	struct sess s;
	struct run r;

	(void)state;
	sess_init(&s, "ssh idle keepalive :2222", 2222, SESS_SSH, 0.03, 0x55a2);
	gen_ssh_idle(&s, 600, 30);
	r = check_benign(&s, true);
	assert_true(r.samples > 20);
	assert_int_equal(r.last_beh.gate, SL_GATE_known); /* SSH is recognised: not judged */
	run_fini(&r);
	/* the same on port 22: not judged at all */
	s.dport = 22;
	s.name = "ssh idle keepalive :22";
	r = check_benign(&s, true);
	assert_true(r.samples > 20);
	assert_int_equal(r.last_beh.gate, SL_GATE_known); /* SSH, whatever the port */
	assert_int_equal(r.max_pts, 0);
	assert_float_equal(r.max_score, 0, 0);
	run_fini(&r);
	sess_free(&s);
}

static void
test_benign_video(void **state)
{
	struct sess s;
	struct run r;

	(void)state;
	sess_init(&s, "video tls sni", 443, SL_SAMPLE_F_TLS, 0.02, 0x55a3);
	gen_video(&s, 600);
	r = check_benign(&s, true);
	/* bulk from the first segment on, before the first sample is due: never sampled */
	assert_true(r.end_bflags & SL_FLOW_B_BULK);
	assert_int_equal(r.samples, 0);
	assert_int_equal(r.nt.n, 0);
	run_fini(&r);
	sess_free(&s);
}

static void
test_benign_chat_ws(void **state)
{
	struct sess s;

	(void)state;
	sess_init(&s, "chat websocket tls sni", 443, SL_SAMPLE_F_TLS, 0.04, 0x55a4);
	gen_chat_ws(&s, 600);
	check_benign(&s, false);
}

static void
test_benign_heartbeat(void **state)
{
	struct sess s;

	(void)state;
	sess_init(&s, "messaging heartbeat tls sni", 443, SL_SAMPLE_F_TLS, 0.05, 0x55a5);
	gen_heartbeat(&s, 600);
	check_benign(&s, false);
}

static void
test_benign_mqtt_8883(void **state)
{
	struct sess s;
	struct run r;

	(void)state;
	sess_init(&s, "mqtt tls :8883", 8883, SL_SAMPLE_F_TLS, 0.03, 0x55a6);
	gen_mqtt_pub(&s, 600);
	r = check_benign(&s, true);
	assert_true(r.samples > 20);
	assert_int_equal(r.last_beh.gate, SL_GATE_service_port);
	assert_int_equal(r.max_pts, 0);
	run_fini(&r);
	sess_free(&s);
}

static void
test_benign_mqtt_sub_443(void **state)
{
	struct sess s;

	(void)state;
	sess_init(&s, "mqtt-like subscriber :443", 443, SL_SAMPLE_F_TLS, 0.03, 0x55a7);
	gen_mqtt_sub(&s, 600);
	check_benign(&s, false);
}

static void
test_benign_backup(void **state)
{
	struct sess s;
	struct run r;

	(void)state;
	sess_init(&s, "backup upload tls sni", 443, SL_SAMPLE_F_TLS, 0.02, 0x55a8);
	gen_backup(&s, 600);
	r = check_benign(&s, true);
	assert_true(r.end_bflags & SL_FLOW_B_BULK);
	assert_int_equal(r.samples, 0);
	assert_int_equal(r.nt.n, 0);
	run_fini(&r);
	sess_free(&s);
}

/**
 * The benign shapes over many seeds: none may be alerted. Prints how close each came (a
 * tuning gauge, see the log). !!! FAILS WITH THE CURRENT TUNING: constant-size keystrokes
 * with late command output (SSH off port 22), ping/pong (chat WebSocket) and fixed-size
 * pings with pushes (MQTT-like on 443) reach 75 behaviour points on some seeds.
 */
static void
test_benign_seed_sweep(void **state)
{
	enum { CHAT, SSH, SSH_IDLE, MQTT_SUB, NSHAPES };
	static const char *const names[NSHAPES] = {"chat ws", "ssh interactive", "ssh idle",
		"mqtt-like sub"};
	const unsigned int seeds = 30;
	unsigned int total_alerts = 0;

	(void)state;
	for (unsigned int k = 0; k < NSHAPES; k++) {
		unsigned int alerts = 0, near = 0;
		float worst = 0;

		for (unsigned int i = 0; i < seeds; i++) {
			struct sess s;
			struct run r;
			uint64_t seed = 0xb0b000 + i * 104729;

			switch (k) {
			case CHAT:
				sess_init(&s, names[k], 443, SL_SAMPLE_F_TLS, 0.04, seed);
				gen_chat_ws(&s, 600);
				break;
			case SSH:
				sess_init(&s, names[k], 2222, SESS_SSH, 0.03, seed);
				gen_ssh_interactive(&s, 600);
				break;
			case SSH_IDLE:
				sess_init(&s, names[k], 2222, SESS_SSH, 0.03, seed);
				gen_ssh_idle(&s, 600, 30);
				break;
			default:
				sess_init(&s, names[k], 443, SL_SAMPLE_F_TLS, 0.03, seed);
				gen_mqtt_sub(&s, 600);
				break;
			}
			run_session(&r, &s);
			alerts += r.alert_us != 0;
			near += r.max_score >= (float)r.p.alert - 10.0f;
			if (r.max_score > worst)
				worst = r.max_score;
			run_fini(&r);
			sess_free(&s);
		}
		printf("sweep benign %-16s alerted %u/%u seeds, within 10 points of it %u, "
		       "highest score %.1f\n", names[k], alerts, seeds, near, (double)worst);
		total_alerts += alerts;
	}
	fflush(stdout);
	assert_int_equal(total_alerts, 0);
}

/* ---------------------------------------------------------------- A. decay */

/** Score of the run's host at @p t (0 when forgotten). */
static float
score_at(struct run *r, uint64_t t)
{
	struct sl_score_view v;

	return sl_score_get(r->sc, r->host, t, &v) == 0 ? v.score : 0.0f;
}

/**
 * After the miner's flow ends (final sample), its behaviour signal halves every half-life;
 * the level falls back once the score is below alert - 10 (hysteresis), at the first decay
 * pass after that; the host is forgotten once its signal is below half a point.
 */
static void
test_decay_after_flow_end(void **state)
{
	const struct miner_shape m = {.share_mean = 15, .job_mean = 30, .dur = 300};
	struct sess s;
	struct run r;
	struct sl_score_view v;
	struct sl_score_stats st;
	uint64_t tf, half = 0, hold = 0, down_us = 0, t;
	float full, lim;
	unsigned int n0, downs = 0;

	(void)state;
	sess_init(&s, "miner decay", 443, SL_SAMPLE_F_TLS | SL_SAMPLE_F_NO_SNI, 0.03, 0x5107);
	gen_miner_tls(&s, &m);
	run_session(&r, &s);
	print_run(&r);
	assert_true(r.alert_us != 0);
	assert_int_equal(r.finals, 1);
	assert_true(r.last.final);
	tf = r.last.ts_us; /* the flow's last packet */
	assert_int_equal(tf, r.last_pkt_us);
	hold = r.p.hold_us;
	half = r.p.half_life_us;
	assert_int_equal(hold, SEC(30));
	assert_int_equal(half, SEC(300));
	assert_int_equal(sl_score_get(r.sc, r.host, tf, &v), 0);
	full = v.score;
	assert_true(full >= (float)r.p.alert);
	assert_int_equal(v.level, SL_LEVEL_ALERT);
	for (unsigned int i = 0; i < v.nsig; i++)
		assert_false(v.sig[i].live); /* the final sample ended them */
	/* exponential: one half-life apart, exactly half; monotone */
	assert_float_equal(score_at(&r, tf + hold + half), score_at(&r, tf + hold) / 2, 0.01);
	assert_true(score_at(&r, tf + hold) <= full);
	assert_true(score_at(&r, tf + 2 * hold) < score_at(&r, tf + hold));
	printf("    decay: full %.1f, +30 s %.1f, +330 s %.1f, +630 s %.1f\n", (double)full,
		(double)score_at(&r, tf + hold), (double)score_at(&r, tf + hold + half),
		(double)score_at(&r, tf + hold + 2 * half));

	/* decay passes every second on the control core's grid; the level falls once (the
	 * host is still known at +1800 s: 80 points take ~2200 s to fall below half a point) */
	n0 = r.nt.n;
	lim = (float)r.p.alert - 10.0f;
	for (t = sl_score_now(r.sc); t <= tf + SEC(1800); t += SEC(7))
		sl_score_advance(r.sc, NULL, NULL, r.tick_us, t);
	for (unsigned int i = n0; i < r.nt.n; i++) {
		assert_int_equal(r.nt.r[i].type, SL_NOTE_LEVEL);
		assert_int_equal(r.nt.r[i].old_level, SL_LEVEL_ALERT);
		assert_int_equal(r.nt.r[i].new_level, SL_LEVEL_NONE);
		assert_int_equal(r.nt.r[i].flow_id, 0); /* decay, not a flow */
		down_us = r.nt.r[i].ts_us;
		downs++;
	}
	assert_int_equal(downs, 1);
	assert_true(r.nt.r[n0].score < lim);
	/* the first pass (1 s grid) after the score went below alert - 10, not before */
	assert_true(score_at(&r, down_us) < lim);
	assert_true(score_at(&r, down_us - r.tick_us) >= lim);
	printf("    level down at +%.0f s after the flow's end (score %.1f)\n",
		(double)(down_us - tf) / 1e6, (double)r.nt.r[n0].score);
	for (; t <= tf + SEC(4000); t += SEC(7))
		sl_score_advance(r.sc, NULL, NULL, r.tick_us, t);
	assert_int_equal(r.nt.n, n0 + 1);
	/* everything below half a point: forgotten */
	assert_int_equal(sl_score_get(r.sc, r.host, tf + SEC(4000), &v), -ENOENT);
	sl_score_get_stats(r.sc, &st);
	assert_int_equal(st.hosts, 0);
	assert_int_equal(st.hosts_expired, 1);
	assert_int_equal(st.over_alert, 0);
	run_fini(&r);
	sess_free(&s);
}

/*
 * !!! EXPOSES A DISCREPANCY (see the report): score_hold_s is documented as "seconds a signal
 * counts fully after it was last seen", and the brief expects a miner's score to be full
 * 30 s after its flow's last packet and half at +330 s. sig_value() in lib/score/score.c
 * only applies the hold to live signals, so once the final sample arrives (live = 0) the
 * decay starts at the last packet: 93 % at +30 s, 47 % at +330 s.
 */
static void
test_decay_hold_after_flow_end(void **state)
{
	const struct miner_shape m = {.share_mean = 15, .job_mean = 30, .dur = 300};
	struct sess s;
	struct run r;
	struct sl_score_view v;
	uint64_t tf;
	float full;

	(void)state;
	sess_init(&s, "miner hold", 443, SL_SAMPLE_F_TLS | SL_SAMPLE_F_NO_SNI, 0.03, 0x5107);
	gen_miner_tls(&s, &m);
	run_session(&r, &s);
	tf = r.last.ts_us;
	assert_int_equal(sl_score_get(r.sc, r.host, tf, &v), 0);
	full = v.score;
	printf("    hold after end: full %.2f, +30 s %.2f (want full), +330 s %.2f (want %.2f)\n",
		(double)full, (double)score_at(&r, tf + SEC(30)), (double)score_at(&r, tf + SEC(330)),
		(double)full / 2);
	fflush(stdout);
	assert_float_equal(score_at(&r, tf + SEC(30)), full, 0.05);
	assert_float_equal(score_at(&r, tf + SEC(330)), full / 2, 0.05);
	run_fini(&r);
	sess_free(&s);
}

/* ---------------------------------------------------------------- A. gates and features */

/* Feature points as the header declares them (the rules that scale them are score.c's). */
#define SL_X_FPTS_(name, pts, help) pts,
static const unsigned int g_feature_points[] = {SL_BEH_FEATURES(SL_X_FPTS_)};
#undef SL_X_FPTS_

/** A sample that passes every gate: 120 s old, sparse, opaque, 10 messages each way. */
static struct sl_flow_sample
base_sample(void)
{
	struct sl_flow_sample s;

	memset(&s, 0, sizeof(s));
	s.proto = 6;
	s.dport = 443;
	s.age_ms = 120000;
	s.pkts[0] = s.pkts[1] = 20;
	s.bytes[0] = s.bytes[1] = 4000;
	s.msgs[0] = s.msgs[1] = 10;
	return s;
}

static void
test_behaviour_gates(void **state)
{
	struct sl_score_params p;
	struct sl_base_params bp;
	struct sl_flow_sample s;
	struct sl_beh b;

	(void)state;
	shipped_params(&p, &bp);
	s = base_sample();
	assert_true(sl_score_behaviour(&p, &s, &b) > 0);
	assert_int_equal(b.gate, SL_GATE_passed);
	assert_int_equal(b.transport, SL_TRANSPORT_OPAQUE);
	assert_true(b.matched & (1u << SL_BEH_opaque));
	assert_float_equal(b.bytes_per_pkt, 200, 0.01);
	assert_float_equal(b.client_gap_s, 12, 0.01);
	assert_float_equal(b.up_share, 0.5, 0.001);
	assert_float_equal(b.age_s, 120, 0.001);
	assert_int_equal(b.points, sl_score_behaviour(&p, &s, &b));

	s = base_sample();
	s.proto = 17;
	assert_int_equal(sl_score_behaviour(&p, &s, &b), 0);
	assert_int_equal(b.gate, SL_GATE_not_tcp);
	assert_int_equal(b.matched, 0);
	s = base_sample();
	s.flags = SL_SAMPLE_F_BULK;
	assert_int_equal(sl_score_behaviour(&p, &s, &b), 0);
	assert_int_equal(b.gate, SL_GATE_bulk);
	s = base_sample();
	s.age_ms = (uint32_t)(p.beh_min_age_us / 1000) - 1;
	assert_int_equal(sl_score_behaviour(&p, &s, &b), 0);
	assert_int_equal(b.gate, SL_GATE_young);
	s.age_ms++;
	sl_score_behaviour(&p, &s, &b);
	assert_int_equal(b.gate, SL_GATE_passed);
	s = base_sample();
	s.msgs[1] = p.beh_min_msgs - 1;
	assert_int_equal(sl_score_behaviour(&p, &s, &b), 0);
	assert_int_equal(b.gate, SL_GATE_few_messages);
	s = base_sample();
	s.msgs[0] = p.beh_min_msgs - 1;
	assert_int_equal(sl_score_behaviour(&p, &s, &b), 0);
	assert_int_equal(b.gate, SL_GATE_few_messages);
	s = base_sample();
	s.bytes[0] = (p.beh_max_bpp + 1) * 40 - 4000; /* just over the bytes per packet */
	assert_int_equal(sl_score_behaviour(&p, &s, &b), 0);
	assert_int_equal(b.gate, SL_GATE_dense);
	s.bytes[0] -= 40;
	sl_score_behaviour(&p, &s, &b);
	assert_int_equal(b.gate, SL_GATE_passed);
	s = base_sample();
	s.pkts[0] = s.pkts[1] = 100000;
	s.bytes[0] = s.bytes[1] = p.beh_max_rate * 60 + 1; /* just over the rate over 120 s */
	assert_int_equal(sl_score_behaviour(&p, &s, &b), 0);
	assert_int_equal(b.gate, SL_GATE_dense);
	s = base_sample();
	s.flags = SL_SAMPLE_F_PLAIN;
	assert_int_equal(sl_score_behaviour(&p, &s, &b), 0);
	assert_int_equal(b.gate, SL_GATE_cleartext);
	assert_int_equal(b.transport, SL_TRANSPORT_KNOWN);
	s = base_sample();
	s.dport = 8883;
	assert_int_equal(sl_score_behaviour(&p, &s, &b), 0);
	assert_int_equal(b.gate, SL_GATE_service_port);
	s.dport = 22;
	assert_int_equal(sl_score_behaviour(&p, &s, &b), 0);
	assert_int_equal(b.gate, SL_GATE_service_port);
	s.dport = 8884;
	sl_score_behaviour(&p, &s, &b);
	assert_int_equal(b.gate, SL_GATE_passed);
	assert_string_equal(sl_beh_gate_name(SL_GATE_service_port), "service_port");
	assert_null(sl_beh_gate_name(SL_GATE_MAX));
	assert_string_equal(sl_beh_feature_name(SL_BEH_server_pushes), "server_pushes");
	assert_null(sl_beh_feature_name(SL_BEH_MAX));
}

/** A pool session's sample: TLS without SNI, jobs pushed, shares of one size. */
static struct sl_flow_sample
pool_sample(void)
{
	struct sl_flow_sample s = base_sample();

	s.flags = SL_SAMPLE_F_TLS | SL_SAMPLE_F_NO_SNI;
	s.unsol = 4;
	s.cn = 8;
	s.crep = 7;
	s.answered = 8; /* every share acknowledged */
	s.un = 4;
	s.urep = 3;
	s.csz_mean = 250;
	s.usz_mean = 520;
	s.gap_cv = 1.0f; /* Poisson share finds */
	return s;
}

static void
test_behaviour_features(void **state)
{
	struct sl_score_params p;
	struct sl_base_params bp;
	struct sl_flow_sample s;
	struct sl_beh b;
	unsigned int full, sni, bin, n;

	(void)state;
	shipped_params(&p, &bp);
	/* a full pool shape: every core feature, enough for an alert on its own */
	s = pool_sample();
	full = sl_score_behaviour(&p, &s, &b);
	printf("    pool shape: %u points, matched 0x%x\n", full, b.matched);
	assert_true(full * p.weight[SL_SIG_behaviour] >= p.alert * 100u);
	assert_true(full <= 100);
	for (unsigned int f = SL_BEH_server_pushes; f <= SL_BEH_small_messages; f++)
		assert_true(b.matched & (1u << f));
	assert_int_equal(b.transport, SL_TRANSPORT_TLS_NO_SNI);
	assert_int_equal(b.pushes, 4);
	/* the same over TLS with a server name, and over unrecognised binary */
	s.flags = SL_SAMPLE_F_TLS;
	sni = sl_score_behaviour(&p, &s, &b);
	assert_false(b.matched & (1u << SL_BEH_opaque));
	assert_int_equal(b.transport, SL_TRANSPORT_TLS_SNI);
	s.flags = 0;
	bin = sl_score_behaviour(&p, &s, &b);
	assert_true(b.matched & (1u << SL_BEH_opaque));
	assert_true(full >= bin && bin >= sni);
	assert_true(full > sni);
	/* SSH: a recognised protocol, not judged by behaviour */
	s.flags = 0;
	s.known = SL_KNOWN_ssh;
	assert_int_equal(sl_score_behaviour(&p, &s, &b), 0);
	assert_int_equal(b.transport, SL_TRANSPORT_KNOWN);
	assert_int_equal(b.gate, SL_GATE_known);
	assert_int_equal(b.known, SL_KNOWN_ssh);
	/* score_beh_known = 0: named, but judged like any unrecognised binary stream */
	p.beh_known = false;
	assert_int_equal(sl_score_behaviour(&p, &s, &b), bin);
	assert_int_equal(b.gate, SL_GATE_passed);
	p.beh_known = true;
	/* requests nobody answers within a round trip are a timer's heartbeats, not shares a
	 * pool acknowledges: no steady_requests */
	s = pool_sample();
	s.answered = 1;
	n = sl_score_behaviour(&p, &s, &b);
	assert_false(b.matched & (1u << SL_BEH_steady_requests));
	assert_true(n * p.weight[SL_SIG_behaviour] < p.alert * 100u);
	s.answered = 4; /* half answered: a pool's shares */
	assert_int_equal(sl_score_behaviour(&p, &s, &b), full);
	/* each feature removed takes points away */
	s = pool_sample();
	s.unsol = 0;
	s.un = s.urep = 0;
	s.usz_mean = 0;
	n = sl_score_behaviour(&p, &s, &b);
	assert_false(b.matched & (1u << SL_BEH_server_pushes));
	assert_false(b.matched & (1u << SL_BEH_steady_pushes));
	assert_true(n < full || full == 100);
	assert_true(n + g_feature_points[SL_BEH_server_pushes] <= 100 || full == 100);
	s = pool_sample();
	s.crep = 0;
	sl_score_behaviour(&p, &s, &b);
	assert_false(b.matched & (1u << SL_BEH_steady_requests));
	s = pool_sample();
	s.urep = 0;
	sl_score_behaviour(&p, &s, &b);
	assert_false(b.matched & (1u << SL_BEH_steady_pushes));
	/* one push: some points, fewer than several */
	s = pool_sample();
	s.unsol = 1;
	s.un = 1;
	s.urep = 0;
	sl_score_behaviour(&p, &s, &b);
	assert_true(b.matched & (1u << SL_BEH_server_pushes));
	/* sizes that do not repeat: no steady requests */
	s = pool_sample();
	s.crep = 1;
	s.cmiss = 18;
	s.cn = 20;
	sl_score_behaviour(&p, &s, &b);
	assert_false(b.matched & (1u << SL_BEH_steady_requests));
	/* cadence band: mean request gap score_beh_gap_min_ms .. score_beh_gap_max_ms */
	s = pool_sample();
	s.msgs[0] = (uint32_t)(120000 / p.beh_gap_min_ms) + 1; /* mean gap just under the band */
	sl_score_behaviour(&p, &s, &b);
	assert_true(b.client_gap_s * 1000 < (float)p.beh_gap_min_ms);
	assert_false(b.matched & (1u << SL_BEH_cadence));
	s.msgs[0] = 10;
	sl_score_behaviour(&p, &s, &b);
	assert_true(b.matched & (1u << SL_BEH_cadence));
	/* small messages: requests up to 600 B, pushes up to 1500 B */
	s = pool_sample();
	s.csz_mean = 600;
	sl_score_behaviour(&p, &s, &b);
	assert_true(b.matched & (1u << SL_BEH_small_messages));
	s.csz_mean = 601;
	sl_score_behaviour(&p, &s, &b);
	assert_false(b.matched & (1u << SL_BEH_small_messages));
	s.csz_mean = 200;
	s.usz_mean = 1501;
	sl_score_behaviour(&p, &s, &b);
	assert_false(b.matched & (1u << SL_BEH_small_messages));
	/* points never exceed 100 */
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(g_feature_points); i++)
		assert_true(g_feature_points[i] <= 100);
}

/* ---------------------------------------------------------------- B. mechanics */

static void
mk_addr(uint32_t n, uint8_t a[16])
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = 10;
	a[13] = (uint8_t)(n >> 16);
	a[14] = (uint8_t)(n >> 8);
	a[15] = (uint8_t)n;
}

static struct sl_event
mk_event(unsigned int det, uint32_t host, uint64_t flow_id, uint64_t ts_us, uint8_t proto)
{
	struct sl_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.ts_us = ts_us;
	ev.flow_id = flow_id;
	mk_addr(host, ev.src);
	mk_addr(0xfe0000 + host, ev.dst);
	ev.sport = 40000;
	ev.dport = 3333;
	ev.proto = proto;
	ev.detector = (uint8_t)det;
	ev.host = SL_EV_HOST_SRC;
	memcpy(ev.excerpt, "mining.submit", 13);
	ev.excerpt_len = 13;
	return ev;
}

static void
detect(struct sl_score *s, unsigned int det, uint32_t host, uint64_t flow, uint64_t ts,
	unsigned int weight)
{
	struct sl_event ev = mk_event(det, host, flow, ts, 6);

	sl_score_detection(s, &ev, weight);
}

static float
host_score(struct sl_score *s, uint32_t host, uint64_t ts)
{
	struct sl_score_view v;
	uint8_t a[16];

	mk_addr(host, a);
	return sl_score_get(s, a, ts, &v) == 0 ? v.score : -1.0f;
}

/** Points a detection of @p det with detector weight @p w gives. */
static float
pts_of(const struct sl_score_params *p, unsigned int det, unsigned int w)
{
	return (float)p->weight[sl_signal_kind_of(det)] * (float)SL_MIN(w, 100u) / 100.0f;
}

static uint8_t
level_of(const struct sl_score_params *p, float score)
{
	return score >= (float)p->block ? SL_LEVEL_BLOCK :
	       score >= (float)p->alert ? SL_LEVEL_ALERT : SL_LEVEL_NONE;
}

/* The active probe's signals: weak evidence about one peer, a confirmation (pool_confirmed,
 * tied to the flow of the evidence, strong), a refutation (behaviour and fingerprint about
 * that peer removed, a listed address kept). */
static void
test_probe_signals(void **state)
{
	struct sl_score_params p;
	struct sl_base_params bp;
	struct notes nt = {0};
	struct sl_score *s;
	struct sl_score_view v;
	uint8_t h1[16], h2[16], h3[16], peer1[16], peer2[16];
	const uint64_t t = T0_US;
	const uint8_t ans[] = "{\"id\":1,\"result\":[[[\"mining.notify\",\"ae68\"]],\"08000002\",4]}";
	const struct sl_signal *g = NULL;
	bool strong;

	(void)state;
	shipped_params(&p, &bp);
	assert_int_equal(p.weight[SL_SIG_pool_confirmed], 90);
	s = mk_score(&p, &nt);
	mk_addr(1, h1);
	mk_addr(2, h2);
	mk_addr(3, h3);
	mk_addr(0xfe0000 + 1, peer1);
	mk_addr(0xfe0000 + 2, peer2);
	detect(s, SL_DET_sv2_noise, 1, 11, t, 40);
	detect(s, SL_DET_pool_ip, 1, 12, t, 50);
	assert_float_equal(sl_score_peer_evidence(s, h1, peer1, 3333, &strong), 40 + 35, 0.001);
	assert_false(strong);
	assert_float_equal(sl_score_peer_evidence(s, h1, peer1, 4444, &strong), 0, 0.001);
	assert_float_equal(sl_score_peer_evidence(s, h3, peer1, 3333, &strong), 0, 0.001);
	assert_int_equal(sl_score_confirmed(s, h1, peer1, 3333, SL_DET_stratum_subscribe,
		0 /* stratum */, true, ans, sizeof(ans) - 1, 250, t + 1000), 0);
	assert_float_equal(host_score(s, 1, t + 1000), 100, 0.001);
	assert_int_equal(sl_score_get(s, h1, t + 1000, &v), 0);
	assert_int_equal(v.level, SL_LEVEL_BLOCK);
	for (unsigned int i = 0; i < v.nsig; i++)
		if (v.sig[i].kind == SL_SIG_pool_confirmed)
			g = &v.sig[i];
	assert_non_null(g);
	assert_float_equal(g->points, 90, 0.001);
	assert_int_equal(g->flow_id, 11); /* the flow of the evidence that asked */
	assert_int_equal(g->dport, 3333);
	assert_int_equal(g->u.probe.tls, 1);
	assert_int_equal(g->u.probe.latency_ms, 250);
	assert_memory_equal(g->u.probe.answer, ans, g->u.probe.len);
	assert_int_equal(sl_signal_sid(g), 8100907);
	assert_string_equal(sl_signal_kind_name(SL_SIG_pool_confirmed), "pool_confirmed");
	sl_score_peer_evidence(s, h1, peer1, 3333, &strong);
	assert_true(strong); /* confirmed: no second probe */
	/* refuted: the Noise shape about that peer goes, the listed address stays */
	detect(s, SL_DET_sv2_noise, 2, 21, t, 40);
	detect(s, SL_DET_pool_ip, 2, 22, t, 50);
	assert_float_equal(host_score(s, 2, t), 75, 0.001);
	assert_int_equal(sl_score_refuted(s, h2, peer2, 4444, t + 10), 0); /* another port */
	assert_int_equal(sl_score_refuted(s, h2, peer2, 3333, t + 10), 1);
	assert_float_equal(host_score(s, 2, t + 10), 35, 0.001);
	assert_int_equal(sl_score_refuted(s, h3, peer2, 3333, t + 10), 0); /* no such host */
	/* a confirmation for a host with no signal yet (its behaviour was held) */
	assert_int_equal(sl_score_confirmed(s, h3, peer1, 3333, SL_DET_xmr_login, 1, false, ans, 4,
		10, t + 20), 0);
	assert_float_equal(host_score(s, 3, t + 20), 90, 0.001);
	score_free(s);
}

static void
test_kind_max(void **state)
{
	struct sl_score_params p;
	struct sl_base_params bp;
	struct notes nt = {0};
	struct sl_score *s;
	struct sl_score_view v;
	uint8_t a[16];
	const uint64_t t = T0_US;
	float dpi, name, ip;

	(void)state;
	shipped_params(&p, &bp);
	s = mk_score(&p, &nt);
	detect(s, SL_DET_stratum_subscribe, 1, 11, t, 30);
	dpi = pts_of(&p, SL_DET_stratum_subscribe, 30);
	assert_float_equal(host_score(s, 1, t), dpi, 0.001);
	detect(s, SL_DET_xmr_login, 1, 12, t, 20); /* another dpi detector, weaker: same kind */
	assert_float_equal(host_score(s, 1, t), dpi, 0.001);
	detect(s, SL_DET_stratum_authorize, 1, 13, t, 35); /* stronger: it counts, not the sum */
	dpi = pts_of(&p, SL_DET_stratum_authorize, 35);
	assert_float_equal(host_score(s, 1, t), dpi, 0.001);
	detect(s, SL_DET_dns_pool_name, 1, 14, t, 40); /* pool_name: its own kind, added */
	name = pts_of(&p, SL_DET_dns_pool_name, 40);
	assert_float_equal(host_score(s, 1, t), dpi + name, 0.001);
	detect(s, SL_DET_tls_sni_pool, 1, 15, t, 30); /* pool_name, weaker: no change */
	assert_float_equal(host_score(s, 1, t), dpi + name, 0.001);
	detect(s, SL_DET_pool_ip, 1, 16, t, 50);
	ip = pts_of(&p, SL_DET_pool_ip, 50);
	assert_float_equal(host_score(s, 1, t), SL_MIN(dpi + name + ip, 100.0f), 0.001);
	detect(s, SL_DET_stratum_submit, 1, 17, t, 95); /* everything: capped at 100 */
	assert_float_equal(host_score(s, 1, t), 100, 0.001);
	mk_addr(1, a);
	assert_int_equal(sl_score_get(s, a, t, &v), 0);
	assert_int_equal(v.nsig, 7); /* one slot per (kind, detector) */
	assert_float_equal(v.peak, 100, 0.001);
	assert_int_equal(v.level, SL_LEVEL_BLOCK);
	/* weights above 100 count as 100 */
	detect(s, SL_DET_pool_ip, 2, 21, t, 250);
	assert_float_equal(host_score(s, 2, t), (float)p.weight[SL_SIG_pool_ip], 0.001);
	assert_int_equal(sl_signal_kind_of(SL_DET_sv2_noise), SL_SIG_fingerprint);
	assert_int_equal(sl_signal_kind_of(SL_DET_http_host_pool), SL_SIG_pool_name);
	assert_int_equal(sl_signal_kind_of(SL_DET_ws_miner_job), SL_SIG_dpi);
	assert_string_equal(sl_signal_kind_name(SL_SIG_behaviour), "behaviour");
	assert_null(sl_signal_kind_name(SL_SIG_MAX));
	assert_non_null(sl_signal_kind_help(SL_SIG_dpi));
	score_free(s);
}

static void
test_levels_and_notes(void **state)
{
	struct sl_score_params p;
	struct sl_base_params bp;
	struct notes nt = {0};
	struct sl_score *s;
	struct sl_score_stats st;
	const uint64_t t = T0_US;
	float share, name, both;
	unsigned int n;

	(void)state;
	shipped_params(&p, &bp);
	s = mk_score(&p, &nt);
	/* a share alone (95): straight to block: one alert note, then one level note */
	share = pts_of(&p, SL_DET_stratum_submit, 95);
	assert_true(share >= (float)p.block);
	detect(s, SL_DET_stratum_submit, 1, 0xabc, t, 95);
	assert_float_equal(host_score(s, 1, t), share, 0.001);
	assert_int_equal(nt.n, 2);
	assert_int_equal(nt.r[0].type, SL_NOTE_ALERT);
	assert_int_equal(nt.r[0].old_level, SL_LEVEL_NONE);
	assert_int_equal(nt.r[0].new_level, SL_LEVEL_BLOCK);
	assert_int_equal(nt.r[0].flow_id, 0xabc);
	assert_int_equal(nt.r[0].kinds, 1u << SL_SIG_dpi);
	assert_int_equal(nt.r[0].ts_us, t);
	assert_int_equal(nt.r[0].addr15, 1);
	assert_int_equal(nt.r[1].type, SL_NOTE_LEVEL);
	assert_int_equal(nt.r[1].old_level, SL_LEVEL_NONE);
	assert_int_equal(nt.r[1].new_level, SL_LEVEL_BLOCK);
	/* repeated: no new notes */
	detect(s, SL_DET_stratum_submit, 1, 0xabc, t + SEC(5), 95);
	assert_int_equal(nt.n, 2);
	/* a pool name alone (dns_pool_name, 60) stays below the alert threshold, silent */
	name = pts_of(&p, SL_DET_dns_pool_name, 60);
	assert_true(name < (float)p.alert);
	detect(s, SL_DET_dns_pool_name, 2, 0xdd, t, 60);
	assert_float_equal(host_score(s, 2, t), name, 0.001);
	assert_int_equal(nt.n, 2);
	/* plus the pool address (pool_ip, 50): over it */
	both = name + pts_of(&p, SL_DET_pool_ip, 50);
	assert_true(both >= (float)p.alert);
	detect(s, SL_DET_pool_ip, 2, 0xee, t + SEC(1), 50);
	assert_float_equal(host_score(s, 2, t + SEC(1)), both, 0.001);
	assert_int_equal(nt.n, 4);
	assert_int_equal(nt.r[2].type, SL_NOTE_ALERT);
	assert_int_equal(nt.r[2].new_level, level_of(&p, both));
	assert_int_equal(nt.r[2].flow_id, 0xee);
	assert_int_equal(nt.r[2].kinds, (1u << SL_SIG_pool_name) | (1u << SL_SIG_pool_ip));
	assert_int_equal(nt.r[2].nsig, 2);
	assert_int_equal(nt.r[2].addr15, 2);
	assert_int_equal(nt.r[3].type, SL_NOTE_LEVEL);
	printf("    dns_pool_name %.1f alone, + pool_ip %.1f: level %u\n", (double)name,
		(double)both, nt.r[2].new_level);
	sl_score_tick(s, t + SEC(2));
	sl_score_get_stats(s, &st);
	assert_int_equal(st.detections, 4);
	assert_int_equal(st.alerts, 2);
	assert_int_equal(st.level_changes, 2);
	assert_int_equal(st.over_alert, 2);
	assert_int_equal(st.over_block, 1 + (level_of(&p, both) == SL_LEVEL_BLOCK));
	assert_int_equal(st.hosts, 2);
	/* block -> alert needs block - 10: host 1's share decays below it (last seen at t + 5 s)
	 * after the hold and half-lives; not one pass earlier */
	{
		double d = 30.0 + 300.0 * log2((double)share / ((double)p.block - 10.0));
		uint64_t at = t + SEC(5) + (uint64_t)(d * 1e6);

		n = nt.n;
		sl_score_tick(s, at - SEC(1));
		for (unsigned int i = n; i < nt.n; i++)
			assert_int_not_equal(nt.r[i].addr15, 1);
		n = nt.n;
		sl_score_tick(s, at + SEC(1));
		while (n < nt.n && nt.r[n].addr15 != 1)
			n++; /* host 2 may change level in the same pass */
		assert_true(n < nt.n);
		assert_int_equal(nt.r[n].type, SL_NOTE_LEVEL);
		assert_int_equal(nt.r[n].old_level, SL_LEVEL_BLOCK);
		assert_int_equal(nt.r[n].new_level, SL_LEVEL_ALERT);
		assert_int_equal(nt.r[n].flow_id, 0);
	}
	score_free(s);
}

/* Eight dpi detectors of increasing weight fill a host's slots; then a stronger one and a
 * weaker one arrive. */
static void
test_slot_replacement(void **state)
{
	static const unsigned int dets[] = {SL_DET_stratum_subscribe, SL_DET_stratum_authorize,
		SL_DET_stratum_configure, SL_DET_stratum_notify, SL_DET_xmr_login, SL_DET_xmr_job,
		SL_DET_xmr_submit, SL_DET_miner_agent, SL_DET_eth_get_work, SL_DET_http_getwork};
	struct sl_score_params p;
	struct sl_base_params bp;
	struct sl_score *s;
	struct sl_score_view v;
	struct sl_score_stats st;
	uint8_t a[16];
	const uint64_t t = T0_US;
	bool have_first = false, have_ninth = false;

	(void)state;
	shipped_params(&p, &bp);
	s = mk_score(&p, NULL);
	for (unsigned int i = 0; i < SL_SCORE_SIGNALS; i++)
		detect(s, dets[i], 1, 100 + i, t, 10 * (i + 1));
	mk_addr(1, a);
	assert_int_equal(sl_score_get(s, a, t, &v), 0);
	assert_int_equal(v.nsig, SL_SCORE_SIGNALS);
	sl_score_get_stats(s, &st);
	assert_int_equal(st.signals_replaced, 0);
	/* a ninth, stronger: the weakest (10) goes */
	detect(s, dets[8], 1, 200, t, 90);
	sl_score_get_stats(s, &st);
	assert_int_equal(st.signals_replaced, 1);
	assert_int_equal(sl_score_get(s, a, t, &v), 0);
	assert_int_equal(v.nsig, SL_SCORE_SIGNALS);
	for (unsigned int i = 0; i < v.nsig; i++) {
		have_first |= v.sig[i].detector == dets[0];
		have_ninth |= v.sig[i].detector == dets[8];
	}
	assert_false(have_first);
	assert_true(have_ninth);
	assert_float_equal(v.score, 90, 0.001);
	/* a tenth, weaker than everything kept: dropped */
	detect(s, dets[9], 1, 300, t, 5);
	sl_score_get_stats(s, &st);
	assert_int_equal(st.signals_replaced, 1);
	assert_int_equal(sl_score_get(s, a, t, &v), 0);
	for (unsigned int i = 0; i < v.nsig; i++)
		assert_int_not_equal(v.sig[i].detector, dets[9]);
	/* the same detector from another flow, weaker than what is kept: counted, not taken */
	detect(s, dets[8], 1, 400, t, 50);
	assert_int_equal(sl_score_get(s, a, t, &v), 0);
	for (unsigned int i = 0; i < v.nsig; i++) {
		if (v.sig[i].detector == dets[8]) {
			assert_int_equal(v.sig[i].flow_id, 200);
			assert_int_equal(v.sig[i].count, 2);
			assert_float_equal(v.sig[i].points, 90, 0.001);
		}
	}
	score_free(s);
}

static void
test_table_full(void **state)
{
	struct sl_score_params p;
	struct sl_base_params bp;
	struct notes nt = {0};
	struct sl_score *s;
	struct sl_score_stats st;
	struct sl_score_view top[8];
	const uint64_t t = T0_US;

	(void)state;
	shipped_params(&p, &bp);
	p.capacity = 64;
	s = mk_score(&p, &nt);
	for (uint32_t h = 1; h <= 100; h++)
		detect(s, SL_DET_dns_pool_name, h, h, t, 60);
	sl_score_tick(s, t + SEC(1));
	sl_score_get_stats(s, &st);
	assert_int_equal(st.detections, 100);
	assert_int_equal(st.hosts, 64);
	assert_int_equal(st.table_full, 36);
	assert_float_equal(host_score(s, 1, t), pts_of(&p, SL_DET_dns_pool_name, 60), 0.001);
	assert_float_equal(host_score(s, 100, t), -1, 0);
	assert_int_equal(sl_score_top(s, t, top, 8), 8);
	assert_int_equal(nt.n, 0);
	score_free(s);
	/* bad parameters */
	p.capacity = 0;
	rte_errno = 0;
	assert_null(sl_score_create(&p, (int)rte_socket_id(), NULL, NULL));
	assert_int_equal(rte_errno, EINVAL);
	shipped_params(&p, &bp);
	p.block = p.alert - 1;
	assert_null(sl_score_create(&p, (int)rte_socket_id(), NULL, NULL));
	sl_score_free(NULL);
	assert_true(sl_score_memsize(1000) > sl_score_memsize(10));
}

static void
test_top(void **state)
{
	struct sl_score_params p;
	struct sl_base_params bp;
	struct sl_score *s;
	struct sl_score_view top[20];
	const uint64_t t = T0_US;
	/* hosts and their dpi weights (points): two ties */
	static const unsigned int w[10] = {30, 90, 10, 70, 50, 70, 20, 100, 40, 60};

	(void)state;
	shipped_params(&p, &bp);
	s = mk_score(&p, NULL);
	for (uint32_t h = 0; h < 10; h++)
		detect(s, SL_DET_stratum_submit, 10 - h, h, t, w[h]); /* host 10 - h */
	assert_int_equal(sl_score_top(s, t, top, 0), 0);
	assert_int_equal(sl_score_top(s, t, top, 3), 3);
	assert_float_equal(top[0].score, 100, 0.001);
	assert_float_equal(top[1].score, 90, 0.001);
	assert_float_equal(top[2].score, 70, 0.001);
	assert_int_equal(top[2].addr[15], 5); /* of the 70s (hosts 7 and 5), the lower address */
	assert_int_equal(sl_score_top(s, t, top, 20), 10);
	for (unsigned int i = 1; i < 10; i++) {
		assert_true(top[i - 1].score >= top[i].score);
		if (top[i - 1].score == top[i].score)
			assert_true(memcmp(top[i - 1].addr, top[i].addr, 16) < 0);
	}
	assert_int_equal(top[3].addr[15], 7);
	assert_float_equal(top[9].score, 10, 0.001);
	score_free(s);
}

static void
test_params_from_cfg(void **state)
{
	struct sl_cfg c;
	struct sl_score_params p;
	struct sl_base_params bp;
	char err[256];
	char many[256] = "";

	(void)state;
	sl_cfg_defaults(&c);
	assert_int_equal(sl_score_params_from_cfg(&c, &p, &bp, err, sizeof(err)), 0);
	assert_int_equal(p.alert, c.score_alert);
	assert_int_equal(p.block, c.score_block);
	assert_int_equal(p.weight[SL_SIG_dpi], c.score_weight_dpi);
	assert_int_equal(p.weight[SL_SIG_pool_name], c.score_weight_pool_name);
	assert_int_equal(p.weight[SL_SIG_pool_ip], c.score_weight_pool_ip);
	assert_int_equal(p.weight[SL_SIG_fingerprint], c.score_weight_fingerprint);
	assert_int_equal(p.weight[SL_SIG_behaviour], c.score_weight_behaviour);
	assert_int_equal(p.weight[SL_SIG_baseline], c.score_weight_baseline);
	assert_int_equal(p.hold_us, c.score_hold_s * 1000000);
	assert_int_equal(p.half_life_us, c.score_half_life_s * 1000000);
	assert_int_equal(p.beh_min_msgs, c.score_beh_min_messages);
	assert_int_equal(p.nservice_ports, 9);
	assert_int_equal(p.service_ports[0], 22);
	assert_int_equal(p.service_ports[8], 8883);
	assert_int_equal(bp.bucket_us, SEC(60));
	assert_int_equal(bp.warmup, 10);
	assert_float_equal(bp.z, 4, 0);
	/* block below alert */
	c.score_block = 50;
	err[0] = '\0';
	assert_int_equal(sl_score_params_from_cfg(&c, &p, &bp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "score_block"));
	/* port lists */
	sl_cfg_defaults(&c);
	snprintf(c.score_beh_service_ports, sizeof(c.score_beh_service_ports), "22,abc");
	err[0] = '\0';
	assert_int_equal(sl_score_params_from_cfg(&c, &p, &bp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "abc"));
	snprintf(c.score_beh_service_ports, sizeof(c.score_beh_service_ports), "22,443x");
	assert_int_equal(sl_score_params_from_cfg(&c, &p, &bp, err, sizeof(err)), -EINVAL);
	snprintf(c.score_beh_service_ports, sizeof(c.score_beh_service_ports), "0");
	assert_int_equal(sl_score_params_from_cfg(&c, &p, &bp, err, sizeof(err)), -EINVAL);
	snprintf(c.score_beh_service_ports, sizeof(c.score_beh_service_ports), "65536");
	assert_int_equal(sl_score_params_from_cfg(&c, &p, &bp, err, sizeof(err)), -EINVAL);
	snprintf(c.score_beh_service_ports, sizeof(c.score_beh_service_ports), " 22, 443\t8883 ,");
	assert_int_equal(sl_score_params_from_cfg(&c, &p, &bp, err, sizeof(err)), 0);
	assert_int_equal(p.nservice_ports, 3);
	assert_int_equal(p.service_ports[1], 443);
	c.score_beh_service_ports[0] = '\0';
	assert_int_equal(sl_score_params_from_cfg(&c, &p, &bp, err, sizeof(err)), 0);
	assert_int_equal(p.nservice_ports, 0);
	for (unsigned int i = 0; i < 32; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%u,", 1000 + i);
	snprintf(c.score_beh_service_ports, sizeof(c.score_beh_service_ports), "%s", many);
	assert_int_equal(sl_score_params_from_cfg(&c, &p, &bp, err, sizeof(err)), 0);
	assert_int_equal(p.nservice_ports, 32);
	snprintf(c.score_beh_service_ports, sizeof(c.score_beh_service_ports), "%s2000", many);
	err[0] = '\0';
	assert_int_equal(sl_score_params_from_cfg(&c, &p, &bp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 32"));
}

/** Detection weight that puts a host between the alert and block thresholds with one dpi
 * detection. */
static unsigned int
advance_weight(const struct sl_score_params *p)
{
	return (unsigned int)ceil((double)(p->alert + p->block) / 2.0 * 100.0 /
		(double)p->weight[SL_SIG_dpi]);
}

/** A dpi detection at @p t of host 1 between alert and block, for the advance tests. */
static void
advance_case(struct sl_score *s, uint64_t t)
{
	struct sl_score_params p;

	sl_score_params_get(s, &p);
	sl_score_advance(s, NULL, NULL, SEC(1), t); /* starts the clock */
	detect(s, SL_DET_xmr_submit, 1, 1, t, advance_weight(&p));
}

/** Run the advance case to @p end in steps of @p step; notes into @p nt, stats into @p st. */
static void
advance_run(uint64_t t, uint64_t end, uint64_t step, struct notes *nt, struct sl_score_stats *st)
{
	struct sl_score_params p;
	struct sl_base_params bp;
	struct sl_score *s;

	shipped_params(&p, &bp);
	s = mk_score(&p, nt);
	advance_case(s, t);
	for (uint64_t x = t; x < end;) {
		x = SL_MIN(x + step, end);
		sl_score_advance(s, NULL, NULL, SEC(1), x);
	}
	assert_int_equal(sl_score_now(s), end);
	sl_score_get_stats(s, st);
	score_free(s);
}

static void
test_advance_grid(void **state)
{
	struct sl_score_params p;
	struct sl_base_params bp;
	struct notes na = {0}, nb = {0}, nc = {0};
	struct sl_score *c;
	struct sl_score_stats sa, sb, sc;
	const uint64_t t = T0_US + 123456; /* not on a second boundary */
	const uint64_t end = t + SEC(400);
	uint64_t k;
	double pt;

	(void)state;
	advance_run(t, end, SEC(90), &na, &sa); /* jumps under the 100-tick limit */
	advance_run(t, end, 370000, &nb, &sb);  /* 0.37 s steps */
	assert_int_equal(sa.cycles, 400);
	assert_int_equal(sb.cycles, 400);
	assert_int_equal(na.n, 3); /* alert, level up, level down */
	assert_int_equal(nb.n, na.n);
	for (unsigned int i = 0; i < na.n; i++) {
		assert_int_equal(na.r[i].type, nb.r[i].type);
		assert_int_equal(na.r[i].ts_us, nb.r[i].ts_us);
		assert_int_equal(na.r[i].new_level, nb.r[i].new_level);
		assert_float_equal(na.r[i].score, nb.r[i].score, 0.0001);
	}
	/* the level falls at the first grid pass with the points held 30 s then halving below
	 * alert - 10 */
	shipped_params(&p, &bp);
	pt = pts_of(&p, SL_DET_xmr_submit, advance_weight(&p));
	assert_int_equal(level_of(&p, pt), SL_LEVEL_ALERT);
	/* passes run on a grid of whole seconds of absolute time (so any record can start
	 * the clock and live and offline agree) */
	for (k = (t / SEC(1) + 1) * SEC(1);
	     k <= t + SEC(30) || pt * exp2(-((double)(k - t) / 1e6 - 30.0) / 300.0) >= p.alert - 10.0;
	     k += SEC(1))
		;
	assert_int_equal(na.r[2].type, SL_NOTE_LEVEL);
	assert_int_equal(na.r[2].new_level, SL_LEVEL_NONE);
	assert_int_equal(na.r[2].ts_us, k);
	/* a jump over more than 100 periods runs one pass at its end, then the grid resumes */
	c = mk_score(&p, &nc);
	advance_case(c, t);
	sl_score_advance(c, NULL, NULL, SEC(1), t + SEC(150));
	sl_score_get_stats(c, &sc);
	assert_int_equal(sc.cycles, 1);
	k = ((t + SEC(150)) / SEC(1) + 1) * SEC(1); /* the next whole second */
	sl_score_advance(c, NULL, NULL, SEC(1), k - 1);
	sl_score_get_stats(c, &sc);
	assert_int_equal(sc.cycles, 1);
	sl_score_advance(c, NULL, NULL, SEC(1), k);
	sl_score_get_stats(c, &sc);
	assert_int_equal(sc.cycles, 2);
	/* no clock: ignored */
	sl_score_advance(c, NULL, NULL, 0, t + SEC(500));
	sl_score_advance(c, NULL, NULL, SEC(1), 0);
	sl_score_get_stats(c, &sc);
	assert_int_equal(sc.cycles, 2);
	score_free(c);
}

/* Clock jumps cost O(1): a record at the end of time (a pcap's 0xffffffff seconds read as
 * -1 s) and a return to the past run a bounded number of passes and buckets, are counted,
 * and the grid goes on afterwards. */
static void
test_advance_jumps(void **state)
{
	struct sl_score_params p;
	struct sl_base_params bp;
	struct sl_score_stats st;
	struct sl_chost_table *c;
	struct sl_host_delta d;
	struct sl_score *s;
	const uint64_t t = T0_US + 123456;
	uint64_t cycles, buckets;

	(void)state;
	shipped_params(&p, &bp);
	s = mk_score(&p, NULL);
	c = sl_chost_create(64, 600000000, (int)rte_socket_id());
	assert_non_null(c);
	memset(&d, 0, sizeof(d));
	d.addr[15] = 1;
	d.pkts_out = 1;
	d.ts_us = t;
	assert_int_equal(sl_chost_apply(c, &d), 0);
	sl_score_advance(s, c, &bp, SEC(1), t); /* starts the clock */
	sl_score_advance(s, c, &bp, SEC(1), t + SEC(90));
	sl_score_get_stats(s, &st);
	assert_int_equal(st.cycles, 90);
	assert_int_equal(st.time_jumps, 0);
	cycles = st.cycles;
	{
		struct sl_chost_totals ht;

		sl_chost_totals(c, &ht);
		buckets = ht.buckets;
		assert_true(buckets >= 1 && buckets <= 2);
	}
	/* forward to the end of time: one pass and one bucket, not 2^64 / 1 s of them */
	for (uint64_t ts = UINT64_MAX - SEC(3); ts != 0; ts = ts == UINT64_MAX ? 0 : ts + SEC(1)) {
		struct sl_chost_totals ht;

		sl_score_advance(s, c, &bp, SEC(1), ts);
		sl_score_get_stats(s, &st);
		sl_chost_totals(c, &ht);
		assert_true(st.cycles - cycles <= 4 + 3);
		assert_true(ht.buckets - buckets <= 2);
	}
	sl_score_get_stats(s, &st);
	assert_int_equal(st.time_jumps, 1);
	assert_int_equal(sl_score_now(s), UINT64_MAX);
	cycles = st.cycles;
	/* the same instant again: nothing more falls due */
	sl_score_advance(s, c, &bp, SEC(1), UINT64_MAX);
	sl_score_get_stats(s, &st);
	assert_int_equal(st.cycles, cycles);
	/* back to the past: counted once, costs nothing, the clock stays */
	sl_score_advance(s, c, &bp, SEC(1), t + SEC(91));
	sl_score_advance(s, c, &bp, SEC(1), t + SEC(92));
	sl_score_get_stats(s, &st);
	assert_int_equal(st.time_jumps, 2);
	assert_int_equal(st.cycles, cycles);
	assert_int_equal(sl_score_now(s), UINT64_MAX);
	sl_chost_free(c);
	score_free(s);

	/* a backward jump then forward again on a normal clock: two jumps, the grid resumes */
	s = mk_score(&p, NULL);
	sl_score_advance(s, NULL, NULL, SEC(1), t);
	sl_score_advance(s, NULL, NULL, SEC(1), t + SEC(500));
	sl_score_advance(s, NULL, NULL, SEC(1), t + SEC(10)); /* 490 s back */
	sl_score_advance(s, NULL, NULL, SEC(1), t + SEC(501)); /* and forward again */
	sl_score_get_stats(s, &st);
	assert_int_equal(st.time_jumps, 3);
	assert_int_equal(st.cycles, 2); /* the collapsed pass at +500 s, the grid pass at +501 s */
	score_free(s);
}

/* Baseline deviations as signals: z at the threshold gives half the weight, 2x all of it. */
static void
test_deviation_signal(void **state)
{
	struct sl_score_params p;
	struct sl_base_params bp;
	struct sl_score *s;
	struct sl_base_dev d = {.metric = SL_BASE_flows_opened, .value = 80, .mean = 4, .sd = 5};
	uint8_t a[16];
	struct sl_score_view v;

	(void)state;
	shipped_params(&p, &bp);
	s = mk_score(&p, NULL);
	mk_addr(7, a);
	d.z = 4;
	sl_score_deviation(s, a, &d, T0_US);
	assert_int_equal(sl_score_get(s, a, T0_US, &v), 0);
	assert_float_equal(v.score, p.weight[SL_SIG_baseline] / 2.0, 0.001);
	assert_int_equal(v.sig[0].kind, SL_SIG_baseline);
	assert_int_equal(v.sig[0].u.base.metric, SL_BASE_flows_opened);
	d.z = 15.2f;
	sl_score_deviation(s, a, &d, T0_US + SEC(60));
	assert_int_equal(sl_score_get(s, a, T0_US + SEC(60), &v), 0);
	assert_float_equal(v.score, p.weight[SL_SIG_baseline], 0.001);
	assert_int_equal(v.nsig, 1); /* one slot per kind for the baseline */
	/* full for the hold, then halves one half-life later */
	assert_float_equal(host_score(s, 7, T0_US + SEC(60) + p.hold_us + p.half_life_us),
		p.weight[SL_SIG_baseline] / 2.0, 0.01);
	score_free(s);
}

/*
 * !!! EXPOSES A BUG (see the report): a detection on a flow that is never sampled (UDP: DNS
 * pool names, pool addresses of UDP flows; TCP flows shorter than a sample interval) stays
 * live = 1 for ever, because only a final flow sample clears live. sl_score_tick() keeps a
 * host while any signal is live, so such hosts are never forgotten (the table fills up),
 * although their points decayed to nothing (sl_score.h: "forget hosts whose signals have
 * all decayed below one point").
 */
static void
test_unsampled_detection_forgotten(void **state)
{
	struct sl_score_params p;
	struct sl_base_params bp;
	struct sl_score *s;
	struct sl_score_stats st;
	struct sl_event ev = mk_event(SL_DET_dns_pool_name, 9, 77, T0_US, 17);
	uint8_t a[16];
	struct sl_score_view v;

	(void)state;
	shipped_params(&p, &bp);
	s = mk_score(&p, NULL);
	sl_score_detection(s, &ev, 60);
	mk_addr(9, a);
	assert_int_equal(sl_score_get(s, a, T0_US, &v), 0);
	assert_float_equal(v.score, pts_of(&p, SL_DET_dns_pool_name, 60), 0.001);
	/* a day later the points are long gone */
	assert_true(host_score(s, 9, T0_US + SEC(86400)) < 0.01f);
	sl_score_tick(s, T0_US + SEC(86400));
	sl_score_get_stats(s, &st);
	printf("    unsampled UDP detection after a day: hosts %" PRIu64 ", expired %" PRIu64 "\n",
		st.hosts, st.hosts_expired);
	fflush(stdout);
	assert_int_equal(sl_score_get(s, a, T0_US + SEC(86400), &v), -ENOENT);
	assert_int_equal(st.hosts_expired, 1);
	score_free(s);
}

/* A host with signals keeps the protocols of its flows the known-protocol table recognised
 * (explanations list them as not judged); log_judged notes every sample past the shape gates
 * with its gate, judged or taken out. */
static void
test_known_not_judged(void **state)
{
	struct sl_score_params p;
	struct sl_base_params bp;
	struct sl_score *s;
	struct notes nt;
	struct sl_event ev = mk_event(SL_DET_dns_pool_name, 9, 77, T0_US, 17);
	struct sl_flow_sample fs = base_sample();
	struct sl_score_view v;
	uint8_t a[16];

	(void)state;
	memset(&nt, 0, sizeof(nt));
	shipped_params(&p, &bp);
	p.log_judged = true;
	s = mk_score(&p, &nt);
	mk_addr(9, a);
	/* a Tor flow of a host nobody scores: no host is made for it */
	fs.known = SL_KNOWN_tor;
	fs.flags = SL_SAMPLE_F_TLS;
	fs.ts_us = T0_US;
	fs.flow_id = 5;
	memcpy(fs.src, a, 16);
	sl_score_sample(s, &fs, true);
	assert_int_equal(sl_score_get(s, a, T0_US, &v), -ENOENT);
	assert_int_equal(nt.n, 1);
	assert_int_equal(nt.r[0].type, SL_NOTE_JUDGED);
	assert_int_equal(nt.r[0].kinds, SL_GATE_known);
	/* once the host has a signal, its Tor flow is remembered for the explanation */
	sl_score_detection(s, &ev, 60);
	fs.ts_us = T0_US + SEC(10);
	sl_score_sample(s, &fs, true);
	assert_int_equal(sl_score_get(s, a, T0_US + SEC(10), &v), 0);
	assert_int_equal(v.known, 1ull << SL_KNOWN_tor);
	/* an opaque flow past the gates is noted judged */
	fs.known = 0;
	fs.flags = 0;
	fs.flow_id = 6;
	nt.n = 0;
	sl_score_sample(s, &fs, true);
	assert_int_equal(nt.n, 1);
	assert_int_equal(nt.r[0].type, SL_NOTE_JUDGED);
	assert_int_equal(nt.r[0].kinds, SL_GATE_passed);
	/* a young flow is not noted */
	fs.age_ms = 1000;
	nt.n = 0;
	sl_score_sample(s, &fs, true);
	assert_int_equal(nt.n, 0);
	score_free(s);
}

/* ---------------------------------------------------------------- C. baseline */

static void
base_params(struct sl_base_params *bp)
{
	struct sl_score_params p;

	shipped_params(&p, bp);
}

static void
test_baseline_steady_then_spike(void **state)
{
	struct sl_base_params bp;
	struct sl_base b;
	struct sl_base_dev d;
	uint64_t tot[SL_BASE_MAX] = {0};
	uint64_t seed = 42;

	(void)state;
	base_params(&bp);
	memset(&b, 0, sizeof(b));
	for (unsigned int i = 0; i < 20; i++) {
		tot[SL_BASE_flows_opened] += rnd_int(&seed, 3, 5);
		tot[SL_BASE_bytes_out] += rnd_int(&seed, 200000, 300000);
		tot[SL_BASE_bytes_in] += rnd_int(&seed, 1000000, 1500000);
		tot[SL_BASE_pkts_out] += rnd_int(&seed, 900, 1200);
		tot[SL_BASE_peers] += rnd_int(&seed, 0, 2);
		assert_int_equal(sl_base_update(&b, &bp, tot, &d), -1);
	}
	assert_int_equal(b.buckets, 20);
	assert_true(b.mean[SL_BASE_flows_opened] > 3 && b.mean[SL_BASE_flows_opened] < 5);
	tot[SL_BASE_flows_opened] += 80;
	tot[SL_BASE_bytes_out] += 250000;
	tot[SL_BASE_bytes_in] += 1200000;
	tot[SL_BASE_pkts_out] += 1000;
	assert_int_equal(sl_base_update(&b, &bp, tot, &d), SL_BASE_flows_opened);
	assert_int_equal(d.metric, SL_BASE_flows_opened);
	assert_float_equal(d.value, 80, 0);
	assert_true(d.z >= bp.z);
	assert_true(d.sd >= bp.floor[SL_BASE_flows_opened]);
	assert_float_equal(d.z, (d.value - d.mean) / d.sd, 0.001);
	assert_int_equal(d.buckets, 20);
	assert_string_equal(sl_base_metric_name(SL_BASE_flows_opened), "flows_opened");
}

static void
test_baseline_warmup(void **state)
{
	struct sl_base_params bp;
	struct sl_base b;
	struct sl_base_dev d;
	uint64_t tot[SL_BASE_MAX] = {0};

	(void)state;
	base_params(&bp);
	memset(&b, 0, sizeof(b));
	for (unsigned int i = 0; i < bp.warmup; i++) {
		tot[SL_BASE_flows_opened] += i == bp.warmup - 1 ? 500 : 2; /* spike in warmup */
		assert_int_equal(sl_base_update(&b, &bp, tot, &d), -1);
	}
	/* after warmup the same spike reports (the learned sd is large now, so bigger) */
	tot[SL_BASE_flows_opened] += 5000;
	assert_int_equal(sl_base_update(&b, &bp, tot, &d), SL_BASE_flows_opened);
	assert_int_equal(d.buckets, bp.warmup);
}

static void
test_baseline_floors(void **state)
{
	struct sl_base_params bp;
	struct sl_base b;
	struct sl_base_dev d;
	uint64_t tot[SL_BASE_MAX] = {0};

	(void)state;
	base_params(&bp);
	memset(&b, 0, sizeof(b));
	for (unsigned int i = 0; i < 30; i++)
		assert_int_equal(sl_base_update(&b, &bp, tot, &d), -1); /* silent host */
	/* one flow, one peer, a few kilobytes: not news */
	tot[SL_BASE_flows_opened] = 1;
	tot[SL_BASE_peers] = 1;
	tot[SL_BASE_bytes_out] = 2000;
	tot[SL_BASE_bytes_in] = 9000;
	tot[SL_BASE_pkts_out] = 20;
	assert_int_equal(sl_base_update(&b, &bp, tot, &d), -1);
	/* but 4 floors' worth of flows is */
	tot[SL_BASE_flows_opened] += (uint64_t)(bp.floor[SL_BASE_flows_opened] * bp.z) + 1;
	assert_int_equal(sl_base_update(&b, &bp, tot, &d), SL_BASE_flows_opened);
	assert_true(d.z >= bp.z);
	/* totals that go backwards (a restarted host) count as 0, not as a huge number */
	memset(tot, 0, sizeof(tot));
	assert_int_equal(sl_base_update(&b, &bp, tot, &d), -1);
}

/* ---------------------------------------------------------------- EAL */

static int
group_setup(void **state)
{
	(void)state;
	if (sl_test_eal_init("score") < 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	rte_eal_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* A. behaviour end to end */
		cmocka_unit_test_teardown(test_miner_tls_no_sni, leak_teardown),
		cmocka_unit_test_teardown(test_miner_tls_no_sni_slow_shares, leak_teardown),
		cmocka_unit_test_teardown(test_miner_tls_no_sni_rare_jobs, leak_teardown),
		cmocka_unit_test_teardown(test_miner_tls_sni, leak_teardown),
		cmocka_unit_test_teardown(test_miner_seed_sweep, leak_teardown),
		cmocka_unit_test_teardown(test_sv2_noise, leak_teardown),
		cmocka_unit_test_teardown(test_benign_ssh_interactive, leak_teardown),
		cmocka_unit_test_teardown(test_benign_ssh_idle, leak_teardown),
		cmocka_unit_test_teardown(test_benign_video, leak_teardown),
		cmocka_unit_test_teardown(test_benign_chat_ws, leak_teardown),
		cmocka_unit_test_teardown(test_benign_heartbeat, leak_teardown),
		cmocka_unit_test_teardown(test_benign_mqtt_8883, leak_teardown),
		cmocka_unit_test_teardown(test_benign_mqtt_sub_443, leak_teardown),
		cmocka_unit_test_teardown(test_benign_backup, leak_teardown),
		cmocka_unit_test_teardown(test_benign_seed_sweep, leak_teardown),
		cmocka_unit_test_teardown(test_decay_after_flow_end, leak_teardown),
		cmocka_unit_test_teardown(test_decay_hold_after_flow_end, leak_teardown), /* !!! discrepancy, see above */
		cmocka_unit_test_teardown(test_behaviour_gates, leak_teardown),
		cmocka_unit_test_teardown(test_behaviour_features, leak_teardown),
		/* B. mechanics */
		cmocka_unit_test_teardown(test_kind_max, leak_teardown),
		cmocka_unit_test_teardown(test_probe_signals, leak_teardown),
		cmocka_unit_test_teardown(test_levels_and_notes, leak_teardown),
		cmocka_unit_test_teardown(test_slot_replacement, leak_teardown),
		cmocka_unit_test_teardown(test_table_full, leak_teardown),
		cmocka_unit_test_teardown(test_top, leak_teardown),
		cmocka_unit_test_teardown(test_params_from_cfg, leak_teardown),
		cmocka_unit_test_teardown(test_advance_grid, leak_teardown),
		cmocka_unit_test_teardown(test_advance_jumps, leak_teardown),
		cmocka_unit_test_teardown(test_deviation_signal, leak_teardown),
		cmocka_unit_test_teardown(test_unsampled_detection_forgotten, leak_teardown), /* !!! bug, see above */
		cmocka_unit_test_teardown(test_known_not_judged, leak_teardown),
		/* C. baseline */
		cmocka_unit_test_teardown(test_baseline_steady_then_spike, leak_teardown),
		cmocka_unit_test_teardown(test_baseline_warmup, leak_teardown),
		cmocka_unit_test_teardown(test_baseline_floors, leak_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
