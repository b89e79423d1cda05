/* test_evid.c: unit tests of evidence packets (lib/evid): the worker ring (fixed records in
 * order, a full ring refuses and counts, never blocks), the published mark table (either end
 * as the host, only the marked peer port and proto, republished after rotation), rotation by
 * file count and by total bytes (oldest files removed from disk, counted), the per-flow,
 * per-flow-count and per-file bounds, the pcap a drained record makes, and config errors.
 * Needs EAL (rte_malloc, rte_rcu_qsbr): started once per run with --no-huge. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sl_cfg.h"
#include "sl_evid.h"
#include "sl_pkt.h"
#include "sl_test_eal.h"

static char g_dir[256];
static uint8_t H[16], H2[16], P[16], Q[16];

static void
v4(uint8_t a[16], int x, int y, int z, int w)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = (uint8_t)x;
	a[13] = (uint8_t)y;
	a[14] = (uint8_t)z;
	a[15] = (uint8_t)w;
}

static struct sl_evid_params
params(uint32_t nworkers)
{
	struct sl_evid_params p;

	memset(&p, 0, sizeof(p));
	snprintf(p.dir, sizeof(p.dir), "%s", g_dir);
	p.snaplen = 128;
	p.ring = 16;
	p.stream_bytes = 64;
	p.flow_packets = 1000;
	p.file_flows = 4;
	p.host_bytes = 1 << 20;
	p.max_bytes = 4 << 20;
	p.max_files = 8;
	p.nworkers = nworkers;
	p.drain_budget = 256;
	return p;
}

static struct sl_evid *
make(const struct sl_evid_params *p)
{
	char err[512];
	int rc;
	struct sl_evid *e = sl_evid_create(p, 0, &rc, err, sizeof(err));

	if (e == NULL)
		fail_msg("sl_evid_create: %s", err);
	return e;
}

static bool
exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

static off_t
size_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static int
tc_setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/sl_test_evid_%d", (int)getpid());
	return system("true");
}

static int
tc_teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A ring of 16 takes 16 records, refuses (counts) the 17th, gives them back in order. */
static void
test_ring_full_counts(void **state)
{
	struct sl_evring *r = sl_evring_create(16, 256, 128, 0);

	(void)state;
	assert_non_null(r);
	assert_int_equal(sl_evring_cap(r), 256);
	assert_int_equal(sl_evring_snaplen(r), 128);
	for (int i = 0; i < 16; i++) {
		struct sl_evrec *rec = sl_evring_reserve(r);

		assert_non_null(rec);
		rec->ts_us = (uint64_t)i;
		rec->len = 1;
		rec->data[0] = (uint8_t)i;
		sl_evring_commit(r);
	}
	assert_null(sl_evring_reserve(r));
	assert_null(sl_evring_reserve(r));
	assert_int_equal(sl_evring_dropped(r), 2);
	for (int i = 0; i < 16; i++) {
		const struct sl_evrec *rec = sl_evring_peek(r);

		assert_non_null(rec);
		assert_int_equal(rec->ts_us, (uint64_t)i);
		assert_int_equal(rec->data[0], i);
		sl_evring_pop(r);
	}
	assert_null(sl_evring_peek(r));
	assert_non_null(sl_evring_reserve(r)); /* room again */
	assert_null(sl_evring_create(15, 256, 128, 0)); /* not a power of two */
	sl_evring_free(r);
}

/* Marks: published to the workers, either end as the host, exact peer port and proto. */
static void
test_marks_published(void **state)
{
	struct sl_evid_params p = params(1);
	struct sl_evid *e = make(&p);
	struct sl_evid_flow fl = {.port = 3333, .proto = 6};
	char pcap[1024], stream[1024];
	const struct sl_evset *t0, *t1;

	(void)state;
	memcpy(fl.peer, P, 16);
	sl_evid_worker_online(e, 0);
	t0 = sl_evid_acquire(e);
	assert_non_null(t0);
	assert_false(sl_evset_match(t0, H, P, 40000, 3333, 6));
	sl_evid_quiescent(e, 0);
	assert_int_equal(sl_evid_alert(e, H, 1700000000000000ull, &fl, 1, pcap, stream,
				 sizeof(pcap)), 0);
	assert_true(exists(pcap));
	assert_true(exists(stream));
	assert_non_null(strstr(pcap, "sluice-10.0.0.1-20231114T221320Z-1.pcap"));
	t1 = sl_evid_acquire(e);
	assert_ptr_not_equal(t0, t1);
	assert_true((uint8_t)sl_evset_gen(t1) != 0);
	assert_int_not_equal(sl_evset_gen(t0), sl_evset_gen(t1));
	assert_true(sl_evset_match(t1, H, P, 40000, 3333, 6));  /* the host started it */
	assert_true(sl_evset_match(t1, P, H, 3333, 40000, 6));  /* the host answered */
	assert_false(sl_evset_match(t1, H, P, 40000, 3334, 6)); /* another port */
	assert_false(sl_evset_match(t1, H, P, 40000, 3333, 17));
	assert_false(sl_evset_match(t1, H2, P, 40000, 3333, 6));
	assert_false(sl_evset_match(t1, H, Q, 40000, 3333, 6));
	sl_evid_quiescent(e, 0);
	sl_evid_worker_offline(e, 0);
	sl_evid_free(e);
}

/* A packet and a stream record through a worker ring into the alert's files. */
static void
test_drain_writes_pcap(void **state)
{
	struct sl_evid_params p = params(1);
	struct sl_evid *e = make(&p);
	struct sl_evid_flow fl = {.port = 3333, .proto = 6};
	char pcap[1024], stream[1024];
	struct sl_evring *r = sl_evid_ring(e, 0);
	struct sl_evrec *rec;
	struct sl_evid_stats st;
	uint32_t hdr[6];
	FILE *f;

	(void)state;
	memcpy(fl.peer, P, 16);
	assert_int_equal(sl_evid_alert(e, H, 1700000000000000ull, &fl, 1, pcap, stream,
				 sizeof(pcap)), 0);
	for (int i = 0; i < 3; i++) {
		rec = sl_evring_reserve(r);
		assert_non_null(rec);
		memset(rec, 0, sizeof(*rec));
		rec->ts_us = 1700000001000000ull + (uint64_t)i;
		rec->wire_len = 300;
		rec->len = 100;
		rec->linktype = SL_DLT_RAW;
		rec->kind = SL_EVREC_PKT;
		memcpy(rec->src, i == 1 ? P : H, 16);
		memcpy(rec->dst, i == 1 ? H : P, 16);
		rec->sport = i == 1 ? 3333 : 40000;
		rec->dport = i == 1 ? 40000 : 3333;
		rec->proto = 6;
		memset(rec->data, 0x45, 100);
		sl_evring_commit(r);
	}
	rec = sl_evring_reserve(r); /* a record of an unmarked flow: an orphan */
	memset(rec, 0, sizeof(*rec));
	memcpy(rec->src, H2, 16);
	memcpy(rec->dst, P, 16);
	rec->sport = 1;
	rec->dport = 3333;
	rec->proto = 6;
	rec->kind = SL_EVREC_PKT;
	sl_evring_commit(r);
	rec = sl_evring_reserve(r);
	memset(rec, 0, sizeof(*rec));
	memcpy(rec->src, H, 16);
	memcpy(rec->dst, P, 16);
	rec->sport = 40000;
	rec->dport = 3333;
	rec->proto = 6;
	rec->kind = SL_EVREC_STREAM;
	rec->len = 5;
	memcpy(rec->data, "hello", 5);
	sl_evring_commit(r);
	assert_int_equal(sl_evid_drain(e, 2), 2); /* bounded per pass, counted */
	sl_evid_get_stats(e, &st);
	assert_int_equal(st.evidence_drain_budget, 1);
	assert_int_equal(sl_evid_drain(e, UINT32_MAX), 3);
	sl_evid_get_stats(e, &st);
	assert_int_equal(st.evidence_drain_budget, 1);
	assert_int_equal(st.evidence_pkts, 3);
	assert_int_equal(st.evidence_streams, 1);
	assert_int_equal(st.evidence_orphans, 1);
	assert_int_equal(size_of(pcap), 24 + 3 * (16 + 100));
	f = fopen(pcap, "rb");
	assert_non_null(f);
	assert_int_equal(fread(hdr, 4, 6, f), 6);
	fclose(f);
	assert_int_equal(hdr[0], 0xa1b2c3d4);
	assert_int_equal(hdr[5], SL_DLT_RAW); /* the first packet's link type */
	{
		char buf[512] = "";

		f = fopen(stream, "rb");
		assert_non_null(f);
		assert_true(fread(buf, 1, sizeof(buf) - 1, f) > 0);
		fclose(f);
		assert_non_null(strstr(buf, "to_server 10.0.0.1:40000 -> 192.0.2.9:3333 tcp: 5 bytes"));
		assert_non_null(strstr(buf, "\nhello\n"));
	}
	sl_evid_free(e);
}

static void
put(struct sl_evring *r, const uint8_t *src, uint16_t sport, uint32_t len)
{
	struct sl_evrec *rec = sl_evring_reserve(r);

	assert_non_null(rec);
	memset(rec, 0, sizeof(*rec));
	rec->ts_us = 1700000001000000ull;
	rec->wire_len = len;
	rec->len = len;
	rec->linktype = SL_DLT_EN10MB;
	rec->kind = SL_EVREC_PKT;
	memcpy(rec->src, src, 16);
	memcpy(rec->dst, P, 16);
	rec->sport = sport;
	rec->dport = 3333;
	rec->proto = 6;
	sl_evring_commit(r);
}

/* Per flow (packets), per file (flows, bytes): what does not fit is counted. */
static void
test_bounds_flow_and_file(void **state)
{
	struct sl_evid_params p = params(1);
	struct sl_evid *e;
	struct sl_evid_flow fl = {.port = 3333, .proto = 6};
	char pcap[1024], stream[1024];
	struct sl_evid_stats st;

	(void)state;
	p.flow_packets = 2;
	p.file_flows = 2;
	p.host_bytes = 24 + 5 * (16 + 64); /* room for 5 packets of 64 bytes */
	e = make(&p);
	memcpy(fl.peer, P, 16);
	assert_int_equal(sl_evid_alert(e, H, 1700000000000000ull, &fl, 1, pcap, stream,
				 sizeof(pcap)), 0);
	for (int i = 0; i < 3; i++)
		put(sl_evid_ring(e, 0), H, 40000, 64); /* flow 1: 2 kept, 1 over */
	for (int i = 0; i < 2; i++)
		put(sl_evid_ring(e, 0), H, 40001, 64); /* flow 2: 2 kept */
	put(sl_evid_ring(e, 0), H, 40002, 64);         /* flow 3: over the file's flows */
	sl_evid_drain(e, UINT32_MAX);
	sl_evid_get_stats(e, &st);
	assert_int_equal(st.evidence_pkts, 4);
	assert_int_equal(st.evidence_over_flow, 1);
	assert_int_equal(st.evidence_over_flows, 1);
	assert_int_equal(st.evidence_over_host, 0);
	put(sl_evid_ring(e, 0), H, 40001, 64); /* flow 2's third: over the flow bound */
	sl_evid_drain(e, UINT32_MAX);
	sl_evid_get_stats(e, &st);
	assert_int_equal(st.evidence_over_flow, 2);
	sl_evid_free(e);

	p.flow_packets = 100;
	e = make(&p);
	assert_int_equal(sl_evid_alert(e, H, 1700000000000000ull, &fl, 1, pcap, stream,
				 sizeof(pcap)), 0);
	for (int i = 0; i < 8; i++)
		put(sl_evid_ring(e, 0), H, 40000, 64);
	sl_evid_drain(e, UINT32_MAX);
	sl_evid_get_stats(e, &st);
	assert_int_equal(st.evidence_pkts, 5);
	assert_int_equal(st.evidence_over_host, 3);
	assert_true(size_of(pcap) <= (off_t)p.host_bytes);
	sl_evid_free(e);
}

/* Rotation: past max_files the oldest alert's files go; past max_bytes too; counted, and
 * a rotated alert's marks leave the table. */
static void
test_rotation(void **state)
{
	struct sl_evid_params p = params(1);
	struct sl_evid *e;
	struct sl_evid_flow fl = {.port = 3333, .proto = 6};
	char pcap[4][1024], stream[1024];
	struct sl_evid_stats st;
	uint8_t host[4][16];

	(void)state;
	p.max_files = 2;
	e = make(&p);
	memcpy(fl.peer, P, 16);
	for (int i = 0; i < 3; i++) {
		v4(host[i], 10, 1, 0, i + 1);
		assert_int_equal(sl_evid_alert(e, host[i], 1700000000000000ull + (uint64_t)i, &fl, 1,
					 pcap[i], stream, sizeof(pcap[i])), 0);
	}
	assert_false(exists(pcap[0]));
	assert_true(exists(pcap[1]));
	assert_true(exists(pcap[2]));
	sl_evid_get_stats(e, &st);
	assert_int_equal(st.evidence_rotated, 1);
	assert_int_equal(st.evidence_files, 3);
	sl_evid_tick(e);
	assert_false(sl_evset_match(sl_evid_acquire(e), host[0], P, 1, 3333, 6));
	assert_true(sl_evset_match(sl_evid_acquire(e), host[2], P, 1, 3333, 6));
	sl_evid_free(e);

	/* total bytes: two files of 24 + 2 x 80 bytes fit in 400, a third file's packets push the
	 * oldest out */
	p = params(1);
	p.max_bytes = 400;
	p.host_bytes = 400;
	e = make(&p);
	for (int i = 0; i < 3; i++) {
		v4(host[i], 10, 2, 0, i + 1);
		assert_int_equal(sl_evid_alert(e, host[i], 1700000000000000ull, &fl, 1, pcap[i],
					 stream, sizeof(pcap[i])), 0);
		put(sl_evid_ring(e, 0), host[i], 40000, 64);
		put(sl_evid_ring(e, 0), host[i], 40000, 64);
		sl_evid_drain(e, UINT32_MAX);
	}
	sl_evid_get_stats(e, &st);
	assert_int_equal(st.evidence_pkts, 6);
	assert_int_equal(st.evidence_rotated, 1);
	assert_false(exists(pcap[0]));
	assert_true(size_of(pcap[1]) + size_of(pcap[2]) <= 400);
	sl_evid_free(e);
}

/* evidence_dir that cannot be used: a clear reason, no object. */
static void
test_dir_unusable(void **state)
{
	struct sl_evid_params p = params(0);
	char err[512], file[300];
	int rc;
	FILE *f;

	(void)state;
	assert_int_equal(mkdir(g_dir, 0700), 0);
	snprintf(file, sizeof(file), "%s/plain", g_dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(p.dir, sizeof(p.dir), "%s", file);
	assert_null(sl_evid_create(&p, 0, &rc, err, sizeof(err)));
	assert_int_equal(rc, -ENOTDIR);
	assert_non_null(strstr(err, "not a directory"));
	snprintf(p.dir, sizeof(p.dir), "%s/sub", file);
	assert_null(sl_evid_create(&p, 0, &rc, err, sizeof(err)));
	assert_non_null(strstr(err, "evidence_dir"));
}

/* Config: off by default; ring a power of two; per-file bound within the total. */
static void
test_params(void **state)
{
	struct sl_cfg c;
	struct sl_evid_params p;
	char err[256];

	(void)state;
	sl_cfg_defaults(&c);
	assert_int_equal(sl_evid_params_from_cfg(&c, &p, err, sizeof(err)), 0);
	snprintf(c.evidence_dir, sizeof(c.evidence_dir), "/tmp/x");
	assert_int_equal(sl_evid_params_from_cfg(&c, &p, err, sizeof(err)), 1);
	assert_int_equal(p.host_bytes, c.evidence_host_kb << 10);
	c.evidence_ring = 100;
	assert_int_equal(sl_evid_params_from_cfg(&c, &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "evidence_ring"));
	c.evidence_ring = 128;
	c.evidence_host_kb = c.evidence_max_kb + 1;
	assert_int_equal(sl_evid_params_from_cfg(&c, &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "evidence_host_kb"));
}

static int
group_setup(void **state)
{
	(void)state;
	v4(H, 10, 0, 0, 1);
	v4(H2, 10, 0, 0, 2);
	v4(P, 192, 0, 2, 9);
	v4(Q, 192, 0, 2, 10);
	return sl_test_eal_init("evid");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tc_setup, tc_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ring_full_counts),
		T(test_marks_published),
		T(test_drain_writes_pcap),
		T(test_bounds_flow_and_file),
		T(test_rotation),
		T(test_dir_unusable),
		T(test_params),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
