/* hostq.h: the telemetry host queries /sluice/hosts[,N] and /sluice/host,<ip>. A telemetry
 * thread posts one query at a time (a mutex only telemetry threads take) and waits; the control
 * core, which owns the host and score tables, answers in hostq_poll() and never waits. */
#ifndef SL_HOSTQ_H
#define SL_HOSTQ_H

#include "sl_host.h"
#include "sl_score.h"

/** What the answers are read from (control core). */
struct hostq_src {
	struct sl_chost_table *hosts;
	struct sl_score *score; /**< NULL: score = 0 */
};

/** Register the two commands. @return 0 or -EINVAL. */
int hostq_register(void);

/** Control core: answer a pending query, if any. */
void hostq_poll(struct hostq_src *a);

#endif /* SL_HOSTQ_H */
