/* fuzz_common.h: helpers shared by the libFuzzer targets in tests/fuzz/: exact-size heap
 * copies (so AddressSanitizer sees a read one byte past what a parser was given), the pool
 * list paths, and a check that aborts with a message when a documented property fails. */
#ifndef SL_FUZZ_COMMON_H
#define SL_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define FUZZ_POISON(p, n) __asan_poison_memory_region((p), (n))
#define FUZZ_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#endif
#endif
#ifndef FUZZ_POISON
#define FUZZ_POISON(p, n) ((void)(p), (void)(n))
#define FUZZ_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#ifndef SL_CONFIG_DIR /* scripts/fuzz.sh passes the source tree's config/, as meson does */
#define SL_CONFIG_DIR "config"
#endif

/* A property the API documents did not hold: report it as a crash libFuzzer keeps. */
#define FUZZ_CHECK(cond)                                                                     \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                             \
		}                                                                            \
	} while (0)

/* malloc(n) holding a copy of p[0, n). n == 0 gives a zero-size block, so that any read
 * through it is out of bounds too. */
static inline uint8_t *
fuzz_dup(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n);

	if (d == NULL && (n > 0 || (d = malloc(1)) == NULL))
		abort();
	if (n > 0)
		memcpy(d, p, n);
	return d;
}

/*
 * Guarded copies: p[0, n) copied so that it ends exactly @p pad bytes before an unmapped page,
 * with everything around it poisoned for AddressSanitizer. Instrumented code (ours) that reads
 * one byte outside [0, n) is an ASan report, as with fuzz_dup(); uninstrumented code
 * (Hyperscan) may read the pad it is promised, and reading past the pad faults every time,
 * not only when the heap happens to end there. One arena per slot (FUZZ_GUARD_SLOTS); a
 * slot's previous copy is gone when it is reused. n + pad must fit FUZZ_GUARD_BYTES.
 */
#define FUZZ_GUARD_SLOTS 4
#define FUZZ_GUARD_BYTES 8192

static inline uint8_t *
fuzz_guarded(unsigned int slot, const uint8_t *p, size_t n, size_t pad)
{
	static uint8_t *arena[FUZZ_GUARD_SLOTS];
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t span = (FUZZ_GUARD_BYTES + page - 1) / page * page;
	uint8_t *d;

	if (slot >= FUZZ_GUARD_SLOTS || n + pad > span)
		abort();
	if (arena[slot] == NULL) {
		void *m = mmap(NULL, span + page, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED || mprotect((uint8_t *)m + span, page, PROT_NONE) != 0)
			abort();
		arena[slot] = m;
	}
	d = arena[slot] + span - pad - n;
	FUZZ_UNPOISON(arena[slot], span);
	if (n > 0)
		memcpy(d, p, n);
	FUZZ_POISON(arena[slot], (size_t)(d - arena[slot]));
	FUZZ_POISON(d + n, pad);
	return d;
}

/*
 * Pool list paths: $SL_FUZZ_DOMAINS / $SL_FUZZ_IPS when set (an empty value means no list),
 * else the source tree's config/pools.domains / config/pools.ips when they exist, else none.
 */
static inline const char *
fuzz_list_path(const char *env, const char *file)
{
	static char buf[2][4096];
	static unsigned int which;
	const char *v = getenv(env);
	char *b = buf[which++ & 1];

	if (v != NULL)
		return v;
	snprintf(b, sizeof(buf[0]), "%s/%s", SL_CONFIG_DIR, file);
	return access(b, R_OK) == 0 ? b : "";
}

#endif /* SL_FUZZ_COMMON_H */
