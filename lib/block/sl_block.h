/* sl_block.h: the response. The control core turns a block verdict (a host's score reaching
 * the block level, or an operator's command) into a rule after the safety checks: the
 * allowlist first, then caps on active blocks and on new blocks per minute. A rule goes to the
 * NIC first (rte_flow: validate, then create, eth / ipv4|ipv6 / tcp|udp, DROP + COUNT where
 * accepted, on every port) and to a soft blocklist in the workers where the NIC refuses. The
 * soft blocklist is an immutable open-addressing table published by RCU (rte_rcu_qsbr): a
 * worker looks a flow up when the flow starts or when the table changed, so a packet pays a
 * one-byte compare, and a flow one lookup per change. Rules expire after their TTL (doubled
 * for each earlier offence, up to a maximum) once the host has been quiet for a while; every
 * action is reported as an event with its reason. Control core only, except the worker-side
 * lookup functions. A block can also be announced network-wide through BGP (lib/bgp: FlowSpec
 * or RTBH routes through a GoBGP speaker), alongside a local rule or alone (block_backend
 * naming bgp; in monitor mode BGP alone): every holder is listed in the rule's backends. */
#ifndef SL_BLOCK_H
#define SL_BLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "sl_bgp.h"
#include "sl_cfg.h"

/* X(name, help): where a rule lives. */
#define SL_BLOCK_BACKENDS(X)                                                                 \
	X(nic, "rte_flow drop rules on the ports")                                            \
	X(soft, "the workers' soft blocklist (the NIC refused or has no rte_flow)")           \
	X(dry, "dry run: decided and reported, nothing dropped")                               \
	X(bgp, "announced through the BGP speaker (FlowSpec or RTBH routes)")

enum sl_block_backend {
#define SL_BB_ENUM(name, help) SL_BB_##name,
	SL_BLOCK_BACKENDS(SL_BB_ENUM)
#undef SL_BB_ENUM
	SL_BB_MAX
};

/* X(name, help): why a block request was refused. */
#define SL_BLOCK_REFUSALS(X)                                                                 \
	X(allowlisted, "the host (or, for a pool rule, the peer) is on the allowlist")         \
	X(cap_active, "block_max_active rules are active")                                   \
	X(cap_rate, "block_max_per_minute new rules in the last minute")                      \
	X(exists, "the same rule is already active (its expiry was extended)")                \
	X(bad_request, "malformed request")                                                   \
	X(bad_target, "an unspecified, broadcast or multicast address, or host and peer of two families") \
	X(nic, "the NIC refused the rule and block_backend = nic (no soft fallback)")           \
	X(bgp_cap, "BGP alone and bgp_max_routes routes are announced (or too many allowlist ranges)")

enum sl_block_refusal {
#define SL_BR_ENUM(name, help) SL_BR_##name,
	SL_BLOCK_REFUSALS(SL_BR_ENUM)
#undef SL_BR_ENUM
	SL_BR_MAX
};

#define SL_SCOPE_POOL 0       /**< the host's flows to one peer address and port */
#define SL_SCOPE_QUARANTINE 1 /**< everything from the host but allowlisted destinations */

/** What is blocked: 40 bytes, the soft table's key. */
struct sl_block_key {
	uint8_t host[16];  /**< the judged host (16-byte form) */
	uint8_t peer[16];  /**< pool scope: the peer; quarantine: zero */
	uint16_t dport;    /**< pool scope: the peer's port; quarantine: 0 */
	uint8_t proto;     /**< pool scope: 6 or 17; quarantine: 0 */
	uint8_t scope;     /**< SL_SCOPE_* */
	uint8_t pad[4];
};

/* Workers: the soft blocklist. */
struct sl_softbl;

/** The verdict for a flow: initiator @p src to responder @p dst:@p dport. */
bool sl_softbl_match(const struct sl_softbl *t, const uint8_t src[16], const uint8_t dst[16],
	uint16_t dport, uint8_t proto);

/** Generation of a published table (changes with every publication). */
uint32_t sl_softbl_gen(const struct sl_softbl *t);

/** Policy (from the config keys). */
struct sl_block_params {
	int mode;                    /**< SL_MODE_* */
	int scope;                   /**< SL_SCOPE_* for automatic blocks */
	bool nic;                    /**< try rte_flow first (block_backend auto|nic) */
	bool soft;                   /**< fall back to the soft table (auto|soft) */
	bool bgp;                    /**< announce through BGP too (block_backend names bgp) */
	int bgp_mode;                /**< SL_BGP_FLOWSPEC or SL_BGP_RTBH */
	struct sl_cidr_set allow;    /**< never blocked, never a quarantine destination */
	uint32_t max_active;
	uint32_t max_per_minute;
	uint64_t ttl_us;
	uint64_t ttl_max_us;
	uint64_t quiet_us;           /**< a rule expires only after the host was quiet this long */
	uint32_t nworkers;
};

#define SL_MODE_MONITOR 0 /**< passive: scores and alerts, no response */
#define SL_MODE_INLINE 1  /**< port pairs forward; blocks drop */
#define SL_MODE_DRY_RUN 2 /**< inline or passive, blocks decided and reported, nothing dropped */

/** Parse block_* and mode keys. @return 0 or -EINVAL with the reason in @p err. */
int sl_block_params_from_cfg(const struct sl_cfg *c, struct sl_block_params *p, char *err,
	size_t errlen);

/**
 * What the NIC backend calls, so tests can inject failures. A rule is installed on every
 * port in the list. Defaults (sl_block_rte_flow_ops) use rte_flow_validate/create/destroy/
 * query with eth / ipv4|ipv6 (src, dst) / tcp|udp (dst port) and DROP + COUNT (DROP alone
 * when COUNT is refused).
 */
struct sl_block_nic_ops {
	/** @return 0 or -errno; @p err says why. */
	int (*validate)(void *arg, uint16_t port, const struct sl_block_key *k, char *err,
		size_t errlen);
	/** @return the rule handle, or NULL with @p rc = -errno and @p err. */
	void *(*create)(void *arg, uint16_t port, const struct sl_block_key *k, int *rc, char *err,
		size_t errlen);
	int (*destroy)(void *arg, uint16_t port, void *flow);
	/** Packets and bytes dropped so far. @return 0 or -errno (no counter). */
	int (*query)(void *arg, uint16_t port, void *flow, uint64_t *pkts, uint64_t *bytes);
	void *arg;
};

const struct sl_block_nic_ops *sl_block_rte_flow_ops(void);

#define SL_BLOCK_MAX_PORTS 8
#define SL_BLOCK_ROUTES 33 /**< BGP routes per rule: a discard and up to 32 accepts */

/** One rule as the control core keeps and reports it. */
struct sl_block_rule {
	struct sl_block_key key;
	uint8_t backend;            /**< enum sl_block_backend */
	uint8_t operator_made;      /**< by an operator command */
	uint8_t nports;
	uint8_t backends;           /**< every holder: 1 << enum sl_block_backend */
	uint32_t offence;           /**< 1 for the first block of this host, 2 for the next... */
	uint32_t sid;               /**< EVE signature_id: the reason's, or SL_BLOCK_SID_OPERATOR */
	uint64_t created_us;
	uint64_t expires_us;
	uint64_t ttl_us;            /**< this rule's time to live (escalated) */
	uint64_t pkts, bytes;       /**< dropped (NIC counters, or the workers' soft counts) */
	void *flow[SL_BLOCK_MAX_PORTS];
	uint16_t port[SL_BLOCK_MAX_PORTS];
	char reason[128];           /**< why it was made */
	char nic_error[112];        /**< why the NIC refused (soft backend), or "" */
	uint32_t nroutes;           /**< BGP routes of the rule (backends has bgp) */
	uint32_t route[SL_BLOCK_ROUTES]; /**< their handles in the BGP table */
};

/** EVE signature_id of a block an operator asked for (sluice's range: SL_DETECTORS). */
#define SL_BLOCK_SID_OPERATOR 8100950u

/* Notes the response emits (events). */
#define SL_BNOTE_BLOCK 1   /**< a rule was made */
#define SL_BNOTE_REFUSED 2 /**< a request was refused (reason in refusal) */
#define SL_BNOTE_UNBLOCK 3 /**< a rule went (reason in text: expired, operator, exit) */

struct sl_block_note {
	int type;
	uint64_t ts_us;
	const struct sl_block_rule *r; /**< the rule (for REFUSED: the rule that was asked for) */
	int refusal;                   /**< enum sl_block_refusal (REFUSED) */
	const char *text;              /**< unblock reason */
};

typedef void (*sl_block_note_fn)(void *arg, const struct sl_block_note *n);

/* X(name, help): response counters. */
#define SL_BLOCK_COUNTERS(X)                                                                 \
	X(requests, "block requests (verdicts and operator commands)")                        \
	X(installed_nic, "rules installed in the NIC")                                        \
	X(installed_soft, "rules put in the soft blocklist")                                  \
	X(installed_dry, "rules decided in dry-run mode")                                     \
	X(installed_bgp, "rules announced through BGP")                                       \
	X(bgp_not_announced, "rules held locally but not announced: the BGP route cap")       \
	X(nic_refused, "rules the NIC refused (then soft, or none)")                          \
	X(refused_allowlisted, "requests refused: allowlisted")                               \
	X(refused_cap_active, "requests refused: too many active rules")                      \
	X(refused_cap_rate, "requests refused: too many new rules this minute")               \
	X(refused_exists, "requests for a rule already active (expiry extended)")             \
	X(refused_bad_request, "malformed requests")                                          \
	X(refused_bad_target, "requests for a meaningless target (sl_block_target_check())")     \
	X(refused_nic, "requests the NIC refused with block_backend = nic")                   \
	X(refused_bgp_cap, "requests refused: BGP alone and its route cap reached")           \
	X(expired, "rules removed after their TTL")                                           \
	X(extended, "expiries postponed because the host was not quiet")                      \
	X(unblocked_operator, "rules removed by an operator")                                 \
	X(removed_at_exit, "rules removed at exit")                                           \
	X(publications, "soft blocklist tables published")                                   \
	X(reinstalled, "NIC rules created again after a port came back")                      \
	X(reinstall_failed, "NIC rules moved to the soft blocklist after a port came back")   \
	X(publish_deferred, "soft table changes waiting for the workers to move on")

struct sl_block_stats {
#define SL_BLOCK_CNT(name, help) uint64_t name; /**< help */
	SL_BLOCK_COUNTERS(SL_BLOCK_CNT)
#undef SL_BLOCK_CNT
	uint64_t active[SL_BB_MAX]; /**< active rules per holder (a rule may count twice) */
};

/** The counter of refusal reason @p r (enum sl_block_refusal) in @p st, or NULL. */
uint64_t *sl_block_refusal_counter(struct sl_block_stats *st, unsigned int r);

unsigned int sl_block_num_counters(void);
const char *sl_block_counter_name(unsigned int i);
const char *sl_block_backend_name(unsigned int b);
const char *sl_block_refusal_name(unsigned int r);

struct sl_block;

/**
 * Create the response. @p ports: where NIC rules go. @p ops NULL = rte_flow.
 * @return NULL with rte_errno on failure.
 */
struct sl_block *sl_block_create(const struct sl_block_params *p, const uint16_t *ports,
	unsigned int nports, const struct sl_block_nic_ops *ops, sl_block_note_fn fn, void *arg,
	int socket);

/** Announce blocks through @p g (live, block_backend naming bgp; NULL: none). The response
 * withdraws its routes when rules go; the caller frees @p g after sl_block_free(). */
void sl_block_set_bgp(struct sl_block *b, struct sl_bgp *g);
struct sl_bgp *sl_block_bgp(const struct sl_block *b);

/** State of a rule's routes: the worst of them (SL_BGP_RS_*), or -1 (not announced). */
int sl_block_rule_bgp_state(const struct sl_block *b, const struct sl_block_rule *r);

/** Set the ports NIC rules go to (after they are started). @return 0 or -EINVAL. */
int sl_block_set_ports(struct sl_block *b, const uint16_t *ports, unsigned int nports);

/**
 * A port came back (restart, reset, link up after a reset): its NIC rules may be gone. Destroy
 * what is left of them there (errors ignored) and create them again; a rule the NIC now
 * refuses moves to the soft blocklist. @return rules re-created on the port.
 */
unsigned int sl_block_reinstall(struct sl_block *b, uint16_t port, uint64_t now_us);

/** Remove every rule (reported with reason "exit"), free everything. Workers stopped. */
void sl_block_free(struct sl_block *b, uint64_t now_us);

/**
 * Is (@p host, @p peer) something a rule can mean? Refused: an unspecified address (0.0.0.0/8,
 * ::), the IPv4 limited broadcast 255.255.255.255, a multicast address (224.0.0.0/4,
 * ff00::/8), and a host and peer of different families. @p peer NULL = quarantine.
 * @return 0, or -EINVAL with the reason in @p why (if not NULL).
 */
int sl_block_target_check(const uint8_t host[16], const uint8_t *peer, char *why, size_t len);

/**
 * Ask for a block (a target sl_block_target_check() refuses is refused as bad_target).
 * @p peer NULL = quarantine. @p quiet_us_ago: how long the host has been
 * quiet (for extension decisions; 0 = active now).
 * @return 0 (made), 1 (already active: extended), or -EPERM (refused, reported), -EINVAL.
 */
int sl_block_request(struct sl_block *b, const uint8_t host[16], const uint8_t *peer,
	uint16_t dport, uint8_t proto, bool operator_made, const char *reason, uint64_t now_us);

struct sl_score_view;

/**
 * A host reached the block level: request its rules. Pool scope: one rule per distinct
 * (peer, port) among its signals that name the pool end of a flow (detections in the flow
 * itself, SNI/Host names, pool addresses, the Noise shape, behaviour); DNS lookups and
 * baselines name no pool. Quarantine scope: one rule for the host.
 * @return rules made.
 */
unsigned int sl_block_verdict(struct sl_block *b, const struct sl_score_view *v,
	uint64_t now_us);

/** Operator: remove every rule of @p host. @return rules removed. */
unsigned int sl_block_unblock(struct sl_block *b, const uint8_t host[16], uint64_t now_us);
/** Whether a rule holds @p host now (any scope, any backend; at most block_max_active rules). */
bool sl_block_holds(const struct sl_block *b, const uint8_t host[16]);

/**
 * Expire rules due at @p now_us. @p last_seen gives a host's last packet time (0 = unknown);
 * a rule whose host is not yet quiet is extended by block_quiet_s. Also reclaims old soft
 * tables and publishes a pending one.
 */
void sl_block_tick(struct sl_block *b, uint64_t now_us,
	uint64_t (*last_seen)(void *arg, const uint8_t host[16]), void *arg);

/** Allowlist edits (operator). @return 0, -EEXIST/-ENOENT, -ENOSPC. */
int sl_block_allow(struct sl_block *b, const struct sl_cidr *c);
int sl_block_disallow(struct sl_block *b, const struct sl_cidr *c);
const struct sl_cidr_set *sl_block_allowlist(const struct sl_block *b);

/** Rules, for listing: calls @p fn for each active one. */
void sl_block_foreach(const struct sl_block *b, void (*fn)(void *arg,
	const struct sl_block_rule *r), void *arg);

/** Add the workers' soft drop counts into the rules (@p per_rule not used: totals only). */
void sl_block_get_stats(const struct sl_block *b, struct sl_block_stats *out);

/* Workers: RCU. */
void sl_block_worker_online(struct sl_block *b, unsigned int worker);
void sl_block_worker_offline(struct sl_block *b, unsigned int worker);
const struct sl_softbl *sl_block_acquire(const struct sl_block *b);
void sl_block_quiescent(struct sl_block *b, unsigned int worker);

#endif /* SL_BLOCK_H */
