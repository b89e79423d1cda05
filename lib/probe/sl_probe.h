/* sl_probe.h: the active probe. When a host's evidence about a peer (ip, port) is only
 * behavioural or weak, the control plane asks a prober thread to check whether the peer
 * speaks a pool protocol: Stratum v1 mining.subscribe, XMRig-style login, eth_submitLogin
 * (with eth_getWork), Stratum V2 SetupConnection and the Noise act-1 shape, in cleartext and,
 * where the port answers a TLS ClientHello, inside TLS (OpenSSL, no certificate checks).
 *
 * Three parts:
 * - the judge (pure, unit-tested): what an answer says, per protocol asked;
 * - the book (control core only, no locks): the per-(ip, port) result cache with its TTL,
 *   the caps (per minute, per destination), the never-probe sets (allowlist, home_nets);
 * - the prober: its own thread, non-blocking kernel sockets and epoll (never the DPDK
 *   ports), fed and drained through two SP/SC rings: the control core posts and polls, it
 *   never waits. Probes run concurrently, each a sequence of short connections with
 *   deadlines; results come back with timing and the first bytes of the answer.
 *
 * lib/ returns 0 / -errno and never prints. */
#ifndef SL_PROBE_H
#define SL_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_cfg.h"

/* X(name, help): the protocols a probe speaks, in the order it tries them. */
#define SL_PROBE_PROTOS(X)                                                                   \
	X(stratum, "Stratum v1: mining.subscribe")                                            \
	X(xmrig, "XMRig-style login (CryptoNote pools)")                                      \
	X(eth, "Ethereum stratum / eth-proxy: eth_submitLogin and eth_getWork")               \
	X(sv2, "Stratum V2 plaintext SetupConnection")                                        \
	X(sv2_noise, "Stratum V2 Noise NX act 1: 64 bytes, answered by exactly 234")

enum sl_probe_proto {
#define SL_PP_ENUM(name, help) SL_PROBE_P_##name,
	SL_PROBE_PROTOS(SL_PP_ENUM)
#undef SL_PP_ENUM
	SL_PROBE_P_MAX
};

/* X(name, help): what a probe found. */
#define SL_PROBE_RESULTS(X)                                                                  \
	X(pool, "the peer speaks a pool protocol")                                            \
	X(not_pool, "the peer answered, not as a pool (what it answered is named)")           \
	X(silent, "no answer (no SYN-ACK, or connected and nothing said)")                    \
	X(refused, "the connection was refused")                                              \
	X(error, "a local error (socket, TLS library, resources)")                            \
	X(skipped, "not probed: allowlisted, home_nets, a cap, the cache full, probing off")

enum sl_probe_result {
#define SL_PR_ENUM(name, help) SL_PROBE_R_##name,
	SL_PROBE_RESULTS(SL_PR_ENUM)
#undef SL_PR_ENUM
	SL_PROBE_R_MAX,
	SL_PROBE_R_PENDING = 255 /**< asked, no result yet (cache entries only) */
};

/* X(name, help): why a probe was not run. */
#define SL_PROBE_SKIPS(X)                                                                    \
	X(allowlisted, "the destination is in block_allowlist")                               \
	X(home_net, "the destination is in home_nets")                                        \
	X(cap_rate, "probe_max_per_minute reached")                                           \
	X(cap_dest, "probe_max_per_dest reached for this address")                            \
	X(cache_full, "the probe cache has no free entry")                                    \
	X(queue_full, "the prober's queue is full")                                           \
	X(off, "probing is off (probe = 0, or offline)")

enum sl_probe_skip {
#define SL_PS_ENUM(name, help) SL_PROBE_S_##name,
	SL_PROBE_SKIPS(SL_PS_ENUM)
#undef SL_PS_ENUM
	SL_PROBE_S_MAX
};

const char *sl_probe_proto_name(unsigned int p);
const char *sl_probe_result_name(unsigned int r);
const char *sl_probe_skip_name(unsigned int s);
/** The request a protocol sends, as text (binary requests described), for explanations. */
const char *sl_probe_request_text(unsigned int p);

#define SL_PROBE_ANSWER_MAX 64 /**< first answer bytes kept */
#define SL_PROBE_WHAT_MAX 96   /**< what the peer answered, in words */

/* ---------------------------------------------------------------- the judge */

/** What the judge made of the bytes read so far. */
enum sl_probe_verdict {
	SL_PJ_MORE,     /**< not enough to say: read on (until the deadline) */
	SL_PJ_POOL,     /**< the asked protocol answered as a pool */
	SL_PJ_OTHER,    /**< an answer, not a pool of this protocol: try the next protocol */
	SL_PJ_SERVICE,  /**< clearly another service (HTTP, SSH, a banner): stop probing */
	SL_PJ_TLS,      /**< a TLS record in cleartext: the port speaks TLS */
};

/**
 * Judge an answer to protocol @p proto: @p b / @p n are the bytes read so far, @p final that
 * no more will come (peer closed, deadline). @p what receives a short description (pool:
 * the protocol's proof, e.g. "mining.subscribe result with mining.notify"; else what the
 * peer answered). Pure function.
 */
enum sl_probe_verdict sl_probe_judge(unsigned int proto, const uint8_t *b, size_t n, bool final,
	char *what, size_t whatlen);

/**
 * Judge bytes a peer sent before anything was asked (a server-first protocol): SSH, SMTP,
 * FTP, POP3, IMAP, a trickle... pools never speak first. @return SL_PJ_SERVICE with @p what,
 * or SL_PJ_MORE when @p n is 0.
 */
enum sl_probe_verdict sl_probe_judge_banner(const uint8_t *b, size_t n, char *what,
	size_t whatlen);

/**
 * The request bytes of protocol @p proto into @p out (at most @p len). @return its length.
 * The sv2_noise request is 64 bytes from @p seed (pseudo-random: any 64 bytes are a valid
 * ElligatorSwift key encoding).
 */
size_t sl_probe_request(unsigned int proto, uint8_t *out, size_t len, uint64_t seed);

/* ---------------------------------------------------------------- the book (control core) */

/** Probe settings (config keys probe_*). */
struct sl_probe_params {
	bool enabled;                  /**< probe = 1 and live */
	uint64_t ttl_us;               /**< a result is kept this long (probe_cache_ttl_s) */
	uint64_t skip_ttl_us;          /**< a skipped probe is not asked again this long */
	uint32_t cache_size;           /**< entries (probe_cache_size), power of two */
	uint32_t max_per_minute;       /**< new probes per minute */
	uint32_t max_per_dest;         /**< probes to one address per hour */
	uint32_t timeout_ms;           /**< each step: connect, TLS handshake, one answer */
	uint32_t banner_ms;            /**< wait for a server-first banner after connecting */
	uint32_t concurrency;          /**< probes in flight at once */
	bool tls;                      /**< also try inside TLS */
	uint8_t source[16];            /**< source address (probe_source), if has_source */
	bool has_source;
	struct sl_cidr_set allowlist;  /**< never probed (block_allowlist) */
	struct sl_cidr_set home_nets;  /**< never probed (home_nets) */
};

/** Probe settings from the configuration. @return 0 or -EINVAL with the reason in @p err. */
int sl_probe_params_from_cfg(const struct sl_cfg *c, bool live, struct sl_probe_params *p,
	char *err, size_t errlen);

/** One cache entry: the latest result about (ip, port). */
struct sl_probe_entry {
	uint8_t ip[16];
	uint16_t port;
	uint8_t result;        /**< enum sl_probe_result, or SL_PROBE_R_PENDING */
	uint8_t proto;         /**< pool: enum sl_probe_proto */
	uint8_t tls;           /**< pool: found inside TLS */
	uint8_t skip;          /**< skipped: enum sl_probe_skip */
	uint8_t used;
	uint8_t answer_len;
	uint64_t asked_us;     /**< when it was asked */
	uint64_t expires_us;   /**< when it is forgotten */
	uint32_t latency_ms;   /**< how long the probe took */
	uint8_t host[16];      /**< the host whose evidence asked (zero: an operator) */
	char what[SL_PROBE_WHAT_MAX];
	uint8_t answer[SL_PROBE_ANSWER_MAX];
};

/* X(name, help): the book's and the prober's counters. */
#define SL_PROBE_COUNTERS(X)                                                                 \
	X(asked, "probes asked (cache misses)")                                               \
	X(cache_hits, "asks answered by the cache (fresh entry or in flight)")                \
	X(started, "probes handed to the prober")                                             \
	X(done, "probes finished")                                                            \
	X(connections, "TCP connections the prober opened")                                   \
	X(own_flows, "records about the probe's own flows, not scored")                       \
	X(latency_ms_sum, "sum of finished probes' durations, ms")

struct sl_probe_stats {
#define SL_PROBE_CNT(name, help) uint64_t name; /**< help */
	SL_PROBE_COUNTERS(SL_PROBE_CNT)
#undef SL_PROBE_CNT
	uint64_t results[SL_PROBE_R_MAX]; /**< finished probes by result (skipped: by skip) */
	uint64_t skips[SL_PROBE_S_MAX];   /**< probes not run, by reason */
	uint64_t pools[SL_PROBE_P_MAX];   /**< pools confirmed, by protocol */
	uint64_t cache_entries;           /**< entries in use now */
};

unsigned int sl_probe_num_counters(void);
const char *sl_probe_counter_name(unsigned int i);
uint64_t sl_probe_counter(const struct sl_probe_stats *st, unsigned int i);

struct sl_probe;

/**
 * Build the book and, when @p p->enabled, start the prober thread.
 * @return the object, or NULL with -errno in @p rc.
 */
struct sl_probe *sl_probe_create(const struct sl_probe_params *p, int *rc);
/** Stop the thread (probes in flight are abandoned) and free everything. */
void sl_probe_free(struct sl_probe *pr);

/** Outcome of sl_probe_ask(). */
#define SL_PROBE_ASK_QUEUED 0  /**< handed to the prober */
#define SL_PROBE_ASK_CACHED 1  /**< the cache answers (@p out: the entry; may be pending) */
#define SL_PROBE_ASK_SKIPPED 2 /**< not probed (@p out: the entry with its skip reason) */

/**
 * Control core: ask for a probe of (@p ip, @p port) at @p now_us on behalf of @p host (NULL:
 * an operator). Never waits. The cache answers first; then the never-probe sets, then the
 * caps (an operator's probe obeys them too). A skip is remembered skip_ttl_us, so repeated
 * asks do not repeat it. @p out (may be NULL) receives a copy of the entry.
 * @return SL_PROBE_ASK_*.
 */
int sl_probe_ask(struct sl_probe *pr, const uint8_t ip[16], uint16_t port, const uint8_t *host,
	uint64_t now_us, struct sl_probe_entry *out);

/**
 * Control core: the fresh cache entry of (@p ip, @p port), or NULL (absent or expired).
 * Valid until the next call into the book.
 */
const struct sl_probe_entry *sl_probe_lookup(struct sl_probe *pr, const uint8_t ip[16],
	uint16_t port, uint64_t now_us);

typedef void (*sl_probe_done_fn)(void *arg, const struct sl_probe_entry *e);

/**
 * Control core: take finished probes from the prober (one load when there are none), put
 * them in the cache (expiring ttl_us after @p now_us) and call @p fn on each.
 * @return how many.
 */
unsigned int sl_probe_poll(struct sl_probe *pr, uint64_t now_us, sl_probe_done_fn fn, void *arg);

/** Control core: call @p fn on every fresh entry (telemetry /sluice/probes). */
void sl_probe_foreach(struct sl_probe *pr, uint64_t now_us, sl_probe_done_fn fn, void *arg);

/** Counters (control core). */
void sl_probe_get_stats(const struct sl_probe *pr, struct sl_probe_stats *out);

/** Count a record about the probe's own flow (not scored). */
void sl_probe_count_own(struct sl_probe *pr);

/**
 * Is @p addr one of this machine's addresses (the probe's possible sources: probe_source and
 * every interface address at start)? Used with the cache to recognise the probe's own flows.
 */
bool sl_probe_is_local(const struct sl_probe *pr, const uint8_t addr[16]);

/**
 * Run one probe synchronously in the calling thread (the test tool and unit tests): the
 * same state machine as the prober. @return 0 with @p out filled, or -errno.
 */
int sl_probe_run_one(const struct sl_probe_params *p, const uint8_t ip[16], uint16_t port,
	struct sl_probe_entry *out);

#endif /* SL_PROBE_H */
