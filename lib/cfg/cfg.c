/* cfg.c: sluice's config file parser (key = value, # comments), the key table's defaults
 * and ranges, and CIDR parsing/matching for home_nets. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	const char *name, *def;
	size_t off;
	bool is_path;
} str_keys[] = {
#define SL_CFG_SDESC(name, def, is_path, help) {#name, def, offsetof(struct sl_cfg, name), is_path},
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
		snprintf((char *)cfg + str_keys[i].off, SL_CFG_PATH_MAX, "%s", str_keys[i].def);
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

/* Set a path key; a relative value is joined to @p base (a directory) when given. */
static int
set_path(struct sl_cfg *cfg, unsigned int i, const char *value, const char *base, char *err,
	size_t errlen)
{
	char *dst = (char *)cfg + str_keys[i].off;
	int n;

	if (str_keys[i].is_path && value[0] != '\0' && value[0] != '/' && base != NULL &&
	    base[0] != '\0')
		n = snprintf(dst, SL_CFG_PATH_MAX, "%s/%s", base, value);
	else
		n = snprintf(dst, SL_CFG_PATH_MAX, "%s", value);
	if (n < 0 || n >= SL_CFG_PATH_MAX) {
		snprintf(err, errlen, "%s: path longer than %d bytes", str_keys[i].name,
			SL_CFG_PATH_MAX - 1);
		dst[0] = '\0';
		return -ENAMETOOLONG;
	}
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

/* String keys whose syntax is checked when they are set, so a config file's error names its
 * line. @return 0 or -EINVAL with the reason in @p err. */
static int
check_str(const char *key, const char *v, char *err, size_t errlen)
{
	unsigned char a[16];
	char why[256];

	if (strcmp(key, "bgp_mode") == 0 && strcmp(v, "flowspec") != 0 && strcmp(v, "rtbh") != 0)
		return snprintf(err, errlen, "bgp_mode: '%s' is not flowspec or rtbh", v), -EINVAL;
	if ((strcmp(key, "bgp_community") == 0 || strcmp(key, "bgp_rtbh_community") == 0) &&
	    sl_bgp_check_communities(v, why, sizeof(why)) < 0)
		return snprintf(err, errlen, "%s: %s", key, why), -EINVAL;
	if (strcmp(key, "bgp_rtbh_nexthop") == 0 && inet_pton(AF_INET, v, a) != 1)
		return snprintf(err, errlen, "bgp_rtbh_nexthop: '%s' is not an IPv4 address", v),
		       -EINVAL;
	if (strcmp(key, "bgp_rtbh_nexthop6") == 0 && inet_pton(AF_INET6, v, a) != 1)
		return snprintf(err, errlen, "bgp_rtbh_nexthop6: '%s' is not an IPv6 address", v),
		       -EINVAL;
	if ((strcmp(key, "bgp_gobgp") == 0 || strcmp(key, "bgp_api_host") == 0) &&
	    (v[0] == '\0' || strcspn(v, " \t,") != strlen(v)))
		return snprintf(err, errlen, "%s: '%s' must be one word", key, v), -EINVAL;
	if (strcmp(key, "bgp_api_host") == 0 && strlen(v) >= 64)
		return snprintf(err, errlen, "bgp_api_host: longer than 63 bytes"), -EINVAL;
	return 0;
}

int
sl_cfg_set(struct sl_cfg *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	return cfg_set_in(cfg, key, value, NULL, err, errlen);
}

static int
cfg_set_in(struct sl_cfg *cfg, const char *key, const char *value, const char *base,
	char *err, size_t errlen)
{
	uint64_t v;
	int rc;

	for (unsigned int i = 0; i < N_STR_KEYS; i++)
		if (strcmp(key, str_keys[i].name) == 0) {
			rc = check_str(key, value, err, errlen);
			return rc < 0 ? rc : set_path(cfg, i, value, base, err, errlen);
		}
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
			snprintf(err, errlen, "%s: '%s' is not a non-negative integer", key, value);
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
	snprintf(err, errlen, "unknown key '%s'", key);
	return -ENOENT;
}

int
sl_cfg_validate(const struct sl_cfg *cfg, char *err, size_t errlen)
{
	if ((cfg->report_ring_size & (cfg->report_ring_size - 1)) != 0) {
		snprintf(err, errlen, "report_ring_size: %" PRIu64 " is not a power of two",
			cfg->report_ring_size);
		return -EINVAL;
	}
	if (cfg->tcp_closed_timeout > cfg->tcp_established_timeout) {
		snprintf(err, errlen, "tcp_closed_timeout must not exceed tcp_established_timeout");
		return -EINVAL;
	}
	return 0;
}

int
sl_cfg_load(struct sl_cfg *cfg, const char *path, char *err, size_t errlen)
{
	char line[4096], why[512], base[SL_CFG_PATH_MAX];
	unsigned int lineno = 0;
	FILE *f;
	int rc = 0;
	const char *slash = strrchr(path, '/');

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
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s, *eq, *hash, *key, *val;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
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
		rc = cfg_set_in(cfg, key, val, base, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			rc = -EINVAL;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -EIO;
	}
	fclose(f);
	if (rc == 0 && sl_cfg_validate(cfg, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
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
	char buf[8192], *tok, *save = NULL;

	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "CIDR list too long");
		return -EINVAL;
	}
	strcpy(buf, text);
	set->n = 0;
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
		if (set->n == SL_CIDR_MAX) {
			snprintf(err, errlen, "more than %d CIDRs", SL_CIDR_MAX);
			return -ENOSPC;
		}
		if (sl_cidr_parse(tok, &set->cidr[set->n]) < 0) {
			snprintf(err, errlen, "'%s' is not a CIDR (a.b.c.d/n or x:y::/n)", tok);
			return -EINVAL;
		}
		set->n++;
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
