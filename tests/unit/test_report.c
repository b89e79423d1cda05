/* test_report.c: unit tests of lib/report's JSON formatter and event writer.
 *
 *  A. The formatter (FILE mode into open_memstream): string escaping (quotes, backslash,
 *     control bytes, bytes outside ASCII; strings longer than its buffer), numbers (0,
 *     UINT64_MAX, INT64_MIN, INT64_MAX, doubles, NaN), timestamps (epoch, microseconds,
 *     the per-second date cache across seconds, days and back in time), the indented layout.
 *  B. Event lines: a detection line byte for byte; IPv4 and IPv6 addresses as
 *     sl_addr_format() writes them.
 *  C. The event writer, unthreaded and threaded: many lines to a file (exact content and
 *     counters), a line longer than a chunk, reopen after rename (log rotation), a write
 *     error on a full device (/dev/full: ENOSPC counted, returned, -EIO at close, no crash),
 *     a descriptor (not closed), bad arguments.
 *
 * No EAL: nothing here touches DPDK memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sl_cfg.h"
#include "sl_common.h"
#include "sl_match.h"
#include "sl_report.h"

/* ---- helpers ---- */

/* A formatter on a memory stream; text() ends it and returns what it wrote. */
struct mem {
	FILE *f;
	char *buf;
	size_t len;
	struct sl_json j;
};

static void
mem_open(struct mem *m, bool compact)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
	sl_json_init(&m->j, m->f, compact);
}

static char *
mem_text(struct mem *m)
{
	assert_int_equal(sl_json_flush(&m->j), 0);
	assert_int_equal(fclose(m->f), 0);
	return m->buf;
}

/* The compact JSON of one string value. Caller frees. */
static char *
json_of_str(const char *s)
{
	struct mem m;

	mem_open(&m, true);
	sl_json_arr_open(&m.j, NULL);
	sl_json_str(&m.j, NULL, s);
	sl_json_arr_close(&m.j);
	return mem_text(&m);
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void
tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/tmp/sl-test-report-%d-%s", (int)getpid(), name);
	unlink(buf);
}

/* ---- A. formatter ---- */

static void
test_escaping(void **state)
{
	char in[] = "a\"b\\c\n\r\t\x01\x1f\x7f\x80\xff/ z";
	char *out = json_of_str(in);

	(void)state;
	assert_string_equal(out,
		"[\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\\u007f\\u0080\\u00ff/ z\"]");
	free(out);
	out = json_of_str("");
	assert_string_equal(out, "[\"\"]");
	free(out);
}

/* The reference: how the formatter escaped a byte when it wrote through stdio. */
static size_t
ref_escape(char *o, unsigned char c)
{
	switch (c) {
	case '"': return (size_t)sprintf(o, "\\\"");
	case '\\': return (size_t)sprintf(o, "\\\\");
	case '\n': return (size_t)sprintf(o, "\\n");
	case '\r': return (size_t)sprintf(o, "\\r");
	case '\t': return (size_t)sprintf(o, "\\t");
	default:
		if (c < 0x20 || c >= 0x7f)
			return (size_t)sprintf(o, "\\u%04x", c);
		*o = (char)c;
		return 1;
	}
}

/* Every byte value at every position of strings around the 8-byte fast path's width. */
static void
test_escaping_every_byte(void **state)
{
	(void)state;
	for (unsigned int len = 1; len <= 19; len += 6) {
		for (unsigned int pos = 0; pos < len; pos++) {
			for (unsigned int c = 1; c < 256; c++) {
				char in[32], want[256], *out;
				size_t k = 0;

				memset(in, 'a', len);
				in[pos] = (char)c;
				in[len] = '\0';
				want[k++] = '[';
				want[k++] = '"';
				for (unsigned int i = 0; i < len; i++)
					k += ref_escape(want + k, (unsigned char)in[i]);
				memcpy(want + k, "\"]", 3);
				out = json_of_str(in);
				assert_string_equal(out, want);
				free(out);
			}
		}
	}
}

/* A string far longer than the FILE-mode buffer takes the byte-at-a-time path. */
static void
test_escaping_long(void **state)
{
	size_t n = 3 * SL_JSON_LOCAL + 7, k = 0;
	char *in = malloc(n + 1), *want = malloc(6 * n + 8), *out;

	(void)state;
	assert_non_null(in);
	assert_non_null(want);
	want[k++] = '[';
	want[k++] = '"';
	for (size_t i = 0; i < n; i++) {
		in[i] = i % 97 == 0 ? '\x02' : i % 89 == 0 ? '"' : (char)('a' + i % 26);
		if (in[i] == '\x02') {
			memcpy(want + k, "\\u0002", 6);
			k += 6;
		} else if (in[i] == '"') {
			memcpy(want + k, "\\\"", 2);
			k += 2;
		} else {
			want[k++] = in[i];
		}
	}
	in[n] = '\0';
	memcpy(want + k, "\"]", 3);
	out = json_of_str(in);
	assert_string_equal(out, want);
	free(out);
	free(in);
	free(want);
}

static void
test_numbers(void **state)
{
	struct mem m;
	char *out;

	(void)state;
	mem_open(&m, true);
	sl_json_obj_open(&m.j, NULL);
	sl_json_u64(&m.j, "zero", 0);
	sl_json_u64(&m.j, "nine", 9);
	sl_json_u64(&m.j, "ten", 10);
	sl_json_u64(&m.j, "hundred", 100);
	sl_json_u64(&m.j, "u32", UINT32_MAX);
	sl_json_u64(&m.j, "max", UINT64_MAX);
	sl_json_i64(&m.j, "izero", 0);
	sl_json_i64(&m.j, "minus", -1);
	sl_json_i64(&m.j, "min", INT64_MIN);
	sl_json_i64(&m.j, "imax", INT64_MAX);
	sl_json_bool(&m.j, "t", true);
	sl_json_bool(&m.j, "f", false);
	sl_json_dbl(&m.j, "d1", 2.25, 1);
	sl_json_dbl(&m.j, "d3", -0.0005, 3);
	sl_json_dbl(&m.j, "nan", NAN, 1);
	sl_json_dbl(&m.j, "inf", INFINITY, 1);
	sl_json_dbl(&m.j, "big", 1e300, 1);
	sl_json_obj_close(&m.j);
	out = mem_text(&m);
	{
		char big[400], want[1024];

		snprintf(big, sizeof(big), "%.1f", 1e300);
		snprintf(want, sizeof(want),
			"{\"zero\":0,\"nine\":9,\"ten\":10,\"hundred\":100,\"u32\":4294967295,"
			"\"max\":18446744073709551615,\"izero\":0,\"minus\":-1,"
			"\"min\":-9223372036854775808,\"imax\":9223372036854775807,\"t\":true,"
			"\"f\":false,\"d1\":%.1f,\"d3\":%.3f,\"nan\":null,\"inf\":null,\"big\":%s}",
			2.25, -0.0005, big);
		assert_string_equal(out, want);
	}
	free(out);
}

static void
test_timestamps(void **state)
{
	static const struct {
		uint64_t us;
		const char *txt;
	} t[] = {
		{0, "1970-01-01T00:00:00.000000+0000"},
		{1, "1970-01-01T00:00:00.000001+0000"},
		{999999, "1970-01-01T00:00:00.999999+0000"},
		{1000000, "1970-01-01T00:00:01.000000+0000"},
		{1767225599999999ull, "2025-12-31T23:59:59.999999+0000"},
		{1767225600000000ull, "2026-01-01T00:00:00.000000+0000"},
		{1767225600123456ull, "2026-01-01T00:00:00.123456+0000"}, /* same second: cached */
		{1767225600654321ull, "2026-01-01T00:00:00.654321+0000"},
		{1767225601000007ull, "2026-01-01T00:00:01.000007+0000"},
		{1709164800500000ull, "2024-02-29T00:00:00.500000+0000"}, /* back in time */
		{1767225600123456ull, "2026-01-01T00:00:00.123456+0000"},
		{253402300799000000ull, "9999-12-31T23:59:59.000000+0000"},
	};

	(void)state;
	for (size_t i = 0; i < SL_ARRAY_SIZE(t); i++) {
		struct mem m;
		char *out, want[64];

		mem_open(&m, true);
		sl_json_obj_open(&m.j, NULL);
		sl_json_time(&m.j, "ts", t[i].us);
		sl_json_obj_close(&m.j);
		out = mem_text(&m);
		snprintf(want, sizeof(want), "{\"ts\":\"%s\"}", t[i].txt);
		assert_string_equal(out, want);
		free(out);
	}
}

static void
test_indented(void **state)
{
	struct mem m;
	char *out;

	(void)state;
	mem_open(&m, false);
	sl_json_obj_open(&m.j, NULL);
	sl_json_u64(&m.j, "a", 1);
	sl_json_arr_open(&m.j, "empty");
	sl_json_arr_close(&m.j);
	sl_json_obj_open(&m.j, "o");
	sl_json_str(&m.j, "s", "x");
	sl_json_arr_open(&m.j, "l");
	sl_json_u64(&m.j, NULL, 2);
	sl_json_obj_open(&m.j, NULL);
	sl_json_obj_close(&m.j);
	sl_json_arr_close(&m.j);
	sl_json_obj_close(&m.j);
	sl_json_obj_close(&m.j);
	out = mem_text(&m);
	assert_string_equal(out, "{\n"
				 "  \"a\": 1,\n"
				 "  \"empty\": [],\n"
				 "  \"o\": {\n"
				 "    \"s\": \"x\",\n"
				 "    \"l\": [\n"
				 "      2,\n"
				 "      {}\n"
				 "    ]\n"
				 "  }\n"
				 "}\n");
	free(out);
}

/* ---- B. event lines ---- */

static void
v4(uint8_t a[16], uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = b0;
	a[13] = b1;
	a[14] = b2;
	a[15] = b3;
}

/* Write one event through an unthreaded writer to a file and return the line. */
static char *
event_line(const struct sl_event *ev, unsigned int weight)
{
	char path[128], err[256];
	struct sl_writer *w;
	size_t len;

	tmp_path(path, sizeof(path), "event");
	w = sl_writer_open(path, -1, false, err, sizeof(err));
	assert_non_null(w);
	assert_string_equal(sl_writer_sensor(w), "");
	sl_writer_set_sensor(w, "sensor-1");
	assert_int_equal(sl_report_event(w, ev, weight), 0);
	assert_int_equal(sl_writer_close(w), 0);
	{
		char *b = read_file(path, &len);

		unlink(path);
		return b;
	}
}

static void
v6addr(uint8_t *a, uint16_t g0, uint16_t g1, uint16_t g2, uint16_t last)
{
	memset(a, 0, 16);
	a[0] = (uint8_t)(g0 >> 8);
	a[1] = (uint8_t)g0;
	a[2] = (uint8_t)(g1 >> 8);
	a[3] = (uint8_t)g1;
	a[4] = (uint8_t)(g2 >> 8);
	a[5] = (uint8_t)g2;
	a[14] = (uint8_t)(last >> 8);
	a[15] = (uint8_t)last;
}

/* SHA-1 against FIPS 180 vectors; Community ID against what tshark 4.0 computes for the same
 * flows (tests/gen gen_community_id; the integration test compares every packet). */
static void
test_community_id(void **state)
{
	static const char *const abc = "abc";
	static const char *const two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const uint8_t d_abc[20] = {0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e,
					  0x25, 0x71, 0x78, 0x50, 0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d};
	static const uint8_t d_two[20] = {0x84, 0x98, 0x3e, 0x44, 0x1c, 0x3b, 0xd2, 0x6e, 0xba, 0xae,
					  0x4a, 0xa1, 0xf9, 0x51, 0x29, 0xe5, 0xe5, 0x46, 0x70, 0xf1};
	uint8_t d[20], a[16], b[16];
	char c1[SL_COMMUNITY_ID_LEN], c2[SL_COMMUNITY_ID_LEN];

	(void)state;
	sl_sha1(abc, 3, d);
	assert_memory_equal(d, d_abc, 20);
	sl_sha1(two, strlen(two), d);
	assert_memory_equal(d, d_two, 20);
	v4(a, 10, 1, 2, 3);
	v4(b, 192, 0, 2, 77);
	assert_int_equal(sl_community_id(0, a, b, 6, 40001, 3333, c1, sizeof(c1)), 0);
	assert_string_equal(c1, "1:1vGeXuVkZhl/iNGs+6hdMz4psTQ=");
	assert_int_equal(sl_community_id(0, b, a, 6, 3333, 40001, c2, sizeof(c2)), 0);
	assert_string_equal(c2, c1); /* either direction */
	sl_community_id(0, a, b, 1, 8, 0, c1, sizeof(c1));  /* echo request */
	sl_community_id(0, b, a, 1, 0, 0, c2, sizeof(c2));  /* its reply */
	assert_string_equal(c1, "1:yxoPsc1ks+1QFHEBtRA0QF6m3j8=");
	assert_string_equal(c2, c1);
	sl_community_id(0, a, b, 1, 13, 0, c1, sizeof(c1)); /* timestamp request */
	assert_string_equal(c1, "1:uUiHkq1xS2rs4mjcYzfk9pJe1f4=");
	sl_community_id(0, a, b, 47, 0, 0, c1, sizeof(c1)); /* GRE: no ports */
	assert_string_equal(c1, "1:0JhgbzpGNw3YXgiK+znY+/JnJoc=");
	v6addr(a, 0x2001, 0xdb8, 0, 0x10);
	v6addr(b, 0x2001, 0xdb8, 0xffff, 1);
	sl_community_id(0, b, a, 6, 443, 51000, c1, sizeof(c1));
	assert_string_equal(c1, "1:GKFNrFRqihgvQu+3ojNUZ9shCXU=");
	assert_int_equal(sl_community_id(0, a, b, 6, 1, 2, c1, 31), -ENOSPC);
	sl_community_id(1, b, a, 6, 443, 51000, c2, sizeof(c2)); /* the seed changes it */
	assert_string_not_equal(c1, c2);
}

static void
test_detection_line(void **state)
{
	struct sl_event ev;
	char *got, want[1024];

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.ts_us = 1767225600123456ull;
	ev.flow_id = 1234567;
	v4(ev.src, 10, 0, 0, 7);
	v4(ev.dst, 198, 51, 100, 255);
	ev.sport = 40000;
	ev.dport = 3333;
	ev.proto = 6;
	ev.detector = 0;
	ev.host = SL_EV_HOST_SRC;
	ev.dir = 1;
	ev.offset = 77;
	memcpy(ev.excerpt, "{\"m\":\"login\"}\x01\xff\\", 16);
	ev.excerpt_len = 16;
	got = event_line(&ev, 40);
	/* community_id from the spec's reference algorithm (Python hashlib); EVE's host is the
	 * sensor, the judged inside host is judged_host; the alert object names the detector */
	snprintf(want, sizeof(want),
		"{\"timestamp\":\"2026-01-01T00:00:00.123456+0000\",\"flow_id\":1234567,"
		"\"event_type\":\"detection\",\"src_ip\":\"10.0.0.7\",\"src_port\":40000,"
		"\"dest_ip\":\"198.51.100.255\",\"dest_port\":3333,\"proto\":\"TCP\","
		"\"community_id\":\"1:Lp5TdK0yhC1k3yRW6aKtmyPSyQU=\",\"app_proto\":\"%s\","
		"\"host\":\"sensor-1\",\"judged_host\":\"10.0.0.7\",\"alert\":{\"action\":\"allowed\","
		"\"gid\":1,\"signature_id\":8100001,\"rev\":1,\"signature\":\"sluice: %s from "
		"10.0.0.7 to 198.51.100.255:3333\",\"category\":\"Crypto Currency Mining Activity "
		"Detected\",\"severity\":3},\"detector\":\"%s\",\"protocol\":\"%s\",\"weight\":40,"
		"\"direction\":\"to_client\",\"evidence\":{\"offset\":77,"
		"\"excerpt\":\"{\\\"m\\\":\\\"login\\\"}..\\\\\"}}\n",
		sl_det_protocol(0), sl_det_help(0), sl_det_name(0), sl_det_protocol(0));
	assert_string_equal(got, want);
	free(got);
}

/* src_ip as the event line has it, from "src_ip":"..." */
static void
src_ip_of(const char *line, char *out, size_t len)
{
	const char *p = strstr(line, "\"src_ip\":\""), *e;

	assert_non_null(p);
	p += 10;
	e = strchr(p, '"');
	assert_non_null(e);
	assert_true((size_t)(e - p) < len);
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
}

static void
test_addresses(void **state)
{
	static const uint8_t v6[][16] = {
		{0},
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1},
		{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0xff, 0xfe, 0x78, 0x9a, 0xbc},
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1}, /* IPv4-compatible */
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 192, 0, 2, 1},
	};
	struct sl_event ev;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	v4(ev.dst, 1, 2, 3, 4);
	ev.proto = 17;
	for (unsigned int i = 0; i < 256 + SL_ARRAY_SIZE(v6); i++) {
		char want[64], got[64], *line;

		if (i < 256)
			v4(ev.src, (uint8_t)i, (uint8_t)(255 - i), (uint8_t)(i * 7), (uint8_t)(i / 3));
		else
			memcpy(ev.src, v6[i - 256], 16);
		sl_addr_format(ev.src, want, sizeof(want));
		line = event_line(&ev, 1);
		src_ip_of(line, got, sizeof(got));
		assert_string_equal(got, want);
		free(line);
	}
}

/* ---- C. event writer ---- */

/* Line @p i as the writer tests write it: a few sizes, some escaping. @return
 * sl_json_line_end()'s result. */
static int
put_line_rc(struct sl_writer *w, unsigned int i)
{
	struct sl_json j;
	char s[80];

	snprintf(s, sizeof(s), "line %u%s", i, i % 3 == 0 ? " \"quoted\" and some padding" : "");
	sl_json_line_begin(&j, w);
	sl_json_obj_open(&j, NULL);
	sl_json_u64(&j, "i", i);
	sl_json_str(&j, "s", s);
	sl_json_obj_close(&j);
	return sl_json_line_end(&j);
}

static void
put_line(struct sl_writer *w, unsigned int i, int want_rc)
{
	assert_int_equal(put_line_rc(w, i), want_rc);
}

/* Append what put_line(i) writes to @p buf. @return bytes. */
static size_t
expect_line(char *buf, unsigned int i)
{
	return (size_t)sprintf(buf, "{\"i\":%u,\"s\":\"line %u%s\"}\n", i, i,
		i % 3 == 0 ? " \\\"quoted\\\" and some padding" : "");
}

static char *
expect_lines(unsigned int from, unsigned int to, size_t *len)
{
	char *b = malloc((size_t)(to - from) * 80 + 1);
	size_t n = 0;

	if (b == NULL)
		abort(); /* (assert_non_null() is not known not to return) */
	for (unsigned int i = from; i < to; i++)
		n += expect_line(b + n, i);
	b[n] = '\0';
	*len = n;
	return b;
}

static void
check_file(const char *path, unsigned int from, unsigned int to)
{
	size_t glen, wlen;
	char *got = read_file(path, &glen), *want = expect_lines(from, to, &wlen);

	assert_int_equal(glen, wlen);
	assert_memory_equal(got, want, wlen);
	free(got);
	free(want);
}

static void
many_lines(bool threaded)
{
	const unsigned int n = 200000; /* ~ 40 chunks */
	struct sl_writer_stats st;
	char path[128], err[256];
	struct sl_writer *w;
	size_t wlen;
	char *want;

	tmp_path(path, sizeof(path), threaded ? "many-t" : "many-u");
	w = sl_writer_open(path, -1, threaded, err, sizeof(err));
	assert_non_null(w);
	for (unsigned int i = 0; i < n; i++) {
		put_line(w, i, 0);
		if (i % 5000 == 0) /* as the live control loop does, now and then */
			assert_int_equal(sl_writer_flush(w), 0);
	}
	sl_writer_get_stats(w, &st);
	want = expect_lines(0, n, &wlen);
	assert_int_equal(st.lines, n);
	assert_int_equal(st.bytes, wlen);
	assert_int_equal(st.write_errors, 0);
	assert_true(st.chunks >= wlen / SL_WRITER_CHUNK);
	free(want);
	assert_int_equal(sl_writer_close(w), 0);
	check_file(path, 0, n);
	unlink(path);
}

static void
test_writer_many_unthreaded(void **state)
{
	(void)state;
	many_lines(false);
}

static void
test_writer_many_threaded(void **state)
{
	(void)state;
	many_lines(true);
}

/* One line longer than a chunk, between ordinary lines: the chunk grows, order holds. */
static void
long_line(bool threaded)
{
	size_t n = SL_WRITER_CHUNK + SL_WRITER_CHUNK / 2, glen;
	char path[128], err[256], *big = malloc(n + 1), *got;
	struct sl_writer *w;
	struct sl_json j;

	assert_non_null(big);
	memset(big, 'x', n);
	big[n] = '\0';
	tmp_path(path, sizeof(path), threaded ? "long-t" : "long-u");
	w = sl_writer_open(path, -1, threaded, err, sizeof(err));
	assert_non_null(w);
	for (unsigned int i = 0; i < 100; i++)
		put_line(w, i, 0);
	sl_json_line_begin(&j, w);
	sl_json_arr_open(&j, NULL);
	sl_json_str(&j, NULL, big);
	sl_json_arr_close(&j);
	assert_int_equal(sl_json_line_end(&j), 0);
	put_line(w, 100, 0);
	assert_int_equal(sl_writer_close(w), 0);
	got = read_file(path, &glen);
	{
		size_t a, b;
		char *head = expect_lines(0, 100, &a), *tail = expect_lines(100, 101, &b);

		assert_int_equal(glen, a + n + 5 + b);
		assert_memory_equal(got, head, a);
		assert_memory_equal(got + a, "[\"", 2);
		assert_memory_equal(got + a + 2, big, n);
		assert_memory_equal(got + a + 2 + n, "\"]\n", 3);
		assert_memory_equal(got + a + n + 5, tail, b);
		free(head);
		free(tail);
	}
	free(got);
	free(big);
	unlink(path);
}

static void
test_writer_long_line(void **state)
{
	(void)state;
	long_line(false);
	long_line(true);
}

/* Log rotation: rename the file, reopen; lines before go to the old file, after to the new. */
static void
reopen(bool threaded)
{
	char path[128], old[160], err[256];
	struct sl_writer *w;

	tmp_path(path, sizeof(path), threaded ? "rot-t" : "rot-u");
	snprintf(old, sizeof(old), "%s.1", path);
	unlink(old);
	w = sl_writer_open(path, -1, threaded, err, sizeof(err));
	assert_non_null(w);
	for (unsigned int i = 0; i < 30000; i++)
		put_line(w, i, 0);
	assert_int_equal(rename(path, old), 0);
	assert_int_equal(sl_writer_reopen(w), 0);
	for (unsigned int i = 30000; i < 50000; i++)
		put_line(w, i, 0);
	assert_int_equal(sl_writer_close(w), 0);
	check_file(old, 0, 30000);
	check_file(path, 30000, 50000);
	unlink(old);
	unlink(path);
}

static void
test_writer_reopen(void **state)
{
	(void)state;
	reopen(false);
	reopen(true);
}

/* Reopen fails (the directory went away): the old file is kept and still written. */
static void
test_writer_reopen_fails(void **state)
{
	char dir[128], path[160], err[256];
	struct sl_writer *w;

	(void)state;
	tmp_path(dir, sizeof(dir), "dir");
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/ev", dir);
	w = sl_writer_open(path, -1, false, err, sizeof(err));
	assert_non_null(w);
	put_line(w, 0, 0);
	assert_int_equal(sl_writer_flush(w), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(sl_writer_reopen(w), -ENOENT);
	put_line(w, 1, 0);
	assert_int_equal(sl_writer_close(w), 0); /* written to the unlinked file: no error */
}

/* A full device: the failed write(2) is counted, its error returned, close says -EIO. */
static void
full_device(bool threaded)
{
	struct sl_writer_stats st;
	struct sl_writer *w;
	char err[256];
	unsigned int i;
	int rc = 0;

	if (access("/dev/full", W_OK) != 0) {
		skip();
		return;
	}
	w = sl_writer_open("/dev/full", -1, threaded, err, sizeof(err));
	assert_non_null(w);
	/* enough lines to fill chunks: the error comes back from an append or a flush */
	for (i = 0; i < 100000 && rc == 0; i++) {
		rc = put_line_rc(w, i); /* threaded, the error may come back here */
		if (rc == 0)
			rc = sl_writer_flush(w);
		if (rc == 0 && threaded && i % 1000 == 999)
			usleep(1000); /* let the writer thread write */
	}
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(errno, ENOSPC);
	put_line(w, i, -ENOSPC); /* still reported, still no crash */
	sl_writer_get_stats(w, &st);
	assert_true(st.write_errors >= 1);
	assert_int_equal(sl_writer_close(w), -EIO);
}

static void
test_writer_full_device(void **state)
{
	(void)state;
	full_device(false);
	full_device(true);
}

/* A descriptor given by the caller is written and left open. */
static void
test_writer_fd(void **state)
{
	char path[128], err[256];
	struct sl_writer *w;
	int fd;

	(void)state;
	tmp_path(path, sizeof(path), "fd");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	for (int t = 0; t < 2; t++) {
		w = sl_writer_open(NULL, fd, t == 1, err, sizeof(err));
		assert_non_null(w);
		for (unsigned int i = t * 1000; i < (unsigned int)t * 1000 + 1000; i++)
			put_line(w, i, 0);
		assert_int_equal(sl_writer_reopen(w), -EINVAL); /* no path to reopen */
		assert_int_equal(sl_writer_close(w), 0);
	}
	assert_int_equal(write(fd, "", 0), 0); /* still open */
	close(fd);
	check_file(path, 0, 2000);
	unlink(path);
	assert_int_equal(sl_writer_close(NULL), 0);
}

static void
test_writer_bad_open(void **state)
{
	char err[256] = "";

	(void)state;
	assert_null(sl_writer_open(NULL, -1, false, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_null(sl_writer_open("/nonexistent-dir/x/events", -1, true, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "/nonexistent-dir/x/events"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_escaping_every_byte),
		cmocka_unit_test(test_escaping_long),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_community_id),
		cmocka_unit_test(test_indented),
		cmocka_unit_test(test_detection_line),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_writer_many_unthreaded),
		cmocka_unit_test(test_writer_many_threaded),
		cmocka_unit_test(test_writer_long_line),
		cmocka_unit_test(test_writer_reopen),
		cmocka_unit_test(test_writer_reopen_fails),
		cmocka_unit_test(test_writer_full_device),
		cmocka_unit_test(test_writer_fd),
		cmocka_unit_test(test_writer_bad_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
