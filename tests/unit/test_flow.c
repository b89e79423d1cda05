/* test_flow.c: unit tests of the per-worker flow table (lib/flow): direction-independent
 * keys, creation and lookup, initiator detection, TCP state, lazy and swept expiry, the
 * final flush, a full table, in-order payload capture into the bounded buffer pool (also
 * across a chained mbuf) and long-lived detection. Packets are real Ethernet frames built
 * into mbufs and parsed by sl_pkt_parse, so the tests drive the same path as the worker.
 * Needs EAL (rte_hash, rte_malloc, mbufs): started once per run with --no-huge. Every test
 * runs twice: tables in DPDK memory (live) and in lazily mapped memory (offline). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "sl_common.h"
#include "sl_test_eal.h"
#include "sl_flow.h"
#include "sl_pkt.h"

/* TCP flags as on the wire. */
#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

/* Timeouts (µs) the tests use; all different so a wrong choice shows. */
#define TO_TCP_NEW 5000u
#define TO_TCP_EST 100000u
#define TO_TCP_CLOSED 2000u
#define TO_UDP 20000u
#define TO_OTHER 50000u
#define LONG_US 10000000u

/* Host numbers: 10.0.0.N (IPv4) or 2001:db8::N (IPv6). A < B in key order. */
#define HA 1
#define HB 2

static struct rte_mempool *g_pool;

/* ---- frames ---- */

/** What to put in a test frame. */
struct frame {
	int v6;            /**< IPv6 instead of IPv4 */
	uint8_t proto;     /**< 6, 17, or anything else (no L4 header then) */
	uint8_t src, dst;  /**< host numbers */
	uint16_t sport, dport;
	uint8_t flags;     /**< TCP flags */
	uint32_t seq;      /**< TCP sequence number */
	const void *pay;   /**< L4 payload */
	uint32_t plen;     /**< its length */
};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void
host_addr(int v6, uint8_t n, uint8_t *out)
{
	if (v6) {
		static const uint8_t pfx[16] = {0x20, 0x01, 0x0d, 0xb8};

		memcpy(out, pfx, 16);
		out[15] = n;
	} else {
		out[0] = 10;
		out[1] = 0;
		out[2] = 0;
		out[3] = n;
	}
}

/** Write the Ethernet/IP/L4 headers of @p fr into @p buf. @return header length. */
static uint32_t
build_headers(const struct frame *fr, uint8_t *buf)
{
	uint32_t l4h = fr->proto == 6 ? 20 : fr->proto == 17 ? 8 : 0;
	uint32_t off = 14, l4;

	memset(buf, 0, 14);
	buf[0] = 0x02;
	buf[6] = 0x02;
	buf[11] = 1;
	if (fr->v6) {
		uint8_t *ip = buf + off;

		put16(buf + 12, 0x86dd);
		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(l4h + fr->plen));
		ip[6] = fr->proto;
		ip[7] = 64;
		host_addr(1, fr->src, ip + 8);
		host_addr(1, fr->dst, ip + 24);
		off += 40;
	} else {
		uint8_t *ip = buf + off;

		put16(buf + 12, 0x0800);
		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + l4h + fr->plen));
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = fr->proto;
		host_addr(0, fr->src, ip + 12);
		host_addr(0, fr->dst, ip + 16);
		off += 20;
	}
	l4 = off;
	if (fr->proto == 6) {
		memset(buf + l4, 0, 20);
		put16(buf + l4, fr->sport);
		put16(buf + l4 + 2, fr->dport);
		put32(buf + l4 + 4, fr->seq);
		put32(buf + l4 + 8, (fr->flags & F_ACK) ? 1u : 0u);
		buf[l4 + 12] = 0x50;
		buf[l4 + 13] = fr->flags;
		put16(buf + l4 + 14, 65535);
	} else if (fr->proto == 17) {
		put16(buf + l4, fr->sport);
		put16(buf + l4 + 2, fr->dport);
		put16(buf + l4 + 4, (uint16_t)(8 + fr->plen));
		put16(buf + l4 + 6, 0);
	}
	return l4 + l4h;
}

/** The whole frame into @p buf. @return its length. */
static uint32_t
build_frame(const struct frame *fr, uint8_t *buf)
{
	uint32_t h = build_headers(fr, buf);

	if (fr->plen > 0)
		memcpy(buf + h, fr->pay, fr->plen);
	return h + fr->plen;
}

/** One-segment mbuf holding @p fr. */
static struct rte_mbuf *
mk_mbuf(const struct frame *fr)
{
	uint8_t buf[2048];
	uint32_t len = build_frame(fr, buf);
	struct rte_mbuf *m = rte_pktmbuf_alloc(g_pool);
	char *d;

	assert_non_null(m);
	d = rte_pktmbuf_append(m, (uint16_t)len);
	assert_non_null(d);
	memcpy(d, buf, len);
	return m;
}

/**
 * Two-segment mbuf holding @p fr: the first segment ends after @p first payload bytes,
 * the second holds the rest of the payload.
 */
static struct rte_mbuf *
mk_chained(const struct frame *fr, uint32_t first)
{
	uint8_t buf[2048];
	uint32_t len = build_frame(fr, buf);
	uint32_t cut = len - fr->plen + first;
	struct rte_mbuf *m1 = rte_pktmbuf_alloc(g_pool);
	struct rte_mbuf *m2 = rte_pktmbuf_alloc(g_pool);
	char *d;

	assert_true(first <= fr->plen);
	assert_non_null(m1);
	assert_non_null(m2);
	d = rte_pktmbuf_append(m1, (uint16_t)cut);
	assert_non_null(d);
	memcpy(d, buf, cut);
	if (len > cut) {
		d = rte_pktmbuf_append(m2, (uint16_t)(len - cut));
		assert_non_null(d);
		memcpy(d, buf + cut, len - cut);
	}
	assert_int_equal(rte_pktmbuf_chain(m1, m2), 0);
	assert_int_equal(m1->nb_segs, 2);
	assert_int_equal(m1->pkt_len, len);
	return m1;
}

/** Parse an mbuf the way the worker does (headers in the first segment). */
static void
parse_mbuf(const struct rte_mbuf *m, struct sl_pkt *pk)
{
	memset(pk, 0, sizeof(*pk));
	assert_int_equal(sl_pkt_parse(SL_DLT_EN10MB, rte_pktmbuf_mtod(m, const uint8_t *),
		m->data_len, m->pkt_len, m->pkt_len, pk), SL_PKT_handled);
}

/** Parse a frame from plain bytes (no mbuf). */
static void
parse_frame(const struct frame *fr, struct sl_pkt *pk)
{
	uint8_t buf[2048];
	uint32_t len = build_frame(fr, buf);

	memset(pk, 0, sizeof(*pk));
	assert_int_equal(sl_pkt_parse(SL_DLT_EN10MB, buf, len, len, len, pk), SL_PKT_handled);
}

/* ---- fixture ---- */

/** Per-test state: the table under test and what the end callback saw. */
struct fx {
	struct sl_flow_table *t;
	unsigned int ends;          /**< callbacks */
	unsigned int ends_exit;     /**< of which at_exit = 1 */
	int last_at_exit;
	struct sl_flow last;        /**< copy of the last ended flow */
	struct sl_flow_key last_key;
	const uint8_t *last_pay0;   /**< payload pointer seen in the callback, direction 0 */
	uint32_t last_pay0_len;
	uint8_t last_pay0_copy[256];
};

static void
record_end(void *arg, const struct sl_flow_key *key, struct sl_flow *f, int at_exit)
{
	struct fx *x = arg;
	uint32_t len;

	x->ends++;
	if (at_exit)
		x->ends_exit++;
	x->last_at_exit = at_exit;
	x->last = *f;
	x->last_key = *key;
	/* the payload must still be readable while the callback runs */
	x->last_pay0 = sl_flow_payload(x->t, f, 0, &len);
	x->last_pay0_len = len;
	if (x->last_pay0 != NULL && len <= sizeof(x->last_pay0_copy))
		memcpy(x->last_pay0_copy, x->last_pay0, len);
}

static int
fx_setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return -1;
	*state = x;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *x = *state;

	sl_flow_table_free(x->t);
	free(x);
	return 0;
}

static struct sl_flow_params
default_params(void)
{
	struct sl_flow_params p = {
		.capacity = 1024,
		.payload_buffers = 8,
		.payload_bytes = 64,
		.tcp_new_us = TO_TCP_NEW,
		.tcp_est_us = TO_TCP_EST,
		.tcp_closed_us = TO_TCP_CLOSED,
		.udp_us = TO_UDP,
		.other_us = TO_OTHER,
		.long_us = LONG_US,
	};
	return p;
}

static struct sl_flow_table *
mk_table(struct fx *x, const struct sl_flow_params *p)
{
	static unsigned int seq;
	char name[32];

	snprintf(name, sizeof(name), "tflow%u", seq++);
	x->t = sl_flow_table_create(name, p, (int)rte_socket_id(), record_end, x);
	assert_non_null(x->t);
	return x->t;
}

/** Result of feeding one packet through lookup, get and account. */
struct res {
	struct sl_flow *f;
	int32_t lookup; /**< sl_flow_lookup_bulk result */
	uint32_t sig;   /**< the key's hash */
	int32_t pos;    /**< slot of the flow */
	bool is_new;
	int ret;        /**< sl_flow_account result (-1 when the table was full) */
	int src_hi;
};

/** Run one mbuf through the worker's sequence; frees @p m. */
static struct res
feed_m(struct fx *x, struct rte_mbuf *m, uint64_t now)
{
	struct res r = {.ret = -1};
	struct sl_pkt pk;
	struct sl_flow_key key;
	const struct sl_flow_key *kp = &key;

	parse_mbuf(m, &pk);
	r.src_hi = sl_flow_key_make(&pk, &key);
	sl_flow_lookup_bulk(x->t, &kp, 1, &r.sig, &r.lookup);
	r.f = sl_flow_get(x->t, &key, r.sig, r.lookup, &pk, r.src_hi, now, &r.is_new);
	if (r.f != NULL) {
		r.pos = (int32_t)(r.f - sl_flow_at(x->t, 0));
		r.ret = sl_flow_account(x->t, r.f, &pk, r.src_hi, m, now);
	} else {
		r.pos = -1;
	}
	rte_pktmbuf_free(m);
	return r;
}

static struct res
feed(struct fx *x, const struct frame *fr, uint64_t now)
{
	return feed_m(x, mk_mbuf(fr), now);
}

/** Look a frame's flow up without touching the table. @return the position or < 0. */
static int32_t
lookup(struct fx *x, const struct frame *fr)
{
	struct sl_pkt pk;
	struct sl_flow_key key;
	const struct sl_flow_key *kp = &key;
	int32_t pos;
	uint32_t sig1;

	parse_frame(fr, &pk);
	sl_flow_key_make(&pk, &key);
	sl_flow_lookup_bulk(x->t, &kp, 1, &sig1, &pos);
	return pos;
}

static uint32_t
frame_len(const struct frame *fr)
{
	uint8_t buf[2048];

	return build_frame(fr, buf);
}

/* Frame shorthands: TCP and UDP, IPv4, from host s:sp to host d:dp. */
#define TCP(s, sp, d, dp, fl, sq, p, n)                                                      \
	(&(struct frame){.proto = 6, .src = (s), .dst = (d), .sport = (sp), .dport = (dp),     \
		.flags = (fl), .seq = (sq), .pay = (p), .plen = (n)})
#define UDP(s, sp, d, dp, p, n)                                                              \
	(&(struct frame){.proto = 17, .src = (s), .dst = (d), .sport = (sp), .dport = (dp),    \
		.pay = (p), .plen = (n)})

static const struct sl_flow_stats *
st(struct fx *x)
{
	return sl_flow_stats(x->t);
}

/* ---- keys ---- */

static void
check_symmetric(const struct frame *ab, const struct frame *ba)
{
	struct sl_pkt p1, p2;
	struct sl_flow_key k1, k2;
	int h1, h2;

	parse_frame(ab, &p1);
	parse_frame(ba, &p2);
	memset(&k1, 0xaa, sizeof(k1));
	memset(&k2, 0x55, sizeof(k2));
	h1 = sl_flow_key_make(&p1, &k1);
	h2 = sl_flow_key_make(&p2, &k2);
	assert_memory_equal(&k1, &k2, sizeof(k1)); /* whole key, pad included */
	assert_true(h1 == 0 || h1 == 1);
	assert_true(h2 == 0 || h2 == 1);
	assert_int_not_equal(h1, h2);
	/* lo endpoint really is the lower one */
	{
		int c = memcmp(k1.lo, k1.hi, 16);

		assert_true(c < 0 || (c == 0 && k1.port_lo <= k1.port_hi));
	}
	assert_int_equal(k1.proto, ab->proto);
	assert_int_equal(k1.pad[0] | k1.pad[1] | k1.pad[2], 0);
	/* the source of the packet with src_hi = 1 is the key's hi endpoint */
	if (h1) {
		assert_memory_equal(k1.hi, p1.src, 16);
		assert_int_equal(k1.port_hi, p1.sport);
	} else {
		assert_memory_equal(k1.lo, p1.src, 16);
		assert_int_equal(k1.port_lo, p1.sport);
	}
}

static void
test_key_direction_independent(void **state)
{
	(void)state;
	/* IPv4, different addresses, both orders of the lower address */
	check_symmetric(TCP(HA, 51000, HB, 80, F_SYN, 1, NULL, 0),
		TCP(HB, 80, HA, 51000, F_SYN | F_ACK, 1, NULL, 0));
	check_symmetric(TCP(HB, 51000, HA, 80, F_SYN, 1, NULL, 0),
		TCP(HA, 80, HB, 51000, F_SYN | F_ACK, 1, NULL, 0));
	/* same address, different ports: the ports decide */
	check_symmetric(UDP(HA, 1000, HA, 2000, "x", 1), UDP(HA, 2000, HA, 1000, "y", 1));
	check_symmetric(UDP(HA, 2000, HA, 1000, "x", 1), UDP(HA, 1000, HA, 2000, "y", 1));
	/* IPv6 */
	{
		struct frame ab = {.v6 = 1, .proto = 17, .src = HA, .dst = HB, .sport = 5353,
			.dport = 53};
		struct frame ba = {.v6 = 1, .proto = 17, .src = HB, .dst = HA, .sport = 53,
			.dport = 5353};

		check_symmetric(&ab, &ba);
	}
	/* different protocols or ports give different keys */
	{
		struct sl_pkt p1, p2;
		struct sl_flow_key k1, k2;

		parse_frame(TCP(HA, 1000, HB, 80, F_ACK, 1, NULL, 0), &p1);
		parse_frame(UDP(HA, 1000, HB, 80, NULL, 0), &p2);
		sl_flow_key_make(&p1, &k1);
		sl_flow_key_make(&p2, &k2);
		assert_memory_not_equal(&k1, &k2, sizeof(k1));
		parse_frame(UDP(HA, 1001, HB, 80, NULL, 0), &p1);
		sl_flow_key_make(&p1, &k1);
		assert_memory_not_equal(&k1, &k2, sizeof(k1));
	}
}

/* ---- creation, lookup and accounting ---- */

static void
test_create_and_account(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	struct res r1, r2, r3, r4;
	const struct frame *syn = TCP(HA, 51000, HB, 80, F_SYN, 1000, NULL, 0);
	const struct frame *synack = TCP(HB, 80, HA, 51000, F_SYN | F_ACK, 5000, NULL, 0);
	const struct frame *ack = TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1001, "0123456789", 10);
	const struct frame *resp = TCP(HB, 80, HA, 51000, F_ACK, 5001, "abcde", 5);
	struct sl_flow *f;

	mk_table(x, &p);
	assert_int_equal(sl_flow_capacity(x->t), 1024);
	assert_int_equal(st(x)->created, 0);
	assert_int_equal(st(x)->active, 0);

	r1 = feed(x, syn, 1000);
	assert_true(r1.lookup < 0);
	assert_non_null(r1.f);
	assert_true(r1.is_new);
	assert_int_equal(r1.ret, 0);
	assert_int_equal(st(x)->created, 1);
	assert_int_equal(st(x)->active, 1);
	assert_true(r1.pos >= 0 && (uint32_t)r1.pos < sl_flow_capacity(x->t));
	assert_ptr_equal(sl_flow_at(x->t, (uint32_t)r1.pos), r1.f);

	r2 = feed(x, synack, 1100);
	assert_int_equal(r2.lookup, r1.pos);
	assert_ptr_equal(r2.f, r1.f);
	assert_false(r2.is_new);
	assert_int_equal(r2.ret, 1); /* responder */
	assert_int_equal(st(x)->created, 1);

	r3 = feed(x, ack, 1300);
	assert_int_equal(r3.lookup, r1.pos);
	assert_int_equal(r3.ret, 0);
	r4 = feed(x, resp, 1350);
	assert_int_equal(r4.ret, 1);
	assert_false(r3.is_new || r4.is_new);
	assert_int_equal(st(x)->created, 1);
	assert_int_equal(st(x)->active, 1);

	f = r1.f;
	assert_int_equal(f->pkts[0], 2);
	assert_int_equal(f->pkts[1], 2);
	assert_int_equal(f->bytes[0], frame_len(syn) + frame_len(ack));
	assert_int_equal(f->bytes[1], frame_len(synack) + frame_len(resp));
	assert_int_equal(frame_len(syn), 54);
	assert_int_equal(f->payload[0], 10);
	assert_int_equal(f->payload[1], 5);
	assert_int_equal(f->first_us, 1000);
	assert_int_equal(f->last_us, 1350);
	/* gaps 100, 200, 50 */
	assert_int_equal(f->iat_min_us, 50);
	assert_int_equal(f->iat_max_us, 200);
	assert_int_equal(f->iat_sum_us, 350);
	assert_int_equal(f->proto, 6);
	assert_true(f->flags & SL_FLOW_F_USED);
	assert_int_equal(f->tcp_flags[0], F_SYN | F_ACK | F_PSH);
	assert_int_equal(f->tcp_flags[1], F_SYN | F_ACK);
	assert_int_equal(f->push_pkts[0], 1);
	assert_int_equal(f->push_pkts[1], 0);
	assert_int_equal(f->host[0], SL_FLOW_NONE);
	assert_int_equal(f->host[1], SL_FLOW_NONE);
	assert_int_equal(f->state, SL_TCP_ESTABLISHED);
	assert_int_equal(x->ends, 0);

	/* a single packet flow keeps iat_min at its "none" value and a zero sum */
	{
		struct res u = feed(x, UDP(HA, 40000, HB, 53, "q", 1), 2000);

		assert_true(u.is_new);
		assert_int_not_equal(u.pos, r1.pos);
		assert_int_equal(u.f->pkts[0], 1);
		assert_int_equal(u.f->iat_sum_us, 0);
		assert_int_equal(u.f->iat_max_us, 0);
		assert_int_equal(u.f->state, SL_TCP_NONE);
		assert_int_equal(st(x)->created, 2);
		assert_int_equal(st(x)->active, 2);
	}
}

/* Two packets of a new flow in one burst: both miss in the bulk lookup; the second get
 * finds the flow the first created. */
static void
test_same_burst_creation(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	struct sl_pkt pk[2];
	struct sl_flow_key key[2];
	const struct sl_flow_key *kp[2] = {&key[0], &key[1]};
	int32_t pos[2];
	uint32_t sig2[2];
	int hi[2];
	bool n0, n1;
	struct sl_flow *f0, *f1;

	mk_table(x, &p);
	parse_frame(UDP(HA, 40000, HB, 53, "q", 1), &pk[0]);
	parse_frame(UDP(HB, 53, HA, 40000, "answer", 6), &pk[1]);
	hi[0] = sl_flow_key_make(&pk[0], &key[0]);
	hi[1] = sl_flow_key_make(&pk[1], &key[1]);
	sl_flow_lookup_bulk(x->t, kp, 2, sig2, pos);
	assert_true(pos[0] < 0);
	assert_true(pos[1] < 0);
	f0 = sl_flow_get(x->t, &key[0], sig2[0], pos[0], &pk[0], hi[0], 10, &n0);
	f1 = sl_flow_get(x->t, &key[1], sig2[1], pos[1], &pk[1], hi[1], 11, &n1);
	assert_non_null(f0);
	assert_ptr_equal(f0, f1);
	assert_true(n0);
	assert_false(n1);
	assert_int_equal(st(x)->created, 1);
	assert_int_equal(st(x)->active, 1);
	/* the flow is now in the table for both directions */
	sl_flow_lookup_bulk(x->t, kp, 2, sig2, pos);
	assert_true(pos[0] >= 0);
	assert_int_equal(pos[0], pos[1]);
}

/* ---- initiator ---- */

static void
test_initiator_rules(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	struct res r;

	mk_table(x, &p);

	/* SYN: the sender is the initiator, whichever end of the key it is */
	r = feed(x, TCP(HA, 51000, HB, 80, F_SYN, 1, NULL, 0), 100);
	assert_int_equal(r.ret, 0);
	assert_false(r.f->flags & SL_FLOW_F_INIT_HI); /* A is lo */
	assert_int_equal(feed(x, TCP(HB, 80, HA, 51000, F_SYN | F_ACK, 9, NULL, 0), 101).ret, 1);

	r = feed(x, TCP(HB, 51001, HA, 80, F_SYN, 1, NULL, 0), 100);
	assert_int_equal(r.ret, 0);
	assert_true(r.f->flags & SL_FLOW_F_INIT_HI); /* B is hi */
	assert_int_equal(feed(x, TCP(HA, 80, HB, 51001, F_SYN | F_ACK, 9, NULL, 0), 101).ret, 1);

	/* SYN-ACK first (SYN missed): the receiver is the initiator */
	r = feed(x, TCP(HB, 80, HA, 51002, F_SYN | F_ACK, 9, NULL, 0), 100);
	assert_true(r.is_new);
	assert_int_equal(r.ret, 1);
	assert_false(r.f->flags & SL_FLOW_F_INIT_HI);
	assert_int_equal(r.f->state, SL_TCP_SYNACK);
	assert_int_equal(feed(x, TCP(HA, 51002, HB, 80, F_ACK, 2, NULL, 0), 101).ret, 0);
	r = feed(x, TCP(HA, 80, HB, 51003, F_SYN | F_ACK, 9, NULL, 0), 100);
	assert_int_equal(r.ret, 1);
	assert_true(r.f->flags & SL_FLOW_F_INIT_HI);

	/* mid-stream TCP from 443 to 51000: the 51000 side is the initiator */
	r = feed(x, TCP(HA, 443, HB, 51000, F_ACK | F_PSH, 77, "data", 4), 100);
	assert_true(r.is_new);
	assert_int_equal(r.ret, 1);
	assert_true(r.f->flags & SL_FLOW_F_INIT_HI);
	assert_int_equal(r.f->state, SL_TCP_ESTABLISHED);
	assert_int_equal(r.f->pkts[1], 1);
	assert_int_equal(feed(x, TCP(HB, 51000, HA, 443, F_ACK, 5, NULL, 0), 101).ret, 0);
	/* and the other way round: the ephemeral side sends first */
	r = feed(x, TCP(HB, 51000, HA, 8443, F_ACK, 5, NULL, 0), 100);
	assert_int_equal(r.ret, 0);
	assert_true(r.f->flags & SL_FLOW_F_INIT_HI);

	/* UDP from 53 to 40000: the 40000 side is the initiator */
	r = feed(x, UDP(HA, 53, HB, 40000, "answer", 6), 100);
	assert_true(r.is_new);
	assert_int_equal(r.ret, 1);
	assert_int_equal(r.f->pkts[1], 1);
	assert_int_equal(r.f->pkts[0], 0);
	assert_int_equal(feed(x, UDP(HB, 40000, HA, 53, "query", 5), 101).ret, 0);
	r = feed(x, UDP(HB, 53, HA, 40001, "answer", 6), 100);
	assert_int_equal(r.ret, 1);
	assert_false(r.f->flags & SL_FLOW_F_INIT_HI);
	/* registered port answering an ephemeral one */
	r = feed(x, UDP(HA, 5060, HB, 40002, "x", 1), 100);
	assert_int_equal(r.ret, 1);
	/* two ephemeral ports: the sender of the first packet is the initiator */
	r = feed(x, UDP(HB, 40003, HA, 40004, "x", 1), 100);
	assert_int_equal(r.ret, 0);
	assert_true(r.f->flags & SL_FLOW_F_INIT_HI);
}

/* ---- TCP state ---- */

static void
test_tcp_states(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	struct res r;
	struct sl_flow *f;
	int32_t pos;

	mk_table(x, &p);
	r = feed(x, TCP(HA, 51000, HB, 80, F_SYN, 100, NULL, 0), 1000);
	f = r.f;
	pos = r.pos;
	assert_int_equal(f->state, SL_TCP_SYN);
	feed(x, TCP(HA, 51000, HB, 80, F_SYN, 100, NULL, 0), 1001); /* SYN retransmitted */
	assert_int_equal(f->state, SL_TCP_SYN);
	feed(x, TCP(HB, 80, HA, 51000, F_SYN | F_ACK, 900, NULL, 0), 1002);
	assert_int_equal(f->state, SL_TCP_SYNACK);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK, 101, NULL, 0), 1003);
	assert_int_equal(f->state, SL_TCP_ESTABLISHED);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 101, "GET /", 5), 1004);
	assert_int_equal(f->state, SL_TCP_ESTABLISHED);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_FIN, 106, NULL, 0), 1005);
	assert_int_equal(f->state, SL_TCP_FIN);
	assert_true(f->flags & SL_FLOW_F_FIN0);
	feed(x, TCP(HB, 80, HA, 51000, F_ACK, 901, NULL, 0), 1006);
	assert_int_equal(f->state, SL_TCP_FIN);
	feed(x, TCP(HB, 80, HA, 51000, F_ACK | F_FIN, 901, NULL, 0), 1007);
	assert_int_equal(f->state, SL_TCP_CLOSED);
	assert_int_equal(f->fin1, 1);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK, 107, NULL, 0), 1008); /* last ACK */
	assert_int_equal(f->state, SL_TCP_CLOSED);
	assert_int_equal(x->ends, 0);
	assert_int_equal(st(x)->active, 1);

	/* a new SYN on the closed flow restarts it in place */
	r = feed(x, TCP(HA, 51000, HB, 80, F_SYN, 5000, NULL, 0), 1009);
	assert_true(r.is_new);
	assert_int_equal(r.lookup, pos);
	assert_int_equal(r.pos, pos);
	assert_int_equal(st(x)->tcp_reused, 1);
	assert_int_equal(st(x)->created, 2);
	assert_int_equal(st(x)->expired, 1);
	assert_int_equal(st(x)->active, 1);
	assert_int_equal(x->ends, 1);
	assert_int_equal(x->last_at_exit, 0);
	assert_int_equal(x->last.pkts[0], 6);
	assert_int_equal(x->last.pkts[1], 3);
	assert_int_equal(x->last.state, SL_TCP_CLOSED);
	assert_int_equal(r.f->state, SL_TCP_SYN);
	assert_int_equal(r.f->pkts[0], 1);
	assert_int_equal(r.f->pkts[1], 0);
	assert_int_equal(r.f->first_us, 1009);
	assert_int_equal(r.ret, 0);

	/* FIN from the responder first, then from the initiator */
	r = feed(x, TCP(HA, 51001, HB, 80, F_ACK, 1, NULL, 0), 2000);
	f = r.f;
	assert_int_equal(f->state, SL_TCP_ESTABLISHED);
	feed(x, TCP(HB, 80, HA, 51001, F_ACK | F_FIN, 1, NULL, 0), 2001);
	assert_int_equal(f->state, SL_TCP_FIN);
	feed(x, TCP(HA, 51001, HB, 80, F_ACK | F_FIN, 1, NULL, 0), 2002);
	assert_int_equal(f->state, SL_TCP_CLOSED);

	/* RST closes at once */
	r = feed(x, TCP(HA, 51002, HB, 80, F_SYN, 1, NULL, 0), 3000);
	f = r.f;
	feed(x, TCP(HB, 80, HA, 51002, F_RST | F_ACK, 0, NULL, 0), 3001);
	assert_int_equal(f->state, SL_TCP_CLOSED);
	/* a plain ACK on a closed flow does not restart it */
	r = feed(x, TCP(HA, 51002, HB, 80, F_ACK, 2, NULL, 0), 3002);
	assert_false(r.is_new);
	assert_ptr_equal(r.f, f);
	assert_int_equal(f->state, SL_TCP_CLOSED);
	/* nor does a SYN-ACK */
	r = feed(x, TCP(HB, 80, HA, 51002, F_SYN | F_ACK, 2, NULL, 0), 3003);
	assert_false(r.is_new);
	assert_int_equal(st(x)->tcp_reused, 1);

	/* RST on an established flow */
	r = feed(x, TCP(HA, 51003, HB, 80, F_ACK, 1, NULL, 0), 4000);
	feed(x, TCP(HA, 51003, HB, 80, F_RST, 1, NULL, 0), 4001);
	assert_int_equal(r.f->state, SL_TCP_CLOSED);

	/* UDP flows have no TCP state */
	r = feed(x, UDP(HA, 40000, HB, 53, NULL, 0), 5000);
	assert_int_equal(r.f->state, SL_TCP_NONE);
}

/* ---- expiry ---- */

static void
test_lazy_expiry(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	struct res r1, r2, r3;

	mk_table(x, &p);
	r1 = feed(x, UDP(HA, 40000, HB, 53, "q1", 2), 1000);
	feed(x, UDP(HB, 53, HA, 40000, "a1", 2), 1500);
	/* exactly at the timeout: still the same flow */
	r2 = feed(x, UDP(HA, 40000, HB, 53, "q2", 2), 1500 + TO_UDP);
	assert_false(r2.is_new);
	assert_ptr_equal(r2.f, r1.f);
	assert_int_equal(x->ends, 0);
	/* one µs past it: the old flow ends, a new one starts at the same position */
	r3 = feed(x, UDP(HB, 53, HA, 40000, "a2", 2), 1500 + 2 * TO_UDP + 1);
	assert_true(r3.is_new);
	assert_int_equal(r3.lookup, r1.pos);
	assert_int_equal(r3.pos, r1.pos);
	assert_int_equal(x->ends, 1);
	assert_int_equal(x->last_at_exit, 0);
	assert_int_equal(x->last.pkts[0], 2);
	assert_int_equal(x->last.pkts[1], 1);
	assert_int_equal(x->last.first_us, 1000);
	assert_int_equal(x->last.last_us, 1500 + TO_UDP);
	assert_int_equal(st(x)->expired, 1);
	assert_int_equal(st(x)->created, 2);
	assert_int_equal(st(x)->active, 1);
	assert_int_equal(st(x)->tcp_reused, 0);
	/* the new flow starts from this packet: 53 answering 40000, so it is the responder */
	assert_int_equal(r3.ret, 1);
	assert_int_equal(r3.f->pkts[0], 0);
	assert_int_equal(r3.f->pkts[1], 1);
	assert_int_equal(r3.f->first_us, 1500 + 2 * TO_UDP + 1);
	{
		/* the callback saw the old flow's key: the same 5-tuple */
		struct sl_pkt pk;
		struct sl_flow_key k;

		parse_frame(UDP(HA, 40000, HB, 53, NULL, 0), &pk);
		sl_flow_key_make(&pk, &k);
		assert_memory_equal(&k, &x->last_key, sizeof(k));
	}
	/* old payload went with the old flow */
	{
		uint32_t len;
		const uint8_t *d = sl_flow_payload(x->t, r3.f, 1, &len);

		assert_non_null(d);
		assert_int_equal(len, 2);
		assert_memory_equal(d, "a2", 2);
		assert_int_equal(x->last_pay0_len, 4);
		assert_memory_equal(x->last_pay0_copy, "q1q2", 4);
	}
	/* a closed TCP flow that went idle: a plain ACK after tcp_closed starts a new flow
	 * (expiry, not a reuse) */
	{
		struct res a = feed(x, TCP(HA, 51000, HB, 80, F_ACK, 1, NULL, 0), 10000);

		feed(x, TCP(HA, 51000, HB, 80, F_RST, 1, NULL, 0), 10001);
		a = feed(x, TCP(HA, 51000, HB, 80, F_ACK, 1, NULL, 0), 10001 + TO_TCP_CLOSED + 1);
		assert_true(a.is_new);
		assert_int_equal(a.f->state, SL_TCP_ESTABLISHED);
		assert_int_equal(st(x)->tcp_reused, 0);
		assert_int_equal(st(x)->expired, 2);
	}
}

static void
check_timeout(struct fx *x, const struct frame *fr, uint8_t want_state, uint64_t to)
{
	struct res r = feed(x, fr, 100000);

	assert_non_null(r.f);
	assert_int_equal(r.f->state, want_state);
	assert_false(sl_flow_expired(x->t, r.f, 100000));
	assert_false(sl_flow_expired(x->t, r.f, 100000 + to));
	assert_true(sl_flow_expired(x->t, r.f, 100000 + to + 1));
	/* time going backwards never expires a flow */
	assert_false(sl_flow_expired(x->t, r.f, 99000));
}

static void
test_timeouts_by_state(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	struct res r;

	mk_table(x, &p);
	check_timeout(x, TCP(HA, 50001, HB, 80, F_SYN, 1, NULL, 0), SL_TCP_SYN, TO_TCP_NEW);
	check_timeout(x, TCP(HB, 80, HA, 50002, F_SYN | F_ACK, 1, NULL, 0), SL_TCP_SYNACK,
		TO_TCP_NEW);
	check_timeout(x, TCP(HA, 50003, HB, 80, F_ACK, 1, NULL, 0), SL_TCP_ESTABLISHED,
		TO_TCP_EST);
	check_timeout(x, TCP(HA, 50004, HB, 80, F_RST, 1, NULL, 0), SL_TCP_CLOSED,
		TO_TCP_CLOSED);
	check_timeout(x, UDP(HA, 40000, HB, 53, NULL, 0), SL_TCP_NONE, TO_UDP);
	check_timeout(x, &(struct frame){.proto = 47, .src = HA, .dst = HB, .pay = "gre!",
		.plen = 4}, SL_TCP_NONE, TO_OTHER);
	check_timeout(x, &(struct frame){.v6 = 1, .proto = 17, .src = HA, .dst = HB,
		.sport = 1, .dport = 2}, SL_TCP_NONE, TO_UDP);
	/* FIN (half closed) keeps the established timeout */
	r = feed(x, TCP(HA, 50005, HB, 80, F_ACK | F_FIN, 1, NULL, 0), 100000);
	assert_int_equal(r.f->state, SL_TCP_FIN);
	assert_false(sl_flow_expired(x->t, r.f, 100000 + TO_TCP_EST));
	assert_true(sl_flow_expired(x->t, r.f, 100000 + TO_TCP_EST + 1));
	/* the state in force at the last packet decides: SYN then SYN-ACK then ACK */
	r = feed(x, TCP(HA, 50006, HB, 80, F_SYN, 1, NULL, 0), 200000);
	assert_true(sl_flow_expired(x->t, r.f, 200000 + TO_TCP_NEW + 1));
	feed(x, TCP(HB, 80, HA, 50006, F_SYN | F_ACK, 1, NULL, 0), 200001);
	feed(x, TCP(HA, 50006, HB, 80, F_ACK, 2, NULL, 0), 200002);
	assert_false(sl_flow_expired(x->t, r.f, 200002 + TO_TCP_NEW + 1));
	assert_true(sl_flow_expired(x->t, r.f, 200002 + TO_TCP_EST + 1));
	assert_int_equal(x->ends, 0);
}

static void
test_sweep_budget(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	int32_t pos[12];
	bool old[12];
	unsigned int n_old = 0, ended, swept = 0;
	uint64_t now = 1000 + TO_UDP + 1;

	mk_table(x, &p);
	/* flows 0, 3, 6, 9 stay fresh; the others go idle */
	for (unsigned int i = 0; i < 12; i++) {
		old[i] = i % 3 != 0;
		pos[i] = feed(x, UDP(HA, (uint16_t)(41000 + i), HB, 53, NULL, 0),
			old[i] ? 1000 : now - 10).pos;
		assert_true(pos[i] >= 0);
		n_old += old[i];
	}
	assert_int_equal(st(x)->active, 12);
	assert_int_equal(sl_flow_sweep(x->t, 1000, 1024), 0); /* nothing idle yet */
	/* a new table sweeps from slot 0 in steps of `budget` slots */
	for (uint32_t start = 0; start < sl_flow_capacity(x->t); start += 5) {
		unsigned int want = 0;

		for (unsigned int i = 0; i < 12; i++)
			want += old[i] && (uint32_t)pos[i] >= start && (uint32_t)pos[i] < start + 5;
		ended = sl_flow_sweep(x->t, now, 5);
		assert_int_equal(ended, want);
		swept += ended;
	}
	assert_int_equal(swept, n_old);
	assert_int_equal(x->ends, n_old);
	assert_int_equal(x->ends_exit, 0);
	assert_int_equal(st(x)->expired, n_old);
	assert_int_equal(st(x)->active, 12 - n_old);
	/* ended flows are gone from the hash, fresh ones are still there */
	for (unsigned int i = 0; i < 12; i++) {
		int32_t lp = lookup(x, UDP(HA, (uint16_t)(41000 + i), HB, 53, NULL, 0));

		if (old[i])
			assert_true(lp < 0);
		else
			assert_int_equal(lp, pos[i]);
		assert_int_equal(!!(sl_flow_at(x->t, (uint32_t)pos[i])->flags & SL_FLOW_F_USED),
			!old[i]);
	}
	/* nothing left to end at this time; a budget 0 sweep does nothing */
	assert_int_equal(sl_flow_sweep(x->t, now, 2048), 0);
	assert_int_equal(sl_flow_sweep(x->t, now + TO_UDP, 0), 0);
	/* later, the rest */
	assert_int_equal(sl_flow_sweep(x->t, now + TO_UDP, 2048), 12 - n_old);
	assert_int_equal(st(x)->active, 0);
	assert_int_equal(sl_flow_sweep(x->t, now + TO_UDP, 2048), 0);
}

static void
test_flush(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	uint64_t now = 1000000;

	mk_table(x, &p);
	/* idle: a UDP flow and a SYN-only flow */
	feed(x, UDP(HA, 40000, HB, 53, NULL, 0), now - TO_UDP - 1);
	feed(x, TCP(HA, 50000, HB, 80, F_SYN, 1, NULL, 0), now - TO_TCP_NEW - 1);
	/* not idle: an established flow and a UDP flow */
	feed(x, TCP(HA, 50001, HB, 80, F_ACK, 1, NULL, 0), now - TO_TCP_NEW - 1);
	feed(x, UDP(HA, 40001, HB, 53, "x", 1), now - 5);
	assert_int_equal(st(x)->active, 4);

	sl_flow_flush(x->t, now);
	assert_int_equal(x->ends, 4);
	assert_int_equal(x->ends_exit, 2);
	assert_int_equal(st(x)->expired, 2);
	assert_int_equal(st(x)->active, 2); /* reported at exit, still counted */
	assert_int_equal(st(x)->created, 4);
	/* the table is empty afterwards */
	assert_true(lookup(x, UDP(HA, 40000, HB, 53, NULL, 0)) < 0);
	assert_true(lookup(x, UDP(HA, 40001, HB, 53, NULL, 0)) < 0);
	assert_true(lookup(x, TCP(HA, 50001, HB, 80, F_ACK, 1, NULL, 0)) < 0);
	for (uint32_t i = 0; i < sl_flow_capacity(x->t); i++)
		assert_false(sl_flow_at(x->t, i)->flags & SL_FLOW_F_USED);
	assert_null(sl_flow_at(x->t, sl_flow_capacity(x->t)));
	/* a second flush reports nothing */
	sl_flow_flush(x->t, now);
	assert_int_equal(x->ends, 4);
}

/* ---- full table ---- */

static void
test_table_full(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	uint32_t made = 0, cap;
	struct res r;

	mk_table(x, &p);
	cap = sl_flow_capacity(x->t);
	for (uint32_t i = 0; i < 2 * cap; i++) {
		r = feed(x, UDP(HA, (uint16_t)(10000 + i), HB, 53, "z", 1), 1000 + i);
		if (r.f == NULL)
			break;
		assert_true(r.is_new);
		assert_true(r.pos >= 0 && (uint32_t)r.pos < cap);
		made++;
	}
	/* every one of `capacity` flows fits (extendable table), and no more: entries live
	 * in an array of exactly `capacity` */
	assert_int_equal(made, cap);
	assert_int_equal(st(x)->table_full, 1);
	assert_int_equal(st(x)->active, cap);
	assert_int_equal(st(x)->created, cap);
	/* more refusals count, no crash */
	for (unsigned int i = 0; i < 5; i++) {
		r = feed(x, UDP(HA, (uint16_t)(60000 + i), HB, 53, NULL, 0), 5000);
		assert_null(r.f);
		assert_int_equal(r.ret, -1);
	}
	assert_int_equal(st(x)->table_full, 6);
	/* existing flows still hit */
	r = feed(x, UDP(HB, 53, HA, 10005, "y", 1), 5000);
	assert_non_null(r.f);
	assert_false(r.is_new);
	assert_int_equal(r.ret, 1);
	/* after the sweep ends the idle ones, new flows fit again */
	assert_int_equal(sl_flow_sweep(x->t, 1000 + 2 * cap + TO_UDP, 2 * cap), cap - 1);
	assert_int_equal(st(x)->active, 1);
	r = feed(x, UDP(HA, 60000, HB, 53, NULL, 0), 1000 + 2 * cap + TO_UDP);
	assert_non_null(r.f);
	assert_true(r.is_new);
	assert_int_equal(st(x)->table_full, 6);
	for (uint32_t i = 1; i < cap - 1; i++) {
		r = feed(x, UDP(HA, (uint16_t)(20000 + i), HB, 53, NULL, 0), 1000 + 2 * cap + TO_UDP);
		assert_non_null(r.f);
	}
	assert_int_equal(st(x)->active, cap);
	assert_null(feed(x, UDP(HA, 61000, HB, 53, NULL, 0), 1000 + 2 * cap + TO_UDP).f);
	assert_int_equal(st(x)->table_full, 7);
}

/* ---- payload capture ---- */

static void
check_payload_at(struct fx *x, const struct sl_flow *f, int dir, const void *want, uint32_t n,
	int line)
{
	uint32_t len = 12345;
	const uint8_t *d = sl_flow_payload(x->t, f, dir, &len);

	if (d == NULL || len != n || memcmp(d, want, n) != 0)
		print_error("payload check at line %d, direction %d: want %u bytes \"%.*s\", "
			"got %u bytes \"%.*s\"\n", line, dir, n, (int)n, (const char *)want, len,
			d == NULL ? 0 : (int)len, d == NULL ? "" : (const char *)d);
	assert_non_null(d);
	assert_int_equal(len, n);
	assert_int_equal(f->buf_len[dir], n);
	if (n > 0)
		assert_memory_equal(d, want, n);
}

/** Captured payload of direction @p dir must be exactly @p n bytes of @p want. */
#define check_payload(x, f, dir, want, n) check_payload_at(x, f, dir, want, n, __LINE__)

static void
test_payload_tcp_in_order(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	struct sl_flow *f;

	mk_table(x, &p);
	f = feed(x, TCP(HA, 51000, HB, 80, F_SYN, 1000, NULL, 0), 1).f;
	assert_int_equal(st(x)->payload_buffers_used, 0); /* no buffer before any payload */
	{
		uint32_t len = 7;

		assert_null(sl_flow_payload(x->t, f, 0, &len));
		assert_int_equal(len, 0);
	}
	feed(x, TCP(HB, 80, HA, 51000, F_SYN | F_ACK, 5000, NULL, 0), 2);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK, 1001, NULL, 0), 3);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1001, "abc", 3), 4);
	feed(x, TCP(HB, 80, HA, 51000, F_ACK | F_PSH, 5001, "XYZ", 3), 5);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1004, "defg", 4), 6);
	check_payload(x, f, 0, "abcdefg", 7);
	check_payload(x, f, 1, "XYZ", 3);
	assert_int_equal(st(x)->payload_buffers_used, 1);
	assert_int_equal(st(x)->payload_bytes, 10);

	/* retransmission of bytes we have: nothing added */
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1004, "defg", 4), 7);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1001, "abc", 3), 8);
	check_payload(x, f, 0, "abcdefg", 7);
	assert_int_equal(f->next_seq[0], 1008);
	assert_int_equal(f->payload[0], 3 + 4 + 4 + 3);
	/* the next in-order segments go on where the stream left off */
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1008, "hij", 3), 9);
	check_payload(x, f, 0, "abcdefghij", 10);
	assert_int_equal(f->next_seq[0], 1011);
	assert_int_equal(st(x)->payload_bytes, 13);
	assert_int_equal(st(x)->payload_gaps, 0);
	assert_int_equal(st(x)->payload_buffers_used, 1);
}

/* A segment that overlaps bytes already captured contributes only its new bytes, and the
 * stream goes on after it without losing or repeating anything. (Fails against flow.c as
 * of this writing: capture_payload advances next_seq by skip + n instead of n, so the
 * segment after a partial overlap loses `skip` bytes and the capture is spliced.) */
static void
test_payload_tcp_overlap(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	struct sl_flow *f;

	mk_table(x, &p);
	f = feed(x, TCP(HA, 51000, HB, 80, F_SYN, 1000, NULL, 0), 1).f;
	feed(x, TCP(HB, 80, HA, 51000, F_SYN | F_ACK, 5000, NULL, 0), 2);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1001, "abcdefg", 7), 3);
	check_payload(x, f, 0, "abcdefg", 7);
	/* "fghij" at 1006: "fg" are known, "hij" are new */
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1006, "fghij", 5), 4);
	check_payload(x, f, 0, "abcdefghij", 10);
	assert_int_equal(st(x)->payload_bytes, 10);
	/* the next in-order segment starts at 1011 */
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1011, "klm", 3), 5);
	check_payload(x, f, 0, "abcdefghijklm", 13);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1014, "nop", 3), 6);
	check_payload(x, f, 0, "abcdefghijklmnop", 16);
	assert_int_equal(f->next_seq[0], 1017);
	assert_int_equal(st(x)->payload_gaps, 0);
}

/* A hole (sequence ahead of what was captured): the segment after it is held at its offset
 * but not shown (the matcher must never see spliced bytes); when the missing segment arrives
 * (reordering, retransmission) both join the stream. The other direction is unaffected. */
static void
test_payload_tcp_gap(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	struct sl_flow *f;

	mk_table(x, &p);
	f = feed(x, TCP(HA, 51000, HB, 80, F_SYN, 1000, NULL, 0), 1).f;
	feed(x, TCP(HB, 80, HA, 51000, F_SYN | F_ACK, 5000, NULL, 0), 2);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1001, "abcdefghij", 10), 3);
	feed(x, TCP(HB, 80, HA, 51000, F_ACK | F_PSH, 5001, "XYZ", 3), 4);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1020, "later", 5), 10);
	assert_int_equal(st(x)->payload_gaps, 1);
	assert_int_equal(st(x)->payload_reordered, 1);
	assert_false(f->flags & SL_FLOW_F_GAP0);
	check_payload(x, f, 0, "abcdefghij", 10);
	/* the missing segment arriving late fills the hole: both join, in stream order */
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1011, "klmnopqrs", 9), 11);
	check_payload(x, f, 0, "abcdefghijklmnopqrslater", 24);
	assert_int_equal(st(x)->payload_gaps, 1);
	/* and the stream goes on from there */
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1025, "!", 1), 11);
	check_payload(x, f, 0, "abcdefghijklmnopqrslater!", 25);
	/* the other direction goes on */
	feed(x, TCP(HB, 80, HA, 51000, F_ACK | F_PSH, 5004, "1234", 4), 12);
	check_payload(x, f, 1, "XYZ1234", 7);
	assert_false(f->flags & SL_FLOW_F_GAP1);
	/* and a hole there counts once more, once */
	feed(x, TCP(HB, 80, HA, 51000, F_ACK | F_PSH, 6000, "zz", 2), 13);
	assert_int_equal(st(x)->payload_gaps, 2);
	feed(x, TCP(HB, 80, HA, 51000, F_ACK | F_PSH, 6002, "zz", 2), 14);
	assert_int_equal(st(x)->payload_gaps, 2);
	check_payload(x, f, 1, "XYZ1234", 7);
	assert_int_equal(f->payload[0], 10 + 5 + 9 + 1);
	assert_int_equal(st(x)->payload_buffers_used, 1);
}

/* Reordered segments are reassembled: one held extent per direction grows while segments
 * touch it; a second, separate one is not kept (its bytes come back by retransmission). */
static void
test_payload_tcp_reorder(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	struct sl_flow *f;

	mk_table(x, &p);
	f = feed(x, TCP(HA, 51000, HB, 80, F_SYN, 1000, NULL, 0), 1).f;
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1001, "aaaa", 4), 2);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1009, "cccc", 4), 3);
	check_payload(x, f, 0, "aaaa", 4);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1005, "bbbb", 4), 4);
	check_payload(x, f, 0, "aaaabbbbcccc", 12);
	/* held: [20,24) then [24,28) touching it; [32,36) is separate and not kept */
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1021, "eeee", 4), 5);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1025, "ffff", 4), 6);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1033, "hhhh", 4), 7);
	check_payload(x, f, 0, "aaaabbbbcccc", 12);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1013, "dddddddd", 8), 8);
	check_payload(x, f, 0, "aaaabbbbccccddddddddeeeeffff", 28);
	/* the separate one was dropped: the stream waits at 28 until it is sent again */
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1029, "gggg", 4), 9);
	check_payload(x, f, 0, "aaaabbbbccccddddddddeeeeffffgggg", 32);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1033, "hhhh", 4), 10);
	check_payload(x, f, 0, "aaaabbbbccccddddddddeeeeffffgggghhhh", 36);
	assert_int_equal(st(x)->payload_reordered, 3);
	assert_int_equal(st(x)->payload_gaps, 1);
	assert_int_equal(st(x)->payload_bytes, 36);
	assert_false(f->flags & SL_FLOW_F_GAP0);
}

static void
test_payload_tcp_midstream_and_limit(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	uint8_t big[100];
	struct sl_flow *f;

	for (unsigned int i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 1);
	mk_table(x, &p);
	/* picked up mid-stream: the first data segment sets the expected sequence */
	f = feed(x, TCP(HA, 51000, HB, 443, F_ACK | F_PSH, 0xfffffff0u, big, 40), 1).f;
	check_payload(x, f, 0, big, 40);
	/* the sequence wraps around zero */
	feed(x, TCP(HA, 51000, HB, 443, F_ACK | F_PSH, 0xfffffff0u + 40u, big + 40, 40), 2);
	check_payload(x, f, 0, big, 64); /* stops at payload_bytes */
	feed(x, TCP(HA, 51000, HB, 443, F_ACK | F_PSH, 0xfffffff0u + 80u, big + 80, 20), 3);
	check_payload(x, f, 0, big, 64);
	assert_int_equal(f->payload[0], 100);
	assert_int_equal(st(x)->payload_bytes, 64);
	assert_int_equal(st(x)->payload_gaps, 0);
	/* a full direction does not count a hole */
	feed(x, TCP(HA, 51000, HB, 443, F_ACK | F_PSH, 5, "x", 1), 4);
	assert_int_equal(st(x)->payload_gaps, 0);
	check_payload(x, f, 0, big, 64);
}

static void
test_payload_udp(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	uint8_t big[80];
	struct sl_flow *f;

	memset(big, 'B', sizeof(big));
	mk_table(x, &p);
	f = feed(x, UDP(HA, 40000, HB, 53, "one", 3), 1).f;
	feed(x, UDP(HA, 40000, HB, 53, "two!", 4), 2);
	feed(x, UDP(HB, 53, HA, 40000, "reply", 5), 3);
	feed(x, UDP(HA, 40000, HB, 53, NULL, 0), 4); /* empty datagram */
	feed(x, UDP(HA, 40000, HB, 53, "one", 3), 5); /* same bytes again: appended */
	check_payload(x, f, 0, "onetwo!one", 10);
	check_payload(x, f, 1, "reply", 5);
	feed(x, UDP(HB, 53, HA, 40000, big, sizeof(big)), 6);
	{
		uint8_t want[64];

		memcpy(want, "reply", 5);
		memset(want + 5, 'B', sizeof(want) - 5);
		check_payload(x, f, 1, want, 64);
	}
	assert_int_equal(st(x)->payload_bytes, 10 + 64);
	assert_int_equal(st(x)->payload_gaps, 0);
	assert_int_equal(st(x)->payload_buffers_used, 1);
}

static void
test_payload_pool(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	struct sl_flow *f[10];
	char msg[16];

	mk_table(x, &p);
	/* flows without payload take no buffer */
	for (unsigned int i = 0; i < 20; i++)
		feed(x, UDP(HA, (uint16_t)(30000 + i), HB, 53, NULL, 0), 1);
	assert_int_equal(st(x)->payload_buffers_used, 0);
	/* 10 flows with payload, 8 buffers */
	for (unsigned int i = 0; i < 10; i++) {
		snprintf(msg, sizeof(msg), "flow%u", i);
		f[i] = feed(x, UDP(HA, (uint16_t)(40000 + i), HB, 53, msg, 5), 1000).f;
		assert_non_null(f[i]);
	}
	assert_int_equal(st(x)->payload_buffers_used, 8);
	assert_int_equal(st(x)->payload_pool_empty, 2);
	for (unsigned int i = 0; i < 10; i++) {
		uint32_t len = 99;
		const uint8_t *d = sl_flow_payload(x->t, f[i], 0, &len);

		if (i < 8) {
			snprintf(msg, sizeof(msg), "flow%u", i);
			check_payload(x, f[i], 0, msg, 5);
		} else {
			assert_null(d);
			assert_int_equal(len, 0);
		}
	}
	/* more packets of the buffer-less flows: counted once per flow, no crash */
	feed(x, UDP(HA, 40008, HB, 53, "again", 5), 1001);
	feed(x, UDP(HB, 53, HA, 40009, "again", 5), 1001);
	assert_int_equal(st(x)->payload_pool_empty, 2);
	assert_int_equal(f[8]->pkts[0], 2);
	/* distinct buffers: each flow kept its own bytes */
	{
		uint32_t l0, l1;

		assert_ptr_not_equal(sl_flow_payload(x->t, f[0], 0, &l0),
			sl_flow_payload(x->t, f[1], 0, &l1));
	}
	/* end everything: the buffers go back */
	sl_flow_sweep(x->t, 1001 + TO_UDP + 1, 4096);
	assert_int_equal(st(x)->active, 0);
	for (unsigned int i = 0; i < 8; i++) {
		snprintf(msg, sizeof(msg), "next%u", i);
		f[i] = feed(x, UDP(HA, (uint16_t)(50000 + i), HB, 53, msg, 5), 100000).f;
		check_payload(x, f[i], 0, msg, 5);
	}
	assert_int_equal(st(x)->payload_buffers_used, 16);
	assert_int_equal(st(x)->payload_pool_empty, 2);
	/* pool empty again */
	f[8] = feed(x, UDP(HA, 50008, HB, 53, "x", 1), 100000).f;
	assert_int_equal(st(x)->payload_pool_empty, 3);
	/* a lazily expired flow gives its buffer back before the new flow wants one */
	{
		struct res r = feed(x, UDP(HA, 50000, HB, 53, "renew", 5), 100000 + TO_UDP + 1);

		assert_true(r.is_new);
		check_payload(x, r.f, 0, "renew", 5);
		assert_int_equal(st(x)->payload_pool_empty, 3);
		assert_int_equal(st(x)->payload_buffers_used, 17);
	}
	/* and a TCP flow restarted by a SYN */
	{
		struct res r;

		sl_flow_sweep(x->t, 100000 + 2 * TO_UDP + 2, 4096);
		r = feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1, "tcp1", 4), 200000);
		check_payload(x, r.f, 0, "tcp1", 4);
		feed(x, TCP(HA, 51000, HB, 80, F_RST, 5, NULL, 0), 200001);
		for (unsigned int i = 0; i < 7; i++) {
			snprintf(msg, sizeof(msg), "fill%u", i);
			assert_non_null(feed(x, UDP(HA, (uint16_t)(52000 + i), HB, 53, msg, 5),
				200002).f);
		}
		assert_int_equal(st(x)->payload_pool_empty, 3);
		r = feed(x, TCP(HA, 51000, HB, 80, F_SYN, 100, NULL, 0), 200003);
		assert_true(r.is_new);
		assert_int_equal(st(x)->tcp_reused, 1);
		feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 101, "tcp2", 4), 200004);
		check_payload(x, r.f, 0, "tcp2", 4);
		assert_int_equal(st(x)->payload_pool_empty, 3);
	}
}

static void
test_payload_chained_mbuf(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	uint8_t pay[60];
	static const uint32_t splits[] = {0, 1, 15, 39, 40};

	for (unsigned int i = 0; i < sizeof(pay); i++)
		pay[i] = (uint8_t)('A' + i % 26);
	mk_table(x, &p);
	for (unsigned int k = 0; k < SL_ARRAY_SIZE(splits); k++) {
		uint16_t sport = (uint16_t)(52000 + k);
		struct res r = feed_m(x, mk_chained(TCP(HA, sport, HB, 443, F_ACK | F_PSH, 7,
			pay, 40), splits[k]), 10);

		assert_non_null(r.f);
		check_payload(x, r.f, 0, pay, 40);
		/* the next segment, chained too, fills the 64-byte buffer across the cut */
		r = feed_m(x, mk_chained(TCP(HA, sport, HB, 443, F_ACK | F_PSH, 47, pay + 40, 20),
			splits[k] > 20 ? 10 : splits[k]), 11);
		check_payload(x, r.f, 0, pay, 60);
		r = feed_m(x, mk_chained(TCP(HA, sport, HB, 443, F_ACK | F_PSH, 67, pay, 10), 3),
			12);
		{
			uint8_t want[64];

			memcpy(want, pay, 60);
			memcpy(want + 60, pay, 4);
			check_payload(x, r.f, 0, want, 64);
		}
		assert_int_equal(r.f->payload[0], 70);
	}
	/* UDP and IPv6 through a chained mbuf */
	{
		struct frame u6 = {.v6 = 1, .proto = 17, .src = HA, .dst = HB, .sport = 40000,
			.dport = 53, .pay = pay, .plen = 33};
		struct res r = feed_m(x, mk_chained(&u6, 17), 20);

		check_payload(x, r.f, 0, pay, 33);
	}
	assert_int_equal(st(x)->payload_gaps, 0);
}

/* A SYN carrying data (TCP Fast Open): the data starts at ISN + 1. (Fails against flow.c as
 * of this writing: capture_payload measures the SYN's data from tcp_seq although the SYN
 * itself takes that number, so the first data byte is dropped.) */
static void
test_payload_syn_data(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	struct sl_flow *f;

	mk_table(x, &p);
	f = feed(x, TCP(HA, 51000, HB, 80, F_SYN, 1000, "GET /", 5), 1).f;
	feed(x, TCP(HB, 80, HA, 51000, F_SYN | F_ACK, 5000, NULL, 0), 2);
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1006, " HTTP", 5), 3);
	check_payload(x, f, 0, "GET / HTTP", 10);
	assert_int_equal(st(x)->payload_gaps, 0);
}

/* A frame cut by the capture snaplen: capture keeps what is there, then stops. */
static void
test_payload_snapped(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	uint8_t buf[256];
	struct sl_pkt pk;
	struct sl_flow_key key;
	const struct sl_flow_key *kp = &key;
	struct rte_mbuf *m;
	uint32_t len;
	int32_t pos;
	uint32_t sig1;
	bool is_new;
	int hi;
	struct sl_flow *f;

	mk_table(x, &p);
	len = build_frame(TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 1, "0123456789abcdef", 16), buf);
	m = rte_pktmbuf_alloc(g_pool);
	assert_non_null(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)(len - 10)), buf, len - 10); /* snap 10 bytes */
	assert_int_equal(sl_pkt_parse(SL_DLT_EN10MB, rte_pktmbuf_mtod(m, const uint8_t *),
		m->data_len, m->pkt_len, len, &pk), SL_PKT_handled);
	assert_int_equal(pk.payload_len, 16);
	assert_int_equal(pk.payload_cap, 6);
	hi = sl_flow_key_make(&pk, &key);
	sl_flow_lookup_bulk(x->t, &kp, 1, &sig1, &pos);
	f = sl_flow_get(x->t, &key, sig1, pos, &pk, hi, 5, &is_new);
	assert_non_null(f);
	sl_flow_account(x->t, f, &pk, hi, m, 5);
	rte_pktmbuf_free(m);
	check_payload(x, f, 0, "012345", 6);
	assert_int_equal(f->payload[0], 16);
	assert_int_equal(f->bytes[0], len);
	assert_int_equal(st(x)->payload_gaps, 1);
	/* the next segment is not spliced on */
	feed(x, TCP(HA, 51000, HB, 80, F_ACK | F_PSH, 17, "ghij", 4), 6);
	check_payload(x, f, 0, "012345", 6);
}

/* ---- long-lived ---- */

static void
test_long_lived(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();
	unsigned int longs = 0;

	p.long_us = 50000;
	mk_table(x, &p);
	for (unsigned int k = 0; k <= 12; k++) {
		int from_init = k % 2 == 0;
		struct res r = from_init ?
			feed(x, UDP(HA, 40000, HB, 53, NULL, 0), 1000 + 10000ull * k) :
			feed(x, UDP(HB, 53, HA, 40000, NULL, 0), 1000 + 10000ull * k);

		assert_false(r.is_new && k > 0);
		assert_int_equal(r.ret & 1, from_init ? 0 : 1);
		if (r.ret & 2) {
			longs++;
			assert_int_equal(k, 5); /* now - first_us = 50000 = long_us */
			assert_true(r.f->flags & SL_FLOW_F_LONG);
		} else if (k < 5) {
			assert_false(r.f->flags & SL_FLOW_F_LONG);
		}
		assert_true(r.ret >= 0 && r.ret <= 3);
	}
	assert_int_equal(longs, 1);
	assert_int_equal(st(x)->long_lived, 1);
	/* a second flow becomes long-lived on its own, on whichever packet crosses long_us */
	{
		struct res r = feed(x, TCP(HA, 51000, HB, 80, F_SYN, 1, NULL, 0), 200000);

		assert_int_equal(r.ret, 0);
		assert_int_equal(feed(x, TCP(HB, 80, HA, 51000, F_SYN | F_ACK, 1, NULL, 0),
			201000).ret, 1);
		assert_int_equal(feed(x, TCP(HA, 51000, HB, 80, F_ACK, 2, NULL, 0), 202000).ret, 0);
		assert_int_equal(r.f->state, SL_TCP_ESTABLISHED);
		assert_int_equal(feed(x, TCP(HB, 80, HA, 51000, F_ACK, 2, NULL, 0), 249999).ret, 1);
		assert_int_equal(st(x)->long_lived, 1);
		r = feed(x, TCP(HB, 80, HA, 51000, F_ACK, 2, NULL, 0), 250000);
		assert_false(r.is_new);
		assert_int_equal(r.ret, 1 | 2);
		assert_int_equal(st(x)->long_lived, 2);
		assert_int_equal(feed(x, TCP(HA, 51000, HB, 80, F_ACK, 2, NULL, 0), 300000).ret, 0);
		assert_int_equal(st(x)->long_lived, 2);
	}
}

/* ---- counter names and create errors ---- */

static void
test_misc_api(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = default_params();

	(void)x;
	assert_int_equal(sl_flow_num_counters(), sizeof(struct sl_flow_stats) / sizeof(uint64_t));
	assert_string_equal(sl_flow_counter_name(0), "created");
	assert_string_equal(sl_flow_counter_name(sl_flow_num_counters() - 1), "long_lived");
	assert_null(sl_flow_counter_name(sl_flow_num_counters()));
	if (!sl_tmem_lazy()) /* lazily mapped arrays are not DPDK memory */
		assert_true(sl_flow_table_memsize(&p) >= 1024ull * sizeof(struct sl_flow) + 8 * 2 * 64);
	p.capacity = 0;
	rte_errno = 0;
	assert_null(sl_flow_table_create("tflow_bad", &p, (int)rte_socket_id(), NULL, NULL));
	assert_int_equal(rte_errno, EINVAL);
	sl_flow_table_free(NULL);
	/* no payload pool at all: capture is off, nothing breaks */
	p = default_params();
	p.payload_buffers = 0;
	mk_table(x, &p);
	{
		struct res r = feed(x, UDP(HA, 40000, HB, 53, "hello", 5), 1);
		uint32_t len;

		assert_non_null(r.f);
		assert_null(sl_flow_payload(x->t, r.f, 0, &len));
		assert_int_equal(len, 0);
		assert_int_equal(st(x)->payload_pool_empty, 0);
	}
	/* no callback: ends are silent */
	sl_flow_table_free(x->t);
	x->t = sl_flow_table_create("tflow_nocb", &p, (int)rte_socket_id(), NULL, NULL);
	assert_non_null(x->t);
	feed(x, UDP(HA, 40000, HB, 53, "hello", 5), 1);
	assert_int_equal(sl_flow_sweep(x->t, 1 + TO_UDP + 1, 4096), 1);
	assert_int_equal(x->ends, 0);
}

/* ---- behaviour statistics (sl_flow_beh, sl_flow_sample_fill) ---- */

#define BEH_GAP_US 50000u     /* a pause this long ends a message */
#define BEH_REPLY_US 1000000u /* a responder message this soon after the initiator's is a reply */
#define BEH_BULK 4096u        /* a message this large marks the flow bulk */
#define MS(x) ((uint64_t)(x) * 1000u)

static const uint8_t g_zero[1448];

static struct sl_flow_params
beh_params(void)
{
	struct sl_flow_params p = default_params();

	p.tcp_est_us = 600000000ull; /* long pauses: no idle expiry */
	p.long_us = 3600000000ull;
	p.beh_msg_gap_us = BEH_GAP_US;
	p.beh_reply_us = BEH_REPLY_US;
	p.beh_bulk_bytes = BEH_BULK;
	return p;
}

/** @p n payload bytes from the initiator (HA:51000 -> HB:443) or the responder at ms @p t. */
static struct res
beh_seg(struct fx *x, int from_resp, uint32_t n, uint64_t t_ms)
{
	assert_true(n <= sizeof(g_zero));
	return from_resp ? feed(x, TCP(HB, 443, HA, 51000, F_ACK | F_PSH, 1, g_zero, n), MS(t_ms)) :
			   feed(x, TCP(HA, 51000, HB, 443, F_ACK | F_PSH, 1, g_zero, n), MS(t_ms));
}

/* Segments within the gap in one direction are one message; a longer pause, or payload the
 * other way, starts a new one; pure ACKs change nothing. */
static void
test_beh_messages(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = beh_params();
	const struct sl_flow_beh *b;
	struct res r;

	mk_table(x, &p);
	r = beh_seg(x, 0, 100, 1000);
	assert_true(r.is_new);
	b = sl_flow_beh(x->t, r.f);
	assert_non_null(b);
	assert_int_equal(b->msgs[0], 1);
	beh_seg(x, 0, 100, 1010);
	beh_seg(x, 0, 100, 1040);
	beh_seg(x, 0, 100, 1040 + BEH_GAP_US / 1000); /* exactly the gap: still the same */
	assert_int_equal(b->msgs[0], 1);
	assert_int_equal(b->cur[0], 400);
	/* a pure ACK from the responder does not end it */
	feed(x, TCP(HB, 443, HA, 51000, F_ACK, 1, NULL, 0), MS(1095));
	beh_seg(x, 0, 100, 1100);
	assert_int_equal(b->msgs[0], 1);
	assert_int_equal(b->msgs[1], 0);
	assert_int_equal(b->cur[0], 500);
	/* a longer pause starts a second message */
	beh_seg(x, 0, 50, 1100 + BEH_GAP_US / 1000 + 1);
	assert_int_equal(b->msgs[0], 2);
	assert_int_equal(b->cur[0], 50);
	/* the responder answers at once: its message ends the initiator's */
	beh_seg(x, 1, 200, 1160);
	assert_int_equal(b->msgs[1], 1);
	assert_int_equal(b->cur[0], 0);
	assert_int_equal(b->cur[1], 200);
	assert_int_equal(b->unsol, 0);
	/* the initiator again, 5 ms after the answer: a new message (the other way spoke), and
	 * an answer to the responder (a pong, a receipt): never measured */
	beh_seg(x, 0, 30, 1165);
	assert_int_equal(b->msgs[0], 3);
	assert_int_equal(b->cur[1], 0);
	assert_true(b->cur[0] & SL_BEH_REPLY);
	assert_int_equal(b->cur[0] & ~SL_BEH_REPLY, 30);
	beh_seg(x, 1, 10, 1170);
	assert_int_equal(b->msgs[1], 2);
	assert_int_equal(b->cn, 0);
	/* the initiator on its own, 2 s later: the first SL_BEH_SKIP messages are not measured,
	 * this fourth one is */
	beh_seg(x, 0, 40, 3170);
	assert_int_equal(b->msgs[0], 4);
	assert_false(b->cur[0] & SL_BEH_REPLY);
	beh_seg(x, 1, 10, 3175);
	assert_int_equal(b->msgs[1], 3);
	assert_int_equal(b->cn, 1);
	assert_int_equal(b->cprev, 40);
	assert_int_equal(b->csz_sum, 40);
	assert_int_equal(b->last_dir, 1);
	assert_int_equal(b->last_ms[0], 2170); /* ms after the flow's first packet */
	assert_int_equal(b->last_ms[1], 2175);
	assert_int_equal(SL_BEH_SKIP, 2);
}

/* A responder message is unsolicited (a push) when the initiator is past its first
 * SL_BEH_SKIP messages and has sent nothing for longer than the reply window. */
static void
test_beh_unsolicited(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = beh_params();
	const struct sl_flow_beh *b;
	struct sl_flow_sample s;
	struct res r;

	mk_table(x, &p);
	/* the server speaks first (an SSH banner): not a push */
	r = beh_seg(x, 1, 41, 0);
	b = sl_flow_beh(x->t, r.f);
	assert_int_equal(b->msgs[1], 1);
	assert_int_equal(b->unsol, 0);
	beh_seg(x, 0, 33, 100);
	/* long after the initiator's first message, but still in its handshake: not a push */
	beh_seg(x, 1, 500, 5000);
	assert_int_equal(b->unsol, 0);
	beh_seg(x, 0, 80, 5100);
	assert_int_equal(b->msgs[0], 2);
	/* exactly the reply window after the initiator's last payload: a reply */
	beh_seg(x, 1, 90, 5100 + BEH_REPLY_US / 1000);
	assert_int_equal(b->unsol, 0);
	assert_false(b->cur_unsol);
	/* a new responder message 1.1 s after: a push */
	beh_seg(x, 1, 520, 6200);
	assert_int_equal(b->msgs[1], 4);
	assert_int_equal(b->unsol, 1);
	assert_true(b->cur_unsol);
	/* its continuation segments are the same push */
	beh_seg(x, 1, 20, 6210);
	assert_int_equal(b->unsol, 1);
	beh_seg(x, 1, 516, 36000);
	assert_int_equal(b->unsol, 2);
	/* a request answered within the window: a reply */
	beh_seg(x, 0, 250, 40000);
	beh_seg(x, 1, 90, 40030);
	assert_int_equal(b->unsol, 2);
	assert_int_equal(b->msgs[0], 3);
	assert_int_equal(b->msgs[1], 6);
	memset(&s, 0, sizeof(s));
	sl_flow_sample_fill(x->t, r.f, MS(40100), &s);
	assert_int_equal(s.unsol, 2);
	assert_int_equal(s.msgs[0], 3);
	assert_int_equal(s.msgs[1], 6);
	assert_int_equal(s.un, 2); /* both pushes closed */
	assert_int_equal(s.urep, 1); /* 516 after 540: the same size */
	assert_float_equal(s.usz_mean, (540.0 + 516.0) / 2, 0.01);
	assert_int_equal(s.age_ms, 40030);
	assert_int_equal(s.ts_us, MS(40100));
	assert_int_equal(s.pkts[0], 3);
	assert_int_equal(s.pkts[1], 7);
	assert_false(s.flags & SL_SAMPLE_F_BULK);
}

/** An initiator message of @p n bytes at @p t ms, closed by a quick 20-byte answer. */
static void
beh_request(struct fx *x, uint32_t n, uint64_t t_ms)
{
	beh_seg(x, 0, n, t_ms);
	beh_seg(x, 1, 20, t_ms + 30);
}

/* Repeats: the same-size rule (SL_BEH_REP_BYTES or SL_BEH_REP_64THS of the larger), counted
 * after the first SL_BEH_SKIP initiator messages; a change of size is a miss only once a
 * repeat was seen. */
static void
test_beh_repeats(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = beh_params();
	const struct sl_flow_beh *b;
	struct sl_flow_sample s;
	struct res r;
	const uint32_t a = 200, same_b = a + SL_BEH_REP_BYTES;
	/* the largest difference still "the same" above @p base: d * 64 <= (base + d) * R */
	const uint32_t big = 1000;
	const uint32_t same_64 = big + big * SL_BEH_REP_64THS / (64 - SL_BEH_REP_64THS);
	const uint32_t not_64 = same_64 + same_64 * SL_BEH_REP_64THS / (64 - SL_BEH_REP_64THS) + 1;
	double sum = 0, sq = 0, m;
	const uint32_t sizes[] = {a, same_b, 2 * same_b + 100, big, same_64, not_64};

	mk_table(x, &p);
	r = beh_seg(x, 0, 517, 0); /* ClientHello */
	b = sl_flow_beh(x->t, r.f);
	beh_seg(x, 1, 1400, 30);
	beh_request(x, 400, 100); /* login */
	assert_int_equal(b->msgs[0], 2);
	assert_int_equal(b->cn, 0);
	beh_request(x, a, 2000);
	assert_int_equal(b->cn, 1);
	assert_int_equal(b->crep, 0);
	beh_request(x, same_b, 4000); /* within SL_BEH_REP_BYTES */
	assert_int_equal(b->crep, 1);
	assert_int_equal(b->cmiss, 0);
	beh_request(x, 2 * same_b + 100, 6000); /* different: a miss (a repeat was seen) */
	assert_int_equal(b->crep, 1);
	assert_int_equal(b->cmiss, 1);
	beh_request(x, big, 8000);
	assert_int_equal(b->cmiss, 2);
	beh_request(x, same_64, 10000); /* within SL_BEH_REP_64THS of the larger */
	assert_int_equal(b->crep, 2);
	beh_request(x, not_64, 12000); /* just over it */
	assert_int_equal(b->crep, 2);
	assert_int_equal(b->cmiss, 3);
	assert_int_equal(b->cn, 6);
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(sizes); i++) {
		sum += sizes[i];
		sq += (double)sizes[i] * sizes[i];
	}
	m = sum / 6;
	memset(&s, 0, sizeof(s));
	sl_flow_sample_fill(x->t, r.f, MS(12100), &s);
	assert_int_equal(s.cn, 6);
	assert_int_equal(s.crep, 2);
	assert_int_equal(s.cmiss, 3);
	assert_float_equal(s.csz_mean, m, 0.01);
	assert_float_equal(s.csz_cv, sqrt(sq / 6 - m * m) / m, 0.001);
	assert_int_equal(s.unsol, 0);
	assert_int_equal(s.un, 0);
	assert_float_equal(s.usz_mean, 0, 0);
	/* message timing: gaps between measured initiator messages, regular here */
	assert_float_equal(s.gap_cv, 0, 0.01);
	/* a miss before any repeat is not counted */
	mk_table(x, &p);
	r = beh_seg(x, 0, 517, 0);
	b = sl_flow_beh(x->t, r.f);
	beh_seg(x, 1, 1400, 30);
	beh_request(x, 400, 100);
	beh_request(x, 300, 2000);
	beh_request(x, 900, 4000);
	assert_int_equal(b->cn, 2);
	assert_int_equal(b->crep, 0);
	assert_int_equal(b->cmiss, 0);
}

/* A message that reaches beh_bulk_bytes marks the flow bulk; nothing is tracked after. */
/* A one-byte segment is a TCP keepalive probe (one old byte): not a message, no timing. */
static void
test_beh_keepalive_byte(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = beh_params();
	const struct sl_flow_beh *b;
	struct res r;

	mk_table(x, &p);
	r = beh_seg(x, 0, 300, 0);
	b = sl_flow_beh(x->t, r.f);
	beh_seg(x, 1, 200, 30);
	assert_int_equal(b->msgs[0], 1);
	beh_seg(x, 0, 1, 45000);
	beh_seg(x, 0, 1, 90000);
	assert_int_equal(b->msgs[0], 1);
	assert_int_equal(b->msgs[1], 1);
	beh_seg(x, 0, 2, 135000); /* two bytes are a message */
	assert_int_equal(b->msgs[0], 2);
}

static void
test_beh_bulk(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = beh_params();
	const struct sl_flow_beh *b;
	struct sl_flow_beh before;
	struct sl_flow_sample s;
	struct res r;

	mk_table(x, &p);
	r = beh_seg(x, 0, 300, 0);
	b = sl_flow_beh(x->t, r.f);
	beh_seg(x, 1, 1400, 30);
	beh_seg(x, 1, 1400, 31);
	assert_false(r.f->bflags & SL_FLOW_B_BULK);
	beh_seg(x, 1, BEH_BULK - 2800 - 2, 32); /* two bytes short */
	assert_false(r.f->bflags & SL_FLOW_B_BULK);
	assert_int_equal(b->cur[1], BEH_BULK - 2);
	beh_seg(x, 1, 2, 33);
	assert_true(r.f->bflags & SL_FLOW_B_BULK);
	assert_int_equal(b->cur[1], BEH_BULK);
	before = *b;
	beh_seg(x, 0, 100, 2000);
	beh_seg(x, 1, 1400, 2100);
	beh_seg(x, 1, 700, 9000);
	assert_memory_equal(&before, b, sizeof(before));
	assert_int_equal(r.f->pkts[1], 6); /* the flow itself still counts */
	memset(&s, 0, sizeof(s));
	sl_flow_sample_fill(x->t, r.f, MS(9000), &s);
	assert_true(s.flags & SL_SAMPLE_F_BULK);
	assert_int_equal(s.msgs[0], 1);
	assert_int_equal(s.msgs[1], 1);
}

/* No statistics for UDP, none at all with tracking off; the array is in the memory size. */
static void
test_beh_off_udp_memsize(void **state)
{
	struct fx *x = *state;
	struct sl_flow_params p = beh_params();
	struct sl_flow_params off = beh_params();
	struct sl_flow_sample s;
	struct res r;

	off.beh_msg_gap_us = 0;
	assert_int_equal(sl_flow_table_memsize(&p) - sl_flow_table_memsize(&off),
		sl_tmem_lazy() ? 0 : (uint64_t)p.capacity * sizeof(struct sl_flow_beh));
	assert_int_equal(sizeof(struct sl_flow_beh), 64);
	mk_table(x, &p);
	r = feed(x, UDP(HA, 40000, HB, 53, "hello", 5), 1);
	assert_null(sl_flow_beh(x->t, r.f));
	r = beh_seg(x, 0, 100, 1);
	assert_non_null(sl_flow_beh(x->t, r.f));
	sl_flow_table_free(x->t);
	x->t = NULL;
	mk_table(x, &off);
	r = beh_seg(x, 0, 100, 1);
	beh_seg(x, 1, 100, 2);
	beh_seg(x, 0, 100, 3000);
	assert_null(sl_flow_beh(x->t, r.f));
	memset(&s, 0xff, sizeof(s));
	s.flags = 0;
	sl_flow_sample_fill(x->t, r.f, MS(3000), &s);
	assert_int_equal(s.msgs[0], 0);
	assert_int_equal(s.msgs[1], 0);
	assert_int_equal(s.unsol, 0);
	assert_int_equal(s.cn, 0);
	assert_int_equal(s.crep, 0);
	assert_float_equal(s.csz_mean, 0, 0);
	assert_int_equal(s.pkts[0], 2);
	assert_int_equal(s.age_ms, 2999);
	assert_false(s.flags & SL_SAMPLE_F_BULK);
	/* a new flow in a reused slot starts with clean statistics */
	sl_flow_table_free(x->t);
	x->t = NULL;
	mk_table(x, &p);
	r = beh_seg(x, 0, 100, 1);
	beh_seg(x, 1, 100, 2);
	assert_int_equal(sl_flow_sweep(x->t, MS(1000000), 4096), 1);
	r = beh_seg(x, 0, 70, MS(1000) + 5);
	assert_true(r.is_new);
	assert_int_equal(sl_flow_beh(x->t, r.f)->msgs[0], 1);
	assert_int_equal(sl_flow_beh(x->t, r.f)->msgs[1], 0);
	assert_int_equal(sl_flow_beh(x->t, r.f)->cur[0], 70);
}

/* Table memory: DPDK's (zeroed, freed), and lazily mapped (zero on first touch, a size far
 * beyond what EAL was given costs nothing until touched). */
static void
test_tmem(void **state)
{
	bool was = sl_tmem_lazy();
	uint8_t *p;

	(void)state;
	sl_tmem_set_lazy(false);
	p = sl_tmem_zalloc("ttmem", 4096, (int)rte_socket_id());
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % RTE_CACHE_LINE_SIZE, 0);
	for (unsigned int i = 0; i < 4096; i++)
		assert_int_equal(p[i], 0);
	memset(p, 0xa5, 4096);
	sl_tmem_free(p);
	sl_tmem_free(NULL);
	sl_tmem_set_lazy(true);
	p = sl_tmem_zalloc("ttmem", 8ull << 30, (int)rte_socket_id()); /* 8 GiB, EAL has 256 MB */
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % (2u << 20), 0);
	assert_int_equal(p[0], 0);
	assert_int_equal(p[(8ull << 30) - 1], 0);
	p[(4ull << 30) + 7] = 1;
	assert_int_equal(p[(4ull << 30) + 7], 1);
	sl_tmem_free(p);
	p = sl_tmem_zalloc("ttmem", 0, (int)rte_socket_id());
	assert_non_null(p);
	sl_tmem_free(p);
	assert_null(sl_tmem_zalloc("ttmem", SIZE_MAX - 16, (int)rte_socket_id()));
	assert_int_equal(rte_errno, ENOMEM);
	sl_tmem_set_lazy(was);
}

/* ---- EAL ---- */

static int
group_setup(void **state)
{
	(void)state;
	if (sl_test_eal_init("flow") < 0)
		return -1;
	g_pool = rte_pktmbuf_pool_create("tflow_mb", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
		(int)rte_socket_id());
	if (g_pool == NULL) {
		fprintf(stderr, "mbuf pool: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

/* The same tests again with the tables in lazily mapped memory (offline's). */
static int
lazy_setup(void **state)
{
	(void)state;
	sl_tmem_set_lazy(true);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	rte_mempool_free(g_pool);
	rte_eal_cleanup();
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_key_direction_independent),
		T(test_create_and_account),
		T(test_same_burst_creation),
		T(test_initiator_rules),
		T(test_tcp_states),
		T(test_lazy_expiry),
		T(test_timeouts_by_state),
		T(test_sweep_budget),
		T(test_flush),
		T(test_table_full),
		T(test_payload_tcp_in_order),
		T(test_payload_tcp_overlap),
		T(test_payload_tcp_gap),
		T(test_payload_tcp_reorder),
		T(test_payload_tcp_midstream_and_limit),
		T(test_payload_udp),
		T(test_payload_pool),
		T(test_payload_chained_mbuf),
		T(test_payload_syn_data),
		T(test_payload_snapped),
		T(test_long_lived),
		T(test_misc_api),
		T(test_beh_messages),
		T(test_beh_unsolicited),
		T(test_beh_repeats),
		T(test_beh_keepalive_byte),
		T(test_beh_bulk),
		T(test_beh_off_udp_memsize),
		cmocka_unit_test(test_tmem),
	};
	int rc = cmocka_run_group_tests_name("flow (DPDK memory)", tests, group_setup, NULL);

	return rc + cmocka_run_group_tests_name("flow (lazily mapped memory)", tests, lazy_setup,
		group_teardown);
}
