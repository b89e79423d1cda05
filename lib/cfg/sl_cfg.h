/* sl_cfg.h: sluice configuration: the key table (one X-macro: name, default, range, help),
 * the config-file parser with file:line errors, and CIDR sets (home_nets). Pure C, no EAL:
 * it runs before anything is started, so a bad file stops sluice with nothing running. */
#ifndef SL_CFG_H
#define SL_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_CIDR_MAX 256 /**< most CIDRs in one set */

/** One prefix; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) with prefix length + 96. */
struct sl_cidr {
	uint8_t addr[16]; /**< network address, host bits zeroed */
	uint8_t plen;     /**< prefix length 0..128 in the 16-byte space */
};

/** A small set of prefixes, checked linearly (used at flow creation, not per packet). */
struct sl_cidr_set {
	uint32_t n;                          /**< entries in use */
	struct sl_cidr cidr[SL_CIDR_MAX];    /**< entries */
};

/*
 * Numeric keys: X(name, default, min, max, help). Times are in the unit the name says.
 * config/sluice.conf documents every key with the same defaults; a unit test checks that
 * the two agree.
 */
#define SL_CFG_NUM_KEYS(X)                                                                   \
	X(workers, 1, 1, 16, "offline: worker lcores (live: every EAL lcore but the main one)")  \
	X(rx_queues, 0, 0, 64, "live: RX queues per port, 0 = one per worker")                   \
	X(rx_desc, 1024, 64, 16384, "live: RX descriptors per queue")                            \
	X(mbufs, 0, 0, 16777216, "mbufs in the pool, 0 = sized from ports and queues")           \
	X(flow_capacity, 1048576, 1024, 67108864, "live: flow table entries per worker")          \
	X(offline_flow_capacity, 262144, 1024, 67108864, "offline: flow entries per worker")      \
	X(payload_bytes, 2048, 0, 65536, "payload bytes kept per flow direction for matching")   \
	X(payload_buffers, 65536, 0, 16777216, "live: payload buffers per worker")               \
	X(offline_payload_buffers, 16384, 0, 16777216, "offline: payload buffers per worker")    \
	X(tcp_new_timeout, 30, 1, 86400, "seconds a TCP flow without an answer stays")           \
	X(tcp_established_timeout, 600, 1, 604800, "seconds an idle established TCP flow stays") \
	X(tcp_closed_timeout, 10, 1, 86400, "seconds a TCP flow stays after FIN both ways/RST")   \
	X(udp_timeout, 120, 1, 86400, "seconds an idle UDP flow stays")                          \
	X(other_timeout, 30, 1, 86400, "seconds an idle ICMP or other flow stays")               \
	X(long_flow_seconds, 120, 1, 86400, "age at which a flow counts as long-lived")          \
	X(aging_batch, 256, 1, 65536, "flow slots a worker checks for expiry per poll pass")     \
	X(idle_polls, 0, 0, 100000000, "empty polls before a worker sleeps, 0 = never sleep")    \
	X(idle_sleep_us, 50, 1, 1000000, "microseconds a worker sleeps when idle")               \
	X(report_interval_ms, 1000, 1, 3600000, "how often workers send host deltas")            \
	X(report_ring_size, 16384, 64, 1048576, "records per worker ring to the control core (power of 2)") \
	X(worker_host_capacity, 65536, 64, 16777216, "hosts a worker tracks between reports")     \
	X(host_capacity, 1048576, 64, 67108864, "live: hosts in the control core's table")        \
	X(offline_host_capacity, 262144, 64, 67108864, "offline: hosts in the control table")     \
	X(host_timeout, 600, 1, 604800, "seconds without traffic before a host is aged out")     \
	X(summary_top_hosts, 20, 0, 100000, "hosts listed in the summary, by bytes")             \
	X(summary_top_flows, 10, 0, 32, "largest flows listed in the summary, by bytes")          \
	X(exit_idle_ms, 0, 0, 86400000, "live: stop after this long with no packets, 0 = never") \
	X(port_time, 0, 0, 1, "live: take time from the ports' RX timestamps (replays: offline-identical results)") \
	X(detect, 1, 0, 1, "inspect payloads for mining (0 = count traffic only)")              \
	X(metrics_port, 9877, 0, 65535, "live: TCP port of the Prometheus /metrics endpoint, 0 = off") \
	X(metrics_interval_ms, 1000, 100, 600000, "live: how often the metrics snapshot is rendered") \
	X(metrics_top_hosts, 10, 0, 1000, "hosts whose score /metrics shows (highest first)")    \
	X(score, 1, 0, 1, "score hosts and write alerts (0 = detection events only)")           \
	X(score_capacity, 65536, 64, 16777216, "hosts with signals the scorer keeps")            \
	X(score_alert, 60, 1, 100, "score at which a host is alerted")                          \
	X(score_block, 85, 1, 100, "score at which a host is to be blocked")                    \
	X(score_weight_dpi, 100, 0, 100, "points of a mining-protocol payload detection")       \
	X(score_weight_pool_name, 90, 0, 100, "points of a listed pool name (DNS, SNI, Host)")   \
	X(score_weight_pool_ip, 70, 0, 100, "points of a flow to a listed pool address")        \
	X(score_weight_fingerprint, 100, 0, 100, "points of an encrypted pool handshake shape") \
	X(score_weight_behaviour, 80, 0, 100, "points of a flow that behaves like a miner")     \
	X(score_weight_baseline, 25, 0, 100, "points of traffic far from the host's baseline")  \
	X(score_hold_s, 30, 0, 86400, "seconds a signal counts fully after it was last seen")   \
	X(score_half_life_s, 300, 1, 604800, "then its points halve every this many seconds")   \
	X(score_interval_ms, 1000, 10, 600000, "how often scores are re-evaluated for decay")   \
	X(flow_sample_s, 10, 0, 3600, "seconds between behaviour samples of a flow, 0 = none")  \
	X(flow_sample_min_age_s, 20, 0, 86400, "flows younger than this are not sampled")       \
	X(beh_msg_gap_ms, 50, 1, 10000, "a pause this long ends a message (behaviour)")         \
	X(beh_reply_ms, 1000, 1, 60000, "a responder message this soon after a request is a reply") \
	X(beh_bulk_bytes, 65536, 1024, 1073741824, "a message this large marks a flow as bulk") \
	X(score_beh_min_age_s, 45, 1, 86400, "flows younger than this are not judged")          \
	X(score_beh_min_messages, 3, 1, 1000, "messages each way before a flow is judged")      \
	X(score_beh_max_bytes_per_packet, 600, 60, 65535, "denser flows are not judged")        \
	X(score_beh_max_bytes_per_s, 4000, 1, 1000000000, "faster flows are not judged")        \
	X(score_beh_gap_min_ms, 2000, 0, 86400000, "mining cadence: shortest mean request gap") \
	X(score_beh_gap_max_ms, 180000, 0, 86400000, "mining cadence: longest mean request gap") \
	X(score_beh_min_points, 40, 1, 100, "behaviour points (of 100) that make a signal")     \
	X(baseline_bucket_s, 60, 1, 86400, "length of a baseline bucket")                       \
	X(baseline_warmup, 10, 1, 100000, "buckets learned before deviations count")            \
	X(baseline_alpha_pct, 10, 1, 100, "weight of a new bucket in the baseline, percent")    \
	X(baseline_sigma, 4, 1, 100, "deviation, in standard deviations, that is a signal")     \
	X(stats_interval_s, 60, 0, 86400, "seconds between stats events in the event log, 0 = none") \
	X(event_dedup_s, 0, 0, 3600, "repeats of a detection (host, peer, detector, evidence) within this many seconds become one line with a count, 0 = every one its own line") \
	X(block_auto, 1, 0, 1, "block a host whose score reaches score_block (0 = operator only)") \
	X(block_ttl_s, 600, 1, 31536000, "seconds a first block lasts (doubled per repeat offence)") \
	X(block_ttl_max_s, 86400, 1, 31536000, "longest a block lasts")                        \
	X(block_quiet_s, 60, 0, 86400, "a block expires only after its host was quiet this long") \
	X(block_max_active, 1024, 1, 1048576, "most active blocks (more are refused, counted)") \
	X(block_max_per_minute, 60, 1, 1000000, "most new automatic blocks per minute")          \
	X(evidence_snaplen, 1518, 64, 9216, "evidence: bytes kept of each packet")             \
	X(evidence_ring, 1024, 16, 65536, "evidence: records per worker ring to the control core (power of 2)") \
	X(evidence_flow_packets, 10000, 1, 1000000000, "evidence: packets written per flow per alert") \
	X(evidence_file_flows, 64, 1, 4096, "evidence: flows written per alert (host)")        \
	X(evidence_host_kb, 16384, 4, 1073741824, "evidence: KiB per alert's files (one host)")  \
	X(evidence_max_kb, 1048576, 4, 1073741824, "evidence: KiB of all files; past it the oldest are removed") \
	X(evidence_max_files, 256, 1, 65536, "evidence: alerts whose files are kept; past it the oldest are removed")

#ifndef SL_CONFIG_DIR
#define SL_CONFIG_DIR "/etc/sluice" /**< where the shipped lists live (set by meson) */
#endif

#define SL_CFG_PATH_MAX 512 /**< longest path a string key holds */

/*
 * X(name, default, is_path, help): string keys. A relative path in a config file is taken
 * relative to that file's directory; on the command line (--set), relative to the working
 * directory. Empty means "none".
 */
#define SL_CFG_STR_KEYS(X)                                                                   \
	X(pools_domains, SL_CONFIG_DIR "/pools.domains", 1, "pool names, matched as suffixes on label boundaries") \
	X(pools_ips, SL_CONFIG_DIR "/pools.ips", 1, "pool addresses (IPv4/IPv6 CIDRs)")        \
	X(detectors, "", 1, "detector overrides: '<detector> off|on|weight N' per line")        \
	X(hs_cache_dir, "auto", 0, "compiled Hyperscan database cache: a directory, auto (/var/cache/sluice if writable, else $XDG_CACHE_HOME/sluice or ~/.cache/sluice), empty = none") \
	X(metrics_bind, "127.0.0.1", 0, "live: address /metrics listens on (IPv4 or IPv6)")   \
	X(score_beh_service_ports, "22,853,993,995,1883,5222,5223,5228,8883", 0,                \
		"ports of benign long-lived services whose flows are not judged by behaviour") \
	X(evidence_dir, "", 1, "evidence packets: directory of one pcap (and stream file) per alerted host per alert; empty = off") \
	X(sensor_id, "", 0, "this sensor's name: EVE's host on every event line; empty = the machine's hostname") \
	X(syslog, "", 0, "also send event lines as RFC 5424 syslog: unix[:PATH] (default /dev/log), udp:HOST:PORT or tcp:HOST:PORT; empty = off") \
	X(syslog_facility, "local5", 0, "syslog facility: local0..local7, daemon, user, ...") \
	X(mode, "monitor", 0, "monitor (passive), inline (port pairs forward, blocks drop) or dry_run") \
	X(block_scope, "pool", 0, "pool (the host's flows to the pool) or quarantine (all but allowlisted)") \
	X(block_backend, "auto", 0, "auto (NIC rte_flow, soft blocklist where refused), nic or soft") \
	X(block_allowlist, "", 0, "CIDRs never blocked (sensor, gateways, DNS) and quarantine exceptions") \
	X(score_beh_pool_ports, "3333,3334,3335,3336,4444,5555,6666,7777,8008,8888,9999,13333,14433,14444,16666,19999,20535,34254,45560,45700", 0, \
		"ports pools commonly listen on (a behaviour feature; 80 and 443 are common too, so not listed)")

/** Parsed configuration. Plain data; copy freely. */
struct sl_cfg {
#define SL_CFG_FIELD(name, def, min, max, help) uint64_t name; /**< help */
	SL_CFG_NUM_KEYS(SL_CFG_FIELD)
#undef SL_CFG_FIELD
	struct sl_cidr_set home_nets; /**< protected networks; empty = judge flow initiators */
#define SL_CFG_STR_FIELD(name, def, is_path, help) char name[SL_CFG_PATH_MAX]; /**< help */
	SL_CFG_STR_KEYS(SL_CFG_STR_FIELD)
#undef SL_CFG_STR_FIELD
};

/** Fill @p cfg with the documented defaults. */
void sl_cfg_defaults(struct sl_cfg *cfg);

/**
 * Read a config file over the values already in @p cfg.
 * @param cfg    configuration to update
 * @param path   file to read
 * @param err    on failure, receives "path:line: reason" (or "path: reason")
 * @param errlen size of @p err
 * @return 0, -ENOENT/-EIO when the file cannot be read, -EINVAL on a bad line.
 */
int sl_cfg_load(struct sl_cfg *cfg, const char *path, char *err, size_t errlen);

/**
 * Set one key from text (used by the file parser and by tests).
 * @return 0, -ENOENT for an unknown key, -EINVAL/-ERANGE for a bad value; @p err says why.
 */
int sl_cfg_set(struct sl_cfg *cfg, const char *key, const char *value, char *err,
	size_t errlen);

/** Path keys: how many, their names and defaults. */
unsigned int sl_cfg_num_str_keys(void);
const char *sl_cfg_str_key_name(unsigned int i);
const char *sl_cfg_str_key_default(unsigned int i);

/** Check cross-key constraints (e.g. report_ring_size a power of two). 0 or -EINVAL. */
int sl_cfg_validate(const struct sl_cfg *cfg, char *err, size_t errlen);

/** Number of numeric keys and their names/defaults, for docs and tests. */
unsigned int sl_cfg_num_keys(void);
const char *sl_cfg_key_name(unsigned int i);
uint64_t sl_cfg_key_default(unsigned int i);

/**
 * Parse "a.b.c.d/n", "a.b.c.d", "x::y/n" into @p out. @return 0 or -EINVAL.
 */
int sl_cidr_parse(const char *text, struct sl_cidr *out);

/**
 * Parse a comma- or space-separated list of CIDRs, replacing @p set.
 * @return 0, -EINVAL (bad item, named in @p err) or -ENOSPC (more than SL_CIDR_MAX).
 */
int sl_cidr_set_parse(struct sl_cidr_set *set, const char *text, char *err, size_t errlen);

/** True when @p addr (16-byte form) falls in one of the set's prefixes. */
bool sl_cidr_set_match(const struct sl_cidr_set *set, const uint8_t addr[16]);

/** Render a 16-byte address as text (IPv4-mapped addresses print as dotted quads). */
void sl_addr_format(const uint8_t addr[16], char *buf, size_t len);

#endif /* SL_CFG_H */
