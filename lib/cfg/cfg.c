/* cfg.c: sluice's config file parser (key = value, # comments), the key table's defaults
 * and ranges, and CIDR parsing/matching for home_nets. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "sl_bgp.h"
#include "sl_cfg.h"

struct key_desc {
	const char *name;
	uint64_t def, min, max;
	size_t off;
};

static const struct key_desc keys[] = {
#define SL_CFG_DESC(name, def, min, max, help)                                               \
	{#name, def, min, max, offsetof(struct sl_cfg, name)},
	SL_CFG_NUM_KEYS(SL_CFG_DESC)
#undef SL_CFG_DESC
};

static const struct {
	const char *name, *def, *choices;
	size_t off, size;
	enum sl_cfg_kind kind;
} str_keys[] = {
#define SL_CFG_SDESC(name, def, kind, choices, size, help)                                    \
	{#name, def, choices, offsetof(struct sl_cfg, name), size, kind},
	SL_CFG_STR_KEYS(SL_CFG_SDESC)
#undef SL_CFG_SDESC
};

#define N_STR_KEYS (sizeof(str_keys) / sizeof(str_keys[0]))

void
sl_cfg_defaults(struct sl_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (unsigned int i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		*(uint64_t *)((char *)cfg + keys[i].off) = keys[i].def;
	for (unsigned int i = 0; i < N_STR_KEYS; i++)
		snprintf((char *)cfg + str_keys[i].off, str_keys[i].size, "%s", str_keys[i].def);
}

/* Index of a key in enum sl_cfg_key, or -1. */
static int
key_id(const char *key)
{
	static const char *const names[SL_CFGK_COUNT] = {
#define SL_CFG_KEY_NAME(name, ...) [SL_CFGK_##name] = #name,
		SL_CFG_NUM_KEYS(SL_CFG_KEY_NAME)
		SL_CFG_STR_KEYS(SL_CFG_KEY_NAME)
#undef SL_CFG_KEY_NAME
		[SL_CFGK_home_nets] = "home_nets",
	};

	for (int i = 0; i < SL_CFGK_COUNT; i++)
		if (strcmp(names[i], key) == 0)
			return i;
	return -1;
}

const char *
sl_cfg_where(const struct sl_cfg *cfg, const char *key, char *buf, size_t len)
{
	int k = key_id(key);

	if (k < 0)
		snprintf(buf, len, "?");
	else if (cfg->line[k] == SL_CFG_LINE_SET)
		snprintf(buf, len, "--set");
	else if (cfg->line[k] == 0)
		snprintf(buf, len, "default");
	else
		snprintf(buf, len, "%s:%u", cfg->file, cfg->line[k]);
	return buf;
}

unsigned int
sl_cfg_num_str_keys(void)
{
	return N_STR_KEYS;
}

const char *
sl_cfg_str_key_name(unsigned int i)
{
	return i < N_STR_KEYS ? str_keys[i].name : NULL;
}

const char *
sl_cfg_str_key_default(unsigned int i)
{
	return i < N_STR_KEYS ? str_keys[i].def : NULL;
}

int
sl_cfg_ports_parse(const char *q, uint16_t *out, unsigned int max, char *err, size_t errlen)
{
	unsigned int n = 0;

	while (*q != '\0') {
		char *end;
		unsigned long v;

		if (*q == ',' || *q == ' ' || *q == '\t') {
			q++;
			continue;
		}
		if (!isdigit((unsigned char)*q)) {
			snprintf(err, errlen, "bad port at '%.20s'", q);
			return -EINVAL;
		}
		errno = 0;
		v = strtoul(q, &end, 10);
		if (errno != 0 || v == 0 || v > 65535 ||
		    (*end != '\0' && *end != ',' && *end != ' ' && *end != '\t')) {
			snprintf(err, errlen, "bad port at '%.20s'", q);
			return -EINVAL;
		}
		if (n == max) {
			snprintf(err, errlen, "more than %u ports", max);
			return -EINVAL;
		}
		out[n++] = (uint16_t)v;
		q = end;
	}
	return (int)n;
}

/* Keys whose check is their own (SL_CFG_BYKEY). @return 0 or -EINVAL with @p why. */
static int
check_key(const char *key, const char *v, char *why, size_t whylen)
{
	unsigned char a[16];

	if (strcmp(key, "block_backend") == 0) { /* auto, nic or soft, and/or bgp */
		char buf[SL_CFG_TEXT_MAX], *save = NULL;
		unsigned int local = 0, bgp = 0;

		snprintf(buf, sizeof(buf), "%s", v);
		for (char *t = strtok_r(buf, ", \t", &save); t != NULL; t = strtok_r(NULL, ", \t", &save)) {
			if (strcmp(t, "auto") == 0 || strcmp(t, "nic") == 0 || strcmp(t, "soft") == 0)
				local++;
			else if (strcmp(t, "bgp") == 0)
				bgp++;
			else
				local = 99;
		}
		if (local > 1 || bgp > 1 || (local == 0 && bgp == 0))
			return snprintf(why, whylen, "'%.64s' is not auto, nic or soft, with or without "
					"bgp, or bgp alone", v), -EINVAL;
		return 0;
	}
	if ((strcmp(key, "bgp_community") == 0 || strcmp(key, "bgp_rtbh_community") == 0) &&
	    sl_bgp_check_communities(v, why, whylen) < 0)
		return -EINVAL;
	if (strcmp(key, "bgp_rtbh_nexthop") == 0 && inet_pton(AF_INET, v, a) != 1)
		return snprintf(why, whylen, "'%.64s' is not an IPv4 address", v), -EINVAL;
	if (strcmp(key, "bgp_rtbh_nexthop6") == 0 && inet_pton(AF_INET6, v, a) != 1)
		return snprintf(why, whylen, "'%.64s' is not an IPv6 address", v), -EINVAL;
	if (strcmp(key, "probe_source") == 0 && v[0] != '\0' && inet_pton(AF_INET, v, a) != 1 &&
	    inet_pton(AF_INET6, v, a) != 1)
		return snprintf(why, whylen, "'%.64s' is not an IPv4 or IPv6 address", v), -EINVAL;
	if ((strcmp(key, "bgp_gobgp") == 0 || strcmp(key, "bgp_api_host") == 0) &&
	    (v[0] == '\0' || strcspn(v, " \t,") != strlen(v)))
		return snprintf(why, whylen, "'%.64s' must be one word", v), -EINVAL;
	return 0;
}

/* The value of a text key checked by its kind, so that a bad one is reported where it was
 * set. @p why receives the reason (without the key). */
static int
check_str(unsigned int i, const char *v, char *why, size_t whylen)
{
	switch (str_keys[i].kind) {
	case SL_CFG_BYKEY:
		return check_key(str_keys[i].name, v, why, whylen);
	case SL_CFG_ENUM: {
		const char *c = str_keys[i].choices;
		size_t n = strlen(v);

		while (c != NULL && *c != '\0') {
			const char *bar = strchr(c, '|');
			size_t l = bar ? (size_t)(bar - c) : strlen(c);

			if (l == n && strncmp(c, v, n) == 0)
				return 0;
			c = bar ? bar + 1 : NULL;
		}
		snprintf(why, whylen, "'%.64s%s' is not one of %s", v, n > 64 ? "..." : "",
			str_keys[i].choices);
		return -EINVAL;
	}
	case SL_CFG_ADDR: {
		uint8_t a[16];

		if (inet_pton(AF_INET, v, a) == 1 || inet_pton(AF_INET6, v, a) == 1)
			return 0;
		snprintf(why, whylen, "'%.64s%s' is not an IPv4 or IPv6 address", v,
			strlen(v) > 64 ? "..." : "");
		return -EINVAL;
	}
	case SL_CFG_CIDRS: {
		static struct sl_cidr_set tmp; /* config is parsed once, by one thread */

		return sl_cidr_set_parse(&tmp, v, why, whylen) < 0 ? -EINVAL : 0;
	}
	case SL_CFG_PORTS: {
		uint16_t ports[SL_CFG_PORTS_MAX];

		return sl_cfg_ports_parse(v, ports, SL_CFG_PORTS_MAX, why, whylen) < 0 ? -EINVAL : 0;
	}
	case SL_CFG_SYSLOG: {
		const char *c = v + 4, *colon;
		char *end;
		unsigned long port;

		if (v[0] == '\0' || strcmp(v, "unix") == 0 || (strncmp(v, "unix:", 5) == 0 && v[5]))
			return 0;
		colon = strrchr(c, ':');
		if ((strncmp(v, "udp:", 4) == 0 || strncmp(v, "tcp:", 4) == 0) && colon != NULL &&
		    colon > c) {
			errno = 0;
			port = strtoul(colon + 1, &end, 10);
			if (errno == 0 && *end == '\0' && colon[1] != '\0' && port >= 1 && port <= 65535)
				return 0;
		}
		snprintf(why, whylen, "'%.64s%s' is not unix[:PATH], udp:HOST:PORT or tcp:HOST:PORT "
			"(port 1-65535)", v, strlen(v) > 64 ? "..." : "");
		return -EINVAL;
	}
	case SL_CFG_PATH:
	case SL_CFG_DIR:
	case SL_CFG_TEXT:
		break;
	}
	return 0;
}

/* Set a string key; a relative path is joined to @p base (a directory) when given. A value
 * that does not fit is an error naming the key, never cut. */
static int
set_str(struct sl_cfg *cfg, unsigned int i, const char *value, const char *base, char *err,
	size_t errlen)
{
	char *dst = (char *)cfg + str_keys[i].off, why[512];
	size_t size = str_keys[i].size;
	int n;

	if (check_str(i, value, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", str_keys[i].name, why);
		return -EINVAL;
	}
	if (str_keys[i].kind == SL_CFG_PATH && value[0] != '\0' && value[0] != '/' &&
	    base != NULL && base[0] != '\0')
		n = snprintf(NULL, 0, "%s/%s", base, value);
	else
		n = snprintf(NULL, 0, "%s", value);
	if (n < 0 || (size_t)n >= size) {
		snprintf(err, errlen, "%s: value of %d bytes is longer than the %zu allowed%s",
			str_keys[i].name, n, size - 1,
			str_keys[i].kind == SL_CFG_PATH && value[0] != '/' && base != NULL ?
				" (with the config file's directory)" : "");
		return -ENAMETOOLONG;
	}
	if (str_keys[i].kind == SL_CFG_PATH && value[0] != '\0' && value[0] != '/' &&
	    base != NULL && base[0] != '\0')
		snprintf(dst, size, "%s/%s", base, value);
	else
		snprintf(dst, size, "%s", value);
	return 0;
}

unsigned int
sl_cfg_num_keys(void)
{
	return sizeof(keys) / sizeof(keys[0]);
}

const char *
sl_cfg_key_name(unsigned int i)
{
	return i < sl_cfg_num_keys() ? keys[i].name : NULL;
}

uint64_t
sl_cfg_key_default(unsigned int i)
{
	return i < sl_cfg_num_keys() ? keys[i].def : 0;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Accepts decimal with an optional k/m/g (x1024) suffix, e.g. "64k". */
static int
parse_u64(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long x;
	uint64_t mul = 1;

	if (*v == '\0' || *v == '-' || !isdigit((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno != 0)
		return -ERANGE;
	if (*end == 'k' || *end == 'K')
		mul = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		mul = 1024 * 1024 * 1024, end++;
	if (*end != '\0')
		return -EINVAL;
	if (x > UINT64_MAX / mul)
		return -ERANGE;
	*out = (uint64_t)x * mul;
	return 0;
}

static int cfg_set_in(struct sl_cfg *cfg, const char *key, const char *value,
	const char *base, char *err, size_t errlen);

int
sl_cfg_set(struct sl_cfg *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	int rc = cfg_set_in(cfg, key, value, NULL, err, errlen);

	if (rc == 0)
		cfg->line[key_id(key)] = SL_CFG_LINE_SET;
	return rc;
}

static int
cfg_set_in(struct sl_cfg *cfg, const char *key, const char *value, const char *base,
	char *err, size_t errlen)
{
	uint64_t v;
	int rc;

	for (unsigned int i = 0; i < N_STR_KEYS; i++)
		if (strcmp(key, str_keys[i].name) == 0)
			return set_str(cfg, i, value, base, err, errlen);
	if (strcmp(key, "home_nets") == 0) {
		static struct sl_cidr_set tmp; /* config is parsed once, by one thread */
		char why[256];

		rc = sl_cidr_set_parse(&tmp, value, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errlen, "home_nets: %s", why);
			return rc;
		}
		cfg->home_nets = tmp;
		return 0;
	}
	for (unsigned int i = 0; i < sl_cfg_num_keys(); i++) {
		if (strcmp(key, keys[i].name) != 0)
			continue;
		rc = parse_u64(value, &v);
		if (rc < 0) {
			snprintf(err, errlen, "%s: '%.64s%s' is not a non-negative integer", key, value,
				strlen(value) > 64 ? "..." : "");
			return rc;
		}
		if (v < keys[i].min || v > keys[i].max) {
			snprintf(err, errlen, "%s: %" PRIu64 " is out of range [%" PRIu64 ", %" PRIu64 "]",
				key, v, keys[i].min, keys[i].max);
			return -ERANGE;
		}
		*(uint64_t *)((char *)cfg + keys[i].off) = v;
		return 0;
	}
	snprintf(err, errlen, "unknown key '%.64s%s'", key, strlen(key) > 64 ? "..." : "");
	return -ENOENT;
}

int
sl_cfg_validate(const struct sl_cfg *cfg, char *err, size_t errlen)
{
	char w1[SL_CFG_PATH_MAX + 16], w2[SL_CFG_PATH_MAX + 16];

#define WHERE(k) sl_cfg_where(cfg, #k, w1, sizeof(w1))
#define WHERE2(k) sl_cfg_where(cfg, #k, w2, sizeof(w2))
	if ((cfg->report_ring_size & (cfg->report_ring_size - 1)) != 0) {
		snprintf(err, errlen, "%s: report_ring_size: %" PRIu64 " is not a power of two",
			WHERE(report_ring_size), cfg->report_ring_size);
		return -EINVAL;
	}
	if (cfg->tcp_closed_timeout > cfg->tcp_established_timeout) {
		snprintf(err, errlen, "%s: tcp_closed_timeout (%" PRIu64 ") must not exceed "
			"tcp_established_timeout (%" PRIu64 ", %s)", WHERE(tcp_closed_timeout),
			cfg->tcp_closed_timeout, cfg->tcp_established_timeout,
			WHERE2(tcp_established_timeout));
		return -EINVAL;
	}
	if (cfg->score_block < cfg->score_alert) {
		snprintf(err, errlen, "%s: score_block (%" PRIu64 ") is below score_alert (%" PRIu64
			", %s)", WHERE(score_block), cfg->score_block, cfg->score_alert,
			WHERE2(score_alert));
		return -EINVAL;
	}
	if (cfg->block_ttl_max_s < cfg->block_ttl_s) {
		snprintf(err, errlen, "%s: block_ttl_max_s (%" PRIu64 ") is below block_ttl_s (%" PRIu64
			", %s)", WHERE(block_ttl_max_s), cfg->block_ttl_max_s, cfg->block_ttl_s,
			WHERE2(block_ttl_s));
		return -EINVAL;
	}
	if (cfg->metrics_per_ip_connections > cfg->metrics_max_connections) {
		snprintf(err, errlen, "%s: metrics_per_ip_connections (%" PRIu64 ") is above "
			"metrics_max_connections (%" PRIu64 ", %s)", WHERE(metrics_per_ip_connections),
			cfg->metrics_per_ip_connections, cfg->metrics_max_connections,
			WHERE2(metrics_max_connections));
		return -EINVAL;
	}
#undef WHERE
#undef WHERE2
	return 0;
}

/* Lines of any length (getline); a NUL byte, a bad line, a bad value and a key set twice
 * each stop the load with file:line. */
int
sl_cfg_load(struct sl_cfg *cfg, const char *path, char *err, size_t errlen)
{
	char *line = NULL, why[1024], base[SL_CFG_PATH_MAX];
	size_t cap = 0;
	ssize_t len;
	unsigned int lineno = 0;
	FILE *f;
	int rc = 0;
	const char *slash = strrchr(path, '/');

	if (strlen(path) >= sizeof(cfg->file)) {
		snprintf(err, errlen, "--config: path longer than %zu bytes", sizeof(cfg->file) - 1);
		return -ENAMETOOLONG;
	}
	if (slash == NULL)
		snprintf(base, sizeof(base), ".");
	else if (slash == path)
		snprintf(base, sizeof(base), "/");
	else
		snprintf(base, sizeof(base), "%.*s", (int)(slash - path), path);

	f = fopen(path, "r");
	if (f == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	snprintf(cfg->file, sizeof(cfg->file), "%s", path);
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *s, *eq, *hash, *key, *val, *nul;
		int k;

		lineno++;
		nul = memchr(line, '\0', (size_t)len);
		if (nul != NULL) {
			snprintf(err, errlen, "%s:%u: NUL byte at column %zu (not a text file?)", path,
				lineno, (size_t)(nul - line) + 1);
			rc = -EINVAL;
			break;
		}
		hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		s = trim(line);
		if (*s == '\0')
			continue;
		eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%u: expected 'key = value'", path, lineno);
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (*key == '\0') {
			snprintf(err, errlen, "%s:%u: missing key before '='", path, lineno);
			rc = -EINVAL;
			break;
		}
		k = key_id(key);
		if (k >= 0 && cfg->line[k] != 0 && cfg->line[k] != SL_CFG_LINE_SET) {
			snprintf(err, errlen, "%s:%u: %s is set twice, on lines %u and %u", path,
				lineno, key, cfg->line[k], lineno);
			rc = -EINVAL;
			break;
		}
		rc = cfg_set_in(cfg, key, val, base, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			rc = -EINVAL;
			break;
		}
		cfg->line[k] = lineno;
	}
	free(line);
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -EIO;
	}
	fclose(f);
	if (rc == 0 && sl_cfg_validate(cfg, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s", why);
		rc = -EINVAL;
	}
	return rc;
}

int
sl_cidr_parse(const char *text, struct sl_cidr *out)
{
	char buf[64], *slash;
	unsigned long plen;
	bool v4;
	uint8_t a[16];

	if (strlen(text) >= sizeof(buf) || *text == '\0')
		return -EINVAL;
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	memset(a, 0, sizeof(a));
	if (inet_pton(AF_INET, buf, a + 12) == 1) {
		v4 = true;
		a[10] = a[11] = 0xff;
	} else if (inet_pton(AF_INET6, buf, a) == 1) {
		v4 = false;
	} else {
		return -EINVAL;
	}
	if (slash != NULL) {
		char *end;

		if (!isdigit((unsigned char)*slash))
			return -EINVAL;
		plen = strtoul(slash, &end, 10);
		if (*end != '\0' || plen > (v4 ? 32u : 128u))
			return -EINVAL;
	} else {
		plen = v4 ? 32 : 128;
	}
	if (v4)
		plen += 96;
	for (unsigned int bit = (unsigned int)plen; bit < 128; bit++)
		a[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	memcpy(out->addr, a, 16);
	out->plen = (uint8_t)plen;
	return 0;
}

int
sl_cidr_set_parse(struct sl_cidr_set *set, const char *text, char *err, size_t errlen)
{
	const char *p = text;

	set->n = 0;
	for (;;) {
		char tok[64];
		size_t n;

		p += strspn(p, ", \t");
		if (*p == '\0')
			break;
		n = strcspn(p, ", \t");
		if (set->n == SL_CIDR_MAX) {
			snprintf(err, errlen, "more than %d CIDRs", SL_CIDR_MAX);
			return -ENOSPC;
		}
		if (n >= sizeof(tok) ||
		    (memcpy(tok, p, n), tok[n] = '\0', sl_cidr_parse(tok, &set->cidr[set->n]) < 0)) {
			snprintf(err, errlen, "'%.*s%s' is not a CIDR (a.b.c.d/n or x:y::/n)",
				(int)(n > 64 ? 64 : n), p, n > 64 ? "..." : "");
			return -EINVAL;
		}
		set->n++;
		p += n;
	}
	return 0;
}

bool
sl_cidr_set_match(const struct sl_cidr_set *set, const uint8_t addr[16])
{
	for (uint32_t i = 0; i < set->n; i++) {
		const struct sl_cidr *c = &set->cidr[i];
		unsigned int full = c->plen / 8, rem = c->plen % 8;

		if (memcmp(addr, c->addr, full) != 0)
			continue;
		if (rem != 0 && ((addr[full] ^ c->addr[full]) & (uint8_t)(0xff00u >> rem)) != 0)
			continue;
		return true;
	}
	return false;
}

void
sl_addr_format(const uint8_t addr[16], char *buf, size_t len)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (memcmp(addr, mapped, 12) == 0)
		inet_ntop(AF_INET, addr + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, addr, buf, (socklen_t)len);
}
