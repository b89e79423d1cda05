/* oui.c: the IEEE registry (ieee-data's oui.txt, mam.txt, oui36.txt) and the shipped list of
 * mining-hardware MAC prefixes (config/mining_hw.txt), looked up by longest prefix (36, 28,
 * then 24 bits) with a binary search in sorted arrays. Loaded by the control thread at start
 * and on reload; lookups happen when a device is first seen. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_common.h"
#include "sl_dev.h"

struct oui_ent {
	uint64_t prefix; /* the first bits of the MAC, left-aligned in 48 bits */
	uint8_t bits;    /* 24, 28 or 36 */
	char *name;
};

struct oui_set {
	struct oui_ent *e;
	uint32_t n, cap;
};

struct sl_oui {
	struct oui_set reg, hw;
};

static int
set_add(struct oui_set *s, uint64_t prefix, unsigned int bits, const char *name)
{
	if (s->n == s->cap) {
		uint32_t nc = s->cap ? s->cap * 2 : 1024;
		struct oui_ent *ne = realloc(s->e, nc * sizeof(*ne));

		if (ne == NULL)
			return -ENOMEM;
		s->e = ne;
		s->cap = nc;
	}
	s->e[s->n].prefix = prefix;
	s->e[s->n].bits = (uint8_t)bits;
	s->e[s->n].name = strdup(name);
	if (s->e[s->n].name == NULL)
		return -ENOMEM;
	s->n++;
	return 0;
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct oui_ent *x = a, *y = b;

	if (x->bits != y->bits)
		return x->bits < y->bits ? -1 : 1;
	return x->prefix < y->prefix ? -1 : x->prefix > y->prefix;
}

static void
set_free(struct oui_set *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		free(s->e[i].name);
	free(s->e);
	memset(s, 0, sizeof(*s));
}

static uint64_t
mac48(const uint8_t mac[6])
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | mac[i];
	return v;
}

static const char *
set_find(const struct oui_set *s, const uint8_t mac[6])
{
	static const uint8_t widths[] = {36, 28, 24};
	uint64_t m = mac48(mac);

	for (unsigned int w = 0; w < 3; w++) {
		struct oui_ent key = {.bits = widths[w],
			.prefix = m & ~((1ull << (48 - widths[w])) - 1)};
		const struct oui_ent *e = bsearch(&key, s->e, s->n, sizeof(*s->e), ent_cmp);

		if (e != NULL)
			return e->name;
	}
	return NULL;
}

static char *
trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
			 s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* One ieee-data text file: "XX-XX-XX   (hex)\t\tName" lines give the 24-bit base; for MA-M
 * and MA-S the following "XXXXXX-XXXXXX     (base 16)\t\tName" line gives the range. */
static int
load_ieee(struct oui_set *s, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	uint64_t base = 0;
	bool have = false;
	char name[256] = "";
	int rc = 0;

	if (f == NULL)
		return errno == ENOENT ? 0 : -errno;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		unsigned int a, b, c;
		char *h;

		/* most lines are addresses (indented) or blank: only "XX-XX-XX   (hex)" and
		 * "XXXXXX[-XXXXXX]   (base 16)" lines start with a hex digit */
		if (!isxdigit((unsigned char)line[0]))
			continue;
		if (line[2] == '-' && (h = strstr(line, "(hex)")) != NULL &&
		    sscanf(line, "%2x-%2x-%2x", &a, &b, &c) == 3) {
			base = ((uint64_t)a << 40) | ((uint64_t)b << 32) | ((uint64_t)c << 24);
			snprintf(name, sizeof(name), "%s", trim(h + 5));
			have = true;
		} else if (have && (h = strstr(line, "(base 16)")) != NULL) {
			unsigned long lo, hi;
			char *t = trim(line), *dash = strchr(t, '-');

			if (dash != NULL && dash < h && sscanf(t, "%6lx-%6lx", &lo, &hi) == 2) {
				unsigned int bits = hi - lo == 0xfffff ? 28 : hi - lo == 0xfff ? 36 : 0;

				if (bits != 0)
					rc = set_add(s, base | lo, bits, name);
			} else {
				rc = set_add(s, base, 24, name);
			}
			have = false;
		}
	}
	fclose(f);
	return rc;
}

/* The mining-hardware list: "<prefix>[/<bits>] <maker words...>  # source". */
static int
load_hw(struct oui_set *s, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[512];
	unsigned int ln = 0;
	int rc = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		char *t, *hash, *sp, *slash;
		uint64_t v = 0;
		unsigned int nd = 0, bits;

		ln++;
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		t = trim(line);
		if (*t == '\0')
			continue;
		sp = t + strcspn(t, " \t");
		if (*sp == '\0') {
			snprintf(err, errlen, "%s:%u: expected '<prefix>[/bits] <maker>'", path, ln);
			rc = -EINVAL;
			break;
		}
		*sp++ = '\0';
		slash = strchr(t, '/');
		if (slash != NULL)
			*slash++ = '\0';
		for (char *c = t; *c != '\0'; c++) {
			int d = (*c >= '0' && *c <= '9') ? *c - '0' :
				(*c >= 'a' && *c <= 'f') ? *c - 'a' + 10 :
				(*c >= 'A' && *c <= 'F') ? *c - 'A' + 10 : -1;

			if (*c == '-' || *c == ':')
				continue;
			if (d < 0 || nd == 12) {
				nd = 99;
				break;
			}
			v = v << 4 | (uint64_t)d;
			nd++;
		}
		bits = slash != NULL ? (unsigned int)strtoul(slash, NULL, 10) : nd * 4;
		if (nd == 99 || (bits != 24 && bits != 28 && bits != 36) || nd * 4 < bits) {
			snprintf(err, errlen, "%s:%u: bad prefix (24, 28 or 36 bits of hex)", path, ln);
			rc = -EINVAL;
			break;
		}
		v <<= 48 - nd * 4;
		v &= ~((1ull << (48 - bits)) - 1);
		rc = set_add(s, v, bits, trim(sp));
		if (rc < 0)
			snprintf(err, errlen, "%s: out of memory", path);
	}
	fclose(f);
	return rc;
}

struct sl_oui *
sl_oui_load(const char *dir, const char *hw_path, char *err, size_t errlen)
{
	static const char *const files[] = {"oui.txt", "mam.txt", "oui36.txt"};
	struct sl_oui *o = calloc(1, sizeof(*o));
	char path[4096];

	if (o == NULL) {
		snprintf(err, errlen, "registry: out of memory");
		return NULL;
	}
	for (unsigned int i = 0; dir != NULL && dir[0] != '\0' && i < 3; i++) {
		int rc;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		rc = load_ieee(&o->reg, path);
		if (rc < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
			sl_oui_free(o);
			return NULL;
		}
	}
	if (hw_path != NULL && hw_path[0] != '\0' && load_hw(&o->hw, hw_path, err, errlen) < 0) {
		sl_oui_free(o);
		return NULL;
	}
	if (o->reg.n > 0)
		qsort(o->reg.e, o->reg.n, sizeof(*o->reg.e), ent_cmp);
	if (o->hw.n > 0)
		qsort(o->hw.e, o->hw.n, sizeof(*o->hw.e), ent_cmp);
	return o;
}

void
sl_oui_free(struct sl_oui *o)
{
	if (o == NULL)
		return;
	set_free(&o->reg);
	set_free(&o->hw);
	free(o);
}

const char *
sl_oui_vendor(const struct sl_oui *o, const uint8_t mac[6])
{
	return o != NULL && o->reg.n > 0 ? set_find(&o->reg, mac) : NULL;
}

const char *
sl_oui_miner(const struct sl_oui *o, const uint8_t mac[6])
{
	return o != NULL && o->hw.n > 0 ? set_find(&o->hw, mac) : NULL;
}

void
sl_oui_sizes(const struct sl_oui *o, uint32_t *vendors, uint32_t *hw)
{
	*vendors = o != NULL ? o->reg.n : 0;
	*hw = o != NULL ? o->hw.n : 0;
}
