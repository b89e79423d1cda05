/* fuzz_ws.c: libFuzzer target for sl_ws_frame() and sl_ws_unmask() (lib/match/proto.c). The
 * input is one direction of a WebSocket session after the upgrade, cut to the inspection
 * window (2048 bytes) as the flow table would, in an exact-size heap block. Frames are walked
 * as the inspector does (lib/match/match.c ws_walk): parse a header, stop on -EAGAIN or
 * -EINVAL, take the payload bytes present, unmask data frames into an exact-size
 * window-bounded buffer, go on at the frame end. Checks the header (2..14 bytes, inside the
 * input) and that unmasking is an involution and can be done in pieces (pos argument). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "sl_match.h"

#define WINDOW 2048 /* payload_bytes */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t len = (uint32_t)(size < WINDOW ? size : WINDOW), off = 0;
	uint8_t *buf = fuzz_dup(data, len);
	uint8_t *work = malloc(WINDOW), *back = malloc(WINDOW);

	if (work == NULL || back == NULL)
		abort();
	while (off < len) {
		struct sl_ws_frame f;
		uint64_t pend;
		uint32_t ps, avail;
		int r = sl_ws_frame(buf + off, len - off, &f);

		FUZZ_CHECK(r == 0 || r == -EAGAIN || r == -EINVAL);
		if (r < 0)
			break;
		FUZZ_CHECK(f.hdr_len >= 2 && f.hdr_len <= 14 && f.hdr_len <= len - off);
		FUZZ_CHECK(f.len < (1ull << 63));
		FUZZ_CHECK(f.opcode <= 2 || (f.opcode >= 8 && f.opcode <= 10));
		if (f.opcode >= 8)
			FUZZ_CHECK(f.fin && f.len <= 125);
		ps = off + f.hdr_len;
		pend = (uint64_t)ps + f.len;
		avail = (uint32_t)((pend < len ? pend : len) - ps);
		FUZZ_CHECK(avail <= WINDOW);
		if (f.opcode <= 2 && avail > 0) {
			uint32_t half = avail / 2;

			sl_ws_unmask(work, buf + ps, avail, f.mask, 0);
			/* the same in two pieces, the second continuing the mask phase */
			sl_ws_unmask(back, buf + ps, half, f.mask, 0);
			sl_ws_unmask(back + half, buf + ps + half, avail - half, f.mask, half);
			FUZZ_CHECK(memcmp(work, back, avail) == 0);
			/* masking again restores the wire bytes */
			sl_ws_unmask(back, work, avail, f.mask, 0);
			FUZZ_CHECK(memcmp(back, buf + ps, avail) == 0);
			if (!f.masked)
				FUZZ_CHECK(memcmp(work, buf + ps, avail) == 0);
		}
		off = pend > WINDOW ? WINDOW : (uint32_t)pend;
	}
	free(back);
	free(work);
	free(buf);
	return 0;
}
