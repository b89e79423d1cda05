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
	X(metrics_max_connections, 256, 8, 4096, "live: most /metrics connections at once")     \
	X(metrics_per_ip_connections, 4, 1, 4096, "live: most /metrics connections from one address") \
	X(metrics_request_timeout_s, 10, 1, 3600, "live: a /metrics request must be answered within this many seconds of its connection (or of the previous answer on it), however slowly it arrives") \
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
	X(score_weight_pool_confirmed, 90, 0, 100, "points of a peer an active probe confirmed as a pool") \
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
	X(score_beh_known, 1, 0, 1, "flows of a protocol the known-protocol table recognised are not judged by behaviour (0 = judge them too)") \
	X(log_judgements, 0, 0, 1, "write a judgement line to the event log for every flow sample past the behaviour shape gates (calibration)") \
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
	X(block_max_per_minute, 60, 1, 1000000, "most new automatic blocks per minute")      \
	X(bgp_api_port, 50051, 1, 65535, "bgp backend: TCP port of gobgpd's gRPC API (gobgp -p)") \
	X(bgp_max_routes, 1000, 1, 1000000, "bgp backend: most routes announced at once (more are refused, counted)") \
	X(bgp_retry_ms, 1000, 10, 3600000, "bgp backend: a failed announce or withdraw is retried after this long") \
	X(bgp_poll_ms, 1000, 50, 3600000, "bgp backend: how often the speaker's state is polled") \
	X(bgp_timeout_ms, 5000, 100, 600000, "bgp backend: a gobgp call that runs longer is killed and retried") \
	X(probe, 0, 0, 1, "live: actively probe peers whose evidence is only behavioural or weak (offline never)") \
	X(probe_suspect, 30, 1, 100, "points of weak evidence about one (peer, port) that ask for a probe") \
	X(probe_cache_ttl_s, 3600, 1, 604800, "seconds a probe result about (ip, port) is kept")  \
	X(probe_cache_size, 4096, 64, 1048576, "probe results kept (rounded up to a power of 2)") \
	X(probe_max_per_minute, 10, 1, 10000, "most probes started per minute")                 \
	X(probe_max_per_dest, 4, 1, 1000, "most probes of one address (any port) per hour")     \
	X(probe_timeout_ms, 2000, 50, 60000, "deadline of each probe step: connect, TLS handshake, one answer") \
	X(probe_banner_ms, 300, 0, 10000, "wait this long after connecting for a server-first banner") \
	X(probe_concurrency, 4, 1, 64, "probes in flight at once")                             \
	X(probe_tls, 1, 0, 1, "also probe inside TLS where the port completes a handshake") \
	X(devices, 1, 0, 1, "learn devices from the wire: MAC/VLAN of new flows, ARP, LLDP, CDP, DHCP") \
	X(device_capacity, 65536, 64, 16777216, "devices in the control core's table (full buckets evict, counted)") \
	X(device_router_ips, 16, 2, 1000000, "a MAC seen with this many addresses is a router or gateway, never blamed") \
	X(device_learn_s, 86400, 0, 31536000, "learning period: a device first seen later is new (new_device signal)") \
	X(device_refresh_s, 60, 1, 86400, "a host's MAC and VLAN are sent again once per this period (device times have this granularity)") \
	X(device_save_s, 300, 0, 86400, "live: seconds between device state file writes, 0 = only at stop") \
	X(device_events, 0, 0, 1, "write device_new and device_moved event lines") \
	X(score_weight_mining_hw, 40, 0, 100, "points of mining hardware: a listed MAC prefix, or a miner's DHCP name or vendor class") \
	X(score_weight_new_device, 15, 0, 100, "points of a device first seen after the learning period that mines or keeps long external flows") \
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

#define SL_CFG_PATH_MAX 4096 /**< longest path a path key holds, with its NUL (PATH_MAX) */
#define SL_CFG_LIST_MAX 16384 /**< longest CIDR list (block_allowlist: SL_CIDR_MAX of them) */
#define SL_CFG_TEXT_MAX 1024 /**< longest other text value (port lists, names, addresses) */
#define SL_CFG_CACHE_DIR_MAX (SL_CFG_PATH_MAX - 64) /**< hs_cache_dir: room for a file name */

/** How a string key's value is checked when it is set (so that a bad one names file:line). */
enum sl_cfg_kind {
	SL_CFG_PATH,  /**< a file; relative ones are taken from the config file's directory */
	SL_CFG_DIR,   /**< hs_cache_dir: a directory or a keyword, taken as given */
	SL_CFG_ADDR,  /**< an IPv4 or IPv6 address */
	SL_CFG_ENUM,  /**< one of the words in the key's choices ("a|b|c") */
	SL_CFG_CIDRS, /**< a list of CIDRs (at most SL_CIDR_MAX) */
	SL_CFG_PORTS, /**< a list of ports 1..65535 (at most SL_CFG_PORTS_MAX) */
	SL_CFG_TEXT,  /**< free text (a name) */
	SL_CFG_SYSLOG, /**< a syslog target: unix[:PATH], udp:HOST:PORT or tcp:HOST:PORT */
	SL_CFG_BYKEY, /**< checked by its name (block_backend, the bgp keys: cfg.c check_key()) */
};

#define SL_CFG_PORTS_MAX 32 /**< most ports in a port-list key */

/*
 * X(name, default, kind, choices, size, help): string keys. A relative path in a config
 * file is taken relative to that file's directory; on the command line (--set), relative to
 * the working directory. Empty means "none". A value longer than its size - 1 is an error
 * naming the key, never cut.
 */
#define SL_CFG_STR_KEYS(X)                                                                   \
	X(pools_domains, SL_CONFIG_DIR "/pools.domains", SL_CFG_PATH, NULL, SL_CFG_PATH_MAX,     \
		"pool names, matched as suffixes on label boundaries")                          \
	X(pools_ips, SL_CONFIG_DIR "/pools.ips", SL_CFG_PATH, NULL, SL_CFG_PATH_MAX,             \
		"pool addresses (IPv4/IPv6 CIDRs)")                                              \
	X(mining_hw, SL_CONFIG_DIR "/mining_hw.txt", SL_CFG_PATH, NULL, SL_CFG_PATH_MAX,         \
		"MAC prefixes of mining hardware (24, 28 or 36 bits), with their sources")      \
	X(oui_dir, "/usr/share/ieee-data", SL_CFG_DIR, NULL, SL_CFG_PATH_MAX,                    \
		"IEEE registry (Debian ieee-data: oui.txt, mam.txt, oui36.txt), empty = no vendor names") \
	X(device_state, "auto", SL_CFG_DIR, NULL, SL_CFG_PATH_MAX,                               \
		"live: device table state file; auto = /var/lib/sluice/devices.state when /var/lib/sluice is writable, empty = none (offline: --device-state)") \
	X(detectors, "", SL_CFG_PATH, NULL, SL_CFG_PATH_MAX,                                     \
		"detector overrides: '<detector> off|on|weight N' per line")                    \
	X(hs_cache_dir, "auto", SL_CFG_DIR, NULL, SL_CFG_CACHE_DIR_MAX, "compiled Hyperscan database cache: a directory, auto (/var/cache/sluice if writable, else $XDG_CACHE_HOME/sluice or ~/.cache/sluice), empty = none") \
	X(metrics_bind, "127.0.0.1", SL_CFG_ADDR, NULL, SL_CFG_TEXT_MAX,                         \
		"live: address /metrics listens on (IPv4 or IPv6)")                              \
	X(score_beh_service_ports, "22,853,993,995,1883,5222,5223,5228,8883", SL_CFG_PORTS,      \
		NULL, SL_CFG_TEXT_MAX,                                                           \
		"ports of benign long-lived services whose flows are not judged by behaviour")  \
	X(evidence_dir, "", SL_CFG_PATH, NULL, SL_CFG_PATH_MAX,                                  \
		"evidence packets: directory of one pcap (and stream file) per alerted host per alert; empty = off") \
	X(sensor_id, "", SL_CFG_TEXT, NULL, 256,                                                 \
		"this sensor's name: EVE's host on every event line; empty = the machine's hostname") \
	X(syslog, "", SL_CFG_SYSLOG, NULL, SL_CFG_TEXT_MAX,                                      \
		"also send event lines as RFC 5424 syslog: unix[:PATH] (default /dev/log), udp:HOST:PORT or tcp:HOST:PORT; empty = off") \
	X(syslog_facility, "local5", SL_CFG_ENUM,                                                \
		"kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local0|local1|local2|local3|local4|local5|local6|local7", \
		SL_CFG_TEXT_MAX, "syslog facility: local0..local7, daemon, user, ...")          \
	X(mode, "monitor", SL_CFG_ENUM, "monitor|inline|dry_run", SL_CFG_TEXT_MAX,               \
		"monitor (passive), inline (port pairs forward, blocks drop) or dry_run")       \
	X(block_scope, "pool", SL_CFG_ENUM, "pool|quarantine", SL_CFG_TEXT_MAX,                  \
		"pool (the host's flows to the pool) or quarantine (all but allowlisted)")      \
	X(block_backend, "auto", SL_CFG_BYKEY, NULL, SL_CFG_TEXT_MAX,                            \
		"auto (NIC rte_flow, soft blocklist where refused), nic or soft; add bgp to announce blocks too (bgp alone: only announce)") \
	X(block_allowlist, "", SL_CFG_CIDRS, NULL, SL_CFG_LIST_MAX,                              \
		"CIDRs never blocked (sensor, gateways, DNS) and quarantine exceptions")        \
	X(score_beh_pool_ports, "3333,3334,3335,3336,4444,5555,6666,7777,8008,8888,9999,13333,14433,14444,16666,19999,20535,34254,45560,45700", \
		SL_CFG_PORTS, NULL, SL_CFG_TEXT_MAX,                                             \
		"ports pools commonly listen on (a behaviour feature; 80 and 443 are common too, so not listed)") \
	X(bgp_mode, "flowspec", SL_CFG_ENUM, "flowspec|rtbh", SL_CFG_TEXT_MAX,                   \
		"bgp backend: flowspec (discard rules) or rtbh (the pool's /32 or /128, blackhole community)") \
	X(bgp_gobgp, "gobgp", SL_CFG_BYKEY, NULL, SL_CFG_PATH_MAX,                               \
		"bgp backend: the gobgp command (a name looked up in PATH, or a path)")         \
	X(bgp_api_host, "127.0.0.1", SL_CFG_BYKEY, NULL, 64,                                     \
		"bgp backend: address of gobgpd's gRPC API (gobgp -u)")                         \
	X(bgp_community, "", SL_CFG_BYKEY, NULL, SL_CFG_TEXT_MAX,                                \
		"bgp backend: communities on FlowSpec routes (ASN:VALUE ..., empty = none)")    \
	X(bgp_rtbh_community, "65535:666", SL_CFG_BYKEY, NULL, SL_CFG_TEXT_MAX,                  \
		"bgp backend: communities on RTBH routes (65535:666 = BLACKHOLE, RFC 7999)")    \
	X(bgp_rtbh_nexthop, "192.0.2.1", SL_CFG_BYKEY, NULL, SL_CFG_TEXT_MAX,                    \
		"bgp backend: next hop of IPv4 RTBH routes (the routers discard it)")           \
	X(bgp_rtbh_nexthop6, "100::1", SL_CFG_BYKEY, NULL, SL_CFG_TEXT_MAX,                      \
		"bgp backend: next hop of IPv6 RTBH routes")                                    \
	X(probe_source, "", SL_CFG_BYKEY, NULL, SL_CFG_TEXT_MAX,                                 \
		"source address of probes (IPv4 or IPv6; empty = the kernel's choice)")

/** Every key's index, for where it was set (sl_cfg_where()). */
enum sl_cfg_key {
#define SL_CFG_KEY_ID(name, ...) SL_CFGK_##name,
	SL_CFG_NUM_KEYS(SL_CFG_KEY_ID)
	SL_CFG_STR_KEYS(SL_CFG_KEY_ID)
#undef SL_CFG_KEY_ID
	SL_CFGK_home_nets,
	SL_CFGK_COUNT
};

#define SL_CFG_LINE_SET UINT32_MAX /**< origin of a key given with --set (sl_cfg_set()) */

/** Parsed configuration. Plain data; copy freely. */
struct sl_cfg {
#define SL_CFG_FIELD(name, def, min, max, help) uint64_t name; /**< help */
	SL_CFG_NUM_KEYS(SL_CFG_FIELD)
#undef SL_CFG_FIELD
	struct sl_cidr_set home_nets; /**< protected networks; empty = judge flow initiators */
#define SL_CFG_STR_FIELD(name, def, kind, choices, size, help) char name[size]; /**< help */
	SL_CFG_STR_KEYS(SL_CFG_STR_FIELD)
#undef SL_CFG_STR_FIELD
	char file[SL_CFG_PATH_MAX];     /**< the config file read, or "" */
	uint32_t line[SL_CFGK_COUNT];   /**< where each key was set: its line in @c file, 0 =
					     default, SL_CFG_LINE_SET = --set */
};

/** Fill @p cfg with the documented defaults. */
void sl_cfg_defaults(struct sl_cfg *cfg);

/**
 * Read a config file over the values already in @p cfg. Lines may be of any length; a key
 * set twice in the file, a NUL byte and every bad value are errors naming file:line.
 * @param cfg    configuration to update
 * @param path   file to read
 * @param err    on failure, receives "path:line: reason" (or "path: reason")
 * @param errlen size of @p err
 * @return 0, -ENOENT/-EIO when the file cannot be read, -EINVAL on a bad line.
 */
int sl_cfg_load(struct sl_cfg *cfg, const char *path, char *err, size_t errlen);

/**
 * Set one key from text (--set, and tests); the key's origin becomes SL_CFG_LINE_SET.
 * @return 0, -ENOENT for an unknown key, -EINVAL/-ERANGE for a bad value; @p err says why.
 */
int sl_cfg_set(struct sl_cfg *cfg, const char *key, const char *value, char *err,
	size_t errlen);

/**
 * Where key @p key got its value, as "file:line", "--set" or "default", into @p buf.
 * @return @p buf ("?" for an unknown key name).
 */
const char *sl_cfg_where(const struct sl_cfg *cfg, const char *key, char *buf, size_t len);

/**
 * Parse a list of ports 1..65535 separated by commas or blanks (at most @p max).
 * @return the number of ports, or -EINVAL with the reason in @p err.
 */
int sl_cfg_ports_parse(const char *text, uint16_t *out, unsigned int max, char *err,
	size_t errlen);

/** String keys: how many, their names and defaults. */
unsigned int sl_cfg_num_str_keys(void);
const char *sl_cfg_str_key_name(unsigned int i);
const char *sl_cfg_str_key_default(unsigned int i);

/**
 * Check cross-key constraints (report_ring_size a power of two, tcp_closed_timeout within
 * tcp_established_timeout, score_block not below score_alert, block_ttl_max_s not below
 * block_ttl_s). @p err names the key and where it was set. 0 or -EINVAL.
 */
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
