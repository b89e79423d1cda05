/* sl_input.h: the offline reader. Reads pcap files with libpcap and pcapng files with its
 * own reader (pcapng.c: one link type per interface), and directories of them (all of them,
 * in name order), one after another as one stream, into mbufs (chained when a
 * frame is larger than one mbuf), stamps each with its capture time and sluice metadata
 * (wire length, link type), picks the worker queue with a symmetric software hash and
 * enqueues it on the offline port's ring. Nothing is ever dropped: when the ring or the
 * mempool is full the reader waits, calling the caller's poll function meanwhile (the
 * control core keeps draining worker channels), so offline results are exact. The end of
 * input is known exactly, unlike net_pcap in DPDK 22.11. */
#ifndef SL_INPUT_H
#define SL_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include <rte_mempool.h>
#include <rte_ring.h>

#define SL_INPUT_MAX_ERRORS 8
#define SL_INPUT_MAX_CAPLEN 262144u /**< largest captured length taken (libpcap's too) */
#define SL_INPUT_MAX_WIRE 524288u   /**< largest original length believed (a 512 KiB GSO
				       frame, Linux BIG TCP); past it the captured length is used */

/* X(name, help): reader counters. */
#define SL_INPUT_COUNTERS(X)                                                                 \
	X(files, "capture files read")                                                        \
	X(packets, "packets read and handed to workers")                                      \
	X(bytes, "wire bytes of those packets")                                               \
	X(snapped, "packets captured shorter than on the wire (snaplen)")                     \
	X(multi_segment, "packets that needed a chain of mbufs")                              \
	X(read_errors, "files whose reading stopped early on an error (truncated/corrupt)")   \
	X(bad_timestamps, "records skipped: capture time before 1970 or at/after 2^31 s (2038)") \
	X(bad_lengths, "records whose lengths were absurd and were bounded (original length "   \
		       "below the captured one or past 512 KiB, captured length past 256 KiB)")  \
	X(bad_records, "pcapng packet records skipped: unknown interface, data past its block, " \
		       "unusable if_tsresol")                                                   \
	X(waits_ring_full, "times the reader waited for ring space")                          \
	X(waits_no_mbuf, "times the reader waited for a free mbuf")

struct sl_input_stats {
#define SL_INPUT_CNT(name, help) uint64_t name; /**< help */
	SL_INPUT_COUNTERS(SL_INPUT_CNT)
#undef SL_INPUT_CNT
	uint64_t first_us; /**< earliest packet time */
	uint64_t last_us;  /**< latest packet time */
};

struct sl_input;

/**
 * Expand @p paths (files or directories) and check that every file opens as pcap/pcapng
 * with a supported link type. Nothing is read yet.
 * @return the reader, or NULL with the reason ("path: why") in @p err.
 */
struct sl_input *sl_input_open(char *const *paths, unsigned int n, char *err, size_t errlen);

/** Files after expansion, in reading order. */
unsigned int sl_input_nfiles(const struct sl_input *in);
const char *sl_input_file(const struct sl_input *in, unsigned int i);
int sl_input_file_linktype(const struct sl_input *in, unsigned int i);

/**
 * Read everything into @p rings (@p nq queues), waiting when they are full.
 * @param poll called while waiting (and every 1024 packets) with @p arg; a non-zero
 *             return stops reading (SIGINT)
 * @return 0, -EINTR when @p poll stopped it, or -EIO when some file stopped early
 *         (see sl_input_error()).
 */
int sl_input_run(struct sl_input *in, struct rte_mempool *mp, struct rte_ring *const *rings,
	unsigned int nq, int (*poll)(void *arg), void *arg);

/**
 * Link type of a capture file (for net_pcap's rx_pcap= files, which the PMD hands over as
 * if they were Ethernet). @return SL_DLT_* value, or -errno with the reason in @p err.
 */
int sl_input_pcap_linktype(const char *path, char *err, size_t errlen);

/** Queue a frame goes to: symmetric in source/destination. Exposed for tests. */
unsigned int sl_input_queue_of(int linktype, const uint8_t *p, uint32_t caplen, uint32_t len,
	unsigned int nq);

/**
 * Upper bound on the packets the files hold, from their sizes at sl_input_open() (every
 * record takes at least 16 bytes). Offline tables are sized from it: flows, hosts and
 * payload buffers can never outnumber packets (hosts: twice). UINT64_MAX/32 or so when an
 * input is not a regular file. Any thread; never fails.
 */
uint64_t sl_input_max_packets(const struct sl_input *in);

const struct sl_input_stats *sl_input_stats(const struct sl_input *in);
unsigned int sl_input_nerrors(const struct sl_input *in);
const char *sl_input_error(const struct sl_input *in, unsigned int i);
void sl_input_close(struct sl_input *in);

/** Counter names (X-macro order). */
unsigned int sl_input_num_counters(void);
const char *sl_input_counter_name(unsigned int i);

#endif /* SL_INPUT_H */
