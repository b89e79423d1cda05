/* fuzz_http.c: libFuzzer target for sl_http_request() and sl_http_response()
 * (lib/match/proto.c), the HTTP head parsers inspection runs on a client's first bytes and,
 * for a WebSocket upgrade, on the server's answer. The input is one stream, given to both
 * parsers whole and truncated at data[0] % len, each time as an exact-size heap copy. Checks
 * the documented results: request 0 / -EAGAIN / -EINVAL with head_len and Host inside the
 * input; response head length (<= len) with a status of 100..599, -EAGAIN or -EINVAL. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "sl_match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
parse(const uint8_t *data, size_t len)
{
	uint8_t *p = fuzz_dup(data, len);
	struct sl_http_req r;
	int status = -1;
	int rc = sl_http_request(p, len, &r);

	FUZZ_CHECK(rc == 0 || rc == -EAGAIN || rc == -EINVAL);
	if (rc == 0) {
		FUZZ_CHECK(r.head_len > 0 && r.head_len <= len);
		if (r.host != NULL) {
			FUZZ_CHECK((const uint8_t *)r.host >= p);
			FUZZ_CHECK((const uint8_t *)r.host + r.host_len <= p + r.head_len);
		}
	}
	rc = sl_http_response(p, len, &status);
	FUZZ_CHECK(rc > 0 || rc == -EAGAIN || rc == -EINVAL);
	if (rc > 0)
		FUZZ_CHECK((size_t)rc <= len && status >= 100 && status <= 599);
	free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse(data, size);
	if (size > 0)
		parse(data, data[0] % size);
	return 0;
}
