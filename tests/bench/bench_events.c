/* bench_events.c: how fast the control core turns detections into event lines. It formats
 * N synthetic detection events (addresses, ports, detectors and excerpts varied; IPv6 every
 * 8th) through the event writer into /dev/null (or the file given), unthreaded and threaded,
 * and prints events/s and ns per event. usage: sluice-bench-events [N] [PATH] */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_common.h"
#include "sl_match.h"
#include "sl_report.h"

#define NVARIANTS 4096 /* distinct events prepared up front (the loop only formats) */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
make_event(struct sl_event *ev, unsigned int i, uint64_t *rnd)
{
	static const char *const text[] = {
		"{\"id\":1,\"method\":\"login\",\"params\":{\"login\":\"4AdUndXHHZ",
		"mining.subscribe", "pool.supportxmr.com", "eth_submitLogin",
		"\"jsonrpc\":\"2.0\",\"method\":\"mining.notify\"", "xmr-eu1.nanopool.org",
	};
	const char *t = text[i % SL_ARRAY_SIZE(text)];
	size_t n = strlen(t);

	memset(ev, 0, sizeof(*ev));
	*rnd = *rnd * 6364136223846793005ull + 1442695040888963407ull;
	ev->ts_us = 1767225600000000ull + (uint64_t)i * 997;
	ev->flow_id = (*rnd >> 11) & ((1ull << 53) - 1);
	if (i % 8 == 7) { /* IPv6 */
		ev->src[0] = 0x20;
		ev->src[1] = 0x01;
		ev->src[2] = 0x0d;
		ev->src[3] = 0xb8;
		memcpy(ev->src + 8, rnd, 8);
		ev->dst[0] = 0xfd;
		ev->dst[15] = (uint8_t)i;
	} else {
		ev->src[10] = ev->src[11] = 0xff;
		ev->dst[10] = ev->dst[11] = 0xff;
		ev->src[12] = 10;
		ev->src[13] = (uint8_t)(i >> 8);
		ev->src[14] = (uint8_t)i;
		ev->src[15] = (uint8_t)(*rnd >> 40);
		ev->dst[12] = (uint8_t)(*rnd >> 32);
		ev->dst[13] = (uint8_t)(*rnd >> 24);
		ev->dst[14] = (uint8_t)(*rnd >> 16);
		ev->dst[15] = (uint8_t)(*rnd >> 8);
	}
	ev->sport = (uint16_t)(32768 + (*rnd >> 20) % 28000);
	ev->dport = (uint16_t[]){3333, 4444, 443, 80, 14444, 53}[i % 6];
	ev->proto = i % 6 == 5 ? 17 : 6;
	ev->detector = (uint8_t)(i % SL_DET_MAX);
	ev->host = SL_EV_HOST_SRC;
	ev->dir = (uint8_t)(i & 1);
	ev->offset = (uint32_t)(*rnd >> 48);
	if (n > SL_EVIDENCE_MAX)
		n = SL_EVIDENCE_MAX;
	memcpy(ev->excerpt, t, n);
	if (i % 5 == 0 && n > 4)
		ev->excerpt[n - 3] = 0x01; /* a control byte shown as '.' */
	ev->excerpt_len = (uint8_t)n;
}

static int
run(const struct sl_event *tmpl, unsigned long n, const char *path, bool threaded)
{
	struct sl_event *ev = malloc(NVARIANTS * sizeof(*ev));
	struct sl_writer_stats st;
	struct sl_writer *w;
	char err[256];
	double t0, dt;
	int rc = 0;

	if (ev == NULL)
		return -1;
	memcpy(ev, tmpl, NVARIANTS * sizeof(*ev));
	w = sl_writer_open(path, -1, threaded, err, sizeof(err));
	if (w == NULL) {
		fprintf(stderr, "%s\n", err);
		free(ev);
		return -1;
	}
	t0 = now_s();
	for (unsigned long i = 0; i < n && rc == 0; i++) {
		ev[i % NVARIANTS].ts_us += 1000;
		rc = sl_report_event(w, &ev[i % NVARIANTS], 10 + (unsigned int)(i % 7));
	}
	sl_writer_get_stats(w, &st);
	if (sl_writer_close(w) < 0)
		rc = -1;
	dt = now_s() - t0;
	printf("detection events: %lu in %.3f s: %.0f events/s, %.0f ns/event, %.0f bytes/event "
	       "(writer, %s, %" PRIu64 " chunks, %" PRIu64 " waits)%s\n", n, dt, (double)n / dt,
		dt * 1e9 / (double)n, (double)st.bytes / (double)n,
		threaded ? "threaded" : "unthreaded", st.chunks, st.waits, rc ? " (write error)" : "");
	free(ev);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000;
	const char *path = argc > 2 ? argv[2] : "/dev/null";
	struct sl_event *ev = calloc(NVARIANTS, sizeof(*ev));
	uint64_t rnd = 42;
	int rc;

	if (ev == NULL)
		return 1;
	for (unsigned int i = 0; i < NVARIANTS; i++)
		make_event(&ev[i], i, &rnd);
	rc = run(ev, n, path, false);
	if (rc == 0)
		rc = run(ev, n, path, true);
	free(ev);
	return rc ? 1 : 0;
}
