/* sl_report.h: what sluice tells its user: the summary JSON at the end of a run
 * (--summary FILE: per-worker counters, packet outcomes by reason, port statistics, the
 * conservation equations, flow and host table totals, top hosts and flows), the short
 * human report on stderr, and the event log (JSON lines: detections, alerts, blocks, stats)
 * through an event writer built to cost little per event. Also the JSON formatter all use.
 * Output is deterministic: the same input gives byte-identical summaries. Control core only
 * (the event writer may run a thread of its own). */
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

/**
 * @file
 * Output that costs little per event. Two pieces:
 *
 * - struct sl_json, a streaming JSON formatter that writes into memory: no stdio call per
 *   character, integers formatted by hand, the date part of timestamps cached per second.
 *   It runs in one of two modes. FILE mode (sl_json_init()) fills a buffer inside the
 *   struct and fwrite()s it to the FILE whenever it is full and when the top-level value
 *   closes: the summary uses it. Line mode (sl_json_line_begin()) writes one compact JSON
 *   line straight into an event writer's chunk.
 * - struct sl_writer, the event log (JSON lines). Lines are appended into a chunk
 *   (SL_WRITER_CHUNK bytes; no syscall per line). A full chunk is write(2)n by the caller's
 *   thread (unthreaded) or queued on a single-producer/single-consumer ring to a writer
 *   thread that does the write(2)s (threaded), so the control core never waits on a disk
 *   unless every chunk is in flight: then it waits and counts the wait; lines are never
 *   dropped silently. A failed write(2) is counted and its error is returned by the next
 *   call that appends or flushes; the lines it carried are lost, nothing crashes.
 *
 * Every function here is for one thread (the control core), except the writer thread the
 * writer runs itself.
 */

/** Mode of the files sluice creates that name hosts and flows (events, summary): owner
 * read-write, group read, whatever the umask lets through beyond that. */
#define SL_OUTPUT_MODE 0640

#define SL_JSON_LOCAL 4096u            /**< FILE mode: bytes buffered before an fwrite() */
#define SL_WRITER_CHUNK (256u * 1024u) /**< event writer: bytes per chunk */
#define SL_WRITER_CHUNKS 8u            /**< threaded event writer: chunks (one being filled) */

struct sl_writer;

/** Streaming JSON formatter (two-space indentation, or compact). Members are private. */
struct sl_json {
	char *buf;              /**< where bytes go: local[] or the writer's chunk */
	size_t len;             /**< bytes in buf */
	size_t cap;             /**< size of buf */
	FILE *f;                /**< FILE mode: the output, else NULL */
	struct sl_writer *w;    /**< line mode: the writer, else NULL */
	size_t mark;            /**< line mode: where this line starts in buf */
	int err;                /**< first error (-ENOMEM, -EIO), 0 if none */
	int depth;              /**< nesting */
	bool compact;           /**< one line, no spaces */
	bool first[32];         /**< no member written yet at this depth */
	char local[SL_JSON_LOCAL]; /**< FILE mode buffer */
};

/**
 * FILE mode: format into a buffer flushed to @p f when full and when the top-level value
 * closes (so @p f holds the value once sl_json_obj_close() returns at depth 0).
 * @param compact one line without spaces (no newline after the top-level value), else
 *   indented with a newline at the end.
 */
void sl_json_init(struct sl_json *j, FILE *f, bool compact);
/** FILE mode: hand what is buffered to the FILE. @return 0, or -EIO if fwrite() failed. */
int sl_json_flush(struct sl_json *j);
/**
 * Line mode: start one compact JSON line in @p w's current chunk. Finish it with
 * sl_json_line_end(). No syscall unless the chunk fills.
 */
void sl_json_line_begin(struct sl_json *j, struct sl_writer *w);
/**
 * Line mode: end the line ('\n') and account it; a chunk that is nearly full is handed on.
 * A line that could not be formatted (out of memory) is dropped whole.
 * @return 0, or a negative errno: -ENOMEM (this line was dropped), or the error of a write
 *   that failed since the writer was opened or reopened (-ENOSPC, -EIO, ...). errno is set
 *   to the same error, so a caller may log strerror(errno).
 */
int sl_json_line_end(struct sl_json *j);

void sl_json_obj_open(struct sl_json *j, const char *key);
void sl_json_obj_close(struct sl_json *j);
void sl_json_arr_open(struct sl_json *j, const char *key);
void sl_json_arr_close(struct sl_json *j);
void sl_json_u64(struct sl_json *j, const char *key, uint64_t v);
void sl_json_i64(struct sl_json *j, const char *key, int64_t v);
void sl_json_bool(struct sl_json *j, const char *key, bool v);
/** Fixed-point number (printf "%.*f"); NaN and infinities are written as null. */
void sl_json_dbl(struct sl_json *j, const char *key, double v, int decimals);
/** String value, JSON-escaped (control characters, quotes, backslash, non-UTF-8 bytes). */
void sl_json_str(struct sl_json *j, const char *key, const char *s);
/** Writes @p us (epoch microseconds) as ISO-8601 UTC with microseconds. */
void sl_json_time(struct sl_json *j, const char *key, uint64_t us);

/** What an event writer did. */
struct sl_writer_stats {
	uint64_t lines;        /**< lines appended */
	uint64_t bytes;        /**< bytes appended (newlines included) */
	uint64_t write_errors; /**< write(2)s that failed (their chunk's lines are lost) */
	uint64_t chunks;       /**< chunks handed to write(2) or to the writer thread */
	uint64_t waits;        /**< times the caller waited for the writer thread (all chunks in
	                        *   flight) */
	uint64_t syslog_sent;    /**< lines a syslog receiver took (UDP/unix: sent; TCP: written) */
	uint64_t syslog_dropped; /**< lines dropped: socket missing, receiver down or behind */
	uint64_t syslog_errors;  /**< send errors that closed the syslog connection */
};

/** With sl_writer_open(NULL, SL_WRITER_NO_FILE, ...): lines go only to the syslog sink. */
#define SL_WRITER_NO_FILE (-2)

/*
 * Syslog (syslog.c): each event line as an RFC 5424 message "<PRI>1 TIME HOST sluice PID
 * EVENT_TYPE - {json}" (severity warning for alert and block lines, else info), sent where the
 * writer writes its chunks (the writer thread live), never blocking: to "unix[:PATH]" (default
 * /dev/log), "udp:HOST:PORT" or "tcp:HOST:PORT" (octet-counted framing; [ADDR] for IPv6).
 */
struct sl_syslog;

/**
 * Open a syslog sink. @p facility a name (local5, daemon, ...); @p host the HOSTNAME field.
 * @return 0; 1 if it could not connect yet (message in @p err; it retries once a second and
 *   counts what it drops meanwhile); or -EINVAL (bad target or facility, unresolvable host:
 *   message in @p err), -ENOMEM. *out is set unless negative.
 */
int sl_syslog_open(const char *target, const char *facility, const char *host,
	struct sl_syslog **out, char *err, size_t len);
/** The RFC 5424 code of a facility name, -1 if unknown. */
int sl_syslog_facility(const char *name);
/** Send each line of @p data (complete lines, '\n'-separated). One thread at a time. */
void sl_syslog_send_lines(struct sl_syslog *s, const char *data, size_t len);
/** TCP: give the collector up to @p wait_ms to take what is pending. */
void sl_syslog_finish(struct sl_syslog *s, unsigned int wait_ms);
/** Counters (readable from any thread). */
void sl_syslog_get_stats(const struct sl_syslog *s, uint64_t *sent, uint64_t *dropped,
	uint64_t *errors);
/** Close and free (what a TCP collector has not taken within 2 s is dropped, counted). */
void sl_syslog_close(struct sl_syslog *s);
/**
 * Hand @p s to @p w before its first line: every line written from then on is also sent
 * there; the writer closes it. Unthreaded, the sends are made by the caller's thread.
 */
void sl_writer_set_syslog(struct sl_writer *w, struct sl_syslog *s);

/**
 * Open an event writer.
 * @param path file to append to (created 0666 & ~umask, like fopen "a"), or NULL to write
 *   to @p fd.
 * @param fd with @p path NULL: a descriptor to write to (e.g. 1 = stdout); it is not closed.
 * @param threaded true: a writer thread does the write(2)s. It starts with the first chunk
 *   handed on (so it inherits that thread's CPU affinity: in sluice the control core's) and
 *   blocks every signal. If it cannot be started the writer falls back to unthreaded.
 * @param err, len message on failure.
 * @return the writer, or NULL with errno set (ENOMEM, EINVAL, or open(2)'s error).
 */
struct sl_writer *sl_writer_open(const char *path, int fd, bool threaded, char *err, size_t len);
/**
 * Reopen the path (log rotation, SIGHUP), appending. Lines appended before go to the old
 * file; the error state is cleared. On failure the old file is kept.
 * @return 0, -EINVAL if the writer has no path, or open(2)'s -errno.
 */
int sl_writer_reopen(struct sl_writer *w);
/**
 * Hand what is buffered on: unthreaded, write(2) it; threaded, queue the chunk to the writer
 * thread if a free chunk can take its place (never waits: else it goes when full). Call it
 * every control-loop pass live, and at the end.
 * @return 0, or the negative errno of a write that failed since open/reopen (errno set too).
 */
int sl_writer_flush(struct sl_writer *w);
/**
 * Write everything out, stop the writer thread, close what sl_writer_open() opened, free.
 * @return 0, or -EIO if any write(2) or the close(2) failed. NULL is a no-op.
 */
int sl_writer_close(struct sl_writer *w);
/**
 * Hand what is buffered on and wait (up to @p wait_ms) until it is written and a TCP syslog
 * collector has taken it: before a final report. @return as sl_writer_flush().
 */
int sl_writer_sync(struct sl_writer *w, unsigned int wait_ms);
/** Counters so far (write_errors may lag the writer thread by a chunk). */
void sl_writer_get_stats(const struct sl_writer *w, struct sl_writer_stats *st);

struct sl_probe;
struct sl_probe_entry;

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
	struct sl_probe *probe;             /**< the active probe, or NULL (off, offline) */
	const struct sl_devtab *devs;       /**< device table, or NULL (devices = 0) */
};

/**
 * Write one detection as an EVE-style JSON line (event_type "detection"): timestamp,
 * flow_id, 5-tuple, host, detector, protocol, weight, direction, evidence {offset, excerpt},
 * appended to @p w (no syscall unless a chunk fills).
 * @return 0, or a negative errno: the error of a write that failed since @p w was opened or
 *   reopened (the caller logs it once and may stop writing), or -ENOMEM (line dropped).
 */
int sl_report_event(struct sl_writer *w, const struct sl_event *ev, unsigned int weight);

/**
 * The line of @p count repeats of a detection folded after its first line (event_dedup_s):
 * the detection line of the latest repeat @p ev with "repeats": {count, first, last}.
 * @p count 0 writes a plain detection line. @return 0 or -EIO.
 */
int sl_report_event_agg(struct sl_writer *w, const struct sl_event *ev, unsigned int weight, uint64_t count,
	uint64_t first_us);

/**
 * Write a scorer note as a JSON line: event_type "alert" (judged_host, score, level, the EVE
 * alert object of its strongest reason, reasons: every signal with its kind, points now and
 * at full strength, flow, peer and evidence or feature values) or "host_score" (a level
 * change up or down). The 5-tuple is the flow that made the change, when there is one.
 * @p blocked: a block holds the host now (the alert's action). @p ev_pcap, @p ev_stream: the
 * alert's evidence files (field evidence_files {pcap, stream}), NULL = none.
 * @return as sl_report_event().
 */
int sl_report_note(struct sl_writer *w, const struct sl_score_note *n,
	const struct sl_score_params *p, bool blocked, const char *ev_pcap, const char *ev_stream);

/**
 * Write a response note as a JSON line: event_type "block" (host, scope, peer, port, proto,
 * backend, nic_error, ttl, expiry, offence, reason), "block_refused" (the same, with the
 * refusal) or "unblock" (with why, how long it lasted and what it dropped).
 * @return as sl_report_event().
 */
int sl_report_block_note(struct sl_writer *w, const struct sl_block_note *n);

/**
 * Write a "bgp_speaker" line: the BGP speaker's @p speaker state (up, down), whether sluice
 * announced everything again (@p restarted, @p routes of them) and a detail (the CLI's words).
 * @return as sl_report_event().
 */
int sl_report_bgp_note(struct sl_writer *w, uint64_t ts_us, int speaker, bool restarted,
	uint32_t routes, const char *detail);

/**
 * Write a probe as a JSON line: event_type "probe", dest_ip/dest_port, judged_host (the host
 * whose evidence asked), probe {origin, result, skip_reason, protocol, tls, request, what,
 * answer, asked, latency_ms}. @return as sl_report_event().
 */
int sl_report_probe(struct sl_writer *w, const struct sl_probe_entry *e, bool operator_made,
	uint64_t ts_us);

/** One rule as a JSON object (array member). */
void sl_report_block_rule(struct sl_json *j, const struct sl_block_rule *r);

/** Write a periodic "sluice_stats" JSON line at @p ts_us. @return as sl_report_event(). */
int sl_report_stats_event(struct sl_writer *w, const struct sl_report_ctx *c, uint64_t ts_us);

/*
 * EVE (eve.c). Every event line carries EVE's `host` (the sensor: sl_writer_set_sensor()),
 * timestamps with a numeric UTC offset, and, where a flow is named, its Community ID.
 * Alerts, blocks and detections carry an `alert` object whose signature_id comes from
 * sluice's range (SL_DETECTORS, SL_SIGNAL_KINDS, SL_BLOCK_SID_OPERATOR).
 */
#define SL_EVE_REV 1u                  /**< rev of every sluice signature so far */
#define SL_EVE_CATEGORY_MINING "Crypto Currency Mining Activity Detected"
#define SL_EVE_CATEGORY_ANOMALY "Potentially Bad Traffic" /**< baseline-only verdicts */
#define SL_COMMUNITY_ID_LEN 32u        /**< "1:" + 28 base64 characters + NUL */
#define SL_SENSOR_ID_MAX 256u          /**< longest sensor name kept */

/** What an alert object says. */
struct sl_eve_alert {
	uint32_t sid;          /**< signature_id */
	const char *signature; /**< a readable sentence */
	const char *category;  /**< NULL: SL_EVE_CATEGORY_MINING */
	unsigned int severity; /**< 1 (most severe) .. 3 */
	bool blocked;          /**< action "blocked", else "allowed" */
};

/** Write the member "alert": {action, gid 1, signature_id, rev, signature, category, severity}. */
void sl_eve_alert(struct sl_json *j, const struct sl_eve_alert *a);

/**
 * Community ID v1 of a flow: addresses IPv4-mapped for IPv4; for ICMP/ICMPv6 @p sport is the
 * type and @p dport the code. Either direction gives the same string.
 * @return 0, or -ENOSPC if @p len < SL_COMMUNITY_ID_LEN.
 */
int sl_community_id(uint16_t seed, const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
	uint16_t sport, uint16_t dport, char *out, size_t len);

/** SHA-1 of @p len bytes (for the Community ID). */
void sl_sha1(const void *data, size_t len, uint8_t out[20]);

/** Writes the "device" member of a line about host @p addr (where the device is: MAC,
 * vendor, VLANs, names, first seen). */
typedef void (*sl_writer_device_fn)(void *arg, struct sl_json *j, const uint8_t addr[16]);
/** Alerts, host scores and blocks of @p w call @p fn after judged_host (NULL: none). */
void sl_writer_set_device(struct sl_writer *w, sl_writer_device_fn fn, void *arg);
/** Write the "device" member for @p addr through the function set, if any. */
void sl_writer_device(struct sl_writer *w, struct sl_json *j, const uint8_t addr[16]);
/** The sensor's name, EVE's `host` on every line @p w writes (truncated to SL_SENSOR_ID_MAX - 1). */
void sl_writer_set_sensor(struct sl_writer *w, const char *sensor_id);
/** The sensor's name set on @p w ("" if none). */
const char *sl_writer_sensor(const struct sl_writer *w);

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
