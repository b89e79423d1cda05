/* test_probe.c: unit tests for the active probe (lib/probe): the judge on answers of every
 * protocol (real byte sequences, near misses, split reads, other services), the requests it
 * sends, and the book: cache hits and TTL, remembered skips, never-probe sets, the per-minute
 * and per-destination caps, results coming back from the prober thread (loopback ports with
 * nothing listening: refused at once), configuration errors. No EAL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sl_cfg.h"
#include "sl_probe.h"

static enum sl_probe_verdict
J(unsigned int proto, const char *s, bool final, char *what)
{
	return sl_probe_judge(proto, (const uint8_t *)s, strlen(s), final, what, SL_PROBE_WHAT_MAX);
}

/* ---------------------------------------------------------------- Stratum v1 */

static void
test_stratum(void **st)
{
	char w[SL_PROBE_WHAT_MAX];

	(void)st;
	/* a classic subscribe result (cpuminer / ckpool shape), spaces and all */
	assert_int_equal(J(SL_PROBE_P_stratum, "{\"id\": 1, \"result\": [ [ [\"mining.set_difficulty\", "
		"\"b4b6693b72a50c7116db18d6497cac52\"], [\"mining.notify\", \"ae6812eb4cd7735a302a8a9dd95cf71f\"]], "
		"\"08000002\", 4], \"error\": null}\n", false, w), SL_PJ_POOL);
	assert_non_null(strstr(w, "mining.subscribe result"));
	/* a result without names: extranonce1 and extranonce2_size only */
	assert_int_equal(J(SL_PROBE_P_stratum, "{\"id\":1,\"result\":[null,\"f8002c90\",4],\"error\":null}\n",
		false, w), SL_PJ_POOL);
	/* pushes alone prove it too */
	assert_int_equal(J(SL_PROBE_P_stratum, "{\"id\":null,\"method\":\"mining.set_difficulty\","
		"\"params\":[1024]}\n", false, w), SL_PJ_POOL);
	/* split across reads: wait for the end of the line */
	assert_int_equal(J(SL_PROBE_P_stratum, "{\"id\":1,\"result\":[[[\"mining.no", false, w),
		SL_PJ_MORE);
	/* near misses: an error, a result true, a JSON-RPC server without mining */
	assert_int_equal(J(SL_PROBE_P_stratum, "{\"id\":1,\"result\":null,\"error\":[20,\"Unknown method\",null]}\n",
		false, w), SL_PJ_OTHER);
	assert_non_null(strstr(w, "json-rpc error"));
	assert_int_equal(J(SL_PROBE_P_stratum, "{\"id\":1,\"result\":true,\"error\":null}\n", false, w),
		SL_PJ_OTHER);
	assert_int_equal(J(SL_PROBE_P_stratum, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,"
		"\"message\":\"Method not found\"}}\n", false, w), SL_PJ_OTHER);
	assert_non_null(strstr(w, "Method not found"));
	/* the method name quoted in an error is no proof */
	assert_int_equal(J(SL_PROBE_P_stratum, "{\"id\":1,\"error\":\"no such method mining.notify\"}\n",
		false, w), SL_PJ_OTHER);
	/* a hex string that does not close the array is not an extranonce */
	assert_int_equal(J(SL_PROBE_P_stratum, "{\"id\":1,\"result\":[\"deadbeef\",4,5]}\n", false, w),
		SL_PJ_OTHER);
	/* a key at the very end of the answer has no value (found by fuzz_probe: the judge read
	 * one byte past the answer); exact-size heap copies so ASan sees any overread */
	{
		static const char *const ends[] = {"{\"id\":1,\"result\":", "{\"id\":1,\"result\": ",
						   "{\"method\":", "{\"error\":"};

		for (unsigned int i = 0; i < 4; i++) {
			size_t n = strlen(ends[i]);
			uint8_t *b = malloc(n);

			memcpy(b, ends[i], n);
			for (unsigned int p = 0; p < SL_PROBE_P_MAX; p++)
				assert_int_not_equal(sl_probe_judge(p, b, n, true, w, sizeof(w)), SL_PJ_POOL);
			free(b);
		}
	}
	/* an echo of the request */
	assert_int_equal(J(SL_PROBE_P_stratum, sl_probe_request_text(SL_PROBE_P_stratum), true, w),
		SL_PJ_OTHER);
}

/* ---------------------------------------------------------------- XMRig-style login */

static void
test_xmrig(void **st)
{
	char w[SL_PROBE_WHAT_MAX];

	(void)st;
	assert_int_equal(J(SL_PROBE_P_xmrig, "{\"id\":1,\"jsonrpc\":\"2.0\",\"error\":null,\"result\":"
		"{\"id\":\"b8f2e0a0\",\"job\":{\"blob\":\"0e0eb5e9a7\",\"job_id\":\"ZpCfYwJr\",\"target\":"
		"\"b88d0600\"},\"status\":\"OK\"}}\n", false, w), SL_PJ_POOL);
	assert_non_null(strstr(w, "login result with a job"));
	/* a pool refusing the wallet is still a pool */
	assert_int_equal(J(SL_PROBE_P_xmrig, "{\"id\":1,\"jsonrpc\":\"2.0\",\"error\":{\"code\":-1,"
		"\"message\":\"Invalid payment address provided\"}}\n", false, w), SL_PJ_POOL);
	assert_non_null(strstr(w, "Invalid payment address"));
	/* near misses: a generic login refusal, a status without a job, a job without a blob */
	assert_int_equal(J(SL_PROBE_P_xmrig, "{\"id\":1,\"jsonrpc\":\"2.0\",\"error\":{\"code\":-1,"
		"\"message\":\"Unauthenticated\"}}\n", false, w), SL_PJ_OTHER);
	assert_int_equal(J(SL_PROBE_P_xmrig, "{\"id\":1,\"result\":{\"status\":\"OK\"}}\n", false, w),
		SL_PJ_OTHER);
	assert_int_equal(J(SL_PROBE_P_xmrig, "{\"id\":1,\"result\":{\"job\":{\"job_id\":\"a\"}}}\n", false, w),
		SL_PJ_OTHER);
	/* "blob" and "job_id" outside a job object do not count */
	assert_int_equal(J(SL_PROBE_P_xmrig, "{\"id\":1,\"result\":{\"blob\":\"00\",\"job_id\":\"a\"}}\n",
		false, w), SL_PJ_OTHER);
}

/* ---------------------------------------------------------------- eth-proxy */

static void
test_eth(void **st)
{
	char w[SL_PROBE_WHAT_MAX];

	(void)st;
	assert_int_equal(J(SL_PROBE_P_eth, "{\"id\":2,\"jsonrpc\":\"2.0\",\"result\":[\"0x1c7b2d9a\","
		"\"0x5eed0000\",\"0x00000000ffff\"]}\n", false, w), SL_PJ_POOL);
	assert_non_null(strstr(w, "work package"));
	assert_int_equal(J(SL_PROBE_P_eth, "{\"id\":1,\"jsonrpc\":\"2.0\",\"result\":true}\n", false, w),
		SL_PJ_POOL);
	/* near misses: a node's answers (method not found, then no work), two hex strings only */
	assert_int_equal(J(SL_PROBE_P_eth, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,"
		"\"message\":\"the method eth_submitLogin does not exist/is not available\"}}\n", false, w),
		SL_PJ_MORE); /* one of two answers so far */
	assert_int_equal(J(SL_PROBE_P_eth, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,"
		"\"message\":\"not available\"}}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32000,"
		"\"message\":\"no mining work available yet\"}}\n", false, w), SL_PJ_OTHER);
	assert_int_equal(J(SL_PROBE_P_eth, "{\"id\":2,\"result\":[\"0x1c7b\",\"0x5eed\"]}\n", true, w),
		SL_PJ_OTHER);
	assert_int_equal(J(SL_PROBE_P_eth, "{\"id\":2,\"result\":true}\n", true, w), SL_PJ_OTHER);
}

/* ---------------------------------------------------------------- Stratum V2 */

static void
test_sv2(void **st)
{
	char w[SL_PROBE_WHAT_MAX];
	const uint8_t ok[] = {0, 0, 0x01, 6, 0, 0, 2, 0, 0, 0, 0, 0};
	const uint8_t err[] = {0, 0, 0x02, 9, 0, 0, 0, 0, 0, 0, 4, 'p', 'r', 'o', 't'};
	const uint8_t bad_len[] = {0, 0, 0x01, 7, 0, 0, 2, 0, 0, 0, 0, 0, 0};
	const uint8_t other[] = {0, 0, 0x15, 6, 0, 0, 2, 0, 0, 0, 0, 0};
	uint8_t noise[234], req[512];

	(void)st;
	assert_int_equal(sl_probe_judge(SL_PROBE_P_sv2, ok, sizeof(ok), false, w, sizeof(w)), SL_PJ_POOL);
	assert_non_null(strstr(w, "SetupConnection.Success"));
	assert_int_equal(sl_probe_judge(SL_PROBE_P_sv2, ok, 8, false, w, sizeof(w)), SL_PJ_MORE);
	assert_int_equal(sl_probe_judge(SL_PROBE_P_sv2, ok, 4, false, w, sizeof(w)), SL_PJ_MORE);
	assert_int_equal(sl_probe_judge(SL_PROBE_P_sv2, err, sizeof(err), false, w, sizeof(w)), SL_PJ_POOL);
	assert_non_null(strstr(w, "SetupConnection.Error: prot"));
	/* near misses: wrong length for a Success, another message type, a truncated error */
	assert_int_equal(sl_probe_judge(SL_PROBE_P_sv2, bad_len, sizeof(bad_len), true, w, sizeof(w)),
		SL_PJ_OTHER);
	assert_int_equal(sl_probe_judge(SL_PROBE_P_sv2, other, sizeof(other), true, w, sizeof(w)),
		SL_PJ_OTHER);
	assert_int_equal(sl_probe_judge(SL_PROBE_P_sv2, err, 12, true, w, sizeof(w)), SL_PJ_OTHER);
	/* Noise: exactly 234 bytes, and only once nothing more comes */
	memset(noise, 0xa5, sizeof(noise));
	assert_int_equal(sl_probe_judge(SL_PROBE_P_sv2_noise, noise, 234, false, w, sizeof(w)), SL_PJ_MORE);
	assert_int_equal(sl_probe_judge(SL_PROBE_P_sv2_noise, noise, 234, true, w, sizeof(w)), SL_PJ_POOL);
	assert_int_equal(sl_probe_judge(SL_PROBE_P_sv2_noise, noise, 233, true, w, sizeof(w)), SL_PJ_OTHER);
	assert_int_equal(sl_probe_judge(SL_PROBE_P_sv2_noise, noise, 64, true, w, sizeof(w)), SL_PJ_OTHER);
	assert_int_equal(sl_probe_judge(SL_PROBE_P_sv2_noise, noise, 100, false, w, sizeof(w)), SL_PJ_MORE);
	/* the SetupConnection we send parses as one: protocol 0, versions 2-2 */
	size_t n = sl_probe_request(SL_PROBE_P_sv2, req, sizeof(req), 0);

	assert_true(n > 6 + 9);
	assert_int_equal(req[2], 0x00);
	assert_int_equal((size_t)(req[3] | req[4] << 8 | req[5] << 16), n - 6);
	assert_int_equal(req[6], 0);
	assert_int_equal(req[7] | req[8] << 8, 2);
	assert_int_equal(req[9] | req[10] << 8, 2);
	assert_int_equal(sl_probe_request(SL_PROBE_P_sv2_noise, req, sizeof(req), 1), 64);
	assert_int_equal(sl_probe_request(SL_PROBE_P_stratum, req, 10, 0), 0); /* too small */
	n = sl_probe_request(SL_PROBE_P_eth, req, sizeof(req), 0);
	assert_non_null(memmem(req, n, "eth_getWork", 11));
}

/* ---------------------------------------------------------------- other services */

static void
test_services(void **st)
{
	char w[SL_PROBE_WHAT_MAX];
	const uint8_t alert[] = {0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46};
	const uint8_t bin[] = {0x00, 0x0e, 0x38, 0x91, 0xfe, 0x01, 0x02, 0x03, 0x04, 0x05};

	(void)st;
	assert_int_equal(J(SL_PROBE_P_stratum, "HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n", false, w),
		SL_PJ_SERVICE);
	assert_string_equal(w, "http: HTTP/1.1 400 Bad Request");
	assert_int_equal(J(SL_PROBE_P_xmrig, "SSH-2.0-OpenSSH_9.2p1\r\n", false, w), SL_PJ_SERVICE);
	assert_int_equal(J(SL_PROBE_P_stratum, "-ERR unknown command '{\"id\":1,'\r\n", false, w),
		SL_PJ_SERVICE);
	assert_int_equal(sl_probe_judge(SL_PROBE_P_stratum, alert, sizeof(alert), false, w, sizeof(w)),
		SL_PJ_TLS);
	assert_int_equal(sl_probe_judge(SL_PROBE_P_stratum, bin, sizeof(bin), true, w, sizeof(w)),
		SL_PJ_OTHER);
	assert_int_equal(sl_probe_judge(SL_PROBE_P_stratum, bin, 3, false, w, sizeof(w)), SL_PJ_MORE);
	assert_int_equal(sl_probe_judge(SL_PROBE_P_stratum, NULL, 0, true, w, sizeof(w)), SL_PJ_OTHER);
	/* banners: pools never speak first, whatever they say */
	assert_int_equal(sl_probe_judge_banner((const uint8_t *)"220 mail ESMTP\r\n", 16, w, sizeof(w)),
		SL_PJ_SERVICE);
	assert_int_equal(sl_probe_judge_banner(bin, 1, w, sizeof(w)), SL_PJ_SERVICE);
	assert_int_equal(sl_probe_judge_banner((const uint8_t *)"{\"id\":1}", 8, w, sizeof(w)),
		SL_PJ_SERVICE);
	assert_non_null(strstr(w, "json banner"));
	assert_int_equal(sl_probe_judge_banner(bin, 0, w, sizeof(w)), SL_PJ_MORE);
	/* control bytes and quotes never reach a description as they are */
	assert_int_equal(J(SL_PROBE_P_stratum, "he said \"x\"\\ \x01 ok, and more text\n", true, w), SL_PJ_SERVICE);
	assert_null(strchr(w, '"'));
	assert_null(strchr(w, '\\'));
	assert_string_equal(sl_probe_result_name(SL_PROBE_R_PENDING), "pending");
	assert_null(sl_probe_proto_name(SL_PROBE_P_MAX));
}

/* ---------------------------------------------------------------- the book */

static void
addr4(uint8_t a[16], const char *s)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	assert_int_equal(inet_pton(AF_INET, s, a + 12), 1);
}

static struct sl_probe_params
params(void)
{
	struct sl_probe_params p = {
		.enabled = true, .ttl_us = 3600000000ull, .skip_ttl_us = 60000000ull, .cache_size = 64,
		.max_per_minute = 3, .max_per_dest = 2, .timeout_ms = 200, .banner_ms = 0,
		.concurrency = 4, .tls = false,
	};
	return p;
}

/* Poll until @p n results came back (the thread probes loopback ports: refused at once). */
static unsigned int
wait_results(struct sl_probe *pr, unsigned int n, uint64_t now)
{
	unsigned int got = 0;

	for (int i = 0; i < 300 && got < n; i++) {
		got += sl_probe_poll(pr, now, NULL, NULL);
		if (got < n)
			usleep(10000);
	}
	return got;
}

/* A loopback TCP port with nothing listening. */
static uint16_t
closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void
test_book_cache(void **st)
{
	struct sl_probe_params p = params();
	struct sl_probe_entry e;
	struct sl_probe_stats s;
	uint8_t lo[16], host[16];
	uint16_t port = closed_port();
	uint64_t t = 1000000000ull;
	int rc;
	struct sl_probe *pr = sl_probe_create(&p, &rc);

	(void)st;
	assert_non_null(pr);
	addr4(lo, "127.0.0.1");
	addr4(host, "10.0.0.5");
	assert_int_equal(sl_probe_ask(pr, lo, port, host, t, &e), SL_PROBE_ASK_QUEUED);
	assert_int_equal(e.result, SL_PROBE_R_PENDING);
	/* asked again while in flight: the cache answers, nothing new starts */
	assert_int_equal(sl_probe_ask(pr, lo, port, host, t + 1, &e), SL_PROBE_ASK_CACHED);
	assert_int_equal(wait_results(pr, 1, t + 2), 1);
	assert_non_null(sl_probe_lookup(pr, lo, port, t + 2));
	assert_int_equal(sl_probe_lookup(pr, lo, port, t + 2)->result, SL_PROBE_R_refused);
	assert_memory_equal(sl_probe_lookup(pr, lo, port, t + 2)->host, host, 16);
	assert_int_equal(sl_probe_ask(pr, lo, port, NULL, t + 3, &e), SL_PROBE_ASK_CACHED);
	assert_int_equal(e.result, SL_PROBE_R_refused);
	/* the entry expires ttl after the result */
	assert_null(sl_probe_lookup(pr, lo, port, t + 2 + p.ttl_us));
	sl_probe_get_stats(pr, &s);
	assert_int_equal(s.started, 1);
	assert_int_equal(s.cache_hits, 2);
	assert_int_equal(s.results[SL_PROBE_R_refused], 1);
	assert_int_equal(s.done, 1);
	sl_probe_free(pr);
}

static void
test_book_never_and_caps(void **st)
{
	struct sl_probe_params p = params();
	struct sl_probe_entry e;
	struct sl_probe_stats s;
	uint8_t lo[16], lo2[16], home[16], allowed[16];
	uint64_t t = 5000000000ull;
	int rc;
	struct sl_probe *pr;
	char err[256];

	(void)st;
	assert_int_equal(sl_cidr_set_parse(&p.allowlist, "192.0.2.0/24", err, sizeof(err)), 0);
	assert_int_equal(sl_cidr_set_parse(&p.home_nets, "10.0.0.0/8", err, sizeof(err)), 0);
	pr = sl_probe_create(&p, &rc);
	assert_non_null(pr);
	addr4(lo, "127.0.0.1");
	addr4(lo2, "127.0.0.2");
	addr4(home, "10.1.2.3");
	addr4(allowed, "192.0.2.9");
	assert_int_equal(sl_probe_ask(pr, allowed, 3333, NULL, t, &e), SL_PROBE_ASK_SKIPPED);
	assert_int_equal(e.skip, SL_PROBE_S_allowlisted);
	assert_int_equal(e.asked_us, t);
	assert_int_equal(sl_probe_ask(pr, home, 3333, NULL, t, &e), SL_PROBE_ASK_SKIPPED);
	assert_int_equal(e.skip, SL_PROBE_S_home_net);
	/* a skip is remembered: asked again, the cache says so (not a new skip) */
	assert_int_equal(sl_probe_ask(pr, home, 3333, NULL, t + 5, &e), SL_PROBE_ASK_SKIPPED);
	assert_int_equal(e.asked_us, t);
	/* per destination: two probes of 127.0.0.1 this hour, the third port is refused
	 * (ports 1-3: nothing listens there, the probes are refused at once) */
	assert_int_equal(sl_probe_ask(pr, lo, 1, NULL, t, &e), SL_PROBE_ASK_QUEUED);
	assert_int_equal(sl_probe_ask(pr, lo, 2, NULL, t + 1, &e), SL_PROBE_ASK_QUEUED);
	assert_int_equal(sl_probe_ask(pr, lo, 3, NULL, t + 2, &e), SL_PROBE_ASK_SKIPPED);
	assert_int_equal(e.skip, SL_PROBE_S_cap_dest);
	/* per minute: three started, a fourth (another address) waits for the minute */
	assert_int_equal(sl_probe_ask(pr, lo2, 1, NULL, t + 3, &e), SL_PROBE_ASK_QUEUED);
	assert_int_equal(sl_probe_ask(pr, lo2, 2, NULL, t + 4, &e), SL_PROBE_ASK_SKIPPED);
	assert_int_equal(e.skip, SL_PROBE_S_cap_rate);
	assert_int_equal(wait_results(pr, 3, t + 10), 3);
	/* after the minute (and the skip's own minute), it may go */
	assert_int_equal(sl_probe_ask(pr, lo2, 2, NULL, t + 4 + 60000000ull, &e), SL_PROBE_ASK_QUEUED);
	/* after the hour, 127.0.0.1 may be probed again */
	assert_int_equal(sl_probe_ask(pr, lo, 3, NULL, t + 3600000000ull + 61000000ull, &e),
		SL_PROBE_ASK_QUEUED);
	assert_int_equal(wait_results(pr, 2, t + 3700000000ull), 2);
	sl_probe_get_stats(pr, &s);
	assert_int_equal(s.skips[SL_PROBE_S_allowlisted], 1);
	assert_int_equal(s.skips[SL_PROBE_S_home_net], 1);
	assert_int_equal(s.skips[SL_PROBE_S_cap_dest], 1);
	assert_int_equal(s.skips[SL_PROBE_S_cap_rate], 1);
	assert_int_equal(s.started, 5);
	sl_probe_free(pr);
}

static void
test_book_off_and_local(void **st)
{
	struct sl_probe_params p = params();
	struct sl_probe_entry e;
	uint8_t lo[16], other[16];
	int rc;
	struct sl_probe *pr;

	(void)st;
	p.enabled = false; /* offline: never probes */
	pr = sl_probe_create(&p, &rc);
	assert_non_null(pr);
	addr4(lo, "127.0.0.1");
	addr4(other, "198.51.100.7");
	assert_int_equal(sl_probe_ask(pr, other, 3333, NULL, 1, &e), SL_PROBE_ASK_SKIPPED);
	assert_int_equal(e.skip, SL_PROBE_S_off);
	assert_true(sl_probe_is_local(pr, lo)); /* loopback is one of this machine's addresses */
	assert_false(sl_probe_is_local(pr, other));
	sl_probe_free(pr);
}

static void
test_params(void **st)
{
	struct sl_cfg c;
	struct sl_probe_params p;
	char err[256];

	(void)st;
	sl_cfg_defaults(&c);
	assert_int_equal(c.probe, 0); /* off by default */
	assert_int_equal(sl_probe_params_from_cfg(&c, true, &p, err, sizeof(err)), 0);
	assert_false(p.enabled);
	c.probe = 1;
	assert_int_equal(sl_probe_params_from_cfg(&c, false, &p, err, sizeof(err)), 0);
	assert_false(p.enabled); /* offline never probes */
	assert_int_equal(sl_probe_params_from_cfg(&c, true, &p, err, sizeof(err)), 0);
	assert_true(p.enabled);
	assert_int_equal(p.timeout_ms, 2000);
	snprintf(c.probe_source, sizeof(c.probe_source), "10.0.0.300");
	assert_int_equal(sl_probe_params_from_cfg(&c, true, &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "probe_source"));
	snprintf(c.probe_source, sizeof(c.probe_source), "10.0.0.0/8");
	assert_int_equal(sl_probe_params_from_cfg(&c, true, &p, err, sizeof(err)), -EINVAL);
	snprintf(c.probe_source, sizeof(c.probe_source), "2001:db8::1");
	assert_int_equal(sl_probe_params_from_cfg(&c, true, &p, err, sizeof(err)), 0);
	assert_true(p.has_source);
}

/* One probe in place against a loopback port with nothing listening: refused, quickly. */
static void
test_run_one_refused(void **st)
{
	struct sl_probe_params p = params();
	struct sl_probe_entry e;
	uint8_t lo[16];

	(void)st;
	addr4(lo, "127.0.0.1");
	assert_int_equal(sl_probe_run_one(&p, lo, closed_port(), &e), 0);
	assert_int_equal(e.result, SL_PROBE_R_refused);
	assert_true(e.latency_ms < 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stratum),
		cmocka_unit_test(test_xmrig),
		cmocka_unit_test(test_eth),
		cmocka_unit_test(test_sv2),
		cmocka_unit_test(test_services),
		cmocka_unit_test(test_book_cache),
		cmocka_unit_test(test_book_never_and_caps),
		cmocka_unit_test(test_book_off_and_local),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_run_one_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
