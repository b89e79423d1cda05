/* sl_common.h: helpers every sluice component shares: atomics with stated memory orders
 * (DPDK 22.11 has no rte_atomic_*_explicit), big-endian loads that do not assume alignment,
 * small numeric helpers, and where big tables live (mem.c). */
#ifndef SL_COMMON_H
#define SL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef SL_BURST
#define SL_BURST 32 /**< packets per rx burst (meson option burst_size) */
#endif

/** Single-writer counter store: the owner writes, other threads only read. Relaxed is
 * enough because readers only need an eventually consistent value of one word. */
#define SL_STORE_RELAXED(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define SL_LOAD_RELAXED(p) __atomic_load_n((p), __ATOMIC_RELAXED)
/** Publication: everything written before the release store is visible to a thread that
 * sees the new value through an acquire load. */
#define SL_STORE_RELEASE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define SL_LOAD_ACQUIRE(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)

#define SL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SL_MAX(a, b) ((a) > (b) ? (a) : (b))

static inline uint16_t
sl_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t
sl_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t
sl_le16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[1] << 8 | p[0]);
}

static inline uint32_t
sl_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/** 64-bit mix (splitmix64 finaliser): spreads every input bit over the output. */
static inline uint64_t
sl_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/** Hash of a 16-byte address (IPv4 mapped into IPv6), for sketches and software RSS. */
static inline uint64_t
sl_addr_hash(const uint8_t a[16], uint64_t seed)
{
	uint64_t lo, hi;

	memcpy(&lo, a, 8);
	memcpy(&hi, a + 8, 8);
	return sl_mix64(lo ^ sl_mix64(hi ^ seed));
}

/**
 * Define `unsigned int NUM(void)` and `const char *NAME(unsigned int)` over an X-macro
 * counter table whose entries are X(name, help): names and ids can never drift apart.
 */
#define SL_X_NAME_(name, help) #name,
#define SL_DEFINE_COUNTER_NAMES(TABLE, NUM, NAME)                                            \
	static const char *const NAME##_tab_[] = {TABLE(SL_X_NAME_)};                          \
	unsigned int NUM(void)                                                                  \
	{                                                                                      \
		return SL_ARRAY_SIZE(NAME##_tab_);                                              \
	}                                                                                      \
	const char *NAME(unsigned int i)                                                        \
	{                                                                                      \
		return i < SL_ARRAY_SIZE(NAME##_tab_) ? NAME##_tab_[i] : NULL;                  \
	}

/*
 * Big tables (mem.c). Live: DPDK memory on `socket`, zeroed at start (hugepages, no page
 * fault on the packet path). After sl_tmem_set_lazy(true) (offline): anonymous mappings the
 * kernel zero-fills on first touch, so memory and start-up follow what is used, not the
 * capacity. Always zeroed; NULL with rte_errno = ENOMEM on failure; free with sl_tmem_free.
 */
void sl_tmem_set_lazy(bool lazy);
bool sl_tmem_lazy(void);
void *sl_tmem_zalloc(const char *name, size_t size, int socket);
void sl_tmem_free(void *p);

#endif /* SL_COMMON_H */
