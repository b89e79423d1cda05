/* ctl_dedup.c: aggregation windows of repeated detections (see ctl_dedup.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_hash_crc.h>

#include "ctl_dedup.h"
#include "sl_common.h"

#define NIL UINT32_MAX

struct dd_ent {
	uint8_t host[16];       /* judged host */
	uint8_t peer[16];       /* the other end */
	uint8_t excerpt[SL_EVIDENCE_MAX]; /* evidence (8-byte aligned: hashed in words) */
	uint8_t detector;
	uint8_t excerpt_len;
	uint32_t hash;
	uint32_t next;          /* hash chain */
	unsigned int weight;
	uint64_t count;         /* repeats folded since the first line */
	uint64_t first_us;      /* first repeat */
	uint64_t open_us;       /* the window's start (the line written at once) */
	struct sl_event last;   /* the latest repeat, for the aggregate line */
};

struct ctl_dedup {
	uint64_t window_us;
	uint32_t cap;           /* entries (power of two) */
	uint32_t head, tail;    /* ring of entries in creation order: [head, tail) open */
	uint32_t *bucket;       /* cap buckets of chain heads */
	struct dd_ent *ent;
	ctl_dedup_write_fn fn;
	void *arg;
	struct ctl_dedup_stats st;
};

struct ctl_dedup *
ctl_dedup_create(uint64_t window_us, uint32_t capacity, ctl_dedup_write_fn fn, void *arg)
{
	struct ctl_dedup *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->cap = rte_align32pow2(capacity < 16 ? 16 : capacity);
	d->window_us = window_us;
	d->fn = fn;
	d->arg = arg;
	d->bucket = malloc(d->cap * sizeof(d->bucket[0]));
	d->ent = malloc(d->cap * sizeof(d->ent[0]));
	if (d->bucket == NULL || d->ent == NULL) {
		ctl_dedup_free(d);
		return NULL;
	}
	for (uint32_t i = 0; i < d->cap; i++)
		d->bucket[i] = NIL;
	return d;
}

void
ctl_dedup_free(struct ctl_dedup *d)
{
	if (d == NULL)
		return;
	free(d->bucket);
	free(d->ent);
	free(d);
}

/* The key of @p ev into @p k (host, peer, detector, evidence). */
static uint32_t
key_of(const struct sl_event *ev, struct dd_ent *k)
{
	bool dst = ev->host == SL_EV_HOST_DST;
	uint32_t h;

	memcpy(k->host, dst ? ev->dst : ev->src, 16);
	memcpy(k->peer, dst ? ev->src : ev->dst, 16);
	k->detector = ev->detector;
	k->excerpt_len = (uint8_t)SL_MIN((unsigned int)ev->excerpt_len, (unsigned int)SL_EVIDENCE_MAX);
	memcpy(k->excerpt, ev->excerpt, k->excerpt_len);
	h = rte_hash_crc(k->host, 32, k->detector);
	h = rte_hash_crc(k->excerpt, k->excerpt_len, h);
	k->hash = h;
	return h;
}

static bool
key_eq(const struct dd_ent *a, const struct dd_ent *b)
{
	return a->hash == b->hash && a->detector == b->detector &&
	       a->excerpt_len == b->excerpt_len && memcmp(a->host, b->host, 32) == 0 &&
	       memcmp(a->excerpt, b->excerpt, a->excerpt_len) == 0;
}

int
ctl_dedup_event(struct ctl_dedup *d, const struct sl_event *ev, unsigned int weight)
{
	struct dd_ent k;
	uint32_t b = key_of(ev, &k) & (d->cap - 1), i, slot;

	for (i = d->bucket[b]; i != NIL; i = d->ent[i].next) {
		struct dd_ent *e = &d->ent[i];

		if (key_eq(e, &k)) {
			if (e->count == 0)
				e->first_us = ev->ts_us;
			e->count++;
			e->last = *ev;
			e->weight = weight;
			d->st.folded++;
			return 1;
		}
	}
	if (d->tail - d->head == d->cap) { /* every entry holds an open window */
		d->st.full++;
		return 0;
	}
	slot = d->tail++ & (d->cap - 1);
	k.next = d->bucket[b];
	k.count = 0;
	k.first_us = 0;
	k.open_us = ev->ts_us;
	k.weight = weight;
	d->ent[slot] = k;
	d->bucket[b] = slot;
	return 0;
}

/* Close the oldest window: its aggregate line, then out of its chain. */
static void
close_head(struct ctl_dedup *d)
{
	uint32_t slot = d->head++ & (d->cap - 1);
	struct dd_ent *e = &d->ent[slot];
	uint32_t *p = &d->bucket[e->hash & (d->cap - 1)];

	if (e->count > 0) {
		d->st.lines++;
		if (d->fn(d->arg, &e->last, e->weight, e->count, e->first_us) < 0)
			d->st.failed++;
	}
	while (*p != slot && *p != NIL)
		p = &d->ent[*p].next;
	if (*p == slot)
		*p = e->next;
}

void
ctl_dedup_expire(struct ctl_dedup *d, uint64_t now_us)
{
	while (d->head != d->tail) {
		uint64_t open = d->ent[d->head & (d->cap - 1)].open_us;

		if (now_us < open || now_us - open < d->window_us) /* time went back, or still open */
			break;
		close_head(d);
	}
}

void
ctl_dedup_flush(struct ctl_dedup *d)
{
	while (d->head != d->tail)
		close_head(d);
}

void
ctl_dedup_get_stats(const struct ctl_dedup *d, struct ctl_dedup_stats *out)
{
	*out = d->st;
}
