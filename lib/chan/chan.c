/* chan.c: SP/SC record rings between each worker and the control core (see sl_chan.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_ring_elem.h>

#include "sl_chan.h"
#include "sl_common.h"

_Static_assert(sizeof(struct sl_msg) == 128, "channel record is 128 bytes");

int
sl_chan_init(struct sl_chan *c, unsigned int worker, unsigned int size, int socket)
{
	char name[RTE_RING_NAMESIZE];

	memset(c, 0, sizeof(*c));
	snprintf(name, sizeof(name), "sl_chan%u", worker);
	c->ring = rte_ring_create_elem(name, sizeof(struct sl_msg), size, socket,
		RING_F_SP_ENQ | RING_F_SC_DEQ);
	return c->ring == NULL ? -rte_errno : 0;
}

void
sl_chan_fini(struct sl_chan *c)
{
	rte_ring_free(c->ring);
	c->ring = NULL;
}

unsigned int
sl_chan_send(struct sl_chan *c, const struct sl_msg *m, unsigned int n)
{
	unsigned int k = rte_ring_sp_enqueue_burst_elem(c->ring, m, sizeof(*m), n, NULL);

	SL_STORE_RELAXED(&c->sent, c->sent + k);
	if (k < n)
		SL_STORE_RELAXED(&c->full, c->full + (n - k));
	return k;
}

unsigned int
sl_chan_recv(struct sl_chan *c, struct sl_msg *m, unsigned int n)
{
	unsigned int k = rte_ring_sc_dequeue_burst_elem(c->ring, m, sizeof(*m), n, NULL);

	c->recv += k;
	return k;
}

unsigned int
sl_chan_send_host(void *chan, const struct sl_host_delta *d, unsigned int n)
{
	struct sl_chan *c = chan;
	struct sl_msg m[SL_BURST];

	if (n > SL_BURST)
		n = SL_BURST;
	for (unsigned int i = 0; i < n; i++) {
		m[i].type = SL_MSG_HOST;
		m[i].worker = d[i].worker;
		memset(m[i].u.raw, 0, sizeof(m[i].u.raw));
		m[i].u.host = d[i];
	}
	return sl_chan_send(c, m, n);
}

void
sl_chan_send_wait(struct sl_chan *c, const struct sl_msg *m, void (*wait)(void))
{
	struct sl_msg copy = *m; /* the ring API takes a non-const pointer */

	while (rte_ring_sp_enqueue_elem(c->ring, &copy, sizeof(copy)) != 0)
		wait();
	SL_STORE_RELAXED(&c->sent, c->sent + 1);
}

unsigned int
sl_chan_drain(struct sl_chan *c, struct sl_chost_table *hosts, unsigned int max)
{
	struct sl_chan_sink k = {.hosts = hosts};

	return sl_chan_drain_ev(c, &k, max);
}

static uint64_t
msg_time(const struct sl_msg *m)
{
	switch (m->type) {
	case SL_MSG_HOST:
		return m->u.host.ts_us;
	case SL_MSG_EVENT:
		return m->u.event.ts_us;
	case SL_MSG_FLOW:
		return m->u.flow.ts_us;
	case SL_MSG_DEV:
		return m->u.dev.ts_us;
	default:
		return 0;
	}
}

void
sl_chan_deliver(const struct sl_chan_sink *k, const struct sl_msg *m)
{
	if (k->on_clock != NULL)
		k->on_clock(k->arg, msg_time(m));
	if (m->type == SL_MSG_HOST)
		sl_chost_apply(k->hosts, &m->u.host);
	else if (m->type == SL_MSG_EVENT && k->on_event != NULL)
		k->on_event(k->arg, m->worker, &m->u.event);
	else if (m->type == SL_MSG_FLOW && k->on_flow != NULL)
		k->on_flow(k->arg, m->worker, &m->u.flow);
	else if (m->type == SL_MSG_DEV && k->on_dev != NULL)
		k->on_dev(k->arg, m->worker, &m->u.dev);
}

int
sl_chan_merge_init(struct sl_chan_merge *m, struct sl_chan **c, const int **done,
	unsigned int n, int socket)
{
	memset(m, 0, sizeof(*m));
	if (n == 0 || n > SL_CHAN_MERGE_MAX)
		return -EINVAL;
	m->n = n;
	for (unsigned int i = 0; i < n; i++) {
		m->c[i] = c[i];
		m->done[i] = done != NULL ? done[i] : NULL;
		m->stage[i] = rte_malloc_socket("sl_merge", SL_MERGE_STAGE * sizeof(struct sl_msg),
			RTE_CACHE_LINE_SIZE, socket);
		if (m->stage[i] == NULL) {
			sl_chan_merge_fini(m);
			return -ENOMEM;
		}
	}
	return 0;
}

void
sl_chan_merge_fini(struct sl_chan_merge *m)
{
	for (unsigned int i = 0; i < SL_CHAN_MERGE_MAX; i++) {
		rte_free(m->stage[i]);
		m->stage[i] = NULL;
	}
}

/* Top up channel @p i's stage (a ring buffer of SL_MERGE_STAGE records). */
static void
stage_fill(struct sl_chan_merge *m, unsigned int i)
{
	while (m->cnt[i] < SL_MERGE_STAGE) {
		uint32_t tail = (m->head[i] + m->cnt[i]) % SL_MERGE_STAGE;
		uint32_t room = SL_MIN(SL_MERGE_STAGE - m->cnt[i], SL_MERGE_STAGE - tail);
		unsigned int got = sl_chan_recv(m->c[i], &m->stage[i][tail], SL_MIN(room, 256u));

		m->cnt[i] += got;
		m->taken += got;
		if (got == 0)
			break;
	}
}

unsigned int
sl_chan_merge_drain(struct sl_chan_merge *m, const struct sl_chan_sink *k, bool flush)
{
	unsigned int delivered = 0;

	for (;;) {
		int best = -1, full = -1;
		bool blocked = false;

		for (unsigned int i = 0; i < m->n; i++) {
			if (m->cnt[i] == 0) {
				/* done is set after the producer's last enqueue: once it is seen, what
				 * the ring holds is all there will ever be */
				bool fin = flush || (m->done[i] != NULL && SL_LOAD_ACQUIRE(m->done[i]));

				stage_fill(m, i);
				if (m->cnt[i] == 0) {
					blocked |= !fin;
					continue;
				}
			}
			if (m->cnt[i] == SL_MERGE_STAGE)
				full = (int)i;
			if (best < 0 || msg_time(&m->stage[i][m->head[i]]) <
						msg_time(&m->stage[best][m->head[best]]))
				best = (int)i;
		}
		if (best < 0)
			return delivered;
		if (blocked) {
			if (full < 0)
				return delivered; /* an older record may still come from an idle channel */
			best = full; /* never let a waiting producer deadlock: count and go on */
			m->forced++;
		}
		sl_chan_deliver(k, &m->stage[best][m->head[best]]);
		m->head[best] = (m->head[best] + 1) % SL_MERGE_STAGE;
		m->cnt[best]--;
		delivered++;
	}
}

unsigned int
sl_chan_drain_ev(struct sl_chan *c, const struct sl_chan_sink *k, unsigned int max)
{
	struct sl_msg m[SL_BURST];
	unsigned int total = 0;

	while (total < max) {
		unsigned int n = sl_chan_recv(c, m, SL_MIN((unsigned int)SL_BURST, max - total));

		for (unsigned int i = 0; i < n; i++)
			sl_chan_deliver(k, &m[i]);
		total += n;
		if (n < SL_BURST)
			break;
	}
	return total;
}
