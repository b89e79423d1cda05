/* sl_flow.h: the per-worker flow table. One rte_hash (direction-independent 40-byte key,
 * preallocated on the worker's socket, single writer: its worker) whose positions index a
 * flat array of 128-byte flow entries; a bounded pool of payload buffers (first bytes of
 * each direction, in TCP sequence order) for the matcher; bounded aging. Expiry is also
 * checked lazily on every hit, so flow boundaries depend only on packet times, never on
 * when the sweep happens to run: offline results are exact and repeatable. */
#ifndef SL_FLOW_H
#define SL_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_mbuf.h>

#include "sl_pkt.h"

#define SL_FLOW_NONE UINT32_MAX /**< "no entry" for host and buffer references */

/**
 * Readable bytes after the payload pool's last buffer. Vector scanners may load a whole
 * vector that ends past the bytes they were given (Hyperscan 5.4's AVX512VBMI Teddy reads up
 * to 64 bytes beyond the end of its input and faults if that is an unmapped page; a fuzz run
 * found it). Between buffers the next buffer is readable anyway; after the last, this tail is.
 */
#define SL_FLOW_PAYLOAD_TAIL 64

/** Direction-independent key: the lower (address, port) endpoint first. 40 bytes. */
struct sl_flow_key {
	uint8_t lo[16];   /**< lower endpoint address */
	uint8_t hi[16];   /**< higher endpoint address */
	uint16_t port_lo; /**< port of the lower endpoint */
	uint16_t port_hi; /**< port of the higher endpoint */
	uint8_t proto;    /**< IP protocol */
	uint8_t pad[3];   /**< zero */
};

/* TCP states. */
#define SL_TCP_NONE 0        /**< not TCP */
#define SL_TCP_SYN 1         /**< SYN seen, no answer */
#define SL_TCP_SYNACK 2      /**< SYN-ACK seen */
#define SL_TCP_ESTABLISHED 3 /**< data or handshake done (or picked up mid-stream) */
#define SL_TCP_FIN 4         /**< FIN from one side */
#define SL_TCP_CLOSED 5      /**< FIN from both sides or RST */

/* Flow flags. */
#define SL_FLOW_F_USED 0x01     /**< slot holds a live flow */
#define SL_FLOW_F_INIT_HI 0x02  /**< the initiator is the key's hi endpoint */
#define SL_FLOW_F_LONG 0x04     /**< already counted as long-lived */
#define SL_FLOW_F_SEQ0 0x08     /**< next_seq[0] is known */
#define SL_FLOW_F_SEQ1 0x10     /**< next_seq[1] is known */
#define SL_FLOW_F_GAP0 0x20     /**< a hole stopped payload capture, initiator side */
#define SL_FLOW_F_GAP1 0x40     /**< same, responder side */
#define SL_FLOW_F_FIN0 0x80     /**< initiator sent FIN */

/* Behaviour flags (sl_flow.bflags). */
#define SL_FLOW_B_BULK 0x01     /**< a message grew past bulk_bytes: no longer tracked */
#define SL_FLOW_B_SAMPLED 0x02  /**< at least one sample was sent (a final one is due) */
#define SL_FLOW_B_DETECTED 0x04 /**< the inspector reported a detection on this flow */
#define SL_FLOW_B_BULK_SENT 0x08 /**< a sample has told the scorer the flow is bulk */
#define SL_FLOW_B_BLOCKED 0x10  /**< the soft blocklist (generation in sl_flow.pad) holds it */
#define SL_FLOW_B_EVID 0x20     /**< marked for evidence (generation in sl_flow.evseen) */

/**
 * Message statistics of one TCP flow, for behavioural scoring of encrypted sessions. A
 * "message" is a run of payload segments in one direction without a pause longer than
 * msg_gap_us and not interrupted by payload the other way (a TLS record, a JSON line, a
 * Noise frame...). An initiator message that starts within reply_us of the responder's last
 * payload is an answer (a pong, a receipt) and is not measured. A responder message is
 * "unsolicited" when the initiator had sent nothing
 * for reply_us before it starts (a pool's job push, unlike the answer to a request). One
 * cache line in an array parallel to the flows, touched only by payload packets of flows
 * that are not bulk.
 */
struct sl_flow_beh {
	uint32_t last_ms[2]; /**< last payload segment per direction, ms after first_us */
	uint32_t cur[2];     /**< bytes of the message in progress per direction (initiator:
			       SL_BEH_REPLY set when it answers the responder) */
	uint16_t msgs[2];    /**< messages started per direction (saturating) */
	uint16_t unsol;      /**< unsolicited responder messages (saturating) */
	uint16_t cn;         /**< initiator messages measured (after the first SL_BEH_SKIP) */
	uint16_t crep;       /**< ... of cn: about the size of the initiator message before */
	uint16_t cmiss;      /**< ... of cn: not, once the first repeat was seen */
	uint16_t urep;       /**< pushes about the size of the push before */
	uint16_t umiss;      /**< pushes not, once the first repeat was seen */
	uint16_t cprev;      /**< size of the last measured initiator message (capped) */
	uint16_t uprev;      /**< size of the last measured push (capped) */
	uint8_t last_dir;    /**< direction of the last payload segment */
	uint8_t cur_unsol;   /**< the responder message in progress is unsolicited */
	uint16_t gstart_ds;  /**< start of the last measured initiator message, 1/10 s (wraps) */
	uint32_t csz_sum;    /**< sum of measured initiator message sizes */
	uint32_t usz_sum;    /**< sum of measured push sizes */
	float csz_sq;        /**< sum of squared initiator message sizes */
	uint16_t cells;      /**< messages (both ways) of Tor cell size (sl_known_cell_sized) */
	uint16_t answered;   /**< measured initiator requests the responder answered within reply_us */
	float gsum;          /**< sum of gaps between measured initiator messages, s */
	float gsq;           /**< sum of their squares */
};

/** Flag in cur[0]: the initiator message in progress answers the responder (a pong, a
 * receipt, an acknowledgement): it is not a request, so it is left out of the statistics. */
#define SL_BEH_REPLY 0x80000000u

/** Initiator messages left out of the size statistics (handshakes, login). */
#define SL_BEH_SKIP 2

/** Two messages are "the same size" within this many 1/64ths of the larger (~9%) or 8 B. */
#define SL_BEH_REP_64THS 6
#define SL_BEH_REP_BYTES 8

/**
 * A flow's behaviour as the worker reports it to the control core (SL_MSG_FLOW): at most
 * every sample interval while the flow lives, and once more when a sampled flow ends.
 */
struct sl_flow_sample {
	uint64_t flow_id;    /**< same id as the flow's events */
	uint64_t ts_us;      /**< time of the sample (packet time offline) */
	uint8_t src[16];     /**< initiator */
	uint8_t dst[16];     /**< responder */
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t host;        /**< SL_EV_HOST_SRC/DST: the judged side */
	uint8_t final;       /**< 1: the flow ended */
	uint8_t flags;       /**< SL_SAMPLE_F_* */
	uint32_t age_ms;     /**< last packet - first packet */
	uint32_t pkts[2];    /**< packets per direction (saturating) */
	uint32_t bytes[2];   /**< wire bytes per direction (saturating) */
	float gap_cv;        /**< variation of the gaps between initiator messages */
	uint16_t cmiss, umiss; /**< size changes after the first repeat */
	uint32_t msgs[2];    /**< messages per direction */
	uint16_t unsol;      /**< unsolicited responder messages */
	uint16_t answered;   /**< measured initiator requests answered within the reply time */
	uint16_t cn, un;     /**< samples behind the size statistics */
	uint16_t crep, urep; /**< of those, about the size of the one before */
	float csz_mean;      /**< initiator message size: mean ... */
	float csz_cv;        /**< ... and coefficient of variation */
	float usz_mean;      /**< unsolicited responder message size: mean */
	uint8_t known;       /**< enum sl_known: protocol recognised (lib/match), 0 = none */
	uint8_t pad;
	uint16_t cells;      /**< messages of Tor cell size, both ways */
};

#define SL_SAMPLE_F_TLS 0x01      /**< a TLS ClientHello opened the flow */
#define SL_SAMPLE_F_NO_SNI 0x02   /**< ... without a server name */
#define SL_SAMPLE_F_DETECTED 0x04 /**< payload inspection reported a detection */
#define SL_SAMPLE_F_BULK 0x08     /**< bulk transfer: message statistics stopped */
#define SL_SAMPLE_F_PLAIN 0x10    /**< recognised cleartext protocol (HTTP, DNS, SV2 plain) */

/** One flow. Direction 0 = initiator to responder. Exactly two cache lines. */
struct sl_flow {
	/* line 0: touched by every packet */
	uint64_t first_us;     /**< first packet time */
	uint64_t last_us;      /**< last packet time */
	uint64_t bytes[2];     /**< wire bytes per direction */
	uint64_t payload[2];   /**< L4 payload bytes per direction */
	uint64_t pkts[2];      /**< packets per direction */
	/* line 1 */
	uint32_t host[2];      /**< worker host slot of initiator/responder, or SL_FLOW_NONE */
	uint64_t iat_sum_us;   /**< sum of inter-arrival gaps (mean = sum / (pkts - 1)) */
	uint32_t iat_min_us;   /**< smallest gap */
	uint32_t iat_max_us;   /**< largest gap */
	uint32_t next_seq[2];  /**< next expected TCP sequence per direction */
	uint32_t buf;          /**< payload buffer index or SL_FLOW_NONE */
	uint32_t buf_len[2];   /**< payload bytes captured per direction */
	uint32_t push_pkts[2]; /**< TCP packets with ACK|PSH per direction */
	uint8_t state;         /**< SL_TCP_* */
	uint8_t flags;         /**< SL_FLOW_F_* */
	uint8_t tcp_flags[2];  /**< TCP flags seen per direction (OR) */
	uint8_t proto;         /**< IP protocol */
	uint8_t fin1;          /**< responder sent FIN */
	uint8_t bflags;        /**< SL_FLOW_B_*: behaviour tracking, blocked */
	uint8_t pad;           /**< soft blocklist generation (low byte) last checked */
	uint8_t evgen;         /**< evidence: the mark table generation (low byte) under which the
				 flow is known unmarked; 0 = marked or not yet looked up, so a
				 packet of an unmarked flow pays one compare */
	uint8_t evseen;        /**< evidence: the generation last looked up */
} __rte_cache_aligned;

/* X(name, help): flow-table counters (single writer: the owning worker). */
#define SL_FLOW_COUNTERS(X)                                                                  \
	X(created, "flows created")                                                           \
	X(expired, "flows ended by idle timeout or TCP close")                                \
	X(active, "flows in the table")                                                       \
	X(table_full, "packets whose flow could not be created (table full)")                 \
	X(tcp_reused, "closed TCP flows restarted by a new SYN on the same 5-tuple")          \
	X(payload_buffers_used, "payload buffers handed out")                                 \
	X(payload_pool_empty, "flows that wanted a payload buffer and got none")             \
	X(payload_bytes, "payload bytes copied into buffers")                                 \
	X(payload_gaps, "flow directions that met a TCP sequence hole (or a snaplen cut)")     \
	X(payload_reordered, "out-of-order TCP segments held until their hole was filled")    \
	X(long_lived, "flows that became long-lived")

struct sl_flow_stats {
#define SL_FLOW_CNT(name, help) uint64_t name; /**< help */
	SL_FLOW_COUNTERS(SL_FLOW_CNT)
#undef SL_FLOW_CNT
};

/** Timeouts and sizes, in microseconds and entries. */
struct sl_flow_params {
	uint32_t capacity;          /**< flow entries */
	uint32_t capacity_shown;    /**< capacity reports show, 0 = capacity (offline tables are
					 fitted to the input but show the configured one) */
	uint32_t payload_buffers;   /**< payload buffers in the pool */
	uint32_t payload_bytes;     /**< bytes per direction per buffer */
	uint64_t tcp_new_us;        /**< idle timeout, TCP without answer */
	uint64_t tcp_est_us;        /**< idle timeout, established TCP */
	uint64_t tcp_closed_us;     /**< idle timeout, closed TCP */
	uint64_t udp_us;            /**< idle timeout, UDP */
	uint64_t other_us;          /**< idle timeout, other */
	uint64_t long_us;           /**< age at which a flow is long-lived */
	uint32_t state_bytes;       /**< per-buffer state for the inspector (zeroed on hand-out) */
	uint32_t beh_msg_gap_us;    /**< pause that ends a message; 0 = no behaviour tracking */
	uint32_t beh_reply_us;      /**< responder message counts as a reply within this */
	uint32_t beh_bulk_bytes;    /**< a message this large marks the flow bulk */
};

struct sl_flow_table;

/** Called for each flow that ends (idle, closed, or at the final flush). */
typedef void (*sl_flow_end_cb)(void *arg, const struct sl_flow_key *key, struct sl_flow *f,
	int at_exit);

/**
 * Create a table on @p socket. Control thread, at init.
 * @return the table, or NULL with rte_errno set (ENOMEM, EINVAL).
 */
struct sl_flow_table *sl_flow_table_create(const char *name, const struct sl_flow_params *p,
	int socket, sl_flow_end_cb cb, void *cb_arg);

/** Free a table (no flow callbacks). */
void sl_flow_table_free(struct sl_flow_table *t);

/** Bytes a table with these parameters asks for (to size offline EAL memory). */
uint64_t sl_flow_table_memsize(const struct sl_flow_params *p);

/** Build the canonical key; @return 1 when the packet's source is the key's hi endpoint. */
int sl_flow_key_make(const struct sl_pkt *pk, struct sl_flow_key *key);

/**
 * Look up @p n keys (n <= 64). @p sig receives each key's hash (reused by sl_flow_get() on
 * a miss, so a new flow is hashed once); @p pos the slot or a negative value on a miss.
 * Worker only.
 */
void sl_flow_lookup_bulk(struct sl_flow_table *t, const struct sl_flow_key **keys,
	unsigned int n, uint32_t *sig, int32_t *pos);

/**
 * Resolve the flow for a packet whose lookup gave @p pos: create it on a miss, end and
 * restart it when it had expired (lazy expiry) or when a SYN reopens a closed flow.
 * @param sig    the key's hash from sl_flow_lookup_bulk()
 * @param src_hi 1 when the packet's source is the key's hi endpoint
 * @param is_new set to true when a new flow started
 * @return the flow, or NULL when the table is full (counted). Worker only.
 */
struct sl_flow *sl_flow_get(struct sl_flow_table *t, const struct sl_flow_key *key,
	uint32_t sig, int32_t pos, const struct sl_pkt *pk, int src_hi, uint64_t now_us,
	bool *is_new);

/**
 * Account one packet to @p f: counters, inter-arrival, TCP state, payload capture (read
 * from @p m at the parsed payload offset). @return the packet's direction (0 = from the
 * initiator). Worker only, hot path.
 */
int sl_flow_account(struct sl_flow_table *t, struct sl_flow *f, const struct sl_pkt *pk,
	int src_hi, const struct rte_mbuf *m, uint64_t now_us);

/** True when @p f has been idle past its timeout at @p now_us. */
bool sl_flow_expired(const struct sl_flow_table *t, const struct sl_flow *f, uint64_t now_us);

/** Check up to @p budget slots for expiry; @return flows ended. Worker only. */
unsigned int sl_flow_sweep(struct sl_flow_table *t, uint64_t now_us, unsigned int budget);

/**
 * End every flow at exit: flows idle past their timeout at @p now_us count as expired,
 * the others are reported with at_exit = 1 and stay counted as active. Worker only.
 */
void sl_flow_flush(struct sl_flow_table *t, uint64_t now_us);

/** Counters (owner writes, others read relaxed). */
const struct sl_flow_stats *sl_flow_stats(const struct sl_flow_table *t);

/** Captured payload of direction @p dir of @p f, or NULL. */
const uint8_t *sl_flow_payload(const struct sl_flow_table *t, const struct sl_flow *f,
	int dir, uint32_t *len);

/** Capacity and a slot's flow (for tests and the bench). */
/** The inspector's state beside the flow's payload buffer, or NULL (no buffer). */
void *sl_flow_state(const struct sl_flow_table *t, const struct sl_flow *f);

/** The flow's message statistics, or NULL when behaviour tracking is off. */
const struct sl_flow_beh *sl_flow_beh(const struct sl_flow_table *t, const struct sl_flow *f);

/**
 * Fill the flow-derived fields of @p s (counters, message statistics, bulk flag) from @p f
 * at @p now_us. Identity fields (flow_id, addresses, host, final, other flags) are the
 * caller's.
 */
void sl_flow_sample_fill(const struct sl_flow_table *t, const struct sl_flow *f,
	uint64_t now_us, struct sl_flow_sample *s);

uint32_t sl_flow_capacity(const struct sl_flow_table *t);
/** The capacity reports show: sl_flow_params.capacity_shown, else the capacity. */
uint32_t sl_flow_capacity_shown(const struct sl_flow_table *t);
struct sl_flow *sl_flow_at(struct sl_flow_table *t, uint32_t pos);

/** Prefetch what sl_flow_get() and sl_flow_account() touch for the entry at @p pos (from
 * sl_flow_lookup_bulk()): the entry's two cache lines and its behaviour line. */
void sl_flow_prefetch(const struct sl_flow_table *t, uint32_t pos);

/** Names of the counters (X-macro order). */
unsigned int sl_flow_num_counters(void);
const char *sl_flow_counter_name(unsigned int i);

#endif /* SL_FLOW_H */
