/* args.h: sluice's command line. Two forms: live `sluice [EAL args] -- [options]` and
 * offline `sluice -r FILE [options]` (no `--`: sluice builds the EAL arguments itself). */
#ifndef SL_ARGS_H
#define SL_ARGS_H

#include <stdbool.h>

#include "sl_cfg.h"

#define SL_ARGS_MAX_READ 256
#define SL_ARGS_MAX_SET 256 /**< most --set options */

struct sl_args {
	bool live;                     /**< a `--` was given: EAL args come first */
	int eal_argc;                  /**< live: EAL arguments (argv[0] included) */
	char **eal_argv;
	unsigned int nread;            /**< -r/--read paths */
	char *read[SL_ARGS_MAX_READ];
	const char *config;            /**< -c/--config */
	const char *events;            /**< -e/--events (NULL: stdout offline) */
	const char *summary;           /**< -s/--summary */
	const char *device_state;      /**< -D/--device-state (NULL: offline none, live the config) */
	bool quiet;                    /**< -q/--quiet */
	int workers;                   /**< -w/--workers, -1 if not given */
	unsigned int nset;             /**< -o/--set overrides, applied after the config file */
	char *set[SL_ARGS_MAX_SET];
};

/**
 * Parse @p argv. Prints the reason (naming the option) on stderr on error.
 * @return 0 to run, 1 when help/version was printed (exit 0), -1 on a usage error (exit 2).
 */
int sl_args_parse(int argc, char **argv, struct sl_args *a);

/** Load the config file and --set overrides into @p cfg. Prints file:line on error.
 * @return 0 or -1. */
int sl_args_config(const struct sl_args *a, struct sl_cfg *cfg);

#endif /* SL_ARGS_H */
