/* test_cfg.c: unit tests for sluice's configuration (lib/cfg): key defaults and ranges,
 * sl_cfg_set value parsing (k/m/g suffixes, range and syntax errors), sl_cfg_load on
 * temporary files (comments, blanks, home_nets, "PATH:LINE: reason" errors), cross-key
 * validation, CIDR parsing/set parsing/matching, address formatting, and agreement of
 * config/sluice.conf (path in $SL_CONF_PATH; skipped when unset) with the key table.
 * Pure C, no EAL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_cfg.h"

#define ERRLEN 512

/* The key table as the header declares it, with field offsets, so a key's value can be
 * read out of struct sl_cfg by index. */
static const struct {
	const char *name;
	uint64_t def, min, max;
	size_t off;
} KEYS[] = {
#define T_KEY(name, def, min, max, help) {#name, def, min, max, offsetof(struct sl_cfg, name)},
	SL_CFG_NUM_KEYS(T_KEY)
#undef T_KEY
};
#define N_KEYS ((unsigned int)(sizeof(KEYS) / sizeof(KEYS[0])))

static uint64_t
cfg_get(const struct sl_cfg *cfg, unsigned int i)
{
	uint64_t v;

	memcpy(&v, (const char *)cfg + KEYS[i].off, sizeof(v));
	return v;
}

static int
key_index(const char *name)
{
	for (unsigned int i = 0; i < N_KEYS; i++)
		if (strcmp(KEYS[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The config struct holds a 256-entry CIDR set: keep it off the stack. */
static struct sl_cfg cfg_a, cfg_b;

/* ---------------------------------------------------------------------------------------
 * Temporary files
 * ------------------------------------------------------------------------------------- */

/* Write @p text to a new file under /tmp; its name goes to @p path (>= 64 bytes). */
static void
write_tmp(char *path, const char *text)
{
	int fd;
	size_t len = strlen(text);

	strcpy(path, "/tmp/sluice_test_cfg_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Load @p text over the defaults; returns the rc, the error in @p err, path in @p path. */
static int
load_text(const char *text, char *path, char *err)
{
	int rc;

	write_tmp(path, text);
	sl_cfg_defaults(&cfg_a);
	err[0] = '\0';
	rc = sl_cfg_load(&cfg_a, path, err, ERRLEN);
	unlink(path);
	return rc;
}

/* A bad file: -EINVAL, message "PATH:LINE: reason" mentioning @p needle (if not NULL). */
static void
expect_load_error(const char *text, unsigned int line, const char *needle)
{
	char path[64], err[ERRLEN], prefix[96];
	int rc = load_text(text, path, err);

	if (rc != -EINVAL)
		fail_msg("loading \"%s\": rc %d (%s), expected -EINVAL", text, rc, err);
	snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("loading \"%s\": message \"%s\" does not start with \"%s\"", text, err,
			prefix);
	assert_true(strlen(err) > strlen(prefix));
	if (needle != NULL && strstr(err, needle) == NULL)
		fail_msg("loading \"%s\": message \"%s\" does not mention \"%s\"", text, err, needle);
}

static void
addr_of(const char *text, uint8_t a[16])
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET, text, a + 12) == 1) {
		a[10] = a[11] = 0xff;
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, text, a), 1);
}

/* ---------------------------------------------------------------------------------------
 * Defaults and sl_cfg_set
 * ------------------------------------------------------------------------------------- */

static void
test_defaults(void **state)
{
	(void)state;
	memset(&cfg_a, 0xa5, sizeof(cfg_a));
	sl_cfg_defaults(&cfg_a);
	assert_int_equal(sl_cfg_num_keys(), N_KEYS);
	for (unsigned int i = 0; i < N_KEYS; i++) {
		assert_non_null(sl_cfg_key_name(i));
		assert_string_equal(sl_cfg_key_name(i), KEYS[i].name);
		assert_int_equal(sl_cfg_key_default(i), KEYS[i].def);
		if (cfg_get(&cfg_a, i) != sl_cfg_key_default(i))
			fail_msg("%s = %" PRIu64 ", default %" PRIu64, KEYS[i].name, cfg_get(&cfg_a, i),
				sl_cfg_key_default(i));
		assert_in_range(KEYS[i].def, KEYS[i].min, KEYS[i].max);
	}
	assert_null(sl_cfg_key_name(N_KEYS));
	assert_int_equal(sl_cfg_key_default(N_KEYS), 0);
	assert_int_equal(cfg_a.home_nets.n, 0);
	assert_int_equal(cfg_a.workers, 1);
	assert_int_equal(cfg_a.report_ring_size, 16384);
}

static void
test_set_good(void **state)
{
	static const struct {
		const char *key, *value;
		uint64_t want;
	} cases[] = {
		{"workers", "4", 4},
		{"rx_desc", "2048", 2048},
		{"rx_queues", "0", 0},
		{"payload_buffers", "64k", 65536},
		{"payload_buffers", "64K", 65536},
		{"mbufs", "1m", 1048576},
		{"mbufs", "1M", 1048576},
		{"mbufs", "16m", 16777216},
		{"mbufs", "0g", 0},
		{"mbufs", "0G", 0},
		{"flow_capacity", "64m", 67108864},
		{"idle_polls", "100000000", 100000000},
		{"tcp_new_timeout", "007", 7},
		{"exit_idle_ms", "86400000", 86400000},
	};
	char err[ERRLEN];

	(void)state;
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int k = key_index(cases[i].key);

		assert_true(k >= 0);
		sl_cfg_defaults(&cfg_a);
		err[0] = '\0';
		if (sl_cfg_set(&cfg_a, cases[i].key, cases[i].value, err, sizeof(err)) != 0)
			fail_msg("%s = %s rejected: %s", cases[i].key, cases[i].value, err);
		assert_int_equal(cfg_get(&cfg_a, (unsigned int)k), cases[i].want);
	}
}

/* Every key accepts its min and max and rejects one step outside, naming itself. */
static void
test_set_ranges(void **state)
{
	char err[ERRLEN], val[32];

	(void)state;
	for (unsigned int i = 0; i < N_KEYS; i++) {
		sl_cfg_defaults(&cfg_a);
		snprintf(val, sizeof(val), "%" PRIu64, KEYS[i].min);
		assert_int_equal(sl_cfg_set(&cfg_a, KEYS[i].name, val, err, sizeof(err)), 0);
		assert_int_equal(cfg_get(&cfg_a, i), KEYS[i].min);
		snprintf(val, sizeof(val), "%" PRIu64, KEYS[i].max);
		assert_int_equal(sl_cfg_set(&cfg_a, KEYS[i].name, val, err, sizeof(err)), 0);
		assert_int_equal(cfg_get(&cfg_a, i), KEYS[i].max);

		snprintf(val, sizeof(val), "%" PRIu64, KEYS[i].max + 1);
		err[0] = '\0';
		assert_int_equal(sl_cfg_set(&cfg_a, KEYS[i].name, val, err, sizeof(err)), -ERANGE);
		assert_non_null(strstr(err, KEYS[i].name));
		assert_int_equal(cfg_get(&cfg_a, i), KEYS[i].max); /* unchanged */
		if (KEYS[i].min > 0) {
			snprintf(val, sizeof(val), "%" PRIu64, KEYS[i].min - 1);
			err[0] = '\0';
			assert_int_equal(sl_cfg_set(&cfg_a, KEYS[i].name, val, err, sizeof(err)),
				-ERANGE);
			assert_non_null(strstr(err, KEYS[i].name));
		}
	}
}

static void
test_set_bad(void **state)
{
	static const char *const erange[] = {
		"65", "1k", "1g", "99999999999999999999", "18446744073709551616",
		"18014398509481984k", /* 2^54 * 1024 overflows */
	};
	static const char *const einval[] = {
		"-1", "-0", "abc", "", "12x", "1.5", " 5", "5 ", "+5", "0x10", "1kb", "k", "1k1",
		"4 # comment", "1e3",
	};
	char err[ERRLEN];

	(void)state;
	sl_cfg_defaults(&cfg_a);
	for (unsigned int i = 0; i < sizeof(erange) / sizeof(erange[0]); i++) {
		err[0] = '\0';
		if (sl_cfg_set(&cfg_a, "workers", erange[i], err, sizeof(err)) != -ERANGE)
			fail_msg("workers = \"%s\": expected -ERANGE", erange[i]);
		assert_non_null(strstr(err, "workers"));
		assert_int_equal(cfg_a.workers, 1);
	}
	for (unsigned int i = 0; i < sizeof(einval) / sizeof(einval[0]); i++) {
		err[0] = '\0';
		if (sl_cfg_set(&cfg_a, "rx_desc", einval[i], err, sizeof(err)) != -EINVAL)
			fail_msg("rx_desc = \"%s\": expected -EINVAL", einval[i]);
		assert_non_null(strstr(err, "rx_desc"));
		assert_int_equal(cfg_a.rx_desc, 1024);
	}
	/* unknown keys: -ENOENT, named; names are case-sensitive */
	err[0] = '\0';
	assert_int_equal(sl_cfg_set(&cfg_a, "no_such_key", "1", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no_such_key"));
	assert_int_equal(sl_cfg_set(&cfg_a, "Workers", "1", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "Workers"));
	assert_int_equal(sl_cfg_set(&cfg_a, "", "1", err, sizeof(err)), -ENOENT);
	assert_int_equal(sl_cfg_set(&cfg_a, "workers ", "1", err, sizeof(err)), -ENOENT);
}

static void
test_set_home_nets(void **state)
{
	char err[ERRLEN];
	uint8_t a[16];

	(void)state;
	sl_cfg_defaults(&cfg_a);
	assert_int_equal(sl_cfg_set(&cfg_a, "home_nets", "10.0.0.0/8, 2001:db8::/32", err,
		sizeof(err)), 0);
	assert_int_equal(cfg_a.home_nets.n, 2);
	addr_of("10.9.8.7", a);
	assert_true(sl_cidr_set_match(&cfg_a.home_nets, a));
	/* a new value replaces the set */
	assert_int_equal(sl_cfg_set(&cfg_a, "home_nets", "192.168.0.0/16", err, sizeof(err)), 0);
	assert_int_equal(cfg_a.home_nets.n, 1);
	assert_false(sl_cidr_set_match(&cfg_a.home_nets, a));
	err[0] = '\0';
	assert_int_equal(sl_cfg_set(&cfg_a, "home_nets", "10.0.0.0/8 bogus", err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "bogus"));
	assert_int_equal(sl_cfg_set(&cfg_a, "home_nets", "", err, sizeof(err)), 0);
	assert_int_equal(cfg_a.home_nets.n, 0);
}

static void
test_validate(void **state)
{
	char err[ERRLEN];

	(void)state;
	sl_cfg_defaults(&cfg_a);
	assert_int_equal(sl_cfg_validate(&cfg_a, err, sizeof(err)), 0);

	cfg_a.report_ring_size = 100;
	err[0] = '\0';
	assert_int_equal(sl_cfg_validate(&cfg_a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "report_ring_size"));
	cfg_a.report_ring_size = 4095;
	assert_int_equal(sl_cfg_validate(&cfg_a, err, sizeof(err)), -EINVAL);
	cfg_a.report_ring_size = 64;
	assert_int_equal(sl_cfg_validate(&cfg_a, err, sizeof(err)), 0);
	cfg_a.report_ring_size = 1048576;
	assert_int_equal(sl_cfg_validate(&cfg_a, err, sizeof(err)), 0);

	cfg_a.tcp_established_timeout = 600;
	cfg_a.tcp_closed_timeout = 601;
	err[0] = '\0';
	assert_int_equal(sl_cfg_validate(&cfg_a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tcp_closed_timeout"));
	cfg_a.tcp_closed_timeout = 600;
	assert_int_equal(sl_cfg_validate(&cfg_a, err, sizeof(err)), 0);
}

/* ---------------------------------------------------------------------------------------
 * sl_cfg_load
 * ------------------------------------------------------------------------------------- */

static void
test_load_good(void **state)
{
	static const char text[] =
		"# sluice test configuration\n"
		"\n"
		"   \n"
		"#workers = 9\n"
		"   workers = 4   # trailing comment\n"
		"rx_desc=2048\n"
		"\tpayload_buffers\t=\t64k\t\n"
		"mbufs = 1M\r\n"
		"  # indented comment\n"
		"home_nets = 10.0.0.0/8, 192.168.0.0/16 2001:db8::/32,172.16.0.0/12\n"
		"flow_capacity = 2097152\n"
		"tcp_closed_timeout = 5\n"
		"#\n"
		"report_ring_size = 8k"; /* no final newline */
	char path[64], err[ERRLEN];
	uint8_t a[16];
	int rc;

	(void)state;
	rc = load_text(text, path, err);
	if (rc != 0)
		fail_msg("load failed: %d %s", rc, err);
	assert_int_equal(cfg_a.workers, 4);
	assert_int_equal(cfg_a.rx_desc, 2048);
	assert_int_equal(cfg_a.payload_buffers, 65536);
	assert_int_equal(cfg_a.mbufs, 1048576);
	assert_int_equal(cfg_a.flow_capacity, 2097152);
	assert_int_equal(cfg_a.tcp_closed_timeout, 5);
	assert_int_equal(cfg_a.report_ring_size, 8192);
	assert_int_equal(cfg_a.home_nets.n, 4);
	addr_of("172.31.255.255", a);
	assert_true(sl_cidr_set_match(&cfg_a.home_nets, a));
	addr_of("172.32.0.0", a);
	assert_false(sl_cidr_set_match(&cfg_a.home_nets, a));
	/* everything else keeps its default */
	for (unsigned int i = 0; i < N_KEYS; i++) {
		static const char *const changed[] = {"workers", "rx_desc", "payload_buffers",
			"mbufs", "flow_capacity", "tcp_closed_timeout", "report_ring_size"};
		int set = 0;

		for (unsigned int j = 0; j < sizeof(changed) / sizeof(changed[0]); j++)
			set |= strcmp(changed[j], KEYS[i].name) == 0;
		if (!set)
			assert_int_equal(cfg_get(&cfg_a, i), KEYS[i].def);
	}

	/* an empty file and a comments-only file are fine */
	assert_int_equal(load_text("", path, err), 0);
	assert_int_equal(load_text("# nothing\n\n  # here\n", path, err), 0);
	/* an empty home_nets list empties the set */
	assert_int_equal(load_text("home_nets =\n", path, err), 0);
	assert_int_equal(cfg_a.home_nets.n, 0);
}

static void
test_load_over_existing(void **state)
{
	char path[64], err[ERRLEN];

	(void)state;
	write_tmp(path, "rx_desc = 512\n");
	sl_cfg_defaults(&cfg_a);
	assert_int_equal(sl_cfg_set(&cfg_a, "workers", "7", err, sizeof(err)), 0);
	assert_int_equal(sl_cfg_load(&cfg_a, path, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(cfg_a.workers, 7);
	assert_int_equal(cfg_a.rx_desc, 512);
}

static void
test_load_errors(void **state)
{
	(void)state;
	expect_load_error("workers 4\n", 1, NULL);                      /* no '=' */
	expect_load_error("# comment\n\nworkers\n", 3, NULL);
	expect_load_error("# c\n\nbogus_key = 1\n", 3, "bogus_key");   /* unknown key */
	expect_load_error("workers = four\n", 1, "workers");             /* bad number */
	expect_load_error("workers = -1\n", 1, "workers");
	expect_load_error("workers =\n", 1, "workers");
	expect_load_error("workers = 2\nrx_desc = 1\n", 2, "rx_desc");   /* out of range */
	expect_load_error("workers = 65\n", 1, "workers");
	expect_load_error("workers = 99999999999999999999999\n", 1, "workers");
	expect_load_error("home_nets = 10.0.0.0/8, 10.1.2.3/33\n", 1, "10.1.2.3/33");
	expect_load_error("\n\n\n\nhome_nets = abc\n", 5, "abc");
	expect_load_error(" = 5\n", 1, NULL);                           /* missing key */
	expect_load_error("workers = 2\n\t=\n", 2, NULL);
}

static void
test_load_missing_file(void **state)
{
	char path[64], err[ERRLEN], prefix[80];

	(void)state;
	write_tmp(path, "");
	unlink(path); /* a fresh name that does not exist */
	sl_cfg_defaults(&cfg_a);
	err[0] = '\0';
	assert_int_equal(sl_cfg_load(&cfg_a, path, err, sizeof(err)), -ENOENT);
	snprintf(prefix, sizeof(prefix), "%s: ", path);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("message \"%s\" does not start with \"%s\"", err, prefix);
	assert_true(strlen(err) > strlen(prefix));
}

static void
test_load_validates(void **state)
{
	char path[64], err[ERRLEN], prefix[256];

	(void)state;
	assert_int_equal(load_text("report_ring_size = 100\n", path, err), -EINVAL);
	snprintf(prefix, sizeof(prefix), "%s:1: ", path);
	assert_int_equal(strncmp(err, prefix, strlen(prefix)), 0);
	assert_non_null(strstr(err, "report_ring_size"));

	assert_int_equal(load_text("tcp_established_timeout = 5\ntcp_closed_timeout = 6\n", path,
		err), -EINVAL);
	snprintf(prefix, sizeof(prefix), "%s:2: ", path);
	assert_int_equal(strncmp(err, prefix, strlen(prefix)), 0);
	assert_non_null(strstr(err, "tcp_closed_timeout"));
	/* the other key of the pair is named with where it was set */
	snprintf(prefix, sizeof(prefix), "%s:1)", path);
	assert_non_null(strstr(err, prefix));

	assert_int_equal(load_text("score_alert = 70\n#\nscore_block = 65\n", path, err), -EINVAL);
	snprintf(prefix, sizeof(prefix), "%s:3: score_block (65) is below score_alert (70, %s:1)",
		path, path);
	assert_string_equal(err, prefix);
	assert_int_equal(load_text("block_ttl_s = 100\nblock_ttl_max_s = 10\n", path, err), -EINVAL);
	snprintf(prefix, sizeof(prefix), "%s:2: block_ttl_max_s", path);
	assert_int_equal(strncmp(err, prefix, strlen(prefix)), 0);
	/* a default on the other side says so */
	assert_int_equal(load_text("score_block = 50\n", path, err), -EINVAL);
	assert_non_null(strstr(err, "(60, default)"));
}

/* Every text-valued key's bad value is an error at its file:line naming the key. */
static void
test_load_text_keys(void **state)
{
	static const struct {
		const char *text, *needle;
	} cases[] = {
		{"mode = bogus\n", "mode: 'bogus' is not one of monitor|inline|dry_run"},
		{"mode =\n", "mode"},
		{"mode = Monitor\n", "mode"},
		{"mode = monitor inline\n", "mode"},
		{"block_scope = host\n", "block_scope"},
		{"block_backend = rte_flow\n", "block_backend"},
		{"block_allowlist = 10.0.0.0/8, 10.0.0.300\n", "block_allowlist: '10.0.0.300'"},
		{"block_allowlist = 10.0.0.0/33\n", "block_allowlist"},
		{"score_beh_service_ports = 22,x\n", "score_beh_service_ports: bad port"},
		{"score_beh_service_ports = 0\n", "score_beh_service_ports"},
		{"score_beh_service_ports = 65536\n", "score_beh_service_ports"},
		{"score_beh_service_ports = -22\n", "score_beh_service_ports"},
		{"score_beh_pool_ports = 3333x\n", "score_beh_pool_ports"},
		{"score_beh_pool_ports = 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,"
		 "24,25,26,27,28,29,30,31,32,33\n", "score_beh_pool_ports: more than 32 ports"},
		{"metrics_bind = 1.2.3\n", "metrics_bind: '1.2.3' is not an IPv4 or IPv6 address"},
		{"metrics_bind = localhost\n", "metrics_bind"},
		{"metrics_bind =\n", "metrics_bind"},
	};

	(void)state;
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512];

		/* two lines before it, so the line number is checked */
		snprintf(text, sizeof(text), "workers = 1\n# x\n%s", cases[i].text);
		expect_load_error(text, 3, cases[i].needle);
	}
	/* and the good ones load */
	{
		char path[64], err[ERRLEN];

		assert_int_equal(load_text("mode = dry_run\nblock_scope = quarantine\n"
					   "block_backend = soft\nblock_allowlist = 10.0.0.0/8 ::1\n"
					   "score_beh_service_ports = 22 443\nmetrics_bind = ::1\n",
				 path, err), 0);
		assert_string_equal(cfg_a.mode, "dry_run");
		assert_string_equal(cfg_a.metrics_bind, "::1");
	}
}

/* A key given twice in one file is an error naming both lines. */
static void
test_load_duplicate(void **state)
{
	(void)state;
	expect_load_error("workers = 2\n\n# again\nworkers = 3\n", 4, "lines 1 and 4");
	expect_load_error("mode = inline\nmode = inline\n", 2, "mode is set twice");
	expect_load_error("home_nets = 10.0.0.0/8\nudp_timeout = 5\nhome_nets = 10.0.0.0/8\n", 3,
		"lines 1 and 3");
}

/* A NUL byte has its own message, at its line and column. */
static void
test_load_nul(void **state)
{
	static const char text[] = "workers = 2\nudp_timeout = 3\0" "0\n";
	char path[64], err[ERRLEN], want[128];
	int fd;

	(void)state;
	strcpy(path, "/tmp/sluice_test_cfg_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	sl_cfg_defaults(&cfg_a);
	assert_int_equal(sl_cfg_load(&cfg_a, path, err, sizeof(err)), -EINVAL);
	unlink(path);
	snprintf(want, sizeof(want), "%s:2: NUL byte at column 16", path);
	assert_int_equal(strncmp(err, want, strlen(want)), 0);
}

/* Long values are taken whole (a line has no length limit) or refused naming the key:
 * nothing is cut. */
static void
test_load_long_values(void **state)
{
	static char text[1 << 17];
	char path[64], err[ERRLEN];
	uint8_t a[16];
	size_t n = 0;

	(void)state;
	/* 240 CIDRs, 4.8 KB, then the one that matters */
	n += (size_t)snprintf(text + n, sizeof(text) - n, "home_nets = ");
	for (unsigned int i = 0; i < 240; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "10.%u.%u.0/24,      ", i / 250,
			i % 250);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "192.168.0.0/16\n");
	assert_true(n > 4096);
	assert_int_equal(load_text(text, path, err), 0);
	assert_int_equal(cfg_a.home_nets.n, 241);
	addr_of("192.168.7.7", a);
	assert_true(sl_cidr_set_match(&cfg_a.home_nets, a));
	addr_of("1.2.3.4", a); /* a list cut to 192.168.0.0/1 would take this one in */
	assert_false(sl_cidr_set_match(&cfg_a.home_nets, a));
	/* the same through sl_cfg_set (--set) */
	sl_cfg_defaults(&cfg_a);
	assert_int_equal(sl_cfg_set(&cfg_a, "home_nets", text + strlen("home_nets = "), err,
		sizeof(err)), -EINVAL); /* the trailing newline is not a CIDR character */
	text[n - 1] = '\0';
	assert_int_equal(sl_cfg_set(&cfg_a, "home_nets", text + strlen("home_nets = "), err,
		sizeof(err)), 0);
	assert_int_equal(cfg_a.home_nets.n, 241);
	/* 256 IPv6 CIDRs in the allowlist (about 7 KB) */
	n = (size_t)snprintf(text, sizeof(text), "block_allowlist = ");
	for (unsigned int i = 0; i < SL_CIDR_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "2001:db8:%x:1234:5678::/80, ", i);
	snprintf(text + n, sizeof(text) - n, "\n");
	assert_int_equal(load_text(text, path, err), 0);
	assert_true(strlen(cfg_a.block_allowlist) > 6000);
	/* one more is refused by count */
	snprintf(text + n, sizeof(text) - n, "::1\n");
	expect_load_error(text, 1, "more than 256");
	/* a path of 3000 bytes is taken; one longer than PATH_MAX is refused, naming the key */
	memset(text, 0, sizeof(text));
	n = (size_t)snprintf(text, sizeof(text), "detectors = /");
	memset(text + n, 'd', 3000);
	n += 3000;
	snprintf(text + n, sizeof(text) - n, "\n");
	assert_int_equal(load_text(text, path, err), 0);
	assert_int_equal(strlen(cfg_a.detectors), 3001);
	memset(text + n, 'd', 2000);
	snprintf(text + n + 2000, sizeof(text) - n - 2000, "\n");
	expect_load_error(text, 1, "detectors: value of 5001 bytes is longer than the 4095");
	/* the cache directory keeps room for its file names: refused before it could be cut */
	memset(text, 0, sizeof(text));
	n = (size_t)snprintf(text, sizeof(text), "hs_cache_dir = /");
	memset(text + n, 'c', 4040);
	snprintf(text + n + 4040, sizeof(text) - n - 4040, "\n");
	expect_load_error(text, 1, "hs_cache_dir: value of 4041 bytes is longer than the 4031");
	/* an unknown key of any length is named, shortened */
	memset(text, 'k', 5000);
	snprintf(text + 5000, sizeof(text) - 5000, " = 1\n");
	expect_load_error(text, 1, "unknown key 'kkkk");
}

/* sl_cfg_where: file:line, --set or default. */
static void
test_where(void **state)
{
	char path[64], err[ERRLEN], buf[128], want[96];

	(void)state;
	assert_int_equal(load_text("# x\nudp_timeout = 5\nmode = inline\n", path, err), 0);
	snprintf(want, sizeof(want), "%s:2", path);
	assert_string_equal(sl_cfg_where(&cfg_a, "udp_timeout", buf, sizeof(buf)), want);
	snprintf(want, sizeof(want), "%s:3", path);
	assert_string_equal(sl_cfg_where(&cfg_a, "mode", buf, sizeof(buf)), want);
	assert_string_equal(sl_cfg_where(&cfg_a, "workers", buf, sizeof(buf)), "default");
	assert_int_equal(sl_cfg_set(&cfg_a, "udp_timeout", "6", err, sizeof(err)), 0);
	assert_string_equal(sl_cfg_where(&cfg_a, "udp_timeout", buf, sizeof(buf)), "--set");
	assert_string_equal(sl_cfg_where(&cfg_a, "nope", buf, sizeof(buf)), "?");
	/* --set after the file may set a key again; a failed --set changes nothing */
	assert_int_equal(sl_cfg_set(&cfg_a, "mode", "bogus", err, sizeof(err)), -EINVAL);
	assert_string_equal(cfg_a.mode, "inline");
	snprintf(want, sizeof(want), "%s:3", path);
	assert_string_equal(sl_cfg_where(&cfg_a, "mode", buf, sizeof(buf)), want);
}

/* ---------------------------------------------------------------------------------------
 * CIDRs
 * ------------------------------------------------------------------------------------- */

static void
expect_cidr(const char *text, const char *net, unsigned int plen)
{
	struct sl_cidr c;
	uint8_t a[16];

	memset(&c, 0xee, sizeof(c));
	if (sl_cidr_parse(text, &c) != 0)
		fail_msg("\"%s\" rejected", text);
	addr_of(net, a);
	assert_memory_equal(c.addr, a, 16);
	assert_int_equal(c.plen, plen);
}

static void
test_cidr_parse(void **state)
{
	static const char *const bad[] = {
		"1.2.3.4/33", "1.2.3", "::1/129", "abc", "", "1.2.3.4/", "1.2.3.4/x",
		"1.2.3.4/-1", "1.2.3.4/+8", "1.2.3.4/ 8", "1.2.3.4 /8", "1.2.3.4/8/8", "1.2.3.4/8x",
		"::1/", "300.1.1.1", "1.2.3.4.5", "/8", " 1.2.3.4", "1.2.3.4/99999999999999999999",
		"0123456789012345678901234567890123456789012345678901234567890123456789",
	};
	struct sl_cidr c;

	(void)state;
	expect_cidr("10.1.2.3/8", "10.0.0.0", 104);
	expect_cidr("192.0.2.7", "192.0.2.7", 128);
	expect_cidr("192.0.2.7/32", "192.0.2.7", 128);
	expect_cidr("2001:db8::1/32", "2001:db8::", 32);
	expect_cidr("2001:db8::1", "2001:db8::1", 128);
	expect_cidr("::1", "::1", 128);
	expect_cidr("0.0.0.0/0", "0.0.0.0", 96);
	expect_cidr("1.2.3.255/0", "0.0.0.0", 96);   /* host bits zeroed */
	expect_cidr("::/0", "::", 0);
	expect_cidr("ffff::1/0", "::", 0);
	expect_cidr("192.168.1.200/25", "192.168.1.128", 121);
	expect_cidr("10.255.255.255/31", "10.255.255.254", 127);
	expect_cidr("2001:db8:ffff::/33", "2001:db8:8000::", 33);
	expect_cidr("::ffff:10.1.2.3/104", "10.0.0.0", 104); /* mapped form written as IPv6 */
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sl_cidr_parse(bad[i], &c) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
}

static void
test_cidr_set_parse(void **state)
{
	static struct sl_cidr_set set;
	static char big[8000];
	char err[ERRLEN];
	size_t used = 0;

	(void)state;
	assert_int_equal(sl_cidr_set_parse(&set,
		"10.0.0.0/8,192.168.0.0/16 , 2001:db8::/32\t172.16.0.0/12,", err, sizeof(err)), 0);
	assert_int_equal(set.n, 4);
	assert_int_equal(set.cidr[0].plen, 104);
	assert_int_equal(set.cidr[1].plen, 112);
	assert_int_equal(set.cidr[2].plen, 32);
	assert_int_equal(set.cidr[3].plen, 108);
	assert_int_equal(sl_cidr_set_parse(&set, "", err, sizeof(err)), 0);
	assert_int_equal(set.n, 0);
	assert_int_equal(sl_cidr_set_parse(&set, " , ,\t", err, sizeof(err)), 0);
	assert_int_equal(set.n, 0);

	err[0] = '\0';
	assert_int_equal(sl_cidr_set_parse(&set, "10.0.0.0/8, 1.2.3.4/33", err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "1.2.3.4/33"));

	/* SL_CIDR_MAX entries fit, one more does not */
	for (unsigned int i = 0; i < SL_CIDR_MAX; i++)
		used += (size_t)snprintf(big + used, sizeof(big) - used, "%s10.%u.%u.0/24",
			i ? ", " : "", i / 256, i % 256);
	assert_int_equal(sl_cidr_set_parse(&set, big, err, sizeof(err)), 0);
	assert_int_equal(set.n, SL_CIDR_MAX);
	snprintf(big + used, sizeof(big) - used, " 11.0.0.0/8");
	err[0] = '\0';
	assert_int_equal(sl_cidr_set_parse(&set, big, err, sizeof(err)), -ENOSPC);
	assert_true(err[0] != '\0');
}

static bool
match_text(const struct sl_cidr_set *set, const char *addr)
{
	uint8_t a[16];

	addr_of(addr, a);
	return sl_cidr_set_match(set, a);
}

static void
set_of(struct sl_cidr_set *set, const char *text)
{
	char err[ERRLEN];

	if (sl_cidr_set_parse(set, text, err, sizeof(err)) != 0)
		fail_msg("\"%s\": %s", text, err);
}

static void
test_cidr_match(void **state)
{
	static struct sl_cidr_set set;

	(void)state;
	set.n = 0;
	assert_false(match_text(&set, "10.0.0.1"));
	assert_false(match_text(&set, "::"));

	set_of(&set, "10.0.0.0/8");
	assert_true(match_text(&set, "10.0.0.0"));
	assert_true(match_text(&set, "10.255.255.255"));
	assert_false(match_text(&set, "11.0.0.0"));
	assert_false(match_text(&set, "9.255.255.255"));
	assert_false(match_text(&set, "::a00:1"));       /* IPv4-compatible, not mapped */
	assert_false(match_text(&set, "2001:db8::a00:1"));

	/* IPv4 /0 is /96 in the mapped space: every IPv4 address, no IPv6 address */
	set_of(&set, "0.0.0.0/0");
	assert_true(match_text(&set, "0.0.0.0"));
	assert_true(match_text(&set, "1.2.3.4"));
	assert_true(match_text(&set, "255.255.255.255"));
	assert_false(match_text(&set, "2001:db8::1"));
	assert_false(match_text(&set, "::"));
	assert_false(match_text(&set, "::1"));

	/* IPv6 /0 matches everything, IPv4 included */
	set_of(&set, "::/0");
	assert_true(match_text(&set, "1.2.3.4"));
	assert_true(match_text(&set, "2001:db8::1"));
	assert_true(match_text(&set, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));

	set_of(&set, "2001:db8::/32");
	assert_true(match_text(&set, "2001:db8::"));
	assert_true(match_text(&set, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(match_text(&set, "2001:db9::"));
	assert_false(match_text(&set, "2001:db7:ffff::"));
	assert_false(match_text(&set, "32.1.13.184")); /* same leading bytes as IPv4 */

	set_of(&set, "192.168.1.128/25");
	assert_true(match_text(&set, "192.168.1.128"));
	assert_true(match_text(&set, "192.168.1.255"));
	assert_false(match_text(&set, "192.168.1.127"));
	assert_false(match_text(&set, "192.168.2.128"));
	assert_false(match_text(&set, "192.168.0.255"));

	set_of(&set, "2001:db8:8000::/33");
	assert_true(match_text(&set, "2001:db8:8000::1"));
	assert_true(match_text(&set, "2001:db8:ffff::"));
	assert_false(match_text(&set, "2001:db8:7fff:ffff::"));

	set_of(&set, "198.51.100.7, 2001:db8::1/128, 10.0.0.0/31");
	assert_true(match_text(&set, "198.51.100.7"));
	assert_false(match_text(&set, "198.51.100.6"));
	assert_false(match_text(&set, "198.51.100.8"));
	assert_true(match_text(&set, "2001:db8::1"));
	assert_false(match_text(&set, "2001:db8::2"));
	assert_true(match_text(&set, "10.0.0.1"));
	assert_false(match_text(&set, "10.0.0.2"));
}

static void
test_addr_format(void **state)
{
	static const char *const texts[] = {
		"192.0.2.1", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::", "::1",
		"fe80::1:2:3:4", "2001:db8:0:1:2:3:4:5",
	};
	char buf[64];
	uint8_t a[16];

	(void)state;
	for (unsigned int i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		addr_of(texts[i], a);
		memset(buf, 0, sizeof(buf));
		sl_addr_format(a, buf, sizeof(buf));
		assert_string_equal(buf, texts[i]);
	}
	/* ::ffff:a.b.c.d written in IPv6 form prints as the dotted quad */
	assert_int_equal(inet_pton(AF_INET6, "::ffff:10.1.2.3", a), 1);
	sl_addr_format(a, buf, sizeof(buf));
	assert_string_equal(buf, "10.1.2.3");
}

/* ---------------------------------------------------------------------------------------
 * config/sluice.conf agrees with the key table
 * ------------------------------------------------------------------------------------- */

static void
test_conf_file_defaults(void **state)
{
	const char *path = getenv("SL_CONF_PATH");
	char line[4096], err[ERRLEN];
	unsigned char seen[N_KEYS];
	unsigned int lineno = 0, problems = 0;
	FILE *f;

	(void)state;
	if (path == NULL || *path == '\0')
		skip();
	f = fopen(path, "r");
	if (f == NULL && errno == ENOENT) {
		print_message("%s does not exist: skipped\n", path);
		skip();
	}
	if (f == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	memset(seen, 0, sizeof(seen));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s = line, *key, *val;
		int commented = 0, k;
		uint64_t v;

		lineno++;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '#') {
			commented = 1;
			s++;
			while (*s == ' ' || *s == '\t')
				s++;
		}
		/* "key = value": a lower-case identifier, '=', a value token */
		key = s;
		while (islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_')
			s++;
		if (s == key)
			continue;
		val = s;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '=')
			continue;
		*val = '\0';
		s++;
		while (*s == ' ' || *s == '\t')
			s++;
		val = s;
		while (*s != '\0' && !isspace((unsigned char)*s) && *s != '#')
			s++;
		*s = '\0';
		k = key_index(key);
		if (k < 0)
			continue; /* home_nets, or prose */
		sl_cfg_defaults(&cfg_b);
		if (sl_cfg_set(&cfg_b, key, val, err, sizeof(err)) != 0) {
			if (commented)
				continue; /* "# key = some words": documentation, not a setting */
			print_error("%s:%u: %s\n", path, lineno, err);
			problems++;
			continue;
		}
		v = cfg_get(&cfg_b, (unsigned int)k);
		if (v != KEYS[k].def) {
			print_error("%s:%u: %s = %s (%" PRIu64 ") but the default is %" PRIu64 "\n", path,
				lineno, key, val, v, KEYS[k].def);
			problems++;
			continue;
		}
		seen[k] = 1;
	}
	fclose(f);
	for (unsigned int i = 0; i < N_KEYS; i++) {
		if (!seen[i]) {
			print_error("%s: no \"%s = %" PRIu64 "\" line\n", path, KEYS[i].name,
				KEYS[i].def);
			problems++;
		}
	}
	if (problems != 0)
		fail_msg("%s disagrees with the key table in %u place(s)", path, problems);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_set_good),
		cmocka_unit_test(test_set_ranges),
		cmocka_unit_test(test_set_bad),
		cmocka_unit_test(test_set_home_nets),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_load_good),
		cmocka_unit_test(test_load_over_existing),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_missing_file),
		cmocka_unit_test(test_load_validates),
		cmocka_unit_test(test_load_text_keys),
		cmocka_unit_test(test_load_duplicate),
		cmocka_unit_test(test_load_nul),
		cmocka_unit_test(test_load_long_values),
		cmocka_unit_test(test_where),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_set_parse),
		cmocka_unit_test(test_cidr_match),
		cmocka_unit_test(test_addr_format),
		cmocka_unit_test(test_conf_file_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
