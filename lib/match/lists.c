/* lists.c: loading the operator's lists: pool names (suffix match on label boundaries),
 * pool address ranges (IPv4/IPv6 CIDRs merged into sorted ranges, binary search), and the
 * detector overrides file. Every error names "file:line: reason"; nothing is half-loaded. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match_priv.h"
#include "sl_cfg.h"

/* Strip comment and surrounding blanks in place; returns the start. */
static char *
clean_line(char *s)
{
	char *h = strchr(s, '#'), *e;

	if (h != NULL)
		*h = '\0';
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * Read @p path line by line: comments and blanks dropped, every other line handed to
 * @p fn, which returns 0 or -errno with a reason in @p why. Errors come back as
 * "path:line: reason". A missing path ("" or NULL) reads nothing.
 */
static int
read_lines(const char *path, int (*fn)(void *arg, char *text, char *why, size_t whylen),
	void *arg, char *err, size_t errlen)
{
	char *line = NULL, why[512];
	size_t cap = 0;
	ssize_t len;
	unsigned int lineno = 0;
	FILE *f;
	int rc = 0;

	if (path == NULL || path[0] == '\0')
		return 0;
	f = fopen(path, "r");
	if (f == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	/* lines of any length (an entry too long for its kind is refused by @p fn) */
	while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
		char *t;

		lineno++;
		if (memchr(line, '\0', (size_t)len) != NULL) {
			snprintf(why, sizeof(why), "NUL byte (not a text file?)");
			rc = -EINVAL;
		} else {
			t = clean_line(line);
			if (*t == '\0')
				continue;
			why[0] = '\0';
			rc = fn(arg, t, why, sizeof(why));
		}
		if (rc < 0)
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why[0] ? why : strerror(-rc));
	}
	free(line);
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -EIO;
	}
	fclose(f);
	return rc;
}

static uint64_t
name_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		h = (h ^ (uint8_t)c) * 0x100000001b3ull;
	}
	return h | 1; /* 0 marks an empty slot */
}

static bool
valid_name(const char *s, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!(isalnum((unsigned char)c) || c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

static int
dom_insert(struct sl_domset *d, const char *name, size_t n, uint32_t off)
{
	uint64_t h = name_hash(name, n);
	uint32_t i = (uint32_t)h & d->mask;

	for (;;) {
		if (d->hash[i] == 0) {
			d->hash[i] = h;
			d->off[i] = off;
			d->len[i] = (uint16_t)n;
			d->n++;
			return 1;
		}
		if (d->hash[i] == h && d->len[i] == n &&
		    strncasecmp(d->text + d->off[i], name, n) == 0)
			return 0; /* duplicate */
		i = (i + 1) & d->mask;
	}
}

void
sl_domset_free(struct sl_domset *d)
{
	free(d->hash);
	free(d->off);
	free(d->len);
	free(d->text);
	memset(d, 0, sizeof(*d));
}

struct dom_load {
	struct sl_domset *d;
	size_t cap;
	uint32_t count;
};

static int
dom_line(void *arg, char *t, char *why, size_t whylen)
{
	struct dom_load *l = arg;
	struct sl_domset *d = l->d;
	size_t n = strlen(t);

	if (n > 0 && t[n - 1] == '.')
		t[--n] = '\0';
	if (strncmp(t, "*.", 2) == 0) { /* "*.pool.org" means the same as "pool.org" */
		t += 2;
		n -= 2;
	}
	if (n > 253) {
		snprintf(why, whylen, "'%.40s...' is too long for a domain name (%zu bytes, at most "
			"253)", t, n);
		return -EINVAL;
	}
	if (!valid_name(t, n) || strchr(t, ' ') != NULL) {
		snprintf(why, whylen, "'%s' is not a domain name", t);
		return -EINVAL;
	}
	if (d->text_len + n + 1 > l->cap) {
		size_t ncap = l->cap * 2 + n + 1;
		char *nt = realloc(d->text, ncap);

		if (nt == NULL)
			return -ENOMEM;
		d->text = nt;
		l->cap = ncap;
	}
	for (size_t i = 0; i < n; i++)
		d->text[d->text_len + i] = (char)tolower((unsigned char)t[i]);
	d->text[d->text_len + n] = '\0';
	d->text_len += n + 1;
	l->count++;
	return 0;
}

int
sl_domset_load(struct sl_domset *d, const char *path, char *err, size_t errlen)
{
	struct dom_load l = {.d = d};
	size_t slots;
	int rc;

	memset(d, 0, sizeof(*d));
	/* pass 1: validate and collect names */
	rc = read_lines(path, dom_line, &l, err, errlen);
	if (rc < 0 || l.count == 0)
		goto out;
	/* pass 2: index */
	for (slots = 16; slots < (size_t)l.count * 2; slots <<= 1)
		;
	d->mask = (uint32_t)slots - 1;
	d->hash = calloc(slots, sizeof(*d->hash));
	d->off = calloc(slots, sizeof(*d->off));
	d->len = calloc(slots, sizeof(*d->len));
	if (d->hash == NULL || d->off == NULL || d->len == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t o = 0; o < d->text_len;) {
		size_t n = strlen(d->text + o);

		dom_insert(d, d->text + o, n, (uint32_t)o);
		o += n + 1;
	}
out:
	if (rc < 0 || l.count == 0)
		sl_domset_free(d);
	return rc;
}

static bool
dom_lookup(const struct sl_domset *d, const char *name, size_t n)
{
	uint64_t h = name_hash(name, n);
	uint32_t i = (uint32_t)h & d->mask;

	while (d->hash[i] != 0) {
		if (d->hash[i] == h && d->len[i] == n &&
		    strncasecmp(d->text + d->off[i], name, n) == 0)
			return true;
		i = (i + 1) & d->mask;
	}
	return false;
}

bool
sl_domset_match(const struct sl_domset *d, const char *name, size_t len)
{
	if (d->n == 0 || len == 0)
		return false;
	if (name[len - 1] == '.')
		len--;
	/* the name itself, then every suffix that starts right after a dot */
	for (size_t i = 0; i < len; i++) {
		if (i == 0 || name[i - 1] == '.') {
			if (dom_lookup(d, name + i, len - i))
				return true;
		}
	}
	return false;
}

/* ---- addresses ---- */

static int
range_cmp(const void *a, const void *b)
{
	const struct sl_range *x = a, *y = b;
	int c = memcmp(x->lo, y->lo, 16);

	return c != 0 ? c : memcmp(x->hi, y->hi, 16);
}

static void
addr_inc(uint8_t a[16])
{
	for (int i = 15; i >= 0; i--)
		if (++a[i] != 0)
			break;
}

/* True if b (sorted after a) overlaps a or starts right after it. */
static bool
range_joins(const struct sl_range *a, const struct sl_range *b)
{
	uint8_t next[16];
	unsigned int i;

	for (i = 0; i < 16 && a->hi[i] == 0xff; i++)
		;
	if (i == 16)
		return true; /* a reaches the top of the space */
	memcpy(next, a->hi, 16);
	addr_inc(next);
	return memcmp(b->lo, next, 16) <= 0;
}

void
sl_ipset_free(struct sl_ipset *s)
{
	free(s->r);
	memset(s, 0, sizeof(*s));
}

struct ip_load {
	struct sl_ipset *s;
	uint32_t cap;
};

static int
ip_line(void *arg, char *t, char *why, size_t whylen)
{
	struct ip_load *l = arg;
	struct sl_ipset *s = l->s;
	struct sl_cidr c;

	if (sl_cidr_parse(t, &c) < 0) {
		snprintf(why, whylen, "'%.64s%s' is not an address or CIDR", t,
			strlen(t) > 64 ? "..." : "");
		return -EINVAL;
	}
	if (s->n == l->cap) {
		uint32_t ncap = l->cap ? l->cap * 2 : 256;
		struct sl_range *nr = realloc(s->r, ncap * sizeof(*s->r));

		if (nr == NULL)
			return -ENOMEM;
		s->r = nr;
		l->cap = ncap;
	}
	memcpy(s->r[s->n].lo, c.addr, 16);
	memcpy(s->r[s->n].hi, c.addr, 16);
	for (unsigned int b = c.plen; b < 128; b++)
		s->r[s->n].hi[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	s->n++;
	return 0;
}

int
sl_ipset_load(struct sl_ipset *s, const char *path, char *err, size_t errlen)
{
	struct ip_load l = {.s = s};
	uint32_t m = 0;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = read_lines(path, ip_line, &l, err, errlen);
	if (rc < 0) {
		sl_ipset_free(s);
		return rc;
	}
	if (s->n > 1)
		qsort(s->r, s->n, sizeof(*s->r), range_cmp);
	/* merge overlapping and adjacent ranges */
	for (uint32_t i = 0; i < s->n; i++) {
		if (m > 0 && range_joins(&s->r[m - 1], &s->r[i])) {
			if (memcmp(s->r[i].hi, s->r[m - 1].hi, 16) > 0)
				memcpy(s->r[m - 1].hi, s->r[i].hi, 16);
			continue;
		}
		s->r[m++] = s->r[i];
	}
	s->n = m;
	return 0;
}

bool
sl_ipset_match(const struct sl_ipset *s, const uint8_t addr[16])
{
	uint32_t lo = 0, hi = s->n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (memcmp(addr, s->r[mid].hi, 16) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && memcmp(addr, s->r[lo].lo, 16) >= 0;
}

/* ---- detector overrides ---- */

struct det_load {
	uint64_t *enabled;
	uint8_t *weight;
};

static int
det_line(void *arg, char *t, char *why, size_t whylen)
{
	struct det_load *l = arg;
	char *name, *verb, *val, *extra, *save = NULL;
	int d;

	name = strtok_r(t, " \t", &save);
	verb = strtok_r(NULL, " \t", &save);
	val = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	d = sl_det_lookup(name);
	if (d < 0) {
		snprintf(why, whylen, "unknown detector '%.64s%s'", name,
			strlen(name) > 64 ? "..." : "");
		return -EINVAL;
	}
	if (verb != NULL && strcmp(verb, "off") == 0 && val == NULL) {
		*l->enabled &= ~(1ull << d);
	} else if (verb != NULL && strcmp(verb, "on") == 0 && val == NULL) {
		*l->enabled |= 1ull << d;
	} else if (verb != NULL && strcmp(verb, "weight") == 0 && val != NULL && extra == NULL) {
		char *end;
		long w = strtol(val, &end, 10);

		if (*end != '\0' || w < 0 || w > 100) {
			snprintf(why, whylen, "weight '%s' is not 0..100", val);
			return -EINVAL;
		}
		l->weight[d] = (uint8_t)w;
	} else {
		snprintf(why, whylen, "expected '<detector> off|on|weight N'");
		return -EINVAL;
	}
	return 0;
}

int
sl_detectors_load(const char *path, uint64_t *enabled, uint8_t *weight, char *err,
	size_t errlen)
{
	struct det_load l = {.enabled = enabled, .weight = weight};

	return read_lines(path, det_line, &l, err, errlen);
}
