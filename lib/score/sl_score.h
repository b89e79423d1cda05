/* sl_score.h: the control core's host scores. Every signal about a host (a payload
 * detection, a pool name or address, a handshake fingerprint, a flow that behaves like a
 * miner, traffic far from the host's own baseline) becomes points of one kind; a host's score
 * (0-100) is the sum over kinds of the strongest signal of each kind, so ten flows of one kind
 * never outweigh two independent kinds. A signal counts fully while its flow is alive
 * (refreshed by the worker's flow samples) and halves every half-life once it stops. Level
 * changes (alert, block) are reported with every signal behind them: kind, points, flow,
 * peer, and the evidence (excerpt or feature values). Control core only, single-threaded;
 * time is the records' time (packet time offline), so offline and live agree. */
#ifndef SL_SCORE_H
#define SL_SCORE_H

#include <stdbool.h>
#include <stdint.h>

#include "sl_cfg.h"
#include "sl_flow.h"
#include "sl_host.h"
#include "sl_match.h"

/* X(name, help): signal kinds. Each has a weight (points at full strength, config key
 * score_weight_<name>). */
#define SL_SIGNAL_KINDS(X)                                                                   \
	X(dpi, 8100901, "payload of a mining protocol (Stratum, XMRig, getwork, browser miner...)") \
	X(pool_name, 8100902, "a listed pool name in DNS, TLS SNI or HTTP Host")              \
	X(pool_ip, 8100903, "a flow to or from a listed pool address")                        \
	X(fingerprint, 8100904, "handshake shape of an encrypted pool protocol (Stratum V2 Noise)") \
	X(behaviour, 8100905, "an opaque flow that behaves like a miner: long, sparse, steady pushes") \
	X(baseline, 8100906, "host traffic far from its own learned baseline")                \
	X(pool_confirmed, 8100907, "an active probe found the peer speaking a pool protocol") \
	X(mining_hw, 8100908, "mining hardware: a listed MAC prefix, or a miner's DHCP name or vendor class") \
	X(new_device, 8100909, "a device first seen after the learning period that mines or keeps long external flows")

enum sl_signal_kind {
#define SL_SIG_ENUM(name, sid, help) SL_SIG_##name,
	SL_SIGNAL_KINDS(SL_SIG_ENUM)
#undef SL_SIG_ENUM
	SL_SIG_MAX
};

const char *sl_signal_kind_name(unsigned int k);
const char *sl_signal_kind_help(unsigned int k);
/** EVE signature_id of a signal kind (its sid in SL_SIGNAL_KINDS), 0 for an unknown one. */
uint32_t sl_signal_kind_sid(unsigned int k);

/** Kind of signal a detector gives (pool names, pool addresses, the Noise shape, or DPI). */
enum sl_signal_kind sl_signal_kind_of(unsigned int det);

/* Host levels. */
#define SL_LEVEL_NONE 0
#define SL_LEVEL_ALERT 1
#define SL_LEVEL_BLOCK 2

/** Scoring parameters (from the config keys; see config/sluice.conf). */
struct sl_score_params {
	uint32_t capacity;              /**< hosts with signals */
	uint32_t weight[SL_SIG_MAX];    /**< points of each kind at full strength */
	uint32_t alert;                 /**< alert threshold (score 0..100) */
	uint32_t block;                 /**< block threshold */
	uint64_t hold_us;               /**< a signal counts fully this long after last seen */
	uint64_t half_life_us;          /**< then halves every half-life */
	/* behaviour of one flow */
	uint64_t beh_min_age_us;        /**< younger flows are not judged */
	uint32_t beh_min_msgs;          /**< messages each way before judging */
	uint32_t beh_max_bpp;           /**< mean wire bytes per packet above this: not sparse */
	uint32_t beh_max_rate;          /**< mean bytes/s both ways above this: not sparse */
	uint32_t beh_gap_min_ms;        /**< initiator message cadence band: shortest mean ... */
	uint32_t beh_gap_max_ms;        /**< ... and longest */
	uint32_t beh_min_points;        /**< behaviour points below this give no signal */
	uint16_t service_ports[SL_CFG_PORTS_MAX];   /**< well-known ports of benign long-lived services */
	uint32_t nservice_ports;
	uint16_t pool_ports[SL_CFG_PORTS_MAX];   /**< ports pools commonly listen on (besides 80/443) */
	uint32_t npool_ports;
	bool log_judged;                /**< note every sample that passed the shape gates */
	bool beh_known;                 /**< known protocols are not judged (score_beh_known) */
};

/* X(name, points, help): behavioural features of one flow, with the points each gives. */
#define SL_BEH_FEATURES(X)                                                                   \
	X(server_pushes, 25, "the responder pushes messages unasked, at most 3 per request of the initiator (jobs; one push: 20; halved when the responder answers fewer than half the requests)") \
	X(steady_requests, 35, "the initiator's own messages (not its answers) repeat one size and the responder answers most within a round trip (shares and their results; 1-2 repeats: 12-24, 3-4: 30; halved when they come like a timer)") \
	X(steady_pushes, 15, "the unasked pushes repeat one size (one repeat: 7)")                            \
	X(cadence, 10, "initiator messages at random intervals of seconds to minutes (share finds are a Poisson process; a timer is regular)") \
	X(opaque, 20, "TLS without a server name (or unrecognised binary: 15)")               \
	X(small_messages, 5, "messages of a few hundred bytes")                               \
	X(balanced, 5, "the initiator sends 15-80 % of the bytes")                            \
	X(pool_port, 10, "a port pools commonly listen on (score_beh_pool_ports)")

enum sl_beh_feature {
#define SL_BEH_ENUM(name, pts, help) SL_BEH_##name,
	SL_BEH_FEATURES(SL_BEH_ENUM)
#undef SL_BEH_ENUM
	SL_BEH_MAX
};

/* Why a flow was not judged (sl_beh.gate). */
#define SL_BEH_GATES(X)                                                                      \
	X(passed, "judged")                                                                   \
	X(not_tcp, "not TCP")                                                                 \
	X(young, "younger than score_beh_min_age")                                            \
	X(few_messages, "fewer than score_beh_min_messages each way")                         \
	X(bulk, "bulk transfer")                                                              \
	X(dense, "too many bytes per packet or per second")                                   \
	X(cleartext, "cleartext HTTP, DNS or SV2 (judged by payload instead)")                 \
	X(known, "a protocol of the known-protocol table (lib/match SL_KNOWN_PROTOS)")        \
	X(service_port, "a well-known service port (score_beh_service_ports)")

enum sl_beh_gate {
#define SL_GATE_ENUM(name, help) SL_GATE_##name,
	SL_BEH_GATES(SL_GATE_ENUM)
#undef SL_GATE_ENUM
	SL_GATE_MAX
};

const char *sl_beh_feature_name(unsigned int f);
const char *sl_beh_gate_name(unsigned int g);

/* Transport of a judged flow. */
#define SL_TRANSPORT_TLS_SNI 0    /**< TLS with a server name */
#define SL_TRANSPORT_TLS_NO_SNI 1 /**< TLS without one */
#define SL_TRANSPORT_OPAQUE 2     /**< unrecognised binary (e.g. Noise) */
#define SL_TRANSPORT_KNOWN 3      /**< cleartext, or a protocol of the known-protocol table */

/** A flow's behavioural features and verdict: what an explanation shows. */
struct sl_beh {
	float age_s;          /**< flow age */
	float pkts_per_min;   /**< packets per minute, both ways */
	float bytes_per_pkt;  /**< mean wire bytes per packet */
	float bytes_per_s;    /**< mean wire bytes per second, both ways */
	float up_share;       /**< initiator's share of the bytes */
	float client_gap_s;   /**< mean time between initiator messages */
	float gap_cv;         /**< variation of those gaps (Poisson ~1, a timer ~0) */
	float csz_mean, csz_cv; /**< initiator message sizes (after the handshake) */
	float usz_mean;       /**< unasked responder message sizes */
	uint32_t cells;       /**< messages of Tor cell size, both ways */
	uint32_t msgs[2];     /**< messages each way */
	uint32_t pushes;      /**< unasked responder messages */
	uint16_t cn, crep;    /**< initiator messages measured / same size as the one before */
	uint16_t un, urep;    /**< pushes measured / same size as the one before */
	uint16_t cmiss, umiss; /**< size changes once the pattern had started */
	uint16_t answered;    /**< measured initiator messages answered within the reply time */
	uint16_t pad16;
	uint8_t transport;    /**< SL_TRANSPORT_* */
	uint8_t gate;         /**< enum sl_beh_gate */
	uint8_t points;       /**< 0..100 */
	uint8_t known;        /**< enum sl_known: the recognised protocol (0 = none) */
	uint32_t matched;     /**< bit per enum sl_beh_feature that gave points */
};

/**
 * Judge one flow sample. @return its behaviour points (0..100); @p out gets the features.
 * Pure function (unit-tested with synthetic samples).
 */
unsigned int sl_score_behaviour(const struct sl_score_params *p, const struct sl_flow_sample *s,
	struct sl_beh *out);

/** One signal as kept and explained. */
struct sl_signal {
	uint8_t kind;        /**< enum sl_signal_kind */
	uint8_t detector;    /**< enum sl_det (dpi, pool_*, fingerprint) */
	uint8_t live;        /**< its flow is still alive (not ended) */
	uint8_t proto;
	float points;        /**< points at full strength */
	uint64_t first_us;   /**< first seen */
	uint64_t last_us;    /**< last seen (refreshed by flow samples) */
	uint64_t flow_id;    /**< flow behind it (0 for baseline) */
	uint8_t peer[16];    /**< the other end of that flow */
	uint16_t sport, dport; /**< that flow's ports (initiator, responder) */
	uint32_t count;      /**< times seen (events, samples, buckets) */
	uint8_t host_dst;    /**< the host is the flow's responder (home_nets) */
	uint8_t pad[3];
	union {
		struct {
			uint32_t offset;       /**< stream offset of the match end */
			uint8_t dir;           /**< direction of the match */
			uint8_t len;           /**< excerpt bytes */
			uint8_t excerpt[SL_EVIDENCE_MAX];
		} det;
		struct sl_beh beh;
		struct sl_base_dev base;
		struct {
			uint8_t proto;         /**< enum sl_probe_proto */
			uint8_t tls;           /**< inside TLS */
			uint8_t len;           /**< answer bytes */
			uint8_t pad;
			uint32_t latency_ms;   /**< how long the probe took */
			uint8_t answer[SL_EVIDENCE_MAX]; /**< first bytes of the answer */
		} probe;
		struct {
			uint8_t mac[6];      /**< the device */
			char why[42];        /**< what made it (maker, DHCP name, "first seen ...") */
		} dev;                       /**< mining_hw, new_device */
	} u;
};

/** EVE signature_id of a signal: its detector's, or its kind's for behaviour and baseline. */
uint32_t sl_signal_sid(const struct sl_signal *g);


#define SL_SCORE_SIGNALS 8 /**< signals kept per host (one per kind and detector) */

/** A host's score as shown to operators. */
struct sl_score_view {
	uint8_t addr[16];
	float score;          /**< now, 0..100 */
	float peak;           /**< highest so far */
	uint8_t level;        /**< SL_LEVEL_* now */
	uint8_t nsig;
	uint64_t first_us;    /**< first signal */
	uint64_t alert_us;    /**< when it last crossed the alert threshold (0 = never) */
	uint32_t alerts;      /**< times it crossed the alert threshold */
	uint64_t known;       /**< bit per protocol (enum sl_known) its flows were recognised as
			       since it had signals: not judged by behaviour */
	float now_points[SL_SCORE_SIGNALS]; /**< each signal's points now (decayed) */
	struct sl_signal sig[SL_SCORE_SIGNALS];
};

/* Notes the scorer emits. */
#define SL_NOTE_ALERT 1 /**< crossed the alert threshold upward: with every reason */
#define SL_NOTE_LEVEL 2 /**< level changed (up or down) */
#define SL_NOTE_JUDGED 3 /**< log_judged: a flow sample past the shape gates (fs, beh set) */

struct sl_score_note {
	int type;                   /**< SL_NOTE_* */
	uint64_t ts_us;             /**< when */
	uint8_t old_level, new_level;
	const struct sl_score_view *v; /**< the host (valid during the call; NULL for JUDGED) */
	uint64_t flow_id;           /**< the flow whose signal made the change (0 = decay) */
	const struct sl_flow_sample *fs; /**< JUDGED: the sample */
	const struct sl_beh *beh;   /**< JUDGED: its features, gate and points */
};

typedef void (*sl_score_note_fn)(void *arg, const struct sl_score_note *n);

/* X(name, help): scorer counters. */
#define SL_SCORE_COUNTERS(X)                                                                 \
	X(detections, "detection events scored")                                              \
	X(samples, "flow samples scored")                                                     \
	X(samples_judged, "flow samples that passed the behaviour gates")                     \
	X(samples_known, "flow samples past the shape gates of a protocol the known-protocol table recognised (not judged)") \
	X(behaviour_signals, "flow samples that gave a behaviour signal")                     \
	X(deviations, "baseline deviations scored")                                           \
	X(alerts, "hosts that crossed the alert threshold")                                   \
	X(level_changes, "host level changes (up or down)")                                   \
	X(table_full, "signals dropped: no room for a new host")                              \
	X(signals_replaced, "weaker signals replaced because a host's slots were full")       \
	X(hosts_expired, "hosts forgotten after their score decayed to nothing")               \
	X(cycles, "decay passes")                                                             \
	X(time_jumps, "records over 100 decay periods away from the one before (O(1) each)")

struct sl_score_stats {
#define SL_SCORE_CNT(name, help) uint64_t name; /**< help */
	SL_SCORE_COUNTERS(SL_SCORE_CNT)
#undef SL_SCORE_CNT
	uint64_t hosts;          /**< hosts with signals now */
	uint64_t over_alert;     /**< hosts at or over the alert threshold (at the last pass) */
	uint64_t over_block;     /**< hosts at or over the block threshold */
	uint64_t cycle_ns;       /**< duration of the last decay pass */
};

unsigned int sl_score_num_counters(void);
const char *sl_score_counter_name(unsigned int i);

struct sl_score;

/** @return the scorer, or NULL with rte_errno (ENOMEM, EINVAL). */
struct sl_score *sl_score_create(const struct sl_score_params *p, int socket,
	sl_score_note_fn fn, void *arg);
void sl_score_free(struct sl_score *s);
uint64_t sl_score_memsize(uint32_t capacity);

/** A detection for host @p host (16-byte form) with the detector's current weight. */
void sl_score_detection(struct sl_score *s, const struct sl_event *ev, unsigned int weight);

/**
 * A flow sample: refreshes the flow's detections, judges its behaviour (unless @p judge is
 * false: a probe refuted the peer). @return the behaviour points (0 when not judged).
 */
unsigned int sl_score_sample(struct sl_score *s, const struct sl_flow_sample *fs, bool judge);

/**
 * Weak evidence host @p host has about (@p peer, @p port) now: the sum over the weak kinds
 * (behaviour, fingerprint, pool_ip) of the strongest such signal naming that peer and port.
 * @p strong is set when a payload or pool-name signal names the peer (a probe adds nothing)
 * or a pool_confirmed one already does. @return the points (0: none, or no such host).
 */
float sl_score_peer_evidence(struct sl_score *s, const uint8_t host[16], const uint8_t peer[16],
	uint16_t port, bool *strong);

/**
 * A probe confirmed (@p peer, @p port) as a pool speaking @p proto (enum sl_probe_proto),
 * with detector @p det for its name: a pool_confirmed signal for @p host, tied to the flow
 * of the evidence that asked (its ports and id), quoting @p answer. @return 0, or -ENOENT
 * when the score table is full.
 */
int sl_score_confirmed(struct sl_score *s, const uint8_t host[16], const uint8_t peer[16],
	uint16_t port, unsigned int det, unsigned int proto, bool tls, const uint8_t *answer,
	size_t len, uint32_t latency_ms, uint64_t now_us);

/**
 * A probe refuted (@p peer, @p port): host @p host's behaviour and fingerprint signals that
 * name it stop counting (removed), and the host is re-evaluated. @return signals removed.
 */
unsigned int sl_score_refuted(struct sl_score *s, const uint8_t host[16], const uint8_t peer[16],
	uint16_t port, uint64_t now_us);

/** A baseline deviation of host @p addr at @p now_us. */
void sl_score_deviation(struct sl_score *s, const uint8_t addr[16], const struct sl_base_dev *d,
	uint64_t now_us);

/**
 * A device signal (SL_SIG_mining_hw or SL_SIG_new_device) for host @p addr, from device
 * @p mac, saying @p why, at @p now_us; repeated calls refresh it. Its points are the kind's
 * weight; neither kind alone should reach the alert level (config keys).
 */
void sl_score_device(struct sl_score *s, const uint8_t addr[16], unsigned int kind,
	const uint8_t mac[6], const char *why, uint64_t now_us);

/** A device signal kind (no flow behind it). */
static inline bool
sl_signal_is_device(unsigned int kind)
{
	return kind == SL_SIG_mining_hw || kind == SL_SIG_new_device;
}

/**
 * Decay pass at @p now_us: re-evaluate every host with signals, report level changes, forget
 * hosts whose signals have all decayed below one point. Keeps the stats' over_* gauges.
 */
void sl_score_tick(struct sl_score *s, uint64_t now_us);

/** The @p n highest-scoring hosts at @p now_us (score > 0), highest first. @return count. */
unsigned int sl_score_top(struct sl_score *s, uint64_t now_us, struct sl_score_view *out,
	unsigned int n);

/** One host's view at @p now_us. @return 0 or -ENOENT. */
int sl_score_get(struct sl_score *s, const uint8_t addr[16], uint64_t now_us,
	struct sl_score_view *out);

void sl_score_get_stats(const struct sl_score *s, struct sl_score_stats *out);

/** The parameters in force. */
void sl_score_params_get(const struct sl_score *s, struct sl_score_params *out);

/**
 * A block of @p addr was lifted (catch and release): its level goes back to none without a
 * note, and only a new or refreshed signal (not the decay passes) can raise it again, so a
 * host that mines again is alerted and blocked again, and a quiet one is not.
 * @return 0 or -ENOENT.
 */
int sl_score_release(struct sl_score *s, const uint8_t addr[16]);

/** Latest record time the scorer has seen (its clock). */
uint64_t sl_score_now(const struct sl_score *s);

/**
 * Scoring and baseline parameters from the configuration.
 * @return 0, or -EINVAL with the reason in @p err (bad service port list, block < alert).
 */
int sl_score_params_from_cfg(const struct sl_cfg *c, struct sl_score_params *p,
	struct sl_base_params *bp, char *err, size_t errlen);

/**
 * Move the scorer's clock to @p ts_us, running what falls due on the way, each at its own
 * grid time so results do not depend on how records were batched: decay passes every
 * @p tick_us and baseline buckets of @p hosts (when not NULL). Called before every record and
 * from the control loop. A jump longer than 100 periods runs one pass at @p ts_us instead
 * (one bucket edge for baselines), so any jump, forward or backward and however large (a
 * timestamp near 2^64), costs O(1); jumps are counted in time_jumps. The clock never goes
 * back: after a backward jump nothing falls due until record time catches up.
 */
void sl_score_advance(struct sl_score *s, struct sl_chost_table *hosts,
	const struct sl_base_params *bp, uint64_t tick_us, uint64_t ts_us);

#endif /* SL_SCORE_H */
