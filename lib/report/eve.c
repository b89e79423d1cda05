/* eve.c: what makes sluice's event lines EVE lines that Suricata's consumers (Elastic's
 * Suricata module, Splunk's add-on, EveBox, Arkime) take as they are: the Community ID flow
 * hash (spec v1: SHA-1 over seed, ordered addresses and ports, base64, "1:" prefix; the same
 * string Zeek, Suricata and Arkime write for the flow) and the `alert` object (action, gid,
 * signature_id, rev, signature, category, severity). SHA-1 is written here: the flow hash needs
 * 20 bytes of it, not a crypto library. See sl_report.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sl_common.h"
#include "sl_report.h"

/* ---- SHA-1 (FIPS 180-4), one short message ---- */

static uint32_t
rol(uint32_t x, unsigned int n)
{
	return (x << n) | (x >> (32 - n));
}

static void
sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

	for (unsigned int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (unsigned int i = 16; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (unsigned int i = 0; i < 80; i++) {
		uint32_t f, k, t;

		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		t = rol(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol(b, 30);
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void
sl_sha1(const void *data, size_t len, uint8_t out[20])
{
	uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
	const uint8_t *p = data;
	uint8_t last[128];
	size_t full = len / 64 * 64, rest = len - full, n;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t off = 0; off < full; off += 64)
		sha1_block(h, p + off);
	memset(last, 0, sizeof(last));
	if (rest > 0)
		memcpy(last, p + full, rest);
	last[rest] = 0x80;
	n = rest + 1 + 8 <= 64 ? 64 : 128;
	for (unsigned int i = 0; i < 8; i++)
		last[n - 1 - i] = (uint8_t)(bits >> (8 * i));
	sha1_block(h, last);
	if (n == 128)
		sha1_block(h, last + 64);
	for (unsigned int i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

/* ---- Community ID v1 ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t
base64(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);

		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

/* ICMP and ICMPv6 types that come in request/reply pairs: the pair's other type stands in
 * for the destination port, so both directions hash alike (the spec's port equivalents). */
static int
icmp_pair(uint8_t proto, uint8_t type)
{
	static const uint8_t v4[][2] = {{8, 0}, {0, 8}, {13, 14}, {14, 13}, {15, 16}, {16, 15},
					{10, 9}, {9, 10}, {17, 18}, {18, 17}};
	static const uint8_t v6[][2] = {{128, 129}, {129, 128}, {133, 134}, {134, 133},
					{135, 136}, {136, 135}, {130, 131}, {131, 130}};
	const uint8_t(*t)[2] = proto == 1 ? v4 : v6;
	size_t n = proto == 1 ? SL_ARRAY_SIZE(v4) : SL_ARRAY_SIZE(v6);

	for (size_t i = 0; i < n; i++)
		if (t[i][0] == type)
			return t[i][1];
	return -1;
}

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int
sl_community_id(uint16_t seed, const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
	uint16_t sport, uint16_t dport, char *out, size_t len)
{
	uint8_t buf[2 + 16 + 16 + 4 + 4], dig[20];
	bool v4 = memcmp(src, v4_mapped, 12) == 0 && memcmp(dst, v4_mapped, 12) == 0;
	size_t alen = v4 ? 4 : 16, n = 0;
	const uint8_t *a = src + (v4 ? 12 : 0), *b = dst + (v4 ? 12 : 0);
	bool ports = proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58;
	bool one_way = false;
	int cmp;

	if (len < 32) /* "1:" + 28 base64 characters + NUL */
		return -ENOSPC;
	if (proto == 1 || proto == 58) { /* sport = type, dport = code */
		int other = icmp_pair(proto, (uint8_t)sport);

		if (other >= 0)
			dport = (uint16_t)other;
		else
			one_way = true;
	}
	cmp = memcmp(a, b, alen);
	if (!one_way && (cmp > 0 || (cmp == 0 && sport > dport))) {
		const uint8_t *t = a;
		uint16_t tp = sport;

		a = b;
		b = t;
		sport = dport;
		dport = tp;
	}
	buf[n++] = (uint8_t)(seed >> 8);
	buf[n++] = (uint8_t)seed;
	memcpy(buf + n, a, alen);
	n += alen;
	memcpy(buf + n, b, alen);
	n += alen;
	buf[n++] = proto;
	buf[n++] = 0;
	if (ports) {
		buf[n++] = (uint8_t)(sport >> 8);
		buf[n++] = (uint8_t)sport;
		buf[n++] = (uint8_t)(dport >> 8);
		buf[n++] = (uint8_t)dport;
	}
	sl_sha1(buf, n, dig);
	out[0] = '1';
	out[1] = ':';
	base64(dig, sizeof(dig), out + 2);
	return 0;
}

/* ---- the alert object ---- */

void
sl_eve_alert(struct sl_json *j, const struct sl_eve_alert *a)
{
	sl_json_obj_open(j, "alert");
	sl_json_str(j, "action", a->blocked ? "blocked" : "allowed");
	sl_json_u64(j, "gid", 1);
	sl_json_u64(j, "signature_id", a->sid);
	sl_json_u64(j, "rev", SL_EVE_REV);
	sl_json_str(j, "signature", a->signature);
	sl_json_str(j, "category", a->category != NULL ? a->category : SL_EVE_CATEGORY_MINING);
	sl_json_u64(j, "severity", a->severity >= 1 && a->severity <= 3 ? a->severity : 3);
	sl_json_obj_close(j);
}
