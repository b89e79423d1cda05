/* test_bgp.c: unit tests for the BGP response backend (lib/bgp): the gobgp argv of every
 * route kind (FlowSpec discard and accept, IPv4 and IPv6, RTBH with next hop and
 * communities; announce and withdraw), bad routes and short buffers, community lists,
 * settings from the config; and the route table and queue driven through an injected
 * executor: calls in order off the caller's thread, reference counting, the cap, a failed
 * call counted and retried, a speaker that goes down (calls fail at once, nothing spawned)
 * and comes back (everything announced again), one that restarts between two polls (holds
 * fewer routes: everything announced again), withdrawals made at free, and the real spawn
 * (exit status, output, a command that hangs is killed). Pure C, no EAL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sl_bgp.h"
#include "sl_cfg.h"

static void
addr(uint8_t out[16], const char *s)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out + 12) == 1)
		out[10] = out[11] = 0xff;
	else
		assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

static void
params(struct sl_bgp_params *p)
{
	struct sl_cfg c;
	char err[256];

	sl_cfg_defaults(&c);
	assert_int_equal(sl_bgp_params_from_cfg(&c, p, err, sizeof(err)), 0);
}

/* The argv joined by spaces (each word once: no shell, no quoting). */
static char *
joined(const struct sl_bgp_params *p, const struct sl_bgp_route *r, bool add)
{
	static char out[2048];
	char buf[2048], *argv[SL_BGP_ARGV_MAX];
	int n = sl_bgp_argv(p, r, add, buf, sizeof(buf), argv);
	size_t k = 0;

	assert_true(n > 0);
	assert_null(argv[n]);
	out[0] = '\0';
	for (int i = 0; i < n; i++)
		k += (size_t)snprintf(out + k, sizeof(out) - k, "%s%s", i ? " " : "", argv[i]);
	return out;
}

static void
test_argv_flowspec(void **state)
{
	struct sl_bgp_params p;
	struct sl_bgp_route r;
	char err[256];
	struct sl_cfg c;

	(void)state;
	sl_cfg_defaults(&c);
	assert_int_equal(sl_cfg_set(&c, "bgp_community", "65000:666, no-export", err,
		sizeof(err)), 0);
	assert_int_equal(sl_cfg_set(&c, "bgp_api_port", "50099", err, sizeof(err)), 0);
	assert_int_equal(sl_bgp_params_from_cfg(&c, &p, err, sizeof(err)), 0);

	memset(&r, 0, sizeof(r));
	addr(r.src, "192.168.1.66");
	addr(r.dst, "198.51.100.7");
	r.dst_plen = 128;
	r.proto = 6;
	r.dport = 3333;
	r.kind = SL_BGP_discard;
	assert_string_equal(joined(&p, &r, true),
		"gobgp -u 127.0.0.1 -p 50099 global rib -a ipv4-flowspec add match destination "
		"198.51.100.7/32 source 192.168.1.66/32 protocol tcp destination-port ==3333 then "
		"discard community 65000:666 community no-export");
	assert_string_equal(joined(&p, &r, false),
		"gobgp -u 127.0.0.1 -p 50099 global rib -a ipv4-flowspec del match destination "
		"198.51.100.7/32 source 192.168.1.66/32 protocol tcp destination-port ==3333 then "
		"discard");

	/* IPv6, UDP */
	addr(r.src, "2001:db8::66");
	addr(r.dst, "2001:db8:1::7");
	r.proto = 17;
	assert_string_equal(joined(&p, &r, true),
		"gobgp -u 127.0.0.1 -p 50099 global rib -a ipv6-flowspec add match destination "
		"2001:db8:1::7/128 source 2001:db8::66/128 protocol udp destination-port ==3333 "
		"then discard community 65000:666 community no-export");

	/* quarantine: an accept per allowlisted range, a discard of everything from the host */
	memset(&r, 0, sizeof(r));
	addr(r.src, "10.1.2.3");
	addr(r.dst, "10.9.0.0");
	r.dst_plen = 96 + 16;
	r.kind = SL_BGP_accept;
	assert_string_equal(joined(&p, &r, true),
		"gobgp -u 127.0.0.1 -p 50099 global rib -a ipv4-flowspec add match destination "
		"10.9.0.0/16 source 10.1.2.3/32 then accept community 65000:666 community no-export");
	memset(r.dst, 0, 16);
	r.dst_plen = 0;
	r.kind = SL_BGP_discard;
	assert_string_equal(joined(&p, &r, false),
		"gobgp -u 127.0.0.1 -p 50099 global rib -a ipv4-flowspec del match source "
		"10.1.2.3/32 then discard");
}

static void
test_argv_rtbh(void **state)
{
	struct sl_bgp_params p;
	struct sl_bgp_route r;

	(void)state;
	params(&p);
	memset(&r, 0, sizeof(r));
	addr(r.dst, "198.51.100.7");
	r.dst_plen = 128;
	r.kind = SL_BGP_blackhole;
	assert_string_equal(joined(&p, &r, true),
		"gobgp -u 127.0.0.1 -p 50051 global rib -a ipv4 add 198.51.100.7/32 nexthop "
		"192.0.2.1 community 65535:666");
	assert_string_equal(joined(&p, &r, false),
		"gobgp -u 127.0.0.1 -p 50051 global rib -a ipv4 del 198.51.100.7/32");
	addr(r.dst, "2001:db8:1::7");
	snprintf(p.nexthop6, sizeof(p.nexthop6), "2001:db8::dead");
	assert_string_equal(joined(&p, &r, true),
		"gobgp -u 127.0.0.1 -p 50051 global rib -a ipv6 add 2001:db8:1::7/128 nexthop "
		"2001:db8::dead community 65535:666");
}

static void
test_argv_errors(void **state)
{
	struct sl_bgp_params p;
	struct sl_bgp_route r;
	char buf[2048], *argv[SL_BGP_ARGV_MAX];

	(void)state;
	params(&p);
	memset(&r, 0, sizeof(r));
	addr(r.src, "10.1.2.3");
	r.kind = SL_BGP_KIND_MAX;
	assert_int_equal(sl_bgp_argv(&p, &r, true, buf, sizeof(buf), argv), -EINVAL);
	r.kind = SL_BGP_discard;
	r.proto = 1;
	assert_int_equal(sl_bgp_argv(&p, &r, true, buf, sizeof(buf), argv), -EINVAL);
	r.proto = 6;
	addr(r.dst, "2001:db8::1"); /* families mixed */
	r.dst_plen = 128;
	assert_int_equal(sl_bgp_argv(&p, &r, true, buf, sizeof(buf), argv), -EINVAL);
	addr(r.dst, "10.0.0.0");
	r.dst_plen = 80; /* an IPv4 prefix shorter than /0 */
	assert_int_equal(sl_bgp_argv(&p, &r, true, buf, sizeof(buf), argv), -EINVAL);
	r.dst_plen = 128;
	assert_int_equal(sl_bgp_argv(&p, &r, true, buf, 40, argv), -ENOSPC);
	assert_true(sl_bgp_argv(&p, &r, true, buf, sizeof(buf), argv) > 0);
	r.kind = SL_BGP_blackhole; /* RTBH without a prefix */
	r.dst_plen = 0;
	assert_int_equal(sl_bgp_argv(&p, &r, true, buf, sizeof(buf), argv), -EINVAL);
}

static void
test_communities_and_params(void **state)
{
	char err[256];
	struct sl_cfg c;
	struct sl_bgp_params p;

	(void)state;
	assert_int_equal(sl_bgp_check_communities("", err, sizeof(err)), 0);
	assert_int_equal(sl_bgp_check_communities("65535:666 blackhole,0:0", err, sizeof(err)), 0);
	assert_int_equal(sl_bgp_check_communities("65536:1", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'65536:1'"));
	assert_int_equal(sl_bgp_check_communities("1:", err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_bgp_check_communities(":1", err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_bgp_check_communities("1:2:3", err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_bgp_check_communities("black-hole", err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_bgp_check_communities("1:1 2:2 3:3 4:4 5:5 6:6 7:7 8:8 9:9", err,
		sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 8"));

	/* set-time checks (a config file's error names its line) */
	sl_cfg_defaults(&c);
	assert_int_equal(sl_cfg_set(&c, "bgp_mode", "rtbh", err, sizeof(err)), 0);
	assert_int_equal(sl_cfg_set(&c, "bgp_mode", "flow", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bgp_mode: 'flow'"));
	assert_int_equal(sl_cfg_set(&c, "bgp_rtbh_nexthop", "::1", err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_cfg_set(&c, "bgp_rtbh_nexthop6", "10.0.0.1", err, sizeof(err)),
		-EINVAL);
	assert_int_equal(sl_cfg_set(&c, "bgp_rtbh_community", "65535:666 x", err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "bgp_rtbh_community: 'x'"));
	assert_int_equal(sl_cfg_set(&c, "bgp_api_host", "", err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_cfg_set(&c, "bgp_gobgp", "/usr/bin/gobgp -d", err, sizeof(err)),
		-EINVAL);
	assert_int_equal(sl_cfg_set(&c, "bgp_rtbh_nexthop", "203.0.113.9", err, sizeof(err)), 0);
	assert_int_equal(sl_bgp_params_from_cfg(&c, &p, err, sizeof(err)), 0);
	assert_int_equal(p.mode, SL_BGP_RTBH);
	assert_string_equal(p.nexthop4, "203.0.113.9");
	assert_string_equal(p.nexthop6, "100::1");
	assert_int_equal(p.nrtbh_community, 1);
	assert_string_equal(p.rtbh_community[0], "65535:666");
	assert_int_equal(p.ncommunity, 0);
	assert_int_equal(p.max_routes, 1000);
	assert_int_equal(p.api_port, 50051);
	/* a value that bypassed sl_cfg_set is still refused */
	snprintf(c.bgp_mode, sizeof(c.bgp_mode), "bogus");
	assert_int_equal(sl_bgp_params_from_cfg(&c, &p, err, sizeof(err)), -EINVAL);
}

/* ---- the queue, through a fake executor ---- */

#define MAXCALLS 256

static struct fake {
	pthread_mutex_t lock;
	char call[MAXCALLS][512];
	unsigned int n;
	pthread_t caller[MAXCALLS];
	bool down;          /* every call fails, "global -j" included */
	int fail_adds;      /* the next N announce calls fail */
	unsigned int rib;   /* "num_path" the summary reports */
	unsigned int spawned_while_down;
} fk = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int
fake_run(void *arg, char *const argv[], char *out, size_t outlen)
{
	char line[512] = "";
	size_t k = 0;
	int rc = 0;

	(void)arg;
	for (int i = 0; argv[i] != NULL; i++)
		k += (size_t)snprintf(line + k, sizeof(line) - k, "%s%s", i ? " " : "", argv[i]);
	pthread_mutex_lock(&fk.lock);
	out[0] = '\0';
	if (fk.down) {
		rc = -EIO;
		snprintf(out, outlen, "context deadline exceeded\n");
		fk.spawned_while_down += strstr(line, " rib -a ") != NULL &&
					 strstr(line, "summary") == NULL;
	} else if (strstr(line, "summary") != NULL) {
		snprintf(out, outlen, "{\"num_destination\":%u,\"num_path\":%u}", fk.rib, fk.rib);
	} else if (strstr(line, " add ") != NULL && fk.fail_adds > 0) {
		fk.fail_adds--;
		rc = -EIO;
		snprintf(out, outlen, "error: injected\n");
	}
	if (strstr(line, " global -j") == NULL && strstr(line, "summary") == NULL &&
	    fk.n < MAXCALLS) {
		snprintf(fk.call[fk.n], sizeof(fk.call[0]), "%s%s", rc ? "FAIL " : "",
			strstr(line, " rib ") + 1);
		fk.caller[fk.n++] = pthread_self();
	}
	pthread_mutex_unlock(&fk.lock);
	return rc;
}

static void
fake_reset(void)
{
	pthread_mutex_lock(&fk.lock);
	fk.n = 0;
	fk.down = false;
	fk.fail_adds = 0;
	fk.rib = 0;
	fk.spawned_while_down = 0;
	pthread_mutex_unlock(&fk.lock);
}

static unsigned int
ncalls(void)
{
	unsigned int n;

	pthread_mutex_lock(&fk.lock);
	n = fk.n;
	pthread_mutex_unlock(&fk.lock);
	return n;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Tick until @p cond holds (5 s at most). */
#define TICK_UNTIL(g, cond)                                                                  \
	do {                                                                                   \
		uint64_t t0_ = now_us();                                                       \
		while (!(cond)) {                                                              \
			assert_true(now_us() - t0_ < 5000000);                                  \
			sl_bgp_tick((g), now_us());                                             \
			usleep(1000);                                                          \
		}                                                                              \
	} while (0)

static struct {
	int n, last_speaker;
	bool restarted;
	uint32_t routes;
} notes;

static void
on_state(void *arg, int speaker, bool restarted, uint32_t routes, const char *detail)
{
	(void)arg;
	(void)detail;
	notes.n++;
	notes.last_speaker = speaker;
	notes.restarted = restarted;
	notes.routes = routes;
}

static struct sl_bgp *
make(uint32_t max_routes, uint32_t retry_ms, uint32_t poll_ms)
{
	struct sl_bgp_params p;
	struct sl_bgp_exec ex = {.run = fake_run};
	struct sl_bgp *g;

	fake_reset();
	memset(&notes, 0, sizeof(notes));
	params(&p);
	p.max_routes = max_routes;
	p.retry_ms = retry_ms;
	p.poll_ms = poll_ms;
	g = sl_bgp_create(&p, &ex, on_state, NULL);
	assert_non_null(g);
	return g;
}

static struct sl_bgp_route
pool_route(const char *host, unsigned int port)
{
	struct sl_bgp_route r;

	memset(&r, 0, sizeof(r));
	addr(r.src, host);
	addr(r.dst, "198.51.100.7");
	r.dst_plen = 128;
	r.proto = 6;
	r.dport = (uint16_t)port;
	r.kind = SL_BGP_discard;
	return r;
}

static void
test_queue_announce_withdraw_share_cap(void **state)
{
	struct sl_bgp *g = make(3, 50, 100000);
	struct sl_bgp_route a = pool_route("10.0.0.1", 3333), b = pool_route("10.0.0.2", 3333);
	struct sl_bgp_route c = pool_route("10.0.0.3", 3333), d = pool_route("10.0.0.4", 3333);
	struct sl_bgp_stats st;
	uint32_t ia, ib, ic, id, ia2;

	(void)state;
	TICK_UNTIL(g, notes.n == 1); /* the first poll: up */
	assert_int_equal(notes.last_speaker, SL_BGP_SPEAKER_up);
	assert_int_equal(sl_bgp_add(g, &a, &ia, now_us()), 0);
	assert_int_equal(sl_bgp_add(g, &b, &ib, now_us()), 0);
	assert_int_equal(sl_bgp_add(g, &a, &ia2, now_us()), 1); /* the same route: shared */
	assert_int_equal(ia, ia2);
	assert_int_equal(sl_bgp_room(g), 1);
	assert_int_equal(sl_bgp_add(g, &c, &ic, now_us()), 0);
	assert_int_equal(sl_bgp_room(g), 0);
	assert_int_equal(sl_bgp_add(g, &d, &id, now_us()), -ENOSPC);
	TICK_UNTIL(g, sl_bgp_route_state(g, ic) == SL_BGP_RS_ANNOUNCED &&
			      sl_bgp_route_state(g, ia) == SL_BGP_RS_ANNOUNCED &&
			      sl_bgp_route_state(g, ib) == SL_BGP_RS_ANNOUNCED);
	/* in order, off the caller's thread, one call per route */
	assert_int_equal(ncalls(), 3);
	assert_non_null(strstr(fk.call[0], "add match destination 198.51.100.7/32 source 10.0.0.1/32"));
	assert_non_null(strstr(fk.call[1], "source 10.0.0.2/32"));
	assert_non_null(strstr(fk.call[2], "source 10.0.0.3/32"));
	assert_false(pthread_equal(fk.caller[0], pthread_self()));
	/* the first reference goes: nothing withdrawn; the second: withdrawn */
	sl_bgp_del(g, ia, now_us());
	sl_bgp_tick(g, now_us());
	usleep(20000);
	sl_bgp_tick(g, now_us());
	assert_int_equal(ncalls(), 3);
	assert_int_equal(sl_bgp_room(g), 0);
	sl_bgp_del(g, ia, now_us());
	TICK_UNTIL(g, sl_bgp_room(g) == 1);
	assert_int_equal(ncalls(), 4);
	assert_non_null(strstr(fk.call[3], "del match destination 198.51.100.7/32 source 10.0.0.1/32"));
	sl_bgp_del(g, ia, now_us()); /* a stale handle: ignored */
	sl_bgp_get_stats(g, &st);
	assert_int_equal(st.announced, 3);
	assert_int_equal(st.withdrawn, 1);
	assert_int_equal(st.shared, 1);
	assert_int_equal(st.refused_cap, 1);
	assert_int_equal(st.routes, 2);
	assert_int_equal(st.routes_announced, 2);
	assert_int_equal(st.speaker, SL_BGP_SPEAKER_up);
	/* free withdraws what is left */
	sl_bgp_del(g, ib, now_us());
	sl_bgp_del(g, ic, now_us());
	sl_bgp_free(g, &st);
	assert_int_equal(st.withdrawn, 3);
	assert_int_equal(st.lost_at_exit, 0);
	assert_int_equal(ncalls(), 6);
}

static void
test_queue_failure_retried(void **state)
{
	struct sl_bgp *g = make(8, 100, 100000);
	struct sl_bgp_route a = pool_route("10.0.0.1", 3333);
	struct sl_bgp_stats st;
	uint32_t ia;
	uint64_t t0;

	(void)state;
	TICK_UNTIL(g, notes.n == 1);
	fk.fail_adds = 2;
	t0 = now_us();
	assert_int_equal(sl_bgp_add(g, &a, &ia, t0), 0);
	TICK_UNTIL(g, sl_bgp_route_state(g, ia) == SL_BGP_RS_FAILED);
	TICK_UNTIL(g, sl_bgp_route_state(g, ia) == SL_BGP_RS_ANNOUNCED);
	assert_true(now_us() - t0 >= 200000); /* two failures, two waits of retry_ms */
	assert_int_equal(ncalls(), 3);
	assert_non_null(strstr(fk.call[0], "FAIL"));
	assert_non_null(strstr(fk.call[1], "FAIL"));
	assert_null(strstr(fk.call[2], "FAIL"));
	sl_bgp_get_stats(g, &st);
	assert_int_equal(st.announce_failed, 2);
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.announced, 1);
	sl_bgp_del(g, ia, now_us());
	sl_bgp_free(g, &st);
	assert_int_equal(st.withdrawn, 1);

	/* a route whose announce failed is still withdrawn when it goes (it may have been
	 * made: a timed-out call is not known to have failed) */
	g = make(8, 100000, 100000);
	TICK_UNTIL(g, notes.n == 1);
	fk.fail_adds = 1;
	assert_int_equal(sl_bgp_add(g, &a, &ia, now_us()), 0);
	TICK_UNTIL(g, sl_bgp_route_state(g, ia) == SL_BGP_RS_FAILED);
	sl_bgp_del(g, ia, now_us());
	TICK_UNTIL(g, sl_bgp_room(g) == 8);
	assert_int_equal(ncalls(), 2);
	assert_non_null(strstr(fk.call[1], " del match "));
	sl_bgp_free(g, NULL);
}

static void
test_queue_speaker_down_then_back(void **state)
{
	struct sl_bgp *g = make(8, 50, 50);
	struct sl_bgp_route a = pool_route("10.0.0.1", 3333), b = pool_route("10.0.0.2", 4444);
	struct sl_bgp_stats st;
	uint32_t ia, ib;

	(void)state;
	TICK_UNTIL(g, notes.n == 1);
	assert_int_equal(sl_bgp_add(g, &a, &ia, now_us()), 0);
	TICK_UNTIL(g, sl_bgp_route_state(g, ia) == SL_BGP_RS_ANNOUNCED);
	fk.down = true;
	TICK_UNTIL(g, notes.last_speaker == SL_BGP_SPEAKER_down);
	/* a block while it is down: refused by no one, made when the speaker is back */
	assert_int_equal(sl_bgp_add(g, &b, &ib, now_us()), 0);
	usleep(300000);
	sl_bgp_tick(g, now_us());
	sl_bgp_get_stats(g, &st);
	assert_int_equal(st.speaker, SL_BGP_SPEAKER_down);
	assert_int_equal(st.speaker_down, 1);
	assert_int_equal(fk.spawned_while_down, 0); /* failed at once, nothing run, no spinning */
	assert_int_not_equal(sl_bgp_route_state(g, ib), SL_BGP_RS_ANNOUNCED);
	fk.n = 0;
	fk.down = false;
	TICK_UNTIL(g, notes.restarted && sl_bgp_route_state(g, ia) == SL_BGP_RS_ANNOUNCED &&
			      sl_bgp_route_state(g, ib) == SL_BGP_RS_ANNOUNCED);
	assert_int_equal(notes.routes, 2);
	sl_bgp_get_stats(g, &st);
	assert_int_equal(st.speaker_restarts, 1);
	assert_int_equal(st.reannounced, 2);
	assert_true(ncalls() >= 2);
	sl_bgp_free(g, &st);
}

static void
test_queue_restart_between_polls(void **state)
{
	struct sl_bgp *g = make(8, 50, 50);
	struct sl_bgp_route a = pool_route("10.0.0.1", 3333), b = pool_route("10.0.0.2", 3333);
	struct sl_bgp_stats st;
	uint32_t ia, ib;

	(void)state;
	TICK_UNTIL(g, notes.n == 1);
	assert_int_equal(sl_bgp_add(g, &a, &ia, now_us()), 0);
	assert_int_equal(sl_bgp_add(g, &b, &ib, now_us()), 0);
	fk.rib = 2;
	TICK_UNTIL(g, sl_bgp_route_state(g, ia) == SL_BGP_RS_ANNOUNCED &&
			      sl_bgp_route_state(g, ib) == SL_BGP_RS_ANNOUNCED);
	usleep(200000); /* polls that agree: nothing sent again */
	sl_bgp_tick(g, now_us());
	sl_bgp_get_stats(g, &st);
	assert_int_equal(st.speaker_restarts, 0);
	assert_true(st.polls >= 2);
	assert_int_equal(ncalls(), 2);
	fk.rib = 0; /* restarted between two polls: its RIB is empty */
	TICK_UNTIL(g, notes.restarted);
	fk.rib = 2;
	TICK_UNTIL(g, ncalls() == 4 && sl_bgp_route_state(g, ia) == SL_BGP_RS_ANNOUNCED &&
			      sl_bgp_route_state(g, ib) == SL_BGP_RS_ANNOUNCED);
	sl_bgp_get_stats(g, &st);
	assert_int_equal(st.speaker_restarts, 1);
	assert_int_equal(st.reannounced, 2);
	sl_bgp_free(g, NULL);
}

static void
test_free_with_speaker_down_counts_lost(void **state)
{
	struct sl_bgp *g = make(8, 50, 50);
	struct sl_bgp_route a = pool_route("10.0.0.1", 3333);
	struct sl_bgp_stats st;
	uint32_t ia;

	(void)state;
	TICK_UNTIL(g, notes.n == 1);
	assert_int_equal(sl_bgp_add(g, &a, &ia, now_us()), 0);
	TICK_UNTIL(g, sl_bgp_route_state(g, ia) == SL_BGP_RS_ANNOUNCED);
	fk.down = true;
	TICK_UNTIL(g, notes.last_speaker == SL_BGP_SPEAKER_down);
	sl_bgp_del(g, ia, now_us());
	sl_bgp_free(g, &st); /* never silent: the route that could not be withdrawn is counted */
	assert_int_equal(st.lost_at_exit, 1);
}

/* The real executor: exit status, output captured, a hang killed after timeout_ms. */
static void
test_spawn(void **state)
{
	struct sl_bgp_params p;
	struct sl_bgp *g;
	struct sl_bgp_route a = pool_route("10.0.0.1", 3333);
	struct sl_bgp_stats st;
	char dir[] = "/tmp/bgp-unit-XXXXXX", script[256], log[256], line[512] = "";
	FILE *f;
	uint32_t ia;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(script, sizeof(script), "%s/gobgp", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	f = fopen(script, "w");
	assert_non_null(f);
	/* answers polls, logs each call with its arguments one per line; "add" hangs once */
	fprintf(f, "#!/bin/sh\ncase \"$*\" in *global\\ -j) echo '{}'; exit 0;; esac\n"
		   "for a in \"$@\"; do printf '[%%s]' \"$a\"; done >> %s; echo >> %s\n"
		   "case \"$*\" in *\\ add\\ *) if [ ! -e %s/hung ]; then touch %s/hung; sleep 30; fi;; esac\n"
		   "exit 0\n", log, log, dir, dir);
	fclose(f);
	chmod(script, 0755);
	params(&p);
	snprintf(p.gobgp, sizeof(p.gobgp), "%s", script);
	p.timeout_ms = 300;
	p.retry_ms = 10;
	memset(&notes, 0, sizeof(notes));
	g = sl_bgp_create(&p, NULL, on_state, NULL);
	assert_non_null(g);
	assert_int_equal(sl_bgp_add(g, &a, &ia, now_us()), 0);
	TICK_UNTIL(g, sl_bgp_route_state(g, ia) == SL_BGP_RS_ANNOUNCED);
	sl_bgp_get_stats(g, &st);
	assert_int_equal(st.announce_failed, 1); /* killed after 300 ms, then retried */
	assert_int_equal(st.announced, 1);
	sl_bgp_del(g, ia, now_us());
	sl_bgp_free(g, &st);
	assert_int_equal(st.withdrawn, 1);
	f = fopen(log, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	/* one word per argument: no shell ever split or joined them */
	assert_non_null(strstr(line, "[-u][127.0.0.1][-p][50051][global][rib][-a][ipv4-flowspec]"
				     "[add][match][destination][198.51.100.7/32][source][10.0.0.1/32]"
				     "[protocol][tcp][destination-port][==3333][then][discard]"));
	/* a command that does not exist: the speaker is down, never a crash */
	snprintf(p.gobgp, sizeof(p.gobgp), "%s/none", dir);
	memset(&notes, 0, sizeof(notes));
	g = sl_bgp_create(&p, NULL, on_state, NULL);
	assert_non_null(g);
	TICK_UNTIL(g, notes.n == 1);
	assert_int_equal(notes.last_speaker, SL_BGP_SPEAKER_down);
	sl_bgp_free(g, NULL);
	snprintf(line, sizeof(line), "rm -rf %s", dir);
	assert_int_equal(system(line), 0);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(sl_bgp_speaker_name(SL_BGP_SPEAKER_up), "up");
	assert_null(sl_bgp_speaker_name(3));
	assert_string_equal(sl_bgp_kind_name(SL_BGP_blackhole), "blackhole");
	assert_null(sl_bgp_kind_name(SL_BGP_KIND_MAX));
	assert_string_equal(sl_bgp_counter_name(0), "announced");
	assert_null(sl_bgp_counter_name(sl_bgp_num_counters()));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv_flowspec),
		cmocka_unit_test(test_argv_rtbh),
		cmocka_unit_test(test_argv_errors),
		cmocka_unit_test(test_communities_and_params),
		cmocka_unit_test(test_queue_announce_withdraw_share_cap),
		cmocka_unit_test(test_queue_failure_retried),
		cmocka_unit_test(test_queue_speaker_down_then_back),
		cmocka_unit_test(test_queue_restart_between_polls),
		cmocka_unit_test(test_free_with_speaker_down_counts_lost),
		cmocka_unit_test(test_spawn),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
