/* worker.c: the worker lcore's packet path and loop (see sl_worker.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_prefetch.h>

#include "sl_common.h"
#include "sl_worker.h"

#define SL_PREFETCH 4 /**< packets ahead whose headers are prefetched */

/* The flow table's payload buffers are what inspection scans in place. */
_Static_assert(SL_FLOW_PAYLOAD_TAIL >= SL_MATCH_SCAN_PAD,
	"the payload pool keeps the readable tail Hyperscan needs");

/* Order for the top-flows list: more bytes first, then the key, so ties are stable. */
int
sl_flow_rec_cmp(const struct sl_flow_rec *a, const struct sl_flow_rec *b)
{
	uint64_t ba = a->bytes[0] + a->bytes[1], bb = b->bytes[0] + b->bytes[1];

	if (ba != bb)
		return ba > bb ? -1 : 1;
	if (a->first_us != b->first_us)
		return a->first_us < b->first_us ? -1 : 1;
	return memcmp(&a->key, &b->key, sizeof(a->key));
}

static void
top_insert(struct sl_worker *w, const struct sl_flow_key *key, const struct sl_flow *f,
	int at_exit)
{
	struct sl_flow_rec r;
	unsigned int i;

	if (w->top_want == 0)
		return;
	if (w->ntop == w->top_want &&
	    f->bytes[0] + f->bytes[1] < w->top[w->ntop - 1].bytes[0] + w->top[w->ntop - 1].bytes[1])
		return;
	memset(&r, 0, sizeof(r));
	r.key = *key;
	r.first_us = f->first_us;
	r.last_us = f->last_us;
	r.pkts[0] = f->pkts[0];
	r.pkts[1] = f->pkts[1];
	r.bytes[0] = f->bytes[0];
	r.bytes[1] = f->bytes[1];
	r.init_hi = (f->flags & SL_FLOW_F_INIT_HI) != 0;
	r.state = f->state;
	r.at_exit = (uint8_t)at_exit;
	if (w->ntop == w->top_want && sl_flow_rec_cmp(&r, &w->top[w->ntop - 1]) >= 0)
		return;
	if (w->ntop < w->top_want)
		w->ntop++;
	for (i = w->ntop - 1; i > 0 && sl_flow_rec_cmp(&r, &w->top[i - 1]) < 0; i--)
		w->top[i] = w->top[i - 1];
	w->top[i] = r;
}

static void send_sample(struct sl_worker *w, struct sl_flow *f, const struct sl_flow_key *key,
	uint64_t now, int final);
static void evid_check(const struct sl_evset *ev, uint8_t gen, struct sl_flow *f,
	const struct sl_flow_key *key);

/* A flow's initiator and responder as an evidence record names them. */
static void
evrec_flow(struct sl_evrec *r, const struct sl_flow *f, const struct sl_flow_key *key)
{
	bool hi = (f->flags & SL_FLOW_F_INIT_HI) != 0;

	memcpy(r->src, hi ? key->hi : key->lo, 16);
	memcpy(r->dst, hi ? key->lo : key->hi, 16);
	r->sport = hi ? key->port_hi : key->port_lo;
	r->dport = hi ? key->port_lo : key->port_hi;
	r->proto = key->proto;
	memset(r->pad, 0, sizeof(r->pad));
}

/* A marked flow ended: the first payload bytes of each direction, once (a full ring drops
 * them, counted). */
static void
evid_stream(struct sl_worker *w, const struct sl_flow *f, const struct sl_flow_key *key)
{
	for (int d = 0; d < 2; d++) {
		uint32_t len = 0;
		const uint8_t *p = sl_flow_payload(w->flows, f, d, &len);
		struct sl_evrec *r;

		if (f->payload[d] == 0)
			continue;
		r = sl_evring_reserve(w->evr);
		if (r == NULL)
			return;
		r->ts_us = f->last_us;
		r->wire_len = (uint32_t)SL_MIN(f->payload[d], (uint64_t)UINT32_MAX);
		r->len = p != NULL ? SL_MIN(len, sl_evring_cap(w->evr)) : 0;
		r->linktype = 0;
		r->kind = SL_EVREC_STREAM;
		r->dir = (uint8_t)d;
		evrec_flow(r, f, key);
		if (r->len > 0)
			memcpy(r->data, p, r->len);
		sl_evring_commit(w->evr);
	}
}

static void
on_flow_end(void *arg, const struct sl_flow_key *key, struct sl_flow *f, int at_exit)
{
	struct sl_worker *w = arg;

	top_insert(w, key, f, at_exit);
	if (w->ev != NULL) { /* marked since its last packet (at exit: marked after it) */
		uint8_t g = (uint8_t)sl_evset_gen(w->ev);

		if (f->evseen != g)
			evid_check(w->ev, g, f, key);
		if (f->bflags & SL_FLOW_B_EVID)
			evid_stream(w, f, key);
	}
	/* the signs stop: tell the scorer (stamped now, so each worker's records stay in time
	 * order for the control core's merge) */
	if ((f->bflags & SL_FLOW_B_SAMPLED) && !at_exit)
		send_sample(w, f, key, SL_MAX(w->now_us, f->last_us), 1);
	sl_whost_release(w->hosts, f->host[0]);
	sl_whost_release(w->hosts, f->host[1]);
	f->host[0] = f->host[1] = SL_FLOW_NONE;
}

uint64_t
sl_worker_memsize(const struct sl_worker_conf *c)
{
	return sl_flow_table_memsize(&c->flow) + sl_whost_memsize(c->host_capacity) +
	       (uint64_t)c->ring_size * sizeof(struct sl_msg) + sizeof(struct sl_worker) +
	       (c->devices ? SL_DEV_CACHE * sizeof(struct sl_dev_seen) : 0);
}

static void
wait_pause(void)
{
	rte_pause();
}

/* The judged side of a flow: the initiator unless home_nets says the responder is the
 * local one. */
static uint8_t
judged_side(const struct sl_worker *w, const uint8_t *src, const uint8_t *dst)
{
	const struct sl_cidr_set *home = w->conf.home;

	if (home != NULL && home->n > 0 && !sl_cidr_set_match(home, src) &&
	    sl_cidr_set_match(home, dst))
		return SL_EV_HOST_DST;
	return SL_EV_HOST_SRC;
}

/* One record to the control core. Offline waits (exact); live refuses when the ring is full. */
static int
send_msg(struct sl_worker *w, const struct sl_msg *m)
{
	if (w->conf.offline) {
		sl_chan_send_wait(&w->chan, m, wait_pause);
		return 0;
	}
	return sl_chan_send(&w->chan, m, 1) == 1 ? 0 : -ENOBUFS;
}

/* A detection from the inspector: one channel record (live: a full ring is a lost event). */
static int
emit_event(void *arg, const struct sl_event *ev)
{
	struct sl_worker *w = arg;
	struct sl_msg m;

	m.type = SL_MSG_EVENT;
	m.worker = w->id;
	memset(m.u.raw, 0, sizeof(m.u.raw));
	m.u.event = *ev;
	if (ev->host == SL_EV_HOST_SRC)
		m.u.event.host = judged_side(w, ev->src, ev->dst);
	return send_msg(w, &m);
}

static inline uint64_t
flow_id_of(const struct sl_flow *f, uint32_t sig)
{
	return sl_mix64(((uint64_t)sig << 32) ^ f->first_us) & ((1ull << 53) - 1);
}

/* A behaviour sample of flow @p f for the control core's scorer. */
static void
send_sample(struct sl_worker *w, struct sl_flow *f, const struct sl_flow_key *key, uint64_t now,
	int final)
{
	struct sl_msg m;
	struct sl_flow_sample *s = &m.u.flow;
	bool hi = (f->flags & SL_FLOW_F_INIT_HI) != 0;
	struct sl_mstate *ms = sl_flow_state(w->flows, f);

	m.type = SL_MSG_FLOW;
	m.worker = w->id;
	memset(m.u.raw, 0, sizeof(m.u.raw));
	memcpy(s->src, hi ? key->hi : key->lo, 16);
	memcpy(s->dst, hi ? key->lo : key->hi, 16);
	s->sport = hi ? key->port_hi : key->port_lo;
	s->dport = hi ? key->port_lo : key->port_hi;
	s->proto = key->proto;
	s->flow_id = flow_id_of(f, rte_hash_crc(key, sizeof(*key), 0));
	s->host = judged_side(w, s->src, s->dst);
	s->final = (uint8_t)final;
	if (f->bflags & SL_FLOW_B_DETECTED)
		s->flags |= SL_SAMPLE_F_DETECTED;
	if (ms != NULL && w->db != NULL) {
		if (ms->app == SL_APP_TLS)
			s->flags |= SL_SAMPLE_F_TLS;
		if (ms->flags & SL_MS_TLS_NOSNI)
			s->flags |= SL_SAMPLE_F_NO_SNI;
		if (ms->app == SL_APP_HTTP || ms->app == SL_APP_WS || ms->app == SL_APP_DNS ||
		    ms->app == SL_APP_SV2)
			s->flags |= SL_SAMPLE_F_PLAIN;
	}
	sl_flow_sample_fill(w->flows, f, now, s);
	if (ms != NULL && w->db != NULL) {
		/* the protocol the table recognised from the first bytes, or from the TLS session's
		 * record sizes (Tor's cells) */
		if (ms->known == SL_KNOWN_none && ms->app == SL_APP_TLS) {
			int k = sl_known_tls_shape(s->cells, s->msgs[0] + s->msgs[1]);

			if (k > 0) { /* decided once, kept with the flow */
				ms->known = (uint8_t)k;
				w->mx.known_count[k]++;
			}
		}
		s->known = ms->known;
	}
	f->bflags |= SL_FLOW_B_SAMPLED;
	if (send_msg(w, &m) == 0)
		w->samples++;
	else
		w->samples_lost++;
}

int
sl_worker_init(struct sl_worker *w, unsigned int id, const struct sl_worker_conf *c,
	struct sl_run *run, int socket)
{
	char name[32];
	int rc;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->conf = *c;
	w->run = run;
	snprintf(name, sizeof(name), "sl_flows%u", id);
	w->flows = sl_flow_table_create(name, &c->flow, socket, on_flow_end, w);
	if (w->flows == NULL)
		return -rte_errno;
	snprintf(name, sizeof(name), "sl_hosts%u", id);
	w->hosts = sl_whost_create(name, c->host_capacity, (uint16_t)id, socket);
	if (w->hosts == NULL) {
		rc = -rte_errno;
		goto err_free_flows;
	}
	rc = sl_chan_init(&w->chan, id, c->ring_size, socket);
	if (rc < 0)
		goto err_free_hosts;
	w->mx.worker = id;
	w->mx.window = c->flow.payload_bytes;
	w->mx.emit = emit_event;
	w->mx.emit_arg = w;
	if (c->match != NULL && c->flow.payload_bytes > 0) {
		w->mx.work = rte_malloc_socket("sl_match_work",
			(size_t)c->flow.payload_bytes + SL_MATCH_SCAN_PAD, RTE_CACHE_LINE_SIZE,
			socket);
		if (w->mx.work == NULL) {
			rc = -ENOMEM;
			sl_chan_fini(&w->chan);
			goto err_free_hosts;
		}
	}
	if (c->devices) {
		if (w->conf.dev_refresh_us == 0)
			w->conf.dev_refresh_us = 60000000;
		w->dev_seen = rte_zmalloc_socket("sl_dev_seen",
			SL_DEV_CACHE * sizeof(*w->dev_seen), RTE_CACHE_LINE_SIZE, socket);
		if (w->dev_seen == NULL) {
			rc = -ENOMEM;
			rte_free(w->mx.work);
			sl_chan_fini(&w->chan);
			goto err_free_hosts;
		}
	}
	w->top_want = SL_MIN(c->top_flows, (uint32_t)SL_TOP_FLOWS);
	w->evr = c->evid != NULL ? sl_evid_ring(c->evid, id) : NULL;
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		w->wall0_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	}
	w->tsc0 = rte_rdtsc();
	w->tsc_per_us = rte_get_tsc_hz() / 1000000;
	if (w->tsc_per_us == 0)
		w->tsc_per_us = 1;
	return 0;

err_free_hosts:
	sl_whost_free(w->hosts);
err_free_flows:
	sl_flow_table_free(w->flows);
	return rc;
}

void
sl_worker_fini(struct sl_worker *w)
{
	rte_free(w->mx.work);
	w->mx.work = NULL;
	rte_free(w->dev_seen);
	w->dev_seen = NULL;
	sl_chan_fini(&w->chan);
	sl_whost_free(w->hosts);
	sl_flow_table_free(w->flows);
}

int
sl_worker_add_rxq(struct sl_worker *w, uint16_t port, uint16_t queue, bool meta, int linktype)
{
	struct sl_rxq *q;

	if (w->nrxq == SL_WORKER_MAX_RXQ)
		return -ENOSPC;
	q = &w->rxq[w->nrxq++];
	memset(q, 0, sizeof(*q));
	q->port = port;
	q->queue = queue;
	q->meta = meta;
	q->linktype = linktype;
	q->tx_port = -1;
	return 0;
}

/* ---- devices (sl_dev.h): off the path of ordinary packets ---- */

/* Time of an observation: the packet's own (offline, or the port's RX timestamp). */
static uint64_t
obs_time(const struct sl_worker *w, const struct rte_mbuf *mb)
{
	if (w->conf.offline || (w->conf.port_time && (mb->ol_flags & sl_ts_flag)))
		return sl_mbuf_ts_us(mb);
	return w->now_us;
}

static void
dev_send(struct sl_worker *w, const struct sl_rxq *q, struct sl_dev_obs *o, uint64_t ts)
{
	struct sl_msg m;

	o->ts_us = ts;
	o->port = q->port;
	o->queue = w->conf.offline ? 0 : q->queue; /* offline: the same whatever the workers */
	m.type = SL_MSG_DEV;
	m.worker = w->id;
	m.u.dev = *o;
	if (send_msg(w, &m) == 0)
		SL_STORE_RELAXED(&w->dev_obs, w->dev_obs + 1);
	else
		SL_STORE_RELAXED(&w->dev_lost, w->dev_lost + 1);
}

/* A frame the parser called non-IP: ARP, LLDP, CDP describe devices. */
static void
dev_l2(struct sl_worker *w, const struct sl_rxq *q, int lt, const uint8_t *p, uint32_t avail,
	const struct rte_mbuf *mb)
{
	struct sl_dev_obs o;
	int rc = sl_dev_parse_l2(lt, p, avail, &o);

	if (rc < 0)
		SL_STORE_RELAXED(&w->dev_malformed, w->dev_malformed + 1);
	else if (rc > 0)
		dev_send(w, q, &o, obs_time(w, mb));
}

/* UDP 67/68: a DHCPv4 client message or the server's ACK; UDP 546 -> 547: a DHCPv6 client. */
static void
dev_dhcp(struct sl_worker *w, const struct sl_rxq *q, int lt, const uint8_t *p, uint32_t avail,
	const struct sl_pkt *pk, const struct rte_mbuf *mb)
{
	struct sl_dev_obs o[2];
	uint8_t mac[6];
	uint16_t vlan = 0;
	int has = sl_dev_l2_src(lt, p, avail, mac, &vlan), n;
	uint32_t len;

	if (pk->payload_off >= avail)
		return;
	len = SL_MIN(avail - pk->payload_off, pk->payload_cap);
	if (pk->dport == 547) /* a DHCPv6 client, from its link-local address */
		n = pk->ipver == 6 && pk->sport == 546 ?
			sl_dev_parse_dhcp6(p + pk->payload_off, len, has > 0 ? mac : NULL, pk->src,
				o) : 0;
	else if ((uint16_t)(pk->sport - 67) <= 1)
		n = sl_dev_parse_dhcp(p + pk->payload_off, len, has > 0 ? mac : NULL, o);
	else
		n = 0;
	if (n < 0)
		SL_STORE_RELAXED(&w->dev_malformed, w->dev_malformed + 1);
	for (int i = 0; i < n; i++) {
		if (!(o[i].flags & SL_DEV_OF_RELAYED)) /* relayed: the VLAN is the relay's */
			o[i].vlan = vlan;
		dev_send(w, q, &o[i], obs_time(w, mb));
	}
}

/* A new flow of an inside host: its MAC and VLAN, sent when the worker has not said them in
 * this refresh period (a small direct-mapped cache), so a busy host costs one record a period. */
static void
dev_flow(struct sl_worker *w, const struct sl_rxq *q, struct rte_mbuf *mb, const uint8_t *src)
{
	const uint8_t *p = rte_pktmbuf_mtod(mb, const uint8_t *);
	int lt = q->meta ? sl_mbuf_meta(mb)->linktype : q->linktype;
	struct sl_dev_seen *e;
	struct sl_dev_obs o;
	uint8_t mac[6];
	uint16_t vlan;
	uint64_t ts = obs_time(w, mb);
	uint32_t bucket = (uint32_t)(ts / w->conf.dev_refresh_us) + 1;

	if (sl_dev_l2_src(lt, p, mb->data_len, mac, &vlan) <= 0)
		return; /* no MAC on this link type: the device table says "no MAC seen" */
	e = &w->dev_seen[sl_addr_hash(src, 0x7e5) & (SL_DEV_CACHE - 1)];
	if (e->bucket == bucket && e->vlan == vlan && memcmp(e->ip, src, 16) == 0 &&
	    memcmp(e->mac, mac, 6) == 0)
		return;
	memcpy(e->ip, src, 16);
	memcpy(e->mac, mac, 6);
	e->vlan = vlan;
	e->bucket = bucket;
	memset(&o, 0, sizeof(o));
	o.kind = SL_DEV_OBS_flow;
	o.flags = SL_DEV_OF_IP;
	o.vlan = vlan;
	memcpy(o.mac, mac, 6);
	memcpy(o.ip, src, 16);
	dev_send(w, q, &o, ts);
}

/* Flow slots a reclaim looks at for idle flows whose host references can go: at least
 * HOST_RECLAIM_WALK, more only while it found fewer than HOST_RECLAIM_YIELD references, at
 * most HOST_RECLAIM_MAX. */
#define HOST_RECLAIM_WALK 1024u
#define HOST_RECLAIM_MAX 16384u
#define HOST_RECLAIM_YIELD 32u

/*
 * The worker host table is full. Slots are held by flows, and a flood of spoofed sources
 * opens one flow per source that lives until tcp_new_timeout: so let go of the host
 * references of flows idle for a report interval or more (a bounded walk over the flow
 * table from where the last one stopped, which goes on past HOST_RECLAIM_WALK slots only
 * while it has found few; such a flow takes a slot again on its next packet, see
 * reattach()), then report every dirty slot now, which frees the slots no flow holds
 * (nothing is lost: deltas add up at the control core, sketches merge by max). When fewer
 * than HOST_RECLAIM_YIELD slots came free, the next try waits an eighth of a report
 * interval, so that a table full of busy hosts costs one failed lookup per new flow, not a
 * walk per new flow: a walk costs at most HOST_RECLAIM_MAX slots and either frees
 * HOST_RECLAIM_YIELD slots or happens once per wait. Plus the dirty slots reported, which a
 * report would have sent anyway.
 */
static bool
host_reclaim(struct sl_worker *w, uint64_t now)
{
	uint32_t cap = sl_flow_capacity(w->flows), pos = w->reclaim_pos, found = 0;
	uint32_t before = sl_whost_in_use(w->hosts);
	uint64_t idle = w->conf.report_us;
	bool room;

	if (now < w->reclaim_next_us)
		return false;
	for (uint32_t i = 0; i < cap && i < HOST_RECLAIM_MAX; i++) {
		struct sl_flow *f = sl_flow_at(w->flows, pos);

		if (i >= HOST_RECLAIM_WALK && found >= HOST_RECLAIM_YIELD)
			break;
		if (++pos == cap)
			pos = 0;
		if (!(f->flags & SL_FLOW_F_USED) || !(now > f->last_us && now - f->last_us >= idle))
			continue;
		for (int s = 0; s < 2; s++) {
			if (f->host[s] < SL_HOST_DETACHED) {
				sl_whost_detach(w->hosts, f->host[s]);
				f->host[s] = SL_HOST_DETACHED;
				found++;
			}
		}
	}
	w->reclaim_pos = pos;
	if (now > w->now_us)
		w->now_us = now; /* reports carry the worker clock: keep records in time order */
	room = sl_whost_reclaim(w->hosts, w->now_us, sl_chan_send_host, &w->chan,
		w->conf.offline, wait_pause);
	if (before - sl_whost_in_use(w->hosts) < HOST_RECLAIM_YIELD)
		w->reclaim_next_us = now + SL_MAX(idle / 8, (uint64_t)1);
	return room;
}

/* A slot for side @p s of @p f (@p opened: the flow is new, count it). */
static void
host_attach(struct sl_worker *w, struct sl_flow *f, const uint8_t *side[2], bool inside_peer,
	int s, bool opened, uint64_t now)
{
	struct sl_whost *h;

	f->host[s] = sl_whost_try_acquire(w->hosts, side[s]);
	if (f->host[s] == SL_HOST_NONE) {
		(void)host_reclaim(w, now);
		f->host[s] = sl_whost_acquire(w->hosts, side[s]); /* counts a full table */
	}
	if (f->host[s] == SL_HOST_NONE) {
		w->host_untracked++;
		return;
	}
	h = sl_whost_touch(w->hosts, f->host[s]);
	if (s == 0 && opened)
		h->flows_opened++;
	if (!inside_peer)
		sl_hll_add(h->hll, sl_addr_hash(side[!s], 0x51ce), &h->hll_dirty);
}

/* The flow's initiator and responder addresses, and which of them are local hosts. */
static void
flow_sides(const struct sl_worker *w, const struct sl_flow *f, const struct sl_flow_key *key,
	const uint8_t *side[2], bool inside[2])
{
	const struct sl_cidr_set *home = w->conf.home;

	side[0] = (f->flags & SL_FLOW_F_INIT_HI) ? key->hi : key->lo;
	side[1] = (f->flags & SL_FLOW_F_INIT_HI) ? key->lo : key->hi;
	if (home->n == 0) {
		inside[0] = true;  /* every initiator is judged ... */
		inside[1] = false; /* ... and every peer is external */
	} else {
		inside[0] = sl_cidr_set_match(home, side[0]);
		inside[1] = sl_cidr_set_match(home, side[1]);
	}
}

/* A new flow: give its local host(s) a slot, count the open and the external peer. */
static void
flow_opened(struct sl_worker *w, struct sl_flow *f, const struct sl_flow_key *key, uint64_t now)
{
	const uint8_t *side[2];
	bool inside[2];

	flow_sides(w, f, key, side, inside);
	for (int s = 0; s < 2; s++)
		if (inside[s])
			host_attach(w, f, side, inside[!s], s, true, now);
}

/* A flow whose host references were let go while it was idle has a packet again. Off the
 * common path. */
static void __rte_noinline
reattach(struct sl_worker *w, struct sl_flow *f, const struct sl_flow_key *key, uint64_t now)
{
	const uint8_t *side[2];
	bool inside[2];

	flow_sides(w, f, key, side, inside);
	for (int s = 0; s < 2; s++)
		if (f->host[s] == SL_HOST_DETACHED)
			host_attach(w, f, side, inside[!s], s, false, now);
}

/* Hand a flow's new bytes (or its first packet) to the inspector. Off the common path:
 * only while a direction is still inside its first payload_bytes. */
static void
inspect(struct sl_worker *w, const struct sl_match_db *db, struct sl_flow *f,
	const struct sl_flow_key *key, uint32_t sig, int dir, uint32_t before, bool is_new,
	uint64_t now)
{
	struct sl_match_flow fl;
	bool hi = (f->flags & SL_FLOW_F_INIT_HI) != 0;
	uint32_t len;
	const uint8_t *buf;

	fl.src = hi ? key->hi : key->lo;
	fl.dst = hi ? key->lo : key->hi;
	fl.sport = hi ? key->port_hi : key->port_lo;
	fl.dport = hi ? key->port_lo : key->port_hi;
	fl.proto = key->proto;
	fl.host = SL_EV_HOST_SRC;
	fl.flow_id = flow_id_of(f, sig);
	fl.now_us = now;
	if (is_new)
		sl_match_flow_start(&w->mx, db, &fl);
	if (f->buf_len[dir] == before || (key->proto != 6 && key->proto != 17))
		return;
	fl.other = sl_flow_payload(w->flows, f, !dir, &fl.other_len);
	buf = sl_flow_payload(w->flows, f, dir, &len);
	sl_match_inspect(&w->mx, db, sl_flow_state(w->flows, f), &fl, dir, buf, before, len);
}

/* Sample a TCP flow at most once per sample interval of its age (packet time offline): past
 * the minimum age, or at once when it carries a detection (so the scorer knows the signs are
 * still there). Bulk flows stop being sampled once the scorer has heard they are bulk. */
static inline void
maybe_sample(struct sl_worker *w, struct sl_flow *f, const struct sl_flow_key *key,
	uint64_t prev_last, uint64_t now)
{
	uint64_t age = now - f->first_us, was = prev_last - f->first_us;
	bool bulk = (f->bflags & SL_FLOW_B_BULK) && !(f->bflags & SL_FLOW_B_DETECTED);

	/* cheap tests first: the divisions only for flows that may be sampled */
	if (now == prev_last)
		return;
	if (age < w->conf.sample_min_age_us && !(f->bflags & SL_FLOW_B_DETECTED))
		return;
	if (bulk && ((f->bflags & SL_FLOW_B_BULK_SENT) || !(f->bflags & SL_FLOW_B_SAMPLED)))
		return;
	if (age / w->conf.sample_us == was / w->conf.sample_us)
		return;
	if (bulk)
		f->bflags |= SL_FLOW_B_BULK_SENT; /* one sample saying "bulk now" */
	send_sample(w, f, key, now, 0);
}

/* Is the flow under a soft block? Looked up with each end as the host: rules name the host,
 * the peer and the peer's port. */
static void
flow_block_check(const struct sl_softbl *bl, struct sl_flow *f, const struct sl_flow_key *key)
{
	bool hi = (f->flags & SL_FLOW_F_INIT_HI) != 0;
	const uint8_t *src = hi ? key->hi : key->lo, *dst = hi ? key->lo : key->hi;
	uint16_t dport = hi ? key->port_lo : key->port_hi;

	uint16_t sport = hi ? key->port_hi : key->port_lo;

	f->pad = (uint8_t)sl_softbl_gen(bl);
	/* the blocked host started the flow, or (home_nets: an inside host that answers) took it */
	if (sl_softbl_match(bl, src, dst, dport, key->proto) ||
	    sl_softbl_match(bl, dst, src, sport, key->proto))
		f->bflags |= SL_FLOW_B_BLOCKED;
	else
		f->bflags &= (uint8_t)~SL_FLOW_B_BLOCKED;
}

/* Is the flow marked for evidence? Looked up when the flow starts or the marks changed. An
 * unmarked flow keeps the generation in evgen (its packets then pay one compare); a marked one
 * keeps 0 there, so its packets come to evid_slow(). */
static __rte_noinline void
evid_check(const struct sl_evset *ev, uint8_t gen, struct sl_flow *f,
	const struct sl_flow_key *key)
{
	bool hi = (f->flags & SL_FLOW_F_INIT_HI) != 0;

	f->evseen = gen;
	if (sl_evset_match(ev, hi ? key->hi : key->lo, hi ? key->lo : key->hi,
		    hi ? key->port_hi : key->port_lo, hi ? key->port_lo : key->port_hi, key->proto)) {
		f->bflags |= SL_FLOW_B_EVID;
		f->evgen = 0;
	} else {
		f->bflags &= (uint8_t)~SL_FLOW_B_EVID;
		f->evgen = gen;
	}
}

/* A packet of a marked flow into the evidence ring (full: dropped, counted; never waits). */
static __rte_noinline void
evid_pkt(struct sl_worker *w, const struct sl_rxq *q, const struct sl_flow *f,
	const struct sl_flow_key *key, struct rte_mbuf *mb, uint32_t wire, uint64_t ts)
{
	struct sl_evrec *r = sl_evring_reserve(w->evr);
	uint32_t len;
	const void *p;

	if (r == NULL)
		return;
	len = SL_MIN(mb->pkt_len, sl_evring_snaplen(w->evr));
	p = rte_pktmbuf_read(mb, 0, len, r->data);
	if (p == NULL)
		len = 0;
	else if (p != r->data)
		memcpy(r->data, p, len);
	r->ts_us = ts;
	r->wire_len = wire;
	r->len = len;
	r->linktype = (uint16_t)(q->meta ? sl_mbuf_meta(mb)->linktype : q->linktype);
	r->kind = SL_EVREC_PKT;
	r->dir = 0;
	evrec_flow(r, f, key);
	sl_evring_commit(w->evr);
}

/* A packet whose flow is marked, or not looked up under this generation yet. */
static __rte_noinline void
evid_slow(struct sl_worker *w, const struct sl_rxq *q, struct sl_flow *f,
	const struct sl_flow_key *key, struct rte_mbuf *mb, uint32_t wire, uint64_t ts,
	uint8_t gen)
{
	if (f->evseen != gen)
		evid_check(w->ev, gen, f, key);
	if (f->bflags & SL_FLOW_B_EVID)
		evid_pkt(w, q, f, key, mb, wire, ts);
}

/* Inline: send what is not dropped on the pair's port (parse failures too: fail open). */
static void
forward(struct sl_worker *w, struct sl_rxq *q, struct rte_mbuf **m, unsigned int n,
	const uint8_t *drop)
{
	struct rte_mbuf *tx[SL_BURST];
	unsigned int k = 0, sent;

	for (unsigned int i = 0; i < n; i++) {
		if (drop[i])
			rte_pktmbuf_free(m[i]);
		else
			tx[k++] = m[i];
	}
	sent = k ? rte_eth_tx_burst((uint16_t)q->tx_port, q->tx_queue, tx, (uint16_t)k) : 0;
	if (unlikely(sent < k)) {
		rte_pktmbuf_free_bulk(tx + sent, k - sent);
		SL_STORE_RELAXED(&w->tx_full, w->tx_full + (k - sent));
	}
	SL_STORE_RELAXED(&w->tx_pkts, w->tx_pkts + sent);
}

static inline uint64_t
live_now_us(const struct sl_worker *w)
{
	return w->wall0_us + (rte_rdtsc() - w->tsc0) / w->tsc_per_us;
}

void
sl_worker_process(struct sl_worker *w, struct sl_rxq *q, struct rte_mbuf **m, unsigned int n)
{
	struct sl_pkt pk[SL_BURST];
	struct sl_flow_key keys[SL_BURST];
	const struct sl_flow_key *kp[SL_BURST];
	int32_t pos[SL_BURST];
	uint32_t sig[SL_BURST];
	uint8_t src_hi[SL_BURST], which[SL_BURST], drop[SL_BURST] = {0};
	uint64_t blocked = 0, blocked_bytes = 0;
	const struct sl_softbl *bl = w->bl;
	/* evidence off: 0, which every flow holds, so no packet leaves the fast path */
	const uint8_t evg = (uint8_t)sl_evset_gen(w->ev);
	uint32_t oc[SL_PKT_OUTCOME_MAX] = {0};
	uint8_t hdr[SL_PKT_HDR_MAX];
	uint64_t bytes = 0, now = w->now_us;
	const bool pkt_time = w->conf.offline || w->conf.port_time;
	const struct sl_match_db *db = w->db;
	unsigned int k = 0, handled = 0;

	if (!pkt_time)
		now = w->now_us = live_now_us(w);
	for (unsigned int i = 0; i < n && i < SL_PREFETCH; i++)
		rte_prefetch0(rte_pktmbuf_mtod(m[i], void *));
	for (unsigned int i = 0; i < n; i++) {
		struct rte_mbuf *mb = m[i];
		const uint8_t *p;
		uint32_t wire, avail, want;
		int lt;
		enum sl_pkt_outcome o;

		if (i + SL_PREFETCH < n)
			rte_prefetch0(rte_pktmbuf_mtod(m[i + SL_PREFETCH], void *));
		if (q->meta) {
			const struct sl_mbuf_meta *md = sl_mbuf_meta(mb);

			lt = md->linktype;
			wire = md->wire_len;
		} else {
			lt = q->linktype;
			wire = mb->pkt_len;
		}
		bytes += wire;
		p = rte_pktmbuf_mtod(mb, const uint8_t *);
		avail = mb->data_len;
		want = SL_MIN(mb->pkt_len, (uint32_t)SL_PKT_HDR_MAX);
		if (unlikely(avail < want)) { /* headers straddle segments: linearise them */
			p = rte_pktmbuf_read(mb, 0, want, hdr);
			avail = want;
		}
		o = sl_pkt_parse(lt, p, avail, mb->pkt_len, wire, &pk[k]);
		if (unlikely(o != SL_PKT_handled)) {
			if (o == SL_PKT_non_ip && w->dev_seen != NULL)
				dev_l2(w, q, lt, p, avail, mb);
			oc[o]++;
			continue;
		}
		if (unlikely(pk[k].proto == 17) && w->dev_seen != NULL &&
		    unlikely((uint16_t)(pk[k].dport - 67) <= 1 || pk[k].dport == 547))
			dev_dhcp(w, q, lt, p, avail, &pk[k], mb); /* DHCPv4 67/68, DHCPv6 547 */
		src_hi[k] = (uint8_t)sl_flow_key_make(&pk[k], &keys[k]);
		kp[k] = &keys[k];
		which[k] = (uint8_t)i;
		k++;
	}
	if (k > 0)
		sl_flow_lookup_bulk(w->flows, kp, k, sig, pos);
	for (unsigned int j = 0; j < k; j++) {
		struct sl_flow *f;
		bool is_new;
		int r, dir;
		uint32_t before;
		uint64_t prev_last;

		if (j + 2 < k && pos[j + 2] >= 0)
			sl_flow_prefetch(w->flows, (uint32_t)pos[j + 2]);
		if (pkt_time) {
			const struct rte_mbuf *mb = m[which[j]];
			uint64_t ts;

			/* offline: the reader's time; live: the port's RX timestamp when it gave one */
			if (w->conf.offline || (mb->ol_flags & sl_ts_flag))
				ts = sl_mbuf_ts_us(mb);
			else
				ts = live_now_us(w);
			if (ts > now)
				now = ts;
		}
		f = sl_flow_get(w->flows, &keys[j], sig[j], pos[j], &pk[j], src_hi[j], now, &is_new);
		if (unlikely(f == NULL)) {
			oc[SL_PKT_flow_table_full]++;
			continue;
		}
		if (is_new) {
			flow_opened(w, f, &keys[j], now);
			if (w->dev_seen != NULL && f->host[0] != SL_FLOW_NONE)
				dev_flow(w, q, m[which[j]],
					(f->flags & SL_FLOW_F_INIT_HI) ? keys[j].hi : keys[j].lo);
		} else if (unlikely(f->host[0] == SL_HOST_DETACHED || f->host[1] == SL_HOST_DETACHED)) {
			reattach(w, f, &keys[j], now);
		}
		/* the soft blocklist: looked up when the flow starts or the table changed */
		if (bl != NULL && unlikely(f->pad != (uint8_t)sl_softbl_gen(bl)))
			flow_block_check(bl, f, &keys[j]);
		if (unlikely(f->bflags & SL_FLOW_B_BLOCKED) && w->conf.drop_blocked) {
			drop[which[j]] = 1;
			blocked++;
			blocked_bytes += pk[j].wire_len;
		}
		/* evidence: marks looked up as the soft blocklist is; marked flows copy packets */
		if (unlikely(f->evgen != evg))
			evid_slow(w, q, f, &keys[j], m[which[j]], pk[j].wire_len, now, evg);
		dir = src_hi[j] ^ ((f->flags & SL_FLOW_F_INIT_HI) != 0);
		before = f->buf_len[dir];
		prev_last = f->last_us;
		r = sl_flow_account(w->flows, f, &pk[j], src_hi[j], m[which[j]], now);
		dir = r & 1;
		if (db != NULL && (is_new || f->buf_len[dir] != before)) {
			uint64_t ev0 = w->mx.st.events;

			inspect(w, db, f, &keys[j], sig[j], dir, before, is_new, now);
			if (w->mx.st.events != ev0)
				f->bflags |= SL_FLOW_B_DETECTED;
		}
		if (w->conf.sample_us != 0 && f->proto == 6 && !is_new)
			maybe_sample(w, f, &keys[j], prev_last, now);
		if (f->host[dir] < SL_HOST_DETACHED) {
			struct sl_whost *h = sl_whost_touch(w->hosts, f->host[dir]);

			h->pkts_out++;
			h->bytes_out += pk[j].wire_len;
			if (unlikely(r & 2) && h->long_lived < UINT16_MAX)
				h->long_lived++;
		}
		if (f->host[!dir] < SL_HOST_DETACHED) {
			struct sl_whost *h = sl_whost_touch(w->hosts, f->host[!dir]);

			h->pkts_in++;
			h->bytes_in += pk[j].wire_len;
			if (unlikely(r & 2) && h->long_lived < UINT16_MAX)
				h->long_lived++;
		}
		handled++;
	}
	if (q->tx_port >= 0) {
		forward(w, q, m, n, drop);
	} else if (likely(!w->conf.keep_mbufs)) {
		rte_pktmbuf_free_bulk(m, n);
	}
	if (blocked != 0) {
		SL_STORE_RELAXED(&w->blocked_pkts, w->blocked_pkts + blocked);
		SL_STORE_RELAXED(&w->blocked_bytes, w->blocked_bytes + blocked_bytes);
	}

	/* one store per counter per burst */
	w->now_us = now;
	oc[SL_PKT_handled] += handled;
	for (unsigned int o = 0; o < SL_PKT_OUTCOME_MAX; o++)
		if (oc[o] != 0)
			SL_STORE_RELAXED(&w->outcome[o], w->outcome[o] + oc[o]);
	SL_STORE_RELAXED(&q->rx, q->rx + n);
	SL_STORE_RELAXED(&w->rx_pkts, w->rx_pkts + n);
	SL_STORE_RELAXED(&w->rx_bytes, w->rx_bytes + bytes);
	SL_STORE_RELAXED(&w->bursts, w->bursts + 1);
}

static void
report(struct sl_worker *w, bool final)
{
	/* Offline (and the final flush) waits for ring space: exact. Live counts and
	 * keeps the deltas for the next interval. */
	bool wait = w->conf.offline || final;

	sl_whost_report(w->hosts, w->now_us, sl_chan_send_host, &w->chan, wait, wait_pause);
}

void
sl_worker_housekeeping(struct sl_worker *w)
{
	if (!w->conf.offline && !w->conf.port_time)
		w->now_us = live_now_us(w);
	sl_flow_sweep(w->flows, w->now_us, w->conf.aging_batch);
	if (w->now_us >= w->next_report_us) {
		report(w, false);
		w->next_report_us = w->now_us + w->conf.report_us;
	}
}

void
sl_worker_finish(struct sl_worker *w, uint64_t end_us)
{
	if (end_us > w->now_us)
		w->now_us = end_us;
	sl_flow_flush(w->flows, w->now_us);
	report(w, true);
}

/* Offline: fill the queue's stash to a full burst (or the end of input) before processing,
 * so burst boundaries, and with them sweeps and reports, depend only on the input. */
static unsigned int
poll_offline(struct sl_worker *w, struct sl_rxq *q, bool input_done)
{
	uint16_t n = rte_eth_rx_burst(q->port, q->queue, q->stash + q->nstash,
		(uint16_t)(SL_BURST - q->nstash));

	q->nstash = (uint16_t)(q->nstash + n);
	if (q->nstash == SL_BURST || (input_done && n == 0 && q->nstash > 0)) {
		unsigned int got = q->nstash;

		q->nstash = 0;
		sl_worker_process(w, q, q->stash, got);
		sl_worker_housekeeping(w);
		return got;
	}
	return n;
}

int
sl_worker_main(void *arg)
{
	struct sl_worker *w = arg;
	struct rte_mbuf *burst[SL_BURST];
	uint32_t idle = 0, pass = 0;

	w->lcore = rte_lcore_id();
	w->now_us = w->conf.offline || w->conf.port_time ? 0 : live_now_us(w);
	if (w->conf.match != NULL)
		sl_match_worker_online(w->conf.match, w->id);
	if (w->conf.block != NULL)
		sl_block_worker_online(w->conf.block, w->id);
	if (w->conf.evid != NULL)
		sl_evid_worker_online(w->conf.evid, w->id);
	w->next_report_us = w->now_us + w->conf.report_us;
	for (;;) {
		unsigned int got = 0;
		bool input_done = w->conf.offline && SL_LOAD_ACQUIRE(&w->run->input_done);

		if (unlikely(SL_LOAD_ACQUIRE(&w->run->stop)))
			break;
		if (w->conf.match != NULL) /* one detection object per pass */
			w->db = sl_match_acquire(w->conf.match);
		if (w->conf.block != NULL) /* one soft blocklist per pass */
			w->bl = sl_block_acquire(w->conf.block);
		if (w->conf.evid != NULL) /* one evidence mark table per pass */
			w->ev = sl_evid_acquire(w->conf.evid);
		for (unsigned int i = 0; i < w->nrxq; i++) {
			struct sl_rxq *q = &w->rxq[i];

			if (w->conf.offline) {
				got += poll_offline(w, q, input_done);
				continue;
			}
			uint16_t n = rte_eth_rx_burst(q->port, q->queue, burst, SL_BURST);

			if (n > 0) {
				sl_worker_process(w, q, burst, n);
				got += n;
			}
		}
		if (got == 0) {
			if (input_done)
				break; /* the reader is done and every ring is empty */
			if (w->conf.idle_polls != 0 && ++idle >= w->conf.idle_polls) {
				rte_delay_us_sleep(w->conf.idle_sleep_us);
				w->idle_sleeps++;
				idle = 0;
			}
		} else {
			idle = 0;
		}
		/* live housekeeping every 16 passes: sweep and, on time, report */
		if (!w->conf.offline && (++pass & 15) == 0)
			sl_worker_housekeeping(w);
		if (w->conf.match != NULL) /* done with this pass's detection object */
			sl_match_quiescent(w->conf.match, w->id);
		if (w->conf.block != NULL)
			sl_block_quiescent(w->conf.block, w->id);
		if (w->conf.evid != NULL)
			sl_evid_quiescent(w->conf.evid, w->id);
	}
	if (w->conf.evid != NULL) /* the latest marks for the flows the flush ends */
		w->ev = sl_evid_acquire(w->conf.evid);
	sl_worker_finish(w, w->conf.offline ? SL_LOAD_ACQUIRE(&w->run->end_us) :
			    w->conf.port_time ? w->now_us : live_now_us(w));
	if (w->conf.match != NULL)
		sl_match_worker_offline(w->conf.match, w->id);
	w->db = NULL;
	if (w->conf.block != NULL)
		sl_block_worker_offline(w->conf.block, w->id);
	w->bl = NULL;
	if (w->conf.evid != NULL)
		sl_evid_worker_offline(w->conf.evid, w->id);
	w->ev = NULL;
	SL_STORE_RELEASE(&w->run->done[w->id], 1);
	return 0;
}
