/* fuzz_common.h: helpers shared by the libFuzzer targets in tests/fuzz/: exact-size heap
 * copies (so AddressSanitizer sees a read one byte past what a parser was given), the pool
 * list paths, and a check that aborts with a message when a documented property fails. */
#ifndef SL_FUZZ_COMMON_H
#define SL_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
