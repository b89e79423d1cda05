/* port.c: live port setup with symmetric RSS, the offline ring port, and the mbuf dynamic
 * fields (see sl_port.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_eth_ring.h>
#include <rte_errno.h>
#include <rte_ring.h>

#include "sl_pkt.h"
#include "sl_port.h"

int sl_ts_offset = -1;
int sl_meta_offset = -1;
uint64_t sl_ts_flag;

int
sl_port_dyn_register(void)
{
	static const struct rte_mbuf_dynfield meta = {
		.name = "sluice_meta",
		.size = sizeof(struct sl_mbuf_meta),
		.align = __alignof__(struct sl_mbuf_meta),
	};
	if (rte_mbuf_dyn_rx_timestamp_register(&sl_ts_offset, &sl_ts_flag) < 0)
		return -rte_errno;
	sl_meta_offset = rte_mbuf_dynfield_register(&meta);
	return sl_meta_offset < 0 ? -rte_errno : 0;
}

void
sl_port_rss_key(uint8_t *key, unsigned int len)
{
	for (unsigned int i = 0; i < len; i++)
		key[i] = (i & 1) ? 0x5A : 0x6D;
}

int
sl_port_setup(uint16_t port_id, uint16_t nb_rxq, uint16_t nb_txq_want, uint16_t nb_desc,
	struct rte_mempool *mp, struct sl_port_info *info, char *err, size_t errlen)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info di;
	static uint8_t key[256];
	uint16_t nb_txq, rxd = nb_desc, txd = 512;
	int rc;

	memset(&conf, 0, sizeof(conf));
	memset(info, 0, sizeof(*info));
	info->port_id = port_id;
	info->linktype = SL_DLT_EN10MB;
	rc = rte_eth_dev_info_get(port_id, &di);
	if (rc < 0) {
		snprintf(err, errlen, "port %u: dev_info: %s", port_id, rte_strerror(-rc));
		return rc;
	}
	rte_eth_dev_get_name_by_port(port_id, info->name);
	snprintf(info->driver, sizeof(info->driver), "%s", di.driver_name);
	if (nb_rxq == 0)
		nb_rxq = 1;
	if (di.flow_type_rss_offloads == 0 && di.max_rx_queues > 1 &&
	    di.max_rx_queues <= SL_PORT_MAX_QUEUES)
		nb_rxq = di.max_rx_queues; /* e.g. net_pcap with several rx_pcap: poll them all */
	if (nb_rxq > di.max_rx_queues)
		nb_rxq = di.max_rx_queues;
	if (nb_rxq > SL_PORT_MAX_QUEUES)
		nb_rxq = SL_PORT_MAX_QUEUES;
	if (nb_rxq == 0) {
		snprintf(err, errlen, "port %u (%s): device has no RX queue", port_id, info->name);
		return -ENOTSUP;
	}
	if (nb_rxq > 1 && di.flow_type_rss_offloads != 0) {
		unsigned int klen = di.hash_key_size ? di.hash_key_size : 40;

		if (klen > sizeof(key))
			klen = sizeof(key);
		sl_port_rss_key(key, klen);
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = key;
		conf.rx_adv_conf.rss_conf.rss_key_len = (uint8_t)klen;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & di.flow_type_rss_offloads;
		info->rss = conf.rx_adv_conf.rss_conf.rss_hf != 0;
		if (!info->rss)
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
	}
	/* Multi-segment RX for frames larger than one mbuf, where offered. */
	if (di.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
	if (di.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
	/* monitor: one TX queue where offered (some PMDs need one to start); inline: one per
	 * worker, so each worker sends on its own queue without locks */
	nb_txq = nb_txq_want > 0 ? nb_txq_want : (di.max_tx_queues > 0 ? 1 : 0);
	if (nb_txq > di.max_tx_queues) {
		snprintf(err, errlen, "port %u (%s): %u tx queues wanted (one per worker), it has %u",
			port_id, info->name, nb_txq, di.max_tx_queues);
		return -EINVAL;
	}
	rc = rte_eth_dev_configure(port_id, nb_rxq, nb_txq, &conf);
	if (rc < 0) {
		snprintf(err, errlen, "port %u (%s): configure %u rx queues: %s", port_id, info->name,
			nb_rxq, rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rxd, &txd);
	if (rc < 0) {
		snprintf(err, errlen, "port %u: descriptors: %s", port_id, rte_strerror(-rc));
		return rc;
	}
	for (uint16_t q = 0; q < nb_rxq; q++) {
		rc = rte_eth_rx_queue_setup(port_id, q, rxd, rte_eth_dev_socket_id(port_id), NULL, mp);
		if (rc < 0) {
			snprintf(err, errlen, "port %u: rx queue %u: %s", port_id, q, rte_strerror(-rc));
			return rc;
		}
	}
	for (uint16_t q = 0; q < nb_txq; q++) {
		rc = rte_eth_tx_queue_setup(port_id, q, txd, rte_eth_dev_socket_id(port_id), NULL);
		if (rc < 0) {
			snprintf(err, errlen, "port %u: tx queue %u: %s", port_id, q, rte_strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_dev_start(port_id);
	if (rc < 0) {
		snprintf(err, errlen, "port %u: start: %s", port_id, rte_strerror(-rc));
		return rc;
	}
	rte_eth_promiscuous_enable(port_id); /* not every PMD has it; a monitor wants it */
	rte_eth_stats_reset(port_id);
	info->nb_rxq = nb_rxq;
	return 0;
}

int
sl_port_offline_create(unsigned int nq, unsigned int ring_size, int socket,
	struct rte_mempool *mp, struct sl_port_info *info, struct rte_ring **rings)
{
	struct rte_eth_conf conf;
	char name[RTE_RING_NAMESIZE];
	int port, rc;

	memset(info, 0, sizeof(*info));
	for (unsigned int q = 0; q < nq; q++) {
		snprintf(name, sizeof(name), "sl_in%u", q);
		rings[q] = rte_ring_create(name, ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (rings[q] == NULL)
			return -rte_errno;
	}
	port = rte_eth_from_rings("sl_offline", rings, nq, rings, nq, (unsigned int)socket);
	if (port < 0)
		return -rte_errno;
	/* The ring PMD's queues already exist; configure and start it like any port so that
	 * ethdev's state and statistics behave as for a NIC. */
	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure((uint16_t)port, (uint16_t)nq, (uint16_t)nq, &conf);
	for (unsigned int q = 0; rc == 0 && q < nq; q++) {
		rc = rte_eth_rx_queue_setup((uint16_t)port, (uint16_t)q, ring_size,
			(unsigned int)socket, NULL, mp);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup((uint16_t)port, (uint16_t)q, ring_size,
				(unsigned int)socket, NULL);
	}
	if (rc == 0)
		rc = rte_eth_dev_start((uint16_t)port);
	if (rc < 0)
		return rc;
	info->port_id = (uint16_t)port;
	info->nb_rxq = (uint16_t)nq;
	info->meta = true;
	info->linktype = SL_DLT_EN10MB;
	snprintf(info->name, sizeof(info->name), "offline");
	snprintf(info->driver, sizeof(info->driver), "net_ring");
	rte_eth_stats_reset((uint16_t)port);
	return 0;
}

void
sl_port_close(uint16_t port_id)
{
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
}
