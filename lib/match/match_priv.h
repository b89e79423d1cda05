/* match_priv.h: the detection object's layout and the list loaders, private to lib/match. */
#ifndef SL_MATCH_PRIV_H
#define SL_MATCH_PRIV_H

#include <hs/hs.h>

#include "sl_match.h"

/* Pool names: open addressing on a 64-bit hash of the lower-case name. */
struct sl_domset {
	uint32_t n;        /**< names */
	uint32_t mask;     /**< slots - 1 (power of two) */
	uint64_t *hash;    /**< per slot, 0 = empty */
	uint32_t *off;     /**< per slot, offset of the name in text */
	uint16_t *len;     /**< per slot, name length */
	char *text;        /**< names, NUL separated */
	size_t text_len;
};

/* Pool addresses: sorted, merged, disjoint [lo, hi] ranges in the 16-byte space. */
struct sl_range {
	uint8_t lo[16];
	uint8_t hi[16];
};

struct sl_ipset {
	uint32_t n;
	struct sl_range *r;
};

struct sl_match_db {
	hs_database_t *hs;          /**< NULL if no pattern is enabled */
	hs_scratch_t **scratch;     /**< one per worker */
	unsigned int nscratch;
	uint32_t overlap;           /**< widest pattern: bytes rescanned before new data */
	uint32_t npatterns;
	uint16_t *pat_target;       /**< HS id -> detector or SL_PAT_TERM | term */
	uint32_t generation;
	uint64_t enabled;           /**< detector bits */
	uint8_t weight[SL_DET_MAX];
	struct sl_domset names;
	struct sl_ipset ips;
};

#define SL_PAT_TERM 0x8000

/** The exact input of a database compile (cache.c): what a cached file must match. */
struct sl_match_cache_key {
	size_t len;
	uint64_t hash;       /**< FNV-1a of buf: the file name */
	uint8_t buf[65536];
};

int sl_match_cache_key(struct sl_match_cache_key *k, const char *const *expr,
	const unsigned int *flags, const unsigned int *ids, unsigned int n);
/** @return 0 with *db and *overlap on a hit, <0 on a miss (counted) */
int sl_match_cache_load(const char *dir, const struct sl_match_cache_key *k, hs_database_t **db,
	uint32_t *overlap);
/** Write (temporary file + rename); failures are counted, never fatal. */
void sl_match_cache_store(const char *dir, const struct sl_match_cache_key *k,
	const hs_database_t *db, uint32_t overlap);

int sl_domset_load(struct sl_domset *d, const char *path, char *err, size_t errlen);
void sl_domset_free(struct sl_domset *d);
bool sl_domset_match(const struct sl_domset *d, const char *name, size_t len);

int sl_ipset_load(struct sl_ipset *s, const char *path, char *err, size_t errlen);
void sl_ipset_free(struct sl_ipset *s);
bool sl_ipset_match(const struct sl_ipset *s, const uint8_t addr[16]);

int sl_detectors_load(const char *path, uint64_t *enabled, uint8_t *weight, char *err,
	size_t errlen);

#endif /* SL_MATCH_PRIV_H */
