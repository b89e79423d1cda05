/* sl_test_eal.h: EAL start-up shared by the unit tests that need rte_hash, rings or mbufs:
 * no hugepages, no PCI, no shared config, a per-process file prefix, and removal of the
 * runtime directory EAL leaves behind at exit. */
#ifndef SL_TEST_EAL_H
#define SL_TEST_EAL_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

static char sl_test_runtime_dir[PATH_MAX];

/* Registered before rte_eal_init so it runs after EAL's own exit handlers. */
static void
sl_test_remove_runtime_dir(void)
{
	if (sl_test_runtime_dir[0] != '\0')
		rmdir(sl_test_runtime_dir);
}

/** Start EAL for test @p name. @return 0 or -1 (reason on stderr). */
static inline int
sl_test_eal_init(const char *name)
{
	char prefix[64];
	char *argv[] = {"test", "--no-huge", "-m", "256", "--no-pci", "--no-shconf", prefix,
		"--log-level=lib.*:error", "-l", "0"};

	snprintf(prefix, sizeof(prefix), "--file-prefix=sl_test_%s_%d", name, (int)getpid());
	atexit(sl_test_remove_runtime_dir);
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])), argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	snprintf(sl_test_runtime_dir, sizeof(sl_test_runtime_dir), "%s", rte_eal_get_runtime_dir());
	return 0;
}

#endif /* SL_TEST_EAL_H */
