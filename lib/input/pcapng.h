/* pcapng.h: the input component's own pcapng reader (private to lib/input). libpcap 1.10
 * refuses a file whose interfaces differ in link type or snapshot length (what
 * `dumpcap -i eth0 -i any` writes); this reader keeps every interface's link type, snapshot
 * length, if_tsresol and if_tsoffset and hands each packet over with its own interface's link
 * type. Sections in either byte order; Enhanced, Simple and obsolete Packet Blocks; every other
 * block is skipped. Every length is checked against the block that holds it: a record that does
 * not fit is counted and skipped, a block that does not fit the file stops the file with a
 * message. Reads from a FILE with one buffer that grows to the largest block (bounded). */
#ifndef SL_INPUT_PCAPNG_H
#define SL_INPUT_PCAPNG_H

#include <stdint.h>
#include <stdio.h>

#define SL_PCAPNG_MAX_BLOCK (16u << 20) /**< largest block read (libpcap's bound too) */
#define SL_PCAPNG_MAX_IFACES 4096       /**< interfaces per section */

/** One packet record. */
struct sl_pcapng_rec {
	int64_t sec;          /**< capture time, seconds since 1970 (with if_tsoffset) */
	uint32_t usec;        /**< and microseconds (truncated from the interface's unit) */
	uint32_t caplen;      /**< bytes at data */
	uint32_t len;         /**< original length as the file says (not checked here) */
	int linktype;         /**< its interface's link type */
	const uint8_t *data;  /**< valid until the next call */
};

struct sl_pcapng;

/** Does a file start like pcapng (a Section Header Block)? @p head: its first 4 bytes. */
int sl_pcapng_magic(const uint8_t head[4]);

/**
 * Start reading @p fp (positioned at its start; the reader owns it from now on and closes it)
 * up to and including the first Interface Description Block.
 * @return the reader, or NULL with the reason in @p err (fp closed).
 */
struct sl_pcapng *sl_pcapng_open(FILE *fp, char *err, size_t errlen);

/** Link type of the first interface. */
int sl_pcapng_first_linktype(const struct sl_pcapng *r);

/**
 * Next packet. @return 1 with @p rec filled, 0 at the end of the file, -1 when the file stops
 * on a structural error (sl_pcapng_error() says why).
 */
int sl_pcapng_next(struct sl_pcapng *r, struct sl_pcapng_rec *rec);

/** Why the last sl_pcapng_next() returned -1. */
const char *sl_pcapng_error(const struct sl_pcapng *r);

/** Packet records skipped so far: unknown interface, data longer than its block, an
 * interface with an unusable if_tsresol. */
uint64_t sl_pcapng_bad_records(const struct sl_pcapng *r);

/** Interface Description Blocks read so far (all sections). */
uint64_t sl_pcapng_interfaces(const struct sl_pcapng *r);

void sl_pcapng_close(struct sl_pcapng *r);

#endif /* SL_INPUT_PCAPNG_H */
