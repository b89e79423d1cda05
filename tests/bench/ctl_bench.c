/* ctl_bench.c: the control plane alone, fed worker records from memory (sl_ctl_feed), as
 * scripts/bench.sh runs it: host deltas (N hosts, a few new sketch registers each), flow
 * samples (long-lived encrypted-looking flows that reach the behaviour judgement), and
 * distinct detection events written as JSON lines to an event log (/dev/null by default).
 * Prints records/s per kind and a final machine-readable line:
 *   ctl-bench: host_rps=X sample_rps=Y det_eps=Z
 * Usage: sluice-ctl-bench [RECORDS] [EVENTS_PATH] */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "sl_cfg.h"
#include "sl_chan.h"
#include "sl_ctl.h"

#define BATCH 32

static double
now_s(void)
{
	return (double)rte_rdtsc() / (double)rte_get_tsc_hz();
}

static void
addr4(uint8_t a[16], uint32_t ip)
{
	memset(a, 0, 10);
	a[10] = a[11] = 0xff;
	a[12] = (uint8_t)(ip >> 24);
	a[13] = (uint8_t)(ip >> 16);
	a[14] = (uint8_t)(ip >> 8);
	a[15] = (uint8_t)ip;
}

/* Feed @p total records made by @p make, in batches; @return records per second. */
static double
run(struct sl_ctl *ctl, struct sl_msg *m, uint64_t total,
	void (*make)(struct sl_msg *m, uint64_t i, uint64_t t0))
{
	uint64_t t0 = 1700000000ull * 1000000ull;
	double s0, s1;

	s0 = now_s();
	for (uint64_t i = 0; i < total; i += BATCH) {
		for (unsigned int k = 0; k < BATCH; k++)
			make(&m[k], i + k, t0);
		sl_ctl_feed(ctl, m, BATCH);
	}
	s1 = now_s();
	return (double)total / (s1 - s0);
}

#define NHOSTS 65536u

static void
make_host(struct sl_msg *m, uint64_t i, uint64_t t0)
{
	struct sl_host_delta *d = &m->u.host;
	uint32_t h = (uint32_t)(i % NHOSTS);

	m->type = SL_MSG_HOST;
	m->worker = 0;
	memset(d, 0, sizeof(*d));
	addr4(d->addr, 0x0a000000u + h);
	d->bytes_out = 1000 + (i & 1023);
	d->bytes_in = 4000;
	d->pkts_out = 10;
	d->pkts_in = 12;
	d->flows_opened = 1;
	d->ts_us = t0 + i / 8; /* about 8 M records per simulated second */
	d->hll[(i * 7) % SL_HLL_BYTES] = (uint8_t)(0x11 * (1 + (i & 3)));
}

static void
make_sample(struct sl_msg *m, uint64_t i, uint64_t t0)
{
	struct sl_flow_sample *s = &m->u.flow;

	m->type = SL_MSG_FLOW;
	m->worker = 0;
	memset(s, 0, sizeof(*s));
	s->flow_id = i + 1;
	s->ts_us = t0 + i / 8;
	addr4(s->src, 0x0a000000u + (uint32_t)(i % 4096));
	addr4(s->dst, 0xc6336400u + (uint32_t)(i % 251));
	s->sport = (uint16_t)(40000 + (i & 4095));
	s->dport = 443;
	s->proto = 6;
	s->flags = SL_SAMPLE_F_TLS;
	s->age_ms = 120000;
	s->pkts[0] = 60;
	s->pkts[1] = 70;
	s->bytes[0] = 9000;
	s->bytes[1] = 20000;
	s->msgs[0] = 30;
	s->msgs[1] = 35;
	s->unsol = 5;
	s->cn = 28;
	s->crep = 10;
	s->csz_mean = 180;
	s->csz_cv = 0.4f;
	s->gap_cv = 0.8f;
}

static void
make_det(struct sl_msg *m, uint64_t i, uint64_t t0)
{
	struct sl_event *e = &m->u.event;
	static const char ex[] = "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"cgminer/4.10\"]}";

	m->type = SL_MSG_EVENT;
	m->worker = 0;
	memset(e, 0, sizeof(*e));
	e->ts_us = t0 + i * 3;
	e->flow_id = (i * 2654435761u) & ((1ull << 53) - 1);
	addr4(e->src, 0x0a000000u + (uint32_t)(i % 100000));
	addr4(e->dst, 0xcb007100u + (uint32_t)(i % 200));
	e->sport = (uint16_t)(1024 + i % 60000);
	e->dport = (uint16_t)(3333 + i % 4);
	e->proto = 6;
	e->detector = (uint8_t)(i % 8);
	e->host = SL_EV_HOST_SRC;
	e->offset = (uint32_t)(30 + i % 40);
	e->excerpt_len = (uint8_t)(sizeof(ex) - 1 < SL_EVIDENCE_MAX ? sizeof(ex) - 1 : SL_EVIDENCE_MAX);
	memcpy(e->excerpt, ex, e->excerpt_len);
}

int
main(int argc, char **argv)
{
	char *eal[] = {"ctl-bench", "--no-huge", "-m", "1024", "--no-pci", "--no-shconf",
		 "--log-level=lib.*:error", "-l", "0"};
	uint64_t total = argc > 1 ? strtoull(argv[1], NULL, 10) : 4000000;
	const char *evp = argc > 2 ? argv[2] : "/dev/null";
	struct sl_cfg cfg;
	struct sl_ctl *ctl;
	struct sl_ctl_stats st;
	struct sl_msg *m;
	char err[1024];
	double hr, sr, dr;
	int rc;

	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0) {
		fprintf(stderr, "ctl-bench: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	sl_cfg_defaults(&cfg);
	cfg.offline_host_capacity = 1 << 18;
	struct sl_ctl_conf cc = {.cfg = &cfg, .live = false, .events_path = evp, .nworkers = 1,
		.socket = 0};

	ctl = sl_ctl_create(&cc, &rc, err, sizeof(err));
	if (ctl == NULL) {
		fprintf(stderr, "ctl-bench: %s\n", err);
		return 1;
	}
	m = calloc(BATCH, sizeof(*m));
	if (m == NULL)
		return 1;
	hr = run(ctl, m, total, make_host);
	sr = run(ctl, m, total, make_sample);
	dr = run(ctl, m, total / 4, make_det);
	sl_ctl_get_stats(ctl, &st);
	printf("ctl-bench: %" PRIu64 " host deltas: %.2f M records/s\n", total, hr / 1e6);
	printf("ctl-bench: %" PRIu64 " flow samples: %.2f M records/s\n", total, sr / 1e6);
	printf("ctl-bench: %" PRIu64 " distinct detections written to %s: %.2f M events/s "
	       "(%" PRIu64 " lines written)\n", total / 4, evp, dr / 1e6, st.det_written);
	printf("ctl-bench: host_rps=%.0f sample_rps=%.0f det_eps=%.0f\n", hr, sr, dr);
	if (sl_ctl_free(ctl) < 0)
		fprintf(stderr, "ctl-bench: event log write errors\n");
	free(m);
	rte_eal_cleanup();
	return 0;
}
