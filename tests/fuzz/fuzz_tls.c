/* fuzz_tls.c: libFuzzer target for sl_tls_sni() (lib/match/proto.c), the TLS ClientHello
 * reassembler/SNI extractor inspection runs on the first bytes of a client stream. The input
 * is the client's stream. It is parsed whole and, as inspection sees a stream grow segment by
 * segment, truncated at data[0] % len, at len / 2 and at len - 1; every piece is an
 * exact-size heap copy. The work buffer is the inspection window (2048 bytes, exact size),
 * plus one pass with a small exact-size work buffer (16..271 bytes, from data[1]) so the
 * -ENOSPC paths are bounds-checked too. Checks the documented results: SNI length (> 0,
 * NUL-terminated, lower case), 0, -EAGAIN, -EINVAL or -ENOSPC, and that an answer given on
 * a prefix of the stream is the answer on the whole stream. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "sl_match.h"

#define WINDOW 2048 /* payload_bytes: the inspector's work buffer */
#define SNI_LEN 256 /* what inspection passes */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
sni(const uint8_t *data, size_t len, size_t worklen)
{
	uint8_t *p = fuzz_dup(data, len);
	uint8_t *work = malloc(worklen);
	char *name = malloc(SNI_LEN);
	int r;

	if (work == NULL || name == NULL)
		abort();
	r = sl_tls_sni(p, len, work, worklen, name, SNI_LEN);
	FUZZ_CHECK(r >= 0 || r == -EAGAIN || r == -EINVAL || r == -ENOSPC);
	if (r > 0) {
		FUZZ_CHECK(r < SNI_LEN && strlen(name) == (size_t)r);
		for (int i = 0; i < r; i++)
			FUZZ_CHECK(!(name[i] >= 'A' && name[i] <= 'Z'));
	}
	free(name);
	free(work);
	free(p);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int whole = sni(data, size, WINDOW);

	if (size > 0) {
		size_t cuts[3] = {data[0] % size, size / 2, size - 1};

		for (int i = 0; i < 3; i++) {
			int r = sni(data, cuts[i], WINDOW);

			/* a prefix may lack bytes, but a complete answer on a prefix is final:
			 * the parser stops at the end of the ClientHello. (Inspection never
			 * passes more than the window, so a stream longer than the work buffer
			 * may legitimately end in -ENOSPC instead.) */
			if (r >= 0 && size <= WINDOW)
				FUZZ_CHECK(whole == r);
		}
	}
	if (size > 1)
		sni(data, size, 16 + data[1]);
	return 0;
}
