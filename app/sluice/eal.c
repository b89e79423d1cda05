/* eal.c: offline start-up: tables sized for the input, hugepages when free (else --no-huge),
 * and no runtime directory left behind. Kept apart from main.c so that the wiring there only
 * calls it. See eal.h. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>

#include "eal.h"
#include "sl_common.h"

#define HUGE_FREE "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"

static uint64_t fit_max_packets;   /* input bound, 0 = not fitted */
static uint64_t flow_shown;        /* configured offline flow capacity */

static uint64_t
fit(uint64_t configured, uint64_t need)
{
	uint64_t n = need >= (1ull << 40) ? (1ull << 40) : rte_align64pow2(need);

	return SL_MIN(configured, SL_MAX(n, (uint64_t)SL_EAL_FIT_FLOOR));
}

void
sl_eal_fit_offline(struct sl_cfg *cfg, uint32_t *score_capacity, uint64_t max_packets)
{
	/* the tables' arrays come from memory the kernel zero-fills on first touch: what a
	 * capture does not use costs nothing, whatever the configured capacity */
	sl_tmem_set_lazy(true);
	fit_max_packets = SL_MAX(max_packets, 1);
	flow_shown = cfg->offline_flow_capacity;
	cfg->offline_flow_capacity = fit(cfg->offline_flow_capacity, fit_max_packets);
	cfg->offline_payload_buffers = fit(cfg->offline_payload_buffers, fit_max_packets);
	cfg->worker_host_capacity = fit(cfg->worker_host_capacity, 2 * fit_max_packets);
	cfg->offline_host_capacity = fit(cfg->offline_host_capacity, 2 * fit_max_packets);
	cfg->score_capacity = fit(cfg->score_capacity, 2 * fit_max_packets);
	*score_capacity = (uint32_t)fit(*score_capacity, 2 * fit_max_packets);
}

unsigned int
sl_eal_fit_mbufs(unsigned int automatic)
{
	/* Only when every packet (a frame over 2 KiB takes a chain) has an mbuf of its own:
	 * then the reader never waits for mbufs held in a worker's per-lcore cache. */
	uint64_t need = fit_max_packets * 2 + SL_EAL_MBUF_FLOOR;

	if (fit_max_packets == 0 || need >= automatic)
		return automatic;
	return (unsigned int)need;
}

uint64_t
sl_eal_flow_capacity_shown(void)
{
	return flow_shown;
}

bool
sl_eal_hugepages_free(unsigned int mb)
{
	char line[512];
	bool mounted = false;
	unsigned long pages = 0;
	FILE *f = fopen("/proc/mounts", "r");

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, " hugetlbfs ") != NULL && strstr(line, "pagesize=1G") == NULL)
			mounted = true;
	fclose(f);
	if (!mounted)
		return false;
	f = fopen(HUGE_FREE, "r");
	if (f == NULL)
		return false;
	if (fscanf(f, "%lu", &pages) != 1)
		pages = 0;
	fclose(f);
	return pages * 2 >= mb;
}

/* EAL leaves its runtime directory behind (offline an empty one; live `config`, the
 * `fbarray_*` files, sockets). At exit, once rte_eal_cleanup() ran, remove what is in it
 * (one level: EAL makes no subdirectories) and the directory. Only a primary that started
 * registers this, so the files are its own. */
static void
remove_runtime_dir(void)
{
	const char *d = rte_eal_get_runtime_dir();
	DIR *dir;
	struct dirent *e;

	if (d == NULL || d[0] == '\0')
		return;
	dir = opendir(d);
	if (dir != NULL) {
		while ((e = readdir(dir)) != NULL)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				(void)unlinkat(dirfd(dir), e->d_name, 0);
		closedir(dir);
	}
	(void)rmdir(d);
}

void
sl_eal_remove_runtime_dir_at_exit(void)
{
	static bool registered;

	if (!registered)
		atexit(remove_runtime_dir);
	registered = true;
}

int
sl_eal_offline_mem_args(char **argv, int n, unsigned int mb, char *store)
{
	if (sl_eal_hugepages_free(mb)) {
		/* pages allocated as the tables need them, hugetlbfs files unlinked at once */
		argv[n++] = (char *)(uintptr_t)"--in-memory";
	} else {
		argv[n++] = (char *)(uintptr_t)"--no-huge";
		argv[n++] = (char *)(uintptr_t)"--no-shconf";
		snprintf(store, 128, "-m%u", mb);
		argv[n++] = store;
	}
	sl_eal_remove_runtime_dir_at_exit();
	return n;
}
