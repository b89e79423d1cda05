/* fuzz_inspect.c: libFuzzer target for flow inspection, sl_match_inspect() and
 * sl_match_flow_start() (lib/match/match.c): classification, the TLS/HTTP/WebSocket/DNS/SV2
 * parsers as inspection drives them, the Hyperscan scans with their overlap, composite terms
 * and event emission. The detection object is built once (LLVMFuzzerInitialize) with
 * sl_match_db_build() and one scratch; pool lists from $SL_FUZZ_DOMAINS / $SL_FUZZ_IPS, else
 * the source tree's config/ lists when present, else none.
 *
 * Input: a 2-byte header, then up to 8 chunks, each a 2-byte big-endian length (low 12 bits)
 * and that many bytes (the last chunk takes what is left).
 *   h[0] bit 0      protocol: 0 TCP (6), 1 UDP (17)
 *   h[0] bits 1-2   server port: 53, 80, 443, 3333
 *   h[0] bits 3-4   server address: plain IPv4, listed IPv4, plain IPv6, listed IPv6 (the
 *                   first IPv4 / IPv6 prefix of the address list, when it has one)
 *   h[0] bit 5      inspect without flow state (st == NULL) once
 *   h[1]            direction of chunk i: bit i (0 = initiator, 1 = responder)
 * Each chunk is appended to its direction's buffer as the flow table would (in order, capped
 * at the window, 2048 bytes) and the grown buffer is inspected; a chunk that adds nothing is
 * not inspected (the worker does not call inspection then). Every call sees guarded copies
 * of both directions' bytes (fuzz_guarded()): a read by our code outside the bytes inspection
 * was given is an ASan report, and the buffers end SL_MATCH_SCAN_PAD bytes before an unmapped
 * page, as does the work buffer, so a scanner that reads further than the pad it is promised
 * faults on every such input (Hyperscan's AVX512VBMI Teddy did, only when the heap happened to
 * end there). Events go to a collector that counts them and checks their fields. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_common.h"
#include "sl_cfg.h"
#include "sl_match.h"

#define WINDOW 2048 /* payload_bytes */
#define MAX_CHUNKS 8

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sl_match_db *db;
static struct sl_match_wctx x;
static uint64_t nevents;
static uint64_t fired; /* detectors reported on the current flow */

static int
collect(void *arg, const struct sl_event *ev)
{
	(void)arg;
	FUZZ_CHECK(ev->detector < SL_DET_MAX);
	FUZZ_CHECK(ev->excerpt_len <= SL_EVIDENCE_MAX);
	FUZZ_CHECK(ev->dir <= 1 && ev->host <= 1);
	/* each detector fires at most once per flow (pool_ip uses its own state) */
	if (ev->detector != SL_DET_pool_ip)
		FUZZ_CHECK(!((fired >> ev->detector) & 1));
	fired |= 1ull << ev->detector;
	nevents++;
	return 0;
}

static const uint8_t src4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};
static const uint8_t src6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
static uint8_t dsts[4][16] = { /* [1] and [3] become the list's first prefixes at init */
	{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 80},          /* plain IPv4 */
	{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7},        /* listed IPv4 */
	{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},        /* plain IPv6 */
	{0x20, 0x01, 0x0d, 0xb8, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x33},     /* listed IPv6 */
};
static const uint16_t ports[4] = {53, 80, 443, 3333};

/* The first IPv4 and the first IPv6 prefix of the address list become the "listed"
 * destinations, so that pool_ip can fire whatever the list holds. */
static void
listed_addresses(const char *path)
{
	static const uint8_t v4map[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	FILE *f = path[0] != '\0' ? fopen(path, "r") : NULL;
	char line[256];
	bool have4 = false, have6 = false;

	while (f != NULL && (!have4 || !have6) && fgets(line, sizeof(line), f) != NULL) {
		char *s = line, *e = strchr(line, '#');
		struct sl_cidr c;
		bool v4;

		if (e != NULL)
			*e = '\0';
		while (isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (*s == '\0' || sl_cidr_parse(s, &c) < 0)
			continue;
		v4 = c.plen >= 96 && memcmp(c.addr, v4map, 12) == 0;
		if (v4 && !have4) {
			memcpy(dsts[1], c.addr, 16);
			have4 = true;
		} else if (!v4 && !have6) {
			memcpy(dsts[3], c.addr, 16);
			have6 = true;
		}
	}
	if (f != NULL)
		fclose(f);
}

/* At exit: what the run reached (events per detector, parser counters), for the log. */
static void
summary(void)
{
	const uint64_t *cnt = (const uint64_t *)&x.st;

	fprintf(stderr, "fuzz_inspect: %llu events;", (unsigned long long)nevents);
	for (unsigned int d = 0; d < SL_DET_MAX; d++)
		if (x.det_count[d] != 0)
			fprintf(stderr, " %s=%u", sl_det_name(d), x.det_count[d]);
	fprintf(stderr, "\nfuzz_inspect: counters:");
	for (unsigned int i = 0; i < sl_match_num_counters(); i++)
		fprintf(stderr, " %s=%llu", sl_match_counter_name(i), (unsigned long long)cnt[i]);
	fprintf(stderr, "\n");
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[1024] = "";
	struct sl_match_conf c = {
		.domains_path = fuzz_list_path("SL_FUZZ_DOMAINS", "pools.domains"),
		.ips_path = fuzz_list_path("SL_FUZZ_IPS", "pools.ips"),
		.detectors_path = "",
		.nworkers = 1,
		.socket = 0,
	};
	uint32_t nd, nr, ndet, npat;

	(void)argc;
	(void)argv;
	db = sl_match_db_build(&c, err, sizeof(err));
	if (db == NULL) {
		fprintf(stderr, "fuzz_inspect: sl_match_db_build: %s\n", err);
		exit(1);
	}
	listed_addresses(c.ips_path);
	sl_match_db_sizes(db, &nd, &nr, &ndet, &npat);
	fprintf(stderr, "fuzz_inspect: %u pool names, %u address ranges, %u detectors, %u patterns\n",
		nd, nr, ndet, npat);
	x.worker = 0;
	x.window = WINDOW;
	x.emit = collect;
	x.emit_arg = NULL;
	/* slot 2: the work buffer, window bytes then the promised pad, then the guard page */
	x.work = fuzz_guarded(2, NULL, 0, WINDOW + SL_MATCH_SCAN_PAD);
	FUZZ_UNPOISON(x.work, WINDOW);
	atexit(summary);
	return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[2][WINDOW];
	uint32_t blen[2] = {0, 0};
	struct sl_mstate st;
	struct sl_match_flow fl;
	size_t pos = 2;
	uint8_t h0, dirs;

	if (size < 2)
		return 0;
	h0 = data[0];
	dirs = data[1];
	memset(&st, 0, sizeof(st));
	memset(&fl, 0, sizeof(fl));
	fl.src = ((h0 >> 3) & 3) >= 2 ? src6 : src4;
	fl.dst = dsts[(h0 >> 3) & 3];
	fl.sport = 40000;
	fl.dport = ports[(h0 >> 1) & 3];
	fl.proto = (h0 & 1) ? 17 : 6;
	fl.host = SL_EV_HOST_SRC;
	fl.flow_id = 42;
	fl.now_us = 1700000000000000ull;
	fired = 0;
	sl_match_flow_start(&x, db, &fl);
	if (h0 & 0x20) /* a flow without a payload buffer: only counted */
		sl_match_inspect(&x, db, NULL, &fl, 0, data, 0, 0);
	fired &= ~(1ull << SL_DET_pool_ip);

	for (unsigned int i = 0; i < MAX_CHUNKS && pos < size; i++) {
		int dir = (dirs >> i) & 1;
		size_t n, room = WINDOW - blen[dir];
		uint32_t old = blen[dir];
		uint8_t *cur, *other;

		if (i + 1 < MAX_CHUNKS && pos + 2 <= size) {
			n = ((size_t)data[pos] << 8 | data[pos + 1]) & 0x0fff;
			pos += 2;
			if (n > size - pos)
				n = size - pos;
		} else {
			n = size - pos;
		}
		if (n > room)
			n = room;
		memcpy(buf[dir] + blen[dir], data + pos, n);
		pos += n;
		if (n == 0)
			continue; /* the buffer did not grow: the worker does not inspect */
		blen[dir] += (uint32_t)n;
		cur = fuzz_guarded(0, buf[dir], blen[dir], SL_MATCH_SCAN_PAD);
		other = fuzz_guarded(1, buf[!dir], blen[!dir], SL_MATCH_SCAN_PAD);
		fl.other = other;
		fl.other_len = blen[!dir];
		fl.now_us += 1000;
		sl_match_inspect(&x, db, &st, &fl, dir, cur, old, blen[dir]);
		FUZZ_CHECK(st.scanned[dir] <= blen[dir]);
		FUZZ_CHECK(st.app <= SL_APP_OTHER);
	}
	return 0;
}
