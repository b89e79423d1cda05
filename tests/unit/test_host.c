/* test_host.c: unit tests of the host counters (lib/host) and the worker-to-control
 * channels (lib/chan): HyperLogLog accuracy, register encoding and exact mergeability
 * across workers; the worker host table (slots, references, dirty list, reports, eviction,
 * a full ring with and without waiting, a full table); the control table (accumulation,
 * lazy and swept aging, a full table, iteration, totals; baselines over touched hosts equal
 * to the sequential computation, the estimate cache, aging that visits live hosts only); and
 * the SP/SC channel rings
 * (send, drain, a full ring, several workers). Needs EAL (rte_hash, rte_malloc, rte_ring):
 * started once per run with --no-huge. */
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
#include <rte_lcore.h>
#include <rte_ring.h>

#include "sl_chan.h"
#include "sl_common.h"
#include "sl_test_eal.h"
#include "sl_host.h"

#define UNLIMITED UINT32_MAX
#define MAX_REC 1024

/* ---- helpers ---- */

/** ::ffff:10.a.b.c for host number @p n. */
static void
mk_addr(uint32_t n, uint8_t a[16])
{
	memset(a, 0, 10);
	a[10] = a[11] = 0xff;
	a[12] = 10;
	a[13] = (uint8_t)(n >> 16);
	a[14] = (uint8_t)(n >> 8);
	a[15] = (uint8_t)n;
}

/** Register @p i of a worker's 4-bit sketch. */
static uint8_t
nibble(const uint8_t hll[SL_HLL_BYTES], unsigned int i)
{
	return (uint8_t)((hll[i / 2] >> ((i & 1) * 4)) & 0x0f);
}

/** Estimate of a worker sketch, through the control core's estimator. */
static double
estimate(const uint8_t hll[SL_HLL_BYTES])
{
	struct sl_chost h;

	memset(&h, 0, sizeof(h));
	for (unsigned int i = 0; i < SL_HLL_M; i++)
		h.hll[i] = nibble(hll, i);
	return sl_chost_peers(&h);
}

/** Collects (and optionally applies) what a report sends; accepts at most `room`. */
struct coll {
	struct sl_host_delta d[MAX_REC];
	unsigned int n;                /**< records accepted */
	unsigned int calls;            /**< send calls */
	uint32_t room;                 /**< records still accepted, or UNLIMITED */
	struct sl_chost_table *apply;  /**< fold accepted records into this table */
	unsigned int idle_calls;
	uint32_t idle_room;            /**< room the idle function frees each call */
};

static unsigned int
collect(void *arg, const struct sl_host_delta *d, unsigned int n)
{
	struct coll *c = arg;
	unsigned int k = n;

	c->calls++;
	if (c->room != UNLIMITED) {
		k = SL_MIN(n, c->room);
		c->room -= k;
	}
	for (unsigned int i = 0; i < k; i++) {
		if (c->n < MAX_REC)
			c->d[c->n] = d[i];
		c->n++;
		if (c->apply != NULL)
			assert_int_equal(sl_chost_apply(c->apply, &d[i]), 0);
	}
	return k;
}

static struct coll *g_idle_coll;

/* The "consumer ran" hook: frees some room in the collector. */
static void
idle_free_room(void)
{
	g_idle_coll->idle_calls++;
	g_idle_coll->room += g_idle_coll->idle_room;
}

/** Index of the collected record for @p addr, or -1; fails on duplicates. */
static int
coll_find(const struct coll *c, const uint8_t addr[16])
{
	int found = -1;

	for (unsigned int i = 0; i < c->n && i < MAX_REC; i++)
		if (memcmp(c->d[i].addr, addr, 16) == 0) {
			assert_int_equal(found, -1);
			found = (int)i;
		}
	return found;
}

/** Copy of a control table's host. */
struct find {
	uint8_t addr[16];
	struct sl_chost h;
	unsigned int found;
};

static void
find_cb(void *arg, const struct sl_chost *h)
{
	struct find *f = arg;

	if (memcmp(f->addr, h->addr, 16) == 0) {
		f->h = *h;
		f->found++;
	}
}

/** @return true when @p addr is in @p t, with a copy in @p out. */
static bool
chost_get(struct sl_chost_table *t, const uint8_t addr[16], struct sl_chost *out)
{
	struct find f;

	memset(&f, 0, sizeof(f));
	memcpy(f.addr, addr, 16);
	sl_chost_foreach(t, find_cb, &f);
	assert_true(f.found <= 1);
	if (f.found == 1 && out != NULL)
		*out = f.h;
	return f.found == 1;
}

static struct sl_chost_totals
totals(const struct sl_chost_table *t)
{
	struct sl_chost_totals tot;

	memset(&tot, 0xff, sizeof(tot));
	sl_chost_totals(t, &tot);
	return tot;
}

/* ---- fixture ---- */

struct hx {
	struct sl_whost_table *w[4];
	struct sl_chost_table *c;
	struct sl_chan ch[3];
	struct coll col;
};

static int
hx_setup(void **state)
{
	struct hx *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return -1;
	x->col.room = UNLIMITED;
	*state = x;
	return 0;
}

static int
hx_teardown(void **state)
{
	struct hx *x = *state;

	for (unsigned int i = 0; i < SL_ARRAY_SIZE(x->w); i++)
		sl_whost_free(x->w[i]);
	sl_chost_free(x->c);
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(x->ch); i++)
		if (x->ch[i].ring != NULL)
			sl_chan_fini(&x->ch[i]);
	free(x);
	return 0;
}

static struct sl_whost_table *
mk_whost(struct hx *x, unsigned int i, uint32_t capacity, uint16_t worker)
{
	static unsigned int seq;
	char name[32];

	snprintf(name, sizeof(name), "twh%u", seq++);
	x->w[i] = sl_whost_create(name, capacity, worker, (int)rte_socket_id());
	assert_non_null(x->w[i]);
	return x->w[i];
}

static struct sl_chost_table *
mk_chost(struct hx *x, uint32_t capacity, uint64_t timeout_us)
{
	x->c = sl_chost_create(capacity, timeout_us, (int)rte_socket_id());
	assert_non_null(x->c);
	return x->c;
}

/** Acquire host @p n and mark it dirty with some traffic. @return the slot. */
static uint32_t
touch_host(struct sl_whost_table *t, uint32_t n)
{
	uint8_t a[16];
	uint32_t idx;
	struct sl_whost *s;

	mk_addr(n, a);
	idx = sl_whost_acquire(t, a);
	assert_int_not_equal(idx, SL_HOST_NONE);
	s = sl_whost_touch(t, idx);
	s->pkts_out += 1;
	s->bytes_out += 100 + n;
	return idx;
}

/* ---- HyperLogLog ---- */

static void
test_hll_accuracy(void **state)
{
	static const uint32_t ns[] = {1, 2, 3, 4, 5, 50, 1000, 10000, 100000};
	uint8_t hll[SL_HLL_BYTES];

	(void)state;
	memset(hll, 0, sizeof(hll));
	assert_true(estimate(hll) == 0.0); /* empty sketch */
	for (unsigned int k = 0; k < SL_ARRAY_SIZE(ns); k++) {
		uint32_t n = ns[k];
		uint8_t dirty = 0;
		double est;

		memset(hll, 0, sizeof(hll));
		for (uint32_t i = 0; i < n; i++)
			sl_hll_add(hll, sl_mix64((uint64_t)i + 1), &dirty);
		assert_int_equal(dirty, 1);
		est = estimate(hll);
		if (n <= 5) {
			if (fabs(est - n) > 1.0)
				print_error("N=%u estimate %.3f\n", n, est);
			assert_true(fabs(est - n) <= 1.0);
		} else {
			if (fabs(est - n) > 0.3 * n)
				print_error("N=%u estimate %.3f\n", n, est);
			assert_true(fabs(est - n) <= 0.3 * n);
		}
		/* the same hashes again change nothing */
		{
			uint8_t copy[SL_HLL_BYTES];

			memcpy(copy, hll, sizeof(copy));
			dirty = 0;
			for (uint32_t i = 0; i < n && i < 1000; i++)
				sl_hll_add(hll, sl_mix64((uint64_t)i + 1), &dirty);
			assert_int_equal(dirty, 0);
			assert_memory_equal(copy, hll, sizeof(copy));
		}
	}
	/* the estimator is standard HyperLogLog for m = 64 (alpha 0.709), with linear counting
	 * m ln(m / zeros) while the raw estimate is at most 2.5 m and registers are empty */
	{
		struct sl_chost h;

		memset(&h, 0, sizeof(h));
		memset(h.hll, 10, sizeof(h.hll));
		assert_true(fabs(sl_chost_peers(&h) - 0.709 * 64 * 1024) < 1e-6);
		memset(h.hll, 0, sizeof(h.hll));
		for (unsigned int i = 0; i < 16; i++)
			h.hll[i * 4] = 1;
		assert_true(fabs(sl_chost_peers(&h) - 64 * log(64.0 / 48)) < 1e-9);
	}
	/* a single peer seen many times is still one */
	memset(hll, 0, sizeof(hll));
	for (unsigned int i = 0; i < 1000; i++) {
		uint8_t dirty = 0;

		sl_hll_add(hll, sl_mix64(42), &dirty);
		assert_int_equal(dirty, i == 0);
	}
	assert_true(fabs(estimate(hll) - 1.0) <= 0.5);
}

static void
test_hll_registers(void **state)
{
	uint8_t hll[SL_HLL_BYTES];
	uint8_t dirty;

	(void)state;
	memset(hll, 0, sizeof(hll));
	/* register = top 6 bits; rank = leading zeros of the rest + 1; even registers in the
	 * low nibble */
	dirty = 0;
	sl_hll_add(hll, 1ull << 57, &dirty); /* register 0, rank 1 */
	assert_int_equal(dirty, 1);
	assert_int_equal(hll[0], 0x01);
	dirty = 0;
	sl_hll_add(hll, (1ull << 58) | (1ull << 55), &dirty); /* register 1, rank 3 */
	assert_int_equal(dirty, 1);
	assert_int_equal(hll[0], 0x31);
	dirty = 0;
	sl_hll_add(hll, 63ull << 58, &dirty); /* register 63, rest zero: rank capped at 15 */
	assert_int_equal(dirty, 1);
	assert_int_equal(hll[31], 0xf0);
	dirty = 0;
	sl_hll_add(hll, (2ull << 58) | 1, &dirty); /* register 2, rank 57: capped */
	assert_int_equal(hll[1], 0x0f);
	/* a lower rank in a register does not lower it, nor mark it */
	dirty = 0;
	sl_hll_add(hll, (1ull << 58) | (1ull << 57), &dirty); /* register 1, rank 1 */
	assert_int_equal(dirty, 0);
	assert_int_equal(hll[0], 0x31);
	/* the same rank again: no change either */
	sl_hll_add(hll, (1ull << 58) | (1ull << 55) | 7, &dirty);
	assert_int_equal(dirty, 0);
	/* a higher one raises it and leaves the neighbour nibble alone */
	sl_hll_add(hll, (1ull << 58) | (1ull << 52), &dirty); /* register 1, rank 6 */
	assert_int_equal(dirty, 1);
	assert_int_equal(hll[0], 0x61);
	for (unsigned int i = 2; i < 31; i++)
		assert_int_equal(hll[i], 0);
	/* ranks 15 and 16 both store 15 and never spill into the neighbour register */
	{
		uint8_t h2[SL_HLL_BYTES];

		memset(h2, 0, sizeof(h2));
		sl_hll_add(h2, 1ull << 43, &dirty); /* register 0, rank 15 */
		assert_int_equal(h2[0], 0x0f);
		sl_hll_add(h2, (1ull << 58) | (1ull << 42), &dirty); /* register 1, rank 16 */
		assert_int_equal(h2[0], 0xff);
		sl_hll_add(h2, (3ull << 58) | (1ull << 42), &dirty); /* register 3, rank 16 */
		assert_int_equal(h2[1], 0xf0);
		for (unsigned int i = 2; i < SL_HLL_BYTES; i++)
			assert_int_equal(h2[i], 0);
	}
	/* dirty is only ever set, never cleared, by sl_hll_add */
	dirty = 1;
	sl_hll_add(hll, (1ull << 58) | (1ull << 57), &dirty);
	assert_int_equal(dirty, 1);
}

/* Split 10000 peers over two workers' sketches; the control core's max-merge must equal
 * one sketch fed with all of them, register for register. */
static void
test_hll_merge(void **state)
{
	struct hx *x = *state;
	struct sl_whost_table *w1 = mk_whost(x, 0, 64, 1);
	struct sl_whost_table *w2 = mk_whost(x, 1, 64, 2);
	struct sl_chost_table *c = mk_chost(x, 64, 1000000);
	uint8_t all[SL_HLL_BYTES], a[16], hll1[SL_HLL_BYTES], hll2[SL_HLL_BYTES];
	uint8_t dall = 0;
	uint32_t i1, i2;
	struct sl_whost *s1, *s2;
	struct sl_chost h;
	double merged, single;

	memset(all, 0, sizeof(all));
	mk_addr(7, a);
	i1 = sl_whost_acquire(w1, a);
	i2 = sl_whost_acquire(w2, a);
	s1 = sl_whost_touch(w1, i1);
	s2 = sl_whost_touch(w2, i2);
	for (uint64_t i = 0; i < 10000; i++) {
		uint64_t hsh = sl_mix64(i + 1000000);

		if (sl_mix64(i) & 1)
			sl_hll_add(s1->hll, hsh, &s1->hll_dirty);
		else
			sl_hll_add(s2->hll, hsh, &s2->hll_dirty);
		sl_hll_add(all, hsh, &dall);
	}
	assert_int_equal(s1->hll_dirty, 1);
	assert_int_equal(s2->hll_dirty, 1);
	s1->pkts_out = 3;
	s2->pkts_out = 4;
	memcpy(hll1, s1->hll, sizeof(hll1));
	memcpy(hll2, s2->hll, sizeof(hll2));
	/* neither half alone is the whole */
	assert_memory_not_equal(hll1, all, sizeof(all));
	assert_memory_not_equal(hll2, all, sizeof(all));

	x->col.apply = c;
	assert_int_equal(sl_whost_report(w1, 1000, collect, &x->col, false, NULL), 1);
	assert_int_equal(sl_whost_report(w2, 1001, collect, &x->col, false, NULL), 1);
	assert_int_equal(x->col.d[0].worker, 1);
	assert_int_equal(x->col.d[1].worker, 2);
	assert_true(chost_get(c, a, &h));
	for (unsigned int i = 0; i < SL_HLL_M; i++) {
		assert_int_equal(h.hll[i], nibble(all, i));
		assert_int_equal(h.hll[i], SL_MAX(nibble(hll1, i), nibble(hll2, i)));
	}
	merged = sl_chost_peers(&h);
	single = estimate(all);
	assert_true(merged == single);
	assert_true(fabs(merged - 10000) <= 3000);
	assert_true(merged > estimate(hll1) || merged > estimate(hll2));
	assert_int_equal(h.pkts_out, 7);
	/* the worker sketch is cumulative: a report clears counters, not registers */
	assert_memory_equal(s1->hll, hll1, sizeof(hll1));
	assert_int_equal(s1->hll_dirty, 0);
	assert_int_equal(s1->pkts_out, 0);
	/* reporting the same sketch again (order reversed) changes nothing */
	sl_whost_touch(w2, i2);
	sl_whost_touch(w1, i1);
	assert_int_equal(sl_whost_report(w2, 2000, collect, &x->col, false, NULL), 1);
	assert_int_equal(sl_whost_report(w1, 2001, collect, &x->col, false, NULL), 1);
	assert_true(chost_get(c, a, &h));
	assert_true(sl_chost_peers(&h) == single);
	assert_int_equal(totals(c).deltas, 4);
}

/* ---- worker table ---- */

static void
test_whost_slots_and_report(void **state)
{
	struct hx *x = *state;
	struct sl_whost_table *t = mk_whost(x, 0, 64, 7);
	uint8_t a[16], b[16];
	uint32_t ia, ia2, ib;
	struct sl_whost *s;
	uint8_t hll_before[SL_HLL_BYTES];
	int k;

	mk_addr(1, a);
	mk_addr(2, b);
	assert_int_equal(sl_whost_in_use(t), 0);
	ia = sl_whost_acquire(t, a);
	ia2 = sl_whost_acquire(t, a);
	ib = sl_whost_acquire(t, b);
	assert_int_not_equal(ia, SL_HOST_NONE);
	assert_int_equal(ia, ia2);
	assert_int_not_equal(ia, ib);
	assert_true(ia < 64 && ib < 64);
	assert_int_equal(sl_whost_in_use(t), 2);
	assert_int_equal(sl_whost_stats(t)->hosts_added, 2);

	/* a fresh slot is clean */
	s = sl_whost_touch(t, ia);
	assert_int_equal(s->pkts_out, 0);
	assert_int_equal(s->dirty, 1);
	assert_ptr_equal(sl_whost_touch(t, ia), s); /* touching again: same slot, listed once */
	s->bytes_out = 1000;
	s->bytes_in = 2000;
	s->pkts_out = 10;
	s->pkts_in = 20;
	s->flows_opened = 3;
	s->long_lived = 1;
	sl_hll_add(s->hll, sl_mix64(1), &s->hll_dirty);
	sl_hll_add(s->hll, sl_mix64(2), &s->hll_dirty);
	memcpy(hll_before, s->hll, sizeof(hll_before));
	sl_whost_touch(t, ia);

	assert_int_equal(sl_whost_report(t, 12345, collect, &x->col, false, NULL), 1);
	assert_int_equal(x->col.n, 1);
	assert_int_equal(x->col.calls, 1);
	assert_memory_equal(x->col.d[0].addr, a, 16);
	assert_int_equal(x->col.d[0].bytes_out, 1000);
	assert_int_equal(x->col.d[0].bytes_in, 2000);
	assert_int_equal(x->col.d[0].pkts_out, 10);
	assert_int_equal(x->col.d[0].pkts_in, 20);
	assert_int_equal(x->col.d[0].flows_opened, 3);
	assert_int_equal(x->col.d[0].long_lived, 1);
	assert_int_equal(x->col.d[0].worker, 7);
	assert_int_equal(x->col.d[0].ts_us, 12345);
	assert_memory_equal(x->col.d[0].hll, hll_before, SL_HLL_BYTES);
	assert_int_equal(sl_whost_stats(t)->reports, 1);
	assert_int_equal(sl_whost_stats(t)->report_ring_full, 0);
	/* cleared, but still there (referenced) and the sketch kept */
	assert_int_equal(s->bytes_out + s->bytes_in + s->pkts_out + s->pkts_in, 0);
	assert_int_equal(s->flows_opened + s->long_lived, 0);
	assert_int_equal(s->dirty, 0);
	assert_int_equal(s->hll_dirty, 0);
	assert_memory_equal(s->hll, hll_before, SL_HLL_BYTES);
	assert_int_equal(sl_whost_in_use(t), 2);

	/* nothing changed: nothing sent, the callback not even called */
	assert_int_equal(sl_whost_report(t, 12346, collect, &x->col, false, NULL), 0);
	assert_int_equal(x->col.n, 1);
	assert_int_equal(x->col.calls, 1);
	assert_int_equal(sl_whost_stats(t)->reports, 1);

	/* two dirty slots: two records */
	sl_whost_touch(t, ib)->pkts_in = 5;
	sl_whost_touch(t, ia)->pkts_out = 6;
	assert_int_equal(sl_whost_report(t, 20000, collect, &x->col, false, NULL), 2);
	k = coll_find(&x->col, b);
	assert_true(k >= 0);
	assert_int_equal(x->col.d[k].pkts_in, 5);
	assert_int_equal(x->col.d[k].ts_us, 20000);
	assert_int_equal(sl_whost_stats(t)->reports, 3);

	/* releasing the last reference on a clean slot evicts it */
	sl_whost_release(t, ia);
	assert_int_equal(sl_whost_in_use(t), 2);
	assert_int_equal(sl_whost_stats(t)->hosts_evicted, 0);
	sl_whost_release(t, ia);
	assert_int_equal(sl_whost_in_use(t), 1);
	assert_int_equal(sl_whost_stats(t)->hosts_evicted, 1);
	sl_whost_release(t, SL_HOST_NONE); /* no-op */
	assert_int_equal(sl_whost_in_use(t), 1);
	/* the address comes back as a new, empty slot */
	ia = sl_whost_acquire(t, a);
	assert_int_equal(sl_whost_stats(t)->hosts_added, 3);
	s = sl_whost_touch(t, ia);
	assert_int_equal(s->pkts_out, 0);
	for (unsigned int i = 0; i < SL_HLL_BYTES; i++)
		assert_int_equal(s->hll[i], 0);

	/* a dirty slot whose last reference goes stays until its report, then goes */
	s->pkts_out = 9;
	sl_whost_release(t, ia);
	assert_int_equal(sl_whost_in_use(t), 2);
	assert_int_equal(sl_whost_stats(t)->hosts_evicted, 1);
	assert_int_equal(sl_whost_report(t, 30000, collect, &x->col, false, NULL), 1);
	assert_int_equal(x->col.d[x->col.n - 1].pkts_out, 9);
	assert_memory_equal(x->col.d[x->col.n - 1].addr, a, 16);
	assert_int_equal(sl_whost_in_use(t), 1);
	assert_int_equal(sl_whost_stats(t)->hosts_evicted, 2);
	/* b still referenced and clean: stays */
	assert_int_equal(sl_whost_report(t, 40000, collect, &x->col, false, NULL), 0);
	assert_int_equal(sl_whost_in_use(t), 1);
	sl_whost_release(t, ib);
	assert_int_equal(sl_whost_in_use(t), 0);
	assert_int_equal(sl_whost_stats(t)->hosts_evicted, 3);
	assert_int_equal(sl_whost_stats(t)->table_full, 0);
	assert_int_equal(sl_whost_stats(t)->reports_lost, 0);
}

static void
test_whost_ring_full_nowait(void **state)
{
	struct hx *x = *state;
	struct sl_whost_table *t = mk_whost(x, 0, 256, 1);
	const unsigned int n = SL_MIN(10u, (unsigned int)SL_BURST);
	const unsigned int k = n / 2 - (n > 2); /* accepted on the first try */
	uint32_t idx[10];
	uint8_t a[16];

	for (unsigned int i = 0; i < n; i++)
		idx[i] = touch_host(t, i);
	x->col.room = k;
	assert_int_equal(sl_whost_report(t, 100, collect, &x->col, false, NULL), k);
	assert_int_equal(x->col.n, k);
	assert_int_equal(sl_whost_stats(t)->report_ring_full, n - k);
	assert_int_equal(sl_whost_stats(t)->reports, k);
	/* drop the reference of a host that was not sent: it must still be reported */
	mk_addr(n - 1, a);
	assert_true(coll_find(&x->col, a) < 0);
	sl_whost_release(t, idx[n - 1]);
	assert_int_equal(sl_whost_in_use(t), n);
	/* a report that gets no room at all keeps everything */
	x->col.room = 0;
	assert_int_equal(sl_whost_report(t, 150, collect, &x->col, false, NULL), 0);
	assert_int_equal(sl_whost_stats(t)->report_ring_full, 2 * (n - k));
	/* the next report with room sends the rest: nothing lost, nothing twice */
	x->col.room = UNLIMITED;
	assert_int_equal(sl_whost_report(t, 200, collect, &x->col, false, NULL), n - k);
	assert_int_equal(x->col.n, n);
	for (unsigned int i = 0; i < n; i++) {
		int j;

		mk_addr(i, a);
		j = coll_find(&x->col, a);
		assert_true(j >= 0);
		assert_int_equal(x->col.d[j].pkts_out, 1);
		assert_int_equal(x->col.d[j].bytes_out, 100 + i);
		assert_int_equal(x->col.d[j].ts_us, (unsigned int)j < k ? 100 : 200);
	}
	assert_int_equal(sl_whost_stats(t)->reports, n);
	assert_int_equal(sl_whost_stats(t)->reports_lost, 0);
	assert_int_equal(sl_whost_in_use(t), n - 1); /* the released one went after its report */
	assert_int_equal(sl_whost_report(t, 300, collect, &x->col, false, NULL), 0);
}

/* More dirty slots than one burst, a small ring: repeated reports deliver each exactly
 * once. */
static void
test_whost_ring_full_many(void **state)
{
	struct hx *x = *state;
	struct sl_whost_table *t = mk_whost(x, 0, 256, 1);
	const unsigned int n = 2 * SL_BURST + 5;
	unsigned int reports = 0, sent = 0;
	uint8_t a[16];

	for (unsigned int i = 0; i < n; i++)
		touch_host(t, 1000 + i);
	while (sent < n) {
		x->col.room = 7;
		sent += sl_whost_report(t, 100 + reports, collect, &x->col, false, NULL);
		assert_true(++reports <= n);
	}
	assert_int_equal(sent, n);
	assert_int_equal(x->col.n, n);
	for (unsigned int i = 0; i < n; i++) {
		mk_addr(1000 + i, a);
		assert_true(coll_find(&x->col, a) >= 0);
	}
	assert_true(sl_whost_stats(t)->report_ring_full > 0);
	assert_int_equal(sl_whost_stats(t)->reports, n);
	x->col.room = UNLIMITED;
	assert_int_equal(sl_whost_report(t, 9999, collect, &x->col, false, NULL), 0);
}

static void
test_whost_ring_full_wait(void **state)
{
	struct hx *x = *state;
	struct sl_whost_table *t = mk_whost(x, 0, 256, 1);
	const unsigned int n = 2 * SL_BURST + 5;
	uint8_t a[16];

	for (unsigned int i = 0; i < n; i++)
		touch_host(t, i);
	x->col.room = 3;
	x->col.idle_room = 3;
	g_idle_coll = &x->col;
	assert_int_equal(sl_whost_report(t, 100, collect, &x->col, true, idle_free_room), n);
	g_idle_coll = NULL;
	assert_int_equal(x->col.n, n);
	assert_true(x->col.idle_calls >= (n - 3 + 2) / 3);
	for (unsigned int i = 0; i < n; i++) {
		mk_addr(i, a);
		assert_true(coll_find(&x->col, a) >= 0);
	}
	assert_int_equal(sl_whost_stats(t)->report_ring_full, 0);
	assert_int_equal(sl_whost_stats(t)->reports, n);
	assert_int_equal(sl_whost_report(t, 200, collect, &x->col, true, idle_free_room), 0);
}

static void
test_whost_table_full(void **state)
{
	struct hx *x = *state;
	struct sl_whost_table *t = mk_whost(x, 0, 64, 1);
	uint32_t got = 0, first = SL_HOST_NONE;
	uint8_t a[16];

	for (uint32_t i = 0; i < 256; i++) {
		uint32_t idx;

		mk_addr(i, a);
		idx = sl_whost_acquire(t, a);
		if (idx == SL_HOST_NONE)
			break;
		assert_true(idx < 64);
		if (i == 0)
			first = idx;
		got++;
	}
	/* exactly the capacity: slots live in an array of 64 */
	assert_int_equal(got, 64);
	assert_int_equal(sl_whost_stats(t)->table_full, 1);
	assert_int_equal(sl_whost_in_use(t), 64);
	for (uint32_t i = 0; i < 3; i++) {
		mk_addr(500 + i, a);
		assert_int_equal(sl_whost_acquire(t, a), SL_HOST_NONE);
	}
	assert_int_equal(sl_whost_stats(t)->table_full, 4);
	/* known hosts still get their slot */
	mk_addr(0, a);
	assert_int_equal(sl_whost_acquire(t, a), first);
	/* freeing one makes room */
	mk_addr(1, a);
	{
		uint32_t i1 = sl_whost_acquire(t, a);

		sl_whost_release(t, i1);
		sl_whost_release(t, i1);
	}
	assert_int_equal(sl_whost_in_use(t), 63);
	mk_addr(600, a);
	assert_int_not_equal(sl_whost_acquire(t, a), SL_HOST_NONE);
	assert_int_equal(sl_whost_stats(t)->table_full, 4);
}

/* A full table: try_acquire does not count; detached slots are freed by the early report of
 * sl_whost_reclaim() with their deltas, never lost; slots still held stay. */
static void
test_whost_reclaim(void **state)
{
	struct hx *x = *state;
	struct sl_whost_table *t = mk_whost(x, 0, 64, 1);
	uint32_t idx[64];
	uint8_t a[16];

	x->col.room = UNLIMITED;
	for (uint32_t i = 0; i < 64; i++) {
		mk_addr(i, a);
		idx[i] = sl_whost_acquire(t, a);
		assert_true(idx[i] < 64);
		sl_whost_touch(t, idx[i])->pkts_out += i + 1;
	}
	mk_addr(1000, a);
	assert_int_equal(sl_whost_try_acquire(t, a), SL_HOST_NONE);
	assert_int_equal(sl_whost_stats(t)->table_full, 0);
	/* every slot held and dirty: a reclaim reports them all and frees none */
	assert_false(sl_whost_reclaim(t, 100, collect, &x->col, false, NULL));
	assert_int_equal(x->col.n, 64);
	assert_int_equal(sl_whost_in_use(t), 64);
	/* ten idle flows let go: clean slots go at once, dirty ones at the next reclaim */
	for (uint32_t i = 0; i < 10; i++) {
		if (i < 5)
			sl_whost_touch(t, idx[i])->pkts_out += 1000;
		sl_whost_detach(t, idx[i]);
	}
	assert_int_equal(sl_whost_stats(t)->detached, 10);
	assert_int_equal(sl_whost_in_use(t), 59);
	assert_true(sl_whost_reclaim(t, 200, collect, &x->col, false, NULL));
	assert_int_equal(sl_whost_in_use(t), 54);
	assert_int_equal(x->col.n, 69);
	for (unsigned int i = 64; i < 69; i++) { /* hosts 0..4, what they did since the first */
		assert_int_equal(x->col.d[i].ts_us, 200);
		assert_true(x->col.d[i].addr[15] < 5);
		assert_int_equal(x->col.d[i].pkts_out, 1000);
	}
	assert_int_equal(sl_whost_stats(t)->reclaims, 2);
	/* a new host gets a slot; releasing or detaching a detached reference does nothing */
	mk_addr(1000, a);
	assert_true(sl_whost_acquire(t, a) < 64);
	sl_whost_release(t, SL_HOST_DETACHED);
	sl_whost_detach(t, SL_HOST_DETACHED);
	sl_whost_detach(t, SL_HOST_NONE);
	assert_int_equal(sl_whost_stats(t)->detached, 10);
	assert_int_equal(sl_whost_stats(t)->table_full, 0);
	assert_int_equal(sl_whost_capacity(t), 64);
}

static void
test_whost_misc(void **state)
{
	(void)state;
	assert_int_equal(sl_whost_num_counters(), sizeof(struct sl_whost_stats) / sizeof(uint64_t));
	assert_string_equal(sl_whost_counter_name(0), "hosts_added");
	assert_string_equal(sl_whost_counter_name(sl_whost_num_counters() - 1), "reports_lost");
	assert_null(sl_whost_counter_name(sl_whost_num_counters()));
	assert_true(sl_whost_memsize(64) >= 64 * sizeof(struct sl_whost));
	assert_true(sl_chost_memsize(64) >= 64 * sizeof(struct sl_chost));
	sl_whost_free(NULL);
	sl_chost_free(NULL);
}

/* ---- control table ---- */

static struct sl_host_delta
mk_delta(uint32_t host, uint64_t ts, uint32_t base)
{
	struct sl_host_delta d;

	memset(&d, 0, sizeof(d));
	mk_addr(host, d.addr);
	d.bytes_out = base * 10;
	d.bytes_in = base * 20;
	d.pkts_out = base;
	d.pkts_in = base * 2;
	d.flows_opened = base * 3;
	d.long_lived = (uint16_t)base;
	d.ts_us = ts;
	return d;
}

static void
test_chost_apply_and_lazy_aging(void **state)
{
	struct hx *x = *state;
	struct sl_chost_table *c = mk_chost(x, 64, 10000);
	struct sl_host_delta d;
	struct sl_chost h;
	struct sl_chost_totals tot;
	uint8_t a[16];

	mk_addr(1, a);
	tot = totals(c);
	assert_int_equal(tot.hosts + tot.hosts_seen + tot.hosts_aged + tot.table_full +
		tot.deltas, 0);
	assert_false(chost_get(c, a, NULL));

	d = mk_delta(1, 1000, 1);
	d.hll[0] = 0x21;    /* registers 0 = 1, 1 = 2 */
	d.hll[31] = 0xf0;   /* register 63 = 15 */
	assert_int_equal(sl_chost_apply(c, &d), 0);
	d = mk_delta(1, 5000, 2);
	d.hll[0] = 0x13;    /* registers 0 = 3, 1 = 1 */
	assert_int_equal(sl_chost_apply(c, &d), 0);
	d = mk_delta(1, 3000, 4); /* a late delta from another worker */
	assert_int_equal(sl_chost_apply(c, &d), 0);
	assert_true(chost_get(c, a, &h));
	assert_memory_equal(h.addr, a, 16);
	assert_int_equal(h.bytes_out, 70);
	assert_int_equal(h.bytes_in, 140);
	assert_int_equal(h.pkts_out, 7);
	assert_int_equal(h.pkts_in, 14);
	assert_int_equal(h.flows_opened, 21);
	assert_int_equal(h.long_lived, 7);
	assert_int_equal(h.first_us, 1000);
	assert_int_equal(h.last_us, 5000);
	assert_int_equal(h.hll[0], 3);
	assert_int_equal(h.hll[1], 2);
	assert_int_equal(h.hll[63], 15);
	for (unsigned int i = 2; i < 63; i++)
		assert_int_equal(h.hll[i], 0);
	tot = totals(c);
	assert_int_equal(tot.hosts, 1);
	assert_int_equal(tot.hosts_seen, 1);
	assert_int_equal(tot.deltas, 3);
	assert_int_equal(tot.hosts_aged, 0);

	/* exactly the timeout after last_us: still the same host life */
	d = mk_delta(1, 15000, 1);
	assert_int_equal(sl_chost_apply(c, &d), 0);
	assert_true(chost_get(c, a, &h));
	assert_int_equal(h.pkts_out, 8);
	assert_int_equal(h.first_us, 1000);
	assert_int_equal(totals(c).hosts_aged, 0);

	/* one µs more: the host starts afresh with this delta only */
	d = mk_delta(1, 25001, 5);
	d.hll[5] = 0x40; /* register 11 = 4 */
	assert_int_equal(sl_chost_apply(c, &d), 0);
	assert_true(chost_get(c, a, &h));
	assert_int_equal(h.pkts_out, 5);
	assert_int_equal(h.bytes_out, 50);
	assert_int_equal(h.bytes_in, 100);
	assert_int_equal(h.pkts_in, 10);
	assert_int_equal(h.flows_opened, 15);
	assert_int_equal(h.long_lived, 5);
	assert_int_equal(h.first_us, 25001);
	assert_int_equal(h.last_us, 25001);
	for (unsigned int i = 0; i < SL_HLL_M; i++)
		assert_int_equal(h.hll[i], i == 11 ? 4 : 0);
	tot = totals(c);
	assert_int_equal(tot.hosts, 1);
	assert_int_equal(tot.hosts_seen, 2);
	assert_int_equal(tot.hosts_aged, 1);
	assert_int_equal(tot.deltas, 5);
}

static void
test_chost_age(void **state)
{
	struct hx *x = *state;
	struct sl_chost_table *c = mk_chost(x, 64, 10000);
	struct sl_host_delta d;
	struct sl_chost h;
	uint8_t a[16];
	unsigned int aged = 0;

	for (uint32_t i = 0; i < 10; i++) {
		d = mk_delta(i, i < 4 ? 1000 : 9000, 1);
		assert_int_equal(sl_chost_apply(c, &d), 0);
	}
	assert_int_equal(sl_chost_age(c, 11000, 64), 0); /* at the timeout: nobody */
	assert_int_equal(sl_chost_age(c, 11001, 0), 0);  /* no budget: nothing */
	assert_int_equal(totals(c).hosts, 10);
	/* a budget of one slot a call: after `capacity` calls every slot was seen */
	for (unsigned int i = 0; i < 64; i++) {
		unsigned int n = sl_chost_age(c, 11001, 1);

		assert_true(n <= 1);
		aged += n;
	}
	assert_int_equal(aged, 4);
	assert_int_equal(totals(c).hosts, 6);
	assert_int_equal(totals(c).hosts_aged, 4);
	for (uint32_t i = 0; i < 10; i++) {
		mk_addr(i, a);
		assert_int_equal(chost_get(c, a, NULL), i >= 4);
	}
	/* an aged host comes back as a new one */
	d = mk_delta(0, 12000, 2);
	assert_int_equal(sl_chost_apply(c, &d), 0);
	mk_addr(0, a);
	assert_true(chost_get(c, a, &h));
	assert_int_equal(h.pkts_out, 2);
	assert_int_equal(h.first_us, 12000);
	assert_int_equal(totals(c).hosts_seen, 11);
	assert_int_equal(totals(c).hosts, 7);
	/* later everybody goes */
	assert_int_equal(sl_chost_age(c, 1000000, 64), 7);
	assert_int_equal(totals(c).hosts, 0);
	assert_int_equal(totals(c).hosts_aged, 11);
	assert_int_equal(sl_chost_age(c, 2000000, 64), 0);
}

struct visit {
	unsigned int n;
	unsigned int seen[64];
	uint64_t pkts;
};

static void
visit_cb(void *arg, const struct sl_chost *h)
{
	struct visit *v = arg;
	uint32_t n = (uint32_t)h->addr[13] << 16 | (uint32_t)h->addr[14] << 8 | h->addr[15];

	v->n++;
	if (n < 64)
		v->seen[n]++;
	v->pkts += h->pkts_out;
}

static void
test_chost_full_foreach_totals(void **state)
{
	struct hx *x = *state;
	struct sl_chost_table *c = mk_chost(x, 64, 10000);
	struct sl_host_delta d;
	struct visit v;
	uint32_t added = 0;
	struct sl_chost_totals tot;

	for (uint32_t i = 0; i < 256; i++) {
		d = mk_delta(i, 1000, i + 1);
		if (sl_chost_apply(c, &d) != 0) {
			assert_int_equal(sl_chost_apply(c, &d), -ENOSPC);
			break;
		}
		added++;
	}
	assert_int_equal(added, 64);
	tot = totals(c);
	assert_int_equal(tot.hosts, 64);
	assert_int_equal(tot.hosts_seen, 64);
	assert_int_equal(tot.table_full, 2);
	assert_int_equal(tot.deltas, 64);
	/* known hosts still accumulate */
	d = mk_delta(5, 2000, 1);
	assert_int_equal(sl_chost_apply(c, &d), 0);
	/* every host visited once */
	memset(&v, 0, sizeof(v));
	sl_chost_foreach(c, visit_cb, &v);
	assert_int_equal(v.n, 64);
	for (unsigned int i = 0; i < 64; i++)
		assert_int_equal(v.seen[i], 1);
	assert_int_equal(v.pkts, 64 * 65 / 2 + 1);
	assert_int_equal(totals(c).deltas, 65);
	/* after aging there is room again */
	assert_int_equal(sl_chost_age(c, 1000 + 10001, 64), 63);
	d = mk_delta(100, 12000, 1);
	assert_int_equal(sl_chost_apply(c, &d), 0);
	memset(&v, 0, sizeof(v));
	sl_chost_foreach(c, visit_cb, &v);
	assert_int_equal(v.n, 2);
	tot = totals(c);
	assert_int_equal(tot.hosts, 2);
	assert_int_equal(tot.hosts_seen, 65);
	assert_int_equal(tot.hosts_aged, 63);
	assert_int_equal(tot.table_full, 2);
}

/* ---- baselines over touched hosts, the estimate cache, aging by the live list ---- */

struct devrec {
	unsigned int n;
	uint8_t host[64];
	uint8_t metric[64];
	float z[64];
	uint64_t ts[64];
};

static void
dev_cb(void *arg, const uint8_t addr[16], const struct sl_base_dev *d, uint64_t now_us)
{
	struct devrec *r = arg;

	assert_true(r->n < 64);
	r->host[r->n] = addr[15];
	r->metric[r->n] = d->metric;
	r->z[r->n] = d->z;
	r->ts[r->n++] = now_us;
}

static void
lazy_params(struct sl_base_params *bp)
{
	memset(bp, 0, sizeof(*bp));
	bp->bucket_us = 60000000;
	bp->warmup = 3;
	bp->alpha = 0.1f;
	bp->z = 4.0f;
	for (unsigned int m = 0; m < SL_BASE_MAX; m++)
		bp->floor[m] = 1.0f;
}

/* Host 1's activity per bucket: busy, then absent for 7 buckets, busy again, absent for
 * 3000 buckets (its baseline decays to a fixed point), then a burst that deviates. */
static uint32_t
lazy_activity(unsigned int b)
{
	if (b < 15)
		return 10 + b % 3;
	if (b < 22)
		return 0;
	if (b < 27)
		return 11;
	if (b < 3027)
		return 0;
	if (b < 3030)
		return 12;
	return b == 3030 ? 400 : 0;
}

static void
test_chost_baseline_lazy(void **state)
{
	struct hx *x = *state;
	struct sl_chost_table *c = mk_chost(x, 64, UINT64_MAX / 2);
	struct sl_base_params bp;
	struct sl_base ref[2];
	uint64_t totv[2][SL_BASE_MAX];
	struct devrec got = {0}, want = {0};
	const unsigned int nb = 3035;
	struct sl_chost h;
	uint8_t a[16];

	lazy_params(&bp);
	memset(ref, 0, sizeof(ref));
	memset(totv, 0, sizeof(totv));
	for (unsigned int b = 0; b < nb; b++) {
		uint64_t edge = (uint64_t)(b + 1) * bp.bucket_us;

		for (uint32_t n = 0; n < 2; n++) {
			uint32_t k = n == 0 ? 5 + b % 4 : lazy_activity(b);
			struct sl_host_delta d;

			if (k == 0)
				continue;
			d = mk_delta(n, edge - 1000000, k);
			assert_int_equal(sl_chost_apply(c, &d), 0);
			totv[n][SL_BASE_bytes_out] += d.bytes_out;
			totv[n][SL_BASE_bytes_in] += d.bytes_in;
			totv[n][SL_BASE_pkts_out] += d.pkts_out;
			totv[n][SL_BASE_flows_opened] += d.flows_opened;
			totv[n][SL_BASE_long_lived] += d.long_lived;
		}
		sl_chost_baseline(c, &bp, edge, dev_cb, &got);
		/* the reference: every host updated at every edge, in host (slot) order */
		for (uint32_t n = 0; n < 2; n++) {
			struct sl_base_dev d;

			if (sl_base_update(&ref[n], &bp, totv[n], &d) >= 0) {
				uint8_t ra[16];

				mk_addr(n, ra);
				dev_cb(&want, ra, &d, edge);
			}
		}
		for (uint32_t n = 0; n < 2; n++) {
			if ((n == 1 && lazy_activity(b) == 0) || b % 97 != 0)
				continue; /* an idle host's baseline is only brought up to date lazily */
			mk_addr(n, a);
			assert_true(chost_get(c, a, &h));
			assert_memory_equal(&h.base, &ref[n], sizeof(ref[n]));
		}
	}
	/* a last touch brings both up to date: the same bits as the sequential computation */
	{
		struct sl_host_delta d = mk_delta(0, (uint64_t)nb * bp.bucket_us + 1, 6);
		struct sl_base_dev dv;

		assert_int_equal(sl_chost_apply(c, &d), 0);
		totv[0][SL_BASE_bytes_out] += d.bytes_out;
		totv[0][SL_BASE_bytes_in] += d.bytes_in;
		totv[0][SL_BASE_pkts_out] += d.pkts_out;
		totv[0][SL_BASE_flows_opened] += d.flows_opened;
		totv[0][SL_BASE_long_lived] += d.long_lived;
		d = mk_delta(1, (uint64_t)nb * bp.bucket_us + 1, 1);
		assert_int_equal(sl_chost_apply(c, &d), 0);
		sl_chost_baseline(c, &bp, (uint64_t)(nb + 1) * bp.bucket_us, dev_cb, &got);
		totv[1][SL_BASE_bytes_out] += d.bytes_out;
		totv[1][SL_BASE_bytes_in] += d.bytes_in;
		totv[1][SL_BASE_pkts_out] += d.pkts_out;
		totv[1][SL_BASE_flows_opened] += d.flows_opened;
		totv[1][SL_BASE_long_lived] += d.long_lived;
		if (sl_base_update(&ref[0], &bp, totv[0], &dv) >= 0)
			fail();
		if (sl_base_update(&ref[1], &bp, totv[1], &dv) >= 0)
			fail();
		for (uint32_t n = 0; n < 2; n++) {
			mk_addr(n, a);
			assert_true(chost_get(c, a, &h));
			assert_memory_equal(&h.base, &ref[n], sizeof(ref[n]));
		}
	}
	assert_true(want.n >= 1);
	assert_int_equal(got.n, want.n);
	for (unsigned int i = 0; i < want.n; i++) {
		assert_int_equal(got.host[i], want.host[i]);
		assert_int_equal(got.metric[i], want.metric[i]);
		assert_memory_equal(&got.z[i], &want.z[i], sizeof(float));
		assert_int_equal(got.ts[i], want.ts[i]);
	}
	/* host 1's 3000 idle buckets stopped costing once its baseline no longer moved */
	print_message("lazy baseline: %" PRIu64 " updates for %u edges x 2 hosts\n",
		totals(c).base_updates, nb + 1);
	assert_int_equal(totals(c).buckets, nb + 1);
	assert_true(totals(c).base_updates < (uint64_t)(nb + 1) + 30 + 2500);
}

static void
test_chost_peers_cache(void **state)
{
	struct hx *x = *state;
	struct sl_chost_table *c = mk_chost(x, 64, 10000000);
	struct sl_base_params bp;
	struct sl_host_delta d;
	struct sl_chost h, fresh;
	uint8_t a[16];

	lazy_params(&bp);
	mk_addr(3, a);
	d = mk_delta(3, 1000, 1);
	d.hll[0] = 0x23;
	assert_int_equal(sl_chost_apply(c, &d), 0);
	assert_true(chost_get(c, a, &h));
	assert_int_equal(h.peers_ok, 0); /* nothing computed yet */
	sl_chost_baseline(c, &bp, 60000000, NULL, NULL);
	assert_true(chost_get(c, a, &h));
	assert_int_equal(h.peers_ok, 1);
	memset(&fresh, 0, sizeof(fresh));
	memcpy(fresh.hll, h.hll, sizeof(fresh.hll));
	assert_true(sl_chost_peers(&h) == sl_chost_peers(&fresh));
	/* registers that do not rise keep the cache */
	d = mk_delta(3, 2000, 1);
	d.hll[0] = 0x12;
	assert_int_equal(sl_chost_apply(c, &d), 0);
	assert_true(chost_get(c, a, &h));
	assert_int_equal(h.peers_ok, 1);
	/* a register that rises invalidates it; the estimate follows the sketch */
	d = mk_delta(3, 3000, 1);
	d.hll[4] = 0x50;
	assert_int_equal(sl_chost_apply(c, &d), 0);
	assert_true(chost_get(c, a, &h));
	assert_int_equal(h.peers_ok, 0);
	memcpy(fresh.hll, h.hll, sizeof(fresh.hll));
	assert_true(sl_chost_peers(&h) == sl_chost_peers(&fresh));
	assert_true(sl_chost_peers(&h) > 2.5);
	sl_chost_baseline(c, &bp, 120000000, NULL, NULL);
	assert_true(chost_get(c, a, &h));
	assert_int_equal(h.peers_ok, 1);
	assert_true(sl_chost_peers(&h) == sl_chost_peers(&fresh));
}

static void
test_chost_age_visits_live(void **state)
{
	struct hx *x = *state;
	struct sl_chost_table *c = mk_chost(x, 16384, 10000);
	struct sl_chost_totals tot;
	struct sl_host_delta d;
	struct visit v;

	for (uint32_t i = 0; i < 10; i++) {
		d = mk_delta(i, i < 4 ? 1000 : 9000, 1);
		assert_int_equal(sl_chost_apply(c, &d), 0);
	}
	d = mk_delta(1, 9500, 1); /* heard of again: no longer among the oldest */
	assert_int_equal(sl_chost_apply(c, &d), 0);
	assert_int_equal(sl_chost_age(c, 11001, 4096), 3);
	tot = totals(c);
	assert_int_equal(tot.age_visits, 4); /* the three aged and the first one alive */
	assert_int_equal(sl_chost_age(c, 11001, 4096), 0);
	assert_int_equal(totals(c).age_visits, 5);
	memset(&v, 0, sizeof(v));
	sl_chost_foreach(c, visit_cb, &v);
	assert_int_equal(v.n, 7);
	assert_int_equal(v.seen[1], 1);
	assert_int_equal(sl_chost_age(c, 1000000, 4096), 7);
	assert_int_equal(totals(c).age_visits, 12);
	assert_int_equal(totals(c).hosts, 0);
	memset(&v, 0, sizeof(v));
	sl_chost_foreach(c, visit_cb, &v);
	assert_int_equal(v.n, 0);
	/* a bucket edge with nobody touched visits nobody */
	{
		struct sl_base_params bp;
		uint64_t before = totals(c).base_updates;

		lazy_params(&bp);
		sl_chost_baseline(c, &bp, 60000000, NULL, NULL);
		assert_int_equal(totals(c).base_updates, before);
	}
}

/* ---- channels ---- */

static void
test_chan_send_drain(void **state)
{
	struct hx *x = *state;
	struct sl_whost_table *t = mk_whost(x, 0, 64, 1);
	struct sl_chost_table *c = mk_chost(x, 64, 1000000);
	struct sl_chan *ch = &x->ch[0];
	struct sl_chost h;
	uint8_t a[16];

	assert_int_equal(sl_chan_init(ch, 1, 64, (int)rte_socket_id()), 0);
	assert_non_null(ch->ring);
	assert_int_equal(ch->sent + ch->full + ch->recv, 0);
	for (uint32_t i = 0; i < 5; i++) {
		uint32_t idx = touch_host(t, i);
		struct sl_whost *s = sl_whost_touch(t, idx);

		s->pkts_in = 2;
		sl_hll_add(s->hll, sl_mix64(i), &s->hll_dirty);
	}
	assert_int_equal(sl_whost_report(t, 5000, sl_chan_send_host, ch, false, NULL), 5);
	assert_int_equal(ch->sent, 5);
	assert_int_equal(ch->full, 0);
	assert_int_equal(rte_ring_count(ch->ring), 5);
	assert_int_equal(sl_chan_drain(ch, c, 100), 5);
	assert_int_equal(ch->recv, 5);
	assert_int_equal(sl_chan_drain(ch, c, 100), 0);
	assert_int_equal(totals(c).hosts, 5);
	assert_int_equal(totals(c).deltas, 5);
	for (uint32_t i = 0; i < 5; i++) {
		mk_addr(i, a);
		assert_true(chost_get(c, a, &h));
		assert_int_equal(h.pkts_out, 1);
		assert_int_equal(h.pkts_in, 2);
		assert_int_equal(h.bytes_out, 100 + i);
		assert_int_equal(h.first_us, 5000);
		assert_true(sl_chost_peers(&h) > 0.5 && sl_chost_peers(&h) < 1.5);
	}
	/* the record itself */
	touch_host(t, 9);
	assert_int_equal(sl_whost_report(t, 6000, sl_chan_send_host, ch, false, NULL), 1);
	{
		struct sl_msg m[4];

		assert_int_equal(sl_chan_recv(ch, m, 4), 1);
		assert_int_equal(m[0].type, SL_MSG_HOST);
		assert_int_equal(m[0].worker, 1);
		assert_int_equal(m[0].u.host.worker, 1);
		assert_int_equal(m[0].u.host.ts_us, 6000);
		mk_addr(9, a);
		assert_memory_equal(m[0].u.host.addr, a, 16);
		assert_int_equal(ch->recv, 6);
	}
	/* drain takes at most `max` */
	for (uint32_t i = 10; i < 20; i++)
		touch_host(t, i);
	assert_int_equal(sl_whost_report(t, 7000, sl_chan_send_host, ch, false, NULL), 10);
	assert_int_equal(sl_chan_drain(ch, c, 4), 4);
	assert_int_equal(sl_chan_drain(ch, c, 100), 6);
	assert_int_equal(totals(c).hosts, 15);
}

static void
test_chan_full(void **state)
{
	struct hx *x = *state;
	struct sl_chan *ch = &x->ch[0];
	struct sl_whost_table *t = mk_whost(x, 0, 256, 2);
	struct sl_chost_table *c = mk_chost(x, 256, 1000000);
	struct sl_host_delta d[SL_BURST];
	unsigned int cap, total = 0, tried = 0;

	assert_int_equal(sl_chan_init(ch, 2, 64, (int)rte_socket_id()), 0);
	cap = rte_ring_get_capacity(ch->ring);
	assert_true(cap >= 63 && cap <= 64);
	for (unsigned int i = 0; i < SL_BURST; i++)
		d[i] = mk_delta(i, 100, 1);
	while (tried < 100) {
		unsigned int n = SL_MIN((unsigned int)SL_BURST, 100 - tried);

		total += sl_chan_send_host(ch, d, n);
		tried += n;
	}
	assert_int_equal(total, cap);
	assert_int_equal(ch->sent, cap);
	assert_int_equal(ch->full, 100 - cap);
	/* after the consumer took some, there is room again */
	assert_int_equal(sl_chan_drain(ch, c, 10), 10);
	assert_int_equal(sl_chan_send_host(ch, d, SL_MIN(20u, (unsigned int)SL_BURST)),
		SL_MIN(10u, (unsigned int)SL_BURST));
	assert_int_equal(sl_chan_drain(ch, c, 1000), cap);
	assert_int_equal(rte_ring_count(ch->ring), 0);

	/* a report through a full ring keeps its records and sends them later: no loss */
	{
		struct sl_chost_totals before = totals(c);
		uint32_t n = 80;
		unsigned int sent = 0, rounds = 0;

		for (uint32_t i = 0; i < n; i++)
			touch_host(t, 1000 + i);
		while (sent < n) {
			sent += sl_whost_report(t, 200 + rounds, sl_chan_send_host, ch, false, NULL);
			sl_chan_drain(ch, c, 1000);
			assert_true(++rounds < 10);
		}
		assert_true(rounds >= 2);
		assert_int_equal(sent, n);
		assert_true(sl_whost_stats(t)->report_ring_full > 0);
		assert_int_equal(totals(c).deltas - before.deltas, n);
		assert_int_equal(totals(c).hosts - before.hosts, n);
	}
}

static void
test_chan_two_workers(void **state)
{
	struct hx *x = *state;
	struct sl_whost_table *w3 = mk_whost(x, 0, 64, 3);
	struct sl_whost_table *w4 = mk_whost(x, 1, 64, 4);
	struct sl_chost_table *c = mk_chost(x, 64, 1000000);
	struct sl_chan dup;
	struct sl_chost h;
	uint8_t a[16];

	assert_int_equal(sl_chan_init(&x->ch[0], 3, 64, (int)rte_socket_id()), 0);
	assert_int_equal(sl_chan_init(&x->ch[1], 4, 64, (int)rte_socket_id()), 0);
	assert_ptr_not_equal(x->ch[0].ring, x->ch[1].ring);
	/* one channel per worker id */
	assert_int_equal(sl_chan_init(&dup, 3, 64, (int)rte_socket_id()), -EEXIST);
	assert_null(dup.ring);
	/* a size that is not a power of two is refused */
	assert_int_equal(sl_chan_init(&x->ch[2], 5, 100, (int)rte_socket_id()), -EINVAL);
	assert_null(x->ch[2].ring);

	/* both workers saw host 1; each saw one more of its own */
	touch_host(w3, 1);
	touch_host(w4, 1);
	touch_host(w3, 30);
	touch_host(w4, 40);
	assert_int_equal(sl_whost_report(w3, 1000, sl_chan_send_host, &x->ch[0], false, NULL), 2);
	assert_int_equal(sl_whost_report(w4, 1100, sl_chan_send_host, &x->ch[1], false, NULL), 2);
	assert_int_equal(rte_ring_count(x->ch[0].ring), 2);
	assert_int_equal(rte_ring_count(x->ch[1].ring), 2);
	{
		struct sl_msg m[2];

		assert_int_equal(sl_chan_recv(&x->ch[1], m, 1), 1);
		assert_int_equal(m[0].worker, 4);
		assert_int_equal(sl_chost_apply(c, &m[0].u.host), 0);
	}
	assert_int_equal(sl_chan_drain(&x->ch[0], c, 100), 2);
	assert_int_equal(sl_chan_drain(&x->ch[1], c, 100), 1);
	assert_int_equal(totals(c).hosts, 3);
	assert_int_equal(totals(c).deltas, 4);
	mk_addr(1, a);
	assert_true(chost_get(c, a, &h));
	assert_int_equal(h.pkts_out, 2);
	assert_int_equal(h.bytes_out, 2 * 101);
	assert_int_equal(h.first_us, 1000);
	assert_int_equal(h.last_us, 1100);
	/* a closed channel's name can be used again */
	sl_chan_fini(&x->ch[0]);
	assert_null(x->ch[0].ring);
	assert_int_equal(sl_chan_init(&x->ch[0], 3, 64, (int)rte_socket_id()), 0);
}

/* ---- EAL ---- */

static int
group_setup(void **state)
{
	(void)state;
	if (sl_test_eal_init("host") < 0)
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

#define T(fn) cmocka_unit_test_setup_teardown(fn, hx_setup, hx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_hll_accuracy),
		T(test_hll_registers),
		T(test_hll_merge),
		T(test_whost_slots_and_report),
		T(test_whost_ring_full_nowait),
		T(test_whost_ring_full_many),
		T(test_whost_ring_full_wait),
		T(test_whost_table_full),
		T(test_whost_reclaim),
		T(test_whost_misc),
		T(test_chost_apply_and_lazy_aging),
		T(test_chost_age),
		T(test_chost_full_foreach_totals),
		T(test_chost_baseline_lazy),
		T(test_chost_peers_cache),
		T(test_chost_age_visits_live),
		T(test_chan_send_drain),
		T(test_chan_full),
		T(test_chan_two_workers),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
