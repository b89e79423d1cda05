/* sl_port.h: ports. Live ports come from EAL (real NICs, net_pcap, net_af_packet, net_tap,
 * net_null) and get N RX queues with symmetric RSS (key 0x6D5A repeated) where the device
 * supports it, and offloads only where dev_info reports them. Offline, one ring-backed port
 * (rte_eth_from_rings) with one queue per worker is fed by the capture reader, so workers run
 * the same rx_burst path either way. Also the mbuf metadata both paths share: the packet
 * timestamp dynamic field (microseconds, as net_pcap writes it) and sluice's own field with
 * the wire length and link type of frames the offline reader built. */
#ifndef SL_PORT_H
#define SL_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#define SL_PORT_MAX_QUEUES 64

/** Per-mbuf metadata written by the offline reader. */
struct sl_mbuf_meta {
	uint32_t wire_len; /**< frame length on the wire (pcap "len") */
	uint16_t linktype; /**< SL_DLT_* of the frame */
	uint16_t pad;
};

extern int sl_ts_offset;   /**< offset of the timestamp dynfield, -1 before registration */
extern int sl_meta_offset; /**< offset of sluice's metadata dynfield */
extern uint64_t sl_ts_flag; /**< ol_flags bit a port sets when it filled the timestamp */

/** Register both dynamic fields. Control thread, after EAL init. @return 0 or -errno. */
int sl_port_dyn_register(void);

static inline uint64_t
sl_mbuf_ts_us(const struct rte_mbuf *m)
{
	return *RTE_MBUF_DYNFIELD(m, sl_ts_offset, const uint64_t *);
}

static inline void
sl_mbuf_set_ts_us(struct rte_mbuf *m, uint64_t us)
{
	*RTE_MBUF_DYNFIELD(m, sl_ts_offset, uint64_t *) = us;
}

static inline struct sl_mbuf_meta *
sl_mbuf_meta(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, sl_meta_offset, struct sl_mbuf_meta *);
}

/** What sl_port_setup() did, for logs and the summary. */
struct sl_port_info {
	uint16_t port_id;
	uint16_t nb_rxq;        /**< RX queues configured */
	bool rss;               /**< symmetric RSS enabled */
	bool meta;              /**< frames carry sl_mbuf_meta (offline port) */
	int linktype;           /**< link type of frames when !meta (Ethernet unless net_pcap) */
	char name[64];          /**< device name */
	char driver[32];        /**< driver name */
};

/**
 * Configure and start a live port with @p nb_rxq RX queues (clamped to the device; a
 * device without RSS but with several RX queues keeps all of them, so every queue is
 * polled) and @p nb_txq_want TX queues (0: one where the device has any; inline mode asks
 * for one per worker and fails when the device has fewer). Control thread, at init.
 * @return 0, or -errno with a reason in @p err.
 */
int sl_port_setup(uint16_t port_id, uint16_t nb_rxq, uint16_t nb_txq_want, uint16_t nb_desc,
	struct rte_mempool *mp, struct sl_port_info *info, char *err, size_t errlen);

/**
 * Create the offline port: @p nq SP/SC rings of @p ring_size mbufs wrapped as an ethdev.
 * @return 0 or -errno; @p rings receives the rings the reader fills.
 */
int sl_port_offline_create(unsigned int nq, unsigned int ring_size, int socket,
	struct rte_mempool *mp, struct sl_port_info *info, struct rte_ring **rings);

/** Stop and close a port. */
void sl_port_close(uint16_t port_id);

/** The symmetric RSS key (0x6D5A repeated), @p len bytes. */
void sl_port_rss_key(uint8_t *key, unsigned int len);

#endif /* SL_PORT_H */
