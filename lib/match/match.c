/* match.c: the detector and pattern tables, building and publishing the detection object,
 * and per-flow inspection (see sl_match.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "match_priv.h"
#include "sl_cfg.h"
#include "sl_common.h"

_Static_assert(sizeof(struct sl_event) <= 120, "an event fits a channel record");
_Static_assert(sizeof(struct sl_mstate) == 64, "flow inspection state is one cache line");
_Static_assert(SL_DET_MAX <= 64, "detector bits fit a u64");
_Static_assert(SL_TERM_MAX <= 32, "term bits fit a u32");

/* ---- tables ---- */

static const struct {
	const char *name, *proto, *help;
	uint32_t sid;
	uint8_t weight;
} det_tab[SL_DET_MAX] = {
#define SL_DET_ROW(n, p, w, sid, h) [SL_DET_##n] = {#n, p, h, sid, w},
	SL_DETECTORS(SL_DET_ROW)
#undef SL_DET_ROW
};

/* JSON building blocks: any whitespace (bounded, so every pattern has a finite width) around
 * ':'; keys and method names are matched with their quotes. */
#define WS "\\s{0,16}"
#define JM(m) "\"method\"" WS ":" WS "\"" m "\""
#define JK(k) "\"" k "\"" WS ":"
#define JT(t) "\"type\"" WS ":" WS "\"" t "\""
#define HEX "[0-9a-fA-F]"
#define MINERS                                                                               \
	"(xmrig|xmrig-proxy|xmr-stak|xmr-stak-cpu|xmr-stak-rx|xmr-stak-amd|xmr-stak-nvidia|"      \
	"xmr-node-proxy|cpuminer|cpuminer-multi|cpuminer-opt|cgminer|bfgminer|sgminer|ccminer|"    \
	"ethminer|lolminer|teamredminer|phoenixminer|nbminer|t-rex|srbminer|srbminer-multi|"      \
	"gminer|nanominer|minergate[a-z0-9_-]{0,16}|winreport|rhminer|claymore|kawpowminer|"       \
	"nheqminer|ewbf|bminer|wildrig|wildrig-multi|xmr-eth-proxy|bmminer|bosminer|btminer|"     \
	"cgminer-lite|xmrigcc|xmrig-nvidia|xmrig-amd|nicehashminer|cryptodredge|z-enemy|"          \
	"excavator|miniz|kawpowminer|teamblackminer|onezerominer|rigel|bzminer)"
/* an optional edition after the name: XMRig-NVIDIA/2.14, cpuminer-gr/1.2, SRBMiner-MULTI/2.4 */
#define EDITION "([-_][a-z0-9]{1,12})?"
#define HTTP_MINERS                                                                          \
	"(xmrig|xmr-stak|cpuminer|cpuminer-multi|cpuminer-opt|cgminer|bfgminer|sgminer|ccminer|"  \
	"ethminer|poclbm|diablominer|diablo|minerd|bitcoin-miner|jsonrpc-miner|phoenix|"          \
	"rpcminer|ufasoft|btcminer|pyminer|nheqminer|claymore)"
#define F_CASE HS_FLAG_CASELESS

/* X(detector, hs flags, regex): patterns that fire a detector directly. */
#define SL_DET_PATTERNS(X)                                                                   \
	X(stratum_subscribe, 0, JM("mining\\.subscribe"))                                     \
	X(stratum_authorize, 0, JM("mining\\.authorize"))                                     \
	X(stratum_submit, 0, JM("mining\\.submit"))                                           \
	X(stratum_configure, 0, JM("mining\\.configure"))                                     \
	X(stratum_extranonce_subscribe, 0, JM("mining\\.extranonce\\.subscribe"))             \
	X(stratum_suggest_difficulty, 0, JM("mining\\.suggest_(difficulty|target)"))          \
	X(stratum_notify, 0, JM("mining\\.notify"))                                           \
	X(stratum_set_difficulty, 0, JM("mining\\.set_difficulty"))                           \
	X(stratum_set_extranonce, 0, JM("mining\\.set_extranonce"))                           \
	X(stratum_set_version_mask, 0, JM("mining\\.set_version_mask"))                       \
	X(stratum_set_target, 0, JM("mining\\.set_target"))                                   \
	X(stratum_get_transactions, 0, JM("mining\\.get_transactions"))                       \
	X(stratum_client_method, 0, JM("client\\.(get_version|show_message|reconnect)"))      \
	X(stratum_subscribe_reply, 0,                                                         \
		JK("result") WS "\\[" WS "\\[" WS "\\[?" WS "\"mining\\.(notify|set_difficulty)\"") \
	X(xmr_keepalived, 0, JM("keepalived"))                                                \
	X(miner_agent, F_CASE, "\"" MINERS EDITION "/[0-9]")                                          \
	X(eth_submit_login, 0, JM("eth_submitLogin"))                                         \
	X(eth_get_work, 0, JM("eth_getWork"))                                                 \
	X(eth_submit_work, 0, JM("eth_submitWork"))                                           \
	X(eth_submit_hashrate, 0, JM("eth_submitHashrate"))                                   \
	X(eth_stratum_nicehash, 0, "\"EthereumStratum/[0-9]")                                 \
	X(http_getwork, 0, JM("getwork"))                                                     \
	X(http_getblocktemplate, 0, JM("getblocktemplate"))                                   \
	X(http_submitblock, 0, JM("submitblock"))                                             \
	X(http_mining_extensions, F_CASE, "\\nX-Mining-Extensions[ \\t]{0,16}:")              \
	X(http_stratum_header, F_CASE, "\\nX-Stratum[ \\t]{0,16}:")                          \
	X(http_miner_ua, F_CASE, "\\nUser-Agent[ \\t]{0,16}:[ \\t]{0,16}" HTTP_MINERS "/")    \
	X(web_miner_script, F_CASE,                                                           \
		"(coinhive\\.min\\.js|coinhive\\.(anonymous|user|token)|authedmine\\.min\\.js|"   \
		"cryptonightwasmwrapper|cryptonight\\.wasm|crlt\\.anonymous|"                     \
		"cryptoloot\\.anonymous|deepminer\\.anonymous|wmp\\.anonymous|coinimp\\.anonymous|" \
		"bitcoinplusminer\\(|client\\.anonymous\\(|coinhave\\.anonymous|load\\.jsecoin\\.com|" \
		"webmr\\.js|minero\\.min\\.js|coinimp\\.com/scripts)")

/* X(term, hs flags, regex): composite pieces. */
#define SL_TERM_PATTERNS(X)                                                                  \
	X(m_login, 0, JM("login"))                                                            \
	X(m_submit, 0, JM("submit"))                                                          \
	X(t_auth, 0, JT("auth"))                                                              \
	X(t_job, 0, JT("job"))                                                                \
	X(t_submit, 0, JT("submit"))                                                          \
	X(pass, 0, JK("pass"))                                                                \
	X(agent, 0, JK("agent"))                                                              \
	X(rigid, 0, JK("rigid"))                                                              \
	X(algo_list, 0, JK("algo") WS "\\[")                                                  \
	X(wallet_login, 0, JK("login") WS "\"[48][1-9A-HJ-NP-Za-km-z]{94}")                  \
	X(blob_hex, 0, JK("blob") WS "\"" HEX "{76}")                                         \
	X(blob_key, 0, JK("blob"))                                                            \
	X(job_id, 0, JK("job_id"))                                                            \
	X(target, 0, JK("target"))                                                            \
	X(seed_hash, 0, JK("seed_hash"))                                                      \
	X(height, 0, JK("height"))                                                            \
	X(nonce_hex, 0, JK("nonce") WS "\"" HEX "{8}\"")                                      \
	X(result_hex, 0, JK("result") WS "\"" HEX "{64}\"")                                   \
	X(site_key, 0, JK("site_key"))

#define T(x) (1u << SL_TERM_##x)

/* X(detector, required terms, optional terms, optional terms needed) */
#define SL_COMPOSITES(X)                                                                     \
	X(xmr_login, T(m_login), T(pass) | T(agent) | T(rigid) | T(algo_list) | T(wallet_login), 2) \
	X(xmr_job, T(blob_hex), T(job_id) | T(target) | T(seed_hash) | T(height), 2)          \
	X(xmr_submit, T(m_submit), T(job_id) | T(nonce_hex) | T(result_hex), 2)               \
	X(ws_miner_auth, T(t_auth) | T(site_key), 0, 0)                                       \
	X(ws_miner_job, T(t_job), T(job_id) | T(blob_key) | T(target), 2)                     \
	X(ws_miner_submit, T(t_submit), T(job_id) | T(nonce_hex) | T(result_hex), 2)

static const struct {
	uint8_t det;
	uint32_t req, opt;
	uint8_t need;
} comp_tab[] = {
#define SL_COMP_ROW(d, r, o, n) {SL_DET_##d, r, o, n},
	SL_COMPOSITES(SL_COMP_ROW)
#undef SL_COMP_ROW
};

#define NCOMP (sizeof(comp_tab) / sizeof(comp_tab[0]))

static const struct {
	const char *label; /* for compile errors */
	const char *re;
	unsigned int flags;
	uint16_t target;
} pat_tab[] = {
#define SL_DPAT_ROW(d, f, re) {#d, re, f, SL_DET_##d},
	SL_DET_PATTERNS(SL_DPAT_ROW)
#undef SL_DPAT_ROW
#define SL_TPAT_ROW(t, f, re) {"term " #t, re, f, SL_PAT_TERM | SL_TERM_##t},
	SL_TERM_PATTERNS(SL_TPAT_ROW)
#undef SL_TPAT_ROW
};

#define NPAT (sizeof(pat_tab) / sizeof(pat_tab[0]))
#define SL_OVERLAP_MAX 512 /* widest pattern we accept */

static const char *const counter_names[] = {
#define SL_MATCH_NAME(n, h) #n,
	SL_MATCH_COUNTERS(SL_MATCH_NAME)
#undef SL_MATCH_NAME
};

const char *
sl_det_name(unsigned int det)
{
	return det < SL_DET_MAX ? det_tab[det].name : "?";
}

const char *
sl_det_protocol(unsigned int det)
{
	return det < SL_DET_MAX ? det_tab[det].proto : "?";
}

const char *
sl_det_help(unsigned int det)
{
	return det < SL_DET_MAX ? det_tab[det].help : "?";
}

uint32_t
sl_det_sid(unsigned int det)
{
	return det < SL_DET_MAX ? det_tab[det].sid : 0;
}

unsigned int
sl_det_default_weight(unsigned int det)
{
	return det < SL_DET_MAX ? det_tab[det].weight : 0;
}

int
sl_det_lookup(const char *name)
{
	for (unsigned int i = 0; i < SL_DET_MAX; i++)
		if (name != NULL && strcmp(name, det_tab[i].name) == 0)
			return (int)i;
	return -1;
}

unsigned int
sl_match_num_counters(void)
{
	return (unsigned int)(sizeof(struct sl_match_stats) / sizeof(uint64_t));
}

const char *
sl_match_counter_name(unsigned int i)
{
	return i < sizeof(counter_names) / sizeof(counter_names[0]) ? counter_names[i] : "?";
}

/* ---- building ---- */

void
sl_match_db_free(struct sl_match_db *db)
{
	if (db == NULL)
		return;
	for (unsigned int i = 0; i < db->nscratch; i++)
		if (db->scratch[i] != NULL)
			hs_free_scratch(db->scratch[i]);
	free(db->scratch);
	if (db->hs != NULL)
		hs_free_database(db->hs);
	free(db->pat_target);
	sl_domset_free(&db->names);
	sl_ipset_free(&db->ips);
	free(db);
}

/* Is a pattern needed with this set of enabled detectors? */
static bool
pattern_wanted(uint16_t target, uint64_t enabled)
{
	if (!(target & SL_PAT_TERM))
		return (enabled >> target) & 1;
	for (unsigned int c = 0; c < NCOMP; c++)
		if (((enabled >> comp_tab[c].det) & 1) &&
		    ((comp_tab[c].req | comp_tab[c].opt) & (1u << (target & 0xff))))
			return true;
	return false;
}

/* Width checks and the widest pattern (the rescan overlap); only when compiling. */
static int
pattern_widths(struct sl_match_db *db, const unsigned int *sel, const unsigned int *flags,
	unsigned int n, char *err, size_t errlen)
{
	hs_compile_error_t *cerr = NULL;

	for (unsigned int k = 0; k < n; k++) {
		unsigned int i = sel[k];
		hs_expr_info_t *info = NULL;

		if (hs_expression_info(pat_tab[i].re, flags[k], &info, &cerr) != HS_SUCCESS) {
			snprintf(err, errlen, "pattern %s /%s/: %s", pat_tab[i].label, pat_tab[i].re,
				cerr->message);
			hs_free_compile_error(cerr);
			return -EINVAL;
		}
		if (info->max_width == UINT_MAX || info->max_width > SL_OVERLAP_MAX) {
			snprintf(err, errlen, "pattern %s /%s/: unbounded or wider than %u bytes",
				pat_tab[i].label, pat_tab[i].re, SL_OVERLAP_MAX);
			free(info);
			return -EINVAL;
		}
		if (info->max_width > db->overlap)
			db->overlap = info->max_width;
		free(info);
	}
	return 0;
}

static int
compile(struct sl_match_db *db, const struct sl_match_conf *c, char *err, size_t errlen)
{
	const char *expr[NPAT];
	unsigned int flags[NPAT], ids[NPAT], sel[NPAT], nworkers = c->nworkers;
	hs_compile_error_t *cerr = NULL;
	hs_scratch_t *proto = NULL;
	struct sl_match_cache_key *key = NULL;
	unsigned int n = 0;
	int rc;

	db->pat_target = calloc(NPAT, sizeof(*db->pat_target));
	db->scratch = calloc(nworkers > 0 ? nworkers : 1, sizeof(*db->scratch));
	if (db->pat_target == NULL || db->scratch == NULL)
		return -ENOMEM;
	for (unsigned int i = 0; i < NPAT; i++) {
		if (!pattern_wanted(pat_tab[i].target, db->enabled))
			continue;
		flags[n] = pat_tab[i].flags | HS_FLAG_SINGLEMATCH;
		expr[n] = pat_tab[i].re;
		ids[n] = n;
		sel[n] = i;
		db->pat_target[n] = pat_tab[i].target;
		n++;
	}
	db->npatterns = n;
	db->nscratch = nworkers;
	if (n == 0)
		return pattern_widths(db, sel, flags, n, err, errlen);
	if (c->hs_cache_dir != NULL && c->hs_cache_dir[0] != '\0') {
		key = malloc(sizeof(*key));
		if (key != NULL && (sl_match_cache_key(key, expr, flags, ids, n) < 0 ||
				    sl_match_cache_load(c->hs_cache_dir, key, &db->hs,
					    &db->overlap) < 0)) {
			db->hs = NULL;
			db->overlap = 0;
		}
	}
	if (db->hs == NULL) {
		rc = pattern_widths(db, sel, flags, n, err, errlen);
		if (rc < 0) {
			free(key);
			return rc;
		}
		if (hs_compile_multi(expr, flags, ids, n, HS_MODE_BLOCK, NULL, &db->hs, &cerr) !=
		    HS_SUCCESS) {
			if (cerr->expression >= 0)
				snprintf(err, errlen, "pattern /%s/: %s", expr[cerr->expression],
					cerr->message);
			else
				snprintf(err, errlen, "pattern database: %s", cerr->message);
			hs_free_compile_error(cerr);
			free(key);
			return -EINVAL;
		}
		if (key != NULL && key->len > 0)
			sl_match_cache_store(c->hs_cache_dir, key, db->hs, db->overlap);
	}
	free(key);
	if (hs_alloc_scratch(db->hs, &proto) != HS_SUCCESS) {
		snprintf(err, errlen, "Hyperscan scratch allocation failed");
		return -ENOMEM;
	}
	for (unsigned int w = 0; w < nworkers; w++) {
		if (hs_clone_scratch(proto, &db->scratch[w]) != HS_SUCCESS) {
			hs_free_scratch(proto);
			snprintf(err, errlen, "Hyperscan scratch clone failed");
			return -ENOMEM;
		}
	}
	hs_free_scratch(proto);
	return 0;
}

struct sl_match_db *
sl_match_db_build(const struct sl_match_conf *c, char *err, size_t errlen)
{
	struct sl_match_db *db;
	int rc;

	if (hs_valid_platform() != HS_SUCCESS) {
		snprintf(err, errlen, "this CPU lacks the instructions Hyperscan needs (SSSE3)");
		rte_errno = ENOTSUP;
		return NULL;
	}
	db = calloc(1, sizeof(*db));
	if (db == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	db->enabled = SL_DET_MAX == 64 ? UINT64_MAX : (1ull << SL_DET_MAX) - 1;
	for (unsigned int i = 0; i < SL_DET_MAX; i++)
		db->weight[i] = det_tab[i].weight;
	rc = sl_detectors_load(c->detectors_path, &db->enabled, db->weight, err, errlen);
	if (rc == 0)
		rc = sl_domset_load(&db->names, c->domains_path, err, errlen);
	if (rc == 0)
		rc = sl_ipset_load(&db->ips, c->ips_path, err, errlen);
	if (rc == 0)
		rc = compile(db, c, err, errlen);
	if (rc < 0) {
		if (rc == -ENOMEM && err[0] == '\0')
			snprintf(err, errlen, "out of memory building the detection tables");
		sl_match_db_free(db);
		rte_errno = -rc;
		return NULL;
	}
	return db;
}

void
sl_match_db_sizes(const struct sl_match_db *db, uint32_t *domains, uint32_t *ranges,
	uint32_t *detectors, uint32_t *patterns)
{
	*domains = db->names.n;
	*ranges = db->ips.n;
	*detectors = (uint32_t)__builtin_popcountll(db->enabled);
	*patterns = db->npatterns;
}

uint32_t
sl_match_db_generation(const struct sl_match_db *db)
{
	return db->generation;
}

unsigned int
sl_match_db_weight(const struct sl_match_db *db, unsigned int det)
{
	if (det >= SL_DET_MAX || !((db->enabled >> det) & 1))
		return 0;
	return db->weight[det];
}

bool
sl_match_pool_ip(const struct sl_match_db *db, const uint8_t addr[16])
{
	return db->ips.n > 0 && sl_ipset_match(&db->ips, addr);
}

bool
sl_match_pool_name(const struct sl_match_db *db, const char *name, size_t len)
{
	return sl_domset_match(&db->names, name, len);
}

/* ---- publication ---- */

struct sl_match {
	struct sl_match_db *cur;     /**< published object (RELEASE store, ACQUIRE load) */
	struct sl_match_db *old;     /**< replaced, waiting for the grace period */
	uint64_t token;              /**< rte_rcu_qsbr_start() token for old */
	struct rte_rcu_qsbr *qs;     /**< one reader per worker */
	uint32_t generation;
	struct sl_match_conf conf;
	char paths[4][PATH_MAX];
};

struct sl_match *
sl_match_create(const struct sl_match_conf *c, char *err, size_t errlen)
{
	struct sl_match *m = calloc(1, sizeof(*m));
	size_t sz;

	if (m == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	m->conf = *c;
	snprintf(m->paths[0], PATH_MAX, "%s", c->domains_path ? c->domains_path : "");
	snprintf(m->paths[1], PATH_MAX, "%s", c->ips_path ? c->ips_path : "");
	snprintf(m->paths[2], PATH_MAX, "%s", c->detectors_path ? c->detectors_path : "");
	snprintf(m->paths[3], PATH_MAX, "%s", c->hs_cache_dir ? c->hs_cache_dir : "");
	m->conf.hs_cache_dir = m->paths[3];
	m->conf.domains_path = m->paths[0];
	m->conf.ips_path = m->paths[1];
	m->conf.detectors_path = m->paths[2];
	sz = rte_rcu_qsbr_get_memsize(c->nworkers > 0 ? c->nworkers : 1);
	m->qs = rte_zmalloc_socket("sl_match_rcu", sz, RTE_CACHE_LINE_SIZE, c->socket);
	if (m->qs == NULL || rte_rcu_qsbr_init(m->qs, c->nworkers > 0 ? c->nworkers : 1) != 0) {
		snprintf(err, errlen, "RCU state: %s", rte_strerror(rte_errno));
		rte_free(m->qs);
		free(m);
		return NULL;
	}
	for (unsigned int w = 0; w < c->nworkers; w++)
		rte_rcu_qsbr_thread_register(m->qs, w);
	m->cur = sl_match_db_build(&m->conf, err, errlen);
	if (m->cur == NULL) {
		int e = rte_errno;

		rte_free(m->qs);
		free(m);
		rte_errno = e;
		return NULL;
	}
	m->cur->generation = ++m->generation;
	return m;
}

void
sl_match_free(struct sl_match *m)
{
	if (m == NULL)
		return;
	sl_match_db_free(m->old);
	sl_match_db_free(m->cur);
	rte_free(m->qs);
	free(m);
}

void
sl_match_reclaim(struct sl_match *m)
{
	/* non-blocking: a worker that has not passed a quiescent state since the swap may
	 * still hold the old object */
	if (m->old != NULL && rte_rcu_qsbr_check(m->qs, m->token, false) == 1) {
		sl_match_db_free(m->old);
		m->old = NULL;
	}
}

int
sl_match_reload(struct sl_match *m, char *err, size_t errlen)
{
	struct sl_match_db *db;

	sl_match_reclaim(m);
	if (m->old != NULL) {
		snprintf(err, errlen, "the previous reload is still being retired; try again");
		return -EBUSY;
	}
	db = sl_match_db_build(&m->conf, err, errlen);
	if (db == NULL)
		return -rte_errno;
	db->generation = ++m->generation;
	m->old = m->cur;
	/* RELEASE: a worker that loads the new pointer sees the object fully built */
	SL_STORE_RELEASE(&m->cur, db);
	m->token = rte_rcu_qsbr_start(m->qs);
	return 0;
}

const struct sl_match_db *
sl_match_current(const struct sl_match *m)
{
	return SL_LOAD_ACQUIRE(&m->cur);
}

void
sl_match_worker_online(struct sl_match *m, unsigned int worker)
{
	rte_rcu_qsbr_thread_online(m->qs, worker);
}

void
sl_match_worker_offline(struct sl_match *m, unsigned int worker)
{
	rte_rcu_qsbr_thread_offline(m->qs, worker);
}

const struct sl_match_db *
sl_match_acquire(const struct sl_match *m)
{
	return SL_LOAD_ACQUIRE(&m->cur);
}

void
sl_match_quiescent(struct sl_match *m, unsigned int worker)
{
	rte_rcu_qsbr_quiescent(m->qs, worker);
}

/* ---- inspection ---- */

struct scan_hit {
	uint16_t id;
	uint32_t to;
};

struct scan_ctx {
	uint32_t base;   /* offset of the scanned slice in data */
	uint32_t min_to; /* matches ending at or before this were reported by an earlier scan */
	unsigned int n;
	struct scan_hit hit[NPAT];
};

static int
on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
	void *arg)
{
	struct scan_ctx *c = arg;
	uint32_t end = c->base + (uint32_t)to;

	(void)from;
	(void)flags;
	if (end > c->min_to && c->n < NPAT) {
		c->hit[c->n].id = (uint16_t)id;
		c->hit[c->n].to = end;
		c->n++;
	}
	return 0; /* record and go on: every detector gets its chance */
}

/* Report one detector on this flow (once). ex/exlen: evidence bytes ending at the match. */
static void
fire(struct sl_match_wctx *x, const struct sl_match_db *db, struct sl_mstate *st,
	const struct sl_match_flow *fl, unsigned int det, int dir, const uint8_t *ex,
	uint32_t exlen, uint32_t stream_off)
{
	struct sl_event ev;
	uint64_t bit = 1ull << det;

	if ((st->fired & bit) || !(db->enabled & bit))
		return;
	st->fired |= bit;
	memset(&ev, 0, sizeof(ev));
	ev.ts_us = fl->now_us;
	ev.flow_id = fl->flow_id;
	memcpy(ev.src, fl->src, 16);
	memcpy(ev.dst, fl->dst, 16);
	ev.sport = fl->sport;
	ev.dport = fl->dport;
	ev.proto = fl->proto;
	ev.detector = (uint8_t)det;
	ev.host = fl->host;
	ev.dir = (uint8_t)dir;
	ev.offset = stream_off;
	if (exlen > SL_EVIDENCE_MAX) {
		ex += exlen - SL_EVIDENCE_MAX;
		exlen = SL_EVIDENCE_MAX;
	}
	ev.excerpt_len = (uint8_t)exlen;
	if (exlen > 0)
		memcpy(ev.excerpt, ex, exlen);
	x->st.events++;
	x->det_count[det]++;
	if (x->emit != NULL && x->emit(x->emit_arg, &ev) < 0)
		x->st.events_lost++;
}

static void
fire_name(struct sl_match_wctx *x, const struct sl_match_db *db, struct sl_mstate *st,
	const struct sl_match_flow *fl, unsigned int det, int dir, const char *name, size_t n,
	uint32_t stream_off)
{
	fire(x, db, st, fl, det, dir, (const uint8_t *)name, (uint32_t)n, stream_off);
}

/* Hyperscan over data[start, len); hits ending at or before min_to are old news. Stream
 * offsets are base_off + position in data. */
static void
scan(struct sl_match_wctx *x, const struct sl_match_db *db, struct sl_mstate *st,
	const struct sl_match_flow *fl, int dir, const uint8_t *data, uint32_t start,
	uint32_t len, uint32_t min_to, uint32_t base_off)
{
	struct scan_ctx c;
	hs_error_t e;

	if (db->hs == NULL || start >= len)
		return;
	if (unlikely(x->worker >= db->nscratch)) { /* no scratch for this worker */
		x->st.scan_errors++;
		return;
	}
	c.base = start;
	c.min_to = min_to;
	c.n = 0;
	x->st.scans++;
	x->st.scanned_bytes += len - start;
	e = hs_scan(db->hs, (const char *)data + start, len - start, 0, db->scratch[x->worker],
		on_match, &c);
	if (unlikely(e != HS_SUCCESS)) {
		x->st.scan_errors++;
		return;
	}
	for (unsigned int i = 0; i < c.n; i++) {
		uint16_t t = db->pat_target[c.hit[i].id];
		uint32_t to = c.hit[i].to;

		if (!(t & SL_PAT_TERM)) {
			fire(x, db, st, fl, t, dir, data, to, base_off + to);
			continue;
		}
		st->terms[dir] |= 1u << (t & 0xff);
		for (unsigned int k = 0; k < NCOMP; k++) {
			uint32_t have = st->terms[dir];

			if ((st->fired >> comp_tab[k].det) & 1)
				continue;
			if ((have & comp_tab[k].req) != comp_tab[k].req)
				continue;
			if ((unsigned int)__builtin_popcount(have & comp_tab[k].opt) < comp_tab[k].need)
				continue;
			fire(x, db, st, fl, comp_tab[k].det, dir, data, to, base_off + to);
		}
	}
}

static void
check_name(struct sl_match_wctx *x, const struct sl_match_db *db, struct sl_mstate *st,
	const struct sl_match_flow *fl, unsigned int det, int dir, const char *name, size_t n,
	uint32_t off)
{
	if (n > 0 && sl_domset_match(&db->names, name, n))
		fire_name(x, db, st, fl, det, dir, name, n, off);
}

static void
dns_message(struct sl_match_wctx *x, const struct sl_match_db *db, struct sl_mstate *st,
	const struct sl_match_flow *fl, int dir, const uint8_t *msg, uint32_t len, uint32_t end)
{
	char name[256];
	int n = sl_dns_qname(msg, len, name, sizeof(name));

	x->st.dns_messages++;
	if (n == -EINVAL)
		x->st.dns_malformed++;
	if (n > 0)
		check_name(x, db, st, fl, SL_DET_dns_pool_name, dir, name, (size_t)n, end);
}

static inline uint32_t
rd_le24(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

/* SV2 mining message types: those sent without and with the channel_msg bit (0x8000). */
static bool
sv2_mining_type(uint16_t ext, uint8_t type)
{
	if (ext == 0x0000)
		return type == 0x10 || type == 0x11 || type == 0x13 || type == 0x14;
	if (ext == 0x8000)
		return type == 0x15 || type == 0x1a || type == 0x1b || type == 0x1c ||
		       type == 0x1f || type == 0x20 || type == 0x21;
	return false;
}

/* Walk plaintext SV2 frames of one direction from app_off. */
static void
sv2_walk(struct sl_match_wctx *x, const struct sl_match_db *db, struct sl_mstate *st,
	const struct sl_match_flow *fl, int dir, const uint8_t *buf, uint32_t len)
{
	uint32_t off = st->app_off[dir];

	while (!(st->flags & SL_MS_SV2_BAD) && off + 6 <= len) {
		uint16_t ext = (uint16_t)(buf[off] | buf[off + 1] << 8);
		uint8_t type = buf[off + 2];
		uint32_t fl_len = rd_le24(buf + off + 3);

		if ((ext & 0x7fff) != 0 || (type >= 0x30 && type < 0x50) || type >= 0x80) {
			st->flags |= SL_MS_SV2_BAD; /* not a frame we know: stop walking */
			break;
		}
		if (off + 6 + fl_len > len && len < x->window)
			break; /* wait for the rest */
		x->st.sv2_frames++;
		if (sv2_mining_type(ext, type))
			fire(x, db, st, fl, SL_DET_sv2_mining, dir, buf + off,
				SL_MIN(6u + fl_len, len - off), off + 6);
		off += 6 + fl_len;
	}
	st->app_off[dir] = off;
}

/* The client's stream starts with SetupConnection(protocol 0 = mining, versions 2..2)? */
static int
sv2_setup(const uint8_t *p, uint32_t len)
{
	uint32_t fl;

	if (len < 11)
		return -EAGAIN;
	if (p[0] != 0 || p[1] != 0 || p[2] != 0x00)
		return -EINVAL;
	fl = rd_le24(p + 3);
	if (fl < 5 + 4 + 1 + 2 + 4 || fl > 2048)
		return -EINVAL;
	if (p[6] != 0 || p[7] != 2 || p[8] != 0 || p[9] != 2 || p[10] != 0)
		return -EINVAL;
	return 0;
}

/* 64 bytes that look like an ElligatorSwift key: many distinct byte values, not text. */
static bool
looks_random(const uint8_t *p, uint32_t n)
{
	uint64_t seen[4] = {0, 0, 0, 0};
	unsigned int distinct = 0, text = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint8_t b = p[i];

		if (!((seen[b >> 6] >> (b & 63)) & 1)) {
			seen[b >> 6] |= 1ull << (b & 63);
			distinct++;
		}
		if (b >= 0x20 && b < 0x7f)
			text++;
	}
	return distinct >= 44 && text < n - 8;
}

static void
ws_walk(struct sl_match_wctx *x, const struct sl_match_db *db, struct sl_mstate *st,
	const struct sl_match_flow *fl, int dir, const uint8_t *buf, uint32_t len)
{
	uint32_t off = st->app_off[dir];

	while (off < len) {
		struct sl_ws_frame f;
		uint64_t pend;
		uint32_t ps, avail;
		int r = sl_ws_frame(buf + off, len - off, &f);

		if (r == -EAGAIN)
			break;
		if (r < 0) {
			off = x->window; /* not WebSocket after all: stop */
			break;
		}
		ps = off + f.hdr_len;
		pend = (uint64_t)ps + f.len;
		if (pend > len && len < x->window)
			break; /* the rest of the frame is still to come */
		avail = (uint32_t)SL_MIN(pend, (uint64_t)len) - ps;
		if (pend > len)
			x->st.ws_truncated++;
		if (f.opcode <= 2) {
			if (f.rsv1) {
				x->st.ws_compressed++;
			} else if (avail > 0) {
				x->st.ws_frames++;
				sl_ws_unmask(x->work, buf + ps, avail, f.mask, 0);
				scan(x, db, st, fl, dir, x->work, 0, avail, 0, ps);
			}
		}
		off = pend > x->window ? x->window : (uint32_t)pend;
	}
	st->app_off[dir] = off;
}

static void
dns_tcp_walk(struct sl_match_wctx *x, const struct sl_match_db *db, struct sl_mstate *st,
	const struct sl_match_flow *fl, int dir, const uint8_t *buf, uint32_t len)
{
	uint32_t off = st->app_off[dir];

	while (off + 2 <= len) {
		uint32_t ml = (uint32_t)buf[off] << 8 | buf[off + 1];

		if (off + 2 + ml > len) {
			if (len >= x->window && len - off - 2 >= 12) /* cut by the window */
				dns_message(x, db, st, fl, dir, buf + off + 2, len - off - 2, len);
			break;
		}
		dns_message(x, db, st, fl, dir, buf + off + 2, ml, off + 2 + ml);
		off += 2 + ml;
	}
	st->app_off[dir] = off;
}

static bool
http_method_start(const uint8_t *p, uint32_t len)
{
	static const char *const m[] = {"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ",
		"PATCH ", "CONNECT "};

	for (unsigned int i = 0; i < RTE_DIM(m); i++) {
		size_t n = strlen(m[i]);

		if (memcmp(p, m[i], SL_MIN((size_t)len, n)) == 0)
			return true;
	}
	return false;
}

/* Decide from the client's first bytes which parsers the flow needs. */
static void
classify(struct sl_mstate *st, const struct sl_match_flow *fl, const uint8_t *p, uint32_t len,
	uint32_t window)
{
	if (len < 11 && len < window)
		return; /* too little to tell; the raw scan still runs */
	st->flags |= SL_MS_CLASSIFIED;
	if (fl->sport == 53 || fl->dport == 53)
		st->app = SL_APP_DNS;
	else if (len >= 3 && p[0] == 0x16 && p[1] == 0x03 && p[2] <= 0x04)
		st->app = SL_APP_TLS;
	else if (http_method_start(p, len))
		st->app = SL_APP_HTTP;
	else if (sv2_setup(p, len) == 0)
		st->app = SL_APP_SV2;
	else
		st->app = SL_APP_OTHER;
}

static void
inspect_http(struct sl_match_wctx *x, const struct sl_match_db *db, struct sl_mstate *st,
	const struct sl_match_flow *fl, int dir, const uint8_t *buf, uint32_t len)
{
	if (dir == 0 && !(st->flags & SL_MS_REQ_DONE)) { /* request head, once */
		struct sl_http_req r;
		int rc = sl_http_request(buf, len, &r);

		if (rc == -EAGAIN) {
			if (len < x->window)
				return;
			x->st.http_incomplete++;
		} else if (rc == 0) {
			x->st.http_requests++;
			if (r.host != NULL && r.host_len > 0 &&
			    sl_domset_match(&db->names, r.host, r.host_len)) {
				fire_name(x, db, st, fl, SL_DET_http_host_pool, 0, r.host, r.host_len,
					r.head_len);
				if (r.upgrade_ws) {
					st->flags |= SL_MS_WS_POOL;
					fire_name(x, db, st, fl, SL_DET_ws_pool_upgrade, 0, r.host,
						r.host_len, r.head_len);
				}
			}
			if (r.upgrade_ws) {
				st->flags |= SL_MS_WS_WANTED;
				st->app_off[0] = r.head_len;
			}
		}
		st->flags |= SL_MS_REQ_DONE;
	}
	if (dir == 1 && (st->flags & SL_MS_WS_WANTED) && !(st->flags & SL_MS_SRV_DONE)) {
		int status = 0;
		int rc = sl_http_response(buf, len, &status);

		if (rc == -EAGAIN && len < x->window)
			return;
		st->flags |= SL_MS_SRV_DONE;
		if (rc > 0 && status == 101) {
			st->app = SL_APP_WS;
			st->app_off[1] = (uint32_t)rc;
			x->st.ws_sessions++;
		}
	}
}

void
sl_match_flow_start(struct sl_match_wctx *x, const struct sl_match_db *db,
	const struct sl_match_flow *fl)
{
	struct sl_mstate tmp;

	if (db->ips.n == 0 || !((db->enabled >> SL_DET_pool_ip) & 1))
		return;
	if (sl_ipset_match(&db->ips, fl->dst) || sl_ipset_match(&db->ips, fl->src)) {
		char txt[64];
		const uint8_t *a = sl_ipset_match(&db->ips, fl->dst) ? fl->dst : fl->src;

		sl_addr_format(a, txt, sizeof(txt));
		memset(&tmp, 0, sizeof(tmp));
		fire_name(x, db, &tmp, fl, SL_DET_pool_ip, 0, txt, strlen(txt), 0);
	}
}

/* The known-protocol table (known.c) on the first bytes: each direction's buffer as it grows
 * (TCP, both sides together) or the first datagrams (UDP), SL_KNOWN_TRIES times at most. */
static void
recognise(struct sl_match_wctx *x, struct sl_mstate *st, const struct sl_match_flow *fl,
	int dir, const uint8_t *buf, uint32_t old_len, uint32_t new_len)
{
	int k;

	st->ktries++;
	if (fl->proto == 6) {
		const uint8_t *other = fl->other_len > 0 ? fl->other : NULL;

		k = dir == 0 ? sl_known_tcp(buf, new_len, other, fl->other_len, fl->sport, fl->dport)
			     : sl_known_tcp(other, fl->other_len, buf, new_len, fl->sport, fl->dport);
	} else {
		k = sl_known_udp(buf + old_len, new_len - old_len, fl->sport, fl->dport);
	}
	if (k > 0) {
		st->known = (uint8_t)k;
		x->st.known_flows++;
		x->known_count[k]++;
	}
}

void
sl_match_inspect(struct sl_match_wctx *x, const struct sl_match_db *db, struct sl_mstate *st,
	const struct sl_match_flow *fl, int dir, const uint8_t *buf, uint32_t old_len,
	uint32_t new_len)
{
	if (unlikely(st == NULL)) {
		x->st.no_state++;
		return;
	}
	x->st.inspected_bytes += new_len - old_len;
	if (st->known == SL_KNOWN_none && st->ktries < SL_KNOWN_TRIES)
		recognise(x, st, fl, dir, buf, old_len, new_len);
	if (fl->proto != 6) {
		/* a datagram: parsed and scanned alone */
		if (fl->sport == 53 || fl->dport == 53)
			dns_message(x, db, st, fl, dir, buf + old_len, new_len - old_len, new_len);
		scan(x, db, st, fl, dir, buf, old_len, new_len, old_len, 0);
		return;
	}
	if (!(st->flags & SL_MS_CLASSIFIED) && dir == 0)
		classify(st, fl, buf, new_len, x->window);
	switch (st->app) {
	case SL_APP_TLS:
		if (dir == 0 && !(st->flags & SL_MS_TLS_DONE)) {
			char sni[256];
			int r = sl_tls_sni(buf, new_len, x->work, x->window, sni, sizeof(sni));

			if (r == -EAGAIN && new_len < x->window)
				return;
			st->flags |= SL_MS_TLS_DONE;
			if (r > 0 || r == 0)
				x->st.tls_client_hellos++;
			if (r > 0)
				check_name(x, db, st, fl, SL_DET_tls_sni_pool, 0, sni, (size_t)r, new_len);
			else if (r == 0) {
				x->st.tls_no_sni++;
				st->flags |= SL_MS_TLS_NOSNI;
			}
			else if (r == -EAGAIN || r == -ENOSPC)
				x->st.tls_incomplete++;
			else
				x->st.tls_malformed++;
		}
		return; /* the rest is ciphertext: nothing to scan */
	case SL_APP_HTTP:
		inspect_http(x, db, st, fl, dir, buf, new_len);
		if (st->app == SL_APP_WS) /* frames may follow the 101 in the same segment */
			ws_walk(x, db, st, fl, dir, buf, new_len);
		break;
	case SL_APP_WS:
		ws_walk(x, db, st, fl, dir, buf, new_len);
		break;
	case SL_APP_SV2:
		if (dir == 0 && st->app_off[0] == 0)
			fire(x, db, st, fl, SL_DET_sv2_setup, 0, buf, 11, 11);
		sv2_walk(x, db, st, fl, dir, buf, new_len);
		break;
	case SL_APP_DNS:
		dns_tcp_walk(x, db, st, fl, dir, buf, new_len);
		break;
	default:
		break;
	}
	/* SV2 Noise handshake: 64 bytes from the client answered by exactly 234 */
	if (dir == 1 && new_len == 234 && fl->other_len == 64 && st->app == SL_APP_OTHER &&
	    looks_random(fl->other, 64)) {
		static const char shape[] = "client 64 B random, server 234 B: Noise NX acts 1-2";

		fire_name(x, db, st, fl, SL_DET_sv2_noise, 1, shape, sizeof(shape) - 1, 234);
	}
	if (st->app == SL_APP_WS) {
		/* after the upgrade only frames count: they were inspected above, unmasked, and
		 * compressed ones deliberately not */
		st->scanned[dir] = new_len;
		return;
	}
	{
		uint32_t from = st->scanned[dir] > db->overlap ? st->scanned[dir] - db->overlap : 0;

		scan(x, db, st, fl, dir, buf, from, new_len, st->scanned[dir], 0);
		st->scanned[dir] = new_len;
	}
}
