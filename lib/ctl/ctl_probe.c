/* ctl_probe.c: operator commands on the active probe (see ctl_priv.h), answered by the
 * control core, which owns the probe's book:
 *   /sluice/probe,<ip>,<port>  probe one peer now (the cache, never-probe sets and caps
 *                              apply); waits for the result up to the probe's longest time
 *   /sluice/probes             the cache, as columns
 * Bad parameters get -EINVAL (telemetry answers null), never a crash. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "ctl_mbox.h"
#include "ctl_priv.h"
#include "sl_common.h"

enum pop { POP_PROBE = 1, POP_LOOKUP, POP_LIST };

static struct {
	pthread_mutex_t lock;       /* taken by telemetry threads only */
	struct mbox mb;
	enum pop op;
	uint8_t ip[16];
	uint16_t port;
	int asked;                  /* SL_PROBE_ASK_* */
	struct sl_probe_entry e;    /* the answer */
	bool found;
	struct rte_tel_data *d;     /* POP_LIST: filled by the control core */
	int rc;
	uint32_t wait_ms;           /* longest a probe can take */
} q = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int
post(enum pop op)
{
	q.op = op;
	if (mbox_post_wait(&q.mb, 5000) < 0)
		return -ETIMEDOUT;
	return q.rc;
}

static void
entry_dict(struct rte_tel_data *d, const struct sl_probe_entry *e, const char *status)
{
	char ip[64], ans[SL_PROBE_ANSWER_MAX + 1];

	sl_addr_format(e->ip, ip, sizeof(ip));
	for (unsigned int i = 0; i < e->answer_len && i < SL_PROBE_ANSWER_MAX; i++)
		ans[i] = e->answer[i] >= 0x20 && e->answer[i] < 0x7f ? (char)e->answer[i] : '.';
	ans[e->answer_len < SL_PROBE_ANSWER_MAX ? e->answer_len : SL_PROBE_ANSWER_MAX] = '\0';
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "status", status);
	rte_tel_data_add_dict_string(d, "ip", ip);
	rte_tel_data_add_dict_u64(d, "port", e->port);
	rte_tel_data_add_dict_string(d, "result", sl_probe_result_name(e->result));
	if (e->result == SL_PROBE_R_pool) {
		rte_tel_data_add_dict_string(d, "protocol", sl_probe_proto_name(e->proto));
		rte_tel_data_add_dict_u64(d, "tls", e->tls);
	}
	if (e->result == SL_PROBE_R_skipped)
		rte_tel_data_add_dict_string(d, "skip_reason", sl_probe_skip_name(e->skip));
	rte_tel_data_add_dict_string(d, "what", e->what);
	rte_tel_data_add_dict_string(d, "answer", ans);
	rte_tel_data_add_dict_u64(d, "latency_ms", e->latency_ms);
}

static int
cmd_probe(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char buf[128], *comma, *end;
	struct sl_cidr c;
	unsigned long port;
	int rc;

	RTE_SET_USED(cmd);
	if (params == NULL || strlen(params) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", params);
	comma = strchr(buf, ',');
	if (comma == NULL)
		return -EINVAL;
	*comma = '\0';
	port = strtoul(comma + 1, &end, 10);
	if (*end != '\0' || port == 0 || port > 65535 || strchr(buf, '/') != NULL ||
	    sl_cidr_parse(buf, &c) < 0)
		return -EINVAL;
	pthread_mutex_lock(&q.lock);
	memcpy(q.ip, c.addr, 16);
	q.port = (uint16_t)port;
	rc = post(POP_PROBE);
	if (rc == 0 && q.asked == SL_PROBE_ASK_QUEUED) { /* wait for the result */
		uint32_t waited = 0;

		while (waited < q.wait_ms && (rc = post(POP_LOOKUP)) == 0 && q.found &&
		       q.e.result == SL_PROBE_R_PENDING) {
			usleep(100000);
			waited += 100;
		}
	}
	if (rc == 0)
		entry_dict(d, &q.e, q.asked == SL_PROBE_ASK_SKIPPED ? "skipped" :
				    q.e.result == SL_PROBE_R_PENDING ? "pending" :
				    q.asked == SL_PROBE_ASK_CACHED ? "cached" : "probed");
	pthread_mutex_unlock(&q.lock);
	return rc;
}

static int
cmd_probes(const char *cmd, const char *params, struct rte_tel_data *d)
{
	int rc;

	RTE_SET_USED(cmd);
	if (params != NULL && *params != '\0')
		return -EINVAL;
	pthread_mutex_lock(&q.lock);
	q.d = d;
	rc = post(POP_LIST);
	pthread_mutex_unlock(&q.lock);
	return rc;
}

int
probeq_register(uint32_t wait_ms)
{
	q.wait_ms = wait_ms;
	if (rte_telemetry_register_cmd("/sluice/probe", cmd_probe,
		    "Probe a peer now (cache, allowlist, home_nets and caps apply). Parameters: ip,port") < 0 ||
	    rte_telemetry_register_cmd("/sluice/probes", cmd_probes,
		    "The probe cache, as columns. No parameters.") < 0)
		return -EINVAL;
	return 0;
}

/* ---- control core ---- */

struct cols {
	struct rte_tel_data *c[8];
	uint64_t now;
};

static void
list_cb(void *arg, const struct sl_probe_entry *e)
{
	struct cols *k = arg;
	char ip[64];

	sl_addr_format(e->ip, ip, sizeof(ip));
	rte_tel_data_add_array_string(k->c[0], ip);
	rte_tel_data_add_array_u64(k->c[1], e->port);
	rte_tel_data_add_array_string(k->c[2], sl_probe_result_name(e->result));
	rte_tel_data_add_array_string(k->c[3], e->result == SL_PROBE_R_pool ?
						       sl_probe_proto_name(e->proto) : "");
	rte_tel_data_add_array_u64(k->c[4], e->tls);
	rte_tel_data_add_array_string(k->c[5], e->what);
	rte_tel_data_add_array_u64(k->c[6], e->latency_ms);
	rte_tel_data_add_array_u64(k->c[7], e->expires_us > k->now ?
						    (e->expires_us - k->now) / 1000000 : 0);
}

static int
do_list(struct sl_probe *pr, struct rte_tel_data *d, uint64_t now)
{
	static const char *const names[] = {"ip", "port", "result", "protocol", "tls", "what",
					    "latency_ms", "expires_in_s"};
	struct cols k = {.now = now};

	for (unsigned int i = 0; i < SL_ARRAY_SIZE(names); i++) {
		k.c[i] = rte_tel_data_alloc();
		if (k.c[i] == NULL) {
			while (i-- > 0)
				rte_tel_data_free(k.c[i]);
			return -ENOMEM;
		}
		rte_tel_data_start_array(k.c[i], (i == 1 || i == 4 || i == 6 || i == 7) ?
							 RTE_TEL_U64_VAL : RTE_TEL_STRING_VAL);
	}
	sl_probe_foreach(pr, now, list_cb, &k);
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(names); i++)
		if (rte_tel_data_add_dict_container(d, names[i], k.c[i], 0) < 0)
			rte_tel_data_free(k.c[i]);
	return 0;
}

void
probeq_poll(struct sl_probe *pr, uint64_t now_us, probeq_ask_fn ask, void *arg)
{
	uint64_t ticket;
	int rc = 0;

	if (!mbox_pending(&q.mb, &ticket))
		return;
	if (pr == NULL) {
		rc = -ENOTSUP;
	} else if (q.op == POP_PROBE) {
		q.asked = ask(arg, q.ip, q.port, &q.e);
	} else if (q.op == POP_LOOKUP) {
		const struct sl_probe_entry *e = sl_probe_lookup(pr, q.ip, q.port, now_us);

		q.found = e != NULL;
		if (e != NULL)
			q.e = *e;
	} else if (q.op == POP_LIST) {
		rc = do_list(pr, q.d, now_us);
	}
	q.rc = rc;
	mbox_done(&q.mb, ticket);
}
