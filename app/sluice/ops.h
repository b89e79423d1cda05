/* ops.h: operator commands on the response at run time, through DPDK telemetry (and
 * scripts/sluice-ctl, which speaks to the same socket): block, unblock, list, allowlist add,
 * remove and list. A telemetry thread posts one command at a time and waits; the control core
 * (which owns the block table) carries it out in ops_poll() and never waits on anyone. */
#ifndef SL_OPS_H
#define SL_OPS_H

#include <stdint.h>

#include "sl_block.h"

/** Register the commands (live runs with a response). @return 0 or -errno. */
int ops_register(void);

/** Control core: carry out a pending command, if any, at time @p now_us. */
void ops_poll(struct sl_block *b, uint64_t now_us);

/** Make the telemetry socket of this process root-only (mode 0600). @return 0 or -errno. */
int ops_secure_socket(void);

#endif /* SL_OPS_H */
