/* proto.c: the small protocol parsers inspection needs: DNS question names, TLS ClientHello
 * server_name (reassembled across records), HTTP request/response heads, WebSocket frame
 * headers and unmasking. Pure functions over untrusted bytes: every read is bounds-checked;
 * they never allocate. Fuzzed by tests/fuzz. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "sl_match.h"

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
rd24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline char
lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* ---- DNS ---- */

int
sl_dns_qname(const uint8_t *msg, size_t len, char *out, size_t outlen)
{
	size_t pos = 12, o = 0;
	unsigned int hops = 0;
	bool jumped = false;

	if (len < 12 || outlen < 2)
		return -EINVAL;
	if ((msg[2] & 0x78) != 0) /* opcode other than QUERY */
		return -ENOENT;
	if (rd16(msg + 4) == 0)
		return -ENOENT;
	for (;;) {
		uint8_t l;

		if (pos >= len)
			return -EINVAL;
		l = msg[pos];
		if (l == 0)
			break;
		if ((l & 0xc0) == 0xc0) { /* compression pointer: allowed, bounded */
			if (pos + 1 >= len || ++hops > 16)
				return -EINVAL;
			pos = (size_t)(l & 0x3f) << 8 | msg[pos + 1];
			jumped = true;
			continue;
		}
		if ((l & 0xc0) != 0 || pos + 1 + l > len)
			return -EINVAL;
		/* room for a dot (after the first label), the label and the final NUL */
		if (o + (o > 0) + l + 1 > outlen || o + (o > 0) + l > 253)
			return -EINVAL;
		if (o > 0)
			out[o++] = '.';
		for (unsigned int i = 0; i < l; i++) {
			char c = (char)msg[pos + 1 + i];

			if (c == '\0' || c == '.')
				return -EINVAL;
			out[o++] = lower(c);
		}
		pos += 1 + (size_t)l;
	}
	(void)jumped;
	if (o == 0)
		return -ENOENT; /* the root */
	out[o] = '\0';
	return (int)o;
}

/* ---- TLS ---- */

/* Gather the handshake bytes of consecutive handshake records into work. */
int
sl_tls_sni(const uint8_t *p, size_t len, uint8_t *work, size_t worklen, char *sni,
	size_t snilen)
{
	size_t pos = 0, have = 0, need = 0;
	const uint8_t *h;
	size_t hl, off;

	if (len >= 1 && p[0] != 0x16)
		return -EINVAL;
	if (len >= 2 && p[1] != 0x03)
		return -EINVAL;
	for (;;) {
		uint16_t rl;

		if (pos + 5 > len)
			return -EAGAIN;
		if (p[pos] != 0x16 || p[pos + 1] != 0x03)
			return -EINVAL;
		rl = rd16(p + pos + 3);
		if (rl == 0 || rl > 16384 + 2048)
			return -EINVAL;
		if (pos + 5 + rl > len) {
			/* copy what is here: enough if the hello ends inside this record */
			size_t part = len - pos - 5;

			if (have + part > worklen)
				return -ENOSPC;
			memcpy(work + have, p + pos + 5, part);
			have += part;
			if (need == 0 && have >= 4) {
				if (work[0] != 0x01)
					return -EINVAL;
				need = 4 + rd24(work + 1);
			}
			if (need != 0 && have >= need)
				break;
			return -EAGAIN;
		}
		if (have + rl > worklen)
			return -ENOSPC;
		memcpy(work + have, p + pos + 5, rl);
		have += rl;
		pos += 5 + (size_t)rl;
		if (need == 0 && have >= 4) {
			if (work[0] != 0x01)
				return -EINVAL; /* not a ClientHello */
			need = 4 + rd24(work + 1);
		}
		if (need != 0 && have >= need)
			break;
	}
	if (work[0] != 0x01)
		return -EINVAL;
	if (need > worklen)
		return -ENOSPC;
	h = work + 4;
	hl = need - 4;
	/* version(2) random(32) */
	off = 34;
	if (off + 1 > hl)
		return -EINVAL;
	off += 1 + h[off]; /* session id */
	if (off + 2 > hl)
		return -EINVAL;
	off += 2 + rd16(h + off); /* cipher suites */
	if (off + 1 > hl)
		return -EINVAL;
	off += 1 + h[off]; /* compression methods */
	if (off == hl)
		return 0; /* no extensions */
	if (off + 2 > hl)
		return -EINVAL;
	{
		size_t end = off + 2 + rd16(h + off);

		if (end > hl)
			return -EINVAL;
		off += 2;
		while (off + 4 <= end) {
			uint16_t type = rd16(h + off), el = rd16(h + off + 2);
			size_t e = off + 4;

			if (e + el > end)
				return -EINVAL;
			if (type == 0) { /* server_name: list len, then (type, len, name) entries */
				size_t q = e + 2, le;

				if (el < 2)
					return -EINVAL;
				le = e + 2 + rd16(h + e);
				if (le > e + el)
					return -EINVAL;
				while (q + 3 <= le) {
					uint8_t nt = h[q];
					uint16_t nl = rd16(h + q + 1);

					if (q + 3 + nl > le)
						return -EINVAL;
					if (nt == 0 && nl > 0) {
						if ((size_t)nl + 1 > snilen)
							return -EINVAL;
						for (unsigned int i = 0; i < nl; i++) {
							char c = (char)h[q + 3 + i];

							if (c == '\0')
								return -EINVAL;
							sni[i] = lower(c);
						}
						sni[nl] = '\0';
						return nl;
					}
					q += 3 + (size_t)nl;
				}
				return 0;
			}
			off = e + el;
		}
	}
	return 0;
}

/* ---- HTTP ---- */

static const char *const http_methods[] = {
	"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", NULL,
};

/* Length of the head including the blank line, or 0 if not complete within len. */
static size_t
head_end(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (p[i + 1] == '\r' && i + 2 < len && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static bool
token_in(const char *v, size_t vl, const char *tok)
{
	size_t tl = strlen(tok);

	for (size_t i = 0; i + tl <= vl; i++) {
		if (strncasecmp(v + i, tok, tl) != 0)
			continue;
		if ((i == 0 || v[i - 1] == ',' || v[i - 1] == ' ' || v[i - 1] == '\t') &&
		    (i + tl == vl || v[i + tl] == ',' || v[i + tl] == ' ' || v[i + tl] == '\t'))
			return true;
	}
	return false;
}

int
sl_http_request(const uint8_t *p, size_t len, struct sl_http_req *r)
{
	const char *s = (const char *)p;
	size_t end, i, line;
	bool up = false, conn = false;
	int m;

	memset(r, 0, sizeof(*r));
	for (m = 0; http_methods[m] != NULL; m++) {
		size_t ml = strlen(http_methods[m]);

		if (len < ml) {
			if (memcmp(s, http_methods[m], len) == 0)
				return -EAGAIN;
			continue;
		}
		if (memcmp(s, http_methods[m], ml) == 0)
			break;
	}
	if (http_methods[m] == NULL)
		return -EINVAL;
	end = head_end(p, len);
	if (end == 0)
		return -EAGAIN;
	r->head_len = (uint32_t)end;
	/* skip the request line; check it looks like HTTP */
	for (i = 0; i < end && s[i] != '\n'; i++)
		;
	if (i < 9 || memcmp(s + i - ((s[i - 1] == '\r') ? 9 : 8), "HTTP/1.", 7) != 0)
		return -EINVAL;
	line = i + 1;
	while (line < end) {
		size_t e = line, colon, vs, ve;

		while (e < end && s[e] != '\n')
			e++;
		ve = e;
		if (ve > line && s[ve - 1] == '\r')
			ve--;
		if (ve == line)
			break; /* blank line */
		for (colon = line; colon < ve && s[colon] != ':'; colon++)
			;
		if (colon < ve) {
			size_t nl = colon - line;

			vs = colon + 1;
			while (vs < ve && (s[vs] == ' ' || s[vs] == '\t'))
				vs++;
			while (ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'))
				ve--;
			if (nl == 4 && strncasecmp(s + line, "host", 4) == 0 && r->host == NULL) {
				size_t hl = ve - vs;

				if (hl > 0 && s[vs] == '[') { /* [v6]:port */
					const char *rb = memchr(s + vs, ']', hl);

					hl = rb != NULL ? (size_t)(rb - (s + vs)) + 1 : hl;
				} else {
					const char *c = memchr(s + vs, ':', hl);

					if (c != NULL)
						hl = (size_t)(c - (s + vs));
				}
				r->host = s + vs;
				r->host_len = (uint32_t)hl;
			} else if (nl == 7 && strncasecmp(s + line, "upgrade", 7) == 0) {
				up = token_in(s + vs, ve - vs, "websocket");
			} else if (nl == 10 && strncasecmp(s + line, "connection", 10) == 0) {
				conn = token_in(s + vs, ve - vs, "upgrade");
			}
		}
		line = e + 1;
	}
	r->upgrade_ws = up && conn;
	return 0;
}

int
sl_http_response(const uint8_t *p, size_t len, int *status)
{
	size_t end;

	if (len < 12)
		return memcmp(p, "HTTP/1.", len < 7 ? len : 7) == 0 ? -EAGAIN : -EINVAL;
	if (memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' || p[9] < '1' || p[9] > '5' ||
	    p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
		return -EINVAL;
	end = head_end(p, len);
	if (end == 0)
		return -EAGAIN;
	*status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	return (int)end;
}

/* ---- WebSocket ---- */

int
sl_ws_frame(const uint8_t *p, size_t len, struct sl_ws_frame *f)
{
	size_t h = 2;
	uint8_t l7;

	if (len < 2)
		return -EAGAIN;
	f->fin = (p[0] & 0x80) != 0;
	f->rsv1 = (p[0] & 0x40) != 0;
	if (p[0] & 0x30)
		return -EINVAL; /* RSV2/RSV3: no extension defines them */
	f->opcode = p[0] & 0x0f;
	if ((f->opcode > 2 && f->opcode < 8) || f->opcode > 10)
		return -EINVAL;
	f->masked = (p[1] & 0x80) != 0;
	l7 = p[1] & 0x7f;
	if (l7 == 126) {
		if (len < 4)
			return -EAGAIN;
		f->len = rd16(p + 2);
		h = 4;
	} else if (l7 == 127) {
		if (len < 10)
			return -EAGAIN;
		f->len = 0;
		for (int i = 0; i < 8; i++)
			f->len = f->len << 8 | p[2 + i];
		if (f->len >> 63)
			return -EINVAL;
		h = 10;
	} else {
		f->len = l7;
	}
	if (f->opcode >= 8 && (f->len > 125 || !f->fin))
		return -EINVAL; /* control frames are short and unfragmented */
	if (f->masked) {
		if (len < h + 4)
			return -EAGAIN;
		memcpy(f->mask, p + h, 4);
		h += 4;
	} else {
		memset(f->mask, 0, 4);
	}
	f->hdr_len = (uint32_t)h;
	return 0;
}

void
sl_ws_unmask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t mask[4], uint64_t pos)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] ^ mask[(pos + i) & 3];
}
