/* pcapng.c: a bounds-checked pcapng reader with one link type per interface (see pcapng.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pcapng.h"

#define BT_SHB 0x0A0D0D0Au /* Section Header Block */
#define BT_IDB 0x00000001u /* Interface Description Block */
#define BT_PB 0x00000002u  /* Packet Block (obsolete) */
#define BT_SPB 0x00000003u /* Simple Packet Block */
#define BT_EPB 0x00000006u /* Enhanced Packet Block */
#define SHB_MAGIC 0x1A2B3C4Du

#define OPT_ENDOFOPT 0
#define OPT_IF_TSRESOL 9
#define OPT_IF_TSOFFSET 14

struct iface {
	int linktype;
	uint32_t snaplen;  /* 0: no limit */
	uint64_t ups;      /* timestamp units per second; 0: unusable if_tsresol */
	int64_t tsoff;     /* if_tsoffset, seconds */
};

struct sl_pcapng {
	FILE *fp;
	bool swap;               /* the section is in the other byte order */
	uint8_t *buf;            /* the current block's body and trailer */
	uint32_t cap;            /* bytes buf holds */
	struct iface *ifs;       /* this section's interfaces */
	uint32_t nif, ifcap;
	int first_linktype;
	int64_t last_sec;        /* time of the last timestamped record (for SPBs) */
	uint32_t last_usec;
	uint64_t bad_records;
	uint64_t interfaces;
	uint64_t offset;         /* file offset of the current block */
	char err[256];
};

int
sl_pcapng_magic(const uint8_t head[4])
{
	return head[0] == 0x0A && head[1] == 0x0D && head[2] == 0x0D && head[3] == 0x0A;
}

static inline uint16_t
get16(const struct sl_pcapng *r, const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return r->swap ? __builtin_bswap16(v) : v;
}

static inline uint32_t
get32(const struct sl_pcapng *r, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return r->swap ? __builtin_bswap32(v) : v;
}

static inline uint64_t
get64(const struct sl_pcapng *r, const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return r->swap ? __builtin_bswap64(v) : v;
}

static int
fail(struct sl_pcapng *r, const char *what)
{
	snprintf(r->err, sizeof(r->err), "pcapng block at offset %" PRIu64 ": %s", r->offset,
		what);
	return -1;
}

/* Read n bytes: 1, 0 when none were left (clean end), -1 when the file ends inside them. */
static int
read_n(struct sl_pcapng *r, void *p, size_t n)
{
	size_t got = fread(p, 1, n, r->fp);

	if (got == n)
		return 1;
	return got == 0 && feof(r->fp) ? 0 : -1;
}

/*
 * Read one block: its type and body (between the length fields) into r->buf. A Section
 * Header Block sets the byte order from its magic before its length is read.
 * @return 1, 0 at a clean end of file, -1 on error.
 */
static int
read_block(struct sl_pcapng *r, uint32_t *type, uint32_t *body_len)
{
	uint8_t hdr[12];
	uint32_t total, have = 8;
	int rc = read_n(r, hdr, 8);

	if (rc == 0)
		return 0;
	if (rc < 0)
		return fail(r, "file ends inside a block header");
	memcpy(type, hdr, 4); /* SHB's type reads the same in both orders */
	if (*type == BT_SHB) {
		uint32_t magic;

		if (read_n(r, hdr + 8, 4) != 1)
			return fail(r, "file ends inside a section header");
		memcpy(&magic, hdr + 8, 4);
		if (magic == SHB_MAGIC)
			r->swap = false;
		else if (magic == __builtin_bswap32(SHB_MAGIC))
			r->swap = true;
		else
			return fail(r, "section header with a bad byte-order magic");
		have = 12;
	} else {
		*type = get32(r, hdr);
	}
	total = get32(r, hdr + 4);
	if (total < 12 || total < have + 4 || (total & 3) != 0)
		return fail(r, "bad block length (under 12 or not a multiple of 4)");
	if (total > SL_PCAPNG_MAX_BLOCK)
		return fail(r, "block longer than 16 MiB");
	if (total - 8 > r->cap) {
		uint32_t ncap = r->cap;
		uint8_t *nb;

		while (ncap < total - 8)
			ncap *= 2;
		nb = realloc(r->buf, ncap);
		if (nb == NULL)
			return fail(r, "out of memory");
		r->buf = nb;
		r->cap = ncap;
	}
	/* body after what was read, then the trailing length (not checked: writers differ) */
	if (have == 12)
		memcpy(r->buf, hdr + 8, 4);
	if (read_n(r, r->buf + (have - 8), total - have) != 1)
		return fail(r, "file ends inside a block");
	*body_len = total - 12;
	r->offset += total;
	return 1;
}

static int
section(struct sl_pcapng *r, uint32_t len)
{
	/* magic (4), major (2), minor (2), section length (8), options */
	if (len < 16)
		return fail(r, "section header too short");
	if (get16(r, r->buf + 4) != 1)
		return fail(r, "unsupported pcapng major version");
	r->nif = 0; /* interfaces belong to their section */
	return 0;
}

/* 1 when the interface was added, -1 on error. */
static int
interface(struct sl_pcapng *r, uint32_t len)
{
	struct iface ifc = {.ups = 1000000};
	uint32_t off = 8;

	if (len < 8)
		return fail(r, "interface description too short");
	if (r->nif == SL_PCAPNG_MAX_IFACES)
		return fail(r, "more than 4096 interfaces in a section");
	ifc.linktype = get16(r, r->buf);
	ifc.snaplen = get32(r, r->buf + 4);
	while (off + 4 <= len) { /* options: code, length, value padded to 4 */
		uint16_t code = get16(r, r->buf + off), olen = get16(r, r->buf + off + 2);
		uint32_t padded = ((uint32_t)olen + 3u) & ~3u;

		off += 4;
		if (code == OPT_ENDOFOPT || padded > len - off)
			break; /* the end, or an option past the block: the rest is ignored */
		if (code == OPT_IF_TSRESOL && olen == 1) {
			uint8_t v = r->buf[off];
			unsigned int e = v & 0x7f;

			if (v & 0x80) {
				ifc.ups = e <= 63 ? 1ull << e : 0;
			} else if (e <= 19) {
				ifc.ups = 1;
				for (unsigned int i = 0; i < e; i++)
					ifc.ups *= 10;
			} else {
				ifc.ups = 0;
			}
		} else if (code == OPT_IF_TSOFFSET && olen == 8) {
			ifc.tsoff = (int64_t)get64(r, r->buf + off);
		}
		off += padded;
	}
	if (r->nif == r->ifcap) {
		uint32_t ncap = r->ifcap ? 2 * r->ifcap : 8;
		struct iface *n = realloc(r->ifs, ncap * sizeof(*n));

		if (n == NULL)
			return fail(r, "out of memory");
		r->ifs = n;
		r->ifcap = ncap;
	}
	r->ifs[r->nif++] = ifc;
	r->interfaces++;
	return 1;
}

/* A 64-bit timestamp in the interface's units, as seconds and microseconds. */
static void
timestamp(const struct iface *ifc, uint32_t hi, uint32_t lo, int64_t *sec, uint32_t *usec)
{
	uint64_t t = (uint64_t)hi << 32 | lo;
	uint64_t s = t / ifc->ups, f = t % ifc->ups;
	int64_t v;

	*usec = (uint32_t)((unsigned __int128)f * 1000000u / ifc->ups);
	if (s > (uint64_t)INT64_MAX || __builtin_add_overflow((int64_t)s, ifc->tsoff, &v))
		v = ifc->tsoff < 0 && s <= (uint64_t)INT64_MAX ? INT64_MIN : INT64_MAX;
	*sec = v;
}

struct sl_pcapng *
sl_pcapng_open(FILE *fp, char *err, size_t errlen)
{
	struct sl_pcapng *r = calloc(1, sizeof(*r));
	uint32_t type, len;
	int rc;

	if (r == NULL) {
		fclose(fp);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->fp = fp;
	r->cap = 1u << 16;
	r->buf = malloc(r->cap);
	if (r->buf == NULL) {
		snprintf(err, errlen, "out of memory");
		goto err;
	}
	rc = read_block(r, &type, &len);
	if (rc <= 0 || type != BT_SHB) {
		snprintf(err, errlen, "%s", rc < 0 ? r->err : "not a pcapng section header");
		goto err;
	}
	if (section(r, len) < 0)
		goto err_msg;
	for (;;) { /* up to the first interface, as libpcap reads it at open */
		rc = read_block(r, &type, &len);
		if (rc == 0) {
			snprintf(err, errlen, "pcapng file without an interface description");
			goto err;
		}
		if (rc < 0)
			goto err_msg;
		if (type == BT_SHB) {
			if (section(r, len) < 0)
				goto err_msg;
		} else if (type == BT_IDB) {
			if (interface(r, len) < 0)
				goto err_msg;
			break;
		} else if (type == BT_EPB || type == BT_SPB || type == BT_PB) {
			snprintf(err, errlen, "pcapng packet before any interface description");
			goto err;
		}
	}
	r->first_linktype = r->ifs[0].linktype;
	return r;

err_msg:
	snprintf(err, errlen, "%s", r->err);
err:
	sl_pcapng_close(r);
	return NULL;
}

int
sl_pcapng_first_linktype(const struct sl_pcapng *r)
{
	return r->first_linktype;
}

int
sl_pcapng_next(struct sl_pcapng *r, struct sl_pcapng_rec *rec)
{
	for (;;) {
		uint32_t type, len, ifid, hi, lo, caplen, hdr;
		const struct iface *ifc;
		int rc = read_block(r, &type, &len);

		if (rc <= 0)
			return rc;
		switch (type) {
		case BT_SHB:
			if (section(r, len) < 0)
				return -1;
			continue;
		case BT_IDB:
			if (interface(r, len) < 0)
				return -1;
			continue;
		case BT_EPB: /* interface (4), ts high, ts low, caplen, len, data */
		case BT_PB:  /* interface (2), drops (2), ts high, ts low, caplen, len, data */
			hdr = 20;
			if (len < hdr) {
				r->bad_records++;
				continue;
			}
			ifid = type == BT_EPB ? get32(r, r->buf) : get16(r, r->buf);
			hi = get32(r, r->buf + 4);
			lo = get32(r, r->buf + 8);
			caplen = get32(r, r->buf + 12);
			rec->len = get32(r, r->buf + 16);
			if (ifid >= r->nif || r->ifs[ifid].ups == 0 || caplen > len - hdr) {
				r->bad_records++;
				continue;
			}
			ifc = &r->ifs[ifid];
			timestamp(ifc, hi, lo, &rec->sec, &rec->usec);
			r->last_sec = rec->sec;
			r->last_usec = rec->usec;
			break;
		case BT_SPB: /* original length, data cut to interface 0's snapshot length */
			hdr = 4;
			if (len < hdr || r->nif == 0) {
				r->bad_records++;
				continue;
			}
			ifc = &r->ifs[0];
			rec->len = get32(r, r->buf);
			caplen = rec->len;
			if (ifc->snaplen != 0 && caplen > ifc->snaplen)
				caplen = ifc->snaplen;
			if (caplen > len - hdr)
				caplen = len - hdr;
			rec->sec = r->last_sec; /* no timestamp: the time of the record before */
			rec->usec = r->last_usec;
			break;
		default:
			continue; /* name resolution, statistics, custom...: not packets */
		}
		rec->caplen = caplen;
		rec->linktype = ifc->linktype;
		rec->data = r->buf + hdr;
		return 1;
	}
}

const char *
sl_pcapng_error(const struct sl_pcapng *r)
{
	return r->err;
}

uint64_t
sl_pcapng_bad_records(const struct sl_pcapng *r)
{
	return r->bad_records;
}

uint64_t
sl_pcapng_interfaces(const struct sl_pcapng *r)
{
	return r->interfaces;
}

void
sl_pcapng_close(struct sl_pcapng *r)
{
	if (r == NULL)
		return;
	if (r->fp != NULL)
		fclose(r->fp);
	free(r->buf);
	free(r->ifs);
	free(r);
}
