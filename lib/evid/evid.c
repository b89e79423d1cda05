/* evid.c: evidence packets: the published mark table, the workers' record rings, and the
 * control core's pcap and stream files with their bounds and rotation (see sl_evid.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "sl_common.h"
#include "sl_evid.h"
#include "sl_pkt.h"

#define EV_MARKS 8          /**< flows marked per alert (the scorer keeps 8 reasons) */
#define EV_OPEN_MAX 128     /**< alerts whose files stay open (the others are reopened to write) */
#define EV_PCAP_HDR 24      /**< pcap global header */
#define EV_REC_HDR 16       /**< pcap record header */
#define EV_TCP_SYN 0x02

/* ---------------------------------------------------------------- mark table (workers) */

struct evkey {
	uint8_t host[16];
	uint8_t peer[16];
	uint16_t port;
	uint8_t proto;
	uint8_t used;
	uint32_t seq;       /* the alert (file) the mark belongs to: the latest */
};

#define EV_KEY_BYTES 35 /* host, peer, port, proto: what is hashed and compared */

struct sl_evset {
	uint32_t gen;
	uint32_t mask;
	uint32_t n;
	uint32_t pad;
	struct evkey slot[];
};

static inline uint32_t
evkey_hash(const struct evkey *k)
{
	return rte_hash_crc(k, EV_KEY_BYTES, 0xe71d);
}

static const struct evkey *
evset_find(const struct sl_evset *t, const uint8_t host[16], const uint8_t peer[16],
	uint16_t port, uint8_t proto)
{
	struct evkey k;

	memset(&k, 0, sizeof(k));
	memcpy(k.host, host, 16);
	memcpy(k.peer, peer, 16);
	k.port = port;
	k.proto = proto;
	for (uint32_t i = evkey_hash(&k) & t->mask;; i = (i + 1) & t->mask) {
		const struct evkey *s = &t->slot[i];

		if (!s->used)
			return NULL;
		if (memcmp(s, &k, EV_KEY_BYTES) == 0)
			return s;
	}
}

uint32_t
sl_evset_gen(const struct sl_evset *t)
{
	return t != NULL ? t->gen : 0;
}

/* The mark of a flow: the initiator as the host (to the peer's port), or the responder
 * (home_nets: an inside host that answers). */
static const struct evkey *
evset_flow(const struct sl_evset *t, const uint8_t src[16], const uint8_t dst[16],
	uint16_t sport, uint16_t dport, uint8_t proto)
{
	const struct evkey *k;

	if (t == NULL || t->n == 0)
		return NULL;
	k = evset_find(t, src, dst, dport, proto);
	return k != NULL ? k : evset_find(t, dst, src, sport, proto);
}

bool
sl_evset_match(const struct sl_evset *t, const uint8_t src[16], const uint8_t dst[16],
	uint16_t sport, uint16_t dport, uint8_t proto)
{
	return evset_flow(t, src, dst, sport, dport, proto) != NULL;
}

/* ---------------------------------------------------------------- record rings */

struct sl_evring {
	uint32_t mask;
	uint32_t rec_size;
	uint32_t cap;
	uint32_t snaplen;
	uint8_t *slots;
	uint64_t head __rte_cache_aligned; /* producer */
	uint64_t dropped;                  /* producer */
	uint64_t tail __rte_cache_aligned; /* consumer */
};

struct sl_evring *
sl_evring_create(uint32_t records, uint32_t cap, uint32_t snaplen, int socket)
{
	struct sl_evring *r;

	if (records == 0 || (records & (records - 1)) != 0 || cap == 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	r = rte_zmalloc_socket("sl_evring", sizeof(*r), RTE_CACHE_LINE_SIZE, socket);
	if (r == NULL)
		return NULL;
	r->mask = records - 1;
	r->cap = cap;
	r->snaplen = SL_MIN(snaplen, cap);
	r->rec_size = (uint32_t)RTE_ALIGN_CEIL(sizeof(struct sl_evrec) + cap, 64);
	r->slots = rte_malloc_socket("sl_evring_slots", (size_t)records * r->rec_size,
		RTE_CACHE_LINE_SIZE, socket);
	if (r->slots == NULL) {
		rte_free(r);
		rte_errno = ENOMEM;
		return NULL;
	}
	return r;
}

void
sl_evring_free(struct sl_evring *r)
{
	if (r == NULL)
		return;
	rte_free(r->slots);
	rte_free(r);
}

struct sl_evrec *
sl_evring_reserve(struct sl_evring *r)
{
	/* ACQUIRE: the consumer is done with the slot before it is written again */
	if (r->head - SL_LOAD_ACQUIRE(&r->tail) > r->mask) {
		SL_STORE_RELAXED(&r->dropped, r->dropped + 1);
		return NULL;
	}
	return (struct sl_evrec *)(r->slots + (size_t)(r->head & r->mask) * r->rec_size);
}

void
sl_evring_commit(struct sl_evring *r)
{
	SL_STORE_RELEASE(&r->head, r->head + 1); /* RELEASE: the record is complete */
}

uint32_t sl_evring_cap(const struct sl_evring *r) { return r->cap; }
uint32_t sl_evring_snaplen(const struct sl_evring *r) { return r->snaplen; }
uint64_t sl_evring_dropped(const struct sl_evring *r) { return SL_LOAD_RELAXED(&r->dropped); }

const struct sl_evrec *
sl_evring_peek(struct sl_evring *r)
{
	if (r->tail == SL_LOAD_ACQUIRE(&r->head)) /* ACQUIRE: the producer's record is complete */
		return NULL;
	return (const struct sl_evrec *)(r->slots + (size_t)(r->tail & r->mask) * r->rec_size);
}

void
sl_evring_pop(struct sl_evring *r)
{
	SL_STORE_RELEASE(&r->tail, r->tail + 1); /* RELEASE: done reading the slot */
}

/* ---------------------------------------------------------------- files */

struct evflow {
	uint8_t a[16], b[16]; /* the packet's source and destination when first seen */
	uint16_t pa, pb;
	uint8_t proto;
	uint32_t pkts;
};

struct evfile {
	uint32_t seq;         /* alert number, 1-based; 0 = never used */
	bool live;            /* files exist */
	bool hdr_final;       /* the pcap's link type is settled (a packet was written) */
	uint8_t host[16];
	uint64_t ts_us;
	uint64_t bytes;       /* both files */
	uint64_t use;         /* last use, for closing the least recently used */
	int linktype;
	FILE *pcap, *stream;
	uint32_t nflows;
	struct evflow *flows; /* file_flows */
	uint32_t nmarks;
	struct sl_evid_flow marks[EV_MARKS];
	uint32_t prev[EV_MARKS]; /* the earlier live alert with the same mark (0 none) */
	char base[SL_CFG_PATH_MAX + 160];
};

struct sl_evid {
	struct sl_evid_params p;
	struct evfile *files;      /* max_files, indexed by (seq - 1) % max_files */
	uint32_t seq;              /* last alert number */
	uint32_t oldest;           /* lowest seq that may still be live */
	uint32_t nopen;
	uint64_t use;
	uint64_t total;            /* bytes of the live files */
	uint32_t nlive;
	struct sl_evset *ctab;     /* the control core's own current table */
	struct sl_evset *cur;      /* published (workers read it) */
	struct sl_evset *old;      /* retired, freed once every worker moved on */
	uint64_t token;
	bool dirty;                /* marks changed since the last publication */
	uint32_t gen;
	struct rte_rcu_qsbr *qs;
	struct sl_evring *ring[64];
	int socket;
	struct sl_evid_stats st;
	char err[1024];
};

static void
fail(struct sl_evid *e, const char *what, const char *path, int err)
{
	e->st.evidence_errors++;
	if (e->err[0] == '\0')
		snprintf(e->err, sizeof(e->err), "evidence %s '%.480s': %s", what, path, strerror(err));
}

static struct evfile *
file_of(struct sl_evid *e, uint32_t seq)
{
	struct evfile *f;

	if (seq == 0)
		return NULL;
	f = &e->files[(seq - 1) % e->p.max_files];
	return f->seq == seq && f->live ? f : NULL;
}

static void
file_close(struct sl_evid *e, struct evfile *f)
{
	if (f->pcap != NULL) {
		if (fclose(f->pcap) != 0)
			fail(e, "write", f->base, errno);
		e->nopen--;
	}
	if (f->stream != NULL && fclose(f->stream) != 0)
		fail(e, "write", f->base, errno);
	f->pcap = f->stream = NULL;
}

/* Files open at most EV_OPEN_MAX: close the least recently used other than @p keep. */
static void
limit_open(struct sl_evid *e, const struct evfile *keep)
{
	while (e->nopen >= EV_OPEN_MAX) {
		struct evfile *lru = NULL;

		for (uint32_t i = 0; i < e->p.max_files; i++) {
			struct evfile *f = &e->files[i];

			if (f->pcap != NULL && f != keep && (lru == NULL || f->use < lru->use))
				lru = f;
		}
		if (lru == NULL)
			return;
		file_close(e, lru);
	}
}

static FILE *
open_part(struct sl_evid *e, struct evfile *f, const char *ext, const char *mode)
{
	char path[sizeof(f->base) + 8];
	FILE *fp;

	snprintf(path, sizeof(path), "%s%s", f->base, ext);
	fp = fopen(path, mode);
	if (fp == NULL)
		fail(e, "file", path, errno);
	return fp;
}

/* Make sure @p f's files are open (reopened after the LRU closed them). */
static int
file_open(struct sl_evid *e, struct evfile *f)
{
	f->use = ++e->use;
	if (f->pcap != NULL)
		return 0;
	limit_open(e, f);
	f->pcap = open_part(e, f, ".pcap", "r+b");
	if (f->pcap == NULL)
		return -EIO;
	f->stream = open_part(e, f, ".stream", "ab");
	if (f->stream == NULL) {
		fclose(f->pcap);
		f->pcap = NULL;
		return -EIO;
	}
	if (fseek(f->pcap, 0, SEEK_END) != 0) {
		fail(e, "file", f->base, errno);
		file_close(e, f);
		return -EIO;
	}
	e->nopen++;
	return 0;
}

static void mark_dirty(struct sl_evid *e);
static uint32_t first_seq(struct sl_evid *e);

/* Remove @p f's files (rotation). */
static void
file_remove(struct sl_evid *e, struct evfile *f)
{
	char path[sizeof(f->base) + 8];

	file_close(e, f);
	snprintf(path, sizeof(path), "%s.pcap", f->base);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s.stream", f->base);
	(void)unlink(path);
	f->live = false;
	e->total -= f->bytes;
	e->nlive--;
	e->st.evidence_rotated++;
	if (f->nmarks > 0)
		mark_dirty(e);
}

/* Room for @p need more bytes in total: remove the oldest live files but @p keep. */
static bool
make_room(struct sl_evid *e, uint64_t need, const struct evfile *keep)
{
	while (e->total + need > e->p.max_bytes) {
		struct evfile *f = NULL;

		f = file_of(e, first_seq(e));
		if (f == NULL || f == keep)
			return false;
		file_remove(e, f);
	}
	return true;
}

static int
write_all(struct sl_evid *e, struct evfile *f, FILE *fp, const void *a, size_t alen,
	const void *b, size_t blen)
{
	if (fwrite(a, 1, alen, fp) != alen || (blen > 0 && fwrite(b, 1, blen, fp) != blen)) {
		fail(e, "write", f->base, errno);
		return -EIO;
	}
	f->bytes += alen + blen;
	e->total += alen + blen;
	e->st.evidence_bytes += alen + blen;
	return 0;
}

static void
pcap_header(uint8_t h[EV_PCAP_HDR], uint32_t snaplen, uint32_t linktype)
{
	uint32_t magic = 0xa1b2c3d4, zero = 0;
	uint16_t major = 2, minor = 4;

	memcpy(h, &magic, 4); /* host order: readers take either */
	memcpy(h + 4, &major, 2);
	memcpy(h + 6, &minor, 2);
	memcpy(h + 8, &zero, 4);
	memcpy(h + 12, &zero, 4);
	memcpy(h + 16, &snaplen, 4);
	memcpy(h + 20, &linktype, 4);
}

/* ---------------------------------------------------------------- publication */

/* The lowest alert number that may still have files (the table holds max_files). */
static uint32_t
first_seq(struct sl_evid *e)
{
	if (e->seq >= e->p.max_files && e->oldest < e->seq - e->p.max_files + 1)
		e->oldest = e->seq - e->p.max_files + 1;
	while (e->oldest <= e->seq && file_of(e, e->oldest) == NULL)
		e->oldest++;
	return e->oldest;
}

static struct sl_evset *
build(struct sl_evid *e)
{
	uint32_t n = 0, slots = 16;
	struct sl_evset *t;

	for (uint32_t s = first_seq(e); s <= e->seq; s++) {
		const struct evfile *f = file_of(e, s);

		n += f != NULL ? f->nmarks : 0;
	}
	while (slots < 2 * n)
		slots <<= 1;
	t = rte_zmalloc_socket("sl_evset", sizeof(*t) + slots * sizeof(struct evkey),
		RTE_CACHE_LINE_SIZE, e->socket);
	if (t == NULL)
		return NULL;
	t->mask = slots - 1;
	/* oldest first: a later alert's mark of the same flow takes the slot */
	for (uint32_t s = first_seq(e); s <= e->seq; s++) {
		struct evfile *f = file_of(e, s);

		for (uint32_t m = 0; f != NULL && m < f->nmarks; m++) {
			struct evkey k;
			uint32_t i;

			memset(&k, 0, sizeof(k));
			memcpy(k.host, f->host, 16);
			memcpy(k.peer, f->marks[m].peer, 16);
			k.port = f->marks[m].port;
			k.proto = f->marks[m].proto;
			k.used = 1;
			k.seq = s;
			f->prev[m] = 0;
			for (i = evkey_hash(&k) & t->mask; t->slot[i].used; i = (i + 1) & t->mask)
				if (memcmp(&t->slot[i], &k, EV_KEY_BYTES) == 0)
					break;
			if (t->slot[i].used)
				f->prev[m] = t->slot[i].seq;
			else
				t->n++;
			t->slot[i] = k;
		}
	}
	return t;
}

/* Rebuild the control core's table now; the workers' follows when they have moved on. */
static void
mark_dirty(struct sl_evid *e)
{
	struct sl_evset *t = build(e);

	if (t == NULL) { /* out of memory: keep the old table, try again with the next change */
		e->st.evidence_publish_deferred++;
		return;
	}
	rte_free(e->ctab);
	e->ctab = t;
	if (e->qs != NULL) {
		e->dirty = true;
		sl_evid_tick(e);
	}
}

void
sl_evid_tick(struct sl_evid *e)
{
	struct sl_evset *t;

	if (!e->dirty || e->qs == NULL)
		return;
	if (e->old != NULL) {
		if (rte_rcu_qsbr_check(e->qs, e->token, false) != 1) {
			e->st.evidence_publish_deferred++;
			return;
		}
		rte_free(e->old);
		e->old = NULL;
	}
	t = build(e);
	if (t == NULL) {
		e->st.evidence_publish_deferred++;
		return;
	}
	/* workers keep the low byte of the generation a flow was checked against, and a new flow
	 * holds 0: skip generations whose low byte is 0, so a new flow is always checked */
	t->gen = ++e->gen;
	if ((uint8_t)t->gen == 0)
		t->gen = ++e->gen;
	e->old = e->cur;
	SL_STORE_RELEASE(&e->cur, t); /* RELEASE: the table is complete before workers see it */
	e->token = rte_rcu_qsbr_start(e->qs);
	e->dirty = false;
	e->st.evidence_publications++;
}

void
sl_evid_worker_online(struct sl_evid *e, unsigned int worker)
{
	rte_rcu_qsbr_thread_online(e->qs, worker);
}

void
sl_evid_worker_offline(struct sl_evid *e, unsigned int worker)
{
	rte_rcu_qsbr_thread_offline(e->qs, worker);
}

const struct sl_evset *
sl_evid_acquire(const struct sl_evid *e)
{
	return SL_LOAD_ACQUIRE(&e->cur);
}

void
sl_evid_quiescent(struct sl_evid *e, unsigned int worker)
{
	rte_rcu_qsbr_quiescent(e->qs, worker);
}

struct sl_evring *
sl_evid_ring(struct sl_evid *e, unsigned int w)
{
	return w < SL_ARRAY_SIZE(e->ring) ? e->ring[w] : NULL;
}

/* ---------------------------------------------------------------- config, life */

int
sl_evid_params_from_cfg(const struct sl_cfg *c, struct sl_evid_params *p, char *err,
	size_t errlen)
{
	memset(p, 0, sizeof(*p));
	if (c->evidence_dir[0] == '\0')
		return 0;
	snprintf(p->dir, sizeof(p->dir), "%s", c->evidence_dir);
	p->snaplen = (uint32_t)c->evidence_snaplen;
	p->ring = (uint32_t)c->evidence_ring;
	p->stream_bytes = (uint32_t)c->payload_bytes;
	p->flow_packets = (uint32_t)c->evidence_flow_packets;
	p->file_flows = (uint32_t)c->evidence_file_flows;
	p->host_bytes = c->evidence_host_kb << 10;
	p->max_bytes = c->evidence_max_kb << 10;
	p->max_files = (uint32_t)c->evidence_max_files;
	p->drain_budget = 256;
	if ((p->ring & (p->ring - 1)) != 0) {
		snprintf(err, errlen, "evidence_ring: %u is not a power of two", p->ring);
		return -EINVAL;
	}
	if (p->host_bytes > p->max_bytes) {
		snprintf(err, errlen, "evidence_host_kb (%" PRIu64 ") is larger than evidence_max_kb "
			"(%" PRIu64 ")", c->evidence_host_kb, c->evidence_max_kb);
		return -EINVAL;
	}
	return 1;
}

struct sl_evid *
sl_evid_create(const struct sl_evid_params *p, int socket, int *rc, char *err, size_t errlen)
{
	struct sl_evid *e;
	struct stat sb;
	char probe[SL_CFG_PATH_MAX + 32];
	int fd;

	*rc = -EINVAL;
	if (p->dir[0] == '\0' || p->max_files == 0 || p->file_flows == 0 || p->snaplen == 0 ||
	    p->nworkers > SL_ARRAY_SIZE(e->ring)) {
		snprintf(err, errlen, "evidence: bad parameters");
		return NULL;
	}
	if (stat(p->dir, &sb) != 0 && (errno != ENOENT || mkdir(p->dir, 0750) != 0 ||
					      stat(p->dir, &sb) != 0)) {
		*rc = -errno;
		snprintf(err, errlen, "evidence_dir '%s': %s", p->dir, strerror(errno));
		return NULL;
	}
	if (!S_ISDIR(sb.st_mode)) {
		*rc = -ENOTDIR;
		snprintf(err, errlen, "evidence_dir '%s': not a directory", p->dir);
		return NULL;
	}
	/* a file made and removed: access() would not see a read-only mount or a full disk's
	 * inode table the same way */
	snprintf(probe, sizeof(probe), "%s/.sluice-probe-%d", p->dir, (int)getpid());
	fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0640);
	if (fd < 0) {
		*rc = -errno;
		snprintf(err, errlen, "evidence_dir '%s': cannot create files: %s", p->dir,
			strerror(errno));
		return NULL;
	}
	close(fd);
	unlink(probe);
	*rc = -ENOMEM;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		goto nomem;
	e->p = *p;
	e->socket = socket;
	e->oldest = 1;
	e->files = calloc(p->max_files, sizeof(*e->files));
	if (e->files == NULL)
		goto nomem;
	for (uint32_t i = 0; i < p->max_files; i++) {
		e->files[i].flows = calloc(p->file_flows, sizeof(struct evflow));
		if (e->files[i].flows == NULL)
			goto nomem;
	}
	e->ctab = build(e);
	if (e->ctab == NULL)
		goto nomem;
	if (p->nworkers > 0) {
		size_t qsz = rte_rcu_qsbr_get_memsize(p->nworkers);

		e->qs = rte_zmalloc_socket("sl_evid_qs", qsz, RTE_CACHE_LINE_SIZE, socket);
		if (e->qs == NULL || rte_rcu_qsbr_init(e->qs, p->nworkers) != 0)
			goto nomem;
		for (uint32_t w = 0; w < p->nworkers; w++) {
			rte_rcu_qsbr_thread_register(e->qs, w);
			e->ring[w] = sl_evring_create(p->ring, SL_MAX(p->snaplen, p->stream_bytes),
				p->snaplen, socket);
			if (e->ring[w] == NULL)
				goto nomem;
		}
		e->dirty = true;
		sl_evid_tick(e); /* an empty table, so workers always have one */
		if (e->cur == NULL)
			goto nomem;
	}
	*rc = 0;
	return e;
nomem:
	snprintf(err, errlen, "evidence: out of memory");
	sl_evid_free(e);
	return NULL;
}

void
sl_evid_free(struct sl_evid *e)
{
	if (e == NULL)
		return;
	for (uint32_t i = 0; e->files != NULL && i < e->p.max_files; i++) {
		file_close(e, &e->files[i]);
		free(e->files[i].flows);
	}
	free(e->files);
	for (unsigned int w = 0; w < SL_ARRAY_SIZE(e->ring); w++)
		sl_evring_free(e->ring[w]);
	rte_free(e->ctab);
	rte_free(e->cur);
	rte_free(e->old);
	rte_free(e->qs);
	free(e);
}

/* ---------------------------------------------------------------- alerts */

int
sl_evid_alert(struct sl_evid *e, const uint8_t host[16], uint64_t ts_us,
	const struct sl_evid_flow *fl, unsigned int n, char *pcap, char *stream, size_t len)
{
	uint32_t seq = ++e->seq;
	struct evfile *f = &e->files[(seq - 1) % e->p.max_files];
	char ip[64], when[32];
	uint8_t hdr[EV_PCAP_HDR];
	time_t secs = (time_t)(ts_us / 1000000);
	struct tm tm;

	if (f->live) /* evidence_max_files: the oldest goes */
		file_remove(e, f);
	f->seq = seq;
	f->live = false;
	f->hdr_final = false;
	memcpy(f->host, host, 16);
	f->ts_us = ts_us;
	f->bytes = 0;
	f->linktype = SL_DLT_EN10MB;
	f->nflows = 0;
	f->nmarks = 0;
	sl_addr_format(host, ip, sizeof(ip));
	for (char *c = ip; *c; c++)
		if (*c == ':')
			*c = '-';
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(f->base, sizeof(f->base), "%s/sluice-%s-%s-%u", e->p.dir, ip, when, seq);
	snprintf(pcap, len, "%s.pcap", f->base);
	snprintf(stream, len, "%s.stream", f->base);
	if (!make_room(e, EV_PCAP_HDR, NULL)) {
		e->st.evidence_over_host++;
		return -ENOSPC;
	}
	limit_open(e, NULL);
	f->pcap = open_part(e, f, ".pcap", "w+b");
	if (f->pcap == NULL) {
		snprintf(pcap, len, "%s", e->err);
		return -EIO;
	}
	f->stream = open_part(e, f, ".stream", "wb");
	if (f->stream == NULL) {
		fclose(f->pcap);
		f->pcap = NULL;
		snprintf(pcap, len, "%s", e->err);
		return -EIO;
	}
	e->nopen++;
	f->live = true;
	e->nlive++;
	f->use = ++e->use;
	pcap_header(hdr, e->p.snaplen, SL_DLT_EN10MB);
	if (write_all(e, f, f->pcap, hdr, sizeof(hdr), NULL, 0) < 0) {
		snprintf(pcap, len, "%s", e->err);
		return -EIO;
	}
	for (unsigned int i = 0; i < n; i++) {
		bool dup = false;

		for (unsigned int k = 0; k < f->nmarks && !dup; k++)
			dup = memcmp(&f->marks[k], &fl[i], sizeof(fl[i])) == 0;
		if (dup || f->nmarks == EV_MARKS)
			continue;
		f->marks[f->nmarks++] = fl[i];
		e->st.evidence_marks++;
	}
	e->st.evidence_files++;
	if (f->nmarks > 0)
		mark_dirty(e);
	return 0;
}

/* The file a record of flow (src, dst, ports, proto) at @p ts_us goes to: the latest alert
 * that marked it, or with @p timed the latest whose alert is not after @p ts_us. */
static struct evfile *
resolve(struct sl_evid *e, const uint8_t src[16], const uint8_t dst[16], uint16_t sport,
	uint16_t dport, uint8_t proto, uint64_t ts_us, bool timed)
{
	const struct evkey *k = evset_flow(e->ctab, src, dst, sport, dport, proto);
	uint32_t seq;

	if (k == NULL)
		return NULL;
	seq = k->seq;
	while (seq != 0) {
		struct evfile *f = file_of(e, seq);
		uint32_t prev = 0;

		if (f == NULL)
			return NULL;
		if (!timed || f->ts_us <= ts_us)
			return f;
		for (uint32_t m = 0; m < f->nmarks; m++)
			if (memcmp(f->marks[m].peer, k->peer, 16) == 0 && f->marks[m].port == k->port &&
			    f->marks[m].proto == k->proto)
				prev = f->prev[m];
		seq = prev;
	}
	return NULL;
}

static struct evflow *
flow_in(struct sl_evid *e, struct evfile *f, const uint8_t src[16], const uint8_t dst[16],
	uint16_t sport, uint16_t dport, uint8_t proto)
{
	struct evflow *x;

	for (uint32_t i = 0; i < f->nflows; i++) {
		x = &f->flows[i];
		if (x->proto == proto &&
		    ((x->pa == sport && x->pb == dport && !memcmp(x->a, src, 16) &&
			     !memcmp(x->b, dst, 16)) ||
			    (x->pa == dport && x->pb == sport && !memcmp(x->a, dst, 16) &&
				    !memcmp(x->b, src, 16))))
			return x;
	}
	if (f->nflows == e->p.file_flows)
		return NULL;
	x = &f->flows[f->nflows++];
	memcpy(x->a, src, 16);
	memcpy(x->b, dst, 16);
	x->pa = sport;
	x->pb = dport;
	x->proto = proto;
	x->pkts = 0;
	return x;
}

/* One packet into its alert's pcap, within the bounds. */
static void
put_pkt(struct sl_evid *e, struct evfile *f, const struct sl_evrec *r, const uint8_t *data)
{
	struct evflow *x = flow_in(e, f, r->src, r->dst, r->sport, r->dport, r->proto);
	uint32_t hdr[4];

	if (x == NULL) {
		e->st.evidence_over_flows++;
		return;
	}
	if (x->pkts >= e->p.flow_packets) {
		e->st.evidence_over_flow++;
		return;
	}
	if (f->hdr_final && r->linktype != f->linktype) {
		e->st.evidence_linktype_mismatch++;
		return;
	}
	if (f->bytes + EV_REC_HDR + r->len > e->p.host_bytes) {
		e->st.evidence_over_host++;
		return;
	}
	if (file_open(e, f) < 0 || !make_room(e, EV_REC_HDR + r->len, f))
		return;
	if (!f->hdr_final) {
		f->hdr_final = true;
		if (r->linktype != f->linktype) { /* the file's link type is its first packet's */
			uint8_t h[EV_PCAP_HDR];
			long pos = ftell(f->pcap);

			f->linktype = r->linktype;
			pcap_header(h, e->p.snaplen, (uint32_t)f->linktype);
			if (pos < 0 || fseek(f->pcap, 0, SEEK_SET) != 0 ||
			    fwrite(h, 1, sizeof(h), f->pcap) != sizeof(h) ||
			    fseek(f->pcap, pos, SEEK_SET) != 0) {
				fail(e, "write", f->base, errno);
				return;
			}
		}
	}
	hdr[0] = (uint32_t)(r->ts_us / 1000000);
	hdr[1] = (uint32_t)(r->ts_us % 1000000);
	hdr[2] = r->len;
	hdr[3] = r->wire_len;
	if (write_all(e, f, f->pcap, hdr, sizeof(hdr), data, r->len) == 0) {
		x->pkts++;
		e->st.evidence_pkts++;
	}
}

static const char *
proto_str(uint8_t p)
{
	return p == 6 ? "tcp" : p == 17 ? "udp" : p == 1 ? "icmp" : p == 58 ? "ipv6-icmp" : "ip";
}

/* A flow direction's first payload bytes into its alert's stream file. */
static void
put_stream(struct sl_evid *e, struct evfile *f, const struct sl_evrec *r, const uint8_t *data)
{
	char a[64], b[64], line[320];
	int n;

	sl_addr_format(r->src, a, sizeof(a));
	sl_addr_format(r->dst, b, sizeof(b));
	n = snprintf(line, sizeof(line),
		"# sluice stream %s %s:%u -> %s:%u %s: %u bytes (first payload bytes, "
		"reassembled)\n", r->dir == 0 ? "to_server" : "to_client", r->dir == 0 ? a : b,
		r->dir == 0 ? r->sport : r->dport, r->dir == 0 ? b : a,
		r->dir == 0 ? r->dport : r->sport, proto_str(r->proto), r->len);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	if (f->bytes + (uint64_t)n + r->len + 1 > e->p.host_bytes) {
		e->st.evidence_over_host++;
		return;
	}
	if (file_open(e, f) < 0 || !make_room(e, (uint64_t)n + r->len + 1, f))
		return;
	if (write_all(e, f, f->stream, line, (size_t)n, data, r->len) == 0 &&
	    write_all(e, f, f->stream, "\n", 1, NULL, 0) == 0)
		e->st.evidence_streams++;
}

unsigned int
sl_evid_drain(struct sl_evid *e, uint32_t budget)
{
	unsigned int taken = 0;

	for (uint32_t w = 0; w < e->p.nworkers; w++) {
		struct sl_evring *r = e->ring[w];
		const struct sl_evrec *rec;

		uint32_t i;

		for (i = 0; i < budget && (rec = sl_evring_peek(r)) != NULL; i++) {
			struct evfile *f = resolve(e, rec->src, rec->dst, rec->sport, rec->dport,
				rec->proto, rec->ts_us, false);

			if (f == NULL)
				e->st.evidence_orphans++;
			else if (rec->kind == SL_EVREC_PKT)
				put_pkt(e, f, rec, rec->data);
			else
				put_stream(e, f, rec, rec->data);
			sl_evring_pop(r);
			taken++;
		}
		if (i == budget)
			e->st.evidence_drain_budget++;
	}
	if (taken > 0)
		sl_evid_flush(e);
	return taken;
}

void
sl_evid_flush(struct sl_evid *e)
{
	for (uint32_t i = 0; i < e->p.max_files; i++) {
		struct evfile *f = &e->files[i];

		if (f->pcap != NULL && (fflush(f->pcap) != 0 || fflush(f->stream) != 0))
			fail(e, "write", f->base, errno);
	}
}

/* ---------------------------------------------------------------- offline */

/* A marked flow's first payload bytes, reassembled as the workers do (TCP in sequence order,
 * stopping at a hole; UDP datagrams in order). */
struct evstream {
	uint8_t src[16], dst[16]; /* initiator, responder */
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t seq_ok[2];
	uint8_t gap[2];
	uint32_t seq;             /* the alert whose file it goes to (0: none after an alert) */
	uint64_t last_us;
	uint32_t next[2];
	uint32_t len[2];
	uint32_t seen[2];
	uint8_t *buf;             /* 2 * stream_bytes */
};

struct evstreams {
	struct evstream *s;
	uint32_t n, cap;
};

static struct evstream *
stream_of(struct sl_evid *e, struct evstreams *ss, const struct sl_pkt *pk, int *dir)
{
	struct evstream *x;

	for (uint32_t i = ss->n; i-- > 0;) { /* recent flows first */
		x = &ss->s[i];
		if (x->proto != pk->proto)
			continue;
		if (x->sport == pk->sport && x->dport == pk->dport && !memcmp(x->src, pk->src, 16) &&
		    !memcmp(x->dst, pk->dst, 16)) {
			*dir = 0;
			return x;
		}
		if (x->sport == pk->dport && x->dport == pk->sport && !memcmp(x->src, pk->dst, 16) &&
		    !memcmp(x->dst, pk->src, 16)) {
			*dir = 1;
			return x;
		}
	}
	if (ss->n == ss->cap) {
		uint32_t cap = ss->cap ? 2 * ss->cap : 64;
		struct evstream *s;

		if (cap > e->p.max_files * e->p.file_flows)
			return NULL;
		s = realloc(ss->s, cap * sizeof(*s));
		if (s == NULL)
			return NULL;
		ss->s = s;
		ss->cap = cap;
	}
	x = &ss->s[ss->n];
	memset(x, 0, sizeof(*x));
	x->buf = malloc(2 * (size_t)SL_MAX(e->p.stream_bytes, 1u));
	if (x->buf == NULL)
		return NULL;
	ss->n++;
	/* the initiator: the SYN's sender, the SYN-ACK's receiver, else the packet's sender */
	*dir = pk->proto == 6 && (pk->tcp_flags & 0x12) == 0x12;
	memcpy(x->src, *dir ? pk->dst : pk->src, 16);
	memcpy(x->dst, *dir ? pk->src : pk->dst, 16);
	x->sport = *dir ? pk->dport : pk->sport;
	x->dport = *dir ? pk->sport : pk->dport;
	x->proto = pk->proto;
	return x;
}

static void
stream_add(struct sl_evid *e, struct evstream *x, int d, const struct sl_pkt *pk,
	const uint8_t *frame)
{
	uint32_t room = e->p.stream_bytes - x->len[d], take;
	uint8_t *to = x->buf + (size_t)d * e->p.stream_bytes + x->len[d];

	x->seen[d] += pk->payload_len;
	if (pk->proto == 6) {
		if (!x->seq_ok[d]) {
			x->seq_ok[d] = 1;
			x->next[d] = pk->tcp_seq + ((pk->tcp_flags & EV_TCP_SYN) ? 1 : 0);
		}
		if (x->gap[d] || pk->payload_len == 0 || pk->tcp_seq != x->next[d]) {
			/* a retransmission (before next) is skipped; a hole stops the capture */
			if (pk->payload_len > 0 && (int32_t)(pk->tcp_seq - x->next[d]) > 0)
				x->gap[d] = 1;
			return;
		}
		x->next[d] += pk->payload_len;
		if (pk->payload_cap < pk->payload_len)
			x->gap[d] = 1; /* snapped: what follows is missing */
	}
	take = SL_MIN(room, pk->payload_cap);
	memcpy(to, frame + pk->payload_off, take);
	x->len[d] += take;
}

int
sl_evid_offline(struct sl_evid *e, const char *const *files, const int *linktype,
	unsigned int nfiles, char *err, size_t errlen)
{
	struct evstreams ss = {0};
	char perr[PCAP_ERRBUF_SIZE];
	int rc = 0;

	if (e->nlive == 0)
		return 0;
	for (unsigned int i = 0; i < nfiles && rc == 0; i++) {
		pcap_t *pc = pcap_open_offline_with_tstamp_precision(files[i],
			PCAP_TSTAMP_PRECISION_MICRO, perr);
		struct pcap_pkthdr *h;
		const u_char *d;
		int r;

		if (pc == NULL) {
			snprintf(err, errlen, "%s: %s", files[i], perr);
			rc = -EIO;
			break;
		}
		while ((r = pcap_next_ex(pc, &h, &d)) == 1) {
			struct sl_pkt pk;
			struct sl_evrec rec;
			struct evfile *f;
			struct evstream *x;
			uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
			int dir;

			if (h->ts.tv_sec < 0 || sl_pkt_parse(linktype[i], d, h->caplen, h->caplen,
							h->len, &pk) != SL_PKT_handled)
				continue;
			if (evset_flow(e->ctab, pk.src, pk.dst, pk.sport, pk.dport, pk.proto) == NULL)
				continue; /* not a marked flow */
			f = resolve(e, pk.src, pk.dst, pk.sport, pk.dport, pk.proto, ts, true);
			x = stream_of(e, &ss, &pk, &dir);
			if (x != NULL) {
				stream_add(e, x, dir, &pk, d);
				x->last_us = ts;
				if (f != NULL && x->seq == 0)
					x->seq = f->seq;
			}
			if (f == NULL)
				continue; /* before its alert */
			memset(&rec, 0, sizeof(rec));
			rec.ts_us = ts;
			rec.wire_len = h->len;
			rec.len = SL_MIN(h->caplen, e->p.snaplen);
			rec.linktype = (uint16_t)linktype[i];
			rec.kind = SL_EVREC_PKT;
			memcpy(rec.src, pk.src, 16);
			memcpy(rec.dst, pk.dst, 16);
			rec.sport = pk.sport;
			rec.dport = pk.dport;
			rec.proto = pk.proto;
			put_pkt(e, f, &rec, d);
		}
		if (r == PCAP_ERROR) {
			snprintf(err, errlen, "%s: %s", files[i], pcap_geterr(pc));
			rc = -EIO;
		}
		pcap_close(pc);
	}
	for (uint32_t i = 0; i < ss.n; i++) { /* streams of flows seen after their alert */
		struct evstream *x = &ss.s[i];
		struct evfile *f = file_of(e, x->seq);

		for (int d = 0; d < 2 && f != NULL; d++) {
			struct sl_evrec rec;

			if (x->seen[d] == 0)
				continue;
			memset(&rec, 0, sizeof(rec));
			rec.ts_us = x->last_us;
			rec.kind = SL_EVREC_STREAM;
			rec.dir = (uint8_t)d;
			rec.len = x->len[d];
			rec.wire_len = x->seen[d];
			memcpy(rec.src, x->src, 16);
			memcpy(rec.dst, x->dst, 16);
			rec.sport = x->sport;
			rec.dport = x->dport;
			rec.proto = x->proto;
			put_stream(e, f, &rec, x->buf + (size_t)d * e->p.stream_bytes);
		}
		free(x->buf);
	}
	free(ss.s);
	sl_evid_flush(e);
	return rc;
}

void
sl_evid_get_stats(const struct sl_evid *e, struct sl_evid_stats *out)
{
	*out = e->st;
	for (uint32_t w = 0; w < e->p.nworkers; w++)
		out->evidence_ring_full += sl_evring_dropped(e->ring[w]);
}

const char *
sl_evid_last_error(const struct sl_evid *e)
{
	return e->err;
}
