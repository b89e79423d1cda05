/* main.c: sluice's entry point. Parses arguments and config (exit 2 on error, before
 * anything starts), builds the EAL arguments for offline runs, then wires the components:
 * ports (lib/port), workers (lib/worker) on every worker lcore, the offline reader
 * (lib/input) or live polling, the control core's channel drain and host table (lib/chan,
 * lib/host) on the main lcore, and the end-of-run reports (lib/report). */
#include <errno.h>
#include <inttypes.h>
#include <numa.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_telemetry.h>

#include "args.h"
#include "eal.h"
#include "hostq.h"
#include "mbox.h"
#include "ops.h"
#include "sl_block.h"
#include "sl_cfg.h"
#include "sl_chan.h"
#include "sl_common.h"
#include "sl_host.h"
#include "sl_input.h"
#include "sl_match.h"
#include "sl_metrics.h"
#include "sl_port.h"
#include "sl_report.h"
#include "sl_score.h"
#include "sl_worker.h"

#define MAX_PORTS 32
#define MAX_PCAP_VDEVS 16

static int sig_stop;   /* set by SIGINT/SIGTERM (atomic store) */
static int sig_reload; /* set by SIGUSR2: reload lists and detector overrides */
static int sig_reopen; /* set by SIGHUP: reopen the events file (log rotation) */

static void
on_signal(int sig)
{
	if (sig == SIGUSR2)
		__atomic_store_n(&sig_reload, 1, __ATOMIC_RELAXED);
	else if (sig == SIGHUP)
		__atomic_store_n(&sig_reopen, 1, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&sig_stop, 1, __ATOMIC_RELAXED);
}

/* Reload requests from the telemetry command, answered by the control loop. */
static struct {
	struct mbox mb;     /* requests from the telemetry command */
	int rc;             /* result of the last one */
	char msg[512];      /* its message */
	uint32_t generation;
} tel_reload;

struct app {
	struct sl_args args;
	struct sl_cfg cfg;
	struct sl_run run;
	struct sl_input *input;
	struct rte_mempool *mp;
	struct sl_chost_table *hosts;
	unsigned int nworkers;
	struct sl_worker *workers[SL_MAX_WORKERS];
	unsigned int nports;
	struct sl_report_port ports[MAX_PORTS];
	struct rte_ring *rings[SL_MAX_WORKERS];
	uint64_t msgs;
	uint64_t last_age_us;
	struct sl_match *match;        /* detection tables (NULL: detect = 0) */
	FILE *events;                  /* JSON event lines, or NULL */
	bool events_close;             /* events is a file we opened */
	uint64_t det_events[SL_DET_MAX]; /* events taken, per detector */
	uint64_t reloads, reload_errors;
	bool events_failed;
	struct sl_snapshot *metrics;   /* live: Prometheus text published for /metrics */
	struct sl_snapshot *stats;     /* live: "name value" lines for /sluice/stats */
	struct sl_http *http;          /* live: the /metrics endpoint */
	struct sl_text text;           /* render buffer (control core) */
	uint64_t next_metrics_us;
	struct sl_score *score;        /* host scores (NULL: score = 0) */
	struct sl_score_params score_p;
	struct sl_base_params base_p;
	uint64_t next_stats_us;        /* live: next stats event */
	uint64_t rec_now_us;           /* latest record time (the control core's packet clock) */
	struct sl_chan_merge merge;    /* offline: workers' records in time order */
	struct sl_block *block;        /* the response (NULL: mode = monitor) */
	struct sl_block_params block_p;
	uint64_t next_block_tick_us;
	bool merging;
	/* net_pcap vdevs named on the command line and their files' link type */
	unsigned int npcap;
	char pcap_name[MAX_PCAP_VDEVS][64];
	int pcap_lt[MAX_PCAP_VDEVS];
};

static uint64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A shipped list that is not where the build expects it is a warning; a list the operator
 * named and that is missing is an error (sl_match_create() reports it). */
static void
shipped_list(char *path, const char *key, const char *what)
{
	for (unsigned int k = 0; k < sl_cfg_num_str_keys(); k++) {
		const char *def = sl_cfg_str_key_default(k);

		if (strcmp(sl_cfg_str_key_name(k), key) != 0 || strcmp(path, def) != 0)
			continue;
		if (access(def, R_OK) != 0) {
			fprintf(stderr, "sluice: warning: %s: %s; no %s\n", def, strerror(errno), what);
			path[0] = '\0';
		}
	}
}

static void
events_failed(struct app *a)
{
	fprintf(stderr, "sluice: writing events: %s\n", strerror(errno));
	a->events_failed = true;
}

/* Control core: one detection from a worker: written out, then scored. */
static void
on_event(void *arg, unsigned int worker, const struct sl_event *ev)
{
	struct app *a = arg;
	unsigned int weight;

	RTE_SET_USED(worker);
	if (ev->detector >= SL_DET_MAX)
		return;
	a->det_events[ev->detector]++;
	weight = sl_match_db_weight(sl_match_current(a->match), ev->detector);
	if (a->events != NULL && !a->events_failed && sl_report_event(a->events, ev, weight) < 0)
		events_failed(a);
	if (a->score != NULL)
		sl_score_detection(a->score, ev, weight);
}

/* Control core: one flow's behaviour sample. */
static void
on_flow(void *arg, unsigned int worker, const struct sl_flow_sample *s)
{
	struct app *a = arg;

	RTE_SET_USED(worker);
	if (a->score != NULL)
		sl_score_sample(a->score, s);
}

static void control_block(struct app *a, uint64_t now);

/* Control core: time moves (record time): decay passes and baseline buckets fall due. */
static void
on_clock(void *arg, uint64_t ts_us)
{
	struct app *a = arg;

	if (ts_us > a->rec_now_us)
		a->rec_now_us = ts_us;
	if (!a->args.live) /* offline, expiries follow packet time */
		control_block(a, ts_us);
	if (a->score != NULL)
		sl_score_advance(a->score, a->hosts, &a->base_p, a->cfg.score_interval_ms * 1000,
			ts_us);
}

/* Scorer: a host crossed a threshold (alert with its reasons, or a level change). */
static void
on_note(void *arg, const struct sl_score_note *n)
{
	struct app *a = arg;

	if (a->events != NULL && !a->events_failed &&
	    sl_report_note(a->events, n, &a->score_p) < 0)
		events_failed(a);
	if (n->type == SL_NOTE_LEVEL && n->new_level == SL_LEVEL_BLOCK && a->block != NULL &&
	    a->cfg.block_auto)
		sl_block_verdict(a->block, n->v, n->ts_us);
}

/* Response: a rule made, refused or removed. */
static void
on_block_note(void *arg, const struct sl_block_note *n)
{
	struct app *a = arg;

	if (a->events != NULL && !a->events_failed && sl_report_block_note(a->events, n) < 0)
		events_failed(a);
	/* a lifted block: the host starts over, and is blocked again (longer) if it mines again */
	if (n->type == SL_BNOTE_UNBLOCK && a->score != NULL && n->text != NULL &&
	    strcmp(n->text, "exit") != 0)
		sl_score_release(a->score, n->r->key.host);
}

/* A host's last packet time, for "unblock only once quiet". */
static uint64_t
host_last_seen(void *arg, const uint8_t host[16])
{
	const struct sl_chost *h = sl_chost_find(((struct app *)arg)->hosts, host);

	return h != NULL ? h->last_us : 0;
}

/* Ports that came back (reset, link up): their NIC rules are created again by the control
 * core. Set from ethdev's interrupt thread, read and cleared by the control core. */
static uint64_t port_back;

static int
on_port_event(uint16_t port, enum rte_eth_event_type type, void *arg, void *ret)
{
	RTE_SET_USED(arg);
	RTE_SET_USED(ret);
	if (port < 64 && (type == RTE_ETH_EVENT_INTR_RESET || type == RTE_ETH_EVENT_INTR_LSC))
		__atomic_fetch_or(&port_back, 1ull << port, __ATOMIC_RELEASE);
	return 0;
}

/* Response housekeeping: expiries (at most every 100 ms of the given clock). */
static void
control_block(struct app *a, uint64_t now)
{
	uint64_t back;

	if (a->block == NULL || now < a->next_block_tick_us)
		return;
	a->next_block_tick_us = now + 100000;
	back = __atomic_exchange_n(&port_back, 0, __ATOMIC_ACQUIRE);
	for (uint16_t p = 0; back != 0 && p < 64; p++) {
		struct rte_eth_link link;

		if (!(back & (1ull << p)))
			continue;
		/* a link that is up again may have lost its rules (resets do): put them back */
		if (rte_eth_link_get_nowait(p, &link) == 0 && link.link_status == RTE_ETH_LINK_UP)
			sl_block_reinstall(a->block, p, now);
	}
	sl_block_tick(a->block, now, host_last_seen, a);
}

/* Control core: reload the detection tables (SIGUSR2 or the telemetry command). A bad list
 * keeps the old tables. */
static int
do_reload(struct app *a, char *msg, size_t len)
{
	char err[512] = "";
	int rc;

	if (a->match == NULL) {
		snprintf(msg, len, "detection is off (detect = 0)");
		return -ENOTSUP;
	}
	rc = sl_match_reload(a->match, err, sizeof(err));
	if (rc < 0) {
		a->reload_errors++;
		snprintf(msg, len, "reload refused, keeping generation %u: %s",
			sl_match_db_generation(sl_match_current(a->match)), err);
	} else {
		uint32_t nd, nr, ndet, npat;

		a->reloads++;
		sl_match_db_sizes(sl_match_current(a->match), &nd, &nr, &ndet, &npat);
		snprintf(msg, len, "detection tables reloaded: generation %u, %u pool names, "
				   "%u pool ranges, %u detectors, %u patterns",
			sl_match_db_generation(sl_match_current(a->match)), nd, nr, ndet, npat);
	}
	fprintf(stderr, "sluice: %s\n", msg);
	return rc;
}

static void
control_reload(struct app *a)
{
	uint64_t ticket;

	if (__atomic_exchange_n(&sig_reopen, 0, __ATOMIC_RELAXED) && a->events_close) {
		FILE *nf;

		fflush(a->events);
		nf = fopen(a->args.events, "a");
		if (nf == NULL) {
			fprintf(stderr, "sluice: reopening --events %s: %s (keeping the old file)\n",
				a->args.events, strerror(errno));
		} else {
			fclose(a->events);
			a->events = nf;
			a->events_failed = false;
		}
	}
	if (__atomic_exchange_n(&sig_reload, 0, __ATOMIC_RELAXED)) {
		char msg[512];

		do_reload(a, msg, sizeof(msg));
	}
	if (mbox_pending(&tel_reload.mb, &ticket)) {
		tel_reload.rc = do_reload(a, tel_reload.msg, sizeof(tel_reload.msg));
		tel_reload.generation =
			a->match ? sl_match_db_generation(sl_match_current(a->match)) : 0;
		mbox_done(&tel_reload.mb, ticket); /* rc/msg are written before it */
	}
	if (a->match != NULL)
		sl_match_reclaim(a->match);
}

/* Telemetry: /sluice/reload asks the control core to reload and waits (5 s) for it. */
static int
tel_reload_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	if (mbox_post_wait(&tel_reload.mb, 5000) < 0) {
		rte_tel_data_add_dict_string(d, "status", "pending");
		return 0;
	}
	rte_tel_data_add_dict_string(d, "status", tel_reload.rc == 0 ? "ok" : "refused");
	rte_tel_data_add_dict_int(d, "generation", (int)tel_reload.generation);
	rte_tel_data_add_dict_string(d, "message", tel_reload.msg);
	return 0;
}

static bool all_done(struct app *a);

/* Control core: fold every worker's records into the host table, write events. */
static void
control_drain(struct app *a)
{
	struct sl_chan_sink k = {
		.hosts = a->hosts,
		.on_clock = on_clock,
		.on_event = on_event,
		.on_flow = on_flow,
		.arg = a,
	};

	if (a->merging) { /* offline: in time order, whatever the number of workers */
		a->msgs += sl_chan_merge_drain(&a->merge, &k, all_done(a));
		return;
	}
	for (unsigned int i = 0; i < a->nworkers; i++)
		a->msgs += sl_chan_drain_ev(&a->workers[i]->chan, &k, 4096);
}

static int
offline_poll(void *arg)
{
	struct app *a = arg;

	control_drain(a);
	control_reload(a);
	return __atomic_load_n(&sig_stop, __ATOMIC_RELAXED);
}

static struct sl_worker_conf
worker_conf(const struct app *a)
{
	const struct sl_cfg *c = &a->cfg;
	bool off = !a->args.live;
	struct sl_worker_conf wc = {
		.flow = {
			.capacity = (uint32_t)(off ? c->offline_flow_capacity : c->flow_capacity),
			.capacity_shown = (uint32_t)(off ? sl_eal_flow_capacity_shown() : 0),
			.payload_buffers = (uint32_t)(off ? c->offline_payload_buffers : c->payload_buffers),
			.payload_bytes = (uint32_t)c->payload_bytes,
			.tcp_new_us = c->tcp_new_timeout * 1000000,
			.tcp_est_us = c->tcp_established_timeout * 1000000,
			.tcp_closed_us = c->tcp_closed_timeout * 1000000,
			.udp_us = c->udp_timeout * 1000000,
			.other_us = c->other_timeout * 1000000,
			.long_us = c->long_flow_seconds * 1000000,
			.state_bytes = c->detect ? (uint32_t)sizeof(struct sl_mstate) : 0,
		},
		.host_capacity = (uint32_t)c->worker_host_capacity,
		.ring_size = (uint32_t)c->report_ring_size,
		.report_us = c->report_interval_ms * 1000,
		.aging_batch = (uint32_t)c->aging_batch,
		.idle_polls = (uint32_t)c->idle_polls,
		.idle_sleep_us = (uint32_t)c->idle_sleep_us,
		.offline = off,
		.home = &c->home_nets,
		.top_flows = (uint32_t)c->summary_top_flows,
		.match = a->match,
		.port_time = !off && c->port_time,
		.block = a->block,
		.drop_blocked = !off && a->block_p.mode == SL_MODE_INLINE,
		.sample_us = c->score ? c->flow_sample_s * 1000000 : 0,
		.sample_min_age_us = c->flow_sample_min_age_s * 1000000,
	};
	if (c->score && c->flow_sample_s > 0) {
		wc.flow.beh_msg_gap_us = (uint32_t)(c->beh_msg_gap_ms * 1000);
		wc.flow.beh_reply_us = (uint32_t)(c->beh_reply_ms * 1000);
		wc.flow.beh_bulk_bytes = (uint32_t)SL_MIN(c->beh_bulk_bytes, (uint64_t)UINT32_MAX);
	}
	return wc;
}

/* Offline: memory EAL must reserve for the tables the config asks for. */
static unsigned int
offline_memory_mb(const struct app *a, unsigned int mbufs)
{
	struct sl_worker_conf wc = worker_conf(a);
	uint64_t b = 0;

	b += a->cfg.workers * sl_worker_memsize(&wc);
	b += sl_chost_memsize((uint32_t)a->cfg.offline_host_capacity);
	if (a->cfg.score)
		b += sl_score_memsize((uint32_t)a->cfg.score_capacity);
	b += (uint64_t)mbufs * (RTE_MBUF_DEFAULT_BUF_SIZE + 256);
	b += 96ull << 20; /* EAL, rings, hash internals */
	if (a->cfg.detect) /* RCU state; Hyperscan and lists use the C heap */
		b += 4ull << 20;
	return (unsigned int)(b >> 20) + 1;
}

static unsigned int
offline_mbufs(const struct app *a)
{
	if (a->cfg.mbufs != 0)
		return (unsigned int)a->cfg.mbufs;
	return sl_eal_fit_mbufs((unsigned int)(a->cfg.workers * (a->cfg.rx_desc + 4 * SL_BURST) +
					       8192));
}

/* Offline EAL arguments: hugepages or not (eal.c), no PCI, a unique prefix, one lcore per
 * worker plus the main one, mapped onto the CPUs there are. */
static int
offline_eal_args(const struct app *a, char **argv, char store[][128])
{
	unsigned int n = 0, ncpu = (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	char *lc = store[10];
	size_t off = 0;

	if (ncpu == 0)
		ncpu = 1;
	argv[n++] = (char *)(uintptr_t)"sluice";
	n = (unsigned int)sl_eal_offline_mem_args(argv, (int)n,
		offline_memory_mb(a, offline_mbufs(a)), store[0]); /* hugepages or --no-huge */
	argv[n++] = (char *)(uintptr_t)"--no-pci";
	argv[n++] = (char *)(uintptr_t)"--no-telemetry"; /* offline has no operator to serve */
	snprintf(store[1], 128, "--file-prefix=sluice-%d-%" PRIu64, (int)getpid(), wall_us());
	argv[n++] = store[1];
	argv[n++] = (char *)(uintptr_t)"--log-level=lib.*:warning";
	off += (size_t)snprintf(lc, 128, "--lcores=");
	for (unsigned int i = 0; i <= a->cfg.workers && off < 120; i++)
		off += (size_t)snprintf(lc + off, 128 - off, "%s%u@%u", i ? "," : "", i, i % ncpu);
	argv[n++] = lc;
	argv[n] = NULL;
	return (int)n;
}

/* Live: remember which net_pcap vdevs read files, and those files' link type, so frames
 * that net_pcap hands over as Ethernet are parsed as what they are. */
static int
scan_pcap_vdevs(struct app *a)
{
	for (int i = 1; i < a->args.eal_argc; i++) {
		const char *v = NULL;
		char buf[1024], *save = NULL, *tok, err[512];
		int lt = -1;

		if (strcmp(a->args.eal_argv[i], "--vdev") == 0 && i + 1 < a->args.eal_argc)
			v = a->args.eal_argv[++i];
		else if (strncmp(a->args.eal_argv[i], "--vdev=", 7) == 0)
			v = a->args.eal_argv[i] + 7;
		if (v == NULL || strncmp(v, "net_pcap", 8) != 0 || a->npcap == MAX_PCAP_VDEVS)
			continue;
		snprintf(buf, sizeof(buf), "%s", v);
		tok = strtok_r(buf, ",", &save);
		snprintf(a->pcap_name[a->npcap], sizeof(a->pcap_name[0]), "%s", tok);
		while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
			int l;

			if (strncmp(tok, "rx_pcap=", 8) != 0)
				continue;
			l = sl_input_pcap_linktype(tok + 8, err, sizeof(err));
			if (l < 0) {
				fprintf(stderr, "sluice: --vdev %s: %s\n", a->pcap_name[a->npcap], err);
				return -1;
			}
			if (lt >= 0 && l != lt) {
				fprintf(stderr, "sluice: --vdev %s: rx_pcap files mix link types %s and "
						"%s; give each its own vdev\n", a->pcap_name[a->npcap],
					sl_pkt_linktype_name(lt), sl_pkt_linktype_name(l));
				return -1;
			}
			lt = l;
		}
		a->pcap_lt[a->npcap++] = lt < 0 ? SL_DLT_EN10MB : lt;
	}
	return 0;
}

static int
setup_workers(struct app *a)
{
	struct sl_worker_conf wc = worker_conf(a);
	unsigned int lcore, i = 0;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		int socket = (int)rte_lcore_to_socket_id(lcore), rc;

		if (i == a->nworkers)
			break;
		if (socket < 0 && numa_available() >= 0)
			socket = numa_node_of_cpu((int)rte_lcore_to_cpu_id((int)lcore));
		a->workers[i] = rte_zmalloc_socket("sl_worker", sizeof(struct sl_worker),
			RTE_CACHE_LINE_SIZE, socket);
		if (a->workers[i] == NULL)
			rc = -ENOMEM;
		else
			rc = sl_worker_init(a->workers[i], i, &wc, &a->run, socket);
		if (rc < 0) {
			fprintf(stderr, "sluice: worker %u: %s (raise memory or lower capacities)\n",
				i, rte_strerror(-rc));
			return -1;
		}
		a->workers[i]->lcore = lcore;
		i++;
	}
	return 0;
}

/* Port pairs forward: inline, and dry_run when the ports come in pairs (a dry run on a
 * bump in the wire must not cut the wire; on a SPAN port it stays passive). */
static bool
forwarding(const struct app *a)
{
	return a->block_p.mode == SL_MODE_INLINE ||
	       (a->block_p.mode == SL_MODE_DRY_RUN && a->nports >= 2 && !(a->nports & 1));
}

/* Give every (port, queue) to a worker, round robin. */
static int
assign_queues(struct app *a)
{
	unsigned int next = 0;

	if (a->args.live && a->block_p.mode == SL_MODE_INLINE && (a->nports & 1)) {
		fprintf(stderr, "sluice: mode = inline pairs ports (0-1, 2-3...): %u ports given\n",
			a->nports);
		return -1;
	}
	for (unsigned int p = 0; p < a->nports; p++) {
		const struct sl_port_info *pi = &a->ports[p].info;

		for (uint16_t q = 0; q < pi->nb_rxq; q++) {
			struct sl_worker *w = a->workers[next++ % a->nworkers];

			if (sl_worker_add_rxq(w, pi->port_id, q, pi->meta, pi->linktype) < 0) {
				fprintf(stderr, "sluice: too many queues for %u workers\n", a->nworkers);
				return -1;
			}
			if (a->args.live && forwarding(a)) { /* pairs 0-1, 2-3... */
				w->rxq[w->nrxq - 1].tx_port = a->ports[p ^ 1].info.port_id;
				w->rxq[w->nrxq - 1].tx_queue = (uint16_t)w->id;
			}
		}
	}
	return 0;
}

static int
setup_live_ports(struct app *a)
{
	uint16_t pid;
	unsigned int mbufs = 0;

	RTE_ETH_FOREACH_DEV(pid) {
		struct rte_eth_dev_info di;

		if (rte_eth_dev_info_get(pid, &di) == 0)
			mbufs += (unsigned int)(SL_MAX(a->cfg.rx_queues ? a->cfg.rx_queues : a->nworkers,
					       di.flow_type_rss_offloads ? 1u : di.max_rx_queues) *
					       (a->cfg.rx_desc + 2 * SL_BURST));
	}
	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, "sluice: no ports: bind a NIC (dpdk-devbind.py) or give --vdev\n");
		return -1;
	}
	mbufs = a->cfg.mbufs ? (unsigned int)a->cfg.mbufs : mbufs + 4096;
	a->mp = rte_pktmbuf_pool_create("sl_mbufs", mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
		(int)rte_socket_id());
	if (a->mp == NULL) {
		fprintf(stderr, "sluice: mbuf pool of %u: %s\n", mbufs, rte_strerror(rte_errno));
		return -1;
	}
	RTE_ETH_FOREACH_DEV(pid) {
		struct sl_report_port *rp;
		char err[512];
		uint16_t nq = (uint16_t)(a->cfg.rx_queues ? a->cfg.rx_queues : a->nworkers);

		if (a->nports == MAX_PORTS)
			break;
		rp = &a->ports[a->nports];
		unsigned int avail = rte_eth_dev_count_avail();
		bool pairs = a->block_p.mode == SL_MODE_INLINE ||
			     (a->block_p.mode == SL_MODE_DRY_RUN && avail >= 2 && !(avail & 1));

		if (sl_port_setup(pid, nq, pairs ? (uint16_t)a->nworkers : 0,
			    (uint16_t)a->cfg.rx_desc, a->mp, &rp->info, err, sizeof(err)) < 0) {
			fprintf(stderr, "sluice: %s\n", err);
			return -1;
		}
		for (unsigned int v = 0; v < a->npcap; v++)
			if (strcmp(a->pcap_name[v], rp->info.name) == 0)
				rp->info.linktype = a->pcap_lt[v];
		a->nports++;
	}
	return 0;
}

static int
setup_offline_port(struct app *a)
{
	unsigned int mbufs = offline_mbufs(a);
	int rc;

	a->mp = rte_pktmbuf_pool_create("sl_mbufs", mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
		(int)rte_socket_id());
	if (a->mp == NULL) {
		fprintf(stderr, "sluice: mbuf pool of %u: %s\n", mbufs, rte_strerror(rte_errno));
		return -1;
	}
	rc = sl_port_offline_create(a->nworkers, (unsigned int)rte_align32pow2((uint32_t)a->cfg.rx_desc),
		(int)rte_socket_id(), a->mp, &a->ports[0].info, a->rings);
	if (rc < 0) {
		fprintf(stderr, "sluice: offline port: %s\n", rte_strerror(-rc));
		return -1;
	}
	a->nports = 1;
	return 0;
}

static bool
all_done(struct app *a)
{
	for (unsigned int i = 0; i < a->nworkers; i++)
		if (!SL_LOAD_ACQUIRE(&a->run.done[i]))
			return false;
	return true;
}

static uint64_t
total_rx(struct app *a)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < a->nworkers; i++)
		n += SL_LOAD_RELAXED(&a->workers[i]->rx_pkts);
	return n;
}

static void control_metrics(struct app *a, uint64_t now);
static struct sl_report_ctx report_ctx(struct app *a, double elapsed);

/* Live control loop: drain channels, age hosts, stop on a signal or when idle. */
static void
control_live(struct app *a)
{
	uint64_t last_rx = 0, last_change = wall_us();

	while (!__atomic_load_n(&sig_stop, __ATOMIC_RELAXED)) {
		uint64_t wall = wall_us(), now = wall, rx;

		control_drain(a);
		if (a->cfg.port_time) /* time is the packets': it moves with the records */
			now = a->rec_now_us;
		else
			on_clock(a, now); /* decay goes on when no records come */
		control_reload(a);
		{
			struct hostq_src hq = {.hosts = a->hosts, .score = a->score};

			hostq_poll(&hq);
		}
		control_block(a, now);
		ops_poll(a->block, now);
		control_metrics(a, now);
		if (a->cfg.stats_interval_s && now >= a->next_stats_us) {
			struct sl_report_ctx rc = report_ctx(a, 0);

			if (a->next_stats_us != 0 && a->events != NULL && !a->events_failed &&
			    sl_report_stats_event(a->events, &rc, now) < 0)
				events_failed(a);
			a->next_stats_us = now + a->cfg.stats_interval_s * 1000000;
		}
		if (a->events != NULL)
			fflush(a->events);
		if (now - a->last_age_us > 100000) {
			sl_chost_age(a->hosts, now, 4096);
			a->last_age_us = now;
		}
		rx = total_rx(a);
		if (rx != last_rx) {
			last_rx = rx;
			last_change = wall;
		} else if (a->cfg.exit_idle_ms && wall - last_change > a->cfg.exit_idle_ms * 1000) {
			break;
		}
		rte_delay_us_sleep(200);
	}
}

static struct sl_report_ctx
report_ctx(struct app *a, double elapsed)
{
	struct sl_report_ctx rc = {
		.offline = !a->args.live,
		.cfg = &a->cfg,
		.input = a->input,
		.nports = a->nports,
		.ports = a->ports,
		.nworkers = a->nworkers,
		.workers = a->workers,
		.hosts = a->hosts,
		.msgs_received = a->msgs,
		.elapsed_s = elapsed,
		.db = a->match ? sl_match_current(a->match) : NULL,
		.det_events = a->det_events,
		.reloads = a->reloads,
		.reload_errors = a->reload_errors,
		.score = a->score,
		.block = a->block,
		.score_now_us = a->score != NULL ? sl_score_now(a->score) : 0,
	};
	return rc;
}

static uint64_t
hosts_tracked(struct app *a)
{
	struct sl_chost_totals ht;

	sl_chost_totals(a->hosts, &ht);
	return ht.hosts;
}

/* Live control core: render the metrics and stats snapshots (never waits on anyone). */
static void
control_metrics(struct app *a, uint64_t now)
{
	struct sl_report_ctx rc;
	uint64_t t0 = rte_rdtsc(), rx = 0, bytes = 0, active = 0, lost = 0, full = 0, ev = 0;
	double secs;

	if (a->stats == NULL || now < a->next_metrics_us)
		return;
	a->next_metrics_us = now + a->cfg.metrics_interval_ms * 1000;
	for (unsigned int p = 0; p < a->nports; p++)
		a->ports[p].stats_rc = rte_eth_stats_get(a->ports[p].info.port_id, &a->ports[p].st);
	rc = report_ctx(a, 0);
	if (a->metrics != NULL) {
		secs = (double)(rte_rdtsc() - t0) / (double)rte_get_tsc_hz();
		sl_metrics_render(&a->text, &rc, secs, now);
		if (!a->text.oom)
			sl_snapshot_publish(a->metrics, a->text.p, a->text.len);
	}
	for (unsigned int i = 0; i < a->nworkers; i++) {
		const struct sl_worker *w = a->workers[i];

		rx += SL_LOAD_RELAXED(&w->rx_pkts);
		bytes += SL_LOAD_RELAXED(&w->rx_bytes);
		active += SL_LOAD_RELAXED(&sl_flow_stats(w->flows)->active);
		lost += SL_LOAD_RELAXED(&w->mx.st.events_lost);
		full += SL_LOAD_RELAXED(&w->chan.full);
	}
	for (unsigned int d = 0; d < SL_DET_MAX; d++)
		ev += a->det_events[d];
	sl_text_reset(&a->text);
	sl_text_printf(&a->text, "rx_packets %" PRIu64 "\nrx_bytes %" PRIu64 "\nflows_active %" PRIu64
		"\nhosts_tracked %" PRIu64 "\nevents %" PRIu64 "\nevents_lost %" PRIu64
		"\nring_full %" PRIu64 "\nworkers %u\ntables_generation %u\n", rx, bytes, active,
		hosts_tracked(a), ev, lost, full, a->nworkers,
		a->match ? sl_match_db_generation(sl_match_current(a->match)) : 0);
	if (a->score != NULL) {
		struct sl_score_stats st;

		sl_score_get_stats(a->score, &st);
		sl_text_printf(&a->text, "alerts %" PRIu64 "\nhosts_scored %" PRIu64
			"\nhosts_over_alert %" PRIu64 "\nhosts_over_block %" PRIu64 "\n", st.alerts,
			st.hosts, st.over_alert, st.over_block);
	}
	if (!a->text.oom)
		sl_snapshot_publish(a->stats, a->text.p, a->text.len);
}

/* Telemetry: /sluice/stats, from the snapshot the control core published. */
static struct sl_snapshot *tel_stats;

static int
tel_stats_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char *text, *save = NULL, *line;
	size_t len;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	if (tel_stats == NULL || sl_snapshot_copy(tel_stats, &text, &len) < 0) {
		rte_tel_data_add_dict_string(d, "status", "no snapshot yet");
		return 0;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');

		if (sp == NULL)
			continue;
		*sp = '\0';
		rte_tel_data_add_dict_u64(d, line, strtoull(sp + 1, NULL, 10));
	}
	free(text);
	return 0;
}

static int
write_outputs(struct app *a, double elapsed)
{
	struct sl_report_ctx rc = report_ctx(a, elapsed);
	int ret = 0;

	for (unsigned int p = 0; p < a->nports; p++)
		a->ports[p].stats_rc = rte_eth_stats_get(a->ports[p].info.port_id, &a->ports[p].st);
	if (a->args.summary != NULL) {
		bool out = strcmp(a->args.summary, "-") == 0;
		FILE *f = out ? stdout : fopen(a->args.summary, "w");

		if (f == NULL) {
			fprintf(stderr, "sluice: --summary %s: %s\n", a->args.summary, strerror(errno));
			ret = -1;
		} else {
			if (sl_report_summary(f, &rc) < 0)
				ret = -1;
			if (!out && fclose(f) != 0)
				ret = -1;
		}
	}
	if (!a->args.quiet)
		sl_report_human(stderr, &rc);
	return ret;
}

int
main(int argc, char **argv)
{
	static struct app app;
	struct app *a = &app;
	char *eal_argv[16], eal_store[16][128];
	int eal_argc, rc, status = 0;
	double t0;

	rc = sl_args_parse(argc, argv, &a->args);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (sl_args_config(&a->args, &a->cfg) < 0)
		return 2;
	{
		char err[256];

		if (sl_score_params_from_cfg(&a->cfg, &a->score_p, &a->base_p, err, sizeof(err)) < 0 ||
		    sl_block_params_from_cfg(&a->cfg, &a->block_p, err, sizeof(err)) < 0) {
			fprintf(stderr, "sluice: %s\n", err);
			return 2;
		}
	}
	if (!a->args.live) {
		char err[1024];

		a->input = sl_input_open(a->args.read, a->args.nread, err, sizeof(err));
		if (a->input == NULL) {
			fprintf(stderr, "sluice: %s\n", err);
			return 2;
		}
		if (a->cfg.idle_polls == 0)
			a->cfg.idle_polls = 256; /* offline shares the machine: back off when idle */
	} else if (scan_pcap_vdevs(a) < 0) {
		return 2;
	}
	/* events: --events FILE (appended), "-" = stdout; by default stdout offline (unless the
	 * summary goes there), none live */
	if (a->args.events != NULL && strcmp(a->args.events, "-") != 0) {
		a->events = fopen(a->args.events, "a");
		if (a->events == NULL) {
			fprintf(stderr, "sluice: --events %s: %s\n", a->args.events, strerror(errno));
			return 2;
		}
		a->events_close = true;
	} else if (a->args.events != NULL ||
		   (!a->args.live && !(a->args.summary && strcmp(a->args.summary, "-") == 0))) {
		a->events = stdout;
	}

	if (a->args.live) {
		eal_argc = a->args.eal_argc;
		rc = rte_eal_init(eal_argc, a->args.eal_argv);
	} else {
		sl_eal_fit_offline(&a->cfg, &a->score_p.capacity, sl_input_max_packets(a->input));
		eal_argc = offline_eal_args(a, eal_argv, eal_store);
		rc = rte_eal_init(eal_argc, eal_argv);
	}
	if (rc < 0) {
		fprintf(stderr, "sluice: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR2, on_signal);
	signal(SIGHUP, on_signal);
	t0 = mono_s();

	a->nworkers = a->args.live ? rte_lcore_count() - 1 : (unsigned int)a->cfg.workers;
	if (a->nworkers == 0) {
		fprintf(stderr, "sluice: need a worker lcore besides the main one (e.g. -l 0-1)\n");
		rte_eal_cleanup();
		return 2;
	}
	if (a->nworkers > SL_MAX_WORKERS)
		a->nworkers = SL_MAX_WORKERS;
	if (sl_port_dyn_register() < 0) {
		fprintf(stderr, "sluice: mbuf dynamic fields: %s\n", rte_strerror(rte_errno));
		status = 1;
		goto out;
	}
	a->hosts = sl_chost_create((uint32_t)(a->args.live ? a->cfg.host_capacity :
							      a->cfg.offline_host_capacity),
		a->cfg.host_timeout * 1000000, (int)rte_socket_id());
	if (a->hosts == NULL) {
		fprintf(stderr, "sluice: host table: %s\n", rte_strerror(rte_errno));
		status = 1;
		goto out;
	}
	if (a->cfg.score) {
		a->score = sl_score_create(&a->score_p, (int)rte_socket_id(), on_note, a);
		if (a->score == NULL) {
			fprintf(stderr, "sluice: score table: %s\n", rte_strerror(rte_errno));
			status = 1;
			goto out;
		}
	}
	if (a->block_p.mode != SL_MODE_MONITOR) {
		/* offline there is nothing to drop: blocks are decided and reported (dry run) */
		if (!a->args.live)
			a->block_p.mode = SL_MODE_DRY_RUN;
		a->block_p.nworkers = a->nworkers;
		a->block = sl_block_create(&a->block_p, NULL, 0, NULL, on_block_note, a,
			(int)rte_socket_id());
		if (a->block == NULL) {
			fprintf(stderr, "sluice: response: %s\n", rte_strerror(rte_errno));
			status = 1;
			goto out;
		}
	}
	if (a->cfg.detect) {
		char err[1024] = "";

		shipped_list(a->cfg.pools_domains, "pools_domains", "pool names");
		shipped_list(a->cfg.pools_ips, "pools_ips", "pool addresses");
		struct sl_match_conf mc = {
			.domains_path = a->cfg.pools_domains,
			.ips_path = a->cfg.pools_ips,
			.detectors_path = a->cfg.detectors,
			.hs_cache_dir = a->cfg.hs_cache_dir,
			.nworkers = a->nworkers,
			.socket = (int)rte_socket_id(),
		};

		a->match = sl_match_create(&mc, err, sizeof(err));
		if (a->match == NULL) {
			fprintf(stderr, "sluice: detection: %s\n", err[0] ? err : rte_strerror(rte_errno));
			status = 2;
			goto out;
		}
		if (a->args.live && rte_telemetry_register_cmd("/sluice/reload", tel_reload_cb,
			"Reload pool lists and detector overrides. No parameters.") < 0)
			fprintf(stderr, "sluice: telemetry command /sluice/reload not registered\n");
	}
	if (setup_workers(a) < 0 ||
	    (a->args.live ? setup_live_ports(a) : setup_offline_port(a)) < 0 ||
	    assign_queues(a) < 0) {
		status = 1;
		goto out;
	}
	if (a->block != NULL && a->args.live) { /* NIC rules go to every port */
		uint16_t ids[SL_BLOCK_MAX_PORTS];
		unsigned int n = SL_MIN(a->nports, (unsigned int)SL_BLOCK_MAX_PORTS);

		for (unsigned int p = 0; p < n; p++)
			ids[p] = a->ports[p].info.port_id;
		sl_block_set_ports(a->block, ids, n);
		for (unsigned int p = 0; p < n; p++) { /* rules come back with the port */
			rte_eth_dev_callback_register(ids[p], RTE_ETH_EVENT_INTR_RESET, on_port_event, a);
			rte_eth_dev_callback_register(ids[p], RTE_ETH_EVENT_INTR_LSC, on_port_event, a);
		}
	}
	if (!a->args.live) {
		struct sl_chan *ch[SL_MAX_WORKERS];
		const int *done[SL_MAX_WORKERS];

		for (unsigned int i = 0; i < a->nworkers; i++) {
			ch[i] = &a->workers[i]->chan;
			done[i] = &a->run.done[i];
		}
		if (sl_chan_merge_init(&a->merge, ch, done, a->nworkers, (int)rte_socket_id()) < 0) {
			fprintf(stderr, "sluice: record merge: out of memory\n");
			status = 1;
			goto out;
		}
		a->merging = true;
	}
	if (a->args.live) { /* /sluice/stats always; /metrics unless metrics_port = 0 */
		a->stats = sl_snapshot_create();
		if (a->stats == NULL) {
			fprintf(stderr, "sluice: stats snapshot: out of memory\n");
			status = 1;
			goto out;
		}
		tel_stats = a->stats;
		if (rte_telemetry_register_cmd("/sluice/stats", tel_stats_cb,
			    "sluice totals: packets, bytes, flows, hosts, events, alerts. No parameters.") < 0)
			fprintf(stderr, "sluice: telemetry command /sluice/stats not registered\n");
	}
	if (a->args.live && a->cfg.metrics_port != 0) {
		char err[512];

		a->metrics = sl_snapshot_create();
		if (a->metrics == NULL) {
			fprintf(stderr, "sluice: metrics snapshot: out of memory\n");
			status = 1;
			goto out;
		}
		a->http = sl_http_start(a->metrics, a->cfg.metrics_bind,
			(unsigned int)a->cfg.metrics_port, err, sizeof(err));
		if (a->http == NULL) {
			fprintf(stderr, "sluice: %s\n", err);
			status = 1;
			goto out;
		}
	}
	if (a->args.live && hostq_register() < 0)
		fprintf(stderr, "sluice: telemetry host commands not registered\n");
	if (a->args.live) {
		if (ops_register() < 0)
			fprintf(stderr, "sluice: telemetry block commands not registered\n");
		if (ops_secure_socket() < 0) /* the commands act on traffic: root only */
			fprintf(stderr, "sluice: telemetry socket: cannot restrict to mode 0600\n");
	}
	for (unsigned int i = 0; i < a->nworkers; i++)
		rte_eal_remote_launch(sl_worker_main, a->workers[i], a->workers[i]->lcore);

	if (a->args.live) {
		control_live(a);
		SL_STORE_RELEASE(&a->run.stop, 1);
		/* workers' final reports wait for ring space: keep draining until they finish */
		while (!all_done(a)) {
			control_drain(a);
			rte_pause();
		}
	} else {
		rc = sl_input_run(a->input, a->mp, a->rings, a->nworkers, offline_poll, a);
		for (unsigned int i = 0; i < sl_input_nerrors(a->input); i++)
			fprintf(stderr, "sluice: %s\n", sl_input_error(a->input, i));
		if (rc == -EIO)
			status = 1;
		SL_STORE_RELAXED(&a->run.end_us, sl_input_stats(a->input)->last_us);
		SL_STORE_RELEASE(&a->run.input_done, 1); /* publishes end_us and the last enqueue */
		while (!all_done(a)) {
			control_drain(a);
			rte_pause();
		}
	}
	rte_eal_mp_wait_lcore();
	control_drain(a);
	if (a->score != NULL) { /* scores as they stand at the last packet (offline) or now */
		uint64_t end = !a->args.live ? sl_input_stats(a->input)->last_us :
			       a->cfg.port_time ? a->rec_now_us : wall_us();

		on_clock(a, end);
		sl_score_tick(a->score, end);
	}
	if (a->events != NULL && !a->events_failed && (a->score != NULL || a->args.live)) {
		struct sl_report_ctx ctx = report_ctx(a, 0);

		if (sl_report_stats_event(a->events, &ctx,
			    !a->args.live ? sl_input_stats(a->input)->last_us :
			    a->cfg.port_time ? a->rec_now_us : wall_us()) < 0)
			events_failed(a);
	}
	if (write_outputs(a, mono_s() - t0) < 0)
		status = 1;
out:
	/* rules out of the NIC (reported) before the ports go; workers have stopped */
	sl_block_free(a->block, !a->args.live ? a->rec_now_us :
				a->cfg.port_time ? a->rec_now_us : wall_us());
	a->block = NULL;
	for (unsigned int p = 0; p < a->nports; p++)
		sl_port_close(a->ports[p].info.port_id);
	sl_http_stop(a->http); /* before the snapshot it serves */
	sl_text_free(&a->text);
	sl_match_free(a->match); /* workers have stopped (or never started) */
	sl_score_free(a->score);
	if (a->merging)
		sl_chan_merge_fini(&a->merge);
	if (a->events != NULL && fflush(a->events) != 0 && !a->events_failed) {
		fprintf(stderr, "sluice: writing events: %s\n", strerror(errno));
		status = 1;
	}
	if (a->events_close)
		fclose(a->events);
	rte_eal_cleanup(); /* stops the telemetry thread: then its snapshot can go */
	tel_stats = NULL;
	sl_snapshot_free(a->metrics);
	sl_snapshot_free(a->stats);
	return status;
}
