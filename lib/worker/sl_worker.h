/* sl_worker.h: the worker lcore: polls its (port, queue) pairs in bursts of SL_BURST,
 * parses, resolves flows with one bulk hash lookup per burst, accounts packets to flows and
 * per-host slots, ages flows in bounded steps, and reports host deltas to the control core
 * every report interval. No locks, no allocation, no syscalls on the packet path; counters
 * are summed in locals and stored once per burst. Flows the control core marked for evidence
 * (looked up per flow when the mark table's generation changes) copy their packets into a
 * bounded evidence ring that drops when full. Offline (packet time), each queue is
 * processed in full bursts only, so a run is the same whatever the timing between cores. */
#ifndef SL_WORKER_H
#define SL_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_mbuf.h>

#include "sl_block.h"
#include "sl_cfg.h"
#include "sl_chan.h"
#include "sl_evid.h"
#include "sl_flow.h"
#include "sl_host.h"
#include "sl_match.h"
#include "sl_pkt.h"
#include "sl_port.h"

#define SL_WORKER_MAX_RXQ 64
#define SL_MAX_WORKERS 64
#define SL_TOP_FLOWS 32 /**< most flows a worker keeps for the summary's top list */

/** A finished flow, kept for the summary's top-flows list. */
struct sl_flow_rec {
	struct sl_flow_key key; /**< endpoints */
	uint64_t first_us, last_us;
	uint64_t pkts[2], bytes[2];
	uint8_t init_hi;        /**< initiator is key.hi */
	uint8_t state;          /**< final TCP state */
	uint8_t at_exit;        /**< still open at the end of the run */
};

/** State shared by the control core and all workers. */
struct sl_run {
	int stop;        /**< set (release) to make workers finish */
	int input_done;  /**< offline: the reader enqueued its last packet (release) */
	uint64_t end_us; /**< offline: latest packet time, valid once input_done is set */
	int done[SL_MAX_WORKERS]; /**< a worker finished its final flush (release) */
};

/** One (port, queue) a worker polls. */
struct sl_rxq {
	uint16_t port;      /**< port id */
	uint16_t queue;     /**< queue id */
	uint16_t nstash;    /**< offline: packets held until a full burst */
	uint8_t meta;       /**< frames carry sl_mbuf_meta */
	int linktype;       /**< link type when !meta */
	uint64_t rx;        /**< packets received from this queue (worker writes) */
	int32_t tx_port;    /**< inline: the port of the pair to send on, -1 = none */
	uint16_t tx_queue;  /**< inline: this worker's TX queue on it */
	struct rte_mbuf *stash[SL_BURST]; /**< offline: partial burst */
};

/** Worker settings derived from the config. */
struct sl_worker_conf {
	struct sl_flow_params flow;  /**< flow table sizes and timeouts */
	uint32_t host_capacity;      /**< worker host slots */
	uint32_t ring_size;          /**< channel records */
	uint64_t report_us;          /**< report interval */
	uint32_t aging_batch;        /**< slots checked per pass */
	uint32_t idle_polls;         /**< empty polls before sleeping (0 = never) */
	uint32_t idle_sleep_us;      /**< sleep when idle */
	bool offline;                /**< packet time, full bursts, waiting sends */
	const struct sl_cidr_set *home; /**< home_nets (may be empty) */
	uint32_t top_flows;          /**< flows kept for the summary (<= SL_TOP_FLOWS) */
	bool keep_mbufs;             /**< bench only: do not free processed mbufs */
	struct sl_match *match;      /**< detection holder, NULL = no inspection */
	bool port_time;              /**< live: time from the ports' RX timestamps (packet time) */
	struct sl_block *block;      /**< response (soft blocklist), NULL = none */
	bool drop_blocked;           /**< inline: packets of blocked flows are not forwarded */
	uint64_t sample_us;          /**< flow sample interval (0 = no samples) */
	uint64_t sample_min_age_us;  /**< flows younger than this are not sampled */
	bool devices;                /**< learn devices: MAC/VLAN of new flows, ARP, LLDP, CDP,
	                                  DHCP (sl_dev.h) */
	uint64_t dev_refresh_us;     /**< a host's MAC/VLAN is sent again once per this period */
	struct sl_evid *evid;        /**< live evidence packets (marks, rings), NULL = none */
};

#define SL_DEV_CACHE 4096 /**< worker cache of (address, MAC, VLAN) already sent */

/** What a worker last sent about an address (so new flows of a known host send nothing). */
struct sl_dev_seen {
	uint8_t ip[16];
	uint8_t mac[6];
	uint16_t vlan;
	uint32_t bucket;             /**< refresh period it was sent in (+1; 0 = empty) */
	uint32_t pad;
};

/** A worker. Hot fields first; counters below are written only by the worker. */
struct sl_worker {
	struct sl_flow_table *flows;
	struct sl_whost_table *hosts;
	uint64_t now_us;            /**< worker clock (packet time offline, TSC live) */
	uint64_t next_report_us;
	uint64_t tsc0;
	uint64_t tsc_per_us;
	struct sl_worker_conf conf;
	struct sl_run *run;
	unsigned int id;
	unsigned int lcore;
	unsigned int nrxq;
	struct sl_rxq rxq[SL_WORKER_MAX_RXQ];
	struct sl_chan chan;
	const struct sl_match_db *db; /**< detection object for this pass (RCU) */
	const struct sl_softbl *bl;   /**< soft blocklist for this pass (RCU), or NULL */
	uint64_t reclaim_next_us;     /**< host table full and nothing reclaimable: retry then */
	uint32_t reclaim_pos;         /**< flow slot where the next reclaim walk starts */
	const struct sl_evset *ev;    /**< evidence marks for this pass (RCU), or NULL */
	struct sl_evring *evr;        /**< evidence ring to the control core, or NULL */
	struct sl_match_wctx mx;      /**< inspection context and counters */

	/* counters, flushed once per burst */
	uint64_t outcome[SL_PKT_OUTCOME_MAX] __rte_cache_aligned; /**< packets per outcome */
	uint64_t rx_pkts;           /**< packets received */
	uint64_t rx_bytes;          /**< wire bytes received */
	uint64_t bursts;            /**< non-empty bursts */
	uint64_t idle_sleeps;       /**< times the worker slept while idle */
	uint64_t host_untracked;    /**< flows whose host got no slot */
	uint64_t samples;           /**< flow samples sent to the control core */
	uint64_t tx_pkts;           /**< inline: packets forwarded */
	uint64_t tx_full;           /**< inline: packets the TX queue refused (freed) */
	uint64_t blocked_pkts;      /**< inline: packets of blocked flows dropped */
	uint64_t blocked_bytes;     /**< ... and their wire bytes */
	uint64_t samples_lost;      /**< live: flow samples dropped because the ring was full */
	uint64_t wall0_us;          /**< live: wall clock at init, so times are epoch-based */
	uint64_t dev_obs;           /**< device observations sent to the control core */
	uint64_t dev_lost;          /**< live: device observations dropped (ring full) */
	uint64_t dev_malformed;     /**< ARP/LLDP/CDP/DHCP frames too short or inconsistent */
	struct sl_dev_seen *dev_seen; /**< SL_DEV_CACHE entries, NULL when devices are off */
	unsigned int ntop;          /**< entries in top[] */
	unsigned int top_want;      /**< size of the top list (summary_top_flows) */
	struct sl_flow_rec top[SL_TOP_FLOWS]; /**< largest finished flows by bytes */
} __rte_cache_aligned;

/**
 * Set up worker @p id: flow and host tables and channel on @p socket.
 * @return 0 or -errno. Control thread, before launch.
 */
int sl_worker_init(struct sl_worker *w, unsigned int id, const struct sl_worker_conf *c,
	struct sl_run *run, int socket);

/** Add a (port, queue) to poll. @return 0 or -ENOSPC. */
int sl_worker_add_rxq(struct sl_worker *w, uint16_t port, uint16_t queue, bool meta,
	int linktype);

/** Release everything sl_worker_init() took. */
void sl_worker_fini(struct sl_worker *w);

/** lcore entry point (rte_eal_remote_launch): loop until stop/end of input, then flush. */
int sl_worker_main(void *arg);

/**
 * Process one burst from rxq @p q: parse, flows, hosts; frees the mbufs. Used by the main
 * loop and by the in-memory bench. Worker only, hot path.
 */
void sl_worker_process(struct sl_worker *w, struct sl_rxq *q, struct rte_mbuf **m,
	unsigned int n);

/** Sweep and report as the main loop does between bursts (for the bench and tests). */
void sl_worker_housekeeping(struct sl_worker *w);

/** Final flush: end every flow at @p end_us and send the last host deltas. */
void sl_worker_finish(struct sl_worker *w, uint64_t end_us);

/** Order of the top-flows list: more bytes first, then earlier start, then the key. */
int sl_flow_rec_cmp(const struct sl_flow_rec *a, const struct sl_flow_rec *b);

/** Estimate of the memory one worker asks for. */
uint64_t sl_worker_memsize(const struct sl_worker_conf *c);

#endif /* SL_WORKER_H */
