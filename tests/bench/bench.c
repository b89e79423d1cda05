/* bench.c: measures sluice's worker path with packets already in memory (no PMD cost).
 * It builds Ethernet/IPv4/TCP frames into mbufs once, then runs the real worker pipeline
 * (sl_worker_process: parse, bulk flow lookup, flow and host accounting, payload capture,
 * plus the sweep/report housekeeping every 16 bursts as the live loop does) over them:
 *   established_10k: 10 k flows, 32 packets each, interleaved so flows spread over the table
 *   established_1m:  1 M flows already in the table, one packet each per pass
 *   new_flow:        1 M packets, each opening a new flow
 * and prints TSC cycles per packet and Mpps per core. It also writes the 10 k-flow packets as
 * a pcap for ndpiReader. usage: sluice-bench PCAP_OUT [passes] [quick] (EAL args are built
 * here; 'quick' runs only the 10 k case, for callgrind). */
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

#include "sl_port.h"
#include "sl_worker.h"

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

static struct sl_worker *
new_worker(unsigned int id, uint32_t capacity, uint32_t hosts, struct sl_run *runst, const struct sl_cidr_set *home)
{
	struct sl_worker *w = rte_zmalloc("bw", sizeof(*w), RTE_CACHE_LINE_SIZE);
	struct sl_worker_conf c = {
		.flow = {.capacity = capacity, .payload_buffers = 16384, .payload_bytes = 2048,
			 .tcp_new_us = 30000000, .tcp_est_us = 600000000, .tcp_closed_us = 10000000,
			 .udp_us = 120000000, .other_us = 30000000, .long_us = 120000000},
		.host_capacity = hosts,
		.ring_size = 1u << 16,
		.report_us = 1000000,
		.aging_batch = 256,
		.home = home,
		.top_flows = 0,
		.keep_mbufs = true,
	};
	if (w == NULL || sl_worker_init(w, id, &c, runst, (int)rte_socket_id()) < 0) {
		fprintf(stderr, "bench: worker init: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	sl_worker_add_rxq(w, 0, 0, false, 1);
	return w;
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
	int huge = 0;
	FILE *mi = fopen("/proc/meminfo", "r");
	char line[256];
	static struct sl_run runst;
	static struct sl_cidr_set home;
	unsigned int passes = argc > 2 ? (unsigned int)atoi(argv[2]) : 20;

	while (mi != NULL && fgets(line, sizeof(line), mi) != NULL) {
		unsigned long v;

		if (sscanf(line, "HugePages_Free: %lu", &v) == 1 && v >= 1024)
			huge = 1;
	}
	if (mi != NULL)
		fclose(mi);
	snprintf(prefix, sizeof(prefix), "--file-prefix=sl-bench-%d", (int)getpid());
	char *eal[] = {argv[0], huge ? "-m4096" : "--no-huge", huge ? "--no-pci" : "-m4096",
		"--no-pci", "--no-shconf", "--no-telemetry", prefix, "-l", "0",
		"--log-level=lib.*:error", NULL};
	if (rte_eal_init(10, eal) < 0 || sl_port_dyn_register() < 0) {
		fprintf(stderr, "bench: EAL init failed\n");
		return 1;
	}
	printf("bench: memory: %s\n", huge ? "hugepages" : "no hugepages available, using --no-huge (4 KiB pages: more TLB misses)");
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
	struct rte_mbuf **b = quick ? NULL : make_mbufs(mp, n1m, n1m, 1);

	write_pcap(argc > 1 ? argv[1] : "/tmp/sluice-bench.pcap", a, n10k);

	/* (a) 10 k established flows: one warm pass creates them, then measure */
	struct sl_worker *w = new_worker(0, 1u << 16, 1u << 16, &runst, &home);
	run(w, a, n10k, 1);
	drain(w);
	double c10k = 1e9;
	for (int rep = 0; rep < 3; rep++) {
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
	struct sl_worker *w2 = new_worker(1, 1u << 21, 1u << 21, &runst, &home);
	double cnew = run(w2, b, n1m, 1);
	drain(w2);
	double c1m = run(w2, b, n1m, 3);
	drain(w2);

	double hz = (double)rte_get_tsc_hz();
	printf("bench: established_10k  %.1f cycles/pkt  %.2f Mpps/core\n", c10k, hz / c10k / 1e6);
	printf("bench: established_1m   %.1f cycles/pkt  %.2f Mpps/core\n", c1m, hz / c1m / 1e6);
	printf("bench: new_flow         %.1f cycles/pkt  %.2f Mpps/core\n", cnew, hz / cnew / 1e6);
	printf("bench-data: %.2f %.2f %.2f %.1f\n", hz / c10k / 1e6, hz / c1m / 1e6, hz / cnew / 1e6,
		c10k);
	rte_eal_cleanup();
	return 0;
}
