/* test_input.c: unit tests of the input component's pcapng reader (lib/input/pcapng.c):
 * interfaces of different link types and time units (if_tsresol decimal and binary,
 * if_tsoffset) in one file, Enhanced, Simple and obsolete Packet Blocks, a section in the
 * other byte order giving the same records, blocks that are skipped, records that are
 * skipped and counted (unknown interface, data past the block, unusable if_tsresol, a new
 * section forgetting the old interfaces), and files that stop with a reason (truncated
 * block, bad or huge block length, bad magic, no interface, a packet before any interface).
 * Files are built in memory and read through fmemopen(). No EAL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcapng.h"

/* ---- a pcapng writer in either byte order ---- */

struct ng {
	uint8_t b[8192];
	size_t n;
	bool be;
};

static void
put(struct ng *g, const void *p, size_t n)
{
	assert_true(g->n + n <= sizeof(g->b));
	memcpy(g->b + g->n, p, n);
	g->n += n;
}

static void
put16(struct ng *g, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

	if (g->be) {
		x[0] = (uint8_t)(v >> 8);
		x[1] = (uint8_t)v;
	}
	put(g, x, 2);
}

static void
put32(struct ng *g, uint32_t v)
{
	if (g->be) {
		put16(g, (uint16_t)(v >> 16));
		put16(g, (uint16_t)v);
	} else {
		put16(g, (uint16_t)v);
		put16(g, (uint16_t)(v >> 16));
	}
}

static void
put64(struct ng *g, uint64_t v)
{
	if (g->be) {
		put32(g, (uint32_t)(v >> 32));
		put32(g, (uint32_t)v);
	} else {
		put32(g, (uint32_t)v);
		put32(g, (uint32_t)(v >> 32));
	}
}

/* Open a block: returns where its length goes; close_block() fills it in. */
static size_t
open_block(struct ng *g, uint32_t type)
{
	size_t at = g->n;

	put32(g, type);
	put32(g, 0);
	return at;
}

static void
close_block(struct ng *g, size_t at)
{
	uint32_t len;
	struct ng tmp = {.be = g->be};

	while (g->n % 4)
		put(g, "", 1);
	len = (uint32_t)(g->n - at + 4);
	put32(&tmp, len);
	memcpy(g->b + at + 4, tmp.b, 4);
	put32(g, len);
}

static void
shb(struct ng *g)
{
	size_t at = open_block(g, 0x0A0D0D0A);

	put32(g, 0x1A2B3C4D);
	put16(g, 1);
	put16(g, 0);
	put64(g, UINT64_MAX);
	close_block(g, at);
}

/* tsresol 0 = none; tsoff_set: write if_tsoffset */
static void
idb(struct ng *g, uint16_t lt, uint32_t snap, uint8_t tsresol, bool tsoff_set, int64_t tsoff)
{
	size_t at = open_block(g, 1);

	put16(g, lt);
	put16(g, 0);
	put32(g, snap);
	put16(g, 2); /* if_name, skipped */
	put16(g, 3);
	put(g, "ab\0\0", 4);
	if (tsresol) {
		put16(g, 9);
		put16(g, 1);
		put(g, &tsresol, 1);
		put(g, "\0\0\0", 3);
	}
	if (tsoff_set) {
		put16(g, 14);
		put16(g, 8);
		put64(g, (uint64_t)tsoff);
	}
	put16(g, 0);
	put16(g, 0);
	close_block(g, at);
}

static void
epb(struct ng *g, uint32_t ifid, uint64_t ts, const char *data, uint32_t caplen, uint32_t len)
{
	size_t at = open_block(g, 6);

	put32(g, ifid);
	put32(g, (uint32_t)(ts >> 32));
	put32(g, (uint32_t)ts);
	put32(g, caplen);
	put32(g, len);
	put(g, data, strlen(data));
	close_block(g, at);
}

static void
pb(struct ng *g, uint16_t ifid, uint64_t ts, const char *data)
{
	size_t at = open_block(g, 2);

	put16(g, ifid);
	put16(g, 0);
	put32(g, (uint32_t)(ts >> 32));
	put32(g, (uint32_t)ts);
	put32(g, (uint32_t)strlen(data));
	put32(g, (uint32_t)strlen(data) + 100);
	put(g, data, strlen(data));
	close_block(g, at);
}

static void
spb(struct ng *g, const char *data, uint32_t len)
{
	size_t at = open_block(g, 3);

	put32(g, len);
	put(g, data, strlen(data));
	close_block(g, at);
}

static void
other_block(struct ng *g, uint32_t type)
{
	size_t at = open_block(g, type);

	put(g, "xxxxxxxx", 8);
	close_block(g, at);
}

static struct sl_pcapng *
ng_open(struct ng *g, char *err, size_t errlen)
{
	FILE *fp = fmemopen(g->b, g->n, "rb");

	assert_non_null(fp);
	return sl_pcapng_open(fp, err, errlen);
}

/* ---- tests ---- */

/* Ethernet in microseconds, raw IP in nanoseconds with an offset, SLL in 2^-10 s. */
static void
build_mixed(struct ng *g)
{
	shb(g);
	idb(g, 1, 65535, 0, false, 0);
	other_block(g, 4); /* name resolution: skipped */
	idb(g, 101, 8192, 9, true, -100);
	idb(g, 113, 0, 0x80 | 10, false, 0);
	epb(g, 0, 1700000000123456ull, "eth-frame", 9, 60);
	epb(g, 1, (1700000100ull * 1000000000ull) + 987654321ull, "raw", 3, 3);
	other_block(g, 5); /* interface statistics */
	epb(g, 2, (1700000000ull << 10) | 512, "sll!", 4, 4);
	spb(g, "simple-packet", 13);
	pb(g, 1, 1700000200ull * 1000000000ull, "old");
	other_block(g, 0x00000BAD); /* custom */
}

static void
check_mixed(struct sl_pcapng *r)
{
	struct sl_pcapng_rec rec;

	assert_int_equal(sl_pcapng_first_linktype(r), 1);
	assert_int_equal(sl_pcapng_next(r, &rec), 1);
	assert_int_equal(rec.linktype, 1);
	assert_int_equal(rec.sec, 1700000000);
	assert_int_equal(rec.usec, 123456);
	assert_int_equal(rec.caplen, 9);
	assert_int_equal(rec.len, 60);
	assert_memory_equal(rec.data, "eth-frame", 9);
	assert_int_equal(sl_pcapng_next(r, &rec), 1);
	assert_int_equal(rec.linktype, 101);
	assert_int_equal(rec.sec, 1700000000); /* if_tsoffset -100 s */
	assert_int_equal(rec.usec, 987654);    /* nanoseconds, truncated */
	assert_memory_equal(rec.data, "raw", 3);
	assert_int_equal(sl_pcapng_next(r, &rec), 1);
	assert_int_equal(rec.linktype, 113);
	assert_int_equal(rec.sec, 1700000000);
	assert_int_equal(rec.usec, 500000); /* 512/1024 s */
	assert_int_equal(sl_pcapng_next(r, &rec), 1); /* SPB: interface 0, the time before */
	assert_int_equal(rec.linktype, 1);
	assert_int_equal(rec.sec, 1700000000);
	assert_int_equal(rec.usec, 500000);
	assert_int_equal(rec.caplen, 13);
	assert_int_equal(rec.len, 13);
	assert_memory_equal(rec.data, "simple-packet", 13);
	assert_int_equal(sl_pcapng_next(r, &rec), 1); /* obsolete Packet Block */
	assert_int_equal(rec.linktype, 101);
	assert_int_equal(rec.sec, 1700000100);
	assert_int_equal(rec.len, 103);
	assert_memory_equal(rec.data, "old", 3);
	assert_int_equal(sl_pcapng_next(r, &rec), 0);
	assert_int_equal(sl_pcapng_bad_records(r), 0);
	assert_int_equal(sl_pcapng_interfaces(r), 3);
}

static void
test_mixed_interfaces(void **state)
{
	static struct ng g;
	char err[256] = "";
	struct sl_pcapng *r;

	(void)state;
	memset(&g, 0, sizeof(g));
	build_mixed(&g);
	r = ng_open(&g, err, sizeof(err));
	assert_non_null(r);
	check_mixed(r);
	sl_pcapng_close(r);
}

static void
test_big_endian_same(void **state)
{
	static struct ng g;
	char err[256] = "";
	struct sl_pcapng *r;

	(void)state;
	memset(&g, 0, sizeof(g));
	g.be = true;
	build_mixed(&g);
	r = ng_open(&g, err, sizeof(err));
	assert_non_null(r);
	check_mixed(r);
	sl_pcapng_close(r);
}

/* Records that cannot be read are skipped and counted; the file goes on. */
static void
test_bad_records_skipped(void **state)
{
	static struct ng g;
	char err[256] = "";
	struct sl_pcapng *r;
	struct sl_pcapng_rec rec;

	(void)state;
	memset(&g, 0, sizeof(g));
	shb(&g);
	idb(&g, 1, 65535, 0, false, 0);
	idb(&g, 1, 65535, 20, false, 0); /* 10^-20 s: not representable */
	epb(&g, 7, 1, "nope", 4, 4);           /* no interface 7 */
	epb(&g, 0, 1, "long", 4000, 4000);     /* caplen past the block */
	epb(&g, 1, 1, "unit", 4, 4);           /* interface with an unusable unit */
	epb(&g, 0, 2000000, "good", 4, 4);
	g.be = true; /* a new section in the other order forgets interfaces 0 and 1 */
	shb(&g);
	idb(&g, 101, 65535, 0, false, 0);
	epb(&g, 1, 1, "gone", 4, 4);
	epb(&g, 0, 3000000, "next", 4, 4);
	r = ng_open(&g, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(sl_pcapng_next(r, &rec), 1);
	assert_memory_equal(rec.data, "good", 4);
	assert_int_equal(rec.sec, 2);
	assert_int_equal(sl_pcapng_bad_records(r), 3);
	assert_int_equal(sl_pcapng_next(r, &rec), 1);
	assert_memory_equal(rec.data, "next", 4);
	assert_int_equal(rec.linktype, 101);
	assert_int_equal(rec.sec, 3);
	assert_int_equal(sl_pcapng_next(r, &rec), 0);
	assert_int_equal(sl_pcapng_bad_records(r), 4);
	sl_pcapng_close(r);
}

/* Damage that stops the file: a reason, never a crash or a read past the data. */
static void
test_file_errors(void **state)
{
	static struct ng g;
	char err[256];
	struct sl_pcapng *r;
	struct sl_pcapng_rec rec;
	size_t good, at;

	(void)state;
	memset(&g, 0, sizeof(g));
	shb(&g);
	idb(&g, 1, 65535, 0, false, 0);
	at = g.n;
	epb(&g, 0, 1, "data", 4, 4);
	good = g.n;

	/* cut inside the last block */
	g.n = good - 3;
	r = ng_open(&g, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(sl_pcapng_next(r, &rec), -1);
	assert_non_null(strstr(sl_pcapng_error(r), "ends inside a block"));
	sl_pcapng_close(r);

	/* a block length under 12, then one not a multiple of 4, then one of 1 GiB */
	for (unsigned int k = 0; k < 3; k++) {
		static const uint32_t bad[3] = {8, 30, 1u << 30};
		struct ng tmp = {0};
		uint8_t keep[4];

		g.n = good;
		memcpy(keep, g.b + at + 4, 4);
		put32(&tmp, bad[k]);
		memcpy(g.b + at + 4, tmp.b, 4); /* the EPB's leading length */
		r = ng_open(&g, err, sizeof(err));
		assert_non_null(r);
		assert_int_equal(sl_pcapng_next(r, &rec), -1);
		assert_non_null(strstr(sl_pcapng_error(r), k < 2 ? "bad block length" : "16 MiB"));
		sl_pcapng_close(r);
		memcpy(g.b + at + 4, keep, 4);
	}

	/* no interface */
	memset(&g, 0, sizeof(g));
	shb(&g);
	err[0] = '\0';
	assert_null(ng_open(&g, err, sizeof(err)));
	assert_non_null(strstr(err, "without an interface"));
	/* a packet before any interface */
	epb(&g, 0, 1, "data", 4, 4);
	assert_null(ng_open(&g, err, sizeof(err)));
	assert_non_null(strstr(err, "before any interface"));
	/* a bad byte-order magic */
	memset(&g, 0, sizeof(g));
	shb(&g);
	g.b[8] ^= 0xff;
	assert_null(ng_open(&g, err, sizeof(err)));
	assert_non_null(strstr(err, "magic"));
	/* not pcapng at all, and an empty file */
	memset(&g, 0, sizeof(g));
	put(&g, "\xd4\xc3\xb2\xa1", 4);
	assert_false(sl_pcapng_magic(g.b));
	assert_null(ng_open(&g, err, sizeof(err)));
	g.n = 0;
	assert_null(ng_open(&g, err, sizeof(err)));
	assert_true(err[0] != '\0');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mixed_interfaces),
		cmocka_unit_test(test_big_endian_same),
		cmocka_unit_test(test_bad_records_skipped),
		cmocka_unit_test(test_file_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
