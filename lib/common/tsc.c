/* tsc.c: the TSC frequency EAL asks for at start-up, measured over 20 ms instead of EAL's
 * 100 ms (on CPUs that do not report it, as in most VMs, EAL's measurement is a tenth of a
 * second of every start, offline runs included). Linked in place of EAL's get_tsc_freq()
 * with -Wl,--wrap (static DPDK only); the result is rounded to 10 MHz as EAL rounds it. */
#include <stdint.h>
#include <time.h>

#include <rte_common.h>
#include <rte_cycles.h>

uint64_t __wrap_get_tsc_freq(void);

uint64_t
__wrap_get_tsc_freq(void)
{
	struct timespec nap = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000}, t0, t1;
	uint64_t c0, c1, ns;
	double hz;

	if (clock_gettime(CLOCK_MONOTONIC_RAW, &t0) != 0)
		return 0; /* EAL estimates it another way */
	c0 = rte_rdtsc();
	nanosleep(&nap, NULL);
	if (clock_gettime(CLOCK_MONOTONIC_RAW, &t1) != 0)
		return 0;
	c1 = rte_rdtsc();
	ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ull + (uint64_t)t1.tv_nsec -
	     (uint64_t)t0.tv_nsec;
	if (ns == 0)
		return 0;
	hz = (double)(c1 - c0) * 1e9 / (double)ns;
	return RTE_ALIGN_MUL_NEAR((uint64_t)hz, 10000000ull);
}
