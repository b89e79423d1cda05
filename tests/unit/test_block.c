/* test_block.c: unit tests of the response (lib/block): block rules, their safety checks and
 * backends, with an injectable NIC (struct sl_block_nic_ops) that counts every call and can
 * fail on the k-th call or on a given port.
 *
 *  1. NIC failure injection: validate, create (rollback of the ports already done), create
 *     returning NULL with rc 0, destroy failing at unblock/expiry/exit, query failing;
 *     block_backend nic (refused, no soft rule) and soft (the NIC never called).
 *  2. Allowlist: host and pool peer, operator requests too, run-time allow/disallow
 *     (EEXIST, ENOENT, ENOSPC), quarantine exceptions, exact pool-scope keys.
 *  3. Caps: max_active, max_per_minute (automatic only, a sliding minute), duplicates.
 *  4. TTL: escalation per offence up to the maximum, expiry time, quiet requirement (last
 *     seen and NIC counters).
 *  5. dry_run.  6. RCU publication of the soft table.  7. sl_block_verdict.
 *  8. sl_block_params_from_cfg errors.  9. sl_block_free.
 *
 * Every note the response emits is recorded (type, refusal, text, a copy of the rule) and
 * checked. Needs EAL (rte_malloc, rte_rcu_qsbr): started once per run with --no-huge. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_memory.h>

#include "sl_block.h"
#include "sl_cfg.h"
#include "sl_common.h"
#include "sl_match.h"
#include "sl_score.h"
#include "sl_test_eal.h"

#define SEC(s) ((uint64_t)(s) * 1000000ull)
#define T0 SEC(1000) /* nonzero: the rate ring treats 0 as "never" */

/* ---------------------------------------------------------------- fake NIC */

#define MAX_FLOWS 256

struct fake_nic {
	unsigned int validate_calls, create_calls, destroy_calls, query_calls;
	unsigned int validate_fail_at; /**< fail the k-th validate call (1-based), 0 = never */
	int validate_fail_port;        /**< fail validate on this port, -1 = never */
	unsigned int create_fail_at;   /**< fail the k-th create call, 0 = never */
	int create_fail_port;          /**< fail create on this port, -1 = never */
	bool create_null_rc0;          /**< a failing create returns NULL with rc left 0 */
	int destroy_rc;                /**< what destroy returns */
	int query_rc;                  /**< what query returns */
	uint64_t qpkts, qbytes;        /**< what query reports */
	char handle[MAX_FLOWS];        /**< a created flow is &handle[i] */
	uint16_t handle_port[MAX_FLOWS];
	bool alive[MAX_FLOWS];
	unsigned int nhandles;
	void *destroyed[MAX_FLOWS];    /**< destroy calls, in order */
	uint16_t destroyed_port[MAX_FLOWS];
};

static struct fake_nic g_nic;

static int
fk_validate(void *arg, uint16_t port, const struct sl_block_key *k, char *err, size_t errlen)
{
	struct fake_nic *n = arg;

	(void)k;
	n->validate_calls++;
	if (n->validate_calls == n->validate_fail_at || (int)port == n->validate_fail_port) {
		snprintf(err, errlen, "fake validate refused");
		return -ENOTSUP;
	}
	return 0;
}

static void *
fk_create(void *arg, uint16_t port, const struct sl_block_key *k, int *rc, char *err,
	size_t errlen)
{
	struct fake_nic *n = arg;

	(void)k;
	n->create_calls++;
	if (n->create_calls == n->create_fail_at || (int)port == n->create_fail_port ||
	    n->nhandles >= MAX_FLOWS) {
		snprintf(err, errlen, "fake create refused");
		*rc = n->create_null_rc0 ? 0 : -ENOSPC;
		return NULL;
	}
	*rc = 0;
	n->handle_port[n->nhandles] = port;
	n->alive[n->nhandles] = true;
	return &n->handle[n->nhandles++];
}

static int
fk_destroy(void *arg, uint16_t port, void *flow)
{
	struct fake_nic *n = arg;
	ptrdiff_t i = (char *)flow - n->handle;

	assert_true(i >= 0 && i < (ptrdiff_t)n->nhandles);
	assert_true(n->alive[i]);                  /* never destroyed twice */
	assert_int_equal(port, n->handle_port[i]); /* on the port it was made on */
	if (n->destroy_calls < MAX_FLOWS) {
		n->destroyed[n->destroy_calls] = flow;
		n->destroyed_port[n->destroy_calls] = port;
	}
	n->destroy_calls++;
	n->alive[i] = false; /* gone from the test's view even when the NIC says it failed */
	return n->destroy_rc;
}

static int
fk_query(void *arg, uint16_t port, void *flow, uint64_t *pkts, uint64_t *bytes)
{
	struct fake_nic *n = arg;

	(void)port;
	(void)flow;
	n->query_calls++;
	if (n->query_rc != 0)
		return n->query_rc;
	*pkts = n->qpkts;
	*bytes = n->qbytes;
	return 0;
}

static const struct sl_block_nic_ops fake_ops = {
	.validate = fk_validate,
	.create = fk_create,
	.destroy = fk_destroy,
	.query = fk_query,
	.arg = &g_nic,
};

static unsigned int
nic_alive(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < g_nic.nhandles; i++)
		n += g_nic.alive[i];
	return n;
}

static unsigned int
nic_calls(void)
{
	return g_nic.validate_calls + g_nic.create_calls + g_nic.destroy_calls + g_nic.query_calls;
}

/* ---------------------------------------------------------------- notes */

#define MAX_NOTES 512

struct rec {
	int type;
	int refusal;
	uint64_t ts;
	char text[32];
	struct sl_block_rule r;
};

static struct {
	struct rec n[MAX_NOTES];
	unsigned int cnt;
} g_notes;

static void
on_note(void *arg, const struct sl_block_note *n)
{
	struct rec *r;

	assert_ptr_equal(arg, &g_notes);
	assert_non_null(n->r);
	assert_true(g_notes.cnt < MAX_NOTES);
	r = &g_notes.n[g_notes.cnt++];
	r->type = n->type;
	r->refusal = n->refusal;
	r->ts = n->ts_us;
	snprintf(r->text, sizeof(r->text), "%s", n->text != NULL ? n->text : "");
	r->r = *n->r;
}

static const struct rec *
last_note(void)
{
	assert_true(g_notes.cnt > 0);
	return &g_notes.n[g_notes.cnt - 1];
}

static unsigned int
count_notes(int type)
{
	unsigned int c = 0;

	for (unsigned int i = 0; i < g_notes.cnt; i++)
		c += g_notes.n[i].type == type;
	return c;
}

static void
expect_refused(int refusal)
{
	const struct rec *r = last_note();

	assert_int_equal(r->type, SL_BNOTE_REFUSED);
	assert_int_equal(r->refusal, refusal);
	assert_string_equal(r->text, "");
}

static void
expect_unblock(const char *why, uint64_t ts)
{
	const struct rec *r = last_note();

	assert_int_equal(r->type, SL_BNOTE_UNBLOCK);
	assert_string_equal(r->text, why);
	assert_int_equal(r->ts, ts);
}

/* ---------------------------------------------------------------- fixture */

static struct sl_block *g_b;
static uint64_t g_last_seen; /**< what last_seen_fn reports */
static const uint16_t g_ports[2] = {3, 5};

static int
tc_setup(void **state)
{
	(void)state;
	memset(&g_nic, 0, sizeof(g_nic));
	g_nic.validate_fail_port = -1;
	g_nic.create_fail_port = -1;
	memset(&g_notes, 0, sizeof(g_notes));
	g_last_seen = 0;
	g_b = NULL;
	return 0;
}

static int
tc_teardown(void **state)
{
	(void)state;
	sl_block_free(g_b, T0);
	g_b = NULL;
	return 0;
}

/** Inline mode, pool scope, auto backend, roomy caps, TTL 600 s (max 1 day), quiet 60 s. */
static void
def_params(struct sl_block_params *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = SL_MODE_INLINE;
	p->scope = SL_SCOPE_POOL;
	p->nic = true;
	p->soft = true;
	p->max_active = 64;
	p->max_per_minute = 1000;
	p->ttl_us = SEC(600);
	p->ttl_max_us = SEC(86400);
	p->quiet_us = SEC(60);
	p->nworkers = 1;
}

static struct sl_block *
mk_block(const struct sl_block_params *p, unsigned int nports)
{
	g_b = sl_block_create(p, g_ports, nports, &fake_ops, on_note, &g_notes, SOCKET_ID_ANY);
	assert_non_null(g_b);
	return g_b;
}

/** ::ffff:a.b.c.d */
static void
v4(uint8_t x[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	memset(x, 0, 10);
	x[10] = x[11] = 0xff;
	x[12] = a;
	x[13] = b;
	x[14] = c;
	x[15] = d;
}

static struct sl_cidr
cidr(const char *text)
{
	struct sl_cidr c;

	assert_int_equal(sl_cidr_parse(text, &c), 0);
	return c;
}

static struct sl_block_stats
stats(void)
{
	struct sl_block_stats st;

	sl_block_get_stats(g_b, &st);
	return st;
}

struct rules {
	struct sl_block_rule r[64];
	unsigned int n;
};

static void
collect(void *arg, const struct sl_block_rule *r)
{
	struct rules *rs = arg;

	assert_true(rs->n < 64);
	rs->r[rs->n++] = *r;
}

static unsigned int
rules_of(struct rules *rs)
{
	memset(rs, 0, sizeof(*rs));
	sl_block_foreach(g_b, collect, rs);
	return rs->n;
}

/** The only rule. */
static struct sl_block_rule
only_rule(void)
{
	struct rules rs;

	assert_int_equal(rules_of(&rs), 1);
	return rs.r[0];
}

static bool
soft_match(const uint8_t src[16], const uint8_t dst[16], uint16_t dport, uint8_t proto)
{
	return sl_softbl_match(sl_block_acquire(g_b), src, dst, dport, proto);
}

static uint64_t
last_seen_fn(void *arg, const uint8_t host[16])
{
	(void)host;
	assert_ptr_equal(arg, &g_last_seen);
	return g_last_seen;
}

static uint8_t H[16], H2[16], P[16], P2[16];

/* ---------------------------------------------------------------- 1. NIC failures */

static void
test_nic_all_ok(void **state)
{
	struct sl_block_params p;
	struct sl_block_stats st;
	struct sl_block_rule r;
	uint32_t gen;

	(void)state;
	def_params(&p);
	mk_block(&p, 2);
	gen = sl_softbl_gen(sl_block_acquire(g_b));
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "test", T0), 0);
	assert_int_equal(g_nic.validate_calls, 2);
	assert_int_equal(g_nic.create_calls, 2);
	assert_int_equal(g_nic.destroy_calls, 0);
	r = only_rule();
	assert_int_equal(r.backend, SL_BB_nic);
	assert_int_equal(r.nports, 2);
	assert_int_equal(r.port[0], 3);
	assert_int_equal(r.port[1], 5);
	assert_ptr_equal(r.flow[0], &g_nic.handle[0]);
	assert_ptr_equal(r.flow[1], &g_nic.handle[1]);
	assert_string_equal(r.nic_error, "");
	assert_string_equal(r.reason, "test");
	assert_int_equal(r.offence, 1);
	assert_int_equal(r.created_us, T0);
	assert_int_equal(r.expires_us, T0 + SEC(600));
	/* the note */
	assert_int_equal(g_notes.cnt, 1);
	assert_int_equal(last_note()->type, SL_BNOTE_BLOCK);
	assert_int_equal(last_note()->r.backend, SL_BB_nic);
	assert_int_equal(last_note()->ts, T0);
	/* the soft table stays empty and unpublished */
	assert_false(soft_match(H, P, 3333, 6));
	assert_int_equal(sl_softbl_gen(sl_block_acquire(g_b)), gen);
	st = stats();
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.installed_nic, 1);
	assert_int_equal(st.installed_soft, 0);
	assert_int_equal(st.nic_refused, 0);
	assert_int_equal(st.active[SL_BB_nic], 1);
	assert_int_equal(st.active[SL_BB_soft], 0);
	assert_int_equal(st.publications, 1); /* the empty table at create only */
}

static void
test_nic_validate_fails(void **state)
{
	struct sl_block_params p;
	struct sl_block_stats st;
	struct sl_block_rule r;

	(void)state;
	def_params(&p);
	mk_block(&p, 2);
	g_nic.validate_fail_at = 1;
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "v", T0), 0);
	assert_int_equal(g_nic.validate_calls, 1);
	assert_int_equal(g_nic.create_calls, 0);
	assert_int_equal(g_nic.destroy_calls, 0);
	r = only_rule();
	assert_int_equal(r.backend, SL_BB_soft);
	assert_non_null(strstr(r.nic_error, "validate"));
	assert_non_null(strstr(r.nic_error, "port 3"));
	assert_non_null(strstr(r.nic_error, "fake validate refused"));
	assert_int_equal(last_note()->type, SL_BNOTE_BLOCK);
	assert_int_equal(last_note()->r.backend, SL_BB_soft);
	assert_string_equal(last_note()->r.nic_error, r.nic_error);
	st = stats();
	assert_int_equal(st.nic_refused, 1);
	assert_int_equal(st.installed_soft, 1);
	assert_int_equal(st.installed_nic, 0);
	assert_int_equal(st.active[SL_BB_soft], 1);
	assert_true(soft_match(H, P, 3333, 6));

	/* validate failing on the second port only: nothing was created, so nothing to undo */
	g_nic.validate_fail_at = 0;
	g_nic.validate_fail_port = 5;
	assert_int_equal(sl_block_request(g_b, H, P2, 3333, 6, false, "v2", T0), 0);
	assert_int_equal(g_nic.validate_calls, 3);
	assert_int_equal(g_nic.create_calls, 1); /* port 3 was created... */
	assert_int_equal(g_nic.destroy_calls, 1); /* ...and rolled back */
	assert_ptr_equal(g_nic.destroyed[0], &g_nic.handle[0]);
	assert_int_equal(nic_alive(), 0);
	assert_int_equal(last_note()->r.backend, SL_BB_soft);
	assert_non_null(strstr(last_note()->r.nic_error, "port 5 validate"));
	assert_int_equal(stats().nic_refused, 2);
}

static void
test_nic_create_fails_second_port(void **state)
{
	struct sl_block_params p;
	struct sl_block_stats st;
	struct sl_block_rule r;

	(void)state;
	def_params(&p);
	mk_block(&p, 2);
	g_nic.create_fail_at = 2;
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "c", T0), 0);
	assert_int_equal(g_nic.validate_calls, 2);
	assert_int_equal(g_nic.create_calls, 2);
	/* rollback: the rule made on port 3 is destroyed, with its own handle */
	assert_int_equal(g_nic.destroy_calls, 1);
	assert_ptr_equal(g_nic.destroyed[0], &g_nic.handle[0]);
	assert_int_equal(g_nic.destroyed_port[0], 3);
	assert_int_equal(nic_alive(), 0);
	r = only_rule();
	assert_int_equal(r.backend, SL_BB_soft);
	assert_non_null(strstr(r.nic_error, "port 5 create"));
	assert_non_null(strstr(r.nic_error, "fake create refused"));
	for (unsigned int k = 0; k < SL_BLOCK_MAX_PORTS; k++)
		assert_null(r.flow[k]);
	st = stats();
	assert_int_equal(st.nic_refused, 1);
	assert_int_equal(st.installed_soft, 1);
	assert_true(soft_match(H, P, 3333, 6));
	/* removing the soft rule must not touch the rolled-back handle again */
	assert_int_equal(sl_block_unblock(g_b, H, T0 + SEC(1)), 1);
	assert_int_equal(g_nic.destroy_calls, 1);
	expect_unblock("operator", T0 + SEC(1));
	assert_false(soft_match(H, P, 3333, 6));
}

static void
test_nic_create_null_rc0(void **state)
{
	struct sl_block_params p;
	struct sl_block_rule r;

	(void)state;
	def_params(&p);
	mk_block(&p, 1);
	g_nic.create_fail_at = 1;
	g_nic.create_null_rc0 = true;
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "n", T0), 0);
	assert_int_equal(g_nic.create_calls, 1);
	r = only_rule();
	assert_int_equal(r.backend, SL_BB_soft);
	assert_non_null(strstr(r.nic_error, "port 3 create"));
	assert_int_equal(stats().nic_refused, 1);
	assert_int_equal(stats().installed_soft, 1);
	assert_int_equal(stats().active[SL_BB_nic], 0);
	assert_true(soft_match(H, P, 3333, 6));
}

static void
test_nic_no_ports(void **state)
{
	struct sl_block_params p;
	struct sl_block_rule r;

	(void)state;
	def_params(&p);
	mk_block(&p, 0);
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "np", T0), 0);
	assert_int_equal(nic_calls(), 0);
	r = only_rule();
	assert_int_equal(r.backend, SL_BB_soft);
	assert_string_equal(r.nic_error, "no port to install on");
	/* ports set later: the next rule goes to the NIC */
	assert_int_equal(sl_block_set_ports(g_b, g_ports, 2), 0);
	assert_int_equal(sl_block_set_ports(g_b, g_ports, SL_BLOCK_MAX_PORTS + 1), -EINVAL);
	assert_int_equal(sl_block_request(g_b, H, P2, 3333, 6, false, "np2", T0), 0);
	assert_int_equal(last_note()->r.backend, SL_BB_nic);
	assert_int_equal(last_note()->r.nports, 2);
}

static void
test_nic_destroy_fails(void **state)
{
	struct sl_block_params p;
	struct sl_block_stats st;
	struct rules rs;

	(void)state;
	def_params(&p);
	mk_block(&p, 2);
	g_nic.destroy_rc = -EIO;
	/* three NIC rules: one removed by the operator, one expires, one at exit */
	assert_int_equal(sl_block_request(g_b, H, P, 1, 6, true, "a", T0), 0);
	assert_int_equal(sl_block_request(g_b, H2, P, 2, 6, true, "b", T0 + SEC(100)), 0);
	assert_int_equal(sl_block_request(g_b, P2, P, 3, 17, true, "c", T0 + SEC(200)), 0);
	assert_int_equal(stats().active[SL_BB_nic], 3);
	assert_int_equal(nic_alive(), 6);

	assert_int_equal(sl_block_unblock(g_b, H, T0 + SEC(10)), 1);
	assert_int_equal(g_nic.destroy_calls, 2);
	expect_unblock("operator", T0 + SEC(10));
	assert_int_equal(last_note()->r.key.dport, 1);
	assert_int_equal(rules_of(&rs), 2);

	sl_block_tick(g_b, T0 + SEC(700), NULL, NULL); /* H2's rule (made at +100 s) is due */
	assert_int_equal(g_nic.destroy_calls, 4);
	expect_unblock("expired", T0 + SEC(700));
	assert_int_equal(last_note()->r.key.dport, 2);
	assert_int_equal(rules_of(&rs), 1);
	st = stats();
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.unblocked_operator, 1);
	assert_int_equal(st.active[SL_BB_nic], 1);

	sl_block_free(g_b, T0 + SEC(701));
	g_b = NULL;
	assert_int_equal(g_nic.destroy_calls, 6);
	expect_unblock("exit", T0 + SEC(701));
	assert_int_equal(last_note()->r.key.dport, 3);
	assert_int_equal(nic_alive(), 0);
}

static void
test_nic_query_fails(void **state)
{
	struct sl_block_params p;
	struct sl_block_rule r;

	(void)state;
	def_params(&p);
	mk_block(&p, 2);
	g_nic.query_rc = -ENOTSUP;
	g_nic.qpkts = 999; /* never reported: query fails */
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "q", T0), 0);
	sl_block_tick(g_b, T0 + SEC(300), NULL, NULL);
	assert_true(g_nic.query_calls >= 2);
	r = only_rule();
	assert_int_equal(r.pkts, 0);
	assert_int_equal(r.bytes, 0);
	assert_int_equal(r.expires_us, T0 + SEC(600));
	/* no counter is not "busy": the rule expires on time */
	sl_block_tick(g_b, T0 + SEC(600), NULL, NULL);
	assert_int_equal(stats().extended, 0);
	assert_int_equal(stats().expired, 1);
	expect_unblock("expired", T0 + SEC(600));
	assert_int_equal(last_note()->r.pkts, 0);
	assert_int_equal(g_nic.destroy_calls, 2);
}

static void
test_backend_nic_only_refused(void **state)
{
	struct sl_block_params p;
	struct sl_block_stats st;
	struct rules rs;
	uint32_t gen;

	(void)state;
	def_params(&p);
	p.soft = false; /* block_backend = nic */
	mk_block(&p, 2);
	gen = sl_softbl_gen(sl_block_acquire(g_b));
	g_nic.validate_fail_port = 5;
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "nic only", T0), -EPERM);
	assert_int_equal(rules_of(&rs), 0);
	assert_int_equal(nic_alive(), 0); /* port 3's rule rolled back */
	assert_int_equal(g_notes.cnt, 1);
	expect_refused(SL_BR_nic);
	assert_non_null(strstr(last_note()->r.nic_error, "port 5 validate"));
	assert_false(soft_match(H, P, 3333, 6));
	assert_int_equal(sl_softbl_gen(sl_block_acquire(g_b)), gen);
	st = stats();
	assert_int_equal(st.nic_refused, 1);
	assert_int_equal(st.installed_soft, 0);
	assert_int_equal(st.installed_nic, 0);
	assert_int_equal(st.active[SL_BB_soft], 0);
	assert_int_equal(st.refused_nic, 1);
}

/*
 * Regression test (a bug found and fixed): with block_backend = nic, a request the NIC refuses is
 * reported as refused and no rule exists, but sl_block_request has already counted it as an
 * offence of the host (offender() before the install). The host's next real block is then
 * its "second" offence, with a doubled TTL.
 */
static void
test_backend_nic_refusal_not_an_offence(void **state)
{
	struct sl_block_params p;

	(void)state;
	def_params(&p);
	p.soft = false;
	mk_block(&p, 1);
	g_nic.validate_fail_at = 1;
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "refused", T0), -EPERM);
	expect_refused(SL_BR_nic);
	/* the NIC works again: this is the host's first block */
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "ok", T0 + SEC(1)), 0);
	assert_int_equal(last_note()->type, SL_BNOTE_BLOCK);
	assert_int_equal(last_note()->r.offence, 1);
	assert_int_equal(last_note()->r.expires_us, T0 + SEC(1) + SEC(600));
}

/*
 * Regression test (a bug found and fixed): the same refused request (block_backend = nic, the NIC
 * refuses) took a slot of the block_max_per_minute ring (recorded before the install), so
 * requests that made no rule eat the budget of "new automatic blocks per minute".
 */
static void
test_backend_nic_refusal_no_rate_slot(void **state)
{
	struct sl_block_params p;

	(void)state;
	def_params(&p);
	p.soft = false;
	p.max_per_minute = 1;
	mk_block(&p, 1);
	g_nic.validate_fail_at = 1;
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "refused", T0), -EPERM);
	expect_refused(SL_BR_nic);
	assert_int_equal(sl_block_request(g_b, H2, P, 3333, 6, false, "ok", T0 + SEC(1)), 0);
	assert_int_equal(last_note()->type, SL_BNOTE_BLOCK);
	assert_int_equal(stats().refused_cap_rate, 0);
}

static void
test_backend_soft_only(void **state)
{
	struct sl_block_params p;
	struct sl_block_rule r;

	(void)state;
	def_params(&p);
	p.nic = false; /* block_backend = soft */
	mk_block(&p, 2);
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "s", T0), 0);
	r = only_rule();
	assert_int_equal(r.backend, SL_BB_soft);
	assert_string_equal(r.nic_error, "block_backend = soft");
	assert_int_equal(sl_block_request(g_b, H2, NULL, 0, 0, true, "s2", T0), 0);
	assert_int_equal(last_note()->r.backend, SL_BB_soft);
	assert_int_equal(last_note()->r.key.scope, SL_SCOPE_QUARANTINE);
	sl_block_tick(g_b, T0 + SEC(600), NULL, NULL);
	assert_int_equal(stats().expired, 2);
	assert_int_equal(nic_calls(), 0); /* never called: not to install, query or remove */
	assert_int_equal(stats().nic_refused, 0);
	assert_int_equal(stats().installed_soft, 2);
}

/* ---------------------------------------------------------------- 2. allowlist */

static void
test_allowlist_host_and_peer(void **state)
{
	struct sl_block_params p;
	struct sl_block_stats st;
	struct rules rs;
	uint8_t a[16], gw[16];
	char err[128];

	(void)state;
	def_params(&p);
	assert_int_equal(sl_cidr_set_parse(&p.allow, "10.9.0.0/16, 192.0.2.1", err, sizeof(err)),
		0);
	mk_block(&p, 1);
	v4(a, 10, 9, 3, 4);
	v4(gw, 192, 0, 2, 1);
	/* an allowlisted host: refused, even when an operator asks, in both scopes */
	assert_int_equal(sl_block_request(g_b, a, P, 3333, 6, false, "auto", T0), -EPERM);
	expect_refused(SL_BR_allowlisted);
	assert_string_equal(last_note()->r.reason, "auto");
	assert_memory_equal(last_note()->r.key.host, a, 16);
	assert_int_equal(sl_block_request(g_b, a, P, 3333, 6, true, "operator", T0), -EPERM);
	expect_refused(SL_BR_allowlisted);
	assert_int_equal(last_note()->r.operator_made, 1);
	assert_int_equal(sl_block_request(g_b, a, NULL, 0, 0, true, "quarantine", T0), -EPERM);
	expect_refused(SL_BR_allowlisted);
	/* a pool rule whose peer is allowlisted */
	assert_int_equal(sl_block_request(g_b, H, gw, 53, 17, false, "peer", T0), -EPERM);
	expect_refused(SL_BR_allowlisted);
	assert_int_equal(sl_block_request(g_b, H, gw, 53, 17, true, "peer op", T0), -EPERM);
	expect_refused(SL_BR_allowlisted);
	assert_int_equal(rules_of(&rs), 0);
	assert_int_equal(nic_calls(), 0);
	st = stats();
	assert_int_equal(st.requests, 5);
	assert_int_equal(st.refused_allowlisted, 5);
	assert_int_equal(count_notes(SL_BNOTE_REFUSED), 5);
	assert_int_equal(count_notes(SL_BNOTE_BLOCK), 0);
	/* the same host, another peer: allowed */
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "ok", T0), 0);
}

/* Targets no rule can mean are refused with a reason (operator commands answer it) and
 * counted as bad_target; nothing is installed. */
static void
test_bad_targets(void **state)
{
	static const struct {
		const char *host, *peer, *why;
	} bad[] = {
		{"0.0.0.0", NULL, "host 0.0.0.0 is an unspecified address"},
		{"0.1.2.3", NULL, "unspecified"},
		{"::", NULL, "host :: is the unspecified address"},
		{"255.255.255.255", NULL, "host 255.255.255.255 is the broadcast address"},
		{"224.0.0.1", NULL, "host 224.0.0.1 is a multicast address"},
		{"239.255.255.250", NULL, "multicast"},
		{"ff02::1", NULL, "host ff02::1 is a multicast address"},
		{"10.0.0.1", "0.0.0.0", "peer 0.0.0.0 is an unspecified"},
		{"10.0.0.1", "255.255.255.255", "peer 255.255.255.255 is the broadcast"},
		{"10.0.0.1", "224.0.0.251", "peer 224.0.0.251 is a multicast"},
		{"10.0.0.1", "2001:db8::1", "different address families"},
		{"2001:db8::1", "198.51.100.1", "different address families"},
		{"2001:db8::1", "::", "peer :: is the unspecified"},
	};
	static const struct {
		const char *host, *peer;
	} good[] = {
		{"10.0.0.1", NULL}, {"1.0.0.0", NULL}, {"223.255.255.255", NULL},
		{"255.255.255.254", NULL}, {"2001:db8::1", NULL}, {"fe80::1", NULL},
		{"10.0.0.1", "198.51.100.1"}, {"2001:db8::1", "2001:db8::2"},
		{"::ffff:10.0.0.1", "198.51.100.1"},
	};
	struct sl_block_params p;
	struct sl_block_stats st;
	struct rules rs;
	struct sl_cidr h, q;
	char why[128];

	(void)state;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sl_cidr_parse(bad[i].host, &h), 0);
		if (bad[i].peer != NULL)
			assert_int_equal(sl_cidr_parse(bad[i].peer, &q), 0);
		why[0] = '\0';
		assert_int_equal(sl_block_target_check(h.addr, bad[i].peer ? q.addr : NULL, why,
			sizeof(why)), -EINVAL);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("%s,%s: reason '%s' lacks '%s'", bad[i].host,
				bad[i].peer ? bad[i].peer : "", why, bad[i].why);
	}
	for (unsigned int i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(sl_cidr_parse(good[i].host, &h), 0);
		if (good[i].peer != NULL)
			assert_int_equal(sl_cidr_parse(good[i].peer, &q), 0);
		if (sl_block_target_check(h.addr, good[i].peer ? q.addr : NULL, why, sizeof(why)) != 0)
			fail_msg("%s,%s refused: %s", good[i].host, good[i].peer ? good[i].peer : "", why);
	}
	/* the response refuses them too, operator or not, counted and reported */
	def_params(&p);
	mk_block(&p, 1);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sl_cidr_parse(bad[i].host, &h), 0);
		if (bad[i].peer != NULL)
			assert_int_equal(sl_cidr_parse(bad[i].peer, &q), 0);
		assert_int_equal(sl_block_request(g_b, h.addr, bad[i].peer ? q.addr : NULL, 3333, 6,
			i % 2 == 0, "bad", T0), -EPERM);
		expect_refused(SL_BR_bad_target);
	}
	assert_int_equal(rules_of(&rs), 0);
	assert_int_equal(nic_calls(), 0);
	st = stats();
	assert_int_equal(st.refused_bad_target, sizeof(bad) / sizeof(bad[0]));
	assert_string_equal(sl_block_refusal_name(SL_BR_bad_target), "bad_target");
	/* and a good one still goes through */
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, true, "ok", T0), 0);
}

static void
test_allowlist_runtime_edits(void **state)
{
	struct sl_block_params p;
	struct sl_cidr c = cidr("198.51.100.0/24"), x;
	const struct sl_cidr_set *al;
	uint8_t a[16];

	(void)state;
	def_params(&p);
	mk_block(&p, 1);
	v4(a, 198, 51, 100, 7);
	assert_int_equal(sl_block_allowlist(g_b)->n, 0);
	assert_int_equal(sl_block_allow(g_b, &c), 0);
	assert_int_equal(sl_block_allow(g_b, &c), -EEXIST);
	al = sl_block_allowlist(g_b);
	assert_int_equal(al->n, 1);
	assert_memory_equal(&al->cidr[0], &c, sizeof(c));
	assert_int_equal(sl_block_request(g_b, a, P, 3333, 6, true, "op", T0), -EPERM);
	expect_refused(SL_BR_allowlisted);
	assert_int_equal(sl_block_disallow(g_b, &c), 0);
	assert_int_equal(sl_block_disallow(g_b, &c), -ENOENT);
	assert_int_equal(sl_block_allowlist(g_b)->n, 0);
	assert_int_equal(sl_block_request(g_b, a, P, 3333, 6, true, "op", T0), 0);
	assert_int_equal(last_note()->type, SL_BNOTE_BLOCK);
	/* fill the set */
	memset(&x, 0, sizeof(x));
	x.plen = 128;
	for (unsigned int i = 0; i < SL_CIDR_MAX; i++) {
		x.addr[0] = 0x20;
		x.addr[14] = (uint8_t)(i >> 8);
		x.addr[15] = (uint8_t)i;
		assert_int_equal(sl_block_allow(g_b, &x), 0);
	}
	assert_int_equal(sl_block_allowlist(g_b)->n, SL_CIDR_MAX);
	assert_int_equal(sl_block_allow(g_b, &c), -ENOSPC);
	assert_int_equal(sl_block_allow(g_b, &x), -EEXIST); /* a duplicate is still EEXIST */
	assert_int_equal(sl_block_disallow(g_b, &x), 0);
	assert_int_equal(sl_block_allow(g_b, &c), 0);
	assert_int_equal(sl_block_allowlist(g_b)->n, SL_CIDR_MAX);
}

static void
test_quarantine_exceptions(void **state)
{
	struct sl_block_params p;
	struct sl_cidr c = cidr("203.0.113.0/24");
	uint8_t dns[16], web[16], extra[16];
	char err[128];

	(void)state;
	def_params(&p);
	p.nic = false;
	assert_int_equal(sl_cidr_set_parse(&p.allow, "192.0.2.0/24", err, sizeof(err)), 0);
	mk_block(&p, 0);
	v4(dns, 192, 0, 2, 53);
	v4(web, 93, 184, 216, 34);
	v4(extra, 203, 0, 113, 9);
	assert_int_equal(sl_block_request(g_b, H, NULL, 0, 0, true, "quarantine", T0), 0);
	assert_int_equal(last_note()->r.key.scope, SL_SCOPE_QUARANTINE);
	assert_int_equal(last_note()->r.key.dport, 0);
	assert_int_equal(last_note()->r.key.proto, 0);
	/* everything from the host, but the allowlisted destinations */
	assert_false(soft_match(H, dns, 53, 17));
	assert_false(soft_match(H, dns, 443, 6));
	assert_true(soft_match(H, web, 443, 6));
	assert_true(soft_match(H, P, 3333, 6));
	assert_true(soft_match(H, extra, 80, 6));
	/* not other hosts, nor flows towards the host */
	assert_false(soft_match(H2, web, 443, 6));
	assert_false(soft_match(web, H, 443, 6));
	/* a run-time exception reaches the workers' table */
	assert_int_equal(sl_block_allow(g_b, &c), 0);
	assert_false(soft_match(H, extra, 80, 6));
	assert_true(soft_match(H, web, 443, 6));
	assert_int_equal(sl_block_disallow(g_b, &c), 0);
	assert_true(soft_match(H, extra, 80, 6));
}

static void
test_pool_key_exact(void **state)
{
	struct sl_block_params p;

	(void)state;
	def_params(&p);
	p.nic = false;
	mk_block(&p, 0);
	assert_false(soft_match(H, P, 3333, 6)); /* the empty table */
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "pool", T0), 0);
	assert_true(soft_match(H, P, 3333, 6));
	assert_false(soft_match(H, P, 3334, 6));
	assert_false(soft_match(H, P, 3333, 17));
	assert_false(soft_match(H, P2, 3333, 6));
	assert_false(soft_match(H2, P, 3333, 6));
	assert_false(soft_match(P, H, 3333, 6));
	/* malformed: a pool rule needs TCP or UDP */
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 1, true, "icmp", T0), -EINVAL);
	expect_refused(SL_BR_bad_request);
	assert_int_equal(stats().refused_bad_request, 1);
	/* many keys: all found, nothing else */
	for (unsigned int i = 1; i <= 40; i++)
		assert_int_equal(sl_block_request(g_b, H2, P, (uint16_t)i, 17, true, "many", T0), 0);
	for (unsigned int i = 1; i <= 40; i++) {
		assert_true(soft_match(H2, P, (uint16_t)i, 17));
		assert_false(soft_match(H2, P, (uint16_t)i, 6));
	}
	assert_false(soft_match(H2, P, 41, 17));
	assert_true(soft_match(H, P, 3333, 6));
}

/* ---------------------------------------------------------------- 3. caps */

static void
test_cap_active(void **state)
{
	struct sl_block_params p;
	struct sl_block_stats st;
	struct rules rs;

	(void)state;
	def_params(&p);
	p.max_active = 2;
	mk_block(&p, 1);
	assert_int_equal(sl_block_request(g_b, H, P, 1, 6, false, "1", T0), 0);
	assert_int_equal(sl_block_request(g_b, H, P, 2, 6, true, "2", T0), 0);
	assert_int_equal(sl_block_request(g_b, H, P, 3, 6, false, "3", T0), -EPERM);
	expect_refused(SL_BR_cap_active);
	assert_int_equal(last_note()->r.key.dport, 3);
	assert_int_equal(sl_block_request(g_b, H2, NULL, 0, 0, true, "op", T0), -EPERM);
	expect_refused(SL_BR_cap_active);
	/* a duplicate is "exists", not a cap refusal */
	assert_int_equal(sl_block_request(g_b, H, P, 1, 6, false, "1", T0), 1);
	expect_refused(SL_BR_exists);
	assert_int_equal(rules_of(&rs), 2);
	st = stats();
	assert_int_equal(st.refused_cap_active, 2);
	assert_int_equal(st.refused_exists, 1);
	assert_int_equal(g_nic.create_calls, 2);
	/* room again once one goes */
	assert_int_equal(sl_block_unblock(g_b, H, T0 + SEC(1)), 2);
	assert_int_equal(sl_block_request(g_b, H2, NULL, 0, 0, true, "op", T0 + SEC(2)), 0);
}

static void
test_cap_rate(void **state)
{
	struct sl_block_params p;

	(void)state;
	def_params(&p);
	p.max_per_minute = 2;
	mk_block(&p, 1);
	assert_int_equal(sl_block_request(g_b, H, P, 1, 6, false, "1", T0), 0);
	assert_int_equal(sl_block_request(g_b, H, P, 2, 6, false, "2", T0 + SEC(10)), 0);
	assert_int_equal(sl_block_request(g_b, H, P, 3, 6, false, "3", T0 + SEC(20)), -EPERM);
	expect_refused(SL_BR_cap_rate);
	/* operators are not rate-capped */
	assert_int_equal(sl_block_request(g_b, H, P, 4, 6, true, "op", T0 + SEC(20)), 0);
	assert_int_equal(sl_block_request(g_b, H, P, 5, 6, true, "op", T0 + SEC(21)), 0);
	/* the oldest automatic block is just under a minute old */
	assert_int_equal(sl_block_request(g_b, H, P, 6, 6, false, "6", T0 + SEC(60) - 1), -EPERM);
	expect_refused(SL_BR_cap_rate);
	/* a minute after the first: one more (the second is still in the minute) */
	assert_int_equal(sl_block_request(g_b, H, P, 7, 6, false, "7", T0 + SEC(60)), 0);
	assert_int_equal(last_note()->type, SL_BNOTE_BLOCK);
	assert_int_equal(sl_block_request(g_b, H, P, 8, 6, false, "8", T0 + SEC(61)), -EPERM);
	expect_refused(SL_BR_cap_rate);
	assert_int_equal(sl_block_request(g_b, H, P, 9, 6, false, "9", T0 + SEC(70)), 0);
	assert_int_equal(stats().refused_cap_rate, 3);
	assert_int_equal(stats().active[SL_BB_nic], 6);
}

static void
test_duplicate_extends(void **state)
{
	struct sl_block_params p;
	struct sl_block_rule r;

	(void)state;
	def_params(&p);
	mk_block(&p, 1);
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "first", T0), 0);
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "again", T0 + SEC(100)), 1);
	expect_refused(SL_BR_exists);
	assert_string_equal(last_note()->r.reason, "again");
	r = only_rule();
	assert_int_equal(r.expires_us, T0 + SEC(100) + SEC(600));
	assert_string_equal(r.reason, "first");
	assert_int_equal(r.offence, 1); /* a repeat is not a new offence */
	assert_int_equal(g_nic.create_calls, 1);
	assert_int_equal(stats().refused_exists, 1);
	/* the rule now expires at the extended time */
	sl_block_tick(g_b, T0 + SEC(699), NULL, NULL);
	assert_int_equal(count_notes(SL_BNOTE_UNBLOCK), 0);
	sl_block_tick(g_b, T0 + SEC(700), NULL, NULL);
	expect_unblock("expired", T0 + SEC(700));
	/* an operator request for an active quarantine is a duplicate too */
	assert_int_equal(sl_block_request(g_b, H2, NULL, 0, 0, false, "q", T0 + SEC(700)), 0);
	assert_int_equal(sl_block_request(g_b, H2, NULL, 0, 0, true, "op", T0 + SEC(710)), 1);
	expect_refused(SL_BR_exists);
	assert_int_equal(last_note()->r.operator_made, 1);
	assert_int_equal(only_rule().expires_us, T0 + SEC(710) + SEC(600));
	assert_int_equal(only_rule().operator_made, 0);
	assert_int_equal(stats().refused_exists, 2);
}

/*
 * Regression test (a bug found and fixed): a repeat request sets the expiry to now + (expires -
 * created), and created_us never moves, so each repeat lengthens the rule by the time since
 * the rule was made instead of restarting its TTL ("a repeat: the clock starts again"):
 * repeats at +100 s and +200 s of a 600 s rule give +900 s (not +800 s), and a rule repeated
 * every minute grows without bound, past block_ttl_max_s.
 */
static void
test_duplicate_clock_restarts(void **state)
{
	struct sl_block_params p;
	uint64_t t;

	(void)state;
	def_params(&p);
	p.ttl_max_us = SEC(600);
	mk_block(&p, 1);
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "first", T0), 0);
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "r", T0 + SEC(100)), 1);
	assert_int_equal(only_rule().expires_us, T0 + SEC(700));
	for (t = T0 + SEC(200); t <= T0 + SEC(1200); t += SEC(100)) {
		sl_block_tick(g_b, t, NULL, NULL);
		assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "r", t), 1);
		assert_int_equal(only_rule().expires_us, t + SEC(600));
	}
}

/* ---------------------------------------------------------------- 4. TTL */

static void
test_ttl_escalation(void **state)
{
	struct sl_block_params p;
	static const uint64_t want[] = {600, 1200, 2000, 2000};
	uint64_t t = T0;

	(void)state;
	def_params(&p);
	p.ttl_max_us = SEC(2000);
	mk_block(&p, 1);
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(want); i++) {
		assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "esc", t), 0);
		assert_int_equal(last_note()->type, SL_BNOTE_BLOCK);
		assert_int_equal(last_note()->r.offence, i + 1);
		assert_int_equal(only_rule().expires_us, t + SEC(want[i]));
		/* not a microsecond early */
		sl_block_tick(g_b, t + SEC(want[i]) - 1, last_seen_fn, &g_last_seen);
		assert_int_equal(count_notes(SL_BNOTE_UNBLOCK), i);
		sl_block_tick(g_b, t + SEC(want[i]), last_seen_fn, &g_last_seen);
		assert_int_equal(count_notes(SL_BNOTE_UNBLOCK), i + 1);
		expect_unblock("expired", t + SEC(want[i]));
		assert_int_equal(last_note()->r.offence, i + 1);
		assert_int_equal(stats().expired, i + 1);
		assert_int_equal(nic_alive(), 0);
		t += SEC(want[i]) + SEC(5);
	}
	/* another host starts at the first offence */
	assert_int_equal(sl_block_request(g_b, H2, P, 3333, 6, false, "esc", t), 0);
	assert_int_equal(last_note()->r.offence, 1);
	assert_int_equal(last_note()->r.expires_us, t + SEC(600));
	assert_int_equal(stats().extended, 0);
}

static void
test_ttl_quiet(void **state)
{
	struct sl_block_params p;
	struct sl_block_stats st;
	uint64_t due = T0 + SEC(600);

	(void)state;
	def_params(&p);
	p.nic = false;
	mk_block(&p, 0);
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "quiet", T0), 0);
	/* at the due time the host sent 10 s ago: extended by block_quiet_s */
	g_last_seen = due - SEC(10);
	sl_block_tick(g_b, due, last_seen_fn, &g_last_seen);
	assert_int_equal(count_notes(SL_BNOTE_UNBLOCK), 0);
	assert_int_equal(stats().extended, 1);
	assert_int_equal(only_rule().expires_us, due + SEC(60));
	assert_true(soft_match(H, P, 3333, 6));
	/* still talking 30 s later: extended again */
	g_last_seen = due + SEC(30);
	sl_block_tick(g_b, due + SEC(60), last_seen_fn, &g_last_seen);
	assert_int_equal(stats().extended, 2);
	assert_int_equal(only_rule().expires_us, due + SEC(120));
	/* quiet for 60 s at the next due time: expires */
	sl_block_tick(g_b, due + SEC(90), last_seen_fn, &g_last_seen);
	assert_int_equal(count_notes(SL_BNOTE_UNBLOCK), 0);
	sl_block_tick(g_b, due + SEC(120), last_seen_fn, &g_last_seen);
	expect_unblock("expired", due + SEC(120));
	st = stats();
	assert_int_equal(st.extended, 2);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.active[SL_BB_soft], 0);
	assert_false(soft_match(H, P, 3333, 6));
}

static void
test_ttl_nic_busy(void **state)
{
	struct sl_block_params p;
	uint64_t due = T0 + SEC(600);

	(void)state;
	def_params(&p);
	mk_block(&p, 1);
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "busy", T0), 0);
	g_nic.qpkts = 10;
	g_nic.qbytes = 640;
	sl_block_tick(g_b, T0 + SEC(300), NULL, NULL);
	assert_int_equal(only_rule().pkts, 10);
	assert_int_equal(only_rule().bytes, 640);
	/* drops since the last tick at the due time: busy, extended */
	g_nic.qpkts = 25;
	g_nic.qbytes = 1600;
	sl_block_tick(g_b, due, NULL, NULL);
	assert_int_equal(stats().extended, 1);
	assert_int_equal(only_rule().expires_us, due + SEC(60));
	assert_int_equal(only_rule().pkts, 25);
	assert_int_equal(count_notes(SL_BNOTE_UNBLOCK), 0);
	/* no new drops: expires, with its counters */
	sl_block_tick(g_b, due + SEC(60), NULL, NULL);
	expect_unblock("expired", due + SEC(60));
	assert_int_equal(last_note()->r.pkts, 25);
	assert_int_equal(last_note()->r.bytes, 1600);
	assert_int_equal(stats().expired, 1);
	assert_int_equal(g_nic.destroy_calls, 1);
}

/* ---------------------------------------------------------------- 5. dry run */

static void
test_dry_run(void **state)
{
	struct sl_block_params p;
	struct sl_block_stats st;
	struct sl_block_rule r;
	uint32_t gen;

	(void)state;
	def_params(&p);
	p.mode = SL_MODE_DRY_RUN;
	mk_block(&p, 2);
	gen = sl_softbl_gen(sl_block_acquire(g_b));
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "dry", T0), 0);
	assert_int_equal(sl_block_request(g_b, H2, NULL, 0, 0, true, "dry q", T0), 0);
	assert_int_equal(count_notes(SL_BNOTE_BLOCK), 2);
	assert_int_equal(last_note()->r.backend, SL_BB_dry);
	assert_int_equal(nic_calls(), 0);
	assert_false(soft_match(H, P, 3333, 6));
	assert_false(soft_match(H2, P, 80, 6));
	assert_int_equal(sl_softbl_gen(sl_block_acquire(g_b)), gen);
	st = stats();
	assert_int_equal(st.installed_dry, 2);
	assert_int_equal(st.installed_nic + st.installed_soft + st.nic_refused, 0);
	assert_int_equal(st.active[SL_BB_dry], 2);
	assert_int_equal(st.publications, 1);
	assert_int_equal(sl_block_unblock(g_b, H2, T0 + SEC(1)), 1);
	expect_unblock("operator", T0 + SEC(1));
	r = only_rule();
	assert_int_equal(r.backend, SL_BB_dry);
	sl_block_tick(g_b, T0 + SEC(600), NULL, NULL);
	expect_unblock("expired", T0 + SEC(600));
	assert_int_equal(nic_calls(), 0);
	assert_int_equal(stats().publications, 1);
}

/* ---------------------------------------------------------------- 6. RCU */

static void
test_rcu_publication(void **state)
{
	struct sl_block_params p;
	const struct sl_softbl *t0, *t1, *t2;
	struct sl_block_stats st;

	(void)state;
	def_params(&p);
	p.nic = false;
	p.nworkers = 1;
	mk_block(&p, 0);
	t0 = sl_block_acquire(g_b);
	assert_non_null(t0);
	sl_block_worker_online(g_b, 0);
	/* first change: published at once (nothing retired yet) */
	assert_int_equal(sl_block_request(g_b, H, P, 1, 6, false, "1", T0), 0);
	t1 = sl_block_acquire(g_b);
	assert_ptr_not_equal(t1, t0);
	assert_int_not_equal(sl_softbl_gen(t1), sl_softbl_gen(t0));
	assert_true(sl_softbl_match(t1, H, P, 1, 6));
	st = stats();
	assert_int_equal(st.publications, 2);
	assert_int_equal(st.publish_deferred, 0);
	/* second change while the worker may still read t0: deferred */
	assert_int_equal(sl_block_request(g_b, H, P, 2, 6, false, "2", T0), 0);
	assert_int_equal(last_note()->type, SL_BNOTE_BLOCK);
	assert_ptr_equal(sl_block_acquire(g_b), t1);
	assert_false(sl_softbl_match(t1, H, P, 2, 6));
	st = stats();
	assert_int_equal(st.publications, 2);
	assert_int_equal(st.publish_deferred, 1);
	/* a tick without a quiescent state: still deferred */
	sl_block_tick(g_b, T0 + SEC(1), NULL, NULL);
	assert_ptr_equal(sl_block_acquire(g_b), t1);
	assert_int_equal(stats().publish_deferred, 2);
	/* the worker moves on: the next tick publishes */
	sl_block_quiescent(g_b, 0);
	sl_block_tick(g_b, T0 + SEC(2), NULL, NULL);
	t2 = sl_block_acquire(g_b);
	assert_ptr_not_equal(t2, t1);
	assert_int_not_equal(sl_softbl_gen(t2), sl_softbl_gen(t1));
	assert_true(sl_softbl_match(t2, H, P, 1, 6));
	assert_true(sl_softbl_match(t2, H, P, 2, 6));
	st = stats();
	assert_int_equal(st.publications, 3);
	assert_int_equal(st.publish_deferred, 2);
	/* a worker gone offline holds nothing back */
	sl_block_worker_offline(g_b, 0);
	assert_int_equal(sl_block_unblock(g_b, H, T0 + SEC(3)), 2);
	assert_int_equal(stats().publications, 4);
	assert_false(soft_match(H, P, 1, 6));
	assert_int_equal(sl_block_request(g_b, H, P, 3, 6, false, "3", T0 + SEC(4)), 0);
	assert_int_equal(stats().publications, 5);
	assert_true(soft_match(H, P, 3, 6));
	assert_int_equal(stats().publish_deferred, 2);
}

static void
test_rcu_offline_worker(void **state)
{
	struct sl_block_params p;
	uint32_t gen;

	(void)state;
	def_params(&p);
	p.nic = false;
	p.nworkers = 2;
	mk_block(&p, 0);
	/* worker 1 never comes online; worker 0 is online and reports its quiescent states */
	sl_block_worker_online(g_b, 0);
	for (unsigned int i = 1; i <= 5; i++) {
		gen = sl_softbl_gen(sl_block_acquire(g_b));
		assert_int_equal(sl_block_request(g_b, H, P, (uint16_t)i, 6, false, "w", T0), 0);
		assert_int_not_equal(sl_softbl_gen(sl_block_acquire(g_b)), gen);
		assert_true(soft_match(H, P, (uint16_t)i, 6));
		sl_block_quiescent(g_b, 0);
	}
	assert_int_equal(stats().publish_deferred, 0);
	assert_int_equal(stats().publications, 6);
	sl_block_worker_offline(g_b, 0);
}

static void
test_rcu_no_worker_online(void **state)
{
	struct sl_block_params p;

	(void)state;
	def_params(&p);
	p.nic = false;
	p.nworkers = 1;
	mk_block(&p, 0);
	for (unsigned int i = 1; i <= 5; i++) {
		assert_int_equal(sl_block_request(g_b, H, P, (uint16_t)i, 6, false, "w", T0), 0);
		assert_true(soft_match(H, P, (uint16_t)i, 6));
	}
	assert_int_equal(stats().publish_deferred, 0);
	assert_int_equal(stats().publications, 6);
	assert_int_equal(sl_softbl_gen(sl_block_acquire(g_b)), 6);
	assert_int_equal(sl_softbl_gen(NULL), 0);
	assert_false(sl_softbl_match(NULL, H, P, 1, 6));
}

/* ---------------------------------------------------------------- 7. verdicts */

static struct sl_signal *
add_sig(struct sl_score_view *v, uint8_t kind, uint8_t det, uint64_t flow, uint8_t proto,
	const uint8_t peer[16], uint16_t sport, uint16_t dport, bool host_dst)
{
	struct sl_signal *g = &v->sig[v->nsig++];

	assert_true(v->nsig <= SL_SCORE_SIGNALS);
	memset(g, 0, sizeof(*g));
	g->kind = kind;
	g->detector = det;
	g->flow_id = flow;
	g->proto = proto;
	g->live = 1;
	g->points = 50.0f;
	if (peer != NULL)
		memcpy(g->peer, peer, 16);
	g->sport = sport;
	g->dport = dport;
	g->host_dst = host_dst;
	return g;
}

static const struct sl_block_rule *
find_rule(const struct rules *rs, const uint8_t peer[16], uint16_t dport, uint8_t proto)
{
	for (unsigned int i = 0; i < rs->n; i++)
		if (memcmp(rs->r[i].key.peer, peer, 16) == 0 && rs->r[i].key.dport == dport &&
		    rs->r[i].key.proto == proto)
			return &rs->r[i];
	return NULL;
}

static void
mk_view(struct sl_score_view *v, uint8_t *p3, uint8_t *p4)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->addr, H, 16);
	v->score = 85.0f;
	v->peak = 85.0f;
	v->level = SL_LEVEL_BLOCK;
	v4(p3, 45, 67, 89, 10);
	v4(p4, 9, 9, 9, 9);
	add_sig(v, SL_SIG_dpi, SL_DET_stratum_submit, 1, 6, P, 40000, 3333, false);
	add_sig(v, SL_SIG_pool_name, SL_DET_dns_pool_name, 2, 17, p4, 5353, 53, false);
	add_sig(v, SL_SIG_pool_name, SL_DET_tls_sni_pool, 3, 6, P2, 40001, 443, false);
	add_sig(v, SL_SIG_behaviour, 0, 4, 6, p3, 40002, 8443, false);
	add_sig(v, SL_SIG_baseline, 0, 0, 0, NULL, 0, 0, false);
	add_sig(v, SL_SIG_pool_ip, SL_DET_pool_ip, 5, 6, P, 40003, 3333, false);
	add_sig(v, SL_SIG_fingerprint, SL_DET_sv2_noise, 6, 6, P2, 40004, 443, false);
	/* the same peer and port as the (skipped) DNS lookup: not a duplicate of it */
	add_sig(v, SL_SIG_dpi, SL_DET_xmr_job, 7, 17, p4, 40005, 53, false);
}

static void
test_verdict_pool(void **state)
{
	struct sl_block_params p;
	struct sl_score_view v;
	struct rules rs;
	const struct sl_block_rule *r;
	uint8_t p3[16], p4[16];

	(void)state;
	def_params(&p);
	mk_block(&p, 1);
	mk_view(&v, p3, p4);
	assert_int_equal(sl_block_verdict(g_b, &v, T0), 4);
	assert_int_equal(count_notes(SL_BNOTE_BLOCK), 4);
	assert_int_equal(count_notes(SL_BNOTE_REFUSED), 0); /* no duplicate was asked for */
	assert_int_equal(rules_of(&rs), 4);
	for (unsigned int i = 0; i < rs.n; i++) {
		assert_memory_equal(rs.r[i].key.host, H, 16);
		assert_int_equal(rs.r[i].key.scope, SL_SCOPE_POOL);
		assert_int_equal(rs.r[i].operator_made, 0);
		assert_non_null(strstr(rs.r[i].reason, "score 85.0 reached the block level"));
	}
	r = find_rule(&rs, P, 3333, 6);
	assert_non_null(r);
	assert_non_null(strstr(r->reason, "dpi stratum_submit"));
	r = find_rule(&rs, P2, 443, 6);
	assert_non_null(r);
	assert_non_null(strstr(r->reason, "pool_name tls_sni_pool"));
	r = find_rule(&rs, p3, 8443, 6);
	assert_non_null(r);
	assert_non_null(strstr(r->reason, "behaviour"));
	r = find_rule(&rs, p4, 53, 17);
	assert_non_null(r);
	assert_non_null(strstr(r->reason, "dpi xmr_job"));
	assert_int_equal(stats().requests, 4);
	/* the same verdict again: every rule exists (extended), none made */
	assert_int_equal(sl_block_verdict(g_b, &v, T0 + SEC(10)), 0);
	assert_int_equal(count_notes(SL_BNOTE_REFUSED), 4);
	expect_refused(SL_BR_exists);
	assert_int_equal(rules_of(&rs), 4);
}

static void
test_verdict_quarantine(void **state)
{
	struct sl_block_params p;
	struct sl_score_view v;
	struct sl_block_rule r;
	uint8_t p3[16], p4[16], zero[16];

	(void)state;
	def_params(&p);
	p.scope = SL_SCOPE_QUARANTINE;
	mk_block(&p, 1);
	mk_view(&v, p3, p4);
	assert_int_equal(sl_block_verdict(g_b, &v, T0), 1);
	assert_int_equal(count_notes(SL_BNOTE_BLOCK), 1);
	r = only_rule();
	memset(zero, 0, sizeof(zero));
	assert_int_equal(r.key.scope, SL_SCOPE_QUARANTINE);
	assert_memory_equal(r.key.host, H, 16);
	assert_memory_equal(r.key.peer, zero, 16);
	assert_int_equal(r.key.dport, 0);
	assert_int_equal(r.key.proto, 0);
	assert_non_null(strstr(r.reason, "reached block level"));
	assert_non_null(strstr(r.reason, "10.0.0.1"));
	/* again: exists, not made */
	assert_int_equal(sl_block_verdict(g_b, &v, T0 + SEC(1)), 0);
	expect_refused(SL_BR_exists);
	/* an allowlisted host gets nothing */
	assert_int_equal(sl_block_allow(g_b, &(struct sl_cidr){.addr = {0}, .plen = 0}), 0);
	memcpy(v.addr, H2, 16);
	assert_int_equal(sl_block_verdict(g_b, &v, T0 + SEC(2)), 0);
	expect_refused(SL_BR_allowlisted);
}

/*
 * Regression test (a bug found and fixed): sl_block_verdict deduplicates signals on the raw
 * (peer, dport, proto) but requests the rule on (peer, host_dst ? sport : dport, proto).
 * A signal where the host is the flow's responder (host_dst) is therefore taken for a
 * duplicate of another signal with the same peer and dport, and its rule (the peer's port,
 * sport) is never made.
 */
static void
test_verdict_dedup_effective_port(void **state)
{
	struct sl_block_params p;
	struct sl_score_view v;
	struct rules rs;

	(void)state;
	def_params(&p);
	mk_block(&p, 1);
	memset(&v, 0, sizeof(v));
	memcpy(v.addr, H, 16);
	v.score = 90.0f;
	/* the host connects to P:3333 ... */
	add_sig(&v, SL_SIG_dpi, SL_DET_stratum_submit, 1, 6, P, 40000, 3333, false);
	/* ... and P connects from port 4444 to the host's port 3333 */
	add_sig(&v, SL_SIG_dpi, SL_DET_stratum_notify, 2, 6, P, 4444, 3333, true);
	assert_int_equal(sl_block_verdict(g_b, &v, T0), 2);
	assert_int_equal(rules_of(&rs), 2);
	assert_non_null(find_rule(&rs, P, 3333, 6));
	assert_non_null(find_rule(&rs, P, 4444, 6));
}

/*
 * Regression test (a bug found and fixed): in pool scope one verdict makes one rule per pool peer,
 * and sl_block_request counts every rule as a new offence of the host, so the rules of a
 * single verdict escalate among themselves: the first gets block_ttl_s, the second 2x, the
 * third 4x... A host's first offence (block level reached once) should give every one of
 * its rules offence 1 and block_ttl_s.
 */
static void
test_verdict_one_offence(void **state)
{
	struct sl_block_params p;
	struct sl_score_view v;
	struct rules rs;
	uint8_t p3[16], p4[16];

	(void)state;
	def_params(&p);
	mk_block(&p, 1);
	mk_view(&v, p3, p4);
	assert_int_equal(sl_block_verdict(g_b, &v, T0), 4);
	assert_int_equal(rules_of(&rs), 4);
	for (unsigned int i = 0; i < rs.n; i++) {
		assert_int_equal(rs.r[i].offence, 1);
		assert_int_equal(rs.r[i].expires_us, T0 + SEC(600));
	}
}

/* ---------------------------------------------------------------- 8. params */

static void
test_params_from_cfg(void **state)
{
	struct sl_cfg c;
	struct sl_block_params p;
	char err[256];

	(void)state;
	sl_cfg_defaults(&c);
	assert_int_equal(sl_block_params_from_cfg(&c, &p, err, sizeof(err)), 0);
	assert_int_equal(p.mode, SL_MODE_MONITOR);
	assert_int_equal(p.scope, SL_SCOPE_POOL);
	assert_true(p.nic);
	assert_true(p.soft);
	assert_int_equal(p.allow.n, 0);
	assert_int_equal(p.max_active, 1024);
	assert_int_equal(p.max_per_minute, 60);
	assert_int_equal(p.ttl_us, SEC(600));
	assert_int_equal(p.ttl_max_us, SEC(86400));
	assert_int_equal(p.quiet_us, SEC(60));

	assert_int_equal(sl_cfg_set(&c, "mode", "inline", err, sizeof(err)), 0);
	assert_int_equal(sl_cfg_set(&c, "block_scope", "quarantine", err, sizeof(err)), 0);
	assert_int_equal(sl_cfg_set(&c, "block_backend", "nic", err, sizeof(err)), 0);
	assert_int_equal(sl_cfg_set(&c, "block_allowlist", "192.0.2.0/24 10.1.2.3", err,
		sizeof(err)), 0);
	assert_int_equal(sl_cfg_set(&c, "block_ttl_s", "30", err, sizeof(err)), 0);
	assert_int_equal(sl_cfg_set(&c, "block_ttl_max_s", "30", err, sizeof(err)), 0);
	assert_int_equal(sl_block_params_from_cfg(&c, &p, err, sizeof(err)), 0);
	assert_int_equal(p.mode, SL_MODE_INLINE);
	assert_int_equal(p.scope, SL_SCOPE_QUARANTINE);
	assert_true(p.nic);
	assert_false(p.soft);
	assert_int_equal(p.allow.n, 2);
	assert_int_equal(p.ttl_us, SEC(30));
	assert_int_equal(p.ttl_max_us, SEC(30));
	assert_int_equal(sl_cfg_set(&c, "mode", "dry_run", err, sizeof(err)), 0);
	assert_int_equal(sl_cfg_set(&c, "block_backend", "soft", err, sizeof(err)), 0);
	assert_int_equal(sl_block_params_from_cfg(&c, &p, err, sizeof(err)), 0);
	assert_int_equal(p.mode, SL_MODE_DRY_RUN);
	assert_false(p.nic);
	assert_true(p.soft);

	/* errors */
	sl_cfg_defaults(&c);
	/* sl_cfg_set refuses it (test_cfg); the response checks again */
	assert_int_equal(sl_cfg_set(&c, "mode", "block", err, sizeof(err)), -EINVAL);
	snprintf(c.mode, sizeof(c.mode), "block");
	err[0] = '\0';
	assert_int_equal(sl_block_params_from_cfg(&c, &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "mode: 'block'"));

	sl_cfg_defaults(&c);
	/* sl_cfg_set refuses it (test_cfg); the response checks again */
	assert_int_equal(sl_cfg_set(&c, "block_scope", "host", err, sizeof(err)), -EINVAL);
	snprintf(c.block_scope, sizeof(c.block_scope), "host");
	err[0] = '\0';
	assert_int_equal(sl_block_params_from_cfg(&c, &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "block_scope: 'host'"));

	sl_cfg_defaults(&c);
	/* sl_cfg_set refuses it (test_cfg); the response checks again */
	assert_int_equal(sl_cfg_set(&c, "block_backend", "rte_flow", err, sizeof(err)), -EINVAL);
	snprintf(c.block_backend, sizeof(c.block_backend), "rte_flow");
	err[0] = '\0';
	assert_int_equal(sl_block_params_from_cfg(&c, &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "block_backend: 'rte_flow'"));

	sl_cfg_defaults(&c);
	assert_int_equal(sl_cfg_set(&c, "block_allowlist", "192.0.2.0/24, 10.0.0.300", err,
		sizeof(err)), -EINVAL);
	snprintf(c.block_allowlist, sizeof(c.block_allowlist), "192.0.2.0/24, 10.0.0.300");
	err[0] = '\0';
	assert_int_equal(sl_block_params_from_cfg(&c, &p, err, sizeof(err)), -EINVAL);
	assert_ptr_equal(strstr(err, "block_allowlist: "), err);
	assert_non_null(strstr(err, "10.0.0.300"));

	sl_cfg_defaults(&c);
	assert_int_equal(sl_cfg_set(&c, "block_ttl_s", "1000", err, sizeof(err)), 0);
	assert_int_equal(sl_cfg_set(&c, "block_ttl_max_s", "999", err, sizeof(err)), 0);
	err[0] = '\0';
	assert_int_equal(sl_block_params_from_cfg(&c, &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "block_ttl_max_s (999) is below block_ttl_s (1000)"));

	/* create refuses zero caps and too many ports */
	def_params(&p);
	p.max_active = 0;
	assert_null(sl_block_create(&p, g_ports, 1, &fake_ops, on_note, &g_notes, SOCKET_ID_ANY));
	def_params(&p);
	p.max_per_minute = 0;
	assert_null(sl_block_create(&p, g_ports, 1, &fake_ops, on_note, &g_notes, SOCKET_ID_ANY));
	def_params(&p);
	assert_null(sl_block_create(&p, g_ports, SL_BLOCK_MAX_PORTS + 1, &fake_ops, on_note,
		&g_notes, SOCKET_ID_ANY));
	/* names */
	assert_string_equal(sl_block_backend_name(SL_BB_soft), "soft");
	assert_null(sl_block_backend_name(SL_BB_MAX));
	assert_string_equal(sl_block_refusal_name(SL_BR_cap_rate), "cap_rate");
	assert_null(sl_block_refusal_name(SL_BR_MAX));
	assert_int_equal(sl_block_num_counters(),
		offsetof(struct sl_block_stats, active) / sizeof(uint64_t));
	assert_string_equal(sl_block_counter_name(0), "requests");
}

/* ---------------------------------------------------------------- 9. free */

static void
test_free_reports_exit(void **state)
{
	struct sl_block_params p;
	bool seen[4] = {false};

	(void)state;
	def_params(&p);
	mk_block(&p, 2);
	assert_int_equal(sl_block_request(g_b, H, P, 1, 6, false, "nic", T0), 0);
	assert_int_equal(last_note()->r.backend, SL_BB_nic);
	g_nic.validate_fail_at = 3;
	assert_int_equal(sl_block_request(g_b, H, P, 2, 6, false, "soft", T0), 0);
	assert_int_equal(last_note()->r.backend, SL_BB_soft);
	assert_int_equal(sl_block_request(g_b, H2, P, 3, 17, true, "nic2", T0), 0);
	assert_int_equal(last_note()->r.backend, SL_BB_nic);
	assert_int_equal(nic_alive(), 4);
	assert_int_equal(g_notes.cnt, 3);
	assert_int_equal(g_nic.destroy_calls, 0);

	sl_block_free(g_b, T0 + SEC(5));
	g_b = NULL;
	assert_int_equal(g_notes.cnt, 6);
	for (unsigned int i = 3; i < 6; i++) {
		const struct rec *n = &g_notes.n[i];

		assert_int_equal(n->type, SL_BNOTE_UNBLOCK);
		assert_string_equal(n->text, "exit");
		assert_int_equal(n->ts, T0 + SEC(5));
		assert_true(n->r.key.dport >= 1 && n->r.key.dport <= 3);
		assert_false(seen[n->r.key.dport]);
		seen[n->r.key.dport] = true;
	}
	assert_int_equal(g_nic.destroy_calls, 4);
	assert_int_equal(nic_alive(), 0);
	sl_block_free(NULL, T0); /* harmless */
}

/* ---------------------------------------------------------------- main */

static int
group_setup(void **state)
{
	(void)state;
	v4(H, 10, 0, 0, 1);
	v4(H2, 10, 0, 0, 2);
	v4(P, 198, 18, 0, 10);
	v4(P2, 198, 18, 0, 20);
	if (sl_test_eal_init("block") < 0)
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

#define T(fn) cmocka_unit_test_setup_teardown(fn, tc_setup, tc_teardown)

/* EVE signature ids: every detector and signal kind has one of its own, inside sluice's
 * documented range (8 100 001 - 8 100 999), clear of ET Open and local rules. */
static void
test_signature_ids(void **state)
{
	uint32_t seen[SL_DET_MAX + SL_SIG_MAX + 1];
	unsigned int n = 0;

	(void)state;
	for (unsigned int d = 0; d < SL_DET_MAX; d++)
		seen[n++] = sl_det_sid(d);
	for (unsigned int k = 0; k < SL_SIG_MAX; k++)
		seen[n++] = sl_signal_kind_sid(k);
	seen[n++] = SL_BLOCK_SID_OPERATOR;
	for (unsigned int i = 0; i < n; i++) {
		assert_true(seen[i] >= 8100001 && seen[i] <= 8100999);
		for (unsigned int k = 0; k < i; k++)
			assert_true(seen[k] != seen[i]);
	}
	assert_int_equal(sl_det_sid(SL_DET_MAX), 0);
	assert_int_equal(sl_signal_kind_sid(SL_SIG_MAX), 0);
	assert_int_equal(sl_det_sid(SL_DET_stratum_subscribe), 8100001); /* never renumbered */
}

static void
sid_cb(void *arg, const struct sl_block_rule *r)
{
	*(uint32_t *)arg = r->sid;
}

/* A rule carries the id of what made it: an operator's, or its reason's. */
static void
test_rule_signature_id(void **state)
{
	struct sl_block_params p;
	uint32_t sid = 0;

	(void)state;
	def_params(&p);
	mk_block(&p, 1);
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, true, "op", T0), 0);
	sl_block_foreach(g_b, sid_cb, &sid);
	assert_int_equal(sid, SL_BLOCK_SID_OPERATOR);
	assert_true(sl_block_holds(g_b, H));
	assert_false(sl_block_holds(g_b, P));
}


/* A port that came back: its NIC rules are created again there; a rule the NIC now refuses
 * moves whole to the soft blocklist (its handles on the other ports destroyed). */
static void
test_reinstall_after_port_restart(void **state)
{
	struct sl_block_params p;
	struct sl_block_rule r;
	unsigned int creates, destroys;

	(void)state;
	def_params(&p);
	mk_block(&p, 2);
	assert_int_equal(sl_block_request(g_b, H, P, 3333, 6, false, "test", T0), 0);
	creates = g_nic.create_calls;
	destroys = g_nic.destroy_calls;
	/* port 5 restarted: one destroy (of the stale handle) and one create, on port 5 only */
	assert_int_equal(sl_block_reinstall(g_b, 5, T0 + SEC(1)), 1);
	assert_int_equal(g_nic.create_calls, creates + 1);
	assert_int_equal(g_nic.destroy_calls, destroys + 1);
	r = only_rule();
	assert_int_equal(r.backend, SL_BB_nic);
	assert_int_equal(stats().reinstalled, 1);
	/* a port without rules: nothing to do */
	assert_int_equal(sl_block_reinstall(g_b, 7, T0 + SEC(2)), 0);
	/* port 3 came back but now refuses: the rule goes soft, port 5's handle is destroyed */
	g_nic.create_fail_port = 3;
	assert_int_equal(sl_block_reinstall(g_b, 3, T0 + SEC(3)), 0);
	r = only_rule();
	assert_int_equal(r.backend, SL_BB_soft);
	assert_int_equal(r.nports, 0);
	assert_non_null(strstr(r.nic_error, "port 3 re-create"));
	assert_int_equal(nic_alive(), 0);
	assert_true(soft_match(H, P, 3333, 6));
	assert_int_equal(stats().reinstall_failed, 1);
	assert_int_equal(last_note()->type, SL_BNOTE_BLOCK);
	assert_int_equal(last_note()->r.backend, SL_BB_soft);
}


/* Workers keep the low byte of the table generation in each flow, and a new flow holds 0: a
 * published generation never has a zero low byte, so a new flow is always looked up. */
static void
test_generation_never_zero_low_byte(void **state)
{
	struct sl_block_params p;
	struct sl_cidr c;

	(void)state;
	def_params(&p);
	mk_block(&p, 0);
	assert_int_equal(sl_cidr_parse("10.77.0.0/16", &c), 0);
	for (unsigned int i = 0; i < 600; i++) {
		assert_int_equal(i & 1 ? sl_block_disallow(g_b, &c) : sl_block_allow(g_b, &c), 0);
		assert_int_not_equal(sl_softbl_gen(sl_block_acquire(g_b)) & 0xff, 0);
	}
	assert_true(sl_softbl_gen(sl_block_acquire(g_b)) > 600);
}

/* ---------------------------------------------------------------- BGP */

static struct {
	pthread_mutex_t lock;
	char call[64][320];
	unsigned int n;
} g_bgp = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The speaker's CLI, faked: polls answer, announce and withdraw calls are recorded. */
static int
bgp_run(void *arg, char *const argv[], char *out, size_t outlen)
{
	char line[256] = "";
	size_t k = 0;

	(void)arg;
	snprintf(out, outlen, "{}");
	if (strcmp(argv[6], "rib") != 0 || strcmp(argv[7], "-a") != 0)
		return 0; /* a poll: "global -j" or "global rib summary -a FAM -j" */
	for (int i = 9; argv[i] != NULL; i++) /* after "-a FAM" */
		k += (size_t)snprintf(line + k, sizeof(line) - k, "%s%s", k ? " " : "", argv[i]);
	pthread_mutex_lock(&g_bgp.lock);
	if (g_bgp.n < 64)
		snprintf(g_bgp.call[g_bgp.n++], sizeof(g_bgp.call[0]), "%s %s", argv[8], line);
	pthread_mutex_unlock(&g_bgp.lock);
	return 0;
}

static struct sl_bgp *
mk_bgp(int mode, uint32_t max_routes)
{
	struct sl_bgp_params bp;
	struct sl_bgp_exec ex = {.run = bgp_run};
	struct sl_cfg c;
	char err[256];
	struct sl_bgp *g;

	sl_cfg_defaults(&c);
	assert_int_equal(sl_bgp_params_from_cfg(&c, &bp, err, sizeof(err)), 0);
	bp.mode = mode;
	bp.max_routes = max_routes;
	pthread_mutex_lock(&g_bgp.lock);
	g_bgp.n = 0;
	pthread_mutex_unlock(&g_bgp.lock);
	g = sl_bgp_create(&bp, &ex, NULL, NULL);
	assert_non_null(g);
	return g;
}

/* Wait (5 s at most) for @p n recorded calls. */
static void
bgp_wait_calls(struct sl_bgp *g, unsigned int n)
{
	for (unsigned int i = 0; i < 5000; i++) {
		unsigned int k;

		sl_bgp_tick(g, T0);
		pthread_mutex_lock(&g_bgp.lock);
		k = g_bgp.n;
		pthread_mutex_unlock(&g_bgp.lock);
		if (k >= n) {
			usleep(20000); /* and no more than @p n */
			sl_bgp_tick(g, T0);
			pthread_mutex_lock(&g_bgp.lock);
			assert_int_equal(g_bgp.n, n);
			pthread_mutex_unlock(&g_bgp.lock);
			return;
		}
		usleep(1000);
	}
	fail_msg("%u BGP calls, %u expected", g_bgp.n, n);
}

/* block_backend = auto bgp: the NIC holds the rule and BGP announces it; an allowlisted host
 * reaches neither; the rule's routes are withdrawn when it goes. */
static void
test_bgp_with_nic(void **state)
{
	struct sl_block_params p;
	struct sl_block_stats st;
	struct sl_bgp *g = mk_bgp(SL_BGP_FLOWSPEC, 16);
	uint8_t h[16], peer[16];

	(void)state;
	def_params(&p);
	p.bgp = true;
	p.allow.cidr[p.allow.n++] = cidr("10.9.0.0/16");
	mk_block(&p, 2);
	sl_block_set_bgp(g_b, g);
	assert_ptr_equal(sl_block_bgp(g_b), g);
	v4(h, 10, 1, 2, 3);
	v4(peer, 198, 51, 100, 7);
	assert_int_equal(sl_block_request(g_b, h, peer, 3333, 6, false, "t", T0), 0);
	assert_int_equal(last_note()->r.backend, SL_BB_nic);
	assert_int_equal(last_note()->r.backends, (1u << SL_BB_nic) | (1u << SL_BB_bgp));
	assert_int_equal(last_note()->r.nroutes, 1);
	bgp_wait_calls(g, 1);
	assert_string_equal(g_bgp.call[0], "ipv4-flowspec add match destination 198.51.100.7/32 "
					   "source 10.1.2.3/32 protocol tcp destination-port ==3333 then discard");
	v4(h, 10, 9, 0, 1);
	assert_int_equal(sl_block_request(g_b, h, peer, 3333, 6, false, "t", T0), -EPERM);
	expect_refused(SL_BR_allowlisted);
	sl_block_get_stats(g_b, &st);
	assert_int_equal(st.installed_bgp, 1);
	assert_int_equal(st.active[SL_BB_nic], 1);
	assert_int_equal(st.active[SL_BB_bgp], 1);
	v4(h, 10, 1, 2, 3);
	assert_int_equal(sl_block_unblock(g_b, h, T0 + SEC(1)), 1);
	bgp_wait_calls(g, 2);
	assert_non_null(strstr(g_bgp.call[1], "ipv4-flowspec del match destination 198.51.100.7/32"));
	sl_block_free(g_b, T0);
	g_b = NULL;
	sl_bgp_free(g, NULL);
}

/* Monitor mode: BGP alone; the NIC is never called, no soft rule; a quarantine is announced
 * as accept routes for the allowlisted ranges of its family, then the discard; the route cap
 * refuses what does not fit, whole. */
static void
test_bgp_alone_monitor_quarantine_cap(void **state)
{
	struct sl_block_params p;
	struct sl_block_stats st, before;
	struct sl_bgp *g = mk_bgp(SL_BGP_FLOWSPEC, 4);
	uint8_t h[16];

	(void)state;
	def_params(&p);
	p.mode = SL_MODE_MONITOR;
	p.scope = SL_SCOPE_QUARANTINE;
	p.bgp = true;
	p.allow.cidr[p.allow.n++] = cidr("10.9.0.0/16");
	p.allow.cidr[p.allow.n++] = cidr("2001:db8::/32");
	p.allow.cidr[p.allow.n++] = cidr("192.0.2.0/24");
	mk_block(&p, 2);
	sl_block_get_stats(g_b, &before);
	sl_block_set_bgp(g_b, g);
	v4(h, 10, 1, 2, 3);
	assert_int_equal(sl_block_request(g_b, h, NULL, 0, 0, false, "t", T0), 0);
	assert_int_equal(last_note()->r.backend, SL_BB_bgp);
	assert_int_equal(last_note()->r.backends, 1u << SL_BB_bgp);
	assert_int_equal(last_note()->r.nroutes, 3);
	bgp_wait_calls(g, 3);
	assert_string_equal(g_bgp.call[0], "ipv4-flowspec add match destination 10.9.0.0/16 source "
					   "10.1.2.3/32 then accept");
	assert_string_equal(g_bgp.call[1], "ipv4-flowspec add match destination 192.0.2.0/24 source "
					   "10.1.2.3/32 then accept");
	assert_string_equal(g_bgp.call[2], "ipv4-flowspec add match source 10.1.2.3/32 then discard");
	assert_int_equal(nic_calls(), 0);
	/* one route left: a second quarantine needs three, refused whole */
	v4(h, 10, 1, 2, 4);
	assert_int_equal(sl_block_request(g_b, h, NULL, 0, 0, true, "t", T0), -EPERM);
	expect_refused(SL_BR_bgp_cap);
	assert_int_equal(sl_bgp_room(g), 1);
	sl_block_get_stats(g_b, &st);
	assert_int_equal(st.refused_bgp_cap, 1);
	assert_int_equal(st.installed_soft, 0);
	assert_int_equal(st.publications, before.publications);
	assert_int_equal(sl_block_rule_bgp_state(g_b, &last_note()->r), -1); /* not announced */
	assert_int_equal(sl_block_rule_bgp_state(g_b, &g_notes.n[0].r), SL_BGP_RS_ANNOUNCED);
	sl_block_free(g_b, T0); /* withdraws the three */
	g_b = NULL;
	bgp_wait_calls(g, 6);
	sl_bgp_free(g, NULL);
}

/* RTBH: two hosts on one pool share its route (one announce, withdrawn with the last rule);
 * with a local holder, a full route table leaves the rule local only, counted. */
static void
test_bgp_rtbh_shared_and_not_announced(void **state)
{
	struct sl_block_params p;
	struct sl_block_stats st;
	struct sl_bgp *g = mk_bgp(SL_BGP_RTBH, 1);
	uint8_t h1[16], h2[16], peer[16], peer2[16];

	(void)state;
	def_params(&p);
	p.bgp = true;
	p.bgp_mode = SL_BGP_RTBH;
	mk_block(&p, 2);
	sl_block_set_bgp(g_b, g);
	v4(h1, 10, 1, 2, 3);
	v4(h2, 10, 1, 2, 4);
	v4(peer, 198, 51, 100, 7);
	v4(peer2, 198, 51, 100, 8);
	assert_int_equal(sl_block_request(g_b, h1, peer, 3333, 6, false, "t", T0), 0);
	assert_int_equal(sl_block_request(g_b, h2, peer, 3333, 6, false, "t", T0), 0);
	assert_int_equal(last_note()->r.backends, (1u << SL_BB_nic) | (1u << SL_BB_bgp));
	bgp_wait_calls(g, 1);
	assert_string_equal(g_bgp.call[0], "ipv4 add 198.51.100.7/32 nexthop 192.0.2.1 community "
					   "65535:666");
	assert_int_equal(sl_block_request(g_b, h1, peer2, 3333, 6, false, "t", T0), 0);
	assert_int_equal(last_note()->r.backends, 1u << SL_BB_nic); /* held by the NIC only */
	sl_block_get_stats(g_b, &st);
	assert_int_equal(st.bgp_not_announced, 1);
	assert_int_equal(st.installed_bgp, 2);
	assert_int_equal(sl_block_unblock(g_b, h1, T0), 2);
	bgp_wait_calls(g, 1); /* h2 still holds the route */
	assert_int_equal(sl_block_unblock(g_b, h2, T0), 1);
	bgp_wait_calls(g, 2);
	assert_string_equal(g_bgp.call[1], "ipv4 del 198.51.100.7/32");
	sl_block_free(g_b, T0);
	g_b = NULL;
	sl_bgp_free(g, NULL);
}

static void
test_bgp_backend_keys(void **state)
{
	struct sl_block_params p;
	struct sl_cfg c;
	char err[512];
	static const struct {
		const char *v;
		int rc;
		bool nic, soft, bgp;
	} cases[] = {
		{"auto bgp", 0, true, true, true},
		{"nic,bgp", 0, true, false, true},
		{"bgp soft", 0, false, true, true},
		{"bgp", 0, false, false, true},
		{"auto", 0, true, true, false},
		{"bgp bgp", -EINVAL, 0, 0, 0},
		{"nic soft", -EINVAL, 0, 0, 0},
		{"", -EINVAL, 0, 0, 0},
		{"auto fpga", -EINVAL, 0, 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sl_cfg_defaults(&c);
		/* the config refuses a bad value where it is set; the response checks it again */
		assert_int_equal(sl_cfg_set(&c, "block_backend", cases[i].v, err, sizeof(err)),
			cases[i].rc);
		snprintf(c.block_backend, sizeof(c.block_backend), "%s", cases[i].v);
		assert_int_equal(sl_block_params_from_cfg(&c, &p, err, sizeof(err)), cases[i].rc);
		if (cases[i].rc != 0) {
			assert_non_null(strstr(err, "block_backend: '"));
			continue;
		}
		assert_int_equal(p.nic, cases[i].nic);
		assert_int_equal(p.soft, cases[i].soft);
		assert_int_equal(p.bgp, cases[i].bgp);
	}
	sl_cfg_defaults(&c);
	assert_int_equal(sl_cfg_set(&c, "block_backend", "bgp", err, sizeof(err)), 0);
	assert_int_equal(sl_cfg_set(&c, "bgp_mode", "rtbh", err, sizeof(err)), 0);
	assert_int_equal(sl_block_params_from_cfg(&c, &p, err, sizeof(err)), 0);
	assert_int_equal(p.bgp_mode, SL_BGP_RTBH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature_ids),
		T(test_rule_signature_id),
		T(test_nic_all_ok),
		T(test_nic_validate_fails),
		T(test_nic_create_fails_second_port),
		T(test_nic_create_null_rc0),
		T(test_nic_no_ports),
		T(test_nic_destroy_fails),
		T(test_nic_query_fails),
		T(test_backend_nic_only_refused),
		T(test_backend_nic_refusal_not_an_offence), /* regression */
		T(test_backend_nic_refusal_no_rate_slot), /* regression */
		T(test_backend_soft_only),
		T(test_allowlist_host_and_peer),
		T(test_bad_targets),
		T(test_allowlist_runtime_edits),
		T(test_quarantine_exceptions),
		T(test_pool_key_exact),
		T(test_cap_active),
		T(test_cap_rate),
		T(test_duplicate_extends),
		T(test_duplicate_clock_restarts), /* regression */
		T(test_ttl_escalation),
		T(test_ttl_quiet),
		T(test_ttl_nic_busy),
		T(test_dry_run),
		T(test_rcu_publication),
		T(test_rcu_offline_worker),
		T(test_rcu_no_worker_online),
		T(test_verdict_pool),
		T(test_verdict_quarantine),
		T(test_verdict_dedup_effective_port), /* regression */
		T(test_verdict_one_offence), /* regression */
		T(test_params_from_cfg),
		T(test_free_reports_exit),
		T(test_reinstall_after_port_restart),
		T(test_generation_never_zero_low_byte),
		T(test_bgp_with_nic),
		T(test_bgp_alone_monitor_quarantine_cap),
		T(test_bgp_rtbh_shared_and_not_announced),
		T(test_bgp_backend_keys),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
