/* sl_host.h: per-host counters. Each worker keeps a small table of the hosts its flows
 * touch (64-byte slots, single writer, no atomics) holding deltas since its last report,
 * plus a HyperLogLog of distinct external peers that merges by register max, so sketches
 * from several workers add up where plain distinct counts cannot. Every report_interval the
 * worker turns dirty slots into sl_host_delta records for the control core, which keeps the
 * global host table (totals, merged sketch, first/last seen) and ages idle hosts. */
#ifndef SL_HOST_H
#define SL_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>

#define SL_HLL_P 6                  /**< log2 of the register count */
#define SL_HLL_M (1u << SL_HLL_P)   /**< 64 registers */
#define SL_HLL_BYTES (SL_HLL_M / 2) /**< 4-bit registers, two per byte */
#define SL_HOST_NONE UINT32_MAX
/** A flow's host reference that was let go while the flow was idle (sl_whost_detach): the
 * flow takes a slot again (sl_whost_acquire) on its next packet. */
#define SL_HOST_DETACHED (UINT32_MAX - 1)

/** A worker's host slot: deltas since the last report. Exactly 64 bytes. */
struct sl_whost {
	uint64_t bytes_out;     /**< bytes sent by the host */
	uint64_t bytes_in;      /**< bytes received */
	uint32_t pkts_out;      /**< packets sent */
	uint32_t pkts_in;       /**< packets received */
	uint32_t flows_opened;  /**< flows it initiated (or, inside home_nets, took part in) */
	uint16_t long_lived;    /**< its flows that became long-lived */
	uint8_t dirty;          /**< on the dirty list */
	uint8_t hll_dirty;      /**< a register rose since the last report */
	uint8_t hll[SL_HLL_BYTES]; /**< distinct external peers, cumulative, never reset */
};

/** One report record from a worker to the control core. */
struct sl_host_delta {
	uint8_t addr[16];
	uint64_t bytes_out;
	uint64_t bytes_in;
	uint32_t pkts_out;
	uint32_t pkts_in;
	uint32_t flows_opened;
	uint16_t long_lived;
	uint16_t worker;
	uint64_t ts_us;                /**< worker clock at the report */
	uint8_t hll[SL_HLL_BYTES];
};

/* X(name, help): worker host-table counters. */
#define SL_WHOST_COUNTERS(X)                                                                 \
	X(hosts_added, "hosts that got a slot")                                               \
	X(hosts_evicted, "clean slots freed after a report")                                  \
	X(table_full, "flows whose host could not get a slot (counted, not tracked)")         \
	X(reclaims, "times the table was full and idle slots were reclaimed (an early report)") \
	X(detached, "references of idle flows let go so that their slots could be reused")    \
	X(reports, "host-delta records sent")                                                 \
	X(report_ring_full, "records that found the ring full (kept and retried later)")      \
	X(reports_lost, "records lost: ring full when the slot had to go")

struct sl_whost_stats {
#define SL_WHOST_CNT(name, help) uint64_t name; /**< help */
	SL_WHOST_COUNTERS(SL_WHOST_CNT)
#undef SL_WHOST_CNT
};

struct sl_whost_table;

/** Send callback: enqueue up to @p n records, return how many went. */
typedef unsigned int (*sl_host_send_fn)(void *arg, const struct sl_host_delta *d,
	unsigned int n);

/** Create a worker table on @p socket. @return NULL with rte_errno on failure. */
struct sl_whost_table *sl_whost_create(const char *name, uint32_t capacity, uint16_t worker,
	int socket);
void sl_whost_free(struct sl_whost_table *t);
uint64_t sl_whost_memsize(uint32_t capacity);

/**
 * Take a reference on the slot for @p addr, adding it when new.
 * @return slot index, or SL_HOST_NONE when the table is full (counted). Worker only.
 */
uint32_t sl_whost_acquire(struct sl_whost_table *t, const uint8_t addr[16]);

/** sl_whost_acquire() that does not count a full table (the caller reclaims and retries). */
uint32_t sl_whost_try_acquire(struct sl_whost_table *t, const uint8_t addr[16]);

/** Drop a flow's reference on a slot (SL_HOST_NONE and SL_HOST_DETACHED: nothing). Worker
 * only. */
void sl_whost_release(struct sl_whost_table *t, uint32_t idx);

/** Drop the reference of an idle flow so that the slot can be freed once reported (counted
 * as detached; the caller marks the flow's reference SL_HOST_DETACHED). Worker only. */
void sl_whost_detach(struct sl_whost_table *t, uint32_t idx);

/**
 * The table is full: report every dirty slot now (as sl_whost_report() does, so nothing is
 * lost), which frees the slots no flow holds any longer. Counted in reclaims.
 * @return true when a slot is free afterwards. Worker only.
 */
bool sl_whost_reclaim(struct sl_whost_table *t, uint64_t now_us, sl_host_send_fn send,
	void *arg, bool wait, void (*idle)(void));

/** Slots the table holds. */
uint32_t sl_whost_capacity(const struct sl_whost_table *t);

/** Slot pointer, marking it dirty (to be reported). Worker only, hot path. */
struct sl_whost *sl_whost_touch(struct sl_whost_table *t, uint32_t idx);

/** Add a peer hash to the slot's sketch. */
void sl_hll_add(uint8_t hll[SL_HLL_BYTES], uint64_t hash, uint8_t *dirty);

/**
 * Send every dirty slot through @p send. Slots whose record did not fit stay dirty for the
 * next report (counted in report_ring_full); with @p wait the call retries until all went
 * (offline: exact). Clean slots with no flows are freed. Worker only.
 * @return records sent.
 */
unsigned int sl_whost_report(struct sl_whost_table *t, uint64_t now_us, sl_host_send_fn send,
	void *arg, bool wait, void (*idle)(void));

const struct sl_whost_stats *sl_whost_stats(const struct sl_whost_table *t);
uint32_t sl_whost_in_use(const struct sl_whost_table *t);
unsigned int sl_whost_num_counters(void);
const char *sl_whost_counter_name(unsigned int i);

/** Control core's view of one host. */
/* X(name, help): what a host's baseline learns, per bucket. */
#define SL_BASE_METRICS(X)                                                                   \
	X(bytes_out, "bytes sent")                                                            \
	X(bytes_in, "bytes received")                                                         \
	X(pkts_out, "packets sent")                                                           \
	X(flows_opened, "flows opened")                                                       \
	X(peers, "new distinct external peers")                                               \
	X(long_lived, "flows that became long-lived")

enum sl_base_metric {
#define SL_BASE_ENUM(name, help) SL_BASE_##name,
	SL_BASE_METRICS(SL_BASE_ENUM)
#undef SL_BASE_ENUM
	SL_BASE_MAX
};

const char *sl_base_metric_name(unsigned int m);

/** A host's learned baseline: an EWMA mean and variance per metric over fixed buckets. */
struct sl_base {
	uint64_t prev[SL_BASE_MAX]; /**< totals at the last bucket edge */
	float mean[SL_BASE_MAX];
	float var[SL_BASE_MAX];
	uint32_t buckets;           /**< buckets learned */
	uint32_t pad;
};

/** Baseline parameters. */
struct sl_base_params {
	uint64_t bucket_us;   /**< bucket length */
	uint32_t warmup;      /**< buckets learned before deviations are reported */
	float alpha;          /**< EWMA weight of a new bucket */
	float z;              /**< deviation threshold, in standard deviations */
	float floor[SL_BASE_MAX]; /**< smallest standard deviation per metric */
};

/** A bucket far above a host's baseline. */
struct sl_base_dev {
	uint8_t metric;   /**< enum sl_base_metric */
	uint8_t pad[3];
	uint32_t buckets; /**< buckets learned */
	float value;      /**< this bucket */
	float mean;       /**< learned mean */
	float sd;         /**< learned standard deviation (with its floor) */
	float z;          /**< (value - mean) / sd */
};

/**
 * Fold one bucket (@p totals now) into @p b. @return the metric with the largest deviation at
 * or over the threshold (filled into @p dev), or -1. Pure function.
 */
int sl_base_update(struct sl_base *b, const struct sl_base_params *p,
	const uint64_t totals[SL_BASE_MAX], struct sl_base_dev *dev);

struct sl_chost {
	uint8_t addr[16];
	uint64_t bytes_out, bytes_in;
	uint64_t pkts_out, pkts_in;
	uint64_t flows_opened;
	uint64_t long_lived;
	uint64_t first_us, last_us;
	uint8_t hll[SL_HLL_M]; /**< one byte per register, merged by max */
	struct sl_base base;   /**< learned baseline (control core) */
	double peers;          /**< cached estimate of hll, valid when peers_ok */
	uint8_t peers_ok;      /**< 0 when a register rose since peers was computed (or unset) */
	uint64_t known;        /**< bit per protocol of the known-protocol table (enum sl_known)
				    its flows were recognised as: not judged by behaviour */
};

struct sl_chost_table;

/** Control table. @return NULL with rte_errno on failure. */
struct sl_chost_table *sl_chost_create(uint32_t capacity, uint64_t timeout_us, int socket);
void sl_chost_free(struct sl_chost_table *t);
uint64_t sl_chost_memsize(uint32_t capacity);

/**
 * Fold one delta into the table. A host idle longer than the timeout when its next delta
 * arrives starts afresh (lazy aging, independent of when the sweep runs).
 * @return 0, or -ENOSPC when the table is full (counted). Control core only.
 */
int sl_chost_apply(struct sl_chost_table *t, const struct sl_host_delta *d);

/**
 * Age out hosts idle past the timeout at @p now_us, least recently heard of first, looking at
 * no more than @p budget hosts and stopping at the first one still alive: the cost is the
 * number of hosts aged plus one, never the capacity. @return hosts aged. Control core only.
 */
unsigned int sl_chost_age(struct sl_chost_table *t, uint64_t now_us, unsigned int budget);

/**
 * Estimated distinct peers of a host (HyperLogLog with small-range correction): the value the
 * table cached at its last baseline bucket when no register rose since, else computed.
 */
double sl_chost_peers(const struct sl_chost *h);

/** The host with address @p addr (16-byte form), or NULL. Control core only. */
const struct sl_chost *sl_chost_find(const struct sl_chost_table *t, const uint8_t addr[16]);

/** Note that a flow of host @p addr was recognised as protocol @p known (0..63; a host not in
 * the table is left alone). Control core only. */
void sl_chost_note_known(struct sl_chost_table *t, const uint8_t addr[16], unsigned int known);

/**
 * The @p n hosts with the most bytes (both ways), most first, copied into @p out without
 * copying the table. @return how many. Control core only.
 */
unsigned int sl_chost_top(const struct sl_chost_table *t, struct sl_chost *out, unsigned int n);

/** Visit every host (unordered; the live hosts only, not the capacity). */
void sl_chost_foreach(struct sl_chost_table *t, void (*fn)(void *arg, const struct sl_chost *h),
	void *arg);

typedef void (*sl_base_dev_fn)(void *arg, const uint8_t addr[16], const struct sl_base_dev *d,
	uint64_t now_us);

/**
 * Close a baseline bucket at @p now_us for every host: learn it, and report each host whose
 * bucket deviates through @p fn (in slot order). Only the hosts touched since the last edge
 * are visited; a host that missed edges first folds in its zero buckets (the same updates,
 * bit for bit, as if every host had been updated at every edge; a zero bucket never deviates
 * while p->z > 0, and with p->z <= 0 every live host is visited). Cost: hosts touched (plus
 * their missed buckets until their baseline stops moving), not the capacity. Control core only.
 */
void sl_chost_baseline(struct sl_chost_table *t, const struct sl_base_params *p, uint64_t now_us,
	sl_base_dev_fn fn, void *arg);

/** Table totals. */
struct sl_chost_totals {
	uint64_t hosts;        /**< in the table now */
	uint64_t hosts_seen;   /**< ever added */
	uint64_t hosts_aged;   /**< removed or restarted after host_timeout */
	uint64_t table_full;   /**< deltas refused: table full */
	uint64_t deltas;       /**< deltas applied */
	uint64_t buckets;      /**< baseline bucket edges closed */
	uint64_t base_updates; /**< baseline updates run (touched hosts and caught-up buckets) */
	uint64_t age_visits;   /**< hosts looked at by sl_chost_age */
};
void sl_chost_totals(const struct sl_chost_table *t, struct sl_chost_totals *out);

#endif /* SL_HOST_H */
