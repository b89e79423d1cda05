/* judge.c: the probe's requests and what their answers say (see sl_probe.h). Pure functions:
 * no I/O, no allocation; every input is bounded by its length (answers are not
 * NUL-terminated). A pool is confirmed only by a positive, protocol-specific answer: a
 * subscribe result naming mining.notify or carrying an extranonce, a CryptoNote job, an
 * Ethereum work package, an SV2 SetupConnection answer, the Noise act-2 size. A JSON-RPC
 * error to an unknown method, an HTTP response, an SSH banner are something else. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "sl_probe.h"

#define NAME_(name, help) #name,
#define HELP_(name, help) help,
static const char *const proto_names[] = {SL_PROBE_PROTOS(NAME_)};
static const char *const result_names[] = {SL_PROBE_RESULTS(NAME_)};
static const char *const skip_names[] = {SL_PROBE_SKIPS(NAME_)};
#undef NAME_
#undef HELP_

#define AT_(tab, i) ((i) < sizeof(tab) / sizeof((tab)[0]) ? (tab)[i] : NULL)

const char *sl_probe_proto_name(unsigned int p) { return AT_(proto_names, p); }
const char *sl_probe_skip_name(unsigned int s) { return AT_(skip_names, s); }

const char *
sl_probe_result_name(unsigned int r)
{
	return r == SL_PROBE_R_PENDING ? "pending" : AT_(result_names, r);
}

/* A syntactically valid Monero address (the Monero project's donation address) and an
 * Ethereum one: pools refuse logins that do not parse before they answer anything else. */
#define XMR_WALLET "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
#define ETH_WALLET "0x52908400098527886E0F7030069857D2E4169EE7"

static const char req_stratum[] =
	"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"cpuminer/2.5.1\"]}\n";
static const char req_xmrig[] =
	"{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{\"login\":\"" XMR_WALLET
	"\",\"pass\":\"x\",\"agent\":\"XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0\","
	"\"algo\":[\"rx/0\",\"cn/r\"]}}\n";
static const char req_eth[] =
	"{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"eth_submitLogin\",\"params\":[\"" ETH_WALLET
	"\"],\"worker\":\"eth1.0\"}\n"
	"{\"id\":2,\"jsonrpc\":\"2.0\",\"method\":\"eth_getWork\",\"params\":[]}\n";

const char *
sl_probe_request_text(unsigned int p)
{
	switch (p) {
	case SL_PROBE_P_stratum:
		return req_stratum;
	case SL_PROBE_P_xmrig:
		return req_xmrig;
	case SL_PROBE_P_eth:
		return req_eth;
	case SL_PROBE_P_sv2:
		return "SV2 SetupConnection (protocol 0 mining, versions 2-2, endpoint, vendor sluice-probe)";
	case SL_PROBE_P_sv2_noise:
		return "SV2 Noise NX act 1 (64 bytes)";
	default:
		return "";
	}
}

static size_t
put_str0_255(uint8_t *o, const char *s)
{
	size_t n = strlen(s);

	o[0] = (uint8_t)n;
	memcpy(o + 1, s, n);
	return n + 1;
}

size_t
sl_probe_request(unsigned int proto, uint8_t *out, size_t len, uint64_t seed)
{
	const char *t = NULL;
	uint8_t f[256];
	size_t n = 0;

	switch (proto) {
	case SL_PROBE_P_stratum:
		t = req_stratum;
		break;
	case SL_PROBE_P_xmrig:
		t = req_xmrig;
		break;
	case SL_PROBE_P_eth:
		t = req_eth;
		break;
	case SL_PROBE_P_sv2: /* 03-Protocol-Overview §3.2, §3.6.1: all little-endian */
		n = 6;
		f[n++] = 0;              /* protocol: mining */
		f[n++] = 2; f[n++] = 0;  /* min_version */
		f[n++] = 2; f[n++] = 0;  /* max_version */
		f[n++] = 0; f[n++] = 0; f[n++] = 0; f[n++] = 0; /* flags */
		n += put_str0_255(f + n, "0.0.0.0");
		f[n++] = 0x8e; f[n++] = 0x86; /* endpoint_port 34446 */
		n += put_str0_255(f + n, "sluice-probe");
		n += put_str0_255(f + n, "");
		n += put_str0_255(f + n, "");
		n += put_str0_255(f + n, "");
		f[0] = 0; f[1] = 0; /* extension_type */
		f[2] = 0x00;        /* SetupConnection */
		f[3] = (uint8_t)(n - 6); f[4] = 0; f[5] = 0;
		break;
	case SL_PROBE_P_sv2_noise: { /* splitmix64: 64 uniform bytes */
		uint64_t x = seed;

		for (n = 0; n < 64; n += 8) {
			uint64_t z = (x += 0x9e3779b97f4a7c15ull);

			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
			z ^= z >> 31;
			memcpy(f + n, &z, 8);
		}
		break;
	}
	default:
		return 0;
	}
	if (t != NULL) {
		n = strlen(t);
		if (n > len)
			return 0;
		memcpy(out, t, n);
		return n;
	}
	if (n > len)
		return 0;
	memcpy(out, f, n);
	return n;
}

/* ---------------------------------------------------------------- helpers */

/* @p n bytes of @p b as printable text (others as '.'), at most @p max. */
static void
printable(char *o, size_t olen, const uint8_t *b, size_t n, size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < n && i < max && k + 1 < olen; i++) {
		if (b[i] == '\r' || b[i] == '\n')
			break;
		o[k++] = (char)(b[i] >= 0x20 && b[i] < 0x7f && b[i] != '"' && b[i] != '\\' ? b[i] : '.');
	}
	o[k] = '\0';
}

static void
say(char *what, size_t whatlen, const char *prefix, const uint8_t *b, size_t n)
{
	char t[72];

	if (what == NULL || whatlen == 0)
		return;
	if (b == NULL) {
		snprintf(what, whatlen, "%s", prefix);
		return;
	}
	printable(t, sizeof(t), b, n, 60);
	snprintf(what, whatlen, "%s%s", prefix, t);
}

static bool
starts(const uint8_t *b, size_t n, const char *s)
{
	size_t k = strlen(s);

	return n >= k && memcmp(b, s, k) == 0;
}

/* memmem over a bounded range, case-sensitive. */
static const uint8_t *
find(const uint8_t *b, size_t n, const char *s)
{
	size_t k = strlen(s);

	if (k == 0 || n < k)
		return NULL;
	for (size_t i = 0; i + k <= n; i++)
		if (b[i] == (uint8_t)s[0] && memcmp(b + i, s, k) == 0)
			return b + i;
	return NULL;
}

static bool
find_ci(const uint8_t *b, size_t n, const char *s)
{
	size_t k = strlen(s);

	for (size_t i = 0; i + k <= n; i++) {
		size_t j = 0;

		while (j < k && tolower(b[i + j]) == s[j])
			j++;
		if (j == k)
			return true;
	}
	return false;
}

static const uint8_t *
skip_ws(const uint8_t *p, const uint8_t *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* The value of key @p key in a JSON line: where it starts (after "key" ws : ws; always
 * before @p e), or NULL. */
static const uint8_t *
json_value(const uint8_t *b, const uint8_t *e, const char *key)
{
	char q[40];
	size_t k = (size_t)snprintf(q, sizeof(q), "\"%s\"", key);

	for (const uint8_t *p = b; p + k <= e; p++) {
		const uint8_t *v;

		if (*p != '"' || memcmp(p, q, k) != 0)
			continue;
		v = skip_ws(p + k, e);
		if (v < e && *v == ':') {
			v = skip_ws(v + 1, e);
			return v < e ? v : NULL; /* a key at the end of the line has no value */
		}
	}
	return NULL;
}

static bool
value_is(const uint8_t *v, const uint8_t *e, const char *lit)
{
	size_t k = strlen(lit);

	return v != NULL && (size_t)(e - v) >= k && memcmp(v, lit, k) == 0;
}

/* The extent of the JSON value at @p v (object, array or string; nesting and strings
 * honoured), or @p e when it does not end in the line. */
static const uint8_t *
value_end(const uint8_t *v, const uint8_t *e)
{
	int depth = 0;
	bool str = false;

	for (const uint8_t *p = v; p < e; p++) {
		if (str) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				str = false;
			if (!str && depth == 0)
				return p + 1;
			continue;
		}
		if (*p == '"')
			str = true;
		else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']') {
			if (--depth <= 0)
				return p + 1;
		} else if (depth == 0 && (*p == ',' || *p == '}'))
			return p;
	}
	return e;
}

/* A string of 2-16 hex digits then a small integer closing the array: the subscribe
 * result's extranonce1 and extranonce2_size. */
static bool
has_extranonce(const uint8_t *v, const uint8_t *e)
{
	for (const uint8_t *p = v; p < e; p++) {
		const uint8_t *q = p + 1;
		size_t h = 0;

		if (*p != '"')
			continue;
		while (q < e && isxdigit(*q)) {
			q++;
			h++;
		}
		if (q >= e || *q != '"' || h < 2 || h > 16)
			continue;
		q = skip_ws(q + 1, e);
		if (q >= e || *q != ',')
			continue;
		q = skip_ws(q + 1, e);
		if (q >= e || !isdigit(*q))
			continue;
		while (q < e && isdigit(*q))
			q++;
		q = skip_ws(q, e);
		if (q < e && *q == ']')
			return true;
	}
	return false;
}

/* At least three "0x<hex>" strings in an array: an Ethereum work package. */
static bool
eth_work(const uint8_t *v, const uint8_t *e)
{
	unsigned int k = 0;

	if (v == NULL || v >= e || *v != '[')
		return false;
	for (const uint8_t *p = v; p + 3 < e; p++) {
		const uint8_t *q;

		if (p[0] != '"' || p[1] != '0' || (p[2] != 'x' && p[2] != 'X'))
			continue;
		q = p + 3;
		while (q < e && isxdigit(*q))
			q++;
		if (q < e && *q == '"' && q - p > 4) {
			k++;
			p = q;
		}
	}
	return k >= 3;
}

/* A method name on a JSON line, compared with @p m. */
static bool
method_is(const uint8_t *b, const uint8_t *e, const char *m)
{
	const uint8_t *v = json_value(b, e, "method");
	size_t k = strlen(m);

	return v != NULL && (size_t)(e - v) >= k + 2 && v[0] == '"' && memcmp(v + 1, m, k) == 0 &&
	       v[k + 1] == '"';
}

/* The error message of a JSON-RPC error line into @p what. @return true if there is one. */
static bool
json_error(const uint8_t *b, const uint8_t *e, char *what, size_t whatlen, const char *prefix)
{
	const uint8_t *v = json_value(b, e, "error"), *m;

	if (v == NULL || value_is(v, e, "null"))
		return false;
	m = json_value(v, value_end(v, e), "message");
	if (m != NULL && m < e && *m == '"')
		say(what, whatlen, prefix, m + 1, (size_t)(value_end(m, e) - m) - 1);
	else
		say(what, whatlen, prefix, v, (size_t)(value_end(v, e) - v));
	return true;
}

/* What a non-JSON answer is. @return SL_PJ_MORE while too short to say. */
static enum sl_probe_verdict
describe(const uint8_t *b, size_t n, bool final, bool banner, char *what, size_t whatlen)
{
	size_t pr = 0, m = n < 64 ? n : 64;

	if (n < 5 && !final && !(n >= 1 && (b[0] == '{' || b[0] == '[')))
		return SL_PJ_MORE;
	if (n >= 3 && b[0] >= 0x14 && b[0] <= 0x17 && b[1] == 0x03 && b[2] <= 0x04) {
		say(what, whatlen, b[0] == 0x15 ? "tls alert" : "tls record", NULL, 0);
		return SL_PJ_TLS;
	}
	if (starts(b, n, "HTTP/")) {
		say(what, whatlen, "http: ", b, n);
		return SL_PJ_SERVICE;
	}
	if (starts(b, n, "SSH-")) {
		say(what, whatlen, "ssh: ", b, n);
		return SL_PJ_SERVICE;
	}
	for (size_t i = 0; i < m; i++)
		pr += (b[i] >= 0x20 && b[i] < 0x7f) || b[i] == '\r' || b[i] == '\n' || b[i] == '\t';
	if (pr * 10 >= m * 9) {
		say(what, whatlen, banner ? "banner: " : "text: ", b, n);
		return SL_PJ_SERVICE;
	}
	say(what, whatlen, banner ? "binary banner: " : "binary: ", b, n);
	return banner ? SL_PJ_SERVICE : SL_PJ_OTHER;
}

enum sl_probe_verdict
sl_probe_judge_banner(const uint8_t *b, size_t n, char *what, size_t whatlen)
{
	enum sl_probe_verdict v;

	if (n == 0)
		return SL_PJ_MORE;
	v = describe(b, n, true, true, what, whatlen);
	if (v == SL_PJ_TLS || v == SL_PJ_OTHER) /* a server that speaks first is no pool */
		v = SL_PJ_SERVICE;
	if (b[0] == '{' || b[0] == '[')
		say(what, whatlen, "json banner: ", b, n);
	return v;
}

/* ---------------------------------------------------------------- per protocol */

/* One complete JSON line of an answer to @p proto: SL_PJ_POOL with @p what, or SL_PJ_MORE
 * (nothing proven by this line); @p errors counts error answers. */
static enum sl_probe_verdict
json_line(unsigned int proto, const uint8_t *b, const uint8_t *e, char *what, size_t whatlen,
	unsigned int *answers)
{
	const uint8_t *r = json_value(b, e, "result"), *re = r != NULL ? value_end(r, e) : NULL;

	if (json_value(b, e, "id") != NULL && (r != NULL || json_value(b, e, "error") != NULL))
		(*answers)++;
	switch (proto) {
	case SL_PROBE_P_stratum:
		if (method_is(b, e, "mining.notify") || method_is(b, e, "mining.set_difficulty") ||
		    method_is(b, e, "mining.set_target") || method_is(b, e, "mining.set_extranonce")) {
			say(what, whatlen, "mining push: ", b, (size_t)(e - b));
			return SL_PJ_POOL;
		}
		if (r != NULL && *r == '[' &&
		    (find(r, (size_t)(re - r), "mining.notify") != NULL ||
		     find(r, (size_t)(re - r), "mining.set_difficulty") != NULL ||
		     has_extranonce(r, re))) {
			say(what, whatlen, "mining.subscribe result: ", r, (size_t)(re - r));
			return SL_PJ_POOL;
		}
		break;
	case SL_PROBE_P_xmrig:
		if (r != NULL && *r == '{') {
			const uint8_t *j = json_value(r, re, "job");

			if (j != NULL && *j == '{' && json_value(j, re, "blob") != NULL &&
			    json_value(j, re, "job_id") != NULL) {
				say(what, whatlen, "login result with a job: ", r, (size_t)(re - r));
				return SL_PJ_POOL;
			}
		}
		if (method_is(b, e, "job") && json_value(b, e, "blob") != NULL) {
			say(what, whatlen, "job push: ", b, (size_t)(e - b));
			return SL_PJ_POOL;
		}
		/* a refusal that speaks of wallets or mining is a pool refusing the login */
		if (json_value(b, e, "error") != NULL && !value_is(json_value(b, e, "error"), e, "null") &&
		    (find_ci(b, (size_t)(e - b), "wallet") || find_ci(b, (size_t)(e - b), "payment") ||
		     find_ci(b, (size_t)(e - b), "monero") || find_ci(b, (size_t)(e - b), "miner") ||
		     find_ci(b, (size_t)(e - b), "mining"))) {
			json_error(b, e, what, whatlen, "login refused as a pool: ");
			return SL_PJ_POOL;
		}
		break;
	case SL_PROBE_P_eth:
		if (r != NULL && eth_work(r, re)) {
			say(what, whatlen, "eth_getWork work package: ", r, (size_t)(re - r));
			return SL_PJ_POOL;
		}
		if (method_is(b, e, "mining.notify") && eth_work(json_value(b, e, "params"), e)) {
			say(what, whatlen, "ethereum stratum push: ", b, (size_t)(e - b));
			return SL_PJ_POOL;
		}
		if (r != NULL && value_is(r, e, "true") && value_is(json_value(b, e, "id"), e, "1")) {
			say(what, whatlen, "eth_submitLogin accepted: ", b, (size_t)(e - b));
			return SL_PJ_POOL;
		}
		break;
	default:
		break;
	}
	return SL_PJ_MORE;
}

static enum sl_probe_verdict
judge_json(unsigned int proto, const uint8_t *b, size_t n, bool final, char *what, size_t whatlen)
{
	unsigned int need = proto == SL_PROBE_P_eth ? 2 : 1, answers = 0;
	const uint8_t *p = b, *end = b + n;
	bool first = true;

	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *e = nl != NULL ? nl : end;

		if (nl == NULL && !final && n < 4096)
			break; /* an incomplete line: wait for the rest */
		if (json_line(proto, p, e, what, whatlen, &answers) == SL_PJ_POOL)
			return SL_PJ_POOL;
		if (first && !json_error(p, e, what, whatlen, "json-rpc error: "))
			say(what, whatlen, "json: ", p, (size_t)(e - p));
		first = false;
		p = nl != NULL ? nl + 1 : end;
	}
	if (final || answers >= need || n >= 4096) {
		if (first)
			say(what, whatlen, "json: ", b, n);
		return SL_PJ_OTHER;
	}
	return SL_PJ_MORE;
}

static enum sl_probe_verdict
judge_sv2(const uint8_t *b, size_t n, bool final, char *what, size_t whatlen)
{
	uint16_t ext;
	uint32_t len;

	if (n < 6)
		return final ? describe(b, n, final, false, what, whatlen) : SL_PJ_MORE;
	ext = (uint16_t)(b[0] | b[1] << 8);
	len = (uint32_t)b[3] | (uint32_t)b[4] << 8 | (uint32_t)b[5] << 16;
	if ((ext & 0x7fff) == 0 && b[2] == 0x01 && len == 6) { /* SetupConnection.Success */
		if (n < 12)
			return final ? SL_PJ_OTHER : SL_PJ_MORE;
		snprintf(what, whatlen, "SetupConnection.Success: used_version %u, flags 0x%x",
			b[6] | b[7] << 8, (unsigned int)(b[8] | b[9] << 8 | b[10] << 16 |
							 (uint32_t)b[11] << 24));
		return SL_PJ_POOL;
	}
	if ((ext & 0x7fff) == 0 && b[2] == 0x02 && len >= 5 && len <= 4 + 256) { /* .Error */
		if (n < 6 + len)
			return final ? SL_PJ_OTHER : SL_PJ_MORE;
		if (b[10] == len - 5) {
			say(what, whatlen, "SetupConnection.Error: ", b + 11, b[10]);
			return SL_PJ_POOL;
		}
	}
	return describe(b, n, true, false, what, whatlen);
}

enum sl_probe_verdict
sl_probe_judge(unsigned int proto, const uint8_t *b, size_t n, bool final, char *what,
	size_t whatlen)
{
	if (what != NULL && whatlen > 0)
		what[0] = '\0';
	if (n == 0)
		return final ? SL_PJ_OTHER : SL_PJ_MORE;
	switch (proto) {
	case SL_PROBE_P_sv2:
		return judge_sv2(b, n, final, what, whatlen);
	case SL_PROBE_P_sv2_noise:
		if (n == 234) {
			if (!final)
				return SL_PJ_MORE; /* exactly 234 and then nothing */
			snprintf(what, whatlen, "Noise act 2: exactly 234 bytes to a 64-byte act 1");
			return SL_PJ_POOL;
		}
		if (n < 234 && !final)
			return SL_PJ_MORE;
		if (b[0] == '{' || b[0] == '[' || starts(b, n, "HTTP/") || starts(b, n, "SSH-"))
			return describe(b, n, true, false, what, whatlen);
		snprintf(what, whatlen, "%zu bytes to a 64-byte Noise act 1 (not 234)", n);
		return SL_PJ_OTHER;
	case SL_PROBE_P_stratum:
	case SL_PROBE_P_xmrig:
	case SL_PROBE_P_eth:
		if (b[0] == '{' || b[0] == '[')
			return judge_json(proto, b, n, final, what, whatlen);
		return describe(b, n, final, false, what, whatlen);
	default:
		return SL_PJ_OTHER;
	}
}
