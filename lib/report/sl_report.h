/* sl_report.h: what sluice tells its user at the end of a run: the summary JSON
 * (--summary FILE: per-worker counters, packet outcomes by reason, port statistics, the
 * conservation equations, flow and host table totals, top hosts and flows) and the short
 * human report on stderr. Also the small streaming JSON writer both use. Output is
 * deterministic: the same input gives byte-identical summaries. Control core only. */
#ifndef SL_REPORT_H
#define SL_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_ethdev.h>

#include "sl_block.h"
#include "sl_cfg.h"
#include "sl_ctl.h"
#include "sl_host.h"
#include "sl_input.h"
#include "sl_match.h"
#include "sl_port.h"
#include "sl_score.h"
#include "sl_worker.h"

/** Streaming JSON writer with two-space indentation. */
struct sl_json {
	FILE *f;           /**< output */
	int depth;         /**< nesting */
	bool first[32];    /**< no member written yet at this depth */
	bool compact;      /**< one line, no spaces */
};

void sl_json_init(struct sl_json *j, FILE *f, bool compact);
void sl_json_obj_open(struct sl_json *j, const char *key);
void sl_json_obj_close(struct sl_json *j);
void sl_json_arr_open(struct sl_json *j, const char *key);
void sl_json_arr_close(struct sl_json *j);
void sl_json_u64(struct sl_json *j, const char *key, uint64_t v);
void sl_json_i64(struct sl_json *j, const char *key, int64_t v);
void sl_json_bool(struct sl_json *j, const char *key, bool v);
void sl_json_dbl(struct sl_json *j, const char *key, double v, int decimals);
/** String value, JSON-escaped (control characters, quotes, backslash, non-UTF-8 bytes). */
void sl_json_str(struct sl_json *j, const char *key, const char *s);
/** Writes @p us (epoch microseconds) as ISO-8601 UTC with microseconds. */
void sl_json_time(struct sl_json *j, const char *key, uint64_t us);

/** One port as the report sees it. */
struct sl_report_port {
	struct sl_port_info info;  /**< setup result */
	struct rte_eth_stats st;   /**< statistics at the end */
	int stats_rc;              /**< rte_eth_stats_get() result */
};

/** Everything the end-of-run reports read. */
struct sl_report_ctx {
	bool offline;                       /**< offline run */
	const struct sl_cfg *cfg;           /**< configuration in force */
	const struct sl_input *input;       /**< offline reader, else NULL */
	unsigned int nports;                /**< ports */
	struct sl_report_port *ports;       /**< ports[] */
	unsigned int nworkers;              /**< workers */
	struct sl_worker *const *workers;   /**< workers[] */
	struct sl_chost_table *hosts;       /**< control host table */
	uint64_t msgs_received;             /**< channel records the control core took */
	double elapsed_s;                   /**< wall time (human report only) */
	const struct sl_match_db *db;       /**< detection object in force, or NULL */
	const uint64_t *det_events;         /**< events the control core took, per detector */
	uint64_t reloads;                   /**< successful list/detector reloads */
	uint64_t reload_errors;             /**< reloads refused (bad list: old kept) */
	struct sl_score *score;             /**< host scores, or NULL (score = 0) */
	struct sl_block *block;             /**< the response, or NULL (mode = monitor) */
	uint64_t score_now_us;              /**< time the scores are shown at */
	const struct sl_ctl_stats *ctl;     /**< control-plane counters, or NULL */
};

/**
 * Write one detection as an EVE-style JSON line (event_type "detection"): timestamp,
 * flow_id, 5-tuple, host, detector, protocol, weight, direction, evidence {offset, excerpt}.
 * @return 0 or -EIO.
 */
int sl_report_event(FILE *f, const struct sl_event *ev, unsigned int weight);

/**
 * The line of @p count repeats of a detection folded after its first line (event_dedup_s):
 * the detection line of the latest repeat @p ev with "repeats": {count, first, last}.
 * @p count 0 writes a plain detection line. @return 0 or -EIO.
 */
int sl_report_event_agg(FILE *f, const struct sl_event *ev, unsigned int weight, uint64_t count,
	uint64_t first_us);

/**
 * Write a scorer note as a JSON line: event_type "alert" (host, score, level, reasons: every
 * signal with its kind, points now and at full strength, flow, peer and evidence or feature
 * values) or "host_score" (a level change up or down). The 5-tuple is the flow that made the
 * change, when there is one. @return 0 or -EIO.
 */
int sl_report_note(FILE *f, const struct sl_score_note *n, const struct sl_score_params *p);

/**
 * Write a response note as a JSON line: event_type "block" (host, scope, peer, port, proto,
 * backend, nic_error, ttl, expiry, offence, reason), "block_refused" (the same, with the
 * refusal) or "unblock" (with why, how long it lasted and what it dropped). @return 0 or -EIO.
 */
int sl_report_block_note(FILE *f, const struct sl_block_note *n);

/** One rule as a JSON object (array member). */
void sl_report_block_rule(struct sl_json *j, const struct sl_block_rule *r);

/** Write a periodic "stats" JSON line at @p ts_us. @return 0 or -EIO. */
int sl_report_stats_event(FILE *f, const struct sl_report_ctx *c, uint64_t ts_us);

/** One reason as a line of text (for telemetry and the human report). */
void sl_report_reason_text(const struct sl_signal *g, float now_points, char *buf, size_t len);

/** A host's score and reasons as a JSON object member (@p key may be NULL in arrays). */
void sl_report_score_view(struct sl_json *j, const char *key, const struct sl_score_view *v,
	const struct sl_score_params *p);

/** Conservation check for one port: true when every received packet is accounted for. */
bool sl_report_port_conserved(const struct sl_report_ctx *c, unsigned int p);
/** Conservation check for one worker. */
bool sl_report_worker_conserved(const struct sl_report_ctx *c, unsigned int w);

/** Write the summary JSON. @return 0 or -EIO. */
int sl_report_summary(FILE *f, const struct sl_report_ctx *c);

/** Write the human report. */
void sl_report_human(FILE *f, const struct sl_report_ctx *c);

#endif /* SL_REPORT_H */
