/* fuzz_capture.c: libFuzzer target for capture files and the offline pipeline behind them.
 * The input is a whole capture file (classic pcap in any of its magics and byte orders, or
 * pcapng): file headers, section and interface blocks, record headers (times, lengths,
 * interface ids) and frames are all the fuzzer's. It is written to a memfd and read through
 * the real reader, sl_input_open() and sl_input_run() (lib/input: libpcap for classic pcap,
 * pcapng.c for pcapng, timestamp and length checks, mbuf chains, the symmetric queue hash),
 * into two rings. The reader's poll callback (called whenever it waits for ring space or mbufs)
 * drains the rings through one offline worker (sl_worker_process in full bursts, housekeeping
 * after each, as poll_offline does), and the worker's channel into a control-side host table
 * (sl_chost_apply) and a real scorer (detections, flow samples, sl_score_advance on the
 * records' times with baselines), as the control core would. At the end the worker finishes
 * (sl_worker_finish), so every input starts with an empty flow table.
 *
 * LLVMFuzzerInitialize starts DPDK's EAL without hugepages (one lcore; everything runs on the
 * calling thread), registers the mbuf dynamic fields and makes the mbuf pool (small 512-byte
 * segments, so frames chain often), the rings, the detection holder (lists as in
 * fuzz_packet), the worker (offline, small tables: 16 host slots, so that a full host table
 * and its reclaim of idle flows' slots are reached), the control host table and the scorer.
 *
 * Checks after every input: every mbuf is back in the pool (no leak, no double free), every
 * worker host slot is free again (no reference lost or doubled by reclaims); what the
 * reader read is what the worker received (conservation), and received = sum of outcomes;
 * bytes the reader counted are at most SL_INPUT_MAX_WIRE per packet (lengths are bounded); the
 * reader's first/last times are inside [0, 2^31) s; an input that fails to open says why. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "fuzz_common.h"
#include "sl_cfg.h"
#include "sl_chan.h"
#include "sl_flow.h"
#include "sl_host.h"
#include "sl_input.h"
#include "sl_match.h"
#include "sl_pkt.h"
#include "sl_port.h"
#include "sl_score.h"
#include "sl_worker.h"

#define NQ 2
#define RING_SIZE 64
#define SEG_ROOM 512  /* mbuf data room: frames above it are chained */
#define NB_MBUFS 2047 /* a 256 KiB frame takes 512 segments; rings and batches hold ~200 */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rte_mempool *mp;
static struct rte_ring *rings[NQ];
static struct sl_match *match;
static struct sl_worker *w;
static struct sl_run run;
static struct sl_cidr_set home_empty;
static struct sl_chost_table *chosts;
static struct sl_score *score;
static struct sl_base_params basep;
static uint64_t tick_us;
static char runtime_dir[PATH_MAX];
static int memfd = -1;
static char mempath[64];
static uint64_t ninputs, nopened, npkts, nevents, nhosts, nsamples, nbadlen, nbadrec;

static void
remove_runtime_dir(void)
{
	if (runtime_dir[0] != '\0')
		rmdir(runtime_dir);
}

static void
summary(void)
{
	fprintf(stderr, "fuzz_capture: %llu inputs, %llu opened, %llu packets, %llu events, "
		"%llu host records, %llu flow samples, %llu bad lengths, %llu bad records, "
		"%llu host reclaims, %llu detached\n",
		(unsigned long long)ninputs, (unsigned long long)nopened,
		(unsigned long long)npkts, (unsigned long long)nevents,
		(unsigned long long)nhosts, (unsigned long long)nsamples,
		(unsigned long long)nbadlen, (unsigned long long)nbadrec,
		(unsigned long long)sl_whost_stats(w->hosts)->reclaims,
		(unsigned long long)sl_whost_stats(w->hosts)->detached);
}

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_capture: %s: %s\n", what, rte_strerror(rte_errno));
	exit(1);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char prefix[64], err[1024] = "";
	char *eal[] = {(char *)(uintptr_t)"fuzz_capture", (char *)(uintptr_t)"--no-huge",
		(char *)(uintptr_t)"-m", (char *)(uintptr_t)"256", (char *)(uintptr_t)"--no-pci",
		(char *)(uintptr_t)"--no-shconf", (char *)(uintptr_t)"--no-telemetry", prefix,
		(char *)(uintptr_t)"--log-level=lib.*:error", (char *)(uintptr_t)"-l",
		(char *)(uintptr_t)"0", NULL};
	struct sl_match_conf mc;
	struct sl_worker_conf c;
	struct sl_cfg cfg;
	struct sl_score_params sp;

	(void)argc;
	(void)argv;
	snprintf(prefix, sizeof(prefix), "--file-prefix=sl-fuzz-%d", (int)getpid());
	atexit(remove_runtime_dir);
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0)
		die("rte_eal_init");
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	if (sl_port_dyn_register() < 0)
		die("mbuf dynamic fields");
	mp = rte_pktmbuf_pool_create("fuzz_mbufs", NB_MBUFS, 0, 0,
		SEG_ROOM + RTE_PKTMBUF_HEADROOM, (int)rte_socket_id());
	if (mp == NULL)
		die("mbuf pool");
	for (unsigned int q = 0; q < NQ; q++) {
		char name[32];

		snprintf(name, sizeof(name), "fuzz_ring%u", q);
		rings[q] = rte_ring_create(name, RING_SIZE, (int)rte_socket_id(),
			RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (rings[q] == NULL)
			die("ring");
	}
	memfd = memfd_create("fuzz_capture", 0);
	if (memfd < 0) {
		perror("fuzz_capture: memfd_create");
		exit(1);
	}
	snprintf(mempath, sizeof(mempath), "/proc/self/fd/%d", memfd);

	mc = (struct sl_match_conf){
		.domains_path = fuzz_list_path("SL_FUZZ_DOMAINS", "pools.domains"),
		.ips_path = fuzz_list_path("SL_FUZZ_IPS", "pools.ips"),
		.detectors_path = "",
		.nworkers = 1,
		.socket = (int)rte_socket_id(),
	};
	match = sl_match_create(&mc, err, sizeof(err));
	if (match == NULL) {
		fprintf(stderr, "fuzz_capture: detection: %s\n", err[0] ? err : rte_strerror(rte_errno));
		exit(1);
	}

	sl_cfg_defaults(&cfg);
	if (sl_score_params_from_cfg(&cfg, &sp, &basep, err, sizeof(err)) < 0)
		die("score params");
	sp.capacity = 256;
	score = sl_score_create(&sp, (int)rte_socket_id(), NULL, NULL);
	if (score == NULL)
		die("sl_score_create");
	tick_us = (uint64_t)cfg.score_interval_ms * 1000;
	chosts = sl_chost_create(256, (uint64_t)cfg.host_timeout * 1000000, (int)rte_socket_id());
	if (chosts == NULL)
		die("sl_chost_create");

	memset(&c, 0, sizeof(c));
	c.flow = (struct sl_flow_params){.capacity = 1024, .payload_buffers = 256,
		.payload_bytes = 2048, .tcp_new_us = 30000000, .tcp_est_us = 600000000,
		.tcp_closed_us = 10000000, .udp_us = 120000000, .other_us = 30000000,
		.long_us = 120000000, .state_bytes = sizeof(struct sl_mstate),
		.beh_msg_gap_us = 50000, .beh_reply_us = 1000000, .beh_bulk_bytes = 65536};
	c.sample_us = 1000000;
	c.sample_min_age_us = 0;
	c.host_capacity = 16; /* small: a full table and its reclaim are reached */
	c.ring_size = 16384; /* offline sends wait: one burst's records always fit */
	c.report_us = 1000000;
	c.aging_batch = 64;
	c.offline = true;
	c.home = &home_empty;
	c.top_flows = 8;
	c.match = match;
	w = rte_zmalloc("fuzz_worker", sizeof(*w), RTE_CACHE_LINE_SIZE);
	if (w == NULL)
		die("worker");
	if (sl_worker_init(w, 0, &c, &run, (int)rte_socket_id()) < 0)
		die("sl_worker_init");
	w->db = sl_match_current(match);
	sl_match_worker_online(match, 0);
	for (unsigned int q = 0; q < NQ; q++)
		if (sl_worker_add_rxq(w, 0, (uint16_t)q, true, 0) < 0)
			die("rx queues");
	atexit(summary);
	return 0;
}

/* The worker's channel, as the control core takes it. */
static void
drain_chan(void)
{
	struct sl_msg msg[64];
	unsigned int n;

	while ((n = sl_chan_recv(&w->chan, msg, 64)) > 0) {
		for (unsigned int i = 0; i < n; i++) {
			uint64_t ts = 0;

			FUZZ_CHECK(msg[i].worker == 0);
			if (msg[i].type == SL_MSG_EVENT) {
				FUZZ_CHECK(msg[i].u.event.detector < SL_DET_MAX);
				FUZZ_CHECK(msg[i].u.event.excerpt_len <= SL_EVIDENCE_MAX);
				sl_score_detection(score, &msg[i].u.event, 90);
				ts = msg[i].u.event.ts_us;
				nevents++;
			} else if (msg[i].type == SL_MSG_FLOW) {
				sl_score_sample(score, &msg[i].u.flow, true);
				ts = msg[i].u.flow.ts_us;
				nsamples++;
			} else {
				FUZZ_CHECK(msg[i].type == SL_MSG_HOST);
				(void)sl_chost_apply(chosts, &msg[i].u.host);
				ts = msg[i].u.host.ts_us;
				nhosts++;
			}
			sl_score_advance(score, chosts, &basep, tick_us, ts);
		}
	}
}

/* Whatever the rings hold, through the worker in bursts (full ones unless @p all). */
static void
drain_rings(bool all)
{
	struct rte_mbuf *m[SL_BURST];

	for (unsigned int q = 0; q < NQ; q++) {
		for (;;) {
			unsigned int avail = rte_ring_count(rings[q]), n;

			if (avail == 0 || (!all && avail < SL_BURST))
				break;
			n = rte_ring_sc_dequeue_burst(rings[q], (void **)m, SL_BURST, NULL);
			sl_worker_process(w, &w->rxq[q], m, n);
			sl_worker_housekeeping(w);
			drain_chan();
		}
	}
	sl_match_quiescent(match, 0);
}

static int
poll_cb(void *arg)
{
	(void)arg;
	drain_rings(false);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	char *paths[1] = {mempath};
	struct sl_input *in;
	const struct sl_input_stats *st;
	uint64_t rx0 = w->rx_pkts, sum = 0;
	int rc;

	ninputs++;
	FUZZ_CHECK(ftruncate(memfd, 0) == 0);
	FUZZ_CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);
	in = sl_input_open(paths, 1, err, sizeof(err));
	if (in == NULL) {
		FUZZ_CHECK(err[0] != '\0'); /* refused with a reason */
		return 0;
	}
	nopened++;
	FUZZ_CHECK(sl_input_nfiles(in) == 1);
	rc = sl_input_run(in, mp, rings, NQ, poll_cb, NULL);
	FUZZ_CHECK(rc == 0 || rc == -EIO);
	FUZZ_CHECK(rc == 0 || sl_input_nerrors(in) > 0);
	drain_rings(true);
	st = sl_input_stats(in);
	sl_worker_finish(w, RTE_MAX(w->now_us, st->last_us));
	drain_chan();

	FUZZ_CHECK(rte_mempool_avail_count(mp) == NB_MBUFS);
	FUZZ_CHECK(sl_whost_in_use(w->hosts) == 0); /* every flow ended, every slot reported */
	FUZZ_CHECK(w->rx_pkts - rx0 == st->packets);
	FUZZ_CHECK(st->bytes <= st->packets * (uint64_t)SL_INPUT_MAX_WIRE);
	FUZZ_CHECK(st->snapped <= st->packets && st->bad_lengths <= st->packets);
	if (st->packets > 0) {
		FUZZ_CHECK(st->first_us <= st->last_us);
		FUZZ_CHECK(st->last_us < (1ull << 31) * 1000000ull);
	}
	for (unsigned int o = 0; o < SL_PKT_OUTCOME_MAX; o++)
		sum += w->outcome[o];
	FUZZ_CHECK(sum == w->rx_pkts);
	npkts += st->packets;
	nbadlen += st->bad_lengths;
	nbadrec += st->bad_records;
	sl_input_close(in);
	return 0;
}
