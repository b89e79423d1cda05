/* eal.h: how sluice starts EAL and sizes its tables offline (eal.c): tables fitted to the
 * input instead of the live capacities, hugepages when there are free ones (--in-memory,
 * nothing left behind), --no-huge otherwise, and the runtime directory removed at exit. */
#ifndef SL_APP_EAL_H
#define SL_APP_EAL_H

#include <stdbool.h>
#include <stdint.h>

#include "sl_cfg.h"

#define SL_EAL_FIT_FLOOR 1024 /**< smallest fitted table (entries) */
#define SL_EAL_MBUF_FLOOR 512 /**< smallest fitted mbuf pool (1.5 x the per-lcore cache) */

/**
 * Fit the offline capacities to an input of at most @p max_packets packets (see
 * sl_input_max_packets()): each becomes min(configured, max(floor, next power of two of
 * what the input can fill)). Flows and payload buffers are bounded by packets, hosts (worker,
 * control, scored) by twice that. A fitted table can never fill where the configured one
 * would not, so results do not change. Remembers the configured flow capacity
 * (sl_eal_flow_capacity_shown()). Main thread, before EAL init.
 * @param score_capacity the scorer's capacity (sl_score_params), fitted in place
 */
void sl_eal_fit_offline(struct sl_cfg *cfg, uint32_t *score_capacity, uint64_t max_packets);

/** Mbufs for an offline run: @p automatic unless the whole input fits in fewer. */
unsigned int sl_eal_fit_mbufs(unsigned int automatic);

/** The flow capacity the configuration asked for (what the summary shows), 0 if not fitted. */
uint64_t sl_eal_flow_capacity_shown(void);

/**
 * Whether @p mb MiB can come from free 2 MiB hugepages: hugetlbfs mounted and enough pages
 * free in /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages.
 */
bool sl_eal_hugepages_free(unsigned int mb);

/**
 * Append the offline memory arguments to @p argv at @p n: with free hugepages
 * `--in-memory` (pages taken as needed, no hugetlbfs files), else `--no-huge --no-shconf
 * -m<mb>`. Registers an exit handler that removes EAL's runtime directory.
 * @param store room for the -m argument (128 bytes)
 * @return the new argument count
 */
int sl_eal_offline_mem_args(char **argv, int n, unsigned int mb, char *store);

/**
 * At exit (after rte_eal_cleanup()), remove EAL's runtime directory and what is in it
 * (`config`, `fbarray_*`, sockets). Call only once this process started the EAL as the
 * primary of its --file-prefix: the files are then its own.
 */
void sl_eal_remove_runtime_dir_at_exit(void);

#endif /* SL_APP_EAL_H */
