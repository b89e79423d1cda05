/* topo.c: the topology sluice runs on: the offline EAL arguments and memory, worker lcores
 * with their flow and host tables, ports (live with symmetric RSS, or the offline ring port
 * the reader feeds) and the (port, queue) pairs given to workers round robin. */
#include <errno.h>
#include <inttypes.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "app.h"
#include "eal.h"
#include "sl_common.h"
#include "sl_port.h"
#include "sl_score.h"

static uint64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The response mode in force (monitor when there is no control plane yet). */
static int
mode_of(const struct app *a)
{
	return a->ctl != NULL ? sl_ctl_mode(a->ctl) : SL_MODE_MONITOR;
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
		/* a worker never tracks more hosts than the control table can take from it */
		.host_capacity = (uint32_t)SL_MIN(c->worker_host_capacity,
			off ? c->offline_host_capacity : c->host_capacity),
		.ring_size = (uint32_t)c->report_ring_size,
		.report_us = c->report_interval_ms * 1000,
		.aging_batch = (uint32_t)c->aging_batch,
		.idle_polls = (uint32_t)c->idle_polls,
		.idle_sleep_us = (uint32_t)c->idle_sleep_us,
		.offline = off,
		.home = &c->home_nets,
		.top_flows = (uint32_t)c->summary_top_flows,
		.match = a->ctl != NULL ? sl_ctl_match(a->ctl) : NULL,
		.port_time = !off && c->port_time,
		.block = a->ctl != NULL ? sl_ctl_block(a->ctl) : NULL,
		.evid = a->ctl != NULL ? sl_ctl_evid(a->ctl) : NULL,
		.drop_blocked = !off && mode_of(a) == SL_MODE_INLINE,
		.sample_us = c->score ? c->flow_sample_s * 1000000 : 0,
		.sample_min_age_us = c->flow_sample_min_age_s * 1000000,
		.devices = c->devices != 0,
		.dev_refresh_us = c->device_refresh_s * 1000000,
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
	unsigned int need = sl_eal_fit_mbufs((unsigned int)(a->cfg.workers *
		(a->cfg.rx_desc + 4 * SL_BURST) + 8192));

	/* more than the reader can have in flight buys nothing offline */
	return a->cfg.mbufs != 0 ? SL_MIN((unsigned int)a->cfg.mbufs, need) : need;
}

/* Offline EAL arguments: hugepages or not (eal.c), no PCI, a unique prefix, one lcore per
 * worker plus the main one, mapped onto the CPUs there are. */
int
topo_offline_eal_args(const struct app *a, char **argv, char store[][128])
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
int
topo_scan_pcap_vdevs(struct app *a)
{
	for (int i = 1; i < a->args.eal_argc; i++) {
		const char *v = NULL;
		char *buf, *save = NULL, *tok, err[SL_CFG_PATH_MAX + 512];
		int lt = -1, rc = 0;

		if (strcmp(a->args.eal_argv[i], "--vdev") == 0 && i + 1 < a->args.eal_argc)
			v = a->args.eal_argv[++i];
		else if (strncmp(a->args.eal_argv[i], "--vdev=", 7) == 0)
			v = a->args.eal_argv[i] + 7;
		if (v == NULL || strncmp(v, "net_pcap", 8) != 0 || a->npcap == MAX_PCAP_VDEVS)
			continue;
		buf = strdup(v); /* any length: the vdev's paths are read whole */
		if (buf == NULL) {
			fprintf(stderr, "sluice: --vdev: out of memory\n");
			return -1;
		}
		tok = strtok_r(buf, ",", &save);
		if (tok == NULL || strlen(tok) >= sizeof(a->pcap_name[0])) {
			fprintf(stderr, "sluice: --vdev %.64s: device name longer than %zu bytes\n",
				v, sizeof(a->pcap_name[0]) - 1);
			free(buf);
			return -1;
		}
		snprintf(a->pcap_name[a->npcap], sizeof(a->pcap_name[0]), "%s", tok);
		while (rc == 0 && (tok = strtok_r(NULL, ",", &save)) != NULL) {
			int l;

			if (strncmp(tok, "rx_pcap=", 8) != 0)
				continue;
			l = sl_input_pcap_linktype(tok + 8, err, sizeof(err));
			if (l < 0) {
				fprintf(stderr, "sluice: --vdev %s: %s\n", a->pcap_name[a->npcap], err);
				rc = -1;
			} else if (lt >= 0 && l != lt) {
				fprintf(stderr, "sluice: --vdev %s: rx_pcap files mix link types %s and "
						"%s; give each its own vdev\n", a->pcap_name[a->npcap],
					sl_pkt_linktype_name(lt), sl_pkt_linktype_name(l));
				rc = -1;
			}
			lt = l;
		}
		free(buf);
		if (rc < 0)
			return -1;
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
	return mode_of(a) == SL_MODE_INLINE ||
	       (mode_of(a) == SL_MODE_DRY_RUN && a->nports >= 2 && !(a->nports & 1));
}

/* Give every (port, queue) to a worker, round robin. */
static int
assign_queues(struct app *a)
{
	unsigned int next = 0;

	if (a->args.live && mode_of(a) == SL_MODE_INLINE && (a->nports & 1)) {
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
		bool pairs = mode_of(a) == SL_MODE_INLINE ||
			     (mode_of(a) == SL_MODE_DRY_RUN && avail >= 2 && !(avail & 1));

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

int
topo_build(struct app *a)
{
	if (setup_workers(a) < 0 || (a->args.live ? setup_live_ports(a) : setup_offline_port(a)) < 0 ||
	    assign_queues(a) < 0)
		return -1;
	return 0;
}

void
topo_free(struct app *a)
{
	for (unsigned int p = 0; p < a->nports; p++)
		sl_port_close(a->ports[p].info.port_id);
	a->nports = 0;
}
