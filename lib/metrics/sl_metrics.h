/* sl_metrics.h: what sluice exposes while it runs: Prometheus text on /metrics (served by
 * libmicrohttpd from its own control-side thread) and the DPDK telemetry command
 * /sluice/stats.
 *
 * The control core renders every family into text at a fixed interval and publishes it in
 * one of two buffers guarded by a sequence counter (a seqlock): the HTTP and telemetry
 * threads copy the published buffer and retry if it changed under them. They never read
 * state the control core is writing, never touch worker state and never make the control
 * core wait. The families are one X-macro table (name, type, help).
 */
#ifndef SL_METRICS_H
#define SL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_report.h"

/*
 * X(name, type, help): every family sluice exports (the sluice_ prefix is added).
 * Labels are documented in the help text.
 */
#define SL_METRIC_FAMILIES(X)                                                                \
	X(port_rx_packets_total, counter, "Packets the NIC received (ipackets), per port")       \
	X(port_rx_bytes_total, counter, "Bytes the NIC received (ibytes), per port")            \
	X(port_missed_total, counter, "Packets the NIC dropped for lack of descriptors, per port") \
	X(port_errors_total, counter, "Erroneous packets (ierrors), per port")                  \
	X(port_nombuf_total, counter, "RX mbuf allocation failures, per port")                  \
	X(queue_packets_total, counter, "Packets workers polled, per port and queue")           \
	X(worker_packets_total, counter, "Packets by worker, outcome class and reason")         \
	X(worker_bytes_total, counter, "Wire bytes received, per worker")                       \
	X(flows_active, gauge, "Flows in the table, per worker")                                \
	X(flows_created_total, counter, "Flows created, per worker")                            \
	X(flows_expired_total, counter, "Flows ended by timeout or TCP close, per worker")      \
	X(flow_table_full_total, counter, "Packets whose flow could not be created, per worker") \
	X(payload_pool_empty_total, counter, "Flows that got no payload buffer (uninspected)")  \
	X(channel_ring_full_total, counter, "Records refused by a full worker ring, per worker") \
	X(events_lost_total, counter, "Detection events lost to a full ring, per worker")       \
	X(inspected_bytes_total, counter, "Payload bytes handed to inspection, per worker")     \
	X(detections_total, counter, "Detection events taken by the control core, per detector and protocol") \
	X(hosts_tracked, gauge, "Hosts in the control core's table")                            \
	X(flow_samples_total, counter, "Behaviour samples of flows sent to the control core, per worker") \
	X(flow_samples_lost_total, counter, "Behaviour samples lost to a full ring, per worker") \
	X(score_signals_total, counter, "Signals the scorer took, by kind")                    \
	X(alerts_total, counter, "Hosts that crossed the alert threshold")                      \
	X(hosts_scored, gauge, "Hosts with signals")                                            \
	X(hosts_over_threshold, gauge, "Hosts at or over a score threshold, by level")          \
	X(host_score, gauge, "Score (0-100) of the highest-scoring hosts (top metrics_top_hosts)") \
	X(score_table_full_total, counter, "Signals dropped because the score table was full")  \
	X(scoring_cycle_seconds, gauge, "Duration of the last score decay pass")                \
	X(scoring_cycles_total, counter, "Score decay passes")                                  \
	X(scoring_time_jumps_total, counter, "Records over 100 decay periods from the one before")\
	X(blocks_active, gauge, "Active block rules, by backend (nic, soft, dry)")              \
	X(blocks_installed_total, counter, "Block rules made, by backend")                      \
	X(blocks_refused_total, counter, "Block requests refused, by reason (allowlisted, cap_active, cap_rate, ...)") \
	X(blocks_nic_refused_total, counter, "Block rules the NIC refused (then soft)")           \
	X(blocks_expired_total, counter, "Block rules removed after their TTL")                 \
	X(blocks_removed_total, counter, "Block rules removed by an operator")                  \
	X(block_dropped_packets_total, counter, "Packets dropped by blocks, by backend (soft: per worker)") \
	X(block_dropped_bytes_total, counter, "Bytes dropped by blocks, by backend (soft: per worker)") \
	X(bgp_speaker_up, gauge, "BGP speaker: 1 up, else 0 (state: up, down, unknown = not polled yet, off = no bgp backend)") \
	X(bgp_routes, gauge, "BGP routes in the table, by state (announced, pending)")          \
	X(bgp_calls_total, counter, "gobgp calls, by op (announce, withdraw) and result (ok, failed)") \
	X(bgp_retries_total, counter, "gobgp calls made again after a failure")                  \
	X(bgp_speaker_restarts_total, counter, "Times the speaker came back or lost the routes (all announced again)") \
	X(bgp_reannounced_total, counter, "Routes announced again after a speaker restart")      \
	X(bgp_not_announced_total, counter, "Blocks not announced: the route cap (bgp_max_routes)") \
	X(inline_forwarded_total, counter, "Inline: packets forwarded, per worker")             \
	X(inline_tx_full_total, counter, "Inline: packets the TX queue refused, per worker")    \
	X(probes_total, counter, "Active probes finished, by result (pool, not_pool, silent, refused, error)") \
	X(probe_pools_total, counter, "Pools active probes confirmed, by protocol")               \
	X(probe_skipped_total, counter, "Probes not run, by reason (allowlisted, home_net, cap_rate, cap_dest, ...)") \
	X(probe_connections_total, counter, "TCP connections the prober opened")                \
	X(probe_own_flows_total, counter, "Records about the probe's own flows, not scored")    \
	X(probe_seconds_total, counter, "Total time of finished probes")                  \
	X(probe_cache_entries, gauge, "Entries in the probe result cache")                       \
	X(detection_tables_generation, gauge, "Generation of the detection tables in force")    \
	X(detection_reloads_total, counter, "Detection table reloads, by result")               \
	X(pool_names, gauge, "Pool names loaded")                                               \
	X(pool_ranges, gauge, "Pool address ranges loaded")                                     \
	X(devices_known, gauge, "Devices in the device table")                                  \
	X(devices_new_total, counter, "Devices added to the device table")                     \
	X(devices_moved_total, counter, "Devices seen on a new VLAN or port")                   \
	X(devices_evicted_total, counter, "Devices evicted because their bucket was full (device table full)") \
	X(devices_routers, gauge, "MACs marked router or gateway (many addresses)")              \
	X(syslog_messages_total, counter, "Event lines for syslog by result: sent, dropped (socket missing, receiver down or behind), errors") \
	X(metrics_requests_cut_total, counter, "/metrics connections closed at their deadline (metrics_request_timeout_s)") \
	X(evidence_total, counter, "Evidence packets (evidence_dir): files, packets, bytes written and every bound, by counter") \
	X(render_seconds, gauge, "Time the control core took to render this snapshot")         \
	X(snapshot_timestamp_seconds, gauge, "When this snapshot was rendered (Unix time)")

/** A growing text buffer (control core only). */
struct sl_text {
	char *p;
	size_t len;
	size_t cap;
	bool oom; /**< an append failed: the text is incomplete */
};

void sl_text_reset(struct sl_text *t);
void sl_text_free(struct sl_text *t);
void sl_text_printf(struct sl_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct sl_http;

/**
 * Render every family from @p c (and the endpoint's own counters from @p http, which may be
 * NULL) into @p t (Prometheus text format 0.0.4).
 */
void sl_metrics_render(struct sl_text *t, const struct sl_report_ctx *c,
	const struct sl_http *http, double render_s, uint64_t now_us);

/** A published snapshot: two buffers, a sequence counter each. */
struct sl_snapshot;

struct sl_snapshot *sl_snapshot_create(void);
void sl_snapshot_free(struct sl_snapshot *s);

/** Control core: publish a copy of @p text. Never waits. @return 0 or -ENOMEM. */
int sl_snapshot_publish(struct sl_snapshot *s, const char *text, size_t len);

/**
 * Any thread: a malloc'd copy of the latest snapshot (NUL terminated) in @p out and its
 * length, or -EAGAIN if nothing has been published yet. The caller frees it.
 */
int sl_snapshot_copy(struct sl_snapshot *s, char **out, size_t *len);

/** Limits of the /metrics endpoint against slow or many clients (config keys metrics_*). */
struct sl_http_limits {
	unsigned int max_connections;   /**< connections at once (metrics_max_connections) */
	unsigned int per_ip;            /**< from one address (metrics_per_ip_connections) */
	unsigned int request_timeout_s; /**< a request is answered within this many seconds of
					     its connection or of the previous answer on it,
					     however it trickles in; also the keep-alive idle
					     time (metrics_request_timeout_s) */
};

/**
 * Serve GET/HEAD /metrics from @p s on @p bind:@p port (libmicrohttpd, its own thread, and a
 * thread that closes connections past their deadline). Other paths get 404, other methods
 * 405, oversized requests 431/413.
 * NULL with @p err filled on failure (e.g. port in use).
 */
struct sl_http *sl_http_start(struct sl_snapshot *s, const char *bind, unsigned int port,
	const struct sl_http_limits *lim, char *err, size_t errlen);

/** Connections closed at their deadline. */
uint64_t sl_http_cut(const struct sl_http *h);
void sl_http_stop(struct sl_http *h);

/** Requests served, by status class, for the summary. */
uint64_t sl_http_requests(const struct sl_http *h);

#endif /* SL_METRICS_H */
