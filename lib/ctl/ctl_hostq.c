/* ctl_hostq.c: telemetry host queries answered by the control core (see ctl_priv.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "ctl_priv.h"
#include "ctl_mbox.h"
#include "sl_common.h"
#include "sl_report.h"

/* Telemetry host queries, answered by the control core (which owns the host and score
 * tables): a telemetry thread posts one request at a time (the mutex is only ever taken by
 * telemetry threads) and waits for the answer; the control core never waits on anyone. */
#define TEL_HOSTS 1
#define TEL_HOST 2
#define TEL_HOSTS_MAX 100

static struct {
	pthread_mutex_t lock;
	struct mbox mb;
	int kind;           /* TEL_HOSTS or TEL_HOST */
	unsigned int n;     /* TEL_HOSTS: how many */
	uint8_t addr[16];   /* TEL_HOST: which */
	unsigned int nout;  /* hosts in out[] */
	struct sl_chost out[TEL_HOSTS_MAX];       /* counters (zero when untracked) */
	bool tracked[TEL_HOSTS_MAX];              /* out[i] is in the host table */
	bool scored[TEL_HOSTS_MAX];               /* sv[i] is valid */
	struct sl_score_view sv[TEL_HOSTS_MAX];
	struct ctl_dev_brief dev;                 /* TEL_HOST: its device */
} tel_q = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool a_devs_on; /* the control plane learns devices (set before serving) */

void
hostq_devices(bool on)
{
	a_devs_on = on;
}

/* One answer row: counters and score of host @p addr. */
static void
tel_row(struct hostq_src *a, unsigned int i, const uint8_t addr[16], uint64_t now)
{
	const struct sl_chost *h = sl_chost_find(a->hosts, addr);

	memset(&tel_q.out[i], 0, sizeof(tel_q.out[i]));
	tel_q.tracked[i] = h != NULL;
	if (h != NULL)
		tel_q.out[i] = *h;
	memcpy(tel_q.out[i].addr, addr, 16);
	tel_q.scored[i] = a->score != NULL && sl_score_get(a->score, addr, now, &tel_q.sv[i]) == 0;
}

void
hostq_poll(struct hostq_src *a)
{
	uint64_t ticket;
	uint64_t now = a->score != NULL ? sl_score_now(a->score) : 0;

	if (!mbox_pending(&tel_q.mb, &ticket))
		return;
	tel_q.nout = 0;
	if (tel_q.kind == TEL_HOSTS) {
		/* highest scores first, then the busiest of the rest */
		static struct sl_score_view top[TEL_HOSTS_MAX];
		static struct sl_chost busy[TEL_HOSTS_MAX];
		unsigned int ns = a->score ? sl_score_top(a->score, now, top, tel_q.n) : 0;
		unsigned int nb = sl_chost_top(a->hosts, busy, tel_q.n);

		for (unsigned int i = 0; i < ns; i++)
			tel_row(a, tel_q.nout++, top[i].addr, now);
		for (unsigned int i = 0; i < nb && tel_q.nout < tel_q.n; i++) {
			bool dup = false;

			for (unsigned int k = 0; k < ns && !dup; k++)
				dup = memcmp(top[k].addr, busy[i].addr, 16) == 0;
			if (!dup)
				tel_row(a, tel_q.nout++, busy[i].addr, now);
		}
	} else {
		tel_row(a, 0, tel_q.addr, now);
		tel_q.nout = tel_q.tracked[0] || tel_q.scored[0];
		ctl_dev_host_keys(a->devs, tel_q.addr, &tel_q.dev);
	}
	mbox_done(&tel_q.mb, ticket);
}

static const char *
level_str(unsigned int l)
{
	return l == SL_LEVEL_BLOCK ? "block" : l == SL_LEVEL_ALERT ? "alert" : "none";
}

static unsigned int
score_u(unsigned int i)
{
	return tel_q.scored[i] ? (unsigned int)(tel_q.sv[i].score + 0.5f) : 0;
}

/* /sluice/hosts[,N]: the N (default 20, at most 100) highest-scoring hosts, then the
 * busiest. Telemetry in DPDK 22.11 cannot nest dicts in arrays, so the answer is columns:
 * {"host": [...], "score": [...], "level": [...], ...}, one row per host. */
static int
tel_hosts_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static const char *const cols[] = {"host", "score", "level", "peak", "alerts", "signals",
					   "bytes_out", "bytes_in", "flows_opened", "reason"};
	struct rte_tel_data *c[SL_ARRAY_SIZE(cols)];
	unsigned long n = 20;
	int rc;

	RTE_SET_USED(cmd);
	if (params != NULL && *params != '\0') {
		char *end;

		n = strtoul(params, &end, 10);
		if (*end != '\0' || n == 0 || n > TEL_HOSTS_MAX)
			return -EINVAL;
	}
	for (unsigned int k = 0; k < SL_ARRAY_SIZE(cols); k++) {
		c[k] = rte_tel_data_alloc();
		if (c[k] == NULL) {
			while (k-- > 0)
				rte_tel_data_free(c[k]);
			return -ENOMEM;
		}
		rte_tel_data_start_array(c[k], k == 0 || k == 2 || k == 9 ? RTE_TEL_STRING_VAL
									  : RTE_TEL_U64_VAL);
	}
	pthread_mutex_lock(&tel_q.lock);
	tel_q.kind = TEL_HOSTS;
	tel_q.n = (unsigned int)n;
	rc = mbox_post_wait(&tel_q.mb, 5000);
	for (unsigned int i = 0; rc == 0 && i < tel_q.nout; i++) {
		const struct sl_chost *h = &tel_q.out[i];
		const struct sl_score_view *v = &tel_q.sv[i];
		char ip[64], why[128] = "";

		sl_addr_format(h->addr, ip, sizeof(ip));
		if (tel_q.scored[i] && v->nsig > 0) {
			unsigned int best = 0;

			for (unsigned int g = 1; g < v->nsig; g++)
				if (v->now_points[g] > v->now_points[best])
					best = g;
			sl_report_reason_text(&v->sig[best], v->now_points[best], why, sizeof(why));
		}
		rte_tel_data_add_array_string(c[0], ip);
		rte_tel_data_add_array_u64(c[1], score_u(i));
		rte_tel_data_add_array_string(c[2], level_str(tel_q.scored[i] ? v->level : 0));
		rte_tel_data_add_array_u64(c[3], tel_q.scored[i] ? (uint64_t)(v->peak + 0.5f) : 0);
		rte_tel_data_add_array_u64(c[4], tel_q.scored[i] ? v->alerts : 0);
		rte_tel_data_add_array_u64(c[5], tel_q.scored[i] ? v->nsig : 0);
		rte_tel_data_add_array_u64(c[6], h->bytes_out);
		rte_tel_data_add_array_u64(c[7], h->bytes_in);
		rte_tel_data_add_array_u64(c[8], h->flows_opened);
		rte_tel_data_add_array_string(c[9], why);
	}
	pthread_mutex_unlock(&tel_q.lock);
	rte_tel_data_start_dict(d);
	for (unsigned int k = 0; k < SL_ARRAY_SIZE(cols); k++)
		if (rc != 0 || rte_tel_data_add_dict_container(d, cols[k], c[k], 0) < 0)
			rte_tel_data_free(c[k]);
	return rc;
}

/* /sluice/host,<ip>: one host's counters, score, level and reasons, or {"tracked": 0}. */
static int
tel_host_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct sl_cidr c;
	struct rte_tel_data *reasons;
	int rc;

	RTE_SET_USED(cmd);
	if (params == NULL || strchr(params, '/') != NULL || sl_cidr_parse(params, &c) < 0)
		return -EINVAL;
	reasons = rte_tel_data_alloc();
	if (reasons == NULL)
		return -ENOMEM;
	rte_tel_data_start_array(reasons, RTE_TEL_STRING_VAL);
	pthread_mutex_lock(&tel_q.lock);
	tel_q.kind = TEL_HOST;
	memcpy(tel_q.addr, c.addr, 16);
	rc = mbox_post_wait(&tel_q.mb, 5000);
	rte_tel_data_start_dict(d);
	if (rc == 0) {
		const struct sl_chost *h = &tel_q.out[0];
		const struct sl_score_view *v = &tel_q.sv[0];
		char ip[64];

		rte_tel_data_add_dict_u64(d, "tracked", tel_q.tracked[0]);
		if (tel_q.nout) {
			sl_addr_format(h->addr, ip, sizeof(ip));
			rte_tel_data_add_dict_string(d, "ip", ip);
			rte_tel_data_add_dict_u64(d, "score", score_u(0));
			rte_tel_data_add_dict_string(d, "level", level_str(tel_q.scored[0] ? v->level : 0));
			rte_tel_data_add_dict_u64(d, "peak", tel_q.scored[0] ? (uint64_t)(v->peak + 0.5f) : 0);
			rte_tel_data_add_dict_u64(d, "alerts", tel_q.scored[0] ? v->alerts : 0);
			rte_tel_data_add_dict_u64(d, "bytes_out", h->bytes_out);
			rte_tel_data_add_dict_u64(d, "bytes_in", h->bytes_in);
			rte_tel_data_add_dict_u64(d, "pkts_out", h->pkts_out);
			rte_tel_data_add_dict_u64(d, "pkts_in", h->pkts_in);
			rte_tel_data_add_dict_u64(d, "flows_opened", h->flows_opened);
			rte_tel_data_add_dict_u64(d, "long_lived_flows", h->long_lived);
			rte_tel_data_add_dict_u64(d, "external_peers",
				tel_q.tracked[0] ? (uint64_t)(sl_chost_peers(h) + 0.5) : 0);
			rte_tel_data_add_dict_u64(d, "first_seen_us", h->first_us);
			rte_tel_data_add_dict_u64(d, "last_seen_us", h->last_us);
			if (a_devs_on) { /* where the device is */
				const struct ctl_dev_brief *b = &tel_q.dev;

				if (b->note[0] != '\0')
					rte_tel_data_add_dict_string(d, "device_note", b->note);
				if (b->mac[0] != '\0') {
					rte_tel_data_add_dict_string(d, b->known ? "device_mac" :
									"gateway_mac", b->mac);
					rte_tel_data_add_dict_string(d, b->known ? "device_vendor" :
									"gateway_vendor", b->vendor);
				}
				if (b->known) {
					rte_tel_data_add_dict_string(d, "device_vlans", b->vlans);
					rte_tel_data_add_dict_string(d, "device_name", b->name);
					rte_tel_data_add_dict_string(d, "device_mining_hardware", b->miner);
					rte_tel_data_add_dict_u64(d, "device_first_seen_us", b->first_us);
				}
			}
			for (unsigned int g = 0; tel_q.scored[0] && g < v->nsig; g++) {
				char why[128];

				sl_report_reason_text(&v->sig[g], v->now_points[g], why, sizeof(why));
				rte_tel_data_add_array_string(reasons, why);
			}
			/* flows the known-protocol table took out of behavioural judging */
			for (unsigned int k = 1; k < SL_KNOWN_MAX; k++) {
				char why[128];

				if (!((h->known >> k) & 1))
					continue;
				snprintf(why, sizeof(why), "not judged: %s, %s", sl_known_label(k),
					sl_known_how(k));
				rte_tel_data_add_array_string(reasons, why);
			}
		}
	}
	pthread_mutex_unlock(&tel_q.lock);
	if (rc != 0 || !tel_q.nout || rte_tel_data_add_dict_container(d, "reasons", reasons, 0) < 0)
		rte_tel_data_free(reasons);
	return rc;
}


int
hostq_register(void)
{
	if (rte_telemetry_register_cmd("/sluice/hosts", tel_hosts_cb,
		    "Highest-scoring hosts, then the busiest. Parameter: how many (default 20, at most 100)") < 0 ||
	    rte_telemetry_register_cmd("/sluice/host", tel_host_cb,
		    "One host's counters, score and reasons. Parameter: its IPv4 or IPv6 address") < 0)
		return -EINVAL;
	return 0;
}
