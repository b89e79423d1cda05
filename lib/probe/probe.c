/* probe.c: the prober thread and the book (see sl_probe.h). The control core owns the book
 * (cache, caps, counters) and talks to the thread through two SP/SC rings of fixed size: it
 * posts requests and polls results with plain loads and stores, never a lock, a syscall or a
 * wait. The thread runs up to `concurrency` probes at once on non-blocking kernel sockets
 * under one epoll; each probe is a sequence of steps (one connection each: the protocols in
 * cleartext, then inside TLS where the port completes a handshake), each with a deadline. */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "sl_probe.h"

#define RING_SIZE 64           /* requests and results in flight (power of two) */
#define ANSWER_BUF 4096        /* bytes read per step at most */
#define SCAN_LIMIT 64          /* cache slots looked at per lookup */
#define MAX_JOBS 64            /* probes in flight at most (concurrency is capped to it) */
#define IDLE_WAIT_MS 20        /* the thread looks at its request ring this often when idle */
#define MAX_LOCAL 32           /* local addresses remembered */
#define NSTEP (2 * SL_PROBE_P_MAX) /* every protocol in cleartext, then inside TLS */

/* ---------------------------------------------------------------- names, counters */

static const char *const counter_names[] = {
#define N_(name, help) #name,
	SL_PROBE_COUNTERS(N_)
#undef N_
};

unsigned int sl_probe_num_counters(void) { return sizeof(counter_names) / sizeof(counter_names[0]); }

const char *
sl_probe_counter_name(unsigned int i)
{
	return i < sl_probe_num_counters() ? counter_names[i] : NULL;
}

uint64_t
sl_probe_counter(const struct sl_probe_stats *st, unsigned int i)
{
	return i < sl_probe_num_counters() ? ((const uint64_t *)st)[i] : 0;
}

/* ---------------------------------------------------------------- SP/SC rings */

struct req {
	uint8_t ip[16];
	uint16_t port;
};

struct req_ring {
	uint32_t head; /* producer (control core) */
	uint32_t tail; /* consumer (thread) */
	struct req slot[RING_SIZE];
};

struct res_ring {
	uint32_t head; /* producer (thread) */
	uint32_t tail; /* consumer (control core) */
	struct sl_probe_entry slot[RING_SIZE];
};

/* ---------------------------------------------------------------- a probe in flight */

enum phase { PH_CONNECT, PH_HANDSHAKE, PH_BANNER, PH_WRITE, PH_READ };

/* How one step ended. */
enum step_end {
	SE_POOL, SE_SERVICE, SE_TLS_SEEN, SE_OTHER, SE_SILENT, SE_CLOSED, SE_RESET,
	SE_REFUSED, SE_NO_SYNACK, SE_TLS_FAIL, SE_ERROR,
};

struct job {
	bool busy;
	struct sl_probe_entry e;
	uint64_t start_ms;
	unsigned int step;       /* 0..NSTEP-1: proto = step % P_MAX, TLS when >= P_MAX */
	enum phase ph;
	int fd;
	SSL *ssl;
	uint64_t deadline_ms;
	uint8_t req[1024];
	size_t reqlen, sent;
	uint8_t buf[ANSWER_BUF];
	size_t n;
	bool tls_ok;             /* a handshake completed on this port */
	bool clear_other;        /* some step got an answer that was not a pool */
	int err;                 /* errno of the last local error */
	unsigned int resets, closes, silents;
	char other_what[SL_PROBE_WHAT_MAX];
	uint8_t other_answer[SL_PROBE_ANSWER_MAX];
	uint8_t other_len;
};

struct prober {
	struct sl_probe_params p;
	SSL_CTX *ctx;
	int ep;
	struct job jobs[MAX_JOBS];
	unsigned int njobs_max;
	unsigned int active;
	uint64_t seq;
	uint64_t connections;    /* relaxed: read by the control core */
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool
is_v4(const uint8_t a[16])
{
	static const uint8_t pre[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, pre, 12) == 0;
}

static socklen_t
to_sockaddr(const uint8_t a[16], uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (is_v4(a)) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a + 12, 4);
		return sizeof(*s4);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, a, 16);
	return sizeof(*s6);
}

static void
job_close(struct prober *pr, struct job *j)
{
	if (j->ssl != NULL) {
		SSL_free(j->ssl);
		j->ssl = NULL;
	}
	if (j->fd >= 0) {
		epoll_ctl(pr->ep, EPOLL_CTL_DEL, j->fd, NULL);
		close(j->fd);
		j->fd = -1;
	}
}

static void
job_finish(struct prober *pr, struct job *j, uint8_t result, const char *what, const uint8_t *ans,
	size_t alen)
{
	job_close(pr, j);
	j->e.result = result;
	j->e.latency_ms = (uint32_t)(mono_ms() - j->start_ms);
	if (what != NULL)
		snprintf(j->e.what, sizeof(j->e.what), "%s", what);
	alen = alen < SL_PROBE_ANSWER_MAX ? alen : SL_PROBE_ANSWER_MAX;
	if (ans != NULL && alen > 0)
		memcpy(j->e.answer, ans, alen);
	j->e.answer_len = (uint8_t)alen;
	j->busy = false; /* the caller moves e to the result ring */
}

static int
set_events(struct prober *pr, struct job *j, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = j};

	return epoll_ctl(pr->ep, EPOLL_CTL_MOD, j->fd, &e);
}

/* Start step j->step: open the connection. @return 0, or a step end. */
static int
step_start(struct prober *pr, struct job *j)
{
	struct sockaddr_storage ss;
	socklen_t sl = to_sockaddr(j->e.ip, j->e.port, &ss);
	struct epoll_event e = {.events = EPOLLOUT, .data.ptr = j};
	unsigned int proto = j->step % SL_PROBE_P_MAX;
	int one = 1;

	j->n = 0;
	j->sent = 0;
	j->reqlen = sl_probe_request(proto, j->req, sizeof(j->req), ++pr->seq * 0x2545f491u ^ mono_ms());
	j->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (j->fd < 0)
		return j->err = errno, SE_ERROR;
	setsockopt(j->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (pr->p.has_source && is_v4(pr->p.source) == is_v4(j->e.ip)) {
		struct sockaddr_storage src;
		socklen_t l = to_sockaddr(pr->p.source, 0, &src);

		if (bind(j->fd, (struct sockaddr *)&src, l) < 0)
			return j->err = errno, SE_ERROR;
	}
	__atomic_fetch_add(&pr->connections, 1, __ATOMIC_RELAXED);
	if (connect(j->fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)
		return j->err = errno, errno == ECONNREFUSED ? SE_REFUSED : SE_ERROR;
	if (epoll_ctl(pr->ep, EPOLL_CTL_ADD, j->fd, &e) < 0)
		return j->err = errno, SE_ERROR;
	j->ph = PH_CONNECT;
	j->deadline_ms = mono_ms() + pr->p.timeout_ms;
	return -1;
}

/* Read what is there (cleartext or TLS). @return bytes read, 0 at EOF, -EAGAIN, -ECONNRESET,
 * -EIO. */
static ssize_t
job_read(struct job *j)
{
	size_t room = sizeof(j->buf) - j->n;
	ssize_t r;

	if (room == 0)
		return -EAGAIN;
	if (j->ssl != NULL) {
		int k = SSL_read(j->ssl, j->buf + j->n, (int)room);

		if (k > 0)
			return k;
		switch (SSL_get_error(j->ssl, k)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			return -EAGAIN;
		case SSL_ERROR_ZERO_RETURN:
			return 0;
		case SSL_ERROR_SYSCALL:
			return errno == ECONNRESET ? -ECONNRESET : 0;
		default:
			return -EIO;
		}
	}
	r = recv(j->fd, j->buf + j->n, room, 0);
	if (r >= 0)
		return r;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return -EAGAIN;
	return errno == ECONNRESET ? -ECONNRESET : -EIO;
}

/* The end of a read phase: judge what came. */
static int
judge_end(struct job *j, bool final)
{
	unsigned int proto = j->step % SL_PROBE_P_MAX;
	char what[SL_PROBE_WHAT_MAX];
	enum sl_probe_verdict v = sl_probe_judge(proto, j->buf, j->n, final, what, sizeof(what));

	switch (v) {
	case SL_PJ_MORE:
		return -1;
	case SL_PJ_POOL:
		snprintf(j->e.what, sizeof(j->e.what), "%s", what);
		return SE_POOL;
	case SL_PJ_TLS:
	case SL_PJ_SERVICE:
	case SL_PJ_OTHER:
		if (v == SL_PJ_OTHER && j->other_what[0] != '\0')
			return SE_OTHER; /* the first answer that was not a pool names it */
		snprintf(j->other_what, sizeof(j->other_what), "%s%.80s", j->step >= SL_PROBE_P_MAX ?
			"in tls, " : "", what);
		j->other_len = (uint8_t)(j->n < SL_PROBE_ANSWER_MAX ? j->n : SL_PROBE_ANSWER_MAX);
		memcpy(j->other_answer, j->buf, j->other_len);
		return v == SL_PJ_TLS ? SE_TLS_SEEN : v == SL_PJ_SERVICE ? SE_SERVICE : SE_OTHER;
	}
	return SE_ERROR;
}

/* Drive the step's connection as far as it goes now. @return -1 (waiting) or a step end. */
static int
step_io(struct prober *pr, struct job *j, uint32_t events)
{
	for (;;) {
		switch (j->ph) {
		case PH_CONNECT: {
			int err = 0;
			socklen_t l = sizeof(err);

			if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
				return -1;
			getsockopt(j->fd, SOL_SOCKET, SO_ERROR, &err, &l);
			if (err == EINPROGRESS || (err == 0 && !(events & EPOLLOUT)))
				return -1;
			if (err == ECONNREFUSED)
				return SE_REFUSED;
			if (err == ETIMEDOUT || err == EHOSTUNREACH || err == ENETUNREACH)
				return SE_NO_SYNACK;
			if (err != 0)
				return j->err = err, SE_ERROR;
			j->deadline_ms = mono_ms() + pr->p.timeout_ms;
			if (j->step >= SL_PROBE_P_MAX) {
				j->ssl = SSL_new(pr->ctx);
				if (j->ssl == NULL || SSL_set_fd(j->ssl, j->fd) != 1)
					return SE_ERROR;
				SSL_set_connect_state(j->ssl);
				j->ph = PH_HANDSHAKE;
			} else if (j->step == 0 && pr->p.banner_ms > 0) {
				j->ph = PH_BANNER; /* pools never speak first; many services do */
				j->deadline_ms = mono_ms() + pr->p.banner_ms;
				set_events(pr, j, EPOLLIN);
				return -1;
			} else {
				j->ph = PH_WRITE;
			}
			break;
		}
		case PH_HANDSHAKE: {
			int k = SSL_do_handshake(j->ssl);

			if (k == 1) {
				j->tls_ok = true;
				j->ph = PH_WRITE;
				j->deadline_ms = mono_ms() + pr->p.timeout_ms;
				break;
			}
			k = SSL_get_error(j->ssl, k);
			if (k == SSL_ERROR_WANT_READ)
				return set_events(pr, j, EPOLLIN), -1;
			if (k == SSL_ERROR_WANT_WRITE)
				return set_events(pr, j, EPOLLOUT), -1;
			ERR_clear_error();
			return SE_TLS_FAIL;
		}
		case PH_BANNER: {
			ssize_t r = job_read(j);

			if (r > 0) {
				char what[SL_PROBE_WHAT_MAX];

				j->n += (size_t)r;
				sl_probe_judge_banner(j->buf, j->n, what, sizeof(what));
				snprintf(j->other_what, sizeof(j->other_what), "%s", what);
				j->other_len = (uint8_t)(j->n < SL_PROBE_ANSWER_MAX ? j->n : SL_PROBE_ANSWER_MAX);
				memcpy(j->other_answer, j->buf, j->other_len);
				return SE_SERVICE;
			}
			if (r == 0)
				return SE_CLOSED;
			if (r == -ECONNRESET)
				return SE_RESET;
			if (r != -EAGAIN)
				return SE_ERROR;
			return -1;
		}
		case PH_WRITE: {
			ssize_t w;

			if (j->ssl != NULL) {
				int k = SSL_write(j->ssl, j->req + j->sent, (int)(j->reqlen - j->sent));

				if (k <= 0) {
					k = SSL_get_error(j->ssl, k);
					if (k == SSL_ERROR_WANT_READ)
						return set_events(pr, j, EPOLLIN), -1;
					if (k == SSL_ERROR_WANT_WRITE)
						return set_events(pr, j, EPOLLOUT), -1;
					ERR_clear_error();
					return SE_RESET;
				}
				w = k;
			} else {
				w = send(j->fd, j->req + j->sent, j->reqlen - j->sent, MSG_NOSIGNAL);
				if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					return set_events(pr, j, EPOLLOUT), -1;
				if (w < 0)
					return errno == ECONNRESET || errno == EPIPE ? SE_RESET : SE_ERROR;
			}
			j->sent += (size_t)w;
			if (j->sent < j->reqlen)
				break;
			j->ph = PH_READ;
			j->deadline_ms = mono_ms() + pr->p.timeout_ms;
			set_events(pr, j, EPOLLIN);
			break;
		}
		case PH_READ: {
			ssize_t r = job_read(j);
			int se;

			if (r > 0) {
				j->n += (size_t)r;
				se = judge_end(j, j->n == sizeof(j->buf));
				if (se >= 0)
					return se;
				/* the Noise answer is exactly 234 bytes: a short quiet time settles it */
				if (j->step % SL_PROBE_P_MAX == SL_PROBE_P_sv2_noise && j->n == 234) {
					uint64_t t = mono_ms() + (pr->p.timeout_ms < 300 ? pr->p.timeout_ms : 300);

					if (t < j->deadline_ms)
						j->deadline_ms = t;
				}
				continue;
			}
			if (r == -EAGAIN)
				return -1;
			if (j->n > 0) {
				se = judge_end(j, true);
				return se >= 0 ? se : SE_OTHER;
			}
			return r == 0 ? SE_CLOSED : r == -ECONNRESET ? SE_RESET : SE_ERROR;
		}
		}
	}
}

/* A step's deadline passed. */
static int
step_timeout(struct job *j)
{
	switch (j->ph) {
	case PH_CONNECT:
		return SE_NO_SYNACK;
	case PH_HANDSHAKE:
		return SE_TLS_FAIL;
	case PH_BANNER:
		return -2; /* nothing said first: ask */
	case PH_WRITE:
		return SE_SILENT;
	case PH_READ:
		if (j->n > 0) {
			int se = judge_end(j, true);

			return se >= 0 ? se : SE_OTHER;
		}
		return SE_SILENT;
	}
	return SE_ERROR;
}

static const char *const end_what[] = {
	[SE_SILENT] = "connected, nothing said",
	[SE_CLOSED] = "closed without an answer",
	[SE_RESET] = "reset after accepting",
	[SE_NO_SYNACK] = "no SYN-ACK",
};

/* A step ended with @p se: finish the probe or move to the next step. @return true when the
 * probe is finished. */
static bool
step_end(struct prober *pr, struct job *j, int se)
{
	job_close(pr, j);
	switch (se) {
	case SE_POOL:
		j->e.proto = (uint8_t)(j->step % SL_PROBE_P_MAX);
		j->e.tls = j->step >= SL_PROBE_P_MAX;
		job_finish(pr, j, SL_PROBE_R_pool, NULL, j->buf, j->n);
		return true;
	case SE_SERVICE:
		job_finish(pr, j, SL_PROBE_R_not_pool, j->other_what, j->other_answer, j->other_len);
		return true;
	case SE_REFUSED:
		if (j->step == 0) {
			job_finish(pr, j, SL_PROBE_R_refused, "connection refused", NULL, 0);
			return true;
		}
		j->resets++;
		break;
	case SE_NO_SYNACK:
		if (j->step == 0) {
			job_finish(pr, j, SL_PROBE_R_silent, end_what[SE_NO_SYNACK], NULL, 0);
			return true;
		}
		j->silents++;
		break;
	case SE_ERROR:
		if (j->step == 0) {
			char why[SL_PROBE_WHAT_MAX];

			snprintf(why, sizeof(why), "local error: %s", strerror(j->err ? j->err : EIO));
			job_finish(pr, j, SL_PROBE_R_error, why, NULL, 0);
			return true;
		}
		break;
	case SE_TLS_SEEN:
		if (j->step < SL_PROBE_P_MAX) {
			j->step = SL_PROBE_P_MAX - 1; /* the cleartext steps are done: TLS next */
			break;
		}
		j->clear_other = true;
		break;
	case SE_OTHER:
		j->clear_other = true;
		break;
	case SE_SILENT:
		j->silents++;
		break;
	case SE_CLOSED:
		j->closes++;
		break;
	case SE_RESET:
		j->resets++;
		break;
	case SE_TLS_FAIL:
		j->step = NSTEP - 1; /* no TLS here: nothing more to try */
		break;
	}
	/* next step: TLS steps only with probe_tls; after a failed handshake none */
	j->step++;
	if (j->step == SL_PROBE_P_MAX && !pr->p.tls)
		j->step = NSTEP;
	while (j->step < NSTEP) {
		int r = step_start(pr, j);

		if (r < 0)
			return false;
		job_close(pr, j);
		if (r == SE_REFUSED)
			j->resets++;
		j->step++;
	}
	if (j->clear_other)
		job_finish(pr, j, SL_PROBE_R_not_pool, j->other_what, j->other_answer, j->other_len);
	else if (j->silents > 0 && j->silents >= j->closes + j->resets)
		job_finish(pr, j, SL_PROBE_R_silent, end_what[SE_SILENT], NULL, 0);
	else
		job_finish(pr, j, SL_PROBE_R_not_pool, j->resets > j->closes ? end_what[SE_RESET] :
			end_what[SE_CLOSED], NULL, 0);
	return true;
}

static int
prober_init(struct prober *pr, const struct sl_probe_params *p)
{
	memset(pr, 0, sizeof(*pr));
	pr->p = *p;
	pr->njobs_max = p->concurrency == 0 ? 1 : p->concurrency > MAX_JOBS ? MAX_JOBS :
										 p->concurrency;
	for (unsigned int i = 0; i < MAX_JOBS; i++)
		pr->jobs[i].fd = -1;
	pr->ep = epoll_create1(EPOLL_CLOEXEC);
	if (pr->ep < 0)
		return -errno;
	pr->ctx = SSL_CTX_new(TLS_client_method());
	if (pr->ctx == NULL) {
		close(pr->ep);
		return -ENOMEM;
	}
	SSL_CTX_set_verify(pr->ctx, SSL_VERIFY_NONE, NULL); /* pools use self-signed certificates */
	return 0;
}

static void
prober_fini(struct prober *pr)
{
	for (unsigned int i = 0; i < MAX_JOBS; i++)
		job_close(pr, &pr->jobs[i]);
	SSL_CTX_free(pr->ctx);
	close(pr->ep);
}

/* Start a probe in a free job slot. @return the job, or NULL when none is free. */
static struct job *
prober_start(struct prober *pr, const uint8_t ip[16], uint16_t port)
{
	for (unsigned int i = 0; i < pr->njobs_max; i++) {
		struct job *j = &pr->jobs[i];

		if (j->busy)
			continue;
		memset(&j->e, 0, sizeof(j->e));
		memcpy(j->e.ip, ip, 16);
		j->e.port = port;
		j->e.used = 1;
		j->busy = true;
		j->start_ms = mono_ms();
		j->step = 0;
		j->tls_ok = j->clear_other = false;
		j->err = 0;
		j->resets = j->closes = j->silents = 0;
		j->other_what[0] = '\0';
		j->other_len = 0;
		pr->active++;
		int r = step_start(pr, j);

		if (r >= 0)
			step_end(pr, j, r);
		return j;
	}
	return NULL;
}

/* One pass: wait for I/O up to @p wait_ms, drive what is ready, expire deadlines; @p done is
 * called on each finished probe. */
static void
prober_pass(struct prober *pr, int wait_ms, void (*done)(void *, struct job *), void *arg)
{
	struct epoll_event ev[32];
	uint64_t now = mono_ms();
	int n;

	for (unsigned int i = 0; i < pr->njobs_max; i++) {
		const struct job *j = &pr->jobs[i];

		if (j->busy && j->deadline_ms > now && (int)(j->deadline_ms - now) < wait_ms)
			wait_ms = (int)(j->deadline_ms - now);
		else if (j->busy && j->deadline_ms <= now)
			wait_ms = 0;
	}
	n = epoll_wait(pr->ep, ev, 32, wait_ms);
	for (int i = 0; i < n; i++) {
		struct job *j = ev[i].data.ptr;
		int se;

		if (!j->busy || j->fd < 0)
			continue;
		se = step_io(pr, j, ev[i].events);
		if (se >= 0 && step_end(pr, j, se)) {
			pr->active--;
			done(arg, j);
		}
	}
	now = mono_ms();
	for (unsigned int i = 0; i < pr->njobs_max; i++) {
		struct job *j = &pr->jobs[i];
		int se;

		if (!j->busy || j->deadline_ms > now)
			continue;
		se = step_timeout(j);
		if (se == -2) { /* the banner wait is over: send the request */
			j->ph = PH_WRITE;
			j->deadline_ms = now + pr->p.timeout_ms;
			se = step_io(pr, j, EPOLLOUT);
			if (se < 0)
				continue;
		}
		if (step_end(pr, j, se)) {
			pr->active--;
			done(arg, j);
		}
	}
}

/* ---------------------------------------------------------------- the book */

struct dest {
	uint8_t ip[16];
	uint64_t window_us; /* start of its hour */
	uint32_t count;
	uint8_t used;
};

struct sl_probe {
	struct sl_probe_params p;
	/* control core */
	struct sl_probe_entry *cache;
	struct dest *dests;
	uint32_t mask;
	uint64_t *minute;     /* start times of the last max_per_minute probes (a ring) */
	uint32_t minute_pos;
	struct sl_probe_stats st;
	uint8_t local[MAX_LOCAL][16];
	unsigned int nlocal;
	/* shared */
	struct req_ring rq;
	struct res_ring rs;
	/* the thread */
	struct prober pr;
	pthread_t thread;
	bool running;
	int stop;
};

static uint32_t
key_hash(const uint8_t ip[16], uint16_t port)
{
	uint64_t h = 1469598103934665603ull;

	for (unsigned int i = 0; i < 16; i++)
		h = (h ^ ip[i]) * 1099511628211ull;
	h = (h ^ port) * 1099511628211ull;
	return (uint32_t)(h ^ (h >> 32));
}

static void
th_done(void *arg, struct job *j)
{
	struct sl_probe *p = arg;
	uint32_t head = p->rs.head;

	/* the result ring holds RING_SIZE and at most RING_SIZE probes are ever in flight
	 * (requests are refused when requests + results in flight would exceed it) */
	p->rs.slot[head & (RING_SIZE - 1)] = j->e;
	__atomic_store_n(&p->rs.head, head + 1, __ATOMIC_RELEASE);
}

static void *
th_main(void *arg)
{
	struct sl_probe *p = arg;
	sigset_t ss;

	sigemptyset(&ss);
	sigaddset(&ss, SIGPIPE); /* a peer that closes under a TLS write: EPIPE, not a signal */
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGHUP);
	sigaddset(&ss, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &ss, NULL);
	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
		uint32_t tail = p->rq.tail;

		while (p->pr.active < p->pr.njobs_max &&
		       tail != __atomic_load_n(&p->rq.head, __ATOMIC_ACQUIRE)) {
			struct req r = p->rq.slot[tail & (RING_SIZE - 1)];
			struct job *j;

			__atomic_store_n(&p->rq.tail, ++tail, __ATOMIC_RELEASE);
			j = prober_start(&p->pr, r.ip, r.port);
			if (j != NULL && !j->busy) { /* finished at once (refused, local error) */
				p->pr.active--;
				th_done(p, j);
			}
		}
		prober_pass(&p->pr, IDLE_WAIT_MS, th_done, p);
	}
	return NULL;
}

static void
learn_local(struct sl_probe *p)
{
	struct ifaddrs *ifa = NULL;

	if (p->p.has_source)
		memcpy(p->local[p->nlocal++], p->p.source, 16);
	if (getifaddrs(&ifa) != 0)
		return;
	for (struct ifaddrs *i = ifa; i != NULL && p->nlocal < MAX_LOCAL; i = i->ifa_next) {
		uint8_t a[16] = {0};

		if (i->ifa_addr == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			a[10] = a[11] = 0xff;
			memcpy(a + 12, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			memcpy(a, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		memcpy(p->local[p->nlocal++], a, 16);
	}
	freeifaddrs(ifa);
}

struct sl_probe *
sl_probe_create(const struct sl_probe_params *params, int *rc)
{
	struct sl_probe *p = calloc(1, sizeof(*p));
	uint32_t size = 64;

	*rc = -ENOMEM;
	if (p == NULL)
		return NULL;
	p->p = *params;
	while (size < params->cache_size && size < (1u << 24))
		size <<= 1;
	p->mask = size - 1;
	p->cache = calloc(size, sizeof(*p->cache));
	p->dests = calloc(size, sizeof(*p->dests));
	p->minute = calloc(params->max_per_minute ? params->max_per_minute : 1, sizeof(uint64_t));
	if (p->cache == NULL || p->dests == NULL || p->minute == NULL)
		goto fail;
	learn_local(p);
	if (params->enabled) {
		int r = prober_init(&p->pr, params);

		if (r < 0) {
			*rc = r;
			goto fail;
		}
		r = pthread_create(&p->thread, NULL, th_main, p);
		if (r != 0) {
			prober_fini(&p->pr);
			*rc = -r;
			goto fail;
		}
		pthread_setname_np(p->thread, "sluice-probe");
		p->running = true;
	}
	*rc = 0;
	return p;
fail:
	free(p->cache);
	free(p->dests);
	free(p->minute);
	free(p);
	return NULL;
}

void
sl_probe_free(struct sl_probe *p)
{
	if (p == NULL)
		return;
	if (p->running) {
		__atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
		pthread_join(p->thread, NULL);
		prober_fini(&p->pr);
	}
	free(p->cache);
	free(p->dests);
	free(p->minute);
	free(p);
}

/* The slot of (ip, port): its entry (fresh or expired), else the first reusable slot in the
 * scan (NULL when SCAN_LIMIT slots are all taken by other fresh keys). */
static struct sl_probe_entry *
slot_of(struct sl_probe *p, const uint8_t ip[16], uint16_t port, uint64_t now, bool *found)
{
	uint32_t h = key_hash(ip, port);
	struct sl_probe_entry *free_slot = NULL;

	*found = false;
	for (uint32_t i = 0; i < SCAN_LIMIT && i <= p->mask; i++) {
		struct sl_probe_entry *e = &p->cache[(h + i) & p->mask];

		if (!e->used)
			return free_slot != NULL ? free_slot : e;
		if (e->port == port && memcmp(e->ip, ip, 16) == 0) {
			*found = true;
			return e;
		}
		if (free_slot == NULL && e->expires_us <= now && e->result != SL_PROBE_R_PENDING)
			free_slot = e;
	}
	return free_slot;
}

const struct sl_probe_entry *
sl_probe_lookup(struct sl_probe *p, const uint8_t ip[16], uint16_t port, uint64_t now_us)
{
	bool found;
	struct sl_probe_entry *e = slot_of(p, ip, port, now_us, &found);

	if (!found || (e->result != SL_PROBE_R_PENDING && e->expires_us <= now_us))
		return NULL;
	return e;
}

/* Per-destination cap: probes to @p ip within its hour. @return true when one more is allowed
 * (and counts it). */
static bool
dest_take(struct sl_probe *p, const uint8_t ip[16], uint64_t now, bool take)
{
	uint32_t h = key_hash(ip, 0);
	struct dest *free_slot = NULL;

	for (uint32_t i = 0; i < SCAN_LIMIT && i <= p->mask; i++) {
		struct dest *d = &p->dests[(h + i) & p->mask];

		if (d->used && memcmp(d->ip, ip, 16) == 0) {
			if (now - d->window_us >= 3600000000ull) {
				d->window_us = now;
				d->count = 0;
			}
			if (d->count >= p->p.max_per_dest)
				return false;
			d->count += take;
			return true;
		}
		if (free_slot == NULL && (!d->used || now - d->window_us >= 3600000000ull))
			free_slot = d;
		if (!d->used)
			break;
	}
	if (free_slot == NULL)
		return false;
	if (take) {
		memcpy(free_slot->ip, ip, 16);
		free_slot->used = 1;
		free_slot->window_us = now;
		free_slot->count = 1;
	}
	return p->p.max_per_dest > 0;
}

static bool
minute_allows(const struct sl_probe *p, uint64_t now)
{
	uint64_t oldest = p->minute[p->minute_pos];

	return p->p.max_per_minute > 0 && (oldest == 0 || now - oldest >= 60000000ull);
}

static int
skip(struct sl_probe *p, struct sl_probe_entry *e, const uint8_t ip[16], uint16_t port,
	const uint8_t *host, unsigned int why, uint64_t now, struct sl_probe_entry *out)
{
	p->st.skips[why]++;
	if (e != NULL) {
		memset(e, 0, sizeof(*e));
		memcpy(e->ip, ip, 16);
		e->port = port;
		e->used = 1;
		e->result = SL_PROBE_R_skipped;
		e->skip = (uint8_t)why;
		e->asked_us = now;
		e->expires_us = now + p->p.skip_ttl_us;
		if (host != NULL)
			memcpy(e->host, host, 16);
		snprintf(e->what, sizeof(e->what), "not probed: %s", sl_probe_skip_name(why));
	}
	if (out != NULL) {
		if (e != NULL) {
			*out = *e;
		} else {
			memset(out, 0, sizeof(*out));
			memcpy(out->ip, ip, 16);
			out->port = port;
			out->result = SL_PROBE_R_skipped;
			out->skip = (uint8_t)why;
			out->asked_us = now;
			if (host != NULL)
				memcpy(out->host, host, 16);
			snprintf(out->what, sizeof(out->what), "not probed: %s", sl_probe_skip_name(why));
		}
	}
	return SL_PROBE_ASK_SKIPPED;
}

int
sl_probe_ask(struct sl_probe *p, const uint8_t ip[16], uint16_t port, const uint8_t *host,
	uint64_t now_us, struct sl_probe_entry *out)
{
	bool found;
	struct sl_probe_entry *e = slot_of(p, ip, port, now_us, &found);
	uint32_t head, inflight;

	if (found && (e->result == SL_PROBE_R_PENDING || e->expires_us > now_us)) {
		p->st.cache_hits++;
		if (out != NULL)
			*out = *e;
		return e->result == SL_PROBE_R_skipped ? SL_PROBE_ASK_SKIPPED : SL_PROBE_ASK_CACHED;
	}
	p->st.asked++;
	if (sl_cidr_set_match(&p->p.allowlist, ip))
		return skip(p, e, ip, port, host, SL_PROBE_S_allowlisted, now_us, out);
	if (sl_cidr_set_match(&p->p.home_nets, ip))
		return skip(p, e, ip, port, host, SL_PROBE_S_home_net, now_us, out);
	if (!p->p.enabled || !p->running)
		return skip(p, e, ip, port, host, SL_PROBE_S_off, now_us, out);
	if (e == NULL)
		return skip(p, NULL, ip, port, host, SL_PROBE_S_cache_full, now_us, out);
	if (!minute_allows(p, now_us))
		return skip(p, e, ip, port, host, SL_PROBE_S_cap_rate, now_us, out);
	if (!dest_take(p, ip, now_us, false))
		return skip(p, e, ip, port, host, SL_PROBE_S_cap_dest, now_us, out);
	head = p->rq.head;
	/* requests queued + results not yet taken stay within the result ring */
	inflight = (uint32_t)(p->st.started - p->st.done);
	if (inflight >= RING_SIZE)
		return skip(p, e, ip, port, host, SL_PROBE_S_queue_full, now_us, out);
	dest_take(p, ip, now_us, true);
	p->minute[p->minute_pos] = now_us;
	p->minute_pos = (p->minute_pos + 1) % p->p.max_per_minute;
	memset(e, 0, sizeof(*e));
	memcpy(e->ip, ip, 16);
	e->port = port;
	e->used = 1;
	e->result = SL_PROBE_R_PENDING;
	e->asked_us = now_us;
	e->expires_us = now_us + p->p.ttl_us;
	if (host != NULL)
		memcpy(e->host, host, 16);
	memcpy(p->rq.slot[head & (RING_SIZE - 1)].ip, ip, 16);
	p->rq.slot[head & (RING_SIZE - 1)].port = port;
	__atomic_store_n(&p->rq.head, head + 1, __ATOMIC_RELEASE); /* the request is written */
	p->st.started++;
	if (out != NULL)
		*out = *e;
	return SL_PROBE_ASK_QUEUED;
}

unsigned int
sl_probe_poll(struct sl_probe *p, uint64_t now_us, sl_probe_done_fn fn, void *arg)
{
	uint32_t tail = p->rs.tail, head = __atomic_load_n(&p->rs.head, __ATOMIC_ACQUIRE);
	unsigned int n = 0;

	while (tail != head) {
		struct sl_probe_entry r = p->rs.slot[tail & (RING_SIZE - 1)];
		bool found;
		struct sl_probe_entry *e;

		__atomic_store_n(&p->rs.tail, ++tail, __ATOMIC_RELEASE);
		p->st.done++;
		p->st.latency_ms_sum += r.latency_ms;
		if (r.result < SL_PROBE_R_MAX)
			p->st.results[r.result]++;
		if (r.result == SL_PROBE_R_pool && r.proto < SL_PROBE_P_MAX)
			p->st.pools[r.proto]++;
		e = slot_of(p, r.ip, r.port, now_us, &found);
		if (found) {
			memcpy(r.host, e->host, 16);
			r.asked_us = e->asked_us;
		} else {
			r.asked_us = now_us - (uint64_t)r.latency_ms * 1000;
		}
		r.used = 1;
		r.expires_us = now_us + p->p.ttl_us;
		if (e != NULL)
			*e = r;
		if (fn != NULL)
			fn(arg, &r);
		n++;
	}
	return n;
}

void
sl_probe_foreach(struct sl_probe *p, uint64_t now_us, sl_probe_done_fn fn, void *arg)
{
	for (uint32_t i = 0; i <= p->mask; i++) {
		const struct sl_probe_entry *e = &p->cache[i];

		if (e->used && (e->result == SL_PROBE_R_PENDING || e->expires_us > now_us))
			fn(arg, e);
	}
}

void
sl_probe_get_stats(const struct sl_probe *p, struct sl_probe_stats *out)
{
	*out = p->st;
	out->connections = __atomic_load_n(&p->pr.connections, __ATOMIC_RELAXED);
	out->cache_entries = 0;
	for (uint32_t i = 0; i <= p->mask; i++)
		out->cache_entries += p->cache[i].used; /* fresh or expired, not yet reused */
}

void
sl_probe_count_own(struct sl_probe *p)
{
	p->st.own_flows++;
}

bool
sl_probe_is_local(const struct sl_probe *p, const uint8_t addr[16])
{
	for (unsigned int i = 0; i < p->nlocal; i++)
		if (memcmp(p->local[i], addr, 16) == 0)
			return true;
	return false;
}

/* ---------------------------------------------------------------- one probe, in place */

struct one {
	struct sl_probe_entry *out;
	bool done;
};

static void
one_done(void *arg, struct job *j)
{
	struct one *o = arg;

	*o->out = j->e;
	o->done = true;
}

int
sl_probe_run_one(const struct sl_probe_params *params, const uint8_t ip[16], uint16_t port,
	struct sl_probe_entry *out)
{
	struct prober *pr = calloc(1, sizeof(*pr));
	struct one o = {.out = out};
	struct job *j;
	int r;

	if (pr == NULL)
		return -ENOMEM;
	r = prober_init(pr, params);
	if (r < 0) {
		free(pr);
		return r;
	}
	j = prober_start(pr, ip, port);
	if (j != NULL && !j->busy)
		one_done(&o, j);
	while (!o.done && j != NULL)
		prober_pass(pr, 100, one_done, &o);
	prober_fini(pr);
	free(pr);
	return j != NULL ? 0 : -EBUSY;
}

/* ---------------------------------------------------------------- configuration */

int
sl_probe_params_from_cfg(const struct sl_cfg *c, bool live, struct sl_probe_params *p, char *err,
	size_t errlen)
{
	char tmp[512];

	memset(p, 0, sizeof(*p));
	p->enabled = live && c->probe;
	p->ttl_us = c->probe_cache_ttl_s * 1000000;
	p->skip_ttl_us = 60000000;
	p->cache_size = (uint32_t)c->probe_cache_size;
	p->max_per_minute = (uint32_t)c->probe_max_per_minute;
	p->max_per_dest = (uint32_t)c->probe_max_per_dest;
	p->timeout_ms = (uint32_t)c->probe_timeout_ms;
	p->banner_ms = (uint32_t)c->probe_banner_ms;
	p->concurrency = (uint32_t)c->probe_concurrency;
	p->tls = c->probe_tls != 0;
	p->home_nets = c->home_nets;
	if (sl_cidr_set_parse(&p->allowlist, c->block_allowlist, tmp, sizeof(tmp)) < 0) {
		snprintf(err, errlen, "block_allowlist: %s", tmp);
		return -EINVAL;
	}
	if (c->probe_source[0] != '\0') {
		struct sl_cidr s;

		if (strchr(c->probe_source, '/') != NULL || sl_cidr_parse(c->probe_source, &s) < 0) {
			snprintf(err, errlen, "probe_source: '%s' is not an IPv4 or IPv6 address",
				c->probe_source);
			return -EINVAL;
		}
		memcpy(p->source, s.addr, 16);
		p->has_source = true;
	}
	return 0;
}
