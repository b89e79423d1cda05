/* sl_evid.h: evidence packets, modelled on Suricata's conditional pcap logging. When a host
 * is alerted, the control core opens one pcap (and a stream file beside it) per alert in
 * evidence_dir and marks the flows behind the alert: each reason's (host, peer, peer port,
 * proto). Marks are published to the workers as an immutable open-addressing table by RCU
 * (rte_rcu_qsbr), as the soft blocklist is: a worker looks a flow up only when the table's
 * generation changed (one byte compare per packet otherwise) and marks the flow. Live, workers
 * copy the packets of marked flows into a bounded single-producer ring of fixed-size records
 * (a full ring drops and counts, never waits) and, when a marked flow ends, the first payload
 * bytes of each direction they already hold (a stream record). The control core drains the
 * rings a bounded number of records per pass and writes the files. Offline, where the workers
 * run ahead of the control core by a timing-dependent amount, the same files are written
 * after the run from a second read of the capture (packets of marked flows from each alert
 * on; streams reassembled as the workers do), so results are the same run after run. Every
 * bound (per flow, per host file, in total with rotation) is counted. Control core only,
 * except the worker-side functions marked so. */
#ifndef SL_EVID_H
#define SL_EVID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_cfg.h"

/* X(name, timing, help): evidence counters (the control object of the summary and /metrics
 * show them; timing 0: the same run after run offline). */
#define SL_EVID_COUNTERS(X) \
	X(evidence_files, 0, "alerts that opened an evidence pcap") \
	X(evidence_marks, 0, "flows (host, peer, peer port, proto) marked for evidence") \
	X(evidence_publications, 0, "mark tables published to the workers") \
	X(evidence_publish_deferred, 0, "mark table changes waiting for the workers to move on") \
	X(evidence_pkts, 0, "packets written to evidence pcaps") \
	X(evidence_bytes, 0, "bytes written to evidence files (headers included)") \
	X(evidence_streams, 0, "stream records (first payload bytes of a flow direction) written") \
	X(evidence_ring_full, 0, "packets and stream records lost: a worker's evidence ring was full") \
	X(evidence_over_flow, 0, "packets not written: their flow reached evidence_flow_packets") \
	X(evidence_over_flows, 0, "packets not written: the file already holds evidence_file_flows flows") \
	X(evidence_over_host, 0, "packets and streams not written: the file reached evidence_host_kb") \
	X(evidence_rotated, 0, "evidence files removed: evidence_max_files or evidence_max_kb reached") \
	X(evidence_orphans, 0, "records of an alert whose files are gone (rotated, failed)") \
	X(evidence_linktype_mismatch, 0, "packets not written: link type differs from the file's") \
	X(evidence_errors, 0, "evidence files that could not be created or written") \
	X(evidence_drain_budget, 0, "live: control passes that took a worker ring's whole per-pass budget (the rest waited a pass)")

struct sl_evid_stats {
#define SL_EVID_CNT(name, timing, help) uint64_t name; /**< help */
	SL_EVID_COUNTERS(SL_EVID_CNT)
#undef SL_EVID_CNT
};

/* ---- worker side ---- */

/** Published marks (immutable). */
struct sl_evset;

/** Generation of a published table (never 0 in its low byte). Worker. */
uint32_t sl_evset_gen(const struct sl_evset *t);

/** Is the flow initiator @p src -> responder @p dst:@p dport marked (either end the host)?
 * Worker. */
bool sl_evset_match(const struct sl_evset *t, const uint8_t src[16], const uint8_t dst[16],
	uint16_t sport, uint16_t dport, uint8_t proto);

#define SL_EVREC_PKT 1    /**< a packet: data holds its first bytes */
#define SL_EVREC_STREAM 2 /**< a flow direction's first payload bytes */

/** One record of a worker's evidence ring: this header, then the data. */
struct sl_evrec {
	uint64_t ts_us;    /**< packet time (stream: the flow's end) */
	uint32_t wire_len; /**< packet: length on the wire; stream: payload bytes seen */
	uint32_t len;      /**< bytes in data */
	uint16_t linktype; /**< packet: SL_DLT_* */
	uint8_t kind;      /**< SL_EVREC_* */
	uint8_t dir;       /**< stream: 0 = initiator to responder */
	uint16_t sport, dport; /**< the flow, initiator first */
	uint8_t src[16], dst[16];
	uint8_t proto;
	uint8_t pad[3];
	uint8_t data[];
};

/** A worker's ring of fixed-size evidence records (single producer, single consumer). */
struct sl_evring;

/** Room for the next record (data up to sl_evring_cap() bytes), or NULL when the ring is
 * full (counted). Worker. */
struct sl_evrec *sl_evring_reserve(struct sl_evring *r);
/** Publish the record sl_evring_reserve() gave. Worker. */
void sl_evring_commit(struct sl_evring *r);
/** Data bytes a record holds. */
uint32_t sl_evring_cap(const struct sl_evring *r);
/** Packet bytes a record keeps (evidence_snaplen). */
uint32_t sl_evring_snaplen(const struct sl_evring *r);
/** Records refused because the ring was full (producer's count). */
uint64_t sl_evring_dropped(const struct sl_evring *r);

/** A standalone ring (unit tests): @p records a power of two. NULL on failure. */
struct sl_evring *sl_evring_create(uint32_t records, uint32_t cap, uint32_t snaplen, int socket);
void sl_evring_free(struct sl_evring *r);
/** Consumer: the oldest record, or NULL when empty; sl_evring_pop() releases it. */
const struct sl_evrec *sl_evring_peek(struct sl_evring *r);
void sl_evring_pop(struct sl_evring *r);

/* ---- control side ---- */

/** Settings (config keys evidence_*). */
struct sl_evid_params {
	char dir[SL_CFG_PATH_MAX]; /**< evidence_dir (not empty) */
	uint32_t snaplen;          /**< bytes kept per packet */
	uint32_t ring;             /**< records per worker ring (power of two) */
	uint32_t stream_bytes;     /**< first payload bytes kept per direction (payload_bytes) */
	uint32_t flow_packets;     /**< packets per flow per file */
	uint32_t file_flows;       /**< flows per file */
	uint64_t host_bytes;       /**< bytes per file (one host, one alert) */
	uint64_t max_bytes;        /**< bytes of every file together */
	uint32_t max_files;        /**< files (pcap + stream = one) kept */
	uint32_t nworkers;         /**< live workers (0 offline: no rings) */
	uint32_t drain_budget;     /**< records taken per worker per drain call */
};

/** Parse evidence_* keys. @return 1 when evidence is on, 0 off, -EINVAL with @p err. */
int sl_evid_params_from_cfg(const struct sl_cfg *c, struct sl_evid_params *p, char *err,
	size_t errlen);

struct sl_evid;

/**
 * Create the evidence writer: checks evidence_dir (created when missing) is a writable
 * directory. @return NULL with -errno in @p rc and the reason ("evidence_dir '/x': ...") in
 * @p err.
 */
struct sl_evid *sl_evid_create(const struct sl_evid_params *p, int socket, int *rc, char *err,
	size_t errlen);

/** Remove nothing, close the files, free everything. Workers stopped. */
void sl_evid_free(struct sl_evid *e);

/** Worker @p w's ring (live), or NULL. */
struct sl_evring *sl_evid_ring(struct sl_evid *e, unsigned int w);

/* Workers: RCU. */
void sl_evid_worker_online(struct sl_evid *e, unsigned int worker);
void sl_evid_worker_offline(struct sl_evid *e, unsigned int worker);
const struct sl_evset *sl_evid_acquire(const struct sl_evid *e);
void sl_evid_quiescent(struct sl_evid *e, unsigned int worker);

/** One flow behind an alert: the host's flows to @p peer:@p port over @p proto. */
struct sl_evid_flow {
	uint8_t peer[16];
	uint16_t port;
	uint8_t proto;
};

/**
 * A host was alerted at @p ts_us: open its files (rotating the oldest away past the bounds)
 * and mark @p n flows. @p pcap and @p stream receive the paths (size @p len each).
 * @return 0, or -errno (file creation failed: counted, the message in @p pcap).
 */
int sl_evid_alert(struct sl_evid *e, const uint8_t host[16], uint64_t ts_us,
	const struct sl_evid_flow *f, unsigned int n, char *pcap, char *stream, size_t len);

/** Publish a pending mark table when the workers have moved on. Control loop. */
void sl_evid_tick(struct sl_evid *e);

/** Live: write up to the drain budget of records from each worker ring (UINT32_MAX budget:
 * everything). @return records taken. */
unsigned int sl_evid_drain(struct sl_evid *e, uint32_t budget);

/**
 * Offline: read @p files again (@p linktype each) and write the packets of marked flows from
 * their alert on, then the flows' stream records. @return 0 or -errno (a file failed: the
 * reason in @p err; what was read is written).
 */
int sl_evid_offline(struct sl_evid *e, const char *const *files, const int *linktype,
	unsigned int n, char *err, size_t errlen);

/** Flush the files' buffers (end of a pass that wrote). */
void sl_evid_flush(struct sl_evid *e);

/** Counters, the workers' ring drops included. */
void sl_evid_get_stats(const struct sl_evid *e, struct sl_evid_stats *out);

/** The first error message since start ("" none): for the summary. */
const char *sl_evid_last_error(const struct sl_evid *e);

#endif /* SL_EVID_H */
