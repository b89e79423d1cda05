/* fuzz_packet.c: libFuzzer target for the whole per-packet path, sl_worker_process()
 * (lib/worker/worker.c): L2-L4 parsing (sl_pkt_parse, with headers linearised when they
 * straddle mbuf segments), the flow table (bulk lookup, creation, TCP state, in-order payload
 * capture read from chained mbufs), inspection of the captured bytes, per-host counters and
 * events sent over the worker's channel, per-flow message statistics and flow samples (sampled
 * at every packet: interval 1 us, no minimum age); then housekeeping (sweep, host reports)
 * and the final flush (sl_worker_finish). The drained records feed a real scorer
 * (lib/score, shipped defaults), as the control core would.
 *
 * LLVMFuzzerInitialize starts DPDK's EAL without hugepages (one lcore; the worker runs on the
 * calling thread: sl_worker_process is called directly, as tests/bench does), registers the
 * mbuf dynamic fields, makes an mbuf pool, the detection holder (sl_match_create, one worker;
 * lists from $SL_FUZZ_DOMAINS / $SL_FUZZ_IPS, else config/ when present, else none) and one
 * live-mode worker (offline = false: a full channel is counted, never waited on) with small
 * tables.
 *
 * Input: byte 0 selects
 *   bits 0-2  link type: EN10MB, RAW, LINUX_SLL, NULL, LINUX_SLL2, LOOP, IPV4, IPV6
 *   bit 3     queue with per-frame metadata (sl_mbuf_meta: link type, wire length) instead
 *             of a queue whose link type is fixed and whose wire length is the frame length
 *   bit 4     home_nets = 10.0.0.0/8 192.168.0.0/16 fd00::/8 (else empty)
 *   bit 5     housekeeping (sweep, report) after the burst
 *   bit 6     one burst per frame (time moves between them: flow samples are sent)
 * then up to 8 frames, each [ctl][len_hi][len_lo] and len & 0xfff bytes (cut to what is left):
 *   ctl bits 0-2  metadata queue: wire length = frame length + {0,1,20,100,1000,1460,9000,
 *                 65535}[..] (a snaplen-cut capture)
 *   ctl bits 3-7  first mbuf segment holds k * 8 bytes (k = 1..31), the rest in 1 KiB
 *                 segments; 0: every segment full
 * All frames go through sl_worker_process() in one burst; it frees them. Every input ends
 * with sl_worker_finish(), so each input starts from an empty flow table, and the channel is
 * drained after every step. Checks: every mbuf is back in the pool (no leak, no double free),
 * received = sum of outcomes, channel records well formed. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "fuzz_common.h"
#include "sl_cfg.h"
#include "sl_chan.h"
#include "sl_flow.h"
#include "sl_match.h"
#include "sl_pkt.h"
#include "sl_port.h"
#include "sl_score.h"
#include "sl_worker.h"

#define MAX_FRAMES 8
#define SEG_ROOM 1024 /* mbuf data room: frames above it are chained */
#define NB_MBUFS 511

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rte_mempool *mp;
static struct sl_match *match;
static struct sl_worker *w;
static struct sl_run run;
static struct sl_cidr_set home_empty, home_nets;
static char runtime_dir[PATH_MAX];
static uint64_t nevents, nhosts, nsamples;
static struct sl_score *score;

static const int linktypes[8] = {SL_DLT_EN10MB, SL_DLT_RAW, SL_DLT_LINUX_SLL, SL_DLT_NULL,
	SL_DLT_LINUX_SLL2, SL_DLT_LOOP, SL_DLT_IPV4, SL_DLT_IPV6};
static const uint32_t wire_extra[8] = {0, 1, 20, 100, 1000, 1460, 9000, 65535};

/* Runs after EAL's own exit handlers (registered before rte_eal_init). */
static void
remove_runtime_dir(void)
{
	if (runtime_dir[0] != '\0')
		rmdir(runtime_dir);
}

/* At exit: what the run reached (outcomes, events, host reports), for the log. */
static void
summary(void)
{
	fprintf(stderr, "fuzz_packet: %llu frames, %llu events (%llu lost), %llu host records, "
		"%llu flow samples;", (unsigned long long)w->rx_pkts, (unsigned long long)nevents,
		(unsigned long long)w->mx.st.events_lost, (unsigned long long)nhosts,
		(unsigned long long)nsamples);
	for (unsigned int o = 0; o < SL_PKT_OUTCOME_MAX; o++)
		if (w->outcome[o] != 0)
			fprintf(stderr, " %s=%llu", sl_pkt_outcome_name(o),
				(unsigned long long)w->outcome[o]);
	fprintf(stderr, "\n");
}

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_packet: %s: %s\n", what, rte_strerror(rte_errno));
	exit(1);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char prefix[64], err[1024] = "";
	char *eal[] = {(char *)(uintptr_t)"fuzz_packet", (char *)(uintptr_t)"--no-huge",
		(char *)(uintptr_t)"-m", (char *)(uintptr_t)"256", (char *)(uintptr_t)"--no-pci",
		(char *)(uintptr_t)"--no-shconf", (char *)(uintptr_t)"--no-telemetry", prefix,
		(char *)(uintptr_t)"--log-level=lib.*:error", (char *)(uintptr_t)"-l",
		(char *)(uintptr_t)"0", NULL};
	struct sl_match_conf mc;
	struct sl_worker_conf c;

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

	mc = (struct sl_match_conf){
		.domains_path = fuzz_list_path("SL_FUZZ_DOMAINS", "pools.domains"),
		.ips_path = fuzz_list_path("SL_FUZZ_IPS", "pools.ips"),
		.detectors_path = "",
		.nworkers = 1,
		.socket = (int)rte_socket_id(),
	};
	match = sl_match_create(&mc, err, sizeof(err));
	if (match == NULL) {
		fprintf(stderr, "fuzz_packet: detection: %s\n", err[0] ? err : rte_strerror(rte_errno));
		exit(1);
	}
	if (sl_cidr_set_parse(&home_nets, "10.0.0.0/8 192.168.0.0/16 fd00::/8", err,
		sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_packet: home_nets: %s\n", err);
		exit(1);
	}

	memset(&c, 0, sizeof(c));
	c.flow = (struct sl_flow_params){.capacity = 4096, .payload_buffers = 1024,
		.payload_bytes = 2048, .tcp_new_us = 30000000, .tcp_est_us = 600000000,
		.tcp_closed_us = 10000000, .udp_us = 120000000, .other_us = 30000000,
		.long_us = 120000000, .state_bytes = sizeof(struct sl_mstate),
		.beh_msg_gap_us = 50000, .beh_reply_us = 1000000, .beh_bulk_bytes = 65536};
	c.sample_us = 1;
	c.sample_min_age_us = 0;
	c.host_capacity = 1024;
	c.ring_size = 1024;
	c.report_us = 1000; /* so that housekeeping reports most of the time */
	c.aging_batch = 256;
	c.offline = false;
	c.home = &home_empty;
	c.top_flows = 8;
	c.keep_mbufs = false;
	c.match = match;
	{
		struct sl_cfg cfg;
		struct sl_score_params sp;
		struct sl_base_params bp;

		sl_cfg_defaults(&cfg);
		if (sl_score_params_from_cfg(&cfg, &sp, &bp, err, sizeof(err)) < 0)
			die("score params");
		sp.capacity = 256;
		score = sl_score_create(&sp, (int)rte_socket_id(), NULL, NULL);
		if (score == NULL)
			die("sl_score_create");
	}
	w = rte_zmalloc("fuzz_worker", sizeof(*w), RTE_CACHE_LINE_SIZE);
	if (w == NULL)
		die("worker");
	if (sl_worker_init(w, 0, &c, &run, (int)rte_socket_id()) < 0)
		die("sl_worker_init");
	w->db = sl_match_current(match);
	sl_match_worker_online(match, 0);
	if (sl_worker_add_rxq(w, 0, 0, false, SL_DLT_EN10MB) < 0 ||
	    sl_worker_add_rxq(w, 0, 1, true, 0) < 0)
		die("rx queues");
	atexit(summary);
	return 0;
}

/* Take every record off the channel, as the control core does. */
static void
drain(void)
{
	struct sl_msg msg[64];
	unsigned int n;

	while ((n = sl_chan_recv(&w->chan, msg, 64)) > 0) {
		for (unsigned int i = 0; i < n; i++) {
			FUZZ_CHECK(msg[i].worker == 0);
			FUZZ_CHECK(msg[i].type == SL_MSG_HOST || msg[i].type == SL_MSG_EVENT ||
				   msg[i].type == SL_MSG_FLOW);
			if (msg[i].type == SL_MSG_EVENT) {
				FUZZ_CHECK(msg[i].u.event.detector < SL_DET_MAX);
				FUZZ_CHECK(msg[i].u.event.excerpt_len <= SL_EVIDENCE_MAX);
				sl_score_detection(score, &msg[i].u.event, 90);
				nevents++;
			} else if (msg[i].type == SL_MSG_FLOW) {
				const struct sl_flow_sample *fs = &msg[i].u.flow;
				struct sl_beh b;

				FUZZ_CHECK(fs->final <= 1 && fs->proto == 6);
				FUZZ_CHECK((uint32_t)fs->crep + fs->cmiss <= fs->cn);
				FUZZ_CHECK(fs->urep + fs->umiss <= fs->un && fs->un <= fs->unsol);
				FUZZ_CHECK(fs->unsol <= fs->msgs[1]);
				FUZZ_CHECK(sl_score_behaviour(&(struct sl_score_params){0}, fs, &b) == 0 ||
					   b.points <= 100);
				sl_score_sample(score, fs, true);
				nsamples++;
			} else {
				nhosts++;
			}
		}
	}
	{
		struct sl_score_view v;

		if (sl_score_top(score, sl_score_now(score), &v, 1) == 1)
			FUZZ_CHECK(v.score > 0 && v.score <= 100.0f && v.nsig <= SL_SCORE_SIGNALS);
	}
}

/* One frame of len bytes as an mbuf chain; the first segment holds first bytes (0 = full). */
static struct rte_mbuf *
build(const uint8_t *p, uint32_t len, uint32_t first)
{
	struct rte_mbuf *head = rte_pktmbuf_alloc(mp), *seg = head;
	uint32_t off = 0;

	FUZZ_CHECK(head != NULL);
	for (;;) {
		uint32_t room = rte_pktmbuf_tailroom(seg), n = len - off;
		char *d;

		if (seg == head && first != 0 && first < room)
			room = first;
		if (n > room)
			n = room;
		d = rte_pktmbuf_append(seg, (uint16_t)n);
		FUZZ_CHECK(d != NULL);
		memcpy(d, p + off, n);
		off += n;
		if (seg != head) {
			FUZZ_CHECK(rte_pktmbuf_chain(head, seg) == 0);
		}
		if (off == len)
			return head;
		seg = rte_pktmbuf_alloc(mp);
		FUZZ_CHECK(seg != NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *m[MAX_FRAMES];
	unsigned int n = 0;
	size_t pos = 1;
	struct sl_rxq *q;
	uint8_t sel;
	int lt;
	uint64_t sum = 0;

	if (size < 1)
		return 0;
	sel = data[0];
	lt = linktypes[sel & 7];
	q = (sel & 0x08) ? &w->rxq[1] : &w->rxq[0];
	q->linktype = lt;
	w->conf.home = (sel & 0x10) ? &home_nets : &home_empty;

	while (n < MAX_FRAMES && pos + 3 <= size) {
		uint8_t ctl = data[pos];
		uint32_t len = ((uint32_t)data[pos + 1] << 8 | data[pos + 2]) & 0x0fff;

		pos += 3;
		if (len > size - pos)
			len = (uint32_t)(size - pos);
		m[n] = build(data + pos, len, (uint32_t)(ctl >> 3) * 8);
		pos += len;
		sl_mbuf_set_ts_us(m[n], 1700000000000000ull + n);
		if (q->meta) {
			struct sl_mbuf_meta *md = sl_mbuf_meta(m[n]);

			md->linktype = (uint16_t)lt;
			md->wire_len = len + wire_extra[ctl & 7];
			md->pad = 0;
		}
		n++;
	}
	if (n > 0 && (sel & 0x40)) {
		for (unsigned int i = 0; i < n; i++) {
			sl_worker_process(w, q, &m[i], 1);
			drain();
		}
	} else if (n > 0) {
		sl_worker_process(w, q, m, n);
	}
	drain();
	if (sel & 0x20) {
		sl_worker_housekeeping(w);
		drain();
	}
	sl_match_quiescent(match, 0);
	sl_worker_finish(w, w->now_us);
	drain();

	FUZZ_CHECK(rte_mempool_avail_count(mp) == NB_MBUFS);
	for (unsigned int o = 0; o < SL_PKT_OUTCOME_MAX; o++)
		sum += w->outcome[o];
	FUZZ_CHECK(sum == w->rx_pkts);
	return 0;
}
