/* app.h: what the binary's two files share: the application state (arguments, config,
 * topology) and the topology builders in topo.c that main.c calls in order. */
#ifndef SL_APP_H
#define SL_APP_H

#include <stdbool.h>

#include <rte_mempool.h>
#include <rte_ring.h>

#include "args.h"
#include "sl_cfg.h"
#include "sl_ctl.h"
#include "sl_input.h"
#include "sl_report.h"
#include "sl_worker.h"

#define MAX_PORTS 32
#define MAX_PCAP_VDEVS 16

struct app {
	struct sl_args args;
	struct sl_cfg cfg;
	struct sl_run run;
	struct sl_input *input;        /* offline reader, else NULL */
	struct rte_mempool *mp;
	struct sl_ctl *ctl;            /* the control plane */
	unsigned int nworkers;
	struct sl_worker *workers[SL_MAX_WORKERS];
	unsigned int nports;
	struct sl_report_port ports[MAX_PORTS];
	struct rte_ring *rings[SL_MAX_WORKERS]; /* offline: the reader's queues */
	/* net_pcap vdevs named on the command line and their files' link type */
	unsigned int npcap;
	char pcap_name[MAX_PCAP_VDEVS][64];
	int pcap_lt[MAX_PCAP_VDEVS];
};

/** Offline EAL arguments (hugepages when free, else --no-huge; no PCI, unique prefix, lcores).
 * @return argc; @p argv points into @p store. */
int topo_offline_eal_args(const struct app *a, char **argv, char store[][128]);

/** Live: remember the net_pcap vdevs' files' link types. @return 0 or -1 (printed). */
int topo_scan_pcap_vdevs(struct app *a);

/** Workers on the worker lcores, ports (live or the offline ring port), queues given to
 * workers round robin. @return 0 or -1 (printed). */
int topo_build(struct app *a);

/** Stop and release the workers and close the ports. */
void topo_free(struct app *a);

#endif /* SL_APP_H */
