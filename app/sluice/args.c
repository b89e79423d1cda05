/* args.c: command-line parsing for sluice (see args.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"

static const char usage[] =
	"usage: sluice -r FILE|DIR [-r ...] [options]          (offline)\n"
	"       sluice [EAL args] -- [options]                  (live, e.g. -l 0-1 --vdev ...)\n"
	"options:\n"
	"  -r, --read FILE|DIR   capture to read (pcap/pcapng; a directory is read in name\n"
	"                        order); repeatable, all read as one stream. Offline only.\n"
	"  -c, --config FILE     configuration file (see config/sluice.conf)\n"
	"  -o, --set KEY=VALUE   override one configuration key (repeatable)\n"
	"  -w, --workers N       offline: number of worker lcores (default: config 'workers')\n"
	"  -e, --events FILE     JSON-lines event log (default: stdout offline, none live)\n"
	"  -s, --summary FILE    write the end-of-run summary JSON to FILE\n"
	"  -D, --device-state FILE  device table state file, loaded at start and written at the\n"
	"                        end (offline only with this option; live it overrides the\n"
	"                        config key device_state)\n"
	"  -q, --quiet           no human-readable report on stderr\n"
	"  -h, --help            this text\n"
	"  -V, --version         print the version\n";

static const struct option longopts[] = {
	{"read", required_argument, NULL, 'r'},
	{"config", required_argument, NULL, 'c'},
	{"set", required_argument, NULL, 'o'},
	{"workers", required_argument, NULL, 'w'},
	{"events", required_argument, NULL, 'e'},
	{"summary", required_argument, NULL, 's'},
	{"device-state", required_argument, NULL, 'D'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

int
sl_args_parse(int argc, char **argv, struct sl_args *a)
{
	int dd = -1, opt, own_argc;
	char **own_argv;

	memset(a, 0, sizeof(*a));
	a->workers = -1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			dd = i;
			break;
		}
	if (dd >= 0) {
		a->live = true;
		a->eal_argc = dd;
		a->eal_argv = argv;
		own_argc = argc - dd;
		own_argv = argv + dd; /* argv[dd] ("--") stands in for the program name */
	} else {
		own_argc = argc;
		own_argv = argv;
	}
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(own_argc, own_argv, ":r:c:o:w:e:s:D:qhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			if (a->nread == SL_ARGS_MAX_READ) {
				fprintf(stderr, "sluice: --read: more than %d paths\n", SL_ARGS_MAX_READ);
				return -1;
			}
			a->read[a->nread++] = optarg;
			break;
		case 'c':
			a->config = optarg;
			break;
		case 'o':
			if (a->nset == SL_ARGS_MAX_SET) {
				fprintf(stderr, "sluice: --set: more than %d\n", SL_ARGS_MAX_SET);
				return -1;
			}
			if (strchr(optarg, '=') == NULL) {
				fprintf(stderr, "sluice: --set: expected KEY=VALUE, got '%s'\n", optarg);
				return -1;
			}
			a->set[a->nset++] = optarg;
			break;
		case 'w': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*optarg == '\0' || *end != '\0' || v < 1 || v > 64) {
				fprintf(stderr, "sluice: --workers: '%s' is not a number in [1, 64]\n",
					optarg);
				return -1;
			}
			a->workers = (int)v;
			break;
		}
		case 'e':
			a->events = optarg;
			break;
		case 's':
			a->summary = optarg;
			break;
		case 'D':
			if (*optarg == '\0') {
				fprintf(stderr, "sluice: --device-state: empty path\n");
				return -1;
			}
			a->device_state = optarg;
			break;
		case 'q':
			a->quiet = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		case 'V':
			puts("sluice 0.1.0");
			return 1;
		case ':':
			fprintf(stderr, "sluice: option '%s' needs a value\n%s",
				own_argv[optind - 1], usage);
			return -1;
		default:
			fprintf(stderr, "sluice: unknown option '%s'\n%s", own_argv[optind - 1], usage);
			return -1;
		}
	}
	if (optind < own_argc) {
		fprintf(stderr, "sluice: unexpected argument '%s'%s\n", own_argv[optind],
			a->live ? "" : " (EAL arguments go before '--')");
		return -1;
	}
	if (a->live && a->nread > 0) {
		fprintf(stderr, "sluice: --read is the offline form and takes no EAL arguments; "
				"live, give ports with EAL (e.g. --vdev net_pcap0,rx_pcap=FILE)\n");
		return -1;
	}
	if (!a->live && a->nread == 0) {
		fprintf(stderr, "sluice: nothing to read: give -r FILE (offline) or "
				"EAL arguments and '--' (live)\n%s", usage);
		return -1;
	}
	if (a->live && a->workers > 0) {
		fprintf(stderr, "sluice: --workers is offline only; live, workers are the EAL "
				"lcores (-l) other than the main one\n");
		return -1;
	}
	if (a->summary != NULL && strcmp(a->summary, "-") == 0 &&
	    (a->events == NULL ? !a->live : strcmp(a->events, "-") == 0)) {
		fprintf(stderr, "sluice: --summary and --events would share stdout; give one a file\n");
		return -1;
	}
	return 0;
}

/* A list file named by the config must be readable at start (its lines are checked when the
 * detection tables are built): say which key and where it was set. */
static int
check_list(const struct sl_cfg *cfg, const char *key, const char *path)
{
	char where[SL_CFG_PATH_MAX + 16];
	struct stat st;
	FILE *f;

	sl_cfg_where(cfg, key, where, sizeof(where));
	if (path[0] == '\0' || strcmp(where, "default") == 0)
		return 0; /* a shipped list that is missing is a warning (lib/ctl) */
	f = fopen(path, "r");
	if (f == NULL || (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))) {
		fprintf(stderr, "sluice: %s: %s: %s: %s\n", where, key, path,
			strerror(f == NULL ? errno : EISDIR));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

int
sl_args_config(const struct sl_args *a, struct sl_cfg *cfg)
{
	char err[2 * SL_CFG_PATH_MAX + 512];

	sl_cfg_defaults(cfg);
	if (a->config != NULL && sl_cfg_load(cfg, a->config, err, sizeof(err)) < 0) {
		fprintf(stderr, "sluice: %s\n", err);
		return -1;
	}
	for (unsigned int i = 0; i < a->nset; i++) {
		/* any length: the value is never copied into a fixed buffer here */
		size_t klen = (size_t)(strchr(a->set[i], '=') - a->set[i]);
		char *key = strndup(a->set[i], klen);
		int rc;

		if (key == NULL) {
			fprintf(stderr, "sluice: --set: out of memory\n");
			return -1;
		}
		rc = sl_cfg_set(cfg, key, a->set[i] + klen + 1, err, sizeof(err));
		free(key);
		if (rc < 0) {
			fprintf(stderr, "sluice: --set %.*s: %s\n", (int)klen, a->set[i], err);
			return -1;
		}
	}
	if (a->workers > 0)
		cfg->workers = (uint64_t)a->workers;
	if (sl_cfg_validate(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "sluice: %s\n", err);
		return -1;
	}
	if (cfg->detect && (check_list(cfg, "pools_domains", cfg->pools_domains) < 0 ||
			    check_list(cfg, "pools_ips", cfg->pools_ips) < 0 ||
			    check_list(cfg, "detectors", cfg->detectors) < 0))
		return -1;
	return 0;
}
