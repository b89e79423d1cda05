/* sl_ctl.h: the control plane. One object, run on the main lcore, that keeps up with every
 * worker: it takes their records (host deltas, detections, flow samples) from the SP/SC
 * rings (offline merged in time order), keeps the clock (packet time offline, the ports' RX
 * timestamps or the wall clock live: one abstraction), scores hosts and turns verdicts into
 * blocks, writes the event log, runs the timers (decay, baseline buckets, block expiry,
 * host aging, stats events, metrics snapshots) and answers the mailbox (reloads, reopen,
 * operator commands, host queries). Its work grows with what arrives and what changed,
 * never with table capacity; under overload it aggregates first and drops last, and counts
 * every record by what became of it (produced = written + aggregated + dropped). */
#ifndef SL_CTL_H
#define SL_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sl_block.h"
#include "sl_cfg.h"
#include "sl_evid.h"
#include "sl_host.h"
#include "sl_match.h"
#include "sl_score.h"

/** Where the control plane's time comes from. */
enum sl_ctl_clock {
	SL_CTL_CLOCK_PACKET, /**< offline: record (packet) time, records merged in time order */
	SL_CTL_CLOCK_PORT,   /**< live, port_time = 1: the ports' RX timestamps, via records */
	SL_CTL_CLOCK_WALL,   /**< live: the wall clock (records carry it too) */
};

/* X(name, timing, help): what became of the records workers produced, by kind (timing = 1:
 * the count depends on how the cores ran, waits and passes, so offline summaries leave it
 * out). Detections: produced = written + aggregated + probe_own + dropped_ring + dropped_write; flow
 * samples: produced = scored + dropped_ring; host deltas are never dropped (a worker keeps a refused delta in its
 * slot and merges the next ones into it: aggregated). */
#define SL_CTL_COUNTERS(X)                                                                   \
	X(records, 0, "records taken from the workers' rings") \
	X(det_produced, 0, "detections the workers produced") \
	X(det_taken, 0, "detections taken from the rings") \
	X(det_written, 0, "detection lines written (without an event log: taken)") \
	X(det_aggregated, 0, "detections folded into an earlier line (event_dedup_s)") \
	X(det_dropped_ring, 0, "detections lost: a worker's ring was full") \
	X(det_dropped_write, 0, "detection lines the event log failed to take") \
	X(det_dedup_full, 0, "detections written alone: the aggregation table was full") \
	X(det_probe_own, 1, "detections of the active probe's own flows: neither written nor scored") \
	X(agg_lines, 0, "aggregate lines written for repeated detections") \
	X(samples_produced, 0, "flow samples the workers produced") \
	X(samples_taken, 0, "flow samples taken from the rings") \
	X(samples_dropped_ring, 0, "flow samples lost: a worker's ring was full") \
	X(host_deltas, 0, "host delta records folded into the host table") \
	X(host_deltas_deferred, 1, "host delta reports a full ring deferred (merged, sent later)") \
	X(notes_written, 0, "alert, host_score and response lines written") \
	X(lines_failed, 0, "event lines the event log failed to take") \
	X(ring_full, 1, "times a worker found its ring full") \
	X(reloads, 0, "successful list and detector reloads") \
	X(reload_errors, 0, "reloads refused (bad list: the old tables stay)") \
	X(reopens, 0, "event log reopens (SIGHUP)") \
	X(dev_records, 0, "device observations taken from the rings") \
	X(dev_events, 0, "device_new and device_moved lines written") \
	X(dev_signals, 0, "mining_hw and new_device signals given to the scorer") \
	X(dev_saves, 1, "device state file writes") \
	X(dev_save_errors, 1, "device state file writes that failed") \
	X(syslog_sent, 0, "event lines a syslog receiver took (syslog)") \
	X(syslog_dropped, 0, "event lines not sent to syslog: socket missing, receiver down or behind") \
	X(syslog_errors, 0, "syslog send errors that closed the connection (then retried)") \
	X(passes, 1, "control loop passes") \
	X(idle_passes, 1, "control loop passes that found nothing to do") \
	SL_EVID_COUNTERS(X)

struct sl_ctl_stats {
#define SL_CTL_CNT(name, timing, help) uint64_t name; /**< help */
	SL_CTL_COUNTERS(SL_CTL_CNT)
#undef SL_CTL_CNT
	uint64_t busy_cycles;  /**< live: TSC cycles of passes that found work */
	uint64_t total_cycles; /**< live: TSC cycles of the control loop */
};

unsigned int sl_ctl_num_counters(void);
const char *sl_ctl_counter_name(unsigned int i);
const char *sl_ctl_counter_help(unsigned int i);
/** Counter @p i depends on timing (live only in reports that must repeat exactly). */
bool sl_ctl_counter_timing(unsigned int i);
/** Counter @p i of @p st (X-macro order). */
uint64_t sl_ctl_counter(const struct sl_ctl_stats *st, unsigned int i);

/** What the control plane is built from. */
struct sl_ctl_conf {
	struct sl_cfg *cfg;        /**< configuration in force (kept by pointer; a shipped list
	                                that is missing is cleared, with a warning) */
	bool live;                 /**< live capture (else offline, exact) */
	const char *events_path;   /**< event log: NULL none, "-" stdout, else a file (appended) */
	unsigned int nworkers;     /**< workers that will be attached */
	const char *device_state;  /**< device table state file, loaded at start and saved
	                                (periodically live, and at the end); NULL = none */
	int socket;                /**< NUMA socket of the tables */
};

struct sl_ctl;
struct sl_worker;
struct sl_run;
struct sl_input;
struct sl_report_ctx;
struct sl_report_port;

/**
 * Build the control plane: host table, scorer, response, detection tables, event log.
 * @return the object, or NULL with the reason in @p err and -errno in @p rc (-EINVAL and
 * -ENOENT for configuration and list errors the user must fix, others for resources).
 */
struct sl_ctl *sl_ctl_create(const struct sl_ctl_conf *c, int *rc, char *err, size_t errlen);

/** What the workers need from it (valid until sl_ctl_free()). NULL when off. */
struct sl_match *sl_ctl_match(struct sl_ctl *ctl);
struct sl_block *sl_ctl_block(struct sl_ctl *ctl);
/** Live evidence packets (the workers' marks and rings), or NULL (off, or offline). */
struct sl_evid *sl_ctl_evid(struct sl_ctl *ctl);
struct sl_chost_table *sl_ctl_hosts(struct sl_ctl *ctl);
struct sl_score *sl_ctl_score(struct sl_ctl *ctl);
struct sl_devtab;
/** The device table (NULL when devices = 0). Control core. */
const struct sl_devtab *sl_ctl_devices(const struct sl_ctl *ctl);
/** The response mode in force (enum sl_mode; offline a response is a dry run). */
int sl_ctl_mode(const struct sl_ctl *ctl);

/**
 * Attach the topology once it is built: workers (their rings), the run flags, the ports (for
 * the reports and NIC rules) and the offline reader (NULL live). Offline this sets up the
 * time-ordered merge. @return 0 or -ENOMEM.
 */
int sl_ctl_attach(struct sl_ctl *ctl, struct sl_worker *const *workers, unsigned int nworkers,
	struct sl_run *run, struct sl_report_port *ports, unsigned int nports,
	const struct sl_input *input);

/** Live: register the telemetry commands (reload, stats, hosts, operator commands) and start
 * /metrics when metrics_port != 0. @return 0, or -errno with the reason in @p err. */
int sl_ctl_serve(struct sl_ctl *ctl, char *err, size_t errlen);

/* Requests, async-signal-safe (one store): for signal handlers. */
#define SL_CTL_REQ_STOP 1u   /**< stop (SIGINT, SIGTERM) */
#define SL_CTL_REQ_RELOAD 2u /**< reload lists and overrides (SIGUSR2) */
#define SL_CTL_REQ_REOPEN 4u /**< reopen the event log (SIGHUP) */
void sl_ctl_request(unsigned int req);
/** A stop was requested. */
bool sl_ctl_stopping(void);

/** Offline: the reader's poll callback (sl_input_run): take records, answer requests.
 * @return non-zero when a stop was requested. */
int sl_ctl_poll(void *ctl);

struct sl_msg;
/** Hand @p n records to the control plane as if taken from a worker's ring (the control
 * plane's benchmark and tests). Control core. */
void sl_ctl_feed(struct sl_ctl *ctl, const struct sl_msg *m, unsigned int n);

/** Live: the control loop, until a stop request or exit_idle_ms without packets. */
void sl_ctl_run(struct sl_ctl *ctl);

/**
 * The workers were told to stop (live) or the input is done (offline): drain until every
 * worker has finished, then bring the clock to @p end_us (0: the control plane's own end:
 * the last record live with port time, the wall clock live, the last packet offline), run
 * the last decay pass and write the closing stats event.
 */
void sl_ctl_finish(struct sl_ctl *ctl, uint64_t end_us);

/** Everything the reports read, at this moment. */
void sl_ctl_report_ctx(struct sl_ctl *ctl, double elapsed_s, struct sl_report_ctx *out);

/** Counters (control core, or after the run). */
void sl_ctl_get_stats(const struct sl_ctl *ctl, struct sl_ctl_stats *out);

/** The event log failed (a write error): @return true once one happened. */
bool sl_ctl_events_failed(const struct sl_ctl *ctl);

/** The control plane's clock now. */
uint64_t sl_ctl_now(const struct sl_ctl *ctl);

/** Stop serving, remove the response's rules (reported), flush and close the event log, free
 * everything. Workers must have stopped. @return 0, or -EIO if the event log lost lines. */
int sl_ctl_free(struct sl_ctl *ctl);

#endif /* SL_CTL_H */
