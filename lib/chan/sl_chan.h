/* sl_chan.h: worker-to-control channels. One single-producer/single-consumer rte_ring per
 * worker carrying fixed-size sl_msg records by value (no pool, no allocation). Live, a full
 * ring is counted and the sender keeps its data for later; offline, senders wait so results
 * are exact. */
#ifndef SL_CHAN_H
#define SL_CHAN_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ring.h>

#include "sl_dev.h"
#include "sl_flow.h"
#include "sl_host.h"
#include "sl_match.h"

#define SL_CHAN_MERGE_MAX 64 /**< channels one merge can take */

#define SL_MSG_HOST 1  /**< payload is a struct sl_host_delta */
#define SL_MSG_EVENT 2 /**< payload is a struct sl_event (a detection) */
#define SL_MSG_FLOW 3  /**< payload is a struct sl_flow_sample (behaviour of one flow) */
#define SL_MSG_DEV 4   /**< payload is a struct sl_dev_obs (a device observation) */

/** One record on a channel: 128 bytes. */
struct sl_msg {
	uint32_t type;   /**< SL_MSG_* */
	uint32_t worker; /**< sending worker */
	union {
		struct sl_host_delta host; /**< SL_MSG_HOST */
		struct sl_event event;     /**< SL_MSG_EVENT */
		struct sl_flow_sample flow; /**< SL_MSG_FLOW */
		struct sl_dev_obs dev;     /**< SL_MSG_DEV */
		uint8_t raw[120];          /**< room for later record kinds */
	} u;
};

/** A worker's channel. The sent/full counters are the producer's; recv the consumer's. */
struct sl_chan {
	struct rte_ring *ring; /**< SP/SC ring of struct sl_msg */
	uint64_t sent;         /**< records enqueued (producer) */
	uint64_t full;         /**< records refused because the ring was full (producer) */
	uint64_t recv __rte_cache_aligned; /**< records dequeued (consumer) */
};

/**
 * Create the channel of worker @p worker with room for @p size records (power of two).
 * @return 0, or -ENOMEM/-EINVAL/-EEXIST from rte_ring_create_elem.
 */
int sl_chan_init(struct sl_chan *c, unsigned int worker, unsigned int size, int socket);
void sl_chan_fini(struct sl_chan *c);

/** Enqueue up to @p n records; @return how many went (the rest were refused, counted). */
unsigned int sl_chan_send(struct sl_chan *c, const struct sl_msg *m, unsigned int n);

/** Dequeue up to @p n records. Consumer only. */
unsigned int sl_chan_recv(struct sl_chan *c, struct sl_msg *m, unsigned int n);

/** Adapter for sl_whost_report(): wraps deltas into SL_MSG_HOST records. */
unsigned int sl_chan_send_host(void *chan, const struct sl_host_delta *d, unsigned int n);

/**
 * Control core: take up to @p max records from @p c and fold host deltas into @p hosts.
 * @return records taken.
 */
unsigned int sl_chan_drain(struct sl_chan *c, struct sl_chost_table *hosts, unsigned int max);

/** Where drained records go. Any callback may be NULL (those records are skipped). */
struct sl_chan_sink {
	struct sl_chost_table *hosts; /**< host deltas are folded in here */
	/** before each record, with its time: lets the consumer run clock-driven work exactly
	 * where it falls among the records */
	void (*on_clock)(void *arg, uint64_t ts_us);
	void (*on_event)(void *arg, unsigned int worker, const struct sl_event *ev);
	void (*on_flow)(void *arg, unsigned int worker, const struct sl_flow_sample *s);
	void (*on_dev)(void *arg, unsigned int worker, const struct sl_dev_obs *o);
	void *arg;
};

/** Hand one record to @p k as a drain does (clock first, then the record). */
void sl_chan_deliver(const struct sl_chan_sink *k, const struct sl_msg *m);

/** Like sl_chan_drain(), handing every record to @p k. @return records taken. */
unsigned int sl_chan_drain_ev(struct sl_chan *c, const struct sl_chan_sink *k, unsigned int max);

/*
 * Offline merge: records of several channels handed to the sink in time order, so what the
 * control core computes from them (scores, decay, baselines) does not depend on how many
 * workers there are or how their records interleave. A record is delivered only when every
 * channel whose producer has not finished has a record staged (so nothing older can still
 * come); a channel whose stage fills up while another has nothing forces its oldest record
 * out (counted), so producers that wait for ring space can never deadlock.
 */
#define SL_MERGE_STAGE 4096 /**< records staged per channel */

struct sl_chan_merge {
	unsigned int n;                  /**< channels */
	struct sl_chan *c[SL_CHAN_MERGE_MAX];
	const int *done[SL_CHAN_MERGE_MAX]; /**< producer finished (acquire), or NULL */
	uint32_t head[SL_CHAN_MERGE_MAX], cnt[SL_CHAN_MERGE_MAX];
	struct sl_msg *stage[SL_CHAN_MERGE_MAX]; /**< SL_MERGE_STAGE records each */
	uint64_t forced;                 /**< records delivered out of order (stage full) */
	uint64_t taken;                  /**< records taken from the rings */
};

/** Set up a merge over @p n channels. @return 0 or -ENOMEM/-EINVAL. */
int sl_chan_merge_init(struct sl_chan_merge *m, struct sl_chan **c, const int **done,
	unsigned int n, int socket);
void sl_chan_merge_fini(struct sl_chan_merge *m);

/**
 * Take what the rings hold and deliver every record that can be placed in time order.
 * With @p flush (every producer finished), deliver everything left. @return records delivered.
 */
unsigned int sl_chan_merge_drain(struct sl_chan_merge *m, const struct sl_chan_sink *k,
	bool flush);

/**
 * Enqueue one record, waiting (calling @p wait between tries) while the ring is full, without
 * counting the waits as refusals. Offline producers only: they must be exact.
 */
void sl_chan_send_wait(struct sl_chan *c, const struct sl_msg *m, void (*wait)(void));

#endif /* SL_CHAN_H */
