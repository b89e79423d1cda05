/* main.c: sluice's entry point. Parses arguments and config (exit 2 on error, before anything
 * starts), starts the EAL (offline with arguments sluice builds itself), builds the control
 * plane (lib/ctl) and the topology (topo.c: workers, ports, queues), launches the workers,
 * runs the control plane until the input ends or a signal stops it, and writes the summary
 * and the human report (lib/report). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include "app.h"
#include "eal.h"
#include "sl_common.h"
#include "sl_port.h"

static void
on_signal(int sig)
{
	sl_ctl_request(sig == SIGUSR2 ? SL_CTL_REQ_RELOAD :
		       sig == SIGHUP  ? SL_CTL_REQ_REOPEN :
					SL_CTL_REQ_STOP);
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The summary names hosts and flows: created SL_OUTPUT_MODE (0640), not 0666 & ~umask. */
static FILE *
open_summary(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, SL_OUTPUT_MODE);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (f == NULL) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return f;
}

static int
write_outputs(struct app *a, double elapsed)
{
	struct sl_report_ctx rc;
	int ret = 0;

	for (unsigned int p = 0; p < a->nports; p++)
		a->ports[p].stats_rc = rte_eth_stats_get(a->ports[p].info.port_id, &a->ports[p].st);
	sl_ctl_report_ctx(a->ctl, elapsed, &rc);
	if (a->args.summary != NULL) {
		bool out = strcmp(a->args.summary, "-") == 0;
		FILE *f = out ? stdout : open_summary(a->args.summary);

		if (f == NULL) {
			fprintf(stderr, "sluice: --summary %s: %s\n", a->args.summary, strerror(errno));
			ret = -1;
		} else {
			if (sl_report_summary(f, &rc) < 0)
				ret = -1;
			if (!out && fclose(f) != 0)
				ret = -1;
		}
	}
	if (!a->args.quiet)
		sl_report_human(stderr, &rc);
	return ret;
}

/* The device state file: --device-state; live also the config key (auto: the state
 * directory when it is writable). Offline none unless given, so runs repeat exactly. */
static const char *
device_state_path(const struct app *a)
{
	const char *k = a->cfg.device_state;

	if (a->args.device_state != NULL)
		return a->args.device_state;
	if (!a->args.live || k[0] == '\0')
		return NULL;
	if (strcmp(k, "auto") == 0)
		return access("/var/lib/sluice", W_OK) == 0 ? "/var/lib/sluice/devices.state" : NULL;
	return k;
}

/* Where events go: --events FILE (appended), "-" = stdout; by default stdout offline (unless
 * the summary goes there), none live. */
static const char *
events_path(const struct app *a)
{
	if (a->args.events != NULL)
		return a->args.events;
	if (!a->args.live && !(a->args.summary && strcmp(a->args.summary, "-") == 0))
		return "-";
	return NULL;
}

/* Run to the end: live until a signal or exit_idle_ms, offline until the input is read. */
static int
run(struct app *a)
{
	int status = 0, rc;

	for (unsigned int i = 0; i < a->nworkers; i++)
		rte_eal_remote_launch(sl_worker_main, a->workers[i], a->workers[i]->lcore);
	if (a->args.live) {
		sl_ctl_run(a->ctl);
		SL_STORE_RELEASE(&a->run.stop, 1);
	} else {
		rc = sl_input_run(a->input, a->mp, a->rings, a->nworkers, sl_ctl_poll, a->ctl);
		for (unsigned int i = 0; i < sl_input_nerrors(a->input); i++)
			fprintf(stderr, "sluice: %s\n", sl_input_error(a->input, i));
		if (rc == -EIO)
			status = 1;
		SL_STORE_RELAXED(&a->run.end_us, sl_input_stats(a->input)->last_us);
		SL_STORE_RELEASE(&a->run.input_done, 1); /* publishes end_us and the last enqueue */
	}
	sl_ctl_finish(a->ctl, 0);
	rte_eal_mp_wait_lcore();
	return status;
}

int
main(int argc, char **argv)
{
	static struct app app;
	struct app *a = &app;
	char *eal_argv[16], eal_store[16][128], err[2 * SL_CFG_PATH_MAX + 512] = "";
	int rc, status = 0;
	double t0;

	rc = sl_args_parse(argc, argv, &a->args);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (sl_args_config(&a->args, &a->cfg) < 0)
		return 2;
	if (!a->args.live) {
		a->input = sl_input_open(a->args.read, a->args.nread, err, sizeof(err));
		if (a->input == NULL) {
			fprintf(stderr, "sluice: %s\n", err);
			return 2;
		}
		if (a->cfg.idle_polls == 0)
			a->cfg.idle_polls = 256; /* offline shares the machine: back off when idle */
		{ /* tables fitted to the input; the scorer's capacity is fitted in the config */
			uint32_t sc = (uint32_t)a->cfg.score_capacity;

			sl_eal_fit_offline(&a->cfg, &sc, sl_input_max_packets(a->input));
		}
		rc = topo_offline_eal_args(a, eal_argv, eal_store);
		rc = rte_eal_init(rc, eal_argv);
	} else {
		if (topo_scan_pcap_vdevs(a) < 0)
			return 2;
		rc = rte_eal_init(a->args.eal_argc, a->args.eal_argv);
		if (rc >= 0 && rte_eal_process_type() == RTE_PROC_PRIMARY)
			sl_eal_remove_runtime_dir_at_exit(); /* a clean exit leaves nothing */
	}
	if (rc < 0) {
		fprintf(stderr, "sluice: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR2, on_signal);
	signal(SIGHUP, on_signal);
	t0 = mono_s();

	a->nworkers = a->args.live ? rte_lcore_count() - 1 : (unsigned int)a->cfg.workers;
	if (a->nworkers == 0) {
		fprintf(stderr, "sluice: need a worker lcore besides the main one (e.g. -l 0-1)\n");
		rte_eal_cleanup();
		return 2;
	}
	if (a->nworkers > SL_MAX_WORKERS)
		a->nworkers = SL_MAX_WORKERS;
	if (sl_port_dyn_register() < 0) {
		fprintf(stderr, "sluice: mbuf dynamic fields: %s\n", rte_strerror(rte_errno));
		status = 1;
		goto out;
	}
	{
		struct sl_ctl_conf cc = {
			.cfg = &a->cfg,
			.live = a->args.live,
			.events_path = events_path(a),
			.nworkers = a->nworkers,
			.socket = (int)rte_socket_id(),
			.device_state = device_state_path(a),
		};

		a->ctl = sl_ctl_create(&cc, &rc, err, sizeof(err));
		if (a->ctl == NULL) {
			fprintf(stderr, "sluice: %s\n", err);
			status = rc == -EINVAL || rc == -ENOENT || rc == -EACCES ||
				 rc == -EISDIR ? 2 : 1;
			goto out;
		}
	}
	if (topo_build(a) < 0 ||
	    sl_ctl_attach(a->ctl, a->workers, a->nworkers, &a->run, a->ports, a->nports,
		    a->input) < 0) {
		status = 1;
		goto out;
	}
	if (a->args.live && sl_ctl_serve(a->ctl, err, sizeof(err)) < 0) {
		fprintf(stderr, "sluice: %s\n", err);
		status = 1;
		goto out;
	}
	status = run(a);
	if (write_outputs(a, mono_s() - t0) < 0)
		status = 1;
out:
	/* the response's rules leave the NIC (reported) before the ports close */
	if (sl_ctl_free(a->ctl) < 0) {
		fprintf(stderr, "sluice: the event log lost lines (write errors)\n");
		status = 1;
	}
	topo_free(a);
	rte_eal_cleanup();
	return status;
}
