/* test_match.c: unit tests of the detection component (lib/match): the protocol parsers
 * (DNS question names, TLS ClientHello SNI across records and prefixes, HTTP request and
 * response heads, WebSocket frame headers and unmasking), the operator's lists (pool names,
 * pool address ranges, detector overrides) with their file:line errors, inspection of
 * synthetic flows fed incrementally as the flow table would (Stratum v1/v2, XMRig, eth-proxy,
 * DNS, TLS, HTTP + WebSocket, the Noise shape, pool addresses), RCU publication and reload,
 * and the detector tables. Inputs to the parsers and to inspection are copied into buffers of
 * exactly their length, so the sanitizer build catches any read past the end.
 * Needs EAL only for sl_match_create (rte_zmalloc, RCU): started once per run with --no-huge.
 *
 * Regression tests for fixed defects say "Regression" and what the defect was. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <sys/stat.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "sl_match.h"
#include "sl_test_eal.h"

#define WIN 2048    /* payload_bytes: the inspection window per direction */
#define ERRLEN 512

/* The detection object most inspection tests share (lists below; one worker). */
static struct sl_match_db *g_db;
#define G_DOMAINS "# pools\nnanopool.org\nminexmr.com\n"
#define G_IPS "203.0.113.0/24\n2001:db8:bad::/48\n"

/* ---- helpers ---- */

/* A heap copy of exactly @p n bytes: any read past the end is a sanitizer report. Not
 * inlined: at -O3 GCC would otherwise warn about sizes like n - 5 it cannot bound. */
static __attribute__((noinline)) uint8_t *
dup_exact(const void *p, size_t n)
{
	uint8_t *c = malloc(n > 0 ? n : 1);

	assert_non_null(c);
	if (n > 0)
		memcpy(c, p, n);
	return c;
}

/* Offset just past the first @p needle in @p hay (which must contain it). */
static uint32_t
end_of(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	if (p == NULL)
		fail_msg("\"%s\" not found", needle);
	return (uint32_t)(p - hay + strlen(needle));
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static void
put_le24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
}

/* Text address to the 16-byte form (IPv4 as ::ffff:a.b.c.d). */
static void
addr16(const char *text, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, text, out + 12) == 1) {
		out[10] = out[11] = 0xff;
		return;
	}
	if (inet_pton(AF_INET6, text, out) != 1)
		fail_msg("bad test address %s", text);
}

static bool
pool_ip(const struct sl_match_db *db, const char *text)
{
	uint8_t a[16];

	addr16(text, a);
	return sl_match_pool_ip(db, a);
}

static bool
pool_name(const struct sl_match_db *db, const char *name)
{
	return sl_match_pool_name(db, name, strlen(name));
}

/* Write @p text to a new file under /tmp; its name goes to @p path (>= 64 bytes). */
static void
write_tmp(char *path, const char *text)
{
	int fd;
	size_t len = strlen(text);

	strcpy(path, "/tmp/sluice_test_match_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Replace the contents of an existing file. */
static void
rewrite(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The list files of one build; an empty path means "no such list". */
struct lists {
	char dom[64], ips[64], det[64];
};

/* Build a detection object (one worker) from list texts (NULL: none); the files stay until
 * lists_remove(). */
static struct sl_match_db *
build_lists(struct lists *l, const char *domains, const char *ips, const char *dets,
	char *err)
{
	struct sl_match_conf c;

	memset(l, 0, sizeof(*l));
	if (domains != NULL)
		write_tmp(l->dom, domains);
	if (ips != NULL)
		write_tmp(l->ips, ips);
	if (dets != NULL)
		write_tmp(l->det, dets);
	memset(&c, 0, sizeof(c));
	c.domains_path = l->dom;
	c.ips_path = l->ips;
	c.detectors_path = l->det;
	c.nworkers = 1;
	c.socket = SOCKET_ID_ANY;
	err[0] = '\0';
	return sl_match_db_build(&c, err, ERRLEN);
}

static void
lists_remove(const struct lists *l)
{
	if (l->dom[0] != '\0')
		unlink(l->dom);
	if (l->ips[0] != '\0')
		unlink(l->ips);
	if (l->det[0] != '\0')
		unlink(l->det);
}

/* The error must start with "<path>:<line>:". */
static void
expect_err_at(const char *err, const char *path, unsigned int line)
{
	char pfx[128];

	snprintf(pfx, sizeof(pfx), "%s:%u:", path, line);
	if (strncmp(err, pfx, strlen(pfx)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", err, pfx);
}

/* Build from lists that must fail: NULL, and the error names file:line of the bad list. */
static void
expect_list_error(const char *domains, const char *ips, const char *dets, unsigned int line,
	const char *needle)
{
	struct lists l;
	char err[ERRLEN];
	struct sl_match_db *db = build_lists(&l, domains, ips, dets, err);
	const char *path = dets != NULL ? l.det : ips != NULL ? l.ips : l.dom;

	lists_remove(&l);
	if (db != NULL) {
		sl_match_db_free(db);
		fail_msg("lists built although line %u is bad", line);
	}
	expect_err_at(err, path, line);
	if (needle != NULL && strstr(err, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

/* ==== 1. DNS question names ==== */

/* Labels of a dotted name, then the terminating zero. @return bytes written. */
static size_t
put_name(uint8_t *p, const char *name)
{
	size_t n = 0;

	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t l = dot != NULL ? (size_t)(dot - name) : strlen(name);

		p[n++] = (uint8_t)l;
		memcpy(p + n, name, l);
		n += l;
		name += l + (dot != NULL ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

/* DNS header (id 0x1234, RD, one question), then @p name, type A, class IN. */
static size_t
dns_query(uint8_t *m, const char *name)
{
	static const uint8_t hdr[12] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
	size_t n = 12;

	memcpy(m, hdr, 12);
	n += put_name(m + n, name);
	put16(m + n, 1);
	put16(m + n + 2, 1);
	return n + 4;
}

/* sl_dns_qname over an exact copy of @p msg. */
static int
qname(const uint8_t *msg, size_t len, char *out, size_t outlen)
{
	uint8_t *c = dup_exact(msg, len);
	int rc = sl_dns_qname(c, len, out, outlen);

	free(c);
	return rc;
}

static void
test_dns_normal(void **state)
{
	uint8_t m[512];
	char out[256];
	size_t n = dns_query(m, "xmr-eu1.nanopool.org");

	(void)state;
	assert_int_equal(qname(m, n, out, sizeof(out)), 20);
	assert_string_equal(out, "xmr-eu1.nanopool.org");
	/* the question may end right after the name: only the name is read */
	memset(out, 0, sizeof(out));
	assert_int_equal(qname(m, n - 4, out, sizeof(out)), 20);
	assert_string_equal(out, "xmr-eu1.nanopool.org");
	/* cut before the terminating zero: malformed */
	assert_int_equal(qname(m, n - 5, out, sizeof(out)), -EINVAL);
	/* one label */
	n = dns_query(m, "localhost");
	assert_int_equal(qname(m, n, out, sizeof(out)), 9);
	assert_string_equal(out, "localhost");
}

static void
test_dns_uppercase(void **state)
{
	uint8_t m[512];
	char out[256];
	size_t n = dns_query(m, "XMR-EU1.NanoPool.ORG");

	(void)state;
	assert_int_equal(qname(m, n, out, sizeof(out)), 20);
	assert_string_equal(out, "xmr-eu1.nanopool.org");
}

static void
test_dns_compression(void **state)
{
	uint8_t m[512];
	char out[256];
	size_t n;

	(void)state;
	/* question "xmr-eu1" + pointer to "nanopool.org" stored after the question */
	memcpy(m, ((const uint8_t[]){0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0}), 12);
	m[12] = 7;
	memcpy(m + 13, "xmr-eu1", 7);
	m[20] = 0xc0;
	m[21] = 26;
	put16(m + 22, 1);
	put16(m + 24, 1);
	n = 26 + put_name(m + 26, "nanopool.org");
	assert_int_equal(qname(m, n, out, sizeof(out)), 20);
	assert_string_equal(out, "xmr-eu1.nanopool.org");
	/* the pointer target cut short: malformed */
	assert_int_equal(qname(m, n - 1, out, sizeof(out)), -EINVAL);
	/* a pointer past the end of the message */
	m[21] = 200;
	assert_int_equal(qname(m, n, out, sizeof(out)), -EINVAL);
	/* a pointer whose second byte is missing */
	assert_int_equal(qname(m, 21, out, sizeof(out)), -EINVAL);

	/* a question that is only a pointer (to offset 18) */
	m[12] = 0xc0;
	m[13] = 18;
	put16(m + 14, 1);
	put16(m + 16, 1);
	n = 18 + put_name(m + 18, "MineXMR.com");
	assert_int_equal(qname(m, n, out, sizeof(out)), 11);
	assert_string_equal(out, "minexmr.com");
}

static void
test_dns_pointer_loop(void **state)
{
	uint8_t m[64] = {0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	char out[256];

	(void)state;
	/* a pointer to itself */
	m[12] = 0xc0;
	m[13] = 12;
	assert_int_equal(qname(m, 18, out, sizeof(out)), -EINVAL);
	/* two pointers to each other */
	m[12] = 0xc0;
	m[13] = 14;
	m[14] = 0xc0;
	m[15] = 12;
	assert_int_equal(qname(m, 20, out, sizeof(out)), -EINVAL);
	/* a label, then a pointer back to it: the name would grow forever */
	m[12] = 1;
	m[13] = 'a';
	m[14] = 0xc0;
	m[15] = 12;
	assert_int_equal(qname(m, 20, out, sizeof(out)), -EINVAL);
}

static void
test_dns_bad_labels(void **state)
{
	uint8_t m[64] = {0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	char out[256];

	(void)state;
	/* a label running past the end */
	m[12] = 16;
	memcpy(m + 13, "abc", 3);
	assert_int_equal(qname(m, 16, out, sizeof(out)), -EINVAL);
	/* a label ending exactly at the end, with no zero after it */
	m[12] = 3;
	assert_int_equal(qname(m, 16, out, sizeof(out)), -EINVAL);
	/* reserved label types 0x40 and 0x80 */
	m[12] = 0x41;
	assert_int_equal(qname(m, 16, out, sizeof(out)), -EINVAL);
	m[12] = 0x81;
	assert_int_equal(qname(m, 16, out, sizeof(out)), -EINVAL);
	/* a '.' or a NUL inside a label */
	m[12] = 3;
	memcpy(m + 13, "a.c", 3);
	m[16] = 0;
	assert_int_equal(qname(m, 17, out, sizeof(out)), -EINVAL);
	memcpy(m + 13, "a\0c", 3);
	assert_int_equal(qname(m, 17, out, sizeof(out)), -EINVAL);
}

static void
test_dns_header(void **state)
{
	uint8_t m[512];
	char out[256];
	size_t n = dns_query(m, "nanopool.org");

	(void)state;
	/* truncated header */
	assert_int_equal(qname(m, 11, out, sizeof(out)), -EINVAL);
	assert_int_equal(qname(m, 0, out, sizeof(out)), -EINVAL);
	/* header only, qdcount 1: the name is missing */
	assert_int_equal(qname(m, 12, out, sizeof(out)), -EINVAL);
	/* no output room */
	assert_int_equal(qname(m, n, out, 1), -EINVAL);
	/* qdcount 0 */
	m[5] = 0;
	assert_int_equal(qname(m, n, out, sizeof(out)), -ENOENT);
	m[5] = 1;
	/* opcode STATUS (2) and NOTIFY (4): not a query */
	m[2] = 0x10;
	assert_int_equal(qname(m, n, out, sizeof(out)), -ENOENT);
	m[2] = 0x20;
	assert_int_equal(qname(m, n, out, sizeof(out)), -ENOENT);
	/* a response (QR set) to a query still has the question */
	m[2] = 0x81;
	assert_int_equal(qname(m, n, out, sizeof(out)), 12);
	assert_string_equal(out, "nanopool.org");
}

static void
test_dns_root(void **state)
{
	uint8_t m[512];
	char out[256];
	size_t n = dns_query(m, "");

	(void)state;
	assert_int_equal(n, 17);
	assert_int_equal(qname(m, n, out, sizeof(out)), -ENOENT);
}

static void
test_dns_lengths(void **state)
{
	uint8_t m[600];
	char out[300], name[300], want[300];
	size_t n;

	(void)state;
	/* a 63-byte label is the longest */
	memset(name, 'a', 63);
	strcpy(name + 63, ".com");
	n = dns_query(m, name);
	assert_int_equal(qname(m, n, out, sizeof(out)), 67);
	assert_string_equal(out, name);
	/* 64 is a reserved label type */
	memset(name, 'a', 64);
	strcpy(name + 64, ".com");
	n = dns_query(m, name);
	assert_int_equal(m[12], 0x40);
	assert_int_equal(qname(m, n, out, sizeof(out)), -EINVAL);

	/* 253 characters is the longest name; 254 is too long */
	memset(name, 'b', 253);
	name[63] = name[127] = name[191] = '.';
	name[253] = '\0';
	n = dns_query(m, name);
	assert_int_equal(qname(m, n, out, sizeof(out)), 253);
	assert_string_equal(out, name);
	name[253] = 'b';
	name[254] = '\0';
	n = dns_query(m, name);
	assert_int_equal(qname(m, n, out, sizeof(out)), -EINVAL);

	/* a name longer than the output buffer */
	n = dns_query(m, "xmr-eu1.nanopool.org");
	assert_int_equal(qname(m, n, out, 10), -EINVAL);
	assert_int_equal(qname(m, n, out, 20), -EINVAL);
	assert_int_equal(qname(m, n, out, 21), 20); /* exactly the name and its NUL */
	assert_string_equal(out, "xmr-eu1.nanopool.org");
	strcpy(want, "ab.cd");
	n = dns_query(m, want);
	assert_int_equal(qname(m, n, out, 5), -EINVAL);
	assert_int_equal(qname(m, n, out, 6), 5);
	assert_string_equal(out, want);
}

/*
 * Regression (sl_dns_qname, fixed): the room check "o + l + 2 > outlen" reserves a
 * byte for a '.' separator even for the first label, which has none. A one-label name of
 * outlen-1 characters fits (name + NUL) but is refused as malformed (-EINVAL). Multi-label
 * names of the same total length are accepted (test_dns_lengths). Not reachable from
 * inspection today (its buffer is 256 and names stop at 253), but the API contract is broken.
 */
static void
test_dns_single_label_exact_fit(void **state)
{
	uint8_t m[64];
	char out[8];
	size_t n = dns_query(m, "abcde");

	(void)state;
	assert_int_equal(qname(m, n, out, 6), 5); /* "abcde" + NUL = 6 bytes: fits */
	assert_string_equal(out, "abcde");
}

/* ==== 2. TLS ClientHello server name ==== */

/** How to build a test handshake message. Deltas corrupt one length field. */
struct ch_opts {
	const char *sni;    /**< NULL: no server_name extension */
	bool sni_last;      /**< server_name after the other extensions (else first) */
	bool no_ext;        /**< no extensions block at all */
	uint8_t type;       /**< handshake type; 0 means 1 (ClientHello) */
	int ext_delta;      /**< added to the extensions block length */
	int sni_ext_delta;  /**< added to the server_name extension length */
	int sni_list_delta; /**< added to the server_name_list length */
	int sni_name_delta; /**< added to the host_name length */
};

static size_t
put_sni(uint8_t *p, const struct ch_opts *o)
{
	size_t nl = strlen(o->sni);

	put16(p, 0x0000);
	put16(p + 2, (uint16_t)(2 + 3 + nl + o->sni_ext_delta));
	put16(p + 4, (uint16_t)(3 + nl + o->sni_list_delta));
	p[6] = 0; /* host_name */
	put16(p + 7, (uint16_t)(nl + o->sni_name_delta));
	memcpy(p + 9, o->sni, nl);
	return 9 + nl;
}

/* A handshake message (type, u24 length, body) shaped like a browser's ClientHello. */
static size_t
build_hs(uint8_t *out, const struct ch_opts *o)
{
	static const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c,
		0xc030, 0x009c};
	static const uint8_t others[] = {
		0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18, /* groups */
		0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,                                     /* points */
		0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, /* sigalgs */
		0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03,                   /* versions */
		0x00, 0x10, 0x00, 0x0b, 0x00, 0x09, 0x08, 'h', 't', 't', 'p', '/', '1', '.', '1',
	};
	uint8_t *p = out + 4;
	size_t n = 0;

	p[n++] = 0x03; /* legacy_version 1.2 */
	p[n++] = 0x03;
	for (unsigned int i = 0; i < 32; i++) /* random */
		p[n++] = (uint8_t)(0xa0 + i);
	p[n++] = 32; /* session id */
	for (unsigned int i = 0; i < 32; i++)
		p[n++] = (uint8_t)(0x40 + i);
	put16(p + n, (uint16_t)(2 * RTE_DIM(suites)));
	n += 2;
	for (unsigned int i = 0; i < RTE_DIM(suites); i++, n += 2)
		put16(p + n, suites[i]);
	p[n++] = 1; /* compression: null only */
	p[n++] = 0;
	if (!o->no_ext) {
		size_t at = n;

		n += 2;
		if (o->sni != NULL && !o->sni_last)
			n += put_sni(p + n, o);
		memcpy(p + n, others, sizeof(others));
		n += sizeof(others);
		if (o->sni != NULL && o->sni_last)
			n += put_sni(p + n, o);
		put16(p + at, (uint16_t)(n - at - 2 + o->ext_delta));
	}
	out[0] = o->type != 0 ? o->type : 1;
	put24(out + 1, (uint32_t)n);
	return 4 + n;
}

/* Wrap @p hs into handshake records cut at the given offsets (ascending, inside hs). */
static size_t
wrap_records(uint8_t *out, const uint8_t *hs, size_t n, const size_t *cuts, unsigned int ncuts)
{
	size_t o = 0, from = 0;

	for (unsigned int i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : n;

		out[o] = 0x16;
		out[o + 1] = 0x03;
		out[o + 2] = 0x01;
		put16(out + o + 3, (uint16_t)(to - from));
		memcpy(out + o + 5, hs + from, to - from);
		o += 5 + to - from;
		from = to;
	}
	return o;
}

/* sl_tls_sni over an exact copy of @p p, with a work buffer of exactly @p worklen bytes. */
static __attribute__((noinline)) int
sni_of(const uint8_t *p, size_t len, size_t worklen, char *sni, size_t snilen)
{
	uint8_t *c = dup_exact(p, len);
	uint8_t *work = malloc(worklen > 0 ? worklen : 1);
	int rc;

	assert_non_null(work);
	rc = sl_tls_sni(c, len, work, worklen, sni, snilen);
	free(work);
	free(c);
	return rc;
}

/* One record, SNI @p sni (first or last). @return record bytes; hs length in @p hsl. */
static size_t
client_hello(uint8_t *rec, const struct ch_opts *o, size_t *hsl)
{
	uint8_t hs[1024];
	size_t n = build_hs(hs, o);

	if (hsl != NULL)
		*hsl = n;
	return wrap_records(rec, hs, n, NULL, 0);
}

static void
test_tls_sni_first(void **state)
{
	struct ch_opts o = {.sni = "xmr.nanopool.org"};
	uint8_t rec[1100];
	char sni[256];
	size_t hsl, n = client_hello(rec, &o, &hsl);

	(void)state;
	assert_int_equal(rec[0], 0x16);
	assert_int_equal(rec[5], 0x01);
	assert_int_equal(n, hsl + 5);
	assert_int_equal(sni_of(rec, n, hsl, sni, sizeof(sni)), 16);
	assert_string_equal(sni, "xmr.nanopool.org");
	/* bytes after the hello (the next record) do not matter */
	memcpy(rec + n, ((const uint8_t[]){0x14, 0x03, 0x03, 0x00, 0x01, 0x01}), 6);
	assert_int_equal(sni_of(rec, n + 6, hsl, sni, sizeof(sni)), 16);
	assert_string_equal(sni, "xmr.nanopool.org");
}

static void
test_tls_sni_after_others(void **state)
{
	struct ch_opts o = {.sni = "Pool.MineXMR.com", .sni_last = true};
	uint8_t rec[1100];
	char sni[256];
	size_t hsl, n = client_hello(rec, &o, &hsl);

	(void)state;
	assert_int_equal(sni_of(rec, n, hsl, sni, sizeof(sni)), 16);
	assert_string_equal(sni, "pool.minexmr.com"); /* lower-cased */
	/* the name must fit the caller's buffer with its NUL */
	assert_int_equal(sni_of(rec, n, hsl, sni, 17), 16);
	assert_int_equal(sni_of(rec, n, hsl, sni, 16), -EINVAL);
}

static void
test_tls_every_prefix(void **state)
{
	struct ch_opts o = {.sni = "xmr.nanopool.org", .sni_last = true};
	uint8_t rec[1100];
	char sni[256];
	size_t n = client_hello(rec, &o, NULL);

	(void)state;
	for (size_t len = 0; len < n; len++) {
		int rc = sni_of(rec, len, WIN, sni, sizeof(sni));

		if (rc != -EAGAIN)
			fail_msg("prefix of %zu of %zu bytes: %d, expected -EAGAIN", len, n, rc);
	}
	assert_int_equal(sni_of(rec, n, WIN, sni, sizeof(sni)), 16);
	assert_string_equal(sni, "xmr.nanopool.org");
}

static void
test_tls_split_records(void **state)
{
	struct ch_opts o = {.sni = "xmr.nanopool.org", .sni_last = true};
	uint8_t hs[1024], rec[1200];
	char sni[256];
	size_t hsl = build_hs(hs, &o), n;
	size_t two[] = {40}, three[] = {2, 100};

	(void)state;
	/* two records, cut inside the random */
	n = wrap_records(rec, hs, hsl, two, 1);
	assert_int_equal(n, hsl + 10);
	assert_int_equal(sni_of(rec, n, hsl, sni, sizeof(sni)), 16);
	assert_string_equal(sni, "xmr.nanopool.org");
	for (size_t len = 0; len < n; len++) {
		int rc = sni_of(rec, len, WIN, sni, sizeof(sni));

		if (rc != -EAGAIN)
			fail_msg("two records, prefix %zu of %zu: %d, expected -EAGAIN", len, n, rc);
	}
	/* three records, the first shorter than the handshake header */
	n = wrap_records(rec, hs, hsl, three, 2);
	assert_int_equal(n, hsl + 15);
	assert_int_equal(sni_of(rec, n, hsl, sni, sizeof(sni)), 16);
	assert_string_equal(sni, "xmr.nanopool.org");
	for (size_t len = 0; len < n; len++) {
		int rc = sni_of(rec, len, WIN, sni, sizeof(sni));

		if (rc != -EAGAIN)
			fail_msg("three records, prefix %zu of %zu: %d, expected -EAGAIN", len, n, rc);
	}
	/* the second record is not a handshake record */
	n = wrap_records(rec, hs, hsl, two, 1);
	rec[5 + 40] = 0x17;
	assert_int_equal(sni_of(rec, n, WIN, sni, sizeof(sni)), -EINVAL);
}

static void
test_tls_no_sni(void **state)
{
	struct ch_opts none = {.sni = NULL}, noext = {.no_ext = true};
	uint8_t rec[1100];
	char sni[256] = "unchanged";
	size_t hsl, n;

	(void)state;
	n = client_hello(rec, &none, &hsl);
	assert_int_equal(sni_of(rec, n, hsl, sni, sizeof(sni)), 0);
	n = client_hello(rec, &noext, &hsl);
	assert_int_equal(sni_of(rec, n, hsl, sni, sizeof(sni)), 0);
	assert_string_equal(sni, "unchanged");
}

static void
test_tls_not_tls(void **state)
{
	static const char get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	uint8_t rec[1100];
	char sni[256];

	(void)state;
	assert_int_equal(sni_of((const uint8_t *)get, strlen(get), WIN, sni, sizeof(sni)),
		-EINVAL);
	assert_int_equal(sni_of((const uint8_t *)"G", 1, WIN, sni, sizeof(sni)), -EINVAL);
	/* application data, alert, an SSLv2-looking start */
	assert_int_equal(sni_of((const uint8_t[]){0x17, 0x03, 0x03, 0x00, 0x10}, 5, WIN, sni,
				 sizeof(sni)), -EINVAL);
	assert_int_equal(sni_of((const uint8_t[]){0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28}, 7,
				 WIN, sni, sizeof(sni)), -EINVAL);
	assert_int_equal(sni_of((const uint8_t[]){0x16, 0x02, 0x00}, 3, WIN, sni, sizeof(sni)),
		-EINVAL);
	/* a lone handshake content type: could still be TLS */
	assert_int_equal(sni_of((const uint8_t[]){0x16}, 1, WIN, sni, sizeof(sni)), -EAGAIN);
	/* record length 0 and longer than TLS allows */
	assert_int_equal(sni_of((const uint8_t[]){0x16, 0x03, 0x01, 0x00, 0x00}, 5, WIN, sni,
				 sizeof(sni)), -EINVAL);
	memcpy(rec, ((const uint8_t[]){0x16, 0x03, 0x01, 0x48, 0x01, 0x01, 0, 0, 1}), 9);
	assert_int_equal(sni_of(rec, 9, WIN, sni, sizeof(sni)), -EINVAL);
}

static void
test_tls_server_hello(void **state)
{
	struct ch_opts o = {.sni = "xmr.nanopool.org", .type = 2};
	uint8_t rec[1100];
	char sni[256];
	size_t hsl, n = client_hello(rec, &o, &hsl);

	(void)state;
	assert_int_equal(rec[5], 2);
	assert_int_equal(sni_of(rec, n, hsl, sni, sizeof(sni)), -EINVAL);
	/* known as soon as the handshake type and length are in */
	assert_int_equal(sni_of(rec, 9, WIN, sni, sizeof(sni)), -EINVAL);
	assert_int_equal(sni_of(rec, 8, WIN, sni, sizeof(sni)), -EAGAIN);
	/* a Certificate (11) */
	o.type = 11;
	n = client_hello(rec, &o, &hsl);
	assert_int_equal(sni_of(rec, n, hsl, sni, sizeof(sni)), -EINVAL);
}

/* A corrupted hello: -EINVAL, with input and work buffers of exactly the bytes there are. */
static void
expect_bad_hello(const struct ch_opts *o)
{
	uint8_t rec[1100];
	char sni[256];
	size_t hsl, n = client_hello(rec, o, &hsl);
	int rc = sni_of(rec, n, hsl, sni, sizeof(sni));

	if (rc != -EINVAL)
		fail_msg("ext %d sni_ext %d list %d name %d (sni %s): %d, expected -EINVAL",
			o->ext_delta, o->sni_ext_delta, o->sni_list_delta, o->sni_name_delta,
			o->sni_last ? "last" : "first", rc);
}

static void
test_tls_bad_lengths(void **state)
{
	static const int deltas[] = {1, 2, 50, 300, 0x7fff};
	uint8_t rec[1100];
	char sni[256];
	size_t hsl, n;

	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(deltas); i++) {
		int d = deltas[i];

		/* extensions block longer than the hello */
		expect_bad_hello(&(struct ch_opts){.sni = "a.b", .ext_delta = d});
		expect_bad_hello(&(struct ch_opts){.sni = "a.b", .sni_last = true, .ext_delta = d});
		expect_bad_hello(&(struct ch_opts){.ext_delta = d});
		/* server_name extension longer than the block */
		expect_bad_hello(&(struct ch_opts){.sni = "a.b", .sni_last = true,
			.sni_ext_delta = d});
		/* name list longer than the extension */
		expect_bad_hello(&(struct ch_opts){.sni = "a.b", .sni_list_delta = d});
		expect_bad_hello(&(struct ch_opts){.sni = "a.b", .sni_last = true,
			.sni_list_delta = d});
		/* name longer than the list */
		expect_bad_hello(&(struct ch_opts){.sni = "a.b", .sni_name_delta = d});
		expect_bad_hello(&(struct ch_opts){.sni = "a.b", .sni_last = true,
			.sni_name_delta = d});
	}
	/* a server_name extension too short for its list length */
	expect_bad_hello(&(struct ch_opts){.sni = "a.b", .sni_last = true, .sni_ext_delta = -4});

	/* session id, cipher suites and compression lengths running past the hello */
	n = client_hello(rec, &(struct ch_opts){.sni = "a.b"}, &hsl);
	rec[5 + 4 + 34] = 0xff;
	assert_int_equal(sni_of(rec, n, hsl, sni, sizeof(sni)), -EINVAL);
	n = client_hello(rec, &(struct ch_opts){.sni = "a.b"}, &hsl);
	put16(rec + 5 + 4 + 35 + 32, 0xfffe);
	assert_int_equal(sni_of(rec, n, hsl, sni, sizeof(sni)), -EINVAL);
	n = client_hello(rec, &(struct ch_opts){.sni = "a.b"}, &hsl);
	rec[5 + 4 + 35 + 32 + 2 + 16] = 0xff;
	assert_int_equal(sni_of(rec, n, hsl, sni, sizeof(sni)), -EINVAL);

	/* a handshake too short for version and random (record and handshake agree) */
	memcpy(rec, ((const uint8_t[]){0x16, 0x03, 0x01, 0x00, 24, 0x01, 0x00, 0x00, 20}), 9);
	memset(rec + 9, 0x03, 20);
	assert_int_equal(sni_of(rec, 29, 24, sni, sizeof(sni)), -EINVAL);
	/* a handshake of length 0 */
	memcpy(rec, ((const uint8_t[]){0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00}), 9);
	assert_int_equal(sni_of(rec, 9, 4, sni, sizeof(sni)), -EINVAL);
	/* a NUL inside the name */
	n = client_hello(rec, &(struct ch_opts){.sni = "a.b", .sni_last = true}, &hsl);
	rec[n - 2] = '\0';
	assert_int_equal(sni_of(rec, n, hsl, sni, sizeof(sni)), -EINVAL);
}

static void
test_tls_work_small(void **state)
{
	struct ch_opts o = {.sni = "xmr.nanopool.org", .sni_last = true};
	uint8_t hs[1024], rec[1200];
	char sni[256];
	size_t hsl = build_hs(hs, &o), n = wrap_records(rec, hs, hsl, NULL, 0);
	size_t two[] = {100};

	(void)state;
	assert_int_equal(sni_of(rec, n, 64, sni, sizeof(sni)), -ENOSPC);
	assert_int_equal(sni_of(rec, n, hsl - 1, sni, sizeof(sni)), -ENOSPC);
	assert_int_equal(sni_of(rec, n, hsl, sni, sizeof(sni)), 16);
	/* a prefix already larger than the work buffer */
	assert_int_equal(sni_of(rec, 5 + 100, 64, sni, sizeof(sni)), -ENOSPC);
	/* two records: the second does not fit */
	n = wrap_records(rec, hs, hsl, two, 1);
	assert_int_equal(sni_of(rec, n, 150, sni, sizeof(sni)), -ENOSPC);
	assert_int_equal(sni_of(rec, n, hsl, sni, sizeof(sni)), 16);
}

/* ==== 3. HTTP request and response heads ==== */

static int
http_req(const char *text, struct sl_http_req *r)
{
	size_t n = strlen(text);
	uint8_t *c = dup_exact(text, n);
	int rc = sl_http_request(c, n, r);

	/* host points into the input: rebase it onto the caller's text before freeing */
	if (r->host != NULL)
		r->host = text + (r->host - (const char *)c);
	free(c);
	return rc;
}

static void
expect_host(const struct sl_http_req *r, const char *host)
{
	assert_non_null(r->host);
	assert_int_equal(r->host_len, strlen(host));
	assert_memory_equal(r->host, host, strlen(host));
}

static void
test_http_get_host(void **state)
{
	static const char a[] = "GET /index.html HTTP/1.1\r\nHost: xmr.nanopool.org:8080\r\n"
				"User-Agent: curl/8.4.0\r\nAccept: */*\r\n\r\n";
	static const char body[] = "POST /json_rpc HTTP/1.1\r\nHost: pool.org\r\n"
				   "Content-Length: 2\r\n\r\n{}";
	static const char v6[] = "GET / HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n\r\n";
	static const char v6np[] = "GET / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n";
	static const char lf[] = "GET / HTTP/1.0\nhost:\t a.b \n\n";
	static const char two[] = "HEAD / HTTP/1.1\r\nHost: first.org\r\nHost: second.org\r\n\r\n";
	static const char nohost[] = "OPTIONS * HTTP/1.1\r\nAccept: */*\r\n\r\n";
	struct sl_http_req r;

	(void)state;
	assert_int_equal(http_req(a, &r), 0);
	assert_int_equal(r.head_len, strlen(a));
	expect_host(&r, "xmr.nanopool.org");
	assert_ptr_equal(r.host, a + end_of(a, "Host: "));
	assert_false(r.upgrade_ws);

	assert_int_equal(http_req(body, &r), 0);
	assert_int_equal(r.head_len, strlen(body) - 2);
	expect_host(&r, "pool.org");

	assert_int_equal(http_req(v6, &r), 0);
	expect_host(&r, "[2001:db8::1]");
	assert_int_equal(http_req(v6np, &r), 0);
	expect_host(&r, "[2001:db8::1]");

	assert_int_equal(http_req(lf, &r), 0);
	assert_int_equal(r.head_len, strlen(lf));
	expect_host(&r, "a.b");

	assert_int_equal(http_req(two, &r), 0);
	expect_host(&r, "first.org");

	assert_int_equal(http_req(nohost, &r), 0);
	assert_null(r.host);
	assert_int_equal(r.host_len, 0);
}

static void
test_http_case_and_upgrade(void **state)
{
	static const char mixed[] = "GET /ws HTTP/1.1\r\nhOsT: WS.NanoPool.org\r\n"
				    "UPGRADE: WebSocket\r\nconnection: keep-alive, Upgrade\r\n\r\n";
	static const char ws[] = "GET /ws HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\n"
				 "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
	static const char keep[] = "GET /ws HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\n"
				   "Connection: keep-alive\r\n\r\n";
	static const char noup[] = "GET / HTTP/1.1\r\nHost: ws.example\r\nConnection: Upgrade\r\n\r\n";
	static const char h2c[] = "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n"
				  "Connection: Upgrade, HTTP2-Settings\r\n\r\n";
	static const char plural[] = "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websockets\r\n"
				     "Connection: Upgrade\r\n\r\n";
	static const char sub[] = "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
				  "Connection: keep-alive,upgraded\r\n\r\n";
	struct sl_http_req r;

	(void)state;
	assert_int_equal(http_req(mixed, &r), 0);
	expect_host(&r, "WS.NanoPool.org");
	assert_true(r.upgrade_ws);
	assert_int_equal(http_req(ws, &r), 0);
	assert_true(r.upgrade_ws);
	assert_int_equal(http_req(keep, &r), 0);
	assert_false(r.upgrade_ws);
	assert_int_equal(http_req(noup, &r), 0);
	assert_false(r.upgrade_ws);
	assert_int_equal(http_req(h2c, &r), 0);
	assert_false(r.upgrade_ws);
	assert_int_equal(http_req(plural, &r), 0);
	assert_false(r.upgrade_ws);
	assert_int_equal(http_req(sub, &r), 0);
	assert_false(r.upgrade_ws);
}

static void
test_http_incomplete(void **state)
{
	static const char head[] = "GET / HTTP/1.1\r\nHost: xmr.nanopool.org\r\nAccept: */*\r\n\r\n";
	struct sl_http_req r;
	char buf[256];

	(void)state;
	/* every prefix of a complete head: -EAGAIN */
	for (size_t n = 0; n < strlen(head); n++) {
		uint8_t *c = dup_exact(head, n);
		int rc = sl_http_request(c, n, &r);

		free(c);
		if (rc != -EAGAIN)
			fail_msg("prefix of %zu bytes: %d, expected -EAGAIN", n, rc);
	}
	assert_int_equal(http_req("GE", &r), -EAGAIN);
	assert_int_equal(http_req("POS", &r), -EAGAIN);
	assert_int_equal(http_req("CONNECT", &r), -EAGAIN);
	snprintf(buf, sizeof(buf), "%s", "GET / HTTP/1.1\r\nHost: a\r\n\r");
	assert_int_equal(http_req(buf, &r), -EAGAIN);
}

static void
test_http_not_http(void **state)
{
	struct sl_http_req r;
	static const uint8_t bin[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc};

	(void)state;
	assert_int_equal(http_req("{\"id\":1,\"method\":\"mining.subscribe\"}\n", &r), -EINVAL);
	assert_int_equal(http_req("{", &r), -EINVAL);
	{
		uint8_t *c = dup_exact(bin, sizeof(bin));

		assert_int_equal(sl_http_request(c, sizeof(bin), &r), -EINVAL);
		assert_int_equal(sl_http_request(c, 1, &r), -EINVAL);
		free(c);
	}
	assert_int_equal(http_req("get / HTTP/1.1\r\n\r\n", &r), -EINVAL);  /* methods are upper */
	assert_int_equal(http_req("GETS / HTTP/1.1\r\n\r\n", &r), -EINVAL);
	assert_int_equal(http_req("GET / FOO/1.1\r\n\r\n", &r), -EINVAL);   /* not HTTP/1.x */
	assert_int_equal(http_req("GET / HTTP/2.0\r\n\r\n", &r), -EINVAL);
	assert_int_equal(http_req("GET /\r\n\r\n", &r), -EINVAL);
	assert_int_equal(http_req("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &r), -EINVAL);
}

static int
http_resp(const char *text, size_t n, int *status)
{
	uint8_t *c = dup_exact(text, n);
	int rc = sl_http_response(c, n, status);

	free(c);
	return rc;
}

static void
test_http_response(void **state)
{
	static const char sw[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				 "Connection: Upgrade\r\n"
				 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
	char buf[512];
	int status = -1;

	(void)state;
	assert_int_equal(http_resp(sw, strlen(sw), &status), (int)strlen(sw));
	assert_int_equal(status, 101);
	/* a frame in the same segment is not part of the head */
	snprintf(buf, sizeof(buf), "%s\x81\x02hi", sw);
	status = -1;
	assert_int_equal(http_resp(buf, strlen(buf), &status), (int)strlen(sw));
	assert_int_equal(status, 101);
	status = -1;
	assert_int_equal(http_resp("HTTP/1.0 404 Not Found\n\n", 24, &status), 24);
	assert_int_equal(status, 404);
	assert_int_equal(http_resp("HTTP/1.1 200 OK\r\n\r\n", 19, &status), 19);
	assert_int_equal(status, 200);

	/* every prefix: -EAGAIN */
	for (size_t n = 0; n < strlen(sw); n++) {
		int rc = http_resp(sw, n, &status);

		if (rc != -EAGAIN)
			fail_msg("prefix of %zu bytes: %d, expected -EAGAIN", n, rc);
	}
	/* not a response */
	assert_int_equal(http_resp("HTTP/2 200\r\n\r\n", 14, &status), -EINVAL);
	assert_int_equal(http_resp("HTTP/1.1 099 x\r\n\r\n", 18, &status), -EINVAL);
	assert_int_equal(http_resp("HTTP/1.1 600 x\r\n\r\n", 18, &status), -EINVAL);
	assert_int_equal(http_resp("HTTP/1.1 1x1 x\r\n\r\n", 18, &status), -EINVAL);
	assert_int_equal(http_resp("HTTP/1.1  101\r\n\r\n", 17, &status), -EINVAL);
	assert_int_equal(http_resp("SSH-2.0-OpenSSH_9.6\r\n", 21, &status), -EINVAL);
	assert_int_equal(http_resp("SSH", 3, &status), -EINVAL);
}

/* ==== 4. WebSocket frames ==== */

static int
ws_frame(const uint8_t *p, size_t n, struct sl_ws_frame *f)
{
	uint8_t *c = dup_exact(p, n);
	int rc = sl_ws_frame(c, n, f);

	free(c);
	return rc;
}

static void
test_ws_lengths(void **state)
{
	static const uint8_t zero[4];
	struct sl_ws_frame f;

	(void)state;
	/* 7-bit, unmasked text, FIN */
	assert_int_equal(ws_frame((const uint8_t[]){0x81, 0x05, 'h', 'e', 'l', 'l', 'o'}, 7, &f), 0);
	assert_int_equal(f.hdr_len, 2);
	assert_int_equal(f.len, 5);
	assert_int_equal(f.opcode, 1);
	assert_true(f.fin);
	assert_false(f.rsv1);
	assert_false(f.masked);
	assert_memory_equal(f.mask, zero, 4);
	/* 7-bit, masked, binary, not FIN; the header alone is enough */
	assert_int_equal(ws_frame((const uint8_t[]){0x02, 0xfd, 1, 2, 3, 4}, 6, &f), 0);
	assert_int_equal(f.hdr_len, 6);
	assert_int_equal(f.len, 125);
	assert_int_equal(f.opcode, 2);
	assert_false(f.fin);
	assert_true(f.masked);
	assert_memory_equal(f.mask, ((const uint8_t[]){1, 2, 3, 4}), 4);
	/* 16-bit */
	assert_int_equal(ws_frame((const uint8_t[]){0x82, 0x7e, 0x01, 0x00}, 4, &f), 0);
	assert_int_equal(f.hdr_len, 4);
	assert_int_equal(f.len, 256);
	assert_false(f.masked);
	assert_int_equal(ws_frame((const uint8_t[]){0x81, 0xfe, 0xff, 0xfe, 9, 8, 7, 6}, 8, &f), 0);
	assert_int_equal(f.hdr_len, 8);
	assert_int_equal(f.len, 65534);
	assert_true(f.masked);
	assert_memory_equal(f.mask, ((const uint8_t[]){9, 8, 7, 6}), 4);
	/* 64-bit */
	assert_int_equal(ws_frame((const uint8_t[]){0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}, 10, &f), 0);
	assert_int_equal(f.hdr_len, 10);
	assert_int_equal(f.len, 65536);
	assert_int_equal(ws_frame((const uint8_t[]){0x80, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0xa, 0xb, 0xc, 0xd}, 14, &f), 0);
	assert_int_equal(f.hdr_len, 14);
	assert_int_equal(f.len, 0x7fffffffffffffffull);
	assert_int_equal(f.opcode, 0);
	assert_true(f.masked);
	assert_memory_equal(f.mask, ((const uint8_t[]){0xa, 0xb, 0xc, 0xd}), 4);
	/* the top bit of a 64-bit length must be 0 */
	assert_int_equal(ws_frame((const uint8_t[]){0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1}, 10, &f),
		-EINVAL);
	/* control frames up to 125 */
	assert_int_equal(ws_frame((const uint8_t[]){0x89, 0x7d}, 2, &f), 0);
	assert_int_equal(f.opcode, 9);
	assert_int_equal(f.len, 125);
	assert_int_equal(ws_frame((const uint8_t[]){0x88, 0x00}, 2, &f), 0);
	assert_int_equal(ws_frame((const uint8_t[]){0x8a, 0x80, 1, 2, 3, 4}, 6, &f), 0);
	assert_int_equal(f.opcode, 10);
}

static void
test_ws_invalid(void **state)
{
	struct sl_ws_frame f;

	(void)state;
	/* RSV1 is allowed (permessage-deflate) and reported */
	assert_int_equal(ws_frame((const uint8_t[]){0xc1, 0x03}, 2, &f), 0);
	assert_true(f.rsv1);
	assert_true(f.fin);
	assert_int_equal(f.opcode, 1);
	/* RSV2, RSV3 */
	assert_int_equal(ws_frame((const uint8_t[]){0xa1, 0x03}, 2, &f), -EINVAL);
	assert_int_equal(ws_frame((const uint8_t[]){0x91, 0x03}, 2, &f), -EINVAL);
	assert_int_equal(ws_frame((const uint8_t[]){0xf1, 0x03}, 2, &f), -EINVAL);
	/* reserved opcodes 3..7 and 11..15 */
	for (uint8_t op = 3; op <= 15; op++) {
		int want = (op >= 8 && op <= 10) ? 0 : -EINVAL;

		if (ws_frame((const uint8_t[]){(uint8_t)(0x80 | op), 0x01}, 2, &f) != want)
			fail_msg("opcode %u: expected %d", op, want);
	}
	/* control frames longer than 125 (16- and 64-bit forms) or fragmented */
	assert_int_equal(ws_frame((const uint8_t[]){0x89, 0x7e, 0x00, 0x7e}, 4, &f), -EINVAL);
	assert_int_equal(ws_frame((const uint8_t[]){0x88, 0x7f, 0, 0, 0, 0, 0, 0, 1, 0}, 10, &f),
		-EINVAL);
	assert_int_equal(ws_frame((const uint8_t[]){0x09, 0x01}, 2, &f), -EINVAL);
}

static void
test_ws_partial(void **state)
{
	static const uint8_t m16[] = {0x81, 0xfe, 0x01, 0x00, 1, 2, 3, 4};
	static const uint8_t m64[] = {0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4};
	struct sl_ws_frame f;

	(void)state;
	assert_int_equal(ws_frame((const uint8_t[]){0x81}, 0, &f), -EAGAIN);
	assert_int_equal(ws_frame((const uint8_t[]){0x81}, 1, &f), -EAGAIN);
	assert_int_equal(ws_frame((const uint8_t[]){0x81, 0x85, 1, 2, 3}, 5, &f), -EAGAIN);
	for (size_t n = 0; n < sizeof(m16); n++)
		assert_int_equal(ws_frame(m16, n, &f), -EAGAIN);
	assert_int_equal(ws_frame(m16, sizeof(m16), &f), 0);
	assert_int_equal(f.hdr_len, 8);
	for (size_t n = 0; n < sizeof(m64); n++)
		assert_int_equal(ws_frame(m64, n, &f), -EAGAIN);
	assert_int_equal(ws_frame(m64, sizeof(m64), &f), 0);
	assert_int_equal(f.hdr_len, 14);
	assert_int_equal(f.len, 65536);
}

static void
test_ws_unmask(void **state)
{
	static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
	uint8_t plain[100], masked[100], back[100];

	(void)state;
	for (unsigned int i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 7 + 1);
	sl_ws_unmask(masked, plain, sizeof(plain), mask, 0);
	for (unsigned int i = 0; i < sizeof(plain); i++)
		assert_int_equal(masked[i], plain[i] ^ mask[i % 4]);
	/* RFC 6455 5.7: "Hello" masked with 37 fa 21 3d */
	sl_ws_unmask(back, (const uint8_t[]){0x7f, 0x9f, 0x4d, 0x51, 0x58}, 5, mask, 0);
	assert_memory_equal(back, "Hello", 5);
	/* in pieces, each with its position in the payload */
	sl_ws_unmask(back, masked, 7, mask, 0);
	sl_ws_unmask(back + 7, masked + 7, 30, mask, 7);
	sl_ws_unmask(back + 37, masked + 37, 63, mask, 37);
	assert_memory_equal(back, plain, sizeof(plain));
	/* a position past 2^32 keeps its phase */
	sl_ws_unmask(back, masked + 3, 10, mask, (1ull << 32) + 3);
	assert_memory_equal(back, plain + 3, 10);
	/* zero bytes: nothing written */
	back[0] = 0xee;
	sl_ws_unmask(back, masked, 0, mask, 0);
	assert_int_equal(back[0], 0xee);
}

/* ==== 5. Lists: pool names, pool addresses, detector overrides ==== */

static void
test_domains_file(void **state)
{
	struct lists l;
	char err[ERRLEN];
	uint32_t dom, ranges, dets, pats;
	struct sl_match_db *db = build_lists(&l,
		"# mining pools\n"
		"nanopool.org\n"
		"\n"
		"   XMR.SupportXMR.COM   # upper case, trailing comment\n"
		"minexmr.com.\r\n"
		"*.2miners.com\n"
		"\t \n"
		"nanopool.org\n"
		"NANOPOOL.ORG # a duplicate in another case\n",
		NULL, NULL, err);

	(void)state;
	lists_remove(&l);
	if (db == NULL)
		fail_msg("build: %s", err);
	sl_match_db_sizes(db, &dom, &ranges, &dets, &pats);
	assert_int_equal(dom, 4);
	assert_int_equal(ranges, 0);
	assert_int_equal(dets, SL_DET_MAX);

	assert_true(pool_name(db, "nanopool.org"));
	assert_true(pool_name(db, "xmr-eu1.nanopool.org"));
	assert_true(pool_name(db, "NANOPOOL.ORG."));
	assert_true(pool_name(db, "Xmr-Eu1.NanoPool.Org."));
	assert_true(pool_name(db, "a.b.c.nanopool.org"));
	assert_false(pool_name(db, "evil-nanopool.org"));
	assert_false(pool_name(db, "nanopool.org.evil.com"));
	assert_false(pool_name(db, "org"));
	assert_false(pool_name(db, "nanopool.or"));
	assert_false(pool_name(db, "anopool.org"));
	assert_false(pool_name(db, "nanopool"));
	assert_false(pool_name(db, ""));
	assert_false(pool_name(db, "."));
	/* the length is honoured: no NUL needed */
	assert_true(sl_match_pool_name(db, "nanopool.orgXYZ", 12));
	assert_false(sl_match_pool_name(db, "nanopool.org", 11));

	assert_true(pool_name(db, "xmr.supportxmr.com"));
	assert_true(pool_name(db, "gulf.xmr.supportxmr.com"));
	assert_false(pool_name(db, "supportxmr.com"));
	assert_true(pool_name(db, "minexmr.com"));
	assert_true(pool_name(db, "pool.minexmr.com."));
	assert_true(pool_name(db, "2miners.com")); /* "*.x" means the same as "x" */
	assert_true(pool_name(db, "eth.2miners.com"));
	assert_false(pool_name(db, "x2miners.com"));
	sl_match_db_free(db);
}

static void
test_domains_errors(void **state)
{
	struct lists l;
	char err[ERRLEN], line[1200];
	struct sl_match_conf c;
	struct sl_match_db *db;

	(void)state;
	expect_list_error("nanopool.org\n# comment\nbad name!\n", NULL, NULL, 3, "bad name!");
	expect_list_error("a..b\n", NULL, NULL, 1, NULL);
	expect_list_error("ok.org\n.\n", NULL, NULL, 2, NULL);
	expect_list_error("*.\n", NULL, NULL, 1, NULL);
	expect_list_error("pool.org\nhttp://pool.org/\n", NULL, NULL, 2, NULL);
	expect_list_error("pool.org extra.org\n", NULL, NULL, 1, NULL);
	/* a 64-byte label */
	memset(line, 'a', 64);
	strcpy(line + 64, ".org\n");
	expect_list_error(line, NULL, NULL, 1, NULL);
	/* a line longer than the reader's buffer */
	memset(line, 'a', 1100);
	strcpy(line + 1100, "\n");
	expect_list_error(line, NULL, NULL, 1, "too long");

	/* a missing file */
	write_tmp(l.dom, "");
	unlink(l.dom);
	memset(&c, 0, sizeof(c));
	c.domains_path = l.dom;
	c.nworkers = 1;
	err[0] = '\0';
	rte_errno = 0;
	db = sl_match_db_build(&c, err, sizeof(err));
	assert_null(db);
	assert_non_null(strstr(err, l.dom));
	assert_int_equal(rte_errno, ENOENT);
}

static void
test_ips_file(void **state)
{
	struct lists l;
	char err[ERRLEN];
	uint32_t dom, ranges, dets, pats;
	struct sl_match_db *db = build_lists(&l, NULL,
		"# pool addresses\n"
		"198.51.100.0/25\n"
		"198.51.100.128/25   # adjacent: one range\n"
		"203.0.113.0/24\n"
		"203.0.113.64/26     # inside the previous\n"
		"\n"
		"192.0.2.7\n"
		"10.0.0.0/8\n"
		"10.255.0.0/16       # overlaps, same end\n"
		"2001:db8::/32\n"
		"2001:db8:1::/48\n"
		"2001:db9::/32       # adjacent to 2001:db8::/32\n"
		"fd00::1\n",
		NULL, err);

	(void)state;
	lists_remove(&l);
	if (db == NULL)
		fail_msg("build: %s", err);
	sl_match_db_sizes(db, &dom, &ranges, &dets, &pats);
	assert_int_equal(dom, 0);
	assert_int_equal(ranges, 6);

	assert_false(pool_ip(db, "198.51.99.255"));
	assert_true(pool_ip(db, "198.51.100.0"));
	assert_true(pool_ip(db, "198.51.100.127"));
	assert_true(pool_ip(db, "198.51.100.128"));
	assert_true(pool_ip(db, "198.51.100.255"));
	assert_false(pool_ip(db, "198.51.101.0"));
	assert_false(pool_ip(db, "203.0.112.255"));
	assert_true(pool_ip(db, "203.0.113.0"));
	assert_true(pool_ip(db, "203.0.113.100"));
	assert_true(pool_ip(db, "203.0.113.255"));
	assert_false(pool_ip(db, "203.0.114.0"));
	assert_false(pool_ip(db, "192.0.2.6"));
	assert_true(pool_ip(db, "192.0.2.7"));
	assert_false(pool_ip(db, "192.0.2.8"));
	assert_false(pool_ip(db, "9.255.255.255"));
	assert_true(pool_ip(db, "10.0.0.0"));
	assert_true(pool_ip(db, "10.255.255.255"));
	assert_false(pool_ip(db, "11.0.0.0"));
	assert_false(pool_ip(db, "::a00:1")); /* 10.0.0.1 IPv4-compatible, not mapped */
	assert_false(pool_ip(db, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_true(pool_ip(db, "2001:db8::"));
	assert_true(pool_ip(db, "2001:db8:1::5"));
	assert_true(pool_ip(db, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_true(pool_ip(db, "2001:db9::"));
	assert_true(pool_ip(db, "2001:db9:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(pool_ip(db, "2001:dba::"));
	assert_false(pool_ip(db, "fd00::"));
	assert_true(pool_ip(db, "fd00::1"));
	assert_false(pool_ip(db, "fd00::2"));
	assert_false(pool_ip(db, "::"));
	assert_false(pool_ip(db, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	sl_match_db_free(db);
}

static void
test_ips_edges(void **state)
{
	struct lists l;
	char err[ERRLEN];
	uint32_t dom, ranges, dets, pats;
	struct sl_match_db *db;

	(void)state;
	/* all of IPv4: the IPv4-mapped block only */
	db = build_lists(&l, NULL, "0.0.0.0/0\n", NULL, err);
	lists_remove(&l);
	assert_non_null(db);
	sl_match_db_sizes(db, &dom, &ranges, &dets, &pats);
	assert_int_equal(ranges, 1);
	assert_true(pool_ip(db, "0.0.0.0"));
	assert_true(pool_ip(db, "255.255.255.255"));
	assert_true(pool_ip(db, "192.0.2.1"));
	assert_false(pool_ip(db, "::fffe:ffff:ffff")); /* just below ::ffff:0.0.0.0 */
	assert_false(pool_ip(db, "::1:0:0:0"));        /* just above ::ffff:255.255.255.255 */
	assert_false(pool_ip(db, "2001:db8::1"));
	assert_false(pool_ip(db, "::"));
	sl_match_db_free(db);

	/* everything */
	db = build_lists(&l, NULL, "::/0\n", NULL, err);
	lists_remove(&l);
	assert_non_null(db);
	sl_match_db_sizes(db, &dom, &ranges, &dets, &pats);
	assert_int_equal(ranges, 1);
	assert_true(pool_ip(db, "::"));
	assert_true(pool_ip(db, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_true(pool_ip(db, "1.2.3.4"));
	assert_true(pool_ip(db, "2001:db8::1"));
	sl_match_db_free(db);

	/* everything absorbs what comes after it, the top of the space too */
	db = build_lists(&l, NULL, "10.0.0.0/8\n::/0\n2001:db8::/32\nffff::/16\n::1\n", NULL, err);
	lists_remove(&l);
	assert_non_null(db);
	sl_match_db_sizes(db, &dom, &ranges, &dets, &pats);
	assert_int_equal(ranges, 1);
	sl_match_db_free(db);

	/* host bits are ignored; the same range twice is one */
	db = build_lists(&l, NULL, "10.1.2.3/16\n10.1.0.0/16\n10.1.255.255/16\n", NULL, err);
	lists_remove(&l);
	assert_non_null(db);
	sl_match_db_sizes(db, &dom, &ranges, &dets, &pats);
	assert_int_equal(ranges, 1);
	assert_true(pool_ip(db, "10.1.0.0"));
	assert_true(pool_ip(db, "10.1.255.255"));
	assert_false(pool_ip(db, "10.0.255.255"));
	assert_false(pool_ip(db, "10.2.0.0"));
	sl_match_db_free(db);

	/* many single addresses, every other one: nothing merges; all found by the search */
	{
		char *text = malloc(600 * 20), ip[32];
		size_t o = 0;

		assert_non_null(text);
		for (unsigned int i = 0; i < 600; i += 2)
			o += (size_t)sprintf(text + o, "100.64.%u.%u\n", i / 256, i % 256);
		db = build_lists(&l, NULL, text, NULL, err);
		lists_remove(&l);
		free(text);
		assert_non_null(db);
		sl_match_db_sizes(db, &dom, &ranges, &dets, &pats);
		assert_int_equal(ranges, 300);
		for (unsigned int i = 0; i < 600; i++) {
			snprintf(ip, sizeof(ip), "100.64.%u.%u", i / 256, i % 256);
			if (pool_ip(db, ip) != (i % 2 == 0))
				fail_msg("%s: wrong answer", ip);
		}
		sl_match_db_free(db);
	}

	/* an empty list: nothing matches */
	db = build_lists(&l, NULL, "# nothing\n", NULL, err);
	lists_remove(&l);
	assert_non_null(db);
	sl_match_db_sizes(db, &dom, &ranges, &dets, &pats);
	assert_int_equal(ranges, 0);
	assert_false(pool_ip(db, "0.0.0.0"));
	sl_match_db_free(db);
}

static void
test_ips_errors(void **state)
{
	(void)state;
	expect_list_error(NULL, "10.0.0.0/8\n# fine\n10.0.0.0/33\n", NULL, 3, "10.0.0.0/33");
	expect_list_error(NULL, "2001:db8::/129\n", NULL, 1, NULL);
	expect_list_error(NULL, "192.0.2.1/-1\n", NULL, 1, NULL);
	expect_list_error(NULL, "192.0.2.1/\n", NULL, 1, NULL);
	expect_list_error(NULL, "192.0.2.256\n", NULL, 1, NULL);
	expect_list_error(NULL, "\n\n10.0.0.1 10.0.0.2\n", NULL, 3, NULL);
	expect_list_error(NULL, "pool.org\n", NULL, 1, "pool.org");
	expect_list_error(NULL, "10.0.0.0/8x\n", NULL, 1, NULL);
}

/*
 * Regression (sl_ipset_load, fixed): unlike sl_domset_load (lists.c:130), the
 * address loader does not check for lines longer than its 1024-byte fgets buffer. A long
 * line is read in pieces and each piece is parsed as a line of its own, so the tail of a
 * long comment line becomes a pool range (and every later error reports a wrong line number).
 * Input: "#" + 1022 'x' + " 198.51.100.0/24\n". Expected: the commented text loads nothing
 * (or the file is rejected with "path:1: line too long"). Actual: one range, 198.51.100.0/24.
 */
static void
test_ips_long_comment(void **state)
{
	struct lists l;
	char err[ERRLEN], *text = malloc(1100);
	struct sl_match_db *db;

	(void)state;
	assert_non_null(text);
	text[0] = '#';
	memset(text + 1, 'x', 1022);
	strcpy(text + 1023, " 198.51.100.0/24\n");
	db = build_lists(&l, NULL, text, NULL, err);
	lists_remove(&l);
	free(text);
	if (db != NULL) {
		uint32_t dom, ranges, dets, pats;
		bool listed = pool_ip(db, "198.51.100.1");

		sl_match_db_sizes(db, &dom, &ranges, &dets, &pats);
		sl_match_db_free(db);
		if (ranges != 0 || listed)
			fail_msg("a commented-out line loaded %u range(s); 198.51.100.1 listed: %d",
				ranges, listed);
	} else {
		expect_err_at(err, l.ips, 1);
	}
}

static void
test_detectors_file(void **state)
{
	struct lists l;
	char err[ERRLEN];
	uint32_t dom, ranges, dets, pats, pats_all;
	struct sl_match_db *db;

	(void)state;
	db = build_lists(&l, NULL, NULL, NULL, err);
	lists_remove(&l);
	assert_non_null(db);
	sl_match_db_sizes(db, &dom, &ranges, &dets, &pats_all);
	sl_match_db_free(db);

	db = build_lists(&l, NULL, NULL,
		"# overrides\n"
		"stratum_notify off\n"
		"xmr_login weight 10\n"
		"\n"
		"http_getwork\toff   # then back on\n"
		"http_getwork on\n"
		"miner_agent weight 0\n"
		"eth_get_work weight 100\n",
		err);
	lists_remove(&l);
	if (db == NULL)
		fail_msg("build: %s", err);
	sl_match_db_sizes(db, &dom, &ranges, &dets, &pats);
	assert_int_equal(dets, SL_DET_MAX - 1);
	assert_int_equal(pats, pats_all - 1); /* stratum_notify's pattern is not compiled */
	assert_int_equal(sl_match_db_weight(db, SL_DET_stratum_notify), 0);
	assert_int_equal(sl_match_db_weight(db, SL_DET_xmr_login), 10);
	assert_int_equal(sl_match_db_weight(db, SL_DET_http_getwork), 85);
	assert_int_equal(sl_match_db_weight(db, SL_DET_miner_agent), 0);
	assert_int_equal(sl_match_db_weight(db, SL_DET_eth_get_work), 100);
	assert_int_equal(sl_match_db_weight(db, SL_DET_stratum_subscribe), 90);
	assert_int_equal(sl_match_db_weight(db, SL_DET_pool_ip), 50);
	assert_int_equal(sl_match_db_weight(db, SL_DET_MAX), 0);
	assert_int_equal(sl_match_db_weight(db, 1000), 0);
	sl_match_db_free(db);

	/* every composite off: their terms are not compiled either */
	db = build_lists(&l, NULL, NULL,
		"xmr_login off\nxmr_job off\nxmr_submit off\nws_miner_auth off\n"
		"ws_miner_job off\nws_miner_submit off\n",
		err);
	lists_remove(&l);
	assert_non_null(db);
	sl_match_db_sizes(db, &dom, &ranges, &dets, &pats);
	assert_int_equal(dets, SL_DET_MAX - 6);
	assert_int_equal(pats, pats_all - SL_TERM_MAX);
	sl_match_db_free(db);
}

static void
test_detectors_errors(void **state)
{
	(void)state;
	expect_list_error(NULL, NULL, "stratum_notify off\nbogus_detector off\n", 2,
		"bogus_detector");
	expect_list_error(NULL, NULL, "xmr_login weight 101\n", 1, "101");
	expect_list_error(NULL, NULL, "# c\nxmr_login weight -1\n", 2, "-1");
	expect_list_error(NULL, NULL, "xmr_login weight abc\n", 1, "abc");
	expect_list_error(NULL, NULL, "xmr_login weight 5x\n", 1, "5x");
	expect_list_error(NULL, NULL, "xmr_login weight\n", 1, NULL);
	expect_list_error(NULL, NULL, "xmr_login weight 5 6\n", 1, NULL);
	expect_list_error(NULL, NULL, "xmr_login\n", 1, NULL);
	expect_list_error(NULL, NULL, "xmr_login maybe\n", 1, NULL);
	expect_list_error(NULL, NULL, "xmr_login off now\n", 1, NULL);
	expect_list_error(NULL, NULL, "XMR_LOGIN off\n", 1, "XMR_LOGIN"); /* names are exact */
}

/*
 * Regression (sl_detectors_load, fixed): same as sl_ipset_load: no check for lines
 * longer than the 1024-byte buffer, so the tail of a long comment is read as an override.
 * Input: "#" + 1022 'x' + "stratum_subscribe off\n". Expected: stratum_subscribe stays on
 * (weight 90), or the file is rejected with "path:1: line too long". Actual: it is switched
 * off (weight 0).
 */
static void
test_detectors_long_comment(void **state)
{
	struct lists l;
	char err[ERRLEN], *text = malloc(1100);
	struct sl_match_db *db;

	(void)state;
	assert_non_null(text);
	text[0] = '#';
	memset(text + 1, 'x', 1022);
	strcpy(text + 1023, "stratum_subscribe off\n");
	db = build_lists(&l, NULL, NULL, text, err);
	lists_remove(&l);
	free(text);
	if (db != NULL) {
		unsigned int w = sl_match_db_weight(db, SL_DET_stratum_subscribe);

		sl_match_db_free(db);
		if (w != 90)
			fail_msg("a commented-out override took effect: stratum_subscribe weight %u", w);
	} else {
		expect_err_at(err, l.det, 1);
	}
}

/* ==== 6. Inspection of synthetic flows ==== */

#define MAX_EV 32

struct coll {
	unsigned int n;
	struct sl_event ev[MAX_EV];
};

static int
collect(void *arg, const struct sl_event *ev)
{
	struct coll *c = arg;

	if (c->n == MAX_EV)
		return -1;
	c->ev[c->n++] = *ev;
	return 0;
}

/** One flow under inspection: worker context, flow state, collected events. */
struct ix {
	struct sl_match_wctx x;
	struct sl_mstate st;
	struct sl_match_flow fl;
	struct coll c;
	uint8_t src[16], dst[16];
	const struct sl_match_db *db;
};

static void
ix_init(struct ix *t, const struct sl_match_db *db, uint8_t proto, uint16_t dport)
{
	memset(t, 0, sizeof(*t));
	t->db = db;
	t->x.worker = 0;
	t->x.window = WIN;
	t->x.work = malloc(WIN);
	assert_non_null(t->x.work);
	t->x.emit = collect;
	t->x.emit_arg = &t->c;
	addr16("10.0.0.1", t->src);
	addr16("198.51.100.9", t->dst);
	t->fl.src = t->src;
	t->fl.dst = t->dst;
	t->fl.sport = 40000;
	t->fl.dport = dport;
	t->fl.proto = proto;
	t->fl.host = SL_EV_HOST_SRC;
	t->fl.flow_id = 0x123456789abull;
	t->fl.now_us = 1700000000123456ull;
}

static void
ix_fini(struct ix *t)
{
	free(t->x.work);
	t->x.work = NULL;
}

/* The flow's direction @p dir grew from @p old_len to @p new_len bytes of @p buf. */
static void
feed(struct ix *t, int dir, const void *buf, uint32_t old_len, uint32_t new_len)
{
	uint8_t *c;

	assert_true(old_len < new_len);
	assert_true(new_len <= WIN);
	c = dup_exact(buf, new_len);
	sl_match_inspect(&t->x, t->db, &t->st, &t->fl, dir, c, old_len, new_len);
	free(c);
}

/* Feed @p buf[0, len) in steps of @p step bytes. */
static void
feed_steps(struct ix *t, int dir, const void *buf, uint32_t len, uint32_t step)
{
	for (uint32_t o = 0; o < len; o += step)
		feed(t, dir, buf, o, o + step < len ? o + step : len);
}

static void
dump_events(const struct ix *t)
{
	for (unsigned int i = 0; i < t->c.n; i++)
		print_message("  event %u: %s dir %u offset %u\n", i,
			sl_det_name(t->c.ev[i].detector), t->c.ev[i].dir, t->c.ev[i].offset);
}

static void
expect_events(const struct ix *t, unsigned int n)
{
	if (t->c.n != n) {
		dump_events(t);
		fail_msg("%u events, expected %u", t->c.n, n);
	}
	assert_int_equal(t->x.st.events, n);
}

/* Event @p i is @p det in @p dir ending at @p off, and carries the flow's identity. */
static const struct sl_event *
expect_event(const struct ix *t, unsigned int i, unsigned int det, int dir, uint32_t off)
{
	const struct sl_event *e;

	if (i >= t->c.n) {
		dump_events(t);
		fail_msg("no event %u (expected %s)", i, sl_det_name(det));
	}
	e = &t->c.ev[i];
	if (e->detector != det || e->dir != dir || e->offset != off) {
		dump_events(t);
		fail_msg("event %u: %s dir %u offset %u, expected %s dir %d offset %u", i,
			sl_det_name(e->detector), e->dir, e->offset, sl_det_name(det), dir, off);
	}
	assert_memory_equal(e->src, t->fl.src, 16);
	assert_memory_equal(e->dst, t->fl.dst, 16);
	assert_int_equal(e->sport, t->fl.sport);
	assert_int_equal(e->dport, t->fl.dport);
	assert_int_equal(e->proto, t->fl.proto);
	assert_int_equal(e->host, t->fl.host);
	assert_int_equal(e->flow_id, t->fl.flow_id);
	assert_int_equal(e->ts_us, t->fl.now_us);
	assert_true(e->excerpt_len <= SL_EVIDENCE_MAX);
	return e;
}

/* The excerpt is exactly @p s. */
static void
expect_excerpt(const struct sl_event *e, const void *s, size_t n)
{
	assert_int_equal(e->excerpt_len, n);
	assert_memory_equal(e->excerpt, s, n);
}

/* The excerpt is the (at most SL_EVIDENCE_MAX) bytes of @p stream before the match end. */
static void
expect_tail_excerpt(const struct sl_event *e, const void *stream)
{
	size_t n = e->offset < SL_EVIDENCE_MAX ? e->offset : SL_EVIDENCE_MAX;

	expect_excerpt(e, (const uint8_t *)stream + e->offset - n, n);
}

/* ---- 6a. Stratum v1 ---- */

static const char sub_odd[] =
	"{\"params\" :\t[ \"someminer/1.0\" , null ],\r\n \"id\" : 1 ,\t\"method\"\t:\r\n"
	"  \"mining.subscribe\" }\n";

static void
test_inspect_stratum_subscribe(void **state)
{
	struct ix t;
	uint32_t n = (uint32_t)strlen(sub_odd);
	const struct sl_event *e;

	(void)state;
	ix_init(&t, g_db, 6, 3333);
	feed(&t, 0, sub_odd, 0, n);
	expect_events(&t, 1);
	e = expect_event(&t, 0, SL_DET_stratum_subscribe, 0, end_of(sub_odd, "\"mining.subscribe\""));
	expect_tail_excerpt(e, sub_odd);
	assert_int_equal(t.x.det_count[SL_DET_stratum_subscribe], 1);
	assert_int_equal(t.x.st.inspected_bytes, n);
	assert_int_equal(t.x.st.scans, 1);
	assert_int_equal(t.x.st.scan_errors, 0);
	assert_true((t.st.fired >> SL_DET_stratum_subscribe) & 1);
	assert_int_equal(t.st.app, SL_APP_OTHER);
	ix_fini(&t);
}

/* Split at every byte: the method is found once, whichever call completes it. */
static void
test_inspect_stratum_split(void **state)
{
	static const char msg[] = "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n";
	uint32_t n = (uint32_t)strlen(msg), at = end_of(msg, "\"mining.subscribe\"");
	char big[1200];
	uint32_t bn, cut, bat;
	struct ix t;

	(void)state;
	for (uint32_t s = 1; s < n; s++) {
		ix_init(&t, g_db, 6, 3333);
		feed(&t, 0, msg, 0, s);
		if (s < at)
			expect_events(&t, 0);
		feed(&t, 0, msg, s, n);
		expect_events(&t, 1);
		expect_event(&t, 0, SL_DET_stratum_subscribe, 0, at);
		ix_fini(&t);
	}
	/* far into the stream (past the rescan overlap): split inside "mining.subscribe" */
	bn = (uint32_t)snprintf(big, sizeof(big), "{\"id\":1,\"params\":[\"%0*d\"],"
		"\"method\":\"mining.subscribe\"}\n", 1000, 7);
	bat = end_of(big, "\"mining.subscribe\"");
	cut = end_of(big, "\"mining.sub");
	ix_init(&t, g_db, 6, 3333);
	feed(&t, 0, big, 0, cut);
	expect_events(&t, 0);
	feed(&t, 0, big, cut, bn);
	expect_events(&t, 1);
	expect_event(&t, 0, SL_DET_stratum_subscribe, 0, bat);
	ix_fini(&t);
}

/* Each detector fires at most once per flow, however often its pattern appears. */
static void
test_inspect_once_per_flow(void **state)
{
	static const char sub[] = "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n";
	static const char auth[] = "{\"id\":2,\"method\":\"mining.authorize\","
				   "\"params\":[\"wallet.rig\",\"x\"]}\n";
	char buf[1024];
	uint32_t n = 0, s1, a1;
	struct ix t;

	(void)state;
	ix_init(&t, g_db, 6, 3333);
	n += (uint32_t)sprintf(buf + n, "%s%s", sub, sub); /* twice in one call */
	s1 = end_of(buf, "\"mining.subscribe\"");
	feed(&t, 0, buf, 0, n);
	expect_events(&t, 1);
	n += (uint32_t)sprintf(buf + n, "%s", sub);
	feed(&t, 0, buf, n - (uint32_t)strlen(sub), n);
	expect_events(&t, 1);
	a1 = n + end_of(auth, "\"mining.authorize\"");
	n += (uint32_t)sprintf(buf + n, "%s%s%s", auth, sub, auth);
	feed(&t, 0, buf, n - (uint32_t)(2 * strlen(auth) + strlen(sub)), n);
	expect_events(&t, 2);
	expect_event(&t, 0, SL_DET_stratum_subscribe, 0, s1);
	expect_event(&t, 1, SL_DET_stratum_authorize, 0, a1);
	/* the other direction is the same flow */
	feed(&t, 1, sub, 0, (uint32_t)strlen(sub));
	expect_events(&t, 2);
	assert_int_equal(t.x.det_count[SL_DET_stratum_subscribe], 1);
	ix_fini(&t);
}

/* A match must end inside the window; the flow table hands over at most WIN bytes. */
static void
test_inspect_window_limit(void **state)
{
	static const char tail[] = "\"],\"id\":1,\"method\":\"mining.subscribe\"}";
	char *big = malloc(WIN + 200);
	uint32_t pad, end;
	struct ix t;

	(void)state;
	assert_non_null(big);
	/* the closing quote would be byte 2049 (end offset 2049): never seen */
	for (int shorter = 0; shorter <= 1; shorter++) {
		pad = WIN + 1 - (uint32_t)strlen("{\"params\":[\"") -
		      end_of(tail, "\"mining.subscribe\"") - (uint32_t)shorter;
		sprintf(big, "{\"params\":[\"%0*d%s", (int)pad, 0, tail);
		end = end_of(big, "\"mining.subscribe\"");
		assert_int_equal(end, WIN + 1 - (uint32_t)shorter);
		ix_init(&t, g_db, 6, 3333);
		feed_steps(&t, 0, big, WIN, 500);
		assert_int_equal(t.x.st.inspected_bytes, WIN);
		if (shorter == 0) {
			expect_events(&t, 0);
		} else { /* ending exactly at the window's last byte: found */
			expect_events(&t, 1);
			expect_event(&t, 0, SL_DET_stratum_subscribe, 0, WIN);
		}
		ix_fini(&t);
	}
	free(big);
}

/* ---- 6b. XMRig / CryptoNote, eth-proxy, plain JSON-RPC ---- */

static void
make_wallet(char *w)
{
	static const char b58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

	w[0] = '4';
	for (unsigned int i = 0; i < 94; i++)
		w[1 + i] = b58[(i * 7 + 3) % 58];
	w[95] = '\0';
}

static void
make_hex(char *h, unsigned int n, unsigned int seed)
{
	for (unsigned int i = 0; i < n; i++)
		h[i] = "0123456789abcdef"[(i * 5 + seed) % 16];
	h[n] = '\0';
}

/* Miner software names as real clients send them (with editions), and look-alikes. */
static void
test_inspect_miner_agents(void **state)
{
	static const struct {
		const char *agent;
		bool fires;
	} cases[] = {
		{"XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0", true},
		{"XMRig-NVIDIA/2.14.1 (Windows NT 10.0; Win64; x64) libuv/1.25.0 CUDA/10.0", true},
		{"xmr-stak-rx/1.0.5-rx", true},
		{"cpuminer-gr/1.2.4.1", true},
		{"SRBMiner-MULTI/2.4.6", true},
		{"bmminer/2.0.0", true},
		{"lolMiner/1.76", true},
		{"Mozilla/5.0 (X11; Linux x86_64)", false},
		{"cgminerx/1.0", false},
		{"my-xmrig-fork", false},
	};
	char msg[256];

	(void)state;
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ix t;
		uint32_t n = (uint32_t)snprintf(msg, sizeof(msg),
			"{\"id\":1,\"method\":\"hello\",\"params\":{\"agent\":\"%s\"}}\n",
			cases[i].agent);

		ix_init(&t, g_db, 6, 3333);
		feed(&t, 0, msg, 0, n);
		if (cases[i].fires) {
			expect_events(&t, 1);
			expect_event(&t, 0, SL_DET_miner_agent, 0, (uint32_t)(strchr(msg + 38, '/') - msg) + 2);
		} else {
			expect_events(&t, 0);
		}
		ix_fini(&t);
	}
}

static void
test_inspect_xmrig_session(void **state)
{
	char wallet[96], blob[153], seed[65], result[65];
	char c0[2048], s1[1024];
	uint32_t login_len, c0_len, s1_len;
	const struct sl_event *e;
	struct ix t;

	(void)state;
	make_wallet(wallet);
	make_hex(blob, 152, 1);
	make_hex(seed, 64, 2);
	make_hex(result, 64, 3);
	login_len = (uint32_t)snprintf(c0, sizeof(c0),
		"{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{\"login\":\"%s\","
		"\"pass\":\"x\",\"agent\":\"XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0\","
		"\"algo\":[\"rx/0\",\"cn/r\"]}}\n",
		wallet);
	s1_len = (uint32_t)snprintf(s1, sizeof(s1),
		"{\"id\":1,\"jsonrpc\":\"2.0\",\"error\":null,\"result\":{\"id\":\"a1b2c3\","
		"\"job\":{\"blob\":\"%s\",\"job_id\":\"j1\",\"target\":\"b88d0600\",\"algo\":\"rx/0\","
		"\"height\":3100000,\"seed_hash\":\"%s\"},\"extensions\":[\"algo\",\"nicehash\","
		"\"keepalive\"],\"status\":\"OK\"}}\n",
		blob, seed);
	c0_len = login_len + (uint32_t)snprintf(c0 + login_len, sizeof(c0) - login_len,
		"{\"id\":2,\"jsonrpc\":\"2.0\",\"method\":\"submit\",\"params\":{\"id\":\"a1b2c3\","
		"\"job_id\":\"j1\",\"nonce\":\"2f010000\",\"result\":\"%s\",\"algo\":\"rx/0\"}}\n",
		result);

	ix_init(&t, g_db, 6, 3333);
	/* login: xmr_login once a second optional term (pass) joins the method; the agent */
	feed(&t, 0, c0, 0, login_len);
	expect_events(&t, 2);
	e = expect_event(&t, 0, SL_DET_xmr_login, 0, end_of(c0, "\"pass\":"));
	expect_tail_excerpt(e, c0);
	e = expect_event(&t, 1, SL_DET_miner_agent, 0, end_of(c0, "\"XMRig/6"));
	expect_tail_excerpt(e, c0);
	/* the job from the pool */
	feed(&t, 1, s1, 0, s1_len);
	expect_events(&t, 3);
	e = expect_event(&t, 2, SL_DET_xmr_job, 1, end_of(s1, "\"target\":"));
	expect_tail_excerpt(e, s1);
	/* a share */
	feed(&t, 0, c0, login_len, c0_len);
	expect_events(&t, 4);
	e = expect_event(&t, 3, SL_DET_xmr_submit, 0,
		login_len + end_of(c0 + login_len, "\"nonce\":\"2f010000\""));
	expect_tail_excerpt(e, c0);
	/* the same again: nothing new */
	feed(&t, 1, s1, 0, s1_len);
	expect_events(&t, 4);
	ix_fini(&t);
}

static void
test_inspect_json_negatives(void **state)
{
	static const char *const quiet[] = {
		/* a login with only user and pass: one optional term */
		"{\"method\":\"login\",\"params\":{\"user\":\"bob\",\"pass\":\"pw\"}}\n",
		/* ordinary JSON-RPC 2.0 */
		"{\"jsonrpc\":\"2.0\",\"method\":\"eth_blockNumber\",\"params\":[],\"id\":1}\n",
		/* a submit without the job terms */
		"{\"method\":\"submit\",\"params\":{\"nonce\":\"zz\"}}\n",
		/* a method named like a Stratum one, but not the key "method" */
		"{\"id\":1,\"name\":\"mining.subscribe\",\"x\":\"mining.notify\"}\n",
		/* keys without their value quotes */
		"{\"method\":mining.subscribe}\n",
		/* a miner name without a version */
		"{\"agent\":\"xmrig\"}\n",
	};

	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(quiet); i++) {
		struct ix t;

		ix_init(&t, g_db, 6, 3333);
		feed(&t, 0, quiet[i], 0, (uint32_t)strlen(quiet[i]));
		feed(&t, 1, quiet[i], 0, (uint32_t)strlen(quiet[i]));
		if (t.c.n != 0) {
			dump_events(&t);
			fail_msg("\"%s\": %u events, expected none", quiet[i], t.c.n);
		}
		ix_fini(&t);
	}
}

static void
test_inspect_eth_proxy(void **state)
{
	static const char msg[] = "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"eth_submitLogin\","
				  "\"worker\":\"rig1\",\"params\":"
				  "[\"0x52bc44d5378309ee2abf1539bf71de1b7d7be3b5\",\"x\"]}\n";
	static const char reply[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x10d4f\"}\n";
	struct ix t;

	(void)state;
	ix_init(&t, g_db, 6, 8008);
	feed(&t, 0, msg, 0, (uint32_t)strlen(msg));
	feed(&t, 1, reply, 0, (uint32_t)strlen(reply));
	expect_events(&t, 1);
	expect_event(&t, 0, SL_DET_eth_submit_login, 0, end_of(msg, "\"eth_submitLogin\""));
	ix_fini(&t);
}

/* ---- 6c. DNS, TLS, HTTP/WebSocket ---- */

static void
test_inspect_dns_udp(void **state)
{
	uint8_t buf[1024], q[300];
	char name[100];
	uint32_t n, n2;
	const struct sl_event *e;
	struct ix t;

	(void)state;
	ix_init(&t, g_db, 17, 53);
	n = (uint32_t)dns_query(buf, "XMR-EU1.nanopool.org");
	feed(&t, 0, buf, 0, n);
	expect_events(&t, 1);
	e = expect_event(&t, 0, SL_DET_dns_pool_name, 0, n);
	expect_excerpt(e, "xmr-eu1.nanopool.org", 20);
	assert_int_equal(t.x.st.dns_messages, 1);
	/* a second datagram for a listed name: the detector already fired */
	n2 = n + (uint32_t)dns_query(buf + n, "minexmr.com");
	feed(&t, 0, buf, n, n2);
	expect_events(&t, 1);
	assert_int_equal(t.x.st.dns_messages, 2);
	assert_int_equal(t.x.st.dns_malformed, 0);
	ix_fini(&t);

	/* a name that is not listed; then a malformed one */
	ix_init(&t, g_db, 17, 53);
	n = (uint32_t)dns_query(buf, "www.example.com");
	feed(&t, 0, buf, 0, n);
	memcpy(buf + n, ((const uint8_t[]){0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12}), 14);
	feed(&t, 0, buf, n, n + 14);
	expect_events(&t, 0);
	assert_int_equal(t.x.st.dns_messages, 2);
	assert_int_equal(t.x.st.dns_malformed, 1);
	ix_fini(&t);

	/* the resolver's answer (source port 53) carries the question too: dir 1 */
	ix_init(&t, g_db, 17, 53);
	n = (uint32_t)dns_query(q, "pool.minexmr.com");
	q[2] = 0x81;
	q[3] = 0x80;
	feed(&t, 1, q, 0, n);
	expect_events(&t, 1);
	e = expect_event(&t, 0, SL_DET_dns_pool_name, 1, n);
	expect_excerpt(e, "pool.minexmr.com", 16);
	ix_fini(&t);

	/* a name longer than the excerpt: its last SL_EVIDENCE_MAX bytes */
	ix_init(&t, g_db, 17, 53);
	memset(name, 'a', 60);
	strcpy(name + 60, ".nanopool.org");
	n = (uint32_t)dns_query(q, name);
	feed(&t, 0, q, 0, n);
	expect_events(&t, 1);
	e = expect_event(&t, 0, SL_DET_dns_pool_name, 0, n);
	expect_excerpt(e, name + strlen(name) - SL_EVIDENCE_MAX, SL_EVIDENCE_MAX);
	ix_fini(&t);

	/* not port 53: not parsed as DNS */
	ix_init(&t, g_db, 17, 5353);
	n = (uint32_t)dns_query(q, "xmr.nanopool.org");
	feed(&t, 0, q, 0, n);
	expect_events(&t, 0);
	assert_int_equal(t.x.st.dns_messages, 0);
	ix_fini(&t);
}

static void
test_inspect_dns_tcp(void **state)
{
	uint8_t buf[600];
	uint32_t n, n2;
	const struct sl_event *e;
	struct ix t;

	(void)state;
	ix_init(&t, g_db, 6, 53);
	n = (uint32_t)dns_query(buf + 2, "www.example.org");
	put16(buf, (uint16_t)n);
	n2 = 2 + n + 2 + (uint32_t)dns_query(buf + 2 + n + 2, "xmr.NANOPOOL.org");
	put16(buf + 2 + n, (uint16_t)(n2 - n - 4));
	feed(&t, 0, buf, 0, 9);      /* too little to classify */
	feed(&t, 0, buf, 9, n + 10); /* the first message and part of the second */
	expect_events(&t, 0);
	assert_int_equal(t.st.app, SL_APP_DNS);
	assert_int_equal(t.x.st.dns_messages, 1);
	feed(&t, 0, buf, n + 10, n2);
	expect_events(&t, 1);
	e = expect_event(&t, 0, SL_DET_dns_pool_name, 0, n2);
	expect_excerpt(e, "xmr.nanopool.org", 16);
	assert_int_equal(t.x.st.dns_messages, 2);
	ix_fini(&t);
}

static void
test_inspect_tls(void **state)
{
	struct ch_opts o = {.sni = "Pool.MineXMR.com", .sni_last = true};
	uint8_t rec[1200];
	uint32_t n = (uint32_t)client_hello(rec, &o, NULL);
	const struct sl_event *e;
	struct ix t;

	(void)state;
	ix_init(&t, g_db, 6, 443);
	feed(&t, 0, rec, 0, 5);
	feed(&t, 0, rec, 5, 120);
	expect_events(&t, 0);
	assert_int_equal(t.st.app, SL_APP_TLS);
	assert_int_equal(t.x.st.tls_client_hellos, 0);
	feed(&t, 0, rec, 120, n);
	expect_events(&t, 1);
	e = expect_event(&t, 0, SL_DET_tls_sni_pool, 0, n);
	expect_excerpt(e, "pool.minexmr.com", 16);
	assert_int_equal(t.x.st.tls_client_hellos, 1);
	assert_int_equal(t.x.st.tls_no_sni, 0);
	/* the rest is ciphertext; the server's side too */
	memset(rec + n, 0x17, 100);
	feed(&t, 0, rec, n, n + 100);
	feed(&t, 1, rec, 0, n);
	expect_events(&t, 1);
	assert_int_equal(t.x.st.tls_client_hellos, 1);
	ix_fini(&t);

	/* a hello larger than the window: counted as incomplete once the window is full */
	{
		uint8_t *big = calloc(1, WIN);

		assert_non_null(big);
		memcpy(big, ((const uint8_t[]){0x16, 0x03, 0x01, 0x0b, 0xb8, 0x01, 0x00, 0x0b, 0xb4}), 9);
		ix_init(&t, g_db, 6, 443);
		feed_steps(&t, 0, big, WIN, 1000);
		expect_events(&t, 0);
		assert_int_equal(t.x.st.tls_incomplete, 1);
		assert_int_equal(t.x.st.tls_client_hellos, 0);
		assert_true(t.st.flags & SL_MS_TLS_DONE);
		ix_fini(&t);
		free(big);
	}

	/* no SNI; an unlisted SNI; a hello split across records */
	ix_init(&t, g_db, 6, 443);
	n = (uint32_t)client_hello(rec, &(struct ch_opts){.sni = NULL}, NULL);
	feed(&t, 0, rec, 0, n);
	expect_events(&t, 0);
	assert_int_equal(t.x.st.tls_client_hellos, 1);
	assert_int_equal(t.x.st.tls_no_sni, 1);
	ix_fini(&t);
	ix_init(&t, g_db, 6, 443);
	n = (uint32_t)client_hello(rec, &(struct ch_opts){.sni = "www.example.com"}, NULL);
	feed(&t, 0, rec, 0, n);
	expect_events(&t, 0);
	assert_int_equal(t.x.st.tls_client_hellos, 1);
	ix_fini(&t);
	{
		uint8_t hs[1024];
		size_t hsl = build_hs(hs, &(struct ch_opts){.sni = "xmr.nanopool.org"});
		size_t cuts[] = {50};

		ix_init(&t, g_db, 6, 443);
		n = (uint32_t)wrap_records(rec, hs, hsl, cuts, 1);
		feed(&t, 0, rec, 0, 60);
		feed(&t, 0, rec, 60, n);
		expect_events(&t, 1);
		e = expect_event(&t, 0, SL_DET_tls_sni_pool, 0, n);
		expect_excerpt(e, "xmr.nanopool.org", 16);
		ix_fini(&t);
	}
}

static const char ws_req[] = "GET /proxy HTTP/1.1\r\nHost: ws.nanopool.org:8443\r\n"
			     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
			     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			     "Sec-WebSocket-Version: 13\r\n\r\n";
static const char ws_101[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			     "Connection: Upgrade\r\n"
			     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
static const char ws_auth[] = "{\"type\":\"auth\",\"params\":{\"site_key\":\"abc\"}}";

/* A client frame (masked) of @p n payload bytes. @return frame bytes. */
static size_t
ws_client_frame_n(uint8_t *out, uint8_t b0, const void *payload, size_t n)
{
	static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
	size_t h = 2;

	assert_true(n < 65536);
	out[0] = b0;
	if (n < 126) {
		out[1] = (uint8_t)(0x80 | n);
	} else {
		out[1] = 0x80 | 126;
		put16(out + 2, (uint16_t)n);
		h = 4;
	}
	memcpy(out + h, mask, 4);
	sl_ws_unmask(out + h + 4, payload, n, mask, 0);
	return h + 4 + n;
}

static size_t
ws_client_frame(uint8_t *out, uint8_t b0, const char *payload)
{
	return ws_client_frame_n(out, b0, payload, strlen(payload));
}

static void
test_inspect_websocket(void **state)
{
	static const char job[] = "{\"type\":\"job\",\"params\":{\"job_id\":\"b1\",\"blob\":\"0707\","
				  "\"target\":\"ffff0000\"}}";
	uint8_t c0[1024], s1[1024];
	uint32_t hl = (uint32_t)strlen(ws_req), rl = (uint32_t)strlen(ws_101), cn, sn;
	const struct sl_event *e;
	struct ix t;

	(void)state;
	memcpy(c0, ws_req, hl);
	cn = hl + (uint32_t)ws_client_frame(c0 + hl, 0x81, ws_auth);
	/* the server's 101 and, in the same segment, an unmasked text frame */
	memcpy(s1, ws_101, rl);
	s1[rl] = 0x81;
	s1[rl + 1] = (uint8_t)strlen(job);
	memcpy(s1 + rl + 2, job, strlen(job));
	sn = rl + 2 + (uint32_t)strlen(job);

	ix_init(&t, g_db, 6, 8443);
	feed(&t, 0, c0, 0, 30); /* the request head in two pieces */
	expect_events(&t, 0);
	assert_int_equal(t.st.app, SL_APP_HTTP);
	feed(&t, 0, c0, 30, hl);
	expect_events(&t, 2);
	e = expect_event(&t, 0, SL_DET_http_host_pool, 0, hl);
	expect_excerpt(e, "ws.nanopool.org", 15);
	e = expect_event(&t, 1, SL_DET_ws_pool_upgrade, 0, hl);
	expect_excerpt(e, "ws.nanopool.org", 15);
	assert_int_equal(t.x.st.http_requests, 1);

	feed(&t, 1, s1, 0, sn);
	assert_int_equal(t.st.app, SL_APP_WS);
	assert_int_equal(t.x.st.ws_sessions, 1);
	expect_events(&t, 3);
	e = expect_event(&t, 2, SL_DET_ws_miner_job, 1, rl + 2 + end_of(job, "\"blob\":"));
	/* evidence from a frame is its payload only, not the 101 head before it */
	expect_excerpt(e, job, end_of(job, "\"blob\":"));

	/* the client's masked frame, header first */
	feed(&t, 0, c0, hl, hl + 4);
	expect_events(&t, 3);
	feed(&t, 0, c0, hl + 4, cn);
	expect_events(&t, 4);
	e = expect_event(&t, 3, SL_DET_ws_miner_auth, 0, hl + 6 + end_of(ws_auth, "\"site_key\":"));
	/* the evidence is the unmasked text */
	expect_excerpt(e, ws_auth, end_of(ws_auth, "\"site_key\":"));
	assert_int_equal(t.x.st.ws_frames, 2);
	assert_int_equal(t.x.st.ws_compressed, 0);
	ix_fini(&t);
}

static void
test_inspect_websocket_rsv1(void **state)
{
	uint8_t c0[1024];
	uint32_t hl = (uint32_t)strlen(ws_req), cn;
	struct ix t;

	(void)state;
	memcpy(c0, ws_req, hl);
	cn = hl + (uint32_t)ws_client_frame(c0 + hl, 0xc1, ws_auth); /* FIN, RSV1, text */
	ix_init(&t, g_db, 6, 8443);
	feed(&t, 0, c0, 0, hl);
	feed(&t, 1, ws_101, 0, (uint32_t)strlen(ws_101));
	feed(&t, 0, c0, hl, cn);
	expect_events(&t, 2);
	expect_event(&t, 0, SL_DET_http_host_pool, 0, hl);
	expect_event(&t, 1, SL_DET_ws_pool_upgrade, 0, hl);
	assert_int_equal(t.x.det_count[SL_DET_ws_miner_auth], 0);
	assert_int_equal(t.x.st.ws_compressed, 1);
	assert_int_equal(t.x.st.ws_frames, 0);
	ix_fini(&t);
}

/* A frame longer than the window: inspected once the window is full, as far as it goes. */
static void
test_inspect_websocket_truncated(void **state)
{
	uint8_t *c0 = malloc(WIN + 4096), pay[3000];
	uint32_t hl = (uint32_t)strlen(ws_req);
	struct ix t;

	(void)state;
	assert_non_null(c0);
	memset(pay, ' ', sizeof(pay));
	memcpy(pay, ws_auth, strlen(ws_auth));
	memcpy(c0, ws_req, hl);
	ws_client_frame_n(c0 + hl, 0x81, pay, sizeof(pay));
	assert_int_equal(c0[hl + 1], 0x80 | 126);
	ix_init(&t, g_db, 6, 8443);
	feed(&t, 0, c0, 0, hl);
	feed(&t, 1, ws_101, 0, (uint32_t)strlen(ws_101));
	feed(&t, 0, c0, hl, 1000);
	feed(&t, 0, c0, 1000, WIN - 1); /* still waiting for the rest of the frame */
	expect_events(&t, 2);
	assert_int_equal(t.x.st.ws_frames, 0);
	feed(&t, 0, c0, WIN - 1, WIN); /* the window is full: what is there is inspected */
	expect_events(&t, 3);
	expect_event(&t, 2, SL_DET_ws_miner_auth, 0, hl + 8 + end_of(ws_auth, "\"site_key\":"));
	assert_int_equal(t.x.st.ws_frames, 1);
	assert_int_equal(t.x.st.ws_truncated, 1);
	ix_fini(&t);
	free(c0);
}

static void
test_inspect_http_plain(void **state)
{
	static const char req[] = "POST / HTTP/1.1\r\nHost: solo.minexmr.com\r\n"
				  "User-Agent: cpuminer/2.5.1\r\nContent-Type: application/json\r\n"
				  "Content-Length: 46\r\n\r\n"
				  "{\"method\":\"getwork\",\"params\":[],\"id\":0}";
	static const char nolist[] = "GET / HTTP/1.1\r\nHost: www.example.com\r\n"
				     "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
	uint32_t head = end_of(req, "\r\n\r\n");
	struct ix t;

	(void)state;
	ix_init(&t, g_db, 6, 80);
	feed(&t, 0, req, 0, (uint32_t)strlen(req));
	expect_events(&t, 3);
	expect_event(&t, 0, SL_DET_http_host_pool, 0, head);
	expect_event(&t, 1, SL_DET_http_miner_ua, 0, end_of(req, "cpuminer/"));
	expect_event(&t, 2, SL_DET_http_getwork, 0, end_of(req, "\"getwork\""));
	ix_fini(&t);

	/* a request head larger than the window: counted, given up */
	{
		char *big = malloc(WIN + 1);
		static const char start[] = "GET / HTTP/1.1\r\nHost: xmr.nanopool.org\r\nX-Pad: ";

		assert_non_null(big);
		memset(big, 'a', WIN);
		memcpy(big, start, strlen(start));
		ix_init(&t, g_db, 6, 80);
		feed_steps(&t, 0, big, WIN, 700);
		expect_events(&t, 0);
		assert_int_equal(t.x.st.http_incomplete, 1);
		assert_int_equal(t.x.st.http_requests, 0);
		assert_true(t.st.flags & SL_MS_REQ_DONE);
		ix_fini(&t);
		free(big);
	}

	/* an upgrade to a host that is not listed: followed, but no pool events */
	ix_init(&t, g_db, 6, 80);
	feed(&t, 0, nolist, 0, (uint32_t)strlen(nolist));
	feed(&t, 1, ws_101, 0, (uint32_t)strlen(ws_101));
	expect_events(&t, 0);
	assert_int_equal(t.st.app, SL_APP_WS);
	assert_int_equal(t.x.st.ws_sessions, 1);
	ix_fini(&t);
}

/* ---- 6d. Stratum V2 ---- */

/* SetupConnection (mining, versions 2..2) as the client's first frame. @return bytes. */
static size_t
sv2_setup_frame(uint8_t *p)
{
	static const char *const strs[] = {"pool.example", "Bitmain", "S19", "braiins-os-23.08",
		"rig-0001"};
	size_t n = 6;

	p[n++] = 0;    /* protocol: mining */
	p[n++] = 2;    /* min_version */
	p[n++] = 0;
	p[n++] = 2;    /* max_version */
	p[n++] = 0;
	memcpy(p + n, ((const uint8_t[]){0x01, 0, 0, 0}), 4); /* flags */
	n += 4;
	for (unsigned int i = 0; i < RTE_DIM(strs); i++) {
		size_t l = strlen(strs[i]);

		p[n++] = (uint8_t)l; /* STR0_255 */
		memcpy(p + n, strs[i], l);
		n += l;
		if (i == 0) { /* endpoint_port u16 LE after the host */
			p[n++] = 0x05;
			p[n++] = 0x0d;
		}
	}
	p[0] = 0x00;
	p[1] = 0x00;
	p[2] = 0x00;
	put_le24(p + 3, (uint32_t)(n - 6));
	return n;
}

/* A frame with extension type @p ext, message type @p type and @p len payload bytes. */
static size_t
sv2_frame(uint8_t *p, uint16_t ext, uint8_t type, uint32_t len)
{
	p[0] = (uint8_t)ext;
	p[1] = (uint8_t)(ext >> 8);
	p[2] = type;
	put_le24(p + 3, len);
	for (uint32_t i = 0; i < len; i++)
		p[6 + i] = (uint8_t)(i * 3 + 1);
	return 6 + len;
}

static void
test_inspect_sv2(void **state)
{
	uint8_t c0[256], s1[256];
	uint32_t cn = (uint32_t)sv2_setup_frame(c0), sn;
	const struct sl_event *e;
	struct ix t;

	(void)state;
	assert_int_equal(c0[6], 0);
	assert_memory_equal(c0 + 7, ((const uint8_t[]){2, 0, 2, 0}), 4);
	/* SetupConnection.Success (12 bytes), then NewMiningJob on a channel */
	sn = (uint32_t)sv2_frame(s1, 0x0000, 0x01, 6);
	sn += (uint32_t)sv2_frame(s1 + sn, 0x8000, 0x15, 49);
	assert_memory_equal(s1 + 12, ((const uint8_t[]){0x00, 0x80, 0x15, 49, 0, 0}), 6);
	sn += (uint32_t)sv2_frame(s1 + sn, 0x8000, 0x15, 49); /* another job */

	ix_init(&t, g_db, 6, 3336);
	feed(&t, 0, c0, 0, 8);
	feed(&t, 0, c0, 8, cn);
	expect_events(&t, 1);
	e = expect_event(&t, 0, SL_DET_sv2_setup, 0, 11);
	expect_excerpt(e, c0, 11);
	assert_int_equal(t.st.app, SL_APP_SV2);
	assert_int_equal(t.x.st.sv2_frames, 1);
	feed(&t, 1, s1, 0, 12);
	expect_events(&t, 1);
	feed(&t, 1, s1, 12, 40); /* the job frame is not complete */
	expect_events(&t, 1);
	feed(&t, 1, s1, 40, sn);
	expect_events(&t, 2);
	e = expect_event(&t, 1, SL_DET_sv2_mining, 1, 18);
	expect_excerpt(e, s1 + 12, 55);
	assert_int_equal(t.x.st.sv2_frames, 4);
	ix_fini(&t);

	/* the same message type without the channel bit is not a mining message */
	sn = (uint32_t)sv2_frame(s1, 0x0000, 0x01, 6);
	sn += (uint32_t)sv2_frame(s1 + sn, 0x0000, 0x15, 49);
	assert_memory_equal(s1 + 12, ((const uint8_t[]){0x00, 0x00, 0x15}), 3);
	ix_init(&t, g_db, 6, 3336);
	feed(&t, 0, c0, 0, cn);
	feed(&t, 1, s1, 0, sn);
	expect_events(&t, 1);
	expect_event(&t, 0, SL_DET_sv2_setup, 0, 11);
	assert_int_equal(t.x.det_count[SL_DET_sv2_mining], 0);
	assert_int_equal(t.x.st.sv2_frames, 3);
	ix_fini(&t);

	/* a client mining message (OpenStandardMiningChannel, no channel bit) counts */
	cn += (uint32_t)sv2_frame(c0 + cn, 0x0000, 0x10, 20);
	ix_init(&t, g_db, 6, 3336);
	feed(&t, 0, c0, 0, cn);
	expect_events(&t, 2);
	expect_event(&t, 0, SL_DET_sv2_setup, 0, 11);
	expect_event(&t, 1, SL_DET_sv2_mining, 0, cn - 20);
	ix_fini(&t);

	/* protocol 1 (job declaration) or other versions: not classified as SV2 mining */
	for (int v = 0; v < 3; v++) {
		cn = (uint32_t)sv2_setup_frame(c0);
		c0[6 + v * 2] = (uint8_t)(v == 0 ? 1 : 3);
		ix_init(&t, g_db, 6, 3336);
		feed(&t, 0, c0, 0, cn);
		expect_events(&t, 0);
		assert_int_equal(t.st.app, SL_APP_OTHER);
		ix_fini(&t);
	}
}

/* ---- 6e. The Noise handshake shape ---- */

static void
noise_case(const uint8_t *client, uint32_t server_len, uint32_t step, bool fires)
{
	uint8_t srv[300];
	struct ix t;

	for (unsigned int i = 0; i < sizeof(srv); i++)
		srv[i] = (uint8_t)(i * 91 + 7);
	ix_init(&t, g_db, 6, 34254);
	feed(&t, 0, client, 0, 64);
	assert_int_equal(t.st.app, SL_APP_OTHER);
	t.fl.other = client;
	t.fl.other_len = 64;
	feed_steps(&t, 1, srv, server_len, step);
	if (fires) {
		const struct sl_event *e;

		expect_events(&t, 1);
		e = expect_event(&t, 0, SL_DET_sv2_noise, 1, 234);
		assert_true(e->excerpt_len > 0); /* the shape, in words */
	} else {
		expect_events(&t, 0);
	}
	ix_fini(&t);
}

static void
test_inspect_noise(void **state)
{
	uint8_t rnd[64], txt[64];

	(void)state;
	for (unsigned int i = 0; i < 64; i++) {
		rnd[i] = (uint8_t)(i * 37 + 11); /* 64 distinct values, about a third printable */
		txt[i] = (uint8_t)(0x21 + (i * 7) % 94); /* 64 distinct printable values */
	}
	noise_case(rnd, 234, 234, true);
	noise_case(rnd, 234, 100, true); /* reaching exactly 234 in steps */
	noise_case(rnd, 233, 233, false);
	noise_case(rnd, 235, 235, false);
	noise_case(rnd, 300, 100, false); /* steps 100, 200, 300: never exactly 234 */
	noise_case(txt, 234, 234, false);
}

/* ---- 6f. Pool addresses at flow start ---- */

static void
test_inspect_pool_ip(void **state)
{
	uint8_t other[16];
	const struct sl_event *e;
	struct ix t;

	(void)state;
	ix_init(&t, g_db, 6, 3333);
	addr16("203.0.113.50", t.dst);
	sl_match_flow_start(&t.x, g_db, &t.fl);
	expect_events(&t, 1);
	e = expect_event(&t, 0, SL_DET_pool_ip, 0, 0);
	expect_excerpt(e, "203.0.113.50", 12);
	ix_fini(&t);

	/* the listed end is the initiator */
	ix_init(&t, g_db, 17, 3333);
	addr16("203.0.113.1", t.src);
	sl_match_flow_start(&t.x, g_db, &t.fl);
	expect_events(&t, 1);
	e = expect_event(&t, 0, SL_DET_pool_ip, 0, 0);
	expect_excerpt(e, "203.0.113.1", 11);
	ix_fini(&t);

	/* IPv6 */
	ix_init(&t, g_db, 6, 3333);
	addr16("2001:db8::5", t.src);
	addr16("2001:db8:bad::1", t.dst);
	sl_match_flow_start(&t.x, g_db, &t.fl);
	expect_events(&t, 1);
	e = expect_event(&t, 0, SL_DET_pool_ip, 0, 0);
	expect_excerpt(e, "2001:db8:bad::1", 15);
	ix_fini(&t);

	/* neither end listed */
	ix_init(&t, g_db, 6, 3333);
	addr16("203.0.114.0", other);
	memcpy(t.dst, other, 16);
	sl_match_flow_start(&t.x, g_db, &t.fl);
	expect_events(&t, 0);
	ix_fini(&t);
}

/* ---- 6g. Disabled detectors, missing state, counters ---- */

static void
test_inspect_disabled(void **state)
{
	static const char sub[] = "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n"
				  "{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"w\",\"x\"]}\n"
				  "{\"type\":\"auth\",\"params\":{\"site_key\":\"abc\"}}\n";
	struct lists l;
	char err[ERRLEN];
	struct sl_match_db *db = build_lists(&l, G_DOMAINS, G_IPS,
		"stratum_subscribe off\npool_ip off\nws_miner_auth off\n", err);
	struct ix t;

	(void)state;
	lists_remove(&l);
	if (db == NULL)
		fail_msg("build: %s", err);
	/* enabled everywhere, the same bytes fire three detectors */
	ix_init(&t, g_db, 6, 3333);
	feed(&t, 0, sub, 0, (uint32_t)strlen(sub));
	expect_events(&t, 3);
	expect_event(&t, 0, SL_DET_stratum_subscribe, 0, end_of(sub, "\"mining.subscribe\""));
	expect_event(&t, 1, SL_DET_stratum_authorize, 0, end_of(sub, "\"mining.authorize\""));
	expect_event(&t, 2, SL_DET_ws_miner_auth, 0, end_of(sub, "\"site_key\":"));
	ix_fini(&t);

	ix_init(&t, db, 6, 3333);
	addr16("203.0.113.50", t.dst);
	sl_match_flow_start(&t.x, db, &t.fl);
	feed_steps(&t, 0, sub, (uint32_t)strlen(sub), 7);
	expect_events(&t, 1);
	expect_event(&t, 0, SL_DET_stratum_authorize, 0, end_of(sub, "\"mining.authorize\""));
	assert_int_equal(t.x.det_count[SL_DET_stratum_subscribe], 0);
	assert_int_equal(t.x.det_count[SL_DET_pool_ip], 0);
	assert_int_equal(t.x.det_count[SL_DET_ws_miner_auth], 0);
	ix_fini(&t);
	sl_match_db_free(db);
}

static int
lose(void *arg, const struct sl_event *ev)
{
	(void)arg;
	(void)ev;
	return -1;
}

static void
test_inspect_state_and_counters(void **state)
{
	static const char sub[] = "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n";
	uint32_t n = (uint32_t)strlen(sub);
	struct ix t;

	(void)state;
	/* no per-flow state: counted, nothing inspected */
	ix_init(&t, g_db, 6, 3333);
	sl_match_inspect(&t.x, g_db, NULL, &t.fl, 0, (const uint8_t *)sub, 0, n);
	assert_int_equal(t.x.st.no_state, 1);
	assert_int_equal(t.x.st.inspected_bytes, 0);
	assert_int_equal(t.x.st.scans, 0);
	expect_events(&t, 0);
	ix_fini(&t);

	/* a lost event is counted as produced and as lost */
	ix_init(&t, g_db, 6, 3333);
	t.x.emit = lose;
	feed(&t, 0, sub, 0, n);
	assert_int_equal(t.x.st.events, 1);
	assert_int_equal(t.x.st.events_lost, 1);
	assert_int_equal(t.x.det_count[SL_DET_stratum_subscribe], 1);
	ix_fini(&t);

	/* no emit function: still counted */
	ix_init(&t, g_db, 6, 3333);
	t.x.emit = NULL;
	feed(&t, 0, sub, 0, n);
	assert_int_equal(t.x.st.events, 1);
	assert_int_equal(t.x.st.events_lost, 0);
	ix_fini(&t);

	/* a worker index without a scratch space: a scan error, no crash */
	ix_init(&t, g_db, 6, 3333);
	t.x.worker = 1;
	feed(&t, 0, sub, 0, n);
	assert_int_equal(t.x.st.scan_errors, 1);
	assert_int_equal(t.x.st.scans, 0);
	expect_events(&t, 0);
	ix_fini(&t);

	/* scanned bytes: the new bytes plus the overlap rescanned before them */
	ix_init(&t, g_db, 6, 3333);
	feed(&t, 0, sub, 0, 20);
	feed(&t, 0, sub, 20, n);
	assert_int_equal(t.x.st.scans, 2);
	assert_int_equal(t.x.st.scanned_bytes, 20 + n); /* 20 < overlap: all rescanned */
	assert_int_equal(t.x.st.inspected_bytes, n);
	assert_int_equal(t.st.scanned[0], n);
	ix_fini(&t);
}

/*
 * Regression (classify, fixed): "p[0] == 0x16 && p[1] == 0x03 && p[2] <= 0x04" reads
 * up to 3 bytes, but classify() also runs when len < 11 because the window is full
 * (len >= window), and payload_bytes may be configured as small as 1 (sl_cfg.h: 0..65536).
 * With a window of 2 and a client buffer of 16 03, p[2] is read past the buffer (in the flow
 * table, the other direction's or the next flow's bytes), so the flow's classification
 * depends on bytes outside it: TLS if that byte is <= 4, OTHER if not. This test hands over
 * a 3-byte allocation but new_len 2 (so no sanitizer report) and varies only the third byte.
 * Expected: the same classification both times. Actual: SL_APP_TLS vs SL_APP_OTHER.
 */
static void
test_inspect_tiny_window(void **state)
{
	uint8_t app[2];

	(void)state;
	for (int i = 0; i < 2; i++) {
		uint8_t buf[3] = {0x16, 0x03, (uint8_t)(i == 0 ? 0x03 : 0x99)};
		struct ix t;

		ix_init(&t, g_db, 6, 443);
		t.x.window = 2;
		sl_match_inspect(&t.x, g_db, &t.st, &t.fl, 0, buf, 0, 2);
		app[i] = t.st.app;
		ix_fini(&t);
	}
	if (app[0] != app[1])
		fail_msg("2-byte window: classified %u or %u depending on the byte after the buffer",
			app[0], app[1]);
}

/*
 * The readable tail sl_match_inspect() asks for (SL_MATCH_SCAN_PAD, sl_match.h). Hyperscan's
 * AVX512VBMI literal matcher loads a whole vector that may run up to 64 bytes past the end
 * of what it is given: with the buffer's last byte just before an unmapped page, that
 * load faults (fuzz_inspect found it: a SEGV inside hs_scan on the UDP path, where the flow
 * table's payload ended at the end of its mapping). Here every payload length ends exactly
 * SL_MATCH_SCAN_PAD bytes before a PROT_NONE page, and so does the work buffer's window:
 * inspection must neither fault nor read the pad's bytes into a verdict.
 */
static void
test_inspect_scan_pad(void **state)
{
	static const char txt[] =
		"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"xmrig/6.21\"]}\n"
		"{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"wallet.rig\",\"x\"]}\n"
		"\x16\x03\x01\x00\x20\x01\x00\x00\x1c\x03\x03 pool.minexmr.com stratum+tcp://";
	long pg = sysconf(_SC_PAGESIZE);
	size_t span = (size_t)pg * 4;
	uint8_t *map;
	uint8_t *wmap;
	uint32_t tl = (uint32_t)sizeof(txt) - 1;

	(void)state;
	map = mmap(NULL, span * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	wmap = mmap(NULL, span * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED && wmap != MAP_FAILED);
	assert_int_equal(mprotect(map + span, span, PROT_NONE), 0);
	assert_int_equal(mprotect(wmap + span, span, PROT_NONE), 0);
	for (int proto = 0; proto < 2; proto++) {
		for (uint32_t len = 1; len <= WIN && len <= tl; len++) {
			uint8_t *buf = map + span - SL_MATCH_SCAN_PAD - len;
			struct ix t;

			memcpy(buf, txt + tl - len, len);
			memset(map + span - SL_MATCH_SCAN_PAD, 0xa5, SL_MATCH_SCAN_PAD);
			ix_init(&t, g_db, proto == 0 ? 17 : 6, proto == 0 ? 3333 : 443);
			free(t.x.work);
			t.x.work = wmap + span - SL_MATCH_SCAN_PAD - WIN;
			sl_match_inspect(&t.x, g_db, &t.st, &t.fl, 0, buf, 0, len);
			sl_match_inspect(&t.x, g_db, &t.st, &t.fl, 1, buf, 0, len);
			assert_int_equal(t.x.st.scan_errors, 0);
			assert_true(t.st.scanned[0] <= len);
			t.x.work = NULL;
		}
	}
	munmap(map, span * 2);
	munmap(wmap, span * 2);
}

/* ==== 7. Publication and reload (RCU) ==== */

static struct sl_match *
create(const char *dom, const char *ips, unsigned int nworkers, char *err)
{
	struct sl_match_conf c;

	memset(&c, 0, sizeof(c));
	c.domains_path = dom;
	c.ips_path = ips;
	c.detectors_path = NULL;
	c.nworkers = nworkers;
	c.socket = SOCKET_ID_ANY;
	err[0] = '\0';
	return sl_match_create(&c, err, ERRLEN);
}

static void
test_reload_generation(void **state)
{
	char dom[64], ips[64], err[ERRLEN];
	struct sl_match *m;
	const struct sl_match_db *db1, *db2;
	uint32_t nd, nr, ndet, np;

	(void)state;
	write_tmp(dom, "nanopool.org\n");
	write_tmp(ips, "203.0.113.0/24\n");
	m = create(dom, ips, 1, err);
	if (m == NULL)
		fail_msg("create: %s", err);
	db1 = sl_match_current(m);
	assert_non_null(db1);
	assert_ptr_equal(sl_match_acquire(m), db1);
	assert_int_equal(sl_match_db_generation(db1), 1);
	sl_match_db_sizes(db1, &nd, &nr, &ndet, &np);
	assert_int_equal(nd, 1);
	assert_int_equal(nr, 1);
	assert_false(pool_name(db1, "minexmr.com"));

	rewrite(dom, "nanopool.org\nminexmr.com\n");
	assert_int_equal(sl_match_reload(m, err, ERRLEN), 0);
	db2 = sl_match_current(m);
	assert_true(db2 != db1);
	assert_ptr_equal(sl_match_acquire(m), db2);
	assert_int_equal(sl_match_db_generation(db2), 2);
	sl_match_db_sizes(db2, &nd, &nr, &ndet, &np);
	assert_int_equal(nd, 2);
	assert_true(pool_name(db2, "minexmr.com"));
	/* the worker is registered but offline: nothing holds the old object back */
	assert_int_equal(sl_match_reload(m, err, ERRLEN), 0);
	assert_int_equal(sl_match_db_generation(sl_match_current(m)), 3);
	sl_match_reclaim(m);
	sl_match_free(m);
	unlink(dom);
	unlink(ips);

	/* no lists at all */
	m = create(NULL, NULL, 0, err);
	if (m == NULL)
		fail_msg("create: %s", err);
	assert_int_equal(sl_match_db_generation(sl_match_current(m)), 1);
	assert_int_equal(sl_match_reload(m, err, ERRLEN), 0);
	assert_int_equal(sl_match_db_generation(sl_match_current(m)), 2);
	sl_match_free(m);
}

static void
test_reload_broken_list(void **state)
{
	char dom[64], ips[64], err[ERRLEN];
	struct sl_match *m;
	const struct sl_match_db *db1;

	(void)state;
	write_tmp(dom, "nanopool.org\n");
	write_tmp(ips, "203.0.113.0/24\n");
	m = create(dom, ips, 1, err);
	if (m == NULL)
		fail_msg("create: %s", err);
	db1 = sl_match_current(m);

	rewrite(dom, "nanopool.org\nbad name!\n");
	assert_int_equal(sl_match_reload(m, err, ERRLEN), -EINVAL);
	expect_err_at(err, dom, 2);
	assert_ptr_equal(sl_match_current(m), db1);
	assert_int_equal(sl_match_db_generation(sl_match_current(m)), 1);
	assert_true(pool_name(sl_match_current(m), "nanopool.org"));

	rewrite(dom, "nanopool.org\n");
	rewrite(ips, "\n10.0.0.0/33\n");
	err[0] = '\0';
	assert_int_equal(sl_match_reload(m, err, ERRLEN), -EINVAL);
	expect_err_at(err, ips, 2);
	assert_ptr_equal(sl_match_current(m), db1);

	unlink(ips);
	err[0] = '\0';
	assert_int_equal(sl_match_reload(m, err, ERRLEN), -ENOENT);
	assert_non_null(strstr(err, ips));
	assert_ptr_equal(sl_match_current(m), db1);

	/* fixed: the next generation (failed reloads use none) */
	rewrite(ips, "203.0.113.0/24\n198.51.100.0/24\n");
	assert_int_equal(sl_match_reload(m, err, ERRLEN), 0);
	assert_int_equal(sl_match_db_generation(sl_match_current(m)), 2);
	assert_true(pool_ip(sl_match_current(m), "198.51.100.1"));
	sl_match_free(m);

	/* a broken list at creation: no holder, the reason in err */
	rewrite(dom, "ok.org\n\n\nnot ok\n");
	m = create(dom, ips, 1, err);
	assert_null(m);
	expect_err_at(err, dom, 4);
	unlink(dom);
	unlink(ips);
	m = create(dom, NULL, 1, err);
	assert_null(m);
	assert_non_null(strstr(err, dom));
}

static void
test_reload_rcu(void **state)
{
	char dom[64], err[ERRLEN];
	struct sl_match *m;
	const struct sl_match_db *db1, *db2;

	(void)state;
	write_tmp(dom, "nanopool.org\n");
	m = create(dom, NULL, 1, err);
	if (m == NULL)
		fail_msg("create: %s", err);
	sl_match_worker_online(m, 0);
	db1 = sl_match_acquire(m);
	assert_int_equal(sl_match_db_generation(db1), 1);

	assert_int_equal(sl_match_reload(m, err, ERRLEN), 0);
	db2 = sl_match_current(m);
	assert_int_equal(sl_match_db_generation(db2), 2);
	/* the worker has not been quiescent since: db1 stays allocated (ASan would see a
	 * use after free here) and still answers */
	sl_match_reclaim(m);
	assert_int_equal(sl_match_db_generation(db1), 1);
	assert_true(pool_name(db1, "nanopool.org"));
	err[0] = '\0';
	assert_int_equal(sl_match_reload(m, err, ERRLEN), -EBUSY);
	assert_non_null(strstr(err, "still being retired"));
	assert_ptr_equal(sl_match_current(m), db2);
	assert_int_equal(sl_match_db_generation(sl_match_current(m)), 2);

	/* a quiescent state: the old object can go */
	sl_match_quiescent(m, 0);
	sl_match_reclaim(m);
	assert_int_equal(sl_match_reload(m, err, ERRLEN), 0);
	assert_int_equal(sl_match_db_generation(sl_match_current(m)), 3);
	/* not quiescent since this swap: busy again; quiescent without an explicit reclaim:
	 * the reload reclaims itself */
	assert_int_equal(sl_match_reload(m, err, ERRLEN), -EBUSY);
	sl_match_quiescent(m, 0);
	assert_int_equal(sl_match_reload(m, err, ERRLEN), 0);
	assert_int_equal(sl_match_db_generation(sl_match_current(m)), 4);
	/* an offline worker holds nothing back */
	sl_match_worker_offline(m, 0);
	assert_int_equal(sl_match_reload(m, err, ERRLEN), 0);
	assert_int_equal(sl_match_db_generation(sl_match_current(m)), 5);
	sl_match_free(m); /* frees the unreclaimed old object too */
	unlink(dom);
}

/* ==== 8. Tables ==== */


/* ---- the known-protocol table (known.c): byte sequences written from the specifications,
 * each with a near miss ---- */

#define KT(c, cl, s, sl, sp, dp) sl_known_tcp((const uint8_t *)(c), (cl), (const uint8_t *)(s), \
	(sl), (sp), (dp))

/* Deterministic "random" bytes (key material): xorshift. */
static void
fill_random(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)(x >> 7);
	}
}

static void
test_known_table(void **state)
{
	(void)state;
	assert_string_equal(sl_known_name(SL_KNOWN_none), "none");
	assert_null(sl_known_name(SL_KNOWN_MAX));
	assert_null(sl_known_label(SL_KNOWN_MAX));
	for (unsigned int k = 1; k < SL_KNOWN_MAX; k++) {
		assert_true(strlen(sl_known_name(k)) > 0);
		assert_true(strlen(sl_known_label(k)) > 0);
		assert_true(strlen(sl_known_how(k)) > 0);
		assert_int_equal(sl_known_lookup(sl_known_name(k)), (int)k);
		for (unsigned int j = 1; j < k; j++)
			assert_string_not_equal(sl_known_name(j), sl_known_name(k));
	}
	assert_string_equal(sl_known_label(SL_KNOWN_tor), "Tor");
	assert_true(sl_known_is_udp(SL_KNOWN_wireguard));
	assert_false(sl_known_is_udp(SL_KNOWN_openvpn));
	assert_int_equal(sl_known_lookup("no_such"), -ENOENT);
	/* nothing, and NULL buffers */
	assert_int_equal(KT(NULL, 5, NULL, 7, 1, 2), 0);
	assert_int_equal(sl_known_udp(NULL, 4, 1, 2), 0);
}

static void
test_known_text(void **state)
{
	(void)state;
	/* SSH (RFC 4253 4.2), either side first; "SSH-" alone or "SSH-3." is not a banner */
	assert_int_equal(KT("SSH-2.0-OpenSSH_9.6\r\n", 21, "", 0, 50000, 2222), SL_KNOWN_ssh);
	assert_int_equal(KT("", 0, "SSH-2.0-dropbear\r\n", 18, 50000, 2222), SL_KNOWN_ssh);
	assert_int_equal(KT("SSH-3.0-x\r\n", 11, "", 0, 50000, 2222), 0);
	assert_int_equal(KT("", 0, "Welcome\r\nSSH-2.0-OpenSSH_9.6\r\n", 30, 50000, 22), SL_KNOWN_ssh);
	assert_int_equal(KT("", 0, "Welcome\r\nSSH-3.0-OpenSSH_9.6\r\n", 30, 50000, 22), 0);
	assert_int_equal(KT("SSH-", 4, "", 0, 50000, 22), 0);
	/* BitTorrent (BEP 3) */
	assert_int_equal(KT("\x13" "BitTorrent protocol\0\0\0\0\0\0\0\0", 28, "", 0, 1, 6881),
		SL_KNOWN_bittorrent);
	assert_int_equal(KT("\x12" "BitTorrent protocol", 20, "", 0, 1, 6881), 0);
	/* Gnutella 0.6 */
	assert_int_equal(KT("GNUTELLA CONNECT/0.6\r\n", 22, "", 0, 1, 6346), SL_KNOWN_gnutella);
	assert_int_equal(KT("GNUTELLA CONNEC", 15, "", 0, 1, 6346), 0);
	/* VNC (RFC 6143 7.1.1): the server's ProtocolVersion */
	assert_int_equal(KT("", 0, "RFB 003.008\n", 12, 1, 5900), SL_KNOWN_vnc);
	assert_int_equal(KT("", 0, "RFC 003.008\n", 12, 1, 5900), 0);
	/* XMPP (RFC 6120 4.2) */
	assert_int_equal(KT("<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client'>",
		76, "", 0, 1, 5222), SL_KNOWN_xmpp);
	assert_int_equal(KT("<?xml version='1.0'?><html>", 27, "", 0, 1, 5222), 0);
	/* IRC (RFC 2812 3.1.2) */
	assert_int_equal(KT("NICK alice\r\nUSER a 0 * :A\r\n", 27, "", 0, 1, 6667), SL_KNOWN_irc);
	assert_int_equal(KT("", 0, ":irc.example.net NOTICE * :*** Looking up\r\n", 43, 1, 6667),
		SL_KNOWN_irc);
	assert_int_equal(KT("NICKalice\r\n", 11, "", 0, 1, 6667), 0);
	/* MSN Messenger */
	assert_int_equal(KT("VER 1 MSNP8 CVR0\r\n", 18, "", 0, 1, 1863), SL_KNOWN_msn);
	assert_int_equal(KT("VER 1 HTTP\r\n", 12, "", 0, 1, 1863), 0);
	/* greetings: SMTP (RFC 5321 4.2), FTP on 21, POP3, IMAP */
	assert_int_equal(KT("", 0, "220 mail.example.com ESMTP\r\n", 28, 1, 25), SL_KNOWN_smtp);
	assert_int_equal(KT("", 0, "220 FTP ready\r\n", 15, 1, 21), SL_KNOWN_ftp);
	assert_int_equal(KT("", 0, "+OK POP3 ready\r\n", 16, 1, 110), SL_KNOWN_pop3);
	assert_int_equal(KT("", 0, "* OK IMAP4rev1\r\n", 16, 1, 143), SL_KNOWN_imap);
	assert_int_equal(KT("", 0, "250 ok\r\n", 8, 1, 25), 0);
	/* Redis RESP, PostgreSQL SSLRequest (80877103) and StartupMessage 3.0 */
	assert_int_equal(KT("*1\r\n$4\r\nPING\r\n", 14, "", 0, 1, 6379), SL_KNOWN_redis);
	assert_int_equal(KT("*x\r\n$4\r\nPING\r\n", 14, "", 0, 1, 6379), 0);
	assert_int_equal(KT("\0\0\0\x08\x04\xd2\x16\x2f", 8, "", 0, 1, 5432), SL_KNOWN_postgres);
	assert_int_equal(KT("\0\0\0\x08\x04\xd2\x16\x30", 8, "", 0, 1, 5432), SL_KNOWN_postgres);
	assert_int_equal(KT("\0\0\0\x08\x04\xd2\x16\x31", 8, "", 0, 1, 5432), 0);
	/* MySQL Initial Handshake v10 */
	assert_int_equal(KT("", 0, "\x4a\0\0\0\x0a" "8.0.36\0\x08\0\0\0", 16, 1, 3306), SL_KNOWN_mysql);
	assert_int_equal(KT("", 0, "\x4a\0\0\x01\x0a" "8.0.36\0\x08\0\0\0", 16, 1, 3306), 0);
	/* Telnet IAC DO/WILL */
	assert_int_equal(KT("\xff\xfd\x18\xff\xfb\x1f", 6, "", 0, 1, 23), SL_KNOWN_telnet);
	assert_int_equal(KT("\xff\xf0\x18", 3, "", 0, 1, 23), 0);
}

static void
test_known_binary(void **state)
{
	uint8_t c[512], s[512];

	(void)state;
	/* Bitcoin v1 (protocol documentation, message header): main-net magic, "version",
	 * payload length 102 */
	memset(c, 0, sizeof(c));
	memcpy(c, "\xf9\xbe\xb4\xd9version\0\0\0\0\0\x66\0\0\0", 20);
	assert_int_equal(KT(c, 126, "", 0, 50000, 8333), SL_KNOWN_bitcoin);
	assert_int_equal(KT("", 0, c, 126, 50000, 8333), SL_KNOWN_bitcoin);
	c[0] = 0xfb; c[1] = 0xc0; c[2] = 0xb6; c[3] = 0xdb; /* Litecoin */
	assert_int_equal(KT(c, 126, "", 0, 50000, 9333), SL_KNOWN_bitcoin);
	memcpy(c + 4, "verack\0\0\0\0\0\0", 12); /* near miss: another command first */
	assert_int_equal(KT(c, 126, "", 0, 50000, 9333), 0);
	c[0] = 0xf9; c[1] = 0xbe; c[2] = 0xb4; c[3] = 0xda; /* near miss: magic off by one */
	memcpy(c + 4, "version\0\0\0\0\0", 12);
	assert_int_equal(KT(c, 126, "", 0, 50000, 8333), 0);
	/* BIP324: 64 random bytes each way on the coin's port; not elsewhere, not text */
	fill_random(c, 64 + 37, 7);
	fill_random(s, 64 + 11, 9);
	assert_int_equal(KT(c, 101, s, 75, 50000, 8333), SL_KNOWN_bitcoin_v2);
	assert_int_equal(KT(c, 101, s, 75, 50000, 34254), 0); /* SV2's port: not BIP324 */
	assert_int_equal(KT(c, 101, "", 0, 50000, 8333), 0);  /* the responder has not spoken */
	memset(s, 'a', 64);
	assert_int_equal(KT(c, 101, s, 75, 50000, 8333), 0);
	/* Monero levin (epee levin_base.h): signature, cb 10, have_to_return 1, command 1001,
	 * return code 0, flags 1 (request), protocol version 1 */
	memset(c, 0, sizeof(c));
	memcpy(c, "\x01\x21\x01\x01\x01\x01\x01\x01" "\x0a\0\0\0\0\0\0\0" "\x01" "\xe9\x03\0\0"
		  "\0\0\0\0" "\x01\0\0\0" "\x01\0\0\0", 33);
	assert_int_equal(KT(c, 43, "", 0, 50000, 18080), SL_KNOWN_monero);
	c[1] = 0x20;
	assert_int_equal(KT(c, 43, "", 0, 50000, 18080), 0);
	/* Ethereum RLPx EIP-8 auth (size 0x0190 = 400, then 0x04 || key || ...) and its ack */
	c[0] = 0x01; c[1] = 0x90; c[2] = 0x04;
	fill_random(c + 3, 399, 11);
	s[0] = 0x01; s[1] = 0x74; s[2] = 0x04; /* 372 */
	fill_random(s + 3, 371, 13);
	assert_int_equal(KT(c, 402, s, 374, 50000, 30303), SL_KNOWN_ethereum);
	c[2] = 0x02; /* a compressed point is not an ECIES message */
	assert_int_equal(KT(c, 402, s, 374, 50000, 30303), 0);
	/* eDonkey hello (0xe3, size 0x4d, opcode 0x01, hash size 16) */
	memset(c, 0, sizeof(c));
	memcpy(c, "\xe3\x4d\0\0\0\x01\x10", 7);
	assert_int_equal(KT(c, 5 + 0x4d, "", 0, 50000, 4662), SL_KNOWN_edonkey);
	c[5] = 0x4c;
	assert_int_equal(KT(c, 5 + 0x4d, "", 0, 50000, 4662), 0);
	/* OpenVPN over TCP: length 14, P_CONTROL_HARD_RESET_CLIENT_V2 (0x38), session id,
	 * packet-id array 0, packet id 0; the server answers P_CONTROL_HARD_RESET_SERVER_V2 (0x40) */
	memset(c, 0, sizeof(c));
	memset(s, 0, sizeof(s));
	memcpy(c, "\x00\x0e\x38\x11\x22\x33\x44\x55\x66\x77\x88\x00\x00\x00\x00\x00", 16);
	memcpy(s, "\x00\x1a\x40\x99\x88\x77\x66\x55\x44\x33\x22\x01\x00\x00\x00\x00", 16);
	assert_int_equal(KT(c, 16, s, 28, 50000, 443), SL_KNOWN_openvpn);
	assert_int_equal(KT(c, 16, "", 0, 50000, 443), 0); /* both ways needed */
	s[2] = 0x48; /* P_CONTROL_V1 from the server first: not a hard reset */
	assert_int_equal(KT(c, 16, s, 28, 50000, 443), 0);
	s[2] = 0x40;
	c[2] = 0x39; /* key id 1 on a hard reset */
	assert_int_equal(KT(c, 16, s, 28, 50000, 443), 0);
	/* TPKT + X.224 CR: RDP (with the mstshash cookie), ISO-TSAP on 102 */
	memcpy(c, "\x03\x00\x00\x2b\x26\xe0\x00\x00\x00\x00\x00" "Cookie: mstshash=a\r\n", 31);
	assert_int_equal(KT(c, 43, "", 0, 50000, 3389), SL_KNOWN_rdp);
	assert_int_equal(KT("\x03\x00\x00\x16\x11\xe0\x00\x00\x00\x01\x00\xc1\x02\x01\x00\xc2\x02\x01\x02\xc0\x01\x0a",
		22, "", 0, 50000, 102), SL_KNOWN_iso_tsap);
	c[5] = 0xf0; /* a data TPDU first */
	assert_int_equal(KT(c, 43, "", 0, 50000, 3389), 0);
	/* MQTT 3.1.1 CONNECT and 3.1 */
	assert_int_equal(KT("\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04test", 18, "", 0, 1, 1884),
		SL_KNOWN_mqtt);
	assert_int_equal(KT("\x10\x12\x00\x06MQIsdp\x03\x02\x00\x3c\x00\x04test", 20, "", 0, 1, 1884),
		SL_KNOWN_mqtt);
	assert_int_equal(KT("\x20\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04test", 18, "", 0, 1, 1884), 0);
	/* Modbus/TCP: read holding registers (function 3), on 502 or echoed by the server */
	assert_int_equal(KT("\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a", 12, "", 0, 50000, 502),
		SL_KNOWN_modbus);
	assert_int_equal(KT("\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a", 12, "", 0, 50000, 5020), 0);
	assert_int_equal(KT("\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a", 12,
		"\x00\x01\x00\x00\x00\x05\x01\x03\x02\x00\x07", 11, 50000, 5020), SL_KNOWN_modbus);
	assert_int_equal(KT("\x00\x01\x00\x01\x00\x06\x01\x03\x00\x00\x00\x0a", 12, "", 0, 50000, 502), 0);
	/* DNP3 link frame, EtherNet/IP RegisterSession, IEC 104 STARTDT act */
	assert_int_equal(KT("\x05\x64\x05\xc9\x01\x00\x00\x04\xe9\x21", 10, "", 0, 1, 20000), SL_KNOWN_dnp3);
	assert_int_equal(KT("\x05\x65\x05\xc9\x01\x00\x00\x04\xe9\x21", 10, "", 0, 1, 20000), 0);
	memset(c, 0, 28);
	c[0] = 0x65; c[2] = 4; c[24] = 1;
	assert_int_equal(KT(c, 28, "", 0, 50000, 44818), SL_KNOWN_enip);
	c[8] = 1; /* a status in a request */
	assert_int_equal(KT(c, 28, "", 0, 50000, 44818), 0);
	assert_int_equal(KT("\x68\x04\x07\x00\x00\x00", 6, "", 0, 1, 2404), SL_KNOWN_iec104);
	assert_int_equal(KT("\x68\x04\x07\x00\x00\x00", 6, "", 0, 1, 2405), 0);
	/* SMB2 NEGOTIATE in a NetBIOS session; an SMB2 magic off by one */
	assert_int_equal(KT("\x00\x00\x00\x66\xfeSMB\x40\x00", 10, "", 0, 1, 445), SL_KNOWN_smb);
	assert_int_equal(KT("\x00\x00\x00\x66\xfeSMC\x40\x00", 10, "", 0, 1, 445), 0);
	/* BGP OPEN; OpenFlow HELLO on 6653 */
	memset(c, 0xff, 16);
	c[16] = 0; c[17] = 29; c[18] = 1;
	assert_int_equal(KT(c, 29, "", 0, 1, 179), SL_KNOWN_bgp);
	c[3] = 0xfe;
	assert_int_equal(KT(c, 29, "", 0, 1, 179), 0);
	assert_int_equal(KT("\x04\x00\x00\x08\x00\x00\x00\x01", 8, "", 0, 50000, 6653), SL_KNOWN_openflow);
	assert_int_equal(KT("\x04\x00\x00\x08\x00\x00\x00\x01", 8, "", 0, 50000, 6654), 0);
	assert_int_equal(KT("", 0, "\x04\x02\x00\x08\x00\x00\x01\x9a", 8, 50000, 6633),
		SL_KNOWN_openflow); /* mid-session: the switch's echo request */
	assert_int_equal(KT("", 0, "\x07\x02\x00\x08\x00\x00\x01\x9a", 8, 50000, 6633), 0);
	/* a TLS ClientHello and an XMRig login are none of these */
	assert_int_equal(KT("\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03", 11, "", 0, 1, 443), 0);
	assert_int_equal(KT("{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\"}\n", 42, "", 0, 1, 3333), 0);
}

static void
test_known_udp(void **state)
{
	uint8_t p[200];

	(void)state;
	/* WireGuard handshake initiation (148 bytes, type 1), response (92), data (32 + 16n) */
	memset(p, 0, sizeof(p));
	p[0] = 1;
	assert_int_equal(sl_known_udp(p, 148, 40000, 51820), SL_KNOWN_wireguard);
	assert_int_equal(sl_known_udp(p, 147, 40000, 51820), 0);
	p[0] = 4;
	assert_int_equal(sl_known_udp(p, 64, 40000, 51820), SL_KNOWN_wireguard);
	assert_int_equal(sl_known_udp(p, 65, 40000, 51820), 0);
	/* QUIC v1 Initial (RFC 9000 17.2.2): 0xc3, version 1, DCID length 8 */
	memcpy(p, "\xc3\x00\x00\x00\x01\x08", 6);
	assert_int_equal(sl_known_udp(p, 200, 50000, 443), SL_KNOWN_quic);
	memcpy(p, "\xc3\x00\x00\x00\x03\x08", 6); /* unknown version */
	assert_int_equal(sl_known_udp(p, 200, 50000, 443), 0);
	/* STUN binding request (RFC 8489) */
	memset(p, 0, 20);
	memcpy(p, "\x00\x01\x00\x00\x21\x12\xa4\x42", 8);
	assert_int_equal(sl_known_udp(p, 20, 50000, 3478), SL_KNOWN_stun);
	p[4] = 0x22;
	assert_int_equal(sl_known_udp(p, 20, 50000, 3478), 0);
	/* OpenVPN UDP hard reset (0x38) with a session id; P_DATA first is not recognised; off
	 * 1194 only the exact first-reset shape (14 bytes, empty ack array, packet id 0) */
	memset(p, 0, 26);
	p[0] = 0x38;
	assert_int_equal(sl_known_udp(p, 26, 50000, 1194), SL_KNOWN_openvpn_udp);
	assert_int_equal(sl_known_udp(p, 26, 50000, 1195), 0);
	memset(p + 1, 0x5a, 8);
	assert_int_equal(sl_known_udp(p, 14, 50000, 1195), SL_KNOWN_openvpn_udp);
	p[13] = 1;
	assert_int_equal(sl_known_udp(p, 14, 50000, 1195), 0);
	p[13] = 0;
	assert_int_equal(sl_known_udp(p, 14, 50000, 53), 0); /* a DNS id of 0x38.. */
	p[0] = 0x48;
	assert_int_equal(sl_known_udp(p, 26, 50000, 1195), 0);
	/* IKEv2 on 500 (version 0x20 at byte 17, length = datagram), NAT-T on 4500 */
	memset(p, 0, 64);
	p[0] = 0x11; p[17] = 0x20; p[27] = 60;
	assert_int_equal(sl_known_udp(p, 60, 500, 500), SL_KNOWN_ipsec_natt);
	assert_int_equal(sl_known_udp(p, 61, 500, 500), 0);
	memmove(p + 4, p, 60);
	memset(p, 0, 4); /* the non-ESP marker; the IKE length (60) is the datagram's less 4 */
	assert_int_equal(sl_known_udp(p, 64, 4500, 4500), SL_KNOWN_ipsec_natt);
	assert_int_equal(sl_known_udp((const uint8_t *)"\xff", 1, 4500, 4500), SL_KNOWN_ipsec_natt);
	/* uTP SYN (BEP 29: type 4, version 1 = 0x41) */
	memset(p, 0, 20);
	p[0] = 0x41;
	p[2] = 0x3a; /* connection id */
	p[5] = 0x17; /* timestamp */
	p[13] = 0x10; /* window */
	assert_int_equal(sl_known_udp(p, 20, 50000, 6881), SL_KNOWN_utp);
	assert_int_equal(sl_known_udp(p, 20, 68, 67), 0); /* DHCP: op 1, htype 1 */
	p[0] = 0x42;
	assert_int_equal(sl_known_udp(p, 20, 50000, 6881), 0);
}

static void
test_known_tor_cells(void **state)
{
	(void)state;
	/* one cell in one record: TLS 1.3 (+22), TLS 1.2 GCM (+29), ChaCha20 (+21) */
	assert_true(sl_known_cell_sized(514 + 22));
	assert_true(sl_known_cell_sized(514 + 29));
	assert_true(sl_known_cell_sized(514 + 21));
	/* three cells in one record, and in three */
	assert_true(sl_known_cell_sized(3 * 514 + 22));
	assert_true(sl_known_cell_sized(3 * 514 + 3 * 22));
	/* near misses: one byte off, no overhead, a share or a job */
	assert_false(sl_known_cell_sized(514 + 23));
	assert_false(sl_known_cell_sized(514));
	assert_false(sl_known_cell_sized(250));
	assert_false(sl_known_cell_sized(700));
	assert_false(sl_known_cell_sized(100000));
	/* a TLS session whose messages are mostly cells is Tor; a few cells are not */
	assert_int_equal(sl_known_tls_shape(40, 50), SL_KNOWN_tor);
	assert_int_equal(sl_known_tls_shape(3, 4), 0);
	assert_int_equal(sl_known_tls_shape(10, 40), 0);
}

static void
test_tables(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < SL_DET_MAX; i++) {
		const char *n = sl_det_name(i);

		assert_non_null(n);
		assert_true(strlen(n) > 0);
		for (unsigned int j = 0; j < i; j++)
			if (strcmp(n, sl_det_name(j)) == 0)
				fail_msg("detectors %u and %u are both named %s", j, i, n);
		assert_int_equal(sl_det_lookup(n), (int)i);
		if (sl_det_default_weight(i) < 1 || sl_det_default_weight(i) > 100)
			fail_msg("%s: default weight %u", n, sl_det_default_weight(i));
		assert_true(strlen(sl_det_protocol(i)) > 0);
		assert_true(strlen(sl_det_help(i)) > 0);
	}
	assert_string_equal(sl_det_name(SL_DET_stratum_subscribe), "stratum_subscribe");
	assert_string_equal(sl_det_name(SL_DET_pool_ip), "pool_ip");
	assert_string_equal(sl_det_protocol(SL_DET_sv2_noise), "stratum-v2");
	assert_int_equal(sl_det_default_weight(SL_DET_sv2_noise), 40);
	assert_string_equal(sl_det_name(SL_DET_MAX), "?");
	assert_string_equal(sl_det_protocol(SL_DET_MAX), "?");
	assert_string_equal(sl_det_help(SL_DET_MAX), "?");
	assert_int_equal(sl_det_default_weight(SL_DET_MAX), 0);
	assert_int_equal(sl_det_lookup("no_such_detector"), -1);
	assert_int_equal(sl_det_lookup(""), -1);
	assert_int_equal(sl_det_lookup(NULL), -1);

	assert_int_equal(sl_match_num_counters(), sizeof(struct sl_match_stats) / sizeof(uint64_t));
	assert_int_equal(sl_match_num_counters(), 21);
	for (unsigned int i = 0; i < sl_match_num_counters(); i++) {
		const char *n = sl_match_counter_name(i);

		assert_string_not_equal(n, "?");
		for (unsigned int j = 0; j < i; j++)
			assert_string_not_equal(n, sl_match_counter_name(j));
	}
	assert_string_equal(sl_match_counter_name(0), "inspected_bytes");
	assert_string_equal(sl_match_counter_name(19), "no_state");
	assert_string_equal(sl_match_counter_name(20), "known_flows");
	assert_string_equal(sl_match_counter_name(21), "?");
}

static void
test_builtin_db(void **state)
{
	struct sl_match_conf c;
	char err[ERRLEN] = "";
	struct sl_match_db *db;
	uint32_t nd, nr, ndet, np;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.nworkers = 1;
	db = sl_match_db_build(&c, err, sizeof(err));
	if (db == NULL)
		fail_msg("build: %s", err);
	sl_match_db_sizes(db, &nd, &nr, &ndet, &np);
	assert_int_equal(nd, 0);
	assert_int_equal(nr, 0);
	assert_int_equal(ndet, SL_DET_MAX);
	assert_true(np > 40);
	assert_int_equal(sl_match_db_generation(db), 0); /* numbered by the holder */
	for (unsigned int i = 0; i < SL_DET_MAX; i++)
		assert_int_equal(sl_match_db_weight(db, i), sl_det_default_weight(i));
	assert_false(pool_name(db, "nanopool.org"));
	assert_false(pool_ip(db, "203.0.113.1"));
	sl_match_db_free(db);
	sl_match_db_free(NULL);

	/* several workers, and none */
	c.nworkers = 4;
	db = sl_match_db_build(&c, err, sizeof(err));
	assert_non_null(db);
	sl_match_db_free(db);
	c.nworkers = 0;
	db = sl_match_db_build(&c, err, sizeof(err));
	assert_non_null(db);
	sl_match_db_free(db);
}

/* ---- compiled-database cache ---- */

/* Build with the cache in @p dir and detector overrides @p dets (NULL: none). */
static struct sl_match_db *
build_cached(const char *dir, const char *dets)
{
	struct sl_match_conf c;
	char err[ERRLEN] = "", det[128] = "";
	struct sl_match_db *db;

	memset(&c, 0, sizeof(c));
	if (dets != NULL) {
		write_tmp(det, dets);
		c.detectors_path = det;
	}
	c.nworkers = 1;
	c.hs_cache_dir = dir;
	db = sl_match_db_build(&c, err, sizeof(err));
	if (det[0] != '\0')
		unlink(det);
	if (db == NULL)
		fail_msg("build: %s", err);
	return db;
}

/* Events (detector, direction, offset) a Stratum subscribe and an XMRig login give. */
static unsigned int
cache_events(const struct sl_match_db *db, struct sl_event *out, unsigned int max)
{
	static const char sub[] =
		"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"cgminer/4.10\"]}\n";
	static const char login[] = "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":"
		"{\"login\":\"x\",\"pass\":\"x\",\"agent\":\"XMRig/6.21.0\",\"rigid\":\"r\"}}\n";
	struct ix t;
	unsigned int n;

	ix_init(&t, db, IPPROTO_TCP, 3333);
	feed(&t, 0, sub, 0, (uint32_t)strlen(sub));
	feed(&t, 1, login, 0, (uint32_t)strlen(login));
	n = t.c.n < max ? t.c.n : max;
	memcpy(out, t.c.ev, n * sizeof(*out));
	ix_fini(&t);
	return n;
}

static void
cache_counts(uint64_t c[SL_MATCH_CACHE_NCOUNTERS])
{
	sl_match_cache_counters(c);
}

/* the one cache file in @p dir, into @p path */
static unsigned int
cache_files(const char *dir, char *path, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "hs-", 3) == 0) {
			snprintf(path, len, "%s/%s", dir, e->d_name);
			n++;
		}
	closedir(d);
	return n;
}

static void
test_cache_hit(void **state)
{
	char dir[] = "/tmp/sluice_test_hscache_XXXXXX", path[512];
	uint64_t c0[SL_MATCH_CACHE_NCOUNTERS], c1[SL_MATCH_CACHE_NCOUNTERS];
	struct sl_event e1[8], e2[8];
	struct sl_match_db *a, *b, *plain;
	unsigned int n1, n2, n0;
	struct sl_event e0[8];

	(void)state;
	assert_non_null(mkdtemp(dir));
	cache_counts(c0);
	a = build_cached(dir, NULL); /* miss: compiles and writes */
	cache_counts(c1);
	assert_int_equal(c1[SL_MATCH_CACHE_MISSES], c0[SL_MATCH_CACHE_MISSES] + 1);
	assert_int_equal(c1[SL_MATCH_CACHE_WRITES], c0[SL_MATCH_CACHE_WRITES] + 1);
	assert_int_equal(cache_files(dir, path, sizeof(path)), 1);
	b = build_cached(dir, NULL); /* hit */
	cache_counts(c0);
	assert_int_equal(c0[SL_MATCH_CACHE_HITS], c1[SL_MATCH_CACHE_HITS] + 1);
	plain = build_cached(NULL, NULL);
	n1 = cache_events(a, e1, 8);
	n2 = cache_events(b, e2, 8);
	n0 = cache_events(plain, e0, 8);
	assert_true(n1 >= 3);
	assert_int_equal(n1, n2);
	assert_int_equal(n1, n0);
	for (unsigned int i = 0; i < n1; i++) {
		assert_int_equal(e1[i].detector, e2[i].detector);
		assert_int_equal(e1[i].dir, e2[i].dir);
		assert_int_equal(e1[i].offset, e2[i].offset);
		assert_int_equal(e1[i].detector, e0[i].detector);
		assert_int_equal(e1[i].offset, e0[i].offset);
	}
	sl_match_db_free(a);
	sl_match_db_free(b);
	sl_match_db_free(plain);
	unlink(path);
	rmdir(dir);
}

static void
test_cache_corrupt(void **state)
{
	char dir[] = "/tmp/sluice_test_hscache_XXXXXX", path[512];
	uint64_t c0[SL_MATCH_CACHE_NCOUNTERS], c1[SL_MATCH_CACHE_NCOUNTERS];
	struct sl_event e1[8], e2[8];
	struct sl_match_db *a, *b;
	struct stat sb;
	unsigned int n1, n2;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	a = build_cached(dir, NULL);
	assert_int_equal(cache_files(dir, path, sizeof(path)), 1);
	assert_int_equal(stat(path, &sb), 0);
	/* a flipped byte in the database */
	f = fopen(path, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, sb.st_size - 100, SEEK_SET), 0);
	assert_int_equal(fputc(0x5a ^ 0xff, f), 0x5a ^ 0xff);
	fclose(f);
	cache_counts(c0);
	b = build_cached(dir, NULL); /* ignored, compiled, rewritten */
	cache_counts(c1);
	assert_int_equal(c1[SL_MATCH_CACHE_CORRUPT] + c1[SL_MATCH_CACHE_HITS],
		c0[SL_MATCH_CACHE_CORRUPT] + c0[SL_MATCH_CACHE_HITS] + 1);
	n1 = cache_events(a, e1, 8);
	n2 = cache_events(b, e2, 8);
	assert_int_equal(n1, n2);
	sl_match_db_free(b);
	/* truncated, then empty: ignored, compiled */
	assert_int_equal(truncate(path, sb.st_size / 2), 0);
	cache_counts(c0);
	b = build_cached(dir, NULL);
	cache_counts(c1);
	assert_int_equal(c1[SL_MATCH_CACHE_CORRUPT], c0[SL_MATCH_CACHE_CORRUPT] + 1);
	assert_int_equal(cache_events(b, e2, 8), n1);
	sl_match_db_free(b);
	assert_int_equal(truncate(path, 0), 0);
	b = build_cached(dir, NULL);
	cache_counts(c0);
	assert_int_equal(c0[SL_MATCH_CACHE_CORRUPT], c1[SL_MATCH_CACHE_CORRUPT] + 1);
	assert_int_equal(cache_events(b, e2, 8), n1);
	sl_match_db_free(b);
	/* rewritten whole: a hit again */
	b = build_cached(dir, NULL);
	cache_counts(c1);
	assert_int_equal(c1[SL_MATCH_CACHE_HITS], c0[SL_MATCH_CACHE_HITS] + 1);
	sl_match_db_free(b);
	sl_match_db_free(a);
	unlink(path);
	rmdir(dir);
}

static void
test_cache_key_change(void **state)
{
	char dir[] = "/tmp/sluice_test_hscache_XXXXXX", path[512];
	uint64_t c0[SL_MATCH_CACHE_NCOUNTERS], c1[SL_MATCH_CACHE_NCOUNTERS];
	struct sl_match_db *a, *b;
	struct sl_event e[8];
	unsigned int n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	a = build_cached(dir, NULL);
	/* another pattern set (a detector off): a miss, a second file */
	cache_counts(c0);
	b = build_cached(dir, "stratum_subscribe off\n");
	cache_counts(c1);
	assert_int_equal(c1[SL_MATCH_CACHE_MISSES], c0[SL_MATCH_CACHE_MISSES] + 1);
	assert_int_equal(c1[SL_MATCH_CACHE_HITS], c0[SL_MATCH_CACHE_HITS]);
	assert_int_equal(cache_files(dir, path, sizeof(path)), 2);
	n = cache_events(b, e, 8);
	for (unsigned int i = 0; i < n; i++)
		assert_int_not_equal(e[i].detector, sl_det_lookup("stratum_subscribe"));
	assert_true(cache_events(a, e, 8) > n);
	sl_match_db_free(a);
	sl_match_db_free(b);
	/* a weight change does not touch the database: a hit */
	cache_counts(c0);
	b = build_cached(dir, "xmr_login weight 50\n");
	cache_counts(c1);
	assert_int_equal(c1[SL_MATCH_CACHE_HITS], c0[SL_MATCH_CACHE_HITS] + 1);
	sl_match_db_free(b);
	{
		DIR *d = opendir(dir);
		struct dirent *de;

		while (d != NULL && (de = readdir(d)) != NULL)
			if (de->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
				unlink(path);
			}
		if (d != NULL)
			closedir(d);
	}
	rmdir(dir);
}

/* ---- EAL and the shared detection object ---- */

static int
group_setup(void **state)
{
	struct lists l;
	char err[ERRLEN];

	(void)state;
	if (sl_test_eal_init("match") < 0)
		return -1;
	g_db = build_lists(&l, G_DOMAINS, G_IPS, NULL, err);
	lists_remove(&l);
	if (g_db == NULL) {
		fprintf(stderr, "detection object: %s\n", err);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	sl_match_db_free(g_db);
	rte_eal_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* 1. DNS */
		cmocka_unit_test(test_dns_normal),
		cmocka_unit_test(test_dns_uppercase),
		cmocka_unit_test(test_dns_compression),
		cmocka_unit_test(test_dns_pointer_loop),
		cmocka_unit_test(test_dns_bad_labels),
		cmocka_unit_test(test_dns_header),
		cmocka_unit_test(test_dns_root),
		cmocka_unit_test(test_dns_lengths),
		cmocka_unit_test(test_dns_single_label_exact_fit),
		/* 2. TLS */
		cmocka_unit_test(test_tls_sni_first),
		cmocka_unit_test(test_tls_sni_after_others),
		cmocka_unit_test(test_tls_every_prefix),
		cmocka_unit_test(test_tls_split_records),
		cmocka_unit_test(test_tls_no_sni),
		cmocka_unit_test(test_tls_not_tls),
		cmocka_unit_test(test_tls_server_hello),
		cmocka_unit_test(test_tls_bad_lengths),
		cmocka_unit_test(test_tls_work_small),
		/* 3. HTTP */
		cmocka_unit_test(test_http_get_host),
		cmocka_unit_test(test_http_case_and_upgrade),
		cmocka_unit_test(test_http_incomplete),
		cmocka_unit_test(test_http_not_http),
		cmocka_unit_test(test_http_response),
		/* 4. WebSocket */
		cmocka_unit_test(test_ws_lengths),
		cmocka_unit_test(test_ws_invalid),
		cmocka_unit_test(test_ws_partial),
		cmocka_unit_test(test_ws_unmask),
		/* 5. lists */
		cmocka_unit_test(test_domains_file),
		cmocka_unit_test(test_domains_errors),
		cmocka_unit_test(test_ips_file),
		cmocka_unit_test(test_ips_edges),
		cmocka_unit_test(test_ips_errors),
		cmocka_unit_test(test_ips_long_comment),
		cmocka_unit_test(test_detectors_file),
		cmocka_unit_test(test_detectors_errors),
		cmocka_unit_test(test_detectors_long_comment),
		/* 6. inspection */
		cmocka_unit_test(test_inspect_stratum_subscribe),
		cmocka_unit_test(test_inspect_stratum_split),
		cmocka_unit_test(test_inspect_once_per_flow),
		cmocka_unit_test(test_inspect_window_limit),
		cmocka_unit_test(test_inspect_miner_agents),
		cmocka_unit_test(test_inspect_xmrig_session),
		cmocka_unit_test(test_inspect_json_negatives),
		cmocka_unit_test(test_inspect_eth_proxy),
		cmocka_unit_test(test_inspect_dns_udp),
		cmocka_unit_test(test_inspect_dns_tcp),
		cmocka_unit_test(test_inspect_tls),
		cmocka_unit_test(test_inspect_websocket),
		cmocka_unit_test(test_inspect_websocket_rsv1),
		cmocka_unit_test(test_inspect_websocket_truncated),
		cmocka_unit_test(test_inspect_http_plain),
		cmocka_unit_test(test_inspect_sv2),
		cmocka_unit_test(test_inspect_noise),
		cmocka_unit_test(test_inspect_pool_ip),
		cmocka_unit_test(test_inspect_disabled),
		cmocka_unit_test(test_inspect_state_and_counters),
		cmocka_unit_test(test_inspect_tiny_window),
		cmocka_unit_test(test_inspect_scan_pad),
		/* 7. reload */
		cmocka_unit_test(test_reload_generation),
		cmocka_unit_test(test_reload_broken_list),
		cmocka_unit_test(test_reload_rcu),
		/* 8. tables */
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_known_table),
		cmocka_unit_test(test_known_text),
		cmocka_unit_test(test_known_binary),
		cmocka_unit_test(test_known_udp),
		cmocka_unit_test(test_known_tor_cells),
		cmocka_unit_test(test_builtin_db),
		cmocka_unit_test(test_cache_hit),
		cmocka_unit_test(test_cache_corrupt),
		cmocka_unit_test(test_cache_key_change),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
