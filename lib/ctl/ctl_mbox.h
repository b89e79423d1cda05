/* ctl_mbox.h: a one-slot mailbox between a telemetry thread and the control core. The telemetry
 * side posts a request (its data already written) and waits a bounded time; the control core
 * sees it pending in its loop, answers (writing the reply first) and marks it done. The
 * control core never waits; concurrent telemetry callers serialise on their own lock. */
#ifndef SL_MBOX_H
#define SL_MBOX_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

struct mbox {
	uint64_t asked;    /**< requests posted (telemetry side, acq_rel) */
	uint64_t answered; /**< requests answered (control core, release) */
};

/** Telemetry side: post a request and wait up to @p ms. @return 0 or -ETIMEDOUT. */
static inline int
mbox_post_wait(struct mbox *m, unsigned int ms)
{
	/* ACQ_REL: the request's data is written before the control core can see it posted */
	uint64_t want = __atomic_add_fetch(&m->asked, 1, __ATOMIC_ACQ_REL);

	for (unsigned int i = 0; i < ms; i++) {
		if (__atomic_load_n(&m->answered, __ATOMIC_ACQUIRE) >= want)
			return 0;
		usleep(1000);
	}
	return __atomic_load_n(&m->answered, __ATOMIC_ACQUIRE) >= want ? 0 : -ETIMEDOUT;
}

/** Control core: is a request waiting? @p ticket receives what to pass to mbox_done(). */
static inline bool
mbox_pending(const struct mbox *m, uint64_t *ticket)
{
	*ticket = __atomic_load_n(&m->asked, __ATOMIC_ACQUIRE);
	return *ticket != m->answered;
}

/** Control core: the answer is written; release it to the waiting telemetry thread. */
static inline void
mbox_done(struct mbox *m, uint64_t ticket)
{
	__atomic_store_n(&m->answered, ticket, __ATOMIC_RELEASE);
}

#endif /* SL_MBOX_H */
