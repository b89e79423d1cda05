/* fuzz_dns.c: libFuzzer target for sl_dns_qname() (lib/match/proto.c), the DNS question
 * name parser inspection runs on every UDP/TCP port-53 message. The input is the DNS
 * message, in an exact-size heap block; the name goes once into the inspector's 256-byte
 * buffer and once into an exact-size buffer of 2..65 bytes (chosen by the last input byte),
 * so a write or read one byte out of bounds is an ASan report. Checks the documented result:
 * a length with a NUL-terminated, lower-case name of that length, or -EINVAL / -ENOENT. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "sl_match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const uint8_t *msg, size_t len, size_t outlen)
{
	char *out = malloc(outlen);
	int r;

	if (out == NULL)
		abort();
	r = sl_dns_qname(msg, len, out, outlen);
	FUZZ_CHECK(r > 0 || r == -EINVAL || r == -ENOENT);
	if (r > 0) {
		FUZZ_CHECK((size_t)r < outlen && r <= 253);
		FUZZ_CHECK(strlen(out) == (size_t)r);
		for (int i = 0; i < r; i++)
			FUZZ_CHECK(!(out[i] >= 'A' && out[i] <= 'Z'));
		FUZZ_CHECK(out[0] != '.' && out[r - 1] != '.');
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *msg = fuzz_dup(data, size);

	check(msg, size, 256); /* what inspection passes */
	check(msg, size, 2 + (size > 0 ? data[size - 1] % 64 : 0));
	free(msg);
	return 0;
}
