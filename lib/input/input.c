/* input.c: the offline capture reader (see sl_input.h): the file list, classic pcap through
 * libpcap, pcapng through pcapng.c, lengths and times checked, mbufs built and queued. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/stat.h>
#include <time.h>

#include <rte_mbuf.h>
#include <rte_pause.h>

#include "pcapng.h"
#include "sl_common.h"
#include "sl_input.h"
#include "sl_pkt.h"
#include "sl_port.h"

#define SL_INPUT_ERRLEN 320      /* a reason a file cannot be opened */
#define SL_INPUT_SPINS 256       /* pauses before the reader yields its CPU while waiting */
#define SL_INPUT_SLEEP_NS 20000  /* then sleeps this long per wait */

struct pending {
	struct rte_mbuf *m[SL_BURST];
	unsigned int n;
};

struct sl_input {
	struct pending *pend;           /* during run: per-queue batches not yet enqueued */
	struct rte_ring *const *rings;
	unsigned int nq;
	int (*poll)(void *arg);
	void *arg;
	int aborted;
	unsigned int nfiles, cap;       /* files[] and linktype[] hold cap entries */
	char **files;
	int *linktype;                  /* pcapng: the first interface's */
	unsigned int nerr;
	char errors[SL_INPUT_MAX_ERRORS][512];
	struct sl_input_stats st;
	uint64_t file_bytes;            /* sum of the files' sizes at open */
};

SL_DEFINE_COUNTER_NAMES(SL_INPUT_COUNTERS, sl_input_num_counters, sl_input_counter_name)

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_capture_name(const char *n)
{
	const char *dot = strrchr(n, '.');

	return n[0] != '.' && dot != NULL &&
	       (strcmp(dot, ".pcap") == 0 || strcmp(dot, ".pcapng") == 0 ||
		strcmp(dot, ".cap") == 0);
}

static int
add_file(struct sl_input *in, const char *path)
{
	struct stat sb;

	if (in->nfiles == in->cap) {
		unsigned int ncap = in->cap ? 2 * in->cap : 16;
		char **nf = realloc(in->files, ncap * sizeof(*nf));
		int *nl;

		if (nf == NULL)
			return -ENOMEM;
		in->files = nf;
		nl = realloc(in->linktype, ncap * sizeof(*nl));
		if (nl == NULL)
			return -ENOMEM;
		in->linktype = nl;
		in->cap = ncap;
	}
	in->files[in->nfiles] = strdup(path);
	if (in->files[in->nfiles] == NULL)
		return -ENOMEM;
	in->linktype[in->nfiles] = -1;
	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
		in->file_bytes += (uint64_t)sb.st_size;
	else
		in->file_bytes = UINT64_MAX / 2; /* a FIFO or device: no bound */
	in->nfiles++;
	return 0;
}

/* Every capture in a directory, in name order (strcmp), however many there are. */
static int
add_dir(struct sl_input *in, const char *path, char *err, size_t errlen)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(path);
	int rc = 0;

	if (d == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!is_capture_name(de->d_name))
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			char **nn = realloc(names, ncap * sizeof(*nn));

			if (nn == NULL) {
				rc = -ENOMEM;
				break;
			}
			names = nn;
			cap = ncap;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			rc = -ENOMEM;
		else
			n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char *full = NULL;

		if (rc == 0 && asprintf(&full, "%s/%s", path, names[i]) < 0)
			rc = -ENOMEM;
		if (rc == 0)
			rc = add_file(in, full);
		free(full);
		free(names[i]);
	}
	free(names);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory listing the directory", path);
	else if (rc == 0 && n == 0) {
		snprintf(err, errlen, "%s: no .pcap, .pcapng or .cap files in directory", path);
		rc = -ENOENT;
	}
	return rc;
}

/*
 * One capture being read: classic pcap through libpcap, pcapng through pcapng.c (libpcap 1.10
 * refuses pcapng files whose interfaces differ in link type or snapshot length). A record as
 * both hand it over: time, lengths as the file says, data, link type.
 */
struct rec {
	int64_t sec;
	int64_t usec;
	uint32_t caplen;
	uint32_t len;
	int linktype;
	const uint8_t *data;
};

struct source {
	pcap_t *pc;           /* classic pcap, or NULL */
	struct sl_pcapng *ng; /* pcapng, or NULL */
	int linktype;         /* pcap: the file's; pcapng: the first interface's */
};

/* Open @p path for reading. The stream gets a large buffer and no stdio locking (only the
 * reader thread touches it): libpcap does two fread()s per record. 0, or -1 with @p ebuf. */
static int
source_open(struct source *src, const char *path, char *ebuf, size_t elen)
{
	FILE *fp = fopen(path, "rb");
	uint8_t head[4];
	size_t got;

	memset(src, 0, sizeof(*src));
	if (fp == NULL) {
		snprintf(ebuf, elen, "%s", strerror(errno));
		return -1;
	}
	setvbuf(fp, NULL, _IOFBF, 1u << 20);
	__fsetlocking(fp, FSETLOCKING_BYCALLER);
	got = fread(head, 1, sizeof(head), fp);
	if (got == sizeof(head) && sl_pcapng_magic(head)) {
		rewind(fp);
		src->ng = sl_pcapng_open(fp, ebuf, elen); /* closes fp on failure */
		if (src->ng == NULL)
			return -1;
		src->linktype = sl_pcapng_first_linktype(src->ng);
		return 0;
	}
	char pbuf[PCAP_ERRBUF_SIZE];

	rewind(fp);
	src->pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, pbuf);
	if (src->pc == NULL) {
		fclose(fp);
		snprintf(ebuf, elen, "%s", pbuf);
		return -1;
	}
	src->linktype = pcap_datalink(src->pc);
	return 0;
}

/* 1 with @p r filled, 0 at the end, -1 on an error (source_error()). */
static int
source_next(struct source *src, struct rec *r)
{
	if (src->ng != NULL) {
		struct sl_pcapng_rec nr;
		int rc = sl_pcapng_next(src->ng, &nr);

		if (rc != 1)
			return rc;
		r->sec = nr.sec;
		r->usec = nr.usec;
		r->caplen = nr.caplen;
		r->len = nr.len;
		r->linktype = nr.linktype;
		r->data = nr.data;
		return 1;
	}
	struct pcap_pkthdr *hdr;
	const u_char *data;
	int rc = pcap_next_ex(src->pc, &hdr, &data);

	if (rc != 1)
		return rc == PCAP_ERROR_BREAK ? 0 : -1;
	r->sec = (int64_t)hdr->ts.tv_sec;
	r->usec = (int64_t)hdr->ts.tv_usec;
	r->caplen = hdr->caplen;
	r->len = hdr->len;
	r->linktype = src->linktype;
	r->data = data;
	return 1;
}

static const char *
source_error(struct source *src)
{
	return src->ng != NULL ? sl_pcapng_error(src->ng) : pcap_geterr(src->pc);
}

/* Records the source skipped itself (pcapng: unknown interface, data past its block). */
static uint64_t
source_bad_records(const struct source *src)
{
	return src->ng != NULL ? sl_pcapng_bad_records(src->ng) : 0;
}

static void
source_close(struct source *src)
{
	if (src->ng != NULL)
		sl_pcapng_close(src->ng);
	if (src->pc != NULL)
		pcap_close(src->pc);
	memset(src, 0, sizeof(*src));
}

struct sl_input *
sl_input_open(char *const *paths, unsigned int n, char *err, size_t errlen)
{
	struct sl_input *in = calloc(1, sizeof(*in));
	char ebuf[SL_INPUT_ERRLEN];

	if (in == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct stat sb;
		int rc;

		if (stat(paths[i], &sb) < 0) {
			snprintf(err, errlen, "%s: %s", paths[i], strerror(errno));
			goto err_free;
		}
		rc = S_ISDIR(sb.st_mode) ? add_dir(in, paths[i], err, errlen) :
					   add_file(in, paths[i]);
		if (rc == -ENOMEM && !S_ISDIR(sb.st_mode))
			snprintf(err, errlen, "out of memory");
		if (rc < 0)
			goto err_free;
	}
	for (unsigned int i = 0; i < in->nfiles; i++) {
		struct source src;
		int lt;

		if (source_open(&src, in->files[i], ebuf, sizeof(ebuf)) < 0) {
			snprintf(err, errlen, "%s: not a readable pcap/pcapng capture: %s",
				in->files[i], ebuf);
			goto err_free;
		}
		lt = src.linktype;
		source_close(&src);
		if (!sl_pkt_linktype_supported(lt)) {
			const char *nm = pcap_datalink_val_to_name(lt);

			snprintf(err, errlen,
				"%s: link type %d (%s) is not supported (Ethernet, Linux SLL/SLL2, raw "
				"IP, BSD loopback are)", in->files[i], lt, nm ? nm : "unknown");
			goto err_free;
		}
		in->linktype[i] = lt;
	}
	return in;

err_free:
	sl_input_close(in);
	return NULL;
}

void
sl_input_close(struct sl_input *in)
{
	if (in == NULL)
		return;
	for (unsigned int i = 0; i < in->nfiles; i++)
		free(in->files[i]);
	free(in->files);
	free(in->linktype);
	free(in);
}

unsigned int
sl_input_nfiles(const struct sl_input *in)
{
	return in->nfiles;
}

const char *
sl_input_file(const struct sl_input *in, unsigned int i)
{
	return i < in->nfiles ? in->files[i] : NULL;
}

int
sl_input_file_linktype(const struct sl_input *in, unsigned int i)
{
	return i < in->nfiles ? in->linktype[i] : -1;
}

uint64_t
sl_input_max_packets(const struct sl_input *in)
{
	/* the smallest record is 16 bytes: a pcap record header with no data, or a pcapng
	 * Simple Packet Block; file headers only make the bound looser */
	return in->file_bytes / 16 + 1;
}

const struct sl_input_stats *
sl_input_stats(const struct sl_input *in)
{
	return &in->st;
}

unsigned int
sl_input_nerrors(const struct sl_input *in)
{
	return in->nerr;
}

const char *
sl_input_error(const struct sl_input *in, unsigned int i)
{
	return i < in->nerr ? in->errors[i] : NULL;
}

unsigned int
sl_input_queue_of(int linktype, const uint8_t *p, uint32_t caplen, uint32_t len,
	unsigned int nq)
{
	struct sl_pkt pk;
	uint64_t h;

	if (nq <= 1)
		return 0;
	if (sl_pkt_parse(linktype, p, caplen, caplen, len, &pk) != SL_PKT_handled)
		return 0; /* counted by the worker; which one does not matter */
	/* Sum of per-endpoint hashes: the same value whichever way the packet goes. */
	h = sl_addr_hash(pk.src, sl_mix64(pk.sport + 1)) + sl_addr_hash(pk.dst, sl_mix64(pk.dport + 1));
	h = sl_mix64(h ^ pk.proto);
	return (unsigned int)(h % nq);
}

static void
do_poll(struct sl_input *in)
{
	if (in->poll(in->arg) != 0)
		in->aborted = 1;
}

/* Waiting for ring space or mbufs: spin briefly, then give the CPU away, so a worker (or
 * another process) sharing this CPU gets to run and free what the reader waits for. */
static void
wait_backoff(unsigned int *spins)
{
	if (++*spins < SL_INPUT_SPINS) {
		rte_pause();
		return;
	}
	if (*spins < 2 * SL_INPUT_SPINS) {
		sched_yield();
		return;
	}
	struct timespec ts = {0, SL_INPUT_SLEEP_NS};

	nanosleep(&ts, NULL);
}

/* Enqueue a queue's batch, waiting for room (never dropping). */
static void
flush_queue(struct sl_input *in, unsigned int qi)
{
	struct pending *q = &in->pend[qi];
	unsigned int done = 0, spins = 0;

	while (done < q->n) {
		done += rte_ring_sp_enqueue_burst(in->rings[qi], (void *const *)&q->m[done],
			q->n - done, NULL);
		if (done < q->n) {
			in->st.waits_ring_full++;
			do_poll(in);
			wait_backoff(&spins);
		}
	}
	q->n = 0;
}

static struct rte_mbuf *
alloc_wait(struct sl_input *in, struct rte_mempool *mp)
{
	struct rte_mbuf *m;
	unsigned int spins = 0;

	while ((m = rte_pktmbuf_alloc(mp)) == NULL) {
		/* Our own batches may hold the mbufs the workers need to finish a burst. */
		for (unsigned int q = 0; q < in->nq; q++)
			flush_queue(in, q);
		in->st.waits_no_mbuf++;
		do_poll(in);
		wait_backoff(&spins);
	}
	return m;
}

/*
 * A record's capture time must be a second count in [0, 2^31): libpcap reads a pcap record's
 * 32-bit seconds as signed, so 0xffffffff becomes -1 s (about 2^64 µs once converted), and
 * pcapng can hold anything. Such a time would throw every clock of the run (flow expiry,
 * scores, baselines) decades away, so the record is skipped and counted instead.
 */
static bool
ts_ok(const struct rec *r)
{
	return r->sec >= 0 && (uint64_t)r->sec < (1ull << 31) && r->usec >= 0 && r->usec < 1000000;
}

/*
 * Lengths from the file are not trusted. A captured length past SL_INPUT_MAX_CAPLEN is cut to
 * it (libpcap refuses such classic pcap records; pcapng blocks may be larger); an original
 * length below the captured one (0 included) or past SL_INPUT_MAX_WIRE (0xffffffff once made
 * 60 packets count as 257.7 GB) is absurd and becomes the captured length. Each record
 * corrected is counted once (bad_lengths). @return true when something was corrected.
 */
static bool
bound_lengths(struct rec *r)
{
	bool bad = false;

	if (r->caplen > SL_INPUT_MAX_CAPLEN) {
		r->caplen = SL_INPUT_MAX_CAPLEN;
		bad = true;
	}
	if (r->len < r->caplen || r->len > SL_INPUT_MAX_WIRE) {
		r->len = r->caplen;
		bad = true;
	}
	return bad;
}

/* Copy one frame into a (possibly chained) mbuf. */
static struct rte_mbuf *
build_mbuf(struct sl_input *in, struct rte_mempool *mp, const struct rec *r)
{
	struct rte_mbuf *head = alloc_wait(in, mp), *seg = head;
	uint32_t left = r->caplen, off = 0;
	struct sl_mbuf_meta *meta;

	for (;;) {
		uint16_t room = rte_pktmbuf_tailroom(seg);
		uint16_t n = (uint16_t)SL_MIN((uint32_t)room, left);

		memcpy(rte_pktmbuf_mtod(seg, uint8_t *), r->data + off, n);
		seg->data_len = n;
		off += n;
		left -= n;
		if (left == 0)
			break;
		struct rte_mbuf *next = alloc_wait(in, mp);

		seg->next = next;
		head->nb_segs++;
		seg = next;
	}
	head->pkt_len = r->caplen;
	if (head->nb_segs > 1)
		in->st.multi_segment++;
	sl_mbuf_set_ts_us(head, (uint64_t)r->sec * 1000000u + (uint64_t)r->usec);
	meta = sl_mbuf_meta(head);
	meta->wire_len = r->len; /* >= caplen (bound_lengths) */
	meta->linktype = (uint16_t)r->linktype;
	return head;
}

int
sl_input_run(struct sl_input *in, struct rte_mempool *mp, struct rte_ring *const *rings,
	unsigned int nq, int (*poll)(void *arg), void *arg)
{
	char ebuf[SL_INPUT_ERRLEN];
	int ret = 0;

	in->pend = calloc(nq, sizeof(*in->pend));
	if (in->pend == NULL)
		return -ENOMEM;
	in->rings = rings;
	in->nq = nq;
	in->poll = poll;
	in->arg = arg;
	in->st.first_us = UINT64_MAX;
	for (unsigned int f = 0; f < in->nfiles && !in->aborted; f++) {
		struct source src;
		struct rec r;
		uint64_t n_in_file = 0;
		int rc = 0;

		if (source_open(&src, in->files[f], ebuf, sizeof(ebuf)) < 0) {
			if (in->nerr < SL_INPUT_MAX_ERRORS)
				snprintf(in->errors[in->nerr++], sizeof(in->errors[0]), "%s: %s",
					in->files[f], ebuf);
			in->st.read_errors++;
			ret = -EIO;
			continue;
		}
		in->st.files++;
		while (!in->aborted && (rc = source_next(&src, &r)) == 1) {
			if (!ts_ok(&r)) { /* skipped, counted: never handed to workers */
				in->st.bad_timestamps++;
				continue;
			}
			if (bound_lengths(&r))
				in->st.bad_lengths++;
			unsigned int q = sl_input_queue_of(r.linktype, r.data, r.caplen, r.len, nq);
			struct rte_mbuf *m = build_mbuf(in, mp, &r);
			uint64_t ts = sl_mbuf_ts_us(m);

			if (ts > in->st.last_us)
				in->st.last_us = ts;
			if (ts < in->st.first_us)
				in->st.first_us = ts;
			in->st.packets++;
			in->st.bytes += r.len;
			if (r.caplen < r.len)
				in->st.snapped++;
			n_in_file++;
			in->pend[q].m[in->pend[q].n++] = m;
			if (in->pend[q].n == SL_BURST)
				flush_queue(in, q);
			if ((in->st.packets & 1023) == 0)
				do_poll(in);
		}
		in->st.bad_records += source_bad_records(&src);
		if (rc == -1) {
			if (in->nerr < SL_INPUT_MAX_ERRORS)
				snprintf(in->errors[in->nerr++], sizeof(in->errors[0]),
					"%s: stopped after %" PRIu64 " packets: %s", in->files[f],
					n_in_file, source_error(&src));
			in->st.read_errors++;
			ret = -EIO;
		}
		source_close(&src);
	}
	for (unsigned int q = 0; q < nq; q++)
		flush_queue(in, q);
	if (in->st.first_us == UINT64_MAX)
		in->st.first_us = 0;
	free(in->pend);
	in->pend = NULL;
	return in->aborted ? -EINTR : ret;
}

int
sl_input_pcap_linktype(const char *path, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, ebuf);
	int lt;

	if (pc == NULL) {
		snprintf(err, errlen, "%s: %s", path, ebuf);
		return -EINVAL;
	}
	lt = pcap_datalink(pc);
	pcap_close(pc);
	if (!sl_pkt_linktype_supported(lt)) {
		snprintf(err, errlen, "%s: link type %d is not supported", path, lt);
		return -ENOTSUP;
	}
	return lt;
}
