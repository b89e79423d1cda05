/* flow.c: per-worker flow table (see sl_flow.h): creation, lazy and swept expiry, TCP state,
 * inter-arrival summary and in-order payload capture into a bounded buffer pool. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "sl_common.h"
#include "sl_flow.h"
#include "sl_match.h"

_Static_assert(sizeof(struct sl_flow) == 128, "flow entry must be two cache lines");
_Static_assert(sizeof(struct sl_flow_key) == 40, "flow key is 40 bytes");

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* Bytes that arrived ahead of a hole, already stored at their stream offset in the buffer:
 * [lo, hi) per direction (hi == 0: none). Filling the hole makes them part of the stream. */
struct pay_ooo {
	uint16_t lo[2];
	uint16_t hi[2];
	uint8_t hole_seen[2]; /* counted once per direction in payload_gaps */
};

struct sl_flow_table {
	struct rte_hash *h;
	struct sl_flow *flows;
	struct sl_flow_params p;
	uint32_t sweep_pos;
	uint32_t used_end;  /* every used slot is below: rte_hash hands slots out from the bottom,
			     * so sweeps and flushes cost what was used, not the capacity */
	uint32_t pay_nfree;
	uint8_t *pay_mem;
	uint32_t *pay_free;
	uint8_t *pay_state; /* state_bytes per buffer, zeroed when the buffer is handed out */
	struct pay_ooo *pay_ooo; /* per buffer: one out-of-order extent per direction */
	struct sl_flow_beh *beh; /* per flow when behaviour tracking is on */
	sl_flow_end_cb cb;
	void *cb_arg;
	struct sl_flow_stats st;
};

SL_DEFINE_COUNTER_NAMES(SL_FLOW_COUNTERS, sl_flow_num_counters, sl_flow_counter_name)

uint64_t
sl_flow_table_memsize(const struct sl_flow_params *p)
{
	/* rte_hash key slot (key + data + bucket share, measured ~100 B), and the arrays
	 * unless they live outside DPDK memory (sl_tmem_lazy) */
	uint64_t hash = (uint64_t)p->capacity * 112;

	if (sl_tmem_lazy())
		return hash;
	return hash + (uint64_t)p->capacity * (sizeof(struct sl_flow) +
					 (p->beh_msg_gap_us ? sizeof(struct sl_flow_beh) : 0)) +
	       (uint64_t)p->payload_buffers * (2ull * p->payload_bytes + sizeof(uint32_t) +
						 p->state_bytes + sizeof(struct pay_ooo)) +
	       (p->payload_buffers > 0 ? SL_FLOW_PAYLOAD_TAIL : 0) + 6 * 128;
}

struct sl_flow_table *
sl_flow_table_create(const char *name, const struct sl_flow_params *p, int socket,
	sl_flow_end_cb cb, void *cb_arg)
{
	struct rte_hash_parameters hp = {0};
	struct sl_flow_table *t;
	char hname[RTE_HASH_NAMESIZE];

	if (p->capacity == 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	t = rte_zmalloc_socket(name, sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL)
		goto err_nomem;
	t->p = *p;
	t->cb = cb;
	t->cb_arg = cb_arg;
	snprintf(hname, sizeof(hname), "%s", name);
	hp.name = hname;
	hp.entries = p->capacity;
	hp.key_len = sizeof(struct sl_flow_key);
	hp.hash_func = rte_hash_crc;
	hp.hash_func_init_val = 0;
	hp.socket_id = socket;
	/* Single writer (the worker): no locks. The extendable table guarantees that every
	 * one of `entries` keys fits, whatever the bucket collisions. */
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	t->h = rte_hash_create(&hp);
	if (t->h == NULL)
		goto err_free_t;
	t->flows = sl_tmem_zalloc("sl_flows", (size_t)p->capacity * sizeof(struct sl_flow), socket);
	if (t->flows == NULL)
		goto err_free_hash;
	if (p->beh_msg_gap_us > 0) {
		t->beh = sl_tmem_zalloc("sl_flowbeh",
			(size_t)p->capacity * sizeof(struct sl_flow_beh), socket);
		if (t->beh == NULL)
			goto err_free_flows;
	}
	if (p->payload_buffers > 0 && p->payload_bytes > 0) {
		t->pay_mem = sl_tmem_zalloc("sl_payload",
			(size_t)p->payload_buffers * 2 * p->payload_bytes + SL_FLOW_PAYLOAD_TAIL, socket);
		t->pay_free = sl_tmem_zalloc("sl_payfree",
			(size_t)p->payload_buffers * sizeof(uint32_t), socket);
		if (p->state_bytes > 0)
			t->pay_state = sl_tmem_zalloc("sl_paystate",
				(size_t)p->payload_buffers * p->state_bytes, socket);
		t->pay_ooo = sl_tmem_zalloc("sl_payooo",
			(size_t)p->payload_buffers * sizeof(struct pay_ooo), socket);
		if (t->pay_mem == NULL || t->pay_free == NULL || t->pay_ooo == NULL ||
		    (p->state_bytes > 0 && t->pay_state == NULL))
			goto err_free_pay;
		for (uint32_t i = 0; i < p->payload_buffers; i++)
			t->pay_free[i] = p->payload_buffers - 1 - i;
		t->pay_nfree = p->payload_buffers;
	}
	return t;

err_free_pay:
	sl_tmem_free(t->pay_ooo);
	sl_tmem_free(t->pay_state);
	sl_tmem_free(t->pay_mem);
	sl_tmem_free(t->pay_free);
	sl_tmem_free(t->beh);
err_free_flows:
	sl_tmem_free(t->flows);
err_free_hash:
	rte_hash_free(t->h);
err_free_t:
	rte_free(t);
err_nomem:
	rte_errno = ENOMEM;
	return NULL;
}

void
sl_flow_table_free(struct sl_flow_table *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->h);
	sl_tmem_free(t->flows);
	sl_tmem_free(t->pay_mem);
	sl_tmem_free(t->pay_free);
	sl_tmem_free(t->pay_state);
	sl_tmem_free(t->pay_ooo);
	sl_tmem_free(t->beh);
	rte_free(t);
}

_Static_assert(sizeof(struct sl_flow_beh) == 64, "behaviour state is one cache line");

/* Three-way compare of two 16-byte addresses as big-endian 64-bit halves. */
static inline int
addr_cmp(const uint8_t *a, const uint8_t *b)
{
	uint64_t a0, a1, b0, b1;

	memcpy(&a0, a, 8);
	memcpy(&b0, b, 8);
	if (a0 != b0)
		return __builtin_bswap64(a0) > __builtin_bswap64(b0) ? 1 : -1;
	memcpy(&a1, a + 8, 8);
	memcpy(&b1, b + 8, 8);
	if (a1 != b1)
		return __builtin_bswap64(a1) > __builtin_bswap64(b1) ? 1 : -1;
	return 0;
}

int
sl_flow_key_make(const struct sl_pkt *pk, struct sl_flow_key *key)
{
	int c = addr_cmp(pk->src, pk->dst);
	int src_hi = c > 0 || (c == 0 && pk->sport > pk->dport);

	if (src_hi) {
		memcpy(key->lo, pk->dst, 16);
		memcpy(key->hi, pk->src, 16);
		key->port_lo = pk->dport;
		key->port_hi = pk->sport;
	} else {
		memcpy(key->lo, pk->src, 16);
		memcpy(key->hi, pk->dst, 16);
		key->port_lo = pk->sport;
		key->port_hi = pk->dport;
	}
	key->proto = pk->proto;
	key->pad[0] = key->pad[1] = key->pad[2] = 0;
	return src_hi;
}

void
sl_flow_lookup_bulk(struct sl_flow_table *t, const struct sl_flow_key **keys, unsigned int n,
	uint32_t *sig, int32_t *pos)
{
	for (unsigned int i = 0; i < n; i++)
		sig[i] = rte_hash_hash(t->h, keys[i]);
	rte_hash_lookup_with_hash_bulk(t->h, (const void **)keys, sig, n, pos);
}

static inline uint64_t
flow_timeout(const struct sl_flow_table *t, const struct sl_flow *f)
{
	if (f->proto == 6) {
		switch (f->state) {
		case SL_TCP_SYN: case SL_TCP_SYNACK:
			return t->p.tcp_new_us;
		case SL_TCP_CLOSED:
			return t->p.tcp_closed_us;
		default:
			return t->p.tcp_est_us;
		}
	}
	return f->proto == 17 ? t->p.udp_us : t->p.other_us;
}

static inline bool
expired(const struct sl_flow_table *t, const struct sl_flow *f, uint64_t now_us)
{
	return now_us > f->last_us && now_us - f->last_us > flow_timeout(t, f);
}

bool
sl_flow_expired(const struct sl_flow_table *t, const struct sl_flow *f, uint64_t now_us)
{
	return expired(t, f, now_us);
}

static void
flow_end(struct sl_flow_table *t, const struct sl_flow_key *key, struct sl_flow *f, int at_exit)
{
	if (t->cb != NULL)
		t->cb(t->cb_arg, key, f, at_exit);
	if (f->buf != SL_FLOW_NONE) {
		t->pay_free[t->pay_nfree++] = f->buf;
		f->buf = SL_FLOW_NONE;
	}
	if (!at_exit) {
		t->st.expired++;
		t->st.active--;
	}
}

/* Decide who started the flow from its first packet. */
static int
initiator_is_hi(const struct sl_pkt *pk, int src_hi)
{
	int src_is_server = 0;

	if (pk->proto == 6 && (pk->tcp_flags & TCP_SYN))
		src_is_server = (pk->tcp_flags & TCP_ACK) != 0;
	else if (pk->sport != pk->dport)
		/* Picked up mid-flow: a well-known or registered port answering an ephemeral
		 * one is the server. */
		src_is_server = (pk->sport < 1024 && pk->dport >= 1024) ||
				(pk->sport < 32768 && pk->dport >= 32768 && pk->sport != 0);
	return src_is_server ? !src_hi : src_hi;
}

static void
flow_init(struct sl_flow_table *t, struct sl_flow *f, const struct sl_pkt *pk, int src_hi,
	uint64_t now_us)
{
	memset(f, 0, sizeof(*f));
	f->host[0] = f->host[1] = SL_FLOW_NONE;
	f->buf = SL_FLOW_NONE;
	f->first_us = f->last_us = now_us;
	f->iat_min_us = UINT32_MAX;
	f->proto = pk->proto;
	f->flags = SL_FLOW_F_USED;
	if (initiator_is_hi(pk, src_hi))
		f->flags |= SL_FLOW_F_INIT_HI;
	if (pk->proto == 6) {
		if ((pk->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
			f->state = SL_TCP_SYN;
		else if ((pk->tcp_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
			f->state = SL_TCP_SYNACK;
		else
			f->state = SL_TCP_ESTABLISHED;
		if (t->beh != NULL)
			memset(&t->beh[f - t->flows], 0, sizeof(struct sl_flow_beh));
	}
	t->st.created++;
	t->st.active++;
}

struct sl_flow *
sl_flow_get(struct sl_flow_table *t, const struct sl_flow_key *key, uint32_t sig,
	int32_t pos, const struct sl_pkt *pk, int src_hi, uint64_t now_us, bool *is_new)
{
	struct sl_flow *f;

	*is_new = false;
	if (pos < 0) {
		pos = rte_hash_add_key_with_hash(t->h, key, sig);
		if (unlikely(pos < 0)) {
			t->st.table_full++;
			return NULL;
		}
		if (unlikely((uint32_t)pos >= t->used_end))
			t->used_end = (uint32_t)pos + 1;
		f = &t->flows[pos];
		if (!(f->flags & SL_FLOW_F_USED)) {
			flow_init(t, f, pk, src_hi, now_us);
			*is_new = true;
			return f;
		}
		/* created by an earlier packet of this burst: fall through as a hit */
	}
	f = &t->flows[pos];
	if (unlikely(expired(t, f, now_us))) {
		flow_end(t, key, f, 0);
		flow_init(t, f, pk, src_hi, now_us);
		*is_new = true;
	} else if (unlikely(f->state == SL_TCP_CLOSED &&
			    (pk->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)) {
		flow_end(t, key, f, 0);
		flow_init(t, f, pk, src_hi, now_us);
		t->st.tcp_reused++;
		*is_new = true;
	}
	return f;
}

/* Hand the flow a payload buffer. false: the pool is empty (counted, capture stops). */
static bool
take_buffer(struct sl_flow_table *t, struct sl_flow *f)
{
	if (f->buf != SL_FLOW_NONE)
		return true;
	if (t->pay_nfree == 0) {
		t->st.payload_pool_empty++;
		f->flags |= SL_FLOW_F_GAP0 | SL_FLOW_F_GAP1;
		return false;
	}
	f->buf = t->pay_free[--t->pay_nfree];
	t->st.payload_buffers_used++;
	memset(&t->pay_ooo[f->buf], 0, sizeof(t->pay_ooo[f->buf]));
	if (t->pay_state != NULL)
		memset(t->pay_state + (size_t)f->buf * t->p.state_bytes, 0, t->p.state_bytes);
	return true;
}

static inline uint8_t *
buf_at(struct sl_flow_table *t, const struct sl_flow *f, int dir, uint32_t off)
{
	return t->pay_mem + ((size_t)f->buf * 2 + (size_t)dir) * t->p.payload_bytes + off;
}

/* Copy @p n payload bytes starting @p skip into the packet's payload to stream offset
 * @p off. false if the bytes could not be read (counted as a gap by the caller). */
static bool
copy_payload(struct sl_flow_table *t, const struct sl_flow *f, int dir, const struct sl_pkt *pk,
	const struct rte_mbuf *m, uint32_t skip, uint32_t off, uint32_t n)
{
	uint8_t *dst = buf_at(t, f, dir, off);
	const void *src = rte_pktmbuf_read(m, pk->payload_off + skip, n, dst);

	if (src == NULL)
		return false;
	if (src != dst)
		memcpy(dst, src, n);
	return true;
}

/* A TCP segment ahead of the next expected byte (d > 0): keep it at its offset when it
 * fits the window and touches the one extent already held (or none is), so reordered
 * segments are reassembled; otherwise it is not captured. The matcher only ever sees the
 * contiguous prefix, so nothing is spliced. */
static void
hold_out_of_order(struct sl_flow_table *t, struct sl_flow *f, int dir, const struct sl_pkt *pk,
	const struct rte_mbuf *m, uint32_t d)
{
	uint32_t off = f->buf_len[dir] + d, n, lo, hi;
	struct pay_ooo *o;

	if (pk->payload_cap == 0 || !take_buffer(t, f))
		return;
	o = &t->pay_ooo[f->buf];
	if (!o->hole_seen[dir]) {
		o->hole_seen[dir] = 1;
		t->st.payload_gaps++;
	}
	if (off >= t->p.payload_bytes)
		return; /* beyond the inspection window */
	n = SL_MIN(pk->payload_cap, t->p.payload_bytes - off);
	lo = o->lo[dir];
	hi = o->hi[dir];
	if (hi != 0 && (off > hi || off + n < lo))
		return; /* a second, separate extent: not kept */
	if (!copy_payload(t, f, dir, pk, m, 0, off, n))
		return;
	o->lo[dir] = (uint16_t)(hi == 0 ? off : SL_MIN(lo, off));
	o->hi[dir] = (uint16_t)(hi == 0 ? off + n : SL_MAX(hi, off + n));
	t->st.payload_reordered++;
}

static void
capture_payload(struct sl_flow_table *t, struct sl_flow *f, int dir, const struct sl_pkt *pk,
	const struct rte_mbuf *m)
{
	uint8_t gap = dir ? SL_FLOW_F_GAP1 : SL_FLOW_F_GAP0;
	uint8_t seqf = dir ? SL_FLOW_F_SEQ1 : SL_FLOW_F_SEQ0;
	uint32_t skip = 0, room, n;

	if (f->flags & gap)
		return;
	if (f->proto == 6) {
		if (!(f->flags & seqf)) {
			f->next_seq[dir] = pk->tcp_seq;
			f->flags |= seqf;
		}
		/* data carried by a SYN starts one past the SYN's own sequence number */
		uint32_t seq = pk->tcp_seq + ((pk->tcp_flags & TCP_SYN) ? 1 : 0);
		int32_t d = (int32_t)(seq - f->next_seq[dir]);

		if (d > 0) { /* a hole before this segment */
			hold_out_of_order(t, f, dir, pk, m, (uint32_t)d);
			return;
		}
		if (-(uint32_t)d >= pk->payload_len)
			return; /* retransmission of bytes we have */
		skip = -(uint32_t)d;
	}
	room = t->p.payload_bytes - f->buf_len[dir];
	if (room == 0 || !take_buffer(t, f))
		return;
	if (skip >= pk->payload_cap) {
		f->flags |= gap; /* the capture (snaplen) cut the bytes we need */
		t->st.payload_gaps++;
		return;
	}
	n = SL_MIN(room, pk->payload_cap - skip);
	if (!copy_payload(t, f, dir, pk, m, skip, f->buf_len[dir], n)) {
		f->flags |= gap;
		t->st.payload_gaps++;
		return;
	}
	f->buf_len[dir] += n;
	t->st.payload_bytes += n;
	if (f->proto == 6) {
		struct pay_ooo *o = &t->pay_ooo[f->buf];

		f->next_seq[dir] += n;
		if (o->hi[dir] != 0 && f->buf_len[dir] >= o->lo[dir]) {
			/* the hole is filled: the held extent joins the stream */
			if (o->hi[dir] > f->buf_len[dir]) {
				uint32_t more = o->hi[dir] - f->buf_len[dir];

				f->buf_len[dir] += more;
				f->next_seq[dir] += more;
				t->st.payload_bytes += more;
			}
			o->lo[dir] = o->hi[dir] = 0;
		}
		if (pk->payload_cap < pk->payload_len && n == pk->payload_cap - skip &&
		    f->buf_len[dir] < t->p.payload_bytes) {
			f->flags |= gap; /* snaplen cut this segment short */
			t->st.payload_gaps++;
		}
	}
}

static inline bool
same_size(uint32_t a, uint32_t b)
{
	uint32_t hi = a > b ? a : b, diff = a > b ? a - b : b - a;

	return diff <= SL_BEH_REP_BYTES || diff * 64 <= hi * SL_BEH_REP_64THS;
}

/* Close the message in progress in direction @p d into the size statistics. A change of
 * size counts as a miss only once a repeat has been seen: the login and the other opening
 * messages of a session are not held against it. */
static void
beh_close(struct sl_flow_beh *b, int d)
{
	uint32_t len = b->cur[d] & ~SL_BEH_REPLY;
	uint32_t sz = len > UINT16_MAX ? UINT16_MAX : len;

	if (sz == 0)
		return;
	if (sl_known_cell_sized(sz) && b->cells < UINT16_MAX)
		b->cells++;
	if (d == 0 && (b->cur[0] & SL_BEH_REPLY)) {
		; /* an answer to the responder: not a request */
	} else if (d == 0 && b->msgs[0] > SL_BEH_SKIP && b->cn < UINT16_MAX) {
		if (b->cn > 0 && same_size(sz, b->cprev))
			b->crep++;
		else if (b->crep > 0)
			b->cmiss++;
		b->cn++;
		b->cprev = (uint16_t)sz;
		b->csz_sum += sz;
		b->csz_sq += (float)sz * (float)sz;
	} else if (d == 1 && b->cur_unsol && b->urep + b->umiss < UINT16_MAX - 1) {
		if (b->usz_sum > 0 && same_size(sz, b->uprev))
			b->urep++;
		else if (b->urep > 0)
			b->umiss++;
		b->uprev = (uint16_t)sz;
		b->usz_sum += sz;
	}
	b->cur[d] = 0;
}

/* One payload segment of a TCP flow: extend the message in progress or start a new one. */
static void
beh_account(struct sl_flow_table *t, struct sl_flow *f, int d, uint32_t len, uint64_t now_us)
{
	struct sl_flow_beh *b = &t->beh[f - t->flows];
	uint64_t rel = (now_us - f->first_us) / 1000;
	uint32_t ms = rel > UINT32_MAX ? UINT32_MAX : (uint32_t)rel;

	if (b->cur[d] > 0 && b->last_dir == d &&
	    (uint64_t)(ms - b->last_ms[d]) * 1000 <= t->p.beh_msg_gap_us) {
		b->cur[d] += len;
	} else {
		bool reply;
		/* the initiator's message before this one was a measured request (not an answer) */
		bool req = d == 1 && b->last_dir == 0 && (b->cur[0] & ~SL_BEH_REPLY) > 0 &&
			   !(b->cur[0] & SL_BEH_REPLY) && b->msgs[0] > SL_BEH_SKIP;

		beh_close(b, d);
		if (b->last_dir != d)
			beh_close(b, !d); /* payload this way ends the other way's message */
		if (b->msgs[d] < UINT16_MAX)
			b->msgs[d]++;
		/* an answer: this side starts right after the other side's payload */
		reply = b->msgs[!d] > 0 && (uint64_t)(ms - b->last_ms[!d]) * 1000 <= t->p.beh_reply_us;
		b->cur[d] = len | (d == 0 && reply ? SL_BEH_REPLY : 0);
		if (d == 0 && !reply && b->msgs[0] > SL_BEH_SKIP) {
			/* timing of the initiator's own messages (requests, not answers) */
			uint16_t now_ds = (uint16_t)(ms / 100);

			if (b->cn > 0) {
				float g = (float)(uint16_t)(now_ds - b->gstart_ds) / 10.0f;

				b->gsum += g;
				b->gsq += g * g;
			}
			b->gstart_ds = now_ds;
		}
		/* a push: the initiator is past its handshake and has been quiet (a server that
		 * speaks first, like SSH's banner, is not pushing anything) */
		if (d == 1)
			b->cur_unsol = b->msgs[0] >= SL_BEH_SKIP && !reply;
		if (d == 1 && b->cur_unsol && b->unsol < UINT16_MAX)
			b->unsol++;
		if (d == 1 && reply && req && b->answered < UINT16_MAX)
			b->answered++; /* a share's result, a request's response */
	}
	b->last_ms[d] = ms;
	b->last_dir = (uint8_t)d;
	if ((b->cur[d] & ~SL_BEH_REPLY) >= t->p.beh_bulk_bytes)
		f->bflags |= SL_FLOW_B_BULK;
}

int
sl_flow_account(struct sl_flow_table *t, struct sl_flow *f, const struct sl_pkt *pk,
	int src_hi, const struct rte_mbuf *m, uint64_t now_us)
{
	int dir = src_hi ^ ((f->flags & SL_FLOW_F_INIT_HI) != 0);
	int ret = dir;

	if (f->pkts[0] + f->pkts[1] > 0) {
		uint64_t gap = now_us > f->last_us ? now_us - f->last_us : 0;
		uint32_t g32 = gap > UINT32_MAX ? UINT32_MAX : (uint32_t)gap;

		f->iat_sum_us += gap;
		if (g32 < f->iat_min_us)
			f->iat_min_us = g32;
		if (g32 > f->iat_max_us)
			f->iat_max_us = g32;
	}
	if (now_us > f->last_us)
		f->last_us = now_us;
	f->pkts[dir]++;
	f->bytes[dir] += pk->wire_len;
	f->payload[dir] += pk->payload_len;

	if (f->proto == 6) {
		uint8_t fl = pk->tcp_flags;

		f->tcp_flags[dir] |= fl;
		if ((fl & (TCP_ACK | TCP_PSH)) == (TCP_ACK | TCP_PSH))
			f->push_pkts[dir]++;
		if (fl & TCP_SYN) {
			f->next_seq[dir] = pk->tcp_seq + 1;
			f->flags |= dir ? SL_FLOW_F_SEQ1 : SL_FLOW_F_SEQ0;
			if ((fl & TCP_ACK) && dir == 1 && f->state == SL_TCP_SYN)
				f->state = SL_TCP_SYNACK;
		} else if (f->state == SL_TCP_SYN || f->state == SL_TCP_SYNACK) {
			if (f->pkts[0] > 0 && f->pkts[1] > 0)
				f->state = SL_TCP_ESTABLISHED;
		}
		if (fl & TCP_RST) {
			f->state = SL_TCP_CLOSED;
		} else if (fl & TCP_FIN) {
			if (dir == 0)
				f->flags |= SL_FLOW_F_FIN0;
			else
				f->fin1 = 1;
			f->state = ((f->flags & SL_FLOW_F_FIN0) && f->fin1) ? SL_TCP_CLOSED : SL_TCP_FIN;
		}
	}
	if (pk->payload_cap > 0 && t->pay_mem != NULL && f->buf_len[dir] < t->p.payload_bytes)
		capture_payload(t, f, dir, pk, m);
	/* one byte alone is a TCP keepalive probe (RFC 1122 4.2.3.6: one old byte), not a message */
	if (pk->payload_len > 1 && t->beh != NULL && f->proto == 6 && !(f->bflags & SL_FLOW_B_BULK))
		beh_account(t, f, dir, pk->payload_len, now_us);
	if (!(f->flags & SL_FLOW_F_LONG) && now_us - f->first_us >= t->p.long_us) {
		f->flags |= SL_FLOW_F_LONG;
		t->st.long_lived++;
		ret |= 2;
	}
	return ret;
}

static void
end_at(struct sl_flow_table *t, uint32_t pos, int at_exit)
{
	struct sl_flow *f = &t->flows[pos];
	void *kp;

	if (rte_hash_get_key_with_position(t->h, (int32_t)pos, &kp) < 0)
		return;
	flow_end(t, kp, f, at_exit);
	f->flags = 0;
	rte_hash_del_key(t->h, kp);
}

unsigned int
sl_flow_sweep(struct sl_flow_table *t, uint64_t now_us, unsigned int budget)
{
	unsigned int ended = 0;
	uint32_t pos = t->sweep_pos;

	if (t->st.active == 0)
		return 0;
	budget = SL_MIN(budget, t->used_end); /* one lap at most */
	for (unsigned int i = 0; i < budget; i++) {
		struct sl_flow *f = &t->flows[pos];

		if ((f->flags & SL_FLOW_F_USED) && expired(t, f, now_us)) {
			end_at(t, pos, 0);
			ended++;
		}
		if (++pos >= t->used_end)
			pos = 0;
	}
	t->sweep_pos = pos;
	return ended;
}

void
sl_flow_flush(struct sl_flow_table *t, uint64_t now_us)
{
	for (uint32_t pos = 0; pos < t->used_end; pos++) {
		struct sl_flow *f = &t->flows[pos];

		if (!(f->flags & SL_FLOW_F_USED))
			continue;
		end_at(t, pos, sl_flow_expired(t, f, now_us) ? 0 : 1);
	}
}

const struct sl_flow_stats *
sl_flow_stats(const struct sl_flow_table *t)
{
	return &t->st;
}

const uint8_t *
sl_flow_payload(const struct sl_flow_table *t, const struct sl_flow *f, int dir, uint32_t *len)
{
	if (f->buf == SL_FLOW_NONE) {
		*len = 0;
		return NULL;
	}
	*len = f->buf_len[dir];
	return t->pay_mem + ((size_t)f->buf * 2 + (size_t)dir) * t->p.payload_bytes;
}

void *
sl_flow_state(const struct sl_flow_table *t, const struct sl_flow *f)
{
	if (f->buf == SL_FLOW_NONE || t->pay_state == NULL)
		return NULL;
	return t->pay_state + (size_t)f->buf * t->p.state_bytes;
}

const struct sl_flow_beh *
sl_flow_beh(const struct sl_flow_table *t, const struct sl_flow *f)
{
	return t->beh != NULL && f->proto == 6 ? &t->beh[f - t->flows] : NULL;
}

static inline uint32_t
sat32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Mean and coefficient of variation from a count, a sum and a sum of squares. */
static void
mean_cv(uint32_t n, double sum, double sq, float *mean, float *cv)
{
	double m, var;

	*mean = *cv = 0;
	if (n == 0)
		return;
	m = sum / n;
	var = sq / n - m * m;
	*mean = (float)m;
	*cv = m > 0 && var > 0 ? (float)(sqrt(var) / m) : 0;
}

void
sl_flow_sample_fill(const struct sl_flow_table *t, const struct sl_flow *f, uint64_t now_us,
	struct sl_flow_sample *s)
{
	const struct sl_flow_beh *b = sl_flow_beh(t, f);

	s->ts_us = now_us;
	s->age_ms = sat32((f->last_us - f->first_us) / 1000);
	for (int d = 0; d < 2; d++) {
		s->pkts[d] = sat32(f->pkts[d]);
		s->bytes[d] = sat32(f->bytes[d]);
		s->msgs[d] = b != NULL ? b->msgs[d] : 0;
	}
	if (f->bflags & SL_FLOW_B_BULK)
		s->flags |= SL_SAMPLE_F_BULK;
	if (b == NULL) {
		s->unsol = s->cn = s->un = s->crep = s->urep = s->cmiss = s->umiss = 0;
		s->answered = 0;
		s->gap_cv = 0;
		s->csz_mean = s->csz_cv = s->usz_mean = 0;
		s->cells = 0;
		return;
	}
	s->unsol = b->unsol;
	s->cn = b->cn;
	/* pushes measured: every unsolicited one but the one in progress */
	s->un = (uint16_t)(b->unsol - (b->cur[1] > 0 && b->cur_unsol && b->unsol > 0));
	s->crep = b->crep;
	s->urep = b->urep;
	s->cmiss = b->cmiss;
	s->umiss = b->umiss;
	s->cells = b->cells;
	s->answered = b->answered;
	mean_cv(b->cn, b->csz_sum, b->csz_sq, &s->csz_mean, &s->csz_cv);
	s->usz_mean = s->un ? (float)b->usz_sum / (float)s->un : 0;
	if (b->cn >= 3) { /* gaps are taken between measured initiator messages */
		float gm;
		uint32_t gaps = b->cn - 1u + ((b->cur[0] & ~SL_BEH_REPLY) > 0 &&
					     !(b->cur[0] & SL_BEH_REPLY));

		mean_cv(gaps, b->gsum, b->gsq, &gm, &s->gap_cv);
	}
}

uint32_t
sl_flow_capacity(const struct sl_flow_table *t)
{
	return t->p.capacity;
}

uint32_t
sl_flow_capacity_shown(const struct sl_flow_table *t)
{
	return t->p.capacity_shown ? t->p.capacity_shown : t->p.capacity;
}

struct sl_flow *
sl_flow_at(struct sl_flow_table *t, uint32_t pos)
{
	return pos < t->p.capacity ? &t->flows[pos] : NULL;
}

void
sl_flow_prefetch(const struct sl_flow_table *t, uint32_t pos)
{
	if (unlikely(pos >= t->p.capacity))
		return;
	rte_prefetch0(&t->flows[pos]);
	rte_prefetch0((const uint8_t *)&t->flows[pos] + RTE_CACHE_LINE_SIZE);
	if (t->beh != NULL)
		rte_prefetch0(&t->beh[pos]);
}
