/* sl_pkt.h: L2-L4 packet parser for the worker path. Works on plain bytes (no EAL), so unit
 * tests feed it inline packets; the worker hands it the first segment of an mbuf, or a copy
 * of the first SL_PKT_HDR_MAX bytes when headers straddle segments. Every packet gets exactly
 * one outcome from SL_PKT_OUTCOMES: handled, skipped for a reason, malformed for a reason, or
 * dropped for a reason; the worker counts them so that received = sum of outcomes. */
#ifndef SL_PKT_H
#define SL_PKT_H

#include <stdint.h>

/* Link types (libpcap DLT_* values as returned by pcap_datalink()). */
#define SL_DLT_NULL 0     /**< BSD loopback, host-endian 4-byte address family */
#define SL_DLT_EN10MB 1   /**< Ethernet */
#define SL_DLT_RAW 12     /**< raw IP (Linux value of DLT_RAW) */
#define SL_DLT_RAW_ALT 14 /**< raw IP (BSD value of DLT_RAW) */
#define SL_DLT_LOOP 108   /**< OpenBSD loopback, network-order address family */
#define SL_DLT_LINUX_SLL 113
#define SL_DLT_RAW_LT 101 /**< LINKTYPE_RAW as some writers leave it */
#define SL_DLT_IPV4 228
#define SL_DLT_IPV6 229
#define SL_DLT_LINUX_SLL2 276

#define SL_PKT_HDR_MAX 256 /**< header bytes the parser may need in one piece */
#define SL_PKT_MAX_VLAN 2  /**< 802.1Q tags accepted (QinQ) */
#define SL_PKT_MAX_EXT 8   /**< IPv6 extension headers followed before giving up */

/* Outcome classes. */
#define SL_CLASS_HANDLED 0
#define SL_CLASS_SKIPPED 1
#define SL_CLASS_MALFORMED 2
#define SL_CLASS_DROPPED 3

/*
 * X(name, class, help): every way a received packet can end. The parser produces all but
 * the DROPPED ones; the worker adds those.
 */
#define SL_PKT_OUTCOMES(X)                                                                   \
	X(handled, SL_CLASS_HANDLED, "parsed and accounted to a flow")                        \
	X(non_ip, SL_CLASS_SKIPPED, "not IPv4/IPv6 (ARP, LLDP, ...)")                          \
	X(ip_fragment, SL_CLASS_SKIPPED, "non-first IP fragment (no L4 header)")               \
	X(unsupported_linktype, SL_CLASS_SKIPPED, "link type or loopback family not handled")  \
	X(truncated_l2, SL_CLASS_MALFORMED, "shorter than its link-layer header")              \
	X(vlan_depth, SL_CLASS_MALFORMED, "more than two 802.1Q tags")                         \
	X(truncated_ipv4, SL_CLASS_MALFORMED, "shorter than an IPv4 header")                   \
	X(bad_ip_version, SL_CLASS_MALFORMED, "IP version does not match the ethertype")       \
	X(bad_ipv4_ihl, SL_CLASS_MALFORMED, "IPv4 IHL below 5 or beyond the packet")           \
	X(bad_ipv4_length, SL_CLASS_MALFORMED, "IPv4 total length below IHL or beyond packet") \
	X(truncated_ipv6, SL_CLASS_MALFORMED, "shorter than an IPv6 header")                   \
	X(bad_ipv6_length, SL_CLASS_MALFORMED, "IPv6 payload length beyond the packet")        \
	X(bad_ipv6_ext, SL_CLASS_MALFORMED, "IPv6 extension chain truncated or too long")      \
	X(truncated_tcp, SL_CLASS_MALFORMED, "shorter than a TCP header")                      \
	X(bad_tcp_offset, SL_CLASS_MALFORMED, "TCP data offset below 5 or beyond the packet")  \
	X(truncated_udp, SL_CLASS_MALFORMED, "shorter than a UDP header")                      \
	X(bad_udp_length, SL_CLASS_MALFORMED, "UDP length below 8 or beyond the IP payload")   \
	X(truncated_icmp, SL_CLASS_MALFORMED, "shorter than an ICMP header")                   \
	X(flow_table_full, SL_CLASS_DROPPED, "no room in the worker's flow table")

enum sl_pkt_outcome {
#define SL_PKT_ENUM(name, cls, help) SL_PKT_##name,
	SL_PKT_OUTCOMES(SL_PKT_ENUM)
#undef SL_PKT_ENUM
	SL_PKT_OUTCOME_MAX
};

/* Parser result flags. */
#define SL_PKT_F_FRAG 0x01    /**< first fragment of a fragmented datagram */
#define SL_PKT_F_SNAPPED 0x02 /**< capture shorter than the wire: payload cut by snaplen */

/** What the parser found. Addresses are 16-byte (IPv4 mapped as ::ffff:a.b.c.d). */
struct sl_pkt {
	uint8_t src[16];       /**< source address */
	uint8_t dst[16];       /**< destination address */
	uint16_t sport;        /**< source port (0 when the protocol has none) */
	uint16_t dport;        /**< destination port */
	uint8_t proto;         /**< IP protocol number of the L4 header */
	uint8_t ipver;         /**< 4 or 6 */
	uint8_t tcp_flags;     /**< TCP flags byte, 0 otherwise */
	uint8_t flags;         /**< SL_PKT_F_* */
	uint16_t l3_off;       /**< offset of the IP header */
	uint16_t l4_off;       /**< offset of the L4 header */
	uint32_t payload_off;  /**< offset of the L4 payload */
	uint32_t payload_len;  /**< L4 payload bytes on the wire (from IP/UDP lengths) */
	uint32_t payload_cap;  /**< L4 payload bytes present in the captured frame */
	uint32_t tcp_seq;      /**< TCP sequence number */
	uint32_t wire_len;     /**< frame length on the wire */
};

/**
 * Parse one frame.
 * @param linktype SL_DLT_* of the frame
 * @param p        first bytes of the frame
 * @param avail    bytes readable at @p p (headers must fit here; at least
 *                 min(cap_len, SL_PKT_HDR_MAX) unless the frame is shorter)
 * @param cap_len  captured bytes of the whole frame (>= avail)
 * @param wire_len frame length on the wire (>= cap_len; equal outside snaplen captures)
 * @param out      filled on SL_PKT_handled; partly filled otherwise
 * @return an sl_pkt_outcome (SL_PKT_handled when the packet carries a flow).
 * Thread-safe, no allocation; safe on the hot path.
 */
enum sl_pkt_outcome sl_pkt_parse(int linktype, const uint8_t *p, uint32_t avail,
	uint32_t cap_len, uint32_t wire_len, struct sl_pkt *out);

/** Name and class of an outcome (X-macro table). */
const char *sl_pkt_outcome_name(unsigned int o);
int sl_pkt_outcome_class(unsigned int o);
const char *sl_pkt_class_name(int cls);

/** True when the parser knows this link type. */
int sl_pkt_linktype_supported(int linktype);
/** Human name of a link type ("EN10MB", "LINUX_SLL", ...). */
const char *sl_pkt_linktype_name(int linktype);

#endif /* SL_PKT_H */
