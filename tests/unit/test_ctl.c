/* test_ctl.c: unit tests of the control plane (lib/ctl): the aggregation windows of repeated
 * detections (first line at once, repeats folded, one aggregate line when the window closes,
 * a full table writes alone, time going back closes nothing), the accounting of records
 * (taken = written + aggregated + dropped, exactly), the packet clock, and host deltas fed
 * through the same path as a worker's ring. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_dedup.h"
#include "sl_cfg.h"
#include "sl_chan.h"
#include "sl_ctl.h"
#include "sl_test_eal.h"

#define T0 1700000000000000ull

/* ---- aggregation windows ---- */

struct wcall {
	unsigned int n;
	uint64_t count[8], first[8], last[8];
	uint8_t detector[8];
};

static int
wfn(void *arg, const struct sl_event *ev, unsigned int weight, uint64_t count, uint64_t first)
{
	struct wcall *w = arg;

	(void)weight;
	if (w->n < 8) {
		w->count[w->n] = count;
		w->first[w->n] = first;
		w->last[w->n] = ev->ts_us;
		w->detector[w->n] = ev->detector;
	}
	w->n++;
	return 0;
}

static struct sl_event
ev_of(uint32_t host, uint32_t peer, uint8_t det, const char *excerpt, uint64_t ts)
{
	struct sl_event e;

	memset(&e, 0, sizeof(e));
	e.ts_us = ts;
	e.src[10] = e.src[11] = 0xff;
	e.dst[10] = e.dst[11] = 0xff;
	memcpy(&e.src[12], &host, 4);
	memcpy(&e.dst[12], &peer, 4);
	e.sport = (uint16_t)(1000 + ts % 50000); /* ports and flows differ between repeats */
	e.dport = 3333;
	e.proto = 6;
	e.detector = det;
	e.host = SL_EV_HOST_SRC;
	e.excerpt_len = (uint8_t)strlen(excerpt);
	memcpy(e.excerpt, excerpt, e.excerpt_len);
	return e;
}

static void
test_dedup_window(void **state)
{
	struct wcall w = {0};
	struct ctl_dedup *d = ctl_dedup_create(10 * 1000000ull, 64, wfn, &w);
	struct ctl_dedup_stats st;
	struct sl_event a0 = ev_of(1, 2, 3, "pool.example", T0);
	struct sl_event a1 = ev_of(1, 2, 3, "pool.example", T0 + 1000000);
	struct sl_event a2 = ev_of(1, 2, 3, "pool.example", T0 + 2000000);
	struct sl_event b = ev_of(1, 2, 3, "other.example", T0 + 3000000);
	struct sl_event c = ev_of(1, 9, 3, "pool.example", T0 + 3000000); /* another peer */
	struct sl_event e = ev_of(1, 2, 4, "pool.example", T0 + 3000000); /* another detector */

	(void)state;
	assert_non_null(d);
	assert_int_equal(ctl_dedup_event(d, &a0, 50), 0); /* first: written at once */
	assert_int_equal(ctl_dedup_event(d, &a1, 50), 1);
	assert_int_equal(ctl_dedup_event(d, &a2, 50), 1);
	assert_int_equal(ctl_dedup_event(d, &b, 50), 0);
	assert_int_equal(ctl_dedup_event(d, &c, 50), 0);
	assert_int_equal(ctl_dedup_event(d, &e, 50), 0);
	ctl_dedup_expire(d, T0 + 9999999);
	assert_int_equal(w.n, 0);
	ctl_dedup_expire(d, T0 + 10000000); /* a0's window closes: one line for two repeats */
	assert_int_equal(w.n, 1);
	assert_int_equal(w.count[0], 2);
	assert_int_equal(w.first[0], T0 + 1000000);
	assert_int_equal(w.last[0], T0 + 2000000);
	/* a new window opens with the next one: written at once again */
	{
		struct sl_event a3 = ev_of(1, 2, 3, "pool.example", T0 + 11000000);

		assert_int_equal(ctl_dedup_event(d, &a3, 50), 0);
	}
	ctl_dedup_flush(d); /* b, c, e had no repeats: no lines; a3 none either */
	assert_int_equal(w.n, 1);
	ctl_dedup_get_stats(d, &st);
	assert_int_equal(st.folded, 2);
	assert_int_equal(st.lines, 1);
	assert_int_equal(st.full, 0);
	ctl_dedup_free(d);
}

static void
test_dedup_full_and_time_back(void **state)
{
	struct wcall w = {0};
	struct ctl_dedup *d = ctl_dedup_create(5 * 1000000ull, 16, wfn, &w);
	struct ctl_dedup_stats st;
	char name[32];

	(void)state;
	assert_non_null(d);
	for (unsigned int i = 0; i < 16; i++) {
		struct sl_event x;

		snprintf(name, sizeof(name), "p%u.example", i);
		x = ev_of(1, 2, 3, name, T0 + i);
		assert_int_equal(ctl_dedup_event(d, &x, 50), 0);
	}
	{
		struct sl_event x = ev_of(1, 2, 3, "p99.example", T0 + 20);
		struct sl_event y = ev_of(1, 2, 3, "p5.example", T0 + 21);

		assert_int_equal(ctl_dedup_event(d, &x, 50), 0); /* no room: written alone */
		assert_int_equal(ctl_dedup_event(d, &y, 50), 1); /* still folds into its window */
	}
	ctl_dedup_expire(d, T0 - 1000000); /* time went back: nothing closes */
	assert_int_equal(w.n, 0);
	ctl_dedup_get_stats(d, &st);
	assert_int_equal(st.full, 1);
	assert_int_equal(st.folded, 1);
	ctl_dedup_expire(d, T0 + 6000000);
	assert_int_equal(w.n, 1);
	ctl_dedup_free(d);
}

/* ---- the control plane ---- */

static struct sl_cfg cfg;

static struct sl_ctl *
make_ctl(const char *events, uint64_t dedup_s)
{
	struct sl_ctl_conf cc = {.cfg = &cfg, .live = false, .events_path = events,
		.nworkers = 1, .socket = 0};
	char err[512];
	int rc;
	struct sl_ctl *ctl;

	sl_cfg_defaults(&cfg);
	cfg.detect = 0;
	cfg.event_dedup_s = dedup_s;
	cfg.offline_host_capacity = 1024;
	cfg.score_capacity = 1024;
	ctl = sl_ctl_create(&cc, &rc, err, sizeof(err));
	if (ctl == NULL)
		fprintf(stderr, "sl_ctl_create: %s\n", err);
	return ctl;
}

static unsigned int
count_lines(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	unsigned int n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* A control plane writing its event log to a new file, whose name goes to @p path (64). */
static struct sl_ctl *
ctl_to_file(char *path, uint64_t dedup_s)
{
	struct sl_ctl *ctl;
	int fd;

	snprintf(path, 64, "/tmp/sl_test_ctl_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	ctl = make_ctl(path, dedup_s);
	assert_non_null(ctl);
	return ctl;
}

static void
test_ctl_accounting(void **state)
{
	char path[64];
	struct sl_ctl *ctl = ctl_to_file(path, 5);
	struct sl_ctl_stats st;
	struct sl_msg m = {.type = SL_MSG_EVENT};

	(void)state;
	/* ten repeats of one (host, peer, detector, evidence) inside the window, five others */
	for (unsigned int i = 0; i < 10; i++) {
		m.u.event = ev_of(7, 8, 1, "mining.subscribe", T0 + i * 100000);
		sl_ctl_feed(ctl, &m, 1);
	}
	for (unsigned int i = 0; i < 5; i++) {
		m.u.event = ev_of(20 + i, 8, 1, "mining.subscribe", T0 + 2000000 + i);
		sl_ctl_feed(ctl, &m, 1);
	}
	assert_int_equal(sl_ctl_now(ctl), T0 + 2000004); /* the packet clock: latest record */
	m.u.event = ev_of(30, 8, 1, "mining.subscribe", T0 + 1000); /* older: the clock stays */
	sl_ctl_feed(ctl, &m, 1);
	assert_int_equal(sl_ctl_now(ctl), T0 + 2000004);
	sl_ctl_finish(ctl, 0);
	sl_ctl_get_stats(ctl, &st);
	assert_int_equal(st.records, 16);
	assert_int_equal(st.det_taken, 16);
	assert_int_equal(st.det_aggregated, 9);
	assert_int_equal(st.det_written, 7);
	assert_int_equal(st.det_taken, st.det_written + st.det_aggregated + st.det_dropped_write);
	assert_int_equal(st.agg_lines, 1);
	assert_int_equal(sl_ctl_free(ctl), 0);
	/* lines: 7 written at once and one aggregate of nine repeats */
	assert_int_equal(count_lines(path, "\"event_type\":\"detection\""), 8);
	assert_int_equal(count_lines(path, "\"repeats\":{\"count\":9,"), 1);
	unlink(path);
}

static void
test_ctl_no_dedup_every_line(void **state)
{
	char path[64];
	struct sl_ctl *ctl = ctl_to_file(path, 0);
	struct sl_ctl_stats st;
	struct sl_msg m = {.type = SL_MSG_EVENT};

	(void)state;
	for (unsigned int i = 0; i < 10; i++) {
		m.u.event = ev_of(7, 8, 1, "mining.subscribe", T0 + i);
		sl_ctl_feed(ctl, &m, 1);
	}
	sl_ctl_finish(ctl, 0);
	sl_ctl_get_stats(ctl, &st);
	assert_int_equal(st.det_written, 10);
	assert_int_equal(st.det_aggregated, 0);
	assert_int_equal(sl_ctl_free(ctl), 0);
	assert_int_equal(count_lines(path, "\"event_type\":\"detection\""), 10);
	unlink(path);
}

static void
test_ctl_write_errors_counted(void **state)
{
	struct sl_ctl *ctl;
	struct sl_ctl_stats st;
	struct sl_msg m;

	(void)state;
	ctl = make_ctl("/dev/full", 0); /* every write fails with ENOSPC */
	assert_non_null(ctl);
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_EVENT;
	for (unsigned int i = 0; i < 20000; i++) { /* more than the buffer holds */
		m.u.event = ev_of(7 + i, 8, 1, "mining.subscribe", T0 + i);
		sl_ctl_feed(ctl, &m, 1);
	}
	sl_ctl_finish(ctl, 0);
	sl_ctl_get_stats(ctl, &st);
	assert_int_equal(st.det_taken, 20000);
	assert_true(st.det_dropped_write > 0);
	assert_int_equal(st.det_taken, st.det_written + st.det_aggregated + st.det_dropped_write);
	assert_true(sl_ctl_events_failed(ctl));
	assert_int_equal(sl_ctl_free(ctl), -EIO);
}

static void
test_ctl_host_deltas(void **state)
{
	struct sl_ctl *ctl = make_ctl(NULL, 0);
	struct sl_ctl_stats st;
	struct sl_msg m[4];
	const struct sl_chost *h;
	uint8_t addr[16] = {0};

	(void)state;
	assert_non_null(ctl);
	memset(m, 0, sizeof(m));
	addr[10] = addr[11] = 0xff;
	addr[15] = 5;
	for (unsigned int i = 0; i < 4; i++) {
		m[i].type = SL_MSG_HOST;
		memcpy(m[i].u.host.addr, addr, 16);
		m[i].u.host.bytes_out = 100;
		m[i].u.host.pkts_out = 1;
		m[i].u.host.ts_us = T0 + i;
	}
	sl_ctl_feed(ctl, m, 4);
	h = sl_chost_find(sl_ctl_hosts(ctl), addr);
	assert_non_null(h);
	assert_int_equal(h->bytes_out, 400);
	sl_ctl_get_stats(ctl, &st);
	assert_int_equal(st.host_deltas, 4);
	assert_int_equal(sl_ctl_free(ctl), 0);
}

static void
test_ctl_bad_config(void **state)
{
	struct sl_ctl_conf cc = {.cfg = &cfg, .live = false, .events_path = "/nonexistent/dir/x",
		.nworkers = 1, .socket = 0};
	char err[512] = "";
	int rc = 0;

	(void)state;
	sl_cfg_defaults(&cfg);
	cfg.detect = 0;
	assert_null(sl_ctl_create(&cc, &rc, err, sizeof(err)));
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, "/nonexistent/dir/x"));
}

static void
test_ctl_counter_table(void **state)
{
	struct sl_ctl_stats st;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.det_written = 42;
	for (unsigned int i = 0; i < sl_ctl_num_counters(); i++) {
		assert_non_null(sl_ctl_counter_name(i));
		assert_non_null(sl_ctl_counter_help(i));
		if (strcmp(sl_ctl_counter_name(i), "det_written") == 0)
			assert_int_equal(sl_ctl_counter(&st, i), 42);
	}
	assert_null(sl_ctl_counter_name(sl_ctl_num_counters()));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dedup_window),
		cmocka_unit_test(test_dedup_full_and_time_back),
		cmocka_unit_test(test_ctl_accounting),
		cmocka_unit_test(test_ctl_no_dedup_every_line),
		cmocka_unit_test(test_ctl_write_errors_counted),
		cmocka_unit_test(test_ctl_host_deltas),
		cmocka_unit_test(test_ctl_bad_config),
		cmocka_unit_test(test_ctl_counter_table),
	};

	if (sl_test_eal_init("ctl") < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
