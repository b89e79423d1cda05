/* sl_match.h: mining detection on the first bytes of each flow.
 *
 * One immutable detection object (struct sl_match_db) holds a Hyperscan database compiled
 * from the built-in detector table below, one scratch per worker, the pool-name set
 * (config/pools.domains) and the pool-address set (config/pools.ips). The control core
 * builds it at start and on reload, publishes it with a RELEASE store, and frees the old one
 * once every worker has passed a quiescent state (rte_rcu_qsbr). Workers load it once per
 * poll pass.
 *
 * Per flow, inspection runs on the flow table's payload buffer: the first payload_bytes of
 * each direction, TCP in order. Each time a direction's buffer grows, sl_match_inspect()
 * scans the new bytes (plus an overlap as wide as the widest pattern, so matches spanning
 * segments are found) and runs the protocol parsers (DNS names, TLS ClientHello SNI, HTTP
 * request headers, WebSocket frames unmasked, Stratum V2 frames). Each detector fires at
 * most once per flow; a firing becomes a struct sl_event handed to the caller's emit
 * function.
 *
 * Detectors are one X-macro table; patterns and composite terms are two more. JSON patterns
 * accept any whitespace around ':' and any key order (keys are separate terms).
 */
#ifndef SL_MATCH_H
#define SL_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>

/*
 * X(name, protocol, weight, sid, help): every detector. weight (0..100) is the evidence
 * strength the scorer starts from. The name is the "detector" field of events and metrics.
 * sid is the EVE signature_id of its events and alerts: sluice's range is 8 100 000 -
 * 8 100 999 (detectors from 8 100 001, signal kinds from 8 100 901: SL_SIGNAL_KINDS), clear
 * of ET Open (2 000 000 - 2 999 999) and local rules (1 000 000 - 1 999 999). A sid never
 * changes meaning: a new detector takes the next free number, a removed one's is not reused.
 */
#define SL_DETECTORS(X)                                                                      \
	X(stratum_subscribe, "stratum", 90, 8100001, "Stratum v1 mining.subscribe")                     \
	X(stratum_authorize, "stratum", 90, 8100002, "Stratum v1 mining.authorize")                     \
	X(stratum_submit, "stratum", 95, 8100003, "Stratum v1 mining.submit (a share)")                 \
	X(stratum_configure, "stratum", 80, 8100004, "Stratum v1 mining.configure")                     \
	X(stratum_extranonce_subscribe, "stratum", 80, 8100005, "Stratum v1 mining.extranonce.subscribe") \
	X(stratum_suggest_difficulty, "stratum", 80, 8100006, "Stratum v1 mining.suggest_difficulty/target") \
	X(stratum_notify, "stratum", 95, 8100007, "Stratum v1 mining.notify (a job from the pool)")    \
	X(stratum_set_difficulty, "stratum", 90, 8100008, "Stratum v1 mining.set_difficulty")           \
	X(stratum_set_extranonce, "stratum", 80, 8100009, "Stratum v1 mining.set_extranonce")           \
	X(stratum_set_version_mask, "stratum", 80, 8100010, "Stratum v1 mining.set_version_mask")       \
	X(stratum_set_target, "stratum", 85, 8100011, "Stratum v1 mining.set_target")                   \
	X(stratum_get_transactions, "stratum", 80, 8100012, "Stratum v1 mining.get_transactions")       \
	X(stratum_client_method, "stratum", 60, 8100013, "Stratum client.get_version/show_message/reconnect") \
	X(stratum_subscribe_reply, "stratum", 90, 8100014, "Stratum v1 subscribe reply (subscriptions)") \
	X(xmr_login, "monero-stratum", 90, 8100015, "XMRig/xmr-stak login with pass/agent/algo/wallet")  \
	X(xmr_job, "monero-stratum", 95, 8100016, "CryptoNote pool job (blob with job_id/target/seed)")  \
	X(xmr_submit, "monero-stratum", 95, 8100017, "CryptoNote share submit (job_id/nonce/result)")    \
	X(xmr_keepalived, "monero-stratum", 70, 8100018, "XMRig keepalived")                            \
	X(miner_agent, "miner", 85, 8100019, "miner software name/version in a JSON string")           \
	X(eth_submit_login, "ethereum-stratum", 90, 8100020, "eth-proxy eth_submitLogin")               \
	X(eth_get_work, "ethereum-stratum", 80, 8100021, "eth_getWork")                                 \
	X(eth_submit_work, "ethereum-stratum", 90, 8100022, "eth_submitWork (a share)")                 \
	X(eth_submit_hashrate, "ethereum-stratum", 85, 8100023, "eth_submitHashrate")                   \
	X(eth_stratum_nicehash, "ethereum-stratum", 85, 8100024, "NiceHash EthereumStratum/x subscribe") \
	X(http_getwork, "http-mining", 85, 8100025, "getwork JSON-RPC")                                 \
	X(http_getblocktemplate, "http-mining", 70, 8100026, "getblocktemplate JSON-RPC")               \
	X(http_submitblock, "http-mining", 70, 8100027, "submitblock JSON-RPC")                         \
	X(http_mining_extensions, "http-mining", 85, 8100028, "X-Mining-Extensions header")             \
	X(http_stratum_header, "http-mining", 85, 8100029, "X-Stratum header (pool redirect)")          \
	X(http_miner_ua, "http-mining", 80, 8100030, "miner User-Agent")                                \
	X(sv2_setup, "stratum-v2", 90, 8100031, "Stratum V2 SetupConnection for the mining protocol")  \
	X(sv2_mining, "stratum-v2", 90, 8100032, "Stratum V2 mining messages (channels, jobs, shares)") \
	X(sv2_noise, "stratum-v2", 40, 8100033, "Stratum V2 Noise handshake shape (64 then 234 bytes)") \
	X(web_miner_script, "browser-miner", 85, 8100034, "browser-miner script in an HTTP body")       \
	X(ws_miner_auth, "browser-miner", 90, 8100035, "browser-miner auth with site_key")              \
	X(ws_miner_job, "browser-miner", 90, 8100036, "browser-miner job (job_id/blob/target)")         \
	X(ws_miner_submit, "browser-miner", 95, 8100037, "browser-miner share (job_id/nonce/result)")   \
	X(ws_pool_upgrade, "browser-miner", 85, 8100038, "WebSocket upgrade to a listed pool host")     \
	X(dns_pool_name, "dns", 60, 8100039, "DNS query for a listed pool name")                        \
	X(tls_sni_pool, "tls", 70, 8100040, "TLS ClientHello SNI of a listed pool name")                \
	X(http_host_pool, "http", 70, 8100041, "HTTP Host of a listed pool name")                       \
	X(pool_ip, "ip", 50, 8100042, "flow to a listed pool address")

enum sl_det {
#define SL_DET_ENUM(name, proto, weight, sid, help) SL_DET_##name,
	SL_DETECTORS(SL_DET_ENUM)
#undef SL_DET_ENUM
	SL_DET_MAX
};

/*
 * X(name, help): the pieces composite detectors are made of. A term is a pattern whose hits
 * are remembered per flow direction; a composite detector fires when all of its required
 * terms and at least `need` of its optional terms have been seen in one direction.
 */
#define SL_TERMS(X)                                                                          \
	X(m_login, "\"method\":\"login\"")                                                    \
	X(m_submit, "\"method\":\"submit\"")                                                  \
	X(t_auth, "\"type\":\"auth\"")                                                        \
	X(t_job, "\"type\":\"job\"")                                                          \
	X(t_submit, "\"type\":\"submit\"")                                                    \
	X(pass, "key pass")                                                                   \
	X(agent, "key agent")                                                                 \
	X(rigid, "key rigid")                                                                 \
	X(algo_list, "key algo with an array")                                                \
	X(wallet_login, "login value shaped like a Monero address")                           \
	X(blob_hex, "blob with a long hex value")                                             \
	X(blob_key, "key blob")                                                               \
	X(job_id, "key job_id")                                                               \
	X(target, "key target")                                                               \
	X(seed_hash, "key seed_hash")                                                         \
	X(height, "key height")                                                               \
	X(nonce_hex, "nonce with an 8-hex value")                                             \
	X(result_hex, "result with a 64-hex value")                                           \
	X(site_key, "key site_key")

enum sl_term {
#define SL_TERM_ENUM(name, help) SL_TERM_##name,
	SL_TERMS(SL_TERM_ENUM)
#undef SL_TERM_ENUM
	SL_TERM_MAX
};

#define SL_KNOWN_MAX_IDS 64 /**< room for the known-protocol table (SL_KNOWN_MAX <= this) */

#define SL_EVIDENCE_MAX 56 /**< excerpt bytes carried by an event */

/** Where a flow's local host sits in an event: the initiator or the responder. */
#define SL_EV_HOST_SRC 0
#define SL_EV_HOST_DST 1

/** One detection: fits a channel record (120 bytes). src is the flow's initiator. */
struct sl_event {
	uint64_t ts_us;        /**< packet time of the match (epoch microseconds) */
	uint64_t flow_id;      /**< stable id of the flow (53 bits, JSON-safe) */
	uint8_t src[16];       /**< initiator address (IPv4-mapped for IPv4) */
	uint8_t dst[16];       /**< responder address */
	uint16_t sport;        /**< initiator port */
	uint16_t dport;        /**< responder port */
	uint8_t proto;         /**< IP protocol */
	uint8_t detector;      /**< enum sl_det */
	uint8_t host;          /**< SL_EV_HOST_SRC or SL_EV_HOST_DST: the judged host */
	uint8_t dir;           /**< 0 = initiator's bytes, 1 = responder's */
	uint32_t offset;       /**< stream offset in that direction where the match ends */
	uint8_t excerpt_len;   /**< bytes in excerpt */
	uint8_t pad[3];
	uint8_t excerpt[SL_EVIDENCE_MAX]; /**< raw bytes before the match end (or the name) */
};

/*
 * X(name, help): per-worker inspection counters (single writer: the worker).
 */
#define SL_MATCH_COUNTERS(X)                                                                 \
	X(inspected_bytes, "payload bytes handed to inspection")                              \
	X(scans, "Hyperscan scans")                                                           \
	X(scanned_bytes, "bytes scanned by Hyperscan (new bytes plus overlap)")               \
	X(scan_errors, "Hyperscan scans that failed")                                         \
	X(events, "events produced")                                                          \
	X(events_lost, "events dropped because the channel was full")                         \
	X(dns_messages, "DNS messages parsed")                                                \
	X(dns_malformed, "DNS messages whose question could not be parsed")                   \
	X(tls_client_hellos, "TLS ClientHellos parsed")                                       \
	X(tls_no_sni, "TLS ClientHellos without a server name")                               \
	X(tls_malformed, "TLS handshakes that could not be parsed")                           \
	X(tls_incomplete, "TLS ClientHellos larger than the inspected bytes")                 \
	X(http_requests, "HTTP request headers parsed")                                       \
	X(http_incomplete, "HTTP request headers larger than the inspected bytes")            \
	X(ws_sessions, "WebSocket upgrades followed")                                         \
	X(ws_frames, "WebSocket data frames inspected (unmasked)")                            \
	X(ws_compressed, "WebSocket frames left uninspected: compressed (RSV1)")              \
	X(ws_truncated, "WebSocket frames cut by the inspection window, partly inspected")    \
	X(sv2_frames, "Stratum V2 plaintext frames parsed")                                   \
	X(no_state, "flows inspected without per-flow state (no payload buffer)")            \
	X(known_flows, "flows the known-protocol table recognised from their first bytes")

struct sl_match_stats {
#define SL_MATCH_CNT(name, help) uint64_t name; /**< help */
	SL_MATCH_COUNTERS(SL_MATCH_CNT)
#undef SL_MATCH_CNT
};

/** Where the lists live. Empty paths mean "no list". */
struct sl_match_conf {
	const char *domains_path;   /**< config/pools.domains */
	const char *ips_path;       /**< config/pools.ips */
	const char *detectors_path; /**< optional overrides: "<detector> off|on|weight N" */
	unsigned int nworkers;      /**< scratch spaces to make */
	int socket;                 /**< NUMA socket for tables */
	const char *hs_cache_dir;   /**< compiled-database cache: a directory, "auto" (see
					 config key hs_cache_dir) or NULL/"" (none) */
};

/** Database cache outcomes (process-wide). */
enum sl_match_cache_counter {
	SL_MATCH_CACHE_HITS,         /**< database loaded from the cache */
	SL_MATCH_CACHE_MISSES,       /**< no file for this key: compiled */
	SL_MATCH_CACHE_CORRUPT,      /**< truncated or damaged file ignored: compiled */
	SL_MATCH_CACHE_MISMATCH,     /**< file for another key (hash collision) ignored */
	SL_MATCH_CACHE_WRITES,       /**< files written */
	SL_MATCH_CACHE_WRITE_ERRORS, /**< files that could not be written (not fatal) */
	SL_MATCH_CACHE_NCOUNTERS
};

/** Read the cache counters (any thread; relaxed). */
void sl_match_cache_counters(uint64_t out[SL_MATCH_CACHE_NCOUNTERS]);

/** Per-flow inspection state, kept beside the flow's payload buffer (64 bytes). */
struct sl_mstate {
	uint64_t fired;       /**< detectors already reported on this flow */
	uint32_t terms[2];    /**< composite terms seen per direction */
	uint32_t scanned[2];  /**< bytes of each direction already scanned */
	uint32_t app_off[2];  /**< WebSocket / DNS-over-TCP / SV2 parse offset per direction */
	uint8_t app;          /**< SL_APP_* */
	uint8_t flags;        /**< SL_MS_* */
	uint8_t known;        /**< enum sl_known: the protocol recognised (0 = none yet) */
	uint8_t ktries;       /**< recognition attempts left before giving up (set at the start) */
	uint8_t pad[28];
};

/* Application the flow was recognised as (drives which parsers run). */
#define SL_APP_UNKNOWN 0
#define SL_APP_HTTP 1    /**< HTTP request seen; response parsed for a 101 */
#define SL_APP_WS 2      /**< WebSocket frames after the upgrade */
#define SL_APP_TLS 3     /**< TLS: ClientHello parsed, the rest is opaque */
#define SL_APP_SV2 4     /**< Stratum V2 plaintext frames */
#define SL_APP_DNS 5     /**< DNS over TCP */
#define SL_APP_OTHER 6   /**< none of the above: raw scan only */

#define SL_MS_CLASSIFIED 0x01 /**< the client's first bytes were looked at */
#define SL_MS_WS_WANTED 0x02  /**< client asked for a WebSocket upgrade */
#define SL_MS_WS_POOL 0x04    /**< ... to a listed pool host */
#define SL_MS_SRV_DONE 0x08   /**< server's response headers handled */
#define SL_MS_TLS_DONE 0x10   /**< ClientHello handled (or given up) */
#define SL_MS_SV2_BAD 0x20    /**< SV2 frame walk failed: stop */
#define SL_MS_REQ_DONE 0x40   /**< client's HTTP request head handled */
#define SL_MS_TLS_NOSNI 0x80  /**< the ClientHello had no server name */

struct sl_match_db;

/** What inspection needs to know about the flow it is looking at. */
struct sl_match_flow {
	const uint8_t *src;  /**< initiator address */
	const uint8_t *dst;  /**< responder address */
	uint16_t sport;      /**< initiator port */
	uint16_t dport;      /**< responder port */
	uint8_t proto;       /**< 6 or 17 */
	uint8_t host;        /**< SL_EV_HOST_* */
	uint64_t flow_id;    /**< for events */
	uint64_t now_us;     /**< packet time */
	uint32_t other_len;  /**< bytes buffered in the other direction */
	const uint8_t *other; /**< those bytes */
};

typedef int (*sl_match_emit_fn)(void *arg, const struct sl_event *ev);

/**
 * Readable bytes needed after any buffer that is scanned: Hyperscan 5.4's AVX512VBMI Teddy
 * loads whole 64-byte vectors and can read up to that far past the end of its input (a fault
 * when the input ends just before an unmapped page; found by fuzz_inspect). The bytes are
 * never matched: they only have to be mapped.
 */
#define SL_MATCH_SCAN_PAD 64

/** A worker's inspection context: scratch index, counters, bounded work buffers. */
struct sl_match_wctx {
	unsigned int worker;        /**< index of this worker's Hyperscan scratch */
	uint32_t window;            /**< payload_bytes: buffer size per direction */
	sl_match_emit_fn emit;      /**< hands an event on (returns 0, or <0 if lost) */
	void *emit_arg;             /**< its argument */
	uint8_t *work;              /**< window + SL_MATCH_SCAN_PAD bytes: unmasked frames,
				     TLS handshake */
	struct sl_match_stats st;   /**< counters */
	uint32_t det_count[SL_DET_MAX]; /**< events per detector (for the summary) */
	uint32_t known_count[SL_KNOWN_MAX_IDS]; /**< flows per recognised protocol (summary) */
};

/* ---- detection object (control core) ---- */

/**
 * Build a detection object: compile the enabled patterns, load the lists, make
 * @p c->nworkers scratch spaces. On error returns NULL and writes "file:line: reason" or the
 * failing pattern into @p err.
 */
struct sl_match_db *sl_match_db_build(const struct sl_match_conf *c, char *err, size_t errlen);

/** Free a detection object. No worker may still use it. */
void sl_match_db_free(struct sl_match_db *db);

/** Entries loaded: pool names, pool address ranges, enabled detectors, patterns. */
void sl_match_db_sizes(const struct sl_match_db *db, uint32_t *domains, uint32_t *ranges,
	uint32_t *detectors, uint32_t *patterns);

/** Generation number (1 for the first object, +1 per reload). */
uint32_t sl_match_db_generation(const struct sl_match_db *db);

/** Weight of a detector in this object (0 if disabled). */
unsigned int sl_match_db_weight(const struct sl_match_db *db, unsigned int det);

/* ---- publication (RCU) ---- */

struct sl_match;

/** The holder: current object, RCU state for @p nworkers readers. NULL + rte_errno. */
struct sl_match *sl_match_create(const struct sl_match_conf *c, char *err, size_t errlen);
void sl_match_free(struct sl_match *m);

/**
 * Control core: build a new object from the same paths and publish it. The old one is freed
 * by sl_match_reclaim() once workers have moved on. Never waits for workers. A bad list keeps
 * the old object and returns <0 with the reason in @p err. -EBUSY if the previous reload's
 * object is still awaiting reclamation.
 */
int sl_match_reload(struct sl_match *m, char *err, size_t errlen);

/** Control core: free a replaced object if every worker has been quiescent since. */
void sl_match_reclaim(struct sl_match *m);

/** Current object (control side, for metrics). */
const struct sl_match_db *sl_match_current(const struct sl_match *m);

/** Worker: register as an RCU reader (online) / leave (offline). */
void sl_match_worker_online(struct sl_match *m, unsigned int worker);
void sl_match_worker_offline(struct sl_match *m, unsigned int worker);

/** Worker: the object to use for this pass (ACQUIRE). */
const struct sl_match_db *sl_match_acquire(const struct sl_match *m);

/** Worker: done with the object loaded for this pass. */
void sl_match_quiescent(struct sl_match *m, unsigned int worker);

/* ---- inspection (worker) ---- */

/**
 * Inspect direction @p dir (0 initiator, 1 responder) of a flow whose buffer @p buf grew
 * from @p old_len to @p new_len bytes. @p st is the flow's state (NULL: no buffer state,
 * inspection is skipped and counted). Only buf[0, new_len) is used, but SL_MATCH_SCAN_PAD
 * bytes after it must be readable memory (Hyperscan may load past the end), and so must
 * SL_MATCH_SCAN_PAD bytes after the window in @p x->work.
 */
void sl_match_inspect(struct sl_match_wctx *x, const struct sl_match_db *db,
	struct sl_mstate *st, const struct sl_match_flow *fl, int dir, const uint8_t *buf,
	uint32_t old_len, uint32_t new_len);

/** At flow start: report pool_ip if either end is a listed pool address. */
void sl_match_flow_start(struct sl_match_wctx *x, const struct sl_match_db *db,
	const struct sl_match_flow *fl);

/** True if @p addr (16-byte form) is inside a listed pool range. */
bool sl_match_pool_ip(const struct sl_match_db *db, const uint8_t addr[16]);

/**
 * True if @p name (any case, optional trailing dot) equals a listed pool name or ends with
 * "." + a listed name.
 */
bool sl_match_pool_name(const struct sl_match_db *db, const char *name, size_t len);

/* ---- protocol parsers (pure functions; fuzzed and unit-tested) ---- */

/**
 * DNS message: copy the first question name, lower case, dotted, into @p out (NUL
 * terminated). @return name length, or -EINVAL (malformed), -ENOENT (no question).
 */
int sl_dns_qname(const uint8_t *msg, size_t len, char *out, size_t outlen);

/**
 * TLS: from the start of a client stream, reassemble the ClientHello (which may span records)
 * into @p work (capacity @p worklen) and copy its server_name into @p sni.
 * @return SNI length (>0), 0 if the ClientHello has no SNI, -EAGAIN if more bytes are needed,
 * -EINVAL if this is not a ClientHello, -ENOSPC if it does not fit @p work.
 */
int sl_tls_sni(const uint8_t *p, size_t len, uint8_t *work, size_t worklen, char *sni,
	size_t snilen);

/** Parsed request head (pointers into the input). */
struct sl_http_req {
	uint32_t head_len;      /**< bytes up to and including the blank line */
	const char *host;       /**< Host value without port, or NULL */
	uint32_t host_len;
	bool upgrade_ws;        /**< Upgrade: websocket with Connection: Upgrade */
};

/**
 * HTTP request head at the start of a client stream.
 * @return 0 (parsed), -EAGAIN (headers incomplete), -EINVAL (not an HTTP request).
 */
int sl_http_request(const uint8_t *p, size_t len, struct sl_http_req *r);

/**
 * HTTP response head. @return header length (>0) and the status in @p status, -EAGAIN, or
 * -EINVAL.
 */
int sl_http_response(const uint8_t *p, size_t len, int *status);

/** One WebSocket frame header. */
struct sl_ws_frame {
	uint32_t hdr_len;   /**< 2..14 */
	uint64_t len;       /**< payload length */
	uint8_t opcode;     /**< 0 continuation, 1 text, 2 binary, 8.. control */
	bool fin, rsv1, masked;
	uint8_t mask[4];
};

/** Parse a frame header. @return 0, -EAGAIN (need more), -EINVAL (reserved bits/opcodes). */
int sl_ws_frame(const uint8_t *p, size_t len, struct sl_ws_frame *f);

/** XOR-unmask @p n bytes that start @p pos bytes into a frame payload. */
void sl_ws_unmask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t mask[4],
	uint64_t pos);

/* ---- the known-protocol table ---- */

/*
 * X(name, label, udp, how): protocols that are encrypted or binary but identifiable from a
 * flow's first bytes, record sizes or handshake shape (known.c, from their specifications).
 * A recognised TCP flow is not judged by behaviour (its timing is the protocol's own:
 * keepalives, polling, padding cells); DPI, pool names and addresses and the SV2 fingerprint
 * still apply. UDP entries (udp = 1) are labels only: UDP is never judged by behaviour.
 * The id (enum sl_known, 0 = none) travels in flow samples; name and label show in
 * explanations, "how" in the README and in explanations of what was not judged.
 */
#define SL_KNOWN_PROTOS(X)                                                                   \
	X(ssh, "SSH", 0, "SSH-2.0-/SSH-1.x- banner from either side")                          \
	X(bitcoin, "Bitcoin P2P", 0, "network magic of a Bitcoin-family coin, then the version command") \
	X(bitcoin_v2, "Bitcoin P2P v2 (BIP324)", 0, "on the coin's port: 64 random bytes (ElligatorSwift key) each way, no magic") \
	X(monero, "Monero levin", 0, "levin signature 0x0101010101012101, protocol version 1") \
	X(ethereum, "Ethereum RLPx", 0, "auth and ack: 2-byte size then an ECIES message (0x04, key, IV, MAC)") \
	X(bittorrent, "BitTorrent", 0, "handshake 0x13 'BitTorrent protocol'")                 \
	X(gnutella, "Gnutella", 0, "'GNUTELLA CONNECT/' answered 'GNUTELLA/0.6'")             \
	X(edonkey, "eDonkey/eMule", 0, "protocol byte e3/c5/d4, LE32 size, hello opcode 01") \
	X(openvpn, "OpenVPN over TCP", 0, "2-byte length, hard-reset opcode (client 7/10, server 8), key id 0") \
	X(tor, "Tor", 0, "TLS whose records are cell-sized (k x 514 bytes + TLS overhead)")     \
	X(rdp, "RDP", 0, "TPKT (03 00 len) with an X.224 connection request")                  \
	X(iso_tsap, "ISO-TSAP (S7comm)", 0, "TPKT with an X.224 connection request on port 102") \
	X(vnc, "VNC", 0, "'RFB 003.00x' version from the server")                              \
	X(xmpp, "XMPP", 0, "XML stream header <stream:stream")                                 \
	X(mqtt, "MQTT", 0, "CONNECT 0x10 with protocol name MQTT or MQIsdp")                    \
	X(modbus, "Modbus/TCP", 0, "MBAP header (protocol id 0, length 2-254) on 502 or echoed by the server") \
	X(dnp3, "DNP3", 0, "link frames 05 64 on 20000 or both ways")                           \
	X(enip, "EtherNet/IP", 0, "encapsulation header (command, length, status 0) on 44818 or answered alike") \
	X(iec104, "IEC 60870-5-104", 0, "APDUs 0x68 + length on 2404 or both ways")             \
	X(irc, "IRC", 0, "NICK/USER/PASS/CAP from the client or a server prefix line")          \
	X(smb, "SMB", 0, "NetBIOS session header then \\xffSMB/\\xfeSMB/\\xfdSMB")             \
	X(mysql, "MySQL", 0, "server greeting: protocol 10 and a version string")              \
	X(postgres, "PostgreSQL", 0, "StartupMessage version 3.0 or SSLRequest")                \
	X(redis, "Redis", 0, "RESP array of bulk strings")                                      \
	X(bgp, "BGP", 0, "16-byte 0xff marker, OPEN")                                           \
	X(openflow, "OpenFlow", 0, "ofp_header (version 1-6, type, length) on 6653/6633")       \
	X(msn, "MSN Messenger", 0, "'VER <id> MSNP..' from the client")                          \
	X(telnet, "Telnet", 0, "IAC option negotiation")                                        \
	X(ftp, "FTP", 0, "220 greeting on 21")                                                  \
	X(smtp, "SMTP", 0, "220 greeting")                                                      \
	X(pop3, "POP3", 0, "+OK greeting")                                                      \
	X(imap, "IMAP", 0, "* OK greeting")                                                     \
	X(wireguard, "WireGuard", 1, "message type 1-4 with its fixed sizes")                   \
	X(openvpn_udp, "OpenVPN over UDP", 1, "hard-reset opcode, key id 0")                    \
	X(ipsec_natt, "IPsec (IKE, NAT-T)", 1, "IKE header on 500, non-ESP marker + IKE, ESP or keepalive on 4500") \
	X(utp, "uTP (BitTorrent)", 1, "version 1, type 0-4, 20-byte header")                    \
	X(quic, "QUIC", 1, "long header with version 1, 2 or a draft")                          \
	X(stun, "STUN/TURN", 1, "magic cookie 0x2112A442")

enum sl_known {
	SL_KNOWN_none = 0,
#define SL_KNOWN_ENUM(name, label, udp, how) SL_KNOWN_##name,
	SL_KNOWN_PROTOS(SL_KNOWN_ENUM)
#undef SL_KNOWN_ENUM
	SL_KNOWN_MAX
};

_Static_assert(SL_KNOWN_MAX <= SL_KNOWN_MAX_IDS, "the known-protocol table fits its counters");

const char *sl_known_name(unsigned int k);  /**< "tor"; "none" for 0; NULL past the end */
const char *sl_known_label(unsigned int k); /**< "Tor" */
const char *sl_known_how(unsigned int k);   /**< how it is recognised */
bool sl_known_is_udp(unsigned int k);
int sl_known_lookup(const char *name);      /**< id or -ENOENT */

/**
 * Recognise a TCP flow from the first bytes of each direction (@p c the initiator's, @p s the
 * responder's; either may be empty). @return an SL_KNOWN_* id, or 0 (not recognised from
 * these bytes; more bytes, or the other side's, may still decide).
 */
int sl_known_tcp(const uint8_t *c, uint32_t cl, const uint8_t *s, uint32_t sl, uint16_t sport,
	uint16_t dport);

/** Recognise a UDP flow from one datagram. @return an SL_KNOWN_* id or 0. */
int sl_known_udp(const uint8_t *p, uint32_t len, uint16_t sport, uint16_t dport);

/** A message of @p size bytes is k Tor cells in 1..k TLS records (TLS 1.2 or 1.3). */
bool sl_known_cell_sized(uint32_t size);

/** Times the table looks at a flow's first bytes before it gives up. */
#define SL_KNOWN_TRIES 12

/** A TLS flow with @p cells cell-sized messages of @p msgs: SL_KNOWN_tor or 0. */
int sl_known_tls_shape(uint32_t cells, uint32_t msgs);

/* ---- names and counters ---- */

const char *sl_det_name(unsigned int det);
const char *sl_det_protocol(unsigned int det);
const char *sl_det_help(unsigned int det);
/** EVE signature_id of a detector (SL_DETECTORS), 0 for an unknown one. */
uint32_t sl_det_sid(unsigned int det);
unsigned int sl_det_default_weight(unsigned int det);
int sl_det_lookup(const char *name);
unsigned int sl_match_num_counters(void);
const char *sl_match_counter_name(unsigned int i);

#endif /* SL_MATCH_H */
