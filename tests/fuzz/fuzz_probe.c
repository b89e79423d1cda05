/* fuzz_probe.c: libFuzzer target for the active probe's judge (lib/probe/judge.c), which reads
 * whatever a suspected pool (or anything else on the internet) answers. Input: byte 0 picks
 * the protocol asked (and whether it is the banner judge), byte 1 whether the answer is final
 * and the size of the description buffer (1..SL_PROBE_WHAT_MAX); the rest is the answer, in
 * an exact-size heap block so a read past its end is an ASan report. Checks the contract: a
 * verdict in range, a NUL-terminated description within its buffer without quotes,
 * backslashes or control bytes; the banner judge says SERVICE for any byte, MORE for none. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "sl_probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char what[SL_PROBE_WHAT_MAX + 1];
	unsigned int proto, wlen;
	enum sl_probe_verdict v;
	uint8_t *ans;
	bool final;
	size_t n;

	if (size < 2)
		return 0;
	proto = data[0] % (SL_PROBE_P_MAX + 1); /* SL_PROBE_P_MAX: the banner judge */
	final = data[1] & 1;
	wlen = 1 + (data[1] >> 1) % SL_PROBE_WHAT_MAX;
	n = size - 2;
	ans = fuzz_dup(data + 2, n);
	memset(what, 0x55, sizeof(what));
	what[wlen] = '\0';
	if (proto == SL_PROBE_P_MAX) {
		v = sl_probe_judge_banner(ans, n, what, wlen);
		FUZZ_CHECK(n == 0 ? v == SL_PJ_MORE : v == SL_PJ_SERVICE);
	} else {
		v = sl_probe_judge(proto, ans, n, final, what, wlen);
		FUZZ_CHECK(v >= SL_PJ_MORE && v <= SL_PJ_TLS);
		FUZZ_CHECK(!(final && v == SL_PJ_MORE));
	}
	if (n > 0 && v != SL_PJ_MORE) {
		size_t k = strnlen(what, wlen);

		FUZZ_CHECK(k < wlen);
		for (size_t i = 0; i < k; i++)
			FUZZ_CHECK(what[i] != '\\' && (unsigned char)what[i] >= 0x20 &&
				   (unsigned char)what[i] < 0x7f);
	}
	free(ans);
	return 0;
}
