/* ctl_ops.c: operator commands on the response (see ctl_priv.h), answered by the control core.
 *   /sluice/block,<ip>[,<peer>,<port>[,tcp|udp]]  quarantine <ip>, or block its flows to peer:port
 *   /sluice/unblock,<ip>                          remove every rule of <ip>
 *   /sluice/blocks                                the active rules, as columns (with BGP: every
 *                                                 holder, the routes' state, the speaker's) 
 *   /sluice/allow,<cidr>  /sluice/disallow,<cidr>  edit the allowlist; /sluice/allowlist lists it
 * Bad parameters get -EINVAL (telemetry answers null), never a crash; a target no rule can
 * mean (unspecified, broadcast, multicast, host and peer of two families) is answered
 * {"status": "refused", "reason": ...}. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_telemetry.h>

#include "ctl_mbox.h"
#include "ctl_priv.h"
#include "sl_common.h"

enum op { OP_BLOCK = 1, OP_UNBLOCK, OP_LIST, OP_ALLOW, OP_DISALLOW, OP_ALLOWLIST };

static struct {
	pthread_mutex_t lock;       /* taken by telemetry threads only */
	struct mbox mb;
	enum op op;
	uint8_t host[16];
	uint8_t peer[16];
	bool has_peer;
	uint16_t port;
	uint8_t proto;
	struct sl_cidr cidr;
	struct rte_tel_data *d;     /* the answer, filled by the control core */
	int rc;
} q = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int
parse_addr(const char *s, uint8_t out[16])
{
	struct sl_cidr c;

	if (strchr(s, '/') != NULL || sl_cidr_parse(s, &c) < 0)
		return -EINVAL;
	memcpy(out, c.addr, 16);
	return 0;
}

static int
run(enum op op, struct rte_tel_data *d)
{
	int rc;

	q.op = op;
	q.d = d;
	rc = mbox_post_wait(&q.mb, 5000);
	if (rc == 0)
		rc = q.rc;
	pthread_mutex_unlock(&q.lock);
	return rc;
}

static int
cmd_block(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char buf[256], *save = NULL, *tok[4] = {NULL}, why[128];
	unsigned int n = 0;

	RTE_SET_USED(cmd);
	if (params == NULL || strlen(params) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", params);
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		if (n == 4)
			return -EINVAL;
		tok[n++] = t;
	}
	if (n != 1 && n != 3 && n != 4)
		return -EINVAL;
	pthread_mutex_lock(&q.lock);
	q.has_peer = n > 1;
	q.proto = 6;
	if (parse_addr(tok[0], q.host) < 0 || (n > 1 && parse_addr(tok[1], q.peer) < 0))
		goto bad;
	if (n > 1) {
		char *end;
		unsigned long port = strtoul(tok[2], &end, 10);

		if (*end != '\0' || port == 0 || port > 65535)
			goto bad;
		q.port = (uint16_t)port;
		if (n == 4 && strcmp(tok[3], "udp") == 0)
			q.proto = 17;
		else if (n == 4 && strcmp(tok[3], "tcp") != 0)
			goto bad;
	}
	if (sl_block_target_check(q.host, q.has_peer ? q.peer : NULL, why, sizeof(why)) < 0) {
		/* answered here with the reason; the response never sees it */
		pthread_mutex_unlock(&q.lock);
		rte_tel_data_start_dict(d);
		rte_tel_data_add_dict_string(d, "status", "refused");
		rte_tel_data_add_dict_string(d, "reason", why);
		return 0;
	}
	return run(OP_BLOCK, d);
bad:
	pthread_mutex_unlock(&q.lock);
	return -EINVAL;
}

static int
cmd_unblock(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	if (params == NULL)
		return -EINVAL;
	pthread_mutex_lock(&q.lock);
	if (parse_addr(params, q.host) < 0) {
		pthread_mutex_unlock(&q.lock);
		return -EINVAL;
	}
	return run(OP_UNBLOCK, d);
}

static int
cmd_cidr(enum op op, const char *params, struct rte_tel_data *d)
{
	if (params == NULL)
		return -EINVAL;
	pthread_mutex_lock(&q.lock);
	if (sl_cidr_parse(params, &q.cidr) < 0) {
		pthread_mutex_unlock(&q.lock);
		return -EINVAL;
	}
	return run(op, d);
}

static int
cmd_allow(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	return cmd_cidr(OP_ALLOW, params, d);
}

static int
cmd_disallow(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	return cmd_cidr(OP_DISALLOW, params, d);
}

static int
cmd_noparam(enum op op, const char *params, struct rte_tel_data *d)
{
	if (params != NULL && *params != '\0')
		return -EINVAL;
	pthread_mutex_lock(&q.lock);
	return run(op, d);
}

static int
cmd_list(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	return cmd_noparam(OP_LIST, params, d);
}

static int
cmd_allowlist(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	return cmd_noparam(OP_ALLOWLIST, params, d);
}

int
ops_register(void)
{
	static const struct {
		const char *name;
		telemetry_cb fn;
		const char *help;
	} cmds[] = {
		{"/sluice/block", cmd_block, "Block a host. Parameters: ip[,peer,port[,tcp|udp]] "
					     "(ip alone: quarantine)"},
		{"/sluice/unblock", cmd_unblock, "Remove every block of a host. Parameter: ip"},
		{"/sluice/blocks", cmd_list, "Active blocks, as columns. No parameters."},
		{"/sluice/allow", cmd_allow, "Add a CIDR to the allowlist. Parameter: cidr"},
		{"/sluice/disallow", cmd_disallow, "Remove a CIDR from the allowlist. Parameter: cidr"},
		{"/sluice/allowlist", cmd_allowlist, "The allowlist. No parameters."},
	};

	for (unsigned int i = 0; i < SL_ARRAY_SIZE(cmds); i++)
		if (rte_telemetry_register_cmd(cmds[i].name, cmds[i].fn, cmds[i].help) < 0)
			return -EINVAL;
	return 0;
}

int
ops_secure_socket(void)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/dpdk_telemetry.v2", rte_eal_get_runtime_dir());
	return chmod(path, 0600) == 0 ? 0 : -errno;
}

/* ---- control core ---- */

#define NCOLS 11

struct cols {
	struct rte_tel_data *c[NCOLS];
	const struct sl_block *b;
	uint64_t now;
};

static const char *const bgp_rs_names[] = {"announced", "pending", "failed"};

static void
list_cb(void *arg, const struct sl_block_rule *r)
{
	struct cols *k = arg;
	char h[64], p[64] = "";

	sl_addr_format(r->key.host, h, sizeof(h));
	if (r->key.scope == SL_SCOPE_POOL)
		sl_addr_format(r->key.peer, p, sizeof(p));
	rte_tel_data_add_array_string(k->c[0], h);
	rte_tel_data_add_array_string(k->c[1], r->key.scope == SL_SCOPE_POOL ? "pool" : "quarantine");
	rte_tel_data_add_array_string(k->c[2], p);
	rte_tel_data_add_array_u64(k->c[3], r->key.dport);
	rte_tel_data_add_array_string(k->c[4], sl_block_backend_name(r->backend));
	rte_tel_data_add_array_u64(k->c[5], r->expires_us > k->now ?
						(r->expires_us - k->now) / 1000000 : 0);
	rte_tel_data_add_array_u64(k->c[6], r->offence);
	rte_tel_data_add_array_u64(k->c[7], r->pkts);
	rte_tel_data_add_array_string(k->c[8], r->reason);
	{
		char hs[64] = "";
		size_t n = 0;
		int bs = sl_block_rule_bgp_state(k->b, r);

		for (unsigned int b = 0; b < SL_BB_MAX; b++)
			if (r->backends & (1u << b))
				n += (size_t)snprintf(hs + n, sizeof(hs) - n, "%s%s", n ? "," : "",
					sl_block_backend_name(b));
		rte_tel_data_add_array_string(k->c[9], hs);
		rte_tel_data_add_array_string(k->c[10], bs >= 0 ? bgp_rs_names[bs] : "");
	}
}

static int
do_list(struct sl_block *b, struct rte_tel_data *d, uint64_t now)
{
	static const char *const names[NCOLS] = {"host", "scope", "peer", "port", "backend",
		"expires_in_s", "offence", "dropped_packets", "reason", "backends", "bgp"};
	struct cols k = {.now = now, .b = b};

	for (unsigned int i = 0; i < SL_ARRAY_SIZE(names); i++) {
		k.c[i] = rte_tel_data_alloc();
		if (k.c[i] == NULL) {
			while (i-- > 0)
				rte_tel_data_free(k.c[i]);
			return -ENOMEM;
		}
		rte_tel_data_start_array(k.c[i], (i == 3 || (i >= 5 && i <= 7)) ? RTE_TEL_U64_VAL
										   : RTE_TEL_STRING_VAL);
	}
	sl_block_foreach(b, list_cb, &k);
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(names); i++)
		if (rte_tel_data_add_dict_container(d, names[i], k.c[i], 0) < 0)
			rte_tel_data_free(k.c[i]);
	if (sl_block_bgp(b) != NULL) { /* the speaker and the route counters */
		struct sl_bgp_stats st;

		sl_bgp_get_stats(sl_block_bgp(b), &st);
		rte_tel_data_add_dict_string(d, "bgp_speaker", sl_bgp_speaker_name(st.speaker));
		rte_tel_data_add_dict_u64(d, "bgp_routes_announced", st.routes_announced);
		rte_tel_data_add_dict_u64(d, "bgp_routes_pending", st.routes_pending);
		rte_tel_data_add_dict_u64(d, "bgp_announced", st.announced);
		rte_tel_data_add_dict_u64(d, "bgp_withdrawn", st.withdrawn);
		rte_tel_data_add_dict_u64(d, "bgp_failed", st.announce_failed + st.withdraw_failed);
		rte_tel_data_add_dict_u64(d, "bgp_speaker_restarts", st.speaker_restarts);
	}
	return 0;
}

static int
do_block(struct sl_block *b, struct rte_tel_data *d, uint64_t now)
{
	int rc = sl_block_request(b, q.host, q.has_peer ? q.peer : NULL, q.port, q.proto, true,
		"operator command", now);

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "status", rc == 0 ? "blocked" : rc == 1 ? "exists" :
						  rc == -EPERM ? "refused" : "error");
	if (rc == -EPERM)
		rte_tel_data_add_dict_string(d, "hint", "allowlisted, block_max_active or "
			"bgp_max_routes reached: see the block_refused event");
	return 0;
}

void
ops_poll(struct sl_block *b, uint64_t now_us)
{
	struct rte_tel_data *d = q.d;
	uint64_t ticket;
	int rc = 0;

	if (!mbox_pending(&q.mb, &ticket))
		return;
	if (b == NULL) {
		rc = -ENOTSUP; /* mode = monitor: no response */
	} else if (q.op == OP_BLOCK) {
		rc = do_block(b, d, now_us);
	} else if (q.op == OP_UNBLOCK) {
		rte_tel_data_start_dict(d);
		rte_tel_data_add_dict_u64(d, "removed", sl_block_unblock(b, q.host, now_us));
	} else if (q.op == OP_LIST) {
		rc = do_list(b, d, now_us);
	} else if (q.op == OP_ALLOW || q.op == OP_DISALLOW) {
		int r = q.op == OP_ALLOW ? sl_block_allow(b, &q.cidr) : sl_block_disallow(b, &q.cidr);

		rte_tel_data_start_dict(d);
		rte_tel_data_add_dict_string(d, "status", r == 0 ? "ok" : r == -EEXIST ? "exists" :
							  r == -ENOENT ? "absent" : "full");
	} else if (q.op == OP_ALLOWLIST) {
		const struct sl_cidr_set *a = sl_block_allowlist(b);

		rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
		for (uint32_t i = 0; i < a->n; i++) {
			char ip[64], s[80];
			unsigned int plen = a->cidr[i].plen;

			sl_addr_format(a->cidr[i].addr, ip, sizeof(ip));
			if (strchr(ip, ':') == NULL && plen >= 96)
				plen -= 96;
			snprintf(s, sizeof(s), "%s/%u", ip, plen);
			rte_tel_data_add_array_string(d, s);
		}
	}
	q.rc = rc;
	mbox_done(&q.mb, ticket);
}
