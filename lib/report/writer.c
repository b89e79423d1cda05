/* writer.c: the event writer (see sl_report.h): JSON lines appended into memory chunks,
 * written by write(2) from the caller's thread or from a writer thread fed by a
 * single-producer/single-consumer ring, so that an event costs no syscall and, threaded,
 * the control core never waits on a disk. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report_priv.h"
#include "sl_report.h"

/* A line ending within this many bytes of a chunk's end hands the chunk on: lines rarely
 * straddle chunks (sl_writer_room() copes when they do). */
#define CHUNK_SLACK (SL_WRITER_CHUNK / 8)

struct chunk {
	char *data;     /* bytes: complete lines */
	size_t len;     /* bytes in data */
	size_t cap;     /* size of data (a line longer than a chunk grows it) */
	int newfd;      /* >= 0: after writing data, write to this descriptor (reopen) */
	bool last;      /* the writer thread ends after this one */
};

/*
 * Threaded, chunks travel on two single-producer/single-consumer rings of chunk indices:
 * "full" (control core -> writer thread) and "free" (writer thread -> control core). Each
 * ring is an array whose head is written only by its producer and tail only by its
 * consumer; a POSIX semaphore counts the entries. sem_post() and sem_wait() synchronize
 * memory (POSIX.1 4.12), so a slot written before sem_post() is seen after the matching
 * sem_wait(): no other barrier is needed. glibc's sem_post() makes no syscall unless the
 * other side sleeps, and sem_trywait() none at all.
 */
struct ring {
	unsigned int slot[SL_WRITER_CHUNKS];
	unsigned int head;  /* producer's */
	unsigned int tail;  /* consumer's */
	sem_t n;            /* entries */
};

struct sl_writer {
	/* control core (the caller) */
	struct chunk *cur;         /* chunk being filled */
	unsigned int cur_idx;      /* its index in chunks[] */
	char *path;                /* reopened on sl_writer_reopen(), or NULL */
	bool own_fd;               /* fd is ours to close */
	bool threaded;             /* asked for a writer thread */
	bool running;              /* the writer thread runs */
	int err;                   /* first write error seen since open/reopen (-errno), or 0 */
	bool failed;               /* any write or close failed since open */
	uint64_t lines, bytes, chunks, waits;
	char sensor[SL_SENSOR_ID_MAX]; /* EVE's host on every line */
	sl_writer_device_fn device_fn;  /* writes the judged host's "device" member, or NULL */
	void *device_arg;
	struct sl_syslog *sys;         /* also send every line as a syslog message, or NULL */
	/* unthreaded: the caller's; threaded: the writer thread's once it runs */
	int fd;
	/* written by whoever does the write(2)s, read by the caller (relaxed atomics) */
	uint64_t write_errors;
	int thr_err;               /* writer thread: first write error (-errno), or 0 */
	/* threaded */
	pthread_t thr;
	struct ring full, free;
	unsigned int nchunks;      /* chunks in pool[] */
	struct chunk pool[SL_WRITER_CHUNKS];
};

static void
ring_put(struct ring *r, unsigned int idx)
{
	r->slot[r->head++ % SL_WRITER_CHUNKS] = idx;
	sem_post(&r->n);
}

/* Take an entry: block if @p wait, else fail when empty. @return the index or -1. */
static int
ring_get(struct ring *r, bool wait)
{
	if (wait) {
		while (sem_wait(&r->n) != 0)
			; /* EINTR */
	} else if (sem_trywait(&r->n) != 0) {
		return -1;
	}
	return (int)r->slot[r->tail++ % SL_WRITER_CHUNKS];
}

/* write(2) all of it (nothing without a file). @return 0 or -errno. */
static int
write_all(int fd, const char *p, size_t n)
{
	if (fd == SL_WRITER_NO_FILE)
		return 0;
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The descriptor switch a chunk may carry (reopen): the old one is closed if ours. */
static void
switch_fd(struct sl_writer *w, struct chunk *c)
{
	if (c->newfd < 0)
		return;
	if (w->own_fd)
		close(w->fd);
	w->fd = c->newfd;
	c->newfd = -1;
}

/* Writer thread: write the chunks it is handed, in order, and give them back. */
static void *
writer_main(void *arg)
{
	struct sl_writer *w = arg;

	for (;;) {
		int idx = ring_get(&w->full, true);
		struct chunk *c = &w->pool[idx];
		bool last = c->last;

		if (c->len > 0) {
			int rc = write_all(w->fd, c->data, c->len);

			sl_syslog_send_lines(w->sys, c->data, c->len);
			if (rc < 0) {
				__atomic_fetch_add(&w->write_errors, 1, __ATOMIC_RELAXED);
				/* first error wins; the caller reads it with a relaxed load (an error
				 * noticed a pass late is fine) */
				int zero = 0;
				__atomic_compare_exchange_n(&w->thr_err, &zero, rc, false,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED);
			}
		}
		switch_fd(w, c);
		c->len = 0;
		c->last = false;
		ring_put(&w->free, (unsigned int)idx);
		if (last)
			return NULL;
	}
}

static int
chunk_alloc(struct chunk *c)
{
	c->data = malloc(SL_WRITER_CHUNK);
	if (c->data == NULL)
		return -ENOMEM;
	c->cap = SL_WRITER_CHUNK;
	c->len = 0;
	c->newfd = -1;
	c->last = false;
	return 0;
}

struct sl_writer *
sl_writer_open(const char *path, int fd, bool threaded, char *err, size_t len)
{
	struct sl_writer *w;
	unsigned int n = threaded ? SL_WRITER_CHUNKS : 1;

	if (path == NULL && fd < 0 && fd != SL_WRITER_NO_FILE) {
		snprintf(err, len, "event writer: no path and no descriptor");
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		goto err_nomem;
	w->threaded = threaded;
	w->nchunks = n;
	for (unsigned int i = 0; i < n; i++)
		if (chunk_alloc(&w->pool[i]) < 0)
			goto err_free_chunks;
	if (path != NULL) {
		w->path = strdup(path);
		if (w->path == NULL)
			goto err_free_chunks;
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, SL_OUTPUT_MODE);
		if (fd < 0) {
			int e = errno;

			snprintf(err, len, "%s: %s", path, strerror(e));
			free(w->path);
			for (unsigned int i = 0; i < n; i++)
				free(w->pool[i].data);
			free(w);
			errno = e;
			return NULL;
		}
		w->own_fd = true;
	}
	w->fd = fd;
	w->cur_idx = 0;
	w->cur = &w->pool[0];
	if (threaded) {
		sem_init(&w->full.n, 0, 0);
		sem_init(&w->free.n, 0, 0);
		for (unsigned int i = 1; i < n; i++)
			ring_put(&w->free, i);
	}
	return w;

err_free_chunks:
	for (unsigned int i = 0; i < n; i++)
		free(w->pool[i].data);
	free(w->path);
	free(w);
err_nomem:
	snprintf(err, len, "event writer: out of memory");
	errno = ENOMEM;
	return NULL;
}

/* Threaded: start the writer thread (first hand-off) with every signal blocked, so the
 * process's handlers run on the caller's threads. @return true if it runs. */
static bool
start_thread(struct sl_writer *w)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thr, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		w->threaded = false; /* write from the caller's thread instead */
		return false;
	}
	w->running = true;
	return true;
}

static void
note_error(struct sl_writer *w, int rc)
{
	__atomic_store_n(&w->write_errors, w->write_errors + 1, __ATOMIC_RELAXED);
	if (w->err == 0)
		w->err = rc;
	w->failed = true;
}

/*
 * Hand the first @p upto bytes of the current chunk on; the bytes after them (a line being
 * written) stay at the start of the chunk that is current afterwards.
 * @p wait: threaded, wait for a free chunk (else give up and return false).
 */
static bool
hand_on(struct sl_writer *w, size_t upto, bool wait)
{
	struct chunk *c = w->cur, *nc;
	size_t rest = c->len - upto;
	bool ok;
	int idx;

	if (w->threaded && !w->running && !start_thread(w))
		w->threaded = false;
	if (!w->threaded) {
		if (upto > 0) {
			int rc = write_all(w->fd, c->data, upto);

			sl_syslog_send_lines(w->sys, c->data, upto);
			if (rc < 0)
				note_error(w, rc);
			w->chunks++;
		}
		memmove(c->data, c->data + upto, rest);
		c->len = rest;
		switch_fd(w, c);
		return true;
	}
	idx = ring_get(&w->free, false);
	if (idx < 0) {
		if (!wait)
			return false;
		w->waits++;
		idx = ring_get(&w->free, true);
	}
	nc = &w->pool[idx];
	ok = true;
	if (rest > nc->cap) { /* the line outgrew a chunk: so must this one */
		char *d = realloc(nc->data, c->cap);

		if (d != NULL) {
			nc->data = d;
			nc->cap = c->cap;
		} else {
			ok = false; /* the line is lost (the caller reports ENOMEM) */
			rest = 0;
		}
	}
	memcpy(nc->data, c->data + upto, rest);
	nc->len = rest;
	c->len = upto;
	if (upto > 0)
		w->chunks++;
	ring_put(&w->full, w->cur_idx);
	w->cur = nc;
	w->cur_idx = (unsigned int)idx;
	return ok;
}

/* The caller's view of write errors: its own and the thread's. A failure also sets errno,
 * so a caller that logs strerror(errno) names it. */
static int
writer_err(struct sl_writer *w)
{
	if (w->err == 0 && w->running) {
		int e = __atomic_load_n(&w->thr_err, __ATOMIC_RELAXED);

		if (e != 0) {
			w->err = e;
			w->failed = true;
		}
	}
	if (w->err != 0)
		errno = -w->err;
	return w->err;
}

bool
sl_writer_room(struct sl_json *j, size_t n)
{
	struct sl_writer *w = j->w;
	struct chunk *c = w->cur;

	c->len = j->len;
	if (j->mark > 0) {
		if (!hand_on(w, j->mark, true))
			goto err_nomem;
		j->mark = 0;
	}
	c = w->cur;
	if (c->cap - c->len < n) { /* one line longer than a chunk */
		size_t ncap = c->cap * 2 > c->len + n ? c->cap * 2 : c->len + n;
		char *d = realloc(c->data, ncap);

		if (d == NULL)
			goto err_nomem;
		c->data = d;
		c->cap = ncap;
	}
	j->buf = c->data;
	j->len = c->len;
	j->cap = c->cap;
	return true;

err_nomem:
	c = w->cur;
	j->buf = c->data;
	j->len = c->len;
	j->cap = c->cap;
	if (j->mark > j->len) /* the line's start was dropped with its chunk */
		j->mark = j->len;
	j->err = -ENOMEM;
	return false;
}

void
sl_json_line_begin(struct sl_json *j, struct sl_writer *w)
{
	j->w = w;
	j->f = NULL;
	j->buf = w->cur->data;
	j->len = w->cur->len;
	j->cap = w->cur->cap;
	j->mark = j->len;
	j->err = 0;
	j->depth = 0;
	j->compact = true;
	j->first[0] = true;
}

int
sl_json_line_end(struct sl_json *j)
{
	struct sl_writer *w = j->w;

	if (j->err == 0 && (j->cap > j->len || sl_writer_room(j, 1)))
		j->buf[j->len++] = '\n';
	if (j->err != 0) { /* a line cut short is dropped whole */
		w->cur->len = j->mark;
		errno = -j->err;
		return j->err;
	}
	w->cur->len = j->len;
	w->lines++;
	w->bytes += j->len - j->mark;
	if (w->cur->cap - w->cur->len < CHUNK_SLACK)
		hand_on(w, w->cur->len, true);
	return writer_err(w);
}

int
sl_writer_flush(struct sl_writer *w)
{
	if (w->cur->len > 0)
		hand_on(w, w->cur->len, false);
	return writer_err(w);
}

int
sl_writer_reopen(struct sl_writer *w)
{
	int fd;

	if (w->path == NULL)
		return -EINVAL;
	fd = open(w->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, SL_OUTPUT_MODE);
	if (fd < 0)
		return -errno;
	/* lines so far go to the old file; the switch travels with them */
	w->cur->newfd = fd;
	hand_on(w, w->cur->len, true);
	w->err = 0;
	if (w->running)
		__atomic_store_n(&w->thr_err, 0, __ATOMIC_RELAXED);
	return 0;
}

int
sl_writer_close(struct sl_writer *w)
{
	int ret;

	if (w == NULL)
		return 0;
	if (w->running) {
		w->cur->last = true;
		hand_on(w, w->cur->len, true);
		pthread_join(w->thr, NULL);
		w->running = false;
		w->threaded = false;
	} else if (w->cur->len > 0) {
		w->threaded = false; /* no thread to start for the last bytes */
		hand_on(w, w->cur->len, true);
	}
	writer_err(w);
	if (__atomic_load_n(&w->write_errors, __ATOMIC_RELAXED) > 0)
		w->failed = true;
	if (w->own_fd && close(w->fd) != 0)
		w->failed = true;
	sl_syslog_close(w->sys);
	ret = w->failed ? -EIO : 0;
	if (ret < 0) /* for a caller that logs strerror(errno): the first error, if known */
		errno = w->err != 0 ? -w->err : EIO;
	if (w->nchunks > 1) {
		sem_destroy(&w->full.n);
		sem_destroy(&w->free.n);
	}
	for (unsigned int i = 0; i < w->nchunks; i++)
		free(w->pool[i].data);
	free(w->path);
	free(w);
	return ret;
}

void
sl_writer_get_stats(const struct sl_writer *w, struct sl_writer_stats *st)
{
	st->lines = w->lines;
	st->bytes = w->bytes;
	st->write_errors = __atomic_load_n(&w->write_errors, __ATOMIC_RELAXED);
	st->chunks = w->chunks;
	st->waits = w->waits;
	sl_syslog_get_stats(w->sys, &st->syslog_sent, &st->syslog_dropped, &st->syslog_errors);
}

void
sl_writer_set_syslog(struct sl_writer *w, struct sl_syslog *s)
{
	w->sys = s;
}

int
sl_writer_sync(struct sl_writer *w, unsigned int wait_ms)
{
	int v = 0;

	if (w->cur->len > 0)
		hand_on(w, w->cur->len, true);
	/* threaded: every chunk but the current one back on the free ring = all written */
	for (unsigned int i = 0; w->running && i < wait_ms; i++) {
		struct timespec ms = {0, 1000000};

		if (sem_getvalue(&w->free.n, &v) == 0 && v >= (int)w->nchunks - 1)
			break;
		nanosleep(&ms, NULL);
	}
	/* the writer thread now waits for a chunk: the syslog sink is ours for a moment */
	sl_syslog_finish(w->sys, wait_ms);
	return writer_err(w);
}

void
sl_writer_set_sensor(struct sl_writer *w, const char *sensor_id)
{
	snprintf(w->sensor, sizeof(w->sensor), "%s", sensor_id != NULL ? sensor_id : "");
}

void
sl_writer_set_device(struct sl_writer *w, sl_writer_device_fn fn, void *arg)
{
	w->device_fn = fn;
	w->device_arg = arg;
}

void
sl_writer_device(struct sl_writer *w, struct sl_json *j, const uint8_t addr[16])
{
	if (w->device_fn != NULL)
		w->device_fn(w->device_arg, j, addr);
}

const char *
sl_writer_sensor(const struct sl_writer *w)
{
	return w->sensor;
}
