/* chan.c: SP/SC record rings between each worker and the control core (see sl_chan.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
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
	default:
		return 0;
	}
}

unsigned int
sl_chan_drain_ev(struct sl_chan *c, const struct sl_chan_sink *k, unsigned int max)
{
	struct sl_msg m[SL_BURST];
	unsigned int total = 0;

	while (total < max) {
		unsigned int n = sl_chan_recv(c, m, SL_MIN((unsigned int)SL_BURST, max - total));

		for (unsigned int i = 0; i < n; i++) {
			if (k->on_clock != NULL)
				k->on_clock(k->arg, msg_time(&m[i]));
			if (m[i].type == SL_MSG_HOST)
				sl_chost_apply(k->hosts, &m[i].u.host);
			else if (m[i].type == SL_MSG_EVENT && k->on_event != NULL)
				k->on_event(k->arg, m[i].worker, &m[i].u.event);
			else if (m[i].type == SL_MSG_FLOW && k->on_flow != NULL)
				k->on_flow(k->arg, m[i].worker, &m[i].u.flow);
		}
		total += n;
		if (n < SL_BURST)
			break;
	}
	return total;
}
