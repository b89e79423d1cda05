/* bench.c: measures sluice's worker path with packets already in memory (no PMD cost).
 * It builds Ethernet/IPv4/TCP frames into mbufs once, then runs the real worker pipeline
 * (sl_worker_process: parse, bulk flow lookup, flow and host accounting, payload capture,
 * plus the sweep/report housekeeping every 16 bursts as the live loop does) over them:
 *   established_10k: 10 k flows, 32 packets each, interleaved so flows spread over the table
 *   established_1m:  1 M flows already in the table, one packet each per pass
 *   new_flow:        1 M packets, each opening a new flow
 *   inspect_mix:     a capture of realistic sessions (web, DNS, TLS, miners of every kind),
 *                    replayed so every pass opens every flow anew: the cost of inspection
 *                    (Mpps and Gbit/s of inspected payload per core)
 *   block_latency:   the same mix with a real scorer and response (soft blocklist) behind the
 *                    worker: time from the burst with a host's first mining packet to its
 *                    block being published to the workers, p50/p99
 * and prints TSC cycles per packet and Mpps per core. Detection (lib/match with the shipped
 * lists) and per-flow behaviour statistics (with flow samples) are on in every case, as in a
 * real run. It also writes the 10 k-flow packets as a pcap
 * for ndpiReader. usage: sluice-bench PCAP_OUT [passes] [quick | MIX.pcap [mixonly]] (EAL
 * args are built here: hugepages with --in-memory when enough are free, else --no-huge;
 * SL_BENCH_NO_HUGE=1 forces 4 KiB pages; SL_BENCH_EVIDENCE=1 turns evidence packets on (a
 * published mark table none of its flows match: the cost to unmarked traffic); 'quick' runs only the 10 k case, 'mixonly' only the mix: for
 * callgrind). */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "sl_cfg.h"
#include "sl_common.h"
#include "sl_match.h"
#include "sl_block.h"
#include "sl_evid.h"
#include "sl_port.h"
#include "sl_score.h"
#include "sl_worker.h"

/* free hugepage memory the bench wants (mempools, 2 M-flow tables, the mix; 2200 MB was
 * found too little): below it, 4 KiB pages */
#define BENCH_HUGE_MB 2560

#define FRAME_LEN 90 /* 14 + 20 + 20 + 36 bytes of payload */

static void
build_frame(uint8_t *f, uint32_t flow, int reverse, uint32_t seq)
{
	uint32_t cli = 0x0a000000u | (flow & 0xffffff), srv = 0xc6336400u | (flow % 251);
	uint16_t cport = (uint16_t)(1024 + (flow >> 8) % 60000), sport = 3333;
	uint32_t s = reverse ? srv : cli, d = reverse ? cli : srv;
	uint16_t sp = reverse ? sport : cport, dp = reverse ? cport : sport;

	memset(f, 0, FRAME_LEN);
	memcpy(f, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", 14);
	f[14] = 0x45;
	f[16] = 0;
	f[17] = FRAME_LEN - 14;
	f[22] = 64;
	f[23] = 6;
	for (int i = 0; i < 4; i++) {
		f[26 + i] = (uint8_t)(s >> (24 - 8 * i));
		f[30 + i] = (uint8_t)(d >> (24 - 8 * i));
	}
	f[34] = (uint8_t)(sp >> 8);
	f[35] = (uint8_t)sp;
	f[36] = (uint8_t)(dp >> 8);
	f[37] = (uint8_t)dp;
	for (int i = 0; i < 4; i++)
		f[38 + i] = (uint8_t)(seq >> (24 - 8 * i));
	f[46] = 0x50;
	f[47] = 0x18; /* ACK|PSH */
	memcpy(f + 54, "{\"id\":4,\"method\":\"mining.submit\"}\n", 35);
}

static struct rte_mbuf **
make_mbufs(struct rte_mempool *mp, uint32_t n, uint32_t nflows, int one_per_flow)
{
	struct rte_mbuf **m = malloc(sizeof(*m) * n);
	uint32_t seq[2] = {0, 0};

	for (uint32_t i = 0; i < n; i++) {
		uint32_t flow = one_per_flow ? i : i % nflows;
		int rev = one_per_flow ? 0 : (int)((i / nflows) & 1);

		m[i] = rte_pktmbuf_alloc(mp);
		if (m[i] == NULL) {
			fprintf(stderr, "bench: out of mbufs at %u\n", i);
			exit(1);
		}
		build_frame(rte_pktmbuf_mtod(m[i], uint8_t *), flow, rev,
			1000 + (i / nflows) * 36 + seq[rev]);
		m[i]->data_len = m[i]->pkt_len = FRAME_LEN;
	}
	return m;
}

static double
run(struct sl_worker *w, struct rte_mbuf **m, uint32_t n, unsigned int passes)
{
	struct sl_rxq *q = &w->rxq[0];
	uint64_t t0 = rte_rdtsc(), burst = 0;

	for (unsigned int p = 0; p < passes; p++)
		for (uint32_t i = 0; i + SL_BURST <= n; i += SL_BURST) {
			sl_worker_process(w, q, m + i, SL_BURST);
			if ((++burst & 15) == 0)
				sl_worker_housekeeping(w);
		}
	return (double)(rte_rdtsc() - t0) / ((double)(n / SL_BURST * SL_BURST) * passes);
}

static void
drain(struct sl_worker *w)
{
	struct sl_msg msg[64];

	while (sl_chan_recv(&w->chan, msg, 64) > 0)
		;
}

static struct sl_match *match;

/* ---- block latency: first mining packet -> the drop in force ---- */

#define LAT_MAX 65536

static struct {
	struct sl_score *score;
	struct sl_block *block;
	uint64_t burst_tsc;          /* TSC when the burst being handled started */
	uint8_t host[4096][16];      /* hosts with a first mining packet seen ... */
	uint64_t first[4096];        /* ... and the TSC of that packet's burst */
	unsigned int nhosts;
	double lat_us[LAT_MAX];      /* first mining packet -> soft table published */
	unsigned int nlat;
} lat;

static int
lat_host(const uint8_t h[16])
{
	for (unsigned int i = 0; i < lat.nhosts; i++)
		if (memcmp(lat.host[i], h, 16) == 0)
			return (int)i;
	return -1;
}

static void
lat_note(void *arg, const struct sl_score_note *n)
{
	int i;

	(void)arg;
	if (n->type != SL_NOTE_LEVEL || n->new_level != SL_LEVEL_BLOCK)
		return;
	if (sl_block_verdict(lat.block, n->v, n->ts_us) == 0 || (i = lat_host(n->v->addr)) < 0)
		return;
	/* the soft table is published inside sl_block_request: from here on the worker's next
	 * lookup of the flow drops it */
	if (lat.nlat < LAT_MAX)
		lat.lat_us[lat.nlat++] = (double)(rte_rdtsc() - lat.first[i]) * 1e6 /
					 (double)rte_get_tsc_hz();
}

/* What the control core does with the worker's records: score, and block at the block level. */
static void
lat_drain(struct sl_worker *w)
{
	struct sl_msg msg[64];
	unsigned int n;

	while ((n = sl_chan_recv(&w->chan, msg, 64)) > 0)
		for (unsigned int i = 0; i < n; i++) {
			const struct sl_event *ev = &msg[i].u.event;
			const uint8_t *h;

			if (msg[i].type != SL_MSG_EVENT)
				continue;
			h = ev->host == SL_EV_HOST_DST ? ev->dst : ev->src;
			/* the first mining packet: the first one carrying a mining protocol */
			if (sl_signal_kind_of(ev->detector) == SL_SIG_dpi && lat_host(h) < 0 &&
			    lat.nhosts < 4096) {
				memcpy(lat.host[lat.nhosts], h, 16);
				lat.first[lat.nhosts++] = lat.burst_tsc;
			}
			sl_score_detection(lat.score, ev, sl_det_default_weight(ev->detector));
		}
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Replay the mix with a scorer and a soft-blocklist response behind the worker, on one core
 * (the worker's burst, then the control core's drain): p50/p99 of first mining packet ->
 * block in force. */
static void
block_latency(struct sl_worker *w, struct rte_mbuf **c, uint32_t nm, unsigned int passes,
	double *p50, double *p99)
{
	struct sl_cfg cfg;
	struct sl_score_params sp;
	struct sl_base_params bp;
	struct sl_block_params kp;
	char err[256];

	sl_cfg_defaults(&cfg);
	snprintf(cfg.mode, sizeof(cfg.mode), "inline");
	snprintf(cfg.block_backend, sizeof(cfg.block_backend), "soft");
	cfg.block_max_per_minute = 1000000;
	if (sl_score_params_from_cfg(&cfg, &sp, &bp, err, sizeof(err)) < 0 ||
	    sl_block_params_from_cfg(&cfg, &kp, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench: %s\n", err);
		exit(1);
	}
	kp.nworkers = 1;
	for (unsigned int p = 0; p < passes; p++) {
		lat.nhosts = 0;
		lat.score = sl_score_create(&sp, (int)rte_socket_id(), lat_note, NULL);
		lat.block = sl_block_create(&kp, NULL, 0, NULL, NULL, NULL, (int)rte_socket_id());
		if (lat.score == NULL || lat.block == NULL) {
			fprintf(stderr, "bench: scorer/response: %s\n", rte_strerror(rte_errno));
			exit(1);
		}
		for (uint32_t i = 0; i < nm; i += SL_BURST) {
			lat.burst_tsc = rte_rdtsc();
			sl_worker_process(w, &w->rxq[0], c + i, SL_MIN((uint32_t)SL_BURST, nm - i));
			lat_drain(w);
		}
		sl_flow_flush(w->flows, w->now_us);
		lat_drain(w);
		sl_block_free(lat.block, 0);
		sl_score_free(lat.score);
	}
	qsort(lat.lat_us, lat.nlat, sizeof(double), cmp_dbl);
	*p50 = lat.nlat ? lat.lat_us[lat.nlat / 2] : 0;
	*p99 = lat.nlat ? lat.lat_us[(size_t)((double)lat.nlat * 0.99)] : 0;
}

/* Replay the mix @p passes times, every flow new each pass; @return TSC cycles spent in
 * the worker path (the flush between passes is not counted). */
static uint64_t
run_mix(struct sl_worker *w, struct rte_mbuf **c, uint32_t nm, unsigned int passes,
	uint64_t *pk)
{
	uint64_t t = 0;

	*pk = 0;
	for (unsigned int p = 0; p < passes; p++) {
		uint64_t t0 = rte_rdtsc();

		for (uint32_t i = 0; i < nm; i += SL_BURST)
			sl_worker_process(w, &w->rxq[0], c + i, SL_MIN((uint32_t)SL_BURST, nm - i));
		t += rte_rdtsc() - t0;
		*pk += nm;
		sl_flow_flush(w->flows, w->now_us); /* next pass: every flow is new again */
		drain(w);
	}
	return t;
}

/* SL_BENCH_EVIDENCE=1: evidence packets on, with one alert's mark published (a host the
 * bench's flows never use), so every flow is looked up once and every packet pays the
 * generation compare of an unmarked flow: the cost the feature adds to unmarked traffic. */
static const struct sl_evset *
bench_evidence(void)
{
	static struct sl_evid *e;
	struct sl_evid_params p = {.snaplen = 1518, .ring = 1024, .stream_bytes = 2048,
		.flow_packets = 1000, .file_flows = 64, .host_bytes = 1 << 20, .max_bytes = 1 << 24,
		.max_files = 4, .nworkers = 1, .drain_budget = 256};
	struct sl_evid_flow fl = {.peer = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1},
		.port = 3333, .proto = 6};
	uint8_t host[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 250, 0, 1};
	char err[512], pcap[1024], stream[1024];
	int rc;

	if (e == NULL) {
		snprintf(p.dir, sizeof(p.dir), "/tmp/sluice-bench-evidence-%d", (int)getpid());
		e = sl_evid_create(&p, (int)rte_socket_id(), &rc, err, sizeof(err));
		if (e == NULL || sl_evid_alert(e, host, 1, &fl, 1, pcap, stream, sizeof(pcap)) < 0) {
			fprintf(stderr, "bench: evidence: %s\n", e == NULL ? err : pcap);
			exit(1);
		}
		printf("bench: evidence on (one alert's mark published, %s)\n", p.dir);
	}
	return sl_evid_acquire(e);
}

static struct sl_worker *
new_worker(unsigned int id, uint32_t capacity, uint32_t hosts, struct sl_run *runst, const struct sl_cidr_set *home)
{
	struct sl_worker *w = rte_zmalloc("bw", sizeof(*w), RTE_CACHE_LINE_SIZE);
	struct sl_worker_conf c = {
		.flow = {.capacity = capacity, .payload_buffers = 16384, .payload_bytes = 2048,
			 .tcp_new_us = 30000000, .tcp_est_us = 600000000, .tcp_closed_us = 10000000,
			 .udp_us = 120000000, .other_us = 30000000, .long_us = 120000000,
			 .state_bytes = sizeof(struct sl_mstate),
			 /* behaviour statistics on, with the shipped defaults */
			 .beh_msg_gap_us = 50000, .beh_reply_us = 1000000, .beh_bulk_bytes = 65536},
		.sample_us = 10000000,
		.sample_min_age_us = 20000000,
		.host_capacity = hosts,
		.ring_size = 1u << 16,
		.report_us = 1000000,
		.aging_batch = 256,
		.home = home,
		.top_flows = 0,
		.keep_mbufs = true,
		.match = match,
		/* devices = 1 as configured by default; SL_BENCH_NO_DEVICES measures without */
		.devices = getenv("SL_BENCH_NO_DEVICES") == NULL,
		.dev_refresh_us = 60000000,
	};
	if (getenv("SL_BENCH_NO_BEHAVIOUR") != NULL) { /* to measure what the statistics cost */
		c.flow.beh_msg_gap_us = 0;
		c.sample_us = 0;
	}
	if (w == NULL || sl_worker_init(w, id, &c, runst, (int)rte_socket_id()) < 0) {
		fprintf(stderr, "bench: worker init: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	w->db = match != NULL ? sl_match_current(match) : NULL;
	if (getenv("SL_BENCH_EVIDENCE") != NULL) /* evidence on: a published mark table */
		w->ev = bench_evidence();
	sl_worker_add_rxq(w, 0, 0, false, 1);
	return w;
}

/* The mix: every Ethernet frame of a capture, in mbufs (frames up to one mbuf). */
static struct rte_mbuf **
load_pcap(struct rte_mempool *mp, const char *path, uint32_t *n, uint64_t *bytes)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);
	struct pcap_pkthdr *h;
	const u_char *d;
	uint32_t cap = 1024;
	struct rte_mbuf **m = malloc(sizeof(*m) * cap);

	*n = 0;
	*bytes = 0;
	if (p == NULL || pcap_datalink(p) != DLT_EN10MB) {
		fprintf(stderr, "bench: %s: %s\n", path, p ? "not Ethernet" : err);
		exit(1);
	}
	while (pcap_next_ex(p, &h, &d) == 1) {
		struct rte_mbuf *mb = rte_pktmbuf_alloc(mp);

		if (mb == NULL) {
			fprintf(stderr, "bench: %s: more frames than mbufs\n", path);
			exit(1);
		}
		if (h->caplen > rte_pktmbuf_tailroom(mb)) { /* jumbo: not part of the mix */
			rte_pktmbuf_free(mb);
			continue;
		}
		if (*n == cap) {
			cap *= 2;
			m = realloc(m, sizeof(*m) * cap);
		}
		memcpy(rte_pktmbuf_mtod(mb, void *), d, h->caplen);
		mb->data_len = mb->pkt_len = h->caplen;
		m[(*n)++] = mb;
		*bytes += h->caplen;
	}
	pcap_close(p);
	return m;
}

static void
write_pcap(const char *path, struct rte_mbuf **m, uint32_t n)
{
	pcap_t *pd = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pcap_dump_open(pd, path);

	if (d == NULL) {
		fprintf(stderr, "bench: %s: %s\n", path, pcap_geterr(pd));
		exit(1);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct pcap_pkthdr h = {.caplen = FRAME_LEN, .len = FRAME_LEN};

		h.ts.tv_sec = 1700000000 + i / 1000000;
		h.ts.tv_usec = i % 1000000;
		pcap_dump((u_char *)d, &h, rte_pktmbuf_mtod(m[i], const u_char *));
	}
	pcap_dump_close(d);
	pcap_close(pd);
}

int
main(int argc, char **argv)
{
	char prefix[64];
	int huge;
	unsigned long free_pages = 0, page_kb = 0;
	FILE *mi = fopen("/proc/meminfo", "r");
	char line[256];
	static struct sl_run runst;
	static struct sl_cidr_set home;
	unsigned int passes = argc > 2 ? (unsigned int)atoi(argv[2]) : 20;

	/* Hugepages when enough are free (DPDK takes them as it needs them: --in-memory, no
	 * hugetlbfs files left behind), 4 KiB pages otherwise. */
	while (mi != NULL && fgets(line, sizeof(line), mi) != NULL) {
		unsigned long v;

		if (sscanf(line, "HugePages_Free: %lu", &v) == 1)
			free_pages = v;
		else if (sscanf(line, "Hugepagesize: %lu kB", &v) == 1)
			page_kb = v;
	}
	if (mi != NULL)
		fclose(mi);
	huge = free_pages * page_kb >= BENCH_HUGE_MB * 1024ul && getenv("SL_BENCH_NO_HUGE") == NULL;
	snprintf(prefix, sizeof(prefix), "--file-prefix=sl-bench-%d", (int)getpid());
	char *eal_huge[] = {argv[0], "--in-memory", "--no-pci", "--no-telemetry", prefix, "-l", "0",
		"--log-level=lib.*:error", NULL};
	char *eal_4k[] = {argv[0], "--no-huge", "-m4096", "--no-pci", "--no-shconf",
		"--no-telemetry", prefix, "-l", "0", "--log-level=lib.*:error", NULL};
	char **eal = huge ? eal_huge : eal_4k;
	int eal_n = huge ? 8 : 10;

	if (rte_eal_init(eal_n, eal) < 0 || sl_port_dyn_register() < 0) {
		fprintf(stderr, "bench: EAL init failed (%s)\n", huge ? "hugepages" : "--no-huge");
		return 1;
	}
	if (huge)
		printf("bench: memory: hugepages (%lu free x %lu kB, --in-memory)\n", free_pages, page_kb);
	else
		printf("bench: memory: 4k (fewer than %d MB of free hugepages: --no-huge -m4096, more "
		       "TLB misses)\n", BENCH_HUGE_MB);
	printf("bench: TSC %.3f GHz, burst %d\n", (double)rte_get_tsc_hz() / 1e9, SL_BURST);

	struct rte_mempool *mp = rte_pktmbuf_pool_create("bm", (1u << 20) + 330000, 512, 0,
		128 + RTE_PKTMBUF_HEADROOM, (int)rte_socket_id());
	if (mp == NULL) {
		fprintf(stderr, "bench: mempool: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	const uint32_t nflows = 10000, n10k = nflows * 32, n1m = 1u << 20;
	struct rte_mbuf **a = make_mbufs(mp, n10k, nflows, 0);
	int quick = argc > 3 && strcmp(argv[3], "quick") == 0; /* 10 k case only (callgrind) */
	const char *mix = argc > 3 && !quick ? argv[3] : NULL;
	/* 'mixonly' after the mix: just case (c), e.g. under callgrind */
	int mixonly = mix != NULL && argc > 4 && strcmp(argv[4], "mixonly") == 0;
	{
		struct sl_cfg cfg;
		char err[512] = "";
		struct sl_match_conf mc;

		sl_cfg_defaults(&cfg);
		mc = (struct sl_match_conf){.domains_path = cfg.pools_domains,
			.ips_path = cfg.pools_ips, .nworkers = 5, .socket = (int)rte_socket_id()};
		if (access(cfg.pools_domains, R_OK) != 0)
			mc.domains_path = "";
		if (access(cfg.pools_ips, R_OK) != 0)
			mc.ips_path = "";
		match = sl_match_create(&mc, err, sizeof(err));
		if (match == NULL) {
			fprintf(stderr, "bench: detection: %s\n", err);
			return 1;
		}
	}
	struct rte_mbuf **b = quick || mixonly ? NULL : make_mbufs(mp, n1m, n1m, 1);

	write_pcap(argc > 1 ? argv[1] : "/tmp/sluice-bench.pcap", a, n10k);

	/* (a) 10 k established flows: warm passes create them and fill their inspection
	 * windows (32 x 36 payload bytes per pass), then measure */
	struct sl_worker *w = new_worker(0, 1u << 16, 1u << 16, &runst, &home);
	double c10k = 1e9, cnew = 0, c1m = 0;

	if (!mixonly) {
		run(w, a, n10k, 4);
		drain(w);
	}
	for (int rep = 0; rep < 3 && !mixonly; rep++) {
		double c = run(w, a, n10k, passes);

		drain(w);
		if (c < c10k)
			c10k = c;
	}
	if (quick) {
		printf("bench: established_10k  %.1f cycles/pkt\n", c10k);
		rte_eal_cleanup();
		return 0;
	}
	/* (b) new flows into an empty table of 2 M, then (a') the same 1 M flows established */
	if (!mixonly) {
		struct sl_worker *w2 = new_worker(1, 1u << 21, 1u << 21, &runst, &home);

		cnew = run(w2, b, n1m, 1);
		drain(w2);
		c1m = run(w2, b, n1m, 3);
		drain(w2);
	}

	/* (c) the realistic mix, every flow new in every pass: inspection's cost */
	double cmix = 0, mix_gbps = 0, mix_mpps = 0, cmix_off = 0, lat_p50 = 0, lat_p99 = 0;

	if (mix != NULL) {
		struct rte_mempool *mp2 = rte_pktmbuf_pool_create("bmix", 1u << 17, 512, 0,
			RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
		uint32_t nm;
		uint64_t mbytes, insp0, t, pk;
		struct rte_mbuf **c;
		struct sl_worker *w3;

		if (mp2 == NULL) {
			fprintf(stderr, "bench: mix mempool: %s\n", rte_strerror(rte_errno));
			return 1;
		}
		c = load_pcap(mp2, mix, &nm, &mbytes);
		/* the same mix with detection off first: the difference is inspection's cost */
		{
			struct sl_match *keep = match;

			match = NULL;
			w3 = new_worker(3, 1u << 18, 1u << 16, &runst, &home);
			match = keep;
			w3->db = NULL;
			cmix_off = (double)run_mix(w3, c, nm, passes, &pk) / (double)pk;
		}
		w3 = new_worker(2, 1u << 18, 1u << 16, &runst, &home);
		insp0 = w3->mx.st.inspected_bytes;
		t = run_mix(w3, c, nm, passes, &pk);
		cmix = (double)t / (double)pk;
		mix_mpps = (double)rte_get_tsc_hz() / cmix / 1e6;
		mix_gbps = (double)(w3->mx.st.inspected_bytes - insp0) * 8 /
			   ((double)t / (double)rte_get_tsc_hz()) / 1e9;
		printf("bench: inspect_mix      %.1f cycles/pkt  %.2f Mpps/core  %.2f Gbit/s inspected "
		       "payload/core  (%u frames, %" PRIu64 " events/pass, %" PRIu64 " bytes inspected/pass)\n",
			cmix, mix_mpps, mix_gbps, nm, w3->mx.st.events / passes,
			(w3->mx.st.inspected_bytes - insp0) / passes);
		{
			struct sl_worker *w4 = new_worker(4, 1u << 18, 1u << 16, &runst, &home);

			block_latency(w4, c, nm, passes, &lat_p50, &lat_p99);
			printf("bench: block_latency    p50 %.1f us  p99 %.1f us  (%u hosts blocked: first "
			       "mining packet -> soft blocklist published; live adds up to the control "
			       "loop's 200 us pause)\n", lat_p50, lat_p99, lat.nlat);
		}
		printf("bench: inspect_mix_off  %.1f cycles/pkt  (same mix, detection off: inspection "
		       "costs %.1f cycles/pkt, %.2f cycles per inspected byte)\n",
			cmix_off, cmix - cmix_off,
			(cmix - cmix_off) * (double)pk /
				(double)(w3->mx.st.inspected_bytes - insp0 ? w3->mx.st.inspected_bytes - insp0 : 1));
	}

	double hz = (double)rte_get_tsc_hz();
	printf("bench: established_10k  %.1f cycles/pkt  %.2f Mpps/core\n", c10k, hz / c10k / 1e6);
	printf("bench: established_1m   %.1f cycles/pkt  %.2f Mpps/core\n", c1m, hz / c1m / 1e6);
	printf("bench: new_flow         %.1f cycles/pkt  %.2f Mpps/core\n", cnew, hz / cnew / 1e6);
	printf("bench-data: %.2f %.2f %.2f %.1f %.2f %.2f %.1f %.1f %.1f\n", hz / c10k / 1e6,
		hz / c1m / 1e6, hz / cnew / 1e6, c10k, mix_mpps, mix_gbps, cmix, lat_p50, lat_p99);
	rte_eal_cleanup();
	return 0;
}
