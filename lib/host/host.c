/* host.c: worker host slots with deltas and HyperLogLog sketches, the report walk, and the
 * control core's global host table (see sl_host.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "sl_common.h"
#include "sl_host.h"

_Static_assert(sizeof(struct sl_whost) == 64, "worker host slot is one cache line");

struct sl_whost_table {
	struct rte_hash *h;
	struct sl_whost *slots;
	uint32_t *refs;
	uint32_t *dirty;
	uint32_t ndirty;
	uint32_t capacity;
	uint32_t in_use;
	uint16_t worker;
	struct sl_whost_stats st;
};

SL_DEFINE_COUNTER_NAMES(SL_WHOST_COUNTERS, sl_whost_num_counters, sl_whost_counter_name)

static struct rte_hash *
addr_hash_create(const char *name, uint32_t capacity, int socket)
{
	struct rte_hash_parameters hp = {0};
	char hname[RTE_HASH_NAMESIZE];

	snprintf(hname, sizeof(hname), "%s", name);
	hp.name = hname;
	hp.entries = capacity;
	hp.key_len = 16;
	hp.hash_func = rte_hash_crc;
	hp.socket_id = socket;
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE; /* single writer, guaranteed capacity */
	return rte_hash_create(&hp);
}

uint64_t
sl_whost_memsize(uint32_t capacity)
{
	/* the rte_hash, and the arrays unless they live outside DPDK memory (sl_tmem_lazy) */
	return (uint64_t)capacity * (80 + (sl_tmem_lazy() ? 0 :
		sizeof(struct sl_whost) + 2 * sizeof(uint32_t))) + 3 * 128;
}

struct sl_whost_table *
sl_whost_create(const char *name, uint32_t capacity, uint16_t worker, int socket)
{
	struct sl_whost_table *t;

	t = rte_zmalloc_socket(name, sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL)
		goto err_nomem;
	t->capacity = capacity;
	t->worker = worker;
	t->h = addr_hash_create(name, capacity, socket);
	if (t->h == NULL)
		goto err_free_t;
	t->slots = sl_tmem_zalloc("sl_whost", (size_t)capacity * sizeof(struct sl_whost), socket);
	t->refs = sl_tmem_zalloc("sl_whref", (size_t)capacity * sizeof(uint32_t), socket);
	t->dirty = sl_tmem_zalloc("sl_whdirty", (size_t)capacity * sizeof(uint32_t), socket);
	if (t->slots == NULL || t->refs == NULL || t->dirty == NULL)
		goto err_free_all;
	return t;

err_free_all:
	sl_tmem_free(t->slots);
	sl_tmem_free(t->refs);
	sl_tmem_free(t->dirty);
	rte_hash_free(t->h);
err_free_t:
	rte_free(t);
err_nomem:
	rte_errno = ENOMEM;
	return NULL;
}

void
sl_whost_free(struct sl_whost_table *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->h);
	sl_tmem_free(t->slots);
	sl_tmem_free(t->refs);
	sl_tmem_free(t->dirty);
	rte_free(t);
}

static uint32_t
acquire(struct sl_whost_table *t, const uint8_t addr[16], bool count_full)
{
	hash_sig_t sig = rte_hash_hash(t->h, addr); /* once, for the lookup and the add */
	int32_t pos = rte_hash_lookup_with_hash(t->h, addr, sig);

	if (pos < 0) {
		pos = rte_hash_add_key_with_hash(t->h, addr, sig);
		if (pos < 0) {
			if (count_full)
				t->st.table_full++;
			return SL_HOST_NONE;
		}
		memset(&t->slots[pos], 0, sizeof(t->slots[pos]));
		t->refs[pos] = 0;
		t->in_use++;
		t->st.hosts_added++;
	}
	t->refs[pos]++;
	return (uint32_t)pos;
}

uint32_t
sl_whost_acquire(struct sl_whost_table *t, const uint8_t addr[16])
{
	return acquire(t, addr, true);
}

uint32_t
sl_whost_try_acquire(struct sl_whost_table *t, const uint8_t addr[16])
{
	return acquire(t, addr, false);
}

static void
evict(struct sl_whost_table *t, uint32_t idx)
{
	void *key;

	if (rte_hash_get_key_with_position(t->h, (int32_t)idx, &key) == 0) {
		rte_hash_del_key(t->h, key);
		t->in_use--;
		t->st.hosts_evicted++;
	}
}

void
sl_whost_release(struct sl_whost_table *t, uint32_t idx)
{
	if (idx >= t->capacity) /* SL_HOST_NONE, SL_HOST_DETACHED */
		return;
	if (--t->refs[idx] == 0 && !t->slots[idx].dirty)
		evict(t, idx);
}

void
sl_whost_detach(struct sl_whost_table *t, uint32_t idx)
{
	if (idx >= t->capacity)
		return;
	t->st.detached++;
	sl_whost_release(t, idx);
}

uint32_t
sl_whost_capacity(const struct sl_whost_table *t)
{
	return t->capacity;
}

struct sl_whost *
sl_whost_touch(struct sl_whost_table *t, uint32_t idx)
{
	struct sl_whost *s = &t->slots[idx];

	if (!s->dirty) {
		s->dirty = 1;
		t->dirty[t->ndirty++] = idx;
	}
	return s;
}

void
sl_hll_add(uint8_t hll[SL_HLL_BYTES], uint64_t hash, uint8_t *dirty)
{
	unsigned int idx = (unsigned int)(hash >> (64 - SL_HLL_P));
	uint64_t w = (hash << SL_HLL_P) | (1ull << (SL_HLL_P - 1));
	unsigned int rank = (unsigned int)__builtin_clzll(w) + 1;
	unsigned int shift = (idx & 1) * 4;
	unsigned int cur = (hll[idx / 2] >> shift) & 0x0f;

	if (rank > 15)
		rank = 15;
	if (rank > cur) {
		hll[idx / 2] = (uint8_t)((hll[idx / 2] & ~(0x0f << shift)) | (rank << shift));
		*dirty = 1;
	}
}

static void
fill_delta(const struct sl_whost_table *t, uint32_t idx, uint64_t now_us,
	struct sl_host_delta *d)
{
	const struct sl_whost *s = &t->slots[idx];
	void *key = NULL;

	rte_hash_get_key_with_position(t->h, (int32_t)idx, &key);
	memcpy(d->addr, key, 16);
	d->bytes_out = s->bytes_out;
	d->bytes_in = s->bytes_in;
	d->pkts_out = s->pkts_out;
	d->pkts_in = s->pkts_in;
	d->flows_opened = s->flows_opened;
	d->long_lived = s->long_lived;
	d->worker = t->worker;
	d->ts_us = now_us;
	memcpy(d->hll, s->hll, SL_HLL_BYTES);
}

static void
clear_slot(struct sl_whost_table *t, uint32_t idx)
{
	struct sl_whost *s = &t->slots[idx];

	s->bytes_out = s->bytes_in = 0;
	s->pkts_out = s->pkts_in = 0;
	s->flows_opened = 0;
	s->long_lived = 0;
	s->dirty = 0;
	s->hll_dirty = 0;
	if (t->refs[idx] == 0)
		evict(t, idx);
}

unsigned int
sl_whost_report(struct sl_whost_table *t, uint64_t now_us, sl_host_send_fn send, void *arg,
	bool wait, void (*idle)(void))
{
	struct sl_host_delta batch[SL_BURST];
	unsigned int sent_total = 0;
	uint32_t i = 0, keep = 0;

	while (i < t->ndirty) {
		unsigned int n = SL_MIN(t->ndirty - i, (uint32_t)SL_BURST), sent;

		for (unsigned int k = 0; k < n; k++)
			fill_delta(t, t->dirty[i + k], now_us, &batch[k]);
		sent = send(arg, batch, n);
		for (unsigned int k = 0; k < sent; k++)
			clear_slot(t, t->dirty[i + k]);
		sent_total += sent;
		i += sent;
		if (sent < n) {
			if (wait) {
				if (idle != NULL)
					idle();
				continue;
			}
			t->st.report_ring_full += t->ndirty - i;
			/* keep the rest dirty, in order, for the next report */
			while (i < t->ndirty)
				t->dirty[keep++] = t->dirty[i++];
			break;
		}
	}
	t->ndirty = keep;
	t->st.reports += sent_total;
	return sent_total;
}

bool
sl_whost_reclaim(struct sl_whost_table *t, uint64_t now_us, sl_host_send_fn send, void *arg,
	bool wait, void (*idle)(void))
{
	t->st.reclaims++;
	sl_whost_report(t, now_us, send, arg, wait, idle);
	return t->in_use < t->capacity;
}

const struct sl_whost_stats *
sl_whost_stats(const struct sl_whost_table *t)
{
	return &t->st;
}

uint32_t
sl_whost_in_use(const struct sl_whost_table *t)
{
	return t->in_use;
}

/* ---- control core table ---- */

/*
 * The control table keeps its work proportional to what changed, never to its capacity:
 * - live hosts sit on a list in the order they were last heard of (a host moves to the tail
 *   when a delta raises its last_us), so aging pops expired hosts from the head and stops at
 *   the first live one, and iteration (summary, top) visits live hosts only;
 * - hosts touched since the last baseline bucket edge are listed (touched[]); a bucket edge
 *   updates those only. A host that missed buckets catches up on its zero buckets when it is
 *   next touched (see base_catch_up); a host aged out first never needs them.
 */
#define CH_USED 1u    /**< used[]: the slot holds a host */
#define CH_TOUCHED 2u /**< used[]: the slot is on touched[] */

struct sl_chost_table {
	struct rte_hash *h;
	struct sl_chost *hosts;
	uint8_t *used;        /* CH_* bits per slot */
	uint32_t *prev, *next; /* live list, oldest first (SL_HOST_NONE ends it) */
	uint32_t head, tail;
	uint32_t *touched;    /* slots touched since the last bucket edge */
	uint32_t ntouched;
	uint64_t *edge;       /* per slot: bucket edges already folded into its baseline */
	uint64_t edges;       /* bucket edges closed so far */
	uint32_t capacity;
	uint64_t timeout_us;
	struct sl_chost_totals tot;
};

uint64_t
sl_chost_memsize(uint32_t capacity)
{
	return (uint64_t)capacity * (80 + (sl_tmem_lazy() ? 0 : sizeof(struct sl_chost) + 1 +
		3 * sizeof(uint32_t) + sizeof(uint64_t))) + 6 * 128;
}

static void
chost_arrays_free(struct sl_chost_table *t)
{
	sl_tmem_free(t->hosts);
	sl_tmem_free(t->used);
	sl_tmem_free(t->prev);
	sl_tmem_free(t->next);
	sl_tmem_free(t->touched);
	sl_tmem_free(t->edge);
}

struct sl_chost_table *
sl_chost_create(uint32_t capacity, uint64_t timeout_us, int socket)
{
	struct sl_chost_table *t;

	t = rte_zmalloc_socket("sl_chost", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL)
		goto err_nomem;
	t->capacity = capacity;
	t->timeout_us = timeout_us;
	{
		static unsigned int seq;
		char name[32];

		snprintf(name, sizeof(name), "sl_chost%u", seq++);
		t->h = addr_hash_create(name, capacity, socket);
	}
	if (t->h == NULL)
		goto err_free_t;
	t->hosts = sl_tmem_zalloc("sl_chosts", (size_t)capacity * sizeof(struct sl_chost), socket);
	t->used = sl_tmem_zalloc("sl_chused", capacity, socket);
	t->prev = sl_tmem_zalloc("sl_chprev", (size_t)capacity * sizeof(uint32_t), socket);
	t->next = sl_tmem_zalloc("sl_chnext", (size_t)capacity * sizeof(uint32_t), socket);
	t->touched = sl_tmem_zalloc("sl_chtouch", (size_t)capacity * sizeof(uint32_t), socket);
	t->edge = sl_tmem_zalloc("sl_chedge", (size_t)capacity * sizeof(uint64_t), socket);
	if (t->hosts == NULL || t->used == NULL || t->prev == NULL || t->next == NULL ||
	    t->touched == NULL || t->edge == NULL)
		goto err_free_all;
	t->head = t->tail = SL_HOST_NONE;
	return t;

err_free_all:
	chost_arrays_free(t);
	rte_hash_free(t->h);
err_free_t:
	rte_free(t);
err_nomem:
	rte_errno = ENOMEM;
	return NULL;
}

void
sl_chost_free(struct sl_chost_table *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->h);
	chost_arrays_free(t);
	rte_free(t);
}

static void
live_unlink(struct sl_chost_table *t, uint32_t pos)
{
	uint32_t p = t->prev[pos], n = t->next[pos];

	if (p == SL_HOST_NONE)
		t->head = n;
	else
		t->next[p] = n;
	if (n == SL_HOST_NONE)
		t->tail = p;
	else
		t->prev[n] = p;
}

static void
live_append(struct sl_chost_table *t, uint32_t pos)
{
	t->prev[pos] = t->tail;
	t->next[pos] = SL_HOST_NONE;
	if (t->tail == SL_HOST_NONE)
		t->head = pos;
	else
		t->next[t->tail] = pos;
	t->tail = pos;
}

/* Put @p pos on the list of hosts the next bucket edge updates (once). */
static inline void
touch(struct sl_chost_table *t, uint32_t pos)
{
	if (!(t->used[pos] & CH_TOUCHED)) {
		t->used[pos] |= CH_TOUCHED;
		t->touched[t->ntouched++] = pos;
	}
}

static void
chost_reset(struct sl_chost *h, const uint8_t addr[16], uint64_t ts)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->addr, addr, 16);
	h->first_us = ts;
	h->last_us = ts;
}

int
sl_chost_apply(struct sl_chost_table *t, const struct sl_host_delta *d)
{
	hash_sig_t sig = rte_hash_hash(t->h, d->addr);
	int32_t pos = rte_hash_lookup_with_hash(t->h, d->addr, sig);
	struct sl_chost *h;
	bool raised = false;

	if (pos < 0) {
		pos = rte_hash_add_key_with_hash(t->h, d->addr, sig);
		if (pos < 0) {
			t->tot.table_full++;
			return -ENOSPC;
		}
		chost_reset(&t->hosts[pos], d->addr, d->ts_us);
		t->used[pos] |= CH_USED;
		t->edge[pos] = t->edges; /* its first bucket is the next one */
		live_append(t, (uint32_t)pos);
		t->tot.hosts++;
		t->tot.hosts_seen++;
	} else if (d->ts_us > t->hosts[pos].last_us &&
		   d->ts_us - t->hosts[pos].last_us > t->timeout_us) {
		chost_reset(&t->hosts[pos], d->addr, d->ts_us);
		t->edge[pos] = t->edges; /* a fresh baseline: no buckets to catch up */
		live_unlink(t, (uint32_t)pos);
		live_append(t, (uint32_t)pos);
		t->tot.hosts_aged++;
		t->tot.hosts_seen++;
	}
	touch(t, (uint32_t)pos);
	h = &t->hosts[pos];
	h->bytes_out += d->bytes_out;
	h->bytes_in += d->bytes_in;
	h->pkts_out += d->pkts_out;
	h->pkts_in += d->pkts_in;
	h->flows_opened += d->flows_opened;
	h->long_lived += d->long_lived;
	if (d->ts_us > h->last_us) {
		h->last_us = d->ts_us;
		if (t->tail != (uint32_t)pos) { /* heard of last: to the tail of the live list */
			live_unlink(t, (uint32_t)pos);
			live_append(t, (uint32_t)pos);
		}
	}
	if (d->ts_us < h->first_us)
		h->first_us = d->ts_us;
	for (unsigned int i = 0; i < SL_HLL_M; i++) {
		uint8_t r = (d->hll[i / 2] >> ((i & 1) * 4)) & 0x0f;

		if (r > h->hll[i]) {
			h->hll[i] = r;
			raised = true;
		}
	}
	if (raised)
		h->peers_ok = 0; /* the cached estimate is stale */
	t->tot.deltas++;
	return 0;
}

/*
 * Hosts leave from the head of the live list: the least recently heard of first. With records
 * in time order (offline: sl_chan_merge) the list is in last_us order and the walk stops at
 * the first host still alive, so a call costs O(hosts aged + 1). Live, workers' reports
 * interleave within a report interval, so a host may age a little later than its exact time;
 * the lazy check in sl_chost_apply keeps the result the same (a host idle past the timeout
 * starts afresh whether or not it was swept).
 */
unsigned int
sl_chost_age(struct sl_chost_table *t, uint64_t now_us, unsigned int budget)
{
	unsigned int aged = 0;

	for (unsigned int i = 0; i < budget && t->head != SL_HOST_NONE; i++) {
		uint32_t pos = t->head;

		t->tot.age_visits++;
		if (!(now_us > t->hosts[pos].last_us &&
		      now_us - t->hosts[pos].last_us > t->timeout_us))
			break;
		live_unlink(t, pos);
		rte_hash_del_key(t->h, t->hosts[pos].addr);
		t->used[pos] &= (uint8_t)~CH_USED; /* CH_TOUCHED stays while on touched[] */
		t->tot.hosts--;
		t->tot.hosts_aged++;
		aged++;
	}
	return aged;
}

static double
hll_estimate(const struct sl_chost *h)
{
	double sum = 0, m = SL_HLL_M, est;
	unsigned int zeros = 0;

	for (unsigned int i = 0; i < SL_HLL_M; i++) {
		sum += ldexp(1.0, -(int)h->hll[i]);
		zeros += h->hll[i] == 0;
	}
	est = 0.709 * m * m / sum;
	if (est <= 2.5 * m && zeros > 0)
		est = m * log(m / zeros);
	return est;
}

double
sl_chost_peers(const struct sl_chost *h)
{
	return h->peers_ok ? h->peers : hll_estimate(h);
}

/* The estimate, computed once per change of the sketch (sl_chost_apply clears peers_ok). */
static double
chost_peers_cached(struct sl_chost *h)
{
	if (!h->peers_ok) {
		h->peers = hll_estimate(h);
		h->peers_ok = 1;
	}
	return h->peers;
}

void
sl_chost_foreach(struct sl_chost_table *t, void (*fn)(void *arg, const struct sl_chost *h),
	void *arg)
{
	for (uint32_t i = t->head; i != SL_HOST_NONE; i = t->next[i])
		fn(arg, &t->hosts[i]);
}

static const char *const base_names[] = {SL_BASE_METRICS(SL_X_NAME_)};

const char *
sl_base_metric_name(unsigned int m)
{
	return m < SL_ARRAY_SIZE(base_names) ? base_names[m] : NULL;
}

int
sl_base_update(struct sl_base *b, const struct sl_base_params *p,
	const uint64_t totals[SL_BASE_MAX], struct sl_base_dev *dev)
{
	int worst = -1;

	for (unsigned int m = 0; m < SL_BASE_MAX; m++) {
		float x = totals[m] > b->prev[m] ? (float)(totals[m] - b->prev[m]) : 0.0f;
		float d = x - b->mean[m];
		float sd = sqrtf(b->var[m]);

		if (sd < p->floor[m])
			sd = p->floor[m];
		if (b->buckets >= p->warmup && sd > 0 && d / sd >= p->z &&
		    (worst < 0 || d / sd > dev->z)) {
			worst = (int)m;
			dev->metric = (uint8_t)m;
			dev->buckets = b->buckets;
			dev->value = x;
			dev->mean = b->mean[m];
			dev->sd = sd;
			dev->z = d / sd;
		}
		if (b->buckets == 0) {
			b->mean[m] = x;
		} else {
			b->mean[m] += p->alpha * d;
			b->var[m] = (1.0f - p->alpha) * (b->var[m] + p->alpha * d * d);
		}
		b->prev[m] = totals[m];
	}
	b->buckets++;
	return worst;
}

/* Sanity cap on zero buckets replayed one by one (see base_catch_up). */
#define CATCH_UP_MAX (1u << 20)

/*
 * Fold @p k zero buckets into @p b: what sl_chost_baseline did to an idle host at every edge
 * before baselines became proportional to the hosts touched. The same sl_base_update runs
 * with the totals unchanged (x = 0 for every metric), so the floats are bit for bit the same.
 * It is exact to stop early: once one step leaves every mean and variance unchanged (they
 * decay by (1 - alpha) a bucket and end at zero or at a denormal that no longer moves,
 * after about (128 + 149) / -log2(1 - alpha) buckets: ~1800 at alpha 10 %, ~19000 at 1 %),
 * every further step only counts the bucket, since the state it depends on is the same.
 * A zero bucket never deviates while z > 0 (x = 0 is never above a mean that is >= 0), so
 * nothing is reported on the way; sl_chost_baseline updates every live host at each edge
 * when z <= 0. Not exact only past CATCH_UP_MAX steps without a fixed point (alpha outside
 * (0, 1], never from the config) or when the bucket count wraps (2^32 buckets).
 */
static void
base_catch_up(struct sl_chost_table *t, struct sl_base *b, const struct sl_base_params *p,
	uint64_t k)
{
	uint64_t tot[SL_BASE_MAX];
	struct sl_base_dev dev;

	memcpy(tot, b->prev, sizeof(tot));
	for (uint64_t i = 0; i < k; i++) {
		float mean[SL_BASE_MAX], var[SL_BASE_MAX];
		bool counted = b->buckets != 0;

		if (i == CATCH_UP_MAX) {
			b->buckets += (uint32_t)(k - i);
			break;
		}
		memcpy(mean, b->mean, sizeof(mean));
		memcpy(var, b->var, sizeof(var));
		(void)sl_base_update(b, p, tot, &dev);
		t->tot.base_updates++;
		if (counted && memcmp(mean, b->mean, sizeof(mean)) == 0 &&
		    memcmp(var, b->var, sizeof(var)) == 0) {
			b->buckets += (uint32_t)(k - i - 1); /* a fixed point: only the count moves */
			break;
		}
	}
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void
sl_chost_baseline(struct sl_chost_table *t, const struct sl_base_params *p, uint64_t now_us,
	sl_base_dev_fn fn, void *arg)
{
	t->edges++;
	t->tot.buckets++;
	if (!(p->z > 0)) /* a zero bucket may deviate: every host is updated at every edge */
		for (uint32_t i = t->head; i != SL_HOST_NONE; i = t->next[i])
			touch(t, i);
	/* in slot order, as the walk over the whole table went: deviations in the same order */
	if (t->ntouched > 1)
		qsort(t->touched, t->ntouched, sizeof(t->touched[0]), cmp_u32);
	for (uint32_t n = 0; n < t->ntouched; n++) {
		uint32_t i = t->touched[n];
		struct sl_chost *h = &t->hosts[i];
		uint64_t tot[SL_BASE_MAX];
		struct sl_base_dev dev;

		t->used[i] &= (uint8_t)~CH_TOUCHED;
		if (!(t->used[i] & CH_USED)) /* aged out since it was touched */
			continue;
		base_catch_up(t, &h->base, p, t->edges - 1 - t->edge[i]);
		t->edge[i] = t->edges;
		tot[SL_BASE_bytes_out] = h->bytes_out;
		tot[SL_BASE_bytes_in] = h->bytes_in;
		tot[SL_BASE_pkts_out] = h->pkts_out;
		tot[SL_BASE_flows_opened] = h->flows_opened;
		tot[SL_BASE_peers] = (uint64_t)(chost_peers_cached(h) + 0.5);
		tot[SL_BASE_long_lived] = h->long_lived;
		t->tot.base_updates++;
		if (sl_base_update(&h->base, p, tot, &dev) >= 0 && fn != NULL)
			fn(arg, h->addr, &dev, now_us);
	}
	t->ntouched = 0;
}

const struct sl_chost *
sl_chost_find(const struct sl_chost_table *t, const uint8_t addr[16])
{
	int32_t pos = rte_hash_lookup(t->h, addr);

	return pos >= 0 && (t->used[pos] & CH_USED) ? &t->hosts[pos] : NULL;
}

void
sl_chost_note_known(struct sl_chost_table *t, const uint8_t addr[16], unsigned int known)
{
	int32_t pos = rte_hash_lookup(t->h, addr);

	if (pos >= 0 && (t->used[pos] & CH_USED) && known < 64)
		t->hosts[pos].known |= 1ull << known;
}

/* More bytes first, then the lower address: a total order, so the list is stable. */
static bool
chost_before(const struct sl_chost *a, const struct sl_chost *b)
{
	uint64_t x = a->bytes_in + a->bytes_out, y = b->bytes_in + b->bytes_out;

	return x != y ? x > y : memcmp(a->addr, b->addr, 16) < 0;
}

unsigned int
sl_chost_top(const struct sl_chost_table *t, struct sl_chost *out, unsigned int n)
{
	unsigned int k = 0;

	for (uint32_t i = t->head; i != SL_HOST_NONE && n > 0; i = t->next[i]) {
		const struct sl_chost *h = &t->hosts[i];
		unsigned int j;

		if (k == n && !chost_before(h, &out[k - 1]))
			continue;
		j = k < n ? k++ : n - 1; /* insertion into the bounded, sorted list */
		for (; j > 0 && chost_before(h, &out[j - 1]); j--)
			out[j] = out[j - 1];
		out[j] = *h;
	}
	return k;
}

void
sl_chost_totals(const struct sl_chost_table *t, struct sl_chost_totals *out)
{
	*out = t->tot;
}
