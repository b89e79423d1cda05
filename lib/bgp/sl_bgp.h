/* sl_bgp.h: the BGP response backend. sluice does not speak BGP: a BGP speaker (GoBGP's
 * gobgpd) runs as its own process and peers with the routers (or a route reflector); sluice
 * drives it with the `gobgp` command line (argv, never a shell). A block becomes routes:
 * FlowSpec (RFC 8955/8956: source = the host /32 or /128, destination = the pool address,
 * protocol, destination port, then discard, with a configurable community; quarantine: one
 * accept route per allowlisted destination range plus one discard for the host) or RTBH
 * (RFC 7999: the pool's /32 or /128 with the blackhole community and a configurable next hop).
 *
 * The control core owns the route table (reference counted: two hosts on one pool share its
 * RTBH route) and never waits: it queues announce and withdraw calls on an SP/SC ring to the
 * speaker thread, which runs the CLI and answers on a second ring. A failed call is counted
 * and retried; the thread polls the speaker (`gobgp global -j`, and the RIB summary of the
 * families sluice announced in) and reports it down, up or emptied (restarted), and the
 * control core then announces everything active again. Routes are capped (bgp_max_routes).
 * Pure C (POSIX threads and posix_spawn), no EAL. Control core only, except the thread. */
#ifndef SL_BGP_H
#define SL_BGP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_cfg.h"

#define SL_BGP_FLOWSPEC 0 /**< bgp_mode = flowspec */
#define SL_BGP_RTBH 1     /**< bgp_mode = rtbh */

/* X(name, help): what a route does. */
#define SL_BGP_KINDS(X)                                                                      \
	X(discard, "FlowSpec: traffic from the host (to the pool) is discarded")             \
	X(accept, "FlowSpec: traffic from a quarantined host to an allowlisted range passes") \
	X(blackhole, "RTBH: the prefix with the blackhole community")

enum sl_bgp_kind {
#define SL_BGP_KIND_ENUM(name, help) SL_BGP_##name,
	SL_BGP_KINDS(SL_BGP_KIND_ENUM)
#undef SL_BGP_KIND_ENUM
	SL_BGP_KIND_MAX
};

/** One route (48 bytes, the route table's key). Addresses in the 16-byte form. */
struct sl_bgp_route {
	uint8_t src[16];  /**< FlowSpec: the host (/32 or /128); RTBH: zero */
	uint8_t dst[16];  /**< FlowSpec: destination prefix (plen 0: none); RTBH: the prefix */
	uint8_t dst_plen; /**< prefix length in the 16-byte space (IPv4: + 96); 0 = no dst */
	uint8_t proto;    /**< 6, 17, or 0 = any */
	uint16_t dport;   /**< 0 = any */
	uint8_t kind;     /**< enum sl_bgp_kind */
	uint8_t pad[11];
};

#define SL_BGP_COMMUNITIES 8 /**< communities per route, at most */

/** Settings (the bgp_* keys). */
struct sl_bgp_params {
	int mode;                   /**< SL_BGP_FLOWSPEC or SL_BGP_RTBH */
	char gobgp[SL_CFG_PATH_MAX]; /**< the CLI (a name looked up in PATH, or a path) */
	char api_host[64];          /**< gobgpd's gRPC address (-u) */
	unsigned int api_port;      /**< and port (-p) */
	char community[SL_BGP_COMMUNITIES][24];      /**< FlowSpec communities */
	unsigned int ncommunity;
	char rtbh_community[SL_BGP_COMMUNITIES][24]; /**< RTBH communities */
	unsigned int nrtbh_community;
	char nexthop4[48];          /**< RTBH next hop of IPv4 prefixes */
	char nexthop6[48];          /**< RTBH next hop of IPv6 prefixes */
	uint32_t max_routes;        /**< routes announced (or being withdrawn) at once */
	uint32_t retry_ms;          /**< a failed call is retried after this long */
	uint32_t poll_ms;           /**< the speaker's state is polled this often */
	uint32_t timeout_ms;        /**< a CLI call that runs longer is killed (failed) */
};

/** Parse the bgp_* keys. @return 0 or -EINVAL with the reason in @p err. */
int sl_bgp_params_from_cfg(const struct sl_cfg *c, struct sl_bgp_params *p, char *err,
	size_t errlen);

/** Check a community list ("65535:666 65000:1", or the names GoBGP knows: blackhole,
 * no-export, no-advertise, no-export-subconfed, graceful-shutdown). @return 0 or -EINVAL. */
int sl_bgp_check_communities(const char *text, char *err, size_t errlen);

#define SL_BGP_ARGV_MAX 48 /**< most words of one CLI call */

/**
 * The argv of one call: announce (@p add) or withdraw route @p r, e.g. gobgp -u H -p P
 * global rib -a ipv4-flowspec add match source S/32 destination D/32 protocol tcp
 * destination-port ==3333 then discard community 65000:666. The words live in @p buf.
 * @return the number of words (argv[n] = NULL), or -ENOSPC, -EINVAL (bad route).
 */
int sl_bgp_argv(const struct sl_bgp_params *p, const struct sl_bgp_route *r, bool add,
	char *buf, size_t buflen, char *argv[SL_BGP_ARGV_MAX]);

/**
 * How the thread runs a call, so tests can inject one: run @p argv, put what it printed in
 * @p out (NUL-terminated). @return 0 (exit status 0) or -errno. The default spawns the
 * command (posix_spawnp, stdin /dev/null, stdout and stderr captured, killed after
 * timeout_ms).
 */
struct sl_bgp_exec {
	int (*run)(void *arg, char *const argv[], char *out, size_t outlen);
	void *arg;
};

/** Speaker states. */
#define SL_BGP_SPEAKER_STATES(X)                                                             \
	X(unknown, "not polled yet")                                                          \
	X(up, "the speaker answers")                                                          \
	X(down, "the speaker does not answer (calls fail at once, resent when it is back)")

enum sl_bgp_speaker {
#define SL_BGP_SP_ENUM(name, help) SL_BGP_SPEAKER_##name,
	SL_BGP_SPEAKER_STATES(SL_BGP_SP_ENUM)
#undef SL_BGP_SP_ENUM
};

/* X(name, help): counters. */
#define SL_BGP_COUNTERS(X)                                                                   \
	X(announced, "announce calls the speaker took")                                       \
	X(withdrawn, "withdraw calls the speaker took")                                       \
	X(announce_failed, "announce calls that failed (retried)")                             \
	X(withdraw_failed, "withdraw calls that failed (retried)")                             \
	X(retries, "calls made again after a failure")                                        \
	X(refused_cap, "routes refused: bgp_max_routes are announced")                        \
	X(shared, "routes asked for again while announced (reference counted)")               \
	X(queue_full, "calls that waited: the queue to the speaker thread was full")          \
	X(speaker_down, "times the speaker stopped answering")                                \
	X(speaker_restarts, "times the speaker came back or lost sluice's routes")             \
	X(reannounced, "routes announced again after a speaker restart")                      \
	X(polls, "speaker state polls")                                                       \
	X(lost_at_exit, "withdrawals not confirmed when sluice stopped")

struct sl_bgp_stats {
#define SL_BGP_CNT(name, help) uint64_t name; /**< help */
	SL_BGP_COUNTERS(SL_BGP_CNT)
#undef SL_BGP_CNT
	uint64_t routes;         /**< routes in the table (announced, pending or withdrawing) */
	uint64_t routes_announced; /**< routes the speaker holds, as far as sluice knows */
	uint64_t routes_pending; /**< routes waiting for a call (queued, failed, speaker down) */
	int speaker;             /**< enum sl_bgp_speaker */
};

unsigned int sl_bgp_num_counters(void);
const char *sl_bgp_counter_name(unsigned int i);
const char *sl_bgp_speaker_name(int s);
const char *sl_bgp_kind_name(unsigned int k);

/** A route's state as a rule shows it. */
#define SL_BGP_RS_ANNOUNCED 0 /**< the speaker took it */
#define SL_BGP_RS_PENDING 1   /**< queued, or waiting for the speaker */
#define SL_BGP_RS_FAILED 2    /**< the last call failed; retried */

/** The speaker changed state (for events): @p restarted when routes are announced again. */
typedef void (*sl_bgp_state_fn)(void *arg, int speaker, bool restarted, uint32_t routes,
	const char *detail);

struct sl_bgp;

/**
 * Create the table and start the speaker thread. @p ex NULL = spawn the CLI. @p fn: speaker
 * state changes (may be NULL). @return NULL with errno (EINVAL, ENOMEM, or the thread's).
 */
struct sl_bgp *sl_bgp_create(const struct sl_bgp_params *p, const struct sl_bgp_exec *ex,
	sl_bgp_state_fn fn, void *arg);

/** Routes that can still be added. */
uint32_t sl_bgp_room(const struct sl_bgp *g);

/** Route @p r is in the table (adding it again takes no room). */
bool sl_bgp_known(const struct sl_bgp *g, const struct sl_bgp_route *r);

/**
 * Want route @p r announced (a reference). @p id receives its handle.
 * @return 0 (new), 1 (already there: one more reference), -ENOSPC (cap; counted).
 */
int sl_bgp_add(struct sl_bgp *g, const struct sl_bgp_route *r, uint32_t *id, uint64_t now_us);

/** Drop a reference; the last one withdraws the route. */
void sl_bgp_del(struct sl_bgp *g, uint32_t id, uint64_t now_us);

/** State of route @p id (SL_BGP_RS_*). */
int sl_bgp_route_state(const struct sl_bgp *g, uint32_t id);

/** Control core: take the thread's answers, retry what is due, queue what waits. */
void sl_bgp_tick(struct sl_bgp *g, uint64_t now_us);

void sl_bgp_get_stats(const struct sl_bgp *g, struct sl_bgp_stats *out);

/**
 * Stop: wait up to timeout_ms for the queued calls (withdrawals at exit) to be made, count
 * what was not confirmed (lost_at_exit), stop the thread, free everything. @p last (may be
 * NULL) receives the final counters.
 */
void sl_bgp_free(struct sl_bgp *g, struct sl_bgp_stats *last);

#endif /* SL_BGP_H */
