/* cache.c: the compiled Hyperscan database cached on disk, so a start does not pay for the
 * compile (~0.1 s) when nothing that goes into it changed. A file holds a header, the exact
 * key (Hyperscan version, the CPU platform compiled for, mode, every expression with its
 * flags and id) and the serialized database; the file name carries a hash of the key. A file
 * that is truncated, corrupt or for another key is ignored (counted) and replaced; files are
 * written to a temporary name and renamed, so readers never see half a file. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hs/hs.h>

#include "match_priv.h"
#include "sl_common.h"

#define CACHE_MAGIC "SLHSDB01"
#define CACHE_MAX (64u << 20) /* larger files are not ours */

struct cache_hdr {
	char magic[8];
	uint32_t key_len;
	uint32_t overlap;
	uint64_t db_len;
	uint64_t sum;        /* FNV-1a of key and database bytes */
};

static uint64_t cache_cnt[SL_MATCH_CACHE_NCOUNTERS];

static void
count(enum sl_match_cache_counter c)
{
	__atomic_fetch_add(&cache_cnt[c], 1, __ATOMIC_RELAXED); /* statistics only */
}

void
sl_match_cache_counters(uint64_t out[SL_MATCH_CACHE_NCOUNTERS])
{
	for (unsigned int i = 0; i < SL_MATCH_CACHE_NCOUNTERS; i++)
		out[i] = __atomic_load_n(&cache_cnt[i], __ATOMIC_RELAXED);
}

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static int
key_add(struct sl_match_cache_key *k, const void *p, size_t n)
{
	if (k->len + n > sizeof(k->buf))
		return -E2BIG;
	memcpy(k->buf + k->len, p, n);
	k->len += n;
	return 0;
}

int
sl_match_cache_key(struct sl_match_cache_key *k, const char *const *expr,
	const unsigned int *flags, const unsigned int *ids, unsigned int n)
{
	hs_platform_info_t plat;
	const char *ver = hs_version();
	uint32_t mode = HS_MODE_BLOCK, cnt = n;
	int rc;

	memset(&plat, 0, sizeof(plat));
	if (hs_populate_platform(&plat) != HS_SUCCESS)
		return -ENOTSUP;
	k->len = 0;
	rc = key_add(k, ver, strlen(ver) + 1);
	rc |= key_add(k, &plat, sizeof(plat));
	rc |= key_add(k, &mode, sizeof(mode));
	rc |= key_add(k, &cnt, sizeof(cnt));
	for (unsigned int i = 0; i < n && rc == 0; i++) {
		uint32_t f = flags[i], id = ids[i];

		rc |= key_add(k, &f, sizeof(f));
		rc |= key_add(k, &id, sizeof(id));
		rc |= key_add(k, expr[i], strlen(expr[i]) + 1);
	}
	if (rc != 0) {
		k->len = 0;
		return -E2BIG;
	}
	k->hash = fnv(0xcbf29ce484222325ull, k->buf, k->len);
	return 0;
}

/* "auto": /var/cache/sluice when it can be written, else $XDG_CACHE_HOME/sluice or
 * ~/.cache/sluice; "" (or NULL): no cache. */
static int
cache_dir(const char *conf, char *out, size_t len)
{
	const char *x, *h;
	int n;

	if (conf == NULL || conf[0] == '\0')
		return -ENOENT;
	if (strcmp(conf, "auto") != 0) {
		/* the config refuses longer ones (SL_CFG_CACHE_DIR_MAX); never a cut path */
		if (strlen(conf) >= len)
			return -ENAMETOOLONG;
		snprintf(out, len, "%s", conf);
		return 0;
	}
	if (access("/var/cache/sluice", W_OK) == 0 ||
	    (access("/var/cache", W_OK) == 0 && mkdir("/var/cache/sluice", 0755) == 0)) {
		snprintf(out, len, "/var/cache/sluice");
		return 0;
	}
	x = getenv("XDG_CACHE_HOME");
	h = getenv("HOME");
	if (x != NULL && x[0] == '/')
		n = snprintf(out, len, "%s/sluice", x);
	else if (h != NULL && h[0] == '/')
		n = snprintf(out, len, "%s/.cache/sluice", h);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0; /* no cache rather than a cut path */
}

static int
cache_path(const char *conf, const struct sl_match_cache_key *k, char *out, size_t len)
{
	char dir[PATH_MAX - 64];

	if (cache_dir(conf, dir, sizeof(dir)) < 0)
		return -ENOENT;
	snprintf(out, len, "%s/hs-%016" PRIx64 ".db", dir, k->hash);
	return 0;
}

int
sl_match_cache_load(const char *conf, const struct sl_match_cache_key *k, hs_database_t **db,
	uint32_t *overlap)
{
	char path[PATH_MAX];
	struct cache_hdr h;
	struct stat sb;
	uint8_t *buf = NULL;
	FILE *f;
	int rc = -EINVAL;

	if (cache_path(conf, k, path, sizeof(path)) < 0)
		return -ENOENT;
	f = fopen(path, "rb");
	if (f == NULL) {
		count(SL_MATCH_CACHE_MISSES);
		return -ENOENT;
	}
	if (fstat(fileno(f), &sb) < 0 || sb.st_size < (off_t)sizeof(h) || sb.st_size > CACHE_MAX ||
	    fread(&h, sizeof(h), 1, f) != 1 || memcmp(h.magic, CACHE_MAGIC, 8) != 0 ||
	    (uint64_t)sb.st_size != sizeof(h) + (uint64_t)h.key_len + h.db_len) {
		count(SL_MATCH_CACHE_CORRUPT);
		goto out;
	}
	if (h.key_len != k->len) {
		count(SL_MATCH_CACHE_MISMATCH);
		goto out;
	}
	buf = malloc(h.key_len + h.db_len);
	if (buf == NULL || fread(buf, 1, h.key_len + h.db_len, f) != h.key_len + h.db_len ||
	    fnv(fnv(0xcbf29ce484222325ull, &h.overlap, sizeof(h.overlap)), buf,
		h.key_len + h.db_len) != h.sum) {
		count(SL_MATCH_CACHE_CORRUPT);
		goto out;
	}
	if (memcmp(buf, k->buf, k->len) != 0) {
		count(SL_MATCH_CACHE_MISMATCH);
		goto out;
	}
	if (hs_deserialize_database((const char *)buf + h.key_len, h.db_len, db) != HS_SUCCESS) {
		count(SL_MATCH_CACHE_CORRUPT);
		goto out;
	}
	*overlap = h.overlap;
	count(SL_MATCH_CACHE_HITS);
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

void
sl_match_cache_store(const char *conf, const struct sl_match_cache_key *k,
	const hs_database_t *db, uint32_t overlap)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32], dir[PATH_MAX];
	struct cache_hdr h;
	char *bytes = NULL;
	size_t n = 0;
	FILE *f;
	bool ok;

	if (cache_path(conf, k, path, sizeof(path)) < 0)
		return;
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	(void)mkdir(dir, 0755); /* one level: the parent is /var/cache, ~/.cache or the user's */
	if (hs_serialize_database(db, &bytes, &n) != HS_SUCCESS) {
		count(SL_MATCH_CACHE_WRITE_ERRORS);
		return;
	}
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, CACHE_MAGIC, 8);
	h.key_len = (uint32_t)k->len;
	h.overlap = overlap;
	h.db_len = n;
	h.sum = fnv(fnv(fnv(0xcbf29ce484222325ull, &h.overlap, sizeof(h.overlap)), k->buf, k->len),
		bytes, n);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	f = fopen(tmp, "wb");
	ok = f != NULL && fwrite(&h, sizeof(h), 1, f) == 1 &&
	     fwrite(k->buf, 1, k->len, f) == k->len && fwrite(bytes, 1, n, f) == n;
	if (f != NULL && fclose(f) != 0)
		ok = false;
	if (ok && rename(tmp, path) == 0)
		count(SL_MATCH_CACHE_WRITES);
	else {
		if (f != NULL)
			unlink(tmp);
		count(SL_MATCH_CACHE_WRITE_ERRORS);
	}
	free(bytes);
}
