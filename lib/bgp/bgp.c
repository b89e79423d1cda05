/* bgp.c: the BGP response backend (see sl_bgp.h): gobgp argv building, the route table the
 * control core owns, the two SP/SC rings to and from the speaker thread, and the thread that
 * runs the CLI (posix_spawnp, never a shell) and polls the speaker. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sl_bgp.h"
#include "sl_common.h"

extern char **environ;

SL_DEFINE_COUNTER_NAMES(SL_BGP_COUNTERS, sl_bgp_num_counters, sl_bgp_counter_name)

#define SL_X_NAME2_(name, help) #name,
static const char *const speaker_names[] = {SL_BGP_SPEAKER_STATES(SL_X_NAME2_)};
static const char *const kind_names[] = {SL_BGP_KINDS(SL_X_NAME2_)};
#undef SL_X_NAME2_

const char *
sl_bgp_speaker_name(int s)
{
	return s >= 0 && (size_t)s < SL_ARRAY_SIZE(speaker_names) ? speaker_names[s] : NULL;
}

const char *
sl_bgp_kind_name(unsigned int k)
{
	return k < SL_ARRAY_SIZE(kind_names) ? kind_names[k] : NULL;
}

/* ---------------------------------------------------------------- settings */

static const char *const well_known[] = {"blackhole", "no-export", "no-advertise",
	"no-export-subconfed", "graceful-shutdown", "accept-own", "llgr-stale", "no-llgr"};

/* Split a community list into @p out (may be NULL: check only). @return count or -EINVAL. */
static int
communities(const char *text, char out[][24], char *err, size_t errlen)
{
	char buf[SL_CFG_PATH_MAX], *save = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", text);
	for (char *t = strtok_r(buf, ", \t", &save); t != NULL; t = strtok_r(NULL, ", \t", &save)) {
		bool ok = false;

		for (size_t i = 0; i < SL_ARRAY_SIZE(well_known) && !ok; i++)
			ok = strcmp(t, well_known[i]) == 0;
		if (!ok) {
			char *colon = strchr(t, ':'), *end;
			unsigned long a, b;

			if (colon != NULL && isdigit((unsigned char)t[0]) &&
			    isdigit((unsigned char)colon[1])) {
				a = strtoul(t, &end, 10);
				ok = end == colon && a <= 65535;
				b = strtoul(colon + 1, &end, 10);
				ok = ok && *end == '\0' && b <= 65535;
			}
		}
		if (!ok) {
			snprintf(err, errlen, "'%s' is not a community (ASN:VALUE, each 0-65535, or "
					      "blackhole, no-export, no-advertise...)", t);
			return -EINVAL;
		}
		if (n == SL_BGP_COMMUNITIES) {
			snprintf(err, errlen, "more than %d communities", SL_BGP_COMMUNITIES);
			return -EINVAL;
		}
		if (out != NULL)
			snprintf(out[n], 24, "%s", t);
		n++;
	}
	return n;
}

int
sl_bgp_check_communities(const char *text, char *err, size_t errlen)
{
	return communities(text, NULL, err, errlen) < 0 ? -EINVAL : 0;
}

int
sl_bgp_params_from_cfg(const struct sl_cfg *c, struct sl_bgp_params *p, char *err,
	size_t errlen)
{
	uint8_t a[16];
	int n;

	memset(p, 0, sizeof(*p));
	if (strcmp(c->bgp_mode, "flowspec") == 0)
		p->mode = SL_BGP_FLOWSPEC;
	else if (strcmp(c->bgp_mode, "rtbh") == 0)
		p->mode = SL_BGP_RTBH;
	else
		return snprintf(err, errlen, "bgp_mode: '%s' is not flowspec or rtbh", c->bgp_mode),
		       -EINVAL;
	if (c->bgp_gobgp[0] == '\0' || c->bgp_api_host[0] == '\0')
		return snprintf(err, errlen, "bgp_gobgp and bgp_api_host must not be empty"), -EINVAL;
	snprintf(p->gobgp, sizeof(p->gobgp), "%s", c->bgp_gobgp);
	if (strlen(c->bgp_api_host) >= sizeof(p->api_host))
		return snprintf(err, errlen, "bgp_api_host: too long"), -EINVAL;
	snprintf(p->api_host, sizeof(p->api_host), "%.63s", c->bgp_api_host);
	p->api_port = (unsigned int)c->bgp_api_port;
	n = communities(c->bgp_community, p->community, err, errlen);
	if (n < 0)
		return -EINVAL;
	p->ncommunity = (unsigned int)n;
	n = communities(c->bgp_rtbh_community, p->rtbh_community, err, errlen);
	if (n < 0)
		return -EINVAL;
	p->nrtbh_community = (unsigned int)n;
	if (inet_pton(AF_INET, c->bgp_rtbh_nexthop, a) != 1)
		return snprintf(err, errlen, "bgp_rtbh_nexthop: '%s' is not an IPv4 address",
			       c->bgp_rtbh_nexthop), -EINVAL;
	if (inet_pton(AF_INET6, c->bgp_rtbh_nexthop6, a) != 1)
		return snprintf(err, errlen, "bgp_rtbh_nexthop6: '%s' is not an IPv6 address",
			       c->bgp_rtbh_nexthop6), -EINVAL;
	snprintf(p->nexthop4, sizeof(p->nexthop4), "%.47s", c->bgp_rtbh_nexthop);
	snprintf(p->nexthop6, sizeof(p->nexthop6), "%.47s", c->bgp_rtbh_nexthop6);
	p->max_routes = (uint32_t)c->bgp_max_routes;
	p->retry_ms = (uint32_t)c->bgp_retry_ms;
	p->poll_ms = (uint32_t)c->bgp_poll_ms;
	p->timeout_ms = (uint32_t)c->bgp_timeout_ms;
	return 0;
}

/* ---------------------------------------------------------------- argv */

static bool
is_v4(const uint8_t a[16])
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, pfx, 12) == 0;
}

static bool
route_v6(const struct sl_bgp_route *r)
{
	return r->kind == SL_BGP_blackhole ? !is_v4(r->dst) : !is_v4(r->src);
}

/* Families, in the order of the poll mask. */
static const char *const fam_names[] = {"ipv4-flowspec", "ipv6-flowspec", "ipv4", "ipv6"};
#define NFAM 4

static unsigned int
route_fam(const struct sl_bgp_route *r)
{
	return (r->kind == SL_BGP_blackhole ? 2u : 0u) + (route_v6(r) ? 1u : 0u);
}

struct words {
	char *buf;
	size_t len, used;
	char **argv;
	int n;
	bool full;
};

static void
word(struct words *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
word(struct words *w, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (w->full || w->n >= SL_BGP_ARGV_MAX - 1) {
		w->full = true;
		return;
	}
	va_start(ap, fmt);
	k = vsnprintf(w->buf + w->used, w->len - w->used, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= w->len - w->used) {
		w->full = true;
		return;
	}
	w->argv[w->n++] = w->buf + w->used;
	w->used += (size_t)k + 1;
}

/* "a.b.c.d/n" or "x::y/n" of a 16-byte address and a 16-byte-space prefix length. */
static void
prefix_word(struct words *w, const uint8_t a[16], unsigned int plen)
{
	char ip[INET6_ADDRSTRLEN];

	sl_addr_format(a, ip, sizeof(ip));
	word(w, "%s/%u", ip, is_v4(a) ? plen - 96 : plen);
}

int
sl_bgp_argv(const struct sl_bgp_params *p, const struct sl_bgp_route *r, bool add,
	char *buf, size_t buflen, char *argv[SL_BGP_ARGV_MAX])
{
	struct words w = {.buf = buf, .len = buflen, .argv = argv};
	bool v6 = route_v6(r);

	if (r->kind >= SL_BGP_KIND_MAX || (r->proto != 0 && r->proto != 6 && r->proto != 17) ||
	    r->dst_plen > 128 || (!v6 && r->dst_plen != 0 && r->dst_plen < 96) ||
	    (r->kind == SL_BGP_blackhole && r->dst_plen == 0) ||
	    (r->kind != SL_BGP_blackhole && r->dst_plen != 0 && is_v4(r->dst) == v6))
		return -EINVAL;
	word(&w, "%s", p->gobgp);
	word(&w, "-u");
	word(&w, "%s", p->api_host);
	word(&w, "-p");
	word(&w, "%u", p->api_port);
	word(&w, "global");
	word(&w, "rib");
	word(&w, "-a");
	word(&w, "%s", fam_names[route_fam(r)]);
	word(&w, add ? "add" : "del");
	if (r->kind == SL_BGP_blackhole) {
		prefix_word(&w, r->dst, r->dst_plen);
		if (add) {
			word(&w, "nexthop");
			word(&w, "%s", v6 ? p->nexthop6 : p->nexthop4);
			for (unsigned int i = 0; i < p->nrtbh_community; i++) {
				word(&w, "community");
				word(&w, "%s", p->rtbh_community[i]);
			}
		}
	} else {
		word(&w, "match");
		if (r->dst_plen != 0) {
			word(&w, "destination");
			prefix_word(&w, r->dst, r->dst_plen);
		}
		word(&w, "source");
		prefix_word(&w, r->src, 128);
		if (r->proto != 0) {
			word(&w, "protocol");
			word(&w, r->proto == 6 ? "tcp" : "udp");
		}
		if (r->dport != 0) {
			word(&w, "destination-port");
			word(&w, "==%u", r->dport);
		}
		word(&w, "then");
		word(&w, r->kind == SL_BGP_accept ? "accept" : "discard");
		for (unsigned int i = 0; add && i < p->ncommunity; i++) {
			word(&w, "community");
			word(&w, "%s", p->community[i]);
		}
	}
	if (w.full)
		return -ENOSPC;
	argv[w.n] = NULL;
	return w.n;
}

/* ---------------------------------------------------------------- SP/SC rings */

struct ring {
	uint32_t mask;
	uint32_t esz;
	uint32_t head; /* producer */
	uint32_t tail; /* consumer */
	unsigned char *slot;
};

static int
ring_init(struct ring *q, uint32_t n, uint32_t esz)
{
	uint32_t sz = 16;

	while (sz < n)
		sz <<= 1;
	q->mask = sz - 1;
	q->esz = esz;
	q->head = q->tail = 0;
	q->slot = calloc(sz, esz);
	return q->slot != NULL ? 0 : -ENOMEM;
}

static bool
ring_push(struct ring *q, const void *e)
{
	uint32_t h = SL_LOAD_RELAXED(&q->head), t = SL_LOAD_ACQUIRE(&q->tail);

	if (h - t > q->mask)
		return false;
	memcpy(q->slot + (size_t)(h & q->mask) * q->esz, e, q->esz);
	SL_STORE_RELEASE(&q->head, h + 1); /* RELEASE: the entry is written before it is seen */
	return true;
}

static bool
ring_pop(struct ring *q, void *e)
{
	uint32_t t = SL_LOAD_RELAXED(&q->tail), h = SL_LOAD_ACQUIRE(&q->head);

	if (t == h)
		return false;
	memcpy(e, q->slot + (size_t)(t & q->mask) * q->esz, q->esz);
	SL_STORE_RELEASE(&q->tail, t + 1); /* RELEASE: the slot is read before it is reused */
	return true;
}

/* ---------------------------------------------------------------- the table */

#define OP_ADD 1
#define OP_DEL 2

#define RES_CALL 1   /* an announce or withdraw answered */
#define RES_STATE 2  /* the speaker went up or down */
#define RES_COUNTS 3 /* paths per family the speaker holds */

#define HAVE_NO 0
#define HAVE_YES 1
#define HAVE_UNKNOWN 2 /* a call failed or timed out: it may or may not have happened */

struct req {
	uint8_t op;
	uint32_t id;
	struct sl_bgp_route r;
};

struct res {
	uint8_t type;
	uint8_t op;
	int8_t speaker;
	uint8_t fams;        /* RES_COUNTS: the families polled */
	int rc;
	uint32_t id;
	uint32_t count[NFAM];
	char msg[96];
};

struct rent {
	struct sl_bgp_route r;
	uint32_t refs;
	uint8_t used;
	uint8_t have;      /* HAVE_* */
	uint8_t inflight;  /* one call at a time per route */
	uint8_t failed;    /* the last call failed */
	uint8_t waiting;   /* in the wait list */
	uint64_t retry_at;
};

struct sl_bgp {
	struct sl_bgp_params p;
	struct sl_bgp_exec ex;
	sl_bgp_state_fn fn;
	void *arg;
	/* control core */
	struct rent *e;        /* max_routes */
	uint32_t *hash;        /* id + 1, 0 = empty; open addressing */
	uint32_t hmask;
	uint32_t *freeid;
	uint32_t nfree;
	uint32_t *wait;        /* routes that need a call later (failed, speaker down) */
	uint32_t nwait;
	uint32_t have_count[NFAM];
	uint32_t inflight;     /* calls queued and not answered */
	int speaker;
	uint64_t last_now;
	bool kick;             /* requests pushed since the last wake-up */
	struct sl_bgp_stats st;
	/* shared */
	struct ring rq, rs;
	uint32_t fam_mask;     /* families to poll (control core writes, thread reads) */
	int stop;
	uint64_t polls;        /* thread: polls made */
	sem_t sem;
	bool sem_ok;
	pthread_t thr;
	bool thr_started;
};

static uint32_t
route_hash(const struct sl_bgp_route *r)
{
	uint64_t h = sl_addr_hash(r->src, r->kind) ^ sl_addr_hash(r->dst, r->dst_plen);

	return (uint32_t)sl_mix64(h ^ ((uint64_t)r->dport << 8 | r->proto));
}

static uint32_t
hash_find(const struct sl_bgp *g, const struct sl_bgp_route *r, uint32_t *pos)
{
	for (uint32_t i = route_hash(r) & g->hmask;; i = (i + 1) & g->hmask) {
		if (g->hash[i] == 0) {
			*pos = i;
			return UINT32_MAX;
		}
		if (memcmp(&g->e[g->hash[i] - 1].r, r, sizeof(*r)) == 0) {
			*pos = i;
			return g->hash[i] - 1;
		}
	}
}

/* Linear probing delete: shift later entries of the run back so lookups stay correct. */
static void
hash_del(struct sl_bgp *g, uint32_t id)
{
	uint32_t i, j;

	hash_find(g, &g->e[id].r, &i);
	g->hash[i] = 0;
	for (j = (i + 1) & g->hmask; g->hash[j] != 0; j = (j + 1) & g->hmask) {
		uint32_t k = route_hash(&g->e[g->hash[j] - 1].r) & g->hmask;

		/* move j to i when its home k is not cyclically within (i, j] */
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			g->hash[i] = g->hash[j];
			g->hash[j] = 0;
			i = j;
		}
	}
}

static void
set_have(struct sl_bgp *g, struct rent *e, uint8_t v)
{
	unsigned int f = route_fam(&e->r);
	uint32_t mask = 0;

	if (e->have == HAVE_YES)
		g->have_count[f]--;
	if (v == HAVE_YES)
		g->have_count[f]++;
	e->have = v;
	for (unsigned int k = 0; k < NFAM; k++)
		if (g->have_count[k] != 0)
			mask |= 1u << k;
	SL_STORE_RELAXED(&g->fam_mask, mask);
}

static void
wait_add(struct sl_bgp *g, uint32_t id)
{
	if (!g->e[id].waiting) {
		g->e[id].waiting = 1;
		g->wait[g->nwait++] = id;
	}
}

static void
route_free(struct sl_bgp *g, uint32_t id)
{
	struct rent *e = &g->e[id];

	hash_del(g, id);
	e->used = 0;
	g->freeid[g->nfree++] = id;
	g->st.routes--;
}

/* Make the speaker match what is wanted for route @p id: one call at a time; a call that
 * cannot be made now (failed recently, speaker down, queue full) waits in the wait list.
 * @return true when the route is settled or queued (not waiting). */
static bool
reconcile(struct sl_bgp *g, uint32_t id, uint64_t now)
{
	struct rent *e = &g->e[id];
	bool want = e->refs > 0;
	struct req q;

	if (!e->used || e->inflight)
		return true;
	if ((want && e->have == HAVE_YES) || (!want && e->have == HAVE_NO)) {
		if (!want)
			route_free(g, id);
		return true;
	}
	if (g->speaker == SL_BGP_SPEAKER_down || (e->failed && now < e->retry_at)) {
		wait_add(g, id);
		return false;
	}
	q.op = want ? OP_ADD : OP_DEL;
	q.id = id;
	q.r = e->r;
	if (!ring_push(&g->rq, &q)) {
		g->st.queue_full++;
		wait_add(g, id);
		return false;
	}
	if (e->failed)
		g->st.retries++;
	e->inflight = 1;
	g->inflight++;
	g->kick = true;
	return true;
}

static void
wake(struct sl_bgp *g)
{
	if (g->kick) {
		g->kick = false;
		sem_post(&g->sem);
	}
}

uint32_t
sl_bgp_room(const struct sl_bgp *g)
{
	return g->nfree;
}

bool
sl_bgp_known(const struct sl_bgp *g, const struct sl_bgp_route *r)
{
	uint32_t pos;

	return hash_find(g, r, &pos) != UINT32_MAX;
}

int
sl_bgp_add(struct sl_bgp *g, const struct sl_bgp_route *r, uint32_t *id, uint64_t now_us)
{
	uint32_t pos, i = hash_find(g, r, &pos);
	struct rent *e;

	if (i != UINT32_MAX) {
		if (g->e[i].refs++ == 0)
			g->e[i].retry_at = 0; /* a new wish: no wait for the last one's backoff */
		g->st.shared++;
		*id = i;
		reconcile(g, i, now_us); /* it may be on its way out: announce it again */
		wake(g);
		return 1;
	}
	if (g->nfree == 0) {
		g->st.refused_cap++;
		return -ENOSPC;
	}
	i = g->freeid[--g->nfree];
	e = &g->e[i];
	memset(e, 0, sizeof(*e));
	e->r = *r;
	e->refs = 1;
	e->used = 1;
	g->hash[pos] = i + 1;
	g->st.routes++;
	*id = i;
	reconcile(g, i, now_us);
	wake(g); /* at once: the announcement is the block */
	return 0;
}

void
sl_bgp_del(struct sl_bgp *g, uint32_t id, uint64_t now_us)
{
	struct rent *e;

	if (id >= g->p.max_routes || !g->e[id].used || g->e[id].refs == 0)
		return;
	e = &g->e[id];
	if (--e->refs == 0) {
		e->retry_at = 0; /* a new wish: no wait for the last one's backoff */
		reconcile(g, id, now_us);
		wake(g);
	}
}

int
sl_bgp_route_state(const struct sl_bgp *g, uint32_t id)
{
	const struct rent *e;

	if (id >= g->p.max_routes || !g->e[id].used)
		return SL_BGP_RS_PENDING;
	e = &g->e[id];
	if (e->failed)
		return SL_BGP_RS_FAILED;
	return e->have == HAVE_YES && !e->inflight ? SL_BGP_RS_ANNOUNCED : SL_BGP_RS_PENDING;
}

/* The speaker lost what it held, or may have: every route is resent (announce what is
 * wanted, withdraw what is not: both are idempotent in GoBGP). */
static uint32_t
resend_all(struct sl_bgp *g, uint64_t now)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < g->p.max_routes; i++) {
		struct rent *e = &g->e[i];

		if (!e->used)
			continue;
		if (e->have != HAVE_NO || e->refs > 0)
			set_have(g, e, HAVE_UNKNOWN);
		e->failed = 0;
		e->retry_at = 0;
		if (e->refs > 0)
			n++;
		reconcile(g, i, now);
	}
	return n;
}

static void
on_result(struct sl_bgp *g, const struct res *s, uint64_t now)
{
	if (s->type == RES_CALL) {
		struct rent *e = &g->e[s->id];

		if (s->id >= g->p.max_routes || !e->used || !e->inflight)
			return;
		e->inflight = 0;
		g->inflight--;
		if (s->rc == 0) {
			set_have(g, e, s->op == OP_ADD ? HAVE_YES : HAVE_NO);
			e->failed = 0;
			if (s->op == OP_ADD)
				g->st.announced++;
			else
				g->st.withdrawn++;
		} else {
			set_have(g, e, HAVE_UNKNOWN);
			e->failed = 1;
			e->retry_at = now + (uint64_t)g->p.retry_ms * 1000;
			if (s->op == OP_ADD)
				g->st.announce_failed++;
			else
				g->st.withdraw_failed++;
		}
		reconcile(g, s->id, now);
	} else if (s->type == RES_STATE) {
		int was = g->speaker;

		g->speaker = s->speaker;
		if (s->speaker == SL_BGP_SPEAKER_down && was != SL_BGP_SPEAKER_down) {
			g->st.speaker_down++;
			if (g->fn != NULL)
				g->fn(g->arg, s->speaker, false, (uint32_t)g->st.routes, s->msg);
		} else if (s->speaker == SL_BGP_SPEAKER_up && was == SL_BGP_SPEAKER_down) {
			uint32_t n = resend_all(g, now);

			g->st.speaker_restarts++;
			g->st.reannounced += n;
			if (g->fn != NULL)
				g->fn(g->arg, s->speaker, true, n, "the speaker answers again");
		} else if (s->speaker == SL_BGP_SPEAKER_up && was == SL_BGP_SPEAKER_unknown) {
			if (g->fn != NULL)
				g->fn(g->arg, s->speaker, false, (uint32_t)g->st.routes, s->msg);
		}
	} else if (s->type == RES_COUNTS) {
		bool lost = false;

		for (unsigned int f = 0; f < NFAM; f++)
			if ((s->fams & (1u << f)) && s->count[f] < g->have_count[f])
				lost = true;
		if (lost) { /* restarted between two polls: it holds fewer routes than it took */
			uint32_t n = resend_all(g, now);

			g->st.speaker_restarts++;
			g->st.reannounced += n;
			if (g->fn != NULL)
				g->fn(g->arg, SL_BGP_SPEAKER_up, true, n,
					"the speaker holds fewer routes than it took");
		}
	}
}

void
sl_bgp_tick(struct sl_bgp *g, uint64_t now_us)
{
	struct res s;
	uint32_t n;

	g->last_now = now_us;
	while (ring_pop(&g->rs, &s))
		on_result(g, &s, now_us);
	/* the wait list: what failed recently, or waits for the speaker */
	n = g->nwait;
	g->nwait = 0;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t id = g->wait[k];

		g->e[id].waiting = 0;
		reconcile(g, id, now_us); /* re-adds itself to the list when it must wait more */
	}
	wake(g);
}

void
sl_bgp_get_stats(const struct sl_bgp *g, struct sl_bgp_stats *out)
{
	*out = g->st;
	out->polls = SL_LOAD_RELAXED(&g->polls);
	out->speaker = g->speaker;
	out->routes_announced = 0;
	for (unsigned int f = 0; f < NFAM; f++)
		out->routes_announced += g->have_count[f];
	out->routes_pending = g->nwait + g->inflight;
}

/* ---------------------------------------------------------------- the thread */

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run @p argv with stdout and stderr in @p out; killed after timeout_ms. */
static int
spawn_run(void *arg, char *const argv[], char *out, size_t outlen)
{
	const struct sl_bgp_params *p = arg;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	int pfd[2], rc, st = 0;
	size_t used = 0;
	pid_t pid;
	uint64_t deadline = mono_ms() + p->timeout_ms;
	bool timed_out = false;

	out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&dfl);
	sigdelset(&dfl, SIGKILL);
	sigdelset(&dfl, SIGSTOP);
	posix_spawnattr_setsigmask(&at, &none);  /* the thread blocks every signal */
	posix_spawnattr_setsigdefault(&at, &dfl); /* sluice's handlers are not the child's */
	posix_spawnattr_setpgroup(&at, 0); /* its own group: a kill takes its children too */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
		POSIX_SPAWN_SETPGROUP);
	rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		snprintf(out, outlen, "%s: %s", argv[0], strerror(rc));
		return -rc;
	}
	for (;;) {
		struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
		uint64_t now = mono_ms();
		char tmp[512];
		ssize_t k;

		if (now >= deadline) {
			kill(-pid, SIGKILL);
			timed_out = true;
			break;
		}
		if (poll(&pf, 1, (int)(deadline - now)) <= 0)
			continue;
		k = read(pfd[0], tmp, sizeof(tmp));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (used + 1 < outlen) { /* keep the start; the rest is read and dropped */
			size_t c = SL_MIN((size_t)k, outlen - 1 - used);

			memcpy(out + used, tmp, c);
			used += c;
			out[used] = '\0';
		}
	}
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		snprintf(out, outlen, "no answer in %u ms (killed)", p->timeout_ms);
		return -ETIMEDOUT;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	return -EIO;
}

/* First line of @p s, at most what @p out holds. */
static void
first_line(char *out, size_t len, const char *s)
{
	size_t n = strcspn(s, "\n");

	snprintf(out, len, "%.*s", (int)SL_MIN(n, len - 1), s);
}

static void
push_res(struct sl_bgp *g, const struct res *s)
{
	while (!ring_push(&g->rs, s)) { /* the control core takes answers every tick */
		if (SL_LOAD_ACQUIRE(&g->stop))
			return; /* nobody will read it: sluice is stopping */
		usleep(1000);
	}
}

static int
call(struct sl_bgp *g, char *const argv[], char *out, size_t outlen)
{
	return g->ex.run(g->ex.arg, argv, out, outlen);
}

/* Is the speaker there; and how many paths it holds in the families sluice announced in. */
static void
poll_speaker(struct sl_bgp *g, int *state)
{
	char port[16], out[4096];
	char *argv[] = {g->p.gobgp, (char *)(uintptr_t)"-u", g->p.api_host,
		(char *)(uintptr_t)"-p", port, (char *)(uintptr_t)"global", (char *)(uintptr_t)"-j",
		NULL, NULL, NULL, NULL, NULL};
	uint32_t mask = SL_LOAD_RELAXED(&g->fam_mask);
	struct res s;
	int rc;

	SL_STORE_RELAXED(&g->polls, g->polls + 1);
	snprintf(port, sizeof(port), "%u", g->p.api_port);
	memset(&s, 0, sizeof(s));
	rc = call(g, argv, out, sizeof(out));
	s.type = RES_STATE;
	s.speaker = rc == 0 ? SL_BGP_SPEAKER_up : SL_BGP_SPEAKER_down;
	if (rc == 0)
		snprintf(s.msg, sizeof(s.msg), "the speaker answers");
	else
		first_line(s.msg, sizeof(s.msg), out); /* why, in gobgp's words */
	if (s.speaker != *state)
		push_res(g, &s);
	*state = s.speaker;
	if (rc != 0 || mask == 0)
		return;
	memset(&s, 0, sizeof(s));
	s.type = RES_COUNTS;
	argv[6] = (char *)(uintptr_t)"rib";
	argv[7] = (char *)(uintptr_t)"summary";
	argv[8] = (char *)(uintptr_t)"-a";
	argv[10] = (char *)(uintptr_t)"-j";
	for (unsigned int f = 0; f < NFAM; f++) {
		const char *np;

		if (!(mask & (1u << f)))
			continue;
		argv[9] = (char *)(uintptr_t)fam_names[f];
		if (call(g, argv, out, sizeof(out)) != 0)
			return; /* the next poll tells */
		np = strstr(out, "\"num_path\":");
		s.count[f] = np != NULL ? (uint32_t)strtoul(np + 11, NULL, 10) : 0;
		s.fams |= (uint8_t)(1u << f);
	}
	push_res(g, &s);
}

static void *
speaker_main(void *arg)
{
	struct sl_bgp *g = arg;
	int state = SL_BGP_SPEAKER_unknown;
	uint64_t next_poll = 0;

	for (;;) {
		struct req q;
		uint64_t now = mono_ms();

		if (ring_pop(&g->rq, &q)) {
			char buf[2048], out[512], *argv[SL_BGP_ARGV_MAX];
			struct res s;

			memset(&s, 0, sizeof(s));
			s.type = RES_CALL;
			s.op = q.op;
			s.id = q.id;
			if (state == SL_BGP_SPEAKER_down) {
				s.rc = -ENOTCONN; /* no call: it is resent when the speaker is back */
				snprintf(s.msg, sizeof(s.msg), "speaker down");
			} else if (sl_bgp_argv(&g->p, &q.r, q.op == OP_ADD, buf, sizeof(buf), argv) < 0) {
				s.rc = -EINVAL;
				snprintf(s.msg, sizeof(s.msg), "route cannot be written");
			} else {
				s.rc = call(g, argv, out, sizeof(out));
				first_line(s.msg, sizeof(s.msg), out);
				if (s.rc != 0)
					next_poll = 0; /* learn the speaker's state now */
			}
			push_res(g, &s);
			continue;
		}
		if (SL_LOAD_ACQUIRE(&g->stop))
			break;
		if (now >= next_poll) {
			poll_speaker(g, &state);
			next_poll = mono_ms() + g->p.poll_ms;
			continue;
		}
		{
			struct timespec ts;
			uint64_t wait = SL_MIN(next_poll - now, 200);

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)(wait % 1000) * 1000000;
			ts.tv_sec += (time_t)(wait / 1000) + ts.tv_nsec / 1000000000;
			ts.tv_nsec %= 1000000000;
			sem_timedwait(&g->sem, &ts);
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------- life */

struct sl_bgp *
sl_bgp_create(const struct sl_bgp_params *p, const struct sl_bgp_exec *ex, sl_bgp_state_fn fn,
	void *arg)
{
	struct sl_bgp *g;
	uint32_t hs = 16;
	sigset_t all, old;
	int rc;

	if (p->max_routes == 0 || p->poll_ms == 0 || p->timeout_ms == 0) {
		errno = EINVAL;
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return NULL;
	g->p = *p;
	g->ex = ex != NULL ? *ex : (struct sl_bgp_exec){.run = spawn_run, .arg = &g->p};
	g->fn = fn;
	g->arg = arg;
	while (hs < 2 * p->max_routes)
		hs <<= 1;
	g->hmask = hs - 1;
	g->e = calloc(p->max_routes, sizeof(*g->e));
	g->hash = calloc(hs, sizeof(*g->hash));
	g->freeid = calloc(p->max_routes, sizeof(*g->freeid));
	g->wait = calloc(p->max_routes, sizeof(*g->wait));
	/* one call in flight per route: the request ring never fills; answers add the polls */
	if (g->e == NULL || g->hash == NULL || g->freeid == NULL || g->wait == NULL ||
	    ring_init(&g->rq, p->max_routes, sizeof(struct req)) < 0 ||
	    ring_init(&g->rs, p->max_routes + 16, sizeof(struct res)) < 0 ||
	    sem_init(&g->sem, 0, 0) < 0) {
		rc = ENOMEM;
		goto fail;
	}
	g->sem_ok = true;
	for (uint32_t i = 0; i < p->max_routes; i++)
		g->freeid[i] = p->max_routes - 1 - i;
	g->nfree = p->max_routes;
	/* the thread takes no signal: they are the main thread's (stop, reload, reopen) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&g->thr, NULL, speaker_main, g);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		goto fail;
	g->thr_started = true;
	return g;
fail:
	sl_bgp_free(g, NULL);
	errno = rc;
	return NULL;
}

void
sl_bgp_free(struct sl_bgp *g, struct sl_bgp_stats *last)
{
	if (g == NULL)
		return;
	if (g->thr_started) {
		uint64_t t0 = mono_ms(), base = g->last_now;

		/* withdrawals queued at exit: wait for them (retries included), up to timeout_ms */
		for (;;) {
			bool busy = g->nwait != 0 || g->inflight != 0;
			uint64_t el = mono_ms() - t0;

			if (!busy || el >= g->p.timeout_ms || g->speaker == SL_BGP_SPEAKER_down)
				break;
			sl_bgp_tick(g, base + el * 1000);
			usleep(2000);
		}
		for (uint32_t i = 0; i < g->p.max_routes; i++)
			g->st.lost_at_exit += g->e[i].used && g->e[i].refs == 0 &&
					      g->e[i].have != HAVE_NO;
		SL_STORE_RELEASE(&g->stop, 1);
		sem_post(&g->sem);
		pthread_join(g->thr, NULL);
		if (last != NULL)
			sl_bgp_get_stats(g, last);
	}
	if (g->sem_ok)
		sem_destroy(&g->sem);
	free(g->rq.slot);
	free(g->rs.slot);
	free(g->wait);
	free(g->freeid);
	free(g->hash);
	free(g->e);
	free(g);
}
