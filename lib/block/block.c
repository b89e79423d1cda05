/* block.c: block rules, safety checks, the NIC and soft backends (see sl_block.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_flow.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "sl_block.h"
#include "sl_common.h"
#include "sl_score.h"

SL_DEFINE_COUNTER_NAMES(SL_BLOCK_COUNTERS, sl_block_num_counters, sl_block_counter_name)

#define SL_X_NAME2_(name, help) #name,
static const char *const backend_names[] = {SL_BLOCK_BACKENDS(SL_X_NAME2_)};
static const char *const refusal_names[] = {SL_BLOCK_REFUSALS(SL_X_NAME2_)};
#undef SL_X_NAME2_

const char *
sl_block_backend_name(unsigned int b)
{
	return b < SL_ARRAY_SIZE(backend_names) ? backend_names[b] : NULL;
}

_Static_assert(SL_BR_MAX == 8, "sl_block_refusal_counter() names every refusal");

uint64_t *
sl_block_refusal_counter(struct sl_block_stats *st, unsigned int r)
{
	switch (r) {
	case SL_BR_allowlisted: return &st->refused_allowlisted;
	case SL_BR_cap_active: return &st->refused_cap_active;
	case SL_BR_cap_rate: return &st->refused_cap_rate;
	case SL_BR_exists: return &st->refused_exists;
	case SL_BR_bad_request: return &st->refused_bad_request;
	case SL_BR_bad_target: return &st->refused_bad_target;
	case SL_BR_nic: return &st->refused_nic;
	case SL_BR_bgp_cap: return &st->refused_bgp_cap;
	default: return NULL;
	}
}

const char *
sl_block_refusal_name(unsigned int r)
{
	return r < SL_ARRAY_SIZE(refusal_names) ? refusal_names[r] : NULL;
}

/* ---------------------------------------------------------------- soft table (workers) */

#define EMPTY_SCOPE 0xff

struct sl_softbl {
	uint32_t gen;
	uint32_t mask;           /* slots - 1 (a power of two, at least twice the keys) */
	uint32_t n;
	uint8_t quarantine;      /* a quarantine key is present */
	struct sl_cidr_set allow;
	struct sl_block_key slot[]; /* scope EMPTY_SCOPE = free */
};

static inline uint32_t
key_hash(const struct sl_block_key *k)
{
	return rte_hash_crc(k, sizeof(*k), 0x5b10c);
}

static bool
soft_has(const struct sl_softbl *t, const struct sl_block_key *k)
{
	for (uint32_t i = key_hash(k) & t->mask;; i = (i + 1) & t->mask) {
		const struct sl_block_key *s = &t->slot[i];

		if (s->scope == EMPTY_SCOPE)
			return false;
		if (memcmp(s, k, sizeof(*k)) == 0)
			return true;
	}
}

bool
sl_softbl_match(const struct sl_softbl *t, const uint8_t src[16], const uint8_t dst[16],
	uint16_t dport, uint8_t proto)
{
	struct sl_block_key k;

	if (t == NULL || t->n == 0)
		return false;
	memset(&k, 0, sizeof(k));
	memcpy(k.host, src, 16);
	memcpy(k.peer, dst, 16);
	k.dport = dport;
	k.proto = proto;
	k.scope = SL_SCOPE_POOL;
	if (soft_has(t, &k))
		return true;
	if (!t->quarantine || sl_cidr_set_match(&t->allow, dst))
		return false;
	memset(k.peer, 0, 16);
	k.dport = 0;
	k.proto = 0;
	k.scope = SL_SCOPE_QUARANTINE;
	return soft_has(t, &k);
}

uint32_t
sl_softbl_gen(const struct sl_softbl *t)
{
	return t != NULL ? t->gen : 0;
}

/* ---------------------------------------------------------------- rte_flow backend */

static bool
is_v4(const uint8_t a[16])
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, pfx, 12) == 0;
}

struct flow_spec {
	struct rte_flow_attr attr;
	struct rte_flow_item item[4];
	struct rte_flow_item_ipv4 v4, v4m;
	struct rte_flow_item_ipv6 v6, v6m;
	struct rte_flow_item_tcp tcp, tcpm;
	struct rte_flow_item_udp udp, udpm;
	struct rte_flow_action act[3];
	struct rte_flow_action_count count;
};

/* eth / ipv4|ipv6 (src = host[, dst = peer]) [/ tcp|udp dst = port], then COUNT? DROP. */
static void
flow_build(struct flow_spec *s, const struct sl_block_key *k, bool with_count)
{
	unsigned int n = 0, a = 0;
	bool v4 = is_v4(k->host);

	memset(s, 0, sizeof(*s));
	s->attr.ingress = 1;
	s->item[n++].type = RTE_FLOW_ITEM_TYPE_ETH;
	if (v4) {
		memcpy(&s->v4.hdr.src_addr, k->host + 12, 4);
		s->v4m.hdr.src_addr = UINT32_MAX;
		if (k->scope == SL_SCOPE_POOL) {
			memcpy(&s->v4.hdr.dst_addr, k->peer + 12, 4);
			s->v4m.hdr.dst_addr = UINT32_MAX;
		}
		s->item[n].type = RTE_FLOW_ITEM_TYPE_IPV4;
		s->item[n].spec = &s->v4;
		s->item[n++].mask = &s->v4m;
	} else {
		memcpy(s->v6.hdr.src_addr, k->host, 16);
		memset(s->v6m.hdr.src_addr, 0xff, 16);
		if (k->scope == SL_SCOPE_POOL) {
			memcpy(s->v6.hdr.dst_addr, k->peer, 16);
			memset(s->v6m.hdr.dst_addr, 0xff, 16);
		}
		s->item[n].type = RTE_FLOW_ITEM_TYPE_IPV6;
		s->item[n].spec = &s->v6;
		s->item[n++].mask = &s->v6m;
	}
	if (k->scope == SL_SCOPE_POOL && k->proto == 6) {
		s->tcp.hdr.dst_port = rte_cpu_to_be_16(k->dport);
		s->tcpm.hdr.dst_port = UINT16_MAX;
		s->item[n].type = RTE_FLOW_ITEM_TYPE_TCP;
		s->item[n].spec = &s->tcp;
		s->item[n++].mask = &s->tcpm;
	} else if (k->scope == SL_SCOPE_POOL && k->proto == 17) {
		s->udp.hdr.dst_port = rte_cpu_to_be_16(k->dport);
		s->udpm.hdr.dst_port = UINT16_MAX;
		s->item[n].type = RTE_FLOW_ITEM_TYPE_UDP;
		s->item[n].spec = &s->udp;
		s->item[n++].mask = &s->udpm;
	}
	s->item[n].type = RTE_FLOW_ITEM_TYPE_END;
	if (with_count) {
		s->act[a].type = RTE_FLOW_ACTION_TYPE_COUNT;
		s->act[a++].conf = &s->count;
	}
	s->act[a++].type = RTE_FLOW_ACTION_TYPE_DROP;
	s->act[a].type = RTE_FLOW_ACTION_TYPE_END;
}

static void
flow_err(const struct rte_flow_error *fe, int rc, char *err, size_t errlen)
{
	const char *why = rte_strerror(-rc);

	if (fe->message != NULL && strcmp(fe->message, why) != 0)
		snprintf(err, errlen, "%s (%s)", fe->message, why);
	else
		snprintf(err, errlen, "%s", why);
}

static int
rf_validate(void *arg, uint16_t port, const struct sl_block_key *k, char *err, size_t errlen)
{
	struct flow_spec s;
	struct rte_flow_error fe;
	int rc;

	RTE_SET_USED(arg);
	for (int count = 1; count >= 0; count--) {
		memset(&fe, 0, sizeof(fe));
		flow_build(&s, k, count);
		rc = rte_flow_validate(port, &s.attr, s.item, s.act, &fe);
		if (rc == 0)
			return 0;
	}
	flow_err(&fe, rc, err, errlen);
	return rc;
}

static void *
rf_create(void *arg, uint16_t port, const struct sl_block_key *k, int *rc, char *err,
	size_t errlen)
{
	struct flow_spec s;
	struct rte_flow_error fe;
	struct rte_flow *f = NULL;

	RTE_SET_USED(arg);
	for (int count = 1; count >= 0 && f == NULL; count--) {
		memset(&fe, 0, sizeof(fe));
		flow_build(&s, k, count);
		f = rte_flow_create(port, &s.attr, s.item, s.act, &fe);
	}
	if (f == NULL) {
		*rc = -(rte_errno != 0 ? rte_errno : EIO);
		flow_err(&fe, *rc, err, errlen);
	}
	return f;
}

static int
rf_destroy(void *arg, uint16_t port, void *flow)
{
	struct rte_flow_error fe;

	RTE_SET_USED(arg);
	return rte_flow_destroy(port, flow, &fe);
}

static int
rf_query(void *arg, uint16_t port, void *flow, uint64_t *pkts, uint64_t *bytes)
{
	struct rte_flow_query_count q;
	struct rte_flow_action act = {.type = RTE_FLOW_ACTION_TYPE_COUNT};
	struct rte_flow_error fe;
	int rc;

	RTE_SET_USED(arg);
	memset(&q, 0, sizeof(q));
	rc = rte_flow_query(port, flow, &act, &q, &fe);
	if (rc != 0)
		return rc;
	*pkts = q.hits_set ? q.hits : 0;
	*bytes = q.bytes_set ? q.bytes : 0;
	return 0;
}

static const struct sl_block_nic_ops rte_flow_ops = {
	.validate = rf_validate,
	.create = rf_create,
	.destroy = rf_destroy,
	.query = rf_query,
};

const struct sl_block_nic_ops *
sl_block_rte_flow_ops(void)
{
	return &rte_flow_ops;
}

/* ---------------------------------------------------------------- params */

int
sl_block_params_from_cfg(const struct sl_cfg *c, struct sl_block_params *p, char *err,
	size_t errlen)
{
	memset(p, 0, sizeof(*p));
	if (strcmp(c->mode, "monitor") == 0)
		p->mode = SL_MODE_MONITOR;
	else if (strcmp(c->mode, "inline") == 0)
		p->mode = SL_MODE_INLINE;
	else if (strcmp(c->mode, "dry_run") == 0)
		p->mode = SL_MODE_DRY_RUN;
	else
		return snprintf(err, errlen, "mode: '%s' is not monitor, inline or dry_run", c->mode),
		       -EINVAL;
	if (strcmp(c->block_scope, "pool") == 0)
		p->scope = SL_SCOPE_POOL;
	else if (strcmp(c->block_scope, "quarantine") == 0)
		p->scope = SL_SCOPE_QUARANTINE;
	else
		return snprintf(err, errlen, "block_scope: '%s' is not pool or quarantine",
			       c->block_scope), -EINVAL;
	{ /* one of auto, nic, soft, and/or bgp: "auto", "auto bgp", "nic,bgp", "bgp" */
		char buf[SL_CFG_PATH_MAX], *save = NULL;
		unsigned int local = 0;

		snprintf(buf, sizeof(buf), "%s", c->block_backend);
		for (char *t = strtok_r(buf, ", \t", &save); t != NULL;
		     t = strtok_r(NULL, ", \t", &save)) {
			if (strcmp(t, "auto") == 0)
				p->nic = p->soft = true, local++;
			else if (strcmp(t, "nic") == 0)
				p->nic = true, local++;
			else if (strcmp(t, "soft") == 0)
				p->soft = true, local++;
			else if (strcmp(t, "bgp") == 0 && !p->bgp)
				p->bgp = true;
			else
				local = 99;
		}
		if (local > 1 || (local == 0 && !p->bgp))
			return snprintf(err, errlen, "block_backend: '%s' is not auto, nic or soft, "
					       "with or without bgp, or bgp alone", c->block_backend),
			       -EINVAL;
	}
	if (p->bgp) {
		struct sl_bgp_params bp;
		int rc = sl_bgp_params_from_cfg(c, &bp, err, errlen);

		if (rc < 0)
			return rc;
		p->bgp_mode = bp.mode;
	}
	if (sl_cidr_set_parse(&p->allow, c->block_allowlist, err, errlen) < 0) {
		char tmp[256];

		snprintf(tmp, sizeof(tmp), "block_allowlist: %s", err);
		snprintf(err, errlen, "%s", tmp);
		return -EINVAL;
	}
	if (c->block_ttl_max_s < c->block_ttl_s)
		return snprintf(err, errlen, "block_ttl_max_s (%" PRIu64 ") is below block_ttl_s (%"
			       PRIu64 ")", c->block_ttl_max_s, c->block_ttl_s), -EINVAL;
	p->max_active = (uint32_t)c->block_max_active;
	p->max_per_minute = (uint32_t)c->block_max_per_minute;
	p->ttl_us = c->block_ttl_s * 1000000;
	p->ttl_max_us = c->block_ttl_max_s * 1000000;
	p->quiet_us = c->block_quiet_s * 1000000;
	return 0;
}

/* ---------------------------------------------------------------- control side */

#define OFFENDERS 4096 /* hosts whose past blocks are remembered (escalation) */

struct offender {
	uint8_t host[16];
	uint32_t offences;
	uint64_t last_us;
};

struct sl_block {
	struct sl_block_params p;
	const struct sl_block_nic_ops *ops;
	uint16_t ports[SL_BLOCK_MAX_PORTS];
	unsigned int nports;
	sl_block_note_fn fn;
	void *arg;
	struct sl_block_rule *rules; /* max_active */
	uint32_t nrules;
	uint64_t *recent;            /* creation times, a ring of max_per_minute */
	uint32_t recent_pos;
	struct offender *off;
	uint32_t noff;
	struct sl_softbl *cur;       /* published (workers read it) */
	struct sl_softbl *old;       /* retired, freed once every worker moved on */
	uint64_t token;
	bool dirty;                  /* the soft rules changed since the last publication */
	uint32_t gen;
	struct rte_rcu_qsbr *qs;
	int socket;
	struct sl_bgp *bgp;          /* NULL: no announcements */
	struct sl_block_stats st;
};

void
sl_block_set_bgp(struct sl_block *b, struct sl_bgp *g)
{
	b->bgp = g;
}

struct sl_bgp *
sl_block_bgp(const struct sl_block *b)
{
	return b->bgp;
}

int
sl_block_rule_bgp_state(const struct sl_block *b, const struct sl_block_rule *r)
{
	int worst = SL_BGP_RS_ANNOUNCED;

	if (b->bgp == NULL || !(r->backends & (1u << SL_BB_bgp)))
		return -1;
	for (uint32_t i = 0; i < r->nroutes; i++)
		worst = SL_MAX(worst, sl_bgp_route_state(b->bgp, r->route[i]));
	return worst;
}

/* The routes of rule @p r: FlowSpec, pool scope: discard from the host to the pool address,
 * protocol and port; quarantine: an accept per allowlisted range of the host's family (more
 * specific, so it wins: RFC 8955 5.1) and a discard of everything from the host. RTBH: the
 * pool's address (quarantine: the host's) with the blackhole community. All or none.
 * @return 0 or -ENOSPC (the route cap, or more allowlist ranges than a rule holds). */
static int
bgp_announce(struct sl_block *b, struct sl_block_rule *r, uint64_t now)
{
	struct sl_bgp_route rt[SL_BLOCK_ROUTES];
	uint32_t n = 0;
	bool v4 = is_v4(r->key.host);

	memset(rt, 0, sizeof(rt));
	if (b->p.bgp_mode == SL_BGP_RTBH) {
		memcpy(rt[0].dst, r->key.scope == SL_SCOPE_POOL ? r->key.peer : r->key.host, 16);
		rt[0].dst_plen = 128;
		rt[0].kind = SL_BGP_blackhole;
		n = 1;
	} else {
		if (r->key.scope == SL_SCOPE_QUARANTINE) {
			for (uint32_t i = 0; i < b->p.allow.n; i++) {
				const struct sl_cidr *c = &b->p.allow.cidr[i];

				if (is_v4(c->addr) != v4 || (v4 && c->plen < 96))
					continue;
				if (n == SL_BLOCK_ROUTES - 1)
					return -ENOSPC;
				memcpy(rt[n].src, r->key.host, 16);
				memcpy(rt[n].dst, c->addr, 16);
				rt[n].dst_plen = c->plen;
				rt[n].kind = SL_BGP_accept;
				n++;
			}
		}
		memcpy(rt[n].src, r->key.host, 16);
		rt[n].kind = SL_BGP_discard;
		if (r->key.scope == SL_SCOPE_POOL) {
			memcpy(rt[n].dst, r->key.peer, 16);
			rt[n].dst_plen = 128;
			rt[n].proto = r->key.proto;
			rt[n].dport = r->key.dport;
		}
		n++;
	}
	{ /* all or none: routes already announced (RTBH of a shared pool) take no room */
		uint32_t fresh = 0;

		for (uint32_t i = 0; i < n; i++)
			fresh += !sl_bgp_known(b->bgp, &rt[i]);
		if (sl_bgp_room(b->bgp) < fresh)
			return -ENOSPC;
	}
	for (uint32_t i = 0; i < n; i++)
		if (sl_bgp_add(b->bgp, &rt[i], &r->route[i], now) < 0) {
			while (i-- > 0)
				sl_bgp_del(b->bgp, r->route[i], now);
			return -ENOSPC;
		}
	r->nroutes = n;
	r->backends |= 1u << SL_BB_bgp;
	return 0;
}

static void
note(struct sl_block *b, int type, uint64_t now, const struct sl_block_rule *r, int refusal,
	const char *text)
{
	struct sl_block_note n = {.type = type, .ts_us = now, .r = r, .refusal = refusal,
		.text = text};

	if (b->fn != NULL)
		b->fn(b->arg, &n);
}

/* Build and publish the soft table from the active soft rules (non-blocking: if the last
 * retired table is still in use, the change waits for the next tick). */
static void
publish(struct sl_block *b)
{
	uint32_t n = 0, slots = 16;
	struct sl_softbl *t;

	if (b->old != NULL) {
		if (rte_rcu_qsbr_check(b->qs, b->token, false) != 1) {
			b->st.publish_deferred++;
			return;
		}
		rte_free(b->old);
		b->old = NULL;
	}
	for (uint32_t i = 0; i < b->nrules; i++)
		n += b->rules[i].backend == SL_BB_soft;
	while (slots < 2 * n)
		slots <<= 1;
	t = rte_zmalloc_socket("sl_softbl", sizeof(*t) + slots * sizeof(struct sl_block_key),
		RTE_CACHE_LINE_SIZE, b->socket);
	if (t == NULL) {
		b->st.publish_deferred++;
		return;
	}
	/* workers keep the low byte of the generation a flow was checked against, and a new flow
	 * holds 0: skip generations whose low byte is 0, so a new flow is always checked */
	t->gen = ++b->gen;
	if ((uint8_t)t->gen == 0)
		t->gen = ++b->gen;
	t->mask = slots - 1;
	t->allow = b->p.allow;
	for (uint32_t i = 0; i < slots; i++)
		t->slot[i].scope = EMPTY_SCOPE;
	for (uint32_t i = 0; i < b->nrules; i++) {
		const struct sl_block_key *k = &b->rules[i].key;
		uint32_t s;

		if (b->rules[i].backend != SL_BB_soft)
			continue;
		for (s = key_hash(k) & t->mask; t->slot[s].scope != EMPTY_SCOPE; s = (s + 1) & t->mask)
			;
		t->slot[s] = *k;
		t->n++;
		t->quarantine |= k->scope == SL_SCOPE_QUARANTINE;
	}
	b->old = b->cur;
	SL_STORE_RELEASE(&b->cur, t); /* RELEASE: the table is complete before workers see it */
	b->token = rte_rcu_qsbr_start(b->qs);
	b->dirty = false;
	b->st.publications++;
}

struct sl_block *
sl_block_create(const struct sl_block_params *p, const uint16_t *ports, unsigned int nports,
	const struct sl_block_nic_ops *ops, sl_block_note_fn fn, void *arg, int socket)
{
	struct sl_block *b;
	uint32_t nw = p->nworkers > 0 ? p->nworkers : 1;
	size_t qsz = rte_rcu_qsbr_get_memsize(nw);

	if (p->max_active == 0 || p->max_per_minute == 0 || nports > SL_BLOCK_MAX_PORTS) {
		rte_errno = EINVAL;
		return NULL;
	}
	b = rte_zmalloc_socket("sl_block", sizeof(*b), RTE_CACHE_LINE_SIZE, socket);
	if (b == NULL)
		goto err_nomem;
	b->p = *p;
	b->ops = ops != NULL ? ops : &rte_flow_ops;
	b->nports = nports;
	if (nports > 0) /* ports may be NULL (set later): memcpy(dst, NULL, 0) is undefined */
		memcpy(b->ports, ports, nports * sizeof(*ports));
	b->fn = fn;
	b->arg = arg;
	b->socket = socket;
	b->rules = rte_zmalloc_socket("sl_block_rules", p->max_active * sizeof(*b->rules), 0,
		socket);
	b->recent = rte_zmalloc_socket("sl_block_recent", p->max_per_minute * sizeof(uint64_t), 0,
		socket);
	b->off = rte_zmalloc_socket("sl_block_off", OFFENDERS * sizeof(*b->off), 0, socket);
	b->qs = rte_zmalloc_socket("sl_block_qs", qsz, RTE_CACHE_LINE_SIZE, socket);
	if (b->rules == NULL || b->recent == NULL || b->off == NULL || b->qs == NULL ||
	    rte_rcu_qsbr_init(b->qs, nw) != 0)
		goto err_free;
	for (uint32_t w = 0; w < nw; w++)
		rte_rcu_qsbr_thread_register(b->qs, w);
	publish(b); /* an empty table, so workers always have one */
	if (b->cur == NULL)
		goto err_free;
	return b;

err_free:
	rte_free(b->qs);
	rte_free(b->off);
	rte_free(b->recent);
	rte_free(b->rules);
	rte_free(b);
err_nomem:
	rte_errno = ENOMEM;
	return NULL;
}

int
sl_block_set_ports(struct sl_block *b, const uint16_t *ports, unsigned int nports)
{
	if (nports > SL_BLOCK_MAX_PORTS)
		return -EINVAL;
	if (nports > 0)
		memcpy(b->ports, ports, nports * sizeof(*ports));
	b->nports = nports;
	return 0;
}

unsigned int
sl_block_reinstall(struct sl_block *b, uint16_t port, uint64_t now_us)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i < b->nrules; i++) {
		struct sl_block_rule *r = &b->rules[i];
		int rc = 0;

		if (r->backend != SL_BB_nic)
			continue;
		for (unsigned int k = 0; k < r->nports; k++) {
			char why[64] = "";

			if (r->port[k] != port)
				continue;
			if (r->flow[k] != NULL)
				b->ops->destroy(b->ops->arg, port, r->flow[k]);
			r->flow[k] = b->ops->create(b->ops->arg, port, &r->key, &rc, why, sizeof(why));
			if (r->flow[k] != NULL) {
				n++;
				b->st.reinstalled++;
				continue;
			}
			/* the NIC no longer takes it: the soft blocklist holds the whole rule */
			snprintf(r->nic_error, sizeof(r->nic_error), "port %u re-create: %.60s", port,
				why);
			for (unsigned int j = 0; j < r->nports; j++)
				if (r->flow[j] != NULL) {
					b->ops->destroy(b->ops->arg, r->port[j], r->flow[j]);
					r->flow[j] = NULL;
				}
			r->nports = 0;
			r->backend = SL_BB_soft;
			r->backends = (uint8_t)((r->backends & ~(1u << SL_BB_nic)) | (1u << SL_BB_soft));
			b->dirty = true;
			b->st.reinstall_failed++;
			note(b, SL_BNOTE_BLOCK, now_us, r, 0, NULL); /* the rule, now soft */
			break;
		}
	}
	if (b->dirty)
		publish(b);
	return n;
}

/* Remove rule @p i (NIC rules destroyed), reporting @p why. */
static void
rule_remove(struct sl_block *b, uint32_t i, uint64_t now, const char *why)
{
	struct sl_block_rule *r = &b->rules[i];

	for (unsigned int k = 0; k < r->nports; k++) {
		uint64_t pk, by;

		if (r->flow[k] == NULL)
			continue;
		if (b->ops->query(b->ops->arg, r->port[k], r->flow[k], &pk, &by) == 0) {
			r->pkts = SL_MAX(r->pkts, pk);
			r->bytes = SL_MAX(r->bytes, by);
		}
		b->ops->destroy(b->ops->arg, r->port[k], r->flow[k]);
		r->flow[k] = NULL;
	}
	if (r->backend == SL_BB_soft)
		b->dirty = true;
	if (b->bgp != NULL && (r->backends & (1u << SL_BB_bgp))) /* withdrawn by the thread */
		for (uint32_t k = 0; k < r->nroutes; k++)
			sl_bgp_del(b->bgp, r->route[k], now);
	note(b, SL_BNOTE_UNBLOCK, now, r, 0, why);
	b->rules[i] = b->rules[--b->nrules];
}

void
sl_block_free(struct sl_block *b, uint64_t now_us)
{
	if (b == NULL)
		return;
	while (b->nrules > 0) {
		b->st.removed_at_exit++;
		rule_remove(b, b->nrules - 1, now_us, "exit");
	}
	rte_free(b->old);
	rte_free(b->cur);
	rte_free(b->qs);
	rte_free(b->off);
	rte_free(b->recent);
	rte_free(b->rules);
	rte_free(b);
}

static struct offender *
offender(struct sl_block *b, const uint8_t host[16], uint64_t now)
{
	uint32_t oldest = 0;

	for (uint32_t i = 0; i < b->noff; i++) {
		if (memcmp(b->off[i].host, host, 16) == 0)
			return &b->off[i];
		if (b->off[i].last_us < b->off[oldest].last_us)
			oldest = i;
	}
	if (b->noff < OFFENDERS)
		oldest = b->noff++;
	memset(&b->off[oldest], 0, sizeof(b->off[oldest]));
	memcpy(b->off[oldest].host, host, 16);
	b->off[oldest].last_us = now;
	return &b->off[oldest];
}

/* Install @p r in the NIC on every port: all or nothing. @return 0 or -errno. */
static int
nic_install(struct sl_block *b, struct sl_block_rule *r)
{
	int rc = -ENOTSUP;

	if (b->nports == 0) {
		snprintf(r->nic_error, sizeof(r->nic_error), "no port to install on");
		return -ENODEV;
	}
	for (unsigned int k = 0; k < b->nports; k++) {
		char why[64] = "";
		const char *stage = "validate";

		rc = b->ops->validate(b->ops->arg, b->ports[k], &r->key, why, sizeof(why));
		if (rc == 0) {
			stage = "create";
			r->flow[k] = b->ops->create(b->ops->arg, b->ports[k], &r->key, &rc, why,
				sizeof(why));
			if (r->flow[k] == NULL && rc == 0)
				rc = -EIO;
		}
		if (rc != 0)
			snprintf(r->nic_error, sizeof(r->nic_error), "port %u %s: %.63s", b->ports[k],
				stage, why);
		if (rc != 0) {
			while (k-- > 0) {
				b->ops->destroy(b->ops->arg, b->ports[k], r->flow[k]);
				r->flow[k] = NULL;
			}
			return rc;
		}
		r->port[k] = b->ports[k];
		r->nports = (uint8_t)(k + 1);
	}
	r->nic_error[0] = '\0';
	return 0;
}

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Why @p a cannot be one end of a rule, or NULL. */
static const char *
bad_addr(const uint8_t a[16])
{
	static const uint8_t zero[16];

	if (memcmp(a, v4_mapped, 12) == 0) {
		if (a[12] == 0)
			return "is an unspecified address (0.0.0.0/8)";
		if (a[12] == 255 && a[13] == 255 && a[14] == 255 && a[15] == 255)
			return "is the broadcast address";
		if ((a[12] & 0xf0) == 0xe0)
			return "is a multicast address (224.0.0.0/4)";
		return NULL;
	}
	if (memcmp(a, zero, 16) == 0)
		return "is the unspecified address (::)";
	if (a[0] == 0xff)
		return "is a multicast address (ff00::/8)";
	return NULL;
}

int
sl_block_target_check(const uint8_t host[16], const uint8_t *peer, char *why, size_t len)
{
	const char *h = bad_addr(host), *p = peer != NULL ? bad_addr(peer) : NULL;
	char a[64];

	if (h != NULL || p != NULL) {
		if (why != NULL) {
			sl_addr_format(h != NULL ? host : peer, a, sizeof(a));
			snprintf(why, len, "%s %s %s", h != NULL ? "host" : "peer", a, h != NULL ? h : p);
		}
		return -EINVAL;
	}
	if (peer != NULL && (memcmp(host, v4_mapped, 12) == 0) != (memcmp(peer, v4_mapped, 12) == 0)) {
		if (why != NULL)
			snprintf(why, len, "host and peer are of different address families");
		return -EINVAL;
	}
	return 0;
}

/* A request; @p same_offence: part of one verdict whose first rule already counted the
 * offence (the rules of one verdict share its TTL). */
static int
request(struct sl_block *b, const uint8_t host[16], const uint8_t *peer, uint16_t dport,
	uint8_t proto, bool operator_made, const char *reason, uint32_t sid, uint64_t now_us,
	bool same_offence)
{
	struct sl_block_rule r;
	struct offender *o;
	uint64_t ttl;
	uint32_t offence;
	int refusal = -1;

	b->st.requests++;
	memset(&r, 0, sizeof(r));
	memcpy(r.key.host, host, 16);
	r.key.scope = peer != NULL ? SL_SCOPE_POOL : SL_SCOPE_QUARANTINE;
	if (peer != NULL) {
		memcpy(r.key.peer, peer, 16);
		r.key.dport = dport;
		r.key.proto = proto;
	}
	r.operator_made = operator_made;
	r.sid = sid != 0 ? sid : SL_BLOCK_SID_OPERATOR;
	r.created_us = now_us;
	snprintf(r.reason, sizeof(r.reason), "%s", reason != NULL ? reason : "");
	if (peer != NULL && proto != 6 && proto != 17)
		refusal = SL_BR_bad_request;
	else if (sl_block_target_check(host, peer, NULL, 0) < 0)
		refusal = SL_BR_bad_target;
	else if (sl_cidr_set_match(&b->p.allow, host) ||
		 (peer != NULL && sl_cidr_set_match(&b->p.allow, peer)))
		refusal = SL_BR_allowlisted;
	for (uint32_t i = 0; refusal < 0 && i < b->nrules; i++) {
		struct sl_block_rule *x = &b->rules[i];

		if (memcmp(&x->key, &r.key, sizeof(r.key)) == 0) {
			/* a repeat: its own TTL starts again from now (never shortened) */
			if (now_us + x->ttl_us > x->expires_us)
				x->expires_us = now_us + x->ttl_us;
			refusal = SL_BR_exists;
		}
	}
	if (refusal < 0 && b->nrules >= b->p.max_active)
		refusal = SL_BR_cap_active;
	if (refusal < 0 && !operator_made && !same_offence) {
		uint64_t oldest = b->recent[b->recent_pos];

		if (oldest != 0 && now_us - oldest < 60000000ull)
			refusal = SL_BR_cap_rate;
	}
	if (refusal >= 0)
		goto refused;
	/* catch and release: each earlier offence doubles the time (counted once the rule is
	 * made, so refused requests cost nothing) */
	o = offender(b, host, now_us);
	offence = same_offence && o->offences > 0 ? o->offences : o->offences + 1;
	ttl = b->p.ttl_us;
	for (uint32_t k = 1; k < offence && ttl < b->p.ttl_max_us; k++)
		ttl *= 2;
	r.offence = offence;
	r.ttl_us = SL_MIN(ttl, b->p.ttl_max_us);
	r.expires_us = now_us + r.ttl_us;
	if (b->p.mode == SL_MODE_DRY_RUN) {
		r.backend = SL_BB_dry;
	} else if (b->p.mode == SL_MODE_MONITOR || (!b->p.nic && !b->p.soft)) {
		/* BGP alone (monitor mode drops nothing locally): the routes are the block */
		if (b->bgp == NULL || bgp_announce(b, &r, now_us) < 0) {
			refusal = SL_BR_bgp_cap;
			goto refused;
		}
		r.backend = SL_BB_bgp;
	} else if (b->p.nic && nic_install(b, &r) == 0) {
		r.backend = SL_BB_nic;
	} else {
		if (b->p.nic)
			b->st.nic_refused++;
		else
			snprintf(r.nic_error, sizeof(r.nic_error), "block_backend = soft");
		if (!b->p.soft) {
			refusal = SL_BR_nic;
			goto refused;
		}
		r.backend = SL_BB_soft;
	}
	r.backends |= (uint8_t)(1u << r.backend);
	if (b->bgp != NULL && r.backend != SL_BB_bgp && r.backend != SL_BB_dry &&
	    bgp_announce(b, &r, now_us) < 0)
		b->st.bgp_not_announced++; /* held locally all the same */
	b->st.installed_bgp += (r.backends & (1u << SL_BB_bgp)) != 0;
	b->st.installed_nic += r.backend == SL_BB_nic;
	b->st.installed_soft += r.backend == SL_BB_soft;
	b->st.installed_dry += r.backend == SL_BB_dry;
	o->offences = offence;
	o->last_us = now_us;
	if (!operator_made && !same_offence) {
		b->recent[b->recent_pos] = now_us;
		b->recent_pos = (b->recent_pos + 1) % b->p.max_per_minute;
	}
	if (r.backend == SL_BB_soft)
		b->dirty = true;
	b->rules[b->nrules++] = r;
	if (b->dirty)
		publish(b); /* at once: the workers drop from their next pass */
	note(b, SL_BNOTE_BLOCK, now_us, &b->rules[b->nrules - 1], 0, NULL);
	return 0;

refused:
	(*sl_block_refusal_counter(&b->st, (unsigned int)refusal))++;
	note(b, SL_BNOTE_REFUSED, now_us, &r, refusal, NULL);
	return refusal == SL_BR_exists ? 1 : refusal == SL_BR_bad_request ? -EINVAL : -EPERM;
}

int
sl_block_request(struct sl_block *b, const uint8_t host[16], const uint8_t *peer,
	uint16_t dport, uint8_t proto, bool operator_made, const char *reason, uint64_t now_us)
{
	return request(b, host, peer, dport, proto, operator_made, reason,
		operator_made ? SL_BLOCK_SID_OPERATOR : 0, now_us, false);
}

/* Does signal @p g name a pool end (and which port)? */
static bool
pool_end(const struct sl_signal *g, uint16_t *port)
{
	if (g->kind == SL_SIG_baseline || g->detector == SL_DET_dns_pool_name || g->flow_id == 0 ||
	    (g->proto != 6 && g->proto != 17))
		return false;
	*port = g->host_dst ? g->sport : g->dport; /* the peer's port */
	return true;
}

unsigned int
sl_block_verdict(struct sl_block *b, const struct sl_score_view *v, uint64_t now_us)
{
	char why[128], ip[64];
	unsigned int made = 0;
	bool first = true;

	sl_addr_format(v->addr, ip, sizeof(ip));
	snprintf(why, sizeof(why), "score %.1f reached block level %s", v->score, ip);
	if (b->p.scope == SL_SCOPE_QUARANTINE) {
		unsigned int best = 0; /* the strongest reason names the rule */

		for (unsigned int i = 1; i < v->nsig; i++)
			if (v->now_points[i] > v->now_points[best])
				best = i;
		return request(b, v->addr, NULL, 0, 0, false, why,
			v->nsig > 0 ? sl_signal_sid(&v->sig[best]) : 0, now_us, false) == 0;
	}
	for (unsigned int i = 0; i < v->nsig; i++) {
		const struct sl_signal *g = &v->sig[i];
		uint16_t port, pk;
		bool dup = false;

		if (!pool_end(g, &port))
			continue;
		for (unsigned int k = 0; k < i && !dup; k++)
			dup = pool_end(&v->sig[k], &pk) && pk == port &&
			      memcmp(v->sig[k].peer, g->peer, 16) == 0 && v->sig[k].proto == g->proto;
		if (dup)
			continue;
		snprintf(why, sizeof(why), "score %.1f reached the block level; %s %s", v->score,
			sl_signal_kind_name(g->kind),
			g->kind == SL_SIG_behaviour ? "" : sl_det_name(g->detector));
		/* one verdict, one offence: its rules share the TTL */
		if (request(b, v->addr, g->peer, port, g->proto, false, why, sl_signal_sid(g), now_us,
			    !first) == 0) {
			made++;
			first = false;
		}
	}
	return made;
}

bool
sl_block_holds(const struct sl_block *b, const uint8_t host[16])
{
	for (uint32_t i = 0; i < b->nrules; i++)
		if (memcmp(b->rules[i].key.host, host, 16) == 0)
			return true;
	return false;
}

unsigned int
sl_block_unblock(struct sl_block *b, const uint8_t host[16], uint64_t now_us)
{
	unsigned int n = 0;

	for (uint32_t i = b->nrules; i-- > 0;)
		if (memcmp(b->rules[i].key.host, host, 16) == 0) {
			rule_remove(b, i, now_us, "operator");
			b->st.unblocked_operator++;
			n++;
		}
	if (b->dirty)
		publish(b);
	return n;
}

void
sl_block_tick(struct sl_block *b, uint64_t now_us,
	uint64_t (*last_seen)(void *arg, const uint8_t host[16]), void *arg)
{
	for (uint32_t i = b->nrules; i-- > 0;) {
		struct sl_block_rule *r = &b->rules[i];
		uint64_t seen = last_seen != NULL ? last_seen(arg, r->key.host) : 0;
		bool busy = false;

		/* NIC rules: the drops happen in the NIC, so its counters tell if the host is busy */
		for (unsigned int k = 0; k < r->nports; k++) {
			uint64_t pk, by;

			if (r->flow[k] != NULL &&
			    b->ops->query(b->ops->arg, r->port[k], r->flow[k], &pk, &by) == 0 &&
			    pk > r->pkts) {
				r->pkts = pk;
				r->bytes = by;
				busy = true;
			}
		}
		if (now_us < r->expires_us)
			continue;
		if (busy || (seen != 0 && now_us < seen + b->p.quiet_us)) {
			r->expires_us = now_us + b->p.quiet_us; /* unblock only once it went quiet */
			b->st.extended++;
			continue;
		}
		b->st.expired++;
		rule_remove(b, i, now_us, "expired");
	}
	if (b->dirty)
		publish(b);
	else if (b->old != NULL && rte_rcu_qsbr_check(b->qs, b->token, false) == 1) {
		rte_free(b->old);
		b->old = NULL;
	}
}

int
sl_block_allow(struct sl_block *b, const struct sl_cidr *c)
{
	for (uint32_t i = 0; i < b->p.allow.n; i++)
		if (memcmp(&b->p.allow.cidr[i], c, sizeof(*c)) == 0)
			return -EEXIST;
	if (b->p.allow.n == SL_CIDR_MAX)
		return -ENOSPC;
	b->p.allow.cidr[b->p.allow.n++] = *c;
	b->dirty = true; /* quarantine exceptions live in the soft table */
	publish(b);
	return 0;
}

int
sl_block_disallow(struct sl_block *b, const struct sl_cidr *c)
{
	for (uint32_t i = 0; i < b->p.allow.n; i++)
		if (memcmp(&b->p.allow.cidr[i], c, sizeof(*c)) == 0) {
			b->p.allow.cidr[i] = b->p.allow.cidr[--b->p.allow.n];
			b->dirty = true;
			publish(b);
			return 0;
		}
	return -ENOENT;
}

const struct sl_cidr_set *
sl_block_allowlist(const struct sl_block *b)
{
	return &b->p.allow;
}

void
sl_block_foreach(const struct sl_block *b, void (*fn)(void *arg, const struct sl_block_rule *r),
	void *arg)
{
	for (uint32_t i = 0; i < b->nrules; i++)
		fn(arg, &b->rules[i]);
}

void
sl_block_get_stats(const struct sl_block *b, struct sl_block_stats *out)
{
	*out = b->st;
	memset(out->active, 0, sizeof(out->active));
	for (uint32_t i = 0; i < b->nrules; i++)
		for (unsigned int k = 0; k < SL_BB_MAX; k++)
			out->active[k] += (b->rules[i].backends >> k) & 1u;
}

void
sl_block_worker_online(struct sl_block *b, unsigned int worker)
{
	rte_rcu_qsbr_thread_online(b->qs, worker);
}

void
sl_block_worker_offline(struct sl_block *b, unsigned int worker)
{
	rte_rcu_qsbr_thread_offline(b->qs, worker);
}

const struct sl_softbl *
sl_block_acquire(const struct sl_block *b)
{
	return SL_LOAD_ACQUIRE(&b->cur);
}

void
sl_block_quiescent(struct sl_block *b, unsigned int worker)
{
	rte_rcu_qsbr_quiescent(b->qs, worker);
}
