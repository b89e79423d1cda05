/* report.c: the summary JSON, the human report, the event lines and the JSON formatter
 * they all use (see sl_report.h; the event writer itself is writer.c). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_priv.h"
#include "sl_dev.h"
#include "sl_common.h"
#include "sl_probe.h"
#include "sl_report.h"

/* ---- JSON formatter ---- */

/* Bytes are appended to j->buf after room() made space: FILE mode flushes the local buffer,
 * line mode asks the writer (sl_writer_room()). When room cannot be made (out of memory)
 * the bytes are skipped and j->err says so. */

static bool
room_slow(struct sl_json *j, size_t n)
{
	if (j->err != 0)
		return false;
	if (j->w != NULL)
		return sl_writer_room(j, n);
	if (sl_json_flush(j) < 0)
		return false;
	return j->cap >= n;
}

static inline bool
room(struct sl_json *j, size_t n)
{
	return likely(j->cap - j->len >= n) || room_slow(j, n);
}

static inline void
put_c(struct sl_json *j, char c)
{
	if (room(j, 1))
		j->buf[j->len++] = c;
}

static void
put(struct sl_json *j, const char *s, size_t n)
{
	while (n > 0) {
		size_t k = n < SL_JSON_LOCAL ? n : SL_JSON_LOCAL;

		if (!room(j, k))
			return;
		memcpy(j->buf + j->len, s, k);
		j->len += k;
		s += k;
		n -= k;
	}
}

void
sl_json_init(struct sl_json *j, FILE *f, bool compact)
{
	j->buf = j->local;
	j->len = 0;
	j->cap = sizeof(j->local);
	j->f = f;
	j->w = NULL;
	j->mark = 0;
	j->err = 0;
	j->depth = 0;
	j->compact = compact;
	j->first[0] = true;
}

int
sl_json_flush(struct sl_json *j)
{
	if (j->f == NULL)
		return j->err;
	if (j->len > 0 && fwrite(j->buf, 1, j->len, j->f) != j->len && j->err == 0)
		j->err = -EIO;
	j->len = 0;
	return j->err;
}

/* How each byte appears inside a JSON string: 0 as itself, 'u' as \u00XX, else a
 * backslash and that letter. Control bytes and anything outside ASCII are escaped, so
 * packet-derived strings can never produce invalid UTF-8. */
static const char esc_tab[256] = {
	['\0'] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u', [0x05] = 'u',
	[0x06] = 'u', [0x07] = 'u', [0x08] = 'u', ['\t'] = 't', ['\n'] = 'n', [0x0b] = 'u',
	[0x0c] = 'u', ['\r'] = 'r', [0x0e] = 'u', [0x0f] = 'u', [0x10] = 'u', [0x11] = 'u',
	[0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u', [0x16] = 'u', [0x17] = 'u',
	[0x18] = 'u', [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u', [0x1d] = 'u',
	[0x1e] = 'u', [0x1f] = 'u', ['"'] = '"', ['\\'] = '\\',
	[0x7f ... 0xff] = 'u',
};

/* One string byte, escaped; the caller made 6 bytes of room. */
static inline char *
esc_byte(char *o, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char e = esc_tab[c];

	if (likely(e == 0)) {
		*o++ = (char)c;
	} else if (e != 'u') {
		*o++ = '\\';
		*o++ = e;
	} else {
		memcpy(o, "\\u00", 4);
		o[4] = hex[c >> 4];
		o[5] = hex[c & 15];
		o += 6;
	}
	return o;
}

/* True when one of the 8 bytes in @p x is one esc_tab escapes: below 0x20, 0x7f or above,
 * '"' or '\\' (the classic "has a zero byte" bit trick on x, x ^ '"'... and x - 0x20...). */
static inline bool
needs_escape8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\'), d = x ^ (ones * 0x7f);
	uint64_t t = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) |
		     ((d - ones) & ~d) | x;

	return (t & high) != 0;
}

static void
str_raw(struct sl_json *j, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	char *o;

	if (likely(room(j, 6 * n + 2))) { /* the whole string fits, escaped or not */
		size_t i = 0;

		o = j->buf + j->len;
		*o++ = '"';
		for (; i + 8 <= n; i += 8) { /* 8 bytes at a time while none needs escaping */
			uint64_t x;

			memcpy(&x, p + i, 8);
			if (likely(!needs_escape8(x))) {
				memcpy(o, &x, 8);
				o += 8;
				continue;
			}
			for (size_t k = 0; k < 8; k++)
				o = esc_byte(o, p[i + k]);
		}
		for (; i < n; i++)
			o = esc_byte(o, p[i]);
		*o++ = '"';
		j->len = (size_t)(o - j->buf);
		return;
	}
	put_c(j, '"'); /* long string: a byte at a time */
	for (; *p != '\0'; p++) {
		if (!room(j, 6))
			return;
		j->len = (size_t)(esc_byte(j->buf + j->len, *p) - j->buf);
	}
	put_c(j, '"');
}

static void
member(struct sl_json *j, const char *key)
{
	if (!j->first[j->depth])
		put_c(j, ',');
	j->first[j->depth] = false;
	if (!j->compact && j->depth > 0) {
		put_c(j, '\n');
		for (int i = 0; i < j->depth; i++)
			put(j, "  ", 2);
	}
	if (key != NULL) {
		/* keys are the code's own ASCII names (table names, feature names): nothing to
		 * escape */
		size_t n = strlen(key);

		if (likely(room(j, n + 4))) {
			char *o = j->buf + j->len;

			*o++ = '"';
			memcpy(o, key, n);
			o += n;
			*o++ = '"';
			*o++ = ':';
			if (!j->compact)
				*o++ = ' ';
			j->len = (size_t)(o - j->buf);
		} else {
			str_raw(j, key);
			if (j->compact)
				put_c(j, ':');
			else
				put(j, ": ", 2);
		}
	}
}

static void
open_(struct sl_json *j, const char *key, char c)
{
	if (j->depth > 0 || !j->first[0])
		member(j, key);
	else
		j->first[0] = false;
	put_c(j, c);
	if (j->depth < 31)
		j->depth++;
	j->first[j->depth] = true;
}

static void
close_(struct sl_json *j, char c)
{
	bool empty = j->first[j->depth];

	j->depth--;
	if (!j->compact && !empty) {
		put_c(j, '\n');
		for (int i = 0; i < j->depth; i++)
			put(j, "  ", 2);
	}
	put_c(j, c);
	if (j->depth == 0 && !j->compact)
		put_c(j, '\n');
	if (j->depth == 0 && j->f != NULL) /* the value is complete: out to the FILE */
		sl_json_flush(j);
}

void
sl_json_obj_open(struct sl_json *j, const char *key)
{
	open_(j, key, '{');
}

void
sl_json_obj_close(struct sl_json *j)
{
	close_(j, '}');
}

void
sl_json_arr_open(struct sl_json *j, const char *key)
{
	open_(j, key, '[');
}

void
sl_json_arr_close(struct sl_json *j)
{
	close_(j, ']');
}

/* Decimal digits of @p v, written backwards ending at @p end. @return the first digit. */
static char *
u64_digits(char *end, uint64_t v)
{
	static const char pairs[201] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";
	char *p = end;

	while (v >= 100) {
		unsigned int k = (unsigned int)(v % 100) * 2;

		v /= 100;
		*--p = pairs[k + 1];
		*--p = pairs[k];
	}
	if (v >= 10) {
		*--p = pairs[v * 2 + 1];
		*--p = pairs[v * 2];
	} else {
		*--p = (char)('0' + v);
	}
	return p;
}

static void
put_u64(struct sl_json *j, uint64_t v, bool neg)
{
	char tmp[24], *end = tmp + sizeof(tmp), *p = u64_digits(end, v);

	if (neg)
		*--p = '-';
	if (room(j, 21)) {
		memcpy(j->buf + j->len, p, (size_t)(end - p));
		j->len += (size_t)(end - p);
	}
}

void
sl_json_u64(struct sl_json *j, const char *key, uint64_t v)
{
	member(j, key);
	put_u64(j, v, false);
}

void
sl_json_i64(struct sl_json *j, const char *key, int64_t v)
{
	member(j, key);
	/* the magnitude in unsigned arithmetic: INT64_MIN has no positive int64_t */
	put_u64(j, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0);
}

void
sl_json_bool(struct sl_json *j, const char *key, bool v)
{
	member(j, key);
	if (v)
		put(j, "true", 4);
	else
		put(j, "false", 5);
}

void
sl_json_dbl(struct sl_json *j, const char *key, double v, int decimals)
{
	char tmp[128];
	int n;

	member(j, key);
	if (!isfinite(v)) {
		put(j, "null", 4);
		return;
	}
	/* exact decimal rounding is printf's: kept (scores and features, not per-packet) */
	n = snprintf(tmp, sizeof(tmp), "%.*f", decimals, v);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		put(j, tmp, (size_t)n);
	} else {
		char *big = malloc((size_t)n + 1);

		if (big == NULL) {
			j->err = j->err ? j->err : -ENOMEM;
			return;
		}
		snprintf(big, (size_t)n + 1, "%.*f", decimals, v);
		put(j, big, (size_t)n);
		free(big);
	}
}

void
sl_json_str(struct sl_json *j, const char *key, const char *s)
{
	member(j, key); /* also separates array items (key NULL) */
	str_raw(j, s);
}

/* The date part of the last second formatted, per thread: gmtime_r() and strftime() run
 * once a second of event time, not once per event. */
static _Thread_local struct {
	uint64_t s;      /* epoch second cached, valid when n > 0 */
	size_t n;        /* bytes in txt */
	char txt[48];    /* "YYYY-MM-DDTHH:MM:SS" */
} date_cache;

void
sl_json_time(struct sl_json *j, const char *key, uint64_t us)
{
	uint64_t s = us / 1000000u;
	unsigned int frac = (unsigned int)(us % 1000000u);
	char *o;

	if (unlikely(date_cache.n == 0 || date_cache.s != s)) {
		time_t t = (time_t)s;
		struct tm tm;

		if (gmtime_r(&t, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
		date_cache.n = strftime(date_cache.txt, sizeof(date_cache.txt),
			"%Y-%m-%dT%H:%M:%S", &tm);
		date_cache.s = s;
		if (date_cache.n == 0) { /* nothing printable: do not cache */
			sl_json_str(j, key, "");
			return;
		}
	}
	member(j, key);
	if (!room(j, date_cache.n + 14))
		return;
	o = j->buf + j->len;
	*o++ = '"';
	memcpy(o, date_cache.txt, date_cache.n);
	o += date_cache.n;
	*o++ = '.';
	for (int i = 5; i >= 0; i--) {
		o[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	o += 6;
	memcpy(o, "+0000\"", 6); /* EVE's numeric UTC offset */
	o += 6;
	j->len = (size_t)(o - j->buf);
}

/* ---- sums ---- */

struct class_sums {
	uint64_t cls[4];
};

static void
worker_sums(const struct sl_worker *w, struct class_sums *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned int o = 0; o < SL_PKT_OUTCOME_MAX; o++)
		s->cls[sl_pkt_outcome_class(o)] += SL_LOAD_RELAXED(&w->outcome[o]);
}

static uint64_t
port_polled(const struct sl_report_ctx *c, uint16_t port, int queue)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < c->nworkers; i++) {
		const struct sl_worker *w = c->workers[i];

		for (unsigned int q = 0; q < w->nrxq; q++)
			if (w->rxq[q].port == port && (queue < 0 || w->rxq[q].queue == queue))
				n += SL_LOAD_RELAXED(&w->rxq[q].rx);
	}
	return n;
}

static uint64_t
nic_dropped(const struct rte_eth_stats *st)
{
	return st->imissed + st->ierrors + st->rx_nombuf;
}

bool
sl_report_port_conserved(const struct sl_report_ctx *c, unsigned int p)
{
	const struct sl_report_port *rp = &c->ports[p];

	return rp->stats_rc == 0 && rp->st.ipackets == port_polled(c, rp->info.port_id, -1);
}

bool
sl_report_worker_conserved(const struct sl_report_ctx *c, unsigned int i)
{
	const struct sl_worker *w = c->workers[i];
	struct class_sums s;
	uint64_t rx = 0;

	worker_sums(w, &s);
	for (unsigned int q = 0; q < w->nrxq; q++)
		rx += w->rxq[q].rx;
	return rx == w->rx_pkts && rx == s.cls[0] + s.cls[1] + s.cls[2] + s.cls[3];
}

/* ---- hosts ---- */

struct host_list {
	struct sl_chost *h;
	size_t n, cap;
};

static void
collect_host(void *arg, const struct sl_chost *h)
{
	struct host_list *l = arg;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 1024;
		struct sl_chost *nh = realloc(l->h, ncap * sizeof(*nh));

		if (nh == NULL)
			return;
		l->h = nh;
		l->cap = ncap;
	}
	l->h[l->n++] = *h;
}

static int
host_cmp(const void *a, const void *b)
{
	const struct sl_chost *x = a, *y = b;
	uint64_t bx = x->bytes_in + x->bytes_out, by = y->bytes_in + y->bytes_out;

	if (bx != by)
		return bx > by ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

static void
host_json(struct sl_json *j, const struct sl_chost *h)
{
	char ip[64];

	sl_addr_format(h->addr, ip, sizeof(ip));
	sl_json_obj_open(j, NULL);
	sl_json_str(j, "ip", ip);
	sl_json_u64(j, "pkts_out", h->pkts_out);
	sl_json_u64(j, "pkts_in", h->pkts_in);
	sl_json_u64(j, "bytes_out", h->bytes_out);
	sl_json_u64(j, "bytes_in", h->bytes_in);
	sl_json_u64(j, "flows_opened", h->flows_opened);
	sl_json_u64(j, "long_lived_flows", h->long_lived);
	sl_json_u64(j, "external_peers", (uint64_t)llround(sl_chost_peers(h)));
	sl_json_time(j, "first_seen", h->first_us);
	sl_json_time(j, "last_seen", h->last_us);
	sl_json_obj_close(j);
}

/* ---- flows ---- */

static int
rec_cmp_q(const void *a, const void *b)
{
	return sl_flow_rec_cmp(a, b);
}

static const char *
proto_name(uint8_t p)
{
	switch (p) {
	case 1: return "ICMP";
	case 6: return "TCP";
	case 17: return "UDP";
	case 58: return "IPv6-ICMP";
	default: return NULL;
	}
}

static const char *
tcp_state_name(uint8_t s)
{
	static const char *const n[] = {"none", "syn", "syn_ack", "established", "fin", "closed"};

	return s < SL_ARRAY_SIZE(n) ? n[s] : "unknown";
}

static size_t
collect_flows(const struct sl_report_ctx *c, struct sl_flow_rec **out)
{
	size_t n = 0;
	struct sl_flow_rec *r = calloc((size_t)c->nworkers * SL_TOP_FLOWS + 1, sizeof(*r));

	if (r == NULL)
		return 0;
	for (unsigned int i = 0; i < c->nworkers; i++)
		for (unsigned int k = 0; k < c->workers[i]->ntop; k++)
			r[n++] = c->workers[i]->top[k];
	if (n > 1)
		qsort(r, n, sizeof(*r), rec_cmp_q);
	if (n > c->cfg->summary_top_flows)
		n = c->cfg->summary_top_flows;
	*out = r;
	return n;
}

static void
detection_json(struct sl_json *j, const struct sl_report_ctx *c, const struct sl_match_stats *ms)
{
	uint64_t total = 0;

	sl_json_obj_open(j, "detection");
	if (c->db == NULL) {
		sl_json_bool(j, "enabled", false);
		sl_json_obj_close(j);
		return;
	}
	sl_json_bool(j, "enabled", true);
	{
		uint32_t nd, nr, ndet, npat;

		sl_match_db_sizes(c->db, &nd, &nr, &ndet, &npat);
		sl_json_obj_open(j, "tables");
		sl_json_u64(j, "generation", sl_match_db_generation(c->db));
		sl_json_u64(j, "pool_names", nd);
		sl_json_u64(j, "pool_ranges", nr);
		sl_json_u64(j, "detectors_enabled", ndet);
		sl_json_u64(j, "patterns", npat);
		sl_json_u64(j, "reloads", c->reloads);
		sl_json_u64(j, "reload_errors", c->reload_errors);
		sl_json_obj_close(j);
	}
	sl_json_obj_open(j, "inspection");
	for (unsigned int k = 0; k < sl_match_num_counters(); k++) {
		const char *nm = sl_match_counter_name(k);

		if (c->offline && strcmp(nm, "events_lost") == 0)
			continue;
		sl_json_u64(j, nm, ((const uint64_t *)ms)[k]);
	}
	sl_json_obj_close(j);
	/* flows per protocol of the known-protocol table (recognised TCP flows are not judged by
	 * behaviour; UDP ones are labels) */
	sl_json_obj_open(j, "known_protocols");
	for (unsigned int k = 1; k < SL_KNOWN_MAX; k++) {
		uint64_t n = 0;

		for (unsigned int i = 0; i < c->nworkers; i++)
			n += SL_LOAD_RELAXED(&c->workers[i]->mx.known_count[k]);
		if (n != 0)
			sl_json_u64(j, sl_known_name(k), n);
	}
	sl_json_obj_close(j);
	sl_json_obj_open(j, "events_by_detector");
	for (unsigned int d = 0; d < SL_DET_MAX; d++) {
		if (c->det_events != NULL && c->det_events[d] != 0)
			sl_json_u64(j, sl_det_name(d), c->det_events[d]);
		total += c->det_events != NULL ? c->det_events[d] : 0;
	}
	sl_json_obj_close(j);
	sl_json_u64(j, "events", total);
	sl_json_obj_close(j);
}

/* The control plane: what became of the workers' records, and (live) how busy it was. */
static void
dev_collect(void *arg, const struct sl_dev *d)
{
	const struct sl_dev ***p = arg;

	*(*p)++ = d;
}

static int
dev_mac_cmp(const void *a, const void *b)
{
	return memcmp((*(const struct sl_dev *const *)a)->mac, (*(const struct sl_dev *const *)b)->mac, 6);
}

/* The device table: its counters, what the workers sent, and the devices by MAC (at most
 * summary_top_hosts): what is on the wire, with where it was seen. */
static void
devices_json(struct sl_json *j, const struct sl_report_ctx *c)
{
	struct sl_devtab_stats st;
	uint64_t sent = 0, lost = 0, bad = 0;
	const struct sl_dev **v, **p;
	size_t n, k;

	if (c->devs == NULL)
		return;
	sl_devtab_get_stats(c->devs, &st);
	for (unsigned int i = 0; i < c->nworkers; i++) {
		sent += SL_LOAD_RELAXED(&c->workers[i]->dev_obs);
		lost += SL_LOAD_RELAXED(&c->workers[i]->dev_lost);
		bad += SL_LOAD_RELAXED(&c->workers[i]->dev_malformed);
	}
	sl_json_obj_open(j, "devices");
	sl_json_u64(j, "known", st.devices);
	for (unsigned int i = 0; i < sl_devtab_num_counters(); i++)
		sl_json_u64(j, sl_devtab_counter_name(i), sl_devtab_counter(&st, i));
	sl_json_u64(j, "worker_records", sent);
	sl_json_u64(j, "worker_records_lost", lost);
	sl_json_u64(j, "malformed_frames", bad);
	v = malloc((st.devices + 1) * sizeof(*v));
	sl_json_arr_open(j, "list");
	if (v != NULL) {
		p = v;
		sl_devtab_walk(c->devs, dev_collect, &p);
		n = (size_t)(p - v);
		qsort(v, n, sizeof(*v), dev_mac_cmp);
		for (k = 0; k < n && k < (size_t)c->cfg->summary_top_hosts; k++) {
			char mac[18];

			sl_mac_format(v[k]->mac, mac);
			sl_json_obj_open(j, NULL);
			sl_json_str(j, "mac", mac);
			sl_json_str(j, "vendor", v[k]->vendor);
			sl_json_arr_open(j, "vlans");
			for (unsigned int x = 0; x < v[k]->nvlan; x++)
				sl_json_u64(j, NULL, v[k]->vlan[x]);
			sl_json_arr_close(j);
			sl_json_arr_open(j, "addresses");
			for (unsigned int x = 0; x < v[k]->nip; x++) {
				char a[64];

				sl_addr_format(v[k]->ips[x].ip, a, sizeof(a));
				sl_json_str(j, NULL, a);
			}
			sl_json_arr_close(j);
			sl_json_str(j, "name", v[k]->name);
			sl_json_str(j, "mining_hardware", v[k]->miner);
			sl_json_bool(j, "router", (v[k]->flags & SL_DEV_F_ROUTER) != 0);
			sl_json_time(j, "first_seen", v[k]->first_us);
			sl_json_obj_close(j);
		}
		free(v);
	}
	sl_json_arr_close(j);
	sl_json_obj_close(j);
}

static void
control_json(struct sl_json *j, const struct sl_report_ctx *c)
{
	const struct sl_ctl_stats *st = c->ctl;
	uint64_t lost;

	if (st == NULL)
		return;
	sl_json_obj_open(j, "control");
	for (unsigned int k = 0; k < sl_ctl_num_counters(); k++) {
		/* loop passes and waits for ring room depend on timing: live only, so offline
		 * summaries stay identical run to run */
		if (c->offline && sl_ctl_counter_timing(k))
			continue;
		sl_json_u64(j, sl_ctl_counter_name(k), sl_ctl_counter(st, k));
	}
	if (!c->offline)
		sl_json_dbl(j, "busy_share", st->total_cycles ?
			(double)st->busy_cycles / (double)st->total_cycles : 0.0, 3);
	lost = st->det_dropped_ring + st->det_dropped_write;
	sl_json_obj_open(j, "detections");
	sl_json_str(j, "equation", "produced = written + aggregated + probe_own + dropped");
	sl_json_u64(j, "produced", st->det_produced);
	sl_json_u64(j, "written", st->det_written);
	sl_json_u64(j, "aggregated", st->det_aggregated);
	sl_json_u64(j, "probe_own", st->det_probe_own);
	sl_json_u64(j, "dropped", lost);
	sl_json_bool(j, "holds", st->det_produced ==
		st->det_written + st->det_aggregated + st->det_probe_own + lost);
	sl_json_obj_close(j);
	sl_json_obj_open(j, "flow_samples");
	sl_json_str(j, "equation", "produced = scored + dropped");
	sl_json_u64(j, "produced", st->samples_produced);
	sl_json_u64(j, "scored", st->samples_taken);
	sl_json_u64(j, "dropped", st->samples_dropped_ring);
	sl_json_bool(j, "holds", st->samples_produced == st->samples_taken +
		st->samples_dropped_ring);
	sl_json_obj_close(j);
	sl_json_obj_close(j);
}

static void
flow_json(struct sl_json *j, const struct sl_flow_rec *r)
{
	const uint8_t *src = r->init_hi ? r->key.hi : r->key.lo;
	const uint8_t *dst = r->init_hi ? r->key.lo : r->key.hi;
	uint16_t sp = r->init_hi ? r->key.port_hi : r->key.port_lo;
	uint16_t dp = r->init_hi ? r->key.port_lo : r->key.port_hi;
	char a[64], b[64], pn[8];
	const char *pname = proto_name(r->key.proto);

	sl_addr_format(src, a, sizeof(a));
	sl_addr_format(dst, b, sizeof(b));
	if (pname == NULL) {
		snprintf(pn, sizeof(pn), "%u", r->key.proto);
		pname = pn;
	}
	sl_json_obj_open(j, NULL);
	sl_json_str(j, "src_ip", a);
	sl_json_u64(j, "src_port", sp);
	sl_json_str(j, "dest_ip", b);
	sl_json_u64(j, "dest_port", dp);
	sl_json_str(j, "proto", pname);
	sl_json_u64(j, "pkts_toserver", r->pkts[0]);
	sl_json_u64(j, "pkts_toclient", r->pkts[1]);
	sl_json_u64(j, "bytes_toserver", r->bytes[0]);
	sl_json_u64(j, "bytes_toclient", r->bytes[1]);
	sl_json_time(j, "start", r->first_us);
	sl_json_time(j, "end", r->last_us);
	if (r->key.proto == 6)
		sl_json_str(j, "tcp_state", tcp_state_name(r->state));
	sl_json_str(j, "ended", r->at_exit ? "still_open" : "timeout_or_close");
	sl_json_obj_close(j);
}

/* ---- events ---- */

/* An address as sl_addr_format() writes it (inet_ntop), IPv4 by hand: inet_ntop formats
 * IPv4 with sprintf, which costs more than the rest of a detection line. */
static void
addr_text(const uint8_t addr[16], char *buf, size_t len)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char *o = buf;

	if (memcmp(addr, mapped, 12) != 0 || len < 16) {
		sl_addr_format(addr, buf, len);
		return;
	}
	for (int i = 12; i < 16; i++) {
		unsigned int v = addr[i];

		if (v >= 100)
			*o++ = (char)('0' + v / 100);
		if (v >= 10)
			*o++ = (char)('0' + v / 10 % 10);
		*o++ = (char)('0' + v % 10);
		*o++ = i < 15 ? '.' : '\0';
	}
}

/* EVE's community_id of a flow named on a line. */
static void
flow_ids(struct sl_json *j, const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
	uint16_t sport, uint16_t dport)
{
	char cid[SL_COMMUNITY_ID_LEN];

	if (proto != 1 && proto != 58 && /* ICMP flows keep no type and code */
	    sl_community_id(0, src, dst, proto, sport, dport, cid, sizeof(cid)) == 0)
		sl_json_str(j, "community_id", cid);
}

/* EVE's app_proto for a detector's protocol: Suricata's names where it has the protocol. */
static const char *
app_proto(unsigned int det)
{
	const char *p = sl_det_protocol(det);

	if (strcmp(p, "ip") == 0)
		return NULL; /* an address, no payload */
	if (strcmp(p, "http-mining") == 0 || det == SL_DET_web_miner_script)
		return "http";
	if (strcmp(p, "browser-miner") == 0)
		return "websocket";
	return p;
}

int
sl_report_event(struct sl_writer *w, const struct sl_event *ev, unsigned int weight)
{
	return sl_report_event_agg(w, ev, weight, 0, 0);
}

int
sl_report_event_agg(struct sl_writer *w, const struct sl_event *ev, unsigned int weight, uint64_t count,
	uint64_t first_us)
{
	struct sl_json j;
	char a[64], b[64], ex[SL_EVIDENCE_MAX + 1], pn[8];
	const char *pname = proto_name(ev->proto);
	unsigned int n = SL_MIN((unsigned int)ev->excerpt_len, (unsigned int)SL_EVIDENCE_MAX);

	addr_text(ev->src, a, sizeof(a));
	addr_text(ev->dst, b, sizeof(b));
	if (pname == NULL) {
		snprintf(pn, sizeof(pn), "%u", ev->proto);
		pname = pn;
	}
	/* printable excerpt: bytes outside ASCII text become '.' (the JSON writer escapes the
	 * rest) */
	for (unsigned int i = 0; i < n; i++) {
		uint8_t c = ev->excerpt[i];

		ex[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
	}
	ex[n] = '\0';
	sl_json_line_begin(&j, w);
	sl_json_obj_open(&j, NULL);
	sl_json_time(&j, "timestamp", ev->ts_us);
	sl_json_u64(&j, "flow_id", ev->flow_id);
	sl_json_str(&j, "event_type", "detection");
	sl_json_str(&j, "src_ip", a);
	sl_json_u64(&j, "src_port", ev->sport);
	sl_json_str(&j, "dest_ip", b);
	sl_json_u64(&j, "dest_port", ev->dport);
	sl_json_str(&j, "proto", pname);
	flow_ids(&j, ev->src, ev->dst, ev->proto, ev->sport, ev->dport);
	if (app_proto(ev->detector) != NULL)
		sl_json_str(&j, "app_proto", app_proto(ev->detector));
	sl_json_str(&j, "host", sl_writer_sensor(w));
	sl_json_str(&j, "judged_host", ev->host == SL_EV_HOST_DST ? b : a);
	{
		char sig[SL_EVIDENCE_MAX + 192];
		struct sl_eve_alert al = {
			.sid = sl_det_sid(ev->detector),
			.signature = sig,
			.severity = weight >= 90 ? 1 : weight >= 70 ? 2 : 3,
		};

		snprintf(sig, sizeof(sig), "sluice: %s from %s to %s:%u", sl_det_help(ev->detector),
			a, b, ev->dport);
		sl_eve_alert(&j, &al);
	}
	sl_json_str(&j, "detector", sl_det_name(ev->detector));
	sl_json_str(&j, "protocol", sl_det_protocol(ev->detector));
	sl_json_u64(&j, "weight", weight);
	sl_json_str(&j, "direction", ev->dir ? "to_client" : "to_server");
	sl_json_obj_open(&j, "evidence");
	sl_json_u64(&j, "offset", ev->offset);
	sl_json_str(&j, "excerpt", ex);
	sl_json_obj_close(&j);
	if (count > 0) { /* repeats folded after the first line (event_dedup_s) */
		sl_json_obj_open(&j, "repeats");
		sl_json_u64(&j, "count", count);
		sl_json_time(&j, "first", first_us);
		sl_json_time(&j, "last", ev->ts_us);
		sl_json_obj_close(&j);
	}
	sl_json_obj_close(&j);
	return sl_json_line_end(&j);
}

/* ---- scores ---- */

static const char *const level_names[] = {"none", "alert", "block"};

static const char *
level_name(unsigned int l)
{
	return l < SL_ARRAY_SIZE(level_names) ? level_names[l] : "?";
}

static const char *const transport_names[] = {"tls", "tls_no_sni", "opaque", "known"};

static void
excerpt_text(const uint8_t *b, unsigned int n, char *out)
{
	for (unsigned int i = 0; i < n; i++)
		out[i] = (b[i] >= 0x20 && b[i] < 0x7f) ? (char)b[i] : '.';
	out[n] = '\0';
}

static void
beh_json(struct sl_json *j, const struct sl_beh *b)
{
	sl_json_obj_open(j, "features");
	sl_json_dbl(j, "age_s", b->age_s, 1);
	sl_json_dbl(j, "packets_per_min", b->pkts_per_min, 1);
	sl_json_dbl(j, "bytes_per_packet", b->bytes_per_pkt, 1);
	sl_json_dbl(j, "bytes_per_s", b->bytes_per_s, 1);
	sl_json_dbl(j, "upload_share", b->up_share, 3);
	sl_json_u64(j, "client_messages", b->msgs[0]);
	sl_json_u64(j, "server_messages", b->msgs[1]);
	sl_json_u64(j, "server_pushes", b->pushes);
	sl_json_dbl(j, "client_interval_s", b->client_gap_s, 1);
	sl_json_dbl(j, "client_interval_cv", b->gap_cv, 2);
	sl_json_u64(j, "client_sizes_measured", b->cn);
	sl_json_u64(j, "client_sizes_repeated", b->crep);
	sl_json_u64(j, "client_sizes_changed", b->cmiss);
	sl_json_u64(j, "client_requests_answered", b->answered);
	sl_json_dbl(j, "client_size_mean", b->csz_mean, 1);
	sl_json_dbl(j, "client_size_cv", b->csz_cv, 3);
	sl_json_u64(j, "push_sizes_measured", b->un);
	sl_json_u64(j, "push_sizes_repeated", b->urep);
	sl_json_u64(j, "push_sizes_changed", b->umiss);
	sl_json_dbl(j, "push_size_mean", b->usz_mean, 1);
	sl_json_str(j, "transport", b->transport < SL_ARRAY_SIZE(transport_names) ?
					    transport_names[b->transport] : "?");
	if (b->known != 0)
		sl_json_str(j, "protocol", sl_known_label(b->known));
	sl_json_u64(j, "cell_sized_messages", b->cells);
	sl_json_obj_close(j);
	sl_json_arr_open(j, "matched");
	for (unsigned int f = 0; f < SL_BEH_MAX; f++)
		if (b->matched & (1u << f))
			sl_json_str(j, NULL, sl_beh_feature_name(f));
	sl_json_arr_close(j);
	sl_json_u64(j, "behaviour_points", b->points);
}

static void
signal_json(struct sl_json *j, const struct sl_signal *g, float now_points)
{
	char peer[64], ex[SL_EVIDENCE_MAX + 1];

	sl_json_obj_open(j, NULL);
	sl_json_str(j, "signal", sl_signal_kind_name(g->kind));
	if (g->kind != SL_SIG_behaviour && g->kind != SL_SIG_baseline &&
	    !sl_signal_is_device(g->kind))
		sl_json_str(j, "detector", sl_det_name(g->detector));
	sl_json_dbl(j, "points", now_points, 1);
	sl_json_dbl(j, "weight", g->points, 1);
	sl_json_u64(j, "count", g->count);
	sl_json_time(j, "first_seen", g->first_us);
	sl_json_time(j, "last_seen", g->last_us);
	sl_json_bool(j, "flow_alive", g->live != 0);
	if (sl_signal_is_device(g->kind)) {
		char mac[18];

		sl_mac_format(g->u.dev.mac, mac);
		sl_json_obj_open(j, "device");
		sl_json_str(j, "mac", mac);
		sl_json_str(j, "why", g->u.dev.why);
		sl_json_obj_close(j);
		sl_json_obj_close(j);
		return;
	}
	if (g->kind == SL_SIG_baseline) {
		const struct sl_base_dev *d = &g->u.base;

		sl_json_obj_open(j, "baseline");
		sl_json_str(j, "metric", sl_base_metric_name(d->metric));
		sl_json_dbl(j, "value", d->value, 1);
		sl_json_dbl(j, "mean", d->mean, 1);
		sl_json_dbl(j, "sd", d->sd, 1);
		sl_json_dbl(j, "z", d->z, 1);
		sl_json_u64(j, "buckets", d->buckets);
		sl_json_obj_close(j);
		sl_json_obj_close(j);
		return;
	}
	sl_json_u64(j, "flow_id", g->flow_id);
	sl_addr_format(g->peer, peer, sizeof(peer));
	sl_json_str(j, "peer", peer);
	sl_json_str(j, "host_side", g->host_dst ? "responder" : "initiator");
	sl_json_u64(j, "src_port", g->sport);
	sl_json_u64(j, "dest_port", g->dport);
	if (g->kind == SL_SIG_behaviour) {
		beh_json(j, &g->u.beh);
	} else if (g->kind == SL_SIG_pool_confirmed) {
		excerpt_text(g->u.probe.answer, SL_MIN(g->u.probe.len, (uint8_t)SL_EVIDENCE_MAX), ex);
		sl_json_obj_open(j, "probe");
		sl_json_str(j, "protocol", sl_probe_proto_name(g->u.probe.proto));
		sl_json_bool(j, "tls", g->u.probe.tls != 0);
		sl_json_str(j, "request", sl_probe_request_text(g->u.probe.proto));
		sl_json_str(j, "answer", ex);
		sl_json_u64(j, "latency_ms", g->u.probe.latency_ms);
		sl_json_obj_close(j);
	} else {
		excerpt_text(g->u.det.excerpt, SL_MIN(g->u.det.len, (uint8_t)SL_EVIDENCE_MAX), ex);
		sl_json_obj_open(j, "evidence");
		sl_json_str(j, "direction", g->u.det.dir ? "to_client" : "to_server");
		sl_json_u64(j, "offset", g->u.det.offset);
		sl_json_str(j, "excerpt", ex);
		sl_json_obj_close(j);
	}
	sl_json_obj_close(j);
}

void
sl_report_reason_text(const struct sl_signal *g, float now_points, char *buf, size_t len)
{
	char peer[64], ex[SL_EVIDENCE_MAX + 1];
	int n;

	if (sl_signal_is_device(g->kind)) {
		char mac[18];

		sl_mac_format(g->u.dev.mac, mac);
		snprintf(buf, len, "%s %.0f/%.0f: %s %s", sl_signal_kind_name(g->kind), now_points,
			g->points, mac, g->u.dev.why);
		return;
	}
	if (g->kind == SL_SIG_baseline) {
		const struct sl_base_dev *d = &g->u.base;

		snprintf(buf, len, "baseline %.0f/%.0f: %s %.0f per bucket vs %.1f+-%.1f (z %.1f)",
			now_points, g->points, sl_base_metric_name(d->metric), d->value, d->mean,
			d->sd, d->z);
		return;
	}
	sl_addr_format(g->peer, peer, sizeof(peer));
	n = snprintf(buf, len, "%s%s%s %.0f/%.0f: %s:%u ", sl_signal_kind_name(g->kind),
		g->kind == SL_SIG_behaviour ? "" : " ",
		g->kind == SL_SIG_behaviour ? "" : sl_det_name(g->detector), now_points, g->points,
		peer, g->dport);
	if (n < 0 || (size_t)n >= len)
		return;
	if (g->kind == SL_SIG_behaviour) {
		const struct sl_beh *b = &g->u.beh;

		snprintf(buf + n, len - (size_t)n,
			"age %.0fs, %u pushes, %u/%u steady requests every %.1fs, %s",
			b->age_s, b->pushes, b->crep, b->cn, b->client_gap_s,
			b->transport < SL_ARRAY_SIZE(transport_names) ? transport_names[b->transport] : "?");
	} else if (g->kind == SL_SIG_pool_confirmed) {
		excerpt_text(g->u.probe.answer, SL_MIN(g->u.probe.len, (uint8_t)SL_EVIDENCE_MAX), ex);
		snprintf(buf + n, len - (size_t)n, "probe %s%s answered \"%s\"",
			sl_probe_proto_name(g->u.probe.proto), g->u.probe.tls ? " in tls" : "", ex);
	} else {
		excerpt_text(g->u.det.excerpt, SL_MIN(g->u.det.len, (uint8_t)SL_EVIDENCE_MAX), ex);
		snprintf(buf + n, len - (size_t)n, "\"%s\"", ex);
	}
}

void
sl_report_score_view(struct sl_json *j, const char *key, const struct sl_score_view *v,
	const struct sl_score_params *p)
{
	char a[64];
	unsigned int order[SL_SCORE_SIGNALS];

	sl_addr_format(v->addr, a, sizeof(a));
	sl_json_obj_open(j, key);
	sl_json_str(j, "host", a);
	sl_json_dbl(j, "score", v->score, 1);
	sl_json_dbl(j, "peak", v->peak, 1);
	sl_json_str(j, "level", level_name(v->level));
	sl_json_u64(j, "alert_threshold", p->alert);
	sl_json_u64(j, "block_threshold", p->block);
	sl_json_time(j, "first_signal", v->first_us);
	if (v->alert_us != 0)
		sl_json_time(j, "alerted", v->alert_us);
	sl_json_u64(j, "alerts", v->alerts);
	/* strongest reason first */
	for (unsigned int i = 0; i < v->nsig; i++) {
		unsigned int k = i;

		for (; k > 0 && v->now_points[order[k - 1]] < v->now_points[i]; k--)
			order[k] = order[k - 1];
		order[k] = i;
	}
	sl_json_arr_open(j, "reasons");
	for (unsigned int i = 0; i < v->nsig; i++)
		signal_json(j, &v->sig[order[i]], v->now_points[order[i]]);
	sl_json_arr_close(j);
	if (v->known != 0) { /* flows the known-protocol table took out of behavioural judging */
		sl_json_arr_open(j, "not_judged");
		for (unsigned int k = 1; k < SL_KNOWN_MAX; k++) {
			if (!((v->known >> k) & 1))
				continue;
			sl_json_obj_open(j, NULL);
			sl_json_str(j, "protocol", sl_known_label(k));
			sl_json_str(j, "recognised_by", sl_known_how(k));
			sl_json_obj_close(j);
		}
		sl_json_arr_close(j);
	}
	sl_json_obj_close(j);
}

/* The sentence and id of an alert: its strongest reason's. */
static void
alert_of(struct sl_json *j, const struct sl_score_view *v, const char *h, bool blocked,
	const struct sl_score_params *p)
{
	char sig[256], peer[64];
	unsigned int best = 0;
	const struct sl_signal *g;
	struct sl_eve_alert al = {
		.signature = sig,
		.severity = v->score >= (float)p->block ? 1 : 2,
		.blocked = blocked,
	};

	for (unsigned int i = 1; i < v->nsig; i++)
		if (v->now_points[i] > v->now_points[best])
			best = i;
	if (v->nsig == 0) {
		al.sid = sl_signal_kind_sid(SL_SIG_baseline);
		snprintf(sig, sizeof(sig), "sluice: %s scored %.0f", h, v->score);
		sl_eve_alert(j, &al);
		return;
	}
	g = &v->sig[best];
	al.sid = sl_signal_sid(g);
	sl_addr_format(g->peer, peer, sizeof(peer));
	if (sl_signal_is_device(g->kind)) {
		char mac[18];

		sl_mac_format(g->u.dev.mac, mac);
		al.category = SL_EVE_CATEGORY_ANOMALY;
		snprintf(sig, sizeof(sig), "sluice: %s is %s (%s, %s)", h,
			g->kind == SL_SIG_mining_hw ? "mining hardware" : "a new device", mac,
			g->u.dev.why);
	} else if (g->kind == SL_SIG_baseline) {
		al.category = SL_EVE_CATEGORY_ANOMALY;
		snprintf(sig, sizeof(sig), "sluice: %s far from its own baseline (%s)", h,
			sl_base_metric_name(g->u.base.metric));
	} else if (g->kind == SL_SIG_pool_confirmed) {
		snprintf(sig, sizeof(sig), "sluice: %s talks to %s:%u, a pool a probe confirmed (%s%s)",
			h, peer, g->host_dst ? g->sport : g->dport, sl_probe_proto_name(g->u.probe.proto),
			g->u.probe.tls ? " in tls" : "");
	} else if (g->kind == SL_SIG_behaviour) {
		snprintf(sig, sizeof(sig), "sluice: miner-like session of %s with %s:%u (%s)", h, peer,
			g->dport, g->u.beh.transport < SL_ARRAY_SIZE(transport_names) ?
				transport_names[g->u.beh.transport] : "opaque");
	} else if (g->host_dst) {
		snprintf(sig, sizeof(sig), "sluice: %s from %s to %s:%u", sl_det_help(g->detector),
			peer, h, g->dport);
	} else {
		snprintf(sig, sizeof(sig), "sluice: %s from %s to %s:%u", sl_det_help(g->detector), h,
			peer, g->dport);
	}
	sl_eve_alert(j, &al);
}

/* log_judgements: one flow sample past the behaviour shape gates, judged or taken out. */
static int
judged_note(struct sl_writer *w, const struct sl_score_note *n)
{
	struct sl_json j;
	const struct sl_flow_sample *fs = n->fs;
	const struct sl_beh *b = n->beh;
	char src[64], dst[64];
	const char *pn = proto_name(fs->proto);

	sl_addr_format(fs->src, src, sizeof(src));
	sl_addr_format(fs->dst, dst, sizeof(dst));
	sl_json_line_begin(&j, w);
	sl_json_obj_open(&j, NULL);
	sl_json_time(&j, "timestamp", n->ts_us);
	sl_json_str(&j, "event_type", "judgement");
	sl_json_u64(&j, "flow_id", fs->flow_id);
	sl_json_str(&j, "src_ip", src);
	sl_json_u64(&j, "src_port", fs->sport);
	sl_json_str(&j, "dest_ip", dst);
	sl_json_u64(&j, "dest_port", fs->dport);
	sl_json_str(&j, "proto", pn != NULL ? pn : "?");
	sl_json_str(&j, "host", sl_writer_sensor(w));
	sl_json_str(&j, "judged_host", fs->host == SL_EV_HOST_DST ? dst : src);
	sl_json_bool(&j, "judged", b->gate == SL_GATE_passed);
	sl_json_str(&j, "gate", sl_beh_gate_name(b->gate));
	if (b->known != 0)
		sl_json_str(&j, "not_judged", sl_known_label(b->known));
	beh_json(&j, b);
	sl_json_obj_close(&j);
	return sl_json_line_end(&j);
}

int
sl_report_note(struct sl_writer *w, const struct sl_score_note *n,
	const struct sl_score_params *p, bool blocked, const char *ev_pcap, const char *ev_stream)
{
	struct sl_json j;
	const struct sl_score_view *v = n->v;
	const struct sl_signal *by = NULL;
	char h[64], peer[64];

	if (n->type == SL_NOTE_JUDGED)
		return judged_note(w, n);

	for (unsigned int i = 0; i < v->nsig && n->flow_id != 0; i++)
		if (v->sig[i].flow_id == n->flow_id && v->sig[i].kind != SL_SIG_baseline)
			by = &v->sig[i];
	sl_addr_format(v->addr, h, sizeof(h));
	sl_json_line_begin(&j, w);
	sl_json_obj_open(&j, NULL);
	sl_json_time(&j, "timestamp", n->ts_us);
	sl_json_str(&j, "event_type", n->type == SL_NOTE_ALERT ? "alert" : "host_score");
	if (by != NULL) {
		const char *pn = proto_name(by->proto);

		sl_addr_format(by->peer, peer, sizeof(peer));
		sl_json_u64(&j, "flow_id", by->flow_id);
		/* src is the flow's initiator, as in detection events */
		sl_json_str(&j, "src_ip", by->host_dst ? peer : h);
		sl_json_u64(&j, "src_port", by->sport);
		sl_json_str(&j, "dest_ip", by->host_dst ? h : peer);
		sl_json_u64(&j, "dest_port", by->dport);
		sl_json_str(&j, "proto", pn != NULL ? pn : "?");
		flow_ids(&j, by->host_dst ? by->peer : v->addr, by->host_dst ? v->addr : by->peer,
			by->proto, by->sport, by->dport);
	}
	sl_json_str(&j, "host", sl_writer_sensor(w));
	sl_json_str(&j, "judged_host", h);
	sl_writer_device(w, &j, v->addr);
	if (n->type == SL_NOTE_ALERT)
		alert_of(&j, v, h, blocked, p);
	sl_json_dbl(&j, "score", v->score, 1);
	sl_json_str(&j, "level", level_name(n->new_level));
	if (n->type == SL_NOTE_ALERT) {
		sl_json_u64(&j, "threshold", p->alert);
		sl_report_score_view(&j, "explanation", v, p);
		if (ev_pcap != NULL) { /* evidence packets of the flows behind the alert */
			sl_json_obj_open(&j, "evidence_files");
			sl_json_str(&j, "pcap", ev_pcap);
			sl_json_str(&j, "stream", ev_stream);
			sl_json_obj_close(&j);
		}
	} else {
		sl_json_str(&j, "previous_level", level_name(n->old_level));
		sl_json_str(&j, "direction", n->new_level > n->old_level ? "up" : "down");
		sl_json_dbl(&j, "peak", v->peak, 1);
	}
	sl_json_obj_close(&j);
	return sl_json_line_end(&j);
}

static void
score_totals_json(struct sl_json *j, const struct sl_score_stats *st)
{
	for (unsigned int k = 0; k < sl_score_num_counters(); k++)
		sl_json_u64(j, sl_score_counter_name(k), ((const uint64_t *)st)[k]);
	sl_json_u64(j, "hosts_scored", st->hosts);
	sl_json_u64(j, "hosts_over_alert", st->over_alert);
	sl_json_u64(j, "hosts_over_block", st->over_block);
}

int
sl_report_stats_event(struct sl_writer *wr, const struct sl_report_ctx *c, uint64_t ts_us)
{
	struct sl_json j;
	uint64_t rx = 0, bytes = 0, active = 0, created = 0, lost = 0, slost = 0, full = 0,
		 samples = 0, det = 0;
	struct sl_chost_totals ht;

	for (unsigned int i = 0; i < c->nworkers; i++) {
		const struct sl_worker *w = c->workers[i];
		const struct sl_flow_stats *fs = sl_flow_stats(w->flows);

		rx += SL_LOAD_RELAXED(&w->rx_pkts);
		bytes += SL_LOAD_RELAXED(&w->rx_bytes);
		active += SL_LOAD_RELAXED(&fs->active);
		created += SL_LOAD_RELAXED(&fs->created);
		lost += SL_LOAD_RELAXED(&w->mx.st.events_lost);
		slost += SL_LOAD_RELAXED(&w->samples_lost);
		samples += SL_LOAD_RELAXED(&w->samples);
		full += SL_LOAD_RELAXED(&w->chan.full);
	}
	for (unsigned int d = 0; d < SL_DET_MAX && c->det_events != NULL; d++)
		det += c->det_events[d];
	sl_chost_totals(c->hosts, &ht);
	sl_json_line_begin(&j, wr);
	sl_json_obj_open(&j, NULL);
	sl_json_time(&j, "timestamp", ts_us);
	sl_json_str(&j, "event_type", "sluice_stats");
	sl_json_str(&j, "host", sl_writer_sensor(wr));
	sl_json_obj_open(&j, "sluice_stats");
	sl_json_u64(&j, "packets", rx);
	sl_json_u64(&j, "bytes", bytes);
	sl_json_u64(&j, "flows_active", active);
	sl_json_u64(&j, "flows_created", created);
	sl_json_u64(&j, "hosts_tracked", ht.hosts);
	sl_json_u64(&j, "detections", det);
	sl_json_u64(&j, "flow_samples", samples);
	sl_json_u64(&j, "events_lost", lost);
	sl_json_u64(&j, "flow_samples_lost", slost);
	if (!c->offline) /* offline, producers wait for room: how often depends on timing */
		sl_json_u64(&j, "ring_full", full);
	if (c->score != NULL) {
		struct sl_score_stats st;

		sl_score_get_stats(c->score, &st);
		sl_json_obj_open(&j, "scoring");
		score_totals_json(&j, &st);
		sl_json_obj_close(&j);
	}
	sl_json_obj_close(&j);
	sl_json_obj_close(&j);
	return sl_json_line_end(&j);
}

/* Summary "scoring": thresholds, counters and the highest-scoring hosts with reasons. */
static void
scoring_json(struct sl_json *j, const struct sl_report_ctx *c)
{
	struct sl_score_stats st;
	struct sl_score_params p;
	unsigned int want = (unsigned int)SL_MIN(c->cfg->summary_top_hosts, 100), n = 0;
	struct sl_score_view *v = NULL;

	sl_json_obj_open(j, "scoring");
	if (c->score == NULL) {
		sl_json_bool(j, "enabled", false);
		sl_json_obj_close(j);
		return;
	}
	sl_score_params_get(c->score, &p);
	sl_score_get_stats(c->score, &st);
	sl_json_bool(j, "enabled", true);
	sl_json_u64(j, "alert_threshold", p.alert);
	sl_json_u64(j, "block_threshold", p.block);
	score_totals_json(j, &st);
	if (want > 0)
		v = calloc(want, sizeof(*v));
	if (v != NULL)
		n = sl_score_top(c->score, c->score_now_us, v, want);
	sl_json_arr_open(j, "hosts");
	for (unsigned int i = 0; i < n; i++)
		sl_report_score_view(j, NULL, &v[i], &p);
	sl_json_arr_close(j);
	free(v);
	sl_json_obj_close(j);
}

/* ---- response ---- */

static void
rule_members(struct sl_json *j, const struct sl_block_rule *r, bool made, const char *host_key)
{
	char h[64], peer[64];
	const char *pn = proto_name(r->key.proto);

	sl_addr_format(r->key.host, h, sizeof(h));
	sl_json_str(j, host_key, h);
	sl_json_str(j, "scope", r->key.scope == SL_SCOPE_POOL ? "pool" : "quarantine");
	if (r->key.scope == SL_SCOPE_POOL) {
		sl_addr_format(r->key.peer, peer, sizeof(peer));
		sl_json_str(j, "peer", peer);
		sl_json_u64(j, "dest_port", r->key.dport);
		sl_json_str(j, "proto", pn != NULL ? pn : "?");
	}
	if (made) {
		sl_json_str(j, "backend", sl_block_backend_name(r->backend));
		sl_json_arr_open(j, "backends");
		for (unsigned int b = 0; b < SL_BB_MAX; b++)
			if (r->backends & (1u << b))
				sl_json_str(j, NULL, sl_block_backend_name(b));
		sl_json_arr_close(j);
		if (r->backends & (1u << SL_BB_bgp))
			sl_json_u64(j, "bgp_routes", r->nroutes);
		if (r->nic_error[0] != '\0')
			sl_json_str(j, "nic_error", r->nic_error);
	}
	sl_json_bool(j, "operator", r->operator_made != 0);
	sl_json_u64(j, "offence", r->offence);
	if (r->expires_us > r->created_us)
		sl_json_u64(j, "ttl_s", (r->expires_us - r->created_us + 500000) / 1000000);
	if (r->created_us != 0)
		sl_json_time(j, "created", r->created_us);
	if (r->expires_us != 0)
		sl_json_time(j, "expires", r->expires_us);
	sl_json_str(j, "reason", r->reason);
}

void
sl_report_block_rule(struct sl_json *j, const struct sl_block_rule *r)
{
	sl_json_obj_open(j, NULL);
	rule_members(j, r, true, "host");
	if (r->backend == SL_BB_nic)
		sl_json_u64(j, "dropped_packets", r->pkts);
	sl_json_obj_close(j);
}

int
sl_report_block_note(struct sl_writer *w, const struct sl_block_note *n)
{
	struct sl_json j;
	static const char *const types[] = {"", "block", "block_refused", "unblock"};

	sl_json_line_begin(&j, w);
	sl_json_obj_open(&j, NULL);
	sl_json_time(&j, "timestamp", n->ts_us);
	sl_json_str(&j, "event_type", types[n->type >= 1 && n->type <= 3 ? n->type : 0]);
	sl_json_str(&j, "host", sl_writer_sensor(w));
	if (n->type != SL_BNOTE_UNBLOCK) { /* a block made or refused: what a SOC acts on */
		char sig[256], h[64], peer[64];
		struct sl_eve_alert al = {
			.sid = n->r->sid,
			.signature = sig,
			.severity = 1,
			.blocked = n->type == SL_BNOTE_BLOCK,
		};

		sl_addr_format(n->r->key.host, h, sizeof(h));
		sl_addr_format(n->r->key.peer, peer, sizeof(peer));
		if (n->r->key.scope == SL_SCOPE_POOL)
			snprintf(sig, sizeof(sig), "sluice: %s %s to %s:%u", al.blocked ? "blocked" :
				"block refused for", h, peer, n->r->key.dport);
		else
			snprintf(sig, sizeof(sig), "sluice: %s %s (quarantine)", al.blocked ? "blocked" :
				"block refused for", h);
		sl_eve_alert(&j, &al);
	}
	rule_members(&j, n->r, n->type != SL_BNOTE_REFUSED, "judged_host");
	sl_writer_device(w, &j, n->r->key.host);
	if (n->type == SL_BNOTE_REFUSED)
		sl_json_str(&j, "refusal", sl_block_refusal_name((unsigned int)n->refusal));
	if (n->type == SL_BNOTE_UNBLOCK) {
		sl_json_str(&j, "why", n->text != NULL ? n->text : "");
		sl_json_u64(&j, "lasted_s", n->ts_us > n->r->created_us ?
					       (n->ts_us - n->r->created_us) / 1000000 : 0);
		if (n->r->backend == SL_BB_nic) { /* soft drops are counted per worker, not per rule */
			sl_json_u64(&j, "dropped_packets", n->r->pkts);
			sl_json_u64(&j, "dropped_bytes", n->r->bytes);
		}
	}
	sl_json_obj_close(&j);
	return sl_json_line_end(&j);
}

int
sl_report_bgp_note(struct sl_writer *w, uint64_t ts_us, int speaker, bool restarted,
	uint32_t routes, const char *detail)
{
	struct sl_json j;

	sl_json_line_begin(&j, w);
	sl_json_obj_open(&j, NULL);
	sl_json_time(&j, "timestamp", ts_us);
	sl_json_str(&j, "event_type", "bgp_speaker");
	sl_json_str(&j, "host", sl_writer_sensor(w));
	sl_json_str(&j, "state", sl_bgp_speaker_name(speaker));
	sl_json_bool(&j, "restarted", restarted);
	sl_json_u64(&j, restarted ? "reannounced" : "routes", routes);
	sl_json_str(&j, "detail", detail != NULL ? detail : "");
	sl_json_obj_close(&j);
	return sl_json_line_end(&j);
}

int
sl_report_probe(struct sl_writer *w, const struct sl_probe_entry *e, bool operator_made,
	uint64_t ts_us)
{
	struct sl_json j;
	char ip[64], h[64], ex[SL_PROBE_ANSWER_MAX + 1];
	static const uint8_t zero[16];

	sl_addr_format(e->ip, ip, sizeof(ip));
	sl_json_line_begin(&j, w);
	sl_json_obj_open(&j, NULL);
	sl_json_time(&j, "timestamp", ts_us);
	sl_json_str(&j, "event_type", "probe");
	sl_json_str(&j, "host", sl_writer_sensor(w));
	sl_json_str(&j, "dest_ip", ip);
	sl_json_u64(&j, "dest_port", e->port);
	sl_json_str(&j, "proto", "TCP");
	if (memcmp(e->host, zero, 16) != 0) {
		sl_addr_format(e->host, h, sizeof(h));
		sl_json_str(&j, "judged_host", h);
	}
	sl_json_obj_open(&j, "probe");
	sl_json_str(&j, "origin", operator_made ? "operator" : "evidence");
	sl_json_str(&j, "result", sl_probe_result_name(e->result));
	if (e->result == SL_PROBE_R_skipped)
		sl_json_str(&j, "skip_reason", sl_probe_skip_name(e->skip));
	if (e->result == SL_PROBE_R_pool) {
		sl_json_str(&j, "protocol", sl_probe_proto_name(e->proto));
		sl_json_bool(&j, "tls", e->tls != 0);
		sl_json_str(&j, "request", sl_probe_request_text(e->proto));
	} else if (e->result != SL_PROBE_R_skipped) {
		sl_json_str(&j, "request", "stratum, xmrig, eth, sv2, sv2_noise; then inside tls");
	}
	sl_json_str(&j, "what", e->what);
	excerpt_text(e->answer, SL_MIN(e->answer_len, (uint8_t)SL_PROBE_ANSWER_MAX), ex);
	sl_json_str(&j, "answer", ex);
	sl_json_time(&j, "asked", e->asked_us);
	sl_json_u64(&j, "latency_ms", e->latency_ms);
	sl_json_obj_close(&j);
	sl_json_obj_close(&j);
	return sl_json_line_end(&j);
}

struct rule_list {
	struct sl_json *j;
};

static void
rule_cb(void *arg, const struct sl_block_rule *r)
{
	sl_report_block_rule(((struct rule_list *)arg)->j, r);
}

/* Summary "probe" (live with probe = 1): counters, results by kind, skips by reason. */
static void
probe_json(struct sl_json *j, const struct sl_report_ctx *c)
{
	struct sl_probe_stats st;

	if (c->probe == NULL)
		return;
	sl_probe_get_stats(c->probe, &st);
	sl_json_obj_open(j, "probe");
	for (unsigned int i = 0; i < sl_probe_num_counters(); i++)
		sl_json_u64(j, sl_probe_counter_name(i), sl_probe_counter(&st, i));
	sl_json_u64(j, "cache_entries", st.cache_entries);
	sl_json_obj_open(j, "results");
	for (unsigned int r = 0; r < SL_PROBE_R_skipped; r++)
		sl_json_u64(j, sl_probe_result_name(r), st.results[r]);
	sl_json_obj_close(j);
	sl_json_obj_open(j, "pools");
	for (unsigned int p = 0; p < SL_PROBE_P_MAX; p++)
		sl_json_u64(j, sl_probe_proto_name(p), st.pools[p]);
	sl_json_obj_close(j);
	sl_json_obj_open(j, "skipped");
	for (unsigned int r = 0; r < SL_PROBE_S_MAX; r++)
		sl_json_u64(j, sl_probe_skip_name(r), st.skips[r]);
	sl_json_obj_close(j);
	sl_json_obj_close(j);
}

/* Summary "response": mode, counters, active rules. */
static void
response_json(struct sl_json *j, const struct sl_report_ctx *c)
{
	struct sl_block_stats st;
	struct rule_list rl = {j};
	uint64_t pk = 0, by = 0;

	sl_json_obj_open(j, "response");
	sl_json_str(j, "mode", c->cfg->mode);
	if (c->block == NULL) {
		sl_json_obj_close(j);
		return;
	}
	sl_block_get_stats(c->block, &st);
	for (unsigned int k = 0; k < sl_block_num_counters(); k++)
		sl_json_u64(j, sl_block_counter_name(k), ((const uint64_t *)&st)[k]);
	sl_json_obj_open(j, "active");
	for (unsigned int b = 0; b < SL_BB_MAX; b++)
		sl_json_u64(j, sl_block_backend_name(b), st.active[b]);
	sl_json_obj_close(j);
	for (unsigned int i = 0; i < c->nworkers; i++) {
		pk += SL_LOAD_RELAXED(&c->workers[i]->blocked_pkts);
		by += SL_LOAD_RELAXED(&c->workers[i]->blocked_bytes);
	}
	sl_json_u64(j, "soft_dropped_packets", pk);
	sl_json_u64(j, "soft_dropped_bytes", by);
	if (sl_block_bgp(c->block) != NULL) {
		struct sl_bgp_stats bs;

		sl_bgp_get_stats(sl_block_bgp(c->block), &bs);
		sl_json_obj_open(j, "bgp");
		sl_json_str(j, "mode", c->cfg->bgp_mode);
		sl_json_str(j, "speaker", sl_bgp_speaker_name(bs.speaker));
		for (unsigned int k = 0; k < sl_bgp_num_counters(); k++)
			sl_json_u64(j, sl_bgp_counter_name(k), ((const uint64_t *)&bs)[k]);
		sl_json_u64(j, "routes", bs.routes);
		sl_json_u64(j, "routes_announced", bs.routes_announced);
		sl_json_u64(j, "routes_pending", bs.routes_pending);
		sl_json_obj_close(j);
	}
	sl_json_arr_open(j, "rules");
	sl_block_foreach(c->block, rule_cb, &rl);
	sl_json_arr_close(j);
	sl_json_obj_close(j);
}

/* ---- summary ---- */

static void
outcomes_json(struct sl_json *j, const uint64_t *oc)
{
	sl_json_obj_open(j, "outcomes");
	for (int cls = SL_CLASS_HANDLED; cls <= SL_CLASS_DROPPED; cls++) {
		if (cls == SL_CLASS_HANDLED) {
			sl_json_u64(j, "handled", oc[SL_PKT_handled]);
			continue;
		}
		sl_json_obj_open(j, sl_pkt_class_name(cls));
		for (unsigned int o = 0; o < SL_PKT_OUTCOME_MAX; o++)
			if (sl_pkt_outcome_class(o) == cls)
				sl_json_u64(j, sl_pkt_outcome_name(o), oc[o]);
		sl_json_obj_close(j);
	}
	sl_json_obj_close(j);
}

int
sl_report_summary(FILE *f, const struct sl_report_ctx *c)
{
	struct sl_json js, *j = &js;
	uint64_t tot_oc[SL_PKT_OUTCOME_MAX] = {0}, rx = 0, rxb = 0, nic = 0, recv = 0;
	struct sl_flow_stats fs;
	struct sl_match_stats ms;
	struct class_sums all = {{0}};
	struct sl_chost_totals ht;
	struct host_list hl = {0};
	struct sl_flow_rec *fr = NULL;
	size_t nf;
	bool ok = true;

	memset(&fs, 0, sizeof(fs));
	memset(&ms, 0, sizeof(ms));
	sl_json_init(j, f, false);
	sl_json_obj_open(j, NULL);
	sl_json_obj_open(j, "sluice");
	sl_json_str(j, "version", "0.1.0");
	sl_json_str(j, "mode", c->offline ? "offline" : "live");
	sl_json_u64(j, "workers", c->nworkers);
	sl_json_obj_close(j);

	if (c->input != NULL) {
		const struct sl_input_stats *is = sl_input_stats(c->input);

		sl_json_obj_open(j, "input");
		sl_json_arr_open(j, "files");
		for (unsigned int i = 0; i < sl_input_nfiles(c->input); i++) {
			sl_json_obj_open(j, NULL);
			sl_json_str(j, "path", sl_input_file(c->input, i));
			sl_json_str(j, "linktype",
				sl_pkt_linktype_name(sl_input_file_linktype(c->input, i)));
			sl_json_obj_close(j);
		}
		sl_json_arr_close(j);
		/* waits_* depend on timing between cores; they are in the human report only */
		sl_json_u64(j, "files_read", is->files);
		sl_json_u64(j, "packets", is->packets);
		sl_json_u64(j, "bytes", is->bytes);
		sl_json_u64(j, "snapped", is->snapped);
		sl_json_u64(j, "multi_segment", is->multi_segment);
		sl_json_u64(j, "read_errors", is->read_errors);
		sl_json_u64(j, "bad_timestamps", is->bad_timestamps);
		sl_json_u64(j, "bad_lengths", is->bad_lengths);
		sl_json_u64(j, "bad_records", is->bad_records);
		if (is->packets > 0) {
			sl_json_time(j, "first_packet", is->first_us);
			sl_json_time(j, "last_packet", is->last_us);
		}
		sl_json_arr_open(j, "errors");
		for (unsigned int i = 0; i < sl_input_nerrors(c->input); i++)
			sl_json_str(j, NULL, sl_input_error(c->input, i));
		sl_json_arr_close(j);
		sl_json_obj_close(j);
	}

	sl_json_arr_open(j, "ports");
	for (unsigned int p = 0; p < c->nports; p++) {
		const struct sl_report_port *rp = &c->ports[p];
		uint64_t polled = port_polled(c, rp->info.port_id, -1);
		bool pok = sl_report_port_conserved(c, p);

		ok &= pok;
		nic += nic_dropped(&rp->st);
		recv += rp->st.ipackets + nic_dropped(&rp->st);
		sl_json_obj_open(j, NULL);
		sl_json_u64(j, "port", rp->info.port_id);
		sl_json_str(j, "name", rp->info.name);
		sl_json_str(j, "driver", rp->info.driver);
		sl_json_u64(j, "rx_queues", rp->info.nb_rxq);
		sl_json_bool(j, "rss", rp->info.rss);
		sl_json_u64(j, "ipackets", rp->st.ipackets);
		sl_json_u64(j, "ibytes", rp->st.ibytes);
		sl_json_u64(j, "imissed", rp->st.imissed);
		sl_json_u64(j, "ierrors", rp->st.ierrors);
		sl_json_u64(j, "rx_nombuf", rp->st.rx_nombuf);
		sl_json_arr_open(j, "queues");
		for (unsigned int q = 0; q < rp->info.nb_rxq; q++) {
			sl_json_obj_open(j, NULL);
			sl_json_u64(j, "queue", q);
			if (q < RTE_ETHDEV_QUEUE_STAT_CNTRS)
				sl_json_u64(j, "ipackets", rp->st.q_ipackets[q]);
			sl_json_u64(j, "polled", port_polled(c, rp->info.port_id, (int)q));
			sl_json_obj_close(j);
		}
		sl_json_arr_close(j);
		sl_json_obj_open(j, "conservation");
		sl_json_str(j, "equation",
			"ipackets + imissed + ierrors + rx_nombuf = polled_by_workers + nic_dropped");
		sl_json_u64(j, "received", rp->st.ipackets + nic_dropped(&rp->st));
		sl_json_u64(j, "polled_by_workers", polled);
		sl_json_u64(j, "nic_dropped", nic_dropped(&rp->st));
		sl_json_bool(j, "ok", pok);
		sl_json_obj_close(j);
		sl_json_obj_close(j);
	}
	sl_json_arr_close(j);

	sl_json_arr_open(j, "workers");
	for (unsigned int i = 0; i < c->nworkers; i++) {
		const struct sl_worker *w = c->workers[i];
		const struct sl_flow_stats *wf = sl_flow_stats(w->flows);
		const struct sl_whost_stats *wh = sl_whost_stats(w->hosts);
		struct class_sums s;
		bool wok = sl_report_worker_conserved(c, i);

		ok &= wok;
		worker_sums(w, &s);
		for (int k = 0; k < 4; k++)
			all.cls[k] += s.cls[k];
		for (unsigned int o = 0; o < SL_PKT_OUTCOME_MAX; o++)
			tot_oc[o] += w->outcome[o];
		rx += w->rx_pkts;
		rxb += w->rx_bytes;
		sl_json_obj_open(j, NULL);
		sl_json_u64(j, "worker", w->id);
		sl_json_arr_open(j, "rx_queues");
		for (unsigned int q = 0; q < w->nrxq; q++) {
			sl_json_obj_open(j, NULL);
			sl_json_u64(j, "port", w->rxq[q].port);
			sl_json_u64(j, "queue", w->rxq[q].queue);
			sl_json_u64(j, "packets", w->rxq[q].rx);
			sl_json_obj_close(j);
		}
		sl_json_arr_close(j);
		sl_json_u64(j, "rx_packets", w->rx_pkts);
		sl_json_u64(j, "rx_bytes", w->rx_bytes);
		outcomes_json(j, w->outcome);
		sl_json_obj_open(j, "conservation");
		sl_json_str(j, "equation", "rx_packets = handled + skipped + malformed + dropped");
		sl_json_u64(j, "rx_packets", w->rx_pkts);
		for (int k = 0; k < 4; k++)
			sl_json_u64(j, sl_pkt_class_name(k), s.cls[k]);
		sl_json_bool(j, "ok", wok);
		sl_json_obj_close(j);
		if (w->nrxq > 0 && w->rxq[0].tx_port >= 0) { /* inline: every packet leaves or is dropped */
			bool iok = w->rx_pkts == w->tx_pkts + w->tx_full + w->blocked_pkts;

			sl_json_obj_open(j, "inline");
			sl_json_str(j, "equation", "rx_packets = forwarded + tx_full + blocked");
			sl_json_u64(j, "forwarded", w->tx_pkts);
			sl_json_u64(j, "tx_full", w->tx_full);
			sl_json_u64(j, "blocked", w->blocked_pkts);
			sl_json_u64(j, "blocked_bytes", w->blocked_bytes);
			sl_json_bool(j, "ok", iok);
			sl_json_obj_close(j);
			ok &= iok;
		}
		sl_json_obj_open(j, "flows");
		for (unsigned int k = 0; k < sl_flow_num_counters(); k++) {
			uint64_t v = ((const uint64_t *)wf)[k];

			sl_json_u64(j, sl_flow_counter_name(k), v);
			((uint64_t *)&fs)[k] += v;
		}
		sl_json_u64(j, "capacity", sl_flow_capacity_shown(w->flows));
		sl_json_obj_close(j);
		sl_json_obj_open(j, "hosts");
		for (unsigned int k = 0; k < sl_whost_num_counters(); k++) {
			const char *nm = sl_whost_counter_name(k);

			/* ring-full counts depend on timing; offline never loses a record */
			if (c->offline && strncmp(nm, "report_ring_full", 16) == 0)
				continue;
			sl_json_u64(j, nm, ((const uint64_t *)wh)[k]);
		}
		sl_json_u64(j, "untracked_flows", w->host_untracked);
		sl_json_obj_close(j);
		sl_json_obj_open(j, "inspection");
		for (unsigned int k = 0; k < sl_match_num_counters(); k++) {
			const char *nm = sl_match_counter_name(k);

			if (c->offline && strcmp(nm, "events_lost") == 0)
				continue; /* offline waits: never loses */
			sl_json_u64(j, nm, ((const uint64_t *)&w->mx.st)[k]);
			((uint64_t *)&ms)[k] += ((const uint64_t *)&w->mx.st)[k];
		}
		sl_json_obj_close(j);
		if (!c->offline) {
			sl_json_obj_open(j, "channel");
			sl_json_u64(j, "sent", w->chan.sent);
			sl_json_u64(j, "ring_full", w->chan.full);
			sl_json_obj_close(j);
		}
		sl_json_obj_close(j);
	}
	sl_json_arr_close(j);

	sl_json_obj_open(j, "totals");
	sl_json_u64(j, "rx_packets", rx);
	sl_json_u64(j, "rx_bytes", rxb);
	outcomes_json(j, tot_oc);
	sl_json_obj_open(j, "flows");
	for (unsigned int k = 0; k < sl_flow_num_counters(); k++)
		sl_json_u64(j, sl_flow_counter_name(k), ((uint64_t *)&fs)[k]);
	sl_json_obj_close(j);
	sl_json_obj_close(j);

	detection_json(j, c, &ms);
	scoring_json(j, c);
	response_json(j, c);
	probe_json(j, c);
	devices_json(j, c);
	control_json(j, c);

	sl_json_obj_open(j, "conservation");
	sl_json_str(j, "equation",
		"received = handled + skipped + malformed + dropped + nic_dropped");
	sl_json_u64(j, "received", recv);
	for (int k = 0; k < 4; k++)
		sl_json_u64(j, sl_pkt_class_name(k), all.cls[k]);
	sl_json_u64(j, "nic_dropped", nic);
	ok &= recv == all.cls[0] + all.cls[1] + all.cls[2] + all.cls[3] + nic;
	if (c->input != NULL) {
		sl_json_u64(j, "read_from_files", sl_input_stats(c->input)->packets);
		ok &= sl_input_stats(c->input)->packets == recv;
	}
	sl_json_bool(j, "ok", ok);
	sl_json_obj_close(j);

	sl_chost_totals(c->hosts, &ht);
	sl_chost_foreach(c->hosts, collect_host, &hl);
	if (hl.n > 1) /* no hosts: hl.h is NULL, and qsort(NULL, 0) is undefined */
		qsort(hl.h, hl.n, sizeof(*hl.h), host_cmp);
	sl_json_obj_open(j, "hosts");
	sl_json_str(j, "judged", c->cfg->home_nets.n ? "home_nets" : "flow initiators");
	sl_json_u64(j, "tracked", ht.hosts);
	sl_json_u64(j, "seen", ht.hosts_seen);
	sl_json_u64(j, "aged", ht.hosts_aged);
	sl_json_u64(j, "table_full", ht.table_full);
	sl_json_u64(j, "deltas", ht.deltas);
	{
		uint64_t po = 0, pi = 0, bo = 0, bi = 0, fo = 0, ll = 0;

		for (size_t i = 0; i < hl.n; i++) {
			po += hl.h[i].pkts_out;
			pi += hl.h[i].pkts_in;
			bo += hl.h[i].bytes_out;
			bi += hl.h[i].bytes_in;
			fo += hl.h[i].flows_opened;
			ll += hl.h[i].long_lived;
		}
		sl_json_obj_open(j, "sum");
		sl_json_u64(j, "pkts_out", po);
		sl_json_u64(j, "pkts_in", pi);
		sl_json_u64(j, "bytes_out", bo);
		sl_json_u64(j, "bytes_in", bi);
		sl_json_u64(j, "flows_opened", fo);
		sl_json_u64(j, "long_lived_flows", ll);
		sl_json_obj_close(j);
	}
	sl_json_arr_open(j, "top");
	for (size_t i = 0; i < hl.n && i < c->cfg->summary_top_hosts; i++)
		host_json(j, &hl.h[i]);
	sl_json_arr_close(j);
	sl_json_obj_close(j);
	free(hl.h);

	nf = collect_flows(c, &fr);
	sl_json_arr_open(j, "top_flows");
	for (size_t i = 0; i < nf; i++)
		flow_json(j, &fr[i]);
	sl_json_arr_close(j);
	free(fr);

	sl_json_obj_close(j);
	return sl_json_flush(j) < 0 || ferror(f) ? -EIO : 0;
}

/* ---- human report ---- */

static const char *
human_bytes(uint64_t b, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)b;
	unsigned int u = 0;

	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

static void
reasons(FILE *f, const uint64_t *oc, int cls)
{
	const char *sep = " (";
	bool any = false;

	for (unsigned int o = 0; o < SL_PKT_OUTCOME_MAX; o++) {
		if (sl_pkt_outcome_class(o) != cls || oc[o] == 0)
			continue;
		fprintf(f, "%s%s %" PRIu64, sep, sl_pkt_outcome_name(o), oc[o]);
		sep = ", ";
		any = true;
	}
	if (any)
		fputc(')', f);
}

void
sl_report_human(FILE *f, const struct sl_report_ctx *c)
{
	uint64_t oc[SL_PKT_OUTCOME_MAX] = {0}, rx = 0, rxb = 0, cls[4] = {0}, nic = 0;
	uint64_t created = 0, expired = 0, active = 0;
	struct sl_chost_totals ht;
	struct host_list hl = {0};
	struct sl_flow_rec *fr = NULL;
	size_t nf;
	char b1[32], b2[32];
	bool ok = true;

	for (unsigned int i = 0; i < c->nworkers; i++) {
		const struct sl_worker *w = c->workers[i];
		const struct sl_flow_stats *fs = sl_flow_stats(w->flows);

		for (unsigned int o = 0; o < SL_PKT_OUTCOME_MAX; o++) {
			oc[o] += w->outcome[o];
			cls[sl_pkt_outcome_class(o)] += w->outcome[o];
		}
		rx += w->rx_pkts;
		rxb += w->rx_bytes;
		created += fs->created;
		expired += fs->expired;
		active += fs->active;
		ok &= sl_report_worker_conserved(c, i);
	}
	for (unsigned int p = 0; p < c->nports; p++) {
		nic += nic_dropped(&c->ports[p].st);
		ok &= sl_report_port_conserved(c, p);
	}
	fprintf(f, "sluice %s: %" PRIu64 " packets, %s in %.2f s (%.2f Mpps), %u worker%s\n",
		c->offline ? "offline" : "live", rx, human_bytes(rxb, b1, sizeof(b1)), c->elapsed_s,
		c->elapsed_s > 0 ? (double)rx / c->elapsed_s / 1e6 : 0.0, c->nworkers,
		c->nworkers == 1 ? "" : "s");
	if (c->input != NULL) {
		const struct sl_input_stats *is = sl_input_stats(c->input);

		fprintf(f, "  input: %" PRIu64 " file%s, %" PRIu64 " packets", is->files,
			is->files == 1 ? "" : "s", is->packets);
		if (is->snapped)
			fprintf(f, ", %" PRIu64 " cut by snaplen", is->snapped);
		if (is->read_errors)
			fprintf(f, ", %" PRIu64 " read error%s", is->read_errors,
				is->read_errors == 1 ? "" : "s");
		if (is->bad_timestamps)
			fprintf(f, ", %" PRIu64 " skipped for a bad timestamp", is->bad_timestamps);
		if (is->bad_lengths)
			fprintf(f, ", %" PRIu64 " with absurd lengths bounded", is->bad_lengths);
		if (is->bad_records)
			fprintf(f, ", %" PRIu64 " bad pcapng records skipped", is->bad_records);
		fputc('\n', f);
	}
	fprintf(f, "  packets: %" PRIu64 " handled, %" PRIu64 " skipped", cls[0], cls[1]);
	reasons(f, oc, SL_CLASS_SKIPPED);
	fprintf(f, ", %" PRIu64 " malformed", cls[2]);
	reasons(f, oc, SL_CLASS_MALFORMED);
	fprintf(f, ", %" PRIu64 " dropped", cls[3]);
	reasons(f, oc, SL_CLASS_DROPPED);
	fputc('\n', f);
	fprintf(f, "  conservation: received %" PRIu64 " = %" PRIu64 " handled + %" PRIu64
		   " skipped + %" PRIu64 " malformed + %" PRIu64 " dropped + %" PRIu64 " NIC: %s\n",
		rx + nic, cls[0], cls[1], cls[2], cls[3], nic, ok ? "ok" : "MISMATCH");
	fprintf(f, "  flows: %" PRIu64 " created, %" PRIu64 " ended, %" PRIu64 " open at end\n",
		created, expired, active);
	nf = collect_flows(c, &fr);
	for (size_t i = 0; i < nf && i < 5; i++) {
		const struct sl_flow_rec *r = &fr[i];
		char a[64], b[64];
		const char *pn = proto_name(r->key.proto);

		sl_addr_format(r->init_hi ? r->key.hi : r->key.lo, a, sizeof(a));
		sl_addr_format(r->init_hi ? r->key.lo : r->key.hi, b, sizeof(b));
		fprintf(f, "    %-4s %s:%u -> %s:%u  %s out, %s in, %.1f s\n", pn ? pn : "IP", a,
			r->init_hi ? r->key.port_hi : r->key.port_lo, b,
			r->init_hi ? r->key.port_lo : r->key.port_hi,
			human_bytes(r->bytes[0], b1, sizeof(b1)), human_bytes(r->bytes[1], b2, sizeof(b2)),
			(double)(r->last_us - r->first_us) / 1e6);
	}
	free(fr);
	sl_chost_totals(c->hosts, &ht);
	sl_chost_foreach(c->hosts, collect_host, &hl);
	if (hl.n > 1) /* no hosts: hl.h is NULL, and qsort(NULL, 0) is undefined */
		qsort(hl.h, hl.n, sizeof(*hl.h), host_cmp);
	fprintf(f, "  hosts: %" PRIu64 " tracked (%s)\n", ht.hosts,
		c->cfg->home_nets.n ? "inside home_nets" : "flow initiators");
	for (size_t i = 0; i < hl.n && i < 5; i++) {
		char ip[64];

		sl_addr_format(hl.h[i].addr, ip, sizeof(ip));
		fprintf(f, "    %-15s %s out, %s in, %" PRIu64 " flows, ~%.0f peers, %" PRIu64
			   " long-lived\n", ip, human_bytes(hl.h[i].bytes_out, b1, sizeof(b1)),
			human_bytes(hl.h[i].bytes_in, b2, sizeof(b2)), hl.h[i].flows_opened,
			sl_chost_peers(&hl.h[i]), hl.h[i].long_lived);
	}
	free(hl.h);
	if (c->db != NULL && c->det_events != NULL) {
		uint64_t total = 0;

		for (unsigned int d = 0; d < SL_DET_MAX; d++)
			total += c->det_events[d];
		fprintf(f, "  detections: %" PRIu64 " events%s\n", total, total ? ":" : "");
		for (unsigned int d = 0; d < SL_DET_MAX; d++)
			if (c->det_events[d] != 0)
				fprintf(f, "    %-28s %-16s %" PRIu64 "\n", sl_det_name(d),
					sl_det_protocol(d), c->det_events[d]);
	} else {
		fprintf(f, "  detections: off (detect = 0)\n");
	}
	if (c->score != NULL) { /* the highest scores, each with its reasons */
		struct sl_score_params p;
		struct sl_score_view *v = calloc(10, sizeof(*v));
		unsigned int n = v != NULL ? sl_score_top(c->score, c->score_now_us, v, 10) : 0;

		sl_score_params_get(c->score, &p);
		fprintf(f, "  scores (alert %u, block %u): %u host%s%s\n", p.alert, p.block, n,
			n == 1 ? "" : "s", n ? ":" : "");
		for (unsigned int i = 0; i < n; i++) {
			char ip[64], why[256];

			sl_addr_format(v[i].addr, ip, sizeof(ip));
			fprintf(f, "    %-39s %5.1f (peak %5.1f) %s\n", ip, v[i].score, v[i].peak,
				level_name(v[i].level));
			for (unsigned int g = 0; g < v[i].nsig; g++) {
				sl_report_reason_text(&v[i].sig[g], v[i].now_points[g], why, sizeof(why));
				fprintf(f, "      %s\n", why);
			}
		}
		free(v);
	}
}
