/* syslog.c: event lines as RFC 5424 syslog messages, as Suricata's EVE syslog output sends
 * them: "<PRI>1 TIMESTAMP HOST sluice PID EVENT_TYPE - {json}", to the local socket
 * (unix:/dev/log, datagrams), or to a collector over UDP (one datagram per message) or TCP
 * (octet-counted framing, RFC 6587). It runs where the event log's chunks are written: the
 * writer thread live, so the control core never makes these syscalls. Every send is
 * non-blocking; a message that cannot go now (socket missing, collector down, buffer full) is
 * dropped and counted, never waited for; a lost connection is tried again at most once a
 * second. See sl_report.h. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sl_common.h"
#include "sl_report.h"

#define SYSLOG_TCP_PENDING (1u << 20) /* bytes a TCP collector may fall behind by */
#define SYSLOG_RETRY_NS 1000000000ull  /* reconnect at most once a second */
#define SYSLOG_HDR 512                 /* room for "<PRI>1 TIME HOST sluice PID MSGID - " */
#define SYSLOG_TCP_MSGS 16384u         /* messages a TCP collector may fall behind by */

enum { SYS_UNIX, SYS_UDP, SYS_TCP };

struct sl_syslog {
	int kind;
	int fd;                 /* -1: not connected */
	bool connected;         /* TCP: the connect finished */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int facility;
	char host[SL_SENSOR_ID_MAX];
	char target[SL_CFG_PATH_MAX];
	uint64_t next_try_ns;
	char *msg;              /* one message being built */
	size_t msgcap;
	char *pend;             /* TCP: framed bytes not yet sent */
	size_t npend;
	uint32_t *ends;         /* TCP: where each pending message ends in pend, in order */
	unsigned int nends;
	/* written by the sending thread, read by others (relaxed) */
	uint64_t sent, dropped, errors;
};

static const struct {
	const char *name;
	int code;
} facilities[] = {
	{"kern", 0}, {"user", 1}, {"mail", 2}, {"daemon", 3}, {"auth", 4}, {"syslog", 5},
	{"lpr", 6}, {"news", 7}, {"uucp", 8}, {"cron", 9}, {"authpriv", 10}, {"ftp", 11},
	{"local0", 16}, {"local1", 17}, {"local2", 18}, {"local3", 19}, {"local4", 20},
	{"local5", 21}, {"local6", 22}, {"local7", 23},
};

int
sl_syslog_facility(const char *name)
{
	for (size_t i = 0; i < SL_ARRAY_SIZE(facilities); i++)
		if (strcmp(name, facilities[i].name) == 0)
			return facilities[i].code;
	return -1;
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* "udp:HOST:PORT", "tcp:[V6]:PORT", "unix:PATH" (or "unix": /dev/log). */
static int
parse_target(struct sl_syslog *s, const char *t, char *err, size_t len)
{
	char host[256], port[16];
	const char *hp, *c;
	struct addrinfo hints, *res = NULL;
	int rc;

	if (strcmp(t, "unix") == 0 || strncmp(t, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&s->addr;
		const char *path = t[4] == ':' ? t + 5 : "/dev/log";

		if (path[0] == '\0' || strlen(path) >= sizeof(un->sun_path)) {
			snprintf(err, len, "syslog %s: a socket path of 1 to %zu bytes", t,
				sizeof(un->sun_path) - 1);
			return -EINVAL;
		}
		s->kind = SYS_UNIX;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, path, strlen(path) + 1);
		s->addrlen = sizeof(*un);
		return 0;
	}
	if (strncmp(t, "udp:", 4) == 0)
		s->kind = SYS_UDP;
	else if (strncmp(t, "tcp:", 4) == 0)
		s->kind = SYS_TCP;
	else {
		snprintf(err, len, "syslog %s: expected unix[:PATH], udp:HOST:PORT or tcp:HOST:PORT", t);
		return -EINVAL;
	}
	hp = t + 4;
	if (hp[0] == '[') {
		c = strchr(hp, ']');
		if (c == NULL || c[1] != ':')
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(c - hp - 1), hp + 1);
		c++;
	} else {
		c = strrchr(hp, ':');
		if (c == NULL)
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(c - hp), hp);
	}
	snprintf(port, sizeof(port), "%s", c + 1);
	if (host[0] == '\0' || port[0] == '\0' || strspn(port, "0123456789") != strlen(port) ||
	    atoi(port) < 1 || atoi(port) > 65535)
		goto bad;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = s->kind == SYS_UDP ? SOCK_DGRAM : SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0 || res == NULL) {
		snprintf(err, len, "syslog %s: %s", t, rc != 0 ? gai_strerror(rc) : "no address");
		return -EINVAL;
	}
	memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
	s->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
bad:
	snprintf(err, len, "syslog %s: expected %s:HOST:PORT (port 1-65535, [ADDR] for IPv6)", t,
		s->kind == SYS_UDP ? "udp" : "tcp");
	return -EINVAL;
}

/* (Re)connect, never waiting. @return 0, or -errno (the socket stays closed). */
static int
try_connect(struct sl_syslog *s)
{
	int type = s->kind == SYS_TCP ? SOCK_STREAM : SOCK_DGRAM;
	int fd;

	s->next_try_ns = mono_ns() + SYSLOG_RETRY_NS;
	fd = socket(s->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&s->addr, s->addrlen) < 0 && errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		return -e;
	}
	s->fd = fd;
	s->connected = s->kind != SYS_TCP;
	return 0;
}

static void
drop_conn(struct sl_syslog *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->connected = false;
	/* what a lost TCP connection still held */
	__atomic_fetch_add(&s->dropped, s->nends, __ATOMIC_RELAXED);
	s->npend = 0;
	s->nends = 0;
}

int
sl_syslog_open(const char *target, const char *facility, const char *host,
	struct sl_syslog **out, char *err, size_t len)
{
	struct sl_syslog *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (s == NULL) {
		snprintf(err, len, "syslog: out of memory");
		return -ENOMEM;
	}
	s->fd = -1;
	s->facility = sl_syslog_facility(facility);
	if (s->facility < 0) {
		snprintf(err, len, "syslog_facility %s: expected kern, user, daemon, auth, syslog, "
			"local0 ... local7 (and the other RFC 5424 names)", facility);
		free(s);
		return -EINVAL;
	}
	/* HOSTNAME: printable US-ASCII without spaces, at most 255 (RFC 5424 6.2.4) */
	snprintf(s->host, sizeof(s->host), "%s", host[0] != '\0' ? host : "-");
	for (char *p = s->host; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~')
			*p = '_';
	snprintf(s->target, sizeof(s->target), "%s", target);
	rc = parse_target(s, target, err, len);
	if (rc < 0) {
		free(s);
		return rc;
	}
	s->msgcap = 64 * 1024;
	s->msg = malloc(s->msgcap);
	s->pend = s->kind == SYS_TCP ? malloc(SYSLOG_TCP_PENDING) : NULL;
	s->ends = s->kind == SYS_TCP ? malloc(SYSLOG_TCP_MSGS * sizeof(uint32_t)) : NULL;
	if (s->msg == NULL || (s->kind == SYS_TCP && (s->pend == NULL || s->ends == NULL))) {
		sl_syslog_close(s);
		snprintf(err, len, "syslog: out of memory");
		return -ENOMEM;
	}
	rc = try_connect(s);
	if (rc < 0) /* a missing socket or a collector that is down: said once, retried */
		snprintf(err, len, "syslog %s: %s (messages are dropped and counted until it answers)",
			target, strerror(-rc));
	*out = s;
	return rc < 0 ? 1 : 0;
}

/* TCP: @p off bytes of pend went out: the messages they complete are sent. */
static void
tcp_advance(struct sl_syslog *s, size_t off)
{
	unsigned int k = 0;

	while (k < s->nends && s->ends[k] <= off)
		k++;
	__atomic_fetch_add(&s->sent, k, __ATOMIC_RELAXED);
	for (unsigned int i = k; i < s->nends; i++)
		s->ends[i - k] = s->ends[i] - (uint32_t)off;
	s->nends -= k;
	memmove(s->pend, s->pend + off, s->npend - off);
	s->npend -= off;
}

/* TCP: send what is pending, never waiting. */
static void
tcp_flush(struct sl_syslog *s)
{
	size_t off = 0;

	while (off < s->npend) {
		ssize_t k = send(s->fd, s->pend + off, s->npend - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (k > 0) {
			off += (size_t)k;
			s->connected = true;
			continue;
		}
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN ||
			      errno == EINTR))
			break; /* connecting or full: later */
		__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
		tcp_advance(s, off);
		drop_conn(s);
		return;
	}
	tcp_advance(s, off);
}

/* One message for one event line. */
static void
send_line(struct sl_syslog *s, const char *line, size_t n)
{
	char ts[40], msgid[33] = "-";
	const char *et = memmem(line, n < 256 ? n : 256, "\"event_type\":\"", 14);
	bool warn = false;
	struct timespec now;
	struct tm tm;
	size_t h, need;
	int len;

	if (et != NULL) {
		size_t k = 0;

		et += 14;
		while (k < 32 && et + k < line + n && et[k] != '"')
			k++;
		memcpy(msgid, et, k);
		msgid[k] = '\0';
		warn = strcmp(msgid, "alert") == 0 || strncmp(msgid, "block", 5) == 0;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	h = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + h, sizeof(ts) - h, ".%06ldZ", now.tv_nsec / 1000);
	need = n + SYSLOG_HDR + SL_SENSOR_ID_MAX;
	if (need > s->msgcap) {
		char *m = realloc(s->msg, need);

		if (m == NULL) {
			__atomic_fetch_add(&s->dropped, 1, __ATOMIC_RELAXED);
			return;
		}
		s->msg = m;
		s->msgcap = need;
	}
	/* severity: warning for verdicts (alert, block), informational for the rest */
	len = snprintf(s->msg, s->msgcap, "<%d>1 %s %s sluice %d %s - ",
		s->facility * 8 + (warn ? 4 : 6), ts, s->host, (int)getpid(), msgid);
	if (len < 0)
		return;
	memcpy(s->msg + len, line, n);
	h = (size_t)len + n;
	if (s->fd < 0 && (mono_ns() < s->next_try_ns || try_connect(s) < 0)) {
		__atomic_fetch_add(&s->dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	if (s->kind == SYS_TCP) {
		char pre[24];
		int pl = snprintf(pre, sizeof(pre), "%zu ", h);

		if (s->npend + (size_t)pl + h > SYSLOG_TCP_PENDING || s->nends == SYSLOG_TCP_MSGS) {
			tcp_flush(s);
			if (s->fd < 0 || s->npend + (size_t)pl + h > SYSLOG_TCP_PENDING ||
			    s->nends == SYSLOG_TCP_MSGS) {
				__atomic_fetch_add(&s->dropped, 1, __ATOMIC_RELAXED);
				return;
			}
		}
		memcpy(s->pend + s->npend, pre, (size_t)pl);
		memcpy(s->pend + s->npend + pl, s->msg, h);
		s->npend += (size_t)pl + h;
		s->ends[s->nends++] = (uint32_t)s->npend;
		tcp_flush(s);
		return;
	}
	if (send(s->fd, s->msg, h, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)h) {
		__atomic_fetch_add(&s->sent, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_fetch_add(&s->dropped, 1, __ATOMIC_RELAXED);
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
		/* the local socket went away (syslog restarted) or the peer refused: reconnect */
		__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
		drop_conn(s);
	}
}

void
sl_syslog_send_lines(struct sl_syslog *s, const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	if (s == NULL)
		return;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		if (n > 0)
			send_line(s, p, n);
		p += n + 1;
	}
}

void
sl_syslog_finish(struct sl_syslog *s, unsigned int wait_ms)
{
	/* TCP at exit: give the collector a moment to take what is pending */
	for (unsigned int i = 0; s != NULL && s->kind == SYS_TCP && s->npend > 0 && s->fd >= 0 &&
				 i < wait_ms; i++) {
		struct timespec ms = {0, 1000000};

		tcp_flush(s);
		if (s->npend > 0)
			nanosleep(&ms, NULL);
	}
}

void
sl_syslog_get_stats(const struct sl_syslog *s, uint64_t *sent, uint64_t *dropped,
	uint64_t *errors)
{
	*sent = s != NULL ? __atomic_load_n(&s->sent, __ATOMIC_RELAXED) : 0;
	*dropped = s != NULL ? __atomic_load_n(&s->dropped, __ATOMIC_RELAXED) : 0;
	*errors = s != NULL ? __atomic_load_n(&s->errors, __ATOMIC_RELAXED) : 0;
}

void
sl_syslog_close(struct sl_syslog *s)
{
	if (s == NULL)
		return;
	sl_syslog_finish(s, 2000);
	drop_conn(s); /* what is still pending is dropped, counted */
	free(s->msg);
	free(s->pend);
	free(s->ends);
	free(s);
}
